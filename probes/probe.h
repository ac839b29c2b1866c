/*
 * probe.h - readers of the truth: per-service cgroup counters, host
 * /proc counters, PSI averages and triggers, OOM event sources.
 *
 * Probes read and parse; they decide nothing and never log. Every function
 * returns >= 0 on success and -errno on failure. Nothing here depends on the
 * event loop: event sources are plain fds the caller watches.
 *
 * Unknown values: every counter in a sample is a uint64_t, and
 * PROBE_UNKNOWN (UINT64_MAX) means "this host or cgroup version does not
 * provide it" (file absent, key absent). A sample starts all-unknown and
 * each file read fills what it has. Rates computed from an unknown counter
 * are NAN.
 *
 * Cost: a sampler opens its files once and re-reads each with one pread
 * from offset 0 per sample into a stack buffer; sampling never allocates.
 */
#ifndef PADDOCK_PROBE_H
#define PADDOCK_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_UNKNOWN UINT64_MAX

/* Largest file a sampler reads in one go; longer files are cut at the last full line. */
#define PROBE_BUF_SIZE 8192

/* ---- sample structs ------------------------------------------------------ */

/* One line of a PSI file. Averages in hundredths of a percent (1.50% -> 150). */
struct probe_psi_line {
	uint64_t avg10, avg60, avg300;
	uint64_t total_usec;
};

/* A whole PSI file; "full" is unknown where the kernel has no such line (old cpu.pressure). */
struct probe_psi {
	struct probe_psi_line some, full;
};

/* memory.stat, in bytes (refault/activate: page counts). On v1 from the total_* keys:
 * total_rss -> anon, total_cache -> file, total_shmem -> shmem, total_active_anon ->
 * active_anon, ...; kernel from memory.kmem.usage_in_bytes, sock from
 * memory.kmem.tcp.usage_in_bytes where those files exist. */
struct probe_memory_stat {
	uint64_t anon, file, shmem, kernel, sock;
	uint64_t active_anon, inactive_anon, active_file, inactive_file;
	uint64_t workingset_refault_anon, workingset_refault_file;
	uint64_t workingset_activate_anon, workingset_activate_file;
};

/* memory.events (v2). On v1: max <- memory.failcnt, oom_kill <- memory.oom_control's
 * oom_kill; low, high, oom and oom_group_kill are unknown. */
struct probe_memory_events {
	uint64_t low, high, max, oom, oom_kill, oom_group_kill;
};

/* Times in microseconds. v1: usage from cpuacct.usage (ns), user/system from
 * cpuacct.stat (USER_HZ ticks), throttling from the cpu hierarchy's cpu.stat. */
struct probe_cpu {
	uint64_t usage_usec, user_usec, system_usec;
	uint64_t nr_periods, nr_throttled, throttled_usec;
};

/* Summed over all devices. v2 io.stat; v1 blkio.throttle.io_service_bytes_recursive and
 * io_serviced_recursive (Read/Write lines). Note: v1 blk-throttle counts only on devices
 * that have a throttle rule; elsewhere these read 0. */
struct probe_io {
	uint64_t rbytes, wbytes, rios, wios;
};

struct probe_cgroup_sample {
	uint64_t when_usec; /* CLOCK_MONOTONIC when the sample was taken */
	struct {
		uint64_t current, peak, swap_current;
		uint64_t under_oom; /* v1 memory.oom_control only: 1 while the group is OOM */
		struct probe_memory_stat stat;
		struct probe_memory_events events;
	} memory;
	struct probe_cpu cpu;
	struct {
		uint64_t current;
		uint64_t max_events; /* pids.events "max": forks refused by pids.max */
	} pids;
	struct probe_io io;
	struct probe_psi psi_memory, psi_cpu, psi_io;
};

/* /proc/meminfo, in bytes. */
struct probe_meminfo {
	uint64_t mem_total, mem_free, mem_available, buffers, cached;
	uint64_t swap_total, swap_free, shmem, dirty;
};

