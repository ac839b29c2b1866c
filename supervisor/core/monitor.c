/*
 * monitor.c - sampling, OOM events and pressure for every service.
 *
 * One timer samples all running services and the host every
 * probe_interval (each file one pread, no allocation: see probes/). OOM
 * kills arrive as events, never by polling: one inotify instance watches
 * every v2 memory.events; on v1/hybrid each service has an eventfd
 * registered on memory.oom_control. PSI triggers (spec `pressure:` and a
 * host memory trigger) signal with POLLPRI, which libevent cannot ask for:
 * each sits in an epoll set with EPOLLPRI, and the loop watches that epoll
 * fd for EV_READ. One set per trigger, because the kernel's PSI poll
 * consumes the event: a set shared by several triggers and watched by the
 * loop reads readable, then drains empty (see probes/probe.h).
 *
 * Costs: O(services) per tick, in slices of about 1 ms (see on_slice);
 * each event touches one service.
 */
#include <event2/event.h>
#include <json-c/json.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>

#include "cgroup.h"
#include "events.h"
#include "log.h"
#include "logstore.h"
#include "manager.h"
#include "monitor.h"
#include "service.h"
#include "util.h"

#define OOM_ATTRIBUTE_MS 50 /* wait this long to see whether the main process died too */
#define HOST_PSI_PERMILLE 100 /* default host trigger: memory "some" 10% ... */
#define HOST_PSI_WINDOW_US 2000000 /* ... of a 2 s window */
#define PSI_MAX_WINDOW_MS 10000 /* the kernel's limit for a trigger window */
/*
 * Samplers opened per tick, at most: each is up to 17 opens of cgroupfs
 * files (~10 us each). 1000 services started together would otherwise
 * have one tick open 17000 files, 150+ ms in the loop while the starts
 * still run; at 100 a tick the last service is sampled 10 ticks in.
 */
#define SAMPLER_OPENS_PER_TICK 100
/*
 * A tick's round of services is sampled in slices of about this long, the
 * loop turning in between: 1000 services in one callback held the loop
 * 20+ ms, and every request or event arriving meanwhile waited for it.
 */
#define ROUND_SLICE_USEC 1000
#define ROUND_CHECK_EVERY 8 /* services between looks at the clock */

/*
 * What probe_cgroup_rates reads of the previous full sample: 168 bytes
 * instead of a whole sample's 480, for every service.
 */
struct rate_base {
	uint64_t when_usec;
	struct probe_cpu cpu;
	struct probe_io io;
	uint64_t refault_anon, refault_file;
	uint64_t psi_total[PRESSURE_NR][2]; /* some, full */
};

/* A spec `pressure:` trigger; allocated only for services that have one. */
struct svc_psi {
	struct probe_psi_watch w;
	struct event *ev;
	uint64_t window_ms;
	uint64_t first_ms, last_ms, last_action_ms;
	bool active;
};

struct svc_probe {
	struct monitor *m;
	struct service *svc;
	struct probe_cgroup *pc;
	bool sampler_tried; /* opened lazily on the first tick */
	struct probe_cgroup_sample cur; /* merged view, fresh groups on each tick */
	struct rate_base full_prev; /* of the previous full sample, for slow rates */
	bool have_cur, have_full_prev;
	struct probe_cpu cpu_prev; /* for the per-tick CPU rate */
	uint64_t cpu_prev_usec;
	struct probe_cgroup_rates rates;
	bool have_rates;
	unsigned next_tick,
	    backoff; /* idle services are sampled less often, up to every 8th tick */

	/* OOM: v2 inotify watch, or v1 eventfd registration */
	int wd;
	struct probe_oom_v1 v1;
	struct event *ev_oom_v1;
	struct event *ev_oom_check;
	uint64_t oom_seen; /* oom_kill counter of this cgroup already reported */
	pid_t main_at_oom;

	/* pressure, per resource: each trigger in its own epoll set (see probe.h); NULL: none */
	struct svc_psi *psi;
};

