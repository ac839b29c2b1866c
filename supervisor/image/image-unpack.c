/*
 * image-unpack.c - unpack one layer blob into a directory, verified and
 * confined.
 *
 * libarchive only reads. A first reader ("dec": raw format behind the
 * gzip or zstd filter) decompresses the blob while its read callback
 * hashes the compressed bytes (the blob digest); a second reader ("tar":
 * tar format, no filter) parses the first one's output while its read
 * callback hashes the uncompressed stream (the diff_id) and counts it
 * against the layer size cap. One decompression pass, constant memory.
 * After the tar ends, both streams are drained to their ends so the
 * digests cover every byte, and data left after the compressed stream is
 * refused as trailing garbage. The caller renames the directory into
 * place only when this returns 0; nothing here is trusted before that.
 *
 * The two readers run on two threads: an inflater thread drives "dec"
 * (read, hash, decompress, hash, count) and hands full buffers to the
 * tar reader through a small ring (struct ring), so decompression and
 * hashing overlap with the file creation the tar reader does. Each
 * libarchive object is used by one thread only. If the thread cannot be
 * started, the tar reader pulls from "dec" itself, as one thread.
 *
 * Every entry is written by us relative to the layer dirfd. Parent
 * directories are opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
 * | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) (or a component walk with
 * O_NOFOLLOW where openat2 is missing), so no entry reaches outside the
 * layer or through a symlink an earlier entry made; the last component is
 * created with O_EXCL / mkdirat / symlinkat / linkat without
 * AT_SYMLINK_FOLLOW / mknodat, and its metadata is set through its fd or
 * with AT_SYMLINK_NOFOLLOW. Paths with "..", absolute paths, '.' as
 * anything but a directory, and trusted.overlay.* xattrs are refused.
 * OCI whiteouts become overlayfs whiteouts (char 0/0) and opaque markers
 * the trusted.overlay.opaque=y xattr, so layers stack natively.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image-internal.h"
#include "path.h"
#include "util.h"

#define BUF_SIZE (256 * 1024)
#define RING_BUFS 4 /* 1 MiB in flight between the two threads of one layer */
#define PROGRESS_STEP (1 << 20)

static void md_freep(EVP_MD_CTX **p)
{
	EVP_MD_CTX_free(*p);
}

static void archive_freep(struct archive **p)
{
	if (*p)
		(void)archive_read_free(*p);
}

/* Compressed side: the blob's byte range, hashed as libarchive pulls it. */
struct blob_reader {
	const struct image_blob *blob;
	uint64_t pos;
	EVP_MD_CTX *md;
	unsigned char *buf;
	int err; /* errno of a failed read */
	bool truncated;
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
	uint64_t reported;
};

/*
 * The hand-off from the inflater thread to the tar reader: RING_BUFS
 * buffers, filled in order. buf[head] .. buf[head + count - 1] are full;
 * the tar reader holds buf[head] from one read callback to the next
 * (libarchive reads from it meanwhile), so the inflater refills only
 * the others.
 */
struct ring {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *buf[RING_BUFS];
	size_t len[RING_BUFS];
	size_t head, count;
	bool held; /* the tar reader holds buf[head] */
	bool eof; /* the inflater is done: end of stream or feed error */
	bool stop; /* the tar reader is done: the inflater stops */
	pthread_t th;
};

/* Uncompressed side: dec's output, hashed and counted as the tar reader pulls it. */
struct tar_feed {
	struct archive *dec;
	EVP_MD_CTX *md;
	unsigned char *buf;
	uint64_t total, max;
	int err; /* set when the feed failed: -EFBIG cap, -EBADMSG decompression */
	char msg[256];
	struct ring *ring; /* NULL: no inflater thread, the tar reader pulls dec itself */
};

struct dirtime {
	char *path;
	struct timespec ts[2];
};

struct unpacker {
	const struct image_unpack_args *a;
	struct error *err;
	struct archive *tar;
	struct tar_feed *feed;
	size_t max_path;
	uint64_t entries;
	bool root;
	char cache_path[PATH_MAX];
	int cache_fd;
	struct dirtime *dirs;
	size_t ndirs, capdirs;
};

