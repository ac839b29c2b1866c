#!/bin/bash
# Liveness health checks, each run inside the service's namespaces:
#  - http: a busybox httpd in its own netns, SIGSTOPped from the host ->
#    unhealthy (event with the check's output), restarted (new pid,
#    restarts + 1, exit kind unhealthy), healthy again;
#  - tcp with on_unhealthy: stop: the listener goes away -> stopped;
#  - exec with on_unhealthy: none: output in the event, same pid, healthy
#    again once the check passes; runs in the service's mount namespace;
#  - exec checks are run by one helper (comm paddock-check) kept in the
#    service's cgroup across checks; a timed-out check is killed with what
#    it started in the background, and the next one gets a new helper;
#    with on_unhealthy: restart the service restarts and is checked again;
#  - list/status/--json and paddock_service_healthy 0/1;
#  - kill -9 of paddockd: the adopted service is checked again, by a new
#    helper (the old one died with the daemon), as its user; also when
#    the state file has no record of that user (learned from its command).
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; setup
make_rootfs "$T/root"
mkdir -p "$T/root/www"
echo hello >"$T/root/www/index.html"
touch "$T/root/tmp/chk-ok"
port=$(free_port)
cat >"$T/config.yaml" <<YAML
metrics: {listen: "127.0.0.1:$port"}
YAML
cat >"$T/services/h.yaml" <<YAML
services:
  web:
    rootfs: $T/root
    command: ["/bin/httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"]
    restart: {delay: 100ms}
    stop: {timeout: 1s}
    health:
      http: {port: 8080, path: /index.html, status: 200}
      interval: 300ms
      timeout: 1s
      retries: 2
      # Failures before httpd listens do not count; a success makes it healthy.
      start_period: 10s
  tcpd:
    rootfs: $T/root
    restart: {policy: always, delay: 100ms}
    # The listener can go while the service stays: only the check notices.
    command: ["/bin/sh", "-c", "httpd -f -p 127.0.0.1:9090 -h /www & echo \$\$! > /tmp/tcpd.pid; wait; exec sleep 100000"]
    health: {tcp: 9090, interval: 300ms, timeout: 1s, retries: 2, start_period: 10s, on_unhealthy: stop}
  chk:
    rootfs: $T/root
    isolation:
      mounts: [{type: tmpfs, target: /run/chk}]
    # /run/chk exists in chk's mount namespace only: the check runs there.
    command: ["/bin/sh", "-c", "touch /run/chk/up; exec sleep 100000"]
    health:
      exec: ["/bin/sh", "-c", "echo checking up; test -e /run/chk/up && test -e /tmp/chk-ok || { echo chk-ok is missing; exit 3; }"]
      interval: 300ms
      retries: 3
      on_unhealthy: none
  plain:
    rootfs: $T/root
    command: ["/bin/sleep", "100000"]
  hangr:
    rootfs: $T/root
    command: ["/bin/sleep", "100000"]
    restart: {delay: 100ms}
    # A timed-out exec check that restarts its service (the helper goes with the checks).
    health: {exec: ["/bin/sh", "-c", "[ ! -e /tmp/hangr ] || sleep 4444"], interval: 300ms, timeout: 1s, retries: 1}
  hang:
    rootfs: $T/root
    command: ["/bin/sleep", "100000"]
    # With /tmp/hang: a background sleep and a foreground one, killed at the timeout.
    health:
      exec: ["/bin/sh", "-c", "if [ -e /tmp/hang ]; then sleep 4242 & sleep 4343; fi; echo fine"]
      interval: 300ms
      # generous: a spurious timeout on a loaded machine would replace the helper
      timeout: 2s
      retries: 1
      on_unhealthy: none
  who:
    rootfs: $T/root
    user: svc
    command: ["/bin/sleep", "100000"]
    # A passing check's output is kept too: it says who the check ran as.
    health: {exec: ["/bin/sh", "-c", "echo uid=\$\$(id -u)"], interval: 300ms}
