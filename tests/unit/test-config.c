/*
 * test-config.c - unit tests for config/: service specs (good and bad, with
 * exact file:line:column of every diagnostic), hostile YAML, directories
 * of spec files and the daemon config.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <alloca.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "units.h"

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)

static const struct config_host host8g = { .mem_total = 8 * GIB };

struct want {
	int line, col;
	const char *msg; /* substring of the message */
};

struct spec_case {
	const char *name;
	const char *yaml;
	size_t n; /* expected diagnostics; 0 = must parse */
	struct want d[12];
	void (*check)(const struct spec_set *set);
	bool file; /* load it from a file t.yaml (buffers are not interpolated) */
};

static void dump(const struct config_errors *e)
{
	config_errors_print(stderr, e);
}

/* Assert errs holds exactly n diagnostics for file, matching w in order. */
static void expect_diags(const struct config_errors *e, const char *file, size_t n,
			 const struct want *w)
{
	if (e->n != n) {
		dump(e);
		fail_msg("got %zu diagnostics, want %zu", e->n, n);
	}
	for (size_t i = 0; i < n; i++) {
		const struct config_diag *d = &e->diags[i];

		if (d->line != w[i].line || d->column != w[i].col || !d->file ||
		    strcmp(d->file, file) != 0 || !strstr(d->message, w[i].msg)) {
			dump(e);
			fail_msg("diagnostic %zu: got %s:%d:%d: %s; want %s:%d:%d: ...%s...", i,
				 d->file ? d->file : "(null)", d->line, d->column, d->message, file,
				 w[i].line, w[i].col, w[i].msg);
		}
	}
}

static void run_spec_case(void **state)
{
	const struct spec_case *c = *state;
	struct config_errors e = { 0 };
	struct spec_set *set = (struct spec_set *)(uintptr_t)1;
	char dir[] = "/tmp/paddock-test-config-XXXXXX";
	int r, cwd = -1;

	if (c->file) {
		FILE *f;

		cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(cwd >= 0);
		assert_non_null(mkdtemp(dir));
		assert_int_equal(chdir(dir), 0);
		f = fopen("t.yaml", "w");
		assert_non_null(f);
		fputs(c->yaml, f);
		fclose(f);
		r = config_load_specs("t.yaml", &host8g, &set, &e);
		unlink("t.yaml");
		assert_int_equal(fchdir(cwd), 0);
		close(cwd);
		rmdir(dir);
	} else {
		r = config_parse_specs_buffer("t.yaml", c->yaml, strlen(c->yaml), &host8g, &set,
					      &e);
	}

	if (c->n == 0) {
		if (r != 0 || e.n != 0) {
			dump(&e);
			fail_msg("%s: expected success, got %d", c->name, r);
		}
		assert_non_null(set);
		if (c->check)
			c->check(set);
	} else {
		assert_int_equal(r, -EINVAL);
		assert_null(set);
		expect_diags(&e, "t.yaml", c->n, c->d);
	}
	spec_set_free(set);
	config_errors_clear(&e);
}

/* --- checks for good specs --------------------------------------------- */

static void check_full(const struct spec_set *set)
{
	const struct service_spec *s;

	assert_int_equal(set->nservices, 2);
	assert_string_equal(set->services[0]->name, "db");
	s = spec_set_find(set, "web");
	assert_non_null(s);
	assert_string_equal(s->file, "t.yaml");
	assert_int_equal(s->line, 3);
	assert_int_equal(s->column, 3);
	assert_string_equal(s->image, "/var/lib/images/web:1.4");
	assert_null(s->rootfs);
	assert_int_equal(s->ncommand, 4);
	assert_string_equal(s->command[0], "/bin/httpd");
	assert_string_equal(s->command[3], "8080");
	assert_null(s->command[4]);
	assert_int_equal(s->nenvironment, 2);
	assert_string_equal(s->environment[0], "TZ=UTC");
	assert_string_equal(s->environment[1], "EMPTY=");
	assert_null(s->environment[2]);
	assert_string_equal(s->user, "1000:1000");
	assert_string_equal(s->working_dir, "/srv");
	assert_string_equal(s->hostname, "web");
	assert_int_equal(s->class, CLASS_CRITICAL);
	assert_true(s->init);
	assert_int_equal(s->resources.memory.min, 64 * MIB);
	assert_int_equal(s->resources.memory.low, 128 * MIB);
	assert_int_equal(s->resources.memory.high, 400 * MIB);
	assert_int_equal(s->resources.memory.max, 512 * MIB);
	assert_int_equal(s->resources.memory.swap_max, 0);
	assert_int_equal(s->resources.cpu.weight, 100);
	assert_int_equal(s->resources.cpu.max_mcpu, 1500);
	assert_string_equal(s->resources.cpu.cpus, "0-1");
	assert_int_equal(s->resources.pids_max, 256);
	assert_int_equal(s->resources.io_weight, 100);
	assert_int_equal(s->isolation.namespaces, SPEC_NS_DEFAULT);
	assert_int_equal(s->isolation.network, NETWORK_NONE);
	assert_false(s->isolation.readonly_rootfs);
	assert_int_equal(s->isolation.nmounts, 2);
	assert_int_equal(s->isolation.mounts[0].type, MOUNT_BIND);
	assert_string_equal(s->isolation.mounts[0].source, "/srv/data");
	assert_string_equal(s->isolation.mounts[0].target, "/data");
	assert_true(s->isolation.mounts[0].readonly);
	assert_int_equal(s->isolation.mounts[0].size, SPEC_UNSET);
	assert_int_equal(s->isolation.mounts[1].type, MOUNT_TMPFS);
	assert_null(s->isolation.mounts[1].source);
	assert_int_equal(s->isolation.mounts[1].size, 64 * MIB);
	assert_int_equal(s->restart.policy, RESTART_ON_FAILURE);
	assert_int_equal(s->restart.delay_ms, 100);
	assert_int_equal(s->restart.max_delay_ms, 30000);
	assert_int_equal(s->restart.reset_after_ms, 60000);
	assert_int_equal(s->restart.burst, 5);
	assert_int_equal(s->restart.interval_ms, 60000);
	assert_int_equal(s->ready.type, READY_NOTIFY);
	assert_int_equal(s->ready.timeout_ms, 90000);
	assert_int_equal(s->watchdog_ms, 10000);
	assert_int_equal(s->ndepends_on, 1);
	assert_string_equal(s->depends_on[0], "db");
	assert_null(s->depends_on[1]);
	assert_int_equal(s->stop.signal, SIGTERM);
	assert_int_equal(s->stop.timeout_ms, 10000);
	assert_int_equal(s->on_oom, ON_OOM_RESTART);
	assert_int_equal(s->pressure[PRESSURE_MEMORY].action, PRESSURE_ACTION_RECLAIM);
	assert_int_equal(s->pressure[PRESSURE_MEMORY].above_permille, 200);
	assert_int_equal(s->pressure[PRESSURE_MEMORY].for_ms, 10000);
	assert_int_equal(s->pressure[PRESSURE_CPU].action, PRESSURE_ACTION_NONE);
}

static void check_defaults(const struct spec_set *set)
{
	const struct service_spec *s;

	assert_int_equal(set->nservices, 1);
	s = set->services[0];
	assert_string_equal(s->name, "app");
	assert_null(s->image);
	assert_null(s->rootfs);
	assert_int_equal(s->ncommand, 1);
	assert_null(s->environment);
	assert_int_equal(s->nenvironment, 0);
	assert_null(s->user);
	assert_null(s->working_dir);
	assert_null(s->hostname);
	assert_int_equal(s->class, CLASS_STANDARD);
	assert_true(s->init);
	assert_int_equal(s->resources.memory.min, SPEC_UNSET);
	assert_int_equal(s->resources.memory.low, SPEC_UNSET);
	assert_int_equal(s->resources.memory.high, SPEC_UNSET);
	assert_int_equal(s->resources.memory.max, SPEC_UNSET);
	assert_int_equal(s->resources.memory.swap_max, SPEC_UNSET);
	assert_int_equal(s->resources.cpu.weight, 0);
	assert_int_equal(s->resources.cpu.max_mcpu, 0);
	assert_null(s->resources.cpu.cpus);
	assert_int_equal(s->resources.pids_max, SPEC_UNSET);
	assert_int_equal(s->resources.io_weight, 0);
	assert_int_equal(s->isolation.namespaces, SPEC_NS_DEFAULT);
	assert_int_equal(s->isolation.network, NETWORK_NONE);
	assert_false(s->isolation.readonly_rootfs);
	assert_int_equal(s->isolation.nmounts, 0);
	assert_int_equal(s->restart.policy, RESTART_ON_FAILURE);
	assert_int_equal(s->restart.delay_ms, 100);
	assert_int_equal(s->restart.max_delay_ms, 30000);
	assert_int_equal(s->restart.reset_after_ms, 60000);
	assert_int_equal(s->restart.burst, 5);
	assert_int_equal(s->restart.interval_ms, 60000);
	assert_int_equal(s->ready.type, READY_NONE);
	assert_int_equal(s->ready.timeout_ms, 90000);
	assert_int_equal(s->watchdog_ms, 0);
	assert_null(s->depends_on);
	assert_int_equal(s->stop.signal, SIGTERM);
	assert_int_equal(s->stop.timeout_ms, 10000);
	assert_int_equal(s->on_oom, ON_OOM_RESTART);
	for (int i = 0; i < PRESSURE_NR; i++)
		assert_int_equal(s->pressure[i].action, PRESSURE_ACTION_NONE);
}

static void check_empty(const struct spec_set *set)
{
	assert_int_equal(set->nservices, 0);
	assert_null(spec_set_find(set, "web"));
}

static void check_env_list(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_int_equal(s->nenvironment, 3);
	assert_string_equal(s->environment[0], "A=1");
	assert_string_equal(s->environment[1], "B=x=y");
	assert_string_equal(s->environment[2], "C=");
}

static void check_ready_tcp(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_int_equal(s->ready.type, READY_TCP);
	assert_int_equal(s->ready.port, 8080);
	assert_int_equal(s->ready.timeout_ms, 5000);
}

static void check_ready_exec(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_int_equal(s->ready.type, READY_EXEC);
	assert_string_equal(s->ready.exec[0], "/bin/check");
	assert_string_equal(s->ready.exec[1], "--quick");
	assert_null(s->ready.exec[2]);
}

static void check_health_http(const struct spec_set *set)
{
	const struct spec_health *h = &set->services[0]->health;

	assert_int_equal(h->type, HEALTH_HTTP);
	assert_int_equal(h->port, 8080);
	assert_string_equal(h->http_path, "/healthz");
	assert_int_equal(h->http_status, 204);
	assert_int_equal(h->interval_ms, 1500);
	assert_int_equal(h->timeout_ms, 100);
	assert_int_equal(h->retries, 5);
	assert_int_equal(h->start_period_ms, 60000);
	assert_int_equal(h->on_unhealthy, ON_UNHEALTHY_STOP);
}

static void check_health_defaults(const struct spec_set *set)
{
	const struct spec_health *h = &set->services[0]->health;

	assert_int_equal(h->type, HEALTH_TCP);
	assert_int_equal(h->port, 6379);
	assert_null(h->exec);
	assert_int_equal(h->interval_ms, 30000);
	assert_int_equal(h->timeout_ms, 30000);
	assert_int_equal(h->retries, 3);
	assert_int_equal(h->start_period_ms, 0);
	assert_int_equal(h->on_unhealthy, ON_UNHEALTHY_RESTART);
}

static void check_health_exec(const struct spec_set *set)
{
	const struct spec_health *h = &set->services[0]->health;

	assert_int_equal(h->type, HEALTH_EXEC);
	assert_string_equal(h->exec[0], "/bin/check");
	assert_string_equal(h->exec[1], "-q");
	assert_null(h->exec[2]);
	assert_int_equal(h->on_unhealthy, ON_UNHEALTHY_NONE);
}

static void check_health_http_port(const struct spec_set *set)
{
	const struct spec_health *h = &set->services[0]->health;

	assert_int_equal(h->type, HEALTH_HTTP);
	assert_int_equal(h->port, 80);
	assert_string_equal(h->http_path, "/");
	assert_int_equal(h->http_status, 0);
}

static void check_no_health(const struct spec_set *set)
{
	assert_int_equal(set->services[0]->health.type, HEALTH_NONE);
}

static void check_ready_notify_map(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_int_equal(s->ready.type, READY_NOTIFY);
	assert_int_equal(s->ready.timeout_ms, 120000);
	assert_int_equal(s->watchdog_ms, 30000);
}

static void check_network_host(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_int_equal(s->isolation.network, NETWORK_HOST);
	assert_int_equal(s->isolation.namespaces, SPEC_NS_DEFAULT & ~SPEC_NS_NET);
}

static void check_namespaces(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_int_equal(s->isolation.namespaces, SPEC_NS_PID | SPEC_NS_NET | SPEC_NS_IPC);
}

static void check_aliases(const struct spec_set *set)
{
	assert_int_equal(set->nservices, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(set->services[i]->nenvironment, 2);
		assert_string_equal(set->services[i]->environment[1], "LANG=C");
	}
}

static void check_placement(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_true(s->placement.set);
	assert_int_equal(s->placement.count, 3);
	assert_true(s->placement.spread);
	assert_int_equal(s->placement.nconstraints, 2);
	assert_string_equal(s->placement.constraints[0], "disk=ssd");
	assert_string_equal(s->placement.constraints[1], "zone=a");
	assert_null(s->placement.constraints[2]);
}

static void check_memory_forms(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_int_equal(s->resources.memory.low, 2 * GIB); /* 25% of 8G */
	assert_int_equal(s->resources.memory.high, 3 * GIB);
	assert_int_equal(s->resources.memory.max, SPEC_SIZE_MAX);
	assert_int_equal(s->resources.memory.swap_max, SPEC_SIZE_MAX);
	assert_int_equal(s->resources.pids_max, SPEC_SIZE_MAX);
	assert_int_equal(s->resources.cpu.max_mcpu, 250);
}

static void check_image_only(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_string_equal(s->image, "/images/app");
	assert_null(s->command);
}

static void check_userns_map(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_true(s->isolation.namespaces & SPEC_NS_USER);
	assert_false(s->isolation.user_auto);
	assert_int_equal(s->isolation.user_host, 200000);
	assert_int_equal(s->isolation.user_count, 65536);
}

/* b's explicit map covers every auto slot but the last: a must get that one. */
static void check_userns_auto(const struct spec_set *set)
{
	const struct service_spec *a = set->services[0], *b = set->services[1];

	assert_true(a->isolation.user_auto);
	assert_int_equal(a->isolation.user_host,
			 SPEC_USERNS_AUTO_BASE +
			     SPEC_USERNS_AUTO_COUNT * (uint64_t)(SPEC_USERNS_AUTO_SLOTS - 1));
	assert_int_equal(a->isolation.user_count, SPEC_USERNS_AUTO_COUNT);
	assert_int_equal(b->isolation.namespaces,
			 SPEC_NS_PID | SPEC_NS_MOUNT | SPEC_NS_NET | SPEC_NS_USER);
	assert_int_equal(b->isolation.user_host, 100000);
}

static void check_iodev(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_int_equal(s->nio_max, 2);
	assert_string_equal(s->io_max[0].device, "/dev/sda");
	assert_int_equal(s->io_max[0].rbps, 1024 * 1024);
	assert_int_equal(s->io_max[0].wbps, SPEC_SIZE_MAX);
	assert_int_equal(s->io_max[0].riops, SPEC_UNSET);
	assert_int_equal(s->io_max[0].wiops, 100);
	assert_string_equal(s->io_max[1].device, "/dev/loop0");
	assert_int_equal(s->io_max[1].riops, 50);
	assert_int_equal(s->io_max[1].rbps, SPEC_UNSET);
	assert_int_equal(s->nhugetlb, 2);
	assert_string_equal(s->hugetlb[0].pagesize, "2MB");
	assert_int_equal(s->hugetlb[0].max, GIB);
	assert_string_equal(s->hugetlb[1].pagesize, "1GB");
	assert_int_equal(s->hugetlb[1].max, SPEC_SIZE_MAX);
	assert_string_equal(s->cpu_mems, "0-1");
	assert_int_equal(s->ndevices, 3);
	assert_string_equal(s->devices[0].path, "/dev/fuse");
	assert_true(s->devices[0].read && s->devices[0].write && s->devices[0].mknod);
	assert_string_equal(s->devices[1].path, "/dev/net/tun");
	assert_true(s->devices[1].read && s->devices[1].write && !s->devices[1].mknod);
	assert_string_equal(s->devices[2].path, "/dev/kvm");
	assert_true(!s->devices[2].read && s->devices[2].write && !s->devices[2].mknod);
	assert_int_equal(s->devices[2].line, 13);
}

static void check_userns_auto2(const struct spec_set *set)
{
	const struct service_spec *a = set->services[0], *b = set->services[1];

	for (size_t i = 0; i < 2; i++) {
		const struct service_spec *s = set->services[i];

		assert_true(s->isolation.namespaces & SPEC_NS_USER);
		assert_int_equal(
		    (s->isolation.user_host - SPEC_USERNS_AUTO_BASE) % SPEC_USERNS_AUTO_COUNT, 0);
		assert_true(s->isolation.user_host >= SPEC_USERNS_AUTO_BASE);
	}
	assert_int_not_equal(a->isolation.user_host, b->isolation.user_host);
}

static void check_sorted(const struct spec_set *set)
{
	assert_int_equal(set->nservices, 3);
	assert_string_equal(set->services[0]->name, "a");
	assert_string_equal(set->services[1]->name, "b-2");
	assert_string_equal(set->services[2]->name, "c_3");
	assert_non_null(spec_set_find(set, "b-2"));
	assert_null(spec_set_find(set, "b"));
}

static void check_pressure(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_int_equal(s->pressure[PRESSURE_CPU].action, PRESSURE_ACTION_FREEZE);
	assert_int_equal(s->pressure[PRESSURE_CPU].above_permille, 505);
	assert_int_equal(s->pressure[PRESSURE_CPU].for_ms, 10000);
	assert_int_equal(s->pressure[PRESSURE_IO].action, PRESSURE_ACTION_KILL);
	assert_int_equal(s->pressure[PRESSURE_IO].for_ms, 90000);
	assert_int_equal(s->pressure[PRESSURE_MEMORY].action, PRESSURE_ACTION_GROW);
	assert_int_equal(s->on_oom, ON_OOM_GROW);
}

static void check_misc(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_false(s->init);
	assert_int_equal(s->class, CLASS_BATCH);
	assert_true(s->isolation.readonly_rootfs);
	assert_string_equal(s->rootfs, "/srv/root");
	assert_int_equal(s->restart.policy, RESTART_NEVER);
	assert_int_equal(s->restart.burst, 1);
	assert_int_equal(s->restart.delay_ms, 1500);
	assert_int_equal(s->stop.signal, SIGINT);
	assert_int_equal(s->stop.timeout_ms, 0);
	assert_int_equal(s->on_oom, ON_OOM_STOP);
	assert_string_equal(s->user, "nobody");
}

static void check_rlimits(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];
	const struct spec_rlimit *rl = s->resources.rlimits;

	assert_true(rl[RLIMIT_NOFILE].set);
	assert_int_equal(rl[RLIMIT_NOFILE].soft, 1024);
	assert_int_equal(rl[RLIMIT_NOFILE].hard, 1024);
	assert_true(rl[RLIMIT_NPROC].set);
	assert_int_equal(rl[RLIMIT_NPROC].soft, 100);
	assert_int_equal(rl[RLIMIT_NPROC].hard, 200);
	assert_int_equal(rl[RLIMIT_CORE].soft, 0);
	assert_int_equal(rl[RLIMIT_CORE].hard, SPEC_RLIM_INFINITY);
	assert_int_equal(rl[RLIMIT_MEMLOCK].soft, 64 * MIB);
	assert_int_equal(rl[RLIMIT_MEMLOCK].hard, 64 * MIB);
	assert_int_equal(rl[RLIMIT_STACK].soft, 8 * MIB);
	assert_int_equal(rl[RLIMIT_STACK].hard, SPEC_RLIM_INFINITY);
	assert_false(rl[RLIMIT_AS].set);
	assert_false(rl[RLIMIT_CPU].set);
	assert_int_equal(s->resources.oom_score_adj, -500);
	assert_string_equal(spec_rlimit_name(RLIMIT_NOFILE), "nofile");
	assert_string_equal(spec_rlimit_name(99), "unknown");
}

