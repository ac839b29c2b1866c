/*
 * spec-identity.c - groups: and umask:.
 */
#include "spec-internal.h"

void parse_identity(struct sp *p, const struct ynode *groups, const struct ynode *umask)
{
	if (!y_is_null(groups))
		y_err(p->c, groups, "not supported yet");
	if (!y_is_null(umask))
		y_err(p->c, umask, "not supported yet");
}
