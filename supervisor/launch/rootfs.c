/*
 * rootfs.c - the service's filesystem view, set up in the child inside
 * its new mount namespace. Order: make everything private, bind the root
 * onto itself, mount /proc, /dev, /sys and the spec's mounts beneath it,
 * then pivot_root and detach the old root. Without a root directory the
 * host filesystem stays, in a private namespace, with a fresh /proc.
 *
 * Runs after clone3 and before exec: fixed buffers only.
 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "rootfs.h"
#include "secrets.h"
#include "util.h"

/* buf = a + b, PATH_MAX-bounded; a path that does not fit is an error, never truncated. */
static int join(struct error *err, char *buf, const char *a, const char *b)
{
	int n = snprintf(buf, PATH_MAX, "%s%s", a, b);
	if (n < 0 || n >= PATH_MAX)
		return error_set(err, ENAMETOOLONG, "path %.100s%.100s", a, b);
	return 0;
}

static int do_mount(struct error *err, const char *src, const char *target, const char *type,
		    unsigned long flags, const char *data)
{
	if (mount(src, target, type, flags, data) < 0)
		return error_set(err, errno, "mount %s on %s",
				 type  ? type
				 : src ? src
				       : "(none)",
				 target);
	return 0;
}

/* mkdir -p (fixed buffer), for the spec's mounts when the service keeps the host fs. */
static int make_dirs(struct error *err, const char *path, mode_t mode)
{
	int r = mkdir_p(path, mode);
	return r < 0 ? error_set(err, -r, "mkdir %s", path) : 0;
}

static int make_file(struct error *err, const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno != EEXIST)
		return error_set(err, errno, "create %s", path);
	if (fd >= 0)
		close(fd);
	return 0;
}

/* O_PATH fd of rel beneath dirfd, through no symlink; -1 and errno on failure. */
static int openat_beneath(int dirfd, const char *rel, bool dir)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC | (dir ? O_DIRECTORY : 0),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

/*
 * The walk for a target that is (partly) missing: one component of path
 * (no leading or trailing '/') at a time beneath rootfd, creating what is
 * absent (directories, or an empty file as the last component when dir is
 * false). An O_PATH fd of the target, or -1 and errno.
 */
static int create_beneath(int rootfd, char *path, bool dir)
{
	int cur = rootfd;

	for (char *comp = path, *next; comp; comp = next) {
		while (*comp == '/')
			comp++;
		if ((next = strchr(comp, '/')))
			*next++ = '\0';
		bool last = !next;
		if (!last || dir) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
				goto bad;
		} else {
			int f =
			    openat(cur, comp, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (f < 0 && errno != EISDIR)
				goto bad;
			if (f >= 0)
				close(f);
		}
		int n = openat_beneath(cur, comp, !last || dir);
		if (n < 0)
			goto bad;
		if (cur != rootfd)
			close(cur);
		cur = n;
		continue;
	bad:;
		int e = errno;
		if (cur != rootfd)
			close(cur);
		errno = e;
		return -1;
	}
	return cur;
}

/*
 * The root's own file tree is the image's: any part of a mount target in
 * it may be a symlink planted to send a mount onto the host (CVE-2019-16884,
 * CVE-2021-30465 class). Open rel beneath rootfd with openat2(RESOLVE_BENEATH
 * | RESOLVE_NO_SYMLINKS): one call when it exists (an image's /proc, /dev,
 * /sys), else a walk that creates what is missing. Returns an O_PATH fd of
 * the target; the caller mounts through fdpath (/proc/self/fd/N), so
 * nothing can be swapped in between.
 */
