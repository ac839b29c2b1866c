/*
 * test-rebalance.c - the rebalancer's controller replayed on synthetic
 * traces (tables of samples over time): budget never exceeded, floors
 * never violated, hysteresis (no oscillation on a flat trace), escalation
 * order (batch before standard, critical never squeezed), rate limits,
 * drift, grow with back-off, observe vs enforce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rebalance.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define NSVC 4
#define EVCAP 256

static const struct spec_memory unset_mem = { SPEC_UNSET, SPEC_UNSET, SPEC_UNSET, SPEC_UNSET,
					      SPEC_UNSET };

static struct rb_input svc_in(enum spec_class c, uint64_t usage)
{
	struct rb_input in = { .class = c,
			       .running = true,
			       .spec = unset_mem,
			       .usage = usage,
			       .active = RB_UNKNOWN,
			       .psi_mem = 0,
			       .psi_cpu = 0 };
	for (int k = 0; k < RB_NKNOBS; k++)
		in.observed[k] = RB_UNKNOWN;
	return in;
}

struct sim {
	struct rebalance_params p;
	struct rb_host h;
	struct rb_input in[NSVC];
	struct rb_state st[NSVC];
	struct rb_global g;
	size_t n;
	struct rb_event ev[EVCAP];
	struct rb_output out;
	uint64_t now;
	unsigned nset[NSVC][RB_NKNOBS]; /* knob changes seen */
};

static void sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	rebalance_params_default(&s->p);
	s->p.mode = REBALANCE_ENFORCE;
	s->p.budget_memory = GIB;
	s->p.budget_mcpu = 2000;
	s->h.mem_total = 4 * GIB;
	s->now = 1000;
}

/* Invariants that hold after every tick, whatever the trace. */
static void check_invariants(struct sim *s)
{
	uint64_t protected = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct rb_state *st = &s->st[i];
		const struct rb_input *in = &s->in[i];
		uint64_t floor = 0;
		if (in->spec.min != SPEC_UNSET)
			floor = in->spec.min;
		if (in->spec.low != SPEC_UNSET && in->spec.low > floor)
			floor = in->spec.low;
		if (!in->running || in->pinned)
			continue;
		/* floors: no ceiling below the spec floor */
		if (st->want[RB_MEM_HIGH] != RB_MAX)
			assert_true(st->want[RB_MEM_HIGH] >= floor);
		assert_true(st->want[RB_MEM_MAX] >= floor);
		if (in->spec.low != SPEC_UNSET && st->want[RB_MEM_LOW] != RB_MAX)
			assert_true(st->want[RB_MEM_LOW] >= in->spec.low);
		/* budget: no single ceiling past it; protections summed within it */
		uint64_t safe = in->usage != RB_UNKNOWN ? in->usage + s->p.headroom : 0;
		assert_true(st->want[RB_MEM_MAX] <= s->p.budget_memory ||
			    st->want[RB_MEM_MAX] <= safe);
		if (st->want[RB_MEM_LOW] != RB_MAX)
		protected += st->want[RB_MEM_LOW];
		/* never below usage */
		uint64_t spec_max = rebalance_start_max(in, st);
		if (in->usage != RB_UNKNOWN)
			assert_true(st->want[RB_MEM_MAX] >=
				    (in->usage < spec_max ? in->usage : spec_max));
		/* critical services are never squeezed */
		if (in->class == CLASS_CRITICAL) {
			assert_int_equal(st->squeeze_ceiling, RB_MAX);
			assert_int_equal(st->cpu_level, 0);
		}
	}
	assert_true(protected <= s->p.budget_memory);
}

static void sim_tick(struct sim *s)
{
	s->out = (struct rb_output){ .events = s->ev, .cap = EVCAP };
	rebalance_tick(&s->p, &s->h, s->in, s->st, s->n, &s->g, s->now, &s->out);
	for (size_t e = 0; e < s->out.nevents; e++)
		if (s->ev[e].type == RB_EV_SET && s->ev[e].svc >= 0)
			s->nset[s->ev[e].svc][s->ev[e].knob]++;
	check_invariants(s);
	s->now += 1000;
}

static size_t count_events(struct sim *s, enum rb_event_type t, int svc)
{
	size_t n = 0;
	for (size_t e = 0; e < s->out.nevents; e++)
		if (s->ev[e].type == t && (svc < 0 || s->ev[e].svc == svc))
			n++;
	return n;
}

