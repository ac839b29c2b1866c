/*
 * test-notify.c - unit tests for supervisor/core/notify-parse.c: the sd_notify
 * datagram format, all or nothing, with every bound a sender could push.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "notify-parse.h"

static int parse(const char *s, struct notify_msg *m, struct error *err)
{
	return notify_parse(s, strlen(s), m, err);
}

static void bad(const char *s, const char *why_sub)
{
	struct notify_msg m;
	struct error err = { 0 };

	if (parse(s, &m, &err) != -EBADMSG)
		fail_msg("'%s' was accepted", s);
	if (!err.msg[0] || !strstr(err.msg, why_sub))
		fail_msg("'%s': reason '%s', want '%s'", s, err.msg[0] ? err.msg : "(none)",
			 why_sub);
	/* Refused whole: nothing of it is acted on. */
	assert_false(m.ready);
	assert_false(m.have_status);
}

static void test_keys(void **state)
{
	struct notify_msg m;
	struct error err;

	(void)state;
	assert_int_equal(parse("READY=1\nSTATUS=up and running\nMAINPID=42\n", &m, &err), 0);
	assert_true(m.ready);
	assert_true(m.have_status);
	assert_string_equal(m.status, "up and running");
	assert_true(m.have_mainpid);
	assert_int_equal(m.mainpid, 42);
	assert_false(m.watchdog);

	assert_int_equal(parse("WATCHDOG=1", &m, &err), 0);
	assert_true(m.watchdog);
	assert_int_equal(parse("WATCHDOG=trigger", &m, &err), 0);
	assert_true(m.watchdog_trigger);
	assert_false(m.watchdog);
	assert_int_equal(parse("STOPPING=1\nBARRIER=1\nRELOADING=1", &m, &err), 0);
	assert_true(m.stopping && m.barrier && m.reloading);
	assert_int_equal(parse("EXTEND_TIMEOUT_USEC=18446744073709551615", &m, &err), 0);
	assert_true(m.have_extend);
	assert_true(m.extend_usec == UINT64_MAX);
	assert_int_equal(parse("WATCHDOG_USEC=2000000", &m, &err), 0);
	assert_true(m.have_watchdog_usec && m.watchdog_usec == 2000000);
}

static void test_lenient(void **state)
{
	struct notify_msg m;
	struct error err;

	(void)state;
	/* Empty message, blank lines, unknown keys (counted), empty STATUS, last one wins. */
	assert_int_equal(parse("", &m, &err), 0);
	assert_int_equal(parse("\n\nERRNO=2\nFDSTORE=1\nX_CUSTOM=whatever\n", &m, &err), 0);
	assert_int_equal(m.ignored, 3);
	assert_int_equal(parse("STATUS=", &m, &err), 0);
	assert_true(m.have_status);
	assert_string_equal(m.status, "");
	assert_int_equal(parse("STATUS=a\nSTATUS=b=c", &m, &err), 0);
	assert_string_equal(m.status, "b=c");
	/* Control characters never reach status output. */
	assert_int_equal(parse("STATUS=a\tb\rc\x1b[31m", &m, &err), 0);
	assert_string_equal(m.status, "a b c [31m");
}

static void test_status_cut(void **state)
{
	char buf[NOTIFY_MSG_MAX];
	struct notify_msg m;
	struct error err;

	(void)state;
	memcpy(buf, "STATUS=", 7);
	memset(buf + 7, 'x', sizeof(buf) - 7);
	assert_int_equal(notify_parse(buf, sizeof(buf), &m, &err), 0);
	assert_int_equal(strlen(m.status), NOTIFY_STATUS_MAX - 1);
}

static void test_refused(void **state)
{
	char big[NOTIFY_MSG_MAX + 1];
	struct notify_msg m;
	struct error err = { 0 };

	(void)state;
	bad("READY=1\nhello", "KEY=VALUE");
	bad("READY=1\n=1", "KEY=VALUE");
	bad("ready=1", "KEY=VALUE");
	bad("READY=2", "only 1");
	bad("READY=1\nSTOPPING=yes", "only 1");
	bad("STATUS=x\nWATCHDOG=0", "WATCHDOG");
	bad("MAINPID=0", "MAINPID");
	bad("MAINPID=-5", "MAINPID");
	bad("MAINPID=2147483648", "MAINPID");
	bad("MAINPID=12abc", "MAINPID");
	bad("MAINPID=", "MAINPID");
	bad("EXTEND_TIMEOUT_USEC=18446744073709551616", "EXTEND_TIMEOUT_USEC");
	bad("EXTEND_TIMEOUT_USEC= 5", "EXTEND_TIMEOUT_USEC");
	bad("WATCHDOG_USEC=0", "WATCHDOG_USEC");
	assert_int_equal(notify_parse("READY=1\0STATUS=x", 16, &m, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "NUL"));
	assert_false(m.ready);
	memset(big, 'A', sizeof(big));
	assert_int_equal(notify_parse(big, sizeof(big), &m, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "too long"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_lenient),
		cmocka_unit_test(test_status_cut),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
