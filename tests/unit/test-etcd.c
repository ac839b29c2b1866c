/*
 * test-etcd.c - unit tests for supervisor/fleet/etcd-parse.c: base64, the
 * request bodies the fleet sends and the replies etcd's JSON gateway gives
 * (shapes taken from etcd 3.4), with the bounds a hostile server would push.
 */
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "etcd.h"

static int parse(const char *s, struct etcd_reply *r)
{
	return etcd_reply_parse(s, strlen(s), r);
}

static void test_b64(void **state)
{
	/* RFC 4648 section 10. */
	static const char *const vec[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	unsigned char all[256];
	char *s, *out;
	size_t n;

	(void)state;
	s = etcd_b64("/paddock/", 9);
	assert_string_equal(s, "L3BhZGRvY2sv");
	free(s);
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		s = etcd_b64(vec[i][0], strlen(vec[i][0]));
		assert_string_equal(s, vec[i][1]);
		free(s);
		assert_int_equal(etcd_unb64(vec[i][1], &out, &n), 0);
		assert_int_equal(n, strlen(vec[i][0]));
		assert_string_equal(out, vec[i][0]);
		free(out);
	}
	/* Every byte value, at each of the three positions of a group, each length. */
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(all); len++) {
		s = etcd_b64(all, len);
		assert_int_equal(strlen(s), 4 * ((len + 2) / 3));
		assert_int_equal(etcd_unb64(s, &out, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, all, len);
		assert_int_equal(out[n], '\0');
		free(out);
		free(s);
	}
}

static void test_b64_malformed(void **state)
{
	/* Each with why it is refused. */
	static const char *const bad[][2] = {
		{ "abc", "not a multiple of 4" },
		{ "Zg=", "padding short of a group" },
		{ "Zm9vY", "a partial group" },
		{ "ab!=", "not in the alphabet" },
		{ "-_AA", "the URL-safe alphabet" },
		{ "Zm9v\nZm9v", "a newline inside" },
		{ "Zm 9", "a space" },
		{ "====", "only padding" },
		{ "Z===", "three '='" },
		{ "=Zm9", "padding first" },
		{ "Zm=v", "padding inside a group" },
		{ "Zg==Zm9v", "padding before the last group" },
		{ "Zh==", "padding leaves non-zero bits (Zg== is canonical)" },
		{ "Zm9=", "padding leaves non-zero bits (Zm8= is canonical)" },
		{ "Zm9\x80", "a byte past ASCII" },
	};
	char *out = (char *)"untouched";
	size_t n = 99;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (etcd_unb64(bad[i][0], &out, &n) != -EBADMSG)
			fail_msg("\"%s\" (%s) was accepted", bad[i][0], bad[i][1]);
		assert_null(out);
		assert_int_equal(n, 0);
		out = (char *)"untouched";
	}
}

static void test_prefix_end(void **state)
{
	char *e;

	(void)state;
	e = etcd_prefix_end("/paddock/");
	assert_string_equal(e, "/paddock0");
	free(e);
	e = etcd_prefix_end("a\xff");
	assert_string_equal(e, "b");
	free(e);
}

static void test_requests(void **state)
{
	struct json_object *cmp = json_object_new_array(), *ops = json_object_new_array(), *t;

	(void)state;
	json_object_array_add(cmp, etcd_cmp("k", "CREATE", 0));
	json_object_array_add(ops, etcd_op("requestPut", etcd_req_put("k", "n1", 42)));
	t = etcd_req_txn(cmp, ops);
	assert_string_equal(json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN),
			    "{\"compare\":[{\"key\":\"aw==\",\"target\":\"CREATE\",\"result\":"
			    "\"EQUAL\",\"create_revision\":\"0\"}],\"success\":[{\"requestPut\":"
			    "{\"key\":\"aw==\",\"value\":\"bjE=\",\"lease\":\"42\"}}]}");
	json_object_put(t);
	t = etcd_req_range("/a/", true);
	assert_string_equal(json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN),
			    "{\"key\":\"L2Ev\",\"range_end\":\"L2Ew\"}");
	json_object_put(t);
	assert_null(etcd_cmp("k", "NOPE", 1));
}

static void test_range_and_txn(void **state)
{
	struct etcd_reply r;

	(void)state;
	assert_int_equal(
	    parse("{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"key\":\"Zm9v\","
		  "\"create_revision\":\"2\",\"mod_revision\":\"5\",\"version\":\"1\","
		  "\"value\":\"YmFy\",\"lease\":\"99\"},{\"key\":\"eg==\"}],\"count\":\"2\"}",
		  &r),
	    0);
	assert_int_equal(r.revision, 7);
	assert_int_equal(r.nkvs, 2);
	assert_string_equal(r.kvs[0].key, "foo");
	assert_string_equal(r.kvs[0].value, "bar");
	assert_int_equal(r.kvs[0].mod_rev, 5);
	assert_int_equal(r.kvs[0].lease, 99);
	assert_string_equal(r.kvs[1].value, ""); /* an empty value is left out */
	etcd_reply_clear(&r);
	/* A txn's ranges come back as kvs; "succeeded" absent means false. */
	assert_int_equal(parse("{\"header\":{\"revision\":\"8\"},\"succeeded\":true,\"responses\":["
			       "{\"response_put\":{}},{\"response_range\":{\"kvs\":[{\"key\":"
			       "\"Zm9v\",\"value\":\"YmFy\"}]}}]}",
			       &r),
			 0);
	assert_true(r.succeeded);
	assert_int_equal(r.nkvs, 1);
	etcd_reply_clear(&r);
	assert_int_equal(parse("{\"header\":{\"revision\":\"8\"}}", &r), 0);
	assert_false(r.succeeded);
	etcd_reply_clear(&r);
}

