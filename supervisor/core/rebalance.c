/*
 * rebalance.c - the rebalancer's controller (see rebalance.h). Pure: no
 * syscalls, no allocation, no clock. O(services) per tick.
 *
 * Memory, per tick:
 *  - protection: critical services get memory.low at their working set
 *    plus an eighth, within [spec floor, spec ceiling] and, summed over
 *    critical services, within the budget. Raised at once, lowered only
 *    when the estimate falls below three quarters of it (hysteresis).
 *    memory.min stays the spec's: it is absolute, and a wrong estimate
 *    there makes the kernel OOM-kill others instead of reclaiming.
 *  - squeeze: while host memory pressure, a critical service's memory
 *    pressure or the services' working sets (see committed) pass their "on" threshold,
 *    every step_ms one step lowers the ceiling of each batch service, and
 *    only when every batch service sits at its floor, of each standard
 *    one. Critical services are never squeezed. Once everything is below
 *    the "off" thresholds for calm_ms, ceilings are given back one step
 *    per step_ms, standard first. Between "off" and "on" nothing moves.
 *  - working set (v2 only, senpai): a non-critical service that is not
 *    squeezed and whose own memory pressure stays below ws_target gets
 *    memory.high lowered by probe_pct of its usage every probe_ms; when
 *    its pressure reaches the target the probe backs off a quarter at
 *    once, and the usage at that moment is the estimate.
 *  - memory.max: the spec's (or what on_oom grows made it), never above
 *    the budget; for non-critical services also at most usage plus their
 *    share of what the budget has left (see budget_share); never lowered
 *    below usage plus headroom, and not moved by less than min_step. Without
 *    memory.high (v1, hybrid) the squeeze is a memory.max of usage plus
 *    headroom instead: growth stops, nothing is killed by the write.
 * CPU: cpu.weight by class unless the spec sets it; while a critical
 * service's cpu pressure is above cpu_on, batch services' cpu.max is
 * halved each step (then standard's), down to cpu_floor_mcpu; restored
 * one halving per step after calm_ms below cpu_off.
 */
#include <stdio.h>

#include "rebalance.h"

#define PAGE 4096ULL
#define CLASS_WEIGHT_CRITICAL 400
#define CLASS_WEIGHT_STANDARD 100
#define CLASS_WEIGHT_BATCH 25

