/*
 * ready.c - `ready: exec [cmd...]` and `ready: tcp PORT`.
 *
 * Each attempt is a short-lived helper process forked from the daemon, so
 * the loop never blocks and nothing of the daemon changes namespace:
 *   tcp:  the helper joins the service's network namespace (setns on the
 *         pidfd of the service's first process) and connects to
 *         127.0.0.1:PORT there; "accepted" is ready.
 *   exec: the helper joins the service's cgroup (cgroup.procs), then its
 *         mount, pid, net, uts, ipc and cgroup namespaces, and forks the
 *         command, which runs as the service's user with the service's
 *         capability bounds and seccomp filter (as `docker exec` does). An
 *         exit status of 0 is ready.
 * The helper writes one int to a pipe: 0 ready, > 0 the command's exit
 * code (128 + signal), < 0 -errno of the step that failed. The daemon's
 * SIGCHLD sweep reaps helpers, which is why the verdict travels over a
 * pipe and not as an exit status. A hung attempt is killed after
 * ATTEMPT_MAX_MS (its command too: PR_SET_PDEATHSIG); the next one starts
 * RETRY_MS after the last ended. The start timeout bounds it all.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "clone.h"
#include "harden.h"
#include "log.h"
#include "launch.h"
#include "ready.h"
#include "util.h"

#define RETRY_MS 250
#define ATTEMPT_MAX_MS 5000
#define CONNECT_TIMEOUT_S 2

struct ready_probe {
	struct event_base *base;
	const char *name; /* the service's, for logs */
	ready_probe_fn passed; /* called once, when an attempt passes */
	void *arg;
	struct ready_target t;
	pid_t helper;
	int helper_fd; /* pidfd of the running attempt's helper, or -1 */
	int result_fd; /* read end of its verdict pipe, or -1 */
	struct event *ev_result, *ev_timer;
	unsigned attempts;
	char last[128];
};

const char *ready_probe_last(const struct ready_probe *p)
{
	return p->last;
}

static void start_attempt(struct ready_probe *p);

/* --- the helper (child side) ------------------------------------------------------ */

static void __attribute__((noreturn)) verdict(int fd, int v)
{
	(void)!write(fd, &v, sizeof(v));
	_exit(0);
}

/* The namespaces a probe joins: net only (tcp), or all but user (exec). */
static unsigned ns_flags(const struct service_spec *spec, bool all)
{
	unsigned ns = spec->isolation.namespaces;

	return (unsigned)launch_ns_flags(all ? ns & ~SPEC_NS_USER : ns & SPEC_NS_NET);
}

static int probe_tcp(const struct ready_target *t)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(t->spec->ready.port) };
	struct timeval tv = { .tv_sec = CONNECT_TIMEOUT_S };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Linux bounds a blocking connect by the send timeout. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	close(fd);
	return 0;
}

static int probe_exec(const struct ready_target *t, int devnull)
{
	static char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	static char home[] = "HOME=/";
	char *const env[] = { path, home, NULL };
	struct harden_plan hp;
	struct error err;
	int st, hr;
	pid_t pid;

	hr = harden_prepare(t->spec, &hp, &err);
	if (hr < 0)
		return hr;
	pid = fork(); /* the first process in the joined pid namespace */
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
			_exit(126);
		(void)syscall(SYS_close_range, 3, ~0U, 0);
		if (chdir("/") < 0 || harden_apply_bounding(&hp, NULL) < 0 ||
		    setgroups(0, NULL) < 0 || setresgid(t->gid, t->gid, t->gid) < 0 ||
		    setresuid(t->uid, t->uid, t->uid) < 0 || harden_apply(&hp, NULL) < 0)
			_exit(126);
		execvpe(t->spec->ready.exec[0], t->spec->ready.exec, env);
		_exit(127);
	}
	harden_plan_free(&hp);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

static void __attribute__((noreturn)) helper_main(const struct ready_target *t, int wfd)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC), keep[3] = { wfd, t->pidfd, devnull };
	sigset_t none;
	bool exec = t->spec->ready.type == READY_EXEC;

	/* The daemon's handlers and fds are not ours to keep. */
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	launch_close_all_but(keep, 3);

	if (devnull < 0)
		verdict(wfd, -errno);
	/* Joined before the mount namespace hides our cgroupfs paths; children inherit it. */
	if (exec && t->cg) {
		int r = cgroup_attach(t->cg, getpid());
		if (r < 0)
			verdict(wfd, r);
	}
	unsigned f = ns_flags(t->spec, exec);
	if (f && setns(t->pidfd, (int)f) < 0)
		verdict(wfd, -errno);
	verdict(wfd, exec ? probe_exec(t, devnull) : probe_tcp(t));
}

