#!/bin/bash
# The HTTP API (issue 20), with curl against a live paddockd inside a
# network namespace this test creates: a tokens file others may read, or
# with a bad line, stops the daemon with the file named (and no token
# quoted); the OpenAPI document passes a real validator; every route with
# a read and an operate token, 401/403/404/405/413/422/503 and an idle
# client timed out; stop/start/restart/freeze effects read back with
# paddockctl status --json and PATCH limits from cgroupfs; SSE events and
# logs receive what happens after they began; cookie logins need the CSRF
# header; then TLS on 127.0.0.1 with a CA made here, and plain HTTP on the
# TLS port refused. OpenSSL is mapped only into the daemon serving TLS, and
# a libssl that cannot be loaded stops it with api.tls and the library named.
if [ -z "${PADDOCK_IN_NETNS:-}" ]; then
	command -v unshare >/dev/null || { echo "needs unshare" >&2; exit 77; }
	exec unshare -n env PADDOCK_IN_NETNS=1 bash "$0" "$@"
fi
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; need_cmd curl; need_cmd python3; need_cmd ip
VALIDATE=${OPENAPI_VALIDATOR:-/opt/paddock-npm/node_modules/.bin/validate-api}
[ -x "$VALIDATE" ] || fail "no OpenAPI validator at $VALIDATE (contrib/setup.sh installs it)"
setup
ip link set lo up
make_rootfs "$T/root"
M=$((1024 * 1024))
# tls_libs PID: the OpenSSL libraries (and libevent's for it) mapped into PID.
tls_libs() { grep -oE '[^/ ]*(libssl|libcrypto|libevent_openssl)[^/ ]*$' "/proc/$1/maps" | sort -u; }
RT=read-0123456789abcdefRT
OT=operate-0123456789abcdefOT

cat >"$T/services/api.yaml" <<YAML
services:
  db:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "echo db says hello; exec sleep 100000"]
    resources: {memory: {max: 64M}}
  ticker:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "i=0; while true; do i=\$\$((i+1)); echo tick \$\$i; sleep 0.2; done"]
YAML

# --- the tokens file is checked before anything listens -------------------------
printf '# who may do what\nread %s\n\noperate %s\n' "$RT" "$OT" >"$T/tokens"
chmod 640 "$T/tokens"
cat >"$T/config.yaml" <<YAML
api:
  listen: $T/run/api.sock
  tokens: $T/tokens
  max_clients: 3
  idle_timeout: 2s
  max_body: 1KiB
YAML
timeout 60 "$PADDOCKD" -f -S "$T/services" --state-dir "$T/state" --runtime-dir "$T/run" \
	--cgroup-root "$CGROOT" -c "$T/config.yaml" >"$T/refused.log" 2>&1 &&
	fail "paddockd started with a group-readable tokens file"
grep -q "tokens file $T/tokens is readable or writable by group or others" "$T/refused.log" ||
	{ cat "$T/refused.log"; fail "the refusal does not name the tokens file"; }
chmod 600 "$T/tokens"
chown nobody "$T/tokens"
timeout 60 "$PADDOCKD" -f -S "$T/services" --state-dir "$T/state" --runtime-dir "$T/run" \
	--cgroup-root "$CGROOT" -c "$T/config.yaml" >"$T/refused.log" 2>&1 &&
	fail "paddockd started with a tokens file owned by nobody"
grep -q "tokens file $T/tokens is owned by uid $(id -u nobody), not by paddockd's uid 0" "$T/refused.log" ||
	{ cat "$T/refused.log"; fail "a tokens file owned by another user is not refused clearly"; }
chown root "$T/tokens"
cp "$T/tokens" "$T/tokens.good"
printf 'read %s\nwrite %s\n' "$RT" "secret-$OT" >"$T/tokens"
timeout 60 "$PADDOCKD" -f -S "$T/services" --state-dir "$T/state" --runtime-dir "$T/run" \
	--cgroup-root "$CGROOT" -c "$T/config.yaml" >"$T/refused.log" 2>&1 &&
	fail "paddockd started with a bad tokens line"
