/*
 * daemon.h - the state paddockd's modules share: one event base, the
 * configuration, the cgroup layout and the table of services.
 */
#ifndef PADDOCK_DAEMON_H
#define PADDOCK_DAEMON_H

#include <stdbool.h>
#include <sys/resource.h>

#include "config.h"

struct event_base;
struct event;
struct cgroup_host;
struct service;
struct control;
struct monitor;
struct image_store;
struct fdstore;

struct daemon {
	struct event_base *base;
	struct daemon_config *cfg;
	struct config_host host;
	struct spec_set *specs; /* owns the service_spec each service points to */
	struct spec_set **retired; /* earlier sets services may still point into */
	size_t nretired;
	struct cgroup_host *cgroups;
	struct service **services; /* sorted by name */
	size_t nservices;
	struct control *control;
	struct monitor *monitor;
	struct image_store *images; /* <state_dir>/layers and images */
	struct notify *notify; /* services' sd_notify socket (notify.c); NULL if it failed */
	bool journald; /* journald socket present: copy service output there */
	bool shutting_down; /* SIGTERM seen: stop everything, then exit */
	char *logs_dir; /* <state_dir>/logs */
	struct rlimit nofile; /* RLIMIT_NOFILE as we found it, restored for services */
	struct event *ev_sweep; /* removes settled transient services, outside their callbacks */
	struct event *ev_deps; /* starts waiting dependents, outside service callbacks */

	/* Surviving our own restart (see fdstore.h, state.h). */
	struct fdstore *fdstore; /* NULL when the holder cannot be reached */
	struct event *ev_fdstore; /* the holder's connection: EOF when it died */
	char *fdstore_path;
	char *state_path; /* <state_dir>/state.json */
	char boot_id[40];
	struct event *ev_state; /* writes the state file once per loop turn after changes */
	bool state_failing; /* last write failed: logged once, retried */
	struct event *ev_reexec;
	char *self_exe; /* for daemon-reexec: the binary at this path now */
	char **argv;
	uint64_t instance; /* changes with every start and re-exec: clients see a new daemon */
};

struct service *daemon_find_service(struct daemon *d, const char *name);
/*
 * Re-read services_dir and apply the difference (see service_update_spec).
 * Any error in any file: -EINVAL, errs filled, nothing changed. summary
 * (may be NULL) gets {"added","removed","updated","failed"}.
 */
struct json_object;
int daemon_reload(struct daemon *d, struct config_errors *errs, struct json_object **summary);
/* Add a transient service that owns set (one service); -EEXIST if the name is taken. */
int daemon_add_service(struct daemon *d, struct spec_set *set, bool rm, struct service **out);
/* Called by a service when it reaches stopped/failed during shutdown. */
void daemon_service_settled(struct daemon *d);
/* A service changed state: the state file is rewritten soon. */
void daemon_state_changed(struct daemon *d);
/* Re-execute the daemon binary (upgrade) after the current loop turn; services keep running. */
void daemon_request_reexec(struct daemon *d);
/* Called by a service that reached running: dependents may start. */
void daemon_service_running(struct daemon *d);

#endif
