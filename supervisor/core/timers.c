/*
 * timers.c - starting scheduled services at their times.
 *
 * Each timer is keyed by service name and re-synced with the manager's
 * table whenever services change (reloads add, drop or change schedules).
 * At its time a timer starts the service as `paddockctl start` does, or,
 * when the previous run still goes, applies the overlap rule: skip it,
 * queue one more run for when it ends, or stop it and start afresh.
 *
 * Every run is a "timer" event: action "start" (with "catch_up" for a
 * persistent timer's run at daemon start), "skip", "queue", "replace",
 * and "exit" with the run's exit once it has settled.
 */
#include "timers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "calendar.h"
#include "events.h"
#include "log.h"
#include "manager.h"
#include "service.h"
#include "spec.h"
#include "util.h"

#define WAIT_MAX_MS (3600 * 1000ULL)

struct timer {
	struct timers *ts;
	char name[SPEC_NAME_MAX + 1];
	const struct spec_schedule *sc; /* the spec it was armed for */
	struct event *ev;
	uint64_t due_ms; /* realtime of the next run, randomized delay included; 0 = none */
	uint64_t planned_ms; /* the calendar time of that run */
	bool running; /* a run we started has not settled yet */
	bool queued; /* overlap: queue, one more run when it settles */
	bool replacing; /* overlap: replace, start again once stopped */
	bool seen; /* still scheduled at the last sync */
};

struct timers {
	struct manager *d;
	struct timer **t;
	size_t n;
	int clockfd; /* timerfd: readable with ECANCELED when the wall clock is set */
	struct event *ev_clock;
};

static void arm(struct timer *t, uint64_t after_ms);
static void wait_due(struct timer *t);

static void emit(struct timer *t, const char *action, struct json_object *extra)
{
	struct json_object *o = extra ? extra : json_object_new_object();

	json_object_object_add(o, "action", json_object_new_string(action));
	json_object_object_add(o, "trigger", json_object_new_string("timer"));
	if (t->planned_ms)
		json_object_object_add(o, "scheduled_ms", json_object_new_uint64(t->planned_ms));
	eventlog_emit(t->ts->d->events, t->name, "timer", o);
}

/* FNV-1a of the name and the run's time: a delay chosen once per run, the same for a rerun. */
static uint64_t run_delay(const char *name, uint64_t planned_ms, uint64_t max_ms)
{
	uint64_t h = 1469598103934665603ULL;

	if (!max_ms)
		return 0;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (int i = 0; i < 8; i++)
		h = (h ^ ((planned_ms >> (8 * i)) & 0xff)) * 1099511628211ULL;
	return h % (max_ms + 1);
}

static bool active(const struct service *svc)
{
	enum service_state st = service_state(svc);

	return !(st == SVC_STOPPED || st == SVC_FAILED) || !service_settled(svc);
}

static void start_run(struct timer *t, struct service *svc, struct json_object *extra)
{
	t->running = true;
	emit(t, "start", extra);
	/* After the event's own time: the last run is never before its start event. */
	service_timer_mark(svc, realtime_ms(), service_timer_armed(svc));
	log_info("service %s: timer: starting", t->name);
	if (service_start(svc) < 0 && !active(svc))
		t->running = false;
	manager_touch(t->ts->d); /* the state file keeps the run's time */
}

/*
 * t's service, with t->sc following its current spec: a reload may have
 * replaced (and freed) the spec before the next sync. NULL when the
 * service is gone or no longer scheduled (the next sync drops t).
 */
static struct service *fresh(struct timer *t)
{
	struct service *svc = manager_find(t->ts->d, t->name);
	const struct spec_schedule *sc = svc ? service_spec(svc)->schedule : NULL;

	if (!sc || !service_spec(svc)->enabled) {
		event_del(t->ev);
		t->due_ms = t->planned_ms = 0;
		return NULL;
	}
	if (sc != t->sc) {
		t->sc = sc;
		arm(t, realtime_ms());
	}
	return svc;
}

