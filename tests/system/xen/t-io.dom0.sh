# SPDX-License-Identifier: GPL-2.0
#
# dom0 half of the Xen I/O test: one PV domU created with vmsgctl create
# (a bad config is rejected first), served by vmsgd --bus xen (built with
# ASan+UBSan), using an rng and a blk on an image file in dom0 through our
# two modules. The domU (t-io.domu.sh) makes an ext4 file system on the
# blk and checks it; dom0 hot-attaches a second blk, which the domU uses,
# checks what it read and wrote against the image file, detaches it; then
# kills vmsgd with SIGKILL while the domU is idle and starts a new one,
# and the domU finds its devices back. Once the domU has powered off, the
# bus must be gone from xenstore and Xen, and dom0 checks the domU's file
# system with its own e2fsck and debugfs against the md5 sums the domU
# printed on its console.
. /lib/vmsg/dom0.sh

#@ timeout 480
#@ assert create-rejects
#@ assert vmsgd-start
#@ assert create
#@ assert xs-perms
#@ assert connected
#@ assert attach
#@ assert list
#@ assert hot-read-matches
#@ assert detach
#@ assert detach-done
#@ assert hot-write-matches
#@ assert restart-reconnect
#@ assert domu-poweroff
#@ assert release-nodes-gone
#@ assert release-no-zombie
#@ assert release-no-evtchn
#@ assert host-image-fsck
#@ assert host-image-md5
#@ assert vmsgd-exit

NAME=io
IMG=/tmp/basic.img
HOT=/tmp/hot.img
MiB=1048576
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1

# A spec naming a missing file: vmsgctl must refuse before xl create
create_rejects() {
	domu_config bad 'vmsg = [ "rng", "blk,path=/nonexistent.img" ]'
	if vmsgctl create /etc/xen/bad.cfg >/tmp/bad.log 2>&1; then
		fail create-rejects "vmsgctl create accepted a missing blk path"
	elif xl list bad >/dev/null 2>&1; then
		fail create-rejects "domain 'bad' was created"
	elif ! grep -q 'nonexistent.img' /tmp/bad.log; then
		fail create-rejects "the error does not name the file"
	else
		sed 's/^/VMSG-INFO:   /' /tmp/bad.log
		pass create-rejects
	fi
}

# F owned by the guest, B by dom0 and readable by the guest, B/devices
# (host paths) by dom0 alone (docs/xen-bus.md)
perms_ok() {
	local fe be

	fe=$(vmsg_fe_dir "$DOMID")
	be=$(vmsg_be_dir "$DOMID")/0
	[ "$(xs_perms "$fe")" = "n$DOMID,r0" ] &&
	[ "$(xs_perms "$fe/backend")" = "n$DOMID,r0" ] &&
	[ "$(xs_perms "$be")" = "n0,r$DOMID" ] &&
	[ "$(xs_perms "$be/frontend")" = "n0,r$DOMID" ] &&
	[ "$(xs_perms "$be/devices")" = "n0" ] &&
	[ "$(xs_perms "$be/devices/2/spec")" = "n0" ]
}

create_guest() {
	domu_config "$NAME" \
		"vmsg = [ \"rng\", \"blk,path=$IMG,serial=basic\" ]"
	if vmsgctl create "/etc/xen/$NAME.cfg" >/tmp/create.log 2>&1; then
		pass create
	else
		fail create "vmsgctl create failed"
	fi
	sed 's/^/VMSG-INFO:   create: /' /tmp/create.log
	DOMID=$(domu_id "$NAME")
	stage "domU $NAME created (domid $DOMID)"
	check xs-perms "permissions of F, B or B/devices are wrong" perms_ok
	if wait_until 120 vmsg_connected "$DOMID"; then
		pass connected
		stage "domU $NAME: bus connected"
	else
		fail connected "$(vmsg_states "$DOMID")"
	fi
}

# the md5 the domU printed on a "VMSG-HOT: WHAT MD5" line
domu_md5() {
	sed -n "s/^VMSG-HOT: $1 \\([0-9a-f]*\\).*/\\1/p" "$(domu_log "$NAME")" |
		tail -n 1
}

# bytes [SKIP, SKIP + 1 MiB) of the hot image, as md5sum prints them
hot_md5() {
	dd if="$HOT" bs=$MiB skip="$1" count=1 2>/dev/null | md5sum |
		cut -d' ' -f1
}

