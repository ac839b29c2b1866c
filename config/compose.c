/*
 * compose.c - docker-compose files to paddock specs.
 *
 * The compose file is read with ytree_parse, so every warning names the
 * compose file's LINE:COLUMN. Each service becomes one `services:` entry,
 * written as block-style YAML text by hand: strings are left plain only
 * when they cannot read back as anything else, otherwise double-quoted.
 *
 * Choices (see paddockctl(1), CONVERT):
 * - string forms of command/entrypoint are split into words as compose
 *   does (shell quoting rules, no expansion);
 * - a service without networks joins paddock's `default` network, as a
 *   compose service joins its project's default network;
 * - without `restart` the policy is `never` (compose's default "no");
 * - image names without a registry get docker.io/ (and library/);
 * - healthcheck becomes health with on_unhealthy: none (compose marks a
 *   container unhealthy, it does not restart it), and no ready: probe;
 * - deploy.replicas (or scale) N >= 2 becomes instances: N, without ports.
 * Values are copied as written: ${VAR} stays for paddock's own
 * interpolation.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose.h"
#include "units.h"
#include "yaml-tree.h"

#define MERGE_DEPTH 8 /* nested '<<' merge keys followed */
/* health.interval and health.timeout's range in paddock.yaml(5) (start_period: 0..max) */
#define HEALTH_MIN_MS 100
#define HEALTH_MAX_MS (24 * 3600 * 1000ULL)

/* --- output text ----------------------------------------------------------------- */

struct sb {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sb *b, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		b->oom = true;
		return;
	}
	sb_add(b, s, (size_t)r);
	free(s);
}

/* Plain only when YAML reads it back as the same string: no nulls, booleans, indicators. */
static bool plain_ok(const char *s)
{
	static const char *const reserved[] = { "null", "true", "false", "yes", "no",
						"on",	"off",	"y",	 "n",	NULL };

	if (!isalnum((unsigned char)s[0]) && s[0] != '/' && s[0] != '_' &&
	    !(s[0] == '.' && s[1] && s[1] != '.'))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/._-+@=,%", *p) &&
		    !(*p == ':' && p[1] && p[1] != ' '))
			return false;
	for (size_t i = 0; reserved[i]; i++)
		if (strcasecmp(s, reserved[i]) == 0)
			return false;
	/* YAML 1.1 reads 8080:80 as a base-60 number: quote ports and uid:gid. */
	return !(isdigit((unsigned char)s[0]) && strchr(s, ':'));
}

static void sb_scalar(struct sb *b, const char *s)
{
	if (plain_ok(s)) {
		sb_str(b, s);
		return;
	}
	sb_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[8];

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			sb_add(b, esc, 2);
		} else if (*p == '\n') {
			sb_add(b, "\\n", 2);
		} else if (*p == '\t') {
			sb_add(b, "\\t", 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			sb_str(b, esc);
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* C1 controls: YAML refuses them raw (U+0085 would be a line break) */
			snprintf(esc, sizeof(esc), "\\x%02x", *++p);
			sb_str(b, esc);
		} else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
			sb_str(b, p[2] == 0xa8 ? "\\L" : "\\P"); /* line, paragraph separators */
			p += 2;
		} else if (p[0] == 0xef && ((p[1] == 0xbb && p[2] == 0xbf) ||
					    (p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)))) {
			snprintf(esc, sizeof(esc), "\\u%02X%02X", p[1] == 0xbb ? 0xfe : 0xff,
				 p[1] == 0xbb ? 0xff : (p[2] == 0xbe ? 0xfe : 0xff));
			sb_str(b, esc);
			p += 2;
		} else {
			sb_add(b, (const char *)p, 1);
		}
	}
	sb_add(b, "\"", 1);
}

/* Nothing written since start, just after header: take the header back. */
static void sb_drop_empty(struct sb *b, size_t start, const char *header)
{
	if (b->oom || b->len != start || start < strlen(header))
		return;
	b->len = start - strlen(header);
	b->p[b->len] = '\0';
}

/* "<indent>key: value\n" */
static void sb_kv(struct sb *b, int indent, const char *key, const char *value)
{
	sb_printf(b, "%*s%s: ", indent, "", key);
	sb_scalar(b, value);
	sb_add(b, "\n", 1);
}

/* "<indent>- value\n" */
static void sb_item(struct sb *b, int indent, const char *value)
{
	sb_printf(b, "%*s- ", indent, "");
	sb_scalar(b, value);
	sb_add(b, "\n", 1);
}

/* --- a mapping with its '<<' merge keys applied ------------------------------------ */

struct kv {
	const struct ynode *key, *value;
};

struct mview {
	struct kv *kv;
	size_t n, cap;
	bool oom;
};

static const struct ynode *mv_get(const struct mview *v, const char *key, const struct ynode **k)
{
	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->kv[i].key->value, key) == 0) {
			if (k)
				*k = v->kv[i].key;
			return v->kv[i].value;
		}
	}
	if (k)
		*k = NULL;
	return NULL;
}

static void mv_add_map(struct mview *v, const struct ynode *map, int depth)
{
	const struct ynode *merge = NULL;

	if (!map || map->type != YNODE_MAPPING || depth > MERGE_DEPTH)
		return;
	for (size_t i = 0; i < map->n; i++) {
		const struct ypair *p = &map->pairs[i];

		if (!y_pair_ok(p))
			continue;
		if (strcmp(p->key->value, "<<") == 0) {
			merge = p->value;
			continue;
		}
		if (mv_get(v, p->key->value, NULL))
			continue; /* the map's own keys win over merged ones */
		if (v->n == v->cap) {
			size_t cap = v->cap ? v->cap * 2 : 16;
			struct kv *kv = realloc(v->kv, cap * sizeof(*kv));

			if (!kv) {
				v->oom = true;
				return;
			}
			v->kv = kv;
			v->cap = cap;
		}
		v->kv[v->n++] = (struct kv){ p->key, p->value };
	}
	if (merge && merge->type == YNODE_SEQUENCE) {
		for (size_t i = 0; i < merge->n; i++)
			mv_add_map(v, merge->items[i], depth + 1);
	} else {
		mv_add_map(v, merge, depth + 1);
	}
}

/* --- conversion context ----------------------------------------------------------- */

struct cv {
	const char *file, *basedir;
	struct config_errors *warn, *errs;
	bool oom;
	size_t nerrs;
	struct mview top;
	const struct ynode *secrets, *networks, *volumes; /* top-level definitions */
	char **nets_seen; /* networks already warned about */
	size_t nnets_seen;
	unsigned next_subnet;
};

static void __attribute__((format(printf, 3, 4)))
cw(struct cv *c, const struct ynode *at, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		c->oom = true;
		return;
	}
	config_errors_add(c->warn, c->file, at ? at->line : 0, at ? at->column : 0, "%s", msg);
	free(msg);
}

static void __attribute__((format(printf, 3, 4)))
ce(struct cv *c, const struct ynode *at, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int r;

	c->nerrs++;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		c->oom = true;
		return;
	}
	config_errors_add(c->errs, c->file, at ? at->line : 0, at ? at->column : 0, "%s", msg);
	free(msg);
}

/* A scalar's text, or NULL (with a warning naming what) for a null or a collection. */
static const char *scal(struct cv *c, const struct ynode *n, const char *what)
{
	if (n && n->type == YNODE_SCALAR && !y_is_null(n))
		return n->value;
	if (what)
		cw(c, n, "'%s' must be a scalar, not %s; not carried", what, y_kind(n));
	return NULL;
}

/* path made absolute against the compose file's directory, '.' and '..' folded. */
static char *abs_path(struct cv *c, const char *path)
{
	struct sb in = { 0 }, out = { 0 };
	char *save = NULL, *part;

	if (path[0] != '/') {
		sb_str(&in, c->basedir);
		sb_str(&in, "/");
	}
	sb_str(&in, path);
	if (in.oom) {
		free(in.p);
		c->oom = true;
		return NULL;
	}
	for (part = strtok_r(in.p, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			while (out.len > 0 && out.p[out.len - 1] != '/')
				out.len--;
			if (out.len > 0)
				out.len--;
			if (out.p)
				out.p[out.len] = '\0';
			continue;
		}
		sb_str(&out, "/");
		sb_str(&out, part);
	}
	if (out.len == 0)
		sb_str(&out, "/");
	free(in.p);
	if (out.oom) {
		free(out.p);
		c->oom = true;
		return NULL;
	}
	return out.p;
}

/* Compose's service names allow upper case and '.': paddock's do not. NULL if no luck. */
static char *paddock_name(const char *s)
{
	char *n = strdup(s);

	if (!n)
		return NULL;
	for (char *p = n; *p; p++) {
		if (*p == '.')
			*p = '-';
		else
			*p = (char)tolower((unsigned char)*p);
	}
	return n;
}

static void strv_add(char ***v, size_t *n, char *s, bool *oom)
{
	char **nv;

	if (!s) {
		*oom = true;
		return;
	}
	nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		*oom = true;
		return;
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
}

