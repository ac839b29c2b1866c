#!/bin/bash
# Secrets and environment files (issue 18). Secrets: read by paddockd at
# each start, written into a private read-only tmpfs at /run/secrets (and
# bound onto a target elsewhere) with their owner and mode, announced by
# CREDENTIALS_DIRECTORY; a value never shows in status, --json, logs,
# events, the state dir or the environment; a source open to others, a
# symlink or a FIFO fails the start naming the secret, at once; the host's
# /run/secrets is left alone. Environment files: image < files (later
# wins) < spec environment, an optional missing file is fine, a broken
# line fails the start with FILE:LINE, an edit is seen at the next restart.
# In the VM: PADDOCK_VM_BINS="jq umoci" tests/vm/run.sh tests/integration/57-secrets-envfile.sh
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; need_cmd umoci; setup
grep -q overlay /proc/filesystems || skip "no overlayfs"
make_image "$T/img"
# img:run, v1 with an empty /run (v1 has none).
umoci unpack --image "$T/img:v1" "$T/unp" >/dev/null && mkdir "$T/unp/rootfs/run" &&
	umoci tag --image "$T/img:v1" run && umoci repack --image "$T/img:run" "$T/unp" >/dev/null || fail "umoci: img:run"
rm -rf "$T/unp"

# The host's /run/secrets before: absent, or its listing.
host_before=$(ls -la /run/secrets 2>&1 | grep -v ' \.\.$')
host_existed=no
[ -e /run/secrets ] && host_existed=yes
# A host-fs service's mountpoint: made on the host when missing (empty), removed here.
trap 'rc=$?; [ "$host_existed" = yes ] || rmdir /run/secrets 2>/dev/null; (exit $rc); cleanup' EXIT

VALUE="s3cr3t-$$-$RANDOM-value"
mkdir -p "$T/sec" "$T/env" "$T/named"
chmod 700 "$T/sec"
printf '%s' "$VALUE" >"$T/sec/db_password"
printf 'key-%s' "$VALUE" >"$T/sec/api"
chmod 600 "$T/sec/db_password" "$T/sec/api"
printf '%s' "$VALUE" >"$T/sec/open" && chmod 644 "$T/sec/open"
ln -s /etc/shadow "$T/sec/link"
mkfifo -m 600 "$T/sec/fifo"
head -c 1048577 /dev/zero >"$T/sec/big" && chmod 600 "$T/sec/big"
printf x >"$T/sec/ow" && chmod 602 "$T/sec/ow"
want_db=$(md5sum <"$T/sec/db_password" | cut -d' ' -f1)

printf 'A=from-a\nB=from-a\nC=from-a\nGREETING=from-a\n' >"$T/env/a.env"
printf '# b\nB=from-b\nC=from-b\n' >"$T/env/b.env"
printf 'X=1\n' >"$T/env/bad.env"

cat >"$T/services/s.yaml" <<YAML
services:
  sec:
    image: $T/img:v1
    user: "1000"
    restart: {policy: never}
    secrets:
      - source: $T/sec/db_password
      - {source: $T/sec/api, target: /etc/api.key, uid: 0, gid: 1000, mode: "0440"}
    environment_file: [$T/env/a.env, "-$T/env/missing.env", $T/env/b.env]
    environment: {C: spec}
    command: ["/bin/sh", "-c", "id -u; md5sum /run/secrets/db_password; ls -ln /run/secrets /etc/api.key; exec sleep 1000"]
  rosec:
    image: $T/img:run
    restart: {policy: never}
    isolation: {readonly_rootfs: true}
    secrets: [{source: $T/sec/db_password}]
    command: ["/bin/sh", "-c", "md5sum /run/secrets/db_password; exec sleep 1000"]
  hostsec:
    restart: {policy: never}
    secrets: [{source: $T/sec/api, target: /run/secrets/api}, {source: $T/sec/db_password, target: /run/secrets/sub/db}]
    command: ["/bin/sh", "-c", "exec sleep 1000"]
  norun:
    image: $T/img:v1
    restart: {policy: never}
    isolation: {readonly_rootfs: true}
    secrets: [{source: $T/sec/db_password}]
    command: ["/bin/sh", "-c", "exec sleep 1000"]
  badmode:
    image: $T/img:v1
    restart: {policy: never}
    secrets: [{source: $T/sec/open}]
  badlink:
    image: $T/img:v1
    restart: {policy: never}
    secrets: [{source: $T/sec/link}]
  badfifo:
    image: $T/img:v1
    restart: {policy: never}
    secrets: [{source: $T/sec/fifo}]
  badsize:
    image: $T/img:v1
    restart: {policy: never}
    secrets: [{source: $T/sec/big}, {source: $T/sec/ow}]
  badwrite:
    image: $T/img:v1
    restart: {policy: never}
    secrets: [{source: $T/sec/ow}]
  envbad:
    image: $T/img:v1
    restart: {policy: never}
    environment_file: $T/env/bad.env
    command: ["/bin/sh", "-c", "exec sleep 1000"]
