/*
 * cgroup.c - front of the cgroup layer: detects the host layout from
 * /proc/self/mountinfo and /proc/self/cgroup, computes the daemon's root in
 * every hierarchy, creates and removes directories, and dispatches knob
 * writes to the v2 or v1 backend through a small ops table. Freeze, kill
 * and emptiness checks prefer the v2 hierarchy (pure v2 or hybrid's
 * unified one) and fall back to the v1 freezer.
 *
 * Delegation: every mkdir, rmdir and write below goes to a path under a
 * hierarchy's root (or, in setup/teardown, the levels between the own
 * cgroup and the root). Nothing else is touched.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_PATH */
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "path.h"
#include "util.h"

#define CG_SETTLE_STEPS 5 /* kill steps that wait for a freeze to settle before killing anyway */
#define CG_KILL_BUDGET_US 2000 /* time one kill step may spend sending SIGKILLs */

static const struct {
	const char *name;
	unsigned bit;
} cg_v1_controllers[] = {
	{ "memory", CG_CTRL_MEMORY },	{ "cpu", CG_CTRL_CPU },
	{ "cpuacct", CG_CTRL_CPUACCT }, { "pids", CG_CTRL_PIDS },
	{ "cpuset", CG_CTRL_CPUSET },	{ "blkio", CG_CTRL_BLKIO },
	{ "freezer", CG_CTRL_FREEZER }, { "devices", CG_CTRL_DEVICES },
	{ "hugetlb", CG_CTRL_HUGETLB },
};

static cgroup_write_hook_fn write_hook;
static void *write_hook_data;

void cgroup_set_write_hook(cgroup_write_hook_fn fn, void *data)
{
	write_hook = fn;
	write_hook_data = data;
}

/* ---- file helpers --------------------------------------------------------- */

