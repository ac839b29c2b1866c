/*
 * compose.h - docker-compose files to paddock specs (paddockctl convert
 * compose). Pure: no syscalls beyond what the caller reads and writes.
 */
#ifndef PADDOCK_COMPOSE_H
#define PADDOCK_COMPOSE_H

#include <stddef.h>

#include "config.h"

/* One converted service: its paddock name and its spec file's text. */
struct compose_service {
	char *name; /* config_valid_name */
	char *body; /* "  NAME:\n    key: ...\n": the service's part of `services:` */
};

struct compose_result {
	struct compose_service *services; /* in the compose file's order */
	size_t n;
};

/*
 * Convert the compose file in buf (len bytes; file names it in
 * diagnostics) into one paddock service per compose service. basedir is
 * the compose file's directory (absolute): relative host paths of bind
 * mounts, env_file and secrets are resolved against it.
 *
 * Every key that cannot be carried over, or only approximately, gives one
 * diagnostic in warnings at the compose file's LINE:COLUMN saying why.
 * Problems that leave nothing to convert (not YAML, no services, a
 * service name paddock cannot take) go to errs. Returns 0 (out filled,
 * possibly with warnings), -EINVAL (errs filled, out empty) or -ENOMEM.
 */
int compose_convert(const char *file, const char *buf, size_t len, const char *basedir,
		    struct compose_result *out, struct config_errors *warnings,
		    struct config_errors *errs);

/* A whole spec file: a comment line naming src, then `services:` and bodies [from, to). */
char *compose_spec_text(const struct compose_result *r, size_t from, size_t to, const char *src);

void compose_result_free(struct compose_result *r);

#endif
