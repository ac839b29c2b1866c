/*
 * nft.h - paddock's packet rules through libnftables, all in one table
 * that paddock owns (`ip paddock`): forwarding and isolation of each
 * network's bridge, masquerade for egress, DNAT of published ports (from
 * other hosts, from this host and from its loopback), hairpin between
 * services of one bridge, and `internal` networks with no way out. No
 * other table or chain is ever read, modified or written.
 *
 * The whole table is rebuilt from a model in one transaction: either the
 * new rules are all in place or the old ones stay.
 *
 * What the rules need from the links (link.c, core/network.c):
 * net.ipv4.ip_forward=1; route_localnet=1 on a bridge with published
 * ports (DNAT from 127.0.0.1); hairpin mode on each bridge port
 * (IFLA_BRPORT_MODE) for a service reaching its own published port where
 * br_netfilter is loaded, as the frame goes back out the port it came in.
 *
 * One libnftables context is kept for the process (see nft.c for why):
 * call from one thread only.
 */
#ifndef PADDOCK_NET_NFT_H
#define PADDOCK_NET_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NFT_TABLE "paddock" /* family ip */

struct nft_net {
	const char *bridge; /* link name */
	uint32_t subnet, gateway; /* host byte order */
	uint8_t prefix;
	bool
	    internal; /* no forwarding in or out of the bridge but within it; DNS to gateway only */
	bool masquerade; /* egress leaves with the host's address */
};

struct nft_port {
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t host_ip; /* 0 = every local address of the host */
	uint16_t host_port, count; /* host_port..host_port+count-1 */
	uint32_t dest_ip; /* the service's address */
	uint16_t dest_port; /* dest_port..dest_port+count-1 */
	const char *bridge; /* where dest_ip lives (hairpin, loopback source NAT) */
};

struct nft_model {
	const struct nft_net *nets;
	size_t nnets;
	const struct nft_port *ports;
	size_t nports;
};

/* Replace table ip paddock with the rules of m, atomically. */
int nftm_apply(const struct nft_model *m, struct error *err);
/* Remove table ip paddock (0 also when there is none). */
int nftm_remove(struct error *err);
/* Free the kept libnftables context (shutdown; the next call makes a new one). */
void nftm_close(void);
/* The text nftm_apply would load (for tests and `network inspect`); caller frees. */
char *nftm_render(const struct nft_model *m);

#endif
