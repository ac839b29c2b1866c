/*
 * test-nft.c - unit tests of supervisor/net/nft.c: the text rendered for
 * a model (without the kernel), refused models (bad bridge names, empty
 * or overflowing port ranges) that never reach the kernel, and, in a
 * network namespace of its own (root; kernel tests skip without it), the
 * table applied, replaced, left alone by a failed apply, and removed,
 * read back through libnftables' `list ruleset`, with another table that
 * must stay byte-identical throughout. The kept libnftables context's
 * socket is close-on-exec.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>

#include "nft.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static bool have_netns;

static const char other_table[] = "table inet other {\n"
				  "\tchain c {\n"
				  "\t\ttype filter hook input priority filter; policy accept;\n"
				  "\t\ttcp dport 22 accept\n"
				  "\t}\n"
				  "}\n";

/*
 * Two networks (pdi internal), four published ports: plain, udp on
 * 127.0.0.1, a range of 3 shifted to other ports, a range of 4 kept.
 */
static struct nft_net nets1[] = {
	{ .bridge = "pd0",
	  .subnet = IP(10, 231, 0, 0),
	  .gateway = IP(10, 231, 0, 1),
	  .prefix = 24,
	  .masquerade = true },
	{ .bridge = "pdi",
	  .subnet = IP(10, 231, 1, 0),
	  .gateway = IP(10, 231, 1, 1),
	  .prefix = 24,
	  .internal = true },
};
static struct nft_port ports1[] = {
	{ .proto = IPPROTO_TCP,
	  .host_port = 8080,
	  .count = 1,
	  .dest_ip = IP(10, 231, 0, 2),
	  .dest_port = 80,
	  .bridge = "pd0" },
	{ .proto = IPPROTO_UDP,
	  .host_ip = IP(127, 0, 0, 1),
	  .host_port = 5353,
	  .count = 1,
	  .dest_ip = IP(10, 231, 0, 2),
	  .dest_port = 53,
	  .bridge = "pd0" },
	{ .proto = IPPROTO_TCP,
	  .host_port = 9000,
	  .count = 3,
	  .dest_ip = IP(10, 231, 0, 3),
	  .dest_port = 7000,
	  .bridge = "pd0" },
	{ .proto = IPPROTO_UDP,
	  .host_port = 6000,
	  .count = 4,
	  .dest_ip = IP(10, 231, 0, 4),
	  .dest_port = 6000,
	  .bridge = "pd0" },
};
static const struct nft_model model1 = { nets1, 2, ports1, 4 };

/* The whole ruleset as libnftables lists it; caller frees. */
static char *run_nft(const char *cmd, bool want_output)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	char *out = NULL;

	assert_non_null(ctx);
	assert_int_equal(nft_ctx_buffer_output(ctx), 0);
	assert_int_equal(nft_ctx_buffer_error(ctx), 0);
	if (nft_run_cmd_from_buffer(ctx, cmd) != 0)
		fail_msg("nft %s: %s", cmd, nft_ctx_get_error_buffer(ctx));
	if (want_output)
		out = strdup(nft_ctx_get_output_buffer(ctx));
	nft_ctx_free(ctx);
	return out;
}

static char *ruleset(void)
{
	char *s = run_nft("list ruleset", true);

	assert_non_null(s);
	return s;
}

/* The text of `table NAME {` ... `}` inside a listing, or NULL; caller frees. */
static char *table_of(const char *list, const char *name)
{
	char head[64];
	const char *p, *end;

	snprintf(head, sizeof(head), "table %s {\n", name);
	p = strstr(list, head);
	if (!p || (p != list && p[-1] != '\n'))
		return NULL;
	end = strstr(p, "\n}\n");
	assert_non_null(end);
	return strndup(p, (size_t)(end + 3 - p));
}

static int count_tables(const char *list)
{
	int n = 0;

	for (const char *p = list; (p = strstr(p, "table ")); p++)
		if (p == list || p[-1] == '\n')
			n++;
	return n;
}

static void setup_other(void)
{
	(void)run_nft("flush ruleset", false);
	(void)run_nft(other_table, false);
}

static void assert_other_intact(const char *list)
{
	char *t = table_of(list, "inet other");

	assert_non_null(t);
	assert_string_equal(t, other_table);
	free(t);
}

/* How many netfilter netlink sockets are open here; each must be close-on-exec. */
static int nfnetlink_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name), v;
		socklen_t len = sizeof(v);

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) != 0 ||
		    v != NETLINK_NETFILTER)
			continue;
		len = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0 || v != AF_NETLINK)
			continue;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			fail_msg("fd %d: a netfilter netlink socket without FD_CLOEXEC", fd);
		n++;
	}
	closedir(d);
	return n;
}

