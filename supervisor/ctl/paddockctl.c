/*
 * paddockctl.c - command-line client of paddockd. Speaks the JSON-lines
 * protocol of control.c; `check` works without a daemon.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 usage error,
 * 3 no such service, 4 cannot reach the daemon.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "compose.h"
#include "config.h"
#ifndef PADDOCKCTL_THIN
#include "image.h"
#endif
#include "protocol.h"
#ifdef PADDOCKCTL_REMOTE
#include "remote-parse.h"
#include "remote.h"
#endif
#include "units.h"
#include "util.h"

#define DEFAULT_SOCKET "/run/paddock/control.sock"
#define CHECK_DEFAULT_CONFIG "/etc/paddock/paddock.yaml" /* paddockd's default */

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NOSERVICE = 3, EXIT_NODAEMON = 4 };

static const char *socket_path;
static bool opt_json;
/* --url: a paddockd's HTTP API instead of the socket (paddockctl-remote does it) */
static const char *opt_url, *opt_token_file, *opt_cacert;

/* One command of paddockctl; main() finds it in `commands` at the end of the file. */
struct ctl_command {
	const char *name;
	int (*run)(const struct ctl_command *c, int argc, char **argv);
	unsigned flags;
	const char *usage; /* synopsis lines for --help; NULL: shown with the entry before */
	const char *help; /* description lines for --help, next to the synopsis */
};

/* Takes service names, at least one: main() says so before running the command. */
#define CTL_NAMES 0x1
/* Works with --url: its requests have HTTP API routes, or it needs no daemon. */
#define CTL_REMOTE 0x2

/* --- transport --------------------------------------------------------------------- */

static int connect_daemon(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(socket_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "paddockctl: socket path too long: %s\n", socket_path);
		exit(EXIT_USAGE);
	}
	strcpy(sun.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr,
			"paddockctl: cannot reach paddockd at %s: %s\n"
			"(looked at -s, then $PADDOCK_SOCKET, then " DEFAULT_SOCKET ")\n",
			socket_path, strerror(errno));
		exit(EXIT_NODAEMON);
	}
	return fd;
}

static void send_request(int fd, struct json_object *req)
{
	const char *s;
	size_t len, off = 0;

	json_object_object_add(req, "v", json_object_new_int(PROTOCOL_VERSION));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	while (off < len) {
		ssize_t n = write(fd, s + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return; /* the daemon refused us and closed: its answer is waiting */
		if (n < 0) {
			fprintf(stderr, "paddockctl: write to daemon: %s\n", strerror(errno));
			exit(EXIT_NODAEMON);
		}
		off += (size_t)n;
	}
	(void)!write(fd, "\n", 1);
}

/* Read one JSON line; NULL at EOF. */
static struct json_object *read_response(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	struct json_object *o;

	if (n <= 0) {
		free(line);
		return NULL;
	}
	o = json_tokener_parse(line);
	free(line);
	if (!o) {
		fprintf(stderr, "paddockctl: malformed answer from daemon\n");
		exit(EXIT_FAIL);
	}
	return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

/* jstr, "" when missing: for strlen and strcmp. */
static const char *jstr0(struct json_object *o, const char *key)
{
	const char *v = jstr(o, key);
	return v ? v : "";
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : 0;
}

#ifdef PADDOCKCTL_REMOTE
/* --url: the request as its HTTP API route; *f yields what a follow streams. */
static struct json_object *call_remote(struct json_object *req, FILE **f)
{
	struct error err = { 0 };
	struct json_object *resp = remote_call(req, f, &err), *ok, *result = NULL;

	/* The server is not trusted: a result of another shape would crash a renderer. */
	if (resp && json_object_object_get_ex(resp, "ok", &ok) && json_object_get_boolean(ok) &&
	    (!json_object_object_get_ex(resp, "result", &result) ||
	     remote_check_result(jstr(req, "cmd"), result, &err) < 0)) {
		if (!result)
			error_set(&err, EPROTO, "the server's answer has no result");
		json_object_put(resp);
		resp = NULL;
	}
	json_object_put(req);
	if (!resp) {
		fprintf(stderr, "paddockctl: %s\n", err.msg);
		exit(err.code == EPROTO || err.code == EMSGSIZE ? EXIT_FAIL : EXIT_NODAEMON);
	}
	remote_defang(resp); /* no escape sequences from the server reach the terminal */
	return resp;
}
#endif

/* One request, one answer; on error print it and exit with the right code. */
static struct json_object *call(struct json_object *req, FILE **keep)
{
	FILE *f = NULL;
	struct json_object *resp, *v = NULL;

#ifdef PADDOCKCTL_REMOTE
	if (opt_url) {
		resp = call_remote(req, keep ? &f : NULL);
	} else
#endif
	{
		int fd = connect_daemon();
		send_request(fd, req);
		json_object_put(req);
		f = fdopen(fd, "r");
		resp = read_response(f);
		if (!resp) {
			fprintf(stderr, "paddockctl: daemon closed the connection\n");
			exit(EXIT_NODAEMON);
		}
	}
	if (!json_object_object_get_ex(resp, "ok", &v) && keep) {
		*keep = f; /* a streamed object before the answer (run --wait) */
		return resp;
	}
	if (!v || !json_object_get_boolean(v)) {
		const char *code = jstr(resp, "code");
		struct json_object *errs = NULL;
		if (opt_json)
			printf("%s\n",
			       json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PRETTY));
		else
			fprintf(stderr, "paddockctl: %s\n", jstr(resp, "error"));
		/* A refused reload names every problem, FILE:LINE:COLUMN: message. */
		if (!opt_json && json_object_object_get_ex(resp, "errors", &errs))
			for (size_t i = 0; i < json_object_array_length(errs); i++) {
				struct json_object *e = json_object_array_get_idx(errs, i);
				fprintf(stderr, "%s:%lld:%lld: %s\n", jstr(e, "file"),
					(long long)jint(e, "line"), (long long)jint(e, "column"),
					jstr(e, "message"));
			}
		int rc = code && strcmp(code, "ENOENT") == 0   ? EXIT_NOSERVICE
			 : code && strcmp(code, "EINVAL") == 0 ? EXIT_USAGE
							       : EXIT_FAIL;
		json_object_put(resp);
		if (f)
			fclose(f);
		exit(rc);
	}
	if (keep)
		*keep = f;
	else if (f)
		fclose(f);
	return resp;
}

static struct json_object *request(const char *cmd, char **names, int nnames)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	if (nnames > 0) {
		struct json_object *arr = json_object_new_array();
		for (int i = 0; i < nnames; i++)
			json_object_array_add(arr, json_object_new_string(names[i]));
		json_object_object_add(req, "names", arr);
	}
	return req;
}

static struct json_object *result_of(struct json_object *resp)
{
	struct json_object *r = NULL;
	json_object_object_get_ex(resp, "result", &r);
	return r;
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* --- human output -------------------------------------------------------------------- */

static void format_since(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char ago[32];
	int64_t secs = (int64_t)time(NULL) - t;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	if (secs < 0)
		secs = 0;
	units_format_duration((uint64_t)secs * 1000, ago, sizeof(ago));
	size_t used = strlen(buf);
	snprintf(buf + used, len - used, " (%s ago)", ago);
}

static const char *size_or(const char *raw, char *buf, size_t len)
{
	char *end;
	unsigned long long v;

	if (!raw)
		return "-";
	v = strtoull(raw, &end, 10);
	if (end == raw || *end)
		return raw; /* "max" and friends */
	if (v >= (1ULL << 62))
		return "max";
	return units_format_size(v, buf, len);
}

/* cpu.max "quota period" -> "1.5 CPUs"; "max ..." -> "max". */
static const char *cpus_or(const char *raw, char *buf, size_t len)
{
	unsigned long long quota, period;

	if (!raw)
		return "-";
	if (sscanf(raw, "%llu %llu", &quota, &period) != 2 || period == 0)
		return strncmp(raw, "max", 3) == 0 ? "max" : raw;
	snprintf(buf, len, "%.2f CPUs", (double)quota / (double)period);
	return buf;
}

/* "     Ready: notify, ready after 120 ms; watchdog 2s" and the service's STATUS= text. */
static void print_ready(struct json_object *s)
{
	struct json_object *r = NULL, *v;
	const char *type;

	if (!json_object_object_get_ex(s, "ready", &r) || !r)
		return;
	type = jstr(r, "type");
	if (type && strcmp(type, "none") != 0) {
		bool ready = json_object_get_boolean(json_object_object_get(r, "ready"));
		printf("     Ready: %s, ", type);
		if (ready && json_object_object_get_ex(r, "ready_ms", &v))
			printf("ready after %lld ms", (long long)json_object_get_int64(v));
		else if (ready)
			printf("ready");
		else
			printf("not ready (timeout %lld ms)", (long long)jint(r, "timeout_ms"));
		if (json_object_object_get_ex(r, "probe", &v))
			printf("; last probe: %s", json_object_get_string(v));
		printf("\n");
	}
	if (json_object_object_get_ex(r, "watchdog_ms", &v))
		printf("  Watchdog: %lld ms\n", (long long)json_object_get_int64(v));
	if (json_object_object_get_ex(r, "mainpid", &v))
		printf("   MAINPID: %lld\n", (long long)json_object_get_int64(v));
	if (jstr(s, "status_text"))
		printf("    Status: %s\n", jstr(s, "status_text"));
}

/* "    Health: http, healthy (0 failed of 3); last: HTTP/1.1 200 OK". */
static void print_health(struct json_object *s)
{
	struct json_object *h = NULL;
	const char *out;

	if (!json_object_object_get_ex(s, "health", &h) || !h)
		return;
	printf("    Health: %s, %s", jstr(h, "type"), jstr(h, "status") ?: "not checked");
	if (jstr(h, "status"))
		printf(" (%lld failed of %lld)", (long long)jint(h, "failures"),
		       (long long)jint(h, "retries"));
	out = jstr(h, "last_output");
	if (out && *out) /* one line of it: status is a summary */
		printf("; last: %.*s", (int)strcspn(out, "\n"), out);
	printf("\n");
}

/* "Rebalance: observe; budget 236 MiB (...)" and each knob's target with its reason. */
static void print_rebalance(struct json_object *s)
{
	struct json_object *r = NULL, *b = NULL, *t = NULL, *why = NULL, *v;
	char buf[32];

	if (!json_object_object_get_ex(s, "rebalance", &r) || !r)
		return;
	printf(" Rebalance: %s", jstr(r, "mode"));
	if (json_object_object_get_ex(r, "budget", &b) && b &&
	    json_object_object_get_ex(b, "memory", &v))
		printf("; memory budget %s (%s)",
		       size_or(json_object_get_string(v), buf, sizeof(buf)),
		       jstr(b, "memory_source") ?: "-");
	printf("\n");
	json_object_object_get_ex(r, "reasons", &why);
	if (!json_object_object_get_ex(r, "targets", &t) || !t)
		return;
	json_object_object_foreach(t, knob, val)
	{
		const char *raw = json_object_get_string(val);
		const char *shown = strncmp(knob, "memory.", 7) == 0
					? size_or(raw, buf, sizeof(buf))
				    : strcmp(knob, "cpu.max") == 0 && strcmp(raw, "max") != 0
					? (snprintf(buf, sizeof(buf), "%.2f CPUs",
						    json_object_get_int64(val) / 1000.0),
					   buf)
					: raw;
		printf("            %-11s -> %s (%s)\n", knob, shown,
		       why && jstr(why, knob) ? jstr(why, knob) : "-");
	}
}

/*
 * A v1 memory controller has no min, low or high: only the hard limit and
 * the soft limit (shown as "memory.low" in the JSON). The soft limit only
 * orders global reclaim, groups above it first; below it nothing is
 * protected. So an unlimited soft limit means "never reclaimed first",
 * not "all protected" as v2's "low max" would: say that in words.
 */
static void print_v1_memory(struct json_object *l, struct json_object *u)
{
	const char *soft = jstr(l, "memory.low");
	char b1[32], b2[32], b3[32];

	printf("    Memory: %s (max %s, ", size_or(jstr(u, "memory.current"), b1, sizeof(b1)),
	       size_or(jstr(l, "memory.max"), b2, sizeof(b2)));
	if (!soft)
		printf("soft-limit -)\n");
	else if (strcmp(soft, "max") == 0)
		printf("soft-limit unlimited (v1: no reclaim protection))\n");
	else if (strcmp(soft, "0") == 0)
		printf("soft-limit 0 (v1: reclaimed first under host pressure))\n");
	else
		printf("soft-limit %s (v1: reclaimed first above it, no protection below))\n",
		       size_or(soft, b3, sizeof(b3)));
}

/* Addresses on bridge networks and published ports. */
static void print_network(struct json_object *s)
{
	struct json_object *n, *nets, *ports;

	if (!json_object_object_get_ex(s, "network", &n) ||
	    !json_object_object_get_ex(n, "networks", &nets))
		return;
	for (size_t i = 0; i < json_object_array_length(nets); i++) {
		struct json_object *e = json_object_array_get_idx(nets, i), *al;
		printf("%s %s %s on %s", i ? "          " : "   Network:", jstr(e, "interface"),
		       jstr(e, "address"), jstr(e, "network"));
		if (json_object_object_get_ex(e, "aliases", &al) && json_object_array_length(al)) {
			printf(" (aliases");
			for (size_t k = 0; k < json_object_array_length(al); k++)
				printf(" %s",
				       json_object_get_string(json_object_array_get_idx(al, k)));
			printf(")");
		}
		printf("\n");
	}
	if (json_object_object_get_ex(n, "ports", &ports) && json_object_array_length(ports)) {
		printf("     Ports:");
		for (size_t k = 0; k < json_object_array_length(ports); k++)
			printf(" %s", json_object_get_string(json_object_array_get_idx(ports, k)));
		printf("\n");
	}
}

/* "  Identity: uid 1000 gid 1000 groups 27 1001 umask 0027 ambient 0000000000000400" */
static void print_identity(struct json_object *s)
{
	struct json_object *id = NULL;
	const char *amb, *groups;

	if (!json_object_object_get_ex(s, "identity", &id) || !jstr(id, "uid"))
		return;
	amb = jstr(id, "cap_ambient");
	groups = jstr(id, "groups");
	printf("  Identity: uid %s gid %s groups %s umask %s", jstr(id, "uid"),
	       jstr(id, "gid") ?: "-", groups && *groups ? groups : "-", jstr(id, "umask") ?: "-");
	if (amb && strspn(amb, "0") != strlen(amb))
		printf(" ambient caps %s", amb);
	printf("\n");
}

/* io.max lines, hugetlb limits and the device policy (issue 19). */
static void print_iodev(struct json_object *s, struct json_object *l)
{
	struct json_object *d = NULL, *arr = NULL;
	const char *io = jstr(l, "io.max");

	for (const char *p = io; p && *p;) {
		size_t n = strcspn(p, "\n");
		printf("%s%.*s\n", p == io ? "    IO max: " : "            ", (int)n, p);
		p += n + (p[n] == '\n');
	}
	json_object_object_foreach(l, key, val)
	{
		size_t kl = strlen(key);
		if (strncmp(key, "hugetlb.", 8) == 0 && kl > 12 &&
		    strcmp(key + kl - 4, ".max") == 0)
			printf("   Hugetlb: %.*s pages, max %s\n", (int)(kl - 12), key + 8,
			       json_object_get_string(val));
	}
	if (!json_object_object_get_ex(s, "devices", &d))
		return;
	if (!json_object_get_boolean(json_object_object_get(d, "policy"))) {
		printf("   Devices: any (no device policy)\n");
		return;
	}
	printf("   Devices: paddock's /dev");
	json_object_object_get_ex(d, "allowed", &arr);
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		printf("%s%s (%s)", i ? ", " : " + ", jstr(e, "path"), jstr(e, "access"));
	}
	printf("\n");
}

