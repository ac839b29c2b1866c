/*
 * check.c - one check attempt inside a service (see check.h).
 *
 * Nothing blocks the loop, and the daemon forks as little as it can: 100
 * services checked every second must cost it a small part of a core.
 *   tcp:  the daemon joins the service's network namespace (setns on the
 *         pidfd of the service's first process) just long enough to create
 *         a socket, which stays in that namespace, and returns to its own;
 *         then a non-blocking connect to 127.0.0.1:PORT on the loop.
 *         "Accepted" passes. A service on the host's network just connects.
 *   http: as tcp, then a GET of the path (HTTP/1.0) and the status line
 *         (at most CHECK_OUTPUT_MAX bytes); the wanted status, or any
 *         2xx/3xx, passes. Connect and each receive have NET_TIMEOUT_S.
 *   exec: a helper process, forked from the daemon, joins the service's
 *         cgroup (cgroup.procs), then its mount, pid, net, uts, ipc and
 *         cgroup namespaces, and waits for requests on a socket. For each
 *         it vforks the command, which runs as the service's user with the
 *         service's capability bounds and seccomp filter (as `docker exec`
 *         does), its stdout and stderr on a pipe the helper keeps the head
 *         of, and answers with one message: an int verdict, then the
 *         output. Exit status 0 passes. Health checks keep their helper
 *         for the service's life (check_target.keep), so an attempt costs
 *         the daemon a send and a receive; readiness probes keep theirs
 *         until the service is ready. The helper leads a process group its
 *         commands inherit: a timeout kills the group (the command and
 *         what it left running, unless that made a session of its own),
 *         and the next attempt starts a new helper. A command that leaves a
 *         background process holding its output open runs into the timeout.
 * The daemon's SIGCHLD sweep reaps helpers; a helper dies with the daemon
 * (PR_SET_PDEATHSIG), and leaves when its socket closes (a re-exec).
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
#include "log.h"
#include "util.h"

#define NET_TIMEOUT_S 2 /* connect, send and each receive, inside the attempt's timeout */

struct check_msg {
	int verdict;
	char output[CHECK_OUTPUT_MAX + 1];
};
_Static_assert(sizeof(struct check_msg) <= PIPE_BUF, "a verdict is one message");

struct check_helper {
	pid_t pid; /* also its process group */
	int pidfd;
	int sock; /* SOCK_SEQPACKET: a byte asks for a run, a check_msg answers */
};

struct check_attempt {
	struct check_target t;
	struct check_what w;
	check_done_fn done;
	void *arg;
	struct check_helper *helper; /* exec: *t.keep, or this attempt's own */
	int sock; /* tcp, http: the connection, or -1 */
	bool sent; /* http: the request is out, the status line is coming */
	size_t got; /* http: bytes of the status line */
	char line[CHECK_OUTPUT_MAX + 1];
	int early; /* a verdict known in check_start, given from the loop */
	struct event *ev_io, *ev_timer;
};

/* --- the helper (child side) ------------------------------------------------------ */

static void send_verdict(int fd, struct check_msg *m, int v)
{
	m->verdict = v;
	(void)!send(fd, m, sizeof(m->verdict) + strlen(m->output), MSG_NOSIGNAL);
}

/* The namespaces an exec helper joins: all but user. */
static unsigned ns_flags(const struct service_spec *spec)
{
	return (unsigned)launch_ns_flags(spec->isolation.namespaces & ~SPEC_NS_USER);
}

