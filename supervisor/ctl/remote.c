/*
 * remote.c - paddockctl --url: each control request as its HTTP API route
 * (core/api.h), answers turned back into the control protocol's shape by
 * remote-parse.c, so paddockctl renders them as it renders the socket's.
 * Followed streams (logs -f, events -f) are Server-Sent Events, read
 * through a FILE that yields one JSON object a line, like the socket.
 *
 * One server per process, one libcurl handle reused across requests (a
 * status of every service is one request a service on one connection).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "remote-parse.h"
#include "remote.h"
#include "util.h"

#define MAX_TOKEN_FILE 4096
#define MAX_TOKEN 1024
#define CONNECT_TIMEOUT_S 10L

static struct {
	CURL *curl;
	char *base; /* the URL without a trailing '/': "https://host:8443", "http://localhost" */
	const char *shown; /* the URL as given, for messages */
	char *unix_path; /* unix:/PATH */
	char *cacert;
	char *auth; /* "Authorization: Bearer TOKEN", or NULL */
	char errbuf[CURL_ERROR_SIZE];
} R;

/* --- set-up: the URL and the token ---------------------------------------------------- */

/* The token of a file: its first line that is neither blank nor a comment, "TOKEN" or "ROLE TOKEN". */
static int read_token(const char *path, char **out, struct error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	char buf[MAX_TOKEN_FILE + 1], *save = NULL, *line;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return error_set(err, errno, "token file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return error_set(err, EINVAL, "token file %s: not a regular file", path);
	/* Like ssh with its keys: a secret others can read is no longer one. */
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return error_set(err, EPERM,
				 "token file %s: mode %04o gives group or others access; "
				 "chmod 600 it",
				 path, (unsigned)(st.st_mode & 07777));
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return error_set(err, errno, "token file %s: %s", path, strerror(errno));
	if (n > MAX_TOKEN_FILE)
		return error_set(err, EFBIG, "token file %s: larger than %d bytes", path,
				 MAX_TOKEN_FILE);
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *w1, *w2, *w3, *ws = NULL;
		line += strspn(line, " \t\r");
		if (!*line || *line == '#')
			continue;
		w1 = strtok_r(line, " \t\r", &ws);
		w2 = strtok_r(NULL, " \t\r", &ws);
		w3 = strtok_r(NULL, " \t\r", &ws);
		const char *tok = w2 ? w2 : w1;
		size_t len = strlen(tok);
		if (w3 || len > MAX_TOKEN)
			return error_set(err, EINVAL,
					 "token file %s: the first line is not TOKEN or ROLE TOKEN",
					 path);
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f)
				return error_set(err, EINVAL,
						 "token file %s: the token has a character that "
						 "cannot go in an HTTP header",
						 path);
		return xasprintf(out, "Authorization: Bearer %s", tok) < 0 ? -ENOMEM : 0;
	}
	return error_set(err, EINVAL, "token file %s: no token in it", path);
}

int remote_open(const struct remote_opts *o, struct error *err)
{
	const char *u = o->url;
	size_t len;
	int r;

	R.shown = u;
	if (strncmp(u, "unix:", 5) == 0) {
		if (u[5] != '/')
			return error_set(err, EINVAL, "URL %s: unix: needs an absolute path", u);
		R.unix_path = xstrdup(u + 5);
		R.base = xstrdup("http://localhost");
	} else if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) {
		if (strpbrk(u, "?# \t\r\n"))
			return error_set(err, EINVAL, "URL %s: no query, fragment or spaces", u);
		if ((r = remote_check_url(u, err)) < 0)
			return r;
		R.base = xstrdup(u);
		for (len = strlen(R.base); len > 8 && R.base[len - 1] == '/'; len--)
			R.base[len - 1] = '\0';
	} else {
		return error_set(err, EINVAL,
				 "URL %s: use http://HOST:PORT, https://HOST:PORT or unix:/PATH",
				 u);
	}
	if (o->cacert)
		R.cacert = xstrdup(o->cacert);
	if (o->token_file && (r = read_token(o->token_file, &R.auth, err)) < 0)
		return r;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(R.curl = curl_easy_init()))
		return error_set(err, ENOMEM, "cannot initialise libcurl");
	return 0;
}

void remote_close(void)
{
	if (R.curl)
		curl_easy_cleanup(R.curl);
	free(R.base);
	free(R.unix_path);
	free(R.cacert);
	if (R.auth)
		explicit_bzero(R.auth, strlen(R.auth));
	free(R.auth);
	memset(&R, 0, sizeof(R));
}

