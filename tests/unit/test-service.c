/*
 * test-service.c - the service state machine (supervisor/core/service.c)
 * driven through every transition with stub hooks.
 *
 * The state machine, readiness and limits are the daemon's own code,
 * linked from libcore.a. The process side (service-launch.c,
 * service-output.c: cgroups, namespaces, pipes) is replaced by the stubs
 * below, which define every svc_* step the state machine calls there, so
 * the linker never pulls those files in. A "started" service is a real
 * forked child that pauses: signals, stop timeouts and SIGKILL escalation
 * act on a real process; its exit is judged here and fed back as the
 * SE_EXITED / SE_LAUNCH_FAILED events the real judge would send. Every
 * wait is for a condition, with a deadline, on a real event loop.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "config.h"
#include "events.h"
#include "logstore.h"
#include "notify-parse.h"
#include "service-internal.h"
#include "util.h"

#define DEADLINE_MS 5000

/* --- the world: one event base, hooks that record ------------------------------------ */

static struct {
	struct event_base *base;
	struct daemon_config *cfg;
	struct eventlog *events;
	struct service_env env;
	char dir[64];
	struct spec_set *set;
	struct service *svc[4];
	size_t n;
	char trail[4096]; /* "name:state " per transition the hooks saw */
	unsigned changed, watched_off;
	bool ignore_term; /* the next child ignores SIGTERM */
	bool fail_launch; /* the next launch fails before the clone */
	unsigned group_kills, freezes, thaws;
} w;

static void hook_changed(void *arg, struct service *svc)
{
	size_t len = strlen(w.trail);

	w.changed++;
	snprintf(w.trail + len, sizeof(w.trail) - len, "%s:%s ", service_name(svc),
		 service_state_name(service_state(svc)));
}

static void hook_watch(void *arg, struct service *svc, bool live)
{
	if (!live)
		w.watched_off++;
}

static void hook_limits(void *arg, const struct service *svc, struct cgroup_limits *l)
{
}

static struct service *hook_find(void *arg, const char *name)
{
	for (size_t i = 0; i < w.n; i++)
		if (strcmp(service_name(w.svc[i]), name) == 0)
			return w.svc[i];
	return NULL;
}

static const struct service_hooks hooks = { hook_changed, hook_watch, hook_limits, hook_find };

/* --- stubs for the process side -------------------------------------------------------- */

void svc_launch_now(struct service *svc)
{
	pid_t pid;

	if (w.fail_launch) {
		w.fail_launch = false;
		svc_fail_start(svc, EXIT_LAUNCH, "exec /bin/nope: No such file or directory");
		return;
	}
	/* Ignored before the fork, so the child ignores SIGTERM from its first instruction. */
	void (*old)(int) = w.ignore_term ? signal(SIGTERM, SIG_IGN) : SIG_ERR;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		for (;;)
			pause();
	if (old != SIG_ERR)
		signal(SIGTERM, old);
	w.ignore_term = false;
	svc->child.pid = pid;
	svc->main_pid = svc->last_pid = pid;
	svc->started_mono = now_ms();
	svc_emit(svc, "start", NULL);
	service_set_state(svc, SVC_STARTING);
}

void svc_prepare_image(struct service *svc)
{
	fail_msg("no images in this test");
}

void svc_release_process(struct service *svc)
{
	svc->main_pid = 0;
	svc->child.pid = 0;
}

int svc_read_init_status(struct service *svc, bool adopted)
{
	return -1;
}

void svc_judge_exit(struct service *svc, int status, bool away)
{
	fail_msg("the test judges exits itself");
}

void svc_on_exit_event(evutil_socket_t fd, short what, void *arg)
{
}

void svc_warn_unsupported(struct service *svc, unsigned bits)
{
}

void svc_drop_overlay(struct service *svc)
{
}

void svc_release_net(struct service *svc)
{
}

bool svc_cleanup_cgroup(struct service *svc)
{
	return true;
}

int svc_destroy_cgroup(struct service *svc)
{
	return 0;
}

int svc_signal_group(struct service *svc, int sig)
{
	return kill(svc->main_pid, sig) < 0 ? -errno : 0;
}

int svc_freeze_group(struct service *svc, bool frozen)
{
	if (frozen)
		w.freezes++;
	else
		w.thaws++;
	return 0;
}

