/*
 * seccomp-profile.c - OCI (runc/docker) JSON seccomp profiles into a
 * libseccomp filter. See seccomp-profile.h. Every error names the JSON
 * path of the offending value; nothing is ignored silently but system
 * call names this machine's architectures do not have (as runc).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "seccomp-profile.h"

/* A rule with several conditions, as libseccomp orders them (by argument). */
struct chain {
	int nr;
	unsigned n;
	bool joins; /* a test before the last joins two paths (see check_chain) */
	struct scmp_arg_cmp c[6];
	char path[48];
};

struct pctx {
	scmp_filter_ctx ctx;
	uint64_t caps;
	uint32_t default_action;
	struct error *err;
	struct chain *chains;
	size_t nchains;
};

static int __attribute__((format(printf, 3, 4)))
perr(struct pctx *p, const char *path, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path && *path)
		return error_set(p->err, EINVAL, "%s: %s", path, msg);
	return error_set(p->err, EINVAL, "%s", msg);
}

static const char *type_name(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a fraction";
	case json_type_int:
		return "a number";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "?";
}

static int want(struct pctx *p, json_object *o, json_type t, const char *path, const char *what)
{
	if (json_object_is_type(o, t))
		return 0;
	return perr(p, path, "must be %s, not %s", what, type_name(o));
}

/* Every key of obj must be in keys (NULL-terminated). */
static int check_keys(struct pctx *p, json_object *obj, const char *path, const char *const *keys)
{
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		bool ok = false;
		for (size_t i = 0; keys[i] && !ok; i++)
			ok = strcmp(key, keys[i]) == 0;
		if (!ok) {
			char kpath[384];
			snprintf(kpath, sizeof(kpath), "%s%s%s", path, *path ? "." : "", key);
			if (strcmp(key, "listenerPath") == 0 ||
			    strcmp(key, "listenerMetadata") == 0)
				return perr(p, kpath, "seccomp notify listeners are not supported");
			return perr(p, kpath, "unknown key");
		}
	}
	return 0;
}

/* A whole number 0..max. */
static int get_uint(struct pctx *p, json_object *o, const char *path, uint64_t max, uint64_t *out)
{
	if (want(p, o, json_type_int, path, "a whole number") < 0)
		return -EINVAL;
	if (json_object_get_int64(o) < 0)
		return perr(p, path, "must not be negative");
	uint64_t v = json_object_get_uint64(o);
	if (v > max)
		return perr(p, path, "must be at most %llu", (unsigned long long)max);
	*out = v;
	return 0;
}

/* "SCMP_ACT_ERRNO" and errnoRet (may be NULL) -> libseccomp action. */
static int parse_action(struct pctx *p, json_object *o, const char *path, json_object *errno_ret,
			const char *errno_path, uint32_t *out)
{
	uint64_t ret = EPERM;
	const char *s;

	if (want(p, o, json_type_string, path, "a string") < 0)
		return -EINVAL;
	s = json_object_get_string(o);
	if (errno_ret && get_uint(p, errno_ret, errno_path, 4095, &ret) < 0)
		return -EINVAL;
	if (strcmp(s, "SCMP_ACT_ALLOW") == 0)
		*out = SCMP_ACT_ALLOW;
	else if (strcmp(s, "SCMP_ACT_ERRNO") == 0)
		*out = SCMP_ACT_ERRNO((uint32_t)ret);
	else if (strcmp(s, "SCMP_ACT_KILL") == 0 || strcmp(s, "SCMP_ACT_KILL_THREAD") == 0)
		*out = SCMP_ACT_KILL_THREAD;
	else if (strcmp(s, "SCMP_ACT_KILL_PROCESS") == 0)
		*out = SCMP_ACT_KILL_PROCESS;
	else if (strcmp(s, "SCMP_ACT_TRAP") == 0)
		*out = SCMP_ACT_TRAP;
	else if (strcmp(s, "SCMP_ACT_TRACE") == 0)
		*out = SCMP_ACT_TRACE((uint32_t)ret);
	else if (strcmp(s, "SCMP_ACT_LOG") == 0)
		*out = SCMP_ACT_LOG;
	else if (strcmp(s, "SCMP_ACT_NOTIFY") == 0)
		return perr(p, path, "SCMP_ACT_NOTIFY is not supported");
	else
		return perr(
		    p, path,
		    "unknown action '%.64s' (SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, "
		    "SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, "
		    "SCMP_ACT_TRACE or SCMP_ACT_LOG)",
		    s);
	return 0;
}

