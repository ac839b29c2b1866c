/*
 * image-oci.c - read image sources and plan imports: OCI image layouts
 * (a directory, or an oci-archive tar of one) and docker-archives
 * (`docker save` tars, or such a directory). Turns index.json, manifests,
 * image indexes and configs into struct image_plan: for each image, its
 * layers' blobs, compression, sizes, blob digests and diff_ids, and the
 * config defaults. Every JSON document is size-capped before it is read
 * and, where a descriptor names it, checked against its size and sha256
 * before it is parsed. Layers are verified later, while they unpack.
 *
 * Archives are not extracted: one pass over the tar records where each
 * member's data lies (the tar must be uncompressed, as both formats are),
 * and blobs are then read in place with pread(). A wrong offset could only
 * ever produce a digest mismatch, never unverified data.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "image-internal.h"
#include "path.h"
#include "util.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

#define ANN_REF_NAME "org.opencontainers.image.ref.name"
#define ANN_CONTAINERD_NAME "io.containerd.image.name"

#define MAX_MEMBERS 100000
#define MAX_INDEX_DEPTH 4

#if defined(__x86_64__)
#define HOST_ARCH "amd64"
#elif defined(__aarch64__)
#define HOST_ARCH "arm64"
#elif defined(__i386__)
#define HOST_ARCH "386"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH "ppc64le"
#elif defined(__s390x__)
#define HOST_ARCH "s390x"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_ARCH "riscv64"
#else
#define HOST_ARCH "unknown"
#endif

static const struct {
	const char *type;
	enum image_comp comp;
} layer_types[] = {
	{ "application/vnd.oci.image.layer.v1.tar", IMAGE_COMP_NONE },
	{ "application/vnd.oci.image.layer.v1.tar+gzip", IMAGE_COMP_GZIP },
	{ "application/vnd.oci.image.layer.v1.tar+zstd", IMAGE_COMP_ZSTD },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar", IMAGE_COMP_NONE },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", IMAGE_COMP_GZIP },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", IMAGE_COMP_ZSTD },
	{ "application/vnd.docker.image.rootfs.diff.tar", IMAGE_COMP_NONE },
	{ "application/vnd.docker.image.rootfs.diff.tar.gzip", IMAGE_COMP_GZIP },
	{ "application/vnd.docker.image.rootfs.diff.tar.zstd", IMAGE_COMP_ZSTD },
	{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", IMAGE_COMP_GZIP },
};

struct member {
	char *name;
	char *link; /* symlink target (resolved at lookup), or NULL */
	uint64_t off, size;
};

struct image_source {
	char *path; /* realpath */
	const char *kind; /* "oci-layout", "oci-archive", "docker-archive" */
	bool docker;
	int dirfd; /* layout or docker directory, or -1 */
	int tarfd; /* archive, or -1 */
	struct member *m;
	size_t nm;
	struct image_limits lim;
};

static void plan_clear(struct image_plan *p)
{
	free(p->name);
	free(p->tag);
	free(p->manifest_digest);
	free(p->config_digest);
	free(p->platform);
	if (p->layers)
		for (size_t k = 0; k < p->nlayers; k++)
			free(p->layers[k].blob);
	free(p->layers);
	json_object_put(p->defaults);
	memset(p, 0, sizeof(*p));
}

struct desc {
	const char *media;
	char hex[65];
	uint64_t size;
	json_object *obj;
};

/* ---- names inside archives -------------------------------------------------- */

/*
 * Member names are looked up, never written to disk: "/a" is "a", and ".."
 * pops a component (docker save links repeated layers as "../<id>/layer.tar"),
 * but one that would leave the archive's root fails, as does the root itself.
 */
static int norm_member(const char *in, char *out, size_t len)
{
	return path_normalize(in, out, len, PATH_NONEMPTY);
}

static struct member *find_member(struct image_source *s, const char *name)
{
	char cur[PATH_MAX], next[PATH_MAX];

	if (norm_member(name, cur, sizeof(cur)) < 0)
		return NULL;
	for (int hops = 0; hops < 8; hops++) {
		struct member *m = NULL;

		for (size_t i = 0; i < s->nm; i++)
			if (strcmp(s->m[i].name, cur) == 0)
				m = &s->m[i];
		if (!m || !m->link)
			return m;
		/* docker save writes repeated layers as relative symlinks */
		if (m->link[0] == '/')
			snprintf(next, sizeof(next), "%s", m->link);
		else {
			const char *slash = strrchr(cur, '/');
			snprintf(next, sizeof(next), "%.*s%s%s", slash ? (int)(slash - cur) : 0,
				 cur, slash ? "/" : "", m->link);
		}
		if (norm_member(next, cur, sizeof(cur)) < 0)
			return NULL;
	}
	return NULL;
}