YAML
start_daemon -c "$T/config.yaml"
ev() { ctl events --service "$1" --json | jq -c "[.[] | select(.type == \"$2\")]"; }
nev() { ev "$1" "$2" | jq length; }
health() { ctl list --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .health // empty'; }
health_is() { [ "$(health "$1")" = "$2" ]; }
fetch() { if command -v curl >/dev/null; then curl -sf "$1"; else wget -qO- "$1"; fi; }
metric() { fetch "http://127.0.0.1:$port/metrics" | grep "^paddock_service_healthy{service=\"$1\"}" | cut -d' ' -f2; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }

for s in web tcpd chk who hang hangr; do
	wait_for 30 health_is $s healthy || fail "$s not healthy: $(ctl status $s)"
done
wait_for 30 state_is plain running || fail "plain: $(svc_state plain)"
[ -z "$(health plain)" ] || fail "plain has a health: $(health plain)"
ctl list | grep -Eq '^web +running \(healthy\) ' || fail "list: $(ctl list)"
ctl status web | grep -q 'Health: http, healthy' || fail "status: $(ctl status web)"
ctl status web --json | jq -e '.[0].health | .status == "healthy" and .failures == 0 and (.last_check > 0) and .type == "http"' >/dev/null ||
	fail "status --json: $(ctl status web --json | jq -c '.[0].health')"
svc_field web health.last_output | grep -Eq "^HTTP/1\.[01] 200 OK$" || fail "last_output: $(svc_field web health.last_output)"
[ "$(nev web healthy)" -ge 1 ] || fail "no healthy event: $(ev web healthy)"
wait_for 10 metric_is web 1 || fail "metric web: $(metric web)"
[ -z "$(metric plain)" ] || fail "a metric for plain, which has no check"
[ "$(svc_field who health.last_output)" = "uid=1000" ] || fail "who's check: $(svc_field who health)"
pass "http, tcp and exec checks pass: healthy in list, status, --json, events and metrics; exec as the service's user"

# --- http: a hung server
pid1=$(main_pid web)
r1=$(restarts web)
httpd_pid=""
for p in $(cat "$(service_cgdir web)/cgroup.procs"); do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = httpd ] && httpd_pid=$p
done
[ -n "$httpd_pid" ] || fail "no httpd in web's cgroup"
signal_pid STOP "$httpd_pid"
t0=$(now_ms)
# 2 retries x (300ms interval + 1s timeout), plus slack for a loaded machine.
wait_for 30 bash -c "[ \$('$PADDOCKCTL' -s '$T/run/control.sock' events --service web --json | jq '[.[] | select(.type == \"unhealthy\")] | length') -ge 1 ]" ||
	fail "web not unhealthy: $(ctl status web)"
took=$(($(now_ms) - t0))
log "unhealthy ${took} ms after SIGSTOP"
ev web unhealthy | jq -e '.[0].output | test("timed out")' >/dev/null || fail "unhealthy event: $(ev web unhealthy)"
ev web unhealthy | jq -e '.[0].on_unhealthy == "restart"' >/dev/null || fail "unhealthy event: $(ev web unhealthy)"
wait_for 30 health_is web healthy || fail "web not healthy again: $(ctl status web)"
[ "$(main_pid web)" != "$pid1" ] || fail "web not restarted (pid $pid1)"
[ "$(restarts web)" = $((r1 + 1)) ] || fail "restarts $(restarts web), was $r1"
ctl events --service web --json | jq -e '[.[] | select(.type == "exit")] | last | .kind == "unhealthy" and (.reason | startswith("unhealthy: "))' >/dev/null ||
	fail "exit: $(ev web exit)"
[ "$(svc_field web last_exit.kind)" = unhealthy ] || fail "last_exit: $(svc_field web last_exit)"
kill -0 "$httpd_pid" 2>/dev/null && fail "the stopped httpd $httpd_pid is still there"
wait_for 10 metric_is web 1 || fail "metric web after: $(metric web)"
pass "a SIGSTOPped httpd: unhealthy (timed out) in ${took} ms, restarted (pid $pid1 -> $(main_pid web)), healthy again"

# --- exec, on_unhealthy: none
chk_pid=$(main_pid chk)
rm "$T/root/tmp/chk-ok"
wait_for 30 health_is chk unhealthy || fail "chk not unhealthy: $(ctl status chk)"
ev chk unhealthy | jq -e '.[0].output | test("^exit 3: checking up\nchk-ok is missing")' >/dev/null || fail "chk event: $(ev chk unhealthy)"
ctl list | grep -Eq '^chk +running \(unhealthy\) ' || fail "list: $(ctl list)"
wait_for 10 metric_is chk 0 || fail "metric chk: $(metric chk)"
svc_field chk health.failures | grep -qE '^[3-9]|^[1-9][0-9]' || fail "failures: $(svc_field chk health)"
n_healthy=$(nev chk healthy)
touch "$T/root/tmp/chk-ok"
wait_for 30 health_is chk healthy || fail "chk not healthy again: $(ctl status chk)"
[ "$(nev chk healthy)" = $((n_healthy + 1)) ] || fail "healthy events: $(ev chk healthy)"
[ "$(main_pid chk)" = "$chk_pid" ] && [ "$(restarts chk)" = 0 ] || fail "chk was restarted"
wait_for 10 metric_is chk 1 || fail "metric chk after: $(metric chk)"
pass "exec check in the service's mount namespace: output in the event, on_unhealthy none keeps it running, healthy again"

