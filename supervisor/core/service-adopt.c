/*
 * service-adopt.c - one service: taking over what an earlier paddockd started (see service-internal.h).
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>

#include <json-c/json.h>

#include "log.h"
#include "network.h"
#include "service-internal.h"
#include "state.h"
#include "fdstore.h"
#include "util.h"

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

/* The real uid and gid of pid, from /proc/PID/status. */
static int proc_ids(pid_t pid, uid_t *uid, gid_t *gid)
{
	char path[64], buf[2048];
	unsigned u, g;
	const char *pu, *pg;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0 || !(pu = strstr(buf, "\nUid:")) ||
	    !(pg = strstr(buf, "\nGid:")) || sscanf(pu, "\nUid: %u", &u) != 1 ||
	    sscanf(pg, "\nGid: %u", &g) != 1)
		return -1;
	*uid = u;
	*gid = g;
	return 0;
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

_Static_assert(EXIT_KIND_MAX <= STATE_EXIT_KIND_MAX, "the state file counts every exit kind");

/*
 * What the previous daemon knew of the service, whatever it does now
 * (running, ended while we were away, held, or to be started): its
 * counters and its last exit, so that status, list and metrics say after
 * a takeover what they said before it.
 */
static void restore_record(struct service *svc, const struct state_service *rec)
{
	if (!rec)
		return;
	svc->restarts = rec->restarts;
	svc->reloads = rec->reloads;
	svc->failures = rec->failures;
	svc->oom_kills = rec->oom_kills;
	for (size_t i = 0; i < EXIT_KIND_MAX; i++)
		svc->exits[i] = rec->exits[i];
	svc->memory_past = rec->memory_events;
	/* A health or readiness command of an adopted service runs as its user, not root. */
	svc->run_uid = rec->run_uid;
	svc->run_gid = rec->run_gid;
	svc->run_ids_known = rec->run_ids;
	if (rec->exit_kind > EXIT_NONE && rec->exit_kind < EXIT_KIND_MAX) {
		svc->last_exit.kind = (enum exit_kind)rec->exit_kind;
		svc->last_exit.code = rec->exit_code;
		svc->last_exit.when_ms = rec->exit_ms;
		snprintf(svc->last_exit.reason, sizeof(svc->last_exit.reason), "%s",
			 rec->exit_reason);
	}
}

/*
 * The previous daemon had this service stopped or failed for good (an
 * operator's stop, an exit with no restart to come), or parked: it stays
 * so, with its last exit, instead of being started.
 */
static int keep_held(struct service *svc, const struct state_service *rec)
{
	/* A one-shot that ran to its end with 0 stays completed (depends_on conditions). */
	svc->stop_requested = rec->held == STATE_HELD_STOPPED && !rec->completed;
	svc->bound_stop = rec->held == STATE_HELD_STOPPED && rec->bound_stop;
	log_info("service %s: stays %s, as before paddockd's restart", svc->spec->name,
		 state_held_name(rec->held));
	svc_emit(svc, "held",
		 svc_jobj("state", json_object_new_string(state_held_name(rec->held)), NULL, NULL));
	/* Parked waits for room as before; the manager asks again once it is known. */
	service_set_state(svc, rec->held == STATE_HELD_STOPPED	? SVC_STOPPED
			       : rec->held == STATE_HELD_PARKED ? SVC_PARKED
								: SVC_FAILED);
	return 1;
}

/*
 * No record of the user the service was started as (no state file, or
 * one from before run_uid): the one its command runs as now, so that its
 * checks do not run as root. With the built-in init (root, pid 1 of the
 * service) that is init's eldest child.
 */
static void adopted_ids(struct service *svc, const pid_t *pids, size_t npids, pid_t main)
{
	pid_t cmd = main;
	uint64_t best_t = UINT64_MAX;

	if (svc->spec->init) {
		cmd = 0;
		for (size_t i = 0; i < npids; i++) {
			uint64_t t = state_proc_start_time(pids[i]);
			if (proc_ppid(pids[i]) == main && t && t < best_t) {
				cmd = pids[i];
				best_t = t;
			}
		}
	}
	if (cmd > 0 && proc_ids(cmd, &svc->run_uid, &svc->run_gid) == 0) {
		svc->run_ids_known = true;
		log_info(
		    "service %s: no record of its user: checks run as uid %u gid %u, as pid %d",
		    svc->spec->name, (unsigned)svc->run_uid, (unsigned)svc->run_gid, (int)cmd);
		return;
	}
	/* Nothing to learn it from: an unprivileged nobody rather than root. */
	svc->run_uid = 65534;
	svc->run_gid = 65534;
	log_warnx("service %s: no record of its user: checks run as nobody (65534) until its next "
		  "start",
		  svc->spec->name);
}

