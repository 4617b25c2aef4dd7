#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every test of the tree and prints one closing line "N passed, N failed".
# Called by `make check` after everything is built (build dir as $1).
#
#   unit    every tests/unit/test_*.c, built with ASan+UBSan, cmocka TAP output
#   wire    the UAPI headers must stand alone, in strict ISO C (-std=c11
#           -Wpedantic), for any user of them
#   fuzz    every libFuzzer target for FUZZ_SECONDS on its committed corpus
#   dts     every configs/*.dts compiled by dtc
#   kernel  the modules rebuilt with W=1 C=1 (sparse) without a warning, and
#           checkpatch --strict clean
#   system  tests/system/run.sh (QEMU), which prints PASS:/FAIL: lines
#   xen     tests/system/xen/run-xen.sh (Xen inside QEMU), the same way
#   demo    `make demo`'s run (tests/system/demo.sh), which must complete;
#           the Xen demo runs among the xen tests (t-demo asserts its steps)
#
# SKIP_SYSTEM=1 leaves the QEMU tests out (for quick local runs; CI never
# sets it). FUZZ_SECONDS (default 30) bounds each fuzzer.
set -u
O=${1:-build}
cd "$(dirname "$0")/.." || exit 2
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
passed=0
failed=0
failures=()

pass() { passed=$((passed + 1)); echo "  ok    $1"; }
fail() {
	failed=$((failed + 1))
	failures+=("$1")
	echo "  FAIL  $1"
}

section() { echo; echo "== $1"; }

run_unit() {
	local t name out rc ok nok
	section "unit tests (ASan+UBSan)"
	for t in "$O"/tests-asan/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		out=$(CMOCKA_MESSAGE_OUTPUT=TAP ASAN_OPTIONS=detect_leaks=1 \
			UBSAN_OPTIONS=print_stacktrace=1 timeout 600 "$t" 2>&1)
		rc=$?
		ok=$(grep -c '^ok [0-9]' <<<"$out")
		nok=$(grep -c '^not ok [0-9]' <<<"$out")
		passed=$((passed + ok))
		failed=$((failed + nok))
		if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
			# crashed, sanitizer report or timeout: count it
			failed=$((failed + 1))
			nok=$((nok + 1))
		fi
		if [ "$nok" -ne 0 ]; then
			failures+=("$name")
			echo "  FAIL  $name: $ok ok, $nok failed (exit $rc)"
			echo "$out" | grep -v '^ok ' | tail -40 | sed 's/^/        /'
		else
			echo "  ok    $name: $ok tests"
		fi
	done
}

run_wire() {
	local h
	section "wire headers alone, -std=c11 -Wpedantic"
	for h in include/uapi/linux/*.h; do
		if gcc -std=c11 -Wpedantic -Wall -Wextra -Werror -fsyntax-only \
			-Iinclude/uapi -x c "$h" 2>&1; then
			pass "header $h"
		else
			fail "header $h"
		fi
	done
}

run_fuzz() {
	local f name corpus work
	section "fuzzers (${FUZZ_SECONDS}s each)"
	for f in "$O"/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		name=$(basename "$f")
		corpus=tests/fuzz/corpus/$name
		work=$(mktemp -d)
		[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
		if "$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
			-rss_limit_mb=2048 -artifact_prefix="$O/fuzz/$name-" \
			"$work" >"$O/fuzz/$name.log" 2>&1; then
			pass "$name ($(grep -o 'cov: [0-9]*' "$O/fuzz/$name.log" | tail -1))"
		else
			fail "$name (see $O/fuzz/$name.log)"
			tail -30 "$O/fuzz/$name.log" | sed 's/^/        /'
		fi
		rm -rf "$work"
	done
}

run_dts() {
	local d
	section "device-tree examples"
	for d in configs/*.dts; do
		[ -f "$d" ] || continue
		# any dtc warning fails too
		if out=$(dtc -I dts -O dtb -o "$O/$(basename "$d" .dts).dtb" \
			"$d" 2>&1) && [ -z "$out" ]; then
			pass "dtc $d"
		else
			fail "dtc $d"
			echo "$out" | sed 's/^/        /'
		fi
	done
}

# Debian ships checkpatch.pl only inside the kernel source tarball: extract
# it (with the data files it reads) once into the build directory.
checkpatch_path() {
	local dir=$O/checkpatch tar
	if [ ! -x "$dir/scripts/checkpatch.pl" ]; then
		tar=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -1)
		[ -n "$tar" ] || return 1
		mkdir -p "$dir"
		tar -xJf "$tar" -C "$dir" --strip-components=1 --wildcards \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
			'*/scripts/const_structs.checkpatch' || return 1
	fi
	echo "$dir/scripts/checkpatch.pl"
}

