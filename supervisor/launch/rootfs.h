/*
 * rootfs.h - build a service's filesystem view inside its new mount
 * namespace: private propagation, the root (a directory or the host's),
 * a fresh /proc, a minimal /dev, read-only /sys, the spec's mounts,
 * pivot_root. Runs in the child before exec: no allocation, no logging;
 * a failure fills the caller's struct error (sent back as the launch report).
 */
#ifndef PADDOCK_ROOTFS_H
#define PADDOCK_ROOTFS_H

#include "error.h"
#include "spec.h"

struct launch_secrets;

/*
 * root NULL = keep the host filesystem (still a private mount namespace).
 * notify_dir (may be NULL): host directory bound read-only at /dev/paddock.
 * netdir (may be NULL): host directory whose resolv.conf and hosts are bound
 * read-only over /etc's (bridge networks).
 * rootmnt >= 0: a detached mount to attach on root instead of mounting the
 * overlay (user namespaces, see userns.h); closed here.
 * secrets (may be NULL): written into a fresh tmpfs at
 * SPEC_SECRETS_DIR_INSIDE, read-only afterwards (secrets.h).
 */
int rootfs_setup(const struct service_spec *spec, const char *root, const char *overlay,
		 const char *overlay_dir, const char *notify_dir, const char *netdir, int rootmnt,
		 const struct launch_secrets *secrets, struct error *err);
/* Bring up lo in a fresh network namespace. */
int rootfs_loopback_up(struct error *err);

#endif
