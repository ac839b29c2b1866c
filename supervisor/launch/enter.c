/*
 * enter.c - a command inside a running service. See enter.h.
 *
 * The helper is cloned into the service's cgroup. It opens what it needs
 * of the target while it still sees the host's /proc (root, cwd, the
 * namespaces), joins the namespaces that differ from its own, takes the
 * service's root, then forks the command: after setns(CLONE_NEWPID) only
 * children are inside the pid namespace. The helper stays outside it as
 * the command's parent, forwards signals and reports the wait status.
 */
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "clone.h"
#include "enter.h"
#include "harden.h"
#include "launch.h"
#include "util.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

extern char **environ;

/* The namespaces joined, user first: the others belong to it. */
static const struct {
	const char *name;
	int flag;
} ns_kinds[] = {
	{ "user", CLONE_NEWUSER },     { "mnt", CLONE_NEWNS },	{ "pid", CLONE_NEWPID },
	{ "net", CLONE_NEWNET },       { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
	{ "cgroup", CLONE_NEWCGROUP },
};
#define NS_N (sizeof(ns_kinds) / sizeof(ns_kinds[0]))

static void __attribute__((noreturn)) report_exit(int fd, const struct enter_report *rep)
{
	(void)!write(fd, rep, sizeof(*rep));
	_exit(0);
}

static void __attribute__((noreturn, format(printf, 3, 4)))
helper_fail(int fd, int code, const char *fmt, ...)
{
	struct enter_report rep = { .status = 127 << 8, .err = { .code = code } };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep.err.msg, sizeof(rep.err.msg), fmt, ap);
	va_end(ap);
	report_exit(fd, &rep);
}

/* In the command, before exec: the error goes to the helper, which reports it. */
static void __attribute__((noreturn)) cmd_send(int fd, const struct error *err)
{
	(void)!write(fd, err, sizeof(*err));
	_exit(127);
}

static void __attribute__((noreturn, format(printf, 3, 4)))
cmd_fail(int fd, int code, const char *fmt, ...)
{
	struct error err = { .code = code };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	cmd_send(fd, &err);
}

/*
 * The namespaces of target that differ from ours, joined: through a pidfd
 * in one call where the kernel has it (5.8), else one /proc/PID/ns file
 * each. Every file is opened first, while /proc is still the host's.
 */
static int join_namespaces(pid_t target, struct error *err)
{
	int fds[NS_N], flags = 0, r = 0;
	char path[64];

	for (size_t i = 0; i < NS_N; i++) {
		struct stat ours, theirs;
		fds[i] = -1;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)target, ns_kinds[i].name);
		if (stat(path, &theirs) < 0) {
			if (errno == ENOENT && i > 0)
				continue; /* the kernel has no such namespace */
			r = error_set(err, errno, "%s", path);
			goto out;
		}
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_kinds[i].name);
		if (stat(path, &ours) == 0 && ours.st_ino == theirs.st_ino &&
		    ours.st_dev == theirs.st_dev)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)target, ns_kinds[i].name);
		if ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			r = error_set(err, errno, "open %s", path);
			goto out;
		}
		flags |= ns_kinds[i].flag;
	}
	if (!flags)
		goto out;
	int pidfd = (int)syscall(SYS_pidfd_open, target, 0);
	if (pidfd >= 0 && setns(pidfd, flags) == 0) {
		close(pidfd);
		goto out;
	}
	if (pidfd >= 0)
		close(pidfd);
	for (size_t i = 0; i < NS_N; i++)
		if (fds[i] >= 0 && setns(fds[i], ns_kinds[i].flag) < 0) {
			r = error_set(err, errno, "join the %s namespace", ns_kinds[i].name);
			goto out;
		}
