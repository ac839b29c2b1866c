#!/bin/bash
# Readiness and watchdog: a start timeout fails the start (reason
# ready-timeout) and holds its dependents in waiting; a service that stops
# sending WATCHDOG=1 is killed and restarted (reason watchdog); ready: tcp
# connects inside the service's network namespace; ready: exec runs in the
# service's mount namespace and cgroup; depends_on waits for readiness; the
# watchdog pauses while a service is frozen, also across a paddockd restart.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; setup
# Built by make; tests/vm/run.sh puts it on the VM's PATH.
SDN="$BUILD_DIR/tests/helpers/sdnotify"
[ -x "$SDN" ] || SDN=$(command -v sdnotify) || skip "no tests/helpers/sdnotify (run make)"
make_rootfs "$T/root"
cp "$SDN" "$T/root/bin/sdnotify"
mkdir -p "$T/root/www"
cat >"$T/services/r.yaml" <<YAML
services:
  slow:
    rootfs: $T/root
    ready: {notify: true, timeout: 1s}
    restart: {policy: never}
    command: ["/bin/sleep", "1000"]
  needs-slow:
    rootfs: $T/root
    depends_on: [slow]
    command: ["/bin/sleep", "1000"]
  wd:
    rootfs: $T/root
    ready: notify
    # Long enough that a slow machine (the VM emulates) does not miss a ping by itself.
    watchdog: 5s
    restart: {policy: on-failure, delay: 100ms}
    command:
      - /bin/sh
      - -c
      - |
        echo "watchdog_usec=\$\$WATCHDOG_USEC watchdog_pid=\$\${WATCHDOG_PID-unset}"
        sdnotify --barrier READY=1
        for i in 1 2 3 4; do sdnotify --barrier WATCHDOG=1; sleep 0.3; done
        echo stopped-pinging
        exec sleep 1000
  web:
    rootfs: $T/root
    ready: {tcp: 8080}
    # The listener comes up a second late: readiness must wait for it.
    command: ["/bin/sh", "-c", "sleep 1; exec httpd -f -p 127.0.0.1:8080 -h /www"]
  chk:
    rootfs: $T/root
    isolation:
      mounts: [{type: tmpfs, target: /run/chk}]
    # /run/chk exists only in chk's mount namespace; the probe also leaves
    # its cgroup where the test can read it.
    ready:
      exec: ["/bin/sh", "-c", "cat /proc/self/cgroup > /tmp/chk-probe-cgroup; echo x >> /tmp/chk-probe-attempts; test -e /run/chk/up"]
    command: ["/bin/sh", "-c", "sleep 1; touch /run/chk/up; exec sleep 1000"]
  front:
    rootfs: $T/root
    depends_on: [web, chk]
    command: ["/bin/sleep", "1000"]
  fz:
    rootfs: $T/root
    ready: notify
    # Long enough that a loaded machine does not miss a ping by itself.
    watchdog: 5s
    command: ["/bin/sh", "-c", "sdnotify --barrier READY=1; while sdnotify --barrier WATCHDOG=1; do sleep 0.2; done"]
  ext:
    rootfs: $T/root
    ready: {notify: true, timeout: 5s}
    command: ["/bin/sh", "-c", "sdnotify --barrier EXTEND_TIMEOUT_USEC=20000000; sleep 6; sdnotify --barrier READY=1; exec sleep 1000"]
  quits:
    rootfs: $T/root
    ready: notify
    restart: {policy: never}
    stop: {timeout: 1s}
    # Says it is stopping, then does not exit: the stop timeout's SIGKILL applies.
    command: ["/bin/sh", "-c", "sdnotify --barrier READY=1; sdnotify --barrier STOPPING=1; exec sleep 1000"]
YAML
start_daemon
ev() { ctl events --service "$1" --json | jq -c "[.[] | select(.type == \"$2\")]"; }
t() { ctl events --service "$1" --json | jq "[.[] | select(.type == \"$2\")][0].time_ms"; }

