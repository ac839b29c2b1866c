/*
 * probe-host.c - the host sampler: /proc/meminfo, the aggregate cpu line of
 * /proc/stat and /proc/pressure/{memory,cpu,io}.
 *
 * Same rules as the per-service sampler: files opened once, one pread each
 * per sample, no allocation per sample. /proc/stat is the one large file (a
 * line per CPU and the interrupt counters), so its buffer lives in the
 * sampler, sized once at open: 64 KiB covers the cpu lines of ~1000 CPUs,
 * and the interrupt lines after them are not needed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "probe-internal.h"

#define HOST_STAT_BUF (64 * 1024)

enum hf { HF_MEMINFO, HF_STAT, HF_PSI_MEMORY, HF_PSI_CPU, HF_PSI_IO, HF__MAX };

static const char *const host_files[HF__MAX] = {
	[HF_MEMINFO] = "meminfo",
	[HF_STAT] = "stat",
	[HF_PSI_MEMORY] = "pressure/memory",
	[HF_PSI_CPU] = "pressure/cpu",
	[HF_PSI_IO] = "pressure/io",
};

struct probe_host {
	int fd[HF__MAX];
	char statbuf[HOST_STAT_BUF];
};

int probe_host_open(const char *proc_dir, struct probe_host **out)
{
	struct probe_host *ph;
	int dfd, i, r = 0;

	*out = NULL;
	dfd = open(proc_dir ? proc_dir : "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	ph = calloc(1, sizeof(*ph));
	if (!ph) {
		(void)close(dfd);
		return -ENOMEM;
	}
	for (i = 0; i < HF__MAX; i++) {
		ph->fd[i] = openat(dfd, host_files[i], O_RDONLY | O_CLOEXEC);
		/* No PSI (kernel without CONFIG_PSI, or psi=0) is fine; no meminfo is not. */
		if (ph->fd[i] < 0 &&
		    !(i >= HF_PSI_MEMORY && (errno == ENOENT || errno == EOPNOTSUPP))) {
			r = -errno;
			break;
		}
	}
	(void)close(dfd);
	if (r < 0) {
		probe_host_free(ph);
		return r;
	}
	*out = ph;
	return 0;
}

struct probe_host *probe_host_free(struct probe_host *ph)
{
	int i;

	if (!ph)
		return NULL;
	for (i = 0; i < HF__MAX; i++)
		probe_close(&ph->fd[i]);
	free(ph);
	return NULL;
}

int probe_host_sample(struct probe_host *ph, struct probe_host_sample *s)
{
	char buf[PROBE_BUF_SIZE];
	struct probe_psi *psi[HF__MAX] = { [HF_PSI_MEMORY] = &s->psi_memory,
					   [HF_PSI_CPU] = &s->psi_cpu,
					   [HF_PSI_IO] = &s->psi_io };
	ssize_t n;
	int i;

	memset(s, 0xff, sizeof(*s));
	s->when_usec = probe_now_usec();
	n = probe_pread(ph->fd[HF_MEMINFO], buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	(void)probe_parse_meminfo(buf, &s->mem);
	n = probe_pread(ph->fd[HF_STAT], ph->statbuf, sizeof(ph->statbuf));
	if (n < 0)
		return (int)n;
	(void)probe_parse_proc_stat(ph->statbuf, &s->cpu);
	for (i = HF_PSI_MEMORY; i < HF__MAX; i++) {
		if (ph->fd[i] < 0)
			continue;
		/* psi=0 on the kernel command line: the files exist but reads fail */
		if (probe_pread(ph->fd[i], buf, sizeof(buf)) >= 0)
			(void)probe_parse_psi(buf, psi[i]);
	}
	return 0;
}
