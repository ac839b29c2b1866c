/*
 * cgroup-v1.c - limits through the v1 controllers, used on pure v1 and on
 * hybrid hosts (where the unified hierarchy only provides PSI, freeze and
 * kill). Each v2 knob is translated to its v1 file: memory.max ->
 * memory.limit_in_bytes (+ memory.memsw.limit_in_bytes for swap),
 * memory.low -> memory.soft_limit_in_bytes, cpu.weight -> cpu.shares,
 * cpu.max -> cpu.cfs_{quota,period}_us, io.weight -> blkio.weight or
 * blkio.bfq.weight. memory.min and memory.high have no v1 equivalent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"
#include "util.h"

/* v1 memory files report "unlimited" as PAGE_COUNTER_MAX pages in bytes (~2^63). */
#define V1_UNLIMITED_MIN (1ULL << 60)

int cg_v1_cpuset_inherit(const char *dir, const char *parent)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char buf[1024];

	/* A new cpuset is empty and refuses tasks (ENOSPC) until both are set. */
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		int r = cg_read(dir, files[i], buf, sizeof(buf));
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		r = cg_read(parent, files[i], buf, sizeof(buf));
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		r = cg_write(dir, files[i], buf);
		if (r < 0)
			return r;
	}
	return 0;
}

int cg_v1_freeze(const char *dir, bool frozen)
{
	return cg_write(dir, "freezer.state", frozen ? "FROZEN" : "THAWED");
}

int cg_v1_frozen(const char *dir, bool frozen)
{
	char buf[32];
	int r = cg_read(dir, "freezer.state", buf, sizeof(buf));

	if (r < 0)
		return r;
	return strcmp(buf, frozen ? "FROZEN" : "THAWED") == 0;
}

static const char *v1_dir(struct cgroup *cg, unsigned ctrl)
{
	int i = cg_hier_with(cg->host, ctrl);
	return i < 0 ? NULL : cg->dir[i];
}

static int v1_write(const char *dir, const char *file, const char *value, const char **failed)
{
	int r = cg_write(dir, file, value);

	if (r < 0)
		*failed = file;
	return r;
}

