/*
 * persist.c - paddockd outliving itself: the state dir lock, the state
 * file kept current, re-adoption of running services at start, and
 * re-execution for upgrades.
 *
 * The facts to rebuild from, strongest first: the pidfd the fd holder
 * kept (fdstore.h: the very process we started), the service's cgroup
 * (membership), and the state file (pid + start time, restart counters,
 * transient specs). The state file is only ever a hint checked against
 * the first two; when it is missing or corrupt we rebuild from the
 * holder and the cgroups alone.
 */
#include <dirent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <json-c/json.h>
#include <sys/file.h>
#include <sys/socket.h>

#include "cgroup.h"
#include "events.h"
#include "fdstore.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "persist.h"
#include "rebalance-glue.h"
#include "service.h"
#include "state.h"
#include "util.h"

#define LOCK_WAIT_MS 5000
#define STATE_RETRY_MS 1000
#define STATE_DELAY_MS 50

struct persist {
	struct manager *d;
	struct event *ev_fdstore; /* the holder's connection: EOF when it died */
	char *fdstore_path;
	char *state_path; /* <state_dir>/state.json */
	char boot_id[40];
	struct event *ev_state; /* writes the state file at most every STATE_DELAY_MS */
	bool state_failing; /* last write failed: logged once, retried */
	struct event *ev_reexec;
	char *self_exe; /* for daemon-reexec: the binary at this path now */
	char **argv;
	struct orphans *orphans; /* cgroups no service claims, being emptied; NULL when none */
	struct rebalancer *rb; /* what it learned goes into the state file too; may be NULL */
};

/* --- the lock ---------------------------------------------------------------------------- */

int persist_lock(struct persist *p)
{
	struct manager *d = p->d;
	char *path;
	int fd;

	xasprintf(&path, "%s/paddockd.lock", d->cfg->state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(path);
	if (fd < 0)
		return -errno;
	/* A killed predecessor's unpack helper may hold it for a moment (PDEATHSIG). */
	for (uint64_t deadline = now_ms() + LOCK_WAIT_MS;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd; /* kept open (close-on-exec) for our lifetime */
		if (errno != EWOULDBLOCK || now_ms() >= deadline) {
			int r = errno == EWOULDBLOCK ? -EBUSY : -errno;
			close(fd);
			return r;
		}
		struct timespec ts = { 0, 20 * 1000000 };
		(void)nanosleep(&ts, NULL);
	}
}

/*
 * The state dir of paddockd pid: the directory of the paddockd.lock it
 * holds open (persist_lock keeps it for the daemon's lifetime). 0 or -errno.
 */
int persist_owner_state_dir(pid_t pid, char *buf, size_t len)
{
	static const char lockname[] = "/paddockd.lock";
	char path[64];
	DIR *dir;
	struct dirent *e;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(dir = opendir(path)))
		return -errno;
	while (r < 0 && (e = readdir(dir))) {
		char link[PATH_MAX];
		ssize_t n = readlinkat(dirfd(dir), e->d_name, link, sizeof(link) - 1);
		size_t k = sizeof(lockname) - 1;
		if (n <= (ssize_t)k)
			continue;
		link[n] = '\0';
		if (strcmp(link + n - k, lockname) != 0)
			continue;
		link[n - k] = '\0';
		snprintf(buf, len, "%s", link);
		r = 0;
	}
	closedir(dir);
	return r;
}

/* --- the state file ------------------------------------------------------------------------ */

/* One record at a time: the document grows, the records do not (see state_text). */
static int write_state(struct persist *p)
{
	struct manager *d = p->d;
	struct state_text t;
	struct state_service rec;
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	struct state_network nets[SPEC_MAX_NETWORKS];
	size_t nnets = d->env.net ? netmgr_record(d->env.net, nets) : 0;
	state_text_begin(&t, p->boot_id, getpid(), nets, nnets);
	for (size_t i = 0; i < d->nservices; i++) {
		service_state_record(d->services[i], &rec);
		rebalancer_record(p->rb, d->services[i], &rec);
		state_text_add(&t, &rec);
	}
	text = state_text_end(&t, &len);
	r = state_write_text(p->state_path, text, len);
	/*
	 * The text (~0.6 kB a service) and the records' JSON were freed in
	 * pieces the heap keeps; a start storm writes several times. Give the
	 * free pages back: at most once per STATE_DELAY_MS, microseconds.
	 */
	free(steal_pointer(&text));
	(void)malloc_trim(0);
	return r;
}

