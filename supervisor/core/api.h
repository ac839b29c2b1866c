/*
 * api.h - the HTTP API (issue 20): the control protocol's commands as
 * JSON over HTTP on the daemon config's api.listen (a Unix socket path,
 * or HOST:PORT with TLS through libevent's OpenSSL bufferevents), for
 * bearer tokens from api.tokens. Off unless api.listen is set.
 *
 * Routes (every body JSON; a success body is the control protocol's
 * "result", an error body {"error": MESSAGE, "code": CODE}):
 *   GET    /v1/services[?names=a,b]       list          read
 *   GET    /v1/services/NAME              status (one)  read
 *   GET    /v1/services/NAME/history      history.h     read
 *   GET    /v1/services/NAME/logs[?lines=N&follow=1]     read (follow: SSE)
 *   POST   /v1/services/NAME/{start,stop,restart,kill,freeze,thaw}   operate
 *   PATCH  /v1/services/NAME/limits       set           operate
 *   POST   /v1/reload                     reload        operate
 *   GET    /v1/images                     image-in-use  read
 *   GET    /v1/events[?service=&since_ms=&follow=1]     read (follow: SSE)
 *   GET    /v1/openapi.json               the OpenAPI 3 document, no token
 *   anything else not under /v1/          dashboard.h
 * Status codes: 200; 400 (EINVAL, EPROTO); 401 no or unknown token;
 * 403 read token on an operate route (or EPERM); 404 (ENOENT); 405;
 * 409 (EBUSY); 413 body too large; 422 (ECONFIG, with "errors");
 * 503 too many clients; 500 otherwise.
 * Two come from libevent, not from us, as HTML pages without the JSON
 * error body: 413 for a body past api.max_body or headers past 16 KiB,
 * and 501 for a method evhttp does not know (TRACE, CONNECT...).
 * Tokens: "Authorization: Bearer TOKEN", or the dashboard's cookie
 * "paddock_token" (a cookie-authenticated request other than GET must
 * carry "X-Paddock-CSRF: 1").
 */
#ifndef PADDOCK_API_H
#define PADDOCK_API_H

#include "api-parse.h" /* enum api_role */

struct api;
struct control;
struct dashboard;
struct history;
struct manager;

/* Listen as d->cfg->api says. 0 with *out = NULL when the API is off; -errno. */
int api_open(struct manager *d, struct control *ctl, struct history *h, struct dashboard *db,
	     struct api **out);
struct api *api_free(struct api *api);
/*
 * paddockd -n: what api_open would read before listening (the tokens file,
 * and for a HOST:PORT listener the TLS libraries, certificate and key),
 * each failure logged with its reason. 0 when the API is off or all is well.
 */
int api_check(struct manager *d);

/* The role a token grants (the dashboard's login form checks one). */
enum api_role api_token_role(const struct api *api, const char *token);

#endif
