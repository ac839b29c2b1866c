/*
 * yaml-emit.c - a ynode tree back to YAML text (paddockctl cat).
 *
 * libyaml's emitter does the layout; this file only decides, per scalar,
 * whether plain text would still read back as the same string, and asks
 * for double quotes when it would not. Aliases were expanded by the tree
 * (it is a DAG), so no anchors are written. The width is unbounded, so no
 * scalar is folded across lines and every output line can be indented by
 * a prefix without changing its meaning.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yaml-tree.h"

#define EMIT_MAX_DEPTH 64 /* the parser's nesting bound is lower */

struct outbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static int out_write(void *data, unsigned char *buf, size_t size)
{
	struct outbuf *o = data;

	if (o->len + size + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *p;

		while (cap < o->len + size + 1)
			cap *= 2;
		p = realloc(o->p, cap);
		if (!p) {
			o->oom = true;
			return 0;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, buf, size);
	o->len += size;
	o->p[o->len] = '\0';
	return 1;
}

static bool word_in(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

/* Would a plain scalar with this text be read as null, a bool or a number? */
static bool looks_typed(const char *s)
{
	static const char *const words[] = {
		"~",	 "null",  "Null", "NULL", "y",	"Y",	"n",	"N",	"yes",
		"Yes",	 "YES",	  "no",	  "No",	  "NO", "true", "True", "TRUE", "false",
		"False", "FALSE", "on",	  "On",	  "ON", "off",	"Off",	"OFF",	NULL,
	};
	const char *p = s;

	if (word_in(s, words))
		return true;
	if (*p == '+' || *p == '-')
		p++;
	if (*p == '.')
		p++;
	return (*p >= '0' && *p <= '9') || strcasecmp(p, "inf") == 0 || strcasecmp(p, "nan") == 0;
}

/*
 * Could s be written plain and read back as the same string? Errs on the
 * side of quoting: a "yes" here is also one for libyaml's own analysis.
 */
static bool plain_safe(const char *s, size_t len)
{
	if (len == 0 || s[0] == ' ' || s[len - 1] == ' ' || s[len - 1] == ':')
		return false;
	if (strchr("?:,[]{}#&*!|>'\"%@`", s[0]))
		return false;
	if (s[0] == '-' && (len == 1 || s[1] == ' '))
		return false;
	if (strncmp(s, "---", 3) == 0 || strncmp(s, "...", 3) == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			return false;
		if (ch == ':' && s[i + 1] == ' ')
			return false;
		if (ch == '#' && i > 0 && s[i - 1] == ' ')
			return false;
	}
	return true;
}

static int emit_node(yaml_emitter_t *e, const struct ynode *n, int depth)
{
	yaml_event_t ev;

	if (depth > EMIT_MAX_DEPTH)
		return 0;
	switch (n->type) {
	case YNODE_SCALAR: {
		/* an empty plain scalar is null: it stays plain ("key:") */
		bool plain = (n->plain && n->len == 0) ||
			     (plain_safe(n->value, n->len) && (n->plain || !looks_typed(n->value)));

		if (!yaml_scalar_event_initialize(
			&ev, NULL, NULL, (yaml_char_t *)n->value, (int)n->len, 1, 1,
			plain ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE))
			return 0;
		return yaml_emitter_emit(e, &ev);
	}
	case YNODE_SEQUENCE:
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(e, &ev))
			return 0;
		for (size_t i = 0; i < n->n; i++)
			if (!emit_node(e, n->items[i], depth + 1))
				return 0;
		if (!yaml_sequence_end_event_initialize(&ev))
			return 0;
		return yaml_emitter_emit(e, &ev);
	case YNODE_MAPPING:
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							 YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(e, &ev))
			return 0;
		for (size_t i = 0; i < n->n; i++)
			if (!emit_node(e, n->pairs[i].key, depth + 1) ||
			    !emit_node(e, n->pairs[i].value, depth + 1))
				return 0;
		if (!yaml_mapping_end_event_initialize(&ev))
			return 0;
		return yaml_emitter_emit(e, &ev);
	}
	return 0;
}

static int emit_document(yaml_emitter_t *e, const struct ynode *n)
{
	yaml_event_t ev;

	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(e, &ev) ||
	    !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(e, &ev) || !emit_node(e, n, 0) ||
	    !yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(e, &ev) ||
	    !yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev))
		return 0;
	return yaml_emitter_flush(e);
}

/* text with indent spaces before every line, and no document end marker. */
static char *indent_lines(const char *text, size_t len, int indent)
{
	size_t lines = 0, n = 0;
	char *out;

	if (len >= 4 && strcmp(text + len - 4, "...\n") == 0 && (len == 4 || text[len - 5] == '\n'))
		len -= 4;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	out = malloc(len + (lines + 1) * (size_t)indent + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if ((i == 0 || text[i - 1] == '\n') && text[i] != '\n')
			for (int k = 0; k < indent; k++)
				out[n++] = ' ';
		out[n++] = text[i];
	}
	out[n] = '\0';
	return out;
}

char *y_emit(const struct ynode *n, int indent)
{
	yaml_emitter_t e;
	struct outbuf o = { 0 };
	char *res = NULL;
	int ok;

	if (!n)
		return strdup("");
	if (indent < 0)
		indent = 0;
	if (!yaml_emitter_initialize(&e))
		return NULL;
	yaml_emitter_set_output(&e, out_write, &o);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	yaml_emitter_set_indent(&e, 2);
	ok = emit_document(&e, n);
	yaml_emitter_delete(&e);
	if (ok && !o.oom)
		res = indent_lines(o.p ? o.p : "", o.len, indent);
	free(o.p);
	return res;
}
