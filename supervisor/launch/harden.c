/*
 * harden.c - capability sets, no_new_privs and the default seccomp filter
 * for a service. See harden.h: the parent builds everything (libseccomp
 * allocates), the child applies it with raw prctl/capset, no allocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "harden.h"
#include "seccomp-profile.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* A filter longer than the kernel takes is a bug in the rule list. */
#define HARDEN_MAX_INSNS 4096

/* Capabilities known to the running kernel; 40 (CHECKPOINT_RESTORE) if unreadable. */
int harden_cap_last(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	int last = 40;

	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			int v = atoi(buf);
			if (v > 0 && v < 64)
				last = v;
		}
		close(fd);
	}
	return last;
}

uint64_t harden_caps_for(const struct service_spec *spec, uint64_t all_mask)
{
	uint64_t add = spec->isolation.caps_add, drop = spec->isolation.caps_drop, caps;

	if (spec->isolation.caps_add_all)
		caps = all_mask & ~drop;
	else if (spec->isolation.caps_drop_all)
		caps = add;
	else
		caps = (HARDEN_CAPS_DEFAULT & ~drop) | add;
	return caps & all_mask;
}

enum rule_kind {
	RULE_ALWAYS,
	RULE_UNLESS_SYS_ADMIN,
	RULE_UNLESS_SYS_PTRACE,
	RULE_UNLESS_SYS_MODULE,
	RULE_UNLESS_SYS_BOOT,
};

/* Refused with EPERM unless the spec grants the capability named. */
static const struct {
	const char *name;
	enum rule_kind kind;
} deny_rules[] = {
	{ "kexec_load", RULE_UNLESS_SYS_BOOT },
	{ "kexec_file_load", RULE_UNLESS_SYS_BOOT },
	{ "reboot", RULE_UNLESS_SYS_BOOT },
	{ "init_module", RULE_UNLESS_SYS_MODULE },
	{ "finit_module", RULE_UNLESS_SYS_MODULE },
	{ "delete_module", RULE_UNLESS_SYS_MODULE },
	{ "bpf", RULE_ALWAYS },
	{ "perf_event_open", RULE_ALWAYS },
	{ "keyctl", RULE_ALWAYS },
	{ "add_key", RULE_ALWAYS },
	{ "request_key", RULE_ALWAYS },
	{ "swapon", RULE_ALWAYS },
	{ "swapoff", RULE_ALWAYS },
	{ "open_by_handle_at", RULE_ALWAYS },
	{ "acct", RULE_ALWAYS },
	{ "lookup_dcookie", RULE_ALWAYS },
	{ "userfaultfd", RULE_ALWAYS },
	{ "iopl", RULE_ALWAYS },
	{ "ioperm", RULE_ALWAYS },
	{ "uselib", RULE_ALWAYS },
	{ "nfsservctl", RULE_ALWAYS },
	{ "_sysctl", RULE_ALWAYS },
	{ "vm86", RULE_ALWAYS },
	{ "vm86old", RULE_ALWAYS },
	{ "mount", RULE_UNLESS_SYS_ADMIN },
	{ "umount", RULE_UNLESS_SYS_ADMIN },
	{ "umount2", RULE_UNLESS_SYS_ADMIN },
	{ "pivot_root", RULE_UNLESS_SYS_ADMIN },
	{ "fsopen", RULE_UNLESS_SYS_ADMIN },
	{ "fsconfig", RULE_UNLESS_SYS_ADMIN },
	{ "fsmount", RULE_UNLESS_SYS_ADMIN },
	{ "fspick", RULE_UNLESS_SYS_ADMIN },
	{ "move_mount", RULE_UNLESS_SYS_ADMIN },
	{ "open_tree", RULE_UNLESS_SYS_ADMIN },
	{ "mount_setattr", RULE_UNLESS_SYS_ADMIN },
	{ "setns", RULE_UNLESS_SYS_ADMIN },
	{ "quotactl", RULE_UNLESS_SYS_ADMIN },
	{ "ptrace", RULE_UNLESS_SYS_PTRACE },
	{ "process_vm_readv", RULE_UNLESS_SYS_PTRACE },
	{ "process_vm_writev", RULE_UNLESS_SYS_PTRACE },
	{ "kcmp", RULE_UNLESS_SYS_PTRACE },
};

