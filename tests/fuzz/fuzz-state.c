/*
 * fuzz-state.c - libFuzzer harness for the state file reader
 * (supervisor/core/state.c): whatever a crash, a full disk or a hostile writer
 * left in <state_dir>/state.json, parsing returns a state or an error.
 * What parses must format and parse back to the same services.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
 *     -Isupervisor/image -Isupervisor/common -Iconfig tests/fuzz/fuzz-state.c supervisor/core/state.c \
 *     supervisor/common/util.c -ljson-c -o fuzz-state
 *   ./fuzz-state -max_total_time=60 tests/fuzz/corpus/state
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st, back;
	struct error err = { 0 };
	char *text;
	size_t len;

	if (state_parse((const char *)data, size, &st, &err) < 0)
		return 0;
	text = state_format(&st, &len);
	if (state_parse(text, len, &back, &err) < 0 || back.nservices != st.nservices)
		abort(); /* what we write, we must read */
	for (size_t i = 0; i < st.nservices; i++)
		if (strcmp(st.services[i].name, back.services[i].name) != 0 ||
		    st.services[i].pid != back.services[i].pid ||
		    st.services[i].start_time != back.services[i].start_time ||
		    !st.services[i].spec_text != !back.services[i].spec_text)
			abort();
	free(text);
	state_clear(&back);
	state_clear(&st);
	return 0;
}