void rebalance_params_default(struct rebalance_params *p)
{
	*p = (struct rebalance_params){
		.mode = REBALANCE_OBSERVE,
		.drift = DRIFT_REASSERT,
		.budget_memory = RB_MAX,
		.budget_mcpu = 0,
		.has_memory_high = true,
		.host_on = 1000, /* 10% */
		.host_off = 200,
		.host_available_low = RB_MAX,
		.crit_on = 500, /* 5% */
		.crit_off = 100,
		.cpu_on = 2000, /* 20% */
		.cpu_off = 500,
		.ws_target = 10, /* 0.1% */
		.step_ms = 2000,
		.calm_ms = 10000,
		.probe_ms = 6000,
		.squeeze_pct = 10,
		.probe_pct = 2,
		.min_step = 8ULL << 20,
		.headroom = 32ULL << 20,
		.ws_floor = 16ULL << 20,
		.cpu_levels = 4,
		.cpu_floor_mcpu = 100,
		.grow_backoff_ms = 1000,
		.grow_reset_ms = 300000,
		.grow_steps = 4,
	};
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void budget_memory(const struct rb_budget_in *in, struct rb_budget *out, char *from,
			  size_t len)
{
	uint64_t anc = in->anc_memory >= RB_MAX ? RB_MAX : in->anc_memory;
	uint64_t host = in->host_memory ? in->host_memory : RB_MAX;
	const char *file = in->config_file ? in->config_file : "the daemon config";

	if (in->config_memory != SPEC_UNSET) {
		out->memory_limit = in->config_memory;
		if (anc < in->config_memory)
			snprintf(from, len,
				 "budget.memory in %s, explicit: wins over %llu MiB of %s", file,
				 (unsigned long long)(anc >> 20), in->anc_memory_source);
		else
			snprintf(from, len, "budget.memory in %s", file);
	} else if (anc < host) {
		out->memory_limit = anc;
		snprintf(from, len, "%s", in->anc_memory_source ? in->anc_memory_source : "cgroup");
	} else {
		out->memory_limit = host;
		snprintf(from, len, host == RB_MAX ? "host RAM unknown" : "host RAM (MemTotal)");
	}
}

void rebalance_budget(const struct rb_budget_in *in, struct rb_budget *out)
{
	char from[RB_SOURCE_MAX - 128];
	uint64_t lim;

	*out = (struct rb_budget){ .memory = RB_MAX, .memory_limit = RB_MAX };
	budget_memory(in, out, from, sizeof(from));
	lim = out->memory_limit;
	if (lim == RB_MAX) {
		snprintf(out->memory_source, sizeof(out->memory_source), "%s", from);
	} else if (lim > in->reserve) {
		out->memory = lim - in->reserve;
		out->reserve = in->reserve;
		snprintf(out->memory_source, sizeof(out->memory_source),
			 "%s, minus reserve %llu MiB", from,
			 (unsigned long long)(in->reserve >> 20));
	} else {
		/* A reserve as large as the limit would leave nothing: plan for the limit. */
		out->memory = lim;
		snprintf(out->memory_source, sizeof(out->memory_source),
			 "%s; reserve %llu MiB not taken: it is not below the limit", from,
			 (unsigned long long)(in->reserve >> 20));
	}

	uint64_t anc = in->anc_mcpu >= RB_MAX ? RB_MAX : in->anc_mcpu;
	uint32_t host = in->host_mcpu ? in->host_mcpu : 1000;
	if (in->config_mcpu) {
		out->mcpu = in->config_mcpu;
		snprintf(out->cpu_source, sizeof(out->cpu_source), "budget.cpu in %s",
			 in->config_file ? in->config_file : "the daemon config");
	} else if (anc < host) {
		/* A quota below one millicore still runs something: count it as one. */
		out->mcpu = anc ? (uint32_t)anc : 1;
		snprintf(out->cpu_source, sizeof(out->cpu_source), "%s",
			 in->anc_cpu_source ? in->anc_cpu_source : "cgroup");
	} else {
		out->mcpu = host;
		snprintf(out->cpu_source, sizeof(out->cpu_source), "online CPUs");
	}
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static bool set(uint64_t v)
{
	return v != SPEC_UNSET && v != SPEC_SIZE_MAX;
}

static uint64_t page_down(uint64_t v)
{
	return v == RB_MAX ? v : v & ~(PAGE - 1);
}

/* Floor of the memory range: the larger of the spec's min and low. */
static uint64_t mem_floor(const struct rb_input *in)
{
	uint64_t f = 0;

	if (set(in->spec.min))
		f = in->spec.min;
	if (set(in->spec.low))
		f = max_u64(f, in->spec.low);
	return f;
}

/* Ceiling: the spec's max, else its high, else none; and never past the budget. */
static uint64_t mem_ceiling(const struct rebalance_params *p, const struct rb_input *in)
{
	uint64_t c = set(in->spec.max) ? in->spec.max : set(in->spec.high) ? in->spec.high : RB_MAX;
	return min_u64(c, p->budget_memory);
}

uint64_t rebalance_grow_start(const struct spec_memory *m)
{
	if (set(m->high) && set(m->max) && m->high < m->max)
		return m->high;
	return set(m->max) ? m->max : RB_MAX;
}

uint64_t rebalance_start_max(const struct rb_input *in, const struct rb_state *st)
{
	if (st && st->grown_max)
		return st->grown_max;
	if (in->on_oom == ON_OOM_GROW)
		return rebalance_grow_start(&in->spec);
	return set(in->spec.max) ? in->spec.max : RB_MAX;
}

static void emit(struct rb_output *out, const struct rb_event *ev)
{
	if (!out)
		return;
	if (out->nevents < out->cap)
		out->events[out->nevents++] = *ev;
	else
		out->dropped++;
}

static void emit_svc(struct rb_output *out, enum rb_event_type t, int svc, enum rb_knob k,
		     uint64_t from, uint64_t to, const char *reason, const struct rb_input *in,
		     const struct rb_host *h)
{
	struct rb_event ev = { .type = t,
			       .svc = svc,
			       .knob = k,
			       .from = from,
			       .to = to,
			       .reason = reason,
			       .usage = in ? in->usage : RB_UNKNOWN,
			       .psi = in ? in->psi_mem : UINT32_MAX,
			       .host_psi = h ? h->psi_mem : UINT32_MAX };
	emit(out, &ev);
}

/* The passive working-set estimate: active memory, else usage. */
static uint64_t passive_ws(const struct rb_input *in)
{
	if (in->active != RB_UNKNOWN)
		return in->active;
	return in->usage != RB_UNKNOWN ? in->usage : 0;
}

enum rb_room rebalance_room(const struct rebalance_params *p, const struct rb_input *in,
			    const struct rb_state *st, size_t n, size_t self, uint64_t *need,
			    uint64_t *left)
{
	uint64_t want = max_u64(mem_floor(&in[self]), p->ws_floor) + p->headroom, held = 0;

	for (size_t i = 0; i < n; i++) {
		if (i == self || !in[i].running)
			continue;
		if (in[i].usage == RB_UNKNOWN)
			return RB_ROOM_UNKNOWN;
		/* Page cache is not held: counted as committed() counts it. */
		uint64_t ws = passive_ws(&in[i]);
		if (in[i].class == CLASS_CRITICAL)
			held += max_u64(max_u64(ws, st[i].ws_estimate), mem_floor(&in[i])) +
				p->headroom;
		else
			held += min_u64(ws, max_u64(mem_floor(&in[i]), p->ws_floor));
	}
	if (need)
		*need = want;
	if (left)
		*left = held >= p->budget_memory ? 0 : p->budget_memory - held;
	return p->budget_memory == RB_MAX || held + want <= p->budget_memory ? RB_ROOM_YES
									     : RB_ROOM_NO;
}

static bool psi_at_least(uint32_t psi, uint32_t thr)
{
	return psi != UINT32_MAX && psi >= thr;
}

static bool psi_below(uint32_t psi, uint32_t thr)
{
	return psi == UINT32_MAX || psi < thr;
}

static bool managed(const struct rb_input *in)
{
	return in->running && !in->pinned;
}

/* Can one more squeeze step lower this service's ceiling? */
static bool squeezable(const struct rebalance_params *p, const struct rb_input *in,
		       const struct rb_state *st)
{
	uint64_t floor = max_u64(mem_floor(in), p->ws_floor);
	/* A service using little has nothing worth taking. */
	return managed(in) && in->usage != RB_UNKNOWN && in->usage > floor + p->min_step &&
	       st->squeeze_ceiling > floor + PAGE;
}

static void squeeze_one(const struct rebalance_params *p, const struct rb_input *in,
			struct rb_state *st)
{
	uint64_t floor = max_u64(mem_floor(in), p->ws_floor);
	uint64_t base = min_u64(st->squeeze_ceiling, in->usage);
	uint64_t step = max_u64(in->usage / 100 * p->squeeze_pct, p->min_step);
	uint64_t c = base > step ? base - step : 0;

	st->squeeze_ceiling = page_down(max_u64(c, floor));
}

static bool give_back_one(const struct rebalance_params *p, const struct rb_input *in,
			  struct rb_state *st)
{
	uint64_t c = st->squeeze_ceiling;

	if (c == RB_MAX)
		return false;
	c += max_u64(c / 4, p->min_step);
	st->squeeze_ceiling = c >= mem_ceiling(p, in) ? RB_MAX : page_down(c);
	return true;
}

/*
 * What the budget has committed: every critical service's reservation
 * (working set, at least its floor, plus headroom) and every other
 * service's working set. *parts counts the managed non-critical services,
 * standard ones twice: they get twice a batch service's share.
 *
 * Working set, not usage: usage (v2 memory.current, v1 usage_in_bytes)
 * counts page cache, and a database with 400M of mostly cached file
 * pages would otherwise squeeze everyone else. The estimate is usage
 * minus inactive file pages (see rb_input.active): those the kernel
 * reclaims first and cheaply, at any limit, the parent's included. It
 * keeps active file pages (reclaiming them costs refaults) and shmem
 * and tmpfs pages, which v1 counts as "cache" but which cannot be
 * reclaimed without swap; usage minus total_cache plus active_file would
 * drop those and under-count.
 */
static uint64_t committed(const struct rebalance_params *p, const struct rb_input *in,
			  const struct rb_state *st, size_t n, uint64_t *parts)
{
	uint64_t used = 0;

	*parts = 0;
	for (size_t i = 0; i < n; i++) {
		if (!in[i].running || in[i].usage == RB_UNKNOWN)
			continue;
		if (in[i].class == CLASS_CRITICAL) {
			uint64_t r = max_u64(passive_ws(&in[i]), st[i].ws_estimate);
			used += max_u64(r, mem_floor(&in[i])) + p->headroom;
		} else {
			used += passive_ws(&in[i]);
			if (managed(&in[i]))
				*parts += in[i].class == CLASS_STANDARD ? 2 : 1;
		}
	}
	return used;
}

/*
 * The budget share (per part, see committed): what the budget has not
 * committed, split among the non-critical services the controller
 * manages. A non-critical service's memory.max is its usage plus its
 * share, so the services' working sets together cannot grow past the
 * budget between two ticks: what the parent can hit beyond it is
 * inactive page cache, which the kernel reclaims there before it kills,
 * and an overcommitting batch service meets its own limit instead of the
 * critical service meeting the OOM killer.
 */
static uint64_t budget_share(const struct rebalance_params *p, const struct rb_input *in,
			     const struct rb_state *st, size_t n)
{
	uint64_t parts, used;

	if (p->budget_memory == RB_MAX)
		return RB_MAX;
	used = committed(p, in, st, n, &parts);
	if (!parts)
		return RB_MAX;
	return used >= p->budget_memory ? 0 : (p->budget_memory - used) / parts;
}

static void memory_escalation(const struct rebalance_params *p, const struct rb_host *h,
			      const struct rb_input *in, struct rb_state *st, size_t n,
			      struct rb_global *g, uint64_t now, struct rb_output *out)
{
	bool crit_hot = false, crit_warm = false;
	uint64_t parts, total = committed(p, in, st, n, &parts);

	for (size_t i = 0; i < n; i++) {
		if (!in[i].running)
			continue;
		if (in[i].class == CLASS_CRITICAL) {
			crit_hot |= psi_at_least(in[i].psi_mem, p->crit_on);
			crit_warm |= !psi_below(in[i].psi_mem, p->crit_off);
		}
	}
	/*
	 * "At" the budget: fifteen sixteenths committed, or less than headroom
	 * left per share (nobody can grow: the shares are spent).
	 */
	uint64_t left = p->budget_memory == RB_MAX  ? RB_MAX
			: total >= p->budget_memory ? 0
						    : p->budget_memory - total;
	bool over = p->budget_memory != RB_MAX &&
		    (total > p->budget_memory / 16 * 15 || (parts && left / parts < p->headroom));
	bool near = p->budget_memory != RB_MAX &&
		    (total > p->budget_memory / 8 * 7 || (parts && left / parts < 2 * p->headroom));
	bool host_short =
	    h->mem_available == RB_UNKNOWN || h->mem_available < p->host_available_low;
	bool hot = (psi_at_least(h->psi_mem, p->host_on) && host_short) || crit_hot || over;
	bool calm = psi_below(h->psi_mem, p->host_off) && !crit_warm && !near;
	bool step_ok = now - g->last_mem_step_ms >= p->step_ms || !g->last_mem_step_ms;

	if (hot) {
		g->squeezing = true;
		g->calm_since_ms = 0;
		if (!step_ok)
			return;
		/*
		 * Escalation order: batch, then standard; critical never. Standard
		 * only once batch has had nothing left to give for two steps: a batch
		 * service that is still starting up uses little, and that is not a
		 * reason to go after standard services.
		 */
		for (int cls = 0; cls < 2; cls++) {
			enum spec_class want = cls == 0 ? CLASS_BATCH : CLASS_STANDARD;
			bool any = false;
			if (cls == 1) {
				if (!g->batch_spent_since_ms)
					g->batch_spent_since_ms = now;
				if (now - g->batch_spent_since_ms < 2 * p->step_ms)
					return;
			}
			for (size_t i = 0; i < n; i++) {
				if (in[i].class != want || !squeezable(p, &in[i], &st[i]))
					continue;
				uint64_t from = st[i].squeeze_ceiling;
				squeeze_one(p, &in[i], &st[i]);
				emit_svc(out, RB_EV_SQUEEZE, (int)i,
					 p->has_memory_high ? RB_MEM_HIGH : RB_MEM_MAX, from,
					 st[i].squeeze_ceiling,
					 over	    ? "services at the memory budget"
					 : crit_hot ? "memory pressure of a critical service"
						    : "host memory pressure",
					 &in[i], h);
				any = true;
			}
			if (any) {
				g->last_mem_step_ms = now;
				if (cls == 0)
					g->batch_spent_since_ms = 0;
				return;
			}
		}
		return;
	}
	g->batch_spent_since_ms = 0;
	if (!calm) {
		g->calm_since_ms = 0; /* the hysteresis band: hold */
		return;
	}
	if (!g->calm_since_ms)
		g->calm_since_ms = now;
	if (!g->squeezing || now - g->calm_since_ms < p->calm_ms || !step_ok)
		return;
	/* Give back in reverse order: standard first, then batch. */
	for (int cls = 0; cls < 2; cls++) {
		enum spec_class want = cls == 0 ? CLASS_STANDARD : CLASS_BATCH;
		bool any = false;
		for (size_t i = 0; i < n; i++) {
			if (in[i].class != want || !in[i].running)
				continue;
			uint64_t from = st[i].squeeze_ceiling;
			if (give_back_one(p, &in[i], &st[i])) {
				emit_svc(out, RB_EV_SQUEEZE, (int)i,
					 p->has_memory_high ? RB_MEM_HIGH : RB_MEM_MAX, from,
					 st[i].squeeze_ceiling, "calm: giving memory back", &in[i],
					 h);
				any = true;
			}
		}
		if (any) {
			g->last_mem_step_ms = now;
			return;
		}
	}
	g->squeezing = false;
}

static void cpu_escalation(const struct rebalance_params *p, const struct rb_input *in,
			   struct rb_state *st, size_t n, struct rb_global *g, uint64_t now)
{
	bool hot = false, warm = false;

	for (size_t i = 0; i < n; i++) {
		if (!in[i].running || in[i].class != CLASS_CRITICAL)
			continue;
		hot |= psi_at_least(in[i].psi_cpu, p->cpu_on);
		warm |= !psi_below(in[i].psi_cpu, p->cpu_off);
	}
	bool step_ok = now - g->last_cpu_step_ms >= p->step_ms || !g->last_cpu_step_ms;
	if (hot) {
		g->cpu_capping = true;
		g->cpu_calm_since_ms = 0;
		if (!step_ok)
			return;
		for (int cls = 0; cls < 2; cls++) {
			enum spec_class want = cls == 0 ? CLASS_BATCH : CLASS_STANDARD;
			bool any = false;
			for (size_t i = 0; i < n; i++)
				if (in[i].class == want && managed(&in[i]) &&
				    st[i].cpu_level < p->cpu_levels) {
					st[i].cpu_level++;
					any = true;
				}
			if (any) {
				g->last_cpu_step_ms = now;
				return;
			}
		}
		return;
	}
	if (warm) {
		g->cpu_calm_since_ms = 0;
		return;
	}
	if (!g->cpu_calm_since_ms)
		g->cpu_calm_since_ms = now;
	if (!g->cpu_capping || now - g->cpu_calm_since_ms < p->calm_ms || !step_ok)
		return;
	for (int cls = 0; cls < 2; cls++) {
		enum spec_class want = cls == 0 ? CLASS_STANDARD : CLASS_BATCH;
		bool any = false;
		for (size_t i = 0; i < n; i++)
			if (in[i].class == want && st[i].cpu_level > 0) {
				st[i].cpu_level--;
				any = true;
			}
		if (any) {
			g->last_cpu_step_ms = now;
			return;
		}
	}
	g->cpu_capping = false;
}

/* senpai: lower memory.high while the service does not stall; back off fast when it does. */
static void ws_probe(const struct rebalance_params *p, const struct rb_host *h,
		     const struct rb_input *in, struct rb_state *st, uint64_t now)
{
	uint64_t passive = passive_ws(in);

	if (!st->since_ms)
		st->since_ms = now;
	/*
	 * Not probed: critical services, squeezed ones, a start-up (not a steady
	 * state: five probe periods), and on_oom: grow, whose envelope the OOM
	 * kills are finding (a probe's memory.high would throttle them instead).
	 */
	if (!p->has_memory_high || in->class == CLASS_CRITICAL || st->squeeze_ceiling != RB_MAX ||
	    in->usage == RB_UNKNOWN || in->psi_mem == UINT32_MAX || in->on_oom == ON_OOM_GROW ||
	    now - st->since_ms < 5 * p->probe_ms || psi_at_least(h->psi_mem, p->host_on)) {
		if (st->probe_high == RB_MAX && passive)
			st->ws_estimate = passive;
		return;
	}
	if (st->last_probe_ms && now - st->last_probe_ms < p->probe_ms &&
	    psi_below(in->psi_mem, p->ws_target))
		return;
	st->last_probe_ms = now;
	if (psi_below(in->psi_mem, p->ws_target)) {
		uint64_t floor = max_u64(mem_floor(in), p->ws_floor);
		uint64_t base = min_u64(st->probe_high, in->usage);
		uint64_t step = in->usage / 100 * p->probe_pct;
		uint64_t hi = base > step ? base - step : 0;
		st->probe_high = page_down(max_u64(hi, floor));
		if (st->ws_estimate == 0 && passive)
			st->ws_estimate = passive;
		return;
	}
	/* Stalling: this is about the working set. Back off at once. */
	st->ws_estimate = in->usage;
	if (st->probe_high != RB_MAX) {
		uint64_t hi = st->probe_high + max_u64(st->probe_high / 4, p->min_step);
		st->probe_high = hi >= mem_ceiling(p, in) ? RB_MAX : page_down(hi);
	}
}

/* Protection of every critical service, within the budget taken in index order. */
static void protect(const struct rebalance_params *p, const struct rb_input *in,
		    struct rb_state *st, size_t n)
{
	uint64_t left = p->budget_memory;

	for (size_t i = 0; i < n; i++) {
		if (!managed(&in[i]))
			continue;
		uint64_t floor = mem_floor(&in[i]);
		uint64_t spec_low = set(in[i].spec.low)		      ? in[i].spec.low
				    : in[i].spec.low == SPEC_SIZE_MAX ? RB_MAX
								      : 0;
		if (in[i].class != CLASS_CRITICAL) {
			/* v1: soft limit 0 makes batch the first to be reclaimed. */
			st[i].want[RB_MEM_LOW] = spec_low;
			if (!p->has_memory_high && in[i].class == CLASS_STANDARD &&
			    in[i].spec.low == SPEC_UNSET)
				st[i].want[RB_MEM_LOW] = RB_MAX;
			continue;
		}
		if (!p->has_memory_high) {
			/* v1 soft limit: above it a group is reclaimed first; unlimited protects. */
			st[i].want[RB_MEM_LOW] = RB_MAX;
			continue;
		}
		uint64_t ws = st[i].ws_estimate ? st[i].ws_estimate : passive_ws(&in[i]);
		uint64_t target = ws + ws / 8;
		uint64_t ceil = mem_ceiling(p, &in[i]);
		uint64_t cur = st[i].want[RB_MEM_LOW];
		target = max_u64(min_u64(target, ceil), floor);
		if (left != RB_MAX)
			target = max_u64(min_u64(target, left), floor);
		target = page_down(target);
		if (cur == RB_UNKNOWN || target > cur || target < cur / 4 * 3)
			cur = target;
		cur = max_u64(cur, floor);
		st[i].want[RB_MEM_LOW] = cur;
		if (left != RB_MAX)
			left = left > cur ? left - cur : 0;
	}
}

uint32_t rebalance_class_weight(enum spec_class c)
{
	return c == CLASS_CRITICAL ? CLASS_WEIGHT_CRITICAL
	       : c == CLASS_BATCH  ? CLASS_WEIGHT_BATCH
				   : CLASS_WEIGHT_STANDARD;
}

static void targets(const struct rebalance_params *p, const struct rb_input *in,
		    struct rb_state *st, uint64_t share)
{
	uint64_t floor = mem_floor(in);
	uint64_t spec_high = set(in->spec.high) ? in->spec.high : RB_MAX;
	uint64_t max = rebalance_start_max(in, st);
	uint64_t high;

	/* A grown envelope lifts memory.high with memory.max. */
	if (st->grown_max && spec_high != RB_MAX && spec_high < st->grown_max)
		spec_high = st->grown_max;
	high = min_u64(spec_high, min_u64(st->squeeze_ceiling, st->probe_high));
	if (high != RB_MAX)
		high = max_u64(high, floor);
	uint64_t base = max;

	max = min_u64(max, p->budget_memory);
	if (in->class != CLASS_CRITICAL && share != RB_MAX && in->usage != RB_UNKNOWN)
		max = min_u64(max, in->usage + share * (in->class == CLASS_STANDARD ? 2 : 1));
	if (p->has_memory_high) {
		st->want[RB_MEM_HIGH] = high == RB_MAX ? RB_MAX : page_down(high);
	} else {
		/* v1: no memory.high; squeeze with memory.max at usage plus headroom. */
		st->want[RB_MEM_HIGH] = set(in->spec.high) ? in->spec.high : RB_MAX;
		if (st->squeeze_ceiling != RB_MAX)
			max = min_u64(max, max_u64(st->squeeze_ceiling, floor));
	}
	/*
	 * Never lower memory.max below what the group uses plus headroom: that
	 * write would be the OOM kill. What the spec itself sets is the spec's.
	 */
	uint64_t prev = st->written[RB_MEM_MAX];
	if (in->usage != RB_UNKNOWN) {
		/* ... but a service at a limit we set is not given more for it. */
		uint64_t safe = min_u64(base, in->usage + p->headroom);
		if (prev != RB_UNKNOWN && prev != RB_MAX)
			safe = min_u64(safe, max_u64(prev, in->usage));
		max = max_u64(max, safe);
	}
	/* Hysteresis: moves smaller than a step are not worth a write. */
	if (prev != RB_UNKNOWN && prev != RB_MAX && max != RB_MAX && max != base &&
	    (in->usage == RB_UNKNOWN || prev >= in->usage) &&
	    (max > prev ? max - prev : prev - max) < p->min_step)
		max = prev;
	st->want[RB_MEM_MAX] = page_down(max);

	st->want[RB_CPU_WEIGHT] =
	    in->spec_cpu_weight ? in->spec_cpu_weight : rebalance_class_weight(in->class);
	uint64_t cpu = in->spec_cpu_max_mcpu ? in->spec_cpu_max_mcpu : RB_MAX;
	if (st->cpu_level && p->budget_mcpu) {
		uint64_t cap = p->budget_mcpu >> st->cpu_level;
		cpu = min_u64(cpu, max_u64(cap, p->cpu_floor_mcpu));
	}
	st->want[RB_CPU_MAX] = cpu;
}

static bool near_eq(enum rb_knob k, uint64_t a, uint64_t b)
{
	if (a == b)
		return true;
	if (a == RB_MAX || b == RB_MAX)
		return false;
	uint64_t d = a > b ? a - b : b - a;
	return k == RB_CPU_MAX || k == RB_CPU_WEIGHT ? d <= 1 : d < PAGE;
}

static void drift(const struct rebalance_params *p, const struct rb_host *h,
		  const struct rb_input *in, struct rb_state *st, int idx, struct rb_output *out)
{
	for (int k = 0; k < RB_NKNOBS; k++) {
		uint64_t w = st->written[k], o = in->observed[k];
		if (st->adopted[k] || w == RB_UNKNOWN || o == RB_UNKNOWN ||
		    near_eq((enum rb_knob)k, w, o))
			continue;
		bool adopt = p->drift == DRIFT_ADOPT;
		emit_svc(out, RB_EV_DRIFT, idx, (enum rb_knob)k, w, o,
			 adopt ? "changed behind paddock's back: adopted"
			       : "changed behind paddock's back: re-asserted",
			 in, h);
		st->written[k] = o;
		st->adopted[k] = adopt;
	}
}

/* Why knob k has the target it has (static text, for events and status). */
static const char *knob_reason(const struct rebalance_params *p, const struct rb_input *in,
			       const struct rb_state *st, enum rb_knob k, uint64_t share)
{
	switch (k) {
	case RB_MEM_LOW:
		if (in->class == CLASS_CRITICAL)
			return p->has_memory_high ? "protect the working set"
						  : "critical: v1 soft limit unlimited";
		return set(in->spec.low) || in->spec.low == SPEC_SIZE_MAX ? "spec"
									  : "class default";
	case RB_MEM_HIGH:
		if (!p->has_memory_high)
			return "no memory.high on this host";
		return st->squeeze_ceiling != RB_MAX ? "squeeze"
		       : st->probe_high != RB_MAX    ? "working-set probe"
						     : "spec";
	case RB_MEM_MAX:
		if (st->squeeze_ceiling != RB_MAX && !p->has_memory_high)
			return "squeeze (v1: usage plus headroom)";
		if (st->grown_max)
			return "grown after OOM";
		if (in->class != CLASS_CRITICAL && share != RB_MAX &&
		    st->want[k] < min_u64(rebalance_start_max(in, st), p->budget_memory))
			return "budget share: usage plus what the budget has left";
		return "spec within budget";
	case RB_CPU_WEIGHT:
		return in->spec_cpu_weight ? "spec" : "class weight";
	case RB_CPU_MAX:
		return st->cpu_level ? "cpu pressure of a critical service" : "spec";
	default:
		return "?";
	}
}

/*
 * Whether a target is news: an event (and, in enforce mode, a write) only
 * when it changes. The first decision after a start is measured against
 * the value in force (in->observed), so a target the cgroup already holds
 * makes no event and none says "from": null. In observe mode nothing is
 * written, so "changes" means from the last target reported (kept across
 * restarts), and *from is the value in force.
 */
static bool knob_event(const struct rebalance_params *p, const struct rb_input *in,
		       struct rb_state *st, enum rb_knob k, uint64_t *from)
{
	uint64_t want = st->want[k], o = in->observed[k];

	if (st->adopted[k])
		return false;
	if (k == RB_MEM_HIGH && !p->has_memory_high) {
		st->written[k] = want; /* no such knob: nothing to write or report */
		return false;
	}
	if (p->mode == REBALANCE_OBSERVE) {
		bool first = st->reported[k] == RB_UNKNOWN;
		if (want == st->reported[k] || (first && o != RB_UNKNOWN && near_eq(k, o, want))) {
			st->written[k] = st->reported[k] = want;
			return false;
		}
		*from = o != RB_UNKNOWN ? o : st->written[k];
		return true;
	}
	if (want == st->written[k])
		return false;
	if (st->written[k] == RB_UNKNOWN && o != RB_UNKNOWN && near_eq(k, o, want)) {
		st->written[k] = want;
		return false;
	}
	*from = st->written[k] != RB_UNKNOWN ? st->written[k] : o;
	return true;
}

/* What was learned (grows, the estimate) outlives a restart, and a state file restored it. */
static void init_state(struct rb_state *st)
{
	bool keep = st->init;
	uint64_t grown = st->grown_max, lg = st->last_grow_ms, gb = st->grow_backoff_ms;
	uint64_t ws = st->ws_estimate;
	uint64_t reported[RB_NKNOBS];

	for (int k = 0; k < RB_NKNOBS; k++)
		reported[k] = keep ? st->reported[k] : RB_UNKNOWN;
	*st = (struct rb_state){ 0 };
	for (int k = 0; k < RB_NKNOBS; k++) {
		st->want[k] = st->written[k] = RB_UNKNOWN;
		st->reported[k] = reported[k];
	}
	st->squeeze_ceiling = RB_MAX;
	st->probe_high = RB_MAX;
	st->init = true;
	st->grown_max = grown;
	st->last_grow_ms = lg;
	st->grow_backoff_ms = gb;
	st->ws_estimate = ws;
}

void rebalance_tick(const struct rebalance_params *p, const struct rb_host *h,
		    const struct rb_input *in, struct rb_state *st, size_t n, struct rb_global *g,
		    uint64_t now, struct rb_output *out)
{
	if (p->mode == REBALANCE_OFF)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!st[i].init)
			init_state(&st[i]);
		if (!in[i].running) {
			/* Stopped: the next start begins from the spec (grows are kept). */
			if (st[i].written[RB_MEM_MAX] != RB_UNKNOWN || st[i].cpu_level)
				init_state(&st[i]);
		}
	}
	if (p->mode == REBALANCE_ENFORCE)
		for (size_t i = 0; i < n; i++)
			if (managed(&in[i]))
				drift(p, h, &in[i], &st[i], (int)i, out);
	memory_escalation(p, h, in, st, n, g, now, out);
	cpu_escalation(p, in, st, n, g, now);
	for (size_t i = 0; i < n; i++)
		if (managed(&in[i]))
			ws_probe(p, h, &in[i], &st[i], now);
	protect(p, in, st, n);
	uint64_t share = budget_share(p, in, st, n);
	for (size_t i = 0; i < n; i++) {
		if (!managed(&in[i]))
			continue;
		targets(p, &in[i], &st[i], share);
		for (int k = 0; k < RB_NKNOBS; k++) {
			uint64_t from;
			st[i].why[k] = knob_reason(p, &in[i], &st[i], (enum rb_knob)k, share);
			if (!knob_event(p, &in[i], &st[i], (enum rb_knob)k, &from))
				continue;
			emit_svc(out, RB_EV_SET, (int)i, (enum rb_knob)k, from, st[i].want[k],
				 st[i].why[k], &in[i], h);
			st[i].written[k] = st[i].want[k];
			st[i].reported[k] = st[i].want[k];
		}
	}
}