static bool rule_applies(enum rule_kind kind, uint64_t caps)
{
	switch (kind) {
	case RULE_UNLESS_SYS_ADMIN:
		return !(caps & (1ULL << CAP_SYS_ADMIN));
	case RULE_UNLESS_SYS_PTRACE:
		return !(caps & (1ULL << CAP_SYS_PTRACE));
	case RULE_UNLESS_SYS_MODULE:
		return !(caps & (1ULL << CAP_SYS_MODULE));
	case RULE_UNLESS_SYS_BOOT:
		return !(caps & (1ULL << CAP_SYS_BOOT));
	case RULE_ALWAYS:
	default:
		return true;
	}
}

/* Add the syscall rule unless no architecture in ctx knows the name. */
static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned ncmp,
		    const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;
	int r = seccomp_rule_add_array(ctx, action, nr, ncmp, cmp);
	/* -EDOM/-EOPNOTSUPP: a pseudo syscall some arch cannot express; fine to skip. */
	return r == -EDOM || r == -EOPNOTSUPP ? 0 : r;
}

static int build_rules(scmp_filter_ctx ctx, uint64_t caps, const char **what)
{
	int r;

	for (size_t i = 0; i < sizeof(deny_rules) / sizeof(deny_rules[0]); i++) {
		if (!rule_applies(deny_rules[i].kind, caps))
			continue;
		if ((r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), deny_rules[i].name, 0, NULL)) < 0) {
			*what = deny_rules[i].name;
			return r;
		}
	}
	/*
	 * Typing into a terminal: `paddockctl exec` without -t hands the
	 * command the operator's own tty, and with CAP_SYS_ADMIN TIOCSTI
	 * (and TIOCLINUX's paste on a console) would type commands into the
	 * operator's shell. ioctl's request is an int: compared on 32 bits.
	 */
	static const unsigned long tty_push[] = { TIOCSTI, TIOCLINUX };
	for (size_t i = 0; i < sizeof(tty_push) / sizeof(tty_push[0]); i++) {
		struct scmp_arg_cmp req = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, tty_push[i]);
		if ((r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &req)) < 0) {
			*what = "ioctl";
			return r;
		}
	}
	if (!(caps & (1ULL << CAP_SYS_ADMIN))) {
		/* New user namespaces are the one namespace an unprivileged task can
		 * create; refuse them by flag. clone3 passes flags in memory seccomp
		 * cannot read: ENOSYS makes libc fall back to clone (as docker). */
		struct scmp_arg_cmp newuser =
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER);
		if ((r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "unshare", 1, &newuser)) < 0) {
			*what = "unshare";
			return r;
		}
		/* clone's flags are arg 0 on x86 and arm (arg 1 on s390, not handled). */
		if ((r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &newuser)) < 0) {
			*what = "clone";
			return r;
		}
		if ((r = add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL)) < 0) {
			*what = "clone3";
			return r;
		}
	}
	return 0;
}

/* The filter as BPF, through a memfd (libseccomp 2.5 exports to an fd only). */
static int export_filter(scmp_filter_ctx ctx, struct harden_plan *plan)
{
	int fd = memfd_create("paddock-seccomp", MFD_CLOEXEC);
	struct stat st;
	int r = 0;

	if (fd < 0)
		return -errno;
	if ((r = seccomp_export_bpf(ctx, fd)) < 0)
		goto out;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size / sizeof(struct sock_filter) > HARDEN_MAX_INSNS) {
		r = -E2BIG;
		goto out;
	}
	plan->filter = malloc((size_t)st.st_size);
	if (!plan->filter) {
		r = -ENOMEM;
		goto out;
	}
	ssize_t n = pread(fd, plan->filter, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		r = n < 0 ? -errno : -EIO;
		free(plan->filter);
		plan->filter = NULL;
		goto out;
	}
	plan->filter_len = (size_t)st.st_size / sizeof(struct sock_filter);
	plan->prog.len = (unsigned short)plan->filter_len;
	plan->prog.filter = plan->filter;
