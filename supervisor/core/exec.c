/*
 * exec.c - paddockctl exec in the daemon. See exec.h.
 *
 * The command gets what the service's own process has, read from it
 * rather than rebuilt: the environment from /proc/PID/environ (spec,
 * image, HOME, PATH as launched), the user as the spec names it resolved
 * in the service's own /etc/passwd, the capabilities and seccomp filter
 * from the spec (harden_prepare). Nothing waits in the loop: the helper's
 * pidfd says when the command ended, its report pipe says how.
 */
#include <event2/event.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "clone.h"
#include "enter.h"
#include "events.h"
#include "exec.h"
#include "harden.h"
#include "image.h"
#include "launch.h"
#include "log.h"
#include "service-internal.h"
#include "util.h"

#define EXEC_ENV_MAX (1024 * 1024)

struct exec_job {
	struct enter_child child;
	struct event *ev;
	struct eventlog *events;
	char *service;
	char *argv0;
	exec_done_fn done;
	void *arg;
};

int exec_check(struct service *svc, struct error *err)
{
	const char *name = svc->spec->name;

	if (svc->frozen)
		return error_set(err, EBUSY, "%s is frozen: thaw it first", name);
	/* Not while starting: its root and hardening may not be in place yet. */
	if (svc->state == SVC_STARTING)
		return error_set(err, EAGAIN, "%s is starting: wait until it runs", name);
	if (svc->state != SVC_RUNNING || svc->main_pid <= 0)
		return error_set(err, ESRCH, "%s is %s: start it first", name,
				 service_state_name(svc->state));
	return 0;
}

/* The service's own process: the child of paddock's init where it has one. */
static pid_t service_process(struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	pid_t pid = svc->main_pid;
	char path[64];

	if (!(spec->init && (spec->isolation.namespaces & SPEC_NS_PID)))
		return pid;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	int child;
	if (f && fscanf(f, "%d", &child) == 1 && child > 0)
		return child;
	return pid;
}

/* /proc/PID/environ as a NULL-terminated vector, with room for extra more. */
static char **read_environ(pid_t pid, size_t extra, size_t *n, struct error *err)
{
	char path[64], *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_set(err, errno, "read the service's environment (%s)", path);
		return NULL;
	}
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > EXEC_ENV_MAX) {
				free(buf);
				error_set(err, E2BIG, "%s: larger than %d bytes", path,
					  EXEC_ENV_MAX);
				return NULL;
			}
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r > 0)
			len += (size_t)r;
	} while (r > 0 || (r < 0 && errno == EINTR));
	buf[len] = '\0';
	size_t count = 0;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		count++;
	char **v = xcalloc(count + extra + 1, sizeof(char *));
	*n = 0;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		if (buf[i])
			v[(*n)++] = xstrdup(buf + i);
	free(buf);
	return v;
}

/* kv over v (room for it): replaces the entry of the same KEY or is added. */
static void env_put(char **v, size_t *n, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < *n; i++)
		if (strncmp(v[i], kv, klen) == 0 && v[i][klen] == '=') {
			free(v[i]);
			v[i] = xstrdup(kv);
			return;
		}
	v[(*n)++] = xstrdup(kv);
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static void job_free(struct exec_job *job)
{
	if (job->ev)
		event_free(job->ev);
	enter_child_close(&job->child);
	free(job->service);
	free(job->argv0);
	free(job);
}

static void on_helper_exit(evutil_socket_t fd, short what, void *arg)
{
	struct exec_job *job = arg;
	struct enter_report rep;
	int code;

	(void)enter_read_report(&job->child, &rep);
	if (rep.err.code)
		code = 127;
	else if (WIFSIGNALED(rep.status))
		code = 128 + WTERMSIG(rep.status);
	else
		code = WEXITSTATUS(rep.status);
	if (rep.err.code)
		log_info("service %s: exec %s failed: %s", job->service, job->argv0, rep.err.msg);
	else
		log_info("service %s: exec %s exited %d", job->service, job->argv0, code);
	struct json_object *data = json_object_new_object();
	json_object_object_add(data, "argv0", json_object_new_string(job->argv0));
	json_object_object_add(data, "exit", json_object_new_int(code));
	if (rep.err.code)
		json_object_object_add(data, "error", json_object_new_string(rep.err.msg));
	eventlog_emit(job->events, job->service, "exec", data);
	if (job->done)
		job->done(job->arg, code, rep.err.code ? &rep.err : NULL);
	job_free(job);
}