/* A realtime ms as local "YYYY-MM-DD HH:MM:SS ZONE", or "-" for 0. */
static const char *stamp_or(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !localtime_r(&t, &tm))
		return "-";
	strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm);
	return buf;
}

/* A timer's expression, with its zone when that is not written in it: "0 3 * * * (UTC)". */
static const char *schedule_text(struct json_object *t, char *buf, size_t len)
{
	const char *expr = jstr(t, "schedule") ?: "", *tz = jstr(t, "timezone");

	if (tz && !strstr(expr, tz))
		snprintf(buf, len, "%s (%s)", expr, tz);
	else
		snprintf(buf, len, "%s", expr);
	return buf;
}

static void print_status(struct json_object *s)
{
	struct json_object *l = NULL, *u = NULL, *e = NULL;
	char since[96], b1[32], b2[32], b3[32], b4[32], b5[32];
	const char *tail;

	json_object_object_get_ex(s, "limits", &l);
	json_object_object_get_ex(s, "usage", &u);
	json_object_object_get_ex(s, "last_exit", &e);
	format_since(jint(s, "since_ms"), since, sizeof(since));
	printf("%s %s - %s since %s\n", strcmp(jstr0(s, "state"), "running") == 0 ? "*" : "o",
	       jstr(s, "name"), jstr(s, "state"), since);
	printf("     Class: %s\n", jstr(s, "class"));
	if (jint(s, "main_pid"))
		printf("  Main PID: %lld\n", (long long)jint(s, "main_pid"));
	printf("  Restarts: %lld", (long long)jint(s, "restarts"));
	if (jint(s, "reloads"))
		printf(" (and %lld for reloads)", (long long)jint(s, "reloads"));
	printf("\n");
	if (e)
		printf(" Last exit: %s\n", jstr(e, "reason"));
	if (jstr(s, "waiting_for"))
		printf("   Waiting: for %s\n", jstr(s, "waiting_for"));
	if (json_object_get_boolean(json_object_object_get(s, "bound_stop")))
		printf("     Bound: stopped with a binds_to service; starts again with it\n");
	struct json_object *tm = NULL;
	if (json_object_object_get_ex(s, "timer", &tm)) {
		char sched[256], when[64];
		printf("  Schedule: %s, overlap %s%s\n", schedule_text(tm, sched, sizeof(sched)),
		       jstr(tm, "overlap"),
		       json_object_get_boolean(json_object_object_get(tm, "persistent"))
			   ? ", persistent"
			   : "");
		printf("  Last run: %s\n", stamp_or(jint(tm, "last_run_ms"), when, sizeof(when)));
		printf("  Next run: %s\n", stamp_or(jint(tm, "next_ms"), when, sizeof(when)));
	}
	print_ready(s);
	print_health(s);
	if (jstr(s, "cgroup"))
		printf("    Cgroup: %s%s\n", jstr(s, "cgroup"),
		       json_object_get_boolean(json_object_object_get(s, "frozen")) ? " (frozen)"
										    : "");
	if (l && u) {
		if (jstr(s, "memory_controller") && strcmp(jstr(s, "memory_controller"), "v1") == 0)
			print_v1_memory(l, u);
		else
			printf("    Memory: %s (min %s, low %s, high %s, max %s)\n",
			       size_or(jstr(u, "memory.current"), b1, sizeof(b1)),
			       size_or(jstr(l, "memory.min"), b2, sizeof(b2)),
			       size_or(jstr(l, "memory.low"), b3, sizeof(b3)),
			       size_or(jstr(l, "memory.high"), b4, sizeof(b4)),
			       size_or(jstr(l, "memory.max"), b5, sizeof(b5)));
		printf("       CPU: weight %s, max %s%s%s%s%s\n", jstr(l, "cpu.weight") ?: "-",
		       cpus_or(jstr(l, "cpu.max"), b1, sizeof(b1)),
		       jstr(l, "cpuset.cpus") ? ", cpus " : "", jstr(l, "cpuset.cpus") ?: "",
		       jstr(l, "cpuset.mems") ? ", mems " : "", jstr(l, "cpuset.mems") ?: "");
		print_iodev(s, l);
		printf("      Pids: %s (max %s)\n", jstr(u, "pids.current") ?: "-",
		       jstr(l, "pids.max") ?: "-");
		struct json_object *v;
		if (json_object_object_get_ex(u, "cpu.percent", &v))
			printf("  CPU used: %.1f%% of a core%s\n", json_object_get_double(v),
			       json_object_object_get_ex(u, "cpu.throttled_percent", &v) &&
				       json_object_get_double(v) > 0.5
				   ? " (throttled)"
				   : "");
		if (json_object_object_get_ex(u, "memory.pressure.some.avg10", &v))
			printf("  Pressure: memory %.2f%%, cpu %.2f%%, io %.2f%% (some, avg10)\n",
			       json_object_get_double(v),
			       json_object_get_double(
				   json_object_object_get(u, "cpu.pressure.some.avg10")),
			       json_object_get_double(
				   json_object_object_get(u, "io.pressure.some.avg10")));
	}
	if (jint(s, "oom_kills")) {
		printf(" OOM kills: %lld\n", (long long)jint(s, "oom_kills"));
	}
	print_network(s);
	print_rebalance(s);
	print_identity(s);
	if (jint(s, "log_dropped"))
		printf("   Dropped: %lld log lines\n", (long long)jint(s, "log_dropped"));
	tail = jstr(s, "log_tail");
	if (tail && *tail)
		printf("\n%s", tail);
}

/* --- commands ------------------------------------------------------------------------- */

/* list's STATE: "running", or "running (healthy)" for a service with a health check. */
static const char *list_state(struct json_object *s, char *buf, size_t len)
{
	if (jstr(s, "health"))
		snprintf(buf, len, "%s (%s)", jstr(s, "state"), jstr(s, "health"));
	else
		snprintf(buf, len, "%s", jstr(s, "state"));
	return buf;
}

/* list --timers: SERVICE, SCHEDULE, LAST, RESULT, NEXT for scheduled services. */
static int list_timers(struct json_object *resp, struct json_object *arr)
{
	struct json_object *out = json_object_new_array();
	size_t w = 7, ws = 8;
	char b1[64], b2[64], sched[256];

	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *s = json_object_array_get_idx(arr, i), *t;
		if (!json_object_object_get_ex(s, "timer", &t))
			continue;
		json_object_array_add(out, json_object_get(s));
		if (strlen(jstr0(s, "name")) > w)
			w = strlen(jstr0(s, "name"));
		if (strlen(schedule_text(t, sched, sizeof(sched))) > ws)
			ws = strlen(sched);
	}
	if (opt_json) {
		print_json(out);
	} else {
		printf("%-*s  %-*s  %-23s  %-16s  %s\n", (int)w, "SERVICE", (int)ws, "SCHEDULE",
		       "LAST", "RESULT", "NEXT");
		for (size_t i = 0; i < json_object_array_length(out); i++) {
			struct json_object *s = json_object_array_get_idx(out, i), *t, *e = NULL;
			json_object_object_get_ex(s, "timer", &t);
			json_object_object_get_ex(s, "last_exit", &e);
			const char *result = !jint(t, "last_run_ms") ? "-"
					     : strcmp(jstr0(s, "state"), "stopped") &&
						     strcmp(jstr0(s, "state"), "failed")
						 ? jstr(s, "state")
					     : e ? jstr(e, "reason")
						 : "-";
			printf("%-*s  %-*s  %-23s  %-16s  %s\n", (int)w, jstr(s, "name"), (int)ws,
			       schedule_text(t, sched, sizeof(sched)),
			       stamp_or(jint(t, "last_run_ms"), b1, sizeof(b1)), result,
			       stamp_or(jint(t, "next_ms"), b2, sizeof(b2)));
		}
	}
	json_object_put(out);
	json_object_put(resp);
	return EXIT_OK;
}

static int cmd_list(const struct ctl_command *c, int argc, char **argv)
{
	struct json_object *resp, *arr;
	size_t n, w = 4, sw = 8;
	char st[64];
	bool timers = false;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--timers") == 0) {
			timers = true;
		} else {
			fprintf(stderr, "paddockctl list: unknown argument %s\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	resp = call(request(PROTO_CMD_LIST, NULL, 0), NULL);
	arr = result_of(resp);
	n = json_object_array_length(arr);
	if (timers)
		return list_timers(resp, arr);
	if (opt_json) {
		print_json(arr);
		json_object_put(resp);
		return EXIT_OK;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(jstr0(json_object_array_get_idx(arr, i), "name"));
		if (len > w)
			w = len;
		list_state(json_object_array_get_idx(arr, i), st, sizeof(st));
		if (strlen(st) > sw)
			sw = strlen(st);
	}
	printf("%-*s  %-*s  %-8s  %8s  %8s  %s\n", (int)w, "NAME", (int)sw, "STATE", "CLASS", "PID",
	       "RESTARTS", "LAST EXIT");
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(arr, i), *e = NULL;
		json_object_object_get_ex(s, "last_exit", &e);
		const char *why = jstr(s, "not_auto"); /* "disabled", "profile x inactive" */

		if (!why)
			why = "";
		printf("%-*s  %-*s  %-8s  %8lld  %8lld  %s%s%s\n", (int)w, jstr(s, "name"), (int)sw,
		       list_state(s, st, sizeof(st)), jstr(s, "class"),
		       (long long)jint(s, "main_pid"), (long long)jint(s, "restarts"),
		       e      ? jstr(e, "reason")
		       : *why ? ""
			      : "-",
		       e && *why ? "; " : "", why);
	}
	json_object_put(resp);
	return EXIT_OK;
}

static int cmd_status(const struct ctl_command *c, int argc, char **argv)
{
	struct json_object *resp = call(request(PROTO_CMD_STATUS, argv, argc), NULL);
	struct json_object *arr = result_of(resp);

	if (opt_json)
		print_json(arr);
	else
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			if (i)
				printf("\n");
			print_status(json_object_array_get_idx(arr, i));
		}
	json_object_put(resp);
	return EXIT_OK;
}

/* start, stop, restart, freeze, thaw: the request is the command's name and the services'. */
static int cmd_simple(const struct ctl_command *c, int argc, char **argv)
{
	struct json_object *resp = call(request(c->name, argv, argc), NULL);
	if (opt_json)
		print_json(result_of(resp));
	json_object_put(resp);
	return EXIT_OK;
}

static int cmd_kill(const struct ctl_command *c, int argc, char **argv)
{
	const char *sig = "SIGTERM";
	int i = 0, signo;
	const char *why;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--signal") == 0 && i + 1 < argc)
			sig = argv[++i];
		else if (strncmp(argv[i], "--signal=", 9) == 0)
			sig = argv[i] + 9;
		else {
			fprintf(stderr, "paddockctl kill: unknown option %s\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (units_parse_signal(sig, &signo, &why) < 0) {
		fprintf(stderr, "paddockctl kill: signal %s: %s\n", sig, why);
		return EXIT_USAGE;
	}
	if (argc - i != 1) {
		fprintf(stderr, "paddockctl kill: name one service\n");
		return EXIT_USAGE;
	}
	struct json_object *req = request(PROTO_CMD_KILL, argv + i, 1);
	json_object_object_add(req, "signal", json_object_new_string(sig));
	struct json_object *resp = call(req, NULL);
	if (opt_json)
		print_json(result_of(resp));
	json_object_put(resp);
	return EXIT_OK;
}

/* --- times on the command line (logs --since, events --since) --------------------------- */

#define TIME_FORMS                                                                 \
	"'YYYY-MM-DD HH:MM[:SS]' (local time), RFC 3339 ('2026-12-04T22:00:00Z', " \
	"'...+01:00'), '@EPOCH', 'now', or a duration ago ('10m', '-10m', '10m ago')"

static uint64_t now_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z|(+|-)HH:MM]"; no zone means local time. */
static int parse_calendar(const char *s, uint64_t *ms)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%d", &tm);
	unsigned frac = 0, div = 1;
	time_t t;

	if (!p)
		return -1;
	if (*p == ' ' || *p == 'T') {
		const char *q = strptime(p + 1, "%H:%M:%S", &tm);
		if (!q && !(q = strptime(p + 1, "%H:%M", &tm)))
			return -1;
		p = q;
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				if (div < 1000) {
					frac = frac * 10 + (unsigned)(*p - '0');
					div *= 10;
				}
	}
	if (*p == '\0') {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	} else if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0) {
		t = timegm(&tm);
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
			return -1;
		t = timegm(&tm) - (*p == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
	} else {
		return -1;
	}
	if (t < 0)
		return -1;
	*ms = (uint64_t)t * 1000 + frac * (1000 / div);
	return 0;
}

/* A point in time for --since, in ms since the epoch; -1 with a message for anything else. */
static int parse_time_arg(const char *s, uint64_t *ms)
{
	char dur[64];
	const char *why;
	uint64_t d, now = now_realtime_ms();
	char *end;
	size_t len = strlen(s);

	if (strcmp(s, "now") == 0) {
		*ms = now;
		return 0;
	}
	if (s[0] == '@' || (len >= 10 && strspn(s, "0123456789") == len)) {
		unsigned long long secs = strtoull(s + (s[0] == '@'), &end, 10);
		if (s[s[0] == '@'] && !*end && secs < UINT64_MAX / 1000) {
			*ms = secs * 1000; /* epoch seconds */
			return 0;
		}
	} else if (len >= 10 && s[4] == '-') {
		if (parse_calendar(s, ms) == 0)
			return 0;
	} else if (len > 0 && len < sizeof(dur)) {
		/* "10m", "-10m", "10m ago" */
		snprintf(dur, sizeof(dur), "%s", s[0] == '-' ? s + 1 : s);
		size_t k = strlen(dur);
		if (k > 4 && strcmp(dur + k - 4, " ago") == 0 && s[0] != '-')
			dur[k - 4] = '\0';
		if (units_parse_duration(dur, &d, &why) == 0) {
			*ms = d > now ? 0 : now - d;
			return 0;
		}
	}
	return -1;
}

/* The stamp of the log file's records, for lines that arrive as JSON (logs -f). */
static void format_log_stamp(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t k;

	gmtime_r(&t, &tm);
	k = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, len - k, ".%03dZ", (int)(ms % 1000));
}

static int cmd_logs(const struct ctl_command *c, int argc, char **argv)
{
	int lines = -1, i = 0;
	uint64_t since = 0;
	bool follow = false;
	char *name = NULL, *end;

	for (; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--follow") == 0) {
			follow = true;
		} else if ((strcmp(argv[i], "-n") == 0 || strcmp(argv[i], "--lines") == 0) &&
			   i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (!*argv[i] || *end || v < 0 || v > 100000) {
				fprintf(stderr,
					"paddockctl logs: -n %s: not a number of lines 0..100000\n",
					argv[i]);
				return EXIT_USAGE;
			}
			lines = (int)v;
		} else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
			if (parse_time_arg(argv[++i], &since) < 0) {
				fprintf(stderr,
					"paddockctl logs: --since '%s': not a time; use %s\n",
					argv[i], TIME_FORMS);
				return EXIT_USAGE;
			}
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "paddockctl logs: unknown option %s\n", argv[i]);
			return EXIT_USAGE;
		} else if (!name) {
			name = argv[i];
		} else {
			fprintf(stderr, "paddockctl logs: name one service\n");
			return EXIT_USAGE;
		}
	}
	if (!name) {
		fprintf(stderr, "paddockctl logs: name one service\n");
		return EXIT_USAGE;
	}
	struct json_object *req = request(PROTO_CMD_LOGS, &name, 1);
	/* Neither -n nor --since: the last 10; --since alone: all since then. */
	if (lines >= 0 || !since)
		json_object_object_add(req, "lines", json_object_new_int(lines >= 0 ? lines : 10));
	if (since)
		json_object_object_add(req, "since_ms", json_object_new_int64((int64_t)since));
	json_object_object_add(req, "follow", json_object_new_boolean(follow));
	FILE *f = NULL;
	struct json_object *resp = call(req, follow ? &f : NULL), *tr;
	if (opt_json && !follow)
		print_json(result_of(resp));
	else if (!opt_json)
		fputs(jstr(result_of(resp), "text"), stdout);
	if (json_object_object_get_ex(result_of(resp), "truncated", &tr) &&
	    json_object_get_boolean(tr))
		fprintf(stderr,
			"paddockctl logs: only the newest %d MiB shown; narrow with -n or "
			"--since\n",
			2);
	json_object_put(resp);
	fflush(stdout);
	if (!follow)
		return EXIT_OK;
	/* Streaming: one object per line until the daemon or we go away. */
	struct json_object *o;
	while ((o = read_response(f))) {
		char stamp[40];
		if (opt_json) {
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		} else {
			/* The same form as the history above it. */
			format_log_stamp(jint(o, "time_ms"), stamp, sizeof(stamp));
			printf("%s %s %s\n", stamp, jstr(o, "stream"), jstr(o, "line"));
		}
		fflush(stdout);
		json_object_put(o);
	}
	fclose(f);
	return EXIT_OK;
}

