/*
 * spec-health.c - health: a liveness check (see spec.h struct spec_health).
 */
#include "spec-internal.h"

void parse_health(struct sp *p, const struct ynode *v)
{
	y_err(p->c, v, "not supported yet");
}
