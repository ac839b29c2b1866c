/*
 * resolver.c - the daemon's DNS resolver (resolver.h), after podman's
 * aardvark-dns: per network one UDP socket and one TCP listener on the
 * gateway's port 53. Names of the network are answered from a small
 * table; everything else is relayed to the host's upstreams over a
 * connected UDP socket per query (the kernel picks a random source port,
 * the id is random too, and only the upstream's address can answer it).
 *
 * Limits: RESOLVER_MAX_FORWARDS relays in flight (more are dropped, the
 * client retries), RESOLVER_MAX_TCP connections (more are closed at
 * once), TCP queries up to RESOLVER_TCP_QUERY_MAX bytes, idle TCP
 * connections closed after 5 s. The tables are arrays searched linearly:
 * fine for the tens of names a network has.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "dns.h"
#include "log.h"
#include "resolver.h"
#include "util.h"

#define RESOLVER_MAX_FORWARDS 512
#define RESOLVER_MAX_TCP 64
#define RESOLVER_TCP_IDLE_S 5
#define RESOLVER_TCP_QUERY_MAX 4096
#define RESOLVER_TCP_OUT_MAX 65536
#define RESOLVER_UDP_REPLY_MAX 512 /* local answers: no EDNS sizes needed */
#define RESOLVER_UDP_BURST 32 /* datagrams read per wake-up, for fairness */
#define RESOLVER_TIMEOUT_MS 2000

struct rname {
	char *name; /* lowercased, no trailing dot */
	uint32_t addr;
};

struct rnet {
	struct resolver *r;
	char *name;
	uint32_t addr; /* listening on it when ufd >= 0 */
	int ufd, tfd;
	struct event *uev, *tev;
	struct rname *names;
	size_t nnames;
	struct rnet *next;
};

struct tconn {
	struct resolver *r;
	struct rnet *net;
	struct bufferevent *bev;
	size_t pending; /* relays whose answer goes here */
	bool eof; /* the client has shut its side: close once all is written */
	struct tconn *prev, *next;
};

/* Where an answer goes: a UDP client of net, or a TCP connection. */
struct target {
	struct rnet *net; /* NULL once gone */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct tconn *tc;
};

struct fwd {
	struct resolver *r;
	struct target to;
	int fd;
	struct event *ev;
	size_t upstream; /* index being asked */
	uint16_t id; /* the id sent upstream */
	struct dns_query q; /* the client's, for SERVFAIL */
	uint8_t *query; /* as received, id rewritten */
	size_t qlen;
	struct fwd *prev, *next;
};

struct resolver {
	struct event_base *base;
	struct dns_host host;
	struct rnet *nets;
	struct fwd *fwds;
	size_t nfwds;
	struct tconn *tconns;
	size_t ntconns;
	int timeout_ms;
	uint8_t buf[65536]; /* one datagram at a time */
};

static struct rnet *net_find(struct resolver *r, const char *network)
{
	for (struct rnet *n = r->nets; n; n = n->next)
		if (strcmp(n->name, network) == 0)
			return n;
	return NULL;
}

static struct rnet *net_get(struct resolver *r, const char *network)
{
	struct rnet *n = net_find(r, network);
	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(network))) {
		free(n);
		return NULL;
	}
	n->r = r;
	n->ufd = n->tfd = -1;
	n->next = r->nets;
	r->nets = n;
	return n;
}

/* The addresses NAME has on net, at most max of them; returns how many it has in all. */
static size_t net_lookup(const struct rnet *net, const char *name, uint32_t *addrs, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < net->nnames; i++)
		if (strcmp(net->names[i].name, name) == 0) {
			if (k < max)
				addrs[k] = net->names[i].addr;
			k++;
		}
	return k;
}

/* ---- answers ------------------------------------------------------------ */

static void tconn_free(struct tconn *tc);
static void tconn_maybe_close(struct tconn *tc);

