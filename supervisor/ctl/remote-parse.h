/*
 * remote-parse.h - what paddockctl --url reads from a paddockd HTTP API
 * (core/api.h), parsed without any I/O so that it can be fuzzed
 * (tests/fuzz/fuzz-sse.c): Server-Sent Events streams (logs -f,
 * events -f) and one HTTP answer turned into the control protocol's
 * answer shape, which paddockctl's rendering already reads.
 *
 * The server is not trusted: every size is bounded, and malformed input
 * is an error with a reason, never a crash or unbounded growth.
 */
#ifndef PADDOCK_REMOTE_PARSE_H
#define PADDOCK_REMOTE_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct json_object;

/* The longest event (its data lines together) a stream may send: a log line is far less. */
#define SSE_MAX_EVENT (1u << 20)
/* The longest answer body: `status` of 1000 services is ~3 MB. */
#define REMOTE_MAX_BODY (64u << 20)

/* An SSE stream being read; zero-initialise, feed, then sse_parser_clear. */
struct sse_parser {
	char *buf; /* the current line, then the event's data */
	size_t len, cap;
	size_t line_start; /* where the current line begins in buf */
	size_t data_len; /* the event's data so far: buf[0, data_len) */
	bool have_data;
	bool skip_lf; /* the last line ended in CR: a following LF belongs to it */
	char event[32]; /* the "event:" field; "" for the default "message" */
};

/*
 * Called for each complete event: its type ("" when none was given) and
 * its data, NUL-terminated, without the final newline. Returning < 0
 * stops sse_feed, which returns that value.
 */
typedef int (*sse_event_fn)(void *arg, const char *event, const char *data, size_t len);

/*
 * Feed n bytes of the stream; complete events go to fn. 0, fn's negative
 * value, or -EMSGSIZE (an event above SSE_MAX_EVENT) / -EPROTO (a NUL byte)
 * with err filled; after an error the parser must not be fed again.
 */
int sse_feed(struct sse_parser *p, const char *data, size_t n, sse_event_fn fn, void *arg,
	     struct error *err);
void sse_parser_clear(struct sse_parser *p);

/*
 * An HTTP answer as the control protocol's: {"ok":true,"result":BODY} for
 * a 2xx status, else {"ok":false,"error":MESSAGE,"code":CODE[,"errors":...]}
 * from the API's error body (CODE from the status when the body has none,
 * so 404 is "ENOENT" and paddockctl exits 3). NULL with err filled when a
 * 2xx body is not JSON. Never NULL for an error status: a body that is
 * not the API's (a proxy's page) becomes "HTTP STATUS from the server".
 */
struct json_object *remote_answer(long status, const char *body, size_t len, struct error *err);

/* The whole of s as one JSON value (whitespace around it allowed); NULL otherwise. */
struct json_object *remote_json(const char *s, size_t len);

/* The code paddockctl shows for an HTTP status without one in the body. */
const char *remote_status_code(long status);

/*
 * An http:// URL must name a loopback host (127.0.0.0/8, [::1], localhost):
 * anywhere else the token would cross the network in clear. 0, or -EINVAL
 * with err saying to use https://. Other schemes pass.
 */
int remote_check_url(const char *url, struct error *err);

/*
 * The result of a successful cmd has the shape paddockctl renders (list:
 * an array of objects with a string "name", ...). 0, or -EPROTO with err.
 * Commands it does not know pass.
 */
int remote_check_result(const char *cmd, struct json_object *result, struct error *err);

/* Replace control characters (but newline and tab) in every string of o with '?'. */
void remote_defang(struct json_object *o);

#endif
