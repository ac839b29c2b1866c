#!/bin/bash
# paddockctl convert compose: compose files in the shapes of public example
# collections become spec sets that pass 'paddockctl check'; every key that
# is not carried is a warning at the compose file's LINE:COLUMN; -o writes
# one NAME.yaml per service and does not overwrite without --force.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
setup
C=$T/compose
mkdir -p "$C" && cp "$TESTS_DIR/integration/compose/"*.yaml "$C/"
# What the files point at, relative to their directory.
mkdir -p "$C/db" "$C/prometheus" "$C/grafana/provisioning"
echo 'not-a-real-password' >"$C/db/password.txt"
echo 'FLASK_ENV=production' >"$C/web.env"
: >"$T/empty.yaml" # the daemon config without networks, whatever /etc holds
cat >"$T/paddock.yaml" <<'YAML'
networks:
  monitoring: {subnet: 10.231.5.0/24}
YAML

# convert NAME: $T/NAME.out (specs) and $T/NAME.warn (stderr); must exit 0.
convert() {
	"$PADDOCKCTL" convert compose "$C/$1.yaml" >"$T/$1.out" 2>"$T/$1.warn" ||
		fail "convert $1 exited $?: $(cat "$T/$1.warn")"
}
# warned NAME LINE:COL TEXT: that warning, at that place, exactly once.
warned() {
	local n
	n=$(grep -c "^$C/$1.yaml:$2: warning: .*$3" "$T/$1.warn")
	[ "$n" = 1 ] || fail "$1: expected one warning at $2 about '$3', got $n: $(cat "$T/$1.warn")"
}
checks() {
	mkdir -p "$T/set-$1" && cp "$T/$1.out" "$T/set-$1/$1.yaml"
	"$PADDOCKCTL" check --config "$T/paddock.yaml" "$T/set-$1" >"$T/check.out" 2>&1 ||
		fail "converted $1 does not check: $(cat "$T/check.out")"
	grep -q "^$2 services: configuration OK" "$T/check.out" || fail "$1: $(cat "$T/check.out")"
}
has() { grep -qF -- "$2" "$T/$1.out" || fail "$1: no '$2' in: $(cat "$T/$1.out")"; }

convert nginx-flask-postgres
warned nginx-flask-postgres 14:5 "'build' is not carried"
warned nginx-flask-postgres 35:9 "named volume 'db-data'"
has nginx-flask-postgres "source: $C/proxy/nginx.conf"
has nginx-flask-postgres "source: $C/db/password.txt"
has nginx-flask-postgres "target: /run/secrets/postgres-password"
has nginx-flask-postgres 'mode: "0440"'
has nginx-flask-postgres '- "app:create_app()"'
# healthcheck as a liveness check that only tells, as compose's does
grep -A9 '^    health:$' "$T/nginx-flask-postgres.out" | tr -d '\n' | grep -qF \
	'      exec:        - pg_isready      interval: 10s      timeout: 5s      retries: 5      on_unhealthy: none' ||
	fail "health: $(cat "$T/nginx-flask-postgres.out")"
has nginx-flask-postgres 'condition: healthy'
! grep -q 'ready:' "$T/nginx-flask-postgres.out" || fail "a ready: probe is still written"
[ "$(grep -c warning "$T/nginx-flask-postgres.warn")" = 3 ] ||
	fail "nginx: $(cat "$T/nginx-flask-postgres.warn")"
checks nginx-flask-postgres 3
pass "nginx+flask+postgres: secrets, binds, healthcheck as health, service_healthy"

convert wordpress-mariadb
warned wordpress-mariadb 8:9 "named volume 'db_data'"
warned wordpress-mariadb 21:9 "named volume 'wp_data'"
warned wordpress-mariadb 9:14 "'unless-stopped' is carried as 'always'"
warned wordpress-mariadb 15:5 "'expose' is not carried"
has wordpress-mariadb 'MYSQL_DATABASE: wordpress'
has wordpress-mariadb 'image: docker.io/library/wordpress:latest'
checks wordpress-mariadb 2
pass "wordpress+mariadb: named volumes and unless-stopped warned"

convert redis-app
warned redis-app 3:12 "'on-failure:3' is carried as 'on-failure'"
warned redis-app 33:5 "'labels' is not carried"
has redis-app '- "redis-cli ping"'
has redis-app 'interval: 5s'
has redis-app 'retries: 10'
grep -A3 '^    depends_on:$' "$T/redis-app.out" | tr -d '\n' | grep -qF \
	'      redis:        condition: healthy        restart: true' ||
	fail "depends_on: $(cat "$T/redis-app.out")"
[ "$(grep -c warning "$T/redis-app.warn")" = 3 ] || fail "redis-app: $(cat "$T/redis-app.warn")"
has redis-app 'timeout: 20s'
has redis-app '- "5000:5000/tcp"'
checks redis-app 2
pass "redis+app: merge keys, healthcheck, depends_on conditions"