grep -q "tokens file $T/tokens: line 2: the role must be 'read' or 'operate'" "$T/refused.log" ||
	{ cat "$T/refused.log"; fail "a bad tokens line is not reported with file:line"; }
! grep -q "secret-" "$T/refused.log" || fail "the error quotes a token"
cp "$T/tokens.good" "$T/tokens"
pass "tokens files readable by others, owned by another user or with a bad line refused, naming file and line"

# TCP without TLS is a config error at FILE:LINE:COLUMN.
printf 'api:\n  listen: "127.0.0.1:8443"\n  tokens: %s\n' "$T/tokens" >"$T/bad.yaml"
"$PADDOCKD" -n -c "$T/bad.yaml" -S "$T/services" >"$T/check.out" 2>&1 && fail "TCP listen without tls accepted"
grep -q "bad.yaml:2:11: .*TCP: it needs 'api.tls'" "$T/check.out" || { cat "$T/check.out"; fail "no FILE:LINE:COLUMN for listen without tls"; }
pass "a TCP listen without tls refused at file:line:column"

start_daemon -c "$T/config.yaml"
wait_for 60 test -S "$T/run/api.sock" || fail "no API socket"
libs=$(tls_libs "$DAEMON_PID")
[ -z "$libs" ] || fail "paddockd without api.tls maps:" $libs
pass "no libssl, libcrypto or libevent_openssl mapped without api.tls"
wait_for 20 state_is db running || fail "db did not start"
wait_for 20 state_is ticker running || fail "ticker did not start"

# api METHOD PATH [TOKEN] [CURL ARGS...]: prints the body, then the status on its own line.
api() {
	local m=$1 p=$2 tok=${3:-}
	shift 3 2>/dev/null || shift $#
	curl -s --max-time 30 --unix-socket "$T/run/api.sock" -X "$m" \
		${tok:+-H "Authorization: Bearer $tok"} "$@" -w '\n%{http_code}' "http://paddock$p"
}
status() { tail -n 1 <<<"$1"; }
body() { sed '$d' <<<"$1"; }
# jqt [JQ ARGS] FILTER: FILTER is true of stdin (jq -e passes on no input at all).
jqt() { [ "$(jq -r "$@" 2>/dev/null)" = true ]; }
expect() { # expect CODE WHAT METHOD PATH TOKEN [ARGS...]
	local code=$1 what=$2 out
	shift 2
	out=$(api "$@")
	[ "$(status "$out")" = "$code" ] || fail "$what: $1 $2 answered $(status "$out"), not $code: $(body "$out" | head -c 300)"
	body "$out"
}

# --- the document --------------------------------------------------------------------
expect 200 "openapi.json without a token" GET /v1/openapi.json "" >"$T/openapi.json"
"$VALIDATE" "$T/openapi.json" >"$T/validate.out" 2>&1
grep -q '"valid": true' "$T/validate.out" || { cat "$T/validate.out"; fail "the OpenAPI document does not validate"; }
for p in /v1/services /v1/services/{name} /v1/services/{name}/history /v1/services/{name}/logs \
	/v1/services/{name}/start /v1/services/{name}/stop /v1/services/{name}/restart \
	/v1/services/{name}/kill /v1/services/{name}/freeze /v1/services/{name}/thaw \
	/v1/services/{name}/limits /v1/reload /v1/images /v1/events /v1/openapi.json; do
	jqt --arg p "$p" '.paths[$p] | type == "object"' <"$T/openapi.json" || fail "OpenAPI document lacks $p"
done
pass "/v1/openapi.json served without a token, valid, with every route"

