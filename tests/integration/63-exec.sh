#!/bin/bash
# paddockctl exec: a command inside a running service, in its namespaces,
# cgroup and root, as its user or -u, with its environment and -e; stdio
# passed straight to it, its exit code paddockctl's; -t gives it a pty of
# the service's own devpts that follows the outer terminal's size.
# vm: yes (CLONE_INTO_CGROUP on pure v2; the -t part needs python3)
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
echo "service root" >"$T/root/marker"
cat >"$T/services/web.yaml" <<YAML
services:
  web:
    rootfs: $T/root
    hostname: webhost
    environment: {GREETING: hello}
    isolation: {namespaces: [pid, mount, uts, ipc, net]}
    command: ["/bin/sh", "-c", "exec sleep 1000"]
  mapped:
    rootfs: $T/root
    restart: {policy: never}
    user: "1000:1000"
    isolation: {user: {map: "0:400000:65536"}}
    command: ["/bin/sh", "-c", "exec sleep 1000"]
  plain:
    isolation: {namespaces: [], network: host}
    command: ["/bin/sh", "-c", "exec sleep 1000"]
  adm:
    rootfs: $T/root
    isolation: {capabilities: {add: [SYS_ADMIN]}}
    command: ["/bin/sh", "-c", "exec sleep 1000"]
  pool:
    instances: 2
    rootfs: $T/root
    command: ["/bin/sh", "-c", "exec sleep 1000"]
YAML
start_daemon
wait_for 20 state_is web running || fail "web not running"
pid=$(main_pid web)

out=$(ctl exec web -- hostname) || fail "exec hostname failed"
[ "$out" = webhost ] && [ "$out" != "$(hostname)" ] || fail "hostname: '$out'"
pass "hostname is the service's ($out)"

out=$(ctl exec web -- cat /marker)
[ "$out" = "service root" ] || fail "/ is not the service's root: '$out'"
pass "/ is the service's root"

want=$(cat /proc/$pid/cgroup)
out=$(ctl exec web -- cat /proc/self/cgroup)
[ -n "$want" ] && [ "$out" = "$want" ] || fail "cgroup: '$out', service: '$want'"
pass "in the service's cgroup"

for ns in pid mnt uts ipc net cgroup user; do
	got=$(ctl exec web -- readlink /proc/self/ns/$ns)
	[ -n "$got" ] && [ "$got" = "$(readlink /proc/$pid/ns/$ns)" ] ||
		fail "$ns namespace: exec $got, service $(readlink /proc/$pid/ns/$ns)"
done
# Inside the pid namespace, as a child: a small pid, not a host one.
out=$(ctl exec web -- sh -c 'echo $$')
[ "$out" -lt 100 ] || fail "exec's pid in the service's pid namespace: $out"
pass "same pid, mnt, uts, ipc, net, cgroup, user namespaces (pid $out inside)"

ctl exec web -- sh -c 'exit 7'
rc=$?
[ $rc = 7 ] || fail "exit code $rc, want 7"
ctl exec web -- sh -c 'kill -TERM $$'
rc=$?
[ $rc = 143 ] || fail "killed by SIGTERM: exit code $rc, want 143"
pass "exit code 7 and 128+15 come back"

out=$(echo hi | ctl exec web -- cat)
[ "$out" = hi ] || fail "stdin not piped through: '$out'"
out=$(ctl exec web -- sh -c 'echo err >&2' 2>&1 >/dev/null)
[ "$out" = err ] || fail "stderr not passed: '$out'"
pass "stdin, stdout and stderr go to the command"

[ "$(ctl exec web -- id -u)" = 0 ] || fail "default user is not the service's (root)"
out=$(ctl exec -u nobody web -- id -u)
[ "$out" = 65534 ] || fail "-u nobody: uid $out"
out=$(ctl exec -u svc web -- sh -c 'echo $HOME')
[ "$out" = /home/svc ] || fail "-u svc: HOME=$out"
pass "-u resolves in the service's /etc/passwd"

