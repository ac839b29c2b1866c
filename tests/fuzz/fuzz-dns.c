/*
 * fuzz-dns.c - libFuzzer harness for dns_parse_query and dns_build_reply
 * (net/dns.c): whatever parses is answered with two addresses into a
 * buffer too small for them and into one large enough, and the answer's
 * length is checked against what it must be.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t addrs[] = { 0x0ae70002, 0x0ae70003 };
	struct dns_query q;
	uint8_t small[32], large[1024];

	if (dns_parse_query(data, size, &q) < 0)
		return 0;
	if (q.qend < 12 + 5 || q.qend > size || strlen(q.name) > 253)
		abort();
	size_t n = dns_build_reply(data, &q, 0, addrs, 2, 0, small, sizeof(small));
	if (n != 0 && n != q.qend + 32)
		abort();
	n = dns_build_reply(data, &q, 0, addrs, 2, 0, large, sizeof(large));
	if (n != q.qend + 32)
		abort();
	/* the answer reads back as a query's question: same name */
	large[2] &= 0x7f;
	large[7] = 0;
	struct dns_query back;
	if (dns_parse_query(large, q.qend, &back) < 0 || strcmp(back.name, q.name) != 0)
		abort();
	return 0;
}
