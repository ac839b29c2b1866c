/*
 * sdnotify.c - a tiny static sd_notify client for the integration tests
 * (busybox has no systemd-notify). Linked statically so it runs inside
 * any test root. Usage:
 *   sdnotify [--barrier] [--fd] [--big] KEY=VALUE...
 * sends the arguments as one datagram, one per line, to $NOTIFY_SOCKET.
 * --barrier then waits (up to 10 s) until the manager has read it, as
 * sd_notify_barrier(3) does: an fd sent with BARRIER=1 and closed by the
 * manager. --fd passes stdin along (which a manager must refuse), --big
 * adds a STATUS= longer than any manager accepts. Exit 0 when sent (and
 * for --barrier, acknowledged).
 */
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int send_msg(int fd, const struct sockaddr_un *sa, socklen_t salen, const char *msg,
		    size_t len, int passfd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = {
		.msg_name = (void *)sa, .msg_namelen = salen, .msg_iov = &iov, .msg_iovlen = 1
	};

	if (passfd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char msg[16384];
	size_t len = 0;
	bool barrier = false;
	int passfd = -1, fd;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "sdnotify: NOTIFY_SOCKET not set\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--barrier") == 0) {
			barrier = true;
			continue;
		}
		if (strcmp(a, "--fd") == 0) {
			passfd = 0;
			continue;
		}
		if (strcmp(a, "--big") == 0) {
			len += (size_t)snprintf(msg + len, sizeof(msg) - len, "STATUS=");
			memset(msg + len, 'x', 6000);
			len += 6000;
			msg[len++] = '\n';
			continue;
		}
		size_t n = strlen(a);
		if (len + n + 1 >= sizeof(msg))
			return 2;
		memcpy(msg + len, a, n);
		len += n;
		msg[len++] = '\n';
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || send_msg(fd, &sa, salen, msg, len, passfd) < 0) {
		perror("sdnotify: send");
		return 1;
	}
	if (barrier) {
		int p[2];
		if (pipe(p) < 0 || send_msg(fd, &sa, salen, "BARRIER=1", 9, p[1]) < 0) {
			perror("sdnotify: barrier");
			return 1;
		}
		close(p[1]);
		struct pollfd pf = { .fd = p[0], .events = 0 };
		if (poll(&pf, 1, 10000) != 1 || !(pf.revents & POLLHUP)) {
			fprintf(stderr, "sdnotify: no barrier acknowledgement\n");
			return 1;
		}
	}
	return 0;
}
