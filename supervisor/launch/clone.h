/*
 * clone.h - clone with a pidfd: clone3 where the kernel has it (namespaces,
 * CLONE_INTO_CGROUP), clone(2) with fork semantics where it does not.
 * Shared by the service launcher, the user namespace helper (userns.c)
 * and the readiness probe helper (core/ready.c); no other launch header
 * is needed for it.
 */
#ifndef PADDOCK_CLONE_H
#define PADDOCK_CLONE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Whether the kernel (as this process sees it) has clone3. Without it
 * (valgrind 3.19; a container whose seccomp profile answers ENOSYS, as
 * docker's did) children start through clone(2), which cannot place them
 * into a cgroup: callers then set wait_attach and attach by a write.
 */
bool launch_have_clone3(void);
/*
 * Fork-like clone with CLONE_PIDFD: flags (namespaces), exit_signal, and
 * with cgroup_fd >= 0 CLONE_INTO_CGROUP (clone3 only: -ENOSYS without).
 * Returns the pid (0 in the child) and *pidfd, or -errno.
 */
pid_t launch_clone(uint64_t flags, int exit_signal, int cgroup_fd, int *pidfd);
/* The CLONE_NEW* flags of the SPEC_NS_* bits in ns (spec.h). */
uint64_t launch_ns_flags(unsigned ns);

#endif
