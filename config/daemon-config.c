/*
 * daemon-config.c - paddockd's own configuration file -> struct
 * daemon_config. Same rules as service specs: unknown and duplicate keys
 * are errors, every error has file:line:column, any error returns nothing.
 * Defaults are listed at the top of config.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, vasprintf */
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"
#include "yaml-tree.h"

#define DEFAULT_SERVICES_DIR "/etc/paddock/services"
#define DEFAULT_STATE_DIR "/var/lib/paddock"
#define DEFAULT_RUNTIME_DIR "/run/paddock"
#define HOUR_MS 3600000ULL

struct daemon_config *daemon_config_free(struct daemon_config *cfg)
{
	if (!cfg)
		return NULL;
	free(cfg->file);
	free(cfg->services_dir);
	free(cfg->state_dir);
	free(cfg->runtime_dir);
	free(cfg->cgroup_root);
	free(cfg->metrics_listen);
	free(cfg);
	return NULL;
}

struct daemon_config *daemon_config_new_defaults(void)
{
	struct daemon_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->services_dir = strdup(DEFAULT_SERVICES_DIR);
	cfg->state_dir = strdup(DEFAULT_STATE_DIR);
	cfg->runtime_dir = strdup(DEFAULT_RUNTIME_DIR);
	cfg->budget.memory = SPEC_UNSET;
	cfg->budget.reserve = 256ULL << 20;
	cfg->budget.cpu_mcpu = 0;
	cfg->log.max_size = 8ULL << 20;
	cfg->log.keep = 3;
	/* 10 s of 2,000 lines/s of 200 bytes: a daemon outage blocks no writer. */
	cfg->log.pipe_size = 4ULL << 20;
	cfg->probe_interval_ms = 1000;
	/* Observe by default: every decision is logged with its inputs, nothing is written
	 * until the operator has seen what enforce would do and turns it on. */
	cfg->rebalance.mode = REBALANCE_OBSERVE;
	cfg->rebalance.drift = DRIFT_REASSERT;
	cfg->rebalance.ws_target_permille = 1;
	if (!cfg->services_dir || !cfg->state_dir || !cfg->runtime_dir)
		return daemon_config_free(cfg);
	return cfg;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT"; port 1..65535. */
static bool valid_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	unsigned long port = 0;

	if (!colon || colon[1] == '\0')
		return false;
	if (s[0] == '[' && (colon == s || colon[-1] != ']'))
		return false;
	if (s[0] != '[' && memchr(s, ':', (size_t)(colon - s)))
		return false; /* bare IPv6 needs brackets */
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned long)(*p - '0');
		if (port > 65535)
			return false;
	}
	for (const char *p = s; p < colon; p++)
		if (*p == ' ' || *p == '/' || (unsigned char)*p < 0x20)
			return false;
	return port > 0;
}

