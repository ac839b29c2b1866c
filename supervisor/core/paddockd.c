/*
 * paddockd.c - the daemon: options, configuration, cgroup setup, the
 * event loop, signals and orderly shutdown. Services live in service.c,
 * the control socket in control.c.
 */
#include <event2/event.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>

#include "cgroup.h"
#include "control.h"
#include "events.h"
#include "harden.h"
#include "image.h"
#include "launch.h"
#include "log.h"
#include "looplag.h"
#include "metrics.h"
#include "monitor.h"
#include "rebalance-glue.h"
#include "logstore.h"
#include "notify.h"
#include "persist.h"
#include "service.h"
#include "util.h"

#define DEFAULT_CONFIG "/etc/paddock/paddock.yaml"
#define SHUTDOWN_GRACE_MS 5000 /* on top of the longest stop timeout */

static struct daemon daemon_state;

struct options {
	bool foreground, check;
	int verbose;
	const char *config, *services_dir, *state_dir, *runtime_dir, *cgroup_root;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: paddockd [-fnv] [-c FILE] [-S SERVICES_DIR] [--state-dir DIR]\n"
	    "                [--runtime-dir DIR] [--cgroup-root PATH]\n"
	    "\n"
	    "  -f, --foreground      stay in the foreground, log to stderr\n"
	    "  -n, --check           check configuration and specs, then exit\n"
	    "  -c, --config FILE     daemon configuration (default " DEFAULT_CONFIG ")\n"
	    "  -S, --services DIR    directory of *.yaml service specs\n"
	    "      --state-dir DIR   logs and state (default /var/lib/paddock)\n"
	    "      --runtime-dir DIR control socket (default /run/paddock)\n"
	    "      --cgroup-root P   cgroup root, relative to paddockd's own cgroup or absolute\n"
	    "  -v, --verbose         more logging (repeat for more)\n"
	    "  -V, --version         print the version\n"
	    "  -h, --help            this text\n");
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
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "fnc:S:vVh", longopts, NULL)) != -1) {
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

/* Load the daemon config and the specs; prints every error. 0 or -1. */
static int load_configuration(struct daemon *d, const struct options *o)
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

	r = config_load_specs(d->cfg->services_dir, &d->host, &d->specs, &errs);
	if (r >= 0 && (r = harden_check_specs(d->specs, &errs)) < 0) /* seccomp profiles */
		d->specs = spec_set_free(d->specs);
	if (r < 0) {
		config_errors_print(stderr, &errs);
		config_errors_clear(&errs);
		return -1;
	}
	return 0;
}

/* --- services table ------------------------------------------------------------------- */

struct service *daemon_find_service(struct daemon *d, const char *name)
{
	size_t lo = 0, hi = d->nservices;

