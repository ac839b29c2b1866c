/*
 * rebalance-glue.h - the daemon side of the rebalancer: each probe tick it
 * turns the monitor's samples into controller inputs (rebalance.h), calls
 * the controller, applies its writes through the cgroup layer (enforce
 * mode) and records every decision as an event. Also the entry points for
 * on_oom: grow, the pressure action grow, status and metrics.
 */
#ifndef PADDOCK_REBALANCE_GLUE_H
#define PADDOCK_REBALANCE_GLUE_H

#include <stdint.h>
#include <stdio.h>

#include "cgroup.h"

struct manager;
struct monitor;
struct rebalancer;
struct state_service;
struct service;
struct json_object;

/* The rebalancer of m's services; mon gives the host's sample. Logs its mode. */
struct rebalancer *rebalancer_new(struct manager *m, struct monitor *mon);
struct rebalancer *rebalancer_free(struct rebalancer *rb);
/* One tick: inputs from the monitor, decisions, writes (enforce) and events. */
void rebalancer_tick(struct rebalancer *rb);
/* The limits a start writes: memory.max as on_oom: grow left it. rb may be NULL. */
void rebalancer_launch_limits(struct rebalancer *rb, const struct service *svc,
			      struct cgroup_limits *l);
/* What a start writes: rebalancer_launch_limits plus, in enforce mode, the class's defaults. */
void rebalancer_start_limits(struct rebalancer *rb, const struct service *svc,
			     struct cgroup_limits *l);
/* on_oom: grow: memory.max one step up, for the restart. */
void rebalancer_oom_grow(struct rebalancer *rb, struct service *svc);
/* The pressure action grow, applied now; what it did goes into d. 0 or -errno. */
int rebalancer_pressure_grow(struct rebalancer *rb, struct service *svc, int resource,
			     struct json_object *d);
/* What status shows, or NULL when the rebalancer is off. */
struct json_object *rebalancer_status_json(struct rebalancer *rb, const struct service *svc);
/*
 * May svc start now? Only a batch service, in enforce mode with a budget,
 * can be told no: when even its floor does not fit beside what the others
 * hold (why says so). Undecided (a service not sampled yet) keeps a parked
 * service parked and lets any other start.
 */
bool rebalancer_room(struct rebalancer *rb, const struct service *svc, char *why, size_t len);
uint64_t rebalancer_working_set(struct rebalancer *rb, const struct service *svc);
/*
 * What it learned of svc, for the state file, and back after a kill -9 or
 * daemon-reexec: the working-set estimate and a grown memory.max.
 */
void rebalancer_record(struct rebalancer *rb, const struct service *svc, struct state_service *rec);
void rebalancer_restore(struct rebalancer *rb, const struct service *svc,
			const struct state_service *rec);
/* "off", "observe" or "enforce", as the configuration spells it. */
/*
 * `paddockd -n`: the budget the rebalancer would plan with and where each
 * figure comes from (config, the cgroup ancestry, host RAM and CPUs).
 */
void rebalancer_print_budget(struct manager *d, FILE *f);
/* The same budget as figures (memory 0: none), for the fleet's node record. */
void rebalancer_budget(struct manager *d, uint64_t *memory, uint32_t *mcpu);
const char *rebalancer_mode_name(enum spec_rebalance_mode m);
const char *rebalancer_degrade_note(enum cgroup_mode mode);

#endif