YAML
# A user namespace: not under valgrind, which has no open_tree (tests/valgrind.sh).
userns=yes
[ -z "${PADDOCK_DAEMON_WRAPPER:-}" ] || userns=no
# Nor in the VM: its state dir is on tmpfs, which has no idmapped mounts before Linux 6.3.
[ -z "${PADDOCK_IN_VM:-}" ] || userns=no
[ $userns = no ] || cat >>"$T/services/s.yaml" <<YAML
  usec:
    image: $T/img:v1
    user: "1000:1000"
    restart: {policy: never}
    isolation: {user: {map: "0:600000:65536"}}
    secrets: [{source: $T/sec/db_password, mode: "0440"}]
    command: ["/bin/sh", "-c", "md5sum /run/secrets/db_password; ls -ln /run/secrets; exec sleep 1000"]
YAML
# A secret by NAME, from the daemon config's secrets_dir, where the daemon
# config knows that key (the key lands with issue 18's daemon config work).
printf 'secrets_dir: %s\n' "$T/named" >"$T/paddockd.yaml"
mkdir -p "$T/empty" && chmod 700 "$T/named"
printf 'named-%s' "$VALUE" >"$T/named/db_password" && chmod 400 "$T/named/db_password"
daemon_args=()
if "$PADDOCKD" -n -c "$T/paddockd.yaml" -S "$T/empty" >/dev/null 2>&1; then
	daemon_args=(-c "$T/paddockd.yaml")
	cat >>"$T/services/s.yaml" <<YAML
  named:
    image: $T/img:v1
    restart: {policy: never}
    secrets: [db_password]
    command: ["/bin/sh", "-c", "exec sleep 1000"]
YAML
fi
start_daemon "${daemon_args[@]}"
for s in sec rosec hostsec envbad; do
	wait_for 60 state_is $s running || fail "$s: $(svc_state $s) $(svc_field $s last_exit.reason)"
done
# The service itself: under paddock's init (pid 1 of its namespace) it is init's child.
svc_pid() {
	local p=$(main_pid "$1") c
	c=$(cat /proc/$p/task/$p/children 2>/dev/null)
	c=${c%% *}
	echo "${c:-$p}"
}
pid=$(svc_pid sec)

