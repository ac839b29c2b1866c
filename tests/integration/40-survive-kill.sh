#!/bin/bash
# Services outlive paddockd: N services (default 200) each print a sequence
# number every 10 ms; paddockd is killed with SIGKILL at random moments and
# started again, CYCLES times (default 20), with one `daemon-reexec` in the
# middle. After every cycle each service must have the same main pid and
# process start time (not one restarted), and at the end every service's
# log must hold its sequence without a gap (no line lost, nobody SIGPIPEd).
# Prints the figures: services restarted, lines lost.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
if [ -n "${PADDOCK_IN_VM:-}" ]; then N=${PADDOCK_SURVIVE_N:-20} CYCLES=${PADDOCK_SURVIVE_CYCLES:-4}
else N=${PADDOCK_SURVIVE_N:-200} CYCLES=${PADDOCK_SURVIVE_CYCLES:-20}; fi
# bash's read -t on a FIFO nobody writes is a 10 ms tick without a fork (spec
# text: $$ is one literal $).
tick='f=$$(mktemp -u); mkfifo $$f; exec 3<>$$f; rm $$f; i=0; while :; do echo $$i; i=$$((i+1)); read -t 0.01 -u 3 x; done'
{
	echo "services:"
	for i in $(seq 1 "$N"); do
		printf '  s%03d:\n    command: ["/bin/bash", "-c", "%s"]\n' "$i" "$tick"
	done
} >"$T/services/seq.yaml"

all_running() { [ "$(ctl list --json | jq '[.[] | select(.state == "running")] | length')" = "$N" ]; }
# "name pid starttime" per service, from the daemon and /proc.
snapshot() {
	ctl list --json | jq -r '.[] | "\(.name) \(.main_pid)"' | while read -r n p; do
		echo "$n $p $(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$p/stat" 2>/dev/null)"
	done
}

start_daemon
wait_for 120 all_running || fail "not all $N services running"
snapshot >"$T/before"
[ "$(wc -l <"$T/before")" = "$N" ] || fail "snapshot incomplete"
grep -q ' $' "$T/before" && fail "a service has no start time"

restarted=0
for c in $(seq 1 "$CYCLES"); do
	# A random moment: the daemon is busy draining output most of the time.
	sleep "0.$((RANDOM % 9 + 1))"
	if [ "$c" = $((CYCLES / 2)) ]; then
		old=$DAEMON_PID
		ctl daemon-reexec >/dev/null || fail "daemon-reexec failed (cycle $c)"
		[ "$(ctl version --json | jq -r .paddockd)" != null ] || fail "no daemon after re-exec"
		kill -0 "$old" || fail "re-exec changed the daemon's pid"
	else
		kill -9 "$DAEMON_PID"
		wait "$DAEMON_PID" 2>/dev/null
		start_daemon
	fi
	wait_for 60 all_running || fail "cycle $c: not all services running again"
	snapshot >"$T/after"
	if ! cmp -s "$T/before" "$T/after"; then
		diff "$T/before" "$T/after" | head
		restarted=$(diff "$T/before" "$T/after" | grep -c '^>')
		fail "cycle $c: $restarted services changed pid or start time"
	fi
	r=$(ctl list --json | jq '[.[] | .restarts] | add')
	[ "$r" = 0 ] || fail "cycle $c: restart counters add up to $r"
done
adopted=$(grep -c 'adopted pid' "$T/daemon.log")
[ "$adopted" -ge $((N * (CYCLES - 1))) ] || fail "only $adopted adoptions logged"

# Let each service write a little more, then stop everything and read the logs.
sleep 0.3
stop_daemon || fail "daemon exit status"
# Lost: numbers never logged. Duplicated: logged twice (a daemon killed after
# writing a chunk to the log but before taking it out of the pipe).
lost=0 lines=0 dups=0
for i in $(seq 1 "$N"); do
	f="$T/state/logs/$(printf s%03d "$i").log"
	read -r n gaps d < <(awk '$2 == "stdout" { v = $3 + 0
			if (!n) { g += v; max = v } else if (v > max + 1) { g += v - max - 1; max = v }
			else if (v <= max) d++; else max = v; n++ }
		END { print n + 0, g + 0, d + 0 }' "$f")
	lines=$((lines + n)) lost=$((lost + gaps)) dups=$((dups + d))
	[ "$n" -gt 0 ] || fail "$f: no output at all"
done
echo "# $N services, $CYCLES daemon kills/re-execs: 0 services restarted, $lines lines, $lost lost, $dups logged twice"
[ "$lost" = 0 ] || fail "$lost lines lost"
for p in /proc/[0-9]*; do
	[ "$(cat "$p/comm" 2>/dev/null)" = paddock-fdstore ] &&
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$T/run" ] && fail "the fd holder outlived a clean shutdown"
done
[ ! -e "$T/state/state.json" ] || fail "state file left after a clean shutdown"
pass
