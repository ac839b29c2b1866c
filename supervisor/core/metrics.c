/*
 * metrics.c - Prometheus text exposition at http://<metrics.listen>/metrics
 * through libevent's evhttp. Every family has HELP and TYPE; per-service
 * series are labelled `service`. Values come from the monitor's last tick
 * (no file is read per scrape), limits from what paddock applied.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <string.h>

#include "log.h"
#include "looplag.h"
#include "metrics.h"
#include "network.h"
#include "manager.h"
#include "monitor.h"
#include "notify.h"
#include "probe.h"
#include "rebalance-glue.h"
#include "service.h"
#include "util.h"

struct metrics {
	struct manager *d;
	struct monitor *mon;
	struct notify *notify;
	struct rebalancer *rb;
	const struct looplag *lag; /* may be NULL */
	struct evhttp *http;
	uint64_t last_scrape_usec;
};

static void family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are service names ([a-z0-9_-]) and fixed words: no escaping needed. */
static void series(struct evbuffer *b, const char *name, const char *svc, const char *labels,
		   double v)
{
	evbuffer_add_printf(b, "%s{service=\"%s\"%s%s} %.17g\n", name, svc, labels ? "," : "",
			    labels ? labels : "", v);
}

static void series_u64(struct evbuffer *b, const char *name, const char *svc, const char *labels,
		       uint64_t v)
{
	if (v == PROBE_UNKNOWN)
		return;
	evbuffer_add_printf(b, "%s{service=\"%s\"%s%s} %llu\n", name, svc, labels ? "," : "",
			    labels ? labels : "", (unsigned long long)v);
}

static void render_looplag(struct evbuffer *b, const struct looplag_stats *s)
{
	family(b, "paddock_loop_lag_seconds", "histogram",
	       "How late the event loop served a periodic probe tick (every 100 ms).");
	for (size_t i = 0; i < LOOPLAG_NBUCKETS; i++) {
		char le[32] = "+Inf";
		if (i < LOOPLAG_NBUCKETS - 1)
			snprintf(le, sizeof(le), "%g", s->le[i]);
		evbuffer_add_printf(b, "paddock_loop_lag_seconds_bucket{le=\"%s\"} %llu\n", le,
				    (unsigned long long)s->bucket[i]);
	}
	evbuffer_add_printf(b, "paddock_loop_lag_seconds_sum %.9f\n", s->sum);
	evbuffer_add_printf(b, "paddock_loop_lag_seconds_count %llu\n",
			    (unsigned long long)s->count);
	family(b, "paddock_loop_lag_max_seconds", "gauge",
	       "The largest event loop lag seen since paddockd started.");
	evbuffer_add_printf(b, "paddock_loop_lag_max_seconds %.9f\n", s->max);
}

/*
 * One series family per service: EACH(code) runs code for every service
 * with svc, its name n and its latest sample s (NULL before the first).
 */
#define EACH(...)                                                          \
	for (size_t i = 0; i < mx->d->nservices; i++) {                    \
		struct service *svc = mx->d->services[i];                  \
		const char *n = service_name(svc);                         \
		const struct probe_cgroup_sample *s = monitor_sample(svc); \
		(void)n;                                                   \
		(void)s;                                                   \
		__VA_ARGS__                                                \
	}

