/*
 * probe-events.c - event sources: PSI triggers and OOM notifications.
 *
 * A PSI trigger is a pressure file opened read-write with "some|full <stall>
 * <window>" written to it; the kernel then signals POLLPRI on that fd each
 * time the stall in a window exceeds the threshold (at most once per window).
 * POLLPRI is not something libevent can wait for, so triggers go into an
 * epoll set registered for EPOLLPRI, and the loop watches the epoll fd. The
 * kernel clears the event in its poll, which the loop's readiness check of
 * the set already calls: see probe.h for why a watched set holds one trigger.
 *
 * OOM: on v2 memory.events changes (and inotify reports IN_MODIFY) on every
 * counter bump; on v1 an eventfd registered through cgroup.event_control for
 * memory.oom_control is signalled on every OOM in the group.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "probe-internal.h"

#define PSI_UNPRIV_WINDOW_US 2000000u /* kernel: unprivileged windows are multiples of this */

static int psi_write(int fd, bool full, uint64_t stall_us, uint64_t window_us)
{
	char buf[64];
	int n;

	n = snprintf(buf, sizeof(buf), "%s %" PRIu64 " %" PRIu64, full ? "full" : "some", stall_us,
		     window_us);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EINVAL;
	/* The kernel overwrites the last byte written with a NUL: send ours. */
	if (write(fd, buf, (size_t)n + 1) < 0)
		return -errno;
	return 0;
}

int probe_psi_trigger_open(const char *pressure_file, bool full, uint64_t stall_us,
			   uint64_t window_us, uint64_t *effective_window_us)
{
	int fd, r;

	if (stall_us == 0 || window_us == 0 || stall_us > window_us)
		return -EINVAL;
	fd = open(pressure_file, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = psi_write(fd, full, stall_us, window_us);
	if (r == -EINVAL && window_us % PSI_UNPRIV_WINDOW_US != 0) {
		uint64_t w = (window_us / PSI_UNPRIV_WINDOW_US + 1) * PSI_UNPRIV_WINDOW_US;
		/* same share of the window; windows are <= 10 s so this cannot overflow */
		uint64_t s = (stall_us * w + window_us / 2) / window_us;

		if (s == 0)
			s = 1;
		r = psi_write(fd, full, s, w);
		if (r == 0)
			window_us = w;
	}
	if (r < 0) {
		(void)close(fd);
		return r;
	}
	if (effective_window_us)
		*effective_window_us = window_us;
	return fd;
}

int probe_psi_epoll_new(void)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int probe_psi_epoll_add(int epfd, int trigger_fd, uint64_t cookie)
{
	struct epoll_event ev = { .events = EPOLLPRI, .data.u64 = cookie };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, trigger_fd, &ev) < 0 ? -errno : 0;
}

int probe_psi_epoll_del(int epfd, int trigger_fd)
{
	return epoll_ctl(epfd, EPOLL_CTL_DEL, trigger_fd, NULL) < 0 ? -errno : 0;
}

