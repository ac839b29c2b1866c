/*
 * config.c - the config/ module's small shared pieces: diagnostics, names,
 * enum names and host detection. The spec parser is spec-parse.c, the
 * daemon config daemon-config.c, the YAML tree yaml-tree.c.
 *
 * Defaults and rules (paddock.yaml(5)):
 *
 * Files
 *   - A spec path is a file or a directory. In a directory, only regular
 *     files named *.yaml are read, in byte order of their names; dotfiles
 *     and other names are ignored. At most 1024 files, 1 MiB each.
 *   - Each file holds one YAML document (a second one is an error): a mapping with exactly one key,
 *     `services`, a mapping of NAME -> service. An empty file, a file with
 *     only comments, and `services:` with no value all mean zero services.
 *     A mapping without `services` is an error.
 *   - Names match [a-z0-9][a-z0-9_-]{0,62} and are unique across all files
 *     (the error points at the second one and names the first). At most
 *     4096 services.
 *   - A key with an empty (null) value is the same as leaving it out.
 *   - Unknown keys and duplicate keys are errors, in every mapping.
 *   - Limits: nesting 32 levels, scalars 64 KiB, 200000 nodes per file
 *     counting every alias as a full copy of what it names.
 *   - Every error is reported as FILE:LINE:COLUMN: message (1-based): at
 *     the value for a bad value, at the key for unknown and duplicate keys.
 *     All errors are collected (up to 100, then "too many errors"), each
 *     file's in document order, then cross-file ones. Any error means
 *     nothing is loaded.
 *
 * Service defaults
 *   image, rootfs    none (the host file system); at most one of the two
 *   command          the image's Entrypoint+Cmd; required without image
 *   environment      empty
 *   user             root; working_dir "/" (or the image's)
 *   hostname         the service name
 *   class            standard
 *   init             true
 *   resources        every knob unset (kernel default)
 *   isolation        namespaces [pid, mount, uts, ipc, net, cgroup],
 *                    network none, readonly_rootfs false, no mounts
 *   restart          policy on-failure, delay 100ms, max_delay 30s,
 *                    reset_after 60s, limit {burst: 5, interval: 60s}
 *   ready            none, timeout 90s
 *   watchdog         0 (off)
 *   depends_on       none
 *   stop             signal SIGTERM, timeout 10s
 *   on_oom           restart
 *   pressure         none
 *
 * Value rules
 *   - Sizes: bytes, or K/M/G/T (binary; KB, KiB, Ki alike, any case),
 *     decimals allowed with a suffix (1.5G); N% of host memory; max.
 *     Negative values are errors.
 *   - Durations: NUMBER UNIT with units ms, s, m (or min), h, d; groups may
 *     be combined (1m30s); a bare number is seconds; decimals allowed.
 *   - CPUs: 1.5 (CPUs) or 250m (millicores); max = unlimited.
 *   - Percentages: 0 < N% <= 100%, resolution 0.1%.
 *   - Signals: TERM, SIGTERM, sigterm or 15 (1..SIGRTMAX); SIGSTOP is
 *     refused as a stop signal.
 *   - Booleans: true/false, yes/no, on/off (any case).
 *   - rootfs, working_dir, mount source and target are absolute paths.
 *   - command and ready.exec are lists of strings; a single string is an
 *     error with a hint to write a list. They must not be empty.
 *   - environment: a mapping KEY: VALUE or a list of "KEY=VALUE"; keys
 *     match [A-Za-z_][A-Za-z0-9_]*, each at most once; at most 4096.
 *     Values are taken as written (true stays "true"); empty = "".
 *   - user: "uid[:gid]" or "name[:group]"; hostname: letters, digits, '-'
 *     and '.', at most 64 characters.
 *   - resources.memory: min <= low <= high <= max among those set.
 *     cpu.weight and io.weight 1..10000; cpu.cpus a list like 0-1,3;
 *     pids.max 1..4194304 or max.
 *   - namespaces: any of pid, mount, uts, ipc, net, cgroup, user, each at
 *     most once. `network: host` runs in the host network namespace: the
 *     net bit is cleared when namespaces is not given, and listing `net`
 *     together with `network: host` is an error. `network: none` (the
 *     default) needs the net namespace: a namespaces list without `net` is
 *     an error unless `network: host`. image, rootfs, mounts and
 *     readonly_rootfs need the mount namespace; hostname needs uts.
 *   - mounts: type bind (default) or tmpfs; target absolute, not "/", no
 *     ".." and unique; bind needs source and takes no size; tmpfs takes no
 *     source; size is a size above 0, not max.
 *   - restart: delay 0..1h, max_delay and reset_after 0..24h, delay <=
 *     max_delay; limit.burst 1..10000; limit.interval 1ms..24h.
 *   - ready: none or notify, or a mapping with exactly one of
 *     exec: [argv], tcp: PORT (1..65535), notify: true, plus an optional
 *     timeout (1s..1h).
 *   - watchdog: 0 (off) or 1s..1h, and only with ready notify (the pings
 *     arrive on the notify socket).
 *   - depends_on: names of services in the set, each at most once, not
 *     the service itself; no cycles (reported as "a -> b -> a").
 *   - stop.timeout 0..1h (0 = SIGKILL right after the signal).
 *   - pressure.{memory,cpu,io}: above (a percentage) and action (reclaim,
 *     grow, freeze, restart, kill) required, for 500ms..1h (default 10s);
 *     reclaim only for memory.
 *
 * Daemon config (paddockd.yaml) defaults
 *   services_dir /etc/paddock/services, state_dir /var/lib/paddock,
 *   runtime_dir /run/paddock, cgroup_root unset (own subtree),
 *   metrics.listen unset (off), budget.memory unset (host RAM),
 *   budget.reserve 256M, budget.cpu max (all CPUs), log.max_size 8M,
 *   log.keep 3, log.pipe_size 4M, probe_interval 1s.
 *   Directories are absolute paths; metrics.listen is HOST:PORT;
 *   log.max_size >= 64K; log.keep 0..1000; log.pipe_size 4K..1G;
 *   probe_interval 100ms..1h;
 *   budget.memory max = unset; budget.reserve below budget.memory.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, vasprintf */
