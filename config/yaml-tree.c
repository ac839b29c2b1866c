/*
 * yaml-tree.c - build a bounded node tree from libyaml parser events, and
 * the typed accessors shared by the spec and daemon config parsers.
 *
 * Bounds (config.h): nesting depth, scalar length and node count with
 * aliases expanded. Aliases are not copied: an alias points at its anchor's
 * node and adds that node's weight (subtree size) to the running count, so
 * a "billion laughs" document is refused after a few thousand events, in
 * microseconds. Nodes live in one owner array, freed together. YAML merge
 * keys ('<<: *base') are resolved as each mapping closes, sharing nodes
 * the same way.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, vasprintf */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "units.h"
#include "yaml-tree.h"

#define ANCHOR_BUCKETS 1024

struct anchor {
	char *name;
	struct ynode *node;
	struct anchor *next;
};

struct builder {
	struct ytree *t;
	const char *file;
	const char *buf;
	size_t len;
	struct config_errors *errs;
	struct ynode *stack[CONFIG_MAX_DEPTH + 1];
	size_t depth;
	size_t nodes; /* running count, aliases expanded */
	int ndocs;
	struct anchor *anchors[ANCHOR_BUCKETS];
};

static int mark_line(const yaml_mark_t *m)
{
	return (int)m->line + 1;
}

static int mark_col(const yaml_mark_t *m)
{
	return (int)m->column + 1;
}

static unsigned anchor_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % ANCHOR_BUCKETS;
}

struct ynode *ytree_node_new(struct ytree *t, enum ynode_type type, int line, int column)
{
	struct ynode *n;

	if (t->nall == t->capall) {
		size_t cap = t->capall ? t->capall * 2 : 64;
		struct ynode **all = realloc(t->all, cap * sizeof(*all));

		if (!all)
			return NULL;
		t->all = all;
		t->capall = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->type = type;
	n->line = line;
	n->column = column;
	n->weight = 1;
	t->all[t->nall++] = n;
	return n;
}

static struct ynode *node_new(struct builder *b, enum ynode_type type, const yaml_mark_t *m)
{
	return ytree_node_new(b->t, type, mark_line(m), mark_col(m));
}

/* Attach child to the innermost open collection (or make it the root). */
static int attach(struct builder *b, struct ynode *child)
{
	struct ynode *parent;

	if (b->depth == 0) {
		b->t->root = child;
		return 0;
	}
	parent = b->stack[b->depth - 1];
	if (parent->type == YNODE_SEQUENCE) {
		if (parent->n == parent->cap) {
			size_t cap = parent->cap ? parent->cap * 2 : 4;
			struct ynode **items = realloc(parent->items, cap * sizeof(*items));

			if (!items)
				return -ENOMEM;
			parent->items = items;
			parent->cap = cap;
		}
		parent->items[parent->n++] = child;
	} else {
		if (parent->n > 0 && !parent->pairs[parent->n - 1].value) {
			parent->pairs[parent->n - 1].value = child;
		} else {
			if (parent->n == parent->cap) {
				size_t cap = parent->cap ? parent->cap * 2 : 4;
				struct ypair *pairs = realloc(parent->pairs, cap * sizeof(*pairs));

				if (!pairs)
					return -ENOMEM;
				parent->pairs = pairs;
				parent->cap = cap;
			}
			parent->pairs[parent->n++] = (struct ypair){ .key = child };
		}
	}
	return 0;
}

static int add_anchor(struct builder *b, const char *name, struct ynode *node)
{
	struct anchor *a = calloc(1, sizeof(*a));
	unsigned h = anchor_hash(name);

	if (!a)
		return -ENOMEM;
	a->name = strdup(name);
	if (!a->name) {
		free(a);
		return -ENOMEM;
	}
	a->node = node;
	/* Newest first: a redefined anchor shadows the older one, as YAML says. */
	a->next = b->anchors[h];
	b->anchors[h] = a;
	return 0;
}

static struct ynode *find_anchor(struct builder *b, const char *name)
{
	for (struct anchor *a = b->anchors[anchor_hash(name)]; a; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a->node;
	return NULL;
}

static int key_cmp(const void *x, const void *y)
{
	const struct ypair *const *a = x, *const *b = y;
	int r = strcmp((*a)->key->value, (*b)->key->value);

	if (r)
		return r;
	return *a < *b ? -1 : *a > *b;
}

/* Mark later duplicates of a key; O(n log n) so huge maps stay cheap. */
static int find_duplicates(struct ynode *map)
{
	struct ypair **v;
	size_t n = 0;

	if (map->n < 2)
		return 0;
	v = malloc(map->n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < map->n; i++)
		if (map->pairs[i].key->type == YNODE_SCALAR)
			v[n++] = &map->pairs[i];
	qsort(v, n, sizeof(*v), key_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i]->key->value, v[i - 1]->key->value) == 0)
			v[i]->dup_of = v[i - 1]->dup_of ? v[i - 1]->dup_of : v[i - 1]->key;
	}
	free(v);
	return 0;
}

