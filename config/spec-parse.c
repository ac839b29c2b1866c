/*
 * spec-parse.c - service spec files -> struct spec_set. One pass per file
 * over the YAML tree collects every error it can find; cross-file checks
 * (duplicate names, depends_on, cycles) run once over the whole set. The
 * rules and defaults are listed at the top of config.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, vasprintf */
#endif
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "units.h"
#include "yaml-tree.h"
#include "spec-internal.h"

#define SPEC_MAX_ENV 4096
#define SPEC_MAX_MOUNTS 256
#define PIDS_LIMIT 4194304 /* PID_MAX_LIMIT */
#define HOUR_MS 3600000ULL
#define DAY_MS (24 * HOUR_MS)
#define SPEC_MAX_PORTS_TOTAL 1024 /* published ports per service, ranges counted out */
#define SPEC_MAX_ENVFILES 64
#define SPEC_MAX_PROFILES 64
#define SPEC_MAX_INSTANCES 256
#define CONFIG_MAX_INCLUDE_DEPTH 16 /* files including files */

struct pos {
	int line, column;
};

/* A parsed service plus what the cross-file checks need to point at. */
struct pservice {
	struct service_spec *spec;
	struct pos *deppos; /* one per depends_on item */
	size_t seq; /* load order, for "first defined at" */
	bool bad; /* had errors: kept only so names resolve */
};

/* A spec file being read, with the include it is following. */
struct incframe {
	const char *file;
	struct pos at; /* the 'include' item being followed */
	bool known; /* dev and ino are set (not a buffer) */
	dev_t dev;
	ino_t ino;
};

struct fileid {
	dev_t dev;
	ino_t ino;
};

struct loader {
	const struct config_host *host;
	struct config_errors *errs;
	struct pservice *v;
	size_t n, cap, seq;
	size_t nerrors;
	int io_error; /* first -errno from reading a path */
	bool oom;
	char **dotenv; /* the .env beside the specs, for ${VAR} */
	bool literal; /* a buffer a program built (paddockctl run): no ${VAR} */
	struct fileid *files; /* every file read, so each is read once */
	size_t nfiles;
	struct incframe stack[CONFIG_MAX_INCLUDE_DEPTH + 2]; /* files being read */
	size_t depth;
};

static const char *const service_keys[] = {
	"image",       "rootfs",	   "command",  "environment", "user",
	"working_dir", "hostname",	   "class",    "init",	      "resources",
	"isolation",   "restart",	   "ready",    "watchdog",    "depends_on",
	"stop",	       "on_oom",	   "pressure", "persist",     "ports",
	"pull",	       "environment_file", "secrets",  "enabled",     "profiles",
	"instances",   "health",	   "binds_to", "schedule",    "groups",
	"umask",       "placement",	   NULL,
};
static const char *const class_names[] = { "standard", "critical", "batch", NULL };
static const char *const restart_names[] = { "on-failure", "always", "never", NULL };
static const char *const mount_names[] = { "bind", "tmpfs", NULL };
static const char *const on_oom_names[] = { "restart", "stop", "grow", NULL };
static const char *const pull_names[] = { "missing", "always", "never", NULL };
static const char *const action_names[] = { "reclaim", "grow", "freeze", "restart", "kill", NULL };
static const char *const ns_names[] = {
	"pid", "mount", "uts", "ipc", "net", "cgroup", "user", NULL
};

struct service_spec *service_spec_free(struct service_spec *s)
{
	if (!s)
		return NULL;
	free(s->name);
	free(s->file);
	free(s->image);
	free(s->rootfs);
	config_strv_free(s->command);
	config_strv_free(s->environment);
	free(s->user);
	free(s->working_dir);
	free(s->hostname);
	free(s->resources.cpu.cpus);
	free(s->isolation.seccomp_profile);
	for (size_t i = 0; i < s->isolation.nmounts; i++) {
		free(s->isolation.mounts[i].source);
		free(s->isolation.mounts[i].target);
	}
	free(s->isolation.mounts);
	for (size_t i = 0; i < s->isolation.nnetworks; i++) {
		free(s->isolation.networks[i].network);
		config_strv_free(s->isolation.networks[i].aliases);
	}
	free(s->isolation.networks);
	free(s->ports);
	config_strv_free(s->ready.exec);
	config_strv_free(s->depends_on);
	for (size_t i = 0; i < s->nenvironment_files; i++)
		free(s->environment_files[i].path);
	free(s->environment_files);
	for (size_t i = 0; i < s->nsecrets; i++) {
		free(s->secrets[i].name);
		free(s->secrets[i].source);
		free(s->secrets[i].target);
	}
	free(s->secrets);
	config_strv_free(s->profiles);
	config_strv_free(s->placement.constraints);
	config_strv_free(s->health.exec);
	free(s->health.http_path);
	free(s->deps);
	config_strv_free(s->binds_to);
	if (s->schedule) {
		free(s->schedule->expr);
		free(s->schedule->tz);
		free(s->schedule);
	}
	config_strv_free(s->groups);
	for (size_t i = 0; i < s->nio_max; i++)
		free(s->io_max[i].device);
	free(s->io_max);
	for (size_t i = 0; i < s->nhugetlb; i++)
		free(s->hugetlb[i].pagesize);
	free(s->hugetlb);
	free(s->cpu_mems);
	for (size_t i = 0; i < s->ndevices; i++)
		free(s->devices[i].path);
	free(s->devices);
	free(s->template_name);
	free(s->instance);
	free(s->effective);
	free(s);
	return NULL;
}

struct spec_set *spec_set_free(struct spec_set *set)
{
	if (!set)
		return NULL;
	for (size_t i = 0; i < set->nservices; i++)
		service_spec_free(set->services[i]);
	free(set->services);
	free(set);
	return NULL;
}

static int spec_cmp_name(const void *a, const void *b)
{
	const char *name = a;
	const struct service_spec *const *s = b;

	return strcmp(name, (*s)->name);
}

const struct service_spec *spec_set_find(const struct spec_set *set, const char *name)
{
	struct service_spec **s;

	if (!set || !name || set->nservices == 0)
		return NULL;
	s = bsearch(name, set->services, set->nservices, sizeof(*set->services), spec_cmp_name);
	return s ? *s : NULL;
}

static void spec_defaults(struct service_spec *s)
{
	s->class = CLASS_STANDARD;
	s->init = true;
	s->enabled = true;
	s->umask = SPEC_UMASK_UNSET;
	s->resources.memory =
	    (struct spec_memory){ SPEC_UNSET, SPEC_UNSET, SPEC_UNSET, SPEC_UNSET, SPEC_UNSET };
	s->resources.pids_max = SPEC_UNSET;
	s->resources.oom_score_adj = SPEC_OOM_SCORE_UNSET;
	s->isolation.namespaces = SPEC_NS_DEFAULT;
	s->isolation.network = NETWORK_NONE;
	s->restart.policy = RESTART_ON_FAILURE;
	s->restart.delay_ms = 100;
	s->restart.max_delay_ms = 30000;
	s->restart.reset_after_ms = 60000;
	s->restart.burst = 5;
	s->restart.interval_ms = 60000;
	s->ready.type = READY_NONE;
	s->ready.timeout_ms = 90000;
	s->stop.signal = SIGTERM;
	s->stop.timeout_ms = 10000;
	s->on_oom = ON_OOM_RESTART;
}

/* Per-file parse state the services of one file share. */
struct pfile {
	const char *dir; /* absolute directory of the file: relative paths start here */
	struct config_errors *late; /* diagnostics in other files, added after the file's own */
	struct ytree *t; /* owns interpolated nodes */
	const struct yvars *vars; /* ${VAR} values; instance set per instance */
};

/* Per-service parse state: nodes the cross-field checks point at. */

static bool valid_env_name(const char *s, size_t len)
{
	if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
	}
	return true;
}

static bool env_add(struct sp *p, char ***v, size_t *n, const char *key, size_t klen,
		    const char *val)
{
	char **nv;
	char *e;

	if (asprintf(&e, "%.*s=%s", (int)klen, key, val) < 0) {
		p->c->oom = true;
		return false;
	}
	nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (!nv) {
		free(e);
		p->c->oom = true;
		return false;
	}
	nv[(*n)++] = e;
	nv[*n] = NULL;
	*v = nv;
	return true;
}

static void parse_environment(struct sp *p, const struct ynode *v)
{
	struct yctx *c = p->c;
	char q[80];
	char **env = NULL;
	size_t n = 0;

	if (v->type == YNODE_SCALAR) {
		y_err(c, v,
		      "'environment' must be a mapping (KEY: VALUE) or a list of KEY=VALUE, "
		      "not a scalar");
		return;
	}
	if (v->n > SPEC_MAX_ENV) {
		y_err(c, v, "'environment' has too many variables (at most %d)", SPEC_MAX_ENV);
		return;
	}
	if (v->type == YNODE_MAPPING) {
		y_check_keys(c, v, "in 'environment'", NULL);
		for (size_t i = 0; i < v->n; i++) {
			const struct ypair *pr = &v->pairs[i];
			const char *val = "";

			if (!y_pair_ok(pr))
				continue;
			if (!valid_env_name(pr->key->value, pr->key->len)) {
				y_err(c, pr->key,
				      "invalid environment variable name '%s' (use letters, digits "
				      "and '_', not starting with a digit)",
				      y_quote(pr->key, q, sizeof(q)));
				continue;
			}
			if (pr->value->type != YNODE_SCALAR) {
				y_err(c, pr->value,
				      "environment variable '%s' must be a scalar, not %s",
				      pr->key->value, y_kind(pr->value));
				continue;
			}
			if (!y_is_null(pr->value))
				val = pr->value->value;
			if (!env_add(p, &env, &n, pr->key->value, pr->key->len, val))
				break;
		}
	} else {
		for (size_t i = 0; i < v->n; i++) {
			const struct ynode *it = v->items[i];
			const char *eq;
			size_t klen;
			bool dup = false;

			if (it->type != YNODE_SCALAR || y_is_null(it)) {
				y_err(c, it,
				      "items of 'environment' must be KEY=VALUE strings, not %s",
				      y_kind(it));
				continue;
			}
			eq = strchr(it->value, '=');
			if (!eq) {
				y_err(c, it, "environment item '%s' must be KEY=VALUE",
				      y_quote(it, q, sizeof(q)));
				continue;
			}
			klen = (size_t)(eq - it->value);
			if (!valid_env_name(it->value, klen)) {
				y_err(c, it,
				      "invalid environment variable name in '%s' (use letters, "
				      "digits "
				      "and '_', not starting with a digit)",
				      y_quote(it, q, sizeof(q)));
				continue;
			}
			for (size_t j = 0; j < i && !dup; j++) {
				const struct ynode *o = v->items[j];

				if (o->type == YNODE_SCALAR &&
				    strncmp(o->value, it->value, klen + 1) == 0) {
					y_err(c, it,
					      "duplicate environment variable '%.*s' (first at "
					      "line %d, "
					      "column %d)",
					      (int)klen, it->value, o->line, o->column);
					dup = true;
				}
			}
			if (!dup && !env_add(p, &env, &n, it->value, klen, eq + 1))
				break;
		}
	}
	config_strv_free(p->s->environment);
	p->s->environment = env;
	p->s->nenvironment = n;
}

static bool valid_user_part(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' ||
		      (ch == '$' && i == len - 1)))
			return false;
	}
	return true;
}

static void parse_user(struct sp *p, const struct ynode *v)
{
	const char *s = y_scalar(p->c, v, "user"), *colon;
	char q[80];

	if (!s)
		return;
	colon = strchr(s, ':');
	if (colon ? !valid_user_part(s, (size_t)(colon - s)) ||
			!valid_user_part(colon + 1, strlen(colon + 1))
		  : !valid_user_part(s, strlen(s))) {
		y_err(p->c, v, "invalid user '%s' (expected uid[:gid] or name[:group])",
		      y_quote(v, q, sizeof(q)));
		return;
	}
	y_string(p->c, v, "user", false, &p->s->user);
}

static void parse_hostname(struct sp *p, const struct ynode *v)
{
	const char *s = y_scalar(p->c, v, "hostname");
	size_t len, label = 0;
	char q[80];
	bool ok;

	if (!s)
		return;
	len = strlen(s);
	ok = len > 0 && len <= 64;
	for (size_t i = 0; ok && i <= len; i++) {
		char ch = s[i];

		if (ch == '.' || ch == '\0') {
			ok = label > 0 && s[i - 1] != '-';
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || (ch == '-' && label > 0)) {
			label++;
		} else {
			ok = false;
		}
	}
	if (!ok) {
		y_err(p->c, v,
		      "invalid hostname '%s' (letters, digits, '-' and '.', at most 64 characters)",
		      y_quote(v, q, sizeof(q)));
		return;
	}
	p->hostname_v = v;
	y_string(p->c, v, "hostname", false, &p->s->hostname);
}

static void check_keys_quoted(struct yctx *c, const struct ynode *v, const char *what,
			      const char *const *keys)
{
	char where[96];

	snprintf(where, sizeof(where), "in '%s'", what);
	y_check_keys(c, v, where, keys);
}

static bool sub(struct yctx *c, const struct ynode *v, const char *what, const char *const *keys)
{
	if (y_is_null(v))
		return false;
	if (!y_want(c, v, YNODE_MAPPING, what))
		return false;
	check_keys_quoted(c, v, what, keys);
	return true;
}

static void parse_memory(struct sp *p, const struct ynode *m)
{
	static const char *const keys[] = { "min", "low", "high", "max", "swap_max", NULL };
	struct spec_memory *mem = &p->s->resources.memory;
	uint64_t *fields[] = { &mem->min, &mem->low, &mem->high, &mem->max, &mem->swap_max };
	const struct ynode *nodes[5] = { NULL };
	const struct ynode *prev = NULL;
	size_t prev_i = 0;
	char what[40], a[32], b[32];

	if (!sub(p->c, m, "resources.memory", keys))
		return;
	for (size_t i = 0; i < 5; i++) {
		const struct ynode *v = y_get(m, keys[i], NULL);

		snprintf(what, sizeof(what), "resources.memory.%s", keys[i]);
		if (!y_is_null(v) && y_size(p->c, v, what, fields[i]))
			nodes[i] = v;
	}
	/* min <= low <= high <= max among those set. */
	for (size_t i = 0; i < 4; i++) {
		if (!nodes[i])
			continue;
		if (prev && *fields[prev_i] > *fields[i])
			y_err(p->c, nodes[i],
			      "resources.memory.%s (%s) must not be below resources.memory.%s (%s)",
			      keys[i], units_format_size(*fields[i], a, sizeof(a)), keys[prev_i],
			      units_format_size(*fields[prev_i], b, sizeof(b)));
		prev = nodes[i];
		prev_i = i;
	}
}

/*
 * resources.rlimits: setrlimit(2) resources by their lower-case names
 * without "RLIMIT_". Sizes take units ("64M"); the others whole numbers.
 */
