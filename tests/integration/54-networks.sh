#!/bin/bash
# Bridge networks (issue 16), with paddockd inside a network namespace this
# test creates, so the machine's own links and rules are never touched:
# a compose-like pair (busybox httpd "api", a client fetching http://api/
# by name and by alias), a published port reached from this namespace's
# address and from its loopback, an internal network with no way out, a
# restart that changes the address while the name follows, kill -9 of
# paddockd leaving every packet path alone, the nftables ruleset holding
# paddock's table only, a port already bound elsewhere failing the start
# with nothing left behind, and shutdown removing table, bridges and veths.
# vm: yes
if [ -z "${PADDOCK_IN_NETNS:-}" ]; then
	command -v unshare >/dev/null || { echo "needs unshare" >&2; exit 77; }
	exec unshare -n env PADDOCK_IN_NETNS=1 bash "$0" "$@"
fi
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; need_cmd ip; need_cmd nft
setup
make_rootfs "$T/root"
mkdir -p "$T/root/www" "$T/out"
echo "hello from api" >"$T/root/www/index.html"

# This namespace: lo, and a veth pair to a second namespace standing for
# another host ("outside"), which has no route to any network of paddock's:
# only masquerade lets a service's packets come back from it.
ip link set lo up
unshare -n sleep 100000 &
OUTSIDE=$!
EXTRA_PIDS="$EXTRA_PIDS $OUTSIDE"
other_netns() { [ "$(readlink /proc/$1/ns/net)" != "$(readlink /proc/self/ns/net)" ]; }
wait_for 5 other_netns $OUTSIDE # unshare has made its namespace
ip link add pdt-host type veth peer name pdt-out netns /proc/$OUTSIDE/ns/net
ip addr add 10.231.99.1/24 dev pdt-host
ip link set pdt-host up
nsenter -t $OUTSIDE -n sh -c 'ip link set lo up; ip addr add 10.231.99.2/24 dev pdt-out; ip link set pdt-out up'
HOST=10.231.99.1 OUT=10.231.99.2
mkdir -p "$T/outside" && echo "outside" >"$T/outside/index.html"
nsenter -t $OUTSIDE -n busybox httpd -f -p $OUT:8081 -h "$T/outside" &
EXTRA_PIDS="$EXTRA_PIDS $!"
link_up() { ip -o link show pdt-host | grep -q 'state UP'; }
wait_for 5 link_up || fail "pdt-host is not up"
wait_for 10 busybox wget -q -O /dev/null http://$OUT:8081/ || fail "the outside server did not start"

cat >"$T/paddockd.yaml" <<YAML
metrics: {listen: "127.0.0.1:9464"}
networks:
  backend:
    subnet: 10.231.1.0/24
  sealed:
    subnet: 10.231.2.0/24
    internal: true
YAML
common="rootfs: $T/root"
cat >"$T/services/app.yaml" <<YAML
services:
  api:
    $common
    command: ["/bin/httpd", "-f", "-p", "80", "-h", "/www"]
    isolation:
      network:
        - {network: backend, aliases: [apiserver]}
    ports: ["8080:80", "127.0.0.1:9000-9001:80-81"]
  client:
    $common
    command: ["/bin/sh", "-c", "until wget -q -O - http://api/; do sleep 0.1; done; wget -q -O - http://apiserver/ && echo BY-ALIAS; wget -q -O - http://$OUT:8081/ && echo EGRESS; exec sleep 1000"]
    isolation: {network: backend}
  vault:
    $common
    command: ["/bin/sh", "-c", "timeout 3 wget -q -O - http://$OUT:8081/ && echo ESCAPED || echo BLOCKED; exec sleep 1000"]
    isolation: {network: sealed}
YAML
start_daemon -c "$T/paddockd.yaml"
for s in api client vault; do wait_for 10 state_is $s running || fail "$s not running: $(tail -5 "$T/daemon.log")"; done