static void test_lease_and_watch(void **state)
{
	struct etcd_reply r;

	(void)state;
	assert_int_equal(parse("{\"result\":{\"header\":{},\"ID\":\"123\",\"TTL\":\"5\"}}", &r), 0);
	assert_int_equal(r.id, 123);
	assert_int_equal(r.ttl, 5);
	etcd_reply_clear(&r);
	/* An expired lease's keepalive: no TTL. */
	assert_int_equal(parse("{\"result\":{\"header\":{},\"ID\":\"123\"}}", &r), 0);
	assert_int_equal(r.ttl, 0);
	etcd_reply_clear(&r);
	assert_int_equal(parse("{\"result\":{\"header\":{\"revision\":\"4\"},\"events\":[{\"kv\":{"
			       "\"key\":\"Zm9v\",\"value\":\"YmFy\"}},{\"type\":\"DELETE\",\"kv\":{"
			       "\"key\":\"Zm9v\",\"mod_revision\":\"4\"}}]}}",
			       &r),
			 0);
	assert_int_equal(r.nevents, 2);
	assert_int_equal(r.events[0].type, ETCD_PUT);
	assert_int_equal(r.events[1].type, ETCD_DELETE);
	assert_int_equal(r.events[1].kv.mod_rev, 4);
	etcd_reply_clear(&r);
	/* A watch etcd cancelled (its revision compacted): the stream stays open. */
	assert_int_equal(parse("{\"result\":{\"header\":{},\"canceled\":true,"
			       "\"compact_revision\":\"3\"}}",
			       &r),
			 0);
	assert_true(r.canceled);
	assert_false(r.created);
	assert_int_equal(r.compact_revision, 3);
	etcd_reply_clear(&r);
	assert_int_equal(parse("{\"error\":{\"grpc_code\":3,\"message\":\"etcdserver: too many "
			       "operations in txn request\"}}",
			       &r),
			 0);
	assert_string_equal(r.error, "etcdserver: too many operations in txn request");
	assert_int_equal(r.code, 3);
	etcd_reply_clear(&r);
	/* A revoke of a lease etcd no longer knows: HTTP 404 with the gRPC status beside. */
	assert_int_equal(parse("{\"error\":\"etcdserver: requested lease not found\",\"message\":"
			       "\"etcdserver: requested lease not found\",\"code\":5}",
			       &r),
			 0);
	assert_string_equal(r.error, "etcdserver: requested lease not found");
	assert_int_equal(r.code, ETCD_NOT_FOUND);
	etcd_reply_clear(&r);
	/* No error, or a code that is not one: 0. */
	assert_int_equal(parse("{\"code\":5}", &r), 0);
	assert_int_equal(r.code, 0);
	etcd_reply_clear(&r);
	assert_int_equal(parse("{\"error\":\"x\",\"code\":\"99999999999\"}", &r), 0);
	assert_int_equal(r.code, 0);
	etcd_reply_clear(&r);
}

static void test_hostile(void **state)
{
	struct etcd_reply r;
	char *big;

	(void)state;
	assert_int_equal(parse("", &r), -EBADMSG);
	assert_int_equal(parse("[1,2]", &r), -EBADMSG);
	assert_int_equal(parse("{\"kvs\":[{\"value\":\"YmFy\"}]}", &r), -EBADMSG); /* no key */
	assert_int_equal(parse("{\"kvs\":[{\"key\":\"!!!!\"}]}", &r), -EBADMSG);
	assert_int_equal(parse("{\"kvs\":[{\"key\":\"YQBi\"}]}", &r), -EBADMSG); /* NUL in key */
	assert_int_equal(parse("{\"result\":{\"events\":[{\"type\":\"MOVE\",\"kv\":{\"key\":"
			       "\"Zm9v\"}}]}}",
			       &r),
			 -EBADMSG);
	assert_int_equal(r.nkvs, 0);
	/* Too big to look at. */
	big = malloc(ETCD_MAX_REPLY + 2);
	memset(big, ' ', ETCD_MAX_REPLY + 1);
	big[ETCD_MAX_REPLY + 1] = '\0';
	assert_int_equal(parse(big, &r), -E2BIG);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),	      cmocka_unit_test(test_b64_malformed),
		cmocka_unit_test(test_prefix_end),    cmocka_unit_test(test_requests),
		cmocka_unit_test(test_range_and_txn), cmocka_unit_test(test_lease_and_watch),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
