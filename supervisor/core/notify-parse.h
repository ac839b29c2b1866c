/*
 * notify-parse.h - what a service's sd_notify datagram says: the parser
 * (untrusted input, pure: no syscalls) and the message it fills.
 */
#ifndef PADDOCK_NOTIFY_PARSE_H
#define PADDOCK_NOTIFY_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define NOTIFY_MSG_MAX 4096 /* systemd's limit too (PIPE_BUF); longer datagrams are refused */
#define NOTIFY_STATUS_MAX 256 /* STATUS= text kept, in bytes; longer text is cut */
#define NOTIFY_DIR_INSIDE "/dev/paddock" /* where a service with its own root sees the dir */
#define NOTIFY_SOCKET_NAME "notify"

/* One parsed datagram. Fields are set only when their key was present. */
struct notify_msg {
	bool ready; /* READY=1 */
	bool stopping; /* STOPPING=1 */
	bool reloading; /* RELOADING=1 (accepted, no effect) */
	bool watchdog; /* WATCHDOG=1 */
	bool watchdog_trigger; /* WATCHDOG=trigger */
	bool barrier; /* BARRIER=1: the sender waits for its fd to be closed */
	bool have_status;
	char status[NOTIFY_STATUS_MAX]; /* NUL-terminated; control characters made spaces */
	bool have_mainpid;
	pid_t mainpid; /* in the daemon's pid namespace (systemd's meaning) */
	bool have_extend;
	uint64_t extend_usec; /* EXTEND_TIMEOUT_USEC= */
	bool have_watchdog_usec;
	uint64_t watchdog_usec; /* WATCHDOG_USEC=: a new watchdog interval */
	unsigned ignored; /* well-formed lines with keys we do not act on */
};

/*
 * Parse one datagram of len bytes (not NUL-terminated). All or nothing:
 * 0 with *m filled, or -EBADMSG with err saying what is wrong (a NUL
 * byte, a line without '=', a bad value of a known key). Pure.
 */
int notify_parse(const char *buf, size_t len, struct notify_msg *m, struct error *err);

#endif
