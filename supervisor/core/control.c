/*
 * control.c - JSON-lines control protocol on a Unix socket.
 *
 * Request:  {"v":1,"cmd":"status","names":["web"]}\n
 * Response: {"v":1,"ok":true,"result":...}\n  or
 *           {"v":1,"ok":false,"error":"no such service: web","code":"ENOENT"}\n
 * Streaming (logs with "follow":true) sends one object per line until the
 * client closes. Requests are bounded (CONTROL_MAX_REQUEST); a client
 * that lets more than CONTROL_MAX_OUTPUT pile up unread is dropped, so no
 * client can block the daemon or make it grow without bound.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <stddef.h>
#include <json-c/json.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "cgroup.h"
#include "control.h"
#include "network.h"
#include "events.h"
#include "exec.h"
#include "image.h"
#include "log.h"
#include "logstore.h"
#include "manager.h"
#include "monitor.h"
#include "persist.h"
#include "rebalance-glue.h"
#include "service.h"
#include "timers.h"
#include "units.h"
#include "util.h"

struct client {
	struct control *ctl;
	struct bufferevent *bev;
	struct ucred cred; /* Unix socket peers; uid -1 for attached clients */
	char who[64]; /* attached clients: who, for logs and events ("api token 2") */
	bool readonly; /* CONTROL_CLIENT_READONLY: only CONTROL_CMD_READONLY commands */
	bool closing;
	/* stop/restart waiting for services to settle */
	char **waiting;
	size_t nwaiting;
	bool restart_after;
	/* logs -f, and run --wait streaming the transient's output */
	struct service *following;
	char *run_name; /* run --wait: answer when this service settles */
	bool events_follow; /* events -f */
	char *events_service;
	struct client_exec *exec; /* exec: waiting for the fds, or for the command */
	uint64_t fleet_ticket; /* a fleet command waiting for its answer */
	struct client *next, **prevp;
};

#define ACCEPT_PAUSE_MS 100

struct control {
	struct manager *d;
	struct persist *persist; /* daemon-reexec */
	struct rebalancer *rb; /* status shows its targets */
	struct evconnlistener *listener;
	struct event *ev_resume; /* re-enables the listener after accept() ran out of fds */
	char *path; /* NULL when systemd owns the socket */
	struct client *clients;
	size_t nclients;
	struct timers *timers; /* schedule: next and last runs */
	control_fleet_fn fleet; /* fleet commands' handler, NULL without fleet: */
	void *fleet_arg;
	uint64_t fleet_tickets;
	bool fleet_dispatching;
};

static void client_free(struct client *cl);
static void on_read(struct bufferevent *bev, void *arg);

/* --- output --------------------------------------------------------------------- */

static void send_json(struct client *cl, struct json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	struct evbuffer *out = bufferevent_get_output(cl->bev);

	evbuffer_add(out, s, strlen(s));
	evbuffer_add(out, "\n", 1);
	json_object_put(obj);
}

static void reply_ok(struct client *cl, struct json_object *result)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "v", json_object_new_int(PROTOCOL_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "result", result ? result : json_object_new_object());
	send_json(cl, o);
}

static void reply_error(struct client *cl, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply_error(struct client *cl, const char *code, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "v", json_object_new_int(PROTOCOL_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	json_object_object_add(o, "code", json_object_new_string(code));
	send_json(cl, o);
}

/* --- service views ---------------------------------------------------------------- */

static struct json_object *json_u64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static struct json_object *service_brief(struct service *svc)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(service_name(svc)));
	json_object_object_add(o, "state",
			       json_object_new_string(service_state_name(service_state(svc))));
	json_object_object_add(o, "since_ms", json_u64(service_state_since(svc)));
	json_object_object_add(o, "main_pid", json_object_new_int(service_main_pid(svc)));
	json_object_object_add(o, "restarts", json_object_new_int((int)service_restarts(svc)));
	json_object_object_add(o, "reloads", json_object_new_int((int)service_reloads(svc)));
	json_object_object_add(o, "class",
			       json_object_new_string(spec_class_name(service_spec(svc)->class)));
	json_object_object_add(o, "last_exit", service_exit_json(service_last_exit(svc)));
	/* dependencies: what a waiting service waits for; stopped by binds_to */
	char why[256];
	if (service_waiting_for(svc, why, sizeof(why)))
		json_object_object_add(o, "waiting_for", json_object_new_string(why));
	if (service_bound_stop(svc))
		json_object_object_add(o, "bound_stop", json_object_new_boolean(true));
	if (service_health(svc))
		json_object_object_add(o, "health", json_object_new_string(service_health(svc)));
	return o;
}

/* schedule: the timer's schedule, last and next runs (timers.h), for scheduled services. */
static void add_timer(struct control *ctl, struct service *svc, struct json_object *o)
{
	struct json_object *t = timers_json(ctl->timers, svc);

	if (t)
		json_object_object_add(o, "timer", t);
}

void control_set_timers(struct control *c, struct timers *ts)
{
	if (c)
		c->timers = ts;
}

/* list's entry: the brief, and why a stopped service does not start on its own. */
static struct json_object *service_listed(struct control *ctl, struct service *svc)
{
	struct json_object *o = service_brief(svc);
	char why[128];

	if (service_state(svc) == SVC_STOPPED &&
	    manager_not_auto(ctl->d, service_spec(svc), why, sizeof(why)))
		json_object_object_add(o, "not_auto", json_object_new_string(why));
	add_timer(ctl, svc, o);
	return o;
}

/* Read knobs back from cgroupfs: the truth, not what we meant to write. */
static void add_knobs(struct json_object *o, struct cgroup *cg, const char *const *knobs, size_t n)
{
	char buf[256];

	for (size_t i = 0; i < n; i++) {
		if (!cg || cgroup_read_knob(cg, knobs[i], buf, sizeof(buf)) < 0)
			continue;
		char *nl = strchr(buf, '\n');
		if (nl)
			*nl = '\0';
		json_object_object_add(o, knobs[i], json_object_new_string(buf));
	}
}

static const char *const limit_knobs[] = { "memory.min", "memory.low",	    "memory.high",
					   "memory.max", "memory.swap.max", "cpu.weight",
					   "cpu.max",	 "cpuset.cpus",	    "pids.max",
					   "io.weight" };

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	if (v != PROBE_UNKNOWN)
		json_object_object_add(o, k, json_u64(v));
}

static void add_rate(struct json_object *o, const char *k, double v)
{
	if (v == v) /* not NAN */
		json_object_object_add(o, k, json_object_new_double(v));
}

/* What the last probe tick saw: counters, rates and pressure. */
static void add_sample(struct json_object *u, struct service *svc)
{
	const struct probe_cgroup_sample *s = monitor_sample(svc);
	const struct probe_cgroup_rates *r = monitor_rates(svc);
	static const char *const res[] = { "memory", "cpu", "io" };

	if (!s)
		return;
	add_u64(u, "swap.current", s->memory.swap_current);
	add_u64(u, "memory.anon", s->memory.stat.anon);
	add_u64(u, "memory.file", s->memory.stat.file);
	add_u64(u, "memory.events.high", s->memory.events.high);
	add_u64(u, "memory.events.max", s->memory.events.max);
	add_u64(u, "memory.events.oom_kill", s->memory.events.oom_kill);
	add_u64(u, "cpu.usage_usec", s->cpu.usage_usec);
	add_u64(u, "cpu.throttled_usec", s->cpu.throttled_usec);
	add_u64(u, "io.rbytes", s->io.rbytes);
	add_u64(u, "io.wbytes", s->io.wbytes);
	const struct probe_psi *psi[] = { &s->psi_memory, &s->psi_cpu, &s->psi_io };
	for (int i = 0; i < 3; i++) {
		char k[48];
		snprintf(k, sizeof(k), "%s.pressure.some.avg10", res[i]);
		if (psi[i]->some.avg10 != PROBE_UNKNOWN)
			json_object_object_add(u, k,
					       json_object_new_double(psi[i]->some.avg10 / 100.0));
		snprintf(k, sizeof(k), "%s.pressure.active", res[i]);
		if (monitor_pressure_active(svc, i))
			json_object_object_add(u, k, json_object_new_boolean(1));
	}
	if (r) {
		add_rate(u, "cpu.percent", r->cpu_percent);
		add_rate(u, "cpu.throttled_percent", r->throttled_percent);
		add_rate(u, "io.read_bps", r->io_read_bps);
		add_rate(u, "io.write_bps", r->io_write_bps);
	}
}

