/*
 * launch.c - clone a service into its namespaces and cgroup, then set up
 * and exec it. See launch.h for the contract. The child side reports the
 * first failing step with its errno over a close-on-exec pipe and exits
 * 127; the parent learns "exec happened" from EOF on that pipe.
 */
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "clone.h"
#include "harden.h"
#include "launch.h"
#include "rootfs.h"
#include "secrets.h"
#include "userns.h"
#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

extern char **environ;

/* Send a filled error as the launch report and exit. No allocation. */
static void __attribute__((noreturn)) child_send(int reportfd, const struct error *err)
{
	(void)!write(reportfd, err, sizeof(*err));
	_exit(127);
}

/* Child-side failure: fill the report, send it, exit. */
static void __attribute__((noreturn, format(printf, 3, 4)))
child_fail(int reportfd, int code, const char *fmt, ...)
{
	struct error err = { .code = code };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	child_send(reportfd, &err);
}

static void reset_signals(void)
{
	sigset_t all;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
}

/* Close every fd >= 3 except the ones listed (sorted ascending, -1 ignored). */
void launch_close_all_but(int *keep, size_t n)
{
	unsigned lo = 3;

	for (size_t i = 1; i < n; i++) /* insertion sort: n is a handful */
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned)keep[i] > lo)
			(void)syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	(void)syscall(SYS_close_range, lo, ~0U, 0);
}

void launch_init_run(pid_t service, int statusfd)
{
	sigset_t all;
	int status = 0;

	sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	(void)prctl(PR_SET_NAME, "paddock-init");
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			/* Forward to the service; pid 1 never dies of it. */
			(void)kill(service, sig);
			continue;
		}
		for (;;) {
			int st;
			pid_t p = waitpid(-1, &st, WNOHANG);
			if (p <= 0)
				break;
			if (p == service) {
				status = st;
				service = 0;
			}
		}
		if (service == 0)
			break;
	}
	if (statusfd >= 0)
		(void)!write(statusfd, &status, sizeof(status));
	/* Leaving pid 1 makes the kernel kill whatever is left in the namespace. */
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	_exit(128 + WTERMSIG(status));
}

/* The service itself, after namespaces and rootfs: identity, cwd, exec. */
static void __attribute__((noreturn)) child_exec(const struct launch_plan *plan, int reportfd)
{
	struct error err = { 0 };

	/* Bounding and ambient sets go while we still hold CAP_SETPCAP. */
	if (plan->harden && harden_apply_bounding(plan->harden, &err) < 0)
		child_send(reportfd, &err);
	if (plan->nofile && plan->nofile->rlim_cur > 0)
		(void)setrlimit(RLIMIT_NOFILE, plan->nofile);
	/* The spec's rlimits and oom_score_adj while CAP_SYS_RESOURCE is still held. */
	if (plan->harden && harden_apply_limits(plan->harden, &err) < 0)
		child_send(reportfd, &err);
	if (setgroups(plan->ngroups, plan->ngroups ? plan->groups : NULL) < 0)
		child_fail(reportfd, errno, "setgroups");
	if (setresgid(plan->gid, plan->gid, plan->gid) < 0)
		child_fail(reportfd, errno, "setgid %u", (unsigned)plan->gid);
	if (plan->harden && harden_keep_caps(plan->harden, &err) < 0)
		child_send(reportfd, &err);
	if (setresuid(plan->uid, plan->uid, plan->uid) < 0)
		child_fail(reportfd, errno, "setuid %u", (unsigned)plan->uid);
	if (chdir(plan->workdir) < 0)
		child_fail(reportfd, errno, "chdir %s", plan->workdir);
	if (plan->spec->umask != SPEC_UMASK_UNSET)
		(void)umask((mode_t)plan->spec->umask);
	/* Everything but stdio and the report pipe (cloexec) goes now. */
	(void)syscall(SYS_close_range, 3, reportfd - 1, 0);
	(void)syscall(SYS_close_range, reportfd + 1, ~0U, 0);
	environ = (char **)plan->envp;
	/* Last: capset, no_new_privs, seccomp (nothing of ours runs after it). */
	if (plan->harden && harden_apply(plan->harden, &err) < 0)
		child_send(reportfd, &err);
	execvp(plan->argv[0], plan->argv);
	child_fail(reportfd, errno, "exec %s", plan->argv[0]);
}

