/*
 * seccomp-profile.h - a seccomp profile in the OCI JSON format runc and
 * docker use (defaultAction, defaultErrnoRet, architectures, archMap,
 * syscalls[{names, action, errnoRet, args[{index, value, valueTwo, op}],
 * includes, excludes, comment}]) turned into a libseccomp filter.
 *
 * Validation is strict: an unknown key, action, operator, architecture,
 * capability or system call name is an error naming the JSON path
 * ("syscalls[3].names[1]: unknown system call 'mkdri'"). A name libseccomp
 * knows but this machine's architectures lack is skipped, as runc does.
 */
#ifndef PADDOCK_SECCOMP_PROFILE_H
#define PADDOCK_SECCOMP_PROFILE_H

#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Bounds on hostile input. */
#define SECCOMP_PROFILE_MAX_SIZE (1024 * 1024) /* bytes of JSON */
#define SECCOMP_PROFILE_MAX_RULES 4096 /* entries in syscalls[] */
#define SECCOMP_PROFILE_MAX_NAMES 4096 /* names in one entry */
#define SECCOMP_PROFILE_MAX_DEPTH 16 /* JSON nesting */
#define SECCOMP_PROFILE_MAX_CHAINS 1024 /* rules with two or more argument tests */

/*
 * Build a filter from the profile in buf (len bytes). caps (bit n =
 * capability n) decides includes.caps / excludes.caps. 0 and *out set
 * (release with seccomp_release), or -EINVAL/-E2BIG/-ENOMEM with err set
 * to "JSONPATH: reason".
 */
int seccomp_profile_parse(const char *buf, size_t len, uint64_t caps, scmp_filter_ctx *out,
			  struct error *err);
/* The profile file's bytes (malloc'd, at most SECCOMP_PROFILE_MAX_SIZE); err "PATH: reason". */
int seccomp_profile_read(const char *path, char **buf, size_t *len, struct error *err);

#endif
