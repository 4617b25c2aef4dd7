# SPDX-License-Identifier: GPL-2.0
#
# domU half of the Xen smoke test (see t-smoke.dom0.sh): the PV domU's
# xenbus must show the hand-made device/vmsg/0 at boot and
# device/vmsg/1 written while it runs, as devices of type "vmsg" with no
# driver bound yet. Then /init powers the domU off.
. /lib/vmsg/domu.sh

#@ assert domu-virtio-modules
#@ assert vmsg-0-at-boot
#@ assert vmsg-1-live-probe

# vmsg_dev_ok N: vmsg-N exists, is a "vmsg" device for node device/vmsg/N
vmsg_dev_ok() {
	[ "$(xen_dev_attr "vmsg-$1" devtype)" = vmsg ] &&
	[ "$(xen_dev_attr "vmsg-$1" nodename)" = "device/vmsg/$1" ]
}

check domu-virtio-modules "virtio or virtio_ring not loaded" \
	sh -c 'lsmod | grep -q "^virtio " && lsmod | grep -q "^virtio_ring "'
check vmsg-0-at-boot "no xenbus device vmsg-0 of type vmsg" \
	wait_until 10 vmsg_dev_ok 0
say "xenbus devices: $(ls /sys/bus/xen/devices/ | tr '\n' ' ')"
echo "VMSG-DOMU: waiting for vmsg-1"
check vmsg-1-live-probe "vmsg-1 did not appear within 30 s" \
	wait_until 30 vmsg_dev_ok 1