# --- auth ------------------------------------------------------------------------------
out=$(expect 401 "no token" GET /v1/services "")
[ "$(jq -r .code <<<"$out")" = EACCES ] || fail "401 body: $out"
expect 401 "unknown token" GET /v1/services "read-0123456789abcdefXX" >/dev/null
expect 401 "a token one character short" GET /v1/services "${RT%?}" >/dev/null
expect 401 "no token on an operate route" POST /v1/services/db/stop "" >/dev/null
pass "401 without a token and for unknown ones"

# --- read routes -----------------------------------------------------------------------
out=$(expect 200 list GET /v1/services "$RT")
[ "$(jq -r '[.[].name] | sort | join(",")' <<<"$out")" = db,ticker ] || fail "list: $out"
[ "$(jq -r '.[] | select(.name == "db") | .main_pid' <<<"$out")" = "$(main_pid db)" ] || fail "list's main_pid differs from paddockctl's"
# Asked for gzip, the same list gzipped (a build racing a change answers plain: retry).
gz_list() {
	api GET /v1/services "$RT" -H "Accept-Encoding: br, gzip" -D "$T/gz.h" -o "$T/gz.body" >/dev/null &&
		grep -qi '^content-encoding: gzip' "$T/gz.h" &&
		[ "$(gzip -dc "$T/gz.body" | jq -r '[.[].name] | sort | join(",")')" = db,ticker ]
}
wait_for 10 gz_list || fail "GET /v1/services with Accept-Encoding: gzip: $(cat "$T/gz.h")"
api GET /v1/services "$RT" -H "Accept-Encoding: gzip;q=0" -D "$T/plain.h" -o "$T/plain.body" >/dev/null
! grep -qi '^content-encoding' "$T/plain.h" && jqt 'length == 2' <"$T/plain.body" || fail "gzip;q=0 answered gzipped"
out=$(expect 200 "list by name" GET "/v1/services?names=db" "$RT")
[ "$(jq -r '[.[].name] | join(",")' <<<"$out")" = db ] || fail "list?names=db: $out"
expect 404 "list of an unknown name" GET "/v1/services?names=nope" "$RT" >/dev/null
out=$(expect 200 status GET /v1/services/db "$RT")
[ "$(jq -r '.[0].name' <<<"$out")" = db ] || fail "status: $out"
[ "$(jq -c '.[0].limits' <<<"$out")" = "$(ctl status db --json | jq -c '.[0].limits')" ] || fail "status limits differ from paddockctl's"
expect 404 "status of an unknown service" GET /v1/services/nope "$RT" >/dev/null
expect 404 "an unknown route" GET /v1/nope "$RT" >/dev/null
expect 404 "an unknown action" POST /v1/services/db/explode "$OT" >/dev/null
expect 404 "a path outside /v1/ (no dashboard)" GET /no-such-page "$RT" >/dev/null
out=$(api GET /v1/services/db/history "$RT")
case $(status "$out") in
200) jqt '.points | type == "array"' <<<"$(body "$out")" || fail "history: $(body "$out")" ;;
404) [ "$(body "$out" | jq -r .code)" = ENOENT ] || fail "history 404 body: $(body "$out")" ;;
*) fail "history answered $(status "$out")" ;;
esac
expect 404 "history of an unknown service" GET /v1/services/nope/history "$RT" >/dev/null
out=$(expect 200 images GET /v1/images "$RT")
jqt 'type == "array"' <<<"$out" || fail "images: $out"
got_logs() { expect 200 logs GET "/v1/services/db/logs?lines=5" "$RT" | jq -r .text | grep -q 'db says hello'; }
wait_for 10 got_logs || fail "logs lack db's output"
expect 400 "logs with a bad lines" GET "/v1/services/db/logs?lines=many" "$RT" >/dev/null
out=$(expect 200 events GET "/v1/events?service=db" "$RT")
jqt 'map(select(.service == "db" and .type == "start")) | length >= 1' <<<"$out" || fail "events: $out"
expect 404 "events of an unknown service" GET "/v1/events?service=nope" "$RT" >/dev/null
pass "list, status, history, logs, images and events answer as paddockctl does"

