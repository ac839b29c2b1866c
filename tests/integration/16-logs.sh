#!/bin/bash
# stdout and stderr land in the per-service log file and the memory ring,
# `logs -n` shows the tail and `logs -f` follows; the file rotates by size.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
cat >"$T/config.yaml" <<YAML
log: {max_size: 64K, keep: 2}
YAML
cat >"$T/services/l.yaml" <<YAML
services:
  talker:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "echo to-out; echo to-err >&2; i=0; while [ \$\$i -lt 3000 ]; do echo line-\$\$i; i=\$\$((i+1)); done; exec sleep 1000"]
  ticker:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "i=0; while :; do echo tick-\$\$i; i=\$\$((i+1)); sleep 0.05; done"]
YAML
start_daemon -c "$T/config.yaml"
wait_for 10 grep -q 'line-2999' "$T/state/logs/talker.log" || fail "talker output not in its log file"
cat "$T/state/logs/talker.log"* | grep -q 'stdout to-out' || fail "stdout line missing"
cat "$T/state/logs/talker.log"* | grep -q 'stderr to-err' || fail "stderr line missing"
pass "stdout and stderr captured with their stream"
[ -f "$T/state/logs/talker.log.1" ] || fail "no rotation at 64K"
[ "$(stat -c %s "$T/state/logs/talker.log")" -le 65536 ] || fail "log file larger than max_size"
[ -f "$T/state/logs/talker.log.3" ] && fail "more rotated files than keep=2"
pass "rotation by size keeps 2 old files"
out=$(ctl logs -n 3 talker)
[ "$(echo "$out" | wc -l)" = 3 ] || fail "logs -n 3 printed: $out"
# stdout and stderr are separate pipes: their relative order is the order read.
echo "$out" | grep -q 'stdout line-2999$' || fail "last stdout line missing: $out"
pass "logs -n 3 shows the last three lines"
ctl logs -f ticker >"$T/follow.out" 2>&1 &
fpid=$!
wait_for 10 bash -c "[ \$(grep -c ' stdout tick-' $T/follow.out) -ge 15 ]" || { kill $fpid; fail "logs -f did not stream"; }
kill $fpid; wait $fpid 2>/dev/null
pass "logs -f streams new lines"
