/*
 * log.h - the daemon's own log (OpenBSD daemons' log.h). stderr in the
 * foreground, journald when running detached under systemd. Library
 * modules never log; the daemon layer logs each error once with context.
 */
#ifndef PADDOCK_LOG_H
#define PADDOCK_LOG_H

#include <stdbool.h>

void log_init(bool foreground, int verbose);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