int cg_join(char *buf, size_t len, const char *dir, const char *file)
{
	size_t dl = strlen(dir);
	int n;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (dl == 1 && dir[0] == '/')
		dl = 0;
	n = snprintf(buf, len, "%.*s/%s", (int)dl, dir, file);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int cg_write(const char *dir, const char *file, const char *value)
{
	char path[CG_PATH_MAX];
	int r = cg_join(path, sizeof(path), dir, file);

	if (r < 0)
		return r;
	r = write_file_at(AT_FDCWD, path, value);
	if (r < 0)
		return r;
	if (write_hook)
		write_hook(path, value, write_hook_data);
	return 0;
}

int cg_read(const char *dir, const char *file, char *buf, size_t len)
{
	char path[CG_PATH_MAX];
	ssize_t n;
	int r = cg_join(path, sizeof(path), dir, file);

	if (r < 0)
		return r;
	n = read_file_at(AT_FDCWD, path, buf, len);
	if (n < 0)
		return (int)n;
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return (int)n;
}

bool cg_exists(const char *dir, const char *file)
{
	char path[CG_PATH_MAX];

	if (cg_join(path, sizeof(path), dir, file) < 0)
		return false;
	return access(path, F_OK) == 0;
}

int cg_read_key(const char *dir, const char *file, const char *key, long long *value)
{
	char buf[1024];
	size_t kl = strlen(key);
	int r = cg_read(dir, file, buf, sizeof(buf));

	if (r < 0)
		return r;
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			*value = strtoll(line + kl + 1, NULL, 10);
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

int cg_has_procs(const char *dir)
{
	char buf[16];
	int r = cg_read(dir, "cgroup.procs", buf, sizeof(buf));

	if (r < 0)
		return r;
	return r > 0;
}

void cg_format_bytes(uint64_t v, const char *unset, char *buf, size_t len)
{
	if (v == SPEC_UNSET)
		snprintf(buf, len, "%s", unset);
	else if (v == SPEC_SIZE_MAX)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

int cg_hier_with(const struct cgroup_host *host, unsigned ctrl)
{
	for (size_t i = 0; i < host->nhier; i++)
		if (!host->hier[i].v2 && (host->hier[i].ctrls & ctrl))
			return (int)i;
	return -1;
}

/* ---- conversions ---------------------------------------------------------- */

uint64_t cgroup_weight_to_shares(uint32_t weight)
{
	uint64_t s;

	if (weight == 0)
		return 1024;
	s = (uint64_t)weight * 1024 / 100;
	if (s < 2)
		s = 2;
	if (s > 262144)
		s = 262144;
	return s;
}

uint32_t cgroup_weight_to_blkio(uint32_t weight)
{
	uint64_t w;

	if (weight == 0)
		return 500;
	w = (uint64_t)weight * 5;
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	return (uint32_t)w;
}

uint32_t cgroup_weight_to_bfq(uint32_t weight)
{
	/* Piecewise linear: 1..100 -> 1..100, 100..10000 -> 100..1000 (systemd). */
	if (weight == 0)
		return 100;
	if (weight > 10000)
		weight = 10000;
	if (weight <= 100)
		return weight;
	return 100 + (uint32_t)(((uint64_t)weight - 100) * 900 / 9900);
}

void cgroup_mcpu_to_cfs(uint32_t mcpu, int64_t *quota_us, uint64_t *period_us)
{
	*period_us = 100000;
	if (mcpu == 0) {
		*quota_us = -1;
		return;
	}
	/* 1000 mcpu = one CPU = the whole period; the kernel's minimum quota is 1 ms. */
	*quota_us = (int64_t)mcpu * 100;
	if (*quota_us < 1000)
		*quota_us = 1000;
}

void cgroup_format_cpu_max(uint32_t mcpu, char *buf, size_t len)
{
	int64_t quota;
	uint64_t period;

	cgroup_mcpu_to_cfs(mcpu, &quota, &period);
	if (quota < 0)
		snprintf(buf, len, "max %llu", (unsigned long long)period);
	else
		snprintf(buf, len, "%lld %llu", (long long)quota, (unsigned long long)period);
}

/* ---- detection ------------------------------------------------------------ */

const char *cgroup_mode_name(enum cgroup_mode mode)
{
	switch (mode) {
	case CGROUP_MODE_V2:
		return "v2";
	case CGROUP_MODE_V1:
		return "v1";
	case CGROUP_MODE_HYBRID:
		return "hybrid";
	}
	return "unknown";
}

/* Bits of the v1 controllers we use named in a comma list ("rw,cpu,cpuacct"). */
static unsigned cg_parse_v1_list(const char *list)
{
	unsigned bits = 0;

	while (*list) {
		size_t n = strcspn(list, ",");
		for (size_t i = 0; i < ARRAY_SIZE(cg_v1_controllers); i++)
			if (strlen(cg_v1_controllers[i].name) == n &&
			    strncmp(list, cg_v1_controllers[i].name, n) == 0)
				bits |= cg_v1_controllers[i].bit;
		list += n;
		if (*list == ',')
			list++;
	}
	return bits;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void cg_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Collapse "//", drop "." and trailing "/", refuse ".."; result starts with "/". */
static int cg_normalize(const char *in, char *out, size_t len)
{
	int r = path_normalize(in, out, len, PATH_NO_DOTDOT | PATH_LEADING_SLASH);

	return r < 0 ? r : 0;
}

int cgroup_root_path(const char *own, const char *cgroup_root, char *out, size_t len)
{
	char tmp[CG_PATH_MAX];

	if (!cgroup_root || !*cgroup_root)
		return cg_normalize(own, out, len);
	if (cgroup_root[0] == '/')
		return cg_normalize(cgroup_root, out, len);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", own, cgroup_root) >= sizeof(tmp))
		return -ENAMETOOLONG;
	return cg_normalize(tmp, out, len);
}

/* Is path equal to or below prefix (both normalized)? */
static bool cg_is_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strcmp(prefix, "/") == 0)
		return true;
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static char *cg_fullpath(const char *mount, const char *rel)
{
	char *p;

	if (strcmp(rel, "/") == 0)
		return xstrdup(mount);
	xasprintf(&p, "%s%s", mount, rel);
	return p;
}

/* Split a mountinfo line; returns false for lines we do not understand. */
static bool cg_parse_mountinfo(char *line, char **root, char **mnt, char **fstype, char **opts)
{
	char *f[6], *sep, *save = NULL, *tok;
	int n = 0;

	/* Take exactly six tokens: a for-loop increment would swallow the seventh. */
	while (n < 6 && (tok = strtok_r(n ? NULL : line, " \n", &save)))
		f[n++] = tok;
	if (n < 6)
		return false;
	/* Skip optional fields up to the "-" separator. */
	sep = f[5];
	while (sep && strcmp(sep, "-") != 0)
		sep = strtok_r(NULL, " \n", &save);
	if (!sep)
		return false;
	*fstype = strtok_r(NULL, " \n", &save);
	if (!*fstype || !strtok_r(NULL, " \n", &save))
		return false;
	*opts = strtok_r(NULL, " \n", &save);
	if (!*opts)
		return false;
	*root = f[3];
	*mnt = f[4];
	cg_unescape(*root);
	cg_unescape(*mnt);
	return true;
}

/* Read one line into buf; lines longer than the buffer are skipped whole. */
static bool cg_getline(FILE *f, char *buf, size_t len)
{
	while (fgets(buf, (int)len, f)) {
		if (strchr(buf, '\n') || feof(f))
			return true;
		int c;
		while ((c = fgetc(f)) != EOF && c != '\n')
			;
	}
	return false;
}

static struct cg_hier *cg_add_hier(struct cgroup_host *host, bool v2, unsigned ctrls,
				   const char *mnt, const char *mroot)
{
	struct cg_hier *h;

	if (host->nhier >= CG_MAX_HIER)
		return NULL;
	h = &host->hier[host->nhier++];
	h->v2 = v2;
	h->ctrls = ctrls;
	h->lock_fd = -1;
	h->mount = xstrdup(mnt);
	/* Keep the mount's root in own for now; replaced once /proc/self/cgroup is read. */
	h->own = xstrdup(mroot);
	return h;
}

/* own path relative to the mount: strip the mount's root when it is a prefix. */
static int cg_set_own(struct cg_hier *h, const char *path)
{
	char norm[CG_PATH_MAX], *mroot = h->own;
	const char *rel = norm;
	int r = cg_normalize(path, norm, sizeof(norm));

	if (r < 0)
		return r;
	if (strcmp(mroot, "/") != 0 && cg_is_under(norm, mroot))
		rel = norm[strlen(mroot)] ? norm + strlen(mroot) : "/";
	h->own = xstrdup(rel);
	free(mroot);
	return 0;
}

static int cg_read_proc_cgroup(struct cgroup_host *host, const char *proc_cgroup, bool *have_own)
{
	_cleanup_fclose_ FILE *f = fopen(proc_cgroup, "re");
	char line[CG_LINE_MAX];

	if (!f)
		return -errno;
	while (cg_getline(f, line, sizeof(line))) {
		char *c1 = strchr(line, ':'), *c2, *path;
		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c1 = *c2 = '\0';
		path = c2 + 1;
		path[strcspn(path, "\n")] = '\0';
		if (path[0] != '/')
			continue;
		for (size_t i = 0; i < host->nhier; i++) {
			struct cg_hier *h = &host->hier[i];
			bool match = h->v2 ? (strcmp(line, "0") == 0 && c1[1] == '\0')
					   : (cg_parse_v1_list(c1 + 1) == h->ctrls);
			if (match && !have_own[i]) {
				int r = cg_set_own(h, path);
				if (r < 0)
					return r;
				have_own[i] = true;
			}
		}
	}
	return 0;
}

int cgroup_host_detect_at(const char *mountinfo, const char *proc_cgroup, const char *cgroup_root,
			  struct cgroup_host **out)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct cgroup_host *host;
	bool have_own[CG_MAX_HIER] = { false };
	char line[CG_LINE_MAX];
	unsigned seen = 0;
	size_t nv1 = 0;
	int r;

	f = fopen(mountinfo, "re");
	if (!f)
		return -errno;
	host = xcalloc(1, sizeof(*host));
	host->v2 = -1;
	/* Tests only: take the freeze/kill/thaw path on kernels that have cgroup.kill. */
	const char *nokill = getenv("PADDOCK_TEST_NO_CGROUP_KILL");
	host->no_kill = nokill && strcmp(nokill, "1") == 0;
	while (cg_getline(f, line, sizeof(line))) {
		char *mroot, *mnt, *fstype, *opts;
		if (!cg_parse_mountinfo(line, &mroot, &mnt, &fstype, &opts))
			continue;
		if (strcmp(fstype, "cgroup2") == 0) {
			/* Prefer a mount of the whole hierarchy over a bind of a subtree. */
			if (host->v2 >= 0 && strcmp(host->hier[host->v2].own, "/") == 0)
				continue;
			if (host->v2 >= 0) {
				struct cg_hier *h = &host->hier[host->v2];
				free(h->mount);
				free(h->own);
				h->mount = xstrdup(mnt);
				h->own = xstrdup(mroot);
				continue;
			}
			if (!cg_add_hier(host, true, 0, mnt, mroot))
				continue;
			host->v2 = (int)host->nhier - 1;
		} else if (strcmp(fstype, "cgroup") == 0) {
			unsigned bits = cg_parse_v1_list(opts);
			/* Not ours (devices, name=systemd, ...) or a second mount of one we have. */
			if (!bits || (bits & seen))
				continue;
			if (!cg_add_hier(host, false, bits, mnt, mroot))
				continue;
			seen |= bits;
			nv1++;
		}
	}

	if (nv1 == 0 && host->v2 < 0) {
		r = -ENOMEDIUM;
		goto fail;
	}
	host->mode = nv1 == 0 ? CGROUP_MODE_V2 : host->v2 < 0 ? CGROUP_MODE_V1 : CGROUP_MODE_HYBRID;
	host->ops = host->mode == CGROUP_MODE_V2 ? &cgroup_v2_ops : &cgroup_v1_ops;

	r = cg_read_proc_cgroup(host, proc_cgroup, have_own);
	if (r < 0)
		goto fail;

	for (size_t i = 0; i < host->nhier; i++) {
		struct cg_hier *h = &host->hier[i];
		char rel[CG_PATH_MAX];
		if (!have_own[i]) {
			r = -ENOENT;
			goto fail;
		}
		r = cgroup_root_path(h->own, cgroup_root, rel, sizeof(rel));
		if (r < 0)
			goto fail;
		h->root_rel = xstrdup(rel);
		h->root = cg_fullpath(h->mount, rel);
	}
	host->main = host->mode == CGROUP_MODE_V2 ? host->v2 : cg_hier_with(host, CG_CTRL_MEMORY);
	if (host->main < 0)
		host->main = 0;
	*out = host;
	return 0;
fail:
	cgroup_host_free(host);
	return r;
}

int cgroup_host_detect(const char *cgroup_root, struct cgroup_host **out)
{
	return cgroup_host_detect_at("/proc/self/mountinfo", "/proc/self/cgroup", cgroup_root, out);
}

struct cgroup_host *cgroup_host_free(struct cgroup_host *host)
{
	if (!host)
		return NULL;
	cg_host_unlock(host);
	for (size_t i = 0; i < host->nhier; i++) {
		struct cg_hier *h = &host->hier[i];
		free(h->mount);
		free(h->own);
		free(h->root_rel);
		free(h->root);
		free(h->supervisor);
		for (size_t l = 0; l < h->nlevels; l++)
			free(h->levels[l].path);
	}
	free(host);
	return NULL;
}

enum cgroup_mode cgroup_host_mode(const struct cgroup_host *host)
{
	return host->mode;
}

const char *cgroup_host_v2_root(const struct cgroup_host *host)
{
	return host->v2 >= 0 ? host->hier[host->v2].root : NULL;
}

const char *cgroup_host_describe(const struct cgroup_host *host)
{
	/* describe is a cache of derived text, not state: writing it is not a visible change. */
	char *buf = ((struct cgroup_host *)host)->describe;
	size_t len = sizeof(host->describe), o = 0;
	unsigned v1 = 0;

	for (size_t i = 0; i < host->nhier; i++)
		if (!host->hier[i].v2)
			v1 |= host->hier[i].ctrls;
	o += (size_t)snprintf(buf + o, len - o, "%s (", cgroup_mode_name(host->mode));
	if (v1) {
		o += (size_t)snprintf(buf + o, len - o, "v1:");
		for (size_t i = 0; i < ARRAY_SIZE(cg_v1_controllers) && o < len; i++)
			if (v1 & cg_v1_controllers[i].bit)
				o += (size_t)snprintf(buf + o, len - o, " %s",
						      cg_v1_controllers[i].name);
	}
	if (host->v2 >= 0 && o < len) {
		const char *m = host->hier[host->v2].mount, *base = strrchr(m, '/');
		if (host->mode == CGROUP_MODE_V2)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", v1 ? "; " : "", m);
		else
			o += (size_t)snprintf(buf + o, len - o, "%sv2: %s", v1 ? "; " : "",
					      base ? base + 1 : m);
		if (host->v2_avail && o < len) {
			static const char *const names[] = { "memory", "cpu", "cpuset", "pids",
							     "io" };
			static const unsigned bits[] = { CG_CTRL_MEMORY, CG_CTRL_CPU,
							 CG_CTRL_CPUSET, CG_CTRL_PIDS, CG_CTRL_IO };
			o += (size_t)snprintf(buf + o, len - o, ", enabled:");
			for (size_t i = 0; i < ARRAY_SIZE(bits) && o < len; i++)
				if (host->v2_avail & bits[i])
					o += (size_t)snprintf(buf + o, len - o, " %s", names[i]);
		}
	}
	if (host->no_kill && o < len)
		o += (size_t)snprintf(buf + o, len - o, "; cgroup.kill off for tests");
	if (o < len)
		snprintf(buf + o, len - o, ")");
	return buf;
}

/* ---- setup and teardown of the root --------------------------------------- */

/* The directories from the base down to the root, made where missing. Idempotent. */
int cg_hier_levels(struct cg_hier *h)
{
	const char *base = cg_is_under(h->root_rel, h->own) ? h->own : "/";
	const char *p = h->root_rel + (strcmp(base, "/") == 0 ? 0 : strlen(base));
	char rel[CG_PATH_MAX];
	size_t o = strcmp(base, "/") == 0 ? 0 : strlen(base);

	if (h->nlevels)
		return 0;
	memcpy(rel, h->root_rel, o);
	rel[o] = '\0';
	h->levels[0].path = cg_fullpath(h->mount, o ? rel : "/");
	h->nlevels = 1;
	while (*p) {
		struct cg_level *lv;
		size_t n;
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (h->nlevels >= CG_MAX_LEVELS)
			return -ELOOP;
		rel[o++] = '/';
		memcpy(rel + o, p, n);
		o += n;
		rel[o] = '\0';
		p += n;
		lv = &h->levels[h->nlevels++];
		lv->path = cg_fullpath(h->mount, rel);
		if (mkdir(lv->path, 0755) == 0)
			lv->created = true;
		else if (errno != EEXIST)
			return -errno;
	}
	return 0;
}

static int cg_hier_setup(struct cgroup_host *host, struct cg_hier *h)
{
	int r;

	if ((r = cg_hier_levels(h)) < 0)
		return r;
	for (size_t l = 1; l < h->nlevels && (h->ctrls & CG_CTRL_CPUSET); l++)
		if ((r = cg_v1_cpuset_inherit(h->levels[l].path, h->levels[l - 1].path)) < 0)
			return r;
	if (h->v2 && (r = cg_v2_setup(host, h)) < 0)
		return r;
	h->set_up = true;
	return 0;
}

int cgroup_host_setup(struct cgroup_host *host)
{
	int r;

	/* One owner per root: nothing below is done before the root is ours. */
	if ((r = cgroup_host_lock(host, NULL)) < 0)
		return r;
	for (size_t i = 0; i < host->nhier; i++) {
		struct cg_hier *h = &host->hier[i];
		if (h->set_up)
			continue;
		r = cg_hier_setup(host, h);
		if (r < 0) {
			cgroup_host_teardown(host);
			return r;
		}
	}
	return 0;
}

void cgroup_host_claim_root(struct cgroup_host *host)
{
	for (size_t i = 0; i < host->nhier; i++) {
		struct cg_hier *h = &host->hier[i];
		for (size_t l = 1; l < h->nlevels; l++)
			h->levels[l].created = true;
		if (h->supervisor)
			h->supervisor_created = true;
	}
}

void cgroup_host_teardown(struct cgroup_host *host)
{
	for (size_t i = host->nhier; i-- > 0;) {
		struct cg_hier *h = &host->hier[i];
		bool ok = true;
		for (size_t l = h->nlevels; l-- > 1;) {
			if (!h->levels[l].created)
				continue;
			if (rmdir(h->levels[l].path) < 0 && errno != ENOENT) {
				ok = false; /* still in use: keep everything above it */
				break;
			}
			h->levels[l].created = false;
		}
		if (h->v2)
			cg_v2_teardown(host, h, ok);
		if (!ok)
			continue;
		for (size_t l = 0; l < h->nlevels; l++) {
			free(h->levels[l].path);
			h->levels[l] = (struct cg_level){ 0 };
		}
		h->nlevels = 0;
		h->set_up = false;
	}
}

/* ---- service cgroups ------------------------------------------------------ */

int cgroup_host_children(struct cgroup_host *host, char ***out, size_t *n)
{
	const struct cg_hier *h = &host->hier[host->v2 >= 0 ? host->v2 : host->main];
	DIR *dir = opendir(h->root);
	struct dirent *e;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		char path[CG_PATH_MAX];
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		/* Our own leaf on v2 is no service. */
		if (h->supervisor && cg_join(path, sizeof(path), h->root, e->d_name) == 0 &&
		    strcmp(path, h->supervisor) == 0)
			continue;
		if (*n == cap) {
			char **p = realloc(*out, (cap = cap ? cap * 2 : 16) * sizeof(*p));
			if (!p)
				abort();
			*out = p;
		}
		(*out)[(*n)++] = xstrdup(e->d_name);
	}
	closedir(dir);
	return 0;
}

static bool cg_valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 255 || strchr(name, '/') || strchr(name, '\n'))
		return false;
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int cg_get(struct cgroup_host *host, const char *name, bool create, struct cgroup **out)
{
	struct cgroup *cg;
	bool created[CG_MAX_HIER] = { false };
	const char *mrel = host->hier[host->main].root_rel;
	int r = 0;

	if (!cg_valid_name(name))
		return -EINVAL;
	cg = xcalloc(1, sizeof(*cg));
	cg->host = host;
	cg->v2_fd = -1;
	cg->name = xstrdup(name);
	xasprintf(&cg->rel, "%s/%s", strcmp(mrel, "/") == 0 ? "" : mrel, name);

	for (size_t i = 0; i < host->nhier; i++) {
		struct cg_hier *h = &host->hier[i];
		struct stat st;
		xasprintf(&cg->dir[i], "%s/%s", h->root, name);
		if (!create) {
			if (stat(cg->dir[i], &st) < 0) {
				r = -errno;
				goto fail;
			}
			if (!S_ISDIR(st.st_mode)) {
				r = -ENOTDIR;
				goto fail;
			}
			continue;
		}
		if (mkdir(cg->dir[i], 0755) == 0) {
			created[i] = true;
		} else if (errno == EEXIST) {
			r = h->v2 ? cg_v2_populated(cg->dir[i]) : cg_has_procs(cg->dir[i]);
			if (r < 0)
				goto fail;
			if (r > 0) {
				r = -EBUSY;
				goto fail;
			}
		} else {
			r = -errno;
			goto fail;
		}
		if (h->ctrls & CG_CTRL_CPUSET) {
			r = cg_v1_cpuset_inherit(cg->dir[i], h->root);
			if (r < 0)
				goto fail;
		}
	}
	cg->fresh = create;
	for (size_t i = 0; i < host->nhier; i++)
		cg->fresh &= created[i];
	if (host->mode == CGROUP_MODE_V2) {
		cg->v2_fd = open(cg->dir[host->v2], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cg->v2_fd < 0) {
			r = -errno;
			goto fail;
		}
	}
	*out = cg;
	return 0;
fail:
	for (size_t i = 0; i < host->nhier; i++)
		if (created[i])
			(void)rmdir(cg->dir[i]);
	cgroup_free(cg);
	return r;
}

