/*
 * image.c - the image store: layer store, image records, resolution for
 * services, overlay options, list/inspect/rm/prune. Imports (and with
 * them libarchive and libcrypto) are in image-import.c, which paddockd
 * does not link: it runs them in paddockctl-image.
 *
 * Store layout under <state_dir> (everything root-owned):
 *
 *   layers/                      0700
 *     <hex>/                     a layer, unpacked and verified; <hex> is the
 *                                sha256 of its uncompressed tar (the config's
 *                                diff_id). Used as an overlay lowerdir as is:
 *                                whiteouts are char 0/0 nodes, opaque dirs
 *                                carry trusted.overlay.opaque=y.
 *     l/<short> -> ../<hex>      short names for overlay options: the first 12
 *                                hex digits (longer on a prefix collision)
 *     empty/                     an empty lowerdir: overlay needs two lower
 *                                layers when it has no upper one
 *     .lock-<hex>                flock: EX while the layer is unpacked or
 *                                removed, SH while an import relies on it
 *     .tmp-<hex>-<pid>/          an unpack in progress; renamed to <hex> only
 *                                when complete, verified and synced to disk;
 *                                removed on failure, and after a crash by
 *                                the next store open, unpack or prune
 *     .tmp-<hex>-<pid>-rm/       a layer being removed (renamed first, so a
 *                                crash never leaves half a layer as <hex>)
 *   images/                      0700
 *     .lock                      flock: SH by imports/resolves, EX by prune
 *     <name>/<tag>.json          one record per image; name and tag escaped
 *                                (bytes outside [A-Za-z0-9_.-] and a leading
 *                                '.' become %XX; the empty tag is "@")
 *
 * A record: {"name", "tag", "ref", "source", "source_type",
 * "manifest_digest", "config_digest", "platform", "diff_ids" (bottom
 * first), "size" (compressed bytes), "imported" (unix time), "config":
 * {"Entrypoint", "Cmd", "Env", "WorkingDir", "User"}}. Records are
 * written to a temporary file and renamed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "image-internal.h"
#include "util.h"

#define SHORT_LEN 12
#define MAX_RECORD (1U << 20)

void image_json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}

bool image_valid_hex(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

void image_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* ---- trees ------------------------------------------------------------------ */

