#!/bin/bash
# paddockctl set changes limits live (read back from cgroupfs), refuses a
# memory.max below usage instead of OOM-killing, keeps changes across
# restarts until --reset; run --wait returns the command's status and
# --rm leaves nothing behind.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
cat >"$T/services/s.yaml" <<YAML
services:
  app:
    rootfs: $T/root
    # 40M in a tmpfs: charged to the cgroup, and no swap here to reclaim it to.
    command: ["/bin/sh", "-c", "dd if=/dev/zero of=/dev/shm/ballast bs=1M count=40 && echo filled && exec sleep 1000"]
    resources: {memory: {max: 96M}, pids: {max: 50}}
YAML
start_daemon
wait_for 10 grep -q 'stdout filled' "$T/state/logs/app.log" || fail "app did not fill its memory"
M=$((1024 * 1024))
if is_v1; then
	mem() { cat "$(service_cgdir app memory)/memory.limit_in_bytes"; }
	cpumax() { echo "$(cat "$(service_cgdir app cpu)/cpu.cfs_quota_us") $(cat "$(service_cgdir app cpu)/cpu.cfs_period_us")"; }
	pidsmax() { cat "$(service_cgdir app pids)/pids.max"; }
	ooms() { grep '^oom_kill ' "$(service_cgdir app memory)/memory.oom_control" | awk '{print $2}'; }
else
	mem() { cat "$(service_cgdir app)/memory.max"; }
	cpumax() { cat "$(service_cgdir app)/cpu.max"; }
	pidsmax() { cat "$(service_cgdir app)/pids.max"; }
	ooms() { grep '^oom_kill ' "$(service_cgdir app)/memory.events" | awk '{print $2}'; }
fi

ctl set app memory.max=80M cpu.max=0.25 pids.max=33 >"$T/out" || fail "set failed: $(cat $T/out)"
[ "$(mem)" = $((80 * M)) ] || fail "memory.max not applied: $(mem)"
[ "$(cpumax)" = "25000 100000" ] || fail "cpu.max not applied: $(cpumax)"
[ "$(pidsmax)" = 33 ] || fail "pids.max not applied: $(pidsmax)"
grep -q "memory.max=$((80 * M))" "$T/out" || fail "set did not print the read-back value"
pass "set applies memory.max, cpu.max, pids.max at once (read back)"

pid=$(main_pid app)
ctl set app memory.max=16M >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] || fail "memory.max below usage: exit $rc: $(cat $T/out)"
grep -q 'refused' "$T/out" || fail "no clear refusal: $(cat $T/out)"
[ "$(mem)" = $((80 * M)) ] || fail "memory.max changed after refusal: $(mem)"
[ "$(main_pid app)" = "$pid" ] && kill -0 "$pid" || fail "app was disturbed"
[ "$(ooms)" = 0 ] || fail "an OOM kill happened"
pass "memory.max below usage refused, nothing changed: $(cat $T/out)"

ctl set app cpu.weight=0 >/dev/null 2>&1; [ $? = 2 ] || fail "invalid weight not a usage error"
ctl set app memory.max=12Q >/dev/null 2>&1; [ $? = 2 ] || fail "invalid size not a usage error"
ctl set nosuch memory.max=1G >/dev/null 2>&1; [ $? = 3 ] || fail "unknown service not exit 3"
pass "bad values and unknown services rejected"

ctl restart app >/dev/null || fail "restart"
wait_for 10 state_is app running || fail "app not running after restart"
[ "$(pidsmax)" = 33 ] || fail "set value lost on restart: $(pidsmax)"
[ "$(svc_field app pinned)" = true ] || fail "status does not show the pin"
pass "set values survive a restart"
ctl set app --reset >/dev/null || fail "reset"
[ "$(pidsmax)" = 50 ] && [ "$(mem)" = $((96 * M)) ] || fail "reset did not restore the spec: $(pidsmax) $(mem)"
pass "set --reset restores the spec's limits"

ctl run --wait --rm --rootfs "$T/root" --memory-max 32M --pids-max 10 -- /bin/sh -c 'echo from-run; exit 42' >"$T/out"; rc=$?
[ $rc = 42 ] || fail "run --wait returned $rc, expected 42"
grep -qx from-run "$T/out" || fail "run --wait did not stream the output"
pass "run --wait streams output and returns the exit status"
ctl run --wait --rm --rootfs "$T/root" --name oneshot -- /bin/true || fail "run /bin/true"
[ -z "$(ctl list --json | jq -r '.[] | select(.name == "oneshot") | .name')" ] || fail "--rm left the service"
[ -e "$T/state/logs/oneshot.log" ] && fail "--rm left the log file"
for c in "" memory pids cpu; do [ -d "$(service_cgdir oneshot $c)" ] && fail "--rm left cgroup $c"; done
pass "--rm leaves no service, log or cgroup"
ctl run --wait --rootfs "$T/root" --name kept -- /bin/sh -c 'kill -9 $$'; rc=$?
[ $rc = 137 ] || fail "signal death returned $rc"
state_is kept failed || fail "transient without --rm not kept: $(svc_state kept)"
pass "run without --rm stays listed; death by SIGKILL returns 137"
