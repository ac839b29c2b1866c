/*
 * cgroup-internal.h - private to cgroup.c, cgroup-v1.c, cgroup-v2.c and the
 * unit test: the detected hierarchies, the ops table each mode dispatches
 * through, and the small cgroupfs file helpers all backends share.
 * Nothing else in the daemon includes this file.
 */
#ifndef PADDOCK_CGROUP_INTERNAL_H
#define PADDOCK_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"

#define CG_PATH_MAX 4096
#define CG_MAX_HIER 16 /* mounted hierarchies we track; Linux has ~14 controllers */
#define CG_MAX_LEVELS 64 /* depth of the root below its base */
#define CG_LINE_MAX 4096 /* longer mountinfo/cgroup lines are skipped */
#define CG_MAX_ABOVE 128 /* directories above a root that we lock shared */

/* v1 controllers we use (in describe order), and the v2 ones we enable. */
enum {
	CG_CTRL_MEMORY = 1 << 0,
	CG_CTRL_CPU = 1 << 1,
	CG_CTRL_CPUACCT = 1 << 2,
	CG_CTRL_PIDS = 1 << 3,
	CG_CTRL_CPUSET = 1 << 4,
	CG_CTRL_BLKIO = 1 << 5,
	CG_CTRL_FREEZER = 1 << 6,
	CG_CTRL_IO = 1 << 7, /* v2 only */
	CG_CTRL_DEVICES = 1 << 8, /* v1 only; v2 has BPF programs */
	CG_CTRL_HUGETLB = 1 << 9,
};

/* One directory between a hierarchy's base (own cgroup) and the root. */
struct cg_level {
	char *path; /* full path */
	bool created; /* mkdir'ed by cgroup_host_setup */
	unsigned enabled; /* v2: CG_CTRL_* we turned on in its cgroup.subtree_control */
};

/* One mounted hierarchy: a v1 controller set or the v2 unified one. */
struct cg_hier {
	bool v2;
	unsigned ctrls; /* v1: CG_CTRL_* mounted here; v2: 0 */
	char *mount; /* mountpoint, e.g. /sys/fs/cgroup/memory */
	char *own; /* own cgroup relative to the mount, e.g. /process_api/x */
	char *root_rel; /* our root relative to the mount */
	char *root; /* mount + root_rel */

	struct cg_level levels[CG_MAX_LEVELS]; /* [0] = base, last = root */
	size_t nlevels;
	char *supervisor; /* v2: "<own>/supervisor" when we moved there */
	bool supervisor_created;
	bool set_up; /* cgroup_host_setup done (levels, cpuset, v2 leaf) */
	int lock_fd; /* the root, flock'ed: we own it (cgroup-lock.c); -1 */
	int above_fd[CG_MAX_ABOVE]; /* the directories above it, LOCK_SH */
	size_t nabove;
};

struct cgroup_ops {
	const char *name;
	int (*apply)(struct cgroup *cg, const struct cgroup_limits *limits, unsigned *unsupported,
		     const char **failed_knob);
	int (*read_knob)(struct cgroup *cg, const char *knob, char *buf, size_t len);
};

struct cgroup_host {
	enum cgroup_mode mode;
	const struct cgroup_ops *ops;
	struct cg_hier hier[CG_MAX_HIER];
	size_t nhier;
	int v2; /* index of the cgroup2 hierarchy, -1 if none */
	int main; /* hierarchy cgroup_path() reports */
	unsigned v2_avail; /* CG_CTRL_* enabled in the v2 root's subtree_control */
	bool no_kill; /* PADDOCK_TEST_NO_CGROUP_KILL=1: act as if there were no cgroup.kill */
	int inherited[CG_MAX_HIER * 16]; /* lock fds from before a re-exec, not yet taken */
	size_t ninherited;
	char describe[512];
};

struct cgroup {
	struct cgroup_host *host;
	char *name;
	char *rel; /* root_rel/name in the main hierarchy */
	char *dir[CG_MAX_HIER];
	int v2_fd;
	bool fresh; /* every directory just made: unset knobs are at their defaults already */
	bool placed; /* made from a slot: children are born inside, no attach */
	/* cgroup_kill_step's passes (no cgroup.kill) */
	pid_t kill_next; /* the pass goes on from this pid; 0: a new pass starts */
	size_t kill_pass; /* processes listed when the current pass started */
	bool kill_freeze; /* a pass did not shrink the group: freeze for the next ones */
	bool kill_froze; /* froze it and did not thaw it yet */
	unsigned kill_waits; /* steps spent waiting for that freeze to settle */
	char failed[160]; /* a failed_knob that names a device too ("io.max /dev/sda1: ...") */
	uint64_t dev_hash; /* of the device rules last applied through this handle */
	bool dev_applied;
};

