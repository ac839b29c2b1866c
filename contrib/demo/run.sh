#!/bin/bash
# contrib/demo/run.sh - set up everything and run paddockd in the
# foreground on the bundled demo: an OCI image built from busybox-static,
# and from it a busybox httpd on 127.0.0.1:8080, a batch job, and a leaky
# service that is OOM-killed and restarted.
# Ctrl-C stops paddockd, which stops every service and removes its cgroups.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
"$top/contrib/setup.sh"
build=${BUILD_DIR:-$top/build}
demo=/var/lib/paddock-demo

# An OCI image built from busybox-static with umoci: a base layer with
# busybox and /etc, and a layer with the web page. The services run on
# overlays of its layers, unpacked once into paddock's layer store.
img=$demo/image
if [ ! -f "$img/index.json" ]; then
	b=$(mktemp -d)
	umoci init --layout "$img"
	umoci new --image "$img:demo"
	umoci unpack --image "$img:demo" "$b/1" >/dev/null
	r=$b/1/rootfs
	mkdir -p "$r"/{bin,etc,tmp,proc,sys,dev}
	cp /bin/busybox "$r/bin/busybox"
	for a in $("$r/bin/busybox" --list); do
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/www:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\nwww:x:33:\n' >"$r/etc/group"
	umoci repack --image "$img:demo" "$b/1" >/dev/null
	umoci unpack --image "$img:demo" "$b/2" >/dev/null
	mkdir -p "$b/2/rootfs/www"
	echo '<h1>Hello from a paddock service</h1>' >"$b/2/rootfs/www/index.html"
	umoci repack --image "$img:demo" "$b/2" >/dev/null
	rm -rf "$b"
fi
mkdir -p "$demo/services" "$demo/state"
cp "$top/contrib/examples/demo.yaml" "$demo/services/"

cat <<MSG
paddock demo: paddockd runs in the foreground; in another terminal try
  $build/supervisor/paddockctl -s $demo/run/control.sock list
  $build/supervisor/paddockctl -s $demo/run/control.sock status web
  curl http://127.0.0.1:8080/
  $build/supervisor/paddockctl -s $demo/run/control.sock logs -f batch
  $build/supervisor/paddockctl -s $demo/run/control.sock events -f
  curl -s http://127.0.0.1:9464/metrics | grep paddock_memory_usage_bytes
Ctrl-C stops everything.
MSG
printf 'metrics: {listen: "127.0.0.1:9464"}\n' >"$demo/paddock.yaml"
exec "$build/supervisor/paddockd" -f -c "$demo/paddock.yaml" -S "$demo/services" \
	--state-dir "$demo/state" --runtime-dir "$demo/run" --cgroup-root paddock-demo
