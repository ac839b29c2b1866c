/*
 * state.c - the state file: serialise, save atomically, load and check.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <sys/stat.h>

#include "state.h"
#include "util.h"

void state_clear(struct state *st)
{
	for (size_t i = 0; i < st->nservices; i++)
		free(st->services[i].spec_text);
	free(st->services);
	memset(st, 0, sizeof(*st));
}

const char *state_held_name(enum state_held h)
{
	static const char *const names[] = { "", "stopped", "failed", "parked" };
	return h < ARRAY_SIZE(names) ? names[h] : "";
}

const struct state_service *state_find(const struct state *st, const char *name)
{
	for (size_t i = 0; i < st->nservices; i++)
		if (strcmp(st->services[i].name, name) == 0)
			return &st->services[i];
	return NULL;
}

/* A non-negative integer member within max; absent is 0. */
static int get_uint(struct json_object *o, const char *key, uint64_t max, uint64_t *out,
		    const char *where, struct error *err)
{
	struct json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return error_set(err, EBADMSG, "%s.%s: not an integer", where, key);
	errno = 0;
	uint64_t u = json_object_get_uint64(v);
	if (json_object_get_int64(v) < 0 || errno || u > max)
		return error_set(err, EBADMSG, "%s.%s: out of range", where, key);
	*out = u;
	return 0;
}

static const char *const memory_event_keys[] = { "low", "high",	    "max",
						 "oom", "oom_kill", "oom_group_kill" };

static uint64_t *memory_event_field(struct probe_memory_events *e, size_t i)
{
	uint64_t *f[] = { &e->low, &e->high, &e->max, &e->oom, &e->oom_kill, &e->oom_group_kill };
	return f[i];
}

/* "exits": [count by exit kind] and "memory_events": {low, high, ...}; both optional. */
static int parse_counters(struct json_object *o, const char *where, struct state_service *s,
			  struct error *err)
{
	struct json_object *v;
	char at[48];
	int r;

	if (json_object_object_get_ex(o, "exits", &v)) {
		size_t n =
		    json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
		if (!json_object_is_type(v, json_type_array) || n > STATE_EXIT_KIND_MAX)
			return error_set(err, EBADMSG,
					 "%s.exits: not an array of at most %d counts", where,
					 STATE_EXIT_KIND_MAX);
		for (size_t i = 0; i < n; i++) {
			struct json_object *c = json_object_array_get_idx(v, i);
			if (!json_object_is_type(c, json_type_int) || json_object_get_int64(c) < 0)
				return error_set(err, EBADMSG,
						 "%s.exits[%zu]: not a non-negative integer", where,
						 i);
			s->exits[i] = json_object_get_uint64(c);
		}
	}
	if (json_object_object_get_ex(o, "memory_events", &v)) {
		snprintf(at, sizeof(at), "%s.memory_events", where);
		if (!json_object_is_type(v, json_type_object))
			return error_set(err, EBADMSG, "%s: not an object", at);
		for (size_t i = 0; i < ARRAY_SIZE(memory_event_keys); i++)
			if ((r = get_uint(v, memory_event_keys[i], UINT64_MAX - 1,
					  memory_event_field(&s->memory_events, i), at, err)) < 0)
				return r;
	}
	return 0;
}

/* --- kept for the operator and the service: pins and STATUS= --------------------------- */

static int kept_parse_pin(struct json_object *p, const char *where, struct state_pin *pin,
			  struct error *err)
{
	struct json_object *m, *v;
	char at[64], atm[80];
	uint64_t u;
	int r;

