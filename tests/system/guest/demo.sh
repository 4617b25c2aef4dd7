# SPDX-License-Identifier: GPL-2.0
#
# Guest half of `make demo`: the loopback stack step by step, with output
# meant for people (VMSG-DEMO lines; the host shows them as they come).
# Not a test: the host only checks that it got to the end with a healthy
# kernel. The disk image lives in guest RAM (/tmp). Every device model is
# shown with Linux's own driver: rng, blk, then net bridged to the
# guest's real NIC (QEMU's e1000 on user networking, through which the
# guest fetches a file from an HTTP server demo.sh runs on the host),
# the emulated RTC behind virtio-i2c read and set with hwclock, input
# events from a uinput device, and a console reached with vmsgctl console.
. /vmsg/lib.sh

step() { echo "VMSG-DEMO: "; echo "VMSG-DEMO: == $*"; }
show() { sed 's/^/VMSG-DEMO:    /'; }
run() { echo "VMSG-DEMO:  \$ $*"; "$@" 2>&1 | show; }
die() { echo "VMSG-DEMO: demo FAILED: $*"; show_vmsgd_log; exit 1; }

step "1. Load the virtio-msg transport and the loopback bus modules"
load_vmsg_modules || die "insmod failed"
echo "VMSG-DEMO:  \$ lsmod | grep virtio_msg"
lsmod | grep virtio_msg | show
run ls -l /dev/virtio-msg-lb

step "2. Start vmsgd with an rng and a 32 MiB disk (a file in guest RAM)"
truncate -s 32M /tmp/demo.img
echo "VMSG-DEMO:  \$ vmsgd --bus loopback --device rng --device blk,path=/tmp/demo.img,serial=demo &"
vmsgd_start --device rng --device blk,path=/tmp/demo.img,serial=demo ||
	die "vmsgd did not start"
grep -h 'vmsgd: ready' "$VMSGD_LOG" | show
wait_until 10 test -b /dev/vda || die "no /dev/vda"
run vmsgctl list

step "3. virtio-rng: the kernel's hwrng core uses our device"
run cat /sys/class/misc/hw_random/rng_current
echo "VMSG-DEMO:  \$ dd if=/dev/hwrng bs=64 count=1 | hexdump -C"
dd if=/dev/hwrng bs=64 count=1 2>/dev/null | hexdump -C | show

step "4. virtio-blk: /dev/vda is the file, served by vmsgd"
echo "VMSG-DEMO:    /dev/vda: $(($(cat1 /sys/block/vda/size) / 2048)) MiB, serial '$(cat1 /sys/block/vda/serial)'"
run mkfs.ext4 -q /dev/vda
run mount /dev/vda /mnt
echo "VMSG-DEMO:  \$ dd if=/dev/hwrng of=/mnt/random.bin bs=4096 count=64"
dd if=/dev/hwrng of=/mnt/random.bin bs=4096 count=64 iflag=fullblock 2>&1 | show
run cp /mnt/random.bin /mnt/copy.bin
(cd /mnt && md5sum random.bin copy.bin >/tmp/demo.md5)
run cat /tmp/demo.md5
run umount /mnt
run e2fsck -fn /dev/vda
run mount /dev/vda /mnt
echo "VMSG-DEMO:  \$ md5sum -c (after remount)"
(cd /mnt && md5sum -c /tmp/demo.md5) 2>&1 | show
(cd /mnt && md5sum -c -s /tmp/demo.md5) || die "md5 mismatch"
run df -h /mnt
run umount /mnt

step "5. Hot plug: attach a second disk at run time, then detach it"
truncate -s 8M /tmp/second.img
echo "VMSG-DEMO:  \$ vmsgctl attach blk,path=/tmp/second.img,serial=second"
n=$(vmsgctl attach blk,path=/tmp/second.img,serial=second) || die "attach"
echo "VMSG-DEMO:    -> device $n"
wait_until 10 test -b /dev/vdb || die "no /dev/vdb"
echo "VMSG-DEMO:    /dev/vdb: $(($(cat1 /sys/block/vdb/size) / 2048)) MiB, serial '$(cat1 /sys/block/vdb/serial)'"
run vmsgctl list
run vmsgctl detach "$n"
wait_until 15 disk_gone vdb || die "vdb did not go away"
echo "VMSG-DEMO:    /dev/vdb is gone; disks now: $(cd /sys/block && echo vd*)"
# vmsgd forgets the device once the kernel has released it
wait_until 10 eval "! vmsgctl list | grep -q '^$n '" ||
	die "device $n still listed"
run vmsgctl list

# --- net ------------------------------------------------------------------