out:
	close(fd);
	return r;
}

/*
 * Whether paddockd may lower an oom_score_adj (CAP_SYS_RESOURCE in the
 * initial user namespace; root in a container often lacks it). Asked once,
 * by trying on itself: one below its own value, then back.
 */
static bool can_lower_oom_score(int *own)
{
	static int can = -1, base;
	char buf[16];
	int fd;

	if (can < 0) {
		can = 0;
		if ((fd = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC)) >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			base = n > 0 ? (buf[n] = 0, atoi(buf)) : 0;
			int len = snprintf(buf, sizeof(buf), "%d", base - 1);
			if (base > -1000 && pwrite(fd, buf, (size_t)len, 0) == len) {
				can = 1;
				len = snprintf(buf, sizeof(buf), "%d", base);
				(void)pwrite(fd, buf, (size_t)len, 0);
			}
			close(fd);
		}
	}
	*own = base;
	return can;
}

static int clamp_score(int v)
{
	return v < -1000 ? -1000 : v > 1000 ? 1000 : v;
}

/*
 * When services together overrun a parent's limit, the kernel's OOM
 * killer picks by size, and the largest process is often the critical
 * database. Unless the spec says otherwise, batch work goes first and a
 * critical service last. The kernel scales the adjustment by the limit
 * that ran out: -900 takes nine tenths of it off the score, +500 adds
 * half. Where paddockd may not lower a score, critical keeps paddockd's
 * own and the other classes are raised above it instead.
 */
static int class_oom_score_adj(enum spec_class class)
{
	int own;
	bool lower = can_lower_oom_score(&own);

	switch (class) {
	case CLASS_CRITICAL:
		return lower ? clamp_score(own - 900) : SPEC_OOM_SCORE_UNSET;
	case CLASS_BATCH:
		return clamp_score(own + (lower ? 500 : 800));
	case CLASS_STANDARD:
		break;
	}
	return lower ? SPEC_OOM_SCORE_UNSET : clamp_score(own + 300);
}

/* Filter every ABI the kernel runs on this machine, or 32-bit calls would be killed. */
static int add_arches(scmp_filter_ctx ctx)
{
	uint32_t native = seccomp_arch_native();
	uint32_t extra[2] = { 0, 0 };
	int r;

	if (native == SCMP_ARCH_X86_64) {
		extra[0] = SCMP_ARCH_X86;
		extra[1] = SCMP_ARCH_X32;
	} else if (native == SCMP_ARCH_AARCH64) {
		extra[0] = SCMP_ARCH_ARM;
	}
	for (size_t i = 0; i < 2; i++)
		if (extra[i] && (r = seccomp_arch_add(ctx, extra[i])) < 0 && r != -EEXIST)
			return r;
	return 0;
}