/*
 * Words of s as compose splits a string command (shell quoting, no
 * expansion): blanks separate, '...' is literal, "..." honours \" \\ \$ \`,
 * a backslash outside quotes takes the next character. NULL and *why on
 * an unterminated quote (or ENOMEM, *why NULL).
 */
static char **shell_words(const char *s, size_t *n, const char **why)
{
	char **v = NULL;
	struct sb w = { 0 };
	bool in_word = false, oom = false;

	*n = 0;
	*why = NULL;
	for (const char *p = s;; p++) {
		if (*p == '\0' || *p == ' ' || *p == '\t' || *p == '\n') {
			if (in_word) {
				strv_add(&v, n, w.p ? w.p : strdup(""), &oom);
				w = (struct sb){ 0 };
				in_word = false;
			}
			if (*p == '\0')
				break;
			continue;
		}
		in_word = true;
		if (*p == '\'') {
			const char *end = strchr(p + 1, '\'');

			if (!end) {
				*why = "a ' is not closed";
				goto fail;
			}
			sb_add(&w, p + 1, (size_t)(end - p - 1));
			if (!w.p)
				sb_add(&w, "", 0);
			p = end;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
					p++;
				sb_add(&w, p, 1);
			}
			if (!*p) {
				*why = "a \" is not closed";
				goto fail;
			}
			if (!w.p)
				sb_add(&w, "", 0);
		} else if (*p == '\\' && p[1]) {
			sb_add(&w, ++p, 1);
		} else {
			sb_add(&w, p, 1);
		}
		if (w.oom)
			oom = true;
	}
	if (!oom && !w.oom)
		return v ? v : calloc(1, sizeof(char *));
fail:
	free(w.p);
	config_strv_free(v);
	*n = 0;
	return NULL;
}

/* A command or entrypoint: list as is, a string split into words. */
static char **argv_of(struct cv *c, const struct ynode *x, const char *what, size_t *n)
{
	char **v = NULL;
	const char *why;
	bool oom = false;

	*n = 0;
	if (x->type == YNODE_SCALAR) {
		v = shell_words(x->value, n, &why);
		if (!v && why)
			cw(c, x, "'%s' is not carried: %s", what, why);
		else if (!v)
			c->oom = true;
		return v;
	}
	if (x->type != YNODE_SEQUENCE) {
		cw(c, x, "'%s' must be a string or a list, not %s; not carried", what, y_kind(x));
		return NULL;
	}
	for (size_t i = 0; i < x->n; i++) {
		const char *s = x->items[i]->type == YNODE_SCALAR ? x->items[i]->value : NULL;

		if (!s) {
			cw(c, x->items[i], "'%s' items must be strings; not carried", what);
			config_strv_free(v);
			*n = 0;
			return NULL;
		}
		strv_add(&v, n, strdup(s), &oom);
	}
	if (oom) {
		c->oom = true;
		config_strv_free(v);
		*n = 0;
		return NULL;
	}
	return v ? v : calloc(1, sizeof(char *));
}

/* --- one service ------------------------------------------------------------------ */

/* The parts of a service that nest (resources, isolation): filled, then written in order. */
struct out {
	struct sb main, memory, cpu, pids, res, iso, mounts, networks, caps_add, caps_drop, rlimits,
	    restart, health, deps, stop, secrets, tail;
	const struct ynode *network_mode;
	bool has_networks;
};

static void do_image(struct cv *c, const struct ynode *x, struct out *o)
{
	const char *s = scal(c, x, "image");
	struct sb ref = { 0 };

	if (!s)
		return;
	if (strchr(s, '$') || s[0] == '/' || strncmp(s, "./", 2) == 0 ||
	    strncmp(s, "../", 3) == 0 || config_image_ref_is_registry(s)) {
		sb_str(&ref, s);
	} else {
		/* Docker Hub, as compose pulls it: paddock would look for an imported image. */
		sb_str(&ref, strchr(s, '/') ? "docker.io/" : "docker.io/library/");
		sb_str(&ref, s);
	}
	if (ref.oom)
		c->oom = true;
	else
		sb_kv(&o->main, 4, "image", ref.p);
	free(ref.p);
}

static void do_command(struct cv *c, const struct mview *s, struct out *o)
{
	const struct ynode *ek, *ck, *e = mv_get(s, "entrypoint", &ek),
				     *cmd = mv_get(s, "command", &ck);
	char **ev = NULL, **cv = NULL;
	size_t ne = 0, nc = 0;

	if (!y_is_null(e))
		ev = argv_of(c, e, "entrypoint", &ne);
	if (!y_is_null(cmd))
		cv = argv_of(c, cmd, "command", &nc);
	if (ne + nc == 0)
		goto out;
	if (!ev && cv && mv_get(s, "image", NULL))
		cw(c, ck,
		   "'command' replaces the image's Entrypoint too in paddock (compose keeps it): "
		   "if the image has an Entrypoint, put it in front");
	sb_printf(&o->main, "    command:\n");
	for (size_t i = 0; i < ne; i++)
		sb_item(&o->main, 6, ev[i]);
	for (size_t i = 0; i < nc; i++)
		sb_item(&o->main, 6, cv[i]);
out:
	config_strv_free(ev);
	config_strv_free(cv);
}

static bool env_key_ok(const char *k, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)k[0]) || k[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '_')
			return false;
	return true;
}

static void env_one(struct cv *c, struct out *o, const struct ynode *at, const char *k, size_t kn,
		    const char *v)
{
	char *key = strndup(k, kn);

	if (!key) {
		c->oom = true;
		return;
	}
	if (!env_key_ok(k, kn))
		cw(c, at,
		   "environment variable '%s' is not carried: paddock's names are "
		   "[A-Za-z_][A-Za-z0-9_]*",
		   key);
	else if (!v)
		cw(c, at,
		   "environment variable '%s' has no value: compose takes it from the "
		   "caller's environment, paddock passes nothing through; not carried",
		   key);
	else
		sb_kv(&o->main, 6, key, v);
	free(key);
}

static void do_environment(struct cv *c, const struct ynode *x, struct out *o)
{
	size_t start;

	sb_str(&o->main, "    environment:\n");
	start = o->main.len;
	if (x->type == YNODE_MAPPING) {
		struct mview v = { 0 };

		mv_add_map(&v, x, 0);
		c->oom |= v.oom;
		for (size_t i = 0; i < v.n; i++) {
			const struct ynode *val = v.kv[i].value;

			if (val->type != YNODE_SCALAR) {
				cw(c, val,
				   "environment variable '%s' must be a scalar; not carried",
				   v.kv[i].key->value);
				continue;
			}
			env_one(c, o, v.kv[i].key, v.kv[i].key->value, v.kv[i].key->len,
				y_is_null(val) ? NULL : val->value);
		}
		free(v.kv);
	} else if (x->type == YNODE_SEQUENCE) {
		for (size_t i = 0; i < x->n; i++) {
			const char *s = scal(c, x->items[i], "environment item"), *eq;

			if (!s)
				continue;
			eq = strchr(s, '=');
			env_one(c, o, x->items[i], s, eq ? (size_t)(eq - s) : strlen(s),
				eq ? eq + 1 : NULL);
		}
	} else {
		cw(c, x, "'environment' must be a mapping or a list; not carried");
	}
	sb_drop_empty(&o->main, start, "    environment:\n");
}

static void do_env_file(struct cv *c, const struct ynode *x, struct out *o)
{
	const struct ynode *one = x;
	size_t n = x->type == YNODE_SEQUENCE ? x->n : 1, start;

	if (x->type == YNODE_MAPPING) {
		cw(c, x, "'env_file' must be a string or a list; not carried");
		return;
	}
	sb_str(&o->main, "    environment_file:\n");
	start = o->main.len;
	for (size_t i = 0; i < n; i++) {
		const struct ynode *it = x->type == YNODE_SEQUENCE ? x->items[i] : one, *p = it;
		bool optional = false;
		char *path;

		if (it->type == YNODE_MAPPING) {
			const struct ynode *req = y_get(it, "required", NULL);

			p = y_get(it, "path", NULL);
			optional = req && req->type == YNODE_SCALAR &&
				   strcasecmp(req->value, "false") == 0;
			if (y_get(it, "format", NULL))
				cw(c, y_get(it, "format", NULL),
				   "env_file 'format' is not carried: paddock reads KEY=VALUE "
				   "lines");
		}
		if (!scal(c, p, "env_file path"))
			continue;
		path = abs_path(c, p->value);
		if (!path)
			continue;
		if (optional) {
			char *opt = NULL;

			if (asprintf(&opt, "-%s", path) < 0) {
				c->oom = true;
			} else {
				sb_item(&o->main, 6, opt);
				free(opt);
			}
		} else {
			sb_item(&o->main, 6, path);
		}
		free(path);
	}
	sb_drop_empty(&o->main, start, "    environment_file:\n");
}

