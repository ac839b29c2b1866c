/*
 * image.h - the OCI image store: import OCI image layouts, oci-archive and
 * docker-archive tars; verify every blob against its descriptor and every
 * layer against the config's diff_ids; unpack layers once into a shared,
 * content-addressed layer store; resolve a service's image reference to
 * its layer directories, overlay mount options and config defaults.
 *
 * Library style: nothing here logs. Functions return 0 (or a count) on
 * success and -errno on failure, and fill the caller's struct error
 * (error.h) with one human sentence naming the blob, file or archive
 * entry and the reason. The store layout is documented at the top of image.c.
 *
 * A store object is not thread-safe; separate processes may share a
 * store directory (layer unpacks are serialized by flock per layer,
 * prune excludes imports by a store-wide flock).
 */
#ifndef PADDOCK_IMAGE_H
#define PADDOCK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct json_object;

/* Zero fields take the defaults below. */
struct image_limits {
	uint64_t max_json_bytes; /* index.json, manifests, configs: 4 MiB */
	uint64_t max_layer_bytes; /* uncompressed tar stream of one layer: 8 GiB */
	uint64_t max_layer_entries; /* archive entries in one layer: 1,000,000 */
	int no_sync; /* 1: skip the syncfs() before an import renames its layers into place */
};

#define IMAGE_DEFAULT_MAX_JSON (4ULL << 20)
#define IMAGE_DEFAULT_MAX_LAYER (8ULL << 30)
#define IMAGE_DEFAULT_MAX_ENTRIES 1000000ULL

struct image_store;

/*
 * Progress of an import: layer is 0-based in [0, nlayers) over all layers
 * the import handles (all its images, bottom first); done/total are bytes
 * of the (compressed) layer blob. A layer found already in the store is
 * reported once with done == total. Missing layers unpack in parallel:
 * calls come from the unpack threads, one at a time, layers interleaved.
 */
typedef void (*image_progress_fn)(void *arg, size_t layer, size_t nlayers, uint64_t done,
				  uint64_t total);

/* What a service needs from its image. Arrays are NULL-terminated; NULL = unset in the image. */
struct image_info {
	char *ref; /* "NAME:TAG" as recorded ("/abs/layout:TAG" for path references) */
	char *digest; /* manifest digest "sha256:<hex>" (docker-archive: config digest) */
	char *config_digest;
	size_t nlayers;
	char **layer_dirs; /* absolute layer directories, top (last applied) first */
	char **layer_digests; /* diff_ids "sha256:<hex>", same order as layer_dirs */
	char **entrypoint; /* image config Entrypoint */
	char **cmd; /* image config Cmd */
	char **env; /* image config Env, "KEY=VALUE" */
	char *working_dir; /* NULL if unset or empty */
	char *user; /* NULL if unset or empty */

	/* private to image_overlay_options() */
	char *layers_root;
	char **layer_short; /* short relative names under layers_root, same order */
};

/*
 * Open (creating if needed) the store under state_dir: <state_dir>/layers
 * and <state_dir>/images, both mode 0700, and remove the temporary
 * directories a crashed import left. limits may be NULL. Returns NULL
 * with err filled on failure.
 */
struct image_store *image_store_open(const char *state_dir, const struct image_limits *limits,
				     struct error *err);
/* Returns NULL. Accepts NULL. */
struct image_store *image_store_free(struct image_store *store);

/*
 * Import src: an OCI image layout directory (has "oci-layout"), an
 * oci-archive tar (a layout in an uncompressed tar), or a docker-archive
 * (`docker save` tar or its unpacked directory; has "manifest.json" and no
 * "oci-layout"). Every tag of the source is imported unless only_tag names
 * one. name_override is "NAME" (keeps the source's tags) or "NAME:TAG"
 * (the source must then yield exactly one image). Without it an image is
 * named by its io.containerd.image.name annotation or docker RepoTags,
 * else by the source's file name without ".tar". All-or-nothing: on error
 * no image is recorded and layers this call created are removed again.
 * On success *imported_refs (if not NULL) gets a NULL-terminated array of
 * "NAME:TAG" (free with image_strv_free) and the count is returned.
 */
int image_import(struct image_store *store, const char *src, const char *only_tag,
		 const char *name_override, image_progress_fn progress, void *arg,
		 char ***imported_refs, struct error *err);

/*
 * Resolve ref for a service from the store's records alone. Path
 * references start with '/', "./" or "../": "PATH:TAG" or "PATH" names an
 * OCI layout directory on disk, recorded as "<realpath>:TAG" (tag "" if
 * none was given) by the last image_prepare of it. Anything else is
 * "NAME[:TAG]" of an imported image (TAG defaults to "latest"). On success
 * *out is the image; free it with image_info_free. Needs no libarchive or
 * libcrypto: paddockd links this, and runs image_prepare in
 * paddockctl-image.
 */
int image_resolve(struct image_store *store, const char *ref, struct image_info **out,
		  struct error *err);
/*
 * image_resolve, after importing a path reference: its manifest and
 * config are read and verified on every call, missing layers are
 * verified and unpacked, and the image is recorded (image-import.c).
 */
int image_prepare(struct image_store *store, const char *ref, struct image_info **out,
		  struct error *err);
/* Returns NULL. Accepts NULL. */
struct image_info *image_info_free(struct image_info *info);

