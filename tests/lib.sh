# tests/lib.sh - shared helpers for paddock's integration tests (bash).
#
# A test sources this file, calls `setup` (temporary state/runtime/services
# dirs, a private cgroup root, cleanup on every exit path), writes specs,
# calls `start_daemon`, and asserts on effects read back from the kernel.
# Exit codes: 0 pass, 1 fail, 77 skip (automake convention).
#
# Never sleep to synchronise: `wait_for SECONDS CMD...` polls CMD until it
# succeeds or the deadline passes.

set -u

TESTS_DIR=${TESTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
BUILD_DIR=${BUILD_DIR:-$(pwd)}
PADDOCKD=${PADDOCKD:-$BUILD_DIR/supervisor/paddockd}
PADDOCKCTL=${PADDOCKCTL:-$BUILD_DIR/supervisor/paddockctl}
TEST_NAME=$(basename "${0%.sh}")

T=""            # temporary directory of this test
DAEMON_PID=""
CGROOT="paddock-test-$$"  # cgroup root, relative to our own cgroup

log() { printf '%s: %s\n' "$TEST_NAME" "$*" >&2; }
skip() { log "SKIP: $*"; exit 77; }
fail() {
	log "FAIL: $*"
	if [ -n "$T" ] && [ -f "$T/daemon.log" ]; then
		echo "--- paddockd log (last 40 lines) ---" >&2
		tail -n 40 "$T/daemon.log" >&2
		# Again, so that a log's tail (all CI may show) ends with the reason.
		log "FAIL: $*"
	fi
	exit 1
}
pass() { log "ok: $*"; }
# signal_pid SIG PID: kill(1) that refuses pid 0, 1 and non-numbers: `kill -9 0`
# (a main_pid read while the service was down) would kill the test's own group.
signal_pid() {
	[[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -gt 1 ] || fail "no pid to send SIG$1 to: '$2'"
	kill "-$1" "$2"
}

need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
need_cgroups() {
	grep -qE ' cgroup2? ' /proc/self/mounts || skip "no cgroup filesystem"
}
need_cmd() { command -v "$1" >/dev/null 2>&1 || skip "needs $1"; }

# Milliseconds from bash itself (busybox date has no %N).
now_ms() { local t=${EPOCHREALTIME/./}; echo $((10#$t / 1000)); }

# wait_for SECONDS CMD [ARGS...]: poll CMD every 20 ms until it succeeds.
wait_for() {
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(now_ms)" -gt "$deadline" ]; then
			return 1
		fi
		sleep 0.02
	done
}

# Our own cgroup in a hierarchy ("memory", "cpu", ..., or "" for v2).
own_cgroup() {
	local want=$1 line id ctrls path
	while IFS= read -r line; do
		id=${line%%:*}; line=${line#*:}; ctrls=${line%%:*}; path=${line#*:}
		if [ -z "$want" ] && [ "$id" = 0 ]; then echo "$path"; return; fi
		case ",$ctrls," in *",$want,"*) [ -n "$want" ] && { echo "$path"; return; } ;; esac
	done </proc/self/cgroup
}

# Mount point of a hierarchy: cgroup_mount memory | cgroup_mount "" (v2)
cgroup_mount() {
	local want=$1
	if [ -z "$want" ]; then
		awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
	else
		awk -v c="$want" '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $2; exit } }' /proc/self/mounts
	fi
}

# True when the host has v1 memory controller (v1 or hybrid).
is_v1() { [ -n "$(cgroup_mount memory)" ]; }

# Directory of a service's cgroup in a hierarchy ("" = v2/unified).
service_cgdir() {
	local svc=$1 ctrl=${2-} mnt own
	if [ -z "$ctrl" ] || ! is_v1; then
		mnt=$(cgroup_mount "")
		own=$(own_cgroup "")
	else
		mnt=$(cgroup_mount "$ctrl")
		own=$(own_cgroup "$ctrl")
	fi
	own=${own%/}
	# A daemon on pure v2 runs from <own>/supervisor once started; our own
	# shell is still in <own>, which is where the root is created.
	echo "$mnt$own/$CGROOT/$svc"
}

# Remove every cgroup below our test root, in every hierarchy, deepest first.
cleanup_cgroups() {
	local mnt own dir
	while read -r mnt; do
		[ -n "$mnt" ] || continue
		for own in "$(own_cgroup "")" $(awk -F: '{print $3}' /proc/self/cgroup); do
			dir="$mnt${own%/}/$CGROOT"
			[ -d "$dir" ] || continue
			find "$dir" -depth -type d | while read -r d; do
				if [ -f "$d/cgroup.kill" ]; then echo 1 >"$d/cgroup.kill" 2>/dev/null; fi
				for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
				rmdir "$d" 2>/dev/null
			done
		done
	done < <(awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts)
}

# The fd holder a daemon of this test started (it outlives a killed daemon on
# purpose; its working directory is the runtime dir it serves).
kill_fd_holders() {
	local p mnt own
	[ -n "$T" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = paddock-fdstore ] || continue
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$T/run" ] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	# On pure v2 a daemon killed with -9 leaves its <own>/supervisor leaf.
	mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	own=$(own_cgroup "")
	[ -n "$mnt" ] && [ -d "$mnt${own%/}/supervisor" ] &&
		wait_for 5 rmdir "$mnt${own%/}/supervisor" 2>/dev/null
	return 0
}

EXTRA_PIDS=""   # helpers a test started (prometheus, load generators): killed at cleanup

cleanup() {
	local rc=$?
	for p in $EXTRA_PIDS; do kill "$p" 2>/dev/null; done
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		wait_for 15 bash -c "! kill -0 $DAEMON_PID" || kill -9 "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	kill_fd_holders
	cleanup_cgroups
	cleanup_cgroups
	if [ -n "$T" ]; then
		# Anything still mounted below the test dir (should be nothing).
		grep -o " $T[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
		rm -rf "$T"
	fi
	exit "$rc"
}

setup() {
	T=$(mktemp -d /tmp/paddock-test.XXXXXX)
	chmod 755 "$T"
	mkdir -p "$T/services" "$T/state" "$T/run"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

# make_rootfs DIR: a busybox-static root filesystem.
make_rootfs() {
	local dir=$1 bb
	bb=$(command -v busybox) || skip "needs busybox-static"
	file -L "$bb" 2>/dev/null | grep -q 'dynamically' && [ -x /bin/busybox ] && bb=/bin/busybox
	mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/proc" "$dir/sys" "$dir/dev"
	cp "$bb" "$dir/bin/busybox"
	for a in $("$dir/bin/busybox" --list); do
		[ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\nsvc:x:1000:1000:svc:/home/svc:/bin/sh\n' >"$dir/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\nsvc:x:1000:\n' >"$dir/etc/group"
}

# start_daemon [EXTRA ARGS]: run paddockd in the foreground on $T.
start_daemon() {
	[ -x "$PADDOCKD" ] || fail "no paddockd at $PADDOCKD"
	# PADDOCK_DAEMON_WRAPPER: a command the daemon runs under (tests/valgrind.sh).
	${PADDOCK_DAEMON_WRAPPER:-} "$PADDOCKD" -f -v -S "$T/services" --state-dir "$T/state" \
		--runtime-dir "$T/run" --cgroup-root "$CGROOT" "$@" >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	local secs=10
	[ -z "${PADDOCK_DAEMON_WRAPPER:-}" ] || secs=60
	wait_for $secs test -S "$T/run/control.sock" || fail "daemon did not open its socket"
}

stop_daemon() {
	kill -TERM "$DAEMON_PID"
	wait_for 30 bash -c "! kill -0 $DAEMON_PID" || fail "daemon did not exit on SIGTERM"
	wait "$DAEMON_PID"
	local rc=$?
	DAEMON_PID=""
	return $rc
}

ctl() { "$PADDOCKCTL" -s "$T/run/control.sock" "$@"; }

# Service fields from the daemon (jq is installed by .ci/run and copied into the VM).
svc_field() { ctl status "$1" --json | jq -r ".[0].$2 // empty"; }
svc_state() { ctl list --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'; }
state_is() { [ "$(svc_state "$1")" = "$2" ]; }
main_pid() { ctl list --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .main_pid'; }
restarts() { ctl list --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .restarts'; }

# make_image LAYOUT: an OCI image layout built with umoci from busybox-static:
#   LAYOUT:v1  layer 1 busybox + /etc; layer 2 /etc/motd, deletes /etc/gone;
#              config Cmd [/bin/sh -c "cat /etc/motd; exec sleep 1000"], Env GREETING=hello
#   LAYOUT:v2  v1 plus a third layer (/srv/v2)
make_image() {
	local img=$1 b
	need_cmd umoci
	b=$(mktemp -d "$T/umoci.XXXXXX")
	umoci init --layout "$img" >/dev/null
	umoci new --image "$img:v1" >/dev/null
	umoci unpack --image "$img:v1" "$b/1" >/dev/null
	make_rootfs "$b/1/rootfs"
	echo gone >"$b/1/rootfs/etc/gone"
	umoci repack --image "$img:v1" "$b/1" >/dev/null
	umoci unpack --image "$img:v1" "$b/2" >/dev/null
	echo "welcome to the image" >"$b/2/rootfs/etc/motd"
	rm "$b/2/rootfs/etc/gone"
	umoci repack --image "$img:v1" "$b/2" >/dev/null
	umoci config --image "$img:v1" --config.cmd /bin/sh --config.cmd -c \
		--config.cmd 'cat /etc/motd; echo greeting=$GREETING; exec sleep 1000' \
		--config.env GREETING=hello --config.workingdir /etc >/dev/null
	umoci unpack --image "$img:v1" "$b/3" >/dev/null
	mkdir -p "$b/3/rootfs/srv" && echo v2 >"$b/3/rootfs/srv/v2"
	umoci repack --image "$img:v1" --tag v2 "$b/3" >/dev/null 2>&1 || {
		umoci tag --image "$img:v1" v2 && umoci repack --image "$img:v2" "$b/3" >/dev/null
	}
	rm -rf "$b"
}

# --- Registries (issue 17): tests/integration/55-pull.sh, 56-pull-hostile.sh ---
REGISTRY_FIXTURES=${REGISTRY_FIXTURES:-$TESTS_DIR/integration/registry}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# make_test_ca DIR: a CA made for this test (DIR/ca.key, DIR/ca.crt) and a
# server certificate it signed for IP:127.0.0.1 (DIR/server.crt, .key).
# EC P-256 keys: quick to make. Nothing leaves DIR (it is below $T).
make_test_ca() {
	local d=$1
	need_cmd openssl
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.crt" -days 2 -subj "/CN=paddock test CA $$" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		>/dev/null 2>&1 || fail "openssl: test CA"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/server.key" -out "$d/server.csr" -subj /CN=127.0.0.1 >/dev/null 2>&1 ||
		fail "openssl: server key"
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-out "$d/server.crt" -days 2 -extfile "$d/server.ext" >/dev/null 2>&1 ||
		fail "openssl: server certificate"
	chmod 600 "$d/ca.key" "$d/server.key"
}

# trust_ca HOST:PORT: the test CA in $T/certs.d/HOST:PORT/ca.crt (the
# containers certs.d layout) for paddock and skopeo (--*-cert-dir).
trust_ca() {
	mkdir -p "$T/certs.d/$1"
	cp "$T/pki/ca.crt" "$T/certs.d/$1/ca.crt"
}

# bcrypt_htpasswd USER PASS: one htpasswd line, bcrypt as the registry wants
# (htpasswd -B from apache2-utils, else glibc's crypt through python3), at
# cost 4, the least: the registry checks it on every request, and at the
# default 12 (0.25 s each) a push of two layers takes seconds.
bcrypt_htpasswd() {
	if command -v htpasswd >/dev/null; then
		htpasswd -nbB -C 4 "$1" "$2" | head -n1
	else
		python3 -W ignore -c 'import crypt, sys; print(sys.argv[1] + ":" + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' "$1" "$2"
	fi
}

# start_registry NAME MODE: docker-registry (distribution 2.8) on
# 127.0.0.1:<free port> with TLS from the test CA, storage in $T/NAME.
# MODE: open | plain (open, plain HTTP: no TLS) | htpasswd (user "tester",
# password in $REG_PASS) | token (a token endpoint, token-server.py, on
# its own TLS port; same user).
# Sets REG (HOST:PORT), REG_LOG (its stdout: the access log), TOKEN_LOG.
# Both processes are killed at cleanup (EXTRA_PIDS).
REG_USER=tester
REG_PASS=secret-$$
start_registry() {
	local name=$1 mode=$2 dir=$T/$1 port auth="" tport i
	need_cmd docker-registry
	REG_MODE=$mode
	[ -f "$T/pki/ca.crt" ] || make_test_ca "$T/pki"
	mkdir -p "$dir/storage"
	case $mode in
	open | plain) ;;
	htpasswd)
		bcrypt_htpasswd "$REG_USER" "$REG_PASS" >"$dir/htpasswd" || fail "htpasswd"
		auth=$(printf 'auth:\n  htpasswd:\n    realm: paddock-test\n    path: %s' "$dir/htpasswd") ;;
	token)
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/signer.key" -out "$dir/signer.crt" \
			-days 2 -subj "/CN=paddock test token signer" >/dev/null 2>&1 || fail "openssl: signer"
		TOKEN_LOG=$dir/token.log
		: >"$TOKEN_LOG"
		python3 "$REGISTRY_FIXTURES/token-server.py" --port-file "$dir/token.port" \
			--cert "$T/pki/server.crt" --key "$T/pki/server.key" \
			--signer-key "$dir/signer.key" --signer-cert "$dir/signer.crt" \
			--issuer paddock-test-issuer --service paddock-test-registry \
			--user "$REG_USER:$REG_PASS" --anonymous-pull --log "$TOKEN_LOG" \
			>"$dir/token.out" 2>&1 &
		EXTRA_PIDS="$EXTRA_PIDS $!"
		wait_for 10 test -s "$dir/token.port" || fail "token server did not start: $(cat "$dir/token.out")"
		tport=$(cat "$dir/token.port")
		TOKEN_HOST=127.0.0.1:$tport
		trust_ca "$TOKEN_HOST"
		auth=$(printf 'auth:\n  token:\n    realm: https://%s/token\n    service: paddock-test-registry\n    issuer: paddock-test-issuer\n    rootcertbundle: %s' \
			"$TOKEN_HOST" "$dir/signer.crt") ;;
	*) fail "start_registry: unknown mode $mode" ;;
	esac
	for i in 1 2 3; do # a port taken between free_port and the bind: again
		port=$(free_port)
		REG=127.0.0.1:$port
		REG_LOG=$dir/registry.log
		AUTH=$auth awk -v addr="$REG" -v st="$dir/storage" -v cert="$T/pki/server.crt" \
			-v key="$T/pki/server.key" -v plain="$([ "$mode" = plain ] && echo 1)" '
			/^#/ { print; next }
			plain && /^  tls:/ { skip = 1; next }
			skip && /^    / { next }
			{ skip = 0 }
			{ gsub("@ADDR@", addr); gsub("@STORAGE@", st);
			gsub("@CERT@", cert); gsub("@KEY@", key); sub("@AUTH@", ENVIRON["AUTH"]); print }' \
			"$REGISTRY_FIXTURES/config.yml.in" >"$dir/config.yml"
		: >"$REG_LOG"
		docker-registry serve "$dir/config.yml" >>"$REG_LOG" 2>&1 &
		local pid=$!
		EXTRA_PIDS="$EXTRA_PIDS $pid"
		if [ "$mode" = plain ]; then
			wait_for 10 curl -s -o /dev/null "http://$REG/v2/" && return 0
		elif wait_for 10 curl -s -o /dev/null --cacert "$T/pki/ca.crt" "https://$REG/v2/"; then
			trust_ca "$REG"
			return 0
		fi
		kill "$pid" 2>/dev/null
	done
	fail "docker-registry did not start: $(tail -n 5 "$REG_LOG")"
}

# registry_push LAYOUT:TAG REPO:TAG: copy an OCI layout's image into $REG
# with skopeo (TLS verified with the test CA; credentials unless the
# registry is open). The policy file is the test's own, not /etc/containers'.
registry_push() {
	local creds=()
	need_cmd skopeo
	[ -f "$T/policy.json" ] || echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$T/policy.json"
	case $REG_MODE in
	open) ;;
	plain) creds=(--dest-tls-verify=false) ;;
	*) creds=(--dest-creds "$REG_USER:$REG_PASS") ;;
	esac
	skopeo --policy "$T/policy.json" copy -q --dest-cert-dir "$T/certs.d/$REG" "${creds[@]}" \
		"oci:$1" "docker://$REG/$2" >"$T/skopeo.out" 2>&1 ||
		fail "skopeo copy $1 to $REG/$2: $(cat "$T/skopeo.out")"
}

# blob_gets LOG: how many blob downloads a registry's access log shows;
# blobs_since LOG N: the blob paths of those after the Nth (for messages).
blob_gets() { grep -c '"GET /v2/[^ ]*/blobs/sha256:' "$1"; }
blobs_since() { grep -o '"GET /v2/[^ ]*/blobs/sha256:[0-9a-f]*' "$1" | tail -n +$(($2 + 1)) | cut -c6- | tr '\n' ' '; }

# need_pull_client: SKIP (77) unless paddockctl knows `image pull`.
need_pull_client() {
	local out
	out=$("$PADDOCKCTL" --state-dir "$T/probe-store" image pull 2>&1)
	rm -rf "$T/probe-store"
	case $out in
	*"unknown command 'pull'"*) skip "paddockctl has no image pull yet (the server parts above ran)" ;;
	esac
}

# auth_json FILE HOST USER PASS: a containers-auth.json with one entry, 0600.
auth_json() {
	(umask 077 && printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$2" "$(printf '%s:%s' "$3" "$4" | base64 -w0)" >"$1")
}

# start_hostile: tests/integration/registry/hostile.py over TLS from the test
# CA on a free port: HOSTILE (HOST:PORT), HOSTILE_LOG (a line per request),
# HOSTILE_JSON (each case's manifest and layer digests). Killed at cleanup.
start_hostile() {
	[ -f "$T/pki/ca.crt" ] || make_test_ca "$T/pki"
	HOSTILE_LOG=$T/hostile.log
	: >"$HOSTILE_LOG"
	python3 "$REGISTRY_FIXTURES/hostile.py" --port-file "$T/hostile.port" \
		--cert "$T/pki/server.crt" --key "$T/pki/server.key" --log "$HOSTILE_LOG" \
		>"$T/hostile.out" 2>&1 &
	EXTRA_PIDS="$EXTRA_PIDS $!"
	wait_for 20 test -s "$T/hostile.port" || fail "hostile.py did not start: $(cat "$T/hostile.out")"
	HOSTILE=127.0.0.1:$(cat "$T/hostile.port")
	HOSTILE_JSON=$T/hostile.port.json
	trust_ca "$HOSTILE"
}

# --- How the pull tests call paddock: the one place to follow the client's
# options and the daemon config's names as they settle.
# pull_ctl STORE ARGS...: paddockctl image pull against a store (no daemon),
# with the test's certs.d and auth file; under timeout(1) when PULL_TIMEOUT
# (seconds) is set.
pull_ctl() {
	local store=$1
	shift
	${PULL_TIMEOUT:+timeout "$PULL_TIMEOUT"} "$PADDOCKCTL" --state-dir "$store" image pull \
		--certs-dir "$T/certs.d" --auth-file "$T/auth.json" "$@"
}
# login_ctl ARGS... / logout_ctl ARGS...: paddockctl image login / logout
# with the test's auth file and certs.d (login asks the registry over TLS),
# and a store in $T (--state-dir: never the machine's, never the daemon's).
login_ctl() {
	"$PADDOCKCTL" --state-dir "$T/store" image login --auth-file "$T/auth.json" --certs-dir "$T/certs.d" "$@"
}
logout_ctl() { "$PADDOCKCTL" --state-dir "$T/store" image logout --auth-file "$T/auth.json" "$@"; }
# image_ctl STORE ARGS...: another paddockctl image command on that store.
image_ctl() { local store=$1; shift; "$PADDOCKCTL" --state-dir "$store" image "$@"; }
# pull_daemon_config FILE [INSECURE HOST:PORT...]: the daemon config the
# pull tests start paddockd with: the test's auth file and certs.d.
pull_daemon_config() {
	local f=$1 h
	shift
	{
		printf 'images: {auth_file: %s, certs_dir: %s}\n' "$T/auth.json" "$T/certs.d"
		if [ $# -gt 0 ]; then
			echo 'registries:'
			for h in "$@"; do printf '  "%s": {insecure: true}\n' "$h"; done
		fi
	} >"$f"
}