/* True when s is digits, or digits-digits. */
static bool port_spec(const char *s, size_t n)
{
	size_t i = 0, d = 0;

	while (i < n && isdigit((unsigned char)s[i]))
		i++, d++;
	if (d == 0)
		return false;
	if (i == n)
		return true;
	if (s[i++] != '-')
		return false;
	for (d = 0; i < n && isdigit((unsigned char)s[i]); i++)
		d++;
	return d > 0 && i == n;
}

/* One short-form port: written as is when paddock reads it the same, else a warning. */
static void port_short(struct cv *c, const struct ynode *it, const char *s, struct out *o)
{
	const char *slash = strchr(s, '/'), *last, *prev;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (strchr(s, '$')) {
		sb_item(&o->main, 6, s);
		return;
	}
	if (s[0] == '[') {
		cw(c, it, "port '%s' is not carried: paddock publishes on IPv4 addresses only", s);
		return;
	}
	if (slash && strcmp(slash, "/tcp") && strcmp(slash, "/udp")) {
		cw(c, it, "port '%s' is not carried: paddock publishes tcp and udp only", s);
		return;
	}
	last = memrchr(s, ':', n);
	if (!last) {
		cw(c, it,
		   "port '%s' is not carried: paddock needs the host port and picks none at "
		   "random; write \"HOSTPORT:%.*s\"",
		   s, (int)n, s);
		return;
	}
	if (!port_spec(last + 1, n - (size_t)(last + 1 - s))) {
		cw(c, it, "port '%s' is not carried: not a port or range", s);
		return;
	}
	prev = memrchr(s, ':', (size_t)(last - s));
	if (!port_spec(prev ? prev + 1 : s, (size_t)(last - (prev ? prev + 1 : s)))) {
		cw(c, it,
		   "port '%s' is not carried: paddock needs the host port and picks none at "
		   "random",
		   s);
		return;
	}
	sb_item(&o->main, 6, s);
}

static void do_ports(struct cv *c, const struct ynode *x, struct out *o)
{
	if (o->network_mode) {
		cw(c, x,
		   "'ports' is not carried with network_mode '%s': ports need a bridge network",
		   o->network_mode->value);
		return;
	}
	if (x->type != YNODE_SEQUENCE) {
		cw(c, x, "'ports' must be a list; not carried");
		return;
	}
	sb_str(&o->main, "    ports:\n");
	for (size_t i = 0; i < x->n; i++) {
		const struct ynode *it = x->items[i];
		const char *tgt, *pub, *ip, *proto;
		char *s = NULL;

		if (it->type == YNODE_SCALAR) {
			if (scal(c, it, "ports item"))
				port_short(c, it, it->value, o);
			continue;
		}
		if (it->type != YNODE_MAPPING) {
			cw(c, it, "a 'ports' item must be a string or a mapping; not carried");
			continue;
		}
		tgt = scal(c, y_get(it, "target", NULL), NULL);
		pub = scal(c, y_get(it, "published", NULL), NULL);
		ip = scal(c, y_get(it, "host_ip", NULL), NULL);
		proto = scal(c, y_get(it, "protocol", NULL), NULL);
		if (!tgt) {
			cw(c, it, "a 'ports' item without 'target' is not carried");
			continue;
		}
		if (!pub) {
			cw(c, it,
			   "port %s is not carried: paddock needs 'published' (the host port) and "
			   "picks none at random",
			   tgt);
			continue;
		}
		if (asprintf(&s, "%s%s%s:%s%s%s", ip ? ip : "", ip ? ":" : "", pub, tgt,
			     proto ? "/" : "", proto ? proto : "") < 0) {
			c->oom = true;
			continue;
		}
		port_short(c, it, s, o);
		free(s);
	}
}

/* Warn once per network that the daemon config must declare it, with a snippet. */
static void net_declare(struct cv *c, const struct ynode *at, const char *name)
{
	const struct ynode *def = y_get(c->networks, name, NULL), *cfg, *sub = NULL, *in;
	char subnet[64];
	bool internal;
	char *dup;

	if (strcmp(name, SPEC_NET_DEFAULT) == 0)
		return;
	for (size_t i = 0; i < c->nnets_seen; i++)
		if (strcmp(c->nets_seen[i], name) == 0)
			return;
	dup = strdup(name);
	strv_add(&c->nets_seen, &c->nnets_seen, dup, &c->oom);
	cfg = y_get(y_get(def, "ipam", NULL), "config", NULL);
	if (cfg && cfg->type == YNODE_SEQUENCE && cfg->n > 0)
		sub = y_get(cfg->items[0], "subnet", NULL);
	if (sub && sub->type == YNODE_SCALAR && !y_is_null(sub))
		snprintf(subnet, sizeof(subnet), "%s", sub->value);
	else
		snprintf(subnet, sizeof(subnet), "10.90.%u.0/24", ++c->next_subnet % 256);
	in = y_get(def, "internal", NULL);
	internal = in && in->type == YNODE_SCALAR && strcasecmp(in->value, "true") == 0;
	cw(c, at,
	   "network '%s' must be declared in the daemon config (paddock.yaml), e.g. "
	   "networks: {%s: {subnet: %s%s}}",
	   name, name, subnet, internal ? ", internal: true" : "");
}

static void do_networks(struct cv *c, const struct ynode *x, struct out *o)
{
	size_t n = 0;

	if (o->network_mode) {
		cw(c, x, "'networks' is not carried with network_mode '%s'",
		   o->network_mode->value);
		return;
	}
	if (x->type != YNODE_SEQUENCE && x->type != YNODE_MAPPING) {
		cw(c, x, "'networks' must be a list or a mapping; not carried");
		return;
	}
	for (size_t i = 0; i < x->n; i++) {
		const struct ynode *name =
		    x->type == YNODE_SEQUENCE ? x->items[i] : x->pairs[i].key;
		const struct ynode *v = x->type == YNODE_MAPPING ? x->pairs[i].value : NULL, *ip,
				   *al;

		if (!scal(c, name, "network name"))
			continue;
		if (!config_valid_name(name->value)) {
			cw(c, name,
			   "network '%s' is not carried: paddock's network names are "
			   "[a-z0-9][a-z0-9_-]{0,62}; rename it",
			   name->value);
			continue;
		}
		n++;
		net_declare(c, name, name->value);
		sb_printf(&o->networks, "        - network: ");
		sb_scalar(&o->networks, name->value);
		sb_str(&o->networks, "\n");
		if (!v || v->type != YNODE_MAPPING)
			continue;
		for (size_t j = 0; j < v->n; j++) {
			const char *k = v->pairs[j].key->value;

			if (strcmp(k, "ipv4_address") && strcmp(k, "aliases"))
				cw(c, v->pairs[j].key, "network option '%s' is not carried", k);
		}
		ip = y_get(v, "ipv4_address", NULL);
		if (scal(c, ip, NULL))
			sb_kv(&o->networks, 10, "ip", ip->value);
		al = y_get(v, "aliases", NULL);
		if (al && al->type == YNODE_SEQUENCE && al->n > 0) {
			sb_str(&o->networks, "          aliases:\n");
			for (size_t j = 0; j < al->n; j++)
				if (scal(c, al->items[j], "alias"))
					sb_item(&o->networks, 12, al->items[j]->value);
		}
	}
	o->has_networks = n > 0;
}

