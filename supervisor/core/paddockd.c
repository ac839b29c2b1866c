/*
 * paddockd.c - the daemon's main: options, configuration, cgroup setup,
 * the wiring of its modules, the event loop and signals. The service
 * table and its order live in manager.c, services in service.c, the
 * control socket in control.c.
 */
#include <event2/event.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>

#include "cgroup.h"
#include "control.h"
#include "daemon-image.h"
#include "events.h"
#include "harden.h"
#include "image.h"
#include "launch.h"
#include "log.h"
#include "looplag.h"
#include "timers.h"
#include "manager.h"
#include "metrics.h"
#include "api.h"
#include "dashboard.h"
#include "fleet.h"
#include "history.h"
#include "monitor.h"
#include "rebalance-glue.h"
#include "notify.h"
#include "network.h"
#include "persist.h"
#include "placer.h"
#include "policy.h"
#include "service.h"
#include "util.h"

#define DEFAULT_CONFIG "/etc/paddock/paddock.yaml"

struct options {
	bool foreground, check;
	int verbose;
	const char *config, *services_dir, *state_dir, *runtime_dir, *cgroup_root;
	char **profiles; /* --profile, in order; NULL-terminated, argv's strings */
	size_t nprofiles;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: paddockd [-fnv] [-c FILE] [-S SERVICES_DIR] [--state-dir DIR]\n"
	    "                [--runtime-dir DIR] [--cgroup-root PATH] [--profile NAME]...\n"
	    "\n"
	    "  -f, --foreground      stay in the foreground, log to stderr\n"
	    "  -n, --check           check configuration and specs, then exit\n"
	    "  -c, --config FILE     daemon configuration (default " DEFAULT_CONFIG ")\n"
	    "  -S, --services DIR    directory of *.yaml service specs\n"
	    "      --state-dir DIR   logs and state (default /var/lib/paddock)\n"
	    "      --runtime-dir DIR control socket (default /run/paddock)\n"
	    "      --cgroup-root P   cgroup root, relative to paddockd's own cgroup or absolute\n"
	    "  -p, --profile NAME    activate a profile (repeatable; adds to the config's)\n"
	    "  -v, --verbose         more logging (repeat for more)\n"
	    "  -V, --version         print the version\n"
	    "  -h, --help            this text\n");
}

