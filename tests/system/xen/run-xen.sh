#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Xen system tests: boots Xen 4.17 with Debian's kernel as PV dom0 under
# QEMU (TCG), runs one test's dom0 script there, which starts PV domUs with
# xl, and judges the console.
#
#   run-xen.sh [BUILD_DIR] [TEST...]
#
# BUILD_DIR defaults to build. A TEST is named by its files in this
# directory: t-TEST.dom0.sh (required: runs in dom0 as /test.sh),
# t-TEST.domu.sh (optional: runs in every domU as /test.sh) and
# t-TEST.files (optional manifest, see build-initramfs.sh). A "#@ assert
# NAME" line in either script declares a result the console must show; a
# "#@ timeout SECONDS" line in the dom0 script replaces the default bound
# of 300 s. TEST "selftest" checks the judge itself. Default TEST: smoke.
#
# Prints one "PASS: xen-TEST/NAME" or "FAIL: xen-TEST/NAME: WHY" line per
# assertion, plus xen-TEST/completed (dom0's script ended with status 0
# before the bound), xen-TEST/domu-completed (every domU's script ended
# with status 0; only for tests with a domU script), xen-TEST/kernel-clean
# (no BUG/WARNING/Oops/Call Trace... in dom0's or a domU's kernel log) and
# xen-TEST/xen-clean (no BUG/Assertion/FATAL/Panic from Xen); progress
# and, on failure, both consoles go to stderr. Exits 1 if anything
# failed. TIMEOUT_SCALE multiplies the bounds; DOM0_ARGS adds to dom0's
# kernel command line. Logs stay in
# BUILD_DIR/system/xen/TEST/ (console.log holds everything).
set -u

XEN=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$XEN/../../.." && pwd)
SCALE=${TIMEOUT_SCALE:-1}
FAILED=0

# Kernel messages that mean a Linux kernel (dom0 or domU) is unhealthy:
# the loopback harness's list, so both harnesses judge kernels alike
LINUX_BAD=$(. "$TOP/tests/system/lib.sh" && echo "$SYS_KERNEL_BAD")
# Xen's own console lines that mean the hypervisor is unhealthy
XEN_BAD='\bBUG\b|Assertion|FATAL|Panic|PANIC|Xen call trace'
# dom0 gets a fixed 1 GiB (no ballooning); Xen logs everything, guests'
# errors included, so grant and event channel misuse shows on the console;
# XEN_ARGS adds to it (e.g. for a run by hand)
XEN_CMDLINE="dom0_mem=1024M,max:1024M console=com1 com1=115200,8n1 noreboot"
XEN_CMDLINE+=" loglvl=all guest_loglvl=all ${XEN_ARGS:-}"
# dom0's kernel; vmsg.timeout= (seconds) bounds its test script.
# DOM0_ARGS adds to it, for a caller to hand a test script settings
# (read there with cmdline_arg), e.g. bench-xen.sh's vmsg.bench_runtime=
DOM0_CMDLINE="console=hvc0 quiet panic=-1 ${DOM0_ARGS:-}"

log() { echo "$*" >&2; }

# --- setup ------------------------------------------------------------

