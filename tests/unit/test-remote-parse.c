/*
 * test-remote-parse.c - unit tests for supervisor/ctl/remote-parse.c: the
 * event streams and answers paddockctl --url reads from a server it does
 * not trust. Events whatever the pieces they arrive in; bounds; answers
 * in the control protocol's shape with the codes paddockctl's exit
 * statuses come from.
 */
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "remote-parse.h"

/* Events as "TYPE|DATA\n" lines, for comparing. */
struct seen {
	char text[4096];
	size_t n;
};

static int collect(void *arg, const char *event, const char *data, size_t len)
{
	struct seen *s = arg;
	assert_int_equal(strlen(data), len);
	s->n += (size_t)snprintf(s->text + s->n, sizeof(s->text) - s->n, "%s|%s\n", event, data);
	return 0;
}

/* Feed stream in pieces of piece bytes; what the events were. */
static int feed(const char *stream, size_t piece, struct seen *s, struct error *err)
{
	struct sse_parser p = { 0 };
	size_t n = strlen(stream);
	int r = 0;

	memset(s, 0, sizeof(*s));
	for (size_t off = 0; off < n && r == 0; off += piece)
		r = sse_feed(&p, stream + off, n - off < piece ? n - off : piece, collect, s, err);
	sse_parser_clear(&p);
	return r;
}

static void test_sse_events(void **state)
{
	static const char stream[] = ": keep-alive\r\n"
				     "data: {\"a\":1}\r\n\r\n"
				     "event: error\n"
				     "data: line one\n"
				     "data:line two\n"
				     "id: 7\n"
				     "retry: 100\n\n"
				     "data\r\r"
				     "\n\n" /* blank lines with no data: no event */
				     "data: last\n"; /* no blank line: never dispatched */
	const char *want = "|{\"a\":1}\n"
			   "error|line one\nline two\n"
			   "|\n";
	struct error err = { 0 };
	struct seen s;

	(void)state;
	/* Every piece size, so that CR LF split across pieces is one line end. */
	for (size_t piece = 1; piece <= sizeof(stream); piece++) {
		assert_int_equal(feed(stream, piece, &s, &err), 0);
		if (strcmp(s.text, want) != 0)
			fail_msg("pieces of %zu: got '%s'", piece, s.text);
	}
}

static void test_sse_bounds(void **state)
{
	struct error err = { 0 };
	struct seen s;
	size_t n = SSE_MAX_EVENT + 64;
	char *big = malloc(n + 1);

	(void)state;
	assert_non_null(big);
	memcpy(big, "data: ", 6);
	memset(big + 6, 'x', n - 6);
	big[n] = '\0';
	assert_int_equal(feed(big, 65536, &s, &err), -EMSGSIZE);
	assert_non_null(strstr(err.msg, "more than"));
	free(big);

	struct sse_parser p = { 0 };
	memset(&err, 0, sizeof(err));
	assert_int_equal(sse_feed(&p, "data: a\0b\n\n", 11, collect, &s, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "NUL"));
	sse_parser_clear(&p);

	memset(&err, 0, sizeof(err));
	assert_int_equal(
	    feed("event: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 8, &s, &err),
	    -EPROTO);
}

static int stop_at_first(void *arg, const char *event, const char *data, size_t len)
{
	(void)event;
	(void)data;
	(void)len;
	(*(int *)arg)++;
	return -ECANCELED;
}

static void test_sse_stop(void **state)
{
	struct sse_parser p = { 0 };
	struct error err = { 0 };
	int calls = 0;

	(void)state;
	assert_int_equal(sse_feed(&p, "data: 1\n\ndata: 2\n\n", 18, stop_at_first, &calls, &err),
			 -ECANCELED);
	assert_int_equal(calls, 1);
	sse_parser_clear(&p);
}

static const char *sget(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static bool ok_of(struct json_object *o)
{
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, "ok", &v));
	return json_object_get_boolean(v);
}

static void test_answer_ok(void **state)
{
	struct error err = { 0 };
	struct json_object *o, *r;
	const char *body = " [{\"name\":\"web\"}]\n";

	(void)state;
	o = remote_answer(200, body, strlen(body), &err);
	assert_non_null(o);
	assert_true(ok_of(o));
	assert_true(json_object_object_get_ex(o, "result", &r));
	assert_string_equal(sget(json_object_array_get_idx(r, 0), "name"), "web");
	json_object_put(o);

	o = remote_answer(200, "42", 2, &err); /* a bare number is whole too */
	assert_non_null(o);
	json_object_put(o);

	assert_null(remote_answer(200, "[1] [2]", 7, &err));
	assert_null(remote_answer(200, "<html>", 6, &err));
	assert_non_null(strstr(err.msg, "not JSON"));
	assert_null(remote_answer(200, "", 0, &err));
}