/* A plain, untagged '<<' key: YAML's merge key. */
static bool is_merge_key(const struct ynode *k)
{
	return k->type == YNODE_SCALAR && k->plain && strcmp(k->value, "<<") == 0;
}

struct merged {
	struct ypair pair;
	size_t src; /* 0: written in the mapping itself; 1, 2, ...: merge sources in order */
	bool drop;
};

static int merged_cmp(const void *x, const void *y)
{
	const struct merged *a = *(const struct merged *const *)x;
	const struct merged *b = *(const struct merged *const *)y;
	int r = strcmp(a->pair.key->value, b->pair.key->value);

	if (r)
		return r;
	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	return a < b ? -1 : a > b;
}

/*
 * At the bad value when it is written after the key; an alias's node is
 * its anchor's, written earlier, so then at the '<<' that uses it.
 */
static void merge_error(struct builder *b, const struct ynode *key, const struct ynode *bad,
			bool item)
{
	const struct ynode *at = bad;

	if (bad->line < key->line || (bad->line == key->line && bad->column < key->column))
		at = key;
	config_errors_add(b->errs, b->file, at->line, at->column,
			  "'<<' (a YAML merge) takes a mapping or a list of mappings, not %s%s",
			  item ? "a list holding " : "", y_kind(bad));
}

/*
 * Replace '<<: *a' and '<<: [*a, *b]' in map by the pairs of the merged
 * mappings, at the place of the '<<', as the YAML merge key says: keys
 * written in map win, then earlier sources over later ones. A key that
 * only overrides a merged one is no duplicate; one written twice still
 * is (dup_of kept). Merged pairs share their nodes: the aliases already
 * added them to the node count, so '<<' cannot grow a document further.
 * O(n log n) in the pairs. 0, -EINVAL (reported) or -ENOMEM.
 */
static int resolve_merges(struct builder *b, struct ynode *map)
{
	struct merged *m, **v;
	struct ypair *pairs;
	size_t total = 0, nmerge = 0, k = 0, nv = 0, kept = 0, src = 0;

	for (size_t i = 0; i < map->n; i++) {
		const struct ypair *p = &map->pairs[i];
		const struct ynode *val = p->value;

		if (!is_merge_key(p->key)) {
			total++;
			continue;
		}
		if (p->dup_of) {
			config_errors_add(b->errs, b->file, p->key->line, p->key->column,
					  "more than one '<<' in a mapping (first at line %d, "
					  "column %d); merge several with '<<: [*a, *b]'",
					  p->dup_of->line, p->dup_of->column);
			return -EINVAL;
		}
		nmerge++;
		if (val->type == YNODE_MAPPING) {
			total += val->n;
			continue;
		}
		if (val->type != YNODE_SEQUENCE || val->n == 0) {
			merge_error(b, p->key, val, false);
			return -EINVAL;
		}
		for (size_t j = 0; j < val->n; j++) {
			if (val->items[j]->type != YNODE_MAPPING) {
				merge_error(b, p->key, val->items[j], true);
				return -EINVAL;
			}
			total += val->items[j]->n;
		}
	}
	if (nmerge == 0)
		return 0;
	m = calloc(total + 1, sizeof(*m));
	v = malloc((total + 1) * sizeof(*v));
	pairs = malloc((total + 1) * sizeof(*pairs));
	if (!m || !v || !pairs) {
		free(m);
		free(v);
		free(pairs);
		return -ENOMEM;
	}
	/* In result order: each '<<' stands for its sources' pairs. */
	for (size_t i = 0; i < map->n; i++) {
		const struct ynode *val = map->pairs[i].value;
		size_t nsrc = val->type == YNODE_SEQUENCE ? val->n : 1;

		if (!is_merge_key(map->pairs[i].key)) {
			m[k++] = (struct merged){ .pair = map->pairs[i] };
			continue;
		}
		for (size_t j = 0; j < nsrc; j++) {
			const struct ynode *from =
			    val->type == YNODE_SEQUENCE ? val->items[j] : val;

			src++;
			for (size_t x = 0; x < from->n; x++)
				m[k++] = (struct merged){ .pair = from->pairs[x], .src = src };
		}
	}
	for (size_t i = 0; i < total; i++)
		if (m[i].pair.key->type == YNODE_SCALAR)
			v[nv++] = &m[i];
	qsort(v, nv, sizeof(*v), merged_cmp);
	for (size_t i = 1, first = 0; i < nv; i++) {
		if (strcmp(v[i]->pair.key->value, v[first]->pair.key->value) != 0)
			first = i;
		else
			v[i]->drop = v[i]->src != v[first]->src;
	}
	for (size_t i = 0; i < total; i++)
		if (!m[i].drop)
			pairs[kept++] = m[i].pair;
	free(map->pairs);
	map->pairs = pairs;
	map->n = kept;
	map->cap = total + 1;
	free(m);
	free(v);
	return 0;
}