static ssize_t blob_pull(struct blob_reader *r)
{
	size_t want = BUF_SIZE;
	ssize_t n;

	if (r->blob->size - r->pos < want)
		want = (size_t)(r->blob->size - r->pos);
	if (want == 0)
		return 0;
	do
		n = r->blob->stream
			? read(r->blob->fd, r->buf, want)
			: pread(r->blob->fd, r->buf, want, (off_t)(r->blob->off + r->pos));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->err = errno;
		return -1;
	}
	if (n == 0) {
		r->truncated = true;
		return -1;
	}
	(void)EVP_DigestUpdate(r->md, r->buf, (size_t)n);
	r->pos += (uint64_t)n;
	if (r->progress && (r->pos - r->reported >= PROGRESS_STEP || r->pos == r->blob->size)) {
		r->reported = r->pos;
		r->progress(r->progress_arg, r->pos, r->blob->size);
	}
	return n;
}

static la_ssize_t blob_read_cb(struct archive *a, void *data, const void **buf)
{
	struct blob_reader *r = data;
	ssize_t n = blob_pull(r);

	if (n < 0) {
		archive_set_error(a, r->err ? r->err : EIO, "%s",
				  r->err ? strerror(r->err) : "blob is truncated");
		return -1;
	}
	*buf = r->buf;
	return n;
}

/* Decompress the next buffer of the layer into buf: bytes, 0 at the end, -1 on error. */
static ssize_t feed_pull(struct tar_feed *f, unsigned char *buf)
{
	ssize_t n = archive_read_data(f->dec, buf, BUF_SIZE);

	if (n < 0) {
		f->err = -EBADMSG;
		snprintf(f->msg, sizeof(f->msg), "cannot decompress: %s",
			 archive_error_string(f->dec) ? archive_error_string(f->dec) : "error");
		return -1;
	}
	f->total += (uint64_t)n;
	if (f->total > f->max) {
		f->err = -EFBIG;
		snprintf(f->msg, sizeof(f->msg),
			 "uncompressed size exceeds the limit of %llu bytes (decompression bomb?)",
			 (unsigned long long)f->max);
		return -1;
	}
	(void)EVP_DigestUpdate(f->md, buf, (size_t)n);
	return n;
}

/* The inflater thread: fill free ring buffers until the stream ends, fails or the reader stops. */
static void *inflater(void *arg)
{
	struct tar_feed *f = arg;
	struct ring *q = f->ring;

	for (;;) {
		size_t slot;
		ssize_t n;

		pthread_mutex_lock(&q->mu);
		while (q->count == RING_BUFS && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->stop) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		slot = (q->head + q->count) % RING_BUFS;
		pthread_mutex_unlock(&q->mu);

		n = feed_pull(f,
			      q->buf[slot]); /* f->err and f->msg are published by the lock below */

		pthread_mutex_lock(&q->mu);
		if (n > 0) {
			q->len[slot] = (size_t)n;
			q->count++;
		} else {
			q->eof = true;
		}
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
		if (n <= 0)
			return NULL;
	}
}

/* The tar reader's next buffer of the uncompressed stream: bytes, 0 at its end, -1 on error. */
static ssize_t feed_next(struct tar_feed *f, const void **buf)
{
	struct ring *q = f->ring;
	ssize_t n;

	if (!q) {
		n = feed_pull(f, f->buf);
		*buf = f->buf;
		return n;
	}
	pthread_mutex_lock(&q->mu);
	if (q->held) { /* libarchive is done with the previous buffer */
		q->held = false;
		q->head = (q->head + 1) % RING_BUFS;
		q->count--;
		pthread_cond_broadcast(&q->cv);
	}
	while (q->count == 0 && !q->eof)
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->count > 0) {
		q->held = true;
		*buf = q->buf[q->head];
		n = (ssize_t)q->len[q->head];
	} else {
		n = f->err ? -1 : 0;
	}
	pthread_mutex_unlock(&q->mu);
	return n;
}

/*
 * Stop the inflater (if it runs) and wait for it: afterwards dec, the
 * blob reader and f->err/msg are the caller's alone. Call it before
 * looking at them, on every path.
 */
static void feed_stop(struct tar_feed *f)
{
	struct ring *q = f->ring;

	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	(void)pthread_join(q->th, NULL);
	f->ring = NULL;
}

static la_ssize_t tar_read_cb(struct archive *a, void *data, const void **buf)
{
	struct tar_feed *f = data;
	ssize_t n = feed_next(f, buf);

	if (n < 0) {
		archive_set_error(a, EIO, "%s", f->msg);
		return -1;
	}
	return n;
}

