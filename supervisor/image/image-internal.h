/*
 * image-internal.h - what the image store's files share: the store
 * struct, the import plan that image-oci.c builds from a source and
 * image.c carries out, and the layer unpacker of image-unpack.c.
 */
#ifndef PADDOCK_IMAGE_INTERNAL_H
#define PADDOCK_IMAGE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "image.h"

struct json_object;

struct image_store {
	char *state_dir;
	char *layers_dir; /* <state>/layers */
	char *images_dir; /* <state>/images */
	int layersfd, imagesfd;
	struct image_limits lim;
	uint64_t unpacked, reused;
};

enum image_comp { IMAGE_COMP_NONE, IMAGE_COMP_GZIP, IMAGE_COMP_ZSTD, IMAGE_COMP_AUTO };

/* One layer of a planned image: where its blob is and what it must hash to. */
struct image_plan_layer {
	char *blob; /* file name inside the source ("blobs/sha256/<hex>", "<id>/layer.tar") */
	char blob_hex[65]; /* "" when the source gives no blob digest (docker-archive) */
	uint64_t size; /* blob size; UINT64_MAX when unknown */
	char diff_hex[65];
	enum image_comp comp;
};

/* One image an import will record. */
struct image_plan {
	char *name, *tag;
	char *manifest_digest, *config_digest; /* "sha256:<hex>" */
	char *platform; /* "linux/amd64" */
	struct image_plan_layer *layers; /* bottom first, as in rootfs.diff_ids */
	size_t nlayers;
	struct json_object *defaults; /* {"Entrypoint","Cmd","Env","WorkingDir","User"} */
	uint64_t size; /* sum of blob sizes (known ones) */
};

struct image_source; /* an opened layout dir, oci-archive or docker-archive */

/*
 * A byte range of a source file, or (stream) a pipe or socket that
 * delivers size bytes in order (a registry download): read, never
 * pread, and off unused. fd is owned by the blob when own is set.
 */
struct image_blob {
	int fd;
	bool own;
	bool stream;
	uint64_t off, size;
};

/* image-oci.c */
int image_source_open(const char *path, const struct image_limits *lim, struct image_source **out,
		      struct error *err);
struct image_source *image_source_free(struct image_source *src);
const char *image_source_kind(const struct image_source *src);
const char *image_source_path(const struct image_source *src);
/*
 * Build plans for the source's images: only_tag selects one tag (NULL:
 * all); single_required: the source must hold exactly one image unless
 * only_tag is set. Names come from annotations, else default_name.
 */
int image_source_plan(struct image_source *src, const char *only_tag, bool single_required,
		      const char *default_name, struct image_plan **plans, size_t *nplans,
		      struct error *err);
int image_source_blob(struct image_source *src, const char *name, struct image_blob *b,
		      struct error *err);
void image_blob_close(struct image_blob *b);
void image_plans_free(struct image_plan *plans, size_t n);
/* The pure halves of planning, shared with registry.c (documents already verified). */
int image_json_parse(const char *buf, size_t len, const char *what, int type,
		     struct json_object **out, struct error *err);
bool image_media_is_index(const char *media);
bool image_media_is_manifest(const char *media);
int image_index_pick(struct json_object *index, const char *what, char hex[65], uint64_t *size,
		     char *media, size_t media_len, struct error *err);
int image_manifest_plan(struct json_object *man, const char *media, const char *what,
			struct image_plan *p, char cfg_hex[65], uint64_t *cfg_size,
			struct error *err);
int image_config_plan(struct json_object *cfg, const char *what, struct image_plan *p,
		      struct error *err);

/* image-unpack.c */
struct image_unpack_args {
	const char *what; /* "layer sha256:<hex>" for messages */
	const struct image_blob *blob;
	enum image_comp comp;
	const char *blob_hex; /* expected blob sha256, NULL/"" = no check */
	const char *diff_hex; /* expected uncompressed sha256, NULL/"" = no check */
	int rootfd; /* the (empty) directory to unpack into */
	const char *root_path; /* its absolute path: bounds entry paths, removes subtrees */
	const struct image_limits *lim;
	/* called on the thread that reads the blob, not necessarily the caller's */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
	const atomic_bool *cancel; /* NULL, or set by another thread: fail soon with ECANCELED */
};
/*
 * Unpack one layer. Uses a second thread for decompression while it
 * runs; safe to call from several threads at once for different rootfds.
 */
int image_unpack_layer(const struct image_unpack_args *a, struct error *err);

/*
 * The record key of a registry reference, as image_pull writes it: NAME
 * the normalised HOST/REPO, TAG its tag, else "@sha256:HEX" (registry-ref.c).
 */
int img_remote_key(const char *ref, char **name, char **tag, struct error *err);

/* image.c helpers shared by the others */
/* The SHA-256 of a buffer in hex (image-oci.c). */
void img_sha256_hex(const void *data, size_t len, char out[65]);
int image_rm_tree(const char *path, uint64_t *bytes);
bool image_valid_hex(const char *s);
/* Drop a JSON reference at the end of its scope: _cleanup_json_ json_object *o. */
void image_json_putp(struct json_object **o);
#define _cleanup_json_ _cleanup_(image_json_putp)

/* image-import.c */
/*
 * Where an import's layer blobs come from: an opened source, or (src
 * NULL) fetch, which must point a->blob at the layer's blob (a stream),
 * run image_unpack_layer(a, err) and return its result; it runs on the
 * unpack threads, nthreads at most (0: one per CPU). The records get
 * source and kind.
 */
struct img_blobs {
	struct image_source *src;
	int (*fetch)(void *arg, const struct image_plan_layer *l, struct image_unpack_args *a,
		     struct error *err);
	void *arg;
	size_t nthreads;
	const char *source, *kind;
};
int img_apply_plans(struct image_store *s, const struct img_blobs *blobs, struct image_plan *plans,
		    size_t n, image_progress_fn progress, void *arg, struct error *err);

/* Shared by image.c and image-import.c (the store's records and layer locks). */
int img_info_from_record(struct image_store *s, struct json_object *rec, struct image_info **out,
			 struct error *err);
int img_layer_claim(struct image_store *s, const char *hex, int *lockfd, struct error *err);
struct json_object *img_record_new(const struct image_plan *p, const char *name, const char *tag,
				   const char *source, const char *kind);
int img_record_read(struct image_store *s, const char *name, const char *tag,
		    struct json_object **out, struct error *err);
int img_record_write(struct image_store *s, struct json_object *rec, struct error *err);
void img_remove_layer(struct image_store *s, const char *hex, uint64_t *bytes);
int img_short_link(struct image_store *s, const char *hex, char *out, size_t len);
void img_split_name(const char *ref, char **name, char **tag, const char *def_tag);
void img_split_path_ref(const char *ref, char **path, char **tag);
int img_store_lock(struct image_store *s, int op, struct error *err);
bool img_valid_name(const char *n);
bool img_valid_tag(const char *t);
bool img_is_path_ref(const char *ref);

#endif