/* Flat, calm trace: after the first tick writes the targets, nothing moves. */
static void test_flat_calm_no_oscillation(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.has_memory_high = false; /* no probing: a truly flat controller */
	s.n = 3;
	s.in[0] = svc_in(CLASS_CRITICAL, 200 * MIB);
	s.in[1] = svc_in(CLASS_STANDARD, 100 * MIB);
	s.in[2] = svc_in(CLASS_BATCH, 100 * MIB);
	s.h.psi_mem = 0;
	sim_tick(&s);
	size_t first = s.out.nevents;
	assert_true(first > 0);
	for (int t = 0; t < 300; t++) {
		sim_tick(&s);
		assert_int_equal(s.out.nevents, 0);
	}
}

/* Flat trace inside the hysteresis band (between off and on): hold, no steps either way. */
static void test_hysteresis_band_holds(void **state)
{
	struct sim s;
	uint64_t c;

	(void)state;
	sim_init(&s);
	s.n = 2;
	s.in[0] = svc_in(CLASS_CRITICAL, 200 * MIB);
	s.in[1] = svc_in(CLASS_BATCH, 400 * MIB);
	s.h.psi_mem = 1500; /* above host_on: squeeze */
	sim_tick(&s);
	sim_tick(&s);
	sim_tick(&s);
	c = s.st[1].squeeze_ceiling;
	assert_true(c < 400 * MIB);
	s.h.psi_mem = 500; /* between off (2%) and on (10%) */
	for (int t = 0; t < 200; t++) {
		sim_tick(&s);
		assert_int_equal(s.st[1].squeeze_ceiling, c);
		assert_int_equal(count_events(&s, RB_EV_SQUEEZE, -1), 0);
	}
	/* Calm: given back step by step (not at once), then left alone. */
	s.h.psi_mem = 0;
	unsigned steps = 0, ticks = 0;
	while (s.st[1].squeeze_ceiling != RB_MAX && ticks < 500) {
		uint64_t before = s.st[1].squeeze_ceiling;
		sim_tick(&s);
		ticks++;
		if (s.st[1].squeeze_ceiling != before) {
			assert_true(s.st[1].squeeze_ceiling > before);
			steps++;
		}
	}
	assert_int_equal(s.st[1].squeeze_ceiling, RB_MAX);
	assert_true(steps >= 2);
	assert_true(ticks >= s.p.calm_ms / 1000);
	for (int t = 0; t < 100; t++) {
		sim_tick(&s);
		assert_int_equal(count_events(&s, RB_EV_SQUEEZE, -1), 0);
	}
}

/* Batch first, standard only when batch is at its floor, critical never. */
static void test_escalation_order(void **state)
{
	struct sim s;
	bool standard_touched = false;

	(void)state;
	sim_init(&s);
	s.n = 4;
	s.in[0] = svc_in(CLASS_CRITICAL, 300 * MIB);
	s.in[1] = svc_in(CLASS_STANDARD, 300 * MIB);
	s.in[2] = svc_in(CLASS_BATCH, 300 * MIB);
	s.in[3] = svc_in(CLASS_BATCH, 300 * MIB);
	s.in[3].spec.low = 100 * MIB; /* a floor */
	s.in[0].psi_mem = 2000; /* the critical service stalls */
	for (int t = 0; t < 400; t++) {
		sim_tick(&s);
		if (s.st[1].squeeze_ceiling != RB_MAX && !standard_touched) {
			standard_touched = true;
			/* batch got there first and is at its floor */
			assert_int_equal(s.st[2].squeeze_ceiling, s.p.ws_floor);
			assert_int_equal(s.st[3].squeeze_ceiling, 100 * MIB);
		}
	}
	assert_true(standard_touched);
	assert_int_equal(s.st[0].squeeze_ceiling, RB_MAX);
	assert_int_equal(s.st[1].squeeze_ceiling, s.p.ws_floor);
	/* memory.high follows the squeeze on v2; the floor holds */
	assert_int_equal(s.st[3].want[RB_MEM_HIGH], 100 * MIB);
	assert_int_equal(s.st[0].want[RB_MEM_HIGH], RB_MAX);
}

/* Host PSI with plenty of memory available is a service stalling at its own limit: no squeeze. */
static void test_host_psi_needs_short_memory(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.host_available_low = 512 * MIB;
	s.n = 2;
	s.in[0] = svc_in(CLASS_STANDARD, 100 * MIB);
	s.in[1] = svc_in(CLASS_BATCH, 100 * MIB);
	s.h.psi_mem = 5000;
	s.h.mem_available = 2 * GIB;
	for (int t = 0; t < 20; t++) {
		sim_tick(&s);
		assert_int_equal(count_events(&s, RB_EV_SQUEEZE, -1), 0);
	}
	s.h.mem_available = 100 * MIB;
	sim_tick(&s);
	assert_int_equal(count_events(&s, RB_EV_SQUEEZE, 1), 1);
	assert_int_equal(count_events(&s, RB_EV_SQUEEZE, 0), 0);
}