/*
 * Build the overlay mount data for info into buf: "lowerdir=A:B:...[,
 * upperdir=U,workdir=W]" where A, B, ... are short names relative to the
 * directory written to chdir_to (the store's layers directory), so that
 * hundreds of layers fit in the one page mount(2) accepts. upper and work
 * must be absolute and both set or both NULL (NULL: a read-only overlay;
 * an empty store directory is added below a single layer, since overlayfs
 * needs two lower layers without an upper one). ':' ',' '\\' in
 * upper/work are refused.
 *
 * The caller must mount with the working directory at chdir_to, e.g. in
 * the launch child (its cwd is its own):
 *     chdir(chdir_to); mount("overlay", target, "overlay", 0, buf); chdir("/");
 * Returns 0, -ENAMETOOLONG if the options do not fit len (or the page
 * size), -EINVAL for bad arguments.
 */
int image_overlay_options(const struct image_info *info, const char *upper, const char *work,
			  char *buf, size_t len, char *chdir_to, size_t chdir_len);

/*
 * Docker's merge of a service's overrides with the image defaults:
 * entrypoint (if not NULL) replaces the image Entrypoint and drops the
 * image Cmd; command (if not NULL) replaces Cmd. *argv_out is
 * entrypoint ++ cmd (NULL-terminated, free with image_strv_free), or
 * -ENOEXEC if both end up empty.
 */
int image_exec_argv(const struct image_info *info, char *const *entrypoint, char *const *command,
		    char ***argv_out);
/* Image Env overlaid with spec_env ("KEY=VALUE", later wins per key); *out NULL-terminated. */
int image_merge_env(const struct image_info *info, char *const *spec_env, char ***out);

/*
 * JSON array of the recorded images, each
 * {"ref","name","tag","digest","config_digest","layers":n,"size":bytes
 * (compressed blobs),"source","imported":unix time}, sorted by ref.
 */
int image_list(struct image_store *store, struct json_object **out, struct error *err);
/* The record of ref (NAME[:TAG] or a path reference) plus "layer_dirs"; no import. */
int image_inspect(struct image_store *store, const char *ref, struct json_object **out,
		  struct error *err);
/* Forget ref's record (untag). Its layers stay until image_prune. -ENOENT if unknown. */
int image_rm(struct image_store *store, const char *ref, struct error *err);
/*
 * Remove every layer that no recorded image uses and that is not in
 * in_use (diff_ids "sha256:<hex>" of running services' images, e.g. from
 * image_info.layer_digests), plus stale temporary directories. Waits for
 * running imports. *freed_bytes (may be NULL) gets the disk space freed.
 * Returns the number of layers removed.
 */
int image_prune(struct image_store *store, const char *const *in_use_layer_digests, size_t n,
		uint64_t *freed_bytes, struct error *err);

/* Counters of this store object since open: layers unpacked, and layers found present. */
void image_store_stats(const struct image_store *store, uint64_t *unpacked, uint64_t *reused);

/* Free a NULL-terminated string array. Accepts NULL. */
void image_strv_free(char **v);

/*
 * --- Registries (registry.c; issue 17) ------------------------------------------
 * A registry reference is "HOST[:PORT]/NAME[:TAG]" or "...@sha256:<hex>"
 * (HOST has a '.' or ':' or is "localhost"; otherwise "docker.io/" is
 * implied, and "library/" for a single-component docker.io NAME; TAG
 * defaults to "latest"). It is recorded under that normalised reference.
 */
struct image_registry {
	const char *host; /* "HOST[:PORT]" this entry is for */
	const char *const
	    *mirrors; /* NULL-terminated "HOST[:PORT][/PREFIX]", tried first; NULL = none */
	int insecure; /* 1: plain HTTP allowed (and TLS without verification) for this host */
};

struct image_pull_options {
	const char
	    *auth_file; /* containers-auth.json / docker config.json format; NULL = the defaults */
	const char *
	    certs_dir; /* certs.d root (HOST:PORT/ca.crt, client.cert, client.key); NULL = default */
	const struct image_registry *registries; /* the daemon config's registries:, may be NULL */
	size_t nregistries;
	unsigned parallel; /* layers downloaded at once; 0 = 3 */
	unsigned connect_timeout_ms; /* 0 = 10 s */
	unsigned stall_timeout_ms; /* no byte for this long ends a transfer (retried); 0 = 30 s */
	unsigned retries; /* per request; 0 = 3, with backoff */
};

/* Is ref a registry reference (not a path, not a bare local NAME:TAG)? */
int image_ref_is_remote(const char *ref);
/*
 * Pull ref: manifest (negotiated: OCI index/manifest, docker manifest list
 * v2 and schema2; schema1 refused), platform linux/<this arch>, config,
 * then the layers not already in the store, several at once, each streamed
 * through digest verification, decompression and unpack in one pass.
 * All-or-nothing like image_import; records the image under the
 * normalised reference with "source" = the reference and the manifest
 * digest. progress as for image_import. *out (if not NULL) is the image.
 */
int image_pull(struct image_store *store, const char *ref, const struct image_pull_options *o,
	       image_progress_fn progress, void *arg, struct image_info **out, struct error *err);
/*
 * Check user/password against registry (HOST[:PORT]) and store them in
 * o->auth_file (created 0600; refused when group- or world-readable).
 */
int image_login(const char *registry, const char *user, const char *password,
		const struct image_pull_options *o, struct error *err);
/* Remove registry's credentials from o->auth_file (-ENOENT when there were none). */
int image_logout(const char *registry, const struct image_pull_options *o, struct error *err);

#endif
