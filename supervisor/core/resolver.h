/*
 * resolver.h - the daemon's small DNS resolver, one UDP and one TCP
 * socket on port 53 of each network's gateway address. A query from
 * network N for a name of a service (or alias) on N is answered from the
 * table below (TTL 0, so a new address is seen at once); any other query
 * is relayed to the host's upstream resolvers (dns_host_read) and the
 * answer relayed back; with no upstream, NXDOMAIN for a single label
 * (nobody else could know it) and SERVFAIL for other names. Addresses are
 * IPv4 in host byte order, as in ipam.h. Never blocks the loop.
 */
#ifndef PADDOCK_RESOLVER_H
#define PADDOCK_RESOLVER_H

#include <stdint.h>

#include <event2/event.h>

struct resolver;
struct dns_host;

/* resolv_conf / stub_conf as dns_host_read takes them; NULL = the usual paths. */
struct resolver *resolver_new(struct event_base *base, const char *resolv_conf,
			      const char *stub_conf);
void resolver_free(struct resolver *r);

/* Serve NETWORK's names on addr:53 (UDP and TCP). 0 or -errno (e.g. -EADDRINUSE). */
int resolver_listen(struct resolver *r, const char *network, uint32_t addr);
/* Stop serving NETWORK and forget its names. */
void resolver_unlisten(struct resolver *r, const char *network);

/*
 * NAME (a service name or alias; case and a trailing dot do not matter) on
 * NETWORK resolves to addr (one name may have several). May come before
 * resolver_listen. 0, -EINVAL (empty or too long) or -ENOMEM.
 */
int resolver_add(struct resolver *r, const char *network, const char *name, uint32_t addr);
/* Forget NAME -> addr on NETWORK. */
void resolver_del(struct resolver *r, const char *network, const char *name, uint32_t addr);

/* How long an upstream has to answer before the next is asked (default 2000 ms; tests). */
void resolver_set_timeout(struct resolver *r, int ms);

/* The upstreams and search/options read at resolver_new (for resolv.conf of services). */
const struct dns_host *resolver_host(const struct resolver *r);

#endif
