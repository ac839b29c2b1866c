/*
 * daemon-api.c - the daemon config's api: section. Stub: not parsed yet.
 */
#include "spec-internal.h"

void parse_daemon_api(struct yctx *c, const struct ynode *v, struct daemon_config *cfg)
{
	(void)cfg;
	if (!y_is_null(v))
		y_err(c, v, "'api' is not supported yet");
}

void daemon_api_free(struct daemon_config *cfg)
{
	(void)cfg;
}
