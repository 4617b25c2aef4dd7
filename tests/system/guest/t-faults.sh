# SPDX-License-Identifier: GPL-2.0
#
# Guest half of the "faults" system test: the loopback stack under load and
# when things go wrong. vmsgd serves an rng and a blk device on a 128 MiB
# file in guest RAM (/tmp). Checked: fio random writes with crc32c
# verification; I/O errors injected below vmsgd with a device-mapper
# "error" target reach the guest as I/O errors; hot remove of an idle and
# of a busy disk, hot add; kill -9 of vmsgd during I/O (pending I/O fails
# within a bound, the devices go away, the modules unload); reloading the
# modules and restarting vmsgd. Hangs are caught by the time bounds here
# and by the kernel's hung-task detector (20 s), which the host sees.
. /vmsg/lib.sh

#@ assert setup
#@ assert fio-verify
#@ assert ioerr-read
#@ assert ioerr-write
#@ assert hot-remove-idle
#@ assert hot-remove-busy
#@ assert hot-add
#@ assert hot-remove-busy-data-intact
#@ assert kill9-io-fails
#@ assert kill9-devices-gone
#@ assert kill9-modules-unload
#@ assert restart-readd
#@ assert final-stop-unload

DISK=/tmp/disk.img
DISK_BYTES=$((128 << 20))
ERR_BYTES=$((16 << 20))
# How long pending I/O may take to fail once its device is gone.
IO_FAIL_BOUND=30

export DM_DISABLE_UDEV=1	# no udev here: dmsetup makes its own nodes

# fio_bg NAME ARGS...: a 120 s random read/write load on /dev/vda in the
# background, away from the pattern in its first MiB; sets FIO_PID
fio_bg() {
	local name=$1

	shift
	fio --name="$name" --filename=/dev/vda --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randrw --bs=4k --offset=32M --size=32M \
		--time_based --runtime=120 --output="/tmp/fio-$name.txt" "$@" \
		>/dev/null 2>&1 &
	FIO_PID=$!
}

