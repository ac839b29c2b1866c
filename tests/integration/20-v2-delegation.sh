#!/bin/bash
# Pure cgroup v2 delegation, as under systemd with Delegate=yes: paddockd
# started in its own cgroup with no cgroup_root moves itself into the leaf
# <own>/supervisor, enables controllers in <own>, and puts each service in
# <own>/<service> with its limits; on exit it leaves <own> as it was.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
is_v1 && skip "pure cgroup v2 only (runs in the VM)"
make_rootfs "$T/root"
cat >"$T/services/d.yaml" <<YAML
services:
  web:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    resources: {memory: {max: 48M}, pids: {max: 30}}
YAML
# Our "unit": a cgroup below ours, as systemd would delegate it. lib.sh's
# cleanup removes everything below $CGROOT.
own="$(cgroup_mount "")$(own_cgroup "")"; own=${own%/}/$CGROOT
mkdir "$own"
bash -c "echo \$\$ >'$own/cgroup.procs' && exec '$PADDOCKD' -f -v -S '$T/services' \
	--state-dir '$T/state' --runtime-dir '$T/run'" >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_for 10 test -S "$T/run/control.sock" || fail "daemon did not start"
wait_for 10 state_is web running || fail "web not running"
grep -qx "$DAEMON_PID" "$own/supervisor/cgroup.procs" || fail "paddockd not in $own/supervisor"
pass "paddockd moved itself into <own>/supervisor"
for c in memory pids; do
	grep -qw "$c" "$own/cgroup.subtree_control" || fail "$c not enabled in <own>"
done
pass "controllers enabled in <own>: $(cat "$own/cgroup.subtree_control")"
grep -qx "$(main_pid web)" "$own/web/cgroup.procs" || fail "web not in <own>/web"
[ "$(cat "$own/web/memory.max")" = $((48 * 1024 * 1024)) ] || fail "memory.max in <own>/web"
[ "$(cat "$own/web/pids.max")" = 30 ] || fail "pids.max in <own>/web"
pass "service in <own>/web with its limits"
stop_daemon || fail "paddockd exit status"
[ -d "$own/web" ] && fail "service cgroup left"
[ -d "$own/supervisor" ] && fail "supervisor leaf left"
pass "shutdown leaves <own> empty"
