#!/bin/bash
# `logs` reads the on-disk history: after `kill -9` of paddockd and after
# `daemon-reexec`, `logs -n` shows what the earlier daemon logged and what
# the new one logs, in order, with no gap; --since filters by the records'
# stamps; -f prints the history and goes on live with no gap and no line
# twice at the seam; a time --since cannot read is refused; a burst of
# one-line writes survives a kill -9 in its middle with every line in order.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; setup
make_rootfs "$T/root"
# Small files and long lines (n-NUMBER and 250 x): the history the checks
# below read spans rotations.
pad=$(printf "%0250d" 0 | tr 0 x)
cat >"$T/config.yaml" <<YAML
log: {max_size: 64K, keep: 40}
YAML
cat >"$T/services/c.yaml" <<YAML
services:
  counter:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "i=0; while :; do echo n-\$\$i $pad; i=\$\$((i+1)); usleep 20000; done"]
YAML
logf=$T/state/logs/counter.log
crash() { kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""; }
last_in_file() { tail -n 1 "$logf" | sed -n 's/.* stdout n-\([0-9]*\) x*$/\1/p'; }
numbers() { sed -n 's/^[0-9-]*T[0-9:.]*Z stdout n-\([0-9]*\) x*$/\1/p'; }
reached() { local l; l=$(last_in_file); [ -n "$l" ] && [ "$l" -ge "$1" ]; }
# check_run FILE FROM TO: FILE's numbers run FROM..TO (at least) with no gap;
# DUPS=ok allows a line twice (a kill -9 between logging and consuming it).
check_run() {
	local f=$1 from=$2 to=$3 prev="" n
	numbers <"$f" >"$f.n"
	[ -s "$f.n" ] || fail "$f: no numbered lines: $(head -3 "$f")"
	while read -r n; do
		if [ -n "$prev" ]; then
			if [ "$n" = "$prev" ] && [ "${DUPS:-}" = ok ]; then continue; fi
			[ "$n" = $((prev + 1)) ] || fail "$f: n-$prev followed by n-$n"
		fi
		prev=$n
	done <"$f.n"
	[ "$(head -n 1 "$f.n")" -le "$from" ] || fail "$f: starts at n-$(head -n 1 "$f.n"), after n-$from"
	[ "$prev" -ge "$to" ] || fail "$f: ends at n-$prev, before n-$to"
	# Every line carries its time.
	[ "$(grep -cv '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:]\{8\}\.[0-9]\{3\}Z ' "$f")" = 0 ] ||
		fail "$f: a line without its stamp"
}

start_daemon -c "$T/config.yaml"
wait_for 20 reached 300 || fail "counter output not logged"

# 1. kill -9; the service goes on writing into its pipe meanwhile.
crash
pre=$(last_in_file)
start_daemon -c "$T/config.yaml"
wait_for 20 reached $((pre + 100)) || fail "no output logged after the restart"
ctl logs -n 250 counter >"$T/n.out" || fail "logs -n"
[ -f "$logf.1" ] || fail "the history did not rotate; the check would not cross files"
[ "$(wc -l <"$T/n.out")" = 250 ] || fail "logs -n 250 printed $(wc -l <"$T/n.out") lines"
DUPS=ok check_run "$T/n.out" "$pre" $((pre + 100))
grep -q " stdout n-$pre x" "$T/n.out" || fail "n-$pre, the last line the killed daemon logged, is missing"
pass "after kill -9: logs -n shows the old daemon's lines (to n-$pre) and the new ones, no gap"

# 2. --since: the stamp of one record (RFC 3339) starts the output there.
stamp=$(cat "$logf"* | grep " stdout n-$((pre - 20)) x" | head -n 1 | cut -d' ' -f1)
[ -n "$stamp" ] || fail "no record of n-$((pre - 20)) in the files"
ctl logs --since "$stamp" counter >"$T/since.out" || fail "logs --since $stamp"
[ "$(numbers <"$T/since.out" | head -n 1)" = $((pre - 20)) ] ||
	fail "logs --since $stamp starts at: $(head -n 1 "$T/since.out")"
DUPS=ok check_run "$T/since.out" $((pre - 20)) $((pre + 100))
ctl logs --since "$stamp" -n 5 counter >"$T/since5.out" || fail "logs --since -n 5"
[ "$(wc -l <"$T/since5.out")" = 5 ] || fail "--since with -n 5 printed $(wc -l <"$T/since5.out") lines"
# Local time, the other documented form, and relative times.
# (TZ=UTC0 makes local time UTC: the stamp's date and time, whole seconds.)
local_stamp="${stamp:0:10} ${stamp:11:8}"
TZ=UTC0 ctl logs --since "$local_stamp" counter >"$T/local.out" || fail "logs --since '$local_stamp'"
first=$(numbers <"$T/local.out" | head -n 1)
[ "$first" -le $((pre - 20)) ] && [ "$first" -ge $((pre - 80)) ] ||
	fail "--since '$local_stamp' (whole seconds) starts at n-$first, not within a second before n-$((pre - 20))"
[ "$(ctl logs --since '1h ago' counter | numbers | head -n 1)" -le "$pre" ] || fail "--since '1h ago' misses old lines"
[ -z "$(ctl logs --since '@4102444800' counter)" ] || fail "--since in 2100 printed lines"
for bad in yesterday '2026-13-40 10:00' '5 parsecs ago' '2026-12-04T22:00:00+1'; do
	if ctl logs --since "$bad" counter >"$T/bad.out" 2>&1; then fail "--since '$bad' accepted"; fi
	grep -q "not a time; use" "$T/bad.out" || fail "--since '$bad': $(cat "$T/bad.out")"
