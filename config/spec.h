/*
 * spec.h - validated, immutable service specs and daemon configuration.
 *
 * config/ turns YAML into these structs and nothing else: no syscalls beyond
 * reading files. Every value here has been range-checked; a spec_set either
 * parses whole or not at all. Callers treat the structs as read-only.
 */
#ifndef PADDOCK_SPEC_H
#define PADDOCK_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"

/* "not set" for sizes and counts: the knob is left at the kernel default. */
#define SPEC_UNSET UINT64_MAX
/* "max" written explicitly for a size: unlimited. */
#define SPEC_SIZE_MAX (UINT64_MAX - 1)

#define SPEC_NAME_MAX 63
#define SPEC_MAX_SERVICES 4096

enum spec_class { CLASS_STANDARD = 0, CLASS_CRITICAL, CLASS_BATCH };
enum spec_restart_policy { RESTART_ON_FAILURE = 0, RESTART_ALWAYS, RESTART_NEVER };
/* isolation.network: none (own netns, lo only), host, or NAME / a list (isolation.networks) */
enum spec_network { NETWORK_NONE = 0, NETWORK_HOST, NETWORK_BRIDGE };
enum spec_mount_type { MOUNT_BIND = 0, MOUNT_TMPFS };
enum spec_ready { READY_NONE = 0, READY_NOTIFY, READY_EXEC, READY_TCP };
enum spec_on_oom { ON_OOM_RESTART = 0, ON_OOM_STOP, ON_OOM_GROW };
/* pull: when a registry image is fetched before a start */
enum spec_pull { PULL_MISSING = 0, PULL_ALWAYS, PULL_NEVER };
/* daemon config `rebalance:` */
enum spec_rebalance_mode { REBALANCE_OFF = 0, REBALANCE_OBSERVE, REBALANCE_ENFORCE };
enum spec_drift { DRIFT_REASSERT = 0, DRIFT_ADOPT };
enum spec_pressure_resource { PRESSURE_MEMORY = 0, PRESSURE_CPU, PRESSURE_IO, PRESSURE_NR };
enum spec_pressure_action {
	PRESSURE_ACTION_NONE = 0, /* resource not configured */
	PRESSURE_ACTION_RECLAIM,
	PRESSURE_ACTION_GROW,
	PRESSURE_ACTION_FREEZE,
	PRESSURE_ACTION_RESTART,
	PRESSURE_ACTION_KILL,
};

/* Namespace bits; SPEC_NS_DEFAULT is pid, mount, uts, ipc, net, cgroup. */
enum {
	SPEC_NS_PID = 1 << 0,
	SPEC_NS_MOUNT = 1 << 1,
	SPEC_NS_UTS = 1 << 2,
	SPEC_NS_IPC = 1 << 3,
	SPEC_NS_NET = 1 << 4,
	SPEC_NS_CGROUP = 1 << 5,
	SPEC_NS_USER = 1 << 6,
};
#define SPEC_NS_DEFAULT \
	(SPEC_NS_PID | SPEC_NS_MOUNT | SPEC_NS_UTS | SPEC_NS_IPC | SPEC_NS_NET | SPEC_NS_CGROUP)

/*
 * 'map: auto' ranges: SPEC_USERNS_AUTO_COUNT ids from
 * SPEC_USERNS_AUTO_BASE + SPEC_USERNS_AUTO_COUNT * k, k < SPEC_USERNS_AUTO_SLOTS,
 * k chosen from a hash of the service name and probed past slots taken by
 * other services of the set.
 */
#define SPEC_USERNS_AUTO_BASE 100000u
#define SPEC_USERNS_AUTO_COUNT 65536u
#define SPEC_USERNS_AUTO_SLOTS 32768u

struct spec_mount {
	enum spec_mount_type type;
	char *source; /* bind only; absolute host path */
	char *target; /* absolute path inside the service root */
	bool readonly;
	uint64_t size; /* tmpfs only, bytes; SPEC_UNSET = kernel default */
};

struct spec_memory {
	uint64_t min, low, high, max, swap_max; /* bytes, SPEC_UNSET or SPEC_SIZE_MAX */
};

struct spec_cpu {
	uint32_t weight; /* 1..10000, 0 = unset */
	uint32_t max_mcpu; /* millicores (1500 = 1.5 CPUs), 0 = unset (unlimited) */
	char *cpus; /* cpuset list "0-1,3", NULL = unset */
};