/* v (n strings, NULL-terminated) with room for one more, zeroed. */
static char **strv_grow(char **v, size_t n)
{
	v = realloc(v, (n + 2) * sizeof(*v));
	if (!v)
		abort(); /* at startup: nothing to save */
	v[n] = v[n + 1] = NULL;
	return v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_STATE = 256, OPT_RUNTIME, OPT_CGROUP_ROOT };
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' },
		{ "services", required_argument, NULL, 'S' },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME },
		{ "cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT },
		{ "profile", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "fnc:S:p:vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'n':
			o->check = true;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'S':
			o->services_dir = optarg;
			break;
		case OPT_STATE:
			o->state_dir = optarg;
			break;
		case OPT_RUNTIME:
			o->runtime_dir = optarg;
			break;
		case OPT_CGROUP_ROOT:
			o->cgroup_root = optarg;
			break;
		case 'p':
			if (!config_valid_name(optarg)) {
				fprintf(stderr,
					"paddockd: invalid profile name '%s' (expected "
					"[a-z0-9][a-z0-9_-]*, at most 63 characters)\n",
					optarg);
				exit(2);
			}
			o->profiles = strv_grow(o->profiles, o->nprofiles);
			o->profiles[o->nprofiles++] = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'V':
			printf("paddockd %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

static void override(char **field, const char *value)
{
	if (value) {
		free(*field);
		*field = xstrdup(value);
	}
}

/* --profile adds to the config's 'profiles', each name once. */
static void add_profiles(struct daemon_config *cfg, const struct options *o)
{
	for (size_t i = 0; i < o->nprofiles; i++) {
		bool known = false;

		for (size_t k = 0; k < cfg->nprofiles && !known; k++)
			known = strcmp(cfg->profiles[k], o->profiles[i]) == 0;
		if (known)
			continue;
		cfg->profiles = strv_grow(cfg->profiles, cfg->nprofiles);
		cfg->profiles[cfg->nprofiles++] = xstrdup(o->profiles[i]);
	}
	for (size_t i = 0; i < cfg->nprofiles; i++)
		log_info("profile %s: active", cfg->profiles[i]);
}

/* Load the daemon config and the specs; prints every error. 0 or -1. */
static int load_configuration(struct manager *d, const struct options *o)
{
	struct config_errors errs = { 0 };
	const char *path = o->config;
	int r;

	if (!path && access(DEFAULT_CONFIG, F_OK) == 0)
		path = DEFAULT_CONFIG;
	if (path)
		r = config_load_daemon(path, &d->host, &d->cfg, &errs);
	else
		r = (d->cfg = daemon_config_new_defaults()) ? 0 : -ENOMEM;
	if (r < 0) {
		config_errors_print(stderr, &errs);
		config_errors_clear(&errs);
		return -1;
	}
	override(&d->cfg->services_dir, o->services_dir);
	override(&d->cfg->state_dir, o->state_dir);
	override(&d->cfg->runtime_dir, o->runtime_dir);
	override(&d->cfg->cgroup_root, o->cgroup_root);
	add_profiles(d->cfg, o);

	r = config_load_specs(d->cfg->services_dir, &d->host, &d->specs, &errs);
	if (r >= 0 && ((r = harden_check_specs(d->specs, &errs)) < 0 || /* seccomp profiles */
		       (r = config_check_networks(d->specs, d->cfg, &errs)) < 0))
		d->specs = spec_set_free(d->specs);
	if (r < 0) {
		config_errors_print(stderr, &errs);
		config_errors_clear(&errs);
		return -1;
	}
	return 0;
}

/* --- signals ------------------------------------------------------------------------------ */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct manager *d = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		manager_shutdown(d, sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	case SIGHUP: {
		struct config_errors errs = { 0 };
		if (manager_reload(d, &errs, NULL) < 0) {
			log_warnx("SIGHUP: reload refused, nothing changed:");
			for (size_t i = 0; i < errs.n; i++)
				log_warnx("  %s:%d:%d: %s", errs.diags[i].file, errs.diags[i].line,
					  errs.diags[i].column, errs.diags[i].message);
			config_errors_clear(&errs);
		}
		break;
	}
	case SIGCHLD:
		/*
		 * We are a subreaper: orphans of services land here. Peek
		 * without reaping so a service's main process is reaped by its
		 * own handler (which needs the status), and reap anything else.
		 */
		for (;;) {
			siginfo_t si = { 0 };
			if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
			    si.si_pid == 0)
				break;
			struct service *owner = manager_find_pid(d, si.si_pid);
			if (owner) {
				if (!service_reap(owner))
					break;
			} else {
				(void)waitpid(si.si_pid, NULL, WNOHANG);
			}
		}
		break;
	}
}

/* sd_notify to our own manager: what is given plus STATUS= with counts by state. */
static void notify_manager(struct manager *d, const char *what)
{
	size_t n[SVC_NSTATES] = { 0 };

	for (size_t i = 0; i < d->nservices; i++)
		n[service_state(d->services[i])]++;
	(void)sd_notifyf(0,
			 "%s\nSTATUS=%zu services: %zu running, %zu failed, %zu starting, "
			 "%zu waiting",
			 what, d->nservices, n[SVC_RUNNING], n[SVC_FAILED], n[SVC_STARTING],
			 n[SVC_WAITING]);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	notify_manager(arg, "WATCHDOG=1");
}

/* --- main ---------------------------------------------------------------------------------- */

static int prepare_dirs(struct manager *d)
{
	int r;

	if ((r = mkdir_p(d->cfg->state_dir, 0700)) < 0) {
		log_warnx("cannot create state dir %s: %s", d->cfg->state_dir, strerror(-r));
		return r;
	}
	xasprintf(&d->logs_dir, "%s/logs", d->cfg->state_dir);
	if ((r = mkdir_p(d->logs_dir, 0750)) < 0) {
		log_warnx("cannot create %s: %s", d->logs_dir, strerror(-r));
		return r;
	}
	if ((r = mkdir_p(d->cfg->runtime_dir, 0755)) < 0) {
		log_warnx("cannot create runtime dir %s: %s", d->cfg->runtime_dir, strerror(-r));
		return r;
	}
	return 0;
}

/* paddockd -n: what would run, on which cgroup layout; 0 or 1. Frees what it was given. */
static int check_only(struct manager *d, int detected)
{
	int api = api_check(d);

	printf("%zu services in %s\n", d->specs->nservices, d->cfg->services_dir);
	if (api < 0)
		printf("api: cannot serve as configured (see above)\n");
	if (detected < 0) {
		printf("cgroups: cannot detect: %s\n", strerror(-detected));
	} else {
		printf("cgroups: %s\n", cgroup_host_describe(d->cgroups));
		printf("rebalance: mode %s\n", rebalancer_mode_name(d->cfg->rebalance.mode));
		rebalancer_print_budget(d, stdout);
		if (rebalancer_degrade_note(cgroup_host_mode(d->cgroups)))
			printf("%s\n", rebalancer_degrade_note(cgroup_host_mode(d->cgroups)));
		if (api == 0)
			printf("configuration OK\n");
	}
	d->cgroups = cgroup_host_free(d->cgroups);
	d->specs = spec_set_free(d->specs);
	d->cfg = daemon_config_free(d->cfg);
	return detected < 0 || api < 0 ? 1 : 0;
}

/*
 * One paddockd per cgroup root: another live one's services are not
 * orphans of ours. Refuse before anything is created, swept or started.
 */
static void lock_cgroup_root(struct manager *d)
{
	static struct cgroup_lock_conflict c;
	char owner[PATH_MAX + 64], dir[PATH_MAX];
	int r = cgroup_host_lock(d->cgroups, &c);

	if (r == -EBUSY) {
		if (c.pid <= 0 || persist_owner_state_dir(c.pid, dir, sizeof(dir)) < 0)
			snprintf(dir, sizeof(dir), "unknown");
		snprintf(owner, sizeof(owner), "another paddockd (pid %d, state dir %s)",
			 (int)c.pid, dir);
		if (c.kind == CGROUP_LOCK_INSIDE)
			fatalx("cgroup root %s is inside %s, the root of %s; refusing to start",
			       c.root, c.path, owner);
		if (c.kind == CGROUP_LOCK_CONTAINS)
			fatalx("cgroup root %s contains the root of %s; refusing to start", c.root,
			       owner);
		fatalx("cgroup root %s is owned by %s; refusing to start", c.root, owner);
	}
	if (r < 0)
		fatalx("cannot lock cgroup root %s: %s", c.root ? c.root : "", strerror(-r));
}

/* Detach (unless foreground or re-executed), become the subreaper, raise the fd limit. */
static void become_daemon(struct manager *d, const struct options *o)
{
	/* A re-exec keeps the pid (systemd's MAINPID, pidfiles): no second fork. */
	bool reexec = getenv("PADDOCK_REEXEC") != NULL;
	unsetenv("PADDOCK_REEXEC");
	if (!o->foreground && !reexec && daemon(0, 0) < 0)
		fatal("daemon");
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/*
	 * Each service holds a few fds (pidfd, output pipes, init status):
	 * a thousand services need more than the usual soft limit of 1024.
	 * Services get the original limit back before exec.
	 */
	if (getrlimit(RLIMIT_NOFILE, &d->nofile) == 0 && d->nofile.rlim_cur < d->nofile.rlim_max) {
		struct rlimit raised = { d->nofile.rlim_max, d->nofile.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &raised) < 0)
			log_warn("cannot raise the open files limit");
	}
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)now_us() ^ (unsigned)getpid());
}

