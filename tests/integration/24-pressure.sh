#!/bin/bash
# PSI triggers: a service under CPU pressure (throttled hard by cpu.max)
# crosses its spec's threshold; the event arrives within the trigger window
# plus 100 ms of the load starting, actions are debounced to one per
# window, and the pressure is reported cleared once the load stops.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
[ -f /proc/pressure/cpu ] || skip "no PSI on this kernel"
make_rootfs "$T/root"
cat >"$T/services/p.yaml" <<YAML
services:
  busy:
    rootfs: $T/root
    # Spins until told to stop through a file in its root.
    command: ["/bin/sh", "-c", "while [ ! -e /tmp/stop ]; do :; done; exec sleep 1000"]
    resources: {cpu: {max: 0.05}}
    pressure:
      cpu: {above: 5%, for: 2s, action: grow}
YAML
start_daemon
ev() { ctl events --service busy --json; }
crossed() { ev | jq -e '[.[] | select(.type == "pressure" and .state == "crossed")] | length > 0'; }
wait_for 15 crossed || fail "no pressure crossing: $(ctl events --service busy)"
t_start=$(ev | jq '[.[] | select(.type == "start")][0].time_ms')
t_cross=$(ev | jq '[.[] | select(.type == "pressure" and .state == "crossed")][0].time_ms')
win=$(ev | jq '[.[] | select(.type == "pressure")][0].window_ms')
lat=$((t_cross - t_start))
slack=100; [ -n "${PADDOCK_IN_VM:-}" ] && slack=1500 # TCG emulation: the kernel's own timers run late
log "crossed $lat ms after start, window $win ms"
[ "$lat" -le $((win + slack)) ] || fail "crossing took $lat ms, window $win ms"
pass "pressure crossed $lat ms after the load began (window $win ms)"

# Debounce: over a few windows, at most one action per window.
three_actions() { [ "$(ev | jq '[.[] | select(.type == "action")] | length')" -ge 3 ]; }
wait_for 30 three_actions || fail "the pressure did not last three windows"
acts=$(ev | jq '[.[] | select(.type == "action")] | length')
first=$(ev | jq '[.[] | select(.type == "action")][0].time_ms')
last=$(ev | jq '[.[] | select(.type == "action")][-1].time_ms')
[ "$acts" -ge 1 ] || fail "no action event"
[ "$acts" -le $(((last - first) / win + 1)) ] || fail "$acts actions in $((last - first)) ms: not debounced"
ev | jq -e '[.[] | select(.type == "action")][0] | .resource == "cpu" and .above_percent == 5' >/dev/null || fail "action event lacks its numbers"
pass "$acts actions over $((last - first)) ms: one per window at most, with the numbers"

touch "$T/root/tmp/stop"
cleared() { ev | jq -e '[.[] | select(.type == "pressure" and .state == "cleared")] | length > 0'; }
wait_for 20 cleared || fail "pressure never cleared after the load stopped"
pass "pressure cleared once the load stopped"