static void on_fire(evutil_socket_t fd, short what, void *arg)
{
	struct timer *t = arg;
	const struct spec_schedule *was = t->sc;
	struct service *svc = fresh(t);
	uint64_t now = realtime_ms();

	(void)fd;
	(void)what;
	if (!svc || was != t->sc || t->ts->d->env.shutting_down)
		return; /* gone, or re-armed for a new schedule */
	/*
	 * A capped wait, the clocks drifted apart, or libevent's coarse clock
	 * fired a few ms early: a run never starts before its time (a job at
	 * 03:00 started at 02:59:59.996 sees the wrong day at midnight).
	 */
	if (now < t->due_ms) {
		wait_due(t);
		return;
	}
	if (!active(svc)) {
		start_run(t, svc, NULL);
	} else {
		switch (t->sc->overlap) {
		case OVERLAP_SKIP:
			log_info("service %s: timer: still running, run skipped", t->name);
			emit(t, "skip", NULL);
			break;
		case OVERLAP_QUEUE:
			log_info("service %s: timer: still running, run queued", t->name);
			t->queued = true;
			t->running = true; /* so that its end starts the queued run */
			emit(t, "queue", NULL);
			break;
		case OVERLAP_REPLACE:
			log_info("service %s: timer: still running, stopping it to run again",
				 t->name);
			t->replacing = true;
			t->running = true;
			emit(t, "replace", NULL);
			(void)service_stop(svc);
			break;
		}
	}
	arm(t, t->planned_ms > now ? t->planned_ms : now);
}

/* Set the next run strictly after after_ms (calendar time) and the libevent timer to it. */
static void arm(struct timer *t, uint64_t after_ms)
{
	time_t next;

	event_del(t->ev);
	t->due_ms = t->planned_ms = 0;
	if (calendar_next(&t->sc->cal, t->sc->tz, (time_t)(after_ms / 1000), &next) < 0) {
		log_warnx("service %s: schedule '%s' has no next time", t->name, t->sc->expr);
		return;
	}
	t->planned_ms = (uint64_t)next * 1000;
	t->due_ms = t->planned_ms + run_delay(t->name, t->planned_ms, t->sc->randomized_delay_ms);
	wait_due(t);
}

/*
 * The libevent timer to t->due_ms. libevent counts on the monotonic clock,
 * which drifts from the wall clock over long waits (NTP slewing): waits
 * are capped at an hour and checked again against the wall clock.
 */
static void wait_due(struct timer *t)
{
	uint64_t now = realtime_ms(), wait = t->due_ms > now ? t->due_ms - now : 0;
	struct timeval tv;

	if (wait > WAIT_MAX_MS)
		wait = WAIT_MAX_MS;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	event_add(t->ev, &tv);
}

static struct timer *find(struct timers *ts, const char *name)
{
	for (size_t i = 0; i < ts->n; i++)
		if (strcmp(ts->t[i]->name, name) == 0)
			return ts->t[i];
	return NULL;
}

static void timer_free(struct timer *t)
{
	event_free(t->ev);
	free(t);
}

/* A new timer for svc; NULL on ENOMEM. */
static struct timer *timer_add(struct timers *ts, struct service *svc)
{
	struct timer *t = calloc(1, sizeof(*t)), **n;

	if (!t || !(n = realloc(ts->t, (ts->n + 1) * sizeof(*n)))) {
		free(t);
		return NULL;
	}
	ts->t = n;
	t->ts = ts;
	snprintf(t->name, sizeof(t->name), "%s", service_name(svc));
	t->ev = evtimer_new(ts->d->base, on_fire, t);
	if (!t->ev) {
		free(t);
		return NULL;
	}
	ts->t[ts->n++] = t;
	return t;
}

/* A run we started has settled: its exit is an event; a queued or replacing run starts. */
static void settled(struct timer *t, struct service *svc)
{
	const struct service_exit *e = service_last_exit(svc);
	struct json_object *o = json_object_new_object();
	struct json_object *ej = e ? service_exit_json(e) : NULL;

	t->running = false;
	if (ej)
		json_object_object_add(o, "exit", ej);
	emit(t, "exit", o);
	if ((t->queued || t->replacing) && !t->ts->d->env.shutting_down) {
		t->queued = t->replacing = false;
		start_run(t, svc, NULL);
	}
}

/* Follow the manager's table: new and changed schedules, removed services, settled runs. */
static void sync_timers(void *arg)
{
	struct timers *ts = arg;
	struct manager *d = ts->d;
	uint64_t now = realtime_ms();

	for (size_t i = 0; i < ts->n; i++)
		ts->t[i]->seen = false;
	for (size_t i = 0; i < d->nservices; i++) {
		struct service *svc = d->services[i];
		const struct spec_schedule *sc = service_spec(svc)->schedule;
		struct timer *t;

		if (!sc || !service_spec(svc)->enabled)
			continue;
		t = find(ts, service_name(svc));
		if (!t) {
			if (!(t = timer_add(ts, svc))) {
				log_warnx("service %s: no memory for its timer", service_name(svc));
				continue;
			}
			if (!service_timer_armed(svc)) {
				service_timer_mark(svc, service_timer_last(svc), now);
				manager_touch(d);
			}
			t->running = active(svc) && service_timer_last(svc);
		}
		t->seen = true;
		if (t->sc != sc) { /* new, or a reload changed the spec */
			/*
			 * A run whose time came but whose randomized delay has not
			 * passed yet is still owed: arm from just before its time,
			 * so that it keeps it if the new schedule has it too.
			 */
			bool owed = t->sc && t->planned_ms && t->planned_ms <= now;
			t->sc = sc;
			arm(t, owed ? t->planned_ms - 1000 : now);
		}
		if (t->running && !active(svc))
			settled(t, svc);
	}
	for (size_t i = 0; i < ts->n;) {
		if (ts->t[i]->seen) {
			i++;
			continue;
		}
		timer_free(ts->t[i]);
		ts->t[i] = ts->t[--ts->n];
	}
}