static void on_state_write(evutil_socket_t fd, short what, void *arg)
{
	struct persist *p = arg;
	int r = write_state(p);

	if (r < 0) {
		if (!p->state_failing)
			log_warnx("cannot write %s: %s; retrying every %d ms (services are not "
				  "affected)",
				  p->state_path, strerror(-r), STATE_RETRY_MS);
		p->state_failing = true;
		struct timeval tv = { .tv_sec = STATE_RETRY_MS / 1000 };
		evtimer_add(p->ev_state, &tv);
		return;
	}
	if (p->state_failing)
		log_info("%s written again", p->state_path);
	p->state_failing = false;
}

/* A manager observer: services changed, the state file is rewritten soon. */
static void state_changed(void *arg)
{
	struct persist *p = arg;
	/*
	 * Coalesced: at most one write (and fsync) per STATE_DELAY_MS, however
	 * many services change; a start storm costs a few writes, not one each.
	 * A crash inside the window loses nothing that matters: the holder
	 * keeps the pidfds, the exact identity.
	 */
	struct timeval tv = { 0, STATE_DELAY_MS * 1000 };

	if (p->ev_state && !p->state_failing && !evtimer_pending(p->ev_state, NULL))
		evtimer_add(p->ev_state, &tv);
}

/* --- the fd holder ------------------------------------------------------------------------ */

static void on_fdstore_event(evutil_socket_t fd, short what, void *arg);

static void watch_fdstore(struct persist *p)
{
	struct manager *d = p->d;

	if (!d->env.fdstore)
		return;
	p->ev_fdstore = event_new(d->base, fdstore_fd(d->env.fdstore), EV_READ | EV_PERSIST,
				  on_fdstore_event, p);
	event_add(p->ev_fdstore, NULL);
}

/*
 * The holder never writes unprompted: readable means it is gone (killed
 * by hand, OOM). Start a new one and give it every running service's
 * descriptors again, or a crash of ours would now cost their output.
 */
static void on_fdstore_event(evutil_socket_t fd, short what, void *arg)
{
	struct persist *p = arg;
	struct manager *d = p->d;
	bool spawned;
	char c;
	int r;

	if (recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN)
		return;
	event_free(p->ev_fdstore);
	p->ev_fdstore = NULL;
	d->env.fdstore = fdstore_free(d->env.fdstore);
	if ((r = fdstore_open(p->fdstore_path, &d->env.fdstore, &spawned)) < 0) {
		log_warnx("the fd holder exited and cannot be restarted: %s; service output will "
			  "not survive a daemon crash",
			  strerror(-r));
		return;
	}
	log_warnx("the fd holder exited; started a new one and gave it %zu services' "
		  "descriptors again",
		  d->nservices);
	for (size_t i = 0; i < d->nservices; i++)
		service_store_fds(d->services[i]);
	eventlog_emit(d->events, NULL, "fdstore-restarted", NULL);
	watch_fdstore(p);
}

/* --- adoption --------------------------------------------------------------------------- */

struct held {
	char key[FDSTORE_KEY_MAX];
	int fds[FDSTORE_MAX_FDS];
	size_t n;
	bool used;
};

struct held_list {
	struct held *v;
	size_t n, cap;
};

static void on_held(void *arg, const char *key, int *fds, size_t n)
{
	struct held_list *l = arg;

	if (l->n == l->cap) {
		struct held *p = realloc(l->v, (l->cap = l->cap ? l->cap * 2 : 64) * sizeof(*p));
		if (!p)
			abort();
		l->v = p;
	}
	struct held *h = &l->v[l->n++];
	memset(h, 0, sizeof(*h));
	snprintf(h->key, sizeof(h->key), "%s", key);
	memcpy(h->fds, fds, n * sizeof(int));
	h->n = n;
}

static struct held *held_find(struct held_list *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].used && strcmp(l->v[i].key, key) == 0)
			return &l->v[i];
	return NULL;
}

