/*
 * probe-cgroup.c - the per-service sampler: one service's cgroup counters and PSI.
 *
 * probe_cgroup_open() opens every counter file of the service once; each
 * probe_cgroup_sample() then preads each open file once from offset 0 into one
 * stack buffer and parses it into the sample. No allocation per sample, no
 * path lookups per sample (but with by_path, for a process short of fds: then
 * each read opens and closes its file). Pure v2 reads everything from the v2 dir; v1 and
 * hybrid read counters from the v1 controller dirs and PSI from the unified
 * (v2) dir, where the kernel accounts pressure whatever the controllers.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe-internal.h"

enum pf {
	PF_MEM_CURRENT, /* v2 memory.current, v1 memory.usage_in_bytes */
	PF_MEM_PEAK, /* v2 memory.peak, v1 memory.max_usage_in_bytes */
	PF_MEM_SWAP,
	PF_MEM_STAT,
	PF_MEM_EVENTS,
	PF_MEM_FAILCNT,
	PF_MEM_OOM_CONTROL,
	PF_MEM_KMEM,
	PF_MEM_KMEM_TCP,
	PF_CPU_STAT,
	PF_CPUACCT_USAGE,
	PF_CPUACCT_STAT,
	PF_PIDS_CURRENT,
	PF_PIDS_EVENTS,
	PF_IO_STAT,
	PF_BLKIO_BYTES,
	PF_BLKIO_IOS,
	PF_PSI_MEMORY,
	PF_PSI_CPU,
	PF_PSI_IO,
	PF__MAX
};

struct pfile {
	enum pf id;
	const char *name;
};

static const unsigned pf_group[PF__MAX] = {
	[PF_MEM_CURRENT] = PROBE_G_MEMORY,
	[PF_MEM_PEAK] = PROBE_G_MEMORY_PEAK,
	[PF_MEM_SWAP] = PROBE_G_MEMORY,
	[PF_MEM_STAT] = PROBE_G_MEMORY_STAT,
	[PF_MEM_EVENTS] = PROBE_G_MEMORY_EVENTS,
	[PF_MEM_FAILCNT] = PROBE_G_MEMORY_EVENTS,
	[PF_MEM_OOM_CONTROL] = PROBE_G_MEMORY_EVENTS,
	[PF_MEM_KMEM] = PROBE_G_MEMORY_STAT,
	[PF_MEM_KMEM_TCP] = PROBE_G_MEMORY_STAT,
	[PF_CPU_STAT] = PROBE_G_CPU,
	[PF_CPUACCT_USAGE] = PROBE_G_CPU,
	[PF_CPUACCT_STAT] = PROBE_G_CPU_SPLIT,
	[PF_PIDS_CURRENT] = PROBE_G_PIDS,
	[PF_PIDS_EVENTS] = PROBE_G_PIDS,
	[PF_IO_STAT] = PROBE_G_IO,
	[PF_BLKIO_BYTES] = PROBE_G_IO,
	[PF_BLKIO_IOS] = PROBE_G_IO,
	[PF_PSI_MEMORY] = PROBE_G_PSI,
	[PF_PSI_CPU] = PROBE_G_PSI,
	[PF_PSI_IO] = PROBE_G_PSI,
};

static const struct pfile v2_files[] = {
	{ PF_MEM_CURRENT, "memory.current" },
	{ PF_MEM_PEAK, "memory.peak" },
	{ PF_MEM_SWAP, "memory.swap.current" },
	{ PF_MEM_STAT, "memory.stat" },
	{ PF_MEM_EVENTS, "memory.events" },
	{ PF_CPU_STAT, "cpu.stat" },
	{ PF_PIDS_CURRENT, "pids.current" },
	{ PF_PIDS_EVENTS, "pids.events" },
	{ PF_IO_STAT, "io.stat" },
};
static const struct pfile psi_files[] = {
	{ PF_PSI_MEMORY, "memory.pressure" },
	{ PF_PSI_CPU, "cpu.pressure" },
	{ PF_PSI_IO, "io.pressure" },
};
static const struct pfile v1_memory_files[] = {
	{ PF_MEM_CURRENT, "memory.usage_in_bytes" },
	{ PF_MEM_PEAK, "memory.max_usage_in_bytes" },
	{ PF_MEM_STAT, "memory.stat" },
	{ PF_MEM_FAILCNT, "memory.failcnt" },
	{ PF_MEM_OOM_CONTROL, "memory.oom_control" },
	{ PF_MEM_KMEM, "memory.kmem.usage_in_bytes" },
	{ PF_MEM_KMEM_TCP, "memory.kmem.tcp.usage_in_bytes" },
};
static const struct pfile v1_cpu_files[] = { { PF_CPU_STAT, "cpu.stat" } };
static const struct pfile v1_cpuacct_files[] = {
	{ PF_CPUACCT_USAGE, "cpuacct.usage" },
	{ PF_CPUACCT_STAT, "cpuacct.stat" },
};
static const struct pfile v1_pids_files[] = {
	{ PF_PIDS_CURRENT, "pids.current" },
	{ PF_PIDS_EVENTS, "pids.events" },
};
static const struct pfile v1_blkio_files[] = {
	{ PF_BLKIO_BYTES, "blkio.throttle.io_service_bytes_recursive" },
	{ PF_BLKIO_IOS, "blkio.throttle.io_serviced_recursive" },
};

