#!/bin/sh
# /init of the paddock test VM (PID 1, run by busybox sh). Built into the
# initramfs by tests/vm/run.sh; not meant to run anywhere else.
#
# Stage 1 (in the kernel's initramfs rootfs): pivot_root(2) refuses to work
#   when the current root is the initramfs, and paddockd (like every
#   container runtime) pivot_roots into its service roots. So copy the
#   initramfs into a real tmpfs and switch_root into it, then re-exec this
#   script as stage 2.
# Stage 2: mount proc/sys/dev/tmp/run and cgroup2 at /sys/fs/cgroup, enable
#   the controllers, insmod the modules listed in /paddock/modules.list,
#   bring up lo, run every test listed in /paddock/tests.list with bash under
#   a per-test timeout, then power off.
#
# Console protocol (parsed by run.sh; everything goes to /dev/console=ttyS0):
#   PADDOCK-VM-READY <uptime-seconds> <kernel-release> <controllers...>
#   PADDOCK-VM-BEGIN <name>
#   ...test output (stdout+stderr)...
#   PADDOCK-VM-TIMEOUT <name> <seconds>        (only if it was killed)
#   PADDOCK-VM-WARN <name> <text>              (harness cleanup notes)
#   PADDOCK-VM-RESULT <name> <exit-code> <seconds>
#   PADDOCK-VM-DONE                            (all tests ran)
# A test killed by the timeout is reported with exit code 124.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

die() {
	echo "PADDOCK-VM-FATAL $*"
	sync
	poweroff -f
	sleep 10
	exit 1 # init exiting panics the kernel; panic=-1 + -no-reboot ends qemu
}

if [ "${PADDOCK_VM_STAGE:-1}" = 1 ]; then
	mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev 2>/dev/null
	exec </dev/console >/dev/console 2>&1
	mount -t proc -o nosuid,nodev,noexec proc /proc || die "mount /proc"
	mkdir -p /newroot
	mount -t tmpfs -o mode=0755 rootfs /newroot || die "mount tmpfs root"
	for entry in /* /.[!.]*; do
		case "$entry" in
		/newroot | /dev | /proc | /sys | '/.[!.]*') ;;
		*) cp -a "$entry" /newroot/ || die "copy $entry to tmpfs root" ;;
		esac
	done
	mkdir -p /newroot/dev /newroot/proc /newroot/sys
	umount /proc
	mount --move /dev /newroot/dev || die "move /dev"
	export PADDOCK_VM_STAGE=2
	# switch_root empties the initramfs (frees its memory) and execs us again.
	exec switch_root /newroot /init
	die "switch_root failed"
fi

# ---- stage 2: on a tmpfs root -------------------------------------------
exec </dev/console >/dev/console 2>&1
mount -t proc -o nosuid,nodev,noexec proc /proc || die "mount /proc"
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || die "mount /sys"
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue 2>/dev/null
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp || die "mount /tmp"
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run || die "mount /run"
# Make / shared like systemd does, so tests see the usual propagation.
mount --make-rshared /

mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup 2>/dev/null ||
	mount -t cgroup2 cgroup2 /sys/fs/cgroup || die "mount cgroup2"
for c in cpuset cpu io memory pids hugetlb misc; do
	if grep -qw "$c" /sys/fs/cgroup/cgroup.controllers; then
		echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control ||
			echo "PADDOCK-VM-INFO cannot enable +$c"
	fi
done

if [ -f /paddock/modules.list ]; then
	while read -r mod; do
		[ -n "$mod" ] || continue
		insmod "$mod" || echo "PADDOCK-VM-INFO insmod $mod failed"
	done </paddock/modules.list
fi

ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
hostname paddock-vm

# Test configuration written by run.sh: env for the tests and the timeout.
PADDOCK_VM_TEST_TIMEOUT=300
[ -f /paddock/vm.conf ] && . /paddock/vm.conf
[ -f /paddock/env ] && . /paddock/env

read -r up _ </proc/uptime
echo
echo "PADDOCK-VM-READY $up $(uname -r) $(cat /sys/fs/cgroup/cgroup.subtree_control)"

# Kill whatever a test left behind: processes in the root cgroup (except
# us; kernel threads ignore SIGKILL) and every cgroup below the root.
cleanup_after_test() {
	name=$1
	for p in $(cat /sys/fs/cgroup/cgroup.procs); do
		[ "$p" = 1 ] || kill -KILL "$p" 2>/dev/null
	done
	left=$(find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null)
	[ -n "$left" ] || return 0
	echo "PADDOCK-VM-WARN $name left cgroups behind:" $left
	for d in $(find /sys/fs/cgroup -mindepth 1 -maxdepth 1 -type d); do
		echo 1 >"$d/cgroup.kill" 2>/dev/null
		echo 0 >"$d/cgroup.freeze" 2>/dev/null
	done
	i=0
	while [ $i -lt 50 ]; do
		find /sys/fs/cgroup -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
		[ -z "$(find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null)" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "PADDOCK-VM-WARN $name cannot remove:" $(find /sys/fs/cgroup -mindepth 1 -type d)
}

if [ -f /paddock/tests.list ]; then
	# fd 3: the list; tests get /dev/null as stdin.
	while IFS='	' read -r name path <&3; do
		[ -n "$name" ] || continue
		echo "PADDOCK-VM-BEGIN $name"
		rm -f /run/paddock-vm-timeout
		start=$(cut -d. -f1 /proc/uptime)
		# Own session and process group, so the timeout kills the whole tree.
		(cd /paddock && exec setsid bash "$path") </dev/null 2>&1 &
		pid=$!
		(
			sleep "$PADDOCK_VM_TEST_TIMEOUT"
			if kill -0 "$pid" 2>/dev/null; then
				echo "PADDOCK-VM-TIMEOUT $name $PADDOCK_VM_TEST_TIMEOUT"
				: >/run/paddock-vm-timeout
				kill -KILL -"$pid" 2>/dev/null
				kill -KILL "$pid" 2>/dev/null
			fi
		) &
		watchdog=$!
		wait "$pid"
		rc=$?
		kill "$watchdog" 2>/dev/null
		wait "$watchdog" 2>/dev/null
		[ -e /run/paddock-vm-timeout ] && rc=124
		end=$(cut -d. -f1 /proc/uptime)
		cleanup_after_test "$name"
		echo "PADDOCK-VM-RESULT $name $rc $((end - start))"
	done 3</paddock/tests.list
fi

echo "PADDOCK-VM-DONE"
sync
poweroff -f
sleep 10
exit 0
