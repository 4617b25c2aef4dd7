# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The "i2c" group of tests/system/run.sh (sourced): one guest boot in which
# vmsgd serves virtio-i2c with the emulated DS1307 RTC and Linux's
# i2c-virtio, i2c-dev and rtc-ds1307 drive it (guest/t-i2c.sh). The two
# drivers Debian lacks must have been built first:
# tests/system/build-extmods.sh (they are listed in initramfs.d/i2c).

# SCALE and FAILED belong to run.sh, which sources this file.
# shellcheck disable=SC2034
group_i2c() {
	sys_fresh_share i2c
	sys_boot i2c t-i2c $((240 * SCALE))
	sys_judge i2c t-i2c $? || FAILED=1
}
