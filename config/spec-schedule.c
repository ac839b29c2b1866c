/*
 * spec-schedule.c - schedule: timers for one-shot services.
 */
#include "spec-internal.h"

void parse_schedule(struct sp *p, const struct ynode *v)
{
	y_err(p->c, v, "not supported yet");
}
