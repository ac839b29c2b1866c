/*
 * test-image.c - unit tests for the image store. Builds small OCI image
 * layouts in temporary directories (tars with libarchive's write API,
 * manifests with json-c), so hostile layers are exact: escapes by "..",
 * absolute paths, symlinks and hardlinks, bad whiteouts, overlay xattrs,
 * digest/size/diff_id mismatches, truncated or padded gzip, a gzip bomb,
 * oversized JSON, unknown media types, foreign platforms. Each must be
 * refused with a clear message, leave a sentinel outside the store
 * untouched and leave no layer, temporary directory or record behind.
 * Good images are unpacked, checked layer by layer, and mounted as a real
 * overlay. Needs root (mknod, chown, trusted.* xattrs, mount); skips (77)
 * otherwise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image.h"

/* ---- fixtures ------------------------------------------------------------ */

static char tmproot[64]; /* per test: <tmp>/{layout,state,sentinel,mnt} */
static char layout[128], state[128], sentinel[128];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int setup(void **st)
{
	(void)st;
	snprintf(tmproot, sizeof(tmproot), "/tmp/test-image-XXXXXX");
	assert_non_null(mkdtemp(tmproot));
	snprintf(layout, sizeof(layout), "%s/layout", tmproot);
	snprintf(state, sizeof(state), "%s/state", tmproot);
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel", tmproot);
	assert_int_equal(mkdir(layout, 0755), 0);
	assert_int_equal(mkdir(sentinel, 0755), 0);
	{
		FILE *f;
		char p[200];
		snprintf(p, sizeof(p), "%s/file", sentinel);
		f = fopen(p, "w");
		assert_non_null(f);
		fputs("sentinel\n", f);
		fclose(f);
		assert_int_equal(chmod(p, 0644), 0);
	}
	return 0;
}

static int teardown(void **st)
{
	char m[200];

	(void)st;
	snprintf(m, sizeof(m), "%s/mnt", tmproot);
	(void)umount2(m, MNT_DETACH);
	nftw(tmproot, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void sentinel_intact(void)
{
	char p[200], buf[64] = "";
	struct stat st;
	DIR *d;
	struct dirent *de;
	int n = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/file", sentinel);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_nlink, 1);
	f = fopen(p, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "sentinel\n");
	d = opendir(sentinel);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	assert_int_equal(n, 1);
	assert_int_equal(stat(sentinel, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* nothing was made next to the store either */
	d = opendir(tmproot);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			assert_true(
			    strcmp(de->d_name, "layout") == 0 || strcmp(de->d_name, "state") == 0 ||
			    strcmp(de->d_name, "sentinel") == 0 || strcmp(de->d_name, "mnt") == 0 ||
			    strcmp(de->d_name, "upper") == 0 || strcmp(de->d_name, "work") == 0);
	closedir(d);
}

/* Count layer dirs and temp dirs in the store, and image records. */
static void store_counts(int *layers, int *tmps, int *records)
{
	char p[200];
	DIR *d;
	struct dirent *de;

	*layers = *tmps = *records = 0;
	snprintf(p, sizeof(p), "%s/layers", state);
	d = opendir(p);
	if (d) {
		while ((de = readdir(d))) {
			if (strncmp(de->d_name, ".tmp-", 5) == 0)
				(*tmps)++;
			else if (strlen(de->d_name) == 64)
				(*layers)++;
		}
		closedir(d);
	}
	snprintf(p, sizeof(p), "%s/images", state);
	d = opendir(p);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] != '.')
				(*records)++;
		}
		closedir(d);
	}
}

static void store_clean(void)
{
	int l, t, r;

	store_counts(&l, &t, &r);
	assert_int_equal(l, 0);
	assert_int_equal(t, 0);
	assert_int_equal(r, 0);
}

/* ---- building images ----------------------------------------------------- */

enum { C_NONE, C_GZIP, C_ZSTD };

struct ent {
	const char *path;
	char type; /* f d l h c b p */
	unsigned mode;
	const char *data; /* content, or link target */
	unsigned uid, gid;
	unsigned maj, min;
	const char *xname, *xvalue;
	long long mtime;
};

struct wbuf {
	unsigned char *p;
	size_t len, cap;
};

static la_ssize_t wbuf_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct wbuf *w = arg;

	(void)a;
	if (w->len + len > w->cap) {
		w->cap = (w->len + len) * 2;
		w->p = realloc(w->p, w->cap);
		assert_non_null(w->p);
	}
	memcpy(w->p + w->len, buf, len);
	w->len += len;
	return (la_ssize_t)len;
}

static void make_tar(const struct ent *e, struct wbuf *out)
{
	struct archive *a = archive_write_new();

	memset(out, 0, sizeof(*out));
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, out, NULL, wbuf_write, NULL), ARCHIVE_OK);
	for (; e->path; e++) {
		struct archive_entry *ae = archive_entry_new();
		size_t dlen = e->data ? strlen(e->data) : 0;

		archive_entry_set_pathname(ae, e->path);
		archive_entry_set_uid(ae, e->uid);
		archive_entry_set_gid(ae, e->gid);
		archive_entry_set_mtime(ae, e->mtime ? e->mtime : 1600000000, 0);
		switch (e->type) {
		case 'f':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t)dlen);
			break;
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e->data);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e->data);
			archive_entry_set_size(ae, 0);
			break;
		case 'c':
		case 'b':
			archive_entry_set_filetype(ae, e->type == 'c' ? AE_IFCHR : AE_IFBLK);
			archive_entry_set_rdevmajor(ae, e->maj);
			archive_entry_set_rdevminor(ae, e->min);
			break;
		case 'p':
			archive_entry_set_filetype(ae, AE_IFIFO);
			break;
		}
		archive_entry_set_perm(ae, e->mode ? e->mode : (e->type == 'd' ? 0755 : 0644));
		if (e->xname)
			archive_entry_xattr_add_entry(ae, e->xname, e->xvalue, strlen(e->xvalue));
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (e->type == 'f' && dlen)
			assert_int_equal(archive_write_data(a, e->data, dlen), (la_ssize_t)dlen);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* Compress with libarchive's raw format behind a gzip or zstd filter. */
static void compress(const void *in, size_t len, int comp, struct wbuf *out)
{
	struct archive *a;
	struct archive_entry *ae;

	memset(out, 0, sizeof(*out));
	if (comp == C_NONE) {
		out->p = malloc(len ? len : 1);
		memcpy(out->p, in, len);
		out->len = out->cap = len;
		return;
	}
	a = archive_write_new();
	if (comp == C_GZIP)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	else
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_per_block(a, 0), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, out, NULL, wbuf_write, NULL), ARCHIVE_OK);
	ae = archive_entry_new();
	archive_entry_set_pathname(ae, "data");
	archive_entry_set_filetype(ae, AE_IFREG);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	if (len)
		assert_int_equal(archive_write_data(a, in, len), (la_ssize_t)len);
	archive_entry_free(ae);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void sha256_hex(const void *p, size_t len, char out[65])
{
	unsigned char d[32];
	unsigned n;

	EVP_Digest(p, len, d, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Store bytes as a blob named by hex (their digest unless lying). */
static void put_blob_as(const char *dir, const char *hex, const void *p, size_t len)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/blobs", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, hex);
	write_file(path, p, len);
}

static void put_blob(const char *dir, const void *p, size_t len, char hex[65])
{
	sha256_hex(p, len, hex);
	put_blob_as(dir, hex, p, len);
}

static json_object *descr(const char *media, const char *hex, size_t size)
{
	json_object *o = json_object_new_object();
	char d[80];

	snprintf(d, sizeof(d), "sha256:%s", hex);
	json_object_object_add(o, "mediaType", json_object_new_string(media));
	json_object_object_add(o, "digest", json_object_new_string(d));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	return o;
}

static void put_json_blob(const char *dir, json_object *o, char hex[65], size_t *size)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	*size = strlen(s);
	put_blob(dir, s, *size, hex);
}