	snprintf(at, sizeof(at), "%s.pin", where);
	if (!json_object_is_type(p, json_type_object))
		return error_set(err, EBADMSG, "%s: not an object", at);
	pin->set = true;
	snprintf(atm, sizeof(atm), "%s.memory", at);
	if (!json_object_object_get_ex(p, "memory", &m) ||
	    !json_object_is_type(m, json_type_object))
		return error_set(err, EBADMSG, "%s: missing or not an object", atm);
	if ((r = get_uint(m, "min", UINT64_MAX, &pin->memory.min, atm, err)) < 0 ||
	    (r = get_uint(m, "low", UINT64_MAX, &pin->memory.low, atm, err)) < 0 ||
	    (r = get_uint(m, "high", UINT64_MAX, &pin->memory.high, atm, err)) < 0 ||
	    (r = get_uint(m, "max", UINT64_MAX, &pin->memory.max, atm, err)) < 0 ||
	    (r = get_uint(m, "swap_max", UINT64_MAX, &pin->memory.swap_max, atm, err)) < 0 ||
	    (r = get_uint(p, "pids_max", UINT64_MAX, &pin->pids_max, at, err)) < 0)
		return r;
	if ((r = get_uint(p, "cpu_weight", 10000, &u, at, err)) < 0)
		return r;
	pin->cpu_weight = (uint32_t)u;
	if ((r = get_uint(p, "io_weight", 10000, &u, at, err)) < 0)
		return r;
	pin->io_weight = (uint32_t)u;
	if ((r = get_uint(p, "cpu_max_mcpu", UINT32_MAX, &u, at, err)) < 0)
		return r;
	pin->cpu_max_mcpu = (uint32_t)u;
	if (json_object_object_get_ex(p, "cpus", &v)) {
		const char *c =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
		size_t n = strlen(c);
		if (n == 0 || n >= sizeof(pin->cpus) || strspn(c, "0123456789,-") != n ||
		    (size_t)json_object_get_string_len(v) != n)
			return error_set(err, EBADMSG, "%s.cpus: not a cpu list (\"0-1,3\")", at);
		memcpy(pin->cpus, c, n + 1);
	}
	return 0;
}

/* config_valid_name's rule, here without linking config/ into the fuzzer */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= SPEC_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n && s[0] != '_' &&
	       s[0] != '-';
}

/* A network name and an IPv4 address, as the state file keeps them. */
static int parse_net_entry(struct json_object *o, const char *where, char name[SPEC_NAME_MAX + 1],
			   const char *addr_key, uint32_t *addr, struct error *err)
{
	struct json_object *v;
	struct in_addr in;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "network", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) > SPEC_NAME_MAX ||
	    !name_ok(json_object_get_string(v)))
		return error_set(err, EBADMSG, "%s.network: missing or not a network name", where);
	snprintf(name, SPEC_NAME_MAX + 1, "%s", json_object_get_string(v));
	if (!json_object_object_get_ex(o, addr_key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    inet_pton(AF_INET, json_object_get_string(v), &in) != 1)
		return error_set(err, EBADMSG, "%s.%s: missing or not an IPv4 address", where,
				 addr_key);
	*addr = ntohl(in.s_addr);
	return 0;
}

static int parse_net(struct json_object *a, const char *where, struct state_service *s,
		     struct error *err)
{
	size_t n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

	if (!json_object_is_type(a, json_type_array) || n > SPEC_MAX_ATTACH)
		return error_set(err, EBADMSG, "%s.net: not an array of at most %d entries", where,
				 SPEC_MAX_ATTACH);
	for (size_t i = 0; i < n; i++) {
		char w[64];
		snprintf(w, sizeof(w), "%s.net[%zu]", where, i);
		int r = parse_net_entry(json_object_array_get_idx(a, i), w, s->net[i].network,
					"addr", &s->net[i].addr, err);
		if (r < 0)
			return r;
	}
	s->nnet = (unsigned)n;
	return 0;
}

static struct json_object *addr_json(uint32_t addr)
{
	char b[INET_ADDRSTRLEN];
	struct in_addr in = { .s_addr = htonl(addr) };

	return json_object_new_string(inet_ntop(AF_INET, &in, b, sizeof(b)));
}

