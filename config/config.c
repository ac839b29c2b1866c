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
 *     4096 services. '@' is kept for instances: `instances: N` (1..256) or
 *     a list of distinct names makes NAME@1..NAME@N (NAME@a...), each
 *     parsed from the entry with ${instance} set; default hostname
 *     NAME-INSTANCE. depends_on a template means all its instances; no
 *     service may take a template's name.
 *   - `include: [PATH, ...]` at the top level (files, or directories read
 *     as above; relative to the including file; 16 levels). Every file is
 *     read once per load; an include cycle is an error naming both places.
 *     At most 1024 files in all.
 *   - Every service's value is interpolated (${VAR}, compose's rules, see
 *     interp.c): the reader's environment, then the .env beside the specs
 *     (DIR/.env for a directory, the file's directory's for a file).
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
 *   environment_file none; secrets none
 *   enabled          true; profiles none (always)
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
 *   - image: a path reference, NAME[:TAG] of an imported image, or a
 *     registry reference (its first '/' component has '.' or ':' or is
 *     localhost, or it has a digest), checked strictly:
 *     [HOST[:PORT]/]PATH[:TAG][@sha256:<64 hex>]. pull (missing, always,
 *     never; default missing) needs image; always needs a registry
 *     reference.
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
 *   - isolation.network: none, host, a network NAME, or a list (at most 8)
 *     of NAME or {network: NAME, ip: A.B.C.D, aliases: [...]}: each network
 *     once, at most 16 aliases, valid names, not the service's own. A bridge
 *     network needs the net namespace. Whether the networks exist, and the
 *     addresses and host ports between services, config_check_networks
 *     decides against the daemon config.
 *   - ports: at most 64 entries of [IP:]HOSTPORT:PORT[/tcp|/udp], ranges
 *     A-B:C-D of equal length, 1..65535, at most 1024 ports in all; a port
 *     alone is an error (no random host ports); no two entries' host ports
 *     overlap (same proto, same or wildcard ip); needs a bridge network.
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
 *   - environment_file: a path or a list (at most 64); a leading '-' makes
 *     one optional; relative to the spec file's directory, made absolute and
 *     lexically clean. Each is read at parse time (config_envfile_load): a
 *     missing non-optional file is an error at the item, naming the path;
 *     errors inside the file are FILE:LINE of that file.
 *   - secrets: a list (at most 64) of SOURCE or {source, target, uid, gid,
 *     mode}. source is a NAME (found in the daemon's secrets_dir at start)
 *     or a path (has a '/'; relative to the spec's directory). target is a
 *     NAME (/run/secrets/NAME) or an absolute path without ".."; default
 *     the source's NAME or basename; targets distinct. uid, gid
 *     0..4294967294 (default the service's); mode octal digits as chmod
 *     reads them (0440, 440, 0o440, YAML's int 0440 alike), <= 0777,
 *     default 0400. Needs the mount namespace.
 *   - enabled: a boolean. profiles: a list of names, each once.
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
 *   networks: NAME -> {subnet A.B.C.D/8..30 (required, host bits zero),
 *   gateway (subnet + 1; inside, not network or broadcast), mtu 1500
 *   (576..65535), internal false, masquerade !internal (not with internal),
 *   bridge "pd-" NAME cut to 15 ([A-Za-z0-9_.-]{1,15})}; at most 32 counting
 *   'default', which is built in (10.89.0.0/16, bridge paddock0) unless
 *   defined (then unset fields keep the built-in values). No two subnets
 *   overlap, no two networks share a bridge.
 *   images.auth_file and images.certs_dir absolute paths (unset: the
 *   registry client's defaults); images.pull_parallel 1..16 (unset: 3).
 *   registries: HOST[:PORT] -> {mirrors: [HOST[:PORT][/PREFIX], ...] (at
 *   most 16, each once), insecure false}; at most 64; a null value is no
 *   entry.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, vasprintf */
#endif
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

bool config_valid_service_name(const char *name)
{
	const char *at = name ? strchr(name, '@') : NULL;
	char tmpl[SPEC_NAME_MAX + 1];

	if (!at)
		return config_valid_name(name);
	if (strlen(name) > SPEC_NAME_MAX || (size_t)(at - name) >= sizeof(tmpl))
		return false;
	memcpy(tmpl, name, (size_t)(at - name));
	tmpl[at - name] = '\0';
	return config_valid_name(tmpl) && config_valid_name(at + 1);
}

/* --- registry references ------------------------------------------------------------ */

static bool lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* 1..65535, no sign, no leading zero. */
static bool valid_port(const char *s, size_t len)
{
	unsigned long v = 0;

	if (len == 0 || len > 5 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v <= 65535;
}

bool config_valid_registry_host(const char *s, size_t len)
{
	const char *end = s + len, *colon;
	size_t hlen, label = 0;

	if (len == 0 || len > 255)
		return false;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (!rb || rb == s + 1)
			return false;
		for (const char *p = s + 1; p < rb; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		return rb + 1 == end ||
		       (rb[1] == ':' && valid_port(rb + 2, (size_t)(end - rb - 2)));
	}
	colon = memchr(s, ':', len);
	hlen = colon ? (size_t)(colon - s) : len;
	if (colon && !valid_port(colon + 1, (size_t)(end - colon - 1)))
		return false;
	for (size_t i = 0; i < hlen; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)ch) || (ch == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && s[hlen - 1] != '-';
}

/*
 * One component of a repository path: lowercase letters and digits, with
 * single separators '.', '_', "__" or a run of '-' between them.
 */
static bool valid_path_component(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	while (i < n) {
		size_t j = i;

		if (lower_alnum(s[i])) {
			i++;
			continue;
		}
		while (j < n && !lower_alnum(s[j]))
			j++;
		if (!((j - i == 1 && (s[i] == '.' || s[i] == '_')) ||
		      (j - i == 2 && s[i] == '_' && s[i + 1] == '_') ||
		      strspn(s + i, "-") >= j - i))
			return false;
		i = j;
	}
	return true;
}

/* Components joined by '/': true when each is valid (n bytes of s). */
static bool valid_repo_path(const char *s, size_t n)
{
	const char *end = s + n;

	if (n == 0)
		return false;
	while (s <= end) {
		const char *slash = memchr(s, '/', (size_t)(end - s));
		const char *stop = slash ? slash : end;

		if (!valid_path_component(s, (size_t)(stop - s)))
			return false;
		s = stop + 1;
	}
	return true;
}

bool config_valid_registry_mirror(const char *s)
{
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);

	return config_valid_registry_host(s, hlen) &&
	       (!slash || valid_repo_path(slash + 1, strlen(slash + 1)));
}

/* Does the first component of a reference (n bytes of s) name a registry host? */
static bool names_host(const char *s, size_t n)
{
	return memchr(s, '.', n) || memchr(s, ':', n) ||
	       (n == 9 && strncmp(s, "localhost", 9) == 0);
}

bool config_image_ref_is_registry(const char *ref)
{
	const char *slash;

	if (!ref || ref[0] == '/' || strncmp(ref, "./", 2) == 0 || strncmp(ref, "../", 3) == 0)
		return false;
	if (strchr(ref, '@'))
		return true; /* the store records no digest references: only a registry has them */
	slash = strchr(ref, '/');
	return slash && names_host(ref, (size_t)(slash - ref));
}

const char *config_registry_ref_error(const char *ref)
{
	const char *slash = strchr(ref, '/'), *path = ref, *at, *colon, *path_end;

	if (slash && names_host(ref, (size_t)(slash - ref))) {
		if (!config_valid_registry_host(ref, (size_t)(slash - ref)))
			return "the registry must be HOST or HOST:PORT (letters, digits, '-' and "
			       "'.' or [IPv6]; port 1..65535)";
		path = slash + 1;
	}
	at = strchr(path, '@');
	path_end = at ? at : path + strlen(path);
	colon = memchr(path, ':', (size_t)(path_end - path));
	if (colon)
		path_end = colon;
	if (path_end == path)
		return path == ref ? "the repository name is missing"
				   : "the repository name after the registry is missing";
	if (!valid_repo_path(path, (size_t)(path_end - path)))
		return "the repository name takes lowercase letters and digits, with '.', '_', "
		       "'__' or '-' between them, in components joined by '/'";
	if (path_end - ref > 255)
		return "registry and repository name are longer than 255 characters";
	if (colon) {
		const char *tag = colon + 1;
		size_t n = (size_t)((at ? at : tag + strlen(tag)) - tag);

		if (n == 0 || n > 128 || tag[0] == '.' || tag[0] == '-' ||
		    strspn(tag,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
			n)
			return "a tag is 1-128 letters, digits, '_', '.' and '-', not starting "
			       "with '.' or '-'";
	}
	if (at && (strncmp(at + 1, "sha256:", 7) != 0 || strlen(at + 8) != 64 ||
		   strspn(at + 8, "0123456789abcdef") != 64))
		return "a digest is 'sha256:' and 64 lowercase hexadecimal digits";
	return NULL;
}

static int registry_cmp_host(const void *key, const void *elem)
{
	return strcmp(key, ((const struct spec_registry *)elem)->host);
}

const struct spec_registry *config_find_registry(const struct daemon_config *cfg, const char *host)
{
	if (!cfg || !cfg->nregistries)
		return NULL;
	return bsearch(host, cfg->registries, cfg->nregistries, sizeof(*cfg->registries),
		       registry_cmp_host);
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

const char *spec_pull_name(enum spec_pull p)
{
	switch (p) {
	case PULL_MISSING:
		return "missing";
	case PULL_ALWAYS:
		return "always";
	case PULL_NEVER:
		return "never";
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
	host->env = environ;
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

bool config_parse_ipv4(const char *s, uint32_t *out)
{
	uint32_t ip = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t n = 0;

		if (part > 0 && *s++ != '.')
			return false;
		for (; *s >= '0' && *s <= '9'; s++, n++) {
			v = v * 10 + (unsigned)(*s - '0');
			if (n >= 3 || v > 255)
				return false;
		}
		if (n == 0 || (n > 1 && s[-(long)n] == '0'))
			return false; /* empty, or a leading zero (octal to inet_aton) */
		ip = ip << 8 | v;
	}
	if (*s)
		return false;
	*out = ip;
	return true;
}

char *config_format_ipv4(uint32_t ip, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
	return buf;
}

uint32_t config_netmask(unsigned prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? UINT32_MAX : ~(UINT32_MAX >> prefix);
}

static int netdef_cmp_name(const void *a, const void *b)
{
	const char *name = a;
	const struct spec_netdef *n = b;

	return strcmp(name, n->name);
}

const struct spec_netdef *config_find_network(const struct daemon_config *cfg, const char *name)
{
	if (!cfg || !name || cfg->nnetworks == 0)
		return NULL;
	return bsearch(name, cfg->networks, cfg->nnetworks, sizeof(*cfg->networks),
		       netdef_cmp_name);
}

/* One fixed address or one published range, with who asked for it. */
struct net_claim {
	const struct service_spec *s;
	size_t net; /* index in cfg->networks (fixed addresses) */
	uint32_t ip; /* fixed address, or host ip of a port range */
	const struct spec_port *port; /* NULL for a fixed address */
	int line, column;
};

static int claim_ip_cmp(const void *a, const void *b)
{
	const struct net_claim *x = a, *y = b;

	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	return 0; /* qsort is not stable: ties are told apart by file order below */
}

static int claim_port_cmp(const void *a, const void *b)
{
	const struct net_claim *x = a, *y = b;

	if (x->port->proto != y->port->proto)
		return x->port->proto < y->port->proto ? -1 : 1;
	if (x->port->host_port != y->port->host_port)
		return x->port->host_port < y->port->host_port ? -1 : 1;
	return strcmp(x->s->name, y->s->name);
}

static void network_names_list(const struct daemon_config *cfg, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < cfg->nnetworks && used < len; i++) {
		int r =
		    snprintf(buf + used, len - used, "%s%s", i ? ", " : "", cfg->networks[i].name);

		if (r < 0 || (size_t)r >= len - used) {
			snprintf(buf + (len > 4 ? len - 4 : 0), len > 4 ? 4 : len, "...");
			break;
		}
		used += (size_t)r;
	}
}

static bool service_on_network(const struct service_spec *s, const char *net)
{
	if (s->isolation.network != NETWORK_BRIDGE)
		return false;
	for (size_t i = 0; i < s->isolation.nnetworks; i++)
		if (strcmp(s->isolation.networks[i].network, net) == 0)
			return true;
	return false;
}

/* Is the earlier of a and b (by file, then line) the first one? */
static bool claim_before(const struct net_claim *a, const struct net_claim *b)
{
	int r = strcmp(a->s->file, b->s->file);

	if (r != 0)
		return r < 0;
	return a->line < b->line || (a->line == b->line && a->column < b->column);
}

static void check_attachments(const struct spec_set *set, const struct daemon_config *cfg,
			      struct config_errors *errs, struct net_claim *ips, size_t *nips,
			      size_t *nerr)
{
	char names[512], a[16], b[16];

	for (size_t i = 0; i < set->nservices; i++) {
		const struct service_spec *s = set->services[i];

		if (s->isolation.network != NETWORK_BRIDGE)
			continue;
		for (size_t j = 0; j < s->isolation.nnetworks; j++) {
			const struct spec_netattach *at = &s->isolation.networks[j];
			const struct spec_netdef *n = config_find_network(cfg, at->network);
			uint32_t mask, bcast;

			if (!n) {
				network_names_list(cfg, names, sizeof(names));
				config_errors_add(errs, s->file, at->line, at->column,
						  "unknown network '%s'; networks: %s", at->network,
						  names);
				(*nerr)++;
				continue;
			}
			for (size_t k = 0; k < at->naliases; k++) {
				const struct service_spec *o = spec_set_find(set, at->aliases[k]);

				if (o && o != s && service_on_network(o, n->name)) {
					config_errors_add(
					    errs, s->file, at->line, at->column,
					    "alias '%s' is the name of service '%s' (%s:%d) on "
					    "network '%s' too; the name would resolve to both",
					    at->aliases[k], o->name, o->file, o->line, n->name);
					(*nerr)++;
				}
			}
			if (at->ip == 0)
				continue;
			mask = config_netmask(n->prefix);
			bcast = n->subnet | ~mask;
			if ((at->ip & mask) != n->subnet) {
				config_errors_add(errs, s->file, at->ip_line, at->ip_column,
						  "ip %s is outside network '%s' (%s/%u)",
						  config_format_ipv4(at->ip, a), n->name,
						  config_format_ipv4(n->subnet, b), n->prefix);
				(*nerr)++;
			} else if (at->ip == n->subnet || at->ip == bcast || at->ip == n->gateway) {
				config_errors_add(errs, s->file, at->ip_line, at->ip_column,
						  "ip %s is the %s address of network '%s'",
						  config_format_ipv4(at->ip, a),
						  at->ip == n->subnet ? "network"
						  : at->ip == bcast   ? "broadcast"
								      : "gateway",
						  n->name);
				(*nerr)++;
			} else {
				ips[(*nips)++] =
				    (struct net_claim){ .s = s,
							.net = (size_t)(n - cfg->networks),
							.ip = at->ip,
							.line = at->ip_line,
							.column = at->ip_column };
			}
		}
	}
}

static void check_fixed_ips(const struct daemon_config *cfg, struct config_errors *errs,
			    struct net_claim *ips, size_t nips, size_t *nerr)
{
	char a[16];

	qsort(ips, nips, sizeof(*ips), claim_ip_cmp);
	for (size_t i = 1; i < nips; i++) {
		const struct net_claim *x = &ips[i - 1], *y = &ips[i];

		if (x->net != y->net || x->ip != y->ip)
			continue;
		if (claim_before(y, x)) {
			const struct net_claim *t = x;

			x = y;
			y = t;
		}
		config_errors_add(errs, y->s->file, y->line, y->column,
				  "ip %s on network '%s' is taken by service '%s' (%s:%d)",
				  config_format_ipv4(y->ip, a), cfg->networks[y->net].name,
				  x->s->name, x->s->file, x->line);
		(*nerr)++;
	}
}

static bool host_ips_overlap(uint32_t a, uint32_t b)
{
	return a == 0 || b == 0 || a == b;
}

/* Host (proto, port) ranges of different services must not meet on a host ip. */
static void check_host_ports(struct config_errors *errs, struct net_claim *ports, size_t nports,
			     size_t *nerr)
{
	qsort(ports, nports, sizeof(*ports), claim_port_cmp);
	for (size_t i = 0; i < nports; i++) {
		const struct spec_port *p = ports[i].port;
		uint32_t end = (uint32_t)p->host_port + p->count - 1;

		for (size_t j = i + 1; j < nports; j++) {
			const struct spec_port *q = ports[j].port;
			const struct net_claim *x = &ports[i], *y = &ports[j];

			if (q->proto != p->proto || q->host_port > end)
				break;
			if (x->s == y->s || !host_ips_overlap(p->host_ip, q->host_ip))
				continue;
			if (claim_before(y, x)) {
				x = &ports[j];
				y = &ports[i];
			}
			config_errors_add(errs, y->s->file, y->line, y->column,
					  "host port %s/%u is also published by service '%s' "
					  "(%s:%d:%d)",
					  p->proto == IPPROTO_UDP ? "udp" : "tcp",
					  q->host_port > p->host_port ? q->host_port : p->host_port,
					  x->s->name, x->s->file, x->line, x->column);
			(*nerr)++;
		}
	}
}

static int diag_order(const struct config_diag *a, const struct config_diag *b)
{
	int r = strcmp(a->file ? a->file : "", b->file ? b->file : "");

	if (r != 0)
		return r;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->column < b->column ? -1 : a->column > b->column;
}

/* Put errs->diags[from..] in file, then document order (stable; at most 100). */
static void sort_diags(struct config_errors *errs, size_t from)
{
	for (size_t i = from + 1; errs && i < errs->n; i++) {
		struct config_diag d = errs->diags[i];
		size_t j = i;

		for (; j > from && diag_order(&errs->diags[j - 1], &d) > 0; j--)
			errs->diags[j] = errs->diags[j - 1];
		errs->diags[j] = d;
	}
}

int config_check_networks(const struct spec_set *set, const struct daemon_config *cfg,
			  struct config_errors *errs)
{
	struct net_claim *ips = NULL, *ports = NULL;
	size_t nips = 0, nports = 0, maxips = 0, maxports = 0, nerr = 0;
	size_t from = errs ? errs->n : 0;

	if (!set || !cfg)
		return 0;
	for (size_t i = 0; i < set->nservices; i++) {
		const struct service_spec *s = set->services[i];

		if (s->isolation.network == NETWORK_BRIDGE)
			maxips += s->isolation.nnetworks;
		maxports += s->nports;
	}
	ips = calloc(maxips ? maxips : 1, sizeof(*ips));
	ports = calloc(maxports ? maxports : 1, sizeof(*ports));
	if (!ips || !ports) {
		free(ips);
		free(ports);
		config_errors_add(errs, NULL, 0, 0, "out of memory");
		return -1;
	}
	check_attachments(set, cfg, errs, ips, &nips, &nerr);
	check_fixed_ips(cfg, errs, ips, nips, &nerr);

	for (size_t i = 0; i < set->nservices; i++) {
		const struct service_spec *s = set->services[i];
		const struct spec_netdef *n;

		if (s->nports == 0 || s->isolation.network != NETWORK_BRIDGE ||
		    s->isolation.nnetworks == 0)
			continue;
		n = config_find_network(cfg, s->isolation.networks[0].network);
		if (n && n->internal) {
			config_errors_add(errs, s->file, s->ports[0].line, s->ports[0].column,
					  "ports are published to the first network, and '%s' is "
					  "internal (no way in from the host)",
					  n->name);
			nerr++;
			continue;
		}
		for (size_t j = 0; j < s->nports; j++)
			ports[nports++] = (struct net_claim){ .s = s,
							      .ip = s->ports[j].host_ip,
							      .port = &s->ports[j],
							      .line = s->ports[j].line,
							      .column = s->ports[j].column };
	}
	check_host_ports(errs, ports, nports, &nerr);
	sort_diags(errs, from);
	free(ips);
	free(ports);
	return nerr ? -1 : 0;
}
