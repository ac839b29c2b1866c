/*
 * rebalance-glue.c - runs the rebalancer's controller (rebalance.c) on the
 * daemon's services every probe tick and applies its decisions.
 *
 * Per tick: inputs from monitor_sample() (memory.current, memory.stat,
 * PSI averages) and the host's memory PSI; knobs read back for drift
 * every DRIFT_EVERY ticks; one rebalance_tick(); then, in enforce mode,
 * every knob that changed is written with one cgroup_apply() of the
 * service's limits with the managed knobs replaced (so the cgroup layer's
 * v1 translation and its memsw ordering apply), after reclaim when
 * memory.max goes down. Observe mode runs the same controller and records
 * the same events with "applied": false, and writes nothing.
 *
 * Pins: a service changed by `paddockctl set` is left alone until
 * `--reset`. on_oom: grow and the pressure action grow are the spec's own
 * policies and run in every mode (they are not the controller's guesses).
 *
 * State per service is kept by name, so a reload keeps grows and
 * estimates; the state file keeps them across kill -9 and daemon-reexec
 * (rebalancer_record/_restore; a change asks for a write).
 *
 * Budget: the tightest of the config, host RAM/CPUs and the limits of
 * the daemon's cgroup ancestry (cgroup-ancestry.h), re-read every
 * BUDGET_EVERY_MS; a change is a budget event.
 *
 * Batch work that does not fit at its floor is parked (rebalancer_room).
 *
 * O(services) per tick; lookups by name are O(services) and only happen
 * for services whose slot moved (reload) and for OOM events.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-ancestry.h"
#include "events.h"
#include "log.h"
#include "manager.h"
#include "monitor.h"
#include "rebalance-glue.h"
#include "rebalance.h"
#include "service.h"
#include "state.h"
#include "util.h"

#define DRIFT_EVERY 2 /* ticks between read-backs of managed knobs */
#define BUDGET_EVERY_MS 5000 /* re-read of the ancestry's limits: a few small files */

struct rb_entry {
	char name[SPEC_NAME_MAX + 1];
	const struct service *svc;
	pid_t pid; /* main pid the state belongs to: a restart starts from the spec */
	struct rb_state st;
	uint64_t ws_saved; /* ws_estimate when the state file last had to keep it */
	bool warned; /* a failed write was logged; quiet until one succeeds */
};

/*
 * Whether a new working-set estimate is worth a state file write: it moves
 * a little on most ticks, and an fsync each second for that would be the
 * daemon's largest steady cost. A sixteenth (or 1 MiB) of drift is kept.
 */
static bool ws_moved(uint64_t saved, uint64_t now)
{
	uint64_t d = saved > now ? saved - now : now - saved;

	return (saved == 0) != (now == 0) || (d > saved / 16 && d > 1024 * 1024);
}

struct rebalancer {
	struct manager *d;
	struct monitor *mon; /* the host's sample */
	struct rebalance_params p;
	struct rb_budget budget; /* what p's budget figures came from */
	uint64_t budget_read_ms;
	struct rb_global g;
	struct rb_entry *e;
	size_t n, cap;
	size_t last; /* the entry entry_of found last: callers walk the services in order */
	struct rb_input *in; /* scratch, one per service */
	struct rb_state *st;
	size_t scratch;
	unsigned tick;
	bool warned_apply;
};

const char *rebalancer_mode_name(enum spec_rebalance_mode m)
{
	return m == REBALANCE_ENFORCE ? "enforce" : m == REBALANCE_OBSERVE ? "observe" : "off";
}

const char *rebalancer_degrade_note(enum cgroup_mode mode)
{
	if (mode == CGROUP_MODE_V2)
		return NULL;
	return "rebalance: v1 memory controller: no memory.high or memory.min; the squeeze "
	       "lowers memory.max (limit_in_bytes) to usage plus 32M headroom instead of "
	       "throttling, protection is memory.soft_limit_in_bytes (unlimited for critical, "
	       "0 for batch), no working-set probe (estimate = usage minus inactive file)";
}

static struct json_object *jval(uint64_t v);
static void jadd(struct json_object *o, const char *k, struct json_object *v);

/* The budget from the config, the daemon's cgroup ancestry and the host. */
static void budget_read(struct manager *d, struct rb_budget *b)
{
	const struct daemon_config *c = d->cfg;
	struct cgroup_ancestry a;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	(void)cgroup_host_ancestry(d->cgroups, &a);
	struct rb_budget_in in = {
		.config_memory = c->budget.memory,
		.config_mcpu = c->budget.cpu_mcpu,
		.config_file = c->file,
		.reserve = c->budget.reserve,
		.host_memory = d->host.mem_total,
		.host_mcpu = (uint32_t)(n > 0 ? n : 1) * 1000,
		.anc_memory = a.memory.value,
		.anc_mcpu = a.cpu.value,
		.anc_memory_source = a.memory.source,
		.anc_cpu_source = a.cpu.source,
	};
	rebalance_budget(&in, b);
}