/* A short-form mode list "ro,z": true when read-only. */
static bool mount_mode(struct cv *c, const struct ynode *at, const char *mode)
{
	static const char *const ignored[] = { "rw",	    "z",      "Z",	    "cached",
					       "delegated", "nocopy", "consistent", NULL };
	bool ro = false;
	char *m = strdup(mode), *save = NULL;

	if (!m) {
		c->oom = true;
		return false;
	}
	for (char *t = strtok_r(m, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i = 0;

		if (strcmp(t, "ro") == 0) {
			ro = true;
			continue;
		}
		while (ignored[i] && strcmp(ignored[i], t))
			i++;
		if (!ignored[i])
			cw(c, at, "volume option '%s' is not carried", t);
	}
	free(m);
	return ro;
}

static void mount_bind(struct cv *c, const char *src, const char *dst, bool ro, struct out *o)
{
	char *abs = src[0] == '$' ? strdup(src) : abs_path(c, src);

	if (!abs) {
		c->oom = true;
		return;
	}
	sb_str(&o->mounts, "        - type: bind\n");
	sb_kv(&o->mounts, 10, "source", abs);
	sb_kv(&o->mounts, 10, "target", dst);
	if (ro)
		sb_str(&o->mounts, "          readonly: true\n");
	free(abs);
}

static void mount_tmpfs(const char *dst, const char *size, struct out *o)
{
	sb_str(&o->mounts, "        - type: tmpfs\n");
	sb_kv(&o->mounts, 10, "target", dst);
	if (size)
		sb_kv(&o->mounts, 10, "size", size);
}

/*
 * A named volume: carried as a bind mount when the top-level volume is one
 * (driver_opts {type: none, o: bind, device: PATH}), else a warning.
 */
static void named_volume(struct cv *c, const struct ynode *at, const char *name, const char *dst,
			 bool ro, struct out *o)
{
	const struct ynode *opts =
	    y_get(y_get(c->volumes, name ? name : "", NULL), "driver_opts", NULL);
	const char *how = scal(c, y_get(opts, "o", NULL), NULL);
	const char *dev = scal(c, y_get(opts, "device", NULL), NULL);

	if (how && dev && strstr(how, "bind"))
		mount_bind(c, dev, dst, ro, o);
	else if (!name)
		cw(c, at,
		   "anonymous volume at '%s' is not carried: paddock has no volumes; use a tmpfs "
		   "mount or a bind mount of a host directory",
		   dst);
	else
		cw(c, at,
		   "named volume '%s' is not carried: paddock has no named volumes; use a bind "
		   "mount, e.g. {type: bind, source: %s/volumes/%s, target: %s}",
		   name, c->basedir, name, dst);
}

static bool host_path(const char *s)
{
	return s[0] == '/' || s[0] == '.' || s[0] == '~' || s[0] == '$';
}

static void do_volumes(struct cv *c, const struct ynode *x, struct out *o)
{
	if (x->type != YNODE_SEQUENCE) {
		cw(c, x, "'volumes' must be a list; not carried");
		return;
	}
	for (size_t i = 0; i < x->n; i++) {
		const struct ynode *it = x->items[i];

		if (it->type == YNODE_SCALAR && !y_is_null(it)) {
			char *s = strdup(it->value), *p2, *p3;

			if (!s) {
				c->oom = true;
				return;
			}
			p2 = strchr(s, ':');
			p3 = p2 ? strchr(p2 + 1, ':') : NULL;
			if (p2)
				*p2++ = '\0';
			if (p3)
				*p3++ = '\0';
			if (!p2)
				named_volume(c, it, NULL, s, false, o);
			else if (s[0] == '~')
				cw(c, it,
				   "volume '%s' is not carried: write the home directory out",
				   it->value);
			else if (host_path(s))
				mount_bind(c, s, p2, p3 && mount_mode(c, it, p3), o);
			else
				named_volume(c, it, s, p2, p3 && mount_mode(c, it, p3), o);
			free(s);
		} else if (it->type == YNODE_MAPPING) {
			const char *type = scal(c, y_get(it, "type", NULL), NULL);
			const char *src = scal(c, y_get(it, "source", NULL), NULL);
			const char *dst = scal(c, y_get(it, "target", NULL), NULL);
			const struct ynode *ro = y_get(it, "read_only", NULL);
			const char *size =
			    scal(c, y_get(y_get(it, "tmpfs", NULL), "size", NULL), NULL);

			if (!dst) {
				cw(c, it, "a volume without 'target' is not carried");
			} else if (type && strcmp(type, "bind") == 0 && src) {
				mount_bind(c, src, dst,
					   ro && ro->type == YNODE_SCALAR &&
					       strcasecmp(ro->value, "true") == 0,
					   o);
			} else if (type && strcmp(type, "tmpfs") == 0) {
				mount_tmpfs(dst, size, o);
			} else if (type && strcmp(type, "volume") == 0) {
				named_volume(c, it, src, dst,
					     ro && ro->type == YNODE_SCALAR &&
						 strcasecmp(ro->value, "true") == 0,
					     o);
			} else {
				cw(c, it, "volume of type '%s' is not carried", type ? type : "?");
			}
		} else {
			cw(c, it, "a 'volumes' item must be a string or a mapping; not carried");
		}
	}
}

static void do_tmpfs(struct cv *c, const struct ynode *x, struct out *o)
{
	size_t n = x->type == YNODE_SEQUENCE ? x->n : 1;

	for (size_t i = 0; i < n; i++) {
		const struct ynode *it = x->type == YNODE_SEQUENCE ? x->items[i] : x;
		const char *s = scal(c, it, "tmpfs"), *size = NULL;
		char *t, *opts;

		if (!s)
			continue;
		t = strdup(s);
		if (!t) {
			c->oom = true;
			return;
		}
		opts = strchr(t, ':');
		if (opts) {
			char *save = NULL;

			*opts++ = '\0';
			for (char *k = strtok_r(opts, ",", &save); k;
			     k = strtok_r(NULL, ",", &save)) {
				if (strncmp(k, "size=", 5) == 0)
					size = s + (k + 5 - t);
				else
					cw(c, it, "tmpfs option '%s' is not carried", k);
			}
		}
		if (size) { /* size= ends at the next ',' of the original text */
			char *sz = strndup(size, strcspn(size, ","));

			if (!sz)
				c->oom = true;
			else
				mount_tmpfs(t, sz, o);
			free(sz);
		} else {
			mount_tmpfs(t, NULL, o);
		}
		free(t);
	}
}

/* Resource values gathered from v2 keys and deploy.resources, written once. */
struct res {
	const struct ynode *mem_max, *mem_low, *cpu_max, *cpus, *pids_max, *oom;
};

static void res_take(struct cv *c, const struct ynode **slot, const struct ynode *v,
		     const char *what)
{
	if (y_is_null(v))
		return;
	if (v->type != YNODE_SCALAR) {
		cw(c, v, "'%s' must be a scalar; not carried", what);
		return;
	}
	if (*slot) {
		cw(c, v, "'%s' is not carried: the same limit is set at line %d, column %d", what,
		   (*slot)->line, (*slot)->column);
		return;
	}
	*slot = v;
}

static void do_ulimits(struct cv *c, const struct ynode *x, struct out *o)
{
	static const char *const known[] = { "as",    "core",	 "cpu",	     "data",   "fsize",
					     "locks", "memlock", "msgqueue", "nice",   "nofile",
					     "nproc", "rss",	 "rtprio",   "rttime", "sigpending",
					     "stack", NULL };

	if (x->type != YNODE_MAPPING) {
		cw(c, x, "'ulimits' must be a mapping; not carried");
		return;
	}
	for (size_t i = 0; i < x->n; i++) {
		const struct ynode *k = x->pairs[i].key, *v = x->pairs[i].value;
		const char *soft, *hard;
		size_t j = 0;

		if (!y_pair_ok(&x->pairs[i]))
			continue;
		while (known[j] && strcmp(known[j], k->value))
			j++;
		if (!known[j]) {
			cw(c, k, "ulimit '%s' is not carried: paddock has no such rlimit",
			   k->value);
			continue;
		}
		if (v->type == YNODE_SCALAR && !y_is_null(v)) {
			sb_kv(&o->rlimits, 8, k->value, v->value);
			continue;
		}
		soft = scal(c, y_get(v, "soft", NULL), NULL);
		hard = scal(c, y_get(v, "hard", NULL), NULL);
		if (!soft || !hard) {
			cw(c, v, "ulimit '%s' needs 'soft' and 'hard'; not carried", k->value);
			continue;
		}
		sb_printf(&o->rlimits, "        %s:\n", k->value);
		sb_kv(&o->rlimits, 10, "soft", soft);
		sb_kv(&o->rlimits, 10, "hard", hard);
	}
}

static const char *restart_policy(struct cv *c, const struct ynode *x)
{
	const char *s = scal(c, x, "restart");

	if (!s)
		return NULL;
	if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0)
		return "never";
	if (strcmp(s, "always") == 0)
		return "always";
	if (strcmp(s, "unless-stopped") == 0) {
		cw(c, x,
		   "restart 'unless-stopped' is carried as 'always': paddock keeps a service "
		   "an operator stopped stopped anyway, also across daemon restarts");
		return "always";
	}
	if (strcmp(s, "on-failure") == 0)
		return "on-failure";
	if (strncmp(s, "on-failure:", 11) == 0) {
		cw(c, x,
		   "restart '%s' is carried as 'on-failure': paddock limits restarts by rate "
		   "(restart.limit.burst in restart.limit.interval), not by a total count",
		   s);
		return "on-failure";
	}
	cw(c, x, "restart '%s' is not carried: not a compose restart policy", s);
	return NULL;
}

/* A warning for each key of map (if a mapping) not in known. */
static void warn_others(struct cv *c, const struct ynode *map, const char *where,
			const char *const *known)
{
	for (size_t i = 0; map && map->type == YNODE_MAPPING && i < map->n; i++) {
		size_t j = 0;

		if (!y_pair_ok(&map->pairs[i]))
			continue;
		while (known[j] && strcmp(known[j], map->pairs[i].key->value))
			j++;
		if (!known[j])
			cw(c, map->pairs[i].key, "%s.%s is not carried: paddock has no equivalent",
			   where, map->pairs[i].key->value);
	}
}