struct layer {
	const struct ent *ents;
	int comp;
	const char *media; /* override */
	/* hostility */
	bool lie_digest, lie_size, lie_diffid, truncate, garbage;
	const void *raw; /* use these compressed bytes instead of building a tar */
	size_t rawlen;
	const char *diffid; /* with raw */
};

struct image_opts {
	const char *tag;
	const char *arch; /* config architecture, default amd64 */
	bool extra_index_json; /* pad index.json beyond 4 MiB */
};

static const char *layer_media(int comp)
{
	return comp == C_GZIP	? "application/vnd.oci.image.layer.v1.tar+gzip"
	       : comp == C_ZSTD ? "application/vnd.oci.image.layer.v1.tar+zstd"
				: "application/vnd.oci.image.layer.v1.tar";
}

/* Builds blobs for layers, config, manifest; returns the manifest descriptor. */
static json_object *build_manifest(const char *dir, const struct layer *ls, size_t n,
				   const struct image_opts *o)
{
	json_object *layers = json_object_new_array(), *ids = json_object_new_array();
	json_object *cfg = json_object_new_object(), *man = json_object_new_object();
	json_object *rootfs = json_object_new_object(), *cc = json_object_new_object();
	char hex[65];
	size_t size;

	for (size_t i = 0; i < n; i++) {
		const struct layer *l = &ls[i];
		struct wbuf tar = { 0 }, c = { 0 };
		char diff[65], blob[65];
		size_t clen;

		if (l->raw) {
			c.p = malloc(l->rawlen);
			memcpy(c.p, l->raw, l->rawlen);
			c.len = l->rawlen;
			snprintf(diff, sizeof(diff), "%s", l->diffid);
		} else {
			make_tar(l->ents, &tar);
			sha256_hex(tar.p, tar.len, diff);
			compress(tar.p, tar.len, l->comp, &c);
		}
		clen = c.len;
		if (l->truncate)
			clen = c.len / 2;
		if (l->garbage) {
			c.p = realloc(c.p, c.len + 16);
			memcpy(c.p + c.len, "GARBAGE-GARBAGE!", 16);
			clen = c.len + 16;
		}
		sha256_hex(c.p, clen, blob);
		if (l->lie_digest) {
			char fake[65];
			sha256_hex("something else", 14, fake);
			put_blob_as(dir, fake, c.p, clen);
			memcpy(blob, fake, 65);
		} else {
			put_blob_as(dir, blob, c.p, clen);
		}
		if (l->lie_diffid)
			sha256_hex("not the tar", 11, diff);
		json_object_array_add(layers, descr(l->media ? l->media : layer_media(l->comp),
						    blob, l->lie_size ? clen + 1 : clen));
		{
			char d[80];
			snprintf(d, sizeof(d), "sha256:%s", diff);
			json_object_array_add(ids, json_object_new_string(d));
		}
		free(tar.p);
		free(c.p);
	}
	json_object_object_add(cfg, "architecture",
			       json_object_new_string(o && o->arch ? o->arch : "amd64"));
	json_object_object_add(cfg, "os", json_object_new_string("linux"));
	{
		json_object *ep = json_object_new_array(), *cmd = json_object_new_array(),
			    *env = json_object_new_array();
		json_object_array_add(ep, json_object_new_string("/bin/tool"));
		json_object_array_add(cmd, json_object_new_string("--serve"));
		json_object_array_add(cmd, json_object_new_string("8080"));
		json_object_array_add(env, json_object_new_string("PATH=/bin"));
		json_object_array_add(env, json_object_new_string("MODE=image"));
		json_object_object_add(cc, "Entrypoint", ep);
		json_object_object_add(cc, "Cmd", cmd);
		json_object_object_add(cc, "Env", env);
		json_object_object_add(cc, "WorkingDir", json_object_new_string("/srv"));
		json_object_object_add(cc, "User", json_object_new_string("1000:1000"));
	}
	json_object_object_add(cfg, "config", cc);
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "diff_ids", ids);
	json_object_object_add(cfg, "rootfs", rootfs);
	put_json_blob(dir, cfg, hex, &size);
	json_object_object_add(man, "schemaVersion", json_object_new_int(2));
	json_object_object_add(
	    man, "mediaType", json_object_new_string("application/vnd.oci.image.manifest.v1+json"));
	json_object_object_add(man, "config",
			       descr("application/vnd.oci.image.config.v1+json", hex, size));
	json_object_object_add(man, "layers", layers);
	put_json_blob(dir, man, hex, &size);
	json_object_put(cfg);
	json_object_put(man);
	return descr("application/vnd.oci.image.manifest.v1+json", hex, size);
}