hotplug() {
	local n

	if ! domu_wait_log "$NAME" 240 'VMSG-DOMU: waiting for hotplug'; then
		fail attach "the domU never asked for a hotplug"
		return
	fi
	n=$(vmsgctl attach "$NAME" "blk,path=$HOT,serial=hot")
	check attach "vmsgctl attach printed '$n', not 3" [ "$n" = 3 ]
	vmsgctl list "$DOMID" >/tmp/list.log 2>&1
	sed 's/^/VMSG-INFO:   list: /' /tmp/list.log
	check list "vmsgctl list does not show the three devices" \
		sh -c "grep -qx '1 rng' /tmp/list.log &&
		       grep -qx '2 blk,path=$IMG,serial=basic' /tmp/list.log &&
		       grep -qx '3 blk,path=$HOT,serial=hot' /tmp/list.log"
}

unplug() {
	if ! domu_wait_log "$NAME" 120 'VMSG-DOMU: waiting for unplug'; then
		fail hot-read-matches "the domU never finished with the disk"
		fail detach "the domU never asked for an unplug"
		return
	fi
	check hot-read-matches "the domU read $(domu_md5 read), dom0 has $(hot_md5 0)" \
		[ "$(domu_md5 read)" = "$(hot_md5 0)" ]
	check detach "vmsgctl detach failed" vmsgctl detach "$NAME" 3
	check detach-done "vmsgd did not destroy device 3" wait_until 60 \
		grep -q 'device 3 reset by the guest, destroying it' "$VMSGD_LOG"
	check hot-write-matches "the domU wrote $(domu_md5 wrote), the file has $(hot_md5 1)" \
		[ "$(domu_md5 wrote)" = "$(hot_md5 1)" ]
}

# SIGKILL: no goodbye; the guest learns it from backend_alive
restart() {
	if ! domu_wait_log "$NAME" 120 'VMSG-DOMU: waiting for restart'; then
		fail restart-reconnect "the domU never asked for a restart"
		return
	fi
	kill -KILL "$VMSGD"
	wait "$VMSGD" 2>/dev/null
	echo "---- vmsgd killed ----" >>"$VMSGD_LOG"
	stage "vmsgd killed"
	vmsgd_start --verbose || say "the new vmsgd printed no ready line"
	if wait_until 120 vmsg_connected "$DOMID"; then
		pass restart-reconnect
		stage "new vmsgd: bus connected again"
		PORTS=$(dom0_ports_to "$DOMID")
	else
		fail restart-reconnect "$(vmsg_states "$DOMID")"
	fi
}

release() {
	check domu-poweroff "the domU did not power off" \
		domu_wait_gone "$NAME" 240
	check release-nodes-gone "B or F of domain $DOMID left behind" \
		wait_until 30 vmsg_nodes_gone "$DOMID"
	check release-no-zombie "domain $DOMID lingers: $(xl list | tail -n +2)" \
		wait_until 30 domain_vanished "$DOMID"
	# while the guest lived, the dump did show its channels
	check release-no-evtchn "dom0 keeps event channels to domain $DOMID (${PORTS:-?} before)" \
		[ "${PORTS:-0}" -gt 0 -a "$(dom0_ports_to "$DOMID")" = 0 ]
}

# The domU printed "VMSG-MD5: SUM /mnt/FILE" for each file it wrote
host_check_ext4() {
	local sums=/tmp/guest.md5 sum file n=0 bad=0

	sed -n 's/^VMSG-MD5: //p' "$(domu_log "$NAME")" | tr -d '\r' >$sums
	if e2fsck -fn "$IMG" >/tmp/fsck.log 2>&1; then
		pass host-image-fsck
	else
		sed 's/^/VMSG-INFO:   e2fsck: /' /tmp/fsck.log
		fail host-image-fsck "e2fsck -fn: $(tail -n 1 /tmp/fsck.log)"
	fi
	while read -r sum file; do
		n=$((n + 1))
		[ "$(debugfs -R "cat ${file#/mnt}" "$IMG" 2>/dev/null |
		     md5sum | cut -d' ' -f1)" = "$sum" ] && continue
		bad=$((bad + 1))
		say "$file differs from the domU's md5 $sum"
	done <$sums
	check host-image-md5 "$bad of $n files differ in dom0" \
		[ "$n" -gt 0 -a "$bad" = 0 ]
}

truncate -s 64M "$IMG"
dd if=/dev/urandom of="$HOT" bs=$MiB count=8 2>/dev/null
create_rejects
if ! vmsgd_start --verbose; then
	fail vmsgd-start "vmsgd did not come up"
	log_frame vmsgd-log "$VMSGD_LOG"
	exit 1
fi
pass vmsgd-start
create_guest
hotplug
unplug
restart
release
host_check_ext4
check vmsgd-exit "vmsgd did not exit 0 on SIGTERM, or a sanitizer spoke" \
	vmsgd_stop
log_frame vmsgd-log "$VMSGD_LOG"
