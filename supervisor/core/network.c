/*
 * network.c - the daemon's bridge networks (network.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns.h"
#include "ipam.h"
#include "link.h"
#include "log.h"
#include "network.h"
#include "nft.h"
#include "resolver.h"
#include "util.h"

struct netx {
	const struct spec_netdef *def;
	struct ipam ipam;
	bool up; /* bridge there, resolver listening */
	bool created; /* paddock made the bridge (now or before a restart) */
};

struct net_attach {
	size_t net; /* index in nm->nets */
	char network[SPEC_NAME_MAX + 1];
	uint32_t addr;
	char host_if[16]; /* our end of the veth pair */
	char **aliases; /* owned copy */
	bool plugged;
};

struct net_lease {
	char *svc;
	char *dir; /* <runtime>/net/<svc> */
	struct net_attach at[SPEC_MAX_ATTACH];
	size_t n;
	struct spec_port *ports; /* owned copy */
	size_t nports;
	int *portfds; /* sockets holding the host ports */
	size_t nportfds;
	bool named; /* names are in the resolver */
	char *tmpl_name; /* an instance (web@2): "web", its template; else NULL */
	char *inst_name; /* "web-2" */
};

struct netmgr {
	struct event_base *base;
	const struct daemon_config *cfg;
	char *dir;
	struct nl *nl; /* opened on first use */
	struct resolver *res;
	struct netx *nets;
	size_t nnets;
	struct net_lease **leases;
	size_t nleases;
	bool table; /* our table was loaded by this daemon or an earlier one */
	/*
	 * Our ends of the pairs of services that are gone. Deleting a link
	 * waits for RCU grace periods (15-35 ms here), so an exit does not:
	 * the kernel removes the pair with the service's namespace. A timer
	 * deletes whatever is still there after STALE_MS.
	 */
	char (*stale)[16];
	size_t nstale;
	struct event *ev_stale;
};

#define STALE_MS 2000

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (!q)
		abort(); /* as xcalloc: nothing useful to do without memory */
	return q;
}

static struct netx *find_net(const struct netmgr *nm, const char *name)
{
	for (size_t i = 0; i < nm->nnets; i++)
		if (!strcmp(nm->nets[i].def->name, name))
			return &nm->nets[i];
	return NULL;
}

static void on_stale(evutil_socket_t fd, short what, void *arg);

struct netmgr *netmgr_new(struct event_base *base, const struct daemon_config *cfg,
			  const char *runtime_dir)
{
	struct netmgr *nm = xcalloc(1, sizeof(*nm));

	nm->base = base;
	nm->cfg = cfg;
	xasprintf(&nm->dir, "%s/net", runtime_dir);
	nm->ev_stale = evtimer_new(base, on_stale, nm);
	nm->nets = xcalloc(cfg->nnetworks ? cfg->nnetworks : 1, sizeof(*nm->nets));
	for (size_t i = 0; i < cfg->nnetworks; i++) {
		const struct spec_netdef *d = &cfg->networks[i];
		if (ipam_init(&nm->nets[nm->nnets].ipam, d->subnet, d->prefix, d->gateway) < 0)
			continue; /* config/ checked the prefix */
		nm->nets[nm->nnets++].def = d;
	}
	return nm;
}

static int nl_get(struct netmgr *nm, struct error *err)
{
	if (nm->nl)
		return 0;
	return nl_open(&nm->nl, -1, err);
}

