/*
 * test-api.c - the HTTP API's pure parts (supervisor/core/api-parse.c),
 * the daemon config's api: section (config/daemon-api.c), and that
 * api-tls.c loads libssl and refuses a certificate it cannot read.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api-internal.h"
#include "api-parse.h"
#include "config.h"
#include "spec.h"

static const struct config_host host = { .mem_total = 8ULL << 30 };

static void test_tokens(void **state)
{
	static const char ok[] = "# who may do what\n"
				 "read  aaaaaaaaaaaaaaaaaaaa\n"
				 "\n"
				 "  operate\tbbbbbbbbbbbbbbbbbbbb  \r\n"
				 "read cccccccccccccccccccc";
	struct api_tokens t = { 0 };
	char why[128];

	(void)state;
	assert_int_equal(api_tokens_parse(ok, strlen(ok), &t, why, sizeof(why)), 0);
	assert_int_equal(t.n, 3);
	assert_int_equal(api_tokens_find(&t, "aaaaaaaaaaaaaaaaaaaa", 20), API_ROLE_READ);
	assert_int_equal(api_tokens_find(&t, "bbbbbbbbbbbbbbbbbbbb", 20), API_ROLE_OPERATE);
	assert_int_equal(api_tokens_find(&t, "cccccccccccccccccccc", 20), API_ROLE_READ);
	assert_int_equal(api_tokens_find(&t, "aaaaaaaaaaaaaaaaaaa", 19), API_ROLE_NONE);
	assert_int_equal(api_tokens_find(&t, "aaaaaaaaaaaaaaaaaaaab", 21), API_ROLE_NONE);
	assert_int_equal(api_tokens_find(&t, "", 0), API_ROLE_NONE);
	/* Same length, one byte off at either end or in the middle. */
	assert_int_equal(api_tokens_find(&t, "Aaaaaaaaaaaaaaaaaaaa", 20), API_ROLE_NONE);
	assert_int_equal(api_tokens_find(&t, "aaaaaaaaaaaaaaaaaaab", 20), API_ROLE_NONE);
	assert_int_equal(api_tokens_find(&t, "bbbbbbbbbbcbbbbbbbbb", 20), API_ROLE_NONE);
	assert_int_equal(api_tokens_find(&t, "bbbbbbbbbbbbbbbbbbb\x80", 20), API_ROLE_NONE);
	api_tokens_clear(&t);
	assert_int_equal(t.n, 0);
}

static void test_tokens_errors(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "read aaaaaaaaaaaaaaaaaaaa\nwrite bbbbbbbbbbbbbbbbbbbb\n",
		  "line 2: the role must be 'read' or 'operate'" },
		{ "operate\n", "line 1: no token after the role" },
		{ "read short\n", "line 1: the token is shorter than 16 characters" },
		{ "read aaaaaaaaaaaaaaaaaaaa extra\n", "line 1: a token is one word" },
		{ "read aaaaaaaaaaaaaaaaaaaa\noperate aaaaaaaaaaaaaaaaaaaa\n",
		  "line 2: the same token again" },
		{ "# nothing\n\n", "no tokens" },
	};
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct api_tokens t = { 0 };

		assert_int_equal(
		    api_tokens_parse(bad[i].text, strlen(bad[i].text), &t, why, sizeof(why)),
		    -EINVAL);
		assert_null(t.v);
		if (strncmp(why, bad[i].why, strlen(bad[i].why)) != 0)
			fail_msg("case %zu: got '%s', want '%s...'", i, why, bad[i].why);
		/* Never the token itself. */
		assert_null(strstr(why, "aaaaaaaaaaaaaaaa"));
		assert_null(strstr(why, "bbbbbbbbbbbbbbbb"));
	}
	/* A NUL byte. */
	assert_int_equal(api_tokens_parse("read aaaaaaaa\0aaaaaaaaaaa\n", 26,
					  &(struct api_tokens){ 0 }, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "line 1: a NUL byte");
}

