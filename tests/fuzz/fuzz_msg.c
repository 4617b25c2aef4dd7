// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the whole device side of virtio-msg: bus header
 * validation, the transport core, the virtqueue engine and the rng, blk,
 * i2c and console models, reached exactly as a hostile driver side reaches
 * them.
 *
 * One test bus with a 64 KiB region holds an rng (dev_num 1), a blk device
 * (2) on an in-memory image (a memfd, opened through /proc/self/fd), an i2c
 * bus with the emulated RTC (3), a console on a unix socket nobody
 * connects to (4), an input device passed through from a fake evdev
 * (5, tests/lib/fakeevdev.h), which emits a key press before each input
 * while little is unread, and a net device (6) on a tap in a network
 * namespace of the fuzzer's own (tests/lib/testnet.h; CAP_NET_ADMIN, as
 * for vmsgd), into which one frame is sent before each input. Each input
 * starts from zeroed region memory and reset devices. The input is a script: its first byte picks the bus's maximum
 * message size, then records follow:
 *
 *   LEN (0x00-0xfd), LEN bytes    one message for vmsg_bus_receive()
 *   0xfe, OFF (le16), N, N bytes  write N bytes into the region at OFF
 *   0xff                          run the event loop until it has been
 *                                 idle for QUIET_US
 *
 * so rings and buffers in the region are fuzzed too and EVENT_AVAIL walks
 * them. After every message the loop runs once without waiting, which
 * delivers blk's io_uring completions that are ready. At most MAX_RECORDS
 * records are run; then both devices are reset with whatever is still in
 * flight, which the models' reset must drain. The target checks nothing
 * itself: the sanitizers and the code's own invariants (abort) are the
 * oracle. The committed corpus takes each device through the handshake to
 * real requests; tests/fuzz/mkseeds.py writes the i2c, console, input and
 * net seeds. Not covered: real buses, several bus instances, device
 * removal, the daemon's control socket.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_msg.h>

#include "bus.h"
#include "log.h"
#include "loop.h"
#include "../lib/fakeevdev.h"
#include "../lib/testbus.h"
#include "../lib/testnet.h"

#define REGION_SIZE	(64 * 1024)
#define IMG_SIZE	(256 * 1024)
#define MAX_RECORDS	512
#define MAX_IDLE_RUNS	64
#define QUIET_US	300
#define REC_REGION	0xfe
#define REC_IDLE	0xff
#define RNG_DEV		1
#define BLK_DEV		2
#define I2C_DEV		3
#define CON_DEV		4
#define INPUT_DEV	5
#define NET_DEV		6
#define NR_DEVS		6
#define TAP		"vmsgfz0"
/* Frames the net model transmitted, read off the tap after each input. */
#define NET_DRAIN_MAX	256
/* Emit host events only while fewer bytes than this wait unread. */
#define INPUT_UNREAD_MAX	(32 * (int)sizeof(struct input_event))
/* LED events the model wrote back, drained after each input at most. */
#define INPUT_DRAIN_MAX		1024

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vmsg_testbus *tb;
static char con_path[64];
static struct fakeevdev *fe;
static int tap_sock = -1;		/* AF_PACKET on the net device's tap */

static void remove_socket(void)
{
	unlink(con_path);
}

static void add_device(const char *spec, int dev_num)
{
	char err[VMSG_ERR_LEN] = "";

	if (vmsg_bus_add_device(&tb->bus, spec, dev_num, err,
				sizeof(err)) != dev_num) {
		fprintf(stderr, "fuzz_msg: %s: %s\n", spec, err);
		abort();
	}
}

/*
 * One bus for the whole run: a fresh io_uring per input would pay for new
 * io-wq workers (milliseconds) on every fallocate and fsync. Inputs are
 * separated by a device reset instead (see reset_all()).
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char spec[64];
	int fd = memfd_create("fuzz-msg-img", MFD_CLOEXEC), ret;

	if (fd < 0 || ftruncate(fd, IMG_SIZE)) {
		perror("fuzz_msg: image");
		abort();
	}
	/* Peer-triggered warnings are expected by the million here. */
	vmsg_log_set_level(VMSG_LOG_ERR);
	tb = vmsg_testbus_new(REGION_SIZE, VIRTIO_MSG_DEFAULT_SIZE);
	if (!tb)
		abort();
	snprintf(spec, sizeof(spec), "blk,path=/proc/self/fd/%d", fd);
	add_device("rng", RNG_DEV);
	add_device(spec, BLK_DEV);
	add_device("i2c,rtc=0x68", I2C_DEV);
	snprintf(con_path, sizeof(con_path), "/tmp/vmsg-fuzz-msg-%d.sock",
		 (int)getpid());
	unlink(con_path);
	atexit(remove_socket);
	snprintf(spec, sizeof(spec), "console,socket=%s", con_path);
	add_device(spec, CON_DEV);
	fe = fakeevdev_new("vmsg-fuzz-input");
	if (!fe)
		abort();
	fakeevdev_set_bit(fe, EV_KEY, KEY_A);
	fakeevdev_set_bit(fe, EV_REL, REL_X);
	fakeevdev_set_bit(fe, EV_LED, LED_NUML);
	snprintf(spec, sizeof(spec), "input,evdev=%s", fe->path);
	add_device(spec, INPUT_DEV);
	ret = testnet_private_netns();
	if (ret) {
		fprintf(stderr, "fuzz_msg: unshare(CLONE_NEWNET): %s (needs "
			"CAP_NET_ADMIN, as vmsgd does)\n", strerror(-ret));
		exit(1);
	}
	add_device("net,tap=" TAP ",mac=52:54:00:66:7a:01", NET_DEV);
	tap_sock = testnet_tap_socket(TAP);
	if (tap_sock < 0) {
		fprintf(stderr, "fuzz_msg: tap %s: %s\n", TAP,
			strerror(-tap_sock));
		exit(1);
	}
	return 0;
}