static int open_beneath(struct error *err, int rootfd, const char *rel, bool dir, char *fdpath)
{
	char buf[PATH_MAX];
	int fd, len = snprintf(buf, sizeof(buf), "%s", rel + strspn(rel, "/"));

	if (len < 0 || len >= (int)sizeof(buf))
		return error_set(err, ENAMETOOLONG, "mount target %.100s", rel);
	while (len > 0 && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (len == 0)
		return error_set(err, EINVAL, "mount target %s: the root itself", rel);
	fd = openat_beneath(rootfd, buf, dir);
	if (fd < 0 && errno == ENOENT)
		fd = create_beneath(rootfd, buf, dir);
	if (fd < 0) {
		if (errno == ELOOP)
			return error_set(
			    err, errno,
			    "mount target %s: the image has a symlink there; refusing to mount "
			    "through it",
			    rel);
		return error_set(err, errno, "mount target %s", rel);
	}
	snprintf(fdpath, 64, "/proc/self/fd/%d", fd);
	return fd;
}

/* Mount onto rel beneath the root, never through a symlink. */
static int mount_beneath(struct error *err, int rootfd, const char *rel, bool dir, const char *src,
			 const char *type, unsigned long flags, const char *data)
{
	char fdpath[64];
	int fd = open_beneath(err, rootfd, rel, dir, fdpath), r;

	if (fd < 0)
		return fd;
	r = mount(src, fdpath, type, flags, data) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return error_set(err, -r, "mount %s on %s",
				 type  ? type
				 : src ? src
				       : "(none)",
				 rel);
	return 0;
}

/*
 * The root of the filesystem just mounted on rel beneath rootfd (the fd
 * the mount went through names what lies under it). Reached by name once
 * more, so checked to be a mount root: neither the image nor anyone on
 * the host can make one there, so it is the mount this process just made,
 * and names beneath it are its own (or the kernel's) alone.
 */
static int open_mounted(struct error *err, int rootfd, const char *rel)
{
	struct statx stx;
	int fd = openat_beneath(rootfd, rel, true);

	if (fd < 0)
		return error_set(err, errno, "reopen %s", rel);
	if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &stx) < 0) {
		int e = errno;
		close(fd);
		return error_set(err, e, "stat %s", rel);
	}
	/* Kernels before 5.8 do not say (the mask): then the name is all there is. */
	if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		close(fd);
		return error_set(err, EXDEV, "%s was replaced under its new mount; refusing", rel);
	}
	return fd;
}

/* Mount onto name beneath dirfd, a filesystem of ours; shown is the path for errors. */
static int mount_at(struct error *err, int dirfd, const char *name, const char *shown,
		    const char *src, const char *type, unsigned long flags, const char *data)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", dirfd, name);

	if (n < 0 || n >= (int)sizeof(p))
		return error_set(err, ENAMETOOLONG, "path %.100s", name);
	if (mount(src, p, type, flags, data) < 0)
		return error_set(err, errno, "mount %s on %s",
				 type  ? type
				 : src ? src
				       : "(none)",
				 shown);
	return 0;
}

