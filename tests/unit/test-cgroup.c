/*
 * test-cgroup.c - unit tests for the cgroup layer: conversions, detection
 * against captured /proc files (the hybrid development host and a pure v2
 * systemd host), root path joining, and cgroup_apply against fake cgroupfs
 * trees in a temporary directory. Needs no privileges and no real cgroups.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup-internal.h"

/* Captured on the hybrid development host (Debian 12, 2026-11). */
static const char hybrid_mountinfo[] =
    "23 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char hybrid_cgroup[] = "9:name=systemd:/\n"
				    "8:pids:/\n"
				    "7:blkio:/\n"
				    "6:freezer:/\n"
				    "5:devices:/\n"
				    "4:memory:/process_api/c4947a635b661cdd23b3fb89921849a9\n"
				    "3:cpuset:/\n"
				    "2:cpuacct:/\n"
				    "1:cpu:/\n"
				    "0::/\n";
#define HYBRID_OWN_MEM "/process_api/c4947a635b661cdd23b3fb89921849a9"

/* A Debian 12 systemd host booted with cgroup v2 only. */
static const char v2_mountinfo[] =
    "22 28 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "26 22 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n"
    "27 22 0:25 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:5 - pstore pstore rw\n";
static const char v2_cgroup[] = "0::/system.slice/paddockd.service\n";

/* An older v1 host: co-mounted cpu,cpuacct, named systemd hierarchy, no cgroup2. */
static const char v1_mountinfo[] =
    "25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "27 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup "
    "rw,xattr,name=systemd\n"
    "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:13 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory\n"
    "32 25 0:28 / /sys/fs/cgroup/pids rw,nosuid shared:15 - cgroup cgroup rw,pids\n"
    "33 25 0:29 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:16 - cgroup cgroup "
    "rw,net_cls,net_prio\n";
static const char v1_cgroup[] = "5:net_cls,net_prio:/\n"
				"4:pids:/system.slice/paddockd.service\n"
				"3:memory:/system.slice/paddockd.service\n"
				"2:cpu,cpuacct:/system.slice/paddockd.service\n"
				"1:name=systemd:/system.slice/paddockd.service\n";

/* ---- helpers ------------------------------------------------------------- */

struct tmp {
	char dir[64];
	char mountinfo[128], cgroup[128];
};

