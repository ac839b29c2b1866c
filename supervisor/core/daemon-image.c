/*
 * daemon-image.c - the image store's limits from the daemon configuration
 * (see daemon-image.h).
 */
#include "config.h"
#include "daemon-image.h"

struct image_limits daemon_image_limits(const struct daemon_config *cfg)
{
	return (struct image_limits){ .max_json_bytes = cfg->images.max_json,
				      .max_layer_bytes = cfg->images.max_layer };
}
