/*
 * events.h - the daemon's event log: every start, exit with its cause,
 * restart, OOM kill, pressure crossing, limit change and action, with the
 * numbers behind it. Kept in a bounded ring for `paddockctl events` and
 * appended as JSON lines to <state_dir>/events.jsonl with size rotation.
 */
#ifndef PADDOCK_EVENTS_H
#define PADDOCK_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#define EVENTS_RING 4096 /* events kept in memory */

struct json_object;
struct eventlog;

typedef void (*eventlog_follow_fn)(void *arg, struct json_object *event);

struct eventlog *eventlog_open(const char *state_dir, uint64_t max_size, unsigned keep);
struct eventlog *eventlog_free(struct eventlog *el);
/*
 * Record an event: {"time_ms", "service", "type", ...data}. Takes the
 * reference to data (may be NULL). service may be NULL (daemon, host).
 */
void eventlog_emit(struct eventlog *el, const char *service, const char *type,
		   struct json_object *data);
/* Events matching the filters, oldest first, as a new JSON array. */
struct json_object *eventlog_query(struct eventlog *el, const char *service, uint64_t since_ms,
				   unsigned max);
int eventlog_follow(struct eventlog *el, eventlog_follow_fn fn, void *arg);
void eventlog_unfollow(struct eventlog *el, eventlog_follow_fn fn, void *arg);
/* The process-wide log the daemon's modules emit to (NULL before start). */

#endif
