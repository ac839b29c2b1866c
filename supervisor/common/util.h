/*
 * util.h - small helpers every supervisor file uses: scope-bound cleanup
 * (as in crun and bubblewrap), ownership transfer, whole-file I/O on
 * fds, and monotonic time.
 */
#ifndef PADDOCK_UTIL_H
#define PADDOCK_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		(void)close(*fd);
		errno = saved;
	}
}
static inline void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void *steal_ptr(void *pp)
{
	void **p = pp, *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))steal_ptr(pp))

static inline int steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

static inline uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wall-clock milliseconds since the epoch: for timestamps people read, never for intervals. */
static inline uint64_t realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Read up to len-1 bytes of dirfd/path into buf, NUL-terminate; returns bytes or -errno. */
ssize_t read_file_at(int dirfd, const char *path, char *buf, size_t len);
/* Write the whole string to dirfd/path (no O_CREAT); returns 0 or -errno. */
int write_file_at(int dirfd, const char *path, const char *s);
/* Create dirs along path (mode for each new one); 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);
/* xmalloc-style wrappers that abort on OOM: the daemon cannot do anything useful without memory. */
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
int xasprintf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