/* The kept members of one service record; absent ones are left empty. */
static int kept_parse(struct json_object *o, const char *where, struct state_service *s,
		      struct error *err)
{
	struct json_object *v;
	int r;

	if (json_object_object_get_ex(o, "pin", &v) &&
	    (r = kept_parse_pin(v, where, &s->pin, err)) < 0)
		return r;
	if (json_object_object_get_ex(o, "status_text", &v)) {
		const char *t =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
		size_t n = t ? strlen(t) : 0;
		bool ctl = false;
		for (size_t i = 0; i < n; i++)
			ctl |= (unsigned char)t[i] < 0x20 || t[i] == 0x7f;
		if (!t || n >= sizeof(s->status_text) ||
		    (size_t)json_object_get_string_len(v) != n || ctl)
			return error_set(err, EBADMSG,
					 "%s.status_text: not a line of text of at most %zu bytes",
					 where, sizeof(s->status_text) - 1);
		memcpy(s->status_text, t, n + 1);
	}
	if (json_object_object_get_ex(o, "net", &v) && (r = parse_net(v, where, s, err)) < 0)
		return r;
	return 0;
}

static void kept_json(const struct state_service *s, struct json_object *o)
{
	const struct state_pin *p = &s->pin;

	if (p->set) {
		struct json_object *j = json_object_new_object(), *m = json_object_new_object();
		json_object_object_add(m, "min", json_object_new_uint64(p->memory.min));
		json_object_object_add(m, "low", json_object_new_uint64(p->memory.low));
		json_object_object_add(m, "high", json_object_new_uint64(p->memory.high));
		json_object_object_add(m, "max", json_object_new_uint64(p->memory.max));
		json_object_object_add(m, "swap_max", json_object_new_uint64(p->memory.swap_max));
		json_object_object_add(j, "memory", m);
		json_object_object_add(j, "cpu_weight", json_object_new_uint64(p->cpu_weight));
		json_object_object_add(j, "cpu_max_mcpu", json_object_new_uint64(p->cpu_max_mcpu));
		json_object_object_add(j, "io_weight", json_object_new_uint64(p->io_weight));
		json_object_object_add(j, "pids_max", json_object_new_uint64(p->pids_max));
		if (p->cpus[0])
			json_object_object_add(j, "cpus", json_object_new_string(p->cpus));
		json_object_object_add(o, "pin", j);
	}
	if (s->status_text[0])
		json_object_object_add(o, "status_text", json_object_new_string(s->status_text));
	if (s->nnet) {
		struct json_object *a = json_object_new_array();
		for (unsigned i = 0; i < s->nnet; i++) {
			struct json_object *e = json_object_new_object();
			json_object_object_add(e, "network",
					       json_object_new_string(s->net[i].network));
			json_object_object_add(e, "addr", addr_json(s->net[i].addr));
			json_object_array_add(a, e);
		}
		json_object_object_add(o, "net", a);
	}
}

