/*
 * etcd-parse.c - the pure half of the etcd client (etcd.h): base64, request
 * bodies and the reply parser. No I/O, so tests/fuzz/fuzz-etcd.c can feed it
 * anything. The gateway writes int64 fields as JSON strings ("123"); both
 * strings and numbers are accepted.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"

/*
 * base64 of our own, not libcrypto's: paddockd maps no OpenSSL unless the
 * API serves TLS. Standard alphabet, padded (RFC 4648 section 4), which is
 * what etcd's JSON gateway writes and reads.
 */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64(const void *p, size_t n)
{
	const unsigned char *in = p;
	char *s, *o;

	if (n > ETCD_MAX_REPLY)
		return NULL;
	if (!(s = o = malloc(4 * ((n + 2) / 3) + 1)))
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64_alphabet[v & 63] : '=';
	}
	*o = '\0';
	return s;
}

/* The value of one base64 digit, or -1. */
static int b64_digit(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict: a multiple of 4 characters of the alphabet, '=' only as the last
 * one or two, and the bits padding leaves over zero; so each byte string
 * has exactly one encoding, the one etcd_b64 writes.
 */
int etcd_unb64(const char *s, char **out, size_t *n)
{
	size_t len = strlen(s), pad = 0, o = 0;
	char *b;

	*out = NULL;
	*n = 0;
	if (len % 4 || len > ETCD_MAX_REPLY)
		return -EBADMSG;
	if (len && s[len - 1] == '=')
		pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
	if (!(b = malloc(len / 4 * 3 + 1)))
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			int d = last && j >= 4 - pad ? 0 : b64_digit(s[i + j]);

			if (d < 0)
				goto bad;
			v = v << 6 | (uint32_t)d;
		}
		b[o++] = (char)(v >> 16);
		if (last && pad == 2) {
			if (v & 0xffff)
				goto bad;
			break;
		}
		b[o++] = (char)(v >> 8);
		if (last && pad == 1) {
			if (v & 0xff)
				goto bad;
			break;
		}
		b[o++] = (char)v;
	}
	b[o] = '\0';
	*out = b;
	*n = o;
	return 0;
bad:
	free(b);
	return -EBADMSG;
}

char *etcd_prefix_end(const char *prefix)
{
	size_t n = strlen(prefix);
	char *e = strdup(prefix);

	if (!e)
		return NULL;
	while (n > 0 && (unsigned char)e[n - 1] == 0xff)
		e[--n] = '\0';
	if (n == 0) {
		free(e);
		return strdup("\0"); /* whole keyspace: range_end "\0" means "all keys" */
	}
	e[n - 1]++;
	return e;
}

/* Set field to the base64 of s; false on ENOMEM. */
static bool put_b64(struct json_object *o, const char *field, const char *s, size_t n)
{
	char *b = etcd_b64(s, n);

	if (!b)
		return false;
	int r = json_object_object_add(o, field, json_object_new_string(b));
	free(b);
	return r == 0;
}

static bool put_range_end(struct json_object *o, const char *key)
{
	char *end = etcd_prefix_end(key);
	bool ok = end && put_b64(o, "range_end", end, strlen(end) ? strlen(end) : 1);

	free(end);
	return ok;
}

struct json_object *etcd_req_range(const char *key, bool prefix)
{
	struct json_object *o = json_object_new_object();

	if (!o || !put_b64(o, "key", key, strlen(key)) || (prefix && !put_range_end(o, key)))
		return json_object_put(o), NULL;
	return o;
}

struct json_object *etcd_req_delete(const char *key, bool prefix)
{
	return etcd_req_range(key, prefix);
}

static struct json_object *new_i64_string(int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, v);
	return json_object_new_string(b);
}

struct json_object *etcd_req_put(const char *key, const char *value, int64_t lease)
{
	struct json_object *o = json_object_new_object();

	if (!o || !put_b64(o, "key", key, strlen(key)) ||
	    !put_b64(o, "value", value, strlen(value)))
		return json_object_put(o), NULL;
	if (lease && json_object_object_add(o, "lease", new_i64_string(lease)))
		return json_object_put(o), NULL;
	return o;
}

struct json_object *etcd_req_lease_grant(int64_t ttl_s)
{
	struct json_object *o = json_object_new_object();

