# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# Guest half of the "net" system test: virtio-net over the loopback bus.
# vmsgd serves an rng and a net device whose tap, vmsgtap0, it creates; the
# tap is then moved into the network namespace "peer" (vmsgd's open tap
# keeps working across the move). eth0 (our NIC, 10.99.0.1) and the tap
# (10.99.0.2) ping each other and run iperf3 both ways, bounded in time.
# Then the tap is deleted: the net device must fail (NEEDS_RESET) and lose
# its link while the daemon and the rng go on. Nothing leaves the guest.
. /vmsg/lib.sh

#@ assert modules-load
#@ assert vmsgd-start
#@ assert net-binds
#@ assert tap-into-netns
#@ assert link-up
#@ assert ping-to-peer
#@ assert ping-from-peer
#@ assert iperf3-guest-sends
#@ assert iperf3-guest-receives
#@ assert tap-gone-needs-reset
#@ assert tap-gone-link-down
#@ assert others-keep-working
#@ assert vmsgd-clean-stop

MAC=52:54:00:76:6d:01
TAP=vmsgtap0
GUEST_IP=10.99.0.1
PEER_IP=10.99.0.2
IF=
NET_DEV=

carrier() { cat1 "/sys/class/net/$IF/carrier"; }
carrier_is() { [ "$(carrier)" = "$1" ]; }

test_bind() {
	if wait_until 15 nic_of_mac "$MAC" >/dev/null; then
		IF=$(nic_of_mac "$MAC")
		say "virtio-net is $IF ($(cat1 /sys/class/net/"$IF"/device/features 2>/dev/null))"
		pass net-binds
	else
		fail net-binds "no interface with address $MAC ($(ls /sys/class/net | tr '\n' ' '))"
		show_vmsgd_log
		return 1
	fi
}

setup_netns() {
	$IP netns add peer &&
		$IP link set "$TAP" netns peer &&
		$IP -n peer link set lo up &&
		$IP -n peer addr add "$PEER_IP/24" dev "$TAP" &&
		$IP -n peer link set "$TAP" up &&
		$IP addr add "$GUEST_IP/24" dev "$IF" &&
		$IP link set "$IF" up
}

# iperf3_run NAME ARGS...: one bounded 5 s run against a one-shot server
# in peer; pass NAME if the client finished and the receiver saw data
iperf3_run() {
	local name=$1 rate server

	shift
	in_peer iperf3 -s -1 -B "$PEER_IP" >/tmp/iperf3-s.log 2>&1 &
	server=$!
	wait_until 15 peer_iperf3_listening
	if run_bounded 60 iperf3 -c "$PEER_IP" -t 5 "$@" >/tmp/iperf3.log 2>&1; then
		rate=$(grep receiver /tmp/iperf3.log | tail -n 1 |
			awk '{ print $7, $8 }')
		say "iperf3 $*: $rate"
		case $rate in
		0.00*|'') fail "$name" "no data: $(tail -n 3 /tmp/iperf3.log | tr '\n' ' ')" ;;
		*) pass "$name" ;;
		esac
	else
		fail "$name" "iperf3 failed: $(tail -n 3 /tmp/iperf3.log | tr '\n' ' ')"
		kill "$server" 2>/dev/null
	fi
	wait "$server"
}

# vmsgd failed the device and the guest's transport saw NEEDS_RESET (it
# then resets the device itself, so vmsgctl list shows it idle again)
net_failed() {
	grep -q "device failed: tap $TAP is gone" "$VMSGD_LOG" &&
		dmesg | grep -q "dev $NET_DEV: device reports DEVICE_NEEDS_RESET"
}

rng_works() {
	run_bounded 30 dd if=/dev/hwrng of=/tmp/r bs=4096 count=4 \
		iflag=fullblock 2>/dev/null &&
		[ "$(stat -c %s /tmp/r)" = 16384 ]
}

test_tap_gone() {
	NET_DEV=$(devnum_of net)
	$IP -n peer link del "$TAP"
	if wait_until 10 net_failed; then
		pass tap-gone-needs-reset
	else
		fail tap-gone-needs-reset "no failure of device '$NET_DEV' in vmsgd's log and dmesg"
		show_vmsgd_log
	fi
	say "kernel: $(dmesg | grep -m1 'DEVICE_NEEDS_RESET')"
	if wait_until 10 carrier_is 0; then
		pass tap-gone-link-down
	else
		fail tap-gone-link-down "carrier of $IF is '$(carrier)'"
	fi
	check others-keep-working "rng or vmsgctl stopped working" \
		eval "rng_works && vmsgctl list | grep -q ' rng 0x0f running\$'"
}

if ! load_vmsg_modules; then
	fail modules-load "insmod of the vmsg modules failed"
	exit 1
fi
pass modules-load
if ! vmsgd_start --device rng --device "net,tap=$TAP,mac=$MAC"; then
	fail vmsgd-start "vmsgd did not print its ready line"
	exit 1
fi
pass vmsgd-start
test_bind || exit 1
if ! setup_netns; then
	fail tap-into-netns "ip netns / ip link set netns failed"
	show_vmsgd_log
	exit 1
fi
pass tap-into-netns
if wait_until 10 carrier_is 1; then
	pass link-up
else
	fail link-up "carrier of $IF is '$(carrier)'"
fi
check ping-to-peer "no reply from $PEER_IP" \
	run_bounded 30 ping -c 3 -W 5 "$PEER_IP"
check ping-from-peer "no reply from $GUEST_IP" \
	run_bounded 30 nsenter --net=/run/netns/peer ping -c 3 -W 5 "$GUEST_IP"
iperf3_run iperf3-guest-sends
iperf3_run iperf3-guest-receives -R
test_tap_gone
if vmsgd_stop; then
	pass vmsgd-clean-stop
else
	fail vmsgd-clean-stop "vmsgd did not exit 0 after SIGTERM"
	show_vmsgd_log
fi
