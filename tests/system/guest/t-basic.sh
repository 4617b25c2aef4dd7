# SPDX-License-Identifier: GPL-2.0
#
# Guest half of the "basic" system test: the loopback stack doing ordinary
# work. vmsgd serves an rng and a blk device backed by /host/basic.img (a
# file in the host's directory, so the host can check it afterwards), and
# later a read-only blk on /host/ro.img attached through vmsgctl. The file
# systems and data are checked here; the host then runs e2fsck and
# compares the md5 sums written to /host/basic.md5.
. /vmsg/lib.sh

#@ assert modules-load
#@ assert vmsgd-start
#@ assert rng-binds
#@ assert rng-random
#@ assert blk-vda-size
#@ assert ext4-mkfs-mount
#@ assert ext4-write-md5
#@ assert ext4-fsck-clean
#@ assert ext4-remount-md5
#@ assert blk-no-io-errors
#@ assert ctl-attach-ro
#@ assert blk-ro-rejects-writes
#@ assert ctl-list
#@ assert ctl-errors
#@ assert vmsgd-clean-stop
#@ assert modules-unload

IMG_BYTES=$((64 << 20))
RO_BYTES=$((8 << 20))

rng_current_is_virtio() {
	case $(cat1 /sys/class/misc/hw_random/rng_current) in
	virtio_rng*) return 0 ;;
	esac
	return 1
}

test_rng() {
	if wait_until 10 rng_current_is_virtio; then
		pass rng-binds
	else
		fail rng-binds "rng_current is '$(cat1 /sys/class/misc/hw_random/rng_current)'"
	fi
	run_bounded 60 dd if=/dev/hwrng of=/tmp/r1 bs=4096 count=16 \
		iflag=fullblock 2>/dev/null
	run_bounded 60 dd if=/dev/hwrng of=/tmp/r2 bs=4096 count=16 \
		iflag=fullblock 2>/dev/null
	say "first bytes from /dev/hwrng: $(hexdump -n 16 -e '16/1 "%02x"' /tmp/r1)"
	if [ "$(stat -c %s /tmp/r1)" != 65536 ] ||
	   [ "$(stat -c %s /tmp/r2)" != 65536 ]; then
		fail rng-random "short read: $(stat -c %s /tmp/r1) and $(stat -c %s /tmp/r2) of 65536 bytes"
	elif cmp -s /tmp/r1 /tmp/r2; then
		fail rng-random "two reads returned the same 64 KiB"
	elif head -c 65536 /dev/zero | cmp -s - /tmp/r1; then
		fail rng-random "64 KiB of zeros"
	else
		pass rng-random
	fi
}

test_blk_size() {
	local d

	wait_until 10 test -e /sys/block/vda
	d=$(disk_of_size $IMG_BYTES)
	check blk-vda-size "expected vda of $IMG_BYTES bytes, found '$d' ($(ls /sys/block | tr '\n' ' '))" \
		[ "$d" = vda -a -b /dev/vda ]
}

ext4_fill() {
	local i

	for i in 1 2 3 4; do
		run_bounded 120 dd if=/dev/hwrng of=/mnt/f$i bs=4096 \
			count=$((i * 16)) iflag=fullblock 2>/dev/null || return 1
	done
	mkdir -p /mnt/dir && cp /mnt/f2 /mnt/dir/copy && sync
}

