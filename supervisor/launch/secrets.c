/*
 * secrets.c - paddockd's half of a service's secrets: open and read every
 * source before the clone. See secrets.h; the child's half (the tmpfs) is
 * in rootfs.c.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secrets.h"
#include "util.h"

#define PAGE 4096

static const char *file_kind(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symlink";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/*
 * One source into s->data. Opened O_PATH|O_NOFOLLOW first: a symlink,
 * FIFO or device is judged by fstat and never opened for reading (no
 * hang on a FIFO without a writer, no side effect of opening a device).
 * Only the last component is checked for a symlink: the directories
 * above are the operator's, like those of the spec files.
 */
static int load_one(struct launch_secret *s, const char *path, struct error *err)
{
	char fdpath[64];
	struct stat st;
	size_t got = 0;
	int pfd, fd, r = 0;

	pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return error_set(err, errno, "secret '%s': %s: %s", s->label, path,
				 strerror(errno));
	if (fstat(pfd, &st) < 0) {
		r = error_set(err, errno, "secret '%s': stat %s: %s", s->label, path,
			      strerror(errno));
		close(pfd);
		return r;
	}
	if (S_ISLNK(st.st_mode))
		r = error_set(err, ELOOP, "secret '%s': %s is a symlink; name the file itself",
			      s->label, path);
	else if (!S_ISREG(st.st_mode))
		r = error_set(err, EINVAL, "secret '%s': %s is %s, not a regular file", s->label,
			      path, file_kind(st.st_mode));
	else if (st.st_mode & 0007)
		r = error_set(err, EPERM,
			      "secret '%s': %s is %s by others (mode %04o): chmod o-rwx", s->label,
			      path,
			      (st.st_mode & 0004)   ? "readable"
			      : (st.st_mode & 0002) ? "writable"
						    : "executable",
			      (unsigned)(st.st_mode & 07777));
	else if (st.st_size > SPEC_SECRET_MAX_SIZE)
		r = error_set(err, EFBIG, "secret '%s': %s is larger than %d bytes", s->label, path,
			      SPEC_SECRET_MAX_SIZE);
	if (r < 0) {
		close(pfd);
		return r;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", pfd);
	fd = open(fdpath, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	close(pfd);
	if (fd < 0)
		return error_set(err, errno, "secret '%s': open %s: %s", s->label, path,
				 strerror(errno));
	/* One byte more than fstat said: a file that grew in between is refused. */
	s->data = xcalloc(1, (size_t)st.st_size + 1);
	while (got <= (size_t)st.st_size) {
		ssize_t n = read(fd, s->data + got, (size_t)st.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = error_set(err, errno, "secret '%s': read %s: %s", s->label, path,
				      strerror(errno));
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (r == 0 && got != (size_t)st.st_size)
		r = error_set(err, EAGAIN, "secret '%s': %s changed while it was read", s->label,
			      path);
	s->len = got;
	return r;
}

int secrets_load(const struct service_spec *spec, const char *secrets_dir, uid_t uid, gid_t gid,
		 struct launch_secrets *out, struct error *err)
{
	*out = (struct launch_secrets){ 0 };
	if (!spec->nsecrets)
		return 0;
	out->v = xcalloc(spec->nsecrets, sizeof(*out->v));
	for (size_t i = 0; i < spec->nsecrets; i++) {
		const struct spec_secret *ss = &spec->secrets[i];
		struct launch_secret *s = &out->v[out->n++];
		char *path = NULL;
		int r;

		if (ss->name) {
			s->label = ss->name;
			xasprintf(&path, "%s/%s", secrets_dir ? secrets_dir : "", ss->name);
		} else {
			const char *slash = ss->source ? strrchr(ss->source, '/') : NULL;
			s->label = slash ? slash + 1 : ss->source ? ss->source : "?";
			path = xstrdup(ss->source ? ss->source : "");
		}
		if (ss->target)
			s->target = xstrdup(ss->target);
		else
			xasprintf(&s->target, "%s/%s", SPEC_SECRETS_DIR_INSIDE, s->label);
		s->uid = ss->uid == SPEC_SECRET_ID_UNSET ? uid : (uid_t)ss->uid;
		s->gid = ss->gid == SPEC_SECRET_ID_UNSET ? gid : (gid_t)ss->gid;
		s->mode = ss->mode ? (mode_t)(ss->mode & 07777) : 0400;
		r = load_one(s, path, err);
		free(path);
		if (r < 0) {
			secrets_free(out);
			return r;
		}
		out->pages += (s->len + PAGE - 1) / PAGE * PAGE;
	}
	return 0;
}

void secrets_wipe(const struct launch_secrets *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->v[i].data)
			explicit_bzero(s->v[i].data, s->v[i].len);
}

void secrets_free(struct launch_secrets *s)
{
	secrets_wipe(s);
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].data);
		free(s->v[i].target);
	}
	free(s->v);
	*s = (struct launch_secrets){ 0 };
}