static void parse_daemon(struct yctx *c, const struct ynode *root, struct daemon_config *cfg)
{
	static const char *const keys[] = {
		"services_dir", "state_dir",	  "runtime_dir", "cgroup_root", "metrics", "budget",
		"log",		"probe_interval", "images",	 "rebalance",	NULL
	};
	static const char *const rebalance_keys[] = { "mode", "drift", "working_set_target", NULL };
	static const char *const modes[] = { "off", "observe", "enforce", NULL };
	static const char *const drifts[] = { "reassert", "adopt", NULL };
	static const char *const images_keys[] = { "max_json_size", "max_layer_size", NULL };
	static const char *const metrics_keys[] = { "listen", NULL };
	static const char *const budget_keys[] = { "memory", "reserve", "cpu", NULL };
	static const char *const log_keys[] = { "max_size", "keep", "pipe_size", NULL };
	static const char *const dirs[] = { "services_dir", "state_dir", "runtime_dir",
					    "cgroup_root" };
	char **dir_fields[] = { &cfg->services_dir, &cfg->state_dir, &cfg->runtime_dir,
				&cfg->cgroup_root };
	const struct ynode *x, *m;
	char q[80];
	uint64_t u;

	if (y_is_null(root))
		return;
	if (!y_want(c, root, YNODE_MAPPING, "the top level"))
		return;
	y_check_keys(c, root, "in the daemon config", keys);
	for (size_t i = 0; i < 4; i++) {
		x = y_get(root, dirs[i], NULL);
		/* cgroup_root may be relative: to paddockd's own cgroup, per hierarchy. */
		if (!y_is_null(x))
			y_string(c, x, dirs[i], i != 3, dir_fields[i]);
	}
	if (cfg->cgroup_root && strstr(cfg->cgroup_root, "..") &&
	    (x = y_get(root, "cgroup_root", NULL)))
		y_err(c, x, "'cgroup_root' must not contain '..': it would leave our subtree");

	m = y_get(root, "metrics", NULL);
	if (!y_is_null(m) && y_want(c, m, YNODE_MAPPING, "metrics")) {
		y_check_keys(c, m, "in 'metrics'", metrics_keys);
		x = y_get(m, "listen", NULL);
		if (!y_is_null(x) && y_scalar(c, x, "metrics.listen")) {
			if (!valid_listen(x->value))
				y_err(c, x,
				      "invalid 'metrics.listen' '%s' (expected HOST:PORT, "
				      "[IPV6]:PORT or :PORT, port 1..65535)",
				      y_quote(x, q, sizeof(q)));
			else
				y_string(c, x, "metrics.listen", false, &cfg->metrics_listen);
		}
	}

	m = y_get(root, "budget", NULL);
	if (!y_is_null(m) && y_want(c, m, YNODE_MAPPING, "budget")) {
		y_check_keys(c, m, "in 'budget'", budget_keys);
		x = y_get(m, "memory", NULL);
		if (!y_is_null(x) && y_size(c, x, "budget.memory", &u))
			cfg->budget.memory = u == SPEC_SIZE_MAX ? SPEC_UNSET : u;
		x = y_get(m, "reserve", NULL);
		if (!y_is_null(x) && y_size(c, x, "budget.reserve", &u)) {
			if (u == SPEC_SIZE_MAX)
				y_err(c, x, "'budget.reserve' cannot be max");
			else
				cfg->budget.reserve = u;
		}
		x = y_get(m, "cpu", NULL);
		if (!y_is_null(x) && y_scalar(c, x, "budget.cpu")) {
			const char *why = "invalid";

			if (units_parse_cpus(x->value, &cfg->budget.cpu_mcpu, &why) < 0)
				y_err(c, x, "invalid CPU amount '%s' for 'budget.cpu': %s",
				      y_quote(x, q, sizeof(q)), why);
		}
		if (cfg->budget.memory != SPEC_UNSET && cfg->budget.reserve >= cfg->budget.memory) {
			x = y_get(m, "reserve", NULL);
			y_err(c, x ? x : y_get(m, "memory", NULL),
			      "'budget.reserve' must be below 'budget.memory'");
		}
	}

	m = y_get(root, "images", NULL);
	if (!y_is_null(m) && y_want(c, m, YNODE_MAPPING, "images")) {
		y_check_keys(c, m, "in 'images'", images_keys);
		x = y_get(m, "max_json_size", NULL);
		if (!y_is_null(x) && y_size(c, x, "images.max_json_size", &u)) {
			if (u < 4096 || u == SPEC_SIZE_MAX)
				y_err(c, x,
				      "'images.max_json_size' must be at least 4K and not max");
			else
				cfg->images.max_json = u;
		}
		x = y_get(m, "max_layer_size", NULL);
		if (!y_is_null(x) && y_size(c, x, "images.max_layer_size", &u)) {
			if (u < (1 << 20) || u == SPEC_SIZE_MAX)
				y_err(c, x,
				      "'images.max_layer_size' must be at least 1M and not max");
			else
				cfg->images.max_layer = u;
		}
	}

	m = y_get(root, "log", NULL);
	if (!y_is_null(m) && y_want(c, m, YNODE_MAPPING, "log")) {
		y_check_keys(c, m, "in 'log'", log_keys);
		x = y_get(m, "max_size", NULL);
		if (!y_is_null(x) && y_size(c, x, "log.max_size", &u)) {
			if (u < (64 << 10) || u == SPEC_SIZE_MAX)
				y_err(c, x, "'log.max_size' must be at least 64K and not max");
			else
				cfg->log.max_size = u;
		}
		x = y_get(m, "keep", NULL);
		if (!y_is_null(x) && y_uint(c, x, "log.keep", 0, 1000, &u))
			cfg->log.keep = (uint32_t)u;
		x = y_get(m, "pipe_size", NULL);
		if (!y_is_null(x) && y_size(c, x, "log.pipe_size", &u)) {
			if (u < (4 << 10) || u > (1ULL << 30))
				y_err(c, x, "'log.pipe_size' must be between 4K and 1G");
			else
				cfg->log.pipe_size = u;
		}
	}

	m = y_get(root, "rebalance", NULL);
	if (!y_is_null(m) && y_want(c, m, YNODE_MAPPING, "rebalance")) {
		int e;

		y_check_keys(c, m, "in 'rebalance'", rebalance_keys);
		x = y_get(m, "mode", NULL);
		if (!y_is_null(x) && y_enum(c, x, "rebalance.mode", modes, &e))
			cfg->rebalance.mode = (enum spec_rebalance_mode)e;
		x = y_get(m, "drift", NULL);
		if (!y_is_null(x) && y_enum(c, x, "rebalance.drift", drifts, &e))
			cfg->rebalance.drift = (enum spec_drift)e;
		x = y_get(m, "working_set_target", NULL);
		if (!y_is_null(x) && y_scalar(c, x, "rebalance.working_set_target")) {
			const char *why = "invalid";
			uint32_t pm;

			if (units_parse_percent(x->value, &pm, &why) < 0)
				y_err(c, x, "invalid 'rebalance.working_set_target' '%s': %s",
				      y_quote(x, q, sizeof(q)), why);
			else if (pm > 100)
				y_err(c, x, "'rebalance.working_set_target' must be at most 10%%");
			else
				cfg->rebalance.ws_target_permille = pm;
		}
	}

	x = y_get(root, "probe_interval", NULL);
	if (!y_is_null(x))
		y_duration(c, x, "probe_interval", 100, HOUR_MS, &cfg->probe_interval_ms);
}