struct monitor {
	struct manager *d;
	const struct monitor_ops *ops; /* what is done about what we see: policy.c */
	void *ops_arg;
	struct event *ev_tick;
	struct probe_host *host;
	struct probe_host_sample host_prev, host_cur;
	struct probe_host_rates host_rates;
	bool host_have_prev;
	uint64_t last_tick_usec;

	size_t sampler_fds; /* fds held open by samplers */
	bool warned_fd_budget;
	int inotify_fd; /* v2 memory.events watches of every service */
	struct event *ev_inotify;
	struct probe_psi_watch host_psi;
	struct event *ev_host_psi;
	unsigned tick;
	bool host_psi_active;
	uint64_t host_psi_last_ms;
	bool logged_rounding;

	/* the round under way: a tick's services, sampled a slice per loop turn */
	struct event *ev_slice;
	bool round_busy, round_full;
	unsigned round_groups, round_opens;
	size_t round_next; /* index in d->services */
	uint64_t round_usec; /* time spent in the round's slices */
};

static uint64_t mono_ms(void)
{
	return now_ms();
}

static struct svc_probe *probe_of(const struct service *svc)
{
	return *service_monitor_slot((struct service *)svc);
}

/* --- OOM ------------------------------------------------------------------------------- */

/* Read the group's oom_kill counter and report what is new. */
static void oom_check(struct svc_probe *sp, bool final)
{
	uint64_t kills = PROBE_UNKNOWN;

	if (sp->v1.oom_control_fd >= 0) {
		(void)probe_oom_v1_read(&sp->v1, NULL, &kills);
	} else {
		struct cgroup *cg = service_cgroup(sp->svc);
		const char *dir = cg ? cgroup_dir(cg, "unified") : NULL;
		char path[4096], buf[1024];
		struct probe_memory_events ev;
		memset(&ev, 0xff, sizeof(ev));
		if (dir) {
			snprintf(path, sizeof(path), "%s/memory.events", dir);
			if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) > 0 &&
			    probe_parse_memory_events(buf, &ev) == 0)
				kills = ev.oom_kill;
		}
	}
	if (kills == PROBE_UNKNOWN || kills <= sp->oom_seen)
		return;
	uint64_t n = kills - sp->oom_seen;
	sp->oom_seen = kills;
	/* Alive: the main process is the one we started and has not exited. */
	bool main_alive = !final && service_main_pid(sp->svc) != 0 &&
			  service_main_pid(sp->svc) == sp->main_at_oom;
	sp->m->ops->oom(sp->m->ops_arg, sp->svc, n, main_alive);
}

static void on_oom_check(evutil_socket_t fd, short what, void *arg)
{
	oom_check(arg, false);
}

/* An OOM event: give the main process a moment to be seen dying, then attribute. */
static void oom_event(struct svc_probe *sp)
{
	struct timeval tv = { 0, OOM_ATTRIBUTE_MS * 1000 };

	sp->main_at_oom = service_main_pid(sp->svc);
	evtimer_add(sp->ev_oom_check, &tv);
}

static void on_oom_v1(evutil_socket_t fd, short what, void *arg)
{
	struct svc_probe *sp = arg;
	uint64_t count;

	if (probe_oom_v1_ack(&sp->v1, &count) > 0 || count > 0)
		oom_event(sp);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct monitor *m = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ie = (struct inotify_event *)p;
			p += sizeof(*ie) + ie->len;
			/* O(services); OOM events are rare. */
			for (size_t i = 0; i < m->d->nservices; i++) {
				struct svc_probe *sp = probe_of(m->d->services[i]);
				if (sp && sp->wd == ie->wd) {
					oom_event(sp);
					break;
				}
			}
		}
	}
}

/* --- pressure ------------------------------------------------------------------------------ */

static const char *const psi_files[PRESSURE_NR] = { "memory.pressure", "cpu.pressure",
						    "io.pressure" };
static const char *const psi_names[PRESSURE_NR] = { "memory", "cpu", "io" };

