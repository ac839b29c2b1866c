/*
 * rebalance.h - the rebalancer's controller: a pure function of (spec
 * bounds, host budget, probe samples, previous state) -> knob writes and
 * events. No syscalls, no allocation, no clock: the caller passes the
 * time and owns every buffer, so recorded traces replay exactly in unit
 * tests (tests/unit/test-rebalance.c). rebalance-glue.c feeds it from the
 * monitor and applies what it decides through the cgroup layer.
 *
 * Knob semantics are cgroup v2's. Where the backend has no memory.high
 * (v1 and hybrid hosts) the controller squeezes with memory.max set to
 * usage plus headroom instead, and protects with memory.low (which the
 * v1 backend writes as memory.soft_limit_in_bytes).
 */
#ifndef PADDOCK_REBALANCE_H
#define PADDOCK_REBALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec.h"

#define RB_UNKNOWN UINT64_MAX /* a sample the probes could not read */
#define RB_MAX SPEC_SIZE_MAX /* "max": no limit */

enum rb_knob {
	RB_MEM_LOW = 0,
	RB_MEM_HIGH,
	RB_MEM_MAX,
	RB_CPU_WEIGHT,
	RB_CPU_MAX, /* millicores, RB_MAX = unlimited */
	RB_NKNOBS,
};

/* Tunables; rebalance_params_default() gives the documented defaults. */
struct rebalance_params {
	enum spec_rebalance_mode mode;
	enum spec_drift drift;
	uint64_t budget_memory; /* bytes for all services: budget minus reserve */
	uint32_t budget_mcpu; /* millicores for all services */
	bool has_memory_high; /* backend has memory.high (pure v2) */
	/* PSI thresholds, "some" avg10 in hundredths of a percent; on > off is the hysteresis */
	uint32_t host_on, host_off; /* host memory */
	/* Host PSI counts only while MemAvailable is below this: a service stalling at its own
	 * limit shows in the host's PSI too, and squeezing others does not help it. */
	uint64_t host_available_low;
	uint32_t crit_on, crit_off; /* a critical service's memory */
	uint32_t cpu_on, cpu_off; /* a critical service's cpu */
	uint32_t ws_target; /* working-set probe: memory some avg10 kept below this */
	uint64_t step_ms; /* at most one squeeze/give-back step per class per step_ms */
	uint64_t calm_ms; /* calm this long before giving back */
	uint64_t probe_ms; /* working-set probe cadence */
	uint32_t squeeze_pct; /* one squeeze step lowers the ceiling by this % of usage */
	uint32_t probe_pct; /* one probe step lowers memory.high by this % of usage */
	uint64_t min_step; /* bytes: smallest squeeze or grow step */
	uint64_t headroom; /* bytes above usage kept when memory.max is lowered */
	uint64_t ws_floor; /* probes never go below this */
	uint32_t cpu_levels; /* cap steps per class */
	uint32_t cpu_floor_mcpu; /* no cap below this */
	uint64_t grow_backoff_ms; /* first pause between two grows; doubles, up to 64x */
	uint64_t grow_reset_ms; /* no OOM for this long: back to the first pause */
	uint32_t grow_steps; /* a grow adds (ceiling - start) / grow_steps */
};

/* What the controller knows about one service this tick. */
struct rb_input {
	enum spec_class class;
	bool running; /* has a cgroup with processes */
	bool pinned; /* `paddockctl set`: the operator owns every knob */
	enum spec_on_oom on_oom;
	struct spec_memory spec; /* bounds: floor = max(min, low), ceiling = max (else high) */
	uint32_t spec_cpu_weight, spec_cpu_max_mcpu; /* 0 = unset */
	uint64_t usage; /* memory.current, RB_UNKNOWN */
	uint64_t active; /* usage - inactive_file: the passive working-set estimate, RB_UNKNOWN */
	uint32_t psi_mem, psi_cpu; /* own "some" avg10 in hundredths of %, UINT32_MAX unknown */
	uint64_t oom_kills; /* total so far */
	/*
	 * Values in force, read back from cgroupfs, else RB_UNKNOWN: for drift
	 * (enforce) and for each knob's first decision after a start (the
	 * caller reads those whose written[k] is RB_UNKNOWN).
	 */
	uint64_t observed[RB_NKNOBS];
};

/* Per-service controller state, kept by the caller between ticks (zero = new). */
struct rb_state {
	bool init;
	uint64_t want[RB_NKNOBS]; /* the values the controller owns */
	uint64_t written[RB_NKNOBS]; /* last value handed out to be written; RB_UNKNOWN */
	bool adopted[RB_NKNOBS]; /* drift adopted: the knob is someone else's now */
	uint64_t reported[RB_NKNOBS]; /* last target in an event; kept across restarts */
	const char *why[RB_NKNOBS]; /* reason for want[k], static text */
	uint64_t squeeze_ceiling; /* memory.high (or v1 max) imposed by the squeeze, RB_MAX */
	uint32_t cpu_level; /* 0 = no cap */
	uint64_t probe_high; /* working-set probe's memory.high, RB_MAX = not probing */
	uint64_t since_ms; /* first tick seen running */
	uint64_t last_probe_ms;
	uint64_t ws_estimate; /* bytes, 0 = none yet */
	uint64_t grown_max; /* memory.max after on_oom/pressure grows, 0 = not grown */
	uint64_t last_grow_ms, grow_backoff_ms, last_oom_ms;
	uint64_t oom_seen;
};

