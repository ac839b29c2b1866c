#!/bin/bash
# The state file is rewritten (and fsynced) when something worth keeping
# changes, not on every probe tick: services whose memory wobbles move
# the rebalancer's working-set estimate a little on most ticks, which
# rewrote the file every second. A restart is still kept at once.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; setup
make_rootfs "$T/root"
for i in $(seq 1 10); do
	printf 'services:\n  w%s:\n    rootfs: %s\n    command: ["/bin/sh", "-c", "while :; do x=$$(head -c $$((RANDOM * 128)) /dev/zero | tr a b); sleep 0.2; done"]\n' \
		"$i" "$T/root" >"$T/services/w$i.yaml"
done
start_daemon
wait_for 30 state_is w10 running || fail "w10 not running"
has_ws() { [ "$(ctl status w1 --json | jq '.[0].rebalance.working_set_bytes // 0')" -gt 0 ]; }
wait_for 30 has_ws || fail "no working-set estimate for w1"
# Count the renames of state.json (each write makes a new inode) over 15 s.
writes=0 last=$(stat -c %i "$T/state/state.json")
end=$(($(date +%s) + 15))
while [ "$(date +%s)" -lt "$end" ]; do
	cur=$(stat -c %i "$T/state/state.json")
	[ "$cur" != "$last" ] && writes=$((writes + 1)) last=$cur
	sleep 0.2
done
[ "$writes" -le 3 ] || fail "state.json was rewritten $writes times in 15 s with nothing but memory wobble"
pass "state.json rewritten $writes times in 15 s of wobbling services"
pid=$(main_pid w3)
kill -9 "$pid"
restarted() { [ "$(jq '.services[] | select(.name == "w3") | .restarts' "$T/state/state.json")" -ge 1 ]; }
wait_for 10 restarted || fail "the state file did not keep w3's restart"
pass "a restart is in the state file at once"