/*
 * identity: what the spec asks (groups, umask) and what the running service
 * process really has, read from /proc/PID/status (Uid, Gid, Groups, Umask,
 * CapEff, CapAmb lines, as the kernel prints them). Under paddock's init
 * (which stays root) that is init's first child.
 */
static struct json_object *service_identity(struct service *svc)
{
	static const struct {
		const char *line, *key;
	} keys[] = { { "Uid:", "uid" },
		     { "Gid:", "gid" },
		     { "Groups:", "groups" },
		     { "Umask:", "umask" },
		     { "CapEff:", "cap_effective" },
		     { "CapAmb:", "cap_ambient" } };
	const struct service_spec *spec = service_spec(svc);
	struct json_object *o = json_object_new_object(), *g = json_object_new_array();
	pid_t pid = service_main_pid(svc);
	char path[64], line[512], um[16];

	for (size_t i = 0; i < spec->ngroups; i++)
		json_object_array_add(g, json_object_new_string(spec->groups[i]));
	json_object_object_add(o, "spec_groups", g);
	if (spec->umask != SPEC_UMASK_UNSET) {
		snprintf(um, sizeof(um), "%04o", (unsigned)spec->umask);
		json_object_object_add(o, "spec_umask", json_object_new_string(um));
	}
	if (pid > 0 && spec->init && (spec->isolation.namespaces & SPEC_NS_PID)) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
		pid = read_file_at(AT_FDCWD, path, line, sizeof(line)) > 0 ? atoi(line) : 0;
	}
	if (pid > 0)
		json_object_object_add(o, "pid", json_object_new_int(pid));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	_cleanup_fclose_ FILE *f = pid > 0 ? fopen(path, "re") : NULL;
	while (f && fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			size_t n = strlen(keys[i].line);
			char *v = line + n;

			if (strncmp(line, keys[i].line, n) != 0)
				continue;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			if (i < 2) /* real, effective, saved, fs: the effective one */
				v[strcspn(v, "\t ")] = '\0';
			for (char *t = v; *t; t++)
				if (*t == '\t')
					*t = ' ';
			n = strlen(v);
			while (n && v[n - 1] == ' ')
				v[--n] = '\0';
			json_object_object_add(o, keys[i].key, json_object_new_string(v));
		}
	}
	return o;
}

/*
 * io.max, cpuset.mems and hugetlb.<size>.max read back into the limits l;
 * "devices": whether a policy holds, and the devices the spec adds to the
 * default set (v1 hosts also show devices.list, the kernel's own view).
 */
static void add_iodev(struct json_object *o, struct json_object *l, struct cgroup *cg,
		      const struct cgroup_limits *lim)
{
	static const char *const knobs[] = { "cpuset.mems" };
	static const char *const multi[] = { "io.max", "devices.list" }; /* lines kept */
	struct json_object *d, *arr;
	char k[64], buf[2048];

	add_knobs(l, cg, knobs, ARRAY_SIZE(knobs));
	for (size_t i = 0; cg && i < ARRAY_SIZE(multi); i++)
		if (cgroup_read_knob(cg, multi[i], buf, sizeof(buf)) > 0)
			json_object_object_add(l, multi[i], json_object_new_string(buf));
	for (size_t i = 0; i < lim->nhugetlb; i++) {
		const char *kp = k;
		snprintf(k, sizeof(k), "hugetlb.%s.max", lim->hugetlb[i].pagesize);
		add_knobs(l, cg, &kp, 1);
	}
	d = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(d, "policy", json_object_new_boolean(lim->devices_policy));
	for (size_t i = 0; i < lim->ndevices; i++) {
		const struct spec_device *x = &lim->devices[i];
		struct json_object *e = json_object_new_object();
		snprintf(k, sizeof(k), "%s%s%s", x->read ? "r" : "", x->write ? "w" : "",
			 x->mknod ? "m" : "");
		json_object_object_add(e, "path", json_object_new_string(x->path));
		json_object_object_add(e, "access", json_object_new_string(k));
		json_object_array_add(arr, e);
	}
	json_object_object_add(d, "allowed", arr);
	json_object_object_add(o, "devices", d);
}

static struct json_object *service_full(struct control *ctl, struct service *svc)
{
	static const char *const usage[] = { "memory.current", "memory.peak", "pids.current" };
	struct json_object *o = service_brief(svc);
	struct cgroup *cg = service_cgroup(svc);
	struct json_object *l = json_object_new_object(), *u = json_object_new_object();
	char *tail;

	json_object_object_add(o, "cgroup", cg ? json_object_new_string(cgroup_path(cg)) : NULL);
	json_object_object_add(o, "frozen", json_object_new_boolean(service_frozen(svc)));
	json_object_object_add(o, "ready", service_ready_json(svc));
	if (service_spec(svc)->health.type != HEALTH_NONE) /* brief's string -> the details */
		json_object_object_add(o, "health", service_health_json(svc));
	add_timer(ctl, svc, o);
	json_object_object_add(
	    o, "status_text",
	    service_status_text(svc) ? json_object_new_string(service_status_text(svc)) : NULL);
	if (service_image(svc)) {
		const struct image_info *img = service_image(svc);
		struct json_object *im = json_object_new_object();
		json_object_object_add(im, "ref", json_object_new_string(img->ref));
		json_object_object_add(im, "digest", json_object_new_string(img->digest));
		json_object_object_add(im, "layers", json_object_new_int((int)img->nlayers));
		json_object_object_add(o, "image", im);
	}
	if (service_net(svc))
		json_object_object_add(o, "network",
				       net_lease_json(ctl->d->env.net, service_net(svc)));
	add_knobs(l, cg, limit_knobs, ARRAY_SIZE(limit_knobs));
	/*
	 * On v1 "memory.low" is the soft limit, which protects nothing: a
	 * client must know which one it reads to say what it means.
	 */
	if (cg)
		json_object_object_add(
		    o, "memory_controller",
		    json_object_new_string(cgroup_host_mode(ctl->d->cgroups) != CGROUP_MODE_V2 &&
						   cgroup_dir(cg, "memory")
					       ? "v1"
					       : "v2"));
	add_iodev(o, l, cg, service_limits(svc));
	json_object_object_add(o, "pinned", json_object_new_boolean(service_limits_pinned(svc)));
	add_knobs(u, cg, usage, ARRAY_SIZE(usage));
	add_sample(u, svc);
	json_object_object_add(o, "oom_kills", json_u64(service_oom_kills(svc)));
	json_object_object_add(o, "limits", l);
	json_object_object_add(o, "usage", u);
	json_object_object_add(o, "rebalance", rebalancer_status_json(ctl->rb, svc));
	json_object_object_add(o, "log_dropped", json_u64(service_log_dropped(svc)));
	tail = service_log_tail(svc, 10);
	json_object_object_add(o, "log_tail", json_object_new_string(tail ? tail : ""));
	free(tail);
	json_object_object_add(o, "identity", service_identity(svc));
	return o;
}

