/*
 * api-parse.c - the HTTP API's pure parts (api-parse.h): tokens file,
 * routes, query strings, cookies. Everything here reads bytes a client or
 * an operator wrote; it is bounded and fuzzed (tests/fuzz/fuzz-api.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api-parse.h"

/* --- tokens ---------------------------------------------------------------- */

void api_tokens_clear(struct api_tokens *t)
{
	for (size_t i = 0; i < t->n; i++) {
		explicit_bzero(t->v[i].token, t->v[i].len);
		free(t->v[i].token);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

static bool token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* One line (no '\n'): 0 and *tok set; 1 for a blank or comment line; -EINVAL with why. */
static int token_line(const char *s, size_t len, struct api_token *tok, const char **why)
{
	size_t i = 0, rs, re, ts, te;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i == len || s[i] == '#')
		return 1;
	rs = i;
	while (i < len && s[i] != ' ' && s[i] != '\t')
		i++;
	re = i;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	ts = i;
	while (i < len && token_char((unsigned char)s[i]))
		i++;
	te = i;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (re - rs == 4 && memcmp(s + rs, "read", 4) == 0)
		tok->role = API_ROLE_READ;
	else if (re - rs == 7 && memcmp(s + rs, "operate", 7) == 0)
		tok->role = API_ROLE_OPERATE;
	else
		return *why = "the role must be 'read' or 'operate' (ROLE TOKEN)", -EINVAL;
	if (te == ts)
		return *why = "no token after the role (ROLE TOKEN)", -EINVAL;
	if (i != len)
		return *why = "a token is one word of printable ASCII, and nothing may follow it",
		       -EINVAL;
	if (te - ts < API_TOKEN_MIN)
		return *why = "the token is shorter than 16 characters", -EINVAL;
	if (te - ts > API_TOKEN_MAX)
		return *why = "the token is longer than 256 characters", -EINVAL;
	tok->len = te - ts;
	if (!(tok->token = strndup(s + ts, tok->len)))
		return *why = "out of memory", -ENOMEM;
	return 0;
}

int api_tokens_parse(const char *buf, size_t len, struct api_tokens *out, char *why, size_t whylen)
{
	struct api_tokens t = { 0 };
	size_t lineno = 0, pos = 0;
	const char *reason = NULL;
	int r = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		struct api_token tok = { 0 };

		lineno++;
		if (memchr(buf + pos, '\0', end - pos)) {
			reason = "a NUL byte";
			r = -EINVAL;
		} else {
			r = token_line(buf + pos, end - pos, &tok, &reason);
		}
		pos = end + 1;
		if (r == 1)
			continue;
		if (r == 0 && api_tokens_find(&t, tok.token, tok.len) != API_ROLE_NONE) {
			reason = "the same token again (each token once, with one role)";
			r = -EINVAL;
		}
		if (r == 0 && t.n >= API_TOKENS_MAX) {
			reason = "more than 1024 tokens";
			r = -EINVAL;
		}
		if (r < 0) {
			if (tok.token)
				explicit_bzero(tok.token, tok.len);
			free(tok.token);
			snprintf(why, whylen, "line %zu: %s", lineno, reason);
			api_tokens_clear(&t);
			return r;
		}
		struct api_token *v = realloc(t.v, (t.n + 1) * sizeof(*v));
		if (!v) {
			free(tok.token);
			api_tokens_clear(&t);
			snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		}
		t.v = v;
		t.v[t.n++] = tok;
	}
	if (t.n == 0) {
		snprintf(why, whylen, "no tokens (expected ROLE TOKEN lines)");
		return -EINVAL;
	}
	*out = t;
	return 0;
}

/*
 * Whether a and b (n bytes each) are equal, in a time that depends on n
 * only: the loop never exits early, and reading through volatile keeps
 * the compiler from turning it into memcmp.
 */
static bool equal_const_time(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

enum api_role api_tokens_find(const struct api_tokens *t, const char *token, size_t len)
{
	enum api_role role = API_ROLE_NONE;

	/* No early exit: the time taken depends on the number of tokens, not on a match. */
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].len == len && equal_const_time(t->v[i].token, token, len))
			role = t->v[i].role;
	return role;
}

/* --- decoding ---------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len) into out (plus_space: '+' is ' ', as in a query). */
static int decode(const char *s, size_t len, bool plus_space, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int h, l;
			if (i + 2 >= len || (h = hexval(s[i + 1])) < 0 ||
			    (l = hexval(s[i + 2])) < 0)
				return -EINVAL;
			c = (char)(h * 16 + l);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == '\0')
			return -EINVAL;
		if (o + 1 >= outlen)
			return -E2BIG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* --- routes -------------------------------------------------------------------- */