static int ufail(struct unpacker *u, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* First error wins: "<what>: <message>". */
static int ufail(struct unpacker *u, int r, const char *fmt, ...)
{
	char m[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	return error_set(u->err, -r, "%s: %s", u->a->what, m);
}

/* A libarchive read failed: blame the feed if it failed, else the archive. */
static int tar_fail(struct unpacker *u, const char *raw)
{
	feed_stop(u->feed);
	if (u->feed->err)
		return ufail(u, u->feed->err, "%s", u->feed->msg);
	return ufail(u, -EBADMSG, "%s%s%s%s", raw ? "entry '" : "", raw ? raw : "",
		     raw ? "': " : "",
		     archive_error_string(u->tar) ? archive_error_string(u->tar) : "bad tar data");
}

/*
 * Normalize an entry path (max: its longest length): drop empty and "."
 * components; refuse absolute paths and every ".." component, even one
 * that stays inside the layer. "" is the layer root.
 */
static int norm_path(const char *in, char *out, size_t max, const char **why)
{
	int r = path_normalize(in, out, max + 1, PATH_RELATIVE | PATH_NO_DOTDOT);

	if (r < 0)
		*why = path_strerror(r);
	return r;
}

/* openat2 beneath dfd without following any symlink; -ENOSYS if the kernel lacks openat2. */
static int open_beneath(int dfd, const char *path)
{
	static atomic_bool no_openat2; /* shared by the threads of parallel unpacks */
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve =
		    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd;

	if (no_openat2)
		return -ENOSYS;
	fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		no_openat2 = true;
	return fd < 0 ? -errno : (int)fd;
}

/* Component walk with O_NOFOLLOW, creating missing directories (0755) if create. */
static int walk_dirs(int rootfd, const char *path, bool create)
{
	char buf[PATH_MAX];
	int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);

	if (cur < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *c = buf, *next; c && *c; c = next) {
		int fd;

		next = strchr(c, '/');
		if (next)
			*next++ = '\0';
		fd = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST) {
				int r = -errno;
				close(cur);
				return r;
			}
			fd = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			int r = -errno;
			close(cur);
			return r;
		}
		close(cur);
		cur = fd;
	}
	return cur;
}

/* An owned fd of directory path inside the layer; never through a symlink. */
static int open_dir(struct unpacker *u, const char *path, bool create)
{
	int fd;

	if (!*path) {
		fd = fcntl(u->a->rootfd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? -errno : fd;
	}
	fd = open_beneath(u->a->rootfd, path);
	if (fd == -ENOSYS || (fd == -ENOENT && create))
		fd = walk_dirs(u->a->rootfd, path, create);
	return fd;
}

/*
 * Why path could not be opened as a directory: name the first component
 * that is a symlink or not a directory (into buf), else strerror.
 */
static const char *dir_why(struct unpacker *u, const char *path, int r, char *buf, size_t len)
{
	char p[PATH_MAX];
	int cur;

	if (r != -ELOOP && r != -ENOTDIR && r != -EXDEV)
		return r == -ENOENT ? "no such directory" : strerror(-r);
	snprintf(p, sizeof(p), "%s", path);
	cur = fcntl(u->a->rootfd, F_DUPFD_CLOEXEC, 3);
	for (char *c = p, *next; cur >= 0 && c && *c; c = next) {
		struct stat st;
		int fd;

		next = strchr(c, '/');
		if (next)
			*next = '\0';
		fd = openat(cur, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
			bool lnk = fd >= 0 && S_ISLNK(st.st_mode);
			if (fd >= 0)
				close(fd);
			close(cur);
			snprintf(buf, len, "parent '%s' is %s", p,
				 lnk ? "a symlink; nothing may be written through a symlink"
				     : "not a directory");
			return buf;
		}
		close(cur);
		cur = fd;
		if (next)
			*next++ = '/';
	}
	if (cur >= 0)
		close(cur);
	return r == -EXDEV ? "resolves outside the layer" : strerror(-r);
}

/* The parent directory of an entry (created if missing), cached: tars come grouped by dir. */
static int open_parent(struct unpacker *u, const char *parent, const char *raw)
{
	int fd;

	if (!*parent)
		return u->a->rootfd;
	if (u->cache_fd >= 0 && strcmp(u->cache_path, parent) == 0)
		return u->cache_fd;
	fd = open_dir(u, parent, true);
	if (fd < 0) {
		char why[PATH_MAX + 80];
		return ufail(u, fd, "entry '%s': %s", raw,
			     dir_why(u, parent, fd, why, sizeof(why)));
	}
	if (u->cache_fd >= 0)
		close(u->cache_fd);
	u->cache_fd = fd;
	snprintf(u->cache_path, sizeof(u->cache_path), "%s", parent);
	return fd;
}

static void cache_drop(struct unpacker *u)
{
	if (u->cache_fd >= 0)
		close(u->cache_fd);
	u->cache_fd = -1;
	u->cache_path[0] = '\0';
}

/* pfd again after clear_target, which may have closed the cached parent. */
static int reparent(struct unpacker *u, int pfd, const char *parent, const char *raw)
{
	if (*parent && u->cache_fd < 0)
		return open_parent(u, parent, raw);
	return pfd;
}

/*
 * Make room for a new entry at pfd/base. Returns 1 if a directory is
 * there and keep_dir (a dir entry over a dir updates it), 0 if free.
 */
static int clear_target(struct unpacker *u, int pfd, const char *path, const char *base,
			bool keep_dir, const char *raw)
{
	struct stat st;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return ufail(u, -errno, "entry '%s': %s", raw, strerror(errno));
	}
	if (S_ISDIR(st.st_mode)) {
		char abs[PATH_MAX];
		int r;

		if (keep_dir)
			return 1;
		/* a later entry replaces a directory: remove the subtree (bounded by max_path) */
		snprintf(abs, sizeof(abs), "%s/%s", u->a->root_path, path);
		cache_drop(u);
		r = image_rm_tree(abs, NULL);
		if (r < 0)
			return ufail(u, r, "entry '%s': cannot replace directory: %s", raw,
				     strerror(-r));
		return 0;
	}
	if (unlinkat(pfd, base, 0) < 0)
		return ufail(u, -errno, "entry '%s': cannot replace: %s", raw, strerror(errno));
	return 0;
}

