/*
 * interp.c - ${VAR} interpolation of spec values, with compose's rules
 * (see yaml-tree.h).
 *
 * One pass over each scalar: '$$', '$NAME' and '${...}' are expanded into
 * a buffer, a variable's value is copied and never scanned again, and the
 * result is capped at CONFIG_MAX_SCALAR bytes. The default of ${VAR:-...}
 * (and the other operators' words) is the same grammar one level deeper,
 * parsed even when it is not used, so a syntax error never hides behind a
 * set variable. Nodes reached twice through aliases are expanded once
 * (a memo keyed by node), and all new text of one call is capped too, so
 * aliases cannot multiply the work. No message shows a variable's value:
 * only names and the text as the spec writes it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* vasprintf */
#endif
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml-tree.h"

/* New text in one call, all scalars together (each is CONFIG_MAX_SCALAR). */
#define INTERP_MAX_TOTAL (4 * CONFIG_MAX_FILE_SIZE)
/* Nesting of the tree walked, aliases expanded (the parser bounds each part). */
#define INTERP_MAX_NESTING 256

struct memo_slot {
	const struct ynode *from, *to; /* to NULL: failed, reported already */
};

struct interp {
	struct yctx *c;
	struct ytree *t;
	const struct yvars *vars;
	const struct ynode *n; /* the scalar being expanded */
	char *out;
	size_t len, cap;
	size_t total; /* bytes of new scalars so far in this call */
	struct memo_slot *memo;
	size_t nmemo, capmemo;
};