/* --- one request ---------------------------------------------------------------------- */

struct body {
	char *buf;
	size_t len, cap;
	bool too_big;
};

static bool body_add(struct body *b, const char *p, size_t n)
{
	if (b->len + n > REMOTE_MAX_BODY) {
		b->too_big = true;
		return false;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *nb = realloc(b->buf, cap);
		if (!nb)
			return false;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return true;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	return body_add(arg, p, size * n) ? size * n : 0;
}

/* The handle set for METHOD base+path; *hdrs must be freed after the transfer. */
static void prepare(const char *method, const char *path, const char *body, bool sse,
		    struct curl_slist **hdrs)
{
	CURL *c = R.curl;
	char *url;

	curl_easy_reset(c);
	if (xasprintf(&url, "%s%s", R.base, path) < 0)
		abort();
	curl_easy_setopt(c, CURLOPT_URL, url); /* libcurl keeps a copy */
	free(url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, R.errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "paddockctl/" PACKAGE_VERSION);
	if (R.unix_path)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, R.unix_path);
	if (R.cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, R.cacert);
	*hdrs = NULL;
	if (R.auth)
		*hdrs = curl_slist_append(*hdrs, R.auth);
	*hdrs = curl_slist_append(*hdrs,
				  sse ? "Accept: text/event-stream" : "Accept: application/json");
	if (body) {
		*hdrs = curl_slist_append(*hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body);
	}
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0 && !body)
		curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	R.errbuf[0] = '\0';
}

/* err for a transfer that failed: the URL and libcurl's reason. */
static struct json_object *transfer_failed(CURLcode rc, const struct body *b, struct error *err)
{
	long os_errno = 0;

	if (b && b->too_big)
		error_set(err, EPROTO, "%s: an answer larger than %u MiB", R.shown,
			  REMOTE_MAX_BODY >> 20);
	else if (R.unix_path && rc == CURLE_COULDNT_CONNECT &&
		 curl_easy_getinfo(R.curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno)
		/* libcurl would say "localhost port 80": the socket is what failed */
		error_set(err, ECONNREFUSED, "cannot reach paddockd at %s: %s", R.shown,
			  strerror((int)os_errno));
	else
		error_set(err, ECONNREFUSED, "cannot reach paddockd at %s: %s", R.shown,
			  R.errbuf[0] ? R.errbuf : curl_easy_strerror(rc));
	return NULL;
}

/* METHOD path with a JSON body (or none): the control-shaped answer. */
static struct json_object *exchange(const char *method, const char *path, struct json_object *body,
				    struct error *err)
{
	struct body b = { 0 };
	struct curl_slist *hdrs;
	struct json_object *resp = NULL;
	long status = 0;
	CURLcode rc;

	prepare(method, path,
		body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL, false,
		&hdrs);
	curl_easy_setopt(R.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(R.curl, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(R.curl);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		transfer_failed(rc, &b, err);
	} else {
		curl_easy_getinfo(R.curl, CURLINFO_RESPONSE_CODE, &status);
		if (!(resp = remote_answer(status, b.buf, b.len, err)))
			error_prefix(err, "%s %s: ", method, path);
	}
	free(b.buf);
	return resp;
}

/* --- paths ---------------------------------------------------------------------------- */

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		   ? json_object_get_string(v)
		   : NULL;
}

/* "/v1/services/NAME" + tail, NAME escaped. */
static char *service_path(const char *name, const char *tail)
{
	char *e = curl_easy_escape(R.curl, name, 0), *p;

	if (!e || xasprintf(&p, "/v1/services/%s%s", e, tail) < 0)
		abort();
	curl_free(e);
	return p;
}

/* Append "&key=value" (or "?key=value" first) to a query being built, value escaped. */
static void query_add(FILE *q, bool *first, const char *key, const char *value)
{
	char *e = curl_easy_escape(R.curl, value, 0);

	if (!e)
		abort();
	fprintf(q, "%c%s=%s", *first ? '?' : '&', key, e);
	*first = false;
	curl_free(e);
}

static void query_add_int(FILE *q, bool *first, struct json_object *req, const char *key,
			  const char *qkey)
{
	struct json_object *v;
	char num[32];

	if (json_object_object_get_ex(req, key, &v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_object_get_int64(v));
		query_add(q, first, qkey, num);
	}
}

/* --- commands ------------------------------------------------------------------------- */

static bool answer_ok(struct json_object *resp)
{
	struct json_object *v;
	return json_object_object_get_ex(resp, "ok", &v) && json_object_get_boolean(v);
}

/* Results of one route a service, gathered into one answer: arrays joined. */
static struct json_object *each_service(const char *method, struct json_object *names,
					const char *tail, struct json_object *body,
					struct error *err)
{
	bool status = strcmp(method, "GET") == 0; /* a service's status: into the list */
	struct json_object *all = json_object_new_array(), *last = NULL, *resp;

