#!/bin/bash
# io.max, hugetlb, cpu.mems and isolation.devices. A loop device made here
# is throttled (io.max read back from cgroupfs: the v2 io.max line or the
# v1 blkio.throttle files, and a dd oflag=direct from inside the service
# runs at wbps within 20%); /dev/fuse, listed, is in the service's /dev and
# opens; another loop device's node, mknod'ed by root inside, does not
# (EPERM from the device controller, v1 devices.list or the v2 BPF
# program); an io.max on a character device fails the start with a clear
# reason. hugetlb and cpuset.mems are read back where the host has them.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd losetup; setup

LOOP=""
io_cleanup() {
	local rc=$?
	[ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null
	(exit $rc)
	cleanup
}
trap io_cleanup EXIT

# A loop device of our own: the first free one (retried: another test may take it first).
dd if=/dev/zero of="$T/disk" bs=1M count=0 seek=64 2>/dev/null || fail "cannot make $T/disk"
for _ in 1 2 3 4 5; do
	dev=$(losetup -f 2>/dev/null) || break
	if losetup "$dev" "$T/disk" 2>/dev/null; then LOOP=$dev; break; fi
done
[ -n "$LOOP" ] && [ -b "$LOOP" ] || skip "no free loop device (losetup -f; the loop module?)"
MAJ=$(printf '%d' 0x$(stat -c %t "$LOOP"))
MIN=$(printf '%d' 0x$(stat -c %T "$LOOP"))
# Another loop minor, not listed: mknod'ed inside, its open must be refused.
OTHER_MIN=$((MIN + 1))
log "loop device $LOOP ($MAJ:$MIN)"

FUSE=""
if [ -c /dev/fuse ]; then
	FUSE="/dev/fuse"
else
	log "SKIP (part): no /dev/fuse on this host (fuse module not loaded): fuse not checked"
fi

make_rootfs "$T/root"
mkdir -p "$T/out"
cat >"$T/root/io.sh" <<'SH'
#!/bin/sh
if [ -n "$FUSE" ]; then
	if [ -c /dev/fuse ] && (exec 3<>/dev/fuse) 2>/out/fuse.err; then echo ok >/out/fuse; else echo fail >/out/fuse; fi
fi
mknod /dev/other b "$MAJ" "$OTHER_MIN" 2>/out/mknod.err && echo made >/out/mknod
if (exec 3</dev/other) 2>/out/other.err; then echo opened >/out/other; else echo refused >/out/other; fi
if (exec 3<"$LOOP") 2>/out/loop.err; then echo opened >/out/loop; else echo refused >/out/loop; fi
read a _ </proc/uptime
dd if=/dev/zero of="$LOOP" bs=512k count=8 oflag=direct 2>/out/dd.err && echo ok >/out/dd
read b _ </proc/uptime
echo "$a $b" >/out/dd.time
echo done >/out/done
exec sleep 1000
SH
chmod 755 "$T/root/io.sh"

cat >"$T/services/io.yaml" <<YAML
services:
  io:
    rootfs: $T/root
    command: ["/io.sh"]
    environment: {LOOP: "$LOOP", MAJ: "$MAJ", OTHER_MIN: "$OTHER_MIN", FUSE: "$FUSE"}
    restart: {policy: never}
    resources:
      io: {max: {$LOOP: {wbps: 1M, riops: 1000}}}
      hugetlb: {2MB: 64M}
      cpu: {mems: "0"}
    isolation:
      mounts: [{type: bind, source: $T/out, target: /out}]
      devices:
        - {path: $LOOP, access: rw}
$( [ -z "$FUSE" ] || echo "        - /dev/fuse" )
  badio:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    restart: {policy: never}
    resources:
      io: {max: {/dev/null: {wbps: 1M}}}
YAML
start_daemon
wait_for 15 state_is io running || fail "io not running: $(svc_field io last_exit.reason)"

# --- io.max read back --------------------------------------------------------
want="$MAJ:$MIN rbps=max wbps=1048576 riops=1000 wiops=max"
if is_v1; then
	b=$(service_cgdir io blkio)
	grep -qx "$MAJ:$MIN 1048576" "$b/blkio.throttle.write_bps_device" ||
		fail "blkio.throttle.write_bps_device: $(cat "$b/blkio.throttle.write_bps_device")"
	grep -qx "$MAJ:$MIN 1000" "$b/blkio.throttle.read_iops_device" ||
		fail "blkio.throttle.read_iops_device: $(cat "$b/blkio.throttle.read_iops_device")"
	pass "v1 blkio.throttle files hold wbps and riops for $MAJ:$MIN"
else
	d=$(service_cgdir io)
	grep -qx "$want" "$d/io.max" || fail "io.max: '$(cat "$d/io.max")', want '$want'"
	pass "v2 io.max: $want"
fi
got=$(svc_field io 'limits["io.max"]')
[ "$got" = "$want" ] || fail "status io.max '$got', want '$want'"
ctl status io | grep -q "IO max: $want" || fail "paddockctl status shows no IO max line"
pass "status shows io.max as read back"

# --- devices ------------------------------------------------------------------
wait_for 60 test -f "$T/out/done" || fail "the service's script did not finish"
[ "$(cat "$T/out/loop")" = opened ] || fail "listed $LOOP did not open: $(cat "$T/out/loop.err")"
pass "listed $LOOP opens"
if [ -n "$FUSE" ]; then
	[ "$(cat "$T/out/fuse")" = ok ] || fail "/dev/fuse not openable: $(cat "$T/out/fuse.err")"
	pass "/dev/fuse is in the service's /dev and opens"
fi
[ -f "$T/out/mknod" ] || fail "mknod inside failed: $(cat "$T/out/mknod.err")"
[ "$(cat "$T/out/other")" = refused ] || fail "unlisted $MAJ:$OTHER_MIN opened"
grep -q "Operation not permitted" "$T/out/other.err" || fail "unlisted device: $(cat "$T/out/other.err")"
pass "unlisted block device $MAJ:$OTHER_MIN, mknod'ed inside, is refused with EPERM"
if is_v1 && [ -d "$(service_cgdir io devices)" ]; then
	dl=$(cat "$(service_cgdir io devices)/devices.list")
	grep -qx "b $MAJ:$MIN rw" <<<"$dl" || fail "devices.list lacks b $MAJ:$MIN rw: $dl"
	grep -q "^a " <<<"$dl" && fail "devices.list still allows all: $dl"
	pass "v1 devices.list holds the listed device and no 'a'"
fi
[ "$(svc_field io devices.policy)" = true ] || fail "status devices.policy not true"
ctl status io | grep -q "Devices: paddock's /dev + $LOOP (rw)" || fail "status shows no devices line"
pass "status shows the device policy"

# --- the throttled write ---------------------------------------------------------
[ -f "$T/out/dd" ] || fail "dd to $LOOP failed: $(cat "$T/out/dd.err")"
read -r a b <"$T/out/dd.time"
ms=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%d", (b - a) * 1000 }')
rate=$((4194304 * 1000 / (ms > 0 ? ms : 1)))
log "4 MiB written in ${ms} ms: $rate B/s (wbps 1048576)"
[ "$rate" -ge 838860 ] && [ "$rate" -le 1258291 ] || fail "write rate $rate B/s not within 20% of 1 MiB/s"
pass "dd oflag=direct ran at wbps within 20% ($rate B/s)"

# --- hugetlb and cpuset.mems ---------------------------------------------------
if is_v1; then
	h=$(service_cgdir io hugetlb)
	hfile="$h/hugetlb.2MB.limit_in_bytes"
	m=$(service_cgdir io cpuset)/cpuset.mems
else
	hfile="$(service_cgdir io)/hugetlb.2MB.max"
	m=$(service_cgdir io)/cpuset.mems
fi
if [ -f "$hfile" ]; then
	[ "$(cat "$hfile")" = 67108864 ] || fail "$hfile: $(cat "$hfile")"
	[ "$(svc_field io 'limits["hugetlb.2MB.max"]')" = 67108864 ] || fail "status hugetlb.2MB.max wrong"
	pass "hugetlb 2MB limit read back: 67108864"
else
	grep -q "service io: hugetlb.*cannot be expressed" "$T/daemon.log" ||
		fail "no hugetlb controller here and no warning"
	log "SKIP (part): no hugetlb controller for this cgroup; the daemon warned"
fi
if [ -f "$m" ]; then
	[ "$(cat "$m")" = 0 ] || fail "$m: $(cat "$m")"
	[ "$(svc_field io 'limits["cpuset.mems"]')" = 0 ] || fail "status cpuset.mems wrong"
	pass "cpuset.mems read back: 0"
else
	log "SKIP (part): no cpuset.mems file for this cgroup"
fi

# --- io.max on something that is not a block device --------------------------------
wait_for 15 test -n "$(svc_field badio last_exit.reason)" || fail "badio did not fail"
svc_field badio last_exit.reason | grep -q "io.max (/dev/null is not a block device)" ||
	fail "badio reason: $(svc_field badio last_exit.reason)"
pass "io.max on /dev/null: $(svc_field badio last_exit.reason)"

# --- kill -9 of paddockd: the limits and the policy live in the kernel ------------
pid=$(main_pid io)
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
start_daemon
wait_for 30 state_is io running || fail "io not adopted"
[ "$(main_pid io)" = "$pid" ] || fail "io was restarted, not adopted"
got=$(svc_field io 'limits["io.max"]')
[ "$got" = "$want" ] || fail "after kill -9: status io.max '$got', want '$want'"
if is_v1 && [ -d "$(service_cgdir io devices)" ]; then
	dl=$(cat "$(service_cgdir io devices)/devices.list")
	grep -qx "b $MAJ:$MIN rw" <<<"$dl" && ! grep -q "^a " <<<"$dl" ||
		fail "after kill -9: devices.list $dl"
fi
[ "$(svc_field io devices.policy)" = true ] || fail "after kill -9: devices.policy not true"
pass "after kill -9 and adoption: io.max and the device policy hold"

stop_daemon || fail "daemon exit status $?"