static void check_rlimits_unset(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	for (int i = 0; i < SPEC_RLIMIT_NR; i++)
		assert_false(s->resources.rlimits[i].set);
	assert_int_equal(s->resources.oom_score_adj, SPEC_OOM_SCORE_UNSET);
}

static void check_oom_score_max(const struct spec_set *set)
{
	assert_int_equal(set->services[0]->resources.oom_score_adj, 1000);
}

static void check_chain(const struct spec_set *set)
{
	assert_int_equal(set->nservices, 3);
	assert_string_equal(spec_set_find(set, "a")->depends_on[1], "c");
}

static void check_chain_deps(const struct spec_set *set)
{
	const struct service_spec *a = spec_set_find(set, "a"), *b = spec_set_find(set, "b");

	/* the list form allocates deps too: every condition ready */
	assert_non_null(a->deps);
	assert_int_equal(a->deps[0].condition, DEP_READY);
	assert_int_equal(a->deps[1].condition, DEP_READY);
	assert_false(a->deps[1].restart || a->deps[1].binds);
	assert_int_equal(b->ndepends_on, 1);
	assert_null(spec_set_find(set, "c")->deps);
}

static void check_dep_conditions(const struct spec_set *set)
{
	const struct service_spec *s = spec_set_find(set, "app");

	/* mapping order, then binds_to's new names (condition started) */
	assert_int_equal(s->ndepends_on, 5);
	assert_string_equal(s->depends_on[0], "db");
	assert_int_equal(s->deps[0].condition, DEP_HEALTHY);
	assert_true(s->deps[0].restart);
	assert_true(s->deps[0].binds); /* also in binds_to: keeps healthy */
	assert_string_equal(s->depends_on[1], "migrate");
	assert_int_equal(s->deps[1].condition, DEP_COMPLETED);
	assert_false(s->deps[1].restart);
	assert_false(s->deps[1].binds);
	assert_string_equal(s->depends_on[2], "cache");
	assert_int_equal(s->deps[2].condition, DEP_READY); /* null value: defaults */
	assert_string_equal(s->depends_on[3], "log");
	assert_int_equal(s->deps[3].condition, DEP_STARTED);
	assert_false(s->deps[3].binds);
	assert_string_equal(s->depends_on[4], "vpn");
	assert_int_equal(s->deps[4].condition, DEP_STARTED);
	assert_true(s->deps[4].binds);
	assert_null(s->depends_on[5]);
	assert_int_equal(s->nbinds_to, 2);
	assert_string_equal(s->binds_to[0], "vpn");
	assert_string_equal(s->binds_to[1], "db");
	assert_null(s->binds_to[2]);
}

/* A template's instances each take the condition written for the template. */
static void check_dep_template(const struct spec_set *set)
{
	const struct service_spec *s = spec_set_find(set, "api");

	assert_int_equal(s->ndepends_on, 3);
	assert_string_equal(s->depends_on[0], "db");
	assert_int_equal(s->deps[0].condition, DEP_READY);
	assert_string_equal(s->depends_on[1], "web@1");
	assert_int_equal(s->deps[1].condition, DEP_STARTED);
	assert_true(s->deps[1].restart);
	assert_true(s->deps[1].binds);
	assert_string_equal(s->depends_on[2], "web@2");
	assert_int_equal(s->deps[2].condition, DEP_STARTED);
	assert_true(s->deps[2].restart);
	assert_true(s->deps[2].binds);
}

/* --- the cases --------------------------------------------------------- */

/* --- networks and ports ------------------------------------------------- */

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static void check_network_name(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];

	assert_int_equal(s->isolation.network, NETWORK_BRIDGE);
	assert_int_equal(s->isolation.namespaces, SPEC_NS_DEFAULT);
	assert_int_equal(s->isolation.nnetworks, 1);
	assert_string_equal(s->isolation.networks[0].network, "backend");
	assert_int_equal(s->isolation.networks[0].ip, 0);
	assert_int_equal(s->isolation.networks[0].naliases, 0);
	assert_int_equal(s->isolation.networks[0].line, 4);
	assert_int_equal(s->isolation.networks[0].column, 26);
	assert_int_equal(s->isolation.networks[0].ip_line, 0);
	assert_int_equal(s->nports, 0);
}

static void check_network_list(const struct spec_set *set)
{
	const struct service_spec *s = set->services[0];
	const struct spec_netattach *a = s->isolation.networks;
	const struct spec_port *pt = s->ports;

	assert_int_equal(s->isolation.network, NETWORK_BRIDGE);
	assert_int_equal(s->isolation.nnetworks, 2);
	assert_string_equal(a[0].network, "front");
	assert_int_equal(a[0].ip, 0);
	assert_null(a[0].aliases);
	assert_int_equal(a[0].line, 6);
	assert_int_equal(a[0].column, 11);
	assert_string_equal(a[1].network, "backend");
	assert_int_equal(a[1].ip, IP4(10, 90, 0, 10));
	assert_int_equal(a[1].naliases, 2);
	assert_string_equal(a[1].aliases[0], "www");
	assert_string_equal(a[1].aliases[1], "web-1");
	assert_null(a[1].aliases[2]);
	assert_int_equal(a[1].line, 7);
	assert_int_equal(a[1].column, 11);
	assert_int_equal(a[1].ip_line, 7);
	assert_int_equal(a[1].ip_column, 34);

	assert_int_equal(s->nports, 4);
	assert_int_equal(pt[0].host_ip, 0);
	assert_int_equal(pt[0].host_port, 8080);
	assert_int_equal(pt[0].port, 80);
	assert_int_equal(pt[0].count, 1);
	assert_int_equal(pt[0].proto, IPPROTO_TCP);
	assert_int_equal(pt[0].line, 8);
	assert_int_equal(pt[0].column, 13);
	assert_int_equal(pt[1].host_ip, IP4(127, 0, 0, 1));
	assert_int_equal(pt[1].host_port, 5353);
	assert_int_equal(pt[1].port, 53);
	assert_int_equal(pt[1].count, 1);
	assert_int_equal(pt[1].proto, IPPROTO_UDP);
	assert_int_equal(pt[1].column, 24);
	assert_int_equal(pt[2].host_ip, 0);
	assert_int_equal(pt[2].host_port, 9000);
	assert_int_equal(pt[2].port, 9100);
	assert_int_equal(pt[2].count, 6);
	assert_int_equal(pt[2].proto, IPPROTO_TCP);
	/* The same host port on udp does not collide with tcp. */
	assert_int_equal(pt[3].host_port, 8080);
	assert_int_equal(pt[3].proto, IPPROTO_UDP);
}

