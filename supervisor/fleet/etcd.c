/*
 * etcd.c - the I/O half of the etcd client (etcd.h): libcurl's multi
 * interface driven by libevent (curl_multi_socket_action from socket and
 * timer events), so no call ever blocks the loop. One easy handle per call;
 * a watch is a call whose body streams newline-separated JSON messages.
 */
#define CURL_DISABLE_TYPECHECK /* calls go through the pointers below */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "log.h"

/*
 * libcurl is loaded when a fleet is configured, not linked: linked, it
 * and its 40-odd libraries were mapped into every paddockd, which doubled
 * the daemon's RSS with 200 services (helpers forked from it map them
 * too) and made each start's clone copy their page tables: 30% slower
 * starts, for a feature most hosts never turn on.
 */
static struct {
	void *dl;
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
	CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
	CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_cleanup)(CURLM *);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} lc;

/* curl.h defines the setopt/getinfo names as macros (to check argument counts). */
#undef curl_multi_setopt
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_multi_init (*lc.multi_init)
#define curl_multi_setopt (*lc.multi_setopt)
#define curl_multi_socket_action (*lc.multi_socket_action)
#define curl_multi_assign (*lc.multi_assign)
#define curl_multi_add_handle (*lc.multi_add_handle)
#define curl_multi_remove_handle (*lc.multi_remove_handle)
#define curl_multi_info_read (*lc.multi_info_read)
#define curl_multi_cleanup (*lc.multi_cleanup)
#define curl_easy_init (*lc.easy_init)
#define curl_easy_setopt (*lc.easy_setopt)
#define curl_easy_getinfo (*lc.easy_getinfo)
#define curl_easy_cleanup (*lc.easy_cleanup)
#define curl_easy_strerror (*lc.easy_strerror)
#define curl_slist_append (*lc.slist_append)
#define curl_slist_free_all (*lc.slist_free_all)

/* Load libcurl once; 0, or -ENOENT with why it could not be loaded logged. */
static int load_curl(void)
{
	static const char *const names[] = {
		"curl_multi_init",	"curl_multi_setopt",	 "curl_multi_socket_action",
		"curl_multi_assign",	"curl_multi_add_handle", "curl_multi_remove_handle",
		"curl_multi_info_read", "curl_multi_cleanup",	 "curl_easy_init",
		"curl_easy_setopt",	"curl_easy_getinfo",	 "curl_easy_cleanup",
		"curl_easy_strerror",	"curl_slist_append",	 "curl_slist_free_all",
	};
	void **slots[] = {
		(void **)&lc.multi_init,	  (void **)&lc.multi_setopt,
		(void **)&lc.multi_socket_action, (void **)&lc.multi_assign,
		(void **)&lc.multi_add_handle,	  (void **)&lc.multi_remove_handle,
		(void **)&lc.multi_info_read,	  (void **)&lc.multi_cleanup,
		(void **)&lc.easy_init,		  (void **)&lc.easy_setopt,
		(void **)&lc.easy_getinfo,	  (void **)&lc.easy_cleanup,
		(void **)&lc.easy_strerror,	  (void **)&lc.slist_append,
		(void **)&lc.slist_free_all,
	};
	void *dl;

	if (lc.dl)
		return 0;
	if (!(dl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL))) {
		log_warnx("fleet: cannot load libcurl.so.4 (package libcurl4): %s", dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!(*slots[i] = dlsym(dl, names[i]))) {
			log_warnx("fleet: libcurl.so.4 has no %s", names[i]);
			dlclose(dl);
			return -ENOENT;
		}
	lc.dl = dl;
	return 0;
}

#define ETCD_CONNECT_TIMEOUT_MS 1000

struct etcd {
	struct event_base *base;
	CURLM *multi;
	struct event *ev_timer;
	char **endpoints;
	size_t nendpoints, cur;
	char *ca, *cert, *key;
	struct etcd_call *calls; /* live calls, to free them with the client */
	char last_error[200]; /* what the last HTTP error's body said, or curl's words */
	int last_code; /* the gRPC status in the last HTTP error's body */
};

struct etcd_call {
	struct etcd *e;
	CURL *h;
	struct curl_slist *headers;
	char *body;
	char *buf; /* the reply so far (a watch: the message so far) */
	size_t len, cap;
	bool too_big;
	char errbuf[CURL_ERROR_SIZE]; /* curl's own words for a failure (TLS, ...) */
	etcd_done_fn done;
	etcd_message_fn on_message; /* watch only */
	void *arg;
	struct etcd_call *next, **pprev;
};

/* Per-socket event, kept as curl's socket pointer. */
struct etcd_sock {
	struct event *ev;
};

static void call_free(struct etcd_call *c)
{
	if (!c)
		return;
	if (c->h) {
		curl_multi_remove_handle(c->e->multi, c->h);
		curl_easy_cleanup(c->h);
	}
	if (c->pprev) {
		*c->pprev = c->next;
		if (c->next)
			c->next->pprev = c->pprev;
	}
	curl_slist_free_all(c->headers);
	free(c->body);
	free(c->buf);
	free(c);
}

