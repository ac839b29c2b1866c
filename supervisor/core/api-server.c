/*
 * api-server.c - the HTTP API (api.h) on evhttp: every request becomes one
 * control client (control_attach on one end of a bufferevent pair, the
 * other end ours), so the API answers exactly what the control socket
 * does; we only translate the JSON line into a status code and a body.
 * Following logs and events become Server-Sent Events, one "data:" a
 * control line.
 *
 * GET /v1/services without a filter is the hot path (a dashboard polling,
 * many clients): its body is kept and handed to every request by
 * reference until a service changes (manager observer) or a probe tick
 * passes, and requests arriving while it is rebuilt wait for that one
 * build instead of each asking the control for 1000 services.
 *
 * Connections are counted from evhttp's bevcb to the connection's close
 * callback; past api.max_clients a connection is answered 503 and closed,
 * and while API_MAX_REFUSED such wait for a request, none is accepted.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zlib.h>

#include "api-internal.h"
#include "api.h"
#include "assets.h"
#include "control.h"
#include "dashboard.h"
#include "events.h"
#include "history.h"
#include "log.h"
#include "manager.h"
#include "protocol.h"
#include "util.h"

#define API_MAX_HEADERS 16384 /* bytes of a request's headers */

#define API_MAX_STREAM_BACKLOG (4 * 1024 * 1024) /* unsent SSE bytes before a follower is dropped */
#define API_LIST_MAX_AGE_MS 1000
#define API_MAX_REFUSED 8 /* connections past max_clients held to answer 503; then none accepted */
#define API_ACCEPT_PAUSE_MS 100 /* after accept fails (EMFILE...) */
#define API_SSE_BATCH 32 /* event-stream followers flushed per loop turn */

struct api_conn;

/* One HTTP request being answered through a control client. */
struct api_req {
	struct api *api;
	struct evhttp_request *req; /* NULL: the list cache's build, or the client went away */
	struct api_conn *conn;
	struct bufferevent *bev; /* our end of the pair; NULL once closed */
	enum api_route_kind kind;
	bool follow; /* answer as SSE after the first line */
	bool streaming; /* evhttp_send_reply_start done */
	struct api_req *next, **prevp;
	/* an event follower, fed by the API's own eventlog follower (no control client) */
	bool events;
	char *events_service; /* NULL: every service's events */
	struct evbuffer *pending; /* formatted events not yet handed to evhttp */
	struct api_req *enext, **eprevp; /* in api->followers */
	struct api_req *dnext, **dprevp; /* in api->dirty while pending has data */
};

struct api_conn {
	struct api *api;
	struct bufferevent *bev; /* what bevcb made; evhttp owns it */
	struct evhttp_connection *evcon; /* NULL until adopted */
	bool refused; /* past max_clients: answered 503 */
	bool overflow; /* sent more than a request's worth while answered: to close */
	struct api_req *active; /* the request being answered on it */
	struct event *ev_deadline; /* a request must arrive within idle_timeout */
	struct api_conn *next, **prevp;
};

/* --- answers -------------------------------------------------------------------- */

static void send_body(struct evhttp_request *req, int code, const char *type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply(req, code, NULL, body);
}

static void send_json_text(struct evhttp_request *req, int code, const char *text, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, text, len);
	send_body(req, code, "application/json", b);
	evbuffer_free(b);
}

static void send_error(struct evhttp_request *req, int code, const char *ecode, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));

static void send_error(struct evhttp_request *req, int code, const char *ecode, const char *fmt,
		       ...)
{
	struct json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(msg));
	json_object_object_add(o, "code", json_object_new_string(ecode));
	const char *t = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	send_json_text(req, code, t, len);
	json_object_put(o);
}

