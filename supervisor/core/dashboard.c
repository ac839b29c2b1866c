/*
 * dashboard.c - the web dashboard (dashboard.h).
 *
 * Pages are rendered here as plain HTML from control_service_json(), the
 * values `paddockctl status --json` shows (the list: the same values from
 * what paddockd holds, see list_view()), so the list works without
 * JavaScript (it refreshes itself with <meta refresh>). The service page
 * adds dashboard.js (assets/): SVG charts from /v1/services/NAME/history,
 * logs and events followed through EventSource, and, for operate tokens,
 * actions behind a confirmation. Styles and script are assets built into
 * paddockd: nothing is fetched from elsewhere, and the Content-Security-
 * Policy says so. Every value put into HTML goes through html_text().
 *
 * Routes: / (list), /service/NAME, /login (GET form, POST token -> cookie),
 * /logout (POST), /assets/NAME. A request without a valid token is sent to
 * /login; /login and /logout take POSTs from our own pages only, failed
 * sign-ins are limited. Cost: the list is O(services) of in-memory work
 * (list_view(): no file is read), a render kept for a second; a service
 * page reads that one service's knobs as status does.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "assets.h"
#include "control.h"
#include "dashboard.h"
#include "manager.h"
#include "monitor.h"
#include "rebalance-glue.h"
#include "service.h"
#include "util.h"

/* Bytes of a login form we read: a token line is far shorter. */
#define LOGIN_BODY_MAX 4096
/*
 * Failed sign-ins: a burst of this many, then one a second, for everyone
 * together (a guesser's attempts from many addresses count all the same).
 * While none is left /login refuses every token, right or wrong, so that
 * guessing learns nothing; a valid cookie or bearer token is not affected.
 */
#define LOGIN_FAIL_BURST 10
#define LOGIN_FAIL_REFILL_MS 1000
/* The list refreshes itself every 5 s; a render is O(services) of in-memory work. */
#define LIST_REFRESH_S 5
/*
 * A rendered list answers every request of its role for this long: many
 * open tabs cost one render a second, as GET /v1/services' cache does. The
 * values are a probe interval old anyway.
 */
#define LIST_CACHE_MS 1000

struct dashboard {
	struct manager *d;
	struct control *ctl;
	struct history *h;
	struct rebalancer *rb;
	/* The last list rendered for a read and an operate token (the footer differs). */
	struct evbuffer *list_cache[2];
	uint64_t list_cache_ms[2];
	/* Failed sign-ins still allowed, as of login_credit_ms (LOGIN_FAIL_BURST). */
	unsigned login_credit;
	uint64_t login_credit_ms;
};

struct dashboard *dashboard_new(struct manager *d, struct control *ctl, struct history *h,
				struct rebalancer *rb)
{
	struct dashboard *db = xcalloc(1, sizeof(*db));

	db->d = d;
	db->ctl = ctl;
	db->h = h;
	db->rb = rb;
	db->login_credit = LOGIN_FAIL_BURST;
	db->login_credit_ms = now_ms();
	return db;
}

struct dashboard *dashboard_free(struct dashboard *db)
{
	if (!db)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(db->list_cache); i++)
		if (db->list_cache[i])
			evbuffer_free(db->list_cache[i]);
	free(db);
	return NULL;
}

/* --- HTML helpers ------------------------------------------------------------------- */

/* s as HTML text or attribute value: every markup character escaped. */
static void html_text(struct evbuffer *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			evbuffer_add(b, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(b, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(b, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(b, "&quot;", 6);
			break;
		case '\'':
			evbuffer_add(b, "&#39;", 5);
			break;
		default:
			evbuffer_add(b, s, 1);
		}
	}
}

/* s for a URL path segment inside an attribute: unreserved characters only. */
static void url_text(struct evbuffer *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~@", c))
			evbuffer_add(b, s, 1);
		else
			evbuffer_add_printf(b, "%%%02X", c);
	}
}

static struct json_object *jget(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v = jget(o, k);

	return v ? json_object_get_string(v) : NULL;
}

/* A byte count from a knob's text ("max" and the like: false). */
static bool bytes_of(const char *s, uint64_t *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	*v = strtoull(s, &end, 10);
	return *end == '\0';
}