/* --- the daemon side ------------------------------------------------------------------ */

static void end_attempt(struct ready_probe *p)
{
	if (p->ev_result) {
		event_free(p->ev_result);
		p->ev_result = NULL;
	}
	if (p->result_fd >= 0) {
		close(p->result_fd);
		p->result_fd = -1;
	}
	if (p->helper_fd >= 0) {
		/* Still running (a timeout, or we are being freed): no verdict wanted. */
		(void)syscall(SYS_pidfd_send_signal, p->helper_fd, SIGKILL, NULL, 0);
		close(p->helper_fd);
		p->helper_fd = -1;
	}
}

static void set_timer(struct ready_probe *p, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	evtimer_del(p->ev_timer);
	evtimer_add(p->ev_timer, &tv);
}

static void on_result(evutil_socket_t fd, short what, void *arg)
{
	struct ready_probe *p = arg;
	int v = -EPIPE;
	ssize_t n = read(fd, &v, sizeof(v));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != sizeof(v))
		v = -EPIPE; /* the helper died without a verdict */
	close(p->helper_fd); /* it exits by itself now; the SIGCHLD sweep reaps it */
	p->helper_fd = -1;
	end_attempt(p);
	if (v == 0) {
		evtimer_del(p->ev_timer);
		log_debug("service %s: ready probe passed after %u attempts", p->name, p->attempts);
		p->passed(p->arg); /* may free p */
		return;
	}
	if (v > 0)
		snprintf(p->last, sizeof(p->last), "exit %d", v);
	else
		snprintf(p->last, sizeof(p->last), "%s: %s",
			 p->t.spec->ready.type == READY_TCP ? "connect" : "probe", strerror(-v));
	set_timer(p, RETRY_MS);
}

/* The timer: either the next attempt is due, or the running one took too long. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ready_probe *p = arg;

	if (p->result_fd >= 0) {
		snprintf(p->last, sizeof(p->last), "attempt took longer than %d ms; killed",
			 ATTEMPT_MAX_MS);
		end_attempt(p);
		set_timer(p, RETRY_MS);
		return;
	}
	start_attempt(p);
}

static void start_attempt(struct ready_probe *p)
{
	int fds[2];

	p->attempts++;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(p->last, sizeof(p->last), "pipe: %s", strerror(errno));
		set_timer(p, RETRY_MS);
		return;
	}
	/* fork(), not a raw clone: the helper allocates and may abort(), which
	 * signals the thread id glibc noted at its own fork. */
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(p->last, sizeof(p->last), "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		set_timer(p, RETRY_MS);
		return;
	}
	if (pid == 0)
		helper_main(&p->t, fds[1]);
	close(fds[1]);
	/* Not reaped before this returns: the sweep runs from the loop. */
	p->helper = pid;
	p->helper_fd = (int)syscall(SYS_pidfd_open, pid, 0);
	p->result_fd = fds[0];
	p->ev_result = event_new(p->base, fds[0], EV_READ, on_result, p);
	event_add(p->ev_result, NULL);
	set_timer(p, ATTEMPT_MAX_MS);
}

struct ready_probe *ready_probe_new(struct event_base *base, const struct ready_target *t,
				    ready_probe_fn passed, void *arg)
{
	struct ready_probe *p;
	int pidfd = fcntl(t->pidfd, F_DUPFD_CLOEXEC, 3);

	if (pidfd < 0)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->base = base;
	p->name = t->spec->name;
	p->passed = passed;
	p->arg = arg;
	p->t = *t;
	p->t.pidfd = pidfd;
	p->helper_fd = p->result_fd = -1;
	p->ev_timer = evtimer_new(base, on_timer, p);
	start_attempt(p);
	return p;
}

const struct service_spec *ready_probe_spec(const struct ready_probe *p)
{
	return p->t.spec;
}

struct ready_probe *ready_probe_free(struct ready_probe *p)
{
	if (!p)
		return NULL;
	end_attempt(p);
	if (p->ev_timer)
		event_free(p->ev_timer);
	close(p->t.pidfd);
	free(p);
	return NULL;
}
