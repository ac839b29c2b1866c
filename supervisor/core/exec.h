/*
 * exec.h - paddockctl exec: a command inside a running service, started
 * through launch/enter.c with the stdio paddockctl passed, watched through
 * the helper's pidfd without blocking the loop. Each exec is an event
 * ("exec": argv0, exit) and a log line.
 */
#ifndef PADDOCK_EXEC_H
#define PADDOCK_EXEC_H

#include <stdbool.h>

#include "error.h"

struct service;
struct exec_job;

struct exec_request {
	char **argv; /* NULL-terminated, not empty */
	char **env; /* "KEY=VALUE" over the service's environment; NULL-terminated or NULL */
	const char *user; /* NULL: the service's user */
	const char *workdir; /* NULL: the service's working directory */
	bool tty; /* a pty inside the service; its master goes over ttysock */
};

/* code: the command's exit code, or 128+signal; err set when it never ran (code 127). */
typedef void (*exec_done_fn)(void *arg, int code, const struct error *err);

/*
 * Whether svc can take an exec now: running, not frozen. 0, or -errno with
 * err saying why for the operator ("web is frozen: thaw it first").
 */
int exec_check(struct service *svc, struct error *err);
/*
 * Start rq in svc with stdio (kept by the caller, who closes its copies)
 * and, with rq->tty, the socket the pty master is sent over. done runs
 * once, from the loop, when the command ended. 0 and *out, or -errno with
 * err filled.
 */
int exec_start(struct service *svc, const struct exec_request *rq, const int stdio[3], int ttysock,
	       exec_done_fn done, void *arg, struct exec_job **out, struct error *err);
/* The caller leaves: the command gets SIGHUP, done is not called any more. */
void exec_detach(struct exec_job *job);

#endif
