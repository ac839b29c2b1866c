/*
 * image-import.c - imports into the image store: layers unpacked in
 * parallel and synced once, records written, and image_prepare, which
 * imports a path reference before resolving it. Only this file (with
 * image-oci.c and image-unpack.c) needs libarchive and libcrypto.
 */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-internal.h"
#include "util.h"

struct progress_ctx {
	image_progress_fn fn;
	void *arg;
	size_t layer, nlayers;
	pthread_mutex_t *mu; /* serializes calls from the unpack threads */
};

static void progress_tramp(void *arg, uint64_t done, uint64_t total)
{
	struct progress_ctx *p = arg;

	pthread_mutex_lock(p->mu);
	p->fn(p->arg, p->layer, p->nlayers, done, total);
	pthread_mutex_unlock(p->mu);
}

/* Remove stale .tmp-<hex>-* dirs; called with the layer's lock held EX. */
static void remove_stale_tmp(struct image_store *s, const char *hex)
{
	char prefix[80];
	DIR *d;
	struct dirent *de;
	int fd = openat(s->layersfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	snprintf(prefix, sizeof(prefix), ".tmp-%s-", hex);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			char *p;
			xasprintf(&p, "%s/%s", s->layers_dir, de->d_name);
			(void)image_rm_tree(p, NULL);
			free(p);
		}
	}
	closedir(d);
}

/* ---- import ----------------------------------------------------------------- */

/*
 * One distinct layer of an import. Absent layers are unpacked into
 * .tmp-<hex>-<pid>, in parallel; the import then syncs the store once and
 * renames them all into place (see unpack_missing).
 */
struct held {
	const struct image_plan_layer *l;
	size_t idx; /* position among the import's distinct layers, bottom first */
	atomic_bool stop; /* a lower layer failed: stop, this one's error would not be reported */
	int fd; /* .lock-<hex>: EX while we unpack it, then SH */
	bool absent; /* ours to unpack */
	bool created; /* renamed into place by this import */
	char tmpname[96];
	char *tmppath;
	char what[200];
	struct progress_ctx pc;
	struct error err;
	int r;
};

/* The unpack threads' shared state: the jobs and the next one to take. */
struct pool {
	struct image_store *s;
	const struct img_blobs *b; /* read-only while the threads run */
	struct held **jobs;
	size_t njobs;
	atomic_size_t next;
};

/* Create the .tmp directory of an absent layer (its lock held EX). */
static int job_prepare(struct image_store *s, struct held *h, struct error *err)
{
	const struct image_plan_layer *l = h->l;
	int r;

	remove_stale_tmp(s, l->diff_hex);
	if (*l->blob_hex)
		snprintf(h->what, sizeof(h->what), "layer blob sha256:%s", l->blob_hex);
	else
		snprintf(h->what, sizeof(h->what), "layer %s (diff_id sha256:%.16s)", l->blob,
			 l->diff_hex);
	snprintf(h->tmpname, sizeof(h->tmpname), ".tmp-%s-%d", l->diff_hex, (int)getpid());
	xasprintf(&h->tmppath, "%s/%s", s->layers_dir, h->tmpname);
	if (mkdirat(s->layersfd, h->tmpname, 0755) < 0) {
		r = error_set(err, errno, "%s: %s", h->tmppath, strerror(errno));
		free(h->tmppath);
		h->tmppath = NULL; /* not ours to remove */
		return r;
	}
	return 0;
}

/*
 * Unpack one prepared layer, on an unpack thread. The blob and the
 * directory are open only meanwhile, so an import of hundreds of layers
 * holds one lock fd per layer, not three.
 */
static int job_run(struct image_store *s, const struct img_blobs *b, struct held *h)
{
	const struct image_plan_layer *l = h->l;
	struct image_blob blob = { .fd = -1 };
	_cleanup_close_ int rootfd = -1;
	int r;

	if (b->src) {
		r = image_source_blob(b->src, l->blob, &blob, &h->err);
		if (r < 0)
			return r;
	}
	if (b->src && l->size != UINT64_MAX && blob.size != l->size) {
		r = error_set(&h->err, EBADMSG,
			      "%s: size mismatch: descriptor says %llu bytes, blob has %llu",
			      h->what, (unsigned long long)l->size, (unsigned long long)blob.size);
		goto out;
	}
	rootfd = openat(s->layersfd, h->tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0) {
		r = error_set(&h->err, errno, "%s: %s", h->tmppath, strerror(errno));
		goto out;
	}
	struct image_unpack_args a = {
		.what = h->what,
		.blob = b->src ? &blob : NULL,
		.comp = l->comp,
		.blob_hex = l->blob_hex,
		.diff_hex = l->diff_hex,
		.rootfd = rootfd,
		.root_path = h->tmppath,
		.lim = &s->lim,
		.progress = h->pc.fn ? progress_tramp : NULL,
		.progress_arg = &h->pc,
		.cancel = &h->stop,
	};
	r = b->src ? image_unpack_layer(&a, &h->err) : b->fetch(b->arg, l, &a, &h->err);
out:
	image_blob_close(&blob);
	return r;
}

