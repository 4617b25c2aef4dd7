# SPDX-License-Identifier: GPL-2.0
#
# domU half of the Xen I/O test (see t-io.dom0.sh): our modules bring up
# the rng and the blk vmsgd serves from dom0; /dev/hwrng must deliver
# random bytes, an ext4 file system made on the blk and filled (partly
# from /dev/hwrng) must survive fsck and a remount with the same md5 sums
# (printed as "VMSG-MD5:" lines, which dom0 checks against the image
# file). A hot-attached disk is read and written (md5 sums printed as
# "VMSG-HOT:" lines for dom0) and must disappear once dom0 detaches it.
# Then, idle and with nothing mounted, the guest waits for dom0 to kill
# vmsgd and start a new one: its devices go and come back as new virtio
# devices, which must work and hold the same files.
. /lib/vmsg/domu.sh

#@ assert domu-modules
#@ assert rng-binds
#@ assert rng-random
#@ assert blk-vda-size
#@ assert ext4-mkfs-mount
#@ assert ext4-write-md5
#@ assert ext4-fsck-clean
#@ assert ext4-remount-md5
#@ assert blk-no-io-errors
#@ assert hot-attach-io
#@ assert hot-detach-seen
#@ assert restart-devices-gone
#@ assert restart-devices-back
#@ assert restart-remount-md5

IMG_BYTES=$((64 << 20))
HOT_BYTES=$((8 << 20))

rng_is_virtio() {
	case $(cat /sys/class/misc/hw_random/rng_current 2>/dev/null) in
	virtio_rng*) return 0 ;;
	esac
	return 1
}

# Two 4 KiB reads of /dev/hwrng: full, different, not zeros. Small on
# purpose: every 512 bytes are one round trip to vmsgd, slow under TCG.
rng_random() {
	dd if=/dev/hwrng of=/tmp/r1 bs=4096 count=1 iflag=fullblock \
		2>/dev/null &&
	dd if=/dev/hwrng of=/tmp/r2 bs=4096 count=1 iflag=fullblock \
		2>/dev/null &&
	[ "$(stat -c %s /tmp/r1)" = 4096 ] &&
	[ "$(stat -c %s /tmp/r2)" = 4096 ] &&
	! cmp -s /tmp/r1 /tmp/r2 &&
	! head -c 4096 /dev/zero | cmp -s - /tmp/r1
}

test_rng() {
	check rng-binds "rng_current is '$(cat /sys/class/misc/hw_random/rng_current 2>&1)'" \
		wait_until 60 rng_is_virtio
	check rng-random "/dev/hwrng gave short, repeated or zero data" \
		rng_random
	say "first bytes from /dev/hwrng: $(hexdump -n 16 -e '16/1 "%02x"' /tmp/r1)"
}

# Small files from /dev/hwrng (see rng_random), a larger one for the
# disk's sake, a copy in a directory
ext4_fill() {
	local i

	for i in 1 2 3 4; do
		dd if=/dev/hwrng of=/mnt/f$i bs=2048 count=$i \
			iflag=fullblock 2>/dev/null || return 1
	done
	dd if=/dev/urandom of=/mnt/big bs=1M count=4 2>/dev/null &&
	mkdir -p /mnt/dir && cp /mnt/f4 /mnt/dir/copy && sync
}

test_ext4() {
	if mkfs.ext4 -q -F /dev/vda && mount -t ext4 /dev/vda /mnt; then
		pass ext4-mkfs-mount
	else
		fail ext4-mkfs-mount "mkfs.ext4 or mount failed"
		return
	fi
	if ext4_fill && md5sum /mnt/f1 /mnt/f2 /mnt/f3 /mnt/f4 /mnt/big \
			/mnt/dir/copy >/tmp/md5; then
		pass ext4-write-md5
	else
		fail ext4-write-md5 "writing files from /dev/hwrng failed"
	fi
	umount /mnt
	check ext4-fsck-clean "e2fsck -fn found problems" e2fsck -fn /dev/vda
	if mount -t ext4 /dev/vda /mnt && md5sum -c -s /tmp/md5; then
		pass ext4-remount-md5
	else
		fail ext4-remount-md5 "md5 sums differ after remount"
	fi
	umount /mnt
	sed 's/^/VMSG-MD5: /' /tmp/md5
	check blk-no-io-errors "$(dmesg | grep -m1 'I/O error')" \
		eval "! dmesg | grep -q 'I/O error'"
}

# read the first MiB, write the second, read it back
hot_io() {
	local d=$1

	dd if=/dev/"$d" of=/tmp/h0 bs=1M count=1 iflag=direct 2>/dev/null &&
	dd if=/dev/urandom of=/tmp/h1 bs=1M count=1 2>/dev/null &&
	dd if=/tmp/h1 of=/dev/"$d" bs=1M seek=1 count=1 oflag=direct \
		conv=fsync 2>/dev/null &&
	dd if=/dev/"$d" of=/tmp/h2 bs=1M skip=1 count=1 iflag=direct \
		2>/dev/null &&
	cmp /tmp/h1 /tmp/h2 || return 1
	echo "VMSG-HOT: read $(md5sum </tmp/h0 | cut -d' ' -f1)"
	echo "VMSG-HOT: wrote $(md5sum </tmp/h1 | cut -d' ' -f1)"
}

test_hotplug() {
	local d

	echo "VMSG-DOMU: waiting for hotplug"
	if wait_until 120 disk_of_size $HOT_BYTES >/dev/null &&
	   d=$(disk_of_size $HOT_BYTES) && hot_io "$d"; then
		pass hot-attach-io
	else
		fail hot-attach-io "no $HOT_BYTES-byte disk, or its I/O failed"
	fi
	echo "VMSG-DOMU: waiting for unplug"
	check hot-detach-seen "the hot disk ${d:-?} is still there" \
		wait_until 120 eval "! disk_of_size $HOT_BYTES >/dev/null"
}

vda_is_the_image() { [ "$(disk_of_size $IMG_BYTES)" = vda ]; }
backend_gone_above() { [ "$(backend_gone_count)" -gt "$1" ]; }

devices_back() {
	virtio_dev 0x0004 >/dev/null && rng_is_virtio && rng_random &&
		vda_is_the_image
}

# vmsgd dies (SIGKILL) and comes back: devices go, then come back new
test_restart() {
	local gone

	gone=$(backend_gone_count)
	echo "VMSG-DOMU: waiting for restart"
	check restart-devices-gone "the guest never saw the backend die" \
		wait_until 120 backend_gone_above "$gone"
	check restart-devices-back "rng and vda did not come back working" \
		wait_until 180 devices_back
	if mount -t ext4 /dev/vda /mnt && md5sum -c -s /tmp/md5; then
		pass restart-remount-md5
	else
		fail restart-remount-md5 "the files differ on the new device"
	fi
	umount /mnt
}

check domu-modules "our modules did not load" load_vmsg_modules
test_rng
check blk-vda-size "no 64 MiB vda: $(ls /sys/block | tr '\n' ' ')" \
	wait_until 60 vda_is_the_image
test_ext4
test_hotplug
test_restart
