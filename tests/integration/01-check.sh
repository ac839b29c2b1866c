#!/bin/bash
# paddockctl check and paddockd -n: every error with FILE:LINE:COLUMN, all
# at once; good specs say "configuration OK"; an alias bomb is refused.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
setup
SRC=${SRCDIR:-$TESTS_DIR/..}
"$PADDOCKCTL" check "$SRC/contrib/examples" >"$T/out" 2>&1 || fail "examples do not check: $(cat $T/out)"
grep -q 'configuration OK' "$T/out" || fail "no 'configuration OK'"
pass "contrib/examples: $(cat $T/out)"

cat >"$T/three.yaml" <<'YAML'
services:
  site:
    command: ["/bin/true"]
    resources:
      memory: {max: 12Q}
    restrat: {policy: always}
  Bad_Name:
    command: ["/bin/true"]
YAML
"$PADDOCKCTL" check "$T/three.yaml" >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] || fail "check of a broken file exited $rc"
cat "$T/out" >&2
[ "$(grep -c "^$T/three.yaml:[0-9]*:[0-9]*: " "$T/out")" = 3 ] || fail "expected exactly 3 errors"
grep -q "^$T/three.yaml:5:21: " "$T/out" || fail "bad size not at 5:21"
grep -q "^$T/three.yaml:6:5: .*did you mean 'restart'" "$T/out" || fail "unknown key not at 6:5 with hint"
grep -q "^$T/three.yaml:7:3: " "$T/out" || fail "bad name not at 7:3"
pass "three independent errors, each with FILE:LINE:COLUMN"

{
	echo 'a: &a ["x","x","x","x","x","x","x","x","x","x"]'
	prev=a
	for n in b c d e f g h i j k l m n o p q r s t u v w; do
		echo "$n: &$n [*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev]"
		prev=$n
	done
	echo "services: {x: {command: *$prev}}"
} >"$T/bomb.yaml"
start=$(now_ms)
timeout 10 "$PADDOCKCTL" check "$T/bomb.yaml" >"$T/out" 2>&1; rc=$?
ms=$(($(now_ms) - start))
[ $rc = 1 ] || fail "alias bomb: exit $rc: $(cat $T/out)"
grep -qi 'alias\|too many\|nodes' "$T/out" || fail "alias bomb: unclear error: $(cat $T/out)"
pass "alias bomb refused in $ms ms: $(head -n 1 $T/out)"

mkdir -p "$T/svcdir" && cp "$SRC/contrib/examples/"*.yaml "$T/svcdir/"
"$PADDOCKD" -n -S "$T/svcdir" >"$T/out" 2>&1 || fail "paddockd -n failed: $(cat $T/out)"
grep -q 'configuration OK' "$T/out" && grep -q 'cgroups: ' "$T/out" || fail "paddockd -n output: $(cat $T/out)"
pass "paddockd -n: $(tr '\n' ' ' <$T/out)"
cp "$T/three.yaml" "$T/svcdir/"
"$PADDOCKD" -n -S "$T/svcdir" >"$T/out" 2>&1 && fail "paddockd -n accepted a broken spec"
[ "$(grep -c "three.yaml:[0-9]*:[0-9]*: " "$T/out")" = 3 ] || fail "paddockd -n did not print the 3 errors"
pass "paddockd -n prints every error and exits 1"
