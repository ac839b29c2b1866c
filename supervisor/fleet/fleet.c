/*
 * fleet.c - this paddockd as a node of a fleet on etcd (fleet.h, issue 21).
 *
 * Keys (all under /paddock/):
 *   nodes/NODE           this node's record (labels, budget, commitments,
 *                        its instances' states), bound to its lease
 *   specs/SERVICE        a fleet spec's YAML text (paddockctl fleet apply)
 *   claims/SERVICE/N     the node running instance N, bound to its lease
 *
 * No leader of our own: every node reads the keyspace when a watch says it
 * changed, and claims one unclaimed instance that fits its remaining budget
 * (the rebalancer's, less what its local services and its fleet instances,
 * stopping ones too, reserve: committed()) by a compare-and-swap
 * transaction (create_revision == 0). Nodes with more
 * committed wait longer before claiming (a load-proportional delay), and a
 * per-node hash orders the candidates, so claims do not stampede. A claim
 * is bound to the node's lease: when the node dies the lease expires, its
 * claims vanish, and the watch wakes the others to claim them.
 *
 * Fencing: a node that has not had a keepalive answered for TTL minus a
 * margin (a fifth, at least 1 s) stops its fleet services and forgets its lease before etcd can
 * expire it, so an instance never runs on two nodes. Local services are
 * untouched. It then joins again with a new lease and claims afresh.
 *
 * Leaving: a shutdown claims nothing more; once the loop ended with every
 * fleet instance stopped, fleet_leave revokes the lease so the others take
 * them over at once. Never earlier: that would let one run on two nodes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <limits.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "config.h"
#include "control.h"
#include "etcd.h"
#include "events.h"
#include "fleet.h"
#include "log.h"
#include "manager.h"
#include "rebalance-glue.h"
#include "service.h"
#include "util.h"

#define FLEET_PREFIX "/paddock/"
#define FLEET_SPECS FLEET_PREFIX "specs/"
#define FLEET_CLAIMS FLEET_PREFIX "claims/"
#define FLEET_NODES FLEET_PREFIX "nodes/"
#define FLEET_CALL_TIMEOUT_MS 3000
#define FLEET_MAX_BACKOFF_MS 5000
#define FLEET_PUBLISH_MS 1000 /* the node record is rewritten at most this often, when changed */
#define FLEET_MAX_HELD 1024
#define FLEET_CLAIM_BATCH 8 /* instances claimed in one txn */
#define FLEET_MAX_PICKS 8192 /* unclaimed instances looked at in one pass */
#define FLEET_LEAVE_MS 2000 /* a shutdown waits this long for etcd to revoke the lease */

/* One fleet instance this node runs. */
struct held {
	char *svc; /* the fleet spec's name */
	uint32_t idx;
	char *name; /* the local service, "svc@idx" */
	int64_t spec_rev; /* the spec's mod_revision it was started from */
	int64_t claim_rev; /* the revision our claim was written at: older views do not show it */
	uint64_t memory, mcpu; /* what it costs against the budget */
	bool stopping; /* stopped, not gone yet: still counts, until held_prune drops it */
};

/* A parsed spec, kept while its mod_revision is current. */
struct spec_cache {
	char *name;
	int64_t rev;
	struct spec_set *set; /* NULL: the text does not parse */
	const struct service_spec *spec;
};

/* A claim's release (a delete txn) in flight: not sent again until it answered. */
struct release {
	struct fleet *f;
	char *key;
};

/* A control request waiting for etcd. */
struct pending {
	struct fleet *f;
	uint64_t ticket;
	char *cmd;
};

struct fleet {
	struct manager *d;
	struct control *ctl;
	struct etcd *etcd;
	char *node, *node_key;
	uint64_t ttl_ms, margin_ms;
	int64_t lease; /* 0: not joined */
	int64_t stale_lease; /* a lease a killed predecessor held (state file): revoked first */
	bool tick_grant; /* c_tick asks for a new lease (else it keeps f->lease alive) */
	char *state_path; /* <state_dir>/fleet.json */
	uint64_t last_ok_ms; /* when the last answered keepalive (or grant) was sent */
	uint64_t sent_ms;
	uint64_t
	    opened_ms; /* when this daemon started: a stale lease waits for orphans until TTL */
	uint32_t backoff_ms;
	uint64_t budget_memory, budget_mcpu; /* 0 mcpu: not limited */
	struct event *ev_tick, *ev_fence, *ev_sync, *ev_claim, *ev_publish, *ev_rewatch;
	struct etcd_call *c_tick, *c_sync, *c_claim, *c_publish, *c_watch;
	bool watch_live; /* etcd said "created": changes from then on reach us */
	uint64_t watch_ms; /* when c_watch was asked for */
	bool sync_again;
	uint64_t last_sync_ms; /* a watch stuck on a silent member misses changes: read every TTL */
	struct held *held;
	size_t nheld;
	struct spec_cache *cache;
	size_t ncache;
	char *published; /* the node record as last written */
	char **releasing; /* local names of stopped instances whose claim we still hold */
	size_t nreleasing;
	struct release **releases; /* delete txns in flight */
	size_t nreleases;
	/* the instances the next ev_claim tries, in one txn; fixed while it is in flight */
	struct cand {
		char *svc;
		uint32_t idx;
		int64_t rev; /* the spec's mod_revision we checked */
	} cands[FLEET_CLAIM_BATCH];
	size_t ncands;
	bool claim_single; /* the last batch lost a race: claim one at a time until one wins */
};

static void retry(struct fleet *f);
static void releasing_clear(struct fleet *f);

static void schedule(struct event *ev, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	event_add(ev, &tv);
}

static void emit(struct fleet *f, const char *service, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* An event in the daemon's log, for paddockctl events and the fencing timeline. */
static void emit(struct fleet *f, const char *service, const char *type, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "node", json_object_new_string(f->node));
	json_object_object_add(o, "message", json_object_new_string(msg));
	eventlog_emit(f->d->events, service, type, o);
}

/* --- keys and the view of the keyspace ------------------------------------------- */

static int cmp_kv_key(const void *k, const void *kv)
{
	return strcmp(k, ((const struct etcd_kv *)kv)->key);
}

/* The kv of key in a range reply (sorted by key, as etcd returns it), or NULL. */
static const struct etcd_kv *view_find(const struct etcd_reply *r, const char *key)
{
	return bsearch(key, r->kvs, r->nkvs, sizeof(*r->kvs), cmp_kv_key);
}

static const struct etcd_kv *view_claim(const struct etcd_reply *r, const char *svc, uint32_t i)
{
	char key[256];

	snprintf(key, sizeof(key), FLEET_CLAIMS "%s/%" PRIu32, svc, i);
	return view_find(r, key);
}

static bool claim_is_mine(const struct fleet *f, const struct etcd_kv *c)
{
	return c && f->lease && c->lease == f->lease && strcmp(c->value, f->node) == 0;
}

/* --- specs ------------------------------------------------------------------------ */

static void cache_clear(struct spec_cache *c)
{
	free(c->name);
	spec_set_free(c->set);
	*c = (struct spec_cache){ 0 };
}

/* Parse a fleet spec's text: the service called name in it. NULL with a warning. */
static struct spec_set *parse_spec(struct fleet *f, const char *name, const char *text, size_t len,
				   const struct service_spec **spec)
{
	struct config_errors errs = { 0 };
	struct spec_set *set = NULL;
	char file[128];

	snprintf(file, sizeof(file), FLEET_SPECS "%s", name);
	*spec = NULL;
	if (config_parse_specs_buffer(file, text, len, &f->d->host, &set, &errs) < 0) {
		log_warnx("fleet: spec %s does not parse here: %s", name,
			  errs.n ? errs.diags[0].message : "error");
		config_errors_clear(&errs);
		return NULL;
	}
	config_errors_clear(&errs);
	if (!(*spec = spec_set_find(set, name))) {
		log_warnx("fleet: spec %s does not define a service '%s'", name, name);
		return spec_set_free(set);
	}
	return set;
}

