/*
 * network.h - the daemon's networks: which service joins which bridge
 * network with what address, the bridges made on first use, the table of
 * packet rules, the resolver's names, published ports. Not written yet.
 */
#ifndef PADDOCK_NETWORK_H
#define PADDOCK_NETWORK_H

struct netmgr;

#endif
