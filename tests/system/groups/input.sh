# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The "input" group of the QEMU system tests, sourced by run.sh: one boot
# running guest/t-input.sh (virtio-input passthrough of a uinput device,
# served by vmsgd over the loopback bus). The guest's two helper programs,
# built by make from tests/system/tools/ into BUILD/tools/, reach it through
# the shared directory as /host/tools.

INPUT_TOOLS=(uinput-emit evdev-read)

group_input() {
	local t

	sys_fresh_share input
	mkdir -p "$SHARE/tools"
	for t in "${INPUT_TOOLS[@]}"; do
		if [ ! -x "$BUILD/tools/$t" ]; then
			echo "FAIL: input/tools: $BUILD/tools/$t is missing (make all)"
			FAILED=1
			return
		fi
		cp "$BUILD/tools/$t" "$SHARE/tools/"
	done
	sys_boot input t-input $((300 * SCALE))
	sys_judge input t-input $? || FAILED=1
}
