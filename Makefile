# SPDX-License-Identifier: GPL-2.0
#
# vmsg top-level build. `make` builds every user-space part; `make modules`
# the kernel modules against Debian's linux-headers; `make check` every test
# (unit tests under ASan+UBSan, fuzzers for a bounded time, QEMU system tests)
# and ends with one line "N passed, N failed".

CC		?= gcc
CLANG		?= clang
O		?= build

WARNINGS	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		   -Wmissing-prototypes -Wpointer-arith -Wwrite-strings \
		   -Wformat=2 -Wvla -Wundef -Wcast-qual -Wnull-dereference \
		   -Wno-unused-parameter
CPPFLAGS	+= -D_GNU_SOURCE -Iinclude/uapi -Ibackend -Ibus-loopback -Itests/lib
CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 $(WARNINGS) -fno-strict-aliasing
LDLIBS		+= -luring

SAN_FLAGS	:= -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=all

# Daemon core and device models: every backend/*.c except the programs.
PROGRAMS	:= backend/vmsgd.c backend/vmsgctl.c
LIB_SRCS	:= $(filter-out $(PROGRAMS),$(wildcard backend/*.c)) \
		   $(wildcard bus-loopback/*.c) $(wildcard bus-xen/ring.c) \
		   $(wildcard xenstore/xsutil.c)
TESTLIB_SRCS	:= $(wildcard tests/lib/*.c)
UNIT_TESTS	:= $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
FUZZERS		:= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
TOOLS		:= $(patsubst tests/system/tools/%.c,$(O)/tools/%,\
		   $(wildcard tests/system/tools/*.c))

.PHONY: all clean check deps unit unit-asan fuzzers modules modules-clean \
	system demo bench-loopback install extmods demo-xen bench-xen

all: $(O)/vmsgd $(O)/vmsgctl $(addprefix $(O)/tests/,$(UNIT_TESTS)) $(TOOLS)

# --- objects, one tree per flavour -----------------------------------------

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

LIB_OBJS	:= $(LIB_SRCS:%.c=$(O)/obj/%.o)
LIB_ASAN_OBJS	:= $(LIB_SRCS:%.c=$(O)/asan/%.o)
TESTLIB_OBJS	:= $(TESTLIB_SRCS:%.c=$(O)/obj/%.o)
TESTLIB_ASAN_OBJS := $(TESTLIB_SRCS:%.c=$(O)/asan/%.o)

# The Xen side: only the two programs link the Xen libraries.
VMSGD_XEN_LIBS	:= $(shell pkg-config --libs xenstore xengnttab xenevtchn \
		   xentoollog)
VMSGCTL_XEN_LIBS := $(shell pkg-config --libs xenstore xlutil)

$(O)/vmsgd: $(O)/obj/backend/vmsgd.o $(O)/obj/bus-xen/xen.o $(LIB_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(VMSGD_XEN_LIBS)

$(O)/vmsgctl: $(O)/obj/backend/vmsgctl.o $(O)/obj/xenstore/vmsgctl-xen.o \
	      $(LIB_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(VMSGCTL_XEN_LIBS)

$(O)/tests/%: $(O)/obj/tests/unit/%.o $(TESTLIB_OBJS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(O)/tests-asan/%: $(O)/asan/tests/unit/%.o $(TESTLIB_ASAN_OBJS) $(LIB_ASAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# --- guest-side test tools (tests/system/tools), run inside QEMU guests ------

$(O)/tools/%: tests/system/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $<

# --- fuzzers: clang + libFuzzer, everything rebuilt with coverage ------------

FUZZ_FLAGS	:= -g -O1 -fsanitize=fuzzer,address,undefined \
		   -fno-sanitize-recover=all
$(O)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(TESTLIB_SRCS)
	@mkdir -p $(dir $@)
	$(CLANG) $(CPPFLAGS) -std=gnu11 -Wall -Wextra -Werror \
		-Wno-unused-parameter $(FUZZ_FLAGS) -o $@ $^ $(LDLIBS)

# --- tests -------------------------------------------------------------------

unit: $(addprefix $(O)/tests/,$(UNIT_TESTS))
unit-asan: $(addprefix $(O)/tests-asan/,$(UNIT_TESTS))
fuzzers: $(addprefix $(O)/fuzz/,$(FUZZERS))

# Installs missing Debian packages first, so it works on a fresh machine.
check:
	tests/install-deps.sh
	$(MAKE) all unit-asan fuzzers modules extmods $(O)/vmsgd-asan \
		$(O)/vmsgctl-asan
	tests/run.sh $(O)

# vmsgd built with ASan+UBSan: tests/system/run.sh runs it in the guests.
$(O)/vmsgd-asan: $(O)/asan/backend/vmsgd.o $(O)/asan/bus-xen/xen.o \
		 $(LIB_ASAN_OBJS)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS) $(VMSGD_XEN_LIBS)

# vmsgctl with ASan+UBSan, for the Xen system tests.
$(O)/vmsgctl-asan: $(O)/asan/backend/vmsgctl.o \
		   $(O)/asan/xenstore/vmsgctl-xen.o $(LIB_ASAN_OBJS)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS) $(VMSGCTL_XEN_LIBS)

# The QEMU system tests alone.
system: all modules extmods $(O)/vmsgd-asan
	tests/system/run.sh $(O)

demo:
	tests/install-deps.sh
	tests/system/demo.sh $(O)

demo-xen:
	tests/install-deps.sh
	tests/system/xen/demo-xen.sh $(O)

bench-xen:
	tests/install-deps.sh
	tests/system/xen/bench-xen.sh $(O)

bench-loopback:
	tests/install-deps.sh
	$(MAKE) all modules extmods
	tests/system/bench-loopback.sh $(O)

deps:
	tests/install-deps.sh

# --- kernel modules ------------------------------------------------------------

KDIR		?= $(shell tests/system/kernel-version.sh --headers)
# O= is ours (the build directory); kbuild would take it as its own.
KMAKE		= $(MAKE) -C $(KDIR) O= \
		  KBUILD_EXTRA_SYMBOLS=$(CURDIR)/frontend-kmod/Module.symvers
KMODS		:= bus-loopback/kernel $(wildcard bus-xen/kernel) \
		   $(wildcard tests/system/xen/hostile)
modules:
	$(MAKE) -C $(KDIR) O= M=$(CURDIR)/frontend-kmod modules
	for m in $(KMODS); do $(KMAKE) M=$(CURDIR)/$$m modules || exit 1; done

# Guest drivers Debian's kernel lacks (i2c-virtio, rtc-ds1307), built from
# Debian's linux-source tarball into build/extmods for the system tests.
extmods:
	tests/system/build-extmods.sh

modules-clean:
	for m in frontend-kmod $(KMODS); do \
		$(MAKE) -C $(KDIR) O= M=$(CURDIR)/$$m clean; done

# Programs and the UAPI headers (for other programs that speak virtio-msg or
# drive the loopback bus), e.g. make install DESTDIR=/tmp/root PREFIX=/usr.
PREFIX		?= /usr/local
install: $(O)/vmsgd $(O)/vmsgctl
	install -D -m 0755 $(O)/vmsgd $(DESTDIR)$(PREFIX)/sbin/vmsgd
	install -D -m 0755 $(O)/vmsgctl $(DESTDIR)$(PREFIX)/sbin/vmsgctl
	install -d $(DESTDIR)$(PREFIX)/include/linux
	install -m 0644 include/uapi/linux/virtio_msg*.h \
		$(DESTDIR)$(PREFIX)/include/linux/

clean:
	rm -rf $(O)

-include $(shell find $(O) -name '*.d' -type f 2>/dev/null)

# Keep objects of every flavour between runs.
.SECONDARY:
