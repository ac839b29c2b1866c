#!/bin/bash
# Fleet mode: a planned shutdown hands over at once (issue 21). One etcd
# member on loopback, two paddockd nodes, lease TTL 10 s.
#   - SIGTERM to the node running every fleet instance: once they have
#     stopped it revokes its lease, and the other node runs them well
#     before the TTL would have run out (< TTL/2 after the first exits)
#   - the lease goes only after the last instance ended (its event log),
#     and no instance ever ran on both nodes at once (both event logs)
#   - its state file names no lease for the next start to revoke
#   - the other node killed -9 and restarted with a broken member (it
#     closes every connection unanswered) first in its list: that failure
#     is not taken for a revoke; the predecessor's lease is revoked through
#     the next member, long before its TTL
#   - a watch etcd cancels (its start revision compacted) is started
#     again, with a fresh read: a spec put afterwards runs at once, not
#     at the next periodic read; watches ask for a leader (hasleader)
#   - a member that ends every watch at once (HTTP 503) is not asked again
#     in a loop; once it serves watches again, changes reach the node
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd etcd; need_cmd etcdctl; need_cmd jq; need_cmd python3; setup

TTL=15
NODE_PIDS=()
ETCD_PID=""
BROKEN_PID=""
PROXY_PID=""

leave_cleanup() {
	local rc=$?
	for i in 1 2; do
		[ -n "$T" ] && [ "$rc" != 0 ] && { echo "--- n$i: paddockd log (last 25 lines) ---" >&2; tail -n 25 "$T/n$i/daemon.log" >&2 2>/dev/null; }
	done
	for p in "${NODE_PIDS[@]}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; done
	for p in "${NODE_PIDS[@]}"; do
		[ -n "$p" ] || continue
		wait_for 30 bash -c "! kill -0 $p" || kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -z "$ETCD_PID" ] || { kill -9 "$ETCD_PID"; wait "$ETCD_PID"; } 2>/dev/null
	[ -z "$BROKEN_PID" ] || { kill "$BROKEN_PID"; wait "$BROKEN_PID"; } 2>/dev/null
	[ -z "$PROXY_PID" ] || { kill "$PROXY_PID"; wait "$PROXY_PID"; } 2>/dev/null
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = paddock-fdstore ] || continue
		case "$(readlink "$p/cwd" 2>/dev/null)" in "$T"/n?/run) kill -9 "${p#/proc/}" 2>/dev/null ;; esac
	done
	(exit $rc)
	cleanup
}
trap leave_cleanup EXIT

CPORT=$(free_port) PPORT=$(free_port)
etcd --name e1 --data-dir "$T/etcd" --initial-cluster "e1=http://127.0.0.1:$PPORT" \
	--listen-peer-urls "http://127.0.0.1:$PPORT" --initial-advertise-peer-urls "http://127.0.0.1:$PPORT" \
	--listen-client-urls "http://127.0.0.1:$CPORT" --advertise-client-urls "http://127.0.0.1:$CPORT" \
	>>"$T/etcd.log" 2>&1 &
