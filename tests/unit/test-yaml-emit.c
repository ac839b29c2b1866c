/*
 * test-yaml-emit.c - unit tests for config/yaml-emit.c: parse -> emit ->
 * parse gives the same tree, scalars are quoted exactly when plain text
 * would read back differently, and every line carries the indent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "yaml-tree.h"

static void parse(struct ytree *t, const char *text)
{
	struct config_errors errs = { 0 };

	memset(t, 0, sizeof(*t));
	if (ytree_parse(t, "t.yaml", text, strlen(text), &errs) != 0) {
		config_errors_print(stderr, &errs);
		fail_msg("parse failed for:\n%s", text);
	}
	config_errors_clear(&errs);
}

/* Would a plain scalar with this text be read as something else than a string? */
static bool typed(const char *s)
{
	static const char *const words[] = { "~",  "null", "true", "false", "yes",
					     "no", "on",   "off",  "TRUE",  "Null" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	if (s[0] == '-' || s[0] == '+')
		s++;
	return (s[0] >= '0' && s[0] <= '9') || s[0] == '.';
}

static void same_tree(const struct ynode *a, const struct ynode *b, const char *emitted)
{
	if (!a || !b) {
		if (a != b)
			fail_msg("one side empty in:\n%s", emitted);
		return;
	}
	if (a->type != b->type)
		fail_msg("type %d became %d at %d:%d in:\n%s", a->type, b->type, a->line, a->column,
			 emitted);
	switch (a->type) {
	case YNODE_SCALAR:
		if (a->len != b->len || memcmp(a->value, b->value, a->len) != 0)
			fail_msg("'%s' became '%s' in:\n%s", a->value, b->value, emitted);
		if (y_is_null(a) != y_is_null(b))
			fail_msg("null-ness of '%s' changed in:\n%s", a->value, emitted);
		if (!a->plain && b->plain && typed(a->value))
			fail_msg("quoted '%s' came back plain in:\n%s", a->value, emitted);
		break;
	case YNODE_SEQUENCE:
		assert_int_equal(a->n, b->n);
		for (size_t i = 0; i < a->n; i++)
			same_tree(a->items[i], b->items[i], emitted);
		break;
	case YNODE_MAPPING:
		assert_int_equal(a->n, b->n);
		for (size_t i = 0; i < a->n; i++) {
			same_tree(a->pairs[i].key, b->pairs[i].key, emitted);
			same_tree(a->pairs[i].value, b->pairs[i].value, emitted);
		}
		break;
	}
}

/* Round trip text at indent; returns the emitted text (caller frees). */
static char *round_trip(const char *text, int indent)
{
	struct ytree t1, t2;
	char *out;

	parse(&t1, text);
	out = y_emit(t1.root, indent);
	assert_non_null(out);
	for (const char *l = out; *l; l = strchr(l, '\n') + 1) {
		for (int k = 0; k < indent; k++)
			if (l[k] != ' ')
				fail_msg("line without indent %d:\n%s", indent, out);
		if (!strchr(l, '\n'))
			fail_msg("last line unterminated:\n%s", out);
	}
	parse(&t2, out);
	same_tree(t1.root, t2.root, out);
	ytree_free(&t1);
	ytree_free(&t2);
	return out;
}

static void test_round_trip(void **state)
{
	static const char *const docs[] = {
		"web:\n  command: [/bin/sh, -c, 'echo \"hi\"; exit 0']\n"
		"  environment:\n    A: '1'\n    B: 2\n    C: 'true'\n    D: yes\n"
		"    E: ''\n    F:\n    G: ~\n    H: 'null'\n    I: \" lead\"\n"
		"    J: 'trail '\n    K: 'a: b'\n    L: 'x #y'\n    M: \"line\\nnext\"\n"
		"    N: '#start'\n    O: '- dash'\n    P: '-x'\n    Q: \"tab\\there\"\n"
		"    R: '*star'\n    S: '{brace}'\n    T: ['[x]', '@at', '`tick`', '%pc']\n"
		"    U: \"\\u00e9t\\u00e9\"\n    V: 'http://h:80/p?q=1#f'\n    W: '.5'\n"
		"    X: '0x1F'\n    Y: '---'\n    Z: ':colon'\n",
		"a:\n  b:\n    c:\n      - d\n      - e: f\n        g: [h, i]\n      - []\n      - "
		"{}\n",
		"anchors:\n  base: &b {x: 1, y: \"two\"}\n  copy: *b\n",
		"'quoted key': v\n\"true\": 1\n'': empty key\n",
		"- 1\n- '1'\n- -1\n- '-1'\n- 1.5e3\n- '.inf'\n",
		"plain scalar\n",
		"'5'\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		for (int indent = 0; indent <= 4; indent += 2)
			free(round_trip(docs[i], indent));
}

static void test_quoting(void **state)
{
	char *out;

	(void)state;
	out = round_trip("k:\n  a: plain\n  b: 'true'\n  c: 'x'\n  d: ''\n  e: 'a: b'\n  f:\n  "
			 "g: '8080'\n  h: 8080\n",
			 0);
	assert_string_equal(out, "k:\n  a: plain\n  b: \"true\"\n  c: x\n  d: \"\"\n"
				 "  e: \"a: b\"\n  f:\n  g: \"8080\"\n  h: 8080\n");
	free(out);

	/* the effective spec's shape: a name line, its keys indented */
	out = round_trip("web@2:\n  environment:\n    PORT: '80'\n  command: [a, \"b c\"]\n", 2);
	assert_string_equal(out, "  web@2:\n    environment:\n      PORT: \"80\"\n    command:\n"
				 "    - a\n    - b c\n");
	free(out);

	/* escapes stay on one line: a newline in a value cannot inject a key */
	out = round_trip("a: \"x\\nb: injected\"\n", 0);
	assert_string_equal(out, "a: \"x\\nb: injected\"\n");
	free(out);

	out = y_emit(NULL, 2);
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_quoting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
