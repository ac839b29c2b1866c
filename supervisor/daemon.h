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

struct daemon {
	struct event_base *base;
	struct daemon_config *cfg;
	struct config_host host;
	struct spec_set *specs; /* owns the service_spec each service points to */
	struct cgroup_host *cgroups;
	struct service **services; /* sorted by name */
	size_t nservices;
	struct control *control;
	struct monitor *monitor;
	struct image_store *images; /* <state_dir>/layers and images */
	bool journald; /* journald socket present: copy service output there */
	bool shutting_down; /* SIGTERM seen: stop everything, then exit */
	char *logs_dir; /* <state_dir>/logs */
	struct rlimit nofile; /* RLIMIT_NOFILE as we found it, restored for services */
	struct event *ev_sweep; /* removes settled transient services, outside their callbacks */
};

struct service *daemon_find_service(struct daemon *d, const char *name);
/* Add a transient service that owns set (one service); -EEXIST if the name is taken. */
int daemon_add_service(struct daemon *d, struct spec_set *set, bool rm, struct service **out);
/* Called by a service when it reaches stopped/failed during shutdown. */
void daemon_service_settled(struct daemon *d);

#endif
