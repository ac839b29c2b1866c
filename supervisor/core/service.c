/*
 * service.c - one service's life: cgroup, launch, exit, restart policy,
 * stop escalation and output capture.
 *
 * Every state change goes through service_set_state(); every reaction to
 * an event goes through service_dispatch(), a switch over (state, event)
 * in one place (s6-supervise's table). A service is settled only when its
 * process has exited, its cgroup is gone and both output pipes have hit
 * EOF (tmux's JOB_DEAD and JOB_CLOSED).
 */
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "events.h"
#include "harden.h"
#include "image.h"
#include "launch.h"
#include "log.h"
#include "logstore.h"
#include "monitor.h"
#include "notify.h"
#include "probe.h"
#include "ready.h"
#include "rebalance-glue.h"
#include "service.h"
#include "state.h"
#include "fdstore.h"
#include "units.h"
#include "util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define READ_BUDGET (64 * 1024) /* bytes read per output event: keeps the loop fair */
#define CGROUP_RETRY_MS 20 /* re-check an emptying cgroup this often */
#define CGROUP_RETRY_MAX 250 /* ... for at most 5 s */

enum service_event {
	SE_START, /* operator or boot asks for it to run */
	SE_STOP, /* operator or shutdown asks for it to stop */
	SE_EXEC_OK, /* report pipe closed without a report */
	SE_LAUNCH_FAILED,
	SE_EXITED, /* main process gone and reaped */
	SE_TIMER, /* backoff over, or stop timeout */
	SE_CLEANED, /* cgroup empty and removed */
};

struct service {
	struct daemon *d;
	const struct service_spec *spec;
	enum service_state state;
	uint64_t since_ms; /* realtime */

	struct cgroup *cg;
	struct cgroup_limits limits;
	struct launch_child child;
	pid_t main_pid;
	pid_t last_pid; /* the main pid of the last run, for its exit event */
	uint64_t started_mono;
	bool frozen;
	bool stop_requested; /* the exit we wait for is one we asked for */
	bool kill_sent;
	bool restart_pending; /* an internal restart: start again once stopped */
	bool reload_restart; /* ... because the spec changed: right away, no backoff */
	bool sigkill_sent; /* we SIGKILLed it: a SIGKILL exit is ours, not the OOM killer's */
	unsigned cleanup_tries;

	struct event *ev_exit, *ev_report, *ev_timer;
	struct event *ev_out[2];
	int out_fd[2];
	struct logstore *log;

	struct launch_report report;
	bool have_report;

	char *cpus_override; /* owned cpuset string of an operator's `set` */
	bool pinned; /* limits changed by `set`: kept until reset */
	struct spec_set *owned_specs; /* transient services own their spec */

	/* image: resolved (layers present) before the first start; helper while unpacking */
	struct image_info *image;
	int image_fd; /* read end of the helper's result pipe */
	struct event *ev_image;
	char *rootfs_dir; /* <state>/rootfs/<name>: merged, upper, work */
	bool remove_when_settled;

	unsigned restarts;
	uint64_t oom_kills; /* every OOM kill seen in the group, across restarts */
	void *monitor_state; /* monitor.c's per-service probe state */
	unsigned failures; /* consecutive, for backoff */
	uint64_t *starts; /* ring of the last `burst` start times (monotonic ms) */
	unsigned nstarts, starts_pos;
	struct service_exit last_exit;
	unsigned warned; /* CGROUP_UNSUPPORTED_* already logged */

	uint64_t start_time; /* main pid's start time (/proc/PID/stat), for re-adoption */
	uint64_t started_at_ms; /* realtime of the last start */
	bool adopted; /* main process started by an earlier paddockd: not our child */
	char *spec_text; /* transient: the spec document, for the state file */
	/* readiness (see "readiness" below) */
	uint64_t timer_due; /* monotonic ms ev_timer fires at; EXTEND_TIMEOUT_USEC moves it */
	struct ready_probe *probe; /* ready: exec | tcp, while starting */
	struct event *ev_watchdog;
	uint64_t watchdog_usec; /* spec, or WATCHDOG_USEC= from the service; 0 = off */
	uint64_t last_watchdog_ms; /* realtime of the last WATCHDOG=1 */
	uint64_t ready_ms; /* how long the last start took to be ready */
	enum exit_kind forced; /* we are killing it for this (watchdog, ready-timeout) */
	char forced_reason[160];
	char *status_text; /* last STATUS= */
	pid_t notify_mainpid; /* accepted MAINPID= (host pid, inside the cgroup) */
	uint64_t notify_malformed;
	uid_t run_uid; /* the user it runs as: ready: exec runs as it too */
	gid_t run_gid;
};

static void service_dispatch(struct service *svc, enum service_event ev);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void on_watchdog(evutil_socket_t fd, short what, void *arg);
static void readiness_end(struct service *svc);

static uint64_t realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *service_state_name(enum service_state st)
{
	static const char *const names[] = { "stopped", "starting", "running", "stopping",
					     "backoff", "failed",   "waiting" };
	return st < ARRAY_SIZE(names) ? names[st] : "?";
}

static void service_set_state(struct service *svc, enum service_state st)
{
	if (svc->state == st)
		return;
	log_debug("service %s: %s -> %s", svc->spec->name, service_state_name(svc->state),
		  service_state_name(st));
	svc->state = st;
	svc->since_ms = realtime_ms();
	daemon_state_changed(svc->d);
	if (st == SVC_RUNNING)
		daemon_service_running(svc->d);
	if (service_settled(svc))
		daemon_service_settled(svc->d);
}

struct json_object *service_exit_json(const struct service_exit *e)
{
	static const char *const kinds[] = { "none",	 "exited",	  "signal",
					     "oom-kill", "launch",	  "start-limit",
					     "watchdog", "ready-timeout", "unknown" };
	struct json_object *o;

	if (e->kind == EXIT_NONE)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string(kinds[e->kind]));
	json_object_object_add(o, "code", json_object_new_int(e->code));
	json_object_object_add(o, "reason", json_object_new_string(e->reason));
	json_object_object_add(o, "time_ms", json_object_new_int64((int64_t)e->when_ms));
	return o;
}

/* An event about this service, with its main pid when it has one. */
static void emit(struct service *svc, const char *type, struct json_object *data)
{
	if (!data)
		data = json_object_new_object();
	if (svc->main_pid)
		json_object_object_add(data, "pid", json_object_new_int(svc->main_pid));
	eventlog_emit(paddock_events, svc->spec->name, type, data);
}

static struct json_object *jobj(const char *k1, struct json_object *v1, const char *k2,
				struct json_object *v2)
{
	struct json_object *o = json_object_new_object();
	if (k1)
		json_object_object_add(o, k1, v1);
	if (k2)
		json_object_object_add(o, k2, v2);
	return o;
}

static void limits_from_spec(struct cgroup_limits *l, const struct service_spec *spec)
{
	l->memory = spec->resources.memory;
	l->cpu_weight = spec->resources.cpu.weight;
	l->cpu_max_mcpu = spec->resources.cpu.max_mcpu;
	l->cpus = spec->resources.cpu.cpus;
	l->pids_max = spec->resources.pids_max;
	l->io_weight = spec->resources.io_weight;
}

struct service *service_new(struct daemon *d, const struct service_spec *spec)
{
	struct service *svc = xcalloc(1, sizeof(*svc));

	svc->d = d;
	svc->spec = spec;
	svc->state = SVC_STOPPED;
	svc->since_ms = realtime_ms();
	svc->child =
	    (struct launch_child){ .pidfd = -1, .reportfd = -1, .statusfd = -1, .gofd = -1 };
	svc->out_fd[0] = svc->out_fd[1] = -1;
	svc->image_fd = -1;
	svc->ev_timer = evtimer_new(d->base, on_timer, svc);
	svc->ev_watchdog = evtimer_new(d->base, on_watchdog, svc);
	svc->starts = xcalloc(spec->restart.burst ? spec->restart.burst : 1, sizeof(uint64_t));
	limits_from_spec(&svc->limits, spec);
	svc->log = logstore_new(d->logs_dir, spec->name, d->cfg->log.max_size, d->cfg->log.keep,
				d->journald);
	return svc;
}

static void close_output(struct service *svc, int i)
{
	if (svc->ev_out[i]) {
		event_free(svc->ev_out[i]);
		svc->ev_out[i] = NULL;
	}
	if (svc->out_fd[i] >= 0) {
		close(svc->out_fd[i]);
		svc->out_fd[i] = -1;
		logstore_flush(svc->log, i + 1);
	}
}

static void release_process(struct service *svc)
{
	if (svc->ev_exit) {
		event_free(svc->ev_exit);
		svc->ev_exit = NULL;
	}
	if (svc->ev_report) {
		event_free(svc->ev_report);
		svc->ev_report = NULL;
	}
	if (svc->child.pidfd >= 0)
		(void)fdstore_drop(svc->d->fdstore, svc->spec->name);
	launch_child_close(&svc->child);
	svc->main_pid = 0;
	svc->adopted = false;
}

struct service *service_free(struct service *svc)
{
	if (!svc)
		return NULL;
	monitor_service_stopped(svc->d->monitor, svc);
	readiness_end(svc);
	release_process(svc);
	close_output(svc, 0);
	close_output(svc, 1);
	if (svc->ev_timer)
		event_free(svc->ev_timer);
	if (svc->ev_watchdog)
		event_free(svc->ev_watchdog);
	free(svc->status_text);
	svc->cg = cgroup_free(svc->cg);
	svc->log = logstore_free(svc->log);
	free(svc->starts);
	free(svc->cpus_override);
	if (svc->ev_image)
		event_free(svc->ev_image);
	if (svc->image_fd >= 0)
		close(svc->image_fd);
	svc->image = image_info_free(svc->image);
	free(svc->rootfs_dir);
	free(svc->spec_text);
	svc->owned_specs = spec_set_free(svc->owned_specs);
	free(svc);
	return NULL;
}

/* --- output ----------------------------------------------------------------- */