#define HEX64DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void check_registry_images(const struct spec_set *set)
{
	const struct service_spec *a = spec_set_find(set, "a"), *b = spec_set_find(set, "b"),
				  *c = spec_set_find(set, "c"), *d = spec_set_find(set, "d"),
				  *e = spec_set_find(set, "e");

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_non_null(d);
	assert_non_null(e);
	assert_string_equal(a->image, "registry.example.com:5000/team/app:1.2");
	assert_int_equal(a->pull, PULL_ALWAYS);
	assert_string_equal(
	    b->image,
	    "localhost/"
	    "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	assert_int_equal(b->pull, PULL_NEVER);
	assert_string_equal(c->image, "[::1]:5000/x__y/z-w.v");
	assert_int_equal(c->pull, PULL_MISSING);
	assert_int_equal(d->pull, PULL_MISSING);
	/* A local image may say missing or never: that is what happens anyway. */
	assert_string_equal(e->image, "busybox:latest");
	assert_int_equal(e->pull, PULL_NEVER);
	/* A digest makes a registry reference, docker.io when no host is named. */
	assert_int_equal(spec_set_find(set, "f")->pull, PULL_ALWAYS);
}

static void check_identity(const struct spec_set *set)
{
	const struct service_spec *s = spec_set_find(set, "web");
	const struct service_spec *d = spec_set_find(set, "db");

	assert_non_null(s);
	assert_int_equal(s->ngroups, 4);
	assert_string_equal(s->groups[0], "video");
	assert_string_equal(s->groups[1], "1000");
	assert_string_equal(s->groups[2], "4294967294");
	assert_string_equal(s->groups[3], "_ssl-cert.x");
	assert_null(s->groups[4]);
	assert_int_equal(s->umask, 0027);
	assert_non_null(d);
	assert_int_equal(d->ngroups, 0);
	assert_int_equal(d->umask, 077); /* a YAML int, read as octal */
	assert_int_equal(spec_set_find(set, "e")->umask, 0);
	assert_int_equal(spec_set_find(set, "f")->umask, 0750);
	assert_int_equal(spec_set_find(set, "g")->umask, SPEC_UMASK_UNSET);
}

static void check_secrets(const struct spec_set *set)
{
	const struct service_spec *s = spec_set_find(set, "web");
	char *cwd = getcwd(NULL, 0), *want;

	assert_non_null(s);
	assert_non_null(cwd);
	assert_int_equal(s->nsecrets, 5);
	assert_string_equal(s->secrets[0].name, "db_pass");
	assert_null(s->secrets[0].source);
	assert_string_equal(s->secrets[0].target, "/run/secrets/db_pass");
	assert_int_equal(s->secrets[0].mode, 0400);
	assert_int_equal(s->secrets[0].uid, SPEC_SECRET_ID_UNSET);
	assert_int_equal(s->secrets[0].gid, SPEC_SECRET_ID_UNSET);
	assert_int_equal(s->secrets[0].line, 5);
	assert_int_equal(s->secrets[0].column, 9);
	assert_null(s->secrets[1].name);
	assert_true(asprintf(&want, "%s/certs/tls.key", strcmp(cwd, "/") ? cwd : "") > 0);
	assert_string_equal(s->secrets[1].source, want);
	assert_string_equal(s->secrets[1].target, "/etc/tls/key");
	assert_int_equal(s->secrets[1].uid, 0);
	assert_int_equal(s->secrets[1].gid, 101);
	assert_int_equal(s->secrets[1].mode, 0440);
	assert_string_equal(s->secrets[2].name, "api");
	assert_string_equal(s->secrets[2].target, "/run/secrets/api_token");
	assert_int_equal(s->secrets[2].mode, 0440); /* 0440 as a YAML 1.1 int, read as octal */
	assert_string_equal(s->secrets[3].source, "/abs/x.pem");
	assert_string_equal(s->secrets[3].target, "/run/secrets/x.pem");
	assert_int_equal(s->secrets[3].mode, 0600);
	assert_string_equal(s->secrets[4].source, "/abs/y");
	assert_string_equal(s->secrets[4].target, "/run/secrets/y");
	assert_false(s->enabled);
	assert_int_equal(s->nprofiles, 2);
	assert_string_equal(s->profiles[0], "debug");
	assert_string_equal(s->profiles[1], "tools");
	assert_null(s->profiles[2]);
	assert_true(spec_set_find(set, "db")->enabled);
	assert_null(spec_set_find(set, "db")->profiles);
	assert_int_equal(spec_set_find(set, "db")->nsecrets, 0);
	free(want);
	free(cwd);
}

static void check_instances(const struct spec_set *set)
{
	const struct service_spec *s;

	assert_int_equal(set->nservices, 6);
	assert_null(spec_set_find(set, "web"));
	s = spec_set_find(set, "web@2");
	assert_non_null(s);
	assert_string_equal(s->template_name, "web");
	assert_string_equal(s->instance, "2");
	assert_string_equal(s->command[1], "--port=80${instance}2"); /* $$ is a '$' */
	assert_string_equal(s->environment[0], "SLOT=2");
	assert_string_equal(s->hostname, "web-2");
	assert_int_equal(s->line, 2);
	assert_int_equal(s->column, 3);
	assert_non_null(s->effective);
	assert_true(strncmp(s->effective, "web@2:\n", 7) == 0);
	assert_non_null(strstr(s->effective, "\n    SLOT: \"2\"\n")); /* interpolated */
	assert_null(strstr(s->effective, "instances")); /* an instance is no template */
	assert_string_equal(spec_set_find(set, "web@3")->environment[0], "SLOT=3");
	s = spec_set_find(set, "q@blue_x");
	assert_non_null(s);
	assert_string_equal(s->hostname, "q-blue-x");
	assert_string_equal(s->instance, "blue_x");
	assert_string_equal(spec_set_find(set, "q@green")->hostname, "q-green");
	assert_string_equal(spec_set_find(set, "q@green")->environment[0], "H=edge");
	/* depends_on a template means every instance; web@2 names one */
	s = spec_set_find(set, "api");
	assert_int_equal(s->ndepends_on, 4);
	assert_string_equal(s->depends_on[0], "q@blue_x");
	assert_string_equal(s->depends_on[1], "q@green");
	assert_string_equal(s->depends_on[2], "web@1");
	assert_string_equal(s->depends_on[3], "web@2");
	assert_null(s->depends_on[4]);
	assert_null(s->template_name);
	assert_null(s->instance);
	assert_true(strncmp(s->effective, "api:\n  command:\n  - a\n", 22) == 0);
}

#define SVC "services:\n  web:\n    command: [/bin/web]\n"
#define NET SVC "    isolation: {network: backend}\n"

static const struct spec_case cases[] = {
	/* Good specs. */
	{ "network by name",
	  SVC "    isolation: {network: backend}\n",
	  0,
	  { { 0 } },
	  check_network_name },
	{ "networks and ports",
	  SVC "    isolation:\n"
	      "      network:\n"
	      "        - front\n"
	      "        - {network: backend, ip: 10.90.0.10, aliases: [www, web-1]}\n"
	      "    ports: [\"8080:80\", \"127.0.0.1:5353:53/udp\", \"9000-9005:9100-9105/tcp\",\n"
	      "            \"8080:80/udp\"]\n",
	  0,
	  { { 0 } },
	  check_network_list },
	{ "design example",
	  "# the shape from DESIGN.md\n"
	  "services:\n"
	  "  web:\n"
	  "    image: /var/lib/images/web:1.4\n"
	  "    command: [\"/bin/httpd\", \"-f\", \"-p\", \"8080\"]\n"
	  "    environment: {TZ: UTC, EMPTY: }\n"
	  "    user: \"1000:1000\"\n"
	  "    working_dir: /srv\n"
	  "    hostname: web\n"
	  "    class: critical\n"
	  "    resources:\n"
	  "      memory: {min: 64M, low: 128M, high: 400M, max: 512M, swap_max: 0}\n"
	  "      cpu: {weight: 100, max: 1.5, cpus: \"0-1\"}\n"
	  "      pids: {max: 256}\n"
	  "      io: {weight: 100}\n"
	  "    isolation:\n"
	  "      namespaces: [pid, mount, uts, ipc, net, cgroup]\n"
	  "      network: none\n"
	  "      readonly_rootfs: false\n"
	  "      mounts:\n"
	  "        - {type: bind, source: /srv/data, target: /data, readonly: true}\n"
	  "        - {type: tmpfs, target: /tmp, size: 64M}\n"
	  "    restart: {policy: on-failure, delay: 100ms, max_delay: 30s,\n"
	  "              reset_after: 60s, limit: {burst: 5, interval: 60s}}\n"
	  "    ready: notify\n"
	  "    watchdog: 10s\n"
	  "    depends_on: [db]\n"
	  "    stop: {signal: SIGTERM, timeout: 10s}\n"
	  "    on_oom: restart\n"
	  "    pressure:\n"
	  "      memory: {above: 20%, for: 10s, action: reclaim}\n"
	  "  db:\n"
	  "    command: [/usr/bin/db]\n",
	  0,
	  {},
	  check_full },
	{ "registry images and pull",
	  "services:\n"
	  "  a:\n    image: registry.example.com:5000/team/app:1.2\n    pull: always\n"
	  "  b:\n    image: "
	  "localhost/"
	  "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n    "
	  "pull: never\n"
	  "  c:\n    image: \"[::1]:5000/x__y/z-w.v\"\n"
	  "  d:\n    image: docker.io/library/busybox\n    pull: missing\n"
	  "  e:\n    image: busybox:latest\n    pull: never\n"
	  "  f:\n    image: \"busybox:1@" HEX64DIGEST "\"\n    pull: always\n",
	  0,
	  {},
	  check_registry_images },
	{ "registry image: uppercase name",
	  SVC "    image: example.com/Team/app:1\n",
	  1,
	  { { 4, 12, "invalid registry reference 'example.com/Team/app:1': the repository name" } },
	  NULL },
	{ "registry image: port out of range",
	  SVC "    image: localhost:99999/app\n",
	  1,
	  { { 4, 12, "the registry must be HOST or HOST:PORT" } },
	  NULL },
	{ "registry image: no name before the digest",
	  SVC "    image: \"example.com/@" HEX64DIGEST "\"\n",
	  1,
	  { { 4, 12, "the repository name after the registry is missing" } },
	  NULL },
	{ "registry image: digest without a host, bad name",
	  SVC "    image: \"Busybox@" HEX64DIGEST "\"\n",
	  1,
	  { { 4, 12, "invalid registry reference 'Busybox@sha256:" } },
	  NULL },
	{ "registry image: short digest",
	  SVC "    image: example.com/app@sha256:abc\n",
	  1,
	  { { 4, 12, "a digest is 'sha256:' and 64 lowercase hexadecimal digits" } },
	  NULL },
	{ "registry image: bad tag",
	  SVC "    image: example.com/app:-x\n",
	  1,
	  { { 4, 12, "a tag is 1-128 letters" } },
	  NULL },
	{ "registry image: no name",
	  SVC "    image: \"example.com/:1\"\n",
	  1,
	  { { 4, 12, "the repository name after the registry is missing" } },
	  NULL },
	{ "registry image: double slash",
	  SVC "    image: example.com//app\n",
	  1,
	  { { 4, 12, "in components joined by '/'" } },
	  NULL },
	{ "pull without image",
	  SVC "    pull: always\n",
	  1,
	  { { 4, 11, "'pull' says when a registry image is fetched: it needs 'image'" } },
	  NULL },
	{ "pull always of a local image",
	  SVC "    image: /srv/img:1\n    pull: always\n",
	  1,
	  { { 5, 11, "'pull: always' needs a registry reference" } },
	  NULL },
	{ "pull: unknown policy",
	  SVC "    image: example.com/app\n    pull: sometimes\n",
	  1,
	  { { 5, 11, "invalid pull 'sometimes' (expected one of: missing, always, never" } },
	  NULL },
	{ "defaults", "services:\n  app:\n    command: [/bin/app]\n", 0, {}, check_defaults },
	{ "empty buffer", "", 0, {}, check_empty },
	{ "only comments", "# nothing here\n\n   # still nothing\n", 0, {}, check_empty },
	{ "services null", "services:\n", 0, {}, check_empty },
	{ "services empty map", "services: {}\n", 0, {}, check_empty },
	{ "environment list",
	  SVC "    environment: [A=1, \"B=x=y\", C=]\n",
	  0,
	  {},
	  check_env_list },
	{ "ready tcp", SVC "    ready: {tcp: 8080, timeout: 5s}\n", 0, {}, check_ready_tcp },
	{ "ready exec",
	  SVC "    ready:\n      exec: [/bin/check, --quick]\n",
	  0,
	  {},
	  check_ready_exec },
	{ "ready notify map",
	  SVC "    ready: {notify: true, timeout: 2m}\n    watchdog: 30\n",
	  0,
	  {},
	  check_ready_notify_map },
	{ "health http",
	  SVC "    health:\n      http: {port: 8080, path: /healthz, status: 204}\n"
	      "      interval: 1500ms\n      timeout: 100ms\n      retries: 5\n"
	      "      start_period: 1m\n      on_unhealthy: stop\n",
	  0,
	  {},
	  check_health_http },
	{ "health defaults", SVC "    health: {tcp: 6379}\n", 0, {}, check_health_defaults },
	{ "health exec",
	  SVC "    health: {exec: [/bin/check, -q], on_unhealthy: none}\n",
	  0,
	  {},
	  check_health_exec },
	{ "health http port only", SVC "    health: {http: 80}\n", 0, {}, check_health_http_port },
	{ "health null", SVC "    health:\n", 0, {}, check_no_health },
	{ "network host clears net",
	  SVC "    isolation: {network: host}\n",
	  0,
	  {},
	  check_network_host },
	{ "namespaces subset",
	  SVC "    isolation: {namespaces: [pid, net, ipc]}\n",
	  0,
	  {},
	  check_namespaces },
	{ "user namespace map",
	  SVC "    rootfs: /srv/root\n    isolation: {user: {map: \"0:200000:65536\"}}\n",
	  0,
	  {},
	  check_userns_map },
	{ "user namespace auto avoids explicit maps",
	  "services:\n"
	  "  a:\n    image: /i\n    isolation: {user: {map: auto}}\n"
	  "  b:\n    image: /i\n"
	  "    isolation: {namespaces: [pid, mount, net, user], user: {map: "
	  "\"0:100000:2147418112\"}}\n",
	  0,
	  {},
	  check_userns_auto },
	{ "user namespace auto ranges differ",
	  "services:\n"
	  "  a:\n    image: /i\n    isolation: {user: {map: auto}}\n"
	  "  b:\n    image: /i\n    isolation: {user: {map: auto}}\n",
	  0,
	  {},
	  check_userns_auto2 },
	{ "user namespace map: bad format",
	  SVC "    rootfs: /srv/root\n    isolation:\n      user: {map: \"0:200000\"}\n",
	  1,
	  { { 6, 19, "expected 'auto' or UID:HOSTUID:COUNT" } },
	  NULL },
	{ "user namespace map: not a number",
	  SVC "    rootfs: /srv/root\n    isolation:\n      user: {map: \"0:2x:5\"}\n",
	  1,
	  { { 6, 19, "expected 'auto' or UID:HOSTUID:COUNT" } },
	  NULL },
	{ "user namespace map: beyond 32 bits",
	  SVC "    rootfs: /srv/root\n    isolation:\n      user: {map: \"0:99999999999:1\"}\n",
	  1,
	  { { 6, 19, "expected 'auto' or UID:HOSTUID:COUNT" } },
	  NULL },
	{ "user namespace map: COUNT 0",
	  SVC "    rootfs: /srv/root\n    isolation:\n      user: {map: \"0:200000:0\"}\n",
	  1,
	  { { 6, 19, "COUNT must be at least 1" } },
	  NULL },
	{ "user namespace map: overflow",
	  SVC "    rootfs: /srv/root\n    isolation:\n      user: {map: \"0:4294967295:2\"}\n",
	  1,
	  { { 6, 19, "the range runs past uid 4294967294" } },
	  NULL },
	{ "user namespace map: host root",
	  SVC "    rootfs: /srv/root\n    isolation:\n      user: {map: \"0:0:65536\"}\n",
	  1,
	  { { 6, 19, "maps to host uid 0 (root)" } },
	  NULL },
	{ "user namespace map: not from 0 inside",
	  SVC "    rootfs: /srv/root\n    isolation:\n      user: {map: \"1:200000:10\"}\n",
	  1,
	  { { 6, 19, "the range must start at uid 0 inside" } },
	  NULL },
	{ "user namespace without map",
	  SVC "    rootfs: /srv/root\n    isolation:\n      user: {}\n",
	  1,
	  { { 6, 13, "isolation.user needs 'map: auto' or 'map: 0:HOSTUID:COUNT'" } },
	  NULL },
	{ "user namespace without a root of its own",
	  SVC "    isolation: {user: {map: auto}}\n",
	  1,
	  { { 4, 29, "isolation.user needs an 'image' or a 'rootfs'" } },
	  NULL },
	{ "user namespace listed without isolation.user",
	  SVC "    rootfs: /srv/root\n    isolation: {namespaces: [pid, mount, net, user]}\n",
	  1,
	  { { 5, 47, "the 'user' namespace needs its mapping" } },
	  NULL },
	{ "user namespace maps overlap",
	  "services:\n"
	  "  a:\n    image: /i\n    isolation: {user: {map: \"0:200000:65536\"}}\n"
	  "  b:\n    image: /i\n    isolation: {user: {map: \"0:265535:10\"}}\n",
	  1,
	  { { 7, 29, "host range 265535..265544 overlaps the one of service 'a'" } },
	  NULL },
	{ "unknown top-level key, x- keys are extension fields",
	  "x-env: &env {TZ: UTC, LANG: C}\nenv: 1\n",
	  2,
	  { { 1, 1, "missing 'services' key at the top level" },
	    { 2, 1, "unknown key 'env' at the top level" } },
	  NULL },
	{ "anchors inside services",
	  "services:\n"
	  "  a:\n"
	  "    command: &cmd [/bin/x]\n"
	  "    environment: &env {TZ: UTC, LANG: C}\n"
	  "  b:\n"
	  "    command: *cmd\n"
	  "    environment: *env\n",
	  0,
	  {},
	  check_aliases },
	{ "merge keys and x- fields",
	  "x-common: &common\n"
	  "  command: [/bin/x]\n"
	  "services:\n"
	  "  x-env: &env {TZ: UTC, LANG: C}\n"
	  "  a:\n"
	  "    <<: *common\n"
	  "    environment: *env\n"
	  "    x-note: [anything, {at: all}]\n"
	  "  b:\n"
	  "    <<: [{environment: *env}, *common]\n",
	  0,
	  {},
	  check_aliases },
	{ "memory forms",
	  SVC "    resources:\n"
	      "      memory: {low: 25%, high: 3G, max: max, swap_max: MAX}\n"
	      "      pids: {max: max}\n"
	      "      cpu: {max: 250m}\n",
	  0,
	  {},
	  check_memory_forms },
	{ "placement",
	  SVC "    placement: {count: 3, constraints: {zone: a, disk: ssd}, spread: true}\n",
	  0,
	  {},
	  check_placement },
	{ "placement errors",
	  SVC "    placement: {count: 0, constraints: {\"a/b\": x}, spread: maybe, where: 1}\n",
	  4,
	  { { 4, 24, "'placement.count' must be between 1 and 1000" },
	    { 4, 41, "placement constraint 'a/b: x'" },
	    { 4, 60, "'placement.spread' must be true or false" },
	    { 4, 67, "unknown key 'where' in 'placement'" } } },
	{ "image only", "services:\n  app:\n    image: /images/app\n", 0, {}, check_image_only },
	{ "sorted",
	  "services:\n  c_3: {command: [c]}\n  a: {command: [a]}\n  b-2: {command: [b]}\n",
	  0,
	  {},
	  check_sorted },
	{ "pressure and grow",
	  SVC "    on_oom: grow\n"
	      "    pressure:\n"
	      "      cpu: {above: 50.5%, action: freeze}\n"
	      "      io: {above: 90%, for: 1m30s, action: kill}\n"
	      "      memory: {above: 1%, action: grow}\n",
	  0,
	  {},
	  check_pressure },
	{ "misc fields",
	  SVC "    rootfs: /srv/root\n"
	      "    init: no\n"
	      "    class: batch\n"
	      "    user: nobody\n"
	      "    isolation: {readonly_rootfs: yes}\n"
	      "    restart: {policy: never, delay: 1.5s, limit: {burst: 1}}\n"
	      "    stop: {signal: int, timeout: 0}\n"
	      "    on_oom: stop\n",
	  0,
	  {},
	  check_misc },
	{ "dependency chain",
	  "services:\n"
	  "  a: {command: [a], depends_on: [b, c]}\n"
	  "  b: {command: [b], depends_on: [c]}\n"
	  "  c: {command: [c]}\n",
	  0,
	  {},
	  check_chain },
	{ "dependency chain conditions",
	  "services:\n"
	  "  a: {command: [a], depends_on: [b, c]}\n"
	  "  b: {command: [b], depends_on: [c]}\n"
	  "  c: {command: [c]}\n",
	  0,
	  {},
	  check_chain_deps },
	{ "depends_on mapping and binds_to",
	  "services:\n"
	  "  app:\n"
	  "    command: [a]\n"
	  "    depends_on:\n"
	  "      db: {condition: healthy, restart: true}\n"
	  "      migrate: {condition: completed_successfully}\n"
	  "      cache:\n"
	  "      log: {condition: started}\n"
	  "    binds_to: [vpn, db]\n"
	  "  db: {command: [d]}\n"
	  "  migrate: {command: [m]}\n"
	  "  cache: {command: [c]}\n"
	  "  log: {command: [l]}\n"
	  "  vpn: {command: [v]}\n",
	  0,
	  {},
	  check_dep_conditions },
	{ "depends_on mapping on a template",
	  "services:\n"
	  "  web: {command: [w], instances: 2}\n"
	  "  db: {command: [d]}\n"
	  "  api:\n"
	  "    command: [a]\n"
	  "    depends_on: {db: ~, web: {condition: started, restart: yes}}\n"
	  "    binds_to: [web]\n",
	  0,
	  {},
	  check_dep_template,
	  true },
	{ "null values are defaults",
	  SVC "    user:\n    class: ~\n    resources:\n",
	  0,
	  {},
	  NULL },

	{ "secrets, enabled and profiles",
	  SVC "    secrets:\n"
	      "      - db_pass\n"
	      "      - {source: ./certs/tls.key, target: /etc/tls/key, uid: 0, gid: 101,\n"
	      "         mode: \"0440\"}\n"
	      "      - {source: api, target: api_token, mode: 0440}\n"
	      "      - {source: /abs/x.pem, mode: 0o600}\n"
	      "      - /abs/z/../y\n"
	      "    enabled: no\n"
	      "    profiles: [debug, tools]\n"
	      "    rootfs: /srv/web\n"
	      "  db: {command: [d]}\n",
	  0,
	  { { 0 } },
	  check_secrets },
	{ "a secret outside /run/secrets needs a root of its own",
	  SVC
	  "    secrets: [{source: /s/k, target: /etc/k}, {source: /s/j, target: /run/secrets/j}]\n",
	  1,
	  { { 4, 15,
	      "secret target /etc/k: a service on the host's own files takes secrets in "
	      "/run/secrets only" } } },
	{ "instances",
	  "services:\n"
	  "  web:\n"
	  "    instances: 3\n"
	  "    command: [/bin/web, \"--port=80$${instance}${instance}\"]\n"
	  "    environment: {SLOT: \"${instance}\"}\n"
	  "  q:\n"
	  "    instances: [blue_x, green]\n"
	  "    command: [/bin/q]\n"
	  "    environment: [\"H=${EDGE_HOST:-edge}\"]\n"
	  "  api: {command: [a], depends_on: [q, web@1, web@2]}\n",
	  0,
	  { { 0 } },
	  check_instances,
	  true },
	/* Bad specs: exact positions. */
	{ "unknown key with hint",
	  SVC "    imgae: /x\n",
	  1,
	  { { 4, 5, "unknown key 'imgae' in service 'web' (did you mean 'image'?)" } } },
	{ "unknown key without hint",
	  SVC "    zzzzzzzz: 1\n",
	  1,
	  { { 4, 5, "unknown key 'zzzzzzzz' in service 'web'" } } },
	{ "unknown nested key",
	  SVC "    resources:\n      memory: {maxx: 1G}\n",
	  1,
	  { { 5, 16, "unknown key 'maxx' in 'resources.memory' (did you mean 'max'?)" } } },
	{ "command as a string",
	  "services:\n  web:\n    command: /bin/web --port 80\n",
	  1,
	  { { 3, 14, "'command' must be a list of strings, not a single string" } } },
	{ "command empty",
	  "services:\n  web:\n    command: []\n",
	  1,
	  { { 3, 14, "'command' must not be an empty list" } } },
	{ "command item is a mapping",
	  "services:\n  web:\n    command: [/bin/x, {a: b}]\n",
	  1,
	  { { 3, 23, "items of 'command' must be strings, not a mapping" } } },
	{ "environment bad name",
	  SVC "    environment: {1BAD: x, GOOD: y}\n",
	  1,
	  { { 4, 19, "invalid environment variable name '1BAD'" } } },
	{ "environment list without =",
	  SVC "    environment: [A=1, NOEQ]\n",
	  1,
	  { { 4, 24, "environment item 'NOEQ' must be KEY=VALUE" } } },
	{ "environment list duplicate",
	  SVC "    environment: [A=1, A=2]\n",
	  1,
	  { { 4, 24, "duplicate environment variable 'A' (first at line 4, column 19)" } } },
	{ "environment value is a list",
	  SVC "    environment:\n      A: [1, 2]\n",
	  1,
	  { { 5, 10, "environment variable 'A' must be a scalar, not a list" } } },
	{ "class with hint",
	  SVC "    class: critcal\n",
	  1,
	  { { 4, 12,
	      "invalid class 'critcal' (expected one of: standard, critical, batch; did "
	      "you mean 'critical'?)" } } },
	{ "init not a bool",
	  SVC "    init: maybe\n",
	  1,
	  { { 4, 11, "'init' must be true or false" } } },
	{ "memory order",
	  SVC "    resources:\n      memory: {min: 1G, low: 512M, max: 256M}\n",
	  2,
	  { { 5, 30, "resources.memory.low (512M) must not be below resources.memory.min (1G)" },
	    { 5, 41, "resources.memory.max (256M) must not be below resources.memory.low" } } },
	{ "weights out of range",
	  SVC "    resources:\n      cpu: {weight: 0}\n      io: {weight: 10001}\n",
	  2,
	  { { 5, 21, "'resources.cpu.weight' must be between 1 and 10000, not 0" },
	    { 6, 20, "'resources.io.weight' must be between 1 and 10000, not 10001" } } },
	{ "cpu max invalid",
	  SVC "    resources: {cpu: {max: 1.5x}}\n",
	  1,
	  { { 4, 28, "invalid CPU amount '1.5x' for 'resources.cpu.max'" } } },
	{ "cpus invalid",
	  SVC "    resources: {cpu: {cpus: 3-1}}\n",
	  1,
	  { { 4, 29, "invalid CPU list '3-1' for 'resources.cpu.cpus': range end below" } } },
	{ "pids max zero",
	  SVC "    resources: {pids: {max: 0}}\n",
	  1,
	  { { 4, 29, "'resources.pids.max' must be between 1 and 4194304, not 0" } } },
	{ "io devices",
	  SVC "    resources:\n"
	      "      io: {max: {/dev/sda: {rbps: 1M, wbps: max, wiops: 100},\n"
	      "                 /dev/loop0: {riops: 50}}}\n"
	      "      hugetlb: {2MB: 1G, 1GB: max}\n"
	      "      cpu: {mems: \"0-1\"}\n"
	      "    isolation:\n"
	      "      devices:\n"
	      "        - /dev/fuse\n"
	      "        - {path: /dev/net/tun, access: rw}\n"
	      "        - {path: /dev/kvm, access: w}\n",
	  0,
	  { { 0 } },
	  check_iodev },
	{ "io max bad",
	  SVC "    resources:\n"
	      "      io: {max: {sda: {rbps: 1M}, /dev/../etc: {wbps: 1M},\n"
	      "                 /dev/sdb: {rbps: 10%, wiops: -1, foo: 1}, /dev/sdc: {},\n"
	      "                 /dev/sdd: {wbps: 0}}}\n",
	  7,
	  { { 5, 18, "key 'sda' must be a block device's path under /dev/" },
	    { 5, 35, "key '/dev/../etc' must be a block device's path under /dev/" },
	    { 6, 35, "invalid size '10%' for 'resources.io.max./dev/sdb.rbps'" },
	    { 6, 47, "'resources.io.max./dev/sdb.wiops' must not be negative" },
	    { 6, 51, "unknown key 'foo' in 'resources.io.max'" },
	    { 6, 70, "'resources.io.max./dev/sdc' sets none of rbps, wbps, riops, wiops" },
	    { 7, 35, "'resources.io.max./dev/sdd.wbps' must be above 0" } } },
	{ "hugetlb and mems bad",
	  SVC "    resources:\n"
	      "      hugetlb: {3MB: 1G, 2mb: 1G, 2MB: lots}\n"
	      "      cpu: {mems: 1-0}\n",
	  4,
	  { { 5, 17, "key '3MB' must be a huge page size as the kernel names it" },
	    { 5, 26, "key '2mb' must be a huge page size" },
	    { 5, 40, "invalid size 'lots' for 'resources.hugetlb.2MB'" },
	    { 6, 19, "invalid NUMA node list '1-0' for 'resources.cpu.mems'" } } },
	{ "devices bad",
	  SVC "    isolation:\n"
	      "      devices:\n"
	      "        - fuse\n"
	      "        - {path: /dev/fuse, access: rwx}\n"
	      "        - {access: r}\n"
	      "        - /dev/null\n"
	      "        - {path: /dev/null, access: rr}\n"
	      "        - /dev/null\n",
	  5,
	  { { 6, 11, "device 'fuse' must be an absolute path under /dev/" },
	    { 7, 37, "access 'rwx' for device '/dev/fuse' must be letters of 'rwm'" },
	    { 8, 11, "'isolation.devices' item needs a 'path'" },
	    { 10, 37, "access 'rr' for device '/dev/null'" },
	    { 11, 11, "device '/dev/null' is listed twice" } } },
	{ "size bad suffix",
	  SVC "    resources: {memory: {max: 12Q}}\n",
	  1,
	  { { 4, 31, "invalid size '12Q' for 'resources.memory.max': unknown unit" } } },
	{ "size negative",
	  SVC "    resources: {memory: {high: -1G}}\n",
	  1,
	  { { 4, 32,
	      "invalid size '-1G' for 'resources.memory.high': negative values are not "
	      "allowed" } } },
	{ "size overflow",
	  SVC "    resources: {memory: {high: 99999999999999999999G}}\n",
	  1,
	  { { 4, 32, "value too large" } } },
	{ "resources is a list",
	  SVC "    resources: [memory]\n",
	  1,
	  { { 4, 16, "'resources' must be a mapping, not a list" } } },
	{ "namespace unknown",
	  SVC "    isolation: {namespaces: [pid, mnt, net]}\n",
	  1,
	  { { 4, 35, "invalid namespace 'mnt'" } } },
	{ "network none without net",
	  SVC "    isolation: {namespaces: [pid, mount]}\n",
	  1,
	  { { 4, 29, "'network: none' needs the 'net' namespace" } } },
	{ "network host with net",
	  SVC "    isolation: {namespaces: [pid, net], network: host}\n",
	  1,
	  { { 4, 35, "namespace 'net' contradicts 'network: host'" } } },
	{ "network invalid",
	  SVC "    isolation: {network: Bridge}\n",
	  1,
	  { { 4, 26, "invalid network 'Bridge' (expected none, host, a network name" } } },
	{ "network as a mapping",
	  SVC "    isolation: {network: {network: a}}\n",
	  1,
	  { { 4, 26, "'isolation.network' must be none, host, a network name" } } },
	{ "network empty list",
	  SVC "    isolation: {network: []}\n",
	  1,
	  { { 4, 26, "joins nothing; write 'none'" } } },
	{ "network entries",
	  SVC "    isolation:\n"
	      "      network:\n"
	      "        - a\n"
	      "        - a\n"
	      "        - host\n"
	      "        - {ip: 10.0.0.1}\n"
	      "        - {network: b, ip: 10.0.0.256, mask: 8}\n"
	      "        - {network: c, aliases: [web, Www, x, x]}\n"
	      "        - {network: d, aliases: www}\n"
	      "        - [e]\n",
	  10,
	  { { 7, 11, "network 'a' listed twice (first at line 6, column 11)" },
	    { 8, 11, "'host' is not a network to join" },
	    { 9, 11, "a network entry needs 'network: NAME'" },
	    { 10, 28, "invalid ip '10.0.0.256' (expected A.B.C.D)" },
	    { 10, 40, "unknown key 'mask' in a network entry" },
	    { 11, 34, "alias 'web' is the service's own name" },
	    { 11, 39, "invalid alias 'Www'" },
	    { 11, 47, "alias 'x' listed twice" },
	    { 12, 33, "'aliases' must be a list of names; write aliases: [www]" },
	    { 13, 11,
	      "entries of 'isolation.network' must be network names or mappings, not a "
	      "list" } } },
	{ "too many networks and aliases",
	  SVC "    isolation:\n"
	      "      network: [a, b, c, d, e, f, g, h, i]\n"
	      "  db:\n"
	      "    command: [/bin/db]\n"
	      "    isolation:\n"
	      "      network:\n"
	      "        - {network: a, aliases: [a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, "
	      "a13, a14, a15, a16, a17]}\n",
	  2,
	  { { 5, 16, "a service joins at most 8 networks" },
	    { 10, 33, "too many aliases (at most 16)" } } },
	{ "bridge network without net",
	  SVC "    isolation: {namespaces: [pid, mount], network: backend}\n",
	  1,
	  { { 4, 29, "a bridge network needs the 'net' namespace" } } },
	{ "ports without a bridge network",
	  SVC "    ports: [\"8080:80\"]\n",
	  1,
	  { { 4, 5, "ports need a bridge network: set isolation.network" } } },
	{ "ports with a broken network say nothing more",
	  SVC "    isolation: {network: Bad}\n    ports: [\"8080:80\"]\n",
	  1,
	  { { 4, 26, "invalid network 'Bad'" } } },
	{ "ports with network host",
	  SVC "    isolation: {network: host}\n    ports: [\"8080:80\"]\n",
	  1,
	  { { 5, 5, "ports need a bridge network: set isolation.network" } } },
	{ "port forms",
	  NET "    ports:\n"
	      "      - \"80\"\n"
	      "      - 9000-9005:9000-9004\n"
	      "      - 0:80\n"
	      "      - 65536:80\n"
	      "      - 8080:80/sctp\n"
	      "      - 1.2.3:80:80\n"
	      "      - 1.2.3.4:80:80:80\n"
	      "      - 90-80:80-90\n"
	      "      - 81:81-82\n"
	      "      - {a: b}\n",
	  10,
	  { { 6, 9, "port '80' has no host port: paddock needs the host port" },
	    { 7, 9, "ranges of different lengths: 6 host ports for 5" },
	    { 8, 9, "invalid port '0:80'" },
	    { 9, 9, "invalid port '65536:80'" },
	    { 10, 9, "unknown protocol 'sctp' in port '8080:80/sctp' (tcp or udp)" },
	    { 11, 9, "invalid host address in port '1.2.3:80:80'" },
	    { 12, 9, "invalid host address in port '1.2.3.4:80:80:80'" },
	    { 13, 9, "invalid port '90-80:80-90'" },
	    { 14, 9, "ranges of different lengths: 1 host port for 2" },
	    { 15, 9, "entries of 'ports' must be strings like \"8080:80\", not a mapping" } } },
	{ "port overlaps",
	  NET "    ports: [\"8080-8090:80-90\", \"127.0.0.1:8085:85\", \"8085:85/udp\",\n"
	      "            \"127.0.0.2:8000:80\", \"127.0.0.3:8000:80\", \"8000:80\"]\n",
	  2,
	  { { 5, 32, "host ports of '127.0.0.1:8085:85' overlap the entry at line 5, column 13" },
	    { 6, 55, "host ports of '8000:80' overlap the entry at line 6, column 13" } } },
	{ "too many ports",
	  NET "    ports: [\"1-1000:1-1000\", \"2001-2100:2001-2100\"]\n",
	  1,
	  { { 5, 30, "too many ports: at most 1024 in all per service" } } },
	{ "ports not a list",
	  NET "    ports: \"8080:80\"\n",
	  1,
	  { { 5, 12, "'ports' must be a list; write ports: [\"8080:80\"]" } } },
	{ "image without mount namespace",
	  "services:\n  web:\n    image: /img\n    isolation: {namespaces: [net]}\n",
	  1,
	  { { 4, 29, "need the 'mount' namespace" } } },
	{ "bind mount without source",
	  SVC "    isolation:\n      mounts:\n        - {target: /data}\n",
	  1,
	  { { 6, 11, "bind mount needs a 'source'" } } },
	{ "mount relative target and source",
	  SVC "    isolation:\n      mounts:\n        - {source: data, target: data}\n",
	  2,
	  { { 6, 20, "'source' must be an absolute path, not 'data'" },
	    { 6, 34, "'target' must be an absolute path, not 'data'" } } },
	{ "tmpfs with source and dotdot target",
	  SVC "    isolation:\n      mounts:\n"
	      "        - {type: tmpfs, source: /x, target: /a/../etc}\n",
	  2,
	  { { 6, 25, "tmpfs mounts take no 'source'" },
	    { 6, 45, "mount target '/a/../etc' must not contain '..'" } } },
	{ "mount targets twice",
	  SVC "    isolation:\n      mounts:\n"
	      "        - {type: tmpfs, target: /tmp}\n"
	      "        - {type: tmpfs, target: /tmp, size: 0}\n",
	  2,
	  { { 7, 33, "mount target '/tmp' is used twice" },
	    { 7, 45, "tmpfs 'size' must be above 0" } } },
	{ "mount type invalid",
	  SVC "    isolation: {mounts: [{type: overlay, target: /x}]}\n",
	  1,
	  { { 4, 33, "invalid mount type 'overlay' (expected one of: bind, tmpfs)" } } },
	{ "relative rootfs and working_dir",
	  SVC "    rootfs: srv/root\n    working_dir: srv\n",
	  2,
	  { { 4, 13, "'rootfs' must be an absolute path, not 'srv/root'" },
	    { 5, 18, "'working_dir' must be an absolute path, not 'srv'" } } },
	{ "image and rootfs",
	  SVC "    image: /img\n    rootfs: /root\n",
	  1,
	  { { 5, 5, "'image' and 'rootfs' are mutually exclusive" } } },
	{ "restart policy invalid",
	  SVC "    restart: {policy: sometimes}\n",
	  1,
	  { { 4, 23, "invalid restart policy 'sometimes'" } } },
	{ "restart delay above max_delay",
	  SVC "    restart: {delay: 1m}\n",
	  1,
	  { { 4, 22, "restart.delay (1m) must not exceed restart.max_delay (30s)" } } },
	{ "restart burst zero and bad interval",
	  SVC "    restart:\n      limit: {burst: 0, interval: 5y}\n",
	  2,
	  { { 5, 22, "'restart.limit.burst' must be between 1 and 10000, not 0" },
	    { 5, 35, "invalid duration '5y' for 'restart.limit.interval'" } } },
	{ "health without a check",
	  SVC "    health: {interval: 5s}\n",
	  1,
	  { { 4, 13, "'health' needs one of exec, tcp or http" } } },
	{ "health two checks",
	  SVC "    health:\n      tcp: 80\n      http: {port: 80}\n",
	  1,
	  { { 6, 7,
	      "'health' takes only one of exec, tcp and http ('tcp' at line 5, column 7)" } } },
	{ "health interval too short",
	  SVC "    health: {tcp: 80, interval: 10ms}\n",
	  1,
	  { { 4, 33, "health.interval" } } },
	{ "health timeout too short and retries zero",
	  SVC "    health: {tcp: 80, timeout: 50ms, retries: 0}\n",
	  2,
	  { { 4, 32, "health.timeout" },
	    { 4, 47, "'health.retries' must be between 1 and 1000" } } },
	{ "health http bad path and status",
	  SVC "    health:\n      http: {port: 80, path: healthz}\n",
	  1,
	  { { 5, 30, "'health.http.path' must start with '/'" } } },
	{ "health http without port",
	  SVC "    health:\n      http: {path: /x, status: 700}\n",
	  1,
	  { { 5, 13, "'health.http' needs a port" } } },
	{ "health unknown key and bad action",
	  SVC "    health: {exec: [/bin/x], retry: 3, on_unhealthy: reboot}\n",
	  2,
	  { { 4, 30, "unknown key 'retry' in 'health'" },
	    { 4, 54,
	      "invalid health.on_unhealthy 'reboot' (expected one of: restart, stop, none" } } },
	{ "health exec empty",
	  SVC "    health: {exec: []}\n",
	  1,
	  { { 4, 20, "'health.exec' must not be an empty list" } } },
	{ "health not a mapping", SVC "    health: yes\n", 1, { { 4, 13, "health" } } },
	{ "ready exec as scalar",
	  SVC "    ready: exec\n",
	  1,
	  { { 4, 12, "'ready: exec' needs an argument" } } },
	{ "ready scalar invalid",
	  SVC "    ready: notfy\n",
	  1,
	  { { 4, 12,
	      "invalid ready 'notfy' (expected one of: none, notify; did you mean "
	      "'notify'?)" } } },
	{ "ready mapping without a check",
	  SVC "    ready: {timeout: 5s}\n",
	  1,
	  { { 4, 5, "'ready' needs one of exec, tcp or notify" } } },
	{ "ready two checks",
	  SVC "    ready: {tcp: 80, exec: [/bin/x]}\n",
	  1,
	  { { 4, 22,
	      "'ready' takes only one of exec, tcp and notify ('tcp' at line 4, column "
	      "13)" } } },
	{ "ready tcp port zero",
	  SVC "    ready: {tcp: 0}\n",
	  1,
	  { { 4, 18, "'ready.tcp' must be between 1 and 65535, not 0" } } },
	{ "ready notify false",
	  SVC "    ready: {notify: false}\n",
	  1,
	  { { 4, 21, "'ready.notify' must be true" } } },
	{ "ready exec string",
	  SVC "    ready: {exec: /bin/check}\n",
	  1,
	  { { 4, 19, "'ready.exec' must be a list of strings, not a single string" } } },
	{ "watchdog without notify",
	  SVC "    watchdog: 10s\n",
	  1,
	  { { 4, 15, "'watchdog' needs 'ready: notify'" } } },
	{ "watchdog too short",
	  SVC "    ready: notify\n    watchdog: 10ms\n",
	  1,
	  { { 5, 15, "'watchdog' must be 0 (off) or at least 1s" } } },
	{ "depends_on unknown with hint",
	  "services:\n  db: {command: [db]}\n  web: {command: [w], depends_on: [dbb]}\n",
	  1,
	  { { 3, 36, "depends_on: unknown service 'dbb' (did you mean 'db'?)" } } },
	{ "depends_on self",
	  "services:\n  web: {command: [w], depends_on: [web]}\n",
	  1,
	  { { 2, 36, "service 'web' depends on itself" } } },
	{ "depends_on string",
	  SVC "    depends_on: db\n",
	  1,
	  { { 4, 17, "'depends_on' must be a list of service names; write depends_on: [db]" } } },
	{ "depends_on mapping errors",
	  "services:\n"
	  "  a: {command: [a]}\n"
	  "  b: {command: [b]}\n"
	  "  web:\n"
	  "    command: [w]\n"
	  "    depends_on:\n"
	  "      a: {condition: service_healthy}\n"
	  "      b: {condition: up, restart: 2, when: x}\n"
	  "      B: {}\n"
	  "      c: [x]\n",
	  6,
	  { { 7, 22,
	      "'depends_on.a.condition': write 'healthy' (paddock's name for compose's "
	      "'service_healthy')" },
	    { 8, 22, "depends_on.b.condition" },
	    { 8, 35, "depends_on.b.restart" },
	    { 8, 38, "unknown key 'when'" },
	    { 9, 7, "invalid service name 'B' in 'depends_on'" },
	    { 10, 10, "'depends_on.c' must be a mapping" } } },
	{ "binds_to errors",
	  "services:\n"
	  "  a: {command: [a]}\n"
	  "  web: {command: [w], binds_to: a}\n"
	  "  api: {command: [w], binds_to: [a, a, ghost, {x: 1}]}\n",
	  4,
	  { { 3, 33, "'binds_to' must be a list of service names; write binds_to: [a]" },
	    { 4, 37, "'a' listed twice in 'binds_to'" },
	    { 4, 47, "items of 'binds_to' must be service names, not a mapping" },
	    { 4, 40, "depends_on: unknown service 'ghost'" } } },
	{ "depends_on twice and invalid",
	  "services:\n  a: {command: [a]}\n  web: {command: [w], depends_on: [a, a, B]}\n",
	  2,
	  { { 3, 39, "'a' listed twice in 'depends_on' (first at line 3, column 36)" },
	    { 3, 42, "invalid service name 'B' in 'depends_on'" } } },
	{ "dependency cycle",
	  "services:\n"
	  "  a: {command: [a], depends_on: [b]}\n"
	  "  b: {command: [b], depends_on: [c]}\n"
	  "  c: {command: [c], depends_on: [a]}\n",
	  1,
	  { { 4, 34, "dependency cycle: a -> b -> c -> a" } } },
	{ "two cycles",
	  "services:\n"
	  "  a: {command: [a], depends_on: [b]}\n"
	  "  b: {command: [b], depends_on: [a]}\n"
	  "  x: {command: [x], depends_on: [y]}\n"
	  "  y: {command: [y], depends_on: [x]}\n",
	  2,
	  { { 3, 34, "dependency cycle: a -> b -> a" },
	    { 5, 34, "dependency cycle: x -> y -> x" } } },
	{ "duplicate keys",
	  SVC
	  "    class: batch\n    class: critical\n    resources: {io: {weight: 1, weight: 2}}\n",
	  2,
	  { { 5, 5, "duplicate key 'class' in service 'web' (first at line 4, column 5)" },
	    { 6, 33, "duplicate key 'weight' in 'resources.io' (first at line 6, column 22)" } } },
	{ "duplicate service in one file",
	  "services:\n  web: {command: [a]}\n  db: {command: [b]}\n  web: {command: [c]}\n",
	  1,
	  { { 4, 3, "duplicate key 'web' in 'services' (first at line 2, column 3)" } } },
	{ "invalid service names",
	  "services:\n  Web: {command: [a]}\n  -x: {command: [a]}\n"
	  "  a234567890123456789012345678901234567890123456789012345678901234: {command: [a]}\n",
	  3,
	  { { 2, 3, "invalid service name 'Web'" },
	    { 3, 3, "invalid service name '-x'" },
	    { 4, 3, "invalid service name 'a23456789012345678901234567890123456789" } } },
	{ "stop signal and timeout",
	  SVC "    stop: {signal: SIGFOO, timeout: -1s}\n",
	  2,
	  { { 4, 20, "invalid signal 'SIGFOO' for 'stop.signal': unknown signal" },
	    { 4, 37, "invalid duration '-1s' for 'stop.timeout': negative values" } } },
	{ "on_oom invalid",
	  SVC "    on_oom: ignore\n",
	  1,
	  { { 4, 13, "invalid on_oom 'ignore' (expected one of: restart, stop, grow)" } } },
	{ "pressure missing above, reclaim on cpu",
	  SVC "    pressure:\n      memory: {action: kill}\n      cpu: {above: 10%, action: "
	      "reclaim}\n",
	  2,
	  { { 5, 7, "'pressure.memory' needs 'above'" },
	    { 6, 33, "action 'reclaim' applies only to memory pressure" } } },
	{ "pressure bad values",
	  SVC "    pressure:\n      io: {above: 150%, for: 100ms, action: explode}\n",
	  3,
	  { { 5, 19, "invalid percentage '150%' for 'pressure.io.above': must not exceed 100%" },
	    { 5, 30, "'for' must be between 500ms and 1h, not 100ms" },
	    { 5, 45, "invalid pressure action 'explode'" } } },
	{ "pressure unknown resource",
	  SVC "    pressure: {mem: {above: 5%, action: kill}}\n",
	  1,
	  { { 4, 16, "unknown key 'mem' in 'pressure'" } } },
	{ "three independent errors",
	  "services:\n"
	  "  web:\n"
	  "    command: [/bin/web]\n"
	  "    class: gold\n"
	  "    resources:\n"
	  "      memory: {max: lots}\n"
	  "    restart: {polcy: always}\n",
	  3,
	  { { 4, 12, "invalid class 'gold'" },
	    { 6, 21, "invalid size 'lots'" },
	    { 7, 15, "unknown key 'polcy' in 'restart' (did you mean 'policy'?)" } } },
	{ "errors in several services",
	  "services:\n  a: {command: x}\n  b: {command: [b], init: 3}\n  c: {}\n",
	  3,
	  { { 2, 16, "'command' must be a list" },
	    { 3, 27, "'init' must be true or false, not '3'" },
	    { 4, 3, "service 'c' needs a 'command'" } } },
	{ "hostname and user invalid",
	  SVC "    hostname: -bad-\n    user: \"a:b:c\"\n",
	  2,
	  { { 4, 15, "invalid hostname '-bad-'" }, { 5, 11, "invalid user 'a:b:c'" } } },
	{ "hostname without uts",
	  SVC "    hostname: box\n    isolation: {namespaces: [pid, net]}\n",
	  1,
	  { { 4, 15, "'hostname' needs the 'uts' namespace" } } },
	{ "missing command",
	  "services:\n  web:\n",
	  1,
	  { { 2, 3, "service 'web' needs a 'command'" } } },
	{ "service is a list",
	  "services:\n  web: [a, b]\n",
	  1,
	  { { 2, 8, "service 'web' must be a mapping, not a list" } } },
	{ "top level is a list",
	  "- services\n",
	  1,
	  { { 1, 1, "the top level must be a mapping with a 'services' key, not a list" } } },
	{ "top level is a scalar",
	  "hello\n",
	  1,
	  { { 1, 1, "the top level must be a mapping with a 'services' key, not a scalar" } } },
	{ "top level typo",
	  "service:\n  web: {command: [a]}\n",
	  2,
	  { { 1, 1, "unknown key 'service' at the top level (did you mean 'services'?)" },
	    { 1, 1, "missing 'services' key at the top level" } } },
	{ "services is a list",
	  "services:\n  - web\n",
	  1,
	  { { 2, 3, "'services' must be a mapping, not a list" } } },
	{ "services is a scalar",
	  "services: web\n",
	  1,
	  { { 1, 11, "'services' must be a mapping, not a scalar" } } },
	{ "mapping as a key",
	  "services:\n  ? {a: b}\n  : {command: [x]}\n",
	  1,
	  { { 2, 5, "a key in 'services' must be a scalar, not a mapping" } } },
	{ "yaml syntax error",
	  "services:\n  web:\n    command: [a, b\n  db: {}\n",
	  1,
	  { { 4, 5, "YAML syntax error: did not find expected ',' or ']'" } } },
	{ "yaml bad indentation",
	  "services:\n  web:\n    command: [a]\n   class: batch\n",
	  1,
	  { { 4, 4, "YAML syntax error: did not find expected key" } } },
	{ "tab indentation", "services:\n\tweb: {}\n", 1, { { 2, 1, "YAML syntax error" } } },
	{ "not UTF-8",
	  "services:\n  web:\n    command: [\"\xff\xfe\"]\n",
	  1,
	  { { 3, 16, "invalid input: invalid leading UTF-8 octet" } } },
	{ "two documents",
	  "services: {}\n---\nservices: {}\n",
	  1,
	  { { 2, 1, "more than one YAML document in a file" } } },
	{ "undefined alias",
	  "services:\n  web: *nope\n",
	  1,
	  { { 2, 8, "undefined alias '*nope'" } } },
	{ "recursive alias",
	  "services: &a\n  web: *a\n",
	  1,
	  { { 2, 8, "alias '*a' refers to a node that contains it" } } },
	{ "NUL in a value",
	  "services:\n  web:\n    command: [\"a\\0b\"]\n",
	  1,
	  { { 3, 15, "value contains a NUL character" } } },
	{ "a broken service still resolves as a dependency",
	  "services:\n  a: {command: [a], init: 3}\n  b: {command: [b], depends_on: [a]}\n",
	  1,
	  { { 2, 27, "'init' must be true or false, not '3'" } } },
	{ "alias reported once",
	  "services:\n"
	  "  a: {command: [a], resources: &r {cpu: {weight: 0}}}\n"
	  "  b: {command: [b], resources: *r}\n",
	  1,
	  { { 2, 50, "'resources.cpu.weight' must be between 1 and 10000" } } },
	{ "rlimits and oom_score_adj",
	  SVC "    resources:\n"
	      "      rlimits:\n"
	      "        nofile: 1024\n"
	      "        nproc: \"100:200\"\n"
	      "        core: {soft: 0, hard: unlimited}\n"
	      "        memlock: 64M\n"
	      "        stack: 8M:unlimited\n"
	      "      oom_score_adj: -500\n",
	  0,
	  { { 0 } },
	  check_rlimits },
	{ "rlimits unset inherit", SVC, 0, { { 0 } }, check_rlimits_unset },
	{ "oom_score_adj upper bound",
	  SVC "    resources: {oom_score_adj: 1000}\n",
	  0,
	  { { 0 } },
	  check_oom_score_max },
	{ "rlimit unknown name",
	  SVC "    resources: {rlimits: {nofiles: 10}}\n",
	  1,
	  { { 4, 27, "unknown key 'nofiles' in 'resources.rlimits'" } } },
	{ "rlimit soft above hard",
	  SVC "    resources: {rlimits: {nofile: \"4096:1024\"}}\n",
	  1,
	  { { 4, 35, "'resources.rlimits.nofile': the soft limit must not be above the hard" } } },
	{ "rlimit mapping soft above hard",
	  SVC "    resources: {rlimits: {nproc: {soft: 5, hard: 4}}}\n",
	  1,
	  { { 4, 34, "soft limit must not be above the hard limit" } } },
	{ "rlimit mapping missing hard",
	  SVC "    resources: {rlimits: {nproc: {soft: 5}}}\n",
	  1,
	  { { 4, 34, "'resources.rlimits.nproc' needs both 'soft' and 'hard'" } } },
	{ "rlimit mapping unknown key",
	  SVC "    resources: {rlimits: {nproc: {soft: 5, hard: 6, max: 7}}}\n",
	  1,
	  { { 4, 53, "unknown key 'max' in 'resources.rlimits.nproc'" } } },
	{ "rlimit not a number",
	  SVC "    resources: {rlimits: {nofile: lots}}\n",
	  1,
	  { { 4, 35,
	      "invalid value 'lots' for 'resources.rlimits.nofile' (a whole number, or "
	      "unlimited)" } } },
	{ "rlimit negative",
	  SVC "    resources: {rlimits: {nproc: -1}}\n",
	  1,
	  { { 4, 34, "invalid value '-1' for 'resources.rlimits.nproc'" } } },
	{ "rlimit size with bad unit",
	  SVC "    resources: {rlimits: {memlock: 64Q}}\n",
	  1,
	  { { 4, 36,
	      "invalid value '64Q' for 'resources.rlimits.memlock' (a size like 512K or 64M" } } },
	{ "rlimit size max is not unlimited",
	  SVC "    resources: {rlimits: {core: max}}\n",
	  1,
	  { { 4, 33, "invalid value 'max' for 'resources.rlimits.core' (a size like" } } },
	{ "rlimit nofile above nr_open",
	  SVC "    resources: {rlimits: {nofile: 2000000000}}\n",
	  1,
	  { { 4, 35, "'resources.rlimits.nofile' must be at most 1073741816, not 2000000000" } } },
	{ "rlimit rtprio above 99",
	  SVC "    resources: {rlimits: {rtprio: 100}}\n",
	  1,
	  { { 4, 35, "'resources.rlimits.rtprio' must be at most 99" } } },
	{ "rlimit empty soft",
	  SVC "    resources: {rlimits: {nofile: \":10\"}}\n",
	  1,
	  { { 4, 35, "invalid value ':10' for 'resources.rlimits.nofile'" } } },
	{ "rlimits is a list",
	  SVC "    resources: {rlimits: [nofile]}\n",
	  1,
	  { { 4, 26, "'resources.rlimits' must be a mapping, not a list" } } },
	{ "oom_score_adj too low",
	  SVC "    resources: {oom_score_adj: -1001}\n",
	  1,
	  { { 4, 32,
	      "'resources.oom_score_adj' must be a whole number from -1000 to 1000, not "
	      "'-1001'" } } },
	{ "oom_score_adj not a number",
	  SVC "    resources: {oom_score_adj: low}\n",
	  1,
	  { { 4, 32, "from -1000 to 1000, not 'low'" } } },
	{ "oom_score_adj huge",
	  SVC "    resources: {oom_score_adj: 99999999999999999999999}\n",
	  1,
	  { { 4, 32, "from -1000 to 1000" } } },
	{ "bad secrets",
	  SVC "    secrets:\n"
	      "      - a\n"
	      "      - {source: b, target: a}\n"
	      "      - {source: c, mode: 0800}\n"
	      "      - {source: d, uid: -1, gid: 4294967295}\n"
	      "      - {target: x}\n"
	      "      - {source: \"Bad Name\"}\n"
	      "      - {source: e, target: /a/../b}\n"
	      "      - [x]\n"
	      "      - {source: f, target: /run/secrets/a, owner: 1}\n"
	      "      - {source: g/}\n",
	  11,
	  { { 6, 9, "duplicate secret target '/run/secrets/a' (first at line 5, column 9)" },
	    { 7, 27, "'secrets[].mode' must be octal permissions up to 0777" },
	    { 8, 26, "'secrets[].uid' must not be negative" },
	    { 8, 35, "'secrets[].gid' must be between 0 and 4294967294" },
	    { 9, 9, "a secret needs a 'source'" },
	    { 10, 18, "invalid secret name 'Bad Name'" },
	    { 11, 29, "secret target '/a/../b' must be a NAME or an absolute path" },
	    { 12, 9, "items of 'secrets' must be NAME or {source: ..., target: ...}" },
	    { 13, 9, "duplicate secret target '/run/secrets/a' (first at line 5, column 9)" },
	    { 13, 45, "unknown key 'owner'" },
	    { 14, 18, "secret source 'g/' must name a file, not a directory" } } },
	{ "secrets need the mount namespace",
	  SVC "    isolation: {namespaces: [pid, net]}\n"
	      "    secrets: [a]\n",
	  1,
	  { { 5, 5, "secrets are mounted on a private tmpfs: they need the mount namespace" } } },
	{ "secrets as a string",
	  SVC "    secrets: a\n",
	  1,
	  { { 4, 14, "'secrets' must be a list; write secrets: [a]" } } },
	{ "bad profiles and enabled",
	  SVC "    profiles: [debug, Debug, debug, {x: 1}]\n"
	      "    enabled: maybe\n",
	  4,
	  { { 4, 23, "invalid profile name 'Debug'" },
	    { 4, 30, "profile 'debug' listed twice (first at line 4, column 16)" },
	    { 4, 37, "invalid profile name" },
	    { 5, 14, "'enabled'" } } },
	{ "profiles as a string",
	  SVC "    profiles: debug\n",
	  1,
	  { { 4, 15, "'profiles' must be a list of names; write profiles: [debug]" } } },
	{ "environment_file not a path",
	  SVC "    environment_file: [\"-\", {a: b}]\n",
	  2,
	  { { 4, 24, "'environment_file' items must be paths, not empty" },
	    { 4, 29, "environment_file" } } },
	{ "duplicate keys after merging",
	  "x-base: &base {command: [/bin/a], user: \"1:1\"}\n"
	  "services:\n"
	  "  web:\n"
	  "    <<: *base\n"
	  "    user: \"2:2\"\n"
	  "    secrets: [a]\n"
	  "    user: \"3:3\"\n",
	  1,
	  { { 7, 5, "duplicate key 'user'" } } },
	{ "an instance name written by hand",
	  "services:\n  web@2: {command: [w]}\n",
	  1,
	  { { 2, 3,
	      "invalid service name 'web@2': '@' is reserved for instances: use 'instances:'" } } },
	{ "bad instances",
	  "services:\n"
	  "  a: {instances: 0, command: [a]}\n"
	  "  b: {instances: 257, command: [b]}\n"
	  "  c: {instances: [x, X, x], command: [c]}\n"
	  "  d: {instances: [], command: [d]}\n"
	  "  e: {instances: {x: 1}, command: [e]}\n"
	  "  f: {instances: two, command: [f]}\n",
	  7,
	  { { 2, 18, "'instances' must be between 1 and 256, not 0" },
	    { 3, 18, "'instances' must be between 1 and 256, not 257" },
	    { 4, 22, "invalid instance name 'X'" },
	    { 4, 25, "instance 'x' listed twice (first at line 4, column 19)" },
	    { 5, 18, "'instances' must list 1 to 256 names" },
	    { 6, 18, "'instances' must be a list, not a mapping" },
	    { 7, 18, "'instances' must be a whole number, not 'two'" } } },
	{ "errors of an instance reported once",
	  "services:\n"
	  "  web:\n"
	  "    instances: 4\n"
	  "    command: [w]\n"
	  "    clas: batch\n"
	  "    user: \"${instance}:x:y\"\n"
	  "    depends_on: [ghost]\n",
	  3,
	  { { 5, 5, "unknown key 'clas'" },
	    { 6, 11, "invalid user '1:x:y'" },
	    { 7, 18, "depends_on: unknown service 'ghost'" } },
	  NULL,
	  true },
	{ "undefined variable",
	  SVC "    environment: {A: \"x${NOPE_NOT_SET}\"}\n"
	      "  api: {command: [a], depends_on: [web]}\n",
	  1,
	  { { 4, 22, "undefined variable 'NOPE_NOT_SET'" } },
	  NULL,
	  true },
	{ "a buffer is not interpolated",
	  SVC "    environment: {A: \"x${NOPE_NOT_SET}\", B: \"$$\"}\n"
	      "    instances: 2\n"
	      "    user: \"${instance}\"\n",
	  1,
	  { { 6, 11, "invalid user '${instance}'" } } },
	{ "depends_on instances",
	  "services:\n"
	  "  web: {instances: 2, command: [w], depends_on: [web@3, \"bad@\"]}\n",
	  2,
	  { { 2, 57, "invalid service name 'bad@' in 'depends_on'" },
	    { 2, 50, "depends_on: unknown service 'web@3' (did you mean 'web@1'?)" } } },
	{ "groups and umask",
	  SVC "    groups: [video, \"01000\", 4294967294, _ssl-cert.x]\n"
	      "    umask: \"0027\"\n"
	      "  db: {command: [d], groups: [], umask: 0077}\n"
	      "  e: {command: [e], umask: 0}\n"
	      "  f: {command: [f], umask: 0o750}\n"
	      "  g: {command: [g], umask: ~}\n",
	  0,
	  { { 0 } },
	  check_identity },
	{ "bad groups",
	  SVC "    groups: [video, 4294967295, -1, 9x, video, \"01\", 1, {a: b},\n"
	      "             abcdefghijabcdefghijabcdefghijabc, \"\"]\n",
	  8,
	  { { 4, 21, "'groups' must be between 0 and 4294967294, not 4294967295" },
	    { 4, 33, "invalid group '-1' in 'groups'" },
	    { 4, 37, "'groups' must be a whole number, not '9x'" },
	    { 4, 41, "group 'video' listed twice (first at line 4, column 14)" },
	    { 4, 54, "group '1' listed twice (first at line 4, column 48)" },
	    { 4, 57, "'groups'" },
	    { 5, 14, "invalid group 'abcdefghijabcdefghijabcdefghijabc' in 'groups'" },
	    { 5, 49, "'groups'" } } },
	{ "groups as a string",
	  SVC "    groups: video\n",
	  1,
	  { { 4, 13, "'groups' must be a list; write groups: [video]" } } },
	{ "bad umask",
	  SVC "    umask: \"0028\"\n"
	      "  b: {command: [b], umask: 1777}\n"
	      "  c: {command: [c], umask: [1]}\n"
	      "  d: {command: [d], umask: \"\"}\n",
	  4,
	  { { 4, 12, "invalid umask '0028' (expected an octal mode 0..0777, like \"0027\")" },
	    { 5, 28, "invalid umask '1777'" },
	    { 6, 28, "'umask'" },
	    { 7, 28, "invalid umask ''" } } },
	{ "too many groups",
	  SVC
	  "    groups: [g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, g13, g14, g15,\n"
	  "      g16, g17, g18, g19, g20, g21, g22, g23, g24, g25, g26, g27, g28, g29, g30, g31,\n"
	  "      g32, g33, g34, g35, g36, g37, g38, g39, g40, g41, g42, g43, g44, g45, g46, g47,\n"
	  "      g48, g49, g50, g51, g52, g53, g54, g55, g56, g57, g58, g59, g60, g61, g62, g63,\n"
	  "      g64]\n",
	  1,
	  { { 4, 13, "'groups' has too many items (at most 64)" } } },
};
/* Percentages without host memory are errors. */
static void test_percent_without_host(void **state)
{
	static const char y[] = SVC "    resources: {memory: {max: 50%}}\n";
	struct config_errors e = { 0 };
	struct spec_set *set;
	const struct want w[] = { { 4, 31, "percentages need the host memory size" } };

	(void)state;
	assert_int_equal(config_parse_specs_buffer("t.yaml", y, strlen(y), NULL, &set, &e),
			 -EINVAL);
	assert_null(set);
	expect_diags(&e, "t.yaml", 1, w);
	config_errors_clear(&e);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse buf and expect exactly one diagnostic containing msg; return elapsed seconds. */
static double expect_one_error(const char *buf, size_t len, const char *msg)
{
	struct config_errors e = { 0 };
	struct spec_set *set;
	double t0 = now(), dt;
	int r = config_parse_specs_buffer("h.yaml", buf, len, &host8g, &set, &e);

	dt = now() - t0;
	assert_true(r < 0);
	assert_null(set);
	if (e.n != 1 || !strstr(e.diags[0].message, msg)) {
		dump(&e);
		fail_msg("want one error with '%s'", msg);
	}
	config_errors_clear(&e);
	return dt;
}

static void test_alias_bomb(void **state)
{
	char buf[4096];
	size_t o = 0;
	double dt;

	(void)state;
	/* Classic billion laughs: 9 levels of 9 aliases each = 9^9 leaves. */
	o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			      "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (char c = 'b'; c <= 'j'; c++) {
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%c: &%c [", c, c);
		for (int i = 0; i < 9; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s*%c", i ? ", " : "",
					      c - 1);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "]\n");
	}
	dt = expect_one_error(buf, o, "more than 200000 nodes with aliases expanded");
	assert_true(dt < 1.0);
	print_message("alias bomb refused in %.6f s\n", dt);
}

static void test_deep_nesting(void **state)
{
	char *buf = malloc(200010);
	double dt;

	(void)state;
	assert_non_null(buf);
	memcpy(buf, "services: ", 10);
	memset(buf + 10, '[', 100000);
	memset(buf + 100010, ']', 100000);
	dt = expect_one_error(buf, 200010, "nesting too deep (more than 32 levels)");
	assert_true(dt < 1.0);
	/* Block style nesting too. */
	{
		char b2[8192];
		size_t o = 0;

		for (int i = 0; i < 40; i++)
			o += (size_t)snprintf(b2 + o, sizeof(b2) - o, "%*sk%d:\n", 2 * i, "", i);
		expect_one_error(b2, o, "nesting too deep");
	}
	free(buf);
}

static void test_huge_scalar(void **state)
{
	size_t n = CONFIG_MAX_SCALAR + 100;
	char *buf = malloc(n + 64);
	int o;

	(void)state;
	assert_non_null(buf);
	o = snprintf(buf, 64, "services:\n  web:\n    command: [\"");
	memset(buf + o, 'x', n);
	memcpy(buf + o + n, "\"]\n", 3);
	expect_one_error(buf, (size_t)o + n + 3, "value too long");
	free(buf);
}

static void test_huge_buffer(void **state)
{
	size_t n = CONFIG_MAX_FILE_SIZE + 1;
	char *buf = malloc(n);

	(void)state;
	assert_non_null(buf);
	memset(buf, '#', n);
	expect_one_error(buf, n, "file too large");
	free(buf);
}

static void test_many_nodes(void **state)
{
	/* A flat list above CONFIG_MAX_NODES without aliases. */
	size_t n = CONFIG_MAX_NODES + 10, len = 0;
	char *buf = malloc(n * 3 + 32);

	(void)state;
	assert_non_null(buf);
	len += (size_t)sprintf(buf, "x: [");
	for (size_t i = 0; i < n; i++) {
		memcpy(buf + len, "1,", 2);
		len += 2;
	}
	buf[len++] = ']';
	expect_one_error(buf, len, "more than 200000 nodes");
	free(buf);
}

/* Error cap: 150 bad services yield CONFIG_MAX_ERRORS + 1 diagnostics. */
static void test_error_cap(void **state)
{
	char *buf = malloc(150 * 40 + 16);
	struct config_errors e = { 0 };
	struct spec_set *set;
	size_t o = 0;

	(void)state;
	assert_non_null(buf);
	o += (size_t)sprintf(buf, "services:\n");
	for (int i = 0; i < 150; i++)
		o += (size_t)sprintf(buf + o, "  s%d: {command: [x], init: 7}\n", i);
	assert_int_equal(config_parse_specs_buffer("cap.yaml", buf, o, &host8g, &set, &e), -EINVAL);
	assert_int_equal(e.n, CONFIG_MAX_ERRORS + 1);
	assert_string_equal(e.diags[CONFIG_MAX_ERRORS].message, "too many errors; giving up");
	config_errors_clear(&e);
	free(buf);
}

/* Thousands of unknown names and keys stay fast once errors are capped. */
static void test_many_errors_fast(void **state)
{
	size_t cap = CONFIG_MAX_FILE_SIZE, o = 0;
	char *buf = malloc(cap);
	struct config_errors e = { 0 };
	struct spec_set *set;
	double t0 = now();

	(void)state;
	assert_non_null(buf);
	o += (size_t)snprintf(buf, cap, "services:\n");
	for (int i = 0; i < 3000 && o + 400 < cap; i++) {
		o += (size_t)snprintf(buf + o, cap - o,
				      "  s%d: {command: [x], zork: 1, depends_on: [", i);
		for (int j = 0; j < 30; j++)
			o += (size_t)snprintf(buf + o, cap - o, "%sq%d", j ? ", " : "", j);
		o += (size_t)snprintf(buf + o, cap - o, "]}\n");
	}
	assert_int_equal(config_parse_specs_buffer("many.yaml", buf, o, &host8g, &set, &e),
			 -EINVAL);
	assert_int_equal(e.n, CONFIG_MAX_ERRORS + 1);
	assert_true(now() - t0 < 10.0); /* natively ~0.1 s; was quadratic */
	config_errors_clear(&e);
	free(buf);
}

/* Hostile bytes must never crash: a quick deterministic fuzz over mutations. */
static void test_mutations(void **state)
{
	const char *base = cases[0].yaml;
	size_t len = strlen(base);
	char *buf = malloc(len + 1);
	unsigned seed = 12345;

	(void)state;
	assert_non_null(buf);
	for (int round = 0; round < 3000; round++) {
		struct config_errors e = { 0 };
		struct spec_set *set;

		memcpy(buf, base, len);
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % len] = "{}[]:,-&*!|>'\"%@`#\n x0\t?"[(seed >> 20) % 24];
		}
		if (config_parse_specs_buffer("m.yaml", buf, len, &host8g, &set, &e) == 0)
			assert_non_null(set);
		else
			assert_null(set);
		spec_set_free(set);
		config_errors_clear(&e);
	}
	free(buf);
}