done
# Malformed arguments of the request itself are refused, each with its
# reason (python3 writes them raw; the VM has none: the fuzzer covers it).
command -v python3 >/dev/null || log "no python3: raw malformed requests not sent"
command -v python3 >/dev/null && { python3 - "$T/run/control.sock" <<'PY' || fail "malformed logs requests were not refused"; }
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
def ask(raw):
    s.sendall(raw + b"\n"); buf = b""
    while not buf.endswith(b"\n"):
        buf += s.recv(65536)
    return json.loads(buf)
for field, why in ((b'"since_ms":-5', "since_ms"), (b'"since_ms":"1h"', "since_ms"),
                   (b'"lines":100001', "lines"), (b'"lines":"ten"', "lines"),
                   (b'"follow":"yes"', "follow")):
    r = ask(b'{"v":1,"cmd":"logs","names":["counter"],' + field + b'}')
    assert r["ok"] is False and r["code"] == "EINVAL" and why in r["error"], (field, r)
r = ask(b'{"v":1,"cmd":"logs","names":["counter"],"lines":3}')
assert r["ok"] and r["result"]["text"].count("\n") == 3, r
PY
pass "--since: RFC 3339 stamp, local time and '1h ago' filter; unreadable times and malformed requests refused"

# 3. -f: the history, then live, no gap and no duplicate at the seam.
ctl logs -n 20 -f counter >"$T/f.out" 2>&1 &
fpid=$!
EXTRA_PIDS="$fpid"
# The first 20 lines are the history; 60 more can only have come live.
f_count() { [ "$(numbers <"$T/f.out" | wc -l)" -ge "$1" ]; }
wait_for 30 f_count 80 || { kill "$fpid"; fail "logs -f did not continue: $(tail -3 "$T/f.out")"; }
kill "$fpid"; wait "$fpid" 2>/dev/null; EXTRA_PIDS=""
first=$(numbers <"$T/f.out" | head -n 1)
check_run "$T/f.out" "$first" $((first + 79))
pass "logs -f: history then live lines, with their stamps, nothing lost or doubled at the seam"

# 4. daemon-reexec.
before=$(last_in_file)
line=$(($(wc -l <"$T/daemon.log") + 1))
ctl daemon-reexec >/dev/null || fail "daemon-reexec"
ready_again() { sed -n "$line,\$p" "$T/daemon.log" | grep -q 'paddockd .* ready: '; }
wait_for 10 ready_again || fail "no new daemon after daemon-reexec"
wait_for 20 reached $((before + 100)) || fail "no output logged after daemon-reexec"
ctl logs -n 200 counter >"$T/re.out" || fail "logs after reexec"
DUPS=ok check_run "$T/re.out" "$before" $((before + 100))
ctl status counter --json | jq -r '.[0].log_tail' | grep -q " stdout n-" || fail "status shows no log tail"
pass "after daemon-reexec: logs -n shows lines from before (n-$before) and after, no gap"

# 5. A burst, one write(2) per line as fast as the shell goes, with a
# kill -9 of paddockd in the middle of it: paddockd batches such output
# (it waits a little once the pipe ran dry), and what it has not logged
# waits in the pipe the fd holder keeps; at the exit the last lines are
# logged. Every line is there, in order.
cat >"$T/services/b.yaml" <<YAML
services:
  burst:
    rootfs: $T/root
    restart: {policy: never}
    command: ["/bin/sh", "-c", "i=0; while [ \$\$i -lt 40000 ]; do echo b-\$\$i; i=\$\$((i+1)); [ \$\$((i % 400)) = 0 ] && usleep 10000; done; exit 0"]
YAML
ctl reload >/dev/null || fail "reload with burst"
blog=$T/state/logs/burst.log
wait_for 20 bash -c "cat $blog* | grep -q ' stdout b-4000$'" || fail "burst output not logged"
[ "$(tail -n 1 "$blog" | sed -n 's/.* stdout b-//p')" != 39999 ] || log "burst ended before the kill; nothing was pending"
crash
start_daemon -c "$T/config.yaml"
wait_for 60 grep -q ' stdout b-39999$' "$blog" || fail "burst's last line not logged after the restart"
wait_for 30 bash -c "[ \"\$($PADDOCKCTL -s $T/run/control.sock list --json | jq -r '.[] | select(.name == \"burst\") | .state')\" = stopped ]" ||
	fail "burst did not stop after its last line"
for i in $(seq 40 -1 1); do [ ! -f "$blog.$i" ] || cat "$blog.$i"; done >"$T/burst.all"
cat "$blog" >>"$T/burst.all"
sed -n 's/^[0-9-]*T[0-9:.]*Z stdout b-\([0-9]*\)$/\1/p' "$T/burst.all" | uniq >"$T/burst.n"
# A kill -9 between logging and consuming may log a batch twice: drop repeats of a run.
awk '{ if ($1 == want) want++; else if ($1 > want) { gap = $1; exit } }
     END { if (gap != "") print "b-" want " missing, then b-" gap; else if (want != 40000) print "ends at b-" want }' \
	"$T/burst.n" >"$T/burst.err"
[ ! -s "$T/burst.err" ] || fail "burst: $(cat "$T/burst.err")"
pass "a burst with kill -9 in the middle: all 40000 lines logged in order"
