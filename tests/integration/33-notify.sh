#!/bin/bash
# sd_notify for services: NOTIFY_SOCKET reaches the daemon from inside a
# service's own root and pid namespace; READY=1 gates `running` and the
# dependents; STATUS= shows in status; MAINPID= outside the cgroup, bad
# datagrams and passed fds are refused; a sender outside every service
# changes nothing.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; setup
# Built by make; tests/vm/run.sh puts it on the VM's PATH.
SDN="$BUILD_DIR/tests/helpers/sdnotify"
[ -x "$SDN" ] || SDN=$(command -v sdnotify) || skip "no tests/helpers/sdnotify (run make)"
make_rootfs "$T/root"
cp "$SDN" "$T/root/bin/sdnotify"
# An image service (overlay root) too, where umoci can build one.
img_yaml=""
if command -v umoci >/dev/null; then
	make_image "$T/img"
	img_yaml="  img:
    image: $T/img:v1
    ready: notify
    isolation:
      mounts: [{type: bind, source: $SDN, target: /bin/sdnotify, readonly: true}]
    command: [\"/bin/sh\", \"-c\", \"sdnotify --barrier READY=1 && exec sleep 1000\"]"
fi
# db waits for the test's go-ahead (a file in its root), then says ready.
# MAINPID=1 is the host's init: never in db's cgroup. --barrier keeps each
# sender alive until the daemon has read it (a reaped sender cannot be
# placed in a cgroup any more; systemd-notify has the same limit).
cat >"$T/services/n.yaml" <<YAML
services:
  db:
    rootfs: $T/root
    ready: notify
    command:
      - /bin/sh
      - -c
      - |
        echo "socket=\$\$NOTIFY_SOCKET pid=\$\$\$\$"
        touch /dev/paddock/planted 2>/dev/null && echo planted-a-file
        rm -f /dev/paddock/notify 2>/dev/null && echo removed-the-socket
        while [ ! -e /tmp/go ]; do sleep 0.05; done
        sdnotify --barrier 'STATUS=accepting connections' READY=1 MAINPID=1 || echo barrier-failed
        sdnotify --barrier 'this is not KEY=VALUE' READY=1
        sdnotify --barrier --fd STATUS=with-an-fd
        sdnotify --barrier --big
        sdnotify --barrier READY=2
        sdnotify --barrier 'STATUS=serving 3 clients' || echo barrier-failed
        echo done-sending
        exec sleep 1000
  app:
    rootfs: $T/root
    depends_on: [db]
    command: ["/bin/sleep", "1000"]
  ro:
    rootfs: $T/root
    ready: notify
    isolation: {readonly_rootfs: true}
    command: ["/bin/sh", "-c", "sdnotify --barrier READY=1 && exec sleep 1000"]
  host:
    ready: notify
    command: ["/bin/sh", "-c", "echo socket=\$\$NOTIFY_SOCKET; $SDN --barrier READY=1 && exec sleep 1000"]
  # No pid namespace: \$\$ is a pid in the daemon's namespace, and in mp's cgroup.
  mp:
    ready: notify
    isolation: {namespaces: [mount], network: host}
    command: ["/bin/sh", "-c", "$SDN --barrier READY=1 MAINPID=\$\$\$\$ && exec sleep 1000"]
$img_yaml
YAML
start_daemon
wait_for 10 state_is db starting || fail "db: $(svc_state db)"
wait_for 10 state_is app waiting || fail "app: $(svc_state app)"
wait_for 10 bash -c "'$PADDOCKCTL' -s '$T/run/control.sock' logs db | grep -q socket=" || fail "no output from db"
ctl logs db | grep -q 'socket=/dev/paddock/notify pid=2' || fail "NOTIFY_SOCKET or pid namespace: $(ctl logs db)"
[ "$(ctl status db --json | jq -r '.[0].ready.ready')" = false ] || fail "db ready before READY=1"
pass "starting until READY=1 (NOTIFY_SOCKET=/dev/paddock/notify, pid 2 in its namespace); app waits"
ctl logs db | grep -q 'planted-a-file\|removed-the-socket' && fail "the service wrote to the socket's directory: $(ctl logs db)"
[ ! -e "$T/run/notify/planted" ] && [ -S "$T/run/notify/notify" ] || fail "runtime dir changed: $(ls -l $T/run/notify)"
pass "root in the service cannot write to the socket's directory (read-only bind)"

wait_for 10 state_is ro running || fail "ro (read-only root): $(svc_state ro)"
wait_for 10 state_is host running || fail "host (host filesystem): $(svc_state host)"
ctl logs host | grep -q "socket=$T/run/notify/notify" || fail "host NOTIFY_SOCKET: $(ctl logs host)"
pass "a read-only root and the host filesystem reach the socket too"
if [ -n "$img_yaml" ]; then
	wait_for 30 state_is img running || fail "img (image, overlay root): $(svc_state img) $(svc_field img last_exit.reason)"
	pass "an image service (overlay root) reaches it"
fi
wait_for 10 state_is mp running || fail "mp: $(svc_state mp)"
[ "$(svc_field mp ready.mainpid)" = "$(main_pid mp)" ] || fail "MAINPID of its own process: $(svc_field mp ready) main $(main_pid mp)"
ctl status mp | grep -q "^ *MAINPID: $(main_pid mp)$" || fail "status: $(ctl status mp)"
pass "MAINPID= of a process in the service's cgroup is accepted and shown"

# A sender outside every service's cgroup is nobody: nothing changes.
NOTIFY_SOCKET="$T/run/notify/notify" "$SDN" --barrier READY=1 'STATUS=forged' || fail "host sender"
state_is db starting || fail "a host process made db $(svc_state db)"
[ -z "$(svc_field db status_text)" ] || fail "host STATUS= taken: $(svc_field db status_text)"
pass "READY=1 from outside the service's cgroup is ignored"

touch "$T/root/tmp/go"
wait_for 10 state_is db running || fail "db: $(svc_state db)"
wait_for 10 state_is app running || fail "app: $(svc_state app)"
t() { ctl events --service "$1" --json | jq "[.[] | select(.type == \"$2\")][0].time_ms"; }
[ "$(t db ready)" -le "$(t app start)" ] || fail "app started $(t app start) before db was ready $(t db ready)"
ctl events --service db --json | jq -e '[.[] | select(.type == "ready")][0].via == "notify"' >/dev/null ||
	fail "no ready event via notify"
pass "READY=1 from inside the pid namespace makes db running, then app starts"

wait_for 10 bash -c "'$PADDOCKCTL' -s '$T/run/control.sock' logs db | grep -q done-sending" || fail "db did not finish sending"
ctl logs db | grep -q barrier-failed && fail "a barrier was not acknowledged: $(ctl logs db)"
[ "$(svc_field db status_text)" = "serving 3 clients" ] || fail "status_text: $(svc_field db status_text)"
ctl status db | grep -q '^ *Status: serving 3 clients$' || fail "paddockctl status: $(ctl status db)"
ctl status db | grep -q '^ *Ready: notify, ready after' || fail "paddockctl status: $(ctl status db)"
pass "STATUS= shows in status (JSON and text)"

ctl events --service db --json | jq -e '[.[] | select(.type == "notify-refused" and .value == 1)] | length == 1' >/dev/null ||
	fail "MAINPID=1 not refused: $(ctl events --service db --json | jq -c '.[] | select(.type | test("notify|mainpid"))')"
[ -z "$(svc_field db ready.mainpid)" ] || fail "MAINPID=1 taken: $(svc_field db ready.mainpid)"
pass "MAINPID= outside the service's cgroup is refused"

[ "$(svc_field db ready.malformed)" = 4 ] || fail "malformed count $(svc_field db ready.malformed), expected 4"
pass "a line without '=', a passed fd, a 6000-byte STATUS and READY=2 are refused and counted"

stop_daemon || fail "exit status"
[ ! -e "$T/run/notify/notify" ] || fail "socket left behind"
pass "the socket goes with the daemon"
