/*
 * path.h - lexical path normalisation, one rule for every caller: archive
 * member names (image-oci.c), layer entry paths (image-unpack.c) and
 * cgroup paths (cgroup.c). Lexical only: no file system is consulted, so
 * symbolic links are the caller's business (unpack opens beneath its root
 * with RESOLVE_BENEATH / O_NOFOLLOW).
 */
#ifndef PADDOCK_PATH_H
#define PADDOCK_PATH_H

#include <stddef.h>

enum path_flags {
	/* Refuse a path that starts with '/' (-EPERM); by default it is
	 * taken relative to the root, as "a" for "/a". */
	PATH_RELATIVE = 1 << 0,
	/* Refuse every ".." component (-EINVAL). By default ".." removes
	 * the previous component, and one that would climb above the root
	 * is refused (-EINVAL) whatever the flags. */
	PATH_NO_DOTDOT = 1 << 1,
	/* Refuse a path that normalises to the root itself (-ENOENT). */
	PATH_NONEMPTY = 1 << 2,
	/* Write "/a/b" rather than "a/b", and "/" for the root. */
	PATH_LEADING_SLASH = 1 << 3,
};

/*
 * Normalise in into out (len bytes, NUL included): drop empty and "."
 * components ("a//./b/" -> "a/b"), apply ".." as flags say. The root is ""
 * (or "/" with PATH_LEADING_SLASH). Returns the length of out, or
 * -ENAMETOOLONG if it does not fit, or the errors the flags name; out is
 * undefined on failure. in and out must not overlap.
 */
int path_normalize(const char *in, char *out, size_t len, unsigned flags);

/* A short message for a path_normalize() error: "path has a '..' component". */
const char *path_strerror(int r);

#endif