static void human_bytes(struct evbuffer *b, uint64_t v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double x = (double)v;
	int u = 0;

	while (x >= 1024 && u < 4)
		x /= 1024, u++;
	evbuffer_add_printf(b, u ? "%.1f %s" : "%.0f %s", x, units[u]);
}

static void page_head(struct evbuffer *b, const char *title, const char *refresh)
{
	char host[256] = "";

	(void)gethostname(host, sizeof(host) - 1);
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			       "<meta name=\"viewport\" content=\"width=device-width\">"
			       "<link rel=\"icon\" href=\"data:,\">");
	if (refresh)
		evbuffer_add_printf(b, "<meta http-equiv=\"refresh\" content=\"%s\">", refresh);
	evbuffer_add_printf(b, "<title>");
	html_text(b, title);
	evbuffer_add_printf(b, " - paddock</title><link rel=\"stylesheet\" "
			       "href=\"/assets/dashboard.css\"></head>\n");
	evbuffer_add_printf(b, "<body><header><a class=\"brand\" href=\"/\">paddock</a> <span "
			       "class=\"host\">");
	html_text(b, host);
	evbuffer_add_printf(b, "</span></header>\n<main>\n");
}

static void page_foot(struct evbuffer *b, enum api_role role)
{
	evbuffer_add_printf(b, "</main>\n<footer>");
	if (role != API_ROLE_NONE)
		evbuffer_add_printf(b,
				    "signed in with a <b id=\"role\">%s</b> token "
				    "<form method=\"post\" action=\"/logout\" class=\"inline\">"
				    "<button type=\"submit\">Sign out</button></form>",
				    role == API_ROLE_OPERATE ? "operate" : "read");
	evbuffer_add_printf(b, "</footer></body></html>\n");
}

/* Answer with b as an HTML page; b is consumed. */
static void send_html(struct evhttp_request *req, int code, const char *reason, struct evbuffer *b)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Content-Security-Policy",
			  "default-src 'self'; img-src 'self' data:; object-src 'none'; "
			  "frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	/* Not "no-referrer": our own forms must carry their Origin (same_origin()). */
	evhttp_add_header(h, "Referrer-Policy", "same-origin");
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

/* to: always one of our own fixed paths, never taken from the request. */
static void redirect(struct evhttp_request *req, const char *to)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Location", to);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, 303, "See Other", NULL);
}

static void not_found(struct evhttp_request *req, enum api_role role, const char *what)
{
	struct evbuffer *b = evbuffer_new();

	page_head(b, "not found", NULL);
	evbuffer_add_printf(b, "<h1>Not found</h1><p>");
	html_text(b, what);
	evbuffer_add_printf(b, "</p><p><a href=\"/\">All services</a></p>");
	page_foot(b, role);
	send_html(req, 404, "Not Found", b);
}

/* --- the values of one service ------------------------------------------------------ */

/* Memory used against memory.max: a <meter> and the figures. */
static void cell_memory(struct evbuffer *b, struct json_object *s)
{
	const char *cs = jstr(jget(s, "usage"), "memory.current");
	const char *ms = jstr(jget(s, "limits"), "memory.max");
	uint64_t cur = 0, max = 0;
	bool have_cur = bytes_of(cs, &cur), have_max = bytes_of(ms, &max);

	evbuffer_add_printf(b, "<td class=\"memory\" data-current=\"%s\" data-max=\"%s\">",
			    have_cur ? cs : "", have_max ? ms : "");
	if (!have_cur) {
		evbuffer_add_printf(b, "&ndash;</td>");
		return;
	}
	if (have_max && max)
		evbuffer_add_printf(b,
				    "<meter min=\"0\" max=\"%llu\" low=\"%llu\" high=\"%llu\" "
				    "optimum=\"0\" value=\"%llu\"></meter> ",
				    (unsigned long long)max, (unsigned long long)(max / 10 * 7),
				    (unsigned long long)(max / 10 * 9), (unsigned long long)cur);
	human_bytes(b, cur);
	if (have_max) {
		evbuffer_add_printf(b, " / ");
		human_bytes(b, max);
	}
	evbuffer_add_printf(b, "</td>");
}