static int cmd_set(const struct ctl_command *c, int argc, char **argv)
{
	struct json_object *req, *values = json_object_new_object(), *resp;
	const char *name = NULL;
	bool reset = false;

	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (strcmp(argv[i], "--reset") == 0)
			reset = true;
		else if (eq && name) {
			*eq = '\0';
			json_object_object_add(values, argv[i], json_object_new_string(eq + 1));
			*eq = '=';
		} else if (!eq && !name && argv[i][0] != '-')
			name = argv[i];
		else {
			fprintf(stderr, "paddockctl set: unexpected '%s'\n", argv[i]);
			json_object_put(values);
			return EXIT_USAGE;
		}
	}
	if (!name || (reset == (json_object_object_length(values) > 0))) {
		fprintf(stderr,
			"usage: paddockctl set NAME KEY=VALUE... | paddockctl set NAME --reset\n");
		json_object_put(values);
		return EXIT_USAGE;
	}
	req = request(PROTO_CMD_SET, (char **)&name, 1);
	if (reset) {
		json_object_put(values);
		json_object_object_add(req, "reset", json_object_new_boolean(1));
	} else {
		json_object_object_add(req, "values", values);
	}
	resp = call(req, NULL);
	struct json_object *res = result_of(resp), *lim = NULL;
	if (opt_json) {
		print_json(res);
	} else {
		json_object_object_get_ex(res, "limits", &lim);
		if (lim && json_object_object_length(lim) > 0) {
			json_object_object_foreach(lim, k, v)
			{
				printf("%s=%s\n", k, json_object_get_string(v));
			}
		} else {
			printf("%s is not running: the limits apply at its next start\n", name);
		}
	}
	json_object_put(resp);
	return EXIT_OK;
}

/* Build the transient service's spec as a JSON document (JSON is YAML). */
/* What `paddockctl run`'s options say, as the pieces of a one-service spec. */
struct run_spec {
	struct json_object *svc, *res, *mem, *cpu, *iso, *env;
	bool wait, rm;
	char name[80];
};

/* The options before "--" into rs; *next is the index after them. EXIT_OK or EXIT_USAGE. */
static int run_options(int argc, char **argv, struct run_spec *rs, int *next)
{
	int i;

#define NEED_ARG()                                                                      \
	do {                                                                            \
		if (i + 1 >= argc) {                                                    \
			fprintf(stderr, "paddockctl run: %s needs a value\n", argv[i]); \
			return EXIT_USAGE;                                              \
		}                                                                       \
	} while (0)
	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--wait") == 0) {
			rs->wait = true;
			continue;
		}
		if (strcmp(a, "--rm") == 0) {
			rs->rm = true;
			continue;
		}
		NEED_ARG();
		const char *v = argv[++i];
		if (strcmp(a, "--name") == 0)
			snprintf(rs->name, sizeof(rs->name), "%s", v);
		else if (strcmp(a, "--rootfs") == 0)
			json_object_object_add(rs->svc, "rootfs", json_object_new_string(v));
		else if (strcmp(a, "--image") == 0)
			json_object_object_add(rs->svc, "image", json_object_new_string(v));
		else if (strcmp(a, "--memory-max") == 0)
			json_object_object_add(rs->mem, "max", json_object_new_string(v));
		else if (strcmp(a, "--memory-high") == 0)
			json_object_object_add(rs->mem, "high", json_object_new_string(v));
		else if (strcmp(a, "--cpu-max") == 0)
			json_object_object_add(rs->cpu, "max", json_object_new_string(v));
		else if (strcmp(a, "--cpu-weight") == 0)
			json_object_object_add(rs->cpu, "weight", json_object_new_string(v));
		else if (strcmp(a, "--pids-max") == 0)
			json_object_object_add(rs->res, "pids", json_object_new_string(v));
		else if (strcmp(a, "--class") == 0)
			json_object_object_add(rs->svc, "class", json_object_new_string(v));
		else if (strcmp(a, "--user") == 0)
			json_object_object_add(rs->svc, "user", json_object_new_string(v));
		else if (strcmp(a, "--workdir") == 0)
			json_object_object_add(rs->svc, "working_dir", json_object_new_string(v));
		else if (strcmp(a, "--network") == 0)
			json_object_object_add(rs->iso, "network", json_object_new_string(v));
		else if (strcmp(a, "--namespaces") == 0) {
			struct json_object *ns = json_object_new_array();
			char *list = strdup(v), *save = NULL;
			for (char *t = strtok_r(list, ",", &save); t;
			     t = strtok_r(NULL, ",", &save))
				json_object_array_add(ns, json_object_new_string(t));
			free(list);
			json_object_object_add(rs->iso, "namespaces", ns);
		} else if (strcmp(a, "--env") == 0) {
			const char *eq = strchr(v, '=');
			if (!eq) {
				fprintf(stderr, "paddockctl run: --env wants KEY=VALUE\n");
				return EXIT_USAGE;
			}
			char key[256];
			snprintf(key, sizeof(key), "%.*s", (int)(eq - v), v);
			json_object_object_add(rs->env, key, json_object_new_string(eq + 1));
		} else {
			fprintf(stderr, "paddockctl run: unknown option %s\n", a);
			return EXIT_USAGE;
		}
	}
#undef NEED_ARG
	*next = i;
	return EXIT_OK;
}

/* {"services": {NAME: {...}}} from the options and the command (owned by the result). */
static struct json_object *run_document(struct run_spec *rs, struct json_object *cmd)
{
	struct json_object *svc = rs->svc, *res = rs->res, *mem = rs->mem, *cpu = rs->cpu;
	struct json_object *iso = rs->iso, *env = rs->env;
	char *name = rs->name;
	size_t namelen = sizeof(rs->name);

	if (!*name) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(name, namelen, "run-%x%05lx", (unsigned)getpid() & 0xfffff,
			 (unsigned long)(ts.tv_nsec / 1000) & 0xfffff);
	}
	json_object_object_add(svc, "command", cmd);
	{
		struct json_object *r = json_object_new_object();
		json_object_object_add(r, "policy", json_object_new_string("never"));
		json_object_object_add(svc, "restart", r);
	}
	if (json_object_object_length(env))
		json_object_object_add(svc, "environment", env);
	else
		json_object_put(env);
	if (json_object_object_length(mem))
		json_object_object_add(res, "memory", mem);
	else
		json_object_put(mem);
	if (json_object_object_length(cpu))
		json_object_object_add(res, "cpu", cpu);
	else
		json_object_put(cpu);
	struct json_object *pids;
	if (json_object_object_get_ex(res, "pids", &pids)) {
		struct json_object *p = json_object_new_object();
		json_object_object_add(p, "max", json_object_get(pids));
		json_object_object_del(res, "pids");
		json_object_object_add(res, "pids", p);
	}
	if (json_object_object_length(res))
		json_object_object_add(svc, "resources", res);
	else
		json_object_put(res);
	if (json_object_object_length(iso))
		json_object_object_add(svc, "isolation", iso);
	else
		json_object_put(iso);
	struct json_object *services = json_object_new_object(), *doc = json_object_new_object();
	json_object_object_add(services, name, svc);
	json_object_object_add(doc, "services", services);

	return doc;
}

/* run --wait: the service's output as it comes, then its exit as paddockctl's own. */
static int run_follow(struct json_object *resp, FILE *f, const char *name)
{
	struct json_object *o;

	/*
	 * The first answer was an output line or the final result: the
	 * daemon streams {"line":...} objects, then one {"ok":...}.
	 */
	for (o = resp; o; o = read_response(f)) {
		struct json_object *ok;
		if (!json_object_object_get_ex(o, "ok", &ok)) {
			if (!opt_json) {
				const char *stream = jstr(o, "stream");
				FILE *out =
				    stream && strcmp(stream, "stderr") == 0 ? stderr : stdout;
				/* paddockd's own notes: the exit is reported below instead. */
				if (!stream || strcmp(stream, "paddockd") != 0) {
					fprintf(out, "%s\n", jstr(o, "line"));
					fflush(out);
				}
			}
			json_object_put(o);
			continue;
		}
		break;
	}
	fclose(f);
	if (!o) {
		fprintf(stderr, "paddockctl: daemon closed the connection\n");
		return EXIT_NODAEMON;
	}
	struct json_object *r = result_of(o), *e = NULL;
	int rc = EXIT_FAIL;
	json_object_object_get_ex(r, "last_exit", &e);
	if (opt_json)
		print_json(r);
	if (e) {
		const char *kind = jstr(e, "kind");
		int code = (int)jint(e, "code");
		if (strcmp(kind, "exited") == 0)
			rc = code;
		else if (strcmp(kind, "signal") == 0)
			rc = 128 + code;
		else if (strcmp(kind, "oom-kill") == 0)
			rc = 128 + SIGKILL;
		else
			rc = 127;
		if (!opt_json && strcmp(kind, "exited") != 0)
			fprintf(stderr, "paddockctl: %s: %s\n", name, jstr(e, "reason"));
	}
	json_object_put(o);
	return rc;
}

static int cmd_run(const struct ctl_command *c, int argc, char **argv)
{
	struct run_spec rs = { .svc = json_object_new_object(),
			       .res = json_object_new_object(),
			       .mem = json_object_new_object(),
			       .cpu = json_object_new_object(),
			       .iso = json_object_new_object(),
			       .env = json_object_new_object() };
	struct json_object *cmd = json_object_new_array();
	int i, r;

	if ((r = run_options(argc, argv, &rs, &i)) != EXIT_OK)
		return r;
	if (i < argc)
		i++; /* "--" */
	if (i >= argc) {
		fprintf(stderr, "usage: paddockctl run [OPTIONS] -- COMMAND [ARGS...]\n");
		return EXIT_USAGE;
	}
	for (; i < argc; i++)
		json_object_array_add(cmd, json_object_new_string(argv[i]));
	struct json_object *doc = run_document(&rs, cmd);
	struct json_object *req = request(PROTO_CMD_RUN, NULL, 0);
	json_object_object_add(
	    req, "spec",
	    json_object_new_string(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN)));
	json_object_put(doc);
	json_object_object_add(req, "wait", json_object_new_boolean(rs.wait));
	json_object_object_add(req, "rm", json_object_new_boolean(rs.rm));

	FILE *f = NULL;
	struct json_object *resp = call(req, rs.wait ? &f : NULL);
	if (!rs.wait) {
		if (opt_json)
			print_json(result_of(resp));
		else
			printf("%s\n", rs.name);
		json_object_put(resp);
		return EXIT_OK;
	}
	return run_follow(resp, f, rs.name);
}

static void print_event(struct json_object *ev)
{
	int64_t ms = jint(ev, "time_ms");
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char stamp[32];

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s.%03d  %-12s %-18s", stamp, (int)(ms % 1000), jstr(ev, "service") ?: "-",
	       jstr(ev, "type"));
	json_object_object_foreach(ev, k, v)
	{
		if (!strcmp(k, "time_ms") || !strcmp(k, "service") || !strcmp(k, "type"))
			continue;
		if (json_object_is_type(v, json_type_string))
			printf(" %s=\"%s\"", k, json_object_get_string(v));
		else
			printf(" %s=%s", k,
			       json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
	printf("\n");
}

static int cmd_events(const struct ctl_command *c, int argc, char **argv)
{
	struct json_object *req = request(PROTO_CMD_EVENTS, NULL, 0), *resp, *o;
	bool follow = false;
	FILE *f = NULL;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0) {
			follow = true;
		} else if (strcmp(a, "--service") == 0 && i + 1 < argc) {
			json_object_object_add(req, "service", json_object_new_string(argv[++i]));
		} else if (strcmp(a, "-n") == 0 && i + 1 < argc) {
			json_object_object_add(req, "max", json_object_new_int(atoi(argv[++i])));
		} else if (strcmp(a, "--since") == 0 && i + 1 < argc) {
			uint64_t ms;
			if (parse_time_arg(argv[++i], &ms) < 0) {
				fprintf(stderr,
					"paddockctl events: --since '%s': not a time; use %s\n",
					argv[i], TIME_FORMS);
				json_object_put(req);
				return EXIT_USAGE;
			}
			json_object_object_add(req, "since_ms", json_object_new_int64((int64_t)ms));
		} else {
			fprintf(stderr, "paddockctl events: unexpected '%s'\n", a);
			json_object_put(req);
			return EXIT_USAGE;
		}
	}
	json_object_object_add(req, "follow", json_object_new_boolean(follow));
	resp = call(req, follow ? &f : NULL);
	struct json_object *arr = result_of(resp);
	if (opt_json && !follow)
		print_json(arr);
	else
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *ev = json_object_array_get_idx(arr, i);
			if (opt_json)
				printf("%s\n",
				       json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN));
			else
				print_event(ev);
		}
	json_object_put(resp);
	fflush(stdout);
	if (!follow)
		return EXIT_OK;
	while ((o = read_response(f))) {
		if (opt_json)
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		else
			print_event(o);
		fflush(stdout);
		json_object_put(o);
	}
	fclose(f);
	return EXIT_OK;
}

/* --- images: the client works on the store itself; no daemon loop ever blocks --- */

static char **main_argv;
static const char *opt_state_dir; /* --state-dir: the image store's, without asking paddockd */

/* image in-use: the layers running services use (what prune keeps), each once. */
static int image_in_use(void)
{
	struct json_object *resp = call(request(PROTO_CMD_IMAGE_IN_USE, NULL, 0), NULL);
	struct json_object *arr = result_of(resp), *seen = json_object_new_object();

	if (opt_json)
		print_json(arr);
	else
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			const char *d = json_object_get_string(json_object_array_get_idx(arr, i));
			if (d && !json_object_object_get_ex(seen, d, NULL)) {
				json_object_object_add(seen, d, NULL);
				printf("%s\n", d);
			}
		}
	json_object_put(seen);
	json_object_put(resp);
	return EXIT_OK;
}

#ifdef PADDOCKCTL_THIN
/*
 * Become the helper NAME with the same arguments: the one beside us (a
 * build tree), else the installed one. Returns only on failure.
 */
static int exec_helper(const char *name, const char *what)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", self, name);
			if (access(path, X_OK) == 0)
				execv(path, main_argv);
		}
	}
	snprintf(path, sizeof(path), "%s/%s", PKGLIBEXECDIR, name);
	execv(path, main_argv);
	fprintf(stderr, "paddockctl: %s: %s: %s\n", what, path, strerror(errno));
	return EXIT_FAIL;
}

/*
 * The image commands need libarchive and libcrypto, whose loading alone
 * costs a few ms, more than a whole `paddockctl status`. So they live in
 * paddockctl-image (this file without PADDOCKCTL_THIN).
 */