/* The daemon itself: version, services, notify socket, loop lag. */
static void render_daemon(struct metrics *mx, struct evbuffer *b)
{
	family(b, "paddock_build_info", "gauge", "paddock's version, always 1.");
	evbuffer_add_printf(b, "paddock_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	family(b, "paddock_services", "gauge", "Services known to paddockd.");
	evbuffer_add_printf(b, "paddock_services %zu\n", mx->d->nservices);
	if (mx->notify) {
		const struct notify_counters *c = notify_counters(mx->notify);
		family(b, "paddock_notify_datagrams_total", "counter",
		       "Datagrams on the services' notify socket, by outcome.");
		evbuffer_add_printf(
		    b,
		    "paddock_notify_datagrams_total{result=\"accepted\"} %llu\n"
		    "paddock_notify_datagrams_total{result=\"malformed\"} %llu\n"
		    "paddock_notify_datagrams_total{result=\"unknown_sender\"} %llu\n",
		    (unsigned long long)(c->received - c->malformed - c->unknown_sender),
		    (unsigned long long)c->malformed, (unsigned long long)c->unknown_sender);
		family(b, "paddock_notify_mainpid_refused_total", "counter",
		       "MAINPID= naming a process outside the sender's service cgroup.");
		evbuffer_add_printf(b, "paddock_notify_mainpid_refused_total %llu\n",
				    (unsigned long long)c->refused);
	}
	if (mx->lag)
		render_looplag(b, looplag_stats(mx->lag));
}

/* State, restarts and OOM kills per service. */
static void render_states(struct metrics *mx, struct evbuffer *b)
{
	family(b, "paddock_service_up", "gauge", "1 while the service is starting or running.");
	EACH(series(b, "paddock_service_up", n, NULL,
		    service_state(svc) == SVC_RUNNING || service_state(svc) == SVC_STARTING);)
	family(b, "paddock_service_state", "gauge", "The service's state, one series per state.");
	EACH(for (int k = 0; k < SVC_NSTATES; k++) {
		char l[48];
		snprintf(l, sizeof(l), "state=\"%s\"", service_state_name((enum service_state)k));
		series(b, "paddock_service_state", n, l,
		       service_state(svc) == (enum service_state)k);
	})
	family(
	    b, "paddock_service_restarts_total", "counter",
	    "Restarts (restart policy, on_oom, operator), across paddockd restarts; not reloads.");
	EACH(series(b, "paddock_service_restarts_total", n, NULL, service_restarts(svc));)
	family(b, "paddock_service_reload_restarts_total", "counter",
	       "Restarts a reload caused (the spec changed what runs).");
	EACH(series(b, "paddock_service_reload_restarts_total", n, NULL, service_reloads(svc));)
	family(b, "paddock_service_exits_total", "counter",
	       "Exits of the service by kind, as last_exit and the exit event name it.");
	EACH(for (int k = EXIT_NONE + 1; k < EXIT_KIND_MAX; k++) {
		char l[48];
		if (!service_exits(svc, (enum exit_kind)k))
			continue;
		snprintf(l, sizeof(l), "kind=\"%s\"", service_exit_kind_name((enum exit_kind)k));
		series_u64(b, "paddock_service_exits_total", n, l,
			   service_exits(svc, (enum exit_kind)k));
	})
	family(b, "paddock_service_healthy", "gauge",
	       "1 while the service's health check passes; services with a check only.");
	EACH(if (service_spec(svc)->health.type != HEALTH_NONE)
		 series(b, "paddock_service_healthy", n, NULL,
			service_health(svc) && strcmp(service_health(svc), "healthy") == 0);)
	family(b, "paddock_oom_kills_total", "counter",
	       "Processes of the service killed by the OOM killer, main or not.");
	EACH(series_u64(b, "paddock_oom_kills_total", n, NULL, service_oom_kills(svc));)
}

/*
 * One service's memory.events: what its earlier cgroups counted (read as
 * each was removed) plus the current one's last sample. A counter the host
 * cannot tell (v1: low, high, oom) is absent unless an earlier cgroup had it.
 */
static void render_memory_events(struct evbuffer *b, const char *n,
				 const struct probe_memory_events *past,
				 const struct probe_memory_events *cur)
{
	static const struct probe_memory_events none = { PROBE_UNKNOWN, PROBE_UNKNOWN,
							 PROBE_UNKNOWN, PROBE_UNKNOWN,
							 PROBE_UNKNOWN, PROBE_UNKNOWN };
	const struct probe_memory_events *c = cur ? cur : &none;
	const struct {
		const char *label;
		uint64_t past, cur;
	} ev[] = {
		{ "event=\"low\"", past->low, c->low },
		{ "event=\"high\"", past->high, c->high },
		{ "event=\"max\"", past->max, c->max },
		{ "event=\"oom\"", past->oom, c->oom },
		{ "event=\"oom_kill\"", past->oom_kill, c->oom_kill },
		{ "event=\"oom_group_kill\"", past->oom_group_kill, c->oom_group_kill },
	};

	for (size_t k = 0; k < ARRAY_SIZE(ev); k++) {
		if (ev[k].cur == PROBE_UNKNOWN && !ev[k].past)
			continue;
		series_u64(b, "paddock_memory_events_total", n, ev[k].label,
			   ev[k].past + (ev[k].cur == PROBE_UNKNOWN ? 0 : ev[k].cur));
	}
}

/* Memory per service: usage, limits, events, breakdown, swap. */
static void render_memory(struct metrics *mx, struct evbuffer *b)
{
	family(b, "paddock_memory_usage_bytes", "gauge", "memory.current of the service's cgroup.");
	EACH(if (s) series_u64(b, "paddock_memory_usage_bytes", n, NULL, s->memory.current);)
	family(b, "paddock_memory_peak_bytes", "gauge", "Highest memory use of the cgroup.");
	EACH(if (s) series_u64(b, "paddock_memory_peak_bytes", n, NULL, s->memory.peak);)
	family(b, "paddock_memory_working_set_bytes", "gauge",
	       "The rebalancer's working-set estimate (absent until it has one).");
	EACH(if (rebalancer_working_set(mx->rb, svc))
		 series_u64(b, "paddock_memory_working_set_bytes", n, NULL,
			    rebalancer_working_set(mx->rb, svc));)
	family(b, "paddock_memory_limit_bytes", "gauge",
	       "Memory limits paddock applied, by kind (unset limits are absent).");
	EACH({
		const struct cgroup_limits *l = service_limits(svc);
		const struct {
			const char *k;
			uint64_t v;
		} kinds[] = { { "max", l->memory.max },
			      { "high", l->memory.high },
			      { "low", l->memory.low },
			      { "min", l->memory.min } };
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			char lab[32];
			if (kinds[k].v >= SPEC_SIZE_MAX)
				continue;
			snprintf(lab, sizeof(lab), "kind=\"%s\"", kinds[k].k);
			series_u64(b, "paddock_memory_limit_bytes", n, lab, kinds[k].v);
		}
	})
	family(b, "paddock_memory_events_total", "counter",
	       "memory.events counters of the service's cgroups, the ones gone with restarts "
	       "included.");
	EACH(render_memory_events(b, n, service_memory_events_past(svc),
				  s ? &s->memory.events : NULL);)
	family(b, "paddock_memory_stat_bytes", "gauge", "memory.stat breakdown of the cgroup.");
	EACH(if (s) {
		const struct probe_memory_stat *m = &s->memory.stat;
		series_u64(b, "paddock_memory_stat_bytes", n, "kind=\"anon\"", m->anon);
		series_u64(b, "paddock_memory_stat_bytes", n, "kind=\"file\"", m->file);
		series_u64(b, "paddock_memory_stat_bytes", n, "kind=\"shmem\"", m->shmem);
		series_u64(b, "paddock_memory_stat_bytes", n, "kind=\"kernel\"", m->kernel);
		series_u64(b, "paddock_memory_stat_bytes", n, "kind=\"sock\"", m->sock);
	})
	family(b, "paddock_swap_usage_bytes", "gauge", "Swap used by the cgroup.");
	EACH(if (s) series_u64(b, "paddock_swap_usage_bytes", n, NULL, s->memory.swap_current);)
}