static bool name_start(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

static bool name_char(char ch)
{
	return name_start(ch) || (ch >= '0' && ch <= '9');
}

static size_t name_len(const char *p)
{
	size_t n = 0;

	while (name_char(p[n]))
		n++;
	return n;
}

/* Report at the '$' at p: its own column in a one-line plain scalar. */
static void ierr(struct interp *ip, const char *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ierr(struct interp *ip, const char *p, const char *fmt, ...)
{
	const struct ynode *n = ip->n;
	int col = n->column;
	char *msg = NULL;
	va_list ap;
	int r;

	if (p && n->plain && n->one_line)
		for (const char *s = n->value; s < p; s++)
			if (((unsigned char)*s & 0xc0) != 0x80)
				col++; /* columns count characters, as libyaml's marks do */
	ip->c->nerrors++;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		ip->c->oom = true;
		return;
	}
	config_errors_add(ip->c->errs, ip->c->file, n->line, col, "%s", msg);
	free(msg);
}

/* Names in messages: printable and short (the spec's own text). */
static int shown(size_t len)
{
	return len > 64 ? 64 : (int)len;
}

/* The first bytes of s (len) for a message, control characters as '?'. */
static const char *printable(const char *s, size_t len, char buf[208])
{
	size_t n = len > 200 ? 200 : len;

	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	/* Do not cut a UTF-8 sequence in half. */
	if (n < len) {
		while (n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0xc0)
			n--;
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static bool put(struct interp *ip, const char *s, size_t len)
{
	if (len > CONFIG_MAX_SCALAR - ip->len) {
		ierr(ip, NULL, "interpolated value longer than %d bytes", CONFIG_MAX_SCALAR);
		return false;
	}
	if (ip->len + len + 1 > ip->cap) {
		size_t cap = ip->cap ? ip->cap : 256;
		char *out;

		while (cap < ip->len + len + 1)
			cap *= 2;
		out = realloc(ip->out, cap);
		if (!out) {
			ip->c->oom = true;
			ierr(ip, NULL, "out of memory");
			return false;
		}
		ip->out = out;
		ip->cap = cap;
	}
	memcpy(ip->out + ip->len, s, len);
	ip->len += len;
	ip->out[ip->len] = '\0';
	return true;
}

/* Value of name (len bytes): instance, then env, then dotenv; NULL when unset. */
static const char *lookup(const struct yvars *vars, const char *name, size_t len)
{
	char *const *lists[2] = { vars->env, vars->dotenv };

	if (vars->instance && len == 8 && memcmp(name, "instance", 8) == 0)
		return vars->instance;
	for (size_t l = 0; l < 2; l++) {
		if (!lists[l])
			continue;
		for (char *const *e = lists[l]; *e; e++)
			if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
				return *e + len + 1;
	}
	return NULL;
}

static const char *braced(struct interp *ip, const char *p, int depth, bool emit);

/*
 * Expand from p to the end of the string or, inside braces, to the first
 * '}' not part of a nested ${...}. Output only when emit. Returns where it
 * stopped ('}' or NUL), or NULL after reporting.
 */
static const char *expand(struct interp *ip, const char *p, int depth, bool emit, bool in_braces)
{
	while (*p && !(in_braces && *p == '}')) {
		const char *q = p;
		size_t nl;

		if (*p != '$' || (p[1] != '$' && p[1] != '{' && !name_start(p[1]))) {
			/* Plain text, and a lone '$' is kept as written. */
			p++;
			while (*p && *p != '$' && !(in_braces && *p == '}'))
				p++;
			if (emit && !put(ip, q, (size_t)(p - q)))
				return NULL;
			continue;
		}
		if (p[1] == '$') {
			if (emit && !put(ip, "$", 1))
				return NULL;
			p += 2;
			continue;
		}
		if (p[1] == '{') {
			p = braced(ip, p, depth + 1, emit);
			if (!p)
				return NULL;
			continue;
		}
		nl = name_len(p + 1);
		if (emit) {
			const char *v = lookup(ip->vars, p + 1, nl);

			if (!v) {
				ierr(ip, p,
				     "undefined variable '%.*s' (set it in the environment or "
				     ".env, or give a default: ${%.*s:-value})",
				     shown(nl), p + 1, shown(nl), p + 1);
				return NULL;
			}
			if (!put(ip, v, strlen(v)))
				return NULL;
		}
		p += 1 + nl;
	}
	return p;
}

/* One ${...} starting at p (the '$'). Returns just past its '}', or NULL. */
static const char *braced(struct interp *ip, const char *p, int depth, bool emit)
{
	const char *name = p + 2, *q, *word, *end, *v;
	bool colon = false, set, empty;
	char msg[208];
	size_t nl;
	char op;

	if (depth > CONFIG_MAX_INTERP_DEPTH) {
		ierr(ip, p, "nesting deeper than %d ('${' inside a default)",
		     CONFIG_MAX_INTERP_DEPTH);
		return NULL;
	}
	nl = name_len(name);
	q = name + nl;
	if (*q == '\0' || (nl == 0 && !strchr(q, '}'))) {
		ierr(ip, p, "unclosed '${'");
		return NULL;
	}
	if (nl == 0 || !name_start(*name)) {
		ierr(ip, p,
		     "'${' must be followed by a variable name ([A-Za-z_][A-Za-z0-9_]*); "
		     "write '$$' for a literal '$'");
		return NULL;
	}
	if (*q == ':' && (q[1] == '-' || q[1] == '?' || q[1] == '+')) {
		colon = true;
		q++;
	}
	op = *q;
	if (op != '}' && op != '-' && op != '?' && op != '+') {
		if (!strchr(q, '}')) {
			ierr(ip, p, "unclosed '${'");
			return NULL;
		}
		ierr(ip, p,
		     "unexpected '%c' after '${%.*s' (expected '}', ':-', '-', ':?', '?', ':+' "
		     "or '+')",
		     (unsigned char)op >= 0x20 && (unsigned char)op < 0x7f ? op : '?', shown(nl),
		     name);
		return NULL;
	}
	v = emit ? lookup(ip->vars, name, nl) : NULL;
	set = v != NULL;
	empty = !set || !*v;
	if (op == '}') {
		if (emit && !set) {
			ierr(ip, p,
			     "undefined variable '%.*s' (set it in the environment or .env, or "
			     "give a default: ${%.*s:-value})",
			     shown(nl), name, shown(nl), name);
			return NULL;
		}
		return emit && !put(ip, v, strlen(v)) ? NULL : q + 1;
	}
	word = q + 1;
	if (op == '-') {
		bool use = colon ? empty : !set;

		end = expand(ip, word, depth, emit && use, true);
		if (end && *end && emit && !use && !put(ip, v, strlen(v)))
			return NULL;
	} else if (op == '+') {
		end = expand(ip, word, depth, emit && !(colon ? empty : !set), true);
	} else {
		/* The message is shown as written: expanding it could show a value. */
		end = expand(ip, word, depth, false, true);
		if (end && *end && emit && (colon ? empty : !set)) {
			if (end == word)
				ierr(ip, p, "'${%.*s%s?}': '%.*s' is %s", shown(nl), name,
				     colon ? ":" : "", shown(nl), name,
				     colon ? "unset or empty" : "unset");
			else
				ierr(ip, p, "'${%.*s%s?...}': %s", shown(nl), name,
				     colon ? ":" : "", printable(word, (size_t)(end - word), msg));
			return NULL;
		}
		if (end && *end && emit && !put(ip, v, strlen(v)))
			return NULL;
	}
	if (!end)
		return NULL;
	if (!*end) {
		ierr(ip, p, "unclosed '${'");
		return NULL;
	}
	return end + 1;
}

static const struct ynode *scalar(struct interp *ip, const struct ynode *n)
{
	struct ynode *r;

	if (!memchr(n->value, '$', n->len))
		return n;
	ip->n = n;
	ip->len = 0;
	if (!put(ip, "", 0) || !expand(ip, n->value, 0, true, false))
		return NULL;
	if (ip->len > INTERP_MAX_TOTAL - ip->total) {
		ierr(ip, NULL, "interpolated values longer than %d bytes in all", INTERP_MAX_TOTAL);
		return NULL;
	}
	ip->total += ip->len;
	r = ytree_node_new(ip->t, YNODE_SCALAR, n->line, n->column);
	if (!r || !(r->value = malloc(ip->len + 1))) {
		ip->c->oom = true;
		ierr(ip, NULL, "out of memory");
		return NULL;
	}
	memcpy(r->value, ip->out, ip->len + 1);
	r->len = ip->len;
	/* Substituted text is typed as if written so: ${REPLICAS} can be a number. */
	r->plain = n->plain;
	r->one_line = n->one_line;
	return r;
}

static size_t memo_hash(const struct ynode *n, size_t cap)
{
	return (size_t)(((uintptr_t)n >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

/* The slot for n: its entry, or the empty one where it goes. */
static struct memo_slot *memo_find(struct interp *ip, const struct ynode *n)
{
	size_t i = memo_hash(n, ip->capmemo);

	while (ip->memo[i].from && ip->memo[i].from != n)
		i = (i + 1) & (ip->capmemo - 1);
	return &ip->memo[i];
}

static bool memo_put(struct interp *ip, const struct ynode *from, const struct ynode *to)
{
	if (2 * (ip->nmemo + 1) > ip->capmemo) {
		size_t cap = ip->capmemo ? ip->capmemo * 2 : 64;
		struct memo_slot *old = ip->memo;
		size_t oldcap = ip->capmemo;

		ip->memo = calloc(cap, sizeof(*ip->memo));
		if (!ip->memo) {
			ip->memo = old;
			ip->c->oom = true;
			return false;
		}
		ip->capmemo = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].from)
				*memo_find(ip, old[i].from) = old[i];
		free(old);
	}
	*memo_find(ip, from) = (struct memo_slot){ from, to };
	ip->nmemo++;
	return true;
}

static const struct ynode *walk(struct interp *ip, const struct ynode *n, int depth, bool *failed);

/* A copy of collection n with its new children, when one changed. */
static const struct ynode *collection(struct interp *ip, const struct ynode *n, int depth,
				      bool *failed)
{
	const struct ynode **kids;
	struct ynode *r = NULL;
	bool changed = false;

	if (n->n == 0)
		return n;
	kids = malloc(n->n * sizeof(*kids));
	if (!kids) {
		ip->c->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *k = n->type == YNODE_SEQUENCE ? n->items[i] : n->pairs[i].value;

		kids[i] = k ? walk(ip, k, depth + 1, failed) : NULL;
		changed |= kids[i] != k;
	}
	if (*failed || !changed) {
		free(kids);
		return *failed ? NULL : n;
	}
	r = ytree_node_new(ip->t, n->type, n->line, n->column);
	if (r && n->type == YNODE_SEQUENCE && (r->items = malloc(n->n * sizeof(*r->items))))
		for (size_t i = 0; i < n->n; i++)
			r->items[i] = (struct ynode *)kids[i];
	if (r && n->type == YNODE_MAPPING && (r->pairs = malloc(n->n * sizeof(*r->pairs))))
		for (size_t i = 0; i < n->n; i++)
			r->pairs[i] = (struct ypair){ .key = n->pairs[i].key,
						      .value = (struct ynode *)kids[i],
						      .dup_of = n->pairs[i].dup_of };
	free(kids);
	if (!r || (!r->items && !r->pairs)) {
		ip->c->oom = true;
		return NULL;
	}
	r->n = r->cap = n->n;
	r->weight = n->weight;
	return r;
}

/* n interpolated; NULL with *failed set after an error (reported). */
static const struct ynode *walk(struct interp *ip, const struct ynode *n, int depth, bool *failed)
{
	struct memo_slot *s;
	const struct ynode *r;
	bool mine = false;

	if (ip->capmemo) {
		s = memo_find(ip, n);
		if (s->from) {
			*failed |= !s->to;
			return s->to;
		}
	}
	if (depth > INTERP_MAX_NESTING) {
		ip->c->nerrors++;
		config_errors_add(ip->c->errs, ip->c->file, n->line, n->column,
				  "nesting too deep (more than %d levels with aliases expanded)",
				  INTERP_MAX_NESTING);
		*failed = true;
		return NULL;
	}
	if (n->type == YNODE_SCALAR)
		r = scalar(ip, n);
	else
		r = collection(ip, n, depth, &mine);
	if (!r)
		*failed = true;
	if (!memo_put(ip, n, r))
		*failed = true;
	return r;
}

const struct ynode *y_interpolate(struct yctx *c, struct ytree *t, const struct ynode *n,
				  const struct yvars *vars)
{
	static const struct yvars none = { 0 };
	struct interp ip = { .c = c, .t = t, .vars = vars ? vars : &none };
	const struct ynode *r;
	bool failed = false;

	if (!n)
		return NULL;
	r = walk(&ip, n, 0, &failed);
	free(ip.out);
	free(ip.memo);
	return failed ? NULL : r;
}
