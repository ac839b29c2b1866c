#!/bin/bash
# A crash in the middle of an image import leaves no layer that looks
# complete and is not: `paddockctl image import` and paddockd (while it
# unpacks a service's image) are killed with SIGKILL once a layer's .tmp
# directory holds files; afterwards every layer directory under its real
# name must equal the one a clean import makes, the next start must remove
# the stale .tmp directories, and the image must import and run.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd umoci; need_cmd jq; need_cmd sha256sum; setup
grep -q overlay /proc/filesystems || skip "no overlayfs"

# make_big_image IMG: busybox root (layer 1) + 3000 small files and 16 MB (layer 2)
make_big_image() {
	local img=$1 b d f
	b=$(mktemp -d "$T/umoci.XXXXXX")
	umoci init --layout "$img" >/dev/null
	umoci new --image "$img:v1" >/dev/null
	umoci unpack --image "$img:v1" "$b/1" >/dev/null
	make_rootfs "$b/1/rootfs"
	umoci repack --image "$img:v1" "$b/1" >/dev/null
	umoci unpack --image "$img:v1" "$b/2" >/dev/null
	for d in $(seq 1 30); do
		mkdir -p "$b/2/rootfs/data/d$d"
		for f in $(seq 1 100); do echo "file $d/$f" >"$b/2/rootfs/data/d$d/f$f"; done
	done
	head -c 16777216 /dev/urandom >"$b/2/rootfs/data/big"
	umoci repack --image "$img:v1" "$b/2" >/dev/null
	umoci config --image "$img:v1" --config.cmd /bin/sh --config.cmd -c \
		--config.cmd 'cat /data/d7/f42; exec sleep 1000' >/dev/null
	rm -rf "$b"
}

# manifest DIR: every entry's type, mode, owner, size, link target and content hash
manifest() {
	(cd "$1" && find . -printf '%P %y %m %U:%G %s %l\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0r sha256sum)
}

# layers_match STATE: each layer dir under its real name equals the clean import's
layers_match() {
	local h n=0
	for h in $(ls "$1/layers" | grep -E '^[0-9a-f]{64}$'); do
		[ -d "$REF/layers/$h" ] || { echo "unknown layer $h"; return 1; }
		[ "$(manifest "$1/layers/$h")" = "$(manifest "$REF/layers/$h")" ] ||
			{ echo "layer $h differs from a clean import"; return 1; }
		n=$((n + 1))
	done
	echo "$n complete layers"
}
has_tmp() { compgen -G "$1/layers/.tmp-*" >/dev/null; }
# a .tmp layer dir that already holds part of layer 2
tmp_with_data() { compgen -G "$1/layers/.tmp-*/data/d*" >/dev/null; }

make_big_image "$T/big"
REF=$T/ref
"$PADDOCKCTL" --state-dir "$REF" image import "$T/big" --name big:v1 >"$T/out" 2>&1 ||
	fail "clean import: $(cat "$T/out")"
DATA_HEX=$(for h in $(ls "$REF/layers" | grep -E '^[0-9a-f]{64}$'); do
	[ -d "$REF/layers/$h/data" ] && echo "$h"; done)
[ -n "$DATA_HEX" ] || fail "no layer with /data in the clean import"

# 1. paddockctl image import killed while layer 2 is being written
S=$T/state
caught=""
for try in 1 2 3 4 5; do
	rm -rf "$S" && mkdir -p "$S"
	"$PADDOCKCTL" --state-dir "$S" image import "$T/big" --name big:v1 >/dev/null 2>&1 &
	pid=$!
	wait_for 60 bash -c "! kill -0 $pid 2>/dev/null || compgen -G '$S/layers/.tmp-*/data/d*'"
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	[ $? = 137 ] && { caught=$try; break; } # else it finished first: again
done
[ -n "$caught" ] || fail "the import always finished before a .tmp dir with data was seen"
has_tmp "$S" || fail "killed import left no .tmp dir (was it mid-unpack?)"
[ ! -e "$S/images/big" ] || fail "killed import recorded the image"
out=$(layers_match "$S") || fail "after kill -9 of paddockctl: $out"
pass "kill -9 of paddockctl image import mid-unpack (try $caught): no record, $out"

"$PADDOCKCTL" --state-dir "$S" image list >/dev/null || fail "image list after the crash"
has_tmp "$S" && fail "opening the store did not remove the stale .tmp dirs: $(ls -a "$S/layers")"
"$PADDOCKCTL" --state-dir "$S" image import "$T/big" --name big:v1 >"$T/out" 2>&1 ||
	fail "import after the crash: $(cat "$T/out")"
grep -q '^imported big:v1' "$T/out" || fail "import output: $(cat "$T/out")"
out=$(layers_match "$S") || fail "after re-import: $out"
[ "$(ls "$S/layers" | grep -cE '^[0-9a-f]{64}$')" = 2 ] || fail "expected 2 layers: $(ls "$S/layers")"
pass "the next store open removes the stale .tmp dirs; re-import is complete ($out)"

# 2. paddockd killed while it unpacks a service's image (path reference)
cat >"$T/services/p.yaml" <<YAML
services:
  p:
    image: $T/big:v1
YAML
caught=""
for try in 1 2 3; do
	rm -rf "$S" && mkdir -p "$S"
	start_daemon
	wait_for 60 bash -c "state=\$('$PADDOCKCTL' -s '$T/run/control.sock' list --json | jq -r '.[0].state'); [ \"\$state\" = running ] || compgen -G '$S/layers/.tmp-*/data/d*'"
	if tmp_with_data "$S"; then
		kill -9 "$DAEMON_PID"
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=""
		kill_fd_holders
		# the unpacking child dies with the daemon (PR_SET_PDEATHSIG): its lock goes
		wait_for 10 flock -n "$S/layers/.lock-$DATA_HEX" true ||
			fail "the image child outlived the daemon"
		caught=$try
		break
	fi
	stop_daemon || true # the image was ready first: again
done
[ -n "$caught" ] || fail "paddockd always finished the unpack before a .tmp dir with data was seen"
has_tmp "$S" || fail "killed daemon left no .tmp dir"
out=$(layers_match "$S") || fail "after kill -9 of paddockd: $out"
pass "kill -9 of paddockd mid-unpack (try $caught): $out"

start_daemon
wait_for 60 state_is p running || fail "p: $(svc_state p) $(svc_field p last_exit.reason)"
wait_for 10 grep -q 'stdout file 7/42' "$T/state/logs/p.log" || fail "p output: $(cat "$T/state/logs/p.log")"
has_tmp "$S" && fail "stale .tmp dirs after the restart: $(ls -a "$S/layers")"
out=$(layers_match "$S") || fail "after restart: $out"
[ "$(ls "$S/layers" | grep -cE '^[0-9a-f]{64}$')" = 2 ] || fail "expected 2 layers: $(ls "$S/layers")"
pass "after the restart the image unpacks and runs; no .tmp dirs; $out"