/* "SCMP_ARCH_X86_64" -> SCMP_ARCH_X86_64 token, 0 if unknown. */
static uint32_t arch_token(const char *s)
{
	char low[32];
	size_t i;

	if (strncmp(s, "SCMP_ARCH_", 10) != 0)
		return 0;
	s += 10;
	for (i = 0; s[i] && i < sizeof(low) - 1; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[i] = '\0';
	if (s[i] || !low[0])
		return 0;
	return seccomp_arch_resolve_name(low);
}

static int add_arch(struct pctx *p, json_object *o, const char *path)
{
	uint32_t tok;
	int r;

	if (want(p, o, json_type_string, path, "a string") < 0)
		return -EINVAL;
	if (!(tok = arch_token(json_object_get_string(o))))
		return perr(p, path, "unknown architecture '%.64s'", json_object_get_string(o));
	if ((r = seccomp_arch_add(p->ctx, tok)) < 0 && r != -EEXIST)
		return perr(p, path, "cannot add architecture '%.64s': %s",
			    json_object_get_string(o), strerror(-r));
	return 0;
}

static int parse_arches(struct pctx *p, json_object *arr, const char *path)
{
	char ipath[256];

	if (want(p, arr, json_type_array, path, "an array") < 0)
		return -EINVAL;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (add_arch(p, json_object_array_get_idx(arr, i), ipath) < 0)
			return -EINVAL;
	}
	return 0;
}

/* docker's archMap: the entry for the native architecture and its sub-architectures. */
static int parse_arch_map(struct pctx *p, json_object *arr)
{
	static const char *const keys[] = { "architecture", "subArchitectures", NULL };
	uint32_t native = seccomp_arch_native();
	char path[64], sub[256];

	if (want(p, arr, json_type_array, "archMap", "an array") < 0)
		return -EINVAL;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i), *a, *subs = NULL;

		snprintf(path, sizeof(path), "archMap[%zu]", i);
		if (want(p, e, json_type_object, path, "an object") < 0 ||
		    check_keys(p, e, path, keys) < 0)
			return -EINVAL;
		snprintf(sub, sizeof(sub), "%s.architecture", path);
		if (!json_object_object_get_ex(e, "architecture", &a))
			return perr(p, path, "'architecture' is missing");
		if (want(p, a, json_type_string, sub, "a string") < 0)
			return -EINVAL;
		uint32_t tok = arch_token(json_object_get_string(a));
		if (!tok)
			return perr(p, sub, "unknown architecture '%.64s'",
				    json_object_get_string(a));
		if (json_object_object_get_ex(e, "subArchitectures", &subs) && subs) {
			snprintf(sub, sizeof(sub), "%s.subArchitectures", path);
			if (want(p, subs, json_type_array, sub, "an array") < 0)
				return -EINVAL;
			for (size_t j = 0; j < json_object_array_length(subs); j++) {
				json_object *s = json_object_array_get_idx(subs, j);
				char spath[256];
				snprintf(spath, sizeof(spath), "%s.subArchitectures[%zu]", path, j);
				if (want(p, s, json_type_string, spath, "a string") < 0)
					return -EINVAL;
				if (!arch_token(json_object_get_string(s)))
					return perr(p, spath, "unknown architecture '%.64s'",
						    json_object_get_string(s));
			}
		}
		if (tok != native)
			continue;
		for (size_t j = 0; subs && j < json_object_array_length(subs); j++) {
			char spath[256];
			snprintf(spath, sizeof(spath), "%s.subArchitectures[%zu]", path, j);
			if (add_arch(p, json_object_array_get_idx(subs, j), spath) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

static bool native_arch_is(const char *name)
{
	uint32_t native = seccomp_arch_native();

	/* docker writes Go's names (amd64, arm64), libseccomp its own. */
	if (native == SCMP_ARCH_X86_64 &&
	    (strcmp(name, "amd64") == 0 || strcmp(name, "x86_64") == 0))
		return true;
	if (native == SCMP_ARCH_AARCH64 &&
	    (strcmp(name, "arm64") == 0 || strcmp(name, "aarch64") == 0))
		return true;
	return seccomp_arch_resolve_name(name) == native;
}

/* "4.8" <= the running kernel? */
static bool kernel_at_least(unsigned major, unsigned minor)
{
	struct utsname u;
	unsigned kmaj = 0, kmin = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &kmaj, &kmin) != 2)
		return true;
	return kmaj > major || (kmaj == major && kmin >= minor);
}