/* The modules above the manager: main wires them by hand, nothing below knows them. */
struct modules {
	struct persist *persist;
	struct policy *policy;
	struct monitor *monitor;
	struct rebalancer *rb;
	struct control *control;
	struct notify *notify;
	struct looplag *lag;
	struct metrics *metrics;
	struct history *history;
	struct dashboard *dashboard;
	struct api *api;
	struct fleet *fleet;
	struct event *ev_watchdog;
	struct timers *timers;
};

/*
 * How many cgroups to keep placed ahead (placer.h): 2 covers a start while
 * the last one's slot refills; PADDOCK_CGROUP_SLOTS=0 turns them off (the
 * start-latency benchmark compares both).
 */
static unsigned cgroup_slots(void)
{
	const char *v = getenv("PADDOCK_CGROUP_SLOTS");
	char *end;
	unsigned long n;

	if (!v || !*v)
		return 2;
	n = strtoul(v, &end, 10);
	if (*end || n > 16) {
		log_warnx("PADDOCK_CGROUP_SLOTS=%s: not 0..16; using 2", v);
		return 2;
	}
	return (unsigned)n;
}

static void wire(struct manager *d, struct modules *x)
{
	int r;

	x->policy = policy_new(d);
	(void)monitor_open(d, &policy_monitor_ops, x->policy, &x->monitor);
	x->rb = rebalancer_new(d, x->monitor);
	policy_set_rebalancer(x->policy, x->rb);
	persist_set_rebalancer(x->persist, x->rb);
	if ((r = control_open(d, x->persist, x->rb, &x->control)) < 0)
		fatalx("cannot open control socket in %s: %s", d->cfg->runtime_dir, strerror(-r));
	if ((r = notify_open(d->base, d->cfg->runtime_dir, d->events, &manager_notify_ops, d,
			     &x->notify)) < 0)
		log_warnx("cannot open the services' notify socket in %s: %s; ready: notify "
			  "services will not become ready",
			  d->cfg->runtime_dir, strerror(-r));
	monitor_start(x->monitor);
	if (!(x->lag = looplag_new(d->base, LOOPLAG_INTERVAL_MS)))
		log_warn("cannot start the loop-lag probe");
	if ((r = metrics_open(d, x->monitor, x->notify, x->rb, x->lag, &x->metrics)) < 0)
		fatalx("cannot listen for metrics on %s: %s", d->cfg->metrics_listen, strerror(-r));
	if (d->cfg->api.listen) {
		x->history = history_new(d);
		x->dashboard = dashboard_new(d, x->control, x->history, x->rb);
		if ((r = api_open(d, x->control, x->history, x->dashboard, &x->api)) < 0)
			fatalx("cannot serve the API on %s: %s", d->cfg->api.listen, strerror(-r));
	}
	if ((r = fleet_open(d, &x->fleet)) < 0)
		fatalx("cannot join the fleet: %s", strerror(-r));
	fleet_attach_control(x->fleet, x->control);
}

