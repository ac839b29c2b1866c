/*
 * test-dns.c - unit tests of supervisor/net/dns.c (the wire format, the
 * host's resolv.conf, the services' resolv.conf) and of core/resolver.c
 * end to end: in a network namespace of its own (skipped without the
 * right to make one), a resolver on 127.0.0.1 with fake upstreams on
 * 127.0.0.2 (answers) and 127.0.0.3 (never answers), queried over UDP and
 * TCP, the loop driven until the answer comes or a deadline passes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "dns.h"
#include "resolver.h"
#include "util.h"

/* ---- queries ----------------------------------------------------------------- */

/* A query for name (dotted, "" = root) into buf; edns adds an OPT record. Returns its length. */
static size_t mkquery(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype, bool edns)
{
	size_t p = 12;
	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;
	buf[11] = edns ? 1 : 0;
	for (const char *s = name; *s;) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		buf[p++] = (uint8_t)l;
		memcpy(buf + p, s, l);
		p += l;
		s += l + (dot ? 1 : 0);
	}
	buf[p++] = 0;
	buf[p++] = (uint8_t)(qtype >> 8);
	buf[p++] = (uint8_t)qtype;
	buf[p++] = 0;
	buf[p++] = DNS_CLASS_IN;
	if (edns) {
		static const uint8_t opt[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0 };
		memcpy(buf + p, opt, sizeof(opt));
		p += sizeof(opt);
	}
	return p;
}

static void test_parse_valid(void **unused)
{
	uint8_t b[512];
	struct dns_query q;
	(void)unused;

	size_t n = mkquery(b, 0x1234, "api", DNS_TYPE_A, false);
	assert_int_equal(dns_parse_query(b, n, &q), 0);
	assert_int_equal(q.id, 0x1234);
	assert_int_equal(q.flags, 0x0100);
	assert_string_equal(q.name, "api");
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_int_equal(q.qend, n);

	n = mkquery(b, 7, "Web.EXAMPLE.org", DNS_TYPE_AAAA, true);
	assert_int_equal(dns_parse_query(b, n, &q), 0);
	assert_string_equal(q.name, "web.example.org");
	assert_int_equal(q.qtype, DNS_TYPE_AAAA);
	assert_int_equal(q.qend, n - 11); /* the OPT record is not part of the question */

	n = mkquery(b, 7, "", DNS_TYPE_A, false);
	assert_int_equal(dns_parse_query(b, n, &q), 0);
	assert_string_equal(q.name, "");
}

