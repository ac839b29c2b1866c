#!/bin/bash
# paddockd takes its control socket from systemd (sd_listen_fds) when one is
# passed: started by systemd-socket-activate on first connection, it answers
# on that socket and creates none of its own.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd systemd-socket-activate; setup
make_rootfs "$T/root"
cat >"$T/services/a.yaml" <<YAML
services:
  one:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
YAML
systemd-socket-activate -l "$T/act.sock" "$PADDOCKD" -f -v -S "$T/services" --state-dir "$T/state" \
	--runtime-dir "$T/run" --cgroup-root "$CGROOT" >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_for 10 test -S "$T/act.sock" || fail "systemd-socket-activate did not listen"
# The first connection starts paddockd, which then answers on the passed socket.
out=$("$PADDOCKCTL" -s "$T/act.sock" list 2>&1) || fail "no answer on the activated socket: $out"
echo "$out" | grep -q '^one ' || fail "list on the activated socket: $out"
grep -q 'using the socket passed by systemd' "$T/daemon.log" || fail "daemon did not use the passed socket"
[ -e "$T/run/control.sock" ] && fail "daemon created its own socket as well"
pass "socket activation: answered on the passed socket, no socket of its own"
[ "$("$PADDOCKCTL" -s "$T/act.sock" list --json | jq -r '.[0].state')" != "" ] || fail "no state"
kill -0 "$DAEMON_PID" || fail "the activated daemon is not the process we started"
pass "systemd-socket-activate exec'ed paddockd in place (pid $DAEMON_PID)"