/* --- directories --------------------------------------------------------- */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static char *make_dir(void)
{
	char *d = strdup("/tmp/paddock-test-config-XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void remove_dir(char *d)
{
	nftw(d, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
}

/* A temporary directory per test, removed by the teardown even when it fails. */
static int dir_setup(void **state)
{
	*state = make_dir();
	return 0;
}

static int dir_teardown(void **state)
{
	remove_dir(*state);
	return 0;
}

static char *write_file(const char *dir, const char *name, const char *content)
{
	char *p;
	FILE *f;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	return p;
}

static void test_dir_good(void **state)
{
	const char *d = *state;
	struct config_errors e = { 0 };
	struct spec_set *set;

	free(write_file(d, "b.yaml", "services:\n  web: {command: [w], depends_on: [db]}\n"));
	free(write_file(d, "a.yaml", "services:\n  db: {command: [d]}\n"));
	free(write_file(d, "c.yaml", "# nothing yet\n"));
	free(write_file(d, ".hidden.yaml", "broken: [\n"));
	free(write_file(d, "notes.txt", "broken: [\n"));
	free(write_file(d, "x.yaml.bak", "broken: [\n"));
	free(write_file(d, "x.yml", "broken: [\n"));
	assert_int_equal(config_load_specs(d, &host8g, &set, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(set->nservices, 2);
	assert_string_equal(set->services[0]->name, "db");
	assert_non_null(strstr(set->services[0]->file, "/a.yaml"));
	assert_string_equal(set->services[1]->name, "web");
	set = spec_set_free(set);
	assert_null(set);
}

static void test_dir_cross_file(void **state)
{
	const char *d = *state;
	char *a, *b, *c;
	char first[600];
	struct config_errors e = { 0 };
	struct spec_set *set = (struct spec_set *)(uintptr_t)1;

	a = write_file(d, "a.yaml", "services:\n  web: {command: [w], depends_on: [api]}\n");
	b = write_file(d, "b.yaml",
		       "services:\n  api: {command: [a], depends_on: [web]}\n"
		       "  web: {command: [w2]}\n");
	c = write_file(d, "c.yaml", "services:\n  x: {command: [x], depends_on: [ghost]}\n");
	assert_int_equal(config_load_specs(d, &host8g, &set, &e), -EINVAL);
	assert_null(set);
	if (e.n != 3) {
		dump(&e);
		fail();
	}
	/* Duplicate first (points at b.yaml's web, names a.yaml's). */
	assert_string_equal(e.diags[0].file, b);
	assert_int_equal(e.diags[0].line, 3);
	assert_int_equal(e.diags[0].column, 3);
	snprintf(first, sizeof(first), "duplicate service 'web' (first defined at %s:2:3)", a);
	assert_string_equal(e.diags[0].message, first);
	/* Then unknown targets, then cycles. */
	assert_string_equal(e.diags[1].file, c);
	assert_int_equal(e.diags[1].line, 2);
	assert_int_equal(e.diags[1].column, 34);
	assert_string_equal(e.diags[1].message, "depends_on: unknown service 'ghost'");
	/* At the item that closes the cycle: web's depends_on [api] in a.yaml. */
	assert_string_equal(e.diags[2].file, a);
	assert_int_equal(e.diags[2].line, 2);
	assert_int_equal(e.diags[2].column, 36);
	assert_string_equal(e.diags[2].message, "dependency cycle: api -> web -> api");
	config_errors_clear(&e);
	free(a);
	free(b);
	free(c);
}

/* Errors in several files are all reported, and a good file alone still parses. */
static void test_dir_errors_everywhere(void **state)
{
	const char *d = *state;
	char *a, *b;
	struct config_errors e = { 0 };
	struct spec_set *set;

	a = write_file(d, "a.yaml", "services:\n  a: {command: [a], clas: batch}\n");
	b = write_file(d, "b.yaml", "services: [\n");
	assert_int_equal(config_load_specs(d, &host8g, &set, &e), -EINVAL);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.diags[0].file, a);
	assert_int_equal(e.diags[0].line, 2);
	assert_int_equal(e.diags[0].column, 21);
	assert_string_equal(e.diags[1].file, b);
	assert_non_null(strstr(e.diags[1].message, "YAML syntax error"));
	config_errors_clear(&e);
	/* config_load_spec_paths with one good file. */
	free(write_file(d, "good.yaml", "services:\n  g: {command: [g]}\n"));
	{
		char *p;
		char *paths[1];

		assert_true(asprintf(&p, "%s/good.yaml", d) > 0);
		paths[0] = p;
		assert_int_equal(config_load_spec_paths(paths, 1, &host8g, &set, &e), 0);
		assert_int_equal(set->nservices, 1);
		spec_set_free(set);
		/* A single file named directly does not need the .yaml suffix. */
		free(p);
	}
	free(a);
	free(b);
}

/* environment_file: paths against the spec's directory, read at parse time. */
static void test_envfiles(void **state)
{
	const char *d = *state;
	char *spec, *bad, *big, *want;
	char msg[600];
	struct config_errors e = { 0 };
	struct spec_set *set = (struct spec_set *)(uintptr_t)1;
	const struct service_spec *s;
	FILE *f;

	free(write_file(d, "app.env", "A=1\n# comment\nB=\"two\"\n"));
	assert_int_equal(mkdir(strcat(strcpy(msg, d), "/sub"), 0700), 0);
	spec = write_file(d, "web.yaml",
			  "services:\n"
			  "  web:\n"
			  "    command: [w]\n"
			  "    environment_file: [app.env, -missing.env, ./sub/../app.env]\n"
			  "  api:\n"
			  "    command: [a]\n"
			  "    environment_file: sub/../app.env\n");
	assert_int_equal(config_load_specs(d, &host8g, &set, &e), 0);
	s = spec_set_find(set, "web");
	assert_non_null(s);
	assert_int_equal(s->nenvironment_files, 3);
	assert_true(asprintf(&want, "%s/app.env", d) > 0);
	assert_string_equal(s->environment_files[0].path, want);
	assert_false(s->environment_files[0].optional);
	assert_int_equal(s->environment_files[0].line, 4);
	assert_int_equal(s->environment_files[0].column, 24);
	assert_true(s->environment_files[1].optional);
	assert_non_null(strstr(s->environment_files[1].path, "/missing.env"));
	assert_string_equal(s->environment_files[2].path, want);
	s = spec_set_find(set, "api");
	assert_int_equal(s->nenvironment_files, 1);
	assert_string_equal(s->environment_files[0].path, want);
	set = spec_set_free(set);
	free(want);

	/* A missing file, a line without '=', a file of 10 MB. */
	bad = write_file(d, "bad.env", "A=1\nJUSTAWORD\n");
	assert_true(asprintf(&big, "%s/big.env", d) > 0);
	f = fopen(big, "w");
	assert_non_null(f);
	for (int i = 0; i < 10 * 1024; i++)
		fprintf(f, "K%04d=%01018d\n", i % 10000, 0);
	fclose(f);
	free(write_file(d, "web.yaml",
			"services:\n"
			"  web:\n"
			"    command: [w]\n"
			"    environment_file: [nofile.env, bad.env, big.env]\n"));
	set = (struct spec_set *)(uintptr_t)1;
	assert_int_equal(config_load_specs(d, &host8g, &set, &e), -EINVAL);
	assert_null(set);
	if (e.n != 3) {
		dump(&e);
		fail();
	}
	assert_string_equal(e.diags[0].file, spec);
	assert_int_equal(e.diags[0].line, 4);
	assert_int_equal(e.diags[0].column, 24);
	snprintf(msg, sizeof(msg),
		 "environment_file '%s/nofile.env': no such file (write '-nofile.env' if it may "
		 "be missing)",
		 d);
	assert_string_equal(e.diags[0].message, msg);
	assert_string_equal(e.diags[1].file, spec);
	assert_int_equal(e.diags[1].line, 4);
	assert_int_equal(e.diags[1].column, 45);
	assert_non_null(strstr(e.diags[1].message, "/big.env': file too large"));
	/* The env file's own line comes after the spec file's diagnostics. */
	assert_string_equal(e.diags[2].file, bad);
	assert_int_equal(e.diags[2].line, 2);
	assert_non_null(strstr(e.diags[2].message, "no '='"));
	config_errors_clear(&e);
	free(spec);
	free(bad);
	free(big);
}

/* include: files and directories, each read once, relative to the including file. */
static void test_include(void **state)
{
	const char *d = *state;
	char *top, *sub, *db;
	struct config_errors e = { 0 };
	struct spec_set *set = (struct spec_set *)(uintptr_t)1;

	assert_int_equal(mkdir(strcat(strcpy(alloca(strlen(d) + 8), d), "/sub"), 0700), 0);
	assert_int_equal(mkdir(strcat(strcpy(alloca(strlen(d) + 8), d), "/sub2"), 0700), 0);
	top = write_file(d, "top.yaml",
			 "include: [sub/db.yaml, ./sub2, sub/../sub/db.yaml]\n"
			 "services:\n  web: {command: [w], depends_on: [db, cache]}\n");
	sub = write_file(d, "sub2/cache.yaml",
			 "include: [../sub/db.yaml]\nservices:\n  cache: {command: [c]}\n");
	db = write_file(d, "sub/db.yaml", "services:\n  db: {command: [d]}\n");
	free(write_file(d, "sub2/other.yaml", "include: [../sub]\n"));
	assert_int_equal(config_load_specs(top, &host8g, &set, &e), 0);
	assert_int_equal(set->nservices, 3);
	assert_string_equal(spec_set_find(set, "db")->file, db);
	assert_string_equal(spec_set_find(set, "web")->file, top);
	set = spec_set_free(set);

	/* A file only with include: loads; the same service twice names both places. */
	free(write_file(d, "sub2/cache.yaml",
			"services:\n  cache: {command: [c]}\n  db: {command: [d2]}\n"));
	assert_int_equal(config_load_specs(top, &host8g, &set, &e), -EINVAL);
	if (e.n != 1) {
		dump(&e);
		fail();
	}
	assert_string_equal(e.diags[0].file, sub);
	assert_int_equal(e.diags[0].line, 3);
	assert_int_equal(e.diags[0].column, 3);
	assert_non_null(strstr(e.diags[0].message, "duplicate service 'db' (first defined at "));
	assert_non_null(strstr(e.diags[0].message, "/sub/db.yaml:2:3)"));
	config_errors_clear(&e);
	free(top);
	free(sub);
	free(db);
}

static void test_include_errors(void **state)
{
	const char *d = *state;
	char *a, *b, *c, *msg;
	struct config_errors e = { 0 };
	struct spec_set *set = (struct spec_set *)(uintptr_t)1;

	a = write_file(d, "a.yaml",
		       "services:\n  a: {command: [a]}\n"
		       "include:\n  - b.yaml\n  - ghost.yaml\n  - {x: 1}\n");
	b = write_file(d, "b.yaml", "include: [c.yaml]\n");
	c = write_file(d, "c.yaml", "include: [c.yaml, a.yaml]\nservices:\n");
	assert_int_equal(config_load_specs(a, &host8g, &set, &e), -ENOENT);
	assert_null(set);
	if (e.n != 4) {
		dump(&e);
		fail();
	}
	/* a.yaml's own first (its item errors), then in the order includes are read */
	assert_string_equal(e.diags[0].file, a);
	assert_int_equal(e.diags[0].line, 6);
	assert_int_equal(e.diags[0].column, 5);
	assert_string_equal(e.diags[0].message, "items of 'include' must be paths, not a mapping");
	assert_string_equal(e.diags[1].file, c);
	assert_int_equal(e.diags[1].line, 1);
	assert_int_equal(e.diags[1].column, 11);
	assert_true(asprintf(&msg, "include cycle: %s:1:11 includes %s itself", c, c) > 0);
	assert_string_equal(e.diags[1].message, msg);
	free(msg);
	assert_string_equal(e.diags[2].file, c);
	assert_int_equal(e.diags[2].line, 1);
	assert_int_equal(e.diags[2].column, 19);
	assert_true(
	    asprintf(&msg, "include cycle: %s:4:5 includes %s, which includes %s again at %s:1:19",
		     a, b, a, c) > 0);
	assert_string_equal(e.diags[2].message, msg);
	free(msg);
	assert_string_equal(e.diags[3].file, a);
	assert_int_equal(e.diags[3].line, 5);
	assert_int_equal(e.diags[3].column, 5);
	assert_true(asprintf(&msg, "include '%s/ghost.yaml': No such file or directory", d) > 0);
	assert_string_equal(e.diags[3].message, msg);
	free(msg);
	config_errors_clear(&e);

	/* Not a list; a file without services or include. */
	free(write_file(d, "a.yaml", "include: b.yaml\n"));
	assert_int_equal(config_load_specs(a, &host8g, &set, &e), -EINVAL);
	expect_diags(&e, a, 1,
		     (const struct want[]){
			 { 1, 10, "'include' must be a list of paths; write include: [b.yaml]" } });
	config_errors_clear(&e);
	free(a);
	free(b);
	free(c);
}

/* At most CONFIG_MAX_FILES files in one load, included ones counted. */
static void test_include_file_limit(void **state)
{
	const char *d = *state;
	char name[64], *sub;
	struct config_errors e = { 0 };
	struct spec_set *set = (struct spec_set *)(uintptr_t)1;

	assert_true(asprintf(&sub, "%s/more", d) > 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	free(write_file(d, "0000.yaml", "include: [more]\n"));
	for (int i = 1; i < CONFIG_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "%04d.yaml", i);
		free(write_file(d, name, "# empty\n"));
	}
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "more/%d.yaml", i);
		free(write_file(d, name, "# empty\n"));
	}
	/* the three included files fill the budget: 1021 of the directory's are refused */
	assert_int_equal(config_load_specs(d, &host8g, &set, &e), -EINVAL);
	assert_null(set);
	assert_true(e.n > 0);
	assert_non_null(strstr(e.diags[0].message, "too many spec files (at most 1024"));
	assert_non_null(strstr(e.diags[0].file, "/1021.yaml"));
	config_errors_clear(&e);
	free(sub);
}

/* ${VAR}: the environment first, then the .env beside the specs. */
static void test_dotenv(void **state)
{
	static char tag[] = "TAG=from-env";
	char *const env[] = { tag, NULL };
	const struct config_host h = { .mem_total = 8 * GIB, .env = env };
	const char *d = *state;
	char *spec;
	struct config_errors e = { 0 };
	struct spec_set *set = (struct spec_set *)(uintptr_t)1;
	const struct service_spec *s;

	free(write_file(d, ".env", "TAG=from-dotenv\nPORT=8080\n"));
	spec = write_file(d, "web.yaml",
			  "services:\n  web:\n    command: [w, \"${PORT}\", \"$TAG\"]\n");
	assert_int_equal(config_load_specs(d, &h, &set, &e), 0);
	s = spec_set_find(set, "web");
	assert_string_equal(s->command[1], "8080");
	assert_string_equal(s->command[2], "from-env");
	set = spec_set_free(set);
	/* A file named directly finds the .env of its directory. */
	assert_int_equal(config_load_specs(spec, &host8g, &set, &e), 0);
	assert_string_equal(spec_set_find(set, "web")->command[2], "from-dotenv");
	set = spec_set_free(set);
	/* A broken .env is an error at its line (then its variables are missing). */
	free(write_file(d, ".env", "PORT=1\nnope\n"));
	assert_int_equal(config_load_specs(d, &h, &set, &e), -EINVAL);
	assert_int_equal(e.n, 2);
	assert_int_equal(e.diags[0].line, 2);
	assert_non_null(strstr(e.diags[0].file, "/.env"));
	assert_string_equal(e.diags[1].file, spec);
	assert_non_null(strstr(e.diags[1].message, "undefined variable 'PORT'"));
	config_errors_clear(&e);
	free(spec);
}

static void test_template_name_clash(void **state)
{
	const char *d = *state;
	char *a, *b;
	struct config_errors e = { 0 };
	struct spec_set *set = (struct spec_set *)(uintptr_t)1;

	a = write_file(d, "a.yaml", "services:\n  web: {command: [w], instances: 3}\n");
	b = write_file(
	    d, "b.yaml",
	    "services:\n  web: {command: [w], instances: [1, x]}\n  api: {command: [a]}\n");
	free(write_file(d, "c.yaml", "services:\n  api@x: {command: [a]}\n"));
	assert_int_equal(config_load_specs(d, &host8g, &set, &e), -EINVAL);
	if (e.n != 3) {
		dump(&e);
		fail();
	}
	assert_int_equal(e.diags[0].line, 2);
	assert_non_null(strstr(e.diags[0].message, "'@' is reserved for instances"));
	/* two templates clash: once, by template name, both places named */
	assert_string_equal(e.diags[1].file, b);
	assert_int_equal(e.diags[1].line, 2);
	assert_int_equal(e.diags[1].column, 3);
	assert_non_null(strstr(e.diags[1].message, "duplicate service 'web' (first defined at "));
	assert_non_null(strstr(e.diags[1].message, "a.yaml:2:3)"));
	assert_non_null(
	    strstr(e.diags[2].message, "service 'api' has the name of the template of 'api@x'"));
	config_errors_clear(&e);
	free(a);
	free(b);
}

static void test_secrets_limit(void **state)
{
	char *y = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&y, &len);
	struct config_errors e = { 0 };
	struct spec_set *set;

	(void)state;
	assert_non_null(f);
	fputs("services:\n  web:\n    command: [w]\n    secrets:\n", f);
	for (int i = 0; i <= SPEC_MAX_SECRETS; i++)
		fprintf(f, "      - s%d\n", i);
	fclose(f);
	assert_int_equal(config_parse_specs_buffer("t.yaml", y, len, &host8g, &set, &e), -EINVAL);
	expect_diags(
	    &e, "t.yaml", 1,
	    (const struct want[]){ { 5, 7, "'secrets' has too many items (at most 64)" } });
	config_errors_clear(&e);
	free(y);
}

static void test_missing_and_oversized(void **state)
{
	const char *d = *state;
	char *p;
	struct config_errors e = { 0 };
	struct spec_set *set = (struct spec_set *)(uintptr_t)1;
	FILE *f;

	assert_int_equal(config_load_specs("/nonexistent/paddock", &host8g, &set, &e), -ENOENT);
	assert_null(set);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.diags[0].message, "No such file"));
	config_errors_clear(&e);

	assert_true(asprintf(&p, "%s/big.yaml", d) > 0);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), CONFIG_MAX_FILE_SIZE + 1), 0);
	fclose(f);
	assert_int_equal(config_load_specs(d, &host8g, &set, &e), -EFBIG);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.diags[0].file, p);
	assert_non_null(strstr(e.diags[0].message, "file too large"));
	config_errors_clear(&e);
	free(p);
}

