/*
 * spec-identity.c - groups: and umask:.
 *
 * groups: a list of group names (resolved at start in the service's
 * /etc/group) or gids, stored as given (numbers in canonical decimal).
 * umask: octal, "0027" or a plain 0027 (YAML 1.1 would read an int; it
 * is octal here either way, as systemd's UMask=).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec-internal.h"

#define SPEC_GROUPS_MAX 64
#define SPEC_GROUP_NAME_MAX 32

/* A group name as shadow's groupadd takes it: [A-Za-z_][A-Za-z0-9_.-]*, '$' last. */
static bool valid_group_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > SPEC_GROUP_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' ||
		      (ch == '$' && i == len - 1)))
			return false;
	}
	return true;
}

/* One groups: item into a malloc'd string (canonical decimal for a gid), or NULL. */
static char *parse_group(struct sp *p, const struct ynode *n)
{
	const char *s = y_scalar(p->c, n, "groups");
	char q[80], num[16];
	uint64_t gid;

	if (!s)
		return NULL;
	if (*s >= '0' && *s <= '9') {
		/* 2^32-1 is (gid_t)-1, "no change" to setgroups' neighbours. */
		if (!y_uint(p->c, n, "groups", 0, 0xfffffffeULL, &gid))
			return NULL;
		snprintf(num, sizeof(num), "%llu", (unsigned long long)gid);
		return y_strdup(p->c, num);
	}
	if (!valid_group_name(s)) {
		y_err(p->c, n,
		      "invalid group '%s' in 'groups' (expected a group name of letters, digits, "
		      "'_', '-', '.', at most %d characters, or a gid)",
		      y_quote(n, q, sizeof(q)), SPEC_GROUP_NAME_MAX);
		return NULL;
	}
	return y_strdup(p->c, s);
}

static void parse_groups(struct sp *p, const struct ynode *v)
{
	const struct ynode **at; /* where each kept group was written */
	char **out, q[80];
	size_t n = 0;

	if (v->type == YNODE_SCALAR) {
		y_err(p->c, v, "'groups' must be a list; write groups: [%s]",
		      y_quote(v, q, sizeof(q)));
		return;
	}
	if (!y_want(p->c, v, YNODE_SEQUENCE, "groups"))
		return;
	if (v->n > SPEC_GROUPS_MAX) {
		y_err(p->c, v, "'groups' has too many items (at most %d)", SPEC_GROUPS_MAX);
		return;
	}
	out = calloc(v->n + 1, sizeof(*out));
	at = calloc(v->n + 1, sizeof(*at));
	if (!out || !at) {
		free(out);
		free(at);
		p->c->oom = true;
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		char *g = parse_group(p, v->items[i]);
		size_t k = 0;

		if (!g)
			continue;
		while (k < n && strcmp(out[k], g) != 0)
			k++;
		if (k < n) {
			y_err(p->c, v->items[i],
			      "group '%s' listed twice (first at line %d, column %d)", g,
			      at[k]->line, at[k]->column);
			free(g);
			continue;
		}
		at[n] = v->items[i];
		out[n++] = g;
	}
	free(at);
	config_strv_free(p->s->groups);
	p->s->groups = out;
	p->s->ngroups = n;
}

static void parse_umask(struct sp *p, const struct ynode *v)
{
	const char *s = y_scalar(p->c, v, "umask"), *d;
	uint32_t mask = 0;
	char q[80];

	if (!s)
		return;
	d = strncmp(s, "0o", 2) == 0 ? s + 2 : s; /* YAML 1.2's octal */
	if (!*d || strlen(d) > 4)
		goto bad;
	for (; *d; d++) {
		if (*d < '0' || *d > '7')
			goto bad;
		mask = mask * 8 + (uint32_t)(*d - '0');
	}
	if (mask > 0777)
		goto bad;
	p->s->umask = mask;
	return;
bad:
	y_err(p->c, v, "invalid umask '%s' (expected an octal mode 0..0777, like \"0027\")",
	      y_quote(v, q, sizeof(q)));
}

void parse_identity(struct sp *p, const struct ynode *groups, const struct ynode *umask)
{
	if (!y_is_null(groups))
		parse_groups(p, groups);
	if (!y_is_null(umask))
		parse_umask(p, umask);
}