static void write_layout(const char *dir, json_object *manifests, bool pad)
{
	json_object *idx = json_object_new_object();
	char p[300];
	const char *s;

	snprintf(p, sizeof(p), "%s/oci-layout", dir);
	write_file(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	json_object_object_add(idx, "schemaVersion", json_object_new_int(2));
	json_object_object_add(idx, "manifests", manifests);
	if (pad) {
		size_t n = 5 << 20;
		char *big = malloc(n + 1);
		memset(big, 'x', n);
		big[n] = '\0';
		json_object_object_add(idx, "annotations", json_object_new_object());
		json_object_object_add(json_object_object_get(idx, "annotations"), "pad",
				       json_object_new_string(big));
		free(big);
	}
	s = json_object_to_json_string_ext(idx, JSON_C_TO_STRING_PLAIN);
	snprintf(p, sizeof(p), "%s/index.json", dir);
	write_file(p, s, strlen(s));
	json_object_put(idx);
}

static void tag_desc(json_object *d, const char *tag)
{
	json_object *ann = json_object_new_object();

	json_object_object_add(ann, "org.opencontainers.image.ref.name",
			       json_object_new_string(tag));
	json_object_object_add(d, "annotations", ann);
}

/* A one-image layout at dir with the given layers, tagged tag (or untagged). */
static void build_image(const char *dir, const struct layer *ls, size_t n,
			const struct image_opts *o)
{
	json_object *mans = json_object_new_array();
	json_object *d = build_manifest(dir, ls, n, o);

	if (o && o->tag)
		tag_desc(d, o->tag);
	json_object_array_add(mans, d);
	write_layout(dir, mans, o && o->extra_index_json);
}

static struct image_store *open_store(const struct image_limits *lim)
{
	struct error err = { 0 };
	struct image_store *s = image_store_open(state, lim, &err);

	if (!s)
		fail_msg("image_store_open: %s", err.msg);
	return s;
}

/* Import the layout expecting failure whose message contains want. */
static void expect_refused(const struct image_limits *lim, const char *want)
{
	struct image_store *s = open_store(lim);
	struct error err = { 0 };
	int r = image_import(s, layout, NULL, "test:1", NULL, NULL, NULL, &err);

	print_message("    -> %d: %s\n", r, err.msg);
	assert_true(r < 0);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	image_store_free(s);
	store_clean();
	sentinel_intact();
}

static void refuse_layer(const struct ent *ents, int comp, const char *want)
{
	struct layer l = { .ents = ents, .comp = comp };

	build_image(layout, &l, 1, NULL);
	expect_refused(NULL, want);
}

/* ---- hostile layers ------------------------------------------------------ */

static void test_dotdot(void **st)
{
	const struct ent e[] = { { "ok", 'f', 0, "x" },
				 { "../../../../sentinel/pwned", 'f', 0, "pwned" },
				 { NULL } };
	(void)st;
	refuse_layer(e, C_GZIP, "path has a '..' component");
}

static void test_dotdot_middle(void **st)
{
	const struct ent e[] = { { "a", 'd' }, { "a/../../x", 'f', 0, "pwned" }, { NULL } };
	(void)st;
	refuse_layer(e, C_NONE, "'..'");
}

static void test_absolute(void **st)
{
	char p[200];
	(void)st;
	snprintf(p, sizeof(p), "%s/pwned", sentinel);
	const struct ent e[] = { { p, 'f', 0, "pwned" }, { NULL } };
	refuse_layer(e, C_GZIP, "absolute path");
}

static void test_symlink_abs_then_write(void **st)
{
	(void)st;
	const struct ent e[] = { { "evil", 'l', 0777, sentinel },
				 { "evil/pwned", 'f', 0, "pwned" },
				 { NULL } };
	refuse_layer(e, C_GZIP, "is a symlink");
}

static void test_symlink_root_then_write(void **st)
{
	(void)st;
	const struct ent e[] = { { "evil", 'l', 0777, "/" },
				 { "evil/tmp/pwned", 'f', 0, "pwned" },
				 { NULL } };
	refuse_layer(e, C_ZSTD, "is a symlink");
}

static void test_symlink_rel_then_write(void **st)
{
	(void)st;
	const struct ent e[] = { { "d", 'd' },
				 { "d/evil", 'l', 0777, "../../../../sentinel" },
				 { "d/evil/pwned", 'f', 0, "pwned" },
				 { NULL } };
	refuse_layer(e, C_GZIP, "is a symlink");
}

static void test_symlink_then_dir_chmod(void **st)
{
	/* a later dir entry over a symlink replaces the link; it must not chmod its target */
	char p[200];
	struct image_store *s;
	struct error err = { 0 };
	(void)st;
	snprintf(p, sizeof(p), "%s/file", sentinel);
	const struct ent e[] = { { "x", 'l', 0777, p },
				 { "x", 'd', 0777 },
				 { "y", 'l', 0777, p },
				 { "y", 'f', 04777, "new" },
				 { NULL } };
	struct layer l = { .ents = e, .comp = C_GZIP };
	build_image(layout, &l, 1, NULL);
	s = open_store(NULL);
	assert_int_equal(image_import(s, layout, NULL, "t:1", NULL, NULL, NULL, &err), 1);
	image_store_free(s);
	sentinel_intact();
}

static void test_hardlink_abs(void **st)
{
	const struct ent e[] = { { "hl", 'h', 0, "/etc/hostname" }, { NULL } };
	(void)st;
	refuse_layer(e, C_GZIP, "hardlink target '/etc/hostname': absolute path");
}

static void test_hardlink_dotdot(void **st)
{
	const struct ent e[] = { { "hl", 'h', 0, "../../../../../../etc/hostname" }, { NULL } };
	(void)st;
	refuse_layer(e, C_GZIP, "'..'");
}

static void test_hardlink_via_symlink(void **st)
{
	const struct ent e[] = { { "s", 'l', 0777, "/etc" },
				 { "h", 'h', 0, "s/hostname" },
				 { NULL } };
	(void)st;
	refuse_layer(e, C_GZIP, "is a symlink");
}

static void test_hardlink_to_symlink(void **st)
{
	/* linking a symlink links the symlink itself, never what it names */
	struct image_store *s;
	struct error err = { 0 };
	struct image_info *info = NULL;
	char p[300];
	struct stat sb;
	(void)st;
	const struct ent e[] = { { "s", 'l', 0777, "/etc/hostname" },
				 { "h", 'h', 0, "s" },
				 { NULL } };
	struct layer l = { .ents = e, .comp = C_GZIP };
	build_image(layout, &l, 1, NULL);
	s = open_store(NULL);
	assert_int_equal(image_import(s, layout, NULL, "t:1", NULL, NULL, NULL, &err), 1);
	assert_int_equal(image_resolve(s, "t:1", &info, &err), 0);
	snprintf(p, sizeof(p), "%s/h", info->layer_dirs[0]);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	assert_int_equal(sb.st_nlink, 2);
	image_info_free(info);
	image_store_free(s);
	sentinel_intact();
}

static void test_dot_symlink(void **st)
{
	(void)st;
	const struct ent e[] = { { ".", 'l', 0777, sentinel }, { "pwned", 'f', 0, "x" }, { NULL } };
	refuse_layer(e, C_GZIP, "the layer root may only be a directory");
}

static void test_dot_slash_symlink(void **st)
{
	(void)st;
	const struct ent e[] = { { "./", 'l', 0777, sentinel },
				 { "pwned", 'f', 0, "x" },
				 { NULL } };
	refuse_layer(e, C_GZIP, "the layer root may only be a directory");
}

static void test_whiteout_dot(void **st)
{
	const struct ent e[] = { { "a", 'd' }, { "a/.wh..", 'f', 0, "" }, { NULL } };
	(void)st;
	refuse_layer(e, C_GZIP, "invalid whiteout name");
}

static void test_whiteout_dotdot(void **st)
{
	const struct ent e[] = { { "a", 'd' }, { "a/.wh...", 'f', 0, "" }, { NULL } };
	(void)st;
	refuse_layer(e, C_GZIP, "invalid whiteout name");
}

static void test_whiteout_outside(void **st)
{
	const struct ent e[] = { { "../../../../sentinel/.wh.file", 'f', 0, "" }, { NULL } };
	(void)st;
	refuse_layer(e, C_GZIP, "'..'");
}

static void test_whiteout_through_symlink(void **st)
{
	(void)st;
	const struct ent e[] = { { "s", 'l', 0777, sentinel },
				 { "s/.wh.file", 'f', 0, "" },
				 { NULL } };
	refuse_layer(e, C_GZIP, "is a symlink");
}

static void test_overlay_xattr(void **st)
{
	const struct ent e[] = {
		{ "d", 'd', 0755, NULL, 0, 0, 0, 0, "trusted.overlay.opaque", "y" }, { NULL }
	};
	(void)st;
	refuse_layer(e, C_GZIP, "carries the overlayfs xattr 'trusted.overlay.opaque'");
}

static void test_overlay_xattr_redirect(void **st)
{
	const struct ent e[] = {
		{ "f", 'f', 0644, "x", 0, 0, 0, 0, "trusted.overlay.redirect", "/etc" }, { NULL }
	};
	(void)st;
	refuse_layer(e, C_NONE, "trusted.overlay.redirect");
}

static const struct ent simple[] = { { "etc", 'd' },
				     { "etc/hello", 'f', 0644, "hello\n" },
				     { NULL } };

static void test_wrong_digest(void **st)
{
	struct layer l = { .ents = simple, .comp = C_GZIP, .lie_digest = true };
	(void)st;
	build_image(layout, &l, 1, NULL);
	expect_refused(NULL, "blob digest mismatch");
}

static void test_wrong_size(void **st)
{
	struct layer l = { .ents = simple, .comp = C_GZIP, .lie_size = true };
	(void)st;
	build_image(layout, &l, 1, NULL);
	expect_refused(NULL, "size mismatch");
}

static void test_wrong_diffid(void **st)
{
	struct layer l = { .ents = simple, .comp = C_GZIP, .lie_diffid = true };
	(void)st;
	build_image(layout, &l, 1, NULL);
	expect_refused(NULL, "uncompressed digest mismatch");
}

static void test_truncated_gzip(void **st)
{
	struct layer l = { .ents = simple, .comp = C_GZIP, .truncate = true };
	(void)st;
	build_image(layout, &l, 1, NULL);
	expect_refused(NULL, "layer blob sha256:");
}

static void test_trailing_garbage(void **st)
{
	struct layer l = { .ents = simple, .comp = C_GZIP, .garbage = true };
	(void)st;
	build_image(layout, &l, 1, NULL);
	expect_refused(NULL, "trailing garbage after the gzip stream");
}

static void test_trailing_garbage_zstd(void **st)
{
	struct layer l = { .ents = simple, .comp = C_ZSTD, .garbage = true };
	(void)st;
	build_image(layout, &l, 1, NULL);
	expect_refused(NULL, "layer blob sha256:");
}

static void test_wrong_compression(void **st)
{
	/* says gzip, is zstd */
	struct layer l = { .ents = simple,
			   .comp = C_ZSTD,
			   .media = "application/vnd.oci.image.layer.v1.tar+gzip" };
	(void)st;
	build_image(layout, &l, 1, NULL);
	expect_refused(NULL, "media type says gzip");
}

/* One ustar header (512 bytes) for a file of size bytes. */
static void tar_header(const char *name, int64_t size, struct wbuf *hdr)
{
	struct archive_entry *ae = archive_entry_new();
	struct archive *a = archive_write_new();

	memset(hdr, 0, sizeof(*hdr));
	assert_int_equal(archive_write_set_format_ustar(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_per_block(a, 0), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, hdr, NULL, wbuf_write, NULL), ARCHIVE_OK);
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, size);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	/* the header is out; abandon the archive without its data */
	archive_write_free(a);
	archive_entry_free(ae);
	assert_true(hdr->len >= 512);
}