/* resources.rlimits: one slot per RLIMIT_* number (0..15 on Linux). */
#define SPEC_RLIMIT_NR 16
/* "unlimited" for a soft or hard rlimit (RLIM_INFINITY). */
#define SPEC_RLIM_INFINITY UINT64_MAX

struct spec_rlimit {
	bool set; /* false = inherited from paddockd */
	uint64_t soft, hard; /* SPEC_RLIM_INFINITY = unlimited; soft <= hard */
};

/* resources.oom_score_adj when not set: inherited from paddockd. */
#define SPEC_OOM_SCORE_UNSET INT32_MIN

struct spec_pressure {
	enum spec_pressure_action action; /* NONE = not configured */
	uint32_t above_permille; /* threshold on "some", 1..1000 (20% = 200) */
	uint64_t for_ms; /* how long above before acting */
};

/*
 * Networks. IPv4 only; addresses and subnets are in host byte order.
 * SPEC_NET_DEFAULT is always in daemon_config.networks (built in unless the
 * file defines it), so `isolation.network: default` always works. The
 * daemon makes a network's bridge when the first service joins it.
 */
#define SPEC_NET_DEFAULT "default"
#define SPEC_NET_DEFAULT_SUBNET 0x0a590000u /* 10.89.0.0 */
#define SPEC_NET_DEFAULT_PREFIX 16
#define SPEC_MAX_NETWORKS 32 /* in the daemon config */
#define SPEC_MAX_ATTACH 8 /* networks one service joins */
#define SPEC_MAX_ALIASES 16
#define SPEC_MAX_PORTS 64 /* entries in one service's ports: */

struct spec_netdef {
	char *name; /* config_valid_name */
	int line, column; /* where the name sits (0 for the built-in default) */
	char *bridge; /* link name, <= 15 bytes; default "pd-" NAME cut to 15 */
	uint32_t subnet; /* network address (host bits zero) */
	uint8_t prefix; /* 8..30 */
	uint32_t gateway; /* the bridge's own address; default subnet + 1 */
	uint32_t mtu; /* 576..65535, default 1500 */
	bool internal; /* no way out: no egress, no masquerade, no published ports */
	bool masquerade; /* default !internal; internal with masquerade is an error */
};

/* One entry of isolation.networks: a service joins NETWORK. */
struct spec_netattach {
	char *network;
	uint32_t ip; /* fixed address, 0 = allocated */
	char **aliases; /* NULL-terminated, names valid as config_valid_name */
	size_t naliases;
	int line, column; /* where the entry sits */
	int ip_line, ip_column; /* where ip sits (0 when not given) */
};

/* One published range: host_ip:host_port..+count-1 -> port..+count-1 */
struct spec_port {
	uint32_t host_ip; /* 0 = every local address */
	uint16_t host_port, port, count; /* count >= 1 */
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	int line, column;
};

/*
 * environment_file: one file of KEY=VALUE lines (config_envfile_parse),
 * read at every start; its variables come before the spec's 'environment'
 * (which wins), later files win over earlier ones.
 */
struct spec_envfile {
	char *path; /* absolute: a relative one is resolved against the spec file's directory */
	bool optional; /* written with a leading '-': a missing file is skipped */
	int line, column; /* where the item sits */
};

/* "not set" for a secret's uid/gid: the service's own user and group. */
#define SPEC_SECRET_ID_UNSET UINT32_MAX
#define SPEC_SECRETS_DIR_INSIDE "/run/secrets"
#define SPEC_MAX_SECRETS 64
#define SPEC_SECRET_MAX_SIZE (1024 * 1024) /* bytes of one secret's source */

/*
 * secrets: one file the service sees read-only, copied at each start from
 * its source into a private tmpfs at SPEC_SECRETS_DIR_INSIDE (also
 * $CREDENTIALS_DIRECTORY). The value is never in the spec, the state file,
 * the environment or any message: only the name and paths are.
 */
struct spec_secret {
	char *
	    name; /* source given as NAME: resolved in daemon_config.secrets_dir at start; else NULL */
	char *
	    source; /* source given as a path (has a '/'): absolute, relative to the spec's dir; else NULL */
	char *
	    target; /* absolute path inside; default SPEC_SECRETS_DIR_INSIDE "/" NAME (or the source's basename) */
	uint32_t uid, gid; /* owner inside, SPEC_SECRET_ID_UNSET = the service's user/group */
	uint32_t mode; /* default 0400 */
	int line, column; /* where the item sits */
};

