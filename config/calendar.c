/*
 * calendar.c - cron expressions and systemd-style calendar events, and the
 * next matching wall-clock time.
 *
 * Both syntaxes fill the same bitsets. Which one an expression uses: "@..."
 * is a cron alias; five space-separated fields without ':' are cron; the
 * rest is a calendar event ("daily", "Mon..Fri *-*-* 09:00").
 *
 * next() walks days forward (civil-date arithmetic, no time zone), and for
 * a matching day tries its matching times in order, converting each local
 * time to an instant in the zone with mktime under TZ.
 */
#include "calendar.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Weekdays and dates repeat every 400 years (28 only until a century skips its leap day). */
#define SEARCH_DAYS (400 * 366)

static const char *const month_names[] = { "january",  "february", "march",  "april",	  "may",
					   "june",     "july",	   "august", "september", "october",
					   "november", "december", NULL };
static const char *const wday_names[] = { "sunday",   "monday", "tuesday",  "wednesday",
					  "thursday", "friday", "saturday", NULL };

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A field's rules: its range, its names (value = index + name_base), its range operator. */
struct field {
	const char *what;
	int lo, hi;
	const char *const *names;
	int name_base;
	const char *range_op; /* "-" in cron, ".." in calendar events */
};

/* "mon", "Monday": the full name or its first three letters, any case. */
static int name_value(const struct field *f, const char *s, size_t n)
{
	if (!f->names || n < 3)
		return -1;
	for (int i = 0; f->names[i]; i++) {
		size_t full = strlen(f->names[i]);

		if ((n == 3 || n == full) && strncasecmp(s, f->names[i], n) == 0)
			return i + f->name_base;
	}
	return -1;
}

/* One value at *s (a number or a name); advances *s. */
static int value(const struct field *f, const char **s, int *out, char *err, size_t errlen)
{
	const char *p = *s;
	size_t n = 0;

	if (isdigit((unsigned char)*p)) {
		long v = 0;

		while (isdigit((unsigned char)p[n]) && v < 100000)
			v = v * 10 + (p[n++] - '0');
		if (v < f->lo || v > f->hi)
			return fail(err, errlen, "%s: %.*s is out of range %d..%d", f->what, (int)n,
				    p, f->lo, f->hi);
		*out = (int)v;
	} else {
		while (isalpha((unsigned char)p[n]))
			n++;
		*out = name_value(f, p, n);
		if (*out < 0) {
			if (n == 0)
				return fail(err, errlen, "%s: expected a number%s at '%s'", f->what,
					    f->names ? " or a name" : "", p);
			return fail(err, errlen, "%s: unknown name '%.*s'", f->what, (int)n, p);
		}
	}
	*s = p + n;
	return 0;
}

/*
 * One field: items separated by ',', each '*', a value, or a range, with
 * an optional '/step'. Sets bits; *all says the field starts with '*'.
 */
static int field_parse(const struct field *f, const char *s, uint64_t *bits, bool *all, char *err,
		       size_t errlen)
{
	size_t oplen = strlen(f->range_op);

	*bits = 0;
	if (all) /* as Vixie cron: any field starting with a star is unrestricted */
		*all = s[0] == '*';
	if (!*s)
		return fail(err, errlen, "%s: empty", f->what);
	for (;;) {
		int a, b, step = 1, r;
		bool ranged = false;

		if (*s == '*') {
			a = f->lo;
			b = f->hi;
			ranged = true;
			s++;
		} else {
			if ((r = value(f, &s, &a, err, errlen)) < 0)
				return r;
			b = a;
			if (strncmp(s, f->range_op, oplen) == 0) {
				s += oplen;
				if ((r = value(f, &s, &b, err, errlen)) < 0)
					return r;
				if (b < a)
					return fail(err, errlen, "%s: range %d%s%d runs backwards",
						    f->what, a, f->range_op, b);
				ranged = true;
			}
		}
		if (*s == '/') {
			const char *p = ++s;
			long v = 0;

			while (isdigit((unsigned char)*s) && v < 100000)
				v = v * 10 + (*s++ - '0');
			if (s == p || v < 1 || v > f->hi - f->lo + 1)
				return fail(err, errlen, "%s: step must be 1..%d", f->what,
					    f->hi - f->lo + 1);
			step = (int)v;
			if (!ranged)
				b = f->hi; /* "5/15": from 5 to the end */
		}
		for (int v = a; v <= b; v += step)
			*bits |= UINT64_C(1) << v;
		if (*s == '\0')
			return 0;
		if (*s != ',')
			return fail(err, errlen, "%s: unexpected '%c' in '%s'", f->what, *s, s);
		s++;
	}
}

