/*
 * units.c - parse and format sizes, durations, CPU amounts, percentages and
 * signals the way operators write them. Pure functions: no allocation, no
 * locale, no strtod (so "1.5G" is exact and never depends on LC_NUMERIC).
 *
 * Numbers are "DIGITS[.DIGITS]": no sign, no exponent, no hex. A leading
 * '-' is reported as "negative values are not allowed". Arithmetic is done
 * on a 64-bit mantissa and a decimal exponent with 128-bit intermediates,
 * so any input either fits or fails with -ERANGE; there is no UB.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, vasprintf */
#endif
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spec.h"
#include "units.h"

/* Fraction digits kept; more are truncated (sub-attobyte precision is moot). */
#define FRAC_DIGITS_MAX 18

struct number {
	uint64_t mant; /* all kept digits as an integer */
	unsigned frac; /* how many of them are after the point */
};

static const uint64_t pow10_tab[] = {
	1ULL,
	10ULL,
	100ULL,
	1000ULL,
	10000ULL,
	100000ULL,
	1000000ULL,
	10000000ULL,
	100000000ULL,
	1000000000ULL,
	10000000000ULL,
	100000000000ULL,
	1000000000000ULL,
	10000000000000ULL,
	100000000000000ULL,
	1000000000000000ULL,
	10000000000000000ULL,
	100000000000000000ULL,
	1000000000000000000ULL,
};

static int set_why(const char **why, const char *reason, int r)
{
	if (why)
		*why = reason;
	return r;
}

/*
 * Parse "DIGITS[.DIGITS]" at *p, advance *p. Returns 0, -EINVAL (no digits)
 * or -ERANGE (integer part does not fit in 64 bits).
 */
static int parse_number(const char **p, struct number *n, const char **why)
{
	const char *s = *p;
	bool digits = false;

	n->mant = 0;
	n->frac = 0;
	if (*s == '-')
		return set_why(why, "negative values are not allowed", -EINVAL);
	while (isdigit((unsigned char)*s)) {
		if (__builtin_mul_overflow(n->mant, 10, &n->mant) ||
		    __builtin_add_overflow(n->mant, (uint64_t)(*s - '0'), &n->mant))
			return set_why(why, "value too large", -ERANGE);
		s++;
		digits = true;
	}
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return set_why(why, "expected a digit after '.'", -EINVAL);
		while (isdigit((unsigned char)*s)) {
			uint64_t m;

			if (n->frac < FRAC_DIGITS_MAX && !__builtin_mul_overflow(n->mant, 10, &m) &&
			    !__builtin_add_overflow(m, (uint64_t)(*s - '0'), &m)) {
				n->mant = m;
				n->frac++;
			}
			s++;
			digits = true;
		}
	}
	if (!digits)
		return set_why(why, "not a number", -EINVAL);
	*p = s;
	return 0;
}

