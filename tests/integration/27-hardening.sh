#!/bin/bash
# Least privilege: docker's default capability set (bounding, permitted,
# effective), empty inheritable and ambient sets, no_new_privs, the default
# seccomp filter, masked and read-only kernel paths; capabilities add/drop;
# a non-root service holds no capabilities, even through a file with
# file capabilities (CVE-2022-24769 class).
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
mkdir -p "$T/root/mnt" "$T/root/home/svc"

# Print the capability lines and probe what the service may do (spec text:
# $$ is one literal $ for the shell).
probe='grep -E "^(Cap|NoNewPrivs|Seccomp)" /proc/self/status | sed "s/^/st-/"
mount -t tmpfs none /mnt 2>/dev/null && echo mount=ok || echo mount=refused
echo kcore=$$(head -c 16 /proc/kcore 2>/dev/null | wc -c)
echo keys=$$(cat /proc/keys 2>/dev/null | wc -c)
(: >/proc/sysrq-trigger) 2>/dev/null && echo sysrq=writable || echo sysrq=refused
(echo x >/proc/sys/kernel/hostname) 2>/dev/null && echo procsys=writable || echo procsys=refused
unshare -U true 2>/dev/null && echo userns=ok || echo userns=refused
echo probe-done
exec sleep 1000'

have_setcap=""
if command -v setcap >/dev/null 2>&1; then
	cp "$T/root/bin/busybox" "$T/root/bin/busybox-caps"
	if setcap cap_net_admin+ei "$T/root/bin/busybox-caps" 2>/dev/null; then
		have_setcap=1
	else
		log "setcap failed on $T (no xattrs?): skipping the file capability case"
	fi
fi

svc_yaml() { # NAME EXTRA-YAML
	cat >"$T/services/$1.yaml" <<YAML
services:
  $1:
    rootfs: $T/root
$2
    command: ["/bin/sh", "-c", $(printf '%s' "$probe" | jq -Rs .)]
YAML
}
need_cmd jq
svc_yaml def ""
svc_yaml dropall "    isolation: {capabilities: {drop: [ALL]}}"
svc_yaml admin "    isolation: {capabilities: {add: [SYS_ADMIN]}}"
svc_yaml nonroot "    user: svc"
svc_yaml unconf "    isolation: {seccomp: unconfined, capabilities: {add: [CAP_NET_ADMIN], drop: [kill]}}"
if [ -n "$have_setcap" ]; then
	cat >"$T/services/filecap.yaml" <<YAML
services:
  filecap:
    rootfs: $T/root
    user: svc
    command: ["/bin/busybox-caps", "sh", "-c", "grep -E '^Cap' /proc/\$\$\$\$/status | sed 's/^/st-/'; echo probe-done; exec sleep 1000"]
  filecaproot:
    rootfs: $T/root
    command: ["/bin/busybox-caps", "sh", "-c", "grep -E '^Cap' /proc/\$\$\$\$/status | sed 's/^/st-/'; echo probe-done; exec sleep 1000"]
YAML
fi
start_daemon

logf() { echo "$T/state/logs/$1.log"; }
# field SERVICE NAME: value of "NAME:" in the service's /proc/self/status
field() { grep "stdout st-$2:" "$(logf "$1")" | tail -n 1 | awk '{print $NF}'; }
probe_of() { grep -o "stdout $2=.*" "$(logf "$1")" | tail -n 1 | sed "s/^stdout $2=//"; }
done_probe() { grep -q 'stdout probe-done' "$(logf "$1")"; }

services="def dropall admin nonroot unconf"
[ -n "$have_setcap" ] && services="$services filecap filecaproot"
for s in $services; do
	wait_for 10 done_probe "$s" || fail "$s: no probe output (state $(svc_state "$s"))"
done

DEF=00000000a80425fb
# Default service: docker's set, nothing inheritable or ambient, nnp, filter.
[ "$(field def CapInh)" = 0000000000000000 ] || fail "def: CapInh $(field def CapInh)"
[ "$(field def CapAmb)" = 0000000000000000 ] || fail "def: CapAmb $(field def CapAmb)"
for f in CapBnd CapPrm CapEff; do
	[ "$(field def $f)" = $DEF ] || fail "def: $f $(field def $f), want $DEF"
done
[ "$(field def NoNewPrivs)" = 1 ] || fail "def: NoNewPrivs $(field def NoNewPrivs)"
[ "$(field def Seccomp)" = 2 ] || fail "def: Seccomp $(field def Seccomp)"
pass "default: CapBnd=CapPrm=CapEff=$DEF, CapInh=CapAmb=0, NoNewPrivs 1, Seccomp 2"

