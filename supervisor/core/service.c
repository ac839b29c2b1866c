/*
 * service.c - one service's state machine: the states x events table,
 * restart policy, backoff, start limit, dependency waits, stop escalation
 * and the operations (start, stop, restart, kill, freeze). The process
 * side lives in service-launch.c and its neighbours (service-internal.h).
 *
 * Every state change goes through service_set_state(), which tells the
 * hooks; every reaction to an event goes through service_dispatch() and
 * its table (s6-supervise's). A service is settled only when its process
 * has exited, its cgroup is gone and both output pipes have hit EOF
 * (tmux's JOB_DEAD and JOB_CLOSED).
 */
#include <sys/wait.h>

#include <json-c/json.h>

#include "events.h"
#include "image.h"
#include "log.h"
#include "logstore.h"
#include "ready.h"
#include "service-internal.h"
#include "units.h"
#include "util.h"

static const char *const service_event_names[SE_NEVENTS] = { "start",	      "stop",	"exec-ok",
							     "launch-failed", "exited", "timer",
							     "cleaned" };

static void on_timer(evutil_socket_t fd, short what, void *arg);

const char *service_state_name(enum service_state st)
{
	static const char *const names[] = { "stopped", "starting", "running", "stopping",
					     "backoff", "failed",   "waiting", "parked" };
	return st < ARRAY_SIZE(names) ? names[st] : "?";
}

void service_set_state(struct service *svc, enum service_state st)
{
	if (svc->state == st)
		return;
	log_debug("service %s: %s -> %s", svc->spec->name, service_state_name(svc->state),
		  service_state_name(st));
	svc->state = st;
	svc->since_ms = realtime_ms();
	svc->env->hooks->changed(svc->env->hooks_arg, svc);
}

const char *service_exit_kind_name(enum exit_kind kind)
{
	static const char *const kinds[] = { "none",	"exited",      "signal",   "oom-kill",
					     "launch",	"start-limit", "watchdog", "ready-timeout",
					     "unknown", "unhealthy" };
	_Static_assert(ARRAY_SIZE(kinds) == EXIT_KIND_MAX, "a name for every exit kind");

	return (unsigned)kind < ARRAY_SIZE(kinds) ? kinds[kind] : "?";
}

struct json_object *service_exit_json(const struct service_exit *e)
{
	struct json_object *o;

	if (e->kind == EXIT_NONE)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string(service_exit_kind_name(e->kind)));
	json_object_object_add(o, "code", json_object_new_int(e->code));
	json_object_object_add(o, "reason", json_object_new_string(e->reason));
	json_object_object_add(o, "time_ms", json_object_new_int64((int64_t)e->when_ms));
	return o;
}

/* An event about this service, with its main pid when it has one. */
void svc_emit(struct service *svc, const char *type, struct json_object *data)
{
	if (!data)
		data = json_object_new_object();
	if (svc->main_pid)
		json_object_object_add(data, "pid", json_object_new_int(svc->main_pid));
	eventlog_emit(svc->env->events, svc->spec->name, type, data);
}

/* Tell the hooks whether the cgroup is live (watched) or about to go. */
void svc_watch(struct service *svc, bool live)
{
	svc->env->hooks->watch(svc->env->hooks_arg, svc, live);
}

static struct service *svc_find(const struct service *svc, const char *name)
{
	return svc->env->hooks->find(svc->env->hooks_arg, name);
}

struct json_object *svc_jobj(const char *k1, struct json_object *v1, const char *k2,
			     struct json_object *v2)
{
	struct json_object *o = json_object_new_object();
	if (k1)
		json_object_object_add(o, k1, v1);
	if (k2)
		json_object_object_add(o, k2, v2);
	return o;
}

void svc_limits_from_spec(struct cgroup_limits *l, const struct service_spec *spec)
{
	l->memory = spec->resources.memory;
	l->cpu_weight = spec->resources.cpu.weight;
	l->cpu_max_mcpu = spec->resources.cpu.max_mcpu;
	l->cpus = spec->resources.cpu.cpus;
	l->pids_max = spec->resources.pids_max;
	l->io_weight = spec->resources.io_weight;
	l->io_max = spec->io_max;
	l->nio_max = spec->nio_max;
	l->hugetlb = spec->hugetlb;
	l->nhugetlb = spec->nhugetlb;
	l->mems = spec->cpu_mems;
	/* A service on its own root gets paddock's /dev, and only those devices. */
	l->devices_policy = spec->image || spec->rootfs || spec->ndevices;
	l->devices = spec->devices;
	l->ndevices = spec->ndevices;
}

struct service *service_new(const struct service_env *env, const struct service_spec *spec)
{
	struct service *svc = xcalloc(1, sizeof(*svc));