int exec_start(struct service *svc, const struct exec_request *rq, const int stdio[3], int ttysock,
	       exec_done_fn done, void *arg, struct exec_job **out, struct error *err)
{
	const struct service_spec *spec = svc->spec;
	struct enter_plan plan = { .cgroup_fd = -1, .ttysock = rq->tty ? ttysock : -1 };
	struct harden_plan harden;
	char root[64], home[512];
	char **env = NULL;
	size_t nenv = 0, nextra = 0;
	int r;

	if ((r = exec_check(svc, err)) < 0)
		return r;
	if (!svc->cg)
		return error_set(err, ESRCH, "%s has no cgroup", spec->name);
	plan.target = service_process(svc);
	for (char **e = rq->env; e && *e; e++)
		nextra++;
	if (!(env = read_environ(plan.target, nextra + 1, &nenv, err)))
		return -err->code;

	/* The user: -u, else the spec's or the image's, in the service's /etc/passwd. */
	const char *user = rq->user	? rq->user
			   : spec->user ? spec->user
			   : svc->image ? svc->image->user
					: NULL;
	snprintf(root, sizeof(root), "/proc/%d/root", (int)plan.target);
	if ((r = launch_resolve_user(root, user, &plan.uid, &plan.gid, home, sizeof(home), err)) <
	    0) {
		char why[sizeof(err->msg)];
		snprintf(why, sizeof(why), "%s", err->msg);
		strv_free(env);
		return error_set(err, -r, "user %s: %s", user, why);
	}
	if (rq->user) {
		char kv[600];
		snprintf(kv, sizeof(kv), "HOME=%s", home);
		env_put(env, &nenv, kv);
	}
	for (char **e = rq->env; e && *e; e++)
		env_put(env, &nenv, *e);
	env[nenv] = NULL;

	if ((r = harden_prepare(spec, &harden, err)) < 0) {
		harden_plan_free(&harden);
		strv_free(env);
		return r;
	}
	plan.argv = rq->argv;
	plan.envp = env;
	plan.workdir = rq->workdir;
	plan.harden = &harden;
	for (int i = 0; i < 3; i++)
		plan.stdio[i] = stdio[i];
	plan.cgroup_fd = launch_have_clone3() ? cgroup_v2_fd(svc->cg) : -1;
	bool attach = cgroup_needs_attach(svc->cg) || plan.cgroup_fd < 0;
	plan.wait_attach = attach;

	struct exec_job *job = xcalloc(1, sizeof(*job));
	r = enter_start(&plan, &job->child);
	harden_plan_free(&harden);
	strv_free(env);
	if (r < 0) {
		free(job);
		return error_set(err, -r, "clone: %s", strerror(-r));
	}
	if (attach) {
		/* v1/hybrid: placed by a write before it enters anything (rare: a command). */
		int a = cgroup_attach(svc->cg, job->child.pid);
		enter_release(&job->child, a == 0);
		if (a < 0)
			log_warnx("service %s: exec: cannot attach to the cgroup: %s", spec->name,
				  strerror(-a));
	}
	job->events = svc->env->events;
	job->service = xstrdup(spec->name);
	job->argv0 = xstrdup(rq->argv[0]);
	job->done = done;
	job->arg = arg;
	job->ev = event_new(svc->env->base, job->child.pidfd, EV_READ, on_helper_exit, job);
	event_add(job->ev, NULL);
	log_info("service %s: exec %s%s", spec->name, rq->argv[0], rq->tty ? " (tty)" : "");
	*out = job;
	return 0;
}

void exec_detach(struct exec_job *job)
{
	if (!job)
		return;
	job->done = NULL;
	/* The helper forwards it to the command, as a terminal's hangup. */
	(void)syscall(SYS_pidfd_send_signal, job->child.pidfd, SIGHUP, NULL, 0);
}
