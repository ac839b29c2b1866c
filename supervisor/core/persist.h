/*
 * persist.h - paddockd outliving itself (see persist.c): lock, state
 * file, re-adoption, re-exec.
 */
#ifndef PADDOCK_PERSIST_H
#define PADDOCK_PERSIST_H

#include <stdbool.h>

#include "daemon.h"

/* Take <state_dir>/paddockd.lock: the fd, or -EBUSY when another paddockd holds it. */
int persist_lock(struct daemon *d);
/*
 * Connect to (or start) the fd holder, read the state file and take over
 * what the previous daemon left running. adopted[i] says which of
 * d->services were taken over (d->services may grow by revived transient
 * services; adopted must have room for SPEC_MAX_SERVICES). Returns how many.
 */
int persist_adopt(struct daemon *d, bool *adopted);
/* On exit: with everything stopped, stop the holder and drop the state file. */
void persist_shutdown(struct daemon *d, bool all_stopped);

#endif
