/*
 * cgroup-lock.c - one owner per root. The daemon takes flock(LOCK_EX) on
 * the root directory of every hierarchy it uses (cgroupfs accepts flock on
 * a directory opened O_RDONLY, v1 and v2), and LOCK_SH on every directory
 * above it. Why a lock on the directory rather than a pid file: the
 * kernel drops it the moment the holder dies, so a crashed or kill -9'd
 * owner never needs to be detected as stale, and it names exactly the
 * tree it protects whatever state dir or runtime dir the owner was
 * started with. Why the shared locks above: a daemon whose root contains
 * another's would sweep that one's services as orphans, and one whose
 * root lies inside another's would be swept; daemons side by side only
 * share the directories above them, which LOCK_SH allows.
 *
 * The lock belongs to the open file description: it survives fork (a
 * daemon(3)ised owner keeps it) and, when the fd is left open, exec
 * (daemon-reexec hands the fds over, cgroup_host_inherit_locks).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

/* Does pid hold an fd on the file dev:ino? */
static bool cg_pid_holds(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(path)))
		return false;
	while (!found && (e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) == 0 && st.st_dev == dev &&
		    st.st_ino == ino)
			found = true;
	}
	closedir(d);
	return found;
}

/*
 * An flock on dev:ino from /proc/locks: the pid that took it and whether
 * it is exclusive, preferring an exclusive one. 0 when none is listed.
 */
static pid_t cg_locks_pid(dev_t dev, ino_t ino, bool *exclusive)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/locks", "re");
	char line[256], want[64];
	pid_t pid = 0;

	*exclusive = false;
	if (!f)
		return 0;
	snprintf(want, sizeof(want), "%02x:%02x:%llu", major(dev), minor(dev),
		 (unsigned long long)ino);
	while (!*exclusive && fgets(line, sizeof(line), f)) {
		char type[16], mode[16], id[64];
		int p;
		/* "1: FLOCK  ADVISORY  WRITE 1234 00:26:277805 0 EOF" */
		if (sscanf(line, "%*s %15s %*s %15s %d %63s", type, mode, &p, id) != 4 ||
		    strcmp(type, "FLOCK") != 0 || strcmp(id, want) != 0 || p <= 0)
			continue;
		pid = p;
		*exclusive = strcmp(mode, "WRITE") == 0;
	}
	return pid;
}

static pid_t cg_ppid(pid_t pid)
{
	char path[64], buf[512];
	const char *p;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

/*
 * The process holding a lock on dev:ino. The pid in /proc/locks is the
 * one that took it, which is gone when the owner forked into the
 * background; then look for the fd in every process and name the topmost
 * holder (a helper the owner forked shares the fd). O(processes x fds),
 * only on refusal.
 */
static pid_t cg_lock_holder(dev_t dev, ino_t ino, bool *exclusive)
{
	pid_t pid = cg_locks_pid(dev, ino, exclusive), best = 0;
	DIR *d;
	struct dirent *e;

	if (pid > 0 && pid != getpid() && cg_pid_holds(pid, dev, ino))
		return pid;
	if (!(d = opendir("/proc")))
		return 0;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = (pid_t)strtol(e->d_name, NULL, 10);
		if (pid == getpid() || !cg_pid_holds(pid, dev, ino))
			continue;
		pid_t parent = cg_ppid(pid);
		if (!best || !(parent > 0 && cg_pid_holds(parent, dev, ino)))
			best = pid;
	}
	closedir(d);
	return best;
}

/* An fd handed over by the previous image for this very directory, or -1. */
static int cg_take_inherited(struct cgroup_host *host, const struct stat *st)
{
	for (size_t i = 0; i < host->ninherited; i++) {
		struct stat ist;
		int fd = host->inherited[i];
		if (fd < 0 || fstat(fd, &ist) < 0 || ist.st_dev != st->st_dev ||
		    ist.st_ino != st->st_ino)
			continue;
		host->inherited[i] = -1;
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		return fd;
	}
	return -1;
}

/*
 * Lock one directory: -ENOENT when it does not exist, -EBUSY with the
 * conflict filled, else the fd (ours to keep).
 */
static int cg_lock_dir(struct cgroup_host *host, const char *path, int op,
		       struct cgroup_lock_conflict *c)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), old, r;

	if (fd < 0)
		return -errno;
	/* The same open file description as before the exec: flock on it again is ours. */
	if (fstat(fd, &st) == 0 && (old = cg_take_inherited(host, &st)) >= 0) {
		close(fd);
		fd = old;
	}
	if (flock(fd, op | LOCK_NB) == 0)
		return fd;
	r = errno == EWOULDBLOCK ? -EBUSY : -errno;
	if (r == -EBUSY) {
		bool exclusive = false;
		c->pid = fstat(fd, &st) == 0 ? cg_lock_holder(st.st_dev, st.st_ino, &exclusive) : 0;
		snprintf(c->path, sizeof(c->path), "%s", path);
		/* Our root is held: by its owner (exclusive) or by owners below it. */
		c->kind = op == LOCK_SH ? CGROUP_LOCK_INSIDE
			  : exclusive	? CGROUP_LOCK_SAME
					: CGROUP_LOCK_CONTAINS;
	}
	close(fd);
	return r;
}

