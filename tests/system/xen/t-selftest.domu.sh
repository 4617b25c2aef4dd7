# SPDX-License-Identifier: GPL-2.0
#
# domU half of the Xen harness self-test (see t-selftest.dom0.sh): a pass
# that only reaches the host through the domU console log dom0 copies, and
# a planted kernel WARNING that only shows in the domU's kernel log.
. /lib/vmsg/domu.sh

#@ assert selftest-domu-pass

pass selftest-domu-pass
echo "WARNING: planted by the vmsg Xen harness self-test" >/dev/kmsg