/*
 * Gzip bombs of 2 GiB in ~2 MB: tar headers, each followed by
 * concatenated gzip members of 1 MiB of zeros. files == 1: one 2 GiB file
 * (refused from its header); files == 64: 32 MiB files, so only the
 * running count of uncompressed bytes can stop it.
 */
static void gzip_bomb(int files, const char *want)
{
	struct image_limits lim = { .max_layer_bytes = 64 << 20 };
	struct wbuf zz = { 0 }, all = { 0 };
	unsigned char *zeros = calloc(1, 1 << 20);
	int per = 2048 / files;
	char fake[65];

	compress(zeros, 1 << 20, C_GZIP, &zz);
	for (int f = 0; f < files; f++) {
		struct wbuf hdr, zh;
		char name[32];

		snprintf(name, sizeof(name), "zeros%d", f);
		tar_header(name, (int64_t)per << 20, &hdr);
		compress(hdr.p, 512, C_GZIP, &zh);
		wbuf_write(NULL, &all, zh.p, zh.len);
		for (int i = 0; i < per; i++)
			wbuf_write(NULL, &all, zz.p, zz.len);
		free(hdr.p);
		free(zh.p);
	}
	print_message("    bomb: %zu bytes compressed for 2 GiB in %d files\n", all.len, files);
	sha256_hex("unknowable", 10, fake);
	struct layer l = { .raw = all.p, .rawlen = all.len, .diffid = fake, .comp = C_GZIP };
	build_image(layout, &l, 1, NULL);
	expect_refused(&lim, want);
	free(zz.p);
	free(all.p);
	free(zeros);
}

static void test_gzip_bomb_one_file(void **st)
{
	(void)st;
	gzip_bomb(1, "entry 'zeros0': size 2147483648 exceeds the layer limit");
}

static void test_gzip_bomb(void **st)
{
	(void)st;
	gzip_bomb(64, "uncompressed size exceeds the limit of 67108864 bytes");
}

static void test_oversized_index(void **st)
{
	struct layer l = { .ents = simple, .comp = C_GZIP };
	struct image_opts o = { .extra_index_json = true };
	(void)st;
	build_image(layout, &l, 1, &o);
	expect_refused(NULL, "over the limit of 4194304 for JSON documents");
}

static void test_unknown_media(void **st)
{
	struct layer l = { .ents = simple,
			   .comp = C_GZIP,
			   .media = "application/vnd.oci.image.layer.v1.tar+bzip2" };
	(void)st;
	build_image(layout, &l, 1, NULL);
	expect_refused(
	    NULL, "unsupported layer media type 'application/vnd.oci.image.layer.v1.tar+bzip2'");
}

static void test_foreign_platform(void **st)
{
	struct layer l = { .ents = simple, .comp = C_GZIP };
	struct image_opts arm = { .arch = "arm64" }, s390 = { .arch = "s390x" };
	json_object *m1 = build_manifest(layout, &l, 1, &arm);
	json_object *m2 = build_manifest(layout, &l, 1, &s390);
	json_object *idx = json_object_new_object(), *arr = json_object_new_array(), *p,
		    *mans = json_object_new_array(), *d;
	char hex[65];
	size_t size;
	(void)st;

	p = json_object_new_object();
	json_object_object_add(p, "os", json_object_new_string("linux"));
	json_object_object_add(p, "architecture", json_object_new_string("arm64"));
	json_object_object_add(p, "variant", json_object_new_string("v8"));
	json_object_object_add(m1, "platform", p);
	p = json_object_new_object();
	json_object_object_add(p, "os", json_object_new_string("linux"));
	json_object_object_add(p, "architecture", json_object_new_string("s390x"));
	json_object_object_add(m2, "platform", p);
	json_object_array_add(arr, m1);
	json_object_array_add(arr, m2);
	json_object_object_add(idx, "schemaVersion", json_object_new_int(2));
	json_object_object_add(idx, "mediaType",
			       json_object_new_string("application/vnd.oci.image.index.v1+json"));
	json_object_object_add(idx, "manifests", arr);
	put_json_blob(layout, idx, hex, &size);
	json_object_put(idx);
	d = descr("application/vnd.oci.image.index.v1+json", hex, size);
	tag_desc(d, "multi");
	json_object_array_add(mans, d);
	write_layout(layout, mans, false);
	expect_refused(NULL, "no image for linux/amd64 (available: linux/arm64/v8, linux/s390x)");
}

static void test_foreign_config(void **st)
{
	struct layer l = { .ents = simple, .comp = C_GZIP };
	struct image_opts o = { .arch = "riscv64" };
	(void)st;
	build_image(layout, &l, 1, &o);
	expect_refused(NULL, "image is for linux/riscv64");
}

static void test_partial_rollback(void **st)
{
	/* a good first layer, then a bad one: nothing of the import may stay */
	struct layer l[] = { { .ents = simple, .comp = C_GZIP },
			     { .ents = simple + 1, .comp = C_GZIP, .lie_diffid = true } };
	(void)st;
	build_image(layout, l, 2, NULL);
	expect_refused(NULL, "uncompressed digest mismatch");
}

/* ---- good images --------------------------------------------------------- */

static const struct ent l1[] = {
	{ "./", 'd', 0755 },
	{ "etc", 'd', 0755 },
	{ "etc/passwd", 'f', 0644, "root:x:0:0:root:/root:/bin/sh\n" },
	{ "etc/keep", 'f', 0644, "keep1\n" },
	{ "etc/gone", 'f', 0644, "gone\n" },
	{ "opq", 'd', 0755 },
	{ "opq/old", 'f', 0644, "old\n" },
	{ "opq/sub", 'd', 0755 },
	{ "opq/sub/x", 'f', 0644, "x\n" },
	{ "bin", 'd', 0755 },
	{ "bin/suid", 'f', 04755, "#!/bin/true\n" },
	{ "home/u/file", 'f', 0640, "private\n", 1000, 1000 }, /* parents implied */
	{ "data", 'd', 0755 },
	{ "data/blob", 'f', 0600, "blob\n" },
	{ NULL },
};

