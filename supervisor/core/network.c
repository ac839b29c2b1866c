/* network.c - the daemon's networks (network.h). Not written yet. */
#include "network.h"