	svc->env = env;
	svc->spec = spec;
	svc->state = SVC_STOPPED;
	svc->since_ms = realtime_ms();
	svc->child =
	    (struct launch_child){ .pidfd = -1, .reportfd = -1, .statusfd = -1, .gofd = -1 };
	svc->out_fd[0] = svc->out_fd[1] = -1;
	svc->image_fd = -1;
	svc->ev_timer = evtimer_new(env->base, on_timer, svc);
	svc->ev_watchdog = evtimer_new(env->base, svc_on_watchdog, svc);
	svc->starts = xcalloc(spec->restart.burst ? spec->restart.burst : 1, sizeof(uint64_t));
	svc_limits_from_spec(&svc->limits, spec);
	svc->log = logstore_new(env->logs_dir, spec->name, env->cfg->log.max_size,
				env->cfg->log.keep, env->journald);
	return svc;
}

struct service *service_free(struct service *svc)
{
	if (!svc)
		return NULL;
	svc_watch(svc, false);
	svc_readiness_end(svc);
	svc_release_process(svc);
	svc_close_output(svc, 0);
	svc_close_output(svc, 1);
	if (svc->ev_timer)
		event_free(svc->ev_timer);
	if (svc->ev_watchdog)
		event_free(svc->ev_watchdog);
	free(svc->status_text);
	free(svc->report);
	svc->cg = cgroup_free(svc->cg);
	svc->log = logstore_free(svc->log);
	free(svc->starts);
	free(svc->cpus_override);
	if (svc->ev_image)
		event_free(svc->ev_image);
	if (svc->image_fd >= 0)
		close(svc->image_fd);
	svc->image = image_info_free(svc->image);
	free(svc->rootfs_dir);
	free(svc->spec_text);
	svc->owned_specs = spec_set_free(svc->owned_specs);
	free(svc);
	return NULL;
}

/* Start-limit: `burst` starts within `interval` puts the service in failed. */
static bool start_limit_hit(struct service *svc, uint64_t now)
{
	unsigned burst = svc->spec->restart.burst;

	if (burst == 0)
		return false;
	if (svc->nstarts >= burst) {
		uint64_t oldest = svc->starts[svc->starts_pos];
		if (now - oldest < svc->spec->restart.interval_ms)
			return true;
	}
	svc->starts[svc->starts_pos] = now;
	svc->starts_pos = (svc->starts_pos + 1) % burst;
	if (svc->nstarts < burst)
		svc->nstarts++;
	return false;
}

/* Fail before any process exists: record why and go to failed. */
void svc_fail_start(struct service *svc, enum exit_kind kind, const char *fmt, ...)
{
	va_list ap;

	svc->last_exit.kind = kind;
	svc->last_exit.code = 0;
	svc->last_exit.when_ms = realtime_ms();
	va_start(ap, fmt);
	vsnprintf(svc->last_exit.reason, sizeof(svc->last_exit.reason), fmt, ap);
	va_end(ap);
	svc_account_exit(svc);
	log_warnx("service %s: failed: %s", svc->spec->name, svc->last_exit.reason);
	logstore_note(svc->log, "failed: %s", svc->last_exit.reason);
	svc_emit(svc, "failed",
		 svc_jobj("reason", json_object_new_string(svc->last_exit.reason), NULL, NULL));
	(void)svc_destroy_cgroup(svc);
	service_set_state(svc, SVC_FAILED);
}

/* --- dependencies --------------------------------------------------------------------- */

/*
 * Healthy for depends_on's condition healthy. Without a health check: once
 * ready (running). With one: running, until health.c's verdict is wired in
 * here (service_health(svc) == "healthy").
 */
bool svc_is_healthy(const struct service *svc)
{
	const char *h = service_health(svc);

	if (svc->spec->health.type == HEALTH_NONE)
		return svc->state == SVC_RUNNING;
	return svc->state == SVC_RUNNING && h && strcmp(h, "healthy") == 0;
}

/*
 * Ran to its end on its own with status 0 and nothing restarts it: a
 * one-shot that did its job. That meets every condition, so that
 * `depends_on: [migrate]` does not wait for good once migrate is done.
 */
static bool completed_ok(const struct service *d)
{
	return d->state == SVC_STOPPED && !d->stop_requested && d->last_exit.kind == EXIT_CODE &&
	       d->last_exit.code == 0;
}

enum dep_verdict { DEP_MET, DEP_WAIT, DEP_BROKEN };

static const char *dep_condition_name(enum spec_dep_condition c)
{
	static const char *const names[] = { "ready", "started", "healthy",
					     "completed_successfully" };
	return (unsigned)c < ARRAY_SIZE(names) ? names[c] : "?";
}