#endif
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

void config_errors_add(struct config_errors *errs, const char *file, int line, int column,
		       const char *fmt, ...)
{
	struct config_diag *d;
	char *msg = NULL;
	va_list ap;
	int r;

	if (!errs || errs->n > CONFIG_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	/* The same node reached through several aliases reports once. */
	for (size_t i = 0; i < errs->n; i++) {
		d = &errs->diags[i];
		if (d->line == line && d->column == column && strcmp(d->message, msg) == 0 &&
		    ((!d->file && !file) || (d->file && file && strcmp(d->file, file) == 0))) {
			free(msg);
			return;
		}
	}
	if (errs->n == CONFIG_MAX_ERRORS) {
		free(msg);
		msg = strdup("too many errors; giving up");
		if (!msg)
			return;
	}
	if (errs->n == errs->cap) {
		size_t cap = errs->cap ? errs->cap * 2 : 8;

		d = realloc(errs->diags, cap * sizeof(*d));
		if (!d) {
			free(msg);
			return;
		}
		errs->diags = d;
		errs->cap = cap;
	}
	d = &errs->diags[errs->n];
	d->file = file ? strdup(file) : NULL;
	d->line = line;
	d->column = column;
	d->message = msg;
	errs->n++;
}

void config_errors_print(FILE *f, const struct config_errors *errs)
{
	for (size_t i = 0; errs && i < errs->n; i++) {
		const struct config_diag *d = &errs->diags[i];

		if (d->line > 0)
			fprintf(f, "%s:%d:%d: %s\n", d->file ? d->file : "-", d->line, d->column,
				d->message);
		else
			fprintf(f, "%s: %s\n", d->file ? d->file : "-", d->message);
	}
}

void config_errors_clear(struct config_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->diags[i].file);
		free(errs->diags[i].message);
	}
	free(errs->diags);
	errs->diags = NULL;
	errs->n = errs->cap = 0;
}

bool config_valid_name(const char *name)
{
	size_t i;

	if (!name || !(islower((unsigned char)name[0]) || isdigit((unsigned char)name[0])))
		return false;
	for (i = 1; name[i]; i++) {
		char ch = name[i];

		if (i >= SPEC_NAME_MAX)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return true;
}

const char *spec_class_name(enum spec_class c)
{
	switch (c) {
	case CLASS_STANDARD:
		return "standard";
	case CLASS_CRITICAL:
		return "critical";
	case CLASS_BATCH:
		return "batch";
	}
	return "unknown";
}

const char *spec_restart_name(enum spec_restart_policy p)
{
	switch (p) {
	case RESTART_ON_FAILURE:
		return "on-failure";
	case RESTART_ALWAYS:
		return "always";
	case RESTART_NEVER:
		return "never";
	}
	return "unknown";
}

const char *spec_on_oom_name(enum spec_on_oom o)
{
	switch (o) {
	case ON_OOM_RESTART:
		return "restart";
	case ON_OOM_STOP:
		return "stop";
	case ON_OOM_GROW:
		return "grow";
	}
	return "unknown";
}

const char *spec_pressure_action_name(enum spec_pressure_action a)
{
	switch (a) {
	case PRESSURE_ACTION_NONE:
		return "none";
	case PRESSURE_ACTION_RECLAIM:
		return "reclaim";
	case PRESSURE_ACTION_GROW:
		return "grow";
	case PRESSURE_ACTION_FREEZE:
		return "freeze";
	case PRESSURE_ACTION_RESTART:
		return "restart";
	case PRESSURE_ACTION_KILL:
		return "kill";
	}
	return "unknown";
}

const char *spec_pressure_resource_name(enum spec_pressure_resource r)
{
	switch (r) {
	case PRESSURE_MEMORY:
		return "memory";
	case PRESSURE_CPU:
		return "cpu";
	case PRESSURE_IO:
		return "io";
	case PRESSURE_NR:
		break;
	}
	return "unknown";
}

int config_host_detect(struct config_host *host)
{
	char line[256];
	FILE *f;
	int r = -ENOENT;

	host->mem_total = 0;
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
			if (kb > UINT64_MAX / 1024) {
				r = -ERANGE;
				break;
			}
			host->mem_total = (uint64_t)kb * 1024;
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}
