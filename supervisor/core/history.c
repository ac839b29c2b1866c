/*
 * history.c - the dashboard's short memory (history.h).
 *
 * An evtimer of our own, every step (the probe interval, at least
 * HISTORY_MIN_STEP_MS), copies each service's latest sample and rates
 * (monitor.h) into that service's ring. Every ring takes one point per
 * tick, a gap marker when the service has no sample, so all rings stay
 * aligned: one shared ring holds the tick times, and a service knows only
 * how many of the newest ticks it has seen.
 *
 * Size: a point is 16 bytes (memory and its limit in KiB as 32 bits, up to
 * 4 TiB; CPU in hundredths of a core and PSI in hundredths of a percent as
 * 16 bits), HISTORY_POINTS of them per service: 7200 bytes, so 1000
 * services cost about 7.3 MB with their entries. Rings are allocated once
 * per service when it appears and freed when it goes. O(services) a tick.
 */
#include <event2/event.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "manager.h"
#include "monitor.h"
#include "probe.h"
#include "service.h"
#include "spec.h"
#include "util.h"

/* 15 minutes at 2 s: the bound that keeps 1000 services under 8 MB. */
#define HISTORY_POINTS 450
#define HISTORY_MIN_STEP_MS (HISTORY_SECONDS * 1000 / HISTORY_POINTS)
#define NONE32 UINT32_MAX
#define NONE16 UINT16_MAX

struct point {
	uint32_t memory_kib; /* NONE32: no sample (not running); the others then mean nothing */
	uint32_t memory_max_kib; /* NONE32: no limit */
	uint16_t cpu; /* hundredths of a core */
	uint16_t psi[3]; /* some avg10 of cpu, memory, io in hundredths of a percent */
};

struct entry {
	char *name;
	unsigned count; /* points seen: the newest min(count, npoints) ticks */
	struct point *points; /* npoints; point of tick k at k % npoints */
};

struct history {
	struct manager *d;
	struct event *ev_tick;
	uint64_t step_ms;
	unsigned npoints;
	uint64_t ticks; /* ticks taken so far */
	uint64_t *times; /* npoints wall-clock ms, tick k at k % npoints */
	struct entry *entries; /* sorted by name, as d->services */
	size_t nentries;
};

static void entry_free(struct entry *e)
{
	free(e->name);
	free(e->points);
}

static struct entry *entry_find(struct history *h, const char *name)
{
	size_t lo = 0, hi = h->nentries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(h->entries[mid].name, name);
		if (c == 0)
			return &h->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Make entries match d->services name for name: keep the rings of services
 * still there, allocate for new ones, free the rest. Both are sorted by
 * name, so one merge pass. Nothing is allocated when nothing changed.
 */
static void sync_services(struct history *h)
{
	struct manager *d = h->d;
	struct entry *next;
	size_t i = 0, j = 0;
	bool same = d->nservices == h->nentries;

	for (size_t k = 0; same && k < d->nservices; k++)
		same = strcmp(service_name(d->services[k]), h->entries[k].name) == 0;
	if (same)
		return;
	next = xcalloc(d->nservices ? d->nservices : 1, sizeof(*next));
	while (i < d->nservices) {
		const char *name = service_name(d->services[i]);
		int c = j < h->nentries ? strcmp(h->entries[j].name, name) : 1;

		if (c < 0) { /* gone */
			entry_free(&h->entries[j++]);
		} else if (c == 0) {
			next[i++] = h->entries[j++];
		} else {
			next[i].name = xstrdup(name);
			next[i++].points = xcalloc(h->npoints, sizeof(struct point));
		}
	}
	while (j < h->nentries)
		entry_free(&h->entries[j++]);
	free(h->entries);
	h->entries = next;
	h->nentries = d->nservices;
}

static uint32_t kib(uint64_t bytes)
{
	return bytes / 1024 >= NONE32 ? NONE32 - 1 : (uint32_t)(bytes / 1024);
}

static uint16_t hundredths(double v)
{
	if (!(v >= 0)) /* NAN */
		return NONE16;
	return v * 100 >= NONE16 ? NONE16 - 1 : (uint16_t)(v * 100 + 0.5);
}

static uint16_t psi(const struct probe_psi *p)
{
	return p->some.avg10 == PROBE_UNKNOWN ? NONE16 : hundredths(p->some.avg10 / 100.0);
}

static struct point point_of(struct service *svc)
{
	const struct probe_cgroup_sample *s = monitor_sample(svc);
	const struct probe_cgroup_rates *r = monitor_rates(svc);
	const struct cgroup_limits *l = service_limits(svc);
	struct point p = { .memory_kib = NONE32 };

