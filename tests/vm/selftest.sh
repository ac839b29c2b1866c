#!/usr/bin/env bash
# vm: yes
#
# Proves the VM test environment is what paddock's pure cgroup v2 tests
# need: cgroup2 at /sys/fs/cgroup with memory/cpu/pids/io, writable limits,
# PSI (files and triggers), cgroup.freeze/kill, memory.events OOM counting,
# overlayfs with several lower dirs, pid/net/mount/uts namespaces and
# pivot_root. Exit 0 pass, 1 fail, 77 skip (not on a pure cgroup v2 host).
#
# Run it with: tests/vm/run.sh tests/vm/selftest.sh

set -uo pipefail

CG=/sys/fs/cgroup
if ! grep -qE "^[^ ]+ $CG cgroup2 " /proc/self/mounts; then
	if [[ ${PADDOCK_IN_VM:-0} = 1 ]]; then
		echo "not ok - cgroup2 is not mounted at $CG"
		exit 1
	fi
	echo "skip: $CG is not a cgroup2 mount (run me via tests/vm/run.sh)"
	exit 77
fi

failures=0
ok() { echo "ok - $*"; }
fail() {
	echo "not ok - $*"
	failures=$((failures + 1))
}
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
expect() { # expect DESCRIPTION WANTED GOT
	if [[ $2 == "$3" ]]; then ok "$1 = $3"; else fail "$1: want '$2', got '$3'"; fi
}

root=$CG/paddock-selftest.$$
scratch=$(mktemp -d /tmp/paddock-selftest.XXXXXX)
bg_pids=()
cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	if [[ -d $root ]]; then
		echo 1 >"$root/cgroup.kill" 2>/dev/null
		for _ in $(seq 50); do
			find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null
			[[ -d $root ]] || break
			sleep 0.1
		done
	fi
	umount "$scratch/ovl/merged" 2>/dev/null
	umount "$scratch/ovl" 2>/dev/null
	rm -rf "$scratch"
}
trap cleanup EXIT

echo "# kernel $(uname -r), cmdline: $(cat /proc/cmdline)"

# ---- cgroup2 controllers ------------------------------------------------------
controllers=$(cat $CG/cgroup.controllers)
subtree=$(cat $CG/cgroup.subtree_control)
echo "# controllers: $controllers; enabled: $subtree"
for c in memory cpu pids io; do
	check "controller $c available" grep -qw "$c" <<<"$controllers"
	check "controller $c enabled in subtree_control" grep -qw "$c" <<<"$subtree"
done
check "no cgroup v1 hierarchy mounted" \
	bash -c '! grep -qE "^[^ ]+ [^ ]+ cgroup " /proc/self/mounts'

# ---- limits on a child cgroup -------------------------------------------------
if mkdir "$root"; then
	ok "created $root"
	echo 64M >"$root/memory.max" 2>/dev/null
	expect "memory.max" 67108864 "$(cat "$root/memory.max")"
	echo "50000 100000" >"$root/cpu.max" 2>/dev/null
	expect "cpu.max" "50000 100000" "$(cat "$root/cpu.max")"
	echo 10 >"$root/pids.max" 2>/dev/null
	expect "pids.max" 10 "$(cat "$root/pids.max")"
	echo 200 >"$root/io.weight" 2>/dev/null
	expect "io.weight" "default 200" "$(cat "$root/io.weight")"
	for f in memory.pressure cpu.pressure io.pressure; do
		check "$f has PSI averages" grep -q '^some avg10=' "$root/$f"
	done
	check "/proc/pressure/memory readable" grep -q '^full avg10=' /proc/pressure/memory
	for f in cgroup.kill cgroup.freeze memory.events memory.stat cpu.stat io.stat \
		memory.reclaim; do
		check "$f exists" test -e "$root/$f"
	done

	# A PSI trigger is accepted and gives a pollable fd (window multiple of 2s
	# on the unprivileged path; we are root here, but keep it realistic).
	if exec {psi}<>"$root/memory.pressure" && echo "some 150000 2000000" >&$psi; then
		ok "PSI trigger registered on memory.pressure"
	else
		fail "PSI trigger registration"
	fi
	[[ -n ${psi:-} ]] && exec {psi}>&-

	# Children of our group need the controllers enabled in it.
	echo "+memory +cpu +pids +io" >"$root/cgroup.subtree_control"
	check "controllers enabled for the children of $root" \
		grep -qw memory "$root/cgroup.subtree_control"

	# Freeze and kill a process in the group.
	mkdir "$root/frz"
	sleep 300 &
	sleeper=$!
	bg_pids+=("$sleeper")
	echo "$sleeper" >"$root/frz/cgroup.procs"
	check "process moved into child cgroup" grep -qx "$sleeper" "$root/frz/cgroup.procs"
	echo 1 >"$root/frz/cgroup.freeze"
	for _ in $(seq 50); do grep -q '^frozen 1' "$root/frz/cgroup.events" && break; sleep 0.1; done
	check "cgroup.freeze freezes (cgroup.events frozen 1)" grep -q '^frozen 1' "$root/frz/cgroup.events"
	echo 0 >"$root/frz/cgroup.freeze"
	echo 1 >"$root/frz/cgroup.kill"
	wait "$sleeper" 2>/dev/null
	for _ in $(seq 50); do grep -q '^populated 0' "$root/frz/cgroup.events" && break; sleep 0.1; done
	check "cgroup.kill empties the group (populated 0)" grep -q '^populated 0' "$root/frz/cgroup.events"
	rmdir "$root/frz"

	# pids.max is enforced.
	mkdir "$root/pids"
	echo 3 >"$root/pids/pids.max"
	sh -c 'echo $$ >'"$root/pids/cgroup.procs"'; for i in 1 2 3 4 5; do sleep 2 & done; wait' 2>/dev/null
	max_events=$(awk '$1 == "max" { print $2 }' "$root/pids/pids.events")
	check "pids.max enforced (pids.events max=$max_events)" test "${max_events:-0}" -gt 0
	echo 1 >"$root/pids/cgroup.kill"
	sleep 0.2
	rmdir "$root/pids" 2>/dev/null

	# memory.max is enforced with an OOM kill that memory.events counts.
	mkdir "$root/oom"
	echo 16M >"$root/oom/memory.max"
	echo 0 >"$root/oom/memory.swap.max" 2>/dev/null
	echo "# a 'Memory cgroup out of memory' kernel message is expected here"
	# (the subshell keeps bash's "Killed" job report off the output)
	(
		bash -c 'echo $$ >'"$root/oom/cgroup.procs"'; x=$(head -c 48000000 /dev/zero | tr "\0" a); echo ${#x}' \
			>/dev/null 2>&1
		true
	) 2>/dev/null
	oom_kills=$(awk '$1 == "oom_kill" { print $2 }' "$root/oom/memory.events")
	check "memory.max OOM kill counted in memory.events (oom_kill=$oom_kills)" \
		test "${oom_kills:-0}" -gt 0
	rmdir "$root/oom" 2>/dev/null