/* health: a liveness check, run again and again while the service runs. */
enum spec_health_type { HEALTH_NONE = 0, HEALTH_EXEC, HEALTH_TCP, HEALTH_HTTP };
enum spec_on_unhealthy { ON_UNHEALTHY_RESTART = 0, ON_UNHEALTHY_STOP, ON_UNHEALTHY_NONE };

struct spec_health {
	enum spec_health_type type; /* HEALTH_NONE = no health check */
	char **exec; /* HEALTH_EXEC argv, NULL-terminated */
	uint16_t port; /* HEALTH_TCP and HEALTH_HTTP */
	char *http_path; /* HEALTH_HTTP, default "/" */
	uint16_t http_status; /* HEALTH_HTTP: the status wanted, 0 = any 2xx or 3xx */
	uint64_t interval_ms, timeout_ms, start_period_ms; /* defaults 30s, 30s, 0 */
	uint32_t retries; /* failures in a row before unhealthy, default 3 */
	enum spec_on_unhealthy on_unhealthy; /* default restart */
};

/*
 * depends_on in its mapping form; deps[i] describes depends_on[i] (the list
 * form gives DEP_READY, restart false). binds_to's names are in depends_on
 * too (condition started unless listed there), with binds set.
 */
enum spec_dep_condition { DEP_READY = 0, DEP_STARTED, DEP_HEALTHY, DEP_COMPLETED };

struct spec_dep {
	enum spec_dep_condition condition;
	bool restart; /* restart this service when the dependency restarts */
	bool binds; /* named in binds_to: stopped when it stops, started when it starts */
};

/* schedule: when a one-shot service runs (config/calendar.h has the parsed form) */
enum spec_overlap { OVERLAP_SKIP = 0, OVERLAP_QUEUE, OVERLAP_REPLACE };

struct spec_schedule {
	char *expr; /* as written: 5 cron fields, or a calendar event ("daily", "*-*-* 03:00:00") */
	char *tz; /* a zone name ("Europe/Paris"), NULL = the daemon's local time */
	uint64_t randomized_delay_ms;
	bool persistent; /* a run missed while the daemon was down happens once at start */
	enum spec_overlap overlap;
	int line, column; /* where expr sits */
	struct calendar cal; /* expr parsed; its zone (cal.tz) is folded into tz */
};

/* resources.io.max: one device's throttle; SPEC_UNSET = no limit for that field */
struct spec_io_max {
	char *device; /* absolute path of a block device, resolved to major:minor at start */
	uint64_t rbps, wbps, riops, wiops;
	int line, column;
};

/* resources.hugetlb: a limit per huge page size */
struct spec_hugetlb {
	char *pagesize; /* as the kernel names it: "2MB", "1GB" */
	uint64_t max; /* bytes */
};

/* isolation.devices: a device node made in the service's /dev and allowed */
struct spec_device {
	char *path; /* absolute, under /dev; the host's node gives type and major:minor */
	bool read, write, mknod; /* access "rwm" */
	int line, column;
};

#define SPEC_UMASK_UNSET UINT32_MAX

struct service_spec {
	char *name; /* config_valid_service_name: NAME, or TEMPLATE@INSTANCE for an instance */
	char *file; /* spec file it came from, and where the name key sits */
	int line, column;

	/*
	 * "PATH[:TAG]", "NAME[:TAG]" of an imported image, or a registry
	 * reference "HOST[:PORT]/NAME[:TAG]" or "HOST[:PORT]/NAME@sha256:<hex>"
	 * (config_image_ref_is_registry); NULL if none
	 */
	char *image;
	enum spec_pull pull; /* registry images; PULL_MISSING unless 'pull' says otherwise */
	char *rootfs; /* absolute dir, NULL if none; neither = host fs */
	char **command; /* NULL-terminated argv, NULL = image default */
	size_t ncommand;
	char **environment; /* NULL-terminated "KEY=VALUE", in file order */
	size_t nenvironment;
	char *user; /* "uid[:gid]" or "name[:group]", NULL = root */
	char *working_dir; /* NULL = "/" (or image default) */
	char *hostname; /* NULL = service name */
	enum spec_class class;
	bool init; /* true (default): a built-in init is pid 1 and reaps */
	bool persist; /* image only: keep the overlay's upper layer across restarts */

	struct {
		struct spec_memory memory;
		struct spec_cpu cpu;
		uint64_t pids_max; /* SPEC_UNSET or SPEC_SIZE_MAX ("max") or a count */
		uint32_t io_weight; /* 1..10000, 0 = unset */
		struct spec_rlimit rlimits[SPEC_RLIMIT_NR]; /* indexed by RLIMIT_* */
		int32_t oom_score_adj; /* -1000..1000, SPEC_OOM_SCORE_UNSET = inherit */
	} resources;