# --- 403, 405, 413 --------------------------------------------------------------------
pid0=$(main_pid db)
for a in start stop restart kill freeze thaw; do
	out=$(expect 403 "read token on $a" POST "/v1/services/db/$a" "$RT")
	[ "$(jq -r .code <<<"$out")" = EPERM ] || fail "403 body: $out"
done
expect 403 "read token on limits" PATCH /v1/services/db/limits "$RT" -d '{"memory.max":"32M"}' >/dev/null
expect 403 "read token on reload" POST /v1/reload "$RT" >/dev/null
[ "$(svc_state db)" = running ] && [ "$(main_pid db)" = "$pid0" ] || fail "a refused call changed db"
[ "$(cat "$(service_cgdir db memory)/$(is_v1 && echo memory.limit_in_bytes || echo memory.max)")" = $((64 * M)) ] ||
	fail "a refused PATCH changed db's memory limit"
pass "403 for a read token on every operate route, nothing changed"
out=$(api DELETE /v1/services/db "$OT" -D "$T/headers")
[ "$(status "$out")" = 405 ] || fail "DELETE answered $(status "$out")"
grep -qi '^Allow: GET' "$T/headers" || fail "405 without Allow"
expect 405 "GET on reload" GET /v1/reload "$OT" >/dev/null
expect 405 "POST on a service" POST /v1/services/db "$OT" >/dev/null
big=$(head -c 4096 /dev/zero | tr '\0' x)
expect 413 "a body over max_body" PATCH /v1/services/db/limits "$OT" -d "{\"memory.max\":\"$big\"}" >/dev/null
pass "405 with Allow, 413 past max_body"

# --- operate routes, effects read back ----------------------------------------------------
out=$(expect 200 stop POST /v1/services/db/stop "$OT")
[ "$(jq -r '.[0].state' <<<"$out")" = stopped ] || fail "stop answered before db stopped: $out"
[ "$(ctl status db --json | jq -r '.[0].state')" = stopped ] || fail "db not stopped after POST stop"
# The list is cached: a change must show at once, not a tick later.
[ "$(expect 200 list GET /v1/services "$RT" | jq -r '.[] | select(.name == "db") | .state')" = stopped ] ||
	fail "GET /v1/services still shows db running after it stopped"
expect 200 start POST /v1/services/db/start "$OT" >/dev/null
wait_for 20 state_is db running || fail "db not running after POST start"
pid1=$(main_pid db)
expect 200 restart POST /v1/services/db/restart "$OT" >/dev/null
wait_for 20 state_is db running || fail "db not running after POST restart"
[ "$(main_pid db)" != "$pid1" ] || fail "restart kept the same process"
expect 200 freeze POST /v1/services/db/freeze "$OT" >/dev/null
[ "$(ctl status db --json | jq -r '.[0].frozen')" = true ] || fail "db not frozen"
expect 200 thaw POST /v1/services/db/thaw "$OT" >/dev/null
[ "$(ctl status db --json | jq -r '.[0].frozen')" = false ] || fail "db still frozen"
out=$(expect 200 "PATCH limits" PATCH /v1/services/db/limits "$OT" -d '{"memory.max": "48M", "pids.max": 40}')
memfile=$(service_cgdir db memory)/$(is_v1 && echo memory.limit_in_bytes || echo memory.max)
[ "$(cat "$memfile")" = $((48 * M)) ] || fail "memory.max in cgroupfs is $(cat "$memfile") after PATCH"
[ "$(cat "$(service_cgdir db pids)/pids.max")" = 40 ] || fail "pids.max not applied"
expect 400 "PATCH with an unknown key" PATCH /v1/services/db/limits "$OT" -d '{"memory.maxx": "1G"}' >/dev/null
expect 400 "PATCH with a body that is no JSON" PATCH /v1/services/db/limits "$OT" -d 'memory.max=1G' >/dev/null
[ "$(cat "$memfile")" = $((48 * M)) ] || fail "a refused PATCH changed memory.max"
ctl events --service db --json 2>/dev/null | jqt 'map(select(.type == "limits-changed" and (.via // "" | startswith("api")))) | length >= 1' ||
	fail "the limits-changed event does not say it came through the API"