static void put(const char *path, const char *content)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void putf(const char *content, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(const char *content, const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	put(path, content);
}

static char *get(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *get(const char *fmt, ...)
{
	static char buf[256];
	char path[512];
	va_list ap;
	FILE *f;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	f = fopen(path, "re");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void mkdirs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mkdirs(const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		(void)mkdir(path, 0755);
		*p = '/';
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* Every temp dir, so the group teardown removes them after a failed assertion too. */
static char made[32][64];
static size_t nmade;

static void tmp_init(struct tmp *t, const char *mountinfo, const char *cgroup)
{
	const char *base = getenv("TMPDIR");

	snprintf(t->dir, sizeof(t->dir), "%s/test-cgroup.XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	assert_true(nmade < sizeof(made) / sizeof(made[0]));
	snprintf(made[nmade++], sizeof(made[0]), "%s", t->dir);
	snprintf(t->mountinfo, sizeof(t->mountinfo), "%s/mountinfo", t->dir);
	snprintf(t->cgroup, sizeof(t->cgroup), "%s/cgroup", t->dir);
	if (mountinfo)
		put(t->mountinfo, mountinfo);
	if (cgroup)
		put(t->cgroup, cgroup);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void tmp_cleanup(struct tmp *t)
{
	(void)nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < nmade; i++)
		if (strcmp(made[i], t->dir) == 0)
			made[i][0] = '\0';
}

static int cleanup_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < nmade; i++)
		if (made[i][0])
			(void)nftw(made[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nmade = 0;
	return 0;
}

static const struct cg_hier *hier_with(const struct cgroup_host *h, unsigned ctrl)
{
	int i = cg_hier_with(h, ctrl);
	return i < 0 ? NULL : &h->hier[i];
}

/* root (or root_rel) of the hierarchy with ctrl; "" when there is none. */
static const char *root_of(const struct cgroup_host *h, unsigned ctrl)
{
	const struct cg_hier *hi = hier_with(h, ctrl);
	return hi ? hi->root : "";
}

static const char *root_rel_of(const struct cgroup_host *h, unsigned ctrl)
{
	const struct cg_hier *hi = hier_with(h, ctrl);
	return hi ? hi->root_rel : "";
}

static unsigned ctrls_of(const struct cgroup_host *h, unsigned ctrl)
{
	const struct cg_hier *hi = hier_with(h, ctrl);
	return hi ? hi->ctrls : 0;
}

static struct cgroup_limits no_limits(void)
{
	struct cgroup_limits l = {
		.memory = { SPEC_UNSET, SPEC_UNSET, SPEC_UNSET, SPEC_UNSET, SPEC_UNSET },
		.pids_max = SPEC_UNSET,
	};
	return l;
}

/* ---- conversions --------------------------------------------------------- */

static void test_weight_to_shares(void **state)
{
	(void)state;
	assert_int_equal(cgroup_weight_to_shares(0), 1024); /* unset = default */
	assert_int_equal(cgroup_weight_to_shares(100), 1024);
	assert_int_equal(cgroup_weight_to_shares(1), 10);
	assert_int_equal(cgroup_weight_to_shares(200), 2048);
	assert_int_equal(cgroup_weight_to_shares(50), 512);
	assert_int_equal(cgroup_weight_to_shares(10000), 102400);
	assert_int_equal(cgroup_weight_to_shares(1000000), 262144); /* clamped */
}

static void test_weight_to_blkio(void **state)
{
	(void)state;
	assert_int_equal(cgroup_weight_to_blkio(0), 500);
	assert_int_equal(cgroup_weight_to_blkio(1), 10); /* clamped up */
	assert_int_equal(cgroup_weight_to_blkio(3), 15);
	assert_int_equal(cgroup_weight_to_blkio(100), 500);
	assert_int_equal(cgroup_weight_to_blkio(200), 1000);
	assert_int_equal(cgroup_weight_to_blkio(10000), 1000); /* clamped down */
	assert_int_equal(cgroup_weight_to_bfq(0), 100);
	assert_int_equal(cgroup_weight_to_bfq(1), 1);
	assert_int_equal(cgroup_weight_to_bfq(100), 100);
	assert_int_equal(cgroup_weight_to_bfq(5050), 550);
	assert_int_equal(cgroup_weight_to_bfq(10000), 1000);
}

static void test_mcpu_to_cfs(void **state)
{
	int64_t q;
	uint64_t p;
	char buf[64];

	(void)state;
	cgroup_mcpu_to_cfs(0, &q, &p);
	assert_int_equal(q, -1);
	assert_int_equal(p, 100000);
	cgroup_mcpu_to_cfs(500, &q, &p);
	assert_int_equal(q, 50000);
	cgroup_mcpu_to_cfs(1500, &q, &p);
	assert_int_equal(q, 150000);
	assert_int_equal(p, 100000);
	cgroup_mcpu_to_cfs(1, &q, &p);
	assert_int_equal(q, 1000); /* kernel minimum */
	cgroup_mcpu_to_cfs(10, &q, &p);
	assert_int_equal(q, 1000);
	cgroup_mcpu_to_cfs(11, &q, &p);
	assert_int_equal(q, 1100);

	cgroup_format_cpu_max(0, buf, sizeof(buf));
	assert_string_equal(buf, "max 100000");
	cgroup_format_cpu_max(1500, buf, sizeof(buf));
	assert_string_equal(buf, "150000 100000");
	cgroup_format_cpu_max(500, buf, sizeof(buf));
	assert_string_equal(buf, "50000 100000");
	cgroup_format_cpu_max(2, buf, sizeof(buf));
	assert_string_equal(buf, "1000 100000");
}

/* ---- root paths ---------------------------------------------------------- */

static void test_root_path(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(cgroup_root_path("/a/b", NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b");
	assert_int_equal(cgroup_root_path("/a/b", "", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b");
	assert_int_equal(cgroup_root_path("/", NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(cgroup_root_path("/", "paddock", out, sizeof(out)), 0);
	assert_string_equal(out, "/paddock");
	assert_int_equal(cgroup_root_path("/a", "x//y/./", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/x/y");
	assert_int_equal(cgroup_root_path("/a", "/abs/root", out, sizeof(out)), 0);
	assert_string_equal(out, "/abs/root");
	assert_int_equal(cgroup_root_path("/a", "../escape", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroup_root_path("/a", "x/../../y", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroup_root_path("/a", "x", out, 4), -ENAMETOOLONG);
}

/* ---- detection ----------------------------------------------------------- */

static void test_detect_hybrid(void **state)
{
	struct cgroup_host *h = NULL;
	struct tmp t;

	(void)state;
	tmp_init(&t, hybrid_mountinfo, hybrid_cgroup);

	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, NULL, &h), 0);
	assert_int_equal(cgroup_host_mode(h), CGROUP_MODE_HYBRID);
	assert_string_equal(cgroup_mode_name(cgroup_host_mode(h)), "hybrid");
	assert_int_equal(h->nhier, 9); /* 8 v1 controllers + unified; no name=systemd */
	assert_string_equal(
	    cgroup_host_describe(h),
	    "hybrid (v1: memory cpu cpuacct pids cpuset blkio freezer devices; v2: unified)");
	assert_string_equal(cgroup_host_v2_root(h), "/sys/fs/cgroup/unified");
	assert_string_equal(root_of(h, CG_CTRL_MEMORY), "/sys/fs/cgroup/memory" HYBRID_OWN_MEM);
	assert_string_equal(root_of(h, CG_CTRL_CPU), "/sys/fs/cgroup/cpu");
	assert_null(hier_with(h, 1u << 12));
	h = cgroup_host_free(h);

	/* Relative root: below the own cgroup of each hierarchy. */
	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, "paddock", &h), 0);
	assert_string_equal(root_of(h, CG_CTRL_MEMORY),
			    "/sys/fs/cgroup/memory" HYBRID_OWN_MEM "/paddock");
	assert_string_equal(root_rel_of(h, CG_CTRL_MEMORY), HYBRID_OWN_MEM "/paddock");
	assert_string_equal(root_of(h, CG_CTRL_CPUACCT), "/sys/fs/cgroup/cpuacct/paddock");
	assert_string_equal(root_of(h, CG_CTRL_FREEZER), "/sys/fs/cgroup/freezer/paddock");
	assert_string_equal(cgroup_host_v2_root(h), "/sys/fs/cgroup/unified/paddock");
	h = cgroup_host_free(h);

	/* Absolute root: used as-is under every mountpoint. */
	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, "/paddock.slice", &h), 0);
	assert_string_equal(root_of(h, CG_CTRL_MEMORY), "/sys/fs/cgroup/memory/paddock.slice");
	assert_string_equal(root_of(h, CG_CTRL_PIDS), "/sys/fs/cgroup/pids/paddock.slice");
	h = cgroup_host_free(h);

	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, "../x", &h), -EINVAL);
	tmp_cleanup(&t);
}

static void test_detect_v2(void **state)
{
	struct cgroup_host *h = NULL;
	struct tmp t;

	(void)state;
	tmp_init(&t, v2_mountinfo, v2_cgroup);
	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, NULL, &h), 0);
	assert_int_equal(cgroup_host_mode(h), CGROUP_MODE_V2);
	assert_int_equal(h->nhier, 1);
	assert_string_equal(cgroup_host_describe(h), "v2 (/sys/fs/cgroup)");
	assert_string_equal(cgroup_host_v2_root(h), "/sys/fs/cgroup/system.slice/paddockd.service");
	h = cgroup_host_free(h);

	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, "services", &h), 0);
	assert_string_equal(cgroup_host_v2_root(h),
			    "/sys/fs/cgroup/system.slice/paddockd.service/services");
	h = cgroup_host_free(h);
	tmp_cleanup(&t);
}

static void test_detect_v1(void **state)
{
	struct cgroup_host *h = NULL;
	struct tmp t;

	(void)state;
	tmp_init(&t, v1_mountinfo, v1_cgroup);
	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, "paddock", &h), 0);
	assert_int_equal(cgroup_host_mode(h), CGROUP_MODE_V1);
	assert_int_equal(h->nhier, 3); /* cpu,cpuacct memory pids */
	assert_null(cgroup_host_v2_root(h));
	assert_int_equal(ctrls_of(h, CG_CTRL_CPU), CG_CTRL_CPU | CG_CTRL_CPUACCT);
	assert_ptr_equal(hier_with(h, CG_CTRL_CPU), hier_with(h, CG_CTRL_CPUACCT));
	assert_string_equal(root_of(h, CG_CTRL_CPU),
			    "/sys/fs/cgroup/cpu,cpuacct/system.slice/paddockd.service/paddock");
	assert_string_equal(cgroup_host_describe(h), "v1 (v1: memory cpu cpuacct pids)");
	h = cgroup_host_free(h);
	tmp_cleanup(&t);
}

static void test_detect_odd(void **state)
{
	struct cgroup_host *h = NULL;
	struct tmp t;

	(void)state;
	/* A container: the hierarchy is mounted from a subtree; own paths are absolute. */
	tmp_init(&t,
		 "50 40 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
		 "51 40 0:31 / /tmp/with\\040space rw - tmpfs tmpfs rw\n",
		 "0::/docker/abc/inner\n");
	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, NULL, &h), 0);
	assert_string_equal(h->hier[0].own, "/inner");
	assert_string_equal(cgroup_host_v2_root(h), "/sys/fs/cgroup/inner");
	h = cgroup_host_free(h);
	tmp_cleanup(&t);

	/* Escaped mountpoints. */
	tmp_init(&t, "41 31 0:38 / /cg/with\\040space rw - cgroup2 cgroup2 rw\n", "0::/\n");
	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, "x", &h), 0);
	assert_string_equal(cgroup_host_v2_root(h), "/cg/with space/x");
	h = cgroup_host_free(h);
	tmp_cleanup(&t);

	/* No cgroup mounted at all. */
	tmp_init(&t, "23 1 0:21 / /sys rw - sysfs sysfs rw\n", "0::/\n");
	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, NULL, &h), -ENOMEDIUM);
	tmp_cleanup(&t);

	/* A mounted hierarchy we are not listed in. */
	tmp_init(&t, hybrid_mountinfo, "4:memory:/\n0::/\n");
	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, NULL, &h), -ENOENT);
	tmp_cleanup(&t);

	assert_int_equal(
	    cgroup_host_detect_at("/nonexistent/mountinfo", "/proc/self/cgroup", NULL, &h),
	    -ENOENT);
}

