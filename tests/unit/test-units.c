/*
 * test-units.c - unit tests for config/units.c: sizes, durations, CPUs,
 * percentages, signals, cpusets and formatting, including overflow.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "spec.h"
#include "units.h"

#define GIB (1ULL << 30)

static void size_ok(const char *s, uint64_t mem, uint64_t want)
{
	uint64_t v = 0;
	const char *why = NULL;
	int r = units_parse_size(s, mem, &v, &why);

	if (r != 0)
		fail_msg("'%s': unexpected error %d (%s)", s, r, why ? why : "?");
	if (v != want)
		fail_msg("'%s': got %llu, want %llu", s, (unsigned long long)v,
			 (unsigned long long)want);
}

static void size_bad(const char *s, uint64_t mem, int want_r, const char *why_sub)
{
	uint64_t v = 12345;
	const char *why = NULL;
	int r = units_parse_size(s, mem, &v, &why);

	if (r != want_r)
		fail_msg("'%s': got %d, want %d", s, r, want_r);
	assert_non_null(why);
	if (why_sub && !strstr(why, why_sub))
		fail_msg("'%s': reason '%s' lacks '%s'", s, why, why_sub);
	assert_int_equal(v, 12345); /* untouched on error */
}

static void test_size_plain(void **state)
{
	(void)state;
	size_ok("0", 0, 0);
	size_ok("512", 0, 512);
	size_ok("512B", 0, 512);
	size_ok("64K", 0, 64 << 10);
	size_ok("64k", 0, 64 << 10);
	size_ok("64KiB", 0, 64 << 10);
	size_ok("64kib", 0, 64 << 10);
	size_ok("64Ki", 0, 64 << 10);
	size_ok("64KB", 0, 64 << 10);
	size_ok("128M", 0, 128ULL << 20);
	size_ok("128 MiB", 0, 128ULL << 20);
	size_ok("2G", 0, 2 * GIB);
	size_ok("2T", 0, 2ULL << 40);
	size_ok("1.5G", 0, 3 * GIB / 2);
	size_ok("0.5K", 0, 512);
	size_ok("1.0", 0, 1);
	size_ok("max", 0, SPEC_SIZE_MAX);
	size_ok("MAX", 0, SPEC_SIZE_MAX);
	size_ok("infinity", 0, SPEC_SIZE_MAX);
	/* Many fraction digits are truncated, not an error. */
	size_ok("1.00000000000000000000000001G", 0, GIB);
}

static void test_size_percent(void **state)
{
	(void)state;
	size_ok("25%", 4 * GIB, GIB);
	size_ok("100%", 4 * GIB, 4 * GIB);
	size_ok("0.5%", 200, 1);
	size_ok("12.5 %", 8 * GIB, GIB);
	size_bad("25%", 0, -EINVAL, "host memory");
	size_bad("101%", GIB, -ERANGE, "above 100%");
	size_bad("100.1%", GIB, -ERANGE, "above 100%");
	size_bad("50%x", GIB, -EINVAL, NULL);
}

static void test_size_bad(void **state)
{
	(void)state;
	size_bad("", 0, -EINVAL, "empty");
	size_bad("-1", 0, -EINVAL, "negative");
	size_bad("-1G", 0, -EINVAL, "negative");
	size_bad("+1G", 0, -EINVAL, "not a number");
	size_bad("G", 0, -EINVAL, "not a number");
	size_bad("1Q", 0, -EINVAL, "unknown unit");
	size_bad("1GG", 0, -EINVAL, "unknown unit");
	size_bad("1e9", 0, -EINVAL, "unknown unit");
	size_bad("0x10", 0, -EINVAL, "unknown unit");
	size_bad("1.", 0, -EINVAL, "digit after");
	size_bad(".", 0, -EINVAL, "digit after");
	size_bad("1.5", 0, -EINVAL, "fraction of a byte");
	size_bad(" 1G", 0, -EINVAL, NULL);
}

static void test_size_overflow(void **state)
{
	(void)state;
	/* 2^64 - 3 is the largest plain value (the top two are sentinels). */
	size_ok("18446744073709551613", 0, UINT64_MAX - 2);
	size_bad("18446744073709551614", 0, -ERANGE, "too large");
	size_bad("18446744073709551616", 0, -ERANGE, "too large");
	size_bad("99999999999999999999999999999999", 0, -ERANGE, "too large");
	size_bad("16777216T", 0, -ERANGE, "too large");
	size_ok("16777215T", 0, 16777215ULL << 40);
	size_bad("17179869184G", 0, -ERANGE, "too large");
	size_bad("9999999999999999999.5T", 0, -ERANGE, "too large");
}

