#!/bin/sh
# capture-v1.sh - how the v1/ and host/ fixtures were captured on the hybrid
# development host: a throwaway cgroup below our own in each v1 hierarchy and
# in the unified one, a little CPU, memory and block I/O inside it, then a copy
# of the files the probes read. Removes every cgroup it made, also on failure.
set -eu
out=${1:?usage: capture-v1.sh OUTDIR}
name=paddock-probecap-$$
own_mem=$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
mem=/sys/fs/cgroup/memory$own_mem/$name
dirs="$mem /sys/fs/cgroup/cpu/$name /sys/fs/cgroup/cpuacct/$name /sys/fs/cgroup/pids/$name \
	/sys/fs/cgroup/blkio/$name /sys/fs/cgroup/unified/$name"
tmp=$(mktemp -d /var/tmp/probecap.XXXXXX)
# blk-throttle only counts bios on a device that has a throttle rule: set a
# limit nothing reaches so blkio.throttle.* show real figures.
dev=$(lsblk -ndo MAJ:MIN "$(findmnt -no SOURCE -T "$tmp")" | tr -d ' ')
cleanup() {
	for d in $dirs; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
for d in $dirs; do mkdir "$d"; done
echo "$dev 10737418240" > /sys/fs/cgroup/blkio/$name/blkio.throttle.read_bps_device
echo "$dev 10737418240" > /sys/fs/cgroup/blkio/$name/blkio.throttle.write_bps_device
sh -c "for d in $dirs; do echo \$\$ > \$d/cgroup.procs; done
	dd if=/dev/urandom of=$tmp/f bs=1M count=8 oflag=direct 2>/dev/null
	dd if=$tmp/f of=/dev/null bs=64k iflag=direct 2>/dev/null
	cat $tmp/f > /dev/null
	i=0; while [ \$i -lt 200000 ]; do i=\$((i+1)); done"
mkdir -p "$out/v1" "$out/host"
for f in memory.stat memory.oom_control memory.usage_in_bytes memory.max_usage_in_bytes \
	memory.failcnt memory.kmem.usage_in_bytes memory.kmem.tcp.usage_in_bytes; do
	cat "$mem/$f" > "$out/v1/$f"
done
cat /sys/fs/cgroup/cpu/$name/cpu.stat > "$out/v1/cpu.stat"
for f in cpuacct.stat cpuacct.usage; do cat /sys/fs/cgroup/cpuacct/$name/$f > "$out/v1/$f"; done
for f in pids.current pids.events; do cat /sys/fs/cgroup/pids/$name/$f > "$out/v1/$f"; done
for f in blkio.throttle.io_service_bytes_recursive blkio.throttle.io_serviced_recursive; do
	cat /sys/fs/cgroup/blkio/$name/$f > "$out/v1/$f"
done
for f in memory.pressure cpu.pressure io.pressure; do
	cat /sys/fs/cgroup/unified/$name/$f > "$out/v1/$f"
done
cat /proc/meminfo > "$out/host/meminfo"
cat /proc/stat > "$out/host/stat"
mkdir -p "$out/host/pressure"
for f in memory cpu io; do cat /proc/pressure/$f > "$out/host/pressure/$f"; done
