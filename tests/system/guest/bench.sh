# SPDX-License-Identifier: GPL-2.0
#
# Guest half of `make bench-loopback`: the same fio jobs on vmsg-blk
# (/dev/vda, served by vmsgd) and on the kernel's loop device (/dev/loop0),
# both on one image file in guest tmpfs, so both read and write the same
# RAM and the difference is the I/O path. fio's JSON goes to
# /host/bench/<device>-<job>.json; the host parses it. Nothing is asserted.
. /vmsg/lib.sh

IMG=/tmp/bench.img
RUNTIME=$(cat /host/bench/runtime 2>/dev/null || echo 10)

die() { echo "VMSG-FAIL: bench: $*"; show_vmsgd_log; exit 1; }

# job NAME: fio arguments of one job
job() {
	case $1 in
	randread-qd1)	echo "--rw=randread --bs=4k --iodepth=1" ;;
	randread-qd32)	echo "--rw=randread --bs=4k --iodepth=32" ;;
	seqread-1m)	echo "--rw=read --bs=1M --iodepth=4" ;;
	seqwrite-1m)	echo "--rw=write --bs=1M --iodepth=4" ;;
	esac
}

say "filling the 256 MiB image in tmpfs"
head -c $((256 << 20)) /dev/urandom >$IMG || die "no image"
load_vmsg_modules || die "insmod"
vmsgd_start --quiet --device blk,path=$IMG,serial=bench || die "vmsgd"
wait_until 10 test -b /dev/vda || die "no /dev/vda"
losetup /dev/loop0 $IMG || die "losetup"

for j in randread-qd1 randread-qd32 seqread-1m seqwrite-1m; do
	for d in vda loop0; do
		say "fio $j on /dev/$d (${RUNTIME}s)"
		# shellcheck disable=SC2046 # job's words are fio arguments
		fio --name="$j" --filename=/dev/$d --direct=1 \
			--ioengine=libaio --size=256M --time_based \
			--runtime="$RUNTIME" --ramp_time=2 $(job $j) \
			--output-format=json \
			--output="/host/bench/$d-$j.json" >/dev/null 2>&1 ||
			echo "VMSG-FAIL: bench: fio $j on $d failed"
	done
done
losetup -d /dev/loop0
vmsgd_stop || die "vmsgd did not stop cleanly"
unload_vmsg_modules
say "bench completed"
