/*
 * cgroup-ancestry.c - the limits above the daemon (see cgroup-ancestry.h).
 * Read-only: walks from the daemon's own cgroup up to each hierarchy's
 * mount point and keeps the tightest figure with the file it came from.
 * A limit set on any ancestor caps everything below it, so the smallest
 * one anywhere on the path is what the services together can have.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-ancestry.h"
#include "cgroup-internal.h"

/* v1 writes "unlimited" as PAGE_COUNTER_MAX pages (about 2^63); anything this big is none. */
#define ANC_UNLIMITED_MIN (1ULL << 60)

void cgroup_ancestry_init(struct cgroup_ancestry *a)
{
	memset(a, 0, sizeof(*a));
	a->memory.value = CGROUP_NO_LIMIT;
	a->cpu.value = CGROUP_NO_LIMIT;
}

bool cgroup_bound_tighten(struct cgroup_bound *b, uint64_t value, const char *file, const char *dir)
{
	if (value == CGROUP_NO_LIMIT || value >= b->value)
		return false;
	b->value = value;
	(void)snprintf(b->source, sizeof(b->source), "%s of %s", file, dir);
	return true;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || (*end && !isspace((unsigned char)*end)))
		return -EINVAL;
	*out = v;
	return 0;
}

int cgroup_parse_limit(const char *s, uint64_t *out)
{
	if (strcmp(s, "max") == 0 || strcmp(s, "-1") == 0) {
		*out = CGROUP_NO_LIMIT;
		return 0;
	}
	if (parse_u64(s, out) < 0)
		return -EINVAL;
	if (*out >= ANC_UNLIMITED_MIN)
		*out = CGROUP_NO_LIMIT;
	return 0;
}

static uint64_t quota_mcpu(uint64_t quota, uint64_t period)
{
	return (quota * 1000 + period / 2) / period;
}

int cgroup_parse_cpu_max(const char *s, uint64_t *mcpu)
{
	char q[32];
	unsigned long long period;
	uint64_t quota;

	if (sscanf(s, "%31s %llu", q, &period) != 2 || period == 0)
		return -EINVAL;
	if (strcmp(q, "max") == 0) {
		*mcpu = CGROUP_NO_LIMIT;
		return 0;
	}
	if (parse_u64(q, &quota) < 0 || quota > UINT64_MAX / 1000)
		return -EINVAL;
	*mcpu = quota_mcpu(quota, period);
	return 0;
}

int cgroup_parse_cfs(const char *quota, const char *period, uint64_t *mcpu)
{
	uint64_t q, p;

	if (strcmp(quota, "-1") == 0) {
		*mcpu = CGROUP_NO_LIMIT;
		return 0;
	}
	if (parse_u64(quota, &q) < 0 || parse_u64(period, &p) < 0 || p == 0 ||
	    q > UINT64_MAX / 1000)
		return -EINVAL;
	*mcpu = quota_mcpu(q, p);
	return 0;
}

int cgroup_parse_cpuset(const char *list, uint64_t *ncpus)
{
	const char *s = list;
	uint64_t n = 0;

	while (*s && !isspace((unsigned char)*s)) {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;
		if (end == s)
			return -EINVAL;
		s = end;
		if (*s == '-') {
			b = strtoul(++s, &end, 10);
			if (end == s || b < a)
				return -EINVAL;
			s = end;
		}
		n += b - a + 1;
		if (*s == ',')
			s++;
		else if (*s && !isspace((unsigned char)*s))
			return -EINVAL;
	}
	*ncpus = n;
	return 0;
}

/* One limit file of dir into b; absent or unparsable files do not limit. */
static void tighten_file(struct cgroup_bound *b, const char *dir, const char *file)
{
	char buf[64];
	uint64_t v;

	if (cg_read(dir, file, buf, sizeof(buf)) >= 0 && cgroup_parse_limit(buf, &v) == 0)
		(void)cgroup_bound_tighten(b, v, file, dir);
}

static void tighten_cpuset(struct cgroup_bound *b, const char *dir, const char *file)
{
	char buf[1024];
	uint64_t n;

	/* An empty v1 cpuset.cpus is a cgroup nobody configured, not zero CPUs. */
	if (cg_read(dir, file, buf, sizeof(buf)) > 0 && cgroup_parse_cpuset(buf, &n) == 0 && n)
		(void)cgroup_bound_tighten(b, n * 1000, file, dir);
}

static void level(const char *dir, bool v2, struct cgroup_ancestry *a)
{
	char q[32], p[32];
	uint64_t v;

	if (v2) {
		tighten_file(&a->memory, dir, "memory.max");
		tighten_file(&a->memory, dir, "memory.high");
		if (cg_read(dir, "cpu.max", q, sizeof(q)) >= 0 && cgroup_parse_cpu_max(q, &v) == 0)
			(void)cgroup_bound_tighten(&a->cpu, v, "cpu.max", dir);
		tighten_cpuset(&a->cpu, dir, "cpuset.cpus.effective");
		return;
	}
	tighten_file(&a->memory, dir, "memory.limit_in_bytes");
	if (cg_read(dir, "cpu.cfs_quota_us", q, sizeof(q)) >= 0 &&
	    cg_read(dir, "cpu.cfs_period_us", p, sizeof(p)) >= 0 && cgroup_parse_cfs(q, p, &v) == 0)
		(void)cgroup_bound_tighten(&a->cpu, v, "cpu.cfs_quota_us", dir);
	if (cg_exists(dir, "cpuset.effective_cpus"))
		tighten_cpuset(&a->cpu, dir, "cpuset.effective_cpus");
	else
		tighten_cpuset(&a->cpu, dir, "cpuset.cpus");
}

void cgroup_ancestry_walk(const char *mount, const char *own, bool v2, struct cgroup_ancestry *a)
{
	char dir[CG_PATH_MAX];
	size_t ml = strlen(mount), l;
	int n;

	while (ml > 1 && mount[ml - 1] == '/')
		ml--;
	n = snprintf(dir, sizeof(dir), "%.*s/%s", (int)ml, mount,
		     own ? own + strspn(own, "/") : "");
	if (n < 0 || (size_t)n >= sizeof(dir))
		return;
	l = (size_t)n;
	while (l > ml && dir[l - 1] == '/')
		dir[--l] = '\0';
	/* Own cgroup first, then each parent, the mount point (the root cgroup) last. */
	for (;;) {
		level(dir, v2, a);
		if (l <= ml)
			break;
		char *slash = strrchr(dir, '/');
		l = (size_t)(slash - dir);
		if (l < ml)
			l = ml;
		dir[l] = '\0';
	}
}

int cgroup_host_ancestry(const struct cgroup_host *host, struct cgroup_ancestry *out)
{
	cgroup_ancestry_init(out);
	if (!host)
		return -EINVAL;
	for (size_t i = 0; i < host->nhier; i++) {
		const struct cg_hier *h = &host->hier[i];
		if (!h->v2 && !(h->ctrls & (CG_CTRL_MEMORY | CG_CTRL_CPU | CG_CTRL_CPUSET)))
			continue;
		cgroup_ancestry_walk(h->mount, h->own, h->v2, out);
	}
	return 0;
}
