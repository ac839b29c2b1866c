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

#include "spec-internal.h"
#include "units.h"
#include "yaml-tree.h"

#define DEFAULT_SERVICES_DIR "/etc/paddock/services"
#define DEFAULT_STATE_DIR "/var/lib/paddock"
#define DEFAULT_RUNTIME_DIR "/run/paddock"
#define DEFAULT_SECRETS_DIR "/etc/paddock/secrets"
#define HOUR_MS 3600000ULL
#define DEFAULT_BRIDGE "paddock0"
#define BRIDGE_NAME_MAX 15 /* IFNAMSIZ - 1 */

static void netdefs_free(struct spec_netdef *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].bridge);
	}
	free(v);
}

/* The built-in network 'default': 10.89.0.0/16 on bridge paddock0. */
static int netdef_builtin(struct spec_netdef *n)
{
	*n = (struct spec_netdef){ .subnet = SPEC_NET_DEFAULT_SUBNET,
				   .prefix = SPEC_NET_DEFAULT_PREFIX,
				   .gateway = SPEC_NET_DEFAULT_SUBNET + 1,
				   .mtu = 1500,
				   .masquerade = true };
	n->name = strdup(SPEC_NET_DEFAULT);
	n->bridge = strdup(DEFAULT_BRIDGE);
	return n->name && n->bridge ? 0 : -ENOMEM;
}

static void registries_free(struct spec_registry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].host);
		config_strv_free(v[i].mirrors);
	}
	free(v);
}

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
	netdefs_free(cfg->networks, cfg->nnetworks);
	free(cfg->images.auth_file);
	free(cfg->images.certs_dir);
	registries_free(cfg->registries, cfg->nregistries);
	free(cfg->secrets_dir);
	config_strv_free(cfg->profiles);
	daemon_api_free(cfg);
	daemon_fleet_free(cfg);
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
	cfg->secrets_dir = strdup(DEFAULT_SECRETS_DIR);
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
	cfg->networks = calloc(1, sizeof(*cfg->networks));
	if (cfg->networks) {
		cfg->nnetworks = 1;
		if (netdef_builtin(&cfg->networks[0]) < 0)
			return daemon_config_free(cfg);
	}
	if (!cfg->services_dir || !cfg->state_dir || !cfg->runtime_dir || !cfg->networks ||
	    !cfg->secrets_dir)
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

/* Where a network's fields sit, for the checks between networks. */
struct netpos {
	const struct ynode *key, *subnet, *bridge; /* NULL for the built-in default */
};

/* Link names the kernel takes and tools print unquoted: [A-Za-z0-9_.-]{1,15}. */
static bool valid_bridge_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > BRIDGE_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

/* "A.B.C.D/PREFIX", prefix 8..30, host bits zero. */
static bool parse_subnet(struct yctx *c, const struct ynode *x, const char *net,
			 struct spec_netdef *n)
{
	const char *slash;
	char q[80], addr[20], a[16];
	unsigned prefix = 0;
	uint32_t ip, mask;
	size_t len;

	if (!y_scalar(c, x, "subnet"))
		return false;
	slash = strchr(x->value, '/');
	len = slash ? (size_t)(slash - x->value) : 0;
	if (slash && len < sizeof(addr)) {
		memcpy(addr, x->value, len);
		addr[len] = '\0';
		for (const char *p = slash + 1; *p >= '0' && *p <= '9' && prefix <= 32; p++)
			prefix = prefix * 10 + (unsigned)(*p - '0');
	}
	if (!slash || len >= sizeof(addr) || !config_parse_ipv4(addr, &ip) || slash[1] < '0' ||
	    slash[1] > '9' || strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
	    strlen(slash + 1) > 2 || prefix > 32) {
		y_err(c, x,
		      "invalid subnet '%s' for network '%s' (expected A.B.C.D/PREFIX, like "
		      "10.90.0.0/24)",
		      y_quote(x, q, sizeof(q)), net);
		return false;
	}
	if (prefix < 8 || prefix > 30) {
		y_err(c, x, "subnet '%s' of network '%s': the prefix must be between 8 and 30",
		      y_quote(x, q, sizeof(q)), net);
		return false;
	}
	mask = config_netmask(prefix);
	if (ip & ~mask) {
		y_err(c, x, "%s: host bits set; did you mean %s/%u", y_quote(x, q, sizeof(q)),
		      config_format_ipv4(ip & mask, a), prefix);
		return false;
	}
	n->subnet = ip;
	n->prefix = (uint8_t)prefix;
	return true;
}