static void deliver(struct target *to, const uint8_t *buf, size_t len)
{
	if (to->tc) {
		struct evbuffer *out = bufferevent_get_output(to->tc->bev);
		uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
		if (len > 0xffff || evbuffer_get_length(out) + len > RESOLVER_TCP_OUT_MAX) {
			tconn_free(to->tc); /* a client that does not read its answers */
			return;
		}
		(void)bufferevent_write(to->tc->bev, hdr, 2);
		(void)bufferevent_write(to->tc->bev, buf, len);
	} else if (to->net && to->net->ufd >= 0) {
		/* UDP: a full socket buffer loses the answer, as the network would. */
		(void)sendto(to->net->ufd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			     (struct sockaddr *)&to->peer, to->peerlen);
	}
}

static void reply(struct target *to, const uint8_t *query, const struct dns_query *q, int rcode,
		  const uint32_t *addrs, size_t naddrs)
{
	uint8_t out[1024];
	/* Without EDNS a UDP answer is at most 512 bytes: as many addresses as fit. */
	size_t cap = to->tc ? sizeof(out) : RESOLVER_UDP_REPLY_MAX;
	size_t fit = q->qend < cap ? (cap - q->qend) / 16 : 0;
	size_t len =
	    dns_build_reply(query, q, rcode, addrs, naddrs < fit ? naddrs : fit, 0, out, cap);
	if (len > 0)
		deliver(to, out, len);
}

/* ---- relays to the upstreams ------------------------------------------------ */

static void fwd_free(struct fwd *f)
{
	if (f->to.tc) {
		f->to.tc->pending--;
		tconn_maybe_close(f->to.tc);
	}
	if (f->ev)
		event_free(f->ev);
	if (f->fd >= 0)
		(void)close(f->fd);
	if (f->prev)
		f->prev->next = f->next;
	else
		f->r->fwds = f->next;
	if (f->next)
		f->next->prev = f->prev;
	f->r->nfwds--;
	free(f->query);
	free(f);
}

static void fwd_cb(evutil_socket_t fd, short what, void *arg);

/* Ask upstream f->upstream or the ones after it; false when none is left. */
static bool fwd_send(struct fwd *f)
{
	const struct dns_host *h = &f->r->host;

	for (; f->upstream < h->nupstream; f->upstream++) {
		const struct sockaddr_storage *ss = &h->upstream[f->upstream];
		socklen_t sl = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
							: sizeof(struct sockaddr_in6);
		if (f->ev)
			event_free(f->ev);
		if (f->fd >= 0)
			(void)close(f->fd);
		f->ev = NULL;
		f->fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (f->fd < 0)
			continue;
		if (connect(f->fd, (const struct sockaddr *)ss, sl) < 0 ||
		    send(f->fd, f->query, f->qlen, MSG_NOSIGNAL) < 0)
			continue;
		struct timeval tv = { f->r->timeout_ms / 1000, (f->r->timeout_ms % 1000) * 1000 };
		f->ev = event_new(f->r->base, f->fd, EV_READ | EV_PERSIST, fwd_cb, f);
		if (f->ev && event_add(f->ev, &tv) == 0)
			return true;
	}
	return false;
}

static void fwd_fail(struct fwd *f)
{
	f->query[0] = (uint8_t)(f->q.id >> 8); /* the client's id, not ours */
	f->query[1] = (uint8_t)f->q.id;
	reply(&f->to, f->query, &f->q, DNS_RCODE_SERVFAIL, NULL, 0);
	fwd_free(f);
}

static void fwd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fwd *f = arg;
	struct resolver *r = f->r;

	if (what & EV_TIMEOUT) {
		f->upstream++;
		if (!fwd_send(f))
			fwd_fail(f);
		return;
	}
	ssize_t n = recv(fd, r->buf, sizeof(r->buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) { /* ICMP unreachable, say: the next one */
		f->upstream++;
		if (!fwd_send(f))
			fwd_fail(f);
		return;
	}
	/* Only the upstream can send on this socket; still, its answer must be one. */
	if (n < 12 || (r->buf[0] << 8 | r->buf[1]) != f->id || !(r->buf[2] & 0x80))
		return;
	r->buf[0] = (uint8_t)(f->q.id >> 8);
	r->buf[1] = (uint8_t)f->q.id;
	deliver(&f->to, r->buf, (size_t)n);
	fwd_free(f);
}

