/*
 * service-internal.h - what the files of the service module share: the
 * struct, the events of its state machine and the steps one file calls
 * in another. Only service*.c (and the unit test that stands in for the
 * process side) include it.
 *
 *   service.c         the state machine: states x events table, restart
 *                     policy, backoff, start limit, dependencies, operations
 *   service-launch.c  images, cgroup, clone, exit judging, cleanup
 *   service-output.c  the output pipes and the log
 *   service-ready.c   readiness (notify, probes), watchdog
 *   service-adopt.c   taking over what an earlier paddockd started
 *   service-limits.c  live limits and reload
 */
#ifndef PADDOCK_SERVICE_INTERNAL_H
#define PADDOCK_SERVICE_INTERNAL_H

#include <event2/event.h>
#include <stdarg.h>

#include "cgroup.h"
#include "launch.h"
#include "probe.h"
#include "service.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define READ_BUDGET (64 * 1024) /* bytes read per output event: keeps the loop fair */
#define CGROUP_RETRY_MS 20 /* one kill round / re-check of an emptying cgroup this often */
#define CGROUP_RETRY_MAX 3000 /* ... for at most 60 s, the bound the blocking kill had */

enum service_event {
	SE_START, /* operator or boot asks for it to run */
	SE_STOP, /* operator or shutdown asks for it to stop */
	SE_EXEC_OK, /* report pipe closed without a report */
	SE_LAUNCH_FAILED,
	SE_EXITED, /* main process gone and reaped */
	SE_TIMER, /* backoff over, ready or stop timeout, cleanup retry */
	SE_CLEANED, /* cgroup empty and removed */
	SE_NEVENTS
};

/* What follows a stop once the service is cleaned up. */
enum service_after_stop {
	AFTER_NOTHING = 0,
	AFTER_RESTART, /* a restart (operator, on_oom, pressure): backoff and start limit apply */
	AFTER_RELOAD, /* the spec changed what runs: start again at once */
	AFTER_DEPENDENCY, /* restart: true, a dependency restarted: start once it meets the condition */
};

struct service {
	const struct service_env *env;
	const struct service_spec *spec;
	enum service_state state;
	uint64_t since_ms; /* realtime */

	struct cgroup *cg;
	struct cgroup_limits limits;
	struct launch_child child;
	pid_t main_pid;
	pid_t last_pid; /* the main pid of the last run, for its exit event */
	uint64_t started_mono;
	bool frozen;
	bool stop_requested; /* the exit we wait for is one we asked for */
	bool kill_sent; /* the stop timeout passed: the group was SIGKILLed */
	enum service_after_stop after_stop; /* what follows the stop under way */
	bool sigkill_sent; /* we SIGKILLed it: a SIGKILL exit is ours, not the OOM killer's */
	unsigned cleanup_tries;

	struct event *ev_exit, *ev_report, *ev_timer;
	struct event *ev_out[2];
	int out_fd[2];
	struct logstore *log;

	struct error *
	    report; /* a failed launch's report until the next start; NULL: none (512 bytes, rare) */

	char *cpus_override; /* owned cpuset string of an operator's `set` */
	bool pinned; /* limits changed by `set`: kept until reset */
	struct spec_set *owned_specs; /* transient services own their spec */

	/* image: resolved (layers present) before the first start; helper while unpacking */
	struct image_info *image;
	int image_fd; /* read end of the helper's result pipe */
	struct event *ev_image;
	char *rootfs_dir; /* <state>/rootfs/<name>: merged, upper, work */
	struct net_lease *net; /* bridge networks of the current run (network.h); NULL = none */
	bool remove_when_settled;

	unsigned restarts;
	unsigned reloads; /* restarts a reload caused: apart from restarts and the start limit */
	uint64_t exits[EXIT_KIND_MAX]; /* exits judged, by kind */
	uint64_t oom_kills; /* every OOM kill seen in the group, across restarts */
	struct probe_memory_events memory_past; /* memory.events of the cgroups already gone */
	void *monitor_state; /* monitor.c's per-service probe state */
	unsigned failures; /* consecutive, for backoff */
	uint64_t *starts; /* ring of the last `burst` start times (monotonic ms) */
	unsigned nstarts, starts_pos;
	struct service_exit last_exit;
	unsigned warned; /* CGROUP_UNSUPPORTED_* already logged */

