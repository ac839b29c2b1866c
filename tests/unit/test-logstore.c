/*
 * test-logstore.c - line splitting, the memory ring, rotation and
 * followers of a service's log store, on a temporary directory.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logstore.h"

static char dir[] = "/tmp/paddock-test-logstore.XXXXXX";

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/paddock-test-logstore.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Lines split across feeds, both streams, a last line without newline. */
static void test_lines(void **state)
{
	struct logstore *ls = logstore_new(dir, "svc", 1 << 20, 2, false);
	char *tail;

	(void)state;
	logstore_feed(ls, 1, "hel", 3);
	logstore_feed(ls, 1, "lo\nwor", 6);
	logstore_feed(ls, 2, "oops\n", 5);
	logstore_feed(ls, 1, "ld\n", 3);
	logstore_feed(ls, 1, "no newline", 10);
	logstore_flush(ls, 1);
	tail = logstore_tail(ls, 10);
	assert_int_equal(count_lines(tail), 4);
	assert_non_null(strstr(tail, " stdout hello\n"));
	assert_non_null(strstr(tail, " stderr oops\n"));
	assert_non_null(strstr(tail, " stdout world\n"));
	assert_non_null(strstr(tail, " stdout no newline\n"));
	free(tail);
	tail = logstore_tail(ls, 1);
	assert_int_equal(count_lines(tail), 1);
	assert_non_null(strstr(tail, "no newline"));
	free(tail);
	tail = logstore_tail(ls, 0);
	assert_string_equal(tail, "");
	free(tail);
	logstore_free(ls);
}

/* The ring keeps whole recent lines within its bound (what is left when the file is gone). */
static void test_ring_bound(void **state)
{
	struct logstore *ls = logstore_new(dir, "ring", 1 << 30, 0, false);
	char line[64], path[256], *tail;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		int n = snprintf(line, sizeof(line), "line-%d\n", i);
		logstore_feed(ls, 1, line, (size_t)n);
	}
	snprintf(path, sizeof(path), "%s/ring.log", dir);
	assert_int_equal(unlink(path), 0);
	tail = logstore_tail(ls, 100000);
	assert_true(strlen(tail) <= LOGSTORE_RING_MAX);
	assert_non_null(strstr(tail, "line-19999\n"));
	assert_null(strstr(tail, "line-0\n"));
	/* Every kept record is whole: it starts with a timestamp. */
	assert_memory_equal(tail, "20", 2);
	/* ... and none is missing between the oldest kept and the newest. */
	unsigned kept = count_lines(tail);
	assert_true(kept > 1000);
	const char *p = tail;
	for (int i = 20000 - (int)kept; i < 20000; i++) {
		int n = snprintf(line, sizeof(line), " stdout line-%d\n", i);
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_memory_equal(nl + 1 - n, line, (size_t)n);
		p = nl + 1;
	}
	free(tail);
	/* --since applies to the ring too. */
	bool truncated;
	tail = logstore_history(ls, 100000, UINT64_C(4102444800000), &truncated);
	assert_string_equal(tail, "");
	free(tail);
	tail = logstore_history(ls, 100000, 1, &truncated);
	assert_non_null(strstr(tail, "line-19999\n"));
	free(tail);
	logstore_free(ls);
}

/* The lines of one feed came in together: one stamp; the stream label follows each line. */
static void test_batch_stamp(void **state)
{
	struct logstore *ls = logstore_new(dir, "stamp", 1 << 20, 0, false);
	char *tail, *l2, *l3;

	(void)state;
	logstore_feed(ls, 1, "one\ntwo\nthree\n", 14);
	logstore_feed(ls, 2, "err\n", 4);
	tail = logstore_tail(ls, 4);
	assert_int_equal(count_lines(tail), 4);
	l2 = strchr(tail, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;
	assert_memory_equal(tail, l2, 24);
	assert_memory_equal(tail, l3, 24);
	assert_memory_equal(tail + 24, " stdout one\n", 12);
	assert_memory_equal(l3 + 24, " stdout three\n", 14);
	assert_non_null(strstr(tail, "Z stderr err\n"));
	free(tail);
	logstore_free(ls);
}

/* An overlong line is split, never dropped or overflowing. */
static void test_long_line(void **state)
{
	struct logstore *ls = logstore_new(dir, "long", 1 << 20, 0, false);
	size_t len = LOGSTORE_LINE_MAX * 2 + 10;
	char *big = malloc(len), *tail;

	(void)state;
	memset(big, 'x', len);
	logstore_feed(ls, 1, big, len);
	logstore_feed(ls, 1, "\n", 1);
	tail = logstore_tail(ls, 10);
	assert_int_equal(count_lines(tail), 3);
	free(tail);
	free(big);
	logstore_free(ls);
}

/* Rotation by size keeps `keep` old files, each within the bound. */
static void test_rotation(void **state)
{
	struct logstore *ls = logstore_new(dir, "rot", 4096, 2, false);
	char path[256], line[128];
	struct stat st;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(line, sizeof(line), "a fairly long log line number %d\n", i);
		logstore_feed(ls, 1, line, (size_t)n);
	}
	snprintf(path, sizeof(path), "%s/rot.log", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size <= 4096);
	snprintf(path, sizeof(path), "%s/rot.log.1", dir);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/rot.log.2", dir);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/rot.log.3", dir);
	assert_int_not_equal(stat(path, &st), 0);
	assert_int_equal(logstore_dropped(ls), 0);
	logstore_remove_files(ls);
	snprintf(path, sizeof(path), "%s/rot.log", dir);
	assert_int_not_equal(stat(path, &st), 0);
	logstore_free(ls);
}

