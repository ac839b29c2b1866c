/*
 * ready.h - the `ready: exec` and `ready: tcp` probes: attempts repeated
 * until one passes, each inside the service's namespaces. The start
 * timeout itself is the service's (service.c); a probe only says "ready".
 */
#ifndef PADDOCK_READY_H
#define PADDOCK_READY_H

#include <sys/types.h>

#include "spec.h"

struct event_base;
struct cgroup;

/* An attempt passed; the callee may free the probe. */
typedef void (*ready_probe_fn)(void *arg);

struct ready_target {
	const struct service_spec *spec; /* ready.type READY_EXEC or READY_TCP */
	int pidfd; /* a process in the service's namespaces (dup'ed) */
	struct cgroup *cg; /* exec: the command runs in it; must outlive the probe */
	uid_t uid; /* exec: the service's user */
	gid_t gid;
};

/*
 * Start probing; passed(arg) is called once when an attempt
 * passes (the probe may be freed from inside that call). NULL on failure
 * to start at all (then nothing is called).
 */
struct ready_probe *ready_probe_new(struct event_base *base, const struct ready_target *t,
				    ready_probe_fn passed, void *arg);
struct ready_probe *ready_probe_free(struct ready_probe *p);
/* The spec the probe was started from (it may outlive the service's). */
const struct service_spec *ready_probe_spec(const struct ready_probe *p);
/* What the last failed attempt said ("exit 1", "connect: Connection refused"), or "". */
const char *ready_probe_last(const struct ready_probe *p);

#endif
