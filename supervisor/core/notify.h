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

#include "notify-parse.h"

struct manager;
struct notify;

/* Create the socket under the runtime dir and watch it on the loop. 0 or -errno. */
int notify_open(struct manager *d, struct notify **out);
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
