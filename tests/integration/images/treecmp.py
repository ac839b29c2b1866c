#!/usr/bin/env python3
"""treecmp.py A B - compare two directory trees the way an image unpack must
match: paths, types, modes (incl. setuid/setgid/sticky), owners, sizes,
file contents, symlink targets, device numbers, xattrs (overlayfs' own
trusted.overlay.* excluded) and hardlink groups. Prints differences and
exits 1 if there are any."""
import hashlib, os, stat, sys

def walk(root):
    out, inodes = {}, {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            rec = {"type": stat.S_IFMT(st.st_mode), "mode": oct(stat.S_IMODE(st.st_mode)),
                   "uid": st.st_uid, "gid": st.st_gid}
            if stat.S_ISREG(st.st_mode):
                rec["size"] = st.st_size
                with open(p, "rb") as f:
                    rec["sha256"] = hashlib.sha256(f.read()).hexdigest()
                if st.st_nlink > 1:
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                rec["target"] = os.readlink(p)
                del rec["mode"]
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                rec["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            try:
                xs = {}
                for x in os.listxattr(p, follow_symlinks=False):
                    if not x.startswith("trusted.overlay."):
                        xs[x] = os.getxattr(p, x, follow_symlinks=False)
                if xs:
                    rec["xattrs"] = xs
            except OSError:
                pass
            out[rel] = rec
    groups = sorted(sorted(g) for g in inodes.values() if len(g) > 1)
    return out, groups

a, ga = walk(sys.argv[1])
b, gb = walk(sys.argv[2])
diffs = 0
for p in sorted(set(a) | set(b)):
    if p not in a or p not in b:
        print(f"only in {'A' if p in a else 'B'}: {p}")
        diffs += 1
    elif a[p] != b[p]:
        print(f"differs: {p}: A={a[p]} B={b[p]}")
        diffs += 1
if ga != gb:
    print(f"hardlink groups differ: A={ga} B={gb}")
    diffs += 1
print(f"{len(a)} entries in A, {len(b)} in B, {len(ga)} hardlink groups, {diffs} differences")
sys.exit(1 if diffs else 0)
