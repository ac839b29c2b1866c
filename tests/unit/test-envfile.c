/*
 * test-envfile.c - unit tests for config/envfile.c: the KEY=VALUE syntax,
 * quotes, comments, replacement, FILE:LINE diagnostics that never quote a
 * value, and the optional '-' file.
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

#include "config.h"
#include "yaml-tree.h"

static char **parse_ok(const char *text, size_t want_n)
{
	struct config_errors errs = { 0 };
	char **v = NULL;
	size_t n = 99;
	int r = config_envfile_parse("t.env", text, strlen(text), &v, &n, &errs);

	if (r != 0) {
		config_errors_print(stderr, &errs);
		fail_msg("parse failed: %d", r);
	}
	assert_int_equal(errs.n, 0);
	assert_non_null(v);
	assert_int_equal(n, want_n);
	assert_null(v[n]);
	return v;
}

static void parse_bad(const char *text, int line, const char *sub, const char *never)
{
	struct config_errors errs = { 0 };
	char **v = NULL;
	size_t n = 0;
	int r = config_envfile_parse("t.env", text, strlen(text), &v, &n, &errs);

	assert_int_equal(r, -EINVAL);
	assert_null(v);
	assert_true(errs.n >= 1);
	assert_string_equal(errs.diags[0].file, "t.env");
	if (errs.diags[0].line != line)
		fail_msg("line %d, want %d (%s)", errs.diags[0].line, line, errs.diags[0].message);
	if (!strstr(errs.diags[0].message, sub))
		fail_msg("'%s' lacks '%s'", errs.diags[0].message, sub);
	if (never && strstr(errs.diags[0].message, never))
		fail_msg("'%s' shows the value '%s'", errs.diags[0].message, never);
	config_errors_clear(&errs);
}

static void test_syntax(void **state)
{
	(void)state;
	char **v = parse_ok("# comment\n"
			    "; also a comment\n"
			    "\n"
			    "A=1\n"
			    "  B = two words  \n"
			    "export C=x\n"
			    "D='lit $HOME \\n'\n"
			    "E=\"esc \\\"q\\\" \\$ \\\\ \\n end\"\n"
			    "F=val # comment\n"
			    "G=a#b\n"
			    "H=\n"
			    "I=\"multi\n"
			    "line\"\n"
			    "A=replaced\r\n",
			    9);
	assert_string_equal(v[0], "A=replaced");
	assert_string_equal(v[1], "B=two words");
	assert_string_equal(v[2], "C=x");
	assert_string_equal(v[3], "D=lit $HOME \\n");
	assert_string_equal(v[4], "E=esc \"q\" $ \\ \n end");
	assert_string_equal(v[5], "F=val");
	assert_string_equal(v[6], "G=a#b");
	assert_string_equal(v[7], "H=");
	assert_string_equal(v[8], "I=multi\nline");
	config_strv_free(v);

	v = parse_ok("", 0);
	config_strv_free(v);
	v = parse_ok("# only a comment", 0);
	config_strv_free(v);
}

static void test_errors(void **state)
{
	(void)state;
	parse_bad("A=1\nhunter2\n", 2, "no '='", "hunter2");
	parse_bad("A=1\n\n1X=2\n", 3, "must start the line", NULL);
	parse_bad("A=1\nB=\"hunter2\n", 2, "quote not closed", "hunter2");
	parse_bad("SECRET='hunter2' trailing\n", 1, "text after the closing quote", "hunter2");

	struct config_errors errs = { 0 };
	char **v = NULL;
	size_t n;
	assert_int_equal(config_envfile_parse("t.env", "A=1\0B=2\n", 8, &v, &n, &errs), -EINVAL);
	assert_non_null(strstr(errs.diags[0].message, "NUL"));
	config_errors_clear(&errs);
}

static void test_load(void **state)
{
	(void)state;
	char dir[] = "/tmp/test-envfile.XXXXXX", path[64];
	struct config_errors errs = { 0 };
	char **v;
	size_t n;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.env", dir);
	assert_int_equal(config_envfile_load(path, true, &v, &n, &errs), 0);
	assert_int_equal(n, 0);
	assert_null(v[0]);
	config_strv_free(v);
	assert_int_equal(config_envfile_load(path, false, &v, &n, &errs), -ENOENT);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.diags[0].file, path);
	config_errors_clear(&errs);

	/* larger than CONFIG_MAX_FILE_SIZE: refused by size, optional or not */
	snprintf(path, sizeof(path), "%s/big.env", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 10 * 1024; i++)
		fprintf(f, "K%05d=%01017d\n", i % 4000, 0);
	fclose(f);
	assert_int_equal(config_envfile_load(path, true, &v, &n, &errs), -EFBIG);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.diags[0].message, "too large"));
	config_errors_clear(&errs);
	unlink(path);

	/* a FIFO is not a regular file, and opening it must not hang */
	snprintf(path, sizeof(path), "%s/fifo.env", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(config_envfile_load(path, false, &v, &n, &errs), -EINVAL);
	assert_non_null(strstr(errs.diags[0].message, "not a regular file"));
	config_errors_clear(&errs);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
