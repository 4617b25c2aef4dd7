# SPDX-License-Identifier: GPL-2.0
#
# dom0 half of the Xen demo (make demo-xen, demo-xen.sh): every step is a
# progress line the host prints as it happens. vmsgd --bus xen starts in
# dom0, vmsgctl create starts a PV domU with an rng, a blk, a net (its tap
# here is 10.99.0.2) and an i2c bus with the emulated RTC, the domU
# (t-demo.domu.sh, whose progress dom0 forwards) uses them, dom0 hot-plugs
# a second disk with a message on it and unplugs it again, and once the
# domU has powered off, vmsgd has removed its bus. It runs as a test too
# (run-xen.sh BUILD demo): the assertions keep the demo honest.
. /lib/vmsg/dom0.sh

#@ assert demo-vmsgd
#@ assert demo-create
#@ assert demo-tap
#@ assert demo-connected
#@ assert demo-attach
#@ assert demo-detach
#@ assert demo-cleanup

IMG=/tmp/demo.img
EXTRA=/tmp/extra.img

truncate -s 64M $IMG
truncate -s 8M $EXTRA
printf 'hello from dom0' | dd of=$EXTRA conv=notrunc 2>/dev/null
stage "dom0: starting vmsgd --bus xen"
check demo-vmsgd "vmsgd did not start" vmsgd_start
DEVICES="\"rng\", \"blk,path=$IMG\", \"net,tap=vmsgtap0,mac=52:54:00:76:6d:01\", \"i2c,rtc=0x68\""
domu_config demo "vmsg = [ $DEVICES ]"
stage "dom0: vmsgctl create demo.cfg, with vmsg = [ $DEVICES ]"
if ! vmsgctl create /etc/xen/demo.cfg >/tmp/create.log 2>&1; then
	sed 's/^/VMSG-INFO:   vmsgctl: /' /tmp/create.log
	fail demo-create "vmsgctl create failed"
	exit 1
fi
pass demo-create
ID=$(domu_id demo)
stage "dom0: domU 'demo' is domain $ID; its devices, readable by dom0 only:"
vmsgctl list demo | sed 's/^/VMSG-STAGE: dom0:   device /'
domu_follow demo
if wait_until 120 vmsg_connected "$ID"; then
	pass demo-connected
	stage "dom0: bus connected (xenstore: backend and frontend state 4)"
else
	fail demo-connected "$(vmsg_states "$ID")"
fi
# vmsgd made the net device's tap: dom0's end of the link
if wait_until 60 [ -d /sys/class/net/vmsgtap0 ] &&
   ip addr add 10.99.0.2/24 dev vmsgtap0 && ip link set vmsgtap0 up; then
	pass demo-tap
	stage "dom0: the net device's tap vmsgtap0 is up, 10.99.0.2/24"
else
	fail demo-tap "no tap vmsgtap0, or it did not take 10.99.0.2"
fi
# the domU's progress reaches us through a file: let it catch up
if domu_wait_log demo 240 'VMSG-DOMU: waiting for hotplug'; then
	sleep 1
	stage "dom0: vmsgctl attach demo blk,path=$EXTRA"
	if N=$(vmsgctl attach demo "blk,path=$EXTRA"); then
		pass demo-attach
		stage "dom0: it is device $N"
	else
		fail demo-attach "vmsgctl attach failed"
	fi
else
	fail demo-attach "the domU never got that far"
fi
if domu_wait_log demo 120 'VMSG-DOMU: waiting for unplug'; then
	sleep 1
	stage "dom0: vmsgctl detach demo $N"
	check demo-detach "vmsgctl detach failed" vmsgctl detach demo "$N"
else
	fail demo-detach "the domU never got that far"
fi
domu_wait_gone demo 180
domu_unfollow
stage "dom0: domU powered off"
check demo-cleanup "vmsgd left the bus of domain $ID in xenstore" \
	wait_until 30 vmsg_nodes_gone "$ID"
stage "dom0: vmsgd removed the bus from xenstore; stopping vmsgd"
vmsgd_stop
