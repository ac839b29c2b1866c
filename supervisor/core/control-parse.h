/*
 * control-parse.h - the pure part of the control protocol: one request
 * line into a JSON object and its command, with the envelope checked
 * (size, JSON object, protocol version, "cmd"). No daemon needed, so the
 * fuzz harness (tests/fuzz/fuzz-control.c) calls it directly.
 */
#ifndef PADDOCK_CONTROL_PARSE_H
#define PADDOCK_CONTROL_PARSE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "protocol.h"

#define CONTROL_MAX_REQUEST (1024 * 1024) /* bytes per request line */
#define CONTROL_MAX_DEPTH 32 /* JSON nesting of a request */

/*
 * Parse line (len bytes, no newline). 0: *req is the request object (the
 * caller puts it) and *cmd points into it. -errno: *req is NULL, *code is
 * the error code ("EPROTO", "E2BIG") and err the message for the answer.
 */
int control_parse_request(const char *line, size_t len, struct json_object **req, const char **cmd,
			  const char **code, struct error *err);

#define CONTROL_LOGS_MAX_LINES 100000

/* The arguments of "logs" besides the service: see control_parse_logs. */
struct control_logs_args {
	unsigned lines; /* last lines wanted */
	uint64_t since_ms; /* realtime; 0: any */
	bool follow;
};

/*
 * "lines" (0..CONTROL_LOGS_MAX_LINES, default 10, or every line when
 * "since_ms" is given), "since_ms" (ms since the epoch, >= 0), "follow"
 * (boolean). 0, or -EINVAL with err saying which field and why.
 */
int control_parse_logs(struct json_object *req, struct control_logs_args *out, struct error *err);

#endif
