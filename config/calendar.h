/*
 * calendar.h - schedule expressions (cron's five fields and systemd-style
 * calendar events) parsed into one form, and the next wall-clock time that
 * matches it in a time zone. Pure: no I/O beyond checking that a zone name
 * exists under /usr/share/zoneinfo.
 */
#ifndef PADDOCK_CALENDAR_H
#define PADDOCK_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CALENDAR_TZ_MAX 64

struct calendar {
	uint64_t seconds; /* bit n: second n (0..59) */
	uint64_t minutes; /* bit n: minute n (0..59) */
	uint32_t hours; /* bit n: hour n (0..23) */
	uint32_t mdays; /* bit n: day of month n (1..31) */
	uint16_t months; /* bit n: month n (1..12) */
	uint8_t wdays; /* bit n: weekday n (0 = Sunday .. 6) */
	/*
	 * cron's rule: when both day-of-month and day-of-week are restricted,
	 * a day matches if either matches. Calendar events need both.
	 */
	bool day_or;
	char tz[CALENDAR_TZ_MAX]; /* zone named in the expression, "" = none */
};

/*
 * Parse expr into *cal. 0, or -EINVAL with a message in err ("minute
 * field: 61 is out of range 0..59"). An expression that can never match
 * (February 30th) is refused here too.
 */
int calendar_parse(const char *expr, struct calendar *cal, char *err, size_t errlen);

/* True when name is a zone known to the system (/usr/share/zoneinfo/name). */
bool calendar_zone_ok(const char *name);

/*
 * The first time strictly after 'after' whose wall-clock time in zone tz
 * (NULL or "" = cal->tz, else the daemon's local time) matches cal.
 * 0 and *out, or -ERANGE when nothing matches within 28 years.
 *
 * A matching wall-clock time that does not exist (skipped by a DST change,
 * 02:30 on the spring-forward night) fires at the first instant after the
 * gap (03:00). A wall-clock time that happens twice (the hour repeated in
 * autumn) fires at its first occurrence only.
 *
 * Uses TZ+tzset for the zone: it sets TZ for the call and restores it
 * before returning, so it must not run concurrently with other time zone
 * users (paddockd is single-threaded).
 */
int calendar_next(const struct calendar *cal, const char *tz, time_t after, time_t *out);

#endif