/* A trigger fired: crossed, and after `for` of it, the action (once per window). */
static void psi_fired(struct svc_probe *sp, int r)
{
	const struct spec_pressure *p = &service_spec(sp->svc)->pressure[r];
	uint64_t now = mono_ms();

	if (!sp->psi[r].active) {
		struct json_object *d = json_object_new_object();
		sp->psi[r].active = true;
		sp->psi[r].first_ms = now;
		json_object_object_add(d, "resource", json_object_new_string(psi_names[r]));
		json_object_object_add(d, "state", json_object_new_string("crossed"));
		json_object_object_add(d, "above_percent",
				       json_object_new_double(p->above_permille / 10.0));
		json_object_object_add(d, "window_ms",
				       json_object_new_int64((int64_t)sp->psi[r].window_ms));
		eventlog_emit(sp->m->d->events, service_name(sp->svc), "pressure", d);
	}
	sp->psi[r].last_ms = now;
	if (now - sp->psi[r].first_ms + sp->psi[r].window_ms >= p->for_ms &&
	    now - sp->psi[r].last_action_ms >= sp->psi[r].window_ms) {
		sp->psi[r].last_action_ms = now;
		/* The trigger fires after a window above the threshold: that window counts. */
		sp->m->ops->pressure(sp->m->ops_arg, sp->svc, r,
				     now - sp->psi[r].first_ms + sp->psi[r].window_ms);
	}
}

/* Cleared: no trigger for two windows. Checked each tick. */
static void psi_check_clear(struct svc_probe *sp, uint64_t now)
{
	for (int r = 0; sp->psi && r < PRESSURE_NR; r++) {
		if (!sp->psi[r].active || now - sp->psi[r].last_ms < 2 * sp->psi[r].window_ms)
			continue;
		struct json_object *d = json_object_new_object();
		sp->psi[r].active = false;
		json_object_object_add(d, "resource", json_object_new_string(psi_names[r]));
		json_object_object_add(d, "state", json_object_new_string("cleared"));
		json_object_object_add(d, "duration_ms",
				       json_object_new_int64((int64_t)(now - sp->psi[r].first_ms)));
		eventlog_emit(sp->m->d->events, service_name(sp->svc), "pressure", d);
		sp->m->ops->pressure_cleared(sp->m->ops_arg, sp->svc, r);
	}
}

static void host_psi_fired(struct monitor *m)
{
	uint64_t now = mono_ms();

	m->host_psi_last_ms = now;
	if (m->host_psi_active)
		return;
	m->host_psi_active = true;
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "resource", json_object_new_string("memory"));
	json_object_object_add(d, "state", json_object_new_string("crossed"));
	json_object_object_add(d, "above_percent",
			       json_object_new_double(HOST_PSI_PERMILLE / 10.0));
	log_warnx("host memory pressure above %.1f%%", HOST_PSI_PERMILLE / 10.0);
	eventlog_emit(m->d->events, NULL, "host-pressure", d);
}

/* One trigger's epoll set is readable: it fired (or its cgroup is gone). */
static void on_psi(evutil_socket_t fd, short what, void *arg)
{
	struct svc_probe *sp = arg;
	int r;

	if (!sp->psi)
		return;
	for (r = 0; r < PRESSURE_NR; r++)
		if (sp->psi[r].w.epoll_fd == fd)
			break;
	if (r == PRESSURE_NR)
		return;
	if (probe_psi_watch_ack(&sp->psi[r].w) == -ENODEV) {
		event_free(sp->psi[r].ev);
		sp->psi[r].ev = NULL;
		probe_psi_watch_close(&sp->psi[r].w);
		return;
	}
	psi_fired(sp, r);
}

static void on_host_psi(evutil_socket_t fd, short what, void *arg)
{
	struct monitor *m = arg;

	if (probe_psi_watch_ack(&m->host_psi) == 0)
		host_psi_fired(m);
}

