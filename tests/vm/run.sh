#!/usr/bin/env bash
# tests/vm/run.sh — run integration tests on a pure cgroup v2 kernel in a VM.
#
# Why: the development and CI hosts are hybrid (v1 controllers, v2 without
# memory/cpu), so pure cgroup v2 behaviour is tested in qemu (TCG, no KVM).
#
# Usage: tests/vm/run.sh [TEST...]
#   TEST: paths to bash test scripts (exit 0 pass, 1 fail, 77 skip).
#   Default: tests/vm/selftest.sh plus every tests/integration/*.sh that has
#   a line "# vm: yes".
#
# Flow:
#  1. Kernel (cached). If $CACHE/linux holds boot/vmlinuz-* and
#     lib/modules/<ver>/modules.order, use them: no apt at all. Otherwise
#     resolve linux-image-amd64 -> linux-image-<ver>-amd64 with apt-cache,
#     `apt-get download` both, `dpkg -x` the versioned one (nothing is
#     installed), keep boot/ and lib/modules/ in the cache. The package's
#     boot/config-* is checked for what we need (cgroup2 controllers, PSI,
#     overlayfs, namespaces); psi=1 goes on the command line if the kernel
#     was built with CONFIG_PSI_DEFAULT_DISABLED=y (Debian 12's is not).
#  2. Initramfs (gzip'd cpio newc) in a fresh work dir, merged-/usr layout:
#     - busybox (static) and its applet symlinks (only where nothing else is);
#     - /usr/bin/bash, util-linux unshare and nsenter from the host;
#     - $PADDOCKD, $PADDOCKCTL and every $PADDOCK_VM_BINS entry copied to
#       /usr/local/bin/<basename> (missing paddock binaries are skipped);
#     - every binary's ldd-resolved libraries and the dynamic loader, at the
#       same absolute paths as on the host;
#     - the kernel modules from $PADDOCK_VM_MODULES (default: overlay loop crc32c_generic ext4
#       and the bridge-network set, see DEFAULT_MODULES) and their dependencies (from .modinfo depends=), decompressed (.ko.xz/.zst/.gz -> .ko)
#       because busybox insmod only loads plain .ko files;
#     - the tests under /paddock/<path relative to the repo> (tests outside
#       the repo go to /paddock/tests/extra/), tests/lib.sh and any
#       sub-folders of tests/integration/ (fixtures);
#     - tests/vm/init.sh as /init (see that file for the in-VM side).
#  3. qemu-system-x86_64 -accel tcg -cpu max boots it with the serial console
#     captured to a log, under an overall timeout. init.sh prints
#     PADDOCK-VM-BEGIN/RESULT markers per test; we parse them, print each
#     test's output and PASS/FAIL/SKIP lines and a summary line. Exit 1 if a
#     test failed or the VM gave no complete result (then the tail of the
#     console log is shown); exit 2 on a usage or setup error.
#
# Tests run in the VM as root, from /paddock, in the root cgroup (cgroup2 at
# /sys/fs/cgroup with cpu, cpuset, io, memory, pids enabled in its
# subtree_control), with env:
#   PADDOCK_IN_VM=1  TESTS_DIR=/paddock/tests
#   PADDOCKD=/usr/local/bin/paddockd  PADDOCKCTL=/usr/local/bin/paddockctl
#   plus every PADDOCK_TEST_* variable of the caller, passed through.
# After each test, leftover processes and cgroups are killed and removed.
#
# Environment (all optional):
#   PADDOCK_VM_CACHE         kernel cache dir          (tests/vm/cache)
#   PADDOCK_VM_KERNEL_PKG    apt package to boot       (linux-image-amd64)
#   PADDOCK_VM_REFRESH=1     ignore the cached kernel and fetch again
#   PADDOCK_BUILDDIR         build tree                (repo top)
#   PADDOCKD, PADDOCKCTL     host binaries  ($PADDOCK_BUILDDIR/supervisor/...)
#   PADDOCK_VM_BINS          extra binaries/commands to copy ("stress-ng ...")
#   PADDOCK_VM_MODULES       kernel modules to insmod  (DEFAULT_MODULES below)
#   PADDOCK_VM_TIMEOUT       overall VM timeout, s     (900)
#   PADDOCK_VM_TEST_TIMEOUT  per-test timeout, s       (300)
#   PADDOCK_VM_MEM, PADDOCK_VM_SMP   VM size           (2G, 2)
#   PADDOCK_VM_ACCEL         qemu accelerator          (tcg; kvm is opt-in)
#   PADDOCK_VM_CPU           qemu -cpu model           (max; host with kvm)
#   PADDOCK_VM_APPEND        extra kernel command line
#   PADDOCK_VM_LOG           console log copy (tests/vm/work/console.log)
#   PADDOCK_VM_VERBOSE=1     stream the console while the VM runs
#   PADDOCK_VM_KEEP=1        keep the work dir (initramfs tree) for debugging

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)