/* CPU, pressure, pids and io per service. */
static void render_cpu_io(struct metrics *mx, struct evbuffer *b)
{
	family(b, "paddock_cpu_usage_seconds_total", "counter", "CPU time used by the cgroup.");
	EACH(if (s && s->cpu.usage_usec != PROBE_UNKNOWN)
		 series(b, "paddock_cpu_usage_seconds_total", n, NULL, s->cpu.usage_usec / 1e6);)
	family(b, "paddock_cpu_throttled_seconds_total", "counter",
	       "Time the cgroup was throttled by cpu.max.");
	EACH(if (s && s->cpu.throttled_usec != PROBE_UNKNOWN) series(
		 b, "paddock_cpu_throttled_seconds_total", n, NULL, s->cpu.throttled_usec / 1e6);)
	family(b, "paddock_cpu_throttled_periods_total", "counter",
	       "Enforcement periods in which the cgroup was throttled.");
	EACH(if (s) series_u64(b, "paddock_cpu_throttled_periods_total", n, NULL,
			       s->cpu.nr_throttled);)

	family(b, "paddock_pressure_stall_seconds_total", "counter",
	       "PSI stall time of the cgroup by resource and kind (some, full).");
	EACH(if (s) {
		const struct {
			const char *res;
			const struct probe_psi *p;
		} r[] = { { "memory", &s->psi_memory },
			  { "cpu", &s->psi_cpu },
			  { "io", &s->psi_io } };
		for (size_t k = 0; k < ARRAY_SIZE(r); k++) {
			char lab[64];
			if (r[k].p->some.total_usec != PROBE_UNKNOWN) {
				snprintf(lab, sizeof(lab), "resource=\"%s\",kind=\"some\"",
					 r[k].res);
				series(b, "paddock_pressure_stall_seconds_total", n, lab,
				       r[k].p->some.total_usec / 1e6);
			}
			if (r[k].p->full.total_usec != PROBE_UNKNOWN) {
				snprintf(lab, sizeof(lab), "resource=\"%s\",kind=\"full\"",
					 r[k].res);
				series(b, "paddock_pressure_stall_seconds_total", n, lab,
				       r[k].p->full.total_usec / 1e6);
			}
		}
	})
	family(b, "paddock_pids", "gauge", "Processes and threads in the cgroup.");
	EACH(if (s) series_u64(b, "paddock_pids", n, NULL, s->pids.current);)
	family(b, "paddock_io_bytes_total", "counter", "Bytes read and written by the cgroup.");
	EACH(if (s) {
		series_u64(b, "paddock_io_bytes_total", n, "direction=\"read\"", s->io.rbytes);
		series_u64(b, "paddock_io_bytes_total", n, "direction=\"write\"", s->io.wbytes);
	})
}
#undef EACH

