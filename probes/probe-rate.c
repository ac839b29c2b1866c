/*
 * probe-rate.c - rates from two samples: CPU as percent of a core, bytes and
 * operations per second, stall percentages from PSI totals.
 *
 * Counters are cumulative; a counter that went backwards means the cgroup
 * was recreated between samples, and its rate is NAN for that interval.
 */
#include <math.h>

#include "probe.h"

double probe_rate(uint64_t prev, uint64_t cur, uint64_t dt_usec)
{
	if (prev == PROBE_UNKNOWN || cur == PROBE_UNKNOWN || dt_usec == 0 || cur < prev)
		return NAN;
	return (double)(cur - prev) * 1e6 / (double)dt_usec;
}

double probe_cpu_percent(uint64_t prev_usec, uint64_t cur_usec, uint64_t dt_usec)
{
	/* usec of CPU per second of wall time / 1e6 * 100 */
	return probe_rate(prev_usec, cur_usec, dt_usec) / 1e4;
}

static double sum_rate(uint64_t pa, uint64_t ca, uint64_t pb, uint64_t cb, uint64_t dt)
{
	return probe_rate(pa, ca, dt) + probe_rate(pb, cb, dt); /* NAN if either is */
}

void probe_cgroup_rates(const struct probe_cgroup_sample *prev,
			const struct probe_cgroup_sample *cur, struct probe_cgroup_rates *r)
{
	uint64_t dt = cur->when_usec > prev->when_usec ? cur->when_usec - prev->when_usec : 0;

	r->cpu_percent = probe_cpu_percent(prev->cpu.usage_usec, cur->cpu.usage_usec, dt);
	r->cpu_user_percent = probe_cpu_percent(prev->cpu.user_usec, cur->cpu.user_usec, dt);
	r->cpu_system_percent = probe_cpu_percent(prev->cpu.system_usec, cur->cpu.system_usec, dt);
	r->throttled_percent =
	    probe_cpu_percent(prev->cpu.throttled_usec, cur->cpu.throttled_usec, dt);
	r->io_read_bps = probe_rate(prev->io.rbytes, cur->io.rbytes, dt);
	r->io_write_bps = probe_rate(prev->io.wbytes, cur->io.wbytes, dt);
	r->io_read_iops = probe_rate(prev->io.rios, cur->io.rios, dt);
	r->io_write_iops = probe_rate(prev->io.wios, cur->io.wios, dt);
	r->refault_per_sec = sum_rate(prev->memory.stat.workingset_refault_anon,
				      cur->memory.stat.workingset_refault_anon,
				      prev->memory.stat.workingset_refault_file,
				      cur->memory.stat.workingset_refault_file, dt);
	r->psi_memory_some = probe_cpu_percent(prev->psi_memory.some.total_usec,
					       cur->psi_memory.some.total_usec, dt);
	r->psi_memory_full = probe_cpu_percent(prev->psi_memory.full.total_usec,
					       cur->psi_memory.full.total_usec, dt);
	r->psi_cpu_some =
	    probe_cpu_percent(prev->psi_cpu.some.total_usec, cur->psi_cpu.some.total_usec, dt);
	r->psi_cpu_full =
	    probe_cpu_percent(prev->psi_cpu.full.total_usec, cur->psi_cpu.full.total_usec, dt);
	r->psi_io_some =
	    probe_cpu_percent(prev->psi_io.some.total_usec, cur->psi_io.some.total_usec, dt);
	r->psi_io_full =
	    probe_cpu_percent(prev->psi_io.full.total_usec, cur->psi_io.full.total_usec, dt);
}

static uint64_t busy_ticks(const struct probe_host_cpu *c)
{
	return c->user + c->nice + c->system + c->irq + c->softirq + c->steal;
}

void probe_host_rates(const struct probe_host_sample *prev, const struct probe_host_sample *cur,
		      struct probe_host_rates *r)
{
	const struct probe_host_cpu *p = &prev->cpu, *c = &cur->cpu;
	uint64_t pb, cb, pt, ct;

	r->cpu_busy_percent = r->cpu_iowait_percent = r->cpu_steal_percent = r->cores_busy = NAN;
	if (p->user == PROBE_UNKNOWN || c->user == PROBE_UNKNOWN)
		return;
	pb = busy_ticks(p);
	cb = busy_ticks(c);
	pt = pb + p->idle + p->iowait;
	ct = cb + c->idle + c->iowait;
	if (ct <= pt || cb < pb)
		return;
	r->cpu_busy_percent = 100.0 * (double)(cb - pb) / (double)(ct - pt);
	if (c->iowait >= p->iowait) /* iowait can go backwards on some kernels */
		r->cpu_iowait_percent = 100.0 * (double)(c->iowait - p->iowait) / (double)(ct - pt);
	if (c->steal >= p->steal)
		r->cpu_steal_percent = 100.0 * (double)(c->steal - p->steal) / (double)(ct - pt);
	if (c->ncpus != PROBE_UNKNOWN)
		r->cores_busy = r->cpu_busy_percent / 100.0 * (double)c->ncpus;
}