static bool parse_gateway(struct yctx *c, const struct ynode *x, struct spec_netdef *n)
{
	uint32_t ip, mask = config_netmask(n->prefix);
	char q[80], a[16];

	if (!y_scalar(c, x, "gateway"))
		return false;
	if (!config_parse_ipv4(x->value, &ip)) {
		y_err(c, x, "invalid gateway '%s' for network '%s' (expected A.B.C.D)",
		      y_quote(x, q, sizeof(q)), n->name);
		return false;
	}
	if ((ip & mask) != n->subnet) {
		y_err(c, x, "gateway %s is outside network '%s' (%s/%u)", x->value, n->name,
		      config_format_ipv4(n->subnet, a), n->prefix);
		return false;
	}
	if (ip == n->subnet || ip == (n->subnet | ~mask)) {
		y_err(c, x, "gateway %s is the %s address of network '%s'", x->value,
		      ip == n->subnet ? "network" : "broadcast", n->name);
		return false;
	}
	n->gateway = ip;
	return true;
}

/* One NAME: {subnet, gateway, mtu, internal, masquerade, bridge}. false on error. */
static bool parse_network(struct yctx *c, const struct ypair *pr, struct spec_netdef *n,
			  struct netpos *pos)
{
	static const char *const keys[] = { "subnet",	  "gateway", "mtu", "internal",
					    "masquerade", "bridge",  NULL };
	const struct ynode *m = pr->value, *x, *masq;
	const char *name = pr->key->value;
	size_t errors = c->nerrors;
	char q[80], what[96];
	uint64_t u;

	*pos = (struct netpos){ .key = pr->key };
	if (strcmp(name, SPEC_NET_DEFAULT) == 0) {
		/* 'default' may change a field or two and keep the rest built in. */
		if (netdef_builtin(n) < 0) {
			c->oom = true;
			return false;
		}
	} else {
		*n = (struct spec_netdef){ .mtu = 1500 };
		n->name = y_strdup(c, name);
	}
	n->line = pr->key->line;
	n->column = pr->key->column;
	if (!config_valid_name(name))
		y_err(c, pr->key,
		      "invalid network name '%s' (1-63 characters of a-z, 0-9, '_' and '-', "
		      "starting with a letter or digit)",
		      y_quote(pr->key, q, sizeof(q)));
	snprintf(what, sizeof(what), "network '%s'", y_quote(pr->key, q, sizeof(q)));
	if (y_is_null(m)) {
		/* 'default:' alone is the built-in default; anything else needs a subnet. */
		if (!n->subnet)
			y_err(c, pr->key, "network '%s' needs a 'subnet'", name);
		return c->nerrors == errors && !c->oom && n->name && n->bridge;
	}
	if (!y_want(c, m, YNODE_MAPPING, what))
		return false;
	snprintf(what, sizeof(what), "in network '%s'", name);
	y_check_keys(c, m, what, keys);

	x = y_get(m, "subnet", NULL);
	pos->subnet = x;
	if (!y_is_null(x)) {
		if (!parse_subnet(c, x, name, n))
			return false;
		n->gateway = n->subnet + 1;
	} else if (!n->subnet) {
		y_err(c, pr->key, "network '%s' needs a 'subnet'", name);
		return false;
	}
	x = y_get(m, "gateway", NULL);
	if (!y_is_null(x))
		parse_gateway(c, x, n);
	x = y_get(m, "mtu", NULL);
	snprintf(what, sizeof(what), "networks.%s.mtu", name);
	if (!y_is_null(x) && y_uint(c, x, what, 576, 65535, &u))
		n->mtu = (uint32_t)u;
	x = y_get(m, "internal", NULL);
	snprintf(what, sizeof(what), "networks.%s.internal", name);
	if (!y_is_null(x))
		y_bool(c, x, what, &n->internal);
	n->masquerade = !n->internal;
	masq = y_get(m, "masquerade", NULL);
	snprintf(what, sizeof(what), "networks.%s.masquerade", name);
	if (!y_is_null(masq) && y_bool(c, masq, what, &n->masquerade) && n->internal &&
	    n->masquerade)
		y_err(c, masq,
		      "'masquerade: true' contradicts 'internal: true' in network '%s': an "
		      "internal network has no way out",
		      name);

