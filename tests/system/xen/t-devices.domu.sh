# SPDX-License-Identifier: GPL-2.0
#
# domU half of the Xen device-model test (see t-devices.dom0.sh): Linux's
# own drivers on the net, console, input and i2c devices vmsgd serves from
# dom0 over our Xen bus. The NIC (10.99.0.1) pings dom0's tap (10.99.0.2)
# and runs iperf3 both ways against dom0's server; the console (an hvc
# after Xen's own hvc0) greets dom0's vmsgctl client until its reply comes;
# the input device must deliver uinput-emit's known sequence in order;
# i2c-tools and rtc-ds1307 (with hwclock) use the emulated DS1307. The
# logic is that of the loopback tests, cut to one round trip per model.
. /lib/vmsg/domu.sh

#@ assert domu-modules
#@ assert net-binds
#@ assert link-up
#@ assert ping-to-dom0
#@ assert iperf3-domu-sends
#@ assert iperf3-domu-receives
#@ assert console-hvc
#@ assert console-host-to-guest
#@ assert input-binds
#@ assert input-events-in-order
#@ assert i2c-modules-load
#@ assert i2c-adapter-appears
#@ assert i2cget-nvram
#@ assert i2cset-readback
#@ assert rtc-ds1307-binds
#@ assert hwclock-read-host-time
#@ assert hwclock-write-roundtrip

MAC=52:54:00:76:6d:01
GUEST_IP=10.99.0.1
HOST_IP=10.99.0.2
INPUT_NAME=vmsg-xen-input
EXTMODS=/lib/modules/extmods
RTC=0x68
IF=
BUS=

cat1() { cat "$1" 2>/dev/null; }

# --- net -------------------------------------------------------------------

carrier_is() { [ "$(cat1 "/sys/class/net/$IF/carrier")" = "$1" ]; }

# iperf3_run NAME ARGS...: 3 s against dom0's server; pass NAME if the
# receiver saw data
iperf3_run() {
	local name=$1 rate

	shift
	if timeout 60 iperf3 -c "$HOST_IP" -t 3 "$@" >/tmp/iperf3.log 2>&1; then
		rate=$(grep receiver /tmp/iperf3.log | tail -n 1 |
			awk '{ print $7, $8 }')
		say "iperf3 $*: $rate"
		case $rate in
		0.00*|'') fail "$name" "no data: $(tail -n 3 /tmp/iperf3.log |
			tr '\n' ' ')" ;;
		*) pass "$name" ;;
		esac
	else
		fail "$name" "iperf3 failed: $(tail -n 3 /tmp/iperf3.log | tr '\n' ' ')"
	fi
}

test_net() {
	if ! wait_until 60 nic_of_mac "$MAC" >/dev/null; then
		fail net-binds "no interface with address $MAC in\
 $(ls /sys/class/net | tr '\n' ' ')"
		return
	fi
	IF=$(nic_of_mac "$MAC")
	pass net-binds
	say "virtio-net is $IF"
	ip addr add "$GUEST_IP/24" dev "$IF" && ip link set "$IF" up
	check link-up "carrier of $IF is '$(cat1 /sys/class/net/"$IF"/carrier)'" \
		wait_until 30 carrier_is 1
	# dom0 configures its tap once the bus is up: allow it a while
	check ping-to-dom0 "no reply from $HOST_IP" ping_peer "$HOST_IP"
	echo "VMSG-DOMU: net up"
	iperf3_run iperf3-domu-sends
	iperf3_run iperf3-domu-receives -R
}

# --- console ---------------------------------------------------------------

# hvc makes its nodes before the hvc behind one exists, and a failed exec
# redirection would end this shell: try in a subshell, and only on a
# character device (<> would create a plain file)
can_open() { [ -c "$1" ] && (exec 9<>"$1") 2>/dev/null; }

# ours: the first hvc after hvc0, which is Xen's PV console
our_hvc() {
	local n

	for n in 1 2 3 4 5 6 7; do
		can_open /dev/hvc$n && { echo /dev/hvc$n; return 0; }
	done
	return 1
}

# Greet dom0 once a second until its reply arrives: output with no client
# attached is dropped, so the greeting repeats until one listens.
greet() {
	local n=90

	while [ "$n" -gt 0 ]; do
		printf 'hello from domU\n' >&4
		grep -q 'hello from dom0' /tmp/h2g 2>/dev/null && return 0
		sleep 1
		n=$((n - 1))
	done
	return 1
}