/* --- requests ------------------------------------------------------------------------ */

/* logs and set act on one service: say so, naming a template's instances. */
static void one_service_error(struct client *cl, const char *cmd, struct service **svcs, size_t n)
{
	const char *t = n ? service_spec(svcs[0])->template_name : NULL;

	for (size_t i = 1; t && i < n; i++)
		if (!service_spec(svcs[i])->template_name ||
		    strcmp(service_spec(svcs[i])->template_name, t) != 0)
			t = NULL;
	if (t)
		reply_error(cl, "EINVAL",
			    "%s takes one service, not the %zu instances of %s (name one, as %s)",
			    cmd, n, t, service_name(svcs[0]));
	else
		reply_error(cl, "EINVAL", "%s takes one service", cmd);
}

static void add_once(struct service **v, size_t *n, struct service *svc)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i] == svc)
			return;
	v[(*n)++] = svc;
}

/*
 * The services name stands for, added to v (room for every service) once
 * each: the service of that name, else, for a template of 'instances:'
 * that no service is named after, every instance of it (web: web@1, web@2,
 * ...). False when it names none. O(services).
 */
static bool add_named(struct manager *d, const char *name, struct service **v, size_t *n)
{
	struct service *svc = manager_find(d, name);
	bool found = false;

	if (svc) {
		add_once(v, n, svc);
		return true;
	}
	for (size_t i = 0; i < d->nservices; i++) {
		const char *t = service_spec(d->services[i])->template_name;

		if (t && strcmp(t, name) == 0) {
			add_once(v, n, d->services[i]);
			found = true;
		}
	}
	return found;
}

/*
 * Resolve the "names" array (a template's name stands for its instances);
 * replies with an error and returns -1 on a bad name.
 */
static int get_services(struct client *cl, struct json_object *req, bool all_if_empty,
			struct service ***out, size_t *n)
{
	struct manager *d = cl->ctl->d;
	struct json_object *names = NULL;
	size_t cnt;

	*out = NULL;
	*n = 0;
	if (json_object_object_get_ex(req, "names", &names) &&
	    !json_object_is_type(names, json_type_array)) {
		reply_error(cl, "EINVAL", "\"names\" must be an array of strings");
		return -1;
	}
	cnt = names ? json_object_array_length(names) : 0;
	if (cnt == 0) {
		if (!all_if_empty) {
			reply_error(cl, "EINVAL", "no service named");
			return -1;
		}
		*out = xcalloc(d->nservices, sizeof(**out));
		memcpy(*out, d->services, d->nservices * sizeof(**out));
		*n = d->nservices;
		return 0;
	}
	if (cnt > d->nservices + 16) {
		reply_error(cl, "EINVAL", "too many names");
		return -1;
	}
	*out = xcalloc(d->nservices + 1, sizeof(**out));
	for (size_t i = 0; i < cnt; i++) {
		struct json_object *it = json_object_array_get_idx(names, i);
		const char *name = json_object_get_string(it);
		if (!json_object_is_type(it, json_type_string) || !add_named(d, name, *out, n)) {
			reply_error(cl, "ENOENT", "no such service: %s",
				    json_object_is_type(it, json_type_string) ? name
									      : "(not a string)");
			free(*out);
			*out = NULL;
			*n = 0;
			return -1;
		}
	}
	return 0;
}

static bool waiting_done(struct client *cl)
{
	for (size_t i = 0; i < cl->nwaiting; i++) {
		struct service *svc = manager_find(cl->ctl->d, cl->waiting[i]);
		if (svc && !service_settled(svc))
			return false;
	}
	return true;
}

static void finish_waiting(struct client *cl)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < cl->nwaiting; i++) {
		struct service *svc = manager_find(cl->ctl->d, cl->waiting[i]);
		if (svc && cl->restart_after && !cl->ctl->d->env.shutting_down)
			(void)service_start(svc);
		if (svc)
			json_object_array_add(arr, service_brief(svc));
		free(cl->waiting[i]);
	}
	free(cl->waiting);
	cl->waiting = NULL;
	cl->nwaiting = 0;
	reply_ok(cl, arr);
}

static void cmd_start(struct client *cl, struct json_object *req)
{
	struct service **svcs;
	size_t n;

	if (get_services(cl, req, false, &svcs, &n) < 0)
		return;
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		(void)service_start(svcs[i]);
		json_object_array_add(arr, service_brief(svcs[i]));
	}
	reply_ok(cl, arr);
	free(svcs);
}

/* stop and restart answer once every named service has settled. */
static void stop_and_wait(struct client *cl, struct json_object *req, bool restart_after)
{
	struct service **svcs;
	size_t n;

	if (get_services(cl, req, false, &svcs, &n) < 0)
		return;
	cl->restart_after = restart_after;
	cl->waiting = xcalloc(n, sizeof(char *));
	/*
	 * Names first: a service in backoff settles inside service_stop, and
	 * on_services_changed may then answer (and free the list) before the
	 * loop is through.
	 */
	for (size_t i = 0; i < n; i++)
		cl->waiting[cl->nwaiting++] = xstrdup(service_name(svcs[i]));
	for (size_t i = 0; i < n; i++)
		(void)service_stop(svcs[i]);
	free(svcs);
	if (cl->nwaiting && waiting_done(cl))
		finish_waiting(cl);
}

static void cmd_stop(struct client *cl, struct json_object *req)
{
	stop_and_wait(cl, req, false);
}

static void cmd_restart(struct client *cl, struct json_object *req)
{
	stop_and_wait(cl, req, true);
}

/* Apply fn(svc, arg) to each named service; stop at the first failure and say which. */
static void act_on_each(struct client *cl, struct json_object *req,
			int (*fn)(struct service *, int), int arg)
{
	struct service **svcs;
	size_t n;
	int r;

	if (get_services(cl, req, false, &svcs, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if ((r = fn(svcs[i], arg)) < 0) {
			reply_error(cl, r == -ESRCH ? "ESRCH" : "EIO", "%s: %s",
				    service_name(svcs[i]),
				    r == -ESRCH ? "not running" : strerror(-r));
			free(svcs);
			return;
		}
	free(svcs);
	reply_ok(cl, NULL);
}

static int freeze_one(struct service *svc, int frozen)
{
	return service_freeze(svc, frozen != 0);
}

static void cmd_freeze(struct client *cl, struct json_object *req)
{
	act_on_each(cl, req, freeze_one, 1);
}

static void cmd_thaw(struct client *cl, struct json_object *req)
{
	act_on_each(cl, req, freeze_one, 0);
}

static void cmd_kill(struct client *cl, struct json_object *req)
{
	struct json_object *sigobj;
	int sig = SIGTERM;
	const char *why;

	if (json_object_object_get_ex(req, "signal", &sigobj) &&
	    units_parse_signal(json_object_get_string(sigobj), &sig, &why) < 0) {
		reply_error(cl, "EINVAL", "signal %s: %s", json_object_get_string(sigobj), why);
		return;
	}
	act_on_each(cl, req, service_kill, sig);
}

static void on_follow_line(void *arg, const char *service, int stream, uint64_t ts_ms,
			   const char *line, size_t len)
{
	struct client *cl = arg;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "service", json_object_new_string(service));
	static const char *const streams[] = { "paddockd", "stdout", "stderr" };
	json_object_object_add(o, "stream", json_object_new_string(streams[stream % 3]));
	json_object_object_add(o, "time_ms", json_u64(ts_ms));
	json_object_object_add(o, "line", json_object_new_string_len(line, (int)len));
	send_json(cl, o);
	if (evbuffer_get_length(bufferevent_get_output(cl->bev)) > CONTROL_MAX_OUTPUT) {
		log_warnx("control: dropping a log follower that does not read");
		client_free(cl);
	}
}

/*
 * The history comes from the log files (what earlier daemons logged too),
 * then, with follow, the lines as they are stored. Both happen in this
 * turn of the loop, where no line can be stored between them: no gap and
 * no line twice at the seam.
 */
static void cmd_logs(struct client *cl, struct json_object *req)
{
	struct control_logs_args a;
	struct error err = { 0 };
	struct service **svcs;
	size_t n;
	bool truncated;

	if (control_parse_logs(req, &a, &err) < 0) {
		reply_error(cl, "EINVAL", "%s", err.msg);
		return;
	}
	if (get_services(cl, req, false, &svcs, &n) < 0)
		return;
	if (n != 1) {
		one_service_error(cl, "logs", svcs, n);
		free(svcs);
		return;
	}
	struct logstore *ls = service_logstore(svcs[0]);
	char *text = logstore_history(ls, a.lines, a.since_ms, &truncated);
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "text", json_object_new_string(text ? text : ""));
	if (truncated)
		json_object_object_add(r, "truncated", json_object_new_boolean(1));
	free(text);
	reply_ok(cl, r);
	if (a.follow) {
		cl->following = svcs[0];
		(void)logstore_follow(ls, on_follow_line, cl);
	}
	free(svcs);
}

