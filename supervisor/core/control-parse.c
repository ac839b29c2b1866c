/*
 * control-parse.c - request envelope of the control protocol; see
 * control-parse.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control-parse.h"

int control_parse_request(const char *line, size_t len, struct json_object **req, const char **cmd,
			  const char **code, struct error *err)
{
	struct json_tokener *tok;
	struct json_object *r, *v;
	enum json_tokener_error jerr;

	*req = NULL;
	*cmd = NULL;
	*code = "EPROTO";
	if (len > CONTROL_MAX_REQUEST) {
		*code = "E2BIG";
		return error_set(err, E2BIG, "request larger than %d bytes", CONTROL_MAX_REQUEST);
	}
	if (!(tok = json_tokener_new_ex(CONTROL_MAX_DEPTH))) {
		*code = "ENOMEM";
		return error_set(err, ENOMEM, "out of memory");
	}
	r = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!r || jerr != json_tokener_success || !json_object_is_type(r, json_type_object)) {
		const char *what = r ? "not a JSON object" : json_tokener_error_desc(jerr);
		json_object_put(r);
		return error_set(err, EPROTO, "malformed request: %s", what);
	}
	if (json_object_object_get_ex(r, "v", &v) && json_object_get_int(v) != PROTOCOL_VERSION) {
		int version = json_object_get_int(v);
		json_object_put(r);
		return error_set(err, EPROTO, "unsupported protocol version %d (daemon speaks %d)",
				 version, PROTOCOL_VERSION);
	}
	if (!json_object_object_get_ex(r, "cmd", &v) || !json_object_is_type(v, json_type_string)) {
		json_object_put(r);
		return error_set(err, EPROTO, "request has no \"cmd\"");
	}
	*req = r;
	*cmd = json_object_get_string(v);
	return 0;
}

int control_parse_logs(struct json_object *req, struct control_logs_args *out, struct error *err)
{
	struct json_object *v;
	int64_t n;

	*out = (struct control_logs_args){ .lines = 10 };
	if (json_object_object_get_ex(req, "since_ms", &v)) {
		if (!json_object_is_type(v, json_type_int) || (n = json_object_get_int64(v)) < 0)
			return error_set(err, EINVAL,
					 "since_ms must be milliseconds since the epoch");
		out->since_ms = (uint64_t)n;
		out->lines =
		    CONTROL_LOGS_MAX_LINES; /* every line since then, unless "lines" says less */
	}
	if (json_object_object_get_ex(req, "lines", &v)) {
		if (!json_object_is_type(v, json_type_int) || (n = json_object_get_int64(v)) < 0 ||
		    n > CONTROL_LOGS_MAX_LINES)
			return error_set(err, EINVAL, "lines must be 0..%d",
					 CONTROL_LOGS_MAX_LINES);
		out->lines = (unsigned)n;
	}
	if (json_object_object_get_ex(req, "follow", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return error_set(err, EINVAL, "follow must be true or false");
		out->follow = json_object_get_boolean(v);
	}
	return 0;
}