/* ---- apply against fake trees -------------------------------------------- */

#define MAX_WRITES 64
static char writes[MAX_WRITES][64];
static char wvals[MAX_WRITES][64]; /* the value of each write */
static size_t nwrites;

/*
 * Installed for every fake tree: a cgroupfs write replaces the value, a
 * regular file keeps the old tail, so cut it; and record the write order.
 */
static void record_write(const char *path, const char *value, void *data)
{
	const char *base = strrchr(path, '/');
	(void)data;
	assert_int_equal(truncate(path, (off_t)strlen(value)), 0);
	if (nwrites < MAX_WRITES) {
		snprintf(wvals[nwrites], sizeof(wvals[0]), "%s", value);
		snprintf(writes[nwrites++], sizeof(writes[0]), "%s", base ? base + 1 : path);
	}
}

/* Position of the write of file in the recorded order, -1 if not written. */
static int write_pos(const char *file)
{
	for (size_t i = 0; i < nwrites; i++)
		if (strcmp(writes[i], file) == 0)
			return (int)i;
	return -1;
}

static void test_apply_v2(void **state)
{
	static const char *const knobs[] = { "memory.min",  "memory.low", "memory.high",
					     "memory.max",  "cpu.weight", "cpu.max",
					     "cpuset.cpus", "pids.max",	  "io.weight",
					     "cgroup.procs" };
	struct cgroup_host *h = NULL;
	struct cgroup *cg = NULL, *busy = NULL;
	struct cgroup_limits l = no_limits();
	const char *failed = NULL;
	unsigned unsup = 0;
	char mi[256], svc[256], buf[64];
	struct tmp t;

	(void)state;
	tmp_init(&t, NULL, "0::/system.slice/paddockd.service\n");
	snprintf(mi, sizeof(mi), "26 22 0:24 / %s/cg rw - cgroup2 cgroup2 rw\n", t.dir);
	put(t.mountinfo, mi);
	snprintf(svc, sizeof(svc), "%s/cg/system.slice/paddockd.service/paddock/web", t.dir);
	mkdirs("%s", svc);
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		putf("", "%s/%s", svc, knobs[i]);
	putf("populated 0\nfrozen 0\n", "%s/cgroup.events", svc);

	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, "paddock", &h), 0);
	assert_int_equal(cgroup_create(h, "web", &cg), 0); /* reuses the empty dir */
	assert_string_equal(cgroup_path(cg), "/system.slice/paddockd.service/paddock/web");
	assert_string_equal(cgroup_dir(cg, "memory"), svc);
	assert_true(cgroup_v2_fd(cg) >= 0);
	assert_false(cgroup_needs_attach(cg));

	l.memory.min = 16 << 20;
	l.memory.low = 32 << 20;
	l.memory.high = SPEC_SIZE_MAX;
	l.memory.max = 64 << 20;
	l.memory.swap_max = 0; /* no memory.swap.max file: unsupported */
	l.cpu_weight = 200;
	l.cpu_max_mcpu = 500;
	l.cpus = "0";
	l.pids_max = 20;
	l.io_weight = 300;
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), 0);
	assert_null(failed);
	assert_int_equal(unsup, CGROUP_UNSUPPORTED_SWAP_MAX);
	assert_string_equal(get("%s/memory.min", svc), "16777216");
	assert_string_equal(get("%s/memory.low", svc), "33554432");
	assert_string_equal(get("%s/memory.high", svc), "max");
	assert_string_equal(get("%s/memory.max", svc), "67108864");
	assert_string_equal(get("%s/cpu.weight", svc), "200");
	assert_string_equal(get("%s/cpu.max", svc), "50000 100000");
	assert_string_equal(get("%s/cpuset.cpus", svc), "0");
	assert_string_equal(get("%s/pids.max", svc), "20");
	assert_string_equal(get("%s/io.weight", svc), "default 300");
	assert_int_equal(cgroup_read_knob(cg, "memory.max", buf, sizeof(buf)), 8);
	assert_string_equal(buf, "67108864");

	/* Unset knobs go back to their defaults; swap.max now exists. */
	putf("", "%s/memory.swap.max", svc);
	l = no_limits();
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), 0);
	assert_int_equal(unsup, 0);
	assert_string_equal(get("%s/memory.min", svc), "0");
	assert_string_equal(get("%s/memory.low", svc), "0");
	assert_string_equal(get("%s/memory.max", svc), "max");
	assert_string_equal(get("%s/memory.swap.max", svc), "max");
	assert_string_equal(get("%s/cpu.weight", svc), "100");
	assert_string_equal(get("%s/cpu.max", svc), "max 100000");
	assert_string_equal(get("%s/cpuset.cpus", svc), "\n");
	assert_string_equal(get("%s/pids.max", svc), "max");
	assert_string_equal(get("%s/io.weight", svc), "default 100");
	assert_int_equal(cgroup_read_knob(cg, "cpuset.cpus", buf, sizeof(buf)), 0);

	/* A write error names the knob. */
	{
		char p[300];
		snprintf(p, sizeof(p), "%s/pids.max", svc);
		assert_int_equal(unlink(p), 0);
		assert_int_equal(mkdir(p, 0755), 0); /* open(O_WRONLY) on a dir: EISDIR */
		l.pids_max = 5;
		assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), -EISDIR);
		assert_string_equal(failed, "pids.max");
	}

	/* An existing cgroup with processes is not reused. */
	putf("populated 1\nfrozen 0\n", "%s/cgroup.events", svc);
	assert_int_equal(cgroup_create(h, "web", &busy), -EBUSY);
	assert_int_equal(cgroup_is_empty(cg), 0);
	assert_int_equal(cgroup_create(h, "../x", &busy), -EINVAL);
	assert_int_equal(cgroup_open(h, "nothere", &busy), -ENOENT);

	cg = cgroup_free(cg);
	h = cgroup_host_free(h);
	tmp_cleanup(&t);
}