static int cmd_image(const struct ctl_command *c, int argc, char **argv)
{
	(void)c;
	if (argc == 1 && strcmp(argv[0], "in-use") == 0)
		return image_in_use();
	return exec_helper("paddockctl-image", "image commands");
}
#else
/* The store lives in paddockd's state dir: ask it, or use --state-dir / the default. */
static char *image_state_dir(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (opt_state_dir)
		return strdup(opt_state_dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		struct json_object *resp = call(request(PROTO_CMD_VERSION, NULL, 0), NULL);
		const char *dir = jstr(result_of(resp), "state_dir");
		char *r = strdup(dir ? dir : "/var/lib/paddock");
		json_object_put(resp);
		return r;
	}
	if (fd >= 0)
		close(fd);
	return strdup("/var/lib/paddock");
}

struct progress {
	bool tty;
	uint64_t t0_us, last_us;
	size_t last_layer;
};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A bar on a terminal, a line per finished layer otherwise. */
static void on_progress(void *arg, size_t layer, size_t nlayers, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	uint64_t now = mono_us();
	double secs = (now - p->t0_us) / 1e6;
	char d[32], t[32], r[32];

	units_format_size(done, d, sizeof(d));
	units_format_size(total, t, sizeof(t));
	units_format_size(secs > 0 ? (uint64_t)(done / secs) : 0, r, sizeof(r));
	if (p->tty) {
		if (done != total && now - p->last_us < 100000)
			return;
		p->last_us = now;
		int width = 30, fill = total ? (int)(width * done / total) : width;
		fprintf(stderr, "\r\033[K[%.*s%.*s] layer %zu/%zu  %s/%s  %s/s", fill,
			"##############################", width - fill,
			"..............................", layer + 1, nlayers, d, t, r);
		if (done == total && layer + 1 == nlayers)
			fputc('\n', stderr);
	} else if (done == total) {
		fprintf(stderr, "layer %zu/%zu: %s done\n", layer + 1, nlayers, t);
	}
	if (layer != p->last_layer)
		p->t0_us = now, p->last_layer = layer;
}

/* image import SRC [--name NAME[:TAG]] [--tag TAG] */
static int image_cmd_import(struct image_store *st, int argc, char **argv)
{
	struct error err = { 0 };
	int rc = EXIT_OK;

	const char *src = NULL, *name = NULL, *tag = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--tag") == 0 && i + 1 < argc)
			tag = argv[++i];
		else if (!src && argv[i][0] != '-')
			src = argv[i];
		else {
			fprintf(stderr, "usage: paddockctl image import SRC [--name NAME[:TAG]] "
					"[--tag TAG]\n");
			return EXIT_USAGE;
		}
	}
	if (!src) {
		fprintf(stderr, "paddockctl image import: name a source\n");
		return EXIT_USAGE;
	}
	struct progress pr = { .tty = isatty(2) && !opt_json, .t0_us = mono_us() };
	char **refs = NULL;
	uint64_t t0 = mono_us();
	int n = image_import(st, src, tag, name, opt_json ? NULL : on_progress, &pr, &refs, &err);
	if (n < 0) {
		fprintf(stderr, "paddockctl: import %s: %s\n", src, err.msg);
		rc = EXIT_FAIL;
	} else {
		uint64_t unpacked = 0, reused = 0;
		image_store_stats(st, &unpacked, &reused);
		if (opt_json) {
			struct json_object *o = json_object_new_object(),
					   *a = json_object_new_array();
			for (char **r = refs; r && *r; r++)
				json_object_array_add(a, json_object_new_string(*r));
			json_object_object_add(o, "imported", a);
			json_object_object_add(o, "layers_unpacked",
					       json_object_new_int64((int64_t)unpacked));
			json_object_object_add(o, "layers_reused",
					       json_object_new_int64((int64_t)reused));
			json_object_object_add(o, "seconds",
					       json_object_new_double((mono_us() - t0) / 1e6));
			print_json(o);
			json_object_put(o);
		} else {
			for (char **r = refs; r && *r; r++)
				printf("imported %s\n", *r);
			printf("%llu layers unpacked, %llu already present, %.2f s\n",
			       (unsigned long long)unpacked, (unsigned long long)reused,
			       (mono_us() - t0) / 1e6);
		}
	}
	image_strv_free(refs);
	return rc;
}

static int image_cmd_list(struct image_store *st, int argc, char **argv)
{
	struct error err = { 0 };
	int rc = EXIT_OK;

	struct json_object *arr = NULL;
	if (image_list(st, &arr, &err) < 0) {
		fprintf(stderr, "paddockctl: %s\n", err.msg);
		rc = EXIT_FAIL;
	} else if (opt_json) {
		print_json(arr);
	} else {
		printf("%-40s  %-19s  %6s  %9s  %s\n", "IMAGE", "DIGEST", "LAYERS", "SIZE",
		       "SOURCE");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *im = json_object_array_get_idx(arr, i);
			char sz[32];
			const char *dg = jstr(im, "digest"), *src = jstr(im, "source");
			printf("%-40s  %-19.19s  %6lld  %9s  %s\n", jstr(im, "ref"),
			       dg && strlen(dg) > 7 ? dg + 7 : "-", (long long)jint(im, "layers"),
			       units_format_size((uint64_t)jint(im, "size"), sz, sizeof(sz)),
			       src && *src ? src : "-");
		}
	}
	json_object_put(arr);
	return rc;
}

/* image inspect REF, image rm REF */
static int image_cmd_ref(struct image_store *st, int argc, char **argv)
{
	struct error err = { 0 };
	const char *sub = argv[0];
	int rc = EXIT_OK;

	if (argc != 2) {
		fprintf(stderr, "usage: paddockctl image %s REF\n", sub);
		return EXIT_USAGE;
	}
	struct json_object *o = NULL;
	int r = sub[0] == 'i' ? image_inspect(st, argv[1], &o, &err) : image_rm(st, argv[1], &err);
	if (r < 0) {
		fprintf(stderr, "paddockctl: %s\n", err.msg);
		rc = r == -ENOENT ? EXIT_NOSERVICE : EXIT_FAIL;
	} else if (o) {
		print_json(o);
	} else if (opt_json) {
		struct json_object *u = json_object_new_object();
		json_object_object_add(u, "untagged", json_object_new_string(argv[1]));
		print_json(u);
		json_object_put(u);
	} else {
		printf("untagged %s\n", argv[1]);
	}
	json_object_put(o);
	return rc;
}

/* Layers no image record and no running service (asked of the daemon, if one runs) uses. */
static int image_cmd_prune(struct image_store *st, int argc, char **argv)
{
	struct error err = { 0 };
	int rc = EXIT_OK;

	const char **inuse = NULL;
	size_t n = 0;
	struct json_object *resp = NULL;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", socket_path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		resp = call(request(PROTO_CMD_IMAGE_IN_USE, NULL, 0), NULL);
		struct json_object *arr = result_of(resp);
		n = json_object_array_length(arr);
		inuse = calloc(n + 1, sizeof(*inuse));
		for (size_t i = 0; i < n; i++)
			inuse[i] = json_object_get_string(json_object_array_get_idx(arr, i));
	} else if (fd >= 0) {
		close(fd); /* no daemon: no service runs, records alone protect layers */
	}
	uint64_t freed = 0;
	int r = image_prune(st, inuse, n, &freed, &err);
	char f[32];
	if (r < 0) {
		fprintf(stderr, "paddockctl: prune: %s\n", err.msg);
		rc = EXIT_FAIL;
	} else if (opt_json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "layers_removed", json_object_new_int(r));
		json_object_object_add(o, "bytes_freed", json_object_new_int64((int64_t)freed));
		print_json(o);
		json_object_put(o);
	} else {
		printf("%d layers removed, %s freed\n", r, units_format_size(freed, f, sizeof(f)));
	}
	free(inuse);
	json_object_put(resp);
	return rc;
}

/* --- registries: pull, login, logout, and the daemon's prepare ----------------------- */

/* Options of the registry commands; each command allows some (REG_*). */
enum {
	REG_CONFIG = 1 << 0, /* --config FILE: the daemon config's defaults */
	REG_AUTH = 1 << 1, /* --auth-file F */
	REG_CERTS = 1 << 2, /* --certs-dir D */
	REG_INSECURE = 1 << 3, /* --insecure HOST[:PORT], repeated */
	REG_PARALLEL = 1 << 4, /* --parallel N */
	REG_USER = 1 << 5, /* -u, --username USER */
	REG_PWSTDIN = 1 << 6, /* --password-stdin */
	REG_PULL = 1 << 7, /* --pull missing|always|never */
	REG_MIRROR = 1 << 8, /* --mirror HOST=MIRROR, repeated */
	REG_LIMITS = 1 << 9, /* --max-json N, --max-layer N */
};

struct reg_args {
	const char *config, *auth_file, *certs_dir, *user;
	const char **insecure, **mirror, **pos; /* each up to argc entries */
	size_t ninsecure, nmirror, npos;
	unsigned parallel; /* 0 = unset */
	bool password_stdin;
	enum spec_pull pull;
	struct image_limits lim;
};

static const struct {
	const char *name;
	unsigned flag;
} reg_options_table[] = {
	{ "--config", REG_CONFIG },	{ "--auth-file", REG_AUTH },
	{ "--certs-dir", REG_CERTS },	{ "--insecure", REG_INSECURE },
	{ "--parallel", REG_PARALLEL }, { "-u", REG_USER },
	{ "--username", REG_USER },	{ "--password-stdin", REG_PWSTDIN },
	{ "--pull", REG_PULL },		{ "--mirror", REG_MIRROR },
	{ "--max-json", REG_LIMITS },	{ "--max-layer", REG_LIMITS },
};

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && end != s && !*end && s[0] != '-';
}

/* One option with its value; false (after saying why) when it is not right. */
static bool reg_option(const char *sub, const char *o, const char *v, unsigned f,
		       struct reg_args *a)
{
	uint64_t u;

	switch (f) {
	case REG_CONFIG:
		a->config = v;
		break;
	case REG_AUTH:
		a->auth_file = v;
		break;
	case REG_CERTS:
		a->certs_dir = v;
		break;
	case REG_USER:
		a->user = v;
		break;
	case REG_INSECURE:
		if (!config_valid_registry_host(v, strlen(v))) {
			fprintf(stderr,
				"paddockctl image %s: --insecure takes HOST[:PORT], not '%s'\n",
				sub, v);
			return false;
		}
		a->insecure[a->ninsecure++] = v;
		break;
	case REG_MIRROR: {
		const char *eq = strchr(v, '=');
		if (!eq || !config_valid_registry_host(v, (size_t)(eq - v)) ||
		    !config_valid_registry_mirror(eq + 1)) {
			fprintf(stderr,
				"paddockctl image %s: --mirror takes HOST[:PORT]=MIRROR[/PREFIX], "
				"not '%s'\n",
				sub, v);
			return false;
		}
		a->mirror[a->nmirror++] = v;
		break;
	}
	case REG_PARALLEL:
		if (!parse_u64(v, &u) || u < 1 || u > SPEC_PULL_PARALLEL_MAX) {
			fprintf(stderr, "paddockctl image %s: --parallel takes 1..%d, not '%s'\n",
				sub, SPEC_PULL_PARALLEL_MAX, v);
			return false;
		}
		a->parallel = (unsigned)u;
		break;
	case REG_PULL:
		if (strcmp(v, "missing") == 0)
			a->pull = PULL_MISSING;
		else if (strcmp(v, "always") == 0)
			a->pull = PULL_ALWAYS;
		else if (strcmp(v, "never") == 0)
			a->pull = PULL_NEVER;
		else {
			fprintf(stderr,
				"paddockctl image %s: --pull takes missing, always or never\n",
				sub);
			return false;
		}
		break;
	case REG_LIMITS:
		if (!parse_u64(v, &u)) {
			fprintf(stderr, "paddockctl image %s: %s takes a byte count, not '%s'\n",
				sub, o, v);
			return false;
		}
		if (strcmp(o, "--max-json") == 0)
			a->lim.max_json_bytes = u;
		else
			a->lim.max_layer_bytes = u;
		break;
	}
	return true;
}

/* argv[0] is the subcommand. 0, or -1 after saying why (a usage error). */
static int reg_parse(int argc, char **argv, unsigned allowed, struct reg_args *a)
{
	const char *sub = argv[0];

	*a = (struct reg_args){ .pull = PULL_MISSING };
	a->insecure = calloc((size_t)argc, sizeof(char *));
	a->mirror = calloc((size_t)argc, sizeof(char *));
	a->pos = calloc((size_t)argc, sizeof(char *));
	if (!a->insecure || !a->mirror || !a->pos) {
		fprintf(stderr, "paddockctl: out of memory\n");
		return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		unsigned f = 0;

		if (o[0] != '-' || !o[1]) {
			a->pos[a->npos++] = o;
			continue;
		}
		if ((allowed & REG_USER) && (strcmp(o, "-p") == 0 || strcmp(o, "--password") == 0 ||
					     strncmp(o, "--password=", 11) == 0)) {
			fprintf(stderr,
				"paddockctl image %s: no password on the command line (every user "
				"sees it in ps and /proc): type it at the prompt or pipe it with "
				"--password-stdin\n",
				sub);
			return -1;
		}
		for (size_t k = 0; k < ARRAY_SIZE(reg_options_table); k++)
			if (strcmp(o, reg_options_table[k].name) == 0)
				f = reg_options_table[k].flag;
		if (!(f & allowed)) {
			fprintf(stderr, "paddockctl image %s: unknown option '%s'\n", sub, o);
			return -1;
		}
		if (f == REG_PWSTDIN) {
			a->password_stdin = true;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "paddockctl image %s: %s needs a value\n", sub, o);
			return -1;
		}
		if (!reg_option(sub, o, argv[++i], f, a))
			return -1;
	}
	return 0;
}

static void reg_args_free(struct reg_args *a)
{
	free(a->insecure);
	free(a->mirror);
	free(a->pos);
}

/* image_pull_options from the daemon config (when read) and the command line. */
struct reg_opts {
	struct image_pull_options o;
	struct image_registry *regs;
	const char **mirrors; /* --mirror values, grouped per entry, NULL after each group */
	struct daemon_config *cfg;
};

static struct image_registry *reg_entry(struct reg_opts *ro, const char *host, size_t hlen)
{
	struct image_registry *r;

	for (size_t i = 0; i < ro->o.nregistries; i++)
		if (strlen(ro->regs[i].host) == hlen && strncmp(ro->regs[i].host, host, hlen) == 0)
			return &ro->regs[i];
	r = &ro->regs[ro->o.nregistries++];
	*r = (struct image_registry){ .host = strndup(host, hlen) };
	return r;
}

/*
 * Fill ro. read_config: the daemon config (--config, else the default
 * file if it exists) gives the defaults for what the options leave out.
 * 0, or -1 after printing why.
 */
