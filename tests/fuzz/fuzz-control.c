/*
 * fuzz-control.c - libFuzzer harness for the control protocol's request
 * parser (supervisor/core/control-parse.c), the part of paddockd that reads
 * what any local client writes on the control socket. Built and run by
 * tests/fuzz/run.sh:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -Isupervisor/image -Isupervisor/common \
 *     tests/fuzz/fuzz-control.c supervisor/core/control-parse.c -ljson-c
 *   ./fuzz-control tests/fuzz/corpus/control
 * Each input is split into lines as the daemon does (evbuffer_readln, LF).
 * A request either parses into an object with a string "cmd", or fails
 * with a code and a message; an accepted request, written back out as
 * JSON, parses again to the same command. The arguments of "logs"
 * (control_parse_logs) are accepted within their bounds or refused with
 * a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "control-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const char *line, size_t len)
{
	struct json_object *req = NULL, *again = NULL, *names;
	const char *cmd = NULL, *code = NULL, *cmd2, *code2;
	struct error err = { 0 }, err2 = { 0 };

	if (control_parse_request(line, len, &req, &cmd, &code, &err) < 0) {
		if (req || !code || !err.msg[0])
			__builtin_trap();
		return;
	}
	if (!req || !cmd || !json_object_is_type(req, json_type_object))
		__builtin_trap();
	/* What the command handlers read: names[] as strings, numbers, flags. */
	if (json_object_object_get_ex(req, "names", &names) &&
	    json_object_is_type(names, json_type_array))
		for (size_t i = 0; i < json_object_array_length(names); i++)
			(void)json_object_get_string(json_object_array_get_idx(names, i));
	json_object_object_foreach(req, key, val)
	{
		(void)key;
		(void)json_object_get_int64(val);
		(void)json_object_get_boolean(val);
	}
	struct control_logs_args la;
	struct error lerr = { 0 };
	if (control_parse_logs(req, &la, &lerr) < 0) {
		if (!lerr.msg[0])
			__builtin_trap();
	} else if (la.lines > CONTROL_LOGS_MAX_LINES) {
		__builtin_trap();
	}
	const char *out = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (control_parse_request(out, strlen(out), &again, &cmd2, &code2, &err2) < 0 ||
	    strcmp(cmd, cmd2) != 0)
		__builtin_trap();
	json_object_put(again);
	json_object_put(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		/* evbuffer_readln(EOL_LF) returns a NUL-terminated copy. */
		char buf[4096];
		if (len < sizeof(buf)) {
			memcpy(buf, p, len);
			buf[len] = '\0';
			one(buf, len);
		} else {
			one(p, len);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}
