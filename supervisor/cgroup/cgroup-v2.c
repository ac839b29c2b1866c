/*
 * cgroup-v2.c - the unified hierarchy: controller delegation down to the
 * root (moving the daemon into a "supervisor" leaf first so its own cgroup
 * has no internal processes), knob writes for pure v2 hosts, and the
 * freeze/kill/populated primitives that hybrid hosts use through their
 * unified mount as well.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

static const struct {
	const char *name;
	unsigned bit;
} v2_controllers[] = {
	{ "memory", CG_CTRL_MEMORY }, { "cpu", CG_CTRL_CPU }, { "cpuset", CG_CTRL_CPUSET },
	{ "pids", CG_CTRL_PIDS },     { "io", CG_CTRL_IO },   { "hugetlb", CG_CTRL_HUGETLB },
};

/* Bits of the controllers we want named in a space list ("cpuset cpu io memory"). */
static unsigned v2_parse_list(const char *list)
{
	unsigned bits = 0;

	while (*list) {
		size_t n;
		list += strspn(list, " \n");
		n = strcspn(list, " \n");
		for (size_t i = 0; i < ARRAY_SIZE(v2_controllers); i++)
			if (strlen(v2_controllers[i].name) == n &&
			    strncmp(list, v2_controllers[i].name, n) == 0)
				bits |= v2_controllers[i].bit;
		list += n;
	}
	return bits;
}

static int v2_read_bits(const char *dir, const char *file, unsigned *bits)
{
	char buf[512];
	int r = cg_read(dir, file, buf, sizeof(buf));

	if (r < 0)
		return r;
	*bits = v2_parse_list(buf);
	return 0;
}

/* Enable what the level offers and lacks; failures for single controllers are not fatal. */
static void v2_enable(struct cg_level *lv)
{
	unsigned avail, on;

	if (v2_read_bits(lv->path, "cgroup.controllers", &avail) < 0 ||
	    v2_read_bits(lv->path, "cgroup.subtree_control", &on) < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(v2_controllers); i++) {
		char cmd[16];
		unsigned bit = v2_controllers[i].bit;
		if (!(avail & bit) || (on & bit))
			continue;
		snprintf(cmd, sizeof(cmd), "+%s", v2_controllers[i].name);
		if (cg_write(lv->path, "cgroup.subtree_control", cmd) == 0)
			lv->enabled |= bit;
	}
}

int cg_v2_setup(struct cgroup_host *host, struct cg_hier *h)
{
	const struct cg_level *root = &h->levels[h->nlevels - 1];
	int r;

	/* On hybrid hosts the unified hierarchy carries no controllers we use. */
	if (host->mode != CGROUP_MODE_V2)
		return 0;

	/*
	 * Controllers can be enabled in the own cgroup's subtree_control only
	 * while it holds no processes (unless it is the root): move ourselves
	 * into a leaf whenever the root is the own cgroup or below it.
	 */
	if (strcmp(h->own, "/") != 0 && strcmp(h->levels[0].path, h->mount) != 0) {
		char *sup;
		xasprintf(&sup, "%s/supervisor", h->levels[0].path);
		if (strcmp(root->path, sup) == 0 || (strncmp(root->path, sup, strlen(sup)) == 0 &&
						     root->path[strlen(sup)] == '/')) {
			free(sup);
			return -EINVAL; /* the root would contain the daemon */
		}
		h->supervisor = sup;
		if (mkdir(sup, 0755) == 0)
			h->supervisor_created = true;
		else if (errno != EEXIST)
			return -errno;
		r = cg_write(sup, "cgroup.procs", "0");
		if (r < 0)
			return r;
	}
	for (size_t l = 0; l < h->nlevels; l++)
		v2_enable(&h->levels[l]);
	if (v2_read_bits(root->path, "cgroup.subtree_control", &host->v2_avail) < 0)
		host->v2_avail = 0;
	return 0;
}

void cg_v2_teardown(struct cgroup_host *host, struct cg_hier *h, bool levels_ok)
{
	char pid[32];

	if (!levels_ok)
		return;
	/* Turn off what we turned on, deepest first, on the levels that stay. */
	for (size_t l = h->nlevels; l-- > 0;) {
		struct cg_level *lv = &h->levels[l];
		for (size_t i = ARRAY_SIZE(v2_controllers); i-- > 0;) {
			char cmd[16];
			if (!(lv->enabled & v2_controllers[i].bit))
				continue;
			snprintf(cmd, sizeof(cmd), "-%s", v2_controllers[i].name);
			(void)cg_write(lv->path, "cgroup.subtree_control", cmd);
		}
		lv->enabled = 0;
	}
	host->v2_avail = 0;
	if (!h->supervisor)
		return;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (cg_write(h->levels[0].path, "cgroup.procs", pid) == 0 && h->supervisor_created)
		(void)rmdir(h->supervisor);
	free(h->supervisor);
	h->supervisor = NULL;
	h->supervisor_created = false;
}