/* Nodes, directories and links in our /dev tmpfs, by names beneath devfd. */
static int fill_dev(struct error *err, const char *root, int devfd)
{
	static const struct {
		const char *name;
		unsigned maj, min;
	} nodes[] = {
		{ "null", 1, 3 },   { "zero", 1, 5 },	 { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const struct {
		const char *target, *name;
	} links[] = {
		{ "pts/ptmx", "ptmx" },		 { "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" },	 { "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" },
	};
	char p[PATH_MAX], sub[64];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		if (mknodat(devfd, nodes[i].name, S_IFCHR | 0666,
			    makedev(nodes[i].maj, nodes[i].min)) == 0)
			continue;
		/* No mknod (user namespace): bind the host's node instead. */
		char host[64];
		snprintf(host, sizeof(host), "/dev/%s", nodes[i].name);
		if ((r = join(err, p, root, host)) < 0)
			return r;
		int f =
		    openat(devfd, nodes[i].name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0 && errno != EEXIST)
			return error_set(err, errno, "create %s", p);
		if (f >= 0)
			close(f);
		if ((r = mount_at(err, devfd, nodes[i].name, p, host, NULL, MS_BIND, NULL)) < 0)
			return r;
	}
	if ((r = join(err, p, root, "/dev/pts")) < 0)
		return r;
	if (mkdirat(devfd, "pts", 0755) < 0 && errno != EEXIST)
		return error_set(err, errno, "mkdir %s", p);
	if ((r = mount_at(err, devfd, "pts", p, "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
			  "newinstance,ptmxmode=0666,mode=0620")) < 0)
		return r;
	if ((r = join(err, p, root, "/dev/shm")) < 0)
		return r;
	if (mkdirat(devfd, "shm", 01777) < 0 && errno != EEXIST)
		return error_set(err, errno, "mkdir %s", p);
	if ((r = mount_at(err, devfd, "shm", p, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=1777,size=65536k")) < 0)
		return r;
	(void)mkdirat(devfd, "mqueue", 0755);
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		if (symlinkat(links[i].target, devfd, links[i].name) == 0 || errno == EEXIST)
			continue;
		int e = errno;
		snprintf(sub, sizeof(sub), "/dev/%s", links[i].name);
		if ((r = join(err, p, root, sub)) < 0)
			return r;
		return error_set(err, e, "symlink %s", p);
	}
	return 0;
}

/*
 * isolation.devices: each a node like the host's (type, major:minor and
 * mode), made beneath devfd with its parent directories ("net/tun"); in
 * a user namespace, where mknod is refused, the host's node is bound
 * instead, as runc does. The cgroup device policy says what may be opened.
 */
static int add_devices(struct error *err, const char *root, int devfd,
		       const struct service_spec *spec)
{
	char p[PATH_MAX];
	int r;

	for (size_t i = 0; i < spec->ndevices; i++) {
		const char *host = spec->devices[i].path, *name = host + strlen("/dev/");
		char dir[PATH_MAX];
		struct stat st;

		if ((r = join(err, p, root, host)) < 0)
			return r;
		if (stat(host, &st) < 0)
			return error_set(err, errno, "device %s on the host", host);
		if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
			return error_set(err, ENODEV, "device %s on the host is not a device node",
					 host);
		snprintf(dir, sizeof(dir), "%s", name);
		for (char *slash = dir; (slash = strchr(slash, '/')); *slash++ = '/') {
			*slash = '\0';
			if (mkdirat(devfd, dir, 0755) < 0 && errno != EEXIST)
				return error_set(err, errno, "mkdir %s", p);
		}
		if (mknodat(devfd, name, st.st_mode & (S_IFMT | 07777), st.st_rdev) == 0 ||
		    errno == EEXIST)
			continue;
		if (errno != EPERM)
			return error_set(err, errno, "mknod %s", p);
		int f = openat(devfd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0 && errno != EEXIST)
			return error_set(err, errno, "create %s", p);
		if (f >= 0)
			close(f);
		if ((r = mount_at(err, devfd, name, p, host, NULL, MS_BIND, NULL)) < 0)
			return r;
	}
	return 0;
}

/*
 * Our own tmpfs on /dev: whatever the image planted in its /dev (a
 * /dev/null symlink to a host file) is never seen. Returns an O_PATH fd
 * of it, through which the rest is built: one mkdirat, mknodat or
 * symlinkat per entry, no path walk from /.
 */
static int setup_dev(struct error *err, const char *root, int rootfd,
		     const struct service_spec *spec)
{
	int devfd, r;

	if ((r = mount_beneath(err, rootfd, "dev", true, "tmpfs", "tmpfs",
			       MS_NOSUID | MS_NOEXEC | MS_STRICTATIME, "mode=755,size=65536k")) < 0)
		return r;
	if ((devfd = open_mounted(err, rootfd, "dev")) < 0)
		return devfd;
	/* Modes exactly as given without a chmod after each mknod; the
	 * service gets the umask paddockd had. */
	mode_t umask_was = umask(0);
	r = fill_dev(err, root, devfd);
	if (r >= 0)
		r = add_devices(err, root, devfd, spec);
	umask(umask_was);
	if (r < 0) {
		close(devfd);
		return r;
	}
	return devfd;
}

static int setup_spec_mounts(struct error *err, const struct service_spec *spec, const char *root,
			     int rootfd)
{
	char target[PATH_MAX];
	int r;

	for (size_t i = 0; i < spec->isolation.nmounts; i++) {
		const struct spec_mount *m = &spec->isolation.mounts[i];
		unsigned long ro = m->readonly ? MS_RDONLY : 0;

		if ((r = join(err, target, root ? root : "", m->target)) < 0)
			return r;
		if (m->type == MOUNT_TMPFS) {
			char opts[64] = "mode=1777";
			if (m->size != SPEC_UNSET)
				snprintf(opts, sizeof(opts), "mode=1777,size=%llu",
					 (unsigned long long)m->size);
			if (rootfd >= 0) {
				if ((r = mount_beneath(err, rootfd, m->target, true, "tmpfs",
						       "tmpfs", MS_NOSUID | MS_NODEV | ro, opts)) <
				    0)
					return r;
				continue;
			}
			if ((r = make_dirs(err, target, 0755)) < 0 ||
			    (r = do_mount(err, "tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | ro,
					  opts)) < 0)
				return r;
			continue;
		}
		struct stat st;
		if (stat(m->source, &st) < 0)
			return error_set(err, errno, "bind source %s", m->source);
		if (rootfd >= 0) {
			/* Bind through an fd: a target swapped for a symlink mid-way
			 * (a racer in the image) can no longer redirect it. */
			char fdpath[64];
			int fd = open_beneath(err, rootfd, m->target, S_ISDIR(st.st_mode), fdpath);
			if (fd < 0)
				return fd;
			r = mount(m->source, fdpath, NULL, MS_BIND | MS_REC, NULL) < 0 ? -errno : 0;
			close(fd);
			if (r < 0)
				return error_set(err, -r, "bind %s on %s", m->source, m->target);
			if (!ro)
				continue;
			/* The old fd names what lies under the new mount: reopen to reach it. */
			if ((fd = open_beneath(err, rootfd, m->target, S_ISDIR(st.st_mode),
					       fdpath)) < 0)
				return fd;
			r = mount(NULL, fdpath, NULL,
				  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0
				? -errno
				: 0;
			close(fd);
			if (r < 0)
				return error_set(err, -r, "remount %s read-only", m->target);
			continue;
		}
		if (S_ISDIR(st.st_mode))
			r = make_dirs(err, target, 0755);
		else {
			char parent[PATH_MAX];
			snprintf(parent, sizeof(parent), "%s", target);
			char *slash = strrchr(parent, '/');
			if (slash && slash != parent) {
				*slash = '\0';
				if ((r = make_dirs(err, parent, 0755)) < 0)
					return r;
			}
			r = make_file(err, target);
		}
		if (r < 0 ||
		    (r = do_mount(err, m->source, target, NULL, MS_BIND | MS_REC, NULL)) < 0)
			return r;
		if (ro && (r = do_mount(err, NULL, target, NULL,
					MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
					NULL)) < 0)
			return r;
	}
	return 0;
}

/*
 * A bridge network's resolv.conf and hosts (netdir, written by paddockd)
 * bound read-only over /etc's. An image's own /etc/resolv.conf is often a
 * symlink (to a resolved stub): that link is removed first, in the
 * root's writable layer, never followed.
 */
static int bind_net_files(struct error *err, int rootfd, const char *netdir)
{
	static const char *const names[] = { "resolv.conf", "hosts" };
	char src[PATH_MAX], fdpath[64];
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(names) && r >= 0; i++) {
		char rel[32];
		snprintf(src, sizeof(src), "%s/%s", netdir, names[i]);
		snprintf(rel, sizeof(rel), "etc/%s", names[i]);
		if (rootfd < 0) {
			/* The host's files, in this private mount namespace only. */
			snprintf(rel, sizeof(rel), "/etc/%s", names[i]);
			if ((r = do_mount(err, src, rel, NULL, MS_BIND, NULL)) >= 0)
				r = do_mount(
				    err, NULL, rel, NULL,
				    MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
			continue;
		}
		int etc = open_beneath(err, rootfd, "etc", true, fdpath);
		if (etc < 0)
			return etc;
		struct stat st;
		if (fstatat(etc, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
		    unlinkat(etc, names[i], 0) < 0)
			r = error_set(err, errno, "remove the image's symlink /%s", rel);
		close(etc);
		int fd = r < 0 ? -1 : open_beneath(err, rootfd, rel, false, fdpath);
		if (fd < 0)
			return r < 0 ? r : fd;
		r = mount(src, fdpath, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
		close(fd);
		if (r < 0)
			return error_set(err, -r, "bind %s on /%s", src, rel);
		if ((fd = open_beneath(err, rootfd, rel, false, fdpath)) < 0)
			return fd;
		r = mount(NULL, fdpath, NULL,
			  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0
			? error_set(err, errno, "remount /%s read-only", rel)
			: 0;
		close(fd);
	}
	return r;
}

/* All of buf to fd; -1 and errno on failure. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One value as name beneath dirfd, with its owner and mode. */
static int write_secret(struct error *err, int dirfd, const char *name,
			const struct launch_secret *s)
{
	int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return error_set(err, errno, "secret '%s': create %s", s->label, s->target);
	if (write_all(fd, s->data, s->len) < 0 || fchown(fd, s->uid, s->gid) < 0 ||
	    fchmod(fd, s->mode) < 0) {
		int e = errno;
		close(fd);
		return error_set(err, e, "secret '%s': write %s", s->label, s->target);
	}
	close(fd);
	return 0;
}

/*
 * The tmpfs's mountpoint: SPEC_SECRETS_DIR_INSIDE beneath the root,
 * created when missing. A read-only root without one gets a small tmpfs
 * on its /run first (what the image has there is hidden then; with no
 * /run at all nothing can be created and the start fails). On the
 * host fs (rootfd < 0) the directory is made on the host if missing: an
 * empty mountpoint, the values stay in this namespace's tmpfs.
 */
static int secrets_mountpoint(struct error *err, int rootfd, char *fdpath)
{
	const char *rel = SPEC_SECRETS_DIR_INSIDE + 1;
	int fd, r;

	if (rootfd < 0) {
		if ((r = make_dirs(err, SPEC_SECRETS_DIR_INSIDE, 0755)) < 0)
			return r;
		fd = open(SPEC_SECRETS_DIR_INSIDE, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return error_set(err, errno, "open %s", SPEC_SECRETS_DIR_INSIDE);
		snprintf(fdpath, 64, "/proc/self/fd/%d", fd);
		return fd;
	}
	fd = openat_beneath(rootfd, rel, true);
	if (fd < 0 && errno == ENOENT) {
		char buf[sizeof(SPEC_SECRETS_DIR_INSIDE)];
		memcpy(buf, rel, sizeof(SPEC_SECRETS_DIR_INSIDE) - 1);
		fd = create_beneath(rootfd, buf, true);
		if (fd < 0 && errno == EROFS) {
			fd = openat_beneath(rootfd, "run", true);
			if (fd < 0)
				return error_set(
				    err, EROFS,
				    "secrets: the read-only root has no /run to hold "
				    "%s (add /run to the image, or drop readonly_rootfs)",
				    SPEC_SECRETS_DIR_INSIDE);
			close(fd);
			fd = -1;
			if ((r = mount_beneath(err, rootfd, "run", true, "tmpfs", "tmpfs",
					       MS_NOSUID | MS_NODEV, "mode=755,size=65536k")) < 0)
				return r;
		}
		if (fd < 0)
			return open_beneath(err, rootfd, rel, true, fdpath);
	}
	if (fd < 0)
		return error_set(err, errno, "secrets: mount target %s%s", SPEC_SECRETS_DIR_INSIDE,
				 errno == ELOOP ? ": the image has a symlink there" : "");
	snprintf(fdpath, 64, "/proc/self/fd/%d", fd);
	return fd;
}

/* s's value, written as tmp beneath secfd, bound onto its target outside the directory. */
static int bind_secret(struct error *err, int rootfd, int secfd, const char *tmp,
		       const struct launch_secret *s)
{
	char src[PATH_MAX], fdpath[64], parent[PATH_MAX];
	const char *target = s->target; /* on the host fs (in the tmpfs); else through fdpath */
	int fd = -1, r;

	snprintf(src, sizeof(src), "/proc/self/fd/%d/%s", secfd, tmp);
	if ((r = write_secret(err, secfd, tmp, s)) < 0)
		return r;
	if (rootfd >= 0) {
		if ((fd = open_beneath(err, rootfd, s->target, false, fdpath)) < 0)
			return error_prefix(err, "secret '%s': ", s->label);
		target = fdpath;
	} else {
		size_t n = strlen(SPEC_SECRETS_DIR_INSIDE);
		/*
		 * The host's own tree: nothing made outside the fresh tmpfs on the
		 * secrets directory, where a path the service can write could be
		 * turned into a symlink to anywhere (the parser refuses it too).
		 */
		if (strncmp(s->target, SPEC_SECRETS_DIR_INSIDE, n) != 0 || s->target[n] != '/')
			return error_set(
			    err, EINVAL,
			    "secret '%s': target %s: a service on the host's own files "
			    "takes secrets in " SPEC_SECRETS_DIR_INSIDE " only",
			    s->label, s->target);
		snprintf(parent, sizeof(parent), "%s", s->target);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			if ((r = make_dirs(err, parent, 0755)) < 0)
				return r;
		}
		if ((r = make_file(err, s->target)) < 0)
			return r;
	}
	r = mount(src, target, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return error_set(err, -r, "secret '%s': bind onto %s", s->label, s->target);
	/* Through the new mount: the first fd named what it covers. */
	if (rootfd >= 0 && (fd = open_beneath(err, rootfd, s->target, false, fdpath)) < 0)
		return error_prefix(err, "secret '%s': ", s->label);
	if (mount(NULL, target, NULL,
		  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		r = error_set(err, errno, "secret '%s': remount %s read-only", s->label, s->target);
	if (fd >= 0)
		close(fd);
	/* The mount holds the file: its name in the directory can go. */
	if (r == 0 && unlinkat(secfd, tmp, 0) < 0)
		r = error_set(err, errno, "secret '%s': unlink its temporary name", s->label);
	return r;
}

/*
 * The secrets: a fresh tmpfs on SPEC_SECRETS_DIR_INSIDE in this mount
 * namespace, a file per secret (its target's name when the target sits
 * right in the directory, else bound onto the target), then the whole
 * filesystem remounted read-only. Created as the namespace's root, so a
 * user namespace's ids are the ones written.
 */
static int setup_secrets(struct error *err, int rootfd, const struct launch_secrets *secrets)
{
	const size_t dirlen = sizeof(SPEC_SECRETS_DIR_INSIDE) - 1;
	char fdpath[64], opts[96];
	int fd, secfd, r = 0;

	if ((fd = secrets_mountpoint(err, rootfd, fdpath)) < 0)
		return fd;
	/* Room for the values and little else; read-only once they are in. */
	snprintf(opts, sizeof(opts), "mode=755,size=%zu", secrets->pages + 65536);
	r = mount("tmpfs", fdpath, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0 ? -errno
											: 0;
	close(fd);
	if (r < 0)
		return error_set(err, -r, "mount tmpfs on %s", SPEC_SECRETS_DIR_INSIDE);
	if (rootfd >= 0)
		secfd = open_mounted(err, rootfd, SPEC_SECRETS_DIR_INSIDE + 1);
	else if ((secfd = open(SPEC_SECRETS_DIR_INSIDE, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		secfd = error_set(err, errno, "open %s", SPEC_SECRETS_DIR_INSIDE);
	if (secfd < 0)
		return secfd;
	/* Modes exactly as given. */
	mode_t umask_was = umask(0);
	for (size_t i = 0; i < secrets->n && r >= 0; i++) {
		const struct launch_secret *s = &secrets->v[i];
		const char *name = s->target + dirlen + 1;
		if (strncmp(s->target, SPEC_SECRETS_DIR_INSIDE "/", dirlen + 1) == 0 && *name &&
		    !strchr(name, '/')) {
			r = write_secret(err, secfd, name, s);
		} else {
			char tmp[32];
			snprintf(tmp, sizeof(tmp), ".bind-%zu", i);
			r = bind_secret(err, rootfd, secfd, tmp, s);
		}
	}
	umask(umask_was);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", secfd);
	/*
	 * The mount read-only, not the superblock: a value bound elsewhere
	 * is an unlinked file the filesystem still holds (EBUSY), and every
	 * mount of it is read-only now.
	 */
	if (r >= 0 &&
	    mount(NULL, fdpath, NULL,
		  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		r = error_set(err, errno, "remount %s read-only", SPEC_SECRETS_DIR_INSIDE);
	close(secfd);
	return r;
}

/*
 * Hide kernel interfaces a service has no business reading (docker's
 * masked paths) and make the writable kernel knobs read-only.
 */
static const char *const masked_paths[] = {
	"/proc/acpi",
	"/proc/asound",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* buf = /proc/self/fd/N/rest for /proc/rest or /sys/rest, N the fd of that root. */
static void kernel_path(char *buf, size_t size, int procfd, int sysfd, const char *path)
{
	bool proc = strncmp(path, "/proc/", 6) == 0;
	snprintf(buf, size, "/proc/self/fd/%d/%s", proc ? procfd : sysfd, path + (proc ? 6 : 5));
}

/*
 * As runc and crun do: try the mount, an absent path (ENOENT) is nothing
 * to hide, a directory refuses the bind of a file (ENOTDIR) and gets an
 * empty read-only tmpfs instead. One or two syscalls a path, no open, stat
 * and close first. Safe by path here: procfd and sysfd are roots of the
 * procfs and sysfs just mounted (open_mounted checked), whose names are
 * the kernel's; nothing can plant a symlink or swap a directory below
 * them. /dev/null is our own node, in our own tmpfs.
 */
static int mask_paths(struct error *err, int procfd, int sysfd, int devfd)
{
	char null[64], p[128];

	snprintf(null, sizeof(null), "/proc/self/fd/%d/null", devfd);
	for (size_t i = 0; i < ARRAY_SIZE(masked_paths); i++) {
		kernel_path(p, sizeof(p), procfd, sysfd, masked_paths[i]);
		if (mount(null, p, NULL, MS_BIND, NULL) == 0 || errno == ENOENT)
			continue;
		if (errno == ENOTDIR &&
		    mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=0555") == 0)
			continue;
		return error_set(err, errno, "mask %s", masked_paths[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(readonly_paths); i++) {
		kernel_path(p, sizeof(p), procfd, sysfd, readonly_paths[i]);
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return error_set(err, errno, "bind %s", readonly_paths[i]);
		}
		/* The path now reaches the new bind mount. */
		if (mount(NULL, p, NULL,
			  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) < 0)
			return error_set(err, errno, "make %s read-only", readonly_paths[i]);
	}
	return 0;
}

/*
 * A fresh read-only sysfs on /sys or, where sysfs refuses (no new network
 * namespace), the host's bound read-only. Returns an fd of its root.
 */
static int setup_sys(struct error *err, int rootfd)
{
	char fdpath[64];
	int fd = open_beneath(err, rootfd, "sys", true, fdpath), sysfd, r;

	if (fd < 0)
		return fd;
	if (mount("sysfs", fdpath, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) ==
	    0) {
		close(fd);
		return open_mounted(err, rootfd, "sys");
	}
	r = do_mount(err, "/sys", fdpath, NULL, MS_BIND | MS_REC, NULL);
	close(fd);
	if (r < 0 || (sysfd = open_mounted(err, rootfd, "sys")) < 0)
		return r < 0 ? r : sysfd;
	/* Through the new mount's root: fdpath named what it covers. */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", sysfd);
	if (mount(NULL, fdpath, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
		r = error_set(err, errno, "remount sys read-only");
		close(sysfd);
		return r;
	}
	return sysfd;
}

/*
 * The daemon's notify socket directory, read-only at /dev/paddock: our own
 * tmpfs, so this works for images, plain rootfs directories and read-only
 * roots alike and leaves nothing behind in the service's files (/dev/log
 * is a socket in /dev too). The directory, not the socket, so a daemon
 * that restarts and binds a new socket there is still reached. Made by
 * name beneath devfd: nothing but this process writes in that tmpfs.
 */
static int bind_notify(struct error *err, int devfd, const char *notify_dir)
{
	char p[64];
	int r;

	if (mkdirat(devfd, "paddock", 0755) < 0 && errno != EEXIST)
		return error_set(err, errno, "mount target dev/paddock");
	if ((r = mount_at(err, devfd, "paddock", "dev/paddock", notify_dir, NULL, MS_BIND, NULL)) <
	    0)
		return r;
	/* The path reaches the new bind mount (an fd would name what it covers). */
	snprintf(p, sizeof(p), "/proc/self/fd/%d/paddock", devfd);
	if (mount(NULL, p, NULL,
		  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return error_set(err, errno, "remount dev/paddock read-only");
	return 0;
}

int rootfs_setup(const struct service_spec *spec, const char *root, const char *overlay,
		 const char *overlay_dir, const char *notify_dir, const char *netdir, int rootmnt,
		 const struct launch_secrets *secrets, struct error *err)
{
	bool newpid = spec->isolation.namespaces & SPEC_NS_PID;
	int r;

	if ((r = do_mount(err, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) < 0)
		return r;

	if (!root) {
		/* Host filesystem: a private view with our own /proc and mounts. */
		if (newpid && (r = do_mount(err, "proc", "/proc", "proc",
					    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) < 0)
			return r;
		if (netdir && (r = bind_net_files(err, -1, netdir)) < 0)
			return r;
		if ((r = setup_spec_mounts(err, spec, NULL, -1)) < 0)
			return r;
		return secrets && secrets->n ? setup_secrets(err, -1, secrets) : 0;
	}

	if (rootmnt >= 0) {
		/* User namespace: paddockd built the root (idmapped layers under an
		 * overlay, or an idmapped bind of the directory; userns.c). */
		r = syscall(SYS_move_mount, rootmnt, "", AT_FDCWD, root, MOVE_MOUNT_F_EMPTY_PATH) <
			    0
			? error_set(err, errno, "attach the idmapped root on %s", root)
			: 0;
		close(rootmnt);
		if (r < 0)
			return r;
	} else if (overlay) {
		/* An image: its layers, top first, under the service's upper dir. The
		 * lowerdir names are short and relative to overlay_dir (page limit). */
		if (chdir(overlay_dir) < 0)
			return error_set(err, errno, "chdir %s", overlay_dir);
		r = do_mount(err, "overlay", root, "overlay", MS_NOSUID | MS_NODEV, overlay);
		if (r < 0)
			return r;
		if (chdir("/") < 0)
			return error_set(err, errno, "chdir /");
	}
	if ((r = do_mount(err, root, root, NULL, MS_BIND | MS_REC, NULL)) < 0)
		return r;
	/* Every mount into the root goes through this fd, never a path in it. */
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return error_set(err, errno, "open %s", root);
	int procfd = -1, devfd = -1, sysfd = -1;
	r = mount_beneath(err, rootfd, "proc", true, "proc", "proc",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (r >= 0)
		r = procfd = open_mounted(err, rootfd, "proc");
	if (r >= 0)
		r = devfd = setup_dev(err, root, rootfd, spec);
	if (r >= 0 && notify_dir)
		r = bind_notify(err, devfd, notify_dir);
	if (r >= 0)
		r = sysfd = setup_sys(err, rootfd);
	if (r >= 0)
		r = mask_paths(err, procfd, sysfd, devfd);
	if (r >= 0 && netdir)
		r = bind_net_files(err, rootfd, netdir);
	if (r >= 0)
		r = setup_spec_mounts(err, spec, root, rootfd);
	if (r >= 0 && secrets && secrets->n)
		r = setup_secrets(err, rootfd, secrets);
	int fds[] = { procfd, devfd, sysfd, rootfd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (r < 0)
		return r;
	if (spec->isolation.readonly_rootfs &&
	    (r = do_mount(err, NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL)) < 0)
		return r;

	if (chdir(root) < 0)
		return error_set(err, errno, "chdir %s", root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return error_set(err, errno, "pivot_root %s", root);
	if (umount2(".", MNT_DETACH) < 0)
		return error_set(err, errno, "detach old root");
	if (chdir("/") < 0)
		return error_set(err, errno, "chdir /");
	return 0;
}

int rootfs_loopback_up(struct error *err)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return error_set(err, errno, "socket for lo");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)) {
		int e = errno;
		close(fd);
		return error_set(err, e, "bring up lo");
	}
	close(fd);
	return 0;
}
