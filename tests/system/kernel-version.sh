#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Which installed Debian kernel the modules are built for and the QEMU
# system tests boot: the newest /boot/vmlinuz-*-amd64 whose headers are
# installed in /usr/src/linux-headers-<version>. The running kernel
# (uname -r) is deliberately not used: the build host may run anything.
#
#   kernel-version.sh            prints the version, e.g. 6.1.0-56-amd64
#   kernel-version.sh --headers  prints /usr/src/linux-headers-<version>
#   kernel-version.sh --vmlinuz  prints /boot/vmlinuz-<version>
#
# Exits 1 (with a reason on stderr) if no kernel has both.
set -eu

newest=
for k in $(ls /boot/vmlinuz-*-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' |
	   sort -V); do
	[ -d "/usr/src/linux-headers-$k" ] && newest=$k
done
if [ -z "$newest" ]; then
	echo "kernel-version.sh: no /boot/vmlinuz-*-amd64 with matching" \
	     "/usr/src/linux-headers-*: apt-get install linux-image-amd64" \
	     "linux-headers-amd64" >&2
	exit 1
fi

case "${1:-}" in
'')		echo "$newest" ;;
--headers)	echo "/usr/src/linux-headers-$newest" ;;
--vmlinuz)	echo "/boot/vmlinuz-$newest" ;;
*)		echo "usage: kernel-version.sh [--headers|--vmlinuz]" >&2; exit 2 ;;
esac
