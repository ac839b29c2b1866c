#!/bin/bash
# schedule: one-shot services run at their times, not at daemon start.
# A minutely timer starts on its minute (never before it, at most 2 s
# after) and its exit is in `list --timers` and the events; a persistent
# timer whose time passed while paddockd was killed (-9) runs exactly
# once at the next start; a still-running job is skipped (overlap: skip)
# with an event, keeping its pid; and a time zone, given apart or in the
# expression, gives the next time `date` computes for that zone.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; setup
make_rootfs "$T/root"
svc() { # svc NAME SCRIPT SCHEDULE-YAML
	printf 'services:\n  %s:\n    rootfs: %s\n    command: ["/bin/sh", "-c", "%s"]\n    restart: {policy: never, limit: {burst: 1000}}\n    schedule: %s\n' \
		"$1" "$T/root" "$2" "$3" >"$T/services/$1.yaml"
}
svc tick "echo tick" '"* * * * *"'
svc pers "echo pers" '{on: "*:*:0/15", persistent: true}'
svc slow "exec sleep 25" '{on: "*:*:0/10", overlap: skip}'
svc qjob "exec sleep 12" '{on: "*:*:0/10", overlap: queue}'
svc rjob "exec sleep 1000" '{on: "*:*:0/10", overlap: replace}'
svc rnd "true" '{on: "*-*-* 03:00:00 UTC", randomized_delay: 1h}'
svc tz "true" '{on: "*-*-* 03:00:00", timezone: America/New_York}'
svc tz2 "true" '"Mon..Fri *-*-* 09:30 Asia/Tokyo"'
svc late "echo late" '{on: "*:*:0/20", randomized_delay: 15s}'
# A scheduled service that restarts always makes no sense: refused at load.
printf 'services:\n  bad:\n    rootfs: /\n    command: [/bin/true]\n    restart: {policy: always}\n    schedule: daily\n' >"$T/bad.yaml"
out=$("$PADDOCKCTL" check "$T/bad.yaml" 2>&1) && fail "check accepted restart: always with schedule"
echo "$out" | grep -q "needs restart.policy 'never' or 'on-failure'" || fail "check said: $out"
printf 'services:\n  bad:\n    rootfs: /\n    command: [/bin/true]\n    schedule: "61 * * * *"\n' >"$T/bad.yaml"
out=$("$PADDOCKCTL" check "$T/bad.yaml" 2>&1) && fail "check accepted minute 61"
echo "$out" | grep -q "minute field: 61 is out of range 0..59" || fail "check said: $out"
pass "bad schedules are refused with their reason"

# Under valgrind (tests/valgrind.sh) the daemon starts in seconds and
# launches one service at a time, each in valgrind until its exec: the
# margins below grow with it. A run must never start early either way.
slow=${PADDOCK_DAEMON_WRAPPER:+yes}
late_max=2 quiet_max=56
[ -z "$slow" ] || late_max=10 quiet_max=30
# Well before a minute: tick must not be due while the daemon starts.
off_minute() { local s=$(( $(date +%s) % 60 )); [ "$s" -gt 2 ] && [ "$s" -le $quiet_max ]; }
wait_for 40 off_minute || fail "the clock stays at a minute boundary"
start_daemon
timer() { ctl list --timers --json | jq -r --arg n "$1" ".[] | select(.name == \$n) | .timer.$2 // empty"; }
events_of() { # events_of NAME ACTION: how many timer events
	ctl events --service "$1" --json | jq --arg a "$2" '[.[] | select(.type == "timer" and .action == $a)] | length'
}
[ "$(svc_state tick)" = stopped ] || fail "tick started with the daemon: $(svc_state tick)"
[ "$(events_of tick start)" = 0 ] || fail "tick ran at daemon start"
ctl list | grep -E '^tick +stopped .*scheduled' >/dev/null || fail "list does not say tick is scheduled"

# Time zones: the next 03:00 in New York and 09:30 on a weekday in Tokyo, as date(1) says.
now=$(date +%s)
want=$(date -d 'TZ="America/New_York" 03:00' +%s)
[ "$want" -gt "$now" ] || want=$(date -d 'TZ="America/New_York" tomorrow 03:00' +%s)
[ "$(timer tz next_ms)" = "$((want * 1000))" ] || fail "tz next $(timer tz next_ms), want ${want}000"
want=""
for d in 0 1 2 3 4 5 6 7; do
	w=$(TZ=Asia/Tokyo date -d "@$((now + d * 86400))" +%F)
	t=$(date -d "TZ=\"Asia/Tokyo\" $w 09:30" +%s)
	dow=$(TZ=Asia/Tokyo date -d "@$t" +%u)
	if [ "$t" -gt "$now" ] && [ "$dow" -le 5 ]; then want=$t; break; fi