/* n * mul / div, rounded down, into *out; -ERANGE if above limit. */
static int scale(const struct number *n, uint64_t mul, uint64_t div, uint64_t limit, uint64_t *out)
{
	unsigned __int128 v = (unsigned __int128)n->mant * mul;

	v /= (unsigned __int128)div * pow10_tab[n->frac];
	if (v > limit)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

static bool number_is_zero(const struct number *n)
{
	return n->mant == 0;
}

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int units_parse_size(const char *s, uint64_t mem_total, uint64_t *out, const char **why)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} suffixes[] = {
		{ "", 0 },     { "b", 0 },   { "k", 10 },   { "kb", 10 },  { "ki", 10 },
		{ "kib", 10 }, { "m", 20 },  { "mb", 20 },  { "mi", 20 },  { "mib", 20 },
		{ "g", 30 },   { "gb", 30 }, { "gi", 30 },  { "gib", 30 }, { "t", 40 },
		{ "tb", 40 },  { "ti", 40 }, { "tib", 40 },
	};
	struct number n;
	const char *p = s;
	int r;

	if (!s || !*s)
		return set_why(why, "empty value", -EINVAL);
	if (strcasecmp(s, "max") == 0 || strcasecmp(s, "infinity") == 0) {
		*out = SPEC_SIZE_MAX;
		return 0;
	}
	r = parse_number(&p, &n, why);
	if (r < 0)
		return r;
	p = skip_space(p);
	if (*p == '%') {
		if (p[1] != '\0')
			return set_why(why, "unexpected characters after '%'", -EINVAL);
		if (mem_total == 0)
			return set_why(why, "percentages need the host memory size", -EINVAL);
		if ((unsigned __int128)n.mant > (unsigned __int128)100 * pow10_tab[n.frac])
			return set_why(why, "percentage above 100%", -ERANGE);
		return scale(&n, mem_total, 100, SPEC_SIZE_MAX - 1, out) < 0
			   ? set_why(why, "value too large", -ERANGE)
			   : 0;
	}
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcasecmp(p, suffixes[i].suffix) != 0)
			continue;
		if (suffixes[i].shift == 0 && n.frac > 0 && !number_is_zero(&n) &&
		    n.mant % pow10_tab[n.frac] != 0)
			return set_why(why, "a fraction of a byte; use a unit suffix (K, M, G, T)",
				       -EINVAL);
		if (scale(&n, 1ULL << suffixes[i].shift, 1, SPEC_SIZE_MAX - 1, out) < 0)
			return set_why(why, "value too large", -ERANGE);
		return 0;
	}
	return set_why(why, "unknown unit (use K, M, G, T, a percentage, or max)", -EINVAL);
}

int units_parse_duration(const char *s, uint64_t *out_ms, const char **why)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 },	  { "s", 1000 },    { "m", 60000 },
		{ "min", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	};
	const char *p = s;
	uint64_t total = 0;
	bool bare_ok = true;

	if (!s || !*s)
		return set_why(why, "empty value", -EINVAL);
	/* One or more NUMBER UNIT groups ("1m30s"); a lone number is seconds. */
	while (*p) {
		struct number n;
		const char *u;
		size_t ulen, i;
		uint64_t ms = 0, v;
		int r;

		r = parse_number(&p, &n, why);
		if (r < 0)
			return r;
		p = skip_space(p);
		u = p;
		while (isalpha((unsigned char)*p))
			p++;
		ulen = (size_t)(p - u);
		if (ulen == 0) {
			if (*p != '\0' || !bare_ok)
				return set_why(why, "expected a unit (ms, s, m, h, d)", -EINVAL);
			ms = 1000;
		}
		for (i = 0; ulen > 0 && i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].unit) == ulen &&
			    strncasecmp(u, units[i].unit, ulen) == 0) {
				ms = units[i].ms;
				break;
			}
		}
		if (ms == 0)
			return set_why(why, "unknown unit (use ms, s, m, h or d)", -EINVAL);
		if (scale(&n, ms, 1, UINT64_MAX, &v) < 0 ||
		    __builtin_add_overflow(total, v, &total))
			return set_why(why, "duration too long", -ERANGE);
		bare_ok = false;
		p = skip_space(p);
	}
	*out_ms = total;
	return 0;
}

int units_parse_cpus(const char *s, uint32_t *out_mcpu, const char **why)
{
	struct number n;
	const char *p = s;
	uint64_t v;
	int r;

	if (!s || !*s)
		return set_why(why, "empty value", -EINVAL);
	if (strcasecmp(s, "max") == 0) {
		*out_mcpu = 0;
		return 0;
	}
	r = parse_number(&p, &n, why);
	if (r < 0)
		return r;
	if (strcmp(p, "m") == 0) {
		if (n.frac > 0 && n.mant % pow10_tab[n.frac] != 0)
			return set_why(why, "millicores must be a whole number", -EINVAL);
		r = scale(&n, 1, 1, UINT32_MAX, &v);
	} else if (*p == '\0') {
		r = scale(&n, 1000, 1, UINT32_MAX, &v);
	} else {
		return set_why(why, "expected CPUs (1.5) or millicores (250m)", -EINVAL);
	}
	if (r < 0)
		return set_why(why, "value too large", -ERANGE);
	if (v == 0)
		return set_why(why, "must be at least 1 millicore (0.001)", -ERANGE);
	*out_mcpu = (uint32_t)v;
	return 0;
}

