/*
 * fuzz-sse.c - libFuzzer harness for what paddockctl --url reads from a
 * server (supervisor/ctl/remote-parse.c). The first byte picks the
 * target: an event stream, fed in pieces the second byte sizes, whose
 * events must be NUL-terminated, bounded and free of line breaks' CRs; or
 * an HTTP answer for a status, which must come back in the control
 * protocol's shape with a clean message, whose result's shape check
 * answers and after which no string holds a control character (but
 * newline and tab). Built by run.sh.
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "remote-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(void *arg, const char *event, const char *d, size_t len)
{
	size_t *count = arg;

	if (len > SSE_MAX_EVENT || d[len] != '\0' || strlen(event) >= 32)
		__builtin_trap();
	if (memchr(d, '\r', len) || memchr(event, '\n', strlen(event)))
		__builtin_trap(); /* line ends never reach the data */
	json_object_put(remote_json(d, len));
	return ++*count > 1000 ? -1 : 0; /* a callback may stop the feed */
}

static void fuzz_sse(const char *s, size_t n, size_t piece)
{
	struct sse_parser p = { 0 };
	struct error err = { 0 };
	size_t count = 0;
	int r = 0;

	for (size_t off = 0; off < n && r == 0; off += piece)
		r = sse_feed(&p, s + off, n - off < piece ? n - off : piece, on_event, &count,
			     &err);
	if (r < -1 && !err.msg[0])
		__builtin_trap(); /* a parse error says why */
	sse_parser_clear(&p);
}

/* After remote_defang: no string (at any depth) holds a control character but \n and \t. */
static void check_defanged(struct json_object *o)
{
	if (json_object_is_type(o, json_type_string)) {
		const unsigned char *c = (const unsigned char *)json_object_get_string(o);
		size_t n = (size_t)json_object_get_string_len(o);

		for (size_t i = 0; i < n; i++)
			if ((c[i] < 0x20 && c[i] != '\n' && c[i] != '\t') || c[i] == 0x7f ||
			    (c[i] == 0xc2 && i + 1 < n && c[i + 1] >= 0x80 && c[i + 1] <= 0x9f))
				__builtin_trap();
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			check_defanged(json_object_array_get_idx(o, i));
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			check_defanged(v);
		}
	}
}

static void fuzz_answer(long status, const char *s, size_t n)
{
	struct error err = { 0 };
	struct json_object *o = remote_answer(status, s, n, &err), *v;

	if (!o) {
		if (status < 200 || status >= 300 || !err.msg[0])
			__builtin_trap(); /* only a 2xx answer that is not JSON fails */
		return;
	}
	if (!json_object_object_get_ex(o, "ok", &v))
		__builtin_trap();
	if (json_object_get_boolean(v)) {
		static const char *const cmds[] = { "list", "events", "logs", "start" };
		struct json_object *r = json_object_object_get(o, "result");

		/* Whatever the shape, the check answers (with a reason when it refuses). */
		if (remote_check_result(cmds[n % 4], r, &err) < 0 && !err.msg[0])
			__builtin_trap();
		remote_defang(o);
		check_defanged(o);
	}
	if (!json_object_get_boolean(v)) {
		const char *msg = json_object_get_string(json_object_object_get(o, "error"));
		const char *code = json_object_get_string(json_object_object_get(o, "code"));
		if (!msg || !code || code[0] != 'E' || strlen(msg) > 1024)
			__builtin_trap();
		for (const char *c = msg; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				__builtin_trap(); /* nothing that could drive a terminal */
	}
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 204, 400, 401, 403, 404, 409, 413, 422, 500, 503 };

	if (size < 2)
		return 0;
	if (data[0] & 1)
		fuzz_sse((const char *)data + 2, size - 2, (size_t)data[1] + 1);
	else
		fuzz_answer(statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))],
			    (const char *)data + 2, size - 2);
	return 0;
}
