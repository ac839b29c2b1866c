/*
 * nft.c - paddock's table through libnftables (nft.h).
 *
 * The model is checked, then rendered to nft's own syntax and loaded as
 * one buffer: `add table` + `delete table` + `table ip paddock { ... }`.
 * libnftables sends the whole buffer as one netlink batch, which the
 * kernel commits or refuses whole, so a failure leaves the previous table
 * as it was, and no other table is read or written. Everything that goes
 * into the text is a number the renderer formats or a bridge name checked
 * against [A-Za-z0-9_.-]{1,15}: nothing in a model can inject syntax.
 *
 * The text is laid out as `nft list table ip paddock` prints it back, so a
 * listing can be compared with nftm_render's text as is.
 *
 * Rule order in `forward` matters: every `oifname BR ... drop` comes
 * before any `iifname BR accept`, or a packet from one bridge to another
 * would be accepted by the first bridge's rule before the second's drop
 * is seen (networks are isolated from each other, as in docker). Traffic
 * within one bridge is accepted before that drop: where br_netfilter is
 * loaded (bridge-nf-call-iptables=1, as on docker hosts) frames bridged
 * between two services pass the ip forward hook with iif = oif = BR.
 *
 * A range published on the same ports (9000-9005:9000-9005) is one rule;
 * one that shifts them is one rule per port, on the path of packets to
 * local addresses only (fine for the tens of ports a host publishes; a
 * map would be the next step).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "nft.h"
#include "util.h"

#define IFNAME_MAX 15

static bool name_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= IFNAME_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return n > 0;
}

static const struct nft_net *find_net(const struct nft_model *m, const char *bridge)
{
	for (size_t i = 0; i < m->nnets; i++)
		if (strcmp(m->nets[i].bridge, bridge) == 0)
			return &m->nets[i];
	return NULL;
}

/* Everything the renderer relies on; err names the network or port and the reason. */
static int check_model(const struct nft_model *m, struct error *err)
{
	if ((m->nnets && !m->nets) || (m->nports && !m->ports))
		return error_set(err, EINVAL, "nftables: model without its arrays");
	for (size_t i = 0; i < m->nnets; i++) {
		const struct nft_net *n = &m->nets[i];

		if (!name_ok(n->bridge))
			return error_set(err, EINVAL,
					 "nftables: network %zu: bridge name \"%.32s\" is not "
					 "1 to 15 of [A-Za-z0-9_.-]",
					 i, n->bridge ? n->bridge : "(null)");
		if (n->prefix < 1 || n->prefix > 32)
			return error_set(err, EINVAL,
					 "nftables: bridge %s: prefix /%u is not 1..32", n->bridge,
					 n->prefix);
		if (find_net(m, n->bridge) != n)
			return error_set(err, EINVAL, "nftables: bridge %s: named twice",
					 n->bridge);
	}
	for (size_t i = 0; i < m->nports; i++) {
		const struct nft_port *p = &m->ports[i];

		if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
			return error_set(err, EINVAL,
					 "nftables: port %zu: protocol %u is neither tcp nor udp",
					 i, p->proto);
		if (p->count < 1)
			return error_set(err, EINVAL, "nftables: port %zu: count 0", i);
		if (p->host_port < 1 || p->host_port + p->count - 1 > 65535 || p->dest_port < 1 ||
		    p->dest_port + p->count - 1 > 65535)
			return error_set(err, EINVAL,
					 "nftables: port %zu: %u-%u -> %u-%u is outside 1..65535",
					 i, p->host_port, p->host_port + p->count - 1, p->dest_port,
					 p->dest_port + p->count - 1);
		if (p->dest_ip == 0)
			return error_set(err, EINVAL, "nftables: port %zu: no destination address",
					 i);
		if (p->bridge && !find_net(m, p->bridge))
			return error_set(
			    err, EINVAL,
			    "nftables: port %zu: bridge \"%.32s\" is not a network here", i,
			    p->bridge);
	}
	return 0;
}

static const char *ip(char buf[16], uint32_t a)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

static uint32_t mask(uint8_t prefix)
{
	return prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
}

static bool has_ports(const struct nft_model *m, const char *bridge)
{
	for (size_t j = 0; j < m->nports; j++)
		if (m->ports[j].bridge && strcmp(m->ports[j].bridge, bridge) == 0)
			return true;
	return false;
}

