/*
 * persist.h - paddockd outliving itself (see persist.c): lock, state
 * file, re-adoption, re-exec. An observer of the manager: every change
 * of a service rewrites the state file soon after.
 */
#ifndef PADDOCK_PERSIST_H
#define PADDOCK_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cgroup_host;
struct manager;
struct persist;
struct rebalancer;

/* argv: the daemon's own, for re-exec. */
struct persist *persist_new(struct manager *m, char **argv);
struct persist *persist_free(struct persist *p);
/* Take <state_dir>/paddockd.lock: the fd, or -EBUSY when another paddockd holds it. */
int persist_lock(struct persist *p);
/* The state dir of the paddockd with this pid (the lock file it holds); 0 or -errno. */
int persist_owner_state_dir(pid_t pid, char *buf, size_t len);
/* After daemon-reexec: take back the cgroup root locks the previous image kept open. */
void persist_inherit_cgroup_locks(struct cgroup_host *host);
/*
 * Connect to (or start) the fd holder, read the state file and take over
 * what the previous daemon left running. adopted[i] says which of
 * m->services were taken over (m->services may grow by revived transient
 * services; adopted must have room for SPEC_MAX_SERVICES). Returns how many.
 */
int persist_adopt(struct persist *p, bool *adopted);
/* The rebalancer whose learning the state file keeps (before persist_adopt). */
void persist_set_rebalancer(struct persist *p, struct rebalancer *rb);
/* Re-execute the daemon binary (upgrade) after the current loop turn; services keep running. */
void persist_request_reexec(struct persist *p);
/* On exit: with everything stopped, stop the holder and drop the state file. */
void persist_shutdown(struct persist *p, bool all_stopped);

#endif
