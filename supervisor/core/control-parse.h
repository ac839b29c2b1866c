/*
 * control-parse.h - the pure part of the control protocol: one request
 * line into a JSON object and its command, with the envelope checked
 * (size, JSON object, protocol version, "cmd"). No daemon needed, so the
 * fuzz harness (tests/fuzz/fuzz-control.c) calls it directly.
 */
#ifndef PADDOCK_CONTROL_PARSE_H
#define PADDOCK_CONTROL_PARSE_H

#include <json-c/json.h>
#include <stddef.h>

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

#endif
