/*
 * daemon-image.h - the image store's limits and the registry options as
 * the daemon configuration sets them. image/ may include only common/ (supervisor/README.md), so
 * the mapping lives in core, once, for paddockd's own store and for the
 * child that prepares a service's image.
 */
#ifndef PADDOCK_DAEMON_IMAGE_H
#define PADDOCK_DAEMON_IMAGE_H

#include "image.h"

struct daemon_config;
struct service_spec;

/* images.max_json and images.max_layer of cfg; unset fields take the image defaults. */
struct image_limits daemon_image_limits(const struct daemon_config *cfg);
/*
 * The options of `paddockctl-image image prepare REF` for spec's image:
 * the limits, spec's pull policy, and cfg's images.auth_file, certs_dir,
 * pull_parallel and registries: (--insecure HOST, --mirror HOST=MIRROR).
 * NULL-terminated; free with daemon_image_args_free.
 */
char **daemon_image_prepare_args(const struct daemon_config *cfg, const struct service_spec *spec);
void daemon_image_args_free(char **v);

#endif
