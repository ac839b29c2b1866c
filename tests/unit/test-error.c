/*
 * test-error.c - unit tests for supervisor/common/error.c: error_set and
 * error_prefix fill the fixed buffer, truncate instead of overflowing,
 * accept NULL, and return -errno.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"

static void test_set(void **unused)
{
	struct error e = { 0 };

	(void)unused;
	assert_int_equal(error_set(&e, ENOENT, "exec %s", "/bin/nope"), -ENOENT);
	assert_int_equal(e.code, ENOENT);
	assert_string_equal(e.msg, "exec /bin/nope");
	/* A later failure replaces the first. */
	assert_int_equal(error_set(&e, EPERM, "setuid %u", 1000u), -EPERM);
	assert_int_equal(e.code, EPERM);
	assert_string_equal(e.msg, "setuid 1000");
}

static void test_null(void **unused)
{
	(void)unused;
	assert_int_equal(error_set(NULL, EINVAL, "ignored %d", 1), -EINVAL);
	assert_int_equal(error_prefix(NULL, "ignored: "), 0);
}

static void test_prefix(void **unused)
{
	struct error e = { 0 };

	(void)unused;
	(void)error_set(&e, EINVAL, "syscalls[1]: unknown system call 'mkdri'");
	assert_int_equal(error_prefix(&e, "%s: ", "/etc/p.json"), -EINVAL);
	assert_int_equal(error_prefix(&e, "seccomp profile "), -EINVAL);
	assert_string_equal(
	    e.msg, "seccomp profile /etc/p.json: syscalls[1]: unknown system call 'mkdri'");
	/* A prefix on an empty message is the prefix alone. */
	e = (struct error){ .code = ENOMEM };
	assert_int_equal(error_prefix(&e, "%s: ", "p"), -ENOMEM);
	assert_string_equal(e.msg, "p: ");
}

static void test_truncate(void **unused)
{
	char big[2 * ERROR_MSG_MAX];
	struct error e = { 0 };

	(void)unused;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(error_set(&e, E2BIG, "%s", big), -E2BIG);
	assert_int_equal(strlen(e.msg), ERROR_MSG_MAX - 1);
	(void)error_set(&e, E2BIG, "tail");
	assert_int_equal(error_prefix(&e, "%s", big), -E2BIG);
	assert_int_equal(strlen(e.msg), ERROR_MSG_MAX - 1);
	assert_int_equal(e.msg[0], 'x');
	(void)error_set(&e, E2BIG, "%s", big);
	assert_int_equal(error_prefix(&e, "p: "), -E2BIG);
	assert_int_equal(strlen(e.msg), ERROR_MSG_MAX - 1);
	assert_memory_equal(e.msg, "p: xxx", 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_truncate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
