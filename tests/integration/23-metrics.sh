#!/bin/bash
# Prometheus metrics: the exposition passes promtool, carries per-service
# usage, limits and OOM kills, and a real Prometheus server scrapes it and
# answers a query for paddock_memory_usage_bytes with the right services.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
port=$((20000 + $$ % 20000))
cat >"$T/config.yaml" <<YAML
metrics: {listen: "127.0.0.1:$port"}
probe_interval: 500ms
YAML
cat >"$T/services/m.yaml" <<YAML
services:
  alpha:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "dd if=/dev/zero of=/dev/shm/x bs=1M count=8; exec sleep 1000"]
    resources: {memory: {max: 64M, low: 16M}, pids: {max: 20}}
  beta:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
  gamma:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "dd if=/dev/zero of=/dev/null bs=128M count=1; exec sleep 1000"]
    resources: {memory: {max: 32M}}
    on_oom: stop
YAML
start_daemon -c "$T/config.yaml"
fetch() { if command -v curl >/dev/null; then curl -sf "$1"; else wget -qO- "$1"; fi; }
has_usage() { fetch "http://127.0.0.1:$port/metrics" | grep -q '^paddock_memory_usage_bytes{service="alpha"} [1-9]'; }
wait_for 10 has_usage || fail "no memory usage for alpha in /metrics"
oom_counted() { fetch "http://127.0.0.1:$port/metrics" | grep -q '^paddock_oom_kills_total{service="gamma"} [1-9]'; }
wait_for 20 oom_counted || fail "gamma's OOM kill not counted in /metrics"
fetch "http://127.0.0.1:$port/metrics" >"$T/metrics.txt"
grep -q '^paddock_memory_limit_bytes{service="alpha",kind="max"} 67108864$' "$T/metrics.txt" || fail "limit series missing"
grep -q '^# HELP paddock_cpu_usage_seconds_total ' "$T/metrics.txt" || fail "HELP missing"
grep -q '^paddock_pressure_stall_seconds_total{service="alpha",resource="memory",kind="some"} ' "$T/metrics.txt" || fail "PSI series missing"
pass "usage, limits, OOM kills and PSI in the exposition"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/metrics.txt" || fail "promtool rejects the exposition"
	pass "promtool check metrics accepts it"
fi
[ "$(fetch "http://127.0.0.1:$port/nope" 2>/dev/null)" = "" ] || fail "unknown path answered"

if command -v prometheus >/dev/null && [ -z "${PADDOCK_IN_VM:-}" ]; then
	pport=$((port + 1))
	cat >"$T/prometheus.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: paddock
    static_configs: [{targets: ["127.0.0.1:$port"]}]
YML
	prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
		--web.listen-address="127.0.0.1:$pport" >"$T/prometheus.log" 2>&1 &
	EXTRA_PIDS="$EXTRA_PIDS $!"
	answered() {
		curl -sf "http://127.0.0.1:$pport/api/v1/query?query=paddock_memory_usage_bytes" |
			jq -r '.data.result[].metric.service' | sort | tr '\n' ' ' | grep -qx 'alpha beta '
	}
	wait_for 60 answered || { tail -20 "$T/prometheus.log"; fail "Prometheus did not answer the query with alpha and beta"; }
	pass "a real Prometheus scraped paddockd and answers for alpha and beta"
fi