	while (lo < hi) { /* sorted by name: O(log n) */
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, service_name(d->services[mid]));
		if (c == 0)
			return d->services[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Insert a new service for spec, keeping the table sorted by name. */
static struct service *insert_service(struct daemon *d, const struct service_spec *spec)
{
	size_t pos = 0;

	while (pos < d->nservices && strcmp(service_name(d->services[pos]), spec->name) < 0)
		pos++;
	struct service **n = realloc(d->services, (d->nservices + 1) * sizeof(*n));
	if (!n)
		abort(); /* the daemon cannot go on without memory */
	d->services = n;
	memmove(&n[pos + 1], &n[pos], (d->nservices - pos) * sizeof(*n));
	n[pos] = service_new(d, spec);
	d->nservices++;
	return n[pos];
}

int daemon_add_service(struct daemon *d, struct spec_set *set, bool rm, struct service **out)
{
	if (set->nservices != 1)
		return -EINVAL;
	if (daemon_find_service(d, set->services[0]->name))
		return -EEXIST;
	if (d->nservices >= SPEC_MAX_SERVICES)
		return -ENOSPC;
	*out = insert_service(d, set->services[0]);
	service_own_specs(*out, set, rm);
	return 0;
}

/*
 * Free the spec sets earlier reloads replaced once no service points into
 * them: a service whose update was refused, one being removed, or a
 * readiness probe still running keeps its set. O(sets x services x specs).
 */
static void drop_retired(struct daemon *d)
{
	size_t k = 0;

	for (size_t r = 0; r < d->nretired; r++) {
		bool used = false;
		for (size_t i = 0; i < d->nservices && !used; i++)
			used = service_uses_specs(d->services[i], d->retired[r]);
		if (used)
			d->retired[k++] = d->retired[r];
		else
			spec_set_free(d->retired[r]);
	}
	d->nretired = k;
}

int daemon_reload(struct daemon *d, struct config_errors *errs, struct json_object **summary)
{
	struct spec_set *set = NULL;
	struct json_object *added = json_object_new_array(), *removed = json_object_new_array();
	struct json_object *updated = json_object_new_array(), *failed = json_object_new_array();
	char err[512];
	int r;

	if ((r = config_load_specs(d->cfg->services_dir, &d->host, &set, errs)) >= 0 &&
	    (r = harden_check_specs(set, errs)) < 0)
		set = spec_set_free(set); /* a broken seccomp profile refuses the reload */
	if (r < 0) {
		json_object_put(added), json_object_put(removed);
		json_object_put(updated), json_object_put(failed);
		return r; /* a set with any error changes nothing */
	}
	/* Gone from the files: stop, and drop once settled (transients stay). */
	for (size_t i = 0; i < d->nservices; i++) {
		struct service *svc = d->services[i];
		if (service_transient(svc) || spec_set_find(set, service_name(svc)))
			continue;
		json_object_array_add(removed, json_object_new_string(service_name(svc)));
		service_set_remove_when_settled(svc, true);
		(void)service_stop(svc);
	}
	for (size_t i = 0; i < set->nservices; i++) {
		const struct service_spec *spec = set->services[i];
		struct service *svc = daemon_find_service(d, spec->name);
		if (svc && service_transient(svc)) {
			json_object_array_add(failed, json_object_new_string(spec->name));
			continue; /* a transient holds the name until it goes */
		}
		if (!svc) {
			svc = insert_service(d, spec);
			json_object_array_add(added, json_object_new_string(spec->name));
			(void)service_start(svc);
			continue;
		}
		if (service_update_spec(svc, spec, err, sizeof(err)) < 0) {
			log_warnx("reload: service %s: %s", spec->name, err);
			json_object_array_add(failed, json_object_new_string(spec->name));
		} else {
			json_object_array_add(updated, json_object_new_string(spec->name));
		}
	}
	/* Services may still point into the old set: keep it until none does. */
	struct spec_set **n = realloc(d->retired, (d->nretired + 1) * sizeof(*n));
	if (!n)
		abort();
	d->retired = n;
	d->retired[d->nretired++] = d->specs;
	d->specs = set;
	drop_retired(d);
	log_info("reload: %zu added, %zu removed, %zu kept or updated",
		 json_object_array_length(added), json_object_array_length(removed),
		 json_object_array_length(updated));
	eventlog_emit(paddock_events, NULL, "reload", NULL);
	event_active(d->ev_sweep, EV_TIMEOUT, 0); /* removed services that were stopped already */
	if (summary) {
		*summary = json_object_new_object();
		json_object_object_add(*summary, "added", added);
		json_object_object_add(*summary, "removed", removed);
		json_object_object_add(*summary, "updated", updated);
		json_object_object_add(*summary, "failed", failed);
	} else {
		json_object_put(added), json_object_put(removed);
		json_object_put(updated), json_object_put(failed);
	}
	return 0;
}

/* Drop settled transient services marked --rm, with their logs. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	size_t k = 0;

	for (size_t i = 0; i < d->nservices; i++) {
		struct service *svc = d->services[i];
		if (service_remove_when_settled(svc) && service_settled(svc)) {
			log_info("service %s: removed", service_name(svc));
			if (service_transient(
				svc)) /* run --rm leaves nothing; a reload keeps logs */
				logstore_remove_files(service_logstore(svc));
			service_free(svc);
			continue;
		}
		d->services[k++] = svc;
	}
	d->nservices = k;
	drop_retired(d);
}