static const char *fmt_mib(uint64_t v, char *buf, size_t len)
{
	if (v == RB_MAX)
		return "none";
	snprintf(buf, len, "%llu MiB", (unsigned long long)(v >> 20));
	return buf;
}

void rebalancer_print_budget(struct manager *d, FILE *f)
{
	struct rb_budget b;
	char m[32];

	budget_read(d, &b);
	fprintf(f, "memory budget %s (%s)\n", fmt_mib(b.memory, m, sizeof(m)), b.memory_source);
	fprintf(f, "cpu budget %.2f CPUs (%s)\n", b.mcpu / 1000.0, b.cpu_source);
}

void rebalancer_budget(struct manager *d, uint64_t *memory, uint32_t *mcpu)
{
	struct rb_budget b;

	budget_read(d, &b);
	*memory = b.memory == RB_MAX ? 0 : b.memory;
	*mcpu = b.mcpu;
}

static void params_from_config(struct manager *d, const struct rb_budget *b,
			       struct rebalance_params *p)
{
	const struct daemon_config *c = d->cfg;

	rebalance_params_default(p);
	p->mode = c->rebalance.mode;
	p->drift = c->rebalance.drift;
	p->ws_target = c->rebalance.ws_target_permille * 10;
	p->budget_memory = b->memory;
	p->budget_mcpu = b->mcpu;
	p->has_memory_high = cgroup_host_mode(d->cgroups) == CGROUP_MODE_V2;
	/* Host memory is short when less than the reserve, or a tenth of RAM, is available. */
	p->host_available_low = c->budget.reserve;
	if (d->host.mem_total && d->host.mem_total / 10 > p->host_available_low)
		p->host_available_low = d->host.mem_total / 10;
}

/*
 * A parent's limit can change under a running daemon (systemctl
 * set-property, a container resized): re-read every BUDGET_EVERY_MS and
 * plan with the new figures from the next tick on. A change is an event.
 */
static void budget_refresh(struct rebalancer *rb, uint64_t now)
{
	struct rb_budget b;
	char a[32], c[32];

	if (rb->budget_read_ms && now - rb->budget_read_ms < BUDGET_EVERY_MS)
		return;
	rb->budget_read_ms = now;
	budget_read(rb->d, &b);
	if (b.memory == rb->budget.memory && b.mcpu == rb->budget.mcpu)
		return;
	log_info("rebalance: budget changed: memory %s -> %s (%s), cpu %.2f -> %.2f CPUs (%s)",
		 fmt_mib(rb->budget.memory, a, sizeof(a)), fmt_mib(b.memory, c, sizeof(c)),
		 b.memory_source, rb->budget.mcpu / 1000.0, b.mcpu / 1000.0, b.cpu_source);
	struct json_object *d = json_object_new_object();
	jadd(d, "memory_from", jval(rb->budget.memory));
	jadd(d, "memory_to", jval(b.memory));
	jadd(d, "memory_source", json_object_new_string(b.memory_source));
	jadd(d, "cpu_from", json_object_new_double(rb->budget.mcpu / 1000.0));
	jadd(d, "cpu_to", json_object_new_double(b.mcpu / 1000.0));
	jadd(d, "cpu_source", json_object_new_string(b.cpu_source));
	eventlog_emit(rb->d->events, NULL, "budget", d);
	rb->budget = b;
	rb->p.budget_memory = b.memory;
	rb->p.budget_mcpu = b.mcpu;
}

struct rebalancer *rebalancer_new(struct manager *d, struct monitor *mon)
{
	struct rebalancer *rb = xcalloc(1, sizeof(*rb));

	rb->d = d;
	rb->mon = mon;
	budget_read(d, &rb->budget);
	rb->budget_read_ms = now_ms();
	params_from_config(d, &rb->budget, &rb->p);
	if (rb->p.mode != REBALANCE_OFF) {
		char b[32];
		log_info("rebalance: mode %s, memory budget %s (%s), cpu budget %.2f CPUs (%s)",
			 rebalancer_mode_name(rb->p.mode),
			 fmt_mib(rb->p.budget_memory, b, sizeof(b)), rb->budget.memory_source,
			 rb->p.budget_mcpu / 1000.0, rb->budget.cpu_source);
		const char *note = rebalancer_degrade_note(cgroup_host_mode(d->cgroups));
		if (note)
			log_info("%s", note);
	}
	return rb;
}