static const struct ent l2[] = {
	{ "etc/.wh.gone", 'f', 0, "" },
	{ "etc/keep", 'f', 0600, "keep2\n", 0, 0, 0, 0, "user.test", "hello" },
	{ "opq/.wh..wh..opq", 'f', 0, "" },
	{ "opq/new", 'f', 0644, "new\n" },
	{ "bin/tool", 'f', 0755, "#!/bin/sh\necho tool\n", 0, 0, 0, 0, NULL, NULL, 1234567890 },
	{ "bin/tool-link", 'h', 0, "bin/tool" },
	{ "bin/sh", 'l', 0777, "tool" },
	{ "dev", 'd', 0755 },
	{ "dev/null", 'c', 0666, NULL, 0, 0, 1, 3 },
	{ "dev/loop9", 'b', 0660, NULL, 0, 6, 7, 9 },
	{ "run", 'd', 0755 },
	{ "run/fifo", 'p', 0620, NULL, 0, 5 },
	{ "shared", 'd', 02775, NULL, 0, 50 },
	{ "tmp", 'd', 01777 },
	{ NULL },
};

static const struct ent l3[] = {
	{ "etc/added", 'f', 0644, "added\n" },
	{ ".wh.data", 'f', 0, "" },
	{ NULL },
};

static const struct layer good[] = {
	{ .ents = l1, .comp = C_GZIP },
	{ .ents = l2, .comp = C_ZSTD },
	{ .ents = l3, .comp = C_NONE },
};

