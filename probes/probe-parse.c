/*
 * probe-parse.c - pure parsers for cgroup (v1 and v2) and /proc counter files.
 *
 * Each parser takes a NUL-terminated buffer holding the whole file, fills the
 * fields the file provides and leaves every other field as it was (callers
 * start from PROBE_UNKNOWN). No allocation, no syscalls, no locale: these run
 * for every service on every tick. Unknown keys and malformed lines are
 * skipped, so newer kernels that add keys keep working.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "probe.h"

/* Parses decimal digits at p into *v (saturating below PROBE_UNKNOWN); returns the end,
 * or NULL when p does not start with a digit. */
static const char *parse_num(const char *p, uint64_t *v)
{
	uint64_t n = 0;

	if (*p < '0' || *p > '9')
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (PROBE_UNKNOWN - 1 - d) / 10)
			n = PROBE_UNKNOWN - 1;
		else
			n = n * 10 + d;
	}
	*v = n;
	return p;
}

static const char *next_line(const char *p)
{
	p = strchr(p, '\n');
	return p ? p + 1 : NULL;
}

struct key {
	const char *name;
	size_t len;
	size_t off; /* of a uint64_t in the output struct */
};

#define KEY(str, type, field)                               \
	{                                                   \
		str, sizeof(str) - 1, offsetof(type, field) \
	}
#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * "key value" or "Key:   value kB" lines. Keys are looked up starting after the
 * previous match: tables list keys in the kernel's order, so a hit is usually the
 * first compare. Returns the number of keys found.
 */
static int parse_keyed(const char *buf, const struct key *keys, size_t nkeys, void *base)
{
	const char *p = buf;
	size_t hint = 0;
	int found = 0;

	while (p && *p) {
		const char *k = p;
		size_t klen, i;

		while (*p && *p != ' ' && *p != ':' && *p != '\n')
			p++;
		klen = (size_t)(p - k);
		for (i = 0; i < nkeys; i++) {
			const struct key *key = &keys[(hint + i) % nkeys];
			uint64_t v;

			if (key->len != klen || memcmp(key->name, k, klen) != 0)
				continue;
			while (*p == ':' || *p == ' ' || *p == '\t')
				p++;
			if (parse_num(p, &v)) {
				*(uint64_t *)(void *)((char *)base + key->off) = v;
				found++;
			}
			hint = (hint + i + 1) % nkeys;
			break;
		}
		p = next_line(p);
	}
	return found;
}

int probe_parse_u64(const char *buf, uint64_t *v)
{
	while (*buf == ' ' || *buf == '\t')
		buf++;
	return parse_num(buf, v) ? 0 : -EINVAL;
}

/* "avg10=1.50": integer part and up to two decimals -> hundredths. */
static const char *parse_avg(const char *p, uint64_t *v)
{
	uint64_t ip, frac = 0;
	int digits = 0;

	p = parse_num(p, &ip);
	if (!p)
		return NULL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits < 2)
				frac = frac * 10 + (uint64_t)(*p - '0');
		}
	}
	if (digits == 1)
		frac *= 10;
	*v = ip * 100 + frac;
	return p;
}

static int parse_psi_line(const char *p, struct probe_psi_line *out)
{
	struct probe_psi_line l;
	static const struct {
		const char *name;
		size_t len;
	} f[4] = { { "avg10=", 6 }, { "avg60=", 6 }, { "avg300=", 7 }, { "total=", 6 } };
	uint64_t *dst[4] = { &l.avg10, &l.avg60, &l.avg300, &l.total_usec };
	int i;

	for (i = 0; i < 4; i++) {
		while (*p == ' ')
			p++;
		if (strncmp(p, f[i].name, f[i].len) != 0)
			return -EINVAL;
		p += f[i].len;
		p = i < 3 ? parse_avg(p, dst[i]) : parse_num(p, dst[i]);
		if (!p)
			return -EINVAL;
	}
	*out = l;
	return 0;
}

int probe_parse_psi(const char *buf, struct probe_psi *psi)
{
	const char *p;
	int found = 0;

	for (p = buf; p && *p; p = next_line(p)) {
		struct probe_psi_line *l;

		if (strncmp(p, "some ", 5) == 0)
			l = &psi->some;
		else if (strncmp(p, "full ", 5) == 0)
			l = &psi->full;
		else
			continue;
		if (parse_psi_line(p + 5, l) == 0)
			found++;
	}
	return found ? 0 : -EINVAL;
}

#define MS(str, field) KEY(str, struct probe_memory_stat, field)