/* The HTTP status for a control error code (api.h). */
static int status_for(const char *code)
{
	static const struct {
		const char *code;
		int status;
	} map[] = {
		{ "EINVAL", 400 }, { "EPROTO", 400 }, { "E2BIG", 413 }, { "EPERM", 403 },
		{ "ENOENT", 404 }, { "EBUSY", 409 },  { "ESRCH", 409 }, { "ECONFIG", 422 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strcmp(map[i].code, code) == 0)
			return map[i].status;
	return 500;
}

/* --- requests ------------------------------------------------------------------- */

static void req_free(struct api_req *r)
{
	if (!r)
		return;
	if (r->bev) {
		/* EOF to the control's end (deferred): it frees its client. */
		(void)bufferevent_flush(r->bev, EV_READ | EV_WRITE, BEV_FINISHED);
		bufferevent_free(r->bev);
	}
	if (r->conn && r->conn->active == r)
		r->conn->active = NULL;
	if (r->events) {
		*r->eprevp = r->enext;
		if (r->enext)
			r->enext->eprevp = r->eprevp;
		if (r->dprevp) {
			*r->dprevp = r->dnext;
			if (r->dnext)
				r->dnext->dprevp = r->dprevp;
			else
				r->api->dirty_tail = r->dprevp;
		}
		evbuffer_free(r->pending);
		free(r->events_service);
	}
	if (r->req && r->streaming)
		evhttp_send_reply_end(r->req);
	*r->prevp = r->next;
	if (r->next)
		r->next->prevp = r->prevp;
	free(r);
}

static struct api_req *req_new(struct api *api, struct evhttp_request *req, struct api_conn *conn,
			       enum api_route_kind kind)
{
	struct api_req *r = xcalloc(1, sizeof(*r));

	r->api = api;
	r->req = req;
	r->conn = conn;
	r->kind = kind;
	r->next = api->reqs;
	r->prevp = &api->reqs;
	if (api->reqs)
		api->reqs->prevp = &r->next;
	api->reqs = r;
	if (conn && req)
		conn->active = r;
	return r;
}

static const char ok_prefix[] = "{\"v\":1,\"ok\":true,\"result\":";

/*
 * Take one answer line of n bytes (with its '\n') from in. ok: the
 * "result" moved into body without parsing it (list answers are
 * megabytes); else *err gets the parsed error object.
 */
static bool take_answer(struct evbuffer *in, size_t n, struct evbuffer *body,
			struct json_object **err)
{
	char head[sizeof(ok_prefix) - 1];
	const size_t plen = sizeof(head);

	*err = NULL;
	if (n >= plen + 2 && evbuffer_copyout(in, head, plen) == (ev_ssize_t)plen &&
	    memcmp(head, ok_prefix, plen) == 0) {
		evbuffer_drain(in, plen);
		evbuffer_remove_buffer(in, body, n - plen - 2);
		evbuffer_drain(in, 2); /* "}\n" */
		return true;
	}
	char *line = xcalloc(n + 1, 1);
	evbuffer_remove(in, line, n);
	line[n] = '\0';
	*err = json_tokener_parse(line);
	free(line);
	if (!*err || !json_object_is_type(*err, json_type_object)) {
		json_object_put(*err);
		*err = json_object_new_object();
		json_object_object_add(*err, "error",
				       json_object_new_string("the daemon's answer did not parse"));
		json_object_object_add(*err, "code", json_object_new_string("EIO"));
	}
	return false;
}

/* An error answer as the HTTP error: {"error","code"[,"errors"]}. */
static void send_control_error(struct evhttp_request *req, struct json_object *e)
{
	struct json_object *code = NULL;
	size_t len;

	json_object_object_del(e, "v");
	json_object_object_del(e, "ok");
	json_object_object_get_ex(e, "code", &code);
	const char *t = json_object_to_json_string_length(
	    e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	send_json_text(req, status_for(code ? json_object_get_string(code) : ""), t, len);
}

/* The SSE stream's next event; drops a follower whose client reads too slowly. */
static bool sse_event(struct api_req *r, struct evbuffer *data)
{
	struct evbuffer *b = evbuffer_new();
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
	struct bufferevent *cbev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	if (cbev && evbuffer_get_length(bufferevent_get_output(cbev)) > API_MAX_STREAM_BACKLOG) {
		log_warnx("api: dropping an event-stream client that does not read");
		evbuffer_free(b);
		return false;
	}
	evbuffer_add(b, "data: ", 6);
	evbuffer_add_buffer(b, data);
	evbuffer_add(b, "\n\n", 2);
	evhttp_send_reply_chunk(r->req, b);
	evbuffer_free(b);
	return true;
}

static void on_pair_read(struct bufferevent *bev, void *arg)
{
	struct api_req *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr eol;
	size_t eol_len;

	for (;;) {
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (eol.pos < 0)
			return;
		size_t n = (size_t)eol.pos + eol_len;
		struct evbuffer *body = evbuffer_new();
		struct json_object *err = NULL;

		if (r->streaming) {
			/* A following line: one event. */
			evbuffer_remove_buffer(in, body, (size_t)eol.pos);
			evbuffer_drain(in, eol_len);
			bool keep = r->req && sse_event(r, body);
			evbuffer_free(body);
			if (!keep) {
				req_free(r);
				return;
			}
			continue;
		}
		bool ok = take_answer(in, n, body, &err);
		if (!r->req) {
			/* The client went away while we waited. */
		} else if (!ok) {
			send_control_error(r->req, err);
		} else if (r->follow) {
			struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
			struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);

			evhttp_add_header(h, "Content-Type", "text/event-stream");
			evhttp_add_header(h, "Cache-Control", "no-store");
			evhttp_send_reply_start(r->req, 200, "OK");
			r->streaming = true;
			/* A follower sends nothing: only a slow writer times out. */
			if (evcon) {
				struct timeval tv = { r->api->d->cfg->api.idle_timeout_s, 0 };
				bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon),
							 NULL, &tv);
			}
			if (sse_event(r, body)) {
				evbuffer_free(body);
				json_object_put(err);
				continue;
			}
		} else {
			send_body(r->req, 200, "application/json", body);
		}
		json_object_put(err);
		evbuffer_free(body);
		if (!r->streaming)
			r->req = NULL; /* answered, or gone */
		req_free(r); /* and ends a stream whose first event could not go */
		return;
	}
}

static void on_pair_event(struct bufferevent *bev, short what, void *arg)
{
	struct api_req *r = arg;

	(void)bev;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	/* The control closed its end: an answer never came, or a stream ended. */
	if (r->req && !r->streaming) {
		send_error(r->req, 500, "EIO", "the daemon closed the request without an answer");
		r->req = NULL;
	}
	req_free(r);
}

