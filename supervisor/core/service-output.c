/*
 * service-output.c - one service: the output pipes and the log (see service-internal.h).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>

#include "log.h"
#include "logstore.h"
#include "service-internal.h"
#include "util.h"

void svc_close_output(struct service *svc, int i)
{
	if (svc->ev_out[i]) {
		event_free(svc->ev_out[i]);
		svc->ev_out[i] = NULL;
	}
	if (svc->out_fd[i] >= 0) {
		close(svc->out_fd[i]);
		svc->out_fd[i] = -1;
		logstore_flush(svc->log, i + 1);
	}
}

/* --- output ----------------------------------------------------------------- */

/*
 * Take what the pipe holds without consuming it: tee(2) copies it into a
 * scratch pipe we drain. Only once the lines are in the log file are the
 * bytes consumed from the service's pipe, so a paddockd killed at any
 * moment loses no line: the next one finds the unlogged bytes still in the
 * pipe (held by the fd holder) and at worst logs a few lines twice.
 * Returns bytes logged, 0 at EOF, -errno (-EAGAIN: nothing there).
 */
static ssize_t log_from_pipe(struct service *svc, int fd, int stream, char *buf, size_t len)
{
	static int scratch[2] = { -1, -1 };
	static bool no_tee;
	ssize_t n, got = 0;

	if (!no_tee && scratch[0] < 0 && pipe2(scratch, O_CLOEXEC | O_NONBLOCK) < 0)
		no_tee = true;
	if (no_tee) {
		n = read(fd, buf, len);
		if (n > 0)
			logstore_feed(svc->log, stream, buf, (size_t)n);
		return n < 0 ? -errno : n;
	}
	/*
	 * At most what the scratch pipe and len can take (64 KiB each) of a
	 * pipe that may hold megabytes (log.pipe_size): the caller loops.
	 */
	n = tee(fd, scratch[1], len, SPLICE_F_NONBLOCK);
	if (n < 0 && errno == EINVAL) { /* not a pipe after all: a plain read */
		n = read(fd, buf, len);
		if (n > 0)
			logstore_feed(svc->log, stream, buf, (size_t)n);
		return n < 0 ? -errno : n;
	}
	if (n <= 0)
		return n < 0 ? -errno : 0;
	while (got < n) {
		ssize_t k = read(scratch[0], buf + got, (size_t)(n - got));
		if (k <= 0)
			break;
		got += k;
	}
	if (got < n) { /* cannot happen with pipes; never leave stale bytes in scratch */
		while (read(scratch[0], buf, len) > 0)
			;
		return -EIO;
	}
	logstore_feed(svc->log, stream, buf, (size_t)got);
	/* Now consume exactly that much. */
	for (ssize_t done = 0; done < got;) {
		ssize_t k = read(fd, buf, (size_t)(got - done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		done += k;
	}
	return got;
}

void svc_on_output(evutil_socket_t fd, short what, void *arg)
{
	struct service *svc = arg;
	int i = fd == svc->out_fd[0] ? 0 : 1;
	static char buf[65536];
	size_t total = 0;

	while (total < READ_BUDGET) {
		ssize_t n = log_from_pipe(svc, fd, i + 1, buf, sizeof(buf));
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN)
			return;
		/* EOF or error: this stream is done. */
		svc_close_output(svc, i);
		if (service_settled(svc))
			svc->env->hooks->changed(svc->env->hooks_arg, svc);
		return;
	}
}

/* fs.pipe-max-size: what F_SETPIPE_SZ grants without CAP_SYS_RESOURCE; 0 if unknown. */
static long pipe_max_size(void)
{
	char buf[32];
	long v;

	if (read_file_at(AT_FDCWD, "/proc/sys/fs/pipe-max-size", buf, sizeof(buf)) <= 0)
		return 0;
	v = strtol(buf, NULL, 10);
	return v > 0 ? v : 0;
}

/*
 * Give an output pipe log.pipe_size, so that a chatty service keeps
 * writing while no paddockd reads (a restart, a crash): the kernel holds
 * the lines and the next daemon drains them. Above fs.pipe-max-size the
 * kernel wants CAP_SYS_RESOURCE; without it the pipes get the system
 * maximum, said once. The ring of slots is allocated here (40 bytes per
 * page of size), the pages themselves only as output waits.
 */
static void size_pipe(const struct service *svc, int fd)
{
	static uint64_t asked; /* log.pipe_size last asked for */
	static long granted; /* what the kernel gave for it; 0: leave the default */
	uint64_t want = svc->env->cfg->log.pipe_size;
	long max, r;

	if (want == 0 || want > INT_MAX)
		return;
	if (want == asked) {
		if (granted > 0)
			(void)fcntl(fd, F_SETPIPE_SZ, (int)granted);
		return;
	}
	asked = want;
	granted = 0;
	if ((r = fcntl(fd, F_SETPIPE_SZ, (int)want)) >= 0) {
		granted = (long)want;
		return;
	}
	if (errno == EPERM && (max = pipe_max_size()) > 0 && (uint64_t)max < want &&
	    (r = fcntl(fd, F_SETPIPE_SZ, (int)max)) >= 0) {
		granted = max;
		log_warnx("log.pipe_size %" PRIu64 " is above fs.pipe-max-size %ld and paddockd "
			  "lacks CAP_SYS_RESOURCE: service output pipes hold %ld bytes",
			  want, max, r);
		return;
	}
	log_warn("cannot size service output pipes to %" PRIu64 " bytes; they keep the "
		 "kernel's default",
		 want);
}

/* Pipes for stdout/stderr; we keep the nonblocking read ends. */
int svc_open_outputs(struct service *svc, int wr[2])
{
	for (int i = 0; i < 2; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			int r = -errno;
			if (i == 1) {
				close(wr[0]);
				svc_close_output(svc, 0);
			}
			return r;
		}
		(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
		size_pipe(svc, p[0]);
		svc_close_output(svc, i);
		svc->out_fd[i] = p[0];
		wr[i] = p[1];
		svc->ev_out[i] =
		    event_new(svc->env->base, p[0], EV_READ | EV_PERSIST, svc_on_output, svc);
		event_add(svc->ev_out[i], NULL);
	}
	return 0;
}

uint64_t service_log_dropped(const struct service *svc)
{
	return logstore_dropped(svc->log);
}

struct logstore *service_logstore(const struct service *svc)
{
	return svc->log;
}

char *service_log_tail(const struct service *svc, unsigned n)
{
	return logstore_tail(svc->log, n);
}