/* Does dependency i meet its condition? Broken: it never will (why says so). */
static enum dep_verdict dep_check(const struct service *svc, size_t i, char *why, size_t len)
{
	const struct spec_dep *cond = svc->spec->deps ? &svc->spec->deps[i] : NULL;
	const char *name = svc->spec->depends_on[i];
	const struct service *d = svc_find(svc, name);
	enum spec_dep_condition c = cond ? cond->condition : DEP_READY;
	bool met = false;

	if (d && completed_ok(d))
		return DEP_MET;
	if (d) {
		switch (c) {
		case DEP_STARTED:
			met = d->state == SVC_RUNNING || (d->state == SVC_STARTING && d->main_pid);
			break;
		case DEP_READY:
			met = d->state == SVC_RUNNING;
			break;
		case DEP_HEALTHY:
			met = svc_is_healthy(d);
			break;
		case DEP_COMPLETED:
			break;
		}
	}
	if (met)
		return DEP_MET;
	if (d && c == DEP_COMPLETED && d->state == SVC_FAILED) {
		if (d->last_exit.kind == EXIT_CODE)
			snprintf(why, len, "dependency %s exited %d", name, d->last_exit.code);
		else
			snprintf(why, len, "dependency %s failed: %s", name, d->last_exit.reason);
		return DEP_BROKEN;
	}
	/* "db (healthy)", and what keeps it from coming on its own */
	snprintf(why, len, "%s (%s)%s", name, dep_condition_name(c),
		 !d			   ? ": not loaded"
		 : d->state == SVC_FAILED  ? ": it failed"
		 : d->state == SVC_STOPPED ? ": it is stopped"
		 : d->state == SVC_WAITING ? ": it waits too"
		 : d->state == SVC_BACKOFF ? ": it restarts"
		 : d->state == SVC_PARKED  ? ": it is parked"
		 : c == DEP_COMPLETED	   ? ": still running"
					   : "");
	return DEP_WAIT;
}

/* The first dependency whose condition is not met: -1 when all are; *broken: never will. */
static ssize_t deps_unmet(const struct service *svc, char *why, size_t len, bool *broken)
{
	*broken = false;
	for (size_t i = 0; i < svc->spec->ndepends_on; i++) {
		enum dep_verdict v = dep_check(svc, i, why, len);

		if (v == DEP_MET)
			continue;
		*broken = v == DEP_BROKEN;
		return (ssize_t)i;
	}
	return -1;
}

bool service_deps_ready(const struct service *svc)
{
	char why[SPEC_NAME_MAX + 64];
	bool broken;

	return deps_unmet(svc, why, sizeof(why), &broken) < 0;
}

const char *service_waiting_for(const struct service *svc, char *buf, size_t len)
{
	bool broken;

	if (svc->state != SVC_WAITING || deps_unmet(svc, buf, len, &broken) < 0)
		return NULL;
	return buf;
}

/*
 * Not every condition is met: wait, visibly, saying for what; or fail
 * when one never will be (completed_successfully of a failed one-shot).
 */
static bool wait_for_deps(struct service *svc)
{
	char why[256];
	bool broken;

	if (deps_unmet(svc, why, sizeof(why), &broken) < 0)
		return false;
	if (broken) {
		svc_fail_start(svc, EXIT_LAUNCH, "%s", why);
		return true;
	}
	if (svc->state != SVC_WAITING) {
		struct json_object *on = json_object_new_array();
		char w[256];

		for (size_t i = 0; i < svc->spec->ndepends_on; i++)
			if (dep_check(svc, i, w, sizeof(w)) != DEP_MET)
				json_object_array_add(
				    on, json_object_new_string(svc->spec->depends_on[i]));
		struct json_object *d = svc_jobj("for", on, "reason", json_object_new_string(why));
		svc_emit(svc, "waiting", d);
		log_info("service %s: waiting for %s", svc->spec->name, why);
		service_set_state(svc, SVC_WAITING);
	}
	return true;
}

/*
 * Batch work the budget cannot hold even at its floor parks instead of
 * starting into a loop of OOM kills; the manager asks again as room
 * appears (manager_unpark).
 */
static bool wait_for_room(struct service *svc)
{
	const struct service_hooks *h = svc->env->hooks;
	char why[160];

	if (!h || !h->room || h->room(svc->env->hooks_arg, svc, why, sizeof(why)))
		return false;
	if (svc->state != SVC_PARKED) {
		log_info("service %s: parked: %s", svc->spec->name, why);
		svc_emit(svc, "parked",
			 svc_jobj("reason", json_object_new_string(why), NULL, NULL));
		service_set_state(svc, SVC_PARKED);
	}
	return true;
}

