#!/bin/bash
# The service runs in its own pid, mount, uts, ipc, net and cgroup
# namespaces, on its rootfs, with only lo in its network namespace.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
echo "this is the service root" >"$T/root/marker"
cat >"$T/services/ns.yaml" <<YAML
services:
  ns:
    rootfs: $T/root
    hostname: inside
    command: ["/bin/sh", "-c", "hostname; cat /marker; ls /sys/class/net; ip -o link; ps -o pid,comm; ls /dev; sed 's/^/cg /' /proc/self/cgroup; exec sleep 1000"]
YAML
start_daemon
wait_for 10 state_is ns running || fail "ns not running"
pid=$(main_pid ns)
for ns in pid mnt uts ipc net cgroup; do
	a=$(readlink /proc/self/ns/$ns); b=$(readlink /proc/$pid/ns/$ns)
	[ -n "$b" ] && [ "$a" != "$b" ] || fail "$ns namespace not new: host $a, service $b"
	pass "$ns namespace differs ($b)"
done
wait_for 5 grep -q 'stdout inside$' "$T/state/logs/ns.log" || fail "hostname not set"
pass "hostname is 'inside'"
grep -q 'this is the service root' "$T/state/logs/ns.log" || fail "/ is not the rootfs"
pass "/ is the rootfs"
# Only lo, and it is up.
links=$(grep -c 'stdout [0-9]*: ' "$T/state/logs/ns.log")
[ "$links" = 1 ] || fail "expected only lo in network namespace, saw $links links"
grep -q 'stdout 1: lo: <LOOPBACK,UP' "$T/state/logs/ns.log" || fail "lo not up"
pass "only lo, up"
# /proc shows only the service's processes: init (pid 1) and sh (pid 2).
n=$(grep -cE 'stdout +[0-9]+ +(paddock-init|sh|ps|sleep)' "$T/state/logs/ns.log")
grep -qE 'stdout +1 ' "$T/state/logs/ns.log" || fail "no pid 1 in service's ps"
grep -qE 'stdout +[0-9]{3,} ' "$T/state/logs/ns.log" && fail "host pids visible in service /proc"
pass "/proc shows only the service's $n processes"
for d in null zero full random urandom tty ptmx pts shm; do
	grep -q "stdout $d\$" "$T/state/logs/ns.log" || fail "/dev/$d missing"
done
pass "minimal /dev present"
# The cgroup namespace is rooted at the service's own cgroup, in every hierarchy.
grep -q 'stdout cg ' "$T/state/logs/ns.log" || fail "no /proc/self/cgroup output"
bad=$(grep 'stdout cg ' "$T/state/logs/ns.log" | grep -v 'name=systemd' | grep -v ':/$' || true)
[ -z "$bad" ] || fail "cgroup namespace not rooted at the service's cgroup: $bad"
pass "cgroup namespace rooted at the service's cgroup"
# The rootfs mounts happened in the service's namespace only.
grep -q " $T/root" /proc/self/mountinfo && fail "service mounts leaked to the host"
pass "no mount leaked to the host"
