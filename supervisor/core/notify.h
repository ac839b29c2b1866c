/*
 * notify.h - systemd's sd_notify protocol for services: one datagram
 * socket the daemon owns (the parser of what arrives on it is
 * notify-parse.h). Which service a sender belongs to and what its
 * message does are the receiver's, through notify_ops given at open.
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

#include "notify-parse.h"

struct event_base;
struct eventlog;
struct notify;
struct service;

/*
 * Who sent a datagram and what becomes of it: the receiver knows the
 * services, the socket does not. Called from the socket's read event.
 */
struct notify_ops {
	/* The service whose cgroup holds pid, or NULL. */
	struct service *(*owner)(void *arg, pid_t pid);
	/* A well-formed message from sender, a process of svc (MAINPID= checked). */
	void (*deliver)(void *arg, struct service *svc, const struct notify_msg *m, pid_t sender);
	/* A message from svc was refused as malformed. */
	void (*refused)(void *arg, struct service *svc);
	/* svc's name, for logs and events. */
	const char *(*name)(void *arg, const struct service *svc);
};

/* <runtime_dir>/notify/notify, read on base; events gets the refusals worth an event. */
int notify_open(struct event_base *base, const char *runtime_dir, struct eventlog *events,
		const struct notify_ops *ops, void *arg, struct notify **out);
struct notify *notify_free(struct notify *n);
/*
 * Orderly shutdown with no service left: remove the socket and its
 * directory. Not when services may still run: their roots bind the
 * directory, and the next daemon binds a new socket in that very one.
 */
void notify_remove(struct notify *n);
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
