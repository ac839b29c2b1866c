#!/bin/bash
# tests/valgrind.sh - paddockd under valgrind (memcheck), in two parts:
#  1. a workload of its own: specs with every section, launch failures and
#     their restart backoff, each control command, protocol abuse (garbage,
#     wrong types, oversized and half-written requests), set, events, logs,
#     reload (refused with config and seccomp-profile errors, then
#     accepted, then SIGHUP), stop and SIGTERM;
#  2. the host integration scripts, each with its daemon under memcheck and
#     real services running (but those named in VG_SKIP, with the reason).
# Fails on any invalid access, use of uninitialised memory or definite leak
# in a daemon, and on a failing script.
#
# Services start under valgrind only from 3.24: older ones lack pidfd_open,
# openat2 and the new mount API (Debian 12 has 3.19). Without a new enough
# one installed, Debian 13's package is fetched from the apt registry and
# unpacked below BUILD_DIR (nothing is installed); its memcheck and
# launcher are static or need only Debian 12's libc. If that fails, part 2
# is skipped and says so. valgrind has no clone3 at all: paddockd's
# clone(2) fallback starts the services (see paddockd(8)). Children are
# not followed (--child-silent-after-fork): a service's setup code runs in
# valgrind until its exec, which only makes it slower.
# Skips (exit 77) without valgrind. Uses the build in BUILD_DIR.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$top/build} TESTS_DIR="$top/tests"
. "$top/tests/lib.sh"
TEST_NAME=valgrind
command -v valgrind >/dev/null || skip "valgrind not installed"
need_root; need_cgroups; need_cmd jq

# vg_new_enough CMD...: valgrind 3.24 or later.
vg_new_enough() {
	local v
	v=$("$@" --version 2>/dev/null | sed -n 's/^valgrind-\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	[ -n "$v" ] && set -- $v && { [ "$1" -gt 3 ] || [ "$2" -ge 24 ]; }
}
# fetch_valgrind DIR: Debian 13's valgrind unpacked into DIR, run by DIR/vg.
fetch_valgrind() {
	local d=$1 apt=$1/apt uri
	[ -x "$d/vg" ] && vg_new_enough "$d/vg" && return 0
	rm -rf "$d"
	mkdir -p "$apt/lists/partial" "$apt/parts" "$apt/cache/archives/partial" "$d/root"
	# The mirror this machine's own sources use.
	uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
	printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"${uri:-http://deb.debian.org/debian}" >"$apt/parts/trixie.sources"
	local o=(-q -o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$apt/parts"
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
	apt-get "${o[@]}" update >"$d/fetch.log" 2>&1 &&
		(cd "$d" && apt-get "${o[@]}" download valgrind/trixie) >>"$d/fetch.log" 2>&1 &&
		dpkg -x "$d"/valgrind_*.deb "$d/root" || return 1
	printf '#!/bin/sh\nVALGRIND_LIB=%s/root/usr/libexec/valgrind exec %s/root/usr/bin/valgrind.bin "$@"\n' "$d" "$d" >"$d/vg"
	chmod +x "$d/vg"
	vg_new_enough "$d/vg"
}
VALGRIND=valgrind
if ! vg_new_enough valgrind; then
	if fetch_valgrind "$BUILD_DIR/valgrind-trixie"; then
		VALGRIND=$BUILD_DIR/valgrind-trixie/vg
	else
		log "cannot fetch valgrind 3.24 (see $BUILD_DIR/valgrind-trixie/fetch.log): part 2 will be skipped"
		VALGRIND=
	fi
fi
log "using $("${VALGRIND:-valgrind}" --version)"

setup
VG=$T.vg
mkdir -p "$VG"
# cleanup() exits with the status it finds in $?.
trap 'rc=$?; rm -rf "$VG"; (exit $rc); cleanup' EXIT
# valgrind.supp: libnftables 1.0.6 sends its batch buffer (libnftnl's) with
# padding it never initialised; the kernel ignores those bytes.
vg_opts="--quiet --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
 --error-exitcode=99 --child-silent-after-fork=yes --suppressions=$top/tests/valgrind.supp"
export PADDOCK_DAEMON_WRAPPER="${VALGRIND:-valgrind} $vg_opts --log-file=$VG/vg.%p.log"
# vg_errors LOG...: memcheck's complaints (not its notes on syscalls it lacks).
vg_errors() {
	grep -hE 'Invalid (read|write|free)|uninitialised|definitely lost: [1-9]|Mismatched free|Syscall param|Conditional jump' "$@" 2>/dev/null
}
started=$SECONDS

make_rootfs "$T/root"
cat >"$T/profile.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
 "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
  "args": [{"index": 1, "value": 511, "op": "SCMP_CMP_EQ"}]}]}