# --- exec: one helper across checks; a timeout kills the check and what it started
# pids in a service's cgroup whose command line is "$2"
procs_like() {
	local p
	for p in $(cat "$(service_cgdir "$1")/cgroup.procs"); do
		[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "$2 " ] && echo "$p"
	done
	return 0
}
helpers() { for p in $(cat "$(service_cgdir "$1")/cgroup.procs"); do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = paddock-check ] && echo "$p"
done; return 0; }
one_helper() { [ "$(helpers "$1" | wc -l)" = 1 ]; }
checked_twice() { # wait for two more checks of $1
	local lc
	lc=$(svc_field "$1" health.last_check)
	wait_for 10 bash -c "[ \$('$PADDOCKCTL' -s '$T/run/control.sock' status $1 --json | jq '.[0].health.last_check') -gt $lc ]" || return 1
	lc=$(svc_field "$1" health.last_check)
	wait_for 10 bash -c "[ \$('$PADDOCKCTL' -s '$T/run/control.sock' status $1 --json | jq '.[0].health.last_check') -gt $lc ]"
}
wait_for 10 one_helper hang || fail "hang's helpers: $(helpers hang)"
h1=$(helpers hang)
checked_twice hang || fail "hang not checked"
[ "$(helpers hang)" = "$h1" ] || fail "a new helper for each check: $h1, then $(helpers hang)"
touch "$T/root/tmp/hang"
wait_for 30 health_is hang unhealthy || fail "hang not unhealthy: $(ctl status hang)"
ev hang unhealthy | jq -e '.[0].output | test("timed out")' >/dev/null || fail "hang event: $(ev hang unhealthy)"
rm "$T/root/tmp/hang"
wait_for 30 health_is hang healthy || fail "hang not healthy again: $(ctl status hang)"
no_leftovers() { [ -z "$(procs_like hang 'sleep 4242')$(procs_like hang 'sleep 4343')" ]; }
wait_for 10 no_leftovers || fail "a timed-out check left: $(procs_like hang 'sleep 4242') $(procs_like hang 'sleep 4343')"
wait_for 10 one_helper hang || fail "hang's helpers after the timeout: $(helpers hang)"
[ "$(helpers hang)" != "$h1" ] || fail "the helper of a timed-out check was kept ($h1)"
pass "exec checks: one helper ($h1) kept in the cgroup across checks; a timeout killed the check and its background process"

r1=$(restarts hangr)
touch "$T/root/tmp/hangr"
wait_for 30 bash -c "[ \$('$PADDOCKCTL' -s '$T/run/control.sock' status hangr --json | jq '.[0].restarts') -gt $r1 ]" ||
	fail "hangr not restarted: $(ctl status hangr)"
rm "$T/root/tmp/hangr"
kill -0 "$DAEMON_PID" || fail "paddockd died"
wait_for 30 health_is hangr healthy || fail "hangr not healthy again: $(ctl status hangr)"
wait_for 10 one_helper hangr || fail "hangr's helpers: $(helpers hangr)"
ev hangr unhealthy | jq -e '.[0].output | test("timed out")' >/dev/null || fail "hangr event: $(ev hangr unhealthy)"
pass "a timed-out exec check with on_unhealthy: restart restarts the service, which is checked again"

# --- tcp, on_unhealthy: stop
for p in $(cat "$(service_cgdir tcpd)/cgroup.procs"); do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = httpd ] && signal_pid KILL "$p"
done
wait_for 30 state_is tcpd stopped || fail "tcpd not stopped: $(ctl status tcpd)"
ev tcpd unhealthy | jq -e '.[0].output | test("connect: Connection refused")' >/dev/null || fail "tcpd event: $(ev tcpd unhealthy)"
[ "$(svc_field tcpd last_exit.kind)" = unhealthy ] || fail "tcpd last_exit: $(svc_field tcpd last_exit)"
[ "$(nev tcpd start)" = 1 ] || fail "tcpd started again (policy always must not apply): $(ev tcpd start)"
[ -z "$(health tcpd)" ] || fail "a stopped service has a health: $(health tcpd)"
pass "tcp check: listener gone -> unhealthy -> stopped (on_unhealthy: stop, despite restart: always)"

