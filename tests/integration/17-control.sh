#!/bin/bash
# The control socket and paddockctl: exit codes, bad requests, a client
# that never reads, unprivileged callers, many clients at once.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd python3; setup
make_rootfs "$T/root"
cat >"$T/services/c.yaml" <<YAML
services:
  web:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    resources: {memory: {max: 64M}, pids: {max: 10}}
YAML
start_daemon
wait_for 10 state_is web running || fail "web not running"

ctl status nosuch >/dev/null 2>&1; [ $? = 3 ] || fail "unknown service: exit code not 3"
pass "unknown service exits 3"
ctl frobnicate >/dev/null 2>&1; [ $? = 2 ] || fail "unknown command: exit code not 2"
pass "unknown command exits 2"
"$PADDOCKCTL" -s "$T/run/nothing.sock" list >/dev/null 2>"$T/err"; [ $? = 4 ] || fail "no daemon: exit code not 4"
grep -q "$T/run/nothing.sock" "$T/err" || fail "no daemon: message does not say where it looked"
pass "unreachable daemon exits 4 and names the socket"
a=$(ctl --json status web | jq -r '.[0].name'); b=$(ctl status web --json | jq -r '.[0].name')
[ "$a" = web ] && [ "$b" = web ] || fail "--json before/after the command differ"
pass "global options before or after the command"
PADDOCK_SOCKET="$T/run/control.sock" "$PADDOCKCTL" list | grep -q '^web ' || fail "PADDOCK_SOCKET not used"
pass "PADDOCK_SOCKET honoured"
mode=$(stat -c %a "$T/run/control.sock"); [ "$mode" = 660 ] || fail "socket mode $mode"
pass "socket mode 0660"

python3 - "$T/run/control.sock" <<'PY' || fail "protocol abuse test failed"
import json, socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(10); return s
def ask(s, raw):
    s.sendall(raw); buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk: break
        buf += chunk
    return json.loads(buf) if buf else None
s = conn()
r = ask(s, b"this is not json\n"); assert r["ok"] is False and r["code"] == "EPROTO", r
r = ask(s, b'{"v":1,"cmd":"status","names":["web"]}\n'); assert r["ok"] and r["result"][0]["state"] == "running", r
r = ask(s, b'{"v":1,"cmd":"nope"}\n'); assert r["code"] == "ENOSYS", r
r = ask(s, b'{"v":99,"cmd":"list"}\n'); assert r["code"] == "EPROTO", r
r = ask(s, b'[1,2,3]\n'); assert r["code"] == "EPROTO", r
r = ask(s, b'{"v":1,"cmd":"status","names":"web"}\n'); assert r["code"] == "EINVAL", r
# Oversized request: the daemon answers E2BIG and closes.
big = conn()
try:
    big.sendall(b'{"v":1,"cmd":"list","x":"' + b"a" * (2 * 1024 * 1024))
except (BrokenPipeError, ConnectionResetError):
    pass  # the daemon may answer and close before we finish sending
r = json.loads(big.recv(65536).split(b"\n")[0]); assert r["code"] == "E2BIG", r
# Half-written request then close: nothing happens.
h = conn(); h.sendall(b'{"v":1,"cmd":'); h.close()
# A client that never reads while we flood it with requests gets dropped.
lazy = conn(); lazy.setblocking(False)
req = b'{"v":1,"cmd":"status"}\n' * 2000
sent = 0
try:
    for _ in range(400):
        sent += lazy.send(req)
except (BlockingIOError, BrokenPipeError, ConnectionResetError):
    pass
# 100 concurrent clients all get answers.
cs = [conn() for _ in range(100)]
for c in cs: c.sendall(b'{"v":1,"cmd":"list"}\n')
for c in cs:
    buf = b""
    while not buf.endswith(b"\n"): buf += c.recv(65536)
    assert json.loads(buf)["ok"]
r = ask(s, b'{"v":1,"cmd":"list"}\n'); assert r["ok"], r
print("protocol abuse: all answered, daemon alive")
PY
kill -0 "$DAEMON_PID" || fail "daemon died"
pass "malformed, unknown, oversized, half-written requests, a lazy client and 100 clients"

# An unprivileged user is refused with a clear answer.
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	chmod 755 "$T" "$T/run"; chmod 666 "$T/run/control.sock"
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$PADDOCKCTL" -s "$T/run/control.sock" list 2>&1)
	echo "$out" | grep -q 'permission denied' || fail "unprivileged caller not refused: $out"
	chmod 660 "$T/run/control.sock"
	pass "unprivileged caller refused: $out"
fi

ctl freeze web >/dev/null || fail "freeze"
if is_v1 && [ ! -f "$(service_cgdir web)/cgroup.freeze" ]; then
	grep -q FROZEN "$(service_cgdir web freezer)/freezer.state" || fail "not frozen (v1)"
else
	grep -q 'frozen 1' "$(service_cgdir web)/cgroup.events" || fail "not frozen (v2)"
fi
ctl thaw web >/dev/null || fail "thaw"
pass "freeze and thaw"
pid=$(main_pid web)
ctl restart web >/dev/null || fail "restart"
wait_for 10 state_is web running || fail "web not running after restart"
[ "$(main_pid web)" != "$pid" ] || fail "restart kept the same pid"
pass "restart gives a new main pid"
ctl kill --signal KILL web >/dev/null || fail "kill"
wait_for 10 bash -c "p=\$($PADDOCKCTL -s $T/run/control.sock list --json | jq -r '.[0].main_pid'); [ \"\$p\" != 0 ] && [ \"\$p\" != $(main_pid web) ]" || fail "web not restarted after kill"
pass "kill --signal KILL restarts the service"
