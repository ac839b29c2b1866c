/* test-nft.c - unit tests of supervisor/net (nft). Not written yet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void test_placeholder(void **unused)
{
	(void)unused;
	assert_true(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_placeholder) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
