/*
 * cgroup-devices.c - which device nodes a service may open or make, and
 * the block devices io.max names. v1: devices.deny "a" then one
 * devices.allow line per rule. v2: a BPF_PROG_TYPE_CGROUP_DEVICE program
 * (libbpf) attached to the service's cgroup with BPF_F_ALLOW_MULTI; it
 * compares type, access, major and minor rule by rule and denies what no
 * rule allows, as runc and crun do. The attachment outlives our fd and
 * the daemon (so an adopted service keeps its policy); a re-apply attaches
 * the new program first, then detaches every other one on that cgroup.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "cgroup-internal.h"
#include "util.h"

#define CG_MAX_PROGS 64 /* programs on one cgroup we look at when replacing ours */

static const struct cgroup_dev_rule dev_defaults[CGROUP_DEV_DEFAULTS] = {
	{ 'c', -1, -1, false, false, true }, /* mknod anything; opening it is another matter */
	{ 'b', -1, -1, false, false, true }, { 'c', 1, 3, true, true, true }, /* null */
	{ 'c', 1, 5, true, true, true }, /* zero */
	{ 'c', 1, 7, true, true, true }, /* full */
	{ 'c', 1, 8, true, true, true }, /* random */
	{ 'c', 1, 9, true, true, true }, /* urandom */
	{ 'c', 5, 0, true, true, true }, /* tty */
	{ 'c', 5, 1, true, true, true }, /* console */
	{ 'c', 5, 2, true, true, true }, /* ptmx */
	{ 'c', 136, -1, true, true, true }, /* pts/N */
};

int cg_blkdev(const char *path, char *buf, size_t len)
{
	char sys[64];
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	/* The kernel throttles whole disks only (a partition: ENODEV from the write). */
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/partition", major(st.st_rdev),
		 minor(st.st_rdev));
	if (access(sys, F_OK) == 0)
		return -EISDIR;
	snprintf(buf, len, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

int cgroup_dev_rules(const struct cgroup_limits *l, struct cgroup_dev_rule *rules, size_t *n,
		     const char **bad)
{
	memcpy(rules, dev_defaults, sizeof(dev_defaults));
	*n = CGROUP_DEV_DEFAULTS;
	for (size_t i = 0; i < l->ndevices; i++) {
		const struct spec_device *d = &l->devices[i];
		struct stat st;

		if (stat(d->path, &st) < 0) {
			*bad = d->path;
			return -errno;
		}
		if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
			*bad = d->path;
			return -ENODEV;
		}
		rules[(*n)++] = (struct cgroup_dev_rule){
			S_ISBLK(st.st_mode) ? 'b' : 'c',
			major(st.st_rdev),
			minor(st.st_rdev),
			d->read,
			d->write,
			d->mknod,
		};
	}
	return 0;
}

/* FNV-1a over the rules (0 rules: no policy), to skip re-applying the same ones. */
static uint64_t dev_hash(const struct cgroup_dev_rule *rules, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		const struct cgroup_dev_rule *x = &rules[i];
		int64_t v[] = { x->type, x->major, x->minor,
				x->read | x->write << 1 | x->mknod << 2 };
		for (size_t k = 0; k < sizeof(v); k++)
			h = (h ^ ((const unsigned char *)v)[k]) * 1099511628211ULL;
	}
	return h;
}

/* The rules for l into rules[] (*n = 0: no policy); 1 when cg has them already. */
static int dev_prepare(struct cgroup *cg, const struct cgroup_limits *l,
		       struct cgroup_dev_rule *rules, size_t *n, uint64_t *h, const char **bad)
{
	int r;

	*n = 0;
	if (l->ndevices > 64)
		return -E2BIG;
	if (l->devices_policy && (r = cgroup_dev_rules(l, rules, n, bad)) < 0)
		return r;
	*h = dev_hash(rules, *n);
	if (cg->dev_applied ? cg->dev_hash == *h : cg->fresh && *n == 0)
		return 1;
	/* Written from here on: a failure part way leaves no hash to skip the rollback on. */
	cg->dev_applied = false;
	return 0;
}

static void dev_done(struct cgroup *cg, uint64_t h)
{
	cg->dev_hash = h;
	cg->dev_applied = true;
}

/* ---- v1 ------------------------------------------------------------------------ */