struct probe_cgroup {
	bool v1; /* counters from v1 files */
	long user_hz;
	int fd[PF__MAX];
	char *path[PF__MAX]; /* by_path: opened at each sample instead of fd */
};

/*
 * Opens the listed files of dir; a missing file stays -1, a missing dir is an error.
 * by_path: each file present is noted by its path and closed again.
 */
static int open_files(struct probe_cgroup *pc, const char *dir, const struct pfile *files, size_t n,
		      bool by_path)
{
	int dfd, r = 0;
	size_t i;

	if (!dir)
		return 0;
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		int fd;

		if (pc->fd[files[i].id] >= 0 || pc->path[files[i].id])
			continue; /* co-mounted controllers passed twice */
		fd = openat(dfd, files[i].name, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT) {
			r = -errno;
			break;
		}
		if (fd >= 0 && by_path) {
			(void)close(fd);
			fd = -1;
			if (asprintf(&pc->path[files[i].id], "%s/%s", dir, files[i].name) < 0) {
				pc->path[files[i].id] = NULL;
				r = -ENOMEM;
				break;
			}
		}
		pc->fd[files[i].id] = fd;
	}
	(void)close(dfd);
	return r;
}

#define OPEN(dir, files) \
	open_files(pc, dir, files, sizeof(files) / sizeof(files[0]), paths->by_path)

int probe_cgroup_open(const struct probe_cgroup_paths *paths, struct probe_cgroup **out)
{
	struct probe_cgroup *pc;
	int i, r;

	*out = NULL;
	if (paths->pure_v2 && !paths->v2)
		return -EINVAL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	for (i = 0; i < PF__MAX; i++)
		pc->fd[i] = -1;
	pc->v1 = !paths->pure_v2;
	pc->user_hz = sysconf(_SC_CLK_TCK);
	if (pc->user_hz <= 0)
		pc->user_hz = 100;

	if (paths->pure_v2)
		r = OPEN(paths->v2, v2_files);
	else if ((r = OPEN(paths->memory, v1_memory_files)) >= 0 &&
		 (r = OPEN(paths->cpu, v1_cpu_files)) >= 0 &&
		 (r = OPEN(paths->cpuacct, v1_cpuacct_files)) >= 0 &&
		 (r = OPEN(paths->pids, v1_pids_files)) >= 0)
		r = OPEN(paths->blkio, v1_blkio_files);
	if (r >= 0)
		r = OPEN(paths->v2, psi_files);
	if (r < 0) {
		probe_cgroup_free(pc);
		return r;
	}
	*out = pc;
	return 0;
}

int probe_cgroup_nfds(const struct probe_cgroup *pc)
{
	int i, n = 0;

	for (i = 0; i < PF__MAX; i++)
		n += pc->fd[i] >= 0;
	return n;
}

struct probe_cgroup *probe_cgroup_free(struct probe_cgroup *pc)
{
	int i;

	if (!pc)
		return NULL;
	for (i = 0; i < PF__MAX; i++) {
		probe_close(&pc->fd[i]);
		free(pc->path[i]);
	}
	free(pc);
	return NULL;
}

/* Parse errors leave the file's fields unknown: a kernel that changed a format must not
 * cost the other counters. */
static void parse_one(const struct probe_cgroup *pc, enum pf id, const char *buf,
		      struct probe_cgroup_sample *s)
{
	uint64_t v;