/* Send cmd as a control request for r; false (after answering 503) when the control is full. */
static bool req_send(struct api_req *r, struct json_object *cmd, enum api_role role)
{
	struct bufferevent *pair[2];
	char who[64];
	size_t len;

	if (bufferevent_pair_new(r->api->d->base, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS,
				 pair) < 0)
		goto busy;
	snprintf(who, sizeof(who), "api request %u", ++r->api->reqno);
	if (control_attach(r->api->ctl, pair[1],
			   role == API_ROLE_OPERATE ? 0 : CONTROL_CLIENT_READONLY, who) < 0) {
		bufferevent_free(pair[0]);
		bufferevent_free(pair[1]);
		goto busy;
	}
	r->bev = pair[0];
	bufferevent_setcb(r->bev, on_pair_read, NULL, on_pair_event, r);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	json_object_object_add(cmd, "v", json_object_new_int(PROTOCOL_VERSION));
	const char *t = json_object_to_json_string_length(
	    cmd, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	bufferevent_write(r->bev, t, len);
	bufferevent_write(r->bev, "\n", 1);
	return true;
busy:
	if (r->req)
		send_error(r->req, 503, "EBUSY", "the daemon has too many clients; try again");
	r->req = NULL;
	req_free(r);
	return false;
}

/* --- GET /v1/services: the cached list ---------------------------------------------------- */

/*
 * The list gzipped, once per build: 1000 services are 137 kB of JSON and
 * about a tenth of it gzipped, which each request would otherwise encrypt
 * in full. NULL when zlib fails: the plain body is served.
 */
static struct evbuffer *gzip_of(struct evbuffer *in)
{
	size_t n = evbuffer_get_length(in);
	unsigned char *src = evbuffer_pullup(in, -1);
	struct evbuffer *out;
	struct evbuffer_iovec v;
	z_stream z = { 0 };
	int r;

	if (n > UINT_MAX / 2 || deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
					     Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	uLong bound = deflateBound(&z, (uLong)n);
	out = evbuffer_new();
	if (evbuffer_reserve_space(out, (ev_ssize_t)bound, &v, 1) < 1) {
		deflateEnd(&z);
		evbuffer_free(out);
		return NULL;
	}
	z.next_in = src;
	z.avail_in = (uInt)n;
	z.next_out = v.iov_base;
	z.avail_out = (uInt)bound;
	r = deflate(&z, Z_FINISH);
	v.iov_len = z.total_out;
	deflateEnd(&z);
	if (r != Z_STREAM_END) {
		log_warnx("api: cannot gzip the service list: zlib error %d", r);
		evbuffer_free(out);
		return NULL;
	}
	evbuffer_commit_space(out, &v, 1);
	return out;
}

/* The cached list, gzipped when the client takes it and there is a gzipped copy. */
static void list_reply(struct api *api, struct evhttp_request *req, struct evbuffer *cache)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Vary", "Accept-Encoding");
	if (cache == api->list_body && api->list_gz &&
	    api_accepts_gzip(
		evhttp_find_header(evhttp_request_get_input_headers(req), "Accept-Encoding"))) {
		evhttp_add_header(h, "Content-Encoding", "gzip");
		cache = api->list_gz;
	}
	evbuffer_add_buffer_reference(b, cache);
	send_body(req, 200, "application/json", b);
	evbuffer_free(b);
}

/*
 * Build the list here, in one go: what `list` answers, from the same
 * function, without a round through a control client. Built behind a
 * bufferevent pair it took several loop turns, and a service changing
 * meanwhile (one restart a second is enough) threw each build away, so
 * requests queued behind builds that never landed: p99 250 ms with 1000
 * services. About 3 ms for 1000 services, gzip included.
 */
static void list_build(struct api *api)
{
	struct manager *d = api->d;
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, "[", 1);
	for (size_t i = 0; i < d->nservices; i++) {
		struct json_object *o = control_service_json(api->ctl, d->services[i], false);
		size_t len;
		const char *t = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);

		if (i)
			evbuffer_add(b, ",", 1);
		evbuffer_add(b, t, len);
		json_object_put(o);
	}
	evbuffer_add(b, "]", 1);
	/* One chunk, so that each answer is one write (one TLS record), not one per piece. */
	(void)evbuffer_pullup(b, -1);
	if (api->list_body)
		evbuffer_free(api->list_body);
	if (api->list_gz)
		evbuffer_free(api->list_gz);
	api->list_body = b;
	api->list_gz = gzip_of(b);
	api->list_at_ms = now_ms();
}

static bool list_fresh(struct api *api)
{
	uint64_t age = api->d->cfg->probe_interval_ms;

	if (age == 0 || age > API_LIST_MAX_AGE_MS)
		age = API_LIST_MAX_AGE_MS;
	return api->list_body && now_ms() - api->list_at_ms < age;
}

/* A change drops the cache (on_services_changed); the next request builds it again. */
static void list_serve(struct api *api, struct evhttp_request *req)
{
	if (!list_fresh(api))
		list_build(api);
	list_reply(api, req, api->list_body);
}

/* A manager observer: something a list shows may have changed. */
static void on_services_changed(void *arg)
{
	struct api *api = arg;

	if (!api)
		return;
	if (api->list_body) {
		evbuffer_free(api->list_body);
		api->list_body = NULL;
	}
	if (api->list_gz) {
		evbuffer_free(api->list_gz);
		api->list_gz = NULL;
	}
}

/* --- routing ------------------------------------------------------------------------------ */

static unsigned method_bit(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		return API_M_GET;
	case EVHTTP_REQ_POST:
		return API_M_POST;
	case EVHTTP_REQ_PATCH:
		return API_M_PATCH;
	default:
		return 0;
	}
}

