#!/bin/bash
# isolation.seccomp: FILE, a profile in the OCI JSON format runc and docker
# use. A profile denying mkdir makes busybox mkdir fail with EPERM inside
# while the default filter lets it work. A broken profile is refused by
# `paddockd -n`, by a reload (nothing changes) and, if it breaks after
# loading, by the start itself; each names the file and the JSON path, and
# the other services keep running with the same pids.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
need_cmd jq
make_rootfs "$T/root"
P=$T/profiles
mkdir -p "$P"
cat >"$P/nomkdir.json" <<'JSON'
{
	"defaultAction": "SCMP_ACT_ALLOW",
	"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
	"syscalls": [
		{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
		 "comment": "EPERM"},
		{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
		 "includes": {"caps": ["CAP_SYS_ADMIN"]}}
	]
}
JSON
cat >"$P/broken.json" <<'JSON'
{
	"defaultAction": "SCMP_ACT_ALLOW",
	"syscalls": [
		{"names": ["read"], "action": "SCMP_ACT_ERRNO"},
		{"names": ["mkdir", "mkdri"], "action": "SCMP_ACT_ERRNO"}
	]
}
JSON
# Spec text: $$ is one literal $ for the shell.
probe='mkdir /tmp/d 2>/tmp/err && echo mkdir=ok || echo "mkdir=refused: $$(cat /tmp/err)"; echo probe-done; exec sleep 1000'
svc() { # NAME SECCOMP
	cat >"$T/services/$1.yaml" <<YAML
services:
  $1:
    rootfs: $T/root
    isolation:
      seccomp: $2
      mounts: [{type: tmpfs, target: /tmp}]
    restart: {policy: never}
    command: ["/bin/sh", "-c", $(printf '%s' "$probe" | jq -Rs .)]
YAML
}
svc deny "$P/nomkdir.json"
svc def default

# paddockd -n: the good profile passes, a broken one names file:line:column and the JSON path.
"$PADDOCKD" -n -S "$T/services" >"$T/out" 2>&1 || fail "paddockd -n refused a good profile: $(cat "$T/out")"
svc bad "$P/broken.json"
"$PADDOCKD" -n -S "$T/services" >"$T/out" 2>&1 && fail "paddockd -n accepted a broken profile"
want="$T/services/bad.yaml:5:16: service bad: seccomp profile $P/broken.json: syscalls[1].names[1]: unknown system call 'mkdri'"
grep -qF "$want" "$T/out" || fail "paddockd -n output: $(cat "$T/out")"
pass "paddockd -n: $(grep -F 'mkdri' "$T/out")"
rm "$T/services/bad.yaml"

start_daemon
logf() { echo "$T/state/logs/$1.log"; }
done_probe() { grep -q 'stdout probe-done' "$(logf "$1")"; }
for s in deny def; do
	wait_for 10 done_probe "$s" || fail "$s: no probe output (state $(svc_state "$s"))"
done
grep -q 'stdout mkdir=refused: .*Operation not permitted' "$(logf deny)" || fail "deny: $(grep mkdir= "$(logf deny)")"
grep -q 'stdout mkdir=ok' "$(logf def)" || fail "def: $(grep mkdir= "$(logf def)")"
pid=$(main_pid deny)
# main_pid is paddock's init; the service is its child.
[ "$(cat /proc/$pid/comm)" = paddock-init ] && pid=$(awk '{print $1}' /proc/$pid/task/$pid/children)
[ "$(awk '/^Seccomp:/ {print $2}' "/proc/$pid/status")" = 2 ] || fail "deny: no seccomp filter"
pass "profile denies mkdir ($(grep -o 'mkdir=refused.*' "$(logf deny)")); default filter allows it"

# Reload with a broken profile: refused, nothing changes.
pids_before="$(main_pid deny) $(main_pid def)"
svc bad "$P/broken.json"
ctl reload >"$T/out" 2>&1 && fail "reload accepted a broken profile"
grep -qF "syscalls[1].names[1]: unknown system call 'mkdri'" "$T/out" || fail "reload output: $(cat "$T/out")"
[ -z "$(svc_state bad)" ] || fail "bad was added: $(svc_state bad)"
[ "$(main_pid deny) $(main_pid def)" = "$pids_before" ] || fail "pids changed: $pids_before -> $(main_pid deny) $(main_pid def)"
pass "reload refused: $(grep -F mkdri "$T/out" | head -n 1)"
rm "$T/services/bad.yaml"

# The profile breaks after loading: the restart is refused with the reason; def runs on.
cp "$P/broken.json" "$P/nomkdir.json"
ctl restart deny >/dev/null 2>&1 || true
wait_for 10 state_is deny failed || fail "deny: $(svc_state deny)"
reason=$(svc_field deny last_exit.reason)
case $reason in
*"seccomp profile $P/nomkdir.json: syscalls[1].names[1]: unknown system call 'mkdri'"*) ;;
*) fail "deny reason: '$reason'" ;;
esac
state_is def running || fail "def: $(svc_state def)"
[ "$(main_pid def)" = "${pids_before#* }" ] || fail "def restarted"
pass "start refused: $reason"
