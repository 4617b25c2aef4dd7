# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# Console markers and bounded waits shared by every guest of the system
# tests: the loopback guests (guest/lib.sh sources it as /vmsg/common.sh)
# and dom0 and the domUs of the Xen tests (as /lib/vmsg/common.sh). The host
# harnesses (run.sh, xen/run-xen.sh) read these markers from the console;
# nothing here decides whether a test passed.
#
#   VMSG-PASS: NAME / VMSG-FAIL: NAME: WHY   one line per assertion; the
#                                            host expects every "#@ assert
#                                            NAME" line of the test scripts
#   VMSG-STAGE: TEXT                         progress, shown on the host
#   VMSG-INFO: TEXT                          anything else worth reading
#   VMSG-LOG-BEGIN: NAME ... VMSG-LOG-END: NAME   a log copied verbatim
#
# Nothing here waits without a bound.

say() { echo "VMSG-INFO: $*"; }
stage() { echo "VMSG-STAGE: $*"; }
pass() { echo "VMSG-PASS: $1"; }
fail() { echo "VMSG-FAIL: $1: $2"; }

# check NAME WHY-IF-FAILED CMD...: pass if CMD succeeds
check() {
	local name=$1 why=$2

	shift 2
	if "$@"; then
		pass "$name"
	else
		fail "$name" "$why"
	fi
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s; 0 once it succeeds
wait_until() {
	local n=$(($1 * 10))

	shift
	while [ "$n" -gt 0 ]; do
		"$@" 2>/dev/null && return 0
		usleep 100000
		n=$((n - 1))
	done
	return 1
}

# log_frame NAME FILE: copy FILE to the console between markers the host
# can cut out again (carriage returns removed)
log_frame() {
	echo "VMSG-LOG-BEGIN: $1"
	tr -d '\r' <"$2"
	echo "VMSG-LOG-END: $1"
}

# dir_with GLOB ATTR VALUE: the name of the first directory of GLOB whose
# file ATTR holds VALUE; 1 if there is none
dir_with() {
	local d

	for d in $1; do
		if [ "$(cat "$d/$2" 2>/dev/null)" = "$3" ]; then
			echo "${d##*/}"
			return 0
		fi
	done
	return 1
}

# nic_of_mac MAC: the network interface with MAC; 1 if there is none
nic_of_mac() { dir_with '/sys/class/net/*' address "$1"; }

# ping_peer ADDR: one ping at a time, up to 20, until ADDR answers (the
# other end may come up late; wait_until would poll a 2 s ping 300 times)
ping_peer() {
	local n=20

	while [ "$n" -gt 0 ]; do
		ping -c 1 -W 2 "$1" >/dev/null && return 0
		n=$((n - 1))
	done
	return 1
}

# --- the benchmarks (guest/bench.sh, xen/t-bench.domu.sh) ------------------

# the fio jobs, which bench-report.py knows by these names
BENCH_JOBS="randread-qd1 randread-qd32 seqread-1m seqwrite-1m"

# bench_fio JOB DEV RUNTIME OUT: one fio job on /dev/DEV for RUNTIME s after
# 2 s of ramp, over 256 MiB, its JSON result in OUT
bench_fio() {
	local args

	case $1 in
	randread-qd1)	args="--rw=randread --bs=4k --iodepth=1" ;;
	randread-qd32)	args="--rw=randread --bs=4k --iodepth=32" ;;
	seqread-1m)	args="--rw=read --bs=1M --iodepth=4" ;;
	seqwrite-1m)	args="--rw=write --bs=1M --iodepth=4" ;;
	*)		return 1 ;;
	esac
	# shellcheck disable=SC2086 # args are words
	fio --name="$1" --filename="/dev/$2" --direct=1 --ioengine=libaio \
		--size=256M --time_based --runtime="$3" --ramp_time=2 $args \
		--output-format=json --output="$4" >/dev/null 2>&1
}

# bench_iperf PEER DIR OUT: one TCP stream to (send) or from (recv) the
# iperf3 server at PEER, 5 s after 1 s of warm-up, its JSON result in OUT
bench_iperf() {
	local args=

	[ "$2" = recv ] && args=-R
	# shellcheck disable=SC2086 # args is one word or none
	timeout 60 iperf3 -c "$1" -t 5 -O 1 -J $args >"$3" 2>/dev/null
}

