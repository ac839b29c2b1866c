#!/bin/bash
# Regression tests for the container escapes that hit runc, containerd and
# docker, each a named check. (CVE-2022-24769 is in 27-hardening; hostile
# layers are in test-image.)
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
mkdir -p "$T/data" && echo host-data >"$T/data/file"
mkdir -p "$T/secret" && echo host-secret >"$T/secret/file"

# Roots with planted symlinks (CVE-2019-16884 / CVE-2023-27561 class).
for what in proc sys dev; do
	cp -a "$T/root" "$T/evil-$what"
	rm -rf "$T/evil-$what/$what"
	ln -s "$T/secret" "$T/evil-$what/$what"
done
cp -a "$T/root" "$T/evil-target" && ln -s "$T/secret" "$T/evil-target/mnt-link"
cp -a "$T/root" "$T/nulllink" && rm -f "$T/nulllink/dev/null" && ln -s "$T/secret/file" "$T/nulllink/dev/null"
cp -a "$T/root" "$T/racy"
PADDOCKD_BIN=$(readlink -f "$PADDOCKD")
sum0=$(md5sum <"$PADDOCKD_BIN")
cat >"$T/services/e.yaml" <<YAML
services:
  probe:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "ls /proc/self/fd | tr '\\\\n' ' ' | sed 's/^/fds: /'; echo; (echo x >/proc/1/exe) 2>/dev/null && echo wrote-exe; cat /proc/1/exe >/dev/null 2>&1 && echo read-exe; mkdir -p /tmp/cg; mount -t cgroup -o memory none /tmp/cg 2>/dev/null && echo mounted-cgroupfs; mount -t cgroup2 none /tmp/cg 2>/dev/null && echo mounted-cgroup2; find / -xdev -name release_agent 2>/dev/null; echo done-probing; exec sleep 1000"]
    isolation:
      mounts:
        - {type: bind, source: $T/data, target: /srv/data, readonly: true}
        - {type: tmpfs, target: /var/scratch, size: 1M}
  evil-proc: {rootfs: $T/evil-proc, command: ["/bin/true"], restart: {policy: never}}
  evil-sys: {rootfs: $T/evil-sys, command: ["/bin/true"], restart: {policy: never}}
  evil-dev: {rootfs: $T/evil-dev, command: ["/bin/true"], restart: {policy: never}}
  evil-target:
    rootfs: $T/evil-target
    command: ["/bin/true"]
    restart: {policy: never}
    isolation: {mounts: [{type: bind, source: $T/data, target: /mnt-link/x}]}
  racy:
    rootfs: $T/racy
    command: ["/bin/sh", "-c", "test -f /race/t/file && echo mounted-ok"]
    restart: {policy: never}
    isolation: {mounts: [{type: bind, source: $T/data, target: /race/t}]}
  nulllink:
    rootfs: $T/nulllink
    command: ["/bin/sh", "-c", "stat -c '%F %t:%T' /dev/null; cat /dev/null; echo null-ok; exec sleep 1000"]
YAML
start_daemon
wait_for 10 grep -q 'stdout done-probing' "$T/state/logs/probe.log" || fail "probe did not run: $(cat $T/state/logs/probe.log)"

# CVE-2019-5736: the service cannot reach the paddock binary through pid 1.
grep -q 'stdout wrote-exe\|stdout read-exe' "$T/state/logs/probe.log" && fail "cve-2019-5736: /proc/1/exe reachable"
[ "$(md5sum <"$PADDOCKD_BIN")" = "$sum0" ] || fail "cve-2019-5736: the host binary changed"
pass "cve-2019-5736: /proc/1/exe (paddock's init) neither readable nor writable; host binary unchanged"

# CVE-2024-21626 / CVE-2016-9962: only 0, 1, 2 open (3 is ls's own directory).
fds=$(grep 'stdout fds: ' "$T/state/logs/probe.log" | sed 's/.*fds: //')
[ "$fds" = "0 1 2 3 " ] || fail "cve-2024-21626: fds open in the service: $fds"
for n in $(seq 3 20); do
	ctl run --wait --rm --rootfs "$T/root" --workdir "/proc/self/fd/$n" -- /bin/true >/dev/null 2>&1; rc=$?
	[ $rc = 127 ] || fail "cve-2024-21626: working_dir /proc/self/fd/$n started (exit $rc)"
done
pass "cve-2024-21626: only fds 0-2 in the service; working_dir /proc/self/fd/3..20 never starts"

# CVE-2019-16884 / CVE-2023-27561 class: planted symlinks refused, with a reason.
for what in proc sys dev; do
	wait_for 10 state_is "evil-$what" failed || fail "evil-$what: $(svc_state evil-$what)"
	svc_field "evil-$what" last_exit.reason | grep -q "^mount target $what: the image has a symlink there" ||
		fail "evil-$what: reason $(svc_field evil-$what last_exit.reason)"