struct child_fds {
	int report, status, go, devnull, out, err, idmap;
};

/*
 * Fd slots. A daemon with thousands of services holds tens of thousands of
 * fds; a plain clone copies that table and the child then closes each
 * entry, O(fds) per start. Instead the fds a child needs are dup'ed into a
 * few low slots reserved at startup, the child is cloned with CLONE_FILES
 * (no copy) and its first act is close_range(slots->max + 1, ~0,
 * CLOSE_RANGE_UNSHARE): a private table holding only the low slots. The
 * parent waits for one byte on the report pipe saying so before it puts
 * placeholders back into the slots. One start at a time per struct
 * launch_slots: launch_start returns only once the child let go of them.
 */
enum { SLOT_REPORT, SLOT_STATUS, SLOT_GO, SLOT_DEVNULL, SLOT_OUT, SLOT_ERR, SLOT_IDMAP, SLOT_N };
_Static_assert(SLOT_N == LAUNCH_SLOT_N, "launch.h's LAUNCH_SLOT_N is the number of slots");

int launch_reserve_slots(struct launch_slots *s)
{
	int r;

	s->max = -1;
	s->placeholder = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (s->placeholder < 0)
		return -errno;
	for (int i = 0; i < SLOT_N; i++) {
		s->fd[i] = fcntl(s->placeholder, F_DUPFD_CLOEXEC, 3);
		if (s->fd[i] < 0) {
			r = -errno;
			while (i-- > 0)
				(void)close(s->fd[i]);
			(void)close(s->placeholder);
			s->placeholder = -1;
			return r;
		}
		if (s->fd[i] > s->max)
			s->max = s->fd[i];
	}
	return 0;
}

static void slots_put(const struct launch_slots *s, const int *fds)
{
	for (int i = 0; i < SLOT_N; i++)
		(void)dup3(fds[i] >= 0 ? fds[i] : s->placeholder, s->fd[i], O_CLOEXEC);
}

static int __attribute__((noreturn))
child_main(const struct launch_plan *plan, struct child_fds fds)
{
	struct error err = { 0 };
	const struct service_spec *spec = plan->spec;
	int rootmnt = -1;

	reset_signals();
	if (setsid() < 0)
		child_fail(fds.report, errno, "setsid");
	if (dup2(fds.devnull, 0) < 0 || dup2(fds.out, 1) < 0 || dup2(fds.err, 2) < 0)
		child_fail(fds.report, errno, "set up stdio");
	{
		int keep[] = { fds.report, fds.status, fds.go, fds.idmap };
		launch_close_all_but(keep, ARRAY_SIZE(keep));
	}
	if (fds.idmap >= 0) {
		/* User namespace: nothing creates files before paddockd wrote our maps;
		 * with them comes the root, idmapped (userns.c). */
		if ((rootmnt = userns_receive(fds.idmap, &err)) < 0 && err.code)
			child_send(fds.report, &err);
		close(fds.idmap);
		/* Still host root (unmapped here): become root of the namespace. */
		if (setresgid(0, 0, 0) < 0)
			child_fail(fds.report, errno, "user namespace: setgid 0");
		if (setresuid(0, 0, 0) < 0)
			child_fail(fds.report, errno, "user namespace: setuid 0");
	}
	if ((spec->isolation.namespaces & SPEC_NS_UTS) && plan->hostname &&
	    sethostname(plan->hostname, strlen(plan->hostname)) < 0)
		child_fail(fds.report, errno, "sethostname %s", plan->hostname);
	if ((spec->isolation.namespaces & SPEC_NS_NET) && rootfs_loopback_up(&err) < 0)
		child_send(fds.report, &err);
	if ((spec->isolation.namespaces & SPEC_NS_MOUNT) &&
	    rootfs_setup(spec, plan->rootfs, plan->overlay, plan->overlay_dir, plan->notify_dir,
			 plan->netdir, rootmnt, plan->secrets, &err) < 0)
		child_send(fds.report, &err);

	if (plan->wait_attach) {
		/*
		 * v1/hybrid: the parent writes our pid into every hierarchy while
		 * we build the filesystem above (the first cgroup.procs write waits
		 * for an RCU grace period: overlapping it saves milliseconds). Only
		 * paddock's own code ran so far; nothing of the service runs and
		 * nothing forks before we are placed. Then our cgroup namespace is
		 * rooted at the service's cgroup, not the daemon's.
		 */
		char c = 0;
		ssize_t n;
		while ((n = read(fds.go, &c, 1)) < 0 && errno == EINTR)
			;
		close(fds.go);
		if (n != 1)
			_exit(127); /* not placed: the parent kills us and reports why */
		if ((spec->isolation.namespaces & SPEC_NS_CGROUP) && unshare(CLONE_NEWCGROUP) < 0)
			child_fail(fds.report, errno, "unshare cgroup namespace");
	}

	if (!plan->use_init) {
		if (fds.status >= 0)
			close(fds.status);
		child_exec(plan, fds.report);
	}

	/* pid 1: fork the service, keep the signal mask closed until we wait. */
	sigset_t all, old;
	sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, &old);
	pid_t svc = fork();
	if (svc < 0)
		child_fail(fds.report, errno, "fork service under init");
	if (svc == 0) {
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
		if (fds.status >= 0)
			close(fds.status);
		child_exec(plan, fds.report);
	}
	close(fds.report);
	/* init is a copy of paddockd that never execs: no secret stays in it. */
	secrets_wipe(plan->secrets);
	/* init needs no stdio of the service: hold /dev/null-like nothing. */
	launch_init_run(svc, fds.status);
}

