/*
 * config.h - parse YAML service specs and the daemon config into spec.h
 * structs. Library-style: no logging; every problem becomes a diagnostic
 * with file:line:column in the caller's config_errors. A set with any
 * error is not returned at all, so nothing is ever half-applied.
 */
#ifndef PADDOCK_CONFIG_H
#define PADDOCK_CONFIG_H

#include <stdio.h>

#include "spec.h"

/* Bounds on hostile input. */
#define CONFIG_MAX_FILE_SIZE (1024 * 1024) /* bytes per YAML file */
#define CONFIG_MAX_DEPTH 32 /* nesting of mappings/sequences */
#define CONFIG_MAX_SCALAR (64 * 1024) /* bytes per scalar */
#define CONFIG_MAX_NODES 200000 /* nodes per file, aliases expanded */
#define CONFIG_MAX_FILES 1024 /* *.yaml files per directory */
#define CONFIG_MAX_ERRORS 100 /* diagnostics kept per run */

/*
 * Parse one spec file, a directory of *.yaml spec files, or (path is a
 * file or directory) whichever it is. Returns 0 and sets *out, or -EINVAL
 * with errs filled, or another -errno when the path cannot be read (also
 * recorded in errs). Cross-file checks (duplicate names, depends_on,
 * cycles) run over the whole set.
 */
int config_load_specs(const char *path, const struct config_host *host, struct spec_set **out,
		      struct config_errors *errs);
int config_load_spec_paths(char *const *paths, size_t npaths, const struct config_host *host,
			   struct spec_set **out, struct config_errors *errs);
/*
 * Parse specs from memory; name is used as FILE in diagnostics. The text is
 * taken literally, without ${VAR} interpolation: it is what a program
 * built (paddockctl run's options, a run spec kept in the state file), in
 * which '$' is the user's own ('sh -c "kill $$"').
 */
int config_parse_specs_buffer(const char *name, const char *buf, size_t len,
			      const struct config_host *host, struct spec_set **out,
			      struct config_errors *errs);

/* Daemon config. path NULL = defaults only. A missing file is an error. */
int config_load_daemon(const char *path, const struct config_host *host, struct daemon_config **out,
		       struct config_errors *errs);
int config_parse_daemon_buffer(const char *name, const char *buf, size_t len,
			       const struct config_host *host, struct daemon_config **out,
			       struct config_errors *errs);
struct daemon_config *daemon_config_new_defaults(void);

const struct service_spec *spec_set_find(const struct spec_set *set, const char *name);
struct spec_set *spec_set_free(struct spec_set *set);
struct service_spec *service_spec_free(struct service_spec *spec);
struct daemon_config *daemon_config_free(struct daemon_config *cfg);

/* Host facts read from /proc/meminfo (the one syscall-ish read config/ does). */
int config_host_detect(struct config_host *host);

void config_errors_add(struct config_errors *errs, const char *file, int line, int column,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void config_errors_print(FILE *f, const struct config_errors *errs);
void config_errors_clear(struct config_errors *errs);

/*
 * Checks between the specs and the daemon config's networks: every network
 * a service joins exists, fixed addresses sit inside their subnet and are
 * not taken twice, no host port is published twice, no ports on an internal
 * network, no alias shadows another service on the same network. 0, or -1
 * with diagnostics at the spec's FILE:LINE:COLUMN. O(n log n) in ports and
 * fixed addresses.
 */
int config_check_networks(const struct spec_set *set, const struct daemon_config *cfg,
			  struct config_errors *errs);
/* The network called name in cfg (sorted by name), or NULL. */
const struct spec_netdef *config_find_network(const struct daemon_config *cfg, const char *name);

/* Dotted quad, each part 0..255 without leading zeros -> host order. */
bool config_parse_ipv4(const char *s, uint32_t *out);
/* buf must hold 16 bytes; returns buf. */
char *config_format_ipv4(uint32_t ip, char *buf);
/* Netmask of a prefix 0..32, host order. */
uint32_t config_netmask(unsigned prefix);

/* Names: [a-z0-9][a-z0-9_-]{0,62}. */
bool config_valid_name(const char *name);
/*
 * Service names: a name, or TEMPLATE@INSTANCE (both valid names) for an
 * instance of 'instances:'; at most SPEC_NAME_MAX bytes in all.
 */
bool config_valid_service_name(const char *name);

/*
 * Environment files (spec 'environment_file', the .env beside the specs),
 * the syntax of systemd's EnvironmentFile= and docker's --env-file:
 * KEY=VALUE lines, KEY as [A-Za-z_][A-Za-z0-9_]*, blank lines and lines
 * starting with '#' or ';' skipped, an optional "export " before KEY,
 * spaces around KEY and an unquoted VALUE trimmed, ' #' starting a comment
 * in an unquoted VALUE, '...' literal, "..." with \\ \" \$ \n \t
 * escapes; a quoted value may span lines. A later KEY replaces an earlier
 * one. A line without '=' is an error. No interpolation.
 *
 * Parse buf (len bytes; file names it in diagnostics "FILE:LINE: ...").
 * *out gets a NULL-terminated "KEY=VALUE" vector in first-seen order.
 * 0, or -EINVAL (diagnostics in errs) or -ENOMEM.
 */
#define CONFIG_MAX_ENVFILE_VARS 4096
int config_envfile_parse(const char *file, const char *buf, size_t len, char ***out, size_t *n,
			 struct config_errors *errs);
/*
 * Read and parse path: at most CONFIG_MAX_FILE_SIZE bytes. A missing file is
 * 0 with an empty vector when optional. The value of no variable ever
 * appears in a diagnostic.
 */
int config_envfile_load(const char *path, bool optional, char ***out, size_t *n,
			struct config_errors *errs);

/*
 * Registry references (paddock.yaml(5) "image"). A reference is one when it
 * is not a path (starting '/', "./", "../") and either its first
 * '/'-separated component names a host (it has a '.' or ':' or is
 * "localhost") or it has a digest ('@'; docker.io when no host is named).
 * image_ref_is_remote (image.h) draws the same line.
 */
bool config_image_ref_is_registry(const char *ref);
/*
 * NULL when the registry reference ref is well-formed:
 * [HOST[:PORT]/]PATH[:TAG][@sha256:<64 hex>], PATH lowercase components
 * joined by '/'. Otherwise why not, a phrase for a message.
 */
const char *config_registry_ref_error(const char *ref);
/* "HOST[:PORT]": DNS labels (letters, digits, '-') or [IPv6], port 1..65535; len bytes of s. */
bool config_valid_registry_host(const char *s, size_t len);
/* A mirror "HOST[:PORT][/PREFIX]", PREFIX as a reference's PATH. */
bool config_valid_registry_mirror(const char *s);
/* The registries: entry for host, or NULL. */
const struct spec_registry *config_find_registry(const struct daemon_config *cfg, const char *host);

/* Names for enums, for messages and JSON. */
const char *spec_class_name(enum spec_class c);
const char *spec_restart_name(enum spec_restart_policy p);
const char *spec_on_oom_name(enum spec_on_oom o);
const char *spec_pull_name(enum spec_pull p);
const char *spec_pressure_action_name(enum spec_pressure_action a);
const char *spec_pressure_resource_name(enum spec_pressure_resource r);
/* "nofile" for RLIMIT_NOFILE, ...; "unknown" otherwise. */
const char *spec_rlimit_name(int resource);

#endif
