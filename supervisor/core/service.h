/*
 * service.h - one supervised service: its state machine, restart policy,
 * process, cgroup and log capture. All transitions go through one table
 * in service.c (s6-supervise's state x event table). A service knows
 * nothing of the others: it reports through the hooks in its environment,
 * given at creation (the manager's), and never calls back up.
 */
#ifndef PADDOCK_SERVICE_H
#define PADDOCK_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sys/resource.h>

#include "cgroup.h"
#include "config.h"
#include "error.h"
#include "spec.h"

struct placer;

enum service_state {
	SVC_STOPPED = 0,
	SVC_STARTING,
	SVC_RUNNING,
	SVC_STOPPING,
	SVC_BACKOFF,
	SVC_FAILED,
	SVC_WAITING, /* start asked for, a dependency is not running yet */
	SVC_PARKED, /* start asked for, batch work whose floor the budget cannot hold yet */
	SVC_NSTATES
};

enum exit_kind {
	EXIT_NONE = 0,
	EXIT_CODE,
	EXIT_SIGNAL,
	EXIT_OOM,
	EXIT_LAUNCH,
	EXIT_START_LIMIT,
	EXIT_WATCHDOG, /* killed: no WATCHDOG=1 within the interval (or WATCHDOG=trigger) */
	EXIT_READY_TIMEOUT, /* killed: not ready within ready.timeout */
	EXIT_UNKNOWN, /* exited while no paddockd ran, and nothing kept its status */
	EXIT_UNHEALTHY, /* killed: its health check failed `retries` times in a row */
	EXIT_KIND_MAX
};

struct service_exit {
	enum exit_kind kind;
	int code; /* exit code, or signal number */
	char reason[256]; /* human text: "exited 3", "killed by SIGKILL", "oom-kill", ... */
	uint64_t when_ms; /* realtime */
};

struct service;
struct net_lease;
struct json_object;
struct image_info;
struct event_base;
struct eventlog;
struct fdstore;
struct image_store;
struct launch_slots;

/*
 * What a service reports upward. transition is called inside the
 * service's own transition: the receiver notes it and reacts on a later
 * loop turn, never calling into a service from there. watch and
 * launch_limits are plain questions and notices that must not call back
 * into svc either.
 */
struct service_hooks {
	/* State changed, or the service became settled (output closed after the exit). */
	void (*changed)(void *arg, struct service *svc);
	/* Its cgroup is live (a process started or was adopted) or about to go. */
	void (*watch)(void *arg, struct service *svc, bool live);
	/* Adjust the limits a start writes (memory.max grown by on_oom: grow, ...). */
	void (*launch_limits)(void *arg, const struct service *svc, struct cgroup_limits *l);
	/* A dependency by name, or NULL. */
	struct service *(*find)(void *arg, const char *name);
	/* May it start now, or must it park (why says so)? NULL: always. */
	bool (*room)(void *arg, const struct service *svc, char *why, size_t len);
};

/* Everything a service uses of the daemon; one for all services, owned by the manager. */
struct service_env {
	struct event_base *base;
	const struct daemon_config *cfg;
	struct cgroup_host *cgroups;
	struct image_store *images;
	struct eventlog *events;
	struct fdstore *fdstore; /* the fd holder; NULL when it cannot be reached (persist.c) */
	const char *notify_dir; /* host dir of the sd_notify socket, NULL without one */
	const char *notify_socket; /* its path */
	const struct rlimit *nofile; /* restored for services before exec */
	const struct launch_slots
	    *slots; /* fd slots children start through (launch.h); NULL = none */
	struct placer *placer; /* cgroups placed ahead (placer.h); NULL = attach */
	struct netmgr *net; /* bridge networks (network.h) */
	const char *logs_dir;
	bool journald; /* copy service output to journald */
	bool shutting_down; /* no restarts any more */
	const struct service_hooks *hooks;
	void *hooks_arg;
};

/* {"kind", "code", "reason", "time_ms"} or NULL when it never exited. */
struct json_object *service_exit_json(const struct service_exit *e);
/* "exited", "signal", "oom-kill", ... as status and events name it. */
const char *service_exit_kind_name(enum exit_kind kind);

struct service *service_new(const struct service_env *env, const struct service_spec *spec);
/* Destructor; the process must be gone (state stopped or failed). */
struct service *service_free(struct service *svc);

/* Operator requests. Return 0 or -errno (-EALREADY when nothing to do). */
int service_start(struct service *svc);
int service_stop(struct service *svc);
int service_restart(struct service *svc);
int service_kill(struct service *svc, int sig);
int service_freeze(struct service *svc, bool frozen);

const char *service_name(const struct service *svc);
const struct service_spec *service_spec(const struct service *svc);
/* The bridge networks of the current run (network.h), NULL when none. */
const struct net_lease *service_net(const struct service *svc);
enum service_state service_state(const struct service *svc);
const char *service_state_name(enum service_state st);
bool service_settled(const struct service *svc); /* stopped or failed, no process, logs closed */
/* Whether every depends_on service meets its condition (spec_dep). */
bool service_deps_ready(const struct service *svc);
uint64_t service_state_since(const struct service *svc); /* realtime ms */
pid_t service_main_pid(const struct service *svc);
unsigned service_restarts(const struct service *svc);
/* Restarts a reload caused (counted apart from restarts, outside the start limit). */
unsigned service_reloads(const struct service *svc);
/* Exits of this kind judged so far (across paddockd restarts). */
uint64_t service_exits(const struct service *svc, enum exit_kind kind);
/* memory.events of the cgroups the service had before its current one (restarts). */
struct probe_memory_events;
const struct probe_memory_events *service_memory_events_past(const struct service *svc);
const struct service_exit *service_last_exit(const struct service *svc);
struct cgroup *service_cgroup(const struct service *svc);
bool service_frozen(const struct service *svc);
uint64_t service_log_dropped(const struct service *svc);
/*
 * Live limits (`paddockctl set`): applied at once when running, read back
 * by the caller, kept across restarts until reset. On failure nothing is
 * changed and err says why.
 */