/* What the child of launch_start's clone needs, wherever the clone ran. */
struct clone_ctx {
	const struct launch_plan *plan;
	const struct launch_slots *slots; /* the fd table is shared until we unshare it */
	int report[2], status[2], go[2], idmap[2];
	int devnull;
};

static void __attribute__((noreturn)) child_start(void *arg)
{
	const struct clone_ctx *c = arg;
	const struct launch_slots *slots = c->slots;

	if (slots) {
		/* Shared table: touch nothing before our own, small copy exists. */
		if (syscall(SYS_close_range, (unsigned)slots->max + 1, ~0U, CLOSE_RANGE_UNSHARE) <
			0 &&
		    unshare(CLONE_FILES) < 0)
			_exit(127);
		(void)!write(slots->fd[SLOT_REPORT], "u", 1);
		struct child_fds fds = { slots->fd[SLOT_REPORT],
					 c->status[1] >= 0 ? slots->fd[SLOT_STATUS] : -1,
					 c->go[0] >= 0 ? slots->fd[SLOT_GO] : -1,
					 slots->fd[SLOT_DEVNULL],
					 slots->fd[SLOT_OUT],
					 slots->fd[SLOT_ERR],
					 c->idmap[1] >= 0 ? slots->fd[SLOT_IDMAP] : -1 };
		child_main(c->plan, fds);
	}
	struct child_fds fds = { c->report[1],	     c->status[1],	 c->go[0],   c->devnull,
				 c->plan->stdout_fd, c->plan->stderr_fd, c->idmap[1] };
	close(c->report[0]);
	if (c->idmap[0] >= 0)
		close(c->idmap[0]);
	if (c->status[0] >= 0)
		close(c->status[0]);
	if (c->go[1] >= 0)
		close(c->go[1]);
	child_main(c->plan, fds);
}

static int pipe_pair(int fds[2], int flags)
{
	return pipe2(fds, O_CLOEXEC | flags) < 0 ? -errno : 0;
}