static void test_render(void **unused)
{
	struct nft_net net = { .bridge = "pd-web.1",
			       .subnet = IP(10, 231, 7, 9), /* host bits are masked off */
			       .gateway = IP(10, 231, 7, 1),
			       .prefix = 24,
			       .masquerade = true };
	struct nft_port port = { .proto = IPPROTO_UDP,
				 .host_ip = IP(192, 168, 5, 1),
				 .host_port = 65534,
				 .count = 2,
				 .dest_ip = IP(10, 231, 7, 2),
				 .dest_port = 53,
				 .bridge = "pd-web.1" };
	struct nft_model m = { &net, 1, &port, 1 };
	char *t;

	(void)unused;
	t = nftm_render(&m);
	assert_non_null(t);
	assert_string_equal(
	    t, "table ip paddock {\n"
	       "\tchain prerouting {\n"
	       "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
	       "\t\tfib daddr type local jump ports\n"
	       "\t}\n"
	       "\n"
	       "\tchain output {\n"
	       "\t\ttype nat hook output priority -100; policy accept;\n"
	       "\t\tfib daddr type local jump ports\n"
	       "\t}\n"
	       "\n"
	       "\tchain ports {\n"
	       "\t\tip daddr 192.168.5.1 udp dport 65534 dnat to 10.231.7.2:53\n"
	       "\t\tip daddr 192.168.5.1 udp dport 65535 dnat to 10.231.7.2:54\n"
	       "\t}\n"
	       "\n"
	       "\tchain postrouting {\n"
	       "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	       "\t\tip saddr 10.231.7.0/24 oifname != \"pd-web.1\" masquerade\n"
	       "\t\toifname \"pd-web.1\" ip saddr 10.231.7.0/24 ct status dnat masquerade\n"
	       "\t\toifname \"pd-web.1\" ip saddr 127.0.0.0/8 masquerade\n"
	       "\t}\n"
	       "\n"
	       "\tchain forward {\n"
	       "\t\ttype filter hook forward priority filter; policy accept;\n"
	       "\t\tiifname \"pd-web.1\" oifname \"pd-web.1\" accept\n"
	       "\t\toifname \"pd-web.1\" ct state established,related accept\n"
	       "\t\toifname \"pd-web.1\" ct status dnat accept\n"
	       "\t\toifname \"pd-web.1\" drop\n"
	       "\t\tiifname \"pd-web.1\" accept\n"
	       "\t}\n"
	       "\n"
	       "\tchain input {\n"
	       "\t\ttype filter hook input priority filter; policy accept;\n"
	       "\t}\n"
	       "}\n");
	free(t);

	/* a range kept on the same ports is one rule that leaves the port alone */
	port.host_port = port.dest_port = 7000;
	port.count = 3;
	t = nftm_render(&m);
	assert_non_null(t);
	assert_non_null(
	    strstr(t, "\n\t\tip daddr 192.168.5.1 udp dport 7000-7002 dnat to 10.231.7.2\n"));
	assert_null(strstr(t, "dport 7001"));
	free(t);

	/* without masquerade and without ports: no NAT rule at all */
	net.masquerade = false;
	m.nports = 0;
	t = nftm_render(&m);
	assert_non_null(t);
	assert_null(strstr(t, "masquerade"));
	assert_null(strstr(t, "dnat to"));
	free(t);
}