CACHE=${PADDOCK_VM_CACHE:-$here/cache}
KERNEL_PKG=${PADDOCK_VM_KERNEL_PKG:-linux-image-amd64}
BUILDDIR=${PADDOCK_BUILDDIR:-$top}
HOST_PADDOCKD=${PADDOCKD:-$BUILDDIR/supervisor/paddockd}
HOST_PADDOCKCTL=${PADDOCKCTL:-$BUILDDIR/supervisor/paddockctl}
VM_BINS=${PADDOCK_VM_BINS:-}
# overlay: service roots; loop, ext4 (+crc32c): idmapped mounts in 35-userns.
# Bridge networks (54-networks): veth, bridge, and nf_tables with what
# paddock's table uses: nat chains, dnat, masquerade, fib, ct. Their
# dependencies (stp, llc, nfnetlink, nf_nat, nf_conntrack, nf_defrag_ipv4/6,
# libcrc32c, nft_fib) come from each module's depends=.
DEFAULT_MODULES="overlay loop crc32c_generic ext4 veth bridge nf_tables nft_chain_nat nft_nat nft_masq nft_fib_ipv4 nft_ct fuse"
VM_MODULES=${PADDOCK_VM_MODULES:-$DEFAULT_MODULES}
VM_TIMEOUT=${PADDOCK_VM_TIMEOUT:-900}
TEST_TIMEOUT=${PADDOCK_VM_TEST_TIMEOUT:-300}
VM_MEM=${PADDOCK_VM_MEM:-2G}
VM_SMP=${PADDOCK_VM_SMP:-2}
VM_ACCEL=${PADDOCK_VM_ACCEL:-tcg}
if [[ $VM_ACCEL == kvm* ]]; then VM_CPU=${PADDOCK_VM_CPU:-host}; else VM_CPU=${PADDOCK_VM_CPU:-max}; fi
VM_APPEND=${PADDOCK_VM_APPEND:-}
VM_LOG=${PADDOCK_VM_LOG:-$here/work/console.log}

log() { printf 'vm: %s\n' "$*" >&2; }
die() {
	printf 'vm: error: %s\n' "$*" >&2
	exit 2
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- arguments -------------------------------------------------------------
case "${1:-}" in
-h | --help)
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
esac

tests=()
if [[ $# -gt 0 ]]; then
	for t in "$@"; do
		[[ -f $t ]] || die "no such test: $t"
		tests+=("$(cd "$(dirname "$t")" && pwd)/$(basename "$t")")
	done
else
	[[ -f $here/selftest.sh ]] && tests+=("$here/selftest.sh")
	shopt -s nullglob
	for t in "$top"/tests/integration/*.sh; do
		if grep -qxE '#[[:space:]]*vm:[[:space:]]*yes[[:space:]]*' "$t"; then
			tests+=("$t")
		fi
	done
	shopt -u nullglob
fi
if [[ ${#tests[@]} -eq 0 ]]; then
	log "no test selected"
	echo "vm: 0 passed, 0 failed, 0 skipped"
	exit 0
fi

for tool in qemu-system-x86_64 cpio gzip timeout flock; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install qemu-system-x86 cpio)"
done
BUSYBOX=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"

# ---- work dir and cleanup ----------------------------------------------------
mkdir -p "$here/work" "$(dirname "$VM_LOG")"
work=$(mktemp -d "$here/work/run.XXXXXX")
qemu_pid=
tail_pid=
cleanup() {
	local rc=$?
	if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
	fi
	# The timeout(1) wrapper forwards the signal; make sure qemu itself is gone.
	if [[ -s $work/qemu.pid ]]; then
		local qp
		qp=$(cat "$work/qemu.pid" 2>/dev/null || true)
		if [[ -n $qp ]] && kill -0 "$qp" 2>/dev/null; then
			sleep 1
			kill -KILL "$qp" 2>/dev/null || true
		fi
	fi
	[[ -n $tail_pid ]] && kill "$tail_pid" 2>/dev/null || true
	if [[ ${PADDOCK_VM_KEEP:-0} = 1 ]]; then
		log "kept work dir $work"
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 1. kernel -------------------------------------------------------------
kdir=$CACHE/linux

kernel_cached() {
	local v
	v=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -n1) || return 1
	[[ -n $v ]] || return 1
	v=${v##*/vmlinuz-}
	[[ -f $kdir/lib/modules/$v/modules.order ]]
}

