# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# Guest half of `make bench-loopback`: the same fio jobs on vmsg-blk
# (/dev/vda, served by vmsgd) and on the kernel's loop device (/dev/loop0),
# both on one image file in guest tmpfs, so both read and write the same
# RAM and the difference is the I/O path. fio's JSON goes to
# /host/bench/<device>-<job>.json. Then iperf3 between this namespace and
# the namespace "peer", both ways, over vmsg-net (virtio_net here, vmsgd's
# tap in peer) and over a veth pair (the kernel's own path between two
# namespaces); its JSON goes to /host/bench/iperf-<path>-<dir>.json. The
# host parses it all. Nothing is asserted.
. /vmsg/lib.sh

IMG=/tmp/bench.img
RUNTIME=$(cat /host/bench/runtime 2>/dev/null || echo 10)
TAP=vmsgtap0
MAC=52:54:00:76:6d:01
# the two paths: our address, peer's
VMSG_NET="10.99.0.1 10.99.0.2"
VETH_NET="10.98.0.1 10.98.0.2"

die() { echo "VMSG-FAIL: bench: $*"; show_vmsgd_log; exit 1; }

say "filling the 256 MiB image in tmpfs"
head -c $((256 << 20)) /dev/urandom >$IMG || die "no image"
load_vmsg_modules || die "insmod"
vmsgd_start --quiet --device blk,path=$IMG,serial=bench \
	--device "net,tap=$TAP,mac=$MAC" || die "vmsgd"
wait_until 10 test -b /dev/vda || die "no /dev/vda"
losetup /dev/loop0 $IMG || die "losetup"

for j in $BENCH_JOBS; do
	for d in vda loop0; do
		say "fio $j on /dev/$d (${RUNTIME}s)"
		bench_fio "$j" $d "$RUNTIME" "/host/bench/$d-$j.json" ||
			echo "VMSG-FAIL: bench: fio $j on $d failed"
	done
done
losetup -d /dev/loop0

# address ADDR PEER_ADDR DEV PEER_DEV: an address on each end, both up
address() {
	$IP addr add "$1/24" dev "$3" && $IP link set "$3" up &&
		$IP -n peer addr add "$2/24" dev "$4" &&
		$IP -n peer link set "$4" up
}

# vmsgd's tap into peer, facing the virtio NIC; a veth pair beside it
setup_net() {
	local nic

	wait_until 15 nic_of_mac $MAC >/dev/null || return 1
	nic=$(nic_of_mac $MAC)
	# shellcheck disable=SC2086 # the words are the two addresses
	$IP netns add peer && $IP -n peer link set lo up &&
		$IP link set $TAP netns peer &&
		address $VMSG_NET "$nic" $TAP &&
		$IP link add vref0 type veth peer name vref1 netns peer &&
		address $VETH_NET vref0 vref1
}

# run_iperf PATH ADDR PEER_ADDR: both directions over one path
run_iperf() {
	local dir

	ping_peer "$3" || die "no answer from $3 over $1"
	for dir in send recv; do
		say "iperf3 $1 $dir (5 s)"
		bench_iperf "$3" $dir "/host/bench/iperf-$1-$dir.json" ||
			echo "VMSG-FAIL: bench: iperf3 $dir over $1 failed"
	done
}

setup_net || die "setting up the namespace peer failed"
in_peer iperf3 -s >/tmp/iperf3-s.log 2>&1 &
SERVER=$!
wait_until 15 peer_iperf3_listening || die "no iperf3 server in peer"
# shellcheck disable=SC2086 # the words are the two addresses
run_iperf vmsg $VMSG_NET
# shellcheck disable=SC2086
run_iperf veth $VETH_NET
kill $SERVER
vmsgd_stop || die "vmsgd did not stop cleanly"
unload_vmsg_modules
say "bench completed"
