# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for domU test scripts of the Xen system tests (sourced by busybox
# sh as /lib/vmsg/domu.sh): loading our modules and looking at the
# devices xenbus shows. Markers and waits come from common.sh. The domU
# cannot see dom0; to hand dom0 a signal, print a line: dom0 reads this
# console's log (domu_wait_log in dom0.sh).

. /lib/vmsg/common.sh

# insmod our modules in the order build-initramfs.sh listed them; 1 if
# one fails or none was built
load_vmsg_modules() {
	[ -s /etc/vmsg/vmsg-modules ] || return 1
	load_modules /etc/vmsg/vmsg-modules
}

# xen_dev_attr DEVICE ATTR: an attribute of a xenbus device, e.g.
# "xen_dev_attr vmsg-0 devtype" prints vmsg
xen_dev_attr() { cat "/sys/bus/xen/devices/$1/$2" 2>/dev/null; }

xen_dev_present() { [ -d "/sys/bus/xen/devices/$1" ]; }

# virtio_dev TYPE: the name of a virtio device of TYPE (e.g. 0x0004 for
# rng, as /sys/bus/virtio/devices/*/device shows it); 1 if there is none
virtio_dev() { dir_with '/sys/bus/virtio/devices/*' device "$1"; }

# disk_of_size BYTES: the first virtio disk of exactly BYTES bytes
disk_of_size() {
	local b

	for b in /sys/block/vd*; do
		[ -e "$b/size" ] || continue
		if [ $(($(cat "$b/size") * 512)) = "$1" ]; then
			echo "${b##*/}"
			return 0
		fi
	done
	return 1
}

# backend_gone_count: how often this guest saw its backend die
backend_gone_count() { dmesg | grep -c 'backend gone'; }
