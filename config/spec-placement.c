/*
 * spec-placement.c - a spec's placement: (fleet specs, issue 21):
 *
 *   placement: {count: 3, constraints: {zone: a}, spread: true}
 *
 * count 1..1000 (default 1); constraints are label KEY: VALUE pairs a node
 * must carry (the daemon config's fleet.labels); spread puts at most one
 * instance on a node.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec-internal.h"
#include "yaml-tree.h"

#define PLACEMENT_MAX_COUNT 1000
#define PLACEMENT_MAX_CONSTRAINTS 32

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A label key or value: [A-Za-z0-9._-]{1,63}, as fleet.labels. */
static bool label_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void parse_constraints(struct sp *p, const struct ynode *v)
{
	struct yctx *c = p->c;
	struct service_spec *s = p->s;

	if (!y_want(c, v, YNODE_MAPPING, "placement.constraints"))
		return;
	if (v->n > PLACEMENT_MAX_CONSTRAINTS) {
		y_err(c, v, "'placement.constraints' has %zu entries; at most %d", v->n,
		      PLACEMENT_MAX_CONSTRAINTS);
		return;
	}
	y_check_keys(c, v, "in 'placement.constraints'", NULL);
	if (!(s->placement.constraints = calloc(v->n + 1, sizeof(char *)))) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct ypair *pr = &v->pairs[i];
		const char *val;
		char *kv;

		if (!y_pair_ok(pr) || !(val = y_scalar(c, pr->value, "placement constraint")))
			continue;
		if (!label_ok(pr->key->value) || !label_ok(val)) {
			y_err(c, pr->key,
			      "placement constraint '%s: %s': labels are [A-Za-z0-9._-], at most "
			      "63 characters",
			      pr->key->value, val);
			continue;
		}
		if (asprintf(&kv, "%s=%s", pr->key->value, val) < 0) {
			c->oom = true;
			return;
		}
		s->placement.constraints[s->placement.nconstraints++] = kv;
	}
	qsort(s->placement.constraints, s->placement.nconstraints, sizeof(char *), cmp_str);
}

void parse_placement(struct sp *p, const struct ynode *v)
{
	static const char *const keys[] = { "count", "constraints", "spread", NULL };
	struct yctx *c = p->c;
	struct service_spec *s = p->s;
	const struct ynode *x;
	uint64_t u;

	if (!y_want(c, v, YNODE_MAPPING, "placement"))
		return;
	y_check_keys(c, v, "in 'placement'", keys);
	s->placement.set = true;
	s->placement.count = 1;
	if (!y_is_null(x = y_get(v, "count", NULL)) &&
	    y_uint(c, x, "placement.count", 1, PLACEMENT_MAX_COUNT, &u))
		s->placement.count = (uint32_t)u;
	if (!y_is_null(x = y_get(v, "constraints", NULL)))
		parse_constraints(p, x);
	if (!y_is_null(x = y_get(v, "spread", NULL)))
		y_bool(c, x, "placement.spread", &s->placement.spread);
}
