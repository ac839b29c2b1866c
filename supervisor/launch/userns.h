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

#include "launch.h"

/*
 * After clone3(CLONE_NEWUSER) of pid: maps, then the root mount (or a
 * launch_report saying what failed) sent on sock, the parent's end of the
 * child's socketpair. 0, or -errno when not even the report went out.
 */
int userns_prepare(const struct launch_plan *plan, pid_t pid, int sock);

/*
 * Child side: wait for what userns_prepare sends. Returns the root mount
 * fd (or -1 when the plan has no root of its own: never with a valid spec),
 * or -errno with rep filled.
 */
int userns_receive(int sock, struct launch_report *rep);

#endif