static void render_ports(FILE *f, const struct nft_model *m)
{
	char a[16], b[16], daddr[32];

	fputs("\n\tchain ports {\n", f);
	for (size_t i = 0; i < m->nports; i++) {
		const struct nft_port *p = &m->ports[i];
		const char *proto = p->proto == IPPROTO_TCP ? "tcp" : "udp";

		daddr[0] = '\0';
		if (p->host_ip)
			snprintf(daddr, sizeof(daddr), "ip daddr %s ", ip(a, p->host_ip));
		ip(b, p->dest_ip);
		if (p->count > 1 && p->host_port == p->dest_port) {
			/* the same ports on both sides: one rule, DNAT keeps the port */
			fprintf(f, "\t\t%s%s dport %u-%u dnat to %s\n", daddr, proto, p->host_port,
				p->host_port + p->count - 1, b);
			continue;
		}
		for (unsigned k = 0; k < p->count; k++)
			fprintf(f, "\t\t%s%s dport %u dnat to %s:%u\n", daddr, proto,
				p->host_port + k, b, p->dest_port + k);
	}
	fputs("\t}\n", f);
}

static void render_postrouting(FILE *f, const struct nft_model *m)
{
	char a[16];

	fputs("\n\tchain postrouting {\n"
	      "\t\ttype nat hook postrouting priority srcnat; policy accept;\n",
	      f);
	for (size_t i = 0; i < m->nnets; i++) {
		const struct nft_net *n = &m->nets[i];

		if (n->masquerade && !n->internal)
			fprintf(f, "\t\tip saddr %s/%u oifname != \"%s\" masquerade\n",
				ip(a, n->subnet & mask(n->prefix)), n->prefix, n->bridge);
	}
	/* hairpin and the host's loopback, for each bridge that has a published port */
	for (size_t i = 0; i < m->nnets; i++) {
		const struct nft_net *n = &m->nets[i];

		if (!has_ports(m, n->bridge))
			continue;
		fprintf(f, "\t\toifname \"%s\" ip saddr %s/%u ct status dnat masquerade\n",
			n->bridge, ip(a, n->subnet & mask(n->prefix)), n->prefix);
		fprintf(f, "\t\toifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n", n->bridge);
	}
	fputs("\t}\n", f);
}

static void render_forward(FILE *f, const struct nft_model *m)
{
	fputs("\n\tchain forward {\n"
	      "\t\ttype filter hook forward priority filter; policy accept;\n",
	      f);
	for (size_t i = 0; i < m->nnets; i++) {
		const char *br = m->nets[i].bridge;

		if (m->nets[i].internal)
			fprintf(f,
				"\t\tiifname \"%s\" oifname != \"%s\" drop\n"
				"\t\toifname \"%s\" iifname != \"%s\" drop\n",
				br, br, br, br);
		else
			fprintf(f,
				"\t\tiifname \"%s\" oifname \"%s\" accept\n"
				"\t\toifname \"%s\" ct state established,related accept\n"
				"\t\toifname \"%s\" ct status dnat accept\n"
				"\t\toifname \"%s\" drop\n",
				br, br, br, br, br);
	}
	for (size_t i = 0; i < m->nnets; i++)
		if (!m->nets[i].internal)
			fprintf(f, "\t\tiifname \"%s\" accept\n", m->nets[i].bridge);
	fputs("\t}\n", f);
}

static void render_input(FILE *f, const struct nft_model *m)
{
	char a[16];

	fputs("\n\tchain input {\n"
	      "\t\ttype filter hook input priority filter; policy accept;\n",
	      f);
	for (size_t i = 0; i < m->nnets; i++) {
		const struct nft_net *n = &m->nets[i];

		if (!n->internal)
			continue;
		ip(a, n->gateway);
		fprintf(f,
			"\t\tiifname \"%s\" ip daddr %s udp dport 53 accept\n"
			"\t\tiifname \"%s\" ip daddr %s tcp dport 53 accept\n"
			"\t\tiifname \"%s\" ct state established,related accept\n"
			"\t\tiifname \"%s\" drop\n",
			n->bridge, a, n->bridge, a, n->bridge, n->bridge);
	}
	fputs("\t}\n", f);
}