/*
 * includes / excludes: {caps: [...], arches: [...], minKernel: "4.8"}.
 * *match: includes = all conditions hold; excludes = any holds.
 */
static int parse_filter(struct pctx *p, json_object *o, const char *path, bool includes,
			bool *match)
{
	static const char *const keys[] = { "caps", "arches", "minKernel", NULL };
	json_object *v;
	char sub[192], ipath[256];
	bool all = true, any = false;

	if (want(p, o, json_type_object, path, "an object") < 0 || check_keys(p, o, path, keys) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(o, "caps", &v) && v) {
		snprintf(sub, sizeof(sub), "%s.caps", path);
		if (want(p, v, json_type_array, sub, "an array") < 0)
			return -EINVAL;
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *c = json_object_array_get_idx(v, i);
			cap_value_t cap;

			snprintf(ipath, sizeof(ipath), "%s[%zu]", sub, i);
			if (want(p, c, json_type_string, ipath, "a string") < 0)
				return -EINVAL;
			if (cap_from_name(json_object_get_string(c), &cap) < 0 || cap < 0 ||
			    cap > 63)
				return perr(p, ipath, "unknown capability '%.64s'",
					    json_object_get_string(c));
			bool held = p->caps & (1ULL << cap);
			all = all && held;
			any = any || held;
		}
	}
	if (json_object_object_get_ex(o, "arches", &v) && v) {
		bool in = false;

		snprintf(sub, sizeof(sub), "%s.arches", path);
		if (want(p, v, json_type_array, sub, "an array") < 0)
			return -EINVAL;
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *a = json_object_array_get_idx(v, i);

			snprintf(ipath, sizeof(ipath), "%s[%zu]", sub, i);
			if (want(p, a, json_type_string, ipath, "a string") < 0)
				return -EINVAL;
			in = in || native_arch_is(json_object_get_string(a));
		}
		if (json_object_array_length(v) > 0) {
			all = all && in;
			any = any || in;
		}
	}
	if (json_object_object_get_ex(o, "minKernel", &v) && v) {
		unsigned maj, min;
		char tail;

		snprintf(sub, sizeof(sub), "%s.minKernel", path);
		if (want(p, v, json_type_string, sub, "a string") < 0)
			return -EINVAL;
		if (sscanf(json_object_get_string(v), "%u.%u%c", &maj, &min, &tail) != 2)
			return perr(p, sub, "'%.32s' is not a kernel version like 4.8",
				    json_object_get_string(v));
		bool ok = kernel_at_least(maj, min);
		all = all && ok;
		any = any || ok;
	}
	*match = includes ? all : any;
	return 0;
}