/* A cursor over the input. */
struct input {
	const uint8_t *p;
	size_t left;
};

static bool take(struct input *in, size_t n, const uint8_t **out)
{
	if (in->left < n)
		return false;
	*out = in->p;
	in->p += n;
	in->left -= n;
	return true;
}

static void run_idle(void)
{
	int i;

	for (i = 0; i < MAX_IDLE_RUNS; i++)
		if (vmsg_loop_run_once(tb->loop, 0) <= 0)
			break;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * blk's fallocate and fsync always complete asynchronously (io-wq, tens of
 * microseconds), and a multi-range discard takes one round trip per range:
 * poll the loop until QUIET_US pass without anything happening. Polling,
 * not sleeping, keeps a run at hundreds of inputs per second.
 */
static void run_wait(void)
{
	uint64_t quiet_since = now_us();
	unsigned int runs = 0;
	int ret;

	while (runs < MAX_IDLE_RUNS && now_us() - quiet_since < QUIET_US) {
		ret = vmsg_loop_run_once(tb->loop, 0);
		if (ret > 0) {
			runs++;
			quiet_since = now_us();
		}
	}
}

static bool rec_region(struct input *in)
{
	const uint8_t *hdr, *bytes;
	size_t off, n;

	if (!take(in, 3, &hdr))
		return false;
	off = hdr[0] | (size_t)hdr[1] << 8;
	n = hdr[2];
	if (!take(in, n, &bytes))
		return false;
	if (n > REGION_SIZE - off)
		n = REGION_SIZE - off;
	memcpy(tb->bus.region.base + off, bytes, n);
	return true;
}

static bool rec_message(struct input *in, uint8_t len)
{
	const uint8_t *msg;

	if (!take(in, len, &msg))
		return false;
	vmsg_testbus_inject(tb, msg, len);
	vmsg_loop_run_once(tb->loop, 0);
	/* Nobody reads the replies; keep the capture queue from filling. */
	vmsg_testbus_flush(tb);
	return true;
}

static void run_script(struct input *in)
{
	const uint8_t *tag;
	unsigned int i;
	bool ok = true;

	for (i = 0; ok && i < MAX_RECORDS && take(in, 1, &tag); i++) {
		if (*tag == REC_REGION)
			ok = rec_region(in);
		else if (*tag == REC_IDLE)
			run_wait();
		else
			ok = rec_message(in, *tag);
	}
	run_idle();
}

/*
 * A broadcast frame into the tap for the net model's receive queue (the
 * tap queues up to its txqueuelen, then drops).
 */
static void send_frame(void)
{
	uint8_t f[128];

	memset(f, 0xff, 6);
	memset(f + 6, 0x02, 6);
	f[12] = 0x88;		/* 0x88b5: local experimental ethertype */
	f[13] = 0xb5;
	memset(f + 14, 0x5a, sizeof(f) - 14);
	send(tap_sock, f, sizeof(f), MSG_DONTWAIT);
}

/* Status 0 for every device: drops (and drains) whatever is in flight. */
static void reset_all(void)
{
	struct virtio_msg_set_device_status_req req = { 0 };
	uint8_t resp[VIRTIO_MSG_MAX_SIZE];
	struct input_event ev;
	uint8_t frame[2048];
	unsigned int i;
	size_t rlen;
	uint16_t dev;

	tb->bus.max_msg_size = VIRTIO_MSG_DEFAULT_SIZE;
	for (dev = RNG_DEV; dev <= NR_DEVS; dev++) {
		rlen = sizeof(resp);
		if (vmsg_testbus_call(tb, 0, VIRTIO_MSG_SET_DEVICE_STATUS, dev,
				      &req, sizeof(req), resp, &rlen, 0))
			abort();
	}
	vmsg_testbus_flush(tb);
	memset(tb->bus.region.base, 0, REGION_SIZE);
	/* the LED events the driver's statusq made the model write */
	for (i = 0; i < INPUT_DRAIN_MAX; i++)
		if (fakeevdev_read_written(fe, &ev, 0) <= 0)
			break;
	/* and the frames the driver's transmit queue sent out */
	for (i = 0; i < NET_DRAIN_MAX; i++)
		if (recv(tap_sock, frame, sizeof(frame), MSG_DONTWAIT) < 0)
			break;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	const uint8_t *sel;

	if (!take(&in, 1, &sel))
		return 0;
	tb->bus.max_msg_size = VIRTIO_MSG_MIN_SIZE +
			       *sel % (VIRTIO_MSG_MAX_SIZE -
				       VIRTIO_MSG_MIN_SIZE + 1);
	/* something for the input model's eventq to carry */
	if (fakeevdev_unread(fe) >= 0 &&
	    fakeevdev_unread(fe) < INPUT_UNREAD_MAX) {
		fakeevdev_emit1(fe, EV_KEY, KEY_A, 1);
		fakeevdev_emit1(fe, EV_SYN, SYN_REPORT, 0);
	}
	send_frame();
	run_script(&in);
	reset_all();
	return 0;
}
