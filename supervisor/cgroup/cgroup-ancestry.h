/*
 * cgroup-ancestry.h - read-only: the tightest memory and CPU limits that
 * the daemon's own cgroup and its ancestors impose, per hierarchy, with
 * the file each figure came from. The rebalancer's default budget is
 * built from them (a paddockd inside a 512M slice must not plan for the
 * host's RAM). Nothing is written; library-style: -errno, no logging.
 */
#ifndef PADDOCK_CGROUP_ANCESTRY_H
#define PADDOCK_CGROUP_ANCESTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "cgroup.h"

#define CGROUP_NO_LIMIT UINT64_MAX
#define CGROUP_SOURCE_MAX 4160 /* a path (4096) and a file name */

/* One figure and where it came from, e.g. "memory.max of /sys/fs/cgroup/x". */
struct cgroup_bound {
	uint64_t value; /* bytes or millicores; CGROUP_NO_LIMIT when nothing limits */
	char source[CGROUP_SOURCE_MAX];
};

struct cgroup_ancestry {
	struct cgroup_bound memory; /* bytes */
	struct cgroup_bound cpu; /* millicores */
};

/*
 * The daemon's own cgroup (as detected, before any move into a leaf) and
 * every parent up to the hierarchy's root, in every mounted hierarchy:
 * v2 memory.max, memory.high, cpu.max, cpuset.cpus.effective; v1
 * memory.limit_in_bytes, cpu.cfs_quota_us / cpu.cfs_period_us,
 * cpuset.effective_cpus (else cpuset.cpus). Files that are absent (a
 * controller not enabled, the root cgroup) do not limit. A few small
 * reads per level; cheap enough to repeat every few seconds.
 */
int cgroup_host_ancestry(const struct cgroup_host *host, struct cgroup_ancestry *out);

/* Pure pieces, unit-tested. */
void cgroup_ancestry_init(struct cgroup_ancestry *a);
/* Walk mount+own up to mount (own absolute within the mount, "/" for the root). */
void cgroup_ancestry_walk(const char *mount, const char *own, bool v2, struct cgroup_ancestry *a);
/* Keep value if it is tighter than what b holds; true when it was. */
bool cgroup_bound_tighten(struct cgroup_bound *b, uint64_t value, const char *file,
			  const char *dir);
/* "max", "-1" and v1's near-2^63 "unlimited" -> CGROUP_NO_LIMIT; else bytes. */
int cgroup_parse_limit(const char *s, uint64_t *out);
/* v2 cpu.max "QUOTA PERIOD" or "max PERIOD" -> millicores (rounded). */
int cgroup_parse_cpu_max(const char *s, uint64_t *mcpu);
/* v1 cpu.cfs_quota_us ("-1" = none) and cpu.cfs_period_us -> millicores. */
int cgroup_parse_cfs(const char *quota, const char *period, uint64_t *mcpu);
/* A cpuset list such as "0-3,6" -> number of CPUs (5). */
int cgroup_parse_cpuset(const char *list, uint64_t *ncpus);

#endif
