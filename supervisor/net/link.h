/*
 * link.h - links, addresses and routes over rtnetlink (libmnl): the
 * bridges of paddock's networks, a veth pair per service and network, and
 * the service's end configured inside its network namespace. Synchronous
 * request/ack on a NETLINK_ROUTE socket; each call returns 0 or -errno
 * and, on failure, fills err with what failed ("veth pd12ab34: File
 * exists"). IPv4 addresses are in host byte order.
 */
#ifndef PADDOCK_NET_LINK_H
#define PADDOCK_NET_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct nl;

/*
 * A netlink socket in the network namespace netns_fd (an fd of
 * /proc/PID/ns/net), or in the caller's own with -1. Opening in another
 * namespace switches the calling thread there and back (setns) around the
 * socket() call only.
 */
int nl_open(struct nl **out, int netns_fd, struct error *err);
void nl_close(struct nl *nl);

/* ifindex of NAME (> 0), or -ENODEV */
int nl_ifindex(struct nl *nl, const char *name);

/*
 * Make bridge NAME with address gateway/prefix and MTU, up; an existing
 * bridge of that name is reused (its address added when missing, MTU set,
 * up). A link of that name that is not a bridge: -EEXIST. Returns 1 made,
 * 0 existed, or -errno.
 */
int nl_bridge_ensure(struct nl *nl, const char *name, uint32_t gateway, uint8_t prefix,
		     uint32_t mtu, struct error *err);

/* Delete link NAME; 0 also when there was none. */
int nl_link_delete(struct nl *nl, const char *name, struct error *err);

/*
 * A veth pair: HOST_NAME stays here, enslaved to BRIDGE, MTU set, up; its
 * peer is made directly in the namespace peer_netns_fd under PEER_NAME
 * (down, unconfigured). On failure nothing of the pair is left.
 */
int nl_veth_create(struct nl *nl, const char *host_name, const char *bridge, uint32_t mtu,
		   const char *peer_name, int peer_netns_fd, struct error *err);

/*
 * Inside a service's namespace (nl opened there): IFNAME gets addr/prefix
 * and MTU and goes up; with gateway != 0 a default route via gateway is
 * added too.
 */
int nl_iface_setup(struct nl *nl, const char *ifname, uint32_t addr, uint8_t prefix, uint32_t mtu,
		   uint32_t gateway, struct error *err);

struct nl_stats {
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets, rx_dropped, tx_dropped;
};
/* Counters of link NAME (IFLA_STATS64). */
int nl_link_stats(struct nl *nl, const char *name, struct nl_stats *st, struct error *err);

/*
 * The names of the links whose name starts with PREFIX, for cleanup of
 * leftovers: calls fn for each once the dump is over, so fn may use nl
 * (delete the link); 0 or -errno.
 */
int nl_link_list(struct nl *nl, const char *prefix, void (*fn)(const char *name, void *arg),
		 void *arg, struct error *err);

#endif
