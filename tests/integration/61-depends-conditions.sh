#!/bin/bash
# depends_on conditions, restart: true and binds_to:
#  1. a one-shot that exited 0 meets `depends_on: [migrate]`: restarting
#     its dependent does not leave it waiting for good (the stranded bug);
#  2. completed_successfully: the dependent waits while the one-shot runs
#     (and says so), starts only after it exited 0, and fails with the
#     reason when it exits 1;
#  3. restart: true: restarting (or crashing) db restarts api after it;
#  4. binds_to: stopping bdb stops bapp, starting bdb starts it again, also
#     across a kill -9 of paddockd.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; setup
make_rootfs "$T/root"
mkdir -p "$T/root/gate"
cat >"$T/services/d.yaml" <<YAML
services:
  migrate:
    rootfs: $T/root
    restart: {policy: never}
    command: ["/bin/true"]
  app:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    depends_on: [migrate]
  migrate2:
    rootfs: $T/root
    restart: {policy: never}
    command: ["/bin/sh", "-c", "while [ ! -e /gate/go ]; do sleep 0.05; done"]
  app2:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    depends_on:
      migrate2: {condition: completed_successfully}
  migrate3:
    rootfs: $T/root
    restart: {policy: never}
    command: ["/bin/sh", "-c", "exit 1"]
  app3:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    depends_on:
      migrate3: {condition: completed_successfully}
  db:
    rootfs: $T/root
    restart: {policy: always, delay: 100ms}
    command: ["/bin/sleep", "1000"]
  api:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    depends_on:
      db: {condition: started, restart: true}
  bdb:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
  bapp:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    binds_to: [bdb]
YAML
start_daemon

# 1. The stranded waiting.
wait_for 20 state_is app running || fail "app: $(svc_state app)"
wait_for 20 state_is migrate stopped || fail "migrate: $(svc_state migrate)"
pid=$(main_pid app)
ctl restart app >/dev/null || fail "restart app"
app_restarted() { state_is app running && [ "$(main_pid app)" != "$pid" ]; }
wait_for 20 app_restarted || fail "after restart: app $(svc_state app) $(svc_field app waiting_for)"
pass "restart app runs it again (new pid $(main_pid app)) after migrate exited 0"

# 2. completed_successfully, good and bad.
wait_for 20 state_is migrate2 running || fail "migrate2: $(svc_state migrate2)"
state_is app2 waiting || fail "app2 while migrate2 runs: $(svc_state app2)"
why=$(svc_field app2 waiting_for)
[ "$why" = "migrate2 (completed_successfully): still running" ] || fail "app2 waiting_for: '$why'"
ctl status app2 | grep -q "Waiting: for migrate2 (completed_successfully)" || fail "status: $(ctl status app2)"
touch "$T/root/gate/go"
wait_for 20 state_is app2 running || fail "app2: $(svc_state app2) ($(svc_state migrate2))"
t() { ctl events --service "$1" --json | jq "[.[] | select(.type == \"$2\")][0].time_ms"; }
[ "$(svc_field migrate2 last_exit.code)" = 0 ] || fail "migrate2 exit: $(svc_field migrate2 last_exit)"
[ "$(t migrate2 exit)" -le "$(t app2 start)" ] || fail "app2 started at $(t app2 start), before migrate2 exited at $(t migrate2 exit)"
pass "app2 waited ('$why') and started only after migrate2 exited 0"
wait_for 20 state_is app3 failed || fail "app3: $(svc_state app3) ($(svc_field app3 waiting_for))"
reason=$(svc_field app3 last_exit.reason)
[ "$reason" = "dependency migrate3 exited 1" ] || fail "app3 reason: '$reason'"
[ "$(main_pid app3)" = 0 ] || fail "app3 has a process"
pass "migrate3 exited 1: app3 failed: $reason"

# 3. restart: true.
wait_for 20 state_is api running || fail "api: $(svc_state api)"
dpid=$(main_pid db) apid=$(main_pid api)
ctl restart db >/dev/null || fail "restart db"
api_new() { state_is api running && [ "$(main_pid api)" != "$1" ]; }
wait_for 20 api_new "$apid" || fail "api after restart db: $(svc_state api) pid $(main_pid api)"
[ "$(main_pid db)" != "$dpid" ] || fail "db kept its pid"
[ "$(t api dependency-restart)" != null ] || fail "no dependency-restart event"
pass "restart db restarted api (pid $apid -> $(main_pid api))"
apid=$(main_pid api)
ctl kill --signal KILL db >/dev/null || fail "kill db"
wait_for 20 api_new "$apid" || fail "api after db crashed: $(svc_state api) pid $(main_pid api)"
state_is db running || fail "db: $(svc_state db)"
pass "db crashed and restarted: api restarted after it (pid $apid -> $(main_pid api))"

# 4. binds_to, across kill -9.
wait_for 20 state_is bapp running || fail "bapp: $(svc_state bapp)"
ctl stop bdb >/dev/null || fail "stop bdb"
wait_for 20 state_is bapp stopped || fail "bapp after stop bdb: $(svc_state bapp)"
[ "$(svc_field bapp bound_stop)" = true ] || fail "bapp not marked bound_stop"
pass "stop bdb stopped bapp"
wait_for 10 grep -q '"bound_stop":true' "$T/state/state.json" || fail "bound_stop not in the state file"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
start_daemon
wait_for 20 state_is api running || fail "api after kill -9: $(svc_state api)"
state_is bapp stopped || fail "bapp after kill -9: $(svc_state bapp)"
state_is bdb stopped || fail "bdb after kill -9: $(svc_state bdb)"
ctl start bdb >/dev/null || fail "start bdb"
wait_for 20 state_is bapp running || fail "bapp after start bdb: $(svc_state bapp)"
pass "after kill -9 of paddockd, start bdb started bapp again"
# The completed one-shot survived kill -9 too.
pid=$(main_pid app)
ctl restart app >/dev/null || fail "restart app after kill -9"
wait_for 20 app_restarted || fail "after kill -9, restart: app $(svc_state app) $(svc_field app waiting_for)"
pass "after kill -9, restart app still runs it (migrate's exit 0 kept)"
# An operator's stop of bapp is no binding's: bdb's next start leaves it alone.
ctl stop bapp >/dev/null || fail "stop bapp"
ctl restart bdb >/dev/null || fail "restart bdb"
wait_for 20 state_is bdb running || fail "bdb: $(svc_state bdb)"
state_is bapp stopped || fail "bapp started with bdb after an operator's stop: $(svc_state bapp)"
pass "an operator-stopped bapp stays stopped when bdb starts"
stop_daemon || fail "exit status"