int units_parse_percent(const char *s, uint32_t *out_permille, const char **why)
{
	struct number n;
	const char *p = s;
	uint64_t v;
	int r;

	if (!s || !*s)
		return set_why(why, "empty value", -EINVAL);
	r = parse_number(&p, &n, why);
	if (r < 0)
		return r;
	p = skip_space(p);
	if (strcmp(p, "%") != 0)
		return set_why(why, "expected a percentage like 20%", -EINVAL);
	if (number_is_zero(&n))
		return set_why(why, "must be above 0%", -ERANGE);
	if (scale(&n, 10, 1, 1000, &v) < 0)
		return set_why(why, "must not exceed 100%", -ERANGE);
	if (v == 0)
		return set_why(why, "below the 0.1% resolution", -ERANGE);
	*out_permille = (uint32_t)v;
	return 0;
}

static const struct {
	int sig;
	const char *name; /* without "SIG" */
} signal_names[] = {
	{ SIGHUP, "HUP" },   { SIGINT, "INT" },	      { SIGQUIT, "QUIT" }, { SIGILL, "ILL" },
	{ SIGTRAP, "TRAP" }, { SIGABRT, "ABRT" },     { SIGBUS, "BUS" },   { SIGFPE, "FPE" },
	{ SIGKILL, "KILL" }, { SIGUSR1, "USR1" },     { SIGSEGV, "SEGV" }, { SIGUSR2, "USR2" },
	{ SIGPIPE, "PIPE" }, { SIGALRM, "ALRM" },     { SIGTERM, "TERM" }, { SIGSTKFLT, "STKFLT" },
	{ SIGCHLD, "CHLD" }, { SIGCONT, "CONT" },     { SIGSTOP, "STOP" }, { SIGTSTP, "TSTP" },
	{ SIGTTIN, "TTIN" }, { SIGTTOU, "TTOU" },     { SIGURG, "URG" },   { SIGXCPU, "XCPU" },
	{ SIGXFSZ, "XFSZ" }, { SIGVTALRM, "VTALRM" }, { SIGPROF, "PROF" }, { SIGWINCH, "WINCH" },
	{ SIGIO, "IO" },     { SIGPWR, "PWR" },	      { SIGSYS, "SYS" },   { SIGIOT, "IOT" },
	{ SIGPOLL, "POLL" }, { SIGCLD, "CLD" },
};

int units_parse_signal(const char *s, int *out, const char **why)
{
	const char *name = s;

	if (!s || !*s)
		return set_why(why, "empty value", -EINVAL);
	if (isdigit((unsigned char)*s)) {
		unsigned long v = 0;

		for (const char *p = s; *p; p++) {
			if (!isdigit((unsigned char)*p))
				return set_why(why, "unknown signal", -EINVAL);
			v = v * 10 + (unsigned long)(*p - '0');
			if (v > 1000)
				return set_why(why, "signal number out of range", -ERANGE);
		}
		if (v < 1 || v > (unsigned long)SIGRTMAX)
			return set_why(why, "signal number out of range", -ERANGE);
		*out = (int)v;
		return 0;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++) {
		if (strcasecmp(name, signal_names[i].name) == 0) {
			*out = signal_names[i].sig;
			return 0;
		}
	}
	return set_why(why, "unknown signal", -EINVAL);
}

