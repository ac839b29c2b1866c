/*
 * spec-iodev.c - resources.io.max, resources.hugetlb, resources.cpu.mems and isolation.devices.
 * Syntax only: whether a path is a block device, or a page size exists on
 * this host, is learned when the service starts (the host may change).
 */
#include <stdlib.h>
#include <string.h>

#include "spec-internal.h"
#include "units.h"

#define SPEC_MAX_IO_MAX 16
#define SPEC_MAX_HUGETLB 8
#define SPEC_MAX_DEVICES 64

/* Absolute, under /dev/, no "." or ".." component, no "//". */
static bool dev_path_ok(const char *s)
{
	if (strncmp(s, "/dev/", 5) != 0 || !s[5])
		return false;
	for (const char *q = s + 5; *q;) {
		size_t n = strcspn(q, "/");
		if (n == 0 || (n == 1 && q[0] == '.') || (n == 2 && q[0] == '.' && q[1] == '.'))
			return false;
		q += n;
		if (*q == '/' && !*++q)
			return false; /* trailing slash */
	}
	return true;
}

/* A byte rate ("1M", "max") or a count ("100", "max"); "max" -> SPEC_SIZE_MAX. */
static bool io_value(struct yctx *c, const struct ynode *x, const char *what, bool bytes,
		     uint64_t *out)
{
	const char *str = y_scalar(c, x, what), *why = "invalid";
	char q[80];

	if (!str)
		return false;
	if (strcmp(str, "max") == 0) {
		*out = SPEC_SIZE_MAX;
		return true;
	}
	if (!bytes)
		return y_uint(c, x, what, 1, UINT64_MAX - 2, out);
	/* mem_total 0: a percentage of memory means nothing for a rate. */
	if (units_parse_size(str, 0, out, &why) < 0) {
		y_err(c, x, "invalid size '%s' for '%s': %s", y_quote(x, q, sizeof(q)), what, why);
		return false;
	}
	if (*out == 0) {
		y_err(c, x, "'%s' must be above 0 (write max for no limit)", what);
		return false;
	}
	return true;
}

void parse_io_max(struct sp *p, const struct ynode *v)
{
	static const char *const keys[] = { "rbps", "wbps", "riops", "wiops", NULL };
	struct yctx *c = p->c;
	struct service_spec *s = p->s;
	char what[64], q[80];

	if (!y_want(c, v, YNODE_MAPPING, "resources.io.max"))
		return;
	if (v->n > SPEC_MAX_IO_MAX) {
		y_err(c, v, "'resources.io.max' lists %zu devices; at most %d", v->n,
		      SPEC_MAX_IO_MAX);
		return;
	}
	s->io_max = calloc(v->n ? v->n : 1, sizeof(*s->io_max));
	if (!s->io_max) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct ypair *pr = &v->pairs[i];
		const struct ynode *dev = pr->key, *m = pr->value;
		struct spec_io_max io = { NULL,	      SPEC_UNSET, SPEC_UNSET, SPEC_UNSET,
					  SPEC_UNSET, dev->line,  dev->column };
		uint64_t *fields[] = { &io.rbps, &io.wbps, &io.riops, &io.wiops };
		bool any = false, bad = false;

		if (!y_pair_ok(pr))
			continue;
		if (dev->type != YNODE_SCALAR || !dev_path_ok(dev->value)) {
			y_err(
			    c, dev,
			    "'resources.io.max' key '%s' must be a block device's path under /dev/",
			    y_quote(dev, q, sizeof(q)));
			continue;
		}
		if (pr->dup_of) {
			y_err(c, dev, "device '%s' is listed twice in 'resources.io.max'",
			      dev->value);
			continue;
		}
		snprintf(what, sizeof(what), "resources.io.max.%.40s", dev->value);
		if (!y_want(c, m, YNODE_MAPPING, what))
			continue;
		y_check_keys(c, m, "in 'resources.io.max'", keys);
		for (size_t k = 0; keys[k]; k++) {
			const struct ynode *x = y_get(m, keys[k], NULL);
			snprintf(what, sizeof(what), "resources.io.max.%.40s.%s", dev->value,
				 keys[k]);
			if (!y_is_null(x) &&
			    !(io_value(c, x, what, k < 2, fields[k]) ? (any = true) : (bad = true)))
				continue;
		}
		if (!any && !bad)
			y_err(c, m, "'resources.io.max.%s' sets none of rbps, wbps, riops, wiops",
			      dev->value);
		if (!any || bad)
			continue;
		if (!(io.device = y_strdup(c, dev->value)))
			return;
		s->io_max[s->nio_max++] = io;
	}
}

/* "64KB", "2MB", "1GB": a power of two and a unit, as hugetlb.<size>.max names it. */
static bool pagesize_ok(const char *s)
{
	char *end;
	unsigned long n = strtoul(s, &end, 10);

	if (end == s || s[0] == '0' || n == 0 || (n & (n - 1)) != 0 || n >= 1024)
		return false;
	return strcmp(end, "KB") == 0 || strcmp(end, "MB") == 0 || strcmp(end, "GB") == 0;
}