NET_MAC=52:54:00:76:6d:01
# demo.sh gives QEMU's e1000 this address
REAL_MAC=52:54:00:12:34:56

# udhcpc's script: apply the lease QEMU's DHCP server offers
dhcp_script() {
	cat >/tmp/udhcpc.sh <<-'SCRIPT'
	#!/bin/sh
	[ "$1" = bound ] || exit 0
	/usr/sbin/ip addr add "$ip/$mask" dev "$interface"
	/usr/sbin/ip route add default via "$router"
	SCRIPT
	chmod +x /tmp/udhcpc.sh
}

step "6. virtio-net: a NIC served by vmsgd, its tap bridged to the guest's real NIC"
echo "VMSG-DEMO:  \$ vmsgctl attach net,tap=vmsgtap0,mac=$NET_MAC"
n=$(vmsgctl attach "net,tap=vmsgtap0,mac=$NET_MAC") || die "attach net"
wait_until 15 nic_of_mac $NET_MAC >/dev/null || die "no NIC with $NET_MAC"
NIC=$(nic_of_mac $NET_MAC)
REAL=$(nic_of_mac $REAL_MAC) || die "no e1000 NIC (QEMU's) with $REAL_MAC"
echo "VMSG-DEMO:    device $n is $NIC (driver $(basename "$(readlink /sys/class/net/"$NIC"/device/driver)")); the real NIC is $REAL (driver $(basename "$(readlink /sys/class/net/"$REAL"/device/driver)"))"
run $IP link add br0 type bridge
run $IP link set "$REAL" master br0
run $IP link set vmsgtap0 master br0
for l in br0 "$REAL" vmsgtap0 "$NIC"; do $IP link set "$l" up; done
run $IP -br link show master br0
dhcp_script
echo "VMSG-DEMO:  \$ udhcpc -i $NIC    (QEMU's DHCP server, through the bridge)"
run_bounded 60 udhcpc -q -n -t 10 -i "$NIC" -s /tmp/udhcpc.sh >/dev/null 2>&1 ||
	die "no DHCP lease on $NIC"
run $IP -br addr show dev "$NIC"
PORT=$(cat /host/demo/port)
echo "VMSG-DEMO:  \$ wget -q -O - http://10.0.2.2:$PORT/hello.txt    (a server on the host)"
run_bounded 60 wget -q -O - "http://10.0.2.2:$PORT/hello.txt" >/tmp/hello.txt ||
	die "wget through $NIC failed"
show </tmp/hello.txt
echo "VMSG-DEMO:    $NIC counters: $(cat1 /sys/class/net/"$NIC"/statistics/rx_packets) packets in, $(cat1 /sys/class/net/"$NIC"/statistics/tx_packets) out"

# --- i2c ------------------------------------------------------------------

step "7. virtio-i2c: an emulated DS1307 RTC behind the guest's virtio I2C adapter"
run insmod /lib/modules/extmods/i2c-virtio.ko
run insmod /lib/modules/extmods/rtc-ds1307.ko
echo "VMSG-DEMO:  \$ vmsgctl attach i2c,rtc=0x68"
n=$(vmsgctl attach i2c,rtc=0x68) || die "attach i2c"
wait_until 15 virtio_i2c_bus >/dev/null || die "no virtio i2c adapter"
BUS=$(virtio_i2c_bus)
echo "VMSG-DEMO:    device $n is /dev/i2c-$BUS ($(cat1 /sys/bus/i2c/devices/i2c-"$BUS"/name))"
echo "VMSG-DEMO:  \$ echo ds1307 0x68 > /sys/bus/i2c/devices/i2c-$BUS/new_device"
echo ds1307 0x68 >/sys/bus/i2c/devices/i2c-"$BUS"/new_device
wait_until 15 rtc_of_client >/dev/null || die "rtc-ds1307 did not bind"
RTC=/dev/$(rtc_of_client)
run hwclock -r -u -f "$RTC"
run date -u -s "2030-01-02 03:04:05"
run hwclock -w -u -f "$RTC"
run hwclock -r -u -f "$RTC"

# --- input ----------------------------------------------------------------

INPUT_NAME=vmsg-demo-keyboard

