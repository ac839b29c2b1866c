#!/bin/bash
# paddockctl --url (issue 20): the same commands through the HTTP API.
#  - TCP with TLS from a CA made here: status --json and list --json equal
#    the socket's (fields that move between two calls aside); stop and
#    start through the URL, the effect read back over the socket; logs -f
#    and events -f receive a line and an event as they happen;
#  - a read token's stop fails with the server's 403 message and stops
#    nothing; no token is refused (401); a token file others may read, a
#    wrong CA, a command without a route: each refused with its reason;
#  - then the API on a Unix socket (unix:PATH): the same answers.
# paddockd runs in a network namespace of the test's own (loopback only).
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; need_cmd openssl; need_cmd unshare
if [ -z "${PADDOCK_TEST_NETNS:-}" ]; then
	exec unshare --net env PADDOCK_TEST_NETNS=1 bash "$0" "$@"
fi
ip link set lo up || skip "cannot bring up loopback in a network namespace"
setup
[ -x "$BUILD_DIR/supervisor/paddockctl-remote" ] || fail "no paddockctl-remote beside paddockctl"

make_test_ca "$T/ca"
make_test_ca "$T/other-ca"
(
	umask 077
	printf '# roles\nread rtok-0123456789-%s\noperate otok-0123456789-%s\n' $$ $$ >"$T/tokens"
	printf '# the operator\notok-0123456789-%s\n' $$ >"$T/op.tok"
	printf 'rtok-0123456789-%s\n' $$ >"$T/ro.tok"
)
cat >"$T/services/s.yaml" <<YAML
services:
  web:
    command: ["/bin/sleep", "100000"]
    isolation: {namespaces: [], network: host}
    stop: {timeout: 2s}
  chatty:
    command: ["/bin/sh", "-c", "while true; do echo tick; sleep 0.2; done"]
    isolation: {namespaces: [], network: host}