out=$(ctl exec -e FOO=bar web -- sh -c 'echo $FOO $GREETING')
[ "$out" = "bar hello" ] || fail "environment: '$out'"
out=$(ctl exec -w /etc web -- pwd)
[ "$out" = /etc ] || fail "-w /etc: pwd $out"
pass "-e over the service's environment, -w"

# The service's capabilities: docker's default set has no CAP_SYS_ADMIN (21).
eff=$(ctl exec web -- sh -c 'grep CapBnd /proc/self/status')
svcpid=$(cat /proc/$pid/task/$pid/children) # sleep, under paddock's init
svcpid=${svcpid%% *}
want=$(grep CapBnd /proc/$svcpid/status)
[ "$eff" = "$want" ] || fail "bounding set: '$eff', service '$want'"
pass "bounding set is the service's ($want)"

out=$(ctl exec web -- /nope 2>&1)
rc=$?
[ $rc = 127 ] && [[ "$out" == *"exec /nope"* ]] || fail "missing command: rc $rc, '$out'"
out=$(ctl exec nosuch -- true 2>&1)
[ $? = 3 ] && [[ "$out" == *"no such service: nosuch"* ]] || fail "unknown service: '$out'"
pass "a missing command exits 127, an unknown service 3"

ctl freeze web >/dev/null || fail "freeze"
out=$(ctl exec web -- true 2>&1)
rc=$?
ctl thaw web >/dev/null || fail "thaw"
[ $rc != 0 ] && [[ "$out" == *"web is frozen: thaw it first"* ]] || fail "frozen: rc $rc, '$out'"
pass "refused on a frozen service"

# -t: a pty of the service's devpts, sized as the outer terminal, following it.
if command -v python3 >/dev/null; then
	cat >"$T/outer-tty.py" <<-'PY'
import fcntl, os, pty, struct, sys, termios
ctl, sock = sys.argv[1], sys.argv[2]
def size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
pid, fd = pty.fork()
if pid == 0:
    size(0, 33, 111)
    os.execv(ctl, [ctl, "-s", sock, "exec", "-t", "-u", "svc", "web", "--", "sh", "-c",
                   "tty; stat -c 'owner %u' $(tty); stty size; read x; stty size; exit 5"])
out = b""
resized = False
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
    if not resized and b"33 111" in out:
        size(fd, 44, 120)  # SIGWINCH to paddockctl, before the line it waits for
        os.write(fd, b"go\n")
        resized = True
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
print("rc=%d" % os.waitstatus_to_exitcode(st))
	PY
	out=$(timeout 60 python3 "$T/outer-tty.py" "$PADDOCKCTL" "$T/run/control.sock")
	echo "$out" | grep -qE '^/dev/pts/[0-9]+$' || fail "-t: tty says: $out"
	echo "$out" | grep -qx 'owner 1000' || fail "-t: the pty is not the user's: $out"
	echo "$out" | grep -qx '33 111' || fail "-t: no initial size 33 111: $out"
	echo "$out" | grep -qx '44 120' || fail "-t: size did not follow: $out"
	echo "$out" | grep -qx 'rc=5' || fail "-t: exit code: $out"
	pass "-t: $(echo "$out" | grep /dev/pts), owned by -u svc, size follows the outer terminal, exit 5"
else
	log "no python3: -t not tested"
fi

# Without -t the command has the operator's own terminal as stdio: even
# with CAP_SYS_ADMIN it cannot type into it (TIOCSTI), which would run
# commands in the operator's shell once paddockctl exits.
cat >"$T/tiocsti.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
int main(void)
{
	char c = '#';
	int r = ioctl(0, TIOCSTI, &c);
	printf("TIOCSTI: %s\n", r < 0 ? strerror(errno) : "typed");
	return r < 0;
}
C
if command -v python3 >/dev/null && gcc -static -O -o "$T/root/tiocsti" "$T/tiocsti.c" 2>/dev/null; then
	wait_for 20 state_is adm running || fail "adm not running"
	out=$(timeout 60 python3 - "$PADDOCKCTL" "$T/run/control.sock" <<-'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "-s", sys.argv[2], "exec", "adm", "--", "/tiocsti"])
out = b""
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
print("rc=%d" % os.waitstatus_to_exitcode(st))
	PY
	)
	echo "$out" | grep -qx 'TIOCSTI: Operation not permitted' || fail "exec without -t could type into the operator's terminal: $out"
	echo "$out" | grep -qx 'rc=1' || fail "tiocsti's exit: $out"
	pass "without -t, a command with CAP_SYS_ADMIN cannot type into the operator's terminal (TIOCSTI: EPERM)"
