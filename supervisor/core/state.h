/*
 * state.h - what must outlive paddockd: which process each service runs,
 * with its start time (the identity check besides the cgroup), its
 * restart counters, and the spec of transient services.
 *
 * <state_dir>/state.json, written whole (temp file, fsync, rename, fsync
 * of the directory), versioned, bounded, and parsed as untrusted input:
 * anything wrong is an error with the JSON path, and the daemon rebuilds
 * from the cgroups and the fd holder instead.
 */
#ifndef PADDOCK_STATE_H
#define PADDOCK_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "probe.h"
#include "spec.h"

#define STATE_VERSION 1
#define STATE_MAX_BYTES (16u << 20)
#define STATE_MAX_SPEC_TEXT (64u << 10)
#define STATE_EXIT_KIND_MAX 16 /* bound of a recorded exit kind (service.h's enum exit_kind) */

/*
 * --- Kept for the operator and the service --------------------------------------
 * Limits pinned with `paddockctl set` and the last STATUS= a service sent:
 * state.c's kept_parse/kept_json, filled and restored by service-limits.c
 * and service-ready.c. Absent in older files: nothing pinned, no text.
 */
#define STATE_CPUS_MAX 256
#define STATE_STATUS_MAX 256 /* NOTIFY_STATUS_MAX */

struct state_pin {
	bool set; /* pinned by `set`: in force until `set --reset` or a reload */
	struct spec_memory
	    memory; /* SPEC_UNSET, SPEC_SIZE_MAX or bytes, as in struct cgroup_limits */
	uint32_t cpu_weight, cpu_max_mcpu, io_weight; /* 0 = unset */
	uint64_t pids_max;
	char cpus[STATE_CPUS_MAX]; /* "" = unset */
};

/* A service's address on one network (kept while its process runs). */
struct state_net {
	char network[SPEC_NAME_MAX + 1];
	uint32_t addr; /* IPv4, host byte order */
};

/* What the daemon knows of one network beyond its config. */
struct state_network {
	char name[SPEC_NAME_MAX + 1];
	bool created; /* paddock made its bridge: shutdown removes it */
	uint32_t next; /* where address allocation goes on (ipam.h) */
};

struct state_service {
	char name[SPEC_NAME_MAX + 1];
	pid_t pid; /* main process, 0 when none */
	uint64_t start_time; /* /proc/PID/stat field 22 (clock ticks after boot) */
	uint64_t started_at_ms; /* realtime */
	unsigned restarts, failures;
	uint64_t oom_kills;
	char *spec_text; /* transient (`run`) services: the spec document; else NULL */
	bool rm; /* transient: remove when settled */
	/*
	 * Settled and to stay so across a restart of paddockd: stopped by the
	 * operator, or failed with no restart to come. The next daemon keeps
	 * it that way instead of starting it.
	 */
	enum state_held {
		STATE_HELD_NONE = 0,
		STATE_HELD_STOPPED,
		STATE_HELD_FAILED,
		STATE_HELD_PARKED
	} held;
	int exit_kind; /* the last exit (held services): enum exit_kind, 0 = none */
	int exit_code;
	uint64_t exit_ms; /* realtime */
	char exit_reason[256];
	unsigned reloads; /* restarts a reload caused: not in restarts, not in the start limit */
	uint64_t exits[STATE_EXIT_KIND_MAX]; /* exits judged, by enum exit_kind */
	/* memory.events of the cgroups the service had before its current one */
	struct probe_memory_events memory_events;
	/* What the rebalancer learned (rebalancer_record): bytes, 0 = nothing yet. */
	uint64_t working_set, grown_max;
	/* What the operator pinned and the service last said (see struct state_pin). */
	struct state_pin pin;
	char status_text[STATE_STATUS_MAX]; /* "" = none */
	struct state_net net[SPEC_MAX_ATTACH]; /* addresses of the running process */
	unsigned nnet;
	/*
	 * Held stopped because a binds_to service stopped (starts again with
	 * it); completed: ran to its end with status 0, no stop asked (meets
	 * depends_on conditions).
	 */
	bool bound_stop, completed;
	/*
	 * The user the running process was started as: readiness and health
	 * commands run as it. run_ids: they were recorded (a state file from
	 * before them has none).
	 */
	uint32_t run_uid, run_gid;
	bool run_ids;
	/* schedule: the timer's last run start and when it was first scheduled (0 = never) */
	uint64_t timer_last_ms, timer_armed_ms;
};

struct state {
	char boot_id[40]; /* /proc/sys/kernel/random/boot_id: pids mean nothing after a reboot */
	pid_t daemon_pid;
	struct state_service *services;
	size_t nservices;
	struct state_network networks[SPEC_MAX_NETWORKS];
	size_t nnetworks;
};

/* Parse a state document. 0, or -EINVAL/-EBADMSG with err naming the field. */
int state_parse(const char *buf, size_t len, struct state *out, struct error *err);
/* Read and parse path; -ENOENT when there is none. */
int state_load(const char *path, struct state *out, struct error *err);
/* The document for st (one line of JSON, caller frees). */
char *state_format(const struct state *st, size_t *len);
/* Serialise and replace path atomically. 0 or -errno. */
int state_save(const char *path, const struct state *st);
/*
 * The same document built one service at a time, so that a writer holds one
 * record and the text, not a record and a JSON tree per service (with 1000
 * services the tree alone was several MB at every write).
 */
struct state_text {
	char *buf;
	size_t len, cap, nservices;
};
void state_text_begin(struct state_text *t, const char *boot_id, pid_t daemon_pid,
		      const struct state_network *nets, size_t nnets);
void state_text_add(struct state_text *t, const struct state_service *s);
/* Close the document: its text (len bytes, NUL-terminated) for the caller to free. */
char *state_text_end(struct state_text *t, size_t *len);
/* Replace path atomically with text (temp file, fsync, rename). 0 or -errno. */
int state_write_text(const char *path, const char *text, size_t len);
const struct state_service *state_find(const struct state *st, const char *name);
/* "stopped", "failed", "parked" ("" for none). */
const char *state_held_name(enum state_held h);
void state_clear(struct state *st);
/* The running kernel's boot id (trimmed) into buf[40]; 0 or -errno. */
int state_boot_id(char buf[40]);
/* Start time of pid from /proc/PID/stat, 0 if it is gone. */
uint64_t state_proc_start_time(pid_t pid);

#endif