/* Hand what the holder and the state file know about svc to service_adopt. */
static int adopt_one(struct service *svc, struct held_list *held, const struct state *st)
{
	struct service_adoption a = { .pidfd = -1, .out = { -1, -1 }, .statusfd = -1 };
	struct held *h = held_find(held, service_name(svc));

	a.rec = state_find(st, service_name(svc));
	if (h) {
		h->used = true;
		/*
		 * Layout of store_fds in service.c: pidfd, stdout, stderr[, status];
		 * or stdout, stderr alone when the daemon died during the start.
		 */
		if (h->n == 2) {
			a.out[0] = h->fds[0];
			a.out[1] = h->fds[1];
		} else if (h->n >= 3) {
			a.pidfd = h->fds[0];
			a.out[0] = h->fds[1];
			a.out[1] = h->fds[2];
			a.statusfd = h->n >= 4 ? h->fds[3] : -1;
			for (size_t i = 4; i < h->n; i++)
				close(h->fds[i]);
		} else {
			for (size_t i = 0; i < h->n; i++)
				close(h->fds[i]);
		}
		h->n = 0;
	}
	return service_adopt(svc, &a);
}

/* A transient service from the state file whose cgroup is still there: bring it back. */
static struct service *revive_transient(struct manager *d, const struct state_service *rec)
{
	struct config_errors errs = { 0 };
	struct spec_set *set = NULL;
	struct service *svc = NULL;
	struct cgroup *cg = NULL;

	if (cgroup_open(d->cgroups, rec->name, &cg) < 0)
		return NULL;
	cgroup_free(cg);
	if (config_parse_specs_buffer("run", rec->spec_text, strlen(rec->spec_text), &d->host, &set,
				      &errs) < 0 ||
	    set->nservices != 1 || strcmp(set->services[0]->name, rec->name) != 0 ||
	    manager_add(d, set, rec->rm, &svc) < 0) {
		log_warnx("state: transient service %s: its spec no longer parses; its cgroup "
			  "will be cleaned up",
			  rec->name);
		config_errors_clear(&errs);
		spec_set_free(set);
		return NULL;
	}
	service_set_spec_text(svc, rec->spec_text);
	return svc;
}

/*
 * cgroups under our root that no service claims: left by a removed service.
 * Each is emptied in kill rounds (cgroup_kill_step) on a timer, never by
 * waiting, and removed once empty.
 */
#define ORPHAN_RETRY_MS 20 /* one kill round for each orphan this often */
#define ORPHAN_RETRY_MAX 3000 /* ... for at most 60 s, the bound the blocking kill had */

struct orphan {
	char *name;
	struct cgroup *cg;
	bool killed; /* had processes when found */
};

struct orphans {
	struct persist *p;
	struct event *ev;
	struct orphan *v;
	size_t n;
	unsigned tries;
};

static void orphans_free(struct orphans *o)
{
	o->p->orphans = NULL;
	for (size_t i = 0; i < o->n; i++) {
		cgroup_free(o->v[i].cg);
		free(o->v[i].name);
	}
	free(o->v);
	if (o->ev)
		event_free(o->ev);
	free(o);
}

/* One kill round for each orphan; drops those removed. True when none is left. */
static bool reap_orphans(struct orphans *o)
{
	size_t k = 0;

	for (size_t i = 0; i < o->n; i++) {
		struct orphan *x = &o->v[i];
		/* A service took the name meanwhile (reload, run): its cgroup now. */
		bool claimed = manager_find(o->p->d, x->name) != NULL;
		if (!claimed && !(cgroup_kill_step(x->cg) == 0 && cgroup_destroy(x->cg) == 0)) {
			o->v[k++] = *x;
			continue;
		}
		if (!claimed) {
			struct json_object *ev = json_object_new_object();
			json_object_object_add(ev, "cgroup",
					       json_object_new_string(cgroup_path(x->cg)));
			json_object_object_add(ev, "killed", json_object_new_boolean(x->killed));
			eventlog_emit(o->p->d->events, NULL, "orphan-removed", ev);
		}
		cgroup_free(x->cg);
		free(x->name);
	}
	o->n = k;
	return k == 0;
}

static void on_orphans(evutil_socket_t fd, short what, void *arg)
{
	struct orphans *o = arg;
	struct timeval tv = { 0, ORPHAN_RETRY_MS * 1000 };

	if (reap_orphans(o)) {
		orphans_free(o);
		return;
	}
	if (++o->tries < ORPHAN_RETRY_MAX) {
		evtimer_add(o->ev, &tv);
		return;
	}
	for (size_t i = 0; i < o->n; i++)
		log_warnx("cgroup %s does not empty; leaving it", cgroup_path(o->v[i].cg));
	orphans_free(o);
}