int service_adopt(struct service *svc, struct service_adoption *a)
{
	const struct state_service *rec = a->rec;
	const char *name = svc->spec->name, *how = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	size_t npids = 0;
	struct cgroup *cg = NULL;
	pid_t pid = 0;

	restore_record(svc, rec);
	if (rec)
		svc_kept_restore(svc, rec); /* pins and STATUS= (service-limits.c) */
	if (rec) { /* schedule: (timers.c) */
		svc->timer_last_ms = rec->timer_last_ms;
		svc->timer_armed_ms = rec->timer_armed_ms;
	}
	if (cgroup_open(svc->env->cgroups, name, &cg) < 0) {
		close_adoption(a);
		(void)fdstore_drop(svc->env->fdstore, name);
		if (rec && rec->held != STATE_HELD_NONE)
			return keep_held(svc, rec);
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
		(void)fdstore_drop(svc->env->fdstore, name);
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
		svc->ev_out[i] = event_new(svc->env->base, svc->out_fd[i], EV_READ | EV_PERSIST,
					   svc_on_output, svc);
		event_add(svc->ev_out[i], NULL);
	}
	if (svc->spec->image)
		xasprintf(&svc->rootfs_dir, "%s/rootfs/%s", svc->env->cfg->state_dir, name);
	svc->started_at_ms = rec && rec->started_at_ms ? rec->started_at_ms : realtime_ms();
	uint64_t age = realtime_ms() > svc->started_at_ms ? realtime_ms() - svc->started_at_ms : 0;
	svc->started_mono = now_ms() > age ? now_ms() - age : 0;
	svc->adopted = true;
	svc->last_pid = pid > 0 ? pid : rec ? rec->pid : 0;

	if (pid > 0) {
		svc->main_pid = pid;
		svc->start_time = state_proc_start_time(pid);
		if (!svc->run_ids_known)
			adopted_ids(svc, pids, npids, pid);
		if (svc->env->net)
			svc->net = netmgr_adopt(svc->env->net, svc->spec, rec);
		svc->ev_exit =
		    event_new(svc->env->base, svc->child.pidfd, EV_READ, svc_on_exit_event, svc);
		event_add(svc->ev_exit, NULL);
		svc_watch(svc, true);
		log_info("service %s: adopted pid %d (identity from the %s)", name, (int)pid, how);
		svc_emit(svc, "adopt", svc_jobj("how", json_object_new_string(how), NULL, NULL));
		/* It was ready before (or it would not be left running): its watchdog starts over. */
		svc->watchdog_usec = svc->spec->watchdog_ms * 1000;
		svc->last_watchdog_ms = realtime_ms();
		/* Frozen before the restart: it stays so, and its watchdog waits for the thaw. */
		svc->frozen = cgroup_frozen(cg);
		service_set_state(svc, SVC_RUNNING);
		svc_arm_watchdog(svc);
		svc_health_start(svc);
		return 1;
	}

	/* It ended while no paddockd ran: its restart policy decides, as for any exit. */
	log_info("service %s: its main process ended while paddockd was away%s", name,
		 npids ? "; killing what is left in its cgroup" : "");
	(void)fdstore_drop(svc->env->fdstore, name);
	service_set_state(svc, SVC_RUNNING);
	svc_judge_exit(svc, svc_read_init_status(svc, true), true);
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
	out->reloads = svc->reloads;
	out->failures = svc->failures;
	out->oom_kills = svc->oom_kills;
	for (size_t i = 0; i < EXIT_KIND_MAX; i++)
		out->exits[i] = svc->exits[i];
	out->memory_events = svc->memory_past;
	out->run_uid = svc->run_uid;
	out->run_ids = svc->run_ids_known;
	out->run_gid = svc->run_gid;
	out->spec_text = svc->spec_text; /* borrowed */
	out->rm = svc->remove_when_settled;
	/*
	 * Settled for good until an operator says otherwise (stopped, or ended
	 * with no restart to come): the next daemon keeps it so. Not what our
	 * own shutdown stopped: a clean shutdown starts everything next time.
	 */
	if (svc->env->shutting_down)
		;
	else if (svc->state == SVC_STOPPED &&
		 (svc->last_exit.kind != EXIT_NONE || svc->stop_requested))
		out->held = STATE_HELD_STOPPED;
	else if (svc->state == SVC_FAILED)
		out->held = STATE_HELD_FAILED;
	else if (svc->state == SVC_PARKED)
		out->held = STATE_HELD_PARKED;
	/* depends_on: why it is held stopped (a binding, or a one-shot done) */
	out->bound_stop = out->held == STATE_HELD_STOPPED && svc->bound_stop;
	out->completed = out->held == STATE_HELD_STOPPED && !svc->stop_requested &&
			 svc->last_exit.kind == EXIT_CODE && svc->last_exit.code == 0;
	if (svc->last_exit.kind != EXIT_NONE) {
		out->exit_kind = (int)svc->last_exit.kind;
		out->exit_code = svc->last_exit.code;
		out->exit_ms = svc->last_exit.when_ms;
		snprintf(out->exit_reason, sizeof(out->exit_reason), "%s", svc->last_exit.reason);
	}
	svc_kept_record(svc, out); /* pins and STATUS= (service-limits.c) */
	out->timer_last_ms = svc->timer_last_ms; /* schedule: (timers.c) */
	out->timer_armed_ms = svc->timer_armed_ms;
	net_lease_record(svc->net, out);
}

void service_set_spec_text(struct service *svc, const char *text)
{
	free(svc->spec_text);
	svc->spec_text = text ? xstrdup(text) : NULL;
}

/* schedule: (timers.c) */
uint64_t service_timer_last(const struct service *svc)
{
	return svc->timer_last_ms;
}

uint64_t service_timer_armed(const struct service *svc)
{
	return svc->timer_armed_ms;
}

void service_timer_mark(struct service *svc, uint64_t last_ms, uint64_t armed_ms)
{
	svc->timer_last_ms = last_ms;
	svc->timer_armed_ms = armed_ms;
}