int cgroup_create(struct cgroup_host *host, const char *name, struct cgroup **out)
{
	return cg_get(host, name, true, out);
}

int cgroup_open(struct cgroup_host *host, const char *name, struct cgroup **out)
{
	return cg_get(host, name, false, out);
}

struct cgroup *cgroup_free(struct cgroup *cg)
{
	if (!cg)
		return NULL;
	if (cg->v2_fd >= 0)
		(void)close(cg->v2_fd);
	for (size_t i = 0; i < CG_MAX_HIER; i++)
		free(cg->dir[i]);
	free(cg->name);
	free(cg->rel);
	free(cg);
	return NULL;
}

int cgroup_apply(struct cgroup *cg, const struct cgroup_limits *limits, unsigned *unsupported,
		 const char **failed_knob)
{
	unsigned dummy_u;
	const char *dummy_k;

	if (!unsupported)
		unsupported = &dummy_u;
	if (!failed_knob)
		failed_knob = &dummy_k;
	*unsupported = 0;
	*failed_knob = NULL;
	int r = cg->host->ops->apply(cg, limits, unsupported, failed_knob);
	/* Later applies (set, reload) must reset what they leave unset. */
	cg->fresh = false;
	return r;
}

/* ---- slots (cgroup.h) ------------------------------------------------------ */