void parse_hugetlb(struct sp *p, const struct ynode *v)
{
	struct yctx *c = p->c;
	struct service_spec *s = p->s;
	char what[64], q[80];

	if (!y_want(c, v, YNODE_MAPPING, "resources.hugetlb"))
		return;
	if (v->n > SPEC_MAX_HUGETLB) {
		y_err(c, v, "'resources.hugetlb' lists %zu page sizes; at most %d", v->n,
		      SPEC_MAX_HUGETLB);
		return;
	}
	s->hugetlb = calloc(v->n ? v->n : 1, sizeof(*s->hugetlb));
	if (!s->hugetlb) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct ypair *pr = &v->pairs[i];
		const struct ynode *k = pr->key;
		struct spec_hugetlb h = { NULL, 0 };

		if (!y_pair_ok(pr))
			continue;
		if (k->type != YNODE_SCALAR || !pagesize_ok(k->value)) {
			y_err(c, k,
			      "'resources.hugetlb' key '%s' must be a huge page size as the kernel "
			      "names it (64KB, 2MB, 1GB...)",
			      y_quote(k, q, sizeof(q)));
			continue;
		}
		if (pr->dup_of) {
			y_err(c, k, "page size '%s' is listed twice in 'resources.hugetlb'",
			      k->value);
			continue;
		}
		snprintf(what, sizeof(what), "resources.hugetlb.%s", k->value);
		if (!io_value(c, pr->value, what, true, &h.max))
			continue;
		if (!(h.pagesize = y_strdup(c, k->value)))
			return;
		s->hugetlb[s->nhugetlb++] = h;
	}
}

void parse_cpu_mems(struct sp *p, const struct ynode *v)
{
	struct yctx *c = p->c;
	const char *str = y_scalar(c, v, "resources.cpu.mems"), *why = "invalid";
	char q[80];

	if (!str)
		return;
	if (units_check_cpuset(str, &why) < 0)
		y_err(c, v, "invalid NUMA node list '%s' for 'resources.cpu.mems': %s",
		      y_quote(v, q, sizeof(q)), why);
	else
		y_string(c, v, "resources.cpu.mems", false, &p->s->cpu_mems);
}

/* One item: "/dev/fuse" or {path: /dev/fuse, access: rw}. */
static void parse_device(struct sp *p, const struct ynode *it, struct spec_device *d)
{
	static const char *const keys[] = { "path", "access", NULL };
	struct yctx *c = p->c;
	const struct ynode *path = it, *access = NULL;
	char q[80];

	d->line = it->line;
	d->column = it->column;
	d->read = d->write = d->mknod = true;
	if (it->type == YNODE_MAPPING) {
		y_check_keys(c, it, "in 'isolation.devices'", keys);
		path = y_get(it, "path", NULL);
		access = y_get(it, "access", NULL);
		if (y_is_null(path)) {
			y_err(c, it, "'isolation.devices' item needs a 'path'");
			return;
		}
	}
	if (!y_scalar(c, path, "isolation.devices path"))
		return;
	if (!dev_path_ok(path->value)) {
		y_err(c, path, "device '%s' must be an absolute path under /dev/",
		      y_quote(path, q, sizeof(q)));
		return;
	}
	if (!y_is_null(access)) {
		const char *a = y_scalar(c, access, "isolation.devices access");
		bool seen[3] = { false, false, false };
		if (!a)
			return;
		for (const char *x = a; *x; x++) {
			const char *at = strchr("rwm", *x);
			if (!at || seen[at - "rwm"]) {
				y_err(c, access,
				      "access '%s' for device '%s' must be letters of 'rwm', each "
				      "once",
				      y_quote(access, q, sizeof(q)), path->value);
				return;
			}
			seen[at - "rwm"] = true;
		}
		if (!*a) {
			y_err(c, access, "access for device '%s' is empty", path->value);
			return;
		}
		d->read = seen[0];
		d->write = seen[1];
		d->mknod = seen[2];
	}
	for (size_t i = 0; i < p->s->ndevices; i++)
		if (strcmp(p->s->devices[i].path, path->value) == 0) {
			y_err(c, path, "device '%s' is listed twice in 'isolation.devices'",
			      path->value);
			return;
		}
	d->path = y_strdup(c, path->value);
}

void parse_devices(struct sp *p, const struct ynode *v)
{
	struct yctx *c = p->c;
	struct service_spec *s = p->s;

	if (!y_want(c, v, YNODE_SEQUENCE, "isolation.devices"))
		return;
	if (v->n > SPEC_MAX_DEVICES) {
		y_err(c, v, "'isolation.devices' lists %zu devices; at most %d", v->n,
		      SPEC_MAX_DEVICES);
		return;
	}
	s->devices = calloc(v->n ? v->n : 1, sizeof(*s->devices));
	if (!s->devices) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		struct spec_device d = { 0 };
		parse_device(p, v->items[i], &d);
		if (d.path)
			s->devices[s->ndevices++] = d;
	}
}
