# SPDX-License-Identifier: GPL-2.0
#
# Guest half of the "input" system test: virtio-input passthrough of an
# evdev device, all inside one guest. uinput-emit makes a uinput device
# (keys, left button, REL_X/REL_Y, two LEDs); vmsgd serves it as
# input,evdev=/dev/input/eventN over the loopback bus, and Linux's
# virtio_input driver turns that into a second input device, read with
# evdev-read. Checked: the config answers (name, ids, capabilities equal
# the uinput device's), a known sequence arriving whole and in order, the
# host evdev grabbed meanwhile, an LED written to the guest device reaching
# the uinput device (statusq), two floods of 100000 events with the order
# kept and vmsgd's memory flat, and the uinput device destroyed: that device
# fails (NEEDS_RESET) while vmsgd keeps serving its rng device. The tools
# come from the host's build (groups/input.sh puts them in /host/tools).
. /vmsg/lib.sh

#@ assert modules-load
#@ assert vmsgd-start
#@ assert uinput-create
#@ assert ctl-attach-input
#@ assert virtio-input-binds
#@ assert config-name-ids
#@ assert config-caps-match
#@ assert events-in-order
#@ assert host-evdev-grabbed
#@ assert status-led
#@ assert flood-completes
#@ assert flood-order-kept
#@ assert flood-rss-bounded
#@ assert works-after-flood
#@ assert unplug-needs-reset
#@ assert unplug-logged
#@ assert daemon-keeps-serving
#@ assert vmsgd-clean-stop

NAME=vmsg-test-input
TOOLS=/tmp/tools
FLOOD=100000
# vmsgd's private memory (RssAnon) may grow by this much during a flood
# (kB); buffering the flood would take 100000 x 24 bytes. Not VmRSS: it
# also counts the pages of the shared region vmsgd has touched, which
# may grow up to the region's size without anything being buffered.
RSS_SLACK_KB=1024
HOSTEV=
VEV=
EMIT_PID=

# rss_kb FIELD: vmsgd's VmRSS, RssAnon or RssShmem in kB
rss_kb() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$VMSGD_PID/status"
}