static void prepare_limits(const struct service_spec *spec, struct harden_plan *plan)
{
	/* "setrlimit NAME" for each resource, built once: the child only reads them. */
	static char whats[SPEC_RLIMIT_NR][32];

	for (int res = 0; res < SPEC_RLIMIT_NR; res++) {
		const struct spec_rlimit *rl = &spec->resources.rlimits[res];

		if (!rl->set)
			continue;
		if (!whats[res][0])
			snprintf(whats[res], sizeof(whats[res]), "setrlimit %s",
				 spec_rlimit_name(res));
		plan->rlimits[plan->nrlimits].resource = res;
		plan->rlimits[plan->nrlimits].lim.rlim_cur =
		    rl->soft == SPEC_RLIM_INFINITY ? RLIM_INFINITY : (rlim_t)rl->soft;
		plan->rlimits[plan->nrlimits].lim.rlim_max =
		    rl->hard == SPEC_RLIM_INFINITY ? RLIM_INFINITY : (rlim_t)rl->hard;
		plan->rlimits[plan->nrlimits].what = whats[res];
		plan->nrlimits++;
	}
	int adj = spec->resources.oom_score_adj;
	if (adj == SPEC_OOM_SCORE_UNSET) {
		adj = class_oom_score_adj(spec->class);
		plan->oom_score_default = true;
	}
	if (adj != SPEC_OOM_SCORE_UNSET)
		snprintf(plan->oom_score_adj, sizeof(plan->oom_score_adj), "%d", adj);
}

/*
 * Compiled filters, one per distinct policy. libseccomp takes a few
 * hundred microseconds to build and export a filter, and every start used
 * to pay it again for the same policy. The default filter depends only on
 * the capability set; a profile also on the file's bytes, read at every
 * start (a few kilobytes) and compared whole, so an edit in place is seen
 * however coarse the file system's timestamps are. The least recently
 * used entry makes room.
 */
#define FILTER_CACHE_SIZE 8

struct compiled_filter {
	bool used;
	uint64_t caps;
	char *profile; /* the profile's bytes; NULL = the built-in filter */
	size_t profile_len;
	struct sock_filter *insns;
	size_t len;
	unsigned long last; /* filter_clock when last handed out */
};

static struct compiled_filter filter_cache[FILTER_CACHE_SIZE];
static unsigned long filter_clock, filter_compiles;

unsigned long harden_filter_compiles(void)
{
	return filter_compiles;
}

static int use_filter(struct harden_plan *plan, const struct sock_filter *insns, size_t len)
{
	if (!(plan->filter = malloc(len * sizeof(*insns))))
		return -ENOMEM;
	memcpy(plan->filter, insns, len * sizeof(*insns));
	plan->filter_len = len;
	plan->prog.len = (unsigned short)len;
	plan->prog.filter = plan->filter;
	plan->seccomp = true;
	return 0;
}

/* 1 and plan filled from the cache, 0 when the policy is not there. */
static int cached_filter(const char *profile, size_t len, uint64_t caps, struct harden_plan *plan)
{
	for (size_t i = 0; i < FILTER_CACHE_SIZE; i++) {
		struct compiled_filter *c = &filter_cache[i];

		if (!c->used || c->caps != caps || !c->profile != !profile ||
		    (profile && (c->profile_len != len || memcmp(c->profile, profile, len) != 0)))
			continue;
		c->last = ++filter_clock;
		return use_filter(plan, c->insns, c->len) < 0 ? 0 : 1;
	}
	return 0;
}

/* Keep plan's filter for this policy; takes profile (the bytes) over. */
static void remember_filter(char *profile, size_t len, uint64_t caps,
			    const struct harden_plan *plan)
{
	struct compiled_filter *c = &filter_cache[0];
	struct sock_filter *insns = malloc(plan->filter_len * sizeof(*insns));

	if (!insns) {
		free(profile); /* the cache is an optimisation: compile again next time */
		return;
	}
	for (size_t i = 1; i < FILTER_CACHE_SIZE && c->used; i++)
		if (!filter_cache[i].used || filter_cache[i].last < c->last)
			c = &filter_cache[i];
	free(c->insns);
	free(c->profile);
	memcpy(insns, plan->filter, plan->filter_len * sizeof(*insns));
	*c = (struct compiled_filter){ .used = true,
				       .caps = caps,
				       .profile = profile,
				       .profile_len = len,
				       .insns = insns,
				       .len = plan->filter_len,
				       .last = ++filter_clock };
}