/* The aggregate "cpu" line of /proc/stat in USER_HZ ticks, and the number of cpuN lines. */
struct probe_host_cpu {
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
	uint64_t ncpus;
};

struct probe_host_sample {
	uint64_t when_usec; /* CLOCK_MONOTONIC */
	struct probe_meminfo mem;
	struct probe_host_cpu cpu;
	struct probe_psi psi_memory, psi_cpu, psi_io;
};

/* ---- per-service sampler (probe-cgroup.c) -------------------------------- */

/* The directories the daemon already knows for one service. Pure v2: everything from
 * v2. Hybrid/v1: counters from the v1 dirs (NULL = controller not used), PSI from v2
 * (the service's dir in the unified hierarchy) when given. */
struct probe_cgroup_paths {
	const char *v2;
	const char *memory, *cpu, *cpuacct, *pids, *blkio;
	bool pure_v2;
	/*
	 * Keep no file open: each sample opens and closes what it reads (two
	 * syscalls and a path walk more per file), for a process short of fds.
	 */
	bool by_path;
};

struct probe_cgroup;

/* Opens every file the layout provides (absent files are skipped). -ENOENT etc. if a
 * given directory cannot be opened. Up to 17 fds per service (v1 + unified PSI), or
 * none with by_path. */
int probe_cgroup_open(const struct probe_cgroup_paths *paths, struct probe_cgroup **out);

/*
 * What a sample reads, so the caller can choose a cadence per group: each file costs a
 * syscall and kernel formatting, and v1 memory.stat alone costs ~6 us (the others
 * 0.6-1.6 us each) on the development VM. Fields of groups not read are PROBE_UNKNOWN.
 */
enum probe_group {
	PROBE_G_MEMORY = 1 << 0, /* current, swap (v2 memory.swap.current) */
	PROBE_G_MEMORY_PEAK = 1 << 1, /* peak */
	PROBE_G_MEMORY_STAT = 1 << 2, /* memory.stat (and v1 swap), v1 kmem, kmem.tcp */
	PROBE_G_MEMORY_EVENTS = 1 << 3, /* memory.events; v1 failcnt, oom_control */
	PROBE_G_CPU = 1 << 4, /* v2 cpu.stat; v1 cpuacct.usage and cpu.stat */
	PROBE_G_CPU_SPLIT = 1 << 5, /* v1 cpuacct.stat (user/system); v2 has it in cpu.stat */
	PROBE_G_PIDS = 1 << 6,
	PROBE_G_IO = 1 << 7,
	PROBE_G_PSI = 1 << 8,
	PROBE_G_ALL = (1 << 9) - 1,
};

/* One pread per open file of the selected groups, parsed into *s (every other field
 * PROBE_UNKNOWN). -ENODEV once the cgroup was removed. Never allocates. */
int probe_cgroup_sample_groups(struct probe_cgroup *pc, unsigned groups,
			       struct probe_cgroup_sample *s);
/* All groups. */
int probe_cgroup_sample(struct probe_cgroup *pc, struct probe_cgroup_sample *s);
/* Number of files held open (for fd budgeting). */
int probe_cgroup_nfds(const struct probe_cgroup *pc);
struct probe_cgroup *probe_cgroup_free(struct probe_cgroup *pc);

/* ---- host sampler (probe-host.c) ----------------------------------------- */

struct probe_host;

/* proc_dir: "/proc" when NULL (tests pass a fake tree). */
int probe_host_open(const char *proc_dir, struct probe_host **out);
int probe_host_sample(struct probe_host *ph, struct probe_host_sample *s);
struct probe_host *probe_host_free(struct probe_host *ph);

/* ---- rates from two samples ---------------------------------------------- */

/* (cur - prev) per second over dt_usec; NAN if either is unknown, dt is 0 or the
 * counter went backwards (cgroup recreated). */
double probe_rate(uint64_t prev, uint64_t cur, uint64_t dt_usec);
/* CPU use from a microsecond counter: 100.0 = one core busy for the whole interval. */
double probe_cpu_percent(uint64_t prev_usec, uint64_t cur_usec, uint64_t dt_usec);