# --- secrets: content, owner, mode, read-only tmpfs ---
wait_for 10 grep -q "stdout $want_db" "$T/state/logs/sec.log" || fail "the service did not read its secret: $(cat $T/state/logs/sec.log)"
grep -q 'stdout 1000$' "$T/state/logs/sec.log" || fail "sec does not run as 1000"
grep -qE 'stdout -r-------- +1 1000 +1000 .* db_password$' "$T/state/logs/sec.log" || fail "owner/mode of /run/secrets/db_password inside: $(cat $T/state/logs/sec.log)"
grep -qE 'stdout -r--r----- +[0-9]+ 0 +1000 .* /etc/api.key$' "$T/state/logs/sec.log" || fail "owner/mode of /etc/api.key inside: $(cat $T/state/logs/sec.log)"
[ "$(cat /proc/$pid/root/etc/api.key)" = "key-$VALUE" ] || fail "/etc/api.key does not hold the secret"
[ "$(stat -c '%a %u %g' /proc/$pid/root/run/secrets/db_password)" = "400 1000 1000" ] || fail "stat db_password: $(stat -c '%a %u %g' /proc/$pid/root/run/secrets/db_password)"
pass "the service reads /run/secrets/db_password and a bound /etc/api.key with their owner and mode"
mnt=$(awk '$5 == "/run/secrets"' /proc/$pid/mountinfo)
echo "$mnt" | grep -q ' - tmpfs ' || fail "/run/secrets is not a tmpfs: $mnt"
echo "$mnt" | awk '{print $6}' | grep -qw ro || fail "/run/secrets is not mounted read-only: $mnt"
awk '$5 == "/etc/api.key" {print $6}' /proc/$pid/mountinfo | grep -qw ro || fail "/etc/api.key is not read-only: $(grep api.key /proc/$pid/mountinfo)"
echo x 2>/dev/null >/proc/$pid/root/run/secrets/new && fail "could create a file in /run/secrets"
echo x 2>/dev/null >>/proc/$pid/root/run/secrets/db_password && fail "could write the secret"
[ "$(ls -A /proc/$pid/root/run/secrets)" = "db_password" ] || fail "/run/secrets holds more than the secret: $(ls -A /proc/$pid/root/run/secrets)"
pass "/run/secrets is a read-only tmpfs holding just the secret"
tr '\0' '\n' </proc/$pid/environ | grep -qx 'CREDENTIALS_DIRECTORY=/run/secrets' || fail "no CREDENTIALS_DIRECTORY"
pass "CREDENTIALS_DIRECTORY=/run/secrets"
rpid=$(svc_pid rosec)
wait_for 10 grep -q "stdout $want_db" "$T/state/logs/rosec.log" || fail "rosec (readonly_rootfs) did not read its secret: $(cat $T/state/logs/rosec.log)"
awk '$5 == "/run" {print $6, $9}' /proc/$rpid/mountinfo | grep -q '^rw.* tmpfs$' || fail "rosec has no tmpfs on /run: $(grep ' /run' /proc/$rpid/mountinfo)"
wait_for 30 state_is norun failed || fail "norun: $(svc_state norun), expected failed"
r=$(svc_field norun last_exit.reason)
echo "$r" | grep -q 'read-only root has no /run' || fail "norun (read-only image without /run): $(svc_state norun) $r"
pass "a read-only root gets its secrets on a tmpfs over its /run; one without /run is refused: $r"
hpid=$(svc_pid hostsec)
[ "$(cat /proc/$hpid/root/run/secrets/api)" = "key-$VALUE" ] || fail "hostsec does not see its secret"
[ "$(cat /proc/$hpid/root/run/secrets/sub/db)" = "$VALUE" ] || fail "hostsec does not see its secret in a subdirectory"
awk '$5 == "/run/secrets/sub/db" {print $6}' /proc/$hpid/mountinfo | grep -qw ro || fail "/run/secrets/sub/db is not read-only"
awk '$5 == "/run/secrets"' /proc/self/mountinfo | grep -q . && fail "the host has a mount on /run/secrets"
if [ "$host_existed" = yes ]; then
	[ "$(ls -la /run/secrets 2>&1 | grep -v ' \.\.$')" = "$host_before" ] || fail "the host's /run/secrets changed"
else
	[ -z "$(ls -A /run/secrets 2>/dev/null)" ] || fail "the host's /run/secrets has files: $(ls -A /run/secrets)"
fi
pass "a host-fs service has its secrets in its own mount namespace; the host's /run/secrets holds nothing"
if [ $userns = yes ]; then
	wait_for 60 state_is usec running || fail "usec: $(svc_state usec) $(svc_field usec last_exit.reason)"
	wait_for 10 grep -q "stdout $want_db" "$T/state/logs/usec.log" || fail "usec did not read its secret: $(cat $T/state/logs/usec.log)"
	grep -qE 'stdout -r--r----- +1 1000 +1000 .* db_password$' "$T/state/logs/usec.log" || fail "owner/mode inside usec's user namespace: $(cat $T/state/logs/usec.log)"
	[ "$(stat -c '%u %g' /proc/$(svc_pid usec)/root/run/secrets/db_password)" = "601000 601000" ] || fail "usec's secret is not owned by 601000 on the host: $(stat -c '%u %g' /proc/$(svc_pid usec)/root/run/secrets/db_password)"
	pass "in a user namespace the secret belongs to the service's user as mapped (1000 inside, 601000 outside)"