/* Start now; limited: the start counts in the start limit (all but a reload's). */
static void start_now(struct service *svc, bool limited)
{
	const struct service_spec *spec = svc->spec;

	if (wait_for_room(svc))
		return;

	free(svc->report);
	svc->report = NULL;
	svc->stop_requested = false;
	svc->kill_sent = false;
	svc->sigkill_sent = false;
	svc->frozen = false;
	svc->forced = EXIT_NONE;
	svc->notify_mainpid = 0;
	svc->ready_ms = 0;
	svc->last_watchdog_ms = 0;
	svc->watchdog_usec = spec->watchdog_ms * 1000;
	free(svc->status_text);
	svc->status_text = NULL;

	if (limited && start_limit_hit(svc, now_ms())) {
		char iv[32];
		svc_fail_start(svc, EXIT_START_LIMIT, "start-limit-hit: %u starts within %s",
			       spec->restart.burst,
			       units_format_duration(spec->restart.interval_ms, iv, sizeof(iv)));
		return;
	}
	if (spec->image && !svc->image) {
		svc_prepare_image(svc); /* svc_launch_now() once the layers are in the store */
		return;
	}
	svc_launch_now(svc);
}

static void do_start(struct service *svc)
{
	start_now(svc, true);
}

/* --- stopping and cleanup ------------------------------------------------------------- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	service_dispatch(arg, SE_TIMER);
}

void svc_set_timer(struct service *svc, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	evtimer_del(svc->ev_timer);
	evtimer_add(svc->ev_timer, &tv);
	svc->timer_due = now_ms() + ms;
}

static uint64_t backoff_delay(struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	uint64_t d = spec->restart.delay_ms;

	for (unsigned i = 1; i < svc->failures && d < spec->restart.max_delay_ms; i++)
		d *= 2;
	if (d > spec->restart.max_delay_ms)
		d = spec->restart.max_delay_ms;
	/* +-10% jitter so services that failed together don't restart together. */
	if (d >= 10)
		d = d - d / 10 + (uint64_t)random() % (d / 5 + 1);
	return d;
}

/* One more failure: back off (exponentially, with jitter), then start again. */
static void schedule_restart(struct service *svc)
{
	svc->failures++;
	uint64_t delay = backoff_delay(svc);
	log_info("service %s: restarting in %llu ms", svc->spec->name, (unsigned long long)delay);
	service_set_state(svc, SVC_BACKOFF);
	svc_set_timer(svc, delay);
	svc_emit(svc, "restart-scheduled",
		 svc_jobj("delay_ms", json_object_new_int64((int64_t)delay), "failures",
			  json_object_new_int((int)svc->failures)));
}

/* Should the exit just recorded lead to a restart? */
static bool wants_restart(struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	const struct service_exit *e = &svc->last_exit;

	if (svc->stop_requested || svc->env->shutting_down)
		return false;
	if (e->kind == EXIT_OOM)
		return spec->on_oom != ON_OOM_STOP;
	switch (spec->restart.policy) {
	case RESTART_ALWAYS:
		return true;
	case RESTART_NEVER:
		return false;
	case RESTART_ON_FAILURE:
		return !(e->kind == EXIT_CODE && e->code == 0);
	}
	return false;
}

void svc_account_exit(struct service *svc)
{
	const struct service_exit *e = &svc->last_exit;

	if ((unsigned)e->kind < EXIT_KIND_MAX)
		svc->exits[e->kind]++;
	if (e->kind == EXIT_LAUNCH || e->kind == EXIT_START_LIMIT)
		return; /* the service never ran: the "failed" event tells */
	if (!svc->stop_requested)
		log_info("service %s: main process %s", svc->spec->name, e->reason);
	logstore_note(svc->log, "main process %s", e->reason);
	struct json_object *d = service_exit_json(e);
	json_object_object_add(d, "runtime_ms",
			       json_object_new_int64((int64_t)(now_ms() - svc->started_mono)));
	json_object_object_add(d, "requested", json_object_new_boolean(svc->stop_requested));
	json_object_object_add(d, "pid", json_object_new_int(svc->last_pid));
	/* The oom-kill event itself comes from monitor.c, before or after this one. */
	eventlog_emit(svc->env->events, svc->spec->name, "exit", d);
}

/* The main process is gone: decide between stopped, failed and backoff. */
static void settle_after_exit(struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	const struct service_exit *e = &svc->last_exit;

	bool clean = e->kind == EXIT_CODE && e->code == 0;

	if (svc->started_mono && now_ms() - svc->started_mono >= spec->restart.reset_after_ms)
		svc->failures = 0;
	if (wants_restart(svc)) {
		schedule_restart(svc);
		return;
	}
	if (!clean && !svc->stop_requested)
		svc_emit(svc, "failed",
			 svc_jobj("reason", json_object_new_string(e->reason), NULL, NULL));
	service_set_state(svc, (clean || svc->stop_requested) ? SVC_STOPPED : SVC_FAILED);
}