	if (!s || s->memory.current == PROBE_UNKNOWN)
		return p;
	p.memory_kib = kib(s->memory.current);
	p.memory_max_kib = !l || l->memory.max >= SPEC_SIZE_MAX ? NONE32 : kib(l->memory.max);
	p.cpu = r ? hundredths(r->cpu_percent / 100) : NONE16;
	p.psi[0] = psi(&s->psi_cpu);
	p.psi[1] = psi(&s->psi_memory);
	p.psi[2] = psi(&s->psi_io);
	return p;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct history *h = arg;
	unsigned slot = (unsigned)(h->ticks % h->npoints);

	(void)fd, (void)what;
	sync_services(h);
	h->times[slot] = realtime_ms();
	for (size_t i = 0; i < h->nentries; i++) {
		h->entries[i].points[slot] = point_of(h->d->services[i]);
		if (h->entries[i].count < h->npoints)
			h->entries[i].count++;
	}
	h->ticks++;
}

struct history *history_new(struct manager *d)
{
	struct history *h = xcalloc(1, sizeof(*h));
	uint64_t probe = d->cfg->probe_interval_ms ? d->cfg->probe_interval_ms : 1000;
	struct timeval tv;

	h->d = d;
	h->step_ms = probe > HISTORY_MIN_STEP_MS ? probe : HISTORY_MIN_STEP_MS;
	h->npoints = (unsigned)(HISTORY_SECONDS * 1000 / h->step_ms);
	if (!h->npoints)
		h->npoints = 1;
	h->times = xcalloc(h->npoints, sizeof(*h->times));
	tv = (struct timeval){ .tv_sec = (time_t)(h->step_ms / 1000),
			       .tv_usec = (suseconds_t)(h->step_ms % 1000 * 1000) };
	h->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, h);
	if (!h->ev_tick)
		return history_free(h);
	event_add(h->ev_tick, &tv);
	return h;
}

struct history *history_free(struct history *h)
{
	if (!h)
		return NULL;
	if (h->ev_tick)
		event_free(h->ev_tick);
	for (size_t i = 0; i < h->nentries; i++)
		entry_free(&h->entries[i]);
	free(h->entries);
	free(h->times);
	free(h);
	return NULL;
}

static struct json_object *json_hundredths(uint16_t v)
{
	return v == NONE16 ? NULL : json_object_new_double(v / 100.0);
}

static struct json_object *json_kib(uint32_t v)
{
	return v == NONE32 ? NULL : json_object_new_int64((int64_t)v * 1024);
}

struct json_object *history_json(struct history *h, const char *service)
{
	struct json_object *o, *pts;
	struct entry *e;
	uint64_t first;

	if (!h || !manager_find(h->d, service))
		return NULL;
	o = json_object_new_object();
	pts = json_object_new_array();
	json_object_object_add(o, "step_ms", json_object_new_int64((int64_t)h->step_ms));
	json_object_object_add(o, "points", pts);
	e = entry_find(h, service);
	if (!e) /* added since the last tick */
		return o;
	first = h->ticks - e->count;
	for (uint64_t k = first; k < h->ticks; k++) {
		const struct point *p = &e->points[k % h->npoints];
		struct json_object *j = json_object_new_object();
		bool have = p->memory_kib != NONE32;

		json_object_object_add(j, "t",
				       json_object_new_int64((int64_t)h->times[k % h->npoints]));
		json_object_object_add(j, "memory", have ? json_kib(p->memory_kib) : NULL);
		json_object_object_add(j, "memory_max", have ? json_kib(p->memory_max_kib) : NULL);
		json_object_object_add(j, "cpu", have ? json_hundredths(p->cpu) : NULL);
		json_object_object_add(j, "psi_cpu", have ? json_hundredths(p->psi[0]) : NULL);
		json_object_object_add(j, "psi_memory", have ? json_hundredths(p->psi[1]) : NULL);
		json_object_object_add(j, "psi_io", have ? json_hundredths(p->psi[2]) : NULL);
		json_object_array_add(pts, j);
	}
	return o;
}