static void forward(struct resolver *r, struct target *to, const uint8_t *buf, size_t len,
		    const struct dns_query *q)
{
	if (r->nfwds >= RESOLVER_MAX_FORWARDS) {
		log_debug("resolver: %zu queries relayed already, dropping one for %s", r->nfwds,
			  q->name);
		return;
	}
	struct fwd *f = calloc(1, sizeof(*f));
	if (!f || !(f->query = malloc(len))) {
		free(f);
		return;
	}
	f->r = r;
	f->to = *to;
	f->fd = -1;
	f->q = *q;
	f->qlen = len;
	memcpy(f->query, buf, len);
	f->id = (uint16_t)arc4random();
	f->query[0] = (uint8_t)(f->id >> 8);
	f->query[1] = (uint8_t)f->id;
	f->next = r->fwds;
	if (r->fwds)
		r->fwds->prev = f;
	r->fwds = f;
	r->nfwds++;
	if (to->tc)
		to->tc->pending++;
	if (!fwd_send(f))
		fwd_fail(f);
}

/* ---- queries ---------------------------------------------------------------- */

static void handle_query(struct rnet *net, struct target *to, const uint8_t *buf, size_t len)
{
	struct resolver *r = net->r;
	struct dns_query q;
	uint32_t addrs[RESOLVER_UDP_REPLY_MAX / 16];

	if (dns_parse_query(buf, len, &q) < 0) {
		/* Never answer an answer (two resolvers could bounce it for ever). */
		if (len < 12 || (buf[2] & 0x80))
			return;
		q = (struct dns_query){ .id = (uint16_t)(buf[0] << 8 | buf[1]),
					.flags = (uint16_t)(buf[2] << 8 | buf[3]),
					.qend = 12 };
		reply(to, buf, &q, ((buf[2] >> 3) & 0xf) ? DNS_RCODE_NOTIMP : DNS_RCODE_FORMERR,
		      NULL, 0);
		return;
	}
	size_t n = net_lookup(net, q.name, addrs, ARRAY_SIZE(addrs));
	if (n > 0) {
		bool a = q.qtype == DNS_TYPE_A && q.qclass == DNS_CLASS_IN;
		n = n < ARRAY_SIZE(addrs) ? n : ARRAY_SIZE(addrs);
		reply(to, buf, &q, DNS_RCODE_NOERROR, addrs, a ? n : 0);
	} else if (r->host.nupstream > 0) {
		forward(r, to, buf, len, &q);
	} else {
		/* No upstream: a single label is surely nobody's; elsewhere we cannot know. */
		bool single = q.name[0] && !strchr(q.name, '.');
		reply(to, buf, &q, single ? DNS_RCODE_NXDOMAIN : DNS_RCODE_SERVFAIL, NULL, 0);
	}
}

static void udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rnet *net = arg;
	(void)what;

	for (int i = 0; i < RESOLVER_UDP_BURST; i++) {
		struct target to = { .net = net, .peerlen = sizeof(to.peer) };
		ssize_t n = recvfrom(fd, net->r->buf, sizeof(net->r->buf), MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&to.peer, &to.peerlen);
		if (n < 0)
			return;
		if ((size_t)n > sizeof(net->r->buf))
			continue; /* truncated: no query is that long */
		handle_query(net, &to, net->r->buf, (size_t)n);
	}
}

/* ---- TCP ---------------------------------------------------------------------- */

static void tconn_free(struct tconn *tc)
{
	struct resolver *r = tc->r;

	for (struct fwd *f = r->fwds; f; f = f->next)
		if (f->to.tc == tc)
			f->to.tc = NULL, f->to.net = NULL;
	bufferevent_free(tc->bev);
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		r->tconns = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	r->ntconns--;
	free(tc);
}

