/*
 * policy.h - what the daemon does about what the monitor sees: on_oom
 * (stop, restart, grow) after an OOM kill the main process survived, the
 * spec's pressure actions (reclaim, freeze, restart, kill, grow) and the
 * rebalancer's tick. The monitor only samples and reports, through
 * policy_monitor_ops; the rebalancer's launch limits reach services
 * through the manager's limits hook.
 */
#ifndef PADDOCK_POLICY_H
#define PADDOCK_POLICY_H

#include "monitor.h"

struct manager;
struct policy;
struct rebalancer;

struct policy *policy_new(struct manager *m);
struct policy *policy_free(struct policy *p);
/* The rebalancer to tick and grow with (NULL until set: those steps are skipped). */
void policy_set_rebalancer(struct policy *p, struct rebalancer *rb);

/* For monitor_open(): the monitor's reports, handled here; arg is the policy. */
extern const struct monitor_ops policy_monitor_ops;

#endif
