/*
 * api-parse.h - the HTTP API's pure parts (api.c uses them; fuzzed by
 * tests/fuzz/fuzz-api.c): the tokens file, route matching, query
 * parameters and cookies. No I/O, no libevent.
 */
#ifndef PADDOCK_API_PARSE_H
#define PADDOCK_API_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* What a token may do (api.h). */
enum api_role { API_ROLE_NONE = 0, API_ROLE_READ, API_ROLE_OPERATE };

#define API_TOKEN_MIN 16 /* a shorter token is refused: it could be guessed */
#define API_TOKEN_MAX 256
#define API_TOKENS_MAX 1024
#define API_NAME_MAX 255 /* a service name in a path */

struct api_token {
	enum api_role role;
	char *token;
	size_t len;
};

struct api_tokens {
	struct api_token *v;
	size_t n;
};

/*
 * Parse a tokens file's text: "ROLE TOKEN" lines (ROLE read or operate),
 * '#' comments and blank lines. 0, or -EINVAL with why = "line N: reason"
 * (never quoting a token); -ENOMEM.
 */
int api_tokens_parse(const char *buf, size_t len, struct api_tokens *out, char *why, size_t whylen);
void api_tokens_clear(struct api_tokens *t);
/* The role token grants; compares in constant time with every token of its length. */
enum api_role api_tokens_find(const struct api_tokens *t, const char *token, size_t len);

/* HTTP methods a route answers (bit set). */
#define API_M_GET 0x1
#define API_M_POST 0x2
#define API_M_PATCH 0x4

enum api_route_kind {
	API_R_LIST, /* GET /v1/services */
	API_R_STATUS, /* GET /v1/services/NAME */
	API_R_HISTORY, /* GET /v1/services/NAME/history */
	API_R_LOGS, /* GET /v1/services/NAME/logs */
	API_R_ACTION, /* POST /v1/services/NAME/ACTION */
	API_R_LIMITS, /* PATCH /v1/services/NAME/limits */
	API_R_RELOAD, /* POST /v1/reload */
	API_R_IMAGES, /* GET /v1/images */
	API_R_EVENTS, /* GET /v1/events */
	API_R_OPENAPI, /* GET /v1/openapi.json */
};

struct api_route {
	enum api_route_kind kind;
	unsigned methods; /* API_M_* it answers */
	enum api_role needs; /* read or operate */
	const char *cmd; /* the control command, NULL for history and openapi */
	char service[API_NAME_MAX + 1]; /* decoded NAME, "" when none */
};

/*
 * Match path (the raw path of the URI, without the query) under /v1/.
 * 0; -ENOENT when no route has that path; -EINVAL for a bad escape or
 * name (a NUL, a '/', too long).
 */
int api_route_match(const char *path, struct api_route *r);

/*
 * The value of key in a query string (a=1&b=x%20y), decoded into out.
 * 1 found, 0 absent, -EINVAL bad escape or NUL, -E2BIG longer than outlen - 1.
 */
int api_query_get(const char *query, const char *key, char *out, size_t outlen);
/* A query value as an unsigned number within max: 0, or -EINVAL. */
int api_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
/* "1", "true", "yes" -> true; "0", "false", "no", "" -> false; else -EINVAL. */
int api_parse_bool(const char *s, bool *out);

/*
 * The value of cookie name in a Cookie header ("a=1; paddock_token=x").
 * 1 found (out NUL-terminated), 0 absent or too long for out.
 */
int api_cookie_get(const char *header, const char *name, char *out, size_t outlen);

/*
 * Whether an Accept-Encoding header ("br, gzip;q=0.8") takes gzip: listed,
 * and not with a q of 0. NULL (no header) takes nothing but identity.
 */
bool api_accepts_gzip(const char *header);

#endif
