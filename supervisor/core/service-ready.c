/*
 * service-ready.c - one service: readiness (notify, probes) and the watchdog (see service-internal.h).
 */

#include <json-c/json.h>

#include "health.h"
#include "log.h"
#include "logstore.h"
#include "notify-parse.h"
#include "ready.h"
#include "service-internal.h"
#include "state.h"
#include "units.h"
#include "util.h"

static void probe_passed(void *arg);

/* --- readiness ---------------------------------------------------------------------------
 *
 * starting -> running happens when the service is ready: at once for
 * `ready: none`, on READY=1 from a process in its cgroup for `notify`, when
 * a probe passes for `exec` and `tcp`. ev_timer holds the start timeout
 * meanwhile (EXTEND_TIMEOUT_USEC= moves it out). Running services with a
 * watchdog must send WATCHDOG=1 within each interval. A service we kill
 * for either reason goes the stop path (stop signal, then SIGKILL after
 * stop.timeout) without stop_requested, so its exit, recorded with our
 * reason, meets the restart policy like any failure.
 */

void svc_readiness_end(struct service *svc)
{
	svc->probe = ready_probe_free(svc->probe);
	svc_health_end(svc);
	if (svc->ev_watchdog)
		evtimer_del(svc->ev_watchdog);
}

void svc_arm_watchdog(struct service *svc)
{
	uint64_t us = svc->watchdog_usec;
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000),
			      .tv_usec = (suseconds_t)(us % 1000000) };

	evtimer_del(svc->ev_watchdog);
	/* Frozen: a ping queued before the freeze must not start a countdown
	 * that the frozen service cannot answer; the thaw arms it. */
	if (us && svc->state == SVC_RUNNING && !svc->frozen)
		evtimer_add(svc->ev_watchdog, &tv);
}

void svc_kill_for(struct service *svc, enum exit_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(svc->forced_reason, sizeof(svc->forced_reason), fmt, ap);
	va_end(ap);
	svc->forced = kind;
	log_warnx("service %s: %s; stopping it", svc->spec->name, svc->forced_reason);
	logstore_note(svc->log, "%s", svc->forced_reason);
	svc_emit(svc, kind == EXIT_WATCHDOG ? "watchdog" : "ready-timeout",
		 svc_jobj("reason", json_object_new_string(svc->forced_reason), NULL, NULL));
	svc_begin_stop(svc);
}

static void become_ready(struct service *svc, const char *how)
{
	if (svc->state != SVC_STARTING || svc->main_pid == 0)
		return;
	evtimer_del(svc->ev_timer);
	svc->probe = ready_probe_free(svc->probe);
	svc->ready_ms = now_ms() - svc->started_mono;
	log_info("service %s: ready (%s) after %llu ms", svc->spec->name, how,
		 (unsigned long long)svc->ready_ms);
	svc_emit(svc, "ready",
		 svc_jobj("via", json_object_new_string(how), "after_ms",
			  json_object_new_int64((int64_t)svc->ready_ms)));
	service_set_state(svc, SVC_RUNNING);
	svc->last_watchdog_ms = 0;
	svc_arm_watchdog(svc);
	svc_health_start(svc);
}

/* Exec happened: ready now, or wait (with the start timeout) for the spec's signal. */
void svc_await_ready(struct service *svc)
{
	const struct service_spec *spec = svc->spec;

	switch (spec->ready.type) {
	case READY_NONE:
		become_ready(svc, "none");
		return;
	case READY_NOTIFY:
		break;
	case READY_EXEC:
	case READY_TCP: {
		struct ready_target t = { .spec = spec,
					  .pidfd = svc->child.pidfd,
					  .cg = svc->cg,
					  .uid = svc->run_uid,
					  .gid = svc->run_gid };
		svc->probe = ready_probe_new(svc->env->base, &t, probe_passed, svc);
		if (!svc->probe)
			log_warn("service %s: cannot start the readiness probe", spec->name);
		break;
	}
	}
	/* An EXTEND_TIMEOUT_USEC= read before we saw the exec (both were ready
	 * in one loop turn) still counts: never pull its deadline in. */
	uint64_t ms = spec->ready.timeout_ms, now = now_ms();
	if (evtimer_pending(svc->ev_timer, NULL) && svc->timer_due > now + ms)
		ms = svc->timer_due - now;
	svc_set_timer(svc, ms);
}

void svc_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct service *svc = arg;
	char t[32];

	if (svc->state != SVC_RUNNING || svc->main_pid == 0)
		return;
	units_format_duration(svc->watchdog_usec / 1000, t, sizeof(t));
	svc_kill_for(svc, EXIT_WATCHDOG, "watchdog: no WATCHDOG=1 within %s", t);
}