/* One squeeze step per step_ms at most, however hot. */
static void test_rate_limit(void **state)
{
	struct sim s;
	unsigned changes = 0;

	(void)state;
	sim_init(&s);
	s.n = 1;
	s.in[0] = svc_in(CLASS_BATCH, 900 * MIB);
	s.h.psi_mem = 5000;
	uint64_t prev = RB_MAX;
	for (int t = 0; t < 20; t++) {
		sim_tick(&s);
		if (s.st[0].squeeze_ceiling != prev)
			changes++;
		prev = s.st[0].squeeze_ceiling;
	}
	/* 20 ticks of 1 s, step_ms 2 s: at most 10 steps */
	assert_true(changes <= 20 * 1000 / s.p.step_ms);
	assert_true(changes >= 5);
}

/* Over budget by usage alone (no PSI yet): squeeze; max never set below usage. */
static void test_budget_usage_and_v1(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.has_memory_high = false;
	s.n = 2;
	s.in[0] = svc_in(CLASS_CRITICAL, 500 * MIB);
	s.in[1] = svc_in(CLASS_BATCH, 700 * MIB);
	for (int t = 0; t < 40; t++) {
		sim_tick(&s);
		/* batch keeps allocating, up to its limit */
		if (s.in[1].usage + 5 * MIB <= s.st[1].want[RB_MEM_MAX])
			s.in[1].usage += 5 * MIB;
	}
	/* v1: the squeeze is memory.max at usage plus headroom, not below */
	assert_true(s.st[1].squeeze_ceiling != RB_MAX);
	assert_true(s.st[1].want[RB_MEM_MAX] <= s.p.budget_memory);
	assert_true(s.st[1].want[RB_MEM_MAX] >= s.in[1].usage);
	/* v1 protection: soft limit unlimited for critical, 0 for batch */
	assert_int_equal(s.st[0].want[RB_MEM_LOW], RB_MAX);
	assert_int_equal(s.st[1].want[RB_MEM_LOW], 0);
	/* memory.high stays the spec's (v1 has none to move) */
	assert_int_equal(s.st[1].want[RB_MEM_HIGH], RB_MAX);
}

/*
 * Budget: two batch services that allocate as fast as their limits let them,
 * next to a critical one. Their memory.max follows usage plus their share of
 * what is left, so the total stays within the budget (plus headroom each),
 * and the critical service never has to give anything up.
 */
static void test_budget_never_exceeded(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.n = 3;
	s.in[0] = svc_in(CLASS_CRITICAL, 300 * MIB);
	s.in[1] = svc_in(CLASS_BATCH, 10 * MIB);
	s.in[2] = svc_in(CLASS_BATCH, 10 * MIB);
	for (int t = 0; t < 200; t++) {
		sim_tick(&s);
		for (size_t i = 1; i < 3; i++) {
			uint64_t want = s.in[i].usage + 60 * MIB, cap = s.st[i].want[RB_MEM_MAX];
			s.in[i].usage =
			    want < cap ? want : cap; /* the kernel stops it at the limit */
		}
		uint64_t total = s.in[0].usage + s.in[1].usage + s.in[2].usage;
		if (getenv("RB_TRACE"))
			fprintf(stderr, "t=%d total=%llu b1=%llu/%llu b2=%llu/%llu\n", t,
				(unsigned long long)(total >> 20),
				(unsigned long long)(s.in[1].usage >> 20),
				(unsigned long long)(s.st[1].want[RB_MEM_MAX] >> 20),
				(unsigned long long)(s.in[2].usage >> 20),
				(unsigned long long)(s.st[2].want[RB_MEM_MAX] >> 20));
		assert_true(total <= s.p.budget_memory + 2 * (s.p.headroom + s.p.min_step));
	}
	/* both got something: the share is split, not first come first served */
	assert_true(s.in[1].usage > 200 * MIB && s.in[2].usage > 200 * MIB);
	assert_int_equal(s.st[0].squeeze_ceiling, RB_MAX);
}

