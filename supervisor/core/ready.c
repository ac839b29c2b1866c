/*
 * ready.c - `ready: exec [cmd...]` and `ready: tcp PORT`: check attempts
 * (check.c) repeated until one passes. A hung attempt is killed after
 * ATTEMPT_MAX_MS; the next one starts RETRY_MS after the last ended. The
 * start timeout bounds it all. Exec attempts share one helper, kept until
 * the probe ends (a hung attempt takes its helper with it).
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log.h"
#include "ready.h"
#include "util.h"

#define RETRY_MS 250
#define ATTEMPT_MAX_MS 5000

struct ready_probe {
	struct event_base *base;
	const char *name; /* the service's, for logs */
	ready_probe_fn passed; /* called once, when an attempt passes */
	void *arg;
	struct check_target t;
	struct check_what w;
	struct check_attempt *attempt; /* the running one, or NULL */
	struct check_helper *helper; /* exec: runs the attempts (t.keep), or NULL */
	struct event *ev_timer; /* the next attempt */
	unsigned attempts;
	char last[128];
};

const char *ready_probe_last(const struct ready_probe *p)
{
	return p->last;
}

static void set_timer(struct ready_probe *p, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	evtimer_del(p->ev_timer);
	evtimer_add(p->ev_timer, &tv);
}

static void on_done(void *arg, int v, const char *output)
{
	struct ready_probe *p = arg;

	p->attempt = NULL; /* freed by check.c after this returns */
	if (v == 0) {
		log_debug("service %s: ready probe passed after %u attempts", p->name, p->attempts);
		p->passed(p->arg); /* may free p */
		return;
	}
	if (v == -ETIMEDOUT)
		snprintf(p->last, sizeof(p->last), "attempt took longer than %d ms; killed",
			 ATTEMPT_MAX_MS);
	else
		check_describe(p->w.kind, v, output, p->last, sizeof(p->last));
	set_timer(p, RETRY_MS);
}

static void start_attempt(evutil_socket_t fd, short what, void *arg)
{
	struct ready_probe *p = arg;

	p->attempts++;
	p->attempt = check_start(p->base, &p->t, &p->w, ATTEMPT_MAX_MS, on_done, p);
	if (!p->attempt) {
		snprintf(p->last, sizeof(p->last), "cannot start an attempt: %s", strerror(errno));
		set_timer(p, RETRY_MS);
	}
}

struct ready_probe *ready_probe_new(struct event_base *base, const struct ready_target *t,
				    ready_probe_fn passed, void *arg)
{
	const struct service_spec *spec = t->spec;
	struct ready_probe *p;

	p = xcalloc(1, sizeof(*p));
	p->base = base;
	p->name = spec->name;
	p->passed = passed;
	p->arg = arg;
	p->t = (struct check_target){ .spec = spec,
				      .pidfd = t->pidfd,
				      .cg = t->cg,
				      .uid = t->uid,
				      .gid = t->gid,
				      .keep = &p->helper };
	p->w = (struct check_what){ .kind = spec->ready.type == READY_TCP ? CHECK_TCP : CHECK_EXEC,
				    .argv = spec->ready.exec,
				    .port = spec->ready.port };
	p->ev_timer = evtimer_new(base, start_attempt, p);
	start_attempt(-1, 0, p);
	return p;
}

const struct service_spec *ready_probe_spec(const struct ready_probe *p)
{
	return p->t.spec;
}

struct ready_probe *ready_probe_free(struct ready_probe *p)
{
	if (!p)
		return NULL;
	p->attempt = check_cancel(p->attempt);
	p->helper = check_helper_free(p->helper);
	if (p->ev_timer)
		event_free(p->ev_timer);
	free(p);
	return NULL;
}