run_kernel() {
	local kdir m log cp extra
	section "kernel modules: W=1, sparse, checkpatch --strict"
	kdir=$(tests/system/kernel-version.sh --headers) || {
		fail "kernel headers not found"
		return
	}
	cp=$(checkpatch_path) || fail "checkpatch.pl not found (linux-source-6.1)"
	for m in frontend-kmod bus-loopback/kernel bus-xen/kernel \
		tests/system/xen/hostile; do
		[ -d "$m" ] || continue
		log=$O/kbuild-$(echo "$m" | tr / -).log
		extra=
		# the bus modules link against the transport's exports
		[ "$m" != frontend-kmod ] &&
			extra=KBUILD_EXTRA_SYMBOLS=$PWD/frontend-kmod/Module.symvers
		make -s -C "$kdir" M="$PWD/$m" clean >/dev/null 2>&1
		if make -C "$kdir" M="$PWD/$m" W=1 C=1 $extra \
			modules >"$log" 2>&1 &&
			! grep -E 'warning:|error:' "$log"; then
			pass "$m builds clean with W=1 C=1"
		else
			fail "$m W=1 C=1 build (see $log)"
		fi
		# --no-tree: checkpatch cannot see the kernel's own CamelCase
		# identifiers (XenbusStateConnected, ...), so that check is off.
		if [ -n "$cp" ] && perl "$cp" --strict --no-tree --terse \
			--ignore CAMELCASE \
			-f $(ls "$m"/*.[ch] | grep -v '\.mod\.c$') \
			>"$log.checkpatch" 2>&1; then
			pass "$m checkpatch --strict"
		else
			fail "$m checkpatch --strict (see $log.checkpatch)"
			head -20 "$log.checkpatch" | sed 's/^/        /'
		fi
	done
}

run_system() {
	local out p f
	section "system tests (QEMU)"
	if [ "${SKIP_SYSTEM:-0}" = 1 ]; then
		echo "  (SKIP_SYSTEM=1: not run; CI always runs them)"
		return
	fi
	# shown as it runs, and kept for counting (tee to a file: reopening
	# /dev/stderr would truncate a log file it points to)
	tests/system/run.sh "$O" 2>&1 | tee "$O/system-results.txt"
	out=$(cat "$O/system-results.txt")
	p=$(grep -c '^PASS: ' <<<"$out")
	f=$(grep -c '^FAIL: ' <<<"$out")
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -ne 0 ] && failures+=("system ($f)")
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		fail "system tests printed no result"
	fi
}

# Xen 4.17 + dom0 + domUs under QEMU (tests/system/xen, docs/xen-testing.md)
XEN_TESTS=(selftest io hostile devices demo)

run_xen() {
	local out p f
	section "Xen system tests (Xen in QEMU)"
	if [ "${SKIP_SYSTEM:-0}" = 1 ]; then
		echo "  (SKIP_SYSTEM=1: not run; CI always runs them)"
		return
	fi
	tests/system/xen/run-xen.sh "$O" "${XEN_TESTS[@]}" 2>&1 |
		tee "$O/xen-results.txt"
	out=$(cat "$O/xen-results.txt")
	p=$(grep -c '^PASS: ' <<<"$out")
	f=$(grep -c '^FAIL: ' <<<"$out")
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -ne 0 ] && failures+=("xen ($f)")
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		fail "Xen system tests printed no result"
	fi
}

# The main job must keep working: the loopback demo, already built
run_demo() {
	section "demo (make demo, loopback)"
	if [ "${SKIP_SYSTEM:-0}" = 1 ]; then
		echo "  (SKIP_SYSTEM=1: not run; CI always runs it)"
		return
	fi
	if NO_BUILD=1 tests/system/demo.sh "$O" >"$O/demo-results.txt" 2>&1; then
		pass "make demo completed"
	else
		fail "make demo (see $O/demo-results.txt)"
		tail -n 20 "$O/demo-results.txt" | sed 's/^/        /'
	fi
}

run_wire
run_unit
run_fuzz
run_dts
run_kernel
run_system
run_demo
run_xen

echo
if [ "$failed" -ne 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
