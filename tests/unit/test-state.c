/*
 * test-state.c - unit tests for supervisor/core/state.c (the state file parsed
 * as untrusted input, saved atomically) and supervisor/core/fdstore.c (a real
 * holder process keeps a pipe's read end across its client's exit).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fdstore.h"
#include "state.h"

static void test_parse_valid(void **unused)
{
	static const char doc[] =
	    "{\"version\":1,\"boot_id\":\"abc\",\"daemon_pid\":42,\"services\":["
	    "{\"name\":\"web\",\"pid\":100,\"start_time\":12345,\"started_at_ms\":1700000000000,"
	    "\"restarts\":2,\"failures\":1,\"oom_kills\":3},"
	    "{\"name\":\"tr\",\"pid\":0,\"spec\":\"services: {}\",\"rm\":true}]}";
	struct state st;
	struct error err = { 0 };

	assert_int_equal(state_parse(doc, strlen(doc), &st, &err), 0);
	assert_string_equal(st.boot_id, "abc");
	assert_int_equal(st.daemon_pid, 42);
	assert_int_equal(st.nservices, 2);
	const struct state_service *w = state_find(&st, "web");
	assert_non_null(w);
	assert_int_equal(w->pid, 100);
	assert_int_equal(w->start_time, 12345);
	assert_int_equal(w->restarts, 2);
	assert_int_equal(w->oom_kills, 3);
	assert_null(w->spec_text);
	const struct state_service *t = state_find(&st, "tr");
	assert_string_equal(t->spec_text, "services: {}");
	assert_true(t->rm);
	assert_null(state_find(&st, "nope"));
	state_clear(&st);
}

/* Each broken document is refused with an error that names the field. */
static void test_parse_invalid(void **unused)
{
	static const struct {
		const char *doc, *want;
	} cases[] = {
		{ "", "not JSON" },
		{ "{", "not JSON" },
		{ "[]", "not a JSON object" },
		{ "{\"version\":1,\"services\":[]} x", "trailing data" },
		{ "{\"services\":[]}", "version" },
		{ "{\"version\":2,\"services\":[]}", "version" },
		{ "{\"version\":1}", "services" },
		{ "{\"version\":1,\"services\":{}}", "services" },
		{ "{\"version\":1,\"services\":[1]}", "services[0]: not an object" },
		{ "{\"version\":1,\"services\":[{}]}", "services[0].name" },
		{ "{\"version\":1,\"services\":[{\"name\":\"../x\"}]}", "services[0].name" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a/b\"}]}", "services[0].name" },
		{ "{\"version\":1,\"services\":[{\"name\":\"\"}]}", "services[0].name" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\\u0000b\"}]}", "services[0].name" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"pid\":-1}]}", "services[0].pid" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"pid\":\"1\"}]}",
		  "services[0].pid" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"pid\":4294967296}]}",
		  "services[0].pid" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"restarts\":1.5}]}",
		  "services[0].restarts" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"spec\":7}]}",
		  "services[0].spec" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"rm\":1}]}", "services[0].rm" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\"},{\"name\":\"a\"}]}",
		  "services[1].name: a appears twice" },
		{ "{\"version\":1,\"boot_id\":7,\"services\":[]}", "boot_id" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"held\":\"gone\"}]}",
		  "services[0].held" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"held\":true}]}",
		  "services[0].held" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"rebalance\":[]}]}",
		  "services[0].rebalance" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"rebalance\":{\"grown_max\":-1}}]"
		  "}",
		  "services[0].rebalance.grown_max" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"exit\":[]}]}",
		  "services[0].exit: not an object" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"exit\":{\"kind\":99}}]}",
		  "services[0].exit.kind" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"exit\":{\"kind\":1}}]}",
		  "services[0].exit.reason" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct state st;
		struct error err = { 0 };
		int r = state_parse(cases[i].doc, strlen(cases[i].doc), &st, &err);
		if (r == 0 || !strstr(err.msg, cases[i].want))
			fail_msg("case %zu (%s): r=%d err '%s', want '%s'", i, cases[i].doc, r,
				 err.msg, cases[i].want);
		assert_int_equal(st.nservices, 0);
	}
}

static void test_parse_bounds(void **unused)
{
	size_t n = STATE_MAX_SPEC_TEXT + 64;
	char *doc = malloc(n + 128);
	struct error err = { 0 };
	struct state st;
	int len = sprintf(doc, "{\"version\":1,\"services\":[{\"name\":\"a\",\"spec\":\"");

	memset(doc + len, 'x', n);
	strcpy(doc + len + n, "\"}]}");
	assert_int_equal(state_parse(doc, strlen(doc), &st, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "services[0].spec"));
	assert_int_equal(state_parse(doc, STATE_MAX_BYTES + 1, &st, &err), -EFBIG);
	free(doc);
}

static void test_save_load(void **unused)
{
	char dir[] = "/tmp/paddock-state-XXXXXX", path[256], tmp[300];
	struct error err = { 0 };
	struct state_service svcs[2] = { { .name = "a",
					   .pid = 7,
					   .start_time = 99,
					   .restarts = 4,
					   .working_set = 5 << 20,
					   .grown_max = 64 << 20 },
					 { .name = "b",
					   .spec_text = (char *)"x: 1",
					   .rm = true,
					   .held = STATE_HELD_PARKED,
					   .exit_kind = 1,
					   .exit_code = 3,
					   .exit_ms = 1234,
					   .exit_reason = "exited 3",
					   .bound_stop = true,
					   .completed = true } };
	struct state st = { .boot_id = "boot", .daemon_pid = 1, .services = svcs, .nservices = 2 },
		     back;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(state_save(path, &st), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1); /* renamed into place */
	assert_int_equal(state_load(path, &back, &err), 0);
	assert_int_equal(back.nservices, 2);
	assert_int_equal(state_find(&back, "a")->start_time, 99);
	assert_int_equal(state_find(&back, "a")->restarts, 4);
	assert_string_equal(state_find(&back, "b")->spec_text, "x: 1");
	/* What the daemon decided and learned comes back as it was. */
	assert_int_equal(state_find(&back, "a")->held, STATE_HELD_NONE);
	assert_int_equal(state_find(&back, "b")->held, STATE_HELD_PARKED);
	assert_int_equal(state_find(&back, "a")->working_set, 5 << 20);
	assert_int_equal(state_find(&back, "a")->grown_max, 64 << 20);
	assert_int_equal(state_find(&back, "b")->grown_max, 0);
	assert_int_equal(state_find(&back, "b")->exit_code, 3);
	assert_int_equal(state_find(&back, "b")->exit_ms, 1234);
	assert_string_equal(state_find(&back, "b")->exit_reason, "exited 3");
	assert_true(state_find(&back, "b")->bound_stop);
	assert_true(state_find(&back, "b")->completed);
	assert_false(state_find(&back, "a")->bound_stop);
	assert_false(state_find(&back, "a")->completed);
	assert_string_equal(back.boot_id, "boot");
	state_clear(&back);
	/* A symlink planted in its place is not followed. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_true(state_load(path, &back, &err) < 0);
	unlink(path);
	rmdir(dir);
	assert_int_equal(state_load(path, &back, &err), -ENOENT);
}

/* Reload restarts, exits by kind and gone cgroups' memory.events: kept, checked, optional. */
static void test_exit_counters(void **unused)
{
	static const struct {
		const char *doc, *want;
	} bad[] = {
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"exits\":{}}]}",
		  "services[0].exits: not an array" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"exits\":[0,-1]}]}",
		  "services[0].exits[1]" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"exits\":"
		  "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}",
		  "services[0].exits: not an array of at most 16" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"memory_events\":[]}]}",
		  "services[0].memory_events: not an object" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"memory_events\":{\"oom_kill\":-2}"
		  "}]}",
		  "services[0].memory_events.oom_kill" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"reloads\":\"1\"}]}",
		  "services[0].reloads" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"bound_stop\":1}]}",
		  "services[0].bound_stop" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"completed\":\"y\"}]}",
		  "services[0].completed" },
		{ "{\"version\":1,\"services\":[{\"name\":\"a\",\"run_uid\":4294967296}]}",
		  "services[0].run_uid: out of range" },
	};
	struct state_service svc = { .name = "a", .restarts = 2, .reloads = 5 };
	struct state st = { .services = &svc, .nservices = 1 }, back;
	struct error err = { 0 };
	size_t len;
	char *doc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = state_parse(bad[i].doc, strlen(bad[i].doc), &back, &err);
		if (r == 0 || !strstr(err.msg, bad[i].want))
			fail_msg("case %zu: r=%d err '%s', want '%s'", i, r, err.msg, bad[i].want);
	}
	svc.exits[1] = 3;
	svc.exits[3] = 1;
	svc.memory_events.oom_kill = 1;
	svc.memory_events.max = 40;
	svc.pid = 42;
	svc.run_uid = 1000;
	svc.run_gid = 100;
	svc.run_ids = true;
	doc = state_format(&st, &len);
	assert_int_equal(state_parse(doc, len, &back, &err), 0);
	free(doc);
	assert_int_equal(back.services[0].reloads, 5);
	assert_int_equal(back.services[0].restarts, 2);
	assert_int_equal(back.services[0].exits[1], 3);
	assert_int_equal(back.services[0].exits[3], 1);
	assert_int_equal(back.services[0].exits[2], 0);
	assert_int_equal(back.services[0].memory_events.oom_kill, 1);
	assert_int_equal(back.services[0].memory_events.max, 40);
	assert_int_equal(back.services[0].run_uid, 1000);
	assert_int_equal(back.services[0].run_gid, 100);
	assert_true(back.services[0].run_ids);
	state_clear(&back);
	/* Ids not known (learned from nothing at an adoption): not written, not taken as root. */
	svc.run_ids = false;
	doc = state_format(&st, &len);
	assert_null(strstr(doc, "run_uid"));
	assert_int_equal(state_parse(doc, len, &back, &err), 0);
	free(doc);
	assert_false(back.services[0].run_ids);
	state_clear(&back);
	/* A record of the current main, without any of them, loads as zeros. */
	const char *old = "{\"version\":1,\"services\":[{\"name\":\"a\",\"restarts\":1}]}";
	assert_int_equal(state_parse(old, strlen(old), &back, &err), 0);
	assert_int_equal(back.services[0].reloads, 0);
	assert_int_equal(back.services[0].exits[1], 0);
	assert_int_equal(back.services[0].memory_events.oom_kill, 0);
	assert_false(back.services[0].run_ids);
	state_clear(&back);
}

