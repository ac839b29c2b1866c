#!/bin/bash
# The web dashboard (issue 20) in a real browser: headless chromium driven
# by chromedriver and python3-selenium (dashboard/dashboard.py) against a
# live paddockd serving its API over TLS on loopback, inside a network
# namespace this test creates. Checks: no token -> login form, a wrong
# token refused; with JavaScript off the list renders and matches
# paddockctl status --json (state, class, restarts, OOM kills, health,
# memory.max and a bar against it); a read token sees charts and no
# actions; an operate token stops and starts a service and sets a limit
# from the page (each confirmed), seen in paddockctl status; a new log
# line appears live; an OOM kill in a 32M service appears in its events.
# PADDOCK_SCREENSHOTS=1 saves the list and a service page to
# contrib/screenshots/.
if [ -z "${PADDOCK_IN_NETNS:-}" ]; then
	command -v unshare >/dev/null || { echo "needs unshare" >&2; exit 77; }
	exec unshare -n env PADDOCK_IN_NETNS=1 bash "$0" "$@"
fi
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; need_cmd ip; need_cmd openssl; need_cmd curl
for f in /usr/bin/chromium /usr/bin/chromedriver /usr/bin/python3; do
	[ -x $f ] || skip "needs $f"
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || skip "needs python3-selenium"
setup
# chromium and chromedriver in this namespace (all of them are ours): gone
# at exit, also when the checks fail or time out.
browsers() {
	local p ns
	ns=$(readlink /proc/self/ns/net)
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/net" 2>/dev/null)" = "$ns" ] || continue
		case $(cat "$p/comm" 2>/dev/null) in chrom*) echo "${p#/proc/}" ;; esac
	done
}
no_browser() { [ -z "$(browsers)" ]; }
kill_browsers() { local p; for p in $(browsers); do kill -9 "$p" 2>/dev/null; done; }
trap 'rc=$?; kill_browsers; (exit $rc); cleanup' EXIT
ip link set lo up
make_rootfs "$T/root"
make_test_ca "$T/pki"
mkdir -p "$T/browser"

read_tok=r-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
op_tok=o-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '# dashboard test tokens\nread %s\noperate %s\n' "$read_tok" "$op_tok" >"$T/tokens"
chmod 600 "$T/tokens"
port=$(free_port)
cat >"$T/config.yaml" <<YAML
api:
  listen: "127.0.0.1:$port"
  tls: {cert: $T/pki/server.crt, key: $T/pki/server.key}
  tokens: $T/tokens
YAML
cat >"$T/services/dash.yaml" <<YAML
services:
  worker:
    rootfs: $T/root
    class: batch
    command: ["/bin/sleep", "100000"]
    stop: {timeout: 2s}
  talker:
    rootfs: $T/root
    # Says what the test leaves in /tmp/say, a line at a time.
    command: ["/bin/sh", "-c", "echo talker up; while :; do if [ -e /tmp/say ]; then cat /tmp/say; rm -f /tmp/say; fi; sleep 0.2; done"]
  hog:
    rootfs: $T/root
    class: critical
    resources:
      memory: {max: 32M, swap_max: 0}
    # /tmp/eat: a 64M dd buffer in a 32M group, OOM-killed; the shell stays.
    command: ["/bin/sh", "-c", "echo hog up; while :; do if [ -e /tmp/eat ]; then rm -f /tmp/eat; echo eating; dd if=/dev/zero of=/dev/null bs=64M count=1; fi; sleep 0.2; done"]
YAML
start_daemon -c "$T/config.yaml"
for s in worker talker hog; do
	wait_for 30 state_is $s running || fail "$s: $(svc_state $s)"
done
api_up() { curl -sk -o /dev/null "https://127.0.0.1:$port/login"; }
wait_for 10 api_up || fail "the API does not answer on 127.0.0.1:$port"

shots=""
if [ -n "${PADDOCK_SCREENSHOTS:-}" ]; then
	shots=${SRCDIR:-$(cd "$TESTS_DIR/.." && pwd)}/contrib/screenshots
	mkdir -p "$shots"
fi
out=$T/selenium.log
DASH_URL="https://127.0.0.1:$port" DASH_READ=$read_tok DASH_OPERATE=$op_tok \
	PADDOCKCTL=$PADDOCKCTL DASH_SOCK=$T/run/control.sock DASH_ROOT=$T/root \
	DASH_TMP=$T/browser DASH_SHOTS=$shots \
	timeout 300 /usr/bin/python3 "$TESTS_DIR/integration/dashboard/dashboard.py" >"$out" 2>&1 &
browser=$!
EXTRA_PIDS="$EXTRA_PIDS $browser"
wait $browser
rc=$?
EXTRA_PIDS=""
while read -r line; do
	case $line in
	"ok: "*) pass "${line#ok: }" ;;
	"FAIL: "*) log "$line" ;;
	esac
done <"$out"
if [ $rc != 0 ]; then
	echo "--- selenium output (last 30 lines) ---" >&2
	tail -n 30 "$out" >&2
	fail "the browser checks failed (rc $rc)"
fi
# chromium and chromedriver quit with the checks: nothing of theirs lingers.
wait_for 15 no_browser || fail "chromium still runs after the checks"

# The dashboard's page for an unknown service is a 404, its assets are served.
code=$(curl -sk -o /dev/null -w '%{http_code}' -b "paddock_token=$read_tok" "https://127.0.0.1:$port/service/nope")
[ "$code" = 404 ] || fail "/service/nope: $code"
curl -skf "https://127.0.0.1:$port/assets/dashboard.js" | grep -q EventSource || fail "dashboard.js is not served"
hdr=$(curl -sk -o /dev/null -D - -d "token=$op_tok" "https://127.0.0.1:$port/login")
grep -qi '^set-cookie: paddock_token=.*HttpOnly.*SameSite=Strict.*Secure' <<<"$hdr" ||
	fail "login cookie: $hdr"