/* Split s at whitespace into at most max tokens (copied into buf). */
static size_t split(const char *s, char *buf, size_t buflen, char **tok, size_t max)
{
	size_t n = 0;

	snprintf(buf, buflen, "%s", s);
	for (char *p = buf; *p;) {
		while (isspace((unsigned char)*p))
			*p++ = '\0';
		if (!*p)
			break;
		if (n == max)
			return max + 1;
		tok[n++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
	}
	return n;
}

static const struct {
	const char *name, *cron;
} cron_aliases[] = {
	{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },	  { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

static int cron_parse(const char *expr, struct calendar *cal, char *err, size_t errlen)
{
	static const struct field minute = { "minute field", 0, 59, NULL, 0, "-" };
	static const struct field hour = { "hour field", 0, 23, NULL, 0, "-" };
	static const struct field mday = { "day-of-month field", 1, 31, NULL, 0, "-" };
	static const struct field month = { "month field", 1, 12, month_names, 1, "-" };
	static const struct field wday = { "day-of-week field", 0, 7, wday_names, 0, "-" };
	char buf[256], *tok[6];
	uint64_t b;
	bool mday_all, wday_all;
	int r;

	if (expr[0] == '@') {
		for (size_t i = 0; i < sizeof(cron_aliases) / sizeof(cron_aliases[0]); i++)
			if (strcmp(expr, cron_aliases[i].name) == 0)
				return cron_parse(cron_aliases[i].cron, cal, err, errlen);
		return fail(err, errlen,
			    "unknown alias '%s' (@yearly, @annually, @monthly, @weekly, @daily, "
			    "@midnight or @hourly)",
			    expr);
	}
	if (split(expr, buf, sizeof(buf), tok, 5) != 5)
		return fail(err, errlen,
			    "a cron expression has five fields: minute hour "
			    "day-of-month month day-of-week");
	cal->seconds = 1;
	if ((r = field_parse(&minute, tok[0], &cal->minutes, NULL, err, errlen)) < 0)
		return r;
	if ((r = field_parse(&hour, tok[1], &b, NULL, err, errlen)) < 0)
		return r;
	cal->hours = (uint32_t)b;
	if ((r = field_parse(&mday, tok[2], &b, &mday_all, err, errlen)) < 0)
		return r;
	cal->mdays = (uint32_t)b;
	if ((r = field_parse(&month, tok[3], &b, NULL, err, errlen)) < 0)
		return r;
	cal->months = (uint16_t)b;
	if ((r = field_parse(&wday, tok[4], &b, &wday_all, err, errlen)) < 0)
		return r;
	if (b & (1u << 7))
		b = (b | 1) & 0x7f; /* 7 is Sunday too */
	cal->wdays = (uint8_t)b;
	cal->day_or = !mday_all && !wday_all;
	return 0;
}

/* "2026-*-01", "*-*-*", "12-25" (no year): months and days; the year must be '*'. */
static int date_parse(const char *s, struct calendar *cal, char *err, size_t errlen)
{
	static const struct field month = { "month", 1, 12, NULL, 0, ".." };
	static const struct field mday = { "day", 1, 31, NULL, 0, ".." };
	char buf[128], *part[3];
	size_t n = 0;
	uint64_t b;
	int r;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *p = buf, *q; p && n < 3; p = q) {
		q = strchr(p, '-');
		if (q)
			*q++ = '\0';
		part[n++] = p;
		if (!q)
			break;
		if (n == 3)
			return fail(err, errlen, "date '%s': expected YEAR-MONTH-DAY", s);
	}
	if (n < 2)
		return fail(err, errlen, "date '%s': expected YEAR-MONTH-DAY or MONTH-DAY", s);
	if (n == 3 && strcmp(part[0], "*") != 0)
		return fail(err, errlen, "date '%s': only '*' is supported as the year", s);
	if ((r = field_parse(&month, part[n - 2], &b, NULL, err, errlen)) < 0)
		return r;
	cal->months = (uint16_t)b;
	if ((r = field_parse(&mday, part[n - 1], &b, NULL, err, errlen)) < 0)
		return r;
	cal->mdays = (uint32_t)b;
	return 0;
}

/* "03:00", "*:0/15", "09:00:30": hours, minutes, optional seconds (default 0). */
static int time_parse(const char *s, struct calendar *cal, char *err, size_t errlen)
{
	static const struct field hour = { "hour", 0, 23, NULL, 0, ".." };
	static const struct field minute = { "minute", 0, 59, NULL, 0, ".." };
	static const struct field second = { "second", 0, 59, NULL, 0, ".." };
	char buf[128], *part[3];
	size_t n = 0;
	uint64_t b;
	int r;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *p = buf, *q; p; p = q) {
		q = strchr(p, ':');
		if (q)
			*q++ = '\0';
		if (n == 3)
			return fail(err, errlen, "time '%s': expected HOUR:MINUTE[:SECOND]", s);
		part[n++] = p;
	}
	if (n < 2)
		return fail(err, errlen, "time '%s': expected HOUR:MINUTE[:SECOND]", s);
	if ((r = field_parse(&hour, part[0], &b, NULL, err, errlen)) < 0)
		return r;
	cal->hours = (uint32_t)b;
	if ((r = field_parse(&minute, part[1], &cal->minutes, NULL, err, errlen)) < 0)
		return r;
	cal->seconds = 1;
	if (n == 3 && (r = field_parse(&second, part[2], &cal->seconds, NULL, err, errlen)) < 0)
		return r;
	return 0;
}

static const struct {
	const char *name, *event;
} event_aliases[] = {
	{ "minutely", "*-*-* *:*:00" },
	{ "hourly", "*-*-* *:00:00" },
	{ "daily", "*-*-* 00:00:00" },
	{ "weekly", "Mon *-*-* 00:00:00" },
	{ "monthly", "*-*-01 00:00:00" },
	{ "yearly", "*-01-01 00:00:00" },
	{ "annually", "*-01-01 00:00:00" },
	{ "quarterly", "*-01,04,07,10-01 00:00:00" },
	{ "semiannually", "*-01,07-01 00:00:00" },
};

static int event_parse(const char *expr, struct calendar *cal, char *err, size_t errlen)
{
	static const struct field wday = { "weekday", 0, 6, wday_names, 0, ".." };
	char buf[256], *tok[5];
	size_t n = split(expr, buf, sizeof(buf), tok, 4), i = 0;
	uint64_t b;
	int r;

	if (n == 0)
		return fail(err, errlen, "empty expression");
	if (n > 4)
		return fail(err, errlen,
			    "too many parts: expected [WEEKDAYS] [DATE] [TIME] [ZONE]");
	/* A trailing zone ("Europe/Paris", "UTC"): only a weekday, first, starts with a letter too. */
	if (n > 1 && isalpha((unsigned char)tok[n - 1][0])) {
		if (strlen(tok[n - 1]) >= sizeof(cal->tz) || !calendar_zone_ok(tok[n - 1]))
			return fail(err, errlen, "unknown time zone '%s'", tok[n - 1]);
		snprintf(cal->tz, sizeof(cal->tz), "%s", tok[n - 1]);
		n--;
	}
	if (n == 1) {
		for (size_t k = 0; k < sizeof(event_aliases) / sizeof(event_aliases[0]); k++)
			if (strcasecmp(tok[0], event_aliases[k].name) == 0)
				return event_parse(event_aliases[k].event, cal, err, errlen);
	}
	cal->wdays = 0x7f;
	cal->months = 0x1ffe;
	cal->mdays = 0xfffffffe;
	cal->hours = 0xffffff;
	cal->minutes = cal->seconds = 1;
	if (isalpha((unsigned char)tok[0][0])) {
		if ((r = field_parse(&wday, tok[0], &b, NULL, err, errlen)) < 0) {
			if (n == 1)
				return fail(
				    err, errlen,
				    "'%s' is neither a cron expression (five fields), a cron "
				    "alias (@daily) nor a calendar event (minutely, hourly, "
				    "daily, weekly, monthly, yearly, Mon..Fri *-*-* 09:00)",
				    tok[0]);
			return r;
		}
		cal->wdays = (uint8_t)b;
		i++;
	}
	if (i < n && strchr(tok[i], '-') && !strchr(tok[i], ':')) {
		if ((r = date_parse(tok[i], cal, err, errlen)) < 0)
			return r;
		i++;
	}
	if (i < n && strchr(tok[i], ':')) {
		if ((r = time_parse(tok[i], cal, err, errlen)) < 0)
			return r;
		i++;
	}
	if (i == 0)
		return fail(err, errlen,
			    "'%s' is neither a cron expression (five fields), a cron alias "
			    "(@daily) nor a calendar event (daily, Mon..Fri *-*-* 09:00)",
			    tok[0]);
	if (i < n)
		return fail(err, errlen,
			    "unexpected '%s': expected [WEEKDAYS] [DATE] [TIME] [ZONE]", tok[i]);
	return 0;
}

bool calendar_zone_ok(const char *name)
{
	char path[256];

	if (!name[0] || name[0] == '/' || strstr(name, ".."))
		return false;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	return access(path, R_OK) == 0;
}

int calendar_parse(const char *expr, struct calendar *cal, char *err, size_t errlen)
{
	char buf[256];
	size_t n;
	int r;
	time_t t;

	memset(cal, 0, sizeof(*cal));
	if (strlen(expr) >= 200)
		return fail(err, errlen, "expression too long");
	n = split(expr, buf, sizeof(buf), (char *[6]){ 0 }, 6);
	if (expr[strspn(expr, " \t")] == '@' || (n == 5 && !strchr(expr, ':')))
		r = cron_parse(expr + strspn(expr, " \t"), cal, err, errlen);
	else
		r = event_parse(expr, cal, err, errlen);
	if (r < 0)
		return r;
	/* In UTC, so that no zone's oddities matter: does any day ever match? */
	if (calendar_next(cal, "UTC", 0, &t) < 0)
		return fail(err, errlen, "'%s' never matches a date", expr);
	return 0;
}

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
static long days_from_civil(long y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, int *m, int *d)
{
	long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool day_matches(const struct calendar *cal, long days)
{
	long y;
	int m, d, wd = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
	bool md, w;

	civil_from_days(days, &y, &m, &d);
	if (!(cal->months & (1u << m)))
		return false;
	md = cal->mdays & (UINT32_C(1) << d);
	w = cal->wdays & (1u << wd);
	return cal->day_or ? md || w : md && w;
}

/* -1, 0, 1 as a's wall-clock fields sort before, equal to, after b's. */
static int tm_cmp(const struct tm *a, const struct tm *b)
{
	int fa[6] = { a->tm_year, a->tm_mon, a->tm_mday, a->tm_hour, a->tm_min, a->tm_sec };
	int fb[6] = { b->tm_year, b->tm_mon, b->tm_mday, b->tm_hour, b->tm_min, b->tm_sec };

	for (int i = 0; i < 6; i++)
		if (fa[i] != fb[i])
			return fa[i] < fb[i] ? -1 : 1;
	return 0;
}

/*
 * The instant of wall-clock time *want in the current TZ: its first
 * occurrence, or when it does not exist (a DST gap) the first instant
 * whose wall-clock time is later.
 */
static time_t instant(const struct tm *want)
{
	time_t best = (time_t)-1, lo = 0, hi = 0;
	bool any = false;

	for (int dst = -1; dst <= 1; dst++) {
		struct tm tm = *want, back;
		time_t t;

		tm.tm_isdst = dst;
		t = mktime(&tm);
		if (t == (time_t)-1)
			continue;
		if (!any || t < lo)
			lo = t;
		if (!any || t > hi)
			hi = t;
		any = true;
		if (localtime_r(&t, &back) && tm_cmp(&back, want) == 0 &&
		    (best == (time_t)-1 || t < best))
			best = t;
	}
	if (best != (time_t)-1 || !any)
		return best;
	/* In a gap: the local clock rises monotonically across it. */
	lo -= 3 * 3600;
	hi += 3 * 3600;
	while (lo < hi) {
		time_t mid = lo + (hi - lo) / 2;
		struct tm back;

		localtime_r(&mid, &back);
		if (tm_cmp(&back, want) >= 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Lowest set bit >= from in bits (below 64), or -1. */
static int next_bit(uint64_t bits, int from, int max)
{
	for (int i = from; i <= max; i++)
		if (bits & (UINT64_C(1) << i))
			return i;
	return -1;
}

/* The first matching time of day 'days' whose wall clock is after *after (or any, if NULL). */
static bool day_next(const struct calendar *cal, long days, const struct tm *after, time_t lower,
		     time_t *out)
{
	long y;
	int m, d;

	civil_from_days(days, &y, &m, &d);
	for (int h = next_bit(cal->hours, 0, 23); h >= 0; h = next_bit(cal->hours, h + 1, 23))
		for (int mi = next_bit(cal->minutes, 0, 59); mi >= 0;
		     mi = next_bit(cal->minutes, mi + 1, 59))
			for (int s = next_bit(cal->seconds, 0, 59); s >= 0;
			     s = next_bit(cal->seconds, s + 1, 59)) {
				struct tm want = { .tm_year = (int)(y - 1900),
						   .tm_mon = m - 1,
						   .tm_mday = d,
						   .tm_hour = h,
						   .tm_min = mi,
						   .tm_sec = s };
				time_t t;

				if (after && tm_cmp(&want, after) <= 0)
					continue;
				t = instant(&want);
				if (t != (time_t)-1 && t > lower) {
					*out = t;
					return true;
				}
			}
	return false;
}

int calendar_next(const struct calendar *cal, const char *tz, time_t after, time_t *out)
{
	const char *zone = tz && tz[0] ? tz : cal->tz[0] ? cal->tz : NULL;
	char *saved = NULL;
	struct tm now;
	long day;
	int r = -ERANGE;

	/* The one place that switches the zone; restored below (see calendar.h). */
	if (zone) {
		const char *old = getenv("TZ");

		if (old && !(saved = strdup(old)))
			return -ENOMEM;
		setenv("TZ", zone, 1);
		tzset();
	}
	if (!localtime_r(&after, &now))
		goto out;
	day = days_from_civil(now.tm_year + 1900L, now.tm_mon + 1, now.tm_mday);
	for (long i = 0; i < SEARCH_DAYS; i++) {
		if (!day_matches(cal, day + i))
			continue;
		if (day_next(cal, day + i, i == 0 ? &now : NULL, after, out)) {
			r = 0;
			break;
		}
	}
out:
	if (zone) {
		if (saved)
			setenv("TZ", saved, 1);
		else
			unsetenv("TZ");
		free(saved);
		tzset();
	}
	return r;
}