/* Record where each member's data lies in the (uncompressed) tar. */
static int index_tar(struct image_source *s, struct error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t cap = 0;
	int r = 0;

	if (!a)
		return error_set(err, ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, s->tarfd, 64 * 1024) != ARCHIVE_OK) {
		r = error_set(err, EBADMSG,
			      "%s is not an uncompressed tar archive (compressed archives must be "
			      "decompressed first): %s",
			      s->path, archive_error_string(a) ? archive_error_string(a) : "");
		goto out;
	}
	for (;;) {
		char name[PATH_MAX];
		const char *hl;
		struct member m = { 0 };
		int rr = archive_read_next_header(a, &e);

		if (rr == ARCHIVE_EOF)
			break;
		if (rr < ARCHIVE_WARN) {
			r = error_set(err, EBADMSG, "%s: bad tar archive: %s", s->path,
				      archive_error_string(a) ? archive_error_string(a) : "");
			goto out;
		}
		if (!archive_entry_pathname(e) ||
		    norm_member(archive_entry_pathname(e), name, sizeof(name)) < 0)
			continue;
		hl = archive_entry_hardlink(e);
		if (hl) {
			struct member *t = find_member(s, hl);
			if (!t)
				continue;
			m.off = t->off;
			m.size = t->size;
			m.link = t->link ? xstrdup(t->link) : NULL;
		} else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e)) {
			m.link = xstrdup(archive_entry_symlink(e));
		} else if (archive_entry_filetype(e) == AE_IFREG) {
			if (archive_entry_sparse_count(e) > 0)
				continue;
			m.off = (uint64_t)archive_filter_bytes(a, -1);
			m.size = (uint64_t)archive_entry_size(e);
		} else {
			continue;
		}
		if (s->nm == MAX_MEMBERS) {
			free(m.link);
			r = error_set(err, EFBIG, "%s: more than %d archive members", s->path,
				      MAX_MEMBERS);
			goto out;
		}
		if (s->nm == cap) {
			cap = cap ? cap * 2 : 64;
			s->m = realloc(s->m, cap * sizeof(*s->m));
			if (!s->m)
				abort();
		}
		m.name = xstrdup(name);
		s->m[s->nm++] = m;
	}
out:
	archive_read_free(a);
	return r;
}

/* ---- sources ---------------------------------------------------------------- */

static bool src_has(struct image_source *s, const char *name)
{
	struct stat st;

	if (s->dirfd >= 0)
		return fstatat(s->dirfd, name, &st, 0) == 0 && S_ISREG(st.st_mode);
	return find_member(s, name) != NULL;
}

int image_source_open(const char *path, const struct image_limits *lim, struct image_source **out,
		      struct error *err)
{
	struct image_source *s;
	struct stat st;
	char *rp;
	int r;