/* One KEY=VALUE of `set`, validated like the spec. NULL or a reason. */
static const char *set_one(struct cgroup_limits *l, const char *key, const char *val,
			   uint64_t mem_total, char *why, size_t whylen)
{
	static const struct {
		const char *key;
		size_t off;
	} sizes[] = {
		{ "memory.min", offsetof(struct cgroup_limits, memory.min) },
		{ "memory.low", offsetof(struct cgroup_limits, memory.low) },
		{ "memory.high", offsetof(struct cgroup_limits, memory.high) },
		{ "memory.max", offsetof(struct cgroup_limits, memory.max) },
		{ "memory.swap_max", offsetof(struct cgroup_limits, memory.swap_max) },
		{ "memory.swap.max", offsetof(struct cgroup_limits, memory.swap_max) },
	};
	const char *reason = NULL;
	char *end;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		if (strcmp(key, sizes[i].key) == 0) {
			uint64_t *dst = (uint64_t *)((char *)l + sizes[i].off);
			if (units_parse_size(val, mem_total, dst, &reason) < 0)
				goto bad;
			return NULL;
		}
	if (strcmp(key, "cpu.weight") == 0 || strcmp(key, "io.weight") == 0) {
		unsigned long w = strtoul(val, &end, 10);
		if (!*val || *end || w < 1 || w > 10000) {
			reason = "a weight is 1..10000";
			goto bad;
		}
		*(key[0] == 'c' ? &l->cpu_weight : &l->io_weight) = (uint32_t)w;
		return NULL;
	}
	if (strcmp(key, "cpu.max") == 0) {
		if (units_parse_cpus(val, &l->cpu_max_mcpu, &reason) < 0)
			goto bad;
		return NULL;
	}
	if (strcmp(key, "cpu.cpus") == 0 || strcmp(key, "cpuset.cpus") == 0) {
		if (units_check_cpuset(val, &reason) < 0)
			goto bad;
		l->cpus = val;
		return NULL;
	}
	if (strcmp(key, "pids.max") == 0) {
		unsigned long long n;
		if (strcmp(val, "max") == 0) {
			l->pids_max = SPEC_SIZE_MAX;
			return NULL;
		}
		n = strtoull(val, &end, 10);
		if (!*val || *end || n < 1 || n > 4194304) {
			reason = "pids.max is 1..4194304 or max";
			goto bad;
		}
		l->pids_max = n;
		return NULL;
	}
	snprintf(why, whylen,
		 "unknown key '%.64s' (memory.min|low|high|max|swap_max, cpu.weight, cpu.max, "
		 "cpu.cpus, pids.max, io.weight)",
		 key);
	return why;
bad:
	snprintf(why, whylen, "%.64s=%.64s: %s", key, val, reason ? reason : "invalid");
	return why;
}

static void cmd_set(struct client *cl, struct json_object *req)
{
	struct json_object *values = NULL, *v;
	struct service **svcs;
	struct cgroup_limits l;
	char why[256];
	struct error failed = { 0 };
	size_t n;
	int r;

	if (get_services(cl, req, false, &svcs, &n) < 0)
		return;
	if (n != 1) {
		one_service_error(cl, "set", svcs, n);
		free(svcs);
		return;
	}
	struct service *svc = svcs[0];
	free(svcs);
	if (json_object_object_get_ex(req, "reset", &v) && json_object_get_boolean(v)) {
		r = service_reset_limits(svc, &failed);
	} else {
		if (!json_object_object_get_ex(req, "values", &values) ||
		    !json_object_is_type(values, json_type_object) ||
		    json_object_object_length(values) == 0) {
			reply_error(cl, "EINVAL", "set needs KEY=VALUE pairs or --reset");
			return;
		}
		l = *service_limits(svc);
		json_object_object_foreach(values, key, val)
		{
			const char *err = set_one(&l, key, json_object_get_string(val),
						  cl->ctl->d->host.mem_total, why, sizeof(why));
			if (err) {
				reply_error(cl, "EINVAL", "%s", err);
				return;
			}
		}
		/* min <= low <= high <= max among the values that are set ("max" is no bound). */
		const uint64_t m[] = { l.memory.min, l.memory.low, l.memory.high, l.memory.max };
		static const char *const names[] = { "memory.min", "memory.low", "memory.high",
						     "memory.max" };
		for (int i = 0; i < 4; i++)
			for (int j = i + 1; j < 4; j++)
				if (m[i] < SPEC_SIZE_MAX && m[j] < SPEC_SIZE_MAX && m[i] > m[j]) {
					reply_error(cl, "EINVAL", "%s must not be above %s",
						    names[i], names[j]);
					return;
				}
		/* A knob the host cannot express: say so, and write none of them. */
		if ((r = service_check_settable(svc, &l, &failed)) == 0)
			r = service_set_limits(svc, &l, &failed);
	}
	if (r < 0) {
		reply_error(cl,
			    r == -EBUSY	       ? "EBUSY"
			    : r == -EOPNOTSUPP ? "EOPNOTSUPP"
					       : "EIO",
			    "set %s: %s", service_name(svc), failed.msg);
		return;
	}
	struct json_object *res = json_object_new_object(), *lim = json_object_new_object();
	add_knobs(lim, service_cgroup(svc), limit_knobs, ARRAY_SIZE(limit_knobs));
	{
		struct json_object *d = json_object_new_object();
		json_object_object_add(d, "by", json_object_new_string("operator"));
		if (cl->who[0]) {
			json_object_object_add(d, "via", json_object_new_string(cl->who));
		} else {
			json_object_object_add(d, "uid", json_object_new_int((int)cl->cred.uid));
			json_object_object_add(d, "pid", json_object_new_int((int)cl->cred.pid));
		}
		if (values)
			json_object_object_add(d, "set", json_object_get(values));
		else
			json_object_object_add(d, "reset", json_object_new_boolean(1));
		eventlog_emit(cl->ctl->d->events, service_name(svc), "limits-changed", d);
	}
	json_object_object_add(res, "name", json_object_new_string(service_name(svc)));
	json_object_object_add(res, "running",
			       json_object_new_boolean(service_cgroup(svc) != NULL));
	json_object_object_add(res, "limits", lim);
	reply_ok(cl, res);
}