struct probe_cgroup_rates {
	double cpu_percent, cpu_user_percent, cpu_system_percent; /* of one core */
	double throttled_percent; /* throttled time / wall time, 100 = always */
	double io_read_bps, io_write_bps, io_read_iops, io_write_iops;
	double refault_per_sec; /* workingset refaults, anon + file */
	double psi_memory_some, psi_memory_full; /* stall % over the interval, from totals */
	double psi_cpu_some, psi_cpu_full, psi_io_some, psi_io_full;
};
void probe_cgroup_rates(const struct probe_cgroup_sample *prev,
			const struct probe_cgroup_sample *cur, struct probe_cgroup_rates *r);

struct probe_host_rates {
	double cpu_busy_percent; /* of the whole machine: 100 = every CPU busy */
	double cpu_iowait_percent; /* of the whole machine */
	double cpu_steal_percent;
	double cores_busy; /* busy expressed in CPUs: 1.5 = one and a half */
};
void probe_host_rates(const struct probe_host_sample *prev, const struct probe_host_sample *cur,
		      struct probe_host_rates *r);

/* ---- parsers (probe-parse.c): pure, on a NUL-terminated buffer ------------
 * They fill only the fields their file provides and leave the rest untouched;
 * -EINVAL if the buffer has none of the expected content. */

int probe_parse_u64(const char *buf, uint64_t *v);
int probe_parse_psi(const char *buf, struct probe_psi *psi);
int probe_parse_memory_stat_v2(const char *buf, struct probe_memory_stat *st);
/* v1: also total_swap into *swap (left alone where swap accounting is off). */
int probe_parse_memory_stat_v1(const char *buf, struct probe_memory_stat *st, uint64_t *swap);
int probe_parse_memory_events(const char *buf, struct probe_memory_events *ev);
int probe_parse_oom_control(const char *buf, uint64_t *under_oom, uint64_t *oom_kill);
int probe_parse_cpu_stat_v2(const char *buf, struct probe_cpu *cpu);
/* v1 cpu.stat: nr_periods, nr_throttled, throttled_time (ns -> usec). */
int probe_parse_cpu_stat_v1(const char *buf, struct probe_cpu *cpu);
/* cpuacct.stat: user/system in ticks of user_hz -> usec. */
int probe_parse_cpuacct_stat(const char *buf, long user_hz, struct probe_cpu *cpu);
int probe_parse_pids_events(const char *buf, uint64_t *max_events);
int probe_parse_io_stat(const char *buf, struct probe_io *io);
/* blkio.throttle.io_service_bytes_recursive or io_serviced_recursive: sums of the
 * per-device Read and Write lines. */
int probe_parse_blkio(const char *buf, uint64_t *read, uint64_t *write);
int probe_parse_meminfo(const char *buf, struct probe_meminfo *mi);
int probe_parse_proc_stat(const char *buf, struct probe_host_cpu *cpu);

/* ---- PSI triggers (probe-events.c) ---------------------------------------- */

/* Opens pressure_file (a cgroup's memory|cpu|io.pressure or /proc/pressure/...) and
 * installs "some|full <stall_us> <window_us>". Without CAP_SYS_RESOURCE the kernel
 * takes only windows that are multiples of 2 s: on EINVAL the window is rounded up to
 * the next multiple of 2 s, the stall scaled by the same factor (same percentage) and
 * the write retried. *effective_window_us (may be NULL) gets the window in force so
 * the caller can log the change once. Returns the trigger fd (O_CLOEXEC, O_NONBLOCK);
 * closing it removes the trigger. The fd signals POLLPRI, never POLLIN: watch it
 * through probe_psi_watch or probe_psi_epoll_* below. */
int probe_psi_trigger_open(const char *pressure_file, bool full, uint64_t stall_us,
			   uint64_t window_us, uint64_t *effective_window_us);

