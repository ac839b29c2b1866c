/*
 * service-launch.c - one service: images, cgroup, clone, exit judging, cleanup (see service-internal.h).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "daemon-image.h"
#include "clone.h"
#include "harden.h"
#include "image.h"
#include "log.h"
#include "notify-parse.h"
#include "network.h"
#include "placer.h"
#include "probe.h"
#include "secrets.h"
#include "service-internal.h"
#include "state.h"
#include "fdstore.h"
#include "units.h"
#include "util.h"

void svc_release_process(struct service *svc)
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
		(void)fdstore_drop(svc->env->fdstore, svc->spec->name);
	launch_child_close(&svc->child);
	svc->main_pid = 0;
	svc->adopted = false;
}

/* --- exit and launch reports ------------------------------------------------------ */

/* A launch failed: its report, kept until the next start. */
static void keep_report(struct service *svc, const struct error *rep)
{
	if (!svc->report)
		svc->report = xcalloc(1, sizeof(*svc->report));
	*svc->report = *rep;
}

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

/*
 * The group's memory.events as the probes parse them: v2 memory.events,
 * else v1 memory.oom_control (oom_kill) and memory.failcnt (max); what the
 * host cannot say stays PROBE_UNKNOWN. -errno when nothing could be read.
 */
static int read_memory_events(struct cgroup *cg, struct probe_memory_events *ev)
{
	uint64_t under_oom = PROBE_UNKNOWN;
	char buf[1024];
	int r = -ENOENT;

	memset(ev, 0xff, sizeof(*ev));
	if (!cg)
		return -ENOENT;
	if (cgroup_read_knob(cg, "memory.events", buf, sizeof(buf)) >= 0 &&
	    probe_parse_memory_events(buf, ev) == 0)
		return 0;
	if (cgroup_read_knob(cg, "memory.oom_control", buf, sizeof(buf)) >= 0 &&
	    probe_parse_oom_control(buf, &under_oom, &ev->oom_kill) == 0)
		r = 0;
	if (cgroup_read_knob(cg, "memory.failcnt", buf, sizeof(buf)) >= 0 &&
	    sscanf(buf, "%" SCNu64, &ev->max) == 1)
		r = 0;
	return r;
}

/*
 * Did the OOM killer take the main process, which died of a SIGKILL we did
 * not send (or exited 137, a shell whose child it killed)? The group's
 * oom_kill count since the cgroup was made for this run, read from the
 * cgroup when judging: the same answer whether the kernel's memory.events
 * notice or the exit reached us first.
 */
static bool oom_took_main(struct service *svc)
{
	struct probe_memory_events ev;

	return read_memory_events(svc->cg, &ev) == 0 && ev.oom_kill != PROBE_UNKNOWN &&
	       ev.oom_kill > 0;
}

/*
 * The wait status paddock's init left on its status pipe; -1 without one.
 * A pipe at EOF with nothing in it: init died before it could write. It
 * blocks every signal it can, so only SIGKILL ends it that way (the group
 * kill at a stop timeout, the OOM killer), and the kernel SIGKILLs the
 * service in its namespace with it. For a process we cannot wait for (one
 * an earlier paddockd started) that is the status: what waitid tells us
 * of our own child. Nonblocking: a live init must never stall the loop.
 */
int svc_read_init_status(struct service *svc, bool adopted)
{
	int status = -1;
	ssize_t n;

	if (svc->child.statusfd < 0)
		return -1;
	(void)fcntl(svc->child.statusfd, F_SETFL, O_NONBLOCK);
	n = read(svc->child.statusfd, &status, sizeof(status));
	if (n == sizeof(status))
		return status;
	return n == 0 && adopted ? SIGKILL : -1;
}