static int reg_options(const struct reg_args *a, bool read_config, struct reg_opts *ro)
{
	const char *path = a->config;
	struct config_errors errs = { 0 };
	struct config_host host = { 0 };
	size_t n, m = 0;

	*ro = (struct reg_opts){ 0 };
	if (read_config && !path && access(CHECK_DEFAULT_CONFIG, F_OK) == 0)
		path = CHECK_DEFAULT_CONFIG;
	if (read_config && path) {
		(void)config_host_detect(&host);
		if (config_load_daemon(path, &host, &ro->cfg, &errs) < 0) {
			config_errors_print(stderr, &errs);
			config_errors_clear(&errs);
			return -1;
		}
	}
	ro->o.auth_file = a->auth_file ? a->auth_file : ro->cfg ? ro->cfg->images.auth_file : NULL;
	ro->o.certs_dir = a->certs_dir ? a->certs_dir : ro->cfg ? ro->cfg->images.certs_dir : NULL;
	ro->o.parallel = a->parallel ? a->parallel : ro->cfg ? ro->cfg->images.pull_parallel : 0;
	n = (ro->cfg ? ro->cfg->nregistries : 0) + a->ninsecure + a->nmirror;
	ro->regs = calloc(n + 1, sizeof(*ro->regs));
	ro->mirrors = calloc(2 * a->nmirror + 1, sizeof(char *));
	if (!ro->regs || !ro->mirrors) {
		fprintf(stderr, "paddockctl: out of memory\n");
		return -1;
	}
	for (size_t i = 0; ro->cfg && i < ro->cfg->nregistries; i++) {
		const struct spec_registry *c = &ro->cfg->registries[i];
		reg_entry(ro, c->host, strlen(c->host))->insecure = c->insecure;
		ro->regs[i].mirrors = (const char *const *)c->mirrors;
	}
	for (size_t i = 0; i < a->ninsecure; i++)
		reg_entry(ro, a->insecure[i], strlen(a->insecure[i]))->insecure = 1;
	/* --mirror HOST=M...: the command line's list replaces the config's for HOST. */
	for (size_t i = 0; i < a->nmirror; i++) {
		const char *eq = strchr(a->mirror[i], '=');
		struct image_registry *r = reg_entry(ro, a->mirror[i], (size_t)(eq - a->mirror[i]));
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen |= strncmp(a->mirror[j], a->mirror[i],
					(size_t)(eq - a->mirror[i]) + 1) == 0;
		if (seen)
			continue;
		r->mirrors = &ro->mirrors[m];
		for (size_t j = i; j < a->nmirror; j++)
			if (strncmp(a->mirror[j], a->mirror[i], (size_t)(eq - a->mirror[i]) + 1) ==
			    0)
				ro->mirrors[m++] = a->mirror[j] + (eq - a->mirror[i]) + 1;
		ro->mirrors[m++] = NULL;
	}
	ro->o.registries = ro->o.nregistries ? ro->regs : NULL;
	return 0;
}

static void reg_opts_free(struct reg_opts *ro)
{
	for (size_t i = 0; ro->regs && i < ro->o.nregistries; i++)
		free((char *)ro->regs[i].host);
	free(ro->regs);
	free(ro->mirrors);
	daemon_config_free(ro->cfg);
}

/*
 * A pull's progress: on a terminal one line per layer, redrawn in place
 * (one line for all when they do not fit the terminal); otherwise a line
 * as each layer finishes. Calls come from the download threads, one at a
 * time.
 */
struct pull_progress {
	bool tty, compact;
	size_t nlayers, drawn; /* lines drawn, to move back over */
	struct pull_layer {
		uint64_t done, total;
		bool seen, finished;
	} * layer;
	uint64_t last_us;
};

#define PULL_BAR_WIDTH 24

/* "[####....]" for done of total into buf (PULL_BAR_WIDTH + 3 bytes). */
static void pull_bar(char *buf, uint64_t done, uint64_t total)
{
	int fill = total ? (int)((double)PULL_BAR_WIDTH * (double)done / (double)total) : 0;

	if (fill > PULL_BAR_WIDTH)
		fill = PULL_BAR_WIDTH;
	buf[0] = '[';
	for (int i = 0; i < PULL_BAR_WIDTH; i++)
		buf[1 + i] = i < fill ? '#' : '.';
	buf[PULL_BAR_WIDTH + 1] = ']';
	buf[PULL_BAR_WIDTH + 2] = '\0';
}

static void pull_redraw(struct pull_progress *p)
{
	char d[32], t[32], bar[PULL_BAR_WIDTH + 3];

	if (p->drawn)
		fprintf(stderr, "\033[%zuA", p->drawn);
	if (p->compact) {
		uint64_t done = 0, total = 0;
		size_t finished = 0;
		for (size_t i = 0; i < p->nlayers; i++) {
			done += p->layer[i].done;
			total += p->layer[i].total;
			finished += p->layer[i].finished;
		}
		pull_bar(bar, done, total);
		fprintf(stderr, "\r\033[K%s %zu/%zu layers  %s/%s\n", bar, finished, p->nlayers,
			units_format_size(done, d, sizeof(d)),
			units_format_size(total, t, sizeof(t)));
		p->drawn = 1;
	} else {
		for (size_t i = 0; i < p->nlayers; i++) {
			const struct pull_layer *l = &p->layer[i];
			pull_bar(bar, l->done, l->total);
			fprintf(stderr, "\r\033[Klayer %*zu/%zu %s %9s/%-9s%s\n",
				p->nlayers >= 10 ? 2 : 1, i + 1, p->nlayers, bar,
				l->seen ? units_format_size(l->done, d, sizeof(d)) : "-",
				l->seen ? units_format_size(l->total, t, sizeof(t)) : "-",
				l->finished ? " done" : "");
		}
		p->drawn = p->nlayers;
	}
	fflush(stderr);
}

static void on_pull_progress(void *arg, size_t layer, size_t nlayers, uint64_t done, uint64_t total)
{
	struct pull_progress *p = arg;
	bool finishing;

	if (!p->layer) {
		struct winsize ws = { 0 };
		if (!nlayers || !(p->layer = calloc(nlayers, sizeof(*p->layer))))
			return;
		p->nlayers = nlayers;
		p->compact =
		    ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 2 && nlayers > ws.ws_row - 2u;
	}
	if (layer >= p->nlayers)
		return;
	finishing = done == total && !p->layer[layer].finished;
	p->layer[layer] = (struct pull_layer){
		.done = done, .total = total, .seen = true, .finished = done == total
	};
	if (!p->tty) {
		char t[32];
		if (finishing)
			fprintf(stderr, "layer %zu/%zu: %s done\n", layer + 1, p->nlayers,
				units_format_size(total, t, sizeof(t)));
		return;
	}
	uint64_t now = mono_us();
	if (!finishing && now - p->last_us < 100000)
		return;
	p->last_us = now;
	pull_redraw(p);
}

/* The last picture on a terminal: every layer as it ended. */
static void pull_progress_end(struct pull_progress *p)
{
	if (p->tty && p->layer)
		pull_redraw(p);
	free(p->layer);
	p->layer = NULL;
}

#define PULL_USAGE                                                                           \
	"usage: paddockctl image pull REF [--config FILE] [--auth-file F] [--certs-dir D]\n" \
	"                             [--insecure HOST[:PORT]]... [--parallel N]\n"

/* Is ref one image pull takes? Says why not (a usage error) when it is not. */
static bool pull_ref_ok(const char *sub, const char *ref)
{
	const char *why;

	/* The spec's stricter syntax first: it says what is wrong. */
	if (config_image_ref_is_registry(ref) && (why = config_registry_ref_error(ref))) {
		fprintf(stderr, "paddockctl image %s: invalid registry reference '%s': %s\n", sub,
			ref, why);
		return false;
	}
	if (!image_ref_is_remote(ref)) {
		fprintf(stderr,
			"paddockctl image %s: '%s' is not a registry reference "
			"(HOST[:PORT]/NAME[:TAG] or HOST[:PORT]/NAME@sha256:DIGEST); layouts and "
			"archives are imported with image import\n",
			sub, ref);
		return false;
	}
	return true;
}

/* "paddockctl: pull: ..."; the client's messages name the reference or registry, as a rule. */
static void report_failure(const char *what, const char *subject, const struct error *err)
{
	if (strstr(err->msg, subject))
		fprintf(stderr, "paddockctl: %s: %s\n", what, err->msg);
	else
		fprintf(stderr, "paddockctl: %s: %s: %s\n", what, subject, err->msg);
}

static struct image_store *open_store(const struct image_limits *lim, struct error *err)
{
	char *dir = image_state_dir();
	struct image_store *st = image_store_open(dir, lim, err);

	free(dir);
	return st;
}

/* image pull REF [options]: download into the store, with progress. */
static int image_cmd_pull(int argc, char **argv)
{
	struct reg_args a;
	struct reg_opts ro = { 0 };
	struct image_info *info = NULL;
	struct image_store *st = NULL;
	struct error err = { 0 };
	int rc = EXIT_FAIL;

	int pr_rc = reg_parse(argc, argv,
			      REG_CONFIG | REG_AUTH | REG_CERTS | REG_INSECURE | REG_PARALLEL, &a);
	if (pr_rc < 0 || a.npos != 1) {
		if (pr_rc == 0)
			fprintf(stderr, "paddockctl image pull: name one image\n");
		fprintf(stderr, PULL_USAGE);
		rc = EXIT_USAGE;
		goto out;
	}
	const char *ref = a.pos[0];
	if (!pull_ref_ok("pull", ref)) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (reg_options(&a, true, &ro) < 0)
		goto out;
	if (!(st = open_store(NULL, &err))) {
		fprintf(stderr, "paddockctl: image store: %s\n", err.msg);
		goto out;
	}
	struct pull_progress pr = { .tty = isatty(2) && !opt_json };
	uint64_t t0 = mono_us();
	int r = image_pull(st, ref, &ro.o, opt_json ? NULL : on_pull_progress, &pr, &info, &err);
	double secs = (mono_us() - t0) / 1e6;
	pull_progress_end(&pr);
	if (r < 0) {
		report_failure("pull", ref, &err);
		goto out;
	}
	uint64_t downloaded = 0, reused = 0;
	image_store_stats(st, &downloaded, &reused);
	if (opt_json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "ref", json_object_new_string(info->ref));
		json_object_object_add(o, "digest", json_object_new_string(info->digest));
		json_object_object_add(o, "layers", json_object_new_int64((int64_t)info->nlayers));
		json_object_object_add(o, "downloaded", json_object_new_int64((int64_t)downloaded));
		json_object_object_add(o, "reused", json_object_new_int64((int64_t)reused));
		json_object_object_add(o, "seconds", json_object_new_double(secs));
		print_json(o);
		json_object_put(o);
	} else {
		printf("pulled %s (%s)\n", info->ref, info->digest);
		printf("%llu layers downloaded, %llu already present, %.2f s\n",
		       (unsigned long long)downloaded, (unsigned long long)reused, secs);
	}
	rc = EXIT_OK;
out:
	image_info_free(info);
	image_store_free(st);
	reg_opts_free(&ro);
	reg_args_free(&a);
	return rc;
}

static struct termios saved_tty;

static void restore_tty(int sig)
{
	tcsetattr(0, TCSANOW, &saved_tty);
	(void)!write(2, "\n", 1);
	_exit(128 + sig);
}