# --- ready timeout
wait_for 30 state_is slow failed || fail "slow: $(svc_state slow)"
[ "$(svc_field slow last_exit.kind)" = ready-timeout ] || fail "slow last exit: $(svc_field slow last_exit)"
svc_field slow last_exit.reason | grep -q '^ready-timeout: not ready within 1s' || fail "reason: $(svc_field slow last_exit.reason)"
[ "$(ev slow ready-timeout | jq length)" = 1 ] || fail "no ready-timeout event"
state_is needs-slow waiting || fail "needs-slow: $(svc_state needs-slow)"
ctl events --service needs-slow --json | jq -e '[.[] | select(.type == "start")] | length == 0' >/dev/null || fail "needs-slow started"
pass "no READY=1 within 1s: failed with ready-timeout; its dependent stays waiting"

# --- tcp and exec probes, dependency on readiness
wait_for 60 state_is front running || fail "front: $(svc_state front) web: $(svc_state web) chk: $(svc_state chk) $(ctl status web chk)"
[ "$(ev web ready | jq -r '.[0].via')" = tcp ] || fail "web ready event: $(ev web ready)"
[ "$(ev web ready | jq -r '.[0].after_ms')" -ge 900 ] || fail "web ready too early: $(ev web ready)"
[ "$(ev chk ready | jq -r '.[0].via')" = exec ] || fail "chk ready event: $(ev chk ready)"
[ "$(ev chk ready | jq -r '.[0].after_ms')" -ge 900 ] || fail "chk ready too early: $(ev chk ready)"
[ "$(t web ready)" -le "$(t front start)" ] && [ "$(t chk ready)" -le "$(t front start)" ] ||
	fail "front started $(t front start) before web $(t web ready) / chk $(t chk ready) were ready"
pass "ready: tcp (127.0.0.1 in its netns) and ready: exec (its mount namespace) gate front"
# In chk's cgroup namespace the probe's own cgroup is the root: it ran in chk's cgroup.
[ -s "$T/root/tmp/chk-probe-cgroup" ] || fail "probe left no cgroup file"
grep -v ':/$' "$T/root/tmp/chk-probe-cgroup" && fail "probe outside chk's cgroup: $(cat $T/root/tmp/chk-probe-cgroup)"
pass "the exec probe runs in the service's cgroup"
# Every attempt was run by the same helper (its start is logged), gone once chk was ready.
attempts=$(wc -l <"$T/root/tmp/chk-probe-attempts")
[ "$attempts" -ge 2 ] || fail "one probe attempt only"
nhelpers=$(grep -c "service chk: check helper [0-9]* started" "$T/daemon.log")
[ "$nhelpers" = 1 ] || fail "$attempts probe attempts started $nhelpers helpers"
no_helper() { ! grep -qx paddock-check $(sed 's|^|/proc/|; s|$|/comm|' "$(service_cgdir chk)/cgroup.procs") 2>/dev/null; }
wait_for 10 no_helper || fail "chk's probe helper outlived readiness"
pass "exec probe: $attempts attempts by one helper, gone once ready"

# --- watchdog
wait_for 30 bash -c "'$PADDOCKCTL' -s '$T/run/control.sock' logs wd | grep -q watchdog_usec=" || fail "no output from wd"
ctl logs wd | grep -q 'watchdog_usec=5000000 watchdog_pid=unset' || fail "env: $(ctl logs wd)"
pid1=$(ev wd start | jq '.[0].pid')
wait_for 40 bash -c "[ \$('$PADDOCKCTL' -s '$T/run/control.sock' list --json | jq '.[] | select(.name == \"wd\") | .restarts') -ge 1 ]" ||
	fail "wd not restarted: $(ctl status wd)"