static void tconn_maybe_close(struct tconn *tc)
{
	if (tc->eof && tc->pending == 0 &&
	    evbuffer_get_length(bufferevent_get_output(tc->bev)) == 0)
		tconn_free(tc);
}

static void tconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct tconn *tc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t q[2 + RESOLVER_TCP_QUERY_MAX];

	while (evbuffer_get_length(in) >= 2) {
		(void)evbuffer_copyout(in, q, 2);
		size_t len = (size_t)(q[0] << 8 | q[1]);
		if (len > RESOLVER_TCP_QUERY_MAX) {
			tconn_free(tc);
			return;
		}
		if (evbuffer_get_length(in) < 2 + len)
			return;
		(void)evbuffer_remove(in, q, 2 + len);
		struct target to = { .net = tc->net, .tc = tc };
		struct resolver *r = tc->r;
		size_t before = r->ntconns;
		handle_query(tc->net, &to, q + 2, len);
		if (r->ntconns != before)
			return; /* tc was closed while answering */
	}
}

static void tconn_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	tconn_maybe_close(arg);
}

static void tconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tconn *tc = arg;

	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && tc->pending > 0) {
		(void)bufferevent_enable(bev, EV_READ); /* busy, not idle: an answer is coming */
		return;
	}
	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING)) {
		tc->eof = true;
		(void)bufferevent_disable(bev, EV_READ);
		tconn_maybe_close(tc);
		return;
	}
	tconn_free(tc);
}

static void accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rnet *net = arg;
	struct resolver *r = net->r;
	(void)what;

	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	struct tconn *tc = r->ntconns < RESOLVER_MAX_TCP ? calloc(1, sizeof(*tc)) : NULL;
	if (!tc) {
		(void)close(c);
		return;
	}
	tc->bev = bufferevent_socket_new(r->base, c, BEV_OPT_CLOSE_ON_FREE);
	if (!tc->bev) {
		(void)close(c);
		free(tc);
		return;
	}
	tc->r = r;
	tc->net = net;
	tc->next = r->tconns;
	if (r->tconns)
		r->tconns->prev = tc;
	r->tconns = tc;
	r->ntconns++;
	struct timeval idle = { RESOLVER_TCP_IDLE_S, 0 };
	bufferevent_setcb(tc->bev, tconn_read_cb, tconn_write_cb, tconn_event_cb, tc);
	bufferevent_set_timeouts(tc->bev, &idle, &idle);
	(void)bufferevent_enable(tc->bev, EV_READ | EV_WRITE);
}

/* ---- networks ----------------------------------------------------------------- */

static void net_close(struct rnet *net)
{
	struct resolver *r = net->r;

	for (struct fwd *f = r->fwds; f; f = f->next)
		if (f->to.net == net)
			f->to.net = NULL; /* its TCP clients go below */
	for (struct tconn *tc = r->tconns, *next; tc; tc = next) {
		next = tc->next;
		if (tc->net == net)
			tconn_free(tc);
	}
	if (net->uev)
		event_free(net->uev);
	if (net->tev)
		event_free(net->tev);
	if (net->ufd >= 0)
		(void)close(net->ufd);
	if (net->tfd >= 0)
		(void)close(net->tfd);
	net->uev = net->tev = NULL;
	net->ufd = net->tfd = -1;
}

static int bound_socket(int type, uint32_t addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(53),
				   .sin_addr.s_addr = htonl(addr) };
	int one = 1;
	_cleanup_close_ int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* TCP only: a restarted daemon must not wait out TIME_WAIT. On UDP it would
	 * let a second resolver share the port silently. */
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -errno;
	if (type == SOCK_STREAM && listen(fd, 64) < 0)
		return -errno;
	return steal_fd(&fd);
}

