/*
 * test-ipam.c - unit tests for supervisor/net/ipam.c: the network,
 * broadcast and gateway addresses are never handed out, nothing is handed
 * out twice, allocation goes round (a released address comes back last),
 * reserved addresses are skipped, a full subnet says so.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ipam.h"

#define NET 0x0a000000u /* 10.0.0.0 */

static void test_edges(void **unused)
{
	struct ipam a;

	(void)unused;
	assert_int_equal(ipam_init(&a, NET, 29, NET + 1), 0);
	assert_false(ipam_valid(&a, NET));
	assert_false(ipam_valid(&a, NET + 1)); /* gateway */
	assert_false(ipam_valid(&a, NET + 7)); /* broadcast */
	assert_false(ipam_valid(&a, NET + 8));
	assert_true(ipam_valid(&a, NET + 6));
	assert_int_equal(ipam_take(&a, NET + 7), -EDOM);
	assert_int_equal(ipam_take(&a, NET + 3), 0);
	assert_int_equal(ipam_take(&a, NET + 3), -EEXIST);
	/* 2, 4, 5, 6 are left: four allocations, all distinct, then full */
	uint32_t got[4];
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ipam_alloc(&a, &got[i]), 0);
		assert_true(ipam_valid(&a, got[i]));
		assert_int_not_equal(got[i], NET + 3);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(got[i], got[j]);
	}
	uint32_t x;
	assert_int_equal(ipam_alloc(&a, &x), -ENOSPC);
	ipam_fini(&a);
	assert_int_equal(ipam_init(&a, NET, 31, NET + 1), -EINVAL);
}

static void test_round(void **unused)
{
	struct ipam a;
	uint32_t x, y, z;

	(void)unused;
	assert_int_equal(ipam_init(&a, NET, 24, NET + 1), 0);
	assert_int_equal(ipam_alloc(&a, &x), 0);
	assert_int_equal(x, NET + 2);
	ipam_release(&a, x);
	assert_false(ipam_in_use(&a, x));
	/* released, yet the next one is new */
	assert_int_equal(ipam_alloc(&a, &y), 0);
	assert_int_equal(y, NET + 3);
	ipam_reserve(&a, NET + 4, true);
	assert_int_equal(ipam_alloc(&a, &z), 0);
	assert_int_equal(z, NET + 5);
	/* a reserved address can still be taken by the one it is for */
	assert_int_equal(ipam_take(&a, NET + 4), 0);
	ipam_fini(&a);
}

static void test_fmt(void **unused)
{
	char b[16];
	uint32_t v;

	(void)unused;
	assert_string_equal(ipam_fmt(0x0a590001u, b), "10.89.0.1");
	assert_int_equal(ipam_parse("192.168.7.255", &v), 0);
	assert_int_equal(v, 0xc0a807ffu);
	assert_int_equal(ipam_parse("10.1.2", &v), -EINVAL);
	assert_int_equal(ipam_parse("10.1.2.3 ", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_round),
		cmocka_unit_test(test_fmt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
