/*
 * units.h - sizes, durations, CPU amounts and signals as operators write
 * them. Pure functions, shared by the spec parser and `paddockctl set`.
 * Each returns 0 or -EINVAL/-ERANGE and, on error, points *why at a static
 * reason suitable for a diagnostic.
 */
#ifndef PADDOCK_UNITS_H
#define PADDOCK_UNITS_H

#include <stddef.h>
#include <stdint.h>

/*
 * "512", "64K", "1.5G", "2T" (binary multiples, optional trailing B/iB),
 * "25%" of mem_total, "max" -> SPEC_SIZE_MAX. mem_total 0 makes "%" an error.
 */
int units_parse_size(const char *s, uint64_t mem_total, uint64_t *out, const char **why);
/* "250ms", "10s", "1.5m", "2h", bare number = seconds. Result in ms. */
int units_parse_duration(const char *s, uint64_t *out_ms, const char **why);
/* "1.5" CPUs or "250m" millicores -> millicores; "max" -> 0 (unlimited). */
int units_parse_cpus(const char *s, uint32_t *out_mcpu, const char **why);
/* "20%" or "0.2%" -> permille (20% = 200), 0 < p <= 100%. */
int units_parse_percent(const char *s, uint32_t *out_permille, const char **why);
/* "SIGTERM", "TERM", "15" -> signal number. */
int units_parse_signal(const char *s, int *out, const char **why);
const char *units_signal_name(int sig);
/* cpuset list "0-1,3": syntax only. */
int units_check_cpuset(const char *s, const char **why);

/* Human formatting into buf (at least 32 bytes); returns buf. */
char *units_format_size(uint64_t bytes, char *buf, size_t len);
char *units_format_duration(uint64_t ms, char *buf, size_t len);

#endif