static void do_deploy(struct cv *c, const struct ynode *x, struct res *r, const char **policy,
		      const struct ynode *restart)
{
	const struct ynode *res, *lim, *resv;

	if (x->type != YNODE_MAPPING) {
		cw(c, x, "'deploy' must be a mapping; not carried");
		return;
	}
	for (size_t i = 0; i < x->n; i++) {
		const struct ynode *k = x->pairs[i].key, *v = x->pairs[i].value;

		if (!y_pair_ok(&x->pairs[i]) || strcmp(k->value, "resources") == 0 ||
		    strcmp(k->value, "replicas") == 0) /* do_replicas */
			continue;
		if (strcmp(k->value, "restart_policy") == 0) {
			const char *cond = scal(c, y_get(v, "condition", NULL), NULL);

			if (restart) {
				cw(c, k, "deploy.restart_policy is not carried: 'restart' is set");
			} else if (cond && strcmp(cond, "none") == 0) {
				*policy = "never";
			} else if (cond && strcmp(cond, "any") == 0) {
				*policy = "always";
			} else {
				*policy = "on-failure";
			}
			if (y_get(v, "max_attempts", NULL) || y_get(v, "window", NULL) ||
			    y_get(v, "delay", NULL))
				cw(c, k,
				   "deploy.restart_policy delay/max_attempts/window are not "
				   "carried: see restart.delay and restart.limit in "
				   "paddock.yaml(5)");
		} else {
			cw(c, k, "deploy.%s is not carried: paddock has no equivalent", k->value);
		}
	}
	res = y_get(x, "resources", NULL);
	lim = y_get(res, "limits", NULL);
	resv = y_get(res, "reservations", NULL);
	warn_others(c, res, "deploy.resources",
		    (const char *const[]){ "limits", "reservations", NULL });
	warn_others(c, lim, "deploy.resources.limits",
		    (const char *const[]){ "memory", "cpus", "pids", NULL });
	warn_others(c, resv, "deploy.resources.reservations",
		    (const char *const[]){ "memory", "cpus", "devices", NULL });
	res_take(c, &r->mem_max, y_get(lim, "memory", NULL), "deploy.resources.limits.memory");
	res_take(c, &r->cpu_max, y_get(lim, "cpus", NULL), "deploy.resources.limits.cpus");
	res_take(c, &r->pids_max, y_get(lim, "pids", NULL), "deploy.resources.limits.pids");
	res_take(c, &r->mem_low, y_get(resv, "memory", NULL),
		 "deploy.resources.reservations.memory");
	if (y_get(resv, "cpus", NULL))
		cw(c, y_get(resv, "cpus", NULL),
		   "deploy.resources.reservations.cpus is not carried: paddock shares CPU by "
		   "resources.cpu.weight");
	if (y_get(resv, "devices", NULL))
		cw(c, y_get(resv, "devices", NULL),
		   "deploy.resources.reservations.devices is not carried: paddock has no "
		   "device requests");
}

/*
 * A compose (Go) duration: NUMBER UNIT groups, "1m30s", "1.5s", "500ms",
 * "10us" (units ns, us, ms, s, m, h), or "0". In ms, rounded up; false if
 * it is none or overflows.
 */
static bool compose_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {
		/* "ms" before "m" and "s": the first prefix that matches wins */
		{ "ns", 1ULL },		  { "us", 1000ULL },
		{ "\xc2\xb5s", 1000ULL }, /* micro sign */
		{ "\xce\xbcs", 1000ULL }, /* Greek mu */
		{ "ms", 1000000ULL },	  { "s", 1000000000ULL },
		{ "m", 60000000000ULL },  { "h", 3600000000000ULL },
	};
	uint64_t total = 0;

	if (*s == '+')
		s++;
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return true;
	}
	if (!*s)
		return false;
	while (*s) {
		uint64_t whole = 0, frac = 0, scale = 1, v;
		bool digits = false;
		size_t i = 0;

		for (; isdigit((unsigned char)*s); s++, digits = true) {
			if (whole > (UINT64_MAX - 9) / 10)
				return false;
			whole = whole * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.')
			for (s++; isdigit((unsigned char)*s); s++, digits = true)
				if (scale < 1000000000000000000ULL) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				}
		if (!digits)
			return false;
		while (i < sizeof(units) / sizeof(units[0]) &&
		       strncmp(s, units[i].unit, strlen(units[i].unit)) != 0)
			i++;
		if (i == sizeof(units) / sizeof(units[0]))
			return false;
		s += strlen(units[i].unit);
		if (whole > UINT64_MAX / units[i].ns)
			return false;
		v = whole * units[i].ns +
		    (uint64_t)((double)frac / (double)scale * (double)units[i].ns);
		if (v > UINT64_MAX - total)
			return false;
		total += v;
	}
	*ms = total / 1000000 + (total % 1000000 != 0);
	return true;
}

/* A healthcheck duration as paddock writes it, brought into [lo, HEALTH_MAX_MS]. */
static void health_duration(struct cv *c, const struct ynode *x, const char *key, uint64_t lo,
			    struct sb *b)
{
	const char *s = scal(c, x, NULL);
	char v[32], a[32], z[32];
	uint64_t ms;

	if (y_is_null(x))
		return;
	if (!s || !compose_duration(s, &ms)) {
		cw(c, x,
		   "healthcheck %s is not carried: not a compose duration (NUMBER UNIT, e.g. "
		   "1m30s)",
		   key);
		return;
	}
	if (ms < lo || ms > HEALTH_MAX_MS) {
		uint64_t to = ms < lo ? lo : HEALTH_MAX_MS;

		cw(c, x, "healthcheck %s '%s' is carried as %s: paddock's range is %s..%s", key, s,
		   units_format_duration(to, v, sizeof(v)), units_format_duration(lo, a, sizeof(a)),
		   units_format_duration(HEALTH_MAX_MS, z, sizeof(z)));
		ms = to;
	}
	sb_kv(b, 6, key, units_format_duration(ms, v, sizeof(v)));
}

/* healthcheck's test as health.exec's argv items; false (warned) when there is none. */
static bool health_test(struct cv *c, const struct ynode *test, struct sb *b)
{
	size_t from = 0;

	if (test->type == YNODE_SCALAR && !y_is_null(test)) {
		sb_item(b, 8, "/bin/sh");
		sb_item(b, 8, "-c");
		sb_item(b, 8, test->value);
		return true;
	}
	if (test->type != YNODE_SEQUENCE || test->n == 0 || test->items[0]->type != YNODE_SCALAR) {
		cw(c, test, "healthcheck 'test' must be a string or a list; not carried");
		return false;
	}
	if (strcmp(test->items[0]->value, "CMD-SHELL") == 0) {
		sb_item(b, 8, "/bin/sh");
		sb_item(b, 8, "-c");
		from = 1;
	} else if (strcmp(test->items[0]->value, "CMD") == 0) {
		from = 1;
	}
	if (from == test->n) {
		cw(c, test, "healthcheck 'test' has no command; not carried");
		return false;
	}
	for (size_t i = from; i < test->n; i++) {
		if (!scal(c, test->items[i], "healthcheck test item"))
			return false;
		sb_item(b, 8, test->items[i]->value);
	}
	return true;
}

/*
 * healthcheck -> health: {exec: ...}, checked again and again while the
 * service runs. on_unhealthy: none, as compose only marks the container
 * unhealthy (for depends_on and status) and does not restart it.
 */
static void do_healthcheck(struct cv *c, const struct ynode *k, const struct ynode *x,
			   struct out *o)
{
	const struct ynode *test = y_get(x, "test", NULL), *dis = y_get(x, "disable", NULL), *v,
			   *sk;
	struct sb *b = &o->health;

	if (x->type != YNODE_MAPPING) {
		cw(c, x, "'healthcheck' must be a mapping; not carried");
		return;
	}
	if (dis && dis->type == YNODE_SCALAR && strcasecmp(dis->value, "true") == 0)
		return;
	if (test && test->type == YNODE_SEQUENCE && test->n > 0 &&
	    test->items[0]->type == YNODE_SCALAR && strcmp(test->items[0]->value, "NONE") == 0)
		return;
	if (y_is_null(test)) {
		cw(c, k,
		   "healthcheck without 'test' is not carried: paddock does not read an image's "
		   "HEALTHCHECK; give the test");
		return;
	}
	sb_str(b, "    health:\n      exec:\n");
	if (!health_test(c, test, b)) {
		b->len = 0;
		return;
	}
	health_duration(c, y_get(x, "interval", NULL), "interval", HEALTH_MIN_MS, b);
	health_duration(c, y_get(x, "timeout", NULL), "timeout", HEALTH_MIN_MS, b);
	v = y_get(x, "retries", NULL);
	if (!y_is_null(v)) {
		const char *s = scal(c, v, NULL);
		char *end = NULL;
		unsigned long long n = s ? strtoull(s, &end, 10) : 0;

		if (!s || !isdigit((unsigned char)s[0]) || *end) {
			cw(c, v, "healthcheck retries is not carried: not a count");
		} else if (n > 0) { /* 0 is docker's default, 3, as paddock's */
			if (n > 1000)
				cw(c, v,
				   "healthcheck retries %s is carried as 1000, paddock's most", s);
			sb_printf(b, "      retries: %llu\n", n > 1000 ? 1000 : n);
		}
	}
	health_duration(c, y_get(x, "start_period", NULL), "start_period", 0, b);
	if (y_get(x, "start_interval", &sk))
		cw(c, sk,
		   "healthcheck start_interval is not carried: paddock checks every 'interval', "
		   "during start_period too");
	sb_str(b, "      on_unhealthy: none\n");
	warn_others(c, x, "healthcheck",
		    (const char *const[]){ "test", "disable", "interval", "timeout", "retries",
					   "start_period", "start_interval", NULL });
}