/* The table paddock owns, from the networks up and the ports plugged. */
static int sync_rules(struct netmgr *nm, struct error *err)
{
	struct nft_net nets[SPEC_MAX_NETWORKS];
	size_t nn = 0, np = 0, cap = 0;
	struct nft_port *ports = NULL;
	int r;

	for (size_t i = 0; i < nm->nnets; i++) {
		const struct netx *e = &nm->nets[i];
		if (!e->up)
			continue;
		nets[nn++] = (struct nft_net){ .bridge = e->def->bridge,
					       .subnet = e->def->subnet,
					       .gateway = e->def->gateway,
					       .prefix = e->def->prefix,
					       .internal = e->def->internal,
					       .masquerade = e->def->masquerade };
	}
	if (!nn && !nm->table)
		return 0;
	for (size_t i = 0; i < nm->nleases; i++) {
		const struct net_lease *l = nm->leases[i];
		if (!l->n || !l->at[0].plugged)
			continue;
		const struct netx *e = &nm->nets[l->at[0].net];
		for (size_t k = 0; k < l->nports; k++) {
			const struct spec_port *p = &l->ports[k];
			if (np == cap)
				ports =
				    xrealloc(ports, (cap = cap ? 2 * cap : 16) * sizeof(*ports));
			ports[np++] = (struct nft_port){ .proto = p->proto,
							 .host_ip = p->host_ip,
							 .host_port = p->host_port,
							 .count = p->count,
							 .dest_ip = l->at[0].addr,
							 .dest_port = p->port,
							 .bridge = e->def->bridge };
		}
	}
	struct nft_model m = { .nets = nets, .nnets = nn, .ports = ports, .nports = np };
	r = nftm_apply(&m, err);
	free(ports);
	if (r >= 0)
		nm->table = true;
	return r;
}

/* Write "1" into a sysctl of paddockd's network namespace. */
static int sysctl_on(const char *path, struct error *err)
{
	char c = 0;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return error_set(err, errno, "%s", path);
	if (read(fd, &c, 1) == 1 && c == '1') {
		close(fd);
		return 0;
	}
	int r = pwrite(fd, "1\n", 2, 0) == 2 ? 0 : error_set(err, errno, "write %s", path);
	close(fd);
	return r;
}

/* The bridge and the resolver of a network, on first use. */
static int net_up(struct netmgr *nm, struct netx *e, struct error *err)
{
	const struct spec_netdef *d = e->def;
	char path[128];
	int r;

	if (e->up)
		return 0;
	if ((r = nl_get(nm, err)) < 0)
		return r;
	if ((r = nl_bridge_ensure(nm->nl, d->bridge, d->gateway, d->prefix, d->mtu, err)) < 0)
		return error_prefix(err, "network %s: ", d->name);
	if (r == 1) {
		e->created = true;
		log_info("network %s: made bridge %s", d->name, d->bridge);
	}
	/* Published ports reached from the host's loopback go out this bridge. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", d->bridge);
	if ((r = sysctl_on(path, err)) < 0)
		return error_prefix(err, "network %s: ", d->name);
	if (!d->internal && (r = sysctl_on("/proc/sys/net/ipv4/ip_forward", err)) < 0)
		return error_prefix(err, "network %s: ", d->name);
	if (!nm->res)
		nm->res = resolver_new(nm->base, NULL, NULL);
	if (nm->res && (r = resolver_listen(nm->res, d->name, d->gateway)) < 0) {
		char a[16];
		return error_set(err, -r, "network %s: resolver on %s:53", d->name,
				 ipam_fmt(d->gateway, a));
	}
	e->up = true;
	return sync_rules(nm, err);
}

static void close_ports(struct net_lease *l)
{
	for (size_t i = 0; i < l->nportfds; i++)
		close(l->portfds[i]);
	free(l->portfds);
	l->portfds = NULL;
	l->nportfds = 0;
}

/*
 * Hold each published host port with a bound socket (never listening:
 * packets are turned to the service before any socket sees them), so that
 * a port another process holds is a start failure naming it, and no other
 * process takes it while the service runs.
 */
static int reserve_ports(struct netmgr *nm, struct net_lease *l, struct error *err)
{
	for (size_t k = 0; k < l->nports; k++) {
		const struct spec_port *p = &l->ports[k];
		const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";
		for (size_t i = 0; i < nm->nleases; i++)
			for (size_t j = 0; j < nm->leases[i]->nports; j++) {
				const struct spec_port *q = &nm->leases[i]->ports[j];
				if (q->proto == p->proto &&
				    (!q->host_ip || !p->host_ip || q->host_ip == p->host_ip) &&
				    q->host_port < p->host_port + p->count &&
				    p->host_port < q->host_port + q->count)
					return error_set(err, EADDRINUSE,
							 "port %u/%s: published by service %s",
							 p->host_port, proto, nm->leases[i]->svc);
			}
		for (unsigned i = 0; i < p->count; i++) {
			int type = p->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
			int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
			struct sockaddr_in sa = { .sin_family = AF_INET,
						  .sin_port = htons((uint16_t)(p->host_port + i)),
						  .sin_addr.s_addr = htonl(p->host_ip) };
			char a[16];
			if (fd < 0)
				return error_set(err, errno, "socket");
			if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
				int e = errno;
				close(fd);
				return error_set(err, e, "port %s:%u/%s: %s",
						 p->host_ip ? ipam_fmt(p->host_ip, a) : "0.0.0.0",
						 p->host_port + i, proto,
						 e == EADDRINUSE
						     ? "already bound by another process"
						     : strerror(e));
			}
			l->portfds = xrealloc(l->portfds, (l->nportfds + 1) * sizeof(int));
			l->portfds[l->nportfds++] = fd;
		}
	}
	return 0;
}

