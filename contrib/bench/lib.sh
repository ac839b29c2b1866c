# contrib/bench/lib.sh - shared helpers for paddock's benchmarks.
# Benchmarks are not tests: they print figures (medians of repeated runs)
# next to the tool an operator would otherwise use, measured in the same run.
set -euo pipefail
BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$BENCH_TOP/build}
PADDOCKD=${PADDOCKD:-$BUILD_DIR/supervisor/paddockd}
PADDOCKCTL=${PADDOCKCTL:-$BUILD_DIR/supervisor/paddockctl}

now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }

# median of numbers on stdin
median() { sort -n | awk '{a[NR] = $1} END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# ensure_built: build paddock if the binaries are missing
ensure_built() {
	[ -x "$PADDOCKD" ] && [ -x "$PADDOCKCTL" ] || "$BENCH_TOP/contrib/setup.sh"
}

# bench_need PACKAGE...: install the Debian packages of the tools this
# benchmark compares with or drives (contrib/setup.sh installs only what
# paddock and its demo need); PADDOCK_SKIP_APT=1 leaves them to you.
bench_need() {
	"$BENCH_TOP/contrib/setup.sh" --no-build "$@"
}

# make_rootfs DIR: busybox-static root
make_rootfs() {
	local dir=$1
	mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/proc" "$dir/sys" "$dir/dev"
	cp /bin/busybox "$dir/bin/busybox"
	for a in $("$dir/bin/busybox" --list); do
		[ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$dir/etc/passwd"
	printf 'root:x:0:\n' >"$dir/etc/group"
}

wait_for() {
	local deadline=$(($(now_us) + $1 * 1000000))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(now_us)" -lt "$deadline" ] || return 1
		sleep 0.01
	done
}

# bench_ratio NAME VALUE lower|higher: a ratio the regression check
# (contrib/bench/check) compares with its baseline, "lower" or "higher"
# being the better direction. Recorded only when BENCH_RATIOS names a file.
bench_ratio() {
	[ -n "${BENCH_RATIOS:-}" ] || return 0
	printf '%s %s %s\n' "$1" "$2" "$3" >>"$BENCH_RATIOS"
}