static bool is_overlay_xattr(const char *name)
{
	return strncmp(name, "trusted.overlay.", 16) == 0;
}

static int check_xattrs(struct unpacker *u, struct archive_entry *e, const char *raw)
{
	const char *name;
	const void *value;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
		if (name && is_overlay_xattr(name))
			return ufail(u, -EPERM,
				     "entry '%s' carries the overlayfs xattr '%s'; layers may not "
				     "set overlay metadata themselves",
				     raw, name);
	return 0;
}

/* xattrs through fd (fd >= 0) or through a /proc/self/fd path of an O_PATH fd. */
static int set_xattrs(struct unpacker *u, struct archive_entry *e, int fd, const char *procpath,
		      const char *raw)
{
	const char *name;
	const void *value;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		int r;

		if (!name)
			continue;
		r = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
			    : setxattr(procpath, name, value, size, 0);
		/* a file system without that namespace (e.g. security.selinux): skip it */
		if (r < 0 && errno != ENOTSUP)
			return ufail(u, -errno, "entry '%s': cannot set xattr %s: %s", raw, name,
				     strerror(errno));
	}
	return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
	if (ts[0].tv_nsec < 0 || ts[0].tv_nsec > 999999999)
		ts[0].tv_nsec = 0;
	if (ts[1].tv_nsec < 0 || ts[1].tv_nsec > 999999999)
		ts[1].tv_nsec = 0;
}

static int chown_ok(struct unpacker *u)
{
	/* unprivileged unpacks (tests, tools) keep our own ids */
	return errno == EPERM && !u->root;
}

/* Owner, mode, xattrs, times of an entry we hold an fd of (file or dir). */
static int meta_fd(struct unpacker *u, int fd, struct archive_entry *e, const char *path,
		   bool is_dir, const char *raw)
{
	struct timespec ts[2];
	int r;

	if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0 &&
	    !chown_ok(u))
		return ufail(u, -errno, "entry '%s': chown: %s", raw, strerror(errno));
	/* after chown, which clears setuid/setgid */
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return ufail(u, -errno, "entry '%s': chmod: %s", raw, strerror(errno));
	r = set_xattrs(u, e, fd, NULL, raw);
	if (r < 0)
		return r;
	entry_times(e, ts);
	if (!is_dir) {
		if (futimens(fd, ts) < 0)
			return ufail(u, -errno, "entry '%s': set times: %s", raw, strerror(errno));
		return 0;
	}
	/* directory times are set at the end, after their children are written */
	if (u->ndirs == u->capdirs) {
		size_t cap = u->capdirs ? u->capdirs * 2 : 64;
		struct dirtime *d = realloc(u->dirs, cap * sizeof(*d));
		if (!d)
			return ufail(u, -ENOMEM, "out of memory");
		u->dirs = d;
		u->capdirs = cap;
	}
	u->dirs[u->ndirs].path = xstrdup(path);
	memcpy(u->dirs[u->ndirs].ts, ts, sizeof(ts));
	u->ndirs++;
	return 0;
}

