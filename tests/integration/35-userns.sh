#!/bin/bash
# User namespaces (isolation.user): a service mapped 0:200000:65536 shows
# that map in /proc/PID/uid_map, runs as host uid 200000 while `id -u`
# inside says 0; the image's root-owned files appear owned by 0 inside
# (idmapped lower layers under the overlay), and what the service writes
# lands in its upper dir owned by host uid 200000. A plain rootfs gets an
# idmapped bind mount. `map: auto` gives two services distinct ranges.
# Root inside cannot read a host root's 0600 file bound in; user 1000 is
# host uid HOSTUID+1000; a root on ramfs (never idmappable) fails to start
# with that reason.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd umoci; setup
grep -q overlay /proc/filesystems || skip "no overlayfs"
# Idmapped mounts need the filesystem's support: tmpfs has it from Linux 6.3
# only, so on an older kernel with the test dir on tmpfs (the VM) the state
# dir and the rootfs go on a loop-mounted ext4.
fs=$T
case $(stat -f -c %T "$T") in
tmpfs | ramfs)
	kv=$(uname -r)
	if [ "${kv%%.*}" -lt 6 ] || { [ "${kv%%.*}" = 6 ] && [ "$(echo "$kv" | cut -d. -f2)" -lt 3 ]; }; then
		# busybox mke2fs wants a block device; mount -o loop detaches at umount.
		truncate -s 512M "$T/ext4.img" && dev=$(losetup -f) && losetup "$dev" "$T/ext4.img" &&
			{ mke2fs -q "$dev" >/dev/null; r=$?; losetup -d "$dev"; [ $r = 0 ]; } &&
			mkdir -p "$T/fs" && mount -o loop -t ext4 "$T/ext4.img" "$T/fs" ||
			skip "no idmapped tmpfs before Linux 6.3, and no loop-mounted ext4 either"
		mkdir -p "$T/fs/state" && mount --bind "$T/fs/state" "$T/state" || fail "bind state dir"
		fs=$T/fs
		log "state dir and rootfs on a loop-mounted ext4 (tmpfs is not idmappable on $kv)"
	fi
	;;
esac
make_image "$T/img"
make_rootfs "$fs/root"
# ramfs supports no idmapped mounts on any kernel: the refusal path.
mkdir -p "$T/ramfs" && mount -t ramfs ramfs "$T/ramfs" && make_rootfs "$T/ramfs/root" ||
	fail "ramfs rootfs"
echo host-secret >"$T/secret" && chmod 600 "$T/secret"
# Spec text: $$ is one literal $ for the shell.
probe='echo uid=$$(id -u) gid=$$(id -g); echo bb=$$(stat -c %u:%g /bin/busybox); echo passwd=$$(stat -c %u /etc/passwd); echo made > /made-here && echo wrote; echo secret-owner=$$(stat -c %u /secret); cat /secret || echo no-secret; exec sleep 1000'
cat >"$T/services/u.yaml" <<YAML
services:
  u:
    image: $T/img:v1
    isolation:
      user: {map: "0:200000:65536"}
      mounts: [{type: bind, source: $T/secret, target: /secret}]
    command: ["/bin/sh", "-c", '$probe']
  n:
    image: $T/img:v1
    user: "1000:1000"
    isolation: {user: {map: "0:500000:65536"}}
    command: ["/bin/sleep", "1000"]
  r:
    rootfs: $fs/root
    isolation: {user: {map: "0:300000:65536"}}
    command: ["/bin/sh", "-c", 'echo uid=\$\$(id -u); echo bb=\$\$(stat -c %u /bin/busybox); exec sleep 1000']
  bad:
    rootfs: $T/ramfs/root
    isolation: {user: {map: "0:400000:65536"}}
    command: ["/bin/sleep", "1000"]
  a1:
    image: $T/img:v1
    isolation: {user: {map: auto}}
    command: ["/bin/sleep", "1000"]
  a2:
    image: $T/img:v1
    isolation: {namespaces: [pid, mount, uts, ipc, net, cgroup, user], user: {map: auto}}
    command: ["/bin/sleep", "1000"]
YAML
start_daemon
for s in u r n a1 a2; do
	wait_for 60 state_is $s running || fail "$s: $(svc_state $s) $(svc_field $s last_exit.reason) $(tail -5 $T/daemon.log)"
done

pid=$(main_pid u)
map=$(awk '{print $1, $2, $3}' /proc/$pid/uid_map)
[ "$map" = "0 200000 65536" ] || fail "uid_map of u: '$map'"
gmap=$(awk '{print $1, $2, $3}' /proc/$pid/gid_map)
[ "$gmap" = "0 200000 65536" ] || fail "gid_map of u: '$gmap'"
pass "u's uid_map and gid_map are 0 200000 65536"

