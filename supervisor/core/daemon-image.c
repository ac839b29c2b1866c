/*
 * daemon-image.c - the image store's limits and the prepare helper's
 * registry options from the daemon configuration (see daemon-image.h).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "config.h"
#include "daemon-image.h"
#include "util.h"

struct image_limits daemon_image_limits(const struct daemon_config *cfg)
{
	return (struct image_limits){ .max_json_bytes = cfg->images.max_json,
				      .max_layer_bytes = cfg->images.max_layer };
}

static void add(char **v, size_t *n, const char *a, const char *b)
{
	v[(*n)++] = xstrdup(a);
	v[(*n)++] = xstrdup(b);
}

char **daemon_image_prepare_args(const struct daemon_config *cfg, const struct service_spec *spec)
{
	const struct image_limits lim = daemon_image_limits(cfg);
	size_t n = 0, cap = 12; /* 6 options with values, then the registries' */
	char **v, num[32], *m;

	for (size_t i = 0; i < cfg->nregistries; i++)
		cap += 2 * (cfg->registries[i].nmirrors + 1); /* --mirror each, --insecure */
	v = xcalloc(cap + 1, sizeof(char *));
	snprintf(num, sizeof(num), "%" PRIu64, lim.max_json_bytes);
	add(v, &n, "--max-json", num);
	snprintf(num, sizeof(num), "%" PRIu64, lim.max_layer_bytes);
	add(v, &n, "--max-layer", num);
	add(v, &n, "--pull", spec_pull_name(spec->pull));
	if (cfg->images.auth_file)
		add(v, &n, "--auth-file", cfg->images.auth_file);
	if (cfg->images.certs_dir)
		add(v, &n, "--certs-dir", cfg->images.certs_dir);
	if (cfg->images.pull_parallel) {
		snprintf(num, sizeof(num), "%" PRIu32, cfg->images.pull_parallel);
		add(v, &n, "--parallel", num);
	}
	for (size_t i = 0; i < cfg->nregistries; i++) {
		const struct spec_registry *r = &cfg->registries[i];

		if (r->insecure)
			add(v, &n, "--insecure", r->host);
		for (size_t k = 0; k < r->nmirrors; k++) {
			xasprintf(&m, "%s=%s", r->host, r->mirrors[k]);
			add(v, &n, "--mirror", m);
			free(m);
		}
	}
	return v;
}

void daemon_image_args_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}
