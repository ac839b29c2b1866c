/*
 * daemon-fleet.c - the daemon config's fleet: section (issue 21):
 *
 *   fleet:
 *     etcd: [http://127.0.0.1:2379, ...]   # required, 1..16 endpoints
 *     tls: {ca: /abs.pem, cert: /abs.pem, key: /abs.pem}
 *     node: web-1                           # default: the hostname
 *     labels: {zone: a, disk: ssd}
 *     lease_ttl: 10s                        # 3 s .. 5 min
 *
 * Names and labels become etcd key parts, so they are restricted to
 * [A-Za-z0-9._-] (no '/', nothing a key reader would have to escape).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec-internal.h"
#include "yaml-tree.h"

#define FLEET_MAX_ENDPOINTS 16
#define FLEET_MAX_LABELS 32
#define FLEET_NAME_MAX 63
#define FLEET_DEFAULT_TTL_MS 10000
#define FLEET_MIN_TTL_MS 3000 /* fencing needs TTL minus a margin of 1 s to stay useful */
#define FLEET_MAX_TTL_MS 300000

/* [A-Za-z0-9._-]{1,63}, not starting with '.' or '-'. */
static bool fleet_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > FLEET_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* "http://HOST:PORT" or "https://HOST:PORT", nothing after the port. */
static bool endpoint_ok(const char *s)
{
	const char *rest;

	if (!strncmp(s, "http://", 7))
		rest = s + 7;
	else if (!strncmp(s, "https://", 8))
		rest = s + 8;
	else
		return false;
	const char *colon = strrchr(rest, ':');
	if (!colon || colon == rest || colon[1] == '\0' || strlen(colon + 1) > 5)
		return false;
	for (const char *p = rest; p < colon; p++)
		if (*p == '/' || *p == '@' || *p == '?' || *p == '#' || (unsigned char)*p <= ' ')
			return false;
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return atoi(colon + 1) > 0 && atoi(colon + 1) < 65536;
}

static void parse_endpoints(struct yctx *c, const struct ynode *v, struct daemon_config *cfg)
{
	if (y_is_null(v)) {
		y_err(c, v, "'fleet.etcd' is required: the etcd endpoints to join");
		return;
	}
	if (!y_argv(c, v, "fleet.etcd", true, &cfg->fleet.etcd, &cfg->fleet.netcd))
		return;
	if (cfg->fleet.netcd > FLEET_MAX_ENDPOINTS)
		y_err(c, v, "'fleet.etcd' lists %zu endpoints; at most %d", cfg->fleet.netcd,
		      FLEET_MAX_ENDPOINTS);
	for (size_t i = 0; i < v->n && v->type == YNODE_SEQUENCE; i++)
		if (!endpoint_ok(v->items[i]->value))
			y_err(c, v->items[i],
			      "'fleet.etcd' endpoint '%s': expected http://HOST:PORT or "
			      "https://HOST:PORT",
			      v->items[i]->value);
}

