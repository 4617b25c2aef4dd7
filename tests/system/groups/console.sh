# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The "console" group of tests/system/run.sh (sourced): one guest boot in
# which vmsgd serves virtio-console devices (a unix socket, then a pty)
# and Linux's virtio_console drives them as hvc0 and hvc1, with
# `vmsgctl console` as the host-side client in the same guest
# (guest/t-console.sh). Its guest needs are in initramfs.d/console.

# SCALE and FAILED belong to run.sh, which sources this file.
# shellcheck disable=SC2034
group_console() {
	sys_fresh_share console
	sys_boot console t-console $((240 * SCALE))
	sys_judge console t-console $? || FAILED=1
}
