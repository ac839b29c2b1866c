#!/bin/bash
# depends_on: a service starts only once its dependencies run, waits
# visibly while one is down, and shutdown stops dependents first.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
cat >"$T/services/d.yaml" <<YAML
services:
  app:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    depends_on: [web]
  web:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    depends_on: [db]
  db:
    rootfs: $T/root
    # Takes a moment before it runs, so order is visible.
    command: ["/bin/sh", "-c", "exec sleep 1000"]
  orphan:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    depends_on: [broken]
  broken:
    rootfs: $T/root
    command: ["/bin/nope"]
YAML
start_daemon
for s in db web app; do wait_for 10 state_is $s running || fail "$s: $(svc_state $s)"; done
t() { ctl events --service "$1" --json | jq "[.[] | select(.type == \"$2\")][0].time_ms"; }
[ "$(t db start)" -le "$(t web start)" ] && [ "$(t web start)" -le "$(t app start)" ] || fail "start order: db $(t db start) web $(t web start) app $(t app start)"
ctl events --service web --json | jq -e '[.[] | select(.type == "waiting")][0].for == ["db"]' >/dev/null || fail "web did not wait for db"
pass "db, then web, then app; web waited for db"
wait_for 10 state_is broken failed || fail "broken: $(svc_state broken)"
state_is orphan waiting || fail "orphan: $(svc_state orphan), expected waiting"
pass "a failed dependency holds its dependent in waiting"
stop_daemon || fail "exit status"
grep -q 'stop' "$T/state/events.jsonl" || fail "no stop events"
ts() { jq -r "select(.service == \"$1\" and .type == \"exit\") | .time_ms" "$T/state/events.jsonl" | tail -n 1; }
[ "$(ts app)" -le "$(ts web)" ] && [ "$(ts web)" -le "$(ts db)" ] || fail "stop order: app $(ts app) web $(ts web) db $(ts db)"
pass "shutdown stopped app, then web, then db"
