#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench-xen`: fio in a PV domU on vmsg-blk (virtio_blk over the vmsg
# Xen bus, vmsgd in dom0) versus Xen's standard PV disk (xen-blkfront,
# xen-blkback), in the same boot and on the same backing file in dom0, and
# iperf3 both ways over vmsg-net (virtio_net, a tap in dom0) versus Xen's
# PV network (xen-netfront, xen-netback) in the same boot
# (t-bench.dom0.sh, t-bench.domu.sh), run under the Xen harness
# (run-xen.sh), and the results written to docs/benchmarks-xen.md by
# bench-report-xen.py. The numbers are recorded, never asserted: under TCG
# they say little in absolute terms, the ratio is the point. It does not
# touch docs/benchmarks.md (bench-loopback.sh's).
#
#   tests/system/xen/bench-xen.sh [BUILD_DIR]
#
# BENCH_RUNTIME (default 10) is the seconds per fio job; 8 jobs run, then
# 4 iperf3 runs of 5 s.
# NO_BUILD=1 skips building vmsgd, vmsgctl and the modules.
set -u

XEN=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$XEN/../../.." && pwd)
BUILD_ARG=${1:-build}
RUNTIME=${BENCH_RUNTIME:-10}
DOC=$TOP/docs/benchmarks-xen.md
JOBS="randread-qd1 randread-qd32 seqread-1m seqwrite-1m"
IPERFS="vmsg-send vmsg-recv vif-send vif-recv"

die() { echo "bench-xen: $*" >&2; exit 1; }

build() {
	[ "${NO_BUILD:-0}" = 1 ] && return 0
	echo "== Building vmsgd, vmsgctl and the kernel modules"
	# modules apart, without the caller's MAKEFLAGS: an O= given to the
	# top-level make would reach kbuild and mean something else there
	{ make O="$BUILD_ARG" "$BUILD_ARG/vmsgd" "$BUILD_ARG/vmsgctl" &&
	  MAKEFLAGS= make modules; } >"$BUILD_ARG/bench-xen-build.log" 2>&1 ||
		die "build failed, see $BUILD_ARG/bench-xen-build.log"
}

# frame CONSOLE NAME OUT: the domU's "NAME" log frame into OUT
frame() {
	tr -d '\r' <"$1" | sed -n "/LOG-BEGIN: $2\$/,/LOG-END: $2\$/p" |
		sed '1d;$d' >"$3"
	[ -s "$3" ] || die "no result $2 in $1"
}

# extract CONSOLE DIR: each "fio-DEV-JOB" frame of the domU's console
# into DIR/DEV-JOB.json, each "iperf-PATH-DIR" into DIR/iperf-PATH-DIR.json
extract() {
	local clog=$1 dir=$2 d j

	rm -rf "$dir"
	mkdir -p "$dir"
	for j in $JOBS; do
		for d in vda xvda; do
			frame "$clog" "fio-$d-$j" "$dir/$d-$j.json"
		done
	done
	for j in $IPERFS; do
		frame "$clog" "iperf-$j" "$dir/iperf-$j.json"
	done
}

cd "$TOP" || exit 1
mkdir -p "$BUILD_ARG"
build
BUILD=$(cd "$BUILD_ARG" && pwd)
OUT=$BUILD/system/xen/bench
mkdir -p "$BUILD/system/xen"
# the harness's bound is 600 s; longer jobs need a larger one
need=$((8 * (RUNTIME + 15) + 4 * 20 + 360))
scale=$(((need + 599) / 600))
echo "== Booting Xen with dom0 and one PV domU in QEMU (TCG);" \
     "8 fio jobs of ${RUNTIME}s each, 4 iperf3 runs of 5s"
DOM0_ARGS="vmsg.bench_runtime=$RUNTIME" \
	TIMEOUT_SCALE=$((scale * ${TIMEOUT_SCALE:-1})) \
	"$XEN/run-xen.sh" "$BUILD" bench >"$BUILD/system/xen/bench.results"
rc=$?
cat "$BUILD/system/xen/bench.results"
[ "$rc" = 0 ] || die "the benchmark run failed (console: $OUT/console.log)"
extract "$OUT/console.log" "$OUT/results"
python3 "$XEN/bench-report-xen.py" "$OUT/results" "$DOC" \
	"$("$TOP/tests/system/kernel-version.sh")" "$RUNTIME" \
	"$(qemu-system-x86_64 --version | head -n 1)" \
	"$(grep -a -m1 -o 'Xen version [^ ]*' "$OUT/console.log")" ||
	die "bench-report-xen.py failed"
echo "bench-xen: results written to $DOC"
sed -n '/^| test/,/^$/p' "$DOC"
