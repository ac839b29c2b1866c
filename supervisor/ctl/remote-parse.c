/*
 * remote-parse.c - Server-Sent Events and HTTP answers of the HTTP API,
 * as paddockctl --url reads them (see remote-parse.h). No I/O.
 *
 * SSE as the HTML standard's "event stream interpretation": lines end in
 * LF, CRLF or CR; "data:" lines accumulate, an empty line dispatches, ":"
 * starts a comment, "id:" and "retry:" are ignored (we do not reconnect).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "remote-parse.h"

#define MAX_MESSAGE 1024 /* an error message shown from the server */
#define MAX_ERRORS 1000 /* reload's list of config errors */
#define JSON_DEPTH 64

/* Room for need bytes in p->buf, within SSE_MAX_EVENT (+1 for the NUL). */
static int sse_reserve(struct sse_parser *p, size_t need, struct error *err)
{
	size_t cap = p->cap ? p->cap : 4096;
	char *b;

	if (need <= p->cap)
		return 0;
	if (need > SSE_MAX_EVENT + 1)
		return error_set(err, EMSGSIZE, "event stream: an event of more than %u bytes",
				 SSE_MAX_EVENT);
	while (cap < need)
		cap *= 2;
	if (cap > SSE_MAX_EVENT + 1)
		cap = SSE_MAX_EVENT + 1;
	if (!(b = realloc(p->buf, cap)))
		return error_set(err, ENOMEM, "event stream: out of memory");
	p->buf = b;
	p->cap = cap;
	return 0;
}

/* The line buf[data_len, len) is complete: a field, a comment, or the end of an event. */
static int sse_line(struct sse_parser *p, sse_event_fn fn, void *arg, struct error *err)
{
	char *line = p->buf + p->data_len;
	size_t n = p->len - p->data_len;
	int r = 0;

	if (n == 0) {
		if (p->have_data) {
			size_t dl = p->data_len - 1; /* without the last data line's LF */
			p->buf[dl] = '\0';
			r = fn(arg, p->event, p->buf, dl);
		}
		p->len = p->data_len = 0;
		p->have_data = false;
		p->event[0] = '\0';
		return r;
	}
	if (line[0] == ':') {
		p->len = p->data_len; /* a comment (a keep-alive) */
		return 0;
	}
	char *colon = memchr(line, ':', n);
	size_t flen = colon ? (size_t)(colon - line) : n;
	const char *val = colon ? colon + 1 : line + n;
	size_t vlen = colon ? n - flen - 1 : 0;

	if (vlen && *val == ' ') {
		val++;
		vlen--;
	}
	if (flen == 4 && memcmp(line, "data", 4) == 0) {
		/* The value moves left over its field name: there is room for the LF. */
		memmove(p->buf + p->data_len, val, vlen);
		p->data_len += vlen;
		p->buf[p->data_len++] = '\n';
		p->have_data = true;
	} else if (flen == 5 && memcmp(line, "event", 5) == 0) {
		if (vlen >= sizeof(p->event))
			return error_set(err, EPROTO, "event stream: an event type of %zu bytes",
					 vlen);
		memcpy(p->event, val, vlen);
		p->event[vlen] = '\0';
	}
	p->len = p->data_len;
	return 0;
}

int sse_feed(struct sse_parser *p, const char *data, size_t n, sse_event_fn fn, void *arg,
	     struct error *err)
{
	int r;

	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		if (p->skip_lf) {
			p->skip_lf = false;
			if (c == '\n')
				continue;
		}
		if (c == '\r' || c == '\n') {
			p->skip_lf = c == '\r';
			if ((r = sse_line(p, fn, arg, err)) < 0)
				return r;
			continue;
		}
		if (c == '\0')
			return error_set(err, EPROTO, "event stream: a NUL byte");
		if (p->len + 1 > p->cap && (r = sse_reserve(p, p->len + 1, err)) < 0)
			return r;
		p->buf[p->len++] = c;
	}
	return 0;
}