expect 200 "PATCH reset" PATCH /v1/services/db/limits "$OT" -d '{"reset": true}' >/dev/null
[ "$(cat "$memfile")" = $((64 * M)) ] || fail "reset did not bring memory.max back to 64M"
pid2=$(main_pid db)
expect 200 kill POST /v1/services/db/kill "$OT" -d '{"signal": "SIGKILL"}' >/dev/null
wait_for 20 bash -c "! kill -0 $pid2 2>/dev/null" || fail "kill SIGKILL did not end db's process"
pass "stop, start, restart, freeze, thaw, kill and PATCH limits take effect"

# --- reload ---------------------------------------------------------------------------
cat >"$T/services/broken.yaml" <<YAML
services:
  broken:
    command: ["/bin/true"]
    restart: sometimes
YAML
out=$(expect 422 "reload with a broken spec" POST /v1/reload "$OT")
[ "$(jq -r .code <<<"$out")" = ECONFIG ] || fail "422 body: $out"
jqt --arg f "$T/services/broken.yaml" '.errors | map(select(.file == $f and .line == 4)) | length >= 1' <<<"$out" ||
	fail "422 without the error's file and line: $out"
rm "$T/services/broken.yaml"
cat >"$T/services/extra.yaml" <<YAML
services:
  extra:
    rootfs: $T/root
    command: ["/bin/sleep", "100000"]
YAML
out=$(expect 200 reload POST /v1/reload "$OT")
jqt '.added | index("extra") != null' <<<"$out" || fail "reload: $out"
wait_for 20 state_is extra running || fail "extra not started after reload"
pass "reload: 422 with every error on a broken spec, 200 and applied once fixed"

# --- Server-Sent Events --------------------------------------------------------------------
curl -s -N --unix-socket "$T/run/api.sock" -H "Authorization: Bearer $RT" \
	-D "$T/sse-ev.h" "http://paddock/v1/events?follow=1&service=db" >"$T/sse-ev" 2>/dev/null &
SSE1=$!
EXTRA_PIDS="$EXTRA_PIDS $SSE1"
wait_for 10 grep -q '^data: \[' "$T/sse-ev" || fail "no first event-stream answer"
grep -qi '^content-type: text/event-stream' "$T/sse-ev.h" || fail "events follow is not text/event-stream"
ctl restart db >/dev/null || fail "paddockctl restart failed"
new_start() { grep '^data: {' "$T/sse-ev" | jq -R 'sub("^data: "; "") | fromjson' | jq -s 'map(select(.type == "start" and .service == "db")) | length >= 1' | grep -qx true; }
wait_for 20 new_start || fail "the event stream did not carry db's new start"
curl -s -N --unix-socket "$T/run/api.sock" -H "Authorization: Bearer $RT" \
	"http://paddock/v1/services/ticker/logs?follow=1&lines=1" >"$T/sse-logs" 2>/dev/null &
SSE2=$!
EXTRA_PIDS="$EXTRA_PIDS $SSE2"
wait_for 10 grep -q '^data: {"text"' "$T/sse-logs" || fail "no first log-stream answer"
new_line() { grep '^data: {"service"' "$T/sse-logs" | head -1 | sed 's/^data: //' | jqt '.line | startswith("tick ")'; }
wait_for 20 new_line || fail "the log stream carried no new line of ticker's"
pass "SSE: events after a restart and new log lines arrive while following"
kill "$SSE1" "$SSE2"
wait "$SSE1" "$SSE2" 2>/dev/null

# A follower sending 50 MB while its stream is written must not grow
# paddockd: evhttp reads no more than one request's worth ahead.
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$DAEMON_PID/status"; }
rss0=$(rss)
python3 - "$T/run/api.sock" "$RT" >"$T/flood.out" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(30)
s.sendall(b"GET /v1/events?follow=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
          + sys.argv[2].encode() + b"\r\n\r\n")