int cg_v2_populated(const char *dir)
{
	long long v;
	int r = cg_read_key(dir, "cgroup.events", "populated", &v);

	if (r == -ENOENT && !cg_exists(dir, "cgroup.events"))
		return cg_has_procs(dir);
	if (r < 0)
		return r;
	return v != 0;
}

int cg_v2_freeze(const char *dir, bool frozen)
{
	if (!cg_exists(dir, "cgroup.freeze"))
		return -ENOENT;
	return cg_write(dir, "cgroup.freeze", frozen ? "1" : "0");
}

int cg_v2_kill(const char *dir)
{
	if (!cg_exists(dir, "cgroup.kill"))
		return -ENOENT;
	return cg_write(dir, "cgroup.kill", "1");
}

/*
 * Write value to file if it exists; a set knob without its file is
 * unsupported. An unset knob of a fresh cgroup is at its default already:
 * skipping it saves a dozen writes per start.
 */
static int v2_knob(const struct cgroup *cg, const char *file, const char *value, bool set,
		   unsigned bit, unsigned *unsupported, const char **failed)
{
	const char *dir = cg->dir[cg->host->v2];
	int r;

	if (!set && cg->fresh)
		return 0;
	if (!cg_exists(dir, file)) {
		if (set)
			*unsupported |= bit;
		return 0;
	}
	r = cg_write(dir, file, value);
	if (r < 0)
		*failed = file;
	return r;
}

/* io.max: a line per listed device; on a re-apply, devices no longer listed go back to max. */
static int v2_io_max(struct cgroup *cg, const struct cgroup_limits *l, unsigned *unsupported,
		     const char **failed)
{
	const char *dir = cg->dir[cg->host->v2];
	char devs[16][32], line[192], cur[4096];
	int r;

	if (!l->nio_max && cg->fresh)
		return 0;
	if (!cg_exists(dir, "io.max")) {
		if (l->nio_max)
			*unsupported |= CGROUP_UNSUPPORTED_IO_MAX;
		return 0;
	}
	if (l->nio_max > ARRAY_SIZE(devs))
		return -E2BIG;
	if ((r = cg_io_max_devs(cg, l, devs, failed)) < 0)
		return r;
	for (size_t i = 0; i < l->nio_max; i++) {
		const struct spec_io_max *m = &l->io_max[i];
		char v[4][24];
		cg_format_bytes(m->rbps, "max", v[0], sizeof(v[0]));
		cg_format_bytes(m->wbps, "max", v[1], sizeof(v[1]));
		cg_format_bytes(m->riops, "max", v[2], sizeof(v[2]));
		cg_format_bytes(m->wiops, "max", v[3], sizeof(v[3]));
		snprintf(line, sizeof(line), "%s rbps=%s wbps=%s riops=%s wiops=%s", devs[i], v[0],
			 v[1], v[2], v[3]);
		if ((r = cg_write(dir, "io.max", line)) < 0) {
			*failed = cg_dev_failed(cg, "io.max", m->device, r);
			return r;
		}
	}
	if (cg->fresh || cg_read(dir, "io.max", cur, sizeof(cur)) < 0)
		return 0;
	for (char *p = cur; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		size_t n = strcspn(p, " \n");
		if (!n || cg_dev_listed(devs, l->nio_max, p, n))
			continue;
		snprintf(line, sizeof(line), "%.*s rbps=max wbps=max riops=max wiops=max", (int)n,
			 p);
		if ((r = cg_write(dir, "io.max", line)) < 0) {
			*failed = "io.max";
			return r;
		}
	}
	return 0;
}

/* hugetlb.<size>.max for the listed sizes; the host's other sizes back to max. */
static int v2_hugetlb(struct cgroup *cg, const struct cgroup_limits *l, unsigned *unsupported,
		      const char **failed)
{
	const char *dir = cg->dir[cg->host->v2];
	char file[256], buf[32], sizes[8][24];
	size_t n;
	int r;

	for (size_t i = 0; i < l->nhugetlb; i++) {
		snprintf(file, sizeof(file), "hugetlb.%s.max", l->hugetlb[i].pagesize);
		cg_format_bytes(l->hugetlb[i].max, "max", buf, sizeof(buf));
		if (!cg_exists(dir, file)) {
			*unsupported |= CGROUP_UNSUPPORTED_HUGETLB;
			continue;
		}
		if ((r = cg_write(dir, file, buf)) < 0) {
			*failed = cg_dev_failed(cg, "hugetlb", file, r);
			return r;
		}
	}
	if (cg->fresh)
		return 0;
	n = cg_hugetlb_sizes(sizes, ARRAY_SIZE(sizes));
	for (size_t k = 0; k < n; k++) {
		bool listed = false;
		for (size_t i = 0; i < l->nhugetlb; i++)
			listed |= strcmp(l->hugetlb[i].pagesize, sizes[k]) == 0;
		snprintf(file, sizeof(file), "hugetlb.%s.max", sizes[k]);
		if (!listed && cg_exists(dir, file) && (r = cg_write(dir, file, "max")) < 0) {
			*failed = "hugetlb";
			return r;
		}
	}
	return 0;
}

