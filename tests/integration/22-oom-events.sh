#!/bin/bash
# OOM truth: a child OOM-killed while the main process lives is an event of
# its service (attributed, counted) and on_oom acts; a main process killed
# by the OOM killer is last_exit oom-kill and on_oom decides what follows.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
cat >"$T/services/o.yaml" <<YAML
services:
  parent:
    rootfs: $T/root
    # The main shell lives; its dd child asks for 128M under a 32M limit.
    command: ["/bin/sh", "-c", "echo parent-up; dd if=/dev/zero of=/dev/null bs=128M count=1; echo child-gone; exec sleep 1000"]
    resources: {memory: {max: 32M}}
    on_oom: restart
    restart: {delay: 2s, limit: {burst: 100, interval: 60s}}
  victim:
    rootfs: $T/root
    command: ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1"]
    resources: {memory: {max: 32M}}
    on_oom: stop
  bystander:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
YAML
start_daemon
oom_event() { ctl events --service "$1" --json | jq -e "[.[] | select(.type == \"oom-kill\" and .main == $2)] | length > 0"; }
wait_for 20 oom_event parent false || fail "no oom-kill event with main=false for parent: $(ctl events --service parent)"
grep -q 'stdout child-gone' "$T/state/logs/parent.log" || fail "the main process of parent did not survive its child's OOM kill"
pass "child OOM-killed, main alive: event attributed to parent with main=false"
wait_for 10 bash -c "[ \$($PADDOCKCTL -s $T/run/control.sock status parent --json | jq '.[0].oom_kills') -ge 1 ]" || fail "oom_kills not counted"
ctl events --service parent --json | jq -e '[.[] | select(.type == "action" and .action == "restart")] | length > 0' >/dev/null || fail "on_oom: restart did not act"
pass "counted (oom_kills $(svc_field parent oom_kills)) and on_oom: restart acted"

wait_for 20 state_is victim failed || fail "victim: $(svc_state victim)"
[ "$(svc_field victim last_exit.kind)" = oom-kill ] || fail "victim last_exit: $(svc_field victim last_exit.reason)"
oom_event victim true >/dev/null || fail "no oom-kill event with main=true for victim"
[ "$(restarts victim)" = 0 ] || fail "on_oom: stop restarted the service"
pass "main OOM-killed: last_exit oom-kill, on_oom: stop left it down"

state_is bystander running || fail "bystander disturbed"
[ -z "$(ctl events --service bystander --json | jq -r '.[] | select(.type == "oom-kill") | .type')" ] || fail "an OOM was attributed to the bystander"
pass "nothing attributed to the bystander"