static int write_file(const char *dir, const char *name, const char *text, struct error *err)
{
	char path[4096], tmp[4200];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return error_set(err, errno, "%s", tmp);
	size_t n = strlen(text);
	bool ok = write(fd, text, n) == (ssize_t)n;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		(void)unlink(tmp);
		return error_set(err, errno ? errno : EIO, "write %s", path);
	}
	return 0;
}

/* resolv.conf (the first network's resolver) and hosts for the service's /etc. */
static int write_etc(struct netmgr *nm, struct net_lease *l, const char *hostname,
		     struct error *err)
{
	const struct netx *e = &nm->nets[l->at[0].net];
	char a[16], *text, *hosts;
	struct dns_host none = { 0 };
	int r;

	(void)mkdir(nm->dir, 0755);
	if (mkdir(l->dir, 0755) < 0 && errno != EEXIST)
		return error_set(err, errno, "%s", l->dir);
	text = dns_service_resolv_conf(nm->res ? resolver_host(nm->res) : &none, e->def->gateway);
	if (!text)
		return error_set(err, ENOMEM, "resolv.conf");
	r = write_file(l->dir, "resolv.conf", text, err);
	free(text);
	if (r < 0)
		return r;
	xasprintf(&hosts,
		  "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s%s%s\n",
		  ipam_fmt(l->at[0].addr, a), hostname, strcmp(hostname, l->svc) ? " " : "",
		  strcmp(hostname, l->svc) ? l->svc : "");
	r = write_file(l->dir, "hosts", hosts, err);
	free(hosts);
	return r;
}

static void remove_etc(const struct net_lease *l)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s/resolv.conf", l->dir);
	(void)unlink(p);
	snprintf(p, sizeof(p), "%s/hosts", l->dir);
	(void)unlink(p);
	(void)rmdir(l->dir);
}

/* Our end of the pair: "pd" and a hash of service and network, stable across restarts. */
static void host_if_name(char out[16], const char *svc, const char *net)
{
	uint32_t h = 2166136261u;

	for (const char *s = svc; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *s = net; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	snprintf(out, 16, "pd%08x", h);
}

static void lease_free(struct net_lease *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		for (char **a = l->at[i].aliases; a && *a; a++)
			free(*a);
		free(l->at[i].aliases);
	}
	close_ports(l);
	free(l->ports);
	free(l->dir);
	free(l->svc);
	free(l->tmpl_name);
	free(l->inst_name);
	free(l);
}

