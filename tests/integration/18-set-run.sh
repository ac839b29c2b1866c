#!/bin/bash
# paddockctl set changes limits live (read back from cgroupfs), refuses a
# memory.max below usage instead of OOM-killing, refuses (naming knob and
# host mode, applying nothing) a knob the host cannot express, and on v1
# status says what the soft limit means; keeps changes across
# restarts until --reset; run --wait returns the command's status and
# --rm leaves nothing behind.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
cat >"$T/services/s.yaml" <<YAML
services:
  app:
    rootfs: $T/root
    # 40M in a tmpfs: charged to the cgroup, and no swap here to reclaim it to.
    command: ["/bin/sh", "-c", "dd if=/dev/zero of=/dev/shm/ballast bs=1M count=40 && echo filled && exec sleep 1000"]
    resources: {memory: {max: 96M}, pids: {max: 50}}
YAML
start_daemon
wait_for 10 grep -q 'stdout filled' "$T/state/logs/app.log" || fail "app did not fill its memory"
M=$((1024 * 1024))
if is_v1; then
	mem() { cat "$(service_cgdir app memory)/memory.limit_in_bytes"; }
	cpumax() { echo "$(cat "$(service_cgdir app cpu)/cpu.cfs_quota_us") $(cat "$(service_cgdir app cpu)/cpu.cfs_period_us")"; }
	pidsmax() { cat "$(service_cgdir app pids)/pids.max"; }
	ooms() { grep '^oom_kill ' "$(service_cgdir app memory)/memory.oom_control" | awk '{print $2}'; }
else
	mem() { cat "$(service_cgdir app)/memory.max"; }
	cpumax() { cat "$(service_cgdir app)/cpu.max"; }
	pidsmax() { cat "$(service_cgdir app)/pids.max"; }
	ooms() { grep '^oom_kill ' "$(service_cgdir app)/memory.events" | awk '{print $2}'; }
fi

ctl set app memory.max=80M cpu.max=0.25 pids.max=33 >"$T/out" || fail "set failed: $(cat $T/out)"
[ "$(mem)" = $((80 * M)) ] || fail "memory.max not applied: $(mem)"
[ "$(cpumax)" = "25000 100000" ] || fail "cpu.max not applied: $(cpumax)"
[ "$(pidsmax)" = 33 ] || fail "pids.max not applied: $(pidsmax)"
grep -q "memory.max=$((80 * M))" "$T/out" || fail "set did not print the read-back value"
pass "set applies memory.max, cpu.max, pids.max at once (read back)"

pid=$(main_pid app)
ctl set app memory.max=16M >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] || fail "memory.max below usage: exit $rc: $(cat $T/out)"
grep -q 'refused' "$T/out" || fail "no clear refusal: $(cat $T/out)"
[ "$(mem)" = $((80 * M)) ] || fail "memory.max changed after refusal: $(mem)"
[ "$(main_pid app)" = "$pid" ] && kill -0 "$pid" || fail "app was disturbed"
[ "$(ooms)" = 0 ] || fail "an OOM kill happened"
pass "memory.max below usage refused, nothing changed: $(cat $T/out)"

ctl set app cpu.weight=0 >/dev/null 2>&1; [ $? = 2 ] || fail "invalid weight not a usage error"
ctl set app memory.max=12Q >/dev/null 2>&1; [ $? = 2 ] || fail "invalid size not a usage error"
ctl set nosuch memory.max=1G >/dev/null 2>&1; [ $? = 3 ] || fail "unknown service not exit 3"
pass "bad values and unknown services rejected"

# A knob the host cannot express: refused, named with the host mode, and
# nothing of the request written (memory.max given with it stays as it was).
if is_v1; then
	high() { echo "-"; }
	soft() { cat "$(service_cgdir app memory)/memory.soft_limit_in_bytes"; }
else
	high() { cat "$(service_cgdir app)/memory.high"; }
	soft() { cat "$(service_cgdir app)/memory.low"; }