static void test_empty_dir_and_null_errs(void **state)
{
	const char *d = *state;
	struct spec_set *set;

	/* errs may be NULL. */
	assert_int_equal(config_load_specs(d, &host8g, &set, NULL), 0);
	assert_int_equal(set->nservices, 0);
	spec_set_free(set);
	assert_int_equal(config_parse_specs_buffer("x", "a: [", 4, NULL, &set, NULL), -EINVAL);
	assert_null(set);
}

/* --- daemon config ------------------------------------------------------- */

static void test_daemon_defaults(void **state)
{
	struct daemon_config *c = daemon_config_new_defaults();
	struct daemon_config *c2;
	struct config_errors e = { 0 };

	(void)state;
	assert_non_null(c);
	assert_null(c->file);
	assert_string_equal(c->services_dir, "/etc/paddock/services");
	assert_string_equal(c->state_dir, "/var/lib/paddock");
	assert_string_equal(c->runtime_dir, "/run/paddock");
	assert_null(c->cgroup_root);
	assert_null(c->metrics_listen);
	assert_int_equal(c->budget.memory, SPEC_UNSET);
	assert_int_equal(c->budget.reserve, 256 * MIB);
	assert_int_equal(c->budget.cpu_mcpu, 0);
	assert_int_equal(c->log.max_size, 8 * MIB);
	assert_int_equal(c->log.keep, 3);
	assert_int_equal(c->log.pipe_size, 4 * MIB);
	assert_int_equal(c->probe_interval_ms, 1000);
	c = daemon_config_free(c);
	assert_null(c);

	assert_int_equal(config_load_daemon(NULL, &host8g, &c2, &e), 0);
	assert_string_equal(c2->state_dir, "/var/lib/paddock");
	daemon_config_free(c2);
	assert_int_equal(config_parse_daemon_buffer("d.yaml", "# empty\n", 8, &host8g, &c2, &e), 0);
	assert_string_equal(c2->file, "d.yaml");
	assert_int_equal(c2->log.keep, 3);
	daemon_config_free(c2);
	assert_int_equal(e.n, 0);
}

