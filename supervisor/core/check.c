/*
 * check.c - one check attempt inside a service (see check.h).
 *
 * Each attempt is a helper process forked from the daemon, so the loop
 * never blocks and nothing of the daemon changes namespace:
 *   tcp:  the helper joins the service's network namespace (setns on the
 *         pidfd of the service's first process) and connects to
 *         127.0.0.1:PORT there; "accepted" passes.
 *   http: as tcp, then sends a GET of the path (HTTP/1.0) and reads the
 *         status line (at most CHECK_OUTPUT_MAX bytes, under a receive
 *         timeout); the wanted status, or any 2xx/3xx, passes.
 *   exec: the helper joins the service's cgroup (cgroup.procs), then its
 *         mount, pid, net, uts, ipc and cgroup namespaces, and forks the
 *         command, which runs as the service's user with the service's
 *         capability bounds and seccomp filter (as `docker exec` does), its
 *         stdout and stderr on a pipe the helper keeps the head of. Exit
 *         status 0 passes. A command that leaves a background process
 *         holding its output open runs into the timeout.
 * The helper writes one message to a pipe, at most PIPE_BUF so it is one
 * write: an int verdict, then the output. The daemon's SIGCHLD sweep reaps
 * helpers, which is why the verdict travels over a pipe and not as an exit
 * status. An attempt that outlives its timeout is SIGKILLed, its command
 * with it (PR_SET_PDEATHSIG).
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "check.h"
#include "clone.h"
#include "harden.h"
#include "launch.h"
#include "util.h"

#define NET_TIMEOUT_S 2 /* connect, send and each receive, inside the attempt's timeout */

struct check_msg {
	int verdict;
	char output[CHECK_OUTPUT_MAX + 1];
};
_Static_assert(sizeof(struct check_msg) <= PIPE_BUF, "a verdict is one atomic write");

struct check_attempt {
	struct check_target t;
	struct check_what w;
	check_done_fn done;
	void *arg;
	int helper_fd; /* pidfd of the helper, or -1 */
	int result_fd; /* read end of its verdict pipe */
	struct event *ev_result, *ev_timer;
	uint64_t timeout_ms;
};

/* --- the helper (child side) ------------------------------------------------------ */

static void __attribute__((noreturn)) verdict(int fd, struct check_msg *m, int v)
{
	m->verdict = v;
	(void)!write(fd, m, sizeof(m->verdict) + strlen(m->output));
	_exit(0);
}

/* The namespaces an attempt joins: net only (tcp, http), or all but user (exec). */
static unsigned ns_flags(const struct service_spec *spec, bool all)
{
	unsigned ns = spec->isolation.namespaces;

	return (unsigned)launch_ns_flags(all ? ns & ~SPEC_NS_USER : ns & SPEC_NS_NET);
}

