/*
 * test-path.c - unit tests for path_normalize (common/path.c), one table a
 * caller's flags: archive member lookup (image-oci.c), layer entry paths
 * (image-unpack.c) and cgroup paths (cgroup.c). Each row is an input and
 * the result or the error it must give; ".." at and above the root,
 * absolute paths, ".", empty components, trailing slashes, overlong input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "path.h"

struct row {
	const char *in;
	const char *want; /* the result, or NULL */
	int err; /* the error, if want is NULL */
};

static void check(const struct row *t, size_t n, unsigned flags, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		int want = t[i].want ? (int)strlen(t[i].want) : t[i].err;
		char out[PATH_MAX];
		int r;

		assert_true(len <= sizeof(out));
		r = path_normalize(t[i].in, out, len, flags);
		if (r != want)
			fail_msg("'%s' (flags %#x, len %zu): got %d, want %d", t[i].in, flags, len,
				 r, want);
		if (t[i].want && strcmp(out, t[i].want) != 0)
			fail_msg("'%s' (flags %#x): got '%s', want '%s'", t[i].in, flags, out,
				 t[i].want);
	}
}

/* No flags: what image-oci.c uses, less PATH_NONEMPTY. */
static const struct row lexical[] = {
	{ "", "" },
	{ ".", "" },
	{ "/", "" },
	{ "//", "" },
	{ "a", "a" },
	{ "a/b", "a/b" },
	{ "/a/b", "a/b" },
	{ "a//b", "a/b" },
	{ "a///b//", "a/b" },
	{ "a/b/", "a/b" },
	{ "./a/./b/.", "a/b" },
	{ "a/..", "" },
	{ "a/../b", "b" },
	{ "a/b/../c", "a/c" },
	{ "a/b/../../c", "c" },
	{ "/a/../b", "b" },
	{ "abc/de/../f", "abc/f" },
	{ "a/.b/..c/...", "a/.b/..c/..." },
	{ "..", NULL, -EINVAL },
	{ "../x", NULL, -EINVAL },
	{ "/..", NULL, -EINVAL },
	{ "/../x", NULL, -EINVAL },
	{ "a/../..", NULL, -EINVAL },
	{ "/a/../../x", NULL, -EINVAL },
	{ "a/b/../../../x", NULL, -EINVAL },
	{ "./../x", NULL, -EINVAL },
};

static void test_lexical(void **state)
{
	(void)state;
	check(lexical, sizeof(lexical) / sizeof(lexical[0]), 0, PATH_MAX);
}

/* Archive member lookup (image-oci.c): as above, and the root is no member. */
static const struct row member[] = {
	{ "blobs/sha256/ab", "blobs/sha256/ab" },
	{ "/manifest.json", "manifest.json" },
	{ "def/../abc/layer.tar", "abc/layer.tar" }, /* docker save's layer links */
	{ "", NULL, -ENOENT },
	{ "/", NULL, -ENOENT },
	{ "./", NULL, -ENOENT },
	{ "a/..", NULL, -ENOENT },
	{ "../x", NULL, -EINVAL },
	{ "/a/../../x", NULL, -EINVAL },
};

static void test_member(void **state)
{
	(void)state;
	check(member, sizeof(member) / sizeof(member[0]), PATH_NONEMPTY, PATH_MAX);
}

/* Layer entries (image-unpack.c): nothing absolute, no ".." at all; "" is the root. */
static const struct row entry[] = {
	{ "", "" },
	{ "./", "" },
	{ "./etc/passwd", "etc/passwd" },
	{ "etc//passwd/", "etc/passwd" },
	{ "usr/lib/..x", "usr/lib/..x" },
	{ "/etc/passwd", NULL, -EPERM },
	{ "/", NULL, -EPERM },
	{ "..", NULL, -EINVAL },
	{ "../x", NULL, -EINVAL },
	{ "a/..", NULL, -EINVAL },
	{ "a/../b", NULL, -EINVAL },
	{ "a/b/..", NULL, -EINVAL },
	{ "/a/../../x", NULL, -EPERM },
};

