#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# QEMU system tests of the loopback stack, run by `make check` through
# tests/run.sh:
#
#   tests/system/run.sh [BUILD_DIR] [GROUP...]
#
# BUILD_DIR (default build) holds vmsgd and vmsgctl (vmsgd-asan, the daemon
# built with ASan+UBSan, is used instead when present); the modules are
# taken from the source tree (make modules). GROUPs are boots: selftest
# (the harness proves it catches a planted kernel WARNING and a missing
# result), basic (rng, blk, ext4, read-only, control socket, clean
# shutdown, module unload, then the image checked on the host) and faults
# (fio verify, injected I/O errors, hot remove idle and under I/O, hot
# add, kill -9 of vmsgd, module reload and restart), then one group per
# file in groups/ (groups/NAME.sh defines group_NAME). Default: all.
#
# Prints exactly one "PASS: <name>" or "FAIL: <name>: <why>" line per
# assertion on stdout, progress and failing consoles on stderr, and exits
# 1 if anything failed. Each boot is bounded (TIMEOUT_SCALE multiplies the
# limits, for slow machines). Console logs, guest dmesg and the shared
# directories stay in BUILD_DIR/system/ for inspection.
set -u

SYS=$(cd "$(dirname "$0")" && pwd)
. "$SYS/lib.sh"

BUILD_ARG=${1:-build}
[ $# -gt 0 ] && shift
GROUPS_TO_RUN=("$@")
BUILTIN_GROUPS=(selftest basic faults)
SCALE=${TIMEOUT_SCALE:-1}
FAILED=0

# --- selftest: the judge must flag what the guest planted ----------------------

group_selftest() {
	local out

	sys_fresh_share selftest
	sys_boot selftest t-selftest $((90 * SCALE))
	out=$(sys_judge selftest t-selftest $? 2>/dev/null)
	expect_line "$out" "PASS: selftest/selftest-pass" \
		"harness/reports-a-pass"
	expect_line "$out" "FAIL: selftest/selftest-never-reached: no result" \
		"harness/detects-missing-result"
	expect_line "$out" "FAIL: selftest/kernel-clean: .*WARNING: planted" \
		"harness/detects-kernel-warning"
	expect_line "$out" "PASS: selftest/completed" \
		"harness/detects-completion"
}

# expect_line OUTPUT REGEX NAME: PASS NAME if a line of OUTPUT matches
expect_line() {
	if grep -qE "^$2" <<<"$1"; then
		echo "PASS: $3"
	else
		echo "FAIL: $3: the judge printed no line matching '$2'"
		FAILED=1
		sed 's/^/  | /' <<<"$1" >&2
	fi
}

# --- basic ----------------------------------------------------------------------------

BASIC_IMG_MB=64
RO_IMG_MB=8

group_basic() {
	local rc ro_md5

	sys_fresh_share basic
	truncate -s "${BASIC_IMG_MB}M" "$SHARE/basic.img"
	head -c $((RO_IMG_MB << 20)) /dev/urandom >"$SHARE/ro.img"
	ro_md5=$(md5sum <"$SHARE/ro.img")
	sys_boot basic t-basic $((240 * SCALE))
	rc=$?
	sys_judge basic t-basic "$rc" || FAILED=1
	host_check_ext4 "$SHARE/basic.img" "$SHARE/basic.md5"
	if [ "$(md5sum <"$SHARE/ro.img")" = "$ro_md5" ]; then
		echo "PASS: basic/host-ro-image-unchanged"
	else
		echo "FAIL: basic/host-ro-image-unchanged: ro.img was modified"
		FAILED=1
	fi
}

# The image the guest wrote through vmsg-blk, checked with the host's tools:
# e2fsck finds it clean and every file has the md5 the guest computed.
host_check_ext4() {
	local img=$1 sums=$2 sum file bad=0 n=0

	if [ ! -s "$sums" ]; then
		echo "FAIL: basic/host-image-fsck: the guest left no $sums"
		echo "FAIL: basic/host-image-md5: the guest left no $sums"
		FAILED=1
		return
	fi
	if e2fsck -fn "$img" >"$SYSOUT/basic-host-fsck.log" 2>&1; then
		echo "PASS: basic/host-image-fsck"
	else
		echo "FAIL: basic/host-image-fsck: e2fsck -fn: $(tail -n 1 "$SYSOUT/basic-host-fsck.log")"
		FAILED=1
	fi
	while read -r sum file; do
		n=$((n + 1))
		file=${file#/mnt}
		if [ "$(debugfs -R "cat $file" "$img" 2>/dev/null |
			md5sum | cut -d' ' -f1)" != "$sum" ]; then
			bad=$((bad + 1))
			sys_log "  host: $file differs from the guest's md5 $sum"
		fi
	done <"$sums"
	if [ "$bad" -eq 0 ] && [ "$n" -gt 0 ]; then
		echo "PASS: basic/host-image-md5"
	else
		echo "FAIL: basic/host-image-md5: $bad of $n files differ on the host"
		FAILED=1
	fi
}

# --- faults -----------------------------------------------------------------------------

group_faults() {
	sys_fresh_share faults
	sys_boot faults t-faults $((420 * SCALE))
	sys_judge faults t-faults $? || FAILED=1
}

# --- more groups: one file each in groups/, defining group_<name> ----------------------

ALL_GROUPS=("${BUILTIN_GROUPS[@]}")
for f in "$SYS"/groups/*.sh; do
	[ -f "$f" ] || continue
	. "$f"
	ALL_GROUPS+=("$(basename "$f" .sh)")
done
[ ${#GROUPS_TO_RUN[@]} -gt 0 ] || GROUPS_TO_RUN=("${ALL_GROUPS[@]}")

# --- main -------------------------------------------------------------------------------

main() {
	local g start

	start=$(date +%s)

	# the daemon built with ASan+UBSan, when the build has one
	if [ -x "$BUILD_ARG/vmsgd-asan" ]; then
		VMSGD_BIN=$(cd "$BUILD_ARG" && pwd)/vmsgd-asan
		export VMSGD_BIN
		sys_log "using $VMSGD_BIN in the guests"
	fi
	if ! sys_setup "$BUILD_ARG"; then
		echo "FAIL: system/setup: cannot build the guest (see above)"
		exit 1
	fi
	for g in "${GROUPS_TO_RUN[@]}"; do
		if declare -F "group_$g" >/dev/null; then
			"group_$g"
		else
			echo "FAIL: system/$g: no such group (${ALL_GROUPS[*]})"
			FAILED=1
		fi
	done
	sys_log "system tests took $(($(date +%s) - start))s"
	exit "$FAILED"
}

main