static const struct {
	const char *name;
	int resource;
	bool size; /* bytes: "64M" allowed */
	uint64_t max; /* largest finite value accepted */
} rlimit_table[] = {
	{ "as", RLIMIT_AS, true, SPEC_RLIM_INFINITY - 1 },
	{ "core", RLIMIT_CORE, true, SPEC_RLIM_INFINITY - 1 },
	{ "cpu", RLIMIT_CPU, false, SPEC_RLIM_INFINITY - 1 }, /* seconds */
	{ "data", RLIMIT_DATA, true, SPEC_RLIM_INFINITY - 1 },
	{ "fsize", RLIMIT_FSIZE, true, SPEC_RLIM_INFINITY - 1 },
	{ "locks", RLIMIT_LOCKS, false, SPEC_RLIM_INFINITY - 1 },
	{ "memlock", RLIMIT_MEMLOCK, true, SPEC_RLIM_INFINITY - 1 },
	{ "msgqueue", RLIMIT_MSGQUEUE, true, SPEC_RLIM_INFINITY - 1 },
	{ "nice", RLIMIT_NICE, false, 40 },
	{ "nofile", RLIMIT_NOFILE, false, 1073741816 }, /* the kernel's nr_open ceiling */
	{ "nproc", RLIMIT_NPROC, false, SPEC_RLIM_INFINITY - 1 },
	{ "rss", RLIMIT_RSS, true, SPEC_RLIM_INFINITY - 1 },
	{ "rtprio", RLIMIT_RTPRIO, false, 99 },
	{ "rttime", RLIMIT_RTTIME, false, SPEC_RLIM_INFINITY - 1 }, /* microseconds */
	{ "sigpending", RLIMIT_SIGPENDING, false, SPEC_RLIM_INFINITY - 1 },
	{ "stack", RLIMIT_STACK, true, SPEC_RLIM_INFINITY - 1 },
};
#define NRLIMIT_TABLE (sizeof(rlimit_table) / sizeof(rlimit_table[0]))

const char *spec_rlimit_name(int resource)
{
	for (size_t i = 0; i < NRLIMIT_TABLE; i++)
		if (rlimit_table[i].resource == resource)
			return rlimit_table[i].name;
	return "unknown";
}