pass "404 for an unknown service, assets served, cookie HttpOnly SameSite=Strict Secure"

# The list is made from what paddockd holds: worker's memory.max as set
# from the page (dashboard.py), hog's memory as sampled, as status says.
list_row() { curl -sk -b "paddock_token=$read_tok" "https://127.0.0.1:$port/" | grep "<tr data-service=\"$1\">"; }
want=$("$PADDOCKCTL" -s "$T/run/control.sock" status worker --json | jq -r '.[0].limits["memory.max"]')
[ "$want" = $((200 << 20)) ] || fail "status: worker's memory.max $want"
list_max() { list_row worker | grep -q "data-max=\"$want\""; }
wait_for 10 list_max || fail "the list's worker row: $(list_row worker)"
hog_cur() { "$PADDOCKCTL" -s "$T/run/control.sock" status hog --json | jq -r '.[0].usage["memory.current"]'; }
near() { # the list's hog memory within 4 MiB of status's (a sample apart)
	local l s
	l=$(list_row hog | sed -n 's/.*data-current="\([0-9]*\)".*/\1/p')
	s=$(hog_cur)
	[ -n "$l" ] && [ -n "$s" ] && [ $((l > s ? l - s : s - l)) -le $((4 << 20)) ]
}
wait_for 10 near || fail "hog's memory: list $(list_row hog), status $(hog_cur)"
pass "the list shows memory.max as set ($want) and memory as status does"

# The server's own rendering of a hostile log line (dashboard.py left one in
# talker's tail): escaped, and pages forbid inline scripts and framing.
URL="https://127.0.0.1:$port"
page=$(curl -sk -D "$T/hdr" -b "paddock_token=$read_tok" "$URL/service/talker")
grep -qF '&lt;img src=x onerror=alert(1)&gt;' <<<"$page" || fail "talker's tail lacks the escaped line"
! grep -qF '<img src=x' <<<"$page" || fail "a log line is rendered as markup"
grep -qi "^content-security-policy: default-src 'self';.*object-src 'none'.*frame-ancestors 'none'" "$T/hdr" ||
	fail "CSP: $(grep -i '^content-security' "$T/hdr")"
pass "a log line of markup is escaped in the rendered page; CSP allows no inline script, no framing"

# CSRF: /logout only by a POST of our own page; another site's form can
# neither sign a browser in (with the attacker's token) nor out.
code=$(curl -sk -o /dev/null -w '%{http_code}' -b "paddock_token=$op_tok" "$URL/logout")
[ "$code" = 405 ] || fail "GET /logout: $code, not 405"
hdr=$(curl -sk -o /dev/null -D - -w '%{http_code}' -H 'Origin: https://evil.example' \
	-b "paddock_token=$op_tok" -X POST "$URL/logout")
[ "${hdr##*$'\n'}" = 403 ] && ! grep -qi '^set-cookie' <<<"$hdr" || fail "cross-site logout: $hdr"
hdr=$(curl -sk -o /dev/null -D - -w '%{http_code}' -H 'Sec-Fetch-Site: cross-site' -d "token=$op_tok" "$URL/login")
[ "${hdr##*$'\n'}" = 403 ] && ! grep -qi '^set-cookie' <<<"$hdr" || fail "cross-site login: $hdr"
hdr=$(curl -sk -o /dev/null -D - -H "Origin: https://127.0.0.1:$port" -H 'Sec-Fetch-Site: same-origin' \
	-b "paddock_token=$op_tok" -X POST "$URL/logout")
grep -qi '^set-cookie: paddock_token=;.*Max-Age=0' <<<"$hdr" || fail "same-origin logout: $hdr"
pass "GET /logout 405; cross-site POST /logout and /login 403 without a cookie; our own logout clears it"

# Failed sign-ins are limited; the token tried is never echoed; while
# limited even a valid token is refused (guessing learns nothing).
bad=guess-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
curl -sk -d "token=$bad" "$URL/login" >"$T/login.html"
grep -q 'id="login-error"' "$T/login.html" || fail "a wrong token: no error shown"
! grep -qF "$bad" "$T/login.html" || fail "the login page echoes the token tried"
limited=""
for i in $(seq 40); do
	code=$(curl -sk -o /dev/null -w '%{http_code}' -d "token=$bad" "$URL/login")
	[ "$code" = 429 ] && { limited=1; break; }
	[ "$code" = 401 ] || fail "a wrong token: $code"
done
[ -n "$limited" ] || fail "40 wrong tokens in a row were all answered 401, none 429"
# A credit may come back between two requests: a few tries show the refusal.
refused=""
for i in 1 2 3 4 5; do
	code=$(curl -sk -o /dev/null -w '%{http_code}' -d "token=$bad" "$URL/login" --next \
		-sk -o /dev/null -w '%{http_code}' -d "token=$read_tok" "$URL/login")
	[ "${code#???}" = 429 ] && { refused=1; break; }
done
[ -n "$refused" ] || fail "a valid token was accepted while sign-ins were limited"
login_ok() { [ "$(curl -sk -o /dev/null -w '%{http_code}' -d "token=$read_tok" "$URL/login")" = 303 ]; }
wait_for 30 login_ok || fail "sign-in still refused after the limit"
code=$(curl -sk -o /dev/null -w '%{http_code}' -b "paddock_token=$read_tok" "$URL/")
[ "$code" = 200 ] || fail "a cookie while sign-ins were limited: $code"
pass "wrong tokens not echoed, limited to 429; a valid one refused meanwhile, then accepted"
stop_daemon || fail "daemon exited non-zero"
