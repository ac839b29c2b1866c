/*
 * health.h - `health:` liveness checks of a running service: a check
 * attempt (check.c) every interval; `retries`
 * failures in a row make it unhealthy, a success healthy again. What to do
 * about it is the caller's (service-ready.c): health only tells.
 */
#ifndef PADDOCK_HEALTH_H
#define PADDOCK_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"

struct event_base;

enum health_status { HEALTH_STARTING = 0, HEALTH_HEALTHY, HEALTH_UNHEALTHY };

/* The status changed to st; output is the last attempt's (see check.h). May free h. */
typedef void (*health_fn)(void *arg, enum health_status st, const char *output);

/*
 * Start checking t->spec->health (type != HEALTH_NONE). started_mono: when
 * the service started (monotonic ms), so start_period counts from there,
 * also for a service adopted after a restart of paddockd.
 */
struct health *health_new(struct event_base *base, const struct check_target *t,
			  uint64_t started_mono, health_fn changed, void *arg);
struct health *health_free(struct health *h);
/* The service's spec was replaced by an equal health: (a reload): point at the new one. */
void health_respec(struct health *h, const struct service_spec *spec);
/* Do a and b describe the same check? */
bool health_spec_eq(const struct spec_health *a, const struct spec_health *b);

enum health_status health_status(const struct health *h);
const char *health_status_name(enum health_status st);
unsigned health_failures(const struct health *h); /* in a row */
const char *health_last_output(const struct health *h); /* of the last attempt, or "" */
uint64_t health_last_check_ms(const struct health *h); /* realtime it ended, 0 = none yet */

#endif