	if (!o || json_object_object_add(o, "TTL", new_i64_string(ttl_s)))
		return json_object_put(o), NULL;
	return o;
}

struct json_object *etcd_req_lease_id(int64_t id)
{
	struct json_object *o = json_object_new_object();

	if (!o || json_object_object_add(o, "ID", new_i64_string(id)))
		return json_object_put(o), NULL;
	return o;
}

struct json_object *etcd_cmp(const char *key, const char *target, int64_t v)
{
	static const char *const targets[][2] = { { "CREATE", "create_revision" },
						  { "MOD", "mod_revision" },
						  { "VERSION", "version" },
						  { "LEASE", "lease" } };
	struct json_object *o = json_object_new_object();
	const char *field = NULL;

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (strcmp(target, targets[i][0]) == 0)
			field = targets[i][1];
	if (!o || !field || !put_b64(o, "key", key, strlen(key)) ||
	    json_object_object_add(o, "target", json_object_new_string(target)) ||
	    json_object_object_add(o, "result", json_object_new_string("EQUAL")) ||
	    json_object_object_add(o, field, new_i64_string(v)))
		return json_object_put(o), NULL;
	return o;
}

struct json_object *etcd_op(const char *kind, struct json_object *req)
{
	struct json_object *o = req ? json_object_new_object() : NULL;

	if (!o || json_object_object_add(o, kind, req)) {
		json_object_put(req);
		return json_object_put(o), NULL;
	}
	return o;
}

struct json_object *etcd_req_txn(struct json_object *compare, struct json_object *success)
{
	struct json_object *o = compare && success ? json_object_new_object() : NULL;

	if (!o || json_object_object_add(o, "compare", compare) ||
	    json_object_object_add(o, "success", success)) {
		json_object_put(compare);
		json_object_put(success);
		return json_object_put(o), NULL;
	}
	return o;
}

/* An int64 field written as a string or a number; 0 when absent or malformed. */
static int64_t get_i64(struct json_object *o, const char *field)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, field, &v))
		return 0;
	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_string))
		return 0;
	const char *s = json_object_get_string(v);
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	return errno || end == s || *end ? 0 : (int64_t)x;
}

static struct json_object *get_type(struct json_object *o, const char *field, json_type t)
{
	struct json_object *v;

	return json_object_object_get_ex(o, field, &v) && json_object_is_type(v, t) ? v : NULL;
}

static void kv_clear(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	*kv = (struct etcd_kv){ 0 };
}

static int kv_parse(struct json_object *o, struct etcd_kv *kv)
{
	struct json_object *k = get_type(o, "key", json_type_string);
	struct json_object *v = get_type(o, "value", json_type_string);
	size_t klen;
	int r;

	*kv = (struct etcd_kv){ 0 };
	if (!json_object_is_type(o, json_type_object) || !k)
		return -EBADMSG;
	if ((r = etcd_unb64(json_object_get_string(k), &kv->key, &klen)) < 0)
		return r;
	if (klen > ETCD_MAX_KEY || memchr(kv->key, '\0', klen)) {
		kv_clear(kv);
		return -EBADMSG;
	}
	r = v ? etcd_unb64(json_object_get_string(v), &kv->value, &kv->vlen)
	      : ((kv->value = strdup("")) ? 0 : -ENOMEM);
	if (r < 0) {
		kv_clear(kv);
		return r;
	}
	kv->create_rev = get_i64(o, "create_revision");
	kv->mod_rev = get_i64(o, "mod_revision");
	kv->version = get_i64(o, "version");
	kv->lease = get_i64(o, "lease");
	return 0;
}

