/*
 * daemon-api.c - the daemon config's api: section (the HTTP API, api.h):
 *
 *   api:
 *     listen: /run/paddock/api.sock     # or HOST:PORT, which needs tls
 *     tls: {cert: /etc/paddock/api.crt, key: /etc/paddock/api.key}
 *     tokens: /etc/paddock/api-tokens    # ROLE TOKEN lines
 *     max_clients: 64
 *     idle_timeout: 30s
 *     max_body: 64KiB
 *
 * Only the shape is checked here; the tokens file is read (and refused when
 * others may read it) when the daemon opens the API.
 */
#include <stdlib.h>
#include <string.h>

#include "spec-internal.h"

#define API_DEFAULT_MAX_CLIENTS 64
#define API_DEFAULT_IDLE_S 30
#define API_DEFAULT_MAX_BODY (64 * 1024)

/* HOST:PORT, [V6]:PORT or :PORT with a port 1..65535. */
static bool valid_hostport(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;

	if (!colon || colon[1] == '\0')
		return false;
	if (s[0] == '[' && (colon == s || colon[-1] != ']'))
		return false;
	port = strtoul(colon + 1, &end, 10);
	return *end == '\0' && port >= 1 && port <= 65535 && colon[1] != '+' && colon[1] != '-';
}

void parse_daemon_api(struct yctx *c, const struct ynode *v, struct daemon_config *cfg)
{
	static const char *const keys[] = { "listen",	    "tls",	"tokens", "max_clients",
					    "idle_timeout", "max_body", NULL };
	static const char *const tls_keys[] = { "cert", "key", NULL };
	const struct ynode *x, *t, *listen_node = NULL;
	uint64_t u;
	char q[128];

	cfg->api.max_clients = API_DEFAULT_MAX_CLIENTS;
	cfg->api.idle_timeout_s = API_DEFAULT_IDLE_S;
	cfg->api.max_body = API_DEFAULT_MAX_BODY;
	if (y_is_null(v) || !y_want(c, v, YNODE_MAPPING, "api"))
		return;
	y_check_keys(c, v, "in 'api'", keys);

	x = y_get(v, "listen", NULL);
	if (!y_is_null(x) && y_scalar(c, x, "api.listen")) {
		listen_node = x;
		if (x->value[0] == '/') {
			if (x->len >= 108)
				y_err(c, x, "'api.listen' '%s' is too long for a Unix socket path",
				      y_quote(x, q, sizeof(q)));
			else
				y_string(c, x, "api.listen", true, &cfg->api.listen);
		} else if (!valid_hostport(x->value)) {
			y_err(c, x,
			      "invalid 'api.listen' '%s' (expected an absolute Unix socket path, "
			      "or HOST:PORT, [IPV6]:PORT or :PORT with port 1..65535)",
			      y_quote(x, q, sizeof(q)));
		} else {
			y_string(c, x, "api.listen", false, &cfg->api.listen);
		}
	}

	t = y_get(v, "tls", NULL);
	if (!y_is_null(t) && y_want(c, t, YNODE_MAPPING, "api.tls")) {
		y_check_keys(c, t, "in 'api.tls'", tls_keys);
		if (!y_is_null(x = y_get(t, "cert", NULL)))
			y_string(c, x, "api.tls.cert", true, &cfg->api.tls_cert);
		if (!y_is_null(x = y_get(t, "key", NULL)))
			y_string(c, x, "api.tls.key", true, &cfg->api.tls_key);
		if (!cfg->api.tls_cert != !cfg->api.tls_key)
			y_err(c, t, "'api.tls' needs both 'cert' and 'key'");
	}

	if (!y_is_null(x = y_get(v, "tokens", NULL)))
		y_string(c, x, "api.tokens", true, &cfg->api.tokens);
	/*
	 * Each connection is one control client while answered; the control
	 * has 512 and keeps 64 for its Unix socket (control.h), and the list
	 * cache's build needs one more: 384 leaves room.
	 */
	if (!y_is_null(x = y_get(v, "max_clients", NULL)) &&
	    y_uint(c, x, "api.max_clients", 1, 384, &u))
		cfg->api.max_clients = (uint32_t)u;
	if (!y_is_null(x = y_get(v, "idle_timeout", NULL)) &&
	    y_duration(c, x, "api.idle_timeout", 1000, 3600 * 1000, &u))
		cfg->api.idle_timeout_s = (uint32_t)(u / 1000);
	if (!y_is_null(x = y_get(v, "max_body", NULL)) && y_size(c, x, "api.max_body", &u)) {
		if (u < 1024 || u > 64 * 1024 * 1024)
			y_err(c, x, "'api.max_body' must be 1KiB..64MiB");
		else
			cfg->api.max_body = u;
	}

	if (cfg->api.listen) {
		if (!cfg->api.tokens)
			y_err(c, listen_node,
			      "'api.listen' needs 'api.tokens' (the ROLE TOKEN file)");
		if (cfg->api.listen[0] != '/' && !cfg->api.tls_cert)
			y_err(c, listen_node,
			      "'api.listen' %s is TCP: it needs 'api.tls' with 'cert' and 'key' "
			      "(a Unix socket path needs none)",
			      cfg->api.listen);
	}
}

void daemon_api_free(struct daemon_config *cfg)
{
	free(cfg->api.listen);
	free(cfg->api.tls_cert);
	free(cfg->api.tls_key);
	free(cfg->api.tokens);
	memset(&cfg->api, 0, sizeof(cfg->api));
}