/* Whether compose service name has a healthcheck that do_healthcheck carries. */
static bool has_healthcheck(struct cv *c, const char *name)
{
	const struct ynode *svc = y_get(mv_get(&c->top, "services", NULL), name, NULL), *h, *test,
			   *dis;
	struct mview v = { 0 };
	bool yes;

	mv_add_map(&v, svc, 0);
	c->oom |= v.oom;
	h = mv_get(&v, "healthcheck", NULL);
	test = y_get(h, "test", NULL);
	dis = y_get(h, "disable", NULL);
	yes = h && h->type == YNODE_MAPPING && !y_is_null(test) &&
	      !(dis && dis->type == YNODE_SCALAR && strcasecmp(dis->value, "true") == 0) &&
	      !(test->type == YNODE_SEQUENCE && test->n > 0 &&
		test->items[0]->type == YNODE_SCALAR && strcmp(test->items[0]->value, "NONE") == 0);
	free(v.kv);
	return yes;
}

/* One entry of depends_on's mapping form: its condition and restart. */
static void dep_entry(struct cv *c, const struct ynode *name, const struct ynode *v, struct sb *b)
{
	static const struct {
		const char *compose, *paddock;
	} conds[] = {
		{ "service_started", "started" },
		{ "service_healthy", "healthy" },
		{ "service_completed_successfully", "completed_successfully" },
		{ NULL, NULL },
	};
	const struct ynode *x, *k;
	const char *cond = "started"; /* compose's default */

	if (!y_is_null(v) && v->type != YNODE_MAPPING)
		cw(c, v, "depends_on '%s' must be a mapping; carried with condition 'started'",
		   name->value);
	x = y_get(v, "condition", &k);
	if (!y_is_null(x) && scal(c, x, "condition")) {
		size_t i = 0;

		while (conds[i].compose && strcmp(conds[i].compose, x->value))
			i++;
		if (conds[i].compose)
			cond = conds[i].paddock;
		else
			cw(c, x, "condition '%s' is not a compose condition; carried as 'started'",
			   x->value);
	}
	if (strcmp(cond, "healthy") == 0 && !has_healthcheck(c, name->value))
		cw(c, x,
		   "condition 'service_healthy', but '%s' has no healthcheck (compose refuses "
		   "that): paddock waits until it is running",
		   name->value);
	sb_kv(b, 8, "condition", cond);
	x = y_get(v, "restart", &k);
	if (x && x->type == YNODE_SCALAR && strcasecmp(x->value, "true") == 0)
		sb_str(b, "        restart: true\n");
	else if (!y_is_null(x) && !(x->type == YNODE_SCALAR && strcasecmp(x->value, "false") == 0))
		cw(c, x, "depends_on restart must be true or false; not carried");
	x = y_get(v, "required", &k);
	if (x && x->type == YNODE_SCALAR && strcasecmp(x->value, "false") == 0)
		cw(c, k,
		   "depends_on 'required: false' is not carried: paddock waits for '%s' as for "
		   "any dependency",
		   name->value);
	warn_others(c, v, "depends_on",
		    (const char *const[]){ "condition", "restart", "required", NULL });
}

/* The list form stays a list (compose's service_started); the mapping form a mapping. */
static void do_depends_on(struct cv *c, const struct ynode *x, struct out *o)
{
	bool map = x->type == YNODE_MAPPING;
	size_t n = x->type == YNODE_SEQUENCE || map ? x->n : 0;

	if (!n) {
		cw(c, x, "'depends_on' must be a list or a mapping; not carried");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ynode *name = map ? x->pairs[i].key : x->items[i];
		char *pn;

		if (map && !y_pair_ok(&x->pairs[i]))
			continue;
		if (!scal(c, name, "depends_on item"))
			continue;
		pn = paddock_name(name->value);
		if (!pn) {
			c->oom = true;
			return;
		}
		if (map) {
			sb_str(&o->deps, "      ");
			sb_scalar(&o->deps, pn);
			sb_str(&o->deps, ":\n");
			dep_entry(c, name, x->pairs[i].value, &o->deps);
		} else {
			sb_item(&o->deps, 6, pn);
		}
		free(pn);
	}
}

/* cap_add/cap_drop: CAP_NET_ADMIN -> net_admin, ALL -> all. */
static void do_caps(struct cv *c, const struct ynode *x, struct sb *b, const char *what)
{
	if (x->type != YNODE_SEQUENCE) {
		cw(c, x, "'%s' must be a list; not carried", what);
		return;
	}
	for (size_t i = 0; i < x->n; i++) {
		const char *s = scal(c, x->items[i], "capability");
		char *l;

		if (!s)
			continue;
		if (strncasecmp(s, "CAP_", 4) == 0)
			s += 4;
		l = paddock_name(s);
		if (!l) {
			c->oom = true;
			return;
		}
		sb_item(b, 10, l);
		free(l);
	}
}

/* One service secret, looked up in the top-level secrets: source, target, owner, mode. */
static void do_secret(struct cv *c, const struct ynode *it, struct out *o)
{
	const struct ynode *src = it, *def, *file, *ext, *tgt = NULL, *mode = NULL, *uid = NULL,
			   *gid = NULL;
	char *path = NULL, *target = NULL;

	if (it->type == YNODE_MAPPING) {
		src = y_get(it, "source", NULL);
		tgt = y_get(it, "target", NULL);
		uid = y_get(it, "uid", NULL);
		gid = y_get(it, "gid", NULL);
		mode = y_get(it, "mode", NULL);
	}
	if (!scal(c, src, "secret source"))
		return;
	def = y_get(c->secrets, src->value, NULL);
	if (!def || def->type != YNODE_MAPPING) {
		cw(c, src,
		   "secret '%s' is not carried: it is not defined under the top-level "
		   "'secrets:'",
		   src->value);
		return;
	}
	file = y_get(def, "file", NULL);
	ext = y_get(def, "external", NULL);
	if (scal(c, file, NULL)) {
		path = abs_path(c, file->value);
	} else if (ext && ext->type == YNODE_SCALAR && strcasecmp(ext->value, "true") == 0) {
		const char *nm = scal(c, y_get(def, "name", NULL), NULL);

		path = strdup(nm ? nm : src->value);
		cw(c, ext,
		   "external secret '%s' is looked up by name in the daemon's secrets_dir "
		   "(default /etc/paddock/secrets)",
		   path ? path : "");
	} else {
		cw(c, src,
		   "secret '%s' is not carried: paddock reads secrets from files; write its value "
		   "to a file and give it as 'file:'",
		   src->value);
		return;
	}
	if (scal(c, tgt, NULL))
		target =
		    tgt->value[0] == '/'
			? strdup(tgt->value)
			: (asprintf(&target, "/run/secrets/%s", tgt->value) < 0 ? NULL : target);
	else if (asprintf(&target, "/run/secrets/%s", src->value) < 0)
		target = NULL;
	if (!path || !target) {
		c->oom = true;
		goto out;
	}
	sb_printf(&o->secrets, "      - source: ");
	sb_scalar(&o->secrets, path);
	sb_str(&o->secrets, "\n");
	sb_kv(&o->secrets, 8, "target", target);
	if (scal(c, uid, NULL))
		sb_kv(&o->secrets, 8, "uid", uid->value);
	if (scal(c, gid, NULL))
		sb_kv(&o->secrets, 8, "gid", gid->value);
	if (scal(c, mode, NULL)) {
		char *end;
		unsigned long m = strtoul(mode->value, &end, mode->value[0] == '0' ? 8 : 10);

		if (*end || m > 07777)
			cw(c, mode, "secret mode '%s' is not carried: not a file mode",
			   mode->value);
		else
			sb_printf(&o->secrets, "        mode: \"0%lo\"\n", m);
	}
out:
	free(path);
	free(target);
}

/* Keys with no paddock equivalent, and why (NULL: the general reason). */
static const struct {
	const char *key, *why;
} dropped[] = {
	{ "build", "paddock runs images, it does not build them; build and push (or "
		   "'paddockctl image import') the image, then set 'image'" },
	{ "container_name", "the service's name is its paddock name" },
	{ "links", "services on one network reach each other by name; use depends_on for order" },
	{ "external_links", "services on one network reach each other by name" },
	{ "expose", "not needed: services on one network reach each other's ports" },
	{ "labels", "paddock has no labels" },
	{ "logging", "paddockd keeps each service's output in its own rotated log files" },
	{ "privileged", "give the capabilities it needs in isolation.capabilities.add" },
	{ "security_opt", "see isolation.seccomp and isolation.capabilities" },
	{ "memswap_limit", "compose counts memory plus swap; set resources.memory.swap_max" },
	{ "cpu_shares", "set resources.cpu.weight (1..10000, default 100)" },
	{ "shm_size", "mount a tmpfs at /dev/shm with a size" },
	{ "userns_mode", "see isolation.user" },
	{ "configs", "bind-mount the file read-only instead" },
	{ NULL, NULL },
};

