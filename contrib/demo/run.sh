#!/bin/bash
# contrib/demo/run.sh - set up everything and run paddockd in the
# foreground on the bundled demo: a busybox httpd on 127.0.0.1:8080, a batch
# job, and a leaky service that is OOM-killed and restarted.
# Ctrl-C stops paddockd, which stops every service and removes its cgroups.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
"$top/contrib/setup.sh"
build=${BUILD_DIR:-$top/build}
demo=/var/lib/paddock-demo
root=$demo/rootfs

# A busybox-static root filesystem with a page for httpd.
if [ ! -x "$root/bin/busybox" ]; then
	mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,www}
	cp /bin/busybox "$root/bin/busybox"
	for a in $("$root/bin/busybox" --list); do [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done
	printf 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/www:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\nwww:x:33:\n' >"$root/etc/group"
	echo '<h1>Hello from a paddock service</h1>' >"$root/www/index.html"
fi
mkdir -p "$demo/services" "$demo/state"
cp "$top/contrib/examples/demo.yaml" "$demo/services/"

cat <<MSG
paddock demo: paddockd runs in the foreground; in another terminal try
  $build/supervisor/paddockctl -s $demo/run/control.sock list
  $build/supervisor/paddockctl -s $demo/run/control.sock status web
  curl http://127.0.0.1:8080/
  $build/supervisor/paddockctl -s $demo/run/control.sock logs -f batch
Ctrl-C stops everything.
MSG
exec "$build/supervisor/paddockd" -f -S "$demo/services" --state-dir "$demo/state" \
	--runtime-dir "$demo/run" --cgroup-root paddock-demo