/* The wall clock was set: every next time again, and the timerfd re-armed. */
static void clock_arm(struct timers *ts)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)1 << 40 } };

	if (timerfd_settime(ts->clockfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) <
	    0)
		log_warn("timers: cannot watch for wall-clock changes");
}

static void on_clock(evutil_socket_t fd, short what, void *arg)
{
	struct timers *ts = arg;
	uint64_t buf, now = realtime_ms();

	(void)what;
	if (read(fd, &buf, sizeof(buf)) < 0 && errno != ECANCELED && errno != EAGAIN)
		log_warn("timers: reading the clock timerfd");
	log_info("timers: the wall clock changed; computing next times again");
	for (size_t i = 0; i < ts->n; i++)
		if (fresh(ts->t[i]))
			arm(ts->t[i], now);
	clock_arm(ts);
}

/* At start: persistent timers whose time passed since the last run (or since armed) run once. */
static void catch_up(struct timers *ts)
{
	uint64_t now = realtime_ms();

	for (size_t i = 0; i < ts->n; i++) {
		struct timer *t = ts->t[i];
		struct service *svc = manager_find(ts->d, t->name);
		uint64_t since;
		time_t next;

		if (!svc || !t->sc->persistent || active(svc))
			continue;
		since =
		    service_timer_last(svc) ? service_timer_last(svc) : service_timer_armed(svc);
		if (!since ||
		    calendar_next(&t->sc->cal, t->sc->tz, (time_t)(since / 1000), &next) < 0 ||
		    (uint64_t)next * 1000 > now)
			continue;
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "catch_up", json_object_new_boolean(true));
		json_object_object_add(o, "missed_ms",
				       json_object_new_uint64((uint64_t)next * 1000));
		log_info(
		    "service %s: timer: a run was missed while paddockd was down; running it now",
		    t->name);
		start_run(t, svc, o);
	}
}

struct timers *timers_new(struct manager *d)
{
	struct timers *ts = calloc(1, sizeof(*ts));

	if (!ts)
		return NULL;
	ts->d = d;
	ts->clockfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ts->clockfd < 0) {
		log_warn("timers: timerfd");
	} else {
		clock_arm(ts);
		ts->ev_clock = event_new(d->base, ts->clockfd, EV_READ | EV_PERSIST, on_clock, ts);
		if (ts->ev_clock)
			event_add(ts->ev_clock, NULL);
	}
	sync_timers(ts);
	catch_up(ts);
	manager_observe(d, sync_timers, ts);
	return ts;
}

struct timers *timers_free(struct timers *ts)
{
	if (!ts)
		return NULL;
	for (size_t i = 0; i < ts->n; i++)
		timer_free(ts->t[i]);
	free(ts->t);
	if (ts->ev_clock)
		event_free(ts->ev_clock);
	if (ts->clockfd >= 0)
		close(ts->clockfd);
	free(ts);
	return NULL;
}

static const char *const overlap_names[] = { "skip", "queue", "replace" };

struct json_object *timers_json(struct timers *ts, struct service *svc)
{
	const struct spec_schedule *sc = service_spec(svc)->schedule;
	struct timer *t = ts ? find(ts, service_name(svc)) : NULL;
	struct json_object *o;

	if (!sc)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "schedule", json_object_new_string(sc->expr));
	if (sc->tz)
		json_object_object_add(o, "timezone", json_object_new_string(sc->tz));
	json_object_object_add(o, "overlap", json_object_new_string(overlap_names[sc->overlap]));
	json_object_object_add(o, "persistent", json_object_new_boolean(sc->persistent));
	if (sc->randomized_delay_ms)
		json_object_object_add(o, "randomized_delay_ms",
				       json_object_new_uint64(sc->randomized_delay_ms));
	if (service_timer_last(svc))
		json_object_object_add(o, "last_run_ms",
				       json_object_new_uint64(service_timer_last(svc)));
	if (t && t->due_ms)
		json_object_object_add(o, "next_ms", json_object_new_uint64(t->due_ms));
	if (t && t->queued)
		json_object_object_add(o, "queued", json_object_new_boolean(true));
	return o;
}