got = b""
while b"data: " not in got:
    got += s.recv(4096)
s.settimeout(2)
sent, chunk, t = 0, b"x" * 65536, time.time()
while sent < 50 * 1024 * 1024 and time.time() - t < 30:
    try:
        sent += s.send(chunk)
    except socket.timeout:
        break  # paddockd stopped reading: what we want
    except OSError:
        break  # or closed us
# It must then close the connection (freeing its max_clients slot).
s.settimeout(30)
try:
    while s.recv(65536):
        pass
    print(sent, "closed")
except socket.timeout:
    print(sent, "open")
except OSError:
    print(sent, "closed")
PY
read -r sent how <"$T/flood.out"
[ "$how" = closed ] || fail "a follower that sent $sent bytes while followed was not closed"

rss1=$(rss)
[ $((rss1 - rss0)) -lt 20480 ] || fail "paddockd's RSS grew from ${rss0} kB to ${rss1} kB while a follower sent $sent bytes"
pass "a follower flooding its connection leaves paddockd's RSS bounded (${rss0} -> ${rss1} kB)"

# --- max_clients, idle and slow clients -----------------------------------------------------
# The followers are gone, so 3 connections may be held again (by three
# event streams, which idle_timeout leaves alone); a 4th is refused.
for i in 1 2 3; do
	curl -s -N --unix-socket "$T/run/api.sock" -H "Authorization: Bearer $RT" \
		"http://paddock/v1/events?follow=1&max=1" >"$T/hold.$i" 2>/dev/null &
	HOLD[$i]=$!
	EXTRA_PIDS="$EXTRA_PIDS ${HOLD[$i]}"
done
held() { grep -q '^data: ' "$T/hold.1" && grep -q '^data: ' "$T/hold.2" && grep -q '^data: ' "$T/hold.3"; }
wait_for 20 held || fail "could not hold 3 connections with event streams"
out=$(expect 503 "a 4th client" GET /v1/services "$RT")
[ "$(jq -r .code <<<"$out")" = EBUSY ] && grep -q max_clients <<<"$out" || fail "503 body: $out"
wait_for 10 grep -q "refusing one" "$T/daemon.log" || fail "the refusal is not logged"
# 50 more connections that never send a request: paddockd accepts a few
# to refuse, the rest wait in the backlog; its fds stay bounded.
# paddockd's fd count moves with its ticks (cgroup files): compare the
# most over 3 s before with the most over 3 s while the 50 are open.
python3 - "$T/run/api.sock" "/proc/$DAEMON_PID/fd" >"$T/idle50.out" <<'PY'
import os, socket, sys, time
def most_fds():
    most, t = 0, time.time()
    while time.time() - t < 3:  # a measurement over 3 s, not a wait for anything
        most = max(most, len(os.listdir(sys.argv[2])))
        time.sleep(0.05)
    return most
before = most_fds()
conns = []
for _ in range(50):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    conns.append(s)
print(before, most_fds())
PY
read -r fd0 most <"$T/idle50.out"
[ "$most" -le $((fd0 + 8 + 4)) ] || fail "50 idle connections past max_clients took paddockd from $fd0 to $most fds"
[ "$(grep -c "refusing one" "$T/daemon.log")" -le 3 ] || fail "every refused connection is logged"
kill "${HOLD[@]}"
wait "${HOLD[@]}" 2>/dev/null
listed() { [ "$(status "$(api GET /v1/services "$RT")")" = 200 ]; }
wait_for 60 listed || fail "clients not served again after the held connections closed"
pass "503 with a clear message past max_clients, fds bounded ($fd0 -> $most) with 50 idle clients, served again once they left"
python3 - "$T/run/api.sock" >"$T/idle.out" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(30)
t = time.time()
data = s.recv(100)
print("closed" if data == b"" else "data", round(time.time() - t, 1))
PY
read -r how secs <"$T/idle.out"
[ "$how" = closed ] || fail "an idle client got data instead of being closed"
python3 -c "import sys; sys.exit(0 if 1.5 <= $secs <= 20 else 1)" || fail "idle client closed after ${secs}s (idle_timeout 2s)"
pass "an idle client is closed after idle_timeout (${secs}s)"
# A client sending a byte every 0.5 s never trips the idle timeout, but
# never finishes its request: it is closed all the same.
python3 - "$T/run/api.sock" >"$T/slow.out" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(0.5)
t = time.time()
for c in b"GET /v1/services HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"x" * 100:
    try:
        s.send(bytes([c]))
        if s.recv(100) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
    if time.time() - t > 30:
        break
