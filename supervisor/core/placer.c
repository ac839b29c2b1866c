/*
 * placer.c - service cgroups placed ahead of need; see placer.h.
 *
 * A slot's life: FREE -> (refill: mkdir, thread) JOINING -> (the thread
 * wrote its tid into every v1 slot directory and reported) READY ->
 * (placer_take: renamed to a service) TAKEN -> (placer_end: the thread
 * cloned the child or was told to go, and exited) FREE. A thread that
 * cannot join reports the error and exits; the placer then gives up and
 * starts attach the old way, which is slower but complete.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clone.h"
#include "log.h"
#include "placer.h"
#include "util.h"

/* The child of a slot's clone runs paddock's launch code on a copy of this stack. */
#define SLOT_STACK (1024 * 1024)
/* How long no slot is taken before the used ones are made again. */
#define REFILL_QUIET_MS 100

enum slot_state { SLOT_FREE, SLOT_JOINING, SLOT_READY, SLOT_TAKEN };

struct placer_slot {
	struct placer *p;
	enum slot_state state;
	char name[32]; /* ".slot-<pid>-<n>" below the root, in every v1 hierarchy */
	pthread_t thread;
	bool joined; /* pthread_join done */
	int cmd[2]; /* main -> thread: 'c' clone, 'q' leave and exit, EOF or 'x' exit */
	int join_r; /* the thread's cgroup_slot_join */
	struct launch_cloner cloner;
	/* One clone request and its answer. */
	uint64_t flags;
	int exit_signal, cgroup_fd;
	int *pidfd;
	void (*child)(void *);
	void *child_arg;
	pid_t pid;
};

struct placer {
	struct cgroup_host *host;
	struct event *ev_report, *ev_refill;
	int report[2]; /* threads -> main: their slot pointer once joined (or failed) */
	unsigned seq;
	bool given_up;
	size_t nslots;
	struct placer_slot slots[];
};

static void *slot_main(void *arg)
{
	struct placer_slot *s = arg;
	char cmd = 0;
	ssize_t n;

	/* The grace period is paid here, in this thread, not on a start. */
	s->join_r = cgroup_slot_join(s->p->host, s->name, gettid());
	(void)!write(s->p->report[1], &s, sizeof(s));
	if (s->join_r < 0)
		return NULL; /* exiting leaves whatever it joined */
	while ((n = read(s->cmd[0], &cmd, 1)) < 0 && errno == EINTR)
		;
	if (n == 1 && cmd == 'c') {
		pid_t pid = launch_clone(s->flags, s->exit_signal, s->cgroup_fd, s->pidfd);
		if (pid == 0)
			s->child(s->child_arg); /* does not return */
		s->pid = pid;
	} else if (n == 1 && cmd == 'q') {
		/* Out before the exit, so that the slot can be removed once joined. */
		(void)cgroup_slot_leave(s->p->host, gettid());
	}
	return NULL;
}

static pid_t slot_clone(void *arg, uint64_t flags, int exit_signal, int cgroup_fd, int *pidfd,
			void (*child)(void *), void *child_arg)
{
	struct placer_slot *s = arg;

	s->flags = flags;
	s->exit_signal = exit_signal;
	s->cgroup_fd = cgroup_fd;
	s->pidfd = pidfd;
	s->child = child;
	s->child_arg = child_arg;
	s->pid = -EIO;
	if (write(s->cmd[1], "c", 1) != 1)
		return -errno;
	/* Blocked here, we hold no lock: the child copies a quiet process. */
	(void)pthread_join(s->thread, NULL);
	s->joined = true;
	return s->pid;
}

/* Tell the thread to go ('q': back to our cgroups first; 'x': straight), join, close. */
static void slot_stop(struct placer_slot *s, char how)
{
	if (!s->joined) {
		/* A thread that failed to join is gone already: the byte is lost, harmless. */
		(void)!write(s->cmd[1], &how, 1);
		(void)pthread_join(s->thread, NULL);
		s->joined = true;
	}
	close(s->cmd[0]);
	close(s->cmd[1]);
	s->cmd[0] = s->cmd[1] = -1;
	s->state = SLOT_FREE;
}

