# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for dom0 test scripts of the Xen system tests (sourced by busybox
# sh as /lib/vmsg/dom0.sh): writing an xl config for the test domU,
# creating it, waiting for its console output or its death, and writing
# the xenstore nodes of a virtio-msg device by hand. The domU kernel and
# image are /guest/vmlinuz and /guest/initramfs.cpio; each guest's console
# is logged by xenconsoled to /var/log/xen/console/guest-NAME.log. Every
# wait is bounded; failures are reported by return status, the caller
# decides what is an assertion.

. /lib/vmsg/common.sh

XEN_CONSOLE_LOGS=/var/log/xen/console
# the domU's kernel command line; a test may change it before domu_config
DOMU_CMDLINE=${DOMU_CMDLINE:-console=hvc0 quiet panic=-1}
DOMU_MEMORY=${DOMU_MEMORY:-256}

# domu_config NAME [LINE...]: write /etc/xen/NAME.cfg for a PV domU with
# the test kernel and image; each LINE (e.g. "vcpus = 2") is appended
domu_config() {
	local name=$1 cfg=/etc/xen/$1.cfg line

	shift
	cat >"$cfg" <<-CFG
	name = "$name"
	type = "pv"
	kernel = "/guest/vmlinuz"
	ramdisk = "/guest/initramfs.cpio"
	extra = "$DOMU_CMDLINE"
	memory = $DOMU_MEMORY
	vcpus = 1
	on_poweroff = "destroy"
	on_reboot = "destroy"
	on_crash = "destroy"
	CFG
	for line in "$@"; do
		echo "$line" >>"$cfg"
	done
}

# domu_create NAME [XL-CREATE-OPTION...]: xl create /etc/xen/NAME.cfg
# (e.g. -p to leave it paused); its output goes to the console on failure
domu_create() {
	local name=$1 out=/tmp/xl-create-$1.log start

	shift
	start=$(date +%s)
	if timeout 120 xl create "$@" "/etc/xen/$name.cfg" >"$out" 2>&1; then
		stage "domU $name created (domid $(domu_id "$name")," \
		      "xl create took $(($(date +%s) - start))s)"
		return 0
	fi
	say "xl create $name failed:"
	sed 's/^/VMSG-INFO:   xl: /' "$out"
	return 1
}

# The domid of domain NAME, or nothing
domu_id() { xl domid "$1" 2>/dev/null; }

domu_running() { xl list "$1" >/dev/null 2>&1; }
domu_gone() { ! domu_running "$1"; }

domu_log() { echo "$XEN_CONSOLE_LOGS/guest-$1.log"; }

# domu_wait_log NAME SECONDS PATTERN: 0 once the console of NAME has a
# line matching the extended regular expression PATTERN
domu_wait_log() {
	wait_until "$2" grep -aqE "$3" "$(domu_log "$1")"
}

# domu_wait_gone NAME SECONDS: 0 if NAME is gone within SECONDS; else
# destroys it and returns 1
domu_wait_gone() {
	if wait_until "$2" domu_gone "$1"; then
		stage "domU $1 gone"
		return 0
	fi
	say "domU $1 still exists after $2 s: destroying it"
	xl destroy "$1"
	return 1
}

# vmsg_node_add DOMID DEVID [BACKEND_DOMID]: the frontend and backend
# directories of virtio-msg device DEVID of domain DOMID, as a toolstack
# writes them (xen.md section 2). A node inherits its parent's permissions
# when it is created, so each directory is created, given its permissions,
# and only then filled. The xenstore-* commands cannot share one
# transaction, so the frontend's "state" is written last: Linux's xenbus
# only probes a device node whose state reads Initialising.
vmsg_node_add() {
	local dom=$1 dev=$2 be_dom=${3:-0} fe be

	fe=/local/domain/$dom/device/vmsg/$dev
	be=/local/domain/$be_dom/backend/vmsg/$dom/$dev
	xenstore-write "$be" "" &&
	xenstore-chmod "$be" "n$be_dom" "r$dom" &&
	xenstore-write "$be/frontend" "$fe" "$be/frontend-id" "$dom" \
		"$be/online" 1 "$be/state" 1 &&
	xenstore-write "$fe" "" &&
	xenstore-chmod "$fe" "n$dom" "r$be_dom" &&
	xenstore-write "$fe/backend" "$be" "$fe/backend-id" "$be_dom" &&
	xenstore-write "$fe/state" 1
}

# vmsg_node_rm DOMID DEVID [BACKEND_DOMID]: remove both directories
vmsg_node_rm() {
	local be_dom=${3:-0}

	xenstore-rm "/local/domain/$be_dom/backend/vmsg/$1/$2" &&
	{ ! xenstore-exists "/local/domain/$1" ||
	  xenstore-rm "/local/domain/$1/device/vmsg/$2"; }
}

# xs_perms PATH: the permissions of one node as xenstore-ls -p prints them
# for its children's parent, e.g. "n1,r0"
xs_perms() {
	local parent=${1%/*} leaf=${1##*/}

	xenstore-ls -p "$parent" |
		sed -n "s/^$leaf = .*(\\(.*\\))\$/\\1/p" | head -n 1
}