/* An unpack thread: take jobs until none are left or one has failed. */
static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->njobs) {
		struct held *h = p->jobs[i];

		if (atomic_load(&h->stop))
			h->r = error_set(&h->err, ECANCELED, "%s: canceled", h->what);
		else
			h->r = job_run(p->s, p->b, h);
		if (h->r < 0 && h->r != -ECANCELED)
			for (size_t k = 0; k < p->njobs; k++)
				if (p->jobs[k]->idx > h->idx)
					atomic_store(&p->jobs[k]->stop, true);
	}
	return NULL;
}

/* Usable CPUs: the affinity mask, which cpusets narrow; at least 1. */
static size_t ncpus(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (size_t)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (size_t)n : 1;
}

/* Biggest blob first, so that the longest unpack starts at once (unknown sizes count as big). */
static int by_size_desc(const void *a, const void *b)
{
	uint64_t x = (*(struct held *const *)a)->l->size, y = (*(struct held *const *)b)->l->size;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * Unpack the jobs (absent layers, their .tmp dirs prepared) on
 * min(CPUs, jobs) threads, then make them durable and visible: one
 * syncfs of the store, then one rename per layer, then an fsync of the
 * layers directory for the renames. A layer's directory gets its real
 * name only after its content is on disk, so a crash at any point leaves
 * complete layers and .tmp directories, never a layer that looks
 * complete and is not. On failure the caller removes the .tmp dirs.
 *
 * A failing layer stops the layers above it, never those below, so the
 * error returned is always the lowest failing layer's, as a serial
 * import would report it, whatever the threads' timing.
 */
static int unpack_missing(struct image_store *s, const struct img_blobs *b, struct held **jobs,
			  size_t n, struct error *err)
{
	struct pool p = { .s = s, .b = b, .jobs = jobs, .njobs = n };
	size_t max = b->nthreads ? b->nthreads : ncpus();
	size_t nthreads = max < n ? max : n, started = 0;
	pthread_t *th = xcalloc(nthreads ? nthreads : 1, sizeof(*th));
	struct held *first = NULL;
	int r = 0;

	atomic_init(&p.next, 0);
	qsort(jobs, n, sizeof(*jobs), by_size_desc);
	/* this thread is one of the workers */
	for (size_t i = 1; i < nthreads; i++)
		if (pthread_create(&th[started], NULL, pool_worker, &p) == 0)
			started++;
	(void)pool_worker(&p);
	for (size_t i = 0; i < started; i++)
		(void)pthread_join(th[i], NULL);
	free(th);

	for (size_t i = 0; i < n; i++)
		if (jobs[i]->r < 0 && (!first || jobs[i]->idx < first->idx))
			first = jobs[i];
	if (first) {
		*err = first->err;
		return first->r;
	}
	if (!s->lim.no_sync && n > 0 && syncfs(s->layersfd) < 0)
		return error_set(err, errno, "%s: sync: %s", s->layers_dir, strerror(errno));
	for (size_t i = 0; i < n && r == 0; i++) {
		struct held *h = jobs[i];
		if (renameat(s->layersfd, h->tmpname, s->layersfd, h->l->diff_hex) < 0) {
			r = error_set(err, errno, "%s: cannot move into place: %s", h->what,
				      strerror(errno));
			break;
		}
		free(h->tmppath);
		h->tmppath = NULL;
		h->created = true;
		s->unpacked++;
	}
	if (r == 0 && !s->lim.no_sync && n > 0 && fsync(s->layersfd) < 0)
		r = error_set(err, errno, "%s: sync: %s", s->layers_dir, strerror(errno));
	return r;
}

static int by_hex(const void *a, const void *b)
{
	const struct held *x = *(struct held *const *)a, *y = *(struct held *const *)b;

	return strcmp(x->l->diff_hex, y->l->diff_hex);
}

/*
 * Carry out plans: every layer present (unpacking missing ones), then
 * the records. On failure, layers this call created are removed again
 * unless another import holds them. A tag "@sha256:<hex>" (a registry
 * pull by digest alone) is recorded with ref "NAME@sha256:<hex>".
 *
 * Layer locks are taken in diff_id order, so two imports that need the
 * same missing layers cannot each hold one the other waits for.
 */
int img_apply_plans(struct image_store *s, const struct img_blobs *b, struct image_plan *plans,
		    size_t n, image_progress_fn progress, void *arg, struct error *err)
{
	pthread_mutex_t progress_mu = PTHREAD_MUTEX_INITIALIZER;
	_cleanup_free_ struct held *held = NULL;
	_cleanup_free_ struct held **order = NULL;
	size_t nheld = 0, total = 0, njobs = 0, pos = 0;
	int r = 0, glock;

	for (size_t i = 0; i < n; i++)
		total += plans[i].nlayers;
	held = xcalloc(total ? total : 1, sizeof(*held));
	order = xcalloc(total ? total : 1, sizeof(*order));
	glock = img_store_lock(s, LOCK_SH, err);
	if (glock < 0)
		return glock;
	/* the distinct layers, in import order (O(layers^2): fine for hundreds); a repeat
	 * counts as found present */
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < plans[i].nlayers; k++, pos++) {
			const struct image_plan_layer *l = &plans[i].layers[k];
			bool seen = false;

			for (size_t j = 0; j < nheld && !seen; j++)
				seen = strcmp(held[j].l->diff_hex, l->diff_hex) == 0;
			if (seen) {
				s->reused++;
				if (progress)
					progress(arg, pos, total,
						 l->size == UINT64_MAX ? 0 : l->size,
						 l->size == UINT64_MAX ? 0 : l->size);
				continue;
			}
			held[nheld] = (struct held){ .l = l, .idx = nheld, .fd = -1 };
			atomic_init(&held[nheld].stop, false);
			held[nheld].pc = (struct progress_ctx){ .fn = progress,
								.arg = arg,
								.layer = pos,
								.nlayers = total,
								.mu = &progress_mu };
			order[nheld] = &held[nheld];
			nheld++;
		}
	}
	qsort(order, nheld, sizeof(*order), by_hex);
	for (size_t i = 0; i < nheld && r >= 0; i++) {
		struct held *h = order[i];
		r = img_layer_claim(s, h->l->diff_hex, &h->fd, err);
		if (r == 1) {
			s->reused++;
			if (progress)
				progress(arg, h->pc.layer, total,
					 h->l->size == UINT64_MAX ? 0 : h->l->size,
					 h->l->size == UINT64_MAX ? 0 : h->l->size);
		} else if (r == 0) {
			h->absent = true;
			order[njobs++] = h; /* behind i: reuses the array for the jobs */
		}
	}
	for (size_t i = 0; i < nheld && r >= 0; i++)
		if (held[i].absent)
			r = job_prepare(s, &held[i], err);
	if (r >= 0)
		r = unpack_missing(s, b, order, njobs, err);
	for (size_t i = 0; i < nheld && r >= 0; i++) {
		char shortname[80];
		if (held[i].absent)
			(void)flock(held[i].fd, LOCK_SH); /* unpacked: others may use it now */
		r = img_short_link(s, held[i].l->diff_hex, shortname, sizeof(shortname));
		if (r < 0)
			r = error_set(err, -r, "layer sha256:%s: short link: %s",
				      held[i].l->diff_hex, strerror(-r));
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		json_object *rec =
		    img_record_new(&plans[i], plans[i].name, plans[i].tag, b->source, b->kind);
		if (plans[i].tag[0] == '@') {
			char *ref;
			xasprintf(&ref, "%s%s", plans[i].name, plans[i].tag);
			json_object_object_add(rec, "ref", json_object_new_string(ref));
			free(ref);
		}
		r = img_record_write(s, rec, err);
		json_object_put(rec);
	}
	for (size_t i = 0; i < nheld; i++) {
		struct held *h = &held[i];
		if (h->tmppath)
			(void)image_rm_tree(h->tmppath, NULL);
		free(h->tmppath);
		if (h->fd < 0)
			continue;
		if (r < 0 && h->created) {
			(void)flock(h->fd, LOCK_UN);
			if (flock(h->fd, LOCK_EX | LOCK_NB) == 0)
				img_remove_layer(s, h->l->diff_hex, NULL);
		}
		close(h->fd);
	}
	close(glock);
	return r < 0 ? r : 0;
}