ETCD_PID=$!
ectl() { ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$CPORT" --command-timeout=3s "$@"; }
wait_for 60 ectl endpoint health || fail "etcd did not start"

# start_node N [ENDPOINTS [LABELS]]
start_node() {
	local i=$1 eps=${2:-http://127.0.0.1:$CPORT} labels=${3:-} secs=30
	mkdir -p "$T/n$i/services" "$T/n$i/state" "$T/n$i/run"
	printf 'budget: {memory: 256M, reserve: 0}\nfleet:\n  etcd: [%s]\n  node: n%s\n  lease_ttl: %ss\n  labels: {%s}\n' \
		"$eps" "$i" "$TTL" "$labels" >"$T/n$i/paddock.yaml"
	${PADDOCK_DAEMON_WRAPPER:-} "$PADDOCKD" -f -v -c "$T/n$i/paddock.yaml" -S "$T/n$i/services" \
		--state-dir "$T/n$i/state" --runtime-dir "$T/n$i/run" --cgroup-root "$CGROOT/n$i" \
		>>"$T/n$i/daemon.log" 2>&1 &
	NODE_PIDS[$i]=$!
	[ -z "${PADDOCK_DAEMON_WRAPPER:-}" ] || secs=120
	wait_for $secs test -S "$T/n$i/run/control.sock" || fail "node n$i did not open its socket"
	node_joined() { ectl get "/paddock/nodes/n$1" --print-value-only | grep -q committed; }
	wait_for $secs node_joined "$i" || fail "node n$i did not register in etcd"
}
nctl() { local i=$1; shift; "$PADDOCKCTL" -s "$T/n$i/run/control.sock" "$@"; }
running_on() { nctl "$1" list --json 2>/dev/null | jq -r '[.[] | select((.name | startswith("lv@")) and .state == "running")] | length'; }

# n1 alone first, so it holds all three instances; each takes 0.3 s to stop.
start_node 1
mkdir -p "$T/fleet"
cat >"$T/fleet/lv.yaml" <<'EOF'
services:
  lv:
    command: ["/bin/sh", "-c", "trap 'sleep 0.3; exit 0' TERM; while :; do sleep 1; done"]
    resources: {memory: {max: 16M}}
    placement: {count: 3}
EOF
nctl 1 fleet apply "$T/fleet" >/dev/null || fail "fleet apply failed"
three_on() { [ "$(running_on "$1")" = 3 ]; }
wait_for 60 three_on 1 || fail "n1 does not run lv's 3 instances: $(running_on 1)"
start_node 2
[ "$(running_on 2)" = 0 ] || fail "n2 runs instances n1 holds"
pass "n1 runs the 3 instances, n2 joined with none"

# --- SIGTERM n1: n2 takes over at once, not after the TTL ---------------------------
kill -TERM "${NODE_PIDS[1]}"
wait_for 60 bash -c "! kill -0 ${NODE_PIDS[1]}" || fail "n1 did not exit on SIGTERM"
exited=$(now_ms)
wait "${NODE_PIDS[1]}"
rc=$?
NODE_PIDS[1]=""
[ "$rc" = 0 ] || fail "n1 exited with $rc on SIGTERM"
wait_for $((TTL + 30)) three_on 2 || fail "n2 did not take over lv's instances: $(running_on 2)"
took=$(($(now_ms) - exited))
log "n1 exited on SIGTERM; n2 runs all 3 instances $took ms later (lease TTL ${TTL}000 ms)"
[ "$took" -lt $((TTL * 1000 / 2)) ] ||
	fail "n2 took over $took ms after n1 exited: not before half the TTL; the lease was not revoked"
pass "a SIGTERM'd node's instances run elsewhere at once, not after the lease TTL"

# --- the lease went only after every instance had ended -------------------------------
ev="$T/n1/state/events.jsonl"
left=$(jq -s '[.[] | select(.type == "fleet-leave") | .time_ms] | max // 0' "$ev")
[ "$left" -gt 0 ] || fail "n1's event log has no fleet-leave"
last_exit=$(jq -s '[.[] | select(.type == "exit" and ((.service // "") | startswith("lv@"))) | .time_ms] | max // 0' "$ev")
[ "$last_exit" -gt 0 ] && [ "$last_exit" -le "$left" ] ||
	fail "n1 revoked its lease at $left, before its last instance exited at $last_exit"
grep -q '"lease":"0"' "$T/n1/state/fleet.json" || fail "n1's state file still names a lease: $(cat "$T/n1/state/fleet.json")"
# Every node's start/exit events per instance become intervals; none may overlap.
for i in 1 2; do
	jq -c --arg n "n$i" 'select((.service // "" | startswith("lv@")) and (.type == "start" or .type == "exit")) | [.service, .type, .time_ms, $n]' "$T/n$i/state/events.jsonl"
done | python3 -c '
import json, sys
iv, open_ = {}, {}
for line in sys.stdin:
    svc, typ, t, node = json.loads(line)
    if typ == "start":
        open_[(svc, node)] = t
    elif (svc, node) in open_:
        iv.setdefault(svc, []).append((open_.pop((svc, node)), t, node))
for (svc, node), t in open_.items():
    iv.setdefault(svc, []).append((t, 1 << 62, node))
bad = 0
for svc, l in iv.items():
    l.sort()
    for a, b in zip(l, l[1:]):
        if a[2] != b[2] and b[0] < a[1]:
            print("%s ran on %s and %s at once (%d < %d)" % (svc, a[2], b[2], b[0], a[1]))
            bad += 1
sys.exit(1 if bad else 0)
' || fail "an instance ran on two nodes at once"
pass "the lease was revoked after the last instance exited; no instance ran twice"

# --- a failed revoke is not a revoke ------------------------------------------------
# n2's daemon is killed -9: its instances run on, unsupervised, under its lease.
BPORT=$(free_port)
python3 - "$BPORT" >"$T/broken.log" 2>&1 <<'PY' &
import socket, sys
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1]))); ls.listen(64)
while True:
    c, _ = ls.accept()
    c.close()  # no answer at all: curl's "empty reply" or a reset
