#!/bin/bash
# Fleet mode: what a node counts against its budget (issue 21). One etcd
# member on loopback, one paddockd node, budget 256 MiB, lease TTL 20 s.
#   - an instance that is still stopping (fleet rm) keeps counting: a spec
#     that fits only without it starts after it exited, never beside it
#   - spread: an instance still stopping (its spec changed) keeps the node
#     from claiming another instance of that spec until it exited
#   - local services count: beside a local service of 200 MiB (paddockctl
#     run) the node claims 16 MiB but not 64; its record says committed
#     216 MiB, local 200 MiB; once the local service stopped, it claims 64
#   - a claim's release is sent once: with etcd slow to answer deletes (a
#     proxy holds them 2.5 s), reads meanwhile do not send it again
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd etcd; need_cmd etcdctl; need_cmd jq; setup

TTL=20
NODE_PID=""
ETCD_PID=""
PROXY_PID=""

budget_cleanup() {
	local rc=$?
	[ "$rc" = 0 ] || { echo "--- n1: paddockd log (last 30 lines) ---" >&2; tail -n 30 "$T/n1/daemon.log" >&2 2>/dev/null; }
	if [ -n "$NODE_PID" ]; then
		kill -TERM "$NODE_PID" 2>/dev/null
		wait_for 30 bash -c "! kill -0 $NODE_PID" || kill -9 "$NODE_PID" 2>/dev/null
		wait "$NODE_PID" 2>/dev/null
	fi
	[ -z "$ETCD_PID" ] || { kill -9 "$ETCD_PID"; wait "$ETCD_PID"; } 2>/dev/null
	[ -z "$PROXY_PID" ] || { kill "$PROXY_PID"; wait "$PROXY_PID"; } 2>/dev/null
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = paddock-fdstore ] || continue
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$T/n1/run" ] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	(exit $rc)
	cleanup
}
trap budget_cleanup EXIT

CPORT=$(free_port) PPORT=$(free_port)
etcd --name e1 --data-dir "$T/etcd" --initial-cluster "e1=http://127.0.0.1:$PPORT" \
	--listen-peer-urls "http://127.0.0.1:$PPORT" --initial-advertise-peer-urls "http://127.0.0.1:$PPORT" \
	--listen-client-urls "http://127.0.0.1:$CPORT" --advertise-client-urls "http://127.0.0.1:$CPORT" \
	>>"$T/etcd.log" 2>&1 &
ETCD_PID=$!
ectl() { ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$CPORT" --command-timeout=3s "$@"; }
wait_for 60 ectl endpoint health || fail "etcd did not start"
# n1 talks to etcd through a proxy that, while $T/slow-deletes exists, logs
# each delete txn (one line) to $T/deletes and holds it 2.5 s.
XPORT=$(free_port)
python3 - "$XPORT" "$CPORT" "$T/slow-deletes" "$T/deletes" >>"$T/proxy.log" 2>&1 <<'PY' &
import os, re, socket, sys, threading, time
lport, dport, flag, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def recv(c, buf):
    d = c.recv(65536)
    if not d:
        raise EOFError
    return buf + d
def up(c, u):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                buf = recv(c, buf)
            head, buf = buf.split(b"\r\n\r\n", 1)
            m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            n = int(m.group(1)) if m else 0
            if re.search(rb"(?i)\r\nexpect:", head):  # the body comes after "100 Continue"
                u.sendall(head + b"\r\n\r\n")
                head = b""
            else:
                while len(buf) < n:
                    buf = recv(c, buf)
                body = buf[:n]
                if b"requestDeleteRange" in body and os.path.exists(flag):
                    with open(log, "a") as f:
                        f.write(body.decode(errors="replace") + "\n")
                    time.sleep(2.5)
                u.sendall(head + b"\r\n\r\n")
            while n > 0:
                if not buf:
                    buf = recv(c, buf)
                k = min(n, len(buf)); u.sendall(buf[:k]); n -= k; buf = buf[k:]
    except (OSError, EOFError):
        pass
    for s in (c, u):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def down(u, c):
    try:
        while True:
            d = u.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    for s in (c, u):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport)); ls.listen(64)
while True:
    c, _ = ls.accept()
    try: u = socket.create_connection(("127.0.0.1", dport))
    except OSError:
        c.close(); continue
    threading.Thread(target=up, args=(c, u), daemon=True).start()
    threading.Thread(target=down, args=(u, c), daemon=True).start()
