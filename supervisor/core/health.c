/*
 * health.c - liveness checks of a running service (see health.h).
 *
 * One timer and at most one attempt per service: the first attempt one
 * interval after the service is ready (or adopted), each next one interval
 * after the last ended, so a slow check never overlaps itself. A check
 * longer than timeout is killed and fails. As docker's start period: a
 * failure before start_period has passed since the service started does
 * not count, and the first success ends start_period (healthy at once).
 * An exec check keeps its helper (check.c) for the health's life: an
 * attempt costs the daemon a message each way, the helper a vfork; tcp
 * and http checks are the daemon's own sockets.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "log.h"
#include "util.h"

struct health {
	struct event_base *base;
	const struct spec_health *spec;
	const char *name; /* the service's, for logs */
	struct check_target t;
	struct check_what w;
	struct check_attempt *attempt; /* running, or NULL */
	struct check_helper *helper; /* exec: runs the commands (t.keep), or NULL */
	struct event *ev_timer; /* the next attempt */
	uint64_t started_mono;
	bool passed_once; /* start_period is over */
	enum health_status status;
	unsigned failures; /* in a row */
	uint64_t last_check_ms;
	char last_output[CHECK_OUTPUT_MAX + 64];
	health_fn changed;
	void *arg;
};

const char *health_status_name(enum health_status st)
{
	static const char *const names[] = { "starting", "healthy", "unhealthy" };

	return (unsigned)st < ARRAY_SIZE(names) ? names[st] : "?";
}

static void set_timer(struct health *h, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(h->ev_timer, &tv);
}

static void set_status(struct health *h, enum health_status st)
{
	if (h->status == st)
		return;
	h->status = st;
	h->changed(h->arg, st, h->last_output); /* may free h */
}

static void on_done(void *arg, int v, const char *output)
{
	struct health *h = arg;
	char why[128];

	h->attempt = NULL; /* check.c frees it after this returns */
	h->last_check_ms = realtime_ms();
	if (v == 0) {
		snprintf(h->last_output, sizeof(h->last_output), "%s", output);
		h->failures = 0;
		h->passed_once = true;
		set_timer(h, h->spec->interval_ms);
		set_status(h, HEALTH_HEALTHY);
		return;
	}
	/* The account first, then what the check said (a command's output). */
	check_describe(h->w.kind, v, output, why, sizeof(why));
	snprintf(h->last_output, sizeof(h->last_output), "%s%s%s", why, *output ? ": " : "",
		 output);
	set_timer(h, h->spec->interval_ms);
	if (!h->passed_once && now_ms() < h->started_mono + h->spec->start_period_ms)
		return; /* still starting up: does not count */
	h->failures++;
	log_debug("service %s: health check failed (%u of %u): %s", h->name, h->failures,
		  h->spec->retries, why);
	if (h->failures >= h->spec->retries)
		set_status(h, HEALTH_UNHEALTHY);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct health *h = arg;
	/* The timeout bounds the attempt; the helper's own net timeouts are inside it. */
	h->attempt = check_start(h->base, &h->t, &h->w, h->spec->timeout_ms, on_done, h);
	if (!h->attempt) {
		log_warn("service %s: cannot start a health check", h->name);
		set_timer(h, h->spec->interval_ms);
	}
}

static void set_what(struct health *h, const struct service_spec *spec)
{
	static const enum check_kind kinds[] = {
		[HEALTH_EXEC] = CHECK_EXEC, [HEALTH_TCP] = CHECK_TCP, [HEALTH_HTTP] = CHECK_HTTP
	};
	const struct spec_health *hs = &spec->health;

	h->spec = hs;
	h->name = spec->name;
	h->t.spec = spec;
	h->w = (struct check_what){ .kind = kinds[hs->type],
				    .argv = hs->exec,
				    .port = hs->port,
				    .path = hs->http_path,
				    .status = hs->http_status };
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool health_spec_eq(const struct spec_health *a, const struct spec_health *b)
{
	size_t i;

	if (a->type != b->type || a->port != b->port || !str_eq(a->http_path, b->http_path) ||
	    a->http_status != b->http_status || a->interval_ms != b->interval_ms ||
	    a->timeout_ms != b->timeout_ms || a->start_period_ms != b->start_period_ms ||
	    a->retries != b->retries || !a->exec != !b->exec)
		return false;
	for (i = 0; a->exec && a->exec[i] && b->exec[i]; i++)
		if (strcmp(a->exec[i], b->exec[i]) != 0)
			return false;
	return !a->exec || (!a->exec[i] && !b->exec[i]);
}

/*
 * A running attempt keeps nothing of the spec on our side, and the helper
 * has its own copy of an equal argv (health_spec_eq).
 */
void health_respec(struct health *h, const struct service_spec *spec)
{
	set_what(h, spec);
}

struct health *health_new(struct event_base *base, const struct check_target *t,
			  uint64_t started_mono, health_fn changed, void *arg)
{
	struct health *h = xcalloc(1, sizeof(*h));

	h->base = base;
	h->t = *t;
	h->t.keep = &h->helper;
	set_what(h, t->spec);
	h->started_mono = started_mono;
	h->changed = changed;
	h->arg = arg;
	h->ev_timer = evtimer_new(base, on_timer, h);
	set_timer(h, h->spec->interval_ms);
	return h;
}

struct health *health_free(struct health *h)
{
	if (!h)
		return NULL;
	h->attempt = check_cancel(h->attempt);
	h->helper = check_helper_free(h->helper);
	if (h->ev_timer)
		event_free(h->ev_timer);
	free(h);
	return NULL;
}

enum health_status health_status(const struct health *h)
{
	return h->status;
}

unsigned health_failures(const struct health *h)
{
	return h->failures;
}

const char *health_last_output(const struct health *h)
{
	return h->last_output;
}

uint64_t health_last_check_ms(const struct health *h)
{
	return h->last_check_ms;
}
