/*
 * fuzz-compose.c - libFuzzer harness for the compose converter. Not built
 * by default. By hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -Iconfig \
 *     tests/fuzz/fuzz-compose.c config/[a-z]*.c -lyaml -o fuzz-compose
 *   ./fuzz-compose tests/fuzz/corpus/compose
 * Besides crashes and leaks: whatever it converts must be YAML that reads
 * back with one 'services:' entry per converted service, under its name.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "yaml-tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors warn = { 0 }, errs = { 0 };
	struct compose_result res = { 0 };
	struct ytree t = { 0 };
	const struct ynode *svcs;
	char *text;
	int r;

	r = compose_convert("fuzz.yaml", (const char *)data, size, "/srv/app", &res, &warn, &errs);
	if (r == 0 && errs.n != 0)
		__builtin_trap();
	if (r < 0 && (res.n || (r == -EINVAL && errs.n == 0)))
		__builtin_trap(); /* a failure is explained and returns nothing */
	if (r == 0) {
		text = compose_spec_text(&res, 0, res.n, "fuzz.yaml");
		if (!text)
			__builtin_trap();
		if (ytree_parse(&t, "out.yaml", text, strlen(text), &errs) != 0)
			__builtin_trap(); /* the converter wrote text YAML cannot read */
		svcs = y_get(t.root, "services", NULL);
		if (res.n && (!svcs || svcs->type != YNODE_MAPPING || svcs->n != res.n))
			__builtin_trap();
		for (size_t i = 0; i < res.n; i++)
			if (!config_valid_name(res.services[i].name) ||
			    strcmp(svcs->pairs[i].key->value, res.services[i].name) != 0)
				__builtin_trap();
		ytree_free(&t);
		free(text);
	}
	compose_result_free(&res);
	config_errors_clear(&warn);
	config_errors_clear(&errs);
	return 0;
}