/* Bytes -> v1 limit value: "-1" for unset or max. */
static void v1_bytes(uint64_t v, char *buf, size_t len)
{
	if (v == SPEC_UNSET || v == SPEC_SIZE_MAX)
		snprintf(buf, len, "-1");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

static bool v1_unlimited(uint64_t v)
{
	return v == SPEC_UNSET || v == SPEC_SIZE_MAX;
}

static int v1_apply_memory(const char *dir, const struct spec_memory *m, unsigned *unsupported,
			   const char **failed)
{
	char limit[32], soft[32], memsw[32], cur[32];
	bool have_memsw = cg_exists(dir, "memory.memsw.limit_in_bytes");
	bool lowering;
	uint64_t new_limit, cur_limit;
	int r;

	if (m->min != SPEC_UNSET && m->min != 0)
		*unsupported |= CGROUP_UNSUPPORTED_MEMORY_MIN;
	if (m->high != SPEC_UNSET && m->high != SPEC_SIZE_MAX)
		*unsupported |= CGROUP_UNSUPPORTED_MEMORY_HIGH;

	v1_bytes(m->max, limit, sizeof(limit));
	v1_bytes(m->low, soft, sizeof(soft));
	r = v1_write(dir, "memory.soft_limit_in_bytes", soft, failed);
	if (r < 0)
		return r;

	if (!have_memsw) {
		if (!v1_unlimited(m->swap_max))
			*unsupported |= CGROUP_UNSUPPORTED_SWAP_MAX;
		return v1_write(dir, "memory.limit_in_bytes", limit, failed);
	}

	/* memsw bounds memory + swap: it must stay >= the memory limit at every step. */
	if (v1_unlimited(m->max) || v1_unlimited(m->swap_max)) {
		/* swap alone cannot be bounded without a memory limit */
		if (v1_unlimited(m->max) && !v1_unlimited(m->swap_max))
			*unsupported |= CGROUP_UNSUPPORTED_SWAP_MAX;
		snprintf(memsw, sizeof(memsw), "-1");
	} else {
		snprintf(memsw, sizeof(memsw), "%llu", (unsigned long long)(m->max + m->swap_max));
	}
	new_limit = v1_unlimited(m->max) ? UINT64_MAX : m->max;
	r = cg_read(dir, "memory.limit_in_bytes", cur, sizeof(cur));
	if (r < 0) {
		*failed = "memory.limit_in_bytes";
		return r;
	}
	cur_limit = cur[0] == '-' ? UINT64_MAX : strtoull(cur, NULL, 10);
	if (cur_limit >= V1_UNLIMITED_MIN)
		cur_limit = UINT64_MAX;
	lowering = new_limit <= cur_limit;
	if (lowering) {
		r = v1_write(dir, "memory.limit_in_bytes", limit, failed);
		if (r == 0)
			r = v1_write(dir, "memory.memsw.limit_in_bytes", memsw, failed);
	} else {
		r = v1_write(dir, "memory.memsw.limit_in_bytes", memsw, failed);
		if (r == 0)
			r = v1_write(dir, "memory.limit_in_bytes", limit, failed);
	}
	return r;
}

static const char *const v1_throttle[4] = {
	"blkio.throttle.read_bps_device",
	"blkio.throttle.write_bps_device",
	"blkio.throttle.read_iops_device",
	"blkio.throttle.write_iops_device",
};

/* io.max as the four blkio.throttle files ("MAJ:MIN value", 0 = no limit). */
static int v1_io_max(struct cgroup *cg, const struct cgroup_limits *l, unsigned *unsupported,
		     const char **failed)
{
	const char *dir = v1_dir(cg, CG_CTRL_BLKIO);
	char devs[16][32], line[96], cur[4096];
	int r;

	if (!l->nio_max && cg->fresh)
		return 0;
	if (!dir || !cg_exists(dir, v1_throttle[0])) {
		if (l->nio_max)
			*unsupported |= CGROUP_UNSUPPORTED_IO_MAX;
		return 0;
	}
	if (l->nio_max > ARRAY_SIZE(devs))
		return -E2BIG;
	if ((r = cg_io_max_devs(cg, l, devs, failed)) < 0)
		return r;
	for (size_t f = 0; f < 4; f++) {
		for (size_t i = 0; i < l->nio_max; i++) {
			const struct spec_io_max *m = &l->io_max[i];
			uint64_t v = f == 0   ? m->rbps
				     : f == 1 ? m->wbps
				     : f == 2 ? m->riops
					      : m->wiops;
			if (v1_unlimited(v))
				v = 0;
			snprintf(line, sizeof(line), "%s %llu", devs[i], (unsigned long long)v);
			if ((r = cg_write(dir, v1_throttle[f], line)) < 0) {
				*failed = cg_dev_failed(cg, v1_throttle[f], m->device, r);
				return r;
			}
		}
		if (cg->fresh || cg_read(dir, v1_throttle[f], cur, sizeof(cur)) < 0)
			continue;
		for (char *p = cur; *p; p += strcspn(p, "\n"), p += *p == '\n') {
			size_t n = strcspn(p, " \n");
			if (!n || cg_dev_listed(devs, l->nio_max, p, n))
				continue;
			snprintf(line, sizeof(line), "%.*s 0", (int)n, p);
			if ((r = v1_write(dir, v1_throttle[f], line, failed)) < 0)
				return r;
		}
	}
	return 0;
}

/* hugetlb.<size>.limit_in_bytes; unsupported without the controller or the size. */
static int v1_hugetlb(struct cgroup *cg, const struct cgroup_limits *l, unsigned *unsupported,
		      const char **failed)
{
	const char *dir = v1_dir(cg, CG_CTRL_HUGETLB);
	char file[256], buf[32], sizes[8][24];
	size_t n;
	int r;

	for (size_t i = 0; i < l->nhugetlb; i++) {
		snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", l->hugetlb[i].pagesize);
		if (!dir || !cg_exists(dir, file)) {
			*unsupported |= CGROUP_UNSUPPORTED_HUGETLB;
			continue;
		}
		v1_bytes(l->hugetlb[i].max, buf, sizeof(buf));
		if ((r = cg_write(dir, file, buf)) < 0) {
			*failed = cg_dev_failed(cg, "hugetlb", file, r);
			return r;
		}
	}
	if (cg->fresh || !dir)
		return 0;
	n = cg_hugetlb_sizes(sizes, ARRAY_SIZE(sizes));
	for (size_t k = 0; k < n; k++) {
		bool listed = false;
		for (size_t i = 0; i < l->nhugetlb; i++)
			listed |= strcmp(l->hugetlb[i].pagesize, sizes[k]) == 0;
		snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", sizes[k]);
		if (!listed && cg_exists(dir, file) && (r = cg_write(dir, file, "-1")) < 0) {
			*failed = "hugetlb";
			return r;
		}
	}
	return 0;
}

static int v1_apply(struct cgroup *cg, const struct cgroup_limits *l, unsigned *unsupported,
		    const char **failed)
{
	const struct spec_memory *m = &l->memory;
	const char *dir;
	char buf[1024];
	int r;

	/* A fresh cgroup holds the defaults: write only what the limits set. */
	bool fresh = cg->fresh;
	bool mem_set = m->min != SPEC_UNSET || m->low != SPEC_UNSET || m->high != SPEC_UNSET ||
		       m->max != SPEC_UNSET || m->swap_max != SPEC_UNSET;

	if ((dir = v1_dir(cg, CG_CTRL_MEMORY)) && (mem_set || !fresh)) {
		r = v1_apply_memory(dir, m, unsupported, failed);
		if (r < 0)
			return r;
	} else if (!dir && mem_set) {
		*unsupported |= CGROUP_UNSUPPORTED_MEMORY;
	}

	if ((dir = v1_dir(cg, CG_CTRL_CPU))) {
		int64_t quota;
		uint64_t period;
		snprintf(buf, sizeof(buf), "%llu",
			 (unsigned long long)cgroup_weight_to_shares(l->cpu_weight));
		r = l->cpu_weight || !fresh ? v1_write(dir, "cpu.shares", buf, failed) : 0;
		if (r < 0)
			return r;
		cgroup_mcpu_to_cfs(l->cpu_max_mcpu, &quota, &period);
		if (!l->cpu_max_mcpu && fresh) {
			/* defaults already */
		} else if (cg_exists(dir, "cpu.cfs_quota_us")) {
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)period);
			r = v1_write(dir, "cpu.cfs_period_us", buf, failed);
			if (r < 0)
				return r;
			snprintf(buf, sizeof(buf), "%lld", (long long)quota);
			r = v1_write(dir, "cpu.cfs_quota_us", buf, failed);
			if (r < 0)
				return r;
		} else if (l->cpu_max_mcpu) {
			*unsupported |= CGROUP_UNSUPPORTED_CPU; /* kernel without CFS bandwidth */
		}
	} else if (l->cpu_weight || l->cpu_max_mcpu) {
		*unsupported |= CGROUP_UNSUPPORTED_CPU;
	}

	/* A fresh cpuset was given its parent's cpus and mems at creation. */
	if ((dir = v1_dir(cg, CG_CTRL_CPUSET)) && (l->cpus || !fresh)) {
		int i = cg_hier_with(cg->host, CG_CTRL_CPUSET);
		const char *cpus = l->cpus;
		/* v1 has no "inherit": unset means the parent's (our root's) list. */
		if (!cpus) {
			r = cg_read(cg->host->hier[i].root, "cpuset.cpus", buf, sizeof(buf));
			if (r < 0) {
				*failed = "cpuset.cpus";
				return r;
			}
			cpus = buf;
		}
		r = v1_write(dir, "cpuset.cpus", cpus, failed);
		if (r < 0)
			return r;
	} else if (!dir && l->cpus) {
		*unsupported |= CGROUP_UNSUPPORTED_CPUSET;
	}

	if ((dir = v1_dir(cg, CG_CTRL_PIDS)) && (l->pids_max != SPEC_UNSET || !fresh)) {
		cg_format_bytes(l->pids_max, "max", buf, sizeof(buf));
		r = v1_write(dir, "pids.max", buf, failed);
		if (r < 0)
			return r;
	} else if (!dir && l->pids_max != SPEC_UNSET) {
		*unsupported |= CGROUP_UNSUPPORTED_PIDS;
	}

	dir = v1_dir(cg, CG_CTRL_BLKIO);
	if (dir && !l->io_weight && fresh) {
		r = 0;
	} else if (dir && cg_exists(dir, "blkio.weight")) {
		snprintf(buf, sizeof(buf), "%u", cgroup_weight_to_blkio(l->io_weight));
		r = v1_write(dir, "blkio.weight", buf, failed);
	} else if (dir && cg_exists(dir, "blkio.bfq.weight")) {
		snprintf(buf, sizeof(buf), "%u", cgroup_weight_to_bfq(l->io_weight));
		r = v1_write(dir, "blkio.bfq.weight", buf, failed);
	} else {
		if (l->io_weight)
			*unsupported |= CGROUP_UNSUPPORTED_IO_WEIGHT;
		r = 0;
	}
	if (r < 0 || (r = v1_io_max(cg, l, unsupported, failed)) < 0 ||
	    (r = v1_hugetlb(cg, l, unsupported, failed)) < 0)
		return r;

	if ((dir = v1_dir(cg, CG_CTRL_CPUSET)) && (l->mems || !fresh)) {
		int i = cg_hier_with(cg->host, CG_CTRL_CPUSET);
		const char *mems = l->mems;
		if (!mems) {
			r = cg_read(cg->host->hier[i].root, "cpuset.mems", buf, sizeof(buf));
			if (r < 0) {
				*failed = "cpuset.mems";
				return r;
			}
			mems = buf;
		}
		if ((r = v1_write(dir, "cpuset.mems", mems, failed)) < 0)
			return r;
	} else if (!dir && l->mems) {
		*unsupported |= CGROUP_UNSUPPORTED_CPUSET_MEMS;
	}

	/* Devices: the v1 controller, else (hybrid without it) a BPF program on unified. */
	const char *bad = NULL;
	if ((dir = v1_dir(cg, CG_CTRL_DEVICES)))
		r = cg_v1_devices(cg, dir, l, &bad);
	else if (cg->host->v2 >= 0 && cg->dir[cg->host->v2])
		r = cg_v2_devices(cg, cg->dir[cg->host->v2], l, &bad);
	else
		r = -EOPNOTSUPP;
	if (r == -EOPNOTSUPP) {
		if (l->devices_policy)
			*unsupported |= CGROUP_UNSUPPORTED_DEVICES;
		r = 0;
	}
	if (r < 0)
		*failed = bad ? cg_dev_failed(cg, "devices", bad, r) : "devices";
	return r;
}