bool cgroup_slots_useful(const struct cgroup_host *host)
{
	for (size_t i = 0; i < host->nhier; i++)
		if (!host->hier[i].v2)
			return true;
	return false;
}

int cgroup_slot_remove(struct cgroup_host *host, const char *slot)
{
	char dir[CG_PATH_MAX];
	int ret = 0;

	for (size_t i = 0; i < host->nhier; i++) {
		const struct cg_hier *h = &host->hier[i];
		if (h->v2 || cg_join(dir, sizeof(dir), h->root, slot) < 0)
			continue;
		if (rmdir(dir) < 0 && errno != ENOENT && ret == 0)
			ret = -errno;
	}
	return ret;
}

int cgroup_slot_create(struct cgroup_host *host, const char *slot)
{
	char dir[CG_PATH_MAX];
	int r;

	if (slot[0] != '.' || !cg_valid_name(slot))
		return -EINVAL;
	for (size_t i = 0; i < host->nhier; i++) {
		const struct cg_hier *h = &host->hier[i];
		if (h->v2)
			continue;
		if ((r = cg_join(dir, sizeof(dir), h->root, slot)) < 0)
			goto fail;
		if (mkdir(dir, 0755) < 0) {
			r = -errno;
			goto fail;
		}
		if ((h->ctrls & CG_CTRL_CPUSET) && (r = cg_v1_cpuset_inherit(dir, h->root)) < 0)
			goto fail;
	}
	return 0;
fail:
	(void)cgroup_slot_remove(host, slot);
	return r;
}

