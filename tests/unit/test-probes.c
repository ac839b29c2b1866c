/*
 * test-probes.c - unit tests for probes/: parsers on files captured from the
 * hybrid development host (data/probes/v1, host; see capture-v1.sh) and on
 * v2 samples written after the kernel's cgroup-v2 documentation (data/probes/v2);
 * the samplers end to end against fake cgroup and /proc trees in a temporary
 * directory, including rates and a check that sampling never allocates; and,
 * when run as root on a host with the v1 memory hierarchy and a unified v2
 * hierarchy, the real thing: PSI trigger window rounding, a PSI trigger that
 * fires, a v1 OOM eventfd, and the cost of one sample. Real-host tests are
 * skipped elsewhere and remove every cgroup they create, also on failure.
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
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must point at tests/unit/data"
#endif
#define DATA TEST_DATA_DIR "/probes"
#define U PROBE_UNKNOWN

/* ---- allocation counter (the probes library is linked with --wrap) ------- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static unsigned long allocs;

void *__wrap_malloc(size_t size)
{
	allocs++;
	return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	allocs++;
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	allocs++;
	return __real_realloc(p, size);
}

/* ---- helpers --------------------------------------------------------------- */

/* dir/name into out (PATH_MAX bytes). */
static char *join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	assert_true(n > 0 && n < PATH_MAX);
	return out;
}

