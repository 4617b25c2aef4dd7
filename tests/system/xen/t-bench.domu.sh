# SPDX-License-Identifier: GPL-2.0
#
# domU half of the Xen benchmark (see t-bench.dom0.sh): the same fio jobs
# as the loopback benchmark (tests/system/guest/bench.sh) on /dev/vda
# (vmsg-blk: virtio_blk, our transport and Xen bus modules, vmsgd in
# dom0) and /dev/xvda (Xen's PV disk: xen-blkfront, xen-blkback in dom0),
# one device at a time, both backed by the same file in dom0. Each result
# is printed between "VMSG-LOG-BEGIN: fio-DEV-JOB" and "VMSG-LOG-END:
# fio-DEV-JOB" lines. Then iperf3 TCP, domU to dom0 and back, 5 s after
# 1 s of warm-up, over the vmsg net device (virtio_net, tap in dom0) and
# over Xen's PV network (xen-netfront, xen-netback's vif in dom0), each
# run's JSON between "VMSG-LOG-BEGIN: iperf-PATH-DIR" and its END line.
# Nothing is asserted but that the run completes.
. /lib/vmsg/domu.sh

#@ assert bench-devices

RUNTIME=$(cmdline_arg vmsg.bench_runtime 10)
BYTES=$((256 << 20))
# room for QD32 of 4 KiB and QD4 of 1 MiB in flight, rings included
REGION_PAGES=4096

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

# the two NICs: MAC, our address, dom0's (t-bench.dom0.sh)
VMSG_NET="52:54:00:76:6d:01 10.99.0.1 10.99.0.2"
XEN_NET="00:16:3e:76:6d:02 10.98.0.1 10.98.0.2"

# net_up MAC ADDR PEER: address the NIC with MAC and wait until PEER answers
net_up() {
	local nic

	wait_until 60 nic_of_mac "$1" >/dev/null || return 1
	nic=$(nic_of_mac "$1")
	ip addr add "$2/24" dev "$nic" && ip link set "$nic" up &&
		ping_peer "$3"
}

# run_iperf PATH MAC ADDR PEER: both directions over one NIC
run_iperf() {
	local path=$1 dir out

	shift
	if ! net_up "$@"; then
		fail "iperf-$path" "no NIC $1 or no answer from $3"
		return
	fi
	for dir in send recv; do
		stage "iperf3 $path $dir (5 s)"
		out=/tmp/iperf-$path-$dir.json
		if bench_iperf "$3" $dir $out; then
			log_frame "iperf-$path-$dir" $out
		else
			fail "iperf-$path-$dir" "iperf3 $dir over $path failed"
		fi
	done
}

size_is() { [ $(($(cat "/sys/block/$1/size") * 512)) = "$BYTES" ]; }
devices_ok() { size_is vda && size_is xvda; }

stage "loading the vmsg modules; NICs: $(ls /sys/class/net | tr '\n' ' ')"
if load_bench_modules && wait_until 120 devices_ok; then
	pass bench-devices
	# the JSON results go to this console: no kernel line may land in
	# the middle of them (the kernel log is still copied whole at the
	# end by /init)
	echo 1 >/proc/sys/kernel/printk
else
	fail bench-devices "vda or xvda missing: $(ls /sys/block | tr '\n' ' ')"
	echo "VMSG-DOMU: bench failed"
	exit 1
fi
for j in $BENCH_JOBS; do
	for d in vda xvda; do
		stage "fio $j on /dev/$d (${RUNTIME}s)"
		if bench_fio "$j" $d "$RUNTIME" "/tmp/$d-$j.json"; then
			log_frame "fio-$d-$j" "/tmp/$d-$j.json"
		else
			fail "fio-$d-$j" "fio $j on $d failed"
		fi
	done
done
# shellcheck disable=SC2086 # the words are MAC, address, peer
run_iperf vmsg $VMSG_NET
# shellcheck disable=SC2086
run_iperf vif $XEN_NET
echo "VMSG-DOMU: bench completed"