static bool all_settled(struct daemon *d)
{
	for (size_t i = 0; i < d->nservices; i++)
		if (!service_settled(d->services[i]))
			return false;
	return true;
}

void daemon_service_running(struct daemon *d)
{
	if (d->ev_deps)
		event_active(d->ev_deps, EV_TIMEOUT, 0);
}

/* Start services that waited for a dependency which runs now. O(n). */
static void on_deps(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->shutting_down)
		return;
	for (size_t i = 0; i < d->nservices; i++)
		if (service_state(d->services[i]) == SVC_WAITING &&
		    service_deps_ready(d->services[i]))
			(void)service_start(d->services[i]);
}

/* Does a service that has not settled depend on svc? O(n * deps). */
static bool has_live_dependents(struct daemon *d, struct service *svc)
{
	for (size_t i = 0; i < d->nservices; i++) {
		const struct service_spec *sp = service_spec(d->services[i]);
		if (service_settled(d->services[i]))
			continue;
		for (size_t k = 0; k < sp->ndepends_on; k++)
			if (strcmp(sp->depends_on[k], service_name(svc)) == 0)
				return true;
	}
	return false;
}

/* Shutdown: stop what nothing running depends on; the rest as dependents go. */
static void stop_in_order(struct daemon *d)
{
	for (size_t i = d->nservices; i-- > 0;) {
		struct service *svc = d->services[i];
		if (!service_settled(svc) && !has_live_dependents(d, svc))
			(void)service_stop(svc);
	}
}

void daemon_service_settled(struct daemon *d)
{
	if (d->shutting_down)
		stop_in_order(d);
	if (d->shutting_down && all_settled(d))
		event_base_loopexit(d->base, NULL);
	control_service_settled(d->control);
	/* Removal happens on the next loop turn, never inside a service's own callback. */
	if (d->ev_sweep)
		event_active(d->ev_sweep, EV_TIMEOUT, 0);
}

/* --- signals ------------------------------------------------------------------------------ */

static void on_shutdown_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	log_warnx("services still running after the shutdown deadline; exiting anyway");
	event_base_loopexit(d->base, NULL);
}

