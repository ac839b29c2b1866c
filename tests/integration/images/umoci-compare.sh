#!/bin/sh
# umoci-compare.sh - build a 3-layer image with umoci from busybox-static
# files, unpack it with `umoci unpack` and with paddock's image store
# (imgtool: import, then a read-only overlay of the layers), and compare
# the two root filesystems with treecmp.py. Needs root, umoci,
# busybox-static, python3, a C compiler. Exit 0 = identical.
set -eu
src=$(cd "$(dirname "$0")/../../.." && pwd)
here="$src/tests/integration/images"
work=$(mktemp -d /tmp/umoci-compare.XXXXXX)
cleanup() {
	umount "$work/mnt" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

cc -std=gnu11 -O2 -D_GNU_SOURCE -I"$src/supervisor/image" -I"$src/supervisor/common" "$here/imgtool.c" \
	"$src"/supervisor/image/image*.c "$src"/supervisor/image/registry-ref.c "$src"/supervisor/common/*.c -larchive -lcrypto -ljson-c -lsystemd \
	-o "$work/imgtool"

cd "$work"
umoci init --layout img
umoci new --image img:t
umoci unpack --image img:t b >/dev/null
r=b/rootfs

# layer 1: busybox and its applet links, a small /etc, special files
mkdir -p $r/bin $r/etc/opq/sub $r/usr/share/doc $r/tmp $r/dev $r/srv
cp /bin/busybox $r/bin/busybox
for a in sh ls cat echo mkdir rm; do ln -s busybox $r/bin/$a; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >$r/etc/passwd
echo old >$r/etc/opq/old; echo x >$r/etc/opq/sub/x
echo doc >$r/usr/share/doc/README
echo gone >$r/etc/gone
chmod 1777 $r/tmp
mknod $r/dev/null c 1 3; chmod 666 $r/dev/null
mkfifo $r/srv/fifo
umoci repack --image img:t b >/dev/null

# layer 2: delete, replace a dir, hardlinks, setuid/setgid, owners, xattrs
umoci unpack --image img:t b2 >/dev/null
r=b2/rootfs
rm $r/etc/gone
rm -rf $r/etc/opq; mkdir $r/etc/opq; echo new >$r/etc/opq/new
cp /bin/busybox $r/bin/su; chmod 4755 $r/bin/su
ln $r/bin/su $r/bin/su-link
mkdir -p $r/home/user; echo mine >$r/home/user/file
chown -R 1000:1000 $r/home/user; chmod 640 $r/home/user/file
mkdir $r/shared; chown 0:50 $r/shared; chmod 2775 $r/shared
setfattr -n user.note -v hello $r/etc/passwd 2>/dev/null || \
	python3 -c "import os; os.setxattr('$r/etc/passwd', 'user.note', b'hello')"
umoci repack --image img:t b2 >/dev/null

# layer 3: change a file, delete a whole directory, add a symlink chain
umoci unpack --image img:t b3 >/dev/null
r=b3/rootfs
echo 'root:x:0:0:root:/root:/bin/ash' >$r/etc/passwd
rm -rf $r/usr/share/doc
ln -s ../bin/busybox $r/etc/bb
umoci repack --image img:t b3 >/dev/null

umoci unpack --image img:t ref >/dev/null
"$work/imgtool" "$work/state" import img cmp:1 >/dev/null
mkdir mnt
"$work/imgtool" "$work/state" mount cmp:1 "$work/mnt"
python3 "$here/treecmp.py" ref/rootfs mnt
