/*
 * test-netlink.c - unit tests of supervisor/net/link.c against the kernel.
 *
 * The test process leaves the machine's network namespace for two of its
 * own: A plays the host (bridges, the host ends of veth pairs) and B a
 * service (the peer ends). Both die with the process. Every effect is read
 * back through another channel than the one that made it: getifaddrs and
 * ioctls in the namespace, /proc/thread-self/net/route, a UDP datagram from
 * B to the bridge's address in A. Skipped without the right to unshare.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "link.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static struct {
	bool skip;
	int a, b; /* fds of the namespaces */
	struct nl *nla, *nlb; /* sockets in A and B */
} ctx = { .a = -1, .b = -1 };

static int setup_namespaces(void **unused)
{
	struct error err = { 0 };

	(void)unused;
	if (unshare(CLONE_NEWNET) < 0) {
		if (errno != EPERM)
			return -1;
		ctx.skip = true;
		return 0;
	}
	ctx.a = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ctx.a < 0 || unshare(CLONE_NEWNET) < 0)
		return -1;
	ctx.b = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ctx.b < 0 || setns(ctx.a, CLONE_NEWNET) < 0)
		return -1;
	if (nl_open(&ctx.nla, -1, &err) < 0 || nl_open(&ctx.nlb, ctx.b, &err) < 0) {
		fprintf(stderr, "nl_open: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown_namespaces(void **unused)
{
	(void)unused;
	nl_close(ctx.nla);
	nl_close(ctx.nlb);
	return 0;
}

/* Each test starts in A, whatever the last one did. */
static int enter_a(void **unused)
{
	(void)unused;
	return ctx.skip ? 0 : setns(ctx.a, CLONE_NEWNET);
}

static void enter(int ns)
{
	assert_int_equal(setns(ns, CLONE_NEWNET), 0);
}

static bool in_ns(int ns)
{
	struct stat want, here;

	return fstat(ns, &want) == 0 && stat("/proc/thread-self/ns/net", &here) == 0 &&
	       want.st_ino == here.st_ino && want.st_dev == here.st_dev;
}

/* How many times IFNAME has addr, in the current namespace. */
static int addr_count(const char *ifname, uint32_t addr)
{
	struct ifaddrs *all, *i;
	int n = 0;

	assert_int_equal(getifaddrs(&all), 0);
	for (i = all; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    strcmp(i->ifa_name, ifname) == 0 &&
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == htonl(addr))
			n++;
	freeifaddrs(all);
	return n;
}

/* SIOCGIFFLAGS or SIOCGIFMTU of IFNAME in the current namespace. */
static int if_query(const char *ifname, unsigned long req)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	r = ioctl(fd, req, &ifr);
	close(fd);
	assert_int_equal(r, 0);
	return req == SIOCGIFMTU ? ifr.ifr_mtu : ifr.ifr_flags;
}

/* The gateway of IFNAME's default route (host order), 0 if none; current namespace. */
static uint32_t default_gateway(const char *ifname)
{
	FILE *f = fopen("/proc/thread-self/net/route", "re");
	char line[256], dev[IFNAMSIZ + 1];
	unsigned dst, gw, mask;
	uint32_t found = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%16s %x %x %*x %*d %*d %*d %x", dev, &dst, &gw, &mask) == 4 &&
		    strcmp(dev, ifname) == 0 && dst == 0 && mask == 0)
			found = ntohl(gw);
	fclose(f);
	return found;
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static void test_bridge(void **unused)
{
	const uint32_t gw = IP(10, 231, 0, 1);
	struct error err = { 0 };

	(void)unused;
	if (ctx.skip)
		skip();
	assert_int_equal(nl_bridge_ensure(ctx.nla, "pd-br0", gw, 24, 1400, &err), 1);
	assert_int_equal(nl_bridge_ensure(ctx.nla, "pd-br0", gw, 24, 1400, &err), 0);
	assert_int_equal(addr_count("pd-br0", gw), 1);
	assert_true(if_query("pd-br0", SIOCGIFFLAGS) & IFF_UP);
	assert_int_equal(if_query("pd-br0", SIOCGIFMTU), 1400);
	assert_true(nl_ifindex(ctx.nla, "pd-br0") > 0);
	assert_int_equal(nl_ifindex(ctx.nlb, "pd-br0"), -ENODEV);
	assert_int_equal(nl_link_delete(ctx.nla, "pd-br0", &err), 0);
	assert_int_equal(nl_ifindex(ctx.nla, "pd-br0"), -ENODEV);
}

/* A link of the name that is no bridge is not taken over. */
static void test_not_a_bridge(void **unused)
{
	struct error err = { 0 };

	(void)unused;
	if (ctx.skip)
		skip();
	assert_int_equal(nl_bridge_ensure(ctx.nla, "lo", IP(10, 231, 9, 1), 24, 1500, &err),
			 -EEXIST);
	assert_non_null(strstr(err.msg, "bridge lo: "));
	assert_non_null(strstr(err.msg, "not a bridge"));
	assert_int_equal(addr_count("lo", IP(10, 231, 9, 1)), 0);
	assert_int_equal(nl_bridge_ensure(ctx.nla, "pd-0123456789abcdef", 0, 24, 0, &err), -EINVAL);
}

/* The whole path of a service: bridge, veth into B, B configured, a datagram to the host. */
static void test_veth_traffic(void **unused)
{
	const uint32_t gw = IP(10, 231, 1, 1), addr = IP(10, 231, 1, 2);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(40000) }, from;
	socklen_t fromlen = sizeof(from);
	struct error err = { 0 };
	struct nl_stats st;
	struct pollfd pfd;
	char buf[16];
	int rx, tx;

	(void)unused;
	if (ctx.skip)
		skip();
	assert_int_equal(nl_bridge_ensure(ctx.nla, "pd-br1", gw, 24, 1400, &err), 1);
	assert_int_equal(nl_veth_create(ctx.nla, "pdv1", "pd-br1", 1400, "eth0", ctx.b, &err), 0);
	/* the host end here, up; the peer only in B */
	assert_true(if_query("pdv1", SIOCGIFFLAGS) & IFF_UP);
	assert_int_equal(if_query("pdv1", SIOCGIFMTU), 1400);
	assert_int_equal(if_nametoindex("eth0"), 0);
	assert_true(nl_ifindex(ctx.nlb, "eth0") > 0);
	assert_int_equal(nl_ifindex(ctx.nlb, "pdv1"), -ENODEV);
	/*
	 * pdv1 answers no ARP for the bridge's address: the datagram below only
	 * arrives if pdv1 is a port of the bridge (a file only A has)
	 */
	write_file("/proc/sys/net/ipv4/conf/pdv1/arp_ignore", "1");

	assert_int_equal(nl_iface_setup(ctx.nlb, "eth0", addr, 24, 1400, gw, &err), 0);
	enter(ctx.b);
	assert_int_equal(addr_count("eth0", addr), 1);
	assert_true(if_query("eth0", SIOCGIFFLAGS) & IFF_UP);
	assert_true(if_query("lo", SIOCGIFFLAGS) & IFF_UP);
	assert_int_equal(if_query("eth0", SIOCGIFMTU), 1400);
	assert_int_equal(default_gateway("eth0"), gw);
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	enter(ctx.a);
	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(rx >= 0 && tx >= 0);
	to.sin_addr.s_addr = htonl(gw);
	assert_int_equal(bind(rx, (struct sockaddr *)&to, sizeof(to)), 0);

	/* B -> A through eth0, pdv1 and the bridge; the wait is for the datagram, bounded */
	assert_int_equal(sendto(tx, "paddock", 7, 0, (struct sockaddr *)&to, sizeof(to)), 7);
	pfd = (struct pollfd){ .fd = rx, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(recvfrom(rx, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen), 7);
	assert_memory_equal(buf, "paddock", 7);
	assert_int_equal(ntohl(from.sin_addr.s_addr), addr);
	close(rx);
	close(tx);

	/* the host end received the ARP request and the datagram, sent the ARP reply */
	assert_int_equal(nl_link_stats(ctx.nla, "pdv1", &st, &err), 0);
	assert_true(st.rx_packets >= 2);
	assert_true(st.rx_bytes >= 7 + 8 + 20 + 14);
	assert_true(st.tx_packets >= 1 && st.tx_bytes > 0);
	assert_int_equal(nl_link_stats(ctx.nla, "pd-none", &st, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "pd-none"));

	/* deleting the host end takes the peer in B with it */
	assert_int_equal(nl_link_delete(ctx.nla, "pdv1", &err), 0);
	assert_int_equal(nl_ifindex(ctx.nla, "pdv1"), -ENODEV);
	assert_int_equal(nl_ifindex(ctx.nlb, "eth0"), -ENODEV);
	assert_int_equal(nl_link_delete(ctx.nla, "pdv1", &err), 0);
	assert_int_equal(nl_link_delete(ctx.nla, "pd-br1", &err), 0);
}

/* A veth that cannot be made leaves nothing behind, and says which. */
static void test_veth_failures(void **unused)
{
	struct error err = { 0 };

	(void)unused;
	if (ctx.skip)
		skip();
	assert_int_equal(nl_veth_create(ctx.nla, "pdf1", "pd-none", 1500, "ethf", ctx.b, &err),
			 -ENODEV);
	assert_string_equal(err.msg, "veth pdf1 (peer ethf): bridge pd-none: No such device");
	assert_int_equal(nl_ifindex(ctx.nla, "pdf1"), -ENODEV);
	assert_int_equal(nl_ifindex(ctx.nlb, "ethf"), -ENODEV);

	/* the peer's name is taken in B */
	assert_int_equal(nl_bridge_ensure(ctx.nla, "pd-br2", IP(10, 231, 2, 1), 24, 1500, &err), 1);
	assert_int_equal(nl_veth_create(ctx.nla, "pdf2", "pd-br2", 1500, "ethx", ctx.b, &err), 0);
	assert_int_equal(nl_veth_create(ctx.nla, "pdf3", "pd-br2", 1500, "ethx", ctx.b, &err),
			 -EEXIST);
	assert_string_equal(err.msg, "veth pdf3 (peer ethx): File exists");
	assert_int_equal(nl_ifindex(ctx.nla, "pdf3"), -ENODEV);
	/* the host name is taken here */
	assert_int_equal(nl_veth_create(ctx.nla, "pdf2", "pd-br2", 1500, "ethy", ctx.b, &err),
			 -EEXIST);
	assert_int_equal(nl_ifindex(ctx.nlb, "ethy"), -ENODEV);
	assert_int_equal(nl_link_delete(ctx.nla, "pdf2", &err), 0);
	assert_int_equal(nl_link_delete(ctx.nla, "pd-br2", &err), 0);
	assert_int_equal(nl_link_delete(ctx.nla, "pd-nothing", &err), 0);
}

/* A socket opened in B sees B's links; the caller stays where it was. */
static void test_open_elsewhere(void **unused)
{
	struct error err = { 0 };
	struct nl *nl;
	int fd;

	(void)unused;
	if (ctx.skip)
		skip();
	assert_int_equal(nl_open(&nl, ctx.b, &err), 0);
	assert_true(in_ns(ctx.a));
	assert_true(nl_ifindex(nl, "lo") > 0);
	assert_int_equal(nl_bridge_ensure(ctx.nla, "pd-br3", IP(10, 231, 3, 1), 24, 1500, &err), 1);
	assert_int_equal(nl_ifindex(nl, "pd-br3"), -ENODEV);
	assert_true(nl_ifindex(ctx.nla, "pd-br3") > 0);
	nl_close(nl);
	assert_int_equal(nl_link_delete(ctx.nla, "pd-br3", &err), 0);

	/* not a namespace: fails, and the caller is still in A */
	fd = open("/", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(nl_open(&nl, fd, &err), -EINVAL);
	assert_null(nl);
	assert_non_null(strstr(err.msg, "setns"));
	assert_true(in_ns(ctx.a));
	close(fd);
}

struct seen {
	char names[8][IFNAMSIZ];
	int n;
};

/* Deletes what it is shown, through the socket that listed it. */
static void delete_listed(const char *name, void *arg)
{
	struct seen *s = arg;
	struct error err;

	if (s->n < 8)
		snprintf(s->names[s->n++], IFNAMSIZ, "%s", name);
	assert_int_equal(nl_link_delete(ctx.nla, name, &err), 0);
}

static bool seen(const struct seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return true;
	return false;
}

static void test_list(void **unused)
{
	struct error err = { 0 };
	struct seen s = { 0 };

	(void)unused;
	if (ctx.skip)
		skip();
	assert_int_equal(nl_bridge_ensure(ctx.nla, "pdl-br", IP(10, 231, 4, 1), 24, 1500, &err), 1);
	assert_int_equal(nl_veth_create(ctx.nla, "pdl1", "pdl-br", 1500, "pdl-p1", ctx.b, &err), 0);
	assert_int_equal(nl_veth_create(ctx.nla, "pdl2", "pdl-br", 1500, "pdl-p2", ctx.b, &err), 0);
	assert_int_equal(nl_link_list(ctx.nla, "pdl", delete_listed, &s, &err), 0);
	assert_int_equal(s.n, 3);
	assert_true(seen(&s, "pdl-br") && seen(&s, "pdl1") && seen(&s, "pdl2"));
	/* all gone, the peers in B with their hosts' ends */
	s.n = 0;
	assert_int_equal(nl_link_list(ctx.nla, "pdl", delete_listed, &s, &err), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(nl_ifindex(ctx.nlb, "pdl-p1"), -ENODEV);
	assert_int_equal(nl_ifindex(ctx.nlb, "pdl-p2"), -ENODEV);
	assert_true(nl_ifindex(ctx.nla, "lo") > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_bridge, enter_a),
		cmocka_unit_test_setup(test_not_a_bridge, enter_a),
		cmocka_unit_test_setup(test_veth_traffic, enter_a),
		cmocka_unit_test_setup(test_veth_failures, enter_a),
		cmocka_unit_test_setup(test_open_elsewhere, enter_a),
		cmocka_unit_test_setup(test_list, enter_a),
	};
	return cmocka_run_group_tests(tests, setup_namespaces, teardown_namespaces);
}