# The multiboot ELF QEMU loads with -kernel: the newest Xen in /boot
xen_elf() {
	local gz

	gz=$(ls /boot/xen-*-amd64.gz 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$gz" ]; then
		log "no /boot/xen-*-amd64.gz:" \
		    "apt-get install xen-hypervisor-4.17-amd64"
		return 1
	fi
	XEN_ELF=$OUT/xen.elf
	[ "$XEN_ELF" -nt "$gz" ] && return 0
	zcat "$gz" >"$XEN_ELF.tmp" && mv "$XEN_ELF.tmp" "$XEN_ELF"
}

setup() {
	BUILD=$(cd "$1" 2>/dev/null && pwd) || {
		log "build directory $1 missing"
		return 1
	}
	OUT=$BUILD/system/xen
	mkdir -p "$OUT"
	VMLINUZ=$("$TOP/tests/system/kernel-version.sh" --vmlinuz) || return 1
	command -v qemu-system-x86_64 >/dev/null || {
		log "qemu-system-x86_64 missing: tests/install-deps.sh"
		return 1
	}
	xen_elf
}

# build_test TEST: both images into $OUT/TEST/
build_test() {
	local t=$1 args=(-b "$BUILD" -o "$OUT/$1")

	[ -f "$XEN/t-$t.files" ] && args+=(-f "$XEN/t-$t.files")
	args+=("$XEN/t-$t.dom0.sh")
	[ -f "$XEN/t-$t.domu.sh" ] && args+=("$XEN/t-$t.domu.sh")
	"$XEN/build-initramfs.sh" "${args[@]}" >&2
}

# --- booting ----------------------------------------------------------

# stages LOG FROM TO: the stages lines FROM+1..TO of LOG show, one a
# line; lines of the logs copied at the end (VMSG-LOG frames) show none
stages() {
	sed -n "1,$3p" "$1" | tr -d '\r' | awk -v from="$2" '
		/VMSG-LOG-BEGIN: / { depth++; next }
		/VMSG-LOG-END: / { depth--; next }
		NR <= from || depth > 0 { next }
		/\(XEN\) Xen version/ { print "Xen up"; next }
		/\*\*\* Serial input to DOM0/ { print "dom0 booting"; next }
		/VMSG-STAGE: / { sub(/.*VMSG-STAGE: /, ""); print; next }
		/VMSG-FAIL: / { sub(/.*VMSG-FAIL: /, "failure: "); print }'
}

# show_progress LOG SHOWN START NAME: print the stages of the complete
# lines after line SHOWN with the elapsed time and record them in
# $DIR/timings.txt; echo the new line count
show_progress() {
	local log=$1 shown=$2 n s now

	n=$(wc -l <"$log")
	[ "$n" -gt "$shown" ] || { echo "$shown"; return; }
	now=$(($(date +%s) - $3))
	while IFS= read -r s; do
		log "  [$4] ${now}s: $s"
		echo "${now}s $s" >>"$DIR/timings.txt"
	done < <(stages "$log" "$shown" "$n")
	echo "$n"
}

# xen_boot NAME LIMIT: boot Xen, dom0 and its /test.sh from $DIR; the
# console (Xen's serial, carrying dom0's hvc0) goes to $DIR/console.log.
# Returns QEMU's status, 124 if it was killed at LIMIT seconds.
xen_boot() {
	local name=$1 limit=$2 log=$DIR/console.log start pid shown=0 rc
	# dom0 stops its script early enough to copy the logs out
	local dom0_limit=$(($2 > 120 ? $2 - 60 : 60))
	local dom0_args="$DOM0_CMDLINE vmsg.timeout=$dom0_limit"

	: >"$log"
	: >"$DIR/timings.txt"
	log "booting Xen for $name (bound ${limit}s, console $log)"
	start=$(date +%s)
	timeout --kill-after=5 "$limit" qemu-system-x86_64 \
		-accel tcg -cpu qemu64,+svm -m 3072 -smp 2 \
		-nographic -no-reboot \
		-kernel "$XEN_ELF" \
		-append "$XEN_CMDLINE" \
		-initrd "$VMLINUZ $dom0_args,$DIR/dom0.cpio" \
		</dev/null >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		shown=$(show_progress "$log" "$shown" "$start" "$name")
	done
	wait "$pid"
	rc=$?
	show_progress "$log" "$shown" "$start" "$name" >/dev/null
	log "  [$name] QEMU ended after $(($(date +%s) - start))s" \
		"$([ "$rc" -eq 124 ] && echo '(bound reached, killed)')"
	echo "$(($(date +%s) - start))s QEMU ended (status $rc)" \
		>>"$DIR/timings.txt"
	return "$rc"
}

# --- judging ----------------------------------------------------------

# declared NAME...: the "#@ assert" names of the test's scripts
declared() {
	sed -n 's/^#@ assert \([^ ]*\).*/\1/p' "$@" 2>/dev/null
}

# frame CONSOLE NAME: the lines between VMSG-LOG-BEGIN/END: NAME
frame() {
	sed -n "/VMSG-LOG-BEGIN: $2\$/,/VMSG-LOG-END: $2\$/p" <<<"$1" |
		sed '1d;$d'
}

# outside_frames CONSOLE: dom0's own console, without the copied logs
outside_frames() {
	awk '/VMSG-LOG-BEGIN: / { d++; next } /VMSG-LOG-END: / { d--; next }
	     d == 0' <<<"$1"
}

# judge_asserts NAME CONSOLE SCRIPT...: one line per declared assertion,
# and one per failure nobody declared; the number of failures. A kernel
# message may land right after a marker, before its newline ("VMSG-PASS:
# x[   5.95] virtio_blk ..."): a timestamp also ends a result's name.
judge_asserts() {
	local name=$1 clog=$2 a line fails=0

	shift 2
	for a in $(declared "$@"); do
		line=$(grep -a -m1 -E \
			"VMSG-(PASS|FAIL): $a(:|\$|\[ *[0-9]+\.[0-9]+\])" \
			<<<"$clog")
		case $line in
		*VMSG-PASS:*)	echo "PASS: $name/$a" ;;
		*VMSG-FAIL:*)	echo "FAIL: $name/$a:${line#*VMSG-FAIL: "$a":}"
				fails=$((fails + 1)) ;;
		*)		echo "FAIL: $name/$a: no result (not reached)"
				fails=$((fails + 1)) ;;
		esac
	done
	while read -r line; do
		[ -n "$line" ] || continue
		a=${line#*VMSG-FAIL: }
		declared "$@" | grep -qxF "${a%%:*}" && continue
		echo "FAIL: $name/$a"
		fails=$((fails + 1))
	done < <(grep -a 'VMSG-FAIL: ' <<<"$clog")
	return $((fails > 0))
}