static int slot_start(struct placer *p, struct placer_slot *s)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int r;

	snprintf(s->name, sizeof(s->name), ".slot-%d-%u", (int)getpid(), p->seq++);
	if ((r = cgroup_slot_create(p->host, s->name)) < 0)
		return r;
	if (pipe2(s->cmd, O_CLOEXEC) < 0) {
		r = -errno;
		(void)cgroup_slot_remove(p->host, s->name);
		return r;
	}
	s->join_r = 0;
	s->joined = false;
	/* No signal is ever for this thread: it inherits a full mask. */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	(void)pthread_attr_init(&attr);
	(void)pthread_attr_setstacksize(&attr, SLOT_STACK);
	r = -pthread_create(&s->thread, &attr, slot_main, s);
	(void)pthread_attr_destroy(&attr);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		close(s->cmd[0]);
		close(s->cmd[1]);
		s->cmd[0] = s->cmd[1] = -1;
		(void)cgroup_slot_remove(p->host, s->name);
		return r;
	}
	s->state = SLOT_JOINING;
	return 0;
}

static void give_up(struct placer *p, const char *what, int r)
{
	if (!p->given_up)
		log_warnx("cgroup slots: %s: %s; starts attach by cgroup.procs (slower)", what,
			  strerror(-r));
	p->given_up = true;
}

static void on_refill(evutil_socket_t fd, short what, void *arg)
{
	struct placer *p = arg;
	int r;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < p->nslots && !p->given_up; i++)
		if (p->slots[i].state == SLOT_FREE && (r = slot_start(p, &p->slots[i])) < 0)
			give_up(p, "cannot make one", r);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
	struct placer *p = arg;
	struct placer_slot *s;

	(void)what;
	while (read(fd, &s, sizeof(s)) == (ssize_t)sizeof(s)) {
		if (s->join_r >= 0) {
			s->state = SLOT_READY;
			continue;
		}
		slot_stop(s, 'x');
		(void)cgroup_slot_remove(p->host, s->name);
		give_up(p, "cannot move a thread in", s->join_r);
	}
}

struct placer *placer_new(struct cgroup_host *host, struct event_base *base, unsigned nslots)
{
	struct placer *p;

	cgroup_slots_clean(host);
	if (!nslots || !cgroup_slots_useful(host) || !launch_have_clone3())
		return NULL;
	p = xcalloc(1, sizeof(*p) + nslots * sizeof(p->slots[0]));
	p->host = host;
	p->nslots = nslots;
	if (pipe2(p->report, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_warn("cgroup slots: pipe");
		free(p);
		return NULL;
	}
	for (size_t i = 0; i < nslots; i++) {
		struct placer_slot *s = &p->slots[i];
		s->p = p;
		s->cmd[0] = s->cmd[1] = -1;
		s->cloner = (struct launch_cloner){ slot_clone, s };
	}
	p->ev_report = event_new(base, p->report[0], EV_READ | EV_PERSIST, on_report, p);
	p->ev_refill = evtimer_new(base, on_refill, p);
	event_add(p->ev_report, NULL);
	event_active(p->ev_refill, 0, 0);
	return p;
}

struct placer *placer_free(struct placer *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->nslots; i++) {
		struct placer_slot *s = &p->slots[i];
		if (s->state == SLOT_FREE)
			continue;
		slot_stop(s, 'q');
		(void)cgroup_slot_remove(p->host, s->name);
	}
	event_free(p->ev_report);
	event_free(p->ev_refill);
	close(p->report[0]);
	close(p->report[1]);
	free(p);
	return NULL;
}

int placer_take(struct placer *p, const char *name, struct cgroup **cg, struct placer_slot **slot)
{
	for (size_t i = 0; p && i < p->nslots; i++) {
		struct placer_slot *s = &p->slots[i];
		int r;
		if (s->state != SLOT_READY)
			continue;
		if ((r = cgroup_create_from_slot(p->host, s->name, name, cg)) < 0)
			return r;
		s->state = SLOT_TAKEN;
		*slot = s;
		return 0;
	}
	return -EAGAIN;
}

const struct launch_cloner *placer_cloner(struct placer_slot *slot)
{
	return &slot->cloner;
}

void placer_end(struct placer *p, struct placer_slot *slot)
{
	/*
	 * Cloned: the thread has exited already. Not (a failed start): it
	 * moves back to our cgroups before it exits, so that the failed
	 * start can remove the service's at once. Only failures pay that.
	 */
	slot_stop(slot, 'q');
	/*
	 * The refill waits for a quiet moment: a thread moving into a v1
	 * cgroup holds the kernel's cgroup_mutex through its grace period,
	 * and every mkdir, rmdir or rename of ours (the next start, this
	 * one's cleanup) would wait for it. Re-armed by each start.
	 */
	struct timeval quiet = { 0, REFILL_QUIET_MS * 1000 };
	evtimer_add(p->ev_refill, &quiet);
}