# Prints the versioned kernel image package behind $KERNEL_PKG.
resolve_kernel_pkg() {
	if [[ $KERNEL_PKG =~ ^linux-image-[0-9] ]]; then
		echo "$KERNEL_PKG"
		return
	fi
	apt-cache depends --no-recommends --no-suggests --no-enhances \
		"$KERNEL_PKG" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^<?linux-image-[0-9]/ { gsub(/[<>]/, "", $2); print $2; exit }'
}

fetch_kernel() {
	command -v apt-get >/dev/null || die "no cached kernel in $kdir and no apt-get"
	local pkg
	pkg=$(resolve_kernel_pkg)
	if [[ -z $pkg && $(id -u) = 0 ]]; then
		log "apt-cache knows no $KERNEL_PKG; running apt-get update"
		apt-get update -qq >&2 || true
		pkg=$(resolve_kernel_pkg)
	fi
	[[ -n $pkg ]] || die "cannot resolve the kernel package behind $KERNEL_PKG (apt-get update?)"
	local dl
	dl=$(mktemp -d "$CACHE/dl.XXXXXX")
	chmod 755 "$dl"
	# apt drops to user _apt when it can write the target dir.
	id _apt >/dev/null 2>&1 && [[ $(id -u) = 0 ]] && chown _apt "$dl" 2>/dev/null || true
	log "downloading $KERNEL_PKG and $pkg"
	local pkgs=("$pkg")
	[[ $KERNEL_PKG != "$pkg" ]] && pkgs=("$KERNEL_PKG" "$pkg")
	(cd "$dl" && apt-get download -q "${pkgs[@]}" >&2) || {
		rm -rf "$dl"
		die "apt-get download ${pkgs[*]} failed"
	}
	local deb
	deb=$(ls "$dl/${pkg}"_*.deb | head -n1)
	log "unpacking $(basename "$deb")"
	dpkg -x "$deb" "$dl/x" || {
		rm -rf "$dl"
		die "dpkg -x $deb failed"
	}
	mkdir -p "$dl/linux/lib"
	mv "$dl/x/boot" "$dl/linux/boot"
	# usrmerge-era packages may ship modules under usr/lib/modules.
	if [[ -d $dl/x/lib/modules ]]; then
		mv "$dl/x/lib/modules" "$dl/linux/lib/modules"
	elif [[ -d $dl/x/usr/lib/modules ]]; then
		mv "$dl/x/usr/lib/modules" "$dl/linux/lib/modules"
	else
		rm -rf "$dl"
		die "$deb has no lib/modules"
	fi
	dpkg-deb -f "$deb" Package Version >"$dl/linux/PACKAGE"
	rm -rf "$kdir"
	mv "$dl/linux" "$kdir"
	rm -rf "$dl"
}

t_start=$(now)
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 # one fetch at a time per cache
if [[ ${PADDOCK_VM_REFRESH:-0} = 1 ]] || ! kernel_cached; then
	fetch_kernel
	kernel_cached || die "kernel cache $kdir incomplete after fetch"
	log "kernel fetched in $(elapsed "$t_start")s"
else
	log "using cached kernel in $kdir (no apt)"
fi
flock -u 9
exec 9>&-

vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -n1)
kver=${vmlinuz##*/vmlinuz-}
kconfig=$kdir/boot/config-$kver
mdir=$kdir/lib/modules/$kver

# Command line: console on the serial port, die fast, no cgroup v1 at all.
append="console=ttyS0 quiet panic=-1 rdinit=/init cgroup_no_v1=all"
if [[ -f $kconfig ]]; then
	missing=()
	for opt in CGROUPS MEMCG CGROUP_SCHED FAIR_GROUP_SCHED CFS_BANDWIDTH \
		CGROUP_PIDS BLK_CGROUP CGROUP_FREEZER PSI PID_NS NET_NS UTS_NS \
		IPC_NS BLK_DEV_INITRD RD_GZIP DEVTMPFS TMPFS SERIAL_8250_CONSOLE; do
		grep -q "^CONFIG_$opt=y" "$kconfig" || missing+=("$opt")
	done
	grep -qE '^CONFIG_OVERLAY_FS=[ym]' "$kconfig" || missing+=(OVERLAY_FS)
	[[ ${#missing[@]} -eq 0 ]] || log "warning: kernel $kver lacks CONFIG_{${missing[*]}}"
	if grep -q '^CONFIG_PSI_DEFAULT_DISABLED=y' "$kconfig"; then
		append+=" psi=1"
	fi
else
	log "warning: no config-$kver in the kernel package; adding psi=1 to be safe"
	append+=" psi=1"
fi
[[ -n $VM_APPEND ]] && append+=" $VM_APPEND"

# ---- 2. initramfs ------------------------------------------------------------
t_initrd=$(now)
root=$work/root
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,usr/local/sbin} \
	"$root"/{dev,proc,sys,tmp,run,etc,root,mnt,var/tmp,paddock/tests}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp" "$root/var/tmp"

declare -A copied=()
# copy_file SRC [DEST]: copy dereferenced, DEST relative to the initramfs root
# (default: same absolute path as on the host).
copy_file() {
	local src=$1 dest=${2:-$1}
	[[ -n ${copied[$dest]:-} ]] && return 0
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$src" "$root$dest"
	copied[$dest]=1
}
# copy_bin SRC DEST: the binary plus its shared libraries and loader.
copy_bin() {
	local src=$1 dest=$2 lib
	copy_file "$src" "$dest"
	chmod 755 "$root$dest"
	# ldd fails for static binaries and scripts: nothing more to copy.
	while read -r lib; do
		[[ -n $lib ]] && copy_file "$lib"
	done < <(ldd "$src" 2>/dev/null | awk '
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }' || true)
}

copy_bin "$BUSYBOX" /usr/bin/busybox
copy_bin "$(command -v bash)" /usr/bin/bash
for t in unshare nsenter; do
	p=$(command -v "$t" 2>/dev/null) || continue
	# util-linux's, not busybox's applet (busybox --install may point there).
	[[ $(readlink -f "$p") == */busybox ]] && continue
	copy_bin "$p" "/usr/bin/$t"
done
# The static sd_notify client the notify tests copy into service roots.
[[ -x $BUILDDIR/tests/helpers/sdnotify ]] &&
	copy_bin "$BUILDDIR/tests/helpers/sdnotify" /usr/local/bin/sdnotify
# paddockctl execs paddockctl-image, found beside it, for its image commands.
for p in "$HOST_PADDOCKD" "$HOST_PADDOCKCTL" "$(dirname "$HOST_PADDOCKCTL")/paddockctl-image"; do
	if [[ -f $p ]]; then
		copy_bin "$p" "/usr/local/bin/$(basename "$p")"
	else
		log "note: $p not built, not copied"
	fi
done
for b in $VM_BINS; do
	p=$b
	[[ $p == */* ]] || p=$(command -v "$b" 2>/dev/null) || die "PADDOCK_VM_BINS: $b not found"
	[[ -f $p ]] || die "PADDOCK_VM_BINS: $p not found"
	copy_bin "$p" "/usr/local/bin/$(basename "$p")"
done
# Busybox applets wherever nothing real was copied.
while read -r applet; do
	[[ -n $applet ]] || continue
	[[ -e $root/$applet || -L $root/$applet ]] && continue
	mkdir -p "$(dirname "$root/$applet")"
	ln -s /usr/bin/busybox "$root/$applet"
done < <("$BUSYBOX" --list-full)

# Kernel modules with their dependencies, in load order. The package ships
# no modules.dep (its postinst runs depmod, which the host may not have), so
# find modules through modules.order and read dependencies from each
# module's .modinfo "depends=" string.
: >"$root/paddock/modules.list"
declare -A mod_done=()
find_module() { # find_module NAME: prints the path relative to $mdir
	local pat rel ext
	pat=${1//[-_]/[-_]}
	while read -r rel; do
		for ext in "" .xz .zst .gz; do
			[[ -f $mdir/$rel$ext ]] && { echo "$rel$ext"; return 0; }
		done
	done < <(grep -E "(^|/)${pat}\.ko(\.xz|\.zst|\.gz)?\$" "$mdir/modules.order" || true)
	rel=$(cd "$mdir" && find kernel -regextype posix-extended \
		-regex ".*/${pat}\.ko(\.xz|\.zst|\.gz)?" | head -n1)
	[[ -n $rel ]] && echo "$rel"
}
add_module() { # add_module NAME
	local name=${1//-/_} rel out dep
	[[ -n ${mod_done[$name]:-} ]] && return 0
	mod_done[$name]=1
	rel=$(find_module "$name") || true
	if [[ -z $rel ]]; then
		grep -qE "/${name//_/[-_]}\.ko" "$mdir/modules.builtin" 2>/dev/null &&
			return 0 # built in: nothing to load
		die "kernel module $1 not found in $mdir"
	fi
	out=/lib/modules/$kver/${rel%.xz}
	out=${out%.zst}
	out=${out%.gz}
	mkdir -p "$root$(dirname "$out")"
	case $rel in
	*.xz) xz -dc "$mdir/$rel" >"$root$out" ;;
	*.zst) zstd -qdc "$mdir/$rel" >"$root$out" ;;
	*.gz) gzip -dc "$mdir/$rel" >"$root$out" ;;
	*) cp "$mdir/$rel" "$root$out" ;;
	esac
	for dep in $(tr '\0' '\n' <"$root$out" | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_module "$dep"
	done
	echo "$out" >>"$root/paddock/modules.list"
}
for m in $VM_MODULES; do add_module "$m"; done

# Tests, their library and fixtures.
: >"$root/paddock/tests.list"
for t in "${tests[@]}"; do
	if [[ $t == "$top"/* ]]; then
		rel=${t#"$top"/}
	else
		rel=tests/extra/$(basename "$t")
	fi
	copy_file "$t" "/paddock/$rel"
	printf '%s\t%s\n' "$rel" "/paddock/$rel" >>"$root/paddock/tests.list"
done
[[ -f $top/tests/lib.sh ]] && copy_file "$top/tests/lib.sh" /paddock/tests/lib.sh
for d in "$top"/tests/integration/*/; do
	[[ -d $d ]] || continue
	mkdir -p "$root/paddock/tests/integration"
	cp -a "$d" "$root/paddock/tests/integration/"
done

# Environment and settings for init.sh / the tests.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
	echo "PADDOCK_VM_TEST_TIMEOUT=$(shq "$TEST_TIMEOUT")"
} >"$root/paddock/vm.conf"
{
	echo "export PADDOCK_IN_VM=1 TESTS_DIR=/paddock/tests"
	echo "export PADDOCKD=/usr/local/bin/$(basename "$HOST_PADDOCKD")"
	echo "export PADDOCKCTL=/usr/local/bin/$(basename "$HOST_PADDOCKCTL")"
	while IFS='=' read -r var _; do
		echo "export $var=$(shq "${!var}")"
	done < <(env | grep -E '^PADDOCK_TEST_[A-Za-z0-9_]*=' || true)
} >"$root/paddock/env"

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
EOF
cat >"$root/etc/hosts" <<'EOF'
127.0.0.1	localhost paddock-vm
::1	localhost ip6-localhost ip6-loopback
EOF
echo paddock-vm >"$root/etc/hostname"
: >"$root/etc/fstab"
ln -s /proc/self/mounts "$root/etc/mtab"

cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
# Without /dev/console in the archive the kernel starts init without stdio;
# init.sh copes (it reopens the console after mounting devtmpfs), but have
# the node when we can make it.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

initrd=$work/initrd.gz
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$initrd"
log "initramfs $(du -h "$initrd" | cut -f1) built in $(elapsed "$t_initrd")s (kernel $kver)"

# ---- 3. boot -----------------------------------------------------------------
console=$work/console.log
: >"$console"
qemu=(qemu-system-x86_64 -nographic -no-reboot -no-user-config
	-accel "$VM_ACCEL" -cpu "$VM_CPU" -m "$VM_MEM" -smp "$VM_SMP"
	-nic none -kernel "$vmlinuz" -initrd "$initrd" -append "$append"
	-pidfile "$work/qemu.pid")
log "booting: ${qemu[*]}"
t_boot=$(now)
timeout -k 10 "$VM_TIMEOUT" "${qemu[@]}" </dev/null >"$console" 2>&1 &
qemu_pid=$!
if [[ ${PADDOCK_VM_VERBOSE:-0} = 1 ]]; then
	tail -n +1 -f --pid="$qemu_pid" "$console" |
		sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[A-Za-z=>]//g' >&2 &
	tail_pid=$!
fi
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=
[[ -n $tail_pid ]] && { wait "$tail_pid" 2>/dev/null || true; tail_pid=; }
vm_secs=$(elapsed "$t_boot")
cp "$console" "$VM_LOG" 2>/dev/null || true

# ---- 4. results ----------------------------------------------------------------
# Drop CRs and the terminal escapes SeaBIOS/the kernel print (they can
# precede a marker on the same line).
sed -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][A-Za-z0-9]//g' \
	-e 's/\x1b[A-Za-z=>]//g' <"$console" >"$work/console.txt"
declare -A result=() secs=()
outdir=$work/out
mkdir -p "$outdir"
current=
ready=
done_seen=
n=0
declare -A outfile=()
while IFS= read -r line; do
	# A marker may follow text without a newline (SeaBIOS, kernel messages).
	if [[ $line =~ PADDOCK-VM-(READY|BEGIN|RESULT|DONE)(.*)$ ]]; then
		[[ -n $current && $line != PADDOCK-VM-* ]] &&
			printf '%s\n' "${line%%PADDOCK-VM-*}" >>"${outfile[$current]}"
		line=PADDOCK-VM-${BASH_REMATCH[1]}${BASH_REMATCH[2]}
	fi
	case $line in
	PADDOCK-VM-READY\ *)
		ready=${line#PADDOCK-VM-READY }
		;;
	PADDOCK-VM-BEGIN\ *)
		current=${line#PADDOCK-VM-BEGIN }
		n=$((n + 1))
		outfile[$current]=$outdir/$n
		: >"${outfile[$current]}"
		;;
	PADDOCK-VM-RESULT\ *)
		read -r _ name rc s <<<"$line"
		result[$name]=$rc
		secs[$name]=$s
		current=
		;;
	PADDOCK-VM-DONE*)
		done_seen=1
		;;
	*)
		if [[ -n $current ]]; then
			printf '%s\n' "$line" >>"${outfile[$current]}"
		fi
		;;
	esac