int probe_psi_epoll_drain_events(int epfd, struct probe_psi_event *ev, int max)
{
	struct epoll_event e[32];
	int n, i;

	if (max <= 0)
		return -EINVAL;
	if (max > 32)
		max = 32;
	do {
		n = epoll_wait(epfd, e, max, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		ev[i].cookie = e[i].data.u64;
		ev[i].events = e[i].events;
	}
	return n;
}

int probe_psi_epoll_drain(int epfd, uint64_t *cookies, int max)
{
	struct probe_psi_event ev[32];
	int n, i;

	n = probe_psi_epoll_drain_events(epfd, ev, max > 32 ? 32 : max);
	for (i = 0; i < n; i++)
		cookies[i] = ev[i].cookie;
	return n;
}

int probe_psi_watch_open(const char *pressure_file, bool full, uint64_t stall_us,
			 uint64_t window_us, uint64_t *effective_window_us,
			 struct probe_psi_watch *w)
{
	int r;

	w->epoll_fd = -1;
	w->trigger_fd =
	    probe_psi_trigger_open(pressure_file, full, stall_us, window_us, effective_window_us);
	if (w->trigger_fd < 0) {
		r = w->trigger_fd;
		w->trigger_fd = -1;
		return r;
	}
	w->epoll_fd = probe_psi_epoll_new();
	r = w->epoll_fd < 0 ? w->epoll_fd : probe_psi_epoll_add(w->epoll_fd, w->trigger_fd, 0);
	if (r < 0) {
		probe_psi_watch_close(w);
		return r;
	}
	return 0;
}

int probe_psi_watch_ack(struct probe_psi_watch *w)
{
	struct probe_psi_event ev;
	int n = probe_psi_epoll_drain_events(w->epoll_fd, &ev, 1);

	if (n < 0)
		return n;
	/* Usually 0 events: the loop's readiness check already consumed the event. */
	if (n == 1 && (ev.events & EPOLLERR))
		return -ENODEV;
	return 0;
}

void probe_psi_watch_close(struct probe_psi_watch *w)
{
	probe_close(&w->epoll_fd);
	probe_close(&w->trigger_fd);
}

int probe_oom_watch_v2(const char *memory_events_path, int *inotify_fd)
{
	int fd;

	*inotify_fd = -1;
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (inotify_add_watch(fd, memory_events_path, IN_MODIFY) < 0) {
		int r = -errno;

		(void)close(fd);
		return r;
	}
	*inotify_fd = fd;
	return 0;
}

int probe_inotify_drain(int inotify_fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int count = 0;

	for (;;) {
		ssize_t n = read(inotify_fd, buf, sizeof(buf));
		ssize_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? count : -errno;
		if (n == 0)
			return count;
		while (off + (ssize_t)sizeof(struct inotify_event) <= n) {
			const struct inotify_event *e = (const void *)(buf + off);

			off += (ssize_t)sizeof(*e) + e->len;
			count++;
		}
	}
}

int probe_read_memory_events(int fd, struct probe_memory_events *ev)
{
	char buf[1024];
	ssize_t n = probe_pread(fd, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	memset(ev, 0xff, sizeof(*ev));
	return probe_parse_memory_events(buf, ev);
}

int probe_oom_watch_v1(const char *memory_dir, struct probe_oom_v1 *w)
{
	char line[64];
	int dfd, ecfd = -1, r = 0, n;

	w->event_fd = w->oom_control_fd = -1;
	dfd = open(memory_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	w->oom_control_fd = openat(dfd, "memory.oom_control", O_RDONLY | O_CLOEXEC);
	if (w->oom_control_fd < 0)
		r = -errno;
	if (r == 0) {
		ecfd = openat(dfd, "cgroup.event_control", O_WRONLY | O_CLOEXEC);
		if (ecfd < 0)
			r = -errno;
	}
	if (r == 0) {
		w->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->event_fd < 0)
			r = -errno;
	}
	if (r == 0) {
		n = snprintf(line, sizeof(line), "%d %d", w->event_fd, w->oom_control_fd);
		if (write(ecfd, line, (size_t)n) < 0)
			r = -errno;
	}
	if (ecfd >= 0)
		(void)close(ecfd);
	(void)close(dfd);
	if (r < 0)
		probe_oom_v1_close(w);
	return r;
}

int probe_oom_v1_ack(struct probe_oom_v1 *w, uint64_t *count)
{
	uint64_t v;
	ssize_t n;

	*count = 0;
	do {
		n = read(w->event_fd, &v, sizeof(v));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n != sizeof(v))
		return -EIO;
	*count = v;
	return 0;
}

int probe_oom_v1_read(const struct probe_oom_v1 *w, uint64_t *under_oom, uint64_t *oom_kill)
{
	char buf[256];
	uint64_t u = PROBE_UNKNOWN, k = PROBE_UNKNOWN;
	ssize_t n = probe_pread(w->oom_control_fd, buf, sizeof(buf));
	int r;

	if (n < 0)
		return (int)n;
	r = probe_parse_oom_control(buf, &u, &k);
	if (r < 0)
		return r;
	if (under_oom)
		*under_oom = u;
	if (oom_kill)
		*oom_kill = k;
	return 0;
}

void probe_oom_v1_close(struct probe_oom_v1 *w)
{
	probe_close(&w->event_fd);
	probe_close(&w->oom_control_fd);
}