static char *default_name(const char *src)
{
	_cleanup_free_ char *copy = xstrdup(src);
	char *b, *dot;
	size_t len = strlen(copy);

	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	b = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	dot = strrchr(b, '.');
	if (dot && dot != b && strcmp(dot, ".tar") == 0)
		*dot = '\0';
	return xstrdup(b);
}

int image_import(struct image_store *s, const char *srcpath, const char *only_tag,
		 const char *name_override, image_progress_fn progress, void *arg,
		 char ***imported_refs, struct error *err)
{
	struct image_source *src = NULL;
	struct image_plan *plans = NULL;
	_cleanup_free_ char *oname = NULL, *otag = NULL, *defname = NULL;
	size_t n = 0;
	int r;

	if (imported_refs)
		*imported_refs = NULL;
	if (name_override) {
		img_split_name(name_override, &oname, &otag, NULL);
		if (!img_valid_name(oname) || (otag && !img_valid_tag(otag)))
			return error_set(err, EINVAL, "invalid image name '%s'", name_override);
	}
	if (only_tag && !img_valid_tag(only_tag))
		return error_set(err, EINVAL, "invalid tag '%s'", only_tag);
	r = image_source_open(srcpath, &s->lim, &src, err);
	if (r < 0)
		return r;
	defname = default_name(image_source_path(src));
	r = image_source_plan(src, only_tag, false, NULL, &plans, &n, err);
	if (r < 0)
		goto out;
	if (otag && n > 1) {
		r = error_set(err, EINVAL,
			      "%s holds %zu images; --name NAME:TAG needs one (choose with --tag)",
			      srcpath, n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct image_plan *p = &plans[i];
		if (oname) {
			free(p->name);
			p->name = xstrdup(oname);
		} else if (!p->name) {
			p->name = xstrdup(defname);
		}
		if (otag) {
			free(p->tag);
			p->tag = xstrdup(otag);
		} else if (!p->tag) {
			p->tag = xstrdup("latest");
		}
		if (!img_valid_name(p->name) || !img_valid_tag(p->tag)) {
			r = error_set(err, EINVAL, "%s: invalid image name '%s:%s' (use --name)",
				      srcpath, p->name, p->tag);
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(plans[k].name, p->name) == 0 &&
			    strcmp(plans[k].tag, p->tag) == 0) {
				r = error_set(err, EEXIST, "%s: two images would be named '%s:%s'",
					      srcpath, p->name, p->tag);
				goto out;
			}
	}
	{
		struct img_blobs b = { .src = src,
				       .source = image_source_path(src),
				       .kind = image_source_kind(src) };
		r = img_apply_plans(s, &b, plans, n, progress, arg, err);
	}
	if (r < 0)
		goto out;
	if (imported_refs) {
		char **v = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			xasprintf(&v[i], "%s:%s", plans[i].name, plans[i].tag);
		*imported_refs = v;
	}
	r = (int)n;
out:
	image_plans_free(plans, n);
	image_source_free(src);
	return r;
}

/* ---- resolve ---------------------------------------------------------------- */

static int resolve_path(struct image_store *s, const char *ref, struct image_info **out,
			struct error *err)
{
	_cleanup_free_ char *path = NULL, *tag = NULL;
	struct image_source *src = NULL;
	struct image_plan *plans = NULL;
	size_t n = 0;
	int r;

	img_split_path_ref(ref, &path, &tag);
	if (tag && !img_valid_tag(tag))
		return error_set(err, EINVAL, "%s: invalid tag '%s'", ref, tag);
	r = image_source_open(path, &s->lim, &src, err);
	if (r < 0)
		return r;
	r = image_source_plan(src, tag, true, NULL, &plans, &n, err);
	if (r < 0)
		goto out;
	free(plans[0].name);
	plans[0].name = xstrdup(image_source_path(src));
	free(plans[0].tag);
	plans[0].tag = xstrdup(tag ? tag : "");
	{
		struct img_blobs b = { .src = src,
				       .source = image_source_path(src),
				       .kind = image_source_kind(src) };
		r = img_apply_plans(s, &b, plans, 1, NULL, NULL, err);
	}
	if (r < 0)
		goto out;
	{
		_cleanup_json_ json_object *rec = NULL;
		r = img_record_read(s, plans[0].name, plans[0].tag, &rec, err);
		if (r == 0)
			r = img_info_from_record(s, rec, out, err);
	}
out:
	image_plans_free(plans, n);
	image_source_free(src);
	return r;
}

int image_prepare(struct image_store *s, const char *ref, struct image_info **out,
		  struct error *err)
{
	*out = NULL;
	if (ref && img_is_path_ref(ref))
		return resolve_path(s, ref, out, err);
	return image_resolve(s, ref, out, err);
}
