#!/bin/bash
# Instances, enabled and profiles (issue 18): 'instances: 3' runs web@1..3,
# each in its own cgroup with ${instance} in its environment; 'web' names
# them all in control requests; a reload to 5 starts only @4 and @5, to 2
# stops only @3..@5, the others keep their pids. 'enabled: false' and an
# inactive profile keep a service from starting with the daemon (list says
# why) but not from 'paddockctl start', and what the operator started
# survives kill -9 of paddockd (adopted, same pid). 'paddockctl cat' shows
# the interpolated spec and never a secret's value. On a bridge network an
# instance is web-2 in DNS and web answers with every instance's address
# (paddockd runs in a network namespace of the test's own, as in 54).
# vm: yes
if [ -z "${PADDOCK_IN_NETNS:-}" ]; then
	command -v unshare >/dev/null || { echo "needs unshare" >&2; exit 77; }
	exec unshare -n env PADDOCK_IN_NETNS=1 bash "$0" "$@"
fi
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; need_cmd ip; need_cmd nft
setup
ip link set lo up
make_rootfs "$T/root"
mkdir -m 0700 "$T/secrets"
printf 'S3cr3t-never-shown' >"$T/secrets/db_password"
chmod 0600 "$T/secrets/db_password" # a secret readable by others is refused
printf 'secrets_dir: %s\nprofiles: [extra]\nnetworks:\n  backend: {subnet: 10.232.1.0/24}\n' \
	"$T/secrets" >"$T/paddock.yaml"

web() { # web N: the template with N instances
	cat >"$T/services/web.yaml" <<-EOT
	services:
	  web:
	    instances: $1
	    rootfs: $T/root
	    command: ["/bin/sh", "-c", "exec sleep 1000"]
	    environment: {WEB_ID: "w-\${instance}", PORT: "80"}
	    secrets: [db_password]
	    isolation: {network: backend}
	EOT
}
plain() { # plain NAME EXTRA-LINE
	printf 'services:\n  %s:\n    rootfs: %s\n    command: ["/bin/sh", "-c", "exec sleep 1000"]\n    %s\n' \
		"$1" "$T/root" "$2" >"$T/services/$1.yaml"
}
web 3
plain tool "enabled: false"
plain dbg "profiles: [debug]"
plain ext "profiles: [extra, other]"
start_daemon -c "$T/paddock.yaml"

# --- instances: three services, each its own cgroup, ${instance} interpolated
for i in 1 2 3; do wait_for 10 state_is "web@$i" running || fail "web@$i not running: $(ctl list)"; done
declare -A pid ip_of
# PID's environment has VAR=VALUE, or, under paddock-init (a network
# namespace brings a pid namespace), its child's has
environ_has() {
	local p
	# its children from /proc: the VM has no pgrep
	for p in "$1" $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
		tr '\0' '\n' <"/proc/$p/environ" | grep -qx "$2" && return 0
	done
	return 1
}
for i in 1 2 3; do
	pid[$i]=$(main_pid "web@$i")
	cg=$(service_cgdir "web@$i")
	grep -qx "${pid[$i]}" "$cg/cgroup.procs" || fail "web@$i pid ${pid[$i]} not in $cg"
	wait_for 10 environ_has "${pid[$i]}" "WEB_ID=w-$i" ||
		fail "web@$i environment lacks WEB_ID=w-$i"
done
[ "$(printf '%s\n' "${pid[@]}" | sort -u | wc -l)" = 3 ] || fail "instances share a pid: ${pid[*]}"
pass "instances: 3 runs web@1..3 in cgroups of their own, WEB_ID=w-N in each environment"