static char *slurp(const char *path)
{
	static char buf[PROBE_BUF_SIZE];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	join(path, dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *dir, const char *name)
{
	char path[PATH_MAX];

	join(path, from, name);
	write_file(dir, name, slurp(path));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *dir)
{
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-6 * (fabs(b) + 1);
}

/* ---- parsers: v1 files captured on the hybrid host ----------------------- */

static void test_parse_v1_memory(void **state)
{
	struct probe_memory_stat st;
	uint64_t swap = U, v, under = U, kill = U;

	(void)state;
	memset(&st, 0xff, sizeof(st));
	assert_int_equal(probe_parse_memory_stat_v1(slurp(DATA "/v1/memory.stat"), &st, &swap), 0);
	assert_int_equal(st.file, 8388608);
	assert_int_equal(st.anon, 0);
	assert_int_equal(st.shmem, 0);
	assert_int_equal(st.inactive_file, 8388608);
	assert_int_equal(st.active_file, 0);
	assert_int_equal(st.active_anon, 0);
	assert_int_equal(st.inactive_anon, 0);
	assert_int_equal(st.workingset_refault_file, 0);
	assert_int_equal(swap, 0);
	assert_true(st.kernel == U && st.sock == U); /* not in v1 memory.stat */
	assert_true(st.workingset_activate_anon == U);

	assert_int_equal(probe_parse_u64(slurp(DATA "/v1/memory.usage_in_bytes"), &v), 0);
	assert_int_equal(v, 8601600);
	assert_int_equal(probe_parse_u64(slurp(DATA "/v1/memory.max_usage_in_bytes"), &v), 0);
	assert_int_equal(v, 9449472);
	assert_int_equal(probe_parse_u64(slurp(DATA "/v1/memory.kmem.usage_in_bytes"), &v), 0);
	assert_int_equal(v, 28672);
	assert_int_equal(
	    probe_parse_oom_control(slurp(DATA "/v1/memory.oom_control"), &under, &kill), 0);
	assert_int_equal(under, 0);
	assert_int_equal(kill, 0);
	assert_int_equal(
	    probe_parse_oom_control("oom_kill_disable 0\nunder_oom 1\noom_kill 7\n", &under, &kill),
	    0);
	assert_int_equal(under, 1);
	assert_int_equal(kill, 7);
}

static void test_parse_v1_cpu_pids_blkio(void **state)
{
	struct probe_cpu cpu;
	uint64_t v, r = U, w = U;

	(void)state;
	memset(&cpu, 0xff, sizeof(cpu));
	assert_int_equal(probe_parse_cpuacct_stat(slurp(DATA "/v1/cpuacct.stat"), 100, &cpu), 0);
	assert_int_equal(cpu.user_usec, 190000);
	assert_int_equal(cpu.system_usec, 30000);
	assert_int_equal(probe_parse_cpu_stat_v1(slurp(DATA "/v1/cpu.stat"), &cpu), 0);
	assert_int_equal(cpu.nr_periods, 0);
	assert_int_equal(cpu.nr_throttled, 0);
	assert_int_equal(cpu.throttled_usec, 0);
	assert_true(cpu.usage_usec == U);
	assert_int_equal(probe_parse_cpu_stat_v1("nr_periods 10\nnr_throttled 4\n"
						 "throttled_time 2500000000\nnr_bursts 0\n",
						 &cpu),
			 0);
	assert_int_equal(cpu.throttled_usec, 2500000);
	assert_int_equal(cpu.nr_throttled, 4);

	assert_int_equal(probe_parse_u64(slurp(DATA "/v1/pids.current"), &v), 0);
	assert_int_equal(v, 0);
	v = U;
	assert_int_equal(probe_parse_pids_events(slurp(DATA "/v1/pids.events"), &v), 0);
	assert_int_equal(v, 0);

	assert_int_equal(
	    probe_parse_blkio(slurp(DATA "/v1/blkio.throttle.io_service_bytes_recursive"), &r, &w),
	    0);
	assert_int_equal(r, 16777216);
	assert_int_equal(w, 8388608);
	assert_int_equal(
	    probe_parse_blkio(slurp(DATA "/v1/blkio.throttle.io_serviced_recursive"), &r, &w), 0);
	assert_int_equal(r, 133);
	assert_int_equal(w, 16);
	/* no throttle rule on any device: just the grand total */
	assert_int_equal(probe_parse_blkio("Total 0\n", &r, &w), 0);
	assert_int_equal(r + w, 0);
	/* two devices are summed */
	assert_int_equal(probe_parse_blkio("8:0 Read 10\n8:0 Write 1\n8:0 Total 11\n"
					   "8:16 Read 5\n8:16 Write 2\n8:16 Total 7\nTotal 18\n",
					   &r, &w),
			 0);
	assert_int_equal(r, 15);
	assert_int_equal(w, 3);
	assert_int_equal(probe_parse_blkio("", &r, &w), -EINVAL);
}

static void test_parse_psi(void **state)
{
	struct probe_psi psi;

	(void)state;
	memset(&psi, 0xff, sizeof(psi));
	assert_int_equal(probe_parse_psi(slurp(DATA "/v1/io.pressure"), &psi), 0);
	assert_int_equal(psi.some.total_usec, 9273);
	assert_int_equal(psi.full.total_usec, 9273);
	assert_int_equal(psi.some.avg10, 0);

	memset(&psi, 0xff, sizeof(psi));
	assert_int_equal(probe_parse_psi(slurp(DATA "/v2/cpu.pressure"), &psi), 0);
	assert_int_equal(psi.some.avg10, 1248);
	assert_int_equal(psi.some.avg60, 790);
	assert_int_equal(psi.some.avg300, 233);
	assert_int_equal(psi.some.total_usec, 58034121);
	assert_int_equal(psi.full.avg10, 310);
	assert_int_equal(psi.full.total_usec, 14008312);

	/* cpu.pressure before 5.13 has no full line: full stays unknown */
	memset(&psi, 0xff, sizeof(psi));
	assert_int_equal(probe_parse_psi("some avg10=100.00 avg60=0.5 avg300=7 total=12\n", &psi),
			 0);
	assert_int_equal(psi.some.avg10, 10000);
	assert_int_equal(psi.some.avg60, 50);
	assert_int_equal(psi.some.avg300, 700);
	assert_true(psi.full.avg10 == U && psi.full.total_usec == U);

	/* malformed lines are ignored, an empty file is an error */
	memset(&psi, 0xff, sizeof(psi));
	assert_int_equal(probe_parse_psi("some avg10=x\n", &psi), -EINVAL);
	assert_true(psi.some.avg10 == U);
	assert_int_equal(probe_parse_psi("", &psi), -EINVAL);
}

/* ---- parsers: v2 samples ---------------------------------------------------- */

static void test_parse_v2(void **state)
{
	struct probe_memory_stat st;
	struct probe_memory_events ev;
	struct probe_cpu cpu;
	struct probe_io io;
	uint64_t v;

	(void)state;
	memset(&st, 0xff, sizeof(st));
	assert_int_equal(probe_parse_memory_stat_v2(slurp(DATA "/v2/memory.stat"), &st), 0);
	assert_int_equal(st.anon, 52690944);
	assert_int_equal(st.file, 160759808);
	assert_int_equal(st.kernel, 9306112);
	assert_int_equal(st.sock, 12288);
	assert_int_equal(st.shmem, 4096000);
	assert_int_equal(st.inactive_anon, 48627712);
	assert_int_equal(st.active_anon, 8159232);
	assert_int_equal(st.inactive_file, 98574336);
	assert_int_equal(st.active_file, 62185472);
	assert_int_equal(st.workingset_refault_anon, 17);
	assert_int_equal(st.workingset_refault_file, 4213);
	assert_int_equal(st.workingset_activate_anon, 3);
	assert_int_equal(st.workingset_activate_file, 1187);

	memset(&ev, 0xff, sizeof(ev));
	assert_int_equal(probe_parse_memory_events(slurp(DATA "/v2/memory.events"), &ev), 0);
	assert_int_equal(ev.low, 0);
	assert_int_equal(ev.high, 1523);
	assert_int_equal(ev.max, 37);
	assert_int_equal(ev.oom, 2);
	assert_int_equal(ev.oom_kill, 1);
	assert_int_equal(ev.oom_group_kill, 0);
	/* before 5.17 there is no oom_group_kill */
	memset(&ev, 0xff, sizeof(ev));
	assert_int_equal(
	    probe_parse_memory_events("low 0\nhigh 0\nmax 0\noom 0\noom_kill 3\n", &ev), 0);
	assert_int_equal(ev.oom_kill, 3);
	assert_true(ev.oom_group_kill == U);

	memset(&cpu, 0xff, sizeof(cpu));
	assert_int_equal(probe_parse_cpu_stat_v2(slurp(DATA "/v2/cpu.stat"), &cpu), 0);
	assert_int_equal(cpu.usage_usec, 8347612);
	assert_int_equal(cpu.user_usec, 6210034);
	assert_int_equal(cpu.system_usec, 2137578);
	assert_int_equal(cpu.nr_periods, 4120);
	assert_int_equal(cpu.nr_throttled, 318);
	assert_int_equal(cpu.throttled_usec, 2961023);

	assert_int_equal(probe_parse_io_stat(slurp(DATA "/v2/io.stat"), &io), 0);
	assert_int_equal(io.rbytes, 1459200 + 90112);
	assert_int_equal(io.wbytes, 314773504 + 4096);
	assert_int_equal(io.rios, 192 + 22);
	assert_int_equal(io.wios, 353 + 1);
	assert_int_equal(probe_parse_io_stat("", &io), 0); /* no I/O yet */
	assert_int_equal(io.rbytes + io.wbytes + io.rios + io.wios, 0);
	/* iocost adds cost.* keys; unknown keys are skipped */
	assert_int_equal(probe_parse_io_stat("8:0 rbytes=5 wbytes=6 rios=1 wios=2 dbytes=0 dios=0 "
					     "cost.vrate=100.00 cost.usage=4 cost.wait=0\n",
					     &io),
			 0);
	assert_int_equal(io.rbytes, 5);
	assert_int_equal(io.wios, 2);

	assert_int_equal(probe_parse_u64(slurp(DATA "/v2/memory.peak"), &v), 0);
	assert_int_equal(v, 301989888);
	assert_int_equal(probe_parse_u64("max\n", &v), -EINVAL);
	/* saturates below PROBE_UNKNOWN instead of wrapping */
	assert_int_equal(probe_parse_u64("99999999999999999999999\n", &v), 0);
	assert_true(v == U - 1);
}

/* ---- parsers: host -------------------------------------------------------- */

static void test_parse_host(void **state)
{
	struct probe_meminfo mi;
	struct probe_host_cpu cpu;

	(void)state;
	memset(&mi, 0xff, sizeof(mi));
	assert_int_equal(probe_parse_meminfo(slurp(DATA "/host/meminfo"), &mi), 0);
	assert_int_equal(mi.mem_total, 24684084ull * 1024);
	assert_int_equal(mi.mem_free, 23475040ull * 1024);
	assert_int_equal(mi.mem_available, 23381736ull * 1024);
	assert_int_equal(mi.buffers, 5960ull * 1024);
	assert_int_equal(mi.cached, 64764ull * 1024); /* not SwapCached */
	assert_int_equal(mi.swap_total, 0);
	assert_int_equal(mi.swap_free, 0);
	assert_int_equal(mi.dirty, 288ull * 1024);
	assert_int_equal(mi.shmem, 8872ull * 1024);

	assert_int_equal(probe_parse_proc_stat(slurp(DATA "/host/stat"), &cpu), 0);
	assert_int_equal(cpu.user, 91257);
	assert_int_equal(cpu.nice, 0);
	assert_int_equal(cpu.system, 22300);
	assert_int_equal(cpu.idle, 291444);
	assert_int_equal(cpu.iowait, 1417);
	assert_int_equal(cpu.irq, 0);
	assert_int_equal(cpu.softirq, 294);
	assert_int_equal(cpu.steal, 54);
	assert_int_equal(cpu.ncpus, 2);
	assert_int_equal(probe_parse_proc_stat("intr 1 2 3\n", &cpu), -EINVAL);
}

/* ---- rates ---------------------------------------------------------------- */

static void test_rates(void **state)
{
	(void)state;
	assert_true(near(probe_rate(100, 1100, 2000000), 500.0));
	assert_true(isnan(probe_rate(U, 5, 1000000)));
	assert_true(isnan(probe_rate(5, U, 1000000)));
	assert_true(isnan(probe_rate(5, 6, 0)));
	assert_true(isnan(probe_rate(6, 5, 1000000))); /* cgroup recreated */
	assert_true(near(probe_cpu_percent(0, 1500000, 1000000), 150.0));
	assert_true(near(probe_cpu_percent(1000, 1000, 1000000), 0.0));
}

/* ---- samplers against fake trees ---------------------------------------- */

struct fake {
	char root[PATH_MAX];
	char v2[PATH_MAX], memory[PATH_MAX], cpu[PATH_MAX], cpuacct[PATH_MAX];
	char pids[PATH_MAX], blkio[PATH_MAX], proc[PATH_MAX];
};

static const char *const v2_names[] = {
	"memory.current", "memory.peak",     "memory.swap.current", "memory.stat",
	"memory.events",  "cpu.stat",	     "pids.current",	    "pids.events",
	"io.stat",	  "memory.pressure", "cpu.pressure",	    "io.pressure",
};

static void mk(char *out, const char *root, const char *name)
{
	join(out, root, name);
	assert_int_equal(mkdir(out, 0755), 0);
}

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	size_t i;

	if (!f)
		return -1;
	strcpy(f->root, "/tmp/test-probes.XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	mk(f->v2, f->root, "v2");
	for (i = 0; i < sizeof(v2_names) / sizeof(v2_names[0]); i++)
		copy_file(DATA "/v2", f->v2, v2_names[i]);
	mk(f->memory, f->root, "memory");
	copy_file(DATA "/v1", f->memory, "memory.stat");
	copy_file(DATA "/v1", f->memory, "memory.oom_control");
	copy_file(DATA "/v1", f->memory, "memory.usage_in_bytes");
	copy_file(DATA "/v1", f->memory, "memory.max_usage_in_bytes");
	copy_file(DATA "/v1", f->memory, "memory.failcnt");
	copy_file(DATA "/v1", f->memory, "memory.kmem.usage_in_bytes");
	copy_file(DATA "/v1", f->memory, "memory.kmem.tcp.usage_in_bytes");
	mk(f->cpu, f->root, "cpu");
	copy_file(DATA "/v1", f->cpu, "cpu.stat");
	mk(f->cpuacct, f->root, "cpuacct");
	copy_file(DATA "/v1", f->cpuacct, "cpuacct.stat");
	copy_file(DATA "/v1", f->cpuacct, "cpuacct.usage");
	mk(f->pids, f->root, "pids");
	copy_file(DATA "/v1", f->pids, "pids.current");
	copy_file(DATA "/v1", f->pids, "pids.events");
	mk(f->blkio, f->root, "blkio");
	copy_file(DATA "/v1", f->blkio, "blkio.throttle.io_service_bytes_recursive");
	copy_file(DATA "/v1", f->blkio, "blkio.throttle.io_serviced_recursive");
	/* the unified dir of a hybrid host: PSI only */
	copy_file(DATA "/v1", f->v2, "memory.pressure");
	copy_file(DATA "/v1", f->v2, "cpu.pressure");
	copy_file(DATA "/v1", f->v2, "io.pressure");
	{
		char p[PATH_MAX];

		mk(f->proc, f->root, "proc");
		copy_file(DATA "/host", f->proc, "meminfo");
		copy_file(DATA "/host", f->proc, "stat");
		mk(p, f->proc, "pressure");
		copy_file(DATA "/host/pressure", p, "memory");
		copy_file(DATA "/host/pressure", p, "cpu");
		copy_file(DATA "/host/pressure", p, "io");
	}
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	if (f) {
		rm_rf(f->root);
		free(f);
	}
	return 0;
}

static void test_sampler_v2(void **state)
{
	struct fake *f = *state;
	struct probe_cgroup_paths paths = { .v2 = f->v2, .pure_v2 = true };
	struct probe_cgroup *pc;
	struct probe_cgroup_sample a, b;
	struct probe_cgroup_rates r;

	/* the v1 pressure fixtures replaced the v2 ones; put the v2 ones back */
	copy_file(DATA "/v2", f->v2, "memory.pressure");
	copy_file(DATA "/v2", f->v2, "cpu.pressure");
	copy_file(DATA "/v2", f->v2, "io.pressure");
	assert_int_equal(probe_cgroup_open(&paths, &pc), 0);
	assert_int_equal(probe_cgroup_nfds(pc), 12);
	assert_int_equal(probe_cgroup_sample(pc, &a), 0);
	assert_int_equal(a.memory.current, 222318592);
	assert_int_equal(a.memory.peak, 301989888);
	assert_int_equal(a.memory.swap_current, 0);
	assert_int_equal(a.memory.stat.anon, 52690944);
	assert_int_equal(a.memory.stat.kernel, 9306112);
	assert_int_equal(a.memory.events.oom_kill, 1);
	assert_int_equal(a.memory.events.max, 37);
	assert_true(a.memory.under_oom == U);
	assert_int_equal(a.cpu.usage_usec, 8347612);
	assert_int_equal(a.cpu.throttled_usec, 2961023);
	assert_int_equal(a.pids.current, 17);
	assert_int_equal(a.pids.max_events, 3);
	assert_int_equal(a.io.rbytes, 1549312);
	assert_int_equal(a.psi_memory.some.avg300, 137);
	assert_int_equal(a.psi_cpu.full.total_usec, 14008312);
	assert_int_equal(a.psi_io.some.avg10, 51);

	/* one second later: 0.75 s of CPU, 1 MiB read, 4 MiB written, 2.5% cpu stall */
	write_file(f->v2, "cpu.stat",
		   "usage_usec 9097612\nuser_usec 6710034\nsystem_usec 2387578\n"
		   "nr_periods 4130\nnr_throttled 318\nthrottled_usec 2961023\n");
	write_file(f->v2, "io.stat",
		   "8:16 rbytes=2507776 wbytes=318967808 rios=200 wios=400 dbytes=0 dios=0\n"
		   "254:0 rbytes=90112 wbytes=4096 rios=22 wios=1 dbytes=1048576 dios=2\n");
	write_file(f->v2, "cpu.pressure",
		   "some avg10=12.48 avg60=7.90 avg300=2.33 total=58059121\n"
		   "full avg10=3.10 avg60=1.75 avg300=0.51 total=14008312\n");
	write_file(f->v2, "memory.events",
		   "low 0\nhigh 1523\nmax 38\noom 3\noom_kill 2\noom_group_kill 0\n");
	assert_int_equal(probe_cgroup_sample(pc, &b), 0);
	assert_int_equal(b.memory.events.oom_kill, 2);
	b.when_usec = a.when_usec + 1000000;
	probe_cgroup_rates(&a, &b, &r);
	assert_true(near(r.cpu_percent, 75.0));
	assert_true(near(r.cpu_user_percent, 50.0));
	assert_true(near(r.cpu_system_percent, 25.0));
	assert_true(near(r.throttled_percent, 0.0));
	assert_true(near(r.io_read_bps, 1048576.0));
	assert_true(near(r.io_write_bps, 4194304.0));
	assert_true(near(r.io_read_iops, 8.0));
	assert_true(near(r.io_write_iops, 47.0));
	assert_true(near(r.psi_cpu_some, 2.5));
	assert_true(near(r.psi_cpu_full, 0.0));
	assert_true(near(r.refault_per_sec, 0.0));

	/* only the groups asked for */
	assert_int_equal(probe_cgroup_sample_groups(pc, PROBE_G_CPU | PROBE_G_PSI, &b), 0);
	assert_int_equal(b.cpu.usage_usec, 9097612);
	assert_int_equal(b.psi_io.some.avg10, 51);
	assert_true(b.memory.current == U && b.memory.stat.anon == U && b.io.rbytes == U);
	assert_true(b.pids.current == U && b.memory.events.oom_kill == U);
	assert_int_equal(probe_cgroup_sample_groups(pc, 0, &b), 0);
	assert_true(b.cpu.usage_usec == U && b.when_usec != U);

	/* a removed file leaves its fields unknown at the next open */
	pc = probe_cgroup_free(pc);
	assert_null(pc);
	{
		char p[PATH_MAX];

		join(p, f->v2, "memory.peak");
		assert_int_equal(unlink(p), 0);
	}
	assert_int_equal(probe_cgroup_open(&paths, &pc), 0);
	assert_int_equal(probe_cgroup_nfds(pc), 11);
	assert_int_equal(probe_cgroup_sample(pc, &a), 0);
	assert_true(a.memory.peak == U);
	assert_int_equal(a.memory.current, 222318592);
	probe_cgroup_free(pc);

	/* by_path: no fd kept, the same sample; each read sees the file as it is now */
	paths.by_path = true;
	assert_int_equal(probe_cgroup_open(&paths, &pc), 0);
	assert_int_equal(probe_cgroup_nfds(pc), 0);
	assert_int_equal(probe_cgroup_sample(pc, &b), 0);
	assert_true(b.memory.peak == U);
	assert_int_equal(b.memory.current, a.memory.current);
	assert_int_equal(b.cpu.usage_usec, a.cpu.usage_usec);
	assert_int_equal(b.psi_io.some.avg10, a.psi_io.some.avg10);
	assert_int_equal(b.memory.events.oom_kill, a.memory.events.oom_kill);
	write_file(f->v2, "memory.current", "1048576\n");
	assert_int_equal(probe_cgroup_sample_groups(pc, PROBE_G_MEMORY, &b), 0);
	assert_int_equal(b.memory.current, 1048576);
	{
		char p[PATH_MAX];

		/* A counter file gone: the cgroup is, as a pread on a removed cgroup says. */
		join(p, f->v2, "memory.current");
		assert_int_equal(unlink(p), 0);
	}
	assert_int_equal(probe_cgroup_sample(pc, &b), -ENODEV);
	probe_cgroup_free(pc);
	copy_file(DATA "/v2", f->v2, "memory.current");
}

static void test_sampler_v1(void **state)
{
	struct fake *f = *state;
	struct probe_cgroup_paths paths = { .v2 = f->v2,
					    .memory = f->memory,
					    .cpu = f->cpu,
					    .cpuacct = f->cpuacct,
					    .pids = f->pids,
					    .blkio = f->blkio };
	struct probe_cgroup *pc;
	struct probe_cgroup_sample a, b;
	struct probe_cgroup_rates r;
	long hz = sysconf(_SC_CLK_TCK);

	assert_int_equal(probe_cgroup_open(&paths, &pc), 0);
	assert_int_equal(probe_cgroup_nfds(pc), 7 + 1 + 2 + 2 + 2 + 3);
	assert_int_equal(probe_cgroup_sample(pc, &a), 0);
	assert_int_equal(a.memory.current, 8601600);
	assert_int_equal(a.memory.peak, 9449472);
	assert_int_equal(a.memory.swap_current, 0); /* total_swap */
	assert_int_equal(a.memory.stat.file, 8388608);
	assert_int_equal(a.memory.stat.kernel, 28672);
	assert_int_equal(a.memory.stat.sock, 0);
	assert_int_equal(a.memory.under_oom, 0);
	assert_int_equal(a.memory.events.oom_kill, 0);
	assert_int_equal(a.memory.events.max, 0); /* failcnt */
	assert_true(a.memory.events.oom == U && a.memory.events.low == U);
	assert_true(a.memory.events.oom_group_kill == U);
	assert_int_equal(a.cpu.usage_usec, 224159);
	assert_int_equal(a.cpu.user_usec, 19 * 1000000 / (uint64_t)hz);
	assert_int_equal(a.cpu.system_usec, 3 * 1000000 / (uint64_t)hz);
	assert_int_equal(a.cpu.nr_periods, 0);
	assert_int_equal(a.pids.current, 0);
	assert_int_equal(a.pids.max_events, 0);
	assert_int_equal(a.io.rbytes, 16777216);
	assert_int_equal(a.io.wbytes, 8388608);
	assert_int_equal(a.io.rios, 133);
	assert_int_equal(a.io.wios, 16);
	assert_int_equal(a.psi_cpu.some.total_usec, 4933);
	assert_int_equal(a.psi_io.full.total_usec, 9273);

	write_file(f->cpuacct, "cpuacct.usage", "1224159189\n"); /* +1 s of CPU */
	write_file(f->memory, "memory.oom_control",
		   "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
	write_file(f->memory, "memory.failcnt", "12\n");
	assert_int_equal(probe_cgroup_sample(pc, &b), 0);
	b.when_usec = a.when_usec + 2000000;
	probe_cgroup_rates(&a, &b, &r);
	assert_true(near(r.cpu_percent, 50.0));
	assert_true(near(r.io_read_bps, 0.0));
	assert_int_equal(b.memory.events.oom_kill, 1);
	assert_int_equal(b.memory.events.max, 12);
	probe_cgroup_free(pc);

	/* hybrid without a unified dir, and only some controllers */
	paths.v2 = NULL;
	paths.blkio = NULL;
	paths.pids = NULL;
	assert_int_equal(probe_cgroup_open(&paths, &pc), 0);
	assert_int_equal(probe_cgroup_sample(pc, &a), 0);
	assert_true(a.psi_memory.some.total_usec == U);
	assert_true(a.io.rbytes == U && a.pids.current == U);
	assert_int_equal(a.memory.current, 8601600);
	probe_cgroup_free(pc);

	/* a missing directory is an error; pure v2 needs the v2 dir */
	paths.cpu = "/nonexistent/paddock";
	assert_int_equal(probe_cgroup_open(&paths, &pc), -ENOENT);
	assert_null(pc);
	paths = (struct probe_cgroup_paths){ .pure_v2 = true };
	assert_int_equal(probe_cgroup_open(&paths, &pc), -EINVAL);
}

static void test_sampler_host(void **state)
{
	struct fake *f = *state;
	struct probe_host *ph;
	struct probe_host_sample a, b;
	struct probe_host_rates r;

	assert_int_equal(probe_host_open(f->proc, &ph), 0);
	assert_int_equal(probe_host_sample(ph, &a), 0);
	assert_int_equal(a.mem.mem_total, 24684084ull * 1024);
	assert_int_equal(a.cpu.user, 91257);
	assert_int_equal(a.psi_cpu.some.avg10, 539);
	assert_int_equal(a.psi_memory.some.total_usec, 19657);
	assert_int_equal(a.psi_io.full.total_usec, 10617871);
	/* +100 ticks: 60 user, 10 system, 20 idle, 10 iowait */
	write_file(f->proc, "stat",
		   "cpu  91317 0 22310 291464 1427 0 294 54 0 0\n"
		   "cpu0 1 0 0 0 0 0 0 0 0 0\ncpu1 1 0 0 0 0 0 0 0 0 0\nintr 0\n");
	assert_int_equal(probe_host_sample(ph, &b), 0);
	probe_host_rates(&a, &b, &r);
	assert_true(near(r.cpu_busy_percent, 70.0));
	assert_true(near(r.cpu_iowait_percent, 10.0));
	assert_true(near(r.cpu_steal_percent, 0.0));
	assert_true(near(r.cores_busy, 1.4));
	probe_host_free(ph);

	/* no /proc/pressure (kernel without PSI): PSI unknown, the rest works */
	{
		char p[PATH_MAX];

		join(p, f->proc, "pressure");
		rm_rf(p);
	}
	assert_int_equal(probe_host_open(f->proc, &ph), 0);
	assert_int_equal(probe_host_sample(ph, &a), 0);
	assert_true(a.psi_memory.some.avg10 == U);
	assert_int_equal(a.mem.dirty, 288 * 1024);
	probe_host_free(ph);

	/* and the real /proc of this machine */
	assert_int_equal(probe_host_open(NULL, &ph), 0);
	assert_int_equal(probe_host_sample(ph, &a), 0);
	assert_true(a.mem.mem_total != U && a.mem.mem_total > 0);
	assert_true(a.mem.mem_available != U);
	assert_true(a.cpu.ncpus == (uint64_t)sysconf(_SC_NPROCESSORS_ONLN));
	probe_host_free(ph);
	assert_null(probe_host_free(NULL));
}

/* Sampling must not allocate: count calls into malloc/calloc/realloc from the library. */
static void test_sampling_does_not_allocate(void **state)
{
	struct fake *f = *state;
	struct probe_cgroup_paths v1 = { .v2 = f->v2,
					 .memory = f->memory,
					 .cpu = f->cpu,
					 .cpuacct = f->cpuacct,
					 .pids = f->pids,
					 .blkio = f->blkio };
	struct probe_cgroup_paths v2 = { .v2 = f->v2, .pure_v2 = true };
	struct probe_cgroup *a, *b;
	struct probe_host *h;
	struct probe_cgroup_sample s, s2;
	struct probe_cgroup_rates r;
	struct probe_host_sample hs;
	unsigned long before;
	int i;

	before = allocs;
	assert_int_equal(probe_cgroup_open(&v1, &a), 0);
	assert_true(allocs > before); /* the counter does see the library */
	assert_int_equal(probe_cgroup_open(&v2, &b), 0);
	assert_int_equal(probe_host_open(f->proc, &h), 0);
	before = allocs;
	for (i = 0; i < 100; i++) {
		assert_int_equal(probe_cgroup_sample(a, &s), 0);
		assert_int_equal(probe_cgroup_sample(b, &s2), 0);
		probe_cgroup_rates(&s, &s2, &r);
		assert_int_equal(probe_host_sample(h, &hs), 0);
	}
	assert_int_equal(allocs, before);
	probe_cgroup_free(a);
	probe_cgroup_free(b);
	probe_host_free(h);
}

/* v2 OOM source: inotify IN_MODIFY on memory.events. On the hybrid host the unified
 * hierarchy has no memory controller, so this exercises it on a regular file. */
static void test_oom_watch_v2_fake(void **state)
{
	struct fake *f = *state;
	char path[PATH_MAX];
	struct probe_memory_events ev;
	struct pollfd pfd;
	int ifd, efd;

	join(path, f->v2, "memory.events");
	assert_int_equal(probe_oom_watch_v2(path, &ifd), 0);
	assert_int_equal(probe_inotify_drain(ifd), 0);
	efd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(efd >= 0);
	write_file(f->v2, "memory.events",
		   "low 0\nhigh 0\nmax 5\noom 4\noom_kill 4\noom_group_kill 1\n");
	pfd = (struct pollfd){ .fd = ifd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_true(probe_inotify_drain(ifd) >= 1);
	assert_int_equal(probe_read_memory_events(efd, &ev), 0);
	assert_int_equal(ev.oom_kill, 4);
	assert_int_equal(ev.oom_group_kill, 1);
	close(efd);
	close(ifd);
	assert_int_equal(probe_oom_watch_v2("/nonexistent/memory.events", &ifd), -ENOENT);
	assert_int_equal(ifd, -1);
}

static uint64_t median_ns_per_sample(struct probe_cgroup *pc, unsigned groups, int n)
{
	uint64_t *t = calloc((size_t)n, sizeof(*t)), m;
	struct probe_cgroup_sample s;
	int i;

	assert_non_null(t);
	for (i = 0; i < 200; i++) /* warm up */
		assert_int_equal(probe_cgroup_sample_groups(pc, groups, &s), 0);
	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		assert_int_equal(probe_cgroup_sample_groups(pc, groups, &s), 0);
		t[i] = now_ns() - t0;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	m = t[n / 2];
	free(t);
	return m;
}

/* Figures, not a pass/fail: timing depends on the machine. Budget: 1000 services at 1 s
 * within 1% of a core is 10 us per service sample. */
static void test_cost_fake_tree(void **state)
{
	struct fake *f = *state;
	struct probe_cgroup_paths v2 = { .v2 = f->v2, .pure_v2 = true };
	struct probe_cgroup *pc;

	copy_file(DATA "/v2", f->v2, "memory.pressure");
	copy_file(DATA "/v2", f->v2, "cpu.pressure");
	copy_file(DATA "/v2", f->v2, "io.pressure");
	assert_int_equal(probe_cgroup_open(&v2, &pc), 0);
	printf(
	    "# probe cost: v2 fake tree (%d files on %s): %llu ns per sample (median of 20000)\n",
	    probe_cgroup_nfds(pc), f->root,
	    (unsigned long long)median_ns_per_sample(pc, PROBE_G_ALL, 20000));
	probe_cgroup_free(pc);
}

/* ---- the real host (root, v1 memory hierarchy + unified v2) --------------- */

#define MAX_KIDS 8

struct real {
	char name[64];
	char memory[PATH_MAX], cpu[PATH_MAX], cpuacct[PATH_MAX], pids[PATH_MAX];
	char blkio[PATH_MAX], unified[PATH_MAX];
	pid_t kids[MAX_KIDS];
	int nkids;
};

/* Our own cgroup in hierarchy `ctrl` ("" for the unified one) from /proc/self/cgroup. */
static bool own_cgroup(const char *ctrl, char *out, size_t size)
{
	char line[512];
	FILE *f = fopen("/proc/self/cgroup", "re");
	bool ok = false;

	if (!f)
		return false;
	while (!ok && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':'), *p;

		if (!c || !(p = strchr(c + 1, ':')))
			continue;
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		c++;
		if (strcmp(c, ctrl) == 0) {
			snprintf(out, size, "%s", strcmp(p, "/") == 0 ? "" : p);
			ok = true;
		}
	}
	fclose(f);
	return ok;
}

static bool real_dir(char *out, const char *mount, const char *ctrl, const char *name)
{
	char own[PATH_MAX - 128], base[PATH_MAX + 128];
	struct stat st;

	join(base, "/sys/fs/cgroup", mount);
	if (stat(base, &st) < 0 || !own_cgroup(ctrl, own, sizeof(own)))
		return false;
	strcat(base, own); /* own is shorter than PATH_MAX - 128 */
	join(out, base, name);
	return mkdir(out, 0755) == 0;
}

static int real_teardown(void **state);

static int real_setup(void **state)
{
	struct real *r;

	if (geteuid() != 0 || access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) < 0 ||
	    access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) < 0)
		return 0; /* *state stays NULL: the tests skip */
	r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	snprintf(r->name, sizeof(r->name), "paddock-probetest-%d", (int)getpid());
	*state = r;
	if (!real_dir(r->memory, "memory", "memory", r->name) ||
	    !real_dir(r->cpu, "cpu", "cpu", r->name) ||
	    !real_dir(r->cpuacct, "cpuacct", "cpuacct", r->name) ||
	    !real_dir(r->pids, "pids", "pids", r->name) ||
	    !real_dir(r->blkio, "blkio", "blkio", r->name) ||
	    !real_dir(r->unified, "unified", "", r->name)) {
		real_teardown(state);
		*state = NULL;
		return 0;
	}
	write_file(r->memory, "memory.limit_in_bytes", "16M\n");
	return 0;
}