start_emitter() {
	mkdir -p $TOOLS
	cp /host/tools/uinput-emit /host/tools/evdev-read $TOOLS/ &&
		chmod +x $TOOLS/* || return 1
	start_uinput $TOOLS/uinput-emit "$NAME"
}

# reader OUT ARGS...: evdev-read ARGS in the background, once it is ready
reader() {
	local out=$1

	shift
	$TOOLS/evdev-read "$@" >"$out" 2>&1 &
	READER_PID=$!
	wait_until 5 grep -q '^ready' "$out"
}

same_file() {
	[ -r "$1" ] && [ -r "$2" ] && [ "$(cat "$1")" = "$(cat "$2")" ]
}

test_config() {
	local h=/sys/class/input/$HOSTEV/device v=/sys/class/input/$VEV/device
	local f bad=

	for f in name id/bustype id/vendor id/product id/version; do
		same_file "$h/$f" "$v/$f" || bad="$bad $f"
	done
	check config-name-ids "differs from the uinput device:$bad" \
		[ -z "$bad" ]
	bad=
	for f in ev key rel abs led msc sw snd ff; do
		same_file "$h/capabilities/$f" "$v/capabilities/$f" ||
			bad="$bad $f($(cat1 "$h/capabilities/$f")/$(cat1 \
			    "$v/capabilities/$f"))"
	done
	check config-caps-match "capabilities differ (uinput/virtio):$bad" \
		[ -z "$bad" ]
}

# run_seq NAME: the known sequence must arrive whole and in order
run_seq() {
	local seq_pid host_pid

	reader /tmp/seq.out -n $UINPUT_SEQ_COUNT -t 20000 "/dev/input/$VEV" ||
		{ fail "$1" "evdev-read on $VEV did not start"; return 1; }
	seq_pid=$READER_PID
	reader /tmp/host.out -t 3000 "/dev/input/$HOSTEV"
	host_pid=$READER_PID
	echo seq >&3
	wait "$seq_pid"
	wait "$host_pid"
	sed 1d /tmp/seq.out >/tmp/seq.got
	if [ "$(cat /tmp/seq.got)" = "$UINPUT_SEQ" ]; then
		pass "$1"
		return
	fi
	fail "$1" "got $(tr '\n' ',' </tmp/seq.got)"
	# what the other end did, for whoever reads the console
	say "uinput-emit $(kill -0 "$EMIT_PID" && echo runs || echo exited)," \
	    "its output: $(tail -n 5 /tmp/emit.out | tr '\n' ',')"
	say "devices: $(vmsgctl list | tr '\n' ',')"
}

test_events() {
	run_seq events-in-order
	# vmsgd holds the grab: a reader of the uinput device gets nothing
	check host-evdev-grabbed \
		"a reader of $HOSTEV got: $(sed 1d /tmp/host.out | tr '\n' ,)" \
		[ "$(cat /tmp/host.out)" = ready ]
}

test_status() {
	# EV_LED (17) LED_CAPSL (1) on: guest driver, statusq, the uinput device
	$TOOLS/evdev-read -w 17:1:1 "/dev/input/$VEV"
	if wait_until 10 grep -q '^led 1 1$' /tmp/emit.out; then
		pass status-led
	else
		fail status-led "uinput-emit saw no 'led 1 1':$(
		     grep led /tmp/emit.out | tr '\n' ' ')"
	fi
}

# flood_ok SUMMARY: REL_X values came, each larger than the one before
flood_ok() {
	case $1 in
	*" rel_x 0 "*) return 1 ;;
	*" increasing Y "*) return 0 ;;
	esac
	return 1
}

rss_ok() {
	[ -n "$1" ] && [ -n "$2" ] && [ $(($2 - $1)) -lt $RSS_SLACK_KB ]
}

floods_done() {
	[ "$(grep -c "^done flood $FLOOD\$" /tmp/emit.out)" -ge "$1" ]
}

# run_flood N: the N-th flood of FLOOD events, read back in the guest
# (summary in $SUMMARY); 0 if uinput-emit finished it
run_flood() {
	local rc=0

	reader /tmp/flood.out -s -t 8000 "/dev/input/$VEV"
	echo "flood $FLOOD" >&3
	wait_until 180 floods_done "$1" || rc=1
	wait "$READER_PID"
	SUMMARY=$(sed -n 's/^events/events/p' /tmp/flood.out)
	say "flood $1: the guest read $SUMMARY"
	return $rc
}

test_flood() {
	local anon0 anon1 rss0 rss1

	check flood-completes "uinput-emit did not finish the flood" \
		run_flood 1
	if flood_ok "$SUMMARY"; then
		pass flood-order-kept
	else
		fail flood-order-kept "REL_X out of order, or none: $SUMMARY"
	fi
	# The first flood also warmed up the sanitizer runtime of an ASan
	# build (a few MB, once); the second must not grow vmsgd's memory.
	anon0=$(rss_kb RssAnon)
	rss0=$(rss_kb VmRSS)
	run_flood 2
	anon1=$(rss_kb RssAnon)
	rss1=$(rss_kb VmRSS)
	say "flood 2: vmsgd VmRSS $rss0 -> $rss1 kB," \
	    "RssAnon $anon0 -> $anon1 kB"
	if floods_done 2 && flood_ok "$SUMMARY" &&
	   rss_ok "$anon0" "$anon1"; then
		pass flood-rss-bounded
	else
		fail flood-rss-bounded \
		     "RssAnon $anon0 -> $anon1 kB, read $SUMMARY"
	fi
	run_seq works-after-flood
}

# The guest's transport logs NEEDS_RESET for our device, fails it and
# resets it (status 0); the rng device keeps running.
input_failed() {
	dmesg | grep -q "dev $DEVNUM: device reports DEVICE_NEEDS_RESET" &&
		vmsgctl list >/tmp/list &&
		grep -q "^$DEVNUM input 0x00 idle\$" /tmp/list &&
		grep -q "^[0-9]* rng 0x0f running\$" /tmp/list
}

hwrng_works() {
	run_bounded 30 dd if=/dev/hwrng of=/tmp/r bs=4096 count=1 \
		iflag=fullblock 2>/dev/null && [ "$(stat -c %s /tmp/r)" = 4096 ]
}

test_unplug() {
	echo quit >&3
	exec 3>&-
	wait "$EMIT_PID"
	if wait_until 20 input_failed; then
		pass unplug-needs-reset
	else
		fail unplug-needs-reset "list: $(tr '\n' ',' </tmp/list)$(
		     dmesg | grep -m1 NEEDS_RESET)"
	fi
	check unplug-logged "vmsgd logged no failure of the input device" \
		grep -q "device failed: evdev /dev/input/$HOSTEV" "$VMSGD_LOG"
	if kill -0 "$VMSGD_PID" && hwrng_works && vmsgctl list >/dev/null; then
		pass daemon-keeps-serving
	else
		fail daemon-keeps-serving "vmsgd or its rng device stopped"
		show_vmsgd_log
	fi
}

if ! load_vmsg_modules; then
	fail modules-load "insmod of the vmsg modules failed"
	exit 1
fi
pass modules-load
if ! vmsgd_start --device rng; then
	fail vmsgd-start "vmsgd did not print its ready line"
	exit 1
fi
pass vmsgd-start
if ! start_emitter; then
	fail uinput-create "uinput-emit: $(cat /tmp/emit.out 2>/dev/null)"
	exit 1
fi
pass uinput-create
say "uinput device: /dev/input/$HOSTEV"
DEVNUM=$(vmsgctl attach "input,evdev=/dev/input/$HOSTEV")
if [ -z "$DEVNUM" ]; then
	fail ctl-attach-input "vmsgctl attach printed nothing"
	show_vmsgd_log
	exit 1
fi
pass ctl-attach-input
if ! wait_until 20 virtio_event "$NAME" >/dev/null; then
	fail virtio-input-binds "no virtio input device named $NAME appeared"
	show_vmsgd_log
	exit 1
fi
VEV=$(virtio_event "$NAME")
pass virtio-input-binds
say "virtio input device: /dev/input/$VEV"
test_config
test_events
test_status
test_flood
test_unplug
if vmsgd_stop; then
	pass vmsgd-clean-stop
else
	fail vmsgd-clean-stop "vmsgd did not exit 0 after SIGTERM"
	show_vmsgd_log
fi
