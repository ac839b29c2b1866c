/*
 * service-limits.c - one service: live limits and reload (see service-internal.h).
 */

#include <json-c/json.h>

#include "image.h"
#include "log.h"
#include "service-internal.h"
#include "state.h"
#include "units.h"
#include "util.h"

/* --- live limits ------------------------------------------------------------------------ */

static uint64_t memory_current(struct service *svc)
{
	char buf[64];

	if (!svc->cg || cgroup_read_knob(svc->cg, "memory.current", buf, sizeof(buf)) < 0)
		return 0;
	return strtoull(buf, NULL, 10);
}

/*
 * Lowering memory.max below what the group uses makes the kernel OOM-kill
 * on v2. So reclaim first (memory.reclaim) and refuse if usage is still
 * above the new limit; v1 reclaims by itself and answers EBUSY.
 */
static int check_memory_max(struct service *svc, uint64_t max, struct error *err)
{
	uint64_t cur = memory_current(svc);
	char a[32], b[32];
	int r;

	if (max >= SPEC_SIZE_MAX || cur <= max)
		return 0;
	r = cgroup_reclaim(svc->cg, cur - max + (cur - max) / 4 + 1024 * 1024);
	if (r == -EOPNOTSUPP)
		return 0;
	cur = memory_current(svc);
	if (cur <= max) {
		log_info("service %s: reclaimed down to %s before lowering memory.max",
			 svc->spec->name, units_format_size(cur, a, sizeof(a)));
		return 0;
	}
	return error_set(err, EBUSY,
			 "memory.max %s is below current usage %s even after reclaim; refused, "
			 "nothing changed",
			 units_format_size(max, a, sizeof(a)),
			 units_format_size(cur, b, sizeof(b)));
}

/* --- what this host can express, for `set` ------------------------------------------------ */

/*
 * The knobs `set` takes, with the files that express them (names as
 * cgroup_read_knob takes them, translated for v1 there; any one will do)
 * and what to use where they are missing.
 */
enum { K_MIN, K_LOW, K_HIGH, K_MAX, K_SWAP, K_CPU_WEIGHT, K_CPU_MAX, K_CPUS, K_PIDS, K_IO };
static const struct {
	const char *name;
	const char *files[3];
	const char *instead;
} settable[] = {
	[K_MIN] = { "memory.min",
		    { "memory.min" },
		    "v1 protects no memory (memory.low sets its soft limit, which only orders "
		    "reclaim)" },
	[K_LOW] = { "memory.low", { "memory.low" }, NULL },
	[K_HIGH] = { "memory.high", { "memory.high" }, "use memory.max" },
	[K_MAX] = { "memory.max", { "memory.max" }, NULL },
	[K_SWAP] = { "memory.swap_max",
		     { "memory.swap.max", "memory.memsw.limit_in_bytes" },
		     NULL },
	[K_CPU_WEIGHT] = { "cpu.weight", { "cpu.weight" }, NULL },
	[K_CPU_MAX] = { "cpu.max", { "cpu.max" }, NULL },
	[K_CPUS] = { "cpu.cpus", { "cpuset.cpus" }, NULL },
	[K_PIDS] = { "pids.max", { "pids.max" }, NULL },
	[K_IO] = { "io.weight", { "io.weight", "io.bfq.weight" }, NULL },
};

static bool bounded(uint64_t v)
{
	return v != SPEC_UNSET && v != SPEC_SIZE_MAX;
}

/* Does going from o to n ask knob k for something (not its default, not as it is)? */
static bool asks(const struct cgroup_limits *o, const struct cgroup_limits *n, int k)
{
	const struct spec_memory *a = &o->memory, *b = &n->memory;

	switch (k) {
	case K_MIN:
		return b->min != a->min && bounded(b->min) && b->min != 0;
	case K_LOW:
		return b->low != a->low && bounded(b->low) && b->low != 0;
	case K_HIGH:
		return b->high != a->high && bounded(b->high);
	case K_MAX:
		return b->max != a->max && bounded(b->max);
	case K_SWAP:
		return (b->swap_max != a->swap_max || b->max != a->max) && bounded(b->swap_max);
	case K_CPU_WEIGHT:
		return n->cpu_weight != o->cpu_weight && n->cpu_weight != 0;
	case K_CPU_MAX:
		return n->cpu_max_mcpu != o->cpu_max_mcpu && n->cpu_max_mcpu != 0;
	case K_CPUS:
		return n->cpus && (!o->cpus || strcmp(n->cpus, o->cpus) != 0);
	case K_PIDS:
		return n->pids_max != o->pids_max && bounded(n->pids_max);
	case K_IO:
		return n->io_weight != o->io_weight && n->io_weight != 0;
	}
	return false;
}