static void kill_kids(struct real *r)
{
	int i;

	for (i = 0; i < r->nkids; i++) {
		kill(r->kids[i], SIGKILL);
		waitpid(r->kids[i], NULL, 0);
	}
	r->nkids = 0;
}

/* rmdir with a deadline: a cgroup is briefly busy after its last task was reaped. */
static void rmdir_wait(const char *dir)
{
	uint64_t deadline = now_ns() + 5000000000ull;

	if (!dir[0])
		return;
	while (rmdir(dir) < 0 && errno == EBUSY && now_ns() < deadline)
		usleep(10000);
}

static int real_teardown(void **state)
{
	struct real *r = *state;

	if (!r)
		return 0;
	kill_kids(r);
	rmdir_wait(r->memory);
	rmdir_wait(r->cpu);
	rmdir_wait(r->cpuacct);
	rmdir_wait(r->pids);
	rmdir_wait(r->blkio);
	rmdir_wait(r->unified);
	free(r);
	return 0;
}

#define REAL_OR_SKIP(state)                 \
	({                                  \
		struct real *r_ = *(state); \
		if (!r_)                    \
			skip();             \
		r_;                         \
	})

static bool have_cap_sys_resource(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff & (1ull << 24); /* CAP_SYS_RESOURCE */
}