int probe_parse_memory_stat_v2(const char *buf, struct probe_memory_stat *st)
{
	static const struct key keys[] = {
		MS("anon", anon),
		MS("file", file),
		MS("kernel", kernel),
		MS("sock", sock),
		MS("shmem", shmem),
		MS("inactive_anon", inactive_anon),
		MS("active_anon", active_anon),
		MS("inactive_file", inactive_file),
		MS("active_file", active_file),
		MS("workingset_refault_anon", workingset_refault_anon),
		MS("workingset_refault_file", workingset_refault_file),
		MS("workingset_activate_anon", workingset_activate_anon),
		MS("workingset_activate_file", workingset_activate_file),
	};

	return parse_keyed(buf, keys, NKEYS(keys), st) ? 0 : -EINVAL;
}

/* v1 memory.stat: the hierarchical total_* keys; a service's cgroup may have children. */
int probe_parse_memory_stat_v1(const char *buf, struct probe_memory_stat *st, uint64_t *swap)
{
	struct v1 {
		struct probe_memory_stat st;
		uint64_t swap;
	} v;
#define M1(str, field) KEY(str, struct v1, st.field)
	static const struct key keys[] = {
		M1("total_cache", file),
		M1("total_rss", anon),
		M1("total_shmem", shmem),
		M1("total_workingset_refault_anon", workingset_refault_anon),
		M1("total_workingset_refault_file", workingset_refault_file),
		M1("total_workingset_activate_anon", workingset_activate_anon),
		M1("total_workingset_activate_file", workingset_activate_file),
		KEY("total_swap", struct v1, swap),
		M1("total_inactive_anon", inactive_anon),
		M1("total_active_anon", active_anon),
		M1("total_inactive_file", inactive_file),
		M1("total_active_file", active_file),
	};
#undef M1

	v.st = *st;
	v.swap = *swap;
	if (!parse_keyed(buf, keys, NKEYS(keys), &v))
		return -EINVAL;
	*st = v.st;
	*swap = v.swap;
	return 0;
}

int probe_parse_memory_events(const char *buf, struct probe_memory_events *ev)
{
#define ME(str, field) KEY(str, struct probe_memory_events, field)
	static const struct key keys[] = {
		ME("low", low), ME("high", high),	  ME("max", max),
		ME("oom", oom), ME("oom_kill", oom_kill), ME("oom_group_kill", oom_group_kill),
	};
#undef ME

	return parse_keyed(buf, keys, NKEYS(keys), ev) ? 0 : -EINVAL;
}

int probe_parse_oom_control(const char *buf, uint64_t *under_oom, uint64_t *oom_kill)
{
	struct oc {
		uint64_t under_oom, oom_kill;
	} v = { *under_oom, *oom_kill };
	static const struct key keys[] = {
		KEY("under_oom", struct oc, under_oom),
		KEY("oom_kill", struct oc, oom_kill),
	};

	if (!parse_keyed(buf, keys, NKEYS(keys), &v))
		return -EINVAL;
	*under_oom = v.under_oom;
	*oom_kill = v.oom_kill;
	return 0;
}

#define CS(str, field) KEY(str, struct probe_cpu, field)

int probe_parse_cpu_stat_v2(const char *buf, struct probe_cpu *cpu)
{
	static const struct key keys[] = {
		CS("usage_usec", usage_usec),	  CS("user_usec", user_usec),
		CS("system_usec", system_usec),	  CS("nr_periods", nr_periods),
		CS("nr_throttled", nr_throttled), CS("throttled_usec", throttled_usec),
	};

	return parse_keyed(buf, keys, NKEYS(keys), cpu) ? 0 : -EINVAL;
}

int probe_parse_cpu_stat_v1(const char *buf, struct probe_cpu *cpu)
{
	static const struct key keys[] = {
		CS("nr_periods", nr_periods), CS("nr_throttled", nr_throttled),
		CS("throttled_time", throttled_usec), /* ns here */
	};
	struct probe_cpu c;

	memset(&c, 0xff, sizeof(c));
	if (!parse_keyed(buf, keys, NKEYS(keys), &c))
		return -EINVAL;
	if (c.nr_periods != PROBE_UNKNOWN)
		cpu->nr_periods = c.nr_periods;
	if (c.nr_throttled != PROBE_UNKNOWN)
		cpu->nr_throttled = c.nr_throttled;
	if (c.throttled_usec != PROBE_UNKNOWN)
		cpu->throttled_usec = c.throttled_usec / 1000;
	return 0;
}

int probe_parse_cpuacct_stat(const char *buf, long user_hz, struct probe_cpu *cpu)
{
	struct ticks {
		uint64_t user, system;
	} t = { PROBE_UNKNOWN, PROBE_UNKNOWN };
	static const struct key keys[] = {
		KEY("user", struct ticks, user),
		KEY("system", struct ticks, system),
	};

	if (user_hz <= 0 || !parse_keyed(buf, keys, NKEYS(keys), &t))
		return -EINVAL;
	if (t.user != PROBE_UNKNOWN)
		cpu->user_usec = t.user * 1000000u / (uint64_t)user_hz;
	if (t.system != PROBE_UNKNOWN)
		cpu->system_usec = t.system * 1000000u / (uint64_t)user_hz;
	return 0;
}

