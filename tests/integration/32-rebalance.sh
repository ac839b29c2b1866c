#!/bin/bash
# The rebalancer in enforce mode, on real cgroups with stress-ng workloads:
# over the memory budget, batch is squeezed before standard and critical
# never; critical is protected (v2 memory.low at its working set, v1 soft
# limit unlimited while batch's is 0); on_oom: grow steps memory.max up to
# the spec ceiling and then stops; a knob written behind paddock's back is
# reported as drift and re-asserted; observe mode records decisions and writes
# nothing. `paddockd -n` says what degrades.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd stress-ng; need_cmd jq; setup
M=$((1024 * 1024))

# Knob values in bytes from the cgroup layer's view (v1 translated), "max" as is.
knob() { # knob SERVICE v2-name
	local svc=$1 k=$2 d f v
	if is_v1; then
		d=$(service_cgdir "$svc" memory)
		case $k in
		memory.max) f=memory.limit_in_bytes ;;
		memory.low) f=memory.soft_limit_in_bytes ;;
		*) f=$k ;;
		esac
		v=$(cat "$d/$f") || return 1
		[ "$v" -ge $((1 << 60)) ] && v=max
		echo "$v"
	else
		cat "$(service_cgdir "$svc")/$k"
	fi
}
events_of() { ctl events --service "$1" --json | jq -c "[.[] | select(.type == \"$2\")]"; }
nevents() { events_of "$1" "$2" | jq length; }

cat >"$T/paddockd.yaml" <<YAML
budget: {memory: 520M, reserve: 120M}
rebalance: {mode: enforce}
probe_interval: 500ms
YAML
"$PADDOCKD" -n -c "$T/paddockd.yaml" -S "$T/services" >"$T/check.out" 2>&1 || fail "paddockd -n: $(cat "$T/check.out")"
grep -q '^rebalance: mode enforce' "$T/check.out" || fail "paddockd -n does not show the mode: $(cat "$T/check.out")"
if is_v1; then
	grep -q 'soft_limit_in_bytes' "$T/check.out" || fail "paddockd -n does not say what degrades on v1"
fi
pass "paddockd -n shows the rebalance mode and what degrades"

# Budget 400M; committed: critical 120M (+32M reserved headroom), standard 90M, batch
# 2 x 64M, with stress-ng's own few M each: about 390M, past fifteen sixteenths of the
# budget, so the squeeze starts, while every service still fits (a steady load: no
# service meets its own limit and restarts, which would make the timing flaky).
vm() { echo "[\"stress-ng\", \"--vm\", \"1\", \"--vm-bytes\", \"$1\", \"--vm-keep\", \"--vm-hang\", \"0\", \"-q\"]"; }
cat >"$T/services/r.yaml" <<YAML
services:
  crit:
    class: critical
    command: $(vm 120M)
  std:
    class: standard
    command: $(vm 90M)
    restart: {policy: on-failure, delay: 200ms, limit: {burst: 1000, interval: 60s}}
  b1:
    class: batch
    command: $(vm 64M)
    restart: {policy: on-failure, delay: 200ms, limit: {burst: 1000, interval: 60s}}
  b2:
    class: batch
    command: $(vm 64M)
    restart: {policy: on-failure, delay: 200ms, limit: {burst: 1000, interval: 60s}}
YAML
start_daemon -c "$T/paddockd.yaml"

# Squeeze: batch first (both), standard only later, critical never.
wait_for 60 bash -c "[ \$($PADDOCKCTL -s $T/run/control.sock events --json | jq '[.[] | select(.type == \"squeeze\")] | length') -ge 1 ]" ||
	fail "no squeeze within 60 s: $(ctl status --json | jq -c '.[] | {name, usage: .usage["memory.current"]}')"
first=$(ctl events --json | jq -r '[.[] | select(.type == "squeeze")][0].service')
case $first in b1 | b2) ;; *) fail "first squeeze hit $first, not a batch service" ;; esac
[ "$(nevents crit squeeze)" = 0 ] || fail "critical service squeezed: $(events_of crit squeeze)"
t_b=$(ctl events --json | jq '[.[] | select(.type == "squeeze" and (.service == "b1" or .service == "b2"))][0].time_ms')
t_s=$(ctl events --json | jq '[.[] | select(.type == "squeeze" and .service == "std")][0].time_ms // empty')
[ -z "$t_s" ] || [ "$t_s" -gt "$t_b" ] || fail "standard squeezed before batch"
pass "batch squeezed first ($first), critical not"

