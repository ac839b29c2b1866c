/*
 * hints.c - pointed hints for keys of other tools' vocabularies (compose
 * files, systemd units) that paddock spells differently.
 *
 * An edit distance finds typos; these are the words an operator brings
 * from elsewhere, which are too far from paddock's to be found that way.
 * O(n) in the table, only for keys that are unknown anyway.
 */
#include <stddef.h>
#include <string.h>

#include "yaml-tree.h"

/*
 * where: the start of y_check_keys' where; NULL = in a service mapping
 * ("in service 'web'"), where these words are written. Elsewhere (the
 * daemon config's 'budget' has a 'cpu') the edit distance does better.
 */
static const struct {
	const char *key, *where, *hint;
} hints[] = {
	/* docker-compose */
	{ "volumes", "at the top level",
	  "paddock has no named volumes: bind-mount a host directory with "
	  "'isolation.mounts' in each service" },
	{ "volumes", NULL,
	  "did you mean 'isolation.mounts'? (bind mounts: {type: bind, source, target})" },
	{ "env_file", NULL, "did you mean 'environment_file'?" },
	{ "healthcheck", NULL,
	  "did you mean 'health'? (health: {exec: [...], interval, timeout, retries, "
	  "start_period}; 'ready' for readiness at start)" },
	{ "scale", NULL, "did you mean 'instances'?" },
	{ "container_name", NULL, "the service's name is the key under 'services:'" },
	{ "entrypoint", NULL,
	  "did you mean 'command'? (it replaces the image's Entrypoint and Cmd together)" },
	{ "mem_limit", NULL, "did you mean 'resources.memory.max'?" },
	{ "mem_reservation", NULL, "did you mean 'resources.memory.low'?" },
	{ "memswap_limit", NULL, "did you mean 'resources.memory.swap_max'?" },
	{ "deploy", NULL,
	  "did you mean 'resources'? (limits as resources.memory.max, resources.cpu.max, "
	  "resources.pids.max)" },
	{ "cpus", "in 'resources'", "did you mean 'cpu.max'?" },
	{ "cpus", NULL, "did you mean 'resources.cpu.max'?" },
	{ "cpuset", NULL, "did you mean 'resources.cpu.cpus'?" },
	{ "cpu_shares", NULL, "did you mean 'resources.cpu.weight'? (1..10000, default 100)" },
	{ "pids_limit", NULL, "did you mean 'resources.pids.max'?" },
	{ "oom_score_adj", "in service", "did you mean 'resources.oom_score_adj'?" },
	{ "cap_add", NULL, "did you mean 'isolation.capabilities.add'?" },
	{ "cap_drop", NULL, "did you mean 'isolation.capabilities.drop'?" },
	{ "read_only", NULL, "did you mean 'isolation.readonly_rootfs'?" },
	{ "networks", "at the top level",
	  "networks are declared in the daemon config (paddock.yaml 'networks:')" },
	{ "networks", NULL, "did you mean 'isolation.network'? (a name or a list)" },
	{ "network_mode", NULL, "did you mean 'isolation.network'? (none, host or a network)" },
	{ "tmpfs", NULL, "did you mean 'isolation.mounts'? ({type: tmpfs, target, size})" },
	{ "stop_signal", NULL, "did you mean 'stop.signal'?" },
	{ "stop_grace_period", NULL, "did you mean 'stop.timeout'?" },
	{ "ulimits", NULL, "did you mean 'resources.rlimits'?" },
	{ "privileged", NULL,
	  "paddock has no privileged mode: add the capabilities needed in "
	  "'isolation.capabilities.add'" },
	{ "expose", NULL, "not needed: services on one network reach each other's ports" },
	{ "links", NULL,
	  "not needed: services on one network reach each other by name; 'depends_on' "
	  "orders starts" },
	{ "build", NULL,
	  "paddock does not build images: build and push or 'paddockctl image import' it, "
	  "then set 'image'" },
	{ "pull_policy", NULL, "did you mean 'pull'? (missing, always or never)" },
	{ "version", "at the top level",
	  "a paddock spec file has only 'services:'; 'paddockctl convert compose' converts "
	  "compose files" },
	/* systemd units */
	{ "ExecStart", NULL, "did you mean 'command'? (a list: [\"/usr/bin/x\", \"-f\"])" },
	{ "Environment", NULL, "did you mean 'environment'?" },
	{ "EnvironmentFile", NULL, "did you mean 'environment_file'?" },
	{ "User", NULL, "did you mean 'user'?" },
	{ "Group", NULL, "did you mean 'user'? (\"user:group\")" },
	{ "WorkingDirectory", NULL, "did you mean 'working_dir'?" },
	{ "Restart", NULL, "did you mean 'restart.policy'? (on-failure, always or never)" },
	{ "RestartSec", NULL, "did you mean 'restart.delay'?" },
	{ "MemoryMax", NULL, "did you mean 'resources.memory.max'?" },
	{ "MemoryHigh", NULL, "did you mean 'resources.memory.high'?" },
	{ "MemoryLow", NULL, "did you mean 'resources.memory.low'?" },
	{ "MemoryMin", NULL, "did you mean 'resources.memory.min'?" },
	{ "MemorySwapMax", NULL, "did you mean 'resources.memory.swap_max'?" },
	{ "CPUQuota", NULL, "did you mean 'resources.cpu.max'? (CPUs: 150% is 1.5)" },
	{ "CPUWeight", NULL, "did you mean 'resources.cpu.weight'?" },
	{ "AllowedCPUs", NULL, "did you mean 'resources.cpu.cpus'?" },
	{ "TasksMax", NULL, "did you mean 'resources.pids.max'?" },
	{ "IOWeight", NULL, "did you mean 'resources.io.weight'?" },
	{ "LimitNOFILE", NULL, "did you mean 'resources.rlimits.nofile'?" },
	{ "OOMScoreAdjust", NULL, "did you mean 'resources.oom_score_adj'?" },
	{ "LoadCredential", NULL, "did you mean 'secrets'? ({source: PATH, target: ...})" },
	{ "SetCredential", NULL, "paddock reads secrets from files: see 'secrets'" },
	{ "Type", NULL,
	  "did you mean 'ready'? (Type=notify is 'ready: notify'; Type=simple is the "
	  "default)" },
	{ "WatchdogSec", NULL, "did you mean 'watchdog'?" },
	{ "KillSignal", NULL, "did you mean 'stop.signal'?" },
	{ "TimeoutStopSec", NULL, "did you mean 'stop.timeout'?" },
	{ "TimeoutStartSec", NULL, "did you mean 'ready.timeout'?" },
	{ "After", NULL, "did you mean 'depends_on'?" },
	{ "Requires", NULL, "did you mean 'depends_on'?" },
	{ "Wants", NULL, "did you mean 'depends_on'?" },
	{ "ReadOnlyPaths", NULL, "did you mean 'isolation.mounts'? (readonly: true)" },
	{ "BindPaths", NULL, "did you mean 'isolation.mounts'? ({type: bind, source, target})" },
	{ "ProtectSystem", NULL, "did you mean 'isolation.readonly_rootfs'?" },
	{ "CapabilityBoundingSet", NULL, "did you mean 'isolation.capabilities'?" },
	{ "AmbientCapabilities", NULL, "did you mean 'isolation.capabilities.add'?" },
	{ "RootDirectory", NULL, "did you mean 'rootfs'?" },
	{ "PrivateNetwork", NULL, "did you mean 'isolation.network'?" },
	{ "Hostname", NULL, "did you mean 'hostname'?" },
	{ "WantedBy", NULL, "did you mean 'enabled'? (or 'profiles')" },
};

const char *config_key_hint(const char *where, const char *key)
{
	if (!key)
		return NULL;
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		if (strcmp(hints[i].key, key) != 0)
			continue;
		const char *w = hints[i].where ? hints[i].where : "in service ";

		if (!where || strncmp(where, w, strlen(w)) != 0)
			continue;
		return hints[i].hint;
	}
	return NULL;
}
