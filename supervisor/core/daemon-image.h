/*
 * daemon-image.h - the image store's limits as the daemon configuration
 * sets them. image/ may include only common/ (supervisor/README.md), so
 * the mapping lives in core, once, for paddockd's own store and for the
 * child that prepares a service's image.
 */
#ifndef PADDOCK_DAEMON_IMAGE_H
#define PADDOCK_DAEMON_IMAGE_H

#include "image.h"

struct daemon_config;

/* images.max_json and images.max_layer of cfg; unset fields take the image defaults. */
struct image_limits daemon_image_limits(const struct daemon_config *cfg);

#endif