/* One soft or hard value: a number (a size for byte limits) or "unlimited". */
static bool rlimit_value(struct yctx *c, const struct ynode *n, size_t t, const char *str,
			 const char *what, uint64_t *out)
{
	const char *why = NULL;
	char q[80];
	uint64_t v = 0;

	if (strcmp(str, "unlimited") == 0 || strcmp(str, "infinity") == 0) {
		*out = SPEC_RLIM_INFINITY;
		return true;
	}
	if (rlimit_table[t].size) {
		if (strcmp(str, "max") == 0 || units_parse_size(str, 0, &v, &why) < 0) {
			y_err(c, n,
			      "invalid value '%s' for '%s' (a size like 512K or 64M, or unlimited)",
			      y_quote(n, q, sizeof(q)), what);
			return false;
		}
	} else {
		bool ok = *str != '\0';

		for (const char *s = str; *s && ok; s++)
			if (*s < '0' || *s > '9' || __builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
				ok = false;
		if (!ok) {
			y_err(c, n, "invalid value '%s' for '%s' (a whole number, or unlimited)",
			      y_quote(n, q, sizeof(q)), what);
			return false;
		}
	}
	if (v > rlimit_table[t].max) {
		y_err(c, n, "'%s' must be at most %llu, not %s", what,
		      (unsigned long long)rlimit_table[t].max, y_quote(n, q, sizeof(q)));
		return false;
	}
	*out = v;
	return true;
}

/* "N" (soft = hard), "SOFT:HARD", or {soft: N, hard: N}. */
static void parse_rlimit(struct yctx *c, const struct ynode *v, size_t t, struct spec_rlimit *out)
{
	static const char *const keys[] = { "soft", "hard", NULL };
	struct spec_rlimit rl = { .set = true };
	char what[64], buf[96];
	const char *str;

	snprintf(what, sizeof(what), "resources.rlimits.%s", rlimit_table[t].name);
	if (v->type == YNODE_MAPPING) {
		const struct ynode *soft = y_get(v, "soft", NULL), *hard = y_get(v, "hard", NULL);
		const char *ss, *hs;

		check_keys_quoted(c, v, what, keys);
		if (y_is_null(soft) || y_is_null(hard)) {
			y_err(c, v, "'%s' needs both 'soft' and 'hard'", what);
			return;
		}
		snprintf(buf, sizeof(buf), "%s.soft", what);
		if (!(ss = y_scalar(c, soft, buf)) || !rlimit_value(c, soft, t, ss, buf, &rl.soft))
			return;
		snprintf(buf, sizeof(buf), "%s.hard", what);
		if (!(hs = y_scalar(c, hard, buf)) || !rlimit_value(c, hard, t, hs, buf, &rl.hard))
			return;
	} else {
		if (!(str = y_scalar(c, v, what)))
			return;
		const char *colon = strchr(str, ':');
		if (!colon) {
			if (!rlimit_value(c, v, t, str, what, &rl.soft))
				return;
			rl.hard = rl.soft;
		} else {
			size_t n = (size_t)(colon - str);
			if (n >= sizeof(buf)) {
				y_err(c, v, "invalid value for '%s' (SOFT:HARD)", what);
				return;
			}
			memcpy(buf, str, n);
			buf[n] = '\0';
			if (!rlimit_value(c, v, t, buf, what, &rl.soft) ||
			    !rlimit_value(c, v, t, colon + 1, what, &rl.hard))
				return;
		}
	}
	if (rl.soft > rl.hard) {
		y_err(c, v, "'%s': the soft limit must not be above the hard limit", what);
		return;
	}
	*out = rl;
}

static void parse_rlimits(struct sp *p, const struct ynode *m)
{
	static const char *const keys[] = { "as",    "core",	"cpu",	    "data",   "fsize",
					    "locks", "memlock", "msgqueue", "nice",   "nofile",
					    "nproc", "rss",	"rtprio",   "rttime", "sigpending",
					    "stack", NULL };

	_Static_assert(sizeof(keys) / sizeof(keys[0]) == NRLIMIT_TABLE + 1, "rlimit keys");
	if (!sub(p->c, m, "resources.rlimits", keys))
		return;
	for (size_t i = 0; i < NRLIMIT_TABLE; i++) {
		const struct ynode *v = y_get(m, rlimit_table[i].name, NULL);

		if (!y_is_null(v))
			parse_rlimit(p->c, v, i,
				     &p->s->resources.rlimits[rlimit_table[i].resource]);
	}
}

/* -1000..1000, as /proc/PID/oom_score_adj takes it. */
static void parse_oom_score_adj(struct sp *p, const struct ynode *v)
{
	const char *str = y_scalar(p->c, v, "resources.oom_score_adj"), *s;
	long long n = 0;
	bool neg, ok;
	char q[80];

	if (!str)
		return;
	s = str;
	neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	ok = *s != '\0' && strlen(s) <= 5;
	for (; *s && ok; s++) {
		ok = *s >= '0' && *s <= '9';
		n = n * 10 + (*s - '0');
	}
	if (neg)
		n = -n;
	if (!ok || n < -1000 || n > 1000) {
		y_err(
		    p->c, v,
		    "'resources.oom_score_adj' must be a whole number from -1000 to 1000, not '%s'",
		    y_quote(v, q, sizeof(q)));
		return;
	}
	p->s->resources.oom_score_adj = (int32_t)n;
}

static void parse_resources(struct sp *p, const struct ynode *v)
{
	static const char *const keys[] = { "memory",  "cpu",		"pids",	   "io",
					    "rlimits", "oom_score_adj", "hugetlb", NULL };
	static const char *const cpu_keys[] = { "weight", "max", "cpus", "mems", NULL };
	static const char *const pids_keys[] = { "max", NULL };
	static const char *const io_keys[] = { "weight", "max", NULL };
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	const struct ynode *m, *x;
	uint64_t u;
	char q[80];

	if (!sub(c, v, "resources", keys))
		return;
	parse_memory(p, y_get(v, "memory", NULL));

	m = y_get(v, "cpu", NULL);
	if (sub(c, m, "resources.cpu", cpu_keys)) {
		x = y_get(m, "weight", NULL);
		if (!y_is_null(x) && y_uint(c, x, "resources.cpu.weight", 1, 10000, &u))
			s->resources.cpu.weight = (uint32_t)u;
		x = y_get(m, "max", NULL);
		if (!y_is_null(x)) {
			const char *str = y_scalar(c, x, "resources.cpu.max"), *why = "invalid";

			if (str && units_parse_cpus(str, &s->resources.cpu.max_mcpu, &why) < 0)
				y_err(c, x, "invalid CPU amount '%s' for 'resources.cpu.max': %s",
				      y_quote(x, q, sizeof(q)), why);
		}
		x = y_get(m, "cpus", NULL);
		if (!y_is_null(x)) {
			const char *str = y_scalar(c, x, "resources.cpu.cpus"), *why = "invalid";

			if (str && units_check_cpuset(str, &why) < 0)
				y_err(c, x, "invalid CPU list '%s' for 'resources.cpu.cpus': %s",
				      y_quote(x, q, sizeof(q)), why);
			else if (str)
				y_string(c, x, "resources.cpu.cpus", false, &s->resources.cpu.cpus);
		}
	}

	m = y_get(v, "pids", NULL);
	if (sub(c, m, "resources.pids", pids_keys)) {
		x = y_get(m, "max", NULL);
		if (!y_is_null(x)) {
			if (x->type == YNODE_SCALAR && strcmp(x->value, "max") == 0)
				s->resources.pids_max = SPEC_SIZE_MAX;
			else if (y_uint(c, x, "resources.pids.max", 1, PIDS_LIMIT, &u))
				s->resources.pids_max = u;
		}
	}

	m = y_get(v, "io", NULL);
	if (sub(c, m, "resources.io", io_keys)) {
		x = y_get(m, "weight", NULL);
		if (!y_is_null(x) && y_uint(c, x, "resources.io.weight", 1, 10000, &u))
			s->resources.io_weight = (uint32_t)u;
		x = y_get(m, "max", NULL);
		if (!y_is_null(x))
			parse_io_max(p, x);
	}
	x = y_get(v, "hugetlb", NULL);
	if (!y_is_null(x))
		parse_hugetlb(p, x);
	m = y_get(v, "cpu", NULL);
	x = y_get(m, "mems", NULL);
	if (!y_is_null(x) && m && m->type == YNODE_MAPPING)
		parse_cpu_mems(p, x);
	parse_rlimits(p, y_get(v, "rlimits", NULL));
	x = y_get(v, "oom_score_adj", NULL);
	if (!y_is_null(x))
		parse_oom_score_adj(p, x);
}

/* Absolute, no ".." component. */
static bool clean_abs_path(const char *s)
{
	if (s[0] != '/')
		return false;
	for (const char *q = s; (q = strstr(q, "..")); q += 2)
		if ((q == s || q[-1] == '/') && (q[2] == '/' || q[2] == '\0'))
			return false;
	return true;
}

static void parse_mount(struct sp *p, const struct ynode *it, struct spec_mount *mt, bool *ok)
{
	static const char *const keys[] = { "type", "source", "target", "readonly", "size", NULL };
	struct yctx *c = p->c;
	const struct ynode *type_v, *src_v, *tgt_v, *ro_v, *size_v, *src_k, *size_k;
	int t = MOUNT_BIND;
	bool type_ok = true;
	char q[80];

	*ok = false;
	mt->size = SPEC_UNSET;
	if (!y_want(c, it, YNODE_MAPPING, "isolation.mounts[]"))
		return;
	check_keys_quoted(c, it, "isolation.mounts[]", keys);
	type_v = y_get(it, "type", NULL);
	src_v = y_get(it, "source", &src_k);
	tgt_v = y_get(it, "target", NULL);
	ro_v = y_get(it, "readonly", NULL);
	size_v = y_get(it, "size", &size_k);
	*ok = true;
	if (!y_is_null(type_v) && !y_enum(c, type_v, "mount type", mount_names, &t))
		*ok = type_ok = false;
	mt->type = (enum spec_mount_type)t;
	if (y_is_null(tgt_v)) {
		y_err(c, it, "mount needs a 'target'");
		*ok = false;
	} else if (y_string(c, tgt_v, "target", true, &mt->target)) {
		if (!clean_abs_path(mt->target)) {
			y_err(c, tgt_v, "mount target '%s' must not contain '..'",
			      y_quote(tgt_v, q, sizeof(q)));
			*ok = false;
		} else if (strspn(mt->target, "/") == strlen(mt->target)) {
			y_err(c, tgt_v, "cannot mount over the root directory; use 'rootfs'");
			*ok = false;
		}
	} else {
		*ok = false;
	}
	if (!type_ok) {
		/* Type-specific checks would only add noise. */
	} else if (mt->type == MOUNT_BIND) {
		if (y_is_null(src_v)) {
			y_err(c, it, "bind mount needs a 'source'");
			*ok = false;
		} else if (!y_string(c, src_v, "source", true, &mt->source)) {
			*ok = false;
		}
		if (!y_is_null(size_v)) {
			y_err(c, size_k, "'size' applies only to tmpfs mounts");
			*ok = false;
		}
	} else {
		if (!y_is_null(src_v)) {
			y_err(c, src_k, "tmpfs mounts take no 'source'");
			*ok = false;
		}
		if (!y_is_null(size_v)) {
			if (!y_size(c, size_v, "size", &mt->size)) {
				*ok = false;
			} else if (mt->size == 0 || mt->size == SPEC_SIZE_MAX) {
				y_err(c, size_v, "tmpfs 'size' must be above 0 and not max");
				*ok = false;
			}
		}
	}
	if (!y_is_null(ro_v) && !y_bool(c, ro_v, "readonly", &mt->readonly))
		*ok = false;
}

/* Capability names by number (linux/capability.h), lower case, without "cap_". */
static const char *const cap_names[] = {
	"chown",
	"dac_override",
	"dac_read_search",
	"fowner",
	"fsetid",
	"kill",
	"setgid",
	"setuid",
	"setpcap",
	"linux_immutable",
	"net_bind_service",
	"net_broadcast",
	"net_admin",
	"net_raw",
	"ipc_lock",
	"ipc_owner",
	"sys_module",
	"sys_rawio",
	"sys_chroot",
	"sys_ptrace",
	"sys_pacct",
	"sys_admin",
	"sys_boot",
	"sys_nice",
	"sys_resource",
	"sys_time",
	"sys_tty_config",
	"mknod",
	"lease",
	"audit_write",
	"audit_control",
	"setfcap",
	"mac_override",
	"mac_admin",
	"syslog",
	"wake_alarm",
	"block_suspend",
	"audit_read",
	"perfmon",
	"bpf",
	"checkpoint_restore",
	NULL,
};

/*
 * One list of isolation.capabilities: names with or without "CAP_", any
 * case, or ALL. Unknown names are reported at the item.
 */
static void parse_cap_list(struct yctx *c, const struct ynode *x, const char *what, uint64_t *mask,
			   bool *all)
{
	const size_t ncap = sizeof(cap_names) / sizeof(cap_names[0]) - 1;

	if (y_is_null(x) || !y_want(c, x, YNODE_SEQUENCE, what))
		return;
	for (size_t i = 0; i < x->n; i++) {
		const struct ynode *it = x->items[i];
		const char *v = y_scalar(c, it, "capability");
		char name[32], q[80];
		size_t j = 0;
		bool found = false;

		if (!v)
			continue;
		if (strncasecmp(v, "cap_", 4) == 0)
			v += 4;
		for (; v[j] && j < sizeof(name) - 1; j++)
			name[j] = (char)((v[j] >= 'A' && v[j] <= 'Z') ? v[j] - 'A' + 'a' : v[j]);
		name[j] = '\0';
		if (!v[j] && strcmp(name, "all") == 0) {
			*all = true;
			continue;
		}
		for (size_t k = 0; !v[j] && k < ncap; k++) {
			if (strcmp(name, cap_names[k]) == 0) {
				*mask |= 1ULL << k;
				found = true;
				break;
			}
		}
		if (found)
			continue;
		const char *dym = config_did_you_mean(name, cap_names, ncap);
		char hint[80] = "";
		if (dym) {
			char up[32];
			size_t k = 0;
			for (; dym[k] && k < sizeof(up) - 1; k++)
				up[k] = (char)((dym[k] >= 'a' && dym[k] <= 'z') ? dym[k] - 'a' + 'A'
										: dym[k]);
			up[k] = '\0';
			snprintf(hint, sizeof(hint), "; did you mean '%s'?", up);
		}
		y_err(c, it, "unknown capability '%s' in '%s' (a name like NET_ADMIN or ALL)%s",
		      y_quote(it, q, sizeof(q)), what, hint);
	}
}

static void parse_capabilities(struct sp *p, const struct ynode *v)
{
	static const char *const keys[] = { "add", "drop", NULL };
	struct service_spec *s = p->s;
	const struct ynode *addk = NULL;

	if (!sub(p->c, v, "isolation.capabilities", keys))
		return;
	parse_cap_list(p->c, y_get(v, "add", &addk), "isolation.capabilities.add",
		       &s->isolation.caps_add, &s->isolation.caps_add_all);
	parse_cap_list(p->c, y_get(v, "drop", NULL), "isolation.capabilities.drop",
		       &s->isolation.caps_drop, &s->isolation.caps_drop_all);
	if (s->isolation.caps_add_all && s->isolation.caps_drop_all)
		y_err(p->c, addk,
		      "capabilities: 'add: [ALL]' and 'drop: [ALL]' contradict each other");
	else if (s->isolation.caps_add & s->isolation.caps_drop)
		y_err(p->c, addk, "capabilities: a capability is both added and dropped");
}

static void parse_seccomp(struct sp *p, const struct ynode *x)
{
	const char *v;
	char q[80];

	if (y_is_null(x) || !(v = y_scalar(p->c, x, "isolation.seccomp")))
		return;
	if (strcmp(v, "default") == 0)
		p->s->isolation.seccomp_unconfined = false;
	else if (strcmp(v, "unconfined") == 0)
		p->s->isolation.seccomp_unconfined = true;
	else if (v[0] != '/')
		y_err(p->c, x,
		      "isolation.seccomp '%s': 'default', 'unconfined' or the absolute path of a "
		      "profile file",
		      y_quote(x, q, sizeof(q)));
	else if (y_string(p->c, x, "isolation.seccomp", true, &p->s->isolation.seccomp_profile)) {
		p->s->isolation.seccomp_line = x->line;
		p->s->isolation.seccomp_column = x->column;
	}
}

/* One decimal id 0..4294967295, digits only; false on anything else. */
static bool parse_u32(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = v;
	return true;
}

/*
 * isolation.user: {map: auto | "0:HOSTUID:COUNT"}. The same map serves uids
 * and gids. paddock sets the service up as root of its namespace, so the
 * range starts at 0 inside; it must not reach host uid 0, nor past
 * 4294967294 (uid -1 is "no uid").
 */
static void parse_user_ns(struct sp *p, const struct ynode *v)
{
	static const char *const keys[] = { "map", NULL };
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	const struct ynode *x;
	const char *m, *c1, *c2;
	uint64_t in, host, count;
	char q[64];

	if (!sub(c, v, "isolation.user", keys))
		return;
	x = y_get(v, "map", NULL);
	if (y_is_null(x)) {
		y_err(c, v, "isolation.user needs 'map: auto' or 'map: 0:HOSTUID:COUNT'");
		return;
	}
	if (!(m = y_scalar(c, x, "isolation.user.map")))
		return;
	p->user_map_v = x;
	s->isolation.user_line = x->line;
	s->isolation.user_column = x->column;
	if (strcmp(m, "auto") == 0) {
		s->isolation.user_auto = true;
		s->isolation.user_count = SPEC_USERNS_AUTO_COUNT;
		s->isolation.namespaces |= SPEC_NS_USER;
		return;
	}
	c1 = strchr(m, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2 || !parse_u32(m, (size_t)(c1 - m), &in) ||
	    !parse_u32(c1 + 1, (size_t)(c2 - c1 - 1), &host) ||
	    !parse_u32(c2 + 1, strlen(c2 + 1), &count)) {
		y_err(c, x, "isolation.user.map %s: expected 'auto' or UID:HOSTUID:COUNT (decimal)",
		      y_quote(x, q, sizeof(q)));
		return;
	}
	if (in != 0) {
		y_err(c, x,
		      "isolation.user.map %s: the range must start at uid 0 inside (paddock sets "
		      "the service up as root of its user namespace)",
		      y_quote(x, q, sizeof(q)));
		return;
	}
	if (count == 0) {
		y_err(c, x, "isolation.user.map %s: COUNT must be at least 1",
		      y_quote(x, q, sizeof(q)));
		return;
	}
	if (host == 0) {
		y_err(c, x,
		      "isolation.user.map %s: maps to host uid 0 (root); map to an unprivileged "
		      "range such as 100000:65536",
		      y_quote(x, q, sizeof(q)));
		return;
	}
	if (host + count - 1 > UINT32_MAX - 1 || in + count - 1 > UINT32_MAX - 1) {
		y_err(c, x, "isolation.user.map %s: the range runs past uid 4294967294",
		      y_quote(x, q, sizeof(q)));
		return;
	}
	s->isolation.user_host = (uint32_t)host;
	s->isolation.user_count = (uint32_t)count;
	s->isolation.namespaces |= SPEC_NS_USER;
}

static const char network_hint[] =
    "none, host, a network name, or a list of NAME or {network: NAME, ip: A.B.C.D, aliases: "
    "[...]}";

/* One entry of isolation.network: NAME or {network: NAME, ip: A.B.C.D, aliases: [...]}. */
static bool parse_netattach(struct sp *p, const struct ynode *it, struct spec_netattach *at)
{
	static const char *const keys[] = { "network", "ip", "aliases", NULL };
	struct yctx *c = p->c;
	size_t errors = c->nerrors;
	const struct ynode *name = it, *x;
	char q[80];

	*at = (struct spec_netattach){ .line = it->line, .column = it->column };
	if (it->type == YNODE_MAPPING) {
		y_check_keys(c, it, "in a network entry", keys);
		name = y_get(it, "network", NULL);
		if (y_is_null(name)) {
			y_err(c, it, "a network entry needs 'network: NAME'");
			return false;
		}
	} else if (it->type != YNODE_SCALAR || y_is_null(it)) {
		y_err(c, it,
		      "entries of 'isolation.network' must be network names or mappings, not %s",
		      y_kind(it));
		return false;
	}
	if (!y_scalar(c, name, "network"))
		return false;
	if (strcmp(name->value, "none") == 0 || strcmp(name->value, "host") == 0) {
		y_err(c, name, "'%s' is not a network to join; list bridge networks by name",
		      name->value);
		return false;
	}
	if (!config_valid_name(name->value)) {
		y_err(c, name, "invalid network name '%s' (expected %s)",
		      y_quote(name, q, sizeof(q)), network_hint);
		return false;
	}
	at->network = y_strdup(c, name->value);
	if (it->type != YNODE_MAPPING)
		return c->nerrors == errors;

	x = y_get(it, "ip", NULL);
	if (!y_is_null(x) && y_scalar(c, x, "ip")) {
		if (!config_parse_ipv4(x->value, &at->ip) || at->ip == 0) {
			at->ip = 0;
			y_err(c, x, "invalid ip '%s' (expected A.B.C.D)", y_quote(x, q, sizeof(q)));
		} else {
			at->ip_line = x->line;
			at->ip_column = x->column;
		}
	}
	x = y_get(it, "aliases", NULL);
	if (y_is_null(x))
		return c->nerrors == errors;
	if (x->type == YNODE_SCALAR) {
		y_err(c, x, "'aliases' must be a list of names; write aliases: [%s]",
		      y_quote(x, q, sizeof(q)));
		return false;
	}
	if (!y_want(c, x, YNODE_SEQUENCE, "aliases"))
		return false;
	if (x->n > SPEC_MAX_ALIASES) {
		y_err(c, x, "too many aliases (at most %d)", SPEC_MAX_ALIASES);
		return false;
	}
	at->aliases = calloc(x->n + 1, sizeof(*at->aliases));
	if (!at->aliases) {
		c->oom = true;
		return false;
	}
	for (size_t i = 0; i < x->n; i++) {
		const struct ynode *a = x->items[i];
		bool dup = false;

		if (a->type != YNODE_SCALAR || y_is_null(a)) {
			y_err(c, a, "aliases must be names, not %s", y_kind(a));
			continue;
		}
		if (!config_valid_name(a->value)) {
			y_err(c, a,
			      "invalid alias '%s' (1-63 characters of a-z, 0-9, '_' and '-', "
			      "starting with a letter or digit)",
			      y_quote(a, q, sizeof(q)));
			continue;
		}
		if (strcmp(a->value, p->name) == 0) {
			y_err(c, a, "alias '%s' is the service's own name, which resolves already",
			      a->value);
			continue;
		}
		for (size_t j = 0; j < at->naliases; j++)
			dup = dup || strcmp(at->aliases[j], a->value) == 0;
		if (dup) {
			y_err(c, a, "alias '%s' listed twice", a->value);
			continue;
		}
		at->aliases[at->naliases] = y_strdup(c, a->value);
		if (at->aliases[at->naliases])
			at->naliases++;
	}
	return c->nerrors == errors && !c->oom;
}

static void netattach_clear(struct spec_netattach *at)
{
	free(at->network);
	config_strv_free(at->aliases);
	memset(at, 0, sizeof(*at));
}

/* isolation.network: none | host | NAME | [entries]. */
static void parse_network(struct sp *p, const struct ynode *x)
{
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	const struct ynode *one[1] = { x }, *const *items = one;
	size_t n = 1, errors = c->nerrors;
	struct spec_netattach *v;
	char q[80];

	p->network_bad = true; /* until it parses */
	if (x->type == YNODE_SCALAR) {
		if (strcmp(x->value, "none") == 0 || strcmp(x->value, "host") == 0) {
			s->isolation.network = x->value[0] == 'n' ? NETWORK_NONE : NETWORK_HOST;
			p->network_v = x;
			p->network_bad = false;
			return;
		}
		if (!config_valid_name(x->value)) {
			y_err(c, x, "invalid network '%s' (expected %s)", y_quote(x, q, sizeof(q)),
			      network_hint);
			return;
		}
	} else if (x->type == YNODE_SEQUENCE) {
		if (x->n == 0) {
			y_err(c, x, "an empty 'isolation.network' joins nothing; write 'none'");
			return;
		}
		if (x->n > SPEC_MAX_ATTACH) {
			y_err(c, x, "a service joins at most %d networks", SPEC_MAX_ATTACH);
			return;
		}
		items = (const struct ynode *const *)x->items;
		n = x->n;
	} else {
		y_err(c, x, "'isolation.network' must be %s, not %s", network_hint, y_kind(x));
		return;
	}
	v = calloc(n, sizeof(*v));
	if (!v) {
		c->oom = true;
		return;
	}
	s->isolation.networks = v;
	for (size_t i = 0; i < n; i++) {
		struct spec_netattach *at = &v[s->isolation.nnetworks];
		bool ok = parse_netattach(p, items[i], at);

		for (size_t j = 0; ok && j < s->isolation.nnetworks; j++) {
			if (strcmp(v[j].network, at->network) == 0) {
				y_err(c, items[i],
				      "network '%s' listed twice (first at line %d, column %d)",
				      at->network, v[j].line, v[j].column);
				ok = false;
			}
		}
		if (ok)
			s->isolation.nnetworks++;
		else
			netattach_clear(at);
	}
	if (c->nerrors == errors && !c->oom) {
		s->isolation.network = NETWORK_BRIDGE;
		p->network_v = x;
		p->network_bad = false;
	}
}

/* 1..5 digits, nothing else. */
static bool port_number(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* "N" or "A-B" -> first port and count; 0 = not a port or a range. */
static unsigned port_range(const char *s, size_t len, uint16_t *first)
{
	const char *dash = memchr(s, '-', len);
	size_t alen = dash ? (size_t)(dash - s) : len;
	unsigned long a, b;

	if (!port_number(s, alen, &a))
		return 0;
	b = a;
	if (dash && !port_number(dash + 1, len - alen - 1, &b))
		return 0;
	if (a < 1 || b > 65535 || b < a)
		return 0;
	*first = (uint16_t)a;
	return (unsigned)(b - a + 1);
}

/* "[IP:]HOSTPORT[-END]:PORT[-END][/tcp|/udp]" -> *pt. */
static bool parse_port(struct yctx *c, const struct ynode *it, struct spec_port *pt)
{
	const char *v, *slash, *c1, *c2, *end;
	unsigned hn, cn;
	char q[80], ip[20];

	if (it->type != YNODE_SCALAR || y_is_null(it)) {
		y_err(c, it, "entries of 'ports' must be strings like \"8080:80\", not %s",
		      y_kind(it));
		return false;
	}
	v = it->value;
	*pt = (struct spec_port){ .proto = IPPROTO_TCP, .line = it->line, .column = it->column };
	slash = strchr(v, '/');
	end = slash ? slash : v + strlen(v);
	if (slash && strcmp(slash, "/udp") == 0) {
		pt->proto = IPPROTO_UDP;
	} else if (slash && strcmp(slash, "/tcp") != 0) {
		y_err(c, it, "unknown protocol '%s' in port '%s' (tcp or udp)", slash + 1,
		      y_quote(it, q, sizeof(q)));
		return false;
	}
	c2 = memrchr(v, ':', (size_t)(end - v));
	if (!c2) {
		y_err(c, it,
		      "port '%s' has no host port: paddock needs the host port to publish it; "
		      "write \"HOSTPORT:%s\"",
		      y_quote(it, q, sizeof(q)), y_quote(it, q, sizeof(q)));
		return false;
	}
	c1 = memrchr(v, ':', (size_t)(c2 - v));
	if (c1) {
		size_t len = (size_t)(c1 - v);

		if (len < sizeof(ip)) {
			memcpy(ip, v, len);
			ip[len] = '\0';
		}
		if (len >= sizeof(ip) || !config_parse_ipv4(ip, &pt->host_ip)) {
			y_err(c, it, "invalid host address in port '%s' (expected IPv4 A.B.C.D)",
			      y_quote(it, q, sizeof(q)));
			return false;
		}
	}
	hn = port_range(c1 ? c1 + 1 : v, (size_t)(c2 - (c1 ? c1 + 1 : v)), &pt->host_port);
	cn = port_range(c2 + 1, (size_t)(end - c2 - 1), &pt->port);
	if (hn == 0 || cn == 0) {
		y_err(c, it,
		      "invalid port '%s' (expected [IP:]HOSTPORT:PORT[/tcp|/udp], ports 1-65535, "
		      "ranges like 9000-9005)",
		      y_quote(it, q, sizeof(q)));
		return false;
	}
	if (hn != cn) {
		y_err(c, it, "ranges of different lengths: %u host port%s for %u", hn,
		      hn == 1 ? "" : "s", cn);
		return false;
	}
	pt->count = (uint16_t)hn;
	return true;
}

static bool port_overlap(const struct spec_port *a, const struct spec_port *b)
{
	return a->proto == b->proto &&
	       (a->host_ip == 0 || b->host_ip == 0 || a->host_ip == b->host_ip) &&
	       a->host_port < b->host_port + b->count && b->host_port < a->host_port + a->count;
}

/* ports: ["8080:80", "127.0.0.1:5353:53/udp", "9000-9005:9000-9005"] */
static void parse_ports(struct sp *p, const struct ynode *key, const struct ynode *x)
{
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	unsigned total = 0;
	char q[80];

	if (x->type == YNODE_SCALAR) {
		y_err(c, x, "'ports' must be a list; write ports: [\"%s\"]",
		      y_quote(x, q, sizeof(q)));
		return;
	}
	if (!y_want(c, x, YNODE_SEQUENCE, "ports"))
		return;
	if (x->n > SPEC_MAX_PORTS) {
		y_err(c, x, "too many entries in 'ports' (at most %d)", SPEC_MAX_PORTS);
		return;
	}
	p->ports_key = key;
	s->ports = calloc(x->n ? x->n : 1, sizeof(*s->ports));
	if (!s->ports) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < x->n; i++) {
		struct spec_port *pt = &s->ports[s->nports];
		bool ok = parse_port(c, x->items[i], pt);

		for (size_t j = 0; ok && j < s->nports; j++) {
			if (port_overlap(&s->ports[j], pt)) {
				y_err(c, x->items[i],
				      "host ports of '%s' overlap the entry at line %d, column %d",
				      y_quote(x->items[i], q, sizeof(q)), s->ports[j].line,
				      s->ports[j].column);
				ok = false;
			}
		}
		if (ok && (total += pt->count) > SPEC_MAX_PORTS_TOTAL) {
			y_err(c, x->items[i], "too many ports: at most %d in all per service",
			      SPEC_MAX_PORTS_TOTAL);
			return;
		}
		if (ok)
			s->nports++;
	}
}

static void parse_isolation(struct sp *p, const struct ynode *v)
{
	static const char *const keys[] = { "namespaces", "network",	  "readonly_rootfs",
					    "mounts",	  "capabilities", "seccomp",
					    "user",	  "devices",	  NULL };
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	const struct ynode *x;
	int e;

	if (!sub(c, v, "isolation", keys))
		return;

	x = y_get(v, "namespaces", NULL);
	if (!y_is_null(x) && y_want(c, x, YNODE_SEQUENCE, "isolation.namespaces")) {
		const struct ynode *seen[8] = { NULL };
		unsigned ns = 0;

		p->ns_v = x;
		for (size_t i = 0; i < x->n; i++) {
			const struct ynode *it = x->items[i];

			if (!y_enum(c, it, "namespace", ns_names, &e))
				continue;
			if (seen[e]) {
				y_err(c, it,
				      "namespace '%s' listed twice (first at line %d, column %d)",
				      ns_names[e], seen[e]->line, seen[e]->column);
				continue;
			}
			seen[e] = it;
			ns |= 1u << e;
		}
		p->ns_net_item = seen[4];
		p->ns_user_item = seen[6];
		/* 'user' comes with isolation.user (parsed below), never alone. */
		s->isolation.namespaces = ns & ~(unsigned)SPEC_NS_USER;
	}
	parse_user_ns(p, y_get(v, "user", NULL));
	if (p->ns_user_item && !p->user_map_v)
		y_err(c, p->ns_user_item,
		      "the 'user' namespace needs its mapping: set isolation.user: {map: auto} or "
		      "{map: 0:HOSTUID:COUNT}");

	x = y_get(v, "network", NULL);
	if (!y_is_null(x))
		parse_network(p, x);
	x = y_get(v, "readonly_rootfs", NULL);
	if (!y_is_null(x) &&
	    y_bool(c, x, "isolation.readonly_rootfs", &s->isolation.readonly_rootfs))
		p->ro_v = s->isolation.readonly_rootfs ? x : NULL;
	parse_capabilities(p, y_get(v, "capabilities", NULL));
	parse_seccomp(p, y_get(v, "seccomp", NULL));

	x = y_get(v, "mounts", NULL);
	if (!y_is_null(x) && y_want(c, x, YNODE_SEQUENCE, "isolation.mounts")) {
		if (x->n > SPEC_MAX_MOUNTS) {
			y_err(c, x, "too many mounts (at most %d)", SPEC_MAX_MOUNTS);
			return;
		}
		p->mounts_v = x->n ? x : NULL;
		s->isolation.mounts = calloc(x->n ? x->n : 1, sizeof(*s->isolation.mounts));
		if (!s->isolation.mounts) {
			c->oom = true;
			return;
		}
		for (size_t i = 0; i < x->n; i++) {
			struct spec_mount *mt = &s->isolation.mounts[s->isolation.nmounts];
			bool ok;

			parse_mount(p, x->items[i], mt, &ok);
			for (size_t j = 0; mt->target && j < s->isolation.nmounts; j++) {
				if (strcmp(s->isolation.mounts[j].target, mt->target) == 0) {
					y_err(c, y_get(x->items[i], "target", NULL),
					      "mount target '%s' is used twice", mt->target);
					ok = false;
				}
			}
			if (ok) {
				s->isolation.nmounts++;
			} else {
				free(mt->source);
				free(mt->target);
				memset(mt, 0, sizeof(*mt));
			}
		}
	}
	x = y_get(v, "devices", NULL);
	if (!y_is_null(x))
		parse_devices(p, x);
}

static void parse_restart(struct sp *p, const struct ynode *v)
{
	static const char *const keys[] = { "policy",	   "delay", "max_delay",
					    "reset_after", "limit", NULL };
	static const char *const limit_keys[] = { "burst", "interval", NULL };
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	const struct ynode *x, *l;
	uint64_t u;
	int e;

	if (!sub(c, v, "restart", keys))
		return;
	x = y_get(v, "policy", NULL);
	if (!y_is_null(x) && y_enum(c, x, "restart policy", restart_names, &e))
		s->restart.policy = (enum spec_restart_policy)e;
	x = y_get(v, "delay", NULL);
	if (!y_is_null(x) && y_duration(c, x, "restart.delay", 0, HOUR_MS, &s->restart.delay_ms))
		p->delay_v = x;
	x = y_get(v, "max_delay", NULL);
	if (!y_is_null(x) &&
	    y_duration(c, x, "restart.max_delay", 0, DAY_MS, &s->restart.max_delay_ms))
		p->max_delay_v = x;
	x = y_get(v, "reset_after", NULL);
	if (!y_is_null(x))
		y_duration(c, x, "restart.reset_after", 0, DAY_MS, &s->restart.reset_after_ms);
	l = y_get(v, "limit", NULL);
	if (sub(c, l, "restart.limit", limit_keys)) {
		x = y_get(l, "burst", NULL);
		if (!y_is_null(x) && y_uint(c, x, "restart.limit.burst", 1, 10000, &u))
			s->restart.burst = (uint32_t)u;
		x = y_get(l, "interval", NULL);
		if (!y_is_null(x))
			y_duration(c, x, "restart.limit.interval", 1, DAY_MS,
				   &s->restart.interval_ms);
	}
}

static void parse_ready(struct sp *p, const struct ynode *key, const struct ynode *v)
{
	static const char *const keys[] = { "exec", "tcp", "notify", "timeout", NULL };
	static const char *const scalar_names[] = { "none", "notify", NULL };
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	const struct ynode *x, *k, *chosen = NULL;
	uint64_t u;
	int e;

	if (v->type == YNODE_SCALAR) {
		if (strcmp(v->value, "exec") == 0 || strcmp(v->value, "tcp") == 0) {
			y_err(c, v, "'ready: %s' needs an argument: write ready: {%s: %s}",
			      v->value, v->value, v->value[0] == 'e' ? "[\"/bin/check\"]" : "PORT");
			return;
		}
		if (y_enum(c, v, "ready", scalar_names, &e))
			s->ready.type = e == 1 ? READY_NOTIFY : READY_NONE;
		return;
	}
	if (!y_want(c, v, YNODE_MAPPING, "ready"))
		return;
	y_check_keys(c, v, "in 'ready'", keys);
	for (size_t j = 0; j < v->n; j++) {
		size_t i;

		k = v->pairs[j].key;
		x = v->pairs[j].value;
		if (!y_pair_ok(&v->pairs[j]))
			continue;
		for (i = 0; i < 3 && strcmp(k->value, keys[i]) != 0; i++)
			;
		if (i == 3)
			continue;
		if (chosen) {
			y_err(c, k,
			      "'ready' takes only one of exec, tcp and notify ('%s' at line %d, "
			      "column %d)",
			      chosen->value, chosen->line, chosen->column);
			continue;
		}
		chosen = k;
		if (i == 0) {
			if (y_argv(c, x, "ready.exec", true, &s->ready.exec, &(size_t){ 0 }))
				s->ready.type = READY_EXEC;
		} else if (i == 1) {
			if (y_uint(c, x, "ready.tcp", 1, 65535, &u)) {
				s->ready.type = READY_TCP;
				s->ready.port = (uint16_t)u;
			}
		} else {
			bool b;

			if (y_bool(c, x, "ready.notify", &b)) {
				if (b)
					s->ready.type = READY_NOTIFY;
				else
					y_err(c, x,
					      "'ready.notify' must be true; for no readiness "
					      "check write 'ready: none'");
			}
		}
	}
	if (!chosen)
		y_err(c, key, "'ready' needs one of exec, tcp or notify");
	x = y_get(v, "timeout", NULL);
	if (!y_is_null(x))
		y_duration(c, x, "ready.timeout", 1000, HOUR_MS, &s->ready.timeout_ms);
}

static const char *const dep_condition_names[] = { "ready", "started", "healthy",
						   "completed_successfully", NULL };

/*
 * One dependency, at node at: appended unless invalid or listed already
 * (an error in depends_on; binds_to of a name in depends_on only marks it).
 * The arrays have room for every item of depends_on and binds_to.
 */
static void dep_append(struct sp *p, char **names, const struct ynode *at, const char *name,
		       struct spec_dep dep, bool from_binds)
{
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	const char *what = from_binds ? "binds_to" : "depends_on";
	char q[80];

	if (!config_valid_service_name(name)) {
		y_err(c, at, "invalid service name '%s' in '%s'", y_quote(at, q, sizeof(q)), what);
		return;
	}
	for (size_t j = 0; j < s->ndepends_on; j++) {
		if (strcmp(names[j], name) != 0)
			continue;
		if (from_binds && !s->deps[j].binds) {
			s->deps[j].binds = true;
			return;
		}
		y_err(c, at, "'%s' listed twice in '%s' (first at line %d, column %d)", name, what,
		      p->deps[j]->line, p->deps[j]->column);
		return;
	}
	names[s->ndepends_on] = y_strdup(c, name);
	if (!names[s->ndepends_on])
		return;
	s->deps[s->ndepends_on] = dep;
	p->deps[s->ndepends_on++] = at;
}

/* depends_on's mapping form: NAME: {condition: ..., restart: bool} (or null). */
static void parse_dep_entry(struct sp *p, char **names, const struct ypair *pr)
{
	static const char *const keys[] = { "condition", "restart", NULL };
	struct spec_dep dep = { .condition = DEP_READY };
	struct yctx *c = p->c;
	const struct ynode *v = pr->value, *x;
	char what[SPEC_NAME_MAX + 32];
	int e;

	if (pr->key->type != YNODE_SCALAR || y_is_null(pr->key)) {
		y_err(c, pr->key, "keys of 'depends_on' must be service names, not %s",
		      y_kind(pr->key));
		return;
	}
	snprintf(what, sizeof(what), "depends_on.%s", pr->key->value);
	if (!y_is_null(v)) {
		if (!sub(c, v, what, keys))
			return;
		x = y_get(v, "condition", NULL);
		snprintf(what, sizeof(what), "depends_on.%s.condition", pr->key->value);
		if (x && x->type == YNODE_SCALAR && strncmp(x->value, "service_", 8) == 0)
			y_err(c, x, "'%s': write '%s' (paddock's name for compose's '%s')", what,
			      strcmp(x->value, "service_started") == 0	 ? "started"
			      : strcmp(x->value, "service_healthy") == 0 ? "healthy"
									 : "completed_successfully",
			      x->value);
		else if (!y_is_null(x) && y_enum(c, x, what, dep_condition_names, &e))
			dep.condition = (enum spec_dep_condition)e;
		x = y_get(v, "restart", NULL);
		snprintf(what, sizeof(what), "depends_on.%s.restart", pr->key->value);
		if (!y_is_null(x))
			y_bool(c, x, what, &dep.restart);
	}
	dep_append(p, names, pr->key, pr->key->value, dep, false);
}

/*
 * depends_on: [NAME...] (each condition ready) or {NAME: {condition, restart}};
 * binds_to: [NAME...] adds NAME to depends_on with condition started unless
 * it is there already, and marks it bound (deps[i].binds).
 */
static void parse_depends_on(struct sp *p, const struct ynode *v, const struct ynode *binds)
{
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	size_t n = 0;
	char q[80];
	char **names;

	if (!y_is_null(v) && v->type == YNODE_SCALAR) {
		y_err(c, v, "'depends_on' must be a list of service names; write depends_on: [%s]",
		      y_quote(v, q, sizeof(q)));
		v = NULL;
	} else if (!y_is_null(v) && v->type != YNODE_MAPPING &&
		   !y_want(c, v, YNODE_SEQUENCE, "depends_on")) {
		v = NULL;
	}
	if (!y_is_null(binds) && binds->type == YNODE_SCALAR) {
		y_err(c, binds, "'binds_to' must be a list of service names; write binds_to: [%s]",
		      y_quote(binds, q, sizeof(q)));
		binds = NULL;
	} else if (!y_is_null(binds) && !y_want(c, binds, YNODE_SEQUENCE, "binds_to")) {
		binds = NULL;
	}
	n = (y_is_null(v) ? 0 : v->n) + (y_is_null(binds) ? 0 : binds->n);
	if (n == 0)
		return;
	if (n > SPEC_MAX_SERVICES) {
		y_err(c, y_is_null(v) ? binds : v,
		      "'depends_on' and 'binds_to' have too many items (at most %d)",
		      SPEC_MAX_SERVICES);
		return;
	}
	names = calloc(n + 1, sizeof(*names));
	p->deps = calloc(n + 1, sizeof(*p->deps));
	s->deps = calloc(n + 1, sizeof(*s->deps));
	if (!names || !p->deps || !s->deps) {
		free(names);
		c->oom = true;
		return;
	}
	s->depends_on = names;
	for (size_t i = 0; !y_is_null(v) && i < v->n && !c->oom; i++) {
		const struct ynode *it = v->type == YNODE_MAPPING ? NULL : v->items[i];

		if (v->type == YNODE_MAPPING) {
			if (y_pair_ok(&v->pairs[i]) && !y_is_extension(v->pairs[i].key))
				parse_dep_entry(p, names, &v->pairs[i]);
		} else if (it->type != YNODE_SCALAR || y_is_null(it)) {
			y_err(c, it, "items of 'depends_on' must be service names, not %s",
			      y_kind(it));
		} else {
			dep_append(p, names, it, it->value,
				   (struct spec_dep){ DEP_READY, false, false }, false);
		}
	}
	for (size_t i = 0; !y_is_null(binds) && i < binds->n && !c->oom; i++) {
		const struct ynode *it = binds->items[i];

		if (it->type != YNODE_SCALAR || y_is_null(it))
			y_err(c, it, "items of 'binds_to' must be service names, not %s",
			      y_kind(it));
		else
			dep_append(p, names, it, it->value,
				   (struct spec_dep){ DEP_STARTED, false, true }, true);
	}
	/* binds_to as written (its valid names), for what shows the spec */
	if (y_is_null(binds) || !(s->binds_to = calloc(binds->n + 1, sizeof(*s->binds_to)))) {
		c->oom = c->oom || !y_is_null(binds);
		return;
	}
	for (size_t i = 0; i < binds->n && !c->oom; i++)
		if (binds->items[i]->type == YNODE_SCALAR && !y_is_null(binds->items[i]) &&
		    config_valid_service_name(binds->items[i]->value))
			s->binds_to[s->nbinds_to++] = y_strdup(c, binds->items[i]->value);
}

static void parse_stop(struct sp *p, const struct ynode *v)
{
	static const char *const keys[] = { "signal", "timeout", NULL };
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	const struct ynode *x;
	char q[80];

	if (!sub(c, v, "stop", keys))
		return;
	x = y_get(v, "signal", NULL);
	if (!y_is_null(x)) {
		const char *str = y_scalar(c, x, "stop.signal"), *why = "invalid";
		int sig;

		if (str && units_parse_signal(str, &sig, &why) < 0)
			y_err(c, x, "invalid signal '%s' for 'stop.signal': %s",
			      y_quote(x, q, sizeof(q)), why);
		else if (str && sig == SIGSTOP)
			y_err(c, x, "'stop.signal' SIGSTOP would never stop the service");
		else if (str)
			s->stop.signal = sig;
	}
	x = y_get(v, "timeout", NULL);
	if (!y_is_null(x))
		y_duration(c, x, "stop.timeout", 0, HOUR_MS, &s->stop.timeout_ms);
}

static void parse_pressure(struct sp *p, const struct ynode *v)
{
	static const char *const keys[] = { "memory", "cpu", "io", NULL };
	static const char *const pkeys[] = { "above", "for", "action", NULL };
	struct yctx *c = p->c;
	char what[64], q[80];

	if (!sub(c, v, "pressure", keys))
		return;
	for (int r = 0; r < PRESSURE_NR; r++) {
		struct spec_pressure *pr = &p->s->pressure[r];
		const struct ynode *k, *m = y_get(v, keys[r], &k), *x;
		bool ok = true;
		int e;

		snprintf(what, sizeof(what), "pressure.%s", keys[r]);
		if (!sub(c, m, what, pkeys))
			continue;
		pr->for_ms = 10000;
		x = y_get(m, "above", NULL);
		if (y_is_null(x)) {
			y_err(c, k, "'%s' needs 'above' (a percentage like 20%%)", what);
			ok = false;
		} else {
			const char *str = y_scalar(c, x, "above"), *why = "invalid";

			if (!str)
				ok = false;
			else if (units_parse_percent(str, &pr->above_permille, &why) < 0) {
				y_err(c, x, "invalid percentage '%s' for '%s.above': %s",
				      y_quote(x, q, sizeof(q)), what, why);
				ok = false;
			}
		}
		x = y_get(m, "for", NULL);
		if (!y_is_null(x) && !y_duration(c, x, "for", 500, HOUR_MS, &pr->for_ms))
			ok = false;
		x = y_get(m, "action", NULL);
		if (y_is_null(x)) {
			y_err(c, k, "'%s' needs 'action' (reclaim, grow, freeze, restart or kill)",
			      what);
			ok = false;
		} else if (y_enum(c, x, "pressure action", action_names, &e)) {
			if (e == 0 && r != PRESSURE_MEMORY) {
				y_err(c, x, "action 'reclaim' applies only to memory pressure");
				ok = false;
			} else if (ok) {
				pr->action = (enum spec_pressure_action)(e + 1);
			}
		}
		if (!ok)
			*pr = (struct spec_pressure){ 0 };
	}
}

/*
 * Lexically clean "dir/rel" (or rel when absolute): no empty, "." or ".."
 * components, so the launcher and messages see one spelling of a path.
 */
static char *path_join_clean(struct yctx *c, const char *dir, const char *rel)
{
	size_t dl = rel[0] == '/' ? 0 : strlen(dir), rl = strlen(rel);
	char *in = malloc(dl + rl + 2), *out = malloc(dl + rl + 2);
	size_t o = 0;

	if (!in || !out) {
		free(in);
		free(out);
		c->oom = true;
		return NULL;
	}
	memcpy(in, dir, dl);
	in[dl] = '/';
	memcpy(in + dl + 1, rel, rl + 1);
	for (char *q = in; *q;) {
		char *e = strchrnul(q, '/');
		size_t len = (size_t)(e - q);

		if (len == 2 && q[0] == '.' && q[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* drop the component and its '/'; "/.." stays "/" */
		} else if (len > 0 && !(len == 1 && q[0] == '.')) {
			out[o++] = '/';
			memcpy(out + o, q, len);
			o += len;
		}
		q = *e ? e + 1 : e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(in);
	return out;
}

/*
 * An environment file's diagnostics: those at a line of it (FILE:LINE) go
 * after the spec file's own; the whole file's ("file too large") are put at
 * the spec's item, which names the path.
 */
static void forward_diags(struct sp *p, const struct ynode *it, const char *path,
			  const struct config_errors *from)
{
	for (size_t i = 0; i < from->n; i++) {
		const struct config_diag *d = &from->diags[i];

		if (d->line > 0) {
			config_errors_add(p->late, d->file, d->line, d->column, "%s", d->message);
			p->c->nerrors++;
		} else {
			y_err(p->c, it, "environment_file '%s': %s", path, d->message);
		}
	}
}

static void parse_envfile(struct sp *p, const struct ynode *it, struct spec_envfile *ef)
{
	struct yctx *c = p->c;
	struct config_errors errs = { 0 };
	const char *s = y_scalar(c, it, "environment_file");
	char **vars;
	size_t n;
	int r;

	if (!s)
		return;
	ef->optional = s[0] == '-';
	if (ef->optional)
		s++;
	if (!*s) {
		y_err(c, it, "'environment_file' items must be paths, not empty");
		return;
	}
	ef->path = path_join_clean(c, p->dir, s);
	ef->line = it->line;
	ef->column = it->column;
	if (!ef->path)
		return;
	/* Read it now too, so 'paddockctl check' and a reload report its errors. */
	r = config_envfile_load(ef->path, ef->optional, &vars, &n, &errs);
	if (r == -ENOENT)
		y_err(c, it,
		      "environment_file '%s': no such file (write '-%s' if it may be missing)",
		      ef->path, s);
	else if (r == -ENOMEM)
		c->oom = true;
	else if (r < 0)
		forward_diags(p, it, ef->path, &errs);
	config_strv_free(vars);
	config_errors_clear(&errs);
}

static void parse_environment_files(struct sp *p, const struct ynode *v)
{
	struct service_spec *s = p->s;
	const struct ynode *const *items = &v;
	size_t n = 1;

	if (v->type == YNODE_SEQUENCE) {
		items = (const struct ynode *const *)v->items;
		n = v->n;
	} else if (!y_want(p->c, v, YNODE_SCALAR, "environment_file")) {
		return;
	}
	if (n > SPEC_MAX_ENVFILES) {
		y_err(p->c, v, "'environment_file' has too many files (at most %d)",
		      SPEC_MAX_ENVFILES);
		return;
	}
	s->environment_files = calloc(n ? n : 1, sizeof(*s->environment_files));
	if (!s->environment_files) {
		p->c->oom = true;
		return;
	}
	for (size_t i = 0; i < n && !p->c->oom; i++) {
		struct spec_envfile *ef = &s->environment_files[s->nenvironment_files];

		parse_envfile(p, items[i], ef);
		if (ef->path)
			s->nenvironment_files++;
	}
}

/* A secret's mode: octal digits as chmod takes them (0440, 440, 0o440), <= 0777. */
static bool parse_mode(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		s += 2;
	if (!*s || strlen(s) > 4)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return false;
		v = v * 8 + (uint32_t)(*s - '0');
	}
	if (v > 0777)
		return false;
	*out = v;
	return true;
}

static void parse_secret(struct sp *p, const struct ynode *it, struct spec_secret *sc, bool *ok)
{
	static const char *const keys[] = { "source", "target", "uid", "gid", "mode", NULL };
	struct yctx *c = p->c;
	const struct ynode *src_v = it, *x;
	const char *src, *base;
	char q[80];
	uint64_t u;

	*ok = false;
	sc->uid = sc->gid = SPEC_SECRET_ID_UNSET;
	sc->mode = 0400;
	sc->line = it->line;
	sc->column = it->column;
	if (it->type == YNODE_MAPPING) {
		check_keys_quoted(c, it, "secrets[]", keys);
		src_v = y_get(it, "source", NULL);
		if (y_is_null(src_v)) {
			y_err(c, it,
			      "a secret needs a 'source' (a NAME in secrets_dir, or a path)");
			return;
		}
	} else if (it->type != YNODE_SCALAR || y_is_null(it)) {
		y_err(c, it,
		      "items of 'secrets' must be NAME or {source: ..., target: ...}, not %s",
		      y_kind(it));
		return;
	}
	src = y_scalar(c, src_v, "secrets[].source");
	if (!src)
		return;
	if (strchr(src, '/')) {
		size_t len = strlen(src);

		if (src[len - 1] == '/') {
			y_err(c, src_v, "secret source '%s' must name a file, not a directory",
			      y_quote(src_v, q, sizeof(q)));
			return;
		}
		if (!(sc->source = path_join_clean(c, p->dir, src)))
			return;
		base = strrchr(sc->source, '/') + 1;
	} else if (!config_valid_name(src)) {
		y_err(c, src_v,
		      "invalid secret name '%s' (a name in secrets_dir: 1-63 characters of a-z, "
		      "0-9, '_' and '-'; or a path with a '/')",
		      y_quote(src_v, q, sizeof(q)));
		return;
	} else {
		if (!(sc->name = y_strdup(c, src)))
			return;
		base = sc->name;
	}
	if (!*base || strcmp(base, "..") == 0) {
		y_err(c, src_v, "secret source '%s' must name a file",
		      y_quote(src_v, q, sizeof(q)));
		return;
	}
	x = it->type == YNODE_MAPPING ? y_get(it, "target", NULL) : NULL;
	if (!y_is_null(x)) {
		const char *t = y_scalar(c, x, "secrets[].target");

		if (!t)
			return;
		if (!strchr(t, '/')) {
			if (!config_valid_name(t)) {
				y_err(c, x,
				      "invalid secret target '%s' (a NAME under %s, or an "
				      "absolute path)",
				      y_quote(x, q, sizeof(q)), SPEC_SECRETS_DIR_INSIDE);
				return;
			}
			base = t;
		} else if (!clean_abs_path(t) || strcmp(t, "/") == 0 || t[strlen(t) - 1] == '/') {
			y_err(c, x,
			      "secret target '%s' must be a NAME or an absolute path to a file "
			      "without '..'",
			      y_quote(x, q, sizeof(q)));
			return;
		} else {
			if (!(sc->target = path_join_clean(c, "/", t)))
				return;
			base = NULL;
		}
	}
	if (base && asprintf(&sc->target, "%s/%s", SPEC_SECRETS_DIR_INSIDE, base) < 0) {
		sc->target = NULL;
		c->oom = true;
		return;
	}
	*ok = true;
	if (it->type != YNODE_MAPPING)
		return;
	x = y_get(it, "uid", NULL);
	if (!y_is_null(x) && !y_uint(c, x, "secrets[].uid", 0, UINT32_MAX - 1, &u))
		*ok = false;
	else if (!y_is_null(x))
		sc->uid = (uint32_t)u;
	x = y_get(it, "gid", NULL);
	if (!y_is_null(x) && !y_uint(c, x, "secrets[].gid", 0, UINT32_MAX - 1, &u))
		*ok = false;
	else if (!y_is_null(x))
		sc->gid = (uint32_t)u;
	x = y_get(it, "mode", NULL);
	if (!y_is_null(x)) {
		const char *m = y_scalar(c, x, "secrets[].mode");

		if (!m) {
			*ok = false;
		} else if (!parse_mode(m, &sc->mode)) {
			y_err(c, x,
			      "'secrets[].mode' must be octal permissions up to 0777 (like "
			      "0440), not '%s'",
			      y_quote(x, q, sizeof(q)));
			*ok = false;
		}
	}
}

static void secret_clear(struct spec_secret *sc)
{
	free(sc->name);
	free(sc->source);
	free(sc->target);
	*sc = (struct spec_secret){ 0 };
}

static void parse_secrets(struct sp *p, const struct ynode *key, const struct ynode *v)
{
	struct service_spec *s = p->s;
	struct yctx *c = p->c;

	if (v->type == YNODE_SCALAR) {
		char q[80];

		y_err(c, v, "'secrets' must be a list; write secrets: [%s]",
		      y_quote(v, q, sizeof(q)));
		return;
	}
	if (!y_want(c, v, YNODE_SEQUENCE, "secrets"))
		return;
	if (v->n > SPEC_MAX_SECRETS) {
		y_err(c, v, "'secrets' has too many items (at most %d)", SPEC_MAX_SECRETS);
		return;
	}
	p->secrets_key = key;
	s->secrets = calloc(v->n ? v->n : 1, sizeof(*s->secrets));
	if (!s->secrets) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < v->n && !c->oom; i++) {
		struct spec_secret *sc = &s->secrets[s->nsecrets];
		bool ok, dup = false;

		parse_secret(p, v->items[i], sc, &ok);
		for (size_t j = 0; ok && j < s->nsecrets && !dup; j++) {
			if (strcmp(s->secrets[j].target, sc->target) == 0) {
				y_err(c, v->items[i],
				      "duplicate secret target '%s' (first at line %d, column %d)",
				      sc->target, s->secrets[j].line, s->secrets[j].column);
				dup = true;
			}
		}
		if (!ok || dup)
			secret_clear(sc);
		else
			s->nsecrets++;
	}
}

static void parse_profiles(struct sp *p, const struct ynode *v)
{
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	char q[80];

	if (v->type == YNODE_SCALAR) {
		y_err(c, v, "'profiles' must be a list of names; write profiles: [%s]",
		      y_quote(v, q, sizeof(q)));
		return;
	}
	if (!y_want(c, v, YNODE_SEQUENCE, "profiles"))
		return;
	if (v->n > SPEC_MAX_PROFILES) {
		y_err(c, v, "'profiles' has too many items (at most %d)", SPEC_MAX_PROFILES);
		return;
	}
	s->profiles = calloc(v->n + 1, sizeof(*s->profiles));
	if (!s->profiles) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *it = v->items[i];
		bool dup = false;

		if (it->type != YNODE_SCALAR || y_is_null(it) || !config_valid_name(it->value)) {
			y_err(c, it,
			      "invalid profile name '%s' (1-63 characters of a-z, 0-9, '_' and "
			      "'-', starting with a letter or digit)",
			      y_quote(it, q, sizeof(q)));
			continue;
		}
		for (size_t j = 0; j < i && !dup; j++) {
			const struct ynode *o = v->items[j];

			if (o->type == YNODE_SCALAR && strcmp(o->value, it->value) == 0) {
				y_err(c, it,
				      "profile '%s' listed twice (first at line %d, column %d)",
				      it->value, o->line, o->column);
				dup = true;
			}
		}
		if (!dup && !(s->profiles[s->nprofiles++] = y_strdup(c, it->value)))
			return;
	}
}