static void check_rounding(const char *file)
{
	bool priv = have_cap_sys_resource();
	uint64_t eff = 0;
	int fd;

	fd = probe_psi_trigger_open(file, false, 150000, 2000000, &eff);
	assert_true(fd >= 0);
	assert_int_equal(eff, 2000000);
	close(fd);
	fd = probe_psi_trigger_open(file, false, 100000, 1000000, &eff);
	assert_true(fd >= 0);
	assert_int_equal(eff, priv ? 1000000 : 2000000);
	close(fd);
	fd = probe_psi_trigger_open(file, true, 300000, 3000000, &eff);
	assert_true(fd >= 0);
	assert_int_equal(eff, priv ? 3000000 : 4000000);
	close(fd);
	fd = probe_psi_trigger_open(file, false, 500000, 500000, &eff); /* 100% */
	assert_true(fd >= 0);
	assert_int_equal(eff, priv ? 500000 : 2000000);
	close(fd);
	/* beyond the kernel's 10 s maximum: rounding cannot help */
	assert_int_equal(probe_psi_trigger_open(file, false, 100000, 11000000, &eff), -EINVAL);
	assert_int_equal(probe_psi_trigger_open(file, false, 3000000, 2000000, &eff), -EINVAL);
	printf("# PSI %s: CAP_SYS_RESOURCE %s; 1 s -> %s, 3 s -> %s\n", file,
	       priv ? "held" : "not held", priv ? "1 s" : "2 s", priv ? "3 s" : "4 s");
}

