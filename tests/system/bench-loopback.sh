#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench-loopback`: fio on vmsg-blk versus the kernel's loop device,
# in one guest, on one image file in guest tmpfs, then iperf3 over
# vmsg-net versus a veth pair between the same two network namespaces
# (guest/bench.sh), and the results written to docs/benchmarks.md. The
# numbers are recorded, never asserted: under TCG they say little in
# absolute terms, the ratio to the kernel's own path is the point.
#
#   tests/system/bench-loopback.sh [BUILD_DIR]
#
# BENCH_RUNTIME (default 10) is the seconds per fio job; 8 jobs run, then
# 4 iperf3 runs of 6 s.
set -u

SYS=$(cd "$(dirname "$0")" && pwd)
. "$SYS/lib.sh"
BUILD_ARG=${1:-build}
RUNTIME=${BENCH_RUNTIME:-10}
DOC=$TOP/docs/benchmarks.md

cd "$TOP" || exit 1
sys_setup "$BUILD_ARG" bench || exit 1
sys_fresh_share bench
mkdir -p "$SHARE/bench"
echo "$RUNTIME" >"$SHARE/bench/runtime"
sys_boot bench bench $(((8 * (RUNTIME + 4) + 4 * 15 + 180) * ${TIMEOUT_SCALE:-1})) 1
rc=$?
bad=$(sys_kernel_problems "$SYSOUT/bench.log" "$SHARE/dmesg-bench.txt")
if [ "$rc" -ne 0 ] || [ -n "$bad" ] ||
   ! grep -aq 'VMSG-INFO: bench completed' "$SYSOUT/bench.log"; then
	echo "bench-loopback: the guest run failed (console: $SYSOUT/bench.log)"
	[ -n "$bad" ] && head -n 5 <<<"$bad"
	tail -n 30 "$SYSOUT/bench.log" | sed 's/^/  | /'
	exit 1
fi
python3 "$SYS/bench-report.py" "$SHARE/bench" "$DOC" "$KVER" "$RUNTIME" \
	"$(qemu-system-x86_64 --version | head -n 1)" || exit 1
echo "bench-loopback: results written to $DOC"
sed -n '/^| test/,/^$/p' "$DOC"
