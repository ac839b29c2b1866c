#!/bin/bash
# contrib/setup.sh - install what paddock needs on Debian 12 and build it
# into ./build (out of tree). By itself it installs what building paddock
# and running the demo (contrib/demo/run.sh) take, nothing more.
#
#   contrib/setup.sh [--tests] [--no-build] [PACKAGE...]
#
#   --tests              also the tools tests/run-all uses (it passes this)
#   --no-build           install only
#   PACKAGE...           more Debian packages (the benchmarks name theirs)
#   PADDOCK_SKIP_APT=1   don't run apt-get (everything is installed)
#   BUILD_DIR=DIR        build there instead of ./build
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$top/build}

# Building paddock, and the demo: an OCI image made from busybox-static
# with umoci, services it shows with curl.
PACKAGES="build-essential autoconf automake libtool pkg-config
 libevent-dev libyaml-dev libsystemd-dev libarchive-dev libssl-dev libjson-c-dev
 libcurl4-openssl-dev zlib1g-dev
 libseccomp-dev libcap-dev libmnl-dev libnftables-dev libbpf-dev
 busybox-static umoci curl"

# tests/run-all, by the part that needs each:
#   clang-format          the format check
#   libcmocka-dev         make check (configure builds no unit test without it)
#   jq python3 stress-ng prometheus systemd libcap2-bin procps util-linux
#                         integration scripts (jq everywhere; python3: 17, 26,
#                         28 and valgrind.sh; stress-ng: 32-rebalance and the
#                         VM; prometheus: 23-metrics; systemd-socket-activate:
#                         19; setcap: 27; pgrep: 41; setpriv, prlimit,
#                         nsenter, unshare)
#   qemu-system-x86 cpio xz-utils   the pure cgroup v2 VM (tests/vm/run.sh)
#   valgrind              tests/valgrind.sh (it fetches 3.24 for part 2)
#   clang libclang-rt-14-dev        the libFuzzer harnesses (tests/fuzz/run.sh)
#   chromium chromium-driver python3-selenium
#                         the dashboard in a real browser (67-dashboard)
#   etcd-server           the fleet's 3-member etcd cluster (69-fleet)
#   wrk                   contrib/bench/api
#   nodejs (npm)          66-api's OpenAPI validator, an npm module installed
#                         below /opt/paddock-npm (OPENAPI_VALIDATOR_VERSION)
#   docker-registry skopeo openssl apache2-utils
#                         registry pulls: test-registry end to end (skipped
#                         without), 55-pull and 56-pull-hostile (the
#                         registry, loading it, the test CA and token
#                         signer, htpasswd -B)
TEST_PACKAGES="clang-format libcmocka-dev
 jq python3 stress-ng prometheus systemd libcap2-bin procps util-linux
 qemu-system-x86 cpio xz-utils valgrind clang libclang-rt-14-dev
 docker-registry skopeo openssl apache2-utils
 chromium chromium-driver python3-selenium etcd-server wrk nodejs"

build=1 tests=0 extra=""
for a in "$@"; do
	case $a in
	--tests) tests=1 ;;
	--no-build) build=0 ;;
	-h | --help) sed -n '2,12p' "$0"; exit 0 ;;
	-*) echo "setup: unknown option $a" >&2; exit 2 ;;
	*) extra="$extra $a" ;;
	esac
done
want="$PACKAGES $extra"
[ $tests = 0 ] || want="$want $TEST_PACKAGES"

if [ "${PADDOCK_SKIP_APT:-0}" != 1 ]; then
	missing=""
	for p in $want; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "setup: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		apt-get install -y -q --no-install-recommends $missing
	fi
fi
# 66-api validates /v1/openapi.json with @seriousme/openapi-schema-validator
# (its validate-api command), kept in a prefix of its own, not global.
OPENAPI_VALIDATOR_VERSION=2.11.0
if [ $tests = 1 ] && [ ! -x /opt/paddock-npm/node_modules/.bin/validate-api ]; then
	# Debian's nodejs comes without npm (NodeSource's has it built in).
	if ! command -v npm >/dev/null && [ "${PADDOCK_SKIP_APT:-0}" != 1 ]; then
		apt-get install -y -q --no-install-recommends npm
	fi
	if command -v npm >/dev/null; then
		npm install --prefix /opt/paddock-npm --no-audit --no-fund \
			"@seriousme/openapi-schema-validator@$OPENAPI_VALIDATOR_VERSION" ||
			echo "setup: npm registry unreachable; 66-api will fail without its validator" >&2
	else
		echo "setup: no npm; 66-api will fail without its OpenAPI validator" >&2
	fi
fi
[ $build = 1 ] || exit 0

cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] || ./autogen.sh >/dev/null
mkdir -p "$BUILD_DIR"
cd "$BUILD_DIR"
[ -f Makefile ] || "$top/configure" --enable-werror --prefix=/usr --sysconfdir=/etc --localstatedir=/var >/dev/null
# A tree configured before cmocka was installed (the demo's) builds no unit
# test, and make check would pass without running any: configure it again.
if [ $tests = 1 ] && grep -q "^HAVE_CMOCKA_TRUE='#'" config.log && pkg-config --exists cmocka; then
	echo "setup: cmocka is installed now: configuring $BUILD_DIR again"
	./config.status --recheck >/dev/null && ./config.status >/dev/null
fi
make -j"$(nproc)" >/dev/null
echo "setup: built in $BUILD_DIR"