/* Protection follows the working set with hysteresis, and the budget bounds it. */
static void test_protection(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.n = 2;
	s.in[0] = svc_in(CLASS_CRITICAL, 400 * MIB);
	s.in[0].active = 300 * MIB;
	s.in[0].spec.low = 64 * MIB;
	s.in[0].spec.max = 2 * GIB;
	s.in[1] = svc_in(CLASS_CRITICAL, 900 * MIB);
	s.in[1].active = 900 * MIB;
	sim_tick(&s);
	uint64_t low0 = s.st[0].want[RB_MEM_LOW];
	assert_true(low0 >= 300 * MIB && low0 <= 340 * MIB);
	/* the second one gets what the budget has left, not its full working set */
	assert_true(s.st[1].want[RB_MEM_LOW] <= GIB - low0);
	/* a small drop does not lower it (hysteresis); a large one does */
	s.in[0].active = 280 * MIB;
	for (int t = 0; t < 10; t++)
		sim_tick(&s);
	assert_int_equal(s.st[0].want[RB_MEM_LOW], low0);
	s.in[0].active = 100 * MIB;
	sim_tick(&s);
	assert_true(s.st[0].want[RB_MEM_LOW] < low0);
	assert_true(s.st[0].want[RB_MEM_LOW] >= 64 * MIB);
	/* the floor holds even when the estimate is tiny */
	s.in[0].active = 1 * MIB;
	for (int t = 0; t < 5; t++)
		sim_tick(&s);
	assert_int_equal(s.st[0].want[RB_MEM_LOW], 64 * MIB);
}

/* senpai probe: lowers memory.high while calm, backs off fast on pressure, estimates. */
static void test_working_set_probe(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.n = 1;
	s.in[0] = svc_in(CLASS_STANDARD, 500 * MIB);
	/* The service stalls once memory.high gets below 300M. */
	for (int t = 0; t < 2000; t++) {
		uint64_t hi = s.st[0].init ? s.st[0].want[RB_MEM_HIGH] : RB_MAX;
		s.in[0].usage = hi < 500 * MIB ? hi : 500 * MIB;
		s.in[0].psi_mem = hi < 300 * MIB ? 50 : 0;
		sim_tick(&s);
	}
	uint64_t ws = s.st[0].ws_estimate;
	assert_true(ws >= 250 * MIB && ws <= 320 * MIB);
	assert_true(s.st[0].want[RB_MEM_HIGH] >= 250 * MIB);
}

/* Drift: a knob written behind our back is reported, then re-asserted or adopted. */
static void test_drift(void **state)
{
	struct sim s;

	(void)state;
	for (int adopt = 0; adopt < 2; adopt++) {
		sim_init(&s);
		s.p.drift = adopt ? DRIFT_ADOPT : DRIFT_REASSERT;
		s.p.has_memory_high = false;
		s.n = 1;
		s.in[0] = svc_in(CLASS_BATCH, 100 * MIB);
		s.in[0].spec.max = 512 * MIB;
		sim_tick(&s);
		assert_int_equal(s.st[0].written[RB_MEM_MAX], 512 * MIB);
		s.in[0].observed[RB_MEM_MAX] = 512 * MIB;
		sim_tick(&s);
		assert_int_equal(count_events(&s, RB_EV_DRIFT, 0), 0);
		s.in[0].observed[RB_MEM_MAX] = 300 * MIB; /* someone wrote it */
		sim_tick(&s);
		assert_int_equal(count_events(&s, RB_EV_DRIFT, 0), 1);
		if (adopt) {
			assert_int_equal(count_events(&s, RB_EV_SET, 0), 0);
			assert_true(s.st[0].adopted[RB_MEM_MAX]);
		} else {
			assert_int_equal(count_events(&s, RB_EV_SET, 0), 1);
			assert_int_equal(s.ev[1].to, 512 * MIB);
		}
		/* no repeated drift events for the same change */
		s.in[0].observed[RB_MEM_MAX] = adopt ? 300 * MIB : 512 * MIB;
		sim_tick(&s);
		assert_int_equal(count_events(&s, RB_EV_DRIFT, 0), 0);
	}
	/* observe mode never claims drift: it writes nothing */
	sim_init(&s);
	s.p.mode = REBALANCE_OBSERVE;
	s.n = 1;
	s.in[0] = svc_in(CLASS_BATCH, 100 * MIB);
	sim_tick(&s);
	assert_true(count_events(&s, RB_EV_SET, 0) > 0);
	s.in[0].observed[RB_MEM_MAX] = 300 * MIB;
	sim_tick(&s);
	assert_int_equal(count_events(&s, RB_EV_DRIFT, 0), 0);
}