static void begin_cleanup(struct service *svc)
{
	svc_watch(svc, false);
	svc_drop_overlay(svc);
	svc_release_net(svc);
	svc->cleanup_tries = 0;
	if (svc_cleanup_cgroup(svc)) {
		service_dispatch(svc, SE_CLEANED);
		return;
	}
	svc_set_timer(svc, CGROUP_RETRY_MS);
}

/* Ask the main process to stop (stop signal), escalating on the timer. */
void svc_begin_stop(struct service *svc)
{
	const struct service_spec *spec = svc->spec;

	svc_readiness_end(svc);
	service_set_state(svc, SVC_STOPPING);
	if (svc->main_pid == 0)
		return; /* already exited, cleanup under way */
	if (svc->frozen)
		(void)svc_freeze_group(svc, false), svc->frozen = false;
	svc_emit(svc, "stop",
		 svc_jobj("signal", json_object_new_string(units_signal_name(spec->stop.signal)),
			  NULL, NULL));
	(void)kill(svc->main_pid, spec->stop.signal);
	svc_set_timer(svc, spec->stop.timeout_ms);
}

/*
 * The one place where events meet states: a table of state x event, each
 * cell an action (s6-supervise's table). An empty cell ignores the event.
 * "Cleaning" is not a state of its own: after an exit the service keeps
 * its state (starting/running/stopping) with main_pid 0 until SE_CLEANED.
 */

/* Stopped or failed, asked to start: an operator's start resets the start limit. */
static void act_start_fresh(struct service *svc)
{
	svc->nstarts = 0;
	svc->failures = 0;
	if (!wait_for_deps(svc))
		do_start(svc);
}

/* In backoff, asked to start: now, without waiting out the delay. */
static void act_start_early(struct service *svc)
{
	evtimer_del(svc->ev_timer);
	if (!wait_for_deps(svc))
		do_start(svc);
}

/* Waiting for dependencies: start once their conditions are met (or fail: never). */
static void act_start_waiting(struct service *svc)
{
	if (!wait_for_deps(svc))
		do_start(svc);
}

/* Parked: start once there is room (do_start asks). */
static void act_start_parked(struct service *svc)
{
	if (!wait_for_deps(svc))
		do_start(svc);
}

/* Nothing runs (waiting, parked, backoff): stopped at once. */
static void act_stop_idle(struct service *svc)
{
	svc->stop_requested = true;
	evtimer_del(svc->ev_timer);
	service_set_state(svc, SVC_STOPPED);
}

static void act_stop(struct service *svc)
{
	if (svc->ev_image) {
		/* Still unpacking: the helper finishes for the store's sake; we stop. */
		event_free(svc->ev_image);
		svc->ev_image = NULL;
		close(svc->image_fd);
		svc->image_fd = -1;
		service_set_state(svc, SVC_STOPPED);
		return;
	}
	svc->stop_requested = true;
	svc_begin_stop(svc);
}

/* Stopping on its own (STOPPING=1) or killed by us: now for good. */
static void act_stop_again(struct service *svc)
{
	svc->stop_requested = true;
}

static void act_exec_ok(struct service *svc)
{
	svc_await_ready(svc);
}

static void act_launch_failed(struct service *svc)
{
	log_warnx("service %s: %s", svc->spec->name, svc->last_exit.reason);
	logstore_note(svc->log, "%s", svc->last_exit.reason);
	evtimer_del(svc->ev_timer);
	begin_cleanup(svc);
}

static void act_exited(struct service *svc)
{
	evtimer_del(svc->ev_timer);
	begin_cleanup(svc);
}

/* The backoff delay is over: start again. */
static void act_backoff_over(struct service *svc)
{
	svc->restarts++;
	if (!wait_for_deps(svc))
		do_start(svc);
}

/* Waiting for the cgroup to empty after an exit: one more look. */
static void cleanup_step(struct service *svc)
{
	if (svc_cleanup_cgroup(svc)) {
		service_dispatch(svc, SE_CLEANED);
	} else if (++svc->cleanup_tries < CGROUP_RETRY_MAX) {
		svc_set_timer(svc, CGROUP_RETRY_MS);
	} else {
		log_warnx("service %s: cgroup %s does not empty; leaving it", svc->spec->name,
			  svc->cg ? cgroup_path(svc->cg) : "?");
		svc->cg = cgroup_free(svc->cg);
		service_dispatch(svc, SE_CLEANED);
	}
}

/* Starting, the timer fired: not ready within ready.timeout (or cleaning up). */
static void act_timer_starting(struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	char t[32];

	if (svc->main_pid == 0) {
		cleanup_step(svc);
		return;
	}
	const char *last = svc->probe ? ready_probe_last(svc->probe) : "";
	units_format_duration(spec->ready.timeout_ms, t, sizeof(t));
	svc_kill_for(svc, EXIT_READY_TIMEOUT, "ready-timeout: not ready within %s%s%s%s", t,
		     *last ? " (last probe: " : "", last, *last ? ")" : "");
}