/* A bad model is refused before anything reaches the kernel: no namespace needed. */
static void test_bad_models(void **unused)
{
	static const struct {
		const char *bridge, *port_bridge;
		uint8_t proto, prefix;
		uint16_t host_port, count, dest_port;
		const char *says;
	} bad[] = {
		{ "x;y", "x;y", IPPROTO_TCP, 24, 80, 1, 80, "bridge name \"x;y\"" },
		{ "a\"b", NULL, IPPROTO_TCP, 24, 80, 1, 80, "bridge name" },
		{ "", NULL, IPPROTO_TCP, 24, 80, 1, 80, "bridge name" },
		{ "sixteen-chars-xx", NULL, IPPROTO_TCP, 24, 80, 1, 80, "bridge name" },
		{ "pd0", "pd0", IPPROTO_TCP, 24, 80, 0, 80, "count 0" },
		{ "pd0", "pd0", IPPROTO_TCP, 24, 0, 1, 80, "outside 1..65535" },
		{ "pd0", "pd0", IPPROTO_TCP, 24, 65535, 2, 80, "outside 1..65535" },
		{ "pd0", "pd0", IPPROTO_TCP, 24, 80, 2, 65535, "outside 1..65535" },
		{ "pd0", "pd0", IPPROTO_ICMP, 24, 80, 1, 80, "neither tcp nor udp" },
		{ "pd0", "pd1", IPPROTO_TCP, 24, 80, 1, 80, "not a network here" },
		{ "pd0", "p d", IPPROTO_TCP, 24, 80, 1, 80, "not a network here" },
		{ "pd0", NULL, IPPROTO_TCP, 0, 80, 1, 80, "prefix /0" },
		{ "pd0", NULL, IPPROTO_TCP, 33, 80, 1, 80, "prefix /33" },
	};

	(void)unused;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nft_net net = { .bridge = bad[i].bridge,
				       .subnet = IP(10, 231, 0, 0),
				       .gateway = IP(10, 231, 0, 1),
				       .prefix = bad[i].prefix };
		struct nft_port port = { .proto = bad[i].proto,
					 .host_port = bad[i].host_port,
					 .count = bad[i].count,
					 .dest_ip = IP(10, 231, 0, 2),
					 .dest_port = bad[i].dest_port,
					 .bridge = bad[i].port_bridge };
		struct nft_model m = { &net, 1, &port, 1 };
		struct error e = { 0 };

		assert_null(nftm_render(&m));
		assert_int_equal(nftm_apply(&m, &e), -EINVAL);
		assert_int_equal(e.code, EINVAL);
		if (strncmp(e.msg, "nftables: ", 10) != 0 || !strstr(e.msg, bad[i].says))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, e.msg, bad[i].says);
	}
	/* the same bridge twice */
	struct nft_net two[] = { { .bridge = "pd0", .subnet = IP(10, 231, 0, 0), .prefix = 24 },
				 { .bridge = "pd0", .subnet = IP(10, 231, 1, 0), .prefix = 24 } };
	struct nft_model m = { two, 2, NULL, 0 };
	struct error e = { 0 };
	assert_int_equal(nftm_apply(&m, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "named twice"));
}

static void test_apply_replace_remove(void **unused)
{
	struct error e = { 0 };
	char *list, *t, *want;

	(void)unused;
	if (!have_netns)
		skip();
	setup_other();

	assert_int_equal(nftm_apply(&model1, &e), 0);
	list = ruleset();
	assert_int_equal(count_tables(list), 2);
	assert_other_intact(list);
	t = table_of(list, "ip paddock");
	assert_non_null(t);
	want = nftm_render(&model1);
	assert_string_equal(t, want); /* the kernel holds exactly the rendered text */
	free(want);
	/* and that text says what it should */
	static const char *const present[] = {
		"\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy "
		"accept;\n\t\tfib daddr type local jump ports\n",
		"\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n"
		"\t\tfib daddr type local jump ports\n",
		"\t\ttcp dport 8080 dnat to 10.231.0.2:80\n",
		"\t\tip daddr 127.0.0.1 udp dport 5353 dnat to 10.231.0.2:53\n",
		"\t\ttcp dport 9000 dnat to 10.231.0.3:7000\n",
		"\t\ttcp dport 9001 dnat to 10.231.0.3:7001\n",
		"\t\ttcp dport 9002 dnat to 10.231.0.3:7002\n",
		"\t\tudp dport 6000-6003 dnat to 10.231.0.4\n",
		"\t\tip saddr 10.231.0.0/24 oifname != \"pd0\" masquerade\n",
		"\t\toifname \"pd0\" ip saddr 10.231.0.0/24 ct status dnat masquerade\n",
		"\t\toifname \"pd0\" ip saddr 127.0.0.0/8 masquerade\n",
		"\t\tiifname \"pdi\" oifname != \"pdi\" drop\n",
		"\t\toifname \"pdi\" iifname != \"pdi\" drop\n",
		"\t\tiifname \"pdi\" ip daddr 10.231.1.1 udp dport 53 accept\n",
		"\t\tiifname \"pdi\" ip daddr 10.231.1.1 tcp dport 53 accept\n",
		"\t\tiifname \"pdi\" drop\n",
		"\t\tiifname \"pd0\" oifname \"pd0\" accept\n",
		"\t\toifname \"pd0\" drop\n",
		"\t\tiifname \"pd0\" accept\n",
	};
	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		if (!strstr(t, present[i]))
			fail_msg("missing %s in\n%s", present[i], t);
	assert_null(strstr(t, "10.231.1.0/24")); /* no masquerade for the internal net */
	assert_null(strstr(t, "tcp dport 9003"));
	/* isolation: every drop of pd0's forward rules comes before its accept */
	assert_true(strstr(t, "oifname \"pd0\" drop") < strstr(t, "iifname \"pd0\" accept"));
	free(t);
	free(list);
	/* the context is kept, its socket does not leak into a re-exec */
	assert_int_equal(nfnetlink_fds(), 1);

	/* a second model replaces the first whole */
	struct nft_net nets2[] = { { .bridge = "pd1",
				     .subnet = IP(10, 231, 2, 0),
				     .gateway = IP(10, 231, 2, 1),
				     .prefix = 24,
				     .masquerade = true } };
	struct nft_port ports2[] = { { .proto = IPPROTO_TCP,
				       .host_port = 8443,
				       .count = 1,
				       .dest_ip = IP(10, 231, 2, 5),
				       .dest_port = 443,
				       .bridge = "pd1" } };
	struct nft_model model2 = { nets2, 1, ports2, 1 };
	assert_int_equal(nftm_apply(&model2, &e), 0);
	list = ruleset();
	assert_int_equal(count_tables(list), 2);
	assert_other_intact(list);
	assert_non_null(strstr(list, "tcp dport 8443 dnat to 10.231.2.5:443\n"));
	assert_non_null(strstr(list, "ip saddr 10.231.2.0/24 oifname != \"pd1\" masquerade\n"));
	assert_null(strstr(list, "pd0"));
	assert_null(strstr(list, "pdi"));
	assert_null(strstr(list, "dport 8080"));
	assert_null(strstr(list, "dport 9001"));

	/* a bad model leaves the ruleset exactly as it was */
	nets2[0].bridge = "x;y";
	ports2[0].bridge = "x;y";
	assert_int_equal(nftm_apply(&model2, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "\"x;y\""));
	char *after = ruleset();
	assert_string_equal(after, list);
	free(after);
	nets2[0].bridge = ports2[0].bridge = "pd1";
	ports2[0].count = 0;
	assert_int_equal(nftm_apply(&model2, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "count 0"));
	after = ruleset();
	assert_string_equal(after, list);
	free(after);
	free(list);

	assert_int_equal(nftm_remove(&e), 0);
	list = ruleset();
	assert_int_equal(count_tables(list), 1);
	assert_null(strstr(list, "paddock"));
	assert_other_intact(list);
	free(list);
	nftm_close();
	assert_int_equal(nfnetlink_fds(), 0);
	assert_int_equal(nftm_remove(&e), 0);
	list = ruleset();
	assert_int_equal(count_tables(list), 1);
	assert_other_intact(list);
	free(list);
	(void)run_nft("flush ruleset", false);
}

