#!/bin/bash
# Every resource knob of the spec is in the cgroup before the service runs,
# read back from cgroupfs (v1/hybrid files on the host, v2 files in the VM).
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
cat >"$T/services/limits.yaml" <<YAML
services:
  lim:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    resources:
      memory: {min: 16M, low: 32M, high: 96M, max: 128M}
      cpu: {weight: 200, max: 0.5, cpus: "0"}
      pids: {max: 42}
      io: {weight: 300}
YAML
start_daemon
wait_for 10 state_is lim running || fail "lim not running"
pid=$(main_pid lim)

check() { # check FILE EXPECTED
	local got
	got=$(cat "$1" 2>/dev/null) || fail "cannot read $1"
	[ "$got" = "$2" ] || fail "$1: expected '$2', got '$got'"
	pass "$(basename "$1") = $2"
}
M=$((1024 * 1024))
if is_v1; then
	check "$(service_cgdir lim memory)/memory.limit_in_bytes" $((128 * M))
	check "$(service_cgdir lim memory)/memory.soft_limit_in_bytes" $((32 * M))
	check "$(service_cgdir lim cpu)/cpu.shares" 2048
	check "$(service_cgdir lim cpu)/cpu.cfs_quota_us" 50000
	check "$(service_cgdir lim cpu)/cpu.cfs_period_us" 100000
	check "$(service_cgdir lim cpuset)/cpuset.cpus" 0
	check "$(service_cgdir lim pids)/pids.max" 42
	for c in memory cpu pids cpuset; do
		grep -qx "$pid" "$(service_cgdir lim $c)/cgroup.procs" || fail "pid $pid not in $c cgroup"
	done
	grep -q "memory.min cannot be expressed" "$T/daemon.log" || fail "no warning for memory.min on v1"
	grep -q "memory.high cannot be expressed" "$T/daemon.log" || fail "no warning for memory.high on v1"
	pass "v1 warnings for min and high"
else
	d=$(service_cgdir lim)
	check "$d/memory.min" $((16 * M))
	check "$d/memory.low" $((32 * M))
	check "$d/memory.high" $((96 * M))
	check "$d/memory.max" $((128 * M))
	check "$d/cpu.weight" 200
	check "$d/cpu.max" "50000 100000"
	check "$d/cpuset.cpus" 0
	check "$d/pids.max" 42
	if [ -f "$d/io.weight" ]; then check "$d/io.weight" "default 300"; fi
	grep -qx "$pid" "$d/cgroup.procs" || fail "pid $pid not in $d"
fi
# The same values through the daemon's own read-back.
[ "$(svc_field lim 'limits["memory.max"]')" = $((128 * M)) ] || fail "status memory.max wrong"
[ "$(svc_field lim 'limits["pids.max"]')" = 42 ] || fail "status pids.max wrong"
pass "status reports the limits read back"