# --- reload: an unchanged check goes on (no new healthy event), a changed one starts over
web_pid=$(main_pid web)
n_web=$(nev web healthy)
n_who=$(nev who healthy)
sed -i 's/"echo uid=\$\$(id -u)"], interval: 300ms/"echo uid=\$\$(id -u)"], interval: 400ms/' "$T/services/h.yaml"
grep -q 'interval: 400ms' "$T/services/h.yaml" || fail "sed did not change who's interval"
ctl reload >"$T/out" 2>&1 || fail "reload: $(cat "$T/out")"
wait_for 30 bash -c "[ \$('$PADDOCKCTL' -s '$T/run/control.sock' status who --json | jq '.[0].health.interval_ms') = 400 ]" ||
	fail "who's interval after reload: $(svc_field who health)"
wait_for 30 bash -c "[ \$('$PADDOCKCTL' -s '$T/run/control.sock' events --service who --json | jq '[.[] | select(.type == \"healthy\")] | length') -gt $n_who ]" ||
	fail "who's changed check did not start over: $(ev who healthy)"
# Two more checks of web, then: still healthy, no new event, same process.
lc=$(svc_field web health.last_check)
wait_for 10 bash -c "[ \$('$PADDOCKCTL' -s '$T/run/control.sock' status web --json | jq '.[0].health.last_check') -gt $lc ]" || fail "web not checked after reload"
lc=$(svc_field web health.last_check)
wait_for 10 bash -c "[ \$('$PADDOCKCTL' -s '$T/run/control.sock' status web --json | jq '.[0].health.last_check') -gt $lc ]" || fail "web not checked after reload"
health_is web healthy && [ "$(nev web healthy)" = "$n_web" ] && [ "$(main_pid web)" = "$web_pid" ] ||
	fail "web after reload: $(health web), healthy events $(nev web healthy) (was $n_web), pid $(main_pid web) (was $web_pid)"
pass "reload: an unchanged check keeps its status, a changed one starts over with the new interval"

# --- kill -9 paddockd: checks resume for adopted services
web_pid=$(main_pid web)
who_helper=$(helpers who)
[ -n "$who_helper" ] || fail "who has no helper"
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
start_daemon -c "$T/config.yaml"
wait_for 30 health_is web healthy || fail "adopted web not checked: $(ctl status web)"
[ "$(main_pid web)" = "$web_pid" ] || fail "web not adopted"
wait_for 30 health_is chk healthy || fail "adopted chk not checked: $(ctl status chk)"
wait_for 30 health_is who healthy || fail "adopted who not checked: $(ctl status who)"
[ "$(svc_field who health.last_output)" = "uid=1000" ] || fail "adopted who's check ran as: $(svc_field who health)"
wait_for 10 one_helper who || fail "who's helpers after kill -9: $(helpers who)"
[ "$(helpers who)" != "$who_helper" ] || fail "who's old helper $who_helper outlived paddockd"
rm "$T/root/tmp/chk-ok"
wait_for 30 health_is chk unhealthy || fail "adopted chk never unhealthy: $(ctl status chk)"
pass "after kill -9 of paddockd, adopted services are checked again (as their user)"

# --- a state file without who's user (from before run_uid): learned from its command, not root
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
jq 'del(.services[] | select(.name == "who") | .run_uid, .run_gid)' "$T/state/state.json" >"$T/state.old" &&
	mv "$T/state.old" "$T/state/state.json" || fail "could not edit the state file"
! jq -e '.services[] | select(.name == "who") | .run_uid' "$T/state/state.json" >/dev/null ||
	fail "the state file still has who's run_uid"
line=$(($(wc -l <"$T/daemon.log") + 1))
start_daemon -c "$T/config.yaml"
wait_for 30 health_is who healthy || fail "adopted who not checked: $(ctl status who)"
tail -n +"$line" "$T/daemon.log" | grep -q "service who: no record of its user: checks run as uid 1000 gid " ||
	fail "paddockd did not learn who's user: $(tail -n +"$line" "$T/daemon.log" | grep 'service who')"
[ "$(svc_field who health.last_output)" = "uid=1000" ] || fail "who's check without a recorded user ran as: $(svc_field who health)"
# Learned, it is recorded again.
wait_for 10 jq -e '.services[] | select(.name == "who") | .run_uid == 1000' "$T/state/state.json" ||
	fail "who's learned user is not in the state file"
pass "a state file without the user: learned from the running command (uid 1000), not root"

stop_daemon || fail "exit status"
