#!/bin/bash
# Batch work that the budget cannot hold even at its floor is parked, not
# started into a loop of OOM kills: a `parked` state and event, started
# once room appears, and still parked after a kill -9 of the daemon. In
# enforce mode the class's protection is in place before a service runs.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
M=$((1024 * 1024))
cat >"$T/paddockd.yaml" <<YAML
budget: {memory: 400M, reserve: 0}
rebalance: {mode: enforce}
YAML
cat >"$T/services/a.yaml" <<YAML
services:
  db:
    rootfs: $T/root
    class: critical
    command: ["/bin/sh", "-c", "dd if=/dev/zero bs=300M count=1 | sleep 100000"]
YAML
# Two services that print their own cgroup's protection at their first
# instruction, before any rebalance tick: the class defaults are in place.
if is_v1; then
	knob_b="$(service_cgdir early-b memory)/memory.soft_limit_in_bytes"
	knob_c="$(service_cgdir early-c memory)/memory.soft_limit_in_bytes"
	want_b=0 want_c=9223372036854771712
else
	knob_b="$(service_cgdir early-b)/memory.low" knob_c="$(service_cgdir early-c)/memory.low"
	want_b=0 want_c=$((400 * M))
fi
cat >>"$T/services/a.yaml" <<YAML
  early-b:
    class: batch
    restart: {policy: never}
    command: ["/bin/sh", "-c", "echo knob=\$\$(cat $knob_b)"]
  early-c:
    class: critical
    restart: {policy: never}
    command: ["/bin/sh", "-c", "echo knob=\$\$(cat $knob_c)"]
YAML
start_daemon -c "$T/paddockd.yaml"
for s in early-b early-c; do
	wait_for 10 bash -c "$PADDOCKCTL -s $T/run/control.sock logs $s | grep -q knob=" || fail "$s printed nothing: $(ctl logs $s)"
done
[ "$(ctl logs early-b | grep -o 'knob=.*')" = "knob=$want_b" ] || fail "batch at its start: $(ctl logs early-b | grep knob)"
[ "$(ctl logs early-c | grep -o 'knob=.*')" = "knob=$want_c" ] || fail "critical at its start: $(ctl logs early-c | grep knob)"
pass "class protection in place at the first instruction: batch $want_b, critical $want_c"
# The daemon must have seen db's 300M before the batch job asks.
usage() { ctl status "$1" --json | jq -r '.[0].usage["memory.current"] // 0'; }
wait_for 30 bash -c "[ \$($PADDOCKCTL -s $T/run/control.sock status db --json | jq -r '.[0].usage[\"memory.current\"] // 0') -ge $((300 * M)) ]" ||
	fail "db never sampled at 300M: $(usage db)"

# Floor 100M + 32M headroom beside db's 300M + 32M: 464M > 400M.
cat >"$T/services/b.yaml" <<YAML
services:
  job:
    rootfs: $T/root
    class: batch
    resources: {memory: {low: 100M}}
    command: ["/bin/sleep", "100000"]
YAML
ctl reload >/dev/null || fail "reload"
wait_for 10 state_is job parked || fail "job not parked: $(svc_state job)"
ctl events --service job --json | jq -e '[.[] | select(.type == "parked" and (.reason | test("needs 132 MiB")))] | length == 1' >/dev/null ||
	fail "no parked event with the reason: $(ctl events --service job --json | jq -c '.[] | select(.type == "parked")')"
[ "$(ctl list --json | jq -r '.[] | select(.name == "job") | .state')" = parked ] || fail "list does not say parked"
[ "$(main_pid job)" = 0 ] || fail "a parked job has a process"
pass "the batch job is parked: $(ctl events --service job --json | jq -r '.[] | select(.type == "parked") | .reason')"

# Survives a kill -9: parked again, not started, db adopted.
dbpid=$(main_pid db)
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
start_daemon -c "$T/paddockd.yaml"
wait_for 10 state_is db running || fail "db not adopted: $(svc_state db)"
[ "$(main_pid db)" = "$dbpid" ] || fail "db restarted across the kill -9"
state_is job parked || fail "job after kill -9: $(svc_state job)"
# A few rebalance ticks with db sampled: still parked.
wait_for 30 bash -c "[ \$($PADDOCKCTL -s $T/run/control.sock status db --json | jq -r '.[0].usage[\"memory.current\"] // 0') -ge $((300 * M)) ]" ||
	fail "db not sampled after the restart"
state_is job parked || fail "job unparked with no room: $(svc_state job)"
[ "$(ctl status job --json | jq -r '.[0].main_pid')" = 0 ] || fail "job started after kill -9"
pass "still parked after a kill -9 of the daemon, db adopted"

# Room appears: the job starts on its own.
ctl stop db >/dev/null || fail "stop db"
wait_for 20 state_is job running || fail "job not started once db stopped: $(svc_state job)"
pass "started once the budget had room"

# An operator's stop of a parked service holds.
ctl restart db >/dev/null 2>&1
ctl stop job >/dev/null || fail "stop job"
state_is job stopped || fail "job: $(svc_state job)"
pass "an operator's stop ends the parking"