int cg_v1_devices(struct cgroup *cg, const char *dir, const struct cgroup_limits *l,
		  const char **bad)
{
	struct cgroup_dev_rule rules[CGROUP_DEV_DEFAULTS + 64];
	uint64_t h;
	size_t n;
	int r;

	if ((r = dev_prepare(cg, l, rules, &n, &h, bad)) != 0)
		return r < 0 ? r : 0;
	if (n == 0) {
		r = cg_exists(dir, "devices.allow") ? cg_write(dir, "devices.allow", "a") : 0;
		if (r == 0)
			dev_done(cg, h);
		return r;
	}
	if ((r = cg_write(dir, "devices.deny", "a")) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		char line[64], maj[24], min[24];
		const struct cgroup_dev_rule *x = &rules[i];
		if (x->major < 0)
			snprintf(maj, sizeof(maj), "*");
		else
			snprintf(maj, sizeof(maj), "%lld", (long long)x->major);
		if (x->minor < 0)
			snprintf(min, sizeof(min), "*");
		else
			snprintf(min, sizeof(min), "%lld", (long long)x->minor);
		snprintf(line, sizeof(line), "%c %s:%s %s%s%s", x->type, maj, min,
			 x->read ? "r" : "", x->write ? "w" : "", x->mknod ? "m" : "");
		/*
		 * A parent that withholds a default device (paddockd itself in a
		 * container) keeps it from us anyway; a listed one must be had.
		 */
		if ((r = cg_write(dir, "devices.allow", line)) < 0 &&
		    (i >= CGROUP_DEV_DEFAULTS || r != -EPERM)) {
			if (i >= CGROUP_DEV_DEFAULTS)
				*bad = l->devices[i - CGROUP_DEV_DEFAULTS].path;
			return r;
		}
	}
	dev_done(cg, h);
	return 0;
}

/* ---- v2: the BPF program --------------------------------------------------------- */

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
	};
}

#define RULE_LEN 8 /* instructions per rule, so every jump is to the next rule */

/*
 * r1 = ctx (struct bpf_cgroup_dev_ctx). r3 = type, r4 = access, r5 =
 * major, r6 = minor. Per rule: a check that fails jumps to the next rule;
 * all passing returns 1 (allow). After the last rule: return 0 (deny).
 * An unused check is "ja +0" so each rule has RULE_LEN instructions.
 */
static size_t dev_program(const struct cgroup_dev_rule *rules, size_t n, struct bpf_insn *p)
{
	size_t k = 0;

	p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
	p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0);
	p[k++] = insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xffff);
	p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_2, 0, 0);
	p[k++] = insn(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_4, 0, 0, 16);
	p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 4, 0);
	p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_6, BPF_REG_1, 8, 0);
	for (size_t i = 0; i < n; i++) {
		const struct cgroup_dev_rule *x = &rules[i];
		size_t start = k;
		int32_t acc = (x->read ? BPF_DEVCG_ACC_READ : 0) |
			      (x->write ? BPF_DEVCG_ACC_WRITE : 0) |
			      (x->mknod ? BPF_DEVCG_ACC_MKNOD : 0);
#define SKIP ((int16_t)(RULE_LEN - (k - start) - 1))
		if (x->type == 'a')
			p[k] = insn(BPF_JMP | BPF_JA, 0, 0, 0, 0);
		else
			p[k] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, SKIP,
				    x->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
		k++;
		/* (access & ~allowed) != 0: something not allowed was asked for */
		p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_4, 0, 0);
		p[k++] = insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_7, 0, 0, ~acc & 7);
		p[k] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_7, 0, SKIP, 0);
		k++;
		p[k] = x->major < 0
			   ? insn(BPF_JMP | BPF_JA, 0, 0, 0, 0)
			   : insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, SKIP, (int32_t)x->major);
		k++;
		p[k] = x->minor < 0
			   ? insn(BPF_JMP | BPF_JA, 0, 0, 0, 0)
			   : insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_6, 0, SKIP, (int32_t)x->minor);
		k++;
#undef SKIP
		p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
		p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return k;
}