	for (size_t i = 0; i < json_object_array_length(names); i++) {
		char *path =
		    service_path(json_object_get_string(json_object_array_get_idx(names, i)), tail);
		resp = exchange(method, path, body, err);
		free(path);
		if (!resp || !answer_ok(resp)) {
			json_object_put(all);
			json_object_put(last);
			return resp; /* the first failure, as the socket's act_on_each */
		}
		struct json_object *r = json_object_object_get(resp, "result");
		if (json_object_is_type(r, json_type_array))
			for (size_t k = 0; k < json_object_array_length(r); k++)
				json_object_array_add(
				    all, json_object_get(json_object_array_get_idx(r, k)));
		else if (status && json_object_is_type(r, json_type_object))
			json_object_array_add(all, json_object_get(r)); /* one service's status */
		json_object_put(last);
		last = resp;
	}
	/* start/stop answer a list of services; freeze/thaw/kill an empty object, set its limits. */
	if (json_object_array_length(all) > 0 || !last) {
		json_object_put(last);
		resp = json_object_new_object();
		json_object_object_add(resp, "ok", json_object_new_boolean(1));
		json_object_object_add(resp, "result", all);
		return resp;
	}
	json_object_put(all);
	return last;
}

/* status without names: every service the list names, each as GET /v1/services/NAME. */
static struct json_object *status_all(struct error *err)
{
	struct json_object *resp = exchange("GET", "/v1/services", NULL, err), *names, *r;

	if (!resp || !answer_ok(resp))
		return resp;
	names = json_object_new_array();
	r = json_object_object_get(resp, "result");
	for (size_t i = 0; i < json_object_array_length(r); i++) {
		const char *n = jstr(json_object_array_get_idx(r, i), "name");
		if (n)
			json_object_array_add(names, json_object_new_string(n));
	}
	json_object_put(resp);
	resp = each_service("GET", names, "", NULL, err);
	json_object_put(names);
	return resp;
}

static const char *const simple_cmds[] = { "start", "stop", "restart", "freeze", "thaw", "kill" };

static bool is_simple(const char *cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(simple_cmds); i++)
		if (strcmp(cmd, simple_cmds[i]) == 0)
			return true;
	return false;
}

/* Whether the API has a route for a control command. */
static bool has_route(const char *cmd)
{
	static const char *const others[] = { "list", "status", "set",	       "reload",
					      "logs", "events", "image-in-use" };
	for (size_t i = 0; i < ARRAY_SIZE(others); i++)
		if (strcmp(cmd, others[i]) == 0)
			return true;
	return is_simple(cmd);
}

static struct json_object *follow(const char *cmd, const char *path, FILE **stream,
				  struct error *err);

struct json_object *remote_call(struct json_object *req, FILE **stream, struct error *err)
{
	const char *cmd = jstr(req, "cmd");
	struct json_object *names = NULL, *v, *resp;