static void test_real_psi_rounding(void **state)
{
	struct real *r = REAL_OR_SKIP(state);
	char p[PATH_MAX];

	check_rounding("/proc/pressure/memory");
	join(p, r->unified, "memory.pressure");
	check_rounding(p);
	join(p, r->unified, "cpu.pressure");
	check_rounding(p);
}

/* Children that join the given cgroup dirs (dir2 may be NULL), then spin. */
static void spawn_spinners(struct real *r, int n, const char *dir, const char *dir2)
{
	int i;

	for (i = 0; i < n && r->nkids < MAX_KIDS; i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			const char *dirs[2] = { dir, dir2 };
			char p[PATH_MAX];
			int fd, k;

			for (k = 0; k < 2 && dirs[k]; k++) {
				join(p, dirs[k], "cgroup.procs");
				fd = open(p, O_WRONLY | O_CLOEXEC);
				if (fd < 0 || write(fd, "0", 1) != 1)
					_exit(1);
				close(fd);
			}
			for (;;)
				__asm__ volatile("" ::: "memory");
		}
		r->kids[r->nkids++] = pid;
	}
}

/* Triggers in our own unified cgroup fire under a busy-loop load of more runnable tasks
 * than CPUs: one through probe_psi_watch polled the way the event loop does (poll() on
 * its epoll fd), two in a set drained directly. Then a watch on a removed cgroup. */
