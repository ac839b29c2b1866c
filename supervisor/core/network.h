/*
 * network.h - the daemon's bridge networks (issue 16): which service joins
 * which network with what address, the bridges (made when the first
 * service joins, never at start), the resolver's names, published ports
 * and the one nftables table they come to.
 *
 * A service's stay on its networks is a lease: taken before the clone
 * (addresses, host ports, the bridge, /etc files), plugged in once the
 * child's network namespace exists and before it execs (veth pairs,
 * addresses, default route, names, rules), and released when its main
 * process is gone. Nothing here changes a packet path of a running service
 * when paddockd dies: the kernel keeps links and rules, the state file
 * keeps the addresses, and the next daemon adopts the leases.
 */
#ifndef PADDOCK_NETWORK_H
#define PADDOCK_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "error.h"
#include "spec.h"
#include "state.h"

struct netmgr;
struct net_lease;

/* runtime_dir: where each service's resolv.conf and hosts are written (net/NAME/). */
struct netmgr *netmgr_new(struct event_base *base, const struct daemon_config *cfg,
			  const char *runtime_dir);
/*
 * Free; with teardown (shutdown with every service stopped) also remove
 * the table and the bridges paddock made. A restart or re-exec keeps them.
 */
void netmgr_free(struct netmgr *nm, bool teardown);
/*
 * Set aside the fixed addresses set names (again: at start and at each
 * reload), so that allocation never hands one out to another service.
 */
void netmgr_reserve(struct netmgr *nm, const struct spec_set *set);
/* What the state file said of the networks (bridges made, allocation hints). */
void netmgr_restore(struct netmgr *nm, const struct state_network *nets, size_t n);
/* The same, to write; n <= SPEC_MAX_NETWORKS. */
size_t netmgr_record(const struct netmgr *nm, struct state_network *out);

/*
 * Before the clone: addresses (fixed, else allocated), host ports reserved
 * (bound by paddockd so no other process takes them), bridges made on
 * first use, resolv.conf and hosts written. hostname goes into hosts.
 * 0 or -errno with err naming the conflict; nothing is held on failure.
 */
int netmgr_lease(struct netmgr *nm, const struct service_spec *spec, const char *hostname,
		 struct net_lease **out, struct error *err);
/* The directory launch binds /etc/resolv.conf and /etc/hosts from. */
const char *net_lease_dir(const struct net_lease *l);
/* After the clone, before the child goes on: links, names, rules. 0 or -errno. */
int netmgr_plug(struct netmgr *nm, struct net_lease *l, pid_t pid, struct error *err);
/*
 * A service paddockd finds running (adoption): its addresses from the state
 * file are taken again, its ports reserved, its names served. Returns the
 * lease, or NULL when it had none.
 */
struct net_lease *netmgr_adopt(struct netmgr *nm, const struct service_spec *spec,
			       const struct state_service *rec);
/* The process is gone: links removed, names dropped, addresses and ports freed. */
void netmgr_release(struct netmgr *nm, struct net_lease *l);
/* Addresses for the state file. */
void net_lease_record(const struct net_lease *l, struct state_service *rec);
/* {"networks": [{network, address, interface, host_interface, aliases}], "ports": [..]} */
struct json_object *net_lease_json(const struct netmgr *nm, const struct net_lease *l);

/* `network ls`: one object per network. */
struct json_object *netmgr_list_json(const struct netmgr *nm);
/* `network inspect NAME`: NULL when there is no such network. */
struct json_object *netmgr_inspect_json(const struct netmgr *nm, const char *name);

/* Interface counters of each plugged service, for metrics. */
typedef void (*netmgr_stats_fn)(const char *service, const char *network, uint64_t rx_bytes,
				uint64_t tx_bytes, uint64_t rx_dropped, uint64_t tx_dropped,
				void *arg);
void netmgr_stats(struct netmgr *nm, netmgr_stats_fn fn, void *arg);

#endif
