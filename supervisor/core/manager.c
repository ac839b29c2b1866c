/*
 * manager.c - the service table, reload, dependency and shutdown order,
 * and the reactions to what services report (see manager.h).
 *
 * A service's hooks only note what happened and activate ev_react; the
 * reactions (start waiting dependents, stop the next level at shutdown,
 * drop removed services, tell the observers) run on the next loop turn,
 * outside every service's own callbacks. Costs: O(n) per reaction, O(log n)
 * per lookup by name.
 */
#include <event2/event.h>
#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "events.h"
#include "harden.h"
#include "log.h"
#include "logstore.h"
#include "manager.h"
#include "network.h"
#include "notify.h"
#include "util.h"

#define SHUTDOWN_GRACE_MS 5000 /* on top of the longest stop timeout */

/* --- the hooks every service gets ----------------------------------------------------- */

static void hook_changed(void *arg, struct service *svc)
{
	struct manager *m = arg;

	m->state_changed = true; /* any change may meet or break a dependency's condition */
	if (service_settled(svc))
		m->became_settled = true;
	if (m->ev_react)
		event_active(m->ev_react, EV_TIMEOUT, 0);
}

static void hook_watch(void *arg, struct service *svc, bool live)
{
	struct manager *m = arg;

	if (m->watch)
		m->watch(m->watch_arg, svc, live);
}

static void hook_launch_limits(void *arg, const struct service *svc, struct cgroup_limits *l)
{
	struct manager *m = arg;

	if (m->limits)
		m->limits(m->limits_arg, svc, l);
}

static bool hook_room(void *arg, const struct service *svc, char *why, size_t len)
{
	struct manager *m = arg;

	return !m->room || m->room(m->room_arg, svc, why, len);
}

static struct service *hook_find(void *arg, const char *name)
{
	return manager_find(arg, name);
}

static const struct service_hooks manager_hooks = {
	.changed = hook_changed,
	.watch = hook_watch,
	.launch_limits = hook_launch_limits,
	.find = hook_find,
	.room = hook_room,
};

/* --- the table ---------------------------------------------------------------------------- */

struct service *manager_find(struct manager *m, const char *name)
{
	size_t lo = 0, hi = m->nservices;