static void read_str(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		fail_msg("open %s: %s", path, strerror(errno));
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void assert_whiteout(const char *dir, const char *rel)
{
	char p[400];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (lstat(p, &sb) < 0)
		fail_msg("%s: %s", p, strerror(errno));
	assert_true(S_ISCHR(sb.st_mode));
	assert_int_equal(sb.st_rdev, makedev(0, 0));
}

static void assert_absent(const char *dir, const char *rel)
{
	char p[400];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (lstat(p, &sb) == 0)
		fail_msg("%s should not exist", p);
}

static void mode_is(const char *dir, const char *rel, mode_t type, unsigned mode, unsigned uid,
		    unsigned gid)
{
	char p[400];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (lstat(p, &sb) < 0)
		fail_msg("%s: %s", p, strerror(errno));
	assert_int_equal(sb.st_mode & S_IFMT, type);
	if ((sb.st_mode & 07777) != mode)
		fail_msg("%s: mode %o, want %o", p, sb.st_mode & 07777, mode);
	assert_int_equal(sb.st_uid, uid);
	assert_int_equal(sb.st_gid, gid);
}

static void import_good(struct image_store *s, const char *ref)
{
	struct error err = { 0 };
	char **refs = NULL;
	int r;

	r = image_import(s, layout, NULL, ref, NULL, NULL, &refs, &err);
	if (r != 1)
		fail_msg("import: %d %s", r, err.msg);
	assert_non_null(refs);
	assert_string_equal(refs[0], ref);
	assert_null(refs[1]);
	image_strv_free(refs);
}

static void check_merged(const char *m)
{
	char buf[256], p[400];
	struct stat a, b;

	read_str(strcat(strcpy(p, m), "/etc/passwd"), buf, sizeof(buf));
	assert_string_equal(buf, "root:x:0:0:root:/root:/bin/sh\n");
	read_str(strcat(strcpy(p, m), "/etc/keep"), buf, sizeof(buf));
	assert_string_equal(buf, "keep2\n");
	assert_int_equal(getxattr(p, "user.test", buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	mode_is(m, "etc/keep", S_IFREG, 0600, 0, 0);
	assert_absent(m, "etc/gone");
	assert_absent(m, "opq/old");
	assert_absent(m, "opq/sub");
	read_str(strcat(strcpy(p, m), "/opq/new"), buf, sizeof(buf));
	assert_string_equal(buf, "new\n");
	mode_is(m, "bin/suid", S_IFREG, 04755, 0, 0);
	mode_is(m, "home/u/file", S_IFREG, 0640, 1000, 1000);
	mode_is(m, "home", S_IFDIR, 0755, 0, 0);
	assert_int_equal(lstat(strcat(strcpy(p, m), "/bin/tool"), &a), 0);
	assert_int_equal(lstat(strcat(strcpy(p, m), "/bin/tool-link"), &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_nlink, 2);
	assert_int_equal(a.st_mtime, 1234567890);
	assert_int_equal(readlink(strcat(strcpy(p, m), "/bin/sh"), buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "tool", 4);
	mode_is(m, "dev/null", S_IFCHR, 0666, 0, 0);
	assert_int_equal(lstat(strcat(strcpy(p, m), "/dev/null"), &a), 0);
	assert_int_equal(a.st_rdev, makedev(1, 3));
	mode_is(m, "dev/loop9", S_IFBLK, 0660, 0, 6);
	mode_is(m, "run/fifo", S_IFIFO, 0620, 0, 5);
	mode_is(m, "shared", S_IFDIR, 02775, 0, 50);
	mode_is(m, "tmp", S_IFDIR, 01777, 0, 0);
	read_str(strcat(strcpy(p, m), "/etc/added"), buf, sizeof(buf));
	assert_string_equal(buf, "added\n");
	assert_absent(m, "data");
	assert_int_equal(lstat(strcat(strcpy(p, m), "/etc"), &a), 0);
}

static void test_good_image(void **st)
{
	struct image_store *s;
	struct error err = { 0 };
	struct image_info *info = NULL;
	char opts[4096], cwd[512], mnt[200], upper[200], work[200], buf[64];
	char **argv = NULL, **env = NULL;
	char dbg[] = "--debug", e1[] = "MODE=spec", e2[] = "TZ=UTC";
	char *spec_cmd[] = { dbg, NULL }, *spec_env[] = { e1, e2, NULL };
	struct stat sb;
	uint64_t unpacked, reused;
	(void)st;

	build_image(layout, good, 3, NULL);
	s = open_store(NULL);
	import_good(s, "good:1");
	image_store_stats(s, &unpacked, &reused);
	assert_int_equal(unpacked, 3);
	assert_int_equal(reused, 0);
	assert_int_equal(image_resolve(s, "good:1", &info, &err), 0);
	assert_int_equal(info->nlayers, 3);
	assert_non_null(info->digest);
	assert_true(strncmp(info->digest, "sha256:", 7) == 0);

	/* store root and layers */
	snprintf(mnt, sizeof(mnt), "%s/layers", state);
	assert_int_equal(stat(mnt, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	/* top first: l3, l2, l1 */
	assert_whiteout(info->layer_dirs[0], "data");
	assert_whiteout(info->layer_dirs[1], "etc/gone");
	assert_int_equal(getxattr(strcat(strcpy(mnt, info->layer_dirs[1]), "/opq"),
				  "trusted.overlay.opaque", buf, sizeof(buf)),
			 1);
	assert_int_equal(buf[0], 'y');
	assert_int_equal(getxattr(strcat(strcpy(mnt, info->layer_dirs[2]), "/opq"),
				  "trusted.overlay.opaque", buf, sizeof(buf)),
			 -1);
	mode_is(info->layer_dirs[2], "bin/suid", S_IFREG, 04755, 0, 0);
	mode_is(info->layer_dirs[1], "bin/sh", S_IFLNK, 0777, 0, 0);

	/* config defaults and docker's override rules */
	assert_string_equal(info->entrypoint[0], "/bin/tool");
	assert_string_equal(info->cmd[0], "--serve");
	assert_string_equal(info->working_dir, "/srv");
	assert_string_equal(info->user, "1000:1000");
	assert_int_equal(image_exec_argv(info, NULL, NULL, &argv), 0);
	assert_string_equal(argv[0], "/bin/tool");
	assert_string_equal(argv[1], "--serve");
	assert_string_equal(argv[2], "8080");
	assert_null(argv[3]);
	image_strv_free(argv);
	assert_int_equal(image_exec_argv(info, NULL, spec_cmd, &argv), 0);
	assert_string_equal(argv[0], "/bin/tool");
	assert_string_equal(argv[1], "--debug");
	assert_null(argv[2]);
	image_strv_free(argv);
	assert_int_equal(image_merge_env(info, spec_env, &env), 0);
	assert_string_equal(env[0], "PATH=/bin");
	assert_string_equal(env[1], "MODE=spec");
	assert_string_equal(env[2], "TZ=UTC");
	assert_null(env[3]);
	image_strv_free(env);

	/* a real overlay */
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmproot);
	snprintf(upper, sizeof(upper), "%s/upper", tmproot);
	snprintf(work, sizeof(work), "%s/work", tmproot);
	assert_int_equal(mkdir(mnt, 0755), 0);
	assert_int_equal(mkdir(upper, 0755), 0);
	assert_int_equal(mkdir(work, 0755), 0);
	assert_int_equal(
	    image_overlay_options(info, upper, work, opts, sizeof(opts), cwd, sizeof(cwd)), 0);
	print_message("    overlay: cd %s; mount -o %s\n", cwd, opts);
	assert_int_equal(chdir(cwd), 0);
	if (mount("overlay", mnt, "overlay", 0, opts) < 0)
		fail_msg("mount overlay: %s", strerror(errno));
	assert_int_equal(chdir("/"), 0);
	check_merged(mnt);
	/* writes land in the upper dir, not in the shared layers */
	{
		char p[300];
		snprintf(p, sizeof(p), "%s/etc/keep", mnt);
		write_file(p, "changed\n", 8);
		read_str(strcat(strcpy(p, info->layer_dirs[1]), "/etc/keep"), buf, sizeof(buf));
		assert_string_equal(buf, "keep2\n");
	}
	assert_int_equal(umount(mnt), 0);
	/* read-only, no upper */
	assert_int_equal(
	    image_overlay_options(info, NULL, NULL, opts, sizeof(opts), cwd, sizeof(cwd)), 0);
	assert_int_equal(chdir(cwd), 0);
	if (mount("overlay", mnt, "overlay", MS_RDONLY, opts) < 0)
		fail_msg("mount overlay ro: %s", strerror(errno));
	assert_int_equal(chdir("/"), 0);
	check_merged(mnt);
	assert_int_equal(umount(mnt), 0);

	/* a second import unpacks nothing */
	import_good(s, "good:2");
	image_store_stats(s, &unpacked, &reused);
	assert_int_equal(unpacked, 3);
	assert_int_equal(reused, 3);

	/* list, inspect, rm, prune */
	{
		json_object *list = NULL, *ins = NULL;
		uint64_t freed = 0;
		const char *inuse[3];
		assert_int_equal(image_list(s, &list, &err), 0);
		assert_int_equal(json_object_array_length(list), 2);
		assert_string_equal(json_object_get_string(json_object_object_get(
					json_object_array_get_idx(list, 0), "ref")),
				    "good:1");
		json_object_put(list);
		assert_int_equal(image_inspect(s, "good:2", &ins, &err), 0);
		assert_int_equal(
		    json_object_array_length(json_object_object_get(ins, "layer_dirs")), 3);
		json_object_put(ins);
		assert_int_equal(image_prune(s, NULL, 0, &freed, &err), 0);
		assert_int_equal(image_rm(s, "good:1", &err), 0);
		assert_int_equal(image_rm(s, "good:1", &err), -ENOENT);
		assert_int_equal(image_prune(s, NULL, 0, &freed, &err), 0);
		assert_int_equal(image_rm(s, "good:2", &err), 0);
		/* a running service still uses two of them */
		inuse[0] = info->layer_digests[0];
		inuse[1] = info->layer_digests[2];
		assert_int_equal(image_prune(s, inuse, 2, &freed, &err), 1);
		assert_true(freed > 0);
		assert_int_equal(stat(info->layer_dirs[0], &sb), 0);
		assert_int_equal(stat(info->layer_dirs[1], &sb), -1);
		assert_int_equal(image_prune(s, NULL, 0, &freed, &err), 2);
		{
			struct image_info *gone = NULL;
			assert_int_equal(image_resolve(s, "good:2", &gone, &err), -ENOENT);
			assert_null(gone);
		}
	}
	store_clean();
	image_info_free(info);
	image_store_free(s);
	sentinel_intact();
}

static void test_path_ref(void **st)
{
	struct image_store *s;
	struct error err = { 0 };
	struct image_info *info = NULL;
	struct image_opts o = { .tag = "1.4" };
	char ref[300];
	uint64_t unpacked, reused;
	(void)st;

	build_image(layout, good, 3, &o);
	s = open_store(NULL);
	snprintf(ref, sizeof(ref), "%s:1.4", layout);
	/* The records alone know nothing of a path not prepared yet (paddockd's view). */
	assert_int_equal(image_resolve(s, ref, &info, &err), -ENOENT);
	if (image_prepare(s, ref, &info, &err) < 0)
		fail_msg("prepare %s: %s", ref, err.msg);
	assert_string_equal(info->ref, ref);
	image_info_free(info);
	/* ... and once prepared, the records resolve it without importing. */
	assert_int_equal(image_resolve(s, ref, &info, &err), 0);
	assert_string_equal(info->ref, ref);
	image_info_free(info);
	/* PATH alone: the layout holds one image */
	assert_int_equal(image_prepare(s, layout, &info, &err), 0);
	image_info_free(info);
	assert_int_equal(image_prepare(s, strcat(strcpy(ref, layout), ":2.0"), &info, &err),
			 -ENOENT);
	print_message("    -> %s\n", err.msg);
	assert_non_null(strstr(err.msg, "no image tagged '2.0' (tags: 1.4)"));
	image_store_stats(s, &unpacked, &reused);
	assert_int_equal(unpacked, 3);
	assert_int_equal(reused, 3);
	assert_int_equal(image_resolve(s, "nosuch:1", &info, &err), -ENOENT);
	image_store_free(s);
}

static void test_concurrent(void **st)
{
	struct wbuf big = { 0 };
	pid_t pids[3];
	int total = 0;
	(void)st;

	/* a layer large enough that the imports overlap */
	big.p = malloc(8 << 20);
	for (size_t i = 0; i < (8u << 20); i++)
		big.p[i] = (unsigned char)('a' + (i * 2654435761u >> 13) % 26);
	big.p[(8 << 20) - 1] = '\0';
	{
		struct ent e[] = { { "big", 'f', 0644, (const char *)big.p }, { NULL } };
		struct layer ls[] = { { .ents = e, .comp = C_GZIP }, good[1], good[2] };
		build_image(layout, ls, 3, NULL);
	}
	free(big.p);
	for (int i = 0; i < 3; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct error err = { 0 };
			struct image_store *s = image_store_open(state, NULL, &err);
			uint64_t u = 0;
			char name[32];
			snprintf(name, sizeof(name), "c%d:1", i);
			if (!s ||
			    image_import(s, layout, NULL, name, NULL, NULL, NULL, &err) != 1) {
				fprintf(stderr, "child: %s\n", err.msg);
				_exit(100);
			}
			image_store_stats(s, &u, NULL);
			_exit((int)u);
		}
	}
	for (int i = 0; i < 3; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_true(WEXITSTATUS(status) <= 3);
		total += WEXITSTATUS(status);
	}
	assert_int_equal(total, 3);
	{
		int l, t, r;
		store_counts(&l, &t, &r);
		assert_int_equal(l, 3);
		assert_int_equal(t, 0);
		assert_int_equal(r, 3);
	}
}

/* Layer i of a test image: 2 MiB of pseudo-random letters, distinct per seed. */
static char *big_data(unsigned seed)
{
	size_t n = 2u << 20;
	char *p = malloc(n);

	for (size_t i = 0; i < n; i++)
		p[i] = (char)('a' + ((i + seed) * 2654435761u >> 13) % 26);
	p[n - 1] = '\0';
	return p;
}

static void test_parallel_lowest_error(void **st)
{
	/* three layers unpack at once; the error reported is the lowest failing one's */
	char *a = big_data(1), *b = big_data(2);
	struct ent ea[] = { { "a", 'f', 0644, a }, { NULL } };
	struct ent eb[] = { { "b", 'f', 0644, b }, { "../../x", 'f', 0, "pwned" }, { NULL } };
	struct layer l[] = { { .ents = ea, .comp = C_GZIP },
			     { .ents = eb, .comp = C_GZIP },
			     { .ents = simple, .comp = C_ZSTD, .lie_diffid = true } };
	(void)st;
	build_image(layout, l, 3, NULL);
	for (int i = 0; i < 5; i++)
		expect_refused(NULL, "path has a '..' component");
	free(a);
	free(b);
}

static void test_repeated_layer(void **st)
{
	/* one layer twice in an image: unpacked once, then found present */
	struct layer l[] = { { .ents = simple, .comp = C_GZIP },
			     { .ents = simple, .comp = C_GZIP } };
	struct image_store *s;
	struct error err = { 0 };
	uint64_t unpacked = 0, reused = 0;
	int nl, nt, nr;
	(void)st;
	build_image(layout, l, 2, NULL);
	s = open_store(NULL);
	if (image_import(s, layout, NULL, "twice:1", NULL, NULL, NULL, &err) != 1)
		fail_msg("import: %s", err.msg);
	image_store_stats(s, &unpacked, &reused);
	assert_int_equal(unpacked, 1);
	assert_int_equal(reused, 1);
	image_store_free(s);
	store_counts(&nl, &nt, &nr);
	assert_int_equal(nl, 1);
	assert_int_equal(nt, 0);
}

static void test_opposite_order(void **st)
{
	/* two imports needing the same two missing layers in opposite orders must not deadlock */
	char *a = big_data(3), *b = big_data(4), other[160];
	struct ent ea[] = { { "a", 'f', 0644, a }, { NULL } };
	struct ent eb[] = { { "b", 'f', 0644, b }, { NULL } };
	struct layer ab[] = { { .ents = ea, .comp = C_GZIP }, { .ents = eb, .comp = C_GZIP } };
	struct layer ba[] = { { .ents = eb, .comp = C_GZIP }, { .ents = ea, .comp = C_GZIP } };
	pid_t pids[2];
	int nl, nt, nr;
	(void)st;

	snprintf(other, sizeof(other), "%s/layout2", tmproot);
	assert_int_equal(mkdir(other, 0755), 0);
	build_image(layout, ab, 2, NULL);
	build_image(other, ba, 2, NULL);
	free(a);
	free(b);
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct error err = { 0 };
			struct image_store *s;

			alarm(60); /* a deadlock fails the test instead of hanging it */
			s = image_store_open(state, NULL, &err);
			if (!s || image_import(s, i ? other : layout, NULL, i ? "ba:1" : "ab:1",
					       NULL, NULL, NULL, &err) != 1) {
				fprintf(stderr, "child: %s\n", err.msg);
				_exit(1);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	store_counts(&nl, &nt, &nr);
	assert_int_equal(nl, 2);
	assert_int_equal(nt, 0);
	assert_int_equal(nr, 2);
}

static void test_stale_tmp_on_open(void **st)
{
	/* .tmp dirs of a crashed import or removal go when the store is opened; a live one stays */
	const char *dead = "1111111111111111111111111111111111111111111111111111111111111111";
	const char *live = "2222222222222222222222222222222222222222222222222222222222222222";
	struct image_store *s;
	char p[300];
	int lockfd, nl, nt, nr;
	(void)st;

	s = open_store(NULL);
	image_store_free(s);
	snprintf(p, sizeof(p), "%s/layers/.tmp-%s-999999", state, dead);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/layers/.tmp-%s-999999/half-written", state, dead);
	write_file(p, "x", 1);
	snprintf(p, sizeof(p), "%s/layers/.tmp-%s-999998-rm", state, dead);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/layers/.tmp-%s-999997", state, live);
	assert_int_equal(mkdir(p, 0755), 0);
	/* an unpack in progress holds its layer's lock */
	snprintf(p, sizeof(p), "%s/layers/.lock-%s", state, live);
	lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(lockfd >= 0);
	assert_int_equal(flock(lockfd, LOCK_EX), 0);

	s = open_store(NULL);
	store_counts(&nl, &nt, &nr);
	assert_int_equal(nt, 1);
	snprintf(p, sizeof(p), "%s/layers/.tmp-%s-999997", state, live);
	assert_int_equal(access(p, F_OK), 0);
	image_store_free(s);
	close(lockfd);
	s = open_store(NULL);
	store_counts(&nl, &nt, &nr);
	assert_int_equal(nt, 0);
	image_store_free(s);
}

static void test_many_layers(void **st)
{
	enum { N = 200 };
	struct layer ls[N];
	struct ent ents[N][2];
	char names[N][16], opts[4096], cwd[512], mnt[200], p[300];
	struct image_store *s;
	struct error err = { 0 };
	struct image_info *info = NULL;
	struct stat sb;
	(void)st;

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "f%03d", i);
		ents[i][0] = (struct ent){ names[i], 'f', 0644, names[i] };
		ents[i][1] = (struct ent){ NULL };
		ls[i] = (struct layer){ .ents = ents[i], .comp = C_NONE };
	}
	build_image(layout, ls, N, NULL);
	s = open_store(NULL);
	import_good(s, "many:1");
	assert_int_equal(image_resolve(s, "many:1", &info, &err), 0);
	assert_int_equal(
	    image_overlay_options(info, NULL, NULL, opts, sizeof(opts), cwd, sizeof(cwd)), 0);
	print_message("    %d layers: %zu bytes of options\n", N, strlen(opts));
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmproot);
	assert_int_equal(mkdir(mnt, 0755), 0);
	assert_int_equal(chdir(cwd), 0);
	if (mount("overlay", mnt, "overlay", MS_RDONLY, opts) < 0)
		fail_msg("mount %d layers: %s", N, strerror(errno));
	assert_int_equal(chdir("/"), 0);
	snprintf(p, sizeof(p), "%s/f000", mnt);
	assert_int_equal(stat(p, &sb), 0);
	snprintf(p, sizeof(p), "%s/f199", mnt);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(umount(mnt), 0);
	/* a buffer too small is an error, never a truncated option string */
	assert_int_equal(image_overlay_options(info, NULL, NULL, opts, 100, cwd, sizeof(cwd)),
			 -ENAMETOOLONG);
	image_info_free(info);
	image_store_free(s);
}

/* Pack the layout directory into a tar (an oci-archive), optionally with docker's manifest.json. */
static void pack_dir(const char *dir, const char *out)
{
	struct archive *a = archive_write_new();
	char cmd[600];
	FILE *f;
	char line[512];

	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, out), ARCHIVE_OK);
	snprintf(cmd, sizeof(cmd), "cd %s && find . -type f", dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char path[700];
		struct stat sb;
		struct archive_entry *ae = archive_entry_new();
		char *buf;
		FILE *in;

		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		assert_int_equal(stat(path, &sb), 0);
		archive_entry_set_pathname(ae, line);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, sb.st_size);
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		buf = malloc((size_t)sb.st_size + 1);
		in = fopen(path, "r");
		assert_int_equal(fread(buf, 1, (size_t)sb.st_size, in), (size_t)sb.st_size);
		fclose(in);
		assert_int_equal(archive_write_data(a, buf, (size_t)sb.st_size), sb.st_size);
		free(buf);
		archive_entry_free(ae);
	}
	pclose(f);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void test_oci_archive(void **st)
{
	struct image_store *s;
	struct error err = { 0 };
	char tarpath[200], **refs = NULL;
	struct image_info *info = NULL;
	struct image_opts o = { .tag = "3.1" };
	(void)st;

	build_image(layout, good, 3, &o);
	snprintf(tarpath, sizeof(tarpath), "%s/web.tar", tmproot);
	pack_dir(layout, tarpath);
	s = open_store(NULL);
	if (image_import(s, tarpath, NULL, NULL, NULL, NULL, &refs, &err) != 1)
		fail_msg("import oci-archive: %s", err.msg);
	assert_string_equal(refs[0], "web:3.1");
	image_strv_free(refs);
	assert_int_equal(image_resolve(s, "web:3.1", &info, &err), 0);
	assert_int_equal(info->nlayers, 3);
	image_info_free(info);
	assert_int_equal(image_import(s, tarpath, "9.9", NULL, NULL, NULL, NULL, &err), -ENOENT);
	image_store_free(s);
	unlink(tarpath);
}

/* docker save: manifest.json, <id>.json config, <dir>/layer.tar layers, one a symlink. */
static void test_docker_archive(void **st)
{
	struct image_store *s;
	struct error err = { 0 };
	char dir[200], p[300], cfghex[65], tarpath[200], **refs = NULL;
	struct wbuf tars[2];
	char diffs[2][65];
	json_object *cfg = json_object_new_object(), *rootfs = json_object_new_object(),
		    *ids = json_object_new_array(), *mj = json_object_new_array(),
		    *it = json_object_new_object(), *tags = json_object_new_array(),
		    *layers = json_object_new_array();
	const char *txt;
	struct image_info *info = NULL;
	(void)st;

	snprintf(dir, sizeof(dir), "%s/docker", tmproot);
	assert_int_equal(mkdir(dir, 0755), 0);
	make_tar(l1, &tars[0]);
	make_tar(l3, &tars[1]);
	for (int i = 0; i < 2; i++) {
		char d[160];
		sha256_hex(tars[i].p, tars[i].len, diffs[i]);
		snprintf(p, sizeof(p), "%s/%.12s", dir, diffs[i]);
		assert_int_equal(mkdir(p, 0755), 0);
		snprintf(p, sizeof(p), "%s/%.12s/layer.tar", dir, diffs[i]);
		write_file(p, tars[i].p, tars[i].len);
		snprintf(d, sizeof(d), "sha256:%s", diffs[i]);
		json_object_array_add(ids, json_object_new_string(d));
		snprintf(p, sizeof(p), "%.12s/layer.tar", diffs[i]);
		json_object_array_add(layers, json_object_new_string(p));
		free(tars[i].p);
	}
	json_object_object_add(cfg, "architecture", json_object_new_string("amd64"));
	json_object_object_add(cfg, "os", json_object_new_string("linux"));
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "diff_ids", ids);
	json_object_object_add(cfg, "rootfs", rootfs);
	txt = json_object_to_json_string(cfg);
	sha256_hex(txt, strlen(txt), cfghex);
	snprintf(p, sizeof(p), "%s/%s.json", dir, cfghex);
	write_file(p, txt, strlen(txt));
	snprintf(p, sizeof(p), "%s.json", cfghex);
	json_object_object_add(it, "Config", json_object_new_string(p));
	json_object_array_add(tags, json_object_new_string("busybox:latest"));
	json_object_array_add(tags, json_object_new_string("busybox:1.36"));
	json_object_object_add(it, "RepoTags", tags);
	json_object_object_add(it, "Layers", layers);
	json_object_array_add(mj, it);
	txt = json_object_to_json_string(mj);
	snprintf(p, sizeof(p), "%s/manifest.json", dir);
	write_file(p, txt, strlen(txt));
	json_object_put(mj);
	json_object_put(cfg);

	snprintf(tarpath, sizeof(tarpath), "%s/busybox.tar", tmproot);
	pack_dir(dir, tarpath);
	s = open_store(NULL);
	if (image_import(s, tarpath, NULL, NULL, NULL, NULL, &refs, &err) != 2)
		fail_msg("import docker-archive: %s", err.msg);
	assert_string_equal(refs[0], "busybox:latest");
	assert_string_equal(refs[1], "busybox:1.36");
	image_strv_free(refs);
	assert_int_equal(image_resolve(s, "busybox", &info, &err), 0);
	assert_int_equal(info->nlayers, 2);
	image_info_free(info);
	/* --tag picks one, --name renames */
	if (image_import(s, dir, "1.36", "mybox:stable", NULL, NULL, &refs, &err) != 1)
		fail_msg("import docker dir: %s", err.msg);
	assert_string_equal(refs[0], "mybox:stable");
	image_strv_free(refs);
	image_store_free(s);
	unlink(tarpath);
}

