#!/bin/bash
# The service runs in its own pid, mount, uts, ipc, net and cgroup
# namespaces, on its rootfs, with only lo in its network namespace.
# A user namespace without a network one (sysfs refuses to mount there)
# gets the host's /sys bound read-only, masked like a fresh one.
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
    command: ["/bin/sh", "-c", "hostname; cat /marker; ls /sys/class/net; ip -o link; ps -o pid,comm; ls /dev; sed 's/^/cg /' /proc/self/cgroup; stat -c 'mode %n %f %a %u:%g %t:%T' /dev /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/pts /dev/shm /dev/mqueue /dev/paddock; for l in ptmx fd stdin stdout stderr; do echo link /dev/\$\$l \$\$(readlink /dev/\$\$l); done; exec sleep 1000"]
  usernet:
    rootfs: $T/root
    restart: {policy: never}
    isolation: {network: host, namespaces: [pid, mount, uts, ipc, user], user: {map: "0:300000:65536"}}
    command: ["/bin/sh", "-c", "grep -E ' /sys(/firmware)? ' /proc/self/mountinfo | cut -d' ' -f5,6 | sed 's/^/mi /'; echo end"]
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
# Exact types, modes, owners and device numbers (the umask must not show).
wait_for 5 grep -q 'stdout link /dev/stderr ' "$T/state/logs/ns.log" || fail "no /dev listing from the service"
for want in "/dev 41ed 755 0:0 0:0" "/dev/null 21b6 666 0:0 1:3" "/dev/zero 21b6 666 0:0 1:5" \
	"/dev/full 21b6 666 0:0 1:7" "/dev/random 21b6 666 0:0 1:8" "/dev/urandom 21b6 666 0:0 1:9" \
	"/dev/tty 21b6 666 0:0 5:0" "/dev/pts 41ed 755 0:0 0:0" "/dev/shm 43ff 1777 0:0 0:0" \
	"/dev/mqueue 41ed 755 0:0 0:0" "/dev/paddock 41ed 755 0:0 0:0"; do
	grep -q "stdout mode $want\$" "$T/state/logs/ns.log" ||
		fail "/dev: want '$want', saw '$(grep "stdout mode ${want%% *} " "$T/state/logs/ns.log")'"
done
for want in "ptmx pts/ptmx" "fd /proc/self/fd" "stdin /proc/self/fd/0" "stdout /proc/self/fd/1" \
	"stderr /proc/self/fd/2"; do
	grep -q "stdout link /dev/$want\$" "$T/state/logs/ns.log" || fail "/dev/${want%% *} is not a link to ${want#* }"
done
pass "/dev nodes, directories and links with exact modes and numbers"
# What is mounted on /dev and below it, with which options.
pid=$(main_pid ns)
# (kernels before 6.6 list tmpfs's default inode64: not ours, left out)
mi() { awk -v m="$1" '$5 == m { s = 0; for (i = 7; i <= NF; i++) if ($i == "-") s = i; o = $(s + 3); sub(/,inode64/, "", o); print $6, $(s + 1), o }' "/proc/$pid/mountinfo"; }
mi /dev | grep -qx 'rw,nosuid,noexec tmpfs rw,size=65536k,mode=755' || fail "/dev mount: $(mi /dev)"
mi /dev/pts | grep -qx 'rw,nosuid,noexec,relatime devpts rw,mode=620,ptmxmode=666' || fail "/dev/pts mount: $(mi /dev/pts)"
mi /dev/shm | grep -qx 'rw,nosuid,nodev,noexec,relatime tmpfs rw,size=65536k' || fail "/dev/shm mount: $(mi /dev/shm)"
mi /dev/paddock | grep -q '^ro,nosuid,nodev,noexec,relatime ' || fail "/dev/paddock mount: $(mi /dev/paddock)"
mi /proc | grep -qx 'rw,nosuid,nodev,noexec,relatime proc rw' || fail "/proc mount: $(mi /proc)"
mi /sys | grep -qx 'ro,nosuid,nodev,noexec,relatime sysfs ro' || fail "/sys mount: $(mi /sys)"
pass "/proc, /sys, /dev, /dev/pts, /dev/shm and /dev/paddock mounted with their options"
# The cgroup namespace is rooted at the service's own cgroup, in every hierarchy.
grep -q 'stdout cg ' "$T/state/logs/ns.log" || fail "no /proc/self/cgroup output"
bad=$(grep 'stdout cg ' "$T/state/logs/ns.log" | grep -v 'name=systemd' | grep -v ':/$' || true)
[ -z "$bad" ] || fail "cgroup namespace not rooted at the service's cgroup: $bad"
pass "cgroup namespace rooted at the service's cgroup"
# User namespace, host network: the host's sysfs, read-only, still masked.
usernet_done() { grep -q 'stdout end' "$T/state/logs/usernet.log" || state_is usernet failed; }
wait_for 10 usernet_done || fail "usernet: $(svc_state usernet)"
if grep -q 'stdout end' "$T/state/logs/usernet.log"; then
	grep -q 'stdout mi /sys ro,' "$T/state/logs/usernet.log" || fail "usernet: /sys not read-only: $(cat "$T/state/logs/usernet.log")"
	[ ! -d /sys/firmware ] || grep -q 'stdout mi /sys/firmware ro,nosuid,nodev,noexec' "$T/state/logs/usernet.log" ||
		fail "usernet: /sys/firmware not masked: $(cat "$T/state/logs/usernet.log")"
	pass "user namespace without a network one: host /sys bound read-only, /sys/firmware masked"
else
	# Idmapped mounts need the root's filesystem to support them (35-userns).
	# Under valgrind (tests/valgrind.sh) open_tree is ENOSYS: no idmapped mount either.
	reason=$(svc_field usernet last_exit.reason)
	log "usernet did not start ($reason): not checked"
	case $reason in
	*idmap* | *IDMAP* | *Idmap*) ;;
	*"open_tree"*"Function not implemented"*) [ -n "${PADDOCK_DAEMON_WRAPPER:-}" ] || fail "usernet: $reason" ;;
	*) fail "usernet: $reason" ;;
	esac
fi
# The rootfs mounts happened in the service's namespace only.
grep -q " $T/root" /proc/self/mountinfo && fail "service mounts leaked to the host"
pass "no mount leaked to the host"
