#!/bin/bash
# tests/fuzz/run.sh - build the libFuzzer harnesses (clang, ASan, UBSan) and
# run each for SECONDS seconds (default 60) on a copy of its seed corpus.
# Prints "PASS fuzz-NAME (N execs)" or "FAIL fuzz-NAME" per harness and
# exits non-zero if any crashed. Needs clang and libclang-rt-14-dev; the
# unpack harness needs root (mknod, chown).
#   tests/fuzz/run.sh [SECONDS] [NAME...]
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(config compose oci unpack state seccomp control notify dns registry api sse etcd)
command -v clang >/dev/null || { echo "SKIP fuzz: no clang"; exit 77; }
W=$(mktemp -d /tmp/paddock-fuzz.XXXXXX)
trap 'rm -rf "$W"' EXIT
S=$top/supervisor
CF="-g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE"
build() {
	case $1 in
	config) clang $CF -I"$top/config" "$top/tests/fuzz/fuzz-config.c" "$top"/config/[a-z]*.c \
		-lyaml -o "$W/fuzz-config" ;;
	compose) clang $CF -I"$top/config" "$top/tests/fuzz/fuzz-compose.c" "$top"/config/[a-z]*.c \
		-lyaml -o "$W/fuzz-compose" ;;
	oci | unpack) clang $CF -I"$S/image" -I"$S/common" -I"$top/config" "$top/tests/fuzz/fuzz-$1.c" \
		"$S"/image/image*.c "$S"/image/registry-ref.c "$S"/common/*.c -larchive -lcrypto -ljson-c -lsystemd \
		-o "$W/fuzz-$1" ;;
	state) clang $CF -I"$S/core" -I"$S/common" -I"$top/config" -I"$top/probes" "$top/tests/fuzz/fuzz-state.c" \
		"$S/core/state.c" "$S"/common/*.c -ljson-c -lsystemd -o "$W/fuzz-state" ;;
	seccomp) clang $CF -I"$S/launch" -I"$S/common" -I"$top/config" "$top/tests/fuzz/fuzz-seccomp.c" \
		"$S/launch/seccomp-profile.c" "$S/common/error.c" -ljson-c -lseccomp -lcap -o "$W/fuzz-seccomp" ;;
	control) clang $CF -I"$S/core" -I"$S/common" "$top/tests/fuzz/fuzz-control.c" \
		"$S/core/control-parse.c" "$S/common/error.c" -ljson-c -o "$W/fuzz-control" ;;
	api) clang $CF -I"$S/core" "$top/tests/fuzz/fuzz-api.c" "$S/core/api-parse.c" -o "$W/fuzz-api" ;;
	notify) clang $CF -I"$S/core" -I"$S/common" "$top/tests/fuzz/fuzz-notify.c" \
		"$S/core/notify-parse.c" "$S/common/error.c" -o "$W/fuzz-notify" ;;
	registry) clang $CF -I"$S/image" -I"$S/common" "$top/tests/fuzz/fuzz-registry.c" \
		"$S/image/registry-auth.c" "$S/image/registry-ref.c" "$S"/common/*.c -ljson-c -lsystemd \
		-o "$W/fuzz-registry" ;;
	sse) clang $CF -I"$S/ctl" -I"$S/common" "$top/tests/fuzz/fuzz-sse.c" \
		"$S/ctl/remote-parse.c" "$S/common/error.c" -ljson-c -o "$W/fuzz-sse" ;;
	etcd) clang $CF -I"$S/fleet" "$top/tests/fuzz/fuzz-etcd.c" "$S/fleet/etcd-parse.c" \
		-ljson-c -o "$W/fuzz-etcd" ;;
	dns) clang $CF -I"$S/net" -I"$S/common" -I"$top/config" "$top/tests/fuzz/fuzz-dns.c" \
		"$S/net/dns.c" -o "$W/fuzz-dns" ;;
	esac
}
rc=0
for n in "${names[@]}"; do
	if ! build "$n" 2>"$W/build-$n.log"; then
		echo "FAIL fuzz-$n (build)"; tail -n 20 "$W/build-$n.log"; rc=1; continue
	fi
	mkdir -p "$W/corpus-$n" && cp -r "$top/tests/fuzz/corpus/$n/." "$W/corpus-$n/"
	# -timeout: one input may take 20 s at most (libFuzzer's default is 20 min,
	# which once ate half of CI's budget on a libseccomp hang).
	(cd "$W" && LSAN_OPTIONS="suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0" \
		./fuzz-$n -max_total_time="$secs" -timeout=20 -print_final_stats=1 -rss_limit_mb=2048 \
		"$W/corpus-$n" >"$W/run-$n.log" 2>&1)
	r=$?
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$W/run-$n.log" | grep -o '[0-9]*$')
	if [ $r = 0 ]; then
		echo "PASS fuzz-$n (${execs:-?} execs in ${secs}s)"
	else
		echo "FAIL fuzz-$n (exit $r)"; grep -A 30 'ERROR\|==ERROR' "$W/run-$n.log" | head -n 40; rc=1
		# The input that failed, so a CI log is enough to reproduce it.
		for f in "$W"/crash-* "$W"/timeout-* "$W"/leak-* "$W"/oom-*; do
			[ -f "$f" ] || continue
			echo "input $(basename "$f") ($(stat -c %s "$f") bytes), base64:"
			head -c 8192 "$f" | base64 -w 100
			rm -f "$f"
		done
	fi
done
exit $rc
