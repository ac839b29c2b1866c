#!/bin/bash
# One paddockd per cgroup root:
#  - the daemon holds a lock on its root in every hierarchy it uses (v2,
#    and each v1 controller hierarchy on a v1 or hybrid host);
#  - a second daemon on the same root with another state dir refuses to
#    start, naming the owner's pid and state dir, and touches nothing: the
#    first daemon's service keeps its pid (old code swept it as an orphan);
#    so does one whose root lies inside the owner's;
#  - daemon-reexec keeps the root (a third daemon is still refused);
#  - after kill -9 the lock is gone with the daemon: a new start with the
#    same state dir adopts the service as before.
# An orderly shutdown then leaves the runtime dir empty.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
printf 'services:\n  keep:\n    rootfs: %s\n    command: ["/bin/sleep", "100000"]\n' \
	"$T/root" >"$T/services/keep.yaml"
mkdir -p "$T/other/services"

# Every hierarchy's root (v2 first), as the daemon computes it.
roots() {
	local c d
	for c in "" memory cpu cpuacct pids cpuset blkio freezer; do
		[ -z "$c" ] || is_v1 || continue
		[ -z "$c" ] || [ -n "$(cgroup_mount "$c")" ] || continue
		[ -n "$c" ] || [ -n "$(cgroup_mount "")" ] || continue
		d=$(service_cgdir x "$c")
		echo "${d%/x}"
	done | sort -u
}
# Does pid hold an flock on dir (per /proc/locks, by device and inode)?
locked_by() {
	local dir=$1 pid=$2 dev ino
	dev=$(stat -c '%d' "$dir") ino=$(stat -c '%i' "$dir")
	awk -v want="$(printf '%02x:%02x:%s' $((dev >> 8)) $((dev & 255)) "$ino")" -v pid="$pid" \
		'$2 == "FLOCK" && $5 == pid && $6 == want { found = 1 } END { exit !found }' /proc/locks
}
# second NAME: another paddockd on our root with its own dirs; its output in $T/NAME.out
second() {
	local dir=$T/$1
	mkdir -p "$dir/services"
	timeout 15 "$PADDOCKD" -f -v -S "$dir/services" --state-dir "$dir/state" \
		--runtime-dir "$dir/run" --cgroup-root "$CGROOT" >"$T/$1.out" 2>&1
}
refused() { # refused NAME: it exited non-zero, naming the owner's pid and state dir
	local rc=$1 out=$T/$2.out
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "$2: exit $rc, not refused: $(tail -n 5 "$out")"
	grep -q "is owned by another paddockd (pid $DAEMON_PID, state dir $T/state); refusing to start" "$out" ||
		fail "$2: no refusal naming pid $DAEMON_PID and $T/state: $(tail -n 3 "$out")"
	[ ! -e "$T/$2/run/control.sock" ] && [ ! -e "$T/$2/run/fdstore.sock" ] ||
		fail "$2 opened sockets before refusing: $(ls "$T/$2/run")"
}

start_daemon
wait_for 10 state_is keep running || fail "keep not running"
kpid=$(main_pid keep)
n=0
for d in $(roots); do
	[ -d "$d" ] || fail "no root $d"
	locked_by "$d" "$DAEMON_PID" || fail "root $d is not locked by paddockd $DAEMON_PID"
	n=$((n + 1))
done
[ "$n" -ge 1 ] || fail "no hierarchy found"
pass "paddockd $DAEMON_PID holds its root in all $n hierarchies"

# 1. A second daemon, same root, another state dir.
second two
refused $? two
grep "refusing" "$T/two.out" >&2
[ "$(main_pid keep)" = "$kpid" ] && kill -0 "$kpid" || fail "keep lost pid $kpid"
[ -d "$(service_cgdir keep)" ] || fail "keep's cgroup is gone"
grep -q "belongs to no service" "$T/two.out" && fail "the second daemon swept cgroups"
for d in $(roots); do
	locked_by "$d" "$DAEMON_PID" || fail "root $d is no longer locked by $DAEMON_PID"
done
pass "a second daemon is refused and the first one's service keeps pid $kpid"

# A root inside the owner's would be swept as its orphan: refused too.
mkdir -p "$T/inner/services"
timeout 15 "$PADDOCKD" -f -v -S "$T/inner/services" --state-dir "$T/inner/state" \
	--runtime-dir "$T/inner/run" --cgroup-root "$CGROOT/inner" >"$T/inner.out" 2>&1
rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "a daemon inside the root was not refused (exit $rc)"
grep -q "/$CGROOT/inner is inside .*/$CGROOT, the root of another paddockd (pid $DAEMON_PID, state dir $T/state); refusing" "$T/inner.out" ||
	fail "no refusal of the inner root: $(tail -n 3 "$T/inner.out")"
for d in $(roots); do [ -d "$d/inner" ] && fail "the refused daemon made $d/inner"; done
pass "a root inside the owner's is refused"

# paddockd -n only checks: no lock taken, so it works next to a running daemon.
"$PADDOCKD" -n -S "$T/services" --cgroup-root "$CGROOT" >"$T/check.out" 2>&1 ||
	fail "paddockd -n failed next to a running daemon: $(tail -n 3 "$T/check.out")"
grep -q "configuration OK" "$T/check.out" || fail "paddockd -n: $(tail -n 3 "$T/check.out")"
pass "paddockd -n checks next to the owner without taking the lock"

# 2. daemon-reexec keeps the root.
line=$(($(wc -l <"$T/daemon.log") + 1))
ctl daemon-reexec >/dev/null || fail "daemon-reexec"
ready_again() { sed -n "$line,\$p" "$T/daemon.log" | grep -q 'paddockd .* ready: '; }
wait_for 10 ready_again || fail "no new daemon after daemon-reexec"
kill -0 "$DAEMON_PID" || fail "re-exec changed the daemon's pid"
[ "$(main_pid keep)" = "$kpid" ] || fail "keep restarted by the re-exec"
for d in $(roots); do
	locked_by "$d" "$DAEMON_PID" || fail "after re-exec root $d is not locked by $DAEMON_PID"
done
second three
refused $? three
pass "daemon-reexec keeps the root: a third daemon is still refused"

# 3. kill -9: the lock goes with the daemon; the same state dir adopts.
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
start_daemon
wait_for 10 state_is keep running || fail "keep not running after restart"
[ "$(main_pid keep)" = "$kpid" ] || fail "keep not adopted: pid $(main_pid keep), was $kpid"
for d in $(roots); do
	locked_by "$d" "$DAEMON_PID" || fail "the restarted daemon does not hold $d"
done
pass "after kill -9 the daemon starts again on its state dir and adopts pid $kpid"

# 4. An orderly shutdown leaves nothing in the runtime dir (a re-exec and a
# kill -9 left it all in place: the holder's socket, notify/, control.sock).
holder=$(cd /proc && for p in [0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = paddock-fdstore ] &&
	[ "$(readlink $p/cwd 2>/dev/null)" = "$T/run" ] && echo $p; done)
[ -n "$holder" ] || fail "no fd holder"
[ -S "$T/run/fdstore.sock" ] && [ -S "$T/run/notify/notify" ] || fail "runtime dir lacks what the daemon needs: $(ls -AR "$T/run")"
stop_daemon || fail "paddockd exited non-zero on SIGTERM"
[ -z "$(ls -A "$T/run")" ] || fail "runtime dir not empty after shutdown: $(ls -AR "$T/run")"
wait_for 5 bash -c "! kill -0 $holder" || fail "the fd holder $holder outlived the shutdown"
pass "an orderly shutdown leaves the runtime dir empty and no fd holder"
