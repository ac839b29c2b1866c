/*
 * link.c - links, addresses and routes over rtnetlink with libmnl (link.h).
 *
 * Every call is one or a few synchronous exchanges on the socket: a
 * request sent with NLM_F_ACK, answered by its replies (if any) and the
 * ack or error (nl_run), or a dump read until NLMSG_DONE (nl_run too; the
 * kernel ends both the same way). One exchange at a time per struct nl.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "link.h"
#include "util.h"

/* big enough for any one message of a dump (the kernel fills up to 32 KiB) */
#define NL_BUF 32768

struct nl {
	struct mnl_socket *sock;
	uint32_t portid, seq;
	char buf[NL_BUF]; /* the request being built, then the replies */
};

/* What a link message says, as far as paddock cares. */
struct link {
	int index;
	char name[IFNAMSIZ];
	char kind[16]; /* IFLA_INFO_KIND: "bridge", "veth"; "" for none */
	struct rtnl_link_stats64 stats;
};

int nl_open(struct nl **out, int netns_fd, struct error *err)
{
	_cleanup_close_ int self = -1;
	struct nl *nl;
	int r, saved;

	*out = NULL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return error_set(err, ENOMEM, "netlink: %s", strerror(ENOMEM));
	if (netns_fd >= 0) {
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0) {
			r = error_set(err, errno, "netlink: /proc/thread-self/ns/net: %s",
				      strerror(errno));
			goto fail;
		}
		if (setns(netns_fd, CLONE_NEWNET) < 0) {
			r = error_set(err, errno, "netlink: setns: %s", strerror(errno));
			goto fail;
		}
	}
	/* the socket belongs to the namespace it is made in, whatever comes after */
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	saved = errno;
	if (self >= 0 && setns(self, CLONE_NEWNET) < 0) {
		r = error_set(err, errno, "netlink: cannot return to own network namespace: %s",
			      strerror(errno));
		goto fail;
	}
	if (!nl->sock) {
		r = error_set(err, saved, "netlink: socket: %s", strerror(saved));
		goto fail;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = error_set(err, errno, "netlink: bind: %s", strerror(errno));
		goto fail;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	*out = nl;
	return 0;
fail:
	nl_close(nl);
	return r;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		(void)mnl_socket_close(nl->sock);
	free(nl);
}

/* A new request in nl->buf with a zeroed family header of hdrlen bytes. */
static struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags, size_t hdrlen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	mnl_nlmsg_put_extra_header(nlh, hdrlen);
	return nlh;
}

static struct nlmsghdr *link_msg(struct nl *nl, uint16_t type, uint16_t flags, int index)
{
	struct nlmsghdr *nlh = nl_msg(nl, type, flags, sizeof(struct ifinfomsg));
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return nlh;
}

/*
 * Send nlh and read until its ack (a request: NLM_F_ACK) or NLMSG_DONE (a
 * dump: NLM_F_DUMP), passing each reply to cb. 0 or the kernel's -errno.
 * cb must return MNL_CB_OK: stopping early would leave replies behind for
 * the next exchange.
 */
static int nl_run(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int r;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		r = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, data);
		if (r < 0)
			return errno ? -errno : -EPROTO;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static void attr_str(const struct nlattr *a, char *buf, size_t size)
{
	size_t n = mnl_attr_get_payload_len(a);
	const char *s = mnl_attr_get_payload(a);

	n = strnlen(s, n);
	if (n >= size)
		n = size - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link *l = data;
	const struct nlattr *a, *b;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return MNL_CB_OK;
	memset(l, 0, sizeof(*l));
	l->index = ifi->ifi_index;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			attr_str(a, l->name, sizeof(l->name));
			break;
		case IFLA_STATS64:
			/* an older kernel's struct is shorter: its fields come first */
			memcpy(&l->stats, mnl_attr_get_payload(a),
			       MIN(mnl_attr_get_payload_len(a), sizeof(l->stats)));
			break;
		case IFLA_LINKINFO:
			mnl_attr_for_each_nested(b, a)
			{
				if (mnl_attr_get_type(b) == IFLA_INFO_KIND)
					attr_str(b, l->kind, sizeof(l->kind));
			}
			break;
		}
	}
	return MNL_CB_OK;
}

/* Link NAME as the kernel reports it; -ENODEV when there is none. */
static int link_get(struct nl *nl, const char *name, struct link *l)
{
	struct nlmsghdr *nlh = link_msg(nl, RTM_GETLINK, NLM_F_ACK, 0);

	memset(l, 0, sizeof(*l));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_run(nl, nlh, link_cb, l);
}

int nl_ifindex(struct nl *nl, const char *name)
{
	struct link l;
	int r = link_get(nl, name, &l);

	if (r < 0)
		return r;
	return l.index > 0 ? l.index : -ENODEV;
}

