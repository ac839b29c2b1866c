#!/bin/bash
# The rebalancer's default memory budget is what the daemon's cgroup
# ancestry allows, not host RAM: paddockd started inside a capped parent
# (the v1 memory hierarchy on a hybrid host, memory.max on pure v2) plans
# for the cap minus the reserve, and says so in `paddockd -n` and in
# `status --json`, naming the file; the same for a CPU quota of half a
# CPU (v1 cfs quota, v2 cpu.max). A later change of the cap is a budget
# event with the old and new figures. An explicit budget: still wins.
# The capped parent is <own>/$CGROOT, so lib.sh's cleanup removes it (and
# the daemon's root below it) on every exit path.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; setup
M=$((1024 * 1024))

if is_v1; then
	CAP="$(cgroup_mount memory)$(own_cgroup memory)"
	LIMIT=memory.limit_in_bytes
	CPUCAP="$(cgroup_mount cpu)$(own_cgroup cpu)"
	CPULIMIT=cpu.cfs_quota_us
else
	CAP="$(cgroup_mount "")$(own_cgroup "")"
	LIMIT=memory.max
	for c in memory cpu; do
		grep -qw $c "${CAP%/}/cgroup.subtree_control" ||
			echo +$c >"${CAP%/}/cgroup.subtree_control" 2>/dev/null ||
			skip "cannot enable the $c controller below our own cgroup"
	done
	CPUCAP=$CAP
	CPULIMIT=cpu.max
fi
CAP=${CAP%/}/$CGROOT
CPUCAP=${CPUCAP%/}/$CGROOT
mkdir "$CAP" || fail "cannot create $CAP"
[ -d "$CPUCAP" ] || mkdir "$CPUCAP" || fail "cannot create $CPUCAP"
echo $((300 * M)) >"$CAP/$LIMIT" || fail "cannot set $LIMIT of $CAP"
# Half a CPU.
if is_v1; then
	echo 100000 >"$CPUCAP/cpu.cfs_period_us" && echo 50000 >"$CPUCAP/cpu.cfs_quota_us"
else
	echo "50000 100000" >"$CPUCAP/cpu.max"
fi || fail "cannot set $CPULIMIT of $CPUCAP"

# Runs a command from inside the capped parent (start_daemon's wrapper hook).
cat >"$T/incap" <<SH
#!/bin/sh
echo \$\$ >"$CAP/cgroup.procs" || exit 1
[ "$CPUCAP" = "$CAP" ] || echo \$\$ >"$CPUCAP/cgroup.procs" || exit 1
exec "\$@"
SH
chmod +x "$T/incap"

cat >"$T/paddockd.yaml" <<YAML
budget: {reserve: 64M}
rebalance: {mode: observe}
probe_interval: 500ms
YAML
cat >"$T/services/s.yaml" <<YAML
services:
  idle:
    command: ["/bin/sleep", "1000"]
YAML

# -n from inside the cap: 300M minus 64M, from the cap's limit file.
"$T/incap" "$PADDOCKD" -n -c "$T/paddockd.yaml" -S "$T/services" >"$T/check.out" 2>&1 ||
	fail "paddockd -n: $(cat "$T/check.out")"
want="memory budget 236 MiB ($LIMIT of $CAP, minus reserve 64 MiB)"
grep -qxF "$want" "$T/check.out" || fail "paddockd -n: want '$want', got: $(cat "$T/check.out")"
pass "paddockd -n: $want"
want="cpu budget 0.50 CPUs ($CPULIMIT of $CPUCAP)"
grep -qxF "$want" "$T/check.out" || fail "paddockd -n: want '$want', got: $(cat "$T/check.out")"
pass "paddockd -n: $want"

# The same outside the cap: not the cap's figure (host RAM or our own ancestry).
"$PADDOCKD" -n -c "$T/paddockd.yaml" -S "$T/services" >"$T/check-host.out" 2>&1 ||
	fail "paddockd -n outside the cap: $(cat "$T/check-host.out")"
grep -q "^memory budget .*of $CAP" "$T/check-host.out" &&
	fail "paddockd -n outside the cap names the cap: $(cat "$T/check-host.out")"

# An explicit budget wins, and the source says what it overrides.
cat >"$T/explicit.yaml" <<YAML
budget: {memory: 1G, reserve: 64M}
YAML
"$T/incap" "$PADDOCKD" -n -c "$T/explicit.yaml" -S "$T/services" >"$T/check-x.out" 2>&1 ||
	fail "paddockd -n (explicit): $(cat "$T/check-x.out")"
want="memory budget 960 MiB (budget.memory in $T/explicit.yaml, explicit: wins over 300 MiB of $LIMIT of $CAP, minus reserve 64 MiB)"
grep -qxF "$want" "$T/check-x.out" || fail "explicit budget: want '$want', got: $(cat "$T/check-x.out")"
pass "explicit budget wins and names the tighter ancestor"

PADDOCK_DAEMON_WRAPPER="$T/incap" start_daemon -c "$T/paddockd.yaml"
wait_for 10 state_is idle running || fail "idle not running"
budget() { ctl status idle --json | jq -r ".[0].rebalance.budget.$1"; }
[ "$(budget memory)" = $((236 * M)) ] || fail "status budget $(budget memory), want $((236 * M))"
[ "$(budget memory_source)" = "$LIMIT of $CAP, minus reserve 64 MiB" ] ||
	fail "status budget source: $(budget memory_source)"
grep -q "memory budget 236 MiB ($LIMIT of $CAP" "$T/daemon.log" || fail "start-up log does not give the budget"
[ "$(budget cpu)" = 0.5 ] && [ "$(budget cpu_source)" = "$CPULIMIT of $CPUCAP" ] ||
	fail "status cpu budget: $(budget cpu) from $(budget cpu_source)"
pass "status --json: budget 236 MiB from $LIMIT of $CAP"

# Lower the cap: the daemon notices within its re-read period.
echo $((200 * M)) >"$CAP/$LIMIT" || fail "cannot lower $LIMIT"
budget_event() { ctl events --json | jq -e "[.[] | select(.type == \"budget\" and .memory_to == $((136 * M)))] | length == 1"; }
wait_for 20 budget_event || fail "no budget event for 136 MiB: $(ctl events --json | jq -c '[.[] | select(.type == "budget")]')"
ev=$(ctl events --json | jq -c '[.[] | select(.type == "budget")][0]')
[ "$(jq -r .memory_from <<<"$ev")" = $((236 * M)) ] || fail "budget event from: $ev"
[ "$(jq -r .memory_source <<<"$ev")" = "$LIMIT of $CAP, minus reserve 64 MiB" ] || fail "budget event source: $ev"
[ "$(budget memory)" = $((136 * M)) ] || fail "status after the change: $(budget memory)"
grep -q "rebalance: budget changed: memory 236 MiB -> 136 MiB" "$T/daemon.log" || fail "no log line for the change"
pass "cap lowered to 200M: budget event 236 -> 136 MiB, status follows"
stop_daemon || fail "daemon exit status $?"