/* Write tid into the tasks file of the slot (NULL: our own cgroup) in every v1 hierarchy. */
static int cg_slot_move(const struct cgroup_host *host, const char *slot, pid_t tid)
{
	char dir[CG_PATH_MAX], val[16];

	snprintf(val, sizeof(val), "%d", (int)tid);
	for (size_t i = 0; i < host->nhier; i++) {
		const struct cg_hier *h = &host->hier[i];
		int r;
		if (h->v2)
			continue;
		if (slot)
			r = cg_join(dir, sizeof(dir), h->root, slot);
		else
			r = cg_join(dir, sizeof(dir), h->mount, h->own);
		if (r < 0 || (r = cg_write(dir, "tasks", val)) < 0)
			return r;
	}
	return 0;
}

int cgroup_slot_join(const struct cgroup_host *host, const char *slot, pid_t tid)
{
	return cg_slot_move(host, slot, tid);
}

int cgroup_slot_leave(const struct cgroup_host *host, pid_t tid)
{
	return cg_slot_move(host, NULL, tid);
}

void cgroup_slots_clean(struct cgroup_host *host)
{
	for (size_t i = 0; i < host->nhier; i++) {
		const struct cg_hier *h = &host->hier[i];
		DIR *dir;
		struct dirent *e;
		if (h->v2 || !(dir = opendir(h->root)))
			continue;
		while ((e = readdir(dir)))
			if (e->d_type == DT_DIR && strncmp(e->d_name, ".slot-", 6) == 0)
				(void)unlinkat(dirfd(dir), e->d_name, AT_REMOVEDIR);
		closedir(dir);
	}
}

