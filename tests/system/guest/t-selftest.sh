# SPDX-License-Identifier: GPL-2.0
#
# Guest half of the harness self-test (run.sh runs it with every suite):
# one assertion that passes, one that is declared but never reported, and
# a planted kernel "WARNING:" line. The host checks that its judge reports
# exactly that: a pass, a missing result and an unhealthy kernel log. It
# tests the harness, not vmsg.
. /vmsg/lib.sh

#@ assert selftest-pass
#@ assert selftest-never-reached

pass selftest-pass
echo "WARNING: planted by the vmsg harness self-test" >/dev/kmsg
