# SPDX-License-Identifier: GPL-2.0
#
# dom0 half of the Xen device-model test: the net, console, input and i2c
# models, which the loopback tests (tests/system/guest/t-{net,console,
# input,i2c}.sh) check inside one guest, served here by vmsgd --bus xen
# (ASan+UBSan) in dom0 to a PV domU made by vmsgctl create. dom0 holds the
# other end of each: the tap vmsgtap0 (10.99.0.2, pinged and an iperf3
# server for the domU at 10.99.0.1), a vmsgctl console client on the
# console's socket, and the uinput device vmsgd passes through. The i2c
# RTC needs nothing in dom0. It does not repeat the loopback tests' corner
# cases (hot-unplug failures, floods, second clients): those are the
# models' business, the same on both buses.
. /lib/vmsg/dom0.sh

#@ timeout 360
#@ assert uinput-create
#@ assert vmsgd-start
#@ assert create
#@ assert connected
#@ assert tap-up
#@ assert ping-from-dom0
#@ assert console-path
#@ assert console-guest-to-host
#@ assert input-emitted
#@ assert domu-poweroff
#@ assert vmsgd-exit

NAME=devices
TAP=vmsgtap0
MAC=52:54:00:76:6d:01
GUEST_IP=10.99.0.1
HOST_IP=10.99.0.2
SOCK=/run/con.sock
INPUT_NAME=vmsg-xen-input
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
# a write to a fifo whose reader died must fail, not kill this script
trap '' PIPE

# uinput-emit makes the device vmsgd will pass through (common.sh)
start_emitter() { start_uinput uinput-emit "$INPUT_NAME"; }

create_guest() {
	domu_config "$NAME" "vmsg = [ \"net,tap=$TAP,mac=$MAC\", \
\"console,socket=$SOCK\", \"input,evdev=/dev/input/$HOSTEV\", \
\"i2c,rtc=0x68\" ]"
	sed 's/^/VMSG-INFO:   cfg: /' "/etc/xen/$NAME.cfg"
	if ! vmsgctl create "/etc/xen/$NAME.cfg" >/tmp/create.log 2>&1; then
		sed 's/^/VMSG-INFO:   create: /' /tmp/create.log
		fail create "vmsgctl create failed"
		return 1
	fi
	pass create
	DOMID=$(domu_id "$NAME")
	stage "domU $NAME created (domid $DOMID)"
	domu_follow "$NAME"
	if wait_until 120 vmsg_connected "$DOMID"; then
		pass connected
	else
		fail connected "$(vmsg_states "$DOMID")"
	fi
	vmsgctl list "$DOMID" >/tmp/list.log 2>&1
	sed 's/^/VMSG-INFO:   list: /' /tmp/list.log
}

# The tap vmsgd made for the net device; an iperf3 server on it for the
# domU (which runs the clients, both directions)
setup_tap() {
	wait_until 30 [ -d /sys/class/net/$TAP ] &&
		ip addr add "$HOST_IP/24" dev $TAP &&
		ip link set $TAP up || return 1
	iperf3 -s -B "$HOST_IP" >/tmp/iperf3-s.log 2>&1 &
	IPERF=$!
}

test_ping() {
	if ! domu_wait_log "$NAME" 120 'VMSG-DOMU: net up'; then
		fail ping-from-dom0 "the domU never brought its NIC up"
		return
	fi
	check ping-from-dom0 "no reply from $GUEST_IP" \
		timeout 30 ping -c 3 -W 5 "$GUEST_IP"
}

devnum_of() { sed -n "s/^\\([0-9]*\\) $1.*/\\1/p" /tmp/list.log | head -n 1; }

# vmsgctl console as the host side: it must get the domU's line; the domU
# checks the reply. -p is asked by DOMAIN name alone (the first console)
# and by name and DEVNUM; the client runs with the domain id and DEVNUM.
console_start() {
	local path path1

	CON=$(devnum_of console)
	path=$(vmsgctl console -p "$NAME" "$CON" 2>&1)
	path1=$(vmsgctl console -p "$NAME" 2>&1)
	check console-path "vmsgctl console -p $NAME '$CON' printed '$path', -p $NAME alone '$path1'" \
		[ "$path|$path1" = "$SOCK|$SOCK" ]
	mkfifo /tmp/con.in
	vmsgctl console -w 0 "$DOMID" "$CON" </tmp/con.in >/tmp/con.out \
		2>/tmp/con.err &
	CON_PID=$!
	exec 5>/tmp/con.in
}

console_reply() {
	# the domU greets for 90 s once its NIC tests are done
	if wait_until 150 grep -aq 'hello from domU' /tmp/con.out; then
		pass console-guest-to-host
		echo 'hello from dom0' >&5
	else
		fail console-guest-to-host \
		     "the client got '$(head -c 200 /tmp/con.out)': $(cat /tmp/con.err)"
	fi
}

console_stop() {
	exec 5>&-
	kill "$CON_PID" 2>/dev/null
	wait "$CON_PID" 2>/dev/null
}

emit_events() {
	if domu_wait_log "$NAME" 120 'VMSG-DOMU: input reader ready'; then
		echo seq >&3
		check input-emitted "uinput-emit did not finish the sequence" \
			wait_until 10 grep -q '^done seq' /tmp/emit.out
	else
		fail input-emitted "the domU never got its reader ready"
	fi
}

if ! start_emitter; then
	fail uinput-create "uinput-emit: $(cat /tmp/emit.out 2>/dev/null)"
	exit 1
fi
pass uinput-create
say "uinput device: /dev/input/$HOSTEV"
if ! vmsgd_start --verbose; then
	fail vmsgd-start "vmsgd did not come up"
	log_frame vmsgd-log "$VMSGD_LOG"
	exit 1
fi
pass vmsgd-start
create_guest
check tap-up "no tap $TAP, or it did not take $HOST_IP" setup_tap
console_start
test_ping
console_reply
emit_events
check domu-poweroff "the domU did not power off" domu_wait_gone "$NAME" 240
domu_unfollow
console_stop
[ -n "${IPERF:-}" ] && kill "$IPERF" 2>/dev/null
grep -E 'sender|receiver' /tmp/iperf3-s.log | sed 's/^/VMSG-INFO:   iperf3: /'
echo quit >&3
exec 3>&-
wait "$EMIT_PID"
check vmsgd-exit "vmsgd did not exit 0 on SIGTERM, or a sanitizer spoke" \
	vmsgd_stop
log_frame vmsgd-log "$VMSGD_LOG"