static void close_node(struct builder *b)
{
	struct ynode *n = b->stack[--b->depth];

	n->open = false;
	if (n->type == YNODE_SEQUENCE) {
		for (size_t i = 0; i < n->n; i++)
			n->weight += n->items[i]->weight;
	} else {
		for (size_t i = 0; i < n->n; i++)
			n->weight += n->pairs[i].key->weight +
				     (n->pairs[i].value ? n->pairs[i].value->weight : 0);
	}
}

/* Line:column of a byte offset, for reader errors that only have an offset. */
static void offset_to_mark(const char *buf, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static void parser_error(struct builder *b, const yaml_parser_t *p)
{
	int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		config_errors_add(b->errs, b->file, 0, 0, "out of memory while parsing YAML");
		break;
	case YAML_READER_ERROR:
		offset_to_mark(b->buf, b->len, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			config_errors_add(b->errs, b->file, line, col, "invalid input: %s (#%X)",
					  p->problem ? p->problem : "unreadable",
					  (unsigned)p->problem_value);
		else
			config_errors_add(b->errs, b->file, line, col, "invalid input: %s",
					  p->problem ? p->problem : "unreadable");
		break;
	default:
		if (p->context)
			config_errors_add(b->errs, b->file, mark_line(&p->problem_mark),
					  mark_col(&p->problem_mark),
					  "YAML syntax error: %s (%s at line %d, column %d)",
					  p->problem ? p->problem : "unknown problem", p->context,
					  mark_line(&p->context_mark), mark_col(&p->context_mark));
		else
			config_errors_add(b->errs, b->file, mark_line(&p->problem_mark),
					  mark_col(&p->problem_mark), "YAML syntax error: %s",
					  p->problem ? p->problem : "unknown problem");
		break;
	}
}

/* Handle one event. 1 = done, 0 = continue, <0 = error (reported). */
static int handle_event(struct builder *b, yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	struct ynode *n = NULL;
	const char *anchor = NULL;
	int r;

	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->ndocs > 1) {
			config_errors_add(b->errs, b->file, mark_line(m), mark_col(m),
					  "more than one YAML document in a file");
			return -EINVAL;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		n = find_anchor(b, (const char *)ev->data.alias.anchor);
		if (!n) {
			config_errors_add(b->errs, b->file, mark_line(m), mark_col(m),
					  "undefined alias '*%.64s'", ev->data.alias.anchor);
			return -EINVAL;
		}
		if (n->open) {
			config_errors_add(b->errs, b->file, mark_line(m), mark_col(m),
					  "alias '*%.64s' refers to a node that contains it",
					  ev->data.alias.anchor);
			return -EINVAL;
		}
		if (n->weight > CONFIG_MAX_NODES - b->nodes) {
			config_errors_add(b->errs, b->file, mark_line(m), mark_col(m),
					  "document too large: more than %d nodes with aliases "
					  "expanded",
					  CONFIG_MAX_NODES);
			return -EINVAL;
		}
		b->nodes += n->weight;
		return attach(b, n) < 0 ? -ENOMEM : 0;
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.length > CONFIG_MAX_SCALAR) {
			config_errors_add(b->errs, b->file, mark_line(m), mark_col(m),
					  "value too long (%zu bytes, at most %d)",
					  ev->data.scalar.length, CONFIG_MAX_SCALAR);
			return -EINVAL;
		}
		if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length)) {
			config_errors_add(b->errs, b->file, mark_line(m), mark_col(m),
					  "value contains a NUL character");
			return -EINVAL;
		}
		anchor = (const char *)ev->data.scalar.anchor;
		n = node_new(b, YNODE_SCALAR, m);
		if (!n)
			return -ENOMEM;
		n->value = malloc(ev->data.scalar.length + 1);
		if (!n->value)
			return -ENOMEM;
		memcpy(n->value, ev->data.scalar.value, ev->data.scalar.length);
		n->value[ev->data.scalar.length] = '\0';
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
		n->one_line = ev->end_mark.line == ev->start_mark.line;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (b->depth >= CONFIG_MAX_DEPTH) {
			config_errors_add(b->errs, b->file, mark_line(m), mark_col(m),
					  "nesting too deep (more than %d levels)",
					  CONFIG_MAX_DEPTH);
			return -EINVAL;
		}
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			anchor = (const char *)ev->data.sequence_start.anchor;
			n = node_new(b, YNODE_SEQUENCE, m);
		} else {
			anchor = (const char *)ev->data.mapping_start.anchor;
			n = node_new(b, YNODE_MAPPING, m);
		}
		if (!n)
			return -ENOMEM;
		n->open = true;
		break;
	case YAML_SEQUENCE_END_EVENT:
		close_node(b);
		return 0;
	case YAML_MAPPING_END_EVENT:
		if (find_duplicates(b->stack[b->depth - 1]) < 0)
			return -ENOMEM;
		r = resolve_merges(b, b->stack[b->depth - 1]);
		if (r < 0)
			return r;
		close_node(b);
		return 0;
	default:
		return 0;
	}

	if (++b->nodes > CONFIG_MAX_NODES) {
		config_errors_add(b->errs, b->file, mark_line(m), mark_col(m),
				  "document too large: more than %d nodes", CONFIG_MAX_NODES);
		return -EINVAL;
	}
	r = attach(b, n);
	if (r < 0)
		return r;
	if (anchor && add_anchor(b, anchor, n) < 0)
		return -ENOMEM;
	if (n->type != YNODE_SCALAR)
		b->stack[b->depth++] = n;
	return 0;
}

