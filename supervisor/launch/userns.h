/*
 * userns.h - the parent's half of a service's user namespace (isolation.user):
 * write the child's uid_map and gid_map, then build its root as an
 * idmapped mount and hand that to the child over a unix socket.
 *
 * Why the parent: an idmapped mount of a filesystem owned by the initial
 * user namespace (the layer store) needs CAP_SYS_ADMIN there, which the
 * child, already in its own user namespace, no longer has. A short-lived
 * helper in a private mount namespace puts an idmapped clone of every
 * lower layer over the layer's path, mounts the overlay on top (as host
 * root, so the layers' trusted.overlay.* xattrs keep working), and sends
 * a detached clone of it (open_tree) with SCM_RIGHTS. A plain rootfs
 * directory becomes an idmapped bind mount the same way.
 */
#ifndef PADDOCK_USERNS_H
#define PADDOCK_USERNS_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/*
 * After clone3(CLONE_NEWUSER) of pid: maps (namespace root = host id
 * host, count ids), then the root mount (or a struct error saying what
 * failed) sent on sock, the parent's end of the child's socketpair. The
 * root is rootfs (NULL: none), or the overlay with options overlay whose
 * lower layers are relative to overlay_dir (overlay NULL: rootfs is a
 * plain directory, bound idmapped). 0, or -errno when not even the
 * report went out.
 */
int userns_prepare(pid_t pid, int sock, uint32_t host, uint32_t count, const char *rootfs,
		   const char *overlay, const char *overlay_dir);

/*
 * Child side: wait for what userns_prepare sends. Returns the root mount
 * fd (or -1 when the plan has no root of its own: never with a valid spec),
 * or -errno with err filled.
 */
int userns_receive(int sock, struct error *err);

#endif