/*
 * Watching triggers from an event loop. The kernel's PSI poll is destructive: it clears
 * the trigger's event when it reports POLLPRI. An epoll set watched by another poller
 * (libevent's epoll or poll backend) has its members polled when the outer poller checks
 * the set's readiness, so the event is consumed there: the set reads as readable once,
 * and an epoll_wait on the set afterwards finds nothing (verified on 6.18). Hence:
 *
 * - probe_psi_watch: one trigger in its own epoll set. The loop watches watch.epoll_fd
 *   for EV_READ; readable means this trigger fired. Then call probe_psi_watch_ack().
 * - probe_psi_epoll_*: several triggers in one set, for a caller that waits on the set
 *   with epoll_wait itself (a thread, or probe_psi_epoll_drain on a timer) and never
 *   through another poller; drain then names the triggers that fired.
 *
 * When the cgroup is removed its triggers report EPOLLPRI|EPOLLERR forever (level): the
 * set stays readable until the trigger is closed.
 */
struct probe_psi_watch {
	int trigger_fd; /* -1 when closed */
	int epoll_fd; /* watch this for EV_READ; -1 when closed */
};
/* probe_psi_trigger_open() + its own epoll set. On failure both fds are -1. */
int probe_psi_watch_open(const char *pressure_file, bool full, uint64_t stall_us,
			 uint64_t window_us, uint64_t *effective_window_us,
			 struct probe_psi_watch *w);
/* After epoll_fd was reported readable: 0 (it fired; the event is consumed), or -ENODEV
 * when the cgroup is gone (close the watch, or the loop spins). */
int probe_psi_watch_ack(struct probe_psi_watch *w);
/* Closes both fds and sets them to -1; safe to call again. */
void probe_psi_watch_close(struct probe_psi_watch *w);

/* An epoll set for several trigger fds (see above for when this is safe). */
int probe_psi_epoll_new(void);
int probe_psi_epoll_add(int epfd, int trigger_fd, uint64_t cookie);
int probe_psi_epoll_del(int epfd, int trigger_fd);

struct probe_psi_event {
	uint64_t cookie;
	uint32_t events; /* EPOLLPRI: fired; EPOLLERR with it: the cgroup is gone, remove the fd */
};
/* Non-blocking: the triggers with an event pending (at most max, max <= 32). */
int probe_psi_epoll_drain_events(int epfd, struct probe_psi_event *ev, int max);
/* Same, cookies only. */
int probe_psi_epoll_drain(int epfd, uint64_t *cookies, int max);

/* ---- OOM event sources (probe-events.c) ------------------------------------ */

/* v2: an inotify fd (IN_NONBLOCK, IN_CLOEXEC) with an IN_MODIFY watch on memory.events.
 * After it becomes readable, probe_inotify_drain() it and read the counters. */
int probe_oom_watch_v2(const char *memory_events_path, int *inotify_fd);
/* Reads and discards pending inotify events; returns how many. */
int probe_inotify_drain(int inotify_fd);
/* pread + parse of an open memory.events fd. */
int probe_read_memory_events(int fd, struct probe_memory_events *ev);

/* v1: an eventfd registered for memory.oom_control through cgroup.event_control. The
 * oom_control fd stays open as long as the registration and serves to read the counters. */
struct probe_oom_v1 {
	int event_fd; /* readable after each OOM in the group; -1 when closed */
	int oom_control_fd; /* -1 when closed */
};
int probe_oom_watch_v1(const char *memory_dir, struct probe_oom_v1 *w);
/* Reads the eventfd counter (number of notifications since the last ack); 0 if none. */
int probe_oom_v1_ack(struct probe_oom_v1 *w, uint64_t *count);
/* Current under_oom and oom_kill (either pointer may be NULL). */
int probe_oom_v1_read(const struct probe_oom_v1 *w, uint64_t *under_oom, uint64_t *oom_kill);
/* Closes both fds (the kernel drops the registration) and sets them to -1; safe to call
 * again, and on a w whose probe_oom_watch_v1 failed (it leaves both at -1). */
void probe_oom_v1_close(struct probe_oom_v1 *w);

#endif