/*
 * Take what the pipe holds without consuming it: tee(2) copies it into a
 * scratch pipe we drain. Only once the lines are in the log file are the
 * bytes consumed from the service's pipe, so a paddockd killed at any
 * moment loses no line: the next one finds the unlogged bytes still in the
 * pipe (held by the fd holder) and at worst logs a few lines twice.
 * Returns bytes logged, 0 at EOF, -errno (-EAGAIN: nothing there).
 */
static ssize_t log_from_pipe(struct service *svc, int fd, int stream, char *buf, size_t len)
{
	static int scratch[2] = { -1, -1 };
	static bool no_tee;
	ssize_t n, got = 0;

	if (!no_tee && scratch[0] < 0 && pipe2(scratch, O_CLOEXEC | O_NONBLOCK) < 0)
		no_tee = true;
	if (no_tee) {
		n = read(fd, buf, len);
		if (n > 0)
			logstore_feed(svc->log, stream, buf, (size_t)n);
		return n < 0 ? -errno : n;
	}
	/* A pipe never holds more than the scratch pipe and len can take (64 KiB each). */
	n = tee(fd, scratch[1], len, SPLICE_F_NONBLOCK);
	if (n < 0 && errno == EINVAL) { /* not a pipe after all: a plain read */
		n = read(fd, buf, len);
		if (n > 0)
			logstore_feed(svc->log, stream, buf, (size_t)n);
		return n < 0 ? -errno : n;
	}
	if (n <= 0)
		return n < 0 ? -errno : 0;
	while (got < n) {
		ssize_t k = read(scratch[0], buf + got, (size_t)(n - got));
		if (k <= 0)
			break;
		got += k;
	}
	if (got < n) { /* cannot happen with pipes; never leave stale bytes in scratch */
		while (read(scratch[0], buf, len) > 0)
			;
		return -EIO;
	}
	logstore_feed(svc->log, stream, buf, (size_t)got);
	/* Now consume exactly that much. */
	for (ssize_t done = 0; done < got;) {
		ssize_t k = read(fd, buf, (size_t)(got - done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		done += k;
	}
	return got;
}

static void on_output(evutil_socket_t fd, short what, void *arg)
{
	struct service *svc = arg;
	int i = fd == svc->out_fd[0] ? 0 : 1;
	static char buf[65536];
	size_t total = 0;

	while (total < READ_BUDGET) {
		ssize_t n = log_from_pipe(svc, fd, i + 1, buf, sizeof(buf));
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN)
			return;
		/* EOF or error: this stream is done. */
		close_output(svc, i);
		if (service_settled(svc))
			daemon_service_settled(svc->d);
		return;
	}
}

/* Pipes for stdout/stderr; we keep the nonblocking read ends. */
static int open_outputs(struct service *svc, int wr[2])
{
	for (int i = 0; i < 2; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			int r = -errno;
			if (i == 1) {
				close(wr[0]);
				close_output(svc, 0);
			}
			return r;
		}
		(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
		close_output(svc, i);
		svc->out_fd[i] = p[0];
		wr[i] = p[1];
		svc->ev_out[i] =
		    event_new(svc->d->base, p[0], EV_READ | EV_PERSIST, on_output, svc);
		event_add(svc->ev_out[i], NULL);
	}
	return 0;
}

/* --- exit and launch reports ------------------------------------------------------ */

static void record_exit(struct service *svc, enum exit_kind kind, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void record_exit(struct service *svc, enum exit_kind kind, int code, const char *fmt, ...)
{
	va_list ap;

	svc->last_exit.kind = kind;
	svc->last_exit.code = code;
	svc->last_exit.when_ms = realtime_ms();
	va_start(ap, fmt);
	vsnprintf(svc->last_exit.reason, sizeof(svc->last_exit.reason), fmt, ap);
	va_end(ap);
}

/* Did the kernel OOM-kill something in this cgroup since it was created? */
static bool cgroup_saw_oom_kill(struct service *svc)
{
	struct probe_memory_events ev = { .oom_kill = PROBE_UNKNOWN };
	uint64_t kills = PROBE_UNKNOWN, under_oom = PROBE_UNKNOWN;
	char buf[1024];

	if (!svc->cg)
		return false;
	/* The probes' parsers: v2 memory.events, else v1 memory.oom_control. */
	if (cgroup_read_knob(svc->cg, "memory.events", buf, sizeof(buf)) >= 0 &&
	    probe_parse_memory_events(buf, &ev) == 0)
		kills = ev.oom_kill;
	else if (cgroup_read_knob(svc->cg, "memory.oom_control", buf, sizeof(buf)) >= 0)
		(void)probe_parse_oom_control(buf, &under_oom, &kills);
	return kills != PROBE_UNKNOWN && kills > 0;
}

/* Read the wait status paddock's init left on its status pipe; -1 if none. */
static int read_init_status(struct service *svc)
{
	int status = -1;

	if (svc->child.statusfd >= 0 &&
	    read(svc->child.statusfd, &status, sizeof(status)) != sizeof(status))
		status = -1;
	return status;
}

/* The main process is gone with wait status (-1: unknown): record why, dispatch. */
static void judge_exit(struct service *svc, int status, bool away)
{
	/* A launch report may still sit in the pipe: read it before judging. */
	if (svc->ev_report) {
		struct launch_report rep;
		if (read(svc->child.reportfd, &rep, sizeof(rep)) == sizeof(rep)) {
			svc->report = rep;
			svc->have_report = true;
		}
	}

	if (svc->have_report)
		record_exit(svc, EXIT_LAUNCH, svc->report.err, "%s: %s", svc->report.what,
			    strerror(svc->report.err));
	else if (status < 0 && cgroup_saw_oom_kill(svc))
		record_exit(svc, EXIT_OOM, SIGKILL, "oom-kill");
	else if (status < 0 && away)
		record_exit(svc, EXIT_UNKNOWN, 0,
			    "exited while paddockd was away (status unknown)");
	else if (status < 0)
		record_exit(
		    svc, EXIT_UNKNOWN, 0,
		    "exited (status unknown: started by an earlier paddockd, without init)");
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && !svc->sigkill_sent &&
		 cgroup_saw_oom_kill(svc))
		record_exit(svc, EXIT_OOM, SIGKILL, "oom-kill");
	else if (WIFSIGNALED(status))
		record_exit(svc, EXIT_SIGNAL, WTERMSIG(status), "killed by %s",
			    units_signal_name(WTERMSIG(status)));
	else if (WEXITSTATUS(status) == 137 && !svc->sigkill_sent && cgroup_saw_oom_kill(svc))
		record_exit(svc, EXIT_OOM, SIGKILL, "oom-kill");
	else
		record_exit(svc, EXIT_CODE, WEXITSTATUS(status), "exited %d", WEXITSTATUS(status));
	if (svc->forced != EXIT_NONE && !svc->have_report && svc->last_exit.kind != EXIT_OOM) {
		/* We killed it for a reason of ours: that is the cause, how it died the detail. */
		char how[sizeof(svc->last_exit.reason)];
		snprintf(how, sizeof(how), "%s", svc->last_exit.reason);
		record_exit(svc, svc->forced, svc->last_exit.code, "%s (%s)", svc->forced_reason,
			    how);
	}
	readiness_end(svc);
	release_process(svc);
	service_dispatch(svc, svc->have_report ? SE_LAUNCH_FAILED : SE_EXITED);
}

bool service_reap(struct service *svc)
{
	siginfo_t si = { 0 };
	int status;

	if (svc->child.pidfd < 0)
		return false;
	if (svc->adopted) {
		/* Not our child: the pidfd says it is gone, init's pipe says how. */
		struct pollfd p = { .fd = svc->child.pidfd, .events = POLLIN };
		if (poll(&p, 1, 0) <= 0)
			return false;
		judge_exit(svc, read_init_status(svc), false);
		return true;
	}
	if (syscall(SYS_waitid, P_PIDFD, svc->child.pidfd, &si, WEXITED | WNOHANG, NULL) < 0 ||
	    si.si_pid == 0)
		return false; /* not yet */
	status = read_init_status(svc);
	if (status < 0) /* no init in between: the kernel's word */
		status = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status;
	judge_exit(svc, status, false);
	return true;
}

static void on_exit_event(evutil_socket_t fd, short what, void *arg)
{
	(void)service_reap(arg);
}

static void on_report_event(evutil_socket_t fd, short what, void *arg)
{
	struct service *svc = arg;
	struct launch_report rep;
	ssize_t n = read(fd, &rep, sizeof(rep));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	event_free(svc->ev_report);
	svc->ev_report = NULL;
	if (n == sizeof(rep)) {
		svc->report = rep;
		svc->have_report = true;
		return; /* the child exits 127 next; judge on the exit */
	}
	close(svc->child.reportfd);
	svc->child.reportfd = -1;
	service_dispatch(svc, SE_EXEC_OK);
}

/* --- starting --------------------------------------------------------------------- */

static void warn_unsupported(struct service *svc, unsigned bits)
{
	static const struct {
		unsigned bit;
		const char *what;
	} names[] = {
		{ CGROUP_UNSUPPORTED_MEMORY_MIN, "memory.min" },
		{ CGROUP_UNSUPPORTED_MEMORY_HIGH, "memory.high" },
		{ CGROUP_UNSUPPORTED_SWAP_MAX, "memory.swap_max" },
		{ CGROUP_UNSUPPORTED_CPUSET, "cpu.cpus" },
		{ CGROUP_UNSUPPORTED_IO_WEIGHT, "io.weight" },
		{ CGROUP_UNSUPPORTED_CPU, "cpu" },
		{ CGROUP_UNSUPPORTED_PIDS, "pids.max" },
		{ CGROUP_UNSUPPORTED_MEMORY, "memory" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if ((bits & names[i].bit) && !(svc->warned & names[i].bit)) {
			log_warnx("service %s: %s cannot be expressed on this host's %s cgroups; "
				  "ignored",
				  svc->spec->name, names[i].what,
				  cgroup_mode_name(cgroup_host_mode(svc->d->cgroups)));
			svc->warned |= names[i].bit;
		}
}

/*
 * Build "KEY=VALUE" env: extra (NOTIFY_SOCKET, WATCHDOG_USEC), PATH and
 * HOME defaults, then the given (spec or image+spec) list.
 */
static char **build_env(char *const *in, const char *home, char *const *extra)
{
	size_t n = 0, k = 0, nx = 0;
	bool have_path = false, have_home = false;

	for (; in && in[n]; n++) {
		have_path |= strncmp(in[n], "PATH=", 5) == 0;
		have_home |= strncmp(in[n], "HOME=", 5) == 0;
	}
	while (extra && extra[nx])
		nx++;
	char **env = xcalloc(n + nx + 3, sizeof(char *));
	/* Ours first: getenv() finds the first of duplicate names. */
	for (size_t i = 0; i < nx; i++)
		env[k++] = xstrdup(extra[i]);
	if (!have_path)
		env[k++] =
		    xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (!have_home)
		xasprintf(&env[k++], "HOME=%s", home);
	for (size_t i = 0; i < n; i++)
		env[k++] = xstrdup(in[i]);
	return env;
}

static void free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* Start-limit: `burst` starts within `interval` puts the service in failed. */
static bool start_limit_hit(struct service *svc, uint64_t now)
{
	unsigned burst = svc->spec->restart.burst;

	if (burst == 0)
		return false;
	if (svc->nstarts >= burst) {
		uint64_t oldest = svc->starts[svc->starts_pos];
		if (now - oldest < svc->spec->restart.interval_ms)
			return true;
	}
	svc->starts[svc->starts_pos] = now;
	svc->starts_pos = (svc->starts_pos + 1) % burst;
	if (svc->nstarts < burst)
		svc->nstarts++;
	return false;
}

/* Fail before any process exists: record why and go to failed. */
static void fail_start(struct service *svc, enum exit_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_start(struct service *svc, enum exit_kind kind, const char *fmt, ...)
{
	va_list ap;

	svc->last_exit.kind = kind;
	svc->last_exit.code = 0;
	svc->last_exit.when_ms = realtime_ms();
	va_start(ap, fmt);
	vsnprintf(svc->last_exit.reason, sizeof(svc->last_exit.reason), fmt, ap);
	va_end(ap);
	log_warnx("service %s: failed: %s", svc->spec->name, svc->last_exit.reason);
	logstore_note(svc->log, "failed: %s", svc->last_exit.reason);
	emit(svc, "failed",
	     jobj("reason", json_object_new_string(svc->last_exit.reason), NULL, NULL));
	if (svc->cg && cgroup_destroy(svc->cg) == 0)
		svc->cg = cgroup_free(svc->cg);
	service_set_state(svc, SVC_FAILED);
}

/* --- dependencies --------------------------------------------------------------------- */

bool service_deps_ready(const struct service *svc)
{
	for (size_t i = 0; i < svc->spec->ndepends_on; i++) {
		struct service *dep = daemon_find_service(svc->d, svc->spec->depends_on[i]);
		if (!dep || dep->state != SVC_RUNNING)
			return false;
	}
	return true;
}

/* Not all dependencies run: wait, visibly, saying for which. */
static bool wait_for_deps(struct service *svc)
{
	if (service_deps_ready(svc))
		return false;
	if (svc->state != SVC_WAITING) {
		struct json_object *on = json_object_new_array();
		for (size_t i = 0; i < svc->spec->ndepends_on; i++) {
			struct service *dep = daemon_find_service(svc->d, svc->spec->depends_on[i]);
			if (!dep || dep->state != SVC_RUNNING)
				json_object_array_add(
				    on, json_object_new_string(svc->spec->depends_on[i]));
		}
		emit(svc, "waiting", jobj("for", on, NULL, NULL));
		service_set_state(svc, SVC_WAITING);
	}
	return true;
}

/* --- images ------------------------------------------------------------------------- */

static void do_start(struct service *svc);
static void launch_now(struct service *svc);

/* The layer directory whose etc/passwd a user name resolves in. */
static const char *image_passwd_root(const struct image_info *img)
{
	char p[4096];

	for (size_t i = 0; i < img->nlayers; i++) {
		snprintf(p, sizeof(p), "%s/etc/passwd", img->layer_dirs[i]);
		if (access(p, F_OK) == 0)
			return img->layer_dirs[i];
	}
	return img->nlayers ? img->layer_dirs[0] : NULL;
}

/* rm -rf of a per-service directory we own (upper and work of an overlay). */
/*
 * Remove a per-service directory we own (an overlay's upper or work dir)
 * without blocking the loop: rename it aside at once (the name is free for
 * the next start), then let a child rm -rf it; the SIGCHLD sweep reaps it.
 */
static int remove_tree(const char *path)
{
	static unsigned seq;
	char trash[4200];
	pid_t pid;

	if (access(path, F_OK) < 0)
		return 0;
	snprintf(trash, sizeof(trash), "%s.trash-%d-%u", path, (int)getpid(), seq++);
	if (rename(path, trash) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		(void)syscall(SYS_close_range, 3, ~0U, 0);
		execl("/bin/rm", "rm", "-rf", "--", trash, (char *)NULL);
		_exit(127);
	}
	return 0;
}

/*
 * Per service: <state>/rootfs/<name> (the merged view) with <name>.upper
 * and <name>.work beside it. The upper layer starts empty at every start
 * and goes at stop (a service's writes do not survive a restart; the image
 * does) unless persist: true; readonly_rootfs mounts without one.
 */
static int prepare_overlay(struct service *svc, char *opts, size_t len, char *dir, size_t dirlen)
{
	const struct service_spec *spec = svc->spec;
	char merged[4096], upper[4096], work[4096];
	struct image_error err = { { 0 } };
	int r;

	if (!svc->rootfs_dir)
		xasprintf(&svc->rootfs_dir, "%s/rootfs/%s", svc->d->cfg->state_dir, spec->name);
	snprintf(upper, sizeof(upper), "%s/../%s.upper", svc->rootfs_dir, spec->name);
	snprintf(work, sizeof(work), "%s/../%s.work", svc->rootfs_dir, spec->name);
	snprintf(merged, sizeof(merged), "%s", svc->rootfs_dir);
	if (!spec->persist) {
		(void)remove_tree(upper);
		(void)remove_tree(work);
	}
	if ((r = mkdir_p(merged, 0755)) < 0 ||
	    (!spec->isolation.readonly_rootfs &&
	     ((r = mkdir_p(upper, 0755)) < 0 || (r = mkdir_p(work, 0700)) < 0))) {
		fail_start(svc, EXIT_LAUNCH, "cannot create %s: %s", svc->rootfs_dir, strerror(-r));
		return r;
	}
	/* User namespace: the upper layer's root is the service's root (userns.h). */
	if ((spec->isolation.namespaces & SPEC_NS_USER) && !spec->isolation.readonly_rootfs &&
	    (chown(upper, spec->isolation.user_host, spec->isolation.user_host) < 0 ||
	     chown(work, spec->isolation.user_host, spec->isolation.user_host) < 0)) {
		r = -errno;
		fail_start(svc, EXIT_LAUNCH, "cannot chown %s: %s", upper, strerror(errno));
		return r;
	}
	/* Canonical paths: overlayfs stores them, ".." would be refused. */
	char ru[4096], rw[4096];
	if (!spec->isolation.readonly_rootfs && (!realpath(upper, ru) || !realpath(work, rw))) {
		fail_start(svc, EXIT_LAUNCH, "cannot resolve %s: %s", upper, strerror(errno));
		return -errno;
	}
	r = image_overlay_options(svc->image, spec->isolation.readonly_rootfs ? NULL : ru,
				  spec->isolation.readonly_rootfs ? NULL : rw, opts, len, dir,
				  dirlen);
	if (r < 0) {
		fail_start(svc, EXIT_LAUNCH, "image %s: overlay options: %s", spec->image,
			   strerror(-r));
		return r;
	}
	(void)err;
	return 0;
}

static void drop_overlay(struct service *svc)
{
	char p[4096];

	if (!svc->rootfs_dir || svc->spec->persist)
		return; /* persist: the writes wait for the next start */
	snprintf(p, sizeof(p), "%s/../%s.upper", svc->rootfs_dir, svc->spec->name);
	(void)remove_tree(p);
	snprintf(p, sizeof(p), "%s/../%s.work", svc->rootfs_dir, svc->spec->name);
	(void)remove_tree(p);
}

/* The helper finished: "OK" or the error, then EOF. */
static void on_image_ready(evutil_socket_t fd, short what, void *arg)
{
	struct service *svc = arg;
	char msg[600] = "";
	ssize_t n = read(fd, msg, sizeof(msg) - 1);
	struct image_error err = { { 0 } };

	event_free(svc->ev_image);
	svc->ev_image = NULL;
	close(svc->image_fd);
	svc->image_fd = -1;
	msg[n > 0 ? n : 0] = '\0';
	if (strncmp(msg, "OK", 2) != 0) {
		fail_start(svc, EXIT_LAUNCH, "image %s: %s", svc->spec->image,
			   *msg ? msg : "the unpack helper died");
		return;
	}
	/* Layers are in the store now: resolving again only reads the records. */
	if (image_resolve(svc->d->images, svc->spec->image, &svc->image, &err) < 0) {
		fail_start(svc, EXIT_LAUNCH, "image %s: %s", svc->spec->image, err.msg);
		return;
	}
	emit(svc, "image-ready",
	     jobj("digest", json_object_new_string(svc->image->digest), "layers",
		  json_object_new_int((int)svc->image->nlayers)));
	if (svc->state == SVC_STARTING)
		launch_now(svc);
}

/*
 * Verifying and unpacking layers can take seconds: a helper process does
 * it, so the loop never blocks. It shares the store (flock per layer keeps
 * two unpacks of one layer to one) and reports over a pipe.
 */
static void prepare_image(struct service *svc)
{
	int p[2];
	pid_t pid;

	if (svc->ev_image)
		return; /* already preparing */
	if (pipe2(p, O_CLOEXEC) < 0) {
		fail_start(svc, EXIT_LAUNCH, "image %s: pipe: %s", svc->spec->image,
			   strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		fail_start(svc, EXIT_LAUNCH, "image %s: fork: %s", svc->spec->image,
			   strerror(errno));
		return;
	}
	if (pid == 0) {
		struct image_error err = { { 0 } };
		/*
		 * Dies with the daemon: the next one unpacks again (the store
		 * removes a half-done .tmp layer), and the state dir lock it
		 * inherited is released at once.
		 */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct image_info *info = NULL;
		struct image_limits lim = { .max_json_bytes = svc->d->cfg->images.max_json,
					    .max_layer_bytes = svc->d->cfg->images.max_layer };
		struct image_store *st = image_store_open(svc->d->cfg->state_dir, &lim, &err);
		int ok = st && image_resolve(st, svc->spec->image, &info, &err) == 0;
		const char *m = ok ? "OK" : err.msg;
		(void)!write(p[1], m, strlen(m));
		_exit(ok ? 0 : 1);
	}
	close(p[1]);
	svc->image_fd = p[0];
	svc->ev_image = event_new(svc->d->base, p[0], EV_READ, on_image_ready, svc);
	event_add(svc->ev_image, NULL);
	log_info("service %s: preparing image %s", svc->spec->name, svc->spec->image);
	service_set_state(svc, SVC_STARTING);
}

static void do_start(struct service *svc)
{
	const struct service_spec *spec = svc->spec;

	svc->have_report = false;
	svc->stop_requested = false;
	svc->kill_sent = false;
	svc->sigkill_sent = false;
	svc->frozen = false;
	svc->forced = EXIT_NONE;
	svc->notify_mainpid = 0;
	svc->ready_ms = 0;
	svc->last_watchdog_ms = 0;
	svc->watchdog_usec = spec->watchdog_ms * 1000;
	free(svc->status_text);
	svc->status_text = NULL;

	if (start_limit_hit(svc, now_ms())) {
		char iv[32];
		fail_start(svc, EXIT_START_LIMIT, "start-limit-hit: %u starts within %s",
			   spec->restart.burst,
			   units_format_duration(spec->restart.interval_ms, iv, sizeof(iv)));
		return;
	}
	if (spec->image && !svc->image) {
		prepare_image(svc); /* launch_now() once the layers are in the store */
		return;
	}
	launch_now(svc);
}

/*
 * Hand copies of the process's descriptors to the fd holder, so that its
 * output pipes keep a reader and its identity and exit status stay known
 * if paddockd dies (fdstore.h). Order: [pidfd,] stdout, stderr[, status].
 * The pipes go first, before the clone, so that no moment exists when a
 * started service's output has only us as its reader.
 */
void service_store_fds(struct service *svc)
{
	int fds[4], r, null = -1;
	size_t n = 0;

	if (!svc->d->fdstore ||
	    (svc->child.pidfd < 0 && (svc->out_fd[0] < 0 || svc->out_fd[1] < 0)))
		return;
	/*
	 * Output already closed (or lost with an earlier holder): a pipe at
	 * EOF keeps the layout (not /dev/null: epoll refuses it, and the
	 * next daemon would wait forever for its EOF).
	 */
	if (svc->out_fd[0] < 0 || svc->out_fd[1] < 0) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return;
		close(p[1]);
		null = p[0];
	}
	if (svc->child.pidfd >= 0)
		fds[n++] = svc->child.pidfd;
	fds[n++] = svc->out_fd[0] >= 0 ? svc->out_fd[0] : null;
	fds[n++] = svc->out_fd[1] >= 0 ? svc->out_fd[1] : null;
	if (svc->child.pidfd >= 0 && svc->child.statusfd >= 0)
		fds[n++] = svc->child.statusfd;
	if ((r = fdstore_put(svc->d->fdstore, svc->spec->name, fds, n)) < 0)
		log_warnx("service %s: fd holder: %s; its output will not survive a daemon crash",
			  svc->spec->name, strerror(-r));
	if (null >= 0)
		close(null);
}

/* Everything is at hand (the image too): cgroup, pipes, clone. */
static void launch_now(struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	struct launch_plan plan = { 0 };
	char home[512];
	const char *why = NULL, *knob = NULL;
	unsigned unsupported = 0;
	int wr[2] = { -1, -1 };
	int r;
	const struct image_info *img = svc->image;
	char **argv = NULL, **envin = NULL, overlay[4096], overlay_dir[4096];
	const char *user = spec->user ? spec->user : img ? img->user : NULL;
	const char *rootfs = spec->rootfs;

	if (img) {
		if ((r = image_exec_argv(img, spec->command, NULL, &argv)) < 0) {
			fail_start(svc, EXIT_LAUNCH,
				   "image %s: no command: neither the spec nor "
				   "the image names one",
				   spec->image);
			return;
		}
		if ((r = prepare_overlay(svc, overlay, sizeof(overlay), overlay_dir,
					 sizeof(overlay_dir))) < 0) {
			image_strv_free(argv);
			return;
		}
		rootfs = svc->rootfs_dir; /* <dir>/merged, see prepare_overlay */
		(void)image_merge_env(img, spec->environment, &envin);
	} else if (!spec->command || !spec->command[0]) {
		fail_start(svc, EXIT_LAUNCH, "no command to run");
		return;
	}
	if (spec->rootfs && access(spec->rootfs, F_OK) < 0) {
		fail_start(svc, EXIT_LAUNCH, "rootfs %s: %s", spec->rootfs, strerror(errno));
		return;
	}
	/* Names resolve in the image's /etc/passwd (the topmost layer that has one). */
	if ((r = launch_resolve_user(img ? image_passwd_root(img) : spec->rootfs, user, &plan.uid,
				     &plan.gid, home, sizeof(home), &why)) < 0) {
		fail_start(svc, EXIT_LAUNCH, "user %s: %s", user, why);
		image_strv_free(argv);
		image_strv_free(envin);
		return;
	}

	if (!svc->cg && (r = cgroup_create(svc->d->cgroups, spec->name, &svc->cg)) < 0) {
		fail_start(svc, EXIT_LAUNCH, "cannot create cgroup: %s", strerror(-r));
		return;
	}
	struct cgroup_limits start_limits = svc->limits;
	rebalancer_launch_limits(svc, &start_limits); /* what on_oom: grow made memory.max */
	if ((r = cgroup_apply(svc->cg, &start_limits, &unsupported, &knob)) < 0) {
		fail_start(svc, EXIT_LAUNCH, "cannot set %s: %s", knob ? knob : "limits",
			   strerror(-r));
		return;
	}
	warn_unsupported(svc, unsupported);

	if ((r = open_outputs(svc, wr)) < 0) {
		fail_start(svc, EXIT_LAUNCH, "cannot create output pipes: %s", strerror(-r));
		image_strv_free(argv);
		image_strv_free(envin);
		return;
	}
	service_store_fds(svc); /* the pipes alone: no pidfd yet */

	char *extra[3] = { NULL, NULL, NULL };
	if (svc->d->notify) {
		/* A root of its own sees our socket's directory at NOTIFY_DIR_INSIDE. */
		if (rootfs && (spec->isolation.namespaces & SPEC_NS_MOUNT))
			xasprintf(&extra[0], "NOTIFY_SOCKET=%s/%s", NOTIFY_DIR_INSIDE,
				  NOTIFY_SOCKET_NAME);
		else
			xasprintf(&extra[0], "NOTIFY_SOCKET=%s",
				  notify_socket_path(svc->d->notify));
		plan.notify_dir = notify_dir(svc->d->notify);
	}
	/* No WATCHDOG_PID: the pid we know is not the one it sees in its namespace. */
	if (svc->watchdog_usec)
		xasprintf(&extra[extra[0] ? 1 : 0], "WATCHDOG_USEC=%llu",
			  (unsigned long long)svc->watchdog_usec);
	char **env = build_env(img ? envin : spec->environment, home, extra);
	free(extra[0]);
	free(extra[1]);
	svc->run_uid = plan.uid;
	svc->run_gid = plan.gid;
	plan.spec = spec;
	plan.rootfs = rootfs;
	plan.overlay = img ? overlay : NULL;
	plan.overlay_dir = img ? overlay_dir : NULL;
	plan.argv = img ? argv : spec->command;
	plan.envp = env;
	plan.hostname = spec->hostname ? spec->hostname : spec->name;
	plan.workdir = spec->working_dir	 ? spec->working_dir
		       : img && img->working_dir ? img->working_dir
						 : "/";
	/* Without clone3 the child cannot be cloned into its cgroup: it waits to be placed. */
	plan.cgroup_fd = launch_have_clone3() ? cgroup_v2_fd(svc->cg) : -1;
	plan.wait_attach = cgroup_needs_attach(svc->cg) || plan.cgroup_fd < 0;
	plan.use_init = spec->init && (spec->isolation.namespaces & SPEC_NS_PID);
	plan.nofile = &svc->d->nofile;
	plan.stdout_fd = wr[0];
	plan.stderr_fd = wr[1];

	struct harden_plan harden;
	char herr[256] = "";
	r = harden_prepare(spec, &harden, herr, sizeof(herr));
	plan.harden = &harden;
	if (r >= 0)
		r = launch_start(&plan, &svc->child);
	harden_plan_free(&harden);
	close(wr[0]);
	close(wr[1]);
	free_strv(env);
	image_strv_free(argv);
	image_strv_free(envin);
	if (r < 0 && herr[0]) {
		fail_start(svc, EXIT_LAUNCH, "%s", herr);
		return;
	}
	if (r < 0) {
		fail_start(svc, EXIT_LAUNCH, "clone: %s", strerror(-r));
		return;
	}
	if (plan.wait_attach) {
		r = cgroup_attach(svc->cg, svc->child.pid);
		if (r < 0) {
			/* Never let it run outside its limits. */
			(void)kill(svc->child.pid, SIGKILL);
			svc->report.err = -r;
			snprintf(svc->report.what, sizeof(svc->report.what), "attach to cgroup");
			svc->have_report = true;
		}
		launch_release(&svc->child, r >= 0);
	}

	svc->main_pid = svc->last_pid = svc->child.pid;
	svc->started_mono = now_ms();
	svc->started_at_ms = realtime_ms();
	svc->start_time = state_proc_start_time(svc->main_pid);
	service_store_fds(svc);
	svc->ev_exit = event_new(svc->d->base, svc->child.pidfd, EV_READ, on_exit_event, svc);
	event_add(svc->ev_exit, NULL);
	(void)fcntl(svc->child.reportfd, F_SETFL, O_NONBLOCK);
	svc->ev_report = event_new(svc->d->base, svc->child.reportfd, EV_READ | EV_PERSIST,
				   on_report_event, svc);
	event_add(svc->ev_report, NULL);
	monitor_service_started(svc->d->monitor, svc);
	log_info("service %s: started, pid %d", spec->name, (int)svc->main_pid);
	emit(svc, "start", jobj("restarts", json_object_new_int((int)svc->restarts), NULL, NULL));
	service_set_state(svc, SVC_STARTING);
}

/* --- stopping and cleanup ------------------------------------------------------------- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	service_dispatch(arg, SE_TIMER);
}

static void set_timer(struct service *svc, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	evtimer_del(svc->ev_timer);
	evtimer_add(svc->ev_timer, &tv);
	svc->timer_due = now_ms() + ms;
}

/*
 * After the main process is gone: kill what is left in the cgroup and
 * remove it. Retries on a timer while the kernel finishes the kills.
 */
static bool cleanup_cgroup(struct service *svc)
{
	if (!svc->cg)
		return true;
	if (svc->frozen) {
		(void)cgroup_freeze(svc->cg, false);
		svc->frozen = false;
	}
	if (cgroup_is_empty(svc->cg) == 0)
		(void)cgroup_kill_all(svc->cg);
	if (cgroup_destroy(svc->cg) == 0) {
		svc->cg = cgroup_free(svc->cg);
		return true;
	}
	return false;
}

static uint64_t backoff_delay(struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	uint64_t d = spec->restart.delay_ms;

	for (unsigned i = 1; i < svc->failures && d < spec->restart.max_delay_ms; i++)
		d *= 2;
	if (d > spec->restart.max_delay_ms)
		d = spec->restart.max_delay_ms;
	/* +-10% jitter so services that failed together don't restart together. */
	if (d >= 10)
		d = d - d / 10 + (uint64_t)random() % (d / 5 + 1);
	return d;
}

/* Should the exit just recorded lead to a restart? */
static bool wants_restart(struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	const struct service_exit *e = &svc->last_exit;

	if (svc->stop_requested || svc->d->shutting_down)
		return false;
	if (e->kind == EXIT_OOM)
		return spec->on_oom != ON_OOM_STOP;
	switch (spec->restart.policy) {
	case RESTART_ALWAYS:
		return true;
	case RESTART_NEVER:
		return false;
	case RESTART_ON_FAILURE:
		return !(e->kind == EXIT_CODE && e->code == 0);
	}
	return false;
}

/* The main process is gone: decide between stopped, failed and backoff. */
static void settle_after_exit(struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	const struct service_exit *e = &svc->last_exit;
	bool clean = e->kind == EXIT_CODE && e->code == 0;

	if (!svc->stop_requested)
		log_info("service %s: main process %s", spec->name, e->reason);
	logstore_note(svc->log, "main process %s", e->reason);
	{
		struct json_object *d = service_exit_json(e);
		json_object_object_add(
		    d, "runtime_ms",
		    json_object_new_int64((int64_t)(now_ms() - svc->started_mono)));
		json_object_object_add(d, "requested",
				       json_object_new_boolean(svc->stop_requested));
		json_object_object_add(d, "pid", json_object_new_int(svc->last_pid));
		emit(svc, "exit", d); /* the oom-kill event itself comes from monitor.c */
	}
	if (svc->started_mono && now_ms() - svc->started_mono >= spec->restart.reset_after_ms)
		svc->failures = 0;
	if (wants_restart(svc)) {
		svc->failures++;
		uint64_t delay = backoff_delay(svc);
		log_info("service %s: restarting in %llu ms", spec->name,
			 (unsigned long long)delay);
		service_set_state(svc, SVC_BACKOFF);
		set_timer(svc, delay);
		emit(svc, "restart-scheduled",
		     jobj("delay_ms", json_object_new_int64((int64_t)delay), "failures",
			  json_object_new_int((int)svc->failures)));
		return;
	}
	if (!clean && !svc->stop_requested)
		emit(svc, "failed", jobj("reason", json_object_new_string(e->reason), NULL, NULL));
	service_set_state(svc, (clean || svc->stop_requested) ? SVC_STOPPED : SVC_FAILED);
}

static void begin_cleanup(struct service *svc)
{
	monitor_service_stopped(svc->d->monitor, svc);
	drop_overlay(svc);
	svc->cleanup_tries = 0;
	if (cleanup_cgroup(svc)) {
		service_dispatch(svc, SE_CLEANED);
		return;
	}
	set_timer(svc, CGROUP_RETRY_MS);
}

/* Ask the main process to stop (stop signal), escalating on the timer. */
static void begin_stop(struct service *svc)
{
	const struct service_spec *spec = svc->spec;

	readiness_end(svc);
	service_set_state(svc, SVC_STOPPING);
	if (svc->main_pid == 0)
		return; /* already exited, cleanup under way */
	if (svc->frozen)
		(void)cgroup_freeze(svc->cg, false), svc->frozen = false;
	emit(svc, "stop",
	     jobj("signal", json_object_new_string(units_signal_name(spec->stop.signal)), NULL,
		  NULL));
	(void)kill(svc->main_pid, spec->stop.signal);
	set_timer(svc, spec->stop.timeout_ms);
}

/* --- readiness ---------------------------------------------------------------------------
 *
 * starting -> running happens when the service is ready: at once for
 * `ready: none`, on READY=1 from a process in its cgroup for `notify`, when
 * a probe passes for `exec` and `tcp`. ev_timer holds the start timeout
 * meanwhile (EXTEND_TIMEOUT_USEC= moves it out). Running services with a
 * watchdog must send WATCHDOG=1 within each interval. A service we kill
 * for either reason goes the stop path (stop signal, then SIGKILL after
 * stop.timeout) without stop_requested, so its exit, recorded with our
 * reason, meets the restart policy like any failure.
 */

static void readiness_end(struct service *svc)
{
	svc->probe = ready_probe_free(svc->probe);
	if (svc->ev_watchdog)
		evtimer_del(svc->ev_watchdog);
}

static void arm_watchdog(struct service *svc)
{
	uint64_t us = svc->watchdog_usec;
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000),
			      .tv_usec = (suseconds_t)(us % 1000000) };

	evtimer_del(svc->ev_watchdog);
	/* Frozen: a ping queued before the freeze must not start a countdown
	 * that the frozen service cannot answer; the thaw arms it. */
	if (us && svc->state == SVC_RUNNING && !svc->frozen)
		evtimer_add(svc->ev_watchdog, &tv);
}

static void kill_for(struct service *svc, enum exit_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void kill_for(struct service *svc, enum exit_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(svc->forced_reason, sizeof(svc->forced_reason), fmt, ap);
	va_end(ap);
	svc->forced = kind;
	log_warnx("service %s: %s; stopping it", svc->spec->name, svc->forced_reason);
	logstore_note(svc->log, "%s", svc->forced_reason);
	emit(svc, kind == EXIT_WATCHDOG ? "watchdog" : "ready-timeout",
	     jobj("reason", json_object_new_string(svc->forced_reason), NULL, NULL));
	begin_stop(svc);
}

static void become_ready(struct service *svc, const char *how)
{
	if (svc->state != SVC_STARTING || svc->main_pid == 0)
		return;
	evtimer_del(svc->ev_timer);
	svc->probe = ready_probe_free(svc->probe);
	svc->ready_ms = now_ms() - svc->started_mono;
	log_info("service %s: ready (%s) after %llu ms", svc->spec->name, how,
		 (unsigned long long)svc->ready_ms);
	emit(svc, "ready",
	     jobj("via", json_object_new_string(how), "after_ms",
		  json_object_new_int64((int64_t)svc->ready_ms)));
	service_set_state(svc, SVC_RUNNING);
	svc->last_watchdog_ms = 0;
	arm_watchdog(svc);
}

/* Exec happened: ready now, or wait (with the start timeout) for the spec's signal. */
static void await_ready(struct service *svc)
{
	const struct service_spec *spec = svc->spec;

	switch (spec->ready.type) {
	case READY_NONE:
		become_ready(svc, "none");
		return;
	case READY_NOTIFY:
		break;
	case READY_EXEC:
	case READY_TCP: {
		struct ready_target t = { .spec = spec,
					  .pidfd = svc->child.pidfd,
					  .cg = svc->cg,
					  .uid = svc->run_uid,
					  .gid = svc->run_gid };
		svc->probe = ready_probe_new(svc->d, svc, &t);
		if (!svc->probe)
			log_warn("service %s: cannot start the readiness probe", spec->name);
		break;
	}
	}
	/* An EXTEND_TIMEOUT_USEC= read before we saw the exec (both were ready
	 * in one loop turn) still counts: never pull its deadline in. */
	uint64_t ms = spec->ready.timeout_ms, now = now_ms();
	if (evtimer_pending(svc->ev_timer, NULL) && svc->timer_due > now + ms)
		ms = svc->timer_due - now;
	set_timer(svc, ms);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct service *svc = arg;
	char t[32];

	if (svc->state != SVC_RUNNING || svc->main_pid == 0)
		return;
	units_format_duration(svc->watchdog_usec / 1000, t, sizeof(t));
	kill_for(svc, EXIT_WATCHDOG, "watchdog: no WATCHDOG=1 within %s", t);
}

void service_probe_ready(struct service *svc)
{
	become_ready(svc, svc->spec->ready.type == READY_TCP ? "tcp" : "exec");
}

void service_note_notify_malformed(struct service *svc)
{
	svc->notify_malformed++;
}

void service_notify(struct service *svc, const struct notify_msg *m, pid_t sender)
{
	const struct service_spec *spec = svc->spec;
	bool live = svc->main_pid != 0;

	if (m->have_status) {
		free(svc->status_text);
		svc->status_text = xstrdup(m->status);
	}
	if (m->have_mainpid && live && m->mainpid != svc->notify_mainpid) {
		svc->notify_mainpid = m->mainpid;
		log_info("service %s: MAINPID=%d (from pid %d)", spec->name, (int)m->mainpid,
			 (int)sender);
		emit(svc, "mainpid",
		     jobj("mainpid", json_object_new_int(m->mainpid), "sender",
			  json_object_new_int(sender)));
	}
	if (m->have_watchdog_usec && live) {
		svc->watchdog_usec = m->watchdog_usec;
		arm_watchdog(svc);
	}
	if (m->ready && spec->ready.type == READY_NOTIFY)
		become_ready(svc, "notify");
	if (m->watchdog && svc->state == SVC_RUNNING) {
		svc->last_watchdog_ms = realtime_ms();
		arm_watchdog(svc);
	}
	if (m->watchdog_trigger && svc->state == SVC_RUNNING && live) {
		kill_for(svc, EXIT_WATCHDOG, "watchdog: WATCHDOG=trigger from pid %d", (int)sender);
		return;
	}
	if (m->have_extend && live && (svc->state == SVC_STARTING || svc->state == SVC_STOPPING)) {
		/* Like systemd: the deadline becomes now + the extension, never earlier. */
		uint64_t ms = m->extend_usec / 1000;
		if (now_ms() + ms > svc->timer_due)
			set_timer(svc, ms);
	}
	if (m->stopping && live && (svc->state == SVC_STARTING || svc->state == SVC_RUNNING)) {
		/* It stops by itself: no signal, but the stop timeout and its SIGKILL apply. */
		log_info("service %s: stopping (STOPPING=1)", spec->name);
		emit(svc, "notify-stopping", NULL);
		readiness_end(svc);
		service_set_state(svc, SVC_STOPPING);
		set_timer(svc, spec->stop.timeout_ms);
	}
}

const char *service_status_text(const struct service *svc)
{
	return svc->status_text;
}

struct json_object *service_ready_json(const struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	static const char *const types[] = { "none", "notify", "exec", "tcp" };
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(types[spec->ready.type]));
	json_object_object_add(o, "ready", json_object_new_boolean(svc->state == SVC_RUNNING));
	if (svc->ready_ms)
		json_object_object_add(o, "ready_ms",
				       json_object_new_int64((int64_t)svc->ready_ms));
	json_object_object_add(o, "timeout_ms",
			       json_object_new_int64((int64_t)spec->ready.timeout_ms));
	if (svc->watchdog_usec)
		json_object_object_add(o, "watchdog_ms",
				       json_object_new_int64((int64_t)(svc->watchdog_usec / 1000)));
	if (svc->last_watchdog_ms)
		json_object_object_add(o, "last_watchdog_ms",
				       json_object_new_int64((int64_t)svc->last_watchdog_ms));
	if (svc->notify_mainpid)
		json_object_object_add(o, "mainpid", json_object_new_int(svc->notify_mainpid));
	if (svc->notify_malformed)
		json_object_object_add(o, "malformed",
				       json_object_new_int64((int64_t)svc->notify_malformed));
	if (svc->probe && *ready_probe_last(svc->probe))
		json_object_object_add(o, "probe",
				       json_object_new_string(ready_probe_last(svc->probe)));
	return o;
}

/*
 * The one place where events meet states. "cleaning" is not a state of
 * its own: after an exit the service keeps its state (running/stopping)
 * with main_pid 0 until SE_CLEANED.
 */
static void service_dispatch(struct service *svc, enum service_event ev)
{
	const struct service_spec *spec = svc->spec;

	switch (ev) {
	case SE_START:
		if (svc->state == SVC_STOPPED || svc->state == SVC_FAILED) {
			svc->nstarts = 0; /* an operator's start resets the start limit */
			svc->failures = 0;
			if (!wait_for_deps(svc))
				do_start(svc);
		} else if (svc->state == SVC_BACKOFF) {
			evtimer_del(svc->ev_timer);
			if (!wait_for_deps(svc))
				do_start(svc);
		} else if (svc->state == SVC_WAITING && service_deps_ready(svc)) {
			do_start(svc);
		}
		return;

	case SE_STOP:
		if (svc->ev_image) {
			/* Still unpacking: the helper finishes for the store's sake; we stop. */
			event_free(svc->ev_image);
			svc->ev_image = NULL;
			close(svc->image_fd);
			svc->image_fd = -1;
			service_set_state(svc, SVC_STOPPED);
			return;
		}
		switch (svc->state) {
		case SVC_BACKOFF:
			evtimer_del(svc->ev_timer);
			service_set_state(svc, SVC_STOPPED);
			return;
		case SVC_WAITING:
			service_set_state(svc, SVC_STOPPED);
			return;
		case SVC_STARTING:
		case SVC_RUNNING:
			svc->stop_requested = true;
			begin_stop(svc);
			return;
		case SVC_STOPPING:
			/* Stopping on its own (STOPPING=1) or killed by us: now for good. */
			svc->stop_requested = true;
			return;
		default:
			return;
		}

	case SE_EXEC_OK:
		if (svc->state == SVC_STARTING)
			await_ready(svc);
		return;

	case SE_LAUNCH_FAILED:
		log_warnx("service %s: %s", spec->name, svc->last_exit.reason);
		logstore_note(svc->log, "%s", svc->last_exit.reason);
		evtimer_del(svc->ev_timer);
		begin_cleanup(svc);
		return;

	case SE_EXITED:
		evtimer_del(svc->ev_timer);
		begin_cleanup(svc);
		return;

	case SE_TIMER:
		if (svc->state == SVC_BACKOFF) {
			svc->restarts++;
			if (!wait_for_deps(svc))
				do_start(svc);
			return;
		}
		if (svc->main_pid == 0) {
			/* Waiting for the cgroup to empty. */
			if (cleanup_cgroup(svc)) {
				service_dispatch(svc, SE_CLEANED);
			} else if (++svc->cleanup_tries < CGROUP_RETRY_MAX) {
				set_timer(svc, CGROUP_RETRY_MS);
			} else {
				log_warnx("service %s: cgroup %s does not empty; leaving it",
					  spec->name, svc->cg ? cgroup_path(svc->cg) : "?");
				svc->cg = cgroup_free(svc->cg);
				service_dispatch(svc, SE_CLEANED);
			}
			return;
		}
		if (svc->state == SVC_STARTING) {
			char t[32];
			const char *last = svc->probe ? ready_probe_last(svc->probe) : "";
			units_format_duration(spec->ready.timeout_ms, t, sizeof(t));
			kill_for(svc, EXIT_READY_TIMEOUT,
				 "ready-timeout: not ready within %s%s%s%s", t,
				 *last ? " (last probe: " : "", last, *last ? ")" : "");
			return;
		}
		if (svc->state == SVC_STOPPING && !svc->kill_sent) {
			log_warnx("service %s: did not stop within %llu ms, killing the group",
				  spec->name, (unsigned long long)spec->stop.timeout_ms);
			svc->kill_sent = true;
			svc->sigkill_sent = true;
			emit(svc, "kill",
			     jobj("reason", json_object_new_string("stop timeout"), "timeout_ms",
				  json_object_new_int64((int64_t)spec->stop.timeout_ms)));
			(void)cgroup_kill_all(svc->cg);
			set_timer(svc, 1000);
		} else if (svc->state == SVC_STOPPING) {
			(void)kill(svc->main_pid, SIGKILL);
			set_timer(svc, 1000);
		}
		return;

	case SE_CLEANED:
		if (svc->last_exit.kind == EXIT_LAUNCH) {
			emit(svc, "failed",
			     jobj("reason", json_object_new_string(svc->last_exit.reason), NULL,
				  NULL));
			service_set_state(svc, svc->stop_requested ? SVC_STOPPED : SVC_FAILED);
			return;
		}
		settle_after_exit(svc);
		if (svc->reload_restart && svc->state == SVC_STOPPED && !svc->d->shutting_down) {
			svc->reload_restart = svc->restart_pending = false;
			svc->restarts++;
			if (!wait_for_deps(svc))
				do_start(svc);
			return;
		}
		if (svc->restart_pending && svc->state == SVC_STOPPED && !svc->d->shutting_down) {
			/*
			 * A restart the daemon decided (on_oom, pressure) counts
			 * like a failure: backoff and the start limit apply, so a
			 * service that keeps OOMing cannot spin.
			 */
			svc->restart_pending = false;
			svc->failures++;
			uint64_t delay = backoff_delay(svc);
			service_set_state(svc, SVC_BACKOFF);
			set_timer(svc, delay);
			emit(svc, "restart-scheduled",
			     jobj("delay_ms", json_object_new_int64((int64_t)delay), "failures",
				  json_object_new_int((int)svc->failures)));
		}
		return;
	}
}

/* --- re-adoption ------------------------------------------------------------------------ */

/* The pid a pidfd refers to: -1 once the process is gone (fdinfo "Pid:"). */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], buf[2048];
	const char *p;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0 || !(p = strstr(buf, "\nPid:")))
		return -1;
	return (pid_t)strtol(p + 5, NULL, 10);
}

