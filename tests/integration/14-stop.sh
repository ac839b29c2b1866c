#!/bin/bash
# Stop sends the spec's signal, escalates to SIGKILL of the whole group
# after the timeout, and removes the cgroup; daemon SIGTERM leaves nothing.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
cat >"$T/services/s.yaml" <<YAML
services:
  polite:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "trap 'echo got-usr1; exit 0' USR1; sleep 1000 & wait"]
    stop: {signal: SIGUSR1, timeout: 10s}
  stubborn:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "trap '' TERM; sleep 1000 & sleep 1000 & wait"]
    stop: {timeout: 300ms}
  hostfs:
    command: ["/bin/sleep", "1000"]
    isolation: {namespaces: [mount, uts, ipc, net]}
  other:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
YAML
start_daemon
for s in polite stubborn hostfs other; do wait_for 10 state_is $s running || fail "$s not running"; done
if is_v1; then cg() { service_cgdir "$1" pids; }; else cg() { service_cgdir "$1"; }; fi

ppid=$(main_pid polite)
ctl stop polite >/dev/null || fail "stop polite"
state_is polite stopped || fail "polite: $(svc_state polite)"
grep -q 'stdout got-usr1' "$T/state/logs/polite.log" || fail "stop signal SIGUSR1 not delivered"
[ -d "$(cg polite)" ] && fail "polite cgroup left"
kill -0 "$ppid" 2>/dev/null && fail "polite pid still alive"
pass "stop with the spec's signal, cgroup removed"

procs=$(cat "$(cg stubborn)/cgroup.procs" | xargs)
ctl stop stubborn >/dev/null || fail "stop stubborn"
state_is stubborn stopped || fail "stubborn: $(svc_state stubborn)"
grep -q 'stubborn: did not stop within 300 ms' "$T/daemon.log" || fail "no escalation logged"
for p in $procs; do kill -0 "$p" 2>/dev/null && fail "process $p of stubborn survived"; done
[ -d "$(cg stubborn)" ] && fail "stubborn cgroup left"
pass "SIGKILL escalation after the timeout killed all of: $procs"

ctl stop hostfs >/dev/null && state_is hostfs stopped || fail "hostfs stop"
pass "host-filesystem service stops"

# Daemon SIGTERM: everything stops, all cgroups go, exit status 0.
opid=$(main_pid other)
stop_daemon || fail "paddockd exited non-zero on SIGTERM"
kill -0 "$opid" 2>/dev/null && fail "service survived daemon SIGTERM"
for s in polite stubborn hostfs other; do [ -d "$(cg $s)" ] && fail "cgroup of $s left after shutdown"; done
[ -z "$(ls -A "$T/run")" ] || fail "runtime dir not empty after shutdown: $(ls -A "$T/run")"
pass "SIGTERM stops every service and removes the cgroups; the runtime dir is left empty"
