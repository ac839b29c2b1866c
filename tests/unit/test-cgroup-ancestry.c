/*
 * test-cgroup-ancestry.c - the limits above the daemon: parsing of limit
 * files (v2 "max", v1 "-1" and near-2^63), cpu.max and cfs quotas, cpuset
 * lists, "tightest of" with the source kept, and walks over a fake
 * cgroupfs in a temp dir (v2 and v1 layouts; the walk stops at the mount).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup-ancestry.h"

#define MIB (1ULL << 20)

static void test_parse_limit(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(cgroup_parse_limit("max", &v), 0);
	assert_true(v == CGROUP_NO_LIMIT);
	assert_int_equal(cgroup_parse_limit("-1", &v), 0);
	assert_true(v == CGROUP_NO_LIMIT);
	assert_int_equal(cgroup_parse_limit("9223372036854771712", &v), 0);
	assert_true(v == CGROUP_NO_LIMIT);
	assert_int_equal(cgroup_parse_limit("314572800", &v), 0);
	assert_true(v == 300 * MIB);
	assert_int_equal(cgroup_parse_limit("", &v), -EINVAL);
	assert_int_equal(cgroup_parse_limit("12x", &v), -EINVAL);
	assert_int_equal(cgroup_parse_limit("-5", &v), -EINVAL);
}

static void test_parse_cpu(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(cgroup_parse_cpu_max("max 100000", &v), 0);
	assert_true(v == CGROUP_NO_LIMIT);
	assert_int_equal(cgroup_parse_cpu_max("150000 100000", &v), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(cgroup_parse_cpu_max("50000 200000", &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(cgroup_parse_cpu_max("50000 0", &v), -EINVAL);
	assert_int_equal(cgroup_parse_cpu_max("junk", &v), -EINVAL);
	assert_int_equal(cgroup_parse_cfs("-1", "100000", &v), 0);
	assert_true(v == CGROUP_NO_LIMIT);
	assert_int_equal(cgroup_parse_cfs("200000", "100000", &v), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(cgroup_parse_cfs("x", "100000", &v), -EINVAL);
	assert_int_equal(cgroup_parse_cpuset("0-3,6", &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(cgroup_parse_cpuset("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(cgroup_parse_cpuset("0-1\n", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(cgroup_parse_cpuset("3-1", &v), -EINVAL);
	assert_int_equal(cgroup_parse_cpuset("a", &v), -EINVAL);
}

static void test_tighten(void **state)
{
	struct cgroup_ancestry a;

	(void)state;
	cgroup_ancestry_init(&a);
	assert_false(cgroup_bound_tighten(&a.memory, CGROUP_NO_LIMIT, "memory.max", "/x"));
	assert_true(cgroup_bound_tighten(&a.memory, 500 * MIB, "memory.max", "/x"));
	assert_false(cgroup_bound_tighten(&a.memory, 600 * MIB, "memory.high", "/"));
	assert_true(cgroup_bound_tighten(&a.memory, 400 * MIB, "memory.high", "/x/y"));
	assert_true(a.memory.value == 400 * MIB);
	assert_string_equal(a.memory.source, "memory.high of /x/y");
}

static char tmp[256];

static void put(const char *rel, const char *file, const char *value)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", tmp, rel);
	(void)mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s%s/%s", tmp, rel, file);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%s\n", value);
	fclose(f);
}

static int mk_tmp(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/paddock-anc.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int rm_tmp(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_walk_v2(void **state)
{
	struct cgroup_ancestry a;
	char want[600];

	(void)state;
	/* Above the mount: must not be read. */
	put("", "memory.max", "1048576");
	put("/mnt", "cpuset.cpus.effective", "0-3");
	put("/mnt/slice", "memory.max", "524288000");
	put("/mnt/slice", "cpu.max", "150000 100000");
	put("/mnt/slice/svc", "memory.max", "max");
	put("/mnt/slice/svc", "memory.high", "419430400");
	put("/mnt/slice/svc", "cpu.max", "max 100000");
	put("/mnt/slice/svc", "cpuset.cpus.effective", "0-3");
	put("/mnt/slice/svc/below", "memory.max", "1048576"); /* below own: not ours */

	char mount[300];
	snprintf(mount, sizeof(mount), "%s/mnt", tmp);
	cgroup_ancestry_init(&a);
	cgroup_ancestry_walk(mount, "/slice/svc", true, &a);
	assert_true(a.memory.value == 400 * MIB);
	snprintf(want, sizeof(want), "memory.high of %s/mnt/slice/svc", tmp);
	assert_string_equal(a.memory.source, want);
	assert_int_equal(a.cpu.value, 1500);
	snprintf(want, sizeof(want), "cpu.max of %s/mnt/slice", tmp);
	assert_string_equal(a.cpu.source, want);

	/* The root itself: nothing limits (the fake "above" file is not read). */
	cgroup_ancestry_init(&a);
	cgroup_ancestry_walk(mount, "/", true, &a);
	assert_true(a.memory.value == CGROUP_NO_LIMIT);
	assert_int_equal(a.cpu.value, 4000);
}

static void test_walk_v1(void **state)
{
	struct cgroup_ancestry a;
	char mount[300], want[600];

	(void)state;
	put("/memory", "memory.limit_in_bytes", "9223372036854771712");
	put("/memory/p", "memory.limit_in_bytes", "314572800");
	put("/memory/p/own", "memory.limit_in_bytes", "9223372036854771712");
	put("/cpu", "cpu.cfs_quota_us", "-1");
	put("/cpu", "cpu.cfs_period_us", "100000");
	put("/cpu/own", "cpu.cfs_quota_us", "50000");
	put("/cpu/own", "cpu.cfs_period_us", "100000");
	put("/cpuset", "cpuset.cpus", "0-1");
	put("/cpuset/own", "cpuset.cpus", ""); /* unconfigured, not zero CPUs */

	cgroup_ancestry_init(&a);
	snprintf(mount, sizeof(mount), "%s/memory/", tmp); /* a trailing slash is fine */
	cgroup_ancestry_walk(mount, "/p/own/", false, &a);
	snprintf(mount, sizeof(mount), "%s/cpu", tmp);
	cgroup_ancestry_walk(mount, "/own", false, &a);
	snprintf(mount, sizeof(mount), "%s/cpuset", tmp);
	cgroup_ancestry_walk(mount, "/own", false, &a);
	assert_true(a.memory.value == 300 * MIB);
	snprintf(want, sizeof(want), "memory.limit_in_bytes of %s/memory/p", tmp);
	assert_string_equal(a.memory.source, want);
	assert_int_equal(a.cpu.value, 500);
	snprintf(want, sizeof(want), "cpu.cfs_quota_us of %s/cpu/own", tmp);
	assert_string_equal(a.cpu.source, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_limit),
		cmocka_unit_test(test_parse_cpu),
		cmocka_unit_test(test_tighten),
		cmocka_unit_test_setup_teardown(test_walk_v2, mk_tmp, rm_tmp),
		cmocka_unit_test_setup_teardown(test_walk_v1, mk_tmp, rm_tmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