/* A number from status's usage (a double), with its key as the cell's class. */
static void cell_number(struct evbuffer *b, const char *cls, struct json_object *u, const char *k,
			double scale, int decimals)
{
	struct json_object *v = jget(u, k);

	evbuffer_add_printf(b, "<td class=\"%s num\"", cls);
	if (v) {
		evbuffer_add_printf(b, " data-value=\"%s\">", json_object_get_string(v));
		evbuffer_add_printf(b, "%.*f", decimals, json_object_get_double(v) * scale);
	} else {
		evbuffer_add_printf(b, ">&ndash;");
	}
	evbuffer_add_printf(b, "</td>");
}

/* status's health: a string in the brief, an object with "status" in full. */
static const char *health_of(struct json_object *s)
{
	struct json_object *h = jget(s, "health");

	if (!h)
		return NULL;
	return json_object_is_type(h, json_type_object) ? jstr(h, "status")
							: json_object_get_string(h);
}

static void cell_text(struct evbuffer *b, const char *cls, const char *v)
{
	evbuffer_add_printf(b, "<td class=\"%s\">", cls);
	if (v)
		html_text(b, v);
	else
		evbuffer_add_printf(b, "&ndash;");
	evbuffer_add_printf(b, "</td>");
}

static void row_cells(struct evbuffer *b, struct json_object *s)
{
	struct json_object *u = jget(s, "usage");
	const char *state = jstr(s, "state");

	evbuffer_add_printf(b, "<td class=\"state\"><span class=\"state-");
	html_text(b, state);
	evbuffer_add_printf(b, "\">");
	html_text(b, state);
	if (json_object_get_boolean(jget(s, "frozen")))
		evbuffer_add_printf(b, " (frozen)");
	evbuffer_add_printf(b, "</span></td>");
	cell_text(b, "class", jstr(s, "class"));
	cell_memory(b, s);
	cell_number(b, "cpu", u, "cpu.percent", 0.01, 2);
	cell_number(b, "psi-cpu", u, "cpu.pressure.some.avg10", 1, 2);
	cell_number(b, "psi-memory", u, "memory.pressure.some.avg10", 1, 2);
	cell_number(b, "psi-io", u, "io.pressure.some.avg10", 1, 2);
	cell_text(b, "restarts num", jstr(s, "restarts"));
	cell_text(b, "oom-kills num", jstr(s, "oom_kills"));
	cell_text(b, "health", health_of(s));
}

static const char row_header[] = "<th>State</th><th>Class</th><th>Memory</th><th>CPU "
				 "(cores)</th><th>PSI cpu %</th><th>PSI mem %</th><th>PSI io "
				 "%</th><th>Restarts</th><th>OOM kills</th><th>Health</th>";

/* --- the list's view of a service, from memory ------------------------------------- */

static void add_double(struct json_object *o, const char *k, double v)
{
	if (v == v) /* not NAN */
		json_object_object_add(o, k, json_object_new_double(v));
}

/*
 * memory.max as paddockd last applied it, as status reads it back: the
 * limits with what on_oom: grow made of them, in the kernel's pages
 * ("max" for none). Only enforce mode's rebalancer writes values of its
 * own (squeezes), kept in its state: read the knob for those.
 */
static void add_memory_max(struct dashboard *db, struct service *svc, struct json_object *l)
{
	struct cgroup_limits lim = *service_limits(svc);
	struct cgroup *cg = service_cgroup(svc);
	static uint64_t page;
	char buf[64];

	if (!cg)
		return;
	if (db->d->cfg->rebalance.mode == REBALANCE_ENFORCE) {
		if (cgroup_read_knob(cg, "memory.max", buf, sizeof(buf)) >= 0) {
			buf[strcspn(buf, "\n")] = '\0';
			json_object_object_add(l, "memory.max", json_object_new_string(buf));
		}
		return;
	}
	rebalancer_launch_limits(db->rb, svc, &lim);
	if (lim.memory.max == SPEC_UNSET || lim.memory.max == SPEC_SIZE_MAX) {
		json_object_object_add(l, "memory.max", json_object_new_string("max"));
		return;
	}
	if (!page)
		page = sysconf(_SC_PAGESIZE) > 0 ? (uint64_t)sysconf(_SC_PAGESIZE) : 4096;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(lim.memory.max / page * page));
	json_object_object_add(l, "memory.max", json_object_new_string(buf));
}