	x = y_get(m, "bridge", NULL);
	if (!y_is_null(x)) {
		pos->bridge = x;
		if (!y_scalar(c, x, "bridge"))
			return false;
		if (!valid_bridge_name(x->value)) {
			y_err(c, x,
			      "invalid bridge name '%s' for network '%s' (1-15 characters of "
			      "A-Z, a-z, 0-9, '_', '.' and '-')",
			      y_quote(x, q, sizeof(q)), name);
			return false;
		}
		free(n->bridge);
		n->bridge = y_strdup(c, x->value);
	} else if (!n->bridge && asprintf(&n->bridge, "pd-%.12s", name) < 0) {
		n->bridge = NULL;
		c->oom = true;
	}
	return c->nerrors == errors && !c->oom && n->name && n->bridge;
}

static int netdef_cmp(const void *a, const void *b)
{
	return strcmp(((const struct spec_netdef *)a)->name, ((const struct spec_netdef *)b)->name);
}

static bool subnets_overlap(const struct spec_netdef *a, const struct spec_netdef *b)
{
	uint32_t mask = config_netmask(a->prefix < b->prefix ? a->prefix : b->prefix);

	return (a->subnet & mask) == (b->subnet & mask);
}

/* Overlapping subnets and shared bridges; reported at the later network. */
static void check_network_pairs(struct yctx *c, const struct spec_netdef *v,
				const struct netpos *pos, size_t n)
{
	char a[16], b[16];

	for (size_t j = 1; j < n; j++) {
		for (size_t i = 0; i < j; i++) {
			/* The built-in default (no key) sits first: it is never "later". */
			const struct ynode *at = pos[j].subnet ? pos[j].subnet : pos[j].key;

			if (subnets_overlap(&v[i], &v[j])) {
				if (pos[i].key)
					y_err(c, at,
					      "subnet %s/%u of network '%s' overlaps network "
					      "'%s' (%s/%u at line %d)",
					      config_format_ipv4(v[j].subnet, a), v[j].prefix,
					      v[j].name, v[i].name,
					      config_format_ipv4(v[i].subnet, b), v[i].prefix,
					      pos[i].key->line);
				else
					y_err(c, at,
					      "subnet %s/%u of network '%s' overlaps the built-in "
					      "network 'default' (%s/%u); pick another subnet or "
					      "define 'default'",
					      config_format_ipv4(v[j].subnet, a), v[j].prefix,
					      v[j].name, config_format_ipv4(v[i].subnet, b),
					      v[i].prefix);
			}
			at = pos[j].bridge ? pos[j].bridge : pos[j].key;
			if (strcmp(v[i].bridge, v[j].bridge) == 0) {
				if (pos[i].key)
					y_err(c, at,
					      "bridge '%s' of network '%s' is the bridge of "
					      "network '%s' too (line %d); set 'bridge' to tell "
					      "them apart",
					      v[j].bridge, v[j].name, v[i].name, pos[i].key->line);
				else
					y_err(c, at,
					      "bridge '%s' of network '%s' is the bridge of the "
					      "built-in network 'default'",
					      v[j].bridge, v[j].name);
			}
		}
	}
}

static void parse_networks(struct yctx *c, const struct ynode *m, struct daemon_config *cfg)
{
	struct spec_netdef *v = NULL;
	struct netpos *pos = NULL;
	size_t n = 0, count = 0;
	bool has_default = false;

	if (!y_want(c, m, YNODE_MAPPING, "networks"))
		return;
	y_check_keys(c, m, "in 'networks'", NULL);
	for (size_t i = 0; i < m->n; i++)
		if (y_pair_ok(&m->pairs[i]) &&
		    strcmp(m->pairs[i].key->value, SPEC_NET_DEFAULT) == 0)
			has_default = true;
	v = calloc(m->n + 1, sizeof(*v));
	pos = calloc(m->n + 1, sizeof(*pos));
	if (!v || !pos) {
		c->oom = true;
		goto out;
	}
	/* The built-in default goes first: the pair checks report at the later one. */
	if (!has_default && netdef_builtin(&v[n++]) < 0) {
		c->oom = true;
		goto out;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct ypair *pr = &m->pairs[i];

		if (!y_pair_ok(pr))
			continue;
		if (++count + (has_default ? 0 : 1) > SPEC_MAX_NETWORKS) {
			y_err(c, pr->key, "too many networks (at most %d, counting '%s')",
			      SPEC_MAX_NETWORKS, SPEC_NET_DEFAULT);
			break;
		}
		if (parse_network(c, pr, &v[n], &pos[n])) {
			n++;
		} else {
			free(v[n].name);
			free(v[n].bridge);
			memset(&v[n], 0, sizeof(v[n]));
		}
	}
	if (!c->oom)
		check_network_pairs(c, v, pos, n);
	qsort(v, n, sizeof(*v), netdef_cmp);
	netdefs_free(cfg->networks, cfg->nnetworks);
	cfg->networks = v;
	cfg->nnetworks = n;
	v = NULL;
	n = 0;
out:
	netdefs_free(v, n);
	free(pos);
}