static void finish_run(struct client *cl)
{
	struct service *svc = manager_find(cl->ctl->d, cl->run_name);
	struct json_object *res = svc ? service_brief(svc) : json_object_new_object();

	if (svc && cl->following == svc) {
		logstore_unfollow(service_logstore(svc), on_follow_line, cl);
		cl->following = NULL;
	}
	free(cl->run_name);
	cl->run_name = NULL;
	reply_ok(cl, res);
}

/* A transient service from a spec document the client built (YAML or JSON). */
static void cmd_run(struct client *cl, struct json_object *req)
{
	struct json_object *v;
	struct config_errors errs = { 0 };
	struct spec_set *set = NULL;
	struct service *svc;
	bool wait = false, rm = false;
	const char *text;
	int r;

	if (!json_object_object_get_ex(req, "spec", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		reply_error(cl, "EINVAL", "run needs a \"spec\" string");
		return;
	}
	text = json_object_get_string(v);
	if (json_object_object_get_ex(req, "wait", &v))
		wait = json_object_get_boolean(v);
	if (json_object_object_get_ex(req, "rm", &v))
		rm = json_object_get_boolean(v);
	r = config_parse_specs_buffer("run", text, strlen(text), &cl->ctl->d->host, &set, &errs);
	if (r < 0 || set->nservices != 1) {
		char msg[2048] = "";
		size_t used = 0;
		for (size_t i = 0; i < errs.n && used < sizeof(msg) - 1; i++)
			used += (size_t)snprintf(msg + used, sizeof(msg) - used, "%s%s",
						 i ? "; " : "", errs.diags[i].message);
		reply_error(cl, "EINVAL", "%s", r < 0 ? msg : "run takes exactly one service");
		config_errors_clear(&errs);
		spec_set_free(set);
		return;
	}
	if ((r = manager_add(cl->ctl->d, set, rm, &svc)) < 0) {
		reply_error(cl, r == -EEXIST ? "EEXIST" : "EIO", "cannot add %s: %s",
			    set->services[0]->name,
			    r == -EEXIST ? "a service or template of that name exists"
					 : strerror(-r));
		spec_set_free(set);
		return;
	}
	if (wait) {
		/* Stream its output, answer when it has settled. */
		cl->run_name = xstrdup(service_name(svc));
		cl->following = svc;
		(void)logstore_follow(service_logstore(svc), on_follow_line, cl);
	}
	service_set_spec_text(svc, text); /* a restarted paddockd brings it back */
	(void)service_start(svc);
	if (!wait)
		reply_ok(cl, service_brief(svc));
	else if (service_settled(svc))
		finish_run(cl);
}

static void on_event_follow(void *arg, struct json_object *ev)
{
	struct client *cl = arg;
	struct json_object *v;

	if (cl->events_service && (!json_object_object_get_ex(ev, "service", &v) ||
				   strcmp(json_object_get_string(v), cl->events_service) != 0))
		return;
	send_json(cl, json_object_get(ev));
	if (evbuffer_get_length(bufferevent_get_output(cl->bev)) > CONTROL_MAX_OUTPUT) {
		log_warnx("control: dropping an event follower that does not read");
		client_free(cl);
	}
}

static void cmd_events(struct client *cl, struct json_object *req)
{
	struct json_object *v;
	const char *service = NULL;
	uint64_t since = 0;
	int max = 1000;
	bool follow = false;

	if (json_object_object_get_ex(req, "service", &v) && v) {
		service = json_object_get_string(v);
		if (!manager_find(cl->ctl->d, service)) {
			reply_error(cl, "ENOENT", "no such service: %s", service);
			return;
		}
	}
	if (json_object_object_get_ex(req, "since_ms", &v))
		since = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(req, "max", &v))
		max = json_object_get_int(v);
	if (json_object_object_get_ex(req, "follow", &v))
		follow = json_object_get_boolean(v);
	if (max < 1 || max > EVENTS_RING) {
		reply_error(cl, "EINVAL", "max must be 1..%d", EVENTS_RING);
		return;
	}
	reply_ok(cl, eventlog_query(cl->ctl->d->events, service, since, (unsigned)max));
	if (follow && cl->ctl->d->events) {
		cl->events_follow = true;
		cl->events_service = service ? xstrdup(service) : NULL;
		(void)eventlog_follow(cl->ctl->d->events, on_event_follow, cl);
	}
}

/*
 * exec: the request names the service and the command; the answer
 * {"send_fds":3} asks for the client's stdin, stdout and stderr, which
 * come as SCM_RIGHTS on one byte (the bufferevent does not read meanwhile,
 * it would drop them). The command gets them directly: paddockd is never
 * in the data path. With "tty" the helper sends a pty master back over
 * the same socket before the command runs. The final answer is
 * {"exit":N} (N = 128+signal for a signal), with "error" when the
 * command never ran (N = 127).
 */
struct client_exec {
	char *service;
	char **argv, **env;
	char *user, *workdir;
	bool tty;
	struct event *ev_fds;
	struct exec_job *job;
};

static void client_exec_free(struct client *cl)
{
	struct client_exec *x = cl->exec;

	if (!x)
		return;
	if (x->ev_fds)
		event_free(x->ev_fds);
	exec_detach(x->job);
	for (char **p = x->argv; p && *p; p++)
		free(*p);
	for (char **p = x->env; p && *p; p++)
		free(*p);
	free(x->argv);
	free(x->env);
	free(x->service);
	free(x->user);
	free(x->workdir);
	free(x);
	cl->exec = NULL;
}

static void exec_finished(struct client *cl)
{
	client_exec_free(cl);
	bufferevent_enable(cl->bev, EV_READ);
	on_read(cl->bev, cl); /* requests that queued meanwhile */
}

static void on_exec_done(void *arg, int code, const struct error *err)
{
	struct client *cl = arg;
	struct json_object *res = json_object_new_object();

	cl->exec->job = NULL; /* it frees itself */
	json_object_object_add(res, "exit", json_object_new_int(code));
	if (err)
		json_object_object_add(res, "error", json_object_new_string(err->msg));
	reply_ok(cl, res);
	exec_finished(cl);
}

/* Up to 3 fds on one byte; the number received, 0 at EOF, -errno. */
static int recv_fds(int sock, int fds[3])
{
	char byte;
	struct iovec iov = { &byte, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(3 * sizeof(int))];
	} u;
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	int got = 0;

	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (got < 3)
					fds[got++] = fd;
				else
					close(fd);
			}
		}
	if (n == 0 && got == 0)
		return 0;
	if (msg.msg_flags & MSG_CTRUNC) {
		while (got > 0) {
			close(fds[--got]);
			fds[got] = -1; /* the caller closes what is left */
		}
		return -EMSGSIZE;
	}
	return got ? got : -EBADMSG;
}

static void on_exec_fds(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	struct client_exec *x = cl->exec;
	int fds[3] = { -1, -1, -1 };
	int n = recv_fds((int)fd, fds);
	struct error err = { 0 };

	if (n == -EAGAIN)
		return;
	event_free(x->ev_fds);
	x->ev_fds = NULL;
	if (n == 0) {
		client_free(cl); /* gone before sending them */
		return;
	}
	if (n != 3) {
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		reply_error(cl, "EINVAL", "exec: expected stdin, stdout and stderr (%s)",
			    n < 0 ? strerror(-n) : "fewer fds");
		exec_finished(cl);
		return;
	}
	struct service *svc = manager_find(cl->ctl->d, x->service);
	struct exec_request rq = { .argv = x->argv,
				   .env = x->env,
				   .user = x->user,
				   .workdir = x->workdir,
				   .tty = x->tty };
	int r = svc ? exec_start(svc, &rq, fds, (int)fd, on_exec_done, cl, &x->job, &err)
		    : error_set(&err, ENOENT, "no such service: %s", x->service);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	if (r < 0) {
		reply_error(cl, r == -ENOENT ? "ENOENT" : "EIO", "exec in %s: %s", x->service,
			    err.msg);
		exec_finished(cl);
		return;
	}
	/* Read again, for EOF: a client that leaves hangs the command up. */
	bufferevent_enable(cl->bev, EV_READ);
}

