#!/bin/bash
# A daemon outage does not block a chatty service: its output pipes hold
# log.pipe_size (default 4M), so a writer at 2,000 lines/s of 200 bytes
# (400 KB/s) keeps writing through a 5 s kill -9 of paddockd, and the
# restarted daemon (which adopts it) drains every line into the log.
#
# The writer measures itself: the longest write(2) to its stdout, and its
# progress, in a file the test polls. The 5 s outage is the scenario, not
# a synchronisation: the test waits for the writer to have written 5 s
# worth of lines since the kill (bounded by a deadline).
#
# PIPE_SIZE=64K (any log.pipe_size) runs the same scenario on other pipes;
# MAX_STALL_MS (default 500) is the bound asserted.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd cc; setup
PIPE_SIZE=${PIPE_SIZE:-}
MAX_STALL_MS=${MAX_STALL_MS:-500}
RATE=2000 TOTAL=24000 # 12 s of output

cat >"$T/writer.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
/* progress: lines written and the longest write so far, replaced atomically */
static void progress(const char *path, long i, long long stall, int done)
{
	char tmp[4096];
	FILE *f;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")))
		return;
	fprintf(f, "%ld %lld %s\n", i, stall / 1000000, done ? "done" : "running");
	fclose(f);
	rename(tmp, path);
}
int main(int argc, char **argv)
{
	long total = atol(argv[1]), rate = atol(argv[2]);
	long long t0 = now_ns(), stall = 0;
	char line[201];
	for (long i = 0; i < total; i++) {
		long long due = t0 + i * 1000000000LL / rate, t1;
		struct timespec ts = { due / 1000000000LL, due % 1000000000LL };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		int n = snprintf(line, sizeof(line), "seq=%08ld t=%lld ", i, now_ns() / 1000);
		memset(line + n, 'x', 199 - n);
		line[199] = '\n';
		t1 = now_ns();
		for (size_t off = 0; off < 200;) {
			ssize_t k = write(1, line + off, 200 - off);
			if (k <= 0)
				return 1;
			off += (size_t)k;
		}
		if (now_ns() - t1 > stall)
			stall = now_ns() - t1;
		if (i % 100 == 0)
			progress(argv[3], i, stall, 0);
	}
	progress(argv[3], total, stall, 1);
	for (;;)
		pause();
}
C
cc -O2 -o "$T/writer" "$T/writer.c" || fail "cannot build the writer"

# Above fs.pipe-max-size the kernel wants CAP_SYS_RESOURCE, which CI
# hosts may lack: raise the sysctl for this test (restored on exit).
want=$((4 << 20))
case "$PIPE_SIZE" in *K) want=$((${PIPE_SIZE%K} << 10)) ;; *M) want=$((${PIPE_SIZE%M} << 20)) ;; esac
old_max=$(cat /proc/sys/fs/pipe-max-size)
has_sys_resource() { (( 0x$(awk '/^CapEff/ { print $2 }' /proc/self/status) >> 24 & 1 )); }
if ! has_sys_resource && [ "$old_max" -lt "$want" ]; then
	echo "$want" >/proc/sys/fs/pipe-max-size || skip "cannot raise fs.pipe-max-size to $want"
	trap 'rc=$?; echo '"$old_max"' >/proc/sys/fs/pipe-max-size; (exit $rc); cleanup' EXIT
fi

cat >"$T/services/w.yaml" <<YAML
services:
  chatty:
    command: ["$T/writer", "$TOTAL", "$RATE", "$T/progress"]
    isolation: {namespaces: [mount, uts, ipc, net]}
YAML
: >"$T/config.yaml"
[ -z "$PIPE_SIZE" ] || echo "log: {pipe_size: $PIPE_SIZE}" >"$T/config.yaml"

written() { awk '{ print $1 }' "$T/progress" 2>/dev/null || echo 0; }
at_least() { [ "$(written)" -ge "$1" ]; }

start_daemon -c "$T/config.yaml"
wait_for 10 state_is chatty running || fail "chatty not running"
pid=$(main_pid chatty)
size=$(python3 -c "import fcntl,os; fd=os.open('/proc/$pid/fd/1', os.O_WRONLY); print(fcntl.fcntl(fd, 1032))" 2>/dev/null || echo "?")
log "chatty's stdout pipe holds $size bytes"
wait_for 10 at_least $RATE || fail "the writer did not get going: $(cat "$T/progress" 2>/dev/null)"

# The outage: 5 s of the writer's own output with no paddockd.
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
from=$(written) t0=$(now_ms)
# A writer that blocks makes no progress: the outage ends at the deadline then.
wait_for 6 at_least $((from + 5 * RATE)) || log "the writer stalled: $(written) lines, $((from + 5 * RATE)) expected"
outage=$(($(now_ms) - t0))
start_daemon -c "$T/config.yaml"
wait_for 10 state_is chatty running || fail "chatty not running after the restart"
[ "$(main_pid chatty)" = "$pid" ] || fail "chatty was not adopted: pid $(main_pid chatty), was $pid"

wait_for 30 grep -q done "$T/progress" || fail "the writer did not finish: $(cat "$T/progress")"
stall=$(awk '{ print $2 }' "$T/progress")
log "outage ${outage} ms at $RATE lines/s of 200 bytes, pipe ${PIPE_SIZE:-default}: longest write ${stall} ms"
[ "$stall" -le "$MAX_STALL_MS" ] || fail "a write blocked ${stall} ms (bound ${MAX_STALL_MS} ms)"
pass "a ${outage} ms outage blocked no write for more than $MAX_STALL_MS ms (longest ${stall} ms)"

logged() { [ "$(cat "$T/state/logs/chatty.log"* | grep -o 'seq=[0-9]*' | sort -u | wc -l)" = "$TOTAL" ]; }
wait_for 20 logged || fail "$(cat "$T/state/logs/chatty.log"* | grep -o 'seq=[0-9]*' | sort -u | wc -l) of $TOTAL lines logged"
pass "all $TOTAL lines reached the log"