JSON
cat >"$T/services/web.yaml" <<YAML
services:
  web:
    rootfs: $T/root
    command: [/bin/sleep, "1000"]
    environment: {A: b}
    user: svc
    resources:
      memory: {high: 48M, max: 64M}
      cpu: {weight: 100, max: 0.5}
      pids: {max: 64}
      rlimits: {nofile: 512:1024, core: 0}
      oom_score_adj: 100
    isolation:
      capabilities: {drop: [NET_RAW]}
      seccomp: $T/profile.json
      mounts: [{type: tmpfs, target: /tmp, size: 8M}]
    restart: {policy: always, delay: 200ms, max_delay: 1s}
    ready: {tcp: 8080, timeout: 5s}
    stop: {signal: SIGINT, timeout: 2s}
    pressure: {memory: {above: 20%, for: 5s, action: reclaim}}
  db:
    command: [/bin/true]
    restart: {policy: never}
  after:
    command: [/bin/true]
    depends_on: [db]
YAML
start_daemon
wait_for 60 state_is web failed || fail "web did not take the launch-failure path: $(ctl list)"

# Every command, and the errors a client can provoke.
for c in "version" "list" "status" "status web db" "logs web" "logs --lines 5 db" \
	"events --lines 20" "top" "stop db" "start db" "restart web" "kill web" \
	"freeze web" "thaw web" "set web memory.max=128M cpu.weight=50" "set web bogus=1" \
	"status nosuch" "stop nosuch" "image-in-use"; do
	# shellcheck disable=SC2086
	timeout 60 "$PADDOCKCTL" -s "$T/run/control.sock" $c >/dev/null 2>&1 </dev/null
done
timeout 60 "$PADDOCKCTL" -s "$T/run/control.sock" run --rm --name once -- /bin/true >/dev/null 2>&1
sock=$T/run/control.sock
abuse() { timeout 30 python3 - "$sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(20)
kind = sys.argv[2]
if kind == "garbage":
    for line in [b"not json", b"[1,2]", b'{"v":2,"cmd":"list"}', b'{"cmd":5}', b'{"v":1}',
                 b'{"v":1,"cmd":"nope"}', b'{"v":1,"cmd":"status","names":"web"}',
                 b'{"v":1,"cmd":"status","names":[1]}', b'{"v":1,"cmd":"kill","names":["web"],"signal":"SIGNOPE"}',
                 b'{"v":1,"cmd":"set","names":["web"],"set":7}', b'{"v":1,"cmd":"run","spec":5}',
                 b'{"v":1,"cmd":"logs","names":["web"],"lines":-1}', b"{" * 100]:
        s.sendall(line + b"\n")
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536): pass
elif kind == "big":
    try:
        s.sendall(b"x" * (2 * 1024 * 1024))
        while s.recv(65536): pass
    except OSError: pass
elif kind == "half":
    s.sendall(b'{"v":1,"cmd":"li')
PY
}
abuse garbage; abuse big; abuse half
ctl version >/dev/null || fail "daemon stopped answering after protocol abuse"

# Reloads: refused (spec error, then a broken seccomp profile), accepted, SIGHUP.
printf 'services:\n  bad:\n    comand: [/bin/true]\n' >"$T/services/bad.yaml"
ctl reload >/dev/null 2>&1 && fail "a broken spec was accepted"
printf 'services:\n  bad:\n    command: [/bin/true]\n    isolation: {seccomp: %s}\n' "$T/broken.json" >"$T/services/bad.yaml"
printf '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdri"], "action": "SCMP_ACT_KILL"}]}' >"$T/broken.json"
ctl reload >/dev/null 2>&1 && fail "a broken seccomp profile was accepted"
rm "$T/services/bad.yaml"
printf 'services:\n  newone:\n    command: [/bin/true]\n    restart: {policy: never}\n' >"$T/services/newone.yaml"
sed -i 's/max: 64M/max: 96M/' "$T/services/web.yaml"
ctl reload >/dev/null || fail "reload refused"
rm "$T/services/newone.yaml"
kill -HUP "$DAEMON_PID"
wait_for 60 bash -c "! $PADDOCKCTL -s $T/run/control.sock list --json | jq -e '.[] | select(.name == \"newone\")' >/dev/null" ||
	fail "SIGHUP reload did not remove newone"
