/*
 * envfile.c - KEY=VALUE environment files (spec 'environment_file', the
 * .env beside the specs). The syntax is the common ground of systemd's
 * EnvironmentFile= and docker's --env-file; see config.h.
 *
 * Values may be secrets of a kind: no diagnostic quotes one, only keys,
 * file names and line numbers.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "yaml-tree.h"

struct envp {
	const char *file;
	const char *p, *end;
	int line;
	struct config_errors *errs;
	char **v;
	size_t n;
	bool bad, oom;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool key_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

static void bad(struct envp *e, int line, const char *msg)
{
	config_errors_add(e->errs, e->file, line, 0, "%s", msg);
	e->bad = true;
}

/* A growing value. */
struct sbuf {
	char *s;
	size_t n, cap;
};

static bool put(struct envp *e, struct sbuf *b, char c)
{
	if (b->n + 1 >= b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *s = realloc(b->s, cap);

		if (!s) {
			e->oom = true;
			return false;
		}
		b->s = s;
		b->cap = cap;
	}
	b->s[b->n++] = c;
	b->s[b->n] = '\0';
	return true;
}

/* Skip to the next line (past its '\n'). */
static void next_line(struct envp *e)
{
	while (e->p < e->end && *e->p != '\n')
		e->p++;
	if (e->p < e->end) {
		e->p++;
		e->line++;
	}
}

/* A quoted value starting after its quote q; e->p ends past the closing quote. */
static bool quoted(struct envp *e, char q, struct sbuf *b, int start)
{
	while (e->p < e->end) {
		char c = *e->p++;

		if (c == q)
			return true;
		if (c == '\n')
			e->line++;
		if (c == '\\' && q == '"' && e->p < e->end) {
			char x = *e->p++;

			switch (x) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case '\\':
			case '"':
			case '$':
				c = x;
				break;
			case '\n': /* a line continued */
				e->line++;
				continue;
			default: /* kept as written */
				if (!put(e, b, '\\'))
					return false;
				c = x;
			}
		}
		if (!put(e, b, c))
			return false;
	}
	bad(e, start,
	    q == '"' ? "\" quote not closed before the end of the file"
		     : "' quote not closed before the end of the file");
	return false;
}

static void add(struct envp *e, const char *key, size_t klen, const char *val)
{
	char *kv;

	if (asprintf(&kv, "%.*s=%s", (int)klen, key, val) < 0) {
		e->oom = true;
		return;
	}
	for (size_t i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], kv, klen + 1) == 0) {
			free(e->v[i]);
			e->v[i] = kv;
			return;
		}
	}
	if (e->n >= CONFIG_MAX_ENVFILE_VARS) {
		free(kv);
		config_errors_add(e->errs, e->file, e->line, 0, "too many variables (at most %d)",
				  CONFIG_MAX_ENVFILE_VARS);
		e->bad = true;
		e->p = e->end;
		return;
	}
	char **nv = realloc(e->v, (e->n + 2) * sizeof(*nv));
	if (!nv) {
		free(kv);
		e->oom = true;
		return;
	}
	nv[e->n++] = kv;
	nv[e->n] = NULL;
	e->v = nv;
}