static void test_daemon_full(void **state)
{
	static const char y[] = "services_dir: /srv/specs\n"
				"state_dir: /var/lib/pd\n"
				"runtime_dir: /run/pd\n"
				"cgroup_root: /sys/fs/cgroup/paddock\n"
				"metrics: {listen: \"127.0.0.1:9100\"}\n"
				"budget: {memory: 50%, reserve: 1G, cpu: 1.5}\n"
				"log: {max_size: 16M, keep: 5, pipe_size: 64K}\n"
				"probe_interval: 500ms\n";
	struct daemon_config *c;
	struct config_errors e = { 0 };

	(void)state;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, strlen(y), &host8g, &c, &e), 0);
	assert_string_equal(c->services_dir, "/srv/specs");
	assert_string_equal(c->state_dir, "/var/lib/pd");
	assert_string_equal(c->runtime_dir, "/run/pd");
	assert_string_equal(c->cgroup_root, "/sys/fs/cgroup/paddock");
	assert_string_equal(c->metrics_listen, "127.0.0.1:9100");
	assert_int_equal(c->budget.memory, 4 * GIB);
	assert_int_equal(c->budget.reserve, GIB);
	assert_int_equal(c->budget.cpu_mcpu, 1500);
	assert_int_equal(c->log.max_size, 16 * MIB);
	assert_int_equal(c->log.keep, 5);
	assert_int_equal(c->log.pipe_size, 64 * 1024);
	assert_int_equal(c->probe_interval_ms, 500);
	daemon_config_free(c);
}

