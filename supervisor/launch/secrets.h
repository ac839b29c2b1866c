/*
 * secrets.h - a service's secrets (paddock.yaml(5) SECRETS). paddockd reads
 * every source before the clone (secrets_load): a regular file, not a
 * symlink, not open to others, at most SPEC_SECRET_MAX_SIZE bytes. The
 * child writes them into a fresh tmpfs at SPEC_SECRETS_DIR_INSIDE inside
 * its own mount namespace and makes it read-only (rootfs.c). The values
 * live in memory that secrets_free wipes; no message ever holds one.
 */
#ifndef PADDOCK_SECRETS_H
#define PADDOCK_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

struct launch_secret {
	const char *label; /* the secret's name (or its source's basename), for messages */
	char *target; /* absolute path inside */
	char *data; /* the value: never logged, wiped by secrets_free */
	size_t len;
	uid_t uid; /* inside the service's user namespace, when it has one */
	gid_t gid;
	mode_t mode;
};

struct launch_secrets {
	struct launch_secret *v;
	size_t n;
	size_t pages; /* bytes the tmpfs needs: every value rounded up to a page */
};

/*
 * Read spec's secrets: a NAME from secrets_dir, a path as is; an unset
 * uid/gid becomes uid/gid (the service's user). 0, or -errno with err
 * naming the secret and its source (nothing held then).
 */
int secrets_load(const struct service_spec *spec, const char *secrets_dir, uid_t uid, gid_t gid,
		 struct launch_secrets *out, struct error *err);
/* Wipe and free the values; s may be empty. */
void secrets_free(struct launch_secrets *s);
/*
 * Wipe the values in place, freeing nothing: for a process that holds a
 * copy it will not exec away (paddock's init, a fork of the daemon).
 */
void secrets_wipe(const struct launch_secrets *s);

#endif