static void remove_orphans(struct persist *p)
{
	struct manager *d = p->d;
	struct orphans *o = xcalloc(1, sizeof(*o));
	struct timeval tv = { 0, ORPHAN_RETRY_MS * 1000 };
	char **names = NULL;
	size_t n = 0;

	o->p = p;
	p->orphans = o;
	if (cgroup_host_children(d->cgroups, &names, &n) < 0)
		n = 0;
	o->v = xcalloc(n ? n : 1, sizeof(*o->v));
	for (size_t i = 0; i < n; i++) {
		struct cgroup *cg = NULL;
		if (manager_find(d, names[i]) || cgroup_open(d->cgroups, names[i], &cg) < 0) {
			free(names[i]);
			continue;
		}
		bool busy = cgroup_is_empty(cg) == 0;
		log_warnx("cgroup %s belongs to no service%s; removing it", cgroup_path(cg),
			  busy ? " and still has processes" : "");
		o->v[o->n++] = (struct orphan){ .name = names[i], .cg = cg, .killed = busy };
	}
	free(names);
	if (reap_orphans(o)) {
		orphans_free(o);
		return;
	}
	o->ev = evtimer_new(d->base, on_orphans, o);
	evtimer_add(o->ev, &tv);
}

void persist_set_rebalancer(struct persist *p, struct rebalancer *rb)
{
	p->rb = rb;
}

int persist_adopt(struct persist *p, bool *adopted)
{
	struct manager *d = p->d;
	struct held_list held = { 0 };
	struct state st = { 0 };
	struct error err = { 0 };
	bool spawned = false;
	size_t nadopted = 0;
	int r;

	xasprintf(&p->state_path, "%s/state.json", d->cfg->state_dir);
	if (state_boot_id(p->boot_id) < 0)
		p->boot_id[0] = '\0';
	p->ev_state = evtimer_new(d->base, on_state_write, p);

	xasprintf(&p->fdstore_path, "%s/fdstore.sock", d->cfg->runtime_dir);
	if ((r = fdstore_open(p->fdstore_path, &d->env.fdstore, &spawned)) < 0)
		log_warnx("fd holder %s: %s; service output will not survive a daemon crash",
			  p->fdstore_path, strerror(-r));
	if (d->env.fdstore && !spawned && (r = fdstore_list(d->env.fdstore, on_held, &held)) < 0)
		log_warnx("fd holder: cannot list: %s", strerror(-r));
	watch_fdstore(p);

	r = state_load(p->state_path, &st, &err);
	if (r < 0 && r != -ENOENT) {
		log_warnx("state file %s: %s; rebuilding from the cgroups and the fd holder",
			  p->state_path, err.msg);
		struct json_object *ev = json_object_new_object();
		json_object_object_add(ev, "error", json_object_new_string(err.msg));
		eventlog_emit(d->events, NULL, "state-corrupt", ev);
	} else if (r == 0 && p->boot_id[0] && strcmp(st.boot_id, p->boot_id) != 0) {
		log_info("state file %s is from an earlier boot; ignoring it", p->state_path);
		state_clear(&st);
	}

	/* Whatever an earlier paddockd made of our root is ours to remove at the end. */
	if (r == 0 || (d->env.fdstore && !spawned))
		cgroup_host_claim_root(d->cgroups);

	/* Bridges made and addresses handed out before: the leases below take theirs again. */
	if (d->env.net)
		netmgr_restore(d->env.net, st.networks, st.nnetworks);
	/* Transients first: they are services like the others from here on. */
	for (size_t i = 0; i < st.nservices; i++)
		if (st.services[i].spec_text && !manager_find(d, st.services[i].name))
			(void)revive_transient(d, &st.services[i]);

	for (size_t i = 0; i < d->nservices; i++) {
		const struct state_service *rec = state_find(&st, service_name(d->services[i]));
		if (rec)
			rebalancer_restore(p->rb, d->services[i], rec);
		adopted[i] = adopt_one(d->services[i], &held, &st) > 0;
		nadopted += adopted[i];
	}
	/* The holder may keep things for services that no longer exist. */
	for (size_t i = 0; i < held.n; i++) {
		for (size_t k = 0; k < held.v[i].n; k++)
			close(held.v[i].fds[k]);
		if (!held.v[i].used)
			(void)fdstore_drop(d->env.fdstore, held.v[i].key);
	}
	free(held.v);
	state_clear(&st);
	remove_orphans(p);
	if (nadopted)
		log_info("took over %zu services from the previous paddockd", nadopted);
	state_changed(p);
	return (int)nadopted;
}

/* --- re-exec ------------------------------------------------------------------------------ */