/* The host: memory and pressure. */
static void render_host(struct metrics *mx, struct evbuffer *b)
{
	const struct probe_host_sample *h = monitor_host_sample(mx->mon);
	if (h) {
		family(b, "paddock_host_memory_bytes", "gauge", "Host memory from /proc/meminfo.");
		evbuffer_add_printf(b, "paddock_host_memory_bytes{kind=\"total\"} %llu\n",
				    (unsigned long long)h->mem.mem_total);
		evbuffer_add_printf(b, "paddock_host_memory_bytes{kind=\"available\"} %llu\n",
				    (unsigned long long)h->mem.mem_available);
		evbuffer_add_printf(b, "paddock_host_memory_bytes{kind=\"free\"} %llu\n",
				    (unsigned long long)h->mem.mem_free);
		family(b, "paddock_host_pressure_stall_seconds_total", "counter",
		       "Host PSI stall time from /proc/pressure.");
		const struct {
			const char *res;
			const struct probe_psi *p;
		} r[] = { { "memory", &h->psi_memory },
			  { "cpu", &h->psi_cpu },
			  { "io", &h->psi_io } };
		for (size_t k = 0; k < ARRAY_SIZE(r); k++) {
			if (r[k].p->some.total_usec != PROBE_UNKNOWN)
				evbuffer_add_printf(b,
						    "paddock_host_pressure_stall_seconds_total{"
						    "resource=\"%s\",kind=\"some\"} %.6f\n",
						    r[k].res, r[k].p->some.total_usec / 1e6);
			if (r[k].p->full.total_usec != PROBE_UNKNOWN)
				evbuffer_add_printf(b,
						    "paddock_host_pressure_stall_seconds_total{"
						    "resource=\"%s\",kind=\"full\"} %.6f\n",
						    r[k].res, r[k].p->full.total_usec / 1e6);
		}
	}
}

/* Interface counters of services on bridge networks, seen from the service. */
struct net_rows {
	struct evbuffer *fam[4];
};

