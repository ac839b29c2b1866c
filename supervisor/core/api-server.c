/*
 * api.c - the HTTP API (api.h). Stub until issue 20 lands.
 */
#include <stddef.h>

#include "api.h"

int api_open(struct manager *d, struct control *ctl, struct history *h, struct dashboard *db,
	     struct api **out)
{
	(void)d, (void)ctl, (void)h, (void)db;
	*out = NULL;
	return 0;
}

struct api *api_free(struct api *api)
{
	(void)api;
	return NULL;
}

enum api_role api_token_role(const struct api *api, const char *token)
{
	(void)api, (void)token;
	return API_ROLE_NONE;
}