/* Link index: MTU (0: keep), then up. */
static int link_up(struct nl *nl, int index, uint32_t mtu)
{
	struct nlmsghdr *nlh = link_msg(nl, RTM_NEWLINK, NLM_F_ACK, index);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_run(nl, nlh, NULL, NULL);
}

/*
 * Hairpin on bridge port index: a frame may leave by the port it came in
 * on. With br_netfilter loaded a service's connection to its own
 * published port is DNATed back to itself through the bridge, and the
 * bridge would drop that frame otherwise.
 */
static int port_hairpin(struct nl *nl, int index)
{
	struct nlmsghdr *nlh = link_msg(nl, RTM_SETLINK, NLM_F_ACK, index);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nlattr *pi;

	ifi->ifi_family = AF_BRIDGE;
	pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
	mnl_attr_nest_end(nlh, pi);
	return nl_run(nl, nlh, NULL, NULL);
}

/* addr/prefix on link index; present already is fine. */
static int addr_add(struct nl *nl, int index, uint32_t addr, uint8_t prefix)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int r;

	if (prefix > 32)
		return -EINVAL;
	nlh = nl_msg(nl, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(addr));
	mnl_attr_put_u32(nlh, IFA_ADDRESS, htonl(addr));
	if (prefix < 31)
		mnl_attr_put_u32(nlh, IFA_BROADCAST, htonl(addr | (0xffffffffu >> prefix)));
	r = nl_run(nl, nlh, NULL, NULL);
	return r == -EEXIST ? 0 : r;
}

static const char *ipstr(uint32_t addr, char buf[INET_ADDRSTRLEN])
{
	uint32_t be = htonl(addr);

	return inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN);
}

static int check_name(const char *what, const char *name, struct error *err)
{
	if (!*name || strlen(name) >= IFNAMSIZ)
		return error_set(err, EINVAL, "%s %s: a link name has 1 to %d characters", what,
				 name, IFNAMSIZ - 1);
	return 0;
}

int nl_bridge_ensure(struct nl *nl, const char *name, uint32_t gateway, uint8_t prefix,
		     uint32_t mtu, struct error *err)
{
	struct nlmsghdr *nlh;
	struct nlattr *info;
	struct link l;
	char a[INET_ADDRSTRLEN];
	int made = 1, r;

	if ((r = check_name("bridge", name, err)) < 0)
		return r;
	nlh = link_msg(nl, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/*
	 * A MAC address of its own (locally administered, from the name). A
	 * bridge left to choose takes its lowest port's, and changes it as
	 * services come and go: every service's cached neighbour entry for the
	 * gateway would then point nowhere for seconds (DNS, egress).
	 */
	uint8_t mac[6] = { 0x02 };
	uint32_t h = 2166136261u;
	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	mac[1] = 0x70; /* 'p' */
	memcpy(mac + 2, &h, 4);
	mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	r = nl_run(nl, nlh, NULL, NULL);
	if (r == -EEXIST)
		made = 0;
	if (r == 0 || r == -EEXIST)
		r = link_get(nl, name, &l);
	if (r < 0)
		return error_set(err, -r, "bridge %s: %s", name, strerror(-r));
	if (strcmp(l.kind, "bridge") != 0)
		return error_set(err, EEXIST,
				 "bridge %s: a link of that name exists and is not a bridge (%s)",
				 name, *l.kind ? l.kind : "no kind");
	if ((r = addr_add(nl, l.index, gateway, prefix)) < 0)
		return error_set(err, -r, "bridge %s: address %s/%u: %s", name, ipstr(gateway, a),
				 prefix, strerror(-r));
	/*
	 * The MTU is set here, bridge made or found. No STP (the default), so
	 * no forward delay: a port forwards once the kernel has seen its
	 * carrier (linkwatch, a moment after the peer goes up; an ARP request
	 * lost before that is repeated a second later).
	 */
	if ((r = link_up(nl, l.index, mtu)) < 0)
		return error_set(err, -r, "bridge %s: up: %s", name, strerror(-r));
	return made;
}

int nl_link_delete(struct nl *nl, const char *name, struct error *err)
{
	struct nlmsghdr *nlh = link_msg(nl, RTM_DELLINK, NLM_F_ACK, 0);
	int r;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	r = nl_run(nl, nlh, NULL, NULL);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return error_set(err, -r, "link %s: delete: %s", name, strerror(-r));
	return 0;
}

int nl_veth_create(struct nl *nl, const char *host_name, const char *bridge, uint32_t mtu,
		   const char *peer_name, int peer_netns_fd, struct error *err)
{
	struct nlmsghdr *nlh;
	struct nlattr *info, *data, *peer;
	struct ifinfomsg *pifi;
	int master, index, r;

	if ((r = check_name("veth", host_name, err)) < 0 ||
	    (r = check_name("veth peer", peer_name, err)) < 0)
		return r;
	if ((master = nl_ifindex(nl, bridge)) < 0)
		return error_set(err, -master, "veth %s (peer %s): bridge %s: %s", host_name,
				 peer_name, bridge, strerror(-master));
	nlh = link_msg(nl, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host_name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* the peer: an ifinfomsg of its own, then its attributes */
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	r = nl_run(nl, nlh, NULL, NULL);
	if (r < 0)
		return error_set(err, -r, "veth %s (peer %s): %s", host_name, peer_name,
				 strerror(-r));
	/* deleting either end removes the pair */
	if ((index = nl_ifindex(nl, host_name)) < 0 || (r = port_hairpin(nl, index)) < 0 ||
	    (r = link_up(nl, index, 0)) < 0) {
		r = index < 0 ? index : r;
		(void)nl_link_delete(nl, host_name, NULL);
		return error_set(err, -r, "veth %s (peer %s): up: %s", host_name, peer_name,
				 strerror(-r));
	}
	return 0;
}

int nl_iface_setup(struct nl *nl, const char *ifname, uint32_t addr, uint8_t prefix, uint32_t mtu,
		   uint32_t gateway, struct error *err)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	char a[INET_ADDRSTRLEN];
	int index, lo, r;

	if ((index = nl_ifindex(nl, ifname)) < 0)
		return error_set(err, -index, "interface %s: %s", ifname, strerror(-index));
	if ((r = addr_add(nl, index, addr, prefix)) < 0)
		return error_set(err, -r, "interface %s: address %s/%u: %s", ifname, ipstr(addr, a),
				 prefix, strerror(-r));
	if ((r = link_up(nl, index, mtu)) < 0)
		return error_set(err, -r, "interface %s: up: %s", ifname, strerror(-r));
	if ((lo = nl_ifindex(nl, "lo")) < 0 || (r = link_up(nl, lo, 0)) < 0) {
		r = lo < 0 ? lo : r;
		return error_set(err, -r, "interface lo: up: %s", strerror(-r));
	}
	if (!gateway)
		return 0;
	nlh = nl_msg(nl, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*rtm));
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gateway));
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	if ((r = nl_run(nl, nlh, NULL, NULL)) < 0)
		return error_set(err, -r, "interface %s: default route via %s: %s", ifname,
				 ipstr(gateway, a), strerror(-r));
	return 0;
}

