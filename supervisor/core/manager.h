/*
 * manager.h - the table of services and what is decided across them:
 * adding and removing services, reload, dependency order (waiting
 * services start once their dependencies run) and shutdown order
 * (dependents stop first). The manager gives every service its hooks and
 * reacts to what they report on a later loop turn, never from inside a
 * service's own transition (systemd's unit_notify(), tmux's job callbacks).
 *
 * Modules above the manager (persist, control, monitor, policy, metrics)
 * learn of changes through manager_observe(); the manager includes none of
 * them.
 */
#ifndef PADDOCK_MANAGER_H
#define PADDOCK_MANAGER_H

#include <stdbool.h>
#include <sys/resource.h>

#include "config.h"
#include "service.h"

struct event_base;
struct event;
struct json_object;
struct notify_ops;

/* Called on the loop turn after services changed (state, or settled). */
typedef void (*manager_changed_fn)(void *arg);
/* A service's cgroup became live (watch it) or is about to go; synchronous. */
typedef void (*manager_watch_fn)(void *arg, struct service *svc, bool live);
/* Adjust the limits a start writes (the rebalancer's targets); synchronous. */
typedef void (*manager_limits_fn)(void *arg, const struct service *svc, struct cgroup_limits *l);
typedef bool (*manager_room_fn)(void *arg, const struct service *svc, char *why, size_t len);

#define MANAGER_OBSERVERS_MAX 4

struct manager {
	struct event_base *base;
	struct daemon_config *cfg;
	struct config_host host;
	struct spec_set *specs; /* owns the service_spec each service points to */
	struct spec_set **retired; /* earlier sets services may still point into */
	size_t nretired;
	struct cgroup_host *cgroups;
	struct image_store *images; /* <state_dir>/layers and images */
	struct eventlog *events;
	struct service **services; /* sorted by name */
	size_t nservices;
	struct service_env
	    env; /* what every service is given; fdstore and shutting_down live here */
	char *logs_dir; /* <state_dir>/logs */
	struct rlimit nofile; /* RLIMIT_NOFILE as we found it, restored for services */
	uint64_t instance; /* changes with every start and re-exec: clients see a new daemon */

	/* Reactions, one loop turn after the services' hooks fired. */
	struct event *ev_react;
	bool state_changed, became_settled;
	struct {
		manager_changed_fn fn;
		void *arg;
	} observers[MANAGER_OBSERVERS_MAX];
	size_t nobservers;
	manager_watch_fn watch;
	void *watch_arg;
	manager_limits_fn limits;
	void *limits_arg;
	manager_room_fn room;
	void *room_arg;
};

/*
 * Set up m (zeroed, with base, cfg, host, cgroups, images, events, logs_dir
 * and nofile filled by the caller) and create one service per spec in
 * m->specs. Nothing starts yet.
 */
void manager_init(struct manager *m);
/* Free every service and what the manager owns (not the fields the caller filled). */
void manager_done(struct manager *m);

/* fn(arg) after services changed; at most MANAGER_OBSERVERS_MAX observers. */
void manager_observe(struct manager *m, manager_changed_fn fn, void *arg);
void manager_set_watch(struct manager *m, manager_watch_fn fn, void *arg);
void manager_set_limits(struct manager *m, manager_limits_fn fn, void *arg);
/* Who decides whether batch work may start (parked otherwise); NULL: always. */
void manager_set_room(struct manager *m, manager_room_fn fn, void *arg);
/* Something worth remembering changed outside the services: observers run soon. */
void manager_touch(struct manager *m);
/* Ask every parked service to start again: those with room now do. */
void manager_unpark(struct manager *m);

struct service *manager_find(struct manager *m, const char *name);
/*
 * Add a transient service that owns set (one service); -EEXIST if the name
 * is taken, by a service or as the template of instances.
 */
int manager_add(struct manager *m, struct spec_set *set, bool rm, struct service **out);
/*
 * Re-read services_dir and apply the difference (see service_update_spec).
 * Any error in any file: -EINVAL, errs filled, nothing changed. summary
 * (may be NULL) gets {"added","removed","updated","failed"}.
 */
int manager_reload(struct manager *m, struct config_errors *errs, struct json_object **summary);
/*
 * Start every service not adopted (adopted[i] for services[i]; NULL =
 * none) that manager_not_auto says may start on its own.
 */
void manager_start_all(struct manager *m, const bool *adopted);
/*
 * Why spec does not start with the daemon (nor when new at a reload):
 * "disabled", or "profile debug inactive" when none of its profiles is
 * active (daemon config 'profiles', paddockd --profile); in buf. NULL when
 * it does. An operator's start starts it all the same.
 */
const char *manager_not_auto(const struct manager *m, const struct service_spec *spec, char *buf,
			     size_t len);
/* Stop everything, dependents first; the loop exits once all settled. */
void manager_shutdown(struct manager *m, const char *why);
bool manager_all_settled(const struct manager *m);
/* The service whose main pid is pid, or NULL. O(n). */
struct service *manager_find_pid(struct manager *m, pid_t pid);
/* For notify_open(): senders resolved to services by cgroup, messages handed to them (arg: m). */
extern const struct notify_ops manager_notify_ops;

#endif