static void dur_ok(const char *s, uint64_t want)
{
	uint64_t v = 0;
	const char *why = NULL;
	int r = units_parse_duration(s, &v, &why);

	if (r != 0)
		fail_msg("'%s': unexpected error %d (%s)", s, r, why ? why : "?");
	if (v != want)
		fail_msg("'%s': got %llu, want %llu", s, (unsigned long long)v,
			 (unsigned long long)want);
}

static void dur_bad(const char *s, int want_r)
{
	uint64_t v = 0;
	const char *why = NULL;
	int r = units_parse_duration(s, &v, &why);

	if (r != want_r)
		fail_msg("'%s': got %d, want %d", s, r, want_r);
	assert_non_null(why);
}

static void test_duration(void **state)
{
	(void)state;
	dur_ok("0", 0);
	dur_ok("10", 10000); /* bare number = seconds */
	dur_ok("1.5", 1500);
	dur_ok("250ms", 250);
	dur_ok("10s", 10000);
	dur_ok("1.5m", 90000);
	dur_ok("2min", 120000);
	dur_ok("2h", 7200000);
	dur_ok("1d", 86400000);
	dur_ok("1m30s", 90000);
	dur_ok("1h 30m", 5400000);
	dur_ok("0.5ms", 0);
	dur_ok("10S", 10000);
	dur_bad("", -EINVAL);
	dur_bad("-1s", -EINVAL);
	dur_bad("s", -EINVAL);
	dur_bad("10x", -EINVAL);
	dur_bad("10 20", -EINVAL);
	dur_bad("1m30", -EINVAL); /* bare number only alone */
	dur_bad("10sec", -EINVAL);
	dur_bad("99999999999999999999s", -ERANGE);
	dur_bad("18446744073709551615s", -ERANGE);
	dur_bad("213503982335d", -ERANGE);
	dur_ok("18446744073709551615ms", UINT64_MAX);
	dur_bad("18446744073709551615ms1ms", -ERANGE);
}