/* The cached parse of the spec kv (key FLEET_SPECS name); NULL if it does not parse. */
static const struct service_spec *spec_get(struct fleet *f, const struct etcd_kv *kv)
{
	const char *name = kv->key + strlen(FLEET_SPECS);
	struct spec_cache *c = NULL;

	for (size_t i = 0; i < f->ncache; i++)
		if (strcmp(f->cache[i].name, name) == 0)
			c = &f->cache[i];
	if (c && c->rev == kv->mod_rev)
		return c->spec;
	if (!c) {
		struct spec_cache *v = realloc(f->cache, (f->ncache + 1) * sizeof(*v));
		if (!v)
			return NULL;
		f->cache = v;
		c = &f->cache[f->ncache++];
		*c = (struct spec_cache){ 0 };
		if (!(c->name = strdup(name))) {
			f->ncache--;
			return NULL;
		}
	} else {
		spec_set_free(c->set);
		c->set = NULL;
		c->spec = NULL;
	}
	c->rev = kv->mod_rev;
	c->set = parse_spec(f, name, kv->value, kv->vlen, &c->spec);
	return c->spec;
}

/* Drop cached specs no longer in the view. */
static void cache_prune(struct fleet *f, const struct etcd_reply *r)
{
	size_t k = 0;
	char key[256];

	for (size_t i = 0; i < f->ncache; i++) {
		snprintf(key, sizeof(key), FLEET_SPECS "%s", f->cache[i].name);
		if (view_find(r, key))
			f->cache[k++] = f->cache[i];
		else
			cache_clear(&f->cache[i]);
	}
	f->ncache = k;
}

static uint32_t spec_count(const struct service_spec *s)
{
	return s->placement.set ? s->placement.count : 1;
}

static uint64_t spec_memory(const struct service_spec *s)
{
	const struct spec_memory *m = &s->resources.memory;

	if (m->max != SPEC_UNSET && m->max != SPEC_SIZE_MAX)
		return m->max;
	if (m->high != SPEC_UNSET && m->high != SPEC_SIZE_MAX)
		return m->high;
	return m->low != SPEC_UNSET && m->low != SPEC_SIZE_MAX ? m->low : 0;
}

