/*
 * fleet.c - this paddockd as a fleet node (fleet.h). Stub until issue 21 lands.
 */
#include <stddef.h>

#include "fleet.h"

int fleet_open(struct manager *d, struct fleet **out)
{
	(void)d;
	*out = NULL;
	return 0;
}

struct fleet *fleet_free(struct fleet *f)
{
	(void)f;
	return NULL;
}
