# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the guest-side test scripts (sourced, busybox sh).
#
# Each assertion prints exactly one console line, "VMSG-PASS: NAME" or
# "VMSG-FAIL: NAME: WHY", which the host turns into its PASS:/FAIL: line.
# The host also knows which names to expect from the "#@ assert NAME" lines
# of each script, so an assertion that is never reached is a failure too.
# Nothing here waits without a bound.

VMSGD_LOG=/tmp/vmsgd.log
VMSGD_PID=
VMSGD_RUNS=0
# For a vmsgd built with sanitizers: report, do not stop at the first one
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0

# say, stage, pass, fail, check, wait_until, log_frame
. /vmsg/common.sh

# First line of a file, or empty
cat1() { head -n 1 "$1" 2>/dev/null; }

load_vmsg_modules() {
	local m

	if [ "$(wc -l </etc/vmsg/vmsg-modules)" -ne 2 ]; then
		say "not in the initramfs: both vmsg modules (make modules)"
		return 1
	fi
	for m in $(cat /etc/vmsg/vmsg-modules); do
		insmod "$m" || { say "insmod $m failed"; return 1; }
	done
	wait_until 5 test -c /dev/virtio-msg-lb ||
		{ say "no /dev/virtio-msg-lb"; return 1; }
}

# Unload whichever vmsg modules are loaded, bus first; 0 once both are gone
unload_vmsg_modules() {
	local m

	for m in virtio_msg_loopback virtio_msg_transport; do
		lsmod | grep -q "^$m " || continue
		rmmod "$m" || return 1
	done
	return 0
}

# vmsgd_start ARGS...: start vmsgd on the loopback bus, wait for "ready"
vmsgd_start() {
	# each run logs to its own file; init copies them all to /host
	VMSGD_RUNS=$((VMSGD_RUNS + 1))
	VMSGD_LOG=/tmp/vmsgd-$VMSGD_RUNS.log
	: >"$VMSGD_LOG"
	vmsgd --bus loopback "$@" >>"$VMSGD_LOG" 2>&1 &
	VMSGD_PID=$!
	if wait_until 15 grep -q 'vmsgd: ready' "$VMSGD_LOG"; then
		return 0
	fi
	say "vmsgd did not get ready; its log:"
	sed 's/^/VMSG-INFO:   vmsgd: /' "$VMSGD_LOG"
	return 1
}

# vmsgd_stop: SIGTERM, wait up to 20 s; 0 if it exited with status 0
vmsgd_stop() {
	local n=200

	[ -n "$VMSGD_PID" ] || return 1
	kill -TERM "$VMSGD_PID" 2>/dev/null
	while [ "$n" -gt 0 ] && kill -0 "$VMSGD_PID" 2>/dev/null; do
		usleep 100000
		n=$((n - 1))
	done
	if kill -0 "$VMSGD_PID" 2>/dev/null; then
		say "vmsgd did not exit within 20 s of SIGTERM"
		return 1
	fi
	wait "$VMSGD_PID"
	local rc=$?
	VMSGD_PID=
	[ "$rc" -eq 0 ]
}

show_vmsgd_log() {
	sed 's/^/VMSG-INFO:   vmsgd: /' "$VMSGD_LOG" | tail -n "${1:-30}"
}

# The virtio-blk disk whose size in bytes is $1, e.g. "vda"; empty if none
disk_of_size() {
	local d

	for d in /sys/block/vd*; do
		[ -e "$d/size" ] || continue
		if [ $(($(cat1 "$d/size") * 512)) -eq "$1" ]; then
			basename "$d"
			return 0
		fi
	done
	return 1
}

disk_gone() { [ ! -e "/sys/block/$1" ] && [ ! -e "/dev/$1" ]; }

# run_bounded SECONDS PROGRAM ARGS...: run PROGRAM (not a shell function),
# SIGTERM it after SECONDS; its status, non-zero if it had to be killed
run_bounded() {
	local t=$1

	shift
	timeout "$t" "$@"
}

# The dev_num vmsgctl list shows for a device of TYPE whose line matches
devnum_of() {
	vmsgctl list | awk -v t="$1" '$2 == t { print $1 }' | tail -n 1
}

# Can the tty DEV be opened? hvc makes all its nodes at once, before the
# hvc behind one exists, and a failed `exec` redirection would end this
# shell, so try in a subshell; and never on a missing node, which `<>`
# would create as a plain file.
can_open() { [ -c "$1" ] && (exec 9<>"$1") 2>/dev/null; }

# --- the network namespace "peer", the other end of the net tests ---------

# iproute2's, by path: busybox sh would run its own applet, which has no netns
IP=/usr/sbin/ip

in_peer() { nsenter --net=/run/netns/peer "$@"; }

# an iperf3 server listens in peer on port 5201 (0x1451 in /proc/net/tcp,
# or tcp6 for a server bound to no address)
peer_iperf3_listening() {
	in_peer cat /proc/net/tcp /proc/net/tcp6 |
		grep -qE ':1451 0+:0000 0A'
}
