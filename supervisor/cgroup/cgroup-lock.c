/*
 * cgroup-lock.c - one owner per root. The daemon takes flock(LOCK_EX) on
 * the root directory of every hierarchy it uses (cgroupfs accepts flock on
 * a directory opened O_RDONLY, v1 and v2). Why a lock on the directory
 * rather than a pid file: the kernel drops it the moment the holder dies,
 * so a crashed or kill -9'd owner never needs to be detected as stale,
 * and it names exactly the tree it protects whatever state dir or
 * runtime dir the owner was started with.
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

/* The pid /proc/locks names for an flock on dev:ino (who took it), or 0. */
static pid_t cg_locks_pid(dev_t dev, ino_t ino)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/locks", "re");
	char line[256], want[64];
	pid_t pid = 0;

	if (!f)
		return 0;
	snprintf(want, sizeof(want), "%02x:%02x:%llu", major(dev), minor(dev),
		 (unsigned long long)ino);
	while (!pid && fgets(line, sizeof(line), f)) {
		char type[16], id[64];
		int p;
		/* "1: FLOCK  ADVISORY  WRITE 1234 00:26:277805 0 EOF" */
		if (sscanf(line, "%*s %15s %*s %*s %d %63s", type, &p, id) == 3 &&
		    strcmp(type, "FLOCK") == 0 && strcmp(id, want) == 0 && p > 0)
			pid = p;
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
 * The process holding the lock on dev:ino. The pid in /proc/locks is the
 * one that took it, which is gone when the owner forked into the
 * background; then look for the fd in every process and name the topmost
 * holder (a helper the owner forked shares the fd). O(processes x fds),
 * only on refusal.
 */
static pid_t cg_lock_holder(dev_t dev, ino_t ino)
{
	pid_t pid = cg_locks_pid(dev, ino), best = 0;
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

/* Lock h's root when it exists (or create is set); 0, -EBUSY with *holder, -errno. */
static int cg_hier_lock(struct cg_hier *h, bool create, pid_t *holder)
{
	struct stat st;
	int fd, r;

	if (h->lock_fd >= 0)
		return 0;
	if (create && (r = cg_hier_levels(h)) < 0)
		return r;
	fd = open(h->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT && !create ? 0 : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		h->lock_fd = fd;
		return 0;
	}
	r = errno == EWOULDBLOCK ? -EBUSY : -errno;
	if (r == -EBUSY && fstat(fd, &st) == 0)
		*holder = cg_lock_holder(st.st_dev, st.st_ino);
	close(fd);
	return r;
}

static void cg_unlock_all(struct cgroup_host *host)
{
	for (size_t i = 0; i < host->nhier; i++) {
		if (host->hier[i].lock_fd >= 0)
			close(host->hier[i].lock_fd);
		host->hier[i].lock_fd = -1;
	}
}

int cgroup_host_lock(struct cgroup_host *host, pid_t *holder, const char **path)
{
	pid_t dummy_pid;
	const char *dummy_path;

	if (!holder)
		holder = &dummy_pid;
	if (!path)
		path = &dummy_path;
	*holder = 0;
	*path = NULL;
	/*
	 * Two passes: the roots that exist first, so that a refusal has
	 * created nothing; then the missing ones, made and locked. A root a
	 * live owner uses exists in every hierarchy, so the second pass only
	 * meets a competitor when two daemons start at the same moment.
	 */
	for (int create = 0; create <= 1; create++) {
		for (size_t i = 0; i < host->nhier; i++) {
			struct cg_hier *h = &host->hier[i];
			int r = cg_hier_lock(h, create, holder);
			if (r < 0) {
				*path = h->root;
				if (r == -EBUSY)
					/* Whatever we made there is the winner's now. */
					for (size_t l = 0; l < h->nlevels; l++)
						h->levels[l].created = false;
				cg_unlock_all(host);
				return r;
			}
		}
	}
	return 0;
}

size_t cgroup_host_lock_fds(const struct cgroup_host *host, int *fds, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < host->nhier && n < max; i++)
		if (host->hier[i].lock_fd >= 0)
			fds[n++] = host->hier[i].lock_fd;
	return n;
}

void cgroup_host_inherit_locks(struct cgroup_host *host, const int *fds, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct stat fst, rst;
		bool used = false;
		if (fds[k] < 0 || fstat(fds[k], &fst) < 0)
			continue;
		for (size_t i = 0; i < host->nhier && !used; i++) {
			struct cg_hier *h = &host->hier[i];
			if (h->lock_fd >= 0 || stat(h->root, &rst) < 0 ||
			    rst.st_dev != fst.st_dev || rst.st_ino != fst.st_ino)
				continue;
			/* Same open file description: flock on it again is ours. */
			if (flock(fds[k], LOCK_EX | LOCK_NB) == 0) {
				(void)fcntl(fds[k], F_SETFD, FD_CLOEXEC);
				h->lock_fd = fds[k];
				used = true;
			}
		}
		if (!used)
			close(fds[k]);
	}
}