int ytree_parse(struct ytree *t, const char *file, const char *buf, size_t len,
		struct config_errors *errs)
{
	struct builder b = { .t = t, .file = file, .buf = buf, .len = len, .errs = errs };
	yaml_parser_t p;
	int r = 0;

	memset(t, 0, sizeof(*t));
	if (len > CONFIG_MAX_FILE_SIZE) {
		config_errors_add(errs, file, 0, 0, "file too large (%zu bytes, at most %d)", len,
				  CONFIG_MAX_FILE_SIZE);
		return -EFBIG;
	}
	if (!yaml_parser_initialize(&p)) {
		config_errors_add(errs, file, 0, 0, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (;;) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&p, &ev)) {
			parser_error(&b, &p);
			r = p.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
			break;
		}
		r = handle_event(&b, &ev);
		yaml_event_delete(&ev);
		if (r == -ENOMEM)
			config_errors_add(errs, file, 0, 0, "out of memory");
		if (r != 0)
			break;
	}
	yaml_parser_delete(&p);
	for (size_t i = 0; i < ANCHOR_BUCKETS; i++) {
		while (b.anchors[i]) {
			struct anchor *a = b.anchors[i];

			b.anchors[i] = a->next;
			free(a->name);
			free(a);
		}
	}
	if (r < 0) {
		ytree_free(t);
		return r;
	}
	return 0;
}

void ytree_free(struct ytree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nall; i++) {
		free(t->all[i]->value);
		free(t->all[i]->items);
		free(t->all[i]->pairs);
		free(t->all[i]);
	}
	free(t->all);
	memset(t, 0, sizeof(*t));
}

