# SPDX-License-Identifier: GPL-2.0
#
# Guest half of the "i2c" system test: virtio-i2c over the loopback bus,
# served by vmsgd with its emulated DS1307 RTC ("i2c,rtc=0x68"), driven by
# Linux's own drivers: i2c-virtio and rtc-ds1307 (built from Debian's
# source by tests/system/build-extmods.sh, since Debian's 6.1 lacks both),
# i2c-dev with i2c-tools, and busybox hwclock. The host side only boots the
# guest and reads the markers.
. /vmsg/lib.sh

#@ assert modules-load
#@ assert i2c-modules-load
#@ assert vmsgd-start
#@ assert i2c-adapter-appears
#@ assert i2cget-nvram
#@ assert i2cset-readback
#@ assert i2ctransfer-readback
#@ assert i2cdetect-only-rtc
#@ assert i2c-unknown-address-nak
#@ assert rtc-ds1307-binds
#@ assert hwclock-read-host-time
#@ assert rtc-registers-set
#@ assert hwclock-write-roundtrip
#@ assert rtc-nvram-via-driver
#@ assert ctl-bad-spec
#@ assert i2c-no-kernel-errors
#@ assert vmsgd-clean-stop
#@ assert i2c-adapter-gone
#@ assert modules-unload

EXTMODS=/lib/modules/extmods
RTC=0x68
BUS=

load_i2c_modules() {
	local m

	for m in i2c-virtio rtc-ds1307; do
		if [ ! -f "$EXTMODS/$m.ko" ]; then
			say "$EXTMODS/$m.ko missing (tests/system/build-extmods.sh)"
			return 1
		fi
		insmod "$EXTMODS/$m.ko" || { say "insmod $m.ko failed"; return 1; }
	done
	lsmod | grep -q '^i2c_dev ' || { say "i2c_dev not loaded"; return 1; }
}

test_adapter() {
	if wait_until 15 adapter_ready; then
		pass i2c-adapter-appears
		say "virtio i2c adapter: /dev/i2c-$BUS" \
			"($(cat1 /sys/bus/i2c/devices/i2c-"$BUS"/name))"
		return 0
	fi
	fail i2c-adapter-appears "no i2c_virtio adapter in /sys/bus/i2c/devices\
 ($(ls /sys/bus/i2c/devices | tr '\n' ' '))"
	return 1
}

test_tools() {
	# NVRAM starts zeroed
	expect i2cget-nvram 0x00 i2cget -y "$BUS" $RTC 0x08
	if i2cset -y "$BUS" $RTC 0x08 0x5a; then
		expect i2cset-readback 0x5a i2cget -y "$BUS" $RTC 0x08
	else
		fail i2cset-readback "i2cset -y $BUS $RTC 0x08 0x5a failed"
	fi
	# one message of five bytes, then pointer write + read in one transfer
	if i2ctransfer -y "$BUS" w5@$RTC 0x09 0x11 0x22 0x33 0x44; then
		expect i2ctransfer-readback "0x5a 0x11 0x22 0x33 0x44" \
			i2ctransfer -y "$BUS" w1@$RTC 0x08 r5
	else
		fail i2ctransfer-readback "i2ctransfer write failed"
	fi
}

# Only the RTC answers (quick writes and reads: zero-length requests too)
test_detect() {
	local found

	i2cdetect -y "$BUS" >/tmp/detect 2>&1
	found=$(sed -n 's/^[0-7]0: //p' /tmp/detect | tr ' ' '\n' |
		grep -v -e '^--$' -e '^$' | tr '\n' ' ')
	check i2cdetect-only-rtc "i2cdetect found '$found'" [ "$found" = "68 " ]
	check i2c-unknown-address-nak "i2cget of 0x69 succeeded" \
		eval "! i2cget -y $BUS 0x69 0x00 >/dev/null 2>&1"
}

