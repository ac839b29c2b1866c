#!/bin/bash
# When services together overrun their common parent's limit, the kernel's
# OOM killer spares the critical service and takes the batch one, although
# the critical one is the larger: the class sets oom_score_adj unless the
# spec does.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
M=$((1024 * 1024))
cat >"$T/paddockd.yaml" <<YAML
rebalance: {mode: off}
YAML
# dd holds its block buffer while it waits on a pipe nobody reads.
hold() { echo "[\"/bin/sh\", \"-c\", \"dd if=/dev/zero bs=$1 count=1 | sleep 100000\"]"; }
cat >"$T/services/a.yaml" <<YAML
services:
  db:
    rootfs: $T/root
    class: critical
    command: $(hold 150M)
  plain:
    rootfs: $T/root
    command: ["/bin/sleep", "100000"]
  pinned:
    rootfs: $T/root
    class: batch
    resources: {oom_score_adj: 7}
    command: ["/bin/sleep", "100000"]
YAML
start_daemon -c "$T/paddockd.yaml"
for s in db plain pinned; do wait_for 10 state_is $s running || fail "$s: $(svc_state $s)"; done
if is_v1; then memdir() { service_cgdir "$1" memory; }; else memdir() { service_cgdir "$1"; }; fi

# The service's processes below its init (init keeps paddockd's own value).
adj() {
	local p
	for p in $(cat "$(memdir "$1")/cgroup.procs"); do
		[ "$p" = "$(main_pid "$1")" ] || { cat "/proc/$p/oom_score_adj"; return; }
	done
}
# Where paddockd may lower a score (CAP_SYS_RESOURCE), critical goes to
# -900; where not, the other classes are raised above it instead.
if bash -c 'echo -1 >/proc/self/oom_score_adj' 2>/dev/null; then want="-900 0"; else want="0 300"; fi
[ "$(adj db) $(adj plain)" = "$want" ] ||
	fail "critical, standard: oom_score_adj $(adj db) $(adj plain), want $want"
[ "$(adj pinned)" = 7 ] || fail "the spec's oom_score_adj lost to the class: $(adj pinned)"
pass "oom_score_adj by class: critical, standard $want; the spec wins"

# Cap the services' common parent; db holds its 150M.
if is_v1; then
	root=$(cgroup_mount memory)$(own_cgroup memory); knob=memory.limit_in_bytes; use=memory.usage_in_bytes
else
	root=$(cgroup_mount "")$(own_cgroup ""); knob=memory.max; use=memory.current
fi
root=${root%/}/$CGROOT
echo $((256 * M)) >"$root/$knob" || fail "cannot cap $root"
wait_for 20 bash -c "[ \$(cat $(memdir db)/$use) -ge $((150 * M)) ]" ||
	fail "db never held 150M: $(cat "$(memdir db)/$use")"
dbpid=$(main_pid db)

# A batch job of 140M: together 290M against 256M. By size alone the
# kernel would kill db's dd, the larger.
cat >"$T/services/b.yaml" <<YAML
services:
  job:
    rootfs: $T/root
    class: batch
    restart: {policy: never}
    on_oom: stop
    command: $(hold 140M)
YAML
ctl reload >/dev/null || fail "reload"
oom_of() { ctl events --service "$1" --json | jq -e '[.[] | select(.type == "oom-kill")] | length > 0' >/dev/null; }
wait_for 30 oom_of job || fail "job not OOM-killed: $(svc_state job), db $(svc_state db)"
oom_of db && fail "the OOM killer took a process of the critical db"
state_is db running || fail "db no longer running: $(svc_state db)"
[ "$(main_pid db)" = "$dbpid" ] || fail "db was restarted (pid $dbpid -> $(main_pid db))"
pass "the parent's OOM took the batch job and spared the larger critical db"