int config_read_file(const char *path, char **bufp, size_t *lenp, struct config_errors *errs)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	int fd, r;

	*bufp = NULL;
	*lenp = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not hang us */
	if (fd < 0) {
		r = -errno;
		config_errors_add(errs, path, 0, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		config_errors_add(errs, path, 0, 0, "cannot stat: %s", strerror(-r));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		config_errors_add(errs, path, 0, 0, "not a regular file");
		goto out_close;
	}
	if (st.st_size > CONFIG_MAX_FILE_SIZE) {
		r = -EFBIG;
		config_errors_add(errs, path, 0, 0, "file too large (%lld bytes, at most %d)",
				  (long long)st.st_size, CONFIG_MAX_FILE_SIZE);
		goto out_close;
	}
	/* One byte more than allowed, to notice a file that grew meanwhile. */
	buf = malloc(CONFIG_MAX_FILE_SIZE + 2);
	if (!buf) {
		r = -ENOMEM;
		config_errors_add(errs, path, 0, 0, "out of memory");
		goto out_close;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_MAX_FILE_SIZE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			config_errors_add(errs, path, 0, 0, "cannot read: %s", strerror(-r));
			free(buf);
			goto out_close;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX_FILE_SIZE) {
			r = -EFBIG;
			config_errors_add(errs, path, 0, 0, "file too large (at most %d bytes)",
					  CONFIG_MAX_FILE_SIZE);
			free(buf);
			goto out_close;
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	r = 0;
out_close:
	close(fd);
	return r;
}

/* --- accessors --------------------------------------------------------- */

void y_err(struct yctx *c, const struct ynode *at, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int r;

	c->nerrors++;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		c->oom = true;
		return;
	}
	config_errors_add(c->errs, c->file, at ? at->line : 0, at ? at->column : 0, "%s", msg);
	free(msg);
}