static void test_routes(void **state)
{
	struct api_route r;

	(void)state;
	assert_int_equal(api_route_match("/v1/services", &r), 0);
	assert_int_equal(r.kind, API_R_LIST);
	assert_int_equal(r.methods, API_M_GET);
	assert_int_equal(r.needs, API_ROLE_READ);
	assert_string_equal(r.cmd, "list");
	assert_int_equal(api_route_match("/v1/services/web%401", &r), 0);
	assert_int_equal(r.kind, API_R_STATUS);
	assert_string_equal(r.service, "web@1");
	assert_int_equal(api_route_match("/v1/services/db/restart", &r), 0);
	assert_int_equal(r.kind, API_R_ACTION);
	assert_int_equal(r.methods, API_M_POST);
	assert_int_equal(r.needs, API_ROLE_OPERATE);
	assert_string_equal(r.cmd, "restart");
	assert_int_equal(api_route_match("/v1/services/db/limits", &r), 0);
	assert_int_equal(r.methods, API_M_PATCH);
	assert_string_equal(r.cmd, "set");
	assert_int_equal(api_route_match("/v1/services/db/logs", &r), 0);
	assert_int_equal(r.kind, API_R_LOGS);
	assert_int_equal(api_route_match("/v1/services/db/history", &r), 0);
	assert_null(r.cmd);
	assert_int_equal(api_route_match("/v1/reload", &r), 0);
	assert_int_equal(r.needs, API_ROLE_OPERATE);
	assert_int_equal(api_route_match("/v1/openapi.json", &r), 0);
	assert_int_equal(r.needs, API_ROLE_NONE);
	assert_int_equal(api_route_match("/v1/events", &r), 0);
	assert_int_equal(api_route_match("/v1/images", &r), 0);

	assert_int_equal(api_route_match("/v1/services/", &r), -ENOENT);
	assert_int_equal(api_route_match("/v1/services/db/explode", &r), -ENOENT);
	assert_int_equal(api_route_match("/v1/services/db/stop/now", &r), -ENOENT);
	assert_int_equal(api_route_match("/v2/services", &r), -ENOENT);
	assert_int_equal(api_route_match("/", &r), -ENOENT);
	assert_int_equal(api_route_match("/v1/services/a%2fb", &r), -EINVAL);
	assert_int_equal(api_route_match("/v1/services/a%00b", &r), -EINVAL);
	assert_int_equal(api_route_match("/v1/services/a%zz", &r), -EINVAL);
	assert_int_equal(api_route_match("/v1/services/a%4", &r), -EINVAL);
}