void sse_parser_clear(struct sse_parser *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

struct json_object *remote_json(const char *body, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	if (!body || len == 0 || len > REMOTE_MAX_BODY || !(tok = json_tokener_new_ex(JSON_DEPTH)))
		return NULL;
	o = json_tokener_parse_ex(tok, body, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!o && json_tokener_get_error(tok) == json_tokener_continue) {
		o = json_tokener_parse_ex(tok, "", 1); /* a bare number at the very end */
		end = len;
	}
	if (o && json_tokener_get_error(tok) == json_tokener_success)
		while (end < len && strchr(" \t\r\n", body[end]) && body[end])
			end++;
	if (!o || json_tokener_get_error(tok) != json_tokener_success || end < len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* A string from the server, fit for a terminal: bounded, control characters as '?'. */
static struct json_object *clean_string(struct json_object *v)
{
	char buf[MAX_MESSAGE + 1];
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
	size_t n = strnlen(s, MAX_MESSAGE);

	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[n] = '\0';
	return json_object_new_string(buf);
}

const char *remote_status_code(long status)
{
	switch (status) {
	case 400:
		return "EINVAL";
	case 401:
		return "EACCES";
	case 403:
		return "EPERM";
	case 404:
		return "ENOENT";
	case 409:
		return "EBUSY";
	case 413:
		return "E2BIG";
	case 422:
		return "ECONFIG";
	case 503:
		return "EAGAIN";
	default:
		return "EIO";
	}
}

/* A code as the control protocol spells them: "E" and capitals, short. */
static bool code_ok(const char *c)
{
	size_t n = strlen(c);
	return n >= 2 && n < 16 && c[0] == 'E' &&
	       strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

/* reload's config errors, {file, line, column, message} each, cleaned. */
static struct json_object *clean_errors(struct json_object *arr)
{
	struct json_object *out = json_object_new_array();
	size_t n = json_object_array_length(arr);

	for (size_t i = 0; i < n && i < MAX_ERRORS; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i), *o, *v = NULL;
		if (!json_object_is_type(e, json_type_object))
			continue;
		o = json_object_new_object();
		json_object_object_get_ex(e, "file", &v);
		json_object_object_add(o, "file", clean_string(v));
		v = NULL;
		json_object_object_get_ex(e, "message", &v);
		json_object_object_add(o, "message", clean_string(v));
		v = NULL;
		json_object_object_get_ex(e, "line", &v);
		json_object_object_add(o, "line", json_object_new_int64(json_object_get_int64(v)));
		v = NULL;
		json_object_object_get_ex(e, "column", &v);
		json_object_object_add(o, "column",
				       json_object_new_int64(json_object_get_int64(v)));
		json_object_array_add(out, o);
	}
	return out;
}

struct json_object *remote_answer(long status, const char *body, size_t len, struct error *err)
{
	struct json_object *b = remote_json(body, len), *o, *v = NULL;
	const char *code = NULL;

	if (status >= 200 && status < 300) {
		if (!b) {
			error_set(err, EPROTO,
				  "the server's answer (HTTP %ld, %zu bytes) is not JSON", status,
				  len);
			return NULL;
		}
		o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "result", b);
		return o;
	}
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	if (json_object_is_type(b, json_type_object) && json_object_object_get_ex(b, "error", &v) &&
	    json_object_is_type(v, json_type_string)) {
		json_object_object_add(o, "error", clean_string(v));
	} else {
		char msg[80];
		snprintf(msg, sizeof(msg), "HTTP %ld from the server%s", status,
			 status == 401 ? ": no valid token" : "");
		json_object_object_add(o, "error", json_object_new_string(msg));
	}
	if (json_object_is_type(b, json_type_object) && json_object_object_get_ex(b, "code", &v) &&
	    json_object_is_type(v, json_type_string) && code_ok(json_object_get_string(v)))
		code = json_object_get_string(v);
	json_object_object_add(o, "code",
			       json_object_new_string(code ? code : remote_status_code(status)));
	if (json_object_is_type(b, json_type_object) &&
	    json_object_object_get_ex(b, "errors", &v) && json_object_is_type(v, json_type_array))
		json_object_object_add(o, "errors", clean_errors(v));
	json_object_put(b);
	return o;
}

/* --- the URL and the answers' shapes ------------------------------------------------- */

static bool host_is_loopback(const char *h, size_t n)
{
	char buf[64];
	unsigned a;
	int end = 0;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (strcasecmp(buf, "localhost") == 0 || strcmp(buf, "[::1]") == 0)
		return true;
	/* 127.0.0.0/8 as a dotted quad. */
	unsigned b, c, d;
	return sscanf(buf, "%u.%u.%u.%u%n", &a, &b, &c, &d, &end) == 4 && (size_t)end == n &&
	       a == 127 && b < 256 && c < 256 && d < 256;
}

int remote_check_url(const char *url, struct error *err)
{
	const char *h, *e, *at;

	if (strncmp(url, "http://", 7) != 0)
		return 0;
	h = url + 7;
	e = h + strcspn(h, "/");
	/* userinfo@ is not the host: after the last '@', as libcurl reads it */
	for (at = h; at < e; at++)
		if (*at == '@')
			h = at + 1;
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(e - h));
		e = close ? close + 1 : e;
	} else {
		const char *colon = memchr(h, ':', (size_t)(e - h));
		e = colon ? colon : e;
	}
	if (host_is_loopback(h, (size_t)(e - h)))
		return 0;
	return error_set(err, EINVAL,
			 "URL %s: http:// would send the token in clear to a host that is not "
			 "loopback; use https://",
			 url);
}