else
	fail "cannot create $root"
fi

# ---- overlayfs ------------------------------------------------------------------
check "overlay filesystem registered" grep -qw overlay /proc/filesystems
o=$scratch/ovl
mkdir -p "$o"
if mount -t tmpfs tmpfs "$o"; then
	mkdir -p "$o"/{l1,l2,upper,work,merged}
	echo top >"$o/l1/a"
	echo bottom >"$o/l2/a"
	echo only-l2 >"$o/l2/b"
	if mount -t overlay overlay \
		-o "lowerdir=$o/l1:$o/l2,upperdir=$o/upper,workdir=$o/work" "$o/merged"; then
		ok "overlay mounted with two lower dirs"
		expect "merged/a (upper lower wins)" top "$(cat "$o/merged/a")"
		expect "merged/b (from the lower lower)" only-l2 "$(cat "$o/merged/b")"
		echo new >"$o/merged/c"
		check "write lands in upperdir" grep -qx new "$o/upper/c"
		check "lower dirs untouched" test ! -e "$o/l1/c" -a ! -e "$o/l2/c"
		rm "$o/merged/b"
		check "delete leaves a whiteout in upperdir" test -c "$o/upper/b"
		check "deleted file gone from merged view" test ! -e "$o/merged/b"
		check "lower file kept" test -f "$o/l2/b"
		umount "$o/merged" || fail "umount overlay"
	else
		fail "mount overlay"
	fi
	umount "$o" || fail "umount tmpfs"
else
	fail "mount tmpfs for overlay"
fi

# ---- namespaces ---------------------------------------------------------------
echo "# unshare: $(readlink -f "$(command -v unshare)")"
host_ns=$(for n in pid net mnt uts; do readlink /proc/self/ns/$n; done | tr '\n' ' ')
inner=$(unshare --pid --net --mount --uts --fork --mount-proc bash -c '
	for n in pid net mnt uts; do readlink /proc/self/ns/$n; done | tr "\n" " "
	echo
	echo "pid=$$"
	hostname paddock-inner && echo "hostname=$(hostname)"
	echo "links=$(ip -o link show | wc -l)"
' 2>&1)
echo "$inner" | sed 's/^/# inner: /'
inner_ns=$(head -n1 <<<"$inner")
i=0
for n in pid net mnt uts; do
	i=$((i + 1))
	h=$(cut -d' ' -f$i <<<"$host_ns")
	c=$(cut -d' ' -f$i <<<"$inner_ns")
	if [[ -n $c && $h != "$c" ]]; then ok "new $n namespace ($h -> $c)"; else fail "$n namespace not new ($h / $c)"; fi
done
check "pid 1 inside the new pid namespace" grep -qx 'pid=1' <<<"$inner"
check "hostname set inside the uts namespace" grep -qx 'hostname=paddock-inner' <<<"$inner"
check "host hostname unchanged" test "$(hostname)" != paddock-inner
check "only lo in the new net namespace" grep -qx 'links=1' <<<"$inner"
check "lo is up on the host side" bash -c 'ip -o link show lo | grep -q UP'

# pivot_root works in a mount namespace (the root must not be the initramfs).
pr=$(unshare --mount bash -c '
	set -e
	mount --make-rprivate /
	mkdir -p '"$scratch"'/pr
	mount -t tmpfs tmpfs '"$scratch"'/pr
	mkdir '"$scratch"'/pr/old
	cd '"$scratch"'/pr
	pivot_root . old
	echo pivoted
' 2>&1)
check "pivot_root into a tmpfs in a mount namespace${pr:+ ($pr)}" grep -qx pivoted <<<"$pr"

if [[ $failures -gt 0 ]]; then
	echo "# $failures check(s) failed"
	exit 1
fi
echo "# all checks passed"
exit 0