static char **json_strv(struct json_object *a)
{
	size_t n = a ? json_object_array_length(a) : 0;
	char **v = xcalloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(json_object_get_string(json_object_array_get_idx(a, i)));
	return v;
}

static bool is_strv(struct json_object *a)
{
	if (!json_object_is_type(a, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string))
			return false;
	return true;
}

static void cmd_exec(struct client *cl, struct json_object *req)
{
	struct json_object *argv = NULL, *env = NULL, *v;
	struct service **svcs;
	struct error err = { 0 };
	size_t n;

	if (get_services(cl, req, false, &svcs, &n) < 0)
		return;
	if (n != 1) {
		one_service_error(cl, "exec", svcs, n);
		free(svcs);
		return;
	}
	struct service *svc = svcs[0];
	free(svcs);
	if (!json_object_object_get_ex(req, "argv", &argv) || !is_strv(argv) ||
	    json_object_array_length(argv) == 0) {
		reply_error(cl, "EINVAL", "exec needs \"argv\", a non-empty array of strings");
		return;
	}
	if (json_object_object_get_ex(req, "env", &env) && !is_strv(env)) {
		reply_error(cl, "EINVAL", "\"env\" must be an array of KEY=VALUE strings");
		return;
	}
	for (size_t i = 0; env && i < json_object_array_length(env); i++) {
		const char *kv = json_object_get_string(json_object_array_get_idx(env, i));
		if (!strchr(kv, '=') || kv[0] == '=') {
			reply_error(cl, "EINVAL", "env: %.64s is not KEY=VALUE", kv);
			return;
		}
	}
	if (exec_check(svc, &err) < 0) {
		reply_error(cl, "EBUSY", "%s", err.msg);
		return;
	}
	struct client_exec *x = xcalloc(1, sizeof(*x));
	x->service = xstrdup(service_name(svc));
	x->argv = json_strv(argv);
	x->env = json_strv(env);
	if (json_object_object_get_ex(req, "user", &v) && v)
		x->user = xstrdup(json_object_get_string(v));
	if (json_object_object_get_ex(req, "workdir", &v) && v)
		x->workdir = xstrdup(json_object_get_string(v));
	if (json_object_object_get_ex(req, "tty", &v))
		x->tty = json_object_get_boolean(v);
	cl->exec = x;
	/* Nothing more is read through the bufferevent until the fds are here. */
	bufferevent_disable(cl->bev, EV_READ);
	x->ev_fds = event_new(cl->ctl->d->base, bufferevent_getfd(cl->bev), EV_READ | EV_PERSIST,
			      on_exec_fds, cl);
	event_add(x->ev_fds, NULL);
	struct json_object *res = json_object_new_object();
	json_object_object_add(res, "send_fds", json_object_new_int(3));
	reply_ok(cl, res);
}

static void cmd_version(struct client *cl, struct json_object *req)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(r, "protocol", json_object_new_int(PROTOCOL_VERSION));
	json_object_object_add(r, "pid", json_object_new_int(getpid()));
	json_object_object_add(r, "instance", json_object_new_uint64(cl->ctl->d->instance));
	json_object_object_add(r, "state_dir", json_object_new_string(cl->ctl->d->cfg->state_dir));
	json_object_object_add(r, "cgroups",
			       json_object_new_string(cgroup_host_describe(cl->ctl->d->cgroups)));
	reply_ok(cl, r);
}

/* list and status: every service when no name is given; status adds limits, usage, logs. */
static void list_services(struct client *cl, struct json_object *req, bool full)
{
	struct service **svcs;
	size_t n;

	if (get_services(cl, req, true, &svcs, &n) == 0) {
		/*
		 * The reply reply_ok would send, written one service at a time: a
		 * tree of every service was ~1.5 kB a service for list, more for
		 * status, built and freed at each call; its peak set the heap's
		 * size with 1000 services.
		 */
		struct evbuffer *out = bufferevent_get_output(cl->bev);
		evbuffer_add_printf(out, "{\"v\":%d,\"ok\":true,\"result\":[", PROTOCOL_VERSION);
		for (size_t i = 0; i < n; i++) {
			struct json_object *o = full ? service_full(cl->ctl, svcs[i])
						     : service_listed(cl->ctl, svcs[i]);
			size_t len;
			const char *t =
			    json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
			if (i)
				evbuffer_add(out, ",", 1);
			evbuffer_add(out, t, len);
			json_object_put(o);
		}
		evbuffer_add(out, "]}\n", 3);
		free(svcs);
	}
}

static void cmd_list(struct client *cl, struct json_object *req)
{
	list_services(cl, req, false);
}

static void cmd_status(struct client *cl, struct json_object *req)
{
	list_services(cl, req, true);
}

/*
 * cat: each named service's effective spec as this daemon has it (after
 * includes, merge keys and interpolation); secrets appear by name only.
 */
static void cmd_cat(struct client *cl, struct json_object *req)
{
	struct json_object *arr;
	struct service **svcs;
	size_t n;

	if (get_services(cl, req, false, &svcs, &n) < 0)
		return;
	arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		const struct service_spec *sp = service_spec(svcs[i]);
		const char *text = sp->effective;
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(service_name(svcs[i])));
		json_object_object_add(o, "file", json_object_new_string(sp->file ? sp->file : ""));
		json_object_object_add(o, "text", json_object_new_string(text ? text : ""));
		json_object_array_add(arr, o);
	}
	free(svcs);
	reply_ok(cl, arr);
}

static void cmd_network_ls(struct client *cl, struct json_object *req)
{
	(void)req;
	reply_ok(cl, netmgr_list_json(cl->ctl->d->env.net));
}

static void cmd_network_inspect(struct client *cl, struct json_object *req)
{
	struct json_object *v, *o;
	const char *name;

	if (!json_object_object_get_ex(req, "name", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		reply_error(cl, "EINVAL", "network-inspect: \"name\" must be a string");
		return;
	}
	name = json_object_get_string(v);
	if (!(o = netmgr_inspect_json(cl->ctl->d->env.net, name))) {
		reply_error(cl, "ENOENT", "no network %.64s", name);
		return;
	}
	reply_ok(cl, o);
}

/* Layers of the images services use: `image prune` keeps them. */
static void cmd_image_in_use(struct client *cl, struct json_object *req)
{
	struct json_object *arr = json_object_new_array();
	struct manager *d = cl->ctl->d;
	for (size_t i = 0; i < d->nservices; i++) {
		enum service_state st = service_state(d->services[i]);
		/* Stopped and failed services keep their image cached, not pinned. */
		const struct image_info *img =
		    st == SVC_STOPPED || st == SVC_FAILED ? NULL : service_image(d->services[i]);
		for (size_t k = 0; img && k < img->nlayers; k++)
			json_object_array_add(arr, json_object_new_string(img->layer_digests[k]));
	}
	reply_ok(cl, arr);
}

/* Services keep running; the new image takes them over (persist.c). */
static void cmd_daemon_reexec(struct client *cl, struct json_object *req)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "pid", json_object_new_int(getpid()));
	json_object_object_add(r, "instance", json_object_new_uint64(cl->ctl->d->instance));
	persist_request_reexec(cl->ctl->persist);
	reply_ok(cl, r);
}