print(round(time.time() - t, 1))
PY
read -r secs <"$T/slow.out"
python3 -c "import sys; sys.exit(0 if 1.5 <= $secs <= 20 else 1)" || fail "a slow client was held ${secs}s (idle_timeout 2s)"
pass "a client trickling its request is closed after idle_timeout (${secs}s)"

# --- the dashboard's cookie ---------------------------------------------------------------
expect 200 "cookie read" GET /v1/services "" -b "paddock_token=$RT" >/dev/null
expect 401 "unknown cookie" GET /v1/services "" -b "paddock_token=nope-0123456789abcdef" >/dev/null
expect 403 "cookie POST without CSRF" POST /v1/services/db/start "" -b "paddock_token=$OT" >/dev/null
expect 200 "cookie POST with CSRF" POST /v1/services/db/start "" -b "paddock_token=$OT" -H 'X-Paddock-CSRF: 1' >/dev/null
pass "cookie tokens: GET as the header, anything else only with X-Paddock-CSRF"
stop_daemon || fail "paddockd did not exit cleanly"
[ ! -e "$T/run/api.sock" ] || fail "the API socket outlived the daemon"

# --- TLS ------------------------------------------------------------------------------
make_test_ca "$T/pki"
# A bind failure says why, not always "Address already in use".
cat >"$T/noaddr.yaml" <<YAML
api:
  listen: "10.255.255.1:18445"
  tls: {cert: $T/pki/server.crt, key: $T/pki/server.key}
  tokens: $T/tokens
YAML
timeout 60 "$PADDOCKD" -f -S "$T/services" --state-dir "$T/state" --runtime-dir "$T/run" \
	--cgroup-root "$CGROOT" -c "$T/noaddr.yaml" >"$T/noaddr.log" 2>&1 &&
	fail "paddockd started listening on an address the netns does not have"
grep -q "cannot listen on 10.255.255.1:18445: Cannot assign requested address" "$T/noaddr.log" ||
	{ cat "$T/noaddr.log"; fail "the bind failure does not give its real reason"; }
pass "listening on an address not on the host fails with the real reason"
# No libssl (an empty file mounted over it, in a mount namespace of its own).
libssl=$(ldconfig -p | awk '$1 == "libssl.so.3" { print $NF; exit }')
[ -f "$libssl" ] || fail "no libssl.so.3 in ldconfig -p"
: >"$T/empty.so"
timeout 60 unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh \
	"$T/empty.so" "$libssl" "$PADDOCKD" -f -S "$T/services" --state-dir "$T/state" \
	--runtime-dir "$T/run" --cgroup-root "$CGROOT" -c "$T/noaddr.yaml" >"$T/nossl.log" 2>&1 &&
	fail "paddockd started with api.tls and no libssl"
grep -q "api.tls: cannot load libssl.so.3 (package libssl3): .*$libssl" "$T/nossl.log" &&
	grep -q "cannot serve the API on 10.255.255.1:18445: Can not access a needed shared library" "$T/nossl.log" ||
	{ cat "$T/nossl.log"; fail "a missing libssl is not reported naming api.tls and the library"; }