static void lease_unhook(struct netmgr *nm, struct net_lease *l)
{
	for (size_t i = 0; i < nm->nleases; i++)
		if (nm->leases[i] == l) {
			nm->leases[i] = nm->leases[--nm->nleases];
			return;
		}
}

/* name -> a on net, or no longer. */
static void name_one(struct netmgr *nm, const char *net, const char *name, uint32_t a, bool add)
{
	if (!name)
		return;
	if (add)
		(void)resolver_add(nm->res, net, name, a);
	else
		resolver_del(nm->res, net, name, a);
}

/*
 * The service's name and aliases on each of its networks. An instance
 * (web@2) is also web-2 (a DNS label), and web: the template's name
 * answers with the address of every instance that runs.
 */
static void names(struct netmgr *nm, struct net_lease *l, bool add)
{
	if (!nm->res || l->named == add)
		return;
	for (size_t i = 0; i < l->n; i++) {
		const char *net = nm->nets[l->at[i].net].def->name;
		uint32_t a = l->at[i].addr;
		name_one(nm, net, l->svc, a, add);
		name_one(nm, net, l->inst_name, a, add);
		name_one(nm, net, l->tmpl_name, a, add);
		for (char **al = l->at[i].aliases; al && *al; al++) {
			if (add)
				(void)resolver_add(nm->res, net, *al, a);
			else
				resolver_del(nm->res, net, *al, a);
		}
	}
	l->named = add;
}

/* The lease of spec without kernel objects; addresses from want[] when given. */
static int lease_new(struct netmgr *nm, const struct service_spec *spec,
		     const struct state_service *rec, struct net_lease **out, struct error *err)
{
	struct net_lease *l = xcalloc(1, sizeof(*l));
	int r = 0;

	l->svc = xstrdup(spec->name);
	if (spec->template_name && spec->instance) {
		l->tmpl_name = xstrdup(spec->template_name);
		xasprintf(&l->inst_name, "%s-%s", spec->template_name, spec->instance);
	}
	xasprintf(&l->dir, "%s/%s", nm->dir, spec->name);
	for (size_t i = 0; i < spec->isolation.nnetworks && r >= 0; i++) {
		const struct spec_netattach *sa = &spec->isolation.networks[i];
		struct netx *e = find_net(nm, sa->network);
		struct net_attach *at = &l->at[l->n];
		char a[16];
		if (!e) {
			r = error_set(err, ENOENT, "unknown network %s", sa->network);
			break;
		}
		at->net = (size_t)(e - nm->nets);
		snprintf(at->network, sizeof(at->network), "%s", sa->network);
		host_if_name(at->host_if, spec->name, sa->network);
		uint32_t want = sa->ip;
		for (unsigned k = 0; rec && !want && k < rec->nnet; k++)
			if (!strcmp(rec->net[k].network, sa->network))
				want = rec->net[k].addr;
		if (want) {
			at->addr = want;
			if ((r = ipam_take(&e->ipam, want)) < 0)
				r = error_set(err, -r, "network %s: address %s %s", sa->network,
					      ipam_fmt(want, a),
					      r == -EEXIST ? "is in use" : "is not in its subnet");
		} else if ((r = ipam_alloc(&e->ipam, &at->addr)) < 0) {
			r = error_set(err, -r, "network %s: no address left in %s/%u", sa->network,
				      ipam_fmt(e->def->subnet, a), e->def->prefix);
		}
		if (r < 0)
			break;
		at->aliases = xcalloc(sa->naliases + 1, sizeof(char *));
		for (size_t k = 0; k < sa->naliases; k++)
			at->aliases[k] = xstrdup(sa->aliases[k]);
		l->n++;
	}
	if (r >= 0 && spec->nports) {
		l->ports = xcalloc(spec->nports, sizeof(*l->ports));
		memcpy(l->ports, spec->ports, spec->nports * sizeof(*l->ports));
		l->nports = spec->nports;
		r = reserve_ports(nm, l, err);
		if (r < 0 && rec) {
			/*
			 * Adoption: the service runs and its DNAT rules stand; a port
			 * some process took while no paddockd held it is only noted.
			 * Its addresses must be tracked whatever happens.
			 */
			log_warnx("service %s: %s; the port stays published, but not held", l->svc,
				  err->msg);
			memset(err, 0, sizeof(*err));
			r = 0;
		}
	}
	if (r < 0) {
		for (size_t i = 0; i < l->n; i++)
			ipam_release(&nm->nets[l->at[i].net].ipam, l->at[i].addr);
		lease_free(l);
		return r;
	}
	*out = l;
	return 0;
}