fi
before_mem=$(mem) before_pids=$(pidsmax)
ctl set app memory.max=90M pids.max=44 memory.high=70M >"$T/out" 2>&1; rc=$?
if is_v1; then
	[ $rc = 1 ] || fail "memory.high on v1: exit $rc: $(cat "$T/out")"
	grep -Eq "set app: memory.high: not supported on this host \(cgroup (v1|hybrid): memory controller is v1\); use memory.max" "$T/out" ||
		fail "refusal does not name the knob and the host mode: $(cat "$T/out")"
	[ "$(mem)" = "$before_mem" ] && [ "$(pidsmax)" = "$before_pids" ] ||
		fail "a refused set changed limits: memory.max $(mem), pids.max $(pidsmax)"
	[ "$(svc_field app 'limits["memory.max"]')" = "$before_mem" ] || fail "status changed after a refused set"
	ctl set app memory.min=8M >"$T/out" 2>&1 && fail "memory.min on v1 accepted"
	grep -q "memory.min: not supported on this host" "$T/out" || fail "memory.min refusal: $(cat "$T/out")"
	# Values that ask nothing of the missing knob still pass: high=max is its default.
	ctl set app memory.high=max >/dev/null || fail "memory.high=max (a no-op) refused"
	pass "set memory.high/min on a v1 memory controller: refused by name, nothing applied ($(cat "$T/out"))"
	# What the v1 soft limit means, in words rather than \"low max\".
	ctl status app >"$T/status"
	grep -q 'soft-limit ' "$T/status" || fail "status on v1 does not name the soft limit: $(grep Memory "$T/status")"
	grep -q 'low max' "$T/status" && fail "status on v1 still reads 'low max'"
	[ "$(soft)" -ge $((1 << 60)) ] && { grep -q 'soft-limit unlimited (v1: no reclaim protection)' "$T/status" ||
		fail "unlimited soft limit not explained: $(grep Memory "$T/status")"; }
	[ "$(svc_field app memory_controller)" = v1 ] || fail "status --json: memory_controller $(svc_field app memory_controller)"
	pass "status on v1: $(grep Memory "$T/status" | sed 's/^ *//')"
else
	[ $rc = 0 ] || fail "memory.high on v2 refused: $(cat "$T/out")"
	[ "$(high)" = $((70 * M)) ] && [ "$(mem)" = $((90 * M)) ] && [ "$(pidsmax)" = 44 ] ||
		fail "memory.high with others on v2 not applied: high $(high) max $(mem) pids $(pidsmax)"
	pass "set memory.high on v2: applied with the rest"
fi

ctl restart app >/dev/null || fail "restart"
wait_for 10 state_is app running || fail "app not running after restart"
[ "$(pidsmax)" = "$(is_v1 && echo 33 || echo 44)" ] || fail "set value lost on restart: $(pidsmax)"
[ "$(svc_field app pinned)" = true ] || fail "status does not show the pin"
pass "set values survive a restart"
ctl set app --reset >/dev/null || fail "reset"
[ "$(pidsmax)" = 50 ] && [ "$(mem)" = $((96 * M)) ] || fail "reset did not restore the spec: $(pidsmax) $(mem)"
pass "set --reset restores the spec's limits"

ctl run --wait --rm --rootfs "$T/root" --memory-max 32M --pids-max 10 -- /bin/sh -c 'echo from-run; exit 42' >"$T/out"; rc=$?
[ $rc = 42 ] || fail "run --wait returned $rc, expected 42"
grep -qx from-run "$T/out" || fail "run --wait did not stream the output"
pass "run --wait streams output and returns the exit status"
ctl run --wait --rm --rootfs "$T/root" --name oneshot -- /bin/true || fail "run /bin/true"
[ -z "$(ctl list --json | jq -r '.[] | select(.name == "oneshot") | .name')" ] || fail "--rm left the service"
[ -e "$T/state/logs/oneshot.log" ] && fail "--rm left the log file"
for c in "" memory pids cpu; do [ -d "$(service_cgdir oneshot $c)" ] && fail "--rm left cgroup $c"; done
pass "--rm leaves no service, log or cgroup"
ctl run --wait --rootfs "$T/root" --name kept -- /bin/sh -c 'kill -9 $$'; rc=$?
[ $rc = 137 ] || fail "signal death returned $rc"
state_is kept failed || fail "transient without --rm not kept: $(svc_state kept)"
pass "run without --rm stays listed; death by SIGKILL returns 137"
# Not running (no cgroup to look at): the host's mode still says no to what v1 lacks.
if is_v1; then
	ctl set kept memory.high=10M >"$T/out" 2>&1 && fail "memory.high on a stopped service accepted on v1"
	grep -q "set kept: memory.high: not supported on this host" "$T/out" || fail "stopped service: $(cat "$T/out")"
	ctl set kept memory.max=10M >/dev/null 2>&1 || fail "memory.max on a stopped service refused"
	pass "a service without a cgroup: memory.high refused from the host's mode, memory.max kept"
fi
