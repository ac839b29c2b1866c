/*
 * ipam.h - addresses of one network: which of the subnet's host addresses
 * are in use, which are set aside for services that name a fixed one, and
 * the next one to hand out. Handing out goes round the subnet (after the
 * last one given, not the lowest free), so an address just released is the
 * last to come back: a restarted service normally gets a new address, and a
 * stale name or connection for the old one reaches nobody. What is in use
 * is not kept here across restarts: the daemon records each service's
 * addresses in its state file and takes them again at adoption.
 * Addresses are IPv4 in host byte order.
 */
#ifndef PADDOCK_NET_IPAM_H
#define PADDOCK_NET_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ipam {
	uint32_t subnet, gateway;
	uint8_t prefix;
	uint32_t next; /* where the next search starts */
	uint32_t size; /* addresses in the subnet */
	uint8_t *used, *reserved; /* bitmaps indexed by address - subnet */
};

/* 0 or -ENOMEM/-EINVAL (prefix outside 8..30). */
int ipam_init(struct ipam *a, uint32_t subnet, uint8_t prefix, uint32_t gateway);
void ipam_fini(struct ipam *a);

/* addr is a host address of the subnet: not the network, broadcast or gateway. */
bool ipam_valid(const struct ipam *a, uint32_t addr);
/* Take addr: 0, -EDOM (not ipam_valid) or -EEXIST (in use). */
int ipam_take(struct ipam *a, uint32_t addr);
/* Take the next free address that no fixed address is reserved for: 0 or -ENOSPC. */
int ipam_alloc(struct ipam *a, uint32_t *addr);
void ipam_release(struct ipam *a, uint32_t addr);
bool ipam_in_use(const struct ipam *a, uint32_t addr);
/* Set aside (or not) addr for the service that names it; ipam_alloc skips it. */
void ipam_reserve(struct ipam *a, uint32_t addr, bool on);
void ipam_clear_reserved(struct ipam *a);

/* "a.b.c.d" into buf (16 bytes); returns buf. */
char *ipam_fmt(uint32_t addr, char buf[16]);
/* Parse "a.b.c.d": 0 or -EINVAL. */
int ipam_parse(const char *s, uint32_t *addr);

#endif
