#!/bin/bash
# OCI images: a service with `image: PATH:TAG` runs on an overlay of the
# image's verified layers; the image config's Cmd, Env and WorkingDir are
# defaults the spec overrides; two services of one image share every layer
# on disk; readonly_rootfs means no upper layer; prune keeps layers in use;
# paddockctl image import/list/inspect/rm work.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd umoci; setup
grep -q overlay /proc/filesystems || skip "no overlayfs"
make_image "$T/img"
cat >"$T/services/i.yaml" <<YAML
services:
  one:
    image: $T/img:v1
  two:
    image: $T/img:v1
    command: ["/bin/sh", "-c", "echo greeting=\$\$GREETING; pwd; ls /etc; exec sleep 1000"]
    environment: {GREETING: overridden}
  keeper:
    image: $T/img:v1
    persist: true
    command: ["/bin/sh", "-c", "ls /kept && echo found-kept; touch /kept; exec sleep 1000"]
  scratch:
    image: $T/img:v1
    command: ["/bin/sh", "-c", "ls /scratch && echo found-scratch; touch /scratch; exec sleep 1000"]
  three:
    image: $T/img:v2
    isolation: {readonly_rootfs: true}
    command: ["/bin/sh", "-c", "cat /srv/v2; touch /written || echo cannot-write; exec sleep 1000"]
YAML
start_daemon
for s in one two three; do wait_for 60 state_is $s running || fail "$s: $(svc_state $s) $(svc_field $s last_exit.reason)"; done
wait_for 5 grep -q 'stdout greeting=hello' "$T/state/logs/one.log" || fail "image Cmd/Env not used: $(cat $T/state/logs/one.log)"
grep -q 'stdout welcome to the image' "$T/state/logs/one.log" || fail "layer 2 file missing"
pass "image Cmd, Env and the top layer's files"
wait_for 5 grep -q 'stdout greeting=overridden' "$T/state/logs/two.log" || fail "spec command/env did not override"
grep -q 'stdout /etc$' "$T/state/logs/two.log" || fail "image WorkingDir not used"
grep -q 'stdout gone$' "$T/state/logs/two.log" && fail "whiteout of /etc/gone not applied"
pass "spec command and env override the image, WorkingDir kept, whiteout applied"
pid=$(main_pid one)
awk '$5 == "/" {print $9}' /proc/$pid/mountinfo | grep -qx overlay || fail "/ of one is not an overlay: $(awk '$5 == "/"' /proc/$pid/mountinfo)"
pass "the service's / is an overlay"
wait_for 5 grep -q 'stdout cannot-write' "$T/state/logs/three.log" || fail "readonly_rootfs image was writable"
grep -q 'stdout v2' "$T/state/logs/three.log" || fail "v2's third layer missing"
pass "v2 adds its layer; readonly_rootfs without an upper layer is read-only"
for s in keeper scratch; do wait_for 30 state_is $s running || fail "$s not running"; done
ctl restart keeper scratch >/dev/null || fail "restart keeper scratch"
wait_for 10 grep -q 'stdout found-kept' "$T/state/logs/keeper.log" || fail "persist: true lost the upper layer"
two_runs() { [ "$(grep -c 'stderr ls: /scratch' "$T/state/logs/scratch.log")" -ge 2 ] || grep -q 'stdout found-scratch' "$T/state/logs/scratch.log"; }
wait_for 10 two_runs || fail "scratch did not run twice"
grep -q 'stdout found-scratch' "$T/state/logs/scratch.log" && fail "the upper layer survived a restart without persist"
pass "persist: true keeps writes across a restart; without it they go"
ctl stop keeper scratch >/dev/null

# Sharing: v1 has 2 layers, v2 = v1 + 1; the store holds 3, used by all three services.
n=$(ls "$T/state/layers" | grep -cE '^[0-9a-f]{64}$' )
[ "$n" = 3 ] || fail "expected 3 layers in the store, found $n"
l1=$(awk '$5 == "/" {print $NF}' /proc/$(main_pid one)/mountinfo)
l2=$(awk '$5 == "/" {print $NF}' /proc/$(main_pid two)/mountinfo)
[ "$(echo "$l1" | grep -o 'lowerdir=[^,]*')" = "$(echo "$l2" | grep -o 'lowerdir=[^,]*')" ] || fail "one and two do not share lower layers: $l1 / $l2"
[ -n "$(svc_field one image.digest)" ] || fail "status lacks the image"
pass "two services of one image share its layers (3 layers on disk for v1 and v2)"

ctl image import "$T/img" --name demo >"$T/out" 2>&1 || fail "import: $(cat $T/out)"
grep -q 'imported demo:v1' "$T/out" && grep -q 'imported demo:v2' "$T/out" || fail "import output: $(cat $T/out)"
grep -q '^0 layers unpacked, ' "$T/out" || fail "import unpacked layers again: $(cat $T/out)"
ctl image list | grep -q '^demo:v2 ' || fail "list lacks demo:v2"
ctl image inspect demo:v1 | jq -e '.layer_dirs | length == 2' >/dev/null || fail "inspect"
pass "image import of the layout reuses every layer; list and inspect"
ctl image rm demo:v1 >/dev/null && ctl image rm demo:v2 >/dev/null || fail "rm"
ctl image rm "$(realpath "$T/img"):v1" >/dev/null; ctl image rm "$(realpath "$T/img"):v2" >/dev/null
ctl image prune >"$T/out" || fail "prune"
n=$(ls "$T/state/layers" | grep -cE '^[0-9a-f]{64}$' )
[ "$n" = 3 ] || fail "prune removed layers in use: $n left ($(cat $T/out))"
pass "prune keeps layers running services use: $(cat $T/out)"
ctl stop one two three >/dev/null || fail "stop"
ctl image prune >"$T/out" || fail "prune 2"
n=$(ls "$T/state/layers" | grep -cE '^[0-9a-f]{64}$' )
[ "$n" = 0 ] || fail "prune left $n unused layers ($(cat $T/out))"
pass "prune removes them once unused: $(cat $T/out)"
