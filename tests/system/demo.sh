#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: builds the daemon and the kernel modules, boots the loopback
# stack in QEMU (TCG) and shows every device model working over virtio-msg
# with Linux's own drivers, step by step (the guest half is guest/demo.sh):
# rng, blk, net (bridged to the guest's e1000 on QEMU user networking, to
# fetch a file from a small HTTP server run here on 127.0.0.1), i2c (an
# RTC read and set with hwclock), input and console. Exits 0 once the demo
# completed with a healthy guest kernel, 1 otherwise.
#
#   tests/system/demo.sh [BUILD_DIR]      (NO_BUILD=1 skips the make step)
set -u

SYS=$(cd "$(dirname "$0")" && pwd)
. "$SYS/lib.sh"
BUILD_ARG=${1:-build}

# An HTTP server on 127.0.0.1 (a free port, written to $SHARE/demo/port)
# for the guest's NIC to reach through QEMU's user network
start_http() {
	python3 - "$SHARE/demo" >"$SYSOUT/demo-http.log" 2>&1 <<-'PY' &
	import functools, http.server, os, sys
	d = sys.argv[1]
	handler = functools.partial(http.server.SimpleHTTPRequestHandler,
	                            directory=os.path.join(d, "www"))
	srv = http.server.HTTPServer(("127.0.0.1", 0), handler)
	with open(os.path.join(d, "port.tmp"), "w") as f:
	    f.write(f"{srv.server_address[1]}\n")
	os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
	srv.serve_forever()
	PY
	HTTP_PID=$!
	for _ in $(seq 50); do
		[ -s "$SHARE/demo/port" ] && return 0
		sleep 0.1
	done
	echo "demo: the HTTP server did not start, see $SYSOUT/demo-http.log"
	return 1
}

cd "$TOP" || exit 1
mkdir -p "$BUILD_ARG"
if [ "${NO_BUILD:-0}" != 1 ]; then
	echo "== Building vmsgd, vmsgctl and the kernel modules"
	# modules apart, without the caller's MAKEFLAGS: an O= given to
	# the top-level make would reach kbuild and mean something else there
	if ! { make O="$BUILD_ARG" "$BUILD_ARG/vmsgd" "$BUILD_ARG/vmsgctl" \
		"$BUILD_ARG/tools/uinput-emit" "$BUILD_ARG/tools/evdev-read" &&
	       MAKEFLAGS= make modules extmods; } >"$BUILD_ARG/demo-build.log" 2>&1; then
		echo "demo: build failed, see $BUILD_ARG/demo-build.log"
		tail -n 20 "$BUILD_ARG/demo-build.log"
		exit 1
	fi
fi
echo "== Building the guest's initramfs"
sys_setup "$BUILD_ARG" demo 2>&1 || exit 1
sys_fresh_share demo
mkdir -p "$SHARE/tools" "$SHARE/demo/www"
cp "$BUILD/tools/uinput-emit" "$BUILD/tools/evdev-read" "$SHARE/tools/" || exit 1
echo "Hello from the host $(hostname), $(date -u '+%F %T UTC'): this file came" \
     "over HTTP through QEMU's user network, the guest's e1000, a bridge, a tap," \
     "vmsgd and virtio-msg into virtio_net." >"$SHARE/demo/www/hello.txt"
start_http || exit 1
echo "== Booting Debian's kernel $KVER in QEMU (TCG, 2 CPUs, 2 GiB)"
# the guest's "real" NIC: user networking, where 10.0.2.2 is this host
SYS_QEMU_ARGS=(-netdev user,id=net0
	       -device e1000,netdev=net0,mac=52:54:00:12:34:56)
sys_boot demo demo $((300 * ${TIMEOUT_SCALE:-1})) 1 2>&1
rc=$?
kill "$HTTP_PID" 2>/dev/null
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