static pid_t proc_ppid(pid_t pid)
{
	char path[64], buf[1024];
	int ppid = 0;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return (pid_t)ppid;
}

static bool pids_contain(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/*
 * No state record and no fd holder: what paddockd started is the group's
 * root, the process whose parent is outside the group (the oldest if
 * several qualify).
 */
static pid_t find_group_root(const pid_t *pids, size_t n)
{
	pid_t best = 0;
	uint64_t best_t = UINT64_MAX;

	for (size_t i = 0; i < n; i++) {
		uint64_t t = state_proc_start_time(pids[i]);
		if (!pids_contain(pids, n, proc_ppid(pids[i])) && t && t < best_t) {
			best = pids[i];
			best_t = t;
		}
	}
	return best;
}

static void close_adoption(struct service_adoption *a)
{
	int *fds[] = { &a->pidfd, &a->out[0], &a->out[1], &a->statusfd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

int service_adopt(struct service *svc, struct service_adoption *a)
{
	const struct state_service *rec = a->rec;
	const char *name = svc->spec->name, *how = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	size_t npids = 0;
	struct cgroup *cg = NULL;
	pid_t pid = 0;

	if (cgroup_open(svc->d->cgroups, name, &cg) < 0) {
		close_adoption(a);
		(void)fdstore_drop(svc->d->fdstore, name);
		return 0; /* never started, or cleaned up: start afresh */
	}
	(void)cgroup_pids(cg, &pids, &npids);

	/* Identity: the pidfd the holder kept, else pid + start time, never the pid alone. */
	if (a->pidfd >= 0) {
		struct pollfd p = { .fd = a->pidfd, .events = POLLIN };
		/* Readable: it exited (maybe a zombie nobody reaps, with its pid still shown). */
		pid = poll(&p, 1, 0) == 0 ? pidfd_pid(a->pidfd) : 0;
		how = "fd holder";
	} else if (rec && rec->pid > 0 && rec->start_time &&
		   state_proc_start_time(rec->pid) == rec->start_time) {
		a->pidfd = (int)syscall(SYS_pidfd_open, rec->pid, 0);
		/* Checked again after opening: the pid cannot be recycled under the pidfd. */
		if (a->pidfd >= 0 && state_proc_start_time(rec->pid) == rec->start_time)
			pid = rec->pid;
		how = "state file";
	} else if (!rec && npids) {
		pid = find_group_root(pids, npids);
		if (pid > 0)
			a->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (a->pidfd < 0)
			pid = 0;
		how = "cgroup scan";
	}
	if (pid == 0 && npids == 0 && a->pidfd < 0 && (!rec || rec->pid == 0)) {
		/* The daemon died between creating the cgroup and starting the process. */
		close_adoption(a);
		(void)fdstore_drop(svc->d->fdstore, name);
		(void)cgroup_destroy(cg);
		cgroup_free(cg);
		return 0;
	}
	if (pid > 0 && !pids_contain(pids, npids, pid)) {
		log_warnx("service %s: pid %d is not in cgroup %s; not adopting it", name, (int)pid,
			  cgroup_path(cg));
		pid = 0;
	}

	svc->cg = cg;
	svc->child = (struct launch_child){ .pid = pid > 0 ? pid : 0,
					    .pidfd = steal_fd(&a->pidfd),
					    .reportfd = -1,
					    .statusfd = steal_fd(&a->statusfd),
					    .gofd = -1 };
	for (int i = 0; i < 2; i++) {
		svc->out_fd[i] = steal_fd(&a->out[i]);
		if (svc->out_fd[i] < 0)
			continue;
		(void)fcntl(svc->out_fd[i], F_SETFL, O_NONBLOCK);
		svc->ev_out[i] =
		    event_new(svc->d->base, svc->out_fd[i], EV_READ | EV_PERSIST, on_output, svc);
		event_add(svc->ev_out[i], NULL);
	}
	if (svc->spec->image)
		xasprintf(&svc->rootfs_dir, "%s/rootfs/%s", svc->d->cfg->state_dir, name);
	if (rec) {
		svc->restarts = rec->restarts;
		svc->failures = rec->failures;
		svc->oom_kills = rec->oom_kills;
	}
	svc->started_at_ms = rec && rec->started_at_ms ? rec->started_at_ms : realtime_ms();
	uint64_t age = realtime_ms() > svc->started_at_ms ? realtime_ms() - svc->started_at_ms : 0;
	svc->started_mono = now_ms() > age ? now_ms() - age : 0;
	svc->adopted = true;
	svc->last_pid = pid > 0 ? pid : rec ? rec->pid : 0;

	if (pid > 0) {
		svc->main_pid = pid;
		svc->start_time = state_proc_start_time(pid);
		svc->ev_exit =
		    event_new(svc->d->base, svc->child.pidfd, EV_READ, on_exit_event, svc);
		event_add(svc->ev_exit, NULL);
		monitor_service_started(svc->d->monitor, svc);
		log_info("service %s: adopted pid %d (identity from the %s)", name, (int)pid, how);
		emit(svc, "adopt", jobj("how", json_object_new_string(how), NULL, NULL));
		/* It was ready before (or it would not be left running): its watchdog starts over. */
		svc->watchdog_usec = svc->spec->watchdog_ms * 1000;
		svc->last_watchdog_ms = realtime_ms();
		/* Frozen before the restart: it stays so, and its watchdog waits for the thaw. */
		svc->frozen = cgroup_frozen(cg);
		service_set_state(svc, SVC_RUNNING);
		arm_watchdog(svc);
		return 1;
	}

	/* It ended while no paddockd ran: its restart policy decides, as for any exit. */
	log_info("service %s: its main process ended while paddockd was away%s", name,
		 npids ? "; killing what is left in its cgroup" : "");
	(void)fdstore_drop(svc->d->fdstore, name);
	service_set_state(svc, SVC_RUNNING);
	judge_exit(svc, read_init_status(svc), true);
	return 1;
}

void service_state_record(const struct service *svc, struct state_service *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", svc->spec->name);
	out->pid = svc->main_pid;
	out->start_time = svc->main_pid ? svc->start_time : 0;
	out->started_at_ms = svc->started_at_ms;
	out->restarts = svc->restarts;
	out->failures = svc->failures;
	out->oom_kills = svc->oom_kills;
	out->spec_text = svc->spec_text; /* borrowed */
	out->rm = svc->remove_when_settled;
}

void service_set_spec_text(struct service *svc, const char *text)
{
	free(svc->spec_text);
	svc->spec_text = text ? xstrdup(text) : NULL;
}

/* --- live limits ------------------------------------------------------------------------ */

static uint64_t memory_current(struct service *svc)
{
	char buf[64];

	if (!svc->cg || cgroup_read_knob(svc->cg, "memory.current", buf, sizeof(buf)) < 0)
		return 0;
	return strtoull(buf, NULL, 10);
}

/*
 * Lowering memory.max below what the group uses makes the kernel OOM-kill
 * on v2. So reclaim first (memory.reclaim) and refuse if usage is still
 * above the new limit; v1 reclaims by itself and answers EBUSY.
 */
static int check_memory_max(struct service *svc, uint64_t max, char *err, size_t errlen)
{
	uint64_t cur = memory_current(svc);
	char a[32], b[32];
	int r;

	if (max >= SPEC_SIZE_MAX || cur <= max)
		return 0;
	r = cgroup_reclaim(svc->cg, cur - max + (cur - max) / 4 + 1024 * 1024);
	if (r == -EOPNOTSUPP)
		return 0;
	cur = memory_current(svc);
	if (cur <= max) {
		log_info("service %s: reclaimed down to %s before lowering memory.max",
			 svc->spec->name, units_format_size(cur, a, sizeof(a)));
		return 0;
	}
	snprintf(err, errlen,
		 "memory.max %s is below current usage %s even after reclaim; refused, nothing "
		 "changed",
		 units_format_size(max, a, sizeof(a)), units_format_size(cur, b, sizeof(b)));
	return -EBUSY;
}

int service_set_limits(struct service *svc, const struct cgroup_limits *limits, char *err,
		       size_t errlen)
{
	struct cgroup_limits l = *limits;
	char *cpus = l.cpus ? xstrdup(l.cpus) : NULL;
	unsigned unsupported = 0;
	const char *knob = NULL;
	int r;

	l.cpus = cpus;
	if (svc->cg) {
		if ((r = check_memory_max(svc, l.memory.max, err, errlen)) < 0) {
			free(cpus);
			return r;
		}
		if ((r = cgroup_apply(svc->cg, &l, &unsupported, &knob)) < 0) {
			unsigned ignored;
			const char *ignored_knob;
			/* Put back what was there: never half-applied. */
			(void)cgroup_apply(svc->cg, &svc->limits, &ignored, &ignored_knob);
			if (r == -EBUSY && knob && strstr(knob, "memory"))
				snprintf(err, errlen,
					 "%s: the kernel could not reclaim below the new limit; "
					 "refused, "
					 "nothing changed",
					 knob);
			else
				snprintf(err, errlen, "cannot set %s: %s", knob ? knob : "limits",
					 strerror(-r));
			free(cpus);
			return r;
		}
		warn_unsupported(svc, unsupported);
	}
	free(svc->cpus_override);
	svc->cpus_override = cpus;
	svc->limits = l;
	svc->pinned = true;
	log_info("service %s: limits changed by the operator", svc->spec->name);
	return 0;
}

int service_reset_limits(struct service *svc, char *err, size_t errlen)
{
	struct cgroup_limits l;
	int r;

	limits_from_spec(&l, svc->spec);
	if ((r = service_set_limits(svc, &l, err, errlen)) < 0)
		return r;
	svc->pinned = false;
	log_info("service %s: limits back to the spec", svc->spec->name);
	return 0;
}

const struct cgroup_limits *service_limits(const struct service *svc)
{
	return &svc->limits;
}

bool service_limits_pinned(const struct service *svc)
{
	return svc->pinned;
}

void service_own_specs(struct service *svc, struct spec_set *set, bool remove_when_settled)
{
	svc->owned_specs = set;
	svc->remove_when_settled = remove_when_settled;
}

bool service_transient(const struct service *svc)
{
	return svc->owned_specs != NULL;
}

bool service_remove_when_settled(const struct service *svc)
{
	return svc->remove_when_settled;
}

void service_set_remove_when_settled(struct service *svc, bool rm)
{
	svc->remove_when_settled = rm;
}

/* --- reload ------------------------------------------------------------------------------ */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool strv_eq(char *const *a, char *const *b)
{
	for (; a && b && *a && *b; a++, b++)
		if (strcmp(*a, *b) != 0)
			return false;
	return (!a || !*a) && (!b || !*b);
}

/* Does the difference between a and b need a new process (not just new knobs)? */
static bool needs_restart(const struct service_spec *a, const struct service_spec *b)
{
	if (!str_eq(a->image, b->image) || !str_eq(a->rootfs, b->rootfs) ||
	    !strv_eq(a->command, b->command) || !strv_eq(a->environment, b->environment) ||
	    !str_eq(a->user, b->user) || !str_eq(a->working_dir, b->working_dir) ||
	    !str_eq(a->hostname, b->hostname) || a->init != b->init || a->persist != b->persist)
		return true;
	if (a->isolation.namespaces != b->isolation.namespaces ||
	    a->isolation.network != b->isolation.network ||
	    a->isolation.readonly_rootfs != b->isolation.readonly_rootfs ||
	    a->isolation.nmounts != b->isolation.nmounts ||
	    a->isolation.caps_add != b->isolation.caps_add ||
	    a->isolation.caps_drop != b->isolation.caps_drop ||
	    a->isolation.caps_add_all != b->isolation.caps_add_all ||
	    a->isolation.caps_drop_all != b->isolation.caps_drop_all ||
	    a->isolation.seccomp_unconfined != b->isolation.seccomp_unconfined ||
	    !str_eq(a->isolation.seccomp_profile, b->isolation.seccomp_profile) ||
	    a->isolation.user_host != b->isolation.user_host ||
	    a->isolation.user_count != b->isolation.user_count)
		return true;
	/* rlimits and oom_score_adj are set in the child before exec. */
	for (size_t i = 0; i < SPEC_RLIMIT_NR; i++) {
		const struct spec_rlimit *x = &a->resources.rlimits[i],
					 *y = &b->resources.rlimits[i];
		if (x->set != y->set || x->soft != y->soft || x->hard != y->hard)
			return true;
	}
	if (a->resources.oom_score_adj != b->resources.oom_score_adj)
		return true;
	for (size_t i = 0; i < a->isolation.nmounts; i++) {
		const struct spec_mount *x = &a->isolation.mounts[i], *y = &b->isolation.mounts[i];
		if (x->type != y->type || !str_eq(x->source, y->source) ||
		    !str_eq(x->target, y->target) || x->readonly != y->readonly ||
		    x->size != y->size)
			return true;
	}
	/* Pressure triggers are set up at start. */
	return memcmp(a->pressure, b->pressure, sizeof(a->pressure)) != 0;
}

static bool limits_eq(const struct cgroup_limits *a, const struct cgroup_limits *b)
{
	return memcmp(&a->memory, &b->memory, sizeof(a->memory)) == 0 &&
	       a->cpu_weight == b->cpu_weight && a->cpu_max_mcpu == b->cpu_max_mcpu &&
	       str_eq(a->cpus, b->cpus) && a->pids_max == b->pids_max &&
	       a->io_weight == b->io_weight;
}

int service_update_spec(struct service *svc, const struct service_spec *spec, char *err,
			size_t errlen)
{
	const struct service_spec *old = svc->spec;
	bool restart = needs_restart(old, spec);
	struct cgroup_limits l;
	int r = 0;

	limits_from_spec(&l, spec);
	bool limits_changed = !limits_eq(&l, &svc->limits) || svc->pinned;
	if (spec->restart.burst != old->restart.burst) {
		free(svc->starts);
		svc->starts =
		    xcalloc(spec->restart.burst ? spec->restart.burst : 1, sizeof(uint64_t));
		svc->nstarts = svc->starts_pos = 0;
	}
	svc->spec = spec;
	if (restart && svc->image && !str_eq(old->image, spec->image))
		svc->image = image_info_free(svc->image);
	/* A reload ends any `set` pin: the spec is the truth again. */
	if (limits_changed && !restart) {
		r = service_set_limits(svc, &l, err, errlen);
		svc->pinned = false;
		if (r == 0)
			emit(svc, "reloaded",
			     jobj("change", json_object_new_string("limits"), NULL, NULL));
		return r;
	}
	if (limits_changed) {
		free(svc->cpus_override);
		svc->cpus_override = NULL;
		svc->limits = l;
		svc->pinned = false;
	}
	if (restart && (svc->state == SVC_RUNNING || svc->state == SVC_STARTING)) {
		emit(svc, "reloaded",
		     jobj("change", json_object_new_string("restart"), NULL, NULL));
		svc->restart_pending = svc->reload_restart = true;
		service_dispatch(svc, SE_STOP);
	} else {
		emit(svc, "reloaded",
		     jobj("change", json_object_new_string(restart ? "next start" : "none"), NULL,
			  NULL));
	}
	return 0;
}

/* --- public ---------------------------------------------------------------------------- */

int service_start(struct service *svc)
{
	if (svc->state == SVC_STARTING || svc->state == SVC_RUNNING)
		return -EALREADY;
	if (svc->state == SVC_STOPPING)
		return -EBUSY;
	service_dispatch(svc, SE_START);
	return 0;
}

int service_stop(struct service *svc)
{
	if (svc->state == SVC_STOPPED || svc->state == SVC_FAILED)
		return -EALREADY;
	service_dispatch(svc, SE_STOP);
	return 0;
}

int service_restart(struct service *svc)
{
	if (svc->state == SVC_STOPPED || svc->state == SVC_FAILED || svc->state == SVC_BACKOFF) {
		service_dispatch(svc, SE_START);
		return 0;
	}
	/* Stop now, start again once everything is cleaned up (SE_CLEANED). */
	svc->restart_pending = true;
	service_dispatch(svc, SE_STOP);
	return 0;
}

int service_kill(struct service *svc, int sig)
{
	if (!svc->main_pid || !svc->cg)
		return -ESRCH;
	if (sig == SIGKILL)
		svc->sigkill_sent = true;
	return cgroup_signal_all(svc->cg, sig);
}

int service_freeze(struct service *svc, bool frozen)
{
	int r;

	if (!svc->main_pid || !svc->cg)
		return -ESRCH;
	if ((r = cgroup_freeze(svc->cg, frozen)) < 0)
		return r;
	svc->frozen = frozen;
	/* A frozen service cannot ping: the watchdog sleeps with it, a full interval on thaw. */
	arm_watchdog(svc);
	emit(svc, frozen ? "frozen" : "thawed", NULL);
	return 0;
}

void **service_monitor_slot(struct service *svc)
{
	return &svc->monitor_state;
}

uint64_t service_oom_kills(const struct service *svc)
{
	return svc->oom_kills;
}

/*
 * The kernel OOM-killed n processes in the group. When the main process
 * died of it, its exit is recorded as oom-kill and the restart policy runs
 * there; when it survived (a child was killed), on_oom acts here.
 */
void service_note_oom_kills(struct service *svc, uint64_t n, bool main_alive)
{
	const struct service_spec *spec = svc->spec;

	svc->oom_kills += n;
	log_warnx("service %s: %llu process%s OOM-killed in its cgroup%s", spec->name,
		  (unsigned long long)n, n == 1 ? "" : "es",
		  main_alive ? " (main process alive)" : "");
	logstore_note(svc->log, "%llu process%s OOM-killed%s", (unsigned long long)n,
		      n == 1 ? "" : "es", main_alive ? "; main process alive" : "");
	struct json_object *d = jobj("count", json_object_new_int64((int64_t)n), "main",
				     json_object_new_boolean(!main_alive));
	json_object_object_add(d, "on_oom", json_object_new_string(spec_on_oom_name(spec->on_oom)));
	json_object_object_add(d, "total", json_object_new_int64((int64_t)svc->oom_kills));
	emit(svc, "oom-kill", d);
	if (spec->on_oom == ON_OOM_GROW)
		rebalancer_oom_grow(svc); /* memory.max one step up for the restart */
	if (!main_alive || svc->state != SVC_RUNNING)
		return;
	if (spec->on_oom == ON_OOM_STOP) {
		emit(svc, "action",
		     jobj("action", json_object_new_string("stop"), "reason",
			  json_object_new_string("on_oom: stop after an OOM kill")));
		(void)service_stop(svc);
	} else {
		emit(svc, "action",
		     jobj("action", json_object_new_string("restart"), "reason",
			  json_object_new_string("on_oom after an OOM kill")));
		(void)service_restart(svc);
	}
}

const char *service_name(const struct service *svc)
{
	return svc->spec->name;
}
const struct service_spec *service_spec(const struct service *svc)
{
	return svc->spec;
}
enum service_state service_state(const struct service *svc)
{
	return svc->state;
}
bool service_settled(const struct service *svc)
{
	return (svc->state == SVC_STOPPED || svc->state == SVC_FAILED) && svc->main_pid == 0 &&
	       !svc->cg && svc->out_fd[0] < 0 && svc->out_fd[1] < 0;
}
uint64_t service_state_since(const struct service *svc)
{
	return svc->since_ms;
}
pid_t service_main_pid(const struct service *svc)
{
	return svc->main_pid;
}
unsigned service_restarts(const struct service *svc)
{
	return svc->restarts;
}
const struct service_exit *service_last_exit(const struct service *svc)
{
	return &svc->last_exit;
}
struct cgroup *service_cgroup(const struct service *svc)
{
	return svc->cg;
}
bool service_uses_specs(const struct service *svc, const struct spec_set *set)
{
	const struct service_spec *probe = svc->probe ? ready_probe_spec(svc->probe) : NULL;

	for (size_t i = 0; i < set->nservices; i++)
		if (svc->spec == set->services[i] || probe == set->services[i])
			return true;
	return false;
}

bool service_frozen(const struct service *svc)
{
	return svc->frozen;
}
uint64_t service_log_dropped(const struct service *svc)
{
	return logstore_dropped(svc->log);
}
const struct image_info *service_image(const struct service *svc)
{
	return svc->image;
}

struct logstore *service_logstore(const struct service *svc)
{
	return svc->log;
}
char *service_log_tail(const struct service *svc, unsigned n)
{
	return logstore_tail(svc->log, n);
}