static int parse_arg(struct pctx *p, json_object *o, const char *path, struct scmp_arg_cmp *cmp)
{
	static const char *const keys[] = { "index", "value", "valueTwo", "op", NULL };
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE },
		{ "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE },
		{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE },
		{ "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};
	json_object *v;
	char sub[320];
	uint64_t u;

	if (want(p, o, json_type_object, path, "an object") < 0 || check_keys(p, o, path, keys) < 0)
		return -EINVAL;
	memset(cmp, 0, sizeof(*cmp));
	snprintf(sub, sizeof(sub), "%s.index", path);
	if (!json_object_object_get_ex(o, "index", &v))
		return perr(p, path, "'index' is missing");
	if (get_uint(p, v, sub, 5, &u) < 0)
		return -EINVAL;
	cmp->arg = (unsigned)u;
	u = 0;
	snprintf(sub, sizeof(sub), "%s.value", path);
	if (json_object_object_get_ex(o, "value", &v) && get_uint(p, v, sub, UINT64_MAX, &u) < 0)
		return -EINVAL;
	cmp->datum_a = u;
	u = 0;
	snprintf(sub, sizeof(sub), "%s.valueTwo", path);
	if (json_object_object_get_ex(o, "valueTwo", &v) && get_uint(p, v, sub, UINT64_MAX, &u) < 0)
		return -EINVAL;
	cmp->datum_b = u;
	snprintf(sub, sizeof(sub), "%s.op", path);
	if (!json_object_object_get_ex(o, "op", &v))
		return perr(p, path, "'op' is missing");
	if (want(p, v, json_type_string, sub, "a string") < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(json_object_get_string(v), ops[i].name) == 0) {
			cmp->op = ops[i].op;
			return 0;
		}
	return perr(p, sub,
		    "unknown operator '%.64s' (SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT or _MASKED_EQ)",
		    json_object_get_string(v));
}

/*
 * libseccomp 2.5 (Debian 12's 2.5.4) builds a 64-bit NE, LT, LE, GE or GT
 * test as two paths that join again on the rule's next test. Merging a
 * second rule for the same call into such a joined node visits it twice,
 * links the new node into one list twice and loops for ever: "kill" with
 * [A0 LE 1, A1 GE 9] beside [A0 LE 1, A2 GE 9] is enough. Rules only meet
 * where their first tests are on the same argument, so a rule with a join
 * (a test other than EQ or MASKED_EQ before its last) may not share its
 * first argument with another rule of several tests for the same call.
 * The check is wider than the bug, never narrower: the fuzzer found the
 * bug in shapes a narrower one missed.
 */
static int cmp_by_arg(const void *a, const void *b)
{
	const struct scmp_arg_cmp *x = a, *y = b;

	return (x->arg > y->arg) - (x->arg < y->arg);
}

static int check_chain(struct pctx *p, const char *path, const char *name, int nr,
		       const struct scmp_arg_cmp *cmps, unsigned ncmp)
{
	struct chain c = { .nr = nr };

	/* A mask of 0 tests nothing: libseccomp leaves it out of the chain. */
	for (unsigned i = 0; i < ncmp; i++)
		if (!(cmps[i].op == SCMP_CMP_MASKED_EQ && cmps[i].datum_a == 0))
			c.c[c.n++] = cmps[i];
	if (c.n < 2)
		return 0;
	qsort(c.c, c.n, sizeof(c.c[0]), cmp_by_arg);
	for (unsigned i = 0; i + 1 < c.n; i++)
		c.joins = c.joins || (c.c[i].op != SCMP_CMP_EQ && c.c[i].op != SCMP_CMP_MASKED_EQ);
	for (size_t i = 0; i < p->nchains; i++) {
		const struct chain *o = &p->chains[i];

		if (o->nr == nr && o->c[0].arg == c.c[0].arg && (o->joins || c.joins))
			return perr(
			    p, path,
			    "'%.32s' tests argument %u first, as the rule at %s does, and "
			    "%s a NE, LT, LE, GE or GT test before its last: libseccomp 2.5 "
			    "can loop for ever merging the two (make that test EQ or "
			    "MASKED_EQ, or make them one rule)",
			    name, c.c[0].arg, o->path, c.joins ? "this one has" : "that one has");
	}
	if (p->nchains == SECCOMP_PROFILE_MAX_CHAINS)
		return perr(p, path, "more than %d rules with several argument tests",
			    SECCOMP_PROFILE_MAX_CHAINS);
	if (p->nchains % 64 == 0) {
		struct chain *n = realloc(p->chains, (p->nchains + 64) * sizeof(*n));
		if (!n)
			return error_set(p->err, ENOMEM, "out of memory");
		p->chains = n;
	}
	snprintf(c.path, sizeof(c.path), "%s", path);
	p->chains[p->nchains++] = c;
	return 0;
}

/* One rule for name; -EDOM/-EOPNOTSUPP (not on these architectures) are skipped. */
static int add_rule(struct pctx *p, const char *path, const char *name, uint32_t action,
		    const struct scmp_arg_cmp *cmps, unsigned ncmp, bool split)
{
	int nr = seccomp_syscall_resolve_name(name);
	int r = 0;

	if (nr == __NR_SCMP_ERROR)
		return perr(p, path, "unknown system call '%.64s'", name);
	if (action == p->default_action)
		return 0; /* what the filter does anyway; libseccomp refuses it */
	if (!split) {
		if (check_chain(p, path, name, nr, cmps, ncmp) < 0)
			return -EINVAL;
		r = seccomp_rule_add_array(p->ctx, action, nr, ncmp, cmps);
	} else {
		/* Several conditions on one argument: one rule each (OR), as runc. */
		for (unsigned i = 0; i < ncmp && r >= 0; i++)
			r = seccomp_rule_add_array(p->ctx, action, nr, 1, &cmps[i]);
	}
	if (r == -EDOM || r == -EOPNOTSUPP)
		return 0;
	if (r < 0)
		return perr(p, path, "cannot add a rule for '%.64s': %s", name, strerror(-r));
	return 0;
}

static int parse_syscall(struct pctx *p, json_object *o, const char *path)
{
	static const char *const keys[] = { "names",   "name",	   "action",   "errnoRet", "args",
					    "comment", "includes", "excludes", NULL };
	json_object *v, *names = NULL, *name = NULL, *errno_ret = NULL;
	struct scmp_arg_cmp cmps[6];
	unsigned ncmp = 0, seen = 0;
	bool split = false, match;
	uint32_t action;
	char sub[128], ipath[256];

	if (want(p, o, json_type_object, path, "an object") < 0 || check_keys(p, o, path, keys) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(o, "comment", &v) && v) {
		snprintf(sub, sizeof(sub), "%s.comment", path);
		if (want(p, v, json_type_string, sub, "a string") < 0)
			return -EINVAL;
	}
	snprintf(sub, sizeof(sub), "%s.action", path);
	if (!json_object_object_get_ex(o, "action", &v))
		return perr(p, path, "'action' is missing");
	json_object_object_get_ex(o, "errnoRet", &errno_ret);
	snprintf(ipath, sizeof(ipath), "%s.errnoRet", path);
	if (parse_action(p, v, sub, errno_ret, ipath, &action) < 0)
		return -EINVAL;

	if (json_object_object_get_ex(o, "args", &v) && v) {
		snprintf(sub, sizeof(sub), "%s.args", path);
		if (want(p, v, json_type_array, sub, "an array") < 0)
			return -EINVAL;
		if (json_object_array_length(v) > 6)
			return perr(p, sub, "at most 6 conditions");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			snprintf(ipath, sizeof(ipath), "%s[%zu]", sub, i);
			if (parse_arg(p, json_object_array_get_idx(v, i), ipath, &cmps[ncmp]) < 0)
				return -EINVAL;
			if (seen & (1u << cmps[ncmp].arg))
				split = true;
			seen |= 1u << cmps[ncmp].arg;
			ncmp++;
		}
	}

	/* Parse both filters fully (errors count even when the rule is skipped). */
	bool skip = false;
	if (json_object_object_get_ex(o, "includes", &v) && v) {
		snprintf(sub, sizeof(sub), "%s.includes", path);
		if (parse_filter(p, v, sub, true, &match) < 0)
			return -EINVAL;
		skip = skip || !match;
	}
	if (json_object_object_get_ex(o, "excludes", &v) && v) {
		snprintf(sub, sizeof(sub), "%s.excludes", path);
		if (parse_filter(p, v, sub, false, &match) < 0)
			return -EINVAL;
		skip = skip || match;
	}

	json_object_object_get_ex(o, "names", &names);
	json_object_object_get_ex(o, "name", &name);
	if (!names && !name)
		return perr(p, path, "'names' is missing");
	if (name) {
		snprintf(sub, sizeof(sub), "%s.name", path);
		if (want(p, name, json_type_string, sub, "a string") < 0)
			return -EINVAL;
		if (!skip &&
		    add_rule(p, sub, json_object_get_string(name), action, cmps, ncmp, split) < 0)
			return -EINVAL;
	}
	if (names) {
		snprintf(sub, sizeof(sub), "%s.names", path);
		if (want(p, names, json_type_array, sub, "an array") < 0)
			return -EINVAL;
		if (json_object_array_length(names) > SECCOMP_PROFILE_MAX_NAMES)
			return perr(p, sub, "more than %d names", SECCOMP_PROFILE_MAX_NAMES);
		for (size_t i = 0; i < json_object_array_length(names); i++) {
			json_object *n = json_object_array_get_idx(names, i);

			snprintf(ipath, sizeof(ipath), "%s[%zu]", sub, i);
			if (want(p, n, json_type_string, ipath, "a string") < 0)
				return -EINVAL;
			if (skip) {
				if (seccomp_syscall_resolve_name(json_object_get_string(n)) ==
				    __NR_SCMP_ERROR)
					return perr(p, ipath, "unknown system call '%.64s'",
						    json_object_get_string(n));
				continue;
			}
			if (add_rule(p, ipath, json_object_get_string(n), action, cmps, ncmp,
				     split) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

static int parse_profile(struct pctx *p, json_object *root)
{
	static const char *const keys[] = { "defaultAction",
					    "defaultErrnoRet",
					    "architectures",
					    "archMap",
					    "syscalls",
					    "flags",
					    NULL };
	json_object *v, *errno_ret = NULL;
	char path[64];

	if (want(p, root, json_type_object, "", "a JSON object") < 0 ||
	    check_keys(p, root, "", keys) < 0)
		return -EINVAL;
	if (!json_object_object_get_ex(root, "defaultAction", &v))
		return perr(p, NULL, "'defaultAction' is missing");
	json_object_object_get_ex(root, "defaultErrnoRet", &errno_ret);
	if (parse_action(p, v, "defaultAction", errno_ret, "defaultErrnoRet", &p->default_action) <
	    0)
		return -EINVAL;
	if (!(p->ctx = seccomp_init(p->default_action)))
		return perr(p, NULL, "cannot create a filter");
	/* A binary tree, not a chain of every rule (see harden.c). */
	(void)seccomp_attr_set(p->ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (json_object_object_get_ex(root, "flags", &v) && v) {
		if (want(p, v, json_type_array, "flags", "an array") < 0)
			return -EINVAL;
		if (json_object_array_length(v) > 0)
			return perr(p, "flags", "filter flags are not supported");
	}
	if (json_object_object_get_ex(root, "architectures", &v) && v &&
	    parse_arches(p, v, "architectures") < 0)
		return -EINVAL;
	if (json_object_object_get_ex(root, "archMap", &v) && v && parse_arch_map(p, v) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(root, "syscalls", &v) && v) {
		if (want(p, v, json_type_array, "syscalls", "an array") < 0)
			return -EINVAL;
		if (json_object_array_length(v) > SECCOMP_PROFILE_MAX_RULES)
			return perr(p, "syscalls", "more than %d entries",
				    SECCOMP_PROFILE_MAX_RULES);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			snprintf(path, sizeof(path), "syscalls[%zu]", i);
			if (parse_syscall(p, json_object_array_get_idx(v, i), path) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

int seccomp_profile_parse(const char *buf, size_t len, uint64_t caps, scmp_filter_ctx *out,
			  struct error *err)
{
	struct pctx p = { .caps = caps, .err = err };
	struct json_tokener *tok;
	json_object *root;
	int r;

	*out = NULL;
	if (err)
		*err = (struct error){ 0 };
	if (len > SECCOMP_PROFILE_MAX_SIZE)
		return error_set(err, E2BIG, "profile is %zu bytes, over the limit of %d", len,
				 SECCOMP_PROFILE_MAX_SIZE);
	if (memchr(buf, '\0', len))
		return perr(&p, NULL, "not JSON: contains a NUL byte");
	if (!(tok = json_tokener_new_ex(SECCOMP_PROFILE_MAX_DEPTH)))
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root || jerr != json_tokener_success) {
		json_object_put(root);
		return perr(&p, NULL, "not JSON: %s",
			    jerr == json_tokener_continue ? "unexpected end of input"
							  : json_tokener_error_desc(jerr));
	}
	for (; end < len; end++)
		if (!isspace((unsigned char)buf[end])) {
			json_object_put(root);
			return perr(&p, NULL, "not JSON: trailing data at byte %zu", end);
		}
	r = parse_profile(&p, root);
	json_object_put(root);
	free(p.chains);
	if (r < 0) {
		if (p.ctx)
			seccomp_release(p.ctx);
		return r;
	}
	*out = p.ctx;
	return 0;
}

int seccomp_profile_read(const char *path, char **out, size_t *len, struct error *err)
{
	struct stat st;
	char *buf;
	int fd, r;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return error_set(err, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = errno;
		close(fd);
		return error_set(err, r, "%s: %s", path, strerror(r));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return error_set(err, EINVAL, "%s: not a regular file", path);
	}
	if (st.st_size > SECCOMP_PROFILE_MAX_SIZE) {
		close(fd);
		return error_set(err, E2BIG, "%s: %lld bytes, over the limit of %d", path,
				 (long long)st.st_size, SECCOMP_PROFILE_MAX_SIZE);
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
}
