/*
 * fuzz-api.c - libFuzzer harness for the HTTP API's pure parsers
 * (supervisor/core/api-parse.c): what any client sends (the path, the
 * query string, the Cookie header) and the tokens file. Built and run by
 * tests/fuzz/run.sh:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -Isupervisor/core \
 *     tests/fuzz/fuzz-api.c supervisor/core/api-parse.c -lcrypto
 * The input is split at its first two NUL bytes into a path?query, a Cookie
 * header (read as an Accept-Encoding header too) and a tokens file.
 * Properties: a matched route names a service with no '/' and is one of
 * the listed ones; every query value decodes within its buffer; a cookie
 * value fits its buffer; an accepted tokens file finds each of its tokens
 * again with the role it gave, and a token one byte shorter finds nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *part(const uint8_t **p, size_t *left)
{
	const uint8_t *nul = memchr(*p, 0, *left);
	size_t len = nul ? (size_t)(nul - *p) : *left;
	char *s = malloc(len + 1);

	memcpy(s, *p, len);
	s[len] = '\0';
	*p += nul ? len + 1 : len;
	*left -= nul ? len + 1 : len;
	return s;
}

static void check_uri(char *uri)
{
	struct api_route r;
	char *q = strchr(uri, '?');
	char v[64];
	unsigned long long u;
	bool b;

	if (q)
		*q++ = '\0';
	if (api_route_match(uri, &r) == 0) {
		if (strchr(r.service, '/') || r.kind > API_R_OPENAPI || !r.methods)
			__builtin_trap();
		if (r.kind >= API_R_STATUS && r.kind <= API_R_LIMITS && !r.service[0])
			__builtin_trap();
	}
	if (!q)
		return;
	static const char *const keys[] = { "names", "lines", "follow", "service", "since_ms" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int e = api_query_get(q, keys[i], v, sizeof(v));
		if (e == 1 && strlen(v) >= sizeof(v))
			__builtin_trap();
		if (e == 1 && api_parse_uint(v, 1000000, &u) == 0 && u > 1000000)
			__builtin_trap();
		if (e == 1)
			(void)api_parse_bool(v, &b);
	}
}

static void check_tokens(const char *text, size_t len)
{
	struct api_tokens t = { 0 };
	char why[256];

	if (api_tokens_parse(text, len, &t, why, sizeof(why)) < 0) {
		if (t.n || t.v || !why[0])
			__builtin_trap();
		return;
	}
	for (size_t i = 0; i < t.n; i++) {
		if (t.v[i].len < API_TOKEN_MIN || t.v[i].len > API_TOKEN_MAX)
			__builtin_trap();
		if (api_tokens_find(&t, t.v[i].token, t.v[i].len) != t.v[i].role)
			__builtin_trap();
		/* A prefix is no token (lengths differ). */
		if (api_tokens_find(&t, t.v[i].token, t.v[i].len - 1) != API_ROLE_NONE &&
		    t.v[i].len - 1 < API_TOKEN_MIN)
			__builtin_trap();
	}
	api_tokens_clear(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t left = size;
	char *uri = part(&p, &left), *cookie = part(&p, &left);
	char tok[API_TOKEN_MAX + 1];

	check_uri(uri);
	if (api_cookie_get(cookie, "paddock_token", tok, sizeof(tok)) == 1 &&
	    strlen(tok) > API_TOKEN_MAX)
		__builtin_trap();
	/* the second part is an Accept-Encoding header too: any answer, no fault */
	(void)api_accepts_gzip(cookie);
	check_tokens((const char *)p, left);
	free(uri);
	free(cookie);
	return 0;
}
