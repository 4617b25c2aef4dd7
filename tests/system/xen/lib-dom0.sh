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

# --- vmsgd and what a dead guest must not leave behind -----------------------

VMSGD_LOG=/tmp/vmsgd.log

# vmsgd_start [ARG...]: vmsgd --bus xen in the background, logging to
# $VMSGD_LOG (appended, so a restarted daemon's lines follow the old
# ones); VMSGD is its pid. 0 once it printed a new ready line.
vmsgd_start() {
	local n

	n=$(vmsgd_readies)
	vmsgd --bus xen "$@" >>"$VMSGD_LOG" 2>&1 &
	VMSGD=$!
	wait_until 30 vmsgd_readies_above "$n"
}

vmsgd_readies() {
	if [ -f "$VMSGD_LOG" ]; then
		grep -c 'vmsgd: ready' "$VMSGD_LOG"
	else
		echo 0
	fi
}
vmsgd_readies_above() { [ "$(vmsgd_readies)" -gt "$1" ]; }

# vmsgd_stop: SIGTERM; 0 if vmsgd exited 0 with no sanitizer report
vmsgd_stop() {
	local rc

	kill -TERM "$VMSGD" 2>/dev/null
	wait "$VMSGD"
	rc=$?
	[ "$rc" = 0 ] || say "vmsgd exited with status $rc"
	[ "$rc" = 0 ] && ! grep -q 'Sanitizer\|runtime error' "$VMSGD_LOG"
}

# The bus directories of guest DOMID (backend: the whole per-guest one)
vmsg_be_dir() { echo "/local/domain/0/backend/vmsg/$1"; }
vmsg_fe_dir() { echo "/local/domain/$1/device/vmsg/0"; }

# vmsg_states DOMID: "backend B, frontend F" for messages
vmsg_states() {
	echo "backend $(xenstore-read "$(vmsg_be_dir "$1")/0/state" 2>&1)," \
	     "frontend $(xenstore-read "$(vmsg_fe_dir "$1")/state" 2>&1)"
}

# vmsg_connected DOMID: both ends of the guest's bus are Connected (4)
vmsg_connected() {
	[ "$(xenstore-read "$(vmsg_be_dir "$1")/0/state")" = 4 ] &&
	[ "$(xenstore-read "$(vmsg_fe_dir "$1")/state")" = 4 ]
}

# vmsg_nodes_gone DOMID: neither bus directory of the guest is left
vmsg_nodes_gone() {
	! xenstore-exists "$(vmsg_be_dir "$1")" &&
	! xenstore-exists "$(vmsg_fe_dir "$1")"
}

# domain_vanished DOMID: the domain is gone from xl list for good. A domain
# whose memory dom0 still maps (a grant not unmapped) cannot be freed and
# lingers as a "(null)" zombie.
domain_vanished() {
	! xl list | awk -v d="$1" 'NR > 1 && ($2 == d || $1 == "(null)")' |
		grep -q .
}

# dom0_ports_to DOMID: how many of dom0's event channels are still bound
# to, or reserved for, domain DOMID, from Xen's event channel dump ('e'
# debug key). A port whose peer died stays reserved until dom0 closes it.
# Clears Xen's console ring first, so the dump is all it holds (every
# line also went to the serial console).
dom0_ports_to() {
	xl dmesg -c >/dev/null
	xl debug-keys e
	sleep 1
	xl dmesg | awk -v d="$1" '
		/Event channel information for domain/ { dom = $NF + 0 }
		dom == 0 && $0 ~ (" d=" d "( |$)") { n++ }
		END { print n + 0 }'
}

# domu_follow NAME: show domU NAME's progress, its "VMSG-STAGE:" lines, on
# dom0's console as they come (so run-xen.sh prints them live, prefixed
# with NAME); domu_unfollow stops it
domu_follow() {
	local log

	log=$(domu_log "$1")
	wait_until 60 [ -f "$log" ] || return 1
	rm -f "/tmp/follow-$1"
	mkfifo "/tmp/follow-$1"
	sed -n "s/.*VMSG-STAGE: /VMSG-STAGE: $1: /p" <"/tmp/follow-$1" &
	tail -f "$log" >"/tmp/follow-$1" &
	FOLLOW=$!
}

# domu_unfollow: the reader ends once its tail is gone
domu_unfollow() {
	[ -n "${FOLLOW:-}" ] && kill "$FOLLOW" 2>/dev/null
	FOLLOW=
}
