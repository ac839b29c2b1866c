/*
 * spec-schedule.c - schedule: timers for one-shot services.
 *
 *   schedule: "*\/5 * * * *"
 *   schedule: {on: "Mon..Fri *-*-* 09:00", timezone: Europe/Paris,
 *              randomized_delay: 30s, persistent: true, overlap: skip}
 *
 * The expression is parsed here (config/calendar.c) so that a bad one is
 * a spec error at load, and the daemon uses the parsed form.
 */
#include <stdlib.h>
#include <string.h>

#include "spec-internal.h"

#define DAY_MS (24 * 3600000ULL)

static const char *const schedule_keys[] = { "on",	   "timezone", "randomized_delay",
					     "persistent", "overlap",  NULL };
static const char *const overlap_names[] = { "skip", "queue", "replace", NULL };

static void parse_expr(struct sp *p, const struct ynode *x, struct spec_schedule *sc)
{
	char err[256];

	if (!y_string(p->c, x, "schedule", false, &sc->expr))
		return;
	sc->line = x->line;
	sc->column = x->column;
	if (calendar_parse(sc->expr, &sc->cal, err, sizeof(err)) < 0)
		y_err(p->c, x, "schedule '%s': %s", sc->expr, err);
}

void parse_schedule(struct sp *p, const struct ynode *v)
{
	struct yctx *c = p->c;
	struct spec_schedule *sc = calloc(1, sizeof(*sc));
	const struct ynode *x;
	int e;

	if (!sc) {
		c->oom = true;
		return;
	}
	p->s->schedule = sc;
	if (v->type == YNODE_SCALAR) {
		parse_expr(p, v, sc);
	} else if (y_want(c, v, YNODE_MAPPING, "schedule")) {
		y_check_keys(c, v, "in 'schedule'", schedule_keys);
		x = y_get(v, "on", NULL);
		if (y_is_null(x))
			y_err(c, v, "'schedule' needs 'on' (a cron expression or calendar event)");
		else
			parse_expr(p, x, sc);
		x = y_get(v, "timezone", NULL);
		if (!y_is_null(x) && y_string(c, x, "schedule.timezone", false, &sc->tz) &&
		    !calendar_zone_ok(sc->tz))
			y_err(c, x,
			      "schedule.timezone: unknown time zone '%s' (a name under "
			      "/usr/share/zoneinfo, e.g. Europe/Paris or UTC)",
			      sc->tz);
		if (sc->tz && sc->cal.tz[0] && strcmp(sc->tz, sc->cal.tz) != 0)
			y_err(c, x, "schedule.timezone '%s' differs from the zone '%s' in 'on'",
			      sc->tz, sc->cal.tz);
		x = y_get(v, "randomized_delay", NULL);
		if (!y_is_null(x))
			y_duration(c, x, "schedule.randomized_delay", 0, DAY_MS,
				   &sc->randomized_delay_ms);
		x = y_get(v, "persistent", NULL);
		if (!y_is_null(x))
			y_bool(c, x, "schedule.persistent", &sc->persistent);
		x = y_get(v, "overlap", NULL);
		if (!y_is_null(x) && y_enum(c, x, "schedule.overlap", overlap_names, &e))
			sc->overlap = (enum spec_overlap)e;
	}
	if (!sc->tz && sc->cal.tz[0])
		sc->tz = y_strdup(c, sc->cal.tz);
	if (p->s->restart.policy == RESTART_ALWAYS)
		y_err(c, v,
		      "a scheduled service runs once per time and ends: it needs "
		      "restart.policy 'never' or 'on-failure', not 'always'");
}
