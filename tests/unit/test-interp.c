/*
 * test-interp.c - unit tests for config/interp.c (${VAR} interpolation
 * with compose's rules, its bounds and FILE:LINE:COLUMN diagnostics that
 * never show a value) and for the YAML merge keys and x- extension fields
 * of config/yaml-tree.c.
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

#include "config.h"
#include "yaml-tree.h"

struct fix {
	struct ytree t;
	struct config_errors errs;
	struct yctx c;
};

/* -Wwrite-strings: the vectors are char *const *, their strings arrays. */
static char e_a[] = "A=alpha", e_e[] = "E=", e_repl[] = "REPL=3", e_inst[] = "instance=from-env",
	    e_secret[] = "SECRET=hunter2";
static char d_a[] = "A=from-dotenv", d_b[] = "B=beta", d_only[] = "ONLYDOT=dot";
static char *env[] = { e_a, e_e, e_repl, e_inst, e_secret, NULL };
static char *dotenv[] = { d_a, d_b, d_only, NULL };
static const struct yvars vars = { .instance = "blue", .env = env, .dotenv = dotenv };

static void parse(struct fix *f, const char *yaml)
{
	memset(f, 0, sizeof(*f));
	if (ytree_parse(&f->t, "t.yaml", yaml, strlen(yaml), &f->errs) != 0) {
		config_errors_print(stderr, &f->errs);
		fail_msg("parse failed");
	}
	f->c = (struct yctx){ .file = "t.yaml", .errs = &f->errs };
}

static void done(struct fix *f)
{
	ytree_free(&f->t);
	config_errors_clear(&f->errs);
}

/* Interpolate the whole document; it must succeed. */
static const struct ynode *interp_ok(struct fix *f, const char *yaml, const struct yvars *v)
{
	const struct ynode *r;

	parse(f, yaml);
	r = y_interpolate(&f->c, &f->t, f->t.root, v);
	if (!r || f->errs.n) {
		config_errors_print(stderr, &f->errs);
		fail_msg("interpolation failed");
	}
	assert_int_equal(f->c.nerrors, 0);
	return r;
}

static const char *val(const struct ynode *map, const char *key)
{
	const struct ynode *n = y_get(map, key, NULL);

	if (!n || n->type != YNODE_SCALAR)
		fail_msg("no scalar '%s'", key);
	return n->value;
}

/* One document, one error: at line:col, containing sub, never showing never. */
static void interp_bad(const char *yaml, const struct yvars *v, int line, int col, const char *sub,
		       const char *never)
{
	struct fix f;

	parse(&f, yaml);
	assert_null(y_interpolate(&f.c, &f.t, f.t.root, v));
	assert_true(f.c.nerrors >= 1);
	assert_true(f.errs.n >= 1);
	assert_string_equal(f.errs.diags[0].file, "t.yaml");
	if (f.errs.diags[0].line != line || f.errs.diags[0].column != col)
		fail_msg("at %d:%d, want %d:%d (%s)", f.errs.diags[0].line, f.errs.diags[0].column,
			 line, col, f.errs.diags[0].message);
	if (!strstr(f.errs.diags[0].message, sub))
		fail_msg("'%s' lacks '%s'", f.errs.diags[0].message, sub);
	if (never && strstr(f.errs.diags[0].message, never))
		fail_msg("'%s' shows '%s'", f.errs.diags[0].message, never);
	done(&f);
}