/*
 * Pins and STATUS= (the state file's kept block): written, read back the same,
 * absent in older files, and refused with the field named when broken.
 */
static void test_kept(void **unused)
{
	struct state_service svc = { .name = "web", .pid = 7 };
	struct state st = { .services = &svc, .nservices = 1 }, back;
	struct error err = { 0 };
	size_t len;

	svc.pin.set = true;
	svc.pin.memory = (struct spec_memory){ .min = SPEC_UNSET,
					       .low = SPEC_SIZE_MAX,
					       .high = 64 << 20,
					       .max = 128 << 20,
					       .swap_max = 0 };
	svc.pin.cpu_weight = 200;
	svc.pin.cpu_max_mcpu = 1500;
	svc.pin.pids_max = SPEC_UNSET;
	snprintf(svc.pin.cpus, sizeof(svc.pin.cpus), "0-1");
	snprintf(svc.status_text, sizeof(svc.status_text), "ready: 3 connections");
	char *doc = state_format(&st, &len);
	assert_int_equal(state_parse(doc, len, &back, &err), 0);
	free(doc);
	const struct state_service *w = state_find(&back, "web");
	assert_true(w->pin.set);
	assert_memory_equal(&w->pin.memory, &svc.pin.memory, sizeof(svc.pin.memory));
	assert_int_equal(w->pin.cpu_weight, 200);
	assert_int_equal(w->pin.cpu_max_mcpu, 1500);
	assert_int_equal(w->pin.io_weight, 0);
	assert_true(w->pin.pids_max == SPEC_UNSET);
	assert_string_equal(w->pin.cpus, "0-1");
	assert_string_equal(w->status_text, "ready: 3 connections");
	state_clear(&back);

	/* A file from before: nothing pinned, no text. */
	static const char old[] = "{\"version\":1,\"services\":[{\"name\":\"web\",\"pid\":7}]}";
	assert_int_equal(state_parse(old, strlen(old), &back, &err), 0);
	assert_false(back.services[0].pin.set);
	assert_string_equal(back.services[0].status_text, "");
	state_clear(&back);

	static const struct {
		const char *member, *want;
	} bad[] = {
		{ "\"pin\":3", "services[0].pin: not an object" },
		{ "\"pin\":{}", "services[0].pin.memory: missing" },
		{ "\"pin\":{\"memory\":{\"max\":-1}}", "services[0].pin.memory.max: out of range" },
		{ "\"pin\":{\"memory\":{},\"cpu_weight\":10001}", "services[0].pin.cpu_weight" },
		{ "\"pin\":{\"memory\":{},\"cpus\":\"0;rm\"}", "services[0].pin.cpus" },
		{ "\"status_text\":\"a\\nb\"", "services[0].status_text" },
		{ "\"status_text\":7", "services[0].status_text" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char d[512];
		snprintf(d, sizeof(d), "{\"version\":1,\"services\":[{\"name\":\"web\",%s}]}",
			 bad[i].member);
		memset(&err, 0, sizeof(err));
		assert_true(state_parse(d, strlen(d), &back, &err) < 0);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("%s: got \"%s\", want \"%s\"", d, err.msg, bad[i].want);
	}
}

/* schedule: a timer's last run and first scheduling round-trip; absent or bad ones. */
static void test_timer(void **unused)
{
	struct state_service svc = { .name = "job",
				     .timer_last_ms = 1796544000123ULL,
				     .timer_armed_ms = 1796500000000ULL };
	struct state st = { .services = &svc, .nservices = 1 }, back;
	struct error err = { 0 };
	size_t len;
	char *doc = state_format(&st, &len);

	(void)unused;
	assert_int_equal(state_parse(doc, len, &back, &err), 0);
	free(doc);
	assert_true(back.services[0].timer_last_ms == 1796544000123ULL);
	assert_true(back.services[0].timer_armed_ms == 1796500000000ULL);
	state_clear(&back);

	static const char old[] = "{\"version\":1,\"services\":[{\"name\":\"job\",\"pid\":0}]}";
	assert_int_equal(state_parse(old, strlen(old), &back, &err), 0);
	assert_true(back.services[0].timer_last_ms == 0 && back.services[0].timer_armed_ms == 0);
	state_clear(&back);

	static const char bad[] =
	    "{\"version\":1,\"services\":[{\"name\":\"job\",\"timer\":{\"last_ms\":-5}}]}";
	assert_true(state_parse(bad, strlen(bad), &back, &err) < 0);
	assert_non_null(strstr(err.msg, "services[0].timer.last_ms: out of range"));
}

static void test_proc_start_time(void **unused)
{
	char buf[1024];
	unsigned long long want = 0;
	FILE *f = fopen("/proc/self/stat", "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	/* Field 22, counted after the comm's closing parenthesis (field 3 onwards). */
	char *p = strrchr(buf, ')') + 2;
	for (int field = 3; field < 22; field++)
		p = strchr(p, ' ') + 1;
	want = strtoull(p, NULL, 10);
	assert_true(want > 0);
	assert_int_equal(state_proc_start_time(getpid()), want);
	assert_int_equal(state_proc_start_time(0x7ffffff0), 0);
}

struct seen {
	int fd;
	size_t n;
	char key[FDSTORE_KEY_MAX];
};

static void on_entry(void *arg, const char *key, int *fds, size_t n)
{
	struct seen *s = arg;

	snprintf(s->key, sizeof(s->key), "%s", key);
	s->n = n;
	s->fd = fds[0];
	for (size_t i = 1; i < n; i++)
		close(fds[i]);
}

/* A real holder: data written while no client holds the read end is there later. */
static void test_fdstore_holds(void **unused)
{
	char dir[] = "/tmp/paddock-fdstore-XXXXXX", path[256], buf[32] = "";
	struct fdstore *fs = NULL;
	struct seen seen = { .fd = -1 };
	bool spawned = false;
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fdstore.sock", dir);
	assert_int_equal(fdstore_open(path, &fs, &spawned), 0);
	assert_true(spawned);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fdstore_put(fs, "svc", &p[0], 1), 0);
	close(p[0]); /* only the holder reads now */
	fs = fdstore_free(fs);
	/* No reader of ours: without the holder this write would fail with EPIPE. */
	assert_int_equal(write(p[1], "line 1\n", 7), 7);
	close(p[1]);

	assert_int_equal(fdstore_open(path, &fs, &spawned), 0);
	assert_false(spawned); /* the same holder answers */
	assert_int_equal(fdstore_list(fs, on_entry, &seen), 0);
	assert_string_equal(seen.key, "svc");
	assert_int_equal(seen.n, 1);
	assert_int_equal(read(seen.fd, buf, sizeof(buf) - 1), 7);
	assert_string_equal(buf, "line 1\n");
	close(seen.fd);

	/* Dropped entries are gone; garbage keys are refused. */
	assert_int_equal(fdstore_drop(fs, "svc"), 0);
	seen = (struct seen){ .fd = -1 };
	assert_int_equal(fdstore_list(fs, on_entry, &seen), 0);
	assert_int_equal(seen.n, 0);
	char longkey[FDSTORE_KEY_MAX + 8];
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(fdstore_put(fs, longkey, NULL, 0), -EINVAL);

	/* Quit waits until the holder is gone; nothing answers afterwards. */
	assert_int_equal(fdstore_quit(fs), 0);
	fs = fdstore_free(fs);
	assert_int_equal(fdstore_open(path, &fs, &spawned), 0);
	assert_true(spawned);
	assert_int_equal(fdstore_quit(fs), 0);
	fs = fdstore_free(fs);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),	cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_bounds),	cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_proc_start_time), cmocka_unit_test(test_fdstore_holds),
		cmocka_unit_test(test_exit_counters),	cmocka_unit_test(test_kept),
		cmocka_unit_test(test_timer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
