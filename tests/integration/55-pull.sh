#!/bin/bash
# Registry pulls against a real registry (issue 17): Debian's docker-registry
# on 127.0.0.1 with TLS from a CA made here (certs.d/HOST:PORT/ca.crt),
# loaded with skopeo from umoci-built layouts:
#   REG  htpasswd auth: busybox:v1 (2 layers) and busybox:v2 (v1 + 1)
#   TOK  auth: token (token-server.py, RS256 JWTs): debian:v1, 3 layers of
#        Debian binaries (/usr/bin/ls and its libraries from this host),
#        busybox, and /etc/debian_version with the host's os-release
#   P    open, plain HTTP (no TLS): busybox:v1
# The server parts run with curl and skopeo; then paddockctl: login (auth
# file 0600, a group-readable one refused), logout, pulls with Basic and
# with Bearer tokens recorded with source and digest, a second pull that
# downloads no blob, v2 downloading only its new layer, plain HTTP only
# for a host named insecure, and services run by paddockd from images it
# pulls (pull: missing / always / never; registries: insecure).
# Without `image pull` in paddockctl the client part SKIPs (77).
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cmd docker-registry; need_cmd skopeo; need_cmd umoci; need_cmd jq; need_cmd curl
setup
C=(-s --cacert "$T/pki/ca.crt")

# make_debian_image LAYOUT: LAYOUT:v1, three layers: Debian's ls and cat with
# the libraries they load, a busybox root, the host's /etc/debian_version
# and os-release. Cmd runs the Debian ls (dynamically linked).
make_debian_image() {
	local img=$1 b f
	b=$(mktemp -d "$T/deb.XXXXXX")
	umoci init --layout "$img" >/dev/null && umoci new --image "$img:v1" >/dev/null
	umoci unpack --image "$img:v1" "$b/1" >/dev/null
	for f in /usr/bin/ls /usr/bin/cat $(ldd /usr/bin/ls /usr/bin/cat | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u); do
		cp -L --parents "$f" "$b/1/rootfs/"
	done
	umoci repack --image "$img:v1" "$b/1" >/dev/null
	umoci unpack --image "$img:v1" "$b/2" >/dev/null
	make_rootfs "$b/2/rootfs"
	umoci repack --image "$img:v1" "$b/2" >/dev/null
	umoci unpack --image "$img:v1" "$b/3" >/dev/null
	cp /etc/debian_version /etc/os-release "$b/3/rootfs/etc/" 2>/dev/null ||
		echo "12.0" >"$b/3/rootfs/etc/debian_version"
	umoci repack --image "$img:v1" "$b/3" >/dev/null
	umoci config --image "$img:v1" --config.cmd /bin/sh --config.cmd -c \
		--config.cmd 'echo debian=$(/usr/bin/cat /etc/debian_version); /usr/bin/ls -1 /usr/bin; exec sleep 1000' >/dev/null
	rm -rf "$b"
}
t0=$(now_ms)
make_image "$T/img"
make_debian_image "$T/deb"
log "layouts built in $(($(now_ms) - t0)) ms"

