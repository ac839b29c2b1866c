/*
 * probe-internal.h - helpers shared by the probes/ files, not for the daemon.
 */
#ifndef PADDOCK_PROBE_INTERNAL_H
#define PADDOCK_PROBE_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

/* pread from offset 0 into buf (size bytes, NUL-terminated). A file longer than the
 * buffer is cut after its last complete line. Returns the length or -errno. */
static inline ssize_t probe_pread(int fd, char *buf, size_t size)
{
	ssize_t n;

	do {
		n = pread(fd, buf, size - 1, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n == size - 1) {
		while (n > 0 && buf[n - 1] != '\n')
			n--;
	}
	buf[n] = '\0';
	return n;
}

static inline uint64_t probe_now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline void probe_close(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

#endif