# judge_completion NAME CONSOLE QEMU_RC: dom0's script ended with status
# 0 and QEMU by itself; 1 if not
judge_completion() {
	local name=$1 line

	line=$(grep -a -m1 'VMSG-DONE: dom0 ' <<<"$2")
	line=${line:-dom0 script never ended}
	[[ $line == *"(exit 137)"* ]] && line+=", killed at vmsg.timeout"
	if [ "$3" -eq 0 ] && [[ $line == *"(exit 0)"* ]]; then
		echo "PASS: $name/completed"
		return 0
	elif [ "$3" -eq 124 ]; then
		echo "FAIL: $name/completed: bound reached, QEMU killed ($line)"
	else
		echo "FAIL: $name/completed: $line (QEMU status $3)"
	fi
	return 1
}

# judge_domu_completion NAME CONSOLE: every domU console copied shows its
# script ended with status 0, and there is at least one; 1 if not
judge_domu_completion() {
	local name=$1 bad

	bad=$(grep -a 'VMSG-DONE: domu ' <<<"$2" | grep -v '(exit 0)' |
	      head -n 1)
	if [ -n "$bad" ]; then
		echo "FAIL: $name/domu-completed: ${bad#*VMSG-}"
	elif ! grep -aq 'VMSG-DONE: domu (exit 0)' <<<"$2"; then
		echo "FAIL: $name/domu-completed: no domU console has VMSG-DONE"
	else
		echo "PASS: $name/domu-completed"
		return 0
	fi
	return 1
}

# judge_health NAME CONSOLE: kernel-clean and xen-clean; failures
judge_health() {
	local name=$1 clog=$2 bad fails=0

	bad=$(grep -av 'VMSG-' <<<"$clog" | grep -av '(XEN)' |
	      grep -aE "$LINUX_BAD" | head -n 1)
	if [ -z "$bad" ]; then
		echo "PASS: $name/kernel-clean"
	else
		echo "FAIL: $name/kernel-clean: $bad"
		fails=1
	fi
	bad=$(grep -a '(XEN)' <<<"$clog" | grep -aE "$XEN_BAD" | head -n 1)
	if [ -z "$bad" ]; then
		echo "PASS: $name/xen-clean"
	else
		echo "FAIL: $name/xen-clean: $bad"
		fails=$((fails + 1))
	fi
	return "$fails"
}

# show_consoles CONSOLE: dom0's console and every domU's, on stderr
show_consoles() {
	local f

	log "---- dom0 console (copied logs cut; last 150 lines) ----"
	outside_frames "$1" | tail -n 150 | sed 's/^/  | /' >&2
	for f in $(grep -ao 'VMSG-LOG-BEGIN: domu-console-[^ ]*' <<<"$1" |
		   cut -d' ' -f2 | sort -u); do
		log "---- $f (last 150 lines) ----"
		frame "$1" "$f" | tail -n 150 | sed 's/^/  | /' >&2
	done
	show_first_bad "$1"
	log "---- end of consoles ----"
}

# show_first_bad CONSOLE: the first unhealthy kernel or Xen line with the
# lines around it, wherever it is (early boot messages are only in the
# copied kernel logs)
show_first_bad() {
	local n

	n=$(grep -anvE 'VMSG-' <<<"$1" |
	    grep -aE "\\(XEN\\).*($XEN_BAD)|$LINUX_BAD" | head -n 1)
	n=${n%%:*}
	[ -n "$n" ] || return 0
	log "---- around the first unhealthy line (console line $n) ----"
	sed -n "$((n > 10 ? n - 10 : 1)),$((n + 30))p" <<<"$1" |
		sed 's/^/  | /' >&2
}