/* Is the service's memory controller a v1 one (no memory.min, memory.high)? */
static bool memory_on_v1(const struct service *svc)
{
	const struct cgroup_host *host = svc->env->cgroups;
	enum cgroup_mode mode = cgroup_host_mode(host);

	if (mode == CGROUP_MODE_V2)
		return false;
	if (svc->cg)
		return cgroup_dir(svc->cg, "memory") != NULL;
	/* No cgroup yet: the host's summary lists the v1 controllers before any ';'. */
	const char *d = cgroup_host_describe(host), *v1 = strstr(d, "v1:"), *end = strchr(d, ';');
	const char *m = v1 ? strstr(v1, " memory") : NULL;
	return m && (!end || m < end);
}

/* Why knob k cannot be expressed for this service, or NULL when it can (or cannot be known). */
static const char *cannot(struct service *svc, const struct cgroup_limits *n, int k, char *why,
			  size_t len)
{
	const char *mode = cgroup_mode_name(cgroup_host_mode(svc->env->cgroups));
	bool v1mem = memory_on_v1(svc);
	char buf[256];

	if (k == K_SWAP && v1mem && !bounded(n->memory.max)) {
		snprintf(why, len,
			 "cgroup %s: memory controller is v1, which bounds swap only "
			 "together with memory.max",
			 mode);
		return why;
	}
	if (!svc->cg) {
		/* Not running: only what the host's mode already says. */
		if ((k == K_MIN || k == K_HIGH) && v1mem) {
			snprintf(why, len, "cgroup %s: memory controller is v1", mode);
			return why;
		}
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(settable[k].files) && settable[k].files[i]; i++)
		if (cgroup_read_knob(svc->cg, settable[k].files[i], buf, sizeof(buf)) >= 0)
			return NULL;
	if (k <= K_SWAP && v1mem)
		snprintf(why, len, "cgroup %s: memory controller is v1", mode);
	else
		snprintf(why, len, "cgroup %s: no %s in the service's cgroup", mode,
			 settable[k].files[0]);
	return why;
}

int service_check_settable(struct service *svc, const struct cgroup_limits *limits,
			   struct error *err)
{
	char msg[ERROR_MSG_MAX], why[160];
	size_t o = 0;

	msg[0] = '\0';
	for (int k = 0; k < (int)ARRAY_SIZE(settable); k++) {
		if (!asks(&svc->limits, limits, k) || !cannot(svc, limits, k, why, sizeof(why)))
			continue;
		/* The hints say what a v1 memory controller has instead. */
		const char *instead = memory_on_v1(svc) ? settable[k].instead : NULL;
		o += (size_t)snprintf(msg + o, sizeof(msg) - o,
				      "%s%s: not supported on this host (%s)%s%s", o ? "; " : "",
				      settable[k].name, why, instead ? "; " : "",
				      instead ? instead : "");
		if (o >= sizeof(msg))
			break;
	}
	if (!msg[0])
		return 0;
	return error_set(err, EOPNOTSUPP, "%s; nothing changed", msg);
}

int service_set_limits(struct service *svc, const struct cgroup_limits *limits, struct error *err)
{
	struct cgroup_limits l = *limits;
	char *cpus = l.cpus ? xstrdup(l.cpus) : NULL;
	unsigned unsupported = 0;
	const char *knob = NULL;
	int r;

	l.cpus = cpus;
	if (svc->cg) {
		if ((r = check_memory_max(svc, l.memory.max, err)) < 0) {
			free(cpus);
			return r;
		}
		if ((r = cgroup_apply(svc->cg, &l, &unsupported, &knob)) < 0) {
			unsigned ignored;
			const char *ignored_knob;
			/* Put back what was there: never half-applied. */
			(void)cgroup_apply(svc->cg, &svc->limits, &ignored, &ignored_knob);
			if (r == -EBUSY && knob && strstr(knob, "memory"))
				(void)error_set(err, -r,
						"%s: the kernel could not reclaim below the new "
						"limit; refused, nothing changed",
						knob);
			else
				(void)error_set(err, -r, "cannot set %s: %s",
						knob ? knob : "limits", strerror(-r));
			free(cpus);
			return r;
		}
		svc_warn_unsupported(svc, unsupported);
	}
	free(svc->cpus_override);
	svc->cpus_override = cpus;
	svc->limits = l;
	svc->pinned = true;
	log_info("service %s: limits changed by the operator", svc->spec->name);
	/* The state file keeps the pin: a restarted paddockd must not forget it. */
	svc->env->hooks->changed(svc->env->hooks_arg, svc);
	return 0;
}