	uint64_t start_time; /* main pid's start time (/proc/PID/stat), for re-adoption */
	uint64_t started_at_ms; /* realtime of the last start */
	bool adopted; /* main process started by an earlier paddockd: not our child */
	char *spec_text; /* transient: the spec document, for the state file */
	/* readiness (see "readiness" below) */
	uint64_t timer_due; /* monotonic ms ev_timer fires at; EXTEND_TIMEOUT_USEC moves it */
	struct ready_probe *probe; /* ready: exec | tcp, while starting */
	struct event *ev_watchdog;
	uint64_t watchdog_usec; /* spec, or WATCHDOG_USEC= from the service; 0 = off */
	uint64_t last_watchdog_ms; /* realtime of the last WATCHDOG=1 */
	uint64_t ready_ms; /* how long the last start took to be ready */
	enum exit_kind forced; /* we are killing it for this (watchdog, ready-timeout) */
	char forced_reason[160];
	char *status_text; /* last STATUS= */
	pid_t notify_mainpid; /* accepted MAINPID= (host pid, inside the cgroup) */
	uint64_t notify_malformed;
	uid_t run_uid; /* the user it runs as: ready: exec runs as it too */
	gid_t run_gid;
	bool run_ids_known; /* set at a launch, or learned at adoption */
	/* dependencies (service.c): stopped because a binds_to service stopped */
	bool bound_stop;
	/* health: (health.h), while running and not frozen */
	struct health *health;
	/* schedule: (timers.c) last timer run start, first scheduled; realtime ms */
	uint64_t timer_last_ms, timer_armed_ms;
};

/* service.c: the state machine and the operations on it */
/* The one entry of events into the state machine (the table in service.c). */
void service_dispatch(struct service *svc, enum service_event ev);
void service_set_state(struct service *svc, enum service_state st);
void svc_emit(struct service *svc, const char *type, struct json_object *data);
void svc_watch(struct service *svc, bool live);
struct json_object *svc_jobj(const char *k1, struct json_object *v1, const char *k2,
			     struct json_object *v2);
void svc_limits_from_spec(struct cgroup_limits *l, const struct service_spec *spec);
void svc_fail_start(struct service *svc, enum exit_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void svc_set_timer(struct service *svc, uint64_t ms);
void svc_begin_stop(struct service *svc);
/* The exit just recorded in last_exit: counted and, for a process's exit, its event. */
void svc_account_exit(struct service *svc);
/* depends_on's condition healthy (health.c's verdict; running when there is no check). */
bool svc_is_healthy(const struct service *svc);

/* service-launch.c: images, cgroup, clone, exit judging, cleanup */
void svc_release_process(struct service *svc);
void svc_release_net(struct service *svc);
int svc_read_init_status(struct service *svc, bool adopted);
void svc_judge_exit(struct service *svc, int status, bool away);
void svc_on_exit_event(evutil_socket_t fd, short what, void *arg);
void svc_warn_unsupported(struct service *svc, unsigned bits);
void svc_drop_overlay(struct service *svc);
void svc_prepare_image(struct service *svc);
void svc_launch_now(struct service *svc);
bool svc_cleanup_cgroup(struct service *svc);
/* Remove the (empty) cgroup, its memory.events counted into memory_past first. 0 or -errno. */
int svc_destroy_cgroup(struct service *svc);
/* Every process of the group: a signal, freeze or thaw (-ESRCH without a cgroup). */
int svc_signal_group(struct service *svc, int sig);
int svc_freeze_group(struct service *svc, bool frozen);
/* One SIGKILL round over the group, never waiting: 0 empty, 1 call again, -errno. */
int svc_kill_group(struct service *svc);

/* service-output.c: the output pipes and the log */
void svc_close_output(struct service *svc, int i);
void svc_on_output(evutil_socket_t fd, short what, void *arg);
int svc_open_outputs(struct service *svc, int wr[2]);

/*
 * service-limits.c: what the operator and the service told us that must
 * outlive paddockd (pins, STATUS=), into and out of the state record.
 * service_state_record and service_adopt (service-adopt.c) call these.
 */
struct state_service;
void svc_kept_record(const struct service *svc, struct state_service *out);
void svc_kept_restore(struct service *svc, const struct state_service *rec);

/* service-ready.c: readiness (notify, probes) and the watchdog */
void svc_status_record(const struct service *svc, struct state_service *out);
void svc_status_restore(struct service *svc, const struct state_service *rec);
void svc_readiness_end(struct service *svc);
void svc_arm_watchdog(struct service *svc);
void svc_kill_for(struct service *svc, enum exit_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void svc_await_ready(struct service *svc);
void svc_on_watchdog(evutil_socket_t fd, short what, void *arg);
/* Liveness checks start (running, not frozen) or end; both idempotent. */
void svc_health_start(struct service *svc);
void svc_health_end(struct service *svc);
/* The spec was replaced (reload, no restart): follow it; old may be freed after. */
void svc_health_respec(struct service *svc, const struct service_spec *old);

#endif
