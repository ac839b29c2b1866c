/*
 * remote.h - paddockctl --url: the control protocol's requests carried
 * over a paddockd's HTTP API (core/api.h) with libcurl. Built only into
 * paddockctl-remote, so that a local paddockctl never loads libcurl.
 */
#ifndef PADDOCK_REMOTE_H
#define PADDOCK_REMOTE_H

#include <stdio.h>

#include "error.h"

struct json_object;

struct remote_opts {
	const char *url; /* http://HOST:PORT, https://HOST:PORT, unix:/PATH */
	const char *token_file; /* NULL: no token (only /v1/openapi.json answers) */
	const char *cacert; /* NULL: the system's CAs */
};

/* Check the URL, read the token. 0, or -errno with err naming the file or URL and why. */
int remote_open(const struct remote_opts *o, struct error *err);
void remote_close(void);

/*
 * Send a control request ({"cmd":..., "names":[...], ...}) as its route;
 * the answer in the control protocol's shape ({"ok":..., "result":...}).
 * With "follow" and a non-NULL stream, *stream then yields the followed
 * objects as JSON lines, as the Unix socket does. NULL with err when the
 * server cannot be reached or does not answer as the API does.
 */
struct json_object *remote_call(struct json_object *req, FILE **stream, struct error *err);

#endif