test_ext4() {
	if mkfs.ext4 -q -F /dev/vda && mount -t ext4 /dev/vda /mnt; then
		pass ext4-mkfs-mount
	else
		fail ext4-mkfs-mount "mkfs.ext4 or mount failed"
		return
	fi
	if ext4_fill && (cd / && md5sum /mnt/f1 /mnt/f2 /mnt/f3 /mnt/f4 \
			 /mnt/dir/copy) >/tmp/md5 && sync; then
		pass ext4-write-md5
	else
		fail ext4-write-md5 "writing files from /dev/hwrng failed"
	fi
	umount /mnt
	check ext4-fsck-clean "e2fsck -fn found problems" \
		run_bounded 120 e2fsck -fn /dev/vda
	if mount -t ext4 /dev/vda /mnt && md5sum -c -s /tmp/md5; then
		pass ext4-remount-md5
	else
		fail ext4-remount-md5 "md5 sums differ after remount"
	fi
	umount /mnt
	cp /tmp/md5 /host/basic.md5
	# nothing above may have failed a request, even one the kernel retried
	check blk-no-io-errors "$(dmesg | grep -m1 'I/O error, dev vda')" \
		eval "! dmesg | grep -q 'I/O error, dev vda'"
}

ro_write_refused() {
	local d=$1

	[ "$(cat1 /sys/block/"$d"/ro)" = 1 ] || return 1
	# must fail: the disk is read-only
	! dd if=/dev/zero of=/dev/"$d" bs=4096 count=1 oflag=direct 2>/dev/null
}

test_ro() {
	local n d

	n=$(vmsgctl attach blk,path=/host/ro.img,ro,serial=ro-disk)
	if [ -z "$n" ] || ! wait_until 10 disk_of_size $RO_BYTES >/dev/null; then
		fail ctl-attach-ro "vmsgctl attach printed '$n'; no disk appeared"
		return
	fi
	d=$(disk_of_size $RO_BYTES)
	# the disk reads back the image's bytes
	dd if=/dev/"$d" of=/tmp/ro-head bs=65536 count=1 iflag=direct 2>/dev/null
	if head -c 65536 /host/ro.img | cmp -s - /tmp/ro-head; then
		pass ctl-attach-ro
	else
		fail ctl-attach-ro "/dev/$d does not read back ro.img"
	fi
	check blk-ro-rejects-writes "/dev/$d is writable" ro_write_refused "$d"
}

ctl_list_ok() {
	vmsgctl list >/tmp/list || return 1
	sed 's/^/VMSG-INFO:   list: /' /tmp/list
	[ "$(grep -c ' running$' /tmp/list)" -eq 3 ] &&
		grep -q '^[0-9]* rng 0x0f running$' /tmp/list &&
		[ "$(grep -c '^[0-9]* blk 0x0f running$' /tmp/list)" -eq 2 ]
}

ctl_errors_ok() {
	! vmsgctl attach nosuchtype 2>/tmp/e1 &&
		grep -q "unknown device type" /tmp/e1 &&
		! vmsgctl attach blk,path=/nonexistent 2>/tmp/e2 &&
		grep -q "No such file" /tmp/e2 &&
		! vmsgctl detach 200 2>/dev/null &&
		! vmsgctl frobnicate 2>/dev/null &&
		! vmsgctl -c /tmp/nosock list 2>/tmp/e3 &&
		grep -q "is vmsgd running" /tmp/e3
}

test_stop() {
	if vmsgd_stop && wait_until 10 disk_gone vda && ! rng_current_is_virtio; then
		pass vmsgd-clean-stop
	else
		fail vmsgd-clean-stop "vmsgd did not exit 0 after SIGTERM, or devices stayed"
		show_vmsgd_log
	fi
	check modules-unload "rmmod failed: $(lsmod | grep virtio_msg | tr '\n' ' ')" \
		unload_vmsg_modules
}

if ! load_vmsg_modules; then
	fail modules-load "insmod of the vmsg modules failed"
	exit 1
fi
pass modules-load
if ! vmsgd_start --device rng --device blk,path=/host/basic.img,serial=basic; then
	fail vmsgd-start "vmsgd did not print its ready line"
	exit 1
fi
pass vmsgd-start
test_rng
test_blk_size
test_ext4
test_ro
check ctl-list "list did not show 3 running devices" ctl_list_ok
check ctl-errors "vmsgctl did not report errors as expected" ctl_errors_ok
test_stop