int resolver_listen(struct resolver *r, const char *network, uint32_t addr)
{
	struct rnet *net = net_get(r, network);
	int r1;

	if (!net)
		return -ENOMEM;
	if (net->ufd >= 0 && net->addr == addr)
		return 0;
	net_close(net);
	net->addr = addr;
	net->ufd = bound_socket(SOCK_DGRAM, addr);
	if (net->ufd < 0) {
		r1 = net->ufd;
		net->ufd = -1;
		return r1;
	}
	net->tfd = bound_socket(SOCK_STREAM, addr);
	if (net->tfd < 0) {
		r1 = net->tfd;
		net->tfd = -1;
		net_close(net);
		return r1;
	}
	net->uev = event_new(r->base, net->ufd, EV_READ | EV_PERSIST, udp_cb, net);
	net->tev = event_new(r->base, net->tfd, EV_READ | EV_PERSIST, accept_cb, net);
	if (!net->uev || !net->tev || event_add(net->uev, NULL) < 0 ||
	    event_add(net->tev, NULL) < 0) {
		net_close(net);
		return -ENOMEM;
	}
	return 0;
}

static void net_free(struct rnet *net)
{
	net_close(net);
	for (size_t i = 0; i < net->nnames; i++)
		free(net->names[i].name);
	free(net->names);
	free(net->name);
	free(net);
}

void resolver_unlisten(struct resolver *r, const char *network)
{
	for (struct rnet **p = &r->nets; *p; p = &(*p)->next)
		if (strcmp((*p)->name, network) == 0) {
			struct rnet *net = *p;
			*p = net->next;
			net_free(net);
			return;
		}
}

/* name lowercased, without a trailing dot, into out (DNS_NAME_MAX + 1): 0 or -EINVAL. */
static int name_norm(const char *name, char *out)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX - 2)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + ('a' - 'A') : name[i]);
	out[n] = '\0';
	return 0;
}

int resolver_add(struct resolver *r, const char *network, const char *name, uint32_t addr)
{
	char norm[DNS_NAME_MAX + 1];
	struct rnet *net;

	if (name_norm(name, norm) < 0)
		return -EINVAL;
	if (!(net = net_get(r, network)))
		return -ENOMEM;
	for (size_t i = 0; i < net->nnames; i++)
		if (net->names[i].addr == addr && strcmp(net->names[i].name, norm) == 0)
			return 0;
	struct rname *a = realloc(net->names, (net->nnames + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	net->names = a;
	if (!(a[net->nnames].name = strdup(norm)))
		return -ENOMEM;
	a[net->nnames++].addr = addr;
	return 0;
}

void resolver_del(struct resolver *r, const char *network, const char *name, uint32_t addr)
{
	char norm[DNS_NAME_MAX + 1];
	struct rnet *net = net_find(r, network);

	if (!net || name_norm(name, norm) < 0)
		return;
	for (size_t i = 0; i < net->nnames; i++)
		if (net->names[i].addr == addr && strcmp(net->names[i].name, norm) == 0) {
			free(net->names[i].name);
			net->names[i] = net->names[--net->nnames];
			return;
		}
}

/* ---- the resolver ------------------------------------------------------------- */

struct resolver *resolver_new(struct event_base *base, const char *resolv_conf,
			      const char *stub_conf)
{
	struct resolver *r = calloc(1, sizeof(*r));
	const char *rc = resolv_conf ? resolv_conf : "/etc/resolv.conf";
	int e;

	if (!r)
		return NULL;
	r->base = base;
	r->timeout_ms = RESOLVER_TIMEOUT_MS;
	e = dns_host_read(rc, stub_conf ? stub_conf : "/run/systemd/resolve/resolv.conf", &r->host);
	if (e < 0)
		log_warnx("resolver: cannot read %s: %s; names off the networks will fail", rc,
			  strerror(-e));
	else if (r->host.nupstream == 0)
		log_info("resolver: no nameserver in %s; names off the networks will fail", rc);
	return r;
}

void resolver_set_timeout(struct resolver *r, int ms)
{
	r->timeout_ms = ms > 0 ? ms : RESOLVER_TIMEOUT_MS;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	while (r->fwds)
		fwd_free(r->fwds);
	while (r->nets)
		resolver_unlisten(r, r->nets->name);
	free(r);
}

const struct dns_host *resolver_host(const struct resolver *r)
{
	return &r->host;
}