# wait_exit PID SECONDS: 0 if PID exited within SECONDS (and reap it)
wait_exit() {
	local n=$(($2 * 10))

	while [ "$n" -gt 0 ] && kill -0 "$1" 2>/dev/null; do
		usleep 100000
		n=$((n - 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -9 "$1" 2>/dev/null
		return 1
	fi
	wait "$1"
	say "pid $1 exited with status $?"
	return 0
}

pattern_ok() {
	wait_until 10 test -b /dev/vda || return 1
	dd if=/dev/vda of=/tmp/pat.now bs=65536 count=16 iflag=direct \
		2>/dev/null && cmp -s /tmp/pat /tmp/pat.now
}

no_vmsg_disks() { ! ls -d /sys/block/vd* >/dev/null 2>&1; }

setup() {
	truncate -s $DISK_BYTES $DISK
	load_vmsg_modules &&
		vmsgd_start --device rng \
			--device blk,path=$DISK,serial=disk &&
		wait_until 10 test -b /dev/vda &&
		head -c 1048576 /dev/urandom >/tmp/pat &&
		dd if=/tmp/pat of=/dev/vda bs=65536 oflag=direct 2>/dev/null &&
		pattern_ok
}

test_fio_verify() {
	run_bounded 200 fio --name=verify --filename=/dev/vda --direct=1 \
		--ioengine=libaio --iodepth=16 --rw=randwrite --bs=4k \
		--offset=16M --size=16M --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --output=/tmp/fio-verify.txt >/dev/null 2>&1
	local rc=$?

	grep -E 'write: IOPS|read: IOPS' /tmp/fio-verify.txt |
		sed 's/^ */VMSG-INFO:   fio: /'
	if [ $rc -eq 0 ] && grep -q 'err= 0' /tmp/fio-verify.txt; then
		pass fio-verify
	else
		fail fio-verify "fio exited $rc: $(grep -m1 -iE 'error|verify' /tmp/fio-verify.txt)"
	fi
}

# A 16 MiB dm device whose sectors 8192..10239 (4..5 MiB) fail every I/O
make_error_disk() {
	truncate -s $ERR_BYTES /tmp/err.img &&
		losetup /dev/loop0 /tmp/err.img &&
		printf '%s\n' "0 8192 linear /dev/loop0 0" \
			"8192 2048 error" \
			"10240 22528 linear /dev/loop0 10240" |
		dmsetup create vmsgerr && test -b /dev/mapper/vmsgerr
}

ioerr_read() {
	dd if=/dev/"$1" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null &&
		! dd if=/dev/"$1" of=/dev/null bs=4096 skip=1024 count=1 \
			iflag=direct 2>/dev/null &&
		dmesg | grep -q "I/O error, dev $1, sector 8192"
}

# vmsg-blk is a writeback cache (VIRTIO_BLK_F_FLUSH): a write may complete
# before the backing store has it, so the error must surface at the latest
# when the data is flushed (conv=fsync sends VIRTIO_BLK_T_FLUSH).
ioerr_write() {
	dd if=/dev/zero of=/dev/"$1" bs=4096 count=1 oflag=direct conv=fsync \
		2>/dev/null &&
		! dd if=/dev/zero of=/dev/"$1" bs=4096 seek=1100 count=1 \
			oflag=direct conv=fsync 2>/dev/null
}

devnum_listed() { vmsgctl list | grep -q "^$1 "; }

test_ioerr_and_idle_remove() {
	local n d

	if ! make_error_disk; then
		fail ioerr-read "cannot set up the dm error target"
		return
	fi
	n=$(vmsgctl attach blk,path=/dev/mapper/vmsgerr,serial=err)
	wait_until 10 disk_of_size $ERR_BYTES >/dev/null
	d=$(disk_of_size $ERR_BYTES)
	check ioerr-read "reads of the bad range did not fail as I/O errors" \
		ioerr_read "$d"
	check ioerr-write "writes to the bad range did not fail" \
		ioerr_write "$d"
	vmsgctl detach "$n"
	if wait_until 15 disk_gone "$d" && wait_until 10 eval "! devnum_listed $n"; then
		pass hot-remove-idle
	else
		fail hot-remove-idle "device $n ($d) still there 15 s after detach"
	fi
	dmsetup remove vmsgerr
	losetup -d /dev/loop0
}

test_busy_remove_and_add() {
	local n

	n=$(devnum_of blk)
	fio_bg busy
	sleep 4
	kill -0 "$FIO_PID" || say "fio ended early: $(tail -n 3 /tmp/fio-busy.txt)"
	vmsgctl detach "$n"
	if wait_exit "$FIO_PID" $IO_FAIL_BOUND && wait_until 15 disk_gone vda; then
		pass hot-remove-busy
	else
		fail hot-remove-busy "fio or /dev/vda still there ${IO_FAIL_BOUND}s after detach"
	fi
	grep -m1 -E 'err=' /tmp/fio-busy.txt | sed 's/^ */VMSG-INFO:   fio: /'
	wait_until 10 eval "! devnum_listed $n"
	n=$(vmsgctl attach blk,path=$DISK,serial=disk)
	if [ -n "$n" ] && wait_until 10 test -b /dev/vda &&
	   dd if=/dev/vda of=/dev/null bs=1M count=8 iflag=direct 2>/dev/null; then
		pass hot-add
	else
		fail hot-add "re-attaching $DISK: '$n', no working /dev/vda"
	fi
	check hot-remove-busy-data-intact "the first MiB changed across the removal" \
		pattern_ok
}

test_kill9() {
	fio_bg kill9
	sleep 4
	kill -9 "$VMSGD_PID"
	if wait_exit "$FIO_PID" $IO_FAIL_BOUND; then
		pass kill9-io-fails
	else
		fail kill9-io-fails "fio still blocked ${IO_FAIL_BOUND}s after kill -9"
	fi
	wait "$VMSGD_PID" 2>/dev/null
	VMSGD_PID=
	if wait_until $IO_FAIL_BOUND no_vmsg_disks; then
		pass kill9-devices-gone
	else
		fail kill9-devices-gone "still there: $(ls /sys/block | tr '\n' ' ')"
	fi
	check kill9-modules-unload "rmmod failed: $(lsmod | grep virtio_msg | tr '\n' ' ')" \
		wait_until 10 unload_vmsg_modules
}

restart_ok() {
	load_vmsg_modules &&
		vmsgd_start --device rng --device blk,path=$DISK,serial=disk &&
		pattern_ok &&
		run_bounded 30 dd if=/dev/hwrng of=/tmp/r bs=4096 count=1 \
			iflag=fullblock 2>/dev/null &&
		[ "$(stat -c %s /tmp/r)" = 4096 ]
}

final_ok() {
	vmsgd_stop && wait_until 10 no_vmsg_disks && unload_vmsg_modules
}

if ! setup; then
	fail setup "modules, vmsgd or /dev/vda not working"
	show_vmsgd_log
	exit 1
fi
pass setup
test_fio_verify
test_ioerr_and_idle_remove
test_busy_remove_and_add
test_kill9
check restart-readd "reloading the modules and restarting vmsgd failed" \
	restart_ok
check final-stop-unload "clean stop or rmmod failed" final_ok
show_vmsgd_log 15