logs_have() { ctl logs "$1" -n 100 2>/dev/null | grep -q "$2"; }
wait_for 10 logs_have client "hello from api" || fail "client did not fetch http://api/: $(ctl logs client -n 20)"
wait_for 5 logs_have client BY-ALIAS || fail "client did not fetch by alias: $(ctl logs client -n 20)"
pass "client fetched http://api/ by service name and by alias"
wait_for 10 logs_have client EGRESS || fail "client on backend did not reach $OUT: $(ctl logs client -n 20)"
wait_for 10 logs_have vault BLOCKED || fail "vault: $(ctl logs vault -n 20)"
logs_have vault ESCAPED && fail "vault on an internal network reached $OUT"
pass "backend has egress (masquerade), the internal network has none"

api_addr() { ctl status api --json | jq -r '.[0].network.networks[0].address // empty'; }
a1=$(api_addr)
case $a1 in 10.231.1.*) ;; *) fail "api address '$a1' not in backend's subnet" ;; esac
[ "$(ctl status api --json | jq -r '.[0].network.ports | join(" ")')" = "8080:80/tcp 127.0.0.1:9000-9001:80-81/tcp" ] ||
	fail "status ports: $(ctl status api --json | jq -c '.[0].network.ports')"
ctl status api | grep -q "Network: eth0 $a1 on backend (aliases apiserver)" || fail "status text: $(ctl status api)"
pass "status shows api's address $a1, alias and published ports"

[ "$(busybox wget -q -O - http://$HOST:8080/)" = "hello from api" ] || fail "published 8080 not reached via $HOST"
[ "$(busybox wget -q -O - http://127.0.0.1:8080/)" = "hello from api" ] || fail "published 8080 not reached via loopback"
[ "$(busybox wget -q -O - http://127.0.0.1:9000/)" = "hello from api" ] || fail "range 9000->80 not reached via loopback"
timeout 3 busybox wget -q -O - http://$HOST:9000/ >/dev/null 2>&1 && fail "9000 is published on 127.0.0.1 only, yet $HOST:9000 answered"
pass "published ports reached from this namespace's address and its loopback; a port bound to 127.0.0.1 only is not on $HOST"

# Hairpin: services reach published ports through the host's address,
# their own included (the bridge port must send a frame back out).
apid=$(main_pid api)
[ "$(nsenter -t "$(main_pid client)" -n -m /bin/wget -q -O - http://$HOST:8080/)" = "hello from api" ] ||
	fail "client cannot reach api's published port via $HOST"
[ "$(nsenter -t "$apid" -n -m /bin/wget -q -O - http://$HOST:8080/)" = "hello from api" ] ||
	fail "api cannot reach its own published port via $HOST"
hif=$(ctl status api --json | jq -r '.[0].network.networks[0].host_interface')
ip -d link show "$hif" | grep -q 'hairpin on' || fail "hairpin mode off on $hif: $(ip -d link show "$hif")"
pass "hairpin: a service reaches its own and another's published port through the host address"