/*
 * What a list row shows, in the shape of status's full view but from what
 * paddockd holds: list's brief, the monitor's latest sample (memory.current,
 * CPU rate, pressure: at most a probe interval old) and the limits applied.
 * No file is read for a sampled service, so a page of 1000 services holds
 * the loop for a few milliseconds, not the quarter second status's view of
 * each would.
 */
static struct json_object *list_view(struct dashboard *db, struct service *svc)
{
	struct json_object *o = control_service_json(db->ctl, svc, false);
	struct json_object *u = json_object_new_object(), *l = json_object_new_object();
	const struct probe_cgroup_sample *s = monitor_sample(svc);
	const struct probe_cgroup_rates *r = monitor_rates(svc);
	static const char *const psi_keys[] = { "memory.pressure.some.avg10",
						"cpu.pressure.some.avg10",
						"io.pressure.some.avg10" };

	json_object_object_add(o, "frozen", json_object_new_boolean(service_frozen(svc)));
	json_object_object_add(
	    o, "oom_kills", json_object_new_int64((int64_t)(service_oom_kills(svc) & INT64_MAX)));
	if (s && service_cgroup(svc)) {
		const struct probe_psi *psi[] = { &s->psi_memory, &s->psi_cpu, &s->psi_io };
		char cur[24];
		if (s->memory.current != PROBE_UNKNOWN) {
			snprintf(cur, sizeof(cur), "%llu", (unsigned long long)s->memory.current);
			json_object_object_add(u, "memory.current", json_object_new_string(cur));
		}
		for (size_t i = 0; i < ARRAY_SIZE(psi); i++)
			if (psi[i]->some.avg10 != PROBE_UNKNOWN)
				add_double(u, psi_keys[i], psi[i]->some.avg10 / 100.0);
		if (r)
			add_double(u, "cpu.percent", r->cpu_percent);
	} else if (service_cgroup(svc)) {
		/*
		 * Not sampled yet (a start, at most SAMPLER_OPENS_PER_TICK a
		 * tick), or never (an open files limit too low, which paddockd
		 * warns of): memory as status shows it, one file.
		 */
		char cur[64];
		if (cgroup_read_knob(service_cgroup(svc), "memory.current", cur, sizeof(cur)) >=
		    0) {
			cur[strcspn(cur, "\n")] = '\0';
			json_object_object_add(u, "memory.current", json_object_new_string(cur));
		}
	}
	add_memory_max(db, svc, l);
	json_object_object_add(o, "usage", u);
	json_object_object_add(o, "limits", l);
	return o;
}

/* --- pages -------------------------------------------------------------------------- */

static void render_list(struct dashboard *db, struct evbuffer *b, enum api_role role)
{
	char refresh[24];

	snprintf(refresh, sizeof(refresh), "%d", LIST_REFRESH_S);
	page_head(b, "services", refresh);
	evbuffer_add_printf(b,
			    "<h1>Services <small>%zu</small></h1>\n"
			    "<table id=\"services\"><thead><tr><th>Service</th>%s</tr></thead>"
			    "<tbody>\n",
			    db->d->nservices, row_header);
	for (size_t i = 0; i < db->d->nservices; i++) {
		struct service *svc = db->d->services[i];
		struct json_object *s = list_view(db, svc);

		evbuffer_add_printf(b, "<tr data-service=\"");
		html_text(b, service_name(svc));
		evbuffer_add_printf(b, "\"><td class=\"name\"><a href=\"/service/");
		url_text(b, service_name(svc));
		evbuffer_add_printf(b, "\">");
		html_text(b, service_name(svc));
		evbuffer_add_printf(b, "</a></td>");
		row_cells(b, s);
		evbuffer_add_printf(b, "</tr>\n");
		json_object_put(s);
	}
	evbuffer_add_printf(b, "</tbody></table>\n");
	page_foot(b, role);
}

static void page_list(struct dashboard *db, struct evhttp_request *req, enum api_role role)
{
	size_t k = role == API_ROLE_OPERATE;
	struct evbuffer *b = evbuffer_new();
	uint64_t now = now_ms();

	if (!db->list_cache[k] || now - db->list_cache_ms[k] >= LIST_CACHE_MS) {
		if (db->list_cache[k])
			evbuffer_free(db->list_cache[k]);
		db->list_cache[k] = evbuffer_new();
		db->list_cache_ms[k] = now;
		render_list(db, db->list_cache[k], role);
	}
	evbuffer_add_buffer_reference(b, db->list_cache[k]);
	send_html(req, 200, "OK", b);
}