static const struct {
	const char *action, *cmd;
} actions[] = {
	{ "start", "start" }, { "stop", "stop" },     { "restart", "restart" },
	{ "kill", "kill" },   { "freeze", "freeze" }, { "thaw", "thaw" },
};

static void route(struct api_route *r, enum api_route_kind kind, unsigned methods,
		  enum api_role needs, const char *cmd)
{
	r->kind = kind;
	r->methods = methods;
	r->needs = needs;
	r->cmd = cmd;
}

int api_route_match(const char *path, struct api_route *r)
{
	const char *rest, *slash;
	int e;

	memset(r, 0, sizeof(*r));
	if (strncmp(path, "/v1/", 4) != 0)
		return -ENOENT;
	rest = path + 4;
	if (strcmp(rest, "services") == 0)
		return route(r, API_R_LIST, API_M_GET, API_ROLE_READ, "list"), 0;
	if (strcmp(rest, "reload") == 0)
		return route(r, API_R_RELOAD, API_M_POST, API_ROLE_OPERATE, "reload"), 0;
	if (strcmp(rest, "images") == 0)
		return route(r, API_R_IMAGES, API_M_GET, API_ROLE_READ, "image-in-use"), 0;
	if (strcmp(rest, "events") == 0)
		return route(r, API_R_EVENTS, API_M_GET, API_ROLE_READ, "events"), 0;
	if (strcmp(rest, "openapi.json") == 0)
		return route(r, API_R_OPENAPI, API_M_GET, API_ROLE_NONE, NULL), 0;
	if (strncmp(rest, "services/", 9) != 0)
		return -ENOENT;
	rest += 9;
	slash = strchr(rest, '/');
	size_t nlen = slash ? (size_t)(slash - rest) : strlen(rest);
	if (nlen == 0)
		return -ENOENT;
	if ((e = decode(rest, nlen, false, r->service, sizeof(r->service))) < 0)
		return e == -E2BIG ? -EINVAL : e;
	if (strchr(r->service, '/'))
		return -EINVAL;
	if (!slash)
		return route(r, API_R_STATUS, API_M_GET, API_ROLE_READ, "status"), 0;
	rest = slash + 1;
	if (strcmp(rest, "history") == 0)
		return route(r, API_R_HISTORY, API_M_GET, API_ROLE_READ, NULL), 0;
	if (strcmp(rest, "logs") == 0)
		return route(r, API_R_LOGS, API_M_GET, API_ROLE_READ, "logs"), 0;
	if (strcmp(rest, "limits") == 0)
		return route(r, API_R_LIMITS, API_M_PATCH, API_ROLE_OPERATE, "set"), 0;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(rest, actions[i].action) == 0)
			return route(r, API_R_ACTION, API_M_POST, API_ROLE_OPERATE, actions[i].cmd),
			       0;
	return -ENOENT;
}

/* --- queries and cookies --------------------------------------------------------- */

int api_query_get(const char *query, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);

		if (len >= klen && memcmp(p, key, klen) == 0 && (len == klen || p[klen] == '=')) {
			if (len == klen) {
				if (outlen == 0)
					return -E2BIG;
				out[0] = '\0';
				return 1;
			}
			int e = decode(p + klen + 1, len - klen - 1, true, out, outlen);
			return e < 0 ? e : 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

int api_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s || strlen(s) > 20)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (max - (unsigned)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = v;
	return 0;
}

int api_parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes"))
		return *out = true, 0;
	if (!*s || !strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "no"))
		return *out = false, 0;
	return -EINVAL;
}

int api_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = header;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vlen = len - nlen - 1;
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
				v++, vlen -= 2;
			if (vlen >= outlen)
				return 0;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 1;
		}
		if (!end)
			break;
		p = end;
	}
	return 0;
}

bool api_accepts_gzip(const char *header)
{
	const char *p = header;

	while (p && *p) {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, ","), name = strcspn(p, " \t;,");

		if (name == 4 && strncasecmp(p, "gzip", 4) == 0) {
			/* parameters: ";q=0", ";q=0.0" refuse it */
			for (const char *s = memchr(p, ';', len); s;
			     s = memchr(s, ';', len - (size_t)(s - p))) {
				s++;
				s += strspn(s, " \t");
				if ((*s == 'q' || *s == 'Q') && s[1] == '=')
					return strtod(s + 2, NULL) > 0;
			}
			return true;
		}
		p += len;
	}
	return false;
}