/* The filter for caps: the profile's (path and its bytes given) or the built-in one. */
static int compile_filter(const char *path, const char *profile, size_t len, uint64_t caps,
			  struct harden_plan *plan, struct error *err)
{
	scmp_filter_ctx ctx;
	const char *what = NULL;
	int r;

	filter_compiles++;
	if (profile) {
		/* The profile replaces the default filter (as docker's --security-opt). */
		if ((r = seccomp_profile_parse(profile, len, caps, &ctx, err)) < 0) {
			(void)error_prefix(err, "seccomp profile %s: ", path);
			return r;
		}
		if ((r = export_filter(ctx, plan)) < 0)
			(void)error_set(err, -r, "seccomp profile %s: export filter: %s", path,
					r == -E2BIG ? "more than 4096 BPF instructions"
						    : strerror(-r));
		seccomp_release(ctx);
		return r;
	}
	if (!(ctx = seccomp_init(SCMP_ACT_ALLOW)))
		return error_set(err, ENOMEM, "seccomp: cannot create a filter");
	/*
	 * A binary tree of syscall numbers instead of a chain: every allowed
	 * call walked the whole deny list (about 60 BPF instructions), which
	 * cost iperf3 across a bridge a fifth of its throughput.
	 */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if ((r = add_arches(ctx)) < 0)
		(void)error_set(err, -r, "seccomp: add architectures: %s", strerror(-r));
	else if ((r = build_rules(ctx, caps, &what)) < 0)
		(void)error_set(err, -r, "seccomp: rule for %s: %s", what ? what : "?",
				strerror(-r));
	else if ((r = export_filter(ctx, plan)) < 0)
		(void)error_set(err, -r, "seccomp: export filter: %s", strerror(-r));
	seccomp_release(ctx);
	return r;
}

int harden_prepare(const struct service_spec *spec, struct harden_plan *plan, struct error *err)
{
	static int last = -1;
	const char *path = spec->isolation.seccomp_profile;
	char *profile = NULL;
	size_t len = 0;
	int r;

	if (last < 0)
		last = harden_cap_last(); /* fixed while the kernel runs */
	uint64_t all = last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
	uint64_t caps = harden_caps_for(spec, all);

	memset(plan, 0, sizeof(*plan));
	plan->cap_last = last;
	plan->cap_bounding = caps;
	plan->cap_permitted = caps;
	plan->cap_effective = caps;
	prepare_limits(spec, plan);
	if (spec->isolation.seccomp_unconfined)
		return 0;
	if (path && (r = seccomp_profile_read(path, &profile, &len, err)) < 0) {
		(void)error_prefix(err, "seccomp profile ");
		return r;
	}
	if (cached_filter(profile, len, caps, plan) == 1) {
		free(profile);
		return 0;
	}
	if ((r = compile_filter(path, profile, len, caps, plan, err)) < 0) {
		free(profile);
		return r;
	}
	plan->seccomp = true;
	remember_filter(profile, len, caps, plan);
	return 0;
}

int harden_check_specs(const struct spec_set *set, struct config_errors *errs)
{
	int bad = 0;

	for (size_t i = 0; set && i < set->nservices; i++) {
		const struct service_spec *spec = set->services[i];
		struct harden_plan plan;
		struct error err = { 0 };

		if (!spec->isolation.seccomp_profile)
			continue;
		if (harden_prepare(spec, &plan, &err) < 0) {
			config_errors_add(errs, spec->file, spec->isolation.seccomp_line,
					  spec->isolation.seccomp_column, "service %s: %s",
					  spec->name, err.msg);
			bad = -EINVAL;
		}
		harden_plan_free(&plan);
	}
	return bad;
}

void harden_plan_free(struct harden_plan *plan)
{
	if (!plan)
		return;
	free(plan->filter);
	plan->filter = NULL;
	plan->filter_len = 0;
	plan->prog.filter = NULL;
	plan->prog.len = 0;
	plan->seccomp = false;
}