/* Checks between fields, once every field is parsed. */
static void cross_checks(struct sp *p)
{
	struct service_spec *s = p->s;
	struct yctx *c = p->c;
	char a[32], b[32];

	if (p->image_key && p->rootfs_key) {
		const struct ynode *later = p->image_key->line > p->rootfs_key->line ||
						    (p->image_key->line == p->rootfs_key->line &&
						     p->image_key->column > p->rootfs_key->column)
						? p->image_key
						: p->rootfs_key;

		y_err(c, later, "'image' and 'rootfs' are mutually exclusive; give one of them");
	}
	if (!s->command && !p->command_key && !p->image_key)
		y_err(c, p->name_key,
		      "service '%s' needs a 'command' (or an 'image' that provides one)", p->name);

	if (s->isolation.network == NETWORK_HOST) {
		if (p->ns_net_item)
			y_err(c, p->ns_net_item,
			      "namespace 'net' contradicts 'network: host'; remove one of them");
		s->isolation.namespaces &= ~(unsigned)SPEC_NS_NET;
	} else if (p->ns_v && !(s->isolation.namespaces & SPEC_NS_NET)) {
		if (s->isolation.network == NETWORK_BRIDGE)
			y_err(
			    c, p->ns_v,
			    "a bridge network needs the 'net' namespace (the service gets its own "
			    "interfaces there); add 'net' to namespaces");
		else
			y_err(c, p->ns_v,
			      "'network: none' needs the 'net' namespace; add 'net' to namespaces "
			      "or set 'network: host'");
	}
	if (p->ports_key && s->isolation.network != NETWORK_BRIDGE && !p->network_bad)
		y_err(c, p->ports_key, "ports need a bridge network: set isolation.network");
	if (p->ns_v && !(s->isolation.namespaces & SPEC_NS_MOUNT)) {
		if (p->image_key || p->rootfs_key || p->mounts_v || p->ro_v)
			y_err(c, p->ns_v,
			      "'image', 'rootfs', 'mounts' and 'readonly_rootfs' need the 'mount' "
			      "namespace");
	}
	if (p->secrets_key && !(s->isolation.namespaces & SPEC_NS_MOUNT))
		y_err(c, p->secrets_key,
		      "secrets are mounted on a private tmpfs: they need the mount namespace");
	for (size_t i = 0; i < s->nsecrets && !p->image_key && !p->rootfs_key; i++) {
		const char *t = s->secrets[i].target;
		size_t n = strlen(SPEC_SECRETS_DIR_INSIDE);

		if (t && !(strncmp(t, SPEC_SECRETS_DIR_INSIDE, n) == 0 && t[n] == '/')) {
			config_errors_add(
			    c->errs, c->file, s->secrets[i].line, s->secrets[i].column,
			    "secret target %s: a service on the host's own files takes "
			    "secrets in " SPEC_SECRETS_DIR_INSIDE
			    " only (give it an 'image' or a 'rootfs' for other targets)",
			    t);
			c->nerrors++;
		}
	}
	if (p->user_map_v && !p->image_key && !p->rootfs_key)
		y_err(c, p->user_map_v,
		      "isolation.user needs an 'image' or a 'rootfs' (the host's own files would "
		      "appear unowned in the user namespace)");
	else if (p->user_map_v && !(s->isolation.namespaces & SPEC_NS_MOUNT))
		y_err(c, p->user_map_v, "isolation.user needs the 'mount' namespace");
	if (p->ns_v && p->hostname_v && !(s->isolation.namespaces & SPEC_NS_UTS))
		y_err(c, p->hostname_v, "'hostname' needs the 'uts' namespace");

	if (s->restart.delay_ms > s->restart.max_delay_ms)
		y_err(c, p->delay_v ? p->delay_v : p->max_delay_v,
		      "restart.delay (%s) must not exceed restart.max_delay (%s)",
		      units_format_duration(s->restart.delay_ms, a, sizeof(a)),
		      units_format_duration(s->restart.max_delay_ms, b, sizeof(b)));
	if (s->watchdog_ms > 0 && s->ready.type != READY_NOTIFY)
		y_err(c, p->watchdog_v,
		      "'watchdog' needs 'ready: notify' (pings arrive on the notify socket)");
}

