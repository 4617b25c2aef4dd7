# SPDX-License-Identifier: GPL-2.0
#
# domU half of the Xen benchmark (see t-bench.dom0.sh): the same fio jobs
# as the loopback benchmark (tests/system/guest/bench.sh) on /dev/vda
# (vmsg-blk: virtio_blk, our transport and Xen bus modules, vmsgd in
# dom0) and /dev/xvda (Xen's PV disk: xen-blkfront, xen-blkback in dom0),
# one device at a time, both backed by the same file in dom0. Each result
# is printed between "VMSG-LOG-BEGIN: fio-DEV-JOB" and "VMSG-LOG-END:
# fio-DEV-JOB" lines. Nothing is asserted but that the run completes.
. /lib/vmsg/domu.sh

#@ assert bench-devices

RUNTIME=$(cmdline_arg vmsg.bench_runtime 10)
BYTES=$((256 << 20))
# room for QD32 of 4 KiB and QD4 of 1 MiB in flight, rings included
REGION_PAGES=4096

# job NAME: fio arguments of one job (tests/system/guest/bench.sh)
job() {
	case $1 in
	randread-qd1)	echo "--rw=randread --bs=4k --iodepth=1" ;;
	randread-qd32)	echo "--rw=randread --bs=4k --iodepth=32" ;;
	seqread-1m)	echo "--rw=read --bs=1M --iodepth=4" ;;
	seqwrite-1m)	echo "--rw=write --bs=1M --iodepth=4" ;;
	esac
}

load_bench_modules() {
	local m

	for m in $(cat /etc/vmsg/vmsg-modules); do
		case $m in
		*/virtio_msg_xen.ko)
			insmod "$m" region_pages=$REGION_PAGES || return 1 ;;
		*)	insmod "$m" || return 1 ;;
		esac
	done
}

size_is() { [ $(($(cat "/sys/block/$1/size") * 512)) = "$BYTES" ]; }
devices_ok() { size_is vda && size_is xvda; }

# fio's JSON goes to this console: no kernel line may land in the middle
# of it (the kernel log is still copied whole at the end by /init)
echo 1 >/proc/sys/kernel/printk
if load_bench_modules && wait_until 120 devices_ok; then
	pass bench-devices
else
	fail bench-devices "vda or xvda missing: $(ls /sys/block | tr '\n' ' ')"
	echo "VMSG-DOMU: bench failed"
	exit 1
fi
for j in randread-qd1 randread-qd32 seqread-1m seqwrite-1m; do
	for d in vda xvda; do
		stage "fio $j on /dev/$d (${RUNTIME}s)"
		# shellcheck disable=SC2046 # job's words are fio arguments
		if fio --name="$j" --filename=/dev/$d --direct=1 \
			--ioengine=libaio --size=256M --time_based \
			--runtime="$RUNTIME" --ramp_time=2 $(job $j) \
			--output-format=json --output=/tmp/$d-$j.json \
			>/dev/null 2>&1; then
			log_frame "fio-$d-$j" "/tmp/$d-$j.json"
		else
			fail "fio-$d-$j" "fio $j on $d failed"
		fi
	done
done
echo "VMSG-DOMU: bench completed"