/* Pinned (paddockctl set) and stopped services are left alone. */
static void test_pinned_untouched(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.n = 2;
	s.in[0] = svc_in(CLASS_BATCH, 900 * MIB);
	s.in[0].pinned = true;
	s.in[1] = svc_in(CLASS_BATCH, 900 * MIB);
	s.in[1].running = false;
	s.h.psi_mem = 5000;
	for (int t = 0; t < 30; t++) {
		sim_tick(&s);
		assert_int_equal(s.out.nevents, 0);
	}
}

/* Parking: batch work starts only when its floor fits beside what the others hold. */
static void test_room(void **state)
{
	struct rb_input in[3];
	struct rb_state st[3] = { { 0 } };
	struct rebalance_params p;
	uint64_t need = 0, left = 0;

	(void)state;
	rebalance_params_default(&p);
	p.budget_memory = 400 * MIB;
	in[0] = svc_in(CLASS_CRITICAL, 300 * MIB); /* counts 300M + 32M headroom */
	in[1] = svc_in(CLASS_STANDARD, 500 * MIB); /* counts at its floor: ws_floor 16M */
	in[2] = svc_in(CLASS_BATCH, 0);
	in[2].running = false;
	in[2].spec.low = 100 * MIB;
	assert_int_equal(rebalance_room(&p, in, st, 3, 2, &need, &left), RB_ROOM_NO);
	assert_int_equal(need, 132 * MIB);
	assert_int_equal(left, 400 * MIB - 332 * MIB - 16 * MIB);
	/* The critical service's working-set estimate counts when larger. */
	in[0].usage = 100 * MIB;
	st[0].ws_estimate = 280 * MIB;
	assert_int_equal(rebalance_room(&p, in, st, 3, 2, NULL, NULL), RB_ROOM_NO);
	st[0].ws_estimate = 0;
	assert_int_equal(rebalance_room(&p, in, st, 3, 2, NULL, NULL), RB_ROOM_YES);
	/* A stopped service holds nothing; one not sampled yet leaves it open. */
	in[0].usage = 300 * MIB;
	in[0].running = false;
	assert_int_equal(rebalance_room(&p, in, st, 3, 2, NULL, NULL), RB_ROOM_YES);
	in[0].running = true;
	in[0].usage = RB_UNKNOWN;
	assert_int_equal(rebalance_room(&p, in, st, 3, 2, NULL, NULL), RB_ROOM_UNKNOWN);
	in[0].usage = 300 * MIB;
	/* A critical service's page cache does not hold the budget. */
	in[0].active = 100 * MIB;
	assert_int_equal(rebalance_room(&p, in, st, 3, 2, NULL, NULL), RB_ROOM_YES);
	in[0].active = RB_UNKNOWN;
	assert_int_equal(rebalance_room(&p, in, st, 3, 2, NULL, NULL), RB_ROOM_NO);
	/* No budget: always room. */
	p.budget_memory = RB_MAX;
	assert_int_equal(rebalance_room(&p, in, st, 3, 2, NULL, NULL), RB_ROOM_YES);
}

/* on_oom grow: step by step to the ceiling, then refused; back-off between grows. */
static void test_grow(void **state)
{
	struct sim s;
	struct rb_input in;
	struct rb_state st = { 0 };
	uint64_t now = 1000;
	unsigned grows = 0;

	(void)state;
	sim_init(&s);
	in = svc_in(CLASS_STANDARD, 100 * MIB);
	in.on_oom = ON_OOM_GROW;
	in.spec.high = 64 * MIB;
	in.spec.max = 128 * MIB;
	in.psi_mem = UINT32_MAX; /* no PSI: no working-set probe */
	assert_int_equal(rebalance_start_max(&in, &st), 64 * MIB);
	s.out = (struct rb_output){ .events = s.ev, .cap = EVCAP };
	for (int i = 0; i < 40; i++) {
		if (rebalance_grow(&s.p, &in, &st, 0, now, &s.out))
			grows++;
		assert_true(rebalance_start_max(&in, &st) <= 128 * MIB);
		now += 500;
	}
	assert_int_equal(grows, 4); /* (128M - 64M) / 4 per step */
	assert_int_equal(rebalance_start_max(&in, &st), 128 * MIB);
	/* refused ones: back-off first, then "at the spec ceiling" */
	size_t backoff = 0, ceiling = 0;
	for (size_t e = 0; e < s.out.nevents; e++) {
		if (s.ev[e].type != RB_EV_GROW_REFUSED)
			continue;
		if (strstr(s.ev[e].reason, "backing off"))
			backoff++;
		if (strstr(s.ev[e].reason, "ceiling"))
			ceiling++;
	}
	assert_true(backoff > 0);
	assert_true(ceiling > 0);
	/* grows are kept across a stop; the tick's memory.max follows them */
	in.running = false;
	rebalance_tick(&s.p, &s.h, &in, &st, 1, &s.g, now, &s.out);
	in.running = true;
	rebalance_tick(&s.p, &s.h, &in, &st, 1, &s.g, now + 1000, &s.out);
	assert_int_equal(st.want[RB_MEM_MAX], 128 * MIB);
	assert_int_equal(st.want[RB_MEM_HIGH], 128 * MIB);

	/* the budget is a ceiling too */
	struct rb_state st2 = { 0 };
	s.p.budget_memory = 96 * MIB;
	for (int i = 0; i < 40; i++, now += 100000)
		(void)rebalance_grow(&s.p, &in, &st2, 0, now, &s.out);
	assert_int_equal(rebalance_start_max(&in, &st2), 96 * MIB);
	/* nothing to grow without a memory.max */
	struct rb_state st3 = { 0 };
	in.spec = unset_mem;
	s.p.budget_memory = RB_MAX;
	assert_false(rebalance_grow(&s.p, &in, &st3, 0, now, &s.out));
}