/* The role the request's token grants; *csrf_missing for a cookie without the CSRF header. */
static enum api_role request_role(struct api *api, struct evhttp_request *req, bool *bad_token,
				  bool *csrf_missing)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *auth = evhttp_find_header(h, "Authorization");
	const char *cookie = evhttp_find_header(h, "Cookie");
	char tok[API_TOKEN_MAX + 1];
	enum api_role role;

	*bad_token = false;
	*csrf_missing = false;
	if (auth) {
		if (strncasecmp(auth, "Bearer ", 7) != 0) {
			*bad_token = true;
			return API_ROLE_NONE;
		}
		auth += 7;
		while (*auth == ' ')
			auth++;
		role = api_tokens_find(&api->tokens, auth, strlen(auth));
		*bad_token = role == API_ROLE_NONE;
		return role;
	}
	if (cookie && api_cookie_get(cookie, "paddock_token", tok, sizeof(tok)) == 1) {
		role = api_tokens_find(&api->tokens, tok, strlen(tok));
		explicit_bzero(tok, sizeof(tok));
		*bad_token = role == API_ROLE_NONE;
		if (role != API_ROLE_NONE && evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
		    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
			const char *csrf = evhttp_find_header(h, "X-Paddock-CSRF");
			*csrf_missing = !csrf || strcmp(csrf, "1") != 0;
		}
		return role;
	}
	return API_ROLE_NONE;
}

/* The JSON body of a request: an object (or none: NULL with no error). -1 after answering. */
static int request_body(struct evhttp_request *req, struct json_object **out)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	enum json_tokener_error jerr;

	*out = NULL;
	if (len == 0)
		return 0;
	char *s = (char *)evbuffer_pullup(in, -1);
	struct json_tokener *tok = json_tokener_new();
	*out = json_tokener_parse_ex(tok, s, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_success && json_tokener_get_parse_end(tok) != len) {
		/* trailing whitespace is fine, anything else is not */
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
				jerr = json_tokener_error_parse_unexpected;
	}
	json_tokener_free(tok);
	if (jerr != json_tokener_success || !*out || !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		send_error(req, 400, "EINVAL", "the request body must be a JSON object%s%s",
			   jerr != json_tokener_success ? ": " : "",
			   jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "");
		return -1;
	}
	return 0;
}

/* Query parameter key as a number / flag into the command; false after answering 400. */
static bool query_uint(struct evhttp_request *req, const char *query, const char *key,
		       unsigned long long max, struct json_object *cmd)
{
	char v[32];
	unsigned long long u;
	int r = query ? api_query_get(query, key, v, sizeof(v)) : 0;

	if (r == 0)
		return true;
	if (r < 0 || api_parse_uint(v, max, &u) < 0) {
		send_error(req, 400, "EINVAL", "query parameter '%s' must be a number 0..%llu", key,
			   max);
		return false;
	}
	json_object_object_add(cmd, key, json_object_new_int64((int64_t)u));
	return true;
}

static bool query_follow(struct evhttp_request *req, const char *query, bool *follow)
{
	char v[16];
	int r = query ? api_query_get(query, "follow", v, sizeof(v)) : 0;

	*follow = false;
	if (r == 0)
		return true;
	if (r < 0 || api_parse_bool(v, follow) < 0) {
		send_error(req, 400, "EINVAL", "query parameter 'follow' must be 1 or 0");
		return false;
	}
	return true;
}

static struct json_object *names_of(const char *name)
{
	struct json_object *a = json_object_new_array();

	json_object_array_add(a, json_object_new_string(name));
	return a;
}

/* The control request for route rt, from the query and body; NULL after answering. */
static struct json_object *build_command(struct api *api, struct evhttp_request *req,
					 const struct api_route *rt, const char *query,
					 bool *follow)
{
	struct json_object *cmd = json_object_new_object(), *body = NULL, *v;
	char buf[4096];
	int r;

	(void)api;
	*follow = false;
	json_object_object_add(cmd, "cmd", json_object_new_string(rt->cmd));
	if (rt->service[0])
		json_object_object_add(cmd, "names", names_of(rt->service));
	switch (rt->kind) {
	case API_R_LIST:
		r = query ? api_query_get(query, "names", buf, sizeof(buf)) : 0;
		if (r < 0) {
			send_error(req, 400, "EINVAL", "query parameter 'names' is not valid");
			goto fail;
		}
		if (r == 1 && buf[0]) {
			struct json_object *a = json_object_new_array();
			for (char *save = NULL, *n = strtok_r(buf, ",", &save); n;
			     n = strtok_r(NULL, ",", &save))
				json_object_array_add(a, json_object_new_string(n));
			json_object_object_add(cmd, "names", a);
		}
		break;
	case API_R_LOGS:
		if (!query_uint(req, query, "lines", 1000000, cmd) ||
		    !query_uint(req, query, "since_ms", INT64_MAX, cmd) ||
		    !query_follow(req, query, follow))
			goto fail;
		json_object_object_add(cmd, "follow", json_object_new_boolean(*follow));
		break;
	case API_R_EVENTS:
		r = query ? api_query_get(query, "service", buf, sizeof(buf)) : 0;
		if (r < 0) {
			send_error(req, 400, "EINVAL", "query parameter 'service' is not valid");
			goto fail;
		}
		if (r == 1)
			json_object_object_add(cmd, "service", json_object_new_string(buf));
		if (!query_uint(req, query, "since_ms", INT64_MAX, cmd) ||
		    !query_uint(req, query, "max", 1000000, cmd) ||
		    !query_follow(req, query, follow))
			goto fail;
		json_object_object_add(cmd, "follow", json_object_new_boolean(*follow));
		break;
	case API_R_ACTION:
		if (request_body(req, &body) < 0)
			goto fail;
		if (body && strcmp(rt->cmd, PROTO_CMD_KILL) == 0 &&
		    json_object_object_get_ex(body, "signal", &v))
			json_object_object_add(cmd, "signal", json_object_get(v));
		break;
	case API_R_LIMITS:
		if (request_body(req, &body) < 0)
			goto fail;
		if (!body) {
			send_error(req, 400, "EINVAL",
				   "PATCH limits needs a JSON object of KEY: VALUE, or "
				   "{\"reset\": true}");
			goto fail;
		}
		if (json_object_object_get_ex(body, "reset", &v))
			json_object_object_add(cmd, "reset", json_object_get(v));
		else
			json_object_object_add(cmd, "values", json_object_get(body));
		break;
	default:
		break;
	}
	json_object_put(body);
	return cmd;
fail:
	json_object_put(body);
	json_object_put(cmd);
	return NULL;
}