[ "$(probe_of def mount)" = refused ] || fail "def: mount of a tmpfs was allowed"
pass "default: mount refused"
[ "$(probe_of def userns)" = refused ] || fail "def: a new user namespace was allowed"
pass "default: new user namespace refused ($(probe_of unconf userns) when unconfined)"
[ "$(probe_of def kcore)" = 0 ] || fail "def: /proc/kcore readable ($(probe_of def kcore) bytes)"
[ "$(probe_of def keys)" = 0 ] || fail "def: /proc/keys readable"
pass "default: /proc/kcore and /proc/keys masked"
[ "$(probe_of def sysrq)" = refused ] || fail "def: /proc/sysrq-trigger writable"
[ "$(probe_of def procsys)" = refused ] || fail "def: /proc/sys writable"
pass "default: /proc/sysrq-trigger and /proc/sys read-only"
pid=$(main_pid def)
if [ -n "$pid" ] && [ -r "/proc/$pid/mountinfo" ]; then
	grep -E ' /proc/sys ' "/proc/$pid/mountinfo" | grep -qE ' ro[, ]' ||
		fail "def: /proc/sys is not a read-only mount: $(grep ' /proc/sys ' "/proc/$pid/mountinfo")"
	pass "default: /proc/sys mounted read-only"
	for m in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/acpi /proc/scsi \
		/sys/firmware /sys/devices/virtual/powercap; do
		[ -e "$m" ] || continue # absent on this kernel: nothing to mask
		grep -q " $m " "/proc/$pid/mountinfo" || fail "def: $m is not masked"
	done
	pass "default: masked paths have a mount over them"
	# How: a file under the null device, a directory under an empty
	# read-only tmpfs; the writable kernel knobs under read-only binds.
	# (kernels before 6.6 list tmpfs's default inode64: not ours, left out)
	mi() { awk -v m="$1" '$5 == m { s = 0; for (i = 7; i <= NF; i++) if ($i == "-") s = i; o = $(s + 3); sub(/,inode64/, "", o); print $4, $6, $(s + 1), o }' "/proc/$pid/mountinfo"; }
	for m in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/acpi /proc/scsi \
		/sys/firmware /sys/devices/virtual/powercap; do
		if [ -d "$m" ]; then
			mi "$m" | grep -qx '/ ro,nosuid,nodev,noexec,relatime tmpfs ro,mode=555' || fail "def: $m: $(mi "$m")"
		elif [ -e "$m" ]; then
			mi "$m" | grep -qx '/null rw,nosuid,noexec tmpfs rw,size=65536k,mode=755' || fail "def: $m: $(mi "$m")"
			[ "$(nsenter -t "$pid" -m stat -c '%F %t:%T' "$m")" = "character special file 1:3" ] ||
				fail "def: $m is not the null device: $(nsenter -t "$pid" -m stat -c '%F %t:%T' "$m")"
		fi
	done
	pass "default: masked files are /dev/null, masked directories an empty read-only tmpfs"
	for m in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
		[ -e "$m" ] || continue
		mi "$m" | grep -qx "${m#/proc} ro,nosuid,nodev,noexec,relatime proc rw" || fail "def: $m: $(mi "$m")"
	done
	pass "default: /proc/bus, fs, irq, sys, sysrq-trigger are read-only binds of the service's /proc"
fi

[ "$(field dropall CapEff)" = 0000000000000000 ] || fail "dropall: CapEff $(field dropall CapEff)"
[ "$(field dropall CapBnd)" = 0000000000000000 ] || fail "dropall: CapBnd $(field dropall CapBnd)"
pass "drop ALL: no capabilities at all"

want=$(printf '%016x' $((0x$DEF | (1 << 21))))
[ "$(field admin CapEff)" = "$want" ] || fail "admin: CapEff $(field admin CapEff), want $want"
[ "$(probe_of admin mount)" = ok ] || fail "admin: mount refused although SYS_ADMIN was added"
[ "$(field admin Seccomp)" = 2 ] || fail "admin: Seccomp $(field admin Seccomp)"
pass "add SYS_ADMIN: CapEff $want, mount allowed"

[ "$(field nonroot CapEff)" = 0000000000000000 ] || fail "nonroot: CapEff $(field nonroot CapEff)"
[ "$(field nonroot CapPrm)" = 0000000000000000 ] || fail "nonroot: CapPrm $(field nonroot CapPrm)"
[ "$(field nonroot CapBnd)" = $DEF ] || fail "nonroot: CapBnd $(field nonroot CapBnd)"
[ "$(field nonroot NoNewPrivs)" = 1 ] || fail "nonroot: NoNewPrivs"
pass "non-root service: no capabilities, bounding set $DEF"

want=$(printf '%016x' $(((0x$DEF | (1 << 12)) & ~(1 << 5))))
[ "$(field unconf CapEff)" = "$want" ] || fail "unconf: CapEff $(field unconf CapEff), want $want"
[ "$(field unconf Seccomp)" = 0 ] || fail "unconf: Seccomp $(field unconf Seccomp)"
[ "$(field unconf NoNewPrivs)" = 1 ] || fail "unconf: NoNewPrivs"
pass "seccomp unconfined: no filter, caps +NET_ADMIN -KILL = $want"

if [ -n "$have_setcap" ]; then
	[ "$(field filecap CapEff)" = 0000000000000000 ] ||
		fail "filecap: non-root exec of a cap_net_admin+ei file gained $(field filecap CapEff)"
	[ "$(field filecap CapPrm)" = 0000000000000000 ] || fail "filecap: CapPrm $(field filecap CapPrm)"
	[ "$(field filecap CapInh)" = 0000000000000000 ] || fail "filecap: CapInh $(field filecap CapInh)"
	[ "$(field filecaproot CapEff)" = $DEF ] ||
		fail "filecaproot: root exec of a file-caps file got $(field filecaproot CapEff)"
	pass "file capabilities give nothing (non-root 0, root stays at $DEF)"
else
	log "setcap unavailable: file capability case not run"
fi
grep -q " $T/root" /proc/self/mountinfo && fail "service mounts leaked to the host"
exit 0
