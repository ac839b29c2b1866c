/* dns.c - the resolver's wire format (dns.h). Not written yet. */
#include <errno.h>

#include "dns.h"

int dns_parse_query(const uint8_t *buf, size_t len, struct dns_query *q)
{
	(void)buf;
	(void)len;
	(void)q;
	return -EBADMSG;
}