	rp = realpath(path, NULL);
	if (!rp)
		return error_set(err, errno, "cannot open %s: %s", path, strerror(errno));
	s = xcalloc(1, sizeof(*s));
	s->path = rp;
	s->dirfd = s->tarfd = -1;
	s->lim = *lim;
	if (stat(rp, &st) < 0) {
		r = error_set(err, errno, "cannot open %s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		s->dirfd = open(rp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->dirfd < 0) {
			r = error_set(err, errno, "cannot open %s: %s", path, strerror(errno));
			goto fail;
		}
	} else if (S_ISREG(st.st_mode)) {
		s->tarfd = open(rp, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* never block on a fifo */
		if (s->tarfd < 0) {
			r = error_set(err, errno, "cannot open %s: %s", path, strerror(errno));
			goto fail;
		}
		r = index_tar(s, err);
		if (r < 0)
			goto fail;
	} else {
		r = error_set(err, EINVAL, "%s is neither a directory nor a file", path);
		goto fail;
	}
	if (src_has(s, "oci-layout")) {
		s->kind = s->dirfd >= 0 ? "oci-layout" : "oci-archive";
	} else if (src_has(s, "manifest.json")) {
		s->kind = "docker-archive";
		s->docker = true;
	} else {
		r = error_set(err, EINVAL,
			      "%s is neither an OCI image layout (no oci-layout file) nor a "
			      "docker-archive (no manifest.json)",
			      path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	image_source_free(s);
	return r;
}

struct image_source *image_source_free(struct image_source *s)
{
	if (!s)
		return NULL;
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->tarfd >= 0)
		close(s->tarfd);
	for (size_t i = 0; i < s->nm; i++) {
		free(s->m[i].name);
		free(s->m[i].link);
	}
	free(s->m);
	free(s->path);
	free(s);
	return NULL;
}

const char *image_source_kind(const struct image_source *s)
{
	return s->kind;
}

const char *image_source_path(const struct image_source *s)
{
	return s->path;
}

int image_source_blob(struct image_source *s, const char *name, struct image_blob *b,
		      struct error *err)
{
	struct stat st;

	*b = (struct image_blob){ .fd = -1 };
	if (s->dirfd >= 0) {
		struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
					.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
		long fd = syscall(SYS_openat2, s->dirfd, name, &how, sizeof(how));

		if (fd < 0 && errno == ENOSYS)
			fd = openat(s->dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return error_set(err, errno, "%s: %s: %s", s->path, name,
					 errno == ENOENT ? "missing" : strerror(errno));
		if (fstat((int)fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close((int)fd);
			return error_set(err, EINVAL, "%s: %s is not a regular file", s->path,
					 name);
		}
		b->fd = (int)fd;
		b->own = true;
		b->size = (uint64_t)st.st_size;
		return 0;
	}
	struct member *m = find_member(s, name);
	if (!m || m->link)
		return error_set(err, ENOENT, "%s: %s: missing", s->path, name);
	b->fd = s->tarfd;
	b->off = m->off;
	b->size = m->size;
	return 0;
}

void image_blob_close(struct image_blob *b)
{
	if (b->own && b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

/* ---- JSON documents --------------------------------------------------------- */

void img_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[32];
	unsigned int n = 0;

	(void)EVP_Digest(data, len, d, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Parse buf (len bytes) as one strict JSON document of the given type. */
int image_json_parse(const char *buf, size_t len, const char *what, int type, json_object **out,
		     struct error *err)
{
	json_tokener *tok;
	json_object *o;
	int r;

	tok = json_tokener_new_ex(64);
	if (!tok)
		return error_set(err, ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		r = error_set(err, EBADMSG, "%s: invalid JSON: %s", what,
			      json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		json_tokener_free(tok);
		return r;
	}
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		if (!strchr(" \t\r\n", buf[i])) {
			r = error_set(err, EBADMSG, "%s: trailing data after the JSON document",
				      what);
			json_object_put(o);
			json_tokener_free(tok);
			return r;
		}
	json_tokener_free(tok);
	if (!json_object_is_type(o, (json_type)type)) {
		r = error_set(err, EBADMSG, "%s: not a JSON %s", what,
			      type == json_type_array ? "array" : "object");
		json_object_put(o);
		return r;
	}
	*out = o;
	return 0;
}

/*
 * Read the JSON document name of the source: refuse it above the cap
 * before reading; with want_hex, check size and sha256 before parsing.
 * got_hex (may be NULL) receives the document's sha256.
 */
static int read_json(struct image_source *s, const char *name, const char *what,
		     const char *want_hex, uint64_t want_size, json_type type, json_object **out,
		     char *got_hex, struct error *err)
{
	_cleanup_free_ char *buf = NULL;
	struct image_blob b;
	char hex[65];
	size_t done = 0;
	int r;

	r = image_source_blob(s, name, &b, err);
	if (r < 0)
		return r;
	if (want_size != UINT64_MAX && b.size != want_size) {
		r = error_set(err, EBADMSG,
			      "%s: size mismatch: descriptor says %llu bytes, %s has %llu", what,
			      (unsigned long long)want_size, name, (unsigned long long)b.size);
		goto out;
	}
	if (b.size > s->lim.max_json_bytes) {
		r = error_set(
		    err, EFBIG, "%s: %llu bytes is over the limit of %llu for JSON documents", what,
		    (unsigned long long)b.size, (unsigned long long)s->lim.max_json_bytes);
		goto out;
	}
	buf = malloc(b.size + 1);
	if (!buf) {
		r = error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	while (done < b.size) {
		ssize_t n = pread(b.fd, buf + done, b.size - done, (off_t)(b.off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = error_set(err, n < 0 ? errno : EBADMSG, "%s: cannot read %s: %s", what,
				      name, n < 0 ? strerror(errno) : "truncated");
			goto out;
		}
		done += (size_t)n;
	}
	buf[b.size] = '\0';
	img_sha256_hex(buf, b.size, hex);
	if (got_hex)
		memcpy(got_hex, hex, 65);
	if (want_hex && strcmp(hex, want_hex) != 0) {
		r = error_set(
		    err, EBADMSG,
		    "%s: digest mismatch: descriptor says sha256:%s, content is sha256:%s", what,
		    want_hex, hex);
		goto out;
	}
	r = image_json_parse(buf, b.size, what, type, out, err);
out:
	image_blob_close(&b);
	return r;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *jget(json_object *o, const char *key, json_type type)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* "sha256:<64 lowercase hex>" -> hex; anything else is refused by name. */
static int parse_digest(const char *d, char hex[65], const char *what, struct error *err)
{
	const char *colon;

	if (!d)
		return error_set(err, EBADMSG, "%s: missing digest", what);
	colon = strchr(d, ':');
	if (!colon)
		return error_set(err, EBADMSG, "%s: malformed digest '%.80s'", what, d);
	if ((size_t)(colon - d) != 6 || strncmp(d, "sha256", 6) != 0)
		return error_set(err, ENOTSUP, "%s: digest algorithm '%.*s' is not supported", what,
				 (int)(colon - d) > 20 ? 20 : (int)(colon - d), d);
	if (!image_valid_hex(colon + 1))
		return error_set(err, EBADMSG, "%s: malformed digest '%.80s'", what, d);
	memcpy(hex, colon + 1, 65);
	return 0;
}

static int parse_desc(json_object *o, const char *what, struct desc *d, struct error *err)
{
	json_object *size;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return error_set(err, EBADMSG, "%s: descriptor is not an object", what);
	d->obj = o;
	d->media = jstr(o, "mediaType");
	if (!d->media)
		return error_set(err, EBADMSG, "%s: descriptor without mediaType", what);
	r = parse_digest(jstr(o, "digest"), d->hex, what, err);
	if (r < 0)
		return r;
	size = jget(o, "size", json_type_int);
	if (!size || json_object_get_int64(size) < 0)
		return error_set(err, EBADMSG, "%s: descriptor without a valid size", what);
	d->size = (uint64_t)json_object_get_int64(size);
	return 0;
}

static bool is_index(const char *mt)
{
	return strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0;
}

static bool is_manifest(const char *mt)
{
	return strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0;
}

static void blob_name(const char *hex, char *buf, size_t len)
{
	snprintf(buf, len, "blobs/sha256/%s", hex);
}

static bool platform_fits(json_object *p)
{
	const char *os = jstr(p, "os"), *arch = jstr(p, "architecture");

	return os && arch && strcmp(os, "linux") == 0 && strcmp(arch, HOST_ARCH) == 0;
}

/* Pick linux/<host arch> among descriptors; say what there is when none fits. */
static int pick_platform(json_object *arr, const char *what, struct desc *out, struct error *err)
{
	char avail[256] = "";
	size_t n = json_object_array_length(arr);
	int r;

	for (size_t i = 0; i < n; i++) {
		json_object *p =
		    jget(json_object_array_get_idx(arr, i), "platform", json_type_object);
		if (p && platform_fits(p)) {
			char w[160];
			snprintf(w, sizeof(w), "%s, manifest %zu", what, i);
			return parse_desc(json_object_array_get_idx(arr, i), w, out, err);
		}
	}
	for (size_t i = 0; i < n; i++) {
		json_object *p =
		    jget(json_object_array_get_idx(arr, i), "platform", json_type_object);
		const char *os = jstr(p, "os"), *arch = jstr(p, "architecture"),
			   *var = jstr(p, "variant");
		size_t l = strlen(avail);

		if (!os || !arch || strcmp(os, "unknown") == 0)
			continue;
		r = snprintf(avail + l, sizeof(avail) - l, "%s%s/%s%s%s", l ? ", " : "", os, arch,
			     var ? "/" : "", var ? var : "");
		if (r < 0 || (size_t)r >= sizeof(avail) - l)
			break;
	}
	return error_set(err, ENOENT, "%s: no image for linux/%s (available: %s)", what, HOST_ARCH,
			 *avail ? avail : "none");
}

bool image_media_is_index(const char *media)
{
	return is_index(media);
}

bool image_media_is_manifest(const char *media)
{
	return is_manifest(media);
}

/* The descriptor of index's manifest for linux/<host arch>: digest, size, media type. */
int image_index_pick(json_object *index, const char *what, char hex[65], uint64_t *size,
		     char *media, size_t media_len, struct error *err)
{
	json_object *arr = jget(index, "manifests", json_type_array);
	struct desc d;
	int r;

	if (!arr)
		return error_set(err, EBADMSG, "%s: no manifests array", what);
	r = pick_platform(arr, what, &d, err);
	if (r < 0)
		return r;
	memcpy(hex, d.hex, 65);
	*size = d.size;
	snprintf(media, media_len, "%s", d.media);
	return 0;
}

/* Follow image indexes down to the manifest for this host. */
static int to_manifest(struct image_source *s, struct desc *d, const char *what, int depth,
		       struct error *err)
{
	_cleanup_json_ json_object *idx = NULL;
	json_object *arr;
	char name[96], w[200];
	int r;

	if (is_manifest(d->media))
		return 0;
	if (!is_index(d->media))
		return error_set(err, ENOTSUP, "%s (sha256:%.12s): unsupported media type '%s'",
				 what, d->hex, d->media);
	if (depth >= MAX_INDEX_DEPTH)
		return error_set(err, ELOOP, "%s: image indexes nested too deep", what);
	blob_name(d->hex, name, sizeof(name));
	snprintf(w, sizeof(w), "image index sha256:%s", d->hex);
	r = read_json(s, name, w, d->hex, d->size, json_type_object, &idx, NULL, err);
	if (r < 0)
		return r;
	arr = jget(idx, "manifests", json_type_array);
	if (!arr)
		return error_set(err, EBADMSG, "%s: no manifests array", w);
	r = pick_platform(arr, w, d, err);
	if (r < 0)
		return r;
	/* d->obj points into idx: keep only what we need before idx goes */
	d->obj = NULL;
	{
		static char media[128];
		/* media strings we accept are static; copy the type into one of them */
		if (is_manifest(d->media))
			d->media = strcmp(d->media, MT_OCI_MANIFEST) == 0 ? MT_OCI_MANIFEST
									  : MT_DOCKER_MANIFEST;
		else if (is_index(d->media))
			d->media =
			    strcmp(d->media, MT_OCI_INDEX) == 0 ? MT_OCI_INDEX : MT_DOCKER_LIST;
		else {
			snprintf(media, sizeof(media), "%s", d->media);
			d->media = media;
		}
	}
	return to_manifest(s, d, what, depth + 1, err);
}

/* A config array of strings -> copy, or NULL when absent/null. */
static json_object *str_array(json_object *cfg, const char *key)
{
	json_object *a = jget(cfg, key, json_type_array), *copy;

	if (!a)
		return NULL;
	copy = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *v = json_object_array_get_idx(a, i);
		if (json_object_is_type(v, json_type_string))
			json_object_array_add(copy,
					      json_object_new_string(json_object_get_string(v)));
	}
	return copy;
}

/* Config: diff_ids into the plan's layers, platform check, defaults. */
int image_config_plan(json_object *cfg, const char *what, struct image_plan *p, struct error *err)
{
	json_object *rootfs = jget(cfg, "rootfs", json_type_object), *ids, *c;
	const char *os = jstr(cfg, "os"), *arch = jstr(cfg, "architecture"), *s;
	int r;

	if (!rootfs || !(ids = jget(rootfs, "diff_ids", json_type_array)))
		return error_set(err, EBADMSG, "%s: no rootfs.diff_ids", what);
	if (jstr(rootfs, "type") && strcmp(jstr(rootfs, "type"), "layers") != 0)
		return error_set(err, EBADMSG, "%s: rootfs.type is '%s', not 'layers'", what,
				 jstr(rootfs, "type"));
	if (json_object_array_length(ids) != p->nlayers)
		return error_set(err, EBADMSG, "%s: %zu diff_ids for %zu layers in the manifest",
				 what, json_object_array_length(ids), p->nlayers);
	for (size_t i = 0; i < p->nlayers; i++) {
		json_object *v = json_object_array_get_idx(ids, i);
		char w[200];

		snprintf(w, sizeof(w), "%s: diff_ids[%zu]", what, i);
		r = parse_digest(
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL,
		    p->layers[i].diff_hex, w, err);
		if (r < 0)
			return r;
	}
	if ((os && strcmp(os, "linux") != 0) || (arch && strcmp(arch, HOST_ARCH) != 0))
		return error_set(err, ENOEXEC, "%s: image is for %s/%s, this host runs linux/%s",
				 what, os ? os : "?", arch ? arch : "?", HOST_ARCH);
	xasprintf(&p->platform, "%s/%s", os ? os : "linux", arch ? arch : HOST_ARCH);
	p->defaults = json_object_new_object();
	c = jget(cfg, "config", json_type_object);
	if (!c)
		c = jget(cfg, "container_config", json_type_object); /* very old docker */
	if (c) {
		static const char *const arrays[] = { "Entrypoint", "Cmd", "Env" };
		for (size_t i = 0; i < ARRAY_SIZE(arrays); i++) {
			json_object *a = str_array(c, arrays[i]);
			if (a)
				json_object_object_add(p->defaults, arrays[i], a);
		}
		if ((s = jstr(c, "WorkingDir")) && *s)
			json_object_object_add(p->defaults, "WorkingDir",
					       json_object_new_string(s));
		if ((s = jstr(c, "User")) && *s)
			json_object_object_add(p->defaults, "User", json_object_new_string(s));
	}
	return 0;
}

/* Split "name:tag" (tag after the last '/') into plan name/tag. */
static void split_ref(const char *ref, char **name, char **tag)
{
	const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');

	if (colon && (!slash || colon > slash)) {
		*name = strndup(ref, (size_t)(colon - ref));
		*tag = xstrdup(colon + 1);
	} else {
		*name = xstrdup(ref);
		*tag = NULL;
	}
}

/*
 * The layers of manifest man (whose descriptor says media) into p, and
 * its config descriptor: the half of planning that reads nothing.
 */
int image_manifest_plan(json_object *man, const char *media, const char *w, struct image_plan *p,
			char cfg_hex[65], uint64_t *cfg_size, struct error *err)
{
	json_object *layers;
	struct desc cd;
	char name[96];
	const char *mt;
	int r;

	mt = jstr(man, "mediaType");
	if (mt && strcmp(mt, media) != 0)
		return error_set(err, EBADMSG,
				 "%s: mediaType '%s' differs from its descriptor's '%s'", w, mt,
				 media);
	if (!jget(man, "config", json_type_object))
		return error_set(err, EBADMSG, "%s: no config", w);
	r = parse_desc(jget(man, "config", json_type_object), w, &cd, err);
	if (r < 0)
		return r;
	if (strcmp(cd.media, MT_OCI_CONFIG) != 0 && strcmp(cd.media, MT_DOCKER_CONFIG) != 0)
		return error_set(err, ENOTSUP,
				 "%s: config sha256:%.12s: unsupported media type '%s'", w, cd.hex,
				 cd.media);
	layers = jget(man, "layers", json_type_array);
	if (!layers)
		return error_set(err, EBADMSG, "%s: no layers array", w);
	p->nlayers = json_object_array_length(layers);
	p->layers = xcalloc(p->nlayers ? p->nlayers : 1, sizeof(*p->layers));
	for (size_t i = 0; i < p->nlayers; i++) {
		struct image_plan_layer *l = &p->layers[i];
		struct desc ld;
		char lw[240];
		size_t t;

		snprintf(lw, sizeof(lw), "%s: layer %zu", w, i);
		r = parse_desc(json_object_array_get_idx(layers, i), lw, &ld, err);
		if (r < 0)
			return r;
		for (t = 0; t < ARRAY_SIZE(layer_types); t++)
			if (strcmp(ld.media, layer_types[t].type) == 0)
				break;
		if (t == ARRAY_SIZE(layer_types))
			return error_set(err, ENOTSUP,
					 "%s (blob sha256:%s): unsupported layer media type '%s'",
					 lw, ld.hex, ld.media);
		l->comp = layer_types[t].comp;
		memcpy(l->blob_hex, ld.hex, 65);
		l->size = ld.size;
		blob_name(ld.hex, name, sizeof(name));
		l->blob = xstrdup(name);
		p->size += ld.size;
	}
	memcpy(cfg_hex, cd.hex, 65);
	*cfg_size = cd.size;
	return 0;
}

static int plan_manifest(struct image_source *s, struct desc *md, const char *what,
			 struct image_plan *p, struct error *err)
{
	_cleanup_json_ json_object *man = NULL, *cfg = NULL;
	char name[96], w[200], cw[200], cfg_hex[65];
	uint64_t cfg_size;
	int r;

	blob_name(md->hex, name, sizeof(name));
	snprintf(w, sizeof(w), "manifest sha256:%s", md->hex);
	r = read_json(s, name, w, md->hex, md->size, json_type_object, &man, NULL, err);
	if (r < 0)
		return r;
	r = image_manifest_plan(man, md->media, w, p, cfg_hex, &cfg_size, err);
	if (r < 0)
		return r;
	blob_name(cfg_hex, name, sizeof(name));
	snprintf(cw, sizeof(cw), "config sha256:%s", cfg_hex);
	r = read_json(s, name, cw, cfg_hex, cfg_size, json_type_object, &cfg, NULL, err);
	if (r < 0)
		return r;
	xasprintf(&p->manifest_digest, "sha256:%s", md->hex);
	xasprintf(&p->config_digest, "sha256:%s", cfg_hex);
	(void)what;
	return image_config_plan(cfg, cw, p, err);
}

struct group {
	const char *tag; /* ref.name, NULL = untagged */
	const char *fullname; /* io.containerd.image.name */
	size_t *idx;
	size_t n;
};

static int plan_oci(struct image_source *s, const char *only_tag, bool single_required,
		    struct image_plan **plans, size_t *nplans, struct error *err)
{
	_cleanup_json_ json_object *layout = NULL, *index = NULL;
	_cleanup_free_ struct group *groups = NULL;
	json_object *mans;
	const char *ver;
	size_t ng = 0, n, sel = 0;
	struct image_plan *out = NULL;
	int r;

	r = read_json(s, "oci-layout", "oci-layout", NULL, UINT64_MAX, json_type_object, &layout,
		      NULL, err);
	if (r < 0)
		return r;
	ver = jstr(layout, "imageLayoutVersion");
	if (!ver || strncmp(ver, "1.", 2) != 0)
		return error_set(err, ENOTSUP, "%s: unsupported imageLayoutVersion '%s'", s->path,
				 ver ? ver : "(none)");
	r = read_json(s, "index.json", "index.json", NULL, UINT64_MAX, json_type_object, &index,
		      NULL, err);
	if (r < 0)
		return r;
	mans = jget(index, "manifests", json_type_array);
	if (!mans)
		return error_set(err, EBADMSG, "%s: index.json has no manifests array", s->path);
	n = json_object_array_length(mans);
	groups = xcalloc(n ? n : 1, sizeof(*groups));
	for (size_t i = 0; i < n; i++) {
		json_object *ann =
		    jget(json_object_array_get_idx(mans, i), "annotations", json_type_object);
		const char *tag = jstr(ann, ANN_REF_NAME);
		size_t g;

		for (g = 0; g < ng; g++)
			if ((!tag && !groups[g].tag) ||
			    (tag && groups[g].tag && strcmp(tag, groups[g].tag) == 0))
				break;
		if (g == ng) {
			groups[ng].tag = tag;
			groups[ng].fullname = jstr(ann, ANN_CONTAINERD_NAME);
			groups[ng].idx = xcalloc(n, sizeof(size_t));
			ng++;
		}
		groups[g].idx[groups[g].n++] = i;
	}
	if (ng == 0) {
		r = error_set(err, ENOENT, "%s: index.json lists no images", s->path);
		goto out;
	}
	if (only_tag) {
		char tags[256] = "";
		for (size_t g = 0; g < ng; g++) {
			size_t l = strlen(tags);
			if (groups[g].tag && strcmp(groups[g].tag, only_tag) == 0)
				break;
			if (groups[g].tag)
				snprintf(tags + l, sizeof(tags) - l, "%s%s", l ? ", " : "",
					 groups[g].tag);
			if (g + 1 == ng) {
				r = error_set(err, ENOENT, "%s: no image tagged '%s' (tags: %s)",
					      s->path, only_tag, *tags ? tags : "none");
				goto out;
			}
		}
	} else if (single_required && ng != 1) {
		r = error_set(err, EINVAL, "%s holds %zu images; name one with PATH:TAG", s->path,
			      ng);
		goto out;
	}
	out = xcalloc(ng, sizeof(*out));
	for (size_t g = 0; g < ng; g++) {
		struct group *gr = &groups[g];
		struct image_plan *p = &out[sel];
		struct desc d;
		char what[160];

		if (only_tag && (!gr->tag || strcmp(gr->tag, only_tag) != 0))
			continue;
		snprintf(what, sizeof(what), "%s: image '%s'", s->path,
			 gr->tag ? gr->tag : "(untagged)");
		if (gr->n > 1) {
			/* several manifests under one name: platform variants */
			json_object *arr = json_object_new_array();
			for (size_t k = 0; k < gr->n; k++)
				json_object_array_add(
				    arr,
				    json_object_get(json_object_array_get_idx(mans, gr->idx[k])));
			r = pick_platform(arr, what, &d, err);
			if (r == 0)
				r = to_manifest(s, &d, what, 0, err);
			json_object_put(arr);
		} else {
			r = parse_desc(json_object_array_get_idx(mans, gr->idx[0]), what, &d, err);
			if (r == 0)
				r = to_manifest(s, &d, what, 0, err);
		}
		if (r < 0)
			goto out;
		r = plan_manifest(s, &d, what, p, err);
		sel++;
		if (r < 0)
			goto out;
		if (gr->fullname) {
			char *nm, *tg;
			split_ref(gr->fullname, &nm, &tg);
			p->name = nm;
			p->tag = tg ? tg : (gr->tag ? xstrdup(gr->tag) : NULL);
		} else if (gr->tag && strpbrk(gr->tag, "/:")) {
			split_ref(gr->tag, &p->name, &p->tag);
		} else {
			p->tag = gr->tag ? xstrdup(gr->tag) : NULL;
		}
	}
	*plans = steal_pointer(&out);
	*nplans = sel;
	r = 0;
out:
	if (out)
		image_plans_free(out, sel);
	for (size_t g = 0; g < ng; g++)
		free(groups[g].idx);
	return r;
}

/* docker save: manifest.json [{Config, RepoTags, Layers}]; layer digests only via diff_ids. */
static int plan_docker(struct image_source *s, const char *only_tag, bool single_required,
		       struct image_plan **plans, size_t *nplans, struct error *err)
{
	_cleanup_json_ json_object *mj = NULL;
	struct image_plan *out = NULL;
	size_t n, cap = 0, np = 0;
	int r;

	r = read_json(s, "manifest.json", "manifest.json", NULL, UINT64_MAX, json_type_array, &mj,
		      NULL, err);
	if (r < 0)
		return r;
	n = json_object_array_length(mj);
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(mj, i), *layers, *tags;
		_cleanup_json_ json_object *cfg = NULL;
		const char *cname = jstr(it, "Config");
		char want[65] = "", got[65], what[300];
		struct image_plan base = { 0 };
		size_t ntags;
		const char *b;

		if (!cname || !(layers = jget(it, "Layers", json_type_array))) {
			r = error_set(err, EBADMSG,
				      "%s: manifest.json entry %zu lacks Config or Layers", s->path,
				      i);
			goto out;
		}
		/* the config's file name is its digest: "<hex>.json" or "blobs/sha256/<hex>" */
		b = strrchr(cname, '/') ? strrchr(cname, '/') + 1 : cname;
		if (strlen(b) >= 64) {
			memcpy(want, b, 64);
			want[64] = '\0';
			if (!image_valid_hex(want) || (b[64] && strcmp(b + 64, ".json") != 0))
				want[0] = '\0';
		}
		snprintf(what, sizeof(what), "%s: config %s", s->path, cname);
		r = read_json(s, cname, what, *want ? want : NULL, UINT64_MAX, json_type_object,
			      &cfg, got, err);
		if (r < 0)
			goto out;
		base.nlayers = json_object_array_length(layers);
		base.layers = xcalloc(base.nlayers ? base.nlayers : 1, sizeof(*base.layers));
		for (size_t k = 0; k < base.nlayers; k++) {
			json_object *l = json_object_array_get_idx(layers, k);
			struct image_blob blob;
			if (!json_object_is_type(l, json_type_string)) {
				plan_clear(&base);
				r = error_set(err, EBADMSG, "%s: manifest.json: bad layer %zu",
					      s->path, k);
				goto out;
			}
			base.layers[k].blob = xstrdup(json_object_get_string(l));
			base.layers[k].comp = IMAGE_COMP_AUTO;
			base.layers[k].size = UINT64_MAX;
			if (image_source_blob(s, base.layers[k].blob, &blob, err) == 0) {
				base.layers[k].size = blob.size;
				base.size += blob.size;
				image_blob_close(&blob);
			}
		}
		r = image_config_plan(cfg, what, &base, err);
		if (r < 0) {
			plan_clear(&base);
			goto out;
		}
		xasprintf(&base.config_digest, "sha256:%s", got);
		base.manifest_digest = xstrdup(base.config_digest);
		tags = jget(it, "RepoTags", json_type_array);
		ntags = tags ? json_object_array_length(tags) : 0;
		for (size_t t = 0; t < (ntags ? ntags : 1); t++) {
			struct image_plan p = { 0 };
			const char *rt =
			    ntags ? json_object_get_string(json_object_array_get_idx(tags, t))
				  : NULL;
			if (rt)
				split_ref(rt, &p.name, &p.tag);
			if (only_tag && (!p.tag || strcmp(p.tag, only_tag) != 0)) {
				free(p.name);
				free(p.tag);
				continue;
			}
			p.manifest_digest = xstrdup(base.manifest_digest);
			p.config_digest = xstrdup(base.config_digest);
			p.platform = xstrdup(base.platform);
			p.defaults = json_object_get(base.defaults);
			p.size = base.size;
			p.nlayers = base.nlayers;
			p.layers = xcalloc(p.nlayers ? p.nlayers : 1, sizeof(*p.layers));
			for (size_t k = 0; k < p.nlayers; k++) {
				p.layers[k] = base.layers[k];
				p.layers[k].blob = xstrdup(base.layers[k].blob);
			}
			if (np == cap) {
				cap = cap ? cap * 2 : 4;
				out = realloc(out, cap * sizeof(*out));
				if (!out)
					abort();
			}
			out[np++] = p;
		}
		plan_clear(&base);
	}
	if (np == 0) {
		if (only_tag)
			r = error_set(err, ENOENT, "%s: no image tagged '%s'", s->path, only_tag);
		else
			r = error_set(err, ENOENT, "%s: manifest.json lists no images", s->path);
		goto out;
	}
	if (single_required && !only_tag && np != 1) {
		r = error_set(err, EINVAL, "%s holds %zu images; name one with PATH:TAG", s->path,
			      np);
		goto out;
	}
	*plans = steal_pointer(&out);
	*nplans = np;
	return 0;
out:
	if (out)
		image_plans_free(out, np);
	return r;
}

int image_source_plan(struct image_source *s, const char *only_tag, bool single_required,
		      const char *default_name, struct image_plan **plans, size_t *nplans,
		      struct error *err)
{
	int r;

	*plans = NULL;
	*nplans = 0;
	if (s->docker)
		r = plan_docker(s, only_tag, single_required, plans, nplans, err);
	else
		r = plan_oci(s, only_tag, single_required, plans, nplans, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < *nplans; i++)
		if (!(*plans)[i].name && default_name)
			(*plans)[i].name = xstrdup(default_name);
	return 0;
}

/* Frees n plans and the array. */
void image_plans_free(struct image_plan *plans, size_t n)
{
	for (size_t i = 0; i < n; i++)
		plan_clear(&plans[i]);
	free(plans);
}
