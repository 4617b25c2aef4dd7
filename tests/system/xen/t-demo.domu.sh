# SPDX-License-Identifier: GPL-2.0
#
# domU half of the Xen demo (see t-demo.dom0.sh): load our two modules,
# show the virtio devices that appear, read /dev/hwrng, make an ext4 file
# system on /dev/vda and check it, read the hot-plugged disk, see it go.
# Each step is a "VMSG-STAGE:" line, which dom0 forwards to the host.
. /lib/vmsg/domu.sh

#@ assert demo-modules
#@ assert demo-rng
#@ assert demo-ext4
#@ assert demo-hotplug
#@ assert demo-unplug

MSG='hello from dom0'

show_devices() {
	local d

	for d in /sys/bus/virtio/devices/*; do
		stage "domU:   ${d##*/}: virtio device type $(cat "$d/device")," \
		      "driver $(basename "$(readlink "$d/driver")")"
	done
}

ext4_demo() {
	mkfs.ext4 -q -F /dev/vda && mount -t ext4 /dev/vda /mnt &&
	dd if=/dev/urandom of=/mnt/data bs=1M count=2 2>/dev/null &&
	md5sum /mnt/data >/tmp/md5 && umount /mnt &&
	mount -t ext4 /dev/vda /mnt && md5sum -c -s /tmp/md5 && umount /mnt
}

hot_disk() { [ -b /dev/vdb ] && [ "$(head -c ${#MSG} /dev/vdb)" = "$MSG" ]; }

stage "domU: insmod virtio_msg_transport.ko virtio_msg_xen.ko"
check demo-modules "our modules did not load" load_vmsg_modules
wait_until 60 virtio_dev 0x0004 >/dev/null && wait_until 60 [ -b /dev/vda ]
stage "domU: virtio devices found on the vmsg Xen bus:"
show_devices
if dd if=/dev/hwrng of=/tmp/r bs=16 count=1 iflag=fullblock 2>/dev/null
then
	pass demo-rng
	stage "domU: 16 bytes from /dev/hwrng: $(hexdump -e '16/1 "%02x"' /tmp/r)"
else
	fail demo-rng "/dev/hwrng gave nothing"
fi
stage "domU: mkfs.ext4 /dev/vda, write 2 MiB, remount, md5sum -c"
if ext4_demo; then
	pass demo-ext4
	stage "domU: ext4 on /dev/vda: md5 $(cut -c1-32 /tmp/md5) after remount too"
else
	fail demo-ext4 "ext4 on /dev/vda failed"
fi
stage "domU: waiting for dom0 to hot-plug a disk"
echo "VMSG-DOMU: waiting for hotplug"
if wait_until 120 hot_disk; then
	pass demo-hotplug
	stage "domU: /dev/vdb appeared; it starts with '$(head -c ${#MSG} /dev/vdb)'"
else
	fail demo-hotplug "no /dev/vdb with dom0's message"
fi
echo "VMSG-DOMU: waiting for unplug"
if wait_until 120 [ ! -e /sys/block/vdb ]; then
	pass demo-unplug
	stage "domU: /dev/vdb is gone; powering off"
else
	fail demo-unplug "/dev/vdb is still there"
fi