/* Keep the head of a command's output, drain the rest so it never blocks on a full pipe. */
static void read_head(int fd, char *out)
{
	size_t got = 0;
	char sink[4096];

	for (;;) {
		bool head = got < CHECK_OUTPUT_MAX;
		ssize_t r =
		    read(fd, head ? out + got : sink, head ? CHECK_OUTPUT_MAX - got : sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (head)
			got += (size_t)r;
	}
	out[got] = '\0';
}

static int exit_verdict(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

static int probe_exec(const struct check_target *t, const struct check_what *w,
		      const struct harden_plan *hp, int devnull, char *out)
{
	static char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	static char home[] = "HOME=/";
	char *const env[] = { path, home, NULL };
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	/*
	 * vfork: the helper waits for the command anyway, and copies no page
	 * tables. The child makes system calls only (raw set*id: glibc's
	 * wrappers would sync threads through memory it shares).
	 */
	pid = vfork(); /* into the joined pid namespace */
	if (pid == 0) {
		if (dup2(devnull, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(126);
		(void)syscall(SYS_close_range, 3, ~0U, 0);
		if (chdir("/") < 0 || harden_apply_bounding(hp, NULL) < 0 ||
		    syscall(SYS_setgroups, 0, NULL) < 0 ||
		    syscall(SYS_setresgid, t->gid, t->gid, t->gid) < 0 ||
		    syscall(SYS_setresuid, t->uid, t->uid, t->uid) < 0 ||
		    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || harden_apply(hp, NULL) < 0)
			_exit(126);
		execvpe(w->argv[0], w->argv, env);
		_exit(127);
	}
	if (pid < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return -e;
	}
	close(pfd[1]);
	read_head(pfd[0], out);
	close(pfd[0]);
	return exit_verdict(pid);
}

static void __attribute__((noreturn))
helper_main(const struct check_target *t, const struct check_what *w, int sock, pid_t daemon)
{
	static struct check_msg m; /* static: the helper's stack stays small */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC), keep[3] = { sock, t->pidfd, devnull };
	unsigned f = ns_flags(t->spec);
	struct harden_plan hp;
	struct error err;
	int setup = devnull < 0 ? -errno : 0;
	sigset_t none;
	char c;

	/* The daemon's handlers and fds are not ours to keep. */
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	launch_close_all_but(keep, 3);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != daemon)
		_exit(0); /* it died before PDEATHSIG was set */
	(void)setpgid(0, 0); /* what a timeout kills: the commands inherit it */
	(void)prctl(PR_SET_NAME, "paddock-check");

	/* Joined before the mount namespace hides our cgroupfs paths; commands inherit it. */
	if (!setup && t->cg)
		setup = cgroup_attach(t->cg, getpid());
	if (!setup && f && setns(t->pidfd, (int)f) < 0)
		setup = -errno;
	if (!setup)
		setup = harden_prepare(t->spec, &hp, &err);
	/* One run per request; a failed setup fails each. EOF: the daemon is done. */
	while (recv(sock, &c, 1, 0) == 1) {
		m.output[0] = '\0';
		send_verdict(sock, &m,
			     setup < 0 ? setup : probe_exec(t, w, &hp, devnull, m.output));
	}
	_exit(0);
}

/* --- the daemon side: helpers --------------------------------------------------------- */

static struct check_helper *helper_start(const struct check_target *t, const struct check_what *w)
{
	struct check_helper *h;
	pid_t daemon = getpid();
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	/* fork(), not a raw clone: the helper allocates and may abort(), which
	 * signals the thread id glibc noted at its own fork. */
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		close(sv[0]);
		helper_main(t, w, sv[1], daemon);
	}
	close(sv[1]);
	log_debug("service %s: check helper %d started", t->spec->name, (int)pid);
	h = xcalloc(1, sizeof(*h));
	h->pid = pid;
	h->sock = sv[0];
	/* Not reaped before this returns: the sweep runs from the loop. */
	h->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	(void)fcntl(h->sock, F_SETFL, O_NONBLOCK);
	return h;
}

/* The helper leaves by itself when its socket closes; the SIGCHLD sweep reaps it. */
static struct check_helper *helper_close(struct check_helper *h)
{
	if (h->pidfd >= 0)
		close(h->pidfd);
	close(h->sock);
	free(h);
	return NULL;
}

struct check_helper *check_helper_free(struct check_helper *h)
{
	if (!h)
		return NULL;
	/*
	 * The group, with a command and what it left: the helper is our
	 * unreaped child or its group outlives it, so the id is not reused
	 * (unless it died and all its group with it, between two turns).
	 */
	(void)kill(-h->pid, SIGKILL);
	if (h->pidfd >= 0) /* the helper itself, before it made its group */
		(void)syscall(SYS_pidfd_send_signal, h->pidfd, SIGKILL, NULL, 0);
	return helper_close(h);
}

/* --- the daemon side: attempts -------------------------------------------------------- */

/* A helper still on the attempt is busy (a timeout) or dead: it goes. */
static void drop_helper(struct check_attempt *a)
{
	a->helper = check_helper_free(a->helper);
	if (a->t.keep)
		*a->t.keep = NULL;
}

struct check_attempt *check_cancel(struct check_attempt *a)
{
	if (!a)
		return NULL;
	if (a->ev_io)
		event_free(a->ev_io);
	if (a->ev_timer)
		event_free(a->ev_timer);
	if (a->sock >= 0)
		close(a->sock);
	if (a->helper) /* still running: the owner is going, no verdict wanted */
		drop_helper(a);
	free(a);
	return NULL;
}

static void finish(struct check_attempt *a, int v, const char *output)
{
	/* First: done may free the owner, and *t.keep with it. */
	if (a->helper)
		drop_helper(a);
	a->done(a->arg, v, output);
	(void)check_cancel(a);
}

static void on_result(evutil_socket_t fd, short what, void *arg)
{
	struct check_attempt *a = arg;
	struct check_msg m;
	ssize_t n = recv(fd, &m, sizeof(m) - 1, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < (ssize_t)sizeof(m.verdict)) {
		m.verdict = -EPIPE; /* the helper died without a verdict */
		n = sizeof(m.verdict);
	} else if (a->t.keep) {
		a->helper = NULL; /* idle in *t.keep until the next attempt */
	} else {
		a->helper = helper_close(a->helper);
	}
	((char *)&m)[n] = '\0';
	finish(a, m.verdict, m.output);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct check_attempt *a = arg;

	finish(a, a->early ? a->early : -ETIMEDOUT, "");
}

static int start_exec(struct check_attempt *a, struct event_base *base)
{
	struct check_helper **slot = a->t.keep ? a->t.keep : &a->helper;

	/* A kept helper that died (its service's cgroup was killed) is replaced once. */
	for (int tries = 0; tries < 2; tries++) {
		if (!*slot && !(*slot = helper_start(&a->t, &a->w)))
			return -errno;
		if (send((*slot)->sock, "r", 1, MSG_NOSIGNAL) == 1)
			break;
		*slot = check_helper_free(*slot);
	}
	if (!*slot)
		return -EPIPE;
	a->helper = *slot;
	a->ev_io = event_new(base, a->helper->sock, EV_READ | EV_PERSIST, on_result, a);
	return event_add(a->ev_io, NULL);
}

/* --- tcp and http, on the loop ---------------------------------------------------------- */

/* A non-blocking TCP socket in the target's network namespace, or -errno. */
static int net_socket(const struct check_target *t)
{
	static int own = -1; /* the daemon's network namespace */
	bool join = t->spec->isolation.namespaces & SPEC_NS_NET;
	int fd, e;

	if (join) {
		if (own < 0 && (own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
			return -errno;
		if (setns(t->pidfd, CLONE_NEWNET) < 0)
			return -errno;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	e = errno;
	/* The socket stays in the namespace it was made in; we must not. */
	if (join && setns(own, CLONE_NEWNET) < 0)
		fatal("health check: cannot return to our network namespace");
	return fd < 0 ? -e : fd;
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

static int http_verdict(struct check_attempt *a)
{
	int st;

	a->line[a->got] = '\0';
	a->line[strcspn(a->line, "\r\n")] = '\0';
	if (!a->got)
		return -ECONNRESET;
	if ((st = status_of(a->line)) < 0)
		return st;
	if (a->w.status ? st == a->w.status : st >= 200 && st < 400)
		return 0;
	return st;
}

static int http_send(struct check_attempt *a)
{
	char req[CHECK_OUTPUT_MAX + 128];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\nUser-Agent: paddock-health\r\n"
			 "Connection: close\r\n\r\n",
			 a->w.path, a->w.port);

	if (n < 0 || (size_t)n >= sizeof(req))
		return -E2BIG;
	/* A fresh socket's buffer takes it whole. */
	ssize_t r = send(a->sock, req, (size_t)n, MSG_NOSIGNAL);
	if (r < 0)
		return -errno;
	return r == n ? 0 : -EMSGSIZE;
}

static void on_net(evutil_socket_t fd, short what, void *arg)
{
	struct check_attempt *a = arg;
	struct timeval step = { .tv_sec = NET_TIMEOUT_S };
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t r;

	if (what & EV_TIMEOUT) {
		finish(a, -ETIMEDOUT, "");
		return;
	}
	if (!a->sent) { /* connected, or not */
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			finish(a, -err, "");
			return;
		}
		if (a->w.kind == CHECK_TCP) {
			finish(a, 0, "");
			return;
		}
		if ((err = http_send(a)) < 0) {
			finish(a, err, "");
			return;
		}
		a->sent = true;
		event_free(a->ev_io);
		a->ev_io = event_new(event_get_base(a->ev_timer), fd, EV_READ, on_net, a);
		event_add(a->ev_io, &step);
		return;
	}
	/* The status line only: bounded, each read under the step timeout. */
	r = recv(fd, a->line + a->got, CHECK_OUTPUT_MAX - a->got, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
		event_add(a->ev_io, &step);
		return;
	}
	if (r < 0) {
		finish(a, -errno, "");
		return;
	}
	a->got += (size_t)r;
	if (r > 0 && a->got < CHECK_OUTPUT_MAX && !memchr(a->line, '\n', a->got)) {
		event_add(a->ev_io, &step);
		return;
	}
	err = http_verdict(a);
	finish(a, err, a->line);
}

static int start_net(struct check_attempt *a, struct event_base *base)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(a->w.port) };
	struct timeval step = { .tv_sec = NET_TIMEOUT_S };

	if ((a->sock = net_socket(&a->t)) < 0)
		return a->sock;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(a->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		return -errno;
	/* Writable when connected or refused; SO_ERROR tells which. */
	a->ev_io = event_new(base, a->sock, EV_WRITE, on_net, a);
	return event_add(a->ev_io, &step);
}

struct check_attempt *check_start(struct event_base *base, const struct check_target *t,
				  const struct check_what *w, uint64_t timeout_ms,
				  check_done_fn done, void *arg)
{
	struct timeval tv = { .tv_sec = (time_t)(timeout_ms / 1000),
			      .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };
	struct check_attempt *a;
	int r;

	a = xcalloc(1, sizeof(*a));
	a->t = *t;
	a->w = *w;
	a->done = done;
	a->arg = arg;
	a->sock = -1;
	a->ev_timer = evtimer_new(base, on_timeout, a);
	r = w->kind == CHECK_EXEC ? start_exec(a, base) : start_net(a, base);
	if (r < 0 && w->kind == CHECK_EXEC && !a->helper)
		return check_cancel(a); /* no helper: as a failed fork */
	if (r < 0) {
		/* Refused at once, as the loop would have heard: the verdict from it. */
		a->early = r;
		if (a->ev_io) {
			event_free(a->ev_io);
			a->ev_io = NULL;
		}
		event_active(a->ev_timer, EV_TIMEOUT, 1);
		return a;
	}
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
