#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: builds the daemon and the kernel modules, boots the loopback
# stack in QEMU (TCG) and shows virtio-rng and virtio-blk working over
# virtio-msg, step by step (the guest half is guest/demo.sh). Exits 0 once
# the demo completed with a healthy guest kernel, 1 otherwise.
#
#   tests/system/demo.sh [BUILD_DIR]      (NO_BUILD=1 skips the make step)
set -u

SYS=$(cd "$(dirname "$0")" && pwd)
. "$SYS/lib.sh"
BUILD_ARG=${1:-build}

cd "$TOP" || exit 1
mkdir -p "$BUILD_ARG"
if [ "${NO_BUILD:-0}" != 1 ]; then
	echo "== Building vmsgd, vmsgctl and the kernel modules"
	# modules apart, without the caller's MAKEFLAGS: an O= given to
	# the top-level make would reach kbuild and mean something else there
	if ! { make O="$BUILD_ARG" "$BUILD_ARG/vmsgd" "$BUILD_ARG/vmsgctl" &&
	       MAKEFLAGS= make modules extmods; } >"$BUILD_ARG/demo-build.log" 2>&1; then
		echo "demo: build failed, see $BUILD_ARG/demo-build.log"
		tail -n 20 "$BUILD_ARG/demo-build.log"
		exit 1
	fi
fi
echo "== Building the guest's initramfs"
sys_setup "$BUILD_ARG" demo 2>&1 || exit 1
sys_fresh_share demo
echo "== Booting Debian's kernel $KVER in QEMU (TCG, 2 CPUs, 2 GiB)"
sys_boot demo demo $((300 * ${TIMEOUT_SCALE:-1})) 1 2>&1
rc=$?
echo
bad=$(sys_kernel_problems "$SYSOUT/demo.log" "$SHARE/dmesg-demo.txt")
if [ "$rc" -eq 0 ] && grep -aq 'VMSG-DEMO: demo completed' "$SYSOUT/demo.log" &&
   [ -z "$bad" ]; then
	echo "== Demo completed (console log: $SYSOUT/demo.log)"
	exit 0
fi
echo "== Demo FAILED (console log: $SYSOUT/demo.log)"
[ -n "$bad" ] && echo "kernel problems:" && head -n 5 <<<"$bad"
tail -n 40 "$SYSOUT/demo.log" | sed 's/^/  | /'
exit 1