void harden_set_ambient(const struct service_spec *spec, struct harden_plan *plan, uid_t uid)
{
	uint64_t add =
	    spec->isolation.caps_add_all ? ~spec->isolation.caps_drop : spec->isolation.caps_add;

	plan->cap_ambient = uid != 0 ? add & plan->cap_permitted : 0;
	if (uid != 0) {
		/*
		 * A non-root service holds only its ambient set: no more for a
		 * file-capability program to take up under no_new_privs.
		 */
		plan->cap_permitted &= plan->cap_ambient;
		plan->cap_effective &= plan->cap_ambient;
	}
}

int harden_keep_caps(const struct harden_plan *plan, struct error *err)
{
	if (plan->cap_ambient && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return error_set(err, errno, "keep capabilities across setuid");
	return 0;
}

int harden_apply_bounding(const struct harden_plan *plan, struct error *err)
{
	for (int cap = 0; cap <= plan->cap_last; cap++) {
		if (plan->cap_bounding & (1ULL << cap))
			continue;
		/* EINVAL: the kernel does not know this one; nothing to drop. */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return error_set(err, errno, "drop bounding capabilities");
	}
	/* EINVAL: kernel before 4.3, which has no ambient set. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return error_set(err, errno, "clear ambient capabilities");
	return 0;
}

int harden_apply_limits(const struct harden_plan *plan, struct error *err)
{
	for (size_t i = 0; i < plan->nrlimits; i++)
		if (setrlimit(plan->rlimits[i].resource, &plan->rlimits[i].lim) < 0)
			return error_set(err, errno, "%s", plan->rlimits[i].what);
	if (plan->oom_score_adj[0]) {
		size_t len = strlen(plan->oom_score_adj);
		int fd;

		/* Only a spec that asked for it fails the start (a class default is best effort). */
		if ((fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)) < 0)
			return plan->oom_score_default && (errno == EACCES || errno == EPERM)
				   ? 0
				   : error_set(err, errno, "write /proc/self/oom_score_adj");
		if (write(fd, plan->oom_score_adj, len) != (ssize_t)len) {
			int e = errno ? errno : EIO;
			close(fd);
			if (plan->oom_score_default && (e == EACCES || e == EPERM))
				return 0;
			return error_set(err, e, "write /proc/self/oom_score_adj");
		}
		close(fd);
	}
	return 0;
}

int harden_apply(const struct harden_plan *plan, struct error *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	uint64_t prm, eff, amb;

	if (syscall(SYS_capget, &hdr, data) < 0)
		return error_set(err, errno, "set capabilities");
	/*
	 * Never more than still held: a non-root service lost everything at
	 * setuid but what harden_keep_caps kept. Ambient ones must be permitted
	 * and inheritable before they can be raised; execve then makes them
	 * permitted and effective in the new program.
	 */
	prm = ((uint64_t)data[1].permitted << 32 | data[0].permitted) & plan->cap_permitted;
	eff = prm & plan->cap_effective;
	amb = prm & plan->cap_ambient;
	data[0].permitted = (uint32_t)prm;
	data[1].permitted = (uint32_t)(prm >> 32);
	data[0].effective = (uint32_t)eff;
	data[1].effective = (uint32_t)(eff >> 32);
	data[0].inheritable = (uint32_t)amb;
	data[1].inheritable = (uint32_t)(amb >> 32);
	hdr.pid = 0;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return error_set(err, errno, "set capabilities");
	if (amb != plan->cap_ambient)
		return error_set(err, EPERM, "ambient capabilities: not held after setuid");
	for (int cap = 0; cap <= plan->cap_last; cap++)
		if ((amb & (1ULL << cap)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return error_set(err, errno, "raise ambient capability %d", cap);

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_set(err, errno, "set no_new_privs");

	if (plan->seccomp) {
		struct sock_fprog prog = { .len = (unsigned short)plan->filter_len,
					   .filter = plan->filter };
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
			return error_set(err, errno, "load seccomp filter");
	}
	return 0;
}