# --- the servers -------------------------------------------------------------------
start_registry reg htpasswd
R=$REG R_LOG=$REG_LOG
registry_push "$T/img:v1" busybox:v1
registry_push "$T/img:v2" busybox:v2
hdr=$(curl "${C[@]}" -o /dev/null -D - "https://$R/v2/" | tr A-Z a-z)
[[ $hdr == *" 401"* && $hdr == *'www-authenticate: basic realm="paddock-test"'* ]] || fail "REG without credentials: $hdr"
[ "$(curl "${C[@]}" -o /dev/null -w '%{http_code}' -u "$REG_USER:wrong" "https://$R/v2/")" = 401 ] || fail "REG took a wrong password"
accept='application/vnd.oci.image.manifest.v1+json'
curl "${C[@]}" -u "$REG_USER:$REG_PASS" -H "Accept: $accept" -o "$T/m1" -D "$T/h1" "https://$R/v2/busybox/manifests/v1" ||
	fail "REG manifest"
D1=$(sed -n 's/^Docker-Content-Digest: \(.*\)\r$/\1/Ip' "$T/h1")
[ "$D1" = "sha256:$(sha256sum <"$T/m1" | cut -d' ' -f1)" ] || fail "REG manifest digest $D1"
jq -e '.layers | length == 2' "$T/m1" >/dev/null || fail "busybox:v1 has $(jq '.layers | length' "$T/m1") layers"
curl "${C[@]}" -u "$REG_USER:$REG_PASS" -H "Accept: $accept" -o "$T/m2" "https://$R/v2/busybox/manifests/v2"
jq -e '.layers | length == 3' "$T/m2" >/dev/null || fail "busybox:v2 layers"
pass "REG: TLS from the test CA, htpasswd (401 without, with a wrong password), busybox:v1 and v2 pushed"

start_registry tok token
K=$REG K_LOG=$REG_LOG
registry_push "$T/deb:v1" debian:v1
hdr=$(curl "${C[@]}" -o /dev/null -D - "https://$K/v2/debian/manifests/v1" | tr A-Z a-z)
[[ $hdr == *" 401"* && $hdr == *"bearer realm=\"https://$TOKEN_HOST/token\""* ]] || fail "TOK challenge: $hdr"
tok=$(curl "${C[@]}" "https://$TOKEN_HOST/token?service=paddock-test-registry&scope=repository:debian:pull" | jq -r .token)
curl "${C[@]}" -H "Authorization: Bearer $tok" -H "Accept: $accept" -o "$T/m3" -D "$T/h3" "https://$K/v2/debian/manifests/v1" ||
	fail "TOK manifest with a token"
jq -e '.layers | length == 3' "$T/m3" >/dev/null || fail "debian:v1: $(head -c 300 "$T/m3")"
D3=$(sed -n 's/^Docker-Content-Digest: \(.*\)\r$/\1/Ip' "$T/h3")
sig=${tok##*.}
c=${sig:8:1}; [ "$c" = A ] && c=B || c=A
code=$(curl "${C[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${tok%.*}.${sig:0:8}$c${sig:9}" "https://$K/v2/debian/manifests/v1")
[ "$code" = 401 ] || fail "TOK took a token with a broken signature ($code)"
code=$(curl "${C[@]}" -o /dev/null -w '%{http_code}' -u "$REG_USER:nope" "https://$TOKEN_HOST/token?service=paddock-test-registry&scope=repository:debian:pull")
[ "$code" = 401 ] || fail "token endpoint took a wrong password ($code)"
pass "TOK: auth: token with RS256 JWTs from token-server.py (a broken signature refused), debian:v1 pushed"

start_registry plain plain
P=$REG P_LOG=$REG_LOG
registry_push "$T/img:v1" busybox:v1
curl -s "http://$P/v2/busybox/tags/list" | jq -e '.tags == ["v1"]' >/dev/null || fail "PLAIN: tags"
pass "PLAIN: an open registry on plain HTTP, busybox:v1 pushed"

# --- paddock's client ----------------------------------------------------------------
need_pull_client
S=$T/store
layers() { find "$S/layers" -mindepth 1 -maxdepth 1 -regextype egrep -regex '.*/[0-9a-f]{64}' | wc -l; }
rec() { image_ctl "$S" list --json | jq -c --arg r "$1" '.[] | select(.source == $r)'; }

# login: the auth file is made 0600; a wrong password is not stored
printf 'wrong\n' | login_ctl "$R" -u "$REG_USER" --password-stdin >"$T/out" 2>&1 &&
	fail "login with a wrong password succeeded"
[ -s "$T/auth.json" ] && jq -e --arg r "$R" '.auths[$r]' "$T/auth.json" >/dev/null 2>&1 && fail "a wrong password was stored"
printf '%s\n' "$REG_PASS" | login_ctl "$R" -u "$REG_USER" --password-stdin >"$T/out" 2>&1 ||
	fail "login: $(cat "$T/out")"
[ "$(stat -c %a "$T/auth.json")" = 600 ] || fail "auth file mode $(stat -c %a "$T/auth.json")"
[ "$(jq -r --arg r "$R" '.auths[$r].auth' "$T/auth.json" | base64 -d)" = "$REG_USER:$REG_PASS" ] ||
	fail "auth file: $(cat "$T/auth.json")"
pass "login checks the password and stores it in a 0600 auth file"

# pull over TLS with Basic credentials
pull_ctl "$S" "$R/busybox:v1" >"$T/out" 2>&1 || fail "pull $R/busybox:v1: $(cat "$T/out")"
r=$(rec "$R/busybox:v1")
[ "$(jq -r .digest <<<"$r")" = "$D1" ] || fail "record of busybox:v1: $r (want digest $D1)"
[ "$(layers)" = 2 ] || fail "$(layers) layers after busybox:v1"
image_ctl "$S" inspect "$R/busybox:v1" --json >"$T/inspect" || fail "inspect $R/busybox:v1"
jq -e --arg d "$D1" --arg r "$R/busybox:v1" '(.digest // .manifest_digest) == $d and .source == $r' "$T/inspect" >/dev/null ||
	fail "inspect: $(cat "$T/inspect")"
pass "pull of busybox:v1 over TLS with Basic auth: 2 layers, source and digest recorded"

# again: every blob is in the store, none is downloaded
n=$(blob_gets "$R_LOG")
t1=$(now_ms)
pull_ctl "$S" "$R/busybox:v1" >"$T/out" 2>&1 || fail "second pull: $(cat "$T/out")"
t1=$(($(now_ms) - t1))
# Nothing may come again: layers are in the store, the config in its cache.
again=$(blobs_since "$R_LOG" "$n")
[ -z "$again" ] || fail "the second pull downloaded $again"
pass "a second pull downloads no blob, its manifest only ($t1 ms)"

# v2 = v1 + one layer: the config and that layer only
n=$(blob_gets "$R_LOG")
pull_ctl "$S" "$R/busybox:v2" >"$T/out" 2>&1 || fail "pull v2: $(cat "$T/out")"
[ "$(($(blob_gets "$R_LOG") - n))" = 2 ] || fail "v2 downloaded $(blobs_since "$R_LOG" "$n"), not only its config and new layer"
[ "$(layers)" = 3 ] || fail "$(layers) layers after v2"
pass "busybox:v2 downloads only its config and its new layer"

# a group-readable auth file is refused, before anything is fetched
image_ctl "$S" rm "$R/busybox:v2" >/dev/null
chmod 640 "$T/auth.json"
n=$(grep -c '"GET /v2/busybox' "$R_LOG")
pull_ctl "$S" "$R/busybox:v2" >"$T/out" 2>&1 && fail "pull with a group-readable auth file succeeded"
grep -q "$T/auth.json" "$T/out" || fail "the refusal does not name the auth file: $(cat "$T/out")"
[ -z "$(rec "$R/busybox:v2")" ] || fail "recorded with a refused auth file"
[ "$(grep -c '"GET /v2/busybox' "$R_LOG")" = "$n" ] || fail "the registry was asked with a refused auth file"
msg=$(head -n1 "$T/out" | cut -c1-160)
cp "$T/auth.json" "$T/auth.before"
printf '%s\n' "$REG_PASS" | login_ctl "$R" -u "$REG_USER" --password-stdin >"$T/out" 2>&1 &&
	fail "login wrote into a group-readable auth file"
cmp -s "$T/auth.json" "$T/auth.before" || fail "login changed a group-readable auth file"
chmod 600 "$T/auth.json"
pass "a group-readable auth file is refused by pull and login: $msg"

# logout: the entry goes, and the registry says no without it
logout_ctl "$R" >"$T/out" 2>&1 || fail "logout: $(cat "$T/out")"
jq -e --arg r "$R" '.auths[$r]' "$T/auth.json" >/dev/null 2>&1 && fail "logout left the entry"
pull_ctl "$S" "$R/busybox:v2" >"$T/out" 2>&1 && fail "pull without credentials succeeded"
grep -qiE '401|unauthori|denied|auth|credential' "$T/out" || fail "no auth error: $(cat "$T/out")"
printf '%s\n' "$REG_PASS" | login_ctl "$R" -u "$REG_USER" --password-stdin >/dev/null 2>&1 ||
	fail "login again"
pass "logout removes the credentials; the pull is then refused by the registry"

# the Bearer token flow, anonymous pull
: >"$TOKEN_LOG"
pull_ctl "$S" "$K/debian:v1" >"$T/out" 2>&1 || fail "pull $K/debian:v1: $(cat "$T/out")"
grep -q 'TOKEN user=- scope=repository:debian:pull granted=debian:pull' "$TOKEN_LOG" ||
	fail "no token asked for: $(cat "$TOKEN_LOG")"
[ "$(jq -r .digest <<<"$(rec "$K/debian:v1")")" = "$D3" ] || fail "record of debian:v1: $(rec "$K/debian:v1")"
pass "pull with the Bearer token flow (token-server.py): debian:v1, 3 layers"

# the Bearer flow with credentials: login asks the token endpoint with them
printf 'wrong\n' | login_ctl "$K" -u "$REG_USER" --password-stdin >"$T/out" 2>&1 && fail "token login with a wrong password"
grep -q 'DENIED user=tester' "$TOKEN_LOG" || fail "the wrong password did not reach the token endpoint: $(cat "$TOKEN_LOG")"
printf '%s\n' "$REG_PASS" | login_ctl "$K" -u "$REG_USER" --password-stdin >"$T/out" 2>&1 || fail "token login: $(cat "$T/out")"
: >"$TOKEN_LOG"
pull_ctl "$S" "$K/debian:v1" >"$T/out" 2>&1 || fail "pull $K/debian:v1 logged in: $(cat "$T/out")"
grep -q 'TOKEN user=tester scope=repository:debian:pull' "$TOKEN_LOG" || fail "no token for tester: $(cat "$TOKEN_LOG")"
pass "the Bearer flow with credentials: login and pull ask the token endpoint as tester"

# plain HTTP only for a host named insecure
pull_ctl "$S" "$P/busybox:v1" >"$T/out" 2>&1 && fail "pulled over plain HTTP without --insecure"
grep -q "$P/busybox:v1" "$T/out" || fail "the refusal does not name the reference: $(cat "$T/out")"
[ -z "$(rec "$P/busybox:v1")" ] || fail "recorded without --insecure"
msg=$(head -n1 "$T/out" | cut -c1-120)
pull_ctl "$S" --insecure "$P" "$P/busybox:v1" >"$T/out" 2>&1 || fail "pull --insecure $P: $(cat "$T/out")"
[ -n "$(rec "$P/busybox:v1")" ] || fail "not recorded after pull --insecure"
pass "plain HTTP is refused unless the host is named insecure: $msg"

# --- paddockd pulls for its services ----------------------------------------------------
pull_daemon_config "$T/config.yaml" "$P"
cat >"$T/services/p.yaml" <<YAML
services:
  plain:
    image: $P/busybox:v1
  box:
    image: $R/busybox:v1
    pull: missing
  deb:
    image: $K/debian:v1
    pull: always
  offline:
    image: $R/busybox:v2
    pull: never
YAML
# box and plain are the same image on two registries: whichever pull comes
# first downloads the blobs, the other finds them in the store.
n=$(($(blob_gets "$R_LOG") + $(blob_gets "$P_LOG")))
start_daemon -c "$T/config.yaml"
for s in box deb plain; do wait_for 60 state_is $s running || fail "$s: $(svc_state $s) $(svc_field $s last_exit.reason)"; done
[ "$(($(blob_gets "$R_LOG") + $(blob_gets "$P_LOG")))" -gt "$n" ] || fail "paddockd ran box and plain without downloading them"
wait_for 10 grep -q 'stdout greeting=hello' "$T/state/logs/box.log" || fail "box: $(cat "$T/state/logs/box.log")"
grep -q 'stdout welcome to the image' "$T/state/logs/box.log" || fail "box: layer 2 missing"
wait_for 10 grep -q "stdout debian=$(cat /etc/debian_version 2>/dev/null || echo 12.0)" "$T/state/logs/deb.log" ||
	fail "deb: $(cat "$T/state/logs/deb.log")"
grep -q 'stdout ls$' "$T/state/logs/deb.log" || fail "deb: Debian's ls did not run"
wait_for 10 grep -q 'stdout greeting=hello' "$T/state/logs/plain.log" || fail "plain: $(cat "$T/state/logs/plain.log")"
pass "paddockd pulls and runs the images: the busybox Cmd and Env, Debian's dynamically linked ls, plain HTTP from a registries: insecure host"
[ "$(svc_state offline)" = running ] && fail "pull: never ran an image that is not in the store"
ctl image list --json | jq -e --arg r "$R/busybox:v2" 'map(select(.source == $r)) | length == 0' >/dev/null ||
	fail "pull: never pulled $R/busybox:v2"
pass "pull: never does not fetch (offline: $(svc_state offline))"