/*
 * The text of a service's mapping for 'effective'. An instance is a service
 * of its own, so its 'instances' key is left out.
 */
static char *emit_service(const struct ynode *v, bool instance)
{
	struct ynode copy = *v;
	char *text;

	if (!instance || v->type != YNODE_MAPPING)
		return y_emit(v, 2);
	copy.pairs = calloc(v->n ? v->n : 1, sizeof(*copy.pairs));
	if (!copy.pairs)
		return NULL;
	copy.n = 0;
	for (size_t i = 0; i < v->n; i++)
		if (v->pairs[i].key->type != YNODE_SCALAR ||
		    strcmp(v->pairs[i].key->value, "instances") != 0)
			copy.pairs[copy.n++] = v->pairs[i];
	text = y_emit(&copy, 2);
	free(copy.pairs);
	return text;
}

/*
 * An instance's default hostname, TEMPLATE-INSTANCE made a valid hostname:
 * '_' becomes '-', at most 64 characters, no '-' at the end.
 */
static char *instance_hostname(struct yctx *c, const char *tmpl, const char *inst)
{
	char *h;
	size_t n;

	if (asprintf(&h, "%.64s-%.64s", tmpl, inst) < 0) {
		c->oom = true;
		return NULL;
	}
	for (char *q = h; *q; q++)
		if (*q == '_')
			*q = '-';
	n = strlen(h) < 64 ? strlen(h) : 64;
	while (n > 0 && h[n - 1] == '-')
		n--;
	h[n] = '\0';
	return h;
}

