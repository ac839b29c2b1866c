/*
 * assets.h - files built into paddockd (supervisor/core/assets/, turned
 * into C by embed.sh at build time): the dashboard's pages, styles and
 * scripts, and the API's OpenAPI document.
 */
#ifndef PADDOCK_ASSETS_H
#define PADDOCK_ASSETS_H

#include <stddef.h>
#include <string.h>

struct asset {
	const char *name; /* base name: "openapi.json", "dashboard.js" */
	const char *type; /* Content-Type */
	const unsigned char *data; /* len bytes and a NUL */
	size_t len;
};

/* Ends with an entry whose name is NULL. */
extern const struct asset assets[];

static inline const struct asset *asset_find(const char *name)
{
	for (const struct asset *a = assets; a->name; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

#endif
