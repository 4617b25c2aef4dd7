# SPDX-License-Identifier: GPL-2.0
#
# domU halves of the Xen hostile-guest and teardown test (see
# t-hostile.dom0.sh); vmsg.role= on the kernel command line picks one:
#
#   good     our modules, then fio with crc32c verification on the vmsg
#            blk, round after round, until dom0 destroys this domU. Each
#            round prints "fio round N start", then "... ok" or
#            "... FAILED"; dom0 judges them.
#   hostile  vmsg_hostile.ko instead of our frontend: runs every scenario
#            it knows and checks what vmsgd did (closed the bus with the
#            expected reason in B/error, or kept answering), then a proper
#            connection once more, unloads the module and prints
#            "hostile done".
#   after    our modules; rng and blk must work; then /init waits for
#            dom0's "xl shutdown".
. /lib/vmsg/domu.sh

#@ assert good-modules
#@ assert good-devices
#@ assert hostile-module-load
#@ assert hostile-baseline
#@ assert hostile-version-2
#@ assert hostile-region-pages-hex
#@ assert hostile-region-pages-zero
#@ assert hostile-region-pages-huge
#@ assert hostile-region-pages-space
#@ assert hostile-event-channel-text
#@ assert hostile-event-channel-bogus
#@ assert hostile-ring-ref-bogus
#@ assert hostile-ring-ref-missing
#@ assert hostile-dir-ref-bogus
#@ assert hostile-dir-ref-missing
#@ assert hostile-state-garbage
#@ assert hostile-state-reconfiguring
#@ assert hostile-prod-overrun
#@ assert hostile-size-small
#@ assert hostile-size-large
#@ assert hostile-cons-tamper
#@ assert hostile-drv-prod-tamper
#@ assert hostile-drv-cons-ahead
#@ assert hostile-no-consume
#@ assert hostile-garbage-msgs
#@ assert hostile-garbage-vq
#@ assert hostile-event-flood
#@ assert hostile-baseline-again
#@ assert hostile-module-unload
#@ assert after-modules
#@ assert after-io

IMG_BYTES=$((64 << 20))
FIO_ROUNDS=200

rng_ok() {
	dd if=/dev/hwrng of=/tmp/r bs=512 count=1 iflag=fullblock 2>/dev/null &&
		[ "$(stat -c %s /tmp/r)" = 512 ]
}
vda_ok() { [ "$(disk_of_size $IMG_BYTES)" = vda ]; }
devices_ok() { virtio_dev 0x0004 >/dev/null && rng_ok && vda_ok; }

# 8 MiB of random 4 KiB writes, then every block read back and checked
# (several seconds even on an idle machine)
fio_round() {
	fio --name="round$1" --filename=/dev/vda --rw=randwrite --bs=4k \
		--size=8M --iodepth=8 --ioengine=libaio --direct=1 \
		--verify=crc32c --verify_fatal=1 --randseed="$1" \
		--eta=never --output=/tmp/fio.log
}

role_good() {
	local i

	check good-modules "our modules did not load" load_vmsg_modules
	check good-devices "no rng or no 64 MiB vda" wait_until 120 devices_ok
	for i in $(seq 1 $FIO_ROUNDS); do
		echo "VMSG-DOMU: fio round $i start"
		if fio_round "$i"; then
			echo "VMSG-DOMU: fio round $i ok"
		else
			echo "VMSG-DOMU: fio round $i FAILED"
			tail -n 20 /tmp/fio.log
		fi
	done
}

SCN=/sys/bus/xen/devices/vmsg-0

# scenario NAME PATTERN [ASSERTION]: run one of vmsg_hostile's scenarios;
# what vmsgd did must match the extended regular expression PATTERN
scenario() {
	local r

	if ! echo "$1" >$SCN/run; then
		fail "${3:-hostile-$1}" "the module refused to run $1"
		return
	fi
	r=$(cat $SCN/result)
	say "hostile $1: $r"
	if echo "$r" | grep -qE "$2"; then
		pass "${3:-hostile-$1}"
	else
		fail "${3:-hostile-$1}" "$r"
	fi
}

# What each scenario must provoke: "alive" (PING still answered) or
# "closed: B/error", the backend's reason (bus-xen/xen.c)
hostile_scenarios() {
	local bad='is not a number in'

	scenario baseline '^alive$'
	scenario version-2 '^closed: .*speaks version 2'
	scenario region-pages-hex "^closed: .*/region-pages = '0x10' $bad"
	scenario region-pages-zero "^closed: .*/region-pages = '0' $bad"
	scenario region-pages-huge "^closed: .*/region-pages = '4294967295' $bad"
	scenario region-pages-space "^closed: .*/region-pages = '16 ' $bad"
	scenario event-channel-text "^closed: .*/event-channel = 'port' $bad"
	scenario event-channel-bogus '^closed: binding its event channel 4000'
	scenario ring-ref-bogus '^closed: mapping ring grant 77777'
	scenario ring-ref-missing "^closed: .*/ring-ref = '\\(missing\\)'"
	scenario dir-ref-bogus '^closed: mapping 1 region directory page'
	scenario dir-ref-missing "^closed: .*/region-dir-ref0 = '\\(missing\\)'"
	scenario state-garbage "^closed: .*/state = 'zebra' is not a XenbusState"
	scenario state-reconfiguring '^closed: .*not used by this bus'
	scenario prod-overrun '^closed: to_dev queue index'
	scenario size-small '^closed: .*message size out of range'
	scenario size-large '^closed: .*message size out of range'
	scenario cons-tamper '^closed: to_dev queue index'
	scenario drv-prod-tamper '^closed: to_drv queue indices out of range'
	scenario drv-cons-ahead '^closed: to_drv queue indices out of range'
	scenario no-consume '^closed: it does not consume its to_drv queue'
	scenario garbage-msgs '^alive$'
	scenario garbage-vq '^alive$'
	scenario event-flood '^alive$'
	scenario baseline '^alive$' hostile-baseline-again
}

role_hostile() {
	if ! insmod /lib/modules/vmsg/vmsg_hostile.ko ||
	   ! wait_until 30 [ -w $SCN/run ]; then
		fail hostile-module-load "vmsg_hostile.ko did not bind vmsg-0"
		echo "VMSG-DOMU: hostile gave up"
		return 1
	fi
	pass hostile-module-load
	hostile_scenarios
	# xenbus holds a module reference while a driver is bound
	check hostile-module-unload "could not unbind and unload vmsg_hostile" \
		sh -c 'echo vmsg-0 >/sys/bus/xen/drivers/vmsg_hostile/unbind &&
		       rmmod vmsg_hostile'
	echo "VMSG-DOMU: hostile done"
}

role_after() {
	check after-modules "our modules did not load" load_vmsg_modules
	if wait_until 120 devices_ok &&
	   dd if=/dev/urandom of=/tmp/a bs=1M count=1 2>/dev/null &&
	   dd if=/tmp/a of=/dev/vda bs=1M count=1 oflag=direct conv=fsync \
		2>/dev/null &&
	   dd if=/dev/vda of=/tmp/b bs=1M count=1 iflag=direct 2>/dev/null &&
	   cmp /tmp/a /tmp/b; then
		pass after-io
	else
		fail after-io "rng or vda missing, or vda did not read back"
	fi
}

case $(cmdline_arg vmsg.role '') in
good) role_good ;;
hostile) role_hostile ;;
after) role_after ;;
*) fail domu-role "no vmsg.role= on the command line"; exit 1 ;;
esac
