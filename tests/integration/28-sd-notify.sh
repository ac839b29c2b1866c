#!/bin/bash
# paddockd speaks sd_notify to its own manager: READY=1 once the initial
# services are started (with a STATUS), WATCHDOG=1 at half of WATCHDOG_USEC,
# STOPPING=1 on SIGTERM. A real NOTIFY_SOCKET, read by a small listener.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd python3; setup
make_rootfs "$T/root"
cat >"$T/services/n.yaml" <<YAML
services:
  one:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
YAML
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        msg = s.recv(4096).decode()
        log.write(msg.replace("\n", " ") + "\n")
PY
EXTRA_PIDS="$!"
wait_for 30 test -S "$T/notify.sock" || fail "listener did not start"
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 start_daemon
wait_for 10 grep -Eq 'READY=1 STATUS=1 services: [01] running, 0 failed, [01] starting, 0 waiting' "$T/notify.log" ||
	fail "no READY=1 with counts: $(cat $T/notify.log)"
pass "READY=1 with STATUS once the services are started"
wait_for 5 bash -c "[ \$(grep -c WATCHDOG=1 $T/notify.log) -ge 3 ]" || fail "no WATCHDOG=1 pings: $(cat $T/notify.log)"
grep -q 'WATCHDOG=1 STATUS=1 services: 1 running, 0 failed' "$T/notify.log" || fail "watchdog STATUS lacks counts"
pass "WATCHDOG=1 at half of WATCHDOG_USEC, with counts in STATUS"
stop_daemon || fail "exit status"
grep -q '^STOPPING=1' "$T/notify.log" || fail "no STOPPING=1"
pass "STOPPING=1 on SIGTERM"