/* Keys do_service handles itself. */
static const char *const handled[] = {
	"image",       "command",
	"entrypoint",  "environment",
	"env_file",    "ports",
	"networks",    "network_mode",
	"volumes",     "tmpfs",
	"depends_on",  "healthcheck",
	"restart",     "deploy",
	"mem_limit",   "mem_reservation",
	"cpus",	       "cpuset",
	"pids_limit",  "oom_score_adj",
	"ulimits",     "user",
	"working_dir", "hostname",
	"stop_signal", "stop_grace_period",
	"cap_add",     "cap_drop",
	"read_only",   "secrets",
	"profiles",    "init",
	"pull_policy", "scale",
	NULL,
};

static bool is_handled(const char *k)
{
	for (size_t i = 0; handled[i]; i++)
		if (strcmp(handled[i], k) == 0)
			return true;
	return false;
}

static void sb_free_all(struct out *o)
{
	struct sb *all[] = { &o->main,	  &o->memory,  &o->cpu,	     &o->pids,	   &o->res,
			     &o->iso,	  &o->mounts,  &o->networks, &o->caps_add, &o->caps_drop,
			     &o->rlimits, &o->restart, &o->health,   &o->deps,	   &o->stop,
			     &o->secrets, &o->tail };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		free(all[i]->p);
}

static bool sb_any_oom(const struct out *o, const struct sb *b)
{
	const struct sb *all[] = {
		&o->main,   &o->memory,	  &o->cpu,	&o->pids,      &o->res,	    &o->iso,
		&o->mounts, &o->networks, &o->caps_add, &o->caps_drop, &o->rlimits, &o->restart,
		&o->health, &o->deps,	  &o->stop,	&o->secrets,   &o->tail,    b
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->oom)
			return true;
	return false;
}

static void sb_cat(struct sb *to, const struct sb *from)
{
	if (from->p)
		sb_add(to, from->p, from->len);
}

/* A scalar compose key copied to a paddock key; a null is left out. */
static void copy_scalar(struct cv *c, const struct mview *s, const char *ckey, struct sb *b,
			int indent, const char *pkey)
{
	const struct ynode *x = mv_get(s, ckey, NULL);

	if (!y_is_null(x) && scal(c, x, ckey))
		sb_kv(b, indent, pkey, x->value);
}

/*
 * deploy.replicas (or scale): the number of instances, 1 when not carried.
 * 0 is written as enabled: false (not started until asked).
 */
static unsigned long do_replicas(struct cv *c, const struct mview *s, struct out *o)
{
	const struct ynode *x = y_get(mv_get(s, "deploy", NULL), "replicas", NULL);
	const char *what = "deploy.replicas", *v;
	char *end;
	unsigned long n;

	if (y_is_null(x)) {
		x = mv_get(s, "scale", NULL);
		what = "scale";
	}
	if (y_is_null(x) || !(v = scal(c, x, what)))
		return 1;
	n = strtoul(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end) {
		cw(c, x, "%s '%s' is not carried: not a count", what, v);
		return 1;
	}
	if (n == 0) {
		cw(c, x,
		   "%s 0 is carried as 'enabled: false': paddockd does not start the service "
		   "until 'paddockctl start'",
		   what);
		sb_str(&o->main, "    enabled: false\n");
	} else if (n > 256) {
		cw(c, x, "%s %s is carried as 256, paddock's most instances", what, v);
		n = 256;
	}
	return n;
}

/* The service's part of `services:`, malloc'd; NULL on ENOMEM (c->oom). */
static char *do_service(struct cv *c, const char *name, const struct ynode *svc)
{
	struct mview s = { 0 };
	struct out o = { 0 };
	struct res r = { 0 };
	struct sb b = { 0 };
	const struct ynode *x, *k, *restart;
	const char *policy = "never";
	unsigned long instances;

	mv_add_map(&s, svc, 0);
	c->oom |= s.oom;

	x = mv_get(&s, "network_mode", &k);
	if (!y_is_null(x) && scal(c, x, "network_mode")) {
		if (strcmp(x->value, "host") == 0 || strcmp(x->value, "none") == 0)
			o.network_mode = x;
		else if (strcmp(x->value, "bridge") != 0)
			cw(c, x,
			   "network_mode '%s' is not carried: paddock joins networks, not other "
			   "containers' namespaces; the service joins 'default'",
			   x->value);
	}

	for (size_t i = 0; i < s.n; i++) {
		const char *key = s.kv[i].key->value;
		const struct ynode *v = s.kv[i].value;
		size_t j = 0;

		if (strncmp(key, "x-", 2) == 0 || is_handled(key))
			continue;
		while (dropped[j].key && strcmp(dropped[j].key, key))
			j++;
		cw(c, s.kv[i].key, "'%s' is not carried: %s", key,
		   dropped[j].key ? dropped[j].why : "paddock has no equivalent");
		(void)v;
	}

	instances = do_replicas(c, &s, &o);
	if ((x = mv_get(&s, "image", NULL)) && !y_is_null(x))
		do_image(c, x, &o);
	do_command(c, &s, &o);
	if ((x = mv_get(&s, "environment", NULL)) && !y_is_null(x))
		do_environment(c, x, &o);
	if ((x = mv_get(&s, "env_file", NULL)) && !y_is_null(x))
		do_env_file(c, x, &o);
	copy_scalar(c, &s, "user", &o.main, 4, "user");
	copy_scalar(c, &s, "working_dir", &o.main, 4, "working_dir");
	copy_scalar(c, &s, "hostname", &o.main, 4, "hostname");
	x = mv_get(&s, "init", NULL);
	if (x && x->type == YNODE_SCALAR && strcasecmp(x->value, "false") == 0)
		sb_str(&o.main, "    init: false\n");
	x = mv_get(&s, "pull_policy", NULL);
	if (scal(c, x, NULL)) {
		if (strcmp(x->value, "always") == 0 || strcmp(x->value, "never") == 0 ||
		    strcmp(x->value, "missing") == 0)
			sb_kv(&o.main, 4, "pull", x->value);
		else if (strcmp(x->value, "if_not_present") == 0)
			sb_kv(&o.main, 4, "pull", "missing");
		else
			cw(c, x, "pull_policy '%s' is not carried", x->value);
	}
	if ((x = mv_get(&s, "ports", &k)) && !y_is_null(x) && instances > 1) {
		cw(c, k,
		   "'ports' is not carried: the %lu instances cannot all publish the same host "
		   "port; publish from a proxy in front of them",
		   instances);
	} else if (x && !y_is_null(x)) {
		size_t at = o.main.len + strlen("    ports:\n");

		do_ports(c, x, &o);
		sb_drop_empty(&o.main, at, "    ports:\n");
	}

	/* resources */
	res_take(c, &r.mem_max, mv_get(&s, "mem_limit", NULL), "mem_limit");
	res_take(c, &r.mem_low, mv_get(&s, "mem_reservation", NULL), "mem_reservation");
	res_take(c, &r.cpu_max, mv_get(&s, "cpus", NULL), "cpus");
	res_take(c, &r.cpus, mv_get(&s, "cpuset", NULL), "cpuset");
	res_take(c, &r.pids_max, mv_get(&s, "pids_limit", NULL), "pids_limit");
	res_take(c, &r.oom, mv_get(&s, "oom_score_adj", NULL), "oom_score_adj");
	restart = mv_get(&s, "restart", NULL);
	if ((x = mv_get(&s, "deploy", NULL)) && !y_is_null(x))
		do_deploy(c, x, &r, &policy, restart);
	if (!y_is_null(restart)) {
		const char *p = restart_policy(c, restart);

		if (p)
			policy = p;
	}
	if ((x = mv_get(&s, "ulimits", NULL)) && !y_is_null(x))
		do_ulimits(c, x, &o);
	if (r.mem_max)
		sb_kv(&o.memory, 8, "max", r.mem_max->value);
	if (r.mem_low)
		sb_kv(&o.memory, 8, "low", r.mem_low->value);
	if (r.cpu_max)
		sb_kv(&o.cpu, 8, "max", r.cpu_max->value);
	if (r.cpus)
		sb_kv(&o.cpu, 8, "cpus", r.cpus->value);
	if (r.pids_max)
		sb_kv(&o.pids, 8, "max",
		      strcmp(r.pids_max->value, "-1") == 0 ? "max" : r.pids_max->value);

	/* isolation */
	if ((x = mv_get(&s, "networks", NULL)) && !y_is_null(x))
		do_networks(c, x, &o);
	if (o.network_mode)
		sb_kv(&o.iso, 6, "network", o.network_mode->value);
	else if (!o.has_networks)
		sb_kv(&o.iso, 6, "network", SPEC_NET_DEFAULT);
	x = mv_get(&s, "read_only", NULL);
	if (x && x->type == YNODE_SCALAR && strcasecmp(x->value, "true") == 0)
		sb_str(&o.iso, "      readonly_rootfs: true\n");
	if ((x = mv_get(&s, "volumes", NULL)) && !y_is_null(x))
		do_volumes(c, x, &o);
	if ((x = mv_get(&s, "tmpfs", NULL)) && !y_is_null(x))
		do_tmpfs(c, x, &o);
	if ((x = mv_get(&s, "cap_add", NULL)) && !y_is_null(x))
		do_caps(c, x, &o.caps_add, "cap_add");
	if ((x = mv_get(&s, "cap_drop", NULL)) && !y_is_null(x))
		do_caps(c, x, &o.caps_drop, "cap_drop");

	if ((x = mv_get(&s, "healthcheck", &k)) && !y_is_null(x))
		do_healthcheck(c, k, x, &o);
	if ((x = mv_get(&s, "depends_on", NULL)) && !y_is_null(x))
		do_depends_on(c, x, &o);
	copy_scalar(c, &s, "stop_signal", &o.stop, 6, "signal");
	copy_scalar(c, &s, "stop_grace_period", &o.stop, 6, "timeout");
	x = mv_get(&s, "secrets", NULL);
	if (x && x->type == YNODE_SEQUENCE)
		for (size_t i = 0; i < x->n; i++)
			do_secret(c, x->items[i], &o);
	else if (!y_is_null(x))
		cw(c, x, "'secrets' must be a list; not carried");
	x = mv_get(&s, "profiles", NULL);
	if (x && x->type == YNODE_SEQUENCE) {
		for (size_t i = 0; i < x->n; i++)
			if (scal(c, x->items[i], "profile"))
				sb_item(&o.tail, 6, x->items[i]->value);
	} else if (!y_is_null(x)) {
		cw(c, x, "'profiles' must be a list; not carried");
	}

	/* Written in paddock.yaml(5)'s order. */
	sb_str(&b, "  ");
	sb_scalar(&b, name);
	sb_str(&b, ":\n");
	if (instances > 1)
		sb_printf(&b, "    instances: %lu\n", instances);
	sb_cat(&b, &o.main);
	if (o.memory.len || o.cpu.len || o.pids.len || o.rlimits.len || r.oom) {
		sb_str(&b, "    resources:\n");
		if (o.memory.len)
			sb_str(&b, "      memory:\n");
		sb_cat(&b, &o.memory);
		if (o.cpu.len)
			sb_str(&b, "      cpu:\n");
		sb_cat(&b, &o.cpu);
		if (o.pids.len)
			sb_str(&b, "      pids:\n");
		sb_cat(&b, &o.pids);
		if (r.oom)
			sb_kv(&b, 6, "oom_score_adj", r.oom->value);
		if (o.rlimits.len)
			sb_str(&b, "      rlimits:\n");
		sb_cat(&b, &o.rlimits);
	}
	sb_str(&b, "    isolation:\n");
	sb_cat(&b, &o.iso);
	if (o.networks.len)
		sb_str(&b, "      network:\n");
	sb_cat(&b, &o.networks);
	if (o.mounts.len)
		sb_str(&b, "      mounts:\n");
	sb_cat(&b, &o.mounts);
	if (o.caps_add.len || o.caps_drop.len)
		sb_str(&b, "      capabilities:\n");
	if (o.caps_add.len)
		sb_str(&b, "        add:\n");
	sb_cat(&b, &o.caps_add);
	if (o.caps_drop.len)
		sb_str(&b, "        drop:\n");
	sb_cat(&b, &o.caps_drop);
	sb_printf(&b, "    restart:\n      policy: %s\n", policy);
	sb_cat(&b, &o.health);
	if (o.deps.len)
		sb_str(&b, "    depends_on:\n");
	sb_cat(&b, &o.deps);
	if (o.stop.len)
		sb_str(&b, "    stop:\n");
	sb_cat(&b, &o.stop);
	if (o.secrets.len)
		sb_str(&b, "    secrets:\n");
	sb_cat(&b, &o.secrets);
	if (o.tail.len)
		sb_str(&b, "    profiles:\n");
	sb_cat(&b, &o.tail);

	if (sb_any_oom(&o, &b)) {
		c->oom = true;
		free(b.p);
		b.p = NULL;
	}
	sb_free_all(&o);
	free(s.kv);
	return b.p;
}