pass "api.tls without a loadable libssl stops paddockd, naming api.tls and libssl.so.3"
# paddockd -n reads what a start would: the tokens, the TLS libraries, certificate and key.
"$PADDOCKD" -n -S "$T/services" -c "$T/noaddr.yaml" >"$T/check.out" 2>&1 ||
	{ cat "$T/check.out"; fail "paddockd -n refused a good TLS configuration"; }
grep -qx "configuration OK" "$T/check.out" || fail "paddockd -n: $(cat "$T/check.out")"
timeout 60 unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh 	"$T/empty.so" "$libssl" "$PADDOCKD" -n -S "$T/services" -c "$T/noaddr.yaml" >"$T/check.out" 2>&1 &&
	fail "paddockd -n accepted api.tls without a loadable libssl"
grep -q "api.tls: cannot load libssl.so.3" "$T/check.out" && grep -qx "api: cannot serve as configured (see above)" "$T/check.out" ||
	{ cat "$T/check.out"; fail "paddockd -n does not say libssl is missing"; }
sed "s|key: $T/pki/server.key|key: $T/pki/ca.key|" "$T/noaddr.yaml" >"$T/wrongkey.yaml"
"$PADDOCKD" -n -S "$T/services" -c "$T/wrongkey.yaml" >"$T/check.out" 2>&1 && fail "paddockd -n accepted a key of another certificate"
grep -q "api.tls: cannot load the TLS key $T/pki/ca.key: .*mismatch" "$T/check.out" ||
	{ cat "$T/check.out"; fail "paddockd -n does not say the key does not match"; }
! grep -qx "configuration OK" "$T/check.out" || fail "paddockd -n said OK with a wrong key"
pass "paddockd -n checks api.tls: libssl loadable, the key matches the certificate"
port=$(free_port)
cat >"$T/tls.yaml" <<YAML
api:
  listen: "127.0.0.1:$port"
  tls: {cert: $T/pki/server.crt, key: $T/pki/server.key}
  tokens: $T/tokens
YAML
start_daemon -c "$T/tls.yaml"
tls_up() { [ "$(curl -s --cacert "$T/pki/ca.crt" "https://127.0.0.1:$port/v1/openapi.json" | jq -r .openapi)" = 3.0.3 ]; }
wait_for 60 tls_up || fail "no TLS answer on 127.0.0.1:$port"
libs=$(tls_libs "$DAEMON_PID")
grep -q '^libssl\.so\.3' <<<"$libs" && grep -q '^libevent_openssl-2\.1\.so' <<<"$libs" ||
	fail "paddockd serving TLS does not map libssl and libevent_openssl: $libs"
out=$(curl -sS --max-time 60 --cacert "$T/pki/ca.crt" -H "Authorization: Bearer $RT" -w '\n%{http_code}' "https://127.0.0.1:$port/v1/services" 2>&1)
[ "$(status "$out")" = 200 ] && [ "$(body "$out" | jq -r '[.[].name] | sort | join(",")')" = db,extra,ticker ] ||
	fail "list over TLS: $out"
[ "$(curl -s --cacert "$T/pki/ca.crt" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/v1/services")" = 401 ] ||
	fail "no 401 over TLS"
if curl -s --max-time 10 -o /dev/null "http://127.0.0.1:$port/v1/openapi.json"; then
	fail "plain HTTP answered on the TLS port"
fi
if curl -s --max-time 10 --tls-max 1.1 --tlsv1 --cacert "$T/pki/ca.crt" -o /dev/null "https://127.0.0.1:$port/v1/openapi.json"; then
	fail "TLS 1.1 accepted"
fi
curl -s --max-time 10 -o /dev/null "https://127.0.0.1:$port/v1/openapi.json" && fail "a certificate from no trusted CA was accepted by curl (test CA leaked?)"
pass "TLS with the test CA: list and 401; plain HTTP and TLS 1.1 refused; libssl mapped only now"
stop_daemon || fail "paddockd did not exit cleanly"