int launch_start(const struct launch_plan *plan, struct launch_child *child)
{
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int report[2] = { -1, -1 }, status[2] = { -1, -1 }, go[2] = { -1, -1 },
	    idmap[2] = { -1, -1 };
	unsigned ns = plan->spec->isolation.namespaces;
	int pidfd = -1, r;

	if (devnull < 0)
		return -errno;
	if ((r = pipe_pair(report, 0)) < 0)
		return r;
	if (plan->use_init && (r = pipe_pair(status, 0)) < 0)
		goto fail;
	if (plan->wait_attach && (r = pipe_pair(go, 0)) < 0)
		goto fail;
	if ((ns & SPEC_NS_USER) &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, idmap) < 0) {
		r = -errno;
		goto fail;
	}

	/* Slots only with clone3: valgrind's clone(2) refuses a fork that shares its fd table. */
	const struct launch_slots *slots = plan->slots;
	bool use_slots = slots && slots->max >= 0 && launch_have_clone3();
	if (use_slots) {
		int want[SLOT_N] = { report[1],	      status[1],       go[0],	devnull,
				     plan->stdout_fd, plan->stderr_fd, idmap[1] };
		slots_put(slots, want);
	}

	/* With CLONE_NEWUSER the other namespaces belong to the service's user
	 * namespace. Waiting children unshare the cgroup one once placed (see
	 * child_main). */
	uint64_t flags = (use_slots ? CLONE_FILES : 0) |
			 launch_ns_flags(plan->wait_attach ? ns & ~SPEC_NS_CGROUP : ns);

	struct clone_ctx ctx = { .plan = plan,
				 .slots = use_slots ? slots : NULL,
				 .report = { report[0], report[1] },
				 .status = { status[0], status[1] },
				 .go = { go[0], go[1] },
				 .idmap = { idmap[0], idmap[1] },
				 .devnull = devnull };
	pid_t pid = plan->cloner ? plan->cloner->clone(plan->cloner->arg, flags, SIGCHLD,
						       plan->cgroup_fd, &pidfd, child_start, &ctx)
				 : launch_clone(flags, SIGCHLD, plan->cgroup_fd, &pidfd);
	if (pid < 0) {
		r = pid;
		if (use_slots)
			slots_put(slots, (const int[SLOT_N]){ -1, -1, -1, -1, -1, -1, -1 });
		goto fail;
	}
	if (pid == 0)
		child_start(&ctx);
	if (use_slots) {
		char c;
		/* The child has its own table once this byte arrives (or it died). */
		while (read(report[0], &c, 1) < 0 && errno == EINTR)
			;
		slots_put(slots, (const int[SLOT_N]){ -1, -1, -1, -1, -1, -1, -1 });
	}

	close(report[1]);
	if (status[1] >= 0)
		close(status[1]);
	if (go[0] >= 0)
		close(go[0]);
	if (idmap[0] >= 0) {
		/* Maps and root for the child; a failure reaches it and comes back
		 * on the report pipe like any other. Closing our end unblocks it. */
		close(idmap[1]);
		(void)userns_prepare(pid, idmap[0], plan->spec->isolation.user_host,
				     plan->spec->isolation.user_count, plan->rootfs, plan->overlay,
				     plan->overlay_dir);
		close(idmap[0]);
	}
	child->pid = pid;
	child->pidfd = pidfd;
	child->reportfd = report[0];
	child->statusfd = status[0];
	child->gofd = go[1];
	return 0;

fail:
	for (int i = 0; i < 2; i++) {
		if (report[i] >= 0)
			close(report[i]);
		if (status[i] >= 0)
			close(status[i]);
		if (go[i] >= 0)
			close(go[i]);
		if (idmap[i] >= 0)
			close(idmap[i]);
	}
	return r;
}

void launch_release(struct launch_child *child, bool placed)
{
	if (child->gofd >= 0) {
		if (placed)
			(void)!write(child->gofd, "y", 1);
		close(child->gofd);
		child->gofd = -1;
	}
}

void launch_child_close(struct launch_child *child)
{
	int *fds[] = { &child->pidfd, &child->reportfd, &child->statusfd, &child->gofd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

static bool parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xfffffffeUL)
		return false;
	*out = (unsigned)v;
	return true;
}

#define ETC_FILE_MAX (4 << 20)

/*
 * root's etc/NAME (the host's /etc/NAME when root is NULL or "") to read:
 * resolved inside root, so an image's or a running service's symlinks
 * stay in it; a regular file of at most ETC_FILE_MAX, never a FIFO or a
 * device that would block or never end. NULL with errno set.
 */
static FILE *open_etc(const char *root, const char *name)
{
	struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	char path[64];
	struct stat st;
	int fd, e;

	if (root && *root) {
		int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return NULL;
		snprintf(path, sizeof(path), "etc/%s", name);
		fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
		e = errno;
		close(dfd);
		errno = e;
	} else {
		snprintf(path, sizeof(path), "/etc/%s", name);
		fd = open(path, (int)how.flags);
	}
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ETC_FILE_MAX) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	FILE *f = fdopen(fd, "re");
	if (!f)
		close(fd);
	return f;
}