static void test_real_psi_trigger_fires(void **state)
{
	struct real *r = REAL_OR_SKIP(state);
	struct probe_cgroup_paths paths = { .v2 = r->unified, .cpuacct = r->cpuacct };
	struct probe_cgroup *pc;
	struct probe_cgroup_sample s;
	struct probe_psi_watch w;
	struct probe_psi_event ev[4];
	char p[PATH_MAX], sub[PATH_MAX];
	uint64_t eff, t0, t_watch = 0, t_set = 0, deadline;
	int epfd, fd_cg, fd_host, n = 0, i;
	bool watched = false, cg_seen = false;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	join(p, r->unified, "cpu.pressure");
	assert_int_equal(probe_psi_watch_open(p, false, 100000, 1000000, &eff, &w), 0);
	assert_int_equal(eff, have_cap_sys_resource() ? 1000000 : 2000000);
	fd_cg = probe_psi_trigger_open(p, false, 100000, 2000000, NULL);
	assert_true(fd_cg >= 0);
	fd_host = probe_psi_trigger_open("/proc/pressure/cpu", false, 100000, 2000000, NULL);
	assert_true(fd_host >= 0);
	epfd = probe_psi_epoll_new();
	assert_true(epfd >= 0);
	assert_int_equal(probe_psi_epoll_add(epfd, fd_cg, 42), 0);
	assert_int_equal(probe_psi_epoll_add(epfd, fd_host, 43), 0);

	t0 = now_ns();
	spawn_spinners(r, (int)ncpu + 1, r->unified, r->cpuacct);
	deadline = t0 + 30000000000ull;
	while ((!watched || !cg_seen) && now_ns() < deadline) {
		struct pollfd pfd = { .fd = w.epoll_fd, .events = POLLIN };

		if (!watched && poll(&pfd, 1, 50) == 1) {
			assert_int_equal(probe_psi_watch_ack(&w), 0);
			watched = true;
			t_watch = now_ns() - t0;
		}
		if (!cg_seen) {
			n = probe_psi_epoll_drain_events(epfd, ev, 4);
			assert_true(n >= 0);
			for (i = 0; i < n; i++) {
				assert_true(ev[i].events & EPOLLPRI);
				assert_false(ev[i].events & EPOLLERR);
				assert_true(ev[i].cookie == 42 || ev[i].cookie == 43);
				if (ev[i].cookie == 42) {
					cg_seen = true;
					t_set = now_ns() - t0;
				}
			}
			if (!cg_seen && watched)
				usleep(50000); /* nothing to poll: the set is drained directly */
		}
	}
	assert_true(watched);
	assert_true(cg_seen);
	printf("# PSI trigger on %s (some 10%% of a %llu ms window): fired after %llu ms "
	       "(watch polled like the loop) and %llu ms (set drained directly), %ld spinners "
	       "on %ld CPUs\n",
	       p, (unsigned long long)eff / 1000, (unsigned long long)(t_watch / 1000000),
	       (unsigned long long)(t_set / 1000000), ncpu + 1, ncpu);

	/* The sampler sees the same cgroup's PSI through its unified dir (hybrid layout). */
	assert_int_equal(probe_cgroup_open(&paths, &pc), 0);
	assert_int_equal(probe_cgroup_sample(pc, &s), 0);
	assert_true(s.psi_cpu.some.total_usec != U && s.psi_cpu.some.total_usec > 0);
	assert_true(s.cpu.usage_usec != U && s.cpu.usage_usec > 0);
	probe_cgroup_free(pc);
	kill_kids(r);
	probe_psi_watch_close(&w);
	assert_int_equal(w.epoll_fd, -1);
	probe_psi_watch_close(&w);
	assert_int_equal(probe_psi_epoll_del(epfd, fd_cg), 0);
	close(fd_cg);
	close(fd_host);
	close(epfd);

	/* A removed cgroup: the watch turns readable for good and ack says -ENODEV. */
	join(sub, r->unified, "gone");
	assert_int_equal(mkdir(sub, 0755), 0);
	join(p, sub, "memory.pressure");
	i = probe_psi_watch_open(p, false, 100000, 2000000, NULL, &w);
	if (i < 0)
		rmdir(sub);
	assert_int_equal(i, 0);
	assert_int_equal(rmdir(sub), 0);
	{
		struct pollfd pfd = { .fd = w.epoll_fd, .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 5000), 1);
	}
	assert_int_equal(probe_psi_watch_ack(&w), -ENODEV);
	probe_psi_watch_close(&w);
}

