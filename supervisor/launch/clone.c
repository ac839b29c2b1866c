/*
 * clone.c - clone3/clone(2) with a pidfd; see clone.h.
 */
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clone.h"
#include "spec.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

bool launch_have_clone3(void)
{
	static int have = -1;

	/* A real clone3 refuses a NULL, zero-sized argument with EINVAL. */
	if (have < 0)
		have = !(syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS);
	return have;
}

uint64_t launch_ns_flags(unsigned ns)
{
	static const struct {
		unsigned ns;
		uint64_t flag;
	} map[] = { { SPEC_NS_PID, CLONE_NEWPID },  { SPEC_NS_MOUNT, CLONE_NEWNS },
		    { SPEC_NS_UTS, CLONE_NEWUTS },  { SPEC_NS_IPC, CLONE_NEWIPC },
		    { SPEC_NS_NET, CLONE_NEWNET },  { SPEC_NS_CGROUP, CLONE_NEWCGROUP },
		    { SPEC_NS_USER, CLONE_NEWUSER } };
	uint64_t f = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (ns & map[i].ns)
			f |= map[i].flag;
	return f;
}

pid_t launch_clone(uint64_t flags, int exit_signal, int cgroup_fd, int *pidfd)
{
	pid_t pid;

	*pidfd = -1;
	if (launch_have_clone3()) {
		struct clone_args args = { .flags = flags | CLONE_PIDFD,
					   .pidfd = (uint64_t)(uintptr_t)pidfd,
					   .exit_signal = (uint64_t)exit_signal };
		if (cgroup_fd >= 0) {
			args.flags |= CLONE_INTO_CGROUP;
			args.cgroup = (uint64_t)cgroup_fd;
		}
		pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	} else {
		/* clone(2) cannot place into a cgroup; valgrind's forks share no fd table. */
		if (cgroup_fd >= 0 || (flags & CLONE_FILES))
			return -ENOSYS;
		/* No stack: fork semantics. The pidfd lands in parent_tid. */
		pid = (pid_t)syscall(SYS_clone,
				     (unsigned long)flags | CLONE_PIDFD | (unsigned)exit_signal,
				     NULL, pidfd, NULL, 0UL);
	}
	return pid < 0 ? -errno : pid;
}