struct rebalancer *rebalancer_free(struct rebalancer *rb)
{
	if (!rb)
		return NULL;
	free(rb->e);
	free(rb->in);
	free(rb->st);
	free(rb);
	return NULL;
}

/* realloc that dies like xcalloc: the daemon cannot run on without its tables. */
static void *grow_array(void *p, size_t n, size_t size)
{
	void *q = reallocarray(p, n, size);

	if (!q)
		fatalx("out of memory");
	return q;
}

static struct rb_entry *entry_of(struct rebalancer *rb, const struct service *svc, bool create)
{
	const char *name = service_name(svc);

	if (!rb)
		return NULL;
	/*
	 * The tick and the state file walk every service in order: trying the
	 * entry after the last one first makes those walks O(n), not O(n^2)
	 * (1000 services: a million compares per tick).
	 */
	for (size_t k = rb->last; rb->n && k < rb->last + 2; k++) {
		struct rb_entry *e = &rb->e[k % rb->n];
		if (e->svc == svc && strcmp(e->name, name) == 0) {
			rb->last = k % rb->n;
			return e;
		}
	}
	for (size_t i = 0; i < rb->n; i++)
		if (rb->e[i].svc == svc || strcmp(rb->e[i].name, name) == 0) {
			rb->e[i].svc = svc;
			rb->last = i;
			return &rb->e[i];
		}
	if (!create)
		return NULL;
	if (rb->n == rb->cap) {
		rb->cap = rb->cap ? rb->cap * 2 : 16;
		rb->e = grow_array(rb->e, rb->cap, sizeof(*rb->e));
	}
	rb->last = rb->n;
	struct rb_entry *e = &rb->e[rb->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->svc = svc;
	return e;
}

/* "max", or a number of bytes/millicores. */
static struct json_object *jval(uint64_t v)
{
	if (v == RB_MAX)
		return json_object_new_string("max");
	if (v == RB_UNKNOWN)
		return NULL;
	return json_object_new_int64((int64_t)v);
}

static const char *fmt_val(enum rb_knob k, uint64_t v, char *buf, size_t len)
{
	if (v == RB_MAX)
		return "max";
	if (v == RB_UNKNOWN)
		return "?";
	if (k == RB_CPU_MAX || k == RB_CPU_WEIGHT)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%.1fM", v / 1048576.0);
	return buf;
}

static void jadd(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

static uint64_t parse_knob(enum rb_knob k, const char *buf)
{
	if (k == RB_CPU_MAX) {
		unsigned long long q, per;
		if (strncmp(buf, "max", 3) == 0)
			return RB_MAX;
		if (sscanf(buf, "%llu %llu", &q, &per) != 2 || per == 0)
			return RB_UNKNOWN;
		return (q * 1000 + per / 2) / per;
	}
	if (strcmp(buf, "max") == 0)
		return RB_MAX;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	return errno || end == buf ? RB_UNKNOWN : v;
}

static uint64_t read_knob(struct cgroup *cg, enum rb_knob k)
{
	char buf[64];

	if (!cg || cgroup_read_knob(cg, rebalance_knob_name(k), buf, sizeof(buf)) < 0)
		return RB_UNKNOWN;
	return parse_knob(k, buf);
}

/*
 * The values in force: every knob on drift ticks, else only those the
 * controller has not decided since the service started (its first
 * decision is measured against them). Once per start otherwise.
 */
static void read_observed(struct cgroup *cg, struct rb_input *in, const struct rb_state *st,
			  bool drift)
{
	for (int k = 0; k < RB_NKNOBS; k++) {
		bool fresh = !st->init || st->written[k] == RB_UNKNOWN;
		in->observed[k] = RB_UNKNOWN;
		if ((drift && st->written[k] != RB_UNKNOWN) || fresh)
			in->observed[k] = read_knob(cg, (enum rb_knob)k);
	}
}

static uint32_t psi10(const struct probe_psi *p)
{
	return p->some.avg10 == PROBE_UNKNOWN ? UINT32_MAX : (uint32_t)p->some.avg10;
}

static void fill_input(struct rb_entry *e, const struct service *svc, struct rb_input *in,
		       bool read_back)
{
	const struct service_spec *spec = service_spec(svc);
	const struct probe_cgroup_sample *s = monitor_sample(svc);
	struct cgroup *cg = service_cgroup(svc);
	pid_t pid = service_main_pid(svc);

	memset(in, 0, sizeof(*in));
	in->class = spec->class;
	in->on_oom = spec->on_oom;
	in->spec = spec->resources.memory;
	in->spec_cpu_weight = spec->resources.cpu.weight;
	in->spec_cpu_max_mcpu = spec->resources.cpu.max_mcpu;
	in->pinned = service_limits_pinned(svc);
	/* A new main process runs with the spec's limits: start over (grows are kept). */
	bool restarted = e->pid && pid && e->pid != pid;
	in->running = service_state(svc) == SVC_RUNNING && cg && s && pid > 0 && !restarted;
	e->pid = pid;
	in->usage = s ? s->memory.current : RB_UNKNOWN;
	/*
	 * Passive working set: usage minus inactive file pages (what kubelet and
	 * cAdvisor call the working set). memory.stat is sampled less often than
	 * memory.current; subtracting keeps the estimate as fresh as the usage.
	 */
	in->active = RB_UNKNOWN;
	if (s && in->usage != RB_UNKNOWN && s->memory.stat.inactive_file != PROBE_UNKNOWN)
		in->active = in->usage > s->memory.stat.inactive_file
				 ? in->usage - s->memory.stat.inactive_file
				 : 0;
	in->psi_mem = s ? psi10(&s->psi_memory) : UINT32_MAX;
	in->psi_cpu = s ? psi10(&s->psi_cpu) : UINT32_MAX;
	in->oom_kills = service_oom_kills(svc);
	for (int k = 0; k < RB_NKNOBS; k++)
		in->observed[k] = RB_UNKNOWN;
	if (in->running && !in->pinned)
		read_observed(cg, in, &e->st, read_back);
}

static uint64_t bytes_limit(uint64_t v)
{
	return v == RB_MAX ? SPEC_SIZE_MAX : v;
}

/* Write the managed knobs of one service: reclaim before memory.max goes down. */
static int apply(const struct service *svc, const struct rb_state *st, const struct rb_input *in,
		 const char **knob)
{
	struct cgroup *cg = service_cgroup(svc);
	struct cgroup_limits l = *service_limits(svc);
	unsigned unsupported = 0;

	if (!cg)
		return -ENOENT;
	if (st->written[RB_MEM_LOW] != RB_UNKNOWN)
		l.memory.low = bytes_limit(st->written[RB_MEM_LOW]);
	if (st->written[RB_MEM_HIGH] != RB_UNKNOWN)
		l.memory.high = bytes_limit(st->written[RB_MEM_HIGH]);
	if (st->written[RB_MEM_MAX] != RB_UNKNOWN) {
		uint64_t max = st->written[RB_MEM_MAX];
		char buf[64];
		l.memory.max = bytes_limit(max);
		/* Never fight the kernel: reclaim down first, refuse if it cannot get there. */
		if (max != RB_MAX &&
		    cgroup_read_knob(cg, "memory.current", buf, sizeof(buf)) >= 0) {
			uint64_t cur = strtoull(buf, NULL, 10);
			if (cur > max) {
				int r = cgroup_reclaim(cg, cur - max + (cur - max) / 4);
				if (r != -EOPNOTSUPP &&
				    cgroup_read_knob(cg, "memory.current", buf, sizeof(buf)) >= 0 &&
				    strtoull(buf, NULL, 10) > max) {
					*knob = "memory.max";
					return -EBUSY;
				}
			}
		}
	}
	if (st->written[RB_CPU_WEIGHT] != RB_UNKNOWN)
		l.cpu_weight = (uint32_t)st->written[RB_CPU_WEIGHT];
	if (st->written[RB_CPU_MAX] != RB_UNKNOWN)
		l.cpu_max_mcpu =
		    st->written[RB_CPU_MAX] == RB_MAX ? 0 : (uint32_t)st->written[RB_CPU_MAX];
	(void)in;
	return cgroup_apply(cg, &l, &unsupported, knob);
}

static void emit_event(struct rebalancer *rb, const struct rb_event *ev, const struct service *svc,
		       bool applied, const char *error)
{
	struct json_object *d = json_object_new_object();
	const char *type = rebalance_event_name(ev->type);

	if (ev->type == RB_EV_GROW || ev->type == RB_EV_GROW_REFUSED) {
		jadd(d, "action", json_object_new_string("grow"));
		jadd(d, "knob", json_object_new_string(rebalance_knob_name(ev->knob)));
		jadd(d, "from", jval(ev->from));
		jadd(d, "to", jval(ev->to));
		jadd(d, "grown", json_object_new_boolean(ev->type == RB_EV_GROW));
		jadd(d, "reason", json_object_new_string(ev->reason));
		type = "action";
	} else if (ev->type == RB_EV_DRIFT) {
		jadd(d, "knob", json_object_new_string(rebalance_knob_name(ev->knob)));
		jadd(d, "expected", jval(ev->from));
		jadd(d, "found", jval(ev->to));
		jadd(d, "resolution",
		     json_object_new_string(rb->p.drift == DRIFT_ADOPT ? "adopt" : "reassert"));
		jadd(d, "reason", json_object_new_string(ev->reason));
	} else {
		jadd(d, "knob", json_object_new_string(rebalance_knob_name(ev->knob)));
		jadd(d, "from", jval(ev->from));
		jadd(d, "to", jval(ev->to));
		jadd(d, "reason", json_object_new_string(ev->reason));
	}
	jadd(d, "mode", json_object_new_string(rebalancer_mode_name(rb->p.mode)));
	if (ev->type == RB_EV_SET || ev->type == RB_EV_SQUEEZE)
		jadd(d, "applied", json_object_new_boolean(applied));
	if (error)
		jadd(d, "error", json_object_new_string(error));
	if (ev->usage != RB_UNKNOWN)
		jadd(d, "usage", json_object_new_int64((int64_t)ev->usage));
	if (ev->psi != UINT32_MAX)
		jadd(d, "memory_some_avg10", json_object_new_double(ev->psi / 100.0));
	if (ev->host_psi != UINT32_MAX)
		jadd(d, "host_memory_some_avg10", json_object_new_double(ev->host_psi / 100.0));
	if (ev->type != RB_EV_SET) {
		char a[32], b[32];
		log_info("service %s: %s %s %s -> %s: %s", svc ? service_name(svc) : "-", type,
			 rebalance_knob_name(ev->knob), fmt_val(ev->knob, ev->from, a, sizeof(a)),
			 fmt_val(ev->knob, ev->to, b, sizeof(b)), ev->reason);
	}
	eventlog_emit(rb->d->events, svc ? service_name(svc) : NULL, type, d);
}

void rebalancer_tick(struct rebalancer *rb)
{
	const struct probe_host_sample *hs;
	struct rb_host h = { 0 };
	struct rb_event evs[512];
	struct rb_output out = { .events = evs, .cap = ARRAY_SIZE(evs) };

	if (!rb || rb->p.mode == REBALANCE_OFF)
		return;
	struct manager *d = rb->d;
	size_t n = d->nservices;
	rb->tick++;
	budget_refresh(rb, now_ms());
	if (rb->scratch < n) {
		rb->scratch = n + 16;
		rb->in = grow_array(rb->in, rb->scratch, sizeof(*rb->in));
		rb->st = grow_array(rb->st, rb->scratch, sizeof(*rb->st));
	}
	hs = monitor_host_sample(rb->mon);
	h.mem_total = hs ? hs->mem.mem_total : 0;
	h.psi_mem = hs ? psi10(&hs->psi_memory) : UINT32_MAX;
	h.mem_available =
	    hs && hs->mem.mem_available != PROBE_UNKNOWN ? hs->mem.mem_available : RB_UNKNOWN;
	bool read_back = rb->p.mode == REBALANCE_ENFORCE && rb->tick % DRIFT_EVERY == 0;
	for (size_t i = 0; i < n; i++) {
		struct rb_entry *e = entry_of(rb, d->services[i], true);
		fill_input(e, d->services[i], &rb->in[i], read_back);
		rb->st[i] = e->st;
	}
	rebalance_tick(&rb->p, &h, rb->in, rb->st, n, &rb->g, now_ms(), &out);

	/* Apply per service, then record: an event says whether its write took. */
	bool *dirty = xcalloc(n ? n : 1, sizeof(*dirty));
	int *err = xcalloc(n ? n : 1, sizeof(*err));
	const char **knob = xcalloc(n ? n : 1, sizeof(*knob));
	for (size_t e = 0; e < out.nevents; e++)
		if (evs[e].type == RB_EV_SET && evs[e].svc >= 0)
			dirty[evs[e].svc] = true;
	for (size_t i = 0; i < n; i++) {
		if (!dirty[i] || rb->p.mode != REBALANCE_ENFORCE)
			continue;
		struct rb_entry *ent = entry_of(rb, d->services[i], false);
		err[i] = apply(d->services[i], &rb->st[i], &rb->in[i], &knob[i]);
		if (err[i] < 0) {
			/* Try again next tick (EBUSY: the kernel could not reclaim below the
			 * limit yet); say so once until a write succeeds. */
			for (int k = 0; k < RB_NKNOBS; k++)
				rb->st[i].written[k] = RB_UNKNOWN;
			if (ent && !ent->warned)
				log_warnx("service %s: rebalance cannot set %s: %s",
					  service_name(d->services[i]),
					  knob[i] ? knob[i] : "limits", strerror(-err[i]));
			if (ent)
				ent->warned = true;
		} else if (ent) {
			ent->warned = false;
		}
	}
	for (size_t e = 0; e < out.nevents; e++) {
		int i = evs[e].svc;
		const struct service *svc = i >= 0 ? d->services[i] : NULL;
		/* Observe: "from" is what the cgroup holds now, not the last target. */
		if (rb->p.mode == REBALANCE_OBSERVE && evs[e].type == RB_EV_SET && svc) {
			uint64_t v = read_knob(service_cgroup(svc), evs[e].knob);
			if (v != RB_UNKNOWN)
				evs[e].from = v;
		}
		bool applied = rb->p.mode == REBALANCE_ENFORCE && (i < 0 || err[i] >= 0);
		emit_event(rb, &evs[e], svc, applied,
			   i >= 0 && err[i] < 0 ? strerror(-err[i]) : NULL);
	}
	if (out.dropped)
		log_warnx("rebalance: %zu decisions not recorded (too many in one tick)",
			  out.dropped);
	bool learned = false;
	for (size_t i = 0; i < n; i++) {
		struct rb_entry *e = entry_of(rb, d->services[i], false);
		if (!e)
			continue;
		bool ws = ws_moved(e->ws_saved, rb->st[i].ws_estimate);
		learned |= e->st.grown_max != rb->st[i].grown_max || ws;
		if (ws)
			e->ws_saved = rb->st[i].ws_estimate;
		e->st = rb->st[i];
	}
	if (learned)
		manager_touch(d); /* the state file keeps it */
	free(dirty);
	free(err);
	free(knob);
}

/*
 * In enforce mode, what the first ticks would set is in place before the
 * service's first instruction: the class's CPU weight; batch work
 * unprotected (v1: soft limit 0, reclaimed first); a critical service
 * protected up to its ceiling (v2 memory.low) until its working set is
 * known, when the ticks bring the protection down to it.
 */
static void class_start_limits(const struct rebalancer *rb, const struct service_spec *spec,
			       struct cgroup_limits *l)
{
	const struct spec_memory *m = &spec->resources.memory;

	if (rb->p.mode != REBALANCE_ENFORCE)
		return;
	if (!l->cpu_weight)
		l->cpu_weight = rebalance_class_weight(spec->class);
	if (m->low != SPEC_UNSET || m->min != SPEC_UNSET)
		return;
	if (spec->class == CLASS_BATCH) {
		l->memory.low = 0;
	} else if (spec->class == CLASS_CRITICAL && rb->p.has_memory_high) {
		uint64_t ceil = m->max != SPEC_UNSET && m->max != SPEC_SIZE_MAX	    ? m->max
				: m->high != SPEC_UNSET && m->high != SPEC_SIZE_MAX ? m->high
										    : RB_MAX;
		ceil = ceil < rb->p.budget_memory ? ceil : rb->p.budget_memory;
		l->memory.low = ceil == RB_MAX ? SPEC_SIZE_MAX : ceil;
	}
}

void rebalancer_launch_limits(struct rebalancer *rb, const struct service *svc,
			      struct cgroup_limits *l)
{
	struct rb_entry *e = entry_of(rb, svc, false);
	struct rb_input in;

	if (!rb || service_limits_pinned(svc))
		return;
	memset(&in, 0, sizeof(in));
	in.on_oom = service_spec(svc)->on_oom;
	in.spec = service_spec(svc)->resources.memory;
	uint64_t max = rebalance_start_max(&in, e ? &e->st : NULL);
	if (max == RB_MAX)
		return;
	l->memory.max = max;
	/* A grown envelope lifts memory.high with it. */
	if (l->memory.high != SPEC_UNSET && l->memory.high != SPEC_SIZE_MAX && l->memory.high > max)
		l->memory.high = max;
	if (e && e->st.grown_max && l->memory.high != SPEC_UNSET &&
	    l->memory.high != SPEC_SIZE_MAX && l->memory.high < max)
		l->memory.high = max;
}

void rebalancer_start_limits(struct rebalancer *rb, const struct service *svc,
			     struct cgroup_limits *l)
{
	if (!rb || service_limits_pinned(svc))
		return;
	class_start_limits(rb, service_spec(svc), l);
	rebalancer_launch_limits(rb, svc, l);
}

static void grow(struct rebalancer *rb, struct service *svc, const char *why, bool apply_now,
		 int *rc)
{
	struct rb_entry *e = entry_of(rb, svc, true);
	struct rb_event evs[2];
	struct rb_output out = { .events = evs, .cap = 2 };
	struct rb_input in;

	fill_input(e, svc, &in, false);
	bool grew = rebalance_grow(&rb->p, &in, &e->st, 0, now_ms(), &out);
	if (grew)
		manager_touch(rb->d); /* the state file keeps it */
	if (grew && apply_now && service_cgroup(svc)) {
		struct cgroup_limits l = *service_limits(svc);
		unsigned unsupported = 0;
		const char *knob = NULL;
		rebalancer_launch_limits(rb, svc, &l);
		*rc = cgroup_apply(service_cgroup(svc), &l, &unsupported, &knob);
		/* The next tick must not see its own write as drift. */
		e->st.written[RB_MEM_MAX] = RB_UNKNOWN;
		e->st.written[RB_MEM_HIGH] = RB_UNKNOWN;
	} else if (!grew) {
		*rc = -ERANGE;
	}
	for (size_t i = 0; i < out.nevents; i++) {
		struct rb_event ev = evs[i];
		ev.reason = ev.reason ? ev.reason : why;
		emit_event(rb, &ev, svc, grew, NULL);
	}
}

void rebalancer_oom_grow(struct rebalancer *rb, struct service *svc)
{
	int rc = 0;

	if (!rb)
		return;
	grow(rb, svc, "on_oom: grow", false, &rc);
}

int rebalancer_pressure_grow(struct rebalancer *rb, struct service *svc, int resource,
			     struct json_object *d)
{
	int rc = 0;

	if (!rb)
		return -ENOSYS;
	if (resource == PRESSURE_CPU) {
		/* CPU has no ceiling to grow toward but the weight: double it, up to 10000. */
		struct cgroup_limits l = *service_limits(svc);
		unsigned unsupported = 0;
		const char *knob = NULL;
		uint32_t w = l.cpu_weight ? l.cpu_weight : 100;
		struct rb_entry *e = entry_of(rb, svc, true);
		w = w * 2 > 10000 ? 10000 : w * 2;
		l.cpu_weight = w;
		rebalancer_launch_limits(rb, svc, &l);
		if (!service_cgroup(svc))
			return -ENOENT;
		rc = cgroup_apply(service_cgroup(svc), &l, &unsupported, &knob);
		e->st.written[RB_CPU_WEIGHT] = RB_UNKNOWN;
		json_object_object_add(d, "cpu.weight", json_object_new_int((int)w));
		return rc;
	}
	if (resource != PRESSURE_MEMORY)
		return -EOPNOTSUPP;
	grow(rb, svc, "pressure: grow", true, &rc);
	struct rb_entry *e = entry_of(rb, svc, false);
	if (e && e->st.grown_max)
		json_object_object_add(d, "memory.max", jval(e->st.grown_max));
	return rc;
}

static struct json_object *budget_json(const struct rebalancer *rb)
{
	struct json_object *b = json_object_new_object();

	jadd(b, "memory", jval(rb->budget.memory));
	jadd(b, "memory_limit", jval(rb->budget.memory_limit));
	jadd(b, "reserve", json_object_new_int64((int64_t)rb->budget.reserve));
	jadd(b, "memory_source", json_object_new_string(rb->budget.memory_source));
	jadd(b, "cpu", json_object_new_double(rb->budget.mcpu / 1000.0));
	jadd(b, "cpu_source", json_object_new_string(rb->budget.cpu_source));
	return b;
}

struct json_object *rebalancer_status_json(struct rebalancer *rb, const struct service *svc)
{
	struct json_object *o;

	if (!rb || rb->p.mode == REBALANCE_OFF)
		return NULL;
	struct rb_entry *e = entry_of(rb, svc, false);
	o = json_object_new_object();
	jadd(o, "mode", json_object_new_string(rebalancer_mode_name(rb->p.mode)));
	jadd(o, "budget", budget_json(rb));
	jadd(o, "ticks", json_object_new_int64((int64_t)rb->tick));
	jadd(o, "pinned", json_object_new_boolean(service_limits_pinned(svc)));
	if (!e)
		return o;
	if (e->st.ws_estimate)
		jadd(o, "working_set_bytes", json_object_new_int64((int64_t)e->st.ws_estimate));
	jadd(o, "squeezed_to",
	     e->st.squeeze_ceiling != RB_MAX && e->st.init ? jval(e->st.squeeze_ceiling) : NULL);
	if (e->st.probe_high != RB_MAX && e->st.init)
		jadd(o, "probe_high", jval(e->st.probe_high));
	jadd(o, "cpu_cap_level", json_object_new_int((int)e->st.cpu_level));
	if (e->st.grown_max)
		jadd(o, "grown_max", jval(e->st.grown_max));
	struct json_object *k = json_object_new_object();
	for (int i = 0; i < RB_NKNOBS; i++)
		if (e->st.init && e->st.want[i] != RB_UNKNOWN)
			jadd(k, rebalance_knob_name((enum rb_knob)i), jval(e->st.want[i]));
	jadd(o, "targets", k);
	struct json_object *why = json_object_new_object();
	for (int i = 0; i < RB_NKNOBS; i++)
		if (e->st.init && e->st.want[i] != RB_UNKNOWN && e->st.why[i])
			jadd(why, rebalance_knob_name((enum rb_knob)i),
			     json_object_new_string(e->st.why[i]));
	jadd(o, "reasons", why);
	return o;
}

/*
 * What rebalance_room needs of a service; unlike fill_input, no side
 * effects. Usage is read now, not taken from the last sample: an idle
 * service is sampled only every few ticks, and a daemon just restarted
 * has no samples at all. Rare enough (a batch service starting) to afford.
 */
static void room_input(struct rebalancer *rb, const struct service *svc, struct rb_input *in,
		       struct rb_state *st)
{
	const struct rb_entry *e = entry_of(rb, svc, false);
	const struct probe_cgroup_sample *s = monitor_sample(svc);
	struct cgroup *cg = service_cgroup(svc);
	char buf[32];

	memset(in, 0, sizeof(*in));
	memset(st, 0, sizeof(*st));
	in->class = service_spec(svc)->class;
	in->spec = service_spec(svc)->resources.memory;
	in->running = service_main_pid(svc) > 0;
	in->usage = RB_UNKNOWN;
	in->active = RB_UNKNOWN;
	if (cg && cgroup_read_knob(cg, "memory.current", buf, sizeof(buf)) >= 0)
		in->usage = strtoull(buf, NULL, 10);
	/* Inactive file pages change slowly: the last sample's serve. */
	if (in->usage != RB_UNKNOWN && s && s->memory.stat.inactive_file != PROBE_UNKNOWN)
		in->active = in->usage > s->memory.stat.inactive_file
				 ? in->usage - s->memory.stat.inactive_file
				 : 0;
	if (e)
		st->ws_estimate = e->st.ws_estimate;
}

bool rebalancer_room(struct rebalancer *rb, const struct service *svc, char *why, size_t len)
{
	struct manager *d = rb ? rb->d : NULL;
	uint64_t need = 0, left = 0;
	size_t self = 0;

	if (!rb || rb->p.mode != REBALANCE_ENFORCE || rb->p.budget_memory == RB_MAX ||
	    service_spec(svc)->class != CLASS_BATCH)
		return true;
	if (rb->scratch < d->nservices) {
		rb->scratch = d->nservices + 16;
		rb->in = grow_array(rb->in, rb->scratch, sizeof(*rb->in));
		rb->st = grow_array(rb->st, rb->scratch, sizeof(*rb->st));
	}
	for (size_t i = 0; i < d->nservices; i++) {
		room_input(rb, d->services[i], &rb->in[i], &rb->st[i]);
		if (d->services[i] == svc)
			self = i;
	}
	switch (rebalance_room(&rb->p, rb->in, rb->st, d->nservices, self, &need, &left)) {
	case RB_ROOM_YES:
		return true;
	case RB_ROOM_UNKNOWN:
		return service_state(svc) != SVC_PARKED;
	case RB_ROOM_NO:
		break;
	}
	snprintf(why, len, "needs %llu MiB at its floor, the budget has %llu MiB left",
		 (unsigned long long)(need >> 20), (unsigned long long)(left >> 20));
	return false;
}

uint64_t rebalancer_working_set(struct rebalancer *rb, const struct service *svc)
{
	struct rb_entry *e = entry_of(rb, svc, false);
	return e ? e->st.ws_estimate : 0;
}

void rebalancer_record(struct rebalancer *rb, const struct service *svc, struct state_service *rec)
{
	const struct rb_entry *e = entry_of(rb, svc, false);

	if (e) {
		rec->working_set = e->st.ws_estimate;
		rec->grown_max = e->st.grown_max;
	}
}

void rebalancer_restore(struct rebalancer *rb, const struct service *svc,
			const struct state_service *rec)
{
	struct rb_entry *e;

	if (!rb || !(rec->working_set || rec->grown_max) || !(e = entry_of(rb, svc, true)))
		return;
	e->st.ws_estimate = e->ws_saved = rec->working_set;
	e->st.grown_max = rec->grown_max;
}