void rebalance_written(struct rb_state *st, enum rb_knob k, uint64_t value)
{
	st->written[k] = value;
}

bool rebalance_grow(const struct rebalance_params *p, const struct rb_input *in,
		    struct rb_state *st, int svc, uint64_t now, struct rb_output *out)
{
	uint64_t start = rebalance_grow_start(&in->spec);
	uint64_t cur, ceil, step, to;

	if (!st->init)
		init_state(st);
	cur = rebalance_start_max(in, st);
	ceil = min_u64(set(in->spec.max) ? in->spec.max : RB_MAX, p->budget_memory);
	if (cur == RB_MAX || ceil == RB_MAX) {
		emit_svc(out, RB_EV_GROW_REFUSED, svc, RB_MEM_MAX, cur, cur,
			 "no memory.max to grow", in, NULL);
		return false;
	}
	if (cur >= ceil) {
		emit_svc(out, RB_EV_GROW_REFUSED, svc, RB_MEM_MAX, cur, cur,
			 ceil < in->spec.max ? "at the memory budget" : "at the spec ceiling", in,
			 NULL);
		return false;
	}
	if (st->last_grow_ms && now - st->last_grow_ms >= p->grow_reset_ms)
		st->grow_backoff_ms = 0;
	if (st->last_grow_ms && now - st->last_grow_ms < st->grow_backoff_ms) {
		emit_svc(out, RB_EV_GROW_REFUSED, svc, RB_MEM_MAX, cur, cur,
			 "backing off: grew too recently", in, NULL);
		return false;
	}
	step = ceil > start ? (ceil - start) / (p->grow_steps ? p->grow_steps : 1) : 0;
	step = max_u64(step, p->min_step);
	to = min_u64(page_down(cur + step), ceil);
	if (ceil - to < PAGE)
		to = ceil;
	st->grown_max = to;
	st->last_grow_ms = now;
	st->grow_backoff_ms = st->grow_backoff_ms ? st->grow_backoff_ms * 2 : p->grow_backoff_ms;
	if (st->grow_backoff_ms > p->grow_backoff_ms * 64)
		st->grow_backoff_ms = p->grow_backoff_ms * 64;
	emit_svc(out, RB_EV_GROW, svc, RB_MEM_MAX, cur, to,
		 to == ceil ? "grown to the ceiling" : "grown one step", in, NULL);
	return true;
}

const char *rebalance_knob_name(enum rb_knob k)
{
	static const char *const names[RB_NKNOBS] = { "memory.low", "memory.high", "memory.max",
						      "cpu.weight", "cpu.max" };
	return (unsigned)k < RB_NKNOBS ? names[k] : "?";
}

const char *rebalance_event_name(enum rb_event_type t)
{
	switch (t) {
	case RB_EV_SET:
		return "rebalance";
	case RB_EV_DRIFT:
		return "drift";
	case RB_EV_GROW:
	case RB_EV_GROW_REFUSED:
		return "grow";
	case RB_EV_SQUEEZE:
		return "squeeze";
	}
	return "?";
}