static void act_timer_running(struct service *svc)
{
	if (svc->main_pid == 0)
		cleanup_step(svc);
}

/* Stopping, the timer fired: the stop timeout is over, SIGKILL the group, then the main pid. */
static void act_timer_stopping(struct service *svc)
{
	const struct service_spec *spec = svc->spec;

	if (svc->main_pid == 0) {
		cleanup_step(svc);
		return;
	}
	if (!svc->kill_sent) {
		log_warnx("service %s: did not stop within %llu ms, killing the group", spec->name,
			  (unsigned long long)spec->stop.timeout_ms);
		svc->kill_sent = true;
		svc->sigkill_sent = true;
		svc_emit(svc, "kill",
			 svc_jobj("reason", json_object_new_string("stop timeout"), "timeout_ms",
				  json_object_new_int64((int64_t)spec->stop.timeout_ms)));
		/* One kill round now, the next ones on the timer until the main pid exits. */
		(void)svc_kill_group(svc);
	} else {
		(void)kill(svc->main_pid, SIGKILL);
		(void)svc_kill_group(svc);
	}
	svc_set_timer(svc, CGROUP_RETRY_MS);
}

/* The process is gone and its cgroup too: stopped, failed, backoff, or start again. */
static void act_cleaned(struct service *svc)
{
	if (svc->last_exit.kind == EXIT_LAUNCH) {
		svc->after_stop = AFTER_NOTHING;
		svc_emit(
		    svc, "failed",
		    svc_jobj("reason", json_object_new_string(svc->last_exit.reason), NULL, NULL));
		service_set_state(svc, svc->stop_requested ? SVC_STOPPED : SVC_FAILED);
		return;
	}
	settle_after_exit(svc);
	if (svc->state != SVC_STOPPED || svc->env->shutting_down)
		return;
	if (svc->after_stop == AFTER_RELOAD) {
		/*
		 * Not a failure and not the operator's restart: counted apart and
		 * outside the start limit, so reloading a flapping service's spec
		 * (to fix it) never runs it into start-limit-hit.
		 */
		svc->after_stop = AFTER_NOTHING;
		svc->reloads++;
		if (!wait_for_deps(svc))
			start_now(svc, false);
	} else if (svc->after_stop == AFTER_DEPENDENCY) {
		/* restart: true: not a failure, so outside backoff and the start limit */
		svc->after_stop = AFTER_NOTHING;
		svc->restarts++;
		if (!wait_for_deps(svc))
			start_now(svc, false);
	} else if (svc->after_stop == AFTER_RESTART) {
		/*
		 * A restart the daemon decided (on_oom, pressure) counts like a
		 * failure: backoff and the start limit apply, so a service that
		 * keeps OOMing cannot spin.
		 */
		svc->after_stop = AFTER_NOTHING;
		schedule_restart(svc);
	}
}

typedef void (*service_action)(struct service *svc);

static const service_action transitions[SVC_NSTATES][SE_NEVENTS] = {
	[SVC_STOPPED] = { [SE_START] = act_start_fresh },
	[SVC_FAILED] = { [SE_START] = act_start_fresh },
	[SVC_WAITING] = { [SE_START] = act_start_waiting, [SE_STOP] = act_stop_idle },
	[SVC_PARKED] = { [SE_START] = act_start_parked, [SE_STOP] = act_stop_idle },
	[SVC_BACKOFF] = { [SE_START] = act_start_early,
			  [SE_STOP] = act_stop_idle,
			  [SE_TIMER] = act_backoff_over },
	[SVC_STARTING] = { [SE_STOP] = act_stop,
			   [SE_EXEC_OK] = act_exec_ok,
			   [SE_LAUNCH_FAILED] = act_launch_failed,
			   [SE_EXITED] = act_exited,
			   [SE_TIMER] = act_timer_starting,
			   [SE_CLEANED] = act_cleaned },
	[SVC_RUNNING] = { [SE_STOP] = act_stop,
			  [SE_LAUNCH_FAILED] = act_launch_failed,
			  [SE_EXITED] = act_exited,
			  [SE_TIMER] = act_timer_running,
			  [SE_CLEANED] = act_cleaned },
	[SVC_STOPPING] = { [SE_STOP] = act_stop_again,
			   [SE_LAUNCH_FAILED] = act_launch_failed,
			   [SE_EXITED] = act_exited,
			   [SE_TIMER] = act_timer_stopping,
			   [SE_CLEANED] = act_cleaned },
};