/* Owner, mode, xattrs, times of a symlink or node at pfd/base, never following it. */
static int meta_at(struct unpacker *u, int pfd, const char *base, struct archive_entry *e,
		   bool is_link, const char *raw)
{
	_cleanup_close_ int opath = -1;
	struct timespec ts[2];
	char proc[64];
	int r;

	if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
		     AT_SYMLINK_NOFOLLOW) < 0 &&
	    !chown_ok(u))
		return ufail(u, -errno, "entry '%s': chown: %s", raw, strerror(errno));
	opath = openat(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (opath < 0)
		return ufail(u, -errno, "entry '%s': %s", raw, strerror(errno));
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", opath);
	/* the magic link resolves to the node itself, never to what a symlink names */
	if (!is_link && chmod(proc, archive_entry_perm(e) & 07777) < 0)
		return ufail(u, -errno, "entry '%s': chmod: %s", raw, strerror(errno));
	archive_entry_xattr_reset(e);
	if (archive_entry_xattr_count(e) > 0) {
		r = set_xattrs(u, e, -1, proc, raw);
		if (r < 0)
			return r;
	}
	entry_times(e, ts);
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return ufail(u, -errno, "entry '%s': set times: %s", raw, strerror(errno));
	return 0;
}

static int write_file(struct unpacker *u, int pfd, const char *base, struct archive_entry *e,
		      const char *raw)
{
	_cleanup_close_ int fd = -1;
	int64_t size = archive_entry_size(e);
	uint64_t end = 0;

	if (size < 0 || (uint64_t)size > u->a->lim->max_layer_bytes)
		return ufail(u, -EFBIG, "entry '%s': size %lld exceeds the layer limit", raw,
			     (long long)size);
	fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ufail(u, -errno, "entry '%s': create: %s", raw, strerror(errno));
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(u->tar, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return tar_fail(u, raw);
		if (off < 0 || (uint64_t)off + len > (uint64_t)size)
			return ufail(u, -EBADMSG, "entry '%s': data beyond its size", raw);
		for (size_t done = 0; done < len;) {
			ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
					   (off_t)((uint64_t)off + done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return ufail(u, -errno, "entry '%s': write: %s", raw,
					     strerror(errno));
			done += (size_t)n;
		}
		if ((uint64_t)off + len > end)
			end = (uint64_t)off + len;
	}
	/* sparse tail */
	if (end < (uint64_t)size && ftruncate(fd, size) < 0)
		return ufail(u, -errno, "entry '%s': truncate: %s", raw, strerror(errno));
	return meta_fd(u, fd, e, NULL, false, raw);
}

static int make_dir(struct unpacker *u, int pfd, const char *path, const char *base,
		    struct archive_entry *e, bool exists, const char *raw)
{
	_cleanup_close_ int fd = -1;

	if (!exists && mkdirat(pfd, base, 0700) < 0)
		return ufail(u, -errno, "entry '%s': mkdir: %s", raw, strerror(errno));
	fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ufail(u, -errno, "entry '%s': %s", raw, strerror(errno));
	return meta_fd(u, fd, e, path, true, raw);
}

static int make_hardlink(struct unpacker *u, int pfd, const char *parent, const char *path,
			 const char *base, const char *target_raw, const char *raw)
{
	char target[PATH_MAX];
	const char *why = NULL, *tbase;
	_cleanup_close_ int tfd = -1;
	struct stat st;
	char *slash;
	int r;

	if (norm_path(target_raw, target, u->max_path, &why) < 0)
		return ufail(u, -EPERM, "entry '%s': hardlink target '%s': %s", raw, target_raw,
			     why);
	if (!*target || strcmp(target, path) == 0)
		return ufail(u, -EPERM, "entry '%s': hardlink to '%s' is not allowed", raw,
			     target_raw);
	slash = strrchr(target, '/');
	if (slash) {
		*slash = '\0';
		tbase = slash + 1;
		tfd = open_dir(u, target, false);
	} else {
		tbase = target;
		tfd = open_dir(u, "", false);
	}
	if (tfd < 0) {
		char buf[PATH_MAX + 80];
		return ufail(u, tfd, "entry '%s': hardlink target '%s': %s", raw, target_raw,
			     dir_why(u, slash ? target : "", tfd, buf, sizeof(buf)));
	}
	if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return ufail(u, -errno, "entry '%s': hardlink target '%s' is not in this layer",
			     raw, target_raw);
	if (S_ISDIR(st.st_mode))
		return ufail(u, -EPERM, "entry '%s': hardlink target '%s' is a directory", raw,
			     target_raw);
	r = clear_target(u, pfd, path, base, false, raw);
	if (r < 0)
		return r;
	pfd = reparent(u, pfd, parent, raw);
	if (pfd < 0)
		return pfd;
	if (linkat(tfd, tbase, pfd, base, 0) < 0)
		return ufail(u, -errno, "entry '%s': link to '%s': %s", raw, target_raw,
			     strerror(errno));
	return 0;
}

/* .wh.NAME -> char 0/0 NAME; .wh..wh..opq -> trusted.overlay.opaque=y on the parent. */
static int whiteout(struct unpacker *u, const char *parent, const char *base, const char *raw)
{
	const char *name = base + 4;
	char path[PATH_MAX];
	int pfd, r;

	if (strcmp(base, ".wh..wh..opq") == 0) {
		pfd = open_parent(u, parent, raw);
		if (pfd < 0)
			return pfd;
		if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return ufail(u, -errno, "entry '%s': cannot mark directory opaque: %s", raw,
				     strerror(errno));
		return 0;
	}
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strncmp(name, ".wh.", 4) == 0)
		return ufail(u, -EPERM, "entry '%s': invalid whiteout name", raw);
	pfd = open_parent(u, parent, raw);
	if (pfd < 0)
		return pfd;
	snprintf(path, sizeof(path), "%s%s%s", parent, *parent ? "/" : "", name);
	r = clear_target(u, pfd, path, name, false, raw);
	if (r < 0)
		return r;
	pfd = reparent(u, pfd, parent, raw);
	if (pfd < 0)
		return pfd;
	if (mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
		return ufail(u, -errno, "entry '%s': cannot create whiteout: %s", raw,
			     strerror(errno));
	return 0;
}

static int unpack_entry(struct unpacker *u, struct archive_entry *e)
{
	const char *raw = archive_entry_pathname(e);
	const char *hl = archive_entry_hardlink(e);
	const char *why = NULL, *base;
	char path[PATH_MAX], parent[PATH_MAX];
	mode_t type = archive_entry_filetype(e);
	char *slash;
	int pfd, r, exists;

	if (!raw)
		return ufail(u, -EBADMSG, "entry %llu has no usable name",
			     (unsigned long long)u->entries);
	if (++u->entries > u->a->lim->max_layer_entries)
		return ufail(u, -EFBIG, "more than %llu entries",
			     (unsigned long long)u->a->lim->max_layer_entries);
	if (norm_path(raw, path, u->max_path, &why) < 0)
		return ufail(u, -EPERM, "entry '%s': %s", raw, why);
	r = check_xattrs(u, e, raw);
	if (r < 0)
		return r;
	if (!*path) {
		if (hl || type != AE_IFDIR)
			return ufail(u, -EPERM,
				     "entry '%s': the layer root may only be a directory", raw);
		return meta_fd(u, u->a->rootfd, e, "", true, raw);
	}
	slash = strrchr(path, '/');
	if (slash) {
		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = '\0';
		base = slash + 1;
	} else {
		parent[0] = '\0';
		base = path;
	}
	for (const char *c = parent; *c;) {
		if (strncmp(c, ".wh.", 4) == 0)
			return ufail(u, -EPERM, "entry '%s': whiteout name used as a directory",
				     raw);
		c = strchr(c, '/');
		c = c ? c + 1 : "";
	}
	if (strncmp(base, ".wh.", 4) == 0)
		return whiteout(u, parent, base, raw);

	pfd = open_parent(u, parent, raw);
	if (pfd < 0)
		return pfd;
	if (hl)
		return make_hardlink(u, pfd, parent, path, base, hl, raw);
	exists = clear_target(u, pfd, path, base, type == AE_IFDIR, raw);
	if (exists < 0)
		return exists;
	pfd = reparent(u, pfd, parent, raw);
	if (pfd < 0)
		return pfd;

	switch (type) {
	case AE_IFREG:
		return write_file(u, pfd, base, e, raw);
	case AE_IFDIR:
		return make_dir(u, pfd, path, base, e, exists == 1, raw);
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(e);
		if (!target || !*target)
			return ufail(u, -EBADMSG, "entry '%s': symlink without a target", raw);
		if (symlinkat(target, pfd, base) < 0)
			return ufail(u, -errno, "entry '%s': symlink: %s", raw, strerror(errno));
		return meta_at(u, pfd, base, e, true, raw);
	}
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		if (mknodat(pfd, base, type | 0600, type == AE_IFIFO ? 0 : archive_entry_rdev(e)) <
		    0)
			return ufail(u, -errno, "entry '%s': mknod: %s", raw, strerror(errno));
		return meta_at(u, pfd, base, e, false, raw);
	default:
		return ufail(u, -EPERM, "entry '%s': unsupported entry type 0%o", raw,
			     (unsigned)type);
	}
}