int launch_resolve_user(const char *root, const char *user, uid_t *uid, gid_t *gid, char *home,
			size_t homelen, struct error *err)
{
	char name[256], group[256] = "";
	const char *colon;
	unsigned id;
	bool have_gid = false;

	*uid = 0;
	*gid = 0;
	snprintf(home, homelen, "/");
	if (!user || !*user)
		user = "0";
	colon = strchr(user, ':');
	snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - user) : (int)strlen(user), user);
	if (colon)
		snprintf(group, sizeof(group), "%s", colon + 1);

	_cleanup_fclose_ FILE *pw = open_etc(root, "passwd");
	struct passwd *ent = NULL;
	bool numeric = parse_id(name, &id);
	while (pw && (ent = fgetpwent(pw)))
		if (numeric ? ent->pw_uid == id : strcmp(ent->pw_name, name) == 0)
			break;
	if (ent) {
		*uid = ent->pw_uid;
		*gid = ent->pw_gid;
		have_gid = true;
		snprintf(home, homelen, "%s", ent->pw_dir);
	} else if (numeric) {
		*uid = id;
		*gid = id;
	} else {
		return error_set(err, ENOENT, "user not found in the service's /etc/passwd");
	}
	(void)have_gid;
	if (!*group)
		return 0;

	if (parse_id(group, &id)) {
		*gid = id;
		return 0;
	}
	_cleanup_fclose_ FILE *gr = open_etc(root, "group");
	struct group *gent = NULL;
	while (gr && (gent = fgetgrent(gr)))
		if (strcmp(gent->gr_name, group) == 0)
			break;
	if (!gent) {
		return error_set(err, ENOENT, "group not found in the service's /etc/group");
	}
	*gid = gent->gr_gid;
	return 0;
}

/* Add gid to out[0..*n) unless there; false when full. */
static bool add_gid(gid_t *out, size_t max, size_t *n, gid_t gid)
{
	for (size_t i = 0; i < *n; i++)
		if (out[i] == gid)
			return true;
	if (*n >= max)
		return false;
	out[(*n)++] = gid;
	return true;
}

int launch_resolve_groups(const char *passwd_root, const char *group_root, uid_t uid,
			  char *const *names, gid_t *out, size_t max, size_t *n, struct error *err)
{
	char user[256] = "";
	size_t nnames = 0, found = 0;
	unsigned id;

	*n = 0;
	for (char *const *g = names; g && *g; g++)
		nnames++;
	if (nnames > LAUNCH_GROUPS_MAX)
		return error_set(err, E2BIG, "more than %d groups", LAUNCH_GROUPS_MAX);
	_cleanup_fclose_ FILE *pw = open_etc(passwd_root, "passwd");
	for (struct passwd *ent; pw && (ent = fgetpwent(pw));)
		if (ent->pw_uid == uid) {
			snprintf(user, sizeof(user), "%s", ent->pw_name);
			break;
		}

	/* Numbers first, in the spec's order; names get their slot as found. */
	for (size_t i = 0; i < nnames; i++)
		if (parse_id(names[i], &id)) {
			found++;
			if (!add_gid(out, max, n, (gid_t)id))
				return error_set(err, E2BIG, "more than %zu groups", max);
		}
	if (found == nnames && !*user)
		return 0;

	/* One pass over /etc/group: the spec's names and the user's memberships. */
	bool named[LAUNCH_GROUPS_MAX] = { false };
	_cleanup_fclose_ FILE *gr = open_etc(group_root, "group");
	for (struct group *gent; gr && (gent = fgetgrent(gr));) {
		bool want = false;

		for (size_t i = 0; i < nnames; i++)
			if (!named[i] && strcmp(names[i], gent->gr_name) == 0)
				want = named[i] = true;
		for (char **m = gent->gr_mem; *user && !want && m && *m; m++)
			want = strcmp(*m, user) == 0;
		if (want && !add_gid(out, max, n, gent->gr_gid))
			return error_set(err, E2BIG, "more than %zu groups", max);
	}
	for (size_t i = 0; i < nnames; i++)
		if (!named[i] && !parse_id(names[i], &id))
			return error_set(err, ENOENT,
					 "group %s not found in the service's /etc/group",
					 names[i]);
	return 0;
}
