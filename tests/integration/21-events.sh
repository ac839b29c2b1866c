#!/bin/bash
# The event log: every start, exit with its cause, scheduled restart and
# operator change is an event with its numbers, in memory (paddockctl
# events, filters, -f) and in <state_dir>/events.jsonl.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
cat >"$T/services/e.yaml" <<YAML
services:
  ev:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    restart: {policy: always, delay: 50ms}
  other:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
YAML
start_daemon
wait_for 10 state_is ev running || fail "ev not running"
pid=$(main_pid ev)
ctl events -f --service ev --json >"$T/follow" 2>&1 &
fpid=$!
wait_for 5 test -s "$T/follow" || true
signal_pid KILL "$pid"
wait_for 10 bash -c "grep -q '\"type\":\"start\",\"restarts\":1' $T/follow" || { kill $fpid; fail "events -f did not stream the restart: $(cat $T/follow)"; }
kill $fpid; wait $fpid 2>/dev/null
pass "events -f streams the exit and the restart as they happen"
ev=$(ctl events --service ev --json)
[ "$(echo "$ev" | jq -r '[.[] | select(.type == "exit")][0].reason')" = "killed by SIGKILL" ] || fail "no exit event with the cause: $ev"
[ "$(echo "$ev" | jq -r '[.[] | select(.type == "exit")][0].pid')" = "$pid" ] || fail "exit event without the pid"
echo "$ev" | jq -e '[.[] | select(.type == "restart-scheduled")][0].delay_ms >= 0' >/dev/null || fail "no restart-scheduled event"
[ "$(echo "$ev" | jq -r '[.[] | select(.service != "ev")] | length')" = 0 ] || fail "--service filter leaked other services"
pass "exit cause, pid and scheduled restart recorded; --service filters"
ctl set other pids.max=7 >/dev/null || fail "set"
ctl events --service other --json | jq -e '.[] | select(.type == "limits-changed" and .by == "operator" and .set["pids.max"] == "7")' >/dev/null || fail "no limits-changed event"
pass "operator limit change recorded with who and what"
# The rebalancer (observe mode) adds events at its own pace: compare the two
# answers only up to the last event of the first.
a=$(ctl events --since 1h --json); n=$(echo "$a" | jq length); [ "$n" -ge 5 ] || fail "--since 1h returned $n events"
b=$(ctl events --since $(($(date +%s) - 3600)) --json | jq --argjson c "$(echo "$a" | jq '.[-1].time_ms')" '[.[] | select(.time_ms <= $c)]')
[ "$(echo "$b" | jq length)" = "$n" ] || fail "--since epoch differs: $(echo "$b" | jq length) events, not $n"
[ "$(ctl events --since $(($(date +%s) + 3600)) --json | jq length)" = 0 ] || fail "--since in the future returned events"
pass "--since filters by time"
grep -q '"type":"limits-changed"' "$T/state/events.jsonl" || fail "events.jsonl lacks the events"
jq -e . "$T/state/events.jsonl" >/dev/null || fail "events.jsonl is not JSON lines"
pass "events.jsonl holds one JSON object per line"
