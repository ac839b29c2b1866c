/*
 * dashboard.c - the web dashboard (dashboard.h). Stub until issue 20 lands.
 */
#include <stddef.h>

#include "dashboard.h"

struct dashboard *dashboard_new(struct manager *d, struct control *ctl, struct history *h,
				struct rebalancer *rb)
{
	(void)d, (void)ctl, (void)h, (void)rb;
	return NULL;
}

struct dashboard *dashboard_free(struct dashboard *db)
{
	(void)db;
	return NULL;
}

bool dashboard_serve(struct dashboard *db, struct api *api, struct evhttp_request *req,
		     const char *path, enum api_role role)
{
	(void)db, (void)api, (void)req, (void)path, (void)role;
	return false;
}