test_console() {
	local hvc rpid

	if ! wait_until 30 our_hvc >/dev/null; then
		fail console-hvc "no hvc but Xen's in: $(echo /dev/hvc*)"
		return
	fi
	hvc=$(our_hvc)
	if ! command exec 4<>"$hvc" || ! stty raw -echo <&4; then
		fail console-hvc "cannot open $hvc in raw mode"
		return
	fi
	pass console-hvc
	say "the virtio console is $hvc"
	head -n 1 <&4 >/tmp/h2g &
	rpid=$!
	check console-host-to-guest "got '$(cat /tmp/h2g)' from dom0" greet
	kill "$rpid" 2>/dev/null
	exec 4>&-
}

# --- input -----------------------------------------------------------------

test_input() {
	local ev pid

	if ! wait_until 60 virtio_event "$INPUT_NAME" >/dev/null; then
		fail input-binds "no virtio input device named $INPUT_NAME"
		return
	fi
	ev=$(virtio_event "$INPUT_NAME")
	pass input-binds
	evdev-read -n "$UINPUT_SEQ_COUNT" -t 60000 "/dev/input/$ev" >/tmp/seq.out 2>&1 &
	pid=$!
	wait_until 10 grep -q '^ready' /tmp/seq.out
	echo "VMSG-DOMU: input reader ready"
	wait "$pid"
	sed 1d /tmp/seq.out >/tmp/seq.got
	check input-events-in-order "got $(tr '\n' ',' </tmp/seq.got)" \
		[ "$(cat /tmp/seq.got)" = "$UINPUT_SEQ" ]
}

# --- i2c -------------------------------------------------------------------

load_i2c_modules() {
	insmod $EXTMODS/i2c-virtio.ko && insmod $EXTMODS/rtc-ds1307.ko &&
		lsmod | grep -q '^i2c_dev '
}

test_rtc() {
	local dev t now

	echo ds1307 $RTC >/sys/bus/i2c/devices/i2c-"$BUS"/new_device
	if ! wait_until 15 rtc_of_client >/dev/null; then
		fail rtc-ds1307-binds "no rtc under /sys/bus/i2c/devices/$BUS-0068"
		return
	fi
	dev=/dev/$(rtc_of_client)
	check rtc-ds1307-binds "$dev missing" [ -c "$dev" ]
	# the emulated clock starts at dom0's time, which Xen gives us too
	t=$(hwclock_epoch "$dev")
	now=$(date +%s)
	check hwclock-read-host-time "RTC $t, domU clock $now" \
		near "$t" "$now" 5
	# set it far off behind the driver's back, then hwclock -w
	i2ctransfer -f -y "$BUS" w8@$RTC 0x00 0x00 0x00 0x00 0x07 0x03 0x02 0x01
	if hwclock -w -u -f "$dev"; then
		t=$(hwclock_epoch "$dev")
		now=$(date +%s)
		check hwclock-write-roundtrip "RTC $t, domU clock $now" \
			near "$t" "$now" 3
	else
		fail hwclock-write-roundtrip "hwclock -w -u -f $dev failed"
	fi
	echo $RTC >/sys/bus/i2c/devices/i2c-"$BUS"/delete_device
}

test_i2c() {
	if ! load_i2c_modules; then
		fail i2c-modules-load "i2c-virtio, rtc-ds1307 or i2c_dev missing"
		return
	fi
	pass i2c-modules-load
	if ! wait_until 30 adapter_ready; then
		fail i2c-adapter-appears "no i2c_virtio adapter in\
 $(ls /sys/bus/i2c/devices | tr '\n' ' ')"
		return
	fi
	pass i2c-adapter-appears
	expect i2cget-nvram 0x00 i2cget -y "$BUS" $RTC 0x08
	if i2cset -y "$BUS" $RTC 0x08 0x5a; then
		expect i2cset-readback 0x5a i2cget -y "$BUS" $RTC 0x08
	else
		fail i2cset-readback "i2cset -y $BUS $RTC 0x08 0x5a failed"
	fi
	test_rtc
}

if ! load_vmsg_modules; then
	fail domu-modules "our modules did not load"
	exit 1
fi
pass domu-modules
test_net
test_console
test_input
test_i2c