/* Detach every device program on cgfd but keep_id's (0: all). */
static int dev_detach_others(int cgfd, uint32_t keep_id)
{
	uint32_t ids[CG_MAX_PROGS], cnt = CG_MAX_PROGS, flags = 0;
	int r = bpf_prog_query(cgfd, BPF_CGROUP_DEVICE, 0, &flags, ids, &cnt);

	if (r < 0)
		return -errno;
	for (uint32_t i = 0; i < cnt; i++) {
		if (ids[i] == keep_id)
			continue;
		int fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue; /* gone meanwhile */
		r = bpf_prog_detach2(fd, cgfd, BPF_CGROUP_DEVICE);
		close(fd);
		if (r < 0 && errno != ENOENT)
			return -errno;
	}
	return 0;
}

int cg_v2_devices(struct cgroup *cg, const char *dir, const struct cgroup_limits *l,
		  const char **bad)
{
	struct cgroup_dev_rule rules[CGROUP_DEV_DEFAULTS + 64];
	struct bpf_insn prog[9 + (CGROUP_DEV_DEFAULTS + 64) * RULE_LEN];
	struct bpf_prog_info info;
	__u32 info_len = sizeof(info);
	char log[4096];
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log));
	uint64_t h;
	size_t n, len;
	int cgfd, pfd, r;

	if ((r = dev_prepare(cg, l, rules, &n, &h, bad)) != 0)
		return r < 0 ? r : 0;
	cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return -errno;
	if (n == 0) {
		/* No policy wanted: what we cannot see (no BPF here) we cannot have put there. */
		if (dev_detach_others(cgfd, 0) == 0)
			dev_done(cg, h);
		close(cgfd);
		return 0;
	}
	len = dev_program(rules, n, prog);
	log[0] = '\0';
	pfd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "paddock_dev", "GPL", prog, len, &opts);
	if (pfd < 0) {
		r = -errno;
		close(cgfd);
		/* No BPF for us here (kernel, seccomp, lockdown): the caller warns. */
		return r == -EPERM || r == -ENOSYS || r == -EOPNOTSUPP ? -EOPNOTSUPP : r;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_prog_attach(pfd, cgfd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) < 0 ||
	    bpf_obj_get_info_by_fd(pfd, &info, &info_len) < 0)
		r = -errno;
	else if ((r = dev_detach_others(cgfd, info.id)) == 0)
		dev_done(cg, h);
	close(pfd);
	close(cgfd);
	return r;
}

/* ---- io.max and hugetlb helpers both backends use -------------------------------- */

const char *cg_dev_failed(struct cgroup *cg, const char *knob, const char *path, int r)
{
	const char *why = r == -ENOTBLK	 ? "is not a block device"
			  : r == -EISDIR ? "is a partition; name the whole disk"
			  : r == -ENODEV ? "is not a device node"
			  : r == -ENOENT ? "does not exist on the host"
					 : "cannot be used";
	snprintf(cg->failed, sizeof(cg->failed), "%s (%s %s)", knob, path, why);
	return cg->failed;
}

int cg_io_max_devs(struct cgroup *cg, const struct cgroup_limits *l, char (*devs)[32],
		   const char **failed)
{
	for (size_t i = 0; i < l->nio_max; i++) {
		int r = cg_blkdev(l->io_max[i].device, devs[i], sizeof(devs[i]));
		if (r < 0) {
			*failed = cg_dev_failed(cg, "io.max", l->io_max[i].device, r);
			return r;
		}
	}
	return 0;
}

bool cg_dev_listed(char (*devs)[32], size_t n, const char *dev, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(devs[i]) == len && strncmp(devs[i], dev, len) == 0)
			return true;
	return false;
}

size_t cg_hugetlb_sizes(char (*names)[24], size_t max)
{
	DIR *d = opendir("/sys/kernel/mm/hugepages");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while (n < max && (e = readdir(d))) {
		unsigned long kb;
		if (sscanf(e->d_name, "hugepages-%lukB", &kb) != 1 || !kb)
			continue;
		if (kb >= 1024 * 1024 && kb % (1024 * 1024) == 0)
			snprintf(names[n++], 24, "%luGB", kb / (1024 * 1024));
		else if (kb >= 1024 && kb % 1024 == 0)
			snprintf(names[n++], 24, "%luMB", kb / 1024);
		else
			snprintf(names[n++], 24, "%luKB", kb);
	}
	closedir(d);
	return n;
}