static void serve_history(struct api *api, struct evhttp_request *req, const char *service)
{
	struct json_object *o = history_json(api->h, service);
	size_t len;

	if (!o) {
		send_error(req, 404, "ENOENT", "no history for service %s", service);
		return;
	}
	const char *t = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	send_json_text(req, 200, t, len);
	json_object_put(o);
}

static void serve_openapi(struct evhttp_request *req)
{
	const struct asset *a = asset_find("openapi.json");
	struct evbuffer *b = evbuffer_new();

	if (!a) {
		evbuffer_free(b);
		send_error(req, 404, "ENOENT", "this paddockd was built without its API document");
		return;
	}
	evbuffer_add_reference(b, a->data, a->len, NULL, NULL);
	send_body(req, 200, "application/json", b);
	evbuffer_free(b);
}

static void conn_arm_deadline(struct api_conn *c)
{
	struct timeval tv = { c->api->d->cfg->api.idle_timeout_s, 0 };

	if (c->ev_deadline)
		evtimer_add(c->ev_deadline, &tv);
}

static struct api_conn *conn_of(struct api *api, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	for (struct api_conn *c = api->conns; c; c = c->next)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

static const char *allow_header(unsigned methods)
{
	return methods == API_M_GET ? "GET, HEAD" : methods == API_M_POST ? "POST" : "PATCH";
}

/* --- GET /v1/events?follow=1: one eventlog follower for every stream ------------------- */

/*
 * Each event is formatted once and queued on every stream that wants it;
 * the streams are flushed API_SSE_BATCH a loop turn, each its queue as one
 * chunk (one TLS record), so that a burst of events to 200 followers
 * neither holds the loop nor costs a write per event and follower.
 */
static void on_sse_flush(evutil_socket_t fd, short what, void *arg)
{
	struct api *api = arg;

	(void)fd, (void)what;
	for (unsigned n = 0; api->dirty && n < API_SSE_BATCH; n++) {
		struct api_req *r = api->dirty;

		api->dirty = r->dnext;
		if (r->dnext)
			r->dnext->dprevp = &api->dirty;
		else
			api->dirty_tail = &api->dirty;
		r->dnext = NULL;
		r->dprevp = NULL;
		if (r->req)
			evhttp_send_reply_chunk(r->req, r->pending);
	}
	if (api->dirty) {
		struct timeval zero = { 0, 0 };
		evtimer_add(api->ev_flush, &zero);
	}
}

/* The stream's output and queue past the bound: its client does not read. */
static bool sse_backlogged(struct api_req *r, size_t adding)
{
	struct evhttp_connection *evcon = r->req ? evhttp_request_get_connection(r->req) : NULL;
	struct bufferevent *cbev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	size_t out = cbev ? evbuffer_get_length(bufferevent_get_output(cbev)) : 0;

	return out + evbuffer_get_length(r->pending) + adding > API_MAX_STREAM_BACKLOG;
}

static void on_api_event(void *arg, struct json_object *ev)
{
	struct api *api = arg;
	struct json_object *v;
	const char *text = NULL, *service = NULL;
	size_t len = 0;

	if (json_object_object_get_ex(ev, "service", &v))
		service = json_object_get_string(v);
	for (struct api_req *r = api->followers, *next; r; r = next) {
		next = r->enext;
		if (r->events_service && (!service || strcmp(service, r->events_service) != 0))
			continue;
		if (!text)
			text = json_object_to_json_string_length(ev, JSON_C_TO_STRING_PLAIN, &len);
		if (sse_backlogged(r, len + 8)) {
			log_warnx("api: dropping an event-stream client that does not read");
			req_free(r);
			continue;
		}
		evbuffer_add(r->pending, "data: ", 6);
		evbuffer_add(r->pending, text, len);
		evbuffer_add(r->pending, "\n\n", 2);
		if (!r->dprevp) {
			r->dprevp = api->dirty_tail;
			*api->dirty_tail = r;
			api->dirty_tail = &r->dnext;
		}
	}
	if (api->dirty && !evtimer_pending(api->ev_flush, NULL)) {
		struct timeval zero = { 0, 0 };
		evtimer_add(api->ev_flush, &zero);
	}
}

/*
 * Answer an event stream here rather than through a control client: the
 * past events (the control's "events" answer) as the first SSE event, then
 * every new one from on_api_event. Query and subscription happen in this
 * one callback, so no event falls between them nor comes twice.
 */
static void events_follow(struct api *api, struct evhttp_request *req, struct api_conn *conn,
			  struct json_object *cmd)
{
	struct json_object *v;
	const char *service = NULL;
	uint64_t since = 0;
	int64_t max = 1000;

	if (json_object_object_get_ex(cmd, "service", &v)) {
		service = json_object_get_string(v);
		if (!manager_find(api->d, service)) {
			send_error(req, 404, "ENOENT", "no such service: %s", service);
			return;
		}
	}
	if (json_object_object_get_ex(cmd, "since_ms", &v))
		since = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(cmd, "max", &v))
		max = json_object_get_int64(v);
	if (max < 1 || max > EVENTS_RING) {
		send_error(req, 400, "EINVAL", "max must be 1..%d", EVENTS_RING);
		return;
	}
	struct json_object *past = eventlog_query(api->d->events, service, since, (unsigned)max);
	struct api_req *r = req_new(api, req, conn, API_R_EVENTS);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	size_t len;

	r->follow = true;
	r->events = true;
	r->events_service = service ? xstrdup(service) : NULL;
	r->pending = evbuffer_new();
	r->enext = api->followers;
	r->eprevp = &api->followers;
	if (api->followers)
		api->followers->eprevp = &r->enext;
	api->followers = r;
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply_start(req, 200, "OK");
	r->streaming = true;
	/* A follower sends nothing: only a slow writer times out. */
	if (evcon) {
		struct timeval tv = { api->d->cfg->api.idle_timeout_s, 0 };
		bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), NULL, &tv);
	}
	const char *t = json_object_to_json_string_length(past, JSON_C_TO_STRING_PLAIN, &len);
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, "data: ", 6);
	evbuffer_add(b, t, len);
	evbuffer_add(b, "\n\n", 2);
	evhttp_send_reply_chunk(req, b);
	evbuffer_free(b);
	json_object_put(past);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct api_conn *conn = conn_of(api, req);
	struct api_route rt;
	bool bad_token, csrf_missing, follow;
	enum api_role role;
	int r;

	if (conn)
		conn_arm_deadline(conn); /* the next request's clock starts now */
	if (conn && conn->refused) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		send_error(req, 503, "EBUSY",
			   "too many clients: this API serves at most %u connections at once "
			   "(api.max_clients); try again later",
			   api->d->cfg->api.max_clients);
		return;
	}
	if (!path || !*path)
		path = "/";
	role = request_role(api, req, &bad_token, &csrf_missing);
	if (strncmp(path, "/v1/", 4) != 0 && strcmp(path, "/v1") != 0) {
		char *dec = evhttp_uridecode(path, 0, NULL);
		/* A stale cookie is no login: the dashboard shows its form. */
		bool served = dec && dashboard_serve(api->db, api, req, dec,
						     bad_token ? API_ROLE_NONE : role);
		free(dec);
		if (!served)
			send_error(req, 404, "ENOENT", "no such page");
		return;
	}
	r = api_route_match(path, &rt);
	if (r == 0 && rt.kind == API_R_OPENAPI) {
		if (!(method_bit(evhttp_request_get_command(req)) & rt.methods)) {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
					  allow_header(rt.methods));
			send_error(req, 405, "EINVAL", "%s takes GET", path);
			return;
		}
		serve_openapi(req);
		return;
	}
	if (role == API_ROLE_NONE) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
				  "Bearer realm=\"paddock\"");
		send_error(req, 401, "EACCES",
			   bad_token ? "unknown token"
				     : "a token is needed (Authorization: Bearer TOKEN)");
		return;
	}
	if (r == -EINVAL) {
		send_error(req, 400, "EINVAL", "bad service name in the path");
		return;
	}
	if (r < 0) {
		send_error(req, 404, "ENOENT", "no such route: %.200s", path);
		return;
	}
	if (!(method_bit(evhttp_request_get_command(req)) & rt.methods)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
				  allow_header(rt.methods));
		send_error(req, 405, "EINVAL", "%s takes %s", path, allow_header(rt.methods));
		return;
	}
	if (csrf_missing) {
		send_error(req, 403, "EPERM",
			   "a request authenticated by cookie must carry X-Paddock-CSRF: 1");
		return;
	}
	if (rt.needs == API_ROLE_OPERATE && role != API_ROLE_OPERATE) {
		send_error(req, 403, "EPERM", "this token may only read; %s needs an operate token",
			   path);
		return;
	}
	if (rt.kind == API_R_HISTORY) {
		serve_history(api, req, rt.service);
		return;
	}
	if (rt.kind == API_R_LIST && (!query || !*query)) {
		list_serve(api, req);
		return;
	}
	struct json_object *cmd = build_command(api, req, &rt, query, &follow);
	if (!cmd)
		return;
	if (rt.kind == API_R_EVENTS && follow && api->ev_flush) {
		events_follow(api, req, conn, cmd);
		json_object_put(cmd);
		return;
	}
	struct api_req *ar = req_new(api, req, conn, rt.kind);
	ar->follow = follow;
	(void)req_send(ar, cmd, role);
	json_object_put(cmd);
}