/* Directory times last, deepest first (reverse archive order). */
static void apply_dir_times(struct unpacker *u)
{
	for (size_t i = u->ndirs; i-- > 0;) {
		const char *p = u->dirs[i].path;
		int fd =
		    *p ? open_beneath(u->a->rootfd, p) : fcntl(u->a->rootfd, F_DUPFD_CLOEXEC, 3);

		if (fd == -ENOSYS)
			fd = walk_dirs(u->a->rootfd, p, false);
		if (fd < 0)
			continue; /* replaced by a later entry */
		(void)futimens(fd, u->dirs[i].ts);
		close(fd);
	}
}

static void hex_of(EVP_MD_CTX *md, char out[65])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	(void)EVP_DigestFinal_ex(md, d, &n);
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	out[64] = '\0';
}

static const char *comp_name(enum image_comp c)
{
	switch (c) {
	case IMAGE_COMP_GZIP:
		return "gzip";
	case IMAGE_COMP_ZSTD:
		return "zstd";
	case IMAGE_COMP_NONE:
		return "uncompressed tar";
	default:
		return "tar, tar+gzip or tar+zstd";
	}
}

static bool filter_matches(enum image_comp c, int code)
{
	switch (c) {
	case IMAGE_COMP_NONE:
		return code == ARCHIVE_FILTER_NONE;
	case IMAGE_COMP_GZIP:
		return code == ARCHIVE_FILTER_GZIP;
	case IMAGE_COMP_ZSTD:
		return code == ARCHIVE_FILTER_ZSTD;
	default:
		return code == ARCHIVE_FILTER_NONE || code == ARCHIVE_FILTER_GZIP ||
		       code == ARCHIVE_FILTER_ZSTD;
	}
}

