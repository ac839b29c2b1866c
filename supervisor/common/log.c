/* log.c - stderr or journald logging for paddockd. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"

static bool use_journal;
static int log_verbose;

void log_init(bool foreground, int verbose)
{
	log_verbose = verbose;
	use_journal = !foreground && getenv("JOURNAL_STREAM") != NULL &&
		      access("/run/systemd/journal/socket", W_OK) == 0;
}

static void vlog(int prio, const char *fmt, va_list ap, const char *suffix)
{
	char msg[2048];

	if (prio == LOG_DEBUG && log_verbose < 1)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (use_journal) {
		if (suffix)
			sd_journal_print(prio, "%s: %s", msg, suffix);
		else
			sd_journal_print(prio, "%s", msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld paddockd: %s%s%s\n", stamp, ts.tv_nsec / 1000000, msg,
		suffix ? ": " : "", suffix ? suffix : "");
}

#define LOGFN(name, prio, with_errno)                                     \
	void name(const char *fmt, ...)                                   \
	{                                                                 \
		int saved = errno;                                        \
		va_list ap;                                               \
		va_start(ap, fmt);                                        \
		vlog(prio, fmt, ap, with_errno ? strerror(saved) : NULL); \
		va_end(ap);                                               \
		errno = saved;                                            \
	}

LOGFN(log_debug, LOG_DEBUG, 0)
LOGFN(log_info, LOG_INFO, 0)
LOGFN(log_warn, LOG_WARNING, 1)
LOGFN(log_warnx, LOG_WARNING, 0)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