static void test_progress_cb(void *arg, size_t layer, size_t n, uint64_t done, uint64_t total)
{
	int *calls = arg;
	assert_true(layer < n);
	assert_true(done <= total);
	(*calls)++;
}

static void test_progress(void **st)
{
	struct image_store *s;
	struct error err = { 0 };
	int calls = 0;
	(void)st;

	build_image(layout, good, 3, NULL);
	s = open_store(NULL);
	assert_int_equal(image_import(s, layout, NULL, "p:1", test_progress_cb, &calls, NULL, &err),
			 1);
	assert_true(calls >= 3);
	image_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_dotdot),
		T(test_dotdot_middle),
		T(test_absolute),
		T(test_symlink_abs_then_write),
		T(test_symlink_root_then_write),
		T(test_symlink_rel_then_write),
		T(test_symlink_then_dir_chmod),
		T(test_hardlink_abs),
		T(test_hardlink_dotdot),
		T(test_hardlink_via_symlink),
		T(test_hardlink_to_symlink),
		T(test_dot_symlink),
		T(test_dot_slash_symlink),
		T(test_whiteout_dot),
		T(test_whiteout_dotdot),
		T(test_whiteout_outside),
		T(test_whiteout_through_symlink),
		T(test_overlay_xattr),
		T(test_overlay_xattr_redirect),
		T(test_wrong_digest),
		T(test_wrong_size),
		T(test_wrong_diffid),
		T(test_truncated_gzip),
		T(test_trailing_garbage),
		T(test_trailing_garbage_zstd),
		T(test_wrong_compression),
		T(test_gzip_bomb_one_file),
		T(test_gzip_bomb),
		T(test_oversized_index),
		T(test_unknown_media),
		T(test_foreign_platform),
		T(test_foreign_config),
		T(test_partial_rollback),
		T(test_good_image),
		T(test_path_ref),
		T(test_concurrent),
		T(test_many_layers),
		T(test_oci_archive),
		T(test_docker_archive),
		T(test_progress),
		T(test_parallel_lowest_error),
		T(test_repeated_layer),
		T(test_opposite_order),
		T(test_stale_tmp_on_open),
#undef T
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test-image: needs root (mknod, chown, trusted xattrs, mount)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