test_rtc() {
	local rtc dev t now

	echo ds1307 $RTC >/sys/bus/i2c/devices/i2c-"$BUS"/new_device
	if ! wait_until 15 rtc_of_client >/dev/null; then
		fail rtc-ds1307-binds "no rtc under /sys/bus/i2c/devices/$BUS-0068\
 ($(dmesg | grep -i ds1307 | tail -n 2))"
		return
	fi
	rtc=$(rtc_of_client)
	dev=/dev/$rtc
	check rtc-ds1307-binds "$dev missing or not from rtc-ds1307" \
		[ -c "$dev" -a "$(cat1 /sys/class/rtc/"$rtc"/name)" != rtc_cmos ]
	say "rtc-ds1307 is $dev ($(cat1 /sys/class/rtc/"$rtc"/name))"

	# vmsgd runs in this guest: the emulated clock starts at our time
	t=$(hwclock_epoch "$dev")
	now=$(date +%s)
	check hwclock-read-host-time "RTC $t, guest clock $now" near "$t" "$now" 3

	# Set the chip to 2001-02-03 00:00:00, a Saturday, behind the
	# driver's back (-f), and read it through the driver.
	i2ctransfer -f -y "$BUS" w8@$RTC 0x00 0x00 0x00 0x00 0x07 0x03 0x02 0x01
	t=$(hwclock_epoch "$dev")
	check rtc-registers-set "RTC reads $t, expected about 981158400" \
		near "$t" 981158400 3

	# hwclock -w writes the guest's time; -r reads it back
	if hwclock -w -u -f "$dev"; then
		t=$(hwclock_epoch "$dev")
		now=$(date +%s)
		check hwclock-write-roundtrip "RTC $t, guest clock $now" \
			near "$t" "$now" 3
	else
		fail hwclock-write-roundtrip "hwclock -w -u -f $dev failed"
	fi
	test_nvmem
	echo $RTC >/sys/bus/i2c/devices/i2c-"$BUS"/delete_device
}

# rtc-ds1307 exports the 56 bytes of NVRAM: byte 0 is what i2cset wrote
test_nvmem() {
	local f b

	for f in /sys/bus/nvmem/devices/ds1307_nvram*/nvmem; do
		[ -e "$f" ] && break
	done
	b=$(dd if="$f" bs=1 count=5 2>/dev/null | hexdump -v -e '5/1 "%02x"')
	check rtc-nvram-via-driver "nvmem $f reads '$b'" [ "$b" = 5a11223344 ]
}

test_ctl() {
	! vmsgctl attach i2c,rtc=0x07 2>/tmp/e1 &&
		grep -q "rtc=0x07" /tmp/e1 &&
		! vmsgctl attach i2c,adapter=/dev/null,allow=0x50 2>/tmp/e2 &&
		grep -q "adapter=/dev/null: not an i2c-dev adapter" /tmp/e2
}

test_stop() {
	if vmsgd_stop; then
		pass vmsgd-clean-stop
	else
		fail vmsgd-clean-stop "vmsgd did not exit 0 after SIGTERM"
		show_vmsgd_log
	fi
	check i2c-adapter-gone "adapter i2c-$BUS still there" \
		wait_until 10 eval "! virtio_i2c_bus >/dev/null"
	check modules-unload "rmmod failed: $(lsmod | grep virtio_msg | tr '\n' ' ')" \
		unload_vmsg_modules
}

if ! load_vmsg_modules; then
	fail modules-load "insmod of the vmsg modules failed"
	exit 1
fi
pass modules-load
if ! load_i2c_modules; then
	fail i2c-modules-load "i2c-virtio, rtc-ds1307 or i2c_dev missing"
	exit 1
fi
pass i2c-modules-load
if ! vmsgd_start --device i2c,rtc=$RTC; then
	fail vmsgd-start "vmsgd did not print its ready line"
	exit 1
fi
pass vmsgd-start
test_adapter || exit 1
test_tools
test_detect
test_rtc
check ctl-bad-spec "vmsgctl did not name the bad option" test_ctl
# nothing the drivers logged about i2c or the RTC is an error
i2c_kernel_errors() {
	dmesg | grep -iE 'i2c|ds1307|rtc' | grep -iE 'error|fail'
}
check i2c-no-kernel-errors "$(i2c_kernel_errors | head -n 1)" \
	eval "! i2c_kernel_errors >/dev/null"
test_stop