struct v1_fake {
	struct tmp t;
	char mem[300], cpu[300], cpuset[300], pids[300], blkio[300], freezer[300], uni[300];
	char cpuset_root[300];
};

/* The hybrid host's layout under a temp dir, with the service "web" pre-created. */
static void v1_fake_init(struct v1_fake *f, bool memsw, const char *blkio_file)
{
	char mi[2048];
	const char *d;

	tmp_init(&f->t, NULL, hybrid_cgroup);
	d = f->t.dir;
	snprintf(mi, sizeof(mi),
		 "32 31 0:29 / %s/cpu rw - cgroup cgroup rw,cpu\n"
		 "33 31 0:30 / %s/cpuacct rw - cgroup cgroup rw,cpuacct\n"
		 "34 31 0:31 / %s/cpuset rw - cgroup cgroup rw,cpuset\n"
		 "35 31 0:32 / %s/memory rw - cgroup cgroup rw,memory\n"
		 "36 31 0:33 / %s/devices rw - cgroup cgroup rw,devices\n"
		 "37 31 0:34 / %s/freezer rw - cgroup cgroup rw,freezer\n"
		 "38 31 0:35 / %s/blkio rw - cgroup cgroup rw,blkio\n"
		 "39 31 0:36 / %s/pids rw - cgroup cgroup rw,pids\n"
		 "40 31 0:37 / %s/systemd rw - cgroup cgroup rw,name=systemd\n"
		 "41 31 0:38 / %s/unified rw - cgroup2 cgroup2 rw\n",
		 d, d, d, d, d, d, d, d, d, d);
	put(f->t.mountinfo, mi);
	snprintf(f->mem, sizeof(f->mem), "%s/memory%s/paddock/web", d, HYBRID_OWN_MEM);
	snprintf(f->cpu, sizeof(f->cpu), "%s/cpu/paddock/web", d);
	snprintf(f->cpuset_root, sizeof(f->cpuset_root), "%s/cpuset/paddock", d);
	snprintf(f->cpuset, sizeof(f->cpuset), "%s/cpuset/paddock/web", d);
	snprintf(f->pids, sizeof(f->pids), "%s/pids/paddock/web", d);
	snprintf(f->blkio, sizeof(f->blkio), "%s/blkio/paddock/web", d);
	snprintf(f->freezer, sizeof(f->freezer), "%s/freezer/paddock/web", d);
	snprintf(f->uni, sizeof(f->uni), "%s/unified/paddock/web", d);
	mkdirs("%s/cpuacct/paddock/web", d);
	putf("", "%s/cpuacct/paddock/web/cgroup.procs", d);
	mkdirs("%s/devices/paddock/web", d);
	putf("", "%s/devices/paddock/web/cgroup.procs", d);

	mkdirs("%s", f->mem);
	putf("9223372036854771712\n", "%s/memory.limit_in_bytes", f->mem);
	putf("9223372036854771712\n", "%s/memory.soft_limit_in_bytes", f->mem);
	if (memsw)
		putf("9223372036854771712\n", "%s/memory.memsw.limit_in_bytes", f->mem);
	putf("", "%s/cgroup.procs", f->mem);
	mkdirs("%s", f->cpu);
	putf("1024\n", "%s/cpu.shares", f->cpu);
	putf("100000\n", "%s/cpu.cfs_period_us", f->cpu);
	putf("-1\n", "%s/cpu.cfs_quota_us", f->cpu);
	putf("", "%s/cgroup.procs", f->cpu);
	mkdirs("%s", f->cpuset);
	putf("0-1\n", "%s/cpuset.cpus", f->cpuset_root);
	putf("0\n", "%s/cpuset.mems", f->cpuset_root);
	putf("", "%s/cpuset.cpus", f->cpuset); /* new v1 cpusets start empty */
	putf("", "%s/cpuset.mems", f->cpuset);
	putf("", "%s/cgroup.procs", f->cpuset);
	mkdirs("%s", f->pids);
	putf("max\n", "%s/pids.max", f->pids);
	putf("", "%s/cgroup.procs", f->pids);
	mkdirs("%s", f->blkio);
	if (blkio_file)
		putf("", "%s/%s", f->blkio, blkio_file);
	putf("", "%s/cgroup.procs", f->blkio);
	mkdirs("%s", f->freezer);
	putf("THAWED\n", "%s/freezer.state", f->freezer);
	putf("", "%s/cgroup.procs", f->freezer);
	mkdirs("%s", f->uni);
	putf("", "%s/cgroup.procs", f->uni);
	putf("populated 0\n", "%s/cgroup.events", f->uni);
}