static void open_triggers(struct monitor *m, struct svc_probe *sp, const char *v2dir)
{
	const struct service_spec *spec = service_spec(sp->svc);
	char path[4096];
	int r;

	for (r = 0; r < PRESSURE_NR; r++)
		if (spec->pressure[r].action != PRESSURE_ACTION_NONE)
			break;
	if (r == PRESSURE_NR || !v2dir)
		return;
	sp->psi = xcalloc(PRESSURE_NR, sizeof(*sp->psi));
	for (r = 0; r < PRESSURE_NR; r++) {
		const struct spec_pressure *p = &spec->pressure[r];
		uint64_t window_ms, eff = 0;
		sp->psi[r].w.trigger_fd = sp->psi[r].w.epoll_fd = -1;
		if (p->action == PRESSURE_ACTION_NONE)
			continue;
		window_ms = p->for_ms < 500 ? 500 : p->for_ms;
		if (window_ms > PSI_MAX_WINDOW_MS)
			window_ms =
			    PSI_MAX_WINDOW_MS; /* longer `for`: sustained over several windows */
		snprintf(path, sizeof(path), "%s/%s", v2dir, psi_files[r]);
		int rc =
		    probe_psi_watch_open(path, false, window_ms * 1000 * p->above_permille / 1000,
					 window_ms * 1000, &eff, &sp->psi[r].w);
		if (rc < 0) {
			log_warnx("service %s: cannot set a %s trigger: %s", spec->name,
				  psi_files[r], strerror(-rc));
			continue;
		}
		if (eff / 1000 != window_ms && !m->logged_rounding) {
			log_info("PSI trigger windows are rounded up to multiples of 2 s without "
				 "CAP_SYS_RESOURCE (%llu ms -> %llu ms)",
				 (unsigned long long)window_ms, (unsigned long long)(eff / 1000));
			m->logged_rounding = true;
		}
		sp->psi[r].window_ms = eff / 1000;
		sp->psi[r].ev =
		    event_new(m->d->base, sp->psi[r].w.epoll_fd, EV_READ | EV_PERSIST, on_psi, sp);
		event_add(sp->psi[r].ev, NULL);
	}
}

/* --- per service ------------------------------------------------------------------------- */

/*
 * Samplers keep their files open (up to 17 fds a service on hybrid hosts).
 * They are opened on the first tick after a start, not at the start: a burst
 * of starts then clones from a small fd table. Starting services and OOM
 * events come first: samplers get at most what leaves 8 fds per service and
 * some slack under the limit. Past that, a sampler keeps no file open and
 * opens what it reads at each sample: every service is sampled, those at
 * a few µs more each.
 */
static void open_sampler(struct monitor *m, struct svc_probe *sp)
{
	struct cgroup *cg = service_cgroup(sp->svc);
	struct probe_cgroup_paths paths = { 0 };
	int r;

	sp->sampler_tried = true;
	if (!cg)
		return;
	paths.v2 = cgroup_dir(cg, "unified");
	paths.pure_v2 = cgroup_host_mode(m->d->cgroups) == CGROUP_MODE_V2;
	if (!paths.pure_v2) {
		paths.memory = cgroup_dir(cg, "memory");
		paths.cpu = cgroup_dir(cg, "cpu");
		paths.cpuacct = cgroup_dir(cg, "cpuacct");
		paths.pids = cgroup_dir(cg, "pids");
		paths.blkio = cgroup_dir(cg, "blkio");
	}
	size_t reserve = 8 * m->d->nservices + 256;
	size_t limit = m->d->nofile.rlim_max > m->d->nofile.rlim_cur ? m->d->nofile.rlim_max
								     : m->d->nofile.rlim_cur;
	paths.by_path = !(limit > reserve && m->sampler_fds + 20 <= limit - reserve);
	if (paths.by_path && !m->warned_fd_budget) {
		log_warnx("open files limit %zu is too low to keep every service's cgroup files "
			  "open (about 25 per service): more services are sampled by path, at a "
			  "higher cost; raise LimitNOFILE / ulimit -n",
			  limit);
		m->warned_fd_budget = true;
	}
	if ((r = probe_cgroup_open(&paths, &sp->pc)) < 0)
		log_warnx("service %s: cannot open its cgroup files for sampling: %s",
			  service_name(sp->svc), strerror(-r));
	else
		m->sampler_fds += (size_t)probe_cgroup_nfds(sp->pc);
}

