/*
 * placer.h - service cgroups placed ahead of need, for v1 and hybrid hosts.
 *
 * On v1 a process enters a cgroup by a write to cgroup.procs, and the
 * kernel makes that write wait for an RCU grace period (~10 ms on these
 * machines): the longest step of a start. The placer keeps a few slots
 * (cgroup.h): the v1 directories of a future service cgroup, each with a
 * thread of ours that moved itself in (paying the grace period off the
 * start path, in that thread). A start takes a ready slot, renames it to
 * the service's name, and has the slot's thread clone the child, which is
 * born inside; the thread then exits, which leaves every cgroup at once.
 * Refills run off the start path, from the event loop.
 *
 * The threads allocate nothing and hold no lock while the main thread
 * runs; the main thread blocks while one clones, so the child sees a
 * quiet copy of the daemon, as with a clone from the main thread.
 */
#ifndef PADDOCK_PLACER_H
#define PADDOCK_PLACER_H

#include <stdbool.h>

#include "cgroup.h"
#include "launch.h"

struct event_base;
struct placer;
struct placer_slot;

/*
 * A placer keeping nslots slots ready, refilled from base's loop; NULL
 * when slots save nothing (pure v2, where clone3 places children itself;
 * no clone3; nslots 0). Removes slots a killed predecessor left.
 */
struct placer *placer_new(struct cgroup_host *host, struct event_base *base, unsigned nslots);
/* Join every thread and remove every slot; NULL. */
struct placer *placer_free(struct placer *p);

/*
 * A ready slot's service cgroup "<root>/<name>" (cgroup_create_from_slot)
 * and the cloner to put in the launch plan; *slot must then be ended with
 * placer_end. -EAGAIN when no slot is ready; other -errno on failure (the
 * slot stays ready).
 */
int placer_take(struct placer *p, const char *name, struct cgroup **cg, struct placer_slot **slot);
const struct launch_cloner *placer_cloner(struct placer_slot *slot);
/* After launch_start, cloned or not, before the cgroup may go: the thread is out of it, gone. */
void placer_end(struct placer *p, struct placer_slot *slot);

#endif
