# SPDX-License-Identifier: GPL-2.0
#
# dom0 half of the Xen hostile-guest and teardown test. One vmsgd --bus
# xen (ASan+UBSan) serves, in turn:
#
#   good   a domU running fio with verification on its vmsg blk, round
#          after round, the whole time;
#   evil   a domU whose vmsg bus is driven by vmsg_hostile.ko
#          (tests/system/xen/hostile/): bogus xenstore values, broken ring
#          indices, oversized messages, garbage queues, an event flood.
#          Each violation must close that bus only; vmsgd must survive and
#          good's fio must go on verifying;
#   then   good is destroyed with "xl destroy" in the middle of a fio round:
#          vmsgd survives, the bus leaves nothing behind (xenstore nodes,
#          grant mappings that would keep a zombie domain, event channels);
#   after  a domU created afterwards on the same image works, and "xl
#          shutdown" of it leaves nothing behind either.
#
# The domUs' halves are in t-hostile.domu.sh (vmsg.role= picks one).
. /lib/vmsg/dom0.sh

#@ timeout 660
#@ assert vmsgd-start
#@ assert good-create
#@ assert good-connected
#@ assert good-io-before
#@ assert evil-create
#@ assert evil-done
#@ assert evil-violations-logged
#@ assert evil-only-evil-blamed
#@ assert vmsgd-survives-evil
#@ assert good-io-after
#@ assert evil-release-nodes-gone
#@ assert evil-release-no-zombie
#@ assert destroy-during-fio
#@ assert destroy-vmsgd-survives
#@ assert destroy-nodes-gone
#@ assert destroy-no-zombie
#@ assert destroy-no-evtchn
#@ assert after-create
#@ assert after-connected
#@ assert shutdown-xl
#@ assert shutdown-nodes-gone
#@ assert shutdown-no-zombie
#@ assert shutdown-no-evtchn
#@ assert vmsgd-exit

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
# fio and its libraries make the image about 100 MB
DOMU_MEMORY=512
CMDLINE="console=hvc0 quiet panic=-1"

# create NAME ROLE SPEC...: vmsgctl create a domU playing ROLE; its domid
# in $ID. Extra kernel arguments may follow ROLE, e.g. "after
# vmsg.shutdown=wait".
create() {
	local name=$1 role=$2 specs="" s

	shift 2
	for s in "$@"; do
		specs="$specs${specs:+, }\"$s\""
	done
	DOMU_CMDLINE="$CMDLINE vmsg.role=$role"
	domu_config "$name" "vmsg = [ $specs ]"
	ID=
	if ! vmsgctl create "/etc/xen/$name.cfg" >"/tmp/create-$name.log" 2>&1
	then
		sed 's/^/VMSG-INFO:   vmsgctl: /' "/tmp/create-$name.log"
		return 1
	fi
	ID=$(domu_id "$name")
	stage "domU $name created (domid $ID)"
}

# fio_round NAME WHAT: the number of the last "fio round N WHAT" line of
# domU NAME's console (WHAT is an extended regular expression)
fio_round() {
	local n

	n=$(grep -aoE "VMSG-DOMU: fio round [0-9]+ ($2)" "$(domu_log "$1")" |
	    tail -n 1 | cut -d' ' -f4)
	echo "${n:-0}"
}

fio_failures() { grep -c 'fio round [0-9]* FAILED' "$(domu_log good)"; }

# good_io_after N: round N + 1 (started after the attacks) passed, and
# no round failed, those that ran during the attacks included
good_io_after() {
	domu_wait_log good 300 "VMSG-DOMU: fio round $(($1 + 1)) (ok|FAILED)" &&
	[ "$(fio_failures)" = 0 ]
}

start_good() {
	if ! create good "good" "rng" "blk,path=/tmp/good.img"; then
		fail good-create "vmsgctl create failed"
		return 1
	fi
	GOOD=$ID
	pass good-create
	check good-connected "$(vmsg_states "$GOOD")" \
		wait_until 120 vmsg_connected "$GOOD"
	# the attacks start while good's first round is in flight
	check good-io-before "fio never started on good" \
		domu_wait_log good 240 'VMSG-DOMU: fio round 1 start'
}

# evil ran every scenario (each has its own result in its console)
evil_done() {
	domu_wait_log evil 400 'VMSG-DOMU: hostile (done|gave up)' &&
	domu_wait_log evil 1 'VMSG-DOMU: hostile done'
}

