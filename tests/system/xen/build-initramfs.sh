#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the two initramfs images of a Xen system test: dom0's and the PV
# domU's. dom0's holds busybox-static, the Xen tools (xl, xenstored,
# xen-init-dom0, xenconsoled, xenconsole, the xenstore-* commands) with the
# libraries ldd names plus libgcc_s.so.1, the dom0 kernel modules with
# their dependencies (from modules.dep of the test kernel, never the
# running one), dom0-init as /init, the test's dom0 script as /test.sh,
# and the domU kernel and image under /guest/. The domU's holds
# busybox-static, virtio and virtio_ring (loaded by its /init), our
# modules when they are built (frontend-kmod/virtio_msg_transport.ko,
# bus-xen/kernel/*.ko: copied, listed in /etc/vmsg/vmsg-modules, loaded by
# the test script, since loading them is under test), domu-init as /init
# and the test's domU script as /test.sh. Both images are uncompressed
# newc cpio: under TCG decompressing costs more than copying.
#
#   build-initramfs.sh [-b BUILD_DIR] [-o OUT_DIR] [-f MANIFEST]...
#                      DOM0_SCRIPT [DOMU_SCRIPT]
#
# BUILD_DIR (default build) is the make output directory; OUT_DIR (default
# BUILD_DIR/system/xen) receives dom0.cpio and domu.cpio. Without
# DOMU_SCRIPT the domU only boots and powers off. A MANIFEST adds files
# and modules, one entry per line ('#' starts a comment):
#
#   dom0|domu  file  SRC [DEST]   a file (an ELF program with its ldd
#                                 libraries); DEST defaults to SRC
#   dom0|domu  file? SRC [DEST]   the same, skipped when SRC is missing
#   dom0|domu  module NAME        a Debian module and its dependencies,
#                                 loaded by /init before the test runs
#
# A relative SRC is relative to the source tree; @BUILD@ in SRC stands for
# BUILD_DIR. This script does not boot anything: run-xen.sh does.
set -euo pipefail

XEN=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$XEN/../../.." && pwd)
KVER=$("$TOP/tests/system/kernel-version.sh")
VMLINUZ=$("$TOP/tests/system/kernel-version.sh" --vmlinuz)
MODDIR=/lib/modules/$KVER
XENBIN=/usr/lib/xen-4.17/bin

DOM0_MODULES=(xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs)
DOM0_TOOLS=(
	"$XENBIN/xl" "$XENBIN/xenstored" "$XENBIN/xen-init-dom0"
	"$XENBIN/xenconsoled" "$XENBIN/xenconsole"
)
# one multi-call binary, dispatching on its name
XENSTORE_CMDS=(read write ls list rm chmod exists watch)
LIBGCC=/lib/x86_64-linux-gnu/libgcc_s.so.1
DOMU_MODULES=(virtio virtio_ring)

die() { echo "xen/build-initramfs: $*" >&2; exit 1; }

usage() {
	echo "usage: build-initramfs.sh [-b BUILD_DIR] [-o OUT_DIR]" \
	     "[-f MANIFEST]... DOM0_SCRIPT [DOMU_SCRIPT]" >&2
	exit 2
}

# --- staging primitives: each takes the staging directory first ---------