/* cgroup_root may be relative to paddockd's own cgroup, but never climb out. */
static void test_daemon_cgroup_root(void **state)
{
	static const char ok[] = "cgroup_root: paddock/services\n";
	static const char bad[] = "cgroup_root: ../elsewhere\n";
	struct daemon_config *c = NULL;
	struct config_errors e = { 0 };

	(void)state;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", ok, strlen(ok), &host8g, &c, &e), 0);
	assert_string_equal(c->cgroup_root, "paddock/services");
	daemon_config_free(c);
	c = NULL;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", bad, strlen(bad), &host8g, &c, &e),
			 -EINVAL);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.diags[0].line, 1);
	assert_int_equal(e.diags[0].column, 14);
	assert_non_null(strstr(e.diags[0].message, "must not contain '..'"));
	config_errors_clear(&e);
}

/* persist needs an image; the image size caps parse with their bounds. */
static void test_persist_and_image_caps(void **state)
{
	static const char spec[] = "services:\n"
				   "  a:\n"
				   "    command: [\"/bin/true\"]\n"
				   "    persist: true\n"
				   "  b:\n"
				   "    image: /srv/img:1\n"
				   "    persist: true\n";
	static const char daemon[] = "images: {max_json_size: 1M, max_layer_size: 2G}\n";
	static const char bad[] = "images: {max_json_size: 1K}\n";
	struct spec_set *set = NULL;
	struct daemon_config *c = NULL;
	struct config_errors e = { 0 };

	(void)state;
	assert_int_equal(config_parse_specs_buffer("p.yaml", spec, strlen(spec), &host8g, &set, &e),
			 -EINVAL);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.diags[0].line, 4);
	assert_int_equal(e.diags[0].column, 14);
	assert_non_null(strstr(e.diags[0].message, "needs 'image'"));
	config_errors_clear(&e);
	assert_int_equal(
	    config_parse_daemon_buffer("d.yaml", daemon, strlen(daemon), &host8g, &c, &e), 0);
	assert_int_equal(c->images.max_json, MIB);
	assert_int_equal(c->images.max_layer, 2 * GIB);
	daemon_config_free(c);
	c = NULL;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", bad, strlen(bad), &host8g, &c, &e),
			 -EINVAL);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.diags[0].message, "at least 4K"));
	config_errors_clear(&e);
}

static void test_daemon_errors(void **state)
{
	static const char y[] = "services_dir: specs\n"
				"metrics: {listen: \"localhost\"}\n"
				"budget: {memory: 1G, reserve: 2G, cpus: 1}\n"
				"log: {max_size: 1K, keep: -1, pipe_size: 2G}\n"
				"probe_intervall: 1s\n"
				"probe_interval: 5ms\n";
	const struct want w[] = {
		{ 1, 15, "'services_dir' must be an absolute path" },
		{ 2, 19, "invalid 'metrics.listen' 'localhost'" },
		{ 3, 31, "'budget.reserve' must be below 'budget.memory'" },
		{ 3, 35, "unknown key 'cpus' in 'budget' (did you mean 'cpu'?)" },
		{ 4, 17, "'log.max_size' must be at least 64K" },
		{ 4, 27, "'log.keep' must not be negative" },
		{ 4, 42, "'log.pipe_size' must be between 4K and 1G" },
		{ 5, 1,
		  "unknown key 'probe_intervall' in the daemon config (did you mean "
		  "'probe_interval'?)" },
		{ 6, 17, "'probe_interval' must be between 100ms and 1h, not 5ms" },
	};
	struct daemon_config *c = (struct daemon_config *)(uintptr_t)1;
	struct config_errors e = { 0 };

	(void)state;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, strlen(y), &host8g, &c, &e),
			 -EINVAL);
	assert_null(c);
	expect_diags(&e, "d.yaml", sizeof(w) / sizeof(w[0]), w);
	config_errors_clear(&e);
}

static void test_daemon_fleet(void **state)
{
	static const char y[] = "fleet:\n"
				"  etcd: [http://127.0.0.1:2379, https://10.0.0.2:2379]\n"
				"  tls: {ca: /ca.pem, cert: /n.pem, key: /n.key}\n"
				"  node: web-1\n"
				"  labels: {zone: a, disk: ssd}\n"
				"  lease_ttl: 5s\n";
	struct daemon_config *c = NULL;
	struct config_errors e = { 0 };

	(void)state;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, strlen(y), &host8g, &c, &e), 0);
	assert_int_equal(c->fleet.netcd, 2);
	assert_string_equal(c->fleet.etcd[1], "https://10.0.0.2:2379");
	assert_string_equal(c->fleet.tls_key, "/n.key");
	assert_string_equal(c->fleet.node, "web-1");
	assert_int_equal(c->fleet.nlabels, 2);
	assert_string_equal(c->fleet.labels[0], "disk=ssd");
	assert_int_equal(c->fleet.lease_ttl_ms, 5000);
	daemon_config_free(c);
	/* Without fleet: off. */
	assert_int_equal(config_parse_daemon_buffer("d.yaml", "", 0, &host8g, &c, &e), 0);
	assert_int_equal(c->fleet.netcd, 0);
	daemon_config_free(c);
}

static void test_daemon_fleet_errors(void **state)
{
	static const char y[] = "fleet:\n"
				"  etcd: [http://127.0.0.1:2379, ftp://x:1]\n"
				"  tls: {cert: /a.pem}\n"
				"  node: web/1\n"
				"  lease_ttl: 1s\n"
				"  nodes: x\n";
	const struct want w[] = {
		{ 2, 33, "'fleet.etcd' endpoint 'ftp://x:1'" },
		{ 3, 8, "'fleet.tls' needs both 'cert' and 'key'" },
		{ 4, 9, "'fleet.node' 'web/1'" },
		{ 5, 14, "'fleet.lease_ttl' must be between 3s and 5m" },
		{ 6, 3, "unknown key 'nodes' in 'fleet' (did you mean 'node'?)" },
	};
	struct daemon_config *c = (struct daemon_config *)(uintptr_t)1;
	struct config_errors e = { 0 };

	(void)state;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, strlen(y), &host8g, &c, &e),
			 -EINVAL);
	assert_null(c);
	expect_diags(&e, "d.yaml", sizeof(w) / sizeof(w[0]), w);
	config_errors_clear(&e);
}

/* etcd grants leases in whole seconds: 3.9s would be granted 3 s, less than we fence for. */
static void test_daemon_fleet_ttl_seconds(void **state)
{
	static const char y[] = "fleet:\n"
				"  etcd: [http://127.0.0.1:2379]\n"
				"  lease_ttl: 3900ms\n";
	const struct want w[] = {
		{ 3, 14, "'fleet.lease_ttl' must be whole seconds" },
	};
	struct daemon_config *c = NULL;
	struct config_errors e = { 0 };

	(void)state;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, strlen(y), &host8g, &c, &e),
			 -EINVAL);
	assert_null(c);
	expect_diags(&e, "d.yaml", sizeof(w) / sizeof(w[0]), w);
	config_errors_clear(&e);
}

/* Without networks: exactly the built-in default. */
static void test_daemon_network_default(void **state)
{
	static const char y[] = "probe_interval: 1s\n";
	struct daemon_config *cfgs[2] = { daemon_config_new_defaults(), NULL };
	struct config_errors e = { 0 };

	(void)state;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, strlen(y), &host8g, &cfgs[1], &e),
			 0);
	for (size_t i = 0; i < 2; i++) {
		const struct daemon_config *c = cfgs[i];
		const struct spec_netdef *n;

		assert_non_null(c);
		assert_int_equal(c->nnetworks, 1);
		n = &c->networks[0];
		assert_string_equal(n->name, "default");
		assert_string_equal(n->bridge, "paddock0");
		assert_int_equal(n->subnet, IP4(10, 89, 0, 0));
		assert_int_equal(n->prefix, 16);
		assert_int_equal(n->gateway, IP4(10, 89, 0, 1));
		assert_int_equal(n->mtu, 1500);
		assert_false(n->internal);
		assert_true(n->masquerade);
		assert_int_equal(n->line, 0);
		assert_ptr_equal(config_find_network(c, "default"), n);
		assert_null(config_find_network(c, "front"));
		daemon_config_free(cfgs[i]);
	}
	assert_int_equal(e.n, 0);
}

static void test_daemon_networks(void **state)
{
	static const char y[] =
	    "networks:\n"
	    "  front: {subnet: 10.91.0.0/24, gateway: 10.91.0.254, mtu: 9000,\n"
	    "          bridge: br-front.1}\n"
	    "  backend:\n"
	    "    subnet: 10.90.0.0/24\n"
	    "    internal: true\n"
	    "  averyveryverylongname: {subnet: 172.30.0.0/16, masquerade: no}\n";
	static const char dflt[] = "networks:\n"
				   "  default: {subnet: 10.100.0.0/20, mtu: 1400}\n"
				   "  a: {subnet: 10.89.0.0/16}\n";
	struct daemon_config *c = NULL;
	struct config_errors e = { 0 };
	const struct spec_netdef *n;

	(void)state;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, strlen(y), &host8g, &c, &e), 0);
	assert_int_equal(c->nnetworks, 4);
	/* Sorted by name. */
	n = &c->networks[0];
	assert_string_equal(n->name, "averyveryverylongname");
	assert_string_equal(n->bridge, "pd-averyveryver");
	assert_int_equal(n->subnet, IP4(172, 30, 0, 0));
	assert_int_equal(n->prefix, 16);
	assert_int_equal(n->gateway, IP4(172, 30, 0, 1));
	assert_false(n->internal);
	assert_false(n->masquerade);
	assert_int_equal(n->line, 7);
	assert_int_equal(n->column, 3);
	n = &c->networks[1];
	assert_string_equal(n->name, "backend");
	assert_string_equal(n->bridge, "pd-backend");
	assert_int_equal(n->subnet, IP4(10, 90, 0, 0));
	assert_int_equal(n->prefix, 24);
	assert_int_equal(n->gateway, IP4(10, 90, 0, 1));
	assert_int_equal(n->mtu, 1500);
	assert_true(n->internal);
	assert_false(n->masquerade);
	assert_int_equal(n->line, 4);
	n = &c->networks[2];
	assert_string_equal(n->name, "default");
	assert_string_equal(n->bridge, "paddock0");
	assert_int_equal(n->subnet, IP4(10, 89, 0, 0));
	n = &c->networks[3];
	assert_string_equal(n->name, "front");
	assert_string_equal(n->bridge, "br-front.1");
	assert_int_equal(n->subnet, IP4(10, 91, 0, 0));
	assert_int_equal(n->prefix, 24);
	assert_int_equal(n->gateway, IP4(10, 91, 0, 254));
	assert_int_equal(n->mtu, 9000);
	assert_false(n->internal);
	assert_true(n->masquerade);
	assert_ptr_equal(config_find_network(c, "front"), n);
	c = daemon_config_free(c);

	/* A defined 'default' replaces the built-in one, keeping what it does not set. */
	assert_int_equal(config_parse_daemon_buffer("d.yaml", dflt, strlen(dflt), &host8g, &c, &e),
			 0);
	assert_int_equal(c->nnetworks, 2);
	n = config_find_network(c, "default");
	assert_non_null(n);
	assert_string_equal(n->bridge, "paddock0");
	assert_int_equal(n->subnet, IP4(10, 100, 0, 0));
	assert_int_equal(n->prefix, 20);
	assert_int_equal(n->gateway, IP4(10, 100, 0, 1));
	assert_int_equal(n->mtu, 1400);
	assert_true(n->masquerade);
	assert_int_equal(n->line, 2);
	assert_string_equal(config_find_network(c, "a")->bridge, "pd-a");
	c = daemon_config_free(c);

	/* 'default:' with nothing is the built-in one, named in the file. */
	assert_int_equal(
	    config_parse_daemon_buffer("d.yaml", "networks: {default: }\n", 22, &host8g, &c, &e),
	    0);
	assert_int_equal(c->nnetworks, 1);
	assert_string_equal(c->networks[0].name, "default");
	assert_int_equal(c->networks[0].subnet, IP4(10, 89, 0, 0));
	assert_int_equal(c->networks[0].line, 1);
	daemon_config_free(c);
	assert_int_equal(e.n, 0);
}

static void test_daemon_network_errors(void **state)
{
	static const char y[] = "networks:\n"
				"  a: {subnet: 10.90.0/24}\n"
				"  b: {subnet: 10.90.1.5/24}\n"
				"  c: {subnet: 10.90.2.0/31}\n"
				"  d: {subnet: 10.0.0.0/7}\n"
				"  e: {subnet: 10.90.3.0/24, gateway: 10.90.4.1}\n"
				"  f: {subnet: 10.90.5.0/24, gateway: 10.90.5.255}\n"
				"  g: {subnet: 10.90.6.0/24, gateway: 10.90.6.0}\n"
				"  h: {subnet: 10.90.7.0/24, internal: true, masquerade: true}\n"
				"  i: {subnet: 10.90.8.0/24, mtu: 500}\n"
				"  Jay: {subnet: 10.90.9.0/24}\n"
				"  k: {subnet: 10.90.10.0/24, bridge: br/0}\n"
				"  l: {subnet: 10.90.11.0/24, bridge: a-name-of-16-chr}\n"
				"  m: {gateway: 10.1.1.1}\n"
				"  n: {subnet: 10.90.12.0/24, bridge: pd-o}\n"
				"  o: {subnet: 10.89.5.0/24}\n"
				"  p: {subnet: 10.90.0.0/16}\n"
				"  q: {subnet: 10.91.0.0/24, bridge: paddock0}\n"
				"  very-long-name-1: {subnet: 10.92.0.0/24}\n"
				"  very-long-name-2: {subnet: 10.92.1.0/24}\n"
				"  r: {subnet: 10.93.0.0/24, colour: red}\n";
	const struct want w[] = {
		{ 2, 15, "invalid subnet '10.90.0/24' for network 'a' (expected A.B.C.D/PREFIX" },
		{ 3, 15, "10.90.1.5/24: host bits set; did you mean 10.90.1.0/24" },
		{ 4, 15,
		  "subnet '10.90.2.0/31' of network 'c': the prefix must be between 8 and 30" },
		{ 5, 15,
		  "subnet '10.0.0.0/7' of network 'd': the prefix must be between 8 and 30" },
		{ 6, 38, "gateway 10.90.4.1 is outside network 'e' (10.90.3.0/24)" },
		{ 7, 38, "gateway 10.90.5.255 is the broadcast address of network 'f'" },
		{ 8, 38, "gateway 10.90.6.0 is the network address of network 'g'" },
		{ 9, 57, "'masquerade: true' contradicts 'internal: true' in network 'h'" },
		{ 10, 34, "'networks.i.mtu' must be between 576 and 65535, not 500" },
		{ 11, 3, "invalid network name 'Jay'" },
		{ 12, 38, "invalid bridge name 'br/0' for network 'k'" },
		{ 13, 38, "invalid bridge name 'a-name-of-16-chr'" },
		{ 14, 3, "network 'm' needs a 'subnet'" },
		{ 16, 3,
		  "bridge 'pd-o' of network 'o' is the bridge of network 'n' too (line 15)" },
		{ 16, 15,
		  "subnet 10.89.5.0/24 of network 'o' overlaps the built-in network 'default' "
		  "(10.89.0.0/16)" },
		{ 17, 15,
		  "subnet 10.90.0.0/16 of network 'p' overlaps network 'n' (10.90.12.0/24 at line "
		  "15)" },
		{ 18, 37,
		  "bridge 'paddock0' of network 'q' is the bridge of the built-in network" },
		{ 20, 3,
		  "bridge 'pd-very-long-na' of network 'very-long-name-2' is the bridge of network "
		  "'very-long-name-1' too (line 19)" },
		{ 21, 29, "unknown key 'colour' in network 'r'" },
	};
	struct daemon_config *c = (struct daemon_config *)(uintptr_t)1;
	struct config_errors e = { 0 };

	(void)state;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, strlen(y), &host8g, &c, &e),
			 -EINVAL);
	assert_null(c);
	expect_diags(&e, "d.yaml", sizeof(w) / sizeof(w[0]), w);
	config_errors_clear(&e);
}

/* At most SPEC_MAX_NETWORKS, the built-in default counted. */
static void test_daemon_network_limit(void **state)
{
	char y[4096];
	size_t len = (size_t)snprintf(y, sizeof(y), "networks:\n");
	struct daemon_config *c = NULL;
	struct config_errors e = { 0 };

	(void)state;
	for (int i = 0; i < SPEC_MAX_NETWORKS - 1; i++)
		len += (size_t)snprintf(y + len, sizeof(y) - len, "  n%d: {subnet: 10.%d.0.0/16}\n",
					i, 100 + i);
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, len, &host8g, &c, &e), 0);
	assert_int_equal(c->nnetworks, SPEC_MAX_NETWORKS);
	c = daemon_config_free(c);
	len += (size_t)snprintf(y + len, sizeof(y) - len, "  one-more: {subnet: 10.200.0.0/16}\n");
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, len, &host8g, &c, &e), -EINVAL);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.diags[0].line, SPEC_MAX_NETWORKS + 1);
	assert_int_equal(e.diags[0].column, 3);
	assert_non_null(strstr(e.diags[0].message, "too many networks (at most 32"));
	config_errors_clear(&e);
}

/* Specs against the daemon config's networks. */
static const char net_daemon[] = "networks:\n"
				 "  front: {subnet: 10.91.0.0/24}\n"
				 "  backend: {subnet: 10.90.0.0/24, internal: true}\n";

static int check_nets(const char *specs, struct config_errors *e)
{
	struct daemon_config *cfg = NULL;
	struct spec_set *set = NULL;
	int r;

	assert_int_equal(
	    config_parse_daemon_buffer("d.yaml", net_daemon, strlen(net_daemon), &host8g, &cfg, e),
	    0);
	r = config_parse_specs_buffer("t.yaml", specs, strlen(specs), &host8g, &set, e);
	if (r != 0) {
		dump(e);
		fail_msg("specs do not parse: %d", r);
	}
	r = config_check_networks(set, cfg, e);
	spec_set_free(set);
	daemon_config_free(cfg);
	return r;
}

