/*
 * monitor.h - the daemon side of probes/: samples every running service
 * and the host on a timer, watches OOM events (v2 memory.events through
 * inotify, v1 oom_control through an eventfd) and PSI triggers (an epoll
 * set with EPOLLPRI, watched by the loop), turns them into events and the
 * spec's on_oom and pressure actions.
 */
#ifndef PADDOCK_MONITOR_H
#define PADDOCK_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "probe.h"

struct manager;
struct monitor;
struct service;

/* What the monitor reports; the receiver (policy.c) decides what to do. */
struct monitor_ops {
	/* n processes OOM-killed in svc's group; main_alive: its main process survived. */
	void (*oom)(void *arg, struct service *svc, uint64_t n, bool main_alive);
	/* A pressure trigger of svc's spec held for its `for` (sustained ms so far). */
	void (*pressure)(void *arg, struct service *svc, int resource, uint64_t sustained_ms);
	/* That crossing cleared. */
	void (*pressure_cleared)(void *arg, struct service *svc, int resource);
	/* After every tick's samples. */
	void (*tick)(void *arg);
};

/* Watches every service whose cgroup the manager reports live; ticks from monitor_start. */
int monitor_open(struct manager *d, const struct monitor_ops *ops, void *ops_arg,
		 struct monitor **out);
/* First tick now, then every probe_interval. */
void monitor_start(struct monitor *m);
struct monitor *monitor_free(struct monitor *m);

/* A service's cgroup now holds its process / is about to go away. */
void monitor_service_started(struct monitor *m, struct service *svc);
void monitor_service_stopped(struct monitor *m, struct service *svc);

/* Latest sample and rates of a running service; NULL before the first tick. */
const struct probe_cgroup_sample *monitor_sample(const struct service *svc);
const struct probe_cgroup_rates *monitor_rates(const struct service *svc);
/* Pressure state per resource for status: 1 while above the spec's threshold. */
int monitor_pressure_active(const struct service *svc, int resource);

const struct probe_host_sample *monitor_host_sample(const struct monitor *m);
const struct probe_host_rates *monitor_host_rates(const struct monitor *m);
/* Cost of the last sampling tick, for the metrics endpoint. */
uint64_t monitor_last_tick_usec(const struct monitor *m);

#endif