int service_reset_limits(struct service *svc, struct error *err)
{
	struct cgroup_limits l;
	int r;

	svc_limits_from_spec(&l, svc->spec);
	if ((r = service_set_limits(svc, &l, err)) < 0)
		return r;
	svc->pinned = false;
	log_info("service %s: limits back to the spec", svc->spec->name);
	svc->env->hooks->changed(svc->env->hooks_arg, svc);
	return 0;
}

const struct cgroup_limits *service_limits(const struct service *svc)
{
	return &svc->limits;
}

bool service_limits_pinned(const struct service *svc)
{
	return svc->pinned;
}

/* --- kept across paddockd restarts -------------------------------------------------------- */

void svc_kept_record(const struct service *svc, struct state_service *out)
{
	struct state_pin *p = &out->pin;

	if (svc->pinned) {
		p->set = true;
		p->memory = svc->limits.memory;
		p->cpu_weight = svc->limits.cpu_weight;
		p->cpu_max_mcpu = svc->limits.cpu_max_mcpu;
		p->io_weight = svc->limits.io_weight;
		p->pids_max = svc->limits.pids_max;
		snprintf(p->cpus, sizeof(p->cpus), "%s", svc->limits.cpus ? svc->limits.cpus : "");
	}
	svc_status_record(svc, out);
}

/*
 * Before adoption decides anything: an adopted process runs under the
 * pinned values (its cgroup kept them) and a restart applies them again.
 * A reload since then (the spec changed while no daemon ran) is not
 * known here; the next reload ends the pin as usual.
 */
void svc_kept_restore(struct service *svc, const struct state_service *rec)
{
	const struct state_pin *p = &rec->pin;

	if (p->set) {
		free(svc->cpus_override);
		svc->cpus_override = p->cpus[0] ? xstrdup(p->cpus) : NULL;
		svc->limits.memory = p->memory;
		svc->limits.cpu_weight = p->cpu_weight;
		svc->limits.cpu_max_mcpu = p->cpu_max_mcpu;
		svc->limits.io_weight = p->io_weight;
		svc->limits.pids_max = p->pids_max;
		svc->limits.cpus = svc->cpus_override;
		svc->pinned = true;
		log_info("service %s: limits pinned by the operator, as before paddockd's restart",
			 svc->spec->name);
	}
	svc_status_restore(svc, rec);
}

/* --- reload ------------------------------------------------------------------------------ */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool strv_eq(char *const *a, char *const *b)
{
	for (; a && b && *a && *b; a++, b++)
		if (strcmp(*a, *b) != 0)
			return false;
	return (!a || !*a) && (!b || !*b);
}

/* Does the difference between a and b need a new process (not just new knobs)? */
static bool needs_restart(const struct service_spec *a, const struct service_spec *b)
{
	if (!str_eq(a->image, b->image) || !str_eq(a->rootfs, b->rootfs) ||
	    !strv_eq(a->command, b->command) || !strv_eq(a->environment, b->environment) ||
	    !str_eq(a->user, b->user) || !str_eq(a->working_dir, b->working_dir) ||
	    !str_eq(a->hostname, b->hostname) || a->init != b->init || a->persist != b->persist)
		return true;
	if (a->isolation.namespaces != b->isolation.namespaces ||
	    a->isolation.network != b->isolation.network ||
	    a->isolation.readonly_rootfs != b->isolation.readonly_rootfs ||
	    a->isolation.nmounts != b->isolation.nmounts ||
	    a->isolation.caps_add != b->isolation.caps_add ||
	    a->isolation.caps_drop != b->isolation.caps_drop ||
	    a->isolation.caps_add_all != b->isolation.caps_add_all ||
	    a->isolation.caps_drop_all != b->isolation.caps_drop_all ||
	    a->isolation.seccomp_unconfined != b->isolation.seccomp_unconfined ||
	    !str_eq(a->isolation.seccomp_profile, b->isolation.seccomp_profile) ||
	    a->isolation.user_host != b->isolation.user_host ||
	    a->isolation.user_count != b->isolation.user_count)
		return true;
	/* rlimits and oom_score_adj are set in the child before exec. */
	for (size_t i = 0; i < SPEC_RLIMIT_NR; i++) {
		const struct spec_rlimit *x = &a->resources.rlimits[i],
					 *y = &b->resources.rlimits[i];
		if (x->set != y->set || x->soft != y->soft || x->hard != y->hard)
			return true;
	}
	if (a->resources.oom_score_adj != b->resources.oom_score_adj)
		return true;
	/* Device nodes are made in /dev at start. */
	if (a->ndevices != b->ndevices)
		return true;
	for (size_t i = 0; i < a->ndevices; i++)
		if (!str_eq(a->devices[i].path, b->devices[i].path))
			return true;
	for (size_t i = 0; i < a->isolation.nmounts; i++) {
		const struct spec_mount *x = &a->isolation.mounts[i], *y = &b->isolation.mounts[i];
		if (x->type != y->type || !str_eq(x->source, y->source) ||
		    !str_eq(x->target, y->target) || x->readonly != y->readonly ||
		    x->size != y->size)
			return true;
	}
	/* Pressure triggers are set up at start. */
	return memcmp(a->pressure, b->pressure, sizeof(a->pressure)) != 0;
}

