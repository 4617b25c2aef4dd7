# SPDX-License-Identifier: GPL-2.0
#
# Guest half of the "console" system test: Linux's virtio_console (loaded
# by init) drives consoles that vmsgd serves over the loopback bus, and
# `vmsgctl console` in the same guest plays the host-side client. vmsgd
# starts with console,socket=/run/con.sock (the guest's /dev/hvc0); random
# data goes each way, checked by md5. Then: a second client is refused, a
# new client after the first left is served, output with nobody attached
# is dropped without blocking the guest, and a console,pty attached at run
# time (hvc1) works through its pty slave.
#
# hvc resets a tty's settings on its last close, so each hvc is held open
# on a file descriptor (3, 4) for the whole test, in raw mode without echo.
#
# CPUs are pinned, because here the device side runs on the guest's own
# two CPUs: Linux's hvc sends each output buffer with interrupts off and
# spins until the device returns it (virtio_console.c, __send_to_port()),
# holding the hvc's lock. A writer spinning on the daemon's CPU, or a
# second context spinning on that lock there (khvcd, or the console's
# input callback, which the loopback bus runs inside the daemon's write of
# EVENT_USED), leaves the daemon no CPU and the guest hangs. So every hvc
# writer and khvcd run on CPU 0, the daemon and everything else on CPU 1,
# and the two directions are tested one after the other, not at once.
. /vmsg/lib.sh

#@ assert modules-load
#@ assert vmsgd-start
#@ assert hvc0-appears
#@ assert ctl-console-path
#@ assert guest-to-host
#@ assert host-to-guest
#@ assert second-client-refused
#@ assert reconnect
#@ assert no-client-discards
#@ assert pty-attach
#@ assert pty-guest-to-host
#@ assert pty-host-to-guest
#@ assert vmsgd-clean-stop
#@ assert modules-unload

SOCK=/run/con.sock
LEN=8192
CLIENT_PID=
WRITER_CPUS=1	# taskset masks: CPU 0
OTHER_CPUS=2	# CPU 1

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
has_bytes() { [ "$(size_of "$1")" -ge "$2" ]; }
same() { [ "$(md5sum <"$1")" = "$(md5sum <"$2")" ]; }
# lines of vmsgd's log matching $1
nlogged() { grep -c "$1" "$VMSGD_LOG"; }
more_logged() { [ "$(nlogged "$1")" -gt "$2" ]; }

# client_start DEVNUM OUT MARK: `vmsgctl console` in the background with no
# input (it stays until stopped), once vmsgd logged MARK once more
client_start() {
	local before

	before=$(nlogged "$3")
	vmsgctl console -w 0 "$1" </dev/null >"$2" 2>"$2.err" &
	CLIENT_PID=$!
	wait_until 15 more_logged "$3" "$before"
}

client_stop() {
	[ -n "$CLIENT_PID" ] || return 0
	kill "$CLIENT_PID" 2>/dev/null
	wait "$CLIENT_PID" 2>/dev/null
	CLIENT_PID=
}

# to_hvc FD FILE: write FILE into the hvc open on FD, bounded, on CPU 0
to_hvc() { run_bounded 60 taskset $WRITER_CPUS sh -c "cat '$2' >&$1"; }

# See the top of this file: the daemon and this script (so every child but
# the writers) on CPU 1, khvcd on CPU 0.
pin_cpus() {
	local p

	taskset -p $OTHER_CPUS "$VMSGD_PID" >/dev/null &&
		taskset -p $OTHER_CPUS $$ >/dev/null || return 1
	for p in $(pidof khvcd); do
		taskset -p $WRITER_CPUS "$p" >/dev/null || return 1
	done
}

# verdict NAME SRC OUT: pass if OUT holds exactly SRC
verdict() {
	if same "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "got $(size_of "$3") of $(size_of "$2") bytes, or different ones"
	fi
}

hvc_setup() {
	if ! wait_until 15 can_open /dev/hvc0 ||
	   ! command exec 3<>/dev/hvc0; then
		fail hvc0-appears "cannot open /dev/hvc0 ($(ls /dev | grep hvc | tr '\n' ' '))"
		return 1
	fi
	if ! pin_cpus; then
		fail hvc0-appears "cannot pin the daemon and khvcd to CPUs"
		return 1
	fi
	check hvc0-appears "stty raw -echo on hvc0 failed" stty raw -echo <&3
}

test_path() {
	N=$(devnum_of console)
	check ctl-console-path "vmsgctl console -p '$N' printed '$(vmsgctl console -p "$N" 2>&1)'" \
		[ "$(vmsgctl console -p "$N")" = "$SOCK" ]
}

test_guest_to_host() {
	head -c $LEN /dev/urandom >/tmp/g2h.src
	if ! client_start "$N" /tmp/g2h.out "client connected to $SOCK"; then
		fail guest-to-host "vmsgctl console did not connect"
		return
	fi
	to_hvc 3 /tmp/g2h.src
	wait_until 60 has_bytes /tmp/g2h.out $LEN
	client_stop
	verdict guest-to-host /tmp/g2h.src /tmp/g2h.out
}

