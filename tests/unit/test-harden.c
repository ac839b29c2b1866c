/*
 * test-harden.c - unit tests for supervisor/harden.c and the
 * isolation.capabilities / isolation.seccomp config keys: capability mask
 * arithmetic, config diagnostics with positions, and the default seccomp
 * filter loaded in a forked child (refuses what it should, allows the rest).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "harden.h"

#define BIT(c) (1ULL << (c))
#define ALL40 ((1ULL << 41) - 1)

static struct spec_set *parse_ok(const char *yaml)
{
	struct config_errors errs = { 0 };
	struct spec_set *set = NULL;
	int r = config_parse_specs_buffer("t.yaml", yaml, strlen(yaml), NULL, &set, &errs);

	if (r < 0)
		config_errors_print(stderr, &errs);
	assert_int_equal(r, 0);
	assert_non_null(set);
	config_errors_clear(&errs);
	return set;
}

/* Parse yaml, expect exactly one diagnostic at line:col containing msg. */
static void parse_bad(const char *yaml, int line, int col, const char *msg)
{
	struct config_errors errs = { 0 };
	struct spec_set *set = NULL;
	int r = config_parse_specs_buffer("t.yaml", yaml, strlen(yaml), NULL, &set, &errs);

	assert_true(r < 0);
	assert_null(set);
	if (errs.n != 1 || errs.diags[0].line != line || errs.diags[0].column != col ||
	    !strstr(errs.diags[0].message, msg)) {
		config_errors_print(stderr, &errs);
		fail_msg("want one diagnostic %d:%d containing '%s'", line, col, msg);
	}
	config_errors_clear(&errs);
}

static uint64_t caps_of(const char *isolation)
{
	char yaml[1024];
	struct spec_set *set;
	uint64_t caps;

	snprintf(yaml, sizeof(yaml),
		 "services:\n  s:\n    command: [/bin/true]\n    isolation:\n%s", isolation);
	set = parse_ok(yaml);
	caps = harden_caps_for(set->services[0], ALL40);
	spec_set_free(set);
	return caps;
}

static void test_default_mask(void **state)
{
	(void)state;
	uint64_t want = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) |
			BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) |
			BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
			BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);
	assert_int_equal(want, HARDEN_CAPS_DEFAULT);
	assert_int_equal(caps_of("      network: none\n"), HARDEN_CAPS_DEFAULT);
}

static void test_add_drop(void **state)
{
	(void)state;
	assert_int_equal(caps_of("      capabilities: {add: [NET_ADMIN, cap_sys_ptrace]}\n"),
			 HARDEN_CAPS_DEFAULT | BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_PTRACE));
	assert_int_equal(caps_of("      capabilities: {drop: [CAP_CHOWN, Kill]}\n"),
			 HARDEN_CAPS_DEFAULT & ~(BIT(CAP_CHOWN) | BIT(CAP_KILL)));
	assert_int_equal(caps_of("      capabilities: {drop: [ALL]}\n"), 0);
	assert_int_equal(caps_of("      capabilities: {drop: [all], add: [NET_BIND_SERVICE]}\n"),
			 BIT(CAP_NET_BIND_SERVICE));
	assert_int_equal(caps_of("      capabilities: {add: [ALL], drop: [SYS_ADMIN]}\n"),
			 ALL40 & ~BIT(CAP_SYS_ADMIN));
	assert_int_equal(caps_of("      capabilities: {add: [CHECKPOINT_RESTORE]}\n"),
			 HARDEN_CAPS_DEFAULT | BIT(40));
	/* add ALL is clipped to what the kernel knows. */
	struct spec_set *set = parse_ok("services:\n  s:\n    command: [/bin/true]\n"
					"    isolation: {capabilities: {add: [ALL]}}\n");
	assert_int_equal(harden_caps_for(set->services[0], (1ULL << 38) - 1), (1ULL << 38) - 1);
	spec_set_free(set);
}

static void test_config_errors(void **state)
{
	(void)state;
	parse_bad("services:\n  s:\n    command: [/bin/true]\n    isolation:\n"
		  "      capabilities:\n        add: [NET_ADMIN, NET_ADMN]\n",
		  6, 26, "did you mean 'NET_ADMIN'");
	parse_bad("services:\n  s:\n    command: [/bin/true]\n    isolation:\n"
		  "      capabilities:\n        drop:\n          - chown\n          - bogus\n",
		  8, 13, "unknown capability 'bogus'");
	parse_bad("services:\n  s:\n    command: [/bin/true]\n    isolation:\n"
		  "      capabilities:\n        keep: [CHOWN]\n",
		  6, 9, "unknown key 'keep'");
	parse_bad("services:\n  s:\n    command: [/bin/true]\n    isolation:\n"
		  "      capabilities: {add: CHOWN}\n",
		  5, 27, "isolation.capabilities.add");
	parse_bad("services:\n  s:\n    command: [/bin/true]\n    isolation:\n"
		  "      seccomp: /etc/profile.json\n",
		  5, 16, "not supported yet");
	parse_bad("services:\n  s:\n    command: [/bin/true]\n    isolation:\n"
		  "      capabilities: {add: [ALL], drop: [ALL]}\n",
		  5, 22, "contradict");
}

