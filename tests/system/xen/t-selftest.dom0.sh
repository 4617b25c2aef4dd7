# SPDX-License-Identifier: GPL-2.0
#
# dom0 half of the Xen harness self-test (run-xen.sh selftest): one
# assertion that passes, one that is declared and never reported, and a
# planted Xen-style assertion line on the console; then a domU (see
# t-selftest.domu.sh) that plants a kernel WARNING. run-xen.sh checks that
# its judge reports exactly these. It tests the harness, not vmsg.
. /lib/vmsg/dom0.sh

#@ timeout 240
#@ assert selftest-dom0-pass
#@ assert selftest-never-reached

pass selftest-dom0-pass
echo "(XEN) Assertion 'planted by the vmsg harness self-test' failed"
domu_config selftest
domu_create selftest && domu_wait_gone selftest 90