static void test_entry(void **state)
{
	(void)state;
	check(entry, sizeof(entry) / sizeof(entry[0]), PATH_RELATIVE | PATH_NO_DOTDOT, PATH_MAX);
}

/* cgroup paths (cgroup.c): absolute or relative in, "/..." out, no "..". */
static const struct row cgroup[] = {
	{ "", "/" },
	{ "/", "/" },
	{ ".", "/" },
	{ "paddock", "/paddock" },
	{ "/a/b", "/a/b" },
	{ "//a//b//", "/a/b" },
	{ "/a/./b/.", "/a/b" },
	{ "..", NULL, -EINVAL },
	{ "/..", NULL, -EINVAL },
	{ "/a/..", NULL, -EINVAL },
	{ "/a/../b", NULL, -EINVAL },
	{ "../escape", NULL, -EINVAL },
};

static void test_cgroup(void **state)
{
	(void)state;
	check(cgroup, sizeof(cgroup) / sizeof(cgroup[0]), PATH_NO_DOTDOT | PATH_LEADING_SLASH,
	      PATH_MAX);
}

/* Lengths: len counts the NUL; the result must fit, whatever it came from. */
static void test_length(void **state)
{
	static char big[2 * PATH_MAX];
	static const struct row fit5[] = {
		{ "abcd", "abcd" },
		{ "ab/c", "ab/c" },
		{ "x/../abcd", "abcd" },
		{ "abcdefgh/..", NULL, -ENAMETOOLONG }, /* every step must fit */
		{ "a/b/../c", "a/c" },
		{ "a//////b/", "a/b" },
		{ "abcde", NULL, -ENAMETOOLONG },
		{ "ab/cd", NULL, -ENAMETOOLONG },
	};
	static const struct row fit5_slash[] = {
		{ "/abc", "/abc" },
		{ "", "/" },
		{ "abcd", NULL, -ENAMETOOLONG },
		{ "/a/bc", NULL, -ENAMETOOLONG },
	};
	static const struct row fit1[] = {
		{ "", "" },
		{ "a", NULL, -ENAMETOOLONG },
	};
	static const struct row fit1_slash[] = {
		{ "", NULL, -ENAMETOOLONG },
	};
	char out[8];
	(void)state;

	check(fit5, sizeof(fit5) / sizeof(fit5[0]), 0, 5);
	check(fit5_slash, sizeof(fit5_slash) / sizeof(fit5_slash[0]), PATH_LEADING_SLASH, 5);
	check(fit1, sizeof(fit1) / sizeof(fit1[0]), 0, 1);
	check(fit1_slash, sizeof(fit1_slash) / sizeof(fit1_slash[0]), PATH_LEADING_SLASH, 1);
	assert_int_equal(path_normalize("", out, 0, 0), -ENAMETOOLONG);

	/* overlong input: a component longer than PATH_MAX, and many short ones */
	memset(big, 'x', sizeof(big) - 1);
	assert_int_equal(path_normalize(big, out, sizeof(out), 0), -ENAMETOOLONG);
	{
		char o[PATH_MAX];
		assert_int_equal(path_normalize(big, o, sizeof(o), 0), -ENAMETOOLONG);
		for (size_t i = 1; i < sizeof(big) - 1; i += 2)
			big[i] = '/';
		assert_int_equal(path_normalize(big, o, sizeof(o), 0), -ENAMETOOLONG);
		/* an input longer than PATH_MAX fits once ".." has taken it back */
		memset(big, 0, sizeof(big));
		for (size_t i = 0; i + 5 < PATH_MAX + 10; i += 5)
			memcpy(big + i, "x/../", 5);
		strcat(big, "end");
		assert_int_equal(path_normalize(big, o, sizeof(o), 0), 3);
		assert_string_equal(o, "end");
	}
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(path_strerror(-EPERM), "absolute path");
	assert_string_equal(path_strerror(-EINVAL), "path has a '..' component");
	assert_string_equal(path_strerror(-ENAMETOOLONG), "path too long");
	assert_string_equal(path_strerror(-ENOENT), "empty path");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lexical), cmocka_unit_test(test_member),
		cmocka_unit_test(test_entry),	cmocka_unit_test(test_cgroup),
		cmocka_unit_test(test_length),	cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