# The test guest's devices: vmsg_hostile.ko drives queues of both
run_evil() {
	local r

	if ! create evil hostile "rng" "blk,path=/tmp/evil.img"; then
		fail evil-create "vmsgctl create failed"
		return 1
	fi
	EVIL=$ID
	pass evil-create
	check evil-done "the hostile guest gave up or did not finish in 400 s" \
		evil_done
	r=$(fio_round good start)
	check vmsgd-survives-evil "vmsgd died" kill -0 "$VMSGD"
	check evil-violations-logged "vmsgd logged no violation of domain $EVIL" \
		grep -q "xen-d$EVIL: buggy or malicious guest" "$VMSGD_LOG"
	check evil-only-evil-blamed "vmsgd blamed another guest" \
		sh -c "! grep 'buggy or malicious' $VMSGD_LOG |
			grep -qv 'xen-d$EVIL:'"
	if good_io_after "$r"; then
		pass good-io-after
	else
		fail good-io-after "good's fio failed $(fio_failures) round(s) or stalled after round $r"
	fi
	domu_wait_gone evil 120 || say "evil did not power off"
	check evil-release-nodes-gone "B or F of evil left behind" \
		wait_until 30 vmsg_nodes_gone "$EVIL"
	check evil-release-no-zombie "domain $EVIL lingers" \
		wait_until 30 domain_vanished "$EVIL"
}

# fio_running: a round started and has not ended yet
fio_running() {
	[ "$(fio_round good start)" != "$(fio_round good 'ok|FAILED')" ]
}

# "xl destroy" while fio has requests in flight: a second into a round
# (fio is set up by then; a round takes several seconds)
destroy_good() {
	local k ports

	ports=$(dom0_ports_to "$GOOD")
	say "dom0 has $ports event channel(s) to good before xl destroy"
	k=$(fio_round good 'ok|FAILED')
	domu_wait_log good 300 "VMSG-DOMU: fio round $((k + 1)) start"
	sleep 1
	if fio_running; then
		pass destroy-during-fio
	else
		fail destroy-during-fio "fio round $((k + 1)) was over already"
	fi
	xl destroy good || say "xl destroy good failed"
	stage "domU good destroyed during fio round $((k + 1))"
	sleep 2
	check destroy-vmsgd-survives "vmsgd died" kill -0 "$VMSGD"
	check destroy-nodes-gone "B or F of good left behind" \
		wait_until 30 vmsg_nodes_gone "$GOOD"
	check destroy-no-zombie "domain $GOOD lingers: $(xl list | tail -n +2)" \
		wait_until 30 domain_vanished "$GOOD"
	check destroy-no-evtchn "dom0 keeps event channels to domain $GOOD" \
		[ "$ports" -gt 0 -a "$(dom0_ports_to "$GOOD")" = 0 ]
}

# A new guest on the same image, then "xl shutdown" of it
after_and_shutdown() {
	local id ports

	if ! create after "after vmsg.shutdown=wait" "rng" \
		"blk,path=/tmp/good.img"; then
		fail after-create "vmsgctl create failed"
		return 1
	fi
	id=$ID
	pass after-create
	check after-connected "$(vmsg_states "$id")" \
		wait_until 120 vmsg_connected "$id"
	domu_wait_log after 240 'VMSG-DOMU: waiting for xl shutdown'
	ports=$(dom0_ports_to "$id")
	check shutdown-xl "xl shutdown -w did not complete in 120 s" \
		timeout 120 xl shutdown -w after
	stage "domU after shut down"
	check shutdown-nodes-gone "B or F of after left behind" \
		wait_until 30 vmsg_nodes_gone "$id"
	check shutdown-no-zombie "domain $id lingers: $(xl list | tail -n +2)" \
		wait_until 30 domain_vanished "$id"
	check shutdown-no-evtchn "dom0 keeps event channels to domain $id" \
		[ "$ports" -gt 0 -a "$(dom0_ports_to "$id")" = 0 ]
}

truncate -s 64M /tmp/good.img
truncate -s 8M /tmp/evil.img
if ! vmsgd_start --verbose; then
	fail vmsgd-start "vmsgd did not come up"
	log_frame vmsgd-log "$VMSGD_LOG"
	exit 1
fi
pass vmsgd-start
start_good && run_evil && destroy_good
after_and_shutdown
check vmsgd-exit "vmsgd did not exit 0 on SIGTERM, or a sanitizer spoke" \
	vmsgd_stop
log_frame vmsgd-log "$VMSGD_LOG"
