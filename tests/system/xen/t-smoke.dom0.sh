# SPDX-License-Identifier: GPL-2.0
#
# dom0 half of the Xen smoke test: proves the harness and the plumbing the
# Xen bus relies on. Creates a PV domU paused, writes a hand-made
# virtio-msg device node pair (device/vmsg/0) before it runs, unpauses it,
# adds device/vmsg/1 once the domU says it is waiting (a live probe), and
# checks that the domU powers itself off and is gone from xl list. The
# domU half (t-smoke.domu.sh) reports what its kernel saw.
. /lib/vmsg/dom0.sh

#@ assert domu-create
#@ assert vmsg-node-write
#@ assert vmsg-node-perms
#@ assert domu-unpause
#@ assert domu-boots
#@ assert vmsg-node-hotplug
#@ assert domu-poweroff
#@ assert vmsg-node-remove

NAME=smoke

# The permissions xen.md section 2 asks for: the frontend directory owned
# by the domU with the backend reading, the backend directory the reverse
node_perms_ok() {
	local fe=/local/domain/$1/device/vmsg/$2
	local be=/local/domain/0/backend/vmsg/$1/$2

	[ "$(xs_perms "$fe")" = "n$1,r0" ] &&
	[ "$(xs_perms "$fe/state")" = "n$1,r0" ] &&
	[ "$(xs_perms "$be")" = "n0,r$1" ] &&
	[ "$(xs_perms "$be/state")" = "n0,r$1" ]
}

show_nodes() {
	say "xenstore after writing the nodes of domain $1:"
	xenstore-ls -p "/local/domain/$1/device/vmsg" | sed 's/^/VMSG-INFO:   /'
	xenstore-ls -p "/local/domain/0/backend/vmsg/$1" |
		sed 's/^/VMSG-INFO:   /'
}

domu_config "$NAME"
if ! domu_create "$NAME" -p; then
	fail domu-create "xl create -p failed"
	exit 1
fi
DOMID=$(domu_id "$NAME")
pass domu-create

check vmsg-node-write "xenstore writes of device/vmsg/0 failed" \
	vmsg_node_add "$DOMID" 0
show_nodes "$DOMID"
check vmsg-node-perms "permissions differ from n$DOMID,r0 / n0,r$DOMID" \
	node_perms_ok "$DOMID" 0
check domu-unpause "xl unpause failed" xl unpause "$NAME"
stage "domU $NAME running"

if domu_wait_log "$NAME" 90 'VMSG-DOMU: waiting for vmsg-1'; then
	pass domu-boots
	stage "domU $NAME up"
	check vmsg-node-hotplug "xenstore writes of device/vmsg/1 failed" \
		vmsg_node_add "$DOMID" 1
else
	fail domu-boots "no 'waiting for vmsg-1' on the domU console in 90 s"
	fail vmsg-node-hotplug "not attempted: the domU never asked"
fi

check domu-poweroff "the domU did not power off within 90 s" \
	domu_wait_gone "$NAME" 90
# libxl removes the frontend side with the domain, not a backend
# directory of a kind it does not know: that is the daemon's job
if xenstore-exists "/local/domain/0/backend/vmsg/$DOMID/0"; then
	say "backend/vmsg/$DOMID is left behind after the domain died"
fi
check vmsg-node-remove "could not remove the vmsg nodes" \
	vmsg_node_rm "$DOMID" 0
vmsg_node_rm "$DOMID" 1
xl list | sed 's/^/VMSG-INFO:   xl list: /'