/* --- connections ------------------------------------------------------------------ */

/*
 * Accept while there is room: max_clients served and API_MAX_REFUSED
 * being refused. Past that, clients wait in the listen backlog (and
 * paddockd's fds stay bounded) until one goes; after an accept error,
 * not until ev_resume fires.
 */
static void accept_update(struct api *api)
{
	bool full = api->nconns >= api->d->cfg->api.max_clients && api->nrefused >= API_MAX_REFUSED;

	if (!api->listener)
		return;
	if (full || evtimer_pending(api->ev_resume, NULL))
		evconnlistener_disable(api->listener);
	else
		evconnlistener_enable(api->listener);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	accept_update(arg);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct api *api = arg;
	struct timeval tv = { 0, API_ACCEPT_PAUSE_MS * 1000 };
	static uint64_t last_log;
	int err = EVUTIL_SOCKET_ERROR();

	(void)l;
	if (now_ms() - last_log >= 10000) {
		log_warnx("api: accept: %s; pausing new connections for %d ms", strerror(err),
			  API_ACCEPT_PAUSE_MS);
		last_log = now_ms();
	}
	evtimer_add(api->ev_resume, &tv);
	accept_update(api);
}

static void conn_free(struct api_conn *c)
{
	if (!c->refused)
		c->api->nconns--;
	else
		c->api->nrefused--;
	accept_update(c->api);
	if (c->ev_deadline)
		event_free(c->ev_deadline);
	*c->prevp = c->next;
	if (c->next)
		c->next->prevp = c->prevp;
	free(c);
}