/*
 * A refusal by the kernel (here: no CAP_NET_ADMIN in a child) comes back
 * as libnftables' own words behind "nftables: ", and the table loaded
 * before is untouched.
 */
static void test_refused(void **unused)
{
	struct nft_net net = { .bridge = "pd9", .subnet = IP(10, 231, 9, 0), .prefix = 24 };
	struct nft_model m = { &net, 1, NULL, 0 };
	struct error e = { 0 };
	char *before, *after;
	int fds[2], status;
	pid_t pid;

	(void)unused;
	if (!have_netns)
		skip();
	setup_other();
	assert_int_equal(nftm_apply(&model1, &e), 0);
	before = ruleset();

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2] = { { 0 } };

		if (syscall(SYS_capset, &h, d) != 0)
			snprintf(e.msg, sizeof(e.msg), "capset: %s", strerror(errno));
		else
			e.code = -nftm_apply(&m, &e);
		_exit(write(fds[1], &e, sizeof(e)) == (ssize_t)sizeof(e) ? 0 : 1);
	}
	close(fds[1]);
	memset(&e, 0, sizeof(e));
	assert_int_equal(read(fds[0], &e, sizeof(e)), (ssize_t)sizeof(e));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid); /* its status: valgrind's, if under it */
	if (e.code != EPERM || strncmp(e.msg, "nftables: ", 10) != 0 ||
	    !strstr(e.msg, "Operation not permitted"))
		fail_msg("refusal: %d, \"%s\"", e.code, e.msg);

	after = ruleset();
	assert_string_equal(after, before);
	free(after);
	free(before);
	assert_int_equal(nftm_remove(&e), 0);
	(void)run_nft("flush ruleset", false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_bad_models),
		cmocka_unit_test(test_apply_replace_remove),
		cmocka_unit_test(test_refused),
	};

	/* a namespace of our own, first: the host's ruleset is never touched */
	if (unshare(CLONE_NEWNET) == 0)
		have_netns = true;
	else if (errno != EPERM)
		fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
	if (!have_netns)
		fprintf(stderr, "no network namespace of our own: kernel tests skipped\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