done
wait_for 10 state_is evil-target failed || fail "evil-target: $(svc_state evil-target)"
svc_field evil-target last_exit.reason | grep -q "^mount target /mnt-link/x: the image has a symlink there" || fail "evil-target reason: $(svc_field evil-target last_exit.reason)"
[ "$(cat "$T/secret/file")" = host-secret ] && [ ! -e "$T/secret/x" ] || fail "something was mounted or created outside the root"
pass "cve-2019-16884 class: /proc, /sys, /dev and a mount target as symlinks refused: $(svc_field evil-proc last_exit.reason)"
wait_for 10 grep -q 'stdout null-ok' "$T/state/logs/nulllink.log" || fail "nulllink did not run"
grep -q 'stdout character special file 1:3' "$T/state/logs/nulllink.log" || fail "/dev/null is not the 1:3 device: $(cat $T/state/logs/nulllink.log)"
pass "an image's /dev/null symlink is covered: the service's /dev/null is the 1:3 device"

# CVE-2021-30465 class: a racer flips a bind target between dir and symlink.
(
	end=$(($(now_ms) + 8000))
	while [ "$(now_ms)" -lt "$end" ]; do
		rm -rf "$T/racy/race" 2>/dev/null; mkdir -p "$T/racy/race"
		rm -rf "$T/racy/race" 2>/dev/null; ln -s "$T/secret" "$T/racy/race"
	done
) &
racer=$!
EXTRA_PIDS="$EXTRA_PIDS $racer"
# racy already ran once at the daemon's start (no racer then): its clean
# exit is in the log and the event log, not in what the loop reads below.
clean_exits() { ctl events --service racy --json | jq '[.[] | select(.type == "exit" and .kind == "exited" and .code == 0)] | length'; }
clean0=$(clean_exits)
ok=0 refused=0
for i in $(seq 1 25); do
	t0=$(svc_field racy last_exit.time_ms)
	ctl start racy >/dev/null
	wait_for 10 bash -c "[ \"\$($PADDOCKCTL -s $T/run/control.sock status racy --json | jq -r '.[0].last_exit.time_ms')\" != \"$t0\" ] && $PADDOCKCTL -s $T/run/control.sock list --json | jq -e '.[] | select(.name == \"racy\") | .state == \"stopped\" or .state == \"failed\"'" || fail "racy did not settle"
	# exited 0: mounted at the real target; launch: refused (the symlink was
	# there); exited 1: mounted, then the racer unlinked the mountpoint.
	kc=$(svc_field racy last_exit.kind):$(svc_field racy last_exit.code)
	case $kc in
	exited:0) ok=$((ok + 1)) ;;
	launch:*) refused=$((refused + 1)) ;;
	esac
done
kill $racer 2>/dev/null; wait $racer 2>/dev/null
[ "$(cat "$T/secret/file")" = host-secret ] && [ ! -e "$T/secret/t" ] || fail "cve-2021-30465: a mount reached the symlink's target"
n=$(grep -c 'stdout mounted-ok' "$T/state/logs/racy.log")
clean=$(clean_exits)
[ "$n" = "$clean" ] || fail "cve-2021-30465: $clean clean exits but $n saw the mount"
# What status said of each run is what the event log says (47-exit-account
# covers the window in which they once disagreed).
[ "$ok" = $((clean - clean0)) ] || fail "status saw $ok clean exits, the event log $((clean - clean0))"
pass "cve-2021-30465 class: 25 starts against a racing symlink ($ok mounted at the real target, $refused refused, the rest lost the race harmlessly), nothing outside touched"

# CVE-2022-0492: no cgroupfs mount, no release_agent anywhere.
grep -q 'stdout mounted-cgroup' "$T/state/logs/probe.log" && fail "cve-2022-0492: cgroupfs mountable"
grep -q 'stdout .*release_agent' "$T/state/logs/probe.log" && fail "cve-2022-0492: a release_agent is visible"
pass "cve-2022-0492: cgroupfs cannot be mounted, no release_agent visible"

# The spec's mounts themselves land where they should (through the fd path).
pid=$(main_pid probe)
nsenter -t "$pid" -m cat /srv/data/file 2>/dev/null | grep -q host-data || fail "bind mount not at /srv/data"
nsenter -t "$pid" -m sh -c 'echo x >/srv/data/w' 2>/dev/null && fail "readonly bind is writable"
awk '$5 == "/var/scratch" {print $9}' /proc/$pid/mountinfo | grep -qx tmpfs || fail "tmpfs not at /var/scratch"
pass "bind (read-only) and tmpfs mounts at their targets"