/*
 * No whole request within idle_timeout of connecting or of the previous
 * one: a client sending a byte now and then (which the idle timeout lets
 * through) is closed too. The clock stops while a request is answered.
 */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct api_conn *c = arg;

	(void)fd, (void)what;
	if (c->overflow) {
		log_debug("api: closing a client that sent more than a request while answered");
		evhttp_connection_free(c->evcon); /* on_conn_close frees c */
		return;
	}
	if (c->active) {
		conn_arm_deadline(c);
		return;
	}
	log_debug("api: closing a client that sent no whole request in %us",
		  c->api->d->cfg->api.idle_timeout_s);
	evhttp_connection_free(c->evcon); /* on_conn_close frees c */
}

/* evhttp drops the connection: its request (if any) is ours to finish, or already freed. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct api_conn *c = arg;
	struct api_req *r = c->active;

	(void)evcon;
	if (r) {
		r->conn = NULL;
		c->active = NULL;
		if (r->req && !evhttp_request_get_connection(r->req)) {
			/* Detached by evhttp (client gone before we finished): free it. */
			evhttp_send_reply_end(r->req);
		}
		r->req = NULL;
		r->streaming = false;
		if (r->follow)
			req_free(r); /* stop following */
	}
	conn_free(c);
}

static size_t conn_read_cap(const struct api *api)
{
	return API_MAX_HEADERS + api->d->cfg->api.max_body + 4096;
}

/* Input past one request's worth (a follower sending while its stream goes): close it. */
static void on_conn_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct api_conn *c = arg;

	if (info->n_added && !c->overflow && evbuffer_get_length(in) >= conn_read_cap(c->api)) {
		c->overflow = true;
		event_active(c->ev_deadline, EV_TIMEOUT, 0); /* not from inside evhttp's read */
	}
}

/*
 * After bevcb returned, evhttp has made the connection: learn when it
 * closes. evhttp gives its connection as the bufferevent's callback
 * argument (libevent 2.1 has no other way from a bevcb to the connection);
 * this runs before the loop polls again, so no connection is gone yet.
 */
static void on_adopt(evutil_socket_t fd, short what, void *arg)
{
	struct api *api = arg;
	struct api_conn *c, *next;

	(void)fd, (void)what;
	for (c = api->conns; c; c = next) {
		void *cbarg = NULL;

		next = c->next;
		if (c->evcon)
			break; /* new connections are at the head: the rest were adopted before */
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
		if (!cbarg) {
			conn_free(c);
			continue;
		}
		c->evcon = cbarg;
		evhttp_connection_set_closecb(c->evcon, on_conn_close, c);
		/*
		 * evhttp reads on while a reply (an event stream) is written:
		 * cap what it may buffer to one request, and close a client
		 * that fills that (on_conn_input), so that it frees its slot.
		 */
		bufferevent_setwatermark(c->bev, EV_READ, 0, conn_read_cap(api));
		evbuffer_add_cb(bufferevent_get_input(c->bev), on_conn_input, c);
		c->ev_deadline = evtimer_new(api->d->base, on_deadline, c);
		conn_arm_deadline(c);
		if (api->ssl) {
			/* Without it a response's last segment waits for the client's delayed ACK (40 ms). */
			int one = 1;
			(void)setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one,
					 sizeof(one));
		}
	}
}

static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
	struct api *api = arg;
	struct api_conn *c = xcalloc(1, sizeof(*c));

	if (api->ssl)
		c->bev = api_tls_bufferevent(api->ssl, base);
	else
		c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		free(c);
		return NULL; /* evhttp makes a plain one; fails the TLS handshake, harmless */
	}
	c->api = api;
	c->refused = api->nconns >= api->d->cfg->api.max_clients;
	if (c->refused) {
		api->nrefused++;
		/* One line per 10 s, not one per connection a flood makes. */
		if (now_ms() - api->refused_logged_ms >= 10000) {
			log_warnx("api: %u clients connected, refusing one (api.max_clients)%s",
				  api->nconns, api->refused_unlogged ? "; more refused since" : "");
			api->refused_logged_ms = now_ms();
			api->refused_unlogged = 0;
		} else {
			api->refused_unlogged++;
		}
	} else {
		api->nconns++;
	}
	accept_update(api);
	c->next = api->conns;
	c->prevp = &api->conns;
	if (api->conns)
		api->conns->prevp = &c->next;
	api->conns = c;
	event_active(api->ev_adopt, EV_TIMEOUT, 0);
	return c->bev;
}