static void test_cpus(void **state)
{
	uint32_t v;
	const char *why;

	(void)state;
	assert_int_equal(units_parse_cpus("1.5", &v, &why), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(units_parse_cpus("2", &v, &why), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(units_parse_cpus("250m", &v, &why), 0);
	assert_int_equal(v, 250);
	assert_int_equal(units_parse_cpus("0.001", &v, &why), 0);
	assert_int_equal(v, 1);
	assert_int_equal(units_parse_cpus("max", &v, &why), 0);
	assert_int_equal(v, 0);
	assert_int_equal(units_parse_cpus("0", &v, &why), -ERANGE);
	assert_int_equal(units_parse_cpus("0.0001", &v, &why), -ERANGE);
	assert_int_equal(units_parse_cpus("0m", &v, &why), -ERANGE);
	assert_int_equal(units_parse_cpus("1.5m", &v, &why), -EINVAL);
	assert_int_equal(units_parse_cpus("-1", &v, &why), -EINVAL);
	assert_non_null(strstr(why, "negative"));
	assert_int_equal(units_parse_cpus("1x", &v, &why), -EINVAL);
	assert_int_equal(units_parse_cpus("", &v, &why), -EINVAL);
	assert_int_equal(units_parse_cpus("4294967", &v, &why), 0);
	assert_int_equal(v, 4294967000u);
	assert_int_equal(units_parse_cpus("4294968", &v, &why), -ERANGE);
	assert_int_equal(units_parse_cpus("4294967296m", &v, &why), -ERANGE);
	assert_int_equal(units_parse_cpus("99999999999999999999999", &v, &why), -ERANGE);
}

static void test_percent(void **state)
{
	uint32_t v;
	const char *why;

	(void)state;
	assert_int_equal(units_parse_percent("20%", &v, &why), 0);
	assert_int_equal(v, 200);
	assert_int_equal(units_parse_percent("0.2%", &v, &why), 0);
	assert_int_equal(v, 2);
	assert_int_equal(units_parse_percent("100%", &v, &why), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(units_parse_percent("0.1%", &v, &why), 0);
	assert_int_equal(v, 1);
	assert_int_equal(units_parse_percent("0%", &v, &why), -ERANGE);
	assert_int_equal(units_parse_percent("0.05%", &v, &why), -ERANGE);
	assert_int_equal(units_parse_percent("100.1%", &v, &why), -ERANGE);
	assert_int_equal(units_parse_percent("101%", &v, &why), -ERANGE);
	assert_int_equal(units_parse_percent("20", &v, &why), -EINVAL);
	assert_int_equal(units_parse_percent("-5%", &v, &why), -EINVAL);
	assert_int_equal(units_parse_percent("%", &v, &why), -EINVAL);
	assert_int_equal(units_parse_percent("99999999999999999999999%", &v, &why), -ERANGE);
}

static void test_signal(void **state)
{
	int sig;
	const char *why;

	(void)state;
	assert_int_equal(units_parse_signal("SIGTERM", &sig, &why), 0);
	assert_int_equal(sig, SIGTERM);
	assert_int_equal(units_parse_signal("TERM", &sig, &why), 0);
	assert_int_equal(sig, SIGTERM);
	assert_int_equal(units_parse_signal("sigint", &sig, &why), 0);
	assert_int_equal(sig, SIGINT);
	assert_int_equal(units_parse_signal("9", &sig, &why), 0);
	assert_int_equal(sig, SIGKILL);
	assert_int_equal(units_parse_signal("USR1", &sig, &why), 0);
	assert_int_equal(sig, SIGUSR1);
	assert_int_equal(units_parse_signal("0", &sig, &why), -ERANGE);
	assert_int_equal(units_parse_signal("65", &sig, &why), -ERANGE);
	assert_int_equal(units_parse_signal("99999999999999999999", &sig, &why), -ERANGE);
	assert_int_equal(units_parse_signal("SIGFOO", &sig, &why), -EINVAL);
	assert_int_equal(units_parse_signal("SIG", &sig, &why), -EINVAL);
	assert_int_equal(units_parse_signal("15x", &sig, &why), -EINVAL);
	assert_int_equal(units_parse_signal("-15", &sig, &why), -EINVAL);
	assert_int_equal(units_parse_signal("", &sig, &why), -EINVAL);
	assert_string_equal(units_signal_name(SIGTERM), "SIGTERM");
	assert_string_equal(units_signal_name(SIGKILL), "SIGKILL");
	assert_null(units_signal_name(0));
	assert_null(units_signal_name(-1));
	assert_null(units_signal_name(1000));
}

static void test_cpuset(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(units_check_cpuset("0", &why), 0);
	assert_int_equal(units_check_cpuset("0-1", &why), 0);
	assert_int_equal(units_check_cpuset("0-1,3", &why), 0);
	assert_int_equal(units_check_cpuset("0,2,4-7", &why), 0);
	assert_int_equal(units_check_cpuset("", &why), -EINVAL);
	assert_int_equal(units_check_cpuset("1-0", &why), -EINVAL);
	assert_int_equal(units_check_cpuset("0,", &why), -EINVAL);
	assert_int_equal(units_check_cpuset(",0", &why), -EINVAL);
	assert_int_equal(units_check_cpuset("0--1", &why), -EINVAL);
	assert_int_equal(units_check_cpuset("a", &why), -EINVAL);
	assert_int_equal(units_check_cpuset("0 1", &why), -EINVAL);
	assert_int_equal(units_check_cpuset("8192", &why), -ERANGE);
	assert_int_equal(units_check_cpuset("99999999999999999999", &why), -ERANGE);
}

static void test_format(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(units_format_size(0, buf, sizeof(buf)), "0");
	assert_string_equal(units_format_size(512, buf, sizeof(buf)), "512");
	assert_string_equal(units_format_size(64 << 10, buf, sizeof(buf)), "64K");
	assert_string_equal(units_format_size(3 * GIB / 2, buf, sizeof(buf)), "1.5G");
	assert_string_equal(units_format_size(2ULL << 40, buf, sizeof(buf)), "2T");
	assert_string_equal(units_format_size(SPEC_SIZE_MAX, buf, sizeof(buf)), "max");
	assert_string_equal(units_format_size(SPEC_UNSET, buf, sizeof(buf)), "unset");
	assert_string_equal(units_format_duration(0, buf, sizeof(buf)), "0s");
	assert_string_equal(units_format_duration(250, buf, sizeof(buf)), "250ms");
	assert_string_equal(units_format_duration(90000, buf, sizeof(buf)), "1m30s");
	assert_string_equal(units_format_duration(7200000, buf, sizeof(buf)), "2h");
	assert_string_equal(units_format_duration(UINT64_MAX, buf, sizeof(buf)),
			    "5124095576030h25m51s615ms");
}

/* Formatting and parsing agree. */
static void test_roundtrip(void **state)
{
	static const uint64_t sizes[] = {
		1, 1023, 1024, 65536, 1ULL << 20, 5ULL << 30, 7ULL << 40
	};
	static const uint64_t durs[] = { 1, 999, 1000, 61001, 3600000, 90061001 };
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		size_ok(units_format_size(sizes[i], buf, sizeof(buf)), 0, sizes[i]);
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++)
		dur_ok(units_format_duration(durs[i], buf, sizeof(buf)), durs[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_plain), cmocka_unit_test(test_size_percent),
		cmocka_unit_test(test_size_bad),   cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_duration),   cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_percent),	   cmocka_unit_test(test_signal),
		cmocka_unit_test(test_cpuset),	   cmocka_unit_test(test_format),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