/* Read and hash the rest of the blob (after an error) to see whether its digest is wrong. */
static bool blob_digest_wrong(struct blob_reader *br, const char *want_hex, char hex[65])
{
	if (!want_hex || !*want_hex || br->err)
		return false;
	while (br->pos < br->blob->size)
		if (blob_pull(br) < 0)
			return false; /* truncated: reported as such */
	hex_of(br->md, hex);
	return strcmp(hex, want_hex) != 0;
}

static int unpack_stream(struct unpacker *u, struct blob_reader *br, struct tar_feed *feed)
{
	const struct image_unpack_args *a = u->a;
	struct archive_entry *e;
	int r;

	for (;;) {
		if (a->cancel && atomic_load(a->cancel))
			return ufail(u, -ECANCELED, "canceled");
		r = archive_read_next_header(u->tar, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			feed_stop(feed);
			if (feed->err)
				return ufail(u, feed->err, "%s", feed->msg);
			if (br->truncated)
				return ufail(u, -EBADMSG, "blob is truncated");
			return ufail(u, -EBADMSG, "bad tar data after %llu entries: %s",
				     (unsigned long long)u->entries,
				     archive_error_string(u->tar) ? archive_error_string(u->tar)
								  : "error");
		}
		r = unpack_entry(u, e);
		if (r < 0)
			return r;
	}
	/* past the tar's end marker: the rest of the stream still counts for the diff_id */
	for (;;) {
		const void *buf;
		ssize_t n = feed_next(feed, &buf);
		if (n <= 0)
			feed_stop(feed);
		if (n < 0)
			return ufail(u, feed->err, "%s", feed->msg);
		if (n == 0)
			break;
	}
	if (archive_filter_code(feed->dec, 0) != ARCHIVE_FILTER_NONE &&
	    (uint64_t)archive_filter_bytes(feed->dec, -1) < a->blob->size)
		return ufail(u, -EBADMSG, "%llu bytes of trailing garbage after the %s stream",
			     (unsigned long long)(a->blob->size -
						  (uint64_t)archive_filter_bytes(feed->dec, -1)),
			     archive_filter_name(feed->dec, 0));
	while (br->pos < a->blob->size)
		if (blob_pull(br) < 0)
			return ufail(u, br->err ? -br->err : -EBADMSG, "%s",
				     br->err ? strerror(br->err) : "blob is truncated");
	return 0;
}