	struct {
		unsigned namespaces; /* SPEC_NS_* */
		enum spec_network network;
		/* NETWORK_BRIDGE: the networks joined, first = the default route and resolver */
		struct spec_netattach *networks;
		size_t nnetworks;
		bool readonly_rootfs;
		struct spec_mount *mounts;
		size_t nmounts;
		/* capabilities: bit n = capability number n (CAP_CHOWN = bit 0) */
		uint64_t caps_add, caps_drop;
		bool caps_add_all, caps_drop_all;
		bool seccomp_unconfined; /* 'seccomp: unconfined'; default filter otherwise */
		char *seccomp_profile; /* 'seccomp: FILE': absolute path of an OCI JSON profile */
		int seccomp_line, seccomp_column; /* where that value sits in the spec */
		/*
		 * isolation.user: a user namespace mapping uids and gids 0..user_count-1
		 * inside to user_host.. on the host (SPEC_NS_USER set in namespaces).
		 * 'map: auto' is resolved over the whole set (see SPEC_USERNS_AUTO_*).
		 */
		bool user_auto;
		uint32_t user_host, user_count;
		int user_line, user_column; /* where the map value sits */
	} isolation;

	struct {
		enum spec_restart_policy policy;
		uint64_t delay_ms, max_delay_ms, reset_after_ms;
		uint32_t burst;
		uint64_t interval_ms;
	} restart;

	struct {
		enum spec_ready type;
		char **exec; /* READY_EXEC argv, NULL-terminated */
		uint16_t port; /* READY_TCP */
		uint64_t timeout_ms;
	} ready;

	uint64_t watchdog_ms; /* 0 = off */
	char **depends_on; /* NULL-terminated service names */
	size_t ndepends_on;

	struct {
		int signal;
		uint64_t timeout_ms;
	} stop;

	enum spec_on_oom on_oom;
	struct spec_pressure pressure[PRESSURE_NR];

	/* ports: published on the host; needs NETWORK_BRIDGE, to the first network */
	struct spec_port *ports;
	size_t nports;

	struct spec_health health; /* health:, type HEALTH_NONE when absent */
	struct spec_dep *deps; /* ndepends_on entries, parallel to depends_on */
	char **binds_to; /* NULL-terminated names: stopped when one of them stops */
	size_t nbinds_to;
	struct spec_schedule *schedule; /* schedule:, NULL when absent */
	char **groups; /* supplementary groups: names (the image's /etc/group) or numbers */
	size_t ngroups;
	uint32_t umask; /* SPEC_UMASK_UNSET = paddockd's (022) */
	struct spec_io_max *io_max; /* resources.io.max */
	size_t nio_max;
	struct spec_hugetlb *hugetlb; /* resources.hugetlb */
	size_t nhugetlb;
	char *cpu_mems; /* resources.cpu.mems, a NUMA node list, NULL = unset */
	struct spec_device *devices; /* isolation.devices */
	size_t ndevices;

	struct spec_envfile *environment_files; /* environment_file:, in file order */
	size_t nenvironment_files;
	struct spec_secret *secrets; /* secrets:, in file order, targets distinct */
	size_t nsecrets;

	/*
	 * Starting with the daemon (and when new at a reload): only when enabled
	 * and, if profiles is set, one of them is active (daemon config
	 * 'profiles:' and paddockd --profile). 'paddockctl start' starts any.
	 */
	bool enabled; /* default true */
	char **profiles; /* NULL-terminated names, NULL = no profile: always */
	size_t nprofiles;

	/* instances: "web@2" has template "web" and instance "2"; both NULL otherwise */
	char *template_name;
	char *instance;

	/*
	 * placement: where a fleet spec (paddockctl fleet apply) runs; local
	 * specs ignore it. count instances (default 1), only on nodes whose
	 * labels hold every constraint "KEY=VALUE" (sorted), at most one per
	 * node when spread. (config/spec-placement.c)
	 */
	struct {
		bool set;
		uint32_t count;
		char **constraints; /* NULL-terminated "KEY=VALUE", NULL = none */
		size_t nconstraints;
		bool spread;
	} placement;

	/*
	 * The service's own YAML mapping after includes, merge keys and
	 * interpolation (paddockctl cat), as "NAME:\n  key: ...". Secrets
	 * appear by name and path only: values are never read by config/.
	 */
	char *effective;
};