static void test_apply_hybrid(void **state)
{
	struct v1_fake f;
	struct cgroup_host *h = NULL;
	struct cgroup *cg = NULL;
	struct cgroup_limits l = no_limits();
	const char *failed = NULL;
	unsigned unsup = 0;
	char buf[64];

	(void)state;
	v1_fake_init(&f, true, NULL);
	assert_int_equal(cgroup_host_detect_at(f.t.mountinfo, f.t.cgroup, "paddock", &h), 0);
	assert_int_equal(cgroup_create(h, "web", &cg), 0);
	/* The cpuset was filled from the parent so tasks can be attached. */
	assert_string_equal(get("%s/cpuset.cpus", f.cpuset), "0-1");
	assert_string_equal(get("%s/cpuset.mems", f.cpuset), "0");
	assert_string_equal(cgroup_path(cg), HYBRID_OWN_MEM "/paddock/web");
	assert_string_equal(cgroup_dir(cg, "memory"), f.mem);
	assert_string_equal(cgroup_dir(cg, "unified"), f.uni);
	assert_string_equal(cgroup_dir(cg, "freezer"), f.freezer);
	assert_non_null(cgroup_dir(cg, "devices"));
	assert_int_equal(cgroup_v2_fd(cg), -1);
	assert_true(cgroup_needs_attach(cg));

	l.memory.min = 16 << 20;
	l.memory.low = 32 << 20;
	l.memory.high = 48 << 20;
	l.memory.max = 64 << 20;
	l.memory.swap_max = 0;
	l.cpu_weight = 200;
	l.cpu_max_mcpu = 500;
	l.cpus = "0";
	l.pids_max = 20;
	l.io_weight = 200; /* this host has neither blkio.weight nor blkio.bfq.weight */
	nwrites = 0;
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), 0);
	assert_null(failed);
	assert_int_equal(unsup, CGROUP_UNSUPPORTED_MEMORY_MIN | CGROUP_UNSUPPORTED_MEMORY_HIGH |
				    CGROUP_UNSUPPORTED_IO_WEIGHT);
	/* Lowering from unlimited: the limit first, then memsw (must stay >= limit). */
	assert_true(write_pos("memory.limit_in_bytes") >= 0);
	assert_true(write_pos("memory.limit_in_bytes") < write_pos("memory.memsw.limit_in_bytes"));
	assert_true(write_pos("cpu.cfs_period_us") < write_pos("cpu.cfs_quota_us"));
	assert_string_equal(get("%s/memory.limit_in_bytes", f.mem), "67108864");
	assert_string_equal(get("%s/memory.memsw.limit_in_bytes", f.mem), "67108864");
	assert_string_equal(get("%s/memory.soft_limit_in_bytes", f.mem), "33554432");
	assert_string_equal(get("%s/cpu.shares", f.cpu), "2048");
	assert_string_equal(get("%s/cpu.cfs_period_us", f.cpu), "100000");
	assert_string_equal(get("%s/cpu.cfs_quota_us", f.cpu), "50000");
	assert_string_equal(get("%s/cpuset.cpus", f.cpuset), "0");
	assert_string_equal(get("%s/pids.max", f.pids), "20");

	/* v2 names read through to v1 files. */
	assert_true(cgroup_read_knob(cg, "memory.max", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "67108864");
	assert_true(cgroup_read_knob(cg, "memory.low", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "33554432");
	/* cpu.shares 2048 is read back in v2 units. */
	assert_true(cgroup_read_knob(cg, "cpu.weight", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "200");
	assert_true(cgroup_read_knob(cg, "cpu.max", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "50000 100000");
	assert_true(cgroup_read_knob(cg, "pids.max", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "20");
	assert_true(cgroup_read_knob(cg, "cpuset.cpus", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "0");
	assert_true(cgroup_read_knob(cg, "cgroup.events", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "populated 0"); /* from unified */
	assert_int_equal(cgroup_read_knob(cg, "../x", buf, sizeof(buf)), -EINVAL);

	/* Raising: memsw first, then the limit. */
	l.memory.max = 128 << 20;
	l.memory.swap_max = 64 << 20;
	nwrites = 0;
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), 0);
	assert_true(write_pos("memory.memsw.limit_in_bytes") >= 0);
	assert_true(write_pos("memory.memsw.limit_in_bytes") < write_pos("memory.limit_in_bytes"));
	assert_string_equal(get("%s/memory.limit_in_bytes", f.mem), "134217728");
	assert_string_equal(get("%s/memory.memsw.limit_in_bytes", f.mem), "201326592");

	/* Back to unset: everything unlimited/default, raising order again. */
	l = no_limits();
	nwrites = 0;
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), 0);
	assert_int_equal(unsup, 0);
	assert_true(write_pos("memory.memsw.limit_in_bytes") < write_pos("memory.limit_in_bytes"));
	assert_string_equal(get("%s/memory.limit_in_bytes", f.mem), "-1");
	assert_string_equal(get("%s/memory.memsw.limit_in_bytes", f.mem), "-1");
	assert_string_equal(get("%s/memory.soft_limit_in_bytes", f.mem), "-1");
	assert_string_equal(get("%s/cpu.shares", f.cpu), "1024");
	assert_string_equal(get("%s/cpu.cfs_quota_us", f.cpu), "-1");
	assert_string_equal(get("%s/cpuset.cpus", f.cpuset), "0-1"); /* the parent's */
	assert_string_equal(get("%s/pids.max", f.pids), "max");
	assert_true(cgroup_read_knob(cg, "memory.max", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "max");
	assert_true(cgroup_read_knob(cg, "cpu.max", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "max 100000");

	/* attach writes the pid into every hierarchy, unified included. */
	assert_int_equal(cgroup_is_empty(cg), 1);
	assert_int_equal(cgroup_attach(cg, 4242), 0);
	assert_string_equal(get("%s/cgroup.procs", f.mem), "4242");
	assert_string_equal(get("%s/cgroup.procs", f.uni), "4242");
	assert_string_equal(get("%s/cpuacct/paddock/web/cgroup.procs", f.t.dir), "4242");
	assert_int_equal(cgroup_is_empty(cg), 0);

	cg = cgroup_free(cg);
	h = cgroup_host_free(h);
	tmp_cleanup(&f.t);
}

/*
 * The v1 device policy: deny all, then the default set and the listed
 * devices as stat'ed on the host; io.max and isolation.devices name the
 * device when it is of the wrong kind; the same rules are not written twice.
 */
static void test_apply_v1_devices(void **state)
{
	static char null[] = "/dev/null", dev[] = "/dev";
	static const struct spec_device devs[] = { { null, true, true, false, 0, 0 } };
	static const struct spec_device dir[] = { { dev, true, true, true, 0, 0 } };
	static const struct spec_io_max io[] = { { null, SPEC_UNSET, 1 << 20, SPEC_UNSET,
						   SPEC_UNSET, 0, 0 } };
	struct v1_fake f;
	struct cgroup_host *h = NULL;
	struct cgroup *cg = NULL;
	struct cgroup_limits l = no_limits();
	const char *failed = NULL;
	unsigned unsup = 0;
	char ddir[400];
	size_t first;

	(void)state;
	v1_fake_init(&f, true, NULL);
	snprintf(ddir, sizeof(ddir), "%s/devices/paddock/web", f.t.dir);
	putf("", "%s/devices.allow", ddir);
	putf("", "%s/devices.deny", ddir);
	assert_int_equal(cgroup_host_detect_at(f.t.mountinfo, f.t.cgroup, "paddock", &h), 0);
	assert_int_equal(cgroup_create(h, "web", &cg), 0);

	l.devices_policy = true;
	l.devices = devs;
	l.ndevices = 1;
	nwrites = 0;
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), 0);
	first = (size_t)write_pos("devices.deny");
	assert_string_equal(wvals[first], "a");
	assert_string_equal(wvals[first + 1], "c *:* m");
	assert_string_equal(wvals[first + 2], "b *:* m");
	assert_string_equal(wvals[first + 3], "c 1:3 rwm");
	assert_string_equal(wvals[first + CGROUP_DEV_DEFAULTS], "c 136:* rwm");
	assert_string_equal(wvals[first + CGROUP_DEV_DEFAULTS + 1], "c 1:3 rw");
	assert_int_equal(nwrites, first + CGROUP_DEV_DEFAULTS + 2);

	/* The same rules again (a rebalancer write): no device write. */
	nwrites = 0;
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), 0);
	assert_int_equal(write_pos("devices.deny"), -1);
	assert_int_equal(write_pos("devices.allow"), -1);

	/* No policy any more: allow all again. */
	l = no_limits();
	nwrites = 0;
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), 0);
	assert_string_equal(wvals[write_pos("devices.allow")], "a");

	/* A directory is no device; a character device is no block device for io.max. */
	l.devices_policy = true;
	l.devices = dir;
	l.ndevices = 1;
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), -ENODEV);
	assert_string_equal(failed, "devices (/dev is not a device node)");
	l = no_limits();
	l.io_max = io;
	l.nio_max = 1;
	putf("", "%s/blkio.throttle.read_bps_device", f.blkio);
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), -ENOTBLK);
	assert_string_equal(failed, "io.max (/dev/null is not a block device)");
	cg = cgroup_free(cg);
	cgroup_host_free(h);
	tmp_cleanup(&f.t);
}