int cgroup_create_from_slot(struct cgroup_host *host, const char *slot, const char *name,
			    struct cgroup **out)
{
	const char *mrel = host->hier[host->main].root_rel;
	char from[CG_PATH_MAX];
	size_t moved = 0;
	bool made_v2 = false;
	struct cgroup *cg;
	int r = 0;

	if (!cg_valid_name(name) || name[0] == '.')
		return -EINVAL;
	cg = xcalloc(1, sizeof(*cg));
	cg->host = host;
	cg->v2_fd = -1;
	cg->name = xstrdup(name);
	xasprintf(&cg->rel, "%s/%s", strcmp(mrel, "/") == 0 ? "" : mrel, name);
	for (size_t i = 0; i < host->nhier; i++)
		xasprintf(&cg->dir[i], "%s/%s", host->hier[i].root, name);

	/* rename(2) refuses to replace a non-empty directory, and we want no stale one either. */
	for (; moved < host->nhier; moved++) {
		const struct cg_hier *h = &host->hier[moved];
		if (h->v2)
			continue;
		if ((r = cg_join(from, sizeof(from), h->root, slot)) < 0)
			goto fail;
		if (rename(from, cg->dir[moved]) < 0) {
			r = -errno;
			goto fail;
		}
	}
	if (host->v2 >= 0) {
		if (mkdir(cg->dir[host->v2], 0755) < 0) {
			r = -errno;
			goto fail;
		}
		made_v2 = true;
		cg->v2_fd = open(cg->dir[host->v2], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cg->v2_fd < 0) {
			r = -errno;
			goto fail;
		}
	}
	cg->fresh = cg->placed = true;
	*out = cg;
	return 0;
fail:
	if (made_v2)
		(void)rmdir(cg->dir[host->v2]);
	while (moved-- > 0) {
		const struct cg_hier *h = &host->hier[moved];
		if (!h->v2 && cg_join(from, sizeof(from), h->root, slot) == 0)
			(void)rename(cg->dir[moved], from);
	}
	cgroup_free(cg);
	return r;
}

int cgroup_v2_fd(const struct cgroup *cg)
{
	return cg->v2_fd;
}

bool cgroup_needs_attach(const struct cgroup *cg)
{
	return cg->host->mode != CGROUP_MODE_V2 && !cg->placed;
}