fi
if [ ${#daemon_args[@]} -gt 0 ]; then
	wait_for 30 state_is named running || fail "named: $(svc_state named) $(svc_field named last_exit.reason)"
	[ "$(cat /proc/$(svc_pid named)/root/run/secrets/db_password)" = "named-$VALUE" ] || fail "named: /run/secrets/db_password is not secrets_dir's"
	pass "a secret by NAME comes from the daemon config's secrets_dir"
else
	log "no secrets_dir in this daemon config yet: the NAME form is not tested"
fi

# --- refusals ---
for s in badmode badlink badfifo badsize badwrite; do
	wait_for 10 state_is $s failed || fail "$s: $(svc_state $s), expected failed"
done
r=$(svc_field badmode last_exit.reason)
echo "$r" | grep -q "secret 'open'" && echo "$r" | grep -q 'readable by others (mode 0644)' || fail "badmode: $r"
r=$(svc_field badlink last_exit.reason)
echo "$r" | grep -q "secret 'link'" && echo "$r" | grep -q 'symlink' || fail "badlink: $r"
r=$(svc_field badfifo last_exit.reason)
echo "$r" | grep -q "secret 'fifo'" && echo "$r" | grep -q 'FIFO, not a regular file' || fail "badfifo: $r"
r=$(svc_field badsize last_exit.reason)
echo "$r" | grep -q "secret 'big': .* is larger than 1048576 bytes" || fail "badsize: $r"
r=$(svc_field badwrite last_exit.reason)
echo "$r" | grep -q "secret 'ow': .* is writable by others (mode 0602)" || fail "badwrite: $r"
pass "a source open to others, a symlink, a FIFO and one above 1 MiB fail the start, naming the secret"

# --- the value is nowhere ---
ctl status --json >"$T/out.json" || fail "status --json"
ctl status >"$T/out.txt" 2>&1
for s in sec rosec hostsec badmode; do ctl logs $s >>"$T/out.txt" 2>&1; done
ctl events --json >>"$T/out.txt" 2>&1
for f in "$T/out.json" "$T/out.txt" "$T/daemon.log" /proc/$pid/environ /proc/$rpid/environ /proc/$hpid/environ; do
	grep -qa "$VALUE" "$f" && fail "the secret's value is in $f"
done
leaked=$(find "$T/state" "$T/run" -path "$T/state/layers" -prune -o -type f -exec grep -la "$VALUE" {} +)
[ -z "$leaked" ] || fail "the secret's value is in the state or runtime dir: $leaked"
[ -n "$(find "$T/state" -name '*.log' -exec grep -l "$want_db" {} +)" ] || fail "the leak search reads nothing"
pass "the value is in no status, log, event, state file or environment"

# --- environment files ---
envof() { tr '\0' '\n' </proc/$1/environ; }
e=$(envof $pid)
for kv in A=from-a B=from-b C=spec GREETING=from-a; do
	echo "$e" | grep -qx "$kv" || fail "environ lacks $kv: $e"
done
pass "image < environment files (later wins) < environment; an optional missing file is skipped"
printf 'A=edited\nB=from-a\n' >"$T/env/a.env"
ctl restart sec >/dev/null || fail "restart sec"
edited() { local p; p=$(svc_pid sec); [ "$p" != "$pid" ] && envof "$p" | grep -qx A=edited; }
wait_for 30 edited || fail "the edited env file was not read at restart: $(envof $(svc_pid sec))"
pass "an edited env file is read at the next restart"
printf 'X=1\nnot a variable line\n' >"$T/env/bad.env"
ctl restart envbad >/dev/null 2>&1
wait_for 10 state_is envbad failed || fail "envbad: $(svc_state envbad), expected failed"
r=$(svc_field envbad last_exit.reason)
echo "$r" | grep -q "bad.env:2" || fail "envbad's reason lacks FILE:LINE: $r"
ctl status envbad 2>&1 | grep -q 'bad.env:2' || fail "status does not show the env file error"
pass "a broken env file fails the start with FILE:LINE: $r"

ctl stop sec rosec hostsec envbad usec named >/dev/null 2>&1
stop_daemon || fail "daemon exit status"
if [ "$host_existed" = no ] && [ -d /run/secrets ]; then
	rmdir /run/secrets || fail "the host's /run/secrets is not empty: $(ls -A /run/secrets)"
fi
pass "done"