int image_unpack_layer(const struct image_unpack_args *a, struct error *err)
{
	_cleanup_(md_freep) EVP_MD_CTX *bmd = EVP_MD_CTX_new();
	_cleanup_(md_freep) EVP_MD_CTX *tmd = EVP_MD_CTX_new();
	_cleanup_free_ unsigned char *buf = malloc((2 + RING_BUFS) * BUF_SIZE);
	_cleanup_(archive_freep) struct archive *dec = NULL;
	_cleanup_(archive_freep) struct archive *tar = NULL;
	struct blob_reader br = { 0 };
	struct tar_feed feed = { 0 };
	struct ring ring = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct unpacker u = { .a = a, .err = err, .cache_fd = -1, .root = geteuid() == 0 };
	struct archive_entry *re;
	bool bmd_final = false;
	char hex[65];
	int r;

	if (!bmd || !tmd || !buf)
		return error_set(err, ENOMEM, "%s: out of memory", a->what);
	(void)EVP_DigestInit_ex(bmd, EVP_sha256(), NULL);
	(void)EVP_DigestInit_ex(tmd, EVP_sha256(), NULL);
	br = (struct blob_reader){ .blob = a->blob,
				   .md = bmd,
				   .buf = buf,
				   .progress = a->progress,
				   .progress_arg = a->progress_arg };
	u.max_path = PATH_MAX - 2 - strlen(a->root_path);

	dec = archive_read_new();
	if (!dec)
		return error_set(err, ENOMEM, "%s: out of memory", a->what);
	if (a->comp == IMAGE_COMP_GZIP || a->comp == IMAGE_COMP_AUTO)
		archive_read_support_filter_gzip(dec);
	if (a->comp == IMAGE_COMP_ZSTD || a->comp == IMAGE_COMP_AUTO)
		archive_read_support_filter_zstd(dec);
	archive_read_support_format_raw(dec);
	if (archive_read_open(dec, &br, NULL, blob_read_cb, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(dec, &re) != ARCHIVE_OK) {
		r = error_set(err, EBADMSG, "%s: cannot read blob: %s", a->what,
			      archive_error_string(dec) ? archive_error_string(dec) : "empty");
		goto out;
	}
	if (!filter_matches(a->comp, archive_filter_code(dec, 0))) {
		r = error_set(err, EBADMSG, "%s: media type says %s but the blob is %s", a->what,
			      comp_name(a->comp),
			      archive_filter_code(dec, 0) == ARCHIVE_FILTER_NONE
				  ? "not compressed that way"
				  : archive_filter_name(dec, 0));
		goto out;
	}
	feed = (struct tar_feed){
		.dec = dec, .md = tmd, .buf = buf + BUF_SIZE, .max = a->lim->max_layer_bytes
	};
	u.feed = &feed;
	tar = archive_read_new();
	if (!tar) {
		r = error_set(err, ENOMEM, "%s: out of memory", a->what);
		goto out;
	}
	archive_read_support_format_tar(tar);
	u.tar = tar;
	for (size_t i = 0; i < RING_BUFS; i++)
		ring.buf[i] = buf + (2 + i) * BUF_SIZE;
	feed.ring = &ring;
	if (pthread_create(&ring.th, NULL, inflater, &feed) != 0)
		feed.ring = NULL; /* no thread: one thread does both */
	if (archive_read_open(tar, &feed, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
		feed_stop(&feed);
		if (feed.err)
			r = error_set(err, -feed.err, "%s: %s", a->what, feed.msg);
		else
			r = error_set(err, EBADMSG, "%s: not a tar archive: %s", a->what,
				      archive_error_string(tar) ? archive_error_string(tar)
								: "unrecognized data");
		goto out;
	}
	r = unpack_stream(&u, &br, &feed);
	if (r < 0)
		goto out;
	apply_dir_times(&u);

	hex_of(bmd, hex);
	bmd_final = true;
	if (a->blob_hex && *a->blob_hex && strcmp(hex, a->blob_hex) != 0) {
		r = error_set(err, EBADMSG,
			      "%s: blob digest mismatch: descriptor says sha256:%s, content is "
			      "sha256:%s",
			      a->what, a->blob_hex, hex);
		goto out;
	}
	hex_of(tmd, hex);
	if (a->diff_hex && *a->diff_hex && strcmp(hex, a->diff_hex) != 0) {
		r = error_set(err, EBADMSG,
			      "%s: uncompressed digest mismatch: config diff_id is sha256:%s, "
			      "content is sha256:%s",
			      a->what, a->diff_hex, hex);
		goto out;
	}
	r = 0;
out:
	feed_stop(&feed);
	if (r < 0 && r != -ECANCELED && !bmd_final && blob_digest_wrong(&br, a->blob_hex, hex))
		r = error_set(err, EBADMSG,
			      "%s: blob digest mismatch: descriptor says sha256:%s, content is "
			      "sha256:%s",
			      a->what, a->blob_hex, hex);
	cache_drop(&u);
	for (size_t i = 0; i < u.ndirs; i++)
		free(u.dirs[i].path);
	free(u.dirs);
	return r;
}