/* One logical line at e->p (a quoted value may take several). */
static void one(struct envp *e)
{
	const char *key;
	size_t klen;
	int start = e->line;
	struct sbuf b = { 0 };

	while (e->p < e->end && is_blank(*e->p))
		e->p++;
	if (e->p == e->end || *e->p == '\n' || *e->p == '#' || *e->p == ';') {
		next_line(e);
		return;
	}
	if ((size_t)(e->end - e->p) > 7 && strncmp(e->p, "export", 6) == 0 && is_blank(e->p[6])) {
		e->p += 7;
		while (e->p < e->end && is_blank(*e->p))
			e->p++;
	}
	key = e->p;
	while (e->p < e->end && key_char(*e->p, e->p == key))
		e->p++;
	klen = (size_t)(e->p - key);
	while (e->p < e->end && is_blank(*e->p))
		e->p++;
	if (e->p == e->end || *e->p != '=') {
		/* The line is not quoted: a bare word there is as likely a password as a name. */
		if (klen == 0 || klen > 64)
			bad(e, start,
			    klen ? "a variable name is at most 64 characters"
				 : "not KEY=VALUE: a variable name (letters, digits, '_', not "
				   "starting with a digit) must start the line");
		else
			bad(e, start,
			    "not KEY=VALUE: no '=' (write KEY= for empty; the line is not "
			    "shown, it may be a secret)");
		next_line(e);
		return;
	}
	e->p++; /* '=' */
	while (e->p < e->end && is_blank(*e->p))
		e->p++;
	if (e->p < e->end && (*e->p == '"' || *e->p == '\'')) {
		char q = *e->p++;

		if (!quoted(e, q, &b, start)) {
			free(b.s);
			e->p = e->end;
			return;
		}
		/* only blanks or a comment may follow */
		while (e->p < e->end && is_blank(*e->p))
			e->p++;
		if (e->p < e->end && *e->p != '\n' && *e->p != '#') {
			char m[128];

			snprintf(m, sizeof(m), "'%.*s': text after the closing quote", (int)klen,
				 key);
			bad(e, e->line, m);
			free(b.s);
			next_line(e);
			return;
		}
	} else {
		const char *v = e->p, *ve;

		while (e->p < e->end && *e->p != '\n' &&
		       !(*e->p == '#' && e->p > v && is_blank(e->p[-1])))
			e->p++;
		ve = e->p;
		while (ve > v && is_blank(ve[-1]))
			ve--;
		for (const char *c = v; c < ve; c++)
			if (!put(e, &b, *c))
				break;
	}
	next_line(e);
	if (!e->oom)
		add(e, key, klen, b.s ? b.s : "");
	free(b.s);
}

int config_envfile_parse(const char *file, const char *buf, size_t len, char ***out, size_t *n,
			 struct config_errors *errs)
{
	struct envp e = { .file = file, .p = buf, .end = buf + len, .line = 1, .errs = errs };

	*out = NULL;
	*n = 0;
	if (memchr(buf, '\0', len)) {
		config_errors_add(errs, file, 0, 0, "a NUL byte: not a text file");
		return -EINVAL;
	}
	while (e.p < e.end && !e.oom)
		one(&e);
	if (e.oom || e.bad || !e.v) {
		bool empty = !e.oom && !e.bad;

		config_strv_free(e.v);
		if (e.oom) {
			config_errors_add(errs, file, 0, 0, "out of memory");
			return -ENOMEM;
		}
		if (!empty)
			return -EINVAL;
		if (!(*out = calloc(1, sizeof(**out))))
			return -ENOMEM;
		return 0;
	}
	*out = e.v;
	*n = e.n;
	return 0;
}

int config_envfile_load(const char *path, bool optional, char ***out, size_t *n,
			struct config_errors *errs)
{
	struct config_errors quiet = { 0 };
	char *buf;
	size_t len;
	int r;

	*out = NULL;
	*n = 0;
	r = config_read_file(path, &buf, &len, optional ? &quiet : errs);
	if (r == -ENOENT && optional) {
		config_errors_clear(&quiet);
		if (!(*out = calloc(1, sizeof(**out))))
			return -ENOMEM;
		return 0;
	}
	if (optional) {
		/* any other failure of an optional file is still an error */
		for (size_t i = 0; i < quiet.n; i++)
			config_errors_add(errs, quiet.diags[i].file, quiet.diags[i].line,
					  quiet.diags[i].column, "%s", quiet.diags[i].message);
		config_errors_clear(&quiet);
	}
	if (r < 0)
		return r;
	r = config_envfile_parse(path, buf, len, out, n, errs);
	free(buf);
	return r;
}
