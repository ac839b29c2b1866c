/*
 * metrics.h - the Prometheus endpoint (metrics.listen in the daemon config;
 * off when unset).
 */
#ifndef PADDOCK_METRICS_H
#define PADDOCK_METRICS_H

struct manager;
struct metrics;
struct looplag;
struct monitor;
struct notify;
struct rebalancer;

/*
 * Listen when configured; *out stays NULL when metrics are off. lag (may be
 * NULL) is the loop-lag probe to export; it must outlive the metrics.
 */
int metrics_open(struct manager *d, struct monitor *mon, struct notify *notify,
		 struct rebalancer *rb, const struct looplag *lag, struct metrics **out);
struct metrics *metrics_free(struct metrics *mx);

#endif