/* Every element an object with a string "name" (list, status and the actions' answers). */
static bool services_shaped(struct json_object *r)
{
	if (!json_object_is_type(r, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(r); i++) {
		struct json_object *s = json_object_array_get_idx(r, i), *n;

		if (!json_object_is_type(s, json_type_object) ||
		    !json_object_object_get_ex(s, "name", &n) ||
		    !json_object_is_type(n, json_type_string))
			return false;
	}
	return true;
}

static bool objects_shaped(struct json_object *r)
{
	if (!json_object_is_type(r, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(r); i++)
		if (!json_object_is_type(json_object_array_get_idx(r, i), json_type_object))
			return false;
	return true;
}

int remote_check_result(const char *cmd, struct json_object *result, struct error *err)
{
	static const struct {
		const char *cmd;
		int shape; /* 0 services, 1 array of objects, 2 object */
	} want[] = {
		{ "list", 0 },	       { "status", 0 }, { "start", 0 },	 { "stop", 0 },
		{ "restart", 0 },      { "freeze", 0 }, { "thaw", 0 },	 { "events", 1 },
		{ "image-in-use", 1 }, { "logs", 2 },	{ "reload", 2 }, { "set", 2 },
	};
	static const char *const shapes[] = {
		"an array of objects with a string \"name\"",
		"an array of objects",
		"an object",
	};

	for (size_t i = 0; cmd && i < sizeof(want) / sizeof(want[0]); i++) {
		bool ok;

		if (strcmp(want[i].cmd, cmd) != 0)
			continue;
		ok = want[i].shape == 0	  ? services_shaped(result)
		     : want[i].shape == 1 ? objects_shaped(result)
					  : json_object_is_type(result, json_type_object);
		if (ok)
			return 0;
		return error_set(err, EPROTO, "the server's answer to %s is not %s", cmd,
				 shapes[want[i].shape]);
	}
	return 0;
}

/* Control characters (but newline and tab) and C1 controls as '?', in place. */
static struct json_object *defang_string(struct json_object *v)
{
	const unsigned char *s = (const unsigned char *)json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v), i;
	char *out = NULL;

	for (i = 0; i < n; i++) {
		bool c0 = (s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') || s[i] == 0x7f;
		bool c1 = s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f;

		if (!c0 && !c1)
			continue;
		if (!out) {
			out = malloc(n + 1);
			if (!out)
				return v;
			memcpy(out, s, n + 1);
		}
		out[i] = '?';
		if (c1)
			out[++i] = '?';
	}
	if (!out)
		return v;
	json_object_set_string_len(v, out, (int)n);
	free(out);
	return v;
}

void remote_defang(struct json_object *o)
{
	if (json_object_is_type(o, json_type_string)) {
		defang_string(o);
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			remote_defang(json_object_array_get_idx(o, i));
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			remote_defang(v);
		}
	}
}
