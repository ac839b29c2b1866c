/*
 * fuzz-etcd.c - libFuzzer harness for what an etcd server (or anything
 * answering on its port) feeds the fleet's etcd client: the reply and
 * watch-message parser and the base64 decoder, both pure (etcd-parse.c).
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
 *     -Isupervisor/fleet tests/fuzz/fuzz-etcd.c supervisor/fleet/etcd-parse.c \
 *     -ljson-c -lcrypto -o fuzz-etcd
 *   ./fuzz-etcd -max_total_time=60 tests/fuzz/corpus/etcd
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_reply r;
	char *s, *out;
	size_t n;

	if (size > 256 * 1024)
		return 0;
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	if (etcd_reply_parse(s, size, &r) == 0) {
		/* What the fleet reads from a reply must be well-formed. */
		for (size_t i = 0; i < r.nkvs; i++)
			if (!r.kvs[i].key || !r.kvs[i].value ||
			    r.kvs[i].value[r.kvs[i].vlen] != '\0')
				abort();
		for (size_t i = 0; i < r.nevents; i++)
			if (!r.events[i].kv.key || !r.events[i].kv.value)
				abort();
		etcd_reply_clear(&r);
	}
	if (etcd_unb64(s, &out, &n) == 0) {
		char *back = etcd_b64(out, n);
		/* Strict: what decodes is the one encoding of what it decodes to. */
		if (!back || strcmp(back, s) != 0 || out[n] != '\0')
			abort();
		free(back);
		free(out);
	}
	free(s);
	return 0;
}
