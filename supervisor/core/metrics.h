/*
 * metrics.h - the Prometheus endpoint (metrics.listen in the daemon config;
 * off when unset).
 */
#ifndef PADDOCK_METRICS_H
#define PADDOCK_METRICS_H

#include "daemon.h"

struct metrics;

/* Listen when configured; *out stays NULL when metrics are off. */
int metrics_open(struct daemon *d, struct metrics **out);
struct metrics *metrics_free(struct metrics *mx);

#endif