static void test_apply_v1_variants(void **state)
{
	struct v1_fake f;
	struct cgroup_host *h = NULL;
	struct cgroup *cg = NULL;
	struct cgroup_limits l = no_limits();
	const char *failed = NULL;
	unsigned unsup = 0;

	(void)state;
	/* No memsw (swapaccount=0) and a CFQ-era blkio.weight. */
	v1_fake_init(&f, false, "blkio.weight");
	assert_int_equal(cgroup_host_detect_at(f.t.mountinfo, f.t.cgroup, "paddock", &h), 0);
	assert_int_equal(cgroup_create(h, "web", &cg), 0);
	l.memory.max = 64 << 20;
	l.memory.swap_max = 0;
	l.memory.min = 0; /* zero protection is expressible: nothing to warn about */
	l.io_weight = 50;
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), 0);
	assert_int_equal(unsup, CGROUP_UNSUPPORTED_SWAP_MAX);
	assert_string_equal(get("%s/memory.limit_in_bytes", f.mem), "67108864");
	assert_string_equal(get("%s/blkio.weight", f.blkio), "250");
	cg = cgroup_free(cg);
	h = cgroup_host_free(h);
	tmp_cleanup(&f.t);

	/* BFQ only. */
	v1_fake_init(&f, true, "blkio.bfq.weight");
	assert_int_equal(cgroup_host_detect_at(f.t.mountinfo, f.t.cgroup, "paddock", &h), 0);
	assert_int_equal(cgroup_create(h, "web", &cg), 0);
	l = no_limits();
	l.io_weight = 10000;
	l.memory.swap_max = 0; /* swap without a memory limit cannot be bounded by memsw */
	assert_int_equal(cgroup_apply(cg, &l, &unsup, &failed), 0);
	assert_int_equal(unsup, CGROUP_UNSUPPORTED_SWAP_MAX);
	assert_string_equal(get("%s/blkio.bfq.weight", f.blkio), "1000");
	cg = cgroup_free(cg);
	h = cgroup_host_free(h);
	tmp_cleanup(&f.t);
}