void service_dispatch(struct service *svc, enum service_event ev)
{
	service_action act = transitions[svc->state][ev];

	if (act)
		act(svc);
	else
		log_debug("service %s: %s ignored in %s", svc->spec->name, service_event_names[ev],
			  service_state_name(svc->state));
}

void service_own_specs(struct service *svc, struct spec_set *set, bool remove_when_settled)
{
	svc->owned_specs = set;
	service_set_remove_when_settled(svc, remove_when_settled);
}

bool service_transient(const struct service *svc)
{
	return svc->owned_specs != NULL;
}

bool service_remove_when_settled(const struct service *svc)
{
	return svc->remove_when_settled;
}

void service_set_remove_when_settled(struct service *svc, bool rm)
{
	svc->remove_when_settled = rm;
	/* run --rm leaves no files: its notes alone need none (manager.c sweep) */
	logstore_notes_need_output(svc->log, rm && svc->owned_specs);
}

/* --- following dependencies ----------------------------------------------------------- */

/* Process up (or on its way), not being stopped: what restart: true and binds_to act on. */
static bool up(const struct service *svc)
{
	return svc->state == SVC_STARTING || svc->state == SVC_RUNNING;
}

/*
 * What the dependencies did since the last look (the manager calls this
 * a loop turn after any state change):
 *  - waiting: their conditions may be met now, or broken;
 *  - restart: true: a dependency started again after this service did
 *    (crash restart, operator restart, reload): stop, then start once the
 *    condition is met again (started_at_ms is in the state file, so this
 *    holds across paddockd restarts);
 *  - binds_to: a bound service is stopped or failed: stop too, marked
 *    bound_stop; once it starts again, so does this service, unless an
 *    operator started or stopped it meanwhile.
 */
void service_follow_deps(struct service *svc)
{
	const struct service_spec *spec = svc->spec;

	if (svc->state == SVC_WAITING) {
		act_start_waiting(svc);
		return;
	}
	for (size_t i = 0; spec->deps && i < spec->ndepends_on; i++) {
		const struct spec_dep *cond = &spec->deps[i];
		struct service *d = svc_find(svc, spec->depends_on[i]);

		if (!d || (!cond->restart && !cond->binds))
			continue;
		if (cond->binds && svc->bound_stop && svc->state == SVC_STOPPED && up(d)) {
			log_info("service %s: %s started again; starting with it", spec->name,
				 d->spec->name);
			svc->bound_stop = false;
			svc_emit(svc, "bound-start",
				 svc_jobj("by", json_object_new_string(d->spec->name), NULL, NULL));
			service_dispatch(svc, SE_START);
			return;
		}
		if (cond->binds && (d->state == SVC_STOPPED || d->state == SVC_FAILED) &&
		    (up(svc) || svc->state == SVC_BACKOFF || svc->state == SVC_PARKED) &&
		    !svc->stop_requested) {
			log_info("service %s: %s is %s; stopping with it (binds_to)", spec->name,
				 d->spec->name, service_state_name(d->state));
			svc_emit(svc, "bound-stop",
				 svc_jobj("by", json_object_new_string(d->spec->name), NULL, NULL));
			service_dispatch(svc, SE_STOP);
			svc->bound_stop = true;
			return;
		}
		if (cond->restart && up(svc) && svc->main_pid && !svc->stop_requested &&
		    d->started_mono > svc->started_mono && svc->after_stop == AFTER_NOTHING) {
			log_info("service %s: %s restarted; restarting after it", spec->name,
				 d->spec->name);
			svc_emit(svc, "dependency-restart",
				 svc_jobj("by", json_object_new_string(d->spec->name), NULL, NULL));
			svc->after_stop = AFTER_DEPENDENCY;
			service_dispatch(svc, SE_STOP);
			return;
		}
	}
}

bool service_bound_stop(const struct service *svc)
{
	return svc->bound_stop;
}

/* --- public ---------------------------------------------------------------------------- */

int service_start(struct service *svc)
{
	svc->bound_stop = false; /* an operator's decision over the binding's */
	if (svc->state == SVC_STARTING || svc->state == SVC_RUNNING)
		return -EALREADY;
	if (svc->state == SVC_STOPPING)
		return -EBUSY;
	service_dispatch(svc, SE_START);
	return 0;
}

int service_stop(struct service *svc)
{
	svc->bound_stop = false;
	svc->after_stop = AFTER_NOTHING; /* a stop is a stop, also during a restart */
	if (svc->state == SVC_STOPPED || svc->state == SVC_FAILED)
		return -EALREADY;
	service_dispatch(svc, SE_STOP);
	return 0;
}