done <"$work/console.txt"

passed=0 failed=0 skipped=0
for t in "${tests[@]}"; do
	if [[ $t == "$top"/* ]]; then name=${t#"$top"/}; else name=tests/extra/$(basename "$t"); fi
	echo "=== $name"
	[[ -n ${outfile[$name]:-} ]] && cat "${outfile[$name]}"
	rc=${result[$name]:-}
	if [[ -z $rc ]]; then
		echo "FAIL $name (no result from the VM)"
		failed=$((failed + 1))
	elif [[ $rc = 0 ]]; then
		echo "PASS $name (${secs[$name]}s)"
		passed=$((passed + 1))
	elif [[ $rc = 77 ]]; then
		echo "SKIP $name"
		skipped=$((skipped + 1))
	elif [[ $rc = 124 ]]; then
		echo "FAIL $name (timed out after ${TEST_TIMEOUT}s)"
		failed=$((failed + 1))
	else
		echo "FAIL $name (exit $rc, ${secs[$name]}s)"
		failed=$((failed + 1))
	fi
done

bad_vm=
if [[ -z $done_seen ]]; then
	bad_vm=1
	if [[ $qemu_rc = 124 || $qemu_rc = 137 ]]; then
		log "VM timed out after ${VM_TIMEOUT}s (PADDOCK_VM_TIMEOUT)"
	elif [[ -z $ready ]]; then
		log "VM never got ready (qemu exit $qemu_rc): kernel panic or init failure?"
	else
		log "VM stopped before finishing the tests (qemu exit $qemu_rc)"
	fi
	log "last 60 lines of the console ($VM_LOG):"
	tail -n 60 "$work/console.txt" >&2
fi
log "kernel $kver, VM ${ready:+ready at ${ready%% *}s uptime, }ran ${vm_secs}s, total $(elapsed "$t_start")s"
echo "vm: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 && -z $bad_vm ]] || exit 1
exit 0