/* An exec/tcp readiness probe passed (ready_probe_fn). */
static void probe_passed(void *arg)
{
	struct service *svc = arg;

	become_ready(svc, svc->spec->ready.type == READY_TCP ? "tcp" : "exec");
}

void service_note_notify_malformed(struct service *svc)
{
	svc->notify_malformed++;
}

void service_notify(struct service *svc, const struct notify_msg *m, pid_t sender)
{
	const struct service_spec *spec = svc->spec;
	bool live = svc->main_pid != 0;

	if (m->have_status && (!svc->status_text || strcmp(svc->status_text, m->status) != 0)) {
		free(svc->status_text);
		svc->status_text = xstrdup(m->status);
		/* Into the state file (coalesced): `status` shows it after a restart of ours. */
		svc->env->hooks->changed(svc->env->hooks_arg, svc);
	}
	if (m->have_mainpid && live && m->mainpid != svc->notify_mainpid) {
		svc->notify_mainpid = m->mainpid;
		log_info("service %s: MAINPID=%d (from pid %d)", spec->name, (int)m->mainpid,
			 (int)sender);
		svc_emit(svc, "mainpid",
			 svc_jobj("mainpid", json_object_new_int(m->mainpid), "sender",
				  json_object_new_int(sender)));
	}
	if (m->have_watchdog_usec && live) {
		svc->watchdog_usec = m->watchdog_usec;
		svc_arm_watchdog(svc);
	}
	if (m->ready && spec->ready.type == READY_NOTIFY)
		become_ready(svc, "notify");
	if (m->watchdog && svc->state == SVC_RUNNING) {
		svc->last_watchdog_ms = realtime_ms();
		svc_arm_watchdog(svc);
	}
	if (m->watchdog_trigger && svc->state == SVC_RUNNING && live) {
		svc_kill_for(svc, EXIT_WATCHDOG, "watchdog: WATCHDOG=trigger from pid %d",
			     (int)sender);
		return;
	}
	if (m->have_extend && live && (svc->state == SVC_STARTING || svc->state == SVC_STOPPING)) {
		/* Like systemd: the deadline becomes now + the extension, never earlier. */
		uint64_t ms = m->extend_usec / 1000;
		if (now_ms() + ms > svc->timer_due)
			svc_set_timer(svc, ms);
	}
	if (m->stopping && live && (svc->state == SVC_STARTING || svc->state == SVC_RUNNING)) {
		/* It stops by itself: no signal, but the stop timeout and its SIGKILL apply. */
		log_info("service %s: stopping (STOPPING=1)", spec->name);
		svc_emit(svc, "notify-stopping", NULL);
		svc_readiness_end(svc);
		service_set_state(svc, SVC_STOPPING);
		svc_set_timer(svc, spec->stop.timeout_ms);
	}
}

const char *service_status_text(const struct service *svc)
{
	return svc->status_text;
}

struct json_object *service_ready_json(const struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	static const char *const types[] = { "none", "notify", "exec", "tcp" };
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(types[spec->ready.type]));
	json_object_object_add(o, "ready", json_object_new_boolean(svc->state == SVC_RUNNING));
	if (svc->ready_ms)
		json_object_object_add(o, "ready_ms",
				       json_object_new_int64((int64_t)svc->ready_ms));
	json_object_object_add(o, "timeout_ms",
			       json_object_new_int64((int64_t)spec->ready.timeout_ms));
	if (svc->watchdog_usec)
		json_object_object_add(o, "watchdog_ms",
				       json_object_new_int64((int64_t)(svc->watchdog_usec / 1000)));
	if (svc->last_watchdog_ms)
		json_object_object_add(o, "last_watchdog_ms",
				       json_object_new_int64((int64_t)svc->last_watchdog_ms));
	if (svc->notify_mainpid)
		json_object_object_add(o, "mainpid", json_object_new_int(svc->notify_mainpid));
	if (svc->notify_malformed)
		json_object_object_add(o, "malformed",
				       json_object_new_int64((int64_t)svc->notify_malformed));
	if (svc->probe && *ready_probe_last(svc->probe))
		json_object_object_add(o, "probe",
				       json_object_new_string(ready_probe_last(svc->probe)));
	return o;
}

/* --- STATUS= across paddockd restarts ---------------------------------------------------- */

