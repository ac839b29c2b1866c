/*
 * fdstore.c - the fd holder process and its client (see fdstore.h for why).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/un.h>

#include "fdstore.h"
#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define MAX_CONNS 8
#define IO_TIMEOUT_S 2

struct fdstore {
	int fd;
	pid_t pid; /* the holder's */
};

/* --- messages ------------------------------------------------------------------------- */

static int send_msg(int fd, char op, const char *key, const int *fds, size_t nfds)
{
	char buf[1 + FDSTORE_KEY_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDSTORE_MAX_FDS)];
		struct cmsghdr align;
	} u;
	size_t klen = key ? strlen(key) : 0;
	struct iovec iov = { .iov_base = buf, .iov_len = 1 + klen + 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (klen >= FDSTORE_KEY_MAX || nfds > FDSTORE_MAX_FDS)
		return -EINVAL;
	buf[0] = op;
	memcpy(buf + 1, key ? key : "", klen + 1);
	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	for (;;) {
		if (sendmsg(fd, &mh, MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* One message: op, key (NUL-terminated, validated), fds received close-on-exec. */
static int recv_msg(int fd, char *op, char key[FDSTORE_KEY_MAX], int *fds, size_t *nfds)
{
	char buf[1 + FDSTORE_KEY_MAX + 1];
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDSTORE_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < FDSTORE_MAX_FDS)
				fds[(*nfds)++] = f;
			else
				close(f);
		}
	}
	if (n == 0)
		return 0; /* EOF */
	/* Truncated, empty or unterminated: drop the fds, report garbage. */
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n < 2 || buf[n - 1] != '\0' ||
	    strlen(buf + 1) + 2 != (size_t)n || (size_t)n - 1 > FDSTORE_KEY_MAX) {
		for (size_t i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EBADMSG;
	}
	*op = buf[0];
	memcpy(key, buf + 1, (size_t)n - 1);
	return (int)n;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* --- the holder ------------------------------------------------------------------------ */

struct entry {
	char key[FDSTORE_KEY_MAX];
	int fds[FDSTORE_MAX_FDS];
	size_t nfds;
};

static struct entry *entries;
static size_t nentries, centries;

static void entry_clear(struct entry *e)
{
	for (size_t i = 0; i < e->nfds; i++)
		close(e->fds[i]);
	e->nfds = 0;
}

static struct entry *entry_find(const char *key)
{
	for (size_t i = 0; i < nentries; i++)
		if (strcmp(entries[i].key, key) == 0)
			return &entries[i];
	return NULL;
}

static void entry_drop(const char *key)
{
	struct entry *e = entry_find(key);

	if (!e)
		return;
	entry_clear(e);
	*e = entries[--nentries];
}

static bool entry_put(const char *key, const int *fds, size_t nfds)
{
	struct entry *e = entry_find(key);

	if (!e) {
		if (nentries == centries) {
			size_t c = centries ? centries * 2 : 64;
			struct entry *n = realloc(entries, c * sizeof(*n));
			if (!n)
				return false;
			entries = n;
			centries = c;
		}
		e = &entries[nentries++];
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->nfds = 0;
	}
	entry_clear(e);
	memcpy(e->fds, fds, nfds * sizeof(int));
	e->nfds = nfds;
	return true;
}

/* Serve one message on conn; false when the connection is done. */
static bool serve_one(int conn)
{
	char op = 0, key[FDSTORE_KEY_MAX];
	int fds[FDSTORE_MAX_FDS];
	size_t nfds = 0;
	int n = recv_msg(conn, &op, key, fds, &nfds);

	if (n == -EBADMSG)
		return true; /* ignore garbage, keep the connection */
	if (n <= 0) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		return false;
	}
	switch (op) {
	case 'P':
		if (!entry_put(key, fds, nfds))
			for (size_t i = 0; i < nfds; i++)
				close(fds[i]);
		return true;
	case 'D':
		entry_drop(key);
		break;
	case 'L':
		for (size_t i = 0; i < nentries; i++)
			if (send_msg(conn, 'E', entries[i].key, entries[i].fds, entries[i].nfds) <
			    0)
				return false;
		if (send_msg(conn, 'Z', "", NULL, 0) < 0)
			return false;
		break;
	case 'I': { /* who are we: SO_PEERCRED names whoever called listen(), our parent */
		char pid[24];
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if (send_msg(conn, 'I', pid, NULL, 0) < 0)
			return false;
		break;
	}
	case 'Q':
		_exit(0); /* nothing left to hold; the sender waits for our EOF */
	default:
		break;
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	return true;
}

void fdstore_serve(int listenfd)
{
	struct pollfd pfd[1 + MAX_CONNS];
	size_t nconns = 0;

	pfd[0] = (struct pollfd){ .fd = listenfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 1 + nconns, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (size_t i = 1; i < 1 + nconns;) {
			if (pfd[i].revents && !serve_one(pfd[i].fd)) {
				close(pfd[i].fd);
				pfd[i] = pfd[nconns--];
				continue;
			}
			i++;
		}
		if (pfd[0].revents & POLLIN) {
			int c = accept4(listenfd, NULL, NULL, SOCK_CLOEXEC);
			struct ucred cred;
			socklen_t len = sizeof(cred);
			if (c < 0)
				continue;
			/* Only root (paddockd) may store or take descriptors. */
			if (nconns == MAX_CONNS ||
			    getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
			    cred.uid != 0) {
				close(c);
				continue;
			}
			set_timeouts(c);
			pfd[1 + nconns++] = (struct pollfd){ .fd = c, .events = POLLIN };
		}
	}
}

/* --- client ----------------------------------------------------------------------------- */

static int make_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

static int try_connect(const char *path, pid_t *pid)
{
	struct sockaddr_un sun;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, r;

	if ((r = make_addr(path, &sun)) < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (cred.uid != 0) { /* not ours: somebody else bound the path */
		close(fd);
		return -EPERM;
	}
	set_timeouts(fd);
	/* The holder's own pid, to wait for its exit on quit. */
	char op = 0, key[FDSTORE_KEY_MAX];
	int fds[FDSTORE_MAX_FDS];
	size_t nfds = 0;
	*pid = 0;
	if (send_msg(fd, 'I', "", NULL, 0) == 0 && recv_msg(fd, &op, key, fds, &nfds) > 0 &&
	    op == 'I')
		*pid = (pid_t)strtol(key, NULL, 10);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	return fd;
}

/* Bind the socket here, then fork the holder that serves it and outlives us. */
static int spawn(const char *path)
{
	struct sockaddr_un sun;
	int lfd, r;
	pid_t pid;

	if ((r = make_addr(path, &sun)) < 0)
		return r;
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	(void)unlink(path);
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0600) < 0 ||
	    listen(lfd, MAX_CONNS) < 0) {
		r = -errno;
		close(lfd);
		return r;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(lfd);
		return r;
	}
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		/* Nothing of the daemon's: only the listening socket and /dev/null. */
		if (null >= 0) {
			(void)dup2(null, 0), (void)dup2(null, 1), (void)dup2(null, 2);
		}
		if (lfd != 3) {
			(void)dup2(lfd, 3);
			lfd = 3;
		}
		(void)syscall(SYS_close_range, 4U, ~0U, 0U);
		(void)fcntl(3, F_SETFD, FD_CLOEXEC);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				(void)signal(s, SIG_DFL);
		(void)signal(SIGPIPE, SIG_IGN);
		(void)signal(SIGHUP, SIG_IGN);
		(void)signal(SIGINT, SIG_IGN);
		(void)setsid();
		(void)prctl(PR_SET_NAME, "paddock-fdstore");
		/* Out of every other mount's way; also how tests find their holder. */
		char *slash = strrchr(sun.sun_path, '/');
		if (slash && slash != sun.sun_path) {
			*slash = '\0';
			(void)!chdir(sun.sun_path);
		} else {
			(void)!chdir("/");
		}
		fdstore_serve(lfd);
	}
	close(lfd);
	return 0;
}

