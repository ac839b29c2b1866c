/*
 * fdstore.h - a small process that holds each service's file descriptors
 * (output pipes, init status pipe, pidfd) while paddockd is not running.
 *
 * Why a holder, and why one for all services: a service's stdout and
 * stderr are pipes whose read ends live in paddockd. If paddockd dies and
 * nothing else holds a read end, the service's next write raises SIGPIPE
 * and it dies or loses output. Options were one log holder per service
 * (conmon, containerd's shims: a process per service, ~1 MB each), the
 * journald stream socket (only where journald runs, and the lines then
 * bypass paddock's own log files), or systemd's fd store (only under
 * systemd). One holder process for all services costs one process and
 * one fd per stored descriptor, works with or without systemd, and loses
 * nothing: the holder never reads, so output simply waits in the pipe
 * (log.pipe_size, 4 MiB by default: seconds of a chatty service's
 * lines) until the next paddockd takes the read end back and drains
 * it. If the pipe fills, the service blocks in write(2); it is never
 * killed. The holder keeps the pidfd too, so the next paddockd
 * knows the very process it started (no pid reuse), and the status pipe
 * of paddock's init, so an exit while paddockd was away keeps its cause.
 *
 * Protocol: SOCK_SEQPACKET on <runtime_dir>/fdstore.sock, root only.
 * Each message is one byte of opcode and a NUL-terminated key:
 *   'P' key + SCM_RIGHTS fds   store (replacing what key held)
 *   'D' key                    drop and close
 *   'L'                        list: the holder answers one 'E' key + fds
 *                              message per entry, then 'Z'
 *   'I'                        the holder answers 'I' with its pid as key
 *   'Q'                        exit now (clean shutdown: nothing to hold)
 * Library-style: returns -errno, never logs.
 */
#ifndef PADDOCK_FDSTORE_H
#define PADDOCK_FDSTORE_H

#include <stdbool.h>
#include <stddef.h>

#define FDSTORE_MAX_FDS 8
#define FDSTORE_KEY_MAX 128

struct fdstore;

/*
 * Connect to the holder at path; when none answers, start one (a forked
 * child that outlives us) and connect to it. *spawned says which.
 */
int fdstore_open(const char *path, struct fdstore **out, bool *spawned);
struct fdstore *fdstore_free(struct fdstore *fs);
/* The connection: readable (EOF) when the holder has died. */
int fdstore_fd(const struct fdstore *fs);
/* Store copies of fds under key. */
int fdstore_put(struct fdstore *fs, const char *key, const int *fds, size_t nfds);
int fdstore_drop(struct fdstore *fs, const char *key);
/*
 * Take everything the holder has: cb gets each key with its fds (it owns
 * them). Entries stay in the holder until dropped or replaced.
 */
int fdstore_list(struct fdstore *fs, void (*cb)(void *arg, const char *key, int *fds, size_t n),
		 void *arg);
/* Make the holder exit, and wait until it has (clean shutdown: nothing left to hold). */
int fdstore_quit(struct fdstore *fs);
/* The holder's loop, exposed for tests: serves listenfd until told to quit. */
void fdstore_serve(int listenfd) __attribute__((noreturn));

#endif