	while (lo < hi) { /* sorted by name: O(log n) */
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, service_name(m->services[mid]));
		if (c == 0)
			return m->services[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

struct service *manager_find_pid(struct manager *m, pid_t pid)
{
	for (size_t i = 0; i < m->nservices; i++)
		if (service_main_pid(m->services[i]) == pid)
			return m->services[i];
	return NULL;
}

/* Insert a new service for spec, keeping the table sorted by name. */
static struct service *insert_service(struct manager *m, const struct service_spec *spec)
{
	size_t pos = 0;

	while (pos < m->nservices && strcmp(service_name(m->services[pos]), spec->name) < 0)
		pos++;
	struct service **n = realloc(m->services, (m->nservices + 1) * sizeof(*n));
	if (!n)
		abort(); /* the daemon cannot go on without memory */
	m->services = n;
	memmove(&n[pos + 1], &n[pos], (m->nservices - pos) * sizeof(*n));
	n[pos] = service_new(&m->env, spec);
	m->nservices++;
	return n[pos];
}

int manager_add(struct manager *m, struct spec_set *set, bool rm, struct service **out)
{
	if (set->nservices != 1)
		return -EINVAL;
	if (manager_find(m, set->services[0]->name))
		return -EEXIST;
	/* Nor a template's name: 'stop web' would no longer mean web@1, web@2... */
	for (size_t i = 0; i < m->nservices; i++) {
		const char *t = service_spec(m->services[i])->template_name;
		if (t && strcmp(t, set->services[0]->name) == 0)
			return -EEXIST;
	}
	if (m->nservices >= SPEC_MAX_SERVICES)
		return -ENOSPC;
	*out = insert_service(m, set->services[0]);
	service_own_specs(*out, set, rm);
	return 0;
}

/*
 * Free the spec sets earlier reloads replaced once no service points into
 * them: a service whose update was refused, one being removed, or a
 * readiness probe still running keeps its set. O(sets x services x specs).
 */
static void drop_retired(struct manager *m)
{
	size_t k = 0;

	for (size_t r = 0; r < m->nretired; r++) {
		bool used = false;
		for (size_t i = 0; i < m->nservices && !used; i++)
			used = service_uses_specs(m->services[i], m->retired[r]);
		if (used)
			m->retired[k++] = m->retired[r];
		else
			spec_set_free(m->retired[r]);
	}
	m->nretired = k;
}

/* Drop settled services marked for removal (run --rm, gone from the files). */
static void sweep(struct manager *m)
{
	size_t k = 0;

	for (size_t i = 0; i < m->nservices; i++) {
		struct service *svc = m->services[i];
		if (service_remove_when_settled(svc) && service_settled(svc)) {
			log_info("service %s: removed", service_name(svc));
			/* run --rm leaves nothing; a reload keeps logs */
			if (service_transient(svc))
				logstore_remove_files(service_logstore(svc));
			service_free(svc);
			continue;
		}
		m->services[k++] = svc;
	}
	m->nservices = k;
	drop_retired(m);
}

static void json_put4(struct json_object *a, struct json_object *b, struct json_object *c,
		      struct json_object *d)
{
	json_object_put(a), json_object_put(b), json_object_put(c), json_object_put(d);
}

int manager_reload(struct manager *m, struct config_errors *errs, struct json_object **summary)
{
	struct spec_set *set = NULL;
	struct json_object *added = json_object_new_array(), *removed = json_object_new_array();
	struct json_object *updated = json_object_new_array(), *failed = json_object_new_array();
	struct error err = { 0 };
	int r;

	if ((r = config_load_specs(m->cfg->services_dir, &m->host, &set, errs)) >= 0 &&
	    ((r = harden_check_specs(set, errs)) < 0 ||
	     (r = config_check_networks(set, m->cfg, errs)) < 0))
		set =
		    spec_set_free(set); /* a broken seccomp profile or network refuses the reload */
	if (r < 0) {
		json_put4(added, removed, updated, failed);
		return r; /* a set with any error changes nothing */
	}
	netmgr_reserve(m->env.net, set); /* before any service of the new set starts */
	/* Gone from the files: stop, and drop once settled (transients stay). */
	for (size_t i = 0; i < m->nservices; i++) {
		struct service *svc = m->services[i];
		if (service_transient(svc) || spec_set_find(set, service_name(svc)))
			continue;
		json_object_array_add(removed, json_object_new_string(service_name(svc)));
		service_set_remove_when_settled(svc, true);
		(void)service_stop(svc);
	}
	for (size_t i = 0; i < set->nservices; i++) {
		const struct service_spec *spec = set->services[i];
		struct service *svc = manager_find(m, spec->name);
		if (svc && service_transient(svc)) {
			json_object_array_add(failed, json_object_new_string(spec->name));
			continue; /* a transient holds the name until it goes */
		}
		if (!svc) {
			char why[128];

			svc = insert_service(m, spec);
			json_object_array_add(added, json_object_new_string(spec->name));
			if (!manager_not_auto(m, spec, why, sizeof(why)))
				(void)service_start(svc);
			else
				log_info("reload: service %s: added, not started: %s", spec->name,
					 why);
			continue;
		}
		if (service_update_spec(svc, spec, &err) < 0) {
			log_warnx("reload: service %s: %s", spec->name, err.msg);
			json_object_array_add(failed, json_object_new_string(spec->name));
		} else {
			json_object_array_add(updated, json_object_new_string(spec->name));
		}
	}
	/* Services may still point into the old set: keep it until none does. */
	struct spec_set **n = realloc(m->retired, (m->nretired + 1) * sizeof(*n));
	if (!n)
		abort();
	m->retired = n;
	m->retired[m->nretired++] = m->specs;
	m->specs = set;
	drop_retired(m);
	log_info("reload: %zu added, %zu removed, %zu kept or updated",
		 json_object_array_length(added), json_object_array_length(removed),
		 json_object_array_length(updated));
	eventlog_emit(m->events, NULL, "reload", NULL);
	/* Removed services that were stopped already go on the next turn. */
	m->became_settled = true;
	m->state_changed = true; /* a new spec may meet or drop a waiting service's condition */
	event_active(m->ev_react, EV_TIMEOUT, 0);
	if (summary) {
		*summary = json_object_new_object();
		json_object_object_add(*summary, "added", added);
		json_object_object_add(*summary, "removed", removed);
		json_object_object_add(*summary, "updated", updated);
		json_object_object_add(*summary, "failed", failed);
	} else {
		json_put4(added, removed, updated, failed);
	}
	return 0;
}

/* --- order --------------------------------------------------------------------------------- */

bool manager_all_settled(const struct manager *m)
{
	for (size_t i = 0; i < m->nservices; i++)
		if (!service_settled(m->services[i]))
			return false;
	return true;
}

/*
 * After any change: start (or fail) services waiting for conditions,
 * restart dependents of restarted services (restart: true) and stop or
 * start services bound to others (binds_to). O(n * deps * log n).
 */
static void follow_deps(struct manager *m)
{
	for (size_t i = 0; i < m->nservices; i++)
		if (service_spec(m->services[i])->ndepends_on)
			service_follow_deps(m->services[i]);
}

/* Does a service that has not settled depend on svc? O(n * deps). */
static bool has_live_dependents(struct manager *m, struct service *svc)
{
	for (size_t i = 0; i < m->nservices; i++) {
		const struct service_spec *sp = service_spec(m->services[i]);
		if (service_settled(m->services[i]))
			continue;
		for (size_t k = 0; k < sp->ndepends_on; k++)
			if (strcmp(sp->depends_on[k], service_name(svc)) == 0)
				return true;
	}
	return false;
}

/* Shutdown: stop what nothing running depends on; the rest as dependents go. */
static void stop_in_order(struct manager *m)
{
	for (size_t i = m->nservices; i-- > 0;) {
		struct service *svc = m->services[i];
		if (!service_settled(svc) && !has_live_dependents(m, svc))
			(void)service_stop(svc);
	}
}

/* What services reported since the last turn, acted on outside their callbacks. */
static void on_react(evutil_socket_t fd, short what, void *arg)
{
	struct manager *m = arg;
	bool changed = m->state_changed, settled = m->became_settled;

	m->state_changed = m->became_settled = false;
	if (changed && !m->env.shutting_down)
		follow_deps(m);
	if (settled && m->env.shutting_down) {
		stop_in_order(m);
		if (manager_all_settled(m))
			event_base_loopexit(m->base, NULL);
	}
	for (size_t i = 0; i < m->nobservers; i++)
		m->observers[i].fn(m->observers[i].arg);
	if (settled)
		sweep(m);
}

static void on_shutdown_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct manager *m = arg;
	log_warnx("services still running after the shutdown deadline; exiting anyway");
	event_base_loopexit(m->base, NULL);
}

void manager_shutdown(struct manager *m, const char *why)
{
	uint64_t longest = 0;

	if (m->env.shutting_down)
		return;
	m->env.shutting_down = true;
	log_info("%s: stopping %zu services", why, m->nservices);
	(void)sd_notify(0, "STOPPING=1");
	/* Dependents first: a service stops once nothing running depends on it. */
	for (size_t i = 0; i < m->nservices; i++)
		if (service_spec(m->services[i])->stop.timeout_ms > longest)
			longest = service_spec(m->services[i])->stop.timeout_ms;
	stop_in_order(m);
	if (manager_all_settled(m)) {
		event_base_loopexit(m->base, NULL);
		return;
	}
	/* Each level of the dependency chain may take its stop timeout. */
	uint64_t ms = longest * (m->nservices > 4 ? 4 : m->nservices) + 1000 + SHUTDOWN_GRACE_MS;
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	event_base_once(m->base, -1, EV_TIMEOUT, on_shutdown_deadline, m, &tv);
}

/*
 * Critical services first, batch last: services that start together take
 * memory in start order, and what starts first is in place before the
 * budget runs short.
 */
void manager_start_all(struct manager *m, const bool *adopted)
{
	static const enum spec_class order[] = { CLASS_CRITICAL, CLASS_STANDARD, CLASS_BATCH };
	char why[128];

	for (size_t i = 0; i < m->nservices; i++)
		if ((!adopted || !adopted[i]) &&
		    manager_not_auto(m, service_spec(m->services[i]), why, sizeof(why)))
			log_info("service %s: not started: %s", service_name(m->services[i]), why);
	for (size_t c = 0; c < sizeof(order) / sizeof(order[0]); c++)
		for (size_t i = 0; i < m->nservices; i++)
			if ((!adopted || !adopted[i]) &&
			    service_spec(m->services[i])->class == order[c] &&
			    !manager_not_auto(m, service_spec(m->services[i]), why, sizeof(why)))
				(void)service_start(m->services[i]);
}

static bool profile_active(const struct manager *m, const char *name)
{
	for (char *const *p = m->cfg->profiles; p && *p; p++)
		if (strcmp(*p, name) == 0)
			return true;
	return false;
}

const char *manager_not_auto(const struct manager *m, const struct service_spec *spec, char *buf,
			     size_t len)
{
	size_t used;

	if (!spec->enabled) {
		snprintf(buf, len, "disabled");
		return buf;
	}
	if (spec->schedule) { /* timers.c starts it at its times */
		snprintf(buf, len, "scheduled");
		return buf;
	}
	if (!spec->profiles || !spec->profiles[0])
		return NULL;
	for (char *const *p = spec->profiles; *p; p++)
		if (profile_active(m, *p))
			return NULL;
	/* "profile debug inactive", "profiles debug, test inactive" */
	used = (size_t)snprintf(buf, len, "profile%s ", spec->profiles[1] ? "s" : "");
	for (char *const *p = spec->profiles; *p && used < len; p++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 p == spec->profiles ? "" : ", ", *p);
	if (used < len)
		snprintf(buf + used, len - used, " inactive");
	return buf;
}

/* --- what the sd_notify socket asks of the services ----------------------------------- */

/* The service whose cgroup holds pid, or NULL. O(services) string compares. */
static struct service *notify_owner(void *arg, pid_t pid)
{
	struct manager *m = arg;
	char path[4096];