# --- names: web-2 is one instance, web every one of them
addr() { ctl status "$1" --json | jq -r '.[0].network.networks[0].address // empty'; }
lookup() { nsenter -t "${pid[1]}" -n -m /bin/nslookup "$1" 2>/dev/null | sed -n '/^Name:/,$p'; }
has_all() { local out x; out=$(lookup "$1"); shift; for x; do grep -q "Address.*\b$x\b" <<<"$out" || return 1; done; }
naddrs() { lookup "$1" | grep -c Address; }
for i in 1 2 3; do ip_of[$i]=$(addr "web@$i"); case ${ip_of[$i]} in 10.232.1.*) ;; *) fail "web@$i address '${ip_of[$i]}'" ;; esac; done
wait_for 5 has_all web-2 "${ip_of[2]}" || fail "web-2 does not resolve to ${ip_of[2]}: $(lookup web-2)"
[ "$(naddrs web-2)" = 1 ] || fail "web-2 has more than its address: $(lookup web-2)"
wait_for 5 has_all web "${ip_of[1]}" "${ip_of[2]}" "${ip_of[3]}" || fail "web does not resolve to every instance: $(lookup web)"
pass "web-2 resolves to ${ip_of[2]}; web to all three: ${ip_of[*]}"

# --- enabled and profiles at daemon start
wait_for 10 state_is ext running || fail "ext (profile extra, active in the config) not running"
state_is tool stopped && [ "$(main_pid tool)" = 0 ] || fail "disabled tool: $(svc_state tool)"
state_is dbg stopped && [ "$(main_pid dbg)" = 0 ] || fail "dbg without its profile: $(svc_state dbg)"
ctl list | grep -q '^tool .*disabled$' || fail "list does not say tool is disabled: $(ctl list)"
ctl list | grep -q '^dbg .*profile debug inactive$' || fail "list does not say why dbg is stopped: $(ctl list)"
[ -d "$(service_cgdir tool)" ] && fail "disabled tool has a cgroup"
pass "enabled: false and an inactive profile do not start; list says why: $(ctl list | grep '^dbg')"

# --- cat: the effective spec, interpolated, secrets by name only
ctl cat web@2 >"$T/cat" || fail "cat web@2: $(cat "$T/cat")"
grep -q '^web@2:' "$T/cat" || fail "cat web@2 lacks its name: $(cat "$T/cat")"
grep -q 'w-2' "$T/cat" || fail "cat web@2 lacks the interpolated WEB_ID: $(cat "$T/cat")"
grep -q 'instance' "$T/cat" && grep -q '\${instance}' "$T/cat" && fail "cat web@2 shows \${instance}: $(cat "$T/cat")"
grep -q 'db_password' "$T/cat" || fail "cat web@2 does not name its secret: $(cat "$T/cat")"
grep -q 'S3cr3t' "$T/cat" && fail "cat shows a secret's value"
[ "$(ctl cat web | grep -c '^web@[0-9]:')" = 3 ] || fail "cat web: $(ctl cat web)"
ctl cat nosuch >/dev/null 2>"$T/err"; rc=$?
[ $rc = 3 ] && grep -q "nosuch" "$T/err" || fail "cat nosuch: exit $rc, $(cat "$T/err")"
pass "cat web@2 shows WEB_ID w-2 and the secret's name only; cat web shows all three"

# --- a template's name in requests: every instance
ctl logs web >/dev/null 2>"$T/err" && fail "logs web (3 instances) succeeded"
grep -q "instances of web" "$T/err" || fail "logs web error: $(cat "$T/err")"
[ "$(ctl status web --json | jq -r '[.[].name] | join(" ")')" = "web@1 web@2 web@3" ] ||
	fail "status web: $(ctl status web --json | jq -c '[.[].name]')"
ctl stop web >/dev/null || fail "stop web"
for i in 1 2 3; do state_is "web@$i" stopped || fail "web@$i not stopped: $(svc_state "web@$i")"; done
state_is ext running || fail "stop web stopped ext"
ctl start web@2 >/dev/null || fail "start web@2"
wait_for 10 state_is web@2 running || fail "web@2 not started"
state_is web@1 stopped || fail "start web@2 started web@1"
ctl start web >/dev/null || fail "start web"
for i in 1 2 3; do wait_for 10 state_is "web@$i" running || fail "web@$i not started again"; done
for i in 1 2 3; do pid[$i]=$(main_pid "web@$i"); done
ctl run --name web --rootfs "$T/root" -- /bin/true >/dev/null 2>"$T/err" && fail "run --name web took a template's name"
grep -q "template of that name" "$T/err" || fail "run --name web: $(cat "$T/err")"
pass "stop web stops all three instances, start web@2 one, start web all; run --name web is refused"