huid=$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$pid/status)
[ "$huid" = "200000 200000 200000 200000" ] || fail "u runs as host uid '$huid'"
wait_for 10 grep -q 'stdout uid=0 gid=0' "$T/state/logs/u.log" || fail "id inside u: $(cat $T/state/logs/u.log)"
pass "u runs as host uid 200000, and as 0 inside"

grep -q 'stdout bb=0:0$' "$T/state/logs/u.log" || fail "the image's /bin/busybox inside: $(grep bb= $T/state/logs/u.log)"
grep -q 'stdout passwd=0$' "$T/state/logs/u.log" || fail "the image's /etc/passwd inside: $(grep passwd= $T/state/logs/u.log)"
lower=$(find "$T/state/layers" -path '*/bin/busybox' -print -quit)
[ -n "$lower" ] && [ "$(stat -c %u "$lower")" = 0 ] || fail "the layer's busybox is not host root's: $lower"
pass "the image's root-owned files appear owned by 0 inside (idmapped layers)"

wait_for 10 grep -q 'stdout wrote' "$T/state/logs/u.log" || fail "u could not write to its root: $(cat $T/state/logs/u.log)"
f="$T/state/rootfs/u.upper/made-here"
[ -f "$f" ] || fail "no $f"
[ "$(stat -c %u:%g "$f")" = 200000:200000 ] || fail "$f is owned by $(stat -c %u:%g "$f")"
pass "a file u creates lands in its upper dir owned by host uid 200000"

wait_for 10 grep -q 'stdout no-secret' "$T/state/logs/u.log" || fail "root in u read a host root's 0600 file: $(cat $T/state/logs/u.log)"
grep -q 'stdout host-secret' "$T/state/logs/u.log" && fail "u read the secret"
grep -q 'stdout secret-owner=65534$' "$T/state/logs/u.log" || fail "host root's file inside u: $(grep secret-owner $T/state/logs/u.log)"
pass "root inside u is not root on the host: a host root's 0600 file bound in shows as 65534 and stays unreadable"

# main_pid is the built-in init (root inside); the command is its child.
p=$(main_pid n)
wait_for 5 test -n "$(cat /proc/$p/task/$p/children)" || fail "n's init has no child"
c=$(awk '{print $1}' /proc/$p/task/$p/children)
[ "$(awk '/^Uid:/ {print $2}' /proc/$c/status)" = 501000 ] || fail "n (user 1000) on host uid $(awk '/^Uid:/ {print $2}' /proc/$c/status)"
pass "user 1000 in a 0:500000 map runs as host uid 501000"

wait_for 10 grep -q 'stdout uid=0' "$T/state/logs/r.log" || fail "id inside r: $(cat $T/state/logs/r.log)"
grep -q 'stdout bb=0$' "$T/state/logs/r.log" || fail "rootfs busybox inside r: $(cat $T/state/logs/r.log)"
[ "$(awk '/^Uid:/ {print $2}' /proc/$(main_pid r)/status)" = 300000 ] || fail "r's host uid"
pass "a plain rootfs: idmapped bind, owned by 0 inside, service on host uid 300000"

m1=$(awk '{print $2, $3}' /proc/$(main_pid a1)/uid_map)
m2=$(awk '{print $2, $3}' /proc/$(main_pid a2)/uid_map)
log "auto: a1 -> $m1, a2 -> $m2"
for m in "$m1" "$m2"; do
	set -- $m
	[ "$2" = 65536 ] && [ "$1" -ge 100000 ] && [ $((($1 - 100000) % 65536)) = 0 ] ||
		fail "auto range '$m' is not a 65536-sized slot from 100000"
done
[ "${m1% *}" != "${m2% *}" ] || fail "auto gave a1 and a2 the same range $m1"
[ "$(awk '/^Uid:/ {print $2}' /proc/$(main_pid a1)/status)" = "${m1% *}" ] || fail "a1's host uid"
pass "map: auto gives a1 and a2 distinct 65536-sized ranges"

for s in u r a1 a2; do
	[ "$(awk '$5 == "/proc" {print $9}' /proc/$(main_pid $s)/mountinfo)" = proc ] || fail "$s: no proc"
	[ "$(awk '$5 == "/sys" {print $9}' /proc/$(main_pid $s)/mountinfo)" = sysfs ] || fail "$s: no sysfs"
done
pass "/proc and /sys are mounted inside the user namespace"

wait_for 30 state_is bad failed || fail "bad: $(svc_state bad)"
why=$(svc_field bad last_exit.reason)
case $why in *"refuses an idmapped mount of $T/ramfs/root"*) ;; *) fail "bad's reason: $why" ;; esac
log "refused: $why"
pass "a root the kernel cannot idmap: the start fails, saying so"
