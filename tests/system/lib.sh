# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side helpers shared by run.sh, demo.sh and bench-loopback.sh
# (sourced, bash): building the initramfs, booting one guest under QEMU
# with a bounded time, and judging its console.
#
# A guest boots Debian's kernel with our initramfs (mkinitramfs.sh) and runs
# one script of guest/ (kernel command line vmsg.run=NAME). The host's
# directory $SHARE is the guest's /host (virtio-9p): disk images live there,
# so the host can check them after the guest is gone, and the guest writes
# its dmesg and any result files there. Only the 9p transport is a
# virtio-pci device; the guest's only virtio-blk and virtio-rng devices are
# the ones served over virtio-msg.
#
# This file prints no PASS:/FAIL: lines itself except through sys_judge;
# everything else it prints is indented or goes to stderr.

SYS=${SYS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
TOP=${TOP:-$(cd "$SYS/../.." && pwd)}

# Kernel messages that mean the guest kernel is unhealthy.
SYS_KERNEL_BAD='BUG:|kernel BUG at|WARNING:|Oops|Call Trace|blocked for more than|general protection fault|Kernel panic|soft lockup|hard LOCKUP|UBSAN:|KASAN:|list_add corruption|list_del corruption|rcu_sched self-detected|rcu: INFO|refcount_t:|Unable to handle kernel'

sys_log() { echo "$*" >&2; }

# sys_setup BUILD_DIR [NAME]: set paths, check the tools, build the
# initramfs (one per NAME, so the demo, the benchmark and the tests can run
# side by side)
sys_setup() {
	BUILD=$(cd "$1" && pwd) || return 1
	SYSOUT=$BUILD/system
	mkdir -p "$SYSOUT"
	VMLINUZ=$("$SYS/kernel-version.sh" --vmlinuz) || return 1
	KVER=$("$SYS/kernel-version.sh")
	if ! command -v qemu-system-x86_64 >/dev/null; then
		sys_log "qemu-system-x86_64 missing: tests/install-deps.sh"
		return 1
	fi
	if [ ! -r "$VMLINUZ" ]; then
		sys_log "$VMLINUZ is not readable"
		return 1
	fi
	INITRD=$SYSOUT/initramfs-${2:-test}.cpio
	"$SYS/mkinitramfs.sh" "$BUILD" "$INITRD" >&2
}

# More QEMU arguments for the next boots (the demo adds a NIC)
SYS_QEMU_ARGS=()

# sys_boot NAME SCRIPT TIMEOUT [LIVE]: boot a guest running guest/SCRIPT.sh
# with $SHARE as /host, and SYS_QEMU_ARGS; console in $SYSOUT/NAME.log. Returns 0 if the guest
# powered off by itself, 124 if it was killed at TIMEOUT seconds. With
# LIVE=1 the guest's own output (VMSG-INFO/DEMO lines) is shown as it
# comes, else a progress line every 15 s.
sys_boot() {
	local name=$1 script=$2 limit=$3 live=${4:-0}
	local log=$SYSOUT/$name.log start now pid shown=0 rc

	: >"$log"
	sys_log "booting guest for test $name (timeout ${limit}s, log $log)..."
	start=$(date +%s)
	timeout --kill-after=5 "$limit" qemu-system-x86_64 \
		-accel tcg -cpu max -m 2048 -smp 2 \
		-nographic -nodefaults -no-reboot -serial stdio -monitor none \
		-kernel "$VMLINUZ" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 quiet vmsg.run=$script" \
		-fsdev "local,id=hostfs,path=$SHARE,security_model=none" \
		-device virtio-9p-pci,fsdev=hostfs,mount_tag=host \
		"${SYS_QEMU_ARGS[@]}" </dev/null >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		now=$(($(date +%s) - start))
		if [ "$live" = 1 ]; then
			shown=$(sys_show_new "$log" "$shown")
			grep -aq 'VMSG-BOOT' "$log" || [ $((now % 5)) -ne 0 ] ||
				sys_log "  ... kernel booting (${now}s)"
		elif [ $((now % 15)) -eq 0 ]; then
			sys_log "  [$name] ${now}s: $(grep -a 'VMSG-' "$log" | tail -n 1 | tr -d '\r')"
		fi
	done
	wait "$pid"
	rc=$?
	[ "$live" = 1 ] && sys_show_new "$log" "$shown" >/dev/null
	sys_log "  [$name] guest finished after $(($(date +%s) - start))s" \
		"$([ "$rc" -eq 124 ] && echo '(TIMEOUT, killed)')"
	return "$rc"
}

# Show on stderr the guest's VMSG- lines after line $2 of console log $1
# (INFO and DEMO lines without their prefix); echo the new line count.
sys_show_new() {
	local n

	n=$(wc -l <"$1")
	if [ "$n" -gt "$2" ]; then
		sed -n "$(($2 + 1)),${n}p" "$1" | tr -d '\r' |
			sed -n -e 's/^.*VMSG-\(INFO\|DEMO\): \{0,1\}//p' \
			       -e 's/^.*VMSG-\(PASS\|FAIL\|DONE\)/\1/p' >&2
	fi
	echo "$n"
}

# Lines of the console log or the guest's dmesg showing an unhealthy kernel
sys_kernel_problems() {
	cat "$@" 2>/dev/null | tr -d '\r' | grep -v 'VMSG-' |
		grep -aE "$SYS_KERNEL_BAD"
}

# sys_judge NAME SCRIPT BOOT_RC: print one PASS:/FAIL: line per assertion
# the guest script declares ("#@ assert X"), plus NAME/completed,
# NAME/daemon-clean (no sanitizer report in vmsgd's logs) and
# NAME/kernel-clean; on any failure also the console's tail. Returns the
# number of failures (capped at 255).
sys_judge() {
	local name=$1 script=$2 rc=$3 log=$SYSOUT/$1.log
	local a line bad fails=0 clog

	clog=$(tr -d '\r' <"$log")
	for a in $(sed -n 's/^#@ assert \([^ ]*\).*/\1/p' "$SYS/guest/$script.sh"); do
		line=$(grep -a -m1 -E "VMSG-(PASS|FAIL): $a(:|\$)" <<<"$clog")
		case $line in
		*VMSG-PASS:*)	echo "PASS: $name/$a" ;;
		*VMSG-FAIL:*)	echo "FAIL: $name/$a:${line#*VMSG-FAIL: "$a":}"
				fails=$((fails + 1)) ;;
		*)		echo "FAIL: $name/$a: no result (the guest never got there)"
				fails=$((fails + 1)) ;;
		esac
	done
	# failures outside any declared assertion (guest setup, typos)
	while read -r line; do
		[ -n "$line" ] || continue
		a=${line#*VMSG-FAIL: }
		a=${a%%:*}
		grep -q "^#@ assert $a\$" "$SYS/guest/$script.sh" && continue
		echo "FAIL: $name/${line#*VMSG-FAIL: }"
		fails=$((fails + 1))
	done < <(grep -a 'VMSG-FAIL: ' <<<"$clog")
	line=$(grep -a -m1 "VMSG-DONE: $script " <<<"$clog")
	if [ "$rc" -eq 0 ] && [[ $line == *"(exit 0)"* ]]; then
		echo "PASS: $name/completed"
	elif [ "$rc" -eq 124 ]; then
		echo "FAIL: $name/completed: timed out, QEMU killed"
		fails=$((fails + 1))
	else
		echo "FAIL: $name/completed: guest script did not finish (${line:-no VMSG-DONE marker}, QEMU exit $rc)"
		fails=$((fails + 1))
	fi
	bad=$(cat "$SHARE/$script"-vmsgd-*.log 2>/dev/null |
		grep -aE 'Sanitizer|runtime error:' | head -n 1)
	if [ -z "$bad" ]; then
		echo "PASS: $name/daemon-clean"
	else
		echo "FAIL: $name/daemon-clean: $bad"
		fails=$((fails + 1))
	fi
	bad=$(sys_kernel_problems "$log" "$SHARE/dmesg-$script.txt" | head -n 3)
	if [ -z "$bad" ]; then
		echo "PASS: $name/kernel-clean"
	else
		echo "FAIL: $name/kernel-clean: $(head -n 1 <<<"$bad")"
		fails=$((fails + 1))
	fi
	if [ "$fails" -ne 0 ]; then
		sys_log "---- $name: last 120 console lines ($log) ----"
		tail -n 120 <<<"$clog" | sed 's/^/  | /' >&2
		sys_log "---- end of $name console ----"
	fi
	return $((fails > 255 ? 255 : fails))
}

# sys_fresh_share NAME: an empty host directory for the guest's /host
sys_fresh_share() {
	SHARE=$SYSOUT/share-$1
	rm -rf "$SHARE"
	mkdir -p "$SHARE"
}