static int connect_local(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = NET_TIMEOUT_S };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Linux bounds a blocking connect by the send timeout. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int probe_tcp(const struct check_what *w)
{
	int fd = connect_local(w->port);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* "HTTP/1.x NNN ..." -> NNN, or -EPROTO. */
static int status_of(const char *line)
{
	char *end;
	long st;

	if (strncmp(line, "HTTP/", 5) != 0 || !(line = strchr(line, ' ')))
		return -EPROTO;
	st = strtol(line + 1, &end, 10);
	if (end != line + 4 || st < 100 || st > 599)
		return -EPROTO;
	return (int)st;
}

static int probe_http(const struct check_what *w, char *out)
{
	char req[CHECK_OUTPUT_MAX + 128];
	size_t got = 0;
	int fd, n, st;

	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\nUser-Agent: paddock-health\r\n"
		     "Connection: close\r\n\r\n",
		     w->path, w->port);
	if (n < 0 || (size_t)n >= sizeof(req))
		return -E2BIG;
	if ((fd = connect_local(w->port)) < 0)
		return fd;
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		return -errno;
	/* The status line only: bounded, each read under the receive timeout. */
	while (got < CHECK_OUTPUT_MAX && !memchr(out, '\n', got)) {
		ssize_t r = recv(fd, out + got, CHECK_OUTPUT_MAX - got, 0);
		if (r < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	out[got] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	close(fd);
	if (!got)
		return -ECONNRESET;
	if ((st = status_of(out)) < 0)
		return st;
	if (w->status ? st == w->status : st >= 200 && st < 400)
		return 0;
	return st;
}

static int probe_exec(const struct check_target *t, const struct check_what *w, int devnull,
		      char *out)
{
	static char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	static char home[] = "HOME=/";
	char *const env[] = { path, home, NULL };
	struct harden_plan hp;
	struct error err;
	int st, hr, pfd[2];
	size_t got = 0;
	char sink[4096];
	pid_t pid;

	hr = harden_prepare(t->spec, &hp, &err);
	if (hr < 0)
		return hr;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork(); /* the first process in the joined pid namespace */
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(devnull, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(126);
		(void)syscall(SYS_close_range, 3, ~0U, 0);
		if (chdir("/") < 0 || harden_apply_bounding(&hp, NULL) < 0 ||
		    setgroups(0, NULL) < 0 || setresgid(t->gid, t->gid, t->gid) < 0 ||
		    setresuid(t->uid, t->uid, t->uid) < 0 || harden_apply(&hp, NULL) < 0)
			_exit(126);
		execvpe(w->argv[0], w->argv, env);
		_exit(127);
	}
	harden_plan_free(&hp);
	close(pfd[1]);
	/* Keep the head, drain the rest so the command never blocks on a full pipe. */
	for (;;) {
		bool head = got < CHECK_OUTPUT_MAX;
		ssize_t r = read(pfd[0], head ? out + got : sink,
				 head ? CHECK_OUTPUT_MAX - got : sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (head)
			got += (size_t)r;
	}
	out[got] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

static void __attribute__((noreturn))
helper_main(const struct check_target *t, const struct check_what *w, int wfd)
{
	static struct check_msg m; /* static: the helper's stack stays small */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC), keep[3] = { wfd, t->pidfd, devnull };
	bool exec = w->kind == CHECK_EXEC;
	sigset_t none;

	/* The daemon's handlers and fds are not ours to keep. */
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	launch_close_all_but(keep, 3);

	if (devnull < 0)
		verdict(wfd, &m, -errno);
	/* Joined before the mount namespace hides our cgroupfs paths; children inherit it. */
	if (exec && t->cg) {
		int r = cgroup_attach(t->cg, getpid());
		if (r < 0)
			verdict(wfd, &m, r);
	}
	unsigned f = ns_flags(t->spec, exec);
	if (f && setns(t->pidfd, (int)f) < 0)
		verdict(wfd, &m, -errno);
	switch (w->kind) {
	case CHECK_EXEC:
		verdict(wfd, &m, probe_exec(t, w, devnull, m.output));
	case CHECK_HTTP:
		verdict(wfd, &m, probe_http(w, m.output));
	case CHECK_TCP:
		break;
	}
	verdict(wfd, &m, probe_tcp(w));
}

/* --- the daemon side ------------------------------------------------------------------ */

struct check_attempt *check_cancel(struct check_attempt *a)
{
	if (!a)
		return NULL;
	if (a->ev_result)
		event_free(a->ev_result);
	if (a->ev_timer)
		event_free(a->ev_timer);
	if (a->result_fd >= 0)
		close(a->result_fd);
	if (a->helper_fd >= 0) {
		/* Still running (a timeout, or the owner is going): no verdict wanted. */
		(void)syscall(SYS_pidfd_send_signal, a->helper_fd, SIGKILL, NULL, 0);
		close(a->helper_fd);
	}
	if (a->t.pidfd >= 0)
		close(a->t.pidfd);
	free(a);
	return NULL;
}

static void finish(struct check_attempt *a, int v, const char *output)
{
	a->done(a->arg, v, output);
	(void)check_cancel(a);
}

static void on_result(evutil_socket_t fd, short what, void *arg)
{
	struct check_attempt *a = arg;
	struct check_msg m;
	ssize_t n = read(fd, &m, sizeof(m) - 1);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < (ssize_t)sizeof(m.verdict)) {
		m.verdict = -EPIPE; /* the helper died without a verdict */
		n = sizeof(m.verdict);
	}
	((char *)&m)[n] = '\0';
	/* It exits by itself now; the SIGCHLD sweep reaps it. */
	close(a->helper_fd);
	a->helper_fd = -1;
	finish(a, m.verdict, m.output);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct check_attempt *a = arg;

	finish(a, -ETIMEDOUT, "");
}

struct check_attempt *check_start(struct event_base *base, const struct check_target *t,
				  const struct check_what *w, uint64_t timeout_ms,
				  check_done_fn done, void *arg)
{
	struct timeval tv = { .tv_sec = (time_t)(timeout_ms / 1000),
			      .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };
	struct check_attempt *a;
	int fds[2];
	pid_t pid;

	a = xcalloc(1, sizeof(*a));
	a->t = *t;
	a->w = *w;
	a->done = done;
	a->arg = arg;
	a->timeout_ms = timeout_ms;
	a->helper_fd = a->result_fd = -1;
	a->t.pidfd = fcntl(t->pidfd, F_DUPFD_CLOEXEC, 3);
	if (a->t.pidfd < 0 || pipe2(fds, O_CLOEXEC) < 0)
		return check_cancel(a);
	/* fork(), not a raw clone: the helper allocates and may abort(), which
	 * signals the thread id glibc noted at its own fork. */
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return check_cancel(a);
	}
	if (pid == 0)
		helper_main(&a->t, &a->w, fds[1]);
	close(fds[1]);
	/* Not reaped before this returns: the sweep runs from the loop. */
	a->helper_fd = (int)syscall(SYS_pidfd_open, pid, 0);
	a->result_fd = fds[0];
	a->ev_result = event_new(base, fds[0], EV_READ, on_result, a);
	a->ev_timer = evtimer_new(base, on_timeout, a);
	event_add(a->ev_result, NULL);
	evtimer_add(a->ev_timer, &tv);
	return a;
}

const char *check_describe(enum check_kind kind, int verdict, const char *output, char *buf,
			   size_t len)
{
	if (verdict == -ETIMEDOUT)
		snprintf(buf, len, "timed out; killed");
	else if (verdict < 0)
		snprintf(buf, len, "%s: %s", kind == CHECK_EXEC ? "check" : "connect",
			 strerror(-verdict));
	else if (kind == CHECK_HTTP)
		snprintf(buf, len, "HTTP status %d", verdict);
	else
		snprintf(buf, len, "exit %d", verdict);
	(void)output;
	return buf;
}