# The value of NAME=VALUE on the kernel command line, or $2
cmdline_arg() {
	local a

	for a in $(cat /proc/cmdline); do
		case $a in
		"$1"=*) echo "${a#*=}"; return 0 ;;
		esac
	done
	echo "$2"
}

# insmod every module of a load-order file; 0 if all loaded
load_modules() {
	local m rc=0

	for m in $(cat "$1"); do
		insmod "$m" || { say "insmod $m failed"; rc=1; }
	done
	return "$rc"
}

# --- virtio-input (loopback and Xen input tests, the demo) ------------------

# What evdev-read prints for uinput-emit's "seq" (tests/system/tools),
# SYN_REPORTs included, and how many events that is
UINPUT_SEQ='1 30 1
0 0 0
2 0 5
2 1 -3
0 0 0
1 30 0
0 0 0
1 272 1
0 0 0
2 0 -120
0 0 0
1 272 0
0 0 0
1 48 1
0 0 0
1 48 0
0 0 0'
UINPUT_SEQ_COUNT=17

# start_uinput PROG NAME: run uinput-emit (PROG, its path) making the
# device NAME, its commands through fd 3; sets EMIT_PID and HOSTEV, the
# uinput device's eventN. 0 once /dev/input/HOSTEV exists.
start_uinput() {
	local sys

	mkfifo /tmp/emit.in || return 1
	"$1" "$2" </tmp/emit.in >/tmp/emit.out 2>&1 &
	EMIT_PID=$!
	# keeps the emitter's input open between commands
	exec 3>/tmp/emit.in
	wait_until 10 grep -q '^ready ' /tmp/emit.out || return 1
	sys=$(sed -n 's/^ready //p' /tmp/emit.out)
	HOSTEV=$(basename "$(ls -d /sys/class/input/"$sys"/event* | head -n 1)")
	wait_until 5 test -c "/dev/input/$HOSTEV"
}

# virtio_event NAME: the eventN virtio_input made for the device NAME
virtio_event() {
	local e

	for e in /sys/class/input/event*; do
		case $(readlink -f "$e") in
		*virtio*) ;;
		*) continue ;;
		esac
		[ "$(cat "$e/device/name" 2>/dev/null)" = "$1" ] || continue
		echo "${e##*/}"
		return 0
	done
	return 1
}

# --- the DS1307 behind virtio-i2c (loopback and Xen i2c tests) -------------

# The number N of the virtio i2c adapter (/dev/i2c-N); 1 if there is none
virtio_i2c_bus() {
	local d

	for d in /sys/bus/i2c/devices/i2c-*; do
		case $(cat "$d/name" 2>/dev/null) in
		i2c_virtio*) echo "${d##*/i2c-}"; return 0 ;;
		esac
	done
	return 1
}

# Sets BUS once the virtio i2c adapter and its /dev/i2c-N exist
adapter_ready() { BUS=$(virtio_i2c_bus) && [ -c "/dev/i2c-$BUS" ]; }

# expect NAME WANT CMD...: pass if CMD prints exactly WANT
expect() {
	local name=$1 want=$2 got

	shift 2
	got=$("$@" 2>&1)
	if [ "$got" = "$want" ]; then
		pass "$name"
	else
		fail "$name" "'$*' printed '$got', expected '$want'"
	fi
}

# The rtcM of the ds1307 client at 0x68 on i2c bus $BUS, once bound
rtc_of_client() {
	local r

	for r in /sys/bus/i2c/devices/"$BUS"-0068/rtc/rtc*; do
		[ -e "$r" ] || return 1
		echo "${r##*/}"
		return 0
	done
	return 1
}

# hwclock_epoch DEV: the RTC's time read by hwclock -r, as Unix seconds.
# busybox prints "Sat Jun 15 12:34:56 2024  0.000000 seconds".
hwclock_epoch() {
	local out

	out=$(hwclock -r -u -f "$1") || return 1
	say "hwclock -r -u -f $1: $out" >&2
	date -u -d "$(echo "$out" | awk '{
		m = index("JanFebMarAprMayJunJulAugSepOctNovDec", $2)
		printf "%s-%d-%s %s\n", $5, (m + 2) / 3, $3, $4 }')" +%s
}

# near A B SLACK: |A - B| <= SLACK
near() {
	[ -n "$1" ] && [ -n "$2" ] &&
		[ $(($1 - $2)) -le "$3" ] && [ $(($2 - $1)) -le "$3" ]
}