	json_object_object_get_ex(req, "names", &names);
	if (!cmd || !has_route(cmd)) {
		resp = json_object_new_object();
		json_object_object_add(resp, "ok", json_object_new_boolean(0));
		json_object_object_add(resp, "code", json_object_new_string("EINVAL"));
		json_object_object_add(
		    resp, "error",
		    json_object_new_string("the HTTP API has no route for this command; "
					   "run it on the host, over the Unix socket"));
		return resp;
	}
	if (strcmp(cmd, "list") == 0)
		return exchange("GET", "/v1/services", NULL, err);
	if (strcmp(cmd, "status") == 0)
		return names ? each_service("GET", names, "", NULL, err) : status_all(err);
	if (is_simple(cmd)) {
		char tail[16];
		struct json_object *body = NULL;
		snprintf(tail, sizeof(tail), "/%s", cmd);
		if (json_object_object_get_ex(req, "signal", &v)) {
			body = json_object_new_object();
			json_object_object_add(body, "signal", json_object_get(v));
		}
		resp = each_service("POST", names, tail, body, err);
		json_object_put(body);
		return resp;
	}
	if (strcmp(cmd, "set") == 0) {
		/* The body: {"KEY": "VALUE", ...}, or {"reset": true}. */
		struct json_object *body;
		if (json_object_object_get_ex(req, "values", &v)) {
			body = json_object_get(v);
		} else {
			body = json_object_new_object();
			json_object_object_add(body, "reset", json_object_new_boolean(1));
		}
		resp = each_service("PATCH", names, "/limits", body, err);
		json_object_put(body);
		return resp;
	}
	if (strcmp(cmd, "reload") == 0)
		return exchange("POST", "/v1/reload", NULL, err);
	if (strcmp(cmd, "image-in-use") == 0)
		return exchange("GET", "/v1/images", NULL, err);

	/* logs and events: a query, and with follow a stream. */
	char *q = NULL, *path = NULL;
	size_t qlen = 0;
	bool first = true,
	     fol = json_object_object_get_ex(req, "follow", &v) && json_object_get_boolean(v);
	FILE *qf = open_memstream(&q, &qlen);

	if (!qf)
		abort();
	if (strcmp(cmd, "logs") == 0) {
		path = service_path(json_object_get_string(json_object_array_get_idx(names, 0)),
				    "/logs");
		fputs(path, qf);
		free(path);
		query_add_int(qf, &first, req, "lines", "lines");
	} else {
		fputs("/v1/events", qf);
		if ((v = json_object_object_get(req, "service")))
			query_add(qf, &first, "service", json_object_get_string(v));
		query_add_int(qf, &first, req, "max", "max");
	}
	query_add_int(qf, &first, req, "since_ms", "since_ms");
	if (fol)
		query_add(qf, &first, "follow", "1");
	fclose(qf);
	resp = fol && stream ? follow(cmd, q, stream, err) : exchange("GET", q, NULL, err);
	free(q);
	return resp;
}

/* --- followed streams ----------------------------------------------------------------- */

struct stream {
	const char *cmd; /* "logs" or "events" */
	CURLM *multi;
	struct curl_slist *hdrs;
	int mode; /* 0 before the first bytes, 1 an event stream, 2 a plain answer */
	struct sse_parser sse;
	struct body plain;
	struct json_object *answer; /* the first event, as the socket's first line */
	bool answered; /* answer was taken: events from now on are followed objects */
	struct body lines; /* followed objects as JSON lines, not yet read */
	size_t lines_off;
	bool done, failed;
	CURLcode rc;
	struct error err;
};

/* Whether an event is the history the socket would answer first (logs {text}, events [..]). */
static bool is_history(const char *cmd, struct json_object *o)
{
	if (strcmp(cmd, "events") == 0)
		return json_object_is_type(o, json_type_array);
	return json_object_is_type(o, json_type_object) &&
	       json_object_object_get_ex(o, "text", NULL) &&
	       !json_object_object_get_ex(o, "line", NULL);
}

static struct json_object *ok_answer(struct json_object *result)
{
	struct json_object *a = json_object_new_object();
	json_object_object_add(a, "ok", json_object_new_boolean(1));
	json_object_object_add(a, "result", result);
	return a;
}

static int on_event(void *arg, const char *event, const char *data, size_t len)
{
	struct stream *s = arg;
	struct json_object *o = remote_json(data, len), *v;
	const char *line;
	size_t n;

	if (!o)
		return error_set(&s->err, EPROTO, "event stream: an event that is not JSON");
	bool is_error = strcmp(event, "error") == 0 ||
			(json_object_object_get_ex(o, "ok", &v) && !json_object_get_boolean(v));
	if (is_error) {
		/* An error event: what the server says, as an error answer. */
		json_object_put(s->answer);
		s->answer = remote_answer(500, data, len, &s->err);
		s->answered = false;
		json_object_put(o);
		return -ECANCELED;
	}
	if (!s->answered) {
		s->answered = true;
		if (json_object_object_get_ex(o, "ok", NULL)) {
			s->answer = o; /* the control protocol's own answer, passed through */
			return 0;
		}
		if (is_history(s->cmd, o)) {
			s->answer = ok_answer(o);
			return 0;
		}
		s->answer = ok_answer(strcmp(s->cmd, "events") == 0 ? json_object_new_array()
								    : json_object_new_object());
		if (strcmp(s->cmd, "logs") == 0)
			json_object_object_add(json_object_object_get(s->answer, "result"), "text",
					       json_object_new_string(""));
	}
	line = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
	bool fits = body_add(&s->lines, line, n) && body_add(&s->lines, "\n", 1);
	json_object_put(o);
	return fits ? 0 : error_set(&s->err, EMSGSIZE, "event stream: the reader fell behind");
}