out:
	for (size_t i = 0; i < NS_N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

/* A pty master/slave pair from the devpts /dev/ptmx stands for. */
static int open_pty(int *master, int *slave)
{
	int zero = 0;

	*master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return -errno;
	if (ioctl(*master, TIOCSPTLCK, &zero) < 0 ||
	    (*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0) {
		int r = -errno;
		close(*master);
		*master = -1;
		return r;
	}
	return 0;
}

static int send_fd(int sock, int fd)
{
	char byte = 'T';
	struct iovec iov = { &byte, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u = { 0 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* The command: identity, stdio, cwd, privileges, exec. */
static void __attribute__((noreturn))
command_exec(const struct enter_plan *plan, const int stdio[3], bool tty, int errfd)
{
	struct error err = { 0 };

	if (setsid() < 0)
		cmd_fail(errfd, errno, "setsid");
	if (tty && ioctl(stdio[0], TIOCSCTTY, 0) < 0)
		cmd_fail(errfd, errno, "make the pty the controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(stdio[i], i) < 0)
			cmd_fail(errfd, errno, "set up stdio");
	if (plan->harden && harden_apply_bounding(plan->harden, &err) < 0)
		cmd_send(errfd, &err);
	if (plan->harden && harden_apply_limits(plan->harden, &err) < 0)
		cmd_send(errfd, &err);
	if (setgroups(0, NULL) < 0)
		cmd_fail(errfd, errno, "setgroups");
	if (setresgid(plan->gid, plan->gid, plan->gid) < 0)
		cmd_fail(errfd, errno, "setgid %u", (unsigned)plan->gid);
	if (setresuid(plan->uid, plan->uid, plan->uid) < 0)
		cmd_fail(errfd, errno, "setuid %u", (unsigned)plan->uid);
	if (plan->workdir && chdir(plan->workdir) < 0)
		cmd_fail(errfd, errno, "chdir %s", plan->workdir);
	(void)syscall(SYS_close_range, 3, errfd - 1, 0);
	(void)syscall(SYS_close_range, errfd + 1, ~0U, 0);
	environ = (char **)plan->envp;
	if (plan->harden && harden_apply(plan->harden, &err) < 0)
		cmd_send(errfd, &err);
	execvp(plan->argv[0], plan->argv);
	cmd_fail(errfd, errno, "exec %s", plan->argv[0]);
}

static void __attribute__((noreturn))
helper_main(const struct enter_plan *plan, int reportfd, int gofd)
{
	struct error err = { 0 };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t all, none;
	char path[64];
	int rootfd, cwdfd, hostm = -1, hosts = -1, m = -1, s = -1;

	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigfillset(&all);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	(void)prctl(PR_SET_NAME, "paddock-exec");
	{
		/* A copy of paddockd's table would hold its clients and pipes open. */
		int keep[] = { reportfd,       gofd,	       plan->stdio[0],
			       plan->stdio[1], plan->stdio[2], plan->ttysock };
		launch_close_all_but(keep, ARRAY_SIZE(keep));
	}
	if (gofd >= 0) {
		char c = 0;
		ssize_t n;
		while ((n = read(gofd, &c, 1)) < 0 && errno == EINTR)
			;
		close(gofd);
		if (n != 1)
			_exit(127); /* not attached: the caller reports why */
	}
	snprintf(path, sizeof(path), "/proc/%d/root", (int)plan->target);
	if ((rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		helper_fail(reportfd, errno, "open %s", path);
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)plan->target);
	cwdfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* The fallback pty, on the host's devpts, for a service without one. */
	if (plan->ttysock >= 0 && open_pty(&hostm, &hosts) < 0)
		hostm = hosts = -1;
	if (join_namespaces(plan->target, &err) < 0)
		report_exit(reportfd, &(struct enter_report){ .status = 127 << 8, .err = err });
	if (fchdir(rootfd) < 0 || chroot(".") < 0)
		helper_fail(reportfd, errno, "enter the service's root");
	if (cwdfd < 0 || fchdir(cwdfd) < 0)
		(void)!chdir("/");
	close(rootfd);
	if (cwdfd >= 0)
		close(cwdfd);
	if (plan->ttysock >= 0) {
		if (open_pty(&m, &s) < 0) {
			m = hostm;
			s = hosts;
		} else if (hostm >= 0) {
			close(hostm);
			close(hosts);
		}
		/* The command's own terminal, as login would make it. */
		if (s >= 0)
			(void)!fchown(s, plan->uid, (gid_t)-1);
		if (m < 0)
			helper_fail(reportfd, ENOTTY,
				    "no pty: neither the service nor the host has "
				    "/dev/ptmx");
		int r = send_fd(plan->ttysock, m);
		close(m);
		close(plan->ttysock);
		if (r < 0)
			helper_fail(reportfd, -r, "send the pty to paddockctl");
	}

	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		helper_fail(reportfd, errno, "pipe");
	pid_t cmd = fork();
	if (cmd < 0)
		helper_fail(reportfd, errno, "fork");
	if (cmd == 0) {
		close(errpipe[0]);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		int tio[3] = { s, s, s };
		command_exec(plan, s >= 0 ? tio : plan->stdio, s >= 0, errpipe[1]);
	}
	close(errpipe[1]);
	if (s >= 0)
		close(s);
	for (int i = 0; i < 3; i++)
		if (plan->stdio[i] >= 0)
			close(plan->stdio[i]);

	struct enter_report rep = { 0 };
	ssize_t n;
	while ((n = read(errpipe[0], &rep.err, sizeof(rep.err))) < 0 && errno == EINTR)
		;
	close(errpipe[0]);
	if (n != (ssize_t)sizeof(rep.err))
		memset(&rep.err, 0, sizeof(rep.err)); /* EOF: exec happened */
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			(void)kill(cmd, sig);
			continue;
		}
		int st;
		pid_t p = waitpid(cmd, &st, WNOHANG);
		if (p == cmd) {
			rep.status = st;
			break;
		}
	}
	report_exit(reportfd, &rep);
}

int enter_start(const struct enter_plan *plan, struct enter_child *child)
{
	int report[2], go[2] = { -1, -1 }, pidfd = -1;

	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	if (plan->wait_attach && pipe2(go, O_CLOEXEC) < 0) {
		int r = -errno;
		close(report[0]);
		close(report[1]);
		return r;
	}
	pid_t pid = launch_clone(0, SIGCHLD, plan->cgroup_fd, &pidfd);
	if (pid < 0) {
		close(report[0]);
		close(report[1]);
		if (go[0] >= 0) {
			close(go[0]);
			close(go[1]);
		}
		return pid;
	}
	if (pid == 0) {
		close(report[0]);
		if (go[1] >= 0)
			close(go[1]);
		helper_main(plan, report[1], go[0]);
	}
	close(report[1]);
	if (go[0] >= 0)
		close(go[0]);
	child->pid = pid;
	child->pidfd = pidfd;
	child->reportfd = report[0];
	child->gofd = go[1];
	return 0;
}

void enter_release(struct enter_child *child, bool attached)
{
	if (child->gofd >= 0) {
		if (attached)
			(void)!write(child->gofd, "y", 1);
		close(child->gofd);
		child->gofd = -1;
	}
}

int enter_read_report(struct enter_child *child, struct enter_report *rep)
{
	ssize_t n;

	memset(rep, 0, sizeof(*rep));
	while ((n = read(child->reportfd, rep, sizeof(*rep))) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(*rep)) {
		memset(rep, 0, sizeof(*rep));
		rep->status = 127 << 8;
		return error_set(&rep->err, EIO, "the exec helper died before it reported");
	}
	return 0;
}

void enter_child_close(struct enter_child *child)
{
	int *fds[] = { &child->pidfd, &child->reportfd, &child->gofd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}