int service_set_limits(struct service *svc, const struct cgroup_limits *limits, struct error *err);
/*
 * Before `set` writes anything: every knob that limits would change to a
 * value that does something, and that this host cannot express for the
 * service, makes it -EOPNOTSUPP, err naming each knob and the host mode.
 * (Specs and reloads keep warning and skipping such knobs instead.)
 */
int service_check_settable(struct service *svc, const struct cgroup_limits *limits,
			   struct error *err);
int service_reset_limits(struct service *svc, struct error *err);
const struct cgroup_limits *service_limits(const struct service *svc);
bool service_limits_pinned(const struct service *svc);
/*
 * Reload: switch to a new spec of the same name. Resource-only changes
 * are applied to the running cgroup (read back); changes to what runs
 * (command, image, rootfs, environment, user, isolation, pressure)
 * restart it. A `set` pin ends. 0 or -errno with err.
 */
int service_update_spec(struct service *svc, const struct service_spec *spec, struct error *err);
/* Transient services (`paddockctl run`) own their spec set. */
void service_own_specs(struct service *svc, struct spec_set *set, bool remove_when_settled);
bool service_remove_when_settled(const struct service *svc);
bool service_transient(const struct service *svc);
/* Whether svc (its spec, or a readiness probe in flight) points into set. */
bool service_uses_specs(const struct service *svc, const struct spec_set *set);
void service_set_remove_when_settled(struct service *svc, bool rm);

struct logstore *service_logstore(const struct service *svc);
/* The image a running (or prepared) service uses, or NULL. */
const struct image_info *service_image(const struct service *svc);
/*
 * Re-adoption after paddockd's restart. What the previous daemon left:
 * the descriptors its fd holder kept (-1 where none) and its state record
 * (NULL where none). service_adopt takes ownership of the fds. Returns 1
 * when the service was taken over (running again, or its exit while we
 * were away handled by its restart policy), 0 when there is nothing to
 * adopt (no cgroup): start it as usual.
 */
struct state_service;
struct service_adoption {
	int pidfd, out[2], statusfd;
	const struct state_service *rec;
};
int service_adopt(struct service *svc, struct service_adoption *a);
/* Hand its process's descriptors to the fd holder (again, after the holder was replaced). */
void service_store_fds(struct service *svc);
/* This service's record for the state file. */
void service_state_record(const struct service *svc, struct state_service *out);
/* Transient services: the spec document they came from, kept for the state file. */
void service_set_spec_text(struct service *svc, const char *text);

/* monitor.c keeps its per-service state here. */
void **service_monitor_slot(struct service *svc);
uint64_t service_oom_kills(const struct service *svc);
/* The kernel OOM-killed n processes in the group: counted, logged, an event (no policy). */
void service_note_oom_kills(struct service *svc, uint64_t n, bool main_alive);
/*
 * Whether the main process is gone or on its way out (exited, exiting or
 * with SIGKILL pending; under paddock's init: the service process init
 * runs). An OOM kill seen while it is dying is its death, not a child's:
 * its exit is judged oom-kill whichever notification came first.
 */
bool service_main_dying(const struct service *svc);
/* Reap the main process if it has exited (SIGCHLD sweep); true if it had. */
bool service_reap(struct service *svc);
/* Copy up to the last n log lines, oldest first, into a malloc'd NUL-terminated text. */
char *service_log_tail(const struct service *svc, unsigned n);

/* --- readiness: sd_notify (notify.c) and probes (ready.c) --- */
struct notify_msg;
/* A datagram from pid, a process in this service's cgroup (MAINPID= already checked). */
void service_notify(struct service *svc, const struct notify_msg *m, pid_t sender);
/* A datagram from this service was refused as malformed. */
void service_note_notify_malformed(struct service *svc);
/* Last STATUS= text, or NULL. */
const char *service_status_text(const struct service *svc);
/*
 * {"type", "ready", "ready_ms", "watchdog_ms", "last_watchdog_ms", "mainpid",
 * "malformed", "probe"}: what status shows about readiness.
 */
struct json_object *service_ready_json(const struct service *svc);
/*
 * Liveness (health:): "starting", "healthy" or "unhealthy" while checks
 * run (running, not frozen); NULL without a check or while they do not.
 */
const char *service_health(const struct service *svc);
/* {"type", "status", "failures", "last_output", "last_check"}, or NULL without a check. */
struct json_object *service_health_json(const struct service *svc);

/*
 * Dependencies (service.c). service_follow_deps: react to what the
 * dependencies did (start a waiting service or fail it, restart: true,
 * binds_to); the manager calls it after state changes. waiting_for: "db
 * (healthy): it restarts" while waiting, else NULL. bound_stop: stopped
 * because a binds_to service stopped (starts again with it).
 */
void service_follow_deps(struct service *svc);
const char *service_waiting_for(const struct service *svc, char *buf, size_t len);
bool service_bound_stop(const struct service *svc);

/*
 * schedule: (timers.c) when the timer last started the service and since
 * when it has been scheduled (realtime ms, 0 = never); kept in the state
 * file so that a persistent timer can catch up after paddockd was down.
 */
uint64_t service_timer_last(const struct service *svc);
uint64_t service_timer_armed(const struct service *svc);
void service_timer_mark(struct service *svc, uint64_t last_ms, uint64_t armed_ms);

#endif
