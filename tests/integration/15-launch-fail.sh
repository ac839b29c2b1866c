#!/bin/bash
# A service whose binary, rootfs or user is missing fails alone, with the
# step and errno as its reason; the others keep running.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
cat >"$T/services/f.yaml" <<YAML
services:
  nobin:
    rootfs: $T/root
    command: ["/bin/nope"]
  noroot:
    rootfs: $T/does-not-exist
    command: ["/bin/true"]
  nouser:
    rootfs: $T/root
    user: ghost
    command: ["/bin/true"]
  badcwd:
    rootfs: $T/root
    working_dir: /missing
    command: ["/bin/true"]
  fine:
    rootfs: $T/root
    user: svc
    command: ["/bin/sh", "-c", "id; exec sleep 1000"]
YAML
start_daemon
wait_for 10 state_is nobin failed || fail "nobin: $(svc_state nobin)"
[ "$(svc_field nobin last_exit.reason)" = "exec /bin/nope: No such file or directory" ] || fail "nobin reason: $(svc_field nobin last_exit.reason)"
pass "missing binary: $(svc_field nobin last_exit.reason)"
wait_for 10 state_is noroot failed || fail "noroot: $(svc_state noroot)"
svc_field noroot last_exit.reason | grep -q "rootfs $T/does-not-exist: No such file or directory" || fail "noroot reason: $(svc_field noroot last_exit.reason)"
pass "missing rootfs: $(svc_field noroot last_exit.reason)"
wait_for 10 state_is nouser failed || fail "nouser: $(svc_state nouser)"
svc_field nouser last_exit.reason | grep -q "user ghost" || fail "nouser reason"
pass "unknown user: $(svc_field nouser last_exit.reason)"
wait_for 10 state_is badcwd failed || fail "badcwd: $(svc_state badcwd)"
[ "$(svc_field badcwd last_exit.reason)" = "chdir /missing: No such file or directory" ] || fail "badcwd reason: $(svc_field badcwd last_exit.reason)"
pass "bad working_dir: $(svc_field badcwd last_exit.reason)"
wait_for 10 state_is fine running || fail "fine: $(svc_state fine)"
wait_for 5 grep -q 'uid=1000(svc) gid=1000(svc)' "$T/state/logs/fine.log" || fail "fine did not run as svc"
pass "the healthy service runs, as user svc"
