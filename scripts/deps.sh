#!/bin/sh
# SPDX-License-Identifier: MIT
# Install every build and test dependency of vfwarden with apt-get.
# Idempotent: packages already present are not touched, and the
# bookworm-backports source is added once, derived from the Debian
# source the host already uses (same URI and key, other suite).
set -eu

BUILD_PKGS="build-essential pkg-config libinih-dev libnl-3-dev libnl-route-3-dev
 libnl-genl-3-dev libudev-dev libkmod-dev libjson-c-dev libxml2-dev libvirt-dev
 debhelper dpkg-dev fakeroot"
TEST_PKGS="bats bats-assert bats-support iproute2 valgrind clang
 busybox-static cpio kmod zstd xz-utils python3 pciutils
 python3-prometheus-client ansible-core iputils-ping strace bash-completion time
 git lintian rpm ansible-lint jq"
# metrics.bats checks status --prometheus with promtool (package prometheus,
# whose daemon this script does not start); man.bats lints the man pages
# with mandoc.
TEST_PKGS="$TEST_PKGS mandoc prometheus"
BPO_PKGS="qemu-system-x86 qemu-utils"
# For the real-kernel tests (tests/vm): the host's / is the guest's root, so
# what the guest runs (udevd, libvirtd for --libvirt) is installed here.
# They are never started on the host (see no_service_starts below).
VM_PKGS="udev libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu
 patch dpkg-dev"

missing() {
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || echo "$p"
	done
}

add_backports() {
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		grep -qs 'bookworm-backports' "$f" && return 1
	done
	src=/etc/apt/sources.list.d/debian.sources
	uri=""; key=""
	if [ -f "$src" ]; then
		uri=$(awk '/^URIs:/ && /debian\/?$/ && !/security/ {print $2; exit}' "$src")
		key=$(awk '/^Signed-By:/ {print $2; exit}' "$src")
	fi
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		uri=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || { echo "deps: no Debian bookworm source found to derive bookworm-backports from" >&2; exit 1; }
	{
		echo "Types: deb"
		echo "URIs: $uri"
		echo "Suites: bookworm-backports"
		echo "Components: main"
		[ -n "$key" ] && echo "Signed-By: $key"
	} > /etc/apt/sources.list.d/vfwarden-backports.sources
	return 0
}

# Package scripts must not start daemons (udevd, libvirtd, virtlogd) on
# the host: without a policy-rc.d of our own, add one that refuses every
# start for the duration of this script.
no_service_starts() {
	[ -e /usr/sbin/policy-rc.d ] && return 0
	printf '#!/bin/sh\n# vfwarden deps.sh: no service starts during install\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
}

export DEBIAN_FRONTEND=noninteractive
no_service_starts
updated=0
if add_backports; then apt-get update -q; updated=1; fi

need=$(missing $BUILD_PKGS $TEST_PKGS $VM_PKGS)
if [ -n "$need" ]; then
	[ $updated = 1 ] || { apt-get update -q; updated=1; }
	apt-get install -y -q --no-install-recommends $need
fi

qv=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
case "$qv" in
1:[89].*|1:1[0-9].*) ;;
*)
	[ $updated = 1 ] || apt-get update -q
	apt-get install -y -q --no-install-recommends -t bookworm-backports $BPO_PKGS
	;;
esac