/*
 * One feed of many lines (batched into one write) that crosses several
 * rotations: every line lands in exactly one file, in order, each file
 * within the size limit, and the live file is complete when feed returns.
 */
static void test_batch_rotation(void **state)
{
	struct logstore *ls = logstore_new(dir, "batch", 4096, 50, false);
	size_t cap = 3000 * 40, len = 0;
	char *buf = malloc(cap), path[256];
	struct stat st;
	int next = 0;

	(void)state;
	assert_non_null(buf);
	for (int i = 0; i < 3000; i++)
		len += (size_t)snprintf(buf + len, cap - len, "line-%d of a batch\n", i);
	logstore_feed(ls, 1, buf, len);
	free(buf);
	assert_int_equal(logstore_dropped(ls), 0);
	/* Oldest first: batch.log.N .. batch.log.1, then batch.log. */
	for (int i = 50; i >= 0; i--) {
		if (i)
			snprintf(path, sizeof(path), "%s/batch.log.%d", dir, i);
		else
			snprintf(path, sizeof(path), "%s/batch.log", dir);
		if (stat(path, &st) != 0)
			continue;
		assert_true(st.st_size <= 4096);
		FILE *f = fopen(path, "r");
		char line[256];
		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			char *p = strstr(line, "stdout line-");
			assert_non_null(p);
			if (atoi(p + 12) != next)
				fail_msg("%s: line %d where %d was due", path, atoi(p + 12), next);
			next++;
		}
		fclose(f);
	}
	assert_int_equal(next, 3000);
	logstore_free(ls);
}

/* The n-th number of "line-%d" records in text, -1 when there are fewer. */
static int nth_number(const char *text, unsigned nth)
{
	const char *p = text;

	for (unsigned i = 0; i < nth && p; i++) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (!p || !(p = strstr(p, "line-")))
		return -1;
	return atoi(p + 5);
}

/*
 * History comes from the files, across rotations and across a new store
 * on the same files (a restarted daemon), in order, with no gap.
 */
static void test_history(void **state)
{
	struct logstore *ls = logstore_new(dir, "hist", 8192, 3, false);
	char line[64], *text;
	bool truncated;

	(void)state;
	for (int i = 0; i < 300; i++) {
		int n = snprintf(line, sizeof(line), "line-%d\n", i);
		logstore_feed(ls, 1, line, (size_t)n);
	}
	logstore_free(ls);
	ls = logstore_new(dir, "hist", 8192, 3, false); /* "restarted" */
	for (int i = 300; i < 320; i++) {
		int n = snprintf(line, sizeof(line), "line-%d\n", i);
		logstore_feed(ls, 1, line, (size_t)n);
	}
	/* 120 lines: more than the live file holds, so the rotations are read too. */
	text = logstore_history(ls, 120, 0, &truncated);
	assert_false(truncated);
	assert_int_equal(count_lines(text), 120);
	for (unsigned i = 0; i < 120; i++)
		assert_int_equal(nth_number(text, i), 200 + (int)i);
	free(text);
	/* Everything since a time in the future: nothing. */
	text = logstore_history(ls, 1000, UINT64_C(4102444800000), &truncated);
	assert_string_equal(text, "");
	free(text);
	/* Since long ago: what the files still hold, the newest last. */
	text = logstore_history(ls, 100000, 1, &truncated);
	assert_true(count_lines(text) > 120);
	assert_int_equal(nth_number(text, count_lines(text) - 1), 319);
	free(text);
	logstore_free(ls);
}

/* A record without a newline at the end of the file, and a file of only that. */
static void test_history_torn(void **state)
{
	struct logstore *ls = logstore_new(dir, "torn", 1 << 20, 0, false);
	char path[256], *text;
	bool truncated;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/torn.log", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("2026-01-01T00:00:00.000Z stdout line-1\n2026-01-01T00:00:01.000Z stdout line-2", f);
	fclose(f);
	text = logstore_history(ls, 10, 0, &truncated);
	assert_string_equal(text, "2026-01-01T00:00:00.000Z stdout line-1\n"
				  "2026-01-01T00:00:01.000Z stdout line-2\n");
	free(text);
	/* since: the stamp bounds, to the millisecond. */
	text = logstore_history(ls, 10, UINT64_C(1767225601000), &truncated);
	assert_string_equal(text, "2026-01-01T00:00:01.000Z stdout line-2\n");
	free(text);
	logstore_free(ls);
}

static unsigned followed;
static void follow(void *arg, const char *service, int stream, uint64_t ts, const char *line,
		   size_t len)
{
	(void)service;
	(void)ts;
	(void)line;
	(void)len;
	followed++;
	if (stream == 0) /* a note: unfollow from inside the callback */
		logstore_unfollow(arg, follow, arg);
}

static void test_followers(void **state)
{
	struct logstore *ls = logstore_new(dir, "fol", 1 << 20, 0, false);

	(void)state;
	followed = 0;
	assert_int_equal(logstore_follow(ls, follow, ls), 0);
	logstore_feed(ls, 1, "a\nb\n", 4);
	logstore_note(ls, "exited %d", 3);
	logstore_feed(ls, 1, "c\n", 2);
	assert_int_equal(followed, 3);
	logstore_free(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_stamp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_followers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_torn, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