/*
 * Parse one service: key names it (the template of an instance when inst
 * is set), v is its value after interpolation. stub: v could not be
 * interpolated; only the name is kept. Returns it even when it has errors
 * (*bad is set), so that depends_on in other services still resolves; NULL
 * only on ENOMEM.
 */
static struct service_spec *parse_service(struct yctx *c, const struct pfile *f,
					  const struct ynode *key, const char *inst,
					  const struct ynode *v, bool stub, struct pos **deppos,
					  bool *bad)
{
	const char *file = c->file;
	struct service_spec *s = calloc(1, sizeof(*s));
	struct sp p = {
		.c = c, .s = s, .name = key->value, .name_key = key, .dir = f->dir, .late = f->late
	};
	size_t errors_before = c->nerrors;
	const struct ynode *x, *k;
	char q[80], where[200];
	uint64_t u;
	int e;

	*deppos = NULL;
	if (!s) {
		c->oom = true;
		return NULL;
	}
	spec_defaults(s);
	if (inst) {
		if (asprintf(&s->name, "%s@%s", key->value, inst) < 0) {
			s->name = NULL;
			c->oom = true;
		}
		s->template_name = y_strdup(c, key->value);
		s->instance = y_strdup(c, inst);
		p.name = s->name ? s->name : key->value;
	} else {
		s->name = y_strdup(c, key->value);
	}
	s->file = y_strdup(c, file);
	s->line = key->line;
	s->column = key->column;
	if (strchr(key->value, '@'))
		y_err(c, key,
		      "invalid service name '%s': '@' is reserved for instances: use 'instances:'",
		      y_quote(key, q, sizeof(q)));
	else if (!config_valid_name(key->value))
		y_err(c, key,
		      "invalid service name '%s' (1-63 characters of a-z, 0-9, '_' and '-', "
		      "starting with a letter or digit)",
		      y_quote(key, q, sizeof(q)));
	snprintf(where, sizeof(where), "in service '%s%s%s'", y_quote(key, q, sizeof(q)),
		 inst ? "@" : "", inst ? inst : "");
	if (stub)
		goto done;

	if (!y_is_null(v) && v->type != YNODE_MAPPING) {
		y_err(c, v, "service '%s' must be a mapping, not %s", y_quote(key, q, sizeof(q)),
		      y_kind(v));
		goto done;
	}
	if (!y_is_null(v))
		y_check_keys(c, v, where, service_keys);
	else
		v = NULL;

	x = y_get(v, "image", &k);
	if (!y_is_null(x) && y_string(c, x, "image", false, &s->image)) {
		const char *why;

		p.image_key = k;
		if (config_image_ref_is_registry(s->image) &&
		    (why = config_registry_ref_error(s->image)))
			y_err(c, x, "invalid registry reference '%s': %s", y_quote(x, q, sizeof(q)),
			      why);
	}
	x = y_get(v, "pull", NULL);
	if (!y_is_null(x) && y_enum(c, x, "pull", pull_names, &e)) {
		s->pull = (enum spec_pull)e;
		if (!y_get(v, "image", NULL))
			y_err(c, x,
			      "'pull' says when a registry image is fetched: it needs 'image'");
		else if (s->image && s->pull == PULL_ALWAYS &&
			 !config_image_ref_is_registry(s->image))
			y_err(c, x,
			      "'pull: always' needs a registry reference in 'image' "
			      "(HOST[:PORT]/NAME[:TAG]); '%.100s' is a path or an imported image",
			      s->image);
	}
	x = y_get(v, "rootfs", &k);
	if (!y_is_null(x) && y_string(c, x, "rootfs", true, &s->rootfs))
		p.rootfs_key = k;
	x = y_get(v, "command", &k);
	p.command_key = k;
	if (!y_is_null(x))
		y_argv(c, x, "command", true, &s->command, &s->ncommand);
	x = y_get(v, "environment", NULL);
	if (!y_is_null(x))
		parse_environment(&p, x);
	x = y_get(v, "user", NULL);
	if (!y_is_null(x))
		parse_user(&p, x);
	x = y_get(v, "working_dir", NULL);
	if (!y_is_null(x))
		y_string(c, x, "working_dir", true, &s->working_dir);
	x = y_get(v, "hostname", NULL);
	if (!y_is_null(x))
		parse_hostname(&p, x);
	x = y_get(v, "class", NULL);
	if (!y_is_null(x) && y_enum(c, x, "class", class_names, &e))
		s->class = (enum spec_class)e;
	x = y_get(v, "init", NULL);
	if (!y_is_null(x))
		y_bool(c, x, "init", &s->init);
	x = y_get(v, "persist", NULL);
	if (!y_is_null(x) && y_bool(c, x, "persist", &s->persist) && s->persist &&
	    !y_get(v, "image", NULL))
		y_err(c, x, "'persist' keeps an image's upper layer: it needs 'image'");
	parse_resources(&p, y_get(v, "resources", NULL));
	parse_isolation(&p, y_get(v, "isolation", NULL));
	parse_restart(&p, y_get(v, "restart", NULL));
	x = y_get(v, "ready", &k);
	if (!y_is_null(x))
		parse_ready(&p, k, x);
	x = y_get(v, "watchdog", NULL);
	if (!y_is_null(x) && y_duration(c, x, "watchdog", 0, HOUR_MS, &u)) {
		if (u > 0 && u < 1000) {
			y_err(c, x, "'watchdog' must be 0 (off) or at least 1s");
		} else {
			s->watchdog_ms = u;
			p.watchdog_v = x;
		}
	}
	parse_depends_on(&p, y_get(v, "depends_on", NULL), y_get(v, "binds_to", NULL));
	parse_stop(&p, y_get(v, "stop", NULL));
	x = y_get(v, "on_oom", NULL);
	if (!y_is_null(x) && y_enum(c, x, "on_oom", on_oom_names, &e))
		s->on_oom = (enum spec_on_oom)e;
	parse_pressure(&p, y_get(v, "pressure", NULL));
	x = y_get(v, "health", NULL);
	if (!y_is_null(x))
		parse_health(&p, x);
	x = y_get(v, "schedule", NULL);
	if (!y_is_null(x))
		parse_schedule(&p, x);
	parse_identity(&p, y_get(v, "groups", NULL), y_get(v, "umask", NULL));
	x = y_get(v, "placement", NULL);
	if (!y_is_null(x))
		parse_placement(&p, x);
	x = y_get(v, "ports", &k);
	if (!y_is_null(x))
		parse_ports(&p, k, x);
	x = y_get(v, "environment_file", NULL);
	if (!y_is_null(x))
		parse_environment_files(&p, x);
	x = y_get(v, "secrets", &k);
	if (!y_is_null(x))
		parse_secrets(&p, k, x);
	x = y_get(v, "enabled", NULL);
	if (!y_is_null(x))
		y_bool(c, x, "enabled", &s->enabled);
	x = y_get(v, "profiles", NULL);
	if (!y_is_null(x))
		parse_profiles(&p, x);
	cross_checks(&p);
	if (inst && !s->hostname && !c->oom)
		s->hostname = instance_hostname(c, key->value, inst);
	if (!c->oom) {
		/* paddockctl cat: the service as it was read, after interpolation */
		char *body = v ? emit_service(v, inst != NULL) : strdup("");

		if (!body || asprintf(&s->effective, "%s:\n%s", s->name ? s->name : "", body) < 0) {
			s->effective = NULL;
			c->oom = true;
		}
		free(body);
	}

done:
	if (!c->oom && s->ndepends_on > 0) {
		*deppos = calloc(s->ndepends_on, sizeof(**deppos));
		if (!*deppos)
			c->oom = true;
		for (size_t i = 0; *deppos && i < s->ndepends_on; i++)
			(*deppos)[i] = (struct pos){ p.deps[i]->line, p.deps[i]->column };
	}
	free(p.deps);
	*bad = c->nerrors != errors_before;
	if (c->oom || !s->name || !s->file) {
		free(*deppos);
		*deppos = NULL;
		return service_spec_free(s);
	}
	return s;
}

static int loader_add(struct loader *l, struct service_spec *s, struct pos *deppos, bool bad)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct pservice *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct pservice){ .spec = s, .deppos = deppos, .seq = l->seq, .bad = bad };
	return 0;
}

