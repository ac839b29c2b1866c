/*
 * dns.h - the wire format of paddock's small resolver, and the resolver
 * configuration services get. No I/O here: dns_parse_query reads a
 * packet from any process on a bridge (hostile input: every length is
 * checked, compression pointers in a question are refused), and
 * dns_build_reply writes an answer into a caller's buffer.
 */
#ifndef PADDOCK_NET_DNS_H
#define PADDOCK_NET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_NAME_MAX 255
#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4

struct dns_query {
	uint16_t id;
	uint16_t flags; /* as received (RD is echoed) */
	char name[DNS_NAME_MAX + 1]; /* lowercased, dot-separated, no trailing dot; "" = root */
	uint16_t qtype, qclass;
	size_t qend; /* bytes of header + question: what a reply copies */
};

/* One query with exactly one question (QR clear, opcode QUERY). 0 or -EBADMSG. */
int dns_parse_query(const uint8_t *buf, size_t len, struct dns_query *q);

/*
 * The reply to q (query = its packet): header, the question as received,
 * then one A record per addrs[i] (TTL ttl) pointing at the question's
 * name. Returns the length written, or 0 when cap is too small.
 */
size_t dns_build_reply(const uint8_t *query, const struct dns_query *q, int rcode,
		       const uint32_t *addrs, size_t naddrs, uint32_t ttl, uint8_t *out,
		       size_t cap);

/* What the host's resolver configuration says, for forwarding and for services. */
#define DNS_MAX_UPSTREAMS 3
struct dns_host {
	struct sockaddr_storage upstream[DNS_MAX_UPSTREAMS]; /* port 53 */
	size_t nupstream;
	char search[256]; /* the search line's words, "" = none */
	char options[256]; /* the options line's words, "" = none */
};

/*
 * Read resolv.conf (normally /etc/resolv.conf). A nameserver 127.0.0.53
 * (systemd-resolved's stub) is replaced by the nameservers of stub_conf
 * (normally /run/systemd/resolve/resolv.conf) when that file can be read.
 * A missing file leaves h empty. 0 or -errno.
 */
int dns_host_read(const char *resolv_conf, const char *stub_conf, struct dns_host *h);

/* The resolv.conf text a service on a network gets: nameserver (the bridge's resolver), search, options. Caller frees. */
char *dns_service_resolv_conf(const struct dns_host *h, uint32_t nameserver);

#endif
