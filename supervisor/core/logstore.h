/*
 * logstore.h - where a service's output goes: split into lines, stamped,
 * appended to <logs_dir>/<service>.log with size-based rotation, kept in
 * a bounded in-memory ring for `paddockctl logs`, copied to journald when
 * present, and passed to followers (`logs -f`). Never blocks: the file is
 * a local append, and what cannot be stored is counted as dropped.
 */
#ifndef PADDOCK_LOGSTORE_H
#define PADDOCK_LOGSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGSTORE_LINE_MAX 8192 /* longer lines are split */
#define LOGSTORE_RING_MAX (64 * 1024) /* bytes of recent lines kept in memory */
#define LOGSTORE_HISTORY_MAX (2 * 1024 * 1024) /* bytes of history one request returns */

struct logstore;
typedef void (*logstore_follow_fn)(void *arg, const char *service, int stream, uint64_t ts_ms,
				   const char *line, size_t len);

struct logstore *logstore_new(const char *dir, const char *service, uint64_t max_size,
			      unsigned keep, bool journald);
struct logstore *logstore_free(struct logstore *ls);
/* Feed raw bytes of stream 1 (stdout) or 2 (stderr). */
void logstore_feed(struct logstore *ls, int stream, const char *buf, size_t len);
/* End of a stream: a last unterminated line is stored too. */
void logstore_flush(struct logstore *ls, int stream);
/*
 * Last n lines, oldest first, "TIMESTAMP STREAM text\n" each, read back
 * from the log file and its rotations (so what an earlier paddockd logged
 * is there too), from the memory ring when the file cannot be read;
 * malloc'd.
 */
char *logstore_tail(const struct logstore *ls, unsigned n);
/*
 * Like logstore_tail, and none older than since_ms (realtime; 0: any).
 * At most LOGSTORE_HISTORY_MAX bytes, the newest: *truncated says when
 * more were there. The work is bounded by what is returned, not by the
 * size of the files.
 */
char *logstore_history(const struct logstore *ls, unsigned n, uint64_t since_ms, bool *truncated);
uint64_t logstore_dropped(const struct logstore *ls);
/* Remove the log file and its rotations (transient services run with --rm). */
void logstore_remove_files(struct logstore *ls);
/*
 * For a service whose files go when it settles (run --rm): its notes
 * alone create no file (they still reach the ring and followers), so that
 * a silent run creates and removes none: on ext4 without a journal,
 * creating a file after removals costs a millisecond and more.
 */
void logstore_notes_need_output(struct logstore *ls, bool yes);
/* Record a line that paddockd itself adds to the service's log (stream 0, "paddockd"). */
void logstore_note(struct logstore *ls, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int logstore_follow(struct logstore *ls, logstore_follow_fn fn, void *arg);
void logstore_unfollow(struct logstore *ls, logstore_follow_fn fn, void *arg);

#endif