done
[ "$(timer tz2 next_ms)" = "$((want * 1000))" ] || fail "tz2 next $(timer tz2 next_ms), want ${want}000"
[ "$(timer tz2 timezone)" = Asia/Tokyo ] || fail "tz2 zone: $(timer tz2 timezone)"
ctl list --timers | grep -E "^tz +\*-\*-\* 03:00:00 \(America/New_York\) " >/dev/null ||
	fail "list --timers: no tz line: $(ctl list --timers)"
want=$(TZ=UTC date -d '03:00' +%s)
[ "$want" -gt "$now" ] || want=$(TZ=UTC date -d 'tomorrow 03:00' +%s)
rnext=$(timer rnd next_ms)
[ "$rnext" -ge $((want * 1000)) ] && [ "$rnext" -le $(((want + 3600) * 1000)) ] ||
	fail "rnd next $rnext is not within an hour after ${want}000"
pass "time zones: next runs at $(timer tz next_ms) and $(timer tz2 next_ms), as date(1) computes"

# A reload that changes the schedule moves the next time.
svc tz "true" '{on: "*-*-* 04:30:00", timezone: America/New_York}'
ctl reload >/dev/null || fail "reload"
want=$(date -d 'TZ="America/New_York" 04:30' +%s)
[ "$want" -gt "$(date +%s)" ] || want=$(date -d 'TZ="America/New_York" tomorrow 04:30' +%s)
moved() { [ "$(timer tz next_ms)" = "$((want * 1000))" ]; }
wait_for 10 moved || fail "tz next after reload $(timer tz next_ms), want ${want}000"
pass "reload: the changed schedule runs next at $(timer tz next_ms)"

# Persistent: the timer's first scheduling is in the state file; killed before its time, started after.
armed() { jq -e '.services[] | select(.name == "pers") | .timer.armed_ms > 0' "$T/state/state.json"; }
wait_for 10 armed || fail "the state file does not keep pers' timer"
# Not within 3 s of a 15 s boundary, so that the kill lands before the next one.
at_boundary() { [ $(( $(date +%s) % 15 )) -lt 12 ] && [ $(( $(date +%s) % 15 )) -gt 0 ]; }
wait_for 20 at_boundary || fail "no quiet moment"
ran=$(events_of pers start)
next=$(timer pers next_ms)
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
passed() { [ "$(now_ms)" -gt $((next + 500)) ]; }
wait_for 20 passed || fail "pers' time did not pass"
line=$(($(wc -l <"$T/daemon.log") + 1))
start_daemon
caught() { [ "$(ctl events --service pers --json | jq '[.[] | select(.type == "timer" and .action == "start" and .catch_up)] | length')" = 1 ]; }
wait_for 10 caught || fail "no catch-up run of pers after kill -9"
# Exactly one catch-up: counted once the next regular run has come too.
regular() { [ "$(ctl events --service pers --json | jq '[.[] | select(.type == "timer" and .action == "start" and (.catch_up | not))] | length')" -gt "$ran" ]; }
wait_for 35 regular || fail "no regular run of pers after the catch-up: $(ctl events --service pers --json | jq -c '.[] | select(.type == "timer")')"
n=$(ctl events --service pers --json | jq '[.[] | select(.type == "timer" and .catch_up)] | length')
[ "$n" = 1 ] || fail "pers caught up $n times"
[ "$(events_of pers start)" -ge $((ran + 1)) ] || fail "pers did not run"
[ "$(timer rnd next_ms)" = "$rnext" ] || fail "rnd's delay changed over a restart: $(timer rnd next_ms), was $rnext"
last=$(timer pers last_run_ms)
[ "$last" -gt "$next" ] || fail "pers' last run $last is not after the missed $next"
pass "persistent: one catch-up run after kill -9 over a scheduled time; randomized delay kept"

# Overlap skip: slow runs 25 s, scheduled every 10 s.
wait_for 25 state_is slow running || fail "slow did not start at its time"
spid=$(main_pid slow)
wait_for 25 bash -c '[ "$('"$PADDOCKCTL"' -s '"$T"'/run/control.sock events --service slow --json | jq "[.[] | select(.type == \"timer\" and .action == \"skip\")] | length")" -ge 1 ]' ||
	fail "no skip event for slow"
[ "$(main_pid slow)" = "$spid" ] || fail "slow was restarted instead of skipped"
grep -q "service slow: timer: still running, run skipped" "$T/daemon.log" || fail "no skip in the log"
pass "overlap skip: the running job (pid $spid) kept, the run skipped with an event"