const char *y_quote(const struct ynode *n, char *buf, size_t len)
{
	const size_t max = len > 4 ? len - 4 : 0;
	size_t o = 0;

	if (!n || n->type != YNODE_SCALAR) {
		snprintf(buf, len, "%s", y_kind(n));
		return buf;
	}
	for (size_t i = 0; i < n->len && o < max; i++) {
		unsigned char ch = (unsigned char)n->value[i];

		buf[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	/* Do not cut a UTF-8 sequence in half. */
	if (o < n->len) {
		while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0)
			o--;
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

const char *y_kind(const struct ynode *n)
{
	if (y_is_null(n))
		return "empty";
	switch (n->type) {
	case YNODE_SCALAR:
		return "a scalar";
	case YNODE_SEQUENCE:
		return "a list";
	case YNODE_MAPPING:
		return "a mapping";
	}
	return "?";
}

bool y_is_null(const struct ynode *n)
{
	if (!n)
		return true;
	if (n->type != YNODE_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
	       strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *config_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < n && candidates[i]; i++) {
		size_t d =
		    strcasecmp(word, candidates[i]) == 0 ? 1 : edit_distance(word, candidates[i]);

		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	/* Close enough: up to 2 edits, or a third of the candidate's length. */
	if (best && (best_d <= 2 || best_d * 3 <= strlen(best)) && best_d < strlen(best))
		return best;
	return NULL;
}

void y_check_keys(struct yctx *c, const struct ynode *map, const char *where,
		  const char *const *known)
{
	char q[80], hint[96];

	for (size_t i = 0; i < map->n; i++) {
		const struct ypair *p = &map->pairs[i];
		size_t nknown = 0;
		const char *dym, *pointed;
		bool found = false;

		if (p->key->type != YNODE_SCALAR) {
			y_err(c, p->key, "a key %s must be a scalar, not %s", where,
			      y_kind(p->key));
			continue;
		}
		if (p->dup_of) {
			y_err(c, p->key, "duplicate key '%s' %s (first at line %d, column %d)",
			      y_quote(p->key, q, sizeof(q)), where, p->dup_of->line,
			      p->dup_of->column);
			continue;
		}
		if (!known || y_is_extension(p->key))
			continue;
		for (; known[nknown]; nknown++)
			if (strcmp(known[nknown], p->key->value) == 0)
				found = true;
		if (found)
			continue;
		/* Another tool's spelling ("volumes" in a service) gets a pointed hint. */
		pointed = config_key_hint(where, p->key->value);
		if (pointed) {
			y_err(c, p->key, "unknown key '%s' %s: %s", y_quote(p->key, q, sizeof(q)),
			      where, pointed);
			continue;
		}
		/* Hints cost an edit distance per candidate: only while errors are kept. */
		dym = c->errs->n < CONFIG_MAX_ERRORS
			  ? config_did_you_mean(p->key->value, known, nknown)
			  : NULL;
		if (dym)
			snprintf(hint, sizeof(hint), " (did you mean '%s'?)", dym);
		else
			hint[0] = '\0';
		y_err(c, p->key, "unknown key '%s' %s%s", y_quote(p->key, q, sizeof(q)), where,
		      hint);
	}
}

bool y_is_extension(const struct ynode *key)
{
	return key->type == YNODE_SCALAR && strncmp(key->value, "x-", 2) == 0;
}

bool y_pair_ok(const struct ypair *p)
{
	return p->key->type == YNODE_SCALAR && !p->dup_of;
}

const struct ynode *y_get(const struct ynode *map, const char *key, const struct ynode **keynode)
{
	if (keynode)
		*keynode = NULL;
	if (!map || map->type != YNODE_MAPPING)
		return NULL;
	for (size_t i = 0; i < map->n; i++) {
		const struct ypair *p = &map->pairs[i];

		if (y_pair_ok(p) && strcmp(p->key->value, key) == 0) {
			if (keynode)
				*keynode = p->key;
			return p->value;
		}
	}
	return NULL;
}

bool y_want(struct yctx *c, const struct ynode *n, enum ynode_type t, const char *what)
{
	static const char *const names[] = { "a scalar", "a list", "a mapping" };

	if (n && n->type == t && !(t == YNODE_SCALAR && y_is_null(n)))
		return true;
	y_err(c, n, "'%s' must be %s, not %s", what, names[t], y_kind(n));
	return false;
}

const char *y_scalar(struct yctx *c, const struct ynode *n, const char *what)
{
	if (!y_want(c, n, YNODE_SCALAR, what))
		return NULL;
	return n->value;
}

bool y_bool(struct yctx *c, const struct ynode *n, const char *what, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const char *s = y_scalar(c, n, what);
	char q[80];

	if (!s)
		return false;
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	y_err(c, n, "'%s' must be true or false, not '%s'", what, y_quote(n, q, sizeof(q)));
	return false;
}

bool y_uint(struct yctx *c, const struct ynode *n, const char *what, uint64_t lo, uint64_t hi,
	    uint64_t *out)
{
	const char *s = y_scalar(c, n, what);
	uint64_t v = 0;
	char q[80];

	if (!s)
		return false;
	if (*s == '-') {
		y_err(c, n, "'%s' must not be negative", what);
		return false;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9') {
			y_err(c, n, "'%s' must be a whole number, not '%s'", what,
			      y_quote(n, q, sizeof(q)));
			return false;
		}
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v)) {
			v = UINT64_MAX;
			break;
		}
	}
	if (v < lo || v > hi) {
		y_err(c, n, "'%s' must be between %llu and %llu, not %s", what,
		      (unsigned long long)lo, (unsigned long long)hi, y_quote(n, q, sizeof(q)));
		return false;
	}
	*out = v;
	return true;
}

bool y_size(struct yctx *c, const struct ynode *n, const char *what, uint64_t *out)
{
	const char *s = y_scalar(c, n, what), *why = "invalid";
	char q[80];

	if (!s)
		return false;
	if (units_parse_size(s, c->host ? c->host->mem_total : 0, out, &why) < 0) {
		y_err(c, n, "invalid size '%s' for '%s': %s", y_quote(n, q, sizeof(q)), what, why);
		return false;
	}
	return true;
}

bool y_duration(struct yctx *c, const struct ynode *n, const char *what, uint64_t lo, uint64_t hi,
		uint64_t *out)
{
	const char *s = y_scalar(c, n, what), *why = "invalid";
	char q[80], a[32], b[32];

	if (!s)
		return false;
	if (units_parse_duration(s, out, &why) < 0) {
		y_err(c, n, "invalid duration '%s' for '%s': %s", y_quote(n, q, sizeof(q)), what,
		      why);
		return false;
	}
	if (*out < lo || *out > hi) {
		y_err(c, n, "'%s' must be between %s and %s, not %s", what,
		      units_format_duration(lo, a, sizeof(a)),
		      units_format_duration(hi, b, sizeof(b)), y_quote(n, q, sizeof(q)));
		return false;
	}
	return true;
}

bool y_enum(struct yctx *c, const struct ynode *n, const char *what, const char *const *names,
	    int *out)
{
	const char *s = y_scalar(c, n, what), *dym;
	char q[80], list[256], hint[96];
	size_t count = 0, o = 0;

	if (!s)
		return false;
	for (; names[count]; count++) {
		if (strcmp(s, names[count]) == 0) {
			*out = (int)count;
			return true;
		}
	}
	list[0] = '\0';
	for (size_t i = 0; i < count && o < sizeof(list); i++) {
		int w = snprintf(list + o, sizeof(list) - o, "%s%s", i == 0 ? "" : ", ", names[i]);

		if (w < 0)
			break;
		o += (size_t)w;
	}
	dym = config_did_you_mean(s, names, count);
	if (dym)
		snprintf(hint, sizeof(hint), "; did you mean '%s'?", dym);
	else
		hint[0] = '\0';
	y_err(c, n, "invalid %s '%s' (expected one of: %s%s)", what, y_quote(n, q, sizeof(q)), list,
	      hint);
	return false;
}

char *y_strdup(struct yctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = true;
	return d;
}

bool y_string(struct yctx *c, const struct ynode *n, const char *what, bool abs, char **out)
{
	const char *s = y_scalar(c, n, what);
	char q[80];

	if (!s)
		return false;
	if (!*s) {
		y_err(c, n, "'%s' must not be empty", what);
		return false;
	}
	if (abs && *s != '/') {
		y_err(c, n, "'%s' must be an absolute path, not '%s'", what,
		      y_quote(n, q, sizeof(q)));
		return false;
	}
	free(*out);
	*out = y_strdup(c, s);
	return *out != NULL;
}

bool y_argv(struct yctx *c, const struct ynode *n, const char *what, bool nonempty, char ***out,
	    size_t *count)
{
	char **v;
	bool ok = true;

	if (n && n->type == YNODE_SCALAR && !y_is_null(n)) {
		char q[80];

		y_err(c, n,
		      "'%s' must be a list of strings, not a single string; write it as "
		      "%s: [\"%s\"] (or [\"/bin/sh\", \"-c\", \"...\"] for a shell line)",
		      what, what, y_quote(n, q, sizeof(q)));
		return false;
	}
	if (!y_want(c, n, YNODE_SEQUENCE, what))
		return false;
	if (nonempty && n->n == 0) {
		y_err(c, n, "'%s' must not be an empty list", what);
		return false;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *it = n->items[i];

		if (it->type != YNODE_SCALAR || y_is_null(it)) {
			y_err(c, it, "items of '%s' must be strings, not %s", what, y_kind(it));
			ok = false;
		}
	}
	if (ok && nonempty && n->items[0]->len == 0) {
		y_err(c, n->items[0], "the first item of '%s' (the program) must not be empty",
		      what);
		ok = false;
	}
	if (!ok)
		return false;
	v = calloc(n->n + 1, sizeof(*v));
	if (!v) {
		c->oom = true;
		return false;
	}
	for (size_t i = 0; i < n->n; i++) {
		v[i] = y_strdup(c, n->items[i]->value);
		if (!v[i]) {
			config_strv_free(v);
			return false;
		}
	}
	config_strv_free(*out);
	*out = v;
	*count = n->n;
	return true;
}

void config_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static int diag_cmp(const struct config_diag *a, const struct config_diag *b)
{
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->column < b->column ? -1 : a->column > b->column;
}

void y_sort_diags(struct config_errors *errs, size_t from)
{
	/* Stable insertion sort: at most CONFIG_MAX_ERRORS entries. */
	if (errs->n > CONFIG_MAX_ERRORS)
		return;
	for (size_t i = from + 1; i < errs->n; i++) {
		struct config_diag d = errs->diags[i];
		size_t j = i;

		while (j > from && diag_cmp(&errs->diags[j - 1], &d) > 0) {
			errs->diags[j] = errs->diags[j - 1];
			j--;
		}
		errs->diags[j] = d;
	}
}
