/*
 * cgroup.h - the one cgroup interface the daemon uses. Backends for pure
 * cgroup v2, pure v1 and hybrid (v1 controllers + a v2 hierarchy for PSI,
 * freeze and kill) sit behind it in cgroup-v2.c and cgroup-v1.c.
 *
 * Delegation rule: everything created or written lives under the daemon's
 * root, which is, per hierarchy, the cgroup the process was started in
 * (/proc/self/cgroup) joined with the configured cgroup_root when that is
 * relative, or cgroup_root itself when absolute. Nothing outside it is
 * ever written. Library-style: returns -errno, never logs.
 */
#ifndef PADDOCK_CGROUP_H
#define PADDOCK_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec.h"

enum cgroup_mode { CGROUP_MODE_V2 = 0, CGROUP_MODE_V1, CGROUP_MODE_HYBRID };

/* Knobs a backend could not express; the daemon logs one warning each. */
enum {
	CGROUP_UNSUPPORTED_MEMORY_MIN = 1 << 0,
	CGROUP_UNSUPPORTED_MEMORY_HIGH = 1 << 1,
	CGROUP_UNSUPPORTED_SWAP_MAX = 1 << 2,
	CGROUP_UNSUPPORTED_CPUSET = 1 << 3,
	CGROUP_UNSUPPORTED_IO_WEIGHT = 1 << 4,
	CGROUP_UNSUPPORTED_CPU = 1 << 5,
	CGROUP_UNSUPPORTED_PIDS = 1 << 6,
	CGROUP_UNSUPPORTED_MEMORY = 1 << 7,
	CGROUP_UNSUPPORTED_IO_MAX = 1 << 8,
	CGROUP_UNSUPPORTED_HUGETLB = 1 << 9,
	CGROUP_UNSUPPORTED_CPUSET_MEMS = 1 << 10,
	CGROUP_UNSUPPORTED_DEVICES = 1 << 11,
};

/* The resource part of a spec, copied so `set` can override single knobs. */
struct cgroup_limits {
	struct spec_memory memory;
	uint32_t cpu_weight;
	uint32_t cpu_max_mcpu;
	const char *cpus;
	uint64_t pids_max;
	uint32_t io_weight;
	/* io.max, hugetlb, cpuset.mems and the device policy (issue 19) */
	const struct spec_io_max *io_max; /* paths stat'ed at apply: must be whole block devices */
	size_t nio_max;
	const struct spec_hugetlb *hugetlb; /* page sizes the host lacks are unsupported */
	size_t nhugetlb;
	const char *mems; /* cpuset.mems, NULL = the parent's */
	bool devices_policy; /* deny every device but CGROUP_DEFAULT_DEVICES and devices[] */
	const struct spec_device *devices; /* host nodes, stat'ed at apply */
	size_t ndevices;
};

/*
 * The device policy's default set, what paddock's own /dev holds: null,
 * zero, full, random, urandom, tty, console, ptmx and pts/N (read, write,
 * mknod), plus mknod (only) of any node, as runc allows.
 */
struct cgroup_dev_rule {
	char type; /* 'c', 'b', 'a' (all) */
	int64_t major, minor; /* -1 = any */
	bool read, write, mknod;
};
/*
 * The rules for limits: the default set, then devices[] as stat'ed on the
 * host. *n gets how many; -ENOTBLK-like errors (-ENODEV: not a device
 * node, -errno of stat) with *bad naming the device. rules holds at least
 * CGROUP_DEV_DEFAULTS + ndevices.
 */
#define CGROUP_DEV_DEFAULTS 11
int cgroup_dev_rules(const struct cgroup_limits *l, struct cgroup_dev_rule *rules, size_t *n,
		     const char **bad);

struct cgroup_host; /* detected layout and the daemon's root in each hierarchy */
struct cgroup; /* one service's cgroup (all hierarchies) */

/*
 * Detect the layout from /proc/self/mountinfo and /proc/self/cgroup.
 * cgroup_root may be NULL. Nothing is written.
 */
int cgroup_host_detect(const char *cgroup_root, struct cgroup_host **out);
/*
 * Prepare the root for children: lock it (cgroup_host_lock), create it, and on v2 move the calling
 * process into the leaf "<own>/supervisor" when the root is its own cgroup
 * (no internal processes), then enable memory, cpu, cpuset, pids, io and hugetlb in
 * cgroup.subtree_control along the way down to the root.
 */