PY
PROXY_PID=$!
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$XPORT" || fail "the proxy does not listen"

secs=30
[ -z "${PADDOCK_DAEMON_WRAPPER:-}" ] || secs=120
mkdir -p "$T/n1/services" "$T/n1/state" "$T/n1/run"
printf 'budget: {memory: 256M, reserve: 0}\nfleet:\n  etcd: [http://127.0.0.1:%s]\n  node: n1\n  lease_ttl: %ss\n' \
	"$XPORT" "$TTL" >"$T/n1/paddock.yaml"
${PADDOCK_DAEMON_WRAPPER:-} "$PADDOCKD" -f -v -c "$T/n1/paddock.yaml" -S "$T/n1/services" \
	--state-dir "$T/n1/state" --runtime-dir "$T/n1/run" --cgroup-root "$CGROOT/n1" \
	>>"$T/n1/daemon.log" 2>&1 &
NODE_PID=$!
wait_for $secs test -S "$T/n1/run/control.sock" || fail "n1 did not open its socket"
record() { ectl get /paddock/nodes/n1 --print-value-only; }
joined() { record | grep -q committed; }
wait_for $secs joined || fail "n1 did not register in etcd"
nctl() { "$PADDOCKCTL" -s "$T/n1/run/control.sock" "$@"; }
runs() { nctl list --json | jq -e --arg n "$1" '.[] | select(.name == $n and .state == "running")'; }
claimed() { [ -n "$(ectl get "/paddock/claims/$1" --print-value-only)" ]; }
# apply NAME MIB COUNT [EXTRA]: a fleet spec of its own (its own dir: others keep their revision)
apply() {
	mkdir -p "$T/fleet/$1"
	printf 'services:\n  %s:\n    command: ["/bin/sh", "-c", "trap '"'"'sleep 1.5; exit 0'"'"' TERM; while :; do sleep 1; done"]\n    resources: {memory: {max: %sM}}\n    placement: {count: %s%s}\n' \
		"$1" "$2" "$3" "${4:-}" >"$T/fleet/$1/$1.yaml"
	nctl fleet apply "$T/fleet/$1" >/dev/null || fail "fleet apply $1 failed"
}
# t_of TYPE SERVICE: the time of SERVICE's last TYPE event on n1
t_of() {
	jq -s --arg t "$1" --arg s "$2" '[.[] | select(.type == $t and .service == $s) | .time_ms] | max // 0' \
		"$T/n1/state/events.jsonl"
}

# --- an instance still stopping counts until it is gone --------------------------------
apply slow 160 1
wait_for 60 runs slow@0 || fail "n1 does not run slow@0"
apply other 160 1
apply tick 16 1
wait_for 60 runs tick@0 || fail "n1 does not run tick@0 (16 MiB beside 160 of 256)"
claimed other/0 && fail "n1 claimed other@0: 160 MiB beside slow's 160 MiB, over its 256 MiB budget"
nctl fleet rm slow >/dev/null || fail "fleet rm slow failed"
wait_for 60 runs other@0 || fail "n1 did not run other@0 once slow@0 was gone"
slow_exited() { [ "$(t_of exit slow@0)" -gt 0 ]; }
wait_for 60 slow_exited || fail "n1's event log has no exit of slow@0"
exited=$(t_of exit slow@0) started=$(t_of start other@0)
[ "$started" -ge "$exited" ] ||
	fail "other@0 started at $started while slow@0 was still stopping (it exited at $exited)"
pass "a stopping instance counts until it exited: other@0 started $((started - exited)) ms after slow@0 exited"
nctl fleet rm other tick >/dev/null || fail "fleet rm other tick failed"