const char *units_signal_name(int sig)
{
	static const char *const full[] = {
		[SIGHUP] = "SIGHUP",	   [SIGINT] = "SIGINT",	      [SIGQUIT] = "SIGQUIT",
		[SIGILL] = "SIGILL",	   [SIGTRAP] = "SIGTRAP",     [SIGABRT] = "SIGABRT",
		[SIGBUS] = "SIGBUS",	   [SIGFPE] = "SIGFPE",	      [SIGKILL] = "SIGKILL",
		[SIGUSR1] = "SIGUSR1",	   [SIGSEGV] = "SIGSEGV",     [SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE",	   [SIGALRM] = "SIGALRM",     [SIGTERM] = "SIGTERM",
		[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD",     [SIGCONT] = "SIGCONT",
		[SIGSTOP] = "SIGSTOP",	   [SIGTSTP] = "SIGTSTP",     [SIGTTIN] = "SIGTTIN",
		[SIGTTOU] = "SIGTTOU",	   [SIGURG] = "SIGURG",	      [SIGXCPU] = "SIGXCPU",
		[SIGXFSZ] = "SIGXFSZ",	   [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
		[SIGWINCH] = "SIGWINCH",   [SIGIO] = "SIGIO",	      [SIGPWR] = "SIGPWR",
		[SIGSYS] = "SIGSYS",
	};

	if (sig <= 0 || (size_t)sig >= sizeof(full) / sizeof(full[0]))
		return NULL;
	return full[sig];
}

/* Kernel NR_CPUS is at most 8192. */
#define CPUSET_MAX 8191

static int cpuset_number(const char **p, unsigned *out, const char **why)
{
	unsigned v = 0;

	if (!isdigit((unsigned char)**p))
		return set_why(why, "expected a CPU number", -EINVAL);
	while (isdigit((unsigned char)**p)) {
		v = v * 10 + (unsigned)(**p - '0');
		if (v > CPUSET_MAX)
			return set_why(why, "CPU number too large", -ERANGE);
		(*p)++;
	}
	*out = v;
	return 0;
}

int units_check_cpuset(const char *s, const char **why)
{
	const char *p = s;

	if (!s || !*s)
		return set_why(why, "empty CPU list", -EINVAL);
	for (;;) {
		unsigned lo, hi;
		int r = cpuset_number(&p, &lo, why);

		if (r < 0)
			return r;
		if (*p == '-') {
			p++;
			r = cpuset_number(&p, &hi, why);
			if (r < 0)
				return r;
			if (hi < lo)
				return set_why(why, "range end below its start", -EINVAL);
		}
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return set_why(why, "expected a list like 0-1,3", -EINVAL);
		p++;
	}
}

char *units_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int i;

	if (bytes == SPEC_UNSET) {
		snprintf(buf, len, "unset");
		return buf;
	}
	if (bytes == SPEC_SIZE_MAX) {
		snprintf(buf, len, "max");
		return buf;
	}
	for (i = 3; i >= 0; i--) {
		uint64_t unit = 1ULL << (10 * (i + 1));

		if (bytes < unit)
			continue;
		if (bytes % unit == 0)
			snprintf(buf, len, "%llu%c", (unsigned long long)(bytes / unit), units[i]);
		else
			snprintf(buf, len, "%.1f%c", (double)bytes / (double)unit, units[i]);
		return buf;
	}
	snprintf(buf, len, "%llu", (unsigned long long)bytes);
	return buf;
}

char *units_format_duration(uint64_t ms, char *buf, size_t len)
{
	static const struct {
		uint64_t ms;
		const char *unit;
	} parts[] = { { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" } };
	size_t off = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		uint64_t n = ms / parts[i].ms;
		int w;

		if (n == 0)
			continue;
		ms %= parts[i].ms;
		w = snprintf(buf + off, len - off, "%llu%s", (unsigned long long)n, parts[i].unit);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	return buf;
}