static void unwire(struct modules *x)
{
	if (x->ev_watchdog)
		event_free(x->ev_watchdog);
	x->fleet = fleet_free(x->fleet);
	x->api = api_free(x->api);
	x->dashboard = dashboard_free(x->dashboard);
	x->history = history_free(x->history);
	x->control = control_free(x->control);
	x->metrics = metrics_free(x->metrics);
	x->lag = looplag_free(x->lag);
	x->monitor = monitor_free(x->monitor);
	persist_set_rebalancer(x->persist, NULL);
	x->rb = rebalancer_free(x->rb);
	x->policy = policy_free(x->policy);
}

/* Under systemd with WatchdogSec=: ping at half the interval, with counts. */
static struct event *start_watchdog(struct manager *d)
{
	uint64_t usec = 0;
	struct event *ev;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return NULL;
	struct timeval tv = { .tv_sec = (time_t)(usec / 2 / 1000000),
			      .tv_usec = (suseconds_t)(usec / 2 % 1000000) };
	ev = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
	event_add(ev, &tv);
	return ev;
}

int main(int argc, char **argv)
{
	static struct manager manager; /* zeroed; lives as long as the process */
	struct manager *d = &manager;
	static struct launch_slots slots;
	struct modules x = { 0 };
	struct options o = { 0 };
	struct event *sigev[4];
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	int r;

	parse_options(argc, argv, &o);
	if (!o.check) {
		if ((r = launch_reserve_slots(&slots)) < 0)
			fatalx("cannot reserve fd slots: %s", strerror(-r));
		d->env.slots = &slots;
	}
	log_init(o.foreground || o.check, o.verbose);
	if (config_host_detect(&d->host) < 0)
		d->host.mem_total = 0;
	if (load_configuration(d, &o) < 0) {
		if (o.check)
			return 1;
		fatalx("configuration invalid; nothing started");
	}
	r = cgroup_host_detect(d->cfg->cgroup_root, &d->cgroups);
	if (o.check)
		return check_only(d, r);
	if (r < 0)
		fatalx("cannot detect the cgroup layout: %s", strerror(-r));
	if (geteuid() != 0)
		fatalx("paddockd must run as root");
	if (prepare_dirs(d) < 0)
		return 1;
	x.persist = persist_new(d, argv);
	if ((r = persist_lock(x.persist)) < 0)
		fatalx("%s: %s", d->cfg->state_dir,
		       r == -EBUSY ? "another paddockd is running with this state dir"
				   : strerror(-r));
	persist_inherit_cgroup_locks(d->cgroups);
	lock_cgroup_root(d);
	d->instance = (uint64_t)time(NULL) * 1000000 + now_us() % 1000000;
	struct error ierr = { 0 };
	struct image_limits ilim = daemon_image_limits(d->cfg);
	if (!(d->images = image_store_open(d->cfg->state_dir, &ilim, &ierr)))
		fatalx("image store in %s: %s", d->cfg->state_dir, ierr.msg);
	if ((r = cgroup_host_setup(d->cgroups)) < 0)
		fatalx("cannot prepare cgroup root: %s", strerror(-r));
	log_info("cgroups: %s", cgroup_host_describe(d->cgroups));
	become_daemon(d, &o);

	d->base = event_base_new();
	if (!d->base)
		fatalx("cannot create event base");
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		sigev[i] = evsignal_new(d->base, sigs[i], on_signal, d);
		event_add(sigev[i], NULL);
	}
	d->events = eventlog_open(d->cfg->state_dir, d->cfg->log.max_size, d->cfg->log.keep);
	struct json_object *ev = json_object_new_object();
	json_object_object_add(ev, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(ev, "cgroups",
			       json_object_new_string(cgroup_host_describe(d->cgroups)));
	eventlog_emit(d->events, NULL, "daemon-start", ev);
	wire(d, &x);
	manager_init(d);
	d->env.placer = placer_new(d->cgroups, d->base, cgroup_slots());
	d->env.net = netmgr_new(d->base, d->cfg, d->cfg->runtime_dir);
	netmgr_reserve(d->env.net, d->specs);
	d->env.journald = access("/run/systemd/journal/socket", W_OK) == 0;
	if (x.notify) {
		d->env.notify_dir = notify_dir(x.notify);
		d->env.notify_socket = notify_socket_path(x.notify);
	}
	/* What an earlier paddockd left running is taken over, not started again. */
	bool *adopted = xcalloc(SPEC_MAX_SERVICES + 1, sizeof(bool));
	(void)persist_adopt(x.persist, adopted);
	manager_start_all(d, adopted);
	free(adopted);
	/* After adoption: a persistent timer's catch-up run sees what still runs. */
	if (!(x.timers = timers_new(d)))
		fatalx("cannot set up timers: out of memory");
	control_set_timers(x.control, x.timers);
	log_info("paddockd %s ready: %zu services", PACKAGE_VERSION, d->nservices);
	notify_manager(d, "READY=1");
	x.ev_watchdog = start_watchdog(d);

	event_base_dispatch(d->base);

	log_info("shutting down");
	eventlog_emit(d->events, NULL, "daemon-stop", NULL);
	/*
	 * With every service stopped the runtime dir is left empty; with some
	 * left running (stop timeout), the holder's socket and the notify
	 * directory stay for them and the next daemon.
	 */
	bool all_stopped = manager_all_settled(d);
	/* Fleet instances stopped: other nodes may take them over now, not after the TTL. */
	fleet_leave(x.fleet);
	persist_shutdown(x.persist, all_stopped);
	control_set_timers(x.control, NULL);
	unwire(&x);
	x.timers = timers_free(x.timers);
	manager_done(d);
	/* Bridges and rules stay for services left running, and for a re-exec. */
	netmgr_free(d->env.net, all_stopped);
	d->env.net = NULL;
	d->env.placer = placer_free(d->env.placer);
	if (all_stopped)
		notify_remove(x.notify);
	x.notify = notify_free(x.notify);
	x.persist = persist_free(x.persist);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		event_free(sigev[i]);
	d->events = eventlog_free(d->events);
	cgroup_host_teardown(d->cgroups);
	d->cgroups = cgroup_host_free(d->cgroups);
	event_base_free(d->base);
	d->images = image_store_free(d->images);
	d->cfg = daemon_config_free(d->cfg);
	free(d->logs_dir);
	free(o.profiles);
	return 0;
}
