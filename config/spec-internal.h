/*
 * spec-internal.h - private to config/: the state of one service being
 * parsed, and the parsers of keys that live in files of their own
 * (spec-health.c, spec-schedule.c, spec-identity.c, spec-iodev.c).
 * Each reports through p->c and fills p->s; none returns anything.
 */
#ifndef PADDOCK_SPEC_INTERNAL_H
#define PADDOCK_SPEC_INTERNAL_H

#include "spec.h"
#include "yaml-tree.h"

struct sp {
	struct yctx *c;
	struct service_spec *s;
	const char *name;
	const struct ynode *name_key;
	const struct ynode *image_key, *rootfs_key, *command_key, *hostname_v;
	const struct ynode *ns_v, *ns_net_item, *ns_user_item, *network_v, *mounts_v, *ro_v;
	const struct ynode *user_map_v; /* isolation.user.map */
	const struct ynode *ports_key;
	bool network_bad; /* isolation.network given, with errors */
	const struct ynode *delay_v, *max_delay_v, *watchdog_v;
	const struct ynode **deps; /* depends_on item nodes */
	const struct ynode *secrets_key;
	const char *dir; /* absolute directory of the spec file, for relative paths */
	struct config_errors *late; /* other files' diagnostics, after this file's own */
};

/* health: (spec-health.c) */
void parse_health(struct sp *p, const struct ynode *v);
/* schedule: (spec-schedule.c) */
void parse_schedule(struct sp *p, const struct ynode *v);
/* groups: and umask: (spec-identity.c); either node may be NULL */
void parse_identity(struct sp *p, const struct ynode *groups, const struct ynode *umask);
/* resources.io.max, resources.hugetlb, resources.cpu.mems, isolation.devices (spec-iodev.c) */
void parse_io_max(struct sp *p, const struct ynode *v);
void parse_hugetlb(struct sp *p, const struct ynode *v);
void parse_cpu_mems(struct sp *p, const struct ynode *v);
void parse_devices(struct sp *p, const struct ynode *v);
void parse_placement(struct sp *p, const struct ynode *v);

/* The daemon config's api: (daemon-api.c) and fleet: (daemon-fleet.c); v may be null. */
void parse_daemon_api(struct yctx *c, const struct ynode *v, struct daemon_config *cfg);
void daemon_api_free(struct daemon_config *cfg);
void parse_daemon_fleet(struct yctx *c, const struct ynode *v, struct daemon_config *cfg);
void daemon_fleet_free(struct daemon_config *cfg);

#endif
