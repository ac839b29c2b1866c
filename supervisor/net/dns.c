/*
 * dns.c - the resolver's wire format (dns.h): a strict reader of the one
 * kind of query paddock answers, the writer of its replies, and the
 * host's resolv.conf. Every length in a query is checked against the
 * packet before it is read; what is not a plain one-question query is
 * refused rather than guessed at.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"

#define DNS_HDR 12
#define DNS_TYPE_OPT 41
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_OPCODE(f) (((f) >> 11) & 0xf)
/* resolv.conf is a few lines; anything longer is not read past this. */
#define DNS_CONF_MAX 65536

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/*
 * The question's name at buf[*off]: plain labels only (a compression
 * pointer or an extended label type is refused), 1..63 bytes each, at most
 * 255 bytes on the wire. A label holding '.' or NUL is refused too, so the
 * text form names one wire name only.
 */
static int parse_name(const uint8_t *buf, size_t len, size_t *off, char *name)
{
	size_t p = *off, n = 0;

	for (;;) {
		if (p >= len)
			return -EBADMSG;
		uint8_t l = buf[p];
		if (l == 0)
			break;
		if (l > 63) /* 0xc0 pointers, 0x40/0x80 label types, too long */
			return -EBADMSG;
		if (p + 1 + l > len || p + 1 + l - *off >= DNS_NAME_MAX)
			return -EBADMSG;
		if (n > 0)
			name[n++] = '.';
		for (size_t i = 0; i < l; i++) {
			uint8_t c = buf[p + 1 + i];
			if (c == 0 || c == '.')
				return -EBADMSG;
			name[n++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
		}
		p += 1 + l;
	}
	name[n] = '\0';
	*off = p + 1;
	return 0;
}

int dns_parse_query(const uint8_t *buf, size_t len, struct dns_query *q)
{
	size_t p = DNS_HDR;

	if (len < DNS_HDR)
		return -EBADMSG;
	q->id = get16(buf);
	q->flags = get16(buf + 2);
	if ((q->flags & DNS_FLAG_QR) || DNS_OPCODE(q->flags) != 0)
		return -EBADMSG;
	uint16_t qd = get16(buf + 4), an = get16(buf + 6), ns = get16(buf + 8),
		 ar = get16(buf + 10);
	if (qd != 1 || an != 0 || ns != 0 || ar > 1)
		return -EBADMSG;
	if (parse_name(buf, len, &p, q->name) < 0 || len - p < 4)
		return -EBADMSG;
	q->qtype = get16(buf + p);
	q->qclass = get16(buf + p + 2);
	p += 4;
	q->qend = p;
	if (ar == 1) {
		/* EDNS: root name, type OPT, class, TTL, then rdlength bytes. */
		if (len - p < 11 || buf[p] != 0 || get16(buf + p + 1) != DNS_TYPE_OPT)
			return -EBADMSG;
		size_t rdlen = get16(buf + p + 9);
		p += 11;
		if (len - p < rdlen)
			return -EBADMSG;
		p += rdlen;
	}
	return p == len ? 0 : -EBADMSG;
}

size_t dns_build_reply(const uint8_t *query, const struct dns_query *q, int rcode,
		       const uint32_t *addrs, size_t naddrs, uint32_t ttl, uint8_t *out, size_t cap)
{
	const size_t rr = 16; /* pointer, type, class, TTL, rdlength, address */

	if (q->qend < DNS_HDR || naddrs > 0xffff || cap < q->qend || (cap - q->qend) / rr < naddrs)
		return 0;
	memmove(out, query, q->qend);
	uint16_t flags =
	    DNS_FLAG_QR | DNS_FLAG_RA | (q->flags & (DNS_FLAG_RD | 0x7800)) | (rcode & 0xf);
	if (rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN)
		flags |= DNS_FLAG_AA;
	put16(out + 2, flags);
	put16(out + 4, q->qend > DNS_HDR ? 1 : 0);
	put16(out + 6, (uint16_t)naddrs);
	put16(out + 8, 0);
	put16(out + 10, 0);
	uint8_t *a = out + q->qend;
	for (size_t i = 0; i < naddrs; i++, a += rr) {
		put16(a, 0xc000 | DNS_HDR);
		put16(a + 2, DNS_TYPE_A);
		put16(a + 4, DNS_CLASS_IN);
		put32(a + 6, ttl);
		put16(a + 10, 4);
		put32(a + 12, addrs[i]);
	}
	return q->qend + naddrs * rr;
}

/* Read up to DNS_CONF_MAX - 1 bytes of path into a new string; -errno. */
static int read_conf(const char *path, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *buf = malloc(DNS_CONF_MAX);
	size_t n = 0;
	int r = buf ? 0 : -ENOMEM;
	while (r == 0 && n < DNS_CONF_MAX - 1) {
		ssize_t k = read(fd, buf + n, DNS_CONF_MAX - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			r = -errno;
		else if (k == 0)
			break;
		else
			n += (size_t)k;
	}
	(void)close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* "a.b.c.d" or an IPv6 address (with %scope) into ss, port 53: 0 or -EINVAL. */
static int parse_nameserver(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(53);
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	char *scope = strchr(buf, '%');
	if (scope)
		*scope++ = '\0';
	if (inet_pton(AF_INET6, buf, &in6->sin6_addr) != 1)
		return -EINVAL;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(53);
	if (scope) {
		char *end;
		unsigned long id = strtoul(scope, &end, 10);
		in6->sin6_scope_id = *scope && !*end ? (uint32_t)id : if_nametoindex(scope);
		if (in6->sin6_scope_id == 0)
			return -EINVAL;
	}
	return 0;
}

static bool is_stub(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
	return ss->ss_family == AF_INET && in->sin_addr.s_addr == htonl(0x7f000035);
}

/* The rest of a line's words after the keyword, single-spaced, into dst (cap bytes). */
static void copy_words(char *dst, size_t cap, bool append, char *save)
{
	size_t n = append ? strlen(dst) : 0;
	char *w;

	if (!append)
		dst[0] = '\0';
	while ((w = strtok_r(NULL, " \t\r", &save))) {
		size_t wl = strlen(w);
		if (n + (n > 0) + wl >= cap)
			break;
		if (n > 0)
			dst[n++] = ' ';
		memcpy(dst + n, w, wl + 1);
		n += wl;
	}
}

/*
 * One resolv.conf's lines into h. With stub_conf, a 127.0.0.53 nameserver
 * is replaced by that file's nameservers (read with stub_conf NULL and
 * only nameserver lines taken); when it cannot be read the stub stays: the
 * daemon forwards from the host's namespace, where the stub answers.
 */
static int read_resolv(const char *path, const char *stub_conf, bool names_only, struct dns_host *h)
{
	char *buf = NULL, *save = NULL, *line;
	int r = read_conf(path, &buf);

	if (r < 0)
		return r;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *wsave = NULL, *key = strtok_r(line, " \t\r", &wsave);
		if (!key || key[0] == '#' || key[0] == ';')
			continue;
		if (strcmp(key, "nameserver") == 0) {
			char *addr = strtok_r(NULL, " \t\r", &wsave);
			struct sockaddr_storage ss;
			if (!addr || parse_nameserver(addr, &ss) < 0)
				continue;
			if (is_stub(&ss) && stub_conf) {
				struct dns_host stub = { .nupstream = 0 };
				if (read_resolv(stub_conf, NULL, true, &stub) == 0) {
					for (size_t i = 0; i < stub.nupstream; i++)
						if (h->nupstream < DNS_MAX_UPSTREAMS &&
						    !is_stub(&stub.upstream[i]))
							h->upstream[h->nupstream++] =
							    stub.upstream[i];
					continue;
				}
			}
			if (h->nupstream < DNS_MAX_UPSTREAMS)
				h->upstream[h->nupstream++] = ss;
		} else if (names_only) {
			continue;
		} else if (strcmp(key, "search") == 0 || strcmp(key, "domain") == 0) {
			copy_words(h->search, sizeof(h->search), false,
				   wsave); /* the last one wins */
		} else if (strcmp(key, "options") == 0) {
			copy_words(h->options, sizeof(h->options), true, wsave); /* all add up */
		}
	}
	free(buf);
	return 0;
}

int dns_host_read(const char *resolv_conf, const char *stub_conf, struct dns_host *h)
{
	memset(h, 0, sizeof(*h));
	int r = read_resolv(resolv_conf, stub_conf, false, h);
	return r == -ENOENT ? 0 : r;
}

char *dns_service_resolv_conf(const struct dns_host *h, uint32_t nameserver)
{
	char *s = NULL;
	struct in_addr a = { .s_addr = htonl(nameserver) };
	char ns[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, ns, sizeof(ns));
	if (asprintf(&s, "nameserver %s\n%s%s%s%s%s%s", ns, h->search[0] ? "search " : "",
		     h->search, h->search[0] ? "\n" : "", h->options[0] ? "options " : "",
		     h->options, h->options[0] ? "\n" : "") < 0)
		return NULL;
	return s;
}