static void cmd_reload(struct client *cl, struct json_object *req)
{
	struct config_errors errs = { 0 };
	struct json_object *summary = NULL;
	if (manager_reload(cl->ctl->d, &errs, &summary) == 0) {
		reply_ok(cl, summary);
	} else {
		/* Every diagnostic, each with its file, line and column. */
		struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
		for (size_t i = 0; i < errs.n; i++) {
			struct json_object *e = json_object_new_object();
			json_object_object_add(
			    e, "file",
			    json_object_new_string(errs.diags[i].file ? errs.diags[i].file : ""));
			json_object_object_add(e, "line", json_object_new_int(errs.diags[i].line));
			json_object_object_add(e, "column",
					       json_object_new_int(errs.diags[i].column));
			json_object_object_add(e, "message",
					       json_object_new_string(errs.diags[i].message));
			json_object_array_add(arr, e);
		}
		json_object_object_add(o, "v", json_object_new_int(PROTOCOL_VERSION));
		json_object_object_add(o, "ok", json_object_new_boolean(0));
		json_object_object_add(
		    o, "error",
		    json_object_new_string(
			"reload refused: the specs have errors; nothing changed"));
		json_object_object_add(o, "code", json_object_new_string("ECONFIG"));
		json_object_object_add(o, "errors", arr);
		send_json(cl, o);
		config_errors_clear(&errs);
	}
}

/* One command of the protocol: what a request's "cmd" selects. */
/* --- fleet: commands the fleet module answers (control_set_fleet) -------------------- */

void control_set_fleet(struct control *c, control_fleet_fn fn, void *arg)
{
	if (c) {
		c->fleet = fn;
		c->fleet_arg = arg;
	}
}

void control_fleet_answer(struct control *c, uint64_t ticket, struct json_object *result,
			  const char *code, const char *msg)
{
	struct client *cl = c->clients;

	while (cl && cl->fleet_ticket != ticket)
		cl = cl->next;
	if (!cl || !ticket) {
		json_object_put(result);
		return;
	}
	cl->fleet_ticket = 0;
	if (code)
		reply_error(cl, code, "%s", msg);
	else
		reply_ok(cl, result);
	if (!c->fleet_dispatching)
		on_read(cl->bev, cl); /* requests that queued meanwhile */
}

static void cmd_fleet(struct client *cl, struct json_object *req)
{
	struct control *c = cl->ctl;
	struct json_object *v;

	if (!c->fleet) {
		reply_error(cl, "ENOTSUP",
			    "this paddockd is not in a fleet (no fleet: in its config)");
		return;
	}
	json_object_object_get_ex(req, "cmd", &v);
	cl->fleet_ticket = ++c->fleet_tickets;
	c->fleet_dispatching = true;
	c->fleet(c->fleet_arg, json_object_get_string(v), req, cl->fleet_ticket);
	c->fleet_dispatching = false;
}

struct control_cmd {
	const char *name;
	void (*handler)(struct client *cl, struct json_object *req);
	unsigned flags;
	const char *usage; /* the request's fields besides "v" and "cmd"; "?": optional */
};

/*
 * The answer may wait until services settle, or a stream may follow it;
 * either way the client's next requests wait their turn (on_read).
 */
#define CONTROL_CMD_HOLDS 0x1
/* Changes nothing: a read-only client (an API read token) may send it. */
#define CONTROL_CMD_READONLY 0x2
#define RO CONTROL_CMD_READONLY

/* Looked up by a linear scan: a handful of entries. */
static const struct control_cmd control_cmds[] = {
	{ PROTO_CMD_VERSION, cmd_version, RO, "" },
	{ PROTO_CMD_LIST, cmd_list, RO, "names?" },
	{ PROTO_CMD_STATUS, cmd_status, RO, "names?" },
	{ PROTO_CMD_START, cmd_start, 0, "names" },
	{ PROTO_CMD_STOP, cmd_stop, CONTROL_CMD_HOLDS, "names" },
	{ PROTO_CMD_RESTART, cmd_restart, CONTROL_CMD_HOLDS, "names" },
	{ PROTO_CMD_KILL, cmd_kill, 0, "names signal?" },
	{ PROTO_CMD_FREEZE, cmd_freeze, 0, "names" },
	{ PROTO_CMD_THAW, cmd_thaw, 0, "names" },
	{ PROTO_CMD_LOGS, cmd_logs, CONTROL_CMD_HOLDS | RO, "names(one) lines? since_ms? follow?" },
	{ PROTO_CMD_IMAGE_IN_USE, cmd_image_in_use, RO, "" },
	{ PROTO_CMD_DAEMON_REEXEC, cmd_daemon_reexec, 0, "" },
	{ PROTO_CMD_RELOAD, cmd_reload, 0, "" },
	{ PROTO_CMD_EVENTS, cmd_events, CONTROL_CMD_HOLDS | RO, "service? since_ms? max? follow?" },
	{ PROTO_CMD_SET, cmd_set, 0, "names(one) values|reset" },
	{ PROTO_CMD_RUN, cmd_run, CONTROL_CMD_HOLDS, "spec wait? rm?" },
	{ PROTO_CMD_NETWORK_LS, cmd_network_ls, RO, "" },
	{ PROTO_CMD_NETWORK_INSPECT, cmd_network_inspect, RO, "name" },
	{ PROTO_CMD_CAT, cmd_cat, RO, "names" },
	{ PROTO_CMD_EXEC, cmd_exec, CONTROL_CMD_HOLDS, "names(one) argv env? user? workdir? tty?" },
	{ PROTO_CMD_FLEET_APPLY, cmd_fleet, CONTROL_CMD_HOLDS, "files" },
	{ PROTO_CMD_FLEET_RM, cmd_fleet, CONTROL_CMD_HOLDS, "names" },
	{ PROTO_CMD_FLEET_STATUS, cmd_fleet, CONTROL_CMD_HOLDS | RO, "" },
	{ PROTO_CMD_FLEET_NODES, cmd_fleet, CONTROL_CMD_HOLDS | RO, "" },
};

#undef RO

static const struct control_cmd *control_cmd_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(control_cmds); i++)
		if (strcmp(control_cmds[i].name, name) == 0)
			return &control_cmds[i];
	return NULL;
}

static void handle_request(struct client *cl, const char *line, size_t len)
{
	const struct control_cmd *c;
	struct json_object *req;
	const char *cmd, *code;
	struct error err = { 0 };

	if (control_parse_request(line, len, &req, &cmd, &code, &err) < 0) {
		reply_error(cl, code, "%s", err.msg);
		return;
	}
	if ((c = control_cmd_find(cmd)) && cl->readonly && !(c->flags & CONTROL_CMD_READONLY))
		reply_error(cl, "EPERM", "%s changes the host: a read-only client may not send it",
			    c->name);
	else if (c)
		c->handler(cl, req);
	else
		reply_error(cl, "ENOSYS", "unknown command: %.64s", cmd);
	json_object_put(req);
}

/* --- connections ------------------------------------------------------------------- */