/* One line from stdin without its newline; the prompt (if any) goes to stderr. NULL at EOF. */
static char *read_line(const char *prompt, bool hidden)
{
	struct termios t;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (prompt)
		fprintf(stderr, "%s", prompt);
	if (hidden && tcgetattr(0, &saved_tty) == 0) {
		t = saved_tty;
		t.c_lflag &= ~(tcflag_t)ECHO;
		signal(SIGINT, restore_tty);
		signal(SIGTERM, restore_tty);
		tcsetattr(0, TCSANOW, &t);
	} else {
		hidden = false;
	}
	n = getline(&line, &cap, stdin);
	if (hidden) {
		tcsetattr(0, TCSANOW, &saved_tty);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

#define LOGIN_USAGE                                                                       \
	"usage: paddockctl image login [--config FILE] [--auth-file F] [--certs-dir D]\n" \
	"                              [--insecure HOST[:PORT]] HOST[:PORT] [-u USER]\n"  \
	"                              [--password-stdin]\n"

/* A registry argument of login and logout: HOST[:PORT]. */
static bool registry_arg_ok(const char *sub, const struct reg_args *a)
{
	if (a->npos != 1) {
		fprintf(stderr, "paddockctl image %s: name one registry, HOST[:PORT]\n", sub);
		return false;
	}
	if (!config_valid_registry_host(a->pos[0], strlen(a->pos[0]))) {
		fprintf(stderr, "paddockctl image %s: '%s' is not a registry HOST[:PORT]\n", sub,
			a->pos[0]);
		return false;
	}
	return true;
}

/* image login HOST [-u USER] [--password-stdin]: check the credentials, store them. */
static int image_cmd_login(int argc, char **argv)
{
	struct reg_args a;
	struct reg_opts ro = { 0 };
	struct error err = { 0 };
	char *user = NULL, *pw = NULL;
	int rc = EXIT_FAIL;

	if (reg_parse(argc, argv,
		      REG_CONFIG | REG_AUTH | REG_CERTS | REG_INSECURE | REG_USER | REG_PWSTDIN,
		      &a) < 0 ||
	    !registry_arg_ok("login", &a)) {
		fprintf(stderr, LOGIN_USAGE);
		rc = EXIT_USAGE;
		goto out;
	}
	const char *host = a.pos[0];
	bool tty = isatty(0);
	if (!a.user && (!tty || a.password_stdin)) {
		fprintf(stderr, "paddockctl image login: name the user with -u USER\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (!a.password_stdin && !tty) {
		fprintf(stderr, "paddockctl image login: no terminal to ask for the password on; "
				"pipe it with --password-stdin\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (reg_options(&a, true, &ro) < 0)
		goto out;
	user = a.user ? strdup(a.user) : read_line("Username: ", false);
	if (!user || !*user) {
		fprintf(stderr, "paddockctl image login: no user name\n");
		goto out;
	}
	pw = read_line(a.password_stdin ? NULL : "Password: ", !a.password_stdin);
	if (!pw || !*pw) {
		fprintf(stderr, "paddockctl image login: no password%s\n",
			a.password_stdin ? " on stdin" : "");
		goto out;
	}
	int r = image_login(host, user, pw, &ro.o, &err);
	if (r < 0) {
		report_failure("login", host, &err);
		goto out;
	}
	if (opt_json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "registry", json_object_new_string(host));
		json_object_object_add(o, "user", json_object_new_string(user));
		print_json(o);
		json_object_put(o);
	} else {
		printf("logged in to %s as %s\n", host, user);
	}
	rc = EXIT_OK;
out:
	if (pw) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
	free(user);
	reg_opts_free(&ro);
	reg_args_free(&a);
	return rc;
}

/* image logout HOST: forget its credentials. */
static int image_cmd_logout(int argc, char **argv)
{
	struct reg_args a;
	struct reg_opts ro = { 0 };
	struct error err = { 0 };
	int rc = EXIT_FAIL;

	if (reg_parse(argc, argv, REG_CONFIG | REG_AUTH, &a) < 0 ||
	    !registry_arg_ok("logout", &a)) {
		fprintf(stderr, "usage: paddockctl image logout [--config FILE] [--auth-file F] "
				"HOST[:PORT]\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (reg_options(&a, true, &ro) < 0)
		goto out;
	if (image_logout(a.pos[0], &ro.o, &err) < 0) {
		report_failure("logout", a.pos[0], &err);
		goto out;
	}
	if (opt_json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "registry", json_object_new_string(a.pos[0]));
		json_object_object_add(o, "logged_out", json_object_new_boolean(true));
		print_json(o);
		json_object_put(o);
	} else {
		printf("logged out of %s\n", a.pos[0]);
	}
	rc = EXIT_OK;
out:
	reg_opts_free(&ro);
	reg_args_free(&a);
	return rc;
}

#define PREPARE_USAGE                                                                \
	"usage: paddockctl image prepare REF [--max-json N] [--max-layer N]\n"       \
	"           [--pull missing|always|never] [--auth-file F] [--certs-dir D]\n" \
	"           [--insecure HOST[:PORT]]... [--mirror HOST[:PORT]=MIRROR]... [--parallel N]\n"

/*
 * image prepare REF [options]: internal, what paddockd runs before it
 * starts a service with an image (it links no importer and no registry
 * client). A path reference is imported (image_prepare); a registry
 * reference is looked up and pulled as --pull says (missing: only when
 * not in the store). Nothing reads the daemon config here: paddockd
 * passes what its own says. Prints "OK" or the reason on stdout, which
 * paddockd reads.
 */
static int image_cmd_prepare(int argc, char **argv)
{
	struct reg_args a;
	struct reg_opts ro = { 0 };
	struct image_info *info = NULL;
	struct image_store *st = NULL;
	struct error err = { 0 };
	int r, rc = EXIT_FAIL;

	if (reg_parse(argc, argv,
		      REG_LIMITS | REG_PULL | REG_AUTH | REG_CERTS | REG_INSECURE | REG_MIRROR |
			  REG_PARALLEL,
		      &a) < 0 ||
	    a.npos != 1) {
		fprintf(stderr, PREPARE_USAGE);
		rc = EXIT_USAGE;
		goto out;
	}
	const char *ref = a.pos[0];
	if (reg_options(&a, false, &ro) < 0)
		goto out;
	if (!(st = open_store(&a.lim, &err))) {
		printf("image store: %s", err.msg);
		goto out;
	}
	if (!image_ref_is_remote(ref)) {
		r = image_prepare(st, ref, &info, &err);
	} else if (a.pull == PULL_ALWAYS) {
		r = image_pull(st, ref, &ro.o, NULL, NULL, &info, &err);
	} else {
		r = image_resolve(st, ref, &info, &err);
		if (r == -ENOENT && a.pull == PULL_MISSING)
			r = image_pull(st, ref, &ro.o, NULL, NULL, &info, &err);
		else if (r == -ENOENT)
			error_set(&err, ENOENT, "image %s is not in the store and pull is never",
				  ref);
	}
	printf("%s", r < 0 ? err.msg : "OK");
	rc = r < 0 ? EXIT_FAIL : EXIT_OK;
out:
	image_info_free(info);
	image_store_free(st);
	reg_opts_free(&ro);
	reg_args_free(&a);
	return rc;
}

static int cmd_image(const struct ctl_command *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct image_store *st, int argc, char **argv);
	} subs[] = { { "import", image_cmd_import },
		     { "list", image_cmd_list },
		     { "inspect", image_cmd_ref },
		     { "rm", image_cmd_ref },
		     { "prune", image_cmd_prune } };
	/* These parse their arguments first and open the store when they need it. */
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} own[] = { { "pull", image_cmd_pull },
		    { "login", image_cmd_login },
		    { "logout", image_cmd_logout },
		    { "prepare", image_cmd_prepare } };
	struct error err = { 0 };
	struct image_store *st;
	size_t k = 0;
	int rc;

	(void)c;
	if (argc < 1) {
		fprintf(stderr, "usage: paddockctl image "
				"import|pull|list|inspect|rm|prune|login|logout|in-use ...\n");
		return EXIT_USAGE;
	}
	if (argc == 1 && strcmp(argv[0], "in-use") == 0)
		return image_in_use();
	for (size_t i = 0; i < ARRAY_SIZE(own); i++)
		if (strcmp(argv[0], own[i].name) == 0)
			return own[i].run(argc, argv);
	while (k < ARRAY_SIZE(subs) && strcmp(argv[0], subs[k].name) != 0)
		k++;
	if (k == ARRAY_SIZE(subs)) {
		fprintf(stderr, "paddockctl image: unknown command '%s'\n", argv[0]);
		return EXIT_USAGE;
	}
	if (!(st = open_store(NULL, &err))) {
		fprintf(stderr, "paddockctl: image store: %s\n", err.msg);
		return EXIT_FAIL;
	}
	rc = subs[k].run(st, argc, argv);
	image_store_free(st);
	return rc;
}

#endif /* PADDOCKCTL_THIN */

/* --- top --------------------------------------------------------------------------- */

static double jdbl(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_double(v) : -1;
}

static uint64_t jsize(struct json_object *o, const char *key)
{
	const char *s = jstr(o, key);
	char *end;
	unsigned long long v;

	if (!s)
		return 0;
	v = strtoull(s, &end, 10);
	return end == s || *end ? 0 : v;
}

static int top_sort_cpu;

static int top_cmp(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a,
			   *y = *(struct json_object *const *)b;
	struct json_object *ux = json_object_object_get(x, "usage");
	struct json_object *uy = json_object_object_get(y, "usage");
	double vx = top_sort_cpu ? jdbl(ux, "cpu.percent") : (double)jsize(ux, "memory.current");
	double vy = top_sort_cpu ? jdbl(uy, "cpu.percent") : (double)jsize(uy, "memory.current");
	return vx < vy ? 1 : vx > vy ? -1 : strcmp(jstr0(x, "name"), jstr0(y, "name"));
}

static void bar(char *buf, size_t width, double frac)
{
	size_t fill = frac < 0 ? 0 : frac > 1 ? width : (size_t)(frac * width + 0.5);
	for (size_t i = 0; i < width; i++)
		buf[i] = i < fill ? '#' : '.';
	buf[width] = '\0';
}

/* One frame from one status call. */
static void top_frame(bool clear)
{
	struct json_object *resp = call(request(PROTO_CMD_STATUS, NULL, 0), NULL);
	struct json_object *arr = result_of(resp);
	size_t n = json_object_array_length(arr);
	struct json_object **v = calloc(n ? n : 1, sizeof(*v));
	time_t now = time(NULL);
	char stamp[32];

	for (size_t i = 0; i < n; i++)
		v[i] = json_object_array_get_idx(arr, i);
	qsort(v, n, sizeof(*v), top_cmp);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
	if (clear)
		printf("\033[H\033[2J");
	printf("paddock top - %s - %zu services - sorted by %s\n\n", stamp, n,
	       top_sort_cpu ? "cpu" : "memory");
	printf("%-20s %-8s %9s %9s %-22s %7s %7s %7s %5s\n", "NAME", "STATE", "MEM", "MAX",
	       "MEM/MAX", "CPU%", "PSImem", "PSIcpu", "OOM");
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = v[i], *u = json_object_object_get(s, "usage"),
				   *l = json_object_object_get(s, "limits");
		uint64_t cur = jsize(u, "memory.current"), max = jsize(l, "memory.max");
		char m[32], x[32], b[32], c1[16], c2[16], c3[16];
		double cpu = jdbl(u, "cpu.percent"), pm = jdbl(u, "memory.pressure.some.avg10"),
		       pc = jdbl(u, "cpu.pressure.some.avg10");
		bar(b, 20, max ? (double)cur / (double)max : 0);
		printf("%-20.20s %-8s %9s %9s [%s] %7s %7s %7s %5lld\n", jstr(s, "name"),
		       jstr(s, "state"), cur ? units_format_size(cur, m, sizeof(m)) : "-",
		       max ? units_format_size(max, x, sizeof(x)) : "max",
		       max ? b : "                    ",
		       cpu >= 0 ? (snprintf(c1, sizeof(c1), "%.1f", cpu), c1) : "-",
		       pm >= 0 ? (snprintf(c2, sizeof(c2), "%.2f", pm), c2) : "-",
		       pc >= 0 ? (snprintf(c3, sizeof(c3), "%.2f", pc), c3) : "-",
		       (long long)jint(s, "oom_kills"));
	}
	fflush(stdout);
	free(v);
	json_object_put(resp);
}

static int cmd_top(const struct ctl_command *c, int argc, char **argv)
{
	bool once = false;
	double interval = 1.0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0)
			once = true;
		else if (strcmp(argv[i], "--sort") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "cpu") == 0)
				top_sort_cpu = 1;
			else if (strcmp(argv[i], "mem") && strcmp(argv[i], "memory")) {
				fprintf(stderr, "paddockctl top: --sort mem|cpu\n");
				return EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			interval = atof(argv[++i]);
			if (interval < 0.1)
				interval = 0.1;
		} else {
			fprintf(stderr,
				"usage: paddockctl top [--once] [--sort mem|cpu] [--interval S]\n");
			return EXIT_USAGE;
		}
	}
	if (opt_json) {
		fprintf(stderr, "paddockctl top: use status --json for machine-readable data\n");
		return EXIT_USAGE;
	}
	if (once || !isatty(1)) {
		top_frame(false);
		return EXIT_OK;
	}
	for (;;) {
		top_frame(true);
		struct timespec ts = { (time_t)interval,
				       (long)((interval - (double)(time_t)interval) * 1e9) };
		nanosleep(&ts, NULL);
	}
}

static int cmd_check(const struct ctl_command *c, int argc, char **argv)
{
	struct config_host host = { 0 };
	struct config_errors errs = { 0 };
	struct spec_set *set = NULL;
	struct daemon_config *cfg = NULL;
	const char *config = NULL;
	int r, first = 0;

	if (argc >= 2 && strcmp(argv[0], "--config") == 0) {
		config = argv[1];
		first = 2;
	} else if (argc >= 1 && strncmp(argv[0], "--config=", 9) == 0) {
		config = argv[0] + 9;
		first = 1;
	} else if (access(CHECK_DEFAULT_CONFIG, F_OK) == 0) {
		config = CHECK_DEFAULT_CONFIG; /* what paddockd reads when not told */
	}
	if (argc - first < 1 || strncmp(argv[first], "--", 2) == 0) {
		fprintf(stderr, "paddockctl check: name spec files or directories (%s)\n",
			c->usage);
		return EXIT_USAGE;
	}
	(void)config_host_detect(&host);
	/* The networks the specs join live in the daemon config: check both together. */
	r = config_load_daemon(config, &host, &cfg, &errs);
	if (r == 0)
		r = config_load_spec_paths(argv + first, (size_t)(argc - first), &host, &set,
					   &errs);
	if (r == 0 && config_check_networks(set, cfg, &errs) < 0)
		r = -EINVAL;
	if (opt_json) {
		struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
		for (size_t i = 0; i < errs.n; i++) {
			struct json_object *e = json_object_new_object();
			json_object_object_add(e, "file",
					       json_object_new_string(errs.diags[i].file ?: ""));
			json_object_object_add(e, "line", json_object_new_int(errs.diags[i].line));
			json_object_object_add(e, "column",
					       json_object_new_int(errs.diags[i].column));
			json_object_object_add(e, "message",
					       json_object_new_string(errs.diags[i].message));
			json_object_array_add(arr, e);
		}
		json_object_object_add(o, "ok", json_object_new_boolean(r == 0));
		json_object_object_add(o, "services",
				       json_object_new_int(set ? (int)set->nservices : 0));
		json_object_object_add(o, "errors", arr);
		print_json(o);
		json_object_put(o);
	} else if (r == 0) {
		printf("%zu services: configuration OK\n", set->nservices);
	} else {
		config_errors_print(stderr, &errs);
	}
	config_errors_clear(&errs);
	spec_set_free(set);
	daemon_config_free(cfg);
	return r == 0 ? EXIT_OK : EXIT_FAIL;
}

/* The running daemon's instance id, or 0 when none answers (no exit on failure). */
static uint64_t probe_instance(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char req[64], buf[4096];
	size_t got = 0;
	uint64_t inst = 0;
	int fd, len;

	len = snprintf(req, sizeof(req), "{\"v\":%d,\"cmd\":\"%s\"}\n", PROTOCOL_VERSION,
		       PROTO_CMD_VERSION);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    write(fd, req, (size_t)len) != (ssize_t)len) {
		close(fd);
		return 0;
	}
	while (got < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	close(fd);
	buf[got] = '\0';
	struct json_object *resp = json_tokener_parse(buf), *v;
	if (json_object_object_get_ex(result_of(resp), "instance", &v))
		inst = json_object_get_uint64(v);
	json_object_put(resp);
	return inst;
}

/* Ask for a re-exec, then wait until the new image answers (services keep running). */
/* --- exec ---------------------------------------------------------------------------- */

/* One line from fd, byte by byte: nothing past it may be read (fds follow). */
static struct json_object *exec_read_line(int fd, char first)
{
	size_t len = 0, cap = 256;
	char *buf = malloc(cap);
	struct json_object *o;

	if (!buf)
		exit(EXIT_FAIL);
	if (first)
		buf[len++] = first;
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "paddockctl: daemon closed the connection\n");
			exit(EXIT_NODAEMON);
		}
		if (c == '\n')
			break;
		if (len + 2 > cap && !(buf = realloc(buf, cap *= 2)))
			exit(EXIT_FAIL);
		buf[len++] = c;
	}
	buf[len] = '\0';
	o = json_tokener_parse(buf);
	free(buf);
	if (!o) {
		fprintf(stderr, "paddockctl: malformed answer from daemon\n");
		exit(EXIT_FAIL);
	}
	return o;
}

/* A refusal: print it, exit as call() does. */
static void exec_check_answer(struct json_object *resp)
{
	struct json_object *v = NULL;

	if (json_object_object_get_ex(resp, "ok", &v) && json_object_get_boolean(v))
		return;
	const char *code = jstr(resp, "code");
	fprintf(stderr, "paddockctl: %s\n", jstr(resp, "error"));
	exit(code && strcmp(code, "ENOENT") == 0   ? EXIT_NOSERVICE
	     : code && strcmp(code, "EINVAL") == 0 ? EXIT_USAGE
						   : EXIT_FAIL);
}

