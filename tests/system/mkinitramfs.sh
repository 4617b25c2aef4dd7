#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the guest's initramfs for the QEMU system tests, the demo and the
# benchmark: busybox-static with its applets, the vmsg kernel modules and
# the Debian modules they and the tests need (with their dependencies,
# resolved from the kernel's modules.dep into a load order), the daemon,
# vmsgctl, fio, e2fsprogs and dmsetup with the shared libraries ldd names,
# and the guest scripts from tests/system/guest/.
#
#   [VMSGD_BIN=path] mkinitramfs.sh BUILD_DIR OUT.cpio
#
# BUILD_DIR is the make output directory holding vmsgd and vmsgctl. The
# archive is an uncompressed newc cpio: under TCG, decompressing ~100 MB
# would cost more boot time than loading it. Missing vmsg modules are a
# warning, not an error, so the harness itself can be exercised before the
# modules exist; the guest then reports the failed load as a test failure.
# This script does not boot anything; run.sh, demo.sh and bench-loopback.sh
# do.
set -euo pipefail

SYS=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$SYS/../.." && pwd)
BUILD=${1:?usage: mkinitramfs.sh BUILD_DIR OUT.cpio}
OUT=${2:?usage: mkinitramfs.sh BUILD_DIR OUT.cpio}
KVER=$("$SYS/kernel-version.sh")
MODDIR=/lib/modules/$KVER
STAGE="$OUT.stage"

# Debian modules the guest loads, by module name. virtio_pci and the 9p
# modules reach the host's shared directory (virtio-9p-pci); everything
# else is what the tests exercise.
DEBIAN_MODULES=(
	virtio virtio_ring virtio_pci 9pnet_virtio 9p
	virtio_rng virtio_blk
	crc32c_generic ext4 loop dm_mod
)
OUR_MODULES=(
	"$TOP/frontend-kmod/virtio_msg_transport.ko"
	"$TOP/bus-loopback/kernel/virtio_msg_loopback.ko"
)
# VMSGD_BIN: another vmsgd build, e.g. one with ASan+UBSan (run.sh sets it)
BINARIES=(
	"${VMSGD_BIN:-$BUILD/vmsgd}" "$BUILD/vmsgctl"
	/usr/bin/fio /usr/sbin/mkfs.ext4 /usr/sbin/e2fsck /usr/sbin/debugfs
	/usr/sbin/dmsetup
)

die() { echo "mkinitramfs: $*" >&2; exit 1; }

# What the test groups of groups/ need besides: one file per group in
# initramfs.d/, one item per line ("#" starts a comment):
#   module NAME      a Debian module, with its dependencies
#   ko PATH          a module we build (PATH from the top of the tree)
#   binary PATH      a host binary, with the libraries ldd names
#   file SRC DEST    any file (SRC from the top of the tree, or absolute)
EXTRA_FILES=()
read_extras() {
	local f kind a b

	for f in "$SYS"/initramfs.d/*; do
		[ -f "$f" ] || continue
		while read -r kind a b; do
			case $kind in
			''|'#'*) ;;
			module) DEBIAN_MODULES+=("$a") ;;
			ko) OUR_MODULES+=("$TOP/$a") ;;
			binary) BINARIES+=("$a") ;;
			file) EXTRA_FILES+=("$a" "$b") ;;
			*) die "$f: unknown item '$kind'" ;;
			esac
		done <"$f"
	done
}

stage_extra_files() {
	local i src

	for ((i = 0; i < ${#EXTRA_FILES[@]}; i += 2)); do
		src=${EXTRA_FILES[i]}
		[ "${src#/}" = "$src" ] && src=$TOP/$src
		[ -e "$src" ] || die "$src missing (listed in initramfs.d)"
		install -D "$src" "$STAGE${EXTRA_FILES[i + 1]}"
	done
}

# modules.dep path of a module name ("dm_mod" finds kernel/.../dm-mod.ko)
mod_path() {
	local re=${1//[-_]/[-_]}

	grep -oE "^[^:]*/$re\\.ko(\\.[gx]z|\\.zst)?:" "$MODDIR/modules.dep" |
		head -1 | tr -d :
}