/* Read a v1 memory value, "max" when unlimited. */
static int v1_read_bytes(const char *dir, const char *file, char *buf, size_t len)
{
	int r = cg_read(dir, file, buf, len);

	if (r < 0)
		return r;
	if (strcmp(buf, "-1") == 0 || strtoull(buf, NULL, 10) >= V1_UNLIMITED_MIN)
		return snprintf(buf, len, "max");
	return r;
}

/* The four blkio.throttle files as v2 io.max lines ("8:0 rbps=1048576 wbps=max riops=max wiops=max"). */
static int v1_read_io_max(struct cgroup *cg, char *buf, size_t len)
{
	static const char *const keys[4] = { "rbps", "wbps", "riops", "wiops" };
	const char *dir = v1_dir(cg, CG_CTRL_BLKIO);
	char devs[16][32], vals[16][4][24], cur[4096];
	size_t n = 0, o = 0;

	if (!dir || !cg_exists(dir, v1_throttle[0]))
		return -EOPNOTSUPP;
	for (size_t f = 0; f < 4; f++) {
		if (cg_read(dir, v1_throttle[f], cur, sizeof(cur)) < 0)
			continue;
		for (char *p = cur; *p; p += strcspn(p, "\n"), p += *p == '\n') {
			unsigned maj, min;
			unsigned long long v;
			char dev[32];
			size_t i;
			if (sscanf(p, "%u:%u %llu", &maj, &min, &v) != 3)
				continue;
			snprintf(dev, sizeof(dev), "%u:%u", maj, min);
			for (i = 0; i < n && strcmp(devs[i], dev) != 0; i++)
				;
			if (i == n) {
				if (n == ARRAY_SIZE(devs))
					continue;
				snprintf(devs[n], sizeof(devs[n]), "%s", dev);
				for (size_t k = 0; k < 4; k++)
					snprintf(vals[n][k], sizeof(vals[n][k]), "max");
				n++;
			}
			snprintf(vals[i][f], sizeof(vals[i][f]), "%llu", v);
		}
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n && o < len; i++) {
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "\n" : "", devs[i]);
		for (size_t k = 0; k < 4 && o < len; k++)
			o += (size_t)snprintf(buf + o, len - o, " %s=%s", keys[k], vals[i][k]);
	}
	return o >= len ? -ENOBUFS : (int)o;
}