static int add_kvs(struct json_object *arr, struct etcd_reply *out)
{
	size_t n = json_object_array_length(arr);

	if (n == 0)
		return 0;
	if (n > ETCD_MAX_KVS || out->nkvs + n > ETCD_MAX_KVS)
		return -E2BIG;
	struct etcd_kv *v = realloc(out->kvs, (out->nkvs + n) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	out->kvs = v;
	for (size_t i = 0; i < n; i++) {
		int r = kv_parse(json_object_array_get_idx(arr, i), &out->kvs[out->nkvs]);
		if (r < 0)
			return r;
		out->nkvs++;
	}
	return 0;
}

static int add_events(struct json_object *arr, struct etcd_reply *out)
{
	size_t n = json_object_array_length(arr);

	if (n == 0)
		return 0;
	if (n > ETCD_MAX_KVS)
		return -E2BIG;
	out->events = calloc(n, sizeof(*out->events));
	if (!out->events)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *ev = json_object_array_get_idx(arr, i), *kv, *t;

		if (!json_object_is_type(ev, json_type_object) ||
		    !(kv = get_type(ev, "kv", json_type_object)))
			return -EBADMSG;
		t = get_type(ev, "type", json_type_string);
		if (t && strcmp(json_object_get_string(t), "DELETE") == 0)
			out->events[out->nevents].type = ETCD_DELETE;
		else if (t && strcmp(json_object_get_string(t), "PUT") != 0)
			return -EBADMSG;
		int r = kv_parse(kv, &out->events[out->nevents].kv);
		if (r < 0)
			return r;
		out->nevents++;
	}
	return 0;
}

static int parse_body(struct json_object *o, struct etcd_reply *out)
{
	struct json_object *x, *arr;
	int r;

	if ((x = get_type(o, "header", json_type_object)))
		out->revision = get_i64(x, "revision");
	if ((arr = get_type(o, "kvs", json_type_array)) && (r = add_kvs(arr, out)) < 0)
		return r;
	if ((x = get_type(o, "succeeded", json_type_boolean)))
		out->succeeded = json_object_get_boolean(x);
	if ((arr = get_type(o, "responses", json_type_array))) {
		size_t n = json_object_array_length(arr);
		for (size_t i = 0; i < n; i++) {
			struct json_object *resp = json_object_array_get_idx(arr, i), *rr;
			if (json_object_is_type(resp, json_type_object) &&
			    (rr = get_type(resp, "response_range", json_type_object)) &&
			    (x = get_type(rr, "kvs", json_type_array)) && (r = add_kvs(x, out)) < 0)
				return r;
		}
	}
	out->id = get_i64(o, "ID");
	out->ttl = get_i64(o, "TTL");
	out->watch_id = get_i64(o, "watch_id");
	out->compact_revision = get_i64(o, "compact_revision");
	if ((x = get_type(o, "created", json_type_boolean)))
		out->created = json_object_get_boolean(x);
	if ((x = get_type(o, "canceled", json_type_boolean)))
		out->canceled = json_object_get_boolean(x);
	if ((arr = get_type(o, "events", json_type_array)) && (r = add_events(arr, out)) < 0)
		return r;
	return 0;
}

int etcd_reply_parse(const char *buf, size_t len, struct etcd_reply *out)
{
	struct json_tokener *tok;
	struct json_object *o, *x;
	int r;

	*out = (struct etcd_reply){ 0 };
	if (len > ETCD_MAX_REPLY)
		return -E2BIG;
	if (!(tok = json_tokener_new_ex(64)))
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, buf, (int)len);
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	/* Streams and some errors wrap the message: {"result": ...} / {"error": ...}. */
	if ((x = get_type(o, "error", json_type_object)) ||
	    (x = get_type(o, "error", json_type_string)) ||
	    (x = get_type(o, "message", json_type_string))) {
		struct json_object *m = json_object_is_type(x, json_type_string)
					    ? x
					    : get_type(x, "message", json_type_string);
		snprintf(out->error, sizeof(out->error), "%s",
			 m ? json_object_get_string(m) : "error without a message");
		/* The gRPC status: {"code": 5} beside the message, or grpc_code inside error. */
		bool wrapped = json_object_is_type(x, json_type_object);
		int64_t code = get_i64(wrapped ? x : o, wrapped ? "grpc_code" : "code");
		out->code = code > 0 && code < 256 ? (int)code : 0;
	}
	if ((x = get_type(o, "result", json_type_object)))
		r = parse_body(x, out);
	else
		r = parse_body(o, out);
	json_object_put(o);
	if (r < 0)
		etcd_reply_clear(out);
	return r;
}

void etcd_reply_clear(struct etcd_reply *r)
{
	for (size_t i = 0; i < r->nkvs; i++)
		kv_clear(&r->kvs[i]);
	free(r->kvs);
	if (r->events)
		for (size_t i = 0; i < r->nevents; i++)
			kv_clear(&r->events[i].kv);
	free(r->events);
	*r = (struct etcd_reply){ 0 };
}