/* CPU: batch capped first when a critical service waits for CPU, restored gradually. */
static void test_cpu(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.n = 3;
	s.in[0] = svc_in(CLASS_CRITICAL, 100 * MIB);
	s.in[1] = svc_in(CLASS_STANDARD, 100 * MIB);
	s.in[2] = svc_in(CLASS_BATCH, 100 * MIB);
	sim_tick(&s);
	assert_int_equal(s.st[0].want[RB_CPU_WEIGHT], 400);
	assert_int_equal(s.st[2].want[RB_CPU_WEIGHT], 25);
	assert_int_equal(s.st[2].want[RB_CPU_MAX], RB_MAX);
	s.in[0].psi_cpu = 3000;
	sim_tick(&s);
	assert_int_equal(s.st[2].want[RB_CPU_MAX], 1000);
	assert_int_equal(s.st[1].want[RB_CPU_MAX], RB_MAX);
	for (int t = 0; t < 30; t++)
		sim_tick(&s);
	assert_int_equal(s.st[2].want[RB_CPU_MAX], s.p.budget_mcpu >> s.p.cpu_levels);
	assert_true(s.st[1].want[RB_CPU_MAX] != RB_MAX);
	assert_int_equal(s.st[0].want[RB_CPU_MAX], RB_MAX);
	s.in[0].psi_cpu = 0;
	unsigned ticks = 0;
	while ((s.st[2].cpu_level || s.st[1].cpu_level) && ticks < 200) {
		unsigned b = s.st[2].cpu_level, st = s.st[1].cpu_level;
		sim_tick(&s);
		ticks++;
		assert_true(s.st[2].cpu_level + 1 >= b); /* one level a step */
		if (st)
			assert_int_equal(s.st[2].cpu_level, b); /* standard restored first */
	}
	assert_int_equal(s.st[2].want[RB_CPU_MAX], RB_MAX);
	assert_true(ticks >= 8);
}

/* A random-walk trace: invariants hold at every tick (checked in sim_tick). */
static void test_random_trace_invariants(void **state)
{
	struct sim s;
	uint32_t x = 12345;

	(void)state;
	sim_init(&s);
	s.n = 4;
	s.in[0] = svc_in(CLASS_CRITICAL, 300 * MIB);
	s.in[0].spec.low = 128 * MIB;
	s.in[1] = svc_in(CLASS_STANDARD, 200 * MIB);
	s.in[1].spec.min = 32 * MIB;
	s.in[1].spec.max = 600 * MIB;
	s.in[2] = svc_in(CLASS_BATCH, 300 * MIB);
	s.in[3] = svc_in(CLASS_BATCH, 300 * MIB);
	s.in[3].spec.high = 200 * MIB;
	for (int t = 0; t < 3000; t++) {
		for (size_t i = 0; i < s.n; i++) {
			x = x * 1103515245 + 12345;
			int64_t d = (int64_t)((x >> 16) % 41) - 20;
			int64_t u = (int64_t)s.in[i].usage + d * (int64_t)MIB;
			if (u < (int64_t)(8 * MIB))
				u = 8 * MIB;
			if (u > (int64_t)(700 * MIB))
				u = 700 * MIB;
			s.in[i].usage = (uint64_t)u;
			s.in[i].psi_mem = (x >> 8) % 1000;
			s.in[i].psi_cpu = (x >> 4) % 4000;
		}
		s.h.psi_mem = (x >> 12) % 3000;
		sim_tick(&s);
	}
}