/* io.max, hugetlb, cpuset.mems and the device rules of two limits (issue 19). */
static bool iodev_eq(const struct cgroup_limits *a, const struct cgroup_limits *b)
{
	if (a->nio_max != b->nio_max || a->nhugetlb != b->nhugetlb || !str_eq(a->mems, b->mems) ||
	    a->devices_policy != b->devices_policy || a->ndevices != b->ndevices)
		return false;
	for (size_t i = 0; i < a->nio_max; i++) {
		const struct spec_io_max *x = &a->io_max[i], *y = &b->io_max[i];
		if (!str_eq(x->device, y->device) || x->rbps != y->rbps || x->wbps != y->wbps ||
		    x->riops != y->riops || x->wiops != y->wiops)
			return false;
	}
	for (size_t i = 0; i < a->nhugetlb; i++)
		if (!str_eq(a->hugetlb[i].pagesize, b->hugetlb[i].pagesize) ||
		    a->hugetlb[i].max != b->hugetlb[i].max)
			return false;
	for (size_t i = 0; i < a->ndevices; i++) {
		const struct spec_device *x = &a->devices[i], *y = &b->devices[i];
		if (!str_eq(x->path, y->path) || x->read != y->read || x->write != y->write ||
		    x->mknod != y->mknod)
			return false;
	}
	return true;
}

static bool limits_eq(const struct cgroup_limits *a, const struct cgroup_limits *b)
{
	return memcmp(&a->memory, &b->memory, sizeof(a->memory)) == 0 &&
	       a->cpu_weight == b->cpu_weight && a->cpu_max_mcpu == b->cpu_max_mcpu &&
	       str_eq(a->cpus, b->cpus) && a->pids_max == b->pids_max &&
	       a->io_weight == b->io_weight && iodev_eq(a, b);
}

int service_update_spec(struct service *svc, const struct service_spec *spec, struct error *err)
{
	const struct service_spec *old = svc->spec;
	bool restart = needs_restart(old, spec);
	struct cgroup_limits l;
	int r = 0;

	svc_limits_from_spec(&l, spec);
	bool limits_changed = !limits_eq(&l, &svc->limits) || svc->pinned;
	if (limits_changed && !restart) {
		/*
		 * First: refused, the service keeps its old spec whole (and the
		 * manager keeps that set while the service points into it).
		 */
		if ((r = service_set_limits(svc, &l, err)) < 0)
			return r;
		svc->pinned = false; /* a reload ends any `set` pin: the spec is the truth again */
	}
	if (spec->restart.burst != old->restart.burst) {
		free(svc->starts);
		svc->starts =
		    xcalloc(spec->restart.burst ? spec->restart.burst : 1, sizeof(uint64_t));
		svc->nstarts = svc->starts_pos = 0;
	}
	svc->spec = spec;
	if (!limits_changed) {
		/* Same values; the old spec they pointed into goes away after a reload. */
		svc->limits.io_max = l.io_max;
		svc->limits.hugetlb = l.hugetlb;
		svc->limits.mems = l.mems;
		svc->limits.devices = l.devices;
	}
	svc_health_respec(svc, old);
	if (restart && svc->image && !str_eq(old->image, spec->image))
		svc->image = image_info_free(svc->image);
	if (limits_changed && !restart) {
		svc_emit(svc, "reloaded",
			 svc_jobj("change", json_object_new_string("limits"), NULL, NULL));
		return 0;
	}
	if (limits_changed) {
		free(svc->cpus_override);
		svc->cpus_override = NULL;
		svc->limits = l;
		svc->pinned = false;
	}
	if (restart && (svc->state == SVC_RUNNING || svc->state == SVC_STARTING)) {
		svc_emit(svc, "reloaded",
			 svc_jobj("change", json_object_new_string("restart"), NULL, NULL));
		svc->after_stop = AFTER_RELOAD;
		service_dispatch(svc, SE_STOP);
	} else {
		svc_emit(svc, "reloaded",
			 svc_jobj("change", json_object_new_string(restart ? "next start" : "none"),
				  NULL, NULL));
	}
	return 0;
}