else
	log "no python3 or no static gcc: TIOCSTI not tested"
fi

ctl events --service web -n 100 --json | jq -e '[.[] | select(.type == "exec" and .argv0 == "sh" and .exit == 7)] | length >= 1' >/dev/null ||
	fail "no exec event with argv0 sh and exit 7"
grep -q 'exec sh exited 7' "$T/daemon.log" || fail "exec not logged"
pass "each exec is an event and a log line"

# A user namespace: joined first, the service's user is mapped inside.
# (Its rootfs needs an idmapped mount, which the VM's 6.1 kernel and
# valgrind lack: 35-userns tests the start, this test only the exec.)
mapped_up() { state_is mapped running || state_is mapped failed; }
wait_for 20 mapped_up || fail "mapped neither running nor failed"
if state_is mapped failed; then
	log "mapped cannot start here ($(svc_field mapped last_exit.reason)): user namespace not tested"
else
	mpid=$(main_pid mapped)
	got=$(ctl exec mapped -- sh -c 'readlink /proc/self/ns/user; id -u; cat /proc/self/uid_map')
	[ "$(echo "$got" | sed -n 1p)" = "$(readlink /proc/$mpid/ns/user)" ] &&
		[ "$(echo "$got" | sed -n 2p)" = 1000 ] &&
		echo "$got" | sed -n 3p | grep -qE '^ +0 +400000 +65536$' || fail "user namespace: $got"
	pass "in the service's user namespace, as its user 1000 (host 401000)"
fi

# No namespaces of its own (nothing to join): the cgroup still is its.
wait_for 20 state_is plain running || fail "plain not running"
ppid=$(main_pid plain)
out=$(ctl exec plain -- sh -c 'readlink /proc/self/ns/mnt; cat /proc/self/cgroup')
[ "$out" = "$(readlink /proc/$ppid/ns/mnt; cat /proc/$ppid/cgroup)" ] || fail "plain: '$out'"
[ "$(ctl exec plain -- hostname)" = "$(hostname)" ] || fail "plain: not the host's hostname"
pass "a service without namespaces: the host's, in its cgroup"

# A template's name with several instances: name one.
wait_for 20 state_is pool@2 running || fail "pool@2 not running"
out=$(ctl exec pool -- true 2>&1)
[ $? != 0 ] && [[ "$out" == *"instances of pool (name one"* ]] || fail "template: '$out'"
out=$(ctl exec pool@2 -- hostname 2>&1)
[ "$out" = pool-2 ] || fail "exec in pool@2: $out"
pass "a template with instances is refused, an instance works"

# After kill -9 of paddockd, the service adopted by the next one takes an exec.
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
start_daemon
wait_for 20 state_is web running || fail "web not adopted"
[ "$(main_pid web)" = "$pid" ] || fail "web restarted instead of adopted"
out=$(echo adopted | ctl exec -e X=1 web -- sh -c 'cat; hostname; echo $X $GREETING; exit 3')
rc=$?
[ $rc = 3 ] && [ "$out" = "$(printf 'adopted\nwebhost\n1 hello')" ] || fail "exec after kill -9: rc $rc, '$out'"
pass "exec in a service adopted after kill -9 of paddockd"

ctl stop web >/dev/null
out=$(ctl exec web -- true 2>&1)
[ $? != 0 ] && [[ "$out" == *"web is stopped: start it first"* ]] || fail "stopped: '$out'"
pass "refused on a stopped service"