PY
BROKEN_PID=$!
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$BPORT" || fail "the broken member does not listen"
lease=$(jq -r .lease "$T/n2/state/fleet.json")
[ "${lease:-0}" != 0 ] || fail "n2's state file names no lease"
hex=$(printf '%x' "$lease") hex16=$(printf '%016x' "$lease") # as paddockd and etcdctl write it
ectl lease list | grep -qx "$hex16" || fail "etcd does not list n2's lease $hex"
killed=$(now_ms)
{ kill -9 "${NODE_PIDS[2]}"; wait "${NODE_PIDS[2]}"; } 2>/dev/null
NODE_PIDS[2]=""
start_node 2 "http://127.0.0.1:$BPORT,http://127.0.0.1:$CPORT"
lease_gone() { ! ectl lease list | grep -qx "$hex16"; }
wait_for $((TTL + 30)) lease_gone || fail "n2's old lease $hex never went"
took=$(($(now_ms) - killed))
log "n2 killed -9 and restarted through a broken member: its old lease gone $took ms after the kill (TTL ${TTL}000 ms)"
[ "$took" -lt $((TTL * 1000 / 2)) ] ||
	fail "n2's old lease went $took ms after the kill: it expired, the failed revoke was taken for one"
grep -q "cannot revoke lease $hex" "$T/n2/daemon.log" || fail "n2's first revoke did not go to the broken member"
wait_for 60 three_on 2 || fail "n2 does not run lv's 3 instances again: $(running_on 2)"
pass "a revoke that got no answer is tried again, through the next member"