static int exec_send_stdio(int sock)
{
	int fds[3] = { 0, 1, 2 };
	char byte = 'F';
	struct iovec iov = { &byte, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(fds))];
	} u = { 0 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* The pty master, or -1 with *byte the first byte of an answer instead. */
static int exec_recv_master(int sock, char *byte)
{
	struct iovec iov = { byte, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	int fd = -1;

	*byte = 0;
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n <= 0) {
		fprintf(stderr, "paddockctl: daemon closed the connection\n");
		exit(EXIT_NODAEMON);
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (fd >= 0)
		*byte = 0;
	return fd;
}

static volatile sig_atomic_t exec_winch;

static void on_winch(int sig)
{
	(void)sig;
	exec_winch = 1;
}

static void exec_copy_winsize(int master)
{
	struct winsize ws;

	if (ioctl(0, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(master, TIOCSWINSZ, &ws);
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static struct termios exec_saved_tty;

/* Terminal <-> pty master until the command's side closes (EIO). */
static void exec_relay(int master)
{
	struct termios raw;
	bool tty = isatty(0), in_open = true;
	struct sigaction sa = { .sa_handler = on_winch };
	char buf[16384];

	if (tty && tcgetattr(0, &exec_saved_tty) == 0) {
		raw = exec_saved_tty;
		cfmakeraw(&raw);
		(void)tcsetattr(0, TCSANOW, &raw);
	} else {
		tty = false;
	}
	sigaction(SIGWINCH, &sa, NULL);
	exec_copy_winsize(master);
	for (;;) {
		struct pollfd p[2] = { { master, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 } };
		if (exec_winch) {
			exec_winch = 0;
			exec_copy_winsize(master);
		}
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* A resize that came in before poll began: applied before the input after it. */
		if (exec_winch) {
			exec_winch = 0;
			exec_copy_winsize(master);
		}
		if (p[0].revents) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || !write_all(1, buf, (size_t)n))
				break; /* EIO: the command and all it started closed the pty */
		}
		if (p[1].revents) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				in_open = false;
				(void)write_all(master, "\004", 1); /* EOF to a canonical reader */
			} else if (!write_all(master, buf, (size_t)n)) {
				break;
			}
		}
	}
	if (tty)
		(void)tcsetattr(0, TCSANOW, &exec_saved_tty);
	close(master);
}

static int cmd_exec(const struct ctl_command *c, int argc, char **argv)
{
	struct json_object *req = request(PROTO_CMD_EXEC, NULL, 0);
	struct json_object *env = json_object_new_array(), *cmd = json_object_new_array();
	bool tty = false;
	const char *name = NULL;
	int i = 0;

	for (; i < argc && !name; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-t") == 0 || strcmp(a, "--tty") == 0)
			tty = true;
		else if ((strcmp(a, "-u") == 0 || strcmp(a, "--user") == 0) && i + 1 < argc)
			json_object_object_add(req, "user", json_object_new_string(argv[++i]));
		else if ((strcmp(a, "-w") == 0 || strcmp(a, "--workdir") == 0) && i + 1 < argc)
			json_object_object_add(req, "workdir", json_object_new_string(argv[++i]));
		else if ((strcmp(a, "-e") == 0 || strcmp(a, "--env") == 0) && i + 1 < argc)
			json_object_array_add(env, json_object_new_string(argv[++i]));
		else if (a[0] == '-')
			break;
		else
			name = a;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (!name || i >= argc) {
		fprintf(stderr, "usage: paddockctl %s\n", c->usage);
		json_object_put(req);
		json_object_put(env);
		json_object_put(cmd);
		return EXIT_USAGE;
	}
	for (; i < argc; i++)
		json_object_array_add(cmd, json_object_new_string(argv[i]));
	json_object_object_add(req, "names", json_object_new_array());
	json_object_array_add(json_object_object_get(req, "names"), json_object_new_string(name));
	json_object_object_add(req, "argv", cmd);
	json_object_object_add(req, "env", env);
	json_object_object_add(req, "tty", json_object_new_boolean(tty));

	int sock = connect_daemon();
	send_request(sock, req);
	json_object_put(req);
	struct json_object *resp = exec_read_line(sock, 0);
	exec_check_answer(resp);
	json_object_put(resp);
	if (exec_send_stdio(sock) < 0) {
		fprintf(stderr, "paddockctl: cannot pass stdio to paddockd: %s\n", strerror(errno));
		return EXIT_NODAEMON;
	}
	char first = 0;
	if (tty) {
		int master = exec_recv_master(sock, &first);
		if (master >= 0)
			exec_relay(master);
	}
	resp = exec_read_line(sock, first);
	exec_check_answer(resp);
	struct json_object *res = result_of(resp);
	int code = (int)jint(res, "exit");
	if (jstr(res, "error"))
		fprintf(stderr, "paddockctl: exec in %s: %s\n", name, jstr(res, "error"));
	json_object_put(resp);
	close(sock);
	return code;
}

static int cmd_daemon_reexec(const struct ctl_command *c, int argc, char **argv)
{
	struct json_object *resp = call(request(PROTO_CMD_DAEMON_REEXEC, NULL, 0), NULL);
	struct json_object *res = result_of(resp);
	uint64_t old = (uint64_t)json_object_get_uint64(json_object_object_get(res, "instance"));
	int pid = json_object_get_int(json_object_object_get(res, "pid"));

	json_object_put(resp);
	for (uint64_t deadline = now_ms() + 30000; now_ms() < deadline;) {
		uint64_t inst = probe_instance();
		if (inst && inst != old) {
			if (opt_json)
				printf("{\"ok\": true, \"pid\": %d}\n", pid);
			else
				printf("paddockd re-executed (pid %d); services kept running\n",
				       pid);
			return EXIT_OK;
		}
		struct timespec ts = { 0, 20 * 1000000 };
		(void)nanosleep(&ts, NULL);
	}
	fprintf(stderr, "paddockctl: paddockd did not come back within 30 s after re-exec\n");
	return EXIT_NODAEMON;
}

static int cmd_network(const struct ctl_command *c, int argc, char **argv)
{
	struct json_object *req, *resp, *res;

	(void)c;
	if (argc == 1 && (!strcmp(argv[0], "ls") || !strcmp(argv[0], "list"))) {
		resp = call(request(PROTO_CMD_NETWORK_LS, NULL, 0), NULL);
		res = result_of(resp);
		if (opt_json) {
			print_json(res);
		} else {
			printf("%-16s %-16s %-18s %-15s %-8s %s\n", "NAME", "BRIDGE", "SUBNET",
			       "GATEWAY", "STATE", "SERVICES");
			for (size_t i = 0; i < json_object_array_length(res); i++) {
				struct json_object *e = json_object_array_get_idx(res, i);
				bool up = json_object_get_boolean(json_object_object_get(e, "up"));
				printf(
				    "%-16s %-16s %-18s %-15s %-8s %lld%s\n", jstr(e, "name"),
				    jstr(e, "bridge"), jstr(e, "subnet"), jstr(e, "gateway"),
				    up ? "up" : "unused", (long long)jint(e, "services_count"),
				    json_object_get_boolean(json_object_object_get(e, "internal"))
					? " (internal)"
					: "");
			}
		}
		json_object_put(resp);
		return EXIT_OK;
	}
	if (argc == 2 && !strcmp(argv[0], "inspect")) {
		req = request(PROTO_CMD_NETWORK_INSPECT, NULL, 0);
		json_object_object_add(req, "name", json_object_new_string(argv[1]));
		resp = call(req, NULL);
		print_json(result_of(resp));
		json_object_put(resp);
		return EXIT_OK;
	}
	fprintf(stderr, "paddockctl network: ls | inspect NAME\n");
	return EXIT_USAGE;
}

/* --- fleet: specs, claims and nodes on etcd, through paddockd --------------------- */

static int fleet_yaml(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && ((n > 5 && !strcmp(e->d_name + n - 5, ".yaml")) ||
				       (n > 4 && !strcmp(e->d_name + n - 4, ".yml")));
}

/* {"name": path, "text": its contents}; exits on a file it cannot read or too big. */
static struct json_object *fleet_file(const char *path)
{
	struct json_object *o;
	char *buf = malloc(CONFIG_MAX_FILE_SIZE + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t r = 0;

	while (buf && fd >= 0 && len <= CONFIG_MAX_FILE_SIZE &&
	       (r = read(fd, buf + len, CONFIG_MAX_FILE_SIZE + 1 - len)) > 0)
		len += (size_t)r;
	if (!buf || fd < 0 || r < 0 || len > CONFIG_MAX_FILE_SIZE) {
		fprintf(stderr, "paddockctl: %s: %s\n", path,
			!buf		  ? strerror(ENOMEM)
			: fd < 0 || r < 0 ? strerror(errno)
					  : "larger than the 1 MiB a spec file may be");
		exit(EXIT_FAIL);
	}
	close(fd);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(path));
	json_object_object_add(o, "text", json_object_new_string_len(buf, (int)len));
	free(buf);
	return o;
}

/* fleet apply PATH: a spec file, or a directory's *.yaml, checked by paddockd, one txn. */
static int fleet_apply(const char *path)
{
	struct json_object *req = request(PROTO_CMD_FLEET_APPLY, NULL, 0);
	struct json_object *files = json_object_new_array(), *resp;
	struct dirent **ents = NULL;
	struct stat st;
	int n;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "paddockctl: %s: %s\n", path, strerror(errno));
		return EXIT_FAIL;
	}
	if (!S_ISDIR(st.st_mode)) {
		json_object_array_add(files, fleet_file(path));
	} else if ((n = scandir(path, &ents, fleet_yaml, alphasort)) < 0) {
		fprintf(stderr, "paddockctl: %s: %s\n", path, strerror(errno));
		return EXIT_FAIL;
	} else {
		for (int i = 0; i < n; i++) {
			char file[PATH_MAX];
			snprintf(file, sizeof(file), "%s/%s", path, ents[i]->d_name);
			if (i < CONFIG_MAX_FILES)
				json_object_array_add(files, fleet_file(file));
			free(ents[i]);
		}
		free(ents);
	}
	size_t nfiles = json_object_array_length(files);
	json_object_object_add(req, "files", files);
	resp = call(req, NULL);
	if (opt_json)
		print_json(result_of(resp));
	else
		printf("applied %zu file(s) at etcd revision %lld\n", nfiles,
		       (long long)jint(result_of(resp), "revision"));
	json_object_put(resp);
	return EXIT_OK;
}

static void fleet_print_status(struct json_object *res)
{
	struct json_object *svcs = json_object_object_get(res, "services");

	printf("%-24s %-20s %-12s %-26s %s\n", "INSTANCE", "NODE", "STATE", "LAST EVENT",
	       "SERVICE");
	for (size_t i = 0; i < json_object_array_length(svcs); i++) {
		struct json_object *s = json_object_array_get_idx(svcs, i);
		struct json_object *insts = json_object_object_get(s, "instances");
		for (size_t k = 0; k < json_object_array_length(insts); k++) {
			struct json_object *in = json_object_array_get_idx(insts, k);
			const char *node =
			    json_object_get_string(json_object_object_get(in, "node"));
			const char *ev =
			    json_object_get_string(json_object_object_get(in, "event"));
			char last[64] = "-";
			if (ev) {
				time_t t = (time_t)(jint(in, "event_ms") / 1000);
				struct tm tm;
				char when[16] = "";
				if (localtime_r(&t, &tm))
					strftime(when, sizeof(when), "%H:%M:%S", &tm);
				snprintf(last, sizeof(last), "%.16s %s", ev, when);
			}
			printf("%-24s %-20s %-12s %-26s %s (count %lld)\n", jstr(in, "name"),
			       node ? node : "-", jstr(in, "state"), last, jstr(s, "name"),
			       (long long)jint(s, "count"));
		}
	}
}

static void fleet_print_nodes(struct json_object *res)
{
	struct json_object *nodes = json_object_object_get(res, "nodes");
	char a[32], b[32], l[32];

	printf("%-20s %-12s %-12s %-12s %-9s %s\n", "NODE", "BUDGET", "COMMITTED", "OF IT LOCAL",
	       "INSTANCES", "LABELS");
	for (size_t i = 0; i < json_object_array_length(nodes); i++) {
		struct json_object *n = json_object_array_get_idx(nodes, i);
		struct json_object *labels = json_object_object_get(n, "labels");
		char lab[256] = "";
		size_t used = 0;
		json_object_object_foreach(labels, k, v)
		{
			int w = snprintf(lab + used, sizeof(lab) - used, "%s%s=%s", used ? "," : "",
					 k, json_object_get_string(v));
			if (w < 0 || (size_t)w >= sizeof(lab) - used)
				break;
			used += (size_t)w;
		}
		units_format_size((uint64_t)jint(json_object_object_get(n, "budget"), "memory"), a,
				  sizeof(a));
		units_format_size((uint64_t)jint(json_object_object_get(n, "committed"), "memory"),
				  b, sizeof(b));
		/* A node from before local services counted has no "local". */
		struct json_object *loc = json_object_object_get(n, "local");
		if (loc)
			units_format_size((uint64_t)jint(loc, "memory"), l, sizeof(l));
		else
			snprintf(l, sizeof(l), "-");
		printf("%-20s %-12s %-12s %-12s %-9d %s\n", jstr(n, "name"), a, b, l,
		       json_object_object_length(json_object_object_get(n, "instances")),
		       used ? lab : "-");
	}
}

static int cmd_fleet(const struct ctl_command *c, int argc, char **argv)
{
	struct json_object *resp;

	(void)c;
	if (argc == 2 && !strcmp(argv[0], "apply"))
		return fleet_apply(argv[1]);
	if (argc >= 2 && !strcmp(argv[0], "rm")) {
		resp = call(request(PROTO_CMD_FLEET_RM, argv + 1, argc - 1), NULL);
		json_object_put(resp);
		return EXIT_OK;
	}
	if (argc == 1 && (!strcmp(argv[0], "status") || !strcmp(argv[0], "nodes"))) {
		bool nodes = !strcmp(argv[0], "nodes");
		resp = call(
		    request(nodes ? PROTO_CMD_FLEET_NODES : PROTO_CMD_FLEET_STATUS, NULL, 0), NULL);
		if (opt_json)
			print_json(result_of(resp));
		else if (nodes)
			fleet_print_nodes(result_of(resp));
		else
			fleet_print_status(result_of(resp));
		json_object_put(resp);
		return EXIT_OK;
	}
	fprintf(stderr, "paddockctl fleet: apply DIR|FILE | rm NAME... | status | nodes\n");
	return EXIT_USAGE;
}

/* cat: each service's effective spec, one YAML document for them all. */
static int cmd_cat(const struct ctl_command *c, int argc, char **argv)
{
	struct json_object *resp = call(request(PROTO_CMD_CAT, argv, argc), NULL);
	struct json_object *arr = result_of(resp);

	(void)c;
	if (opt_json) {
		print_json(arr);
	} else {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *e = json_object_array_get_idx(arr, i);
			const char *text = jstr(e, "text"), *file = jstr(e, "file");

			printf("%s# %s\n", i ? "\n" : "", file && *file ? file : "-");
			if (text && *text)
				fputs(text, stdout);
			else
				printf("# %s: no effective spec recorded\n", jstr(e, "name"));
		}
	}
	json_object_put(resp);
	return EXIT_OK;
}

/*
 * convert compose FILE [-o DIR] [--force]: the compose file's services as
 * paddock specs, on stdout as one file or as DIR/NAME.yaml each. Warnings
 * (what is not carried) go to stderr; they do not fail the command.
 */
static int cmd_convert(const struct ctl_command *c, int argc, char **argv)
{
	struct config_errors warn = { 0 }, errs = { 0 };
	struct compose_result res = { 0 };
	const char *file = NULL, *outdir = NULL;
	char *buf = NULL, *dir = NULL, *base = NULL, *slash;
	bool force = false, bad = argc < 2 || strcmp(argv[0], "compose") != 0;
	struct stat st;
	size_t len = 0;
	FILE *f;
	int r, fd, rc = EXIT_FAIL;

	for (int i = 1; i < argc && !bad; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			outdir = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			bad = true;
	}
	if (bad || !file) {
		fprintf(stderr, "usage: paddockctl %s\n", c->usage);
		return EXIT_USAGE;
	}
	/* O_NONBLOCK: a FIFO named by mistake is refused, not waited on. */
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fprintf(stderr, "paddockctl: %s: not a regular file\n", file);
		return EXIT_FAIL;
	}
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		fprintf(stderr, "paddockctl: %s: %s\n", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_FAIL;
	}
	buf = malloc(CONFIG_MAX_FILE_SIZE + 1);
	if (buf)
		len = fread(buf, 1, CONFIG_MAX_FILE_SIZE + 1, f);
	if (!buf || ferror(f) || len > CONFIG_MAX_FILE_SIZE) {
		fprintf(stderr, "paddockctl: %s: %s\n", file,
			!buf	    ? strerror(ENOMEM)
			: ferror(f) ? "cannot read"
				    : "larger than 1 MiB");
		fclose(f);
		goto out;
	}
	fclose(f);
	/* Relative host paths in the file are relative to its directory. */
	dir = strdup(file);
	slash = dir ? strrchr(dir, '/') : NULL;
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	base = dir ? realpath(slash ? dir : ".", NULL) : NULL;
	if (!base) {
		fprintf(stderr, "paddockctl: %s: %s\n", file, strerror(errno));
		goto out;
	}
	r = compose_convert(file, buf, len, base, &res, &warn, &errs);
	for (size_t i = 0; i < warn.n; i++)
		fprintf(stderr, "%s:%d:%d: warning: %s\n", warn.diags[i].file, warn.diags[i].line,
			warn.diags[i].column, warn.diags[i].message);
	if (r < 0) {
		config_errors_print(stderr, &errs);
		if (errs.n == 0)
			fprintf(stderr, "paddockctl: %s: %s\n", file, strerror(-r));
		goto out;
	}
	if (!outdir) {
		char *text = compose_spec_text(&res, 0, res.n, file);

		if (text)
			fputs(text, stdout);
		rc = text && fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
		free(text);
		goto out;
	}
	/* Refuse before writing anything: no half-converted directory. */
	for (size_t i = 0; i < res.n && !force; i++) {
		char *path = NULL;

		if (asprintf(&path, "%s/%s.yaml", outdir, res.services[i].name) < 0)
			goto out;
		if (access(path, F_OK) == 0) {
			fprintf(stderr, "paddockctl: %s: File exists (--force overwrites)\n", path);
			free(path);
			goto out;
		}
		free(path);
	}
	rc = EXIT_OK;
	for (size_t i = 0; i < res.n; i++) {
		char *path = NULL, *text = compose_spec_text(&res, i, i + 1, file);
		int wfd = -1;

		if (text && asprintf(&path, "%s/%s.yaml", outdir, res.services[i].name) >= 0)
			wfd =
			    open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL),
				 0644);
		if (wfd >= 0 && write(wfd, text, strlen(text)) != (ssize_t)strlen(text)) {
			(void)close(wfd);
			wfd = -1;
		}
		if (wfd < 0 || close(wfd) < 0) {
			fprintf(stderr, "paddockctl: %s: %s%s\n", path ? path : outdir,
				strerror(errno), errno == EEXIST ? " (--force overwrites)" : "");
			rc = EXIT_FAIL;
		} else {
			printf("%s\n", path);
		}
		free(path);
		free(text);
	}
