# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The "net" system-test group (sourced by run.sh): virtio-net over the
# loopback bus, backed by a tap that vmsgd creates inside the guest and
# that the guest moves into a network namespace of its own. The guest
# pings both ways, runs iperf3 both ways, then deletes the tap and checks
# that only the net device fails. All traffic stays inside the guest.
# Needs iperf3 on the host (tests/install-deps.sh), copied into the guest.

group_net() {
	sys_fresh_share net
	sys_boot net t-net $((300 * SCALE))
	# FAILED is run.sh's overall result
	# shellcheck disable=SC2034
	sys_judge net t-net $? || FAILED=1
}
