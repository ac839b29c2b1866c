/*
 * notify.c - the daemon end of sd_notify for services.
 *
 * Why one socket and not one per service: the sender is identified by
 * what the kernel says about it, not by which socket it used or what it
 * wrote. With SO_PASSCRED every datagram carries the sender's pid,
 * translated by the kernel into our pid namespace (so a service in its
 * own pid namespace is still named by its host pid), and /proc/PID/cgroup
 * names the service: a process can only be in a service's cgroup if we
 * put it there or an ancestor of it was. One fd and one event serve any
 * number of services, and a daemon restart only has to bind one path.
 *
 * Why a directory is bound and not the socket itself: a bind mount pins
 * the inode it was made from. Binding <runtime_dir>/notify (read-only,
 * so a service cannot plant files in our runtime dir) lets a restarted
 * daemon create a new socket there that running services still reach.
 *
 * Limits: a sender that exits and is reaped before we read its datagram
 * cannot be placed (its /proc entry is gone) and is counted as unknown;
 * BARRIER=1 (sd_notify_barrier) makes a sender wait until we have read
 * it, which is how short-lived senders such as systemd-notify(1) avoid
 * that. Any fds passed are closed unread: we keep no fd store, and
 * closing is exactly what a barrier waits for.
 */
#include <event2/event.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "events.h"
#include "log.h"
#include "notify.h"
#include "util.h"

#define NOTIFY_BATCH 64 /* datagrams read per wakeup: keeps the loop fair */
#define NOTIFY_FDS_MAX 16 /* fds we make room for (to close them); the kernel drops the rest */
#define NOTIFY_RCVBUF (1024 * 1024) /* room for a burst from many services at once */

struct notify {
	struct eventlog *events;
	const struct notify_ops *ops; /* who a sender is and what to do with its message */
	void *arg;
	int fd;
	struct event *ev;
	char *dir, *path;
	struct notify_counters count;
};

const char *notify_dir(const struct notify *n)
{
	return n->dir;
}

const char *notify_socket_path(const struct notify *n)
{
	return n->path;
}

const struct notify_counters *notify_counters(const struct notify *n)
{
	return &n->count;
}

static void refuse_mainpid(struct notify *n, struct service *svc, pid_t sender, pid_t mainpid)
{
	struct json_object *o = json_object_new_object();

	n->count.refused++;
	log_warnx("service %s: MAINPID=%d from pid %d refused: not in the service's cgroup",
		  n->ops->name(n->arg, svc), (int)mainpid, (int)sender);
	json_object_object_add(o, "key", json_object_new_string("MAINPID"));
	json_object_object_add(o, "value", json_object_new_int(mainpid));
	json_object_object_add(o, "sender", json_object_new_int(sender));
	json_object_object_add(o, "reason", json_object_new_string("not in the service's cgroup"));
	eventlog_emit(n->events, n->ops->name(n->arg, svc), "notify-refused", o);
}

static void handle(struct notify *n, const char *buf, size_t len, bool truncated,
		   const struct ucred *cred, int nfds)
{
	struct notify_msg m;
	struct error err;
	const char *why = NULL;
	struct service *svc;

	if (!cred || !(svc = n->ops->owner(n->arg, cred->pid))) {
		n->count.unknown_sender++;
		log_debug("notify: datagram from pid %d, not in any service's cgroup; ignored",
			  cred ? (int)cred->pid : 0);
		return;
	}
	if (truncated)
		why = "message too long";
	else if (notify_parse(buf, len, &m, &err) < 0)
		why = err.msg;
	else if (nfds > 0 && !m.barrier)
		why = "file descriptors passed (no fd store); closed";
	if (why) {
		n->count.malformed++;
		n->ops->refused(n->arg, svc);
		log_debug("service %s: notify message from pid %d refused: %s",
			  n->ops->name(n->arg, svc), (int)cred->pid, why);
		return;
	}
	if (m.have_mainpid && n->ops->owner(n->arg, m.mainpid) != svc) {
		refuse_mainpid(n, svc, cred->pid, m.mainpid);
		m.have_mainpid = false;
	}
	n->ops->deliver(n->arg, svc, &m, cred->pid);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct notify *n = arg;

	for (int i = 0; i < NOTIFY_BATCH; i++) {
		char buf[NOTIFY_MSG_MAX + 1];
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct ucred)) +
				 CMSG_SPACE(sizeof(int) * NOTIFY_FDS_MAX)];
		} ctl;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		const struct ucred *cred = NULL;
		int fds[NOTIFY_FDS_MAX], nfds = 0;

		ssize_t r = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("notify socket: recvmsg");
			return;
		}
		n->count.received++;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET)
				continue;
			if (c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
				cred = (const struct ucred *)(void *)CMSG_DATA(c);
			else if (c->cmsg_type == SCM_RIGHTS) {
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t j = 0; j < k && nfds < NOTIFY_FDS_MAX; j++)
					memcpy(&fds[nfds++], CMSG_DATA(c) + j * sizeof(int),
					       sizeof(int));
			}
		}
		handle(n, buf, (size_t)r > NOTIFY_MSG_MAX ? NOTIFY_MSG_MAX : (size_t)r,
		       (size_t)r > NOTIFY_MSG_MAX || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)),
		       cred, nfds);
		/* After handling: a BARRIER=1 sender learns we are done with it. */
		for (int j = 0; j < nfds; j++)
			close(fds[j]);
	}
}

int notify_open(struct event_base *base, const char *runtime_dir, struct eventlog *events,
		const struct notify_ops *ops, void *arg, struct notify **out)
{
	struct notify *n = xcalloc(1, sizeof(*n));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1, rcv = NOTIFY_RCVBUF, r;

	n->events = events;
	n->ops = ops;
	n->arg = arg;
	n->fd = -1;
	xasprintf(&n->dir, "%s/notify", runtime_dir);
	xasprintf(&n->path, "%s/%s", n->dir, NOTIFY_SOCKET_NAME);
	if (strlen(n->path) >= sizeof(sa.sun_path)) {
		r = -ENAMETOOLONG;
		goto fail;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", n->path);
	if ((r = mkdir_p(n->dir, 0755)) < 0)
		goto fail;
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0 || setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		r = -errno;
		goto fail;
	}
	if (setsockopt(n->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		(void)setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	(void)unlink(n->path);
	if (bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto fail;
	}
	/* Services may run as any user: who they are is checked per datagram. */
	if (chmod(n->path, 0666) < 0) {
		r = -errno;
		goto fail;
	}
	n->ev = event_new(base, n->fd, EV_READ | EV_PERSIST, on_read, n);
	event_add(n->ev, NULL);
	*out = n;
	return 0;
fail:
	notify_free(n);
	return r;
}

void notify_remove(struct notify *n)
{
	if (!n)
		return;
	(void)unlink(n->path);
	(void)rmdir(n->dir);
}

struct notify *notify_free(struct notify *n)
{
	if (!n)
		return NULL;
	if (n->ev)
		event_free(n->ev);
	if (n->fd >= 0) {
		close(n->fd);
		(void)unlink(n->path);
	}
	free(n->dir);
	free(n->path);
	free(n);
	return NULL;
}