out:
	compose_result_free(&res);
	config_errors_clear(&warn);
	config_errors_clear(&errs);
	free(buf);
	free(dir);
	free(base);
	return rc;
}

static int cmd_version(const struct ctl_command *c, int argc, char **argv)
{
	int fd;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *daemon_version = NULL;
	struct json_object *resp = NULL;

	/* The daemon's version when it is there; ours always. */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		resp = call(request(PROTO_CMD_VERSION, NULL, 0), NULL);
		daemon_version = jstr(result_of(resp), "version");
	} else if (fd >= 0) {
		close(fd);
	}
	if (opt_json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "paddockctl", json_object_new_string(PACKAGE_VERSION));
		json_object_object_add(
		    o, "paddockd", daemon_version ? json_object_new_string(daemon_version) : NULL);
		print_json(o);
		json_object_put(o);
	} else {
		printf("paddockctl %s\n", PACKAGE_VERSION);
		printf("paddockd %s\n", daemon_version ? daemon_version : "(not reachable)");
	}
	json_object_put(resp);
	return EXIT_OK;
}

static int cmd_reload(const struct ctl_command *c, int argc, char **argv)
{
	struct json_object *resp = call(request(PROTO_CMD_RELOAD, NULL, 0), NULL);
	struct json_object *res = result_of(resp);

	if (opt_json)
		print_json(res);
	else
		printf("reloaded: %s added, %s removed, %s kept or updated\n",
		       json_object_to_json_string(json_object_object_get(res, "added")),
		       json_object_to_json_string(json_object_object_get(res, "removed")),
		       json_object_to_json_string(json_object_object_get(res, "updated")));
	json_object_put(resp);
	return EXIT_OK;
}

/* --- --url: paddockctl-remote ------------------------------------------------------ */

/* image in-use, the one image command the HTTP API has (GET /v1/images). */
static bool remote_image(const struct ctl_command *c, int argc, char **argv)
{
	return strcmp(c->name, "image") == 0 && argc == 1 && strcmp(argv[0], "in-use") == 0;
}

#if defined(PADDOCKCTL_REMOTE)
static int remote_setup(void)
{
	struct remote_opts o = { opt_url, opt_token_file, opt_cacert };
	struct error err = { 0 };

	if (remote_open(&o, &err) < 0) {
		fprintf(stderr, "paddockctl: %s\n", err.msg);
		return EXIT_USAGE;
	}
	atexit(remote_close);
	return EXIT_OK;
}
#elif defined(PADDOCKCTL_THIN)
/* libcurl lives in paddockctl-remote (this file with PADDOCKCTL_REMOTE): become it. */
static int remote_setup(void)
{
	return exec_helper("paddockctl-remote", "--url");
}
#else
static int remote_setup(void)
{
	fprintf(stderr, "paddockctl-image: --url: use paddockctl\n");
	return EXIT_USAGE;
}
#endif

/* --- the command table: dispatch, --help and --list-commands ----------------------- */

/*
 * In the order of --help. contrib/completion/paddockctl.bash and the
 * COMMANDS of paddockctl(1) list the same names: tests/unit/ctl-commands.sh
 * compares them with `paddockctl --list-commands`.
 */
static const struct ctl_command commands[] = {
	{ "list", cmd_list, CTL_REMOTE, "list [--timers]",
	  "services and their states (and health), one per line;\n"
	  "--timers: scheduled services, last and next runs" },
	{ "status", cmd_status, CTL_REMOTE, "status [NAME...]",
	  "state, pid, restarts, last exit, readiness, health, STATUS=,\n"
	  "limits, usage, logs" },
	{ PROTO_CMD_CAT, cmd_cat, CTL_NAMES, "cat NAME...",
	  "the effective spec as paddockd has it (after\n"
	  "includes, merge keys, ${VAR}); secrets by name only" },
	{ PROTO_CMD_START, cmd_simple, CTL_NAMES | CTL_REMOTE, "start NAME...", "start services" },
	{ PROTO_CMD_STOP, cmd_simple, CTL_NAMES | CTL_REMOTE, "stop NAME...",
	  "stop services (waits until they are stopped)" },
	{ PROTO_CMD_RESTART, cmd_simple, CTL_NAMES | CTL_REMOTE, "restart NAME...",
	  "stop, then start again" },
	{ PROTO_CMD_EXEC, cmd_exec, 0,
	  "exec [-t] [-u USER] [-e KEY=VALUE]... [-w DIR] NAME -- CMD...",
	  "run CMD inside the running service: its namespaces,\n"
	  "cgroup, root, user (-u), capabilities, seccomp filter\n"
	  "and environment (-e adds); stdio goes straight to it;\n"
	  "-t: a pty; exits with CMD's status" },
	{ "kill", cmd_kill, CTL_REMOTE, "kill [--signal SIG] NAME",
	  "send a signal to every process of a service" },
	{ PROTO_CMD_FREEZE, cmd_simple, CTL_NAMES | CTL_REMOTE, "freeze NAME... | thaw NAME...",
	  "freeze or thaw services' cgroups" },
	{ PROTO_CMD_THAW, cmd_simple, CTL_NAMES | CTL_REMOTE, NULL, NULL },
	{ "logs", cmd_logs, CTL_REMOTE, "logs [-n N] [--since TIME] [-f] NAME",
	  "last N lines of output (default 10) from the log files,\n"
	  "what earlier daemons logged too; --since: every line\n"
	  "since TIME; -f follows" },
	{ "set", cmd_set, CTL_REMOTE,
	  "set NAME KEY=VALUE...\n"
	  "set NAME --reset",
	  "change limits now, read back, kept until\n"
	  "the reset (keys: memory.min, memory.low, memory.high,\n"
	  "memory.max, memory.swap_max, cpu.weight, cpu.max,\n"
	  "cpu.cpus, pids.max, io.weight)" },
	{ "run", cmd_run, 0, "run [OPTIONS] -- COMMAND...",
	  "a transient service; options: --wait (stream output,\n"
	  "exit with its status), --rm, --name N, --rootfs DIR |\n"
	  "--image REF, --memory-max SIZE, --memory-high SIZE,\n"
	  "--cpu-max CPUS, --cpu-weight N, --pids-max N,\n"
	  "--namespaces LIST, --network none|host|NET, --class C,\n"
	  "--user U, --workdir DIR, --env KEY=VALUE" },
	{ "events", cmd_events, CTL_REMOTE, "events [-f] [--service NAME] [--since TIME] [-n N]",
	  "starts, exits and causes, OOM kills, pressure, limit\n"
	  "changes (TIME: 10m for ten minutes ago, or epoch secs)" },
	{ "top", cmd_top, CTL_REMOTE, "top [--once] [--sort mem|cpu] [--interval SECS]",
	  "live view: memory against limits, CPU, pressure" },
	{ "image", cmd_image, 0,
	  "image import SRC [--name NAME[:TAG]] [--tag TAG]\n"
	  "image pull REF [--auth-file F] [--certs-dir D]\n"
	  "    [--insecure HOST[:PORT]]... [--parallel N]\n"
	  "image login HOST[:PORT] [-u USER] [--password-stdin]\n"
	  "image logout HOST[:PORT]\n"
	  "image list | inspect REF | rm REF | prune\n"
	  "image in-use",
	  "import an OCI layout dir, oci-archive or docker-archive\n"
	  "download REF (HOST[:PORT]/NAME[:TAG] or @sha256:HEX)\n"
	  "from a registry; defaults from the daemon config\n"
	  "check and store credentials (prompts for the password)\n"
	  "forget a registry's credentials\n"
	  "the image store (prune keeps layers services use)\n"
	  "layers running services use (works with --url)" },
	{ "check", cmd_check, CTL_REMOTE, "check [--config FILE] PATH...",
	  "validate spec files or directories (no daemon needed)\n"
	  "against the daemon config's networks (default\n"
	  "/etc/paddock/paddock.yaml if present, else built-in)" },
	{ "convert", cmd_convert, CTL_REMOTE, "convert compose FILE [-o DIR] [--force]",
	  "a docker-compose file as specs (stdout, or\n"
	  "DIR/NAME.yaml each); warns of each key not carried" },
	{ "network", cmd_network, 0, "network ls | inspect NAME",
	  "bridge networks: subnet, gateway, whether in use;\n"
	  "inspect lists members, addresses, aliases, rules" },
	{ "fleet", cmd_fleet, 0, "fleet apply DIR | rm NAME... | status | nodes",
	  "fleet specs on etcd (paddockd with fleet:): apply\n"
	  "checks and writes specs in one transaction; status\n"
	  "shows each instance's node and state; nodes each\n"
	  "node's budget, what is committed and how much locally" },
	{ "reload", cmd_reload, CTL_REMOTE, "reload",
	  "re-read the specs, apply the difference (nothing\n"
	  "changes if any file has an error)" },
	{ "daemon-reexec", cmd_daemon_reexec, 0, "daemon-reexec",
	  "re-execute paddockd's binary (upgrade); services\n"
	  "keep running and are taken over" },
	{ "version", cmd_version, 0, "version", "versions of paddockctl and paddockd" },
};

static const struct ctl_command *command_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

#define HELP_COLUMN 29 /* where descriptions start in --help */

/* Next line of a '\n'-separated text: its length; *p moves past it. */
static int next_line(const char **p, const char **line)
{
	size_t len = strcspn(*p, "\n");

	*line = *p;
	*p += len;
	if (**p)
		(*p)++;
	return (int)len;
}

/*
 * A command's synopsis lines on the left, its description lines on the
 * right; a synopsis too wide for the left column gets a line of its own.
 */
static void usage_command(FILE *f, const struct ctl_command *c)
{
	const char *u = c->usage, *h = c->help ? c->help : "", *ul, *hl;

	while (*u || *h) {
		int ulen = next_line(&u, &ul), hlen;
		if (ulen > HELP_COLUMN - 4) {
			fprintf(f, "  %.*s\n", ulen, ul);
			ulen = 0;
		}
		hlen = next_line(&h, &hl);
		if (!hlen) {
			if (ulen)
				fprintf(f, "  %.*s\n", ulen, ul);
		} else if (!ulen) {
			fprintf(f, "%*s%.*s\n", HELP_COLUMN, "", hlen, hl);
		} else {
			fprintf(f, "  %-*.*s%.*s\n", HELP_COLUMN - 2, ulen, ul, hlen, hl);
		}
	}
}

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: paddockctl [-s SOCKET] [--json] [--state-dir DIR] COMMAND [ARGS...]\n"
	       "       paddockctl --url URL --token-file FILE [--cacert FILE] [--json] COMMAND...\n"
	       "\n"
	       "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].usage)
			usage_command(f, &commands[i]);
	fprintf(
	    f,
	    "\n"
	    "Options (before or after the command):\n"
	    "  -s, --socket PATH          control socket (default $PADDOCK_SOCKET, then\n"
	    "                             " DEFAULT_SOCKET ")\n"
	    "      --json                 print exactly one JSON document\n"
	    "      --state-dir DIR        image store location when paddockd is not running\n"
	    "                             (default: asked from paddockd, else /var/lib/paddock)\n"
	    "      --url URL              a paddockd's HTTP API instead of the socket:\n"
	    "                             https://HOST:PORT, http://HOST:PORT or unix:/PATH\n"
	    "                             (http:// only to a loopback HOST)\n"
	    "                             (default $PADDOCK_URL); list, status, start, stop,\n"
	    "                             restart, kill, freeze, thaw, set, reload, logs,\n"
	    "                             events, top; image in-use\n"
	    "      --token-file FILE      the API token: first line not a comment, TOKEN or\n"
	    "                             ROLE TOKEN; mode 0600 (default $PADDOCK_TOKEN_FILE)\n"
	    "      --cacert FILE          CA certificates to verify the server with\n"
	    "  -h, --help                 this text\n"
	    "\n"
	    "Exit status: 0 ok, 1 failed, 2 usage, 3 no such service, 4 daemon unreachable;\n"
	    "run --wait: the command's own status (128+N for a signal, 127 launch failure).\n");
}

int main(int argc, char **argv)
{
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	int nrest = 0;
	bool after_dashdash = false;

	if (!rest)
		return EXIT_FAIL;
	main_argv = argv;
	signal(SIGPIPE, SIG_IGN);
	/* Global options may stand anywhere before "--". */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (after_dashdash) {
			rest[nrest++] = argv[i];
		} else if (strcmp(a, "--") == 0) {
			after_dashdash = true;
			rest[nrest++] = argv[i]; /* run needs to see where its command starts */
		} else if (strcmp(a, "--json") == 0) {
			opt_json = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			free(rest);
			return EXIT_OK;
		} else if (strcmp(a, "--list-commands") == 0) {
			/* Not in --help: for completion scripts and tests. */
			for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
				printf("%s\n", commands[k].name);
			free(rest);
			return EXIT_OK;
		} else if ((strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0)) {
			if (i + 1 >= argc) {
				usage(stderr);
				return EXIT_USAGE;
			}
			socket_path = argv[++i];
		} else if (strncmp(a, "--socket=", 9) == 0) {
			socket_path = a + 9;
		} else if (strcmp(a, "--state-dir") == 0 && i + 1 < argc) {
			opt_state_dir = argv[++i];
		} else if (strcmp(a, "--url") == 0 || strcmp(a, "--token-file") == 0 ||
			   strcmp(a, "--cacert") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "paddockctl: %s needs a value\n", a);
				free(rest);
				return EXIT_USAGE;
			}
			*(a[2] == 'u'	? &opt_url
			  : a[2] == 't' ? &opt_token_file
					: &opt_cacert) = argv[++i];
		} else {
			rest[nrest++] = argv[i];
		}
	}
	/* An explicit -s wins over $PADDOCK_URL: the environment is only a default. */
	if (!opt_url && !socket_path)
		opt_url = getenv("PADDOCK_URL");
	if (opt_url && !*opt_url)
		opt_url = NULL;
	if (opt_url && !opt_token_file)
		opt_token_file = getenv("PADDOCK_TOKEN_FILE");
	if (!opt_url && (opt_token_file || opt_cacert)) {
		fprintf(stderr, "paddockctl: --token-file and --cacert go with --url\n");
		free(rest);
		return EXIT_USAGE;
	}
	if (!socket_path)
		socket_path = getenv("PADDOCK_SOCKET");
	if (!socket_path || !*socket_path)
		socket_path = DEFAULT_SOCKET;
	if (nrest == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}

	const struct ctl_command *c = command_find(rest[0]);
	int cargc = nrest - 1;
	char **cargv = rest + 1;
	int r;

	if (!c) {
		fprintf(stderr, "paddockctl: unknown command '%s' (see paddockctl --help)\n",
			rest[0]);
		r = EXIT_USAGE;
	} else if (opt_url && !(c->flags & CTL_REMOTE) && !remote_image(c, cargc, cargv)) {
		fprintf(stderr,
			"paddockctl: %s has no HTTP API route; run it on the host, over the "
			"socket (-s, or without --url and $PADDOCK_URL)\n",
			c->name);
		r = EXIT_USAGE;
	} else if (opt_url && (r = remote_setup()) != EXIT_OK) {
		; /* the reason is printed */
	} else if ((c->flags & CTL_NAMES) && cargc < 1) {
		fprintf(stderr, "paddockctl %s: name at least one service\n", c->name);
		r = EXIT_USAGE;
	} else {
		r = c->run(c, cargc, cargv);
	}
	free(rest);
	return r;
}