/*
 * The cgroup roots stay ours across the exec: their lock fds are left open
 * and named in PADDOCK_CGROUP_LOCKS for the next image
 * (persist_inherit_cgroup_locks). Dropping and re-taking them would let a
 * daemon starting at that moment take the roots from under us.
 */
static void keep_cgroup_locks(struct manager *d, bool keep)
{
	int fds[256];
	size_t n = cgroup_host_lock_fds(d->cgroups, fds, ARRAY_SIZE(fds));
	char list[256 * 12] = "";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		(void)fcntl(fds[i], F_SETFD, keep ? 0 : FD_CLOEXEC);
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%d", i ? "," : "", fds[i]);
	}
	if (keep)
		setenv("PADDOCK_CGROUP_LOCKS", list, 1);
	else
		unsetenv("PADDOCK_CGROUP_LOCKS");
}

void persist_inherit_cgroup_locks(struct cgroup_host *host)
{
	const char *list = getenv("PADDOCK_CGROUP_LOCKS");
	int fds[256];
	size_t n = 0;

	if (!list)
		return;
	for (const char *p = list; *p && n < ARRAY_SIZE(fds);) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v > 2 && v < INT_MAX)
			fds[n++] = (int)v;
		p = *end == ',' ? end + 1 : end;
	}
	cgroup_host_inherit_locks(host, fds, n);
	unsetenv("PADDOCK_CGROUP_LOCKS");
}

static void on_reexec(evutil_socket_t fd, short what, void *arg)
{
	struct persist *p = arg;
	struct manager *d = p->d;
	int r;

	if (d->env.shutting_down)
		return;
	/* Everything the next image needs is in the state file and the fd holder. */
	if ((r = write_state(p)) < 0)
		log_warnx("re-exec: cannot write %s: %s; the new daemon rebuilds from the cgroups",
			  p->state_path, strerror(-r));
	log_info("re-executing %s", p->self_exe);
	eventlog_emit(d->events, NULL, "daemon-reexec", NULL);
	setenv("PADDOCK_REEXEC", "1", 1);
	keep_cgroup_locks(d, true);
	execv(p->self_exe, p->argv);
	log_warn("re-exec %s failed; carrying on", p->self_exe);
	keep_cgroup_locks(d, false);
	unsetenv("PADDOCK_REEXEC");
}

void persist_request_reexec(struct persist *p)
{
	/* After this turn: the reply to the request must reach the client first. */
	struct timeval tv = { 0, 100 * 1000 };

	if (!p->ev_reexec)
		p->ev_reexec = evtimer_new(p->d->base, on_reexec, p);
	evtimer_add(p->ev_reexec, &tv);
}

void persist_shutdown(struct persist *p, bool all_stopped)
{
	struct manager *d = p->d;

	if (p->orphans)
		orphans_free(p->orphans);
	if (p->ev_state) {
		event_free(p->ev_state);
		p->ev_state = NULL;
	}
	if (p->ev_reexec) {
		event_free(p->ev_reexec);
		p->ev_reexec = NULL;
	}
	if (p->ev_fdstore) {
		event_free(p->ev_fdstore);
		p->ev_fdstore = NULL;
	}
	if (all_stopped) {
		/* Nothing runs: nothing to hold or to remember, nothing to leave behind. */
		(void)fdstore_quit(d->env.fdstore);
		if (p->fdstore_path)
			(void)unlink(p->fdstore_path);
		if (p->state_path)
			(void)unlink(p->state_path);
	} else if (p->state_path) {
		(void)write_state(p);
	}
	d->env.fdstore = fdstore_free(d->env.fdstore);
	free(p->state_path);
	p->state_path = NULL;
	free(p->fdstore_path);
	p->fdstore_path = NULL;
}

struct persist *persist_new(struct manager *m, char **argv)
{
	struct persist *p = xcalloc(1, sizeof(*p));

	p->d = m;
	p->argv = argv;
	p->self_exe = realpath("/proc/self/exe", NULL);
	/* Upgraded: the new file at the path. */
	if (p->self_exe && strlen(p->self_exe) > 10 &&
	    strcmp(p->self_exe + strlen(p->self_exe) - 10, " (deleted)") == 0)
		p->self_exe[strlen(p->self_exe) - 10] = '\0';
	manager_observe(m, state_changed, p);
	return p;
}

struct persist *persist_free(struct persist *p)
{
	if (!p)
		return NULL;
	free(p->self_exe);
	free(p);
	return NULL;
}