/* One HOST[:PORT]: {mirrors: [HOST[:PORT][/PREFIX]...], insecure: bool}. false on error. */
static bool parse_registry(struct yctx *c, const struct ypair *pr, struct spec_registry *r)
{
	static const char *const keys[] = { "mirrors", "insecure", NULL };
	const struct ynode *m = pr->value, *x;
	const char *host = pr->key->value;
	size_t errors = c->nerrors;
	char q[80], what[300];

	*r = (struct spec_registry){ .line = pr->key->line, .column = pr->key->column };
	if (!config_valid_registry_host(host, strlen(host))) {
		y_err(c, pr->key,
		      "invalid registry '%s' (expected HOST or HOST:PORT: letters, digits, '-' "
		      "and '.' or [IPv6]; port 1..65535)",
		      y_quote(pr->key, q, sizeof(q)));
		return false;
	}
	r->host = y_strdup(c, host);
	snprintf(what, sizeof(what), "registries.%s", host);
	if (!y_want(c, m, YNODE_MAPPING, what))
		return false;
	snprintf(what, sizeof(what), "in registry '%s'", host);
	y_check_keys(c, m, what, keys);
	x = y_get(m, "insecure", NULL);
	snprintf(what, sizeof(what), "registries.%s.insecure", host);
	if (!y_is_null(x))
		y_bool(c, x, what, &r->insecure);
	x = y_get(m, "mirrors", NULL);
	snprintf(what, sizeof(what), "registries.%s.mirrors", host);
	if (!y_is_null(x) && x->type == YNODE_SCALAR)
		y_err(c, x, "'%s' must be a list; write it as mirrors: [\"%s\"]", what,
		      y_quote(x, q, sizeof(q)));
	else if (!y_is_null(x) && y_argv(c, x, what, false, &r->mirrors, &r->nmirrors)) {
		if (r->nmirrors > SPEC_MAX_MIRRORS)
			y_err(c, x, "too many mirrors for registry '%s' (at most %d)", host,
			      SPEC_MAX_MIRRORS);
		for (size_t i = 0; i < r->nmirrors && i < x->n; i++) {
			const struct ynode *item = x->items[i];

			if (!config_valid_registry_mirror(r->mirrors[i]))
				y_err(c, item,
				      "invalid mirror '%s' for registry '%s' (expected "
				      "HOST[:PORT][/PREFIX], PREFIX lowercase components joined "
				      "by '/')",
				      y_quote(item, q, sizeof(q)), host);
			for (size_t j = 0; j < i; j++)
				if (strcmp(r->mirrors[i], r->mirrors[j]) == 0) {
					y_err(c, item,
					      "mirror '%s' is listed twice for registry '%s'",
					      y_quote(item, q, sizeof(q)), host);
					break;
				}
		}
	}
	return c->nerrors == errors && !c->oom && r->host;
}

static int registry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct spec_registry *)a)->host,
		      ((const struct spec_registry *)b)->host);
}

static void parse_registries(struct yctx *c, const struct ynode *m, struct daemon_config *cfg)
{
	struct spec_registry *v;
	size_t n = 0, count = 0;

	if (!y_want(c, m, YNODE_MAPPING, "registries"))
		return;
	y_check_keys(c, m, "in 'registries'", NULL);
	v = calloc(m->n + 1, sizeof(*v));
	if (!v) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct ypair *pr = &m->pairs[i];

		if (!y_pair_ok(pr) || y_is_null(pr->value))
			continue;
		if (++count > SPEC_MAX_REGISTRIES) {
			y_err(c, pr->key, "too many registries (at most %d)", SPEC_MAX_REGISTRIES);
			break;
		}
		if (parse_registry(c, pr, &v[n])) {
			n++;
		} else {
			free(v[n].host);
			config_strv_free(v[n].mirrors);
			memset(&v[n], 0, sizeof(v[n]));
		}
	}
	qsort(v, n, sizeof(*v), registry_cmp);
	registries_free(cfg->registries, cfg->nregistries);
	cfg->registries = v;
	cfg->nregistries = n;
}

