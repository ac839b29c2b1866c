/*
 * error.h - the one error type of paddock's library code (crun's
 * libcrun_error_t, without the allocation): an errno and one human
 * sentence saying what failed, filled by the library, logged once by
 * the daemon with its own context.
 *
 * Plain old data: a cloned child fills one and writes it as is over a
 * pipe (launch.c); error_set does not allocate, so it is safe after
 * clone3 in a process with threads. At 516 bytes it stays below PIPE_BUF:
 * one write, read whole.
 */
#ifndef PADDOCK_ERROR_H
#define PADDOCK_ERROR_H

#define ERROR_MSG_MAX 512

struct error {
	int code; /* errno of the failure; 0 = none */
	char msg[ERROR_MSG_MAX]; /* "exec /bin/nope", "mount /proc: ..." ; truncated to fit */
};

/*
 * Fill e (may be NULL: only the return value then) with errno code and the
 * printf text; returns -code, so a failing step reads
 * `return error_set(err, errno, "mount %s", target);`.
 */
int error_set(struct error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Put the printf text in front of e's message, as is, for a caller adding
 * where the failure happened: error_prefix(err, "%s: ", path). e may be
 * NULL. Returns -e->code (0 for NULL).
 */
int error_prefix(struct error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