static void test_check_networks(void **state)
{
	static const char ok[] =
	    "services:\n"
	    "  web:\n"
	    "    command: [/bin/web]\n"
	    "    isolation: {network: [front, {network: backend, ip: 10.90.0.10, aliases: "
	    "[www]}]}\n"
	    "    ports: [\"8080:80\", \"127.0.0.1:53:53/udp\"]\n"
	    "  api:\n"
	    "    command: [/bin/api]\n"
	    "    isolation: {network: [{network: backend, aliases: [db]}, default]}\n"
	    "  db:\n"
	    "    command: [/bin/db]\n"
	    "    isolation: {network: [{network: front, ip: 10.91.0.10}]}\n"
	    "    ports: [\"8080:80/udp\", \"127.0.0.2:53:53/udp\"]\n";
	static const char bad[] = "services:\n"
				  "  web:\n"
				  "    command: [/bin/web]\n"
				  "    isolation:\n"
				  "      network:\n"
				  "        - {network: front, ip: 10.91.0.10, aliases: [api]}\n"
				  "        - {network: backend, ip: 10.91.0.20}\n"
				  "        - {network: default, ip: 10.89.0.1}\n"
				  "    ports: [\"8080-8081:80-81\", \"127.0.0.1:53:53/udp\"]\n"
				  "  api:\n"
				  "    command: [/bin/api]\n"
				  "    isolation:\n"
				  "      network:\n"
				  "        - {network: front, ip: 10.91.0.10}\n"
				  "        - {network: db, ip: 10.91.0.255}\n"
				  "    ports: [\"127.0.0.1:8081:80\", \"53:53/udp\"]\n"
				  "  cache:\n"
				  "    command: [/bin/cache]\n"
				  "    isolation: {network: [backend]}\n"
				  "    ports: [\"6379:6379\"]\n";
	const struct want w[] = {
		{ 6, 11,
		  "alias 'api' is the name of service 'api' (t.yaml:10) on network 'front'" },
		{ 7, 34, "ip 10.91.0.20 is outside network 'backend' (10.90.0.0/24)" },
		{ 8, 34, "ip 10.89.0.1 is the gateway address of network 'default'" },
		{ 14, 32, "ip 10.91.0.10 on network 'front' is taken by service 'web' (t.yaml:6)" },
		{ 15, 11, "unknown network 'db'; networks: backend, default, front" },
		{ 16, 13, "host port tcp/8081 is also published by service 'web' (t.yaml:9:13)" },
		{ 16, 34, "host port udp/53 is also published by service 'web' (t.yaml:9:32)" },
		{ 20, 13, "ports are published to the first network, and 'backend' is internal" },
	};
	struct config_errors e = { 0 };

	(void)state;
	assert_int_equal(check_nets(ok, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(check_nets(bad, &e), -1);
	expect_diags(&e, "t.yaml", sizeof(w) / sizeof(w[0]), w);
	config_errors_clear(&e);
}

static void test_ipv4(void **state)
{
	uint32_t ip = 7;
	char buf[16];

	(void)state;
	assert_true(config_parse_ipv4("10.90.0.1", &ip));
	assert_int_equal(ip, IP4(10, 90, 0, 1));
	assert_true(config_parse_ipv4("255.255.255.255", &ip));
	assert_int_equal(ip, UINT32_MAX);
	assert_true(config_parse_ipv4("0.0.0.0", &ip));
	assert_int_equal(ip, 0);
	assert_false(config_parse_ipv4("10.90.0", &ip));
	assert_false(config_parse_ipv4("10.90.0.1.", &ip));
	assert_false(config_parse_ipv4("10.090.0.1", &ip));
	assert_false(config_parse_ipv4("10.256.0.1", &ip));
	assert_false(config_parse_ipv4("10..0.1", &ip));
	assert_false(config_parse_ipv4(" 10.0.0.1", &ip));
	assert_false(config_parse_ipv4("1000.0.0.1", &ip));
	assert_string_equal(config_format_ipv4(IP4(192, 168, 10, 254), buf), "192.168.10.254");
	assert_int_equal(config_netmask(24), IP4(255, 255, 255, 0));
	assert_int_equal(config_netmask(0), 0);
	assert_int_equal(config_netmask(32), UINT32_MAX);
}

static void test_daemon_rebalance(void **state)
{
	static const char ok[] =
	    "rebalance: {mode: enforce, drift: adopt, working_set_target: 0.5%}\n";
	static const char bad[] = "rebalance:\n"
				  "  mode: on\n"
				  "  drift: fight\n"
				  "  working_set_target: 20%\n"
				  "  step: 1s\n";
	const struct want w[] = {
		{ 2, 9, "invalid rebalance.mode 'on' (expected one of: off, observe, enforce" },
		{ 3, 10, "invalid rebalance.drift 'fight' (expected one of: reassert, adopt)" },
		{ 4, 23, "'rebalance.working_set_target' must be at most 10%" },
		{ 5, 3, "unknown key 'step' in 'rebalance'" },
	};
	struct daemon_config *c = daemon_config_new_defaults();
	struct config_errors e = { 0 };

	(void)state;
	/* The default is observe: decisions are logged, nothing is written. */
	assert_int_equal(c->rebalance.mode, REBALANCE_OBSERVE);
	assert_int_equal(c->rebalance.drift, DRIFT_REASSERT);
	assert_int_equal(c->rebalance.ws_target_permille, 1);
	daemon_config_free(c);
	assert_int_equal(config_parse_daemon_buffer("d.yaml", ok, strlen(ok), &host8g, &c, &e), 0);
	assert_int_equal(c->rebalance.mode, REBALANCE_ENFORCE);
	assert_int_equal(c->rebalance.drift, DRIFT_ADOPT);
	assert_int_equal(c->rebalance.ws_target_permille, 5);
	daemon_config_free(c);
	assert_int_equal(config_parse_daemon_buffer("d.yaml", bad, strlen(bad), &host8g, &c, &e),
			 -EINVAL);
	assert_null(c);
	expect_diags(&e, "d.yaml", sizeof(w) / sizeof(w[0]), w);
	config_errors_clear(&e);
}

static void test_daemon_file(void **state)
{
	const char *d = *state;
	char *p, *missing;
	struct daemon_config *c;
	struct config_errors e = { 0 };

	p = write_file(d, "paddockd.yaml", "log: {keep: 9}\n");
	assert_int_equal(config_load_daemon(p, &host8g, &c, &e), 0);
	assert_string_equal(c->file, p);
	assert_int_equal(c->log.keep, 9);
	daemon_config_free(c);
	assert_true(asprintf(&missing, "%s/nope.yaml", d) > 0);
	assert_int_equal(config_load_daemon(missing, &host8g, &c, &e), -ENOENT);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.diags[0].file, missing);
	config_errors_clear(&e);
	assert_int_equal(config_parse_daemon_buffer("d.yaml", "- a\n", 4, &host8g, &c, &e),
			 -EINVAL);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.diags[0].message, "'the top level' must be a mapping"));
	config_errors_clear(&e);
	free(p);
	free(missing);
}

/* --- small helpers ------------------------------------------------------- */

static void test_valid_name(void **state)
{
	(void)state;
	assert_true(config_valid_name("a"));
	assert_true(config_valid_name("0"));
	assert_true(config_valid_name("web-1_x"));
	assert_true(
	    config_valid_name("a23456789012345678901234567890123456789012345678901234567890123"));
	assert_false(
	    config_valid_name("a234567890123456789012345678901234567890123456789012345678901234"));
	assert_false(config_valid_name(""));
	assert_false(config_valid_name(NULL));
	assert_false(config_valid_name("-a"));
	assert_false(config_valid_name("_a"));
	assert_false(config_valid_name("Web"));
	assert_false(config_valid_name("a.b"));
	assert_false(config_valid_name("a b"));
}

static void test_registry_refs(void **state)
{
	static const char *const remote[] = {
		"example.com/app",	     "localhost/app",
		"host:5000/a/b:c",	     "[fe80::1]:5000/app",
		"docker.io/library/busybox", "busybox@" HEX64DIGEST,
		"team/app:1@" HEX64DIGEST,   "example.com/app:1.2@" HEX64DIGEST
	};
	static const char *const local[] = { "/srv/img:1",     "./layout",   "../x/y",
					     "busybox:latest", "team/app:1", "app",
					     "localhostx/app" };

	(void)state;
	for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
		assert_true(config_image_ref_is_registry(remote[i]));
		assert_null(config_registry_ref_error(remote[i]));
	}
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		assert_false(config_image_ref_is_registry(local[i]));
	assert_true(config_valid_registry_host("a-b.example.com:443", 19));
	assert_true(config_valid_registry_host("[::1]", 5));
	assert_false(config_valid_registry_host("-a.com", 6));
	assert_false(config_valid_registry_host("a-.com", 6));
	assert_false(config_valid_registry_host("a..com", 6));
	assert_false(config_valid_registry_host("a.com:0", 7));
	assert_false(config_valid_registry_host("a.com:08", 8));
	assert_false(config_valid_registry_host("a.com:", 6));
	assert_false(config_valid_registry_host("[]:5", 4));
	assert_false(config_valid_registry_host("a b", 3));
	assert_true(config_valid_registry_mirror("m.example.com:5000/cache/docker-hub"));
	assert_false(config_valid_registry_mirror("https://m.example.com"));
	assert_false(config_valid_registry_mirror("m.example.com/"));
	/* Separators between name characters: '.', '_', "__" or a run of '-'. */
	assert_null(config_registry_ref_error("h.io/a--b__c.d_e"));
	assert_non_null(config_registry_ref_error("h.io/a___b"));
	assert_non_null(config_registry_ref_error("h.io/a..b"));
	assert_non_null(config_registry_ref_error("h.io/a_"));
	assert_non_null(config_registry_ref_error("busybox@" HEX64DIGEST "0"));
	assert_non_null(config_registry_ref_error("busybox:-x@" HEX64DIGEST));
	assert_non_null(config_registry_ref_error("@" HEX64DIGEST));
	assert_non_null(config_registry_ref_error(
	    "h.io/app@sha256:"
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_string_equal(spec_pull_name(PULL_ALWAYS), "always");
	assert_string_equal(spec_pull_name(PULL_MISSING), "missing");
}

static void test_daemon_registries(void **state)
{
	static const char y[] =
	    "images:\n"
	    "  auth_file: /etc/paddock/auth.json\n"
	    "  certs_dir: /etc/paddock/certs.d\n"
	    "  pull_parallel: 8\n"
	    "registries:\n"
	    "  registry.example.com:\n"
	    "    mirrors: [mirror.example.com, \"m2.example.com:5000/cache/hub\"]\n"
	    "  localhost:5000: {insecure: true}\n"
	    "  docker.io:\n"
	    "    mirrors: [\"10.0.0.5:5000\"]\n"
	    "    insecure: false\n"
	    "  empty.example.com:\n";
	struct daemon_config *c = NULL, *def = daemon_config_new_defaults();
	struct config_errors e = { 0 };
	const struct spec_registry *r;

	(void)state;
	assert_non_null(def);
	assert_null(def->images.auth_file);
	assert_null(def->images.certs_dir);
	assert_int_equal(def->images.pull_parallel, 0);
	assert_int_equal(def->nregistries, 0);
	assert_null(config_find_registry(def, "docker.io"));
	daemon_config_free(def);

	if (config_parse_daemon_buffer("d.yaml", y, strlen(y), &host8g, &c, &e) != 0) {
		dump(&e);
		fail();
	}
	assert_string_equal(c->images.auth_file, "/etc/paddock/auth.json");
	assert_string_equal(c->images.certs_dir, "/etc/paddock/certs.d");
	assert_int_equal(c->images.pull_parallel, 8);
	/* Sorted by host; the entry without a value is left out. */
	assert_int_equal(c->nregistries, 3);
	assert_string_equal(c->registries[0].host, "docker.io");
	assert_string_equal(c->registries[1].host, "localhost:5000");
	assert_string_equal(c->registries[2].host, "registry.example.com");
	r = config_find_registry(c, "docker.io");
	assert_ptr_equal(r, &c->registries[0]);
	assert_false(r->insecure);
	assert_int_equal(r->nmirrors, 1);
	assert_string_equal(r->mirrors[0], "10.0.0.5:5000");
	assert_null(r->mirrors[1]);
	assert_int_equal(r->line, 9);
	assert_int_equal(r->column, 3);
	r = config_find_registry(c, "localhost:5000");
	assert_non_null(r);
	assert_true(r->insecure);
	assert_null(r->mirrors);
	r = config_find_registry(c, "registry.example.com");
	assert_non_null(r);
	assert_int_equal(r->nmirrors, 2);
	assert_string_equal(r->mirrors[0], "mirror.example.com");
	assert_string_equal(r->mirrors[1], "m2.example.com:5000/cache/hub");
	assert_null(config_find_registry(c, "empty.example.com"));
	assert_null(config_find_registry(c, "localhost"));
	daemon_config_free(c);
	assert_int_equal(e.n, 0);
}

static void test_daemon_registry_errors(void **state)
{
	static const char y[] =
	    "images: {auth_file: auth.json, certs_dir: \"\", pull_parallel: 17}\n"
	    "registries:\n"
	    "  \"bad host!\": {}\n"
	    "  example.com: {mirrors: \"m.example.com\", insecure: maybe, mirror: []}\n"
	    "  ok.example.com:\n"
	    "    mirrors: [m.example.com, \"m.example.com\", \"http://x\", \"UP/Case\"]\n"
	    "  list.example.com: [a]\n";
	const struct want w[] = {
		{ 1, 21, "'images.auth_file' must be an absolute path" },
		{ 1, 43, "'images.certs_dir' must not be empty" },
		{ 1, 62, "'images.pull_parallel' must be between 1 and 16, not 17" },
		{ 3, 3, "invalid registry 'bad host!' (expected HOST or HOST:PORT" },
		{ 4, 26,
		  "'registries.example.com.mirrors' must be a list; write it as mirrors: "
		  "[\"m.example.com\"]" },
		{ 4, 53, "'registries.example.com.insecure' must be true or false, not 'maybe'" },
		{ 4, 60,
		  "unknown key 'mirror' in registry 'example.com' (did you mean 'mirrors'?)" },
		{ 6, 30, "mirror 'm.example.com' is listed twice for registry 'ok.example.com'" },
		{ 6, 47, "invalid mirror 'http://x' for registry 'ok.example.com'" },
		{ 6, 59, "invalid mirror 'UP/Case'" },
		{ 7, 21, "'registries.list.example.com' must be a mapping, not a list" },
	};
	struct daemon_config *c = (struct daemon_config *)(uintptr_t)1;
	struct config_errors e = { 0 };

	(void)state;
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, strlen(y), &host8g, &c, &e),
			 -EINVAL);
	assert_null(c);
	expect_diags(&e, "d.yaml", sizeof(w) / sizeof(w[0]), w);
	config_errors_clear(&e);
}

static void test_daemon_registry_limits(void **state)
{
	char *y = NULL, *m = NULL;
	size_t len = 0, mlen = 0;
	FILE *f = open_memstream(&y, &len), *fm = open_memstream(&m, &mlen);
	struct daemon_config *c = NULL;
	struct config_errors e = { 0 };

	(void)state;
	assert_non_null(f);
	assert_non_null(fm);
	for (int i = 0; i <= SPEC_MAX_MIRRORS; i++)
		fprintf(fm, "%sm%d.example.com", i ? ", " : "", i);
	fclose(fm);
	fprintf(f, "registries:\n  a.example.com: {mirrors: [%s]}\n", m);
	for (int i = 1; i <= SPEC_MAX_REGISTRIES; i++)
		fprintf(f, "  r%d.example.com: {insecure: true}\n", i);
	fclose(f);
	assert_int_equal(config_parse_daemon_buffer("d.yaml", y, len, &host8g, &c, &e), -EINVAL);
	assert_int_equal(e.n, 2);
	assert_int_equal(e.diags[0].line, 2);
	assert_non_null(
	    strstr(e.diags[0].message, "too many mirrors for registry 'a.example.com'"));
	assert_int_equal(e.diags[1].line, 2 + SPEC_MAX_REGISTRIES);
	assert_non_null(strstr(e.diags[1].message, "too many registries (at most 64)"));
	config_errors_clear(&e);
	free(y);
	free(m);
}

static void test_enum_names(void **state)
{
	(void)state;
	assert_string_equal(spec_class_name(CLASS_CRITICAL), "critical");
	assert_string_equal(spec_restart_name(RESTART_ON_FAILURE), "on-failure");
	assert_string_equal(spec_on_oom_name(ON_OOM_GROW), "grow");
	assert_string_equal(spec_pressure_action_name(PRESSURE_ACTION_RECLAIM), "reclaim");
	assert_string_equal(spec_pressure_action_name(PRESSURE_ACTION_NONE), "none");
	assert_string_equal(spec_pressure_resource_name(PRESSURE_IO), "io");
}

static void test_errors_api(void **state)
{
	struct config_errors e = { 0 };
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	config_errors_add(&e, "f.yaml", 3, 7, "bad %s", "thing");
	config_errors_add(&e, "f.yaml", 3, 7, "bad %s", "thing"); /* deduplicated */
	config_errors_add(&e, "g.yaml", 0, 0, "cannot open");
	config_errors_add(NULL, "x", 1, 1, "ignored");
	assert_int_equal(e.n, 2);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	config_errors_print(f, &e);
	fclose(f);
	assert_string_equal(out, "f.yaml:3:7: bad thing\ng.yaml: cannot open\n");
	free(out);
	config_errors_clear(&e);
	assert_int_equal(e.n, 0);
	assert_null(e.diags);
	config_errors_clear(NULL);
	assert_null(spec_set_free(NULL));
	assert_null(service_spec_free(NULL));
	assert_null(daemon_config_free(NULL));
	assert_null(spec_set_find(NULL, "x"));
}

static void test_host_detect(void **state)
{
	struct config_host h;

	(void)state;
	if (access("/proc/meminfo", R_OK) != 0)
		skip();
	assert_int_equal(config_host_detect(&h), 0);
	assert_true(h.mem_total > 16 * MIB);
	assert_int_equal(h.mem_total % 1024, 0);
}

int main(void)
{
	const size_t ncases = sizeof(cases) / sizeof(cases[0]);
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_percent_without_host),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_huge_scalar),
		cmocka_unit_test(test_huge_buffer),
		cmocka_unit_test(test_many_nodes),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_many_errors_fast),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test_setup_teardown(test_dir_good, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_dir_cross_file, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_dir_errors_everywhere, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_envfiles, dir_setup, dir_teardown),
		cmocka_unit_test(test_secrets_limit),
		cmocka_unit_test_setup_teardown(test_include, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_include_errors, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_dotenv, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_include_file_limit, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_template_name_clash, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_oversized, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_empty_dir_and_null_errs, dir_setup,
						dir_teardown),
		cmocka_unit_test(test_daemon_defaults),
		cmocka_unit_test(test_daemon_full),
		cmocka_unit_test(test_daemon_errors),
		cmocka_unit_test(test_daemon_fleet),
		cmocka_unit_test(test_daemon_fleet_errors),
		cmocka_unit_test(test_daemon_fleet_ttl_seconds),
		cmocka_unit_test(test_daemon_rebalance),
		cmocka_unit_test(test_daemon_network_default),
		cmocka_unit_test(test_daemon_networks),
		cmocka_unit_test(test_daemon_network_errors),
		cmocka_unit_test(test_daemon_network_limit),
		cmocka_unit_test(test_check_networks),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_daemon_cgroup_root),
		cmocka_unit_test(test_persist_and_image_caps),
		cmocka_unit_test(test_registry_refs),
		cmocka_unit_test(test_daemon_registries),
		cmocka_unit_test(test_daemon_registry_errors),
		cmocka_unit_test(test_daemon_registry_limits),
		cmocka_unit_test_setup_teardown(test_daemon_file, dir_setup, dir_teardown),
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test(test_enum_names),
		cmocka_unit_test(test_errors_api),
		cmocka_unit_test(test_host_detect),
	};
	const size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(ncases + nfixed, sizeof(*tests));
	int r;

	if (!tests)
		return 1;
	for (size_t i = 0; i < ncases; i++) {
		tests[i] = (struct CMUnitTest){ .name = cases[i].name,
						.test_func = run_spec_case,
						.initial_state = (void *)&cases[i] };
	}
	memcpy(tests + ncases, fixed, sizeof(fixed));
	r = _cmocka_run_group_tests("config", tests, ncases + nfixed, NULL, NULL);
	free(tests);
	return r;
}