int netmgr_lease(struct netmgr *nm, const struct service_spec *spec, const char *hostname,
		 struct net_lease **out, struct error *err)
{
	struct net_lease *l = NULL;
	int r;

	*out = NULL;
	if ((r = lease_new(nm, spec, NULL, &l, err)) < 0)
		return r;
	for (size_t i = 0; i < l->n && r >= 0; i++)
		r = net_up(nm, &nm->nets[l->at[i].net], err);
	if (r >= 0)
		r = write_etc(nm, l, hostname, err);
	if (r < 0) {
		for (size_t i = 0; i < l->n; i++)
			ipam_release(&nm->nets[l->at[i].net].ipam, l->at[i].addr);
		remove_etc(l);
		lease_free(l);
		return r;
	}
	nm->leases = xrealloc(nm->leases, (nm->nleases + 1) * sizeof(*nm->leases));
	nm->leases[nm->nleases++] = l;
	*out = l;
	return 0;
}

const char *net_lease_dir(const struct net_lease *l)
{
	return l->dir;
}

/* Is name our end of a pair a running service uses? */
static bool plugged_now(const struct netmgr *nm, const char *name)
{
	for (size_t i = 0; i < nm->nleases; i++)
		for (size_t k = 0; k < nm->leases[i]->n; k++)
			if (nm->leases[i]->at[k].plugged &&
			    !strcmp(nm->leases[i]->at[k].host_if, name))
				return true;
	return false;
}

/* Delete the stale ends still there (deleting ours takes the peer with it). */
static void reap_stale(struct netmgr *nm)
{
	struct error err = { 0 };

	for (size_t i = 0; i < nm->nstale; i++) {
		if (!nm->nl || plugged_now(nm, nm->stale[i]) ||
		    nl_ifindex(nm->nl, nm->stale[i]) <= 0)
			continue;
		if (nl_link_delete(nm->nl, nm->stale[i], &err) < 0)
			log_warnx("%s", err.msg);
	}
	nm->nstale = 0;
}

static void on_stale(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reap_stale(arg);
}

/* The pairs of l are left to the kernel, and to the timer after that. */
static void unplug(struct netmgr *nm, struct net_lease *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!l->at[i].plugged)
			continue;
		l->at[i].plugged = false;
		nm->stale = xrealloc(nm->stale, (nm->nstale + 1) * sizeof(*nm->stale));
		memcpy(nm->stale[nm->nstale++], l->at[i].host_if, 16);
	}
	if (nm->nstale && !evtimer_pending(nm->ev_stale, NULL)) {
		struct timeval tv = { STALE_MS / 1000, (STALE_MS % 1000) * 1000 };
		evtimer_add(nm->ev_stale, &tv);
	}
}