/*
 * v1, a database whose usage is mostly page cache (400M, 60M of it not
 * inactive file) next to a critical and a standard service: the budget
 * counts working sets, so nothing is squeezed and the others' memory.max
 * keeps a real share. Counting usage, the same trace squeezed them.
 */
static void test_page_cache_not_committed(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.has_memory_high = false;
	s.p.budget_memory = 600 * MIB;
	s.n = 3;
	s.in[0] = svc_in(CLASS_STANDARD, 400 * MIB); /* postgres */
	s.in[0].active = 60 * MIB;
	s.in[1] = svc_in(CLASS_CRITICAL, 100 * MIB); /* nginx */
	s.in[1].active = 90 * MIB;
	s.in[2] = svc_in(CLASS_STANDARD, 80 * MIB); /* redis */
	s.in[2].active = 75 * MIB;
	for (int t = 0; t < 30; t++) {
		sim_tick(&s);
		assert_int_equal(count_events(&s, RB_EV_SQUEEZE, -1), 0);
	}
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(s.st[i].squeeze_ceiling, RB_MAX);
	/* (600 - 60 - (90 + 32) - 75) / 4 parts, twice for a standard service: ~170M */
	assert_true(s.st[2].want[RB_MEM_MAX] >= s.in[2].usage + 150 * MIB);
	assert_true(s.st[0].want[RB_MEM_MAX] >= s.in[0].usage + 150 * MIB);

	/* The same services with usage all anonymous: over the budget, squeezed. */
	sim_init(&s);
	s.p.has_memory_high = false;
	s.p.budget_memory = 600 * MIB;
	s.n = 3;
	s.in[0] = svc_in(CLASS_STANDARD, 400 * MIB);
	s.in[1] = svc_in(CLASS_CRITICAL, 100 * MIB);
	s.in[2] = svc_in(CLASS_STANDARD, 80 * MIB);
	size_t squeezes = 0;
	for (int t = 0; t < 30; t++) {
		sim_tick(&s);
		squeezes += count_events(&s, RB_EV_SQUEEZE, -1);
	}
	assert_true(squeezes > 0);
}

/* The values a fresh cgroup holds: nothing limited, cpu.weight 100. */
static void fresh_cgroup(struct rb_input *in)
{
	in->observed[RB_MEM_LOW] = 0;
	in->observed[RB_MEM_HIGH] = RB_MAX;
	in->observed[RB_MEM_MAX] = RB_MAX;
	in->observed[RB_CPU_WEIGHT] = 100;
	in->observed[RB_CPU_MAX] = RB_MAX;
}

/*
 * Observe mode is quiet: at a start only knobs whose target differs from
 * the value in force make an event, and "from" is that value (never
 * unknown); unchanged targets make no more events, also across a
 * restart; a target that moves makes one.
 */
static void test_observe_quiet(void **state)
{
	struct sim s;
	size_t total = 0;

	(void)state;
	sim_init(&s);
	s.p.mode = REBALANCE_OBSERVE;
	s.n = 1;
	s.in[0] = svc_in(CLASS_STANDARD, 100 * MIB);
	fresh_cgroup(&s.in[0]);
	sim_tick(&s);
	/* memory.max: budget share below "max"; the rest is what the cgroup holds */
	assert_int_equal(count_events(&s, RB_EV_SET, 0), 1);
	assert_int_equal(s.ev[0].knob, RB_MEM_MAX);
	assert_true(s.ev[0].from == RB_MAX);
	assert_string_equal(s.st[0].why[RB_CPU_WEIGHT], "class weight");
	assert_non_null(s.st[0].why[RB_MEM_MAX]);
	for (int t = 0; t < 20; t++) {
		sim_tick(&s);
		total += count_events(&s, RB_EV_SET, 0);
	}
	assert_int_equal(total, 0);

	/* A restart: stopped for a tick, running again in a fresh cgroup. */
	s.in[0].running = false;
	sim_tick(&s);
	s.in[0].running = true;
	for (int t = 0; t < 5; t++) {
		sim_tick(&s);
		total += count_events(&s, RB_EV_SET, 0);
	}
	assert_int_equal(total, 0);

	/* A target that moves is one event, from the value in force. */
	s.in[0].spec_cpu_weight = 300;
	sim_tick(&s);
	assert_int_equal(count_events(&s, RB_EV_SET, 0), 1);
	assert_int_equal(s.ev[0].knob, RB_CPU_WEIGHT);
	assert_true(s.ev[0].from == 100 && s.ev[0].to == 300);
	sim_tick(&s);
	assert_int_equal(count_events(&s, RB_EV_SET, 0), 0);

	/* Enforce: the first decision is measured against the cgroup too. */
	sim_init(&s);
	s.n = 1;
	s.in[0] = svc_in(CLASS_CRITICAL, 100 * MIB);
	fresh_cgroup(&s.in[0]);
	sim_tick(&s);
	for (size_t e = 0; e < s.out.nevents; e++)
		if (s.ev[e].type == RB_EV_SET)
			assert_true(s.ev[e].from != RB_UNKNOWN);
	assert_int_equal(s.nset[0][RB_MEM_HIGH], 0); /* max already */
	assert_int_equal(s.nset[0][RB_CPU_WEIGHT], 1); /* 100 -> 400 */
}