static int map_curl_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return -ECONNREFUSED;
	case CURLE_WRITE_ERROR:
		return -EMSGSIZE;
	default:
		return -ECOMM; /* not -EIO: that is an answer from etcd */
	}
}

static void finish(struct etcd_call *c, CURLcode rc)
{
	struct etcd *e = c->e;
	struct etcd_reply r;
	long status = 0;
	int err = 0;

	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	e->last_code = 0;
	if (c->too_big)
		err = -EMSGSIZE;
	else if (rc != CURLE_OK)
		err = map_curl_error(rc);
	if (err == -ECOMM)
		snprintf(e->last_error, sizeof(e->last_error), "%.199s",
			 c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
	/* This member is unreachable, slow or unwell (no leader): later calls try the next one. */
	if (((err && err != -EMSGSIZE) || (!err && status >= 500)) && e->nendpoints > 1)
		e->cur = (e->cur + 1) % e->nendpoints;
	if (!err && status != 200) {
		/* etcd explains a refusal in the body: {"error": ..., "message": ..., "code": ...} */
		err = -EIO;
		if (!c->on_message && etcd_reply_parse(c->buf ? c->buf : "", c->len, &r) == 0) {
			snprintf(e->last_error, sizeof(e->last_error), "HTTP %ld: %s", status,
				 r.error[0] ? r.error : "no message");
			e->last_code = r.code;
			etcd_reply_clear(&r);
		} else {
			snprintf(e->last_error, sizeof(e->last_error), "HTTP %ld", status);
		}
	}
	if (err || c->on_message) {
		/* A watch's messages were delivered as they came. */
		if (c->done)
			c->done(c->arg, err, NULL);
	} else if ((err = etcd_reply_parse(c->buf ? c->buf : "", c->len, &r)) < 0) {
		if (c->done)
			c->done(c->arg, err, NULL);
	} else {
		if (c->done)
			c->done(c->arg, 0, &r);
		etcd_reply_clear(&r);
	}
	call_free(c);
}

static void check_done(struct etcd *e)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(e->multi, &left))) {
		struct etcd_call *c = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		if (c)
			finish(c, m->data.result);
	}
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct etcd *e = arg;
	int running, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(e->multi, fd, flags, &running);
	check_done(e);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct etcd *e = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(e);
}

static int socket_cb(CURL *h, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct etcd *e = userp;
	struct etcd_sock *sk = socketp;

	(void)h;
	if (what == CURL_POLL_REMOVE) {
		if (sk) {
			event_free(sk->ev);
			free(sk);
			curl_multi_assign(e->multi, s, NULL);
		}
		return 0;
	}
	if (!sk) {
		if (!(sk = calloc(1, sizeof(*sk))))
			return -1;
		curl_multi_assign(e->multi, s, sk);
	} else if (sk->ev) {
		event_free(sk->ev);
		sk->ev = NULL;
	}
	short ev = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
		   ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (!(sk->ev = event_new(e->base, s, ev, on_socket_event, e)) || event_add(sk->ev, NULL))
		return -1;
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct etcd *e = userp;

	(void)m;
	if (timeout_ms < 0) {
		evtimer_del(e->ev_timer);
		return 0;
	}
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	return evtimer_add(e->ev_timer, &tv);
}