int netmgr_plug(struct netmgr *nm, struct net_lease *l, pid_t pid, struct error *err)
{
	char path[64];
	struct nl *in = NULL;
	int r, fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return error_set(err, errno, "%s", path);
	if ((r = nl_get(nm, err)) >= 0)
		r = nl_open(&in, fd, err);
	for (size_t i = 0; i < l->n && r >= 0; i++) {
		struct net_attach *at = &l->at[i];
		const struct spec_netdef *d = nm->nets[at->net].def;
		char ifname[16];
		snprintf(ifname, sizeof(ifname), "eth%zu", i);
		/*
		 * EEXIST: the pair of this service's last run, its namespace not
		 * yet gone. The kernel may take it any moment, also between our
		 * calls, so delete it (gone already is fine) and try again.
		 */
		for (int tries = 0;; tries++) {
			r = nl_veth_create(nm->nl, at->host_if, d->bridge, d->mtu, ifname, fd, err);
			if (r != -EEXIST || tries == 3 || plugged_now(nm, at->host_if))
				break;
			memset(err, 0, sizeof(*err));
			if ((r = nl_link_delete(nm->nl, at->host_if, err)) < 0)
				break;
		}
		if (r < 0)
			break;
		at->plugged = true;
		r = nl_iface_setup(in, ifname, at->addr, d->prefix, d->mtu, i == 0 ? d->gateway : 0,
				   err);
	}
	nl_close(in);
	close(fd);
	if (r >= 0 && l->nports)
		r = sync_rules(nm, err);
	if (r < 0) {
		unplug(nm, l);
		return error_prefix(err, "network: ");
	}
	names(nm, l, true);
	return 0;
}

struct net_lease *netmgr_adopt(struct netmgr *nm, const struct service_spec *spec,
			       const struct state_service *rec)
{
	struct net_lease *l = NULL;
	struct error err = { 0 };
	int r;

	if (spec->isolation.network != NETWORK_BRIDGE)
		return NULL;
	if (!rec || !rec->nnet) {
		log_warnx("service %s: no addresses in the state file; its names are not served",
			  spec->name);
		return NULL;
	}
	if ((r = lease_new(nm, spec, rec, &l, &err)) < 0) {
		log_warnx("service %s: cannot take its network lease again: %s", spec->name,
			  err.msg);
		return NULL;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct netx *e = &nm->nets[l->at[i].net];
		l->at[i].plugged = true;
		if (!e->up && net_up(nm, e, &err) < 0)
			log_warnx("service %s: %s", spec->name, err.msg);
	}
	nm->leases = xrealloc(nm->leases, (nm->nleases + 1) * sizeof(*nm->leases));
	nm->leases[nm->nleases++] = l;
	names(nm, l, true);
	if (l->nports && sync_rules(nm, &err) < 0)
		log_warnx("service %s: %s", spec->name, err.msg);
	return l;
}

void netmgr_release(struct netmgr *nm, struct net_lease *l)
{
	struct error err = { 0 };

	if (!l)
		return;
	names(nm, l, false);
	unplug(nm, l);
	for (size_t i = 0; i < l->n; i++)
		ipam_release(&nm->nets[l->at[i].net].ipam, l->at[i].addr);
	lease_unhook(nm, l);
	if (l->nports && sync_rules(nm, &err) < 0)
		log_warnx("service %s: %s", l->svc, err.msg);
	remove_etc(l);
	lease_free(l);
}

void net_lease_record(const struct net_lease *l, struct state_service *rec)
{
	rec->nnet = 0;
	for (size_t i = 0; l && i < l->n && i < SPEC_MAX_ATTACH; i++) {
		rec->net[rec->nnet].addr = l->at[i].addr;
		snprintf(rec->net[rec->nnet].network, sizeof(rec->net[0].network), "%s",
			 l->at[i].network);
		rec->nnet++;
	}
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_UDP ? "udp" : "tcp";
}

struct json_object *net_lease_json(const struct netmgr *nm, const struct net_lease *l)
{
	struct json_object *o = json_object_new_object(), *nets = json_object_new_array();
	struct json_object *ports = json_object_new_array();
	char a[16], b[96];

