/*
 * dashboard.h - the web dashboard (issue 20), served by api.c for every
 * path not under /v1/: the service list rendered on the server (works
 * without JavaScript), a page per service with live charts (history.h),
 * logs and events, actions for operate tokens. Self-contained: no CDN.
 */
#ifndef PADDOCK_DASHBOARD_H
#define PADDOCK_DASHBOARD_H

#include <stdbool.h>

#include "api.h"

struct api;
struct control;
struct dashboard;
struct evhttp_request;
struct history;
struct manager;
struct rebalancer;

struct dashboard *dashboard_new(struct manager *d, struct control *ctl, struct history *h,
				struct rebalancer *rb);
struct dashboard *dashboard_free(struct dashboard *db);
/*
 * Answer req for path (decoded, not under /v1/) from a requester with
 * role (API_ROLE_NONE: not logged in; the login form is the dashboard's,
 * and checks tokens with api_token_role). false: not the dashboard's
 * path, the caller answers 404.
 */
bool dashboard_serve(struct dashboard *db, struct api *api, struct evhttp_request *req,
		     const char *path, enum api_role role);

#endif
