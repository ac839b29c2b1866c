/*
 * looplag.h - how late the event loop runs: a periodic probe records how
 * long after its due time each tick is served, into a fixed-bucket
 * histogram plus the largest lag seen. Exported by metrics.c as
 * paddock_loop_lag_seconds. A callback that blocks the loop shows here.
 */
#ifndef PADDOCK_LOOPLAG_H
#define PADDOCK_LOOPLAG_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct looplag;

#define LOOPLAG_INTERVAL_MS 100
#define LOOPLAG_NBUCKETS 11 /* the last one is +Inf */

struct looplag_stats {
	const double *le; /* upper bounds in seconds, LOOPLAG_NBUCKETS - 1 of them */
	uint64_t bucket[LOOPLAG_NBUCKETS]; /* cumulative counts, Prometheus style */
	uint64_t count;
	double sum; /* seconds */
	double max; /* seconds */
};

/* Start probing every interval_ms on base; NULL (errno set) if no timer could be made. */
struct looplag *looplag_new(struct event_base *base, unsigned interval_ms);
struct looplag *looplag_free(struct looplag *lag);
/* Record one lag sample (the probe's tick does; tests may too). */
void looplag_record(struct looplag *lag, uint64_t lag_ns);
const struct looplag_stats *looplag_stats(const struct looplag *lag);

#endif