static void test_substitution(void **state)
{
	(void)state;
	struct fix f;
	const struct ynode *r = interp_ok(&f,
					  "a: $A\n"
					  "b: ${B}\n"
					  "c: x$$y$${A}\n"
					  "d: ${instance}-$instance\n"
					  "e: cost $5, $ and $-x $\n"
					  "f: \"${A}.$A\"\n"
					  "g: ${ONLYDOT}${A}\n"
					  "$A: key left alone\n"
					  "h: no dollar\n",
					  &vars);

	assert_string_equal(val(r, "a"), "alpha"); /* env wins over .env */
	assert_string_equal(val(r, "b"), "beta");
	assert_string_equal(val(r, "c"), "x$y${A}"); /* $$ is '$', not scanned again */
	assert_string_equal(val(r, "d"), "blue-blue");
	assert_string_equal(val(r, "e"), "cost $5, $ and $-x $");
	assert_string_equal(val(r, "f"), "alpha.alpha");
	assert_string_equal(val(r, "g"), "dotalpha");
	assert_string_equal(val(r, "$A"), "key left alone");
	/* Unchanged scalars are the parsed nodes; changed ones are new. */
	assert_ptr_equal(y_get(r, "h", NULL), y_get(f.t.root, "h", NULL));
	assert_ptr_not_equal(y_get(r, "a", NULL), y_get(f.t.root, "a", NULL));
	assert_string_equal(val(f.t.root, "a"), "$A");
	done(&f);

	/* Without an instance, ${instance} comes from the environment. */
	const struct yvars noinst = { .env = env };
	r = interp_ok(&f, "d: ${instance}\n", &noinst);
	assert_string_equal(val(r, "d"), "from-env");
	done(&f);

	/* A value is copied, never scanned: no expansion of '$' inside it. */
	char x[] = "X=${A} $$";
	char *ind[] = { x, NULL };
	const struct yvars indv = { .env = ind };
	r = interp_ok(&f, "x: ${X}\n", &indv);
	assert_string_equal(val(r, "x"), "${A} $$");
	done(&f);
}

static void test_defaults(void **state)
{
	(void)state;
	struct fix f;
	const struct ynode *r = interp_ok(&f,
					  "u1: ${U:-def}\n"
					  "u2: ${U-def}\n"
					  "e1: ${E:-def}\n"
					  "e2: <${E-def}>\n"
					  "a1: ${A:-def}\n"
					  "a2: ${A-def}\n"
					  "p1: <${A:+alt}><${E:+alt}><${E+alt}><${U+alt}>\n"
					  "n1: ${U:-${V:-x${A}y}}\n"
					  "n2: ${A:-${UNDEF}}\n"
					  "n3: <${U:-}>\n"
					  "n4: ${U:-a}b}\n"
					  "n5: ${U:-$$x $A}\n"
					  "r1: ${A:?not shown}\n"
					  "r2: <${E?not shown}>\n",
					  &vars);

	assert_string_equal(val(r, "u1"), "def");
	assert_string_equal(val(r, "u2"), "def");
	assert_string_equal(val(r, "e1"), "def");
	assert_string_equal(val(r, "e2"), "<>");
	assert_string_equal(val(r, "a1"), "alpha");
	assert_string_equal(val(r, "a2"), "alpha");
	assert_string_equal(val(r, "p1"), "<alt><><alt><>");
	assert_string_equal(val(r, "n1"), "xalphay");
	assert_string_equal(val(r, "n2"), "alpha"); /* an unused default is not looked up */
	assert_string_equal(val(r, "n3"), "<>");
	assert_string_equal(val(r, "n4"), "ab}");
	assert_string_equal(val(r, "n5"), "$x alpha");
	assert_string_equal(val(r, "r1"), "alpha");
	assert_string_equal(val(r, "r2"), "<>");
	done(&f);
}

static void test_typing_and_sharing(void **state)
{
	(void)state;
	struct fix f;
	const struct ynode *r = interp_ok(&f,
					  "n: ${REPL}\n"
					  "q: \"${REPL}\"\n"
					  "z: ${E}\n"
					  "list: [$A, plain, {k: $B}]\n"
					  "same: {k: v, l: [1, 2]}\n"
					  "anch: &x {k: $A}\n"
					  "alias: *x\n",
					  &vars);
	const struct ynode *n = y_get(r, "n", NULL), *list;
	uint64_t u = 0;

	/* Substituted text is typed as if written plain: a number, a null. */
	assert_true(n->plain);
	assert_true(y_uint(&f.c, n, "n", 0, 10, &u));
	assert_int_equal(u, 3);
	assert_false(y_get(r, "q", NULL)->plain);
	assert_true(y_is_null(y_get(r, "z", NULL)));
	list = y_get(r, "list", NULL);
	assert_int_equal(list->type, YNODE_SEQUENCE);
	assert_int_equal(list->n, 3);
	assert_string_equal(list->items[0]->value, "alpha");
	assert_ptr_equal(list->items[1], y_get(f.t.root, "list", NULL)->items[1]);
	assert_string_equal(val(list->items[2], "k"), "beta");
	assert_ptr_equal(y_get(r, "same", NULL), y_get(f.t.root, "same", NULL));
	/* A node reached twice through an alias is expanded once. */
	assert_ptr_equal(y_get(r, "anch", NULL), y_get(r, "alias", NULL));
	assert_string_equal(val(y_get(r, "alias", NULL), "k"), "alpha");
	assert_int_equal(f.errs.n, 0);
	done(&f);
}

