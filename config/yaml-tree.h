/*
 * yaml-tree.h - private to config/: a bounded YAML node tree built from
 * libyaml parser events, and the typed accessors the spec and daemon
 * config parsers share. Every node keeps its 1-based line:column.
 */
#ifndef PADDOCK_YAML_TREE_H
#define PADDOCK_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum ynode_type { YNODE_SCALAR, YNODE_SEQUENCE, YNODE_MAPPING };

struct ynode;

struct ypair {
	struct ynode *key, *value;
	const struct ynode *dup_of; /* earlier key with the same text, or NULL */
};

struct ynode {
	enum ynode_type type;
	int line, column; /* 1-based start mark */
	size_t weight; /* nodes in this subtree, aliases expanded */
	bool open; /* still being built: an alias to it would recurse */
	bool plain; /* scalar: plain style, no tag (may be null/bool) */
	bool one_line; /* scalar: starts and ends on the same line */
	char *value; /* scalar, NUL-terminated */
	size_t len;
	struct ynode **items; /* sequence */
	struct ypair *pairs; /* mapping */
	size_t n, cap; /* items or pairs */
};

/* Owns every node; aliases share nodes, so the tree is really a DAG. */
struct ytree {
	struct ynode *root; /* NULL: empty stream (only comments) */
	struct ynode **all;
	size_t nall, capall;
};

/* Parse buf (len bytes) into t. 0, or -EINVAL/-ENOMEM with a diagnostic. */
int ytree_parse(struct ytree *t, const char *file, const char *buf, size_t len,
		struct config_errors *errs);
void ytree_free(struct ytree *t);
/* A new empty node owned by t (freed by ytree_free), or NULL on ENOMEM. */
struct ynode *ytree_node_new(struct ytree *t, enum ynode_type type, int line, int column);

/* Read a whole file, checking its size before reading. 0 or -errno (+diag). */
int config_read_file(const char *path, char **buf, size_t *len, struct config_errors *errs);

/* Diagnostics context for one file. */
struct yctx {
	const char *file;
	struct config_errors *errs;
	const struct config_host *host;
	size_t nerrors; /* errors reported through this context */
	bool oom;
};

void y_err(struct yctx *c, const struct ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Printable, truncated copy of a scalar for messages ("..." if cut). */
const char *y_quote(const struct ynode *n, char *buf, size_t len);
const char *y_kind(const struct ynode *n);
bool y_is_null(const struct ynode *n);

/*
 * Report unknown (with a hint), duplicate and non-scalar keys of map. where
 * completes "unknown key 'x' ...": "in 'resources'", "at the top level".
 * Keys starting "x-" (compose's extension fields) are never unknown.
 */
void y_check_keys(struct yctx *c, const struct ynode *map, const char *where,
		  const char *const *known);
/* First value for key, or NULL; *keynode (if non-NULL) gets the key node. */
const struct ynode *y_get(const struct ynode *map, const char *key, const struct ynode **keynode);
/*
 * An "x-" key: an extension field holding anything (often an anchor to
 * merge); a map with free-form keys such as 'services' skips it.
 */
bool y_is_extension(const struct ynode *key);
/* True for pairs to visit when iterating a map with free-form keys. */
bool y_pair_ok(const struct ypair *p);

/* Typed accessors: report a diagnostic at n and return false on error. */
bool y_want(struct yctx *c, const struct ynode *n, enum ynode_type t, const char *what);
const char *y_scalar(struct yctx *c, const struct ynode *n, const char *what);
bool y_bool(struct yctx *c, const struct ynode *n, const char *what, bool *out);
bool y_uint(struct yctx *c, const struct ynode *n, const char *what, uint64_t lo, uint64_t hi,
	    uint64_t *out);
bool y_size(struct yctx *c, const struct ynode *n, const char *what, uint64_t *out);
bool y_duration(struct yctx *c, const struct ynode *n, const char *what, uint64_t lo, uint64_t hi,
		uint64_t *out);
/* names is NULL-terminated; *out gets the index. */
bool y_enum(struct yctx *c, const struct ynode *n, const char *what, const char *const *names,
	    int *out);
/* Non-empty string copy; abs requires an absolute path. */
bool y_string(struct yctx *c, const struct ynode *n, const char *what, bool abs, char **out);
/* A list of strings as a NULL-terminated argv; a lone string gets a hint. */
bool y_argv(struct yctx *c, const struct ynode *n, const char *what, bool nonempty, char ***out,
	    size_t *count);
char *y_strdup(struct yctx *c, const char *s);
/* Put one file's diagnostics (errs->diags[from..]) in document order. */
void y_sort_diags(struct config_errors *errs, size_t from);

/*
 * A pointed hint for a key paddock does not know but compose files or
 * systemd units use ("volumes" -> "isolation.mounts"), or NULL. where is
 * y_check_keys' where ("in service 'web'", "at the top level", ...).
 * The whole message tail, e.g. "did you mean 'isolation.mounts'? ...".
 * (config/hints.c)
 */
const char *config_key_hint(const char *where, const char *key);

/*
 * The YAML text of n as a block-style document fragment: "key: value"
 * lines (sequences as "- item"), indented by indent spaces, scalars quoted
 * where plain would change their meaning. malloc'd, NULL on ENOMEM.
 * (config/yaml-emit.c)
 */
char *y_emit(const struct ynode *n, int indent);

/*
 * Values for ${VAR} (config/interp.c). Lookup order: instance (for
 * ${instance}), then env, then dotenv; each a NULL-terminated "K=V" vector
 * or NULL.
 */
struct yvars {
	const char *instance; /* ${instance} inside an instance's spec, else NULL */
	char *const *env; /* the reading process's environment (config_host.env) */
	char *const *dotenv; /* the .env file beside the specs */
};

#define CONFIG_MAX_INTERP_DEPTH 8 /* ${A:-${B:-...}} nesting */

/*
 * n with every scalar value interpolated as compose does: $$ is '$';
 * ${VAR} and $VAR; ${VAR:-default} (unset or empty) and ${VAR-default}
 * (unset); ${VAR:?message} and ${VAR?message} (an error carrying message);
 * ${VAR:+other} and ${VAR+other} (other when set and non-empty, or set);
 * defaults may nest ${...} up to CONFIG_MAX_INTERP_DEPTH. Substituted text
 * is not scanned again, and a result longer than CONFIG_MAX_SCALAR is an
 * error, so nothing expands without bound. Mapping keys are left as they
 * are. An undefined variable with no default is an error at
 * FILE:LINE:COLUMN of its '$' (the scalar's start when it spans lines).
 * Changed nodes are new nodes owned by t; unchanged subtrees are shared.
 * Returns the result, or NULL after reporting through c (c->oom on ENOMEM).
 */
const struct ynode *y_interpolate(struct yctx *c, struct ytree *t, const struct ynode *n,
				  const struct yvars *vars);

/* Closest candidate to word by edit distance, or NULL when none is close. */
const char *config_did_you_mean(const char *word, const char *const *candidates, size_t n);
void config_strv_free(char **v);

#endif
