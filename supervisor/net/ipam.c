/*
 * ipam.c - addresses of one network (ipam.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ipam.h"

#define BIT(map, i) ((map)[(i) >> 3] & (1u << ((i)&7)))
#define SET(map, i) ((map)[(i) >> 3] |= (uint8_t)(1u << ((i)&7)))
#define CLR(map, i) ((map)[(i) >> 3] &= (uint8_t) ~(1u << ((i)&7)))

int ipam_init(struct ipam *a, uint32_t subnet, uint8_t prefix, uint32_t gateway)
{
	if (prefix < 8 || prefix > 30)
		return -EINVAL;
	a->size = 1u << (32 - prefix);
	a->subnet = subnet & ~(a->size - 1);
	a->prefix = prefix;
	a->gateway = gateway;
	a->next = a->subnet + 1;
	a->used = calloc(a->size / 8 + 1, 1);
	a->reserved = calloc(a->size / 8 + 1, 1);
	if (!a->used || !a->reserved) {
		ipam_fini(a);
		return -ENOMEM;
	}
	return 0;
}

void ipam_fini(struct ipam *a)
{
	free(a->used);
	free(a->reserved);
	a->used = a->reserved = NULL;
}

bool ipam_valid(const struct ipam *a, uint32_t addr)
{
	uint32_t i = addr - a->subnet;

	return i < a->size && i != 0 && i != a->size - 1 && addr != a->gateway;
}

int ipam_take(struct ipam *a, uint32_t addr)
{
	if (!ipam_valid(a, addr))
		return -EDOM;
	if (BIT(a->used, addr - a->subnet))
		return -EEXIST;
	SET(a->used, addr - a->subnet);
	return 0;
}

int ipam_alloc(struct ipam *a, uint32_t *addr)
{
	uint32_t start = a->next - a->subnet;

	for (uint32_t k = 0; k < a->size; k++) {
		uint32_t i = (start + k) % a->size, cand = a->subnet + i;

		if (!ipam_valid(a, cand) || BIT(a->used, i) || BIT(a->reserved, i))
			continue;
		SET(a->used, i);
		a->next = a->subnet + (i + 1) % a->size;
		*addr = cand;
		return 0;
	}
	return -ENOSPC;
}

void ipam_release(struct ipam *a, uint32_t addr)
{
	if (addr - a->subnet < a->size)
		CLR(a->used, addr - a->subnet);
}

bool ipam_in_use(const struct ipam *a, uint32_t addr)
{
	return addr - a->subnet < a->size && BIT(a->used, addr - a->subnet);
}

void ipam_reserve(struct ipam *a, uint32_t addr, bool on)
{
	if (addr - a->subnet >= a->size)
		return;
	if (on)
		SET(a->reserved, addr - a->subnet);
	else
		CLR(a->reserved, addr - a->subnet);
}

void ipam_clear_reserved(struct ipam *a)
{
	for (uint32_t i = 0; i < a->size / 8 + 1; i++)
		a->reserved[i] = 0;
}

char *ipam_fmt(uint32_t addr, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
		 addr & 255);
	return buf;
}

int ipam_parse(const char *s, uint32_t *addr)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return -EINVAL;
	*addr = ntohl(in.s_addr);
	return 0;
}
