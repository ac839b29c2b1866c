/*
 * enter.h - run a command inside a running service (paddockctl exec):
 * its namespaces (setns through a pidfd of one of its processes, or the
 * /proc/PID/ns files where the kernel refuses that), its cgroup
 * (CLONE_INTO_CGROUP, or an attach before it goes on), its root and
 * working directory, a user, the service's capabilities and seccomp
 * filter (a harden_plan), an environment.
 *
 * enter_start clones a helper that enters everything and forks the
 * command (a fork after setns puts it inside a pid namespace), forwards
 * signals to it, and writes one struct enter_report when it ended, then
 * exits. Like launch.c, the helper allocates nothing: the plan is
 * prepared by the caller.
 */
#ifndef PADDOCK_ENTER_H
#define PADDOCK_ENTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct harden_plan;

struct enter_plan {
	pid_t target; /* a process of the service: namespaces, root, cwd */
	int cgroup_fd; /* v2 dir fd for CLONE_INTO_CGROUP, or -1 (then wait_attach) */
	bool wait_attach; /* go on only after enter_release (v1 attach by the caller) */
	char *const *argv; /* NULL-terminated, searched in the service's PATH */
	char *const *envp; /* NULL-terminated, complete */
	uid_t uid;
	gid_t gid;
	const char *workdir; /* inside the service's root; NULL = the target's cwd */
	int stdio[3]; /* the command's stdin, stdout, stderr (without a tty) */
	int ttysock; /* >= 0: allocate a pty, send its master over this socket */
	const struct harden_plan *harden; /* NULL = keep the helper's privileges */
};

struct enter_child {
	pid_t pid; /* the helper */
	int pidfd; /* readable once the helper is gone */
	int reportfd; /* read end: one struct enter_report */
	int gofd; /* write end for enter_release; -1 when not waiting */
};

/* What the helper reports: the command's wait status, or why it never ran. */
struct enter_report {
	int status; /* waitpid status of the command */
	struct error err; /* err.code != 0: entering or exec failed */
};

/* Start the helper. 0 or -errno (nothing started on failure). */
int enter_start(const struct enter_plan *plan, struct enter_child *child);
/* Let a helper that waits for its cgroup attach go on (attached) or give up. */
void enter_release(struct enter_child *child, bool attached);
/*
 * Once the helper is gone (pidfd readable): its report. 0, or -EIO with
 * rep->err filled when it died without one.
 */
int enter_read_report(struct enter_child *child, struct enter_report *rep);
/* Close every fd still held in child. */
void enter_child_close(struct enter_child *child);

#endif
