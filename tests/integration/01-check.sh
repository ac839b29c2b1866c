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

# Networks live in the daemon config: check --config reads it and checks the
# specs against it (issue 16); a mistake on either side has FILE:LINE:COLUMN.
cat >"$T/paddock.yaml" <<'YAML'
networks:
  backend: {subnet: 10.231.0.0/24}
YAML
cat >"$T/net.yaml" <<'YAML'
services:
  web:
    command: ["/bin/true"]
    isolation: {network: backend}
    ports: ["8080:80"]
  api:
    command: ["/bin/true"]
    isolation: {network: [{network: backend, ip: 10.231.0.10}]}
YAML
"$PADDOCKCTL" check --config "$T/paddock.yaml" "$T/net.yaml" >"$T/out" 2>&1 ||
	fail "networks and ports do not check: $(cat $T/out)"
grep -q '2 services: configuration OK' "$T/out" || fail "check --config: $(cat $T/out)"
"$PADDOCKCTL" check "$T/net.yaml" >"$T/out" 2>&1 && fail "unknown network accepted without --config"
grep -q "^$T/net.yaml:4:26: unknown network 'backend'; networks: default" "$T/out" ||
	fail "unknown network not at 4:26: $(cat $T/out)"
printf 'networks:\n  backend: {subnet: 10.231.0.5/24}\n' >"$T/bad-net.yaml"
"$PADDOCKCTL" check --config "$T/bad-net.yaml" "$T/net.yaml" >"$T/out" 2>&1 && fail "host bits accepted"
grep -q "^$T/bad-net.yaml:2:21: .*host bits set; did you mean 10.231.0.0/24" "$T/out" ||
	fail "bad subnet not at 2:21: $(cat $T/out)"
pass "check --config: networks from the daemon config, errors on both sides with FILE:LINE:COLUMN"