/* All services of one directory (or one file), sorted by name. */
struct spec_set {
	struct service_spec **services;
	size_t nservices;
};

/* daemon config `registries:`, like registries.conf: how to reach one registry. */
#define SPEC_MAX_REGISTRIES 64
#define SPEC_MAX_MIRRORS 16

struct spec_registry {
	char *host; /* "HOST[:PORT]" (config_valid_registry_host) */
	char **
	    mirrors; /* NULL-terminated "HOST[:PORT][/PREFIX]", tried in order first; NULL = none */
	size_t nmirrors;
	bool insecure; /* plain HTTP (and TLS without verification) allowed */
	int line, column; /* where the host key sits */
};

#define SPEC_PULL_PARALLEL_MAX 16

struct daemon_config {
	char *file; /* NULL when built from defaults only */
	char *services_dir;
	char *state_dir;
	char *runtime_dir;
	char *cgroup_root; /* NULL = the daemon's own subtree */
	char *metrics_listen; /* "host:port", NULL = off */
	struct {
		uint64_t memory; /* bytes, SPEC_UNSET = host RAM */
		uint64_t reserve; /* bytes kept for the host */
		uint32_t cpu_mcpu; /* millicores, 0 = all CPUs */
	} budget;
	struct {
		uint64_t max_size; /* bytes per log file before rotation */
		uint32_t keep; /* rotated files kept */
		uint64_t pipe_size; /* bytes a service's stdout/stderr pipe holds */
	} log;
	uint64_t probe_interval_ms;
	struct {
		enum spec_rebalance_mode mode; /* default observe */
		enum spec_drift drift; /* default reassert */
		uint32_t ws_target_permille; /* working-set probe: memory some avg10 target */
	} rebalance;
	struct {
		uint64_t max_json; /* bytes of an OCI JSON document, 0 = default (4M) */
		uint64_t max_layer; /* uncompressed bytes of one layer, 0 = default (8G) */
		char *auth_file; /* absolute, NULL = the registry client's default */
		char *certs_dir; /* absolute certs.d root, NULL = the client's default */
		uint32_t pull_parallel; /* layers downloaded at once, 1..16; 0 = the default (3) */
	} images;
	/* registries: sorted by host, each host once */
	struct spec_registry *registries;
	size_t nregistries;
	/* networks: sorted by name; always holds SPEC_NET_DEFAULT; no two subnets overlap */
	struct spec_netdef *networks;
	size_t nnetworks;
	/* secrets_dir: where a secret given by NAME is found; default /etc/paddock/secrets */
	char *secrets_dir;
	/* profiles: active at start (paddockd --profile adds more); NULL-terminated, NULL = none */
	char **profiles;
	size_t nprofiles;
	/* api: the HTTP API and dashboard (daemon-api.c); listen NULL = off */
	struct {
		char *listen; /* absolute Unix socket path, or HOST:PORT (TLS) */
		char *tls_cert, *tls_key; /* absolute PEM paths; both for HOST:PORT */
		char *tokens; /* absolute path of the ROLE TOKEN file */
		uint32_t max_clients; /* connections at once; default 64 */
		uint32_t idle_timeout_s; /* an idle or slow client's limit; default 30 */
		uint64_t max_body; /* bytes of a request body; default 64 KiB */
	} api;
	/* fleet: this daemon as a node of an etcd-backed fleet (daemon-fleet.c); netcd 0 = off */
	struct {
		char **etcd; /* NULL-terminated endpoints, "https://HOST:PORT" */
		size_t netcd;
		char *tls_ca, *tls_cert, *tls_key; /* absolute PEM paths, NULL = none */
		char *node; /* this node's name; default the hostname */
		char **labels; /* NULL-terminated "KEY=VALUE", sorted */
		size_t nlabels;
		uint64_t lease_ttl_ms; /* default 10 s */
	} fleet;
};

/* One diagnostic: "FILE:LINE:COLUMN: message". */
struct config_diag {
	char *file;
	int line, column; /* 1-based; 0 when unknown */
	char *message;
};

struct config_errors {
	struct config_diag *diags;
	size_t n, cap;
};

/* Parse options that are facts about the host, passed in to keep config/ pure. */
struct config_host {
	uint64_t mem_total; /* bytes, for percentages; 0 = percentages are errors */
	/*
	 * ${VAR} values: the reading process's environment (config_host_detect
	 * sets it to environ); a .env file beside the specs adds to it (the
	 * environment wins, as in compose). NULL = no variables.
	 */
	char *const *env;
};

#endif