static void net_row(const char *svc, const char *net, uint64_t rx, uint64_t tx, uint64_t rxd,
		    uint64_t txd, void *arg)
{
	struct net_rows *r = arg;
	const uint64_t v[4] = { rx, tx, rxd, txd };
	static const char *const names[4] = {
		"paddock_service_network_receive_bytes_total",
		"paddock_service_network_transmit_bytes_total",
		"paddock_service_network_receive_drops_total",
		"paddock_service_network_transmit_drops_total",
	};

	for (int i = 0; i < 4; i++)
		evbuffer_add_printf(r->fam[i], "%s{service=\"%s\",network=\"%s\"} %llu\n", names[i],
				    svc, net, (unsigned long long)v[i]);
}

static void render_network(struct metrics *mx, struct evbuffer *b)
{
	static const char *const fams[4][2] = {
		{ "paddock_service_network_receive_bytes_total", "Bytes the service received." },
		{ "paddock_service_network_transmit_bytes_total", "Bytes the service sent." },
		{ "paddock_service_network_receive_drops_total",
		  "Packets to the service dropped on its link." },
		{ "paddock_service_network_transmit_drops_total",
		  "Packets from the service dropped on its link." },
	};
	struct net_rows r;

	if (!mx->d->env.net)
		return;
	for (int i = 0; i < 4; i++)
		r.fam[i] = evbuffer_new();
	netmgr_stats(mx->d->env.net, net_row, &r);
	for (int i = 0; i < 4; i++) {
		if (evbuffer_get_length(r.fam[i])) {
			family(b, fams[i][0], "counter", fams[i][1]);
			evbuffer_add_buffer(b, r.fam[i]);
		}
		evbuffer_free(r.fam[i]);
	}
}

static void render(struct metrics *mx, struct evbuffer *b)
{
	uint64_t t0 = now_us();

	render_daemon(mx, b);
	render_states(mx, b);
	render_memory(mx, b);
	render_cpu_io(mx, b);
	render_host(mx, b);
	render_network(mx, b);
	family(b, "paddock_probe_tick_seconds", "gauge", "Time the last sampling tick took.");
	evbuffer_add_printf(b, "paddock_probe_tick_seconds %.6f\n",
			    monitor_last_tick_usec(mx->mon) / 1e6);
	mx->last_scrape_usec = now_us() - t0;
	family(b, "paddock_scrape_duration_seconds", "gauge", "Time this scrape took to render.");
	evbuffer_add_printf(b, "paddock_scrape_duration_seconds %.6f\n",
			    mx->last_scrape_usec / 1e6);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct metrics *mx = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *b;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "only GET");
		return;
	}
	if (strcmp(uri, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, "try /metrics");
		return;
	}
	b = evbuffer_new();
	render(mx, b);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

int metrics_open(struct manager *d, struct monitor *mon, struct notify *notify,
		 struct rebalancer *rb, const struct looplag *lag, struct metrics **out)
{
	const char *listen = d->cfg->metrics_listen;
	char host[256];
	const char *colon;
	unsigned port;

	*out = NULL;
	if (!listen)
		return 0;
	colon = strrchr(listen, ':');
	if (!colon || sscanf(colon + 1, "%u", &port) != 1 || port == 0 || port > 65535)
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	if (host[0] == '[') { /* [v6] */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	if (!host[0])
		snprintf(host, sizeof(host), "0.0.0.0");

	struct metrics *mx = xcalloc(1, sizeof(*mx));
	mx->d = d;
	mx->mon = mon;
	mx->notify = notify;
	mx->rb = rb;
	mx->lag = lag;
	mx->http = evhttp_new(d->base);
	if (!mx->http || evhttp_bind_socket(mx->http, host, (uint16_t)port) < 0) {
		if (mx->http)
			evhttp_free(mx->http);
		free(mx);
		return -EADDRINUSE;
	}
	evhttp_set_timeout(mx->http, 10);
	evhttp_set_max_headers_size(mx->http, 8192);
	evhttp_set_max_body_size(mx->http, 4096);
	evhttp_set_allowed_methods(mx->http, EVHTTP_REQ_GET);
	evhttp_set_gencb(mx->http, on_request, mx);
	log_info("metrics: http://%s/metrics", listen);
	*out = mx;
	return 0;
}

struct metrics *metrics_free(struct metrics *mx)
{
	if (!mx)
		return NULL;
	evhttp_free(mx->http);
	free(mx);
	return NULL;
}