static void test_seccomp_config(void **state)
{
	(void)state;
	struct spec_set *set = parse_ok("services:\n  a:\n    command: [/bin/true]\n"
					"  b:\n    command: [/bin/true]\n"
					"    isolation: {seccomp: unconfined}\n"
					"  c:\n    command: [/bin/true]\n"
					"    isolation: {seccomp: default}\n");
	assert_false(spec_set_find(set, "a")->isolation.seccomp_unconfined);
	assert_true(spec_set_find(set, "b")->isolation.seccomp_unconfined);
	assert_false(spec_set_find(set, "c")->isolation.seccomp_unconfined);

	struct harden_plan plan;
	char err[256] = "";
	assert_int_equal(harden_prepare(spec_set_find(set, "b"), &plan, err, sizeof(err)), 0);
	assert_false(plan.seccomp);
	assert_null(plan.filter);
	harden_plan_free(&plan);
	assert_int_equal(harden_prepare(spec_set_find(set, "a"), &plan, err, sizeof(err)), 0);
	assert_true(plan.seccomp);
	assert_non_null(plan.filter);
	assert_true(plan.filter_len > 10);
	assert_int_equal(plan.prog.len, plan.filter_len);
	assert_ptr_equal(plan.prog.filter, plan.filter);
	assert_int_equal(plan.cap_bounding & ~((1ULL << (plan.cap_last + 1)) - 1), 0);
	harden_plan_free(&plan);
	harden_plan_free(&plan); /* twice is fine */
	spec_set_free(set);
}

/*
 * In a child: no_new_privs + the filter only (capabilities untouched, so
 * the test runs unprivileged too), then probe syscalls. Exit code = the
 * first probe that went wrong, 0 = all as expected.
 */
static int probe_child(const struct harden_plan *plan, bool sys_admin)
{
	enum harden_step step;
	struct sock_fprog prog = { .len = (unsigned short)plan->filter_len,
				   .filter = plan->filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 100;
	if (prctl(PR_SET_SECCOMP, 2 /* SECCOMP_MODE_FILTER */, &prog, 0, 0) < 0)
		return 101;
	(void)step;
	errno = 0;
	if (syscall(SYS_kexec_load, 0, 0, NULL, 0) != -1 || errno != EPERM)
		return 1;
	errno = 0;
	if (syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -1, 0) != -1 || errno != EPERM)
		return 2;
	errno = 0;
	if (syscall(SYS_bpf, 0, NULL, 0) != -1 || errno != EPERM)
		return 3;
	errno = 0;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != (sys_admin ? EFAULT : ENOSYS))
		if (!sys_admin || errno != EINVAL)
			return 4;
	errno = 0;
	if (syscall(SYS_unshare, CLONE_NEWUSER) != -1 || errno != EPERM)
		if (!sys_admin)
			return 5;
	errno = 0;
	if (!sys_admin &&
	    (syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL) != -1 || errno != EPERM))
		return 6;
	errno = 0;
	if (syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0) != -1 || errno != EPERM)
		return 7;
	/* Allowed: plain calls, and unshare/clone without a new user namespace. */
	if (getpid() <= 0 || syscall(SYS_getppid) <= 0)
		return 20;
	if (syscall(SYS_unshare, 0) != 0)
		return 21;
	pid_t p = fork(); /* clone without CLONE_NEWUSER */
	if (p < 0)
		return 22;
	if (p == 0)
		_exit(0);
	int st;
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return 23;
	return 0;
}

static void run_probe(const char *isolation, bool sys_admin)
{
	char yaml[512];
	struct harden_plan plan;
	char err[256] = "";

	snprintf(yaml, sizeof(yaml), "services:\n  s:\n    command: [/bin/true]\n%s", isolation);
	struct spec_set *set = parse_ok(yaml);
	int r = harden_prepare(set->services[0], &plan, err, sizeof(err));
	if (r < 0)
		fail_msg("harden_prepare: %s", err);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(probe_child(&plan, sys_admin));
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("probe %d failed", WEXITSTATUS(st));
	harden_plan_free(&plan);
	spec_set_free(set);
}

static void test_filter_default(void **state)
{
	(void)state;
	run_probe("", false);
}

static void test_filter_sys_admin(void **state)
{
	(void)state;
	/* SYS_ADMIN granted: mount/unshare/clone3 rules are left out; the rest stays. */
	run_probe("    isolation: {capabilities: {add: [SYS_ADMIN]}}\n", true);
}

/* The whole child-side sequence on an unprivileged-safe plan: drop everything. */
static void test_apply_drop_all(void **state)
{
	(void)state;
	struct spec_set *set = parse_ok("services:\n  s:\n    command: [/bin/true]\n"
					"    isolation: {capabilities: {drop: [ALL]}}\n");
	struct harden_plan plan;
	char err[256];

	assert_int_equal(harden_prepare(set->services[0], &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.cap_effective, 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		enum harden_step step;
		/* Bounding drops need CAP_SETPCAP: only as root. */
		if (geteuid() == 0 && harden_apply_bounding(&plan, &step) < 0)
			_exit(1);
		if (harden_apply(&plan, &step) < 0)
			_exit(2);
		struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct data[2];
		if (syscall(SYS_capget, &hdr, data) < 0)
			_exit(3);
		if (data[0].effective || data[0].permitted || data[0].inheritable ||
		    data[1].effective || data[1].permitted)
			_exit(4);
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			_exit(5);
		if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2)
			_exit(6);
		if (geteuid() == 0 && prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0) != 0)
			_exit(7);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	harden_plan_free(&plan);
	spec_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_mask),   cmocka_unit_test(test_add_drop),
		cmocka_unit_test(test_config_errors),  cmocka_unit_test(test_seccomp_config),
		cmocka_unit_test(test_filter_default), cmocka_unit_test(test_filter_sys_admin),
		cmocka_unit_test(test_apply_drop_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
