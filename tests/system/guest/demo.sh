# SPDX-License-Identifier: GPL-2.0
#
# Guest half of `make demo`: the loopback stack step by step, with output
# meant for people (VMSG-DEMO lines; the host shows them as they come).
# Not a test: the host only checks that it got to the end with a healthy
# kernel. The disk image lives in guest RAM (/tmp).
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

step "6. Clean shutdown: SIGTERM to vmsgd, then unload the modules"
vmsgd_stop || die "vmsgd did not stop cleanly"
echo "VMSG-DEMO:    vmsgd exited 0; virtio-blk disks left: $(ls -d /sys/block/vd* 2>/dev/null | wc -l)"
unload_vmsg_modules || die "rmmod failed"
echo "VMSG-DEMO:    modules unloaded"
echo "VMSG-DEMO: "
echo "VMSG-DEMO: demo completed"