/* Controller state for the host. */
struct rb_global {
	bool squeezing; /* memory pressure seen and not calm yet */
	uint64_t batch_spent_since_ms; /* hot with nothing left to take from batch, since */
	uint64_t calm_since_ms, last_mem_step_ms, last_cpu_step_ms;
	bool cpu_capping;
	uint64_t cpu_calm_since_ms;
};

struct rb_host {
	uint64_t mem_total; /* bytes */
	uint64_t mem_available; /* bytes, RB_UNKNOWN */
	uint32_t psi_mem; /* host memory "some" avg10, hundredths of %, UINT32_MAX unknown */
};

enum rb_event_type {
	RB_EV_SET = 0, /* a knob change (or, in observe mode, one that would be made) */
	RB_EV_DRIFT, /* a managed knob found changed behind paddock's back */
	RB_EV_GROW, /* on_oom or pressure grow */
	RB_EV_GROW_REFUSED, /* at the ceiling, the budget, or backing off */
	RB_EV_SQUEEZE, /* the class escalation level moved */
};

/* One decision with the numbers that caused it. */
struct rb_event {
	enum rb_event_type type;
	int svc; /* index into the service arrays, -1 for the host */
	enum rb_knob knob;
	uint64_t from, to;
	const char *reason; /* static text */
	uint64_t usage;
	uint32_t psi, host_psi;
};

struct rb_output {
	struct rb_event *events;
	size_t nevents, cap; /* events past cap are counted in dropped */
	size_t dropped;
};

void rebalance_params_default(struct rebalance_params *p);

#define RB_SOURCE_MAX 4400 /* a cgroup path and some words */

/* What the budget is made from; limits RB_MAX (or above) when none. */
struct rb_budget_in {
	uint64_t config_memory; /* budget.memory, SPEC_UNSET when not configured */
	uint32_t config_mcpu; /* budget.cpu, 0 when not configured */
	const char *config_file; /* where budget: was read, NULL for defaults */
	uint64_t reserve; /* budget.reserve: kept for the host */
	uint64_t host_memory; /* MemTotal, 0 unknown */
	uint32_t host_mcpu; /* online CPUs x 1000 */
	uint64_t anc_memory, anc_mcpu; /* tightest of the daemon's cgroup ancestry */
	const char *anc_memory_source, *anc_cpu_source; /* "memory.max of /sys/..." */
};

/* The budget and, for `paddockd -n`, status and events, where each figure came from. */
struct rb_budget {
	uint64_t memory; /* bytes for all services (limit minus reserve), RB_MAX none */
	uint64_t memory_limit; /* the limit the reserve was taken from, RB_MAX none */
	uint64_t reserve; /* what was taken off */
	uint32_t mcpu;
	char memory_source[RB_SOURCE_MAX]; /* "memory.max of /x, minus reserve 64 MiB" */
	char cpu_source[RB_SOURCE_MAX];
};

/*
 * The tightest of host RAM and the ancestry's limits, minus the reserve;
 * CPUs the tightest of online CPUs and the ancestry's quota and cpuset.
 * An explicit budget.memory / budget.cpu wins (the source says so, and
 * names a tighter ancestor limit it overrides).
 */
void rebalance_budget(const struct rb_budget_in *in, struct rb_budget *out);

/*
 * One tick. in[i] and st[i] describe service i (n of them). Writes wanted
 * this tick come as RB_EV_SET events, one per knob whose target changed
 * (after a start: only where the value in force differs), which the
 * caller applies; rebalance_written() records a refused write. In observe
 * mode an event comes only when a target changes from the last one
 * reported, "from" is the value in force, and st[i].written follows want
 * as if written, so the log shows what enforce would do.
 */
void rebalance_tick(const struct rebalance_params *p, const struct rb_host *host,
		    const struct rb_input *in, struct rb_state *st, size_t n, struct rb_global *g,
		    uint64_t now_ms, struct rb_output *out);

/* The caller wrote (or refused to write) want[k]: record what the knob now holds. */
void rebalance_written(struct rb_state *st, enum rb_knob k, uint64_t value);

/*
 * An OOM kill (on_oom: grow) or a pressure action grow: raise memory.max
 * (and memory.high with it) by one step toward the ceiling and budget,
 * with back-off between grows. Returns true when it grew; the event says
 * why not otherwise.
 */
bool rebalance_grow(const struct rebalance_params *p, const struct rb_input *in,
		    struct rb_state *st, int svc, uint64_t now_ms, struct rb_output *out);

/* The memory.max a (re)starting service gets: spec, or what grows made it. */
uint64_t rebalance_start_max(const struct rb_input *in, const struct rb_state *st);

/*
 * Room for in[self] to start at its floor (max of min and low, at least
 * ws_floor) plus headroom, next to what the other running services hold at
 * theirs: a critical one its usage or working set plus headroom, any other
 * the lesser of its usage and its floor (the squeeze can take the rest).
 * Usage is the passive working set (active) when known: page cache is
 * reclaimable, as the budget counts it.
 * RB_ROOM_UNKNOWN while a running service has no sample yet. *need and
 * *left (may be NULL) say how much it needs and how much is left.
 */
enum rb_room { RB_ROOM_YES, RB_ROOM_NO, RB_ROOM_UNKNOWN };
enum rb_room rebalance_room(const struct rebalance_params *p, const struct rb_input *in,
			    const struct rb_state *st, size_t n, size_t self, uint64_t *need,
			    uint64_t *left);

/* The start of the grow range: memory.high when set below max, else max. */
uint64_t rebalance_grow_start(const struct spec_memory *m);

/* cpu.weight of a class whose spec sets none. */
uint32_t rebalance_class_weight(enum spec_class c);

const char *rebalance_knob_name(enum rb_knob k);
const char *rebalance_event_name(enum rb_event_type t);

#endif