static void test_parse_refused(void **unused)
{
	uint8_t b[600];
	struct dns_query q;
	(void)unused;

	size_t n = mkquery(b, 1, "a.example", DNS_TYPE_A, true);
	for (size_t i = 0; i < n; i++) /* every truncation */
		assert_int_equal(dns_parse_query(b, i, &q), -EBADMSG);
	b[n] = 0;
	assert_int_equal(dns_parse_query(b, n + 1, &q), -EBADMSG); /* trailing byte */

	n = mkquery(b, 1, "a.example", DNS_TYPE_A, false);
	b[2] |= 0x80; /* an answer */
	assert_int_equal(dns_parse_query(b, n, &q), -EBADMSG);
	b[2] = 0x01 | (2 << 3); /* opcode STATUS */
	assert_int_equal(dns_parse_query(b, n, &q), -EBADMSG);
	b[2] = 0x01;
	b[5] = 2; /* two questions */
	assert_int_equal(dns_parse_query(b, n, &q), -EBADMSG);
	b[5] = 1;
	b[7] = 1; /* an answer record */
	assert_int_equal(dns_parse_query(b, n, &q), -EBADMSG);
	b[7] = 0;
	assert_int_equal(dns_parse_query(b, n, &q), 0);

	/* a compression pointer in the question: "x" then a pointer to offset 12 */
	uint8_t ptr[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'x', 0xc0, 12, 0, 1, 0, 1 };
	assert_int_equal(dns_parse_query(ptr, sizeof(ptr), &q), -EBADMSG);

	/* a label of 64 bytes; one of 63 is fine */
	char name[300];
	memset(name, 'a', 64);
	name[64] = '\0';
	n = mkquery(b, 1, name, DNS_TYPE_A, false);
	assert_int_equal(dns_parse_query(b, n, &q), -EBADMSG);
	name[63] = '\0';
	n = mkquery(b, 1, name, DNS_TYPE_A, false);
	assert_int_equal(dns_parse_query(b, n, &q), 0);

	/* 255 bytes on the wire at most: 3 x 63-byte labels + a 61-byte one = 255 */
	memset(name, 'a', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	n = mkquery(b, 1, name, DNS_TYPE_A, false);
	assert_int_equal(dns_parse_query(b, n, &q), 0);
	assert_int_equal(strlen(q.name), 253);
	name[253] = 'a'; /* 256 on the wire */
	name[254] = '\0';
	n = mkquery(b, 1, name, DNS_TYPE_A, false);
	assert_int_equal(dns_parse_query(b, n, &q), -EBADMSG);

	/* an additional record that is not OPT */
	n = mkquery(b, 1, "a", DNS_TYPE_A, true);
	b[n - 9] = 1;
	assert_int_equal(dns_parse_query(b, n, &q), -EBADMSG);
	/* a label with a dot in it would read as two */
	n = mkquery(b, 1, "ab", DNS_TYPE_A, false);
	b[13] = '.';
	assert_int_equal(dns_parse_query(b, n, &q), -EBADMSG);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static void test_build(void **unused)
{
	uint8_t b[512], out[512];
	struct dns_query q;
	const uint32_t addrs[] = { 0x0ae70002, 0x0ae70003 };
	(void)unused;

	size_t n = mkquery(b, 0xbeef, "db", DNS_TYPE_A, true);
	assert_int_equal(dns_parse_query(b, n, &q), 0);
	size_t len = dns_build_reply(b, &q, DNS_RCODE_NOERROR, addrs, 2, 0, out, sizeof(out));
	assert_int_equal(len, q.qend + 32);
	assert_int_equal(rd16(out), 0xbeef);
	assert_int_equal(rd16(out + 2), 0x8000 | 0x0400 | 0x0100 | 0x0080); /* QR AA RD RA */
	assert_int_equal(rd16(out + 4), 1);
	assert_int_equal(rd16(out + 6), 2);
	assert_int_equal(rd16(out + 8), 0);
	assert_int_equal(rd16(out + 10), 0); /* the client's OPT is not echoed */
	assert_memory_equal(out + 12, b + 12, q.qend - 12);
	for (int i = 0; i < 2; i++) {
		const uint8_t *a = out + q.qend + 16 * i;
		assert_int_equal(rd16(a), 0xc00c);
		assert_int_equal(rd16(a + 2), DNS_TYPE_A);
		assert_int_equal(rd16(a + 4), DNS_CLASS_IN);
		assert_int_equal(rd32(a + 6), 0);
		assert_int_equal(rd16(a + 10), 4);
		assert_int_equal(rd32(a + 12), addrs[i]);
	}
	/* exactly enough room, and one byte less */
	assert_int_equal(dns_build_reply(b, &q, 0, addrs, 2, 0, out, q.qend + 32), q.qend + 32);
	assert_int_equal(dns_build_reply(b, &q, 0, addrs, 2, 0, out, q.qend + 31), 0);
	assert_int_equal(dns_build_reply(b, &q, 0, NULL, 0, 0, out, q.qend - 1), 0);

	/* SERVFAIL: no AA, no answers; RD clear stays clear */
	b[2] = 0;
	assert_int_equal(dns_parse_query(b, n, &q), 0);
	len = dns_build_reply(b, &q, DNS_RCODE_SERVFAIL, NULL, 0, 0, out, sizeof(out));
	assert_int_equal(len, q.qend);
	assert_int_equal(rd16(out + 2), 0x8000 | 0x0080 | DNS_RCODE_SERVFAIL);
	assert_int_equal(rd16(out + 6), 0);
	/* a header-only FORMERR (qend 12): no question */
	q.qend = 12;
	len = dns_build_reply(b, &q, DNS_RCODE_FORMERR, NULL, 0, 0, out, sizeof(out));
	assert_int_equal(len, 12);
	assert_int_equal(rd16(out + 4), 0);
	assert_int_equal(out[3] & 0xf, DNS_RCODE_FORMERR);
}

/* ---- resolv.conf ---------------------------------------------------------------- */

static char tmpdir[64];

static char *tmpfile_with(const char *name, const char *text)
{
	char *path = NULL;
	assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int tmp_setup(void **unused)
{
	(void)unused;
	strcpy(tmpdir, "/tmp/test-dns.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int tmp_teardown(void **unused)
{
	char path[128];
	static const char *names[] = { "resolv", "stub", "many", "up", "none" };
	(void)unused;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		(void)unlink(path);
	}
	return rmdir(tmpdir);
}

static const char *ntop(const struct sockaddr_storage *ss, char *buf)
{
	const void *a = ss->ss_family == AF_INET
			    ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
			    : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	uint16_t port = ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
						 : ((const struct sockaddr_in6 *)ss)->sin6_port;
	assert_int_equal(ntohs(port), 53);
	return inet_ntop(ss->ss_family, a, buf, INET6_ADDRSTRLEN);
}

static void test_host_read(void **unused)
{
	struct dns_host h;
	char a[INET6_ADDRSTRLEN];
	(void)unused;

	char *conf = tmpfile_with("resolv", "# generated\n"
					    "nameserver 127.0.0.53\n"
					    "options edns0\n"
					    "search corp.example lab.example\n"
					    "nameserver bogus\n"
					    "; comment\n"
					    "options trust-ad ndots:2\n");
	char *stub = tmpfile_with("stub", "nameserver 192.0.2.1\nnameserver 2001:db8::1\n"
					  "search elsewhere.example\n");
	assert_int_equal(dns_host_read(conf, stub, &h), 0);
	assert_int_equal(h.nupstream, 2);
	assert_string_equal(ntop(&h.upstream[0], a), "192.0.2.1");
	assert_string_equal(ntop(&h.upstream[1], a), "2001:db8::1");
	assert_string_equal(h.search, "corp.example lab.example");
	assert_string_equal(h.options, "edns0 trust-ad ndots:2");

	/* No stub file: the stub stays (the daemon forwards from the host's namespace). */
	char *none = NULL;
	assert_true(asprintf(&none, "%s/none", tmpdir) > 0);
	assert_int_equal(dns_host_read(conf, none, &h), 0);
	assert_int_equal(h.nupstream, 1);
	assert_string_equal(ntop(&h.upstream[0], a), "127.0.0.53");

	/* At most DNS_MAX_UPSTREAMS; "domain" counts as a search line. */
	char *many =
	    tmpfile_with("many", "nameserver 10.0.0.1\nnameserver 10.0.0.2\n"
				 "nameserver ::1\nnameserver 10.0.0.4\ndomain d.example\n");
	assert_int_equal(dns_host_read(many, stub, &h), 0);
	assert_int_equal(h.nupstream, DNS_MAX_UPSTREAMS);
	assert_string_equal(ntop(&h.upstream[2], a), "::1");
	assert_string_equal(h.search, "d.example");
	assert_string_equal(h.options, "");

	/* A missing resolv.conf: nothing, no error. */
	assert_int_equal(dns_host_read(none, stub, &h), 0);
	assert_int_equal(h.nupstream, 0);
	free(conf);
	free(stub);
	free(many);
	free(none);
}

static void test_service_conf(void **unused)
{
	struct dns_host h = { .nupstream = 0 };
	(void)unused;

	char *s = dns_service_resolv_conf(&h, 0x0ae70001);
	assert_string_equal(s, "nameserver 10.231.0.1\n");
	free(s);
	strcpy(h.search, "corp.example");
	strcpy(h.options, "ndots:2");
	s = dns_service_resolv_conf(&h, 0x0ae70001);
	assert_string_equal(s, "nameserver 10.231.0.1\nsearch corp.example\noptions ndots:2\n");
	free(s);
}

/* ---- the resolver, end to end ------------------------------------------------- */

#define LOCAL 0x7f000001u /* 127.0.0.1: the resolver */
#define EXAMPLE_ADDR 0x5db8d822u /* 93.184.216.34: the fake upstream's answer */

struct upstream {
	int fd;
	struct event *ev;
	unsigned queries;
	uint16_t last_id;
};

/* The fake upstream: example.org has one address, everything else is NXDOMAIN, silent.example gets nothing. */
static void upstream_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;
	uint8_t b[1500], out[1500];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	struct dns_query q;
	const uint32_t addr = EXAMPLE_ADDR;
	(void)what;

	ssize_t n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
	if (n < 0 || dns_parse_query(b, (size_t)n, &q) < 0)
		return;
	u->queries++;
	u->last_id = q.id;
	if (strcmp(q.name, "silent.example") == 0)
		return;
	bool ex = strcmp(q.name, "example.org") == 0;
	size_t len = dns_build_reply(b, &q, ex ? 0 : DNS_RCODE_NXDOMAIN, &addr, ex ? 1 : 0, 300,
				     out, sizeof(out));
	out[2] &= (uint8_t)~0x04; /* not authoritative, as a recursive resolver would say */
	(void)sendto(fd, out, len, 0, (struct sockaddr *)&from, fl);
}

static int udp_bound(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(addr) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static bool lo_up(void)
{
	struct ifreq ifr = { .ifr_flags = 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	strcpy(ifr.ifr_name, "lo");
	bool ok = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	close(fd);
	return ok;
}

struct waiter {
	int fd;
	bool ready;
};

static void ready_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	((struct waiter *)arg)->ready = true;
}

/* Run the loop until fd is readable or ms pass; true when readable. */
static bool wait_readable(struct event_base *base, int fd, int ms)
{
	struct waiter w = { .fd = fd };
	struct event *ev = event_new(base, fd, EV_READ, ready_cb, &w);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	uint64_t deadline = now_ms() + (uint64_t)ms;

	event_add(ev, &tv); /* the timeout wakes the loop at the deadline at the latest */
	while (!w.ready && now_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	return w.ready;
}

/* Send a query over UDP to 127.0.0.1:53 and return the answer's length (0 = none within ms). */
static size_t ask_udp(struct event_base *base, const uint8_t *q, size_t qlen, uint8_t *ans,
		      size_t cap, int ms)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(53),
				  .sin_addr.s_addr = htonl(LOCAL) };
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	assert_int_equal(send(fd, q, qlen, 0), (ssize_t)qlen);
	if (!wait_readable(base, fd, ms))
		return 0;
	ssize_t n = recv(fd, ans, cap, 0);
	return n > 0 ? (size_t)n : 0; /* ECONNREFUSED: nobody listens */
}

/* The same over TCP, with the 2-byte length in front. */
static size_t ask_tcp(struct event_base *base, const uint8_t *q, size_t qlen, uint8_t *ans,
		      size_t cap, int ms)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(53),
				  .sin_addr.s_addr = htonl(LOCAL) };
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint8_t frame[2 + 512];
	size_t got = 0, want = 2;
	uint64_t deadline = now_ms() + (uint64_t)ms;

	assert_true(fd >= 0);
	/* loopback: the kernel completes the handshake from the listen queue */
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	frame[0] = (uint8_t)(qlen >> 8);
	frame[1] = (uint8_t)qlen;
	memcpy(frame + 2, q, qlen);
	assert_int_equal(send(fd, frame, qlen + 2, 0), (ssize_t)(qlen + 2));
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	uint8_t buf[2 + 1024];
	while (got < want) {
		uint64_t now = now_ms();
		if (now >= deadline || !wait_readable(base, fd, (int)(deadline - now)))
			return 0;
		ssize_t n = recv(fd, buf + got, want - got, 0);
		if (n <= 0)
			return 0;
		got += (size_t)n;
		if (got == 2)
			want = 2 + rd16(buf);
		assert_true(want <= sizeof(buf) && want - 2 <= cap);
	}
	memcpy(ans, buf + 2, got - 2);
	return got - 2;
}

/* The rcode of an answer to a query for qname, and its A records. */
static int answer(const uint8_t *a, size_t len, uint16_t id, const char *qname, uint32_t *addrs,
		  size_t *naddrs)
{
	assert_true(len >= 12);
	assert_int_equal(rd16(a), id);
	assert_true(a[2] & 0x80);
	size_t p = 12;
	if (rd16(a + 4) == 1) {
		p += strlen(qname) + 2 + 4;
		if (!qname[0])
			p--;
	}
	*naddrs = rd16(a + 6);
	for (size_t i = 0; i < *naddrs; i++, p += 16) {
		assert_true(p + 16 <= len);
		assert_int_equal(rd16(a + p + 2), DNS_TYPE_A);
		addrs[i] = rd32(a + p + 12);
	}
	assert_int_equal(p, len);
	return a[3] & 0xf;
}

typedef size_t (*ask_fn)(struct event_base *, const uint8_t *, size_t, uint8_t *, size_t, int);

static void check_resolver(struct event_base *base, struct resolver *r, struct upstream *up,
			   ask_fn ask)
{
	uint8_t q[512], a[1024];
	uint32_t addrs[8];
	size_t n, len;

	/* a local name */
	len = ask(base, q, mkquery(q, 101, "web", DNS_TYPE_A, false), a, sizeof(a), 2000);
	assert_int_equal(answer(a, len, 101, "web", addrs, &n), DNS_RCODE_NOERROR);
	assert_true(a[2] & 0x04); /* AA */
	assert_int_equal(n, 1);
	assert_int_equal(addrs[0], 0x0ae70002);
	/* case does not matter, EDNS is fine */
	len = ask(base, q, mkquery(q, 102, "WeB", DNS_TYPE_A, true), a, sizeof(a), 2000);
	assert_int_equal(answer(a, len, 102, "web", addrs, &n), DNS_RCODE_NOERROR);
	assert_int_equal(n, 1);
	/* moved: the next query sees the new address at once */
	resolver_del(r, "net1", "web", 0x0ae70002);
	assert_int_equal(resolver_add(r, "net1", "web", 0x0ae70009), 0);
	len = ask(base, q, mkquery(q, 103, "web", DNS_TYPE_A, false), a, sizeof(a), 2000);
	assert_int_equal(answer(a, len, 103, "web", addrs, &n), DNS_RCODE_NOERROR);
	assert_int_equal(n, 1);
	assert_int_equal(addrs[0], 0x0ae70009);
	resolver_del(r, "net1", "web", 0x0ae70009);
	assert_int_equal(resolver_add(r, "net1", "web", 0x0ae70002), 0);
	/* an alias of two services: both */
	len = ask(base, q, mkquery(q, 104, "db", DNS_TYPE_A, false), a, sizeof(a), 2000);
	assert_int_equal(answer(a, len, 104, "db", addrs, &n), DNS_RCODE_NOERROR);
	assert_int_equal(n, 2);
	assert_true((addrs[0] == 0x0ae70004 && addrs[1] == 0x0ae70005) ||
		    (addrs[0] == 0x0ae70005 && addrs[1] == 0x0ae70004));
	/* AAAA of a known name: no answer, no error, not relayed */
	unsigned before = up->queries;
	len = ask(base, q, mkquery(q, 105, "web", DNS_TYPE_AAAA, false), a, sizeof(a), 2000);
	assert_int_equal(answer(a, len, 105, "web", addrs, &n), DNS_RCODE_NOERROR);
	assert_int_equal(n, 0);
	assert_int_equal(up->queries, before);
	/* a name of another network is not ours: relayed, and the upstream says no */
	len = ask(base, q, mkquery(q, 106, "other", DNS_TYPE_A, false), a, sizeof(a), 2000);
	assert_int_equal(answer(a, len, 106, "other", addrs, &n), DNS_RCODE_NXDOMAIN);
	assert_int_equal(up->queries, before + 1);
	/* relayed after the silent first upstream times out; the client's id comes back */
	len = ask(base, q, mkquery(q, 0xabcd, "example.org", DNS_TYPE_A, true), a, sizeof(a), 2000);
	assert_int_equal(answer(a, len, 0xabcd, "example.org", addrs, &n), DNS_RCODE_NOERROR);
	assert_false(a[2] & 0x04); /* the upstream's flags, not ours */
	assert_int_equal(n, 1);
	assert_int_equal(addrs[0], EXAMPLE_ADDR);
	/* nobody answers: SERVFAIL once both upstreams had their 100 ms */
	uint64_t t0 = now_ms();
	len =
	    ask(base, q, mkquery(q, 107, "silent.example", DNS_TYPE_A, false), a, sizeof(a), 2000);
	assert_int_equal(answer(a, len, 107, "silent.example", addrs, &n), DNS_RCODE_SERVFAIL);
	/* libevent times with CLOCK_MONOTONIC_COARSE: a tick (<= 10 ms) early per timeout */
	assert_true(now_ms() - t0 >= 180);
	/* a header without a question: FORMERR; a stub of a packet: nothing */
	memset(q, 0, 12);
	q[0] = 0x55;
	len = ask(base, q, 12, a, sizeof(a), 2000);
	assert_int_equal(len, 12);
	assert_int_equal(rd16(a), 0x5500);
	assert_int_equal(a[3] & 0xf, DNS_RCODE_FORMERR);
	len = ask(base, (const uint8_t *)"junk", 4, a, sizeof(a), 200);
	assert_int_equal(len, 0);
	/* and it still answers */
	len = ask(base, q, mkquery(q, 108, "web", DNS_TYPE_A, false), a, sizeof(a), 2000);
	assert_int_equal(answer(a, len, 108, "web", addrs, &n), DNS_RCODE_NOERROR);
	(void)r;
}

/* Two queries in one TCP segment: two answers, in order, on the same connection. */
static void check_tcp_pipelined(struct event_base *base)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(53),
				  .sin_addr.s_addr = htonl(LOCAL) };
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint8_t out[1024], in[1024], q[512];
	size_t len = 0, got = 0, n;
	uint32_t addrs[4];

	for (uint16_t id = 1; id <= 2; id++) {
		size_t ql = mkquery(q, id, id == 1 ? "web" : "db", DNS_TYPE_A, false);
		out[len++] = (uint8_t)(ql >> 8);
		out[len++] = (uint8_t)ql;
		memcpy(out + len, q, ql);
		len += ql;
	}
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	assert_int_equal(send(fd, out, len, 0), (ssize_t)len);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	/* web: 2 + 12 + 9 + 16 = 39 bytes; db: 2 + 12 + 8 + 32 = 54 */
	while (got < 39 + 54) {
		assert_true(wait_readable(base, fd, 2000));
		ssize_t k = recv(fd, in + got, sizeof(in) - got, 0);
		assert_true(k > 0);
		got += (size_t)k;
	}
	assert_int_equal(got, 39 + 54);
	assert_int_equal(rd16(in), 37);
	assert_int_equal(answer(in + 2, 37, 1, "web", addrs, &n), DNS_RCODE_NOERROR);
	assert_int_equal(n, 1);
	assert_int_equal(rd16(in + 39), 52);
	assert_int_equal(answer(in + 41, 52, 2, "db", addrs, &n), DNS_RCODE_NOERROR);
	assert_int_equal(n, 2);
}