# Overlap queue: a 12 s job every 10 s; the queued run starts as soon as the previous one ends.
has_event() { [ "$(events_of "$1" "$2")" -ge 1 ]; }
wait_for 35 has_event qjob queue || fail "no queue event for qjob"
queued_after_exit() { # a start within 2 s after the exit that followed the first queue
	ctl events --service qjob --json | jq -e '[.[] | select(.type == "timer")] as $e
		| ($e | map(.action) | index("queue")) as $q
		| ($e[$q:] | map(select(.action == "exit")) | .[0].time_ms) as $x
		| $x != null and ($e[$q:] | map(select(.action == "start" and .time_ms >= $x and .time_ms - $x < 2000)) | length >= 1)'
}
wait_for 25 queued_after_exit || fail "the queued run did not start when qjob ended"
pass "overlap queue: the queued run started when the previous one ended"

# Overlap replace: a long job every 10 s is stopped and started afresh.
wait_for 25 state_is rjob running || fail "rjob did not start"
rpid=$(main_pid rjob)
wait_for 25 has_event rjob replace || fail "no replace event for rjob"
new_pid() { state_is rjob running && [ "$(main_pid rjob)" != "$rpid" ] && [ "$(main_pid rjob)" != 0 ]; }
wait_for 15 new_pid || fail "rjob was not started afresh (pid $(main_pid rjob), was $rpid)"
pass "overlap replace: pid $rpid stopped, $(main_pid rjob) started"

# A reload that changes a timer's service while its run waits out its
# randomized delay keeps that run (it was lost: the next time was taken
# strictly after the reload).
in_window() { # the planned time of late's next run passed, its delay has >= 3 s to go
	local due now planned
	due=$(timer late next_ms) now=$(( $(date +%s%N) / 1000000 ))
	planned=$(( due / 20000 * 20000 ))
	[ -n "$due" ] && [ "$now" -gt $((planned + 1000)) ] && [ "$now" -lt $((due - 3000)) ]
}
wait_for 90 in_window || fail "late's delay window never opened (next $(timer late next_ms))"
due=$(timer late next_ms) planned=$(( $(timer late next_ms) / 20000 * 20000 ))
starts=$(events_of late start)
svc late "echo late again" '{on: "*:*:0/20", randomized_delay: 15s}'
ctl reload >/dev/null || fail "reload"
started_again() { [ "$(events_of late start)" -gt "$starts" ]; }
wait_for 30 started_again || fail "late did not run after the reload"
st=$(ctl events --service late --json | jq --argjson n "$starts" '[.[] | select(.type == "timer" and .action == "start")][$n].time_ms')
[ "$st" -lt $((planned + 20000)) ] ||
	fail "the run planned at $planned (due $due) was lost at reload: next run at $st"
pass "reload inside a randomized delay: the run due at $due still ran (at $st)"

# Minutely: starts on its minute, never before it and at most late_max s after; exit recorded.
wait_for 70 bash -c '[ "$('"$PADDOCKCTL"' -s '"$T"'/run/control.sock events --service tick --json | jq "[.[] | select(.type == \"timer\" and .action == \"exit\")] | length")" -ge 1 ]' ||
	fail "tick did not run within 70 s"
st=$(ctl events --service tick --json | jq '[.[] | select(.type == "timer" and .action == "start")][0].time_ms')
sched=$(ctl events --service tick --json | jq '[.[] | select(.type == "timer" and .action == "start")][0].scheduled_ms')
[ $((sched % 60000)) = 0 ] || fail "tick's run was scheduled at $sched, not on a minute"
[ "$st" -ge "$sched" ] || fail "tick started at $st, before its time $sched"
[ $((st - sched)) -le $((late_max * 1000)) ] || fail "tick started $((st - sched)) ms after its time"
ctl events --service tick --json | jq -e '.[] | select(.type == "timer" and .action == "exit") | select(.exit.reason == "exited 0" and .trigger == "timer")' >/dev/null ||
	fail "no exit in the timer event"
[ "$(ctl list --timers --json | jq -r '.[] | select(.name == "tick") | .last_exit.reason')" = "exited 0" ] ||
	fail "list --timers has no exit for tick"
ctl list --timers | grep -E "^tick +\* \* \* \* \* +[0-9-]+ [0-9:]+ [A-Z+0-9-]+ +exited 0 +[0-9-]+ [0-9:]+ " >/dev/null ||
	fail "list --timers line: $(ctl list --timers | grep ^tick)"
[ "$(timer tick last_run_ms)" -ge "$st" ] || fail "last_run_ms before the start event"
[ $(( $(timer tick next_ms) % 60000 )) = 0 ] || fail "tick's next is not on a minute"
ctl status tick | grep -q "Next run: " || fail "status has no next run"
pass "minutely: started at second $(( (st / 1000) % 60 )), exited 0, in list --timers and events"