/* Deliver each complete line of a watch stream; keep the partial rest. */
static void watch_lines(struct etcd_call *c)
{
	char *nl;
	size_t off = 0;

	while ((nl = memchr(c->buf + off, '\n', c->len - off))) {
		struct etcd_reply r;
		size_t n = (size_t)(nl - (c->buf + off));

		if (n > 0 && etcd_reply_parse(c->buf + off, n, &r) == 0) {
			c->on_message(c->arg, &r);
			etcd_reply_clear(&r);
		} else if (n > 0) {
			log_warnx("etcd %s: ignoring a malformed watch message",
				  c->e->endpoints[c->e->cur]);
		}
		off += n + 1;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *userp)
{
	struct etcd_call *c = userp;
	size_t n = size * nmemb;

	if (c->len + n > ETCD_MAX_REPLY) {
		c->too_big = true;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	if (c->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + n + 1)
			cap *= 2;
		char *b = realloc(c->buf, cap);
		if (!b)
			return 0;
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	c->buf[c->len] = '\0';
	if (c->on_message)
		watch_lines(c);
	return n;
}

struct etcd *etcd_new(struct event_base *base, const struct etcd_opts *o)
{
	struct etcd *e;

	if (load_curl() < 0 || !(e = calloc(1, sizeof(*e))))
		return NULL;
	e->base = base;
	e->nendpoints = o->nendpoints;
	e->endpoints = calloc(o->nendpoints + 1, sizeof(char *));
	if (!e->endpoints)
		return etcd_free(e);
	for (size_t i = 0; i < o->nendpoints; i++)
		if (!(e->endpoints[i] = strdup(o->endpoints[i])))
			return etcd_free(e);
	if ((o->ca && !(e->ca = strdup(o->ca))) || (o->cert && !(e->cert = strdup(o->cert))) ||
	    (o->key && !(e->key = strdup(o->key))))
		return etcd_free(e);
	if (!(e->multi = curl_multi_init()) || !(e->ev_timer = evtimer_new(base, on_timer, e)))
		return etcd_free(e);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	return e;
}

struct etcd *etcd_free(struct etcd *e)
{
	if (!e)
		return NULL;
	while (e->calls)
		call_free(e->calls);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	if (e->ev_timer)
		event_free(e->ev_timer);
	for (size_t i = 0; e->endpoints && i < e->nendpoints; i++)
		free(e->endpoints[i]);
	free(e->endpoints);
	free(e->ca);
	free(e->cert);
	free(e->key);
	free(e);
	return NULL;
}

const char *etcd_last_error(const struct etcd *e)
{
	return e->last_error;
}

int etcd_last_code(const struct etcd *e)
{
	return e->last_code;
}

const char *etcd_strerror(const struct etcd *e, int err)
{
	return err == -EIO || err == -ECOMM ? e->last_error : strerror(-err);
}

const char *etcd_endpoint(const struct etcd *e)
{
	return e->endpoints[e->cur];
}

static struct etcd_call *start(struct etcd *e, const char *path, struct json_object *body,
			       uint32_t timeout_ms, etcd_done_fn done, etcd_message_fn on_message,
			       void *arg)
{
	struct etcd_call *c = calloc(1, sizeof(*c));
	char url[512];

	if (!c || !body)
		goto fail;
	c->e = e;
	c->done = done;
	c->on_message = on_message;
	c->arg = arg;
	if (!(c->body = strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN))))
		goto fail;
	json_object_put(body);
	body = NULL;
	snprintf(url, sizeof(url), "%s%s", e->endpoints[e->cur], path);
	if (!(c->h = curl_easy_init()) ||
	    !(c->headers = curl_slist_append(NULL, "Content-Type: application/json")))
		goto fail;
	/*
	 * A watch on a member cut off from the others would stay open and
	 * silent: with hasleader (the gateway's form of WithRequireLeader),
	 * etcd cancels it once the member has had no leader for a while.
	 */
	if (on_message) {
		struct curl_slist *l =
		    curl_slist_append(c->headers, "Grpc-Metadata-hasleader: true");
		if (!l)
			goto fail;
		c->headers = l;
	}
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->h, CURLOPT_PRIVATE, c);
	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, (long)ETCD_CONNECT_TIMEOUT_MS);
	if (timeout_ms)
		curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	if (on_message) {
		/* A watch is silent while nothing changes: notice a dead peer by TCP keepalive. */
		curl_easy_setopt(c->h, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(c->h, CURLOPT_TCP_KEEPIDLE, 5L);
		curl_easy_setopt(c->h, CURLOPT_TCP_KEEPINTVL, 2L);
	}
	if (e->ca)
		curl_easy_setopt(c->h, CURLOPT_CAINFO, e->ca);
	if (e->cert) {
		curl_easy_setopt(c->h, CURLOPT_SSLCERT, e->cert);
		curl_easy_setopt(c->h, CURLOPT_SSLKEY, e->key);
	}
	if (curl_multi_add_handle(e->multi, c->h) != CURLM_OK)
		goto fail;
	c->next = e->calls;
	if (e->calls)
		e->calls->pprev = &c->next;
	e->calls = c;
	c->pprev = &e->calls;
	return c;
fail:
	json_object_put(body);
	if (c && c->h) {
		curl_easy_cleanup(c->h);
		c->h = NULL;
	}
	call_free(c);
	return NULL;
}

struct etcd_call *etcd_post(struct etcd *e, const char *path, struct json_object *body,
			    uint32_t timeout_ms, etcd_done_fn done, void *arg)
{
	return start(e, path, body, timeout_ms, done, NULL, arg);
}

struct etcd_call *etcd_watch(struct etcd *e, const char *prefix, int64_t from,
			     etcd_message_fn on_message, etcd_done_fn done, void *arg)
{
	struct json_object *req = etcd_req_range(prefix, true), *w = json_object_new_object();

	if (!req || !w) {
		json_object_put(req);
		json_object_put(w);
		return NULL;
	}
	if (from > 0)
		json_object_object_add(req, "start_revision", json_object_new_int64(from));
	json_object_object_add(w, "create_request", req);
	return start(e, "/v3/watch", w, 0, done, on_message, arg);
}

void etcd_cancel(struct etcd_call *c)
{
	call_free(c);
}
