/*
 * fuzz-config.c - libFuzzer harness for the spec and daemon config parsers.
 * Not built by default. By hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -Iconfig \
 *     tests/fuzz/fuzz-config.c config/[a-z]*.c -lyaml -o fuzz-config
 *   ./fuzz-config tests/fuzz/corpus/config
 */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct config_host host = { .mem_total = 8ULL << 30 };
	struct config_errors errs = { 0 };
	struct spec_set *set = NULL;
	struct daemon_config *cfg = NULL;

	if (config_parse_specs_buffer("fuzz.yaml", (const char *)data, size, &host, &set, &errs) ==
	    0) {
		/* A returned set is fully formed: touch every service. */
		for (size_t i = 0; i < set->nservices; i++)
			if (spec_set_find(set, set->services[i]->name) != set->services[i])
				__builtin_trap();
	} else if (set || errs.n == 0) {
		__builtin_trap(); /* an error must be explained, and return nothing */
	}
	spec_set_free(set);
	config_errors_clear(&errs);

	if (config_parse_daemon_buffer("fuzz.yaml", (const char *)data, size, &host, &cfg, &errs) !=
		0 &&
	    (cfg || errs.n == 0))
		__builtin_trap();
	daemon_config_free(cfg);
	config_errors_clear(&errs);
	return 0;
}