/* --- the file --------------------------------------------------------------------- */

void compose_result_free(struct compose_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->services[i].name);
		free(r->services[i].body);
	}
	free(r->services);
	*r = (struct compose_result){ 0 };
}

char *compose_spec_text(const struct compose_result *r, size_t from, size_t to, const char *src)
{
	struct sb b = { 0 };

	sb_str(&b, "# converted from ");
	for (const char *p = src; *p; p++) /* keep the comment on one line */
		sb_add(&b, (*p == '\n' || *p == '\r') ? "?" : p, 1);
	sb_str(&b, " by paddockctl convert compose\nservices:\n");
	for (size_t i = from; i < to && i < r->n; i++)
		sb_str(&b, r->services[i].body);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int compose_convert(const char *file, const char *buf, size_t len, const char *basedir,
		    struct compose_result *out, struct config_errors *warnings,
		    struct config_errors *errs)
{
	struct cv c = { .file = file, .basedir = basedir, .warn = warnings, .errs = errs };
	struct ytree t = { 0 };
	const struct ynode *svcs;
	int r;

	*out = (struct compose_result){ 0 };
	r = ytree_parse(&t, file, buf, len, errs);
	if (r < 0)
		return r;
	if (!t.root || t.root->type != YNODE_MAPPING) {
		ce(&c, t.root, "a compose file is a mapping with 'services:'");
		goto done;
	}
	mv_add_map(&c.top, t.root, 0);
	c.oom |= c.top.oom;
	svcs = mv_get(&c.top, "services", NULL);
	c.secrets = mv_get(&c.top, "secrets", NULL);
	c.networks = mv_get(&c.top, "networks", NULL);
	c.volumes = mv_get(&c.top, "volumes", NULL);
	for (size_t i = 0; i < c.top.n; i++) {
		const struct ynode *k = c.top.kv[i].key;
		static const char *const top_ok[] = { "version", "name",    "services", "networks",
						      "volumes", "secrets", NULL };
		size_t j = 0;

		while (top_ok[j] && strcmp(top_ok[j], k->value))
			j++;
		if (!top_ok[j] && strncmp(k->value, "x-", 2) != 0)
			cw(&c, k, "top-level '%s' is not carried%s", k->value,
			   strcmp(k->value, "include") == 0 ? ": convert each included file" : "");
	}
	if (!svcs || svcs->type != YNODE_MAPPING || svcs->n == 0) {
		ce(&c, svcs ? svcs : t.root,
		   "no services to convert: 'services:' must be a mapping");
		goto done;
	}
	out->services = calloc(svcs->n, sizeof(*out->services));
	if (!out->services) {
		c.oom = true;
		goto done;
	}
	for (size_t i = 0; i < svcs->n && !c.oom; i++) {
		const struct ypair *p = &svcs->pairs[i];
		char *name;

		if (!y_pair_ok(p) || strcmp(p->key->value, "<<") == 0 ||
		    strncmp(p->key->value, "x-", 2) == 0)
			continue;
		if (p->value->type != YNODE_MAPPING) {
			ce(&c, p->value, "service '%s' must be a mapping, not %s", p->key->value,
			   y_kind(p->value));
			continue;
		}
		name = paddock_name(p->key->value);
		if (!name) {
			c.oom = true;
			break;
		}
		if (!config_valid_name(name)) {
			ce(&c, p->key,
			   "service name '%s' cannot be a paddock name ([a-z0-9][a-z0-9_-]{0,62})",
			   p->key->value);
			free(name);
			continue;
		}
		for (size_t j = 0; name && j < out->n; j++) {
			if (strcmp(out->services[j].name, name) == 0) {
				ce(&c, p->key,
				   "service '%s' is '%s' in paddock, like another service",
				   p->key->value, name);
				free(name);
				name = NULL;
			}
		}
		if (!name)
			continue;
		if (strcmp(name, p->key->value) != 0)
			cw(&c, p->key, "service '%s' is called '%s' in paddock", p->key->value,
			   name);
		out->services[out->n].name = name;
		out->services[out->n].body = do_service(&c, name, p->value);
		out->n++;
	}
done:
	y_sort_diags(warnings, 0);
	r = c.oom ? -ENOMEM : c.nerrs ? -EINVAL : 0;
	if (r < 0)
		compose_result_free(out);
	config_strv_free(c.nets_seen);
	free(c.top.kv);
	ytree_free(&t);
	return r;
}