static void test_errors(void **state)
{
	(void)state;
	/* The '$' of a one-line plain scalar: its own column. */
	interp_bad("key: abc ${DB_HOST} x\n", &vars, 1, 10,
		   "undefined variable 'DB_HOST' (set it in the environment or .env, or give a "
		   "default: ${DB_HOST:-value})",
		   NULL);
	interp_bad("a: 1\nkey: $DB_HOST\n", &vars, 2, 6, "undefined variable 'DB_HOST'", NULL);
	/* Columns count characters, as libyaml's do. */
	interp_bad("k: \xc3\xa9\xc3\xa9 ${X}\n", &vars, 1, 7, "'X'", NULL);
	/* Quoted and multi-line scalars: the scalar's own position. */
	interp_bad("k: \"ab ${X}\"\n", &vars, 1, 4, "undefined variable 'X'", NULL);
	interp_bad("k: abc\n  ${X}\n", &vars, 1, 4, "undefined variable 'X'", NULL);
	interp_bad("k: |\n  ${X}\n", &vars, 1, 4, "undefined variable 'X'", NULL);
	interp_bad("k: [a, \"b\", c $X]\n", &vars, 1, 15, "'X'", NULL);
	/* Required variables: the message as written, never the value. */
	interp_bad("k: x ${DB_PASSWORD:?set it in .env}\n", &vars, 1, 6,
		   "'${DB_PASSWORD:?...}': set it in .env", NULL);
	interp_bad("k: ${E:?E must not be empty}\n", &vars, 1, 4,
		   "'${E:?...}': E must not be empty", NULL);
	interp_bad("k: ${U?}\n", &vars, 1, 4, "'${U?}': 'U' is unset", NULL);
	interp_bad("k: ${SECRET} ${U:?no ${SECRET}}\n", &vars, 1, 14, "'${U:?...}': no ${SECRET}",
		   "hunter2");
	interp_bad("k: ${SECRET}${U}\n", &vars, 1, 13, "undefined variable 'U'", "hunter2");
	/* Syntax. */
	interp_bad("k: ab ${A\n", &vars, 1, 7, "unclosed '${'", NULL);
	interp_bad("k: ${U:-x\n", &vars, 1, 4, "unclosed '${'", NULL);
	interp_bad("k: ${U:-${V:-x}\n", &vars, 1, 4, "unclosed '${'", NULL);
	interp_bad("k: ${A:-${V:-x\n", &vars, 1, 9, "unclosed '${'", NULL);
	interp_bad("k: ${A:x}\n", &vars, 1, 4, "unexpected ':' after '${A'", NULL);
	interp_bad("k: \"${A:\"\n", &vars, 1, 4, "unclosed '${'", NULL);
	interp_bad("k: ${}\n", &vars, 1, 4, "'${' must be followed by a variable name", NULL);
	interp_bad("k: ${1A}\n", &vars, 1, 4, "'${' must be followed by a variable name", NULL);
	/* Syntax errors in an unused default are still errors. */
	interp_bad("k: ${A:-${}}\n", &vars, 1, 9, "must be followed by a variable name", NULL);
}

static void test_every_error_reported(void **state)
{
	(void)state;
	struct fix f;

	parse(&f, "a: $X1\nb: [$X2, ok]\nc: {d: $X3}\ne: $A\n");
	assert_null(y_interpolate(&f.c, &f.t, f.t.root, &vars));
	assert_int_equal(f.errs.n, 3);
	assert_int_equal(f.errs.diags[0].line, 1);
	assert_int_equal(f.errs.diags[1].line, 2);
	assert_int_equal(f.errs.diags[2].line, 3);
	assert_non_null(strstr(f.errs.diags[2].message, "'X3'"));
	done(&f);
}