[ "$(ev wd watchdog | jq -r '.[0].reason')" = "watchdog: no WATCHDOG=1 within 5s" ] || fail "watchdog event: $(ev wd watchdog)"
ctl events --service wd --json | jq -e '[.[] | select(.type == "exit")][0].kind == "watchdog"' >/dev/null ||
	fail "exit: $(ev wd exit)"
ctl logs wd | grep -q stopped-pinging || fail "killed before it stopped pinging"
# Four pings 0.3 s apart kept it alive past its first 5 s.
alive=$(($(t wd watchdog) - $(t wd ready)))
[ "$alive" -ge 5500 ] || fail "killed ${alive} ms after ready, pings did not count"
[ "$(ev wd start | jq '.[1].pid')" != "$pid1" ] || fail "same pid after restart"
pass "watchdog: WATCHDOG_USEC set, no WATCHDOG_PID; silent for 5s -> killed, exit kind watchdog, restarted"

# A frozen service cannot ping: the watchdog waits for the thaw.
wait_for 30 state_is fz running || fail "fz: $(svc_state fz)"
fz_pid=$(main_pid fz)
ctl freeze fz >/dev/null || fail "freeze fz"
# Six seconds, longer than its 5s watchdog, in which nothing may happen.
wait_for 6 bash -c "[ \"\$('$PADDOCKCTL' -s '$T/run/control.sock' list --json | jq -r '.[] | select(.name == \"fz\") | \"\(.state) \(.main_pid)\"')\" != 'running $fz_pid' ]" &&
	fail "frozen fz was touched: $(ctl status fz)"
ctl thaw fz >/dev/null || fail "thaw fz"
[ "$(main_pid fz)" = "$fz_pid" ] || fail "fz restarted while frozen: $(ev fz watchdog)"
pass "frozen for longer than its watchdog: not killed"

# --- EXTEND_TIMEOUT_USEC and STOPPING=1
wait_for 30 state_is ext running || fail "ext: $(svc_state ext) $(svc_field ext last_exit.reason)"
[ "$(ev ext ready | jq -r '.[0].after_ms')" -ge 6000 ] || fail "ext ready event: $(ev ext ready)"
[ "$(ev ext ready-timeout | jq length)" = 0 ] || fail "ext timed out: $(ev ext ready-timeout)"
pass "EXTEND_TIMEOUT_USEC=20s lets a 5s start timeout wait 6s for READY=1"
wait_for 30 state_is quits failed || fail "quits: $(svc_state quits)"
[ "$(ev quits notify-stopping | jq length)" = 1 ] || fail "no notify-stopping event"
[ "$(ev quits kill | jq -r '.[0].reason')" = "stop timeout" ] || fail "no SIGKILL after the stop timeout: $(ev quits kill)"
ctl events --service quits --json | jq -e '[.[] | select(.type == "stop")] | length == 0' >/dev/null || fail "we sent a stop signal"
pass "STOPPING=1: stopping without our signal, SIGKILL after stop.timeout, not restarted (policy never)"

# --- a paddockd that starts while fz is frozen adopts it frozen, watchdog paused
ctl freeze fz >/dev/null || fail "freeze fz again"
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
start_daemon
wait_for 10 bash -c "[ \"\$('$PADDOCKCTL' -s '$T/run/control.sock' status fz --json | jq -r '.[0].frozen')\" = true ]" ||
	fail "fz not adopted as frozen: $(ctl status fz --json)"
wait_for 6 bash -c "[ \"\$('$PADDOCKCTL' -s '$T/run/control.sock' list --json | jq -r '.[] | select(.name == \"fz\") | \"\(.state) \(.main_pid)\"')\" != 'running $fz_pid' ]" &&
	fail "frozen fz was touched after the daemon restarted: $(ctl status fz)"
ctl thaw fz >/dev/null || fail "thaw fz"
[ "$(main_pid fz)" = "$fz_pid" ] || fail "fz restarted while frozen: $(ev fz watchdog)"
pass "a restarted paddockd adopts a frozen service as frozen; its watchdog waits for the thaw"

stop_daemon || fail "exit status"