void svc_status_record(const struct service *svc, struct state_service *out)
{
	snprintf(out->status_text, sizeof(out->status_text), "%s",
		 svc->status_text ? svc->status_text : "");
}

void svc_status_restore(struct service *svc, const struct state_service *rec)
{
	free(svc->status_text);
	svc->status_text = rec->status_text[0] ? xstrdup(rec->status_text) : NULL;
}

/* --- liveness (health:) -------------------------------------------------------------------
 *
 * Checks run while the service is running and not frozen (a frozen one
 * cannot answer). Unhealthy -> the "unhealthy" event, then on_unhealthy:
 * restart (the operator's restart path: backoff and the start limit apply,
 * the exit recorded as kind "unhealthy"), stop, or nothing. Status is not
 * in the state file: after paddockd's restart an adopted service starts
 * over from "starting" and is checked at once (its start_period counts
 * from its real start).
 */

static void health_changed(void *arg, enum health_status st, const char *output)
{
	struct service *svc = arg;
	const struct spec_health *hs = &svc->spec->health;

	svc->env->hooks->changed(svc->env->hooks_arg, svc);
	if (st == HEALTH_HEALTHY) {
		log_info("service %s: healthy", svc->spec->name);
		svc_emit(svc, "healthy",
			 svc_jobj("output", json_object_new_string(output), NULL, NULL));
		return;
	}
	if (st != HEALTH_UNHEALTHY)
		return;
	log_warnx("service %s: unhealthy after %u failed checks: %s", svc->spec->name, hs->retries,
		  output);
	logstore_note(svc->log, "unhealthy: %s", output);
	svc_emit(
	    svc, "unhealthy",
	    svc_jobj("output", json_object_new_string(output), "on_unhealthy",
		     json_object_new_string(hs->on_unhealthy == ON_UNHEALTHY_RESTART ? "restart"
					    : hs->on_unhealthy == ON_UNHEALTHY_STOP  ? "stop"
										     : "none")));
	if (hs->on_unhealthy == ON_UNHEALTHY_NONE)
		return;
	/* The exit this causes is ours: recorded as "unhealthy", with the reason. */
	svc->forced = EXIT_UNHEALTHY;
	snprintf(svc->forced_reason, sizeof(svc->forced_reason), "unhealthy: %.140s", output);
	if (hs->on_unhealthy == ON_UNHEALTHY_RESTART)
		(void)service_restart(svc); /* frees the checks (svc_begin_stop) */
	else
		(void)service_stop(svc);
}

void svc_health_start(struct service *svc)
{
	if (svc->health || svc->spec->health.type == HEALTH_NONE || svc->state != SVC_RUNNING ||
	    svc->frozen || svc->main_pid == 0 || svc->child.pidfd < 0)
		return;
	struct check_target t = { .spec = svc->spec,
				  .pidfd = svc->child.pidfd,
				  .cg = svc->cg,
				  .uid = svc->run_uid,
				  .gid = svc->run_gid };
	svc->health = health_new(svc->env->base, &t, svc->started_mono, health_changed, svc);
}

void svc_health_end(struct service *svc)
{
	svc->health = health_free(svc->health);
}

void svc_health_respec(struct service *svc, const struct service_spec *old)
{
	if (svc->health && health_spec_eq(&old->health, &svc->spec->health)) {
		health_respec(svc->health, svc->spec);
		return;
	}
	/* Added, removed or changed: the checks start over (status "starting"). */
	svc_health_end(svc);
	svc_health_start(svc);
}

const char *service_health(const struct service *svc)
{
	return svc->health ? health_status_name(health_status(svc->health)) : NULL;
}

struct json_object *service_health_json(const struct service *svc)
{
	static const char *const types[] = { "none", "exec", "tcp", "http" };
	const struct spec_health *hs = &svc->spec->health;
	struct json_object *o;

	if (hs->type == HEALTH_NONE)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(types[hs->type]));
	json_object_object_add(o, "status",
			       svc->health ? json_object_new_string(service_health(svc)) : NULL);
	json_object_object_add(o, "interval_ms", json_object_new_int64((int64_t)hs->interval_ms));
	json_object_object_add(o, "retries", json_object_new_int((int)hs->retries));
	if (svc->health) {
		json_object_object_add(o, "failures",
				       json_object_new_int((int)health_failures(svc->health)));
		json_object_object_add(o, "last_output",
				       json_object_new_string(health_last_output(svc->health)));
		json_object_object_add(
		    o, "last_check",
		    health_last_check_ms(svc->health)
			? json_object_new_int64((int64_t)health_last_check_ms(svc->health))
			: NULL);
	}
	return o;
}
