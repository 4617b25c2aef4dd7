# SPDX-License-Identifier: GPL-2.0
#
# dom0 half of the Xen demo (make demo-xen, demo-xen.sh): every step is a
# progress line the host prints as it happens. vmsgd --bus xen starts in
# dom0, vmsgctl create starts a PV domU with an rng and a blk, the domU
# (t-demo.domu.sh, whose progress dom0 forwards) uses them, dom0 hot-plugs
# a second disk with a message on it and unplugs it again, and once the
# domU has powered off, vmsgd has removed its bus. It runs as a test too
# (run-xen.sh BUILD demo): the assertions keep the demo honest.
. /lib/vmsg/dom0.sh

#@ assert demo-vmsgd
#@ assert demo-create
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
domu_config demo "vmsg = [ \"rng\", \"blk,path=$IMG\" ]"
stage "dom0: vmsgctl create demo.cfg, with vmsg = [ \"rng\", \"blk,path=$IMG\" ]"
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
# the domU's progress reaches us through a file: let it catch up
if domu_wait_log demo 240 'VMSG-DOMU: waiting for hotplug'; then
	sleep 1
	stage "dom0: vmsgctl attach demo blk,path=$EXTRA"
	check demo-attach "vmsgctl attach failed" vmsgctl attach demo \
		"blk,path=$EXTRA"
else
	fail demo-attach "the domU never got that far"
fi
if domu_wait_log demo 120 'VMSG-DOMU: waiting for unplug'; then
	sleep 1
	stage "dom0: vmsgctl detach demo 3"
	check demo-detach "vmsgctl detach failed" vmsgctl detach demo 3
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