m=$(busybox wget -q -O - http://127.0.0.1:9464/metrics)
echo "$m" | grep -q '^paddock_service_network_receive_bytes_total{service="client",network="backend"} [1-9]' ||
	fail "no receive bytes for client in /metrics: $(echo "$m" | grep network_)"
echo "$m" | grep -q '^paddock_service_network_transmit_bytes_total{service="api",network="backend"} [1-9]' ||
	fail "no transmit bytes for api in /metrics"
pass "metrics count each service's bytes on its link"

tables=$(nft list tables)
[ "$tables" = "table ip paddock" ] || fail "nft tables: $tables"
pass "the ruleset holds paddock's table only"

# Restart: a new address, and the client's resolver follows within 1 s.
cpid=$(main_pid client)
ctl restart api >/dev/null || fail "restart api"
wait_for 10 state_is api running || fail "api not running again"
a2=$(api_addr)
[ -n "$a2" ] && [ "$a2" != "$a1" ] || fail "api kept its address $a1 across a restart ($a2)"
resolves_to() { nsenter -t "$cpid" -n -m /bin/nslookup api 2>/dev/null | grep -q "$1"; }
t0=$(now_ms)
wait_for 1 resolves_to "$a2" || fail "client still resolves api to $(nsenter -t "$cpid" -n -m /bin/nslookup api 2>&1 | tail -2)"
[ "$(nsenter -t "$cpid" -n -m /bin/wget -q -O - http://api/)" = "hello from api" ] || fail "client cannot fetch the restarted api"
pass "api restarted at $a2 (was $a1); the client resolved the new address in $(($(now_ms) - t0)) ms"

# Back to back: each run's pair takes the name of the last run's pair, whose
# namespace the kernel may be tearing down at that very moment.
new_run() { state_is api running && [ "$(main_pid api)" != "$1" ]; }
for i in 1 2 3 4 5 6; do
	p=$(main_pid api)
	ctl restart api >/dev/null || fail "restart $i of api"
	wait_for 10 new_run "$p" || fail "back-to-back restart $i: $(ctl status api | tail -3)"
done
a2=$(api_addr)
wait_for 1 resolves_to "$a2" || fail "client does not resolve api to $a2 after back-to-back restarts"
[ "$(nsenter -t "$cpid" -n -m /bin/wget -q -O - http://api/)" = "hello from api" ] || fail "client cannot fetch api after back-to-back restarts"
pass "6 back-to-back restarts of api: each run plugged in, reached by name at $a2"
old_veths=$(ip -o link show type veth | wc -l)

# kill -9: no packet path changes, the next daemon takes the leases over.
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
[ "$(busybox wget -q -O - http://$HOST:8080/)" = "hello from api" ] || fail "published port gone with the daemon"
[ "$(nsenter -t "$cpid" -n -m /bin/wget -q -O - http://$a2/)" = "hello from api" ] || fail "service to service gone with the daemon"
[ "$(nft list tables)" = "table ip paddock" ] || fail "table gone with the daemon"
pass "kill -9 of paddockd: published port, service-to-service path and rules unchanged"
start_daemon -c "$T/paddockd.yaml"
wait_for 10 state_is api running || fail "api not adopted"
[ "$(main_pid client)" = "$cpid" ] || fail "client restarted instead of adopted"
[ "$(api_addr)" = "$a2" ] || fail "api's address after adoption: $(api_addr), was $a2"
wait_for 5 resolves_to "$a2" || fail "names not served after adoption"
[ "$(ip -o link show type veth | wc -l)" = "$old_veths" ] || fail "veths changed across the daemon restart"
[ "$(busybox wget -q -O - http://127.0.0.1:8080/)" = "hello from api" ] || fail "published port after adoption"
pass "adopted: same address, names served again, same veths, port still published"

# A port another process holds: a start failure naming it, nothing left behind.
# busybox httpd is the holder (in the VM too): it listens on 0.0.0.0:8090,
# which this namespace's /proc/net/tcp shows as 00000000:1F9A in state 0A.
busybox httpd -f -p 0.0.0.0:8090 -h "$T/outside" &
EXTRA_PIDS="$EXTRA_PIDS $!"
wait_for 5 grep -q ' 00000000:1F9A 00000000:0000 0A ' /proc/net/tcp || fail "holder did not bind 0.0.0.0:8090"
nveth=$(ip -o link show type veth | wc -l)
cat >"$T/services/taken.yaml" <<YAML
services:
  taken:
    $common
    command: ["/bin/sleep", "1000"]
    isolation: {network: backend}
    ports: ["8090:80"]
YAML
ctl reload >/dev/null || fail "reload"
wait_for 10 state_is taken failed || fail "taken: $(svc_state taken)"
reason=$(ctl status taken --json | jq -r '.[0].last_exit.reason')
echo "$reason" | grep -q "8090/tcp: already bound by another process" || fail "reason: $reason"
[ "$(ip -o link show type veth | wc -l)" = "$nveth" ] || fail "a veth was left by the failed start"
[ -z "$(ls "$T/run/net/taken" 2>/dev/null)" ] || fail "files left for the failed start"
pass "a host port bound by another process: '$reason'; no veth or file left"
rm "$T/services/taken.yaml"; ctl reload >/dev/null

# Bad input: each reload is refused with FILE:LINE:COLUMN, nothing running changes.
pids_before="$(main_pid api) $(main_pid client) $(main_pid vault)"
refused() { # refused NAME YAML MESSAGE
	printf '%s\n' "$2" >"$T/services/bad.yaml"
	out=$(ctl reload 2>&1) && fail "$1: reload accepted"
	echo "$out" | grep -q "$T/services/bad.yaml:[0-9]*:[0-9]*: .*$3" || fail "$1: $out"
	rm "$T/services/bad.yaml"
}
b="services:
  bad:
    rootfs: $T/root
    command: [/bin/true]"
refused "unknown network" "$b
    isolation: {network: nowhere}" "unknown network 'nowhere'"
refused "address outside its subnet" "$b
    isolation: {network: [{network: backend, ip: 10.231.2.7}]}" "10.231.2.7"
refused "port published twice" "$b
    isolation: {network: backend}
    ports: [\"8080:8080\"]" "8080"
refused "ranges of different lengths" "$b
    isolation: {network: backend}
    ports: [\"7000-7005:80-84\"]" "different lengths"
[ "$(main_pid api) $(main_pid client) $(main_pid vault)" = "$pids_before" ] || fail "a refused reload changed running services"
printf 'networks:\n  a: {subnet: 10.240.0.0/16}\n  b: {subnet: 10.240.3.0/24}\n' >"$T/overlap.yaml"
out=$("$PADDOCKD" -n -c "$T/overlap.yaml" -S "$T/services" 2>&1) && fail "overlapping subnets accepted"
echo "$out" | grep -q "$T/overlap.yaml:[0-9]*:[0-9]*: .*overlap" || fail "overlap: $out"
# A fixed address a running service holds: a start failure naming it.
taken=$(api_addr)
printf '%s\n    isolation: {network: [{network: backend, ip: %s}]}\n    restart: {policy: never}\n' "$b" "$taken" >"$T/services/bad.yaml"
sed -i 's|command: \[/bin/true\]|command: [/bin/sleep, "100"]|' "$T/services/bad.yaml"
ctl reload >/dev/null || fail "reload with a fixed address refused"
wait_for 10 state_is bad failed || fail "bad: $(svc_state bad)"
ctl status bad --json | jq -r '.[0].last_exit.reason' | grep -q "address $taken is in use" ||
	fail "reason: $(ctl status bad --json | jq -r '.[0].last_exit.reason')"
rm "$T/services/bad.yaml"; ctl reload >/dev/null
pass "bad input refused at reload with FILE:LINE:COLUMN (unknown network, address outside subnet, port twice, unequal ranges), overlapping subnets at paddockd -n, a taken address at start; nothing running changed"

# Stop: no veth of api's left.
ctl stop api >/dev/null || fail "stop api"
wait_for 5 state_is api stopped || fail "api did not stop"
hif=$(ctl status client --json | jq -r '.[0].network.networks[0].host_interface')
wait_for 5 bash -c "[ \$(ip -o link show type veth | wc -l) = $((old_veths - 1)) ]" || fail "api's veth left: $(ip -o link show type veth)"
ip link show "$hif" >/dev/null 2>&1 || fail "client's veth $hif is gone too"
pass "a stopped service leaves no veth"

# Shutdown: table, bridges and veths are gone.
stop_daemon || fail "daemon exit status"
[ -z "$(nft list tables)" ] || fail "tables after shutdown: $(nft list tables)"
[ -z "$(ip -o link show type bridge)" ] || fail "bridges after shutdown: $(ip -o link show type bridge)"
[ -z "$(ip -o link show type veth | grep -v pdt-host)" ] || fail "veths after shutdown: $(ip -o link show type veth)"
pass "shutdown removed paddock's table, bridges and veths"