int config_parse_daemon_buffer(const char *name, const char *buf, size_t len,
			       const struct config_host *host, struct daemon_config **out,
			       struct config_errors *errs)
{
	struct config_errors local = { 0 };
	struct yctx c = { .file = name ? name : "-", .errs = errs ? errs : &local, .host = host };
	struct daemon_config *cfg;
	struct ytree t;
	size_t from;
	int r;

	*out = NULL;
	from = c.errs->n;
	r = ytree_parse(&t, c.file, buf, len, c.errs);
	if (r < 0)
		goto out;
	cfg = daemon_config_new_defaults();
	if (!cfg) {
		ytree_free(&t);
		config_errors_add(c.errs, c.file, 0, 0, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	parse_daemon(&c, t.root, cfg);
	ytree_free(&t);
	y_sort_diags(c.errs, from);
	if (name && !c.oom && !(cfg->file = strdup(name)))
		c.oom = true;
	if (c.oom) {
		config_errors_add(c.errs, c.file, 0, 0, "out of memory");
		r = -ENOMEM;
	} else if (c.nerrors > 0) {
		r = -EINVAL;
	}
	if (r < 0)
		daemon_config_free(cfg);
	else
		*out = cfg;
out:
	config_errors_clear(&local);
	return r;
}

int config_load_daemon(const char *path, const struct config_host *host, struct daemon_config **out,
		       struct config_errors *errs)
{
	struct config_errors local = { 0 };
	char *buf;
	size_t len;
	int r;

	*out = NULL;
	if (!path) {
		*out = daemon_config_new_defaults();
		if (*out)
			return 0;
		config_errors_add(errs, NULL, 0, 0, "out of memory");
		return -ENOMEM;
	}
	r = config_read_file(path, &buf, &len, errs ? errs : &local);
	config_errors_clear(&local);
	if (r < 0)
		return r;
	r = config_parse_daemon_buffer(path, buf, len, host, out, errs);
	free(buf);
	return r;
}