	for (size_t i = 0; i < l->n; i++) {
		const struct net_attach *at = &l->at[i];
		struct json_object *e = json_object_new_object(), *al = json_object_new_array();
		json_object_object_add(e, "network",
				       json_object_new_string(nm->nets[at->net].def->name));
		json_object_object_add(e, "address", json_object_new_string(ipam_fmt(at->addr, a)));
		snprintf(b, sizeof(b), "eth%zu", i);
		json_object_object_add(e, "interface", json_object_new_string(b));
		json_object_object_add(e, "host_interface", json_object_new_string(at->host_if));
		for (char **x = at->aliases; x && *x; x++)
			json_object_array_add(al, json_object_new_string(*x));
		json_object_object_add(e, "aliases", al);
		json_object_array_add(nets, e);
	}
	for (size_t k = 0; k < l->nports; k++) {
		const struct spec_port *p = &l->ports[k];
		char h[32] = "";
		if (p->host_ip)
			snprintf(h, sizeof(h), "%s:", ipam_fmt(p->host_ip, a));
		if (p->count > 1)
			snprintf(b, sizeof(b), "%s%u-%u:%u-%u/%s", h, p->host_port,
				 p->host_port + p->count - 1, p->port, p->port + p->count - 1,
				 proto_name(p->proto));
		else
			snprintf(b, sizeof(b), "%s%u:%u/%s", h, p->host_port, p->port,
				 proto_name(p->proto));
		json_object_array_add(ports, json_object_new_string(b));
	}
	json_object_object_add(o, "networks", nets);
	json_object_object_add(o, "ports", ports);
	return o;
}

static struct json_object *net_json(const struct netmgr *nm, const struct netx *e, bool members)
{
	const struct spec_netdef *d = e->def;
	struct json_object *o = json_object_new_object();
	char a[16], s[24];
	size_t n = 0;
	struct json_object *svcs = json_object_new_array();

	for (size_t i = 0; i < nm->nleases; i++)
		for (size_t k = 0; k < nm->leases[i]->n; k++) {
			const struct net_attach *at = &nm->leases[i]->at[k];
			if (&nm->nets[at->net] != e)
				continue;
			n++;
			if (!members)
				continue;
			struct json_object *m = json_object_new_object();
			json_object_object_add(m, "service",
					       json_object_new_string(nm->leases[i]->svc));
			json_object_object_add(m, "address",
					       json_object_new_string(ipam_fmt(at->addr, a)));
			json_object_object_add(m, "host_interface",
					       json_object_new_string(at->host_if));
			struct json_object *al = json_object_new_array();
			for (char **x = at->aliases; x && *x; x++)
				json_object_array_add(al, json_object_new_string(*x));
			json_object_object_add(m, "aliases", al);
			json_object_array_add(svcs, m);
		}
	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "bridge", json_object_new_string(d->bridge));
	snprintf(s, sizeof(s), "%s/%u", ipam_fmt(d->subnet, a), d->prefix);
	json_object_object_add(o, "subnet", json_object_new_string(s));
	json_object_object_add(o, "gateway", json_object_new_string(ipam_fmt(d->gateway, a)));
	json_object_object_add(o, "mtu", json_object_new_int((int)d->mtu));
	json_object_object_add(o, "internal", json_object_new_boolean(d->internal));
	json_object_object_add(o, "masquerade", json_object_new_boolean(d->masquerade));
	json_object_object_add(o, "up", json_object_new_boolean(e->up));
	json_object_object_add(o, "created", json_object_new_boolean(e->created));
	json_object_object_add(o, "services_count", json_object_new_int((int)n));
	if (members)
		json_object_object_add(o, "services", svcs);
	else
		json_object_put(svcs);
	return o;
}

struct json_object *netmgr_list_json(const struct netmgr *nm)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < nm->nnets; i++)
		json_object_array_add(a, net_json(nm, &nm->nets[i], false));
	return a;
}

struct json_object *netmgr_inspect_json(const struct netmgr *nm, const char *name)
{
	const struct netx *e = find_net(nm, name);
	struct json_object *o;