	switch (id) {
	case PF_MEM_CURRENT:
		(void)probe_parse_u64(buf, &s->memory.current);
		break;
	case PF_MEM_PEAK:
		(void)probe_parse_u64(buf, &s->memory.peak);
		break;
	case PF_MEM_SWAP:
		(void)probe_parse_u64(buf, &s->memory.swap_current);
		break;
	case PF_MEM_STAT:
		if (pc->v1)
			(void)probe_parse_memory_stat_v1(buf, &s->memory.stat,
							 &s->memory.swap_current);
		else
			(void)probe_parse_memory_stat_v2(buf, &s->memory.stat);
		break;
	case PF_MEM_EVENTS:
		(void)probe_parse_memory_events(buf, &s->memory.events);
		break;
	case PF_MEM_FAILCNT:
		(void)probe_parse_u64(buf, &s->memory.events.max);
		break;
	case PF_MEM_OOM_CONTROL:
		(void)probe_parse_oom_control(buf, &s->memory.under_oom,
					      &s->memory.events.oom_kill);
		break;
	case PF_MEM_KMEM:
		(void)probe_parse_u64(buf, &s->memory.stat.kernel);
		break;
	case PF_MEM_KMEM_TCP:
		(void)probe_parse_u64(buf, &s->memory.stat.sock);
		break;
	case PF_CPU_STAT:
		if (pc->v1)
			(void)probe_parse_cpu_stat_v1(buf, &s->cpu);
		else
			(void)probe_parse_cpu_stat_v2(buf, &s->cpu);
		break;
	case PF_CPUACCT_USAGE:
		if (probe_parse_u64(buf, &v) == 0)
			s->cpu.usage_usec = v / 1000; /* ns */
		break;
	case PF_CPUACCT_STAT:
		(void)probe_parse_cpuacct_stat(buf, pc->user_hz, &s->cpu);
		break;
	case PF_PIDS_CURRENT:
		(void)probe_parse_u64(buf, &s->pids.current);
		break;
	case PF_PIDS_EVENTS:
		(void)probe_parse_pids_events(buf, &s->pids.max_events);
		break;
	case PF_IO_STAT:
		(void)probe_parse_io_stat(buf, &s->io);
		break;
	case PF_BLKIO_BYTES:
		(void)probe_parse_blkio(buf, &s->io.rbytes, &s->io.wbytes);
		break;
	case PF_BLKIO_IOS:
		(void)probe_parse_blkio(buf, &s->io.rios, &s->io.wios);
		break;
	case PF_PSI_MEMORY:
		(void)probe_parse_psi(buf, &s->psi_memory);
		break;
	case PF_PSI_CPU:
		(void)probe_parse_psi(buf, &s->psi_cpu);
		break;
	case PF_PSI_IO:
		(void)probe_parse_psi(buf, &s->psi_io);
		break;
	case PF__MAX:
		break;
	}
}

int probe_cgroup_sample(struct probe_cgroup *pc, struct probe_cgroup_sample *s)
{
	return probe_cgroup_sample_groups(pc, PROBE_G_ALL, s);
}

int probe_cgroup_sample_groups(struct probe_cgroup *pc, unsigned groups,
			       struct probe_cgroup_sample *s)
{
	char buf[PROBE_BUF_SIZE];
	int i;

	memset(s, 0xff, sizeof(*s)); /* every field PROBE_UNKNOWN */
	s->when_usec = probe_now_usec();
	for (i = 0; i < PF__MAX; i++) {
		ssize_t n;

		if ((pc->fd[i] < 0 && !pc->path[i]) || !(pf_group[i] & groups))
			continue;
		if (pc->fd[i] >= 0) {
			n = probe_pread(pc->fd[i], buf, sizeof(buf));
		} else {
			int fd = open(pc->path[i], O_RDONLY | O_CLOEXEC);
			/* Gone with its cgroup: as a pread on a removed cgroup's file says. */
			n = fd < 0 ? (errno == ENOENT ? -ENODEV : -errno)
				   : probe_pread(fd, buf, sizeof(buf));
			if (fd >= 0)
				(void)close(fd);
		}
		if (n < 0 && i >= PF_PSI_MEMORY)
			continue; /* PSI off (psi=0, cgroup.pressure 0): leave it unknown */
		if (n < 0)
			return (int)n; /* -ENODEV: the cgroup was removed */
		parse_one(pc, (enum pf)i, buf, s);
	}
	return 0;
}