/* instances: N (1..SPEC_MAX_INSTANCES) or a list of distinct names. */
static bool parse_instances(struct yctx *c, const struct ynode *v, char ***out, size_t *n)
{
	char q[80];
	char **names;
	uint64_t count = 0;

	*out = NULL;
	*n = 0;
	if (v->type == YNODE_SCALAR) {
		if (!y_uint(c, v, "instances", 1, SPEC_MAX_INSTANCES, &count))
			return false;
	} else if (!y_want(c, v, YNODE_SEQUENCE, "instances")) {
		return false;
	} else if (v->n == 0 || v->n > SPEC_MAX_INSTANCES) {
		y_err(c, v, "'instances' must list 1 to %d names", SPEC_MAX_INSTANCES);
		return false;
	}
	names = calloc((count ? count : v->n) + 1, sizeof(*names));
	if (!names) {
		c->oom = true;
		return false;
	}
	for (size_t i = 0; i < count; i++) {
		if (asprintf(&names[i], "%zu", i + 1) < 0) {
			names[i] = NULL;
			c->oom = true;
			config_strv_free(names);
			return false;
		}
		(*n)++;
	}
	for (size_t i = 0; !count && i < v->n; i++) {
		const struct ynode *it = v->items[i];
		bool dup = false;

		if (it->type != YNODE_SCALAR || y_is_null(it) || !config_valid_name(it->value)) {
			y_err(c, it,
			      "invalid instance name '%s' (1-63 characters of a-z, 0-9, '_' and "
			      "'-', starting with a letter or digit)",
			      y_quote(it, q, sizeof(q)));
			continue;
		}
		for (size_t j = 0; j < i && !dup; j++) {
			const struct ynode *o = v->items[j];

			if (o->type == YNODE_SCALAR && strcmp(o->value, it->value) == 0) {
				y_err(c, it,
				      "instance '%s' listed twice (first at line %d, column %d)",
				      it->value, o->line, o->column);
				dup = true;
			}
		}
		if (!dup && !(names[(*n)++] = y_strdup(c, it->value)))
			break;
	}
	*out = names;
	if (c->oom || (!count && *n != v->n)) {
		config_strv_free(names);
		*out = NULL;
		*n = 0;
		return false;
	}
	return true;
}

/* Parse and add one service (or one instance of it); false on ENOMEM. */
static bool add_one(struct loader *l, struct yctx *c, const struct pfile *f,
		    const struct ynode *key, const char *inst, const struct ynode *v, bool stub,
		    bool *bad)
{
	struct yvars vars = *f->vars;
	struct service_spec *s;
	struct pos *deppos;

	vars.instance = inst;
	if (!stub && !y_is_null(v) && !l->literal) {
		size_t before = c->nerrors;
		const struct ynode *iv = y_interpolate(c, f->t, v, &vars);

		if (c->oom)
			return false;
		if (!iv || c->nerrors != before)
			stub = true;
		else
			v = iv;
	}
	s = parse_service(c, f, key, inst, v, stub, &deppos, bad);
	*bad = *bad || stub;
	if (!s)
		return false;
	if (loader_add(l, s, deppos, *bad) < 0) {
		service_spec_free(s);
		free(deppos);
		return false;
	}
	return true;
}

/*
 * One entry of 'services': a service, or with 'instances' one service per
 * instance, each from the entry's value interpolated with ${instance} set.
 * Once an instance had errors, the later ones are parsed without reporting
 * (they would repeat the same errors at the same places). False to stop:
 * ENOMEM or too many services.
 */
static bool add_services(struct loader *l, struct yctx *c, const struct pfile *f,
			 const struct ypair *pr)
{
	const struct ynode *iv = NULL, *ik;
	struct config_errors scratch = { 0 }, scratch_late = { 0 };
	struct yctx quiet = *c;
	struct pfile qf = *f;
	char **insts = NULL;
	size_t ninst = 0;
	bool stub = false, bad = false, ok = true;

	if (pr->value->type == YNODE_MAPPING)
		iv = y_get(pr->value, "instances", &ik);
	if (!y_is_null(iv)) {
		size_t before = c->nerrors;

		if (!l->literal)
			iv = y_interpolate(c, f->t, iv, f->vars);
		if (c->oom)
			return false;
		stub = !iv || c->nerrors != before || !parse_instances(c, iv, &insts, &ninst);
		if (c->oom)
			return false;
	}
	if (ninst == 0) {
		if (l->n >= SPEC_MAX_SERVICES) {
			y_err(c, pr->key, "too many services (at most %d)", SPEC_MAX_SERVICES);
			return false;
		}
		return add_one(l, c, f, pr->key, NULL, pr->value, stub, &bad);
	}
	quiet.errs = &scratch;
	qf.late = &scratch_late;
	for (size_t i = 0; i < ninst && ok; i++) {
		struct yctx *ci = bad ? &quiet : c;
		bool b = false;

		if (l->n >= SPEC_MAX_SERVICES) {
			y_err(c, pr->key, "too many services (at most %d)", SPEC_MAX_SERVICES);
			ok = false;
			break;
		}
		ok = add_one(l, ci, bad ? &qf : f, pr->key, insts[i], pr->value, false, &b);
		bad = bad || b;
		c->oom = c->oom || quiet.oom;
	}
	config_errors_clear(&scratch);
	config_errors_clear(&scratch_late);
	config_strv_free(insts);
	return ok && !c->oom;
}

/* The absolute directory of a spec file ("-" and bare names: the working directory). */
static char *spec_dir(const char *file)
{
	const char *slash = strrchr(file, '/');
	char *cwd, *dir;

	if (slash == file)
		return strdup("/");
	if (slash && file[0] == '/')
		return strndup(file, (size_t)(slash - file));
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return strdup("/");
	if (!slash)
		return cwd;
	if (asprintf(&dir, "%s/%.*s", cwd, (int)(slash - file), file) < 0)
		dir = NULL;
	free(cwd);
	return dir;
}

/* 'include:' items of one file: absolute paths and where each was written. */
struct includes {
	char **paths;
	struct pos *at;
	size_t n;
};

static void includes_free(struct includes *inc)
{
	for (size_t i = 0; i < inc->n; i++)
		free(inc->paths[i]);
	free(inc->paths);
	free(inc->at);
	*inc = (struct includes){ 0 };
}

static void parse_include(struct yctx *c, const char *dir, const struct ynode *v,
			  struct includes *inc)
{
	char q[80];

	if (v->type == YNODE_SCALAR) {
		y_err(c, v, "'include' must be a list of paths; write include: [%s]",
		      y_quote(v, q, sizeof(q)));
		return;
	}
	if (!y_want(c, v, YNODE_SEQUENCE, "include"))
		return;
	if (v->n > CONFIG_MAX_FILES) {
		y_err(c, v, "'include' has too many items (at most %d)", CONFIG_MAX_FILES);
		return;
	}
	inc->paths = calloc(v->n + 1, sizeof(*inc->paths));
	inc->at = calloc(v->n + 1, sizeof(*inc->at));
	if (!inc->paths || !inc->at) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < v->n && !c->oom; i++) {
		const struct ynode *it = v->items[i];

		if (it->type != YNODE_SCALAR || y_is_null(it) || it->len == 0) {
			y_err(c, it, "items of 'include' must be paths, not %s",
			      it->type == YNODE_SCALAR ? "empty" : y_kind(it));
			continue;
		}
		inc->paths[inc->n] = path_join_clean(c, dir, it->value);
		if (!inc->paths[inc->n])
			break;
		inc->at[inc->n++] = (struct pos){ it->line, it->column };
	}
}

/*
 * Parse one file's text. Its services are added to the loader; the files it
 * includes are returned in *inc, to be read once this file's tree is freed.
 */
static void parse_file_buffer(struct loader *l, const char *file, const char *buf, size_t len,
			      struct includes *inc)
{
	static const char *const top_keys[] = { "services", "include", NULL };
	struct yctx c = { .file = file, .errs = l->errs, .host = l->host };
	struct config_errors late = { 0 };
	struct yvars vars = { .env = l->host ? l->host->env : NULL, .dotenv = l->dotenv };
	struct pfile f = { .late = &late, .vars = &vars };
	size_t from = l->errs->n;
	const struct ynode *services, *k, *x;
	struct ytree t;
	char *dir = NULL;
	int r;

	l->seq++;
	r = ytree_parse(&t, file, buf, len, l->errs);
	if (r < 0) {
		l->nerrors++;
		if (r == -ENOMEM)
			l->oom = true;
		return;
	}
	f.t = &t;
	f.dir = dir = spec_dir(file);
	if (!dir) {
		c.oom = true;
		goto out;
	}
	if (y_is_null(t.root))
		goto out;
	if (t.root->type != YNODE_MAPPING) {
		y_err(&c, t.root, "the top level must be a mapping with a 'services' key, not %s",
		      y_kind(t.root));
		goto out;
	}
	y_check_keys(&c, t.root, "at the top level", top_keys);
	x = y_get(t.root, "include", NULL);
	if (!y_is_null(x))
		parse_include(&c, dir, x, inc);
	services = y_get(t.root, "services", &k);
	if (!k) {
		if (!x)
			y_err(&c, t.root, "missing 'services' key at the top level");
		goto out;
	}
	if (y_is_null(services))
		goto out;
	if (!y_want(&c, services, YNODE_MAPPING, "services"))
		goto out;
	y_check_keys(&c, services, "in 'services'", NULL);
	for (size_t i = 0; i < services->n && !c.oom; i++) {
		const struct ypair *pr = &services->pairs[i];

		if (!y_pair_ok(pr) || y_is_extension(pr->key))
			continue;
		if (!add_services(l, &c, &f, pr))
			break;
	}
out:
	if (c.oom) {
		config_errors_add(l->errs, file, 0, 0, "out of memory");
		l->oom = true;
		c.nerrors++;
	}
	l->nerrors += c.nerrors;
	y_sort_diags(l->errs, from);
	for (size_t i = 0; i < late.n; i++)
		config_errors_add(l->errs, late.diags[i].file, late.diags[i].line,
				  late.diags[i].column, "%s", late.diags[i].message);
	config_errors_clear(&late);
	free(dir);
	ytree_free(&t);
}

static void load_path_at(struct loader *l, const char *path, const struct pos *at);

/* Read the files one file includes, each relative to it, depth first. */
static void follow_includes(struct loader *l, const char *file, struct includes *inc)
{
	struct incframe *top = &l->stack[l->depth - 1];

	for (size_t i = 0; i < inc->n && !l->oom; i++) {
		top->at = inc->at[i];
		if (l->depth > CONFIG_MAX_INCLUDE_DEPTH) {
			config_errors_add(l->errs, file, inc->at[i].line, inc->at[i].column,
					  "include '%s': includes nested deeper than %d files",
					  inc->paths[i], CONFIG_MAX_INCLUDE_DEPTH);
			l->nerrors++;
			continue;
		}
		load_path_at(l, inc->paths[i], &inc->at[i]);
	}
}

/* Was this file read already in this load? Includes read each file once. */
static bool seen_file(struct loader *l, const struct stat *st)
{
	for (size_t i = 0; i < l->nfiles; i++)
		if (l->files[i].dev == st->st_dev && l->files[i].ino == st->st_ino)
			return true;
	return false;
}

/* at: where the including file names it (the top of l->stack), or NULL. */
static void load_file(struct loader *l, const char *path, const struct pos *at)
{
	struct includes inc = { 0 };
	struct incframe *fr;
	struct stat st;
	bool known = stat(path, &st) == 0;
	char *buf;
	size_t len;
	int r;

	if (known) {
		for (size_t k = 0; at && k < l->depth; k++) {
			const struct incframe *o = &l->stack[k], *top = &l->stack[l->depth - 1];

			if (!o->known || o->dev != st.st_dev || o->ino != st.st_ino)
				continue;
			if (k + 1 == l->depth)
				config_errors_add(l->errs, top->file, at->line, at->column,
						  "include cycle: %s:%d:%d includes %s itself",
						  top->file, at->line, at->column, path);
			else
				config_errors_add(
				    l->errs, top->file, at->line, at->column,
				    "include cycle: %s:%d:%d includes %s, which includes %s again "
				    "at %s:%d:%d",
				    o->file, o->at.line, o->at.column, l->stack[k + 1].file,
				    o->file, top->file, at->line, at->column);
			l->nerrors++;
			return;
		}
		if (seen_file(l, &st))
			return;
		if (l->nfiles == CONFIG_MAX_FILES) {
			config_errors_add(l->errs, path, 0, 0,
					  "too many spec files (at most %d, included ones counted)",
					  CONFIG_MAX_FILES);
			l->nerrors++;
			return;
		}
		if (!l->files && !(l->files = calloc(CONFIG_MAX_FILES, sizeof(*l->files)))) {
			l->oom = true;
			return;
		}
		l->files[l->nfiles++] = (struct fileid){ st.st_dev, st.st_ino };
	}
	r = config_read_file(path, &buf, &len, l->errs);
	if (r < 0) {
		l->nerrors++;
		if (!l->io_error)
			l->io_error = r;
		return;
	}
	fr = &l->stack[l->depth++];
	*fr = (struct incframe){ .file = path, .known = known };
	if (known) {
		fr->dev = st.st_dev;
		fr->ino = st.st_ino;
	}
	parse_file_buffer(l, path, buf, len, &inc);
	free(buf);
	follow_includes(l, path, &inc);
	includes_free(&inc);
	l->depth--;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_spec_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".yaml") == 0;
}

static void load_dir(struct loader *l, const char *dir, const struct pos *at)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		int r = -errno;

		config_errors_add(l->errs, dir, 0, 0, "cannot open directory: %s", strerror(-r));
		l->nerrors++;
		if (!l->io_error)
			l->io_error = r;
		return;
	}
	names = calloc(CONFIG_MAX_FILES, sizeof(*names));
	if (!names) {
		closedir(d);
		l->oom = true;
		l->nerrors++;
		return;
	}
	while ((de = readdir(d))) {
		if (!is_spec_name(de->d_name))
			continue;
		if (n == CONFIG_MAX_FILES) {
			config_errors_add(l->errs, dir, 0, 0, "too many *.yaml files (at most %d)",
					  CONFIG_MAX_FILES);
			l->nerrors++;
			break;
		}
		if (asprintf(&names[n], "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
			     de->d_name) < 0) {
			names[n] = NULL;
			l->oom = true;
			l->nerrors++;
			break;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), str_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		/* Only regular files (or links to them); a *.yaml directory is skipped. */
		if (stat(names[i], &st) == 0 && !S_ISREG(st.st_mode)) {
			free(names[i]);
			continue;
		}
		load_file(l, names[i], at);
		free(names[i]);
	}
	free(names);
}

/* A file or a directory; at: where an including file names it, or NULL. */
static void load_path_at(struct loader *l, const char *path, const struct pos *at)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int r = -errno;

		if (at) {
			const struct incframe *top = &l->stack[l->depth - 1];

			config_errors_add(l->errs, top->file, at->line, at->column,
					  "include '%s': %s", path, strerror(-r));
		} else {
			config_errors_add(l->errs, path, 0, 0, "cannot access: %s", strerror(-r));
		}
		l->nerrors++;
		if (!l->io_error)
			l->io_error = r;
		return;
	}
	if (S_ISDIR(st.st_mode))
		load_dir(l, path, at);
	else
		load_file(l, path, at);
}

/*
 * A top-level path, with the .env file beside it (DIR/.env for a directory,
 * the file's directory's .env for a file) giving ${VAR} values.
 */