static void test_nesting_bound(void **state)
{
	(void)state;
	char doc[512];
	size_t o;
	struct fix f;
	const struct ynode *r;

	/* 8 levels are fine... */
	o = (size_t)snprintf(doc, sizeof(doc), "k: ");
	for (int i = 0; i < CONFIG_MAX_INTERP_DEPTH; i++)
		o += (size_t)snprintf(doc + o, sizeof(doc) - o, "${U%d:-", i);
	o += (size_t)snprintf(doc + o, sizeof(doc) - o, "deep");
	for (int i = 0; i < CONFIG_MAX_INTERP_DEPTH; i++)
		doc[o++] = '}';
	snprintf(doc + o, sizeof(doc) - o, "\n");
	r = interp_ok(&f, doc, &vars);
	assert_string_equal(val(r, "k"), "deep");
	done(&f);

	/* ...9 are not, even when the outer variable is set. */
	for (int set = 0; set < 2; set++) {
		o = (size_t)snprintf(doc, sizeof(doc), "k: ");
		for (int i = 0; i <= CONFIG_MAX_INTERP_DEPTH; i++)
			o += (size_t)snprintf(doc + o, sizeof(doc) - o,
					      set && i == 0 ? "${A:-" : "${U%d:-", i);
		o += (size_t)snprintf(doc + o, sizeof(doc) - o, "deep");
		for (int i = 0; i <= CONFIG_MAX_INTERP_DEPTH; i++)
			doc[o++] = '}';
		snprintf(doc + o, sizeof(doc) - o, "\n");
		/* The ninth '${' is at 4 + 8 * 6 (or 5 less with the set one, ${A:-). */
		interp_bad(doc, &vars, 1, set ? 4 + 5 + 7 * 6 : 4 + 8 * 6, "nesting deeper than 8",
			   NULL);
	}
}

static void test_length_bound(void **state)
{
	(void)state;
	char *big = malloc(40 * 1024 + 5), *doc;
	char *bigenv[] = { big, NULL };
	const struct yvars bv = { .env = bigenv };
	struct fix f;
	const struct ynode *r;
	size_t o;

	assert_non_null(big);
	memcpy(big, "BIG=", 4);
	memset(big + 4, 's', 40 * 1024);
	big[40 * 1024 + 4] = '\0';

	r = interp_ok(&f, "k: ${BIG}\n", &bv);
	assert_int_equal(y_get(r, "k", NULL)->len, 40 * 1024);
	done(&f);
	interp_bad("a: 1\nk: \"${BIG}${BIG}\"\n", &bv, 2, 4,
		   "interpolated value longer than 65536 bytes", "sss");

	/* All new text of one call is bounded too: 110 x 40 KiB > 4 MiB. */
	doc = malloc(110 * 16 + 1);
	assert_non_null(doc);
	o = 0;
	for (int i = 0; i < 110; i++)
		o += (size_t)sprintf(doc + o, "k%d: $BIG\n", i);
	interp_bad(doc, &bv, 103, 7, "interpolated values longer than 4194304 bytes in all", "sss");

	/* Aliases share the expansion: 100000 of them cost one. */
	free(doc);
	doc = malloc(32 + 100000 * 4);
	assert_non_null(doc);
	o = (size_t)sprintf(doc, "a: &a ${BIG}\nl: [");
	for (int i = 0; i < 100000; i++)
		o += (size_t)sprintf(doc + o, "*a,");
	sprintf(doc + o - 1, "]\n");
	clock_t t0 = clock();
	r = interp_ok(&f, doc, &bv);
	assert_int_equal(y_get(r, "l", NULL)->n, 100000);
	assert_ptr_equal(y_get(r, "l", NULL)->items[99999], y_get(r, "a", NULL));
	assert_true((clock() - t0) < 2 * CLOCKS_PER_SEC);
	done(&f);
	free(doc);
	free(big);
}