extern const struct cgroup_ops cgroup_v2_ops;
extern const struct cgroup_ops cgroup_v1_ops;

/* Detection with explicit paths (unit tests use captured files). */
int cgroup_host_detect_at(const char *mountinfo, const char *proc_cgroup, const char *cgroup_root,
			  struct cgroup_host **out);
/* Join own (absolute, relative to a mount) and cgroup_root into a normalized path. */
int cgroup_root_path(const char *own, const char *cgroup_root, char *out, size_t len);
/* io.weight (1..10000, default 100) -> BFQ weight (1..1000, default 100), as systemd does. */
uint32_t cgroup_weight_to_bfq(uint32_t weight);

/* Called after every successful knob write: lets tests check write order. */
typedef void (*cgroup_write_hook_fn)(const char *path, const char *value, void *data);
void cgroup_set_write_hook(cgroup_write_hook_fn fn, void *data);

/* Shared file helpers; return -errno. */
int cg_join(char *buf, size_t len, const char *dir, const char *file);
int cg_write(const char *dir, const char *file, const char *value);
/* Read and trim trailing whitespace; returns length. */
int cg_read(const char *dir, const char *file, char *buf, size_t len);
bool cg_exists(const char *dir, const char *file);
/* Find a "key value" line in a flat keyed file such as cgroup.events. */
int cg_read_key(const char *dir, const char *file, const char *key, long long *value);
/* 1 if cgroup.procs lists any process, 0 if not. */
int cg_has_procs(const char *dir);
/* Format a byte value: "max" for unlimited, else decimal. */
void cg_format_bytes(uint64_t v, const char *unset, char *buf, size_t len);
/* Index of the hierarchy holding a v1 controller, -1 if none. */
int cg_hier_with(const struct cgroup_host *host, unsigned ctrl);

/* Make the levels from the base down to the root (idempotent). */
int cg_hier_levels(struct cg_hier *h);
/* Let go of every lock of cgroup-lock.c. */
void cg_host_unlock(struct cgroup_host *host);

/* v2 pieces the front uses for the unified hierarchy in every mode. */
int cg_v2_setup(struct cgroup_host *host, struct cg_hier *h);
void cg_v2_teardown(struct cgroup_host *host, struct cg_hier *h, bool levels_ok);
int cg_v2_populated(const char *dir);
int cg_v2_freeze(const char *dir, bool frozen); /* -ENOENT without cgroup.freeze */
int cg_v2_kill(const char *dir); /* -ENOENT without cgroup.kill */

/* Device policy and io.max pieces (cgroup-devices.c). */
/* Block device path -> "MAJ:MIN" into buf; -ENOTBLK, -EISDIR (a partition), -errno. */
int cg_blkdev(const char *path, char *buf, size_t len);
/*
 * v2: replace the BPF device programs on dir with one for limits (or
 * none); v1: devices.deny/devices.allow in dir. Both skip the work when
 * cg already got the same rules through this handle (rebalancer writes).
 * v2 returns -EOPNOTSUPP where BPF programs cannot be loaded.
 */
int cg_v2_devices(struct cgroup *cg, const char *dir, const struct cgroup_limits *l,
		  const char **bad);
int cg_v1_devices(struct cgroup *cg, const char *dir, const struct cgroup_limits *l,
		  const char **bad);
/* A failed_knob naming the device and why, kept in cg->failed. */
const char *cg_dev_failed(struct cgroup *cg, const char *knob, const char *path, int r);
/* "MAJ:MIN" of each io.max device into devs[l->nio_max]; on error *failed says which. */
int cg_io_max_devs(struct cgroup *cg, const struct cgroup_limits *l, char (*devs)[32],
		   const char **failed);
/* Is dev (len bytes, "MAJ:MIN") among devs[n]? */
bool cg_dev_listed(char (*devs)[32], size_t n, const char *dev, size_t len);
/* The host's huge page sizes as hugetlb.<size>.* names them ("2MB"); returns how many. */
size_t cg_hugetlb_sizes(char (*names)[24], size_t max);

/* v1 pieces. */
int cg_v1_cpuset_inherit(const char *dir, const char *parent);
int cg_v1_freeze(const char *dir, bool frozen);
/* 1 when freezer.state (or v2 cgroup.events "frozen") has settled to the wanted state. */
int cg_v1_frozen(const char *dir, bool frozen);

#endif