static int parse_service(struct json_object *o, const char *where, struct state_service *s,
			 struct error *err)
{
	struct json_object *v;
	uint64_t u;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return error_set(err, EBADMSG, "%s: not an object", where);
	if (!json_object_object_get_ex(o, "name", &v) || !json_object_is_type(v, json_type_string))
		return error_set(err, EBADMSG, "%s.name: missing or not a string", where);
	const char *name = json_object_get_string(v);
	size_t nlen = strlen(name);
	if (nlen == 0 || nlen > SPEC_NAME_MAX || (size_t)json_object_get_string_len(v) != nlen ||
	    strchr(name, '/') || name[0] == '.')
		return error_set(err, EBADMSG, "%s.name: not a service name", where);
	memcpy(s->name, name, nlen + 1);
	if ((r = get_uint(o, "pid", INT32_MAX, &u, where, err)) < 0)
		return r;
	s->pid = (pid_t)u;
	if ((r = get_uint(o, "start_time", UINT64_MAX, &s->start_time, where, err)) < 0 ||
	    (r = get_uint(o, "started_at_ms", UINT64_MAX, &s->started_at_ms, where, err)) < 0 ||
	    (r = get_uint(o, "oom_kills", UINT64_MAX, &s->oom_kills, where, err)) < 0)
		return r;
	if ((r = get_uint(o, "restarts", UINT32_MAX, &u, where, err)) < 0)
		return r;
	s->restarts = (unsigned)u;
	if ((r = get_uint(o, "failures", UINT32_MAX, &u, where, err)) < 0)
		return r;
	s->failures = (unsigned)u;
	if ((r = get_uint(o, "reloads", UINT32_MAX, &u, where, err)) < 0)
		return r;
	s->reloads = (unsigned)u;
	if ((r = get_uint(o, "run_uid", UINT32_MAX, &u, where, err)) < 0)
		return r;
	s->run_uid = (uint32_t)u;
	s->run_ids = json_object_object_get_ex(o, "run_uid", NULL);
	if ((r = get_uint(o, "run_gid", UINT32_MAX, &u, where, err)) < 0)
		return r;
	s->run_gid = (uint32_t)u;
	if ((r = parse_counters(o, where, s, err)) < 0)
		return r;
	if (json_object_object_get_ex(o, "spec", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (size_t)json_object_get_string_len(v) > STATE_MAX_SPEC_TEXT)
			return error_set(err, EBADMSG, "%s.spec: not a string of at most %u bytes",
					 where, STATE_MAX_SPEC_TEXT);
		s->spec_text = xstrdup(json_object_get_string(v));
	}
	if (json_object_object_get_ex(o, "rm", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return error_set(err, EBADMSG, "%s.rm: not a boolean", where);
		s->rm = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(o, "bound_stop", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return error_set(err, EBADMSG, "%s.bound_stop: not a boolean", where);
		s->bound_stop = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(o, "completed", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return error_set(err, EBADMSG, "%s.completed: not a boolean", where);
		s->completed = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(o, "held", &v)) {
		const char *h =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
		if (strcmp(h, "stopped") == 0)
			s->held = STATE_HELD_STOPPED;
		else if (strcmp(h, "failed") == 0)
			s->held = STATE_HELD_FAILED;
		else if (strcmp(h, "parked") == 0)
			s->held = STATE_HELD_PARKED;
		else
			return error_set(err, EBADMSG,
					 "%s.held: not \"stopped\", \"failed\" or \"parked\"",
					 where);
	}
	if (json_object_object_get_ex(o, "exit", &v)) {
		struct json_object *t;
		char at[48];
		snprintf(at, sizeof(at), "%s.exit", where);
		if (!json_object_is_type(v, json_type_object))
			return error_set(err, EBADMSG, "%s: not an object", at);
		if ((r = get_uint(v, "kind", STATE_EXIT_KIND_MAX, &u, at, err)) < 0)
			return r;
		s->exit_kind = (int)u;
		if ((r = get_uint(v, "code", INT32_MAX, &u, at, err)) < 0 ||
		    (r = get_uint(v, "time_ms", UINT64_MAX, &s->exit_ms, at, err)) < 0)
			return r;
		s->exit_code = (int)u;
		if (!json_object_object_get_ex(v, "reason", &t) ||
		    !json_object_is_type(t, json_type_string) ||
		    (size_t)json_object_get_string_len(t) >= sizeof(s->exit_reason))
			return error_set(err, EBADMSG,
					 "%s.reason: not a string of at most %zu bytes", at,
					 sizeof(s->exit_reason) - 1);
		snprintf(s->exit_reason, sizeof(s->exit_reason), "%s", json_object_get_string(t));
	}
	if (json_object_object_get_ex(o, "rebalance", &v)) {
		char at[48];
		snprintf(at, sizeof(at), "%s.rebalance", where);
		if (!json_object_is_type(v, json_type_object))
			return error_set(err, EBADMSG, "%s: not an object", at);
		if ((r = get_uint(v, "working_set", UINT64_MAX, &s->working_set, at, err)) < 0 ||
		    (r = get_uint(v, "grown_max", UINT64_MAX, &s->grown_max, at, err)) < 0)
			return r;
	}
	/* schedule: (timers.c); absent in older files and for unscheduled services */
	if (json_object_object_get_ex(o, "timer", &v)) {
		char at[48];
		snprintf(at, sizeof(at), "%s.timer", where);
		if (!json_object_is_type(v, json_type_object))
			return error_set(err, EBADMSG, "%s: not an object", at);
		if ((r = get_uint(v, "last_ms", UINT64_MAX, &s->timer_last_ms, at, err)) < 0 ||
		    (r = get_uint(v, "armed_ms", UINT64_MAX, &s->timer_armed_ms, at, err)) < 0)
			return r;
	}
	return kept_parse(o, where, s, err);
}

int state_parse(const char *buf, size_t len, struct state *out, struct error *err)
{
	struct json_tokener *tok;
	struct json_object *root, *v, *arr;
	uint64_t u;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (len > STATE_MAX_BYTES)
		return error_set(err, EFBIG, "larger than %u bytes", STATE_MAX_BYTES);
	if (!(tok = json_tokener_new_ex(16)))
		return error_set(err, ENOMEM, "out of memory");
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		r = error_set(err, EBADMSG, "not JSON: %s",
			      root ? "trailing data"
				   : json_tokener_error_desc(json_tokener_get_error(tok)));
		json_tokener_free(tok);
		json_object_put(root);
		return r;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(root, json_type_object)) {
		r = error_set(err, EBADMSG, "not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(root, "version", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != STATE_VERSION) {
		r = error_set(err, EBADMSG, "version: missing or not %d", STATE_VERSION);
		goto out;
	}
	if (json_object_object_get_ex(root, "boot_id", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (size_t)json_object_get_string_len(v) >= sizeof(out->boot_id)) {
			r = error_set(err, EBADMSG, "boot_id: not a boot id");
			goto out;
		}
		snprintf(out->boot_id, sizeof(out->boot_id), "%s", json_object_get_string(v));
	}
	if ((r = get_uint(root, "daemon_pid", INT32_MAX, &u, "", err)) < 0)
		goto out;
	out->daemon_pid = (pid_t)u;
	if (json_object_object_get_ex(root, "networks", &arr)) {
		size_t nn =
		    json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
		if (!json_object_is_type(arr, json_type_array) || nn > SPEC_MAX_NETWORKS) {
			r = error_set(err, EBADMSG, "networks: not an array of at most %d entries",
				      SPEC_MAX_NETWORKS);
			goto out;
		}
		for (size_t i = 0; i < nn; i++) {
			char w[32];
			struct state_network *sn = &out->networks[i];
			struct json_object *e = json_object_array_get_idx(arr, i);
			snprintf(w, sizeof(w), "networks[%zu]", i);
			if ((r = parse_net_entry(e, w, sn->name, "next", &sn->next, err)) < 0)
				goto out;
			if (json_object_object_get_ex(e, "created", &v)) {
				if (!json_object_is_type(v, json_type_boolean)) {
					r = error_set(err, EBADMSG, "%s.created: not a boolean", w);
					goto out;
				}
				sn->created = json_object_get_boolean(v);
			}
			out->nnetworks++;
		}
	}
	if (!json_object_object_get_ex(root, "services", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		r = error_set(err, EBADMSG, "services: missing or not an array");
		goto out;
	}
	size_t n = json_object_array_length(arr);
	if (n > SPEC_MAX_SERVICES) {
		r = error_set(err, EBADMSG, "services: more than %d entries", SPEC_MAX_SERVICES);
		goto out;
	}
	out->services = xcalloc(n ? n : 1, sizeof(*out->services));
	for (size_t i = 0; i < n; i++) {
		char where[32];
		snprintf(where, sizeof(where), "services[%zu]", i);
		struct state_service *s = &out->services[out->nservices];
		if ((r = parse_service(json_object_array_get_idx(arr, i), where, s, err)) < 0) {
			free(s->spec_text);
			goto out;
		}
		if (state_find(out, s->name)) {
			free(s->spec_text);
			r = error_set(err, EBADMSG, "%s.name: %s appears twice", where, s->name);
			goto out;
		}
		out->nservices++;
	}
out:
	json_object_put(root);
	if (r < 0)
		state_clear(out);
	return r;
}

int state_load(const char *path, struct state *out, struct error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t got = 0;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return error_set(err, errno, "%s", strerror(errno));
	if (fstat(fd, &st) < 0)
		return error_set(err, errno, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return error_set(err, EINVAL, "not a regular file");
	if ((uint64_t)st.st_size > STATE_MAX_BYTES)
		return error_set(err, EFBIG, "larger than %u bytes", STATE_MAX_BYTES);
	buf = xcalloc(1, (size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_set(err, errno, "%s", strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return state_parse(buf, got, out, err);
}

static struct json_object *service_json(const struct state_service *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "start_time", json_object_new_uint64(s->start_time));
	json_object_object_add(o, "started_at_ms", json_object_new_uint64(s->started_at_ms));
	json_object_object_add(o, "restarts", json_object_new_uint64(s->restarts));
	json_object_object_add(o, "failures", json_object_new_uint64(s->failures));
	json_object_object_add(o, "oom_kills", json_object_new_uint64(s->oom_kills));
	json_object_object_add(o, "reloads", json_object_new_uint64(s->reloads));
	if (s->pid && s->run_ids) {
		json_object_object_add(o, "run_uid", json_object_new_uint64(s->run_uid));
		json_object_object_add(o, "run_gid", json_object_new_uint64(s->run_gid));
	}
	struct json_object *ex = json_object_new_array(), *me = json_object_new_object();
	for (size_t i = 0; i < STATE_EXIT_KIND_MAX; i++)
		json_object_array_add(ex, json_object_new_uint64(s->exits[i]));
	json_object_object_add(o, "exits", ex);
	for (size_t i = 0; i < ARRAY_SIZE(memory_event_keys); i++) {
		uint64_t x =
		    *memory_event_field((struct probe_memory_events *)&s->memory_events, i);
		json_object_object_add(me, memory_event_keys[i], json_object_new_uint64(x));
	}
	json_object_object_add(o, "memory_events", me);
	if (s->spec_text) {
		json_object_object_add(o, "spec", json_object_new_string(s->spec_text));
		json_object_object_add(o, "rm", json_object_new_boolean(s->rm));
	}
	if (s->held != STATE_HELD_NONE)
		json_object_object_add(o, "held", json_object_new_string(state_held_name(s->held)));
	if (s->bound_stop)
		json_object_object_add(o, "bound_stop", json_object_new_boolean(true));
	if (s->completed)
		json_object_object_add(o, "completed", json_object_new_boolean(true));
	if (s->exit_kind) {
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "kind", json_object_new_int(s->exit_kind));
		json_object_object_add(e, "code", json_object_new_int(s->exit_code));
		json_object_object_add(e, "time_ms", json_object_new_uint64(s->exit_ms));
		json_object_object_add(e, "reason", json_object_new_string(s->exit_reason));
		json_object_object_add(o, "exit", e);
	}
	if (s->working_set || s->grown_max) {
		struct json_object *rb = json_object_new_object();
		if (s->working_set)
			json_object_object_add(rb, "working_set",
					       json_object_new_uint64(s->working_set));
		if (s->grown_max)
			json_object_object_add(rb, "grown_max",
					       json_object_new_uint64(s->grown_max));
		json_object_object_add(o, "rebalance", rb);
	}
	kept_json(s, o);
	if (s->timer_last_ms || s->timer_armed_ms) {
		struct json_object *t = json_object_new_object();
		json_object_object_add(t, "last_ms", json_object_new_uint64(s->timer_last_ms));
		json_object_object_add(t, "armed_ms", json_object_new_uint64(s->timer_armed_ms));
		json_object_object_add(o, "timer", t);
	}
	return o;
}

/* Append n bytes, growing by doubling. */
static void text_append(struct state_text *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (t->len + n + 1 > cap)
			cap *= 2;
		char *b = realloc(t->buf, cap);
		if (!b)
			abort(); /* as xcalloc */
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

void state_text_begin(struct state_text *t, const char *boot_id, pid_t daemon_pid,
		      const struct state_network *nets, size_t nnets)
{
	struct json_object *id = json_object_new_string(boot_id);
	char head[64];
	const char *q;

	memset(t, 0, sizeof(*t));
	text_append(t, "{\"version\":", 11);
	snprintf(head, sizeof(head), "%d,\"boot_id\":", STATE_VERSION);
	text_append(t, head, strlen(head));
	q = json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN);
	text_append(t, q, strlen(q));
	json_object_put(id);
	snprintf(head, sizeof(head), ",\"daemon_pid\":%d,", (int)daemon_pid);
	text_append(t, head, strlen(head));
	if (nnets) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < nnets; i++) {
			struct json_object *e = json_object_new_object();
			json_object_object_add(e, "network", json_object_new_string(nets[i].name));
			json_object_object_add(e, "next", addr_json(nets[i].next));
			json_object_object_add(e, "created",
					       json_object_new_boolean(nets[i].created));
			json_object_array_add(a, e);
		}
		size_t n;
		q = json_object_to_json_string_length(a, JSON_C_TO_STRING_PLAIN, &n);
		text_append(t, "\"networks\":", 11);
		text_append(t, q, n);
		text_append(t, ",", 1);
		json_object_put(a);
	}
	text_append(t, "\"services\":[", 12);
}

void state_text_add(struct state_text *t, const struct state_service *s)
{
	struct json_object *o = service_json(s);
	size_t n;
	const char *q = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);

	if (t->nservices++)
		text_append(t, ",", 1);
	text_append(t, q, n);
	json_object_put(o);
}

char *state_text_end(struct state_text *t, size_t *len)
{
	text_append(t, "]}", 2);
	*len = t->len;
	return steal_pointer(&t->buf);
}

char *state_format(const struct state *st, size_t *len)
{
	struct state_text t;

	state_text_begin(&t, st->boot_id, st->daemon_pid, st->networks, st->nnetworks);
	for (size_t i = 0; i < st->nservices; i++)
		state_text_add(&t, &st->services[i]);
	return state_text_end(&t, len);
}

int state_save(const char *path, const struct state *st)
{
	size_t len;
	_cleanup_free_ char *text = state_format(st, &len);

	return state_write_text(path, text, len);
}

int state_write_text(const char *path, const char *text, size_t len)
{
	_cleanup_free_ char *tmp = NULL, *dircopy = xstrdup(path);
	size_t off = 0;
	int fd, r = 0;

	xasprintf(&tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && (write(fd, "\n", 1) != 1 || fsync(fd) < 0))
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		goto out;
	}
	/* The rename itself must survive a crash of the machine. */
	fd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
out:
	return r;
}

int state_boot_id(char buf[40])
{
	ssize_t n = read_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", buf, 40);

	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

uint64_t state_proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long t = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return 0;
	/* comm may hold spaces and parens: fields restart after the last ')'. */
	const char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* state is field 3; starttime field 22: skip 19 fields after state. */
	for (int field = 2; field < 21 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &t) != 1)
		return 0;
	return t;
}
