# SPDX-License-Identifier: GPL-2.0
#
# dom0 half of the Xen benchmark (make bench-xen, bench-xen.sh): one
# 256 MiB image file of random data in dom0's tmpfs, given to one PV domU
# twice, as a vmsg blk served by vmsgd (/dev/vda in the domU) and as Xen's
# standard PV disk (xen-blkback on a loop device over the same file,
# xen-blkfront, /dev/xvda). The domU (t-bench.domu.sh) runs the same fio
# jobs on both, one device at a time, and prints fio's JSON on its console,
# which bench-xen.sh turns into docs/benchmarks-xen.md. Only that the run
# completed is asserted, never a number.
. /lib/vmsg/dom0.sh

#@ timeout 600
#@ assert bench-vmsgd-start
#@ assert bench-create
#@ assert bench-completed

RUNTIME=$(cmdline_arg vmsg.bench_runtime 10)
IMG=/tmp/bench.img

stage "filling the 256 MiB image with random data"
dd if=/dev/urandom of=$IMG bs=1M count=256 2>/dev/null
losetup /dev/loop0 $IMG || say "losetup /dev/loop0 $IMG failed"
check bench-vmsgd-start "vmsgd did not come up" vmsgd_start --quiet
DOMU_MEMORY=512
DOMU_CMDLINE="console=hvc0 quiet panic=-1 vmsg.bench_runtime=$RUNTIME"
domu_config bench "vmsg = [ \"blk,path=$IMG,serial=vmsg-bench\" ]" \
	"disk = [ 'phy:/dev/loop0,xvda,w' ]"
if vmsgctl create /etc/xen/bench.cfg >/tmp/create.log 2>&1; then
	pass bench-create
	stage "domU bench created (domid $(domu_id bench))"
	domu_follow bench
else
	sed 's/^/VMSG-INFO:   vmsgctl: /' /tmp/create.log
	fail bench-create "vmsgctl create failed"
	exit 1
fi
# 8 jobs of RUNTIME s plus 2 s of ramp, fio's start and our margin
check bench-completed "the domU did not complete the benchmark" \
	domu_wait_log bench $((8 * (RUNTIME + 15) + 180)) \
	'VMSG-DOMU: bench completed'
domu_wait_gone bench 120
domu_unfollow
vmsgd_stop || say "vmsgd did not stop cleanly"
losetup -d /dev/loop0