static void client_free(struct client *cl)
{
	struct control *ctl;

	if (!cl)
		return;
	ctl = cl->ctl;
	if (cl->following)
		logstore_unfollow(service_logstore(cl->following), on_follow_line, cl);
	if (cl->events_follow)
		eventlog_unfollow(cl->ctl->d->events, on_event_follow, cl);
	free(cl->events_service);
	client_exec_free(cl);
	if (cl->run_name) {
		/* run --wait is bound to its client: the client left, the service stops. */
		struct service *svc = manager_find(cl->ctl->d, cl->run_name);
		if (svc && !service_settled(svc))
			(void)service_stop(svc);
		free(cl->run_name);
	}
	for (size_t i = 0; i < cl->nwaiting; i++)
		free(cl->waiting[i]);
	free(cl->waiting);
	*cl->prevp = cl->next;
	if (cl->next)
		cl->next->prevp = cl->prevp;
	cl->ctl->nclients--;
	bufferevent_free(cl->bev);
	free(cl);
	/*
	 * A reply about every service (status of 1000 is over a megabyte) is
	 * freed in pieces inside the heap, which glibc keeps: give the pages
	 * back once no client is left. Costs microseconds; replies are rare.
	 */
	if (ctl->nclients == 0)
		(void)malloc_trim(0);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct client *cl = arg;

	if (cl->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		client_free(cl);
}

static void close_after_reply(struct client *cl)
{
	cl->closing = true;
	bufferevent_disable(cl->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(cl->bev)) == 0)
		client_free(cl);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!cl->closing && !cl->nwaiting && !cl->following && !cl->run_name &&
	       !cl->events_follow && !cl->exec && !cl->fleet_ticket) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (!line) {
			if (evbuffer_get_length(in) > CONTROL_MAX_REQUEST) {
				reply_error(cl, "E2BIG", "request larger than %d bytes",
					    CONTROL_MAX_REQUEST);
				close_after_reply(cl);
			}
			return;
		}
		if (len > CONTROL_MAX_REQUEST) {
			free(line);
			reply_error(cl, "E2BIG", "request larger than %d bytes",
				    CONTROL_MAX_REQUEST);
			close_after_reply(cl);
			return;
		}
		handle_request(cl, line, len);
		free(line);
		if (evbuffer_get_length(bufferevent_get_output(bev)) > CONTROL_MAX_OUTPUT) {
			log_warnx("control: dropping a client that does not read its answers");
			client_free(cl);
			return;
		}
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		client_free(arg);
}

/* Root, or a member of group "paddock". */
static bool authorised(const struct ucred *cred)
{
	struct group *gr;
	struct passwd *pw;
	gid_t groups[256];
	int ngroups = (int)ARRAY_SIZE(groups);

	if (cred->uid == 0)
		return true;
	if (!(gr = getgrnam("paddock")))
		return false;
	if (cred->gid == gr->gr_gid)
		return true;
	if (!(pw = getpwuid(cred->uid)))
		return false;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
		return false;
	for (int i = 0; i < ngroups; i++)
		if (groups[i] == gr->gr_gid)
			return true;
	return false;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct control *ctl = arg;

	evconnlistener_enable(ctl->listener);
}

/*
 * accept() failed. Out of descriptors or memory, the pending connection
 * stays queued and the socket stays readable: without a pause we would
 * spin. Pause the listener briefly; the client waits in the backlog.
 */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct control *ctl = arg;
	static uint64_t last_log;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, ACCEPT_PAUSE_MS * 1000 };

	if (now_ms() - last_log >= 10000) {
		log_warnx("control: accept: %s; pausing new connections for %d ms", strerror(err),
			  ACCEPT_PAUSE_MS);
		last_log = now_ms();
	}
	evconnlistener_disable(l);
	evtimer_add(ctl->ev_resume, &tv);
}

static struct client *client_new(struct control *ctl, struct bufferevent *bev)
{
	struct client *cl = xcalloc(1, sizeof(*cl));

	cl->ctl = ctl;
	cl->bev = bev;
	cl->next = ctl->clients;
	cl->prevp = &ctl->clients;
	if (ctl->clients)
		ctl->clients->prevp = &cl->next;
	ctl->clients = cl;
	ctl->nclients++;
	bufferevent_setcb(cl->bev, on_read, on_write, on_event, cl);
	bufferevent_setwatermark(cl->bev, EV_READ, 0, CONTROL_MAX_REQUEST + 4096);
	return cl;
}

int control_attach(struct control *ctl, struct bufferevent *bev, unsigned flags, const char *who)
{
	struct client *cl;

	/* The last CONTROL_ATTACH_RESERVE slots are the Unix socket's: root keeps a way in. */
	if (ctl->nclients >= CONTROL_MAX_CLIENTS - CONTROL_ATTACH_RESERVE)
		return -EMFILE;
	cl = client_new(ctl, bev);
	cl->cred.uid = (uid_t)-1;
	cl->readonly = flags & CONTROL_CLIENT_READONLY;
	snprintf(cl->who, sizeof(cl->who), "%s", who && *who ? who : "attached");
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	return 0;
}

bool control_cmd_readonly(const char *cmd)
{
	const struct control_cmd *c = control_cmd_find(cmd);

	return c && (c->flags & CONTROL_CMD_READONLY);
}

struct json_object *control_service_json(struct control *ctl, struct service *svc, bool full)
{
	return full ? service_full(ctl, svc) : service_listed(ctl, svc);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct control *ctl = arg;
	struct client *cl;
	socklen_t len = sizeof(struct ucred);

	if (ctl->nclients >= CONTROL_MAX_CLIENTS) {
		log_warnx("control: too many clients, refusing one");
		close(fd);
		return;
	}
	cl = client_new(ctl, bufferevent_socket_new(ctl->d->base, fd, BEV_OPT_CLOSE_ON_FREE));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cl->cred, &len) < 0 ||
	    !authorised(&cl->cred)) {
		reply_error(
		    cl, "EACCES",
		    "permission denied: only root and members of group paddock may use paddockd");
		close_after_reply(cl);
		return;
	}
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
}

/* A manager observer: answer clients waiting for services that settled. */
static void on_services_changed(void *arg)
{
	struct control *ctl = arg;

	if (!ctl)
		return;
	for (struct client *cl = ctl->clients, *next; cl; cl = next) {
		next = cl->next;
		if (cl->run_name) {
			struct service *svc = manager_find(ctl->d, cl->run_name);
			if (!svc || service_settled(svc))
				finish_run(cl);
			continue;
		}
		if (cl->nwaiting && waiting_done(cl)) {
			finish_waiting(cl);
			/* More requests may have queued while we waited. */
			on_read(cl->bev, cl);
		}
	}
}

int control_open(struct manager *d, struct persist *persist, struct rebalancer *rb,
		 struct control **out)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = -1, n = sd_listen_fds(1);

	ctl->d = d;
	ctl->persist = persist;
	ctl->rb = rb;
	if (n == 1) {
		fd = SD_LISTEN_FDS_START;
		log_info("control: using the socket passed by systemd");
	} else {
		xasprintf(&ctl->path, "%s/control.sock", d->cfg->runtime_dir);
		if (strlen(ctl->path) >= sizeof(sun.sun_path)) {
			free(ctl->path);
			free(ctl);
			return -ENAMETOOLONG;
		}
		strcpy(sun.sun_path, ctl->path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		(void)unlink(ctl->path);
		mode_t old = umask(0117);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
		    listen(fd, 128) < 0) {
			int r = -errno;
			umask(old);
			if (fd >= 0)
				close(fd);
			free(ctl->path);
			free(ctl);
			return r;
		}
		umask(old);
		struct group *gr = getgrnam("paddock");
		if (gr)
			(void)!chown(ctl->path, 0, gr->gr_gid);
		(void)chmod(ctl->path, 0660);
	}
	evutil_make_socket_nonblocking(fd);
	ctl->listener = evconnlistener_new(d->base, on_accept, ctl,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!ctl->listener) {
		close(fd);
		free(ctl->path);
		free(ctl);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(ctl->listener, on_accept_error);
	ctl->ev_resume = evtimer_new(d->base, on_resume, ctl);
	manager_observe(d, on_services_changed, ctl);
	*out = ctl;
	return 0;
}

struct control *control_free(struct control *ctl)
{
	if (!ctl)
		return NULL;
	while (ctl->clients)
		client_free(ctl->clients);
	evconnlistener_free(ctl->listener);
	if (ctl->ev_resume)
		event_free(ctl->ev_resume);
	if (ctl->path)
		(void)unlink(ctl->path);
	free(ctl->path);
	free(ctl);
	return NULL;
}