/* Parse must fail with one error at line:col containing sub. */
static void parse_bad(const char *yaml, int line, int col, const char *sub)
{
	struct ytree t;
	struct config_errors errs = { 0 };

	assert_int_equal(ytree_parse(&t, "t.yaml", yaml, strlen(yaml), &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	if (errs.diags[0].line != line || errs.diags[0].column != col)
		fail_msg("at %d:%d, want %d:%d (%s)", errs.diags[0].line, errs.diags[0].column,
			 line, col, errs.diags[0].message);
	if (!strstr(errs.diags[0].message, sub))
		fail_msg("'%s' lacks '%s'", errs.diags[0].message, sub);
	config_errors_clear(&errs);
}

static const char *const svc_keys[] = { "image", "restart", "env", "user", NULL };

static void test_merge_keys(void **state)
{
	(void)state;
	struct fix f;
	const struct ynode *web, *db, *both, *e;

	parse(&f, "base: &base {image: a, restart: always, env: {A: 1}}\n"
		  "other: &other {image: o, user: nobody, restart: never}\n"
		  "web:\n"
		  "  image: b\n"
		  "  <<: *base\n"
		  "db:\n"
		  "  <<: *base\n"
		  "  restart: no\n"
		  "both:\n"
		  "  <<: [*other, *base]\n"
		  "  user: root\n");
	web = y_get(f.t.root, "web", NULL);
	/* Written keys win, before or after '<<'; merged pairs stand at its place. */
	assert_int_equal(web->n, 3);
	assert_string_equal(web->pairs[0].key->value, "image");
	assert_string_equal(val(web, "image"), "b");
	assert_string_equal(val(web, "restart"), "always");
	e = y_get(web, "env", NULL);
	assert_ptr_equal(e, y_get(y_get(f.t.root, "base", NULL), "env", NULL));
	db = y_get(f.t.root, "db", NULL);
	assert_string_equal(val(db, "restart"), "no");
	assert_string_equal(val(db, "image"), "a");
	assert_null(y_get(db, "<<", NULL));
	/* Earlier sources win over later ones. */
	both = y_get(f.t.root, "both", NULL);
	assert_int_equal(both->n, 4);
	assert_string_equal(val(both, "image"), "o");
	assert_string_equal(val(both, "restart"), "never");
	assert_string_equal(val(both, "user"), "root");
	assert_non_null(y_get(both, "env", NULL));
	/* Overriding a merged key is no duplicate. */
	y_check_keys(&f.c, web, "in service 'web'", svc_keys);
	y_check_keys(&f.c, db, "in service 'db'", svc_keys);
	y_check_keys(&f.c, both, "in service 'both'", svc_keys);
	assert_int_equal(f.errs.n, 0);
	/* Weights follow the merged pairs. */
	assert_int_equal(db->weight, 1 + 2 + 2 + 2 + 2);
	done(&f);

	/* A key written twice is still a duplicate, with both positions. */
	parse(&f, "b: &b {image: a}\n"
		  "web:\n"
		  "  <<: *b\n"
		  "  image: x\n"
		  "  image: y\n");
	y_check_keys(&f.c, y_get(f.t.root, "web", NULL), "in service 'web'", svc_keys);
	assert_int_equal(f.errs.n, 1);
	assert_int_equal(f.errs.diags[0].line, 5);
	assert_int_equal(f.errs.diags[0].column, 3);
	assert_non_null(strstr(f.errs.diags[0].message,
			       "duplicate key 'image' in service 'web' (first at "
			       "line 4, column 3)"));
	done(&f);

	/* Merges nest, a quoted '<<' is an ordinary key, and values interpolate. */
	const struct ynode *r = interp_ok(&f,
					  "a: &a {k: $A, l: 1}\n"
					  "b: &b {<<: *a, l: 2, m: 3}\n"
					  "c: {<<: *b, m: 4}\n"
					  "d: {\"<<\": *a}\n",
					  &vars);
	const struct ynode *c = y_get(r, "c", NULL);

	assert_string_equal(val(c, "k"), "alpha");
	assert_string_equal(val(c, "l"), "2");
	assert_string_equal(val(c, "m"), "4");
	assert_int_equal(y_get(r, "d", NULL)->n, 1);
	assert_int_equal(y_get(y_get(r, "d", NULL), "<<", NULL)->type, YNODE_MAPPING);
	done(&f);
}

static void test_merge_errors(void **state)
{
	(void)state;
	/* An alias: at the '<<' that uses it; a value written there: at the value. */
	parse_bad("s: &s text\nm:\n  <<: *s\n", 3, 3,
		  "'<<' (a YAML merge) takes a mapping or a list of mappings, not a scalar");
	parse_bad("m:\n  <<: text\n", 2, 7, "not a scalar");
	parse_bad("a: &a {k: 1}\nm: {<<: [*a, [1]]}\n", 2, 14, "not a list holding a list");
	parse_bad("a: &a {k: 1}\ns: &s x\nm: {<<: [*a, *s]}\n", 3, 5,
		  "not a list holding a scalar");
	parse_bad("m:\n  <<:\n  k: 1\n", 2, 6, "not empty");
	parse_bad("m: {<<: []}\n", 1, 9, "not a list");
	parse_bad("a: &a {k: 1}\nm:\n  <<: *a\n  <<: *a\n", 4, 3,
		  "more than one '<<' in a mapping (first at line 3, column 3)");
}

/* Merges cannot grow a document past the node bound ("billion laughs"). */
static void test_merge_bound(void **state)
{
	(void)state;
	char doc[4096];
	size_t o = (size_t)sprintf(doc, "l0: &l0 {a: 1, b: 2, c: 3}\n");
	struct ytree t;
	struct config_errors errs = { 0 };
	clock_t t0 = clock();

	for (int i = 1; i <= 40; i++)
		o += (size_t)sprintf(doc + o, "l%d: &l%d {<<: *l%d, k%d: *l%d}\n", i, i, i - 1, i,
				     i - 1);
	assert_int_equal(ytree_parse(&t, "t.yaml", doc, o, &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.diags[0].message, "document too large"));
	assert_true(errs.diags[0].line < 20);
	assert_true((clock() - t0) < CLOCKS_PER_SEC / 2);
	config_errors_clear(&errs);
}

static void test_extension_fields(void **state)
{
	(void)state;
	static const char *const top[] = { "services", NULL };
	struct fix f;
	const struct ynode *svcs, *web;

	parse(&f, "x-common: &common {restart: always, anything: [1, {2: 3}]}\n"
		  "x-env: &env\n"
		  "  A: 1\n"
		  "services:\n"
		  "  web:\n"
		  "    <<: *common\n"
		  "    x-note: {free: form}\n"
		  "    image: a\n"
		  "    imgae: b\n"
		  "    x-note: again\n"
		  "    env: *env\n"
		  "xfoo: 1\n");
	y_check_keys(&f.c, f.t.root, "at the top level", top);
	svcs = y_get(f.t.root, "services", NULL);
	web = y_get(svcs, "web", NULL);
	y_check_keys(&f.c, web, "in service 'web'", svc_keys);
	/* x- keys are never unknown; a duplicate one still is a duplicate. */
	assert_int_equal(f.errs.n, 4);
	assert_int_equal(f.errs.diags[0].line, 12);
	assert_string_equal(f.errs.diags[0].message, "unknown key 'xfoo' at the top level");
	/* A merged key is reported where it is written: in x-common. */
	assert_int_equal(f.errs.diags[1].line, 1);
	assert_non_null(strstr(f.errs.diags[1].message, "unknown key 'anything'"));
	assert_int_equal(f.errs.diags[2].line, 9);
	assert_string_equal(f.errs.diags[2].message,
			    "unknown key 'imgae' in service 'web' (did you mean 'image'?)");
	assert_int_equal(f.errs.diags[3].line, 10);
	assert_non_null(strstr(f.errs.diags[3].message, "duplicate key 'x-note'"));
	assert_true(y_is_extension(f.t.root->pairs[0].key));
	assert_false(y_is_extension(svcs->pairs[0].key));
	done(&f);
}

/* The pointed hint of config/hints.c, when it has one, replaces did-you-mean. */
static void test_key_hints(void **state)
{
	(void)state;
	static const char *const keys[] = { "isolation", "image", "restart", NULL };
	const char *hint = config_key_hint("in service 'web'", "volumes");
	char want[512];
	struct fix f;

	parse(&f, "volumes: [/a:/b]\nimagee: x\n");
	y_check_keys(&f.c, f.t.root, "in service 'web'", keys);
	assert_int_equal(f.errs.n, 2);
	if (hint)
		snprintf(want, sizeof(want), "unknown key 'volumes' in service 'web': %s", hint);
	else
		snprintf(want, sizeof(want), "unknown key 'volumes' in service 'web'");
	assert_string_equal(f.errs.diags[0].message, want);
	if (!config_key_hint("in service 'web'", "imagee"))
		assert_string_equal(
		    f.errs.diags[1].message,
		    "unknown key 'imagee' in service 'web' (did you mean 'image'?)");
	done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_substitution),	     cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_typing_and_sharing),   cmocka_unit_test(test_errors),
		cmocka_unit_test(test_every_error_reported), cmocka_unit_test(test_nesting_bound),
		cmocka_unit_test(test_length_bound),	     cmocka_unit_test(test_merge_keys),
		cmocka_unit_test(test_merge_errors),	     cmocka_unit_test(test_merge_bound),
		cmocka_unit_test(test_extension_fields),     cmocka_unit_test(test_key_hints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