# The squeeze is a real knob: read it back. v2: memory.high below usage; v1: memory.max
# (limit_in_bytes) at usage plus headroom, below the budget.
if is_v1; then
	wait_for 20 bash -c "v=\$(cat $(service_cgdir b1 memory)/memory.limit_in_bytes); [ \$v -lt $((400 * M)) ]" ||
		fail "b1 memory.limit_in_bytes not lowered: $(knob b1 memory.max)"
	pass "b1 limit_in_bytes squeezed to $(($(knob b1 memory.max) / M))M (v1: usage plus headroom)"
	# (b1 may be restarting after meeting its own limit: wait for the value.)
	wait_for 10 bash -c "[ \$(cat $(service_cgdir crit memory)/memory.soft_limit_in_bytes) -ge $((1 << 60)) ]" ||
		fail "crit soft limit not unlimited: $(knob crit memory.low)"
	wait_for 10 bash -c "[ \$(cat $(service_cgdir b1 memory)/memory.soft_limit_in_bytes) = 0 ]" ||
		fail "b1 soft limit not 0: $(knob b1 memory.low)"
	pass "v1 protection: crit soft limit unlimited, batch soft limit 0"
else
	wait_for 20 bash -c "[ \"\$(cat $(service_cgdir b1)/memory.high)\" != max ]" || fail "b1 memory.high not lowered"
	pass "b1 memory.high squeezed to $(($(knob b1 memory.high) / M))M"
	wait_for 20 bash -c "[ \$(cat $(service_cgdir crit)/memory.low) -ge $((100 * M)) ]" ||
		fail "crit memory.low not raised toward its working set: $(knob crit memory.low)"
	pass "crit memory.low raised to $(($(knob crit memory.low) / M))M"
	[ "$(knob crit memory.high)" = max ] || fail "crit memory.high lowered: $(knob crit memory.high)"
fi
state_is crit running || fail "crit not running"
[ "$(svc_field crit oom_kills)" = 0 ] || fail "crit OOM-killed"
cmax=$(knob crit memory.max)
[ "$cmax" != max ] && [ "$cmax" -le $((400 * M)) ] || fail "crit memory.max not within the budget: $cmax"
pass "crit running, no OOM kill, memory.max within budget ($((cmax / M))M)"

# Status reports the decisions and an estimate.
ctl status crit --json | jq -e '.[0].rebalance.mode == "enforce" and .[0].rebalance.working_set_bytes > 100 * 1048576' >/dev/null ||
	fail "status has no rebalance state: $(ctl status crit --json | jq -c '.[0].rebalance')"
pass "status shows mode and working set ($(($(svc_field crit rebalance.working_set_bytes) / M))M)"

# Drift: write crit's memory.max behind paddock's back; expect an event and the value back.
want=$(svc_field crit 'rebalance.targets["memory.max"]')
if is_v1; then
	echo $((450 * M)) >"$(service_cgdir crit memory)/memory.limit_in_bytes"
else
	echo $((450 * M)) >"$(service_cgdir crit)/memory.max"
fi
wait_for 10 bash -c "[ \$($PADDOCKCTL -s $T/run/control.sock events --service crit --json | jq '[.[] | select(.type == \"drift\")] | length') -ge 1 ]" ||
	fail "no drift event after writing crit's memory.max"
events_of crit drift | jq -e ".[0].knob == \"memory.max\" and .[0].found == $((450 * M)) and .[0].resolution == \"reassert\"" >/dev/null ||
	fail "drift event lacks the numbers: $(events_of crit drift)"
wait_for 10 bash -c "[ \"\$(cat $(if is_v1; then echo "$(service_cgdir crit memory)/memory.limit_in_bytes"; else echo "$(service_cgdir crit)/memory.max"; fi))\" = $want ]" ||
	fail "memory.max not re-asserted to $want: $(knob crit memory.max)"
pass "drift recorded and memory.max re-asserted to $((want / M))M"

ctl stop b1 b2 std crit >/dev/null
stop_daemon || fail "daemon exit status"

# on_oom: grow: starts at memory.high (32M), grows to memory.max (64M) in steps, then stops.
rm -f "$T/services/r.yaml"
cat >"$T/services/g.yaml" <<YAML
services:
  grower:
    command: ["stress-ng", "--vm", "1", "--vm-bytes", "96M", "--vm-keep", "--vm-hang", "0", "-q", "--oomable"]
    resources: {memory: {high: 32M, max: 64M}}
    on_oom: grow
    restart: {policy: always, delay: 100ms, max_delay: 200ms, limit: {burst: 1000, interval: 60s}}
YAML
start_daemon -c "$T/paddockd.yaml"
grew() { ctl events --service grower --json | jq '[.[] | select(.type == "action" and .action == "grow" and .grown)] | length'; }
wait_for 60 bash -c "[ \$($PADDOCKCTL -s $T/run/control.sock events --service grower --json | jq '[.[] | select(.type == \"action\" and .action == \"grow\" and (.grown | not) and (.reason | test(\"ceiling\")))] | length') -ge 1 ]" ||
	fail "grow never reached the ceiling: $(ctl events --service grower --json | jq -c '[.[] | select(.action == "grow") | {from, to, reason}]')"
