/*
 * spec-health.c - health: a liveness check (see spec.h struct spec_health).
 *
 *   health: {exec: [...] | tcp: PORT | http: {port, path, status},
 *            interval, timeout, retries, start_period, on_unhealthy}
 *
 * Exactly one of exec, tcp and http; intervals and timeouts at least
 * 100ms. Defaults are set here, as the fields mean nothing without a check.
 */
#include <string.h>

#include "spec-internal.h"

#define HEALTH_MIN_MS 100
#define HEALTH_MAX_MS (24 * 3600 * 1000ULL)

static void parse_http(struct sp *p, const struct ynode *v)
{
	static const char *const keys[] = { "port", "path", "status", NULL };
	struct spec_health *h = &p->s->health;
	struct yctx *c = p->c;
	const struct ynode *x;
	uint64_t u;

	if (v->type == YNODE_SCALAR) {
		/* http: PORT is short for {port: PORT} */
		if (y_uint(c, v, "health.http", 1, 65535, &u)) {
			h->port = (uint16_t)u;
			h->type = HEALTH_HTTP;
		}
		return;
	}
	if (!y_want(c, v, YNODE_MAPPING, "health.http"))
		return;
	y_check_keys(c, v, "in 'health.http'", keys);
	x = y_get(v, "port", NULL);
	if (y_is_null(x)) {
		y_err(c, v, "'health.http' needs a port");
		return;
	}
	if (!y_uint(c, x, "health.http.port", 1, 65535, &u))
		return;
	h->port = (uint16_t)u;
	x = y_get(v, "path", NULL);
	if (!y_is_null(x)) {
		const char *s = y_scalar(c, x, "health.http.path");

		if (!s)
			return;
		if (s[0] != '/' || strpbrk(s, " \t\r\n")) {
			y_err(c, x, "'health.http.path' must start with '/' and hold no spaces");
			return;
		}
		if (!y_string(c, x, "health.http.path", false, &h->http_path))
			return;
	}
	x = y_get(v, "status", NULL);
	if (!y_is_null(x)) {
		if (!y_uint(c, x, "health.http.status", 100, 599, &u))
			return;
		h->http_status = (uint16_t)u;
	}
	h->type = HEALTH_HTTP;
}

void parse_health(struct sp *p, const struct ynode *v)
{
	static const char *const keys[] = { "exec",	    "tcp",	    "http",
					    "interval",	    "timeout",	    "retries",
					    "start_period", "on_unhealthy", NULL };
	static const char *const actions[] = { "restart", "stop", "none", NULL };
	struct spec_health *h = &p->s->health;
	struct yctx *c = p->c;
	const struct ynode *x, *k, *chosen = NULL;
	uint64_t u;
	int e;

	h->interval_ms = 30000;
	h->timeout_ms = 30000;
	h->start_period_ms = 0;
	h->retries = 3;
	h->on_unhealthy = ON_UNHEALTHY_RESTART;
	if (!y_want(c, v, YNODE_MAPPING, "health"))
		return;
	y_check_keys(c, v, "in 'health'", keys);
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
			      "'health' takes only one of exec, tcp and http ('%s' at line %d, "
			      "column %d)",
			      chosen->value, chosen->line, chosen->column);
			continue;
		}
		chosen = k;
		if (i == 0) {
			if (y_argv(c, x, "health.exec", true, &h->exec, &(size_t){ 0 }))
				h->type = HEALTH_EXEC;
		} else if (i == 1) {
			if (y_uint(c, x, "health.tcp", 1, 65535, &u)) {
				h->type = HEALTH_TCP;
				h->port = (uint16_t)u;
			}
		} else {
			parse_http(p, x);
		}
	}
	if (!chosen)
		y_err(c, v, "'health' needs one of exec, tcp or http");
	if (h->type == HEALTH_HTTP && !h->http_path)
		h->http_path = y_strdup(c, "/");
	x = y_get(v, "interval", NULL);
	if (!y_is_null(x))
		y_duration(c, x, "health.interval", HEALTH_MIN_MS, HEALTH_MAX_MS, &h->interval_ms);
	x = y_get(v, "timeout", NULL);
	if (!y_is_null(x))
		y_duration(c, x, "health.timeout", HEALTH_MIN_MS, HEALTH_MAX_MS, &h->timeout_ms);
	x = y_get(v, "start_period", NULL);
	if (!y_is_null(x))
		y_duration(c, x, "health.start_period", 0, HEALTH_MAX_MS, &h->start_period_ms);
	x = y_get(v, "retries", NULL);
	if (!y_is_null(x) && y_uint(c, x, "health.retries", 1, 1000, &u))
		h->retries = (uint32_t)u;
	x = y_get(v, "on_unhealthy", NULL);
	if (!y_is_null(x) && y_enum(c, x, "health.on_unhealthy", actions, &e))
		h->on_unhealthy = (enum spec_on_unhealthy)e;
}