void monitor_service_started(struct monitor *m, struct service *svc)
{
	struct cgroup *cg = service_cgroup(svc);
	enum cgroup_mode mode = cgroup_host_mode(m->d->cgroups);
	struct svc_probe *sp;
	int r;

	if (!m || !cg || probe_of(svc))
		return;
	sp = xcalloc(1, sizeof(*sp));
	sp->m = m;
	sp->svc = svc;
	sp->wd = -1;
	sp->v1.event_fd = sp->v1.oom_control_fd = -1;
	sp->ev_oom_check = evtimer_new(m->d->base, on_oom_check, sp);

	const char *v2 = cgroup_dir(cg, "unified");
	bool pure_v2 = mode == CGROUP_MODE_V2;
	const char *memory = pure_v2 ? NULL : cgroup_dir(cg, "memory");

	if (pure_v2 && v2 && m->inotify_fd >= 0) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/memory.events", v2);
		sp->wd = inotify_add_watch(m->inotify_fd, path, IN_MODIFY);
		if (sp->wd < 0)
			log_warn("service %s: cannot watch %s", service_name(svc), path);
	} else if (memory) {
		if ((r = probe_oom_watch_v1(memory, &sp->v1)) < 0) {
			log_warnx("service %s: cannot register for OOM events: %s",
				  service_name(svc), strerror(-r));
		} else {
			sp->ev_oom_v1 = event_new(m->d->base, sp->v1.event_fd, EV_READ | EV_PERSIST,
						  on_oom_v1, sp);
			event_add(sp->ev_oom_v1, NULL);
		}
	}
	open_triggers(m, sp, v2);
	/* Start from the counter as it is: a reused cgroup keeps its history. */
	if (sp->v1.oom_control_fd >= 0) {
		uint64_t kills = 0;
		if (probe_oom_v1_read(&sp->v1, NULL, &kills) == 0 && kills != PROBE_UNKNOWN)
			sp->oom_seen = kills;
	} else if (pure_v2 && v2) {
		/* v2: read memory.events once now (the sampler comes later). */
		char path[4096], buf[1024];
		struct probe_memory_events ev;
		snprintf(path, sizeof(path), "%s/memory.events", v2);
		memset(&ev, 0xff, sizeof(ev));
		if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) > 0 &&
		    probe_parse_memory_events(buf, &ev) == 0 && ev.oom_kill != PROBE_UNKNOWN)
			sp->oom_seen = ev.oom_kill;
	}
	*service_monitor_slot(svc) = sp;
}

void monitor_service_stopped(struct monitor *m, struct service *svc)
{
	struct svc_probe *sp = probe_of(svc);

	if (!m || !sp)
		return;
	/* A last look: an OOM kill that took the main process may not be reported yet. */
	oom_check(sp, true);
	for (int r = 0; sp->psi && r < PRESSURE_NR; r++) {
		if (sp->psi[r].ev)
			event_free(sp->psi[r].ev);
		probe_psi_watch_close(&sp->psi[r].w);
	}
	free(sp->psi);
	if (sp->wd >= 0)
		(void)inotify_rm_watch(m->inotify_fd, sp->wd);
	if (sp->ev_oom_v1)
		event_free(sp->ev_oom_v1);
	probe_oom_v1_close(&sp->v1);
	event_free(sp->ev_oom_check);
	if (sp->pc)
		m->sampler_fds -= (size_t)probe_cgroup_nfds(sp->pc);
	probe_cgroup_free(sp->pc);
	free(sp);
	*service_monitor_slot(svc) = NULL;
}

/* --- the tick -------------------------------------------------------------------------------- */

