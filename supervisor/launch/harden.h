/*
 * harden.h - least privilege for a service process: capability sets
 * (docker's default set, the spec's add/drop), no_new_privs, and a
 * default seccomp filter refusing what services never need.
 *
 * harden_prepare runs in the parent (it allocates: libseccomp builds and
 * exports the BPF program); the child only applies the finished plan with
 * harden_apply_bounding (before setuid) and harden_apply (right before
 * execve), neither of which allocates.
 */
#ifndef PADDOCK_HARDEN_H
#define PADDOCK_HARDEN_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

/* CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE
 * NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP: 0xa80425fb, as docker. */
#define HARDEN_CAPS_DEFAULT 0x00000000a80425fbULL

struct harden_plan {
	uint64_t cap_bounding, cap_effective, cap_permitted; /* bit n = capability n */
	int cap_last; /* highest capability the kernel knows */
	bool seccomp; /* load filter before exec */
	struct sock_fprog prog; /* points into filter */
	struct sock_filter *filter;
	size_t filter_len;
	/* resources.rlimits and oom_score_adj, applied by harden_apply_limits */
	struct {
		int resource;
		struct rlimit lim;
		const char *what; /* "setrlimit nofile" */
	} rlimits[SPEC_RLIMIT_NR];
	size_t nrlimits;
	char oom_score_adj[12]; /* "-1000".."1000"; "" = inherit */
	bool oom_score_default; /* the class's default: refused without CAP_SYS_RESOURCE is fine */
	/*
	 * isolation.capabilities.add of a non-root service, kept through setuid
	 * and raised ambient so that its program has them (systemd's
	 * AmbientCapabilities=). 0 for root, which keeps the whole plan anyway.
	 * Set by the caller once the uid is known: harden_set_ambient.
	 */
	uint64_t cap_ambient;
};

/*
 * Capability mask for spec (docker semantics): add ALL = every capability
 * but the dropped ones; drop ALL = only the added ones; else default minus
 * drop plus add. all_mask = every capability the kernel knows.
 */
uint64_t harden_caps_for(const struct service_spec *spec, uint64_t all_mask);
/* Highest capability number of the running kernel (cap_last_cap), or a fallback. */
int harden_cap_last(void);

/*
 * Parent side: compute the plan for spec. 0, or -errno with err filled.
 * The plan must be freed with harden_plan_free (also after a failure).
 */
int harden_prepare(const struct service_spec *spec, struct harden_plan *plan, struct error *err);
void harden_plan_free(struct harden_plan *plan);
/* How many filters were compiled (each distinct policy once; for tests). */
unsigned long harden_filter_compiles(void);
/*
 * Build each spec's seccomp profile (isolation.seccomp: FILE) as a start
 * would; a broken one becomes a diagnostic at the spec's seccomp value in
 * errs. For `paddockd -n`, startup and reload. 0 or -EINVAL.
 */
struct config_errors;
int harden_check_specs(const struct spec_set *set, struct config_errors *errs);

/*
 * Parent side, after harden_prepare, once the service's uid is known: for
 * uid != 0 the spec's added capabilities (ALL: every one not dropped) that
 * the plan keeps become ambient.
 */
void harden_set_ambient(const struct service_spec *spec, struct harden_plan *plan, uid_t uid);
/*
 * Child side, right before setresuid: with ambient capabilities to give,
 * keep the permitted set across the uid change (PR_SET_KEEPCAPS; execve
 * clears it again). 0 or -errno with err.
 */
int harden_keep_caps(const struct harden_plan *plan, struct error *err);

/*
 * Child side, no allocation. Before setgroups/setresgid/setresuid: drop
 * the bounding set and clear the ambient set. Returns 0 or -errno with err
 * (may be NULL) naming the step ("drop bounding capabilities").
 */
int harden_apply_bounding(const struct harden_plan *plan, struct error *err);
/*
 * Child side, while still root and before setuid (raising a hard limit or
 * lowering oom_score_adj needs CAP_SYS_RESOURCE): the spec's rlimits and
 * oom_score_adj (through the service's own /proc). 0 or -errno with err
 * naming the failed step ("setrlimit nofile").
 */
int harden_apply_limits(const struct harden_plan *plan, struct error *err);
/*
 * Child side, the last thing before execve (after setuid, chdir and
 * close_range): capset (permitted/effective = plan ∩ what is still held,
 * inheritable = the ambient ones), raise cap_ambient in the ambient set,
 * no_new_privs, seccomp. 0 or -errno with err
 * naming the step ("load seccomp filter").
 */
int harden_apply(const struct harden_plan *plan, struct error *err);

#endif
