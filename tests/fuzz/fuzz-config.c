/*
 * fuzz-config.c - libFuzzer harness for the spec and daemon config parsers.
 * Not built by default. By hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -Iconfig \
 *     tests/fuzz/fuzz-config.c config/[a-z]*.c -lyaml -o fuzz-config
 *   ./fuzz-config tests/fuzz/corpus/config
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct config_host host = { .mem_total = 8ULL << 30 };
	struct config_errors errs = { 0 };
	struct spec_set *set = NULL;
	struct daemon_config *cfg = NULL;

	static const char nets[] = "networks:\n"
				   "  front: {subnet: 10.90.1.0/24}\n"
				   "  backend: {subnet: 10.90.2.0/24, internal: true}\n";

	if (config_parse_specs_buffer("fuzz.yaml", (const char *)data, size, &host, &set, &errs) ==
	    0) {
		/* A returned set is fully formed: touch every service. */
		for (size_t i = 0; i < set->nservices; i++)
			if (spec_set_find(set, set->services[i]->name) != set->services[i])
				__builtin_trap();
		/* And its networks check against a daemon config without crashing. */
		if (config_parse_daemon_buffer("d.yaml", nets, sizeof(nets) - 1, &host, &cfg,
					       &errs) != 0 ||
		    (config_check_networks(set, cfg, &errs) < 0) != (errs.n > 0))
			__builtin_trap();
		cfg = daemon_config_free(cfg);
	} else if (set || errs.n == 0) {
		__builtin_trap(); /* an error must be explained, and return nothing */
	}
	spec_set_free(set);
	config_errors_clear(&errs);

	if (config_parse_daemon_buffer("fuzz.yaml", (const char *)data, size, &host, &cfg, &errs) !=
		0 &&
	    (cfg || errs.n == 0))
		__builtin_trap();
	/* A returned config holds 'default' and its networks sorted by name. */
	if (cfg && !config_find_network(cfg, "default"))
		__builtin_trap();
	for (size_t i = 1; cfg && i < cfg->nnetworks; i++)
		if (strcmp(cfg->networks[i - 1].name, cfg->networks[i].name) >= 0)
			__builtin_trap();
	daemon_config_free(cfg);
	config_errors_clear(&errs);
	return 0;
}
