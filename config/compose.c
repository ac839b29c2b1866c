/*
 * compose.c - docker-compose files to paddock specs.
 */
#include "compose.h"