test_host_to_guest() {
	local rpid

	head -c $LEN /dev/urandom >/tmp/h2g.src
	head -c $LEN <&3 >/tmp/h2g.out &
	rpid=$!
	# -w 1: done a second after its input and the console fall silent
	run_bounded 60 vmsgctl console -w 1 "$N" </tmp/h2g.src >/tmp/h2g.echo
	wait_until 60 has_bytes /tmp/h2g.out $LEN
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	if [ -s /tmp/h2g.echo ]; then
		fail host-to-guest "the guest echoed $(size_of /tmp/h2g.echo) bytes"
		return
	fi
	verdict host-to-guest /tmp/h2g.src /tmp/h2g.out
}

test_clients() {
	client_start "$N" /tmp/c1.out "client connected to $SOCK"
	run_bounded 30 vmsgctl console -w 2 "$N" </dev/null >/tmp/c2.out 2>&1
	check second-client-refused "the second client got '$(cat /tmp/c2.out)'" \
		grep -q "another client is connected" /tmp/c2.out
	client_stop
	printf 'hello again\n' >/tmp/c3.src
	if client_start "$N" /tmp/c3.out "client connected to $SOCK"; then
		to_hvc 3 /tmp/c3.src
		wait_until 30 has_bytes /tmp/c3.out 12
	fi
	client_stop
	verdict reconnect /tmp/c3.src /tmp/c3.out
}

# Nobody attached: 64 KiB written to hvc0 go nowhere, without blocking,
# and the next client sees only what comes after it connected.
test_no_client() {
	head -c 65536 /dev/zero >/tmp/zero
	printf 'fresh\n' >/tmp/n.src
	if ! to_hvc 3 /tmp/zero; then
		fail no-client-discards "writing to hvc0 with no client blocked"
		return
	fi
	client_start "$N" /tmp/n.out "client connected to $SOCK"
	to_hvc 3 /tmp/n.src
	wait_until 30 has_bytes /tmp/n.out 6
	sleep 1
	client_stop
	verdict no-client-discards /tmp/n.src /tmp/n.out
}

test_pty_attach() {
	N2=$(vmsgctl attach console,pty)
	P=$(vmsgctl console -p "$N2" 2>/dev/null)
	say "console,pty is device $N2 on $P"
	if [ -z "$P" ] || [ ! -c "$P" ] || ! grep -q "console on pty $P" "$VMSGD_LOG" ||
	   ! wait_until 15 can_open /dev/hvc1 || ! command exec 4<>/dev/hvc1; then
		fail pty-attach "device '$N2', pty '$P', $(ls /dev | grep hvc | tr '\n' ' ')"
		return 1
	fi
	check pty-attach "stty raw -echo on hvc1 failed" stty raw -echo <&4
}

test_pty_data() {
	local rpid

	head -c 2048 /dev/urandom >/tmp/p-out.src
	if client_start "$N2" /tmp/p-out.out "pty $P opened"; then
		to_hvc 4 /tmp/p-out.src
		wait_until 30 has_bytes /tmp/p-out.out 2048
	fi
	client_stop
	verdict pty-guest-to-host /tmp/p-out.src /tmp/p-out.out
	head -c 2048 /dev/urandom >/tmp/p-in.src
	head -c 2048 <&4 >/tmp/p-in.out &
	rpid=$!
	run_bounded 60 vmsgctl console -w 1 "$N2" </tmp/p-in.src >/dev/null
	wait_until 30 has_bytes /tmp/p-in.out 2048
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	verdict pty-host-to-guest /tmp/p-in.src /tmp/p-in.out
}

test_stop() {
	exec 3>&- 4>&-
	if vmsgd_stop && [ ! -e "$SOCK" ]; then
		pass vmsgd-clean-stop
	else
		fail vmsgd-clean-stop "vmsgd did not exit 0 after SIGTERM, or left $SOCK"
		show_vmsgd_log
	fi
	check modules-unload "rmmod failed: $(lsmod | grep virtio_msg | tr '\n' ' ')" \
		unload_vmsg_modules
}

if ! lsmod | grep -q '^virtio_console '; then
	fail modules-load "virtio_console is not loaded"
	exit 1
fi
if ! load_vmsg_modules; then
	fail modules-load "insmod of the vmsg modules failed"
	exit 1
fi
pass modules-load
if ! vmsgd_start --device "console,socket=$SOCK"; then
	fail vmsgd-start "vmsgd did not print its ready line"
	exit 1
fi
pass vmsgd-start
if hvc_setup; then
	test_path
	test_guest_to_host
	test_host_to_guest
	test_clients
	test_no_client
	test_pty_attach && test_pty_data
fi
show_vmsgd_log 40
test_stop
