/*
 * notify.h - systemd's sd_notify protocol for services: one datagram
 * socket the daemon owns, the parser of what arrives on it, and the
 * lookup of the service a sender belongs to.
 *
 * Design (see notify.c for the reasons): a single SOCK_DGRAM unix socket
 * <runtime_dir>/notify/notify with SO_PASSCRED. A sender is identified by
 * the pid the kernel attaches (SCM_CREDENTIALS, already translated into
 * our pid namespace) and that pid's cgroup, never by anything the message
 * says. Services with their own root see the socket's directory bound
 * read-only at /dev/paddock (NOTIFY_SOCKET=/dev/paddock/notify); services
 * on the host filesystem use the host path.
 */
#ifndef PADDOCK_NOTIFY_H
#define PADDOCK_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
 * 0 with *m filled, or -EBADMSG with *why saying what is wrong (a NUL
 * byte, a line without '=', a bad value of a known key). Pure.
 */
int notify_parse(const char *buf, size_t len, struct notify_msg *m, const char **why);

struct daemon;
struct notify;

/* Create the socket under the runtime dir and watch it on the loop. 0 or -errno. */
int notify_open(struct daemon *d, struct notify **out);
struct notify *notify_free(struct notify *n);
/* Host directory holding the socket (bound into service roots). */
const char *notify_dir(const struct notify *n);
/* Host path of the socket (NOTIFY_SOCKET for services on the host filesystem). */
const char *notify_socket_path(const struct notify *n);

struct notify_counters {
	uint64_t received; /* datagrams read */
	uint64_t malformed; /* refused by notify_parse, too long, fds without BARRIER=1 */
	uint64_t unknown_sender; /* no credentials, or not in any service's cgroup */
	uint64_t refused; /* MAINPID= outside the sender's service cgroup */
};
const struct notify_counters *notify_counters(const struct notify *n);

#endif