/* A JSON object's members as a two-column table (values as JSON text unless strings). */
static void kv_table(struct evbuffer *b, const char *id, struct json_object *o)
{
	evbuffer_add_printf(b, "<table class=\"kv\" id=\"%s\"><tbody>", id);
	if (o && json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
		{
			evbuffer_add_printf(b, "<tr><th>");
			html_text(b, k);
			evbuffer_add_printf(b, "</th><td data-key=\"");
			html_text(b, k);
			evbuffer_add_printf(b, "\">");
			const char *t =
			    v && json_object_is_type(v, json_type_string)
				? json_object_get_string(v)
				: json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
			size_t lines = 1;
			for (const char *p = strchr(t, '\n'); p; p = strchr(p + 1, '\n'))
				lines++;
			/* A long list (devices.list) folds away. */
			if (lines > 3)
				evbuffer_add_printf(b, "<details><summary>%zu lines</summary>",
						    lines);
			html_text(b, t);
			evbuffer_add_printf(b, lines > 3 ? "</details></td></tr>" : "</td></tr>");
		}
	}
	evbuffer_add_printf(b, "</tbody></table>\n");
}

/* The limits `set` takes that the form offers, with the current knob value. */
static void limits_form(struct evbuffer *b, struct json_object *limits)
{
	static const char *const keys[] = { "memory.high", "memory.max", "cpu.max", "cpu.weight",
					    "pids.max" };

	evbuffer_add_printf(b, "<form id=\"limits-form\" class=\"limits\"><h3>Set limits</h3>");
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v = jstr(limits, keys[i]);
		evbuffer_add_printf(b, "<label>%s <input name=\"%s\" value=\"", keys[i], keys[i]);
		html_text(b, v);
		evbuffer_add_printf(b, "\" data-was=\"");
		html_text(b, v);
		evbuffer_add_printf(b, "\" size=\"12\"></label> ");
	}
	evbuffer_add_printf(b, "<button type=\"submit\">Apply</button></form>\n");
}

static void page_service(struct dashboard *db, struct evhttp_request *req, enum api_role role,
			 struct service *svc)
{
	struct evbuffer *b = evbuffer_new();
	struct json_object *s = control_service_json(db->ctl, svc, true);
	struct json_object *rb = jget(s, "rebalance");
	const char *name = service_name(svc);

	page_head(b, name, NULL);
	/* The script reads what it needs from the body's data attributes. */
	evbuffer_add_printf(b, "<div id=\"service\" data-service=\"");
	html_text(b, name);
	evbuffer_add_printf(b,
			    "\" data-operate=\"%d\">\n<p><a href=\"/\">&larr; All services</a></p>"
			    "<h1>",
			    role == API_ROLE_OPERATE);
	html_text(b, name);
	evbuffer_add_printf(b, "</h1>\n<table id=\"summary\"><thead><tr>%s</tr></thead><tbody><tr>",
			    row_header);
	row_cells(b, s);
	evbuffer_add_printf(b, "</tr></tbody></table>\n");
	if (role == API_ROLE_OPERATE) {
		static const char *const actions[] = { "start", "stop", "restart", "freeze",
						       "thaw" };
		evbuffer_add_printf(b, "<div id=\"actions\">");
		for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
			evbuffer_add_printf(b,
					    "<button type=\"button\" class=\"action\" "
					    "data-action=\"%s\" disabled>%s</button> ",
					    actions[i], actions[i]);
		evbuffer_add_printf(b,
				    "<span id=\"action-result\" role=\"status\"></span></div>\n");
	}
	evbuffer_add_printf(
	    b, "<noscript><p>The charts, live logs, events and actions need "
	       "JavaScript.</p></noscript>\n<section class=\"charts\">"
	       "<figure><figcaption>Memory (bytes)</figcaption><svg id=\"chart-memory\" "
	       "viewBox=\"0 0 600 160\"></svg></figure>"
	       "<figure><figcaption>CPU (cores)</figcaption><svg id=\"chart-cpu\" "
	       "viewBox=\"0 0 600 160\"></svg></figure>"
	       "<figure><figcaption>Pressure, some avg10 (%%)</figcaption><svg "
	       "id=\"chart-pressure\" viewBox=\"0 0 600 160\"></svg></figure>"
	       "</section>\n<section class=\"cols\"><div><h2>Limits</h2>");
	kv_table(b, "limits", jget(s, "limits"));
	if (role == API_ROLE_OPERATE)
		limits_form(b, jget(s, "limits"));
	evbuffer_add_printf(b, "</div><div><h2>Rebalancer</h2>");
	if (rb) {
		evbuffer_add_printf(b, "<p>mode <b>");
		html_text(b, jstr(rb, "mode"));
		evbuffer_add_printf(b, "</b>%s</p><h3>Targets</h3>",
				    json_object_get_boolean(jget(rb, "pinned")) ? ", limits pinned"
										: "");
		kv_table(b, "targets", jget(rb, "targets"));
		evbuffer_add_printf(b, "<h3>Reasons</h3>");
		kv_table(b, "reasons", jget(rb, "reasons"));
	} else {
		evbuffer_add_printf(b, "<p id=\"targets\">off</p>");
	}
	evbuffer_add_printf(b, "</div></section>\n<section class=\"cols\"><div><h2>Logs</h2>"
			       "<pre id=\"logs\">");
	html_text(b, jstr(s, "log_tail"));
	evbuffer_add_printf(b,
			    "</pre></div><div><h2>Events</h2><ul id=\"events\"></ul></div>"
			    "</section></div>\n<script src=\"/assets/dashboard.js\"></script>\n");
	page_foot(b, role);
	json_object_put(s);
	send_html(req, 200, "OK", b);
}