/* List pid as the group's only process. */
static void list_pid(struct v1_fake *f, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	putf(buf, "%s/cgroup.procs", f->uni);
	putf(buf, "%s/cgroup.procs", f->mem);
	putf("populated 1\nfrozen 0\n", "%s/cgroup.events", f->uni);
}

/* A child that waits to be killed, listed in the group. */
static pid_t victim(struct v1_fake *f)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	list_pid(f, pid);
	return pid;
}

/* A pid no process has (one that exited): the group never shrinks. */
static pid_t stuck(struct v1_fake *f)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	list_pid(f, pid);
	return pid;
}

static void emptied(struct v1_fake *f)
{
	putf("", "%s/cgroup.procs", f->uni);
	putf("", "%s/cgroup.procs", f->mem);
	putf("populated 0\nfrozen 0\n", "%s/cgroup.events", f->uni);
}

/* One kill step per call, never waiting; freezing only when killing does not shrink the group. */
static void test_kill_step(void **state)
{
	struct v1_fake f;
	struct cgroup_host *h = NULL;
	struct cgroup *cg = NULL;
	pid_t pid;

	(void)state;
	v1_fake_init(&f, true, NULL);
	assert_int_equal(cgroup_host_detect_at(f.t.mountinfo, f.t.cgroup, "paddock", &h), 0);
	assert_int_equal(cgroup_create(h, "web", &cg), 0);
	assert_int_equal(cgroup_kill_step(cg), 0); /* empty: nothing written */

	/* No cgroup.kill: the first pass just kills what is listed. */
	pid = victim(&f);
	nwrites = 0;
	assert_int_equal(cgroup_kill_step(cg), 1);
	assert_int_equal(nwrites, 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	emptied(&f);
	assert_int_equal(cgroup_kill_step(cg), 0);

	/* A pass that does not shrink the group: the next one freezes, kills, thaws. */
	stuck(&f);
	assert_int_equal(cgroup_kill_step(cg), 1);
	nwrites = 0;
	assert_int_equal(cgroup_kill_step(cg), 1);
	assert_int_equal(nwrites, 2); /* v1 freezer: FROZEN (settles at once), THAWED */
	assert_int_equal(write_pos("freezer.state"), 0);
	assert_string_equal(get("%s/freezer.state", f.freezer), "THAWED");
	emptied(&f);
	assert_int_equal(cgroup_kill_step(cg), 0);

	/* A v2 freeze that does not settle: wait a few steps, then kill anyway and thaw. */
	putf("0\n", "%s/cgroup.freeze", f.uni);
	stuck(&f);
	assert_int_equal(cgroup_kill_step(cg), 1); /* pass 1: kill */
	pid = victim(&f); /* still one process: pass 2 freezes */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(cgroup_kill_step(cg), 1);
		assert_string_equal(get("%s/cgroup.freeze", f.uni), "1");
		assert_int_equal(kill(pid, 0), 0); /* still waiting for the freeze */
	}
	assert_int_equal(cgroup_kill_step(cg), 1);
	assert_string_equal(get("%s/cgroup.freeze", f.uni), "0");
	assert_int_equal(waitpid(pid, NULL, 0), pid);

	/* ... and kills on the step that sees it settled. */
	pid = victim(&f);
	assert_int_equal(cgroup_kill_step(cg), 1);
	assert_int_equal(kill(pid, 0), 0);
	assert_int_equal(cgroup_freeze_settled(cg, true), 0);
	putf("populated 1\nfrozen 1\n", "%s/cgroup.events", f.uni);
	assert_int_equal(cgroup_freeze_settled(cg, true), 1);
	assert_int_equal(cgroup_kill_step(cg), 1);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_string_equal(get("%s/cgroup.freeze", f.uni), "0");
	emptied(&f);
	assert_int_equal(cgroup_kill_step(cg), 0);

	/* cgroup.kill, where present, does it all; listed processes are left to it. */
	putf("", "%s/cgroup.kill", f.uni);
	pid = victim(&f);
	nwrites = 0;
	assert_int_equal(cgroup_kill_step(cg), 1);
	assert_int_equal(nwrites, 1);
	assert_string_equal(writes[0], "cgroup.kill");
	assert_int_equal(kill(pid, 0), 0);

	/* ... unless the test knob turns it off. */
	cg = cgroup_free(cg);
	h = cgroup_host_free(h);
	setenv("PADDOCK_TEST_NO_CGROUP_KILL", "1", 1);
	assert_int_equal(cgroup_host_detect_at(f.t.mountinfo, f.t.cgroup, "paddock", &h), 0);
	unsetenv("PADDOCK_TEST_NO_CGROUP_KILL");
	assert_non_null(strstr(cgroup_host_describe(h), "cgroup.kill off"));
	assert_int_equal(cgroup_open(h, "web", &cg), 0);
	nwrites = 0;
	assert_int_equal(cgroup_kill_step(cg), 1);
	assert_int_equal(write_pos("cgroup.kill"), -1);
	assert_int_equal(waitpid(pid, NULL, 0), pid);

	cg = cgroup_free(cg);
	h = cgroup_host_free(h);
	tmp_cleanup(&f.t);
}

/* ---- ownership ------------------------------------------------------------ */