/* profiles: names of the profiles active at start, each once. */
static void parse_profiles(struct yctx *c, const struct ynode *x, struct daemon_config *cfg)
{
	char **v = NULL;
	size_t n = 0;
	char q[80];

	if (y_is_null(x) || !y_argv(c, x, "profiles", false, &v, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		const struct ynode *item = x->items[i];

		if (!config_valid_name(v[i]))
			y_err(c, item,
			      "invalid profile name '%s' in 'profiles' (expected "
			      "[a-z0-9][a-z0-9_-]*, at most 63 characters)",
			      y_quote(item, q, sizeof(q)));
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[i], v[j]) == 0)
				y_err(c, item, "profile '%s' is listed twice in 'profiles'",
				      y_quote(item, q, sizeof(q)));
	}
	config_strv_free(cfg->profiles);
	cfg->profiles = v;
	cfg->nprofiles = n;
}

static void parse_daemon(struct yctx *c, const struct ynode *root, struct daemon_config *cfg)
{
	static const char *const keys[] = {
		"services_dir", "state_dir",  "runtime_dir",	"cgroup_root", "metrics",
		"budget",	"log",	      "probe_interval", "images",      "rebalance",
		"networks",	"registries", "secrets_dir",	"profiles",    "api",
		"fleet",	NULL
	};
	static const char *const rebalance_keys[] = { "mode", "drift", "working_set_target", NULL };
	static const char *const modes[] = { "off", "observe", "enforce", NULL };
	static const char *const drifts[] = { "reassert", "adopt", NULL };
	static const char *const images_keys[] = { "max_json_size", "max_layer_size", "auth_file",
						   "certs_dir",	    "pull_parallel",  NULL };
	static const char *const metrics_keys[] = { "listen", NULL };
	static const char *const budget_keys[] = { "memory", "reserve", "cpu", NULL };
	static const char *const log_keys[] = { "max_size", "keep", "pipe_size", NULL };
	static const char *const dirs[] = { "services_dir", "state_dir", "runtime_dir",
					    "cgroup_root", "secrets_dir" };
	char **dir_fields[] = { &cfg->services_dir, &cfg->state_dir, &cfg->runtime_dir,
				&cfg->cgroup_root, &cfg->secrets_dir };
	const struct ynode *x, *m;
	char q[80];
	uint64_t u;

	if (y_is_null(root))
		return;
	if (!y_want(c, root, YNODE_MAPPING, "the top level"))
		return;
	y_check_keys(c, root, "in the daemon config", keys);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		x = y_get(root, dirs[i], NULL);
		/* cgroup_root may be relative: to paddockd's own cgroup, per hierarchy. */
		if (!y_is_null(x))
			y_string(c, x, dirs[i], i != 3, dir_fields[i]);
	}
	parse_profiles(c, y_get(root, "profiles", NULL), cfg);
	parse_daemon_api(c, y_get(root, "api", NULL), cfg);
	parse_daemon_fleet(c, y_get(root, "fleet", NULL), cfg);
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
		x = y_get(m, "auth_file", NULL);
		if (!y_is_null(x))
			y_string(c, x, "images.auth_file", true, &cfg->images.auth_file);
		x = y_get(m, "certs_dir", NULL);
		if (!y_is_null(x))
			y_string(c, x, "images.certs_dir", true, &cfg->images.certs_dir);
		x = y_get(m, "pull_parallel", NULL);
		if (!y_is_null(x) &&
		    y_uint(c, x, "images.pull_parallel", 1, SPEC_PULL_PARALLEL_MAX, &u))
			cfg->images.pull_parallel = (uint32_t)u;
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

	m = y_get(root, "networks", NULL);
	if (!y_is_null(m))
		parse_networks(c, m, cfg);
	m = y_get(root, "registries", NULL);
	if (!y_is_null(m))
		parse_registries(c, m, cfg);

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