/* --- login -------------------------------------------------------------------------- */

static void page_login(struct evhttp_request *req, int code, const char *error)
{
	struct evbuffer *b = evbuffer_new();

	page_head(b, "sign in", NULL);
	evbuffer_add_printf(b, "<h1>Sign in</h1>");
	if (error) {
		evbuffer_add_printf(b, "<p class=\"error\" id=\"login-error\">");
		html_text(b, error);
		evbuffer_add_printf(b, "</p>");
	}
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/login\" id=\"login\"><label>API "
			       "token <input type=\"password\" name=\"token\" autocomplete=\"off\" "
			       "required autofocus></label> <button type=\"submit\">Sign "
			       "in</button></form>\n<p>A token is a line of the daemon's "
			       "<code>api.tokens</code> file (paddockd(8)).</p>");
	page_foot(b, API_ROLE_NONE);
	send_html(req, code,
		  code == 200	? "OK"
		  : code == 400 ? "Bad Request"
		  : code == 429 ? "Too Many Requests"
				: "Unauthorized",
		  b);
}

/* A token we may put in a cookie as it is: printable, no separator or quote. */
static bool cookie_safe(const char *t)
{
	if (!*t || strlen(t) > 512)
		return false;
	for (; *t; t++)
		if (*t <= ' ' || *t > '~' || strchr(";,\"\\", *t))
			return false;
	return true;
}

static void set_cookie(struct dashboard *db, struct evhttp_request *req, const char *value,
		       bool clear)
{
	/* Secure when the API listens on TCP, which is always TLS (api.h). */
	bool tls = db->d->cfg->api.listen && db->d->cfg->api.listen[0] != '/';
	char c[700];

	snprintf(c, sizeof(c), "paddock_token=%s; Path=/; HttpOnly; SameSite=Strict%s%s", value,
		 tls ? "; Secure" : "", clear ? "; Max-Age=0" : "");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", c);
}

/*
 * Whether a browser sent req from one of our own pages. A form on another
 * site may POST here too (cookies aside): signing a victim in with the
 * attacker's token, or out. Browsers say where a request comes from in
 * Sec-Fetch-Site and Origin; a client that sends neither is no browser
 * acting for someone else.
 */
static bool same_origin(struct dashboard *db, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *site = evhttp_find_header(h, "Sec-Fetch-Site");
	const char *origin = evhttp_find_header(h, "Origin");
	const char *host = evhttp_find_header(h, "Host");
	bool tls = db->d->cfg->api.listen && db->d->cfg->api.listen[0] != '/';
	const char *scheme = tls ? "https://" : "http://";

	/* Origin is "null" under our Referrer-Policy in some browsers: this one first. */
	if (site)
		return strcmp(site, "same-origin") == 0 || strcmp(site, "none") == 0;
	if (!origin)
		return true;
	if (!host || strncmp(origin, scheme, strlen(scheme)) != 0)
		return false;
	return strcasecmp(origin + strlen(scheme), host) == 0;
}