/* Another process takes root (relative) in the fake tree and holds it until killed. */
static pid_t lock_in_child(const struct v1_fake *f, const char *root)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct cgroup_host *h = NULL;
		close(p[0]);
		if (cgroup_host_detect_at(f->t.mountinfo, f->t.cgroup, root, &h) < 0 ||
		    cgroup_host_lock(h, NULL) < 0)
			_exit(1);
		(void)!write(p[1], "x", 1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void end_child(pid_t pid)
{
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void test_lock(void **state)
{
	struct v1_fake f;
	struct cgroup_host *h = NULL, *h2 = NULL;
	struct cgroup_lock_conflict c;
	pid_t child;
	int fds[256], dups[256];
	size_t n;

	(void)state;
	v1_fake_init(&f, true, NULL);
	child = lock_in_child(&f, "paddock");
	assert_int_equal(cgroup_host_detect_at(f.t.mountinfo, f.t.cgroup, "paddock", &h), 0);
	/* Refused, naming the holder; nothing kept. */
	assert_int_equal(cgroup_host_lock(h, &c), -EBUSY);
	assert_int_equal(c.kind, CGROUP_LOCK_SAME);
	assert_int_equal(c.pid, child);
	assert_non_null(c.root);
	assert_string_equal(c.path, c.root);
	assert_int_equal(cgroup_host_lock_fds(h, fds, 256), 0);
	assert_int_equal(cgroup_host_setup(h), -EBUSY);

	/* The holder dies: its locks go with it. */
	end_child(child);
	assert_int_equal(cgroup_host_lock(h, &c), 0);
	n = cgroup_host_lock_fds(h, fds, 256);
	assert_true(n > h->nhier); /* every hierarchy's root and what is above it */
	for (size_t i = 0; i < h->nhier; i++)
		assert_true(h->hier[i].lock_fd >= 0);
	assert_int_equal(cgroup_host_lock(h, NULL), 0); /* idempotent */

	/* Across exec: the same open files are ours again, a fresh open is not. */
	for (size_t i = 0; i < n; i++)
		dups[i] = dup(fds[i]);
	assert_int_equal(cgroup_host_detect_at(f.t.mountinfo, f.t.cgroup, "paddock", &h2), 0);
	assert_int_equal(cgroup_host_lock(h2, NULL), -EBUSY);
	cgroup_host_inherit_locks(h2, dups, n);
	assert_int_equal(cgroup_host_lock(h2, NULL), 0);
	assert_int_equal(cgroup_host_lock_fds(h2, fds, 256), n);

	h = cgroup_host_free(h);
	h2 = cgroup_host_free(h2);
	tmp_cleanup(&f.t);
}

/* Roots inside or around another daemon's are refused; side by side they are not. */
static void test_lock_nested(void **state)
{
	struct v1_fake f;
	struct cgroup_host *h = NULL;
	struct cgroup_lock_conflict c;
	pid_t child;

	(void)state;
	v1_fake_init(&f, true, NULL);
	child = lock_in_child(&f, "paddock");

	assert_int_equal(cgroup_host_detect_at(f.t.mountinfo, f.t.cgroup, "paddock/web", &h), 0);
	assert_int_equal(cgroup_host_lock(h, &c), -EBUSY);
	assert_int_equal(c.kind, CGROUP_LOCK_INSIDE);
	assert_int_equal(c.pid, child);
	assert_non_null(strstr(c.root, "/paddock/web"));
	assert_string_equal(c.path + strlen(c.path) - strlen("/paddock"), "/paddock");
	h = cgroup_host_free(h);

	assert_int_equal(cgroup_host_detect_at(f.t.mountinfo, f.t.cgroup, NULL, &h), 0);
	assert_int_equal(cgroup_host_lock(h, &c), -EBUSY);
	assert_int_equal(c.kind, CGROUP_LOCK_CONTAINS);
	assert_int_equal(c.pid, child);
	h = cgroup_host_free(h);

	assert_int_equal(cgroup_host_detect_at(f.t.mountinfo, f.t.cgroup, "other", &h), 0);
	assert_int_equal(cgroup_host_lock(h, &c), 0);
	h = cgroup_host_free(h);

	end_child(child);
	tmp_cleanup(&f.t);
}

/* A root that does not exist yet is made and locked. */
static void test_lock_creates(void **state)
{
	struct cgroup_host *h = NULL;
	char mi[256], root[256];
	struct stat st;
	struct tmp t;

	(void)state;
	tmp_init(&t, NULL, "0::/\n");
	snprintf(mi, sizeof(mi), "26 22 0:24 / %s/cg rw - cgroup2 cgroup2 rw\n", t.dir);
	put(t.mountinfo, mi);
	mkdirs("%s/cg", t.dir);
	snprintf(root, sizeof(root), "%s/cg/a/b", t.dir);
	assert_int_equal(cgroup_host_detect_at(t.mountinfo, t.cgroup, "a/b", &h), 0);
	assert_int_equal(cgroup_host_lock(h, NULL), 0);
	assert_int_equal(stat(root, &st), 0);
	assert_true(h->hier[0].lock_fd >= 0);
	assert_int_equal(h->hier[0].nabove, 2); /* the mount and a */
	h = cgroup_host_free(h);
	tmp_cleanup(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weight_to_shares),  cmocka_unit_test(test_weight_to_blkio),
		cmocka_unit_test(test_mcpu_to_cfs),	  cmocka_unit_test(test_root_path),
		cmocka_unit_test(test_detect_hybrid),	  cmocka_unit_test(test_detect_v2),
		cmocka_unit_test(test_detect_v1),	  cmocka_unit_test(test_detect_odd),
		cmocka_unit_test(test_apply_v2),	  cmocka_unit_test(test_apply_hybrid),
		cmocka_unit_test(test_apply_v1_variants), cmocka_unit_test(test_apply_v1_devices),
		cmocka_unit_test(test_kill_step),	  cmocka_unit_test(test_lock),
		cmocka_unit_test(test_lock_nested),	  cmocka_unit_test(test_lock_creates),
	};
	cgroup_set_write_hook(record_write, NULL);
	return cmocka_run_group_tests(tests, NULL, cleanup_all);
}
