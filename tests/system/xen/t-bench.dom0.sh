# SPDX-License-Identifier: GPL-2.0
#
# dom0 half of the Xen benchmark (make bench-xen, bench-xen.sh): one
# 256 MiB image file of random data in dom0's tmpfs, given to one PV domU
# twice, as a vmsg blk served by vmsgd (/dev/vda in the domU) and as Xen's
# standard PV disk (xen-blkback on a loop device over the same file,
# xen-blkfront, /dev/xvda). The domU (t-bench.domu.sh) runs the same fio
# jobs on both, one device at a time, and prints fio's JSON on its console,
# which bench-xen.sh turns into docs/benchmarks-xen.md. The domU also
# gets two NICs for iperf3 against a server here: a vmsg net device (tap
# vmsgtap0, 10.99.0.2 here) and Xen's PV network (xen-netback's vif,
# 10.98.0.2 here, set up by the hotplug script below). Only that the run
# completed is asserted, never a number.
. /lib/vmsg/dom0.sh

#@ timeout 600
#@ assert bench-vmsgd-start
#@ assert bench-create
#@ assert bench-completed

RUNTIME=$(cmdline_arg vmsg.bench_runtime 10)
IMG=/tmp/bench.img
TAP=vmsgtap0
VIF_SCRIPT=/etc/xen/scripts/vif-bench

# The vif hotplug script libxl runs ("online"/"offline" as $1, the backend
# path in XENBUS_PATH, the interface in $vif) and waits on: Debian's
# vif-route needs a bridge or routing we do not want; this one only gives
# the vif a private address and reports it connected.
write_vif_script() {
	cat >$VIF_SCRIPT <<-'SCRIPT'
	#!/bin/sh
	# bench only: address the domU's vif, no bridge, no routes
	PATH=/usr/sbin:/usr/bin:/sbin:/bin
	[ "$1" = online ] || exit 0
	p=${XENBUS_PATH#*/backend/vif/}
	dev=${vif:-vif${p%/*}.${p#*/}}
	ip addr add 10.98.0.2/24 dev "$dev" && ip link set "$dev" up &&
		xenstore-write "$XENBUS_PATH/hotplug-status" connected
	SCRIPT
	chmod 755 $VIF_SCRIPT
}

# vmsgd makes the tap when the domU's net device comes up; iperf3's server
# answers on both NICs, one test at a time
setup_net() {
	wait_until 60 [ -d /sys/class/net/$TAP ] &&
		ip addr add 10.99.0.2/24 dev $TAP && ip link set $TAP up ||
		say "no tap $TAP: the vmsg-net rows will be missing"
	iperf3 -s >/tmp/iperf3-s.log 2>&1 &
	IPERF=$!
}

stage "filling the 256 MiB image with random data"
dd if=/dev/urandom of=$IMG bs=1M count=256 2>/dev/null
losetup /dev/loop0 $IMG || say "losetup /dev/loop0 $IMG failed"
write_vif_script
check bench-vmsgd-start "vmsgd did not come up" vmsgd_start --quiet
DOMU_MEMORY=512
DOMU_CMDLINE="console=hvc0 quiet panic=-1 vmsg.bench_runtime=$RUNTIME"
domu_config bench "vmsg = [ \"blk,path=$IMG,serial=vmsg-bench\", \
\"net,tap=$TAP,mac=52:54:00:76:6d:01\" ]" \
	"disk = [ 'phy:/dev/loop0,xvda,w' ]" \
	"vif = [ 'mac=00:16:3e:76:6d:02,ip=10.98.0.1,script=$VIF_SCRIPT' ]"
if vmsgctl create /etc/xen/bench.cfg >/tmp/create.log 2>&1; then
	pass bench-create
	stage "domU bench created (domid $(domu_id bench))"
	domu_follow bench
	setup_net
else
	sed 's/^/VMSG-INFO:   vmsgctl: /' /tmp/create.log
	fail bench-create "vmsgctl create failed"
	exit 1
fi
# 8 jobs of RUNTIME s plus 2 s of ramp, fio's start and our margin; 4
# iperf3 runs of 6 s plus theirs
check bench-completed "the domU did not complete the benchmark" \
	domu_wait_log bench $((8 * (RUNTIME + 15) + 4 * 20 + 180)) \
	'VMSG-DOMU: bench completed'
domu_wait_gone bench 120
domu_unfollow
kill $IPERF 2>/dev/null
vmsgd_stop || say "vmsgd did not stop cleanly"
losetup -d /dev/loop0