	if (!e)
		return NULL;
	o = net_json(nm, e, true);
	if (e->up) {
		struct nft_net one = { .bridge = e->def->bridge,
				       .subnet = e->def->subnet,
				       .gateway = e->def->gateway,
				       .prefix = e->def->prefix,
				       .internal = e->def->internal,
				       .masquerade = e->def->masquerade };
		struct nft_model m = { .nets = &one, .nnets = 1 };
		char *rules = nftm_render(&m);
		if (rules)
			json_object_object_add(o, "rules", json_object_new_string(rules));
		free(rules);
	}
	return o;
}

void netmgr_stats(struct netmgr *nm, netmgr_stats_fn fn, void *arg)
{
	struct error err = { 0 };

	if (!nm->nl)
		return;
	for (size_t i = 0; i < nm->nleases; i++)
		for (size_t k = 0; k < nm->leases[i]->n; k++) {
			const struct net_attach *at = &nm->leases[i]->at[k];
			struct nl_stats st;
			if (!at->plugged || nl_link_stats(nm->nl, at->host_if, &st, &err) < 0)
				continue;
			/* Our end's tx is what the service received. */
			fn(nm->leases[i]->svc, nm->nets[at->net].def->name, st.tx_bytes,
			   st.rx_bytes, st.tx_dropped, st.rx_dropped, arg);
		}
}

void netmgr_reserve(struct netmgr *nm, const struct spec_set *set)
{
	if (!nm)
		return;
	for (size_t i = 0; i < nm->nnets; i++)
		ipam_clear_reserved(&nm->nets[i].ipam);
	for (size_t i = 0; set && i < set->nservices; i++) {
		const struct service_spec *sp = set->services[i];
		for (size_t k = 0; k < sp->isolation.nnetworks; k++) {
			const struct spec_netattach *a = &sp->isolation.networks[k];
			struct netx *e = a->ip ? find_net(nm, a->network) : NULL;
			if (e)
				ipam_reserve(&e->ipam, a->ip, true);
		}
	}
}

void netmgr_restore(struct netmgr *nm, const struct state_network *nets, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct netx *e = find_net(nm, nets[i].name);
		if (!e)
			continue;
		e->created = nets[i].created;
		if (nets[i].next - e->ipam.subnet < e->ipam.size)
			e->ipam.next = nets[i].next;
		if (nets[i].created)
			nm->table = true; /* an earlier daemon loaded it */
	}
}

size_t netmgr_record(const struct netmgr *nm, struct state_network *out)
{
	size_t n = 0;

	for (size_t i = 0; i < nm->nnets && n < SPEC_MAX_NETWORKS; i++) {
		const struct netx *e = &nm->nets[i];
		if (!e->up && !e->created)
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", e->def->name);
		out[n].created = e->created;
		out[n].next = e->ipam.next;
		n++;
	}
	return n;
}

void netmgr_free(struct netmgr *nm, bool teardown)
{
	struct error err = { 0 };

	if (!nm)
		return;
	reap_stale(nm);
	if (teardown) {
		if (nm->table && nftm_remove(&err) < 0)
			log_warnx("%s", err.msg);
		for (size_t i = 0; i < nm->nnets; i++) {
			const struct netx *e = &nm->nets[i];
			if (!e->created || nl_get(nm, &err) < 0)
				continue;
			if (nl_link_delete(nm->nl, e->def->bridge, &err) < 0)
				log_warnx("network %s: %s", e->def->name, err.msg);
			else
				log_info("network %s: removed bridge %s", e->def->name,
					 e->def->bridge);
		}
		(void)rmdir(nm->dir);
	}
	while (nm->nleases) {
		struct net_lease *l = nm->leases[--nm->nleases];
		close_ports(l);
		lease_free(l);
	}
	free(nm->leases);
	nftm_close();
	free(nm->stale);
	event_free(nm->ev_stale);
	resolver_free(nm->res);
	nl_close(nm->nl);
	for (size_t i = 0; i < nm->nnets; i++)
		ipam_fini(&nm->nets[i].ipam);
	free(nm->nets);
	free(nm->dir);
	free(nm);
}