# modules.dep path of a module name ("xen-evtchn" or "xen_evtchn")
mod_path() {
	local re=${1//[-_]/[-_]}

	grep -oE "^[^:]*/$re\\.ko(\\.[gx]z|\\.zst)?:" "$MODDIR/modules.dep" |
		head -n 1 | tr -d :
}

# add_module STAGE REL: REL's dependencies, then REL, once each, installed
# and appended to STAGE's load order
add_module() {
	local stage=$1 rel=$2 dep

	grep -qxF "/lib/modules/$KVER/$rel" "$stage/etc/vmsg/modules.order" &&
		return 0
	for dep in $(grep -E "^$rel:" "$MODDIR/modules.dep" | cut -d: -f2); do
		add_module "$stage" "$dep"
	done
	install -D -m 0644 "$MODDIR/$rel" "$stage/lib/modules/$KVER/$rel"
	echo "/lib/modules/$KVER/$rel" >>"$stage/etc/vmsg/modules.order"
}

stage_module() {
	local rel

	rel=$(mod_path "$2")
	[ -n "$rel" ] || die "module $2 not found in $MODDIR/modules.dep"
	add_module "$1" "$rel"
}

# stage_file STAGE SRC DEST: install SRC, and for a dynamic ELF program
# every library ldd names
stage_file() {
	local stage=$1 src=$2 dest=$3 lib

	[ -f "$src" ] || die "$src missing"
	install -D -m "$(stat -L -c %a "$src")" "$src" "$stage$dest"
	head -c 4 "$src" | grep -q 'ELF' || return 0
	for lib in $(ldd "$src" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*'); do
		[ -e "$stage$lib" ] && continue
		install -D -m 0755 "$(readlink -f "$lib")" "$stage$lib"
	done
}

stage_base() {
	local stage=$1 a

	rm -rf "$stage"
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,mnt}
	mkdir -p "$stage"/{etc/vmsg,lib/vmsg,lib/modules/vmsg}
	# usrmerge: /lib64 holds the ELF interpreter every binary names
	ln -s lib "$stage/lib64"
	install -m 0755 /usr/bin/busybox "$stage/bin/busybox"
	for a in $(/usr/bin/busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$stage/bin/$a"
	done
	: >"$stage/etc/vmsg/modules.order"
	: >"$stage/etc/vmsg/vmsg-modules"
	echo "$KVER" >"$stage/etc/vmsg/kernel"
	install -m 0644 "$XEN/../guest/common.sh" "$stage/lib/vmsg/common.sh"
}

# write_cpio STAGE OUT
write_cpio() {
	(cd "$1" && find . -print0 | cpio --quiet -o -0 -H newc) >"$2.tmp"
	mv "$2.tmp" "$2"
	rm -rf "$1"
	echo "xen/build-initramfs: $2 ($(du -m "$2" | cut -f1) MiB)"
}

# --- manifests -------------------------------------------------------------

# apply_manifest SIDE STAGE FILE: the entries of FILE for SIDE (dom0|domu)
apply_manifest() {
	local side=$1 stage=$2 file=$3 who what src dest

	while read -r who what src dest; do
		case $who in ''|'#'*) continue ;; esac
		[ "$who" = "$side" ] || continue
		[ -n "$src" ] || die "$file: '$who $what' lacks an argument"
		if [ "$what" = module ]; then
			stage_module "$stage" "$src"
			continue
		fi
		src=${src//@BUILD@/$BUILD}
		case $src in /*) ;; *) src=$TOP/$src ;; esac
		case $what in
		file)	stage_file "$stage" "$src" "${dest:-$src}" ;;
		file\?)	[ -f "$src" ] &&
				stage_file "$stage" "$src" "${dest:-$src}" ;;
		*)	die "$file: unknown entry '$what'" ;;
		esac
	done <"$file"
}

apply_manifests() {
	local m

	for m in ${MANIFESTS[@]+"${MANIFESTS[@]}"}; do
		apply_manifest "$1" "$2" "$m"
	done
}

# --- the two images ----------------------------------------------------------

# our modules, in load order (the transport first), when they are built
stage_vmsg_modules() {
	local stage=$1 ko

	for ko in "$TOP/frontend-kmod/virtio_msg_transport.ko" \
		  "$TOP"/bus-xen/kernel/*.ko; do
		[ -f "$ko" ] || continue
		install -m 0644 "$ko" "$stage/lib/modules/vmsg/"
		echo "/lib/modules/vmsg/${ko##*/}" \
			>>"$stage/etc/vmsg/vmsg-modules"
	done
}

build_domu() {
	local stage=$OUT/domu.stage m

	stage_base "$stage"
	for m in "${DOMU_MODULES[@]}"; do
		stage_module "$stage" "$m"
	done
	stage_vmsg_modules "$stage"
	install -m 0755 "$XEN/domu-init" "$stage/init"
	install -m 0644 "$XEN/lib-domu.sh" "$stage/lib/vmsg/domu.sh"
	if [ -n "$DOMU_SCRIPT" ]; then
		install -m 0644 "$DOMU_SCRIPT" "$stage/test.sh"
	fi
	apply_manifests domu "$stage"
	write_cpio "$stage" "$OUT/domu.cpio"
}

stage_xen_tools() {
	local stage=$1 t

	for t in "${DOM0_TOOLS[@]}"; do
		stage_file "$stage" "$t" "$t"
	done
	stage_file "$stage" /usr/bin/xenstore /usr/bin/xenstore
	for t in "${XENSTORE_CMDS[@]}"; do
		ln -sf xenstore "$stage/usr/bin/xenstore-$t"
	done
	# glibc loads it at run time (pthread_cancel); without it xl create
	# aborts after building the domain. ldd does not list it.
	stage_file "$stage" "$(readlink -f "$LIBGCC")" "$LIBGCC"
	mkdir -p "$stage"/var/{lib/xen,log/xen/console,lock} "$stage/etc/xen"
	# dom0 has a fixed dom0_mem: xl must not try to balloon it
	echo 'autoballoon = "off"' >"$stage/etc/xen/xl.conf"
}

build_dom0() {
	local stage=$OUT/dom0.stage m

	stage_base "$stage"
	for m in "${DOM0_MODULES[@]}"; do
		stage_module "$stage" "$m"
	done
	stage_xen_tools "$stage"
	install -m 0755 "$XEN/dom0-init" "$stage/init"
	install -m 0644 "$XEN/lib-dom0.sh" "$stage/lib/vmsg/dom0.sh"
	install -m 0644 "$DOM0_SCRIPT" "$stage/test.sh"
	install -D -m 0644 "$VMLINUZ" "$stage/guest/vmlinuz"
	install -m 0644 "$OUT/domu.cpio" "$stage/guest/initramfs.cpio"
	apply_manifests dom0 "$stage"
	write_cpio "$stage" "$OUT/dom0.cpio"
}

main() {
	local opt

	BUILD=build
	OUT=
	MANIFESTS=()
	while getopts b:o:f: opt; do
		case $opt in
		b) BUILD=$OPTARG ;;
		o) OUT=$OPTARG ;;
		f) MANIFESTS+=("$(realpath "$OPTARG")") ;;
		*) usage ;;
		esac
	done
	shift $((OPTIND - 1))
	if [ $# -lt 1 ] || [ $# -gt 2 ]; then
		usage
	fi
	for opt in "$@"; do
		[ -f "$opt" ] || die "no test script $opt"
	done
	DOM0_SCRIPT=$(realpath "$1")
	DOMU_SCRIPT=${2:+$(realpath "$2")}
	BUILD=$(realpath "$BUILD")
	OUT=$(realpath -m "${OUT:-$BUILD/system/xen}")
	[ -x "$XENBIN/xl" ] ||
		die "$XENBIN/xl missing: apt-get install xen-utils-4.17"
	mkdir -p "$OUT"
	trap 'rm -rf "$OUT/dom0.stage" "$OUT/domu.stage" "$OUT"/*.cpio.tmp' EXIT
	build_domu
	build_dom0
}

main "$@"