static void rate_base_keep(struct rate_base *b, const struct probe_cgroup_sample *s)
{
	const struct probe_psi *psi[PRESSURE_NR] = { &s->psi_memory, &s->psi_cpu, &s->psi_io };

	b->when_usec = s->when_usec;
	b->cpu = s->cpu;
	b->io = s->io;
	b->refault_anon = s->memory.stat.workingset_refault_anon;
	b->refault_file = s->memory.stat.workingset_refault_file;
	for (int r = 0; r < PRESSURE_NR; r++) {
		b->psi_total[r][0] = psi[r]->some.total_usec;
		b->psi_total[r][1] = psi[r]->full.total_usec;
	}
}

/* The sample probe_cgroup_rates sees: what the base kept, every other field unknown. */
static void rate_base_sample(const struct rate_base *b, struct probe_cgroup_sample *s)
{
	struct probe_psi *psi[PRESSURE_NR] = { &s->psi_memory, &s->psi_cpu, &s->psi_io };

	memset(s, 0xff, sizeof(*s)); /* PROBE_UNKNOWN */
	s->when_usec = b->when_usec;
	s->cpu = b->cpu;
	s->io = b->io;
	s->memory.stat.workingset_refault_anon = b->refault_anon;
	s->memory.stat.workingset_refault_file = b->refault_file;
	for (int r = 0; r < PRESSURE_NR; r++) {
		psi[r]->some.total_usec = b->psi_total[r][0];
		psi[r]->full.total_usec = b->psi_total[r][1];
	}
}

/* Sample some groups and fold them into the merged view; rates from the right pairs. */
static void sample_service(struct svc_probe *sp, unsigned groups)
{
	struct probe_cgroup_sample s;

	if (probe_cgroup_sample_groups(sp->pc, groups, &s) < 0)
		return;
	if (groups == PROBE_G_ALL || !sp->have_cur) {
		if (sp->have_full_prev) {
			struct probe_cgroup_sample prev;
			rate_base_sample(&sp->full_prev, &prev);
			probe_cgroup_rates(&prev, &s, &sp->rates);
			sp->have_rates = true;
		}
		rate_base_keep(&sp->full_prev, &s);
		sp->have_full_prev = true;
		sp->cur = s;
	} else {
		sp->cur.when_usec = s.when_usec;
		if (groups & PROBE_G_MEMORY) {
			sp->cur.memory.current = s.memory.current;
			if (s.memory.swap_current != PROBE_UNKNOWN)
				sp->cur.memory.swap_current = s.memory.swap_current;
		}
		if (groups & PROBE_G_CPU) {
			sp->cur.cpu.usage_usec = s.cpu.usage_usec;
			sp->cur.cpu.nr_periods = s.cpu.nr_periods;
			sp->cur.cpu.nr_throttled = s.cpu.nr_throttled;
			sp->cur.cpu.throttled_usec = s.cpu.throttled_usec;
		}
		if (groups & PROBE_G_PIDS)
			sp->cur.pids = s.pids;
		if (groups & PROBE_G_PSI) {
			sp->cur.psi_memory = s.psi_memory;
			sp->cur.psi_cpu = s.psi_cpu;
			sp->cur.psi_io = s.psi_io;
		}
	}
	sp->have_cur = true;
	/* CPU rates every tick, from the last two CPU readings. */
	if (sp->cpu_prev_usec && s.cpu.usage_usec != PROBE_UNKNOWN) {
		uint64_t dt = s.when_usec - sp->cpu_prev_usec;
		sp->rates.cpu_percent =
		    probe_cpu_percent(sp->cpu_prev.usage_usec, s.cpu.usage_usec, dt);
		sp->rates.throttled_percent =
		    probe_cpu_percent(sp->cpu_prev.throttled_usec, s.cpu.throttled_usec, dt);
		sp->have_rates = true;
	}
	if (s.cpu.usage_usec != PROBE_UNKNOWN) {
		sp->cpu_prev = s.cpu;
		sp->cpu_prev_usec = s.when_usec;
	}
}