static void test_url_loopback(void **state)
{
	static const char *const ok[] = {
		"http://127.0.0.1:8080", "http://127.9.8.7",	  "http://localhost:80/",
		"http://LOCALHOST",	 "http://[::1]:8080",	  "http://u@127.0.0.1:1",
		"https://example.com",	 "https://10.0.0.1:8443",
	};
	static const char *const bad[] = {
		"http://10.0.0.1:8080",
		"http://example.com",
		"http://127.0.0.1.evil:80",
		"http://128.0.0.1",
		"http://localhost.evil.com",
		"http://[::2]:80",
		"http://",
		"http://127.0.0.1@evil.com",
		"http://a@127.0.0.1@evil.com",
	};
	struct error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(remote_check_url(ok[i], &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(remote_check_url(bad[i], &err), -EINVAL);
		assert_non_null(strstr(err.msg, "use https://"));
	}
}

static void test_result_shapes(void **state)
{
	static const struct {
		const char *cmd, *json;
		int r;
	} cases[] = {
		{ "list", "[{\"name\":\"a\"}]", 0 }, { "list", "[]", 0 },
		{ "list", "{}", -EPROTO },	     { "list", "[{}]", -EPROTO },
		{ "list", "[1]", -EPROTO },	     { "status", "[{\"name\":1}]", -EPROTO },
		{ "stop", "null", -EPROTO },	     { "events", "[{\"type\":\"x\"}]", 0 },
		{ "events", "[\"x\"]", -EPROTO },    { "logs", "{\"text\":\"\"}", 0 },
		{ "logs", "[]", -EPROTO },	     { "reload", "\"x\"", -EPROTO },
		{ "no-such-command", "1", 0 },
	};
	struct error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *o = json_tokener_parse(cases[i].json);

		assert_int_equal(remote_check_result(cases[i].cmd, o, &err), cases[i].r);
		if (cases[i].r)
			assert_non_null(strstr(err.msg, cases[i].cmd));
		json_object_put(o);
	}
}

static void test_defang(void **state)
{
	struct json_object *o = json_tokener_parse(
	    "[{\"name\":\"a\\u001b]0;owned\\u0007b\",\"t\":\"x\\ny\\tz\\u009b2J\"}]");
	struct json_object *s = json_object_array_get_idx(o, 0);

	(void)state;
	remote_defang(o);
	assert_string_equal(sget(s, "name"), "a?]0;owned?b");
	assert_string_equal(sget(s, "t"), "x\ny\tz??2J");
	json_object_put(o);
}

static void test_answer_errors(void **state)
{
	struct error err = { 0 };
	struct json_object *o, *errs;
	const char *forbidden = "{\"error\":\"this token may only read\",\"code\":\"EPERM\"}";
	const char *nocode = "{\"error\":\"no such service: x\"}";
	const char *badcode = "{\"error\":\"x\",\"code\":\"\\u001b[2J\"}";
	const char *escape = "{\"error\":\"red \\u001b[31m\\nline\"}";
	const char *config =
	    "{\"error\":\"reload refused\",\"code\":\"ECONFIG\",\"errors\":"
	    "[{\"file\":\"a.yaml\",\"line\":3,\"column\":5,\"message\":\"bad\"},7]}";

	(void)state;
	o = remote_answer(403, forbidden, strlen(forbidden), &err);
	assert_false(ok_of(o));
	assert_string_equal(sget(o, "error"), "this token may only read");
	assert_string_equal(sget(o, "code"), "EPERM");
	json_object_put(o);

	/* No code: the status's, so that 404 exits 3 as ENOENT does. */
	o = remote_answer(404, nocode, strlen(nocode), &err);
	assert_string_equal(sget(o, "code"), "ENOENT");
	json_object_put(o);
	o = remote_answer(400, badcode, strlen(badcode), &err);
	assert_string_equal(sget(o, "code"), "EINVAL");
	json_object_put(o);

	/* Not the API's body: the status, said plainly. */
	o = remote_answer(502, "<html>bad gateway</html>", 24, &err);
	assert_string_equal(sget(o, "error"), "HTTP 502 from the server");
	assert_string_equal(sget(o, "code"), "EIO");
	json_object_put(o);
	o = remote_answer(401, NULL, 0, &err);
	assert_non_null(strstr(sget(o, "error"), "token"));
	json_object_put(o);

	/* Nothing that drives a terminal. */
	o = remote_answer(500, escape, strlen(escape), &err);
	assert_string_equal(sget(o, "error"), "red ?[31m?line");
	json_object_put(o);

	o = remote_answer(422, config, strlen(config), &err);
	assert_true(json_object_object_get_ex(o, "errors", &errs));
	assert_int_equal(json_object_array_length(errs), 1); /* the 7 is not an error */
	assert_string_equal(sget(json_object_array_get_idx(errs, 0), "file"), "a.yaml");
	assert_int_equal(json_object_get_int(
			     json_object_object_get(json_object_array_get_idx(errs, 0), "column")),
			 5);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sse_events),    cmocka_unit_test(test_sse_bounds),
		cmocka_unit_test(test_sse_stop),      cmocka_unit_test(test_answer_ok),
		cmocka_unit_test(test_answer_errors), cmocka_unit_test(test_url_loopback),
		cmocka_unit_test(test_result_shapes), cmocka_unit_test(test_defang),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