# --- reload: 3 -> 5 starts @4 and @5 only; 5 -> 2 stops @3..@5 only
web 5
ctl reload >"$T/out" 2>&1 || fail "reload to 5: $(cat "$T/out")"
for i in 4 5; do wait_for 10 state_is "web@$i" running || fail "web@$i not started by the reload"; done
for i in 1 2 3; do [ "$(main_pid "web@$i")" = "${pid[$i]}" ] || fail "web@$i restarted by the reload to 5"; done
wait_for 10 environ_has "$(main_pid web@5)" "WEB_ID=w-5" || fail "web@5 environment"
pass "instances 3 -> 5 starts web@4 and web@5, web@1..3 keep their pids"
web 2
ctl reload >"$T/out" 2>&1 || fail "reload to 2: $(cat "$T/out")"
gone() { ! ctl list --json | jq -e --arg n "$1" '.[] | select(.name == $n)' >/dev/null; }
for i in 3 4 5; do wait_for 10 gone "web@$i" || fail "web@$i not removed by the reload to 2"; done
for i in 3 4 5; do [ -d "$(service_cgdir "web@$i")" ] && fail "web@$i cgroup left behind"; done
for i in 1 2; do [ "$(main_pid "web@$i")" = "${pid[$i]}" ] || fail "web@$i restarted by the reload to 2"; done
wait_for 5 bash -c "[ \"\$(nsenter -t ${pid[1]} -n -m /bin/nslookup web 2>/dev/null | sed -n '/^Name:/,\$p' | grep -c Address)\" = 2 ]" ||
	fail "web still resolves to removed instances: $(lookup web)"
has_all web "$(addr web@1)" "$(addr web@2)" || fail "web lost a remaining instance: $(lookup web)"
pass "instances 5 -> 2 stops web@3..5 only, web@1 and web@2 keep their pids and are all web resolves to"

# --- the operator's start and stop survive kill -9 of paddockd
ctl start tool dbg >/dev/null || fail "start tool dbg"
wait_for 10 state_is tool running || fail "disabled tool not started by the operator"
wait_for 10 state_is dbg running || fail "dbg not started by the operator"
ctl stop ext >/dev/null || fail "stop ext"
tp=$(main_pid tool); dp=$(main_pid dbg); wp=$(main_pid web@1)
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
start_daemon -c "$T/paddock.yaml"
wait_for 10 state_is tool running || fail "tool not adopted after kill -9: $(svc_state tool)"
[ "$(main_pid tool)" = "$tp" ] || fail "tool has a new pid after kill -9"
[ "$(main_pid dbg)" = "$dp" ] && [ "$(main_pid web@1)" = "$wp" ] || fail "dbg or web@1 not adopted"
state_is ext stopped || fail "ext started again after the operator stopped it: $(svc_state ext)"
pass "an operator-started disabled service and a stop survive kill -9 (tool pid $tp adopted)"

# --- profiles from the command line
ctl stop tool dbg >/dev/null || fail "stop tool dbg"
stop_daemon || fail "daemon exit status"
start_daemon -c "$T/paddock.yaml" --profile debug
wait_for 10 state_is dbg running || fail "dbg not started with --profile debug: $(svc_state dbg)"
wait_for 10 state_is ext running || fail "ext not started after a clean restart"
state_is tool stopped && ctl list | grep -q '^tool .*disabled$' || fail "tool: $(ctl list | grep '^tool')"
pass "paddockd --profile debug starts dbg; the disabled tool stays stopped"
stop_daemon || fail "daemon exit status"
