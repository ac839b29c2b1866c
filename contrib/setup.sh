#!/bin/bash
# contrib/setup.sh - install what paddock needs on Debian 12 and build it
# into ./build (out of tree). Used by the demo, the test suite and CI.
#   PADDOCK_SKIP_APT=1   don't run apt-get (everything is installed)
#   BUILD_DIR=DIR        build there instead of ./build
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$top/build}

# Build deps, test tools, and the reference tools later benchmarks compare with.
PACKAGES="build-essential autoconf automake libtool pkg-config clang-format
 libevent-dev libyaml-dev libsystemd-dev libarchive-dev libssl-dev libjson-c-dev
 libseccomp-dev libcap-dev libcmocka-dev
 busybox-static jq python3 cpio xz-utils qemu-system-x86 util-linux iproute2 procps file systemd
 runc umoci stress-ng hyperfine prometheus curl supervisor clang libclang-rt-14-dev
 libcap2-bin valgrind"

if [ "${PADDOCK_SKIP_APT:-0}" != 1 ]; then
	missing=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "setup: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		apt-get install -y -q --no-install-recommends $missing
	fi
fi

cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] || ./autogen.sh >/dev/null
mkdir -p "$BUILD_DIR"
cd "$BUILD_DIR"
[ -f Makefile ] || "$top/configure" --enable-werror --prefix=/usr --sysconfdir=/etc --localstatedir=/var >/dev/null
make -j"$(nproc)" >/dev/null
echo "setup: built in $BUILD_DIR"
