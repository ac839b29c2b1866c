/*
 * protocol.h - what paddockd (core/control.c) and paddockctl (ctl/) must
 * agree on: the control protocol's version and its command names. The
 * request and answer shapes are described in control.c and paddockd(8).
 * Header only, so the client links nothing of the daemon.
 */
#ifndef PADDOCK_PROTOCOL_H
#define PADDOCK_PROTOCOL_H

/* "v" of every request and answer; the daemon refuses other versions. */
#define PROTOCOL_VERSION 1

/* The "cmd" of a request. */
#define PROTO_CMD_VERSION "version"
#define PROTO_CMD_LIST "list"
#define PROTO_CMD_STATUS "status"
#define PROTO_CMD_START "start"
#define PROTO_CMD_STOP "stop"
#define PROTO_CMD_RESTART "restart"
#define PROTO_CMD_KILL "kill"
#define PROTO_CMD_FREEZE "freeze"
#define PROTO_CMD_THAW "thaw"
#define PROTO_CMD_LOGS "logs"
#define PROTO_CMD_IMAGE_IN_USE "image-in-use"
#define PROTO_CMD_DAEMON_REEXEC "daemon-reexec"
#define PROTO_CMD_RELOAD "reload"
#define PROTO_CMD_EVENTS "events"
#define PROTO_CMD_SET "set"
#define PROTO_CMD_RUN "run"
#define PROTO_CMD_NETWORK_LS "network-ls"
#define PROTO_CMD_NETWORK_INSPECT "network-inspect"
#define PROTO_CMD_CAT "cat"
#define PROTO_CMD_EXEC "exec"
#define PROTO_CMD_FLEET_APPLY "fleet-apply"
#define PROTO_CMD_FLEET_RM "fleet-rm"
#define PROTO_CMD_FLEET_STATUS "fleet-status"
#define PROTO_CMD_FLEET_NODES "fleet-nodes"

#endif