# --- spread: an instance still stopping is still one on this node -----------------------
sp_running() { nctl list --json | jq '[.[] | select((.name | startswith("sp@")) and .state == "running")] | length'; }
one_sp() { [ "$(sp_running)" = 1 ]; }
apply sp 16 2 ", spread: true"
wait_for 60 one_sp || fail "n1 does not run one instance of sp: $(sp_running)"
first=$(nctl list --json | jq -r '.[] | select((.name | startswith("sp@")) and .state == "running") | .name')
stopped=$(now_ms)
apply sp 16 2 ", spread: true" # a new revision: the instance restarts from it
restarted() { [ "$(t_of start "$first")" -gt "$stopped" ] || [ "$(t_of exit "$first")" -gt "$stopped" ]; }
wait_for 60 restarted || fail "n1 did not stop $first for sp's new revision"
wait_for 60 one_sp || fail "n1 does not run one instance of sp again: $(sp_running)"
# Every start/exit of sp@* on n1, in time order: never two running at once.
overlap=$(jq -s '[.[] | select(((.service // "") | startswith("sp@")) and (.type == "start" or .type == "exit"))]
	| sort_by(.time_ms) | reduce .[] as $e ({n: 0, max: 0};
		.n += (if $e.type == "start" then 1 else -1 end) | .max = ([.max, .n] | max)) | .max' \
	"$T/n1/state/events.jsonl")
[ "$overlap" = 1 ] || fail "n1 ran $overlap instances of the spread spec sp at once: $(jq -c 'select((.service // "" | startswith("sp@")) and (.type == "start" or .type == "exit")) | [.service, .type, .time_ms]' "$T/n1/state/events.jsonl")"
pass "spread: no second instance of sp while $first was still stopping"
nctl fleet rm sp >/dev/null || fail "fleet rm sp failed"

# --- local services share the budget ----------------------------------------------------
nctl run --name big --memory-max 200M -- /bin/sleep 100000 >/dev/null || fail "paddockctl run big failed"
wait_for 60 runs big || fail "the local service big does not run"
local_is() { record | jq -e --argjson m "$1" '.local.memory == $m*1048576'; }
wait_for 30 local_is 200 || fail "n1's record does not count big's 200 MiB as local: $(record)"
mkdir -p "$T/fleet/two"
for s in fb:64 fs:16; do
	printf 'services:\n  %s:\n    command: ["/bin/sleep", "100000"]\n    resources: {memory: {max: %sM}}\n' \
		"${s%:*}" "${s#*:}" >"$T/fleet/two/${s%:*}.yaml"
done
nctl fleet apply "$T/fleet/two" >/dev/null || fail "fleet apply fb fs failed"
wait_for 60 runs fs@0 || fail "n1 does not run fs@0 (16 MiB beside big's 200 of 256)"
claimed fb/0 && fail "n1 claimed fb@0: 64 MiB beside big's 200 and fs's 16, over its 256 MiB budget"
committed_is() { record | jq -e --argjson m "$1" '.committed.memory == $m*1048576 and .local.memory == 200*1048576'; }
wait_for 30 committed_is 216 || fail "n1's record does not say committed 216 MiB, local 200 MiB: $(record)"
row=$(nctl fleet nodes | awk '$1 == "n1"')
[[ "$(awk '{print $3}' <<<"$row")" == 216* ]] && [[ "$(awk '{print $4}' <<<"$row")" == 200* ]] ||
	fail "paddockctl fleet nodes does not show 216 MiB committed, 200 of it local: $(nctl fleet nodes)"
pass "a local service counts: n1 claimed 16 MiB but not 64 beside its 200 MiB; its record says so"
nctl stop big >/dev/null || fail "paddockctl stop big failed"
wait_for 60 runs fb@0 || fail "n1 did not claim fb@0 once big stopped: $(record)"
wait_for 30 local_is 0 || fail "n1's record still counts a stopped local service: $(record)"
pass "a stopped local service no longer counts: n1 claimed fb@0"
nctl fleet rm fb fs >/dev/null || fail "fleet rm fb fs failed"

# --- a claim's release is sent once, however slow etcd answers ---------------------------
touch "$T/slow-deletes"
apply rel 16 1
wait_for 60 runs rel@0 || fail "n1 does not run rel@0"
nctl fleet rm rel >/dev/null || fail "fleet rm rel failed"
key=$(printf '/paddock/claims/rel/0' | base64 -w0)
deletes() { grep -c -- "$key" "$T/deletes" 2>/dev/null || echo 0; }
sent() { [ "$(deletes)" -ge 1 ]; }
wait_for 60 sent || fail "n1 did not release rel@0's claim"
apply poke 16 1 # a change: n1 reads the keyspace again while the delete is held
wait_for 60 runs poke@0 || fail "n1 does not run poke@0"
gone() { ! claimed rel/0; }
wait_for 60 gone || fail "rel@0's claim is still there"
rm -f "$T/slow-deletes"
[ "$(deletes)" = 1 ] || fail "n1 sent the release of rel@0's claim $(deletes) times while etcd was slow"
pass "a claim's release is sent once while etcd is slow to answer it"
nctl fleet rm poke >/dev/null || fail "fleet rm poke failed"