int nl_link_stats(struct nl *nl, const char *name, struct nl_stats *st, struct error *err)
{
	struct link l;
	int r = link_get(nl, name, &l);

	if (r < 0)
		return error_set(err, -r, "link %s: statistics: %s", name, strerror(-r));
	st->rx_bytes = l.stats.rx_bytes;
	st->tx_bytes = l.stats.tx_bytes;
	st->rx_packets = l.stats.rx_packets;
	st->tx_packets = l.stats.tx_packets;
	st->rx_dropped = l.stats.rx_dropped;
	st->tx_dropped = l.stats.tx_dropped;
	return 0;
}

/* The names a dump found, kept until it is over so that fn may use nl. */
struct names {
	const char *prefix;
	char (*v)[IFNAMSIZ];
	size_t n, cap;
	bool nomem; /* read on to the end of the dump regardless */
};

static int names_cb(const struct nlmsghdr *nlh, void *data)
{
	struct names *ns = data;
	struct link l = { 0 };

	link_cb(nlh, &l);
	if (!*l.name || strncmp(l.name, ns->prefix, strlen(ns->prefix)) != 0 || ns->nomem)
		return MNL_CB_OK;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 16;
		void *v = reallocarray(ns->v, cap, sizeof(*ns->v));

		if (!v) {
			ns->nomem = true;
			return MNL_CB_OK;
		}
		ns->v = v;
		ns->cap = cap;
	}
	memcpy(ns->v[ns->n++], l.name, IFNAMSIZ);
	return MNL_CB_OK;
}

int nl_link_list(struct nl *nl, const char *prefix, void (*fn)(const char *name, void *arg),
		 void *arg, struct error *err)
{
	struct names ns = { .prefix = prefix };
	struct nlmsghdr *nlh = link_msg(nl, RTM_GETLINK, NLM_F_DUMP, 0);
	int r;

	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = nl_run(nl, nlh, names_cb, &ns);
	if (r == 0 && ns.nomem)
		r = -ENOMEM;
	if (r < 0) {
		free(ns.v);
		return error_set(err, -r, "links: %s", strerror(-r));
	}
	for (size_t i = 0; i < ns.n; i++)
		fn(ns.v[i], arg);
	free(ns.v);
	return 0;
}