int svc_kill_group(struct service *svc)
{
	w.group_kills++;
	(void)kill(svc->main_pid, SIGKILL);
	return 0;
}

void svc_close_output(struct service *svc, int i)
{
}

void svc_on_output(evutil_socket_t fd, short what, void *arg)
{
}

int svc_open_outputs(struct service *svc, int wr[2])
{
	return -ENOSYS;
}

/* --- helpers --------------------------------------------------------------------------- */

static void load(const char *yaml)
{
	struct config_errors errs = { 0 };
	struct config_host host = { .mem_total = 1ULL << 34 };

	w.set = NULL;
	if (config_parse_specs_buffer("test", yaml, strlen(yaml), &host, &w.set, &errs) < 0) {
		config_errors_print(stderr, &errs);
		config_errors_clear(&errs);
		fail_msg("spec does not parse");
	}
	w.n = w.set->nservices;
	for (size_t i = 0; i < w.n; i++)
		w.svc[i] = service_new(&w.env, w.set->services[i]);
}

static int setup(void **state)
{
	memset(&w, 0, sizeof(w));
	snprintf(w.dir, sizeof(w.dir), "/tmp/paddock-test-service.XXXXXX");
	assert_non_null(mkdtemp(w.dir));
	w.base = event_base_new();
	w.cfg = daemon_config_new_defaults();
	w.events = eventlog_open(w.dir, 1 << 20, 1);
	w.env = (struct service_env){
		.base = w.base, .cfg = w.cfg, .events = w.events, .logs_dir = w.dir, .hooks = &hooks
	};
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	for (size_t i = 0; i < w.n; i++) {
		if (w.svc[i]->main_pid > 0) {
			(void)kill(w.svc[i]->main_pid, SIGKILL);
			(void)waitpid(w.svc[i]->main_pid, NULL, 0);
			w.svc[i]->main_pid = 0;
		}
		w.svc[i]->state = SVC_STOPPED; /* the destructor wants no process */
		w.svc[i] = service_free(w.svc[i]);
	}
	spec_set_free(w.set);
	eventlog_free(w.events);
	daemon_config_free(w.cfg);
	event_base_free(w.base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", w.dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Run the loop until cond() holds; fail after DEADLINE_MS. */
static void loop_until(bool (*cond)(struct service *), struct service *svc)
{
	uint64_t end = now_ms() + DEADLINE_MS;

	while (!cond(svc)) {
		struct timeval tv = { 0, 5000 };
		assert_true(now_ms() < end);
		event_base_loopexit(w.base, &tv);
		event_base_dispatch(w.base);
	}
}

static enum service_state want_state;
static bool in_want_state(struct service *svc)
{
	return svc->state == want_state;
}

static void loop_until_state(struct service *svc, enum service_state st)
{
	want_state = st;
	loop_until(in_want_state, svc);
}

/* The child is gone (it was signalled): reap it and judge as service-launch.c would. */
static bool child_gone(struct service *svc)
{
	int st;
	pid_t pid = svc->main_pid;

	if (waitpid(pid, &st, WNOHANG) != pid)
		return false;
	svc->last_exit.kind = WIFSIGNALED(st) ? EXIT_SIGNAL : EXIT_CODE;
	svc->last_exit.code = WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st);
	snprintf(svc->last_exit.reason, sizeof(svc->last_exit.reason), "%s %d",
		 WIFSIGNALED(st) ? "signal" : "exited", svc->last_exit.code);
	if (svc->forced != EXIT_NONE)
		svc->last_exit.kind = svc->forced;
	svc_account_exit(svc);
	svc_release_process(svc);
	service_dispatch(svc, SE_EXITED);
	return true;
}

/* The main process ends with kind/code (the test kills it; the kind is what the judge said). */
static void end_with(struct service *svc, enum exit_kind kind, int code)
{
	pid_t pid = svc->main_pid;

	assert_true(pid > 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	svc->last_exit.kind = kind;
	svc->last_exit.code = code;
	snprintf(svc->last_exit.reason, sizeof(svc->last_exit.reason), "kind %d code %d", kind,
		 code);
	svc_account_exit(svc);
	svc_release_process(svc);
	service_dispatch(svc, kind == EXIT_LAUNCH ? SE_LAUNCH_FAILED : SE_EXITED);
}

/* How many events of type the service has in the event log. */
static int events_of(const char *type)
{
	struct json_object *all = eventlog_query(w.events, NULL, 0, EVENTS_RING), *t;
	int n = 0;

	for (size_t i = 0; i < json_object_array_length(all); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(all, i), "type", &t) &&
		    strcmp(json_object_get_string(t), type) == 0)
			n++;
	json_object_put(all);
	return n;
}

static void start_running(struct service *svc)
{
	assert_int_equal(service_start(svc), 0);
	assert_int_equal(svc->state, SVC_STARTING);
	service_dispatch(svc, SE_EXEC_OK); /* ready: none */
	assert_int_equal(svc->state, SVC_RUNNING);
}

/* --- the transitions ------------------------------------------------------------------- */

static void test_start_ready(void **state)
{
	load("services:\n  a:\n    command: [x]\n");
	start_running(w.svc[0]);
	assert_string_equal(w.trail, "a:starting a:running ");
	assert_int_equal(events_of("ready"), 1);
	assert_int_equal(service_start(w.svc[0]), -EALREADY);
}

static void test_start_notify(void **state)
{
	struct notify_msg m = { .ready = true };

	load("services:\n  a:\n    command: [x]\n    ready: notify\n");
	assert_int_equal(service_start(w.svc[0]), 0);
	service_dispatch(w.svc[0], SE_EXEC_OK);
	assert_int_equal(w.svc[0]->state, SVC_STARTING); /* waits for READY=1 */
	service_notify(w.svc[0], &m, w.svc[0]->main_pid);
	assert_int_equal(w.svc[0]->state, SVC_RUNNING);
}

static void test_exit_clean_stops(void **state)
{
	load("services:\n  a:\n    command: [x]\n    restart: {policy: on-failure}\n");
	start_running(w.svc[0]);
	end_with(w.svc[0], EXIT_CODE, 0);
	assert_int_equal(w.svc[0]->state, SVC_STOPPED);
	assert_int_equal(w.watched_off, 1); /* the cleanup unwatched the cgroup */
	assert_int_equal(events_of("exit"), 1);
	assert_int_equal(events_of("failed"), 0);
}

static void test_exit_failure_backoff_restarts(void **state)
{
	load("services:\n  a:\n    command: [x]\n"
	     "    restart: {policy: on-failure, delay: 10ms, max_delay: 1s}\n");
	start_running(w.svc[0]);
	end_with(w.svc[0], EXIT_CODE, 3);
	assert_int_equal(w.svc[0]->state, SVC_BACKOFF);
	assert_int_equal(w.svc[0]->failures, 1);
	assert_int_equal(events_of("restart-scheduled"), 1);
	loop_until_state(w.svc[0], SVC_STARTING); /* the backoff timer started it again */
	assert_int_equal(service_restarts(w.svc[0]), 1);
	/* A second failure backs off longer: 10 ms, then about 20 (+-10%). */
	service_dispatch(w.svc[0], SE_EXEC_OK);
	end_with(w.svc[0], EXIT_CODE, 3);
	assert_int_equal(w.svc[0]->failures, 2);
	assert_true(w.svc[0]->timer_due - now_ms() >= 17);
}

static void test_exit_signal_fails(void **state)
{
	load("services:\n  a:\n    command: [x]\n    restart: {policy: never}\n");
	start_running(w.svc[0]);
	end_with(w.svc[0], EXIT_SIGNAL, SIGKILL);
	assert_int_equal(w.svc[0]->state, SVC_FAILED);
	assert_int_equal(service_last_exit(w.svc[0])->kind, EXIT_SIGNAL);
	assert_int_equal(events_of("failed"), 1);
}

static void test_oom_on_oom(void **state)
{
	load("services:\n  a:\n    command: [x]\n    restart: {policy: never}\n"
	     "  b:\n    command: [x]\n    on_oom: stop\n    restart: {policy: always}\n");
	/* on_oom decides after an OOM kill, whatever the restart policy says. */
	start_running(w.svc[0]);
	end_with(w.svc[0], EXIT_OOM, SIGKILL);
	assert_int_equal(w.svc[0]->state, SVC_BACKOFF); /* on_oom: restart (default) */
	start_running(w.svc[1]);
	end_with(w.svc[1], EXIT_OOM, SIGKILL);
	assert_int_equal(w.svc[1]->state, SVC_FAILED); /* on_oom: stop */
}

static void test_launch_failures(void **state)
{
	load("services:\n  a:\n    command: [x]\n    restart: {policy: always}\n");
	/* Before the clone: failed at once, nothing to clean. */
	w.fail_launch = true;
	assert_int_equal(service_start(w.svc[0]), 0);
	assert_int_equal(w.svc[0]->state, SVC_FAILED);
	assert_int_equal(service_last_exit(w.svc[0])->kind, EXIT_LAUNCH);
	/* After the clone (exec failed): failed, not restarted, despite policy always. */
	assert_int_equal(service_start(w.svc[0]), 0);
	end_with(w.svc[0], EXIT_LAUNCH, ENOENT);
	assert_int_equal(w.svc[0]->state, SVC_FAILED);
	assert_int_equal(events_of("failed"), 2);
}

static void test_start_limit(void **state)
{
	load("services:\n  a:\n    command: [x]\n"
	     "    restart: {policy: always, delay: 1ms, max_delay: 1ms, limit: {burst: 2, "
	     "interval: 60s}}\n");
	start_running(w.svc[0]);
	end_with(w.svc[0], EXIT_CODE, 1);
	loop_until_state(w.svc[0], SVC_STARTING);
	end_with(w.svc[0], EXIT_CODE, 1);
	/* The third start within the interval is refused. */
	loop_until_state(w.svc[0], SVC_FAILED);
	assert_int_equal(service_last_exit(w.svc[0])->kind, EXIT_START_LIMIT);
	/* An operator's start resets the limit. */
	assert_int_equal(service_start(w.svc[0]), 0);
	assert_int_equal(w.svc[0]->state, SVC_STARTING);
}

static void test_stop_graceful(void **state)
{
	load("services:\n  a:\n    command: [x]\n    restart: {policy: always}\n");
	start_running(w.svc[0]);
	assert_int_equal(service_stop(w.svc[0]), 0);
	assert_int_equal(w.svc[0]->state, SVC_STOPPING);
	loop_until(child_gone, w.svc[0]); /* SIGTERM ended it */
	assert_int_equal(w.svc[0]->state, SVC_STOPPED); /* asked for: no restart */
	assert_int_equal(service_last_exit(w.svc[0])->code, SIGTERM);
	assert_int_equal(w.group_kills, 0);
	assert_int_equal(service_stop(w.svc[0]), -EALREADY);
}

static bool group_killed(struct service *svc)
{
	return w.group_kills > 0;
}

static void test_stop_escalation(void **state)
{
	load("services:\n  a:\n    command: [x]\n    stop: {signal: SIGTERM, timeout: 100ms}\n");
	w.ignore_term = true;
	start_running(w.svc[0]);
	assert_int_equal(service_stop(w.svc[0]), 0);
	loop_until(group_killed, w.svc[0]);
	assert_true(w.svc[0]->kill_sent);
	assert_true(w.svc[0]->sigkill_sent);
	assert_int_equal(events_of("kill"), 1);
	loop_until(child_gone, w.svc[0]);
	assert_int_equal(w.svc[0]->state, SVC_STOPPED);
	assert_int_equal(service_last_exit(w.svc[0])->code, SIGKILL);
}

static void test_freeze_thaw(void **state)
{
	load("services:\n  a:\n    command: [x]\n");
	assert_int_equal(service_freeze(w.svc[0], true), -ESRCH); /* nothing runs */
	start_running(w.svc[0]);
	assert_int_equal(service_freeze(w.svc[0], true), 0);
	assert_true(service_frozen(w.svc[0]));
	assert_int_equal(events_of("frozen"), 1);
	/* Stopping a frozen service thaws it first, or the stop signal could not act. */
	assert_int_equal(service_stop(w.svc[0]), 0);
	assert_int_equal(w.thaws, 1);
	assert_false(service_frozen(w.svc[0]));
	loop_until(child_gone, w.svc[0]);
	assert_int_equal(w.svc[0]->state, SVC_STOPPED);
}

static void test_depends_wait(void **state)
{
	load("services:\n  app:\n    command: [x]\n    depends_on: [db]\n"
	     "  db:\n    command: [x]\n");
	struct service *app = w.svc[0], *db = w.svc[1];

	assert_int_equal(service_start(app), 0);
	assert_int_equal(app->state, SVC_WAITING);
	assert_int_equal(events_of("waiting"), 1);
	start_running(db);
	/* What the manager does on the next turn: start waiting services whose deps run. */
	assert_true(service_deps_ready(app));
	assert_int_equal(service_start(app), 0);
	assert_int_equal(app->state, SVC_STARTING);
	/* An operator stopped db: app waits for it again, and says so. */
	service_dispatch(app, SE_EXEC_OK);
	assert_int_equal(service_stop(db), 0);
	loop_until(child_gone, db);
	assert_int_equal(service_stop(app), 0);
	loop_until(child_gone, app);
	assert_int_equal(service_start(app), 0);
	assert_int_equal(app->state, SVC_WAITING);
	char why[128];
	assert_string_equal(service_waiting_for(app, why, sizeof(why)),
			    "db (ready): it is stopped");
	/* Stopping a waiting service needs no process. */
	assert_int_equal(service_stop(app), 0);
	assert_int_equal(app->state, SVC_STOPPED);
	assert_null(service_waiting_for(app, why, sizeof(why)));
}

/* A one-shot that exited 0 meets ready: a restart of its dependent does not wait for good. */
static void test_depends_completed(void **state)
{
	load("services:\n  app:\n    command: [x]\n    depends_on: [migrate]\n"
	     "  migrate:\n    command: [x]\n    restart: {policy: never}\n");
	struct service *app = w.svc[0], *migrate = w.svc[1];

	start_running(migrate);
	end_with(migrate, EXIT_CODE, 0);
	assert_int_equal(migrate->state, SVC_STOPPED);
	assert_int_equal(service_start(app), 0);
	assert_int_equal(app->state, SVC_STARTING);
}

/* completed_successfully: waits while it runs, fails with the reason when it exits non-zero. */
static void test_depends_completed_fails(void **state)
{
	load("services:\n  app:\n    command: [x]\n"
	     "    depends_on: {migrate: {condition: completed_successfully}}\n"
	     "  migrate:\n    command: [x]\n    restart: {policy: never}\n");
	struct service *app = w.svc[0], *migrate = w.svc[1];
	char why[128];

	assert_int_equal(service_start(app), 0);
	assert_int_equal(app->state, SVC_WAITING);
	start_running(migrate);
	service_follow_deps(app); /* the manager, on the next turn */
	assert_int_equal(app->state, SVC_WAITING);
	assert_string_equal(service_waiting_for(app, why, sizeof(why)),
			    "migrate (completed_successfully): still running");
	end_with(migrate, EXIT_CODE, 1);
	assert_int_equal(migrate->state, SVC_FAILED);
	service_follow_deps(app);
	assert_int_equal(app->state, SVC_FAILED);
	assert_string_equal(service_last_exit(app)->reason, "dependency migrate exited 1");
	/* Started again while migrate still failed: fails at once, the same way. */
	assert_int_equal(service_start(app), 0);
	assert_int_equal(app->state, SVC_FAILED);
}

/* restart: true follows the dependency's restarts; binds_to its stops and starts. */
static void test_depends_restart_binds(void **state)
{
	load("services:\n  app:\n    command: [x]\n"
	     "    depends_on: {db: {condition: started, restart: true}}\n"
	     "    binds_to: [db]\n"
	     "  db:\n    command: [x]\n");
	struct service *app = w.svc[0], *db = w.svc[1];

	start_running(db);
	db->started_mono = 1000; /* the launch stub leaves the clock to us */
	start_running(app);
	app->started_mono = 2000;
	service_follow_deps(app);
	assert_int_equal(app->state, SVC_RUNNING);
	db->started_mono = 3000; /* db started again */
	service_follow_deps(app);
	assert_int_equal(app->state, SVC_STOPPING);
	loop_until(child_gone, app);
	assert_int_equal(app->state, SVC_STARTING); /* db runs: at once, no backoff */
	assert_int_equal(service_restarts(app), 1);
	assert_int_equal(events_of("dependency-restart"), 1);
	service_dispatch(app, SE_EXEC_OK);
	app->started_mono = 4000;

	assert_int_equal(service_stop(db), 0);
	loop_until(child_gone, db);
	service_follow_deps(app);
	assert_int_equal(app->state, SVC_STOPPING);
	assert_true(service_bound_stop(app));
	loop_until(child_gone, app);
	assert_int_equal(app->state, SVC_STOPPED);
	service_follow_deps(app);
	assert_int_equal(app->state, SVC_STOPPED);
	start_running(db);
	service_follow_deps(app);
	assert_int_equal(app->state, SVC_STARTING);
	assert_false(service_bound_stop(app));
	/* An operator's stop is no binding's: db's next start leaves app stopped. */
	service_dispatch(app, SE_EXEC_OK);
	assert_int_equal(service_stop(app), 0);
	loop_until(child_gone, app);
	assert_false(service_bound_stop(app));
}

static void test_restart_backs_off(void **state)
{
	load("services:\n  a:\n    command: [x]\n    restart: {policy: never, delay: 10ms}\n");
	start_running(w.svc[0]);
	assert_int_equal(service_restart(w.svc[0]), 0);
	assert_int_equal(w.svc[0]->state, SVC_STOPPING);
	loop_until(child_gone, w.svc[0]);
	/* A daemon-decided restart counts like a failure: backoff, then a start. */
	assert_int_equal(w.svc[0]->state, SVC_BACKOFF);
	loop_until_state(w.svc[0], SVC_STARTING);
	/* Restarting a stopped service starts it. */
	service_dispatch(w.svc[0], SE_EXEC_OK);
	end_with(w.svc[0], EXIT_CODE, 0);
	assert_int_equal(w.svc[0]->state, SVC_STOPPED);
	assert_int_equal(service_restart(w.svc[0]), 0);
	assert_int_equal(w.svc[0]->state, SVC_STARTING);
}

static void test_reload_restarts_at_once(void **state)
{
	struct config_errors errs = { 0 };
	struct config_host host = { .mem_total = 1ULL << 34 };
	struct spec_set *next = NULL;
	const char *yaml = "services:\n  a:\n    command: [y]\n";
	struct error err = { 0 };

	load("services:\n  a:\n    command: [x]\n");
	start_running(w.svc[0]);
	assert_int_equal(config_parse_specs_buffer("next", yaml, strlen(yaml), &host, &next, &errs),
			 0);
	assert_int_equal(service_update_spec(w.svc[0], next->services[0], &err), 0);
	assert_int_equal(w.svc[0]->state, SVC_STOPPING);
	loop_until(child_gone, w.svc[0]);
	assert_int_equal(w.svc[0]->state, SVC_STARTING); /* no backoff for a changed spec */
	assert_int_equal(w.svc[0]->failures, 0);
	/* Counted apart: not a restart, and not a start in the start limit. */
	assert_int_equal(service_restarts(w.svc[0]), 0);
	assert_int_equal(service_reloads(w.svc[0]), 1);
	assert_int_equal(w.svc[0]->nstarts, 1);
	/* The exit the reload asked for is accounted once, as requested. */
	assert_int_equal(events_of("exit"), 1);
	assert_int_equal(service_exits(w.svc[0], EXIT_SIGNAL), 1);
	/* The service points into the new set now; swap it in for teardown. */
	spec_set_free(w.set);
	w.set = next;
}

static void test_ready_timeout(void **state)
{
	load("services:\n  a:\n    command: [x]\n    ready: {notify: true, timeout: 1s}\n"
	     "    stop: {timeout: 5s}\n");
	assert_int_equal(service_start(w.svc[0]), 0);
	service_dispatch(w.svc[0], SE_EXEC_OK);
	loop_until_state(w.svc[0], SVC_STOPPING); /* no READY=1 within 1 s: stopped */
	assert_int_equal(w.svc[0]->forced, EXIT_READY_TIMEOUT);
	loop_until(child_gone, w.svc[0]);
	/* Not asked for by anyone: the restart policy (on-failure) applies. */
	assert_int_equal(service_last_exit(w.svc[0])->kind, EXIT_READY_TIMEOUT);
	assert_int_equal(w.svc[0]->state, SVC_BACKOFF);
}

static void test_events_ignored(void **state)
{
	load("services:\n  a:\n    command: [x]\n");
	/* Cells the table leaves empty change nothing. */
	service_dispatch(w.svc[0], SE_EXEC_OK);
	service_dispatch(w.svc[0], SE_TIMER);
	service_dispatch(w.svc[0], SE_STOP);
	assert_int_equal(w.svc[0]->state, SVC_STOPPED);
	assert_int_equal(w.changed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depends_completed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depends_completed_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depends_restart_binds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_clean_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_failure_backoff_restarts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exit_signal_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oom_on_oom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_launch_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_graceful, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_escalation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freeze_thaw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depends_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_backs_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_restarts_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ready_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_ignored, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