static void load_path(struct loader *l, const char *path)
{
	struct stat st;
	char *dotenv = NULL, *dir = NULL;
	size_t n;
	int r;

	config_strv_free(l->dotenv);
	l->dotenv = NULL;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		dir = strdup(path);
	else
		dir = spec_dir(path);
	if (!dir || asprintf(&dotenv, "%s/.env", dir) < 0) {
		free(dir);
		l->oom = true;
		return;
	}
	r = config_envfile_load(dotenv, true, &l->dotenv, &n, l->errs);
	if (r == -ENOMEM)
		l->oom = true;
	if (r < 0)
		l->nerrors++;
	free(dotenv);
	free(dir);
	load_path_at(l, path, NULL);
}

static int pservice_cmp(const void *a, const void *b)
{
	const struct pservice *x = a, *y = b;
	int r = strcmp(x->spec->name, y->spec->name);

	if (r)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int find_service(const struct loader *l, const char *name)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name, l->v[mid].spec->name);

		if (r == 0)
			return (int)mid;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

struct dfs {
	struct loader *l;
	int **edges; /* resolved dependency indexes, -1 = unknown or self */
	unsigned char *color;
	size_t *stack;
	size_t depth;
};

/* Report each back edge as one cycle. Recursion depth <= SPEC_MAX_SERVICES. */
static void dfs_visit(struct dfs *d, size_t u)
{
	struct pservice *ps = &d->l->v[u];

	d->color[u] = 1;
	d->stack[d->depth++] = u;
	for (size_t i = 0; i < ps->spec->ndepends_on; i++) {
		int v = d->edges[u][i];

		if (v < 0)
			continue;
		if (d->color[v] == 0) {
			dfs_visit(d, (size_t)v);
		} else if (d->color[v] == 1) {
			char msg[1024];
			size_t o = 0, start = d->depth;

			while (start > 0 && d->stack[start - 1] != (size_t)v)
				start--;
			start--;
			msg[0] = '\0';
			for (size_t j = start; j <= d->depth; j++) {
				const char *nm =
				    d->l->v[j < d->depth ? d->stack[j] : (size_t)v].spec->name;
				int w = snprintf(msg + o, sizeof(msg) - o, "%s%s",
						 j == start ? "" : " -> ", nm);

				if (w < 0 || (size_t)w >= sizeof(msg) - o) {
					snprintf(msg + sizeof(msg) - 5, 5, "...");
					break;
				}
				o += (size_t)w;
			}
			config_errors_add(d->l->errs, ps->spec->file, ps->deppos[i].line,
					  ps->deppos[i].column, "dependency cycle: %s", msg);
			d->l->nerrors++;
		}
	}
	d->depth--;
	d->color[u] = 2;
}

static bool ranges_overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a < b + bn && b < a + an;
}

/*
 * User namespace ranges over the whole set: explicit maps may not overlap
 * each other (two services sharing host uids could reach each other's
 * files), and each 'map: auto' gets its own SPEC_USERNS_AUTO_COUNT-sized
 * slot: the slot a hash of its name picks, or the next free one (in name
 * order), never one that touches an explicit map.
 */
static void assign_user_ranges(struct loader *l)
{
	static const uint64_t base = SPEC_USERNS_AUTO_BASE, size = SPEC_USERNS_AUTO_COUNT;
	unsigned char *taken = NULL;

	for (size_t i = 0; i < l->n; i++) {
		const struct service_spec *s = l->v[i].spec;

		if (!(s->isolation.namespaces & SPEC_NS_USER) || s->isolation.user_auto)
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct service_spec *o = l->v[j].spec;

			if (!(o->isolation.namespaces & SPEC_NS_USER) || o->isolation.user_auto ||
			    !ranges_overlap(s->isolation.user_host, s->isolation.user_count,
					    o->isolation.user_host, o->isolation.user_count))
				continue;
			config_errors_add(
			    l->errs, s->file, s->isolation.user_line, s->isolation.user_column,
			    "isolation.user.map: host range %u..%u overlaps the one of "
			    "service '%s' (%s:%d:%d)",
			    s->isolation.user_host,
			    s->isolation.user_host + (s->isolation.user_count - 1), o->name,
			    o->file, o->isolation.user_line, o->isolation.user_column);
			l->nerrors++;
			break;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		struct service_spec *s = l->v[i].spec;
		uint32_t h = 2166136261u, k;
		size_t tries;

		if (!s->isolation.user_auto)
			continue;
		if (!taken && !(taken = calloc(SPEC_USERNS_AUTO_SLOTS / 8, 1))) {
			l->oom = true;
			return;
		}
		for (const char *c = s->name; *c; c++)
			h = (h ^ (unsigned char)*c) * 16777619u; /* FNV-1a */
		k = h % SPEC_USERNS_AUTO_SLOTS;
		for (tries = 0; tries < SPEC_USERNS_AUTO_SLOTS;
		     tries++, k = (k + 1) % SPEC_USERNS_AUTO_SLOTS) {
			bool clash = taken[k / 8] & (1u << (k % 8));

			for (size_t j = 0; !clash && j < l->n; j++) {
				const struct service_spec *o = l->v[j].spec;

				clash =
				    (o->isolation.namespaces & SPEC_NS_USER) &&
				    !o->isolation.user_auto &&
				    ranges_overlap(base + size * k, size, o->isolation.user_host,
						   o->isolation.user_count);
			}
			if (!clash)
				break;
		}
		if (tries == SPEC_USERNS_AUTO_SLOTS) {
			config_errors_add(l->errs, s->file, s->isolation.user_line,
					  s->isolation.user_column,
					  "isolation.user.map: auto: no free range left");
			l->nerrors++;
			continue;
		}
		taken[k / 8] |= (unsigned char)(1u << (k % 8));
		s->isolation.user_host = (uint32_t)(base + size * k);
		s->isolation.user_count = (uint32_t)size;
	}
	free(taken);
}

/* The instances of template name: [*lo, *hi) of the sorted set, maybe empty. */
static void instance_range(const struct loader *l, const char *name, size_t *lo, size_t *hi)
{
	size_t len = strlen(name), a = 0, b = l->n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		const char *m = l->v[mid].spec->name;
		int r = strncmp(m, name, len);

		if (r < 0 || (r == 0 && m[len] < '@'))
			a = mid + 1;
		else
			b = mid;
	}
	*lo = *hi = a;
	while (*hi < l->n && strncmp(l->v[*hi].spec->name, name, len) == 0 &&
	       l->v[*hi].spec->name[len] == '@')
		(*hi)++;
}

static bool is_template_dep(const struct loader *l, const char *dep, size_t lo, size_t hi)
{
	return lo < hi && !strchr(dep, '@') && find_service(l, dep) < 0;
}

/* Append name (and its conditions) to a depends_on list unless it is there already. */
static void dep_add(struct loader *l, char **deps, struct spec_dep *conds, struct pos *pos,
		    size_t *n, const char *name, struct spec_dep cond, struct pos at)
{
	for (size_t m = 0; m < *n; m++)
		if (strcmp(deps[m], name) == 0)
			return;
	if (!(deps[*n] = strdup(name))) {
		l->oom = true;
		return;
	}
	conds[*n] = cond;
	pos[(*n)++] = at;
}

/*
 * depends_on a template ("web" when the set has web@1, web@2...) means every
 * instance of it. Also: a service may not take a template's name.
 */
static void expand_template_deps(struct loader *l)
{
	for (size_t i = 0; i < l->n && !l->oom; i++) {
		struct service_spec *s = l->v[i].spec;
		size_t lo, hi, total = 0, n = 0;
		char **deps;
		struct spec_dep *conds;
		struct pos *pos;

		if (!strchr(s->name, '@')) {
			instance_range(l, s->name, &lo, &hi);
			if (lo < hi) {
				const struct service_spec *o = l->v[lo].spec;

				config_errors_add(l->errs, s->file, s->line, s->column,
						  "service '%s' has the name of the template of "
						  "'%s' (%s:%d:%d): rename one of them",
						  s->name, o->name, o->file, o->line, o->column);
				l->nerrors++;
			}
		}
		for (size_t j = 0; j < s->ndepends_on; j++) {
			instance_range(l, s->depends_on[j], &lo, &hi);
			total += is_template_dep(l, s->depends_on[j], lo, hi) ? hi - lo : 1;
		}
		if (total == s->ndepends_on)
			continue;
		deps = calloc(total + 1, sizeof(*deps));
		conds = calloc(total, sizeof(*conds));
		pos = calloc(total, sizeof(*pos));
		if (!deps || !conds || !pos) {
			free(deps);
			free(conds);
			free(pos);
			l->oom = true;
			return;
		}
		for (size_t j = 0; j < s->ndepends_on && !l->oom; j++) {
			const char *dep = s->depends_on[j];

			instance_range(l, dep, &lo, &hi);
			if (is_template_dep(l, dep, lo, hi)) {
				for (size_t k = lo; k < hi; k++)
					dep_add(l, deps, conds, pos, &n, l->v[k].spec->name,
						s->deps[j], l->v[i].deppos[j]);
			} else {
				dep_add(l, deps, conds, pos, &n, dep, s->deps[j],
					l->v[i].deppos[j]);
			}
		}
		config_strv_free(s->depends_on);
		free(s->deps);
		free(l->v[i].deppos);
		s->depends_on = deps;
		s->deps = conds;
		s->ndepends_on = n;
		l->v[i].deppos = pos;
	}
}

/* Duplicate names, depends_on targets and cycles, over the whole set. */
static void cross_file_checks(struct loader *l)
{
	struct dfs d = { .l = l };
	bool reported = false; /* the last duplicate: file (seq) and position */
	size_t rep_seq = 0;
	struct pos rep = { 0, 0 };
	const char **names = NULL;
	size_t w = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), pservice_cmp);
	for (size_t i = 0; i < l->n; i++) {
		if (w > 0 && strcmp(l->v[w - 1].spec->name, l->v[i].spec->name) == 0) {
			const struct service_spec *first = l->v[w - 1].spec, *s = l->v[i].spec;
			bool tmpl = s->template_name && first->template_name;

			/* Two templates clash in every instance: say it once, by template. */
			if (!tmpl || !reported || rep_seq != l->v[i].seq || rep.line != s->line ||
			    rep.column != s->column) {
				config_errors_add(
				    l->errs, s->file, s->line, s->column,
				    "duplicate service '%s' (first defined at %s:%d:%d)",
				    tmpl ? s->template_name : s->name, first->file, first->line,
				    first->column);
				l->nerrors++;
			}
			reported = true;
			rep_seq = l->v[i].seq;
			rep = (struct pos){ s->line, s->column };
			service_spec_free(l->v[i].spec);
			free(l->v[i].deppos);
			continue;
		}
		l->v[w++] = l->v[i];
	}
	l->n = w;
	assign_user_ranges(l);
	expand_template_deps(l);
	if (l->oom)
		return;

	d.edges = calloc(l->n, sizeof(*d.edges));
	d.color = calloc(l->n, 1);
	d.stack = calloc(l->n + 1, sizeof(*d.stack));
	if (!d.edges || !d.color || !d.stack) {
		l->oom = true;
		goto out;
	}
	names = calloc(l->n, sizeof(*names));
	for (size_t k = 0; names && k < l->n; k++)
		names[k] = l->v[k].spec->name;
	for (size_t i = 0; i < l->n; i++) {
		const struct service_spec *s = l->v[i].spec;

		d.edges[i] = calloc(s->ndepends_on + 1, sizeof(**d.edges));
		if (!d.edges[i]) {
			l->oom = true;
			goto out;
		}
		for (size_t j = 0; j < s->ndepends_on; j++) {
			const char *dep = s->depends_on[j];
			const struct pos *ps = &l->v[i].deppos[j];
			int idx = find_service(l, dep);

			d.edges[i][j] = -1;
			if (strcmp(dep, s->name) == 0) {
				config_errors_add(l->errs, s->file, ps->line, ps->column,
						  "service '%s' depends on itself", s->name);
				l->nerrors++;
			} else if (idx < 0) {
				const char *dym = NULL;

				/* Hints cost O(services); skip them once nothing more is kept. */
				if (names && l->errs->n < CONFIG_MAX_ERRORS)
					dym = config_did_you_mean(dep, (const char *const *)names,
								  l->n);
				if (dym)
					config_errors_add(
					    l->errs, s->file, ps->line, ps->column,
					    "depends_on: unknown service '%s' (did you "
					    "mean '%s'?)",
					    dep, dym);
				else
					config_errors_add(l->errs, s->file, ps->line, ps->column,
							  "depends_on: unknown service '%s'", dep);
				l->nerrors++;
			} else {
				d.edges[i][j] = idx;
			}
		}
	}
	for (size_t i = 0; i < l->n; i++)
		if (d.color[i] == 0)
			dfs_visit(&d, i);
out:
	free(names);
	for (size_t i = 0; d.edges && i < l->n; i++)
		free(d.edges[i]);
	free(d.edges);
	free(d.color);
	free(d.stack);
}

/* Turn the loader into a set (on success) and free what is left. */
static int finish(struct loader *l, struct spec_set **out)
{
	struct spec_set *set = NULL;
	int r = 0;

	if (!l->oom)
		cross_file_checks(l);
	if (l->oom) {
		config_errors_add(l->errs, NULL, 0, 0, "out of memory");
		r = -ENOMEM;
	} else if (l->nerrors > 0) {
		r = l->io_error ? l->io_error : -EINVAL;
	} else {
		set = calloc(1, sizeof(*set));
		if (set)
			set->services = calloc(l->n ? l->n : 1, sizeof(*set->services));
		if (!set || !set->services) {
			free(set);
			set = NULL;
			config_errors_add(l->errs, NULL, 0, 0, "out of memory");
			r = -ENOMEM;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		if (set)
			set->services[set->nservices++] = l->v[i].spec;
		else
			service_spec_free(l->v[i].spec);
		free(l->v[i].deppos);
	}
	free(l->v);
	free(l->files);
	config_strv_free(l->dotenv);
	*out = set;
	return r;
}

int config_load_spec_paths(char *const *paths, size_t npaths, const struct config_host *host,
			   struct spec_set **out, struct config_errors *errs)
{
	struct config_errors local = { 0 };
	struct loader l = { .host = host, .errs = errs ? errs : &local };
	int r;

	*out = NULL;
	for (size_t i = 0; i < npaths; i++)
		load_path(&l, paths[i]);
	r = finish(&l, out);
	config_errors_clear(&local);
	return r;
}

int config_load_specs(const char *path, const struct config_host *host, struct spec_set **out,
		      struct config_errors *errs)
{
	char *paths[] = { (char *)path };

	return config_load_spec_paths(paths, 1, host, out, errs);
}

int config_parse_specs_buffer(const char *name, const char *buf, size_t len,
			      const struct config_host *host, struct spec_set **out,
			      struct config_errors *errs)
{
	struct config_errors local = { 0 };
	struct loader l = { .host = host, .errs = errs ? errs : &local, .literal = true };
	struct includes inc = { 0 };
	int r;

	*out = NULL;
	l.stack[l.depth++] = (struct incframe){ .file = name ? name : "-" };
	parse_file_buffer(&l, name ? name : "-", buf, len, &inc);
	l.literal = false; /* files it includes are files */
	follow_includes(&l, name ? name : "-", &inc);
	includes_free(&inc);
	r = finish(&l, out);
	config_errors_clear(&local);
	return r;
}
