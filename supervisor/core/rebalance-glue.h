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

#include "cgroup.h"
#include "daemon.h"

struct service;
struct json_object;

/* Created by monitor_open; NULL when none. */
void rebalancer_open(struct daemon *d);
void rebalancer_close(void);
/* One controller step from the monitor's latest samples. */
void rebalancer_tick(struct daemon *d);
/* The limits a (re)starting service gets: what on_oom grows made memory.max. */
void rebalancer_launch_limits(const struct service *svc, struct cgroup_limits *l);
/* on_oom: grow after an OOM kill: one step up, event; the restart follows. */
void rebalancer_oom_grow(struct service *svc);
/* pressure action grow, applied at once: 0, or -errno; d gets the numbers. */
int rebalancer_pressure_grow(struct service *svc, int resource, struct json_object *d);
/* {"mode", "working_set_bytes", ...} for `paddockctl status`; NULL when off. */
struct json_object *rebalancer_status_json(const struct service *svc);
/* Working-set estimate in bytes, 0 when none. */
uint64_t rebalancer_working_set(const struct service *svc);
/* "off", "observe" or "enforce", as the configuration spells it. */
const char *rebalancer_mode_name(enum spec_rebalance_mode m);
/* What degrades on this cgroup layout, for `paddockd -n` and the start-up log; NULL if nothing. */
const char *rebalancer_degrade_note(enum cgroup_mode mode);

#endif
