/*
 * control-parse.c - request envelope of the control protocol; see
 * control-parse.h.
 */
#include <stdio.h>
#include <string.h>

#include "control-parse.h"

int control_parse_request(const char *line, size_t len, struct json_object **req, const char **cmd,
			  const char **code, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *r, *v;
	enum json_tokener_error jerr;

	*req = NULL;
	*cmd = NULL;
	*code = "EPROTO";
	if (len > CONTROL_MAX_REQUEST) {
		*code = "E2BIG";
		snprintf(err, errlen, "request larger than %d bytes", CONTROL_MAX_REQUEST);
		return -1;
	}
	if (!(tok = json_tokener_new_ex(CONTROL_MAX_DEPTH))) {
		*code = "ENOMEM";
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!r || jerr != json_tokener_success || !json_object_is_type(r, json_type_object)) {
		snprintf(err, errlen, "malformed request: %s",
			 r ? "not a JSON object" : json_tokener_error_desc(jerr));
		json_object_put(r);
		return -1;
	}
	if (json_object_object_get_ex(r, "v", &v) && json_object_get_int(v) != PROTOCOL_VERSION) {
		snprintf(err, errlen, "unsupported protocol version %d (daemon speaks %d)",
			 json_object_get_int(v), PROTOCOL_VERSION);
		json_object_put(r);
		return -1;
	}
	if (!json_object_object_get_ex(r, "cmd", &v) || !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "request has no \"cmd\"");
		json_object_put(r);
		return -1;
	}
	*req = r;
	*cmd = json_object_get_string(v);
	return 0;
}
