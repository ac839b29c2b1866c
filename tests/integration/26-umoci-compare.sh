#!/bin/bash
# The merged overlay view of an image paddock unpacked equals what
# `umoci unpack` produces for the same tag: paths, types, modes, owners,
# sizes, contents, symlink targets, xattrs and hardlink groups. The image
# has deletions, an opaque directory, hardlinks, setuid, a fifo, a device.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cmd umoci; need_cmd python3; need_cmd cc
grep -q overlay /proc/filesystems || skip "no overlayfs"
out=$(sh "$TESTS_DIR/integration/images/umoci-compare.sh" 2>&1) || fail "differs from umoci unpack: $out"
pass "identical to umoci unpack: $(echo "$out" | tail -n 1)"
