#!/bin/bash
# resources.rlimits and resources.oom_score_adj: read back from
# /proc/PID/limits and /proc/PID/oom_score_adj of each service's main
# process. Unset values are inherited from paddockd, and a limit the kernel
# refuses fails the start with the limit named. With CAP_SYS_RESOURCE (the
# VM; not this CI host's sandbox), a non-root service gets a hard limit
# above paddockd's and a negative oom_score_adj (both set while the child
# is still root); without it, that start fails with the step named.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
need_cmd jq
make_rootfs "$T/root"
mkdir -p "$T/root/home/svc"
nr_open=$(cat /proc/sys/fs/nr_open)
high=$((nr_open < 1048576 ? nr_open : 1048576))
# CAP_SYS_RESOURCE (bit 24) in our effective set?
sys_resource=$(($(printf '%d' 0x$(awk '/^CapEff:/ {print $2}' /proc/self/status)) >> 24 & 1))

cat >"$T/services/lim.yaml" <<YAML
services:
  lim:
    rootfs: $T/root
    command: [/bin/sleep, "1000"]
    resources:
      rlimits:
        nofile: 512:2048
        nproc: 300
        core: {soft: 0, hard: unlimited}
        memlock: 64K:128K
        stack: 4M:unlimited
        cpu: 3600
      oom_score_adj: 500
  nonroot:
    rootfs: $T/root
    user: svc
    command: [/bin/sleep, "1000"]
    resources:
      rlimits: {nofile: 1000:1500}
      oom_score_adj: 900
  raise:
    rootfs: $T/root
    user: svc
    command: [/bin/sleep, "1000"]
    restart: {policy: never}
    resources:
      rlimits: {nofile: $high}
      oom_score_adj: -500
  inherit:
    rootfs: $T/root
    command: [/bin/sleep, "1000"]
  hostfs:
    command: [/bin/sleep, "1000"]
    resources: {oom_score_adj: 333, rlimits: {nproc: 77}}
  toohigh:
    rootfs: $T/root
    command: [/bin/sleep, "1000"]
    restart: {policy: never}
    resources: {rlimits: {nofile: $((nr_open + 1))}}
YAML
start_daemon

for s in lim nonroot inherit hostfs; do
	wait_for 10 state_is "$s" running || fail "$s: $(svc_state "$s")"
done
# svc_pid NAME: the service's process (main_pid is paddock's init when there is one)
svc_pid() {
	local p
	p=$(main_pid "$1")
	[ "$(cat /proc/$p/comm)" = paddock-init ] && p=$(cat /proc/$p/task/$p/children | awk '{print $1}')
	[ "$(cat /proc/$p/comm)" = sleep ] || fail "$1: pid $p is $(cat /proc/$p/comm), not the service"
	echo "$p"
}
# limit PID NAME: "soft hard" of the /proc/PID/limits line for NAME
limit() { grep "^$2 " "/proc/$1/limits" | awk '{print $(NF-2), $(NF-1)}'; }
expect_limit() { # PID LINE-NAME WANT
	local got
	got=$(limit "$1" "$2")
	[ "$got" = "$3" ] || fail "pid $1 ($(cat /proc/$1/comm)): $2 is '$got', want '$3'"
}

p=$(svc_pid lim)
expect_limit "$p" "Max open files" "512 2048"
expect_limit "$p" "Max processes" "300 300"
expect_limit "$p" "Max core file size" "0 unlimited"
expect_limit "$p" "Max locked memory" "65536 131072"
expect_limit "$p" "Max stack size" "4194304 unlimited"
expect_limit "$p" "Max cpu time" "3600 3600"
[ "$(cat /proc/$p/oom_score_adj)" = 500 ] || fail "lim: oom_score_adj $(cat /proc/$p/oom_score_adj)"
pass "lim: nofile 512:2048, nproc 300, core 0:unlimited, memlock, stack, cpu; oom_score_adj 500"

p=$(svc_pid nonroot)
[ "$(awk '/^Uid:/ {print $2}' /proc/$p/status)" = 1000 ] || fail "nonroot: not uid 1000"
[ "$(awk '/^CapEff:/ {print $2}' /proc/$p/status)" = 0000000000000000 ] || fail "nonroot holds capabilities"
expect_limit "$p" "Max open files" "1000 1500"
[ "$(cat /proc/$p/oom_score_adj)" = 900 ] || fail "nonroot: oom_score_adj $(cat /proc/$p/oom_score_adj)"
pass "non-root: nofile 1000:1500, oom_score_adj 900"

if [ "$sys_resource" = 1 ]; then
	wait_for 10 state_is raise running || fail "raise: $(svc_state raise): $(svc_field raise last_exit.reason)"
	p=$(svc_pid raise)
	expect_limit "$p" "Max open files" "$high $high"
	[ "$(cat /proc/$p/oom_score_adj)" = -500 ] || fail "raise: oom_score_adj $(cat /proc/$p/oom_score_adj)"
	pass "non-root: nofile $high above paddockd's hard $(limit "$DAEMON_PID" "Max open files" | cut -d' ' -f2), oom_score_adj -500"
else
	wait_for 10 state_is raise failed || fail "raise: $(svc_state raise)"
	reason=$(svc_field raise last_exit.reason)
	case $reason in
	"setrlimit nofile: Operation not permitted") ;;
	*) fail "raise without CAP_SYS_RESOURCE: reason '$reason'" ;;
	esac
	pass "no CAP_SYS_RESOURCE here: raising nofile fails the start: '$reason'"
fi

p=$(svc_pid inherit)
# A standard service keeps paddockd's score, or gets +300 where paddockd
# may not lower critical ones below it (49-oom-class).
own=$(cat /proc/$DAEMON_PID/oom_score_adj)
bash -c 'echo -1 >/proc/self/oom_score_adj' 2>/dev/null || own=$((own + 300))
[ "$(cat /proc/$p/oom_score_adj)" = "$own" ] ||
	fail "inherit: oom_score_adj $(cat /proc/$p/oom_score_adj), want $own (paddockd has $(cat /proc/$DAEMON_PID/oom_score_adj))"
for l in "Max processes" "Max core file size" "Max locked memory" "Max stack size"; do
	expect_limit "$p" "$l" "$(limit "$DAEMON_PID" "$l")"
done
pass "unset: oom_score_adj by class, limits as paddockd's"

p=$(svc_pid hostfs)
[ "$(cat /proc/$p/oom_score_adj)" = 333 ] || fail "hostfs: oom_score_adj $(cat /proc/$p/oom_score_adj)"
expect_limit "$p" "Max processes" "77 77"
pass "host filesystem service: oom_score_adj 333, nproc 77"

wait_for 10 state_is toohigh failed || fail "toohigh: $(svc_state toohigh)"
reason=$(svc_field toohigh last_exit.reason)
[ "$reason" = "setrlimit nofile: Operation not permitted" ] || fail "toohigh reason: '$reason'"
pass "nofile above fs.nr_open: start fails with '$reason'"
