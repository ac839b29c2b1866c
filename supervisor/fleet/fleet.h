/*
 * fleet.h - many hosts (issue 21): this paddockd as a node of a fleet on
 * an etcd cluster (the daemon config's fleet:). Off unless configured.
 */
#ifndef PADDOCK_FLEET_H
#define PADDOCK_FLEET_H

struct fleet;
struct manager;

/* Join as d->cfg->fleet says. 0 with *out = NULL when fleet is off; -errno. */
int fleet_open(struct manager *d, struct fleet **out);
struct fleet *fleet_free(struct fleet *f);
/*
 * A planned shutdown, after the loop ended: if every fleet instance here
 * has stopped, revoke the lease so that other nodes take them over now
 * rather than after the TTL. Waits at most 2 s for etcd's answer.
 */
void fleet_leave(struct fleet *f);
/* Answer paddockctl's fleet commands on ctl (f may be NULL: then nothing). */
struct control;
void fleet_attach_control(struct fleet *f, struct control *ctl);

#endif