/* A child in our 16M v1 memory cgroup allocates 64M: the registered eventfd becomes
 * readable and oom_kill goes up. The child also joins the unified cgroup so we can see
 * whether its reclaim shows up as memory pressure there. */
static void test_real_v1_oom(void **state)
{
	struct real *r = REAL_OR_SKIP(state);
	struct probe_cgroup_paths paths = { .v2 = r->unified, .memory = r->memory };
	struct probe_oom_v1 w;
	struct probe_cgroup *pc;
	struct probe_cgroup_sample s;
	struct pollfd pfd;
	char p[PATH_MAX];
	struct probe_psi_watch mw;
	uint64_t count = 0, kill0 = U, kill1 = U, under = U;
	int status, fired;
	pid_t pid;

	assert_int_equal(probe_oom_watch_v1(r->memory, &w), 0);
	assert_int_equal(probe_oom_v1_read(&w, &under, &kill0), 0);
	assert_int_equal(kill0, 0);
	join(p, r->unified, "memory.pressure");
	assert_int_equal(probe_psi_watch_open(p, false, 1000, 2000000, NULL, &mw), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *dirs[2] = { r->memory, r->unified };
		size_t sz = 64u << 20;
		char *m;
		int i;

		for (i = 0; i < 2; i++) {
			int fd;

			join(p, dirs[i], "cgroup.procs");
			fd = open(p, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, "0", 1) != 1)
				_exit(1);
			close(fd);
		}
		m = __real_malloc(sz);
		if (!m)
			_exit(2);
		memset(m, 1, sz);
		_exit(3); /* not reached: the OOM killer takes us first */
	}
	r->kids[r->nkids++] = pid;

	pfd = (struct pollfd){ .fd = w.event_fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(probe_oom_v1_ack(&w, &count), 0);
	assert_true(count >= 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	r->nkids = 0;
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(probe_oom_v1_read(&w, &under, &kill1), 0);
	assert_true(kill1 >= kill0 + 1);

	assert_int_equal(probe_cgroup_open(&paths, &pc), 0);
	assert_int_equal(probe_cgroup_sample(pc, &s), 0);
	assert_true(s.memory.events.oom_kill >= 1);
	assert_true(s.memory.events.max >= 1); /* failcnt */
	assert_true(s.memory.peak >= 15u << 20);
	probe_cgroup_free(pc);

	/* Reported, not asserted: whether direct reclaim before the kill registered as a stall
	 * long enough for a "some 1 ms / 2 s" trigger. */
	{
		struct pollfd e = { .fd = mw.epoll_fd, .events = POLLIN };

		fired = poll(&e, 1, 4500) == 1 && probe_psi_watch_ack(&mw) == 0;
	}
	printf("# v1 OOM: eventfd count %llu, oom_kill %llu -> %llu, failcnt %llu, "
	       "unified memory.pressure some total %llu us, memory trigger %s\n",
	       (unsigned long long)count, (unsigned long long)kill0, (unsigned long long)kill1,
	       (unsigned long long)s.memory.events.max,
	       (unsigned long long)s.psi_memory.some.total_usec,
	       fired ? "fired" : "did not fire within 4.5 s");
	probe_psi_watch_close(&mw);
	probe_oom_v1_close(&w);
	assert_int_equal(w.event_fd, -1);
	probe_oom_v1_close(&w); /* twice is fine */
}

/* The cost of one sample of a real hybrid service: v1 memory, cpu, cpuacct, pids, blkio
 * and the unified dir's PSI, with a few tasks in it so the counters are live. */
static void test_real_cost(void **state)
{
	static const struct {
		const char *what;
		unsigned groups;
	} sets[] = {
		{ "all groups", PROBE_G_ALL },
		{ "all but memory.stat", PROBE_G_ALL & ~PROBE_G_MEMORY_STAT },
		{ "memory.stat group", PROBE_G_MEMORY_STAT },
		{ "PSI (3 unified files)", PROBE_G_PSI },
		{ "memory+cpu+pids", PROBE_G_MEMORY | PROBE_G_CPU | PROBE_G_PIDS },
		{ "memory+cpu+pids+PSI",
		  PROBE_G_MEMORY | PROBE_G_CPU | PROBE_G_PIDS | PROBE_G_PSI },
	};
	struct real *r = REAL_OR_SKIP(state);
	struct probe_cgroup_paths paths = { .v2 = r->unified,
					    .memory = r->memory,
					    .cpu = r->cpu,
					    .cpuacct = r->cpuacct,
					    .pids = r->pids,
					    .blkio = r->blkio };
	struct probe_cgroup *pc;
	size_t i;

	spawn_spinners(r, 1, r->unified, r->cpuacct); /* live counters */
	assert_int_equal(probe_cgroup_open(&paths, &pc), 0);
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		uint64_t ns = median_ns_per_sample(pc, sets[i].groups, 20000);

		printf("# probe cost: real hybrid service (%d files open), %s: %llu ns per sample "
		       "(median of 20000); 1000 services at 1 s = %.2f%% of a core\n",
		       probe_cgroup_nfds(pc), sets[i].what, (unsigned long long)ns,
		       (double)ns * 1000 / 1e9 * 100);
	}
	probe_cgroup_free(pc);
	kill_kids(r);
}

int main(void)
{
	const struct CMUnitTest parsers[] = {
		cmocka_unit_test(test_parse_v1_memory),
		cmocka_unit_test(test_parse_v1_cpu_pids_blkio),
		cmocka_unit_test(test_parse_psi),
		cmocka_unit_test(test_parse_v2),
		cmocka_unit_test(test_parse_host),
		cmocka_unit_test(test_rates),
		cmocka_unit_test_setup_teardown(test_sampler_v2, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_sampler_v1, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_sampler_host, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_sampling_does_not_allocate, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_oom_watch_v2_fake, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_cost_fake_tree, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_real_psi_rounding, real_setup, real_teardown),
		cmocka_unit_test_setup_teardown(test_real_psi_trigger_fires, real_setup,
						real_teardown),
		cmocka_unit_test_setup_teardown(test_real_v1_oom, real_setup, real_teardown),
		cmocka_unit_test_setup_teardown(test_real_cost, real_setup, real_teardown),
	};

	return cmocka_run_group_tests(parsers, NULL, NULL);
}