int probe_parse_pids_events(const char *buf, uint64_t *max_events)
{
	static const struct key keys[] = { { "max", 3, 0 } };

	return parse_keyed(buf, keys, 1, max_events) ? 0 : -EINVAL;
}

/* "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0" per device.
 * An empty file is valid: no I/O yet. */
int probe_parse_io_stat(const char *buf, struct probe_io *io)
{
	struct probe_io sum = { 0, 0, 0, 0 };
	const char *p;

	for (p = buf; p && *p; p = next_line(p)) {
		const char *q = p;

		while (*q && *q != ' ' && *q != '\n')
			q++;
		while (*q == ' ') {
			uint64_t *dst = NULL, v;
			const char *e;

			q++;
			if (strncmp(q, "rbytes=", 7) == 0)
				dst = &sum.rbytes, q += 7;
			else if (strncmp(q, "wbytes=", 7) == 0)
				dst = &sum.wbytes, q += 7;
			else if (strncmp(q, "rios=", 5) == 0)
				dst = &sum.rios, q += 5;
			else if (strncmp(q, "wios=", 5) == 0)
				dst = &sum.wios, q += 5;
			e = dst ? parse_num(q, &v) : NULL;
			if (e) {
				*dst += v;
				q = e;
			}
			while (*q && *q != ' ' && *q != '\n')
				q++;
		}
	}
	*io = sum;
	return 0;
}

/* "254:0 Read 16777216" per device and operation, then "Total N" for all devices. */
int probe_parse_blkio(const char *buf, uint64_t *read, uint64_t *write)
{
	uint64_t r = 0, w = 0;
	const char *p;
	bool seen = false;

	for (p = buf; p && *p; p = next_line(p)) {
		const char *q = p;
		uint64_t v;

		if (strncmp(p, "Total ", 6) == 0) {
			seen = true;
			continue;
		}
		while (*q && *q != ' ' && *q != '\n')
			q++;
		if (*q != ' ')
			continue;
		q++;
		if (strncmp(q, "Read ", 5) == 0 && parse_num(q + 5, &v))
			r += v, seen = true;
		else if (strncmp(q, "Write ", 6) == 0 && parse_num(q + 6, &v))
			w += v, seen = true;
	}
	if (!seen)
		return -EINVAL;
	*read = r;
	*write = w;
	return 0;
}

int probe_parse_meminfo(const char *buf, struct probe_meminfo *mi)
{
#define MI(str, field) KEY(str, struct probe_meminfo, field)
	static const struct key keys[] = {
		MI("MemTotal", mem_total),
		MI("MemFree", mem_free),
		MI("MemAvailable", mem_available),
		MI("Buffers", buffers),
		MI("Cached", cached),
		MI("SwapTotal", swap_total),
		MI("SwapFree", swap_free),
		MI("Dirty", dirty),
		MI("Shmem", shmem),
	};
#undef MI
	struct probe_meminfo kb;
	uint64_t *in = (uint64_t *)(void *)&kb, *out = (uint64_t *)(void *)mi;
	size_t i;

	memset(&kb, 0xff, sizeof(kb));
	if (!parse_keyed(buf, keys, NKEYS(keys), &kb))
		return -EINVAL;
	for (i = 0; i < sizeof(kb) / sizeof(uint64_t); i++)
		if (in[i] != PROBE_UNKNOWN)
			out[i] = in[i] * 1024; /* every field is "... kB" */
	return 0;
}

/* First line "cpu  user nice system idle iowait irq softirq steal guest guest_nice",
 * then one "cpuN" line per online CPU. */
int probe_parse_proc_stat(const char *buf, struct probe_host_cpu *cpu)
{
	struct probe_host_cpu c;
	uint64_t *f[8] = { &c.user,   &c.nice, &c.system,  &c.idle,
			   &c.iowait, &c.irq,  &c.softirq, &c.steal };
	const char *p;
	bool agg = false;
	int i;

	memset(&c, 0xff, sizeof(c));
	c.ncpus = 0;
	for (p = buf; p && *p; p = next_line(p)) {
		if (strncmp(p, "cpu", 3) != 0)
			continue;
		if (p[3] >= '0' && p[3] <= '9') {
			c.ncpus++;
			continue;
		}
		if (p[3] != ' ' || agg)
			continue;
		agg = true;
		p += 3;
		for (i = 0; i < 8; i++) {
			while (*p == ' ')
				p++;
			p = parse_num(p, f[i]);
			if (!p)
				return -EINVAL;
		}
	}
	if (!agg)
		return -EINVAL;
	if (c.ncpus == 0)
		c.ncpus = PROBE_UNKNOWN;
	*cpu = c;
	return 0;
}