/*
 * LOCK_SH on every directory from the mount down to the root's parent,
 * going on after those locked already. With stop_missing, stops without
 * error at the first that does not exist yet.
 */
static int cg_lock_above(struct cgroup_host *host, struct cg_hier *h, bool stop_missing,
			 struct cgroup_lock_conflict *c)
{
	char path[CG_PATH_MAX];
	size_t o = (size_t)snprintf(path, sizeof(path), "%s", h->mount), k = 0;
	const char *p = h->root_rel;

	for (;;) {
		size_t n;
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			return 0; /* path is the root itself (or the root is the mount) */
		if (k++ >= h->nabove) {
			int fd;
			if (h->nabove >= CG_MAX_ABOVE)
				return -ELOOP;
			fd = cg_lock_dir(host, path, LOCK_SH, c);
			if (fd == -ENOENT && stop_missing)
				return 0;
			if (fd < 0)
				return fd;
			h->above_fd[h->nabove++] = fd;
		}
		if (p[n] == '\0')
			return 0; /* path is the root's parent: done */
		if (o + 1 + n >= sizeof(path))
			return -ENAMETOOLONG;
		path[o++] = '/';
		memcpy(path + o, p, n);
		path[o += n] = '\0';
		p += n;
	}
}

static void cg_hier_unlock(struct cg_hier *h)
{
	if (h->lock_fd >= 0)
		close(h->lock_fd);
	h->lock_fd = -1;
	for (size_t i = 0; i < h->nabove; i++)
		close(h->above_fd[i]);
	h->nabove = 0;
}

void cg_host_unlock(struct cgroup_host *host)
{
	for (size_t i = 0; i < host->nhier; i++)
		cg_hier_unlock(&host->hier[i]);
	for (size_t i = 0; i < host->ninherited; i++)
		if (host->inherited[i] >= 0)
			close(host->inherited[i]);
	host->ninherited = 0;
}

/*
 * One phase of locking h (see cgroup_host_lock): 0, -EBUSY with c filled,
 * -errno. On failure h holds nothing.
 */
static int cg_hier_lock(struct cgroup_host *host, struct cg_hier *h, int phase,
			struct cgroup_lock_conflict *c)
{
	struct stat st;
	int fd, r = 0;

	if (h->lock_fd >= 0)
		return 0;
	if (phase == 0 && stat(h->root, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (phase == 1)
		r = cg_lock_above(host, h, true, c);
	else if (phase == 2)
		r = cg_hier_levels(h);
	if (r < 0 || phase == 1) {
		if (r < 0)
			cg_hier_unlock(h);
		return r;
	}
	r = cg_lock_above(host, h, false, c);
	fd = r < 0 ? r : cg_lock_dir(host, h->root, LOCK_EX, c);
	if (fd < 0) {
		cg_hier_unlock(h);
		return fd;
	}
	h->lock_fd = fd;
	return 0;
}

int cgroup_host_lock(struct cgroup_host *host, struct cgroup_lock_conflict *c)
{
	struct cgroup_lock_conflict dummy;

	if (!c)
		c = &dummy;
	memset(c, 0, sizeof(*c));
	/*
	 * Three phases, so that a refusal has created nothing: the roots that
	 * exist, with everything above them; for the missing ones, what
	 * exists above them; then the missing ones made and locked. A new
	 * directory is nobody's root, so the last phase only meets a
	 * competitor when two daemons start at the same moment.
	 */
	for (int phase = 0; phase <= 2; phase++) {
		for (size_t i = 0; i < host->nhier; i++) {
			struct cg_hier *h = &host->hier[i];
			int r = cg_hier_lock(host, h, phase, c);
			if (r < 0) {
				c->root = h->root;
				if (r == -EBUSY)
					/* Whatever we made there is the winner's now. */
					for (size_t l = 0; l < h->nlevels; l++)
						h->levels[l].created = false;
				cg_host_unlock(host);
				return r;
			}
		}
	}
	/* Handed over but no longer ours to hold (the root moved): let go. */
	for (size_t i = 0; i < host->ninherited; i++)
		if (host->inherited[i] >= 0)
			close(host->inherited[i]);
	host->ninherited = 0;
	return 0;
}

size_t cgroup_host_lock_fds(const struct cgroup_host *host, int *fds, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < host->nhier; i++) {
		const struct cg_hier *h = &host->hier[i];
		if (h->lock_fd >= 0 && n < max)
			fds[n++] = h->lock_fd;
		for (size_t k = 0; k < h->nabove && n < max; k++)
			fds[n++] = h->above_fd[k];
	}
	return n;
}

void cgroup_host_inherit_locks(struct cgroup_host *host, const int *fds, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct stat st;
		if (fds[k] < 0 || fstat(fds[k], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (host->ninherited < ARRAY_SIZE(host->inherited))
			host->inherited[host->ninherited++] = fds[k];
		else
			close(fds[k]);
	}
}