static void test_resolver(void **unused)
{
	(void)unused;
	if (unshare(CLONE_NEWNET) < 0) {
		assert_true(errno == EPERM || errno == EINVAL || errno == ENOSYS);
		skip();
	}
	assert_true(lo_up());

	struct event_base *base = event_base_new();
	struct upstream up = { .fd = udp_bound(0x7f000002, 53) };
	_cleanup_close_ int silent = udp_bound(0x7f000003, 53); /* reads nothing */
	up.ev = event_new(base, up.fd, EV_READ | EV_PERSIST, upstream_cb, &up);
	event_add(up.ev, NULL);
	char *conf = tmpfile_with("up", "nameserver 127.0.0.3\nnameserver 127.0.0.2\n");

	struct resolver *r = resolver_new(base, conf, "/nonexistent");
	assert_non_null(r);
	assert_int_equal(resolver_host(r)->nupstream, 2);
	resolver_set_timeout(r, 100);
	assert_int_equal(resolver_add(r, "net1", "web", 0x0ae70002), 0);
	assert_int_equal(resolver_listen(r, "net1", LOCAL), 0);
	assert_int_equal(resolver_add(r, "net1", "db.", 0x0ae70004), 0);
	assert_int_equal(resolver_add(r, "net1", "DB", 0x0ae70005), 0);
	assert_int_equal(resolver_add(r, "net1", "db", 0x0ae70005), 0); /* no duplicate */
	assert_int_equal(resolver_add(r, "net2", "other", 0x0ae80002), 0);
	assert_int_equal(resolver_listen(r, "net2", LOCAL), -EADDRINUSE);

	check_resolver(base, r, &up, ask_udp);
	check_resolver(base, r, &up, ask_tcp);
	check_tcp_pipelined(base);

	/* unlisten: nothing answers any more */
	resolver_unlisten(r, "net1");
	uint8_t q[512], a[512];
	assert_int_equal(
	    ask_udp(base, q, mkquery(q, 1, "web", DNS_TYPE_A, false), a, sizeof(a), 200), 0);
	resolver_free(r);

	/* no upstream: a single label is NXDOMAIN, a dotted name SERVFAIL */
	char *empty = tmpfile_with("none", "search x.example\n");
	r = resolver_new(base, empty, NULL);
	assert_int_equal(resolver_host(r)->nupstream, 0);
	assert_int_equal(resolver_listen(r, "net1", LOCAL), 0);
	uint32_t addrs[4];
	size_t n, len;
	len = ask_udp(base, q, mkquery(q, 2, "nobody", DNS_TYPE_A, false), a, sizeof(a), 2000);
	assert_int_equal(answer(a, len, 2, "nobody", addrs, &n), DNS_RCODE_NXDOMAIN);
	len = ask_udp(base, q, mkquery(q, 3, "example.org", DNS_TYPE_A, false), a, sizeof(a), 2000);
	assert_int_equal(answer(a, len, 3, "example.org", addrs, &n), DNS_RCODE_SERVFAIL);
	resolver_free(r);

	event_free(up.ev);
	close(up.fd);
	event_base_free(base);
	free(conf);
	free(empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),  cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_build),	     cmocka_unit_test(test_host_read),
		cmocka_unit_test(test_service_conf), cmocka_unit_test(test_resolver),
	};
	return cmocka_run_group_tests(tests, tmp_setup, tmp_teardown);
}
