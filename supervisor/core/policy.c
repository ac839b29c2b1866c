/*
 * policy.c - the daemon's reactions to OOM kills, pressure and ticks (see
 * policy.h). Each handler runs from a monitor event or timer, never from
 * inside a service transition, so it may call the services' operations.
 */
#include <json-c/json.h>
#include <signal.h>

#include "events.h"
#include "log.h"
#include "manager.h"
#include "policy.h"
#include "rebalance-glue.h"
#include "util.h"

struct policy {
	struct manager *m;
	struct rebalancer *rb;
};

static void emit_action(struct policy *p, struct service *svc, const char *action,
			const char *reason)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "action", json_object_new_string(action));
	json_object_object_add(d, "reason", json_object_new_string(reason));
	if (service_main_pid(svc))
		json_object_object_add(d, "pid", json_object_new_int(service_main_pid(svc)));
	eventlog_emit(p->m->events, service_name(svc), "action", d);
}

/*
 * n processes OOM-killed in the group. When the main process died of it,
 * its exit is recorded as oom-kill and the restart policy runs there; when
 * it survived (a child was killed), on_oom acts here. "Alive" is checked
 * again: a main process the OOM killer took may not be reaped yet (the
 * memory.events notice can come before the exit), and acting on it then
 * would turn its death into a restart we asked for.
 */
static void on_oom(void *arg, struct service *svc, uint64_t n, bool main_alive)
{
	struct policy *p = arg;
	const struct service_spec *spec = service_spec(svc);

	if (main_alive && service_main_dying(svc))
		main_alive = false;
	service_note_oom_kills(svc, n, main_alive);
	if (spec->on_oom == ON_OOM_GROW)
		rebalancer_oom_grow(p->rb, svc); /* memory.max one step up for the restart */
	if (!main_alive || service_state(svc) != SVC_RUNNING)
		return;
	if (spec->on_oom == ON_OOM_STOP) {
		emit_action(p, svc, "stop", "on_oom: stop after an OOM kill");
		(void)service_stop(svc);
	} else {
		emit_action(p, svc, "restart", "on_oom after an OOM kill");
		(void)service_restart(svc);
	}
}

static uint64_t psi_avg10(const struct probe_cgroup_sample *s, int r)
{
	const struct probe_psi *p = r == PRESSURE_MEMORY ? &s->psi_memory
				    : r == PRESSURE_CPU	 ? &s->psi_cpu
							 : &s->psi_io;
	return p->some.avg10;
}

/* A pressure trigger held for the spec's `for`: the spec's action, and an event. */
static void on_pressure(void *arg, struct service *svc, int r, uint64_t sustained)
{
	struct policy *p = arg;
	const struct service_spec *spec = service_spec(svc);
	const struct spec_pressure *sp = &spec->pressure[r];
	const struct probe_cgroup_sample *cur = monitor_sample(svc);
	struct cgroup *cg = service_cgroup(svc);
	const char *action = spec_pressure_action_name(sp->action);
	struct json_object *d = json_object_new_object();
	int rc = 0;

	json_object_object_add(d, "action", json_object_new_string(action));
	json_object_object_add(
	    d, "resource",
	    json_object_new_string(spec_pressure_resource_name((enum spec_pressure_resource)r)));
	json_object_object_add(d, "above_percent",
			       json_object_new_double(sp->above_permille / 10.0));
	json_object_object_add(d, "for_ms", json_object_new_int64((int64_t)sp->for_ms));
	json_object_object_add(d, "sustained_ms", json_object_new_int64((int64_t)sustained));
	if (cur)
		json_object_object_add(d, "some_avg10_percent",
				       json_object_new_double(psi_avg10(cur, r) / 100.0));
	switch (sp->action) {
	case PRESSURE_ACTION_RECLAIM:
		/* A tenth of the group per window: enough to relieve, not to thrash. */
		if (cg && cur && cur->memory.current != PROBE_UNKNOWN)
			rc = cgroup_reclaim(cg, cur->memory.current / 10);
		break;
	case PRESSURE_ACTION_FREEZE:
		rc = service_freeze(svc, true);
		break;
	case PRESSURE_ACTION_RESTART:
		rc = service_restart(svc);
		break;
	case PRESSURE_ACTION_KILL:
		rc = service_kill(svc, SIGKILL);
		break;
	case PRESSURE_ACTION_GROW:
		rc = p->rb ? rebalancer_pressure_grow(p->rb, svc, r, d) : -ENOSYS;
		break;
	default:
		break;
	}
	if (rc < 0 && rc != -EAGAIN)
		json_object_object_add(d, "error", json_object_new_string(strerror(-rc)));
	log_info("service %s: %s pressure above %.1f%% for %llu ms: %s", spec->name,
		 spec_pressure_resource_name((enum spec_pressure_resource)r),
		 sp->above_permille / 10.0, (unsigned long long)sustained, action);
	eventlog_emit(p->m->events, spec->name, "action", d);
}

/* The crossing cleared: a service frozen for it thaws. */
static void on_pressure_cleared(void *arg, struct service *svc, int r)
{
	if (service_spec(svc)->pressure[r].action == PRESSURE_ACTION_FREEZE && service_frozen(svc))
		(void)service_freeze(svc, false);
}

static void on_tick(void *arg)
{
	struct policy *p = arg;

	rebalancer_tick(p->rb);
	manager_unpark(p->m);
}

const struct monitor_ops policy_monitor_ops = {
	.oom = on_oom,
	.pressure = on_pressure,
	.pressure_cleared = on_pressure_cleared,
	.tick = on_tick,
};

/* The manager's limits hook: what a start writes. */
static void launch_limits(void *arg, const struct service *svc, struct cgroup_limits *l)
{
	struct policy *p = arg;

	rebalancer_start_limits(p->rb, svc, l);
}

/* The manager's room hook: may batch work start? */
static bool room(void *arg, const struct service *svc, char *why, size_t len)
{
	struct policy *p = arg;

	return rebalancer_room(p->rb, svc, why, len);
}

struct policy *policy_new(struct manager *m)
{
	struct policy *p = xcalloc(1, sizeof(*p));

	p->m = m;
	manager_set_limits(m, launch_limits, p);
	manager_set_room(m, room, p);
	return p;
}

void policy_set_rebalancer(struct policy *p, struct rebalancer *rb)
{
	p->rb = rb;
}

struct policy *policy_free(struct policy *p)
{
	if (!p)
		return NULL;
	manager_set_limits(p->m, NULL, NULL);
	manager_set_room(p->m, NULL, NULL);
	free(p);
	return NULL;
}
