/*
 * test-history.c - unit tests for supervisor/core/history.c, included
 * whole so its tick runs without waiting for a timer: rings stay aligned
 * with the shared tick times, wrap after HISTORY_POINTS, keep their points
 * across services added and removed, and record gaps as nulls. The
 * manager, monitor and services are stubs below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../supervisor/core/history.c"

struct service {
	const char *name;
	bool running;
	struct probe_cgroup_sample s;
	struct probe_cgroup_rates r;
	struct cgroup_limits l;
};

const char *service_name(const struct service *svc)
{
	return svc->name;
}

const struct cgroup_limits *service_limits(const struct service *svc)
{
	return &svc->l;
}

const struct probe_cgroup_sample *monitor_sample(const struct service *svc)
{
	return svc->running ? &svc->s : NULL;
}

const struct probe_cgroup_rates *monitor_rates(const struct service *svc)
{
	return svc->running ? &svc->r : NULL;
}

struct service *manager_find(struct manager *m, const char *name)
{
	for (size_t i = 0; i < m->nservices; i++)
		if (strcmp(m->services[i]->name, name) == 0)
			return m->services[i];
	return NULL;
}

static struct service svcs[3];

static void svc_init(struct service *s, const char *name)
{
	*s = (struct service){ .name = name, .running = true };
	s->l.memory.max = SPEC_SIZE_MAX;
	s->s.psi_cpu.some.avg10 = 150; /* 1.50 % */
	s->s.psi_memory.some.avg10 = PROBE_UNKNOWN;
	s->s.psi_io.some.avg10 = 0;
	s->r.cpu_percent = 50; /* half a core */
}

/* One tick, with each service's memory.current set to mem KiB. */
static void tick(struct history *h, uint64_t mem)
{
	for (size_t i = 0; i < h->d->nservices; i++)
		h->d->services[i]->s.memory.current = mem * 1024;
	on_tick(-1, 0, h);
}

static struct json_object *points(struct history *h, const char *name)
{
	struct json_object *o = history_json(h, name), *p;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "points", &p));
	json_object_get(p);
	json_object_put(o);
	return p;
}

static int64_t member(struct json_object *pts, size_t i, const char *k)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(json_object_array_get_idx(pts, i), k, &v));
	return v ? json_object_get_int64(v) : -1;
}

struct fixture {
	struct event_base *base;
	struct daemon_config cfg;
	struct manager d;
	struct service *list[3];
	struct history *h;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->base = event_base_new();
	f->cfg.probe_interval_ms = 1000; /* below the floor: a point every 2 s */
	f->d.base = f->base;
	f->d.cfg = &f->cfg;
	f->d.services = f->list;
	svc_init(&svcs[0], "a");
	svc_init(&svcs[1], "b");
	svc_init(&svcs[2], "c");
	f->list[0] = &svcs[0];
	f->list[1] = &svcs[2];
	f->d.nservices = 2; /* a, c */
	f->h = history_new(&f->d);
	assert_non_null(f->h);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	f->h = history_free(f->h);
	assert_null(f->h);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void test_points(void **state)
{
	struct fixture *f = *state;
	struct json_object *o, *pts, *v;

	assert_int_equal(sizeof(struct point), 16);
	assert_int_equal(f->h->npoints, HISTORY_POINTS);
	/* The bound: 1000 services' rings under 8 MB. */
	assert_true(1000 * (HISTORY_POINTS * sizeof(struct point) + sizeof(struct entry)) <
		    8u << 20);
	o = history_json(f->h, "a");
	assert_true(json_object_object_get_ex(o, "step_ms", &v));
	assert_int_equal(json_object_get_int(v), 2000);
	json_object_put(o);
	assert_null(history_json(f->h, "nope"));

	svcs[0].l.memory.max = 64 << 20;
	tick(f->h, 100);
	tick(f->h, 200);
	svcs[2].running = false; /* c stops: a gap */
	tick(f->h, 300);
	pts = points(f->h, "a");
	assert_int_equal(json_object_array_length(pts), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(member(pts, i, "memory"), (int64_t)(i + 1) * 100 * 1024);
	assert_true(member(pts, 0, "t") <= member(pts, 2, "t"));
	assert_int_equal(member(pts, 0, "memory_max"), 64 << 20);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(pts, 0), "cpu", &v));
	assert_true(json_object_get_double(v) == 0.5);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(pts, 0), "psi_cpu", &v));
	assert_true(json_object_get_double(v) == 1.5);
	assert_int_equal(member(pts, 0, "psi_memory"), -1); /* unknown: null */
	json_object_put(pts);
	pts = points(f->h, "c");
	assert_int_equal(member(pts, 0, "memory_max"), -1); /* no limit: null */
	assert_int_equal(member(pts, 1, "memory"), 200 * 1024);
	assert_int_equal(member(pts, 2, "memory"), -1); /* stopped: null */
	assert_int_equal(member(pts, 2, "cpu"), -1);
	json_object_put(pts);
}

static void test_wrap_and_membership(void **state)
{
	struct fixture *f = *state;
	struct json_object *pts;
	struct point *ring_a;
	size_t n;

	for (uint64_t k = 0; k < 10; k++)
		tick(f->h, k);
	ring_a = f->h->entries[0].points;
	/* b appears between a and c: a and c keep their rings, b starts empty. */
	f->list[0] = &svcs[0], f->list[1] = &svcs[1], f->list[2] = &svcs[2];
	f->d.nservices = 3;
	pts = points(f->h, "b"); /* before its first tick: no points */
	assert_int_equal(json_object_array_length(pts), 0);
	json_object_put(pts);
	tick(f->h, 1000);
	assert_ptr_equal(f->h->entries[0].points, ring_a);
	pts = points(f->h, "b");
	assert_int_equal(json_object_array_length(pts), 1);
	assert_int_equal(member(pts, 0, "memory"), 1000 * 1024);
	json_object_put(pts);
	pts = points(f->h, "c");
	assert_int_equal(json_object_array_length(pts), 11);
	assert_int_equal(member(pts, 9, "memory"), 9 * 1024);
	json_object_put(pts);

	/* Past HISTORY_POINTS ticks the oldest go, the order stays. */
	for (uint64_t k = 0; k < HISTORY_POINTS + 5; k++)
		tick(f->h, 2000 + k);
	pts = points(f->h, "a");
	n = json_object_array_length(pts);
	assert_int_equal(n, HISTORY_POINTS);
	assert_int_equal(member(pts, 0, "memory"), (2000 + 5) * 1024);
	assert_int_equal(member(pts, n - 1, "memory"), (2000 + HISTORY_POINTS + 4) * 1024);
	for (size_t i = 1; i < n; i++)
		assert_true(member(pts, i - 1, "t") <= member(pts, i, "t"));
	json_object_put(pts);
	pts = points(f->h, "b");
	assert_int_equal(json_object_array_length(pts), HISTORY_POINTS);
	json_object_put(pts);

	/* a goes: its ring is freed, the others stay where they are. */
	f->list[0] = &svcs[1], f->list[1] = &svcs[2];
	f->d.nservices = 2;
	tick(f->h, 5);
	assert_int_equal(f->h->nentries, 2);
	assert_string_equal(f->h->entries[0].name, "b");
	assert_null(history_json(f->h, "a"));
	pts = points(f->h, "c");
	assert_int_equal(member(pts, HISTORY_POINTS - 1, "memory"), 5 * 1024);
	assert_int_equal(member(pts, HISTORY_POINTS - 2, "memory"),
			 (2000 + HISTORY_POINTS + 4) * 1024);
	json_object_put(pts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_points, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_and_membership, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