static char *render(const struct nft_model *m, struct error *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (check_model(m, err) < 0)
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f) {
		error_set(err, errno, "nftables: open_memstream");
		return NULL;
	}
	fputs("table ip " NFT_TABLE " {\n"
	      "\tchain prerouting {\n"
	      "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
	      "\t\tfib daddr type local jump ports\n"
	      "\t}\n"
	      "\n"
	      "\tchain output {\n"
	      "\t\ttype nat hook output priority -100; policy accept;\n"
	      "\t\tfib daddr type local jump ports\n"
	      "\t}\n",
	      f);
	render_ports(f, m);
	render_postrouting(f, m);
	render_forward(f, m);
	render_input(f, m);
	fputs("}\n", f);
	if (ferror(f) | fclose(f)) {
		free(buf);
		error_set(err, ENOMEM, "nftables: rendering the table");
		return NULL;
	}
	return buf;
}

char *nftm_render(const struct nft_model *m)
{
	return render(m, NULL);
}

/* libnftables says what failed only in text: find the errno it names, else EIO. */
static int text_errno(const char *msg)
{
	static const int known[] = { EPERM,   ENOENT,	  EEXIST,	EBUSY,		 ENOMEM,
				     ENOBUFS, EOPNOTSUPP, EAFNOSUPPORT, EPROTONOSUPPORT, EINVAL };

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (strstr(msg, strerror(known[i])))
			return known[i];
	return EIO;
}

/*
 * One libnftables context for the process, kept: freeing one closes its
 * netlink socket, and after a transaction that deleted objects (ours
 * always does) the kernel's release of that socket waits for nf_tables'
 * deferred destruction, an RCU grace period: 8 to 24 ms here, against
 * 0.4 ms for a whole apply on a kept context. Not thread-safe: the
 * daemon's main thread only.
 */
static struct nft_ctx *kept;

/*
 * libnftables 1.0 opens its netlink socket without SOCK_CLOEXEC, and a
 * re-exec of the daemon would inherit it. It takes the lowest free fd:
 * mark that one, once it proves to be a netfilter netlink socket.
 */
static void cloexec_if_nfnetlink(int fd)
{
	int v, flags;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0 || v != AF_NETLINK)
		return;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) != 0 || v != NETLINK_NETFILTER)
		return;
	flags = fcntl(fd, F_GETFD);
	if (flags >= 0 && !(flags & FD_CLOEXEC))
		(void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

static struct nft_ctx *context(struct error *err)
{
	int lowest;

	if (kept)
		return kept;
	lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (lowest >= 0)
		(void)close(lowest);
	kept = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!kept) {
		error_set(err, ENOMEM, "nftables: cannot create a context");
		return NULL;
	}
	if (lowest >= 0)
		cloexec_if_nfnetlink(lowest);
	if (nft_ctx_buffer_output(kept) < 0 || nft_ctx_buffer_error(kept) < 0) {
		nftm_close();
		error_set(err, ENOMEM, "nftables: cannot buffer output");
		return NULL;
	}
	return kept;
}

void nftm_close(void)
{
	if (kept)
		nft_ctx_free(kept);
	kept = NULL;
}

/* Run buf; on failure err gets the first line of nft's complaint. */
static int run(const char *buf, struct error *err)
{
	struct nft_ctx *ctx = context(err);
	const char *msg;
	int r = 0, n;

	if (!ctx)
		return -err->code;
	if (nft_run_cmd_from_buffer(ctx, buf) != 0) {
		msg = nft_ctx_get_error_buffer(ctx);
		if (!msg || !*msg)
			msg = "failed without saying why";
		n = (int)strcspn(msg, "\n");
		r = error_set(err, text_errno(msg), "nftables: %.*s", n, msg);
	} else {
		(void)nft_ctx_get_error_buffer(ctx); /* getting a buffer rewinds it */
	}
	(void)nft_ctx_get_output_buffer(ctx);
	return r;
}

int nftm_apply(const struct nft_model *m, struct error *err)
{
	struct error local;
	_cleanup_free_ char *table = NULL;
	_cleanup_free_ char *buf = NULL;

	if (!err)
		err = &local;
	table = render(m, err);
	if (!table)
		return -err->code;
	if (asprintf(&buf, "add table ip " NFT_TABLE "\ndelete table ip " NFT_TABLE "\n%s", table) <
	    0) {
		buf = NULL;
		return error_set(err, ENOMEM, "nftables: building the batch");
	}
	return run(buf, err);
}

int nftm_remove(struct error *err)
{
	struct error local;

	return run("add table ip " NFT_TABLE "\ndelete table ip " NFT_TABLE "\n",
		   err ? err : &local);
}