/* Why it died, from the wait status (-1: unknown) and what the cgroup saw. */
static void classify_exit(struct service *svc, int status, bool away)
{
	bool oom_kill = false;

	if (status >= 0 && !svc->sigkill_sent &&
	    ((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
	     (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL)))
		oom_kill = oom_took_main(svc);
	if (svc->report)
		record_exit(svc, EXIT_LAUNCH, svc->report->code, "%s: %s", svc->report->msg,
			    strerror(svc->report->code));
	else if ((status < 0 && oom_took_main(svc)) || oom_kill)
		record_exit(svc, EXIT_OOM, SIGKILL, "oom-kill");
	else if (status < 0 && away)
		record_exit(svc, EXIT_UNKNOWN, 0,
			    "exited while paddockd was away (status unknown)");
	else if (status < 0)
		record_exit(
		    svc, EXIT_UNKNOWN, 0,
		    "exited (status unknown: started by an earlier paddockd, without init)");
	else if (WIFSIGNALED(status))
		record_exit(svc, EXIT_SIGNAL, WTERMSIG(status), "killed by %s",
			    units_signal_name(WTERMSIG(status)));
	else
		record_exit(svc, EXIT_CODE, WEXITSTATUS(status), "exited %d", WEXITSTATUS(status));
	if (svc->forced != EXIT_NONE && !svc->report && svc->last_exit.kind != EXIT_OOM) {
		/* We killed it for a reason of ours: that is the cause, how it died the detail. */
		char how[sizeof(svc->last_exit.reason)];
		snprintf(how, sizeof(how), "%s", svc->last_exit.reason);
		record_exit(svc, svc->forced, svc->last_exit.code, "%s (%s)", svc->forced_reason,
			    how);
	}
}

/*
 * The main process is gone with wait status (-1: unknown): record why,
 * account for it (counter, event) at once, dispatch. Status, list, events
 * and metrics all change at this one moment, never one before the other.
 */
void svc_judge_exit(struct service *svc, int status, bool away)
{
	/* A launch report may still sit in the pipe: read it before judging. */
	if (svc->ev_report) {
		struct error rep;
		if (read(svc->child.reportfd, &rep, sizeof(rep)) == sizeof(rep))
			keep_report(svc, &rep);
	}
	classify_exit(svc, status, away);
	svc_account_exit(svc);
	svc_readiness_end(svc);
	svc_release_process(svc);
	service_dispatch(svc, svc->report ? SE_LAUNCH_FAILED : SE_EXITED);
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
		svc_judge_exit(svc, svc_read_init_status(svc, true), false);
		return true;
	}
	if (syscall(SYS_waitid, P_PIDFD, svc->child.pidfd, &si, WEXITED | WNOHANG, NULL) < 0 ||
	    si.si_pid == 0)
		return false; /* not yet */
	status = svc_read_init_status(svc, false);
	if (status < 0) /* no init in between, or init itself was killed: the kernel's word */
		status = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status;
	svc_judge_exit(svc, status, false);
	return true;
}

#define PF_EXITING_FLAG 0x4 /* include/linux/sched.h PF_EXITING, /proc/PID/stat field 9 */

/* The task is gone, a zombie, exiting, or has SIGKILL pending (not yet acted on). */
static bool proc_dying(pid_t pid)
{
	char path[64], buf[2048], state = 0;
	unsigned long flags = 0;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
		return true;
	if (state == 'Z' || state == 'X' || (flags & PF_EXITING_FLAG))
		return true;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return true;
	/* SigPnd (the thread) and ShdPnd (the group): a fatal signal sets SIGKILL in both. */
	for (const char *k = buf; (k = strstr(k, "Pnd:\t")); k += 5) {
		unsigned long long mask = strtoull(k + 5, NULL, 16);
		if (mask & (1ULL << (SIGKILL - 1)))
			return true;
	}
	return false;
}

/*
 * Under paddock's init the service is init's first child: 0 when there is
 * none (any more), -1 when the kernel cannot say (no CONFIG_PROC_CHILDREN).
 */
static pid_t init_child(pid_t init)
{
	char path[96], buf[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)init, (int)init);
	if ((n = read_file_at(AT_FDCWD, path, buf, sizeof(buf))) < 0)
		return -1;
	return n == 0 ? 0 : (pid_t)strtol(buf, NULL, 10);
}

bool service_main_dying(const struct service *svc)
{
	struct pollfd p[2] = { { .fd = svc->child.pidfd, .events = POLLIN },
			       { .fd = svc->child.statusfd, .events = POLLIN } };
	bool under_init = svc->child.statusfd >= 0 ||
			  (svc->spec->init && (svc->spec->isolation.namespaces & SPEC_NS_PID));
	pid_t child;

	if (svc->main_pid == 0 || svc->child.pidfd < 0)
		return true;
	/* The pidfd: the main process (or init) exited; the status pipe: init has reported. */
	if (poll(p, svc->child.statusfd >= 0 ? 2 : 1, 0) > 0)
		return true;
	if (proc_dying(svc->main_pid))
		return true;
	if (!under_init)
		return false;
	child = init_child(svc->main_pid);
	return child == 0 || (child > 0 && proc_dying(child));
}