static void refused_cross_site(struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	page_head(b, "refused", NULL);
	evbuffer_add_printf(b, "<h1>Refused</h1><p>This form was not sent from this dashboard's "
			       "own page (Origin or Sec-Fetch-Site say another site).</p>");
	page_foot(b, API_ROLE_NONE);
	send_html(req, 403, "Forbidden", b);
}

/* Whether one more failed sign-in may be tried now (LOGIN_FAIL_BURST). */
static bool login_credit_left(struct dashboard *db)
{
	uint64_t now = now_ms(), gained = (now - db->login_credit_ms) / LOGIN_FAIL_REFILL_MS;

	if (db->login_credit + gained >= LOGIN_FAIL_BURST) {
		db->login_credit = LOGIN_FAIL_BURST;
		db->login_credit_ms = now;
	} else if (gained) {
		db->login_credit += (unsigned)gained;
		db->login_credit_ms += gained * LOGIN_FAIL_REFILL_MS;
	}
	return db->login_credit > 0;
}

static void login_post(struct dashboard *db, struct api *api, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq form = { 0 };
	char body[LOGIN_BODY_MAX + 1];
	const char *token;
	size_t n = evbuffer_get_length(in);

	if (!same_origin(db, req)) {
		refused_cross_site(req);
		return;
	}
	if (!login_credit_left(db)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
		page_login(req, 429, "Too many failed sign-ins: try again in a few seconds.");
		return;
	}
	if (n > LOGIN_BODY_MAX) {
		page_login(req, 400, "That form is too large.");
		return;
	}
	evbuffer_copyout(in, body, n);
	body[n] = '\0';
	if (evhttp_parse_query_str(body, &form) < 0 ||
	    !(token = evhttp_find_header(&form, "token")) || !cookie_safe(token) ||
	    api_token_role(api, token) == API_ROLE_NONE) {
		evhttp_clear_headers(&form);
		explicit_bzero(body, sizeof(body));
		db->login_credit--;
		page_login(req, 401, "That token is not valid.");
		return;
	}
	set_cookie(db, req, token, false);
	evhttp_clear_headers(&form);
	explicit_bzero(body, sizeof(body));
	redirect(req, "/");
}

/* --- routing ------------------------------------------------------------------------ */

static void serve_asset(struct evhttp_request *req, const struct asset *a)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();

	evbuffer_add_reference(b, a->data, a->len, NULL, NULL);
	evhttp_add_header(h, "Content-Type", a->type);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

bool dashboard_serve(struct dashboard *db, struct api *api, struct evhttp_request *req,
		     const char *path, enum api_role role)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
	const struct asset *a;

	if (!db)
		return false;
	if (strncmp(path, "/assets/", 8) == 0) {
		/* Only the dashboard's own files: the API document has its route. */
		if (!(a = asset_find(path + 8)) || !strncmp(a->type, "application/json", 16))
			return false;
		if (!get)
			evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
		else
			serve_asset(req, a);
		return true;
	}
	if (strcmp(path, "/login") == 0) {
		if (cmd == EVHTTP_REQ_POST)
			login_post(db, api, req);
		else if (get)
			page_login(req, 200, NULL);
		else
			evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
		return true;
	}
	if (strcmp(path, "/logout") == 0) {
		/* A form's POST from our own page: a link or an image cannot sign anyone out. */
		if (cmd != EVHTTP_REQ_POST) {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
			evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
		} else if (!same_origin(db, req)) {
			refused_cross_site(req);
		} else {
			set_cookie(db, req, "", true);
			redirect(req, "/login");
		}
		return true;
	}
	if (strcmp(path, "/") != 0 && strncmp(path, "/service/", 9) != 0)
		return false;
	if (!get) {
		evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
		return true;
	}
	if (role == API_ROLE_NONE) {
		redirect(req, "/login");
		return true;
	}
	if (strcmp(path, "/") == 0) {
		page_list(db, req, role);
	} else {
		struct service *svc = manager_find(db->d, path + 9);
		if (svc)
			page_service(db, req, role, svc);
		else
			not_found(req, role, "No such service.");
	}
	return true;
}
