/*
 * test-dns.c - unit tests of supervisor/net/dns.c (the wire format, the
 * host's resolv.conf, the services' resolv.conf).
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

#include "dns.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),  cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_build),	     cmocka_unit_test(test_host_read),
		cmocka_unit_test(test_service_conf),
	};
	return cmocka_run_group_tests(tests, tmp_setup, tmp_teardown);
}