void svc_on_exit_event(evutil_socket_t fd, short what, void *arg)
{
	(void)service_reap(arg);
}

static void on_report_event(evutil_socket_t fd, short what, void *arg)
{
	struct service *svc = arg;
	struct error rep;
	ssize_t n = read(fd, &rep, sizeof(rep));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	event_free(svc->ev_report);
	svc->ev_report = NULL;
	if (n == sizeof(rep)) {
		keep_report(svc, &rep);
		return; /* the child exits 127 next; judge on the exit */
	}
	close(svc->child.reportfd);
	svc->child.reportfd = -1;
	service_dispatch(svc, SE_EXEC_OK);
}

/* --- starting --------------------------------------------------------------------- */

void svc_warn_unsupported(struct service *svc, unsigned bits)
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
		{ CGROUP_UNSUPPORTED_IO_MAX, "io.max" },
		{ CGROUP_UNSUPPORTED_HUGETLB, "hugetlb (controller or page size missing)" },
		{ CGROUP_UNSUPPORTED_CPUSET_MEMS, "cpu.mems" },
		{ CGROUP_UNSUPPORTED_DEVICES, "isolation.devices" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if ((bits & names[i].bit) && !(svc->warned & names[i].bit)) {
			log_warnx("service %s: %s cannot be expressed on this host's %s cgroups; "
				  "ignored",
				  svc->spec->name, names[i].what,
				  cgroup_mode_name(cgroup_host_mode(svc->env->cgroups)));
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

/* --- images ------------------------------------------------------------------------- */

/* The topmost layer directory that has file (etc/passwd), where names resolve. */
static const char *image_etc_root(const struct image_info *img, const char *file)
{
	char p[4096];

	for (size_t i = 0; i < img->nlayers; i++) {
		snprintf(p, sizeof(p), "%s/%s", img->layer_dirs[i], file);
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
	struct error err = { 0 };
	int r;

	if (!svc->rootfs_dir)
		xasprintf(&svc->rootfs_dir, "%s/rootfs/%s", svc->env->cfg->state_dir, spec->name);
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
		svc_fail_start(svc, EXIT_LAUNCH, "cannot create %s: %s", svc->rootfs_dir,
			       strerror(-r));
		return r;
	}
	/* User namespace: the upper layer's root is the service's root (userns.h). */
	if ((spec->isolation.namespaces & SPEC_NS_USER) && !spec->isolation.readonly_rootfs &&
	    (chown(upper, spec->isolation.user_host, spec->isolation.user_host) < 0 ||
	     chown(work, spec->isolation.user_host, spec->isolation.user_host) < 0)) {
		r = -errno;
		svc_fail_start(svc, EXIT_LAUNCH, "cannot chown %s: %s", upper, strerror(errno));
		return r;
	}
	/* Canonical paths: overlayfs stores them, ".." would be refused. */
	char ru[4096], rw[4096];
	if (!spec->isolation.readonly_rootfs && (!realpath(upper, ru) || !realpath(work, rw))) {
		svc_fail_start(svc, EXIT_LAUNCH, "cannot resolve %s: %s", upper, strerror(errno));
		return -errno;
	}
	r = image_overlay_options(svc->image, spec->isolation.readonly_rootfs ? NULL : ru,
				  spec->isolation.readonly_rootfs ? NULL : rw, opts, len, dir,
				  dirlen);
	if (r < 0) {
		svc_fail_start(svc, EXIT_LAUNCH, "image %s: overlay options: %s", spec->image,
			       strerror(-r));
		return r;
	}
	(void)err;
	return 0;
}

void svc_drop_overlay(struct service *svc)
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
	struct error err = { 0 };

	event_free(svc->ev_image);
	svc->ev_image = NULL;
	close(svc->image_fd);
	svc->image_fd = -1;
	msg[n > 0 ? n : 0] = '\0';
	if (strncmp(msg, "OK", 2) != 0 && config_image_ref_is_registry(svc->spec->image) &&
	    strstr(msg, svc->spec->image)) {
		/* A pull's message names the reference already. */
		svc_fail_start(svc, EXIT_LAUNCH, "%s", msg);
		return;
	}
	if (strncmp(msg, "OK", 2) != 0) {
		svc_fail_start(svc, EXIT_LAUNCH, "image %s: %s", svc->spec->image,
			       *msg ? msg : "the unpack helper died");
		return;
	}
	/* Layers are in the store now: resolving again only reads the records. */
	if (image_resolve(svc->env->images, svc->spec->image, &svc->image, &err) < 0) {
		svc_fail_start(svc, EXIT_LAUNCH, "image %s: %s", svc->spec->image, err.msg);
		return;
	}
	svc_emit(svc, "image-ready",
		 svc_jobj("digest", json_object_new_string(svc->image->digest), "layers",
			  json_object_new_int((int)svc->image->nlayers)));
	if (svc->state == SVC_STARTING)
		svc_launch_now(svc);
}

/*
 * paddockctl-image, which imports for us (paddockd links no libarchive or
 * libcrypto): the one beside paddockd, as in a build tree, else the
 * installed one.
 */
static void image_helper_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			snprintf(buf, len, "%s/paddockctl-image", self);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "%s", PKGLIBEXECDIR "/paddockctl-image");
}