static size_t on_stream(char *p, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	size_t len = size * n;

	if (s->mode == 0) {
		long status = 0;
		char *ct = NULL;
		curl_easy_getinfo(R.curl, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(R.curl, CURLINFO_CONTENT_TYPE, &ct);
		s->mode = status == 200 && ct && strncmp(ct, "text/event-stream", 17) == 0 ? 1 : 2;
	}
	if (s->mode == 2)
		return body_add(&s->plain, p, len) ? len : 0;
	if (sse_feed(&s->sse, p, len, on_event, s, &s->err) < 0) {
		s->failed = s->err.code != 0;
		return 0;
	}
	return len;
}

/* Run the transfer a while: up to a second waiting for the server. */
static void pump(struct stream *s)
{
	int running = 0, left;
	CURLMsg *m;

	if (curl_multi_perform(s->multi, &running) != CURLM_OK)
		running = 0;
	if (running) {
		(void)curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
		return;
	}
	while ((m = curl_multi_info_read(s->multi, &left)))
		if (m->msg == CURLMSG_DONE)
			s->rc = m->data.result;
	s->done = true;
}

static ssize_t stream_read(void *cookie, char *buf, size_t size)
{
	struct stream *s = cookie;
	size_t n;

	while (s->lines_off == s->lines.len && !s->done)
		pump(s);
	if (s->lines_off == s->lines.len) {
		if (s->failed)
			fprintf(stderr, "paddockctl: %s: %s\n", R.shown, s->err.msg);
		else if (s->answer) /* an error event after the first */
			fprintf(stderr, "paddockctl: %s\n", jstr(s->answer, "error"));
		return 0;
	}
	n = s->lines.len - s->lines_off;
	if (n > size)
		n = size;
	memcpy(buf, s->lines.buf + s->lines_off, n);
	s->lines_off += n;
	if (s->lines_off == s->lines.len)
		s->lines_off = s->lines.len = 0;
	return (ssize_t)n;
}

static int stream_close(void *cookie)
{
	struct stream *s = cookie;

	curl_multi_remove_handle(s->multi, R.curl);
	curl_multi_cleanup(s->multi);
	curl_slist_free_all(s->hdrs);
	sse_parser_clear(&s->sse);
	free(s->plain.buf);
	free(s->lines.buf);
	json_object_put(s->answer);
	free(s);
	return 0;
}

/*
 * GET path as an event stream: the answer once the first event is in (or
 * the server answered without a stream), then *stream for the rest.
 */
static struct json_object *follow(const char *cmd, const char *path, FILE **stream,
				  struct error *err)
{
	struct stream *s = xcalloc(1, sizeof(*s));
	struct json_object *resp = NULL;
	cookie_io_functions_t io = { .read = stream_read, .close = stream_close };

	s->cmd = cmd;
	prepare("GET", path, NULL, true, &s->hdrs);
	curl_easy_setopt(R.curl, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(R.curl, CURLOPT_WRITEDATA, s);
	if (!(s->multi = curl_multi_init()) || curl_multi_add_handle(s->multi, R.curl) != CURLM_OK)
		abort();
	while (!s->answered && !s->answer && !s->done)
		pump(s);
	if (s->answer) {
		resp = steal_pointer(&s->answer);
	} else if (s->failed) {
		*err = s->err;
	} else if (s->mode == 2 && s->rc == CURLE_OK) {
		long status = 0;
		curl_easy_getinfo(R.curl, CURLINFO_RESPONSE_CODE, &status);
		resp = remote_answer(status, s->plain.buf, s->plain.len, err);
	} else {
		transfer_failed(s->rc, &s->plain, err);
	}
	if (!resp || !answer_ok(resp) || !(*stream = fopencookie(s, "r", io))) {
		stream_close(s);
		if (stream)
			*stream = NULL;
	}
	return resp;
}