/* --- setup ---------------------------------------------------------------------- */

static int listen_unix(struct api *api, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct evhttp_bound_socket *bound;
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -errno;
	(void)unlink(path);
	/* Anyone may connect: the tokens decide. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 128) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!(bound = evhttp_accept_socket_with_handle(api->http, fd))) {
		close(fd);
		return -ENOMEM;
	}
	api->listener = evhttp_bound_socket_get_listener(bound);
	api->unix_path = xstrdup(path);
	return 0;
}

static int listen_tcp(struct api *api, const char *addr)
{
	const char *colon = strrchr(addr, ':');
	struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM }, *ai;
	char host[256], portstr[8];
	struct evhttp_bound_socket *bound;
	unsigned port;
	int fd, r, one = 1;

	if (!colon || sscanf(colon + 1, "%u", &port) != 1 || port == 0 || port > 65535)
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	if (!host[0])
		snprintf(host, sizeof(host), "0.0.0.0");
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((r = getaddrinfo(host, portstr, &hints, &ai)) != 0)
		return r == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
	/* Bound here, not by evhttp, to report the real reason it failed. */
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		r = -errno;
		freeaddrinfo(ai);
		return r;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		freeaddrinfo(ai);
		close(fd);
		return r;
	}
	freeaddrinfo(ai);
	if (!(bound = evhttp_accept_socket_with_handle(api->http, fd))) {
		close(fd);
		return -ENOMEM;
	}
	api->listener = evhttp_bound_socket_get_listener(bound);
	return 0;
}

int api_open(struct manager *d, struct control *ctl, struct history *h, struct dashboard *db,
	     struct api **out)
{
	const typeof(d->cfg->api) *c = &d->cfg->api;
	struct api *api;
	int r;

	*out = NULL;
	if (!c->listen)
		return 0;
	api = xcalloc(1, sizeof(*api));
	api->d = d;
	api->ctl = ctl;
	api->h = h;
	api->db = db;
	if ((r = api_load_tokens(api, c->tokens)) < 0)
		goto fail;
	if (c->listen[0] != '/' && (r = api_tls_new(c->tls_cert, c->tls_key, &api->ssl)) < 0)
		goto fail;
	api->ev_adopt = event_new(d->base, -1, 0, on_adopt, api);
	api->ev_resume = evtimer_new(d->base, on_accept_resume, api);
	api->http = evhttp_new(d->base);
	if (!api->http || !api->ev_adopt || !api->ev_resume) {
		r = -ENOMEM;
		goto fail;
	}
	struct timeval tv = { c->idle_timeout_s, 0 };
	evhttp_set_timeout_tv(api->http, &tv);
	evhttp_set_max_headers_size(api->http, API_MAX_HEADERS);
	evhttp_set_max_body_size(api->http, (ev_ssize_t)c->max_body);
	evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						  EVHTTP_REQ_PATCH | EVHTTP_REQ_PUT |
						  EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
	evhttp_set_bevcb(api->http, on_new_conn, api);
	evhttp_set_gencb(api->http, on_request, api);
	r = c->listen[0] == '/' ? listen_unix(api, c->listen) : listen_tcp(api, c->listen);
	if (r < 0) {
		log_warnx("api: cannot listen on %s: %s", c->listen, strerror(-r));
		goto fail;
	}
	evconnlistener_set_error_cb(api->listener, on_accept_error);
	manager_observe(d, on_services_changed, api);
	api->dirty_tail = &api->dirty;
	if (d->events) {
		api->ev_flush = evtimer_new(d->base, on_sse_flush, api);
		(void)eventlog_follow(d->events, on_api_event, api);
	}
	log_info("api: listening on %s%s (%zu tokens)", c->listen, api->ssl ? " with TLS" : "",
		 api->tokens.n);
	*out = api;
	return 0;
fail:
	api_free(api);
	return r;
}

struct api *api_free(struct api *api)
{
	if (!api)
		return NULL;
	if (api->ev_flush) {
		eventlog_unfollow(api->d->events, on_api_event, api);
		event_free(api->ev_flush);
		api->ev_flush = NULL;
	}
	while (api->reqs) {
		api->reqs->req = NULL;
		api->reqs->conn = NULL;
		req_free(api->reqs);
	}
	for (struct api_conn *c = api->conns; c; c = c->next)
		if (c->evcon)
			evhttp_connection_set_closecb(c->evcon, NULL, NULL);
	if (api->http)
		evhttp_free(api->http);
	api->listener = NULL; /* evhttp's, freed with it */
	while (api->conns)
		conn_free(api->conns);
	if (api->ev_adopt)
		event_free(api->ev_adopt);
	if (api->ev_resume)
		event_free(api->ev_resume);
	if (api->list_body)
		evbuffer_free(api->list_body);
	if (api->list_gz)
		evbuffer_free(api->list_gz);
	if (api->unix_path)
		(void)unlink(api->unix_path);
	free(api->unix_path);
	api->ssl = api_tls_free(api->ssl);
	api_tokens_clear(&api->tokens);
	free(api);
	/* The manager's observer list cannot be shortened: api_free runs at exit only. */
	return NULL;
}
