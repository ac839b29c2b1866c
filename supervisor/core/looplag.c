/*
 * looplag.c - the loop-lag probe (see looplag.h).
 *
 * The tick is a periodic timerfd read through the event base, not a
 * libevent timer: libevent reads CLOCK_MONOTONIC_COARSE (jiffy resolution,
 * 4 ms at HZ=250), which would add that much noise to every sample. The
 * timerfd becomes readable exactly at its due time, so the time until the
 * loop reads it is the loop's lag alone. Missed ticks (the loop blocked for
 * longer than an interval) count as one sample: the lag of the first one.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "looplag.h"
#include "util.h"

static const double looplag_le[LOOPLAG_NBUCKETS - 1] = { 0.001, 0.0025, 0.005, 0.01, 0.025,
							 0.05,	0.1,	0.25,  0.5,  1 };

struct looplag {
	int fd; /* periodic timerfd */
	struct event *ev;
	uint64_t interval_ns;
	uint64_t due_ns; /* CLOCK_MONOTONIC of the next expiry not yet served */
	struct looplag_stats stats;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

void looplag_record(struct looplag *lag, uint64_t lag_ns)
{
	struct looplag_stats *s = &lag->stats;
	double v = (double)lag_ns / 1e9;

	for (size_t i = 0; i < LOOPLAG_NBUCKETS - 1; i++)
		if (v <= looplag_le[i])
			s->bucket[i]++;
	s->bucket[LOOPLAG_NBUCKETS - 1]++;
	s->count++;
	s->sum += v;
	if (v > s->max)
		s->max = v;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct looplag *lag = arg;
	uint64_t expirations = 0, now;

	if (read(fd, &expirations, sizeof(expirations)) != (ssize_t)sizeof(expirations) ||
	    expirations == 0)
		return; /* EAGAIN: nothing due after all */
	now = mono_ns();
	looplag_record(lag, now > lag->due_ns ? now - lag->due_ns : 0);
	lag->due_ns += expirations * lag->interval_ns;
}

/* Arm the timerfd and its event; -errno. */
static int looplag_arm(struct looplag *lag, struct event_base *base)
{
	struct itimerspec its = { 0 };

	lag->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (lag->fd < 0)
		return -errno;
	/* An absolute first expiry, so that due_ns is exactly the kernel's. */
	lag->due_ns = mono_ns() + lag->interval_ns;
	its.it_value.tv_sec = (time_t)(lag->due_ns / 1000000000);
	its.it_value.tv_nsec = (long)(lag->due_ns % 1000000000);
	its.it_interval.tv_sec = (time_t)(lag->interval_ns / 1000000000);
	its.it_interval.tv_nsec = (long)(lag->interval_ns % 1000000000);
	if (timerfd_settime(lag->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	lag->ev = event_new(base, lag->fd, EV_READ | EV_PERSIST, on_tick, lag);
	if (!lag->ev || event_add(lag->ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

struct looplag *looplag_new(struct event_base *base, unsigned interval_ms)
{
	struct looplag *lag = xcalloc(1, sizeof(*lag));
	int r;

	lag->fd = -1;
	lag->stats.le = looplag_le;
	lag->interval_ns = (uint64_t)(interval_ms ? interval_ms : LOOPLAG_INTERVAL_MS) * 1000000;
	if ((r = looplag_arm(lag, base)) < 0) {
		looplag_free(lag);
		errno = -r;
		return NULL;
	}
	return lag;
}

struct looplag *looplag_free(struct looplag *lag)
{
	if (!lag)
		return NULL;
	if (lag->ev)
		event_free(lag->ev);
	if (lag->fd >= 0)
		(void)close(lag->fd);
	free(lag);
	return NULL;
}

const struct looplag_stats *looplag_stats(const struct looplag *lag)
{
	return &lag->stats;
}