step "8. virtio-input: a user-space input device passed through"
mkdir -p /tmp/tools
cp /host/tools/uinput-emit /host/tools/evdev-read /tmp/tools/ || die "no tools"
start_uinput /tmp/tools/uinput-emit "$INPUT_NAME" || die "uinput-emit"
echo "VMSG-DEMO:    uinput-emit made /dev/input/$HOSTEV, \"$INPUT_NAME\""
echo "VMSG-DEMO:  \$ vmsgctl attach input,evdev=/dev/input/$HOSTEV"
n=$(vmsgctl attach "input,evdev=/dev/input/$HOSTEV") || die "attach input"
wait_until 15 virtio_event "$INPUT_NAME" >/dev/null || die "no virtio input device"
VEV=$(virtio_event "$INPUT_NAME")
echo "VMSG-DEMO:    device $n is /dev/input/$VEV, driver virtio_input"
/tmp/tools/evdev-read -t 5000 "/dev/input/$VEV" >/tmp/ev.out 2>&1 &
RPID=$!
wait_until 5 grep -q '^ready' /tmp/ev.out || die "evdev-read"
echo "VMSG-DEMO:    uinput-emit types, moves the mouse, clicks; the guest reads /dev/input/$VEV:"
echo seq >&3
wait "$RPID"
# shellcheck disable=SC2016 # $1.. are awk's
echo "VMSG-DEMO:    $(sed 1d /tmp/ev.out | awk '
	$1 == 1 { k = $2 == 30 ? "KEY_A" : $2 == 48 ? "KEY_B" : \
		      $2 == 272 ? "BTN_LEFT" : "key " $2
		  print k ($3 ? " down" : " up") }
	$1 == 2 { print ($2 == 0 ? "REL_X " : "REL_Y ") $3 }' |
	tr '\n' ',' | sed 's/,$//; s/,/, /g')"
# detached before the uinput device goes, which would fail the device
run vmsgctl detach "$n"
wait_until 15 eval "! virtio_event $INPUT_NAME >/dev/null" || die "input device stayed"
echo quit >&3
exec 3>&-

# --- console --------------------------------------------------------------

# Linux's hvc spins with interrupts off until the device returns each
# output buffer, and here the device is served on this guest's own CPUs:
# writers and khvcd on CPU 0, vmsgd on CPU 1 (guest/t-console.sh says why)
pin_for_console() {
	local p

	taskset -p 2 "$VMSGD_PID" >/dev/null && taskset -p 2 $$ >/dev/null ||
		return 1
	for p in $(pidof khvcd); do
		taskset -p 1 "$p" >/dev/null || return 1
	done
}

step "9. virtio-console: /dev/hvc0 in the guest, a unix socket on the device side"
echo "VMSG-DEMO:  \$ vmsgctl attach console,socket=/run/demo-con.sock"
n=$(vmsgctl attach console,socket=/run/demo-con.sock) || die "attach console"
wait_until 15 can_open /dev/hvc0 || die "no /dev/hvc0"
exec 4<>/dev/hvc0
stty raw -echo <&4
pin_for_console || die "cannot pin CPUs"
mkfifo /tmp/con.in
vmsgctl console -w 0 "$n" </tmp/con.in >/tmp/con.out 2>/tmp/con.err &
CPID=$!
exec 5>/tmp/con.in
wait_until 15 grep -q "client connected" "$VMSGD_LOG" || die "vmsgctl console"
echo "VMSG-DEMO:    'vmsgctl console $n' is connected to the socket"
echo "VMSG-DEMO:  \$ echo 'hello from the guest' > /dev/hvc0"
run_bounded 30 taskset 1 sh -c "echo 'hello from the guest' >&4" ||
	die "write to hvc0"
wait_until 15 grep -q 'hello from the guest' /tmp/con.out || die "nothing reached vmsgctl"
echo "VMSG-DEMO:    vmsgctl console printed: $(tr -d '\r' </tmp/con.out)"
head -n 1 <&4 >/tmp/hvc.in &
RPID=$!
echo "VMSG-DEMO:    typed into vmsgctl console: hello from the device side"
echo 'hello from the device side' >&5
wait_until 15 grep -q 'hello from the device side' /tmp/hvc.in || die "nothing reached hvc0"
echo "VMSG-DEMO:    read from /dev/hvc0: $(tr -d '\r' </tmp/hvc.in)"
kill "$RPID" 2>/dev/null
exec 5>&-
kill "$CPID" 2>/dev/null
wait "$CPID" 2>/dev/null
exec 4>&-
run vmsgctl list

step "10. Clean shutdown: SIGTERM to vmsgd, then unload the modules"
vmsgd_stop || die "vmsgd did not stop cleanly"
echo "VMSG-DEMO:    vmsgd exited 0; virtio-blk disks left: $(ls -d /sys/block/vd* 2>/dev/null | wc -l)"
unload_vmsg_modules || die "rmmod failed"
echo "VMSG-DEMO:    modules unloaded"
echo "VMSG-DEMO: "
echo "VMSG-DEMO: demo completed"