static __thread uint64_t rm_bytes;

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_DP && flag != FTW_D && st->st_nlink > 0)
		rm_bytes += (uint64_t)st->st_blocks * 512 / st->st_nlink;
	else if (flag == FTW_DP)
		rm_bytes += (uint64_t)st->st_blocks * 512;
	if (remove(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* rm -rf path without following symlinks or leaving the file system. */
int image_rm_tree(const char *path, uint64_t *bytes)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	rm_bytes = 0;
	if (nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return errno ? -errno : -EIO;
	if (bytes)
		*bytes += rm_bytes;
	return 0;
}

/* ---- store ------------------------------------------------------------------ */

/*
 * Remove the .tmp dirs a crashed unpack or removal left behind: those
 * whose layer lock nobody holds (a running unpack holds it exclusively
 * for as long as its .tmp dir exists). O(entries in layers/).
 */
static void remove_stale_tmps(struct image_store *s)
{
	int fd = openat(s->layersfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		char hex[65], lockname[80];
		_cleanup_close_ int lfd = -1;
		char *p;

		if (strncmp(de->d_name, ".tmp-", 5) != 0 || strlen(de->d_name) <= 5 + 64)
			continue;
		memcpy(hex, de->d_name + 5, 64);
		hex[64] = '\0';
		if (!image_valid_hex(hex))
			continue;
		snprintf(lockname, sizeof(lockname), ".lock-%s", hex);
		lfd = openat(s->layersfd, lockname, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0)
			continue; /* an unpack in progress */
		xasprintf(&p, "%s/%s", s->layers_dir, de->d_name);
		(void)image_rm_tree(p, NULL);
		free(p);
	}
	closedir(d);
}

struct image_store *image_store_open(const char *state_dir, const struct image_limits *limits,
				     struct error *err)
{
	struct image_store *s;
	int r;

	if (!state_dir || state_dir[0] != '/') {
		error_set(err, EINVAL, "image store: state directory must be absolute");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->layersfd = s->imagesfd = -1;
	s->state_dir = xstrdup(state_dir);
	xasprintf(&s->layers_dir, "%s/layers", state_dir);
	xasprintf(&s->images_dir, "%s/images", state_dir);
	if (limits)
		s->lim = *limits;
	if (!s->lim.max_json_bytes)
		s->lim.max_json_bytes = IMAGE_DEFAULT_MAX_JSON;
	if (!s->lim.max_layer_bytes)
		s->lim.max_layer_bytes = IMAGE_DEFAULT_MAX_LAYER;
	if (!s->lim.max_layer_entries)
		s->lim.max_layer_entries = IMAGE_DEFAULT_MAX_ENTRIES;
	r = mkdir_p(state_dir, 0700);
	if (r < 0) {
		error_set(err, -r, "image store: cannot create %s: %s", state_dir, strerror(-r));
		return image_store_free(s);
	}
	if ((mkdir(s->layers_dir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(s->images_dir, 0700) < 0 && errno != EEXIST)) {
		error_set(err, errno, "image store: cannot create %s: %s", s->layers_dir,
			  strerror(errno));
		return image_store_free(s);
	}
	s->layersfd = open(s->layers_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	s->imagesfd = open(s->images_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->layersfd < 0 || s->imagesfd < 0) {
		error_set(err, errno, "image store: cannot open %s: %s", s->layers_dir,
			  strerror(errno));
		return image_store_free(s);
	}
	/* a store root that others can enter would expose setuid files in layers */
	if (fchmod(s->layersfd, 0700) < 0 || fchmod(s->imagesfd, 0700) < 0 ||
	    (mkdirat(s->layersfd, "l", 0700) < 0 && errno != EEXIST) ||
	    (mkdirat(s->layersfd, "empty", 0755) < 0 && errno != EEXIST)) {
		error_set(err, errno, "image store: %s: %s", s->layers_dir, strerror(errno));
		return image_store_free(s);
	}
	remove_stale_tmps(s);
	return s;
}

struct image_store *image_store_free(struct image_store *s)
{
	if (!s)
		return NULL;
	if (s->layersfd >= 0)
		close(s->layersfd);
	if (s->imagesfd >= 0)
		close(s->imagesfd);
	free(s->state_dir);
	free(s->layers_dir);
	free(s->images_dir);
	free(s);
	return NULL;
}

void image_store_stats(const struct image_store *s, uint64_t *unpacked, uint64_t *reused)
{
	if (unpacked)
		*unpacked = s->unpacked;
	if (reused)
		*reused = s->reused;
}

/* The store-wide lock: LOCK_SH for imports, LOCK_EX for prune. Returns the fd. */
int img_store_lock(struct image_store *s, int op, struct error *err)
{
	int fd = openat(s->imagesfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return error_set(err, errno, "image store: lock: %s", strerror(errno));
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		int r = -errno;
		close(fd);
		return error_set(err, -r, "image store: lock: %s", strerror(-r));
	}
	return fd;
}

static bool layer_present(struct image_store *s, const char *hex)
{
	struct stat st;

	return fstatat(s->layersfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* l/<short> -> ../<hex>: the shortest free-or-ours prefix from 12 digits up. */
int img_short_link(struct image_store *s, const char *hex, char *out, size_t len)
{
	char want[80], got[80], name[80];

	snprintf(want, sizeof(want), "../%s", hex);
	for (size_t n = SHORT_LEN; n <= 64; n++) {
		for (int tries = 0; tries < 3; tries++) {
			ssize_t k;

			snprintf(name, sizeof(name), "l/%.*s", (int)n, hex);
			k = readlinkat(s->layersfd, name, got, sizeof(got) - 1);
			if (k >= 0) {
				got[k] = '\0';
				if (strcmp(got, want) != 0)
					break; /* someone else's prefix: longer */
				snprintf(out, len, "%s", name);
				return 0;
			}
			if (errno != ENOENT)
				return -errno;
			if (symlinkat(want, s->layersfd, name) < 0 && errno != EEXIST)
				return -errno;
		}
	}
	return -EEXIST;
}

/*
 * Lock layer hex for an import: returns 1 when the layer is present
 * (lock held shared, so a failing concurrent import cannot roll it back
 * under us) or 0 when it is absent (held exclusively: ours to unpack).
 * *lockfd gets the lock's fd either way.
 */
int img_layer_claim(struct image_store *s, const char *hex, int *lockfd, struct error *err)
{
	char lockname[80];
	int fd;

	snprintf(lockname, sizeof(lockname), ".lock-%s", hex);
	fd = openat(s->layersfd, lockname, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(err, errno, "layer sha256:%s: lock: %s", hex, strerror(errno));
	*lockfd = fd;
	for (;;) {
		if (layer_present(s, hex)) {
			while (flock(fd, LOCK_SH) < 0 && errno == EINTR)
				;
			if (layer_present(s, hex))
				return 1;
			(void)flock(fd, LOCK_UN); /* rolled back meanwhile */
		}
		while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
			;
		if (!layer_present(s, hex))
			return 0;
		(void)flock(fd, LOCK_SH);
		return 1;
	}
}

/*
 * Remove a layer (its lock held EX). The directory is first renamed to a
 * .tmp name, so that a crash half-way through the removal leaves a stale
 * .tmp directory, never a partial layer under its real name.
 */
void img_remove_layer(struct image_store *s, const char *hex, uint64_t *bytes)
{
	char name[80], got[80], want[80], doomed[96];
	char *p;

	snprintf(doomed, sizeof(doomed), ".tmp-%s-%d-rm", hex, (int)getpid());
	if (renameat(s->layersfd, hex, s->layersfd, doomed) == 0) {
		if (!s->lim.no_sync)
			(void)fsync(s->layersfd);
		xasprintf(&p, "%s/%s", s->layers_dir, doomed);
	} else {
		xasprintf(&p, "%s/%s", s->layers_dir, hex);
	}
	(void)image_rm_tree(p, bytes);
	free(p);
	snprintf(want, sizeof(want), "../%s", hex);
	for (size_t n = SHORT_LEN; n <= 64; n++) {
		ssize_t k;
		snprintf(name, sizeof(name), "l/%.*s", (int)n, hex);
		k = readlinkat(s->layersfd, name, got, sizeof(got) - 1);
		if (k < 0)
			break;
		got[k] = '\0';
		if (strcmp(got, want) == 0) {
			(void)unlinkat(s->layersfd, name, 0);
			break;
		}
	}
}

/* ---- records ---------------------------------------------------------------- */

static void escape(const char *in, char *out, size_t len)
{
	size_t o = 0;

	if (!*in) {
		snprintf(out, len, "@");
		return;
	}
	for (size_t i = 0; in[i] && o + 4 < len; i++) {
		unsigned char c = (unsigned char)in[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '_' || c == '-' || (c == '.' && i > 0);
		if (keep)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, len - o, "%%%02X", c);
	}
	out[o] = '\0';
}

static int record_paths(const char *name, const char *tag, char *dir, char *file, struct error *err)
{
	char en[1024], et[1024];

	escape(name, en, sizeof(en));
	escape(tag, et, sizeof(et));
	if (strlen(en) > 255 || strlen(et) + 5 > 255)
		return error_set(err, ENAMETOOLONG, "image name '%.100s' or tag too long", name);
	snprintf(dir, 256, "%s", en);
	snprintf(file, 512, "%s/%s.json", en, et);
	return 0;
}

bool img_valid_tag(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

bool img_valid_name(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > 200 || n[0] == '/' || n[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)n[i] <= ' ' || (unsigned char)n[i] >= 0x7f || n[i] == '@')
			return false;
	return true;
}

bool img_is_path_ref(const char *ref)
{
	return ref[0] == '/' || strncmp(ref, "./", 2) == 0 || strncmp(ref, "../", 3) == 0;
}

/* "NAME[:TAG]" -> name, tag ("latest" if none). */
void img_split_name(const char *ref, char **name, char **tag, const char *def_tag)
{
	const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');

	if (colon && (!slash || colon > slash)) {
		*name = strndup(ref, (size_t)(colon - ref));
		*tag = xstrdup(colon + 1);
	} else {
		*name = xstrdup(ref);
		*tag = def_tag ? xstrdup(def_tag) : NULL;
	}
}

/*
 * A path reference -> layout path and tag: the whole ref if it is a
 * directory, else split at the last ':' after the last '/'.
 */
void img_split_path_ref(const char *ref, char **path, char **tag)
{
	struct stat st;

	if (stat(ref, &st) == 0 && S_ISDIR(st.st_mode)) {
		*path = xstrdup(ref);
		*tag = NULL;
		return;
	}
	img_split_name(ref, path, tag, NULL);
}

static json_object *defaults_or_empty(json_object *d)
{
	return d ? json_object_get(d) : json_object_new_object();
}

json_object *img_record_new(const struct image_plan *p, const char *name, const char *tag,
			    const char *source, const char *kind)
{
	json_object *r = json_object_new_object(), *ids = json_object_new_array();
	char *ref;

	xasprintf(&ref, "%s:%s", name, tag);
	json_object_object_add(r, "name", json_object_new_string(name));
	json_object_object_add(r, "tag", json_object_new_string(tag));
	json_object_object_add(r, "ref", json_object_new_string(ref));
	json_object_object_add(r, "source", json_object_new_string(source));
	json_object_object_add(r, "source_type", json_object_new_string(kind));
	json_object_object_add(r, "manifest_digest", json_object_new_string(p->manifest_digest));
	json_object_object_add(r, "config_digest", json_object_new_string(p->config_digest));
	json_object_object_add(r, "platform", json_object_new_string(p->platform));
	for (size_t i = 0; i < p->nlayers; i++) {
		char d[80];
		snprintf(d, sizeof(d), "sha256:%s", p->layers[i].diff_hex);
		json_object_array_add(ids, json_object_new_string(d));
	}
	json_object_object_add(r, "diff_ids", ids);
	json_object_object_add(r, "size", json_object_new_int64((int64_t)p->size));
	json_object_object_add(r, "imported", json_object_new_int64((int64_t)time(NULL)));
	json_object_object_add(r, "config", defaults_or_empty(p->defaults));
	free(ref);
	return r;
}

int img_record_write(struct image_store *s, json_object *rec, struct error *err)
{
	const char *name = json_object_get_string(json_object_object_get(rec, "name"));
	const char *tag = json_object_get_string(json_object_object_get(rec, "tag"));
	const char *text = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PRETTY);
	char dir[256], file[512], tmp[600];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);
	int r;

	r = record_paths(name, tag, dir, file, err);
	if (r < 0)
		return r;
	if (mkdirat(s->imagesfd, dir, 0700) < 0 && errno != EEXIST)
		return error_set(err, errno, "images/%s: %s", dir, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%d", dir, (int)getpid());
	fd = openat(s->imagesfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(err, errno, "images/%s: %s", tmp, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    (!s->lim.no_sync && fsync(fd) < 0)) {
		r = -errno;
		(void)unlinkat(s->imagesfd, tmp, 0);
		return error_set(err, r ? -r : EIO, "images/%s: write failed", tmp);
	}
	if (renameat(s->imagesfd, tmp, s->imagesfd, file) < 0) {
		r = -errno;
		(void)unlinkat(s->imagesfd, tmp, 0);
		return error_set(err, -r, "images/%s: %s", file, strerror(-r));
	}
	return 0;
}

static int record_read_file(struct image_store *s, const char *file, json_object **out)
{
	_cleanup_free_ char *buf = malloc(MAX_RECORD);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = read_file_at(s->imagesfd, file, buf, MAX_RECORD);
	if (n < 0)
		return (int)n;
	*out = json_tokener_parse(buf);
	if (!*out || !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		return -EBADMSG;
	}
	return 0;
}

int img_record_read(struct image_store *s, const char *name, const char *tag, json_object **out,
		    struct error *err)
{
	char dir[256], file[512];
	int r = record_paths(name, tag, dir, file, err);

	if (r < 0)
		return r;
	r = record_read_file(s, file, out);
	if (r == -ENOENT)
		return error_set(err, -r, "no image '%s%s%s'", name, *tag ? ":" : "", tag);
	if (r < 0)
		return error_set(err, -r, "image '%s:%s': bad record images/%s: %s", name, tag,
				 file, strerror(-r));
	return 0;
}

/* A ref (imported NAME[:TAG] or path reference) -> record name/tag, without importing. */
static int ref_key(const char *ref, char **name, char **tag, struct error *err)
{
	if (img_is_path_ref(ref)) {
		_cleanup_free_ char *path = NULL;
		char *rp;

		img_split_path_ref(ref, &path, tag);
		rp = realpath(path, NULL);
		if (!rp) {
			free(*tag);
			*tag = NULL;
			return error_set(err, errno, "%s: %s", path, strerror(errno));
		}
		*name = rp;
		if (!*tag)
			*tag = xstrdup("");
		return 0;
	}
	if (image_ref_is_remote(ref))
		return img_remote_key(ref, name, tag, err); /* as image_pull records it */
	if (strchr(ref, '@'))
		return error_set(err, EINVAL, "'%s': digest references are not supported", ref);
	img_split_name(ref, name, tag, "latest");
	return 0;
}

static char **strv_from_json(json_object *a)
{
	char **v;
	size_t n;

	if (!a || !json_object_is_type(a, json_type_array))
		return NULL;
	n = json_object_array_length(a);
	v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(json_object_get_string(json_object_array_get_idx(a, i)));
	return v;
}

static char *str_or_null(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
	    !*json_object_get_string(v))
		return NULL;
	return xstrdup(json_object_get_string(v));
}

int img_info_from_record(struct image_store *s, json_object *rec, struct image_info **out,
			 struct error *err)
{
	struct image_info *info = xcalloc(1, sizeof(*info));
	json_object *ids = json_object_object_get(rec, "diff_ids");
	json_object *cfg = json_object_object_get(rec, "config");
	size_t n;
	int r;

	info->ref = str_or_null(rec, "ref");
	info->digest = str_or_null(rec, "manifest_digest");
	info->config_digest = str_or_null(rec, "config_digest");
	info->layers_root = xstrdup(s->layers_dir);
	if (!info->ref || !ids || !json_object_is_type(ids, json_type_array)) {
		image_info_free(info);
		return error_set(err, EBADMSG, "image store: malformed record");
	}
	n = json_object_array_length(ids);
	info->nlayers = n;
	info->layer_dirs = xcalloc(n + 1, sizeof(char *));
	info->layer_digests = xcalloc(n + 1, sizeof(char *));
	info->layer_short = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		/* records list bottom first; overlay wants top first */
		const char *d = json_object_get_string(json_object_array_get_idx(ids, n - 1 - i));
		char shortname[80];

		if (!d || strncmp(d, "sha256:", 7) != 0 || !image_valid_hex(d + 7)) {
			image_info_free(info);
			return error_set(err, EBADMSG, "image %s: malformed record", info->ref);
		}
		if (!layer_present(s, d + 7)) {
			r = error_set(err, ENOENT, "image %s: layer %s is missing from the store",
				      info->ref, d);
			image_info_free(info);
			return r;
		}
		r = img_short_link(s, d + 7, shortname, sizeof(shortname));
		if (r < 0) {
			error_set(err, -r, "image %s: layer %s: short link: %s", info->ref, d,
				  strerror(-r));
			image_info_free(info);
			return r;
		}
		xasprintf(&info->layer_dirs[i], "%s/%s", s->layers_dir, d + 7);
		info->layer_digests[i] = xstrdup(d);
		info->layer_short[i] = xstrdup(shortname);
	}
	if (cfg) {
		info->entrypoint = strv_from_json(json_object_object_get(cfg, "Entrypoint"));
		info->cmd = strv_from_json(json_object_object_get(cfg, "Cmd"));
		info->env = strv_from_json(json_object_object_get(cfg, "Env"));
		info->working_dir = str_or_null(cfg, "WorkingDir");
		info->user = str_or_null(cfg, "User");
	}
	*out = info;
	return 0;
}

int image_resolve(struct image_store *s, const char *ref, struct image_info **out,
		  struct error *err)
{
	_cleanup_free_ char *name = NULL, *tag = NULL;
	_cleanup_json_ json_object *rec = NULL;
	int r;

	*out = NULL;
	if (!ref || !*ref)
		return error_set(err, EINVAL, "empty image reference");
	r = ref_key(ref, &name, &tag, err);
	if (r < 0)
		return r;
	r = img_record_read(s, name, tag, &rec, err);
	if (r < 0)
		return r;
	return img_info_from_record(s, rec, out, err);
}

struct image_info *image_info_free(struct image_info *info)
{
	if (!info)
		return NULL;
	free(info->ref);
	free(info->digest);
	free(info->config_digest);
	for (size_t i = 0; i < info->nlayers; i++) {
		if (info->layer_dirs)
			free(info->layer_dirs[i]);
		if (info->layer_digests)
			free(info->layer_digests[i]);
		if (info->layer_short)
			free(info->layer_short[i]);
	}
	free(info->layer_dirs);
	free(info->layer_digests);
	free(info->layer_short);
	image_strv_free(info->entrypoint);
	image_strv_free(info->cmd);
	image_strv_free(info->env);
	free(info->working_dir);
	free(info->user);
	free(info->layers_root);
	free(info);
	return NULL;
}

/* ---- overlay and config defaults -------------------------------------------- */

static bool overlay_safe(const char *p)
{
	return p && p[0] == '/' && !strpbrk(p, ":,\\");
}

int image_overlay_options(const struct image_info *info, const char *upper, const char *work,
			  char *buf, size_t len, char *chdir_to, size_t chdir_len)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t o, limit = len;
	int n;

	if (!info || !buf || !chdir_to || !info->layer_short || (!upper) != (!work) ||
	    (upper && (!overlay_safe(upper) || !overlay_safe(work))) ||
	    (!upper && info->nlayers == 0))
		return -EINVAL;
	if (page > 0 && (size_t)page < limit)
		limit = (size_t)page; /* mount(2) copies one page of data */
	if ((size_t)snprintf(chdir_to, chdir_len, "%s", info->layers_root) >= chdir_len)
		return -ENAMETOOLONG;
	n = snprintf(buf, limit, "lowerdir=");
	o = (size_t)n;
	for (size_t i = 0; i < info->nlayers; i++) {
		n = snprintf(buf + o, o < limit ? limit - o : 0, "%s%s", i ? ":" : "",
			     info->layer_short[i]);
		o += (size_t)n;
		if (o >= limit)
			return -ENAMETOOLONG;
	}
	/* no layers, or one without an upper dir: overlay wants another lower layer */
	if (info->nlayers == 0 || (info->nlayers == 1 && !upper)) {
		n = snprintf(buf + o, limit - o, "%sempty", info->nlayers ? ":" : "");
		o += (size_t)n;
		if (o >= limit)
			return -ENAMETOOLONG;
	}
	if (upper) {
		n = snprintf(buf + o, limit - o, ",upperdir=%s,workdir=%s", upper, work);
		if (o + (size_t)n >= limit)
			return -ENAMETOOLONG;
	}
	return 0;
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

int image_exec_argv(const struct image_info *info, char *const *entrypoint, char *const *command,
		    char ***argv_out)
{
	char *const *ep = entrypoint ? entrypoint : info->entrypoint;
	/* docker: a new entrypoint drops the image's Cmd */
	char *const *cmd = command ? command : (entrypoint ? NULL : info->cmd);
	size_t ne = strv_len(ep), nc = strv_len(cmd), k = 0;
	char **v;

	if (ne + nc == 0)
		return -ENOEXEC;
	v = xcalloc(ne + nc + 1, sizeof(char *));
	for (size_t i = 0; i < ne; i++)
		v[k++] = xstrdup(ep[i]);
	for (size_t i = 0; i < nc; i++)
		v[k++] = xstrdup(cmd[i]);
	*argv_out = v;
	return 0;
}

static bool same_key(const char *a, const char *b)
{
	size_t ka = strcspn(a, "="), kb = strcspn(b, "=");

	return ka == kb && strncmp(a, b, ka) == 0;
}

int image_merge_env(const struct image_info *info, char *const *spec_env, char ***out)
{
	size_t ni = strv_len(info ? info->env : NULL), ns = strv_len(spec_env), n = 0;
	char **v = xcalloc(ni + ns + 1, sizeof(char *));

	for (size_t i = 0; i < ni + ns; i++) {
		const char *e = i < ni ? info->env[i] : spec_env[i - ni];
		size_t k;

		for (k = 0; k < n; k++)
			if (same_key(v[k], e))
				break;
		if (k < n) {
			free(v[k]);
			v[k] = xstrdup(e);
		} else {
			v[n++] = xstrdup(e);
		}
	}
	*out = v;
	return 0;
}

/* ---- list, inspect, rm, prune ----------------------------------------------- */

typedef int (*record_fn)(json_object *rec, const char *file, void *arg);

/* Call fn for every record; stops at the first negative return. */
static int for_each_record(struct image_store *s, record_fn fn, void *arg)
{
	int fd = openat(s->imagesfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (r >= 0 && (de = readdir(d))) {
		int sub;
		DIR *sd;
		struct dirent *fe;

		if (de->d_name[0] == '.')
			continue;
		sub = openat(s->imagesfd, de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		sd = fdopendir(sub);
		if (!sd) {
			close(sub);
			continue;
		}
		while (r >= 0 && (fe = readdir(sd))) {
			size_t l = strlen(fe->d_name);
			char file[600];
			json_object *rec = NULL;

			if (fe->d_name[0] == '.' || l < 6 ||
			    strcmp(fe->d_name + l - 5, ".json") != 0)
				continue;
			snprintf(file, sizeof(file), "%s/%s", de->d_name, fe->d_name);
			if (record_read_file(s, file, &rec) < 0)
				continue;
			r = fn(rec, file, arg);
			json_object_put(rec);
		}
		closedir(sd);
	}
	closedir(d);
	return r;
}

static int list_cb(json_object *rec, const char *file, void *arg)
{
	json_object *arr = arg, *o = json_object_new_object(), *ids;
	static const char *const keys[] = { "ref",	     "name", "tag",    "manifest_digest",
					    "config_digest", "size", "source", "imported" };

	(void)file;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_object *v;
		if (json_object_object_get_ex(rec, keys[i], &v))
			json_object_object_add(
			    o, strcmp(keys[i], "manifest_digest") == 0 ? "digest" : keys[i],
			    json_object_get(v));
	}
	ids = json_object_object_get(rec, "diff_ids");
	json_object_object_add(o, "layers",
			       json_object_new_int(ids ? (int)json_object_array_length(ids) : 0));
	json_object_array_add(arr, o);
	return 0;
}

static int by_ref(const void *a, const void *b)
{
	json_object *const *x = a, *const *y = b;
	const char *rx = json_object_get_string(json_object_object_get(*x, "ref"));
	const char *ry = json_object_get_string(json_object_object_get(*y, "ref"));

	return strcmp(rx ? rx : "", ry ? ry : "");
}

int image_list(struct image_store *s, json_object **out, struct error *err)
{
	json_object *arr = json_object_new_array();
	int r = for_each_record(s, list_cb, arr);

	if (r < 0) {
		json_object_put(arr);
		return error_set(err, -r, "image store: %s", strerror(-r));
	}
	json_object_array_sort(arr, by_ref);
	*out = arr;
	return 0;
}

int image_inspect(struct image_store *s, const char *ref, json_object **out, struct error *err)
{
	_cleanup_free_ char *name = NULL, *tag = NULL;
	json_object *rec = NULL, *dirs, *ids;
	int r;

	r = ref_key(ref, &name, &tag, err);
	if (r < 0)
		return r;
	r = img_record_read(s, name, tag, &rec, err);
	if (r < 0)
		return r;
	ids = json_object_object_get(rec, "diff_ids");
	dirs = json_object_new_array();
	for (size_t i = ids ? json_object_array_length(ids) : 0; i-- > 0;) {
		const char *d = json_object_get_string(json_object_array_get_idx(ids, i));
		char *p;
		xasprintf(&p, "%s/%s", s->layers_dir, d && strlen(d) > 7 ? d + 7 : "?");
		json_object_array_add(dirs, json_object_new_string(p));
		free(p);
	}
	json_object_object_add(rec, "layer_dirs", dirs);
	*out = rec;
	return 0;
}

int image_rm(struct image_store *s, const char *ref, struct error *err)
{
	_cleanup_free_ char *name = NULL, *tag = NULL;
	char dir[256], file[512];
	int r;

	r = ref_key(ref, &name, &tag, err);
	if (r < 0)
		return r;
	r = record_paths(name, tag, dir, file, err);
	if (r < 0)
		return r;
	if (unlinkat(s->imagesfd, file, 0) < 0)
		return error_set(err, errno,
				 errno == ENOENT ? "no image '%s'" : "cannot remove '%s'", ref);
	(void)unlinkat(s->imagesfd, dir, AT_REMOVEDIR); /* if it was the last tag */
	return 0;
}

struct used {
	char **hex;
	size_t n, cap;
};

static void used_add(struct used *u, const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) != 0 || !image_valid_hex(digest + 7))
		return;
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 64;
		u->hex = realloc(u->hex, u->cap * sizeof(char *));
		if (!u->hex)
			abort();
	}
	u->hex[u->n++] = xstrdup(digest + 7);
}

static bool used_has(const struct used *u, const char *hex)
{
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->hex[i], hex) == 0)
			return true;
	return false;
}

static int used_cb(json_object *rec, const char *file, void *arg)
{
	json_object *ids = json_object_object_get(rec, "diff_ids");

	(void)file;
	for (size_t i = 0; ids && i < json_object_array_length(ids); i++)
		used_add(arg, json_object_get_string(json_object_array_get_idx(ids, i)));
	return 0;
}

int image_prune(struct image_store *s, const char *const *in_use, size_t n, uint64_t *freed,
		struct error *err)
{
	struct used used = { 0 };
	int glock, fd, removed = 0, r;
	DIR *d;
	struct dirent *de;

	if (freed)
		*freed = 0;
	glock = img_store_lock(s, LOCK_EX, err);
	if (glock < 0)
		return glock;
	r = for_each_record(s, used_cb, &used);
	if (r < 0) {
		close(glock);
		return error_set(err, -r, "image store: %s", strerror(-r));
	}
	for (size_t i = 0; i < n; i++)
		used_add(&used, in_use[i]);
	fd = openat(s->layersfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		r = error_set(err, errno, "%s: %s", s->layers_dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	while ((de = readdir(d))) {
		char hex[65], lockname[80];
		const char *name = de->d_name;
		bool tmp = strncmp(name, ".tmp-", 5) == 0;
		_cleanup_close_ int lfd = -1;

		if (tmp && strlen(name) > 5 + 64) {
			memcpy(hex, name + 5, 64);
			hex[64] = '\0';
		} else if (!tmp && strlen(name) == 64) {
			memcpy(hex, name, 65);
		} else {
			continue;
		}
		if (!image_valid_hex(hex) || (!tmp && used_has(&used, hex)))
			continue;
		snprintf(lockname, sizeof(lockname), ".lock-%s", hex);
		lfd = openat(s->layersfd, lockname, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0)
			continue; /* being unpacked or used right now */
		if (tmp) {
			char *p;
			xasprintf(&p, "%s/%s", s->layers_dir, name);
			(void)image_rm_tree(p, freed);
			free(p);
			continue;
		}
		img_remove_layer(s, hex, freed);
		(void)unlinkat(s->layersfd, lockname, 0);
		removed++;
	}
	closedir(d);
	r = removed;
out:
	for (size_t i = 0; i < used.n; i++)
		free(used.hex[i]);
	free(used.hex);
	close(glock);
	return r;
}