int cgroup_attach(struct cgroup *cg, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->host->nhier; i++) {
		int r = cg_write(cg->dir[i], "cgroup.procs", buf);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The v2 directory that has cgroup.freeze / cgroup.kill, or NULL. */
static const char *cg_v2_dir(const struct cgroup *cg)
{
	return cg->host->v2 >= 0 ? cg->dir[cg->host->v2] : NULL;
}

int cgroup_freeze(struct cgroup *cg, bool frozen)
{
	const char *v2 = cg_v2_dir(cg);
	int f = cg_hier_with(cg->host, CG_CTRL_FREEZER);

	if (v2) {
		int r = cg_v2_freeze(v2, frozen);
		if (r != -ENOENT)
			return r;
	}
	if (f >= 0)
		return cg_v1_freeze(cg->dir[f], frozen);
	return -EOPNOTSUPP;
}

bool cgroup_frozen(struct cgroup *cg)
{
	const char *v2 = cg_v2_dir(cg);
	int f = cg_hier_with(cg->host, CG_CTRL_FREEZER);
	char buf[16];

	if (v2 && cg_read(v2, "cgroup.freeze", buf, sizeof(buf)) >= 0)
		return strcmp(buf, "1") == 0;
	/* FREEZING counts: the freeze was asked for. */
	return f >= 0 && cg_v1_frozen(cg->dir[f], false) == 0;
}

int cgroup_freeze_settled(struct cgroup *cg, bool frozen)
{
	const char *v2 = cg_v2_dir(cg);
	int f = cg_hier_with(cg->host, CG_CTRL_FREEZER);
	long long v;

	if (v2 && cg_exists(v2, "cgroup.freeze"))
		/* No cgroup.events to tell: nothing to wait for. */
		return cg_read_key(v2, "cgroup.events", "frozen", &v) < 0 ? 1 : (v != 0) == frozen;
	if (f >= 0)
		return cg_v1_frozen(cg->dir[f], frozen);
	return 1;
}

/* Signal every pid listed in cgroup.procs of hierarchy i; -ENOENT when it lists none. */
static int cg_signal_procs(struct cgroup *cg, size_t i, int sig)
{
	char path[CG_PATH_MAX], line[32];
	_cleanup_fclose_ FILE *f = NULL;
	int r = cg_join(path, sizeof(path), cg->dir[i], "cgroup.procs"), ret = -ENOENT;

	if (r < 0)
		return r;
	if (!(f = fopen(path, "re")))
		return -errno;
	while (cg_getline(f, line, sizeof(line))) {
		long pid = strtol(line, NULL, 10);
		/* Never signal init or ourselves, even if someone put us in there. */
		if (pid <= 1 || pid == (long)getpid())
			continue;
		if (ret == -ENOENT)
			ret = 0;
		if (kill((pid_t)pid, sig) < 0 && errno != ESRCH)
			ret = -errno;
	}
	return ret;
}

int cgroup_pids(struct cgroup *cg, pid_t **out, size_t *n)
{
	size_t i = (size_t)(cg->host->v2 >= 0 ? cg->host->v2 : cg->host->main), cap = 0;
	char path[CG_PATH_MAX], line[32];
	_cleanup_fclose_ FILE *f = NULL;
	int r = cg_join(path, sizeof(path), cg->dir[i], "cgroup.procs");

	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	if (!(f = fopen(path, "re")))
		return -errno;
	while (cg_getline(f, line, sizeof(line))) {
		long pid = strtol(line, NULL, 10);
		if (pid <= 0)
			continue;
		if (*n == cap) {
			pid_t *p = realloc(*out, (cap = cap ? cap * 2 : 16) * sizeof(*p));
			if (!p) {
				free(*out);
				*out = NULL;
				*n = 0;
				return -ENOMEM;
			}
			*out = p;
		}
		(*out)[(*n)++] = (pid_t)pid;
	}
	return 0;
}

/* Index of the hierarchy whose cgroup.procs we read: the v2 one, else the main one. */
static size_t cg_procs_hier(const struct cgroup *cg)
{
	return (size_t)(cg->host->v2 >= 0 ? cg->host->v2 : cg->host->main);
}

int cgroup_signal_all(struct cgroup *cg, int sig)
{
	int r = cg_signal_procs(cg, cg_procs_hier(cg), sig);

	return r == -ENOENT ? 0 : r;
}

/* SIGKILL what every hierarchy lists, at once: for processes outside the main list only. */
static int cg_kill_others(struct cgroup *cg)
{
	size_t first = cg_procs_hier(cg);
	int r = 0;

	for (size_t i = 0; i < cg->host->nhier; i++) {
		int k = i == first ? -ENOENT : cg_signal_procs(cg, i, SIGKILL);
		if (k < 0 && k != -ENOENT)
			r = k;
	}
	return r;
}

static int cg_pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/*
 * SIGKILL the listed pids from cg->kill_next on, in pid order, for at most
 * CG_KILL_BUDGET_US: each kill wakes its task, and 2,000 of them at once
 * cost the loop ~85 ms on a 2-core host. 1 while the pass goes on, 0 when
 * it reached the end of the list.
 */
static int cg_kill_batch(struct cgroup *cg, pid_t *pids, size_t n)
{
	uint64_t t0 = now_us();
	size_t i = 0, k = 0;

	qsort(pids, n, sizeof(*pids), cg_pid_cmp);
	while (i < n && pids[i] < cg->kill_next)
		i++;
	for (; i < n; i++) {
		/* Never signal init or ourselves, even if someone put us in there. */
		if (pids[i] > 1 && pids[i] != getpid())
			(void)kill(pids[i], SIGKILL);
		if (++k % 8 == 0 && now_us() - t0 >= CG_KILL_BUDGET_US && i + 1 < n) {
			cg->kill_next = pids[i + 1];
			return 1;
		}
	}
	cg->kill_next = 0;
	return 0;
}

int cgroup_kill_step(struct cgroup *cg)
{
	const char *v2 = cg_v2_dir(cg);
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int r = cgroup_is_empty(cg);

	if (r != 0) {
		if (cg->kill_froze) /* emptied while we froze it: leave it as we found it */
			(void)cgroup_freeze(cg, false);
		cg->kill_froze = cg->kill_freeze = false;
		cg->kill_next = 0;
		cg->kill_pass = 0;
		return r < 0 ? r : 0;
	}
	if (v2 && !cg->host->no_kill) {
		r = cg_v2_kill(v2);
		if (r != -ENOENT)
			return r < 0 ? r : 1;
	}
	/*
	 * No cgroup.kill: passes over cgroup.procs in pid order, a batch per
	 * step. A SIGKILLed task cannot fork any more, so passes converge
	 * unless something forks as fast as we kill: when a pass starts with
	 * no fewer processes than the one before, the following passes
	 * freeze first (not always: freezing 2,000 tasks costs ~15 ms itself),
	 * wait up to CG_SETTLE_STEPS steps for the freeze to settle (D state
	 * never freezes), kill, and thaw at the end of the pass so that v1
	 * frozen tasks can act on their SIGKILL.
	 */
	if ((r = cgroup_pids(cg, &pids, &n)) < 0)
		return r;
	if (n == 0) /* only in other hierarchies: someone moved them */
		return (r = cg_kill_others(cg)) < 0 ? r : 1;
	if (cg->kill_next == 0) {
		if (cg->kill_pass && n >= cg->kill_pass)
			cg->kill_freeze = true;
		cg->kill_pass = n;
	}
	if (cg->kill_freeze && !cg->kill_froze) {
		cg->kill_froze = cgroup_freeze(cg, true) == 0;
		cg->kill_waits = 0;
	}
	if (cg->kill_froze && cgroup_freeze_settled(cg, true) == 0 &&
	    cg->kill_waits++ < CG_SETTLE_STEPS)
		return 1;
	if (cg_kill_batch(cg, pids, n) == 0 && cg->kill_froze) {
		(void)cgroup_freeze(cg, false);
		cg->kill_froze = false;
	}
	return 1;
}

int cgroup_is_empty(struct cgroup *cg)
{
	for (size_t i = 0; i < cg->host->nhier; i++) {
		const struct cg_hier *h = &cg->host->hier[i];
		int r = h->v2 ? cg_v2_populated(cg->dir[i]) : cg_has_procs(cg->dir[i]);
		if (r < 0)
			return r;
		if (r > 0)
			return 0;
	}
	return 1;
}

int cgroup_destroy(struct cgroup *cg)
{
	int ret = 0;

	for (size_t i = cg->host->nhier; i-- > 0;) {
		if (rmdir(cg->dir[i]) == 0 || errno == ENOENT)
			continue;
		if (ret == 0 || errno == EBUSY)
			ret = -errno;
	}
	return ret;
}

const char *cgroup_path(const struct cgroup *cg)
{
	return cg->rel;
}

int cgroup_host_pid_path(const struct cgroup_host *host, pid_t pid, char *buf, size_t len)
{
	const struct cg_hier *h = &host->hier[host->main];
	char file[64], line[CG_LINE_MAX];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	if (!(f = fopen(file, "re")))
		return -errno;
	while (cg_getline(f, line, sizeof(line))) {
		char *c1 = strchr(line, ':'), *c2;
		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c1 = *c2 = '\0';
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		bool match = h->v2 ? (strcmp(line, "0") == 0 && c1[1] == '\0')
				   : (cg_parse_v1_list(c1 + 1) == h->ctrls);
		if (match && c2[1] == '/')
			return cg_normalize(c2 + 1, buf, len);
	}
	return -ENOENT;
}

bool cgroup_path_within(const struct cgroup *cg, const char *path)
{
	return cg_is_under(path, cg->rel);
}

int cgroup_read_knob(struct cgroup *cg, const char *knob, char *buf, size_t len)
{
	if (!len)
		return -EINVAL;
	if (strchr(knob, '/') || knob[0] == '.')
		return -EINVAL;
	return cg->host->ops->read_knob(cg, knob, buf, len);
}

const char *cgroup_dir(const struct cgroup *cg, const char *controller)
{
	const struct cgroup_host *host = cg->host;
	unsigned bits;

	if (host->v2 >= 0 && (host->mode == CGROUP_MODE_V2 || strcmp(controller, "unified") == 0))
		return cg->dir[host->v2];
	bits = cg_parse_v1_list(controller);
	if (!bits)
		return NULL;
	for (size_t i = 0; i < host->nhier; i++)
		if (!host->hier[i].v2 && (host->hier[i].ctrls & bits))
			return cg->dir[i];
	return NULL;
}

int cgroup_reclaim(struct cgroup *cg, uint64_t bytes)
{
	const struct cgroup_host *host = cg->host;
	char val[32];
	const char *dir;

	/* Only v2 has memory.reclaim; v1 reclaims by itself when the limit is lowered. */
	if (host->mode != CGROUP_MODE_V2 || host->v2 < 0)
		return -EOPNOTSUPP;
	dir = cg->dir[host->v2];
	if (!cg_exists(dir, "memory.reclaim"))
		return -EOPNOTSUPP;
	snprintf(val, sizeof(val), "%llu", (unsigned long long)bytes);
	/* EAGAIN: the kernel could not reclaim all of it; the caller re-reads usage. */
	return cg_write(dir, "memory.reclaim", val);
}