/* Every constraint "K=V" is one of this node's labels (both sorted). */
static bool labels_match(const struct fleet *f, const struct service_spec *s)
{
	for (size_t i = 0; i < s->placement.nconstraints; i++) {
		bool found = false;
		for (size_t j = 0; j < f->d->cfg->fleet.nlabels && !found; j++)
			found =
			    strcmp(s->placement.constraints[i], f->d->cfg->fleet.labels[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* --- instances this node runs ------------------------------------------------------ */

/*
 * What a service of this node reserves: the limits its start writes, as
 * the rebalancer adjusts them (the manager's limits hook: memory.max as
 * on_oom: grow left it, the class's defaults in enforce mode). Then the
 * fleet's own measure, as spec_memory: memory.max, else memory.high, else
 * the guarantee (low); cpu.max in millicores.
 */
static void service_cost(const struct fleet *f, const struct service *svc, uint64_t *memory,
			 uint64_t *mcpu)
{
	struct cgroup_limits l = *service_limits(svc);
	struct service_spec s = { 0 };

	if (f->d->limits)
		f->d->limits(f->d->limits_arg, svc, &l);
	s.resources.memory = l.memory;
	*memory = spec_memory(&s);
	*mcpu = l.cpu_max_mcpu;
}

/*
 * Local services (the services dir, paddockctl run) share the budget with
 * the fleet instances: each that is not settled (running, starting,
 * stopping, or about to start again) counts at service_cost. Every such
 * service, minus the fleet's own: O(services + held * log services).
 */
static void committed_local(const struct fleet *f, uint64_t *memory, uint64_t *mcpu)
{
	uint64_t m, c;

	*memory = *mcpu = 0;
	for (size_t i = 0; i < f->d->nservices; i++) {
		if (service_settled(f->d->services[i]))
			continue;
		service_cost(f, f->d->services[i], &m, &c);
		*memory += m;
		*mcpu += c;
	}
	for (size_t i = 0; i < f->nheld; i++) {
		const struct service *svc = manager_find(f->d, f->held[i].name);
		if (!svc || service_settled(svc))
			continue;
		service_cost(f, svc, &m, &c);
		*memory -= m;
		*mcpu -= c;
	}
}

/*
 * What this node has committed: its local services and its fleet
 * instances, stopping ones too; an instance at what its service reserves
 * now (a grown memory.max), else at what it cost when claimed.
 */
static void committed(const struct fleet *f, uint64_t *memory, uint64_t *mcpu)
{
	committed_local(f, memory, mcpu);
	for (size_t i = 0; i < f->nheld; i++) {
		const struct service *svc = manager_find(f->d, f->held[i].name);
		uint64_t m = f->held[i].memory, c = f->held[i].mcpu;

		if (svc)
			service_cost(f, svc, &m, &c);
		*memory += m;
		*mcpu += c;
	}
}

static void held_drop(struct fleet *f, size_t i)
{
	free(f->held[i].svc);
	free(f->held[i].name);
	f->held[i] = f->held[--f->nheld];
}

/*
 * Stop instance i. It stays in held, marked stopping, until its service is
 * gone (settled and removed): until then it still uses what it cost, and
 * the node must not claim that room again.
 */
static void held_stop(struct fleet *f, size_t i, const char *why)
{
	struct held *h = &f->held[i];
	struct service *svc = manager_find(f->d, h->name);

	log_info("fleet: stopping %s: %s", h->name, why);
	emit(f, h->name, "fleet-stop", "%s", why);
	h->stopping = true;
	if (svc) {
		service_set_remove_when_settled(svc, true);
		(void)service_stop(svc);
	} else {
		held_drop(f, i);
	}
	manager_touch(f->d);
	event_active(f->ev_publish, 0, 0);
}

/* Forget stopped instances whose service is gone. True if some are still stopping. */
static bool held_prune(struct fleet *f)
{
	bool left = false;

	for (size_t i = f->nheld; i-- > 0;) {
		if (!f->held[i].stopping)
			continue;
		if (manager_find(f->d, f->held[i].name))
			left = true;
		else
			held_drop(f, i);
	}
	return left;
}

static size_t held_running(const struct fleet *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nheld; i++)
		n += !f->held[i].stopping;
	return n;
}

/* Stop every fleet instance: the lease is lost or about to be. Local services stay. */
static void fence(struct fleet *f, const char *why)
{
	size_t n = held_running(f);

	if (n)
		log_warnx("fleet: %s: stopping %zu fleet services", why, n);
	emit(f, NULL, "fleet-fence", "%s; stopping %zu fleet services", why, n);
	for (size_t i = f->nheld; i-- > 0;)
		if (!f->held[i].stopping)
			held_stop(f, i, why);
	releasing_clear(f); /* those claims go with the lease */
	f->lease = 0;
	evtimer_del(f->ev_fence);
	evtimer_del(f->ev_claim);
	/*
	 * A keepalive still in flight must not land after the fence: its
	 * answer would bring back the fenced lease, and with it the claims of
	 * instances that are still stopping, free to be given away.
	 */
	if (f->c_tick) {
		etcd_cancel(f->c_tick);
		f->c_tick = NULL;
		retry(f); /* its answer would have asked for the next try: ask for a new lease */
	}
	if (f->c_claim)
		etcd_cancel(f->c_claim);
	f->c_claim = NULL;
	if (f->c_watch)
		etcd_cancel(f->c_watch);
	f->c_watch = NULL;
	f->watch_live = false;
	evtimer_del(f->ev_rewatch);
	free(f->published);
	f->published = NULL;
}

/* Start instance idx of spec kv as the local service "svc@idx". */
static int held_start(struct fleet *f, const char *svc, uint32_t idx, const struct etcd_kv *kv,
		      int64_t claim_rev)
{
	const struct service_spec *orig;
	struct spec_set *set = parse_spec(f, svc, kv->value, kv->vlen, &orig);
	struct service_spec *spec = NULL;
	struct service *s;
	char *name = NULL;
	int r = -ENOMEM;

	if (!set)
		return -EINVAL;
	if (f->d->env.shutting_down) {
		spec_set_free(set); /* claimed as SIGTERM came: given back, not started */
		return -ESHUTDOWN;
	}
	if (f->nheld >= FLEET_MAX_HELD || asprintf(&name, "%s@%" PRIu32, svc, idx) < 0) {
		spec_set_free(set);
		return -ENOMEM;
	}
	/* Keep only this service, renamed after its instance (set owns orig). */
	spec = (struct service_spec *)orig;
	for (size_t i = 0; i < set->nservices; i++)
		if (set->services[i] != orig)
			service_spec_free(set->services[i]);
	set->services[0] = spec;
	set->nservices = 1;
	free(spec->name);
	spec->name = strdup(name);
	/* A stop must finish before the fence's margin runs out: SIGKILL after half of it. */
	if (spec->stop.timeout_ms == 0 || spec->stop.timeout_ms > f->margin_ms / 2)
		spec->stop.timeout_ms = f->margin_ms / 2;
	struct held h = { .svc = strdup(svc),
			  .idx = idx,
			  .name = name,
			  .spec_rev = kv->mod_rev,
			  .claim_rev = claim_rev,
			  .memory = spec_memory(spec),
			  .mcpu = spec->resources.cpu.max_mcpu };
	if (!spec->name || !h.svc || (r = manager_add(f->d, set, true, &s)) < 0) {
		spec_set_free(set);
		free(h.svc);
		free(name);
		return r;
	}
	struct held *v = realloc(f->held, (f->nheld + 1) * sizeof(*v));
	if (!v) {
		service_set_remove_when_settled(s, true);
		free(h.svc);
		free(name);
		return -ENOMEM;
	}
	f->held = v;
	f->held[f->nheld++] = h;
	(void)service_start(s);
	emit(f, name, "fleet-start", "claimed instance %" PRIu32 " of %s", idx, svc);
	event_active(f->ev_publish, 0, 0);
	return 0;
}

/* --- etcd calls -------------------------------------------------------------------- */

static struct release *release_free(struct release *rel)
{
	free(rel->key);
	free(rel);
	return NULL;
}

static void on_delete_done(void *arg, int err, const struct etcd_reply *r)
{
	struct release *rel = arg;
	struct fleet *f = rel->f;

	(void)r;
	if (err)
		log_warnx("fleet: cannot release claim %s: %s", rel->key,
			  etcd_strerror(f->etcd, err));
	for (size_t i = 0; i < f->nreleases; i++)
		if (f->releases[i] == rel)
			f->releases[i] = f->releases[--f->nreleases];
	release_free(rel);
	event_active(f->ev_sync, 0, 0);
}

/*
 * Delete claim c if it is still the revision we saw: never someone else's
 * later claim. Once per claim until etcd answered (or the call failed): a
 * read while the delete is on its way still shows the claim, and a slow
 * etcd would get the same txn again with every read.
 */
static void release_claim(struct fleet *f, const struct etcd_kv *c)
{
	struct release *rel, **v;

	for (size_t i = 0; i < f->nreleases; i++)
		if (strcmp(f->releases[i]->key, c->key) == 0)
			return;
	if (!(rel = calloc(1, sizeof(*rel))) || !(rel->key = strdup(c->key)) ||
	    !(v = realloc(f->releases, (f->nreleases + 1) * sizeof(*v)))) {
		if (rel)
			release_free(rel);
		return; /* read again later, or the claim goes with the lease */
	}
	f->releases = v;
	rel->f = f;
	struct json_object *cmp = json_object_new_array(), *ops = json_object_new_array();
	json_object_array_add(cmp, etcd_cmp(c->key, "MOD", c->mod_rev));
	json_object_array_add(ops, etcd_op("requestDeleteRange", etcd_req_delete(c->key, false)));
	if (!etcd_post(f->etcd, "/v3/kv/txn", etcd_req_txn(cmp, ops), FLEET_CALL_TIMEOUT_MS,
		       on_delete_done, rel)) {
		release_free(rel);
		return;
	}
	f->releases[f->nreleases++] = rel;
}

/* --- placement: reconcile this node's instances with the keyspace ------------------ */

static uint64_t fnv1a(const char *a, const char *b, uint32_t i)
{
	uint64_t h = 1469598103934665603ULL;
	char buf[32];

	snprintf(buf, sizeof(buf), "/%" PRIu32, i);
	for (const char *s = a; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	for (const char *s = b; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	for (const char *s = buf; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Whether an instance of svc runs here, or still stops: spread allows one per node. */
static bool holds_any(const struct fleet *f, const char *svc)
{
	for (size_t i = 0; i < f->nheld; i++)
		if (strcmp(f->held[i].svc, svc) == 0)
			return true;
	return false;
}

/* Whether a spec of this cost still fits the budget beside what is committed (mem, mcpu). */
static bool fits(const struct fleet *f, const struct service_spec *s, uint64_t mem, uint64_t mcpu)
{
	if (mem + spec_memory(s) > f->budget_memory)
		return false;
	return !f->budget_mcpu || mcpu + s->resources.cpu.max_mcpu <= f->budget_mcpu;
}

struct pick {
	uint64_t h;
	const struct etcd_kv *kv;
	const struct service_spec *spec;
	uint32_t idx;
};

static int cmp_pick(const void *a, const void *b)
{
	uint64_t x = ((const struct pick *)a)->h, y = ((const struct pick *)b)->h;

	return x < y ? -1 : x > y;
}

static void cands_clear(struct fleet *f)
{
	for (size_t i = 0; i < f->ncands; i++)
		free(f->cands[i].svc);
	f->ncands = 0;
}

static void releasing_add(struct fleet *f, const char *svc, uint32_t idx)
{
	char **v = realloc(f->releasing, (f->nreleasing + 1) * sizeof(*v)), *name;

	if (!v || asprintf(&name, "%s@%" PRIu32, svc, idx) < 0) {
		if (v)
			f->releasing = v;
		return; /* the claim then goes with the lease */
	}
	f->releasing = v;
	f->releasing[f->nreleasing++] = name;
}

/* Whether the claim key is that of the local instance name "svc@n". */
static bool releasing_key_is(const char *name, const char *key)
{
	char want[256];
	const char *at = strrchr(name, '@');

	snprintf(want, sizeof(want), FLEET_CLAIMS "%.*s/%s", (int)(at - name), name, at + 1);
	return strcmp(want, key) == 0;
}

static void releasing_clear(struct fleet *f)
{
	for (size_t i = 0; i < f->nreleasing; i++)
		free(f->releasing[i]);
	free(f->releasing);
	f->releasing = NULL;
	f->nreleasing = 0;
}

static void reconcile(struct fleet *f, const struct etcd_reply *r)
{
	char key[256], local[SPEC_NAME_MAX + 16];

	cache_prune(f, r);
	if (held_prune(f))
		schedule(f->ev_sync, 200); /* look again soon: they count until gone */
	/* 1. What we run and should not: the claim is gone or not ours, the spec changed. */
	for (size_t i = f->nheld; i-- > 0;) {
		struct held *h = &f->held[i];
		const struct etcd_kv *c = view_claim(r, h->svc, h->idx), *s;
		const struct service_spec *spec;

		if (h->stopping || r->revision < h->claim_rev)
			continue; /* stopping already; a read that started before our claim */
		snprintf(key, sizeof(key), FLEET_SPECS "%s", h->svc);
		s = view_find(r, key);
		spec = s ? spec_get(f, s) : NULL;
		struct service *svc = manager_find(f->d, h->name);
		const char *why;
		if (!svc || service_state(svc) == SVC_FAILED)
			why = "it failed here or was removed: placing it again";
		else if (!claim_is_mine(f, c))
			why = "the claim is no longer this node's";
		else if (!s || !spec || h->idx >= spec_count(spec))
			why = "the fleet spec no longer asks for it";
		else if (s->mod_rev != h->spec_rev)
			why = "the fleet spec changed";
		else
			continue;
		/*
		 * The claim is given back only once the instance is gone here
		 * (below), or another node could start it while it still stops.
		 */
		if (claim_is_mine(f, c))
			releasing_add(f, h->svc, h->idx);
		held_stop(f, i, why);
	}
	/* Stopped instances whose claim we hold: give it back once they are gone. */
	for (size_t i = f->nreleasing; i-- > 0;) {
		char *at = strrchr(f->releasing[i], '@');
		const struct etcd_kv *c;

		if (manager_find(f->d, f->releasing[i])) {
			schedule(f->ev_sync, 200); /* look again soon */
			continue;
		}
		*at = '\0';
		c = view_claim(r, f->releasing[i], (uint32_t)strtoul(at + 1, NULL, 10));
		*at = '@';
		if (claim_is_mine(f, c))
			release_claim(f, c);
		free(f->releasing[i]);
		f->releasing[i] = f->releasing[--f->nreleasing];
	}
	/* 2. Claims of ours we do not run (a start failed): give them back. */
	for (size_t i = 0; i < r->nkvs; i++) {
		const struct etcd_kv *c = &r->kvs[i];
		bool held = false;

		if (strncmp(c->key, FLEET_CLAIMS, strlen(FLEET_CLAIMS)) != 0 ||
		    !claim_is_mine(f, c))
			continue;
		for (size_t k = 0; k < f->nheld && !held; k++) {
			if (f->held[k].stopping)
				continue;
			snprintf(key, sizeof(key), FLEET_CLAIMS "%s/%" PRIu32, f->held[k].svc,
				 f->held[k].idx);
			held = strcmp(key, c->key) == 0;
		}
		for (size_t k = 0; k < f->nreleasing && !held; k++)
			held = releasing_key_is(f->releasing[k], c->key);
		for (size_t k = 0; f->c_claim && k < f->ncands && !held; k++) {
			/* a claim in flight: its answer may come after this read */
			snprintf(key, sizeof(key), FLEET_CLAIMS "%s/%" PRIu32, f->cands[k].svc,
				 f->cands[k].idx);
			held = strcmp(key, c->key) == 0;
		}
		if (!held)
			release_claim(f, c);
	}
	if (!f->lease || f->c_claim || f->d->env.shutting_down)
		return; /* on_claim_done reads again; the candidate is the claim in flight */
	/*
	 * 3. The unclaimed instances that fit, in this node's hash order: up to
	 * FLEET_CLAIM_BATCH of them (within the budget together, one per spread
	 * spec) are claimed in one txn.
	 */
	struct pick *picks = calloc(FLEET_MAX_PICKS, sizeof(*picks));
	size_t npicks = 0;
	uint64_t mem, mcpu, permille = 0;
	if (!picks)
		return;
	committed(f, &mem, &mcpu);
	for (size_t i = 0; i < r->nkvs; i++) {
		const struct etcd_kv *kv = &r->kvs[i];
		const char *name = kv->key + strlen(FLEET_SPECS);
		const struct service_spec *spec;

		if (strncmp(kv->key, FLEET_SPECS, strlen(FLEET_SPECS)) != 0 ||
		    !(spec = spec_get(f, kv)) || !labels_match(f, spec) ||
		    !fits(f, spec, mem, mcpu))
			continue;
		if (spec->placement.spread && holds_any(f, name))
			continue;
		for (uint32_t n = 0; n < spec_count(spec) && npicks < FLEET_MAX_PICKS; n++) {
			snprintf(local, sizeof(local), "%s@%" PRIu32, name, n);
			if (view_claim(r, name, n) || manager_find(f->d, local))
				continue; /* claimed, or our previous copy still stopping */
			picks[npicks++] = (struct pick){ fnv1a(f->node, name, n), kv, spec, n };
		}
	}
	qsort(picks, npicks, sizeof(*picks), cmp_pick);
	cands_clear(f);
	if (f->budget_memory)
		permille = mem * 1000 / f->budget_memory;
	size_t batch = f->claim_single ? 1 : FLEET_CLAIM_BATCH;
	for (size_t i = 0; i < npicks && f->ncands < batch; i++) {
		const struct service_spec *spec = picks[i].spec;
		const char *name = picks[i].kv->key + strlen(FLEET_SPECS);
		bool dup = false;

		if (mem + spec_memory(spec) > f->budget_memory ||
		    (f->budget_mcpu && mcpu + spec->resources.cpu.max_mcpu > f->budget_mcpu))
			continue;
		for (size_t k = 0; k < f->ncands && spec->placement.spread; k++)
			dup = dup || strcmp(f->cands[k].svc, name) == 0;
		if (dup || !(f->cands[f->ncands].svc = strdup(name)))
			continue;
		f->cands[f->ncands].idx = picks[i].idx;
		f->cands[f->ncands].rev = picks[i].kv->mod_rev;
		f->ncands++;
		mem += spec_memory(spec);
		mcpu += spec->resources.cpu.max_mcpu;
	}
	/* Load-proportional delay: the least committed node claims first. */
	if (f->ncands && !evtimer_pending(f->ev_claim, NULL))
		schedule(f->ev_claim, 2 + permille / 4 + picks[0].h % 8);
	free(picks);
}

static void on_sync_done(void *arg, int err, const struct etcd_reply *r)
{
	struct fleet *f = arg;

	f->c_sync = NULL;
	if (err || r->error[0]) /* never reconcile against a view that is not one */
		log_warnx("fleet: cannot read %s from %s: %s", FLEET_PREFIX, etcd_endpoint(f->etcd),
			  err ? etcd_strerror(f->etcd, err) : r->error);
	else
		reconcile(f, r);
	f->last_sync_ms = now_ms();
	if (err || r->error[0] || f->sync_again) {
		f->sync_again = false;
		schedule(f->ev_sync, err || r->error[0] ? 500 : 20);
	}
}

static void on_sync(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;

	(void)fd;
	(void)what;
	if (f->c_sync) {
		f->sync_again = true;
		return;
	}
	f->c_sync = etcd_post(f->etcd, "/v3/kv/range", etcd_req_range(FLEET_PREFIX, true),
			      FLEET_CALL_TIMEOUT_MS, on_sync_done, f);
}

static void on_claim_done(void *arg, int err, const struct etcd_reply *r)
{
	struct fleet *f = arg;
	char key[256], spec_key[256];

	f->c_claim = NULL;
	if (err || !f->lease) {
		if (err)
			log_warnx("fleet: claim of %zu instances failed: %s", f->ncands,
				  etcd_strerror(f->etcd, err));
	} else if (!r->succeeded) {
		/* Another node was quicker for one of them: one at a time until we win. */
		f->claim_single = f->ncands > 1;
	} else {
		f->claim_single = false;
		for (size_t k = 0; k < f->ncands; k++) {
			const struct cand *c = &f->cands[k];
			const struct etcd_kv *kv = NULL;
			int e = -ENOENT;

			/* The txn read each spec back, in order. */
			snprintf(spec_key, sizeof(spec_key), FLEET_SPECS "%s", c->svc);
			for (size_t i = 0; i < r->nkvs && !kv; i++)
				if (strcmp(r->kvs[i].key, spec_key) == 0)
					kv = &r->kvs[i];
			if (kv && (e = held_start(f, c->svc, c->idx, kv, r->revision)) == 0) {
				log_info("fleet: claimed %s@%" PRIu32, c->svc, c->idx);
				continue;
			}
			log_warnx("fleet: cannot start %s@%" PRIu32 ": %s", c->svc, c->idx,
				  strerror(-e));
			snprintf(key, sizeof(key), FLEET_CLAIMS "%s/%" PRIu32, c->svc, c->idx);
			struct etcd_kv ck = { .key = key, .mod_rev = r->revision };
			release_claim(f, &ck);
		}
	}
	cands_clear(f);
	event_active(f->ev_sync, 0, 0);
}

/* Claim the candidates: only if nobody has, and each spec is the one we checked. */
static void on_claim(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;
	char key[256], spec_key[256];

	(void)fd;
	(void)what;
	if (f->c_claim || !f->lease || !f->ncands || f->d->env.shutting_down)
		return;
	struct json_object *cmp = json_object_new_array(), *ops = json_object_new_array();
	for (size_t k = 0; k < f->ncands; k++) {
		const struct cand *c = &f->cands[k];
		snprintf(key, sizeof(key), FLEET_CLAIMS "%s/%" PRIu32, c->svc, c->idx);
		snprintf(spec_key, sizeof(spec_key), FLEET_SPECS "%s", c->svc);
		json_object_array_add(cmp, etcd_cmp(key, "CREATE", 0));
		json_object_array_add(cmp, etcd_cmp(spec_key, "MOD", c->rev));
		json_object_array_add(ops,
				      etcd_op("requestPut", etcd_req_put(key, f->node, f->lease)));
		json_object_array_add(ops,
				      etcd_op("requestRange", etcd_req_range(spec_key, false)));
	}
	f->c_claim = etcd_post(f->etcd, "/v3/kv/txn", etcd_req_txn(cmp, ops), FLEET_CALL_TIMEOUT_MS,
			       on_claim_done, f);
}

/* --- watch ------------------------------------------------------------------------- */

/*
 * A watch is live once etcd said "created": only then is a read of the
 * keyspace sure to miss nothing the watch will not tell. etcd may cancel
 * it (a compacted revision; no leader, with hasleader) and keep the
 * stream open, silent: then it is dropped and started again.
 */
static void on_watch_message(void *arg, const struct etcd_reply *r)
{
	struct fleet *f = arg;

	if (r->canceled || r->error[0]) {
		log_warnx("fleet: etcd %s cancelled the watch: %s; watching again",
			  etcd_endpoint(f->etcd),
			  r->error[0]		? r->error
			  : r->compact_revision ? "its revision was compacted"
						: "no reason given");
		f->watch_live = false;
		/* Not from here: this runs inside the call's own transfer. */
		if (!evtimer_pending(f->ev_rewatch, NULL))
			schedule(f->ev_rewatch, 500);
		return;
	}
	if (r->created && !f->watch_live) {
		f->watch_live = true;
		event_active(f->ev_sync, 0, 0); /* whatever changed before: read it all once */
	}
	if (r->nevents)
		schedule(f->ev_sync, 20); /* coalesce a burst of changes into one read */
}

static void on_watch_done(void *arg, int err, const struct etcd_reply *r)
{
	struct fleet *f = arg;

	(void)r;
	f->c_watch = NULL;
	f->watch_live = false;
	if (f->lease) {
		log_info("fleet: watch on %s ended (%s); watching again", etcd_endpoint(f->etcd),
			 err ? etcd_strerror(f->etcd, err) : "closed");
		/* Not at once: a member that ends every watch at once is not asked in a loop. */
		if (!evtimer_pending(f->ev_rewatch, NULL))
			schedule(f->ev_rewatch, 500);
	}
}

static void watch_start(struct fleet *f)
{
	if (f->c_watch || !f->lease)
		return;
	f->watch_live = false;
	f->watch_ms = now_ms();
	f->c_watch = etcd_watch(f->etcd, FLEET_PREFIX, 0, on_watch_message, on_watch_done, f);
}

/* Drop a cancelled watch, or one never "created" in a TTL, and watch again. */
static void on_rewatch(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;

	(void)fd;
	(void)what;
	if (f->c_watch)
		etcd_cancel(f->c_watch);
	f->c_watch = NULL;
	watch_start(f);
}

/* --- the node record ---------------------------------------------------------------- */

static char *node_record(struct fleet *f)
{
	struct json_object *o = json_object_new_object(), *labels = json_object_new_object();
	struct json_object *budget = json_object_new_object(), *com = json_object_new_object();
	struct json_object *inst = json_object_new_object();
	struct json_object *local = json_object_new_object();
	uint64_t mem, mcpu, lmem, lmcpu;

	for (size_t i = 0; i < f->d->cfg->fleet.nlabels; i++) {
		const char *kv = f->d->cfg->fleet.labels[i], *eq = strchr(kv, '=');
		char k[64];
		snprintf(k, sizeof(k), "%.*s", (int)(eq - kv), kv);
		json_object_object_add(labels, k, json_object_new_string(eq + 1));
	}
	committed(f, &mem, &mcpu);
	json_object_object_add(budget, "memory", json_object_new_int64((int64_t)f->budget_memory));
	json_object_object_add(budget, "mcpu", json_object_new_int64((int64_t)f->budget_mcpu));
	json_object_object_add(com, "memory", json_object_new_int64((int64_t)mem));
	json_object_object_add(com, "mcpu", json_object_new_int64((int64_t)mcpu));
	/* The part of committed the node's local services take. */
	committed_local(f, &lmem, &lmcpu);
	json_object_object_add(local, "memory", json_object_new_int64((int64_t)lmem));
	json_object_object_add(local, "mcpu", json_object_new_int64((int64_t)lmcpu));
	for (size_t i = 0; i < f->nheld; i++) {
		struct service *svc = manager_find(f->d, f->held[i].name);
		struct json_object *io = json_object_new_object();
		struct json_object *evs = eventlog_query(f->d->events, f->held[i].name, 0, 1);
		struct json_object *ev = json_object_array_get_idx(evs, 0), *x;

		json_object_object_add(
		    io, "state",
		    json_object_new_string(svc ? service_state_name(service_state(svc)) : "gone"));
		/* Its last event, for fleet status: what happened to it, seen from any node. */
		if (ev && json_object_object_get_ex(ev, "type", &x))
			json_object_object_add(io, "event", json_object_get(x));
		if (ev && json_object_object_get_ex(ev, "time_ms", &x))
			json_object_object_add(io, "event_ms", json_object_get(x));
		json_object_put(evs);
		json_object_object_add(inst, f->held[i].name, io);
	}
	json_object_object_add(o, "labels", labels);
	json_object_object_add(o, "budget", budget);
	json_object_object_add(o, "committed", com);
	json_object_object_add(o, "local", local);
	json_object_object_add(o, "instances", inst);
	char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static void on_publish_done(void *arg, int err, const struct etcd_reply *r)
{
	struct fleet *f = arg;

	(void)r;
	f->c_publish = NULL;
	if (err) {
		free(f->published);
		f->published = NULL; /* write it again next time */
	}
}

/* Write the node record when it changed: at most once per FLEET_PUBLISH_MS. */
static void on_publish(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;
	char *rec;

	(void)fd;
	(void)what;
	schedule(f->ev_publish, FLEET_PUBLISH_MS);
	(void)held_prune(f);
	if (!f->lease || f->c_publish || !(rec = node_record(f)))
		return;
	if (f->published && strcmp(rec, f->published) == 0) {
		free(rec);
		return;
	}
	free(f->published);
	f->published = rec;
	f->c_publish = etcd_post(f->etcd, "/v3/kv/put", etcd_req_put(f->node_key, rec, f->lease),
				 FLEET_CALL_TIMEOUT_MS, on_publish_done, f);
}

/* --- the state file: our lease, across kill -9 ----------------------------------------- */

/*
 * <state_dir>/fleet.json {"node", "lease"}: the lease this node holds. A
 * paddockd killed with -9 leaves it; its successor finds the fleet
 * instances unsupervised (persist kills them as orphans before the loop
 * runs) and revokes that lease at once, so its claims go to other nodes
 * now rather than when the TTL runs out. lease 0: none held.
 */
static void state_save(struct fleet *f)
{
	char tmp[PATH_MAX], buf[160];
	int n = snprintf(buf, sizeof(buf), "{\"node\":\"%s\",\"lease\":\"%" PRId64 "\"}\n", f->node,
			 f->lease);
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", f->state_path);
	bool ok = (fp = fopen(tmp, "we")) && fwrite(buf, 1, (size_t)n, fp) == (size_t)n &&
		  fflush(fp) == 0 && fsync(fileno(fp)) == 0;
	if (fp && fclose(fp) != 0)
		ok = false;
	if (!ok || rename(tmp, f->state_path) < 0) {
		log_warn("fleet: cannot write %s", f->state_path);
		(void)unlink(tmp);
	}
}

static void state_load(struct fleet *f)
{
	struct json_object *o = json_object_from_file(f->state_path), *n, *l;

	if (o && json_object_object_get_ex(o, "node", &n) &&
	    json_object_object_get_ex(o, "lease", &l) &&
	    strcmp(json_object_get_string(n), f->node) == 0)
		f->stale_lease = strtoll(json_object_get_string(l), NULL, 10);
	json_object_put(o);
}

/*
 * Fleet instances (SERVICE@N) our killed predecessor left, whose cgroups
 * persist is still emptying (orphans). Their claims must not go before
 * they are gone, or another node would start them while they still run.
 */
static size_t orphans_left(struct fleet *f)
{
	char **names = NULL;
	size_t n = 0, left = 0;

	if (cgroup_host_children(f->d->cgroups, &names, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (strchr(names[i], '@') && !manager_find(f->d, names[i]))
			left++;
		free(names[i]);
	}
	free(names);
	return left;
}

static void on_revoke_done(void *arg, int err, const struct etcd_reply *r)
{
	struct fleet *f = arg;
	bool gone = err == -EIO && etcd_last_code(f->etcd) == ETCD_NOT_FOUND;
	const char *why = gone ? etcd_last_error(f->etcd) : "";

	f->c_tick = NULL;
	/*
	 * Only etcd's answer ends this: revoked, or "lease not found" (it
	 * expired already). A failure to get one (refused, timed out, no
	 * leader) is not a revoke: its claims would stay for up to a TTL. Tried
	 * again, for two TTLs at most: an answer that will not change (no
	 * permission) must not keep the node out for good.
	 */
	if ((err || r->error[0]) && !gone) {
		bool give_up = now_ms() - f->opened_ms > 2 * f->ttl_ms;
		log_warnx("fleet: cannot revoke lease %" PRIx64 " of the previous paddockd via %s: "
			  "%s%s",
			  (uint64_t)f->stale_lease, etcd_endpoint(f->etcd),
			  err ? etcd_strerror(f->etcd, err) : r->error,
			  give_up ? "; leaving it to expire" : "");
		if (!give_up) {
			retry(f);
			return;
		}
		why = "left to expire";
	}
	log_info("fleet: revoked lease %" PRIx64 " of the previous paddockd%s%s",
		 (uint64_t)f->stale_lease, why[0] ? ": " : "", why);
	emit(f, NULL, "fleet-revoke", "lease %" PRIx64 " of the previous paddockd%s%s",
	     (uint64_t)f->stale_lease, why[0] ? ": " : "", why);
	f->stale_lease = 0;
	state_save(f);
	event_active(f->ev_tick, 0, 0);
}

/* --- the lease: join, keepalive, fence ---------------------------------------------- */

static void on_fence(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;
	char why[128];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why),
		 "no answer from etcd for %" PRIu64 " ms (lease TTL %" PRIu64 " ms)",
		 now_ms() - f->last_ok_ms, f->ttl_ms);
	fence(f, why);
}

static void lease_ok(struct fleet *f)
{
	uint64_t deadline = f->sent_ms + f->ttl_ms - f->margin_ms, now = now_ms();

	f->last_ok_ms = f->sent_ms;
	f->backoff_ms = 0;
	evtimer_del(f->ev_fence);
	schedule(f->ev_fence, deadline > now ? deadline - now : 0);
	/*
	 * Five keepalives a TTL: an etcd leader election (a second or two, on
	 * a loaded host) must not use up the fencing margin between two tries.
	 */
	schedule(f->ev_tick, f->ttl_ms / 5);
}

static void retry(struct fleet *f)
{
	f->backoff_ms = f->backoff_ms ? f->backoff_ms * 2 : 100;
	if (f->backoff_ms > FLEET_MAX_BACKOFF_MS)
		f->backoff_ms = FLEET_MAX_BACKOFF_MS;
	/* While joined, keep trying well inside the fencing margin. */
	schedule(f->ev_tick,
		 f->lease && f->backoff_ms > f->margin_ms / 4 ? f->margin_ms / 4 : f->backoff_ms);
}

static void on_tick_done(void *arg, int err, const struct etcd_reply *r)
{
	struct fleet *f = arg;

	f->c_tick = NULL;
	if (err || r->error[0]) {
		log_warnx("fleet: etcd %s: %s", etcd_endpoint(f->etcd),
			  err ? etcd_strerror(f->etcd, err) : r->error);
		retry(f);
		return;
	}
	if (f->tick_grant) {
		if (r->id == 0 || f->lease) {
			retry(f);
			return;
		}
		f->lease = r->id;
		log_info("fleet: node %s joined with lease %" PRIx64 " (TTL %" PRIu64 " ms) via %s",
			 f->node, (uint64_t)f->lease, f->ttl_ms, etcd_endpoint(f->etcd));
		emit(f, NULL, "fleet-join", "lease %" PRIx64, (uint64_t)f->lease);
		state_save(f);
		lease_ok(f);
		event_active(f->ev_publish, 0, 0);
		watch_start(f);
		return;
	}
	if (!f->lease || r->id != f->lease) {
		/*
		 * Not an answer about our lease (etcd names it, TTL 0 when it is
		 * gone): neither a renewal nor an expiry.
		 */
		retry(f);
		return;
	}
	if (r->ttl <= 0) {
		fence(f, "the lease expired in etcd");
		event_active(f->ev_tick, 0, 0);
		return;
	}
	lease_ok(f);
	watch_start(f);
	if (f->c_watch && !f->watch_live && now_ms() - f->watch_ms > f->ttl_ms) {
		log_warnx("fleet: etcd %s has not started the watch in %" PRIu64
			  " ms; watching again",
			  etcd_endpoint(f->etcd), now_ms() - f->watch_ms);
		event_active(f->ev_rewatch, 0, 0);
	}
	if (now_ms() - f->last_sync_ms > f->ttl_ms)
		event_active(f->ev_sync, 0, 0);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;
	struct json_object *req;

	(void)fd;
	(void)what;
	if (f->c_tick)
		return;
	f->sent_ms = now_ms();
	f->tick_grant = false;
	if (f->stale_lease && orphans_left(f) && now_ms() - f->opened_ms < f->ttl_ms) {
		schedule(f->ev_tick, 20); /* the lease expires by itself after the TTL anyway */
		return;
	}
	if (f->stale_lease) {
		req = etcd_req_lease_id(f->stale_lease);
		f->c_tick = etcd_post(f->etcd, "/v3/lease/revoke", req, FLEET_CALL_TIMEOUT_MS,
				      on_revoke_done, f);
	} else if (f->lease) {
		watch_start(f);
		req = etcd_req_lease_id(f->lease);
		f->c_tick = etcd_post(f->etcd, "/v3/lease/keepalive", req,
				      (uint32_t)f->margin_ms / 2, on_tick_done, f);
	} else {
		f->tick_grant = true;
		req = etcd_req_lease_grant((int64_t)(f->ttl_ms / 1000));
		f->c_tick = etcd_post(f->etcd, "/v3/lease/grant", req, FLEET_CALL_TIMEOUT_MS,
				      on_tick_done, f);
	}
	if (!f->c_tick)
		retry(f);
}

/* --- a planned shutdown: hand over at once ------------------------------------------ */

struct leave {
	struct fleet *f;
	struct event_base *base;
	struct etcd *etcd;
	uint64_t deadline_ms;
	bool revoked;
};

static void leave_post(struct leave *lv);

static void on_leave_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	leave_post(arg);
}

static void on_leave_done(void *arg, int err, const struct etcd_reply *r)
{
	struct leave *lv = arg;
	struct fleet *f = lv->f;
	struct timeval tv = { 0, 100 * 1000 };

	if ((!err && !r->error[0]) || (err == -EIO && etcd_last_code(lv->etcd) == ETCD_NOT_FOUND)) {
		lv->revoked = true; /* or gone already: either way its claims are */
		log_info("fleet: lease %" PRIx64 " revoked: other nodes take over now",
			 (uint64_t)f->lease);
	} else if (now_ms() + 200 < lv->deadline_ms) {
		/* No answer from this member: the next one, in what time is left. */
		event_base_once(lv->base, -1, EV_TIMEOUT, on_leave_retry, lv, &tv);
		return;
	} else {
		/* The state file keeps naming it: the next start revokes it. */
		log_warnx("fleet: cannot revoke lease %" PRIx64 " (%s): it expires after its TTL",
			  (uint64_t)f->lease, err ? etcd_strerror(lv->etcd, err) : r->error);
	}
	event_base_loopbreak(lv->base);
}

static void leave_post(struct leave *lv)
{
	uint64_t now = now_ms();
	uint32_t left = lv->deadline_ms > now ? (uint32_t)(lv->deadline_ms - now) : 1;

	if (!etcd_post(lv->etcd, "/v3/lease/revoke", etcd_req_lease_id(lv->f->lease), left,
		       on_leave_done, lv))
		event_base_loopbreak(lv->base);
}

/*
 * Is every fleet instance of ours gone? Only then may the lease go: its
 * claims go with it, and another node starts the instances at once.
 */
static bool all_stopped(struct fleet *f)
{
	for (size_t i = 0; i < f->nheld; i++) {
		struct service *svc = manager_find(f->d, f->held[i].name);
		if (svc && !service_settled(svc)) {
			log_warnx("fleet: %s still runs: lease %" PRIx64
				  " kept; it expires after its TTL",
				  f->held[i].name, (uint64_t)f->lease);
			return false;
		}
	}
	if (orphans_left(f)) {
		log_warnx("fleet: fleet instances of the previous paddockd still stopping: lease "
			  "%" PRIx64 " kept; it expires after its TTL",
			  (uint64_t)f->lease);
		return false;
	}
	return true;
}

void fleet_leave(struct fleet *f)
{
	const struct daemon_config *cfg;
	struct leave lv = { .f = f };
	const char **eps;

	if (!f)
		return;
	/* Nothing more from etcd lands here: no claim, keepalive or watch answer. */
	struct etcd_call **calls[] = { &f->c_tick, &f->c_sync, &f->c_claim, &f->c_publish,
				       &f->c_watch };
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		if (*calls[i])
			etcd_cancel(*calls[i]);
		*calls[i] = NULL;
	}
	struct event *evs[] = { f->ev_tick,  f->ev_fence,   f->ev_sync,
				f->ev_claim, f->ev_publish, f->ev_rewatch };
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		event_del(evs[i]);
	if (!f->lease || !all_stopped(f))
		return;
	/*
	 * The daemon's loop is over: a loop of our own for this one call, so
	 * nothing else runs meanwhile. The member that answered last first.
	 */
	cfg = f->d->cfg;
	if (!(eps = calloc(cfg->fleet.netcd, sizeof(*eps))))
		return;
	size_t n = 0;
	eps[n++] = etcd_endpoint(f->etcd);
	for (size_t i = 0; i < cfg->fleet.netcd; i++)
		if (strcmp(cfg->fleet.etcd[i], eps[0]) != 0 && n < cfg->fleet.netcd)
			eps[n++] = cfg->fleet.etcd[i];
	struct etcd_opts o = { .endpoints = (char *const *)eps,
			       .nendpoints = n,
			       .ca = cfg->fleet.tls_ca,
			       .cert = cfg->fleet.tls_cert,
			       .key = cfg->fleet.tls_key };
	lv.deadline_ms = now_ms() + FLEET_LEAVE_MS;
	if ((lv.base = event_base_new()) && (lv.etcd = etcd_new(lv.base, &o))) {
		struct timeval tv = { FLEET_LEAVE_MS / 1000 + 1, 0 }; /* curl's own timeout first */
		leave_post(&lv);
		event_base_loopexit(lv.base, &tv);
		event_base_dispatch(lv.base);
	}
	lv.etcd = etcd_free(lv.etcd);
	if (lv.base)
		event_base_free(lv.base);
	free(eps);
	if (lv.revoked) {
		emit(f, NULL, "fleet-leave", "lease %" PRIx64 " revoked: every instance stopped",
		     (uint64_t)f->lease);
		f->lease = 0;
		state_save(f); /* nothing for the next start to revoke */
	}
}

/* --- control commands (paddockctl fleet ...) ---------------------------------------- */

static void pending_answer(struct pending *p, struct json_object *result, const char *code,
			   const char *msg)
{
	control_fleet_answer(p->f->ctl, p->ticket, result, code, msg);
	free(p->cmd);
	free(p);
}

static void on_apply_done(void *arg, int err, const struct etcd_reply *r)
{
	struct pending *p = arg;
	char msg[256];

	if (err || r->error[0]) {
		snprintf(msg, sizeof(msg), "etcd %s: %s", etcd_endpoint(p->f->etcd),
			 err ? etcd_strerror(p->f->etcd, err) : r->error);
		pending_answer(p, NULL, "EIO", msg);
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "revision", json_object_new_int64(r->revision));
	pending_answer(p, o, NULL, NULL);
}

/* Append every diagnostic as "FILE:LINE:COLUMN: message" lines. */
static void diags_append(char **msg, size_t *len, const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		const struct config_diag *dg = &errs->diags[i];
		char *line = NULL;
		int n = asprintf(&line, "%s%s:%d:%d: %s", *len ? "\n" : "", dg->file, dg->line,
				 dg->column, dg->message);
		if (n < 0 || *len + (size_t)n > 16384) {
			free(line);
			return;
		}
		char *m = realloc(*msg, *len + (size_t)n + 1);
		if (!m) {
			free(line);
			return;
		}
		memcpy(m + *len, line, (size_t)n + 1);
		*msg = m;
		*len += (size_t)n;
		free(line);
	}
}

/*
 * fleet-apply {"files": [{"name", "text"}]}: every file parsed as the nodes
 * will parse it; any error refuses all. Then one txn puts every service's
 * spec (the whole text of its file) under specs/.
 */
static void apply(struct fleet *f, struct json_object *req, struct pending *p)
{
	struct json_object *files, *ops = json_object_new_array();
	char *msg = NULL, key[256];
	size_t len = 0, nspecs = 0;

	if (!json_object_object_get_ex(req, "files", &files) ||
	    !json_object_is_type(files, json_type_array)) {
		json_object_put(ops);
		pending_answer(p, NULL, "EINVAL", "fleet-apply needs \"files\": [{name, text}]");
		return;
	}
	for (size_t i = 0; i < json_object_array_length(files); i++) {
		struct json_object *fo = json_object_array_get_idx(files, i), *n, *t;
		struct config_errors errs = { 0 };
		struct spec_set *set = NULL;

		if (!json_object_object_get_ex(fo, "name", &n) ||
		    !json_object_object_get_ex(fo, "text", &t)) {
			free(msg);
			json_object_put(ops);
			pending_answer(p, NULL, "EINVAL", "each file needs a name and a text");
			return;
		}
		const char *text = json_object_get_string(t);
		if (config_parse_specs_buffer(json_object_get_string(n), text, strlen(text),
					      &f->d->host, &set, &errs) < 0) {
			diags_append(&msg, &len, &errs);
			config_errors_clear(&errs);
			continue;
		}
		for (size_t k = 0; k < set->nservices; k++) {
			const struct service_spec *s = set->services[k];
			if (s->ndepends_on) {
				struct config_errors one = { 0 };
				config_errors_add(&one, json_object_get_string(n), 0, 0,
						  "service %s: a fleet spec cannot use depends_on "
						  "(its instances run on different nodes)",
						  s->name);
				diags_append(&msg, &len, &one);
				config_errors_clear(&one);
				continue;
			}
			snprintf(key, sizeof(key), FLEET_SPECS "%s", s->name);
			json_object_array_add(ops,
					      etcd_op("requestPut", etcd_req_put(key, text, 0)));
			nspecs++;
		}
		spec_set_free(set);
	}
	if (msg || nspecs == 0) {
		json_object_put(ops);
		pending_answer(p, NULL, "EINVAL", msg ? msg : "no services in these files");
		free(msg);
		return;
	}
	if (!etcd_post(f->etcd, "/v3/kv/txn", etcd_req_txn(json_object_new_array(), ops),
		       FLEET_CALL_TIMEOUT_MS, on_apply_done, p))
		pending_answer(p, NULL, "ENOMEM", "out of memory");
}

/* fleet-rm {"names"}: the specs, in one txn. */
static void rm(struct fleet *f, struct json_object *req, struct pending *p)
{
	struct json_object *names, *ops = json_object_new_array();
	char key[256];

	if (!json_object_object_get_ex(req, "names", &names) ||
	    !json_object_is_type(names, json_type_array) || !json_object_array_length(names)) {
		json_object_put(ops);
		pending_answer(p, NULL, "EINVAL", "fleet-rm needs \"names\"");
		return;
	}
	for (size_t i = 0; i < json_object_array_length(names); i++) {
		const char *n = json_object_get_string(json_object_array_get_idx(names, i));
		if (!n || !config_valid_name(n)) {
			json_object_put(ops);
			pending_answer(p, NULL, "EINVAL", "invalid service name");
			return;
		}
		/*
		 * The spec only. Its claims stay with their holders until the
		 * instances are gone (a holder gives a claim back only then), or
		 * with a dead holder's lease: deleting them here would let a
		 * `fleet apply` right after start an instance still stopping
		 * elsewhere.
		 */
		snprintf(key, sizeof(key), FLEET_SPECS "%s", n);
		json_object_array_add(ops,
				      etcd_op("requestDeleteRange", etcd_req_delete(key, false)));
	}
	if (!etcd_post(f->etcd, "/v3/kv/txn", etcd_req_txn(json_object_new_array(), ops),
		       FLEET_CALL_TIMEOUT_MS, on_apply_done, p))
		pending_answer(p, NULL, "ENOMEM", "out of memory");
}

/*
 * What node NODE published for instance NAME: {"state", "event", "event_ms"}
 * (a new reference), or {"state": "unknown"}.
 */
static struct json_object *instance_record(const struct etcd_reply *r, const char *node,
					   const char *name)
{
	char key[256];
	const struct etcd_kv *kv;
	struct json_object *o, *inst, *st, *out = NULL;

	snprintf(key, sizeof(key), FLEET_NODES "%s", node);
	if ((kv = view_find(r, key)) && (o = json_tokener_parse(kv->value))) {
		if (json_object_object_get_ex(o, "instances", &inst) &&
		    json_object_object_get_ex(inst, name, &st) &&
		    json_object_is_type(st, json_type_object))
			out = json_object_get(st);
		json_object_put(o);
	}
	if (!out) {
		out = json_object_new_object();
		json_object_object_add(out, "state", json_object_new_string("unknown"));
	}
	return out;
}

static void on_view_done(void *arg, int err, const struct etcd_reply *r)
{
	struct pending *p = arg;
	struct json_object *out = json_object_new_array();
	char msg[256], name[SPEC_NAME_MAX + 16];

	if (err) {
		json_object_put(out);
		snprintf(msg, sizeof(msg), "etcd %s: %s", etcd_endpoint(p->f->etcd),
			 etcd_strerror(p->f->etcd, err));
		pending_answer(p, NULL, "EIO", msg);
		return;
	}
	for (size_t i = 0; i < r->nkvs; i++) {
		const struct etcd_kv *kv = &r->kvs[i];
		struct json_object *o;

		if (strcmp(p->cmd, PROTO_CMD_FLEET_NODES) == 0) {
			if (strncmp(kv->key, FLEET_NODES, strlen(FLEET_NODES)) != 0)
				continue;
			if (!(o = json_tokener_parse(kv->value)))
				o = json_object_new_object();
			json_object_object_add(
			    o, "name", json_object_new_string(kv->key + strlen(FLEET_NODES)));
			json_object_array_add(out, o);
			continue;
		}
		if (strncmp(kv->key, FLEET_SPECS, strlen(FLEET_SPECS)) != 0)
			continue;
		const char *svc = kv->key + strlen(FLEET_SPECS);
		const struct service_spec *spec = spec_get(p->f, kv);
		uint32_t count = spec ? spec_count(spec) : 0;
		struct json_object *insts = json_object_new_array();
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(svc));
		json_object_object_add(o, "count", json_object_new_int((int)count));
		for (uint32_t n = 0; n < count; n++) {
			const struct etcd_kv *c = view_claim(r, svc, n);
			struct json_object *io = json_object_new_object();
			snprintf(name, sizeof(name), "%s@%" PRIu32, svc, n);
			json_object_object_add(io, "name", json_object_new_string(name));
			json_object_object_add(io, "node",
					       c ? json_object_new_string(c->value) : NULL);
			if (c) {
				struct json_object *rec = instance_record(r, c->value, name), *x;
				static const char *const keys[] = { "state", "event", "event_ms" };
				for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
					if (json_object_object_get_ex(rec, keys[k], &x))
						json_object_object_add(io, keys[k],
								       json_object_get(x));
				json_object_put(rec);
			} else {
				json_object_object_add(io, "state",
						       json_object_new_string("unclaimed"));
			}
			json_object_array_add(insts, io);
		}
		json_object_object_add(o, "instances", insts);
		json_object_array_add(out, o);
	}
	struct json_object *res = json_object_new_object();
	json_object_object_add(
	    res, strcmp(p->cmd, PROTO_CMD_FLEET_NODES) == 0 ? "nodes" : "services", out);
	json_object_object_add(res, "node", json_object_new_string(p->f->node));
	pending_answer(p, res, NULL, NULL);
}

static void on_control(void *arg, const char *cmd, struct json_object *req, uint64_t ticket)
{
	struct fleet *f = arg;
	struct pending *p = calloc(1, sizeof(*p));

	if (!p || !(p->cmd = strdup(cmd))) {
		free(p);
		control_fleet_answer(f->ctl, ticket, NULL, "ENOMEM", "out of memory");
		return;
	}
	p->f = f;
	p->ticket = ticket;
	if (strcmp(cmd, PROTO_CMD_FLEET_APPLY) == 0)
		apply(f, req, p);
	else if (strcmp(cmd, PROTO_CMD_FLEET_RM) == 0)
		rm(f, req, p);
	else if (!etcd_post(f->etcd, "/v3/kv/range", etcd_req_range(FLEET_PREFIX, true),
			    FLEET_CALL_TIMEOUT_MS, on_view_done, p))
		pending_answer(p, NULL, "ENOMEM", "out of memory");
}

/* --- open and free ------------------------------------------------------------------ */

void fleet_attach_control(struct fleet *f, struct control *ctl)
{
	if (!f)
		return;
	f->ctl = ctl;
	control_set_fleet(ctl, on_control, f);
}

int fleet_open(struct manager *d, struct fleet **out)
{
	const struct daemon_config *cfg = d->cfg;
	struct fleet *f;
	char host[256];

	*out = NULL;
	if (cfg->fleet.netcd == 0)
		return 0;
	if (!(f = calloc(1, sizeof(*f))))
		return -ENOMEM;
	f->d = d;
	if (cfg->fleet.node) {
		f->node = strdup(cfg->fleet.node);
	} else if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		f->node = strdup(host);
	}
	f->ttl_ms = cfg->fleet.lease_ttl_ms;
	/*
	 * Fence a fifth of the TTL (at least 1 s) early: room for the stop
	 * (SIGKILL after half of it), while an etcd leader election (seconds on
	 * a loaded host, keepalives unanswered) does not fence a healthy node.
	 */
	f->margin_ms = f->ttl_ms / 5 > 1000 ? f->ttl_ms / 5 : 1000;
	/* The rebalancer's budget: budget.memory, or the tightest of RAM and our cgroup ancestry. */
	uint32_t mcpu;
	rebalancer_budget(d, &f->budget_memory, &mcpu);
	f->budget_mcpu = mcpu;
	struct etcd_opts o = { .endpoints = cfg->fleet.etcd,
			       .nendpoints = cfg->fleet.netcd,
			       .ca = cfg->fleet.tls_ca,
			       .cert = cfg->fleet.tls_cert,
			       .key = cfg->fleet.tls_key };
	if (!f->node || asprintf(&f->node_key, FLEET_NODES "%s", f->node) < 0 ||
	    asprintf(&f->state_path, "%s/fleet.json", cfg->state_dir) < 0 ||
	    !(f->etcd = etcd_new(d->base, &o)) ||
	    !(f->ev_tick = evtimer_new(d->base, on_tick, f)) ||
	    !(f->ev_fence = evtimer_new(d->base, on_fence, f)) ||
	    !(f->ev_sync = evtimer_new(d->base, on_sync, f)) ||
	    !(f->ev_claim = evtimer_new(d->base, on_claim, f)) ||
	    !(f->ev_publish = evtimer_new(d->base, on_publish, f)) ||
	    !(f->ev_rewatch = evtimer_new(d->base, on_rewatch, f))) {
		fleet_free(f);
		return -ENOMEM;
	}
	state_load(f);
	f->opened_ms = now_ms();
	log_info("fleet: node %s joining %s (lease TTL %" PRIu64 " ms, budget %" PRIu64 " MiB)",
		 f->node, cfg->fleet.etcd[0], f->ttl_ms, f->budget_memory >> 20);
	event_active(f->ev_tick, 0, 0);
	schedule(f->ev_publish, FLEET_PUBLISH_MS);
	*out = f;
	return 0;
}

struct fleet *fleet_free(struct fleet *f)
{
	if (!f)
		return NULL;
	if (f->ctl)
		control_set_fleet(f->ctl, NULL, NULL);
	/* Our instances stop with the daemon like any service; the lease expires by itself. */
	f->etcd = etcd_free(f->etcd);
	struct event *evs[] = { f->ev_tick,  f->ev_fence,   f->ev_sync,
				f->ev_claim, f->ev_publish, f->ev_rewatch };
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	for (size_t i = 0; i < f->nheld; i++) {
		free(f->held[i].svc);
		free(f->held[i].name);
	}
	free(f->held);
	for (size_t i = 0; i < f->ncache; i++)
		cache_clear(&f->cache[i]);
	free(f->cache);
	free(f->published);
	releasing_clear(f);
	/* etcd_free dropped their calls without an answer */
	for (size_t i = 0; i < f->nreleases; i++)
		release_free(f->releases[i]);
	free(f->releases);
	cands_clear(f);
	free(f->node);
	free(f->node_key);
	free(f->state_path);
	free(f);
	return NULL;
}
