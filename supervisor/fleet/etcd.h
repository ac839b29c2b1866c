/*
 * etcd.h - an etcd v3 client over its JSON gateway (/v3/...), driven by
 * libcurl's multi interface from the libevent loop: unary calls (range,
 * put, txn, lease grant and keepalive) and watch streams. Keys and values
 * are base64 in the JSON; this header speaks plain bytes.
 *
 * The reply parser (etcd-parse.c) is pure and fuzzed (tests/fuzz/fuzz-etcd.c).
 * Every reply is capped at ETCD_MAX_REPLY bytes, every watch message too, so
 * memory stays bounded whatever a server sends.
 */
#ifndef PADDOCK_ETCD_H
#define PADDOCK_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct json_object;

#define ETCD_MAX_REPLY (4u << 20) /* bytes of one reply or watch message */
#define ETCD_MAX_KVS 65536 /* key-values or events kept from one reply */
#define ETCD_MAX_KEY 4096 /* bytes of a decoded key */

struct etcd_kv {
	char *key; /* NUL-terminated */
	char *value; /* NUL-terminated; vlen bytes (may hold NULs) */
	size_t vlen;
	int64_t create_rev, mod_rev, version, lease;
};

enum etcd_event_type { ETCD_PUT, ETCD_DELETE };

struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;
};

/* What one reply (or one watch message) said; absent fields are 0. */
struct etcd_reply {
	int64_t revision; /* header.revision */
	struct etcd_kv *kvs; /* range, or the ranges inside a txn's responses */
	size_t nkvs;
	bool succeeded; /* txn */
	int64_t id, ttl; /* lease grant / keepalive (ttl 0: the lease is gone) */
	/* watch */
	struct etcd_event *events;
	size_t nevents;
	bool created, canceled;
	int64_t watch_id, compact_revision;
	char error[160]; /* the server's error message, "" if none */
	int code; /* with error: its gRPC status (ETCD_NOT_FOUND, ...), 0 if not given */
};

#define ETCD_NOT_FOUND 5 /* gRPC NotFound: e.g. "requested lease not found" */

/* Parse one JSON reply of len bytes. 0, -EBADMSG (not etcd's shape), -E2BIG, -ENOMEM. */
int etcd_reply_parse(const char *buf, size_t len, struct etcd_reply *out);
void etcd_reply_clear(struct etcd_reply *r);

/* base64 (standard alphabet, padded) of n bytes; malloc'd, NULL on ENOMEM. */
char *etcd_b64(const void *p, size_t n);
/* Decode; malloc'd with a NUL after *n bytes. -EBADMSG, -ENOMEM. */
int etcd_unb64(const char *s, char **out, size_t *n);
/* The end of the range of keys starting with prefix ("a/" -> "a0"); malloc'd. */
char *etcd_prefix_end(const char *prefix);

struct etcd;
struct etcd_call;

struct etcd_opts {
	char *const *endpoints; /* "http(s)://HOST:PORT", at least one */
	size_t nendpoints;
	const char *ca, *cert, *key; /* PEM paths or NULL */
};

/*
 * A finished call: err 0 and r the reply, or err < 0 and r NULL. Only
 * -EIO is an answer from etcd (an HTTP error: etcd_last_error,
 * etcd_last_code); the rest are failures to get one: -ECONNREFUSED,
 * -ETIMEDOUT, -EMSGSIZE, -EBADMSG, -ECOMM (another transport error:
 * etcd_last_error has curl's words).
 * The call is freed after this returns.
 */
typedef void (*etcd_done_fn)(void *arg, int err, const struct etcd_reply *r);
/* One watch message; a stream's end comes through etcd_done_fn. */
typedef void (*etcd_message_fn)(void *arg, const struct etcd_reply *r);

struct etcd *etcd_new(struct event_base *base, const struct etcd_opts *o);
struct etcd *etcd_free(struct etcd *e);

/*
 * POST body (JSON, consumed) to path ("/v3/kv/range"), done within
 * timeout_ms. A transport failure moves later calls to the next endpoint.
 * NULL on ENOMEM (done is not called then).
 */
struct etcd_call *etcd_post(struct etcd *e, const char *path, struct json_object *body,
			    uint32_t timeout_ms, etcd_done_fn done, void *arg);
/* Watch keys under prefix from revision from (0 = now): each message to on_message. */
struct etcd_call *etcd_watch(struct etcd *e, const char *prefix, int64_t from,
			     etcd_message_fn on_message, etcd_done_fn done, void *arg);
/* Drop a call without calling its done. */
void etcd_cancel(struct etcd_call *c);
/* What the last call answered with an HTTP error said ("HTTP 400: ..."), or curl's words. */
const char *etcd_last_error(const struct etcd *e);
/* The gRPC status (ETCD_NOT_FOUND, ...) of the last call's HTTP error; 0 if none given. */
int etcd_last_code(const struct etcd *e);
/* err of a finished call in words: etcd_last_error for -EIO and -ECOMM, else strerror. */
const char *etcd_strerror(const struct etcd *e, int err);
/* The endpoint calls go to now. */
const char *etcd_endpoint(const struct etcd *e);

/* Request bodies. Each returns a new json object, NULL on ENOMEM. */
struct json_object *etcd_req_range(const char *key, bool prefix);
struct json_object *etcd_req_put(const char *key, const char *value, int64_t lease);
struct json_object *etcd_req_delete(const char *key, bool prefix);
struct json_object *etcd_req_lease_grant(int64_t ttl_s);
struct json_object *etcd_req_lease_id(int64_t id);
/* A txn compare: key's target ("CREATE", "MOD", "VERSION", "LEASE") EQUAL v. */
struct json_object *etcd_cmp(const char *key, const char *target, int64_t v);
/* A txn operation: kind "requestPut", "requestRange" or "requestDeleteRange"; req consumed. */
struct json_object *etcd_op(const char *kind, struct json_object *req);
/* A txn of compare and success arrays (consumed), with no failure operations. */
struct json_object *etcd_req_txn(struct json_object *compare, struct json_object *success);

#endif
