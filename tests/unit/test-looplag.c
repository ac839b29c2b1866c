/*
 * test-looplag.c - unit tests for supervisor/core/looplag.c: samples land
 * in cumulative Prometheus buckets, and a callback that holds a real event
 * loop shows up as lag of at least the time it held it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/event.h>
#include <time.h>

#include "looplag.h"

static void test_buckets(void **state)
{
	struct event_base *base = event_base_new();
	struct looplag *lag = looplag_new(base, 60000); /* no tick during the test */
	const struct looplag_stats *s;

	(void)state;
	assert_non_null(lag);
	looplag_record(lag, 500000); /* 0.5 ms */
	looplag_record(lag, 3000000); /* 3 ms */
	looplag_record(lag, 20000000); /* 20 ms */
	looplag_record(lag, 2000000000); /* 2 s */
	s = looplag_stats(lag);
	assert_int_equal(s->count, 4);
	assert_true(s->le[0] == 0.001 && s->le[LOOPLAG_NBUCKETS - 2] == 1);
	static const uint64_t want[LOOPLAG_NBUCKETS] = { 1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 4 };
	for (size_t i = 0; i < LOOPLAG_NBUCKETS; i++)
		assert_int_equal(s->bucket[i], want[i]);
	assert_true(s->sum > 2.0234 && s->sum < 2.0236);
	assert_true(s->max == 2.0);
	lag = looplag_free(lag);
	assert_null(lag);
	event_base_free(base);
}

static void hold(evutil_socket_t fd, short what, void *arg)
{
	struct timespec t0, t;

	(void)fd, (void)what, (void)arg;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 40000000L);
}

static void stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	event_base_loopexit(arg, NULL);
}

/* A callback holding the loop for 40 ms: some tick is served >= 25 ms late. */
static void test_held_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct looplag *lag = looplag_new(base, 10);
	struct timeval at_hold = { 0, 25000 }, at_stop = { 0, 150000 };
	const struct looplag_stats *s;

	(void)state;
	assert_non_null(lag);
	assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, hold, NULL, &at_hold), 0);
	assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, stop, base, &at_stop), 0);
	assert_int_equal(event_base_dispatch(base), 0);
	s = looplag_stats(lag);
	assert_true(s->count >= 3);
	assert_true(s->max >= 0.025);
	assert_true(s->bucket[4] < s->count); /* le=0.025 misses the held tick */
	assert_int_equal(s->bucket[LOOPLAG_NBUCKETS - 1], s->count);
	looplag_free(lag);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_held_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
