/*
 * userns.c - user namespace maps and idmapped roots; see userns.h.
 */
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "clone.h"
#include "userns.h"
#include "util.h"

/* One message: the error (code 0: none), with fd attached when fd >= 0. */
static int send_msg(int sock, const struct error *err, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = { 0 };
	struct iovec iov = { .iov_base = (void *)err, .iov_len = sizeof(*err) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int write_map(struct error *err, pid_t pid, const char *file, uint32_t host, uint32_t count)
{
	char path[64], line[64];
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	n = snprintf(line, sizeof(line), "0 %u %u\n", host, count);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return error_set(err, errno, "user namespace: open %s", path);
	if (write(fd, line, (size_t)n) != n) {
		int e = errno;
		close(fd);
		return error_set(err, e, "user namespace: write %s", path);
	}
	close(fd);
	return 0;
}

/* A detached clone of path (cwd-relative), idmapped through nsfd. */
static int idmapped_clone(struct error *err, const char *path, int nsfd)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)nsfd };
	int t = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (t < 0)
		return error_set(err, errno, "user namespace: open_tree %s", path);
	if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		int e = errno;
		close(t);
		return error_set(
		    err, e,
		    "user namespace: the kernel refuses an idmapped mount of %s (needs "
		    "Linux 5.12 and a filesystem that supports them)",
		    path);
	}
	return t;
}

/*
 * The helper, in its own mount namespace: returns the root mount fd to send
 * or -errno with err filled. Only syscalls and snprintf: it is a fork of a
 * daemon that may have threads.
 */
static int helper_build(const char *rootfs, const char *overlay, const char *overlay_dir, int nsfd,
			struct error *err)
{
	int t;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return error_set(err, errno, "user namespace: make helper mounts private");
	if (!overlay) {
		return idmapped_clone(err, rootfs, nsfd);
	}
	if (chdir(overlay_dir) < 0)
		return error_set(err, errno, "user namespace: chdir %s", overlay_dir);
	/* lowerdir=a:b:c[,upperdir=..,workdir=..]: names relative to overlay_dir. */
	const char *p = overlay;
	if (strncmp(p, "lowerdir=", 9) != 0)
		return error_set(err, EINVAL, "user namespace: unexpected overlay options");
	p += 9;
	const char *end = p + strcspn(p, ",");
	while (p < end) {
		char name[256];
		size_t len = strcspn(p, ":,");
		bool dup = false;

		if (len == 0 || len >= sizeof(name))
			return error_set(err, EINVAL,
					 "user namespace: odd layer name in overlay options");
		memcpy(name, p, len);
		name[len] = '\0';
		/* The same directory twice (empty): idmapped once, seen idmapped after. */
		for (const char *q = overlay + 9; q < p; q += strcspn(q, ":,") + 1)
			if (strcspn(q, ":,") == len && memcmp(q, name, len) == 0)
				dup = true;
		p += len + (p[len] == ':');
		if (dup)
			continue;
		if ((t = idmapped_clone(err, name, nsfd)) < 0)
			return t;
		/* T_SYMLINKS: the short names are symlinks to the layer directories. */
		if (syscall(SYS_move_mount, t, "", AT_FDCWD, name,
			    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0) {
			int e = errno;
			close(t);
			return error_set(err, e, "user namespace: attach idmapped layer %s", name);
		}
		close(t);
	}
	if (mount("overlay", rootfs, "overlay", MS_NOSUID | MS_NODEV, overlay) < 0)
		return error_set(
		    err, errno,
		    "user namespace: mount overlay over idmapped layers on %s (the kernel "
		    "needs overlayfs with idmapped lower layers, Linux 5.19)",
		    rootfs);
	if ((t = (int)syscall(SYS_open_tree, AT_FDCWD, rootfs,
			      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)) < 0)
		return error_set(err, errno, "user namespace: open_tree %s", rootfs);
	return t;
}

int userns_prepare(pid_t pid, int sock, uint32_t host, uint32_t count, const char *rootfs,
		   const char *overlay, const char *overlay_dir)
{
	struct error err = { 0 };
	char path[64];
	int nsfd = -1, pidfd = -1, r;

	if (write_map(&err, pid, "uid_map", host, count) < 0 ||
	    write_map(&err, pid, "gid_map", host, count) < 0)
		return send_msg(sock, &err, -1);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if ((nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		(void)error_set(&err, errno, "user namespace: open %s", path);
		return send_msg(sock, &err, -1);
	}
	if (!rootfs) {
		/* No root of our own (refused by the parser; kept for safety). */
		close(nsfd);
		return send_msg(sock, &err, -1);
	}

	/* exit_signal 0: no SIGCHLD, invisible to the daemon's waitpid(-1). */
	pid_t h = launch_clone(CLONE_NEWNS, 0, -1, &pidfd);
	if (h < 0) {
		r = h;
		close(nsfd);
		(void)error_set(&err, -r, "user namespace: start mount helper");
		return send_msg(sock, &err, -1);
	}
	if (h == 0) {
		int m = helper_build(rootfs, overlay, overlay_dir, nsfd, &err);
		_exit(send_msg(sock, &err, m) < 0 ? 1 : 0);
	}
	close(nsfd);
	siginfo_t si;
	while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
		;
	close(pidfd);
	return 0;
}

int userns_receive(int sock, struct error *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = err, .iov_len = sizeof(*err) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	int fd = -1;

	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(*err)) {
		int e = n < 0 ? errno : EIO;
		return error_set(err, e, "user namespace: no mapping from paddockd");
	}
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (err->code) {
		if (fd >= 0)
			close(fd);
		return -err->code;
	}
	return fd;
}