# judge NAME TEST QEMU_RC: all result lines; 0 if everything passed
judge() {
	local name=$1 t=$2 rc=$3 clog domu=0 fails=0 scripts

	clog=$(tr -d '\r' <"$DIR/console.log")
	scripts=("$XEN/t-$t.dom0.sh")
	if [ -f "$XEN/t-$t.domu.sh" ]; then
		scripts+=("$XEN/t-$t.domu.sh")
		domu=1
	fi
	judge_asserts "$name" "$clog" "${scripts[@]}" || fails=1
	judge_completion "$name" "$clog" "$rc" || fails=1
	if [ "$domu" = 1 ]; then
		judge_domu_completion "$name" "$clog" || fails=1
	fi
	judge_health "$name" "$clog" || fails=1
	[ "$fails" -eq 0 ] || show_consoles "$clog"
	return "$fails"
}

# --- tests ------------------------------------------------------------

# run_test TEST: build, boot and judge one test; prints its result lines
run_test() {
	local t=$1 name=xen-$1 limit rc

	DIR=$OUT/$t
	if [ ! -f "$XEN/t-$t.dom0.sh" ]; then
		echo "FAIL: $name/setup: no $XEN/t-$t.dom0.sh"
		return 1
	fi
	mkdir -p "$DIR"
	if ! build_test "$t"; then
		echo "FAIL: $name/setup: building the images failed (see above)"
		return 1
	fi
	limit=$(sed -n 's/^#@ timeout \([0-9]*\).*/\1/p' "$XEN/t-$t.dom0.sh")
	limit=$((${limit:-300} * SCALE))
	xen_boot "$name" "$limit"
	rc=$?
	if [ "$rc" -eq 124 ] && ! grep -aq "VMSG-STAGE: dom0 up" "$DIR/console.log"
	then
		# dom0's kernel never reached /init: nothing of ours runs
		# before it (Xen and dom0's kernel are Debian's), and under TCG
		# on a loaded host this boot has been seen to stall once in a
		# while. Keep the log and boot once more; a second stall fails.
		cp "$DIR/console.log" "$DIR/console-stalled.log"
		log "  [$name] dom0 never reached /init (boot stall, log in" \
		    "$DIR/console-stalled.log): booting once more"
		xen_boot "$name" "$limit"
		rc=$?
	fi
	judge "$name" "$t" "$rc"
}

# selftest: the judge must report what t-selftest plants (a pass in dom0
# and in the domU, a declared result never printed, a kernel WARNING in the
# domU, a Xen assertion line) and nothing else
run_selftest() {
	local out

	log "selftest: progress and planted failures in $OUT/selftest.log"
	out=$(run_test selftest 2>"$OUT/selftest.log")
	expect "$out" "PASS: xen-selftest/selftest-dom0-pass" \
		reports-a-dom0-pass
	expect "$out" "PASS: xen-selftest/selftest-domu-pass" \
		reports-a-domu-pass
	expect "$out" "FAIL: xen-selftest/selftest-never-reached: no result" \
		detects-missing-result
	expect "$out" "FAIL: xen-selftest/kernel-clean: .*WARNING: planted" \
		detects-kernel-warning
	expect "$out" "FAIL: xen-selftest/xen-clean: .*Assertion 'planted" \
		detects-xen-assertion
	expect "$out" "PASS: xen-selftest/completed" detects-completion
	expect "$out" "PASS: xen-selftest/domu-completed" \
		detects-domu-completion
}

# expect OUTPUT REGEX NAME: PASS xen-harness/NAME if a line matches
expect() {
	if grep -qE "^$2" <<<"$1"; then
		echo "PASS: xen-harness/$3"
	else
		echo "FAIL: xen-harness/$3: no judge line matches '$2'"
		sed 's/^/  | /' <<<"$1" >&2
		FAILED=1
	fi
}

main() {
	local build=${1:-build} t start

	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] || set -- smoke
	start=$(date +%s)
	if ! setup "$build"; then
		echo "FAIL: xen/setup: cannot prepare the Xen tests (see above)"
		exit 1
	fi
	for t in "$@"; do
		case $t in
		selftest) run_selftest ;;
		*) run_test "$t" || FAILED=1 ;;
		esac
	done
	log "Xen system tests took $(($(date +%s) - start))s"
	exit "$FAILED"
}

main "$@"
