/*
 * compose.h - docker-compose files to paddock specs (paddockctl convert
 * compose). Pure: no syscalls beyond what the caller reads and writes.
 */
#ifndef PADDOCK_COMPOSE_H
#define PADDOCK_COMPOSE_H

#include <stddef.h>

#include "config.h"

#endif