static int v2_apply(struct cgroup *cg, const struct cgroup_limits *l, unsigned *unsupported,
		    const char **failed)
{
	const char *dir = cg->dir[cg->host->v2];
	const struct {
		const char *file;
		uint64_t v;
		const char *def;
		unsigned bit;
	} mem[] = {
		{ "memory.min", l->memory.min, "0", CGROUP_UNSUPPORTED_MEMORY_MIN },
		{ "memory.low", l->memory.low, "0", CGROUP_UNSUPPORTED_MEMORY },
		{ "memory.high", l->memory.high, "max", CGROUP_UNSUPPORTED_MEMORY_HIGH },
		{ "memory.max", l->memory.max, "max", CGROUP_UNSUPPORTED_MEMORY },
		{ "memory.swap.max", l->memory.swap_max, "max", CGROUP_UNSUPPORTED_SWAP_MAX },
	};
	bool have_memory = cg_exists(dir, "memory.max");
	const char *bad = NULL;
	char buf[64];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(mem); i++) {
		bool set = mem[i].v != SPEC_UNSET;
		cg_format_bytes(mem[i].v, mem[i].def, buf, sizeof(buf));
		r = v2_knob(cg, mem[i].file, buf, set,
			    have_memory ? mem[i].bit : CGROUP_UNSUPPORTED_MEMORY, unsupported,
			    failed);
		if (r < 0)
			return r;
	}

	snprintf(buf, sizeof(buf), "%u", l->cpu_weight ? l->cpu_weight : 100);
	r = v2_knob(cg, "cpu.weight", buf, l->cpu_weight != 0, CGROUP_UNSUPPORTED_CPU, unsupported,
		    failed);
	if (r < 0)
		return r;
	cgroup_format_cpu_max(l->cpu_max_mcpu, buf, sizeof(buf));
	r = v2_knob(cg, "cpu.max", buf, l->cpu_max_mcpu != 0, CGROUP_UNSUPPORTED_CPU, unsupported,
		    failed);
	if (r < 0)
		return r;

	/* An empty cpuset.cpus means "the parent's"; a bare write(…, 0) would be a no-op. */
	r = v2_knob(cg, "cpuset.cpus", l->cpus ? l->cpus : "\n", l->cpus != NULL,
		    CGROUP_UNSUPPORTED_CPUSET, unsupported, failed);
	if (r < 0)
		return r;

	cg_format_bytes(l->pids_max, "max", buf, sizeof(buf));
	r = v2_knob(cg, "pids.max", buf, l->pids_max != SPEC_UNSET, CGROUP_UNSUPPORTED_PIDS,
		    unsupported, failed);
	if (r < 0)
		return r;

	if (cg_exists(dir, "io.weight") || !cg_exists(dir, "io.bfq.weight")) {
		snprintf(buf, sizeof(buf), "default %u", l->io_weight ? l->io_weight : 100);
		r = v2_knob(cg, "io.weight", buf, l->io_weight != 0, CGROUP_UNSUPPORTED_IO_WEIGHT,
			    unsupported, failed);
	} else {
		snprintf(buf, sizeof(buf), "default %u", cgroup_weight_to_bfq(l->io_weight));
		r = v2_knob(cg, "io.bfq.weight", buf, l->io_weight != 0,
			    CGROUP_UNSUPPORTED_IO_WEIGHT, unsupported, failed);
	}
	if (r < 0)
		return r;
	if ((r = v2_io_max(cg, l, unsupported, failed)) < 0 ||
	    (r = v2_hugetlb(cg, l, unsupported, failed)) < 0)
		return r;
	r = v2_knob(cg, "cpuset.mems", l->mems ? l->mems : "\n", l->mems != NULL,
		    CGROUP_UNSUPPORTED_CPUSET_MEMS, unsupported, failed);
	if (r < 0)
		return r;
	if ((r = cg_v2_devices(cg, dir, l, &bad)) == -EOPNOTSUPP) {
		*unsupported |= CGROUP_UNSUPPORTED_DEVICES;
		r = 0;
	} else if (r < 0)
		*failed = bad ? cg_dev_failed(cg, "devices", bad, r) : "devices (BPF program)";
	return r;
}

static int v2_read_knob(struct cgroup *cg, const char *knob, char *buf, size_t len)
{
	return cg_read(cg->dir[cg->host->v2], knob, buf, len);
}

const struct cgroup_ops cgroup_v2_ops = {
	.name = "v2",
	.apply = v2_apply,
	.read_knob = v2_read_knob,
};