YAML
api_config() { # api_config LISTEN
	{
		printf 'api:\n  listen: "%s"\n  tokens: %s\n' "$1" "$T/tokens"
		case $1 in /*) ;; *) printf '  tls: {cert: %s, key: %s}\n' "$T/ca/server.crt" "$T/ca/server.key" ;; esac
	} >"$T/config.yaml"
}
PORT=8443
api_config "127.0.0.1:$PORT"
start_daemon -c "$T/config.yaml"
wait_for 30 state_is web running || fail "web did not start"
wait_for 30 state_is chatty running || fail "chatty did not start"

URL="https://127.0.0.1:$PORT"
R=("$PADDOCKCTL" --url "$URL" --cacert "$T/ca/ca.crt" --token-file "$T/op.tok")
RO=("$PADDOCKCTL" --url "$URL" --cacert "$T/ca/ca.crt" --token-file "$T/ro.tok")
wait_for 30 "${R[@]}" list || fail "the API does not answer on $URL"

# --- the same answers as the socket --------------------------------------------------
# What moves between two calls: usage, logs' tail, times counted from now.
steady='map(del(.usage, .logs, .log_tail, .since_ago, .uptime_ms, .rebalance))'
same_json() { # same_json CMD...: --url and the socket print the same document
	diff <("${R[@]}" --json "$@" | jq -S "$steady") <(ctl --json "$@" | jq -S "$steady") >"$T/diff" 2>&1
}
wait_for 20 same_json status web || { cat "$T/diff" >&2; fail "status --json web differs over the URL"; }
wait_for 20 same_json status || { cat "$T/diff" >&2; fail "status --json differs over the URL"; }
wait_for 20 same_json list || { cat "$T/diff" >&2; fail "list --json differs over the URL"; }
[ "$("${R[@]}" status --json web | jq -r '.[0].name')" = web ] || fail "status --json web names no web"
"${R[@]}" list >"$T/list.txt" || fail "list over the URL"
grep -q '^web  *running' "$T/list.txt" || fail "list over the URL: $(cat "$T/list.txt")"
pass "status --json and list --json over TLS equal the socket's"

# --- operate --------------------------------------------------------------------
pid0=$(main_pid web)
"${R[@]}" stop web || fail "stop web over the URL"
[ "$(svc_state web)" = stopped ] || fail "web is $(svc_state web) after stop over the URL"
"${R[@]}" start web || fail "start web over the URL"
wait_for 30 state_is web running || fail "web did not start again"
[ "$(main_pid web)" != "$pid0" ] || fail "web kept pid $pid0 across stop and start"
"${R[@]}" set web memory.max=64M >"$T/set.txt" || fail "set over the URL"
[ "$(svc_field web 'limits."memory.max"')" = 67108864 ] ||
	[ "$(svc_field web 'limits."memory.max"')" = 64M ] ||
	fail "memory.max after set over the URL: $(svc_field web 'limits."memory.max"')"
pass "stop, start and set over the URL take effect"

# --- following --------------------------------------------------------------------
"${R[@]}" --json events -f --service web >"$T/events.out" 2>"$T/events.err" &
EV=$!
EXTRA_PIDS="$EXTRA_PIDS $EV"
# The history comes first: once it is there, the follow is registered.
wait_for 30 test -s "$T/events.out" || fail "events -f printed no history: $(cat "$T/events.err")"
n0=$(wc -l <"$T/events.out")
ctl restart web || fail "restart web"
wait_for 30 bash -c "[ \$(wc -l <'$T/events.out') -gt $n0 ]" || fail "events -f received no event"
tail -n +$((n0 + 1)) "$T/events.out" | jq -e 'select(.service == "web")' >/dev/null ||
	fail "events -f: not web's events: $(tail -n 3 "$T/events.out")"
kill "$EV"
"${R[@]}" logs -n 0 -f chatty >"$T/logs.out" 2>"$T/logs.err" &
LG=$!
EXTRA_PIDS="$EXTRA_PIDS $LG"
wait_for 30 bash -c "[ \$(grep -c ' stdout tick\$' '$T/logs.out') -ge 3 ]" ||
	fail "logs -f received no new lines: $(tail -n 3 "$T/logs.out") $(cat "$T/logs.err")"
kill "$LG"
pass "events -f and logs -f follow over the URL"

# --- refusals -----------------------------------------------------------------
"${RO[@]}" list >/dev/null || fail "a read token cannot list"
pid1=$(main_pid web)
"${RO[@]}" stop web 2>"$T/ro.err" && fail "a read token stopped web"
grep -qi 'token\|permi\|forbidden\|read' "$T/ro.err" || fail "read token's stop: no 403 message: $(cat "$T/ro.err")"
state_is web running && [ "$(main_pid web)" = "$pid1" ] || fail "a read token's stop changed web"
"$PADDOCKCTL" --url "$URL" --cacert "$T/ca/ca.crt" list 2>"$T/none.err" && fail "no token was accepted"
grep -q '401\|token' "$T/none.err" || fail "no token: $(cat "$T/none.err")"
"$PADDOCKCTL" --url "$URL" --cacert "$T/other-ca/ca.crt" --token-file "$T/op.tok" list 2>"$T/ca.err"
rc=$?
[ $rc = 4 ] && grep -qi 'certificate' "$T/ca.err" || fail "a wrong CA (exit $rc): $(cat "$T/ca.err")"
cp "$T/op.tok" "$T/open.tok" && chmod 644 "$T/open.tok"
"$PADDOCKCTL" --url "$URL" --cacert "$T/ca/ca.crt" --token-file "$T/open.tok" list 2>"$T/mode.err"
rc=$?
[ $rc = 2 ] && grep -q "open.tok.*0644" "$T/mode.err" || fail "a token file others read (exit $rc): $(cat "$T/mode.err")"
"${R[@]}" exec web -- /bin/true 2>"$T/exec.err"
rc=$?
[ $rc = 2 ] && grep -q 'no HTTP API route' "$T/exec.err" || fail "exec over the URL (exit $rc): $(cat "$T/exec.err")"
"${R[@]}" status nosuch 2>/dev/null
[ $? = 3 ] || fail "status of no such service over the URL does not exit 3"
pass "read token, no token, wrong CA, open token file and exec refused"

# --- the API on a Unix socket ---------------------------------------------------------
stop_daemon || fail "paddockd exited badly"
api_config "$T/run/api.sock"
start_daemon -c "$T/config.yaml"
wait_for 30 state_is web running || fail "web did not start (unix)"
R=("$PADDOCKCTL" --url "unix:$T/run/api.sock" --token-file "$T/op.tok")
wait_for 30 "${R[@]}" list || fail "the API does not answer on unix:$T/run/api.sock"
wait_for 20 same_json status web || { cat "$T/diff" >&2; fail "status --json web differs over unix:"; }
"${R[@]}" stop web || fail "stop web over unix:"
[ "$(svc_state web)" = stopped ] || fail "web is $(svc_state web) after stop over unix:"
PADDOCK_URL="unix:$T/run/api.sock" PADDOCK_TOKEN_FILE="$T/op.tok" "$PADDOCKCTL" start web ||
	fail "start web with PADDOCK_URL"
wait_for 30 state_is web running || fail "web did not start with PADDOCK_URL"
pass "the API on a Unix socket, and PADDOCK_URL"

# --- a hostile server ---------------------------------------------------------------
# paddockctl does not trust the answers' shape nor their strings: a list
# of the wrong shape is a clear error (no crash), escape sequences in a
# name do not reach the terminal; http:// to a host not on loopback is
# refused before anything is sent.
HPORT=$(free_port)
python3 - "$HPORT" "$T/hostile.body" >"$T/hostile.log" 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = open(sys.argv[2], "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
HOSTILE=$!
EXTRA_PIDS="$EXTRA_PIDS $HOSTILE"
H=("$PADDOCKCTL" --url "http://127.0.0.1:$HPORT" --token-file "$T/op.tok")
printf '[]' >"$T/hostile.body"
wait_for 30 "${H[@]}" list || fail "the hostile server does not answer"
for body in '{}' '[{}]' '[1]' '[{"name": 7}]' '"text"'; do
	printf '%s' "$body" >"$T/hostile.body"
	"${H[@]}" list >"$T/h.out" 2>"$T/h.err"
	rc=$?
	[ $rc = 1 ] && grep -q "answer to list is not an array of objects" "$T/h.err" ||
		fail "list answered '$body': exit $rc, $(cat "$T/h.err")"
done
printf '[{"name": "a\\u001b]0;owned\\u0007b\\u001b[2J", "state": "running", "main_pid": 1}]' >"$T/hostile.body"
"${H[@]}" list >"$T/h.out" 2>"$T/h.err" || fail "list of a name with escapes: $(cat "$T/h.err")"
grep -q 'a?]0;owned?b?\[2J' "$T/h.out" || fail "the name is not shown defanged: $(cat -v "$T/h.out")"
! grep -q $'\e' "$T/h.out" || fail "an escape sequence from the server reached the terminal"
kill "$HOSTILE"
wait "$HOSTILE" 2>/dev/null
"$PADDOCKCTL" --url "http://10.1.2.3:8080" --token-file "$T/op.tok" list 2>"$T/clear.err" &&
	fail "http:// to a host not on loopback was used"
grep -q "send the token in clear.*use https://" "$T/clear.err" || fail "http:// refusal: $(cat "$T/clear.err")"
pass "wrong-shaped answers are errors, escapes defanged, http:// off loopback refused"
