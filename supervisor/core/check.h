/*
 * check.h - one check attempt inside a service: run a command, connect to
 * a port, or GET a path over HTTP, in the service's namespaces (and, for a
 * command, its cgroup), without ever blocking the loop: connections are
 * made by the daemon itself on a socket created in the service's network
 * namespace, commands are run by a helper process that lives in the
 * service. Readiness probes (ready.c) and liveness checks (health.c) are
 * both built from attempts.
 */
#ifndef PADDOCK_CHECK_H
#define PADDOCK_CHECK_H

#include <stdint.h>
#include <sys/types.h>

#include "spec.h"

struct event_base;
struct cgroup;
struct check_helper;

#define CHECK_OUTPUT_MAX 512 /* bytes of a command's output (or a status line) kept */

enum check_kind { CHECK_EXEC, CHECK_TCP, CHECK_HTTP };

/* Where an attempt runs. */
struct check_target {
	const struct service_spec *spec; /* namespaces and hardening of the service */
	int pidfd; /* a process in the service's namespaces; must outlive the attempt */
	struct cgroup *cg; /* exec: the command runs in it; must outlive the attempt */
	uid_t uid; /* exec: the service's user */
	gid_t gid;
	/*
	 * exec: where the helper that runs the commands is kept between
	 * attempts (NULL until the first; free it with check_helper_free), or
	 * NULL: a helper for this attempt only. A kept helper serves one
	 * target and one argv: free it when either changes.
	 */
	struct check_helper **keep;
};

/* What an attempt does; the pointers must outlive the attempt. */
struct check_what {
	enum check_kind kind;
	char *const *argv; /* exec */
	uint16_t port; /* tcp, http: on 127.0.0.1 in the service's network namespace */
	const char *path; /* http */
	uint16_t status; /* http: the status wanted; 0 = any 2xx or 3xx */
};

/*
 * The attempt is over. verdict: 0 passed; > 0 a command's exit code (128 +
 * signal) or an unwanted HTTP status; < 0 -errno of the step that failed
 * (-ETIMEDOUT: it took longer than its timeout and was killed). output: a
 * command's first CHECK_OUTPUT_MAX bytes of stdout and stderr, an HTTP
 * status line, or "". The attempt is freed after this returns; the callee
 * must not free it.
 */
typedef void (*check_done_fn)(void *arg, int verdict, const char *output);

struct check_attempt *check_start(struct event_base *base, const struct check_target *t,
				  const struct check_what *w, uint64_t timeout_ms,
				  check_done_fn done, void *arg);
/* Kill a running attempt (done is not called). NULL. */
struct check_attempt *check_cancel(struct check_attempt *a);
/* Kill a kept helper and whatever its commands left running. NULL. */
struct check_helper *check_helper_free(struct check_helper *h);
/* A one-line account of a failed verdict into buf ("exit 1", "connect: ..."). */
const char *check_describe(enum check_kind kind, int verdict, const char *output, char *buf,
			   size_t len);

#endif