int fdstore_open(const char *path, struct fdstore **out, bool *spawned)
{
	pid_t pid = 0;
	int fd = try_connect(path, &pid), r;

	*spawned = false;
	if (fd == -EPERM)
		return fd;
	if (fd < 0) {
		if ((r = spawn(path)) < 0)
			return r;
		*spawned = true;
		if ((fd = try_connect(path, &pid)) < 0)
			return fd;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->fd = fd;
	(*out)->pid = pid;
	return 0;
}

struct fdstore *fdstore_free(struct fdstore *fs)
{
	if (fs) {
		close(fs->fd);
		free(fs);
	}
	return NULL;
}

int fdstore_fd(const struct fdstore *fs)
{
	return fs ? fs->fd : -1;
}

int fdstore_put(struct fdstore *fs, const char *key, const int *fds, size_t nfds)
{
	return fs ? send_msg(fs->fd, 'P', key, fds, nfds) : -ENOTCONN;
}

int fdstore_drop(struct fdstore *fs, const char *key)
{
	return fs ? send_msg(fs->fd, 'D', key, NULL, 0) : -ENOTCONN;
}

/* Running or not yet a zombie: it still counts in its cgroup. */
static bool alive(pid_t pid)
{
	char path[64], buf[512];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')))
		return false;
	return p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

int fdstore_quit(struct fdstore *fs)
{
	char c;
	int r;

	if (!fs)
		return -ENOTCONN;
	if ((r = send_msg(fs->fd, 'Q', "", NULL, 0)) < 0)
		return r;
	/* Wait until it is gone, so that its cgroup can be removed right after. */
	while (recv(fs->fd, &c, 1, 0) > 0)
		;
	for (int i = 0; i < 2000 && fs->pid > 0 && alive(fs->pid); i++) {
		struct timespec ts = { 0, 1000000 };
		(void)waitpid(fs->pid, NULL, WNOHANG);
		(void)nanosleep(&ts, NULL);
	}
	return 0;
}

int fdstore_list(struct fdstore *fs, void (*cb)(void *arg, const char *key, int *fds, size_t n),
		 void *arg)
{
	int r;

	if (!fs)
		return -ENOTCONN;
	if ((r = send_msg(fs->fd, 'L', "", NULL, 0)) < 0)
		return r;
	for (;;) {
		char op = 0, key[FDSTORE_KEY_MAX];
		int fds[FDSTORE_MAX_FDS];
		size_t nfds = 0;
		r = recv_msg(fs->fd, &op, key, fds, &nfds);
		if (r == -EBADMSG)
			continue;
		if (r <= 0) {
			for (size_t i = 0; i < nfds; i++)
				close(fds[i]);
			return r < 0 ? r : -ECONNRESET;
		}
		if (op == 'Z') {
			for (size_t i = 0; i < nfds; i++)
				close(fds[i]);
			return 0;
		}
		if (op == 'E')
			cb(arg, key, fds, nfds);
		else
			for (size_t i = 0; i < nfds; i++)
				close(fds[i]);
	}
}