# --- a watch etcd cancels is started again ------------------------------------------
# n1 comes back through a proxy that, once, asks for its watch from revision 1,
# compacted: etcd answers "created", then "canceled", and keeps the stream open.
rev=$(ectl get /paddock/ --prefix -w json | jq -r .header.revision)
ectl compact "$rev" >/dev/null || fail "cannot compact etcd at $rev"
XPORT=$(free_port)
touch "$T/cancel-next-watch"
# start_proxy: etcd through a proxy that logs each watch request's head, asks
# for the next watch from revision 1 while $T/cancel-next-watch exists, and
# answers every watch with HTTP 503 itself while $T/fail-watches exists.
start_proxy() {
python3 - "$XPORT" "$CPORT" "$T/cancel-next-watch" "$T/fail-watches" >>"$T/proxy.log" 2>&1 <<'PY' &
import os, re, socket, sys, threading
lport, dport, trigger, failing = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def down(u, c):
    try:
        while (d := u.recv(65536)):
            c.sendall(d)
    except OSError:
        pass
    for s in (c, u):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def recv_more(c, buf):
    d = c.recv(65536)
    if not d:
        raise EOFError
    return buf + d
def up(c, u):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                buf = recv_more(c, buf)
            head, buf = buf.split(b"\r\n\r\n", 1)
            m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            n = int(m.group(1)) if m else 0
            if b" /v3/watch " in head.split(b"\r\n", 1)[0]:
                while len(buf) < n:
                    buf = recv_more(c, buf)
                body, buf = buf[:n], buf[n:]
                print(head.decode(errors="replace"), flush=True)
                if os.path.exists(failing):
                    no = b'{"error":"etcdserver: no leader","code":14}'
                    c.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                              b"Content-Length: %d\r\n\r\n%s" % (len(no), no))
                    continue
                if os.path.exists(trigger):
                    os.unlink(trigger)
                    body = body.replace(b'"create_request":{', b'"create_request":{"start_revision":"1",', 1)
                    head = re.sub(rb"(?i)(\r\ncontent-length: *)\d+", lambda x: x.group(1) + str(len(body)).encode(), head)
                u.sendall(head + b"\r\n\r\n" + body)
                continue
            u.sendall(head + b"\r\n\r\n")
            while n > 0:  # the body as it comes (a large one may wait for "100 Continue")
                if not buf:
                    buf = recv_more(c, buf)
                u.sendall(buf[:n]); k = min(n, len(buf)); n -= k; buf = buf[k:]
    except (OSError, EOFError):
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
}
start_proxy
start_node 1 "http://127.0.0.1:$XPORT" "zone: a"
wait_for 30 test ! -e "$T/cancel-next-watch" || fail "n1 asked for no watch"
grep -qi '^Grpc-Metadata-hasleader: true' "$T/proxy.log" || fail "n1's watch does not ask for a leader: $(head -8 "$T/proxy.log")"
wait_for 30 grep -q "cancelled the watch" "$T/n1/daemon.log" || fail "n1 did not notice that etcd cancelled its watch"
# Specs only n1 may run, written behind its back: only its watch tells it. w1
# first: claiming it makes n1 read the keyspace, and whatever the cancelled
# watch let through is then spent; w2 must still reach it at once.
put_spec() {
	printf 'services:\n  %s:\n    command: ["/bin/sleep", "100000"]\n    resources: {memory: {max: 16M}}\n    placement: {count: 1, constraints: {zone: a}}\n' "$1" |
		ectl put "/paddock/specs/$1" >/dev/null || fail "cannot put spec $1"
}
runs_on_1() { nctl 1 list --json | jq -e --arg n "$1@0" '.[] | select(.name == $n and .state == "running")'; }
put_spec w1
wait_for $((TTL + 30)) runs_on_1 w1 || fail "n1 never ran w1@0"
put_spec w2
put=$(now_ms)
wait_for $((TTL + 30)) runs_on_1 w2 || fail "n1 never ran w2@0"
took=$(($(now_ms) - put))
log "etcd cancelled n1's watch; a spec put later ran on n1 $took ms after the put (periodic read every ${TTL}000 ms)"
[ "$took" -lt $((TTL * 1000 / 2)) ] ||
	fail "n1 ran w2@0 $took ms after the put: its watch stayed cancelled, only the periodic read saw it"
pass "a watch etcd cancelled is started again: changes reach the node at once"

# --- a member that fails every watch at once ----------------------------------------
# The proxy restarts (n1's watch ends with the connection) and answers every
# watch with 503 itself: n1 must not ask again in a loop.
touch "$T/fail-watches"
{ kill "$PROXY_PID"; wait "$PROXY_PID"; } 2>/dev/null
start_proxy
failed=$(now_ms)
watches() { grep -c '^POST /v3/watch ' "$T/proxy.log"; }
w0=$(watches)
many_watches() { [ $(($(watches) - w0)) -gt 30 ]; }
wait_for 5 many_watches && fail "n1 asked for $(($(watches) - w0)) watches in $(($(now_ms) - failed)) ms from a member that fails them at once"
n=$(($(watches) - w0))
[ "$n" -ge 2 ] || fail "n1 did not ask for its watch again after it ended ($n requests)"
log "a member failing every watch: n1 asked $n times in $(($(now_ms) - failed)) ms"
rm -f "$T/fail-watches"
put_spec w3
wait_for $((TTL + 30)) runs_on_1 w3 || fail "n1 never ran w3@0"
put_spec w4
put=$(now_ms)
wait_for $((TTL + 30)) runs_on_1 w4 || fail "n1 never ran w4@0"
took=$(($(now_ms) - put))
[ "$took" -lt $((TTL * 1000 / 2)) ] || fail "n1 ran w4@0 $took ms after the put: it watches no more"
pass "a member that fails every watch is asked again calmly; once it serves them, changes reach the node ($took ms)"