[ "$(grew)" = 4 ] || fail "expected 4 grow steps, got $(grew)"
ctl events --service grower --json | jq -e "[.[] | select(.action == \"grow\" and .grown)] | .[0].from == $((32 * M)) and .[-1].to == $((64 * M))" >/dev/null ||
	fail "grow steps do not go 32M -> 64M: $(ctl events --service grower --json | jq -c '[.[] | select(.action == "grow" and .grown) | {from, to}]')"
wait_for 10 bash -c "[ \"\$(cat $(if is_v1; then echo "$(service_cgdir grower memory)/memory.limit_in_bytes"; else echo "$(service_cgdir grower)/memory.max"; fi) 2>/dev/null)\" = $((64 * M)) ]" ||
	fail "memory.max read back is not the ceiling: $(knob grower memory.max)"
pass "on_oom grow: 32M -> 64M in 4 steps, memory.max read back $((64 * M)), then refused at the ceiling"
n=$(grew)
ctl stop grower >/dev/null
[ "$(grew)" = "$n" ] || fail "grew past the ceiling"
pass "no grow past the ceiling"

# observe (the default): every decision is an event with applied=false, nothing is written.
stop_daemon || fail "daemon exit status"
rm -f "$T/services/g.yaml"
cat >"$T/paddockd-observe.yaml" <<YAML
budget: {memory: 520M, reserve: 120M}
probe_interval: 500ms
YAML
cat >"$T/services/o.yaml" <<YAML
services:
  watched:
    class: batch
    command: $(vm 16M)
YAML
start_daemon -c "$T/paddockd-observe.yaml"
wait_for 20 bash -c "[ \$($PADDOCKCTL -s $T/run/control.sock events --service watched --json | jq '[.[] | select(.type == \"rebalance\" and .knob == \"memory.max\" and .mode == \"observe\" and .applied == false)] | length') -ge 1 ]" ||
	fail "no observe-mode decision for memory.max: $(ctl events --service watched --json | jq -c '[.[] | select(.type == "rebalance")]')"
[ "$(knob watched memory.max)" = max ] || fail "observe mode wrote memory.max: $(knob watched memory.max)"
if ! is_v1; then
	[ "$(knob watched memory.high)" = max ] || fail "observe mode wrote memory.high: $(knob watched memory.high)"
fi
pass "observe: decisions recorded (applied=false), memory.max left at max"

# Quiet: no "from": null, "from" is the value in force, and restarts with unchanged
# targets make no new events. Count rebalancer ticks (status) instead of waiting.
ticks() { ctl status watched --json | jq -r '.[0].rebalance.ticks'; }
rb_events() { ctl events --service watched --json | jq -c '[.[] | select(.type == "rebalance")]'; }
t0=$(ticks)
wait_for 20 bash -c "[ \$($PADDOCKCTL -s $T/run/control.sock status watched --json | jq '.[0].rebalance.ticks') -ge $((t0 + 3)) ]" ||
	fail "rebalancer does not tick"
before=$(rb_events | jq length)
for round in 1 2; do
	pid=$(main_pid watched)
	ctl restart watched >/dev/null || fail "restart watched"
	wait_for 20 bash -c "p=\$($PADDOCKCTL -s $T/run/control.sock list --json | jq -r '.[] | select(.name == \"watched\" and .state == \"running\") | .main_pid'); [ -n \"\$p\" ] && [ \"\$p\" != $pid ]" ||
		fail "watched not running again after restart $round"
	t1=$(ticks)
	wait_for 20 bash -c "[ \$($PADDOCKCTL -s $T/run/control.sock status watched --json | jq '.[0].rebalance.ticks') -ge $((t1 + 4)) ]" ||
		fail "rebalancer does not tick after restart $round"
done
ev=$(rb_events)
[ "$(jq '[.[] | select(.from == null)] | length' <<<"$ev")" = 0 ] || fail "rebalance events with from null: $ev"
[ "$(jq length <<<"$ev")" = "$before" ] || fail "restarts with unchanged targets made events: $before before, now $ev"
jq -e 'group_by(.knob) | all(([.[].to] | unique | length) == length)' <<<"$ev" >/dev/null ||
	fail "repeated events for an unchanged target: $ev"
jq -e '[.[] | select(.knob == "memory.max")][0].from == "max"' <<<"$ev" >/dev/null ||
	fail "memory.max event does not come from the value in force (max): $ev"
pass "observe is quiet: $before events, none with from null, none repeated over two restarts"

# status shows each knob's target and why.
ctl status watched --json | jq -e '.[0].rebalance.reasons["memory.max"] | type == "string"' >/dev/null ||
	fail "status --json has no reason for memory.max: $(ctl status watched --json | jq -c '.[0].rebalance')"
ctl status watched >"$T/status.txt" || fail "status watched"
grep -q "Rebalance: observe; memory budget" "$T/status.txt" || fail "status lacks the rebalance line: $(cat "$T/status.txt")"
grep -qE "memory.max +-> .* \((budget share|spec within budget)" "$T/status.txt" ||
	fail "status lacks memory.max's target and reason: $(cat "$T/status.txt")"
pass "status shows targets and reasons per knob"
