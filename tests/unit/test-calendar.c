/*
 * test-calendar.c - unit tests for config/calendar.c: cron fields, names,
 * steps and aliases, calendar events with zones, the next time across month
 * ends, leap years and DST changes (Europe/Paris, America/New_York), and
 * the messages for bad expressions; and the schedule: key of a spec.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "calendar.h"
#include "config.h"
#include "spec.h"

/* "2026-03-29 01:00:00" read as UTC. */
static time_t utc(const char *s)
{
	struct tm tm = { 0 };

	if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		fail_msg("bad time %s", s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static void fmt(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* next(expr, after) in zone tz is want; all times in UTC. */
static void next_is(const char *expr, const char *tz, const char *after, const char *want)
{
	struct calendar cal;
	char err[256], got[64];
	time_t t = 0;
	int r = calendar_parse(expr, &cal, err, sizeof(err));

	if (r != 0)
		fail_msg("'%s': %s", expr, err);
	assert_int_equal(calendar_next(&cal, tz, utc(after), &t), 0);
	fmt(t, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("'%s' (%s) after %s: got %s, want %s", expr, tz ? tz : "-", after, got,
			 want);
}

static void bad(const char *expr, const char *sub)
{
	struct calendar cal;
	char err[256] = "";

	if (calendar_parse(expr, &cal, err, sizeof(err)) != -EINVAL)
		fail_msg("'%s' accepted", expr);
	if (!strstr(err, sub))
		fail_msg("'%s': message '%s' lacks '%s'", expr, err, sub);
}

static void test_cron(void **state)
{
	(void)state;
	next_is("*/5 * * * *", "UTC", "2026-01-01 00:01:00", "2026-01-01 00:05:00");
	next_is("*/5 * * * *", "UTC", "2026-01-01 00:05:00", "2026-01-01 00:10:00");
	next_is("* * * * *", "UTC", "2026-01-01 00:00:30", "2026-01-01 00:01:00");
	next_is("59 23 31 12 *", "UTC", "2026-12-31 23:59:00", "2027-12-31 23:59:00");
	next_is("0,30 9-17/4 * * *", "UTC", "2026-05-01 09:30:00", "2026-05-01 13:00:00");
	next_is("0 9 * * mon-fri", "UTC", "2026-12-05 10:00:00", "2026-12-07 09:00:00");
	next_is("0 9 * * MON-Fri", "UTC", "2026-12-07 09:00:00", "2026-12-08 09:00:00");
	next_is("0 0 * * 7", "UTC", "2026-12-05 00:00:00", "2026-12-06 00:00:00");
	next_is("0 0 * * 0", "UTC", "2026-12-05 00:00:00", "2026-12-06 00:00:00");
	next_is("0 0 1 jan,jul *", "UTC", "2026-02-01 00:00:00", "2026-07-01 00:00:00");
	/* both day fields restricted: either matches (cron's rule) */
	next_is("0 0 15 * sun", "UTC", "2026-12-01 00:00:00", "2026-12-06 00:00:00");
	next_is("0 0 15 * sun", "UTC", "2026-12-13 00:00:00", "2026-12-15 00:00:00");
	/* a day field starting with a star is no restriction (Vixie cron): both must match */
	next_is("0 0 */2 * sun", "UTC", "2026-12-01 00:00:00", "2026-12-13 00:00:00");
	/* month ends and leap years */
	next_is("0 0 31 * *", "UTC", "2026-04-01 00:00:00", "2026-05-31 00:00:00");
	next_is("0 0 31 * *", "UTC", "2026-05-31 00:00:00", "2026-07-31 00:00:00");
	next_is("0 12 29 2 *", "UTC", "2026-01-01 00:00:00", "2028-02-29 12:00:00");
	next_is("0 12 29 2 *", "UTC", "2096-03-01 00:00:00", "2104-02-29 12:00:00");
	next_is("0 0 30 * *", "UTC", "2026-01-30 00:00:00", "2026-03-30 00:00:00");
}

static void test_cron_aliases(void **state)
{
	(void)state;
	next_is("@hourly", "UTC", "2026-06-01 12:34:56", "2026-06-01 13:00:00");
	next_is("@daily", "UTC", "2026-06-01 12:34:56", "2026-06-02 00:00:00");
	next_is("@midnight", "UTC", "2026-06-01 00:00:00", "2026-06-02 00:00:00");
	next_is("@weekly", "UTC", "2026-12-05 12:00:00", "2026-12-06 00:00:00");
	next_is("@monthly", "UTC", "2026-12-05 12:00:00", "2027-01-01 00:00:00");
	next_is("@yearly", "UTC", "2026-12-05 12:00:00", "2027-01-01 00:00:00");
	next_is("@annually", "UTC", "2026-12-05 12:00:00", "2027-01-01 00:00:00");
}

static void test_events(void **state)
{
	(void)state;
	next_is("minutely", "UTC", "2026-06-01 12:34:56", "2026-06-01 12:35:00");
	next_is("hourly", "UTC", "2026-06-01 12:34:56", "2026-06-01 13:00:00");
	next_is("daily", "UTC", "2026-06-01 12:34:56", "2026-06-02 00:00:00");
	next_is("weekly", "UTC", "2026-12-05 12:00:00", "2026-12-07 00:00:00");
	next_is("monthly", "UTC", "2026-12-05 12:00:00", "2027-01-01 00:00:00");
	next_is("yearly", "UTC", "2026-12-05 12:00:00", "2027-01-01 00:00:00");
	next_is("quarterly", "UTC", "2026-04-01 00:00:00", "2026-07-01 00:00:00");
	next_is("*-*-* 03:00:00", "UTC", "2026-06-01 03:00:00", "2026-06-02 03:00:00");
	next_is("*-*-* 03:00", "UTC", "2026-06-01 02:59:59", "2026-06-01 03:00:00");
	next_is("Mon..Fri *-*-* 09:00", "UTC", "2026-12-04 09:00:00", "2026-12-07 09:00:00");
	next_is("Sat,Sun 10:00", "UTC", "2026-12-04 09:00:00", "2026-12-05 10:00:00");
	next_is("Monday *-*-* 09:00", "UTC", "2026-12-04 09:00:00", "2026-12-07 09:00:00");
	next_is("*-*-01 00:00:00", "UTC", "2026-12-05 00:00:00", "2027-01-01 00:00:00");
	next_is("*-*-31", "UTC", "2026-04-01 00:00:00", "2026-05-31 00:00:00");
	next_is("*-02-29 12:00", "UTC", "2026-01-01 00:00:00", "2028-02-29 12:00:00");
	next_is("12-25 08:00", "UTC", "2026-12-26 00:00:00", "2027-12-25 08:00:00");
	next_is("*:0/15", "UTC", "2026-06-01 12:31:00", "2026-06-01 12:45:00");
	next_is("*:*:0/20", "UTC", "2026-06-01 12:31:41", "2026-06-01 12:32:00");
	next_is("*-1..3-* 00:00", "UTC", "2026-03-31 12:00:00", "2027-01-01 00:00:00");
	next_is("*-*-1/10 00:00", "UTC", "2026-06-01 12:00:00", "2026-06-11 00:00:00");
}

static void test_zones(void **state)
{
	(void)state;
	/* a zone in the expression; CEST is UTC+2, CET UTC+1 */
	next_is("*-*-* 03:00:00 Europe/Paris", NULL, "2026-07-01 00:00:00", "2026-07-01 01:00:00");
	next_is("*-*-* 03:00:00 Europe/Paris", NULL, "2026-01-10 00:00:00", "2026-01-10 02:00:00");
	next_is("daily UTC", NULL, "2026-01-10 00:00:00", "2026-01-11 00:00:00");
	/* a zone given apart (schedule.timezone) */
	next_is("0 9 * * *", "America/New_York", "2026-07-01 00:00:00", "2026-07-01 13:00:00");
	next_is("0 9 * * *", "America/New_York", "2026-12-01 00:00:00", "2026-12-01 14:00:00");
	/* TZ is left as it was */
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	next_is("0 9 * * *", "UTC", "2026-07-01 00:00:00", "2026-07-01 09:00:00");
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	next_is("0 9 * * *", NULL, "2026-07-01 00:00:00", "2026-07-02 00:00:00");
	unsetenv("TZ");
	tzset();
}

static void test_dst(void **state)
{
	(void)state;
	/* Paris springs forward 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC): 02:30 runs at 03:00 */
	next_is("30 2 * * *", "Europe/Paris", "2026-03-28 12:00:00", "2026-03-29 01:00:00");
	next_is("30 2 * * *", "Europe/Paris", "2026-03-29 01:00:00", "2026-03-30 00:30:00");
	next_is("0 * * * *", "Europe/Paris", "2026-03-29 00:30:00", "2026-03-29 01:00:00");
	next_is("0 * * * *", "Europe/Paris", "2026-03-29 01:00:00", "2026-03-29 02:00:00");
	/* Paris falls back 2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC): 02:30 once, the first */
	next_is("30 2 * * *", "Europe/Paris", "2026-10-24 12:00:00", "2026-10-25 00:30:00");
	next_is("30 2 * * *", "Europe/Paris", "2026-10-25 00:30:00", "2026-10-26 01:30:00");
	next_is("*-*-* 03:00 Europe/Paris", NULL, "2026-10-25 00:00:00", "2026-10-25 02:00:00");
	/* New York springs forward 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC) */
	next_is("0 2 * * *", "America/New_York", "2026-03-07 12:00:00", "2026-03-08 07:00:00");
	next_is("0 2 * * *", "America/New_York", "2026-03-08 07:00:00", "2026-03-09 06:00:00");
	next_is("0 * * * *", "America/New_York", "2026-03-08 06:30:00", "2026-03-08 07:00:00");
	next_is("0 * * * *", "America/New_York", "2026-03-08 07:00:00", "2026-03-08 08:00:00");
	/* and falls back 2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC): 01:30 once */
	next_is("30 1 * * *", "America/New_York", "2026-10-31 12:00:00", "2026-11-01 05:30:00");
	next_is("30 1 * * *", "America/New_York", "2026-11-01 05:30:00", "2026-11-02 06:30:00");
}

static void test_bad(void **state)
{
	(void)state;
	bad("", "empty");
	bad("61 * * * *", "minute field: 61 is out of range 0..59");
	bad("* 24 * * *", "hour field: 24 is out of range 0..23");
	bad("* * 0 * *", "day-of-month field: 0 is out of range 1..31");
	bad("* * * 13 *", "month field: 13 is out of range 1..12");
	bad("* * * foo *", "month field: unknown name 'foo'");
	bad("* * * * 8", "day-of-week field: 8 is out of range 0..7");
	bad("*/0 * * * *", "minute field: step must be 1..60");
	bad("5-1 * * * *", "minute field: range 5-1 runs backwards");
	bad("1;2 * * * *", "minute field: unexpected ';'");
	bad("0 0 30 2 *", "never matches");
	bad("0 0 31 4,6 *", "never matches");
	bad("@reboot", "unknown alias '@reboot'");
	bad("*-*-* 25:00", "hour: 25 is out of range 0..23");
	bad("*-*-* 12:60", "minute: 60 is out of range 0..59");
	bad("*-*-* 12", "unexpected '12'");
	bad("*-*-* 1:2:3:4", "expected HOUR:MINUTE[:SECOND]");
	bad("Mon..Fro 10:00", "weekday: unknown name 'Fro'");
	bad("Fri..Mon 10:00", "runs backwards");
	bad("daily Mars/Olympus", "unknown time zone 'Mars/Olympus'");
	bad("2027-01-01 00:00", "only '*' is supported as the year");
	bad("*-13-01", "month: 13 is out of range 1..12");
	bad("*-02-30 00:00", "never matches");
	bad("fortnightly", "neither a cron expression");
	bad("Mon 10:00 10:00", "unexpected '10:00'");
}

static const struct config_host host = { .mem_total = 8ULL << 30 };

/* A spec with one service 'job' whose schedule: is sched (YAML) and restart.policy policy. */
static int load(const char *sched, const char *policy, struct spec_set **set,
		struct config_errors *e)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "services:\n  job:\n    rootfs: /\n    command: [/bin/true]\n"
		 "    restart: {policy: %s}\n    schedule: %s\n",
		 policy, sched);
	return config_parse_specs_buffer("t.yaml", buf, strlen(buf), &host, set, e);
}

static void spec_bad(const char *sched, const char *policy, const char *sub)
{
	struct config_errors e = { 0 };
	struct spec_set *set = NULL;

	if (load(sched, policy, &set, &e) == 0)
		fail_msg("'%s' accepted", sched);
	for (size_t i = 0; i < e.n; i++)
		if (strstr(e.diags[i].message, sub)) {
			config_errors_clear(&e);
			return;
		}
	config_errors_print(stderr, &e);
	fail_msg("'%s': no diagnostic with '%s'", sched, sub);
}

static void test_spec(void **state)
{
	struct config_errors e = { 0 };
	struct spec_set *set = NULL;
	const struct spec_schedule *sc;

	(void)state;
	assert_int_equal(load("\"*/5 * * * *\"", "never", &set, &e), 0);
	sc = set->services[0]->schedule;
	assert_non_null(sc);
	assert_string_equal(sc->expr, "*/5 * * * *");
	assert_null(sc->tz);
	assert_false(sc->persistent);
	assert_int_equal(sc->overlap, OVERLAP_SKIP);
	assert_int_equal(sc->cal.minutes, 0x084210842108421ULL);
	set = spec_set_free(set);

	assert_int_equal(load("{on: \"Mon..Fri *-*-* 09:00\", timezone: Europe/Paris, "
			      "randomized_delay: 90s, persistent: true, overlap: replace}",
			      "on-failure", &set, &e),
			 0);
	sc = set->services[0]->schedule;
	assert_string_equal(sc->tz, "Europe/Paris");
	assert_int_equal(sc->randomized_delay_ms, 90000);
	assert_true(sc->persistent);
	assert_int_equal(sc->overlap, OVERLAP_REPLACE);
	assert_int_equal(sc->cal.wdays, 0x3e);
	set = spec_set_free(set);

	/* a zone in the expression becomes the schedule's zone */
	assert_int_equal(load("\"daily America/New_York\"", "never", &set, &e), 0);
	assert_string_equal(set->services[0]->schedule->tz, "America/New_York");
	set = spec_set_free(set);

	spec_bad("daily", "always", "needs restart.policy 'never' or 'on-failure'");
	spec_bad("\"61 * * * *\"", "never", "minute field: 61 is out of range 0..59");
	spec_bad("{timezone: UTC}", "never", "'schedule' needs 'on'");
	spec_bad("{on: daily, timezone: Mars/Base}", "never", "unknown time zone 'Mars/Base'");
	spec_bad("{on: daily Europe/Paris, timezone: UTC}", "never",
		 "differs from the zone 'Europe/Paris'");
	spec_bad("{on: daily, overlap: wait}", "never", "overlap");
	spec_bad("{on: daily, persistent: maybe}", "never", "persistent");
	spec_bad("{on: daily, when: now}", "never", "unknown key 'when'");
	spec_bad("[daily]", "never", "schedule");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cron),   cmocka_unit_test(test_cron_aliases),
		cmocka_unit_test(test_events), cmocka_unit_test(test_zones),
		cmocka_unit_test(test_dst),    cmocka_unit_test(test_bad),
		cmocka_unit_test(test_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
