/*
 * control.h - the control socket: newline-delimited JSON requests and
 * responses over a Unix stream socket, authorised by SO_PEERCRED.
 * Protocol version 1 is described in paddockd(8).
 */
#ifndef PADDOCK_CONTROL_H
#define PADDOCK_CONTROL_H

#include "control-parse.h"
#include "daemon.h"

#define CONTROL_MAX_OUTPUT (4 * 1024 * 1024) /* unread bytes before a client is dropped */
#define CONTROL_MAX_CLIENTS 512

struct control;

/* Listen on <runtime_dir>/control.sock, or the socket systemd passed. */
int control_open(struct daemon *d, struct control **out);
struct control *control_free(struct control *c);
/* A service settled: answer requests that waited for it. */
void control_service_settled(struct control *c);

#endif