/* The budget: tightest of host and ancestry, minus the reserve; an explicit budget wins. */
static void test_budget_sources(void **state)
{
	struct rb_budget b;
	struct rb_budget_in in = { .config_memory = SPEC_UNSET,
				   .reserve = 64 * MIB,
				   .host_memory = 24 * GIB,
				   .host_mcpu = 2000,
				   .anc_memory = UINT64_MAX,
				   .anc_mcpu = UINT64_MAX };

	(void)state;
	rebalance_budget(&in, &b);
	assert_true(b.memory == 24 * GIB - 64 * MIB);
	assert_string_equal(b.memory_source, "host RAM (MemTotal), minus reserve 64 MiB");
	assert_int_equal(b.mcpu, 2000);
	assert_string_equal(b.cpu_source, "online CPUs");

	in.anc_memory = 300 * MIB;
	in.anc_memory_source = "memory.max of /sys/fs/cgroup/x";
	in.anc_mcpu = 1500;
	in.anc_cpu_source = "cpu.max of /sys/fs/cgroup/x";
	rebalance_budget(&in, &b);
	assert_true(b.memory == 236 * MIB);
	assert_true(b.memory_limit == 300 * MIB);
	assert_string_equal(b.memory_source,
			    "memory.max of /sys/fs/cgroup/x, minus reserve 64 MiB");
	assert_int_equal(b.mcpu, 1500);
	assert_string_equal(b.cpu_source, "cpu.max of /sys/fs/cgroup/x");

	/* A limit above host RAM does not count. */
	in.anc_memory = 64 * GIB;
	in.anc_mcpu = 8000;
	rebalance_budget(&in, &b);
	assert_true(b.memory_limit == 24 * GIB);
	assert_int_equal(b.mcpu, 2000);

	/* The reserve is not taken when the limit is not above it. */
	in.anc_memory = 48 * MIB;
	rebalance_budget(&in, &b);
	assert_true(b.memory == 48 * MIB);
	assert_int_equal(b.reserve, 0);

	/* Explicit budget: wins, and names the tighter ancestor it overrides. */
	in.config_memory = 1 * GIB;
	in.config_mcpu = 500;
	in.config_file = "/etc/paddock/paddockd.yaml";
	in.anc_memory = 300 * MIB;
	rebalance_budget(&in, &b);
	assert_true(b.memory == GIB - 64 * MIB);
	assert_string_equal(b.memory_source,
			    "budget.memory in /etc/paddock/paddockd.yaml, explicit: wins over 300 "
			    "MiB of memory.max of /sys/fs/cgroup/x, minus reserve 64 MiB");
	assert_int_equal(b.mcpu, 500);
	assert_string_equal(b.cpu_source, "budget.cpu in /etc/paddock/paddockd.yaml");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flat_calm_no_oscillation),
		cmocka_unit_test(test_hysteresis_band_holds),
		cmocka_unit_test(test_escalation_order),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_host_psi_needs_short_memory),
		cmocka_unit_test(test_budget_usage_and_v1),
		cmocka_unit_test(test_protection),
		cmocka_unit_test(test_budget_never_exceeded),
		cmocka_unit_test(test_working_set_probe),
		cmocka_unit_test(test_drift),
		cmocka_unit_test(test_pinned_untouched),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_room),
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_random_trace_invariants),
		cmocka_unit_test(test_budget_sources),
		cmocka_unit_test(test_page_cache_not_committed),
		cmocka_unit_test(test_observe_quiet),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