int cgroup_host_setup(struct cgroup_host *host);
/* Why cgroup_host_lock refused. */
struct cgroup_lock_conflict {
	enum {
		CGROUP_LOCK_SAME, /* another daemon owns our root */
		CGROUP_LOCK_INSIDE, /* our root is inside another daemon's (path) */
		CGROUP_LOCK_CONTAINS, /* another daemon's root is inside ours */
	} kind;
	pid_t pid; /* that daemon, 0 if not found */
	const char *root; /* our root in the hierarchy concerned */
	char path[4096]; /* the directory found locked */
};
/*
 * One paddockd per root: take an exclusive flock(2) on the root directory
 * of every hierarchy, and a shared one on each directory above it, making
 * the roots that are missing. So a root that is, contains or lies inside
 * another live daemon's is refused, while roots side by side are not. The
 * kernel drops the locks when their holder dies: a crashed owner blocks
 * nobody. -EBUSY with *c filled on refusal (c may be NULL); nothing was
 * created or kept locked then. Idempotent; cgroup_host_setup takes it first.
 */
int cgroup_host_lock(struct cgroup_host *host, struct cgroup_lock_conflict *c);
/* The lock fds (close-on-exec), to hand them over across exec; returns how many. */
size_t cgroup_host_lock_fds(const struct cgroup_host *host, int *fds, size_t max);
/*
 * After a re-exec: fds inherited from cgroup_host_lock_fds become our
 * locks again where they match a root (made close-on-exec); the others
 * are closed. Call before cgroup_host_lock.
 */
void cgroup_host_inherit_locks(struct cgroup_host *host, const int *fds, size_t n);
/*
 * The root was made by an earlier paddockd whose services we took over:
 * treat it as ours, so teardown removes it once everything has stopped.
 */
void cgroup_host_claim_root(struct cgroup_host *host);
/* Undo cgroup_host_setup as far as possible (rmdir what it created). */
void cgroup_host_teardown(struct cgroup_host *host);
struct cgroup_host *cgroup_host_free(struct cgroup_host *host);

enum cgroup_mode cgroup_host_mode(const struct cgroup_host *host);
const char *cgroup_mode_name(enum cgroup_mode mode);
/* Human summary, e.g. "hybrid (v1: memory cpu cpuacct pids cpuset blkio freezer; v2: unified)". */
const char *cgroup_host_describe(const struct cgroup_host *host);
/* The root's path in the v2 hierarchy (v2 or hybrid unified), or NULL. */
const char *cgroup_host_v2_root(const struct cgroup_host *host);

/* Names of the cgroups below the root (services, live or left behind); caller frees. */
int cgroup_host_children(struct cgroup_host *host, char ***names, size_t *n);
/* Create (or reuse, empty) the cgroup "<root>/<name>" in every hierarchy. */
int cgroup_create(struct cgroup_host *host, const char *name, struct cgroup **out);
/* Open an existing one (adoption); -ENOENT if it does not exist. */
int cgroup_open(struct cgroup_host *host, const char *name, struct cgroup **out);
/* Frees the handle only; see cgroup_destroy for the directories. */
struct cgroup *cgroup_free(struct cgroup *cg);

/*
 * Write every knob that is set in limits; knobs left unset are reset to
 * their defaults ("max"), so re-applying after a change is exact.
 * *unsupported gets CGROUP_UNSUPPORTED_* bits for set knobs this backend
 * cannot express. On failure *failed_knob names the file.
 */
int cgroup_apply(struct cgroup *cg, const struct cgroup_limits *limits, unsigned *unsupported,
		 const char **failed_knob);

/* fd of the v2 directory for clone3(CLONE_INTO_CGROUP): pure v2, or made from a slot; else -1. */
int cgroup_v2_fd(const struct cgroup *cg);
/* True when the pid must be attached by cgroup_attach before it runs (not from a slot). */
bool cgroup_needs_attach(const struct cgroup *cg);
/* Write pid into cgroup.procs of every hierarchy (v1/hybrid). */
int cgroup_attach(struct cgroup *cg, pid_t pid);

/*
 * Slots: on v1 and hybrid hosts a write to cgroup.procs waits for an RCU
 * grace period (~10 ms here), which no start should pay. A slot is the
 * v1 directories "<root>/<slot>" of a service cgroup made ahead of need,
 * into which a thread of ours places itself off the start path
 * (cgroup_slot_join); a child it clones is born there, and the slot takes
 * the service's name by rename (cgroup_create_from_slot). Slot names start
 * with '.', so cgroup_host_children never lists them.
 */
