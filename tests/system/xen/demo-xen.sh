#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo-xen`: builds vmsgd, vmsgctl and the kernel modules, then boots
# Xen 4.17 with Debian's kernel as dom0 in QEMU (TCG, no KVM needed) and
# shows the split-domain stack step by step: vmsgd --bus xen in dom0,
# vmsgctl creating a PV domU whose rng, disk, NIC and I2C RTC come over
# the vmsg Xen bus, the domU using them (ext4, a ping to dom0, hwclock), a
# disk hot-plugged and unplugged, and the bus
# cleaned up once the domU is gone (t-demo.dom0.sh, t-demo.domu.sh). It is
# the Xen harness (run-xen.sh) running the "demo" test, so the steps are
# also checked. Exits 0 once the demo completed with healthy kernels and
# Xen, 1 otherwise.
#
#   tests/system/xen/demo-xen.sh [BUILD_DIR]     (NO_BUILD=1: no make)
set -u

XEN=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$XEN/../../.." && pwd)
BUILD_ARG=${1:-build}

cd "$TOP" || exit 1
mkdir -p "$BUILD_ARG"
if [ "${NO_BUILD:-0}" != 1 ]; then
	echo "== Building vmsgd, vmsgctl and the kernel modules"
	# modules apart, without the caller's MAKEFLAGS: an O= given to the
	# top-level make would reach kbuild and mean something else there
	if ! { make O="$BUILD_ARG" "$BUILD_ARG/vmsgd" "$BUILD_ARG/vmsgctl" &&
	       MAKEFLAGS= make modules extmods; } >"$BUILD_ARG/demo-xen-build.log" 2>&1
	then
		echo "demo-xen: build failed, see $BUILD_ARG/demo-xen-build.log"
		tail -n 20 "$BUILD_ARG/demo-xen-build.log"
		exit 1
	fi
fi
echo "== Booting Xen 4.17, dom0 and a PV domU in QEMU (TCG: about 1-3 minutes)"
"$XEN/run-xen.sh" "$BUILD_ARG" demo 2>&1 | grep -v '^PASS: '
rc=${PIPESTATUS[0]}
echo
if [ "$rc" = 0 ]; then
	echo "== Demo completed" \
	     "(console log: $BUILD_ARG/system/xen/demo/console.log)"
	exit 0
fi
echo "== Demo FAILED (see the lines above; console log:" \
     "$BUILD_ARG/system/xen/demo/console.log)"
exit 1
