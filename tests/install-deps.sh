#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs the Debian packages the build, the tests and the demos need.
# Only calls apt-get when something is missing, unless --always is given
# (CI), which runs `apt-get update` and installs the whole list regardless.
set -eu

PACKAGES=(
	# user space build and unit tests
	gcc make libc6-dev pkg-config libcmocka-dev liburing-dev libxen-dev
	# fuzzers (libFuzzer) and sanitizers
	clang libclang-rt-14-dev
	# kernel modules and their checks
	linux-image-amd64 linux-headers-amd64 linux-source-6.1 sparse kmod perl
	# device-tree example
	device-tree-compiler
	# QEMU system tests and the guest's tools
	qemu-system-x86 busybox-static cpio gzip fio e2fsprogs dmsetup i2c-tools
	iperf3 iproute2
	python3
	# Xen system tests
	xen-hypervisor-4.17-amd64 xen-utils-4.17 xenstore-utils
)

missing=()
if [ "${1:-}" = --always ]; then
	missing=("${PACKAGES[@]}")
else
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${missing[@]}"
