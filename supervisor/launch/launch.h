/*
 * launch.h - start one service process: clone3 with CLONE_PIDFD, the
 * spec's namespaces and (pure v2) CLONE_INTO_CGROUP; in the child the
 * root filesystem (rootfs.c), an optional built-in init as pid 1, user,
 * working dir, environment, fds, exec. Failures in the child come back
 * as a struct error (error.h) over a close-on-exec pipe (s6's trystart):
 * code is the failed step's errno, msg says which ("exec /bin/nope").
 *
 * Everything the child needs is prepared in the parent: the child does
 * not allocate, so a clone3 from a process with other threads is safe.
 */
#ifndef PADDOCK_LAUNCH_H
#define PADDOCK_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

struct harden_plan;
struct launch_secrets;

/*
 * Low fd numbers a child's fds are dup'ed into before a clone that shares
 * the fd table (see launch.c). Owned by main, held for the daemon's life.
 */
#define LAUNCH_SLOT_N 7
struct launch_slots {
	int fd[LAUNCH_SLOT_N];
	int max; /* the highest of fd */
	int placeholder; /* /dev/null, what a slot holds between starts */
};

/*
 * Who runs the clone, when not launch_start itself: like launch_clone
 * (clone.h), but in the child it calls child(child_arg), which does not
 * return. core/placer.c clones from a thread already inside the service's
 * v1 cgroups, so that no attach is needed.
 */
struct launch_cloner {
	pid_t (*clone)(void *arg, uint64_t flags, int exit_signal, int cgroup_fd, int *pidfd,
		       void (*child)(void *), void *child_arg);
	void *arg;
};

struct launch_plan {
	const struct service_spec *spec;
	const char *rootfs; /* directory to pivot into, NULL = host fs */
	const char *overlay; /* overlay mount data for rootfs (image), or NULL */
	const char *overlay_dir; /* the directory overlay's lowerdir names are relative to */
	char *const *argv; /* NULL-terminated */
	char *const *envp; /* NULL-terminated, complete */
	uid_t uid;
	gid_t gid;
	const char *hostname;
	const char *workdir; /* inside the new root */
	int cgroup_fd; /* v2 dir fd for CLONE_INTO_CGROUP, or -1 */
	bool wait_attach; /* child waits until launch_release (v1/hybrid placement, networks) */
	bool use_init; /* built-in init as pid 1 */
	int stdout_fd, stderr_fd; /* write ends given to the service */
	const struct rlimit *nofile; /* restored before exec; NULL = leave as is */
	const struct harden_plan *harden; /* capabilities, seccomp (harden.h); NULL = none */
	const char *notify_dir; /* host dir of the notify socket, bound into rootfs; NULL = none */
	const char *netdir; /* host dir of resolv.conf and hosts for /etc (networks); NULL = none */
	const struct launch_secrets
	    *secrets; /* secrets_load; NULL = none (needs a mount namespace) */
	const struct launch_slots *slots; /* launch_reserve_slots; NULL = copy the fd table */
	const struct launch_cloner *cloner; /* NULL = clone here */
	/* Identity (groups:, umask:) */
	const gid_t *groups; /* supplementary groups (launch_resolve_groups); none = cleared */
	size_t ngroups;
};

struct launch_child {
	pid_t pid;
	int pidfd; /* for exit events */
	int reportfd; /* read end: a struct error, or EOF alone = exec succeeded */
	int statusfd; /* read end: init writes the service's wait status; -1 without init */
	int gofd; /* write end: closed by launch_release; -1 when not waiting */
};

/*
 * Reserve the low fd slots children are started through; call first thing
 * in main, while fd numbers are small, and pass them in every plan. Without
 * them launch_start copies the whole fd table into each child (correct,
 * slower with many services). 0, or -errno with nothing held.
 */
int launch_reserve_slots(struct launch_slots *slots);
/* Start the child. Returns 0 or -errno (nothing started on failure). */
int launch_start(const struct launch_plan *plan, struct launch_child *child);
/* Let a child that waits for attachment go on (placed) or give up (not placed). */
void launch_release(struct launch_child *child, bool placed);
/* Close every fd still held in child. */
void launch_child_close(struct launch_child *child);

/*
 * Resolve spec user "uid[:gid]" / "name[:group]" against root's
 * /etc/passwd and /etc/group (root NULL = host). 0 or -errno with err set.
 */
int launch_resolve_user(const char *root, const char *user, uid_t *uid, gid_t *gid, char *home,
			size_t homelen, struct error *err);

/*
 * Supplementary groups for a service running as uid: the spec's groups
 * (names looked up in group_root's /etc/group, numbers as they are) and
 * every group that file lists uid's user (its name in passwd_root's
 * /etc/passwd) as a member of, as initgroups does but without NSS; the
 * primary gid is not added. A NULL root is the host's. Each gid once, at
 * most max; *n gets the count. 0, or -errno with err naming the group
 * not found ("group video not found in the service's /etc/group").
 */
#define LAUNCH_GROUPS_MAX 256
int launch_resolve_groups(const char *passwd_root, const char *group_root, uid_t uid,
			  char *const *names, gid_t *out, size_t max, size_t *n, struct error *err);

/* In a forked child: close every fd from 3 up except those in keep (reordered). */
void launch_close_all_but(int *keep, size_t n);
/* Built-in init loop when pid 1 (also used by tests). Never returns. */
void launch_init_run(pid_t service, int statusfd) __attribute__((noreturn));

#endif
