# SPDX-License-Identifier: GPL-2.0
#
# domU half of the Xen demo (see t-demo.dom0.sh): load our two modules,
# show the virtio devices that appear, read /dev/hwrng, make an ext4 file
# system on /dev/vda and check it, ping dom0 over the virtio NIC, read the
# RTC behind the virtio I2C adapter with hwclock, read the hot-plugged
# disk, see it go.
# Each step is a "VMSG-STAGE:" line, which dom0 forwards to the host.
. /lib/vmsg/domu.sh

#@ assert demo-modules
#@ assert demo-rng
#@ assert demo-ext4
#@ assert demo-net
#@ assert demo-rtc
#@ assert demo-hotplug
#@ assert demo-unplug

MSG='hello from dom0'

show_devices() {
	local d drv

	for d in /sys/bus/virtio/devices/*; do
		drv=$(readlink "$d/driver") && drv=${drv##*/}
		stage "domU:   ${d##*/}: virtio device type $(cat "$d/device")," \
		      "driver ${drv:-none loaded yet}"
	done
}

ext4_demo() {
	mkfs.ext4 -q -F /dev/vda && mount -t ext4 /dev/vda /mnt &&
	dd if=/dev/urandom of=/mnt/data bs=1M count=2 2>/dev/null &&
	md5sum /mnt/data >/tmp/md5 && umount /mnt &&
	mount -t ext4 /dev/vda /mnt && md5sum -c -s /tmp/md5 && umount /mnt
}

MAC=52:54:00:76:6d:01
EXTMODS=/lib/modules/extmods

# the virtio NIC gets 10.99.0.1 and pings dom0's tap
net_demo() {
	local nic

	wait_until 60 nic_of_mac $MAC >/dev/null || return 1
	nic=$(nic_of_mac $MAC)
	stage "domU: virtio-net is $nic; ip addr add 10.99.0.1/24, ping dom0"
	ip addr add 10.99.0.1/24 dev "$nic" && ip link set "$nic" up &&
		ping_peer 10.99.0.2 &&
		ping -c 3 10.99.0.2 >/tmp/ping.out 2>&1
}

# the DS1307 behind virtio-i2c: the kernel's rtc-ds1307 binds to it
rtc_demo() {
	local rtc

	insmod $EXTMODS/i2c-virtio.ko && insmod $EXTMODS/rtc-ds1307.ko &&
		wait_until 30 virtio_i2c_bus >/dev/null || return 1
	BUS=$(virtio_i2c_bus)
	stage "domU: virtio I2C adapter /dev/i2c-$BUS; echo ds1307 0x68 > .../new_device"
	echo ds1307 0x68 >/sys/bus/i2c/devices/i2c-"$BUS"/new_device &&
		wait_until 30 rtc_of_client >/dev/null || return 1
	rtc=/dev/$(rtc_of_client)
	stage "domU: hwclock -r -f $rtc: $(hwclock -r -u -f "$rtc")"
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
if net_demo; then
	pass demo-net
	stage "domU: $(grep -a 'packets transmitted' /tmp/ping.out)"
else
	fail demo-net "no virtio NIC, or dom0 did not answer: $(tail -n 2 /tmp/ping.out 2>/dev/null)"
fi
check demo-rtc "no virtio I2C adapter or no RTC on it" rtc_demo
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