int service_restart(struct service *svc)
{
	if (svc->state == SVC_STOPPED || svc->state == SVC_FAILED || svc->state == SVC_BACKOFF) {
		service_dispatch(svc, SE_START);
		return 0;
	}
	/* Stop now, start again once everything is cleaned up (SE_CLEANED). */
	if (svc->after_stop == AFTER_NOTHING)
		svc->after_stop = AFTER_RESTART;
	service_dispatch(svc, SE_STOP);
	return 0;
}

int service_kill(struct service *svc, int sig)
{
	if (!svc->main_pid)
		return -ESRCH;
	if (sig == SIGKILL) {
		/* One kill round, never all pids at once (85 ms for 2,000): the main
		 * pid's exit starts the cleanup, whose rounds kill the rest. */
		svc->sigkill_sent = true;
		(void)kill(svc->main_pid, SIGKILL);
		int r = svc_kill_group(svc);
		return r < 0 ? r : 0;
	}
	return svc_signal_group(svc, sig);
}

int service_freeze(struct service *svc, bool frozen)
{
	int r;

	if (!svc->main_pid)
		return -ESRCH;
	if ((r = svc_freeze_group(svc, frozen)) < 0)
		return r;
	svc->frozen = frozen;
	/* A frozen service cannot ping: the watchdog sleeps with it, a full interval on thaw. */
	svc_arm_watchdog(svc);
	/* Nor answer a check: they stop, and start over from "starting" on thaw. */
	if (frozen)
		svc_health_end(svc);
	else
		svc_health_start(svc);
	svc_emit(svc, frozen ? "frozen" : "thawed", NULL);
	return 0;
}

void **service_monitor_slot(struct service *svc)
{
	return &svc->monitor_state;
}

uint64_t service_oom_kills(const struct service *svc)
{
	return svc->oom_kills;
}

/*
 * The kernel OOM-killed n processes in the group: counted, logged and an
 * event. When the main process died of it, its exit is recorded as
 * oom-kill and the restart policy runs there; when it survived (a child
 * was killed), on_oom is policy's (policy.c).
 */
void service_note_oom_kills(struct service *svc, uint64_t n, bool main_alive)
{
	const struct service_spec *spec = svc->spec;

	svc->oom_kills += n;
	log_warnx("service %s: %llu process%s OOM-killed in its cgroup%s", spec->name,
		  (unsigned long long)n, n == 1 ? "" : "es",
		  main_alive ? " (main process alive)" : "");
	logstore_note(svc->log, "%llu process%s OOM-killed%s", (unsigned long long)n,
		      n == 1 ? "" : "es", main_alive ? "; main process alive" : "");
	struct json_object *d = svc_jobj("count", json_object_new_int64((int64_t)n), "main",
					 json_object_new_boolean(!main_alive));
	json_object_object_add(d, "on_oom", json_object_new_string(spec_on_oom_name(spec->on_oom)));
	json_object_object_add(d, "total", json_object_new_int64((int64_t)svc->oom_kills));
	svc_emit(svc, "oom-kill", d);
}

const char *service_name(const struct service *svc)
{
	return svc->spec->name;
}

const struct net_lease *service_net(const struct service *svc)
{
	return svc->net;
}

const struct service_spec *service_spec(const struct service *svc)
{
	return svc->spec;
}

enum service_state service_state(const struct service *svc)
{
	return svc->state;
}

bool service_settled(const struct service *svc)
{
	return (svc->state == SVC_STOPPED || svc->state == SVC_FAILED) && svc->main_pid == 0 &&
	       !svc->cg && svc->out_fd[0] < 0 && svc->out_fd[1] < 0;
}

uint64_t service_state_since(const struct service *svc)
{
	return svc->since_ms;
}

pid_t service_main_pid(const struct service *svc)
{
	return svc->main_pid;
}

unsigned service_restarts(const struct service *svc)
{
	return svc->restarts;
}

unsigned service_reloads(const struct service *svc)
{
	return svc->reloads;
}

uint64_t service_exits(const struct service *svc, enum exit_kind kind)
{
	return (unsigned)kind < EXIT_KIND_MAX ? svc->exits[kind] : 0;
}

const struct probe_memory_events *service_memory_events_past(const struct service *svc)
{
	return &svc->memory_past;
}

const struct service_exit *service_last_exit(const struct service *svc)
{
	return &svc->last_exit;
}

struct cgroup *service_cgroup(const struct service *svc)
{
	return svc->cg;
}

bool service_uses_specs(const struct service *svc, const struct spec_set *set)
{
	const struct service_spec *probe = svc->probe ? ready_probe_spec(svc->probe) : NULL;

	for (size_t i = 0; i < set->nservices; i++)
		if (svc->spec == set->services[i] || probe == set->services[i])
			return true;
	return false;
}

bool service_frozen(const struct service *svc)
{
	return svc->frozen;
}

const struct image_info *service_image(const struct service *svc)
{
	return svc->image;
}