# Append a module's dependencies, then the module, to $ORDER (once each).
declare -A SEEN=()
ORDER=()
add_module() {
	local rel=$1 dep

	[ -n "${SEEN[$rel]:-}" ] && return
	SEEN[$rel]=1
	for dep in $(grep -E "^$rel:" "$MODDIR/modules.dep" | cut -d: -f2); do
		add_module "$dep"
	done
	ORDER+=("$rel")
}

copy_with_libs() {
	local bin=$1 dest=$2 lib

	[ -x "$bin" ] || die "$bin missing (run make, or tests/install-deps.sh)"
	install -D -m 0755 "$bin" "$STAGE$dest"
	for lib in $(ldd "$bin" | grep -oE '/[^ ]+\.so[^ ]*'); do
		[ -e "$STAGE$lib" ] && continue
		install -D -m 0755 "$(readlink -f "$lib")" "$STAGE$lib"
	done
}

stage_busybox() {
	local a

	install -D -m 0755 /usr/bin/busybox "$STAGE/bin/busybox"
	mkdir -p "$STAGE/sbin" "$STAGE/usr/bin" "$STAGE/usr/sbin"
	for a in $(/usr/bin/busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$STAGE/bin/$a"
	done
}

stage_modules() {
	local m rel ko

	for m in "${DEBIAN_MODULES[@]}"; do
		rel=$(mod_path "$m")
		[ -n "$rel" ] || die "module $m not found in $MODDIR/modules.dep"
		add_module "$rel"
	done
	mkdir -p "$STAGE/lib/modules/vmsg" "$STAGE/etc/vmsg"
	: >"$STAGE/etc/vmsg/modules.order"
	for rel in "${ORDER[@]}"; do
		install -D -m 0644 "$MODDIR/$rel" "$STAGE/lib/modules/$KVER/$rel"
		echo "/lib/modules/$KVER/$rel" >>"$STAGE/etc/vmsg/modules.order"
	done
	: >"$STAGE/etc/vmsg/vmsg-modules"
	for ko in "${OUR_MODULES[@]}"; do
		if [ ! -f "$ko" ]; then
			echo "mkinitramfs: warning: $ko not built (make modules)" >&2
			continue
		fi
		install -m 0644 "$ko" "$STAGE/lib/modules/vmsg/"
		echo "/lib/modules/vmsg/$(basename "$ko")" \
			>>"$STAGE/etc/vmsg/vmsg-modules"
	done
}

stage_userspace() {
	local b

	copy_with_libs "${BINARIES[0]}" /usr/bin/vmsgd
	copy_with_libs "${BINARIES[1]}" /usr/bin/vmsgctl
	for b in "${BINARIES[@]:2}"; do
		copy_with_libs "$b" "$b"
	done
	# glibc loads it at run time (pthread_cancel), ldd does not list it
	install -D -m 0755 "$(readlink -f /lib/x86_64-linux-gnu/libgcc_s.so.1)" \
		"$STAGE/lib/x86_64-linux-gnu/libgcc_s.so.1"
	install -D -m 0644 /etc/mke2fs.conf "$STAGE/etc/mke2fs.conf"
	install -D -m 0755 "$SYS/guest/init" "$STAGE/init"
	mkdir -p "$STAGE/vmsg"
	cp "$SYS"/guest/*.sh "$STAGE/vmsg/"
	echo "$KVER" >"$STAGE/etc/vmsg/kernel"
}

rm -rf "$STAGE"
trap 'rm -rf "$STAGE" "$OUT.tmp"' EXIT
mkdir -p "$STAGE"/{dev,proc,sys,tmp,run,host,mnt,etc}
# usrmerge: /lib64 holds the ELF interpreter that every binary names
ln -s lib "$STAGE/lib64" 2>/dev/null || true
read_extras
stage_busybox
stage_modules
stage_userspace
stage_extra_files
(cd "$STAGE" && find . -print0 | cpio --quiet -o -0 -H newc) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "mkinitramfs: $OUT ($(du -m "$OUT" | cut -f1) MiB, kernel $KVER," \
     "${#ORDER[@]} Debian modules)"