ctl stop web >/dev/null 2>&1

# Shut down: valgrind writes its verdict at exit.
pid=$DAEMON_PID
kill -TERM "$pid"
wait_for 120 bash -c "! kill -0 $pid" || fail "paddockd under valgrind did not exit on SIGTERM"
wait "$pid"
rc=$?
DAEMON_PID=""
log="$VG/vg.$pid.log"
[ -f "$log" ] || fail "no valgrind log"
if [ $rc != 0 ] || vg_errors "$log" >/dev/null; then
	grep -v 'WARNING: unhandled\|You may be able\|README_MISSING\|Nevertheless we\|valgrind.org/support' "$log" | head -n 80 >&2
	fail "valgrind found errors in paddockd (exit $rc)"
fi
pass "part 1: paddockd under valgrind through its workload: no invalid access, no definite leak ($((SECONDS - started)) s)"

# Part 2: the integration scripts, each daemon under memcheck.
[ -n "$VALGRIND" ] || { log "part 2 skipped: no valgrind 3.24 to run services under"; exit 0; }
declare -A VG_SKIP=(
	[20-v2-delegation]="runs in the VM only"
	[22-oom-events]="paddock's init (pid 1 of a service) never execs, so it stays in valgrind, in the service's cgroup, and is the OOM killer's choice"
	[37-rlimits]="valgrind refuses setrlimit(RLIMIT_NOFILE) in a service's setup (it keeps fds of its own)"
	[35-userns]="valgrind 3.24 has no open_tree or mount_setattr (idmapped mounts)"
	[53-cgroup-slots]="valgrind answers clone3 with ENOSYS, and slots need it: the daemon keeps none"
)
n_ok=0 n_bad=0 why=""
for t in "$top"/tests/integration/*.sh; do
	name=$(basename "$t" .sh)
	if [ -n "${VG_SKIP[$name]:-}" ]; then
		log "part 2: $name not run: ${VG_SKIP[$name]}"
		continue
	fi
	mkdir -p "$VG/$name"
	s=$SECONDS
	# 40-survive-kill's 200 services would each keep a valgrind'd init.
	out=$(PADDOCK_DAEMON_WRAPPER="$VALGRIND $vg_opts --log-file=$VG/$name/vg.%p.log" \
		PADDOCK_SURVIVE_N=20 PADDOCK_SURVIVE_CYCLES=4 timeout 900 bash "$t" 2>&1)
	rc=$?
	errs=$(vg_errors "$VG/$name"/vg.*.log)
	if [ $rc = 0 ] || [ $rc = 77 ] && [ -z "$errs" ]; then
		n_ok=$((n_ok + 1))
		log "part 2: $name: clean ($((SECONDS - s)) s)"
	else
		n_bad=$((n_bad + 1))
		echo "$out" | grep -v '^    ' | tail -n 20 >&2
		cat "$VG/$name"/vg.*.log | grep -v 'WARNING: unhandled\|You may be able\|README_MISSING\|Nevertheless we\|valgrind.org/support' | head -n 60 >&2
		log "FAIL: part 2: $name (exit $rc)"
		# The script's own reason, or memcheck's first complaint.
		why+=$'\n'"  $name: $( { echo "$out" | sed -n "s/^$name: FAIL: //p" | tail -n 1
			echo "$errs" | head -n 1; echo "exit $rc"; } | head -n 1)"
	fi
done
# Part 1's daemon log, which fail() prints, would push the reasons out of a CI log's tail.
[ $n_bad = 0 ] || { rm -f "$T/daemon.log"; fail "part 2: $n_bad of $((n_ok + n_bad)) scripts failed or had memcheck errors:$why"; }
pass "part 2: $n_ok integration scripts with their daemons under memcheck: no invalid access, no definite leak ($((SECONDS - started)) s in all)"
