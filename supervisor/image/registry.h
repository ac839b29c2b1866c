/*
 * registry.h - internal to image/: registry references (registry-ref.c,
 * no library beyond libc: paddockd links it for image_ref_is_remote), the
 * pure parsers of the distribution protocol's auth and the credentials
 * file (registry-auth.c, fuzzed), used by the client in registry.c.
 */
#ifndef PADDOCK_REGISTRY_H
#define PADDOCK_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define REG_HOST_MAX 256
#define REG_REPO_MAX 256
#define REG_TAG_MAX 128

/* A parsed reference "HOST[:PORT]/REPO[:TAG][@sha256:HEX]". */
struct reg_ref {
	char host[REG_HOST_MAX]; /* "docker.io", "127.0.0.1:5000", "[::1]:5000" */
	char repo[REG_REPO_MAX]; /* "library/busybox" */
	char tag[REG_TAG_MAX + 1]; /* "" when only a digest was given */
	char hex[65]; /* "" when no digest was given */
};

/*
 * Parse and normalise ref (docker.io/ and library/ implied, tag
 * "latest" when neither tag nor digest). Returns 0 or -EINVAL with err
 * naming the reference and what is wrong.
 */
int reg_ref_parse(const char *ref, struct reg_ref *out, struct error *err);
/* "HOST/REPO:TAG", "HOST/REPO@sha256:HEX" or "HOST/REPO:TAG@sha256:HEX". */
void reg_ref_format(const struct reg_ref *r, char *buf, size_t len);
/* Is host (HOST[:PORT]) well formed? */
bool reg_host_valid(const char *host);

enum reg_scheme { REG_AUTH_NONE, REG_AUTH_BASIC, REG_AUTH_BEARER };

/* The WWW-Authenticate challenge a request got. */
struct reg_challenge {
	enum reg_scheme scheme;
	char realm[1024];
	char service[256];
	char scope[512];
	char error[64]; /* Bearer error="insufficient_scope" etc. */
};

/*
 * Parse a WWW-Authenticate header value: one or more challenges
 * ("Basic realm=...", "Bearer realm="...",service="...",scope="...""),
 * params as tokens or quoted strings with backslash escapes. Bearer is
 * preferred over Basic; other schemes are skipped. Returns 0, or
 * -EINVAL (malformed, or no scheme we speak).
 */
int reg_challenge_parse(const char *hdr, struct reg_challenge *c);

/*
 * Parse a token endpoint's reply ({"token": ...} or {"access_token":
 * ...}, "expires_in" seconds, default 60). *token is malloc'd. Returns
 * 0 or -EBADMSG with err filled.
 */
int reg_token_parse(const char *buf, size_t len, char **token, unsigned *expires_in,
		    struct error *err);

/*
 * Look up host's credentials in the auth file at path (containers-auth.json
 * / docker config.json: {"auths":{"HOST[:PORT]":{"auth":"base64(user:pass)"}}},
 * keys may also be URLs "https://HOST/v1/"). The file is refused when
 * group or others may read or write it. Returns 0 with *user and *pass
 * malloc'd, -ENOENT when the file or the entry is missing, another
 * -errno with err filled.
 */
int reg_auth_lookup(const char *path, const char *host, char **user, char **pass,
		    struct error *err);
/* Lookup in a document already read (the pure half, fuzzed). */
int reg_auth_lookup_buf(const char *buf, size_t len, const char *what, const char *host,
			char **user, char **pass, struct error *err);
/*
 * Store (user and pass set) or erase (user NULL) host's entry, keeping
 * the file's other entries and keys: a new file written 0600 next to it
 * and renamed over it. Erasing a missing entry returns -ENOENT.
 */
int reg_auth_update(const char *path, const char *host, const char *user, const char *pass,
		    struct error *err);

/* Base64 of the string in (malloc'd). */
char *reg_base64(const char *in);

#endif