/*
 * Pulling, verifying and unpacking layers can take seconds to minutes: a
 * helper process (paddockctl-image) does it, with the spec's pull policy
 * and the daemon config's registry settings as options, so the loop never
 * blocks. It shares the store (flock per layer keeps
 * two unpacks of one layer to one) and reports over a pipe.
 */
void svc_prepare_image(struct service *svc)
{
	char helper[PATH_MAX + 32];
	char **opts, **argv;
	size_t n = 0;
	int p[2];
	pid_t pid;

	if (svc->ev_image)
		return; /* already preparing */
	/* paddockctl-image --state-dir D image prepare REF OPTIONS... */
	opts = daemon_image_prepare_args(svc->env->cfg, svc->spec);
	while (opts[n])
		n++;
	argv = xcalloc(n + 7, sizeof(char *));
	argv[0] = (char *)"paddockctl-image";
	argv[1] = (char *)"--state-dir";
	argv[2] = svc->env->cfg->state_dir;
	argv[3] = (char *)"image";
	argv[4] = (char *)"prepare";
	argv[5] = svc->spec->image;
	memcpy(argv + 6, opts, n * sizeof(char *));
	image_helper_path(helper, sizeof(helper));
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(argv);
		daemon_image_args_free(opts);
		svc_fail_start(svc, EXIT_LAUNCH, "image %s: pipe: %s", svc->spec->image,
			       strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		free(argv);
		daemon_image_args_free(opts);
		svc_fail_start(svc, EXIT_LAUNCH, "image %s: fork: %s", svc->spec->image,
			       strerror(errno));
		return;
	}
	if (pid == 0) {
		/*
		 * Dies with the daemon: the next one unpacks again (the store
		 * removes a half-done .tmp layer), and the state dir lock it
		 * inherited is released at once (close-on-exec).
		 */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(p[1], 1) == 1)
			execv(helper, argv);
		dprintf(p[1], "cannot run %s: %s", helper, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	free(argv);
	daemon_image_args_free(opts);
	svc->image_fd = p[0];
	svc->ev_image = event_new(svc->env->base, p[0], EV_READ, on_image_ready, svc);
	event_add(svc->ev_image, NULL);
	if (config_image_ref_is_registry(svc->spec->image))
		log_info("service %s: preparing image %s (pull %s)", svc->spec->name,
			 svc->spec->image, spec_pull_name(svc->spec->pull));
	else
		log_info("service %s: preparing image %s", svc->spec->name, svc->spec->image);
	service_set_state(svc, SVC_STARTING);
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

	if (!svc->env->fdstore ||
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
	if ((r = fdstore_put(svc->env->fdstore, svc->spec->name, fds, n)) < 0)
		log_warnx("service %s: fd holder: %s; its output will not survive a daemon crash",
			  svc->spec->name, strerror(-r));
	if (null >= 0)
		close(null);
}

/* Done with a slot (launched or failed): its thread is out of the service's cgroups. */
static void end_slot(struct service *svc, struct placer_slot **slot)
{
	if (*slot)
		placer_end(svc->env->placer, *slot);
	*slot = NULL;
}

/*
 * The service's cgroup, created if need be, with the limits a start writes.
 * A new one comes from a ready slot when there is one (*slot set: end it
 * with placer_end after the launch): a slot's thread counts against
 * pids.max while it clones, so not for a pids.max below 2. 0, or failed.
 */
static int prepare_cgroup(struct service *svc, struct placer_slot **slot)
{
	struct cgroup_limits start_limits = svc->limits;
	unsigned unsupported = 0;
	const char *knob = NULL;
	int r = -EAGAIN;

	if (!svc->cg && svc->env->placer &&
	    (svc->limits.pids_max == SPEC_UNSET || svc->limits.pids_max >= 2))
		r = placer_take(svc->env->placer, svc->spec->name, &svc->cg, slot);
	if (!svc->cg && (r = cgroup_create(svc->env->cgroups, svc->spec->name, &svc->cg)) < 0) {
		svc_fail_start(svc, EXIT_LAUNCH, "cannot create cgroup: %s", strerror(-r));
		return r;
	}
	/* What on_oom: grow made memory.max. */
	svc->env->hooks->launch_limits(svc->env->hooks_arg, svc, &start_limits);
	if ((r = cgroup_apply(svc->cg, &start_limits, &unsupported, &knob)) < 0) {
		end_slot(svc, slot);
		svc_fail_start(svc, EXIT_LAUNCH, "cannot set %s: %s", knob ? knob : "limits",
			       strerror(-r));
		return r;
	}
	svc_warn_unsupported(svc, unsupported);
	return 0;
}

/* NOTIFY_SOCKET and WATCHDOG_USEC for the service (extra[2], free both), and where the socket is. */
static void notify_env(struct service *svc, const char *rootfs, char *extra[2],
		       struct launch_plan *plan)
{
	if (svc->env->notify_socket) {
		/* A root of its own sees our socket's directory at NOTIFY_DIR_INSIDE. */
		if (rootfs && (svc->spec->isolation.namespaces & SPEC_NS_MOUNT))
			xasprintf(&extra[0], "NOTIFY_SOCKET=%s/%s", NOTIFY_DIR_INSIDE,
				  NOTIFY_SOCKET_NAME);
		else
			xasprintf(&extra[0], "NOTIFY_SOCKET=%s", svc->env->notify_socket);
		plan->notify_dir = svc->env->notify_dir;
	}
	/* No WATCHDOG_PID: the pid we know is not the one it sees in its namespace. */
	if (svc->watchdog_usec)
		xasprintf(&extra[extra[0] ? 1 : 0], "WATCHDOG_USEC=%llu",
			  (unsigned long long)svc->watchdog_usec);
}

/* The bridge networks of this run are given back (the process is gone, or never ran). */
void svc_release_net(struct service *svc)
{
	if (svc->net) {
		netmgr_release(svc->env->net, svc->net);
		svc->net = NULL;
	}
}

/*
 * The clone succeeded: placed (v1/hybrid), plugged into its networks,
 * recorded, watched, an event; starting.
 */
static void started(struct service *svc, const struct launch_plan *plan, bool attach)
{
	if (plan->wait_attach) {
		struct error rep = { 0 };
		int r = attach ? cgroup_attach(svc->cg, svc->child.pid) : 0;
		if (r < 0)
			(void)error_set(&rep, -r, "attach to cgroup");
		else if (svc->net)
			r = netmgr_plug(svc->env->net, svc->net, svc->child.pid, &rep);
		if (r < 0) {
			/* Never let it run outside its limits, or half plugged in. */
			(void)kill(svc->child.pid, SIGKILL);
			keep_report(svc, &rep);
		}
		launch_release(&svc->child, r >= 0);
	}
	svc->main_pid = svc->last_pid = svc->child.pid;
	svc->started_mono = now_ms();
	svc->started_at_ms = realtime_ms();
	svc->start_time = state_proc_start_time(svc->main_pid);
	service_store_fds(svc);
	svc->ev_exit = event_new(svc->env->base, svc->child.pidfd, EV_READ, svc_on_exit_event, svc);
	event_add(svc->ev_exit, NULL);
	(void)fcntl(svc->child.reportfd, F_SETFL, O_NONBLOCK);
	svc->ev_report = event_new(svc->env->base, svc->child.reportfd, EV_READ | EV_PERSIST,
				   on_report_event, svc);
	event_add(svc->ev_report, NULL);
	svc_watch(svc, true);
	log_info("service %s: started, pid %d", svc->spec->name, (int)svc->main_pid);
	svc_emit(svc, "start",
		 svc_jobj("restarts", json_object_new_int((int)svc->restarts), NULL, NULL));
	service_set_state(svc, SVC_STARTING);
}

/* kv into *v (*n entries), replacing the entry of the same KEY: a later layer wins. */
static void env_set(char ***v, size_t *n, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < *n; i++)
		if (strncmp((*v)[i], kv, klen) == 0 && (*v)[i][klen] == '=') {
			free((*v)[i]);
			(*v)[i] = xstrdup(kv);
			return;
		}
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		abort();
	*v = nv;
	(*v)[(*n)++] = xstrdup(kv);
	(*v)[*n] = NULL;
}

/*
 * The service's own variables, read anew at every start: the image's,
 * then each environment_file in order, then the spec's 'environment'
 * (each layer wins over the ones before). A file that cannot be read or
 * parsed fails the start with its FILE:LINE diagnostic, which never
 * quotes a value. 0 and *out (NULL-terminated), or -1, failed.
 */
static int service_env(struct service *svc, const struct image_info *img, char ***out)
{
	const struct service_spec *spec = svc->spec;
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;

	for (char *const *e = img ? img->env : NULL; e && *e; e++)
		env_set(&v, &n, *e);
	for (size_t i = 0; i < spec->nenvironment_files; i++) {
		const struct spec_envfile *f = &spec->environment_files[i];
		struct config_errors errs = { 0 };
		char **vars = NULL;
		size_t nvars = 0;

		if (config_envfile_load(f->path, f->optional, &vars, &nvars, &errs) < 0) {
			const struct config_diag *d = errs.n ? &errs.diags[0] : NULL;
			if (d && d->line > 0)
				svc_fail_start(svc, EXIT_LAUNCH, "environment_file %s:%d: %s",
					       d->file ? d->file : f->path, d->line, d->message);
			else if (d)
				svc_fail_start(svc, EXIT_LAUNCH, "environment_file %s: %s",
					       d->file ? d->file : f->path, d->message);
			else
				svc_fail_start(svc, EXIT_LAUNCH,
					       "environment_file %s: cannot read it", f->path);
			config_errors_clear(&errs);
			free_strv(vars);
			free_strv(v);
			return -1;
		}
		for (size_t k = 0; k < nvars; k++)
			env_set(&v, &n, vars[k]);
		free_strv(vars);
	}
	for (char *const *e = spec->environment; e && *e; e++)
		env_set(&v, &n, *e);
	*out = v;
	return 0;
}

/*
 * Supplementary groups into plan (groups holds LAUNCH_GROUPS_MAX), resolved
 * where the user is. In a user namespace they are gids inside it: each must
 * be mapped. 0, or -1 with the start failed.
 */
static int resolve_groups(struct service *svc, const struct image_info *img,
			  struct launch_plan *plan, gid_t *groups)
{
	const struct service_spec *spec = svc->spec;
	struct error err = { 0 };
	uint32_t count = spec->isolation.user_count;

	if (launch_resolve_groups(img ? image_etc_root(img, "etc/passwd") : spec->rootfs,
				  img ? image_etc_root(img, "etc/group") : spec->rootfs, plan->uid,
				  spec->groups, groups, LAUNCH_GROUPS_MAX, &plan->ngroups,
				  &err) < 0) {
		svc_fail_start(svc, EXIT_LAUNCH, "groups: %s", err.msg);
		return -1;
	}
	for (size_t i = 0; (spec->isolation.namespaces & SPEC_NS_USER) && i < plan->ngroups; i++)
		if (groups[i] >= count) {
			svc_fail_start(svc, EXIT_LAUNCH,
				       "groups: gid %u is outside the user namespace's mapping "
				       "(0..%u)",
				       (unsigned)groups[i], count ? count - 1 : 0);
			return -1;
		}
	plan->groups = groups;
	return 0;
}

/* Everything is at hand (the image too): root, user, cgroup, pipes, clone. */
void svc_launch_now(struct service *svc)
{
	const struct service_spec *spec = svc->spec;
	struct launch_plan plan = { 0 };
	char home[512];
	struct error err = { 0 };
	int wr[2] = { -1, -1 };
	int r;
	const struct image_info *img = svc->image;
	char **argv = NULL, **envin = NULL, overlay[4096], overlay_dir[4096];
	const char *user = spec->user ? spec->user : img ? img->user : NULL;
	struct placer_slot *slot = NULL;
	const char *rootfs = spec->rootfs;
	struct launch_secrets secrets = { 0 };
	gid_t groups[LAUNCH_GROUPS_MAX];

	if (img) {
		if ((r = image_exec_argv(img, spec->command, NULL, &argv)) < 0) {
			svc_fail_start(svc, EXIT_LAUNCH,
				       "image %s: no command: neither the spec nor "
				       "the image names one",
				       spec->image);
			return;
		}
		if ((r = prepare_overlay(svc, overlay, sizeof(overlay), overlay_dir,
					 sizeof(overlay_dir))) < 0)
			goto out;
		rootfs = svc->rootfs_dir; /* <dir>/merged, see prepare_overlay */
	} else if (!spec->command || !spec->command[0]) {
		svc_fail_start(svc, EXIT_LAUNCH, "no command to run");
		return;
	}
	if (spec->rootfs && access(spec->rootfs, F_OK) < 0) {
		svc_fail_start(svc, EXIT_LAUNCH, "rootfs %s: %s", spec->rootfs, strerror(errno));
		goto out;
	}
	if (service_env(svc, img, &envin) < 0)
		goto out;
	/* Names resolve in the image's /etc/passwd (the topmost layer that has one). */
	if ((r = launch_resolve_user(img ? image_etc_root(img, "etc/passwd") : spec->rootfs, user,
				     &plan.uid, &plan.gid, home, sizeof(home), &err)) < 0) {
		svc_fail_start(svc, EXIT_LAUNCH, "user %s: %s", user, err.msg);
		goto out;
	}
	if (resolve_groups(svc, img, &plan, groups) < 0)
		goto out;
	/*
	 * Secrets are read now, at every start, by us (the child reads no
	 * host file): the service sees the file as it is at this moment.
	 */
	if (spec->nsecrets && !(spec->isolation.namespaces & SPEC_NS_MOUNT)) {
		svc_fail_start(svc, EXIT_LAUNCH,
			       "secrets need a mount namespace of the service's own "
			       "(isolation.namespaces: mount)");
		goto out;
	}
	if (secrets_load(spec, svc->env->cfg ? svc->env->cfg->secrets_dir : NULL, plan.uid,
			 plan.gid, &secrets, &err) < 0) {
		svc_fail_start(svc, EXIT_LAUNCH, "%s", err.msg);
		goto out;
	}
	if (prepare_cgroup(svc, &slot) < 0)
		goto out;
	if (spec->isolation.network == NETWORK_BRIDGE && svc->env->net) {
		const char *hostname = spec->hostname ? spec->hostname : spec->name;
		if ((r = netmgr_lease(svc->env->net, spec, hostname, &svc->net, &err)) < 0) {
			end_slot(svc, &slot);
			svc_fail_start(svc, EXIT_LAUNCH, "%s", err.msg);
			goto out;
		}
	}
	if ((r = svc_open_outputs(svc, wr)) < 0) {
		svc_release_net(svc);
		end_slot(svc, &slot);
		svc_fail_start(svc, EXIT_LAUNCH, "cannot create output pipes: %s", strerror(-r));
		goto out;
	}
	service_store_fds(svc); /* the pipes alone: no pidfd yet */

	char *extra[4] = { NULL, NULL, NULL, NULL };
	notify_env(svc, rootfs, extra, &plan);
	if (secrets.n)
		extra[!!extra[0] + !!extra[1]] =
		    xstrdup("CREDENTIALS_DIRECTORY=" SPEC_SECRETS_DIR_INSIDE);
	char **env = build_env(envin, home, extra);
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		free(extra[i]);
	plan.secrets = secrets.n ? &secrets : NULL;
	svc->run_uid = plan.uid;
	svc->run_ids_known = true;
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
	/*
	 * Without clone3 the child cannot be cloned into its cgroup: it waits
	 * to be placed. From a slot it is born in its v1 cgroups (and v2 ones
	 * by CLONE_INTO_CGROUP).
	 */
	plan.cgroup_fd = launch_have_clone3() ? cgroup_v2_fd(svc->cg) : -1;
	bool attach = !slot && (cgroup_needs_attach(svc->cg) || plan.cgroup_fd < 0);
	/* Networks: the child waits until paddockd has plugged it in. */
	plan.wait_attach = attach || svc->net;
	plan.netdir = svc->net ? net_lease_dir(svc->net) : NULL;
	plan.cloner = slot ? placer_cloner(slot) : NULL;
	plan.use_init = spec->init && (spec->isolation.namespaces & SPEC_NS_PID);
	plan.nofile = svc->env->nofile;
	plan.slots = svc->env->slots;
	plan.stdout_fd = wr[0];
	plan.stderr_fd = wr[1];

	struct harden_plan harden;
	struct error herr = { 0 };
	r = harden_prepare(spec, &harden, &herr);
	harden_set_ambient(spec, &harden, plan.uid);
	plan.harden = &harden;
	if (r >= 0)
		r = launch_start(&plan, &svc->child);
	end_slot(svc, &slot);
	harden_plan_free(&harden);
	secrets_free(&secrets); /* the child has its copy: wipe ours at once */
	close(wr[0]);
	close(wr[1]);
	free_strv(env);
	if (r < 0)
		svc_release_net(svc);
	if (r < 0 && herr.msg[0])
		svc_fail_start(svc, EXIT_LAUNCH, "%s", herr.msg);
	else if (r < 0)
		svc_fail_start(svc, EXIT_LAUNCH, "clone: %s", strerror(-r));
	else
		started(svc, &plan, attach);
out:
	end_slot(svc, &slot);
	secrets_free(&secrets);
	image_strv_free(argv);
	free_strv(envin);
}

/*
 * After the main process is gone: kill what is left in the cgroup and
 * remove it. One kill round per call, never waiting: the caller retries on
 * the service's timer while the kernel finishes the kills.
 */
bool svc_cleanup_cgroup(struct service *svc)
{
	if (!svc->cg)
		return true;
	if (svc->frozen) {
		(void)cgroup_freeze(svc->cg, false);
		svc->frozen = false;
	}
	if (cgroup_kill_step(svc->cg) > 0)
		return false;
	return svc_destroy_cgroup(svc) == 0;
}

/* Add what the probes know of one memory.events counter to another. */
static void add_known(uint64_t *sum, uint64_t v)
{
	if (v != PROBE_UNKNOWN)
		*sum += v;
}

int svc_destroy_cgroup(struct service *svc)
{
	struct probe_memory_events ev;
	bool have;
	int r;

	if (!svc->cg)
		return 0;
	/* Read before the cgroup goes: a restart's new one starts from zero. */
	have = read_memory_events(svc->cg, &ev) == 0;
	if ((r = cgroup_destroy(svc->cg)) < 0)
		return r;
	if (have) {
		add_known(&svc->memory_past.low, ev.low);
		add_known(&svc->memory_past.high, ev.high);
		add_known(&svc->memory_past.max, ev.max);
		add_known(&svc->memory_past.oom, ev.oom);
		add_known(&svc->memory_past.oom_kill, ev.oom_kill);
		add_known(&svc->memory_past.oom_group_kill, ev.oom_group_kill);
	}
	svc->cg = cgroup_free(svc->cg);
	return 0;
}

/* --- the group ------------------------------------------------------------------------ */

int svc_signal_group(struct service *svc, int sig)
{
	return svc->cg ? cgroup_signal_all(svc->cg, sig) : -ESRCH;
}

int svc_freeze_group(struct service *svc, bool frozen)
{
	return svc->cg ? cgroup_freeze(svc->cg, frozen) : -ESRCH;
}

int svc_kill_group(struct service *svc)
{
	return svc->cg ? cgroup_kill_step(svc->cg) : -ESRCH;
}