/* Sample one service in this round; opens its sampler first if it has none yet. */
static void round_service(struct monitor *m, struct svc_probe *sp, uint64_t now)
{
	if (!sp->sampler_tried && m->round_opens < SAMPLER_OPENS_PER_TICK) {
		open_sampler(m, sp);
		m->round_opens++;
	}
	if (sp->pc && m->tick - 1 >= sp->next_tick) {
		uint64_t cpu = sp->cur.cpu.usage_usec, mem = sp->cur.memory.current;
		bool had = sp->have_cur;
		sample_service(sp, had && !m->round_full ? m->round_groups : PROBE_G_ALL);
		/*
		 * A service whose CPU time and memory did not move is idle:
		 * back off (2, 4, 8 ticks); any change brings it back to
		 * every tick. 1000 sleeping services cost a fraction of
		 * 1000 busy ones.
		 */
		bool idle = had && sp->cur.cpu.usage_usec == cpu && sp->cur.memory.current == mem;
		sp->backoff =
		    idle ? (sp->backoff ? (sp->backoff < 8 ? sp->backoff * 2 : 8) : 2) : 1;
		sp->next_tick = m->tick - 1 + sp->backoff;
	}
	psi_check_clear(sp, now);
}

/* The round's end: the host, then the policy, which sees the whole round. */
static void round_end(struct monitor *m, uint64_t now)
{
	if (m->host) {
		if (m->host_cur.when_usec) {
			m->host_prev = m->host_cur;
			m->host_have_prev = true;
		}
		if (probe_host_sample(m->host, &m->host_cur) == 0 && m->host_have_prev)
			probe_host_rates(&m->host_prev, &m->host_cur, &m->host_rates);
	}
	if (m->host_psi_active && now - m->host_psi_last_ms > 2 * HOST_PSI_WINDOW_US / 1000) {
		m->host_psi_active = false;
		struct json_object *d = json_object_new_object();
		json_object_object_add(d, "resource", json_object_new_string("memory"));
		json_object_object_add(d, "state", json_object_new_string("cleared"));
		eventlog_emit(m->d->events, NULL, "host-pressure", d);
	}
	m->ops->tick(m->ops_arg);
}

/*
 * One slice of the round: services from round_next on, until the slice
 * has taken ROUND_SLICE_USEC; then the loop serves what waits (requests,
 * events, exits) before the next slice, armed as a zero timeout so that
 * it comes after the loop has polled.
 */
