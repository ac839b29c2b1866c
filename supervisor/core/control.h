/*
 * control.h - the control socket: newline-delimited JSON requests and
 * responses over a Unix stream socket, authorised by SO_PEERCRED.
 * Protocol version 1 is described in paddockd(8).
 */
#ifndef PADDOCK_CONTROL_H
#define PADDOCK_CONTROL_H

#include "control-parse.h"

#define CONTROL_MAX_OUTPUT (4 * 1024 * 1024) /* unread bytes before a client is dropped */
#define CONTROL_MAX_CLIENTS 512

struct control;

/* Listen on <runtime_dir>/control.sock, or the socket systemd passed. */
struct manager;
struct persist;
struct rebalancer;

int control_open(struct manager *d, struct persist *persist, struct rebalancer *rb,
		 struct control **out);
struct control *control_free(struct control *c);
/* A service settled: answer requests that waited for it. */

/* schedule: list and status show the timers' last and next runs (NULL = none). */
struct timers;
void control_set_timers(struct control *c, struct timers *ts);

#endif