static void begin_shutdown(struct daemon *d, const char *why)
{
	uint64_t longest = 0;

	if (d->shutting_down)
		return;
	d->shutting_down = true;
	log_info("%s: stopping %zu services", why, d->nservices);
	(void)sd_notify(0, "STOPPING=1");
	/* Dependents first: a service stops once nothing running depends on it. */
	for (size_t i = 0; i < d->nservices; i++)
		if (service_spec(d->services[i])->stop.timeout_ms > longest)
			longest = service_spec(d->services[i])->stop.timeout_ms;
	stop_in_order(d);
	if (all_settled(d)) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	/* Each level of the dependency chain may take its stop timeout. */
	uint64_t ms = longest * (d->nservices > 4 ? 4 : d->nservices) + 1000 + SHUTDOWN_GRACE_MS;
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	event_base_once(d->base, -1, EV_TIMEOUT, on_shutdown_deadline, d, &tv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		begin_shutdown(d, sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	case SIGHUP: {
		struct config_errors errs = { 0 };
		if (daemon_reload(d, &errs, NULL) < 0) {
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
			struct service *owner = NULL;
			for (size_t i = 0; i < d->nservices && !owner; i++)
				if (service_main_pid(d->services[i]) == si.si_pid)
					owner = d->services[i];
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
static void notify_manager(struct daemon *d, const char *what)
{
	size_t n[SVC_WAITING + 1] = { 0 };

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

static int prepare_dirs(struct daemon *d)
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

int main(int argc, char **argv)
{
	struct daemon *d = &daemon_state;
	struct options o = { 0 };
	struct event *sigev[4];
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	int r;

	parse_options(argc, argv, &o);
	if (!o.check && launch_reserve_slots() < 0)
		fatal("cannot reserve fd slots");
	log_init(o.foreground || o.check, o.verbose);
	if (config_host_detect(&d->host) < 0)
		d->host.mem_total = 0;
	if (load_configuration(d, &o) < 0) {
		if (o.check)
			return 1;
		fatalx("configuration invalid; nothing started");
	}

	r = cgroup_host_detect(d->cfg->cgroup_root, &d->cgroups);
	if (o.check) {
		printf("%zu services in %s\n", d->specs->nservices, d->cfg->services_dir);
		if (r < 0) {
			printf("cgroups: cannot detect: %s\n", strerror(-r));
			d->specs = spec_set_free(d->specs);
			d->cfg = daemon_config_free(d->cfg);
			return 1;
		}
		printf("cgroups: %s\n", cgroup_host_describe(d->cgroups));
		printf("rebalance: mode %s\n",
		       d->cfg->rebalance.mode == REBALANCE_ENFORCE   ? "enforce"
		       : d->cfg->rebalance.mode == REBALANCE_OBSERVE ? "observe"
								     : "off");
		if (rebalancer_degrade_note(cgroup_host_mode(d->cgroups)))
			printf("%s\n", rebalancer_degrade_note(cgroup_host_mode(d->cgroups)));
		printf("configuration OK\n");
		d->cgroups = cgroup_host_free(d->cgroups);
		d->specs = spec_set_free(d->specs);
		d->cfg = daemon_config_free(d->cfg);
		return 0;
	}
	if (r < 0)
		fatalx("cannot detect the cgroup layout: %s", strerror(-r));
	if (geteuid() != 0)
		fatalx("paddockd must run as root");
	if (prepare_dirs(d) < 0)
		return 1;
	if ((r = persist_lock(d)) < 0)
		fatalx("%s: %s", d->cfg->state_dir,
		       r == -EBUSY ? "another paddockd is running with this state dir"
				   : strerror(-r));
	d->argv = argv;
	d->self_exe = realpath("/proc/self/exe", NULL);
	if (d->self_exe && strlen(d->self_exe) > 10 &&
	    strcmp(d->self_exe + strlen(d->self_exe) - 10, " (deleted)") == 0)
		d->self_exe[strlen(d->self_exe) - 10] =
		    '\0'; /* upgraded: the new file at the path */
	d->instance = (uint64_t)time(NULL) * 1000000 + now_us() % 1000000;
	struct image_error ierr = { { 0 } };
	struct image_limits ilim = { .max_json_bytes = d->cfg->images.max_json,
				     .max_layer_bytes = d->cfg->images.max_layer };
	if (!(d->images = image_store_open(d->cfg->state_dir, &ilim, &ierr)))
		fatalx("image store in %s: %s", d->cfg->state_dir, ierr.msg);
	if ((r = cgroup_host_setup(d->cgroups)) < 0)
		fatalx("cannot prepare cgroup root: %s", strerror(-r));
	log_info("cgroups: %s", cgroup_host_describe(d->cgroups));

	/* A re-exec keeps the pid (systemd's MAINPID, pidfiles): no second fork. */
	bool reexec = getenv("PADDOCK_REEXEC") != NULL;
	unsetenv("PADDOCK_REEXEC");
	if (!o.foreground && !reexec && daemon(0, 0) < 0)
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
	d->journald = access("/run/systemd/journal/socket", W_OK) == 0;

	d->base = event_base_new();
	if (!d->base)
		fatalx("cannot create event base");
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		sigev[i] = evsignal_new(d->base, sigs[i], on_signal, d);
		event_add(sigev[i], NULL);
	}
	d->ev_sweep = evtimer_new(d->base, on_sweep, d);
	d->ev_deps = evtimer_new(d->base, on_deps, d);
	paddock_events = eventlog_open(d->cfg->state_dir, d->cfg->log.max_size, d->cfg->log.keep);
	{
		struct json_object *ev = json_object_new_object();
		json_object_object_add(ev, "version", json_object_new_string(PACKAGE_VERSION));
		json_object_object_add(ev, "cgroups",
				       json_object_new_string(cgroup_host_describe(d->cgroups)));
		eventlog_emit(paddock_events, NULL, "daemon-start", ev);
	}
	if ((r = control_open(d, &d->control)) < 0)
		fatalx("cannot open control socket in %s: %s", d->cfg->runtime_dir, strerror(-r));

	if ((r = notify_open(d, &d->notify)) < 0)
		log_warnx("cannot open the services' notify socket in %s: %s; ready: notify "
			  "services will not become ready",
			  d->cfg->runtime_dir, strerror(-r));
	(void)monitor_open(d, &d->monitor);
	struct looplag *lag = looplag_new(d->base, LOOPLAG_INTERVAL_MS);
	if (!lag)
		log_warn("cannot start the loop-lag probe");
	struct metrics *metrics = NULL;
	if ((r = metrics_open(d, lag, &metrics)) < 0)
		fatalx("cannot listen for metrics on %s: %s", d->cfg->metrics_listen, strerror(-r));
	d->nservices = d->specs->nservices;
	d->services = xcalloc(d->nservices, sizeof(*d->services));
	for (size_t i = 0; i < d->nservices; i++)
		d->services[i] = service_new(d, d->specs->services[i]);
	/* What an earlier paddockd left running is taken over, not started again. */
	bool *adopted = xcalloc(SPEC_MAX_SERVICES + 1, sizeof(bool));
	(void)persist_adopt(d, adopted);
	for (size_t i = 0; i < d->nservices; i++)
		if (!adopted[i])
			(void)service_start(d->services[i]);
	free(adopted);
	log_info("paddockd %s ready: %zu services", PACKAGE_VERSION, d->nservices);
	notify_manager(d, "READY=1");
	/* Under systemd with WatchdogSec=: ping at half the interval, with counts. */
	uint64_t wd_usec = 0;
	struct event *ev_watchdog = NULL;
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		struct timeval tv = { .tv_sec = (time_t)(wd_usec / 2 / 1000000),
				      .tv_usec = (suseconds_t)(wd_usec / 2 % 1000000) };
		ev_watchdog = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
		event_add(ev_watchdog, &tv);
	}

	event_base_dispatch(d->base);

	if (ev_watchdog)
		event_free(ev_watchdog);
	log_info("shutting down");
	eventlog_emit(paddock_events, NULL, "daemon-stop", NULL);
	persist_shutdown(d, all_settled(d));
	d->control = control_free(d->control);
	metrics = metrics_free(metrics);
	lag = looplag_free(lag);
	d->monitor = monitor_free(d->monitor);
	for (size_t i = 0; i < d->nservices; i++)
		d->services[i] = service_free(d->services[i]);
	free(d->services);
	d->notify = notify_free(d->notify);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		event_free(sigev[i]);
	event_free(d->ev_sweep);
	event_free(d->ev_deps);
	paddock_events = eventlog_free(paddock_events);
	cgroup_host_teardown(d->cgroups);
	d->cgroups = cgroup_host_free(d->cgroups);
	event_base_free(d->base);
	d->images = image_store_free(d->images);
	d->specs = spec_set_free(d->specs);
	for (size_t i = 0; i < d->nretired; i++)
		spec_set_free(d->retired[i]);
	free(d->retired);
	d->cfg = daemon_config_free(d->cfg);
	free(d->logs_dir);
	free(d->self_exe);
	return 0;
}