convert prometheus-grafana
warned prometheus-grafana 6:5 "'container_name' is not carried"
warned prometheus-grafana 17:9 "network 'monitoring' must be declared.*subnet: 10.231.5.0/24"
warned prometheus-grafana 36:5 "'logging' is not carried"
has prometheus-grafana "source: $C/prometheus"
has prometheus-grafana '- dashboards'
has prometheus-grafana 'max: 1.5'
"$PADDOCKCTL" check --config "$T/empty.yaml" "$T/prometheus-grafana.out" >"$T/check.out" 2>&1 &&
	fail "a set on an undeclared network checked"
checks prometheus-grafana 2
pass "prometheus+grafana: binds, ports, a network the daemon config declares"

convert v2-legacy
warned v2-legacy 6:5 "'build' is not carried"
warned v2-legacy 12:5 "'links' is not carried"
warned v2-legacy 23:5 "'extra_hosts' is not carried"
warned v2-legacy 28:5 "'privileged' is not carried"
warned v2-legacy 29:5 "'sysctls' is not carried"
[ "$(grep -c warning "$T/v2-legacy.warn")" = 5 ] || fail "v2: $(cat "$T/v2-legacy.warn")"
has v2-legacy 'max: 256m'
has v2-legacy 'low: 64m'
has v2-legacy "- $C/web.env"
checks v2-legacy 2
pass "v2 file: mem_limit, cpus, pids_limit, ulimits carried; links, build warned"

convert queue-workers
warned queue-workers 18:7 "start_interval is not carried"
warned queue-workers 22:5 "'ports' is not carried: the 3 instances cannot all publish"
warned queue-workers 34:9 "'required: false' is not carried"
[ "$(grep -c warning "$T/queue-workers.warn")" = 6 ] || fail "queue: $(cat "$T/queue-workers.warn")"
grep -A1 '^  worker:$' "$T/queue-workers.out" | grep -qx '    instances: 3' ||
	fail "worker: $(cat "$T/queue-workers.out")"
[ "$(grep -c 'instances:' "$T/queue-workers.out")" = 1 ] || fail "scale: 1 wrote instances"
[ "$(grep -c '^    ports:' "$T/queue-workers.out")" = 1 ] || fail "ports: $(cat "$T/queue-workers.out")"
has queue-workers 'interval: 1m30s'
has queue-workers 'condition: completed_successfully'
has queue-workers 'condition: started'
checks queue-workers 7 # worker@1..3
pass "queue+workers: replicas as instances, health durations, depends_on conditions"

# -o: one file per service, never overwritten without --force.
mkdir -p "$T/out"
"$PADDOCKCTL" convert compose "$C/redis-app.yaml" -o "$T/out" >/dev/null 2>&1 || fail "convert -o"
[ -f "$T/out/redis.yaml" ] && [ -f "$T/out/app.yaml" ] || fail "-o wrote: $(ls "$T/out")"
grep -q '^  redis:$' "$T/out/redis.yaml" && ! grep -q '^  app:$' "$T/out/redis.yaml" ||
	fail "redis.yaml: $(cat "$T/out/redis.yaml")"
"$PADDOCKCTL" check --config "$T/empty.yaml" "$T/out" | grep -q '^2 services' || fail "-o set does not check"
echo '# mine' >"$T/out/app.yaml"
rm "$T/out/redis.yaml"
"$PADDOCKCTL" convert compose "$C/redis-app.yaml" -o "$T/out" >/dev/null 2>"$T/err" &&
	fail "convert -o overwrote app.yaml"
grep -q 'app.yaml: File exists' "$T/err" && [ "$(cat "$T/out/app.yaml")" = '# mine' ] ||
	fail "refusal: $(cat "$T/err")"
[ ! -e "$T/out/redis.yaml" ] || fail "a refused -o still wrote redis.yaml"
"$PADDOCKCTL" convert compose "$C/redis-app.yaml" -o "$T/out" --force >/dev/null 2>&1 ||
	fail "--force"
grep -q '^  app:$' "$T/out/app.yaml" || fail "--force did not rewrite app.yaml"
pass "-o DIR: NAME.yaml per service, kept unless --force"

# Errors: exit 1 with FILE:LINE:COLUMN, nothing on stdout.
printf 'services:\n  ok: {image: busybox}\n  "bad name!": {image: busybox}\n' >"$C/bad.yaml"
"$PADDOCKCTL" convert compose "$C/bad.yaml" >"$T/bad.out" 2>"$T/err"; rc=$?
[ $rc = 1 ] && [ ! -s "$T/bad.out" ] || fail "bad name: exit $rc, out $(cat "$T/bad.out")"
grep -q "^$C/bad.yaml:3:3: service name 'bad name!'" "$T/err" || fail "bad name: $(cat "$T/err")"
"$PADDOCKCTL" convert compose "$C/missing.yaml" >/dev/null 2>&1 && fail "missing file converted"
pass "a service paddock cannot name is an error at FILE:LINE:COLUMN"