	if (pid <= 0 || cgroup_host_pid_path(m->cgroups, pid, path, sizeof(path)) < 0)
		return NULL;
	for (size_t i = 0; i < m->nservices; i++) {
		struct cgroup *cg = service_cgroup(m->services[i]);
		if (cg && cgroup_path_within(cg, path))
			return m->services[i];
	}
	return NULL;
}

static void notify_deliver(void *arg, struct service *svc, const struct notify_msg *msg,
			   pid_t sender)
{
	service_notify(svc, msg, sender);
}

static void notify_refused(void *arg, struct service *svc)
{
	service_note_notify_malformed(svc);
}

static const char *notify_name(void *arg, const struct service *svc)
{
	return service_name(svc);
}

const struct notify_ops manager_notify_ops = {
	.owner = notify_owner,
	.deliver = notify_deliver,
	.refused = notify_refused,
	.name = notify_name,
};

/* --- life ---------------------------------------------------------------------------------- */

void manager_observe(struct manager *m, manager_changed_fn fn, void *arg)
{
	if (m->nobservers == MANAGER_OBSERVERS_MAX)
		fatalx("manager: too many observers"); /* a wiring bug */
	m->observers[m->nobservers].fn = fn;
	m->observers[m->nobservers].arg = arg;
	m->nobservers++;
}

void manager_set_watch(struct manager *m, manager_watch_fn fn, void *arg)
{
	m->watch = fn;
	m->watch_arg = arg;
}

void manager_set_limits(struct manager *m, manager_limits_fn fn, void *arg)
{
	m->limits = fn;
	m->limits_arg = arg;
}

void manager_touch(struct manager *m)
{
	if (m->ev_react)
		event_active(m->ev_react, EV_TIMEOUT, 0);
}

void manager_set_room(struct manager *m, manager_room_fn fn, void *arg)
{
	m->room = fn;
	m->room_arg = arg;
}

void manager_unpark(struct manager *m)
{
	for (size_t i = 0; i < m->nservices; i++)
		if (service_state(m->services[i]) == SVC_PARKED)
			(void)service_start(m->services[i]);
}

void manager_init(struct manager *m)
{
	m->env.base = m->base;
	m->env.cfg = m->cfg;
	m->env.cgroups = m->cgroups;
	m->env.images = m->images;
	m->env.events = m->events;
	m->env.nofile = &m->nofile;
	m->env.logs_dir = m->logs_dir;
	m->env.hooks = &manager_hooks;
	m->env.hooks_arg = m;
	m->ev_react = event_new(m->base, -1, 0, on_react, m);
	m->nservices = m->specs->nservices;
	m->services = xcalloc(m->nservices ? m->nservices : 1, sizeof(*m->services));
	for (size_t i = 0; i < m->nservices; i++)
		m->services[i] = service_new(&m->env, m->specs->services[i]);
}

void manager_done(struct manager *m)
{
	for (size_t i = 0; i < m->nservices; i++)
		m->services[i] = service_free(m->services[i]);
	free(m->services);
	m->services = NULL;
	m->nservices = 0;
	if (m->ev_react)
		event_free(m->ev_react);
	m->ev_react = NULL;
	m->specs = spec_set_free(m->specs);
	for (size_t i = 0; i < m->nretired; i++)
		spec_set_free(m->retired[i]);
	free(m->retired);
	m->retired = NULL;
	m->nretired = 0;
}