static void parse_tls(struct yctx *c, const struct ynode *v, struct daemon_config *cfg)
{
	static const char *const keys[] = { "ca", "cert", "key", NULL };

	if (y_is_null(v) || !y_want(c, v, YNODE_MAPPING, "fleet.tls"))
		return;
	y_check_keys(c, v, "in 'fleet.tls'", keys);
	const struct ynode *x;
	if (!y_is_null(x = y_get(v, "ca", NULL)))
		y_string(c, x, "fleet.tls.ca", true, &cfg->fleet.tls_ca);
	if (!y_is_null(x = y_get(v, "cert", NULL)))
		y_string(c, x, "fleet.tls.cert", true, &cfg->fleet.tls_cert);
	if (!y_is_null(x = y_get(v, "key", NULL)))
		y_string(c, x, "fleet.tls.key", true, &cfg->fleet.tls_key);
	if (!cfg->fleet.tls_cert != !cfg->fleet.tls_key)
		y_err(c, v, "'fleet.tls' needs both 'cert' and 'key' for a client certificate");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void parse_labels(struct yctx *c, const struct ynode *v, struct daemon_config *cfg)
{
	if (y_is_null(v) || !y_want(c, v, YNODE_MAPPING, "fleet.labels"))
		return;
	if (v->n > FLEET_MAX_LABELS) {
		y_err(c, v, "'fleet.labels' has %zu labels; at most %d", v->n, FLEET_MAX_LABELS);
		return;
	}
	cfg->fleet.labels = calloc(v->n + 1, sizeof(char *));
	if (!cfg->fleet.labels) {
		c->oom = true;
		return;
	}
	y_check_keys(c, v, "in 'fleet.labels'", NULL);
	for (size_t i = 0; i < v->n; i++) {
		const struct ypair *p = &v->pairs[i];
		const char *val;

		if (!y_pair_ok(p))
			continue;
		if (!fleet_name_ok(p->key->value)) {
			y_err(c, p->key,
			      "label '%s': expected [A-Za-z0-9._-], at most %d characters",
			      p->key->value, FLEET_NAME_MAX);
			continue;
		}
		if (!(val = y_scalar(c, p->value, "label value")))
			continue;
		if (!fleet_name_ok(val)) {
			y_err(c, p->value,
			      "label '%s': value '%s': expected [A-Za-z0-9._-], at most %d "
			      "characters",
			      p->key->value, val, FLEET_NAME_MAX);
			continue;
		}
		char *kv;
		if (asprintf(&kv, "%s=%s", p->key->value, val) < 0) {
			c->oom = true;
			return;
		}
		cfg->fleet.labels[cfg->fleet.nlabels++] = kv;
	}
	qsort(cfg->fleet.labels, cfg->fleet.nlabels, sizeof(char *), cmp_str);
}

void parse_daemon_fleet(struct yctx *c, const struct ynode *v, struct daemon_config *cfg)
{
	static const char *const keys[] = { "etcd", "tls", "node", "labels", "lease_ttl", NULL };
	const struct ynode *x;

	cfg->fleet.lease_ttl_ms = FLEET_DEFAULT_TTL_MS;
	if (y_is_null(v) || !y_want(c, v, YNODE_MAPPING, "fleet"))
		return;
	y_check_keys(c, v, "in 'fleet'", keys);
	parse_endpoints(c, y_get(v, "etcd", NULL), cfg);
	parse_tls(c, y_get(v, "tls", NULL), cfg);
	parse_labels(c, y_get(v, "labels", NULL), cfg);
	if (!y_is_null(x = y_get(v, "node", NULL)) &&
	    y_string(c, x, "fleet.node", false, &cfg->fleet.node) &&
	    !fleet_name_ok(cfg->fleet.node))
		y_err(c, x, "'fleet.node' '%s': expected [A-Za-z0-9._-], at most %d characters",
		      cfg->fleet.node, FLEET_NAME_MAX);
	/* etcd grants leases in whole seconds: 3.9s would be granted 3 s, shorter than we fence for. */
	if (!y_is_null(x = y_get(v, "lease_ttl", NULL)) &&
	    y_duration(c, x, "fleet.lease_ttl", FLEET_MIN_TTL_MS, FLEET_MAX_TTL_MS,
		       &cfg->fleet.lease_ttl_ms) &&
	    cfg->fleet.lease_ttl_ms % 1000)
		y_err(c, x,
		      "'fleet.lease_ttl' must be whole seconds (etcd grants leases in seconds)");
}

void daemon_fleet_free(struct daemon_config *cfg)
{
	config_strv_free(cfg->fleet.etcd);
	free(cfg->fleet.tls_ca);
	free(cfg->fleet.tls_cert);
	free(cfg->fleet.tls_key);
	free(cfg->fleet.node);
	config_strv_free(cfg->fleet.labels);
	cfg->fleet.etcd = cfg->fleet.labels = NULL;
	cfg->fleet.tls_ca = cfg->fleet.tls_cert = cfg->fleet.tls_key = cfg->fleet.node = NULL;
	cfg->fleet.netcd = cfg->fleet.nlabels = 0;
}