static void on_slice(evutil_socket_t fd, short what, void *arg)
{
	struct monitor *m = arg;
	uint64_t t0 = now_us(), now = t0 / 1000;
	unsigned n = 0;

	(void)fd;
	(void)what;
	while (m->round_next < m->d->nservices) {
		struct svc_probe *sp = probe_of(m->d->services[m->round_next++]);
		if (sp)
			round_service(m, sp, now);
		if (++n % ROUND_CHECK_EVERY == 0 && now_us() - t0 >= ROUND_SLICE_USEC)
			break;
	}
	if (m->round_next >= m->d->nservices) {
		round_end(m, now);
		m->round_busy = false;
	}
	m->round_usec += now_us() - t0;
	if (m->round_busy) {
		struct timeval zero = { 0, 0 };
		evtimer_add(m->ev_slice, &zero);
	} else {
		m->last_tick_usec = m->round_usec;
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct monitor *m = arg;

	/* A round still under way (a loaded host, a short interval): this tick is skipped. */
	if (m->round_busy)
		return;
	/*
	 * Cadence, for 1000 services at 1 s within 1% of a core (cgroupfs reads
	 * cost 1-6 us each here, all of it in the kernel): memory and CPU every
	 * tick, pids and PSI averages every 5th, everything else (memory.stat,
	 * events, io, peak) every 10th. Pressure and OOM events do not wait for
	 * this: they come from triggers and OOM event fds.
	 */
	m->round_groups = PROBE_G_MEMORY | PROBE_G_CPU;
	m->round_full = m->tick % 10 == 0;
	if (m->tick % 5 == 0)
		m->round_groups |= PROBE_G_PIDS | PROBE_G_PSI;
	m->tick++;
	m->round_opens = 0;
	m->round_next = 0;
	m->round_usec = 0;
	m->round_busy = true;
	on_slice(fd, what, m);
}

/* The manager's watch hook: a service's cgroup is live, or about to go. */
static void watch_hook(void *arg, struct service *svc, bool live)
{
	if (live)
		monitor_service_started(arg, svc);
	else
		monitor_service_stopped(arg, svc);
}

int monitor_open(struct manager *d, const struct monitor_ops *ops, void *ops_arg,
		 struct monitor **out)
{
	struct monitor *m = xcalloc(1, sizeof(*m));
	int r;

	m->d = d;
	m->ops = ops;
	m->ops_arg = ops_arg;
	m->host_psi.trigger_fd = m->host_psi.epoll_fd = -1;
	if ((r = probe_host_open(NULL, &m->host)) < 0)
		log_warnx("cannot sample the host: %s", strerror(-r));
	m->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->inotify_fd < 0)
		log_warn("inotify: OOM events on cgroup v2 will not be seen");
	else {
		m->ev_inotify =
		    event_new(d->base, m->inotify_fd, EV_READ | EV_PERSIST, on_inotify, m);
		event_add(m->ev_inotify, NULL);
	}
	uint64_t eff = 0;
	r = probe_psi_watch_open("/proc/pressure/memory", false,
				 HOST_PSI_WINDOW_US * HOST_PSI_PERMILLE / 1000, HOST_PSI_WINDOW_US,
				 &eff, &m->host_psi);
	if (r < 0) {
		log_warnx("no host memory pressure trigger: %s", strerror(-r));
	} else {
		m->ev_host_psi =
		    event_new(d->base, m->host_psi.epoll_fd, EV_READ | EV_PERSIST, on_host_psi, m);
		event_add(m->ev_host_psi, NULL);
	}
	manager_set_watch(d, watch_hook, m);
	*out = m;
	return 0;
}

void monitor_start(struct monitor *m)
{
	uint64_t ms = m->d->cfg->probe_interval_ms ? m->d->cfg->probe_interval_ms : 1000;
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	m->ev_tick = event_new(m->d->base, -1, EV_PERSIST, on_tick, m);
	m->ev_slice = evtimer_new(m->d->base, on_slice, m);
	event_add(m->ev_tick, &tv);
	on_tick(-1, 0, m);
}

struct monitor *monitor_free(struct monitor *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->d->nservices; i++)
		monitor_service_stopped(m, m->d->services[i]);
	if (m->ev_tick)
		event_free(m->ev_tick);
	if (m->ev_slice)
		event_free(m->ev_slice);
	if (m->ev_inotify)
		event_free(m->ev_inotify);
	if (m->ev_host_psi)
		event_free(m->ev_host_psi);
	probe_psi_watch_close(&m->host_psi);
	if (m->inotify_fd >= 0)
		close(m->inotify_fd);
	probe_host_free(m->host);
	manager_set_watch(m->d, NULL, NULL);
	free(m);
	return NULL;
}

const struct probe_cgroup_sample *monitor_sample(const struct service *svc)
{
	struct svc_probe *sp = probe_of(svc);
	return sp && sp->have_cur ? &sp->cur : NULL;
}

const struct probe_cgroup_rates *monitor_rates(const struct service *svc)
{
	struct svc_probe *sp = probe_of(svc);
	return sp && sp->have_rates ? &sp->rates : NULL;
}

int monitor_pressure_active(const struct service *svc, int resource)
{
	struct svc_probe *sp = probe_of(svc);
	return sp && sp->psi && resource >= 0 && resource < PRESSURE_NR && sp->psi[resource].active;
}

const struct probe_host_sample *monitor_host_sample(const struct monitor *m)
{
	return m && m->host_cur.when_usec ? &m->host_cur : NULL;
}

const struct probe_host_rates *monitor_host_rates(const struct monitor *m)
{
	return m && m->host_have_prev ? &m->host_rates : NULL;
}

uint64_t monitor_last_tick_usec(const struct monitor *m)
{
	return m ? m->last_tick_usec : 0;
}
