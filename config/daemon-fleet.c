/*
 * daemon-fleet.c - the daemon config's fleet: section. Stub: not parsed yet.
 */
#include "spec-internal.h"

void parse_daemon_fleet(struct yctx *c, const struct ynode *v, struct daemon_config *cfg)
{
	(void)cfg;
	if (!y_is_null(v))
		y_err(c, v, "'fleet' is not supported yet");
}

void daemon_fleet_free(struct daemon_config *cfg)
{
	(void)cfg;
}
