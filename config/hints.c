/*
 * hints.c - pointed hints for keys of other tools' vocabularies (compose
 * files, systemd units) that paddock spells differently.
 */
#include <stddef.h>

#include "yaml-tree.h"

const char *config_key_hint(const char *where, const char *key)
{
	(void)where;
	(void)key;
	return NULL;
}
