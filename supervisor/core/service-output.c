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
 * How the output is read, and why so. A service that logs one line per
 * write(2) would otherwise have paddockd wake up for every few lines, and
 * each wakeup costs epoll_wait, tee, reads and a write; worse, the
 * service's own write into an empty pipe has to wake paddockd every time.
 * So, once a read found the pipe drained (or brought less than half a
 * batch: the service is writing as we read), the next one waits
 * OUTPUT_COALESCE_MS on a timer (the read event is off meanwhile): the
 * lines gather in the pipe, the service writes into a pipe that nobody
 * sleeps on, and paddockd takes them in batches of up to OUTPUT_BATCH.
 * A timer that finds nothing turns the read event back on, so the first
 * line after a quiet spell is logged (and followed) at once; a chatty
 * service's lines wait at most OUTPUT_COALESCE_MS. A producer that fills
 * half the pipe within the delay is read as it writes instead, so that
 * it does not block on a full pipe while paddockd sleeps (1 MiB, the
 * usual fs.pipe-max-size, lasts 4 ms at 250 MB/s). Nothing
 * is consumed before it is logged (see log_from_pipe), so the delay
 * loses nothing to a crash; EOF is seen at the next read as before.
 *
 * Why not splice(2) the pipe straight into the log file: every record
 * carries a timestamp and the stream's name, and the memory ring and the
 * followers need the lines, so the bytes pass through paddockd once.
 * splice(2) serves where no one needs them: discarding what is logged.
 */
#define OUTPUT_BATCH (256 * 1024) /* bytes taken from a pipe at once */
#define OUTPUT_BUDGET (2 * OUTPUT_BATCH) /* per wakeup: keeps the loop fair */
#define OUTPUT_COALESCE_MS 2

/* What service pipes hold (log.pipe_size as granted); 0: not known yet, ask the first pipe. */
static long pipe_bytes;
/* What one tee(2) can take: OUTPUT_BATCH, less if the scratch pipe could not grow. */
static size_t batch_bytes = OUTPUT_BATCH;

/* The bytes of a scratch pipe for tee(2), sized to a batch. */
static int scratch_pipe(int scratch[2], size_t *batch)
{
	long sz;

	if (pipe2(scratch, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	(void)fcntl(scratch[1], F_SETPIPE_SZ, OUTPUT_BATCH);
	sz = fcntl(scratch[1], F_GETPIPE_SZ); /* 64 KiB if the kernel said no */
	if (sz > 0 && (size_t)sz < *batch)
		*batch = (size_t)sz;
	return 0;
}

/* Drop n bytes the log has from the pipe: splice(2) to /dev/null, no copy; else a read. */
static void consume(int fd, char *buf, size_t n)
{
	static int devnull = -2;

	if (devnull == -2)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	while (n > 0) {
		ssize_t k = -1;
		if (devnull >= 0) {
			k = splice(fd, NULL, devnull, NULL, n, SPLICE_F_NONBLOCK);
			if (k < 0 && errno == EINVAL) { /* a kernel without it: read */
				close(devnull);
				devnull = -1;
				continue;
			}
		} else {
			k = read(fd, buf, n);
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		n -= (size_t)k;
	}
}

/*
 * Take what the pipe holds without consuming it: tee(2) copies it into a
 * scratch pipe we drain. Only once the lines are in the log file are the
 * bytes consumed from the service's pipe, so a paddockd killed at any
 * moment loses no line: the next one finds the unlogged bytes still in the
 * pipe (held by the fd holder) and at worst logs up to a batch twice.
 * Returns bytes logged, 0 at EOF, -errno (-EAGAIN: nothing there).
 */
static ssize_t log_from_pipe(struct service *svc, int fd, int stream, char *buf, size_t len)
{
	static int scratch[2] = { -1, -1 };
	static bool no_tee;
	ssize_t n, got = 0;

	if (!no_tee && scratch[0] < 0 && scratch_pipe(scratch, &batch_bytes) < 0)
		no_tee = true;
	if (no_tee) {
		n = read(fd, buf, len);
		if (n > 0)
			logstore_feed(svc->log, stream, buf, (size_t)n);
		return n < 0 ? -errno : n;
	}
	/* At most what the scratch pipe and len can take, of a pipe that may hold megabytes. */
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
	consume(fd, buf, (size_t)got);
	return got;
}

/*
 * Wait for output on stream i: at once (the read event) or after the
 * coalescing delay (the same event, as a timer with no fd watched). The
 * event is not pending when switched: a timer that fired is done, a read
 * event is deleted first.
 */
static void output_wait(struct service *svc, int i, bool delay)
{
	static const struct timeval coalesce = { 0, OUTPUT_COALESCE_MS * 1000 };
	struct event *ev = svc->ev_out[i];
	bool timed = !(event_get_events(ev) & EV_READ);

	if (delay == timed) {
		if (delay)
			event_add(ev, &coalesce);
		return;
	}
	(void)event_del(ev);
	event_assign(ev, svc->env->base, svc->out_fd[i], delay ? EV_TIMEOUT : EV_READ | EV_PERSIST,
		     svc_on_output, svc);
	event_add(ev, delay ? &coalesce : NULL);
}

void svc_on_output(evutil_socket_t fd, short what, void *arg)
{
	struct service *svc = arg;
	int i = fd == svc->out_fd[0] ? 0 : 1;
	static char buf[OUTPUT_BATCH];
	size_t total = 0;
	ssize_t n;

	(void)what;
	/*
	 * Batches as long as they come at least half full; a shorter one
	 * means the pipe ran dry, and going on would chase the service's
	 * every write with four syscalls for a few lines.
	 */
	do {
		n = log_from_pipe(svc, fd, i + 1, buf, sizeof(buf));
		if (n > 0)
			total += (size_t)n;
	} while ((n > 0 && (size_t)n >= batch_bytes / 2 && total < OUTPUT_BUDGET) || n == -EINTR);
	if (n > 0 && (size_t)n >= batch_bytes / 2) {
		/* More is there: the read event fires again at the next turn. */
		output_wait(svc, i, false);
		return;
	}
	if (n > 0 || n == -EAGAIN) {
		/* Drained: gather the next lines for a while, unless it was quiet or fast. */
		/* Not known when only adopted pipes, sized by an earlier paddockd, were seen. */
		if (pipe_bytes <= 0) {
			long sz = fcntl(fd, F_GETPIPE_SZ);
			pipe_bytes = sz > 0 ? sz : 65536;
		}
		output_wait(svc, i, total > 0 && (long)total < pipe_bytes / 2);
		return;
	}
	/* EOF or error: this stream is done. */
	svc_close_output(svc, i);
	if (service_settled(svc))
		svc->env->hooks->changed(svc->env->hooks_arg, svc);
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
		pipe_bytes = granted;
		return;
	}
	if (errno == EPERM && (max = pipe_max_size()) > 0 && (uint64_t)max < want &&
	    (r = fcntl(fd, F_SETPIPE_SZ, (int)max)) >= 0) {
		granted = max;
		pipe_bytes = granted;
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