static void test_query_and_cookie(void **state)
{
	char v[16];
	unsigned long long u;
	bool b;

	(void)state;
	assert_int_equal(api_query_get("lines=10&follow=1", "lines", v, sizeof(v)), 1);
	assert_string_equal(v, "10");
	assert_int_equal(api_query_get("lines=10&follow=1", "follow", v, sizeof(v)), 1);
	assert_string_equal(v, "1");
	assert_int_equal(api_query_get("linesx=10", "lines", v, sizeof(v)), 0);
	assert_int_equal(api_query_get("service=a+b%40c", "service", v, sizeof(v)), 1);
	assert_string_equal(v, "a b@c");
	assert_int_equal(api_query_get("follow", "follow", v, sizeof(v)), 1);
	assert_string_equal(v, "");
	assert_int_equal(api_query_get("x=%zz", "x", v, sizeof(v)), -EINVAL);
	assert_int_equal(api_query_get("x=%00", "x", v, sizeof(v)), -EINVAL);
	assert_int_equal(api_query_get("x=0123456789abcdef", "x", v, sizeof(v)), -E2BIG);

	assert_int_equal(api_parse_uint("42", 100, &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(api_parse_uint("101", 100, &u), -EINVAL);
	assert_int_equal(api_parse_uint("18446744073709551616", UINT64_MAX, &u), -EINVAL);
	assert_int_equal(api_parse_uint("-1", 100, &u), -EINVAL);
	assert_int_equal(api_parse_uint("", 100, &u), -EINVAL);
	assert_int_equal(api_parse_bool("true", &b), 0);
	assert_true(b);
	assert_int_equal(api_parse_bool("0", &b), 0);
	assert_false(b);
	assert_int_equal(api_parse_bool("maybe", &b), -EINVAL);

	char tok[32];
	assert_int_equal(
	    api_cookie_get("a=1; paddock_token=abc; b=2", "paddock_token", tok, sizeof(tok)), 1);
	assert_string_equal(tok, "abc");
	assert_int_equal(api_cookie_get("paddock_token=\"q\"", "paddock_token", tok, sizeof(tok)),
			 1);
	assert_string_equal(tok, "q");
	assert_int_equal(api_cookie_get("xpaddock_token=abc", "paddock_token", tok, sizeof(tok)),
			 0);
	assert_int_equal(api_cookie_get("paddock_token=0123456789012345678901234567890123456789",
					"paddock_token", tok, sizeof(tok)),
			 0);
}

static void test_accept_encoding(void **state)
{
	(void)state;
	assert_false(api_accepts_gzip(NULL));
	assert_false(api_accepts_gzip(""));
	assert_true(api_accepts_gzip("gzip"));
	assert_true(api_accepts_gzip("gzip, deflate, br"));
	assert_true(api_accepts_gzip("br,GZIP;q=0.5"));
	assert_true(api_accepts_gzip("deflate, gzip ; q=1"));
	assert_false(api_accepts_gzip("gzip;q=0"));
	assert_false(api_accepts_gzip("br, gzip; q=0.000, deflate"));
	assert_false(api_accepts_gzip("x-gzip, gzipx, deflate;q=1"));
	assert_false(api_accepts_gzip("identity"));
}

static void test_config(void **state)
{
	static const char unix_ok[] = "api: {listen: /run/p/api.sock, tokens: /etc/p/tokens}\n";
	static const char tcp_ok[] = "api:\n"
				     "  listen: \"[::1]:8443\"\n"
				     "  tls: {cert: /etc/p/c.pem, key: /etc/p/k.pem}\n"
				     "  tokens: /etc/p/tokens\n"
				     "  max_clients: 10\n"
				     "  idle_timeout: 1m\n"
				     "  max_body: 1M\n";
	struct daemon_config *c = NULL;
	struct config_errors e = { 0 };

	(void)state;
	/* Defaults (an empty document has none of them: no api, nothing to default). */
	assert_int_equal(
	    config_parse_daemon_buffer("d.yaml", "log: {keep: 2}\n", 15, &host, &c, &e), 0);
	assert_null(c->api.listen);
	assert_int_equal(c->api.max_clients, 64);
	assert_int_equal(c->api.idle_timeout_s, 30);
	assert_int_equal(c->api.max_body, 64 * 1024);
	daemon_config_free(c);
	assert_int_equal(
	    config_parse_daemon_buffer("d.yaml", unix_ok, strlen(unix_ok), &host, &c, &e), 0);
	assert_string_equal(c->api.listen, "/run/p/api.sock");
	assert_string_equal(c->api.tokens, "/etc/p/tokens");
	assert_null(c->api.tls_cert);
	daemon_config_free(c);
	assert_int_equal(
	    config_parse_daemon_buffer("d.yaml", tcp_ok, strlen(tcp_ok), &host, &c, &e), 0);
	assert_string_equal(c->api.listen, "[::1]:8443");
	assert_string_equal(c->api.tls_cert, "/etc/p/c.pem");
	assert_string_equal(c->api.tls_key, "/etc/p/k.pem");
	assert_int_equal(c->api.max_clients, 10);
	assert_int_equal(c->api.idle_timeout_s, 60);
	assert_int_equal(c->api.max_body, 1024 * 1024);
	daemon_config_free(c);
	assert_int_equal(e.n, 0);
}

static void test_config_errors(void **state)
{
	static const struct {
		const char *yaml;
		int line, col;
		const char *msg;
	} bad[] = {
		{ "api: {listen: \"127.0.0.1:8443\", tokens: /t}\n", 1, 15,
		  "is TCP: it needs 'api.tls'" },
		{ "api: {listen: /run/api.sock}\n", 1, 15, "'api.listen' needs 'api.tokens'" },
		{ "api: {listen: localhost, tokens: /t}\n", 1, 15,
		  "invalid 'api.listen' 'localhost'" },
		{ "api: {listen: \"h:0\", tokens: /t}\n", 1, 15, "invalid 'api.listen'" },
		{ "api: {tls: {cert: /c}}\n", 1, 12, "'api.tls' needs both 'cert' and 'key'" },
		{ "api: {tokens: tokens.txt}\n", 1, 15, "must be an absolute path" },
		{ "api: {max_clients: 0}\n", 1, 20, "api.max_clients" },
		{ "api: {max_clients: 385}\n", 1, 20, "api.max_clients" },
		{ "api: {max_body: 10}\n", 1, 17, "'api.max_body' must be 1KiB..64MiB" },
		{ "api: {idle_timeout: 5ms}\n", 1, 21, "api.idle_timeout" },
		{ "api: {listn: /x}\n", 1, 7, "unknown key 'listn' in 'api'" },
		{ "api: [1]\n", 1, 6, "api" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct daemon_config *c = NULL;
		struct config_errors e = { 0 };

		assert_int_equal(config_parse_daemon_buffer("d.yaml", bad[i].yaml,
							    strlen(bad[i].yaml), &host, &c, &e),
				 -EINVAL);
		assert_null(c);
		if (e.n < 1 || e.diags[0].line != bad[i].line || e.diags[0].column != bad[i].col ||
		    !strstr(e.diags[0].message, bad[i].msg))
			fail_msg("case %zu: got %zu diagnostics, first %d:%d: %s; want %d:%d: %s",
				 i, e.n, e.n ? e.diags[0].line : 0, e.n ? e.diags[0].column : 0,
				 e.n ? e.diags[0].message : "", bad[i].line, bad[i].col,
				 bad[i].msg);
		config_errors_clear(&e);
	}
}

/* libssl and libevent_openssl load with every symbol the table wants; a bad cert is -EINVAL. */
static void test_tls_load(void **state)
{
	SSL_CTX *ctx = (SSL_CTX *)&ctx;

	(void)state;
	assert_int_equal(api_tls_new("/nonexistent/cert.pem", "/nonexistent/key.pem", &ctx),
			 -EINVAL);
	assert_null(ctx);
	/* Loaded once: the second call finds the table filled. */
	assert_int_equal(api_tls_new("/dev/null", "/dev/null", &ctx), -EINVAL);
	assert_null(ctx);
	assert_null(api_tls_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),		cmocka_unit_test(test_tokens_errors),
		cmocka_unit_test(test_routes),		cmocka_unit_test(test_query_and_cookie),
		cmocka_unit_test(test_accept_encoding), cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_errors),	cmocka_unit_test(test_tls_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