static int v1_read_knob(struct cgroup *cg, const char *knob, char *buf, size_t len)
{
	static const struct {
		const char *prefix;
		unsigned ctrl;
	} by_prefix[] = {
		{ "memory.", CG_CTRL_MEMORY },	 { "cpu.", CG_CTRL_CPU },
		{ "cpuacct.", CG_CTRL_CPUACCT }, { "cpuset.", CG_CTRL_CPUSET },
		{ "pids.", CG_CTRL_PIDS },	 { "blkio.", CG_CTRL_BLKIO },
		{ "freezer.", CG_CTRL_FREEZER }, { "devices.", CG_CTRL_DEVICES },
		{ "hugetlb.", CG_CTRL_HUGETLB },
	};
	const struct cgroup_host *host = cg->host;
	const char *dir;
	int r;

	if (strcmp(knob, "memory.max") == 0 || strcmp(knob, "memory.low") == 0) {
		if (!(dir = v1_dir(cg, CG_CTRL_MEMORY)))
			return -EOPNOTSUPP;
		return v1_read_bytes(
		    dir, knob[7] == 'm' ? "memory.limit_in_bytes" : "memory.soft_limit_in_bytes",
		    buf, len);
	}
	if (strcmp(knob, "memory.current") == 0 || strcmp(knob, "memory.peak") == 0) {
		if (!(dir = v1_dir(cg, CG_CTRL_MEMORY)))
			return -EOPNOTSUPP;
		return cg_read(
		    dir, knob[7] == 'c' ? "memory.usage_in_bytes" : "memory.max_usage_in_bytes",
		    buf, len);
	}
	if (strcmp(knob, "cpu.weight") == 0) {
		char shares[32];
		if (!(dir = v1_dir(cg, CG_CTRL_CPU)))
			return -EOPNOTSUPP;
		if ((r = cg_read(dir, "cpu.shares", shares, sizeof(shares))) < 0)
			return r;
		/* Report in v2 units (1024 shares = weight 100), rounded. */
		r = snprintf(buf, len, "%llu", (strtoull(shares, NULL, 10) * 100 + 512) / 1024);
		return (size_t)r >= len ? -ENOBUFS : r;
	}
	if (strcmp(knob, "cpu.max") == 0) {
		char q[32], p[32];
		if (!(dir = v1_dir(cg, CG_CTRL_CPU)))
			return -EOPNOTSUPP;
		if ((r = cg_read(dir, "cpu.cfs_quota_us", q, sizeof(q))) < 0 ||
		    (r = cg_read(dir, "cpu.cfs_period_us", p, sizeof(p))) < 0)
			return r;
		r = snprintf(buf, len, "%s %s", q[0] == '-' ? "max" : q, p);
		return (size_t)r >= len ? -ENOBUFS : r;
	}
	if (strcmp(knob, "io.weight") == 0) {
		if (!(dir = v1_dir(cg, CG_CTRL_BLKIO)))
			return -EOPNOTSUPP;
		if (cg_exists(dir, "blkio.weight"))
			return cg_read(dir, "blkio.weight", buf, len);
		return cg_read(dir, "blkio.bfq.weight", buf, len);
	}
	if (strcmp(knob, "io.max") == 0)
		return v1_read_io_max(cg, buf, len);
	if (strncmp(knob, "hugetlb.", 8) == 0 && strlen(knob) > 12 &&
	    strcmp(knob + strlen(knob) - 4, ".max") == 0) {
		char file[128];
		if (!(dir = v1_dir(cg, CG_CTRL_HUGETLB)))
			return -EOPNOTSUPP;
		snprintf(file, sizeof(file), "%.*s.limit_in_bytes", (int)(strlen(knob) - 4), knob);
		return v1_read_bytes(dir, file, buf, len);
	}
	for (size_t i = 0; i < ARRAY_SIZE(by_prefix); i++) {
		if (strncmp(knob, by_prefix[i].prefix, strlen(by_prefix[i].prefix)) != 0)
			continue;
		/* On hybrid, the v2-only files (memory.pressure, ...) live in unified. */
		if ((dir = v1_dir(cg, by_prefix[i].ctrl)) && cg_exists(dir, knob))
			return cg_read(dir, knob, buf, len);
		break;
	}
	/* cgroup.*, *.pressure, ...: the unified hierarchy when there is one. */
	dir = host->v2 >= 0 ? cg->dir[host->v2] : cg->dir[host->main];
	return cg_read(dir, knob, buf, len);
}

const struct cgroup_ops cgroup_v1_ops = {
	.name = "v1",
	.apply = v1_apply,
	.read_knob = v1_read_knob,
};