/* Whether slots save anything here: v1 hierarchies exist (v1, hybrid). */
bool cgroup_slots_useful(const struct cgroup_host *host);
/* mkdir the slot in every v1 hierarchy (cpusets filled); -errno, nothing left behind. */
int cgroup_slot_create(struct cgroup_host *host, const char *slot);
/* Move thread tid into the slot in every v1 hierarchy (thread-safe: no shared state). */
int cgroup_slot_join(const struct cgroup_host *host, const char *slot, pid_t tid);
/* Move thread tid back to the daemon's own v1 cgroups (thread-safe). */
int cgroup_slot_leave(const struct cgroup_host *host, pid_t tid);
/* rmdir the slot's directories (it must be empty). */
int cgroup_slot_remove(struct cgroup_host *host, const char *slot);
/* Remove slots a killed predecessor left behind (empty once its threads died). */
void cgroup_slots_clean(struct cgroup_host *host);
/*
 * The service cgroup "<root>/<name>" from a slot: its v1 directories are
 * renamed, a v2 one (hybrid) is made, and cgroup_v2_fd gives it for
 * CLONE_INTO_CGROUP. Needs no attach. On failure the slot is as it was.
 */
int cgroup_create_from_slot(struct cgroup_host *host, const char *slot, const char *name,
			    struct cgroup **out);

/* Proactive reclaim (v2 memory.reclaim); -EOPNOTSUPP elsewhere. */
int cgroup_reclaim(struct cgroup *cg, uint64_t bytes);

/*
 * Ask for the whole group to be frozen or thawed (v2 cgroup.freeze, else
 * the v1 freezer). Returns at once: the kernel settles it asynchronously.
 */
int cgroup_freeze(struct cgroup *cg, bool frozen);
/* 1 once the freeze or thaw asked for has taken effect, 0 not yet, -errno. One read. */
int cgroup_freeze_settled(struct cgroup *cg, bool frozen);
/* Whether a freeze was asked of the group (by us, before a restart, or anyone). */
bool cgroup_frozen(struct cgroup *cg);
/*
 * One step of SIGKILLing every process in the group; never waits. v2
 * cgroup.kill where present. Else a batch of the pids listed in
 * cgroup.procs (a step spends at most ~2 ms), in passes over the list;
 * when a pass does not shrink the group (something forks as fast as we
 * kill), later passes freeze it first (request only; killing waits for
 * the freeze to settle, a few steps at most) and thaw it at their end.
 * Returns 0 when the group is empty, 1 when it is not yet: call again
 * later, from a timer (every 20 ms or so), until 0. The caller bounds the
 * number of calls.
 */
int cgroup_kill_step(struct cgroup *cg);
/* Every pid in the group (cgroup.procs of the v2 or the main hierarchy); caller frees. */
int cgroup_pids(struct cgroup *cg, pid_t **out, size_t *n);
/* Send sig to every process in the group (no freezing). */
int cgroup_signal_all(struct cgroup *cg, int sig);
/* 1 if no process is left in any hierarchy, 0 if some are, -errno. */
int cgroup_is_empty(struct cgroup *cg);
/* rmdir in every hierarchy; -EBUSY while processes remain. */
int cgroup_destroy(struct cgroup *cg);

/* Paths for status and tests. */
const char *
cgroup_path(const struct cgroup *cg); /* relative: "<root>/<name>" of the main hierarchy */
/*
 * The cgroup of pid in the main hierarchy, in cgroup_path()'s form, read
 * from /proc/PID/cgroup (a zombie still shows its cgroup). 0 or -errno.
 */
int cgroup_host_pid_path(const struct cgroup_host *host, pid_t pid, char *buf, size_t len);
/* Is path (as from cgroup_host_pid_path) cg itself or below it? */
bool cgroup_path_within(const struct cgroup *cg, const char *path);
/* Read a knob file by its v2 name ("memory.max", "cpu.max", ...), translated for v1; trims. */
int cgroup_read_knob(struct cgroup *cg, const char *knob, char *buf, size_t len);
/* Directory of a named hierarchy for this cgroup ("memory", "cpu", "unified", ...) or NULL. */
const char *cgroup_dir(const struct cgroup *cg, const char *controller);

/* Pure conversions (unit-tested). */
uint64_t cgroup_weight_to_shares(uint32_t weight); /* cpu.weight -> cpu.shares */
uint32_t cgroup_weight_to_blkio(uint32_t weight); /* io.weight -> blkio.weight */
void cgroup_mcpu_to_cfs(uint32_t mcpu, int64_t *quota_us, uint64_t *period_us);
/* "max 100000" / "150000 100000" */
void cgroup_format_cpu_max(uint32_t mcpu, char *buf, size_t len);

#endif
