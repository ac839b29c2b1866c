/*
 * control.h - the control socket: newline-delimited JSON requests and
 * responses over a Unix stream socket, authorised by SO_PEERCRED.
 * Protocol version 1 is described in paddockd(8).
 */
#ifndef PADDOCK_CONTROL_H
#define PADDOCK_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "control-parse.h"

#define CONTROL_MAX_OUTPUT (4 * 1024 * 1024) /* unread bytes before a client is dropped */
#define CONTROL_MAX_CLIENTS 512
/* Slots control_attach leaves to the Unix socket's clients (paddockctl as root). */
#define CONTROL_ATTACH_RESERVE 64

struct control;

/* Listen on <runtime_dir>/control.sock, or the socket systemd passed. */
struct manager;
struct persist;
struct rebalancer;

int control_open(struct manager *d, struct persist *persist, struct rebalancer *rb,
		 struct control **out);
struct control *control_free(struct control *c);
/* A service settled: answer requests that waited for it. */

/*
 * The HTTP API's way in (api.c): a client on bev speaking the same JSON
 * lines as the socket's. bev is one end of a bufferevent pair made with
 * BEV_OPT_DEFER_CALLBACKS (so an answer never runs the other end's
 * callbacks inside a handler); the control owns it from here on and frees
 * it when the client goes: on EOF/error or when it closes after a refusal.
 * CONTROL_CLIENT_READONLY: commands that change something are answered
 * with code "EPERM". who names the client in events (set's "via").
 * 0, or -EMFILE when CONTROL_MAX_CLIENTS - CONTROL_ATTACH_RESERVE clients
 * are connected (bev not taken).
 */
#define CONTROL_CLIENT_READONLY 0x1
struct bufferevent;
int control_attach(struct control *ctl, struct bufferevent *bev, unsigned flags, const char *who);
/* Whether cmd (PROTO_CMD_*) changes nothing. */
bool control_cmd_readonly(const char *cmd);
/* One service as list (full = false) or status (full = true) shows it; the caller puts it. */
struct service;
struct json_object *control_service_json(struct control *ctl, struct service *svc, bool full);

/* schedule: list and status show the timers' last and next runs (NULL = none). */
struct timers;
void control_set_timers(struct control *c, struct timers *ts);

/*
 * Fleet commands (PROTO_CMD_FLEET_*) go to the fleet module (set by
 * paddockd's wiring; core includes no fleet header): fn gets the request
 * and a ticket, and answers later through control_fleet_answer, never from
 * inside fn. The client's next requests wait for that answer. Without fn
 * they are answered "ENOTSUP": this daemon has no fleet: configured.
 */
typedef void (*control_fleet_fn)(void *arg, const char *cmd, struct json_object *req,
				 uint64_t ticket);
void control_set_fleet(struct control *c, control_fleet_fn fn, void *arg);
/* result (taken) when code is NULL, else an error code and message. A gone client is skipped. */
void control_fleet_answer(struct control *c, uint64_t ticket, struct json_object *result,
			  const char *code, const char *msg);

#endif
