// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-input model (backend/dev-input.c) driven through the unit-test bus
 * by the test driver, with a fake evdev (tests/lib/fakeevdev.h) standing in
 * for /dev/input/eventN: spec errors, every config answer (and the
 * select/subsel values that must not reach an ioctl), the grab's life,
 * events delivered whole and in order, a flood with back-pressure and
 * bounded memory, events from before the grab dropped, LEDs written back
 * and other status events dropped, malformed chains, and the evdev going
 * away failing this device while another one keeps working. What every
 * device type must do is in test_conformance.c; the real evdev, uinput and
 * Linux's virtio_input driver are exercised by the QEMU test
 * (tests/system/groups/input.sh).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/input.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_input.h>
#include <linux/virtio_ring.h>

#include "bus.h"
#include "device.h"
#include "loop.h"
#include "../lib/fakeevdev.h"
#include "../lib/testbus.h"
#include "../lib/testdrv.h"

#define REGION_SIZE	(1024 * 1024)
#define TIMEOUT_MS	3000
#define EVQ		0
#define STQ		1
#define QSIZE		64		/* the model's queue size */
#define EV_LEN		sizeof(struct virtio_input_event)
#define NAME		"vmsg test keyboard"
#define POISON		0xa5

struct in_test {
	struct vmsg_testbus *tb;
	struct testdrv *d;
	struct fakeevdev *fe;
	int dev_num;
	uint64_t buf_of[QSIZE];		/* eventq buffer of each head */
	unsigned int received;
};

static const uint16_t keys[] = { KEY_ENTER, KEY_A, KEY_B, BTN_LEFT };

static struct fakeevdev *make_fake(void)
{
	struct fakeevdev *fe = fakeevdev_new(NAME);
	unsigned int i;

	if (!fe)
		return NULL;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		fakeevdev_set_bit(fe, EV_KEY, keys[i]);
	fakeevdev_set_bit(fe, EV_REL, REL_X);
	fakeevdev_set_bit(fe, EV_REL, REL_Y);
	fakeevdev_set_bit(fe, EV_LED, LED_NUML);
	fakeevdev_set_bit(fe, EV_LED, LED_CAPSL);
	fakeevdev_set_abs(fe, ABS_X, -5, 1023, 4, 8, 12);
	fe->props[0] = 1UL << INPUT_PROP_POINTER;
	fe->id = (struct input_id){ BUS_USB, 0x1234, 0x5678, 0x0111 };
	return fe;
}

static int add_input(struct in_test *t, char *err, size_t errlen)
{
	char spec[128];

	snprintf(spec, sizeof(spec), "input,evdev=%s", t->fe->path);
	return vmsg_bus_add_device(&t->tb->bus, spec, 0, err, errlen);
}

static int setup(void **state)
{
	struct in_test *t = calloc(1, sizeof(*t));
	char err[VMSG_ERR_LEN] = "";

	if (!t)
		return -1;
	t->fe = make_fake();
	t->tb = vmsg_testbus_new(REGION_SIZE, VIRTIO_MSG_DEFAULT_SIZE);
	if (!t->fe || !t->tb)
		goto err;
	t->dev_num = add_input(t, err, sizeof(err));
	if (t->dev_num <= 0) {
		fprintf(stderr, "input: %s\n", err);
		goto err;
	}
	t->d = testdrv_new(t->tb, (uint16_t)t->dev_num);
	if (!t->d)
		goto err;
	*state = t;
	return 0;

err:
	vmsg_testbus_free(t->tb);
	fakeevdev_free(t->fe);
	free(t);
	return -1;
}

static int teardown(void **state)
{
	struct in_test *t = *state;

	testdrv_free(t->d);
	vmsg_testbus_free(t->tb);
	fakeevdev_free(t->fe);
	free(t);
	return 0;
}

/* --- helpers -------------------------------------------------------------- */

static void init_all(struct in_test *t)
{
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
	t->received = 0;
}

static struct vmsg_dev *the_dev(struct in_test *t)
{
	struct vmsg_dev *dev = vmsg_bus_dev(&t->tb->bus, t->dev_num);

	if (!dev) {
		fail_msg("device %d is gone", t->dev_num);
		abort();	/* not reached: fail_msg() does not return */
	}
	return dev;
}

static void run_loop(struct in_test *t, int ms)
{
	int i;

	for (i = 0; i < ms; i++)
		vmsg_loop_run_once(t->tb->loop, 1);
}

static uint32_t status_of(struct in_test *t)
{
	uint32_t status;

	assert_int_equal(testdrv_get_status(t->d, &status), 0);
	return status;
}

static uint64_t poisoned_buf(struct in_test *t, uint32_t len)
{
	uint64_t addr = testdrv_alloc_buf(t->d, len);

	assert_int_not_equal(addr, 0);
	memset(testdrv_buf(t->d, addr, len), POISON, len);
	return addr;
}

/* Make one eventq buffer available again, as the Linux driver does. */
static void post_buf(struct in_test *t, uint64_t addr)
{
	struct testdrv_sg sg = { addr, EV_LEN };
	int head = testdrv_add(t->d, EVQ, &sg, 0, 1, false);

	assert_true(head >= 0 && head < QSIZE);
	t->buf_of[head] = addr;
}

/* n fresh eventq buffers, and a kick if the device wants one. */
static void post_bufs(struct in_test *t, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		post_buf(t, poisoned_buf(t, EV_LEN));
	assert_true(testdrv_kick_if_needed(t->d, EVQ) >= 0);
}

/* The next used eventq buffer's event; its buffer is posted again. */
static void next_event(struct in_test *t, struct virtio_input_event *ev)
{
	uint32_t id, len;

	while (!testdrv_ring_has_used(&t->d->vqs[EVQ]))
		assert_int_equal(testdrv_wait_used(t->d, EVQ, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(t->d, EVQ, &id, &len), 1);
	assert_true(id < QSIZE && t->buf_of[id]);
	assert_int_equal(len, EV_LEN);
	memcpy(ev, testdrv_buf(t->d, t->buf_of[id], EV_LEN), EV_LEN);
	memset(testdrv_buf(t->d, t->buf_of[id], EV_LEN), POISON, EV_LEN);
	post_buf(t, t->buf_of[id]);
	assert_true(testdrv_kick_if_needed(t->d, EVQ) >= 0);
	t->received++;
}

static void expect_event(struct in_test *t, unsigned int type,
			 unsigned int code, int value)
{
	struct virtio_input_event ev;

	next_event(t, &ev);
	assert_int_equal(le16toh(ev.type), type);
	assert_int_equal(le16toh(ev.code), code);
	assert_int_equal((int32_t)le32toh(ev.value), value);
}

/* Nothing more comes within ms. */
static void expect_quiet(struct in_test *t, int ms)
{
	run_loop(t, ms);
	assert_false(testdrv_ring_has_used(&t->d->vqs[EVQ]));
}

static void emit(struct in_test *t, unsigned int type, unsigned int code,
		 int value)
{
	assert_int_equal(fakeevdev_emit1(t->fe, type, code, value), 0);
}

/* --- spec and handshake --------------------------------------------------- */

static void test_handshake(void **state)
{
	struct in_test *t = *state;

	/* Opened, its clock set, but not grabbed before DRIVER_OK. */
	assert_int_equal(t->fe->clockid, CLOCK_MONOTONIC);
	assert_false(t->fe->grabbed);
	init_all(t);
	assert_int_equal(t->d->device_id, VIRTIO_ID_INPUT);
	assert_int_equal(t->d->config_size, sizeof(struct virtio_input_config));
	assert_int_equal(t->d->max_vqs, 2);
	assert_int_equal(t->d->device_features & ((1ULL << 24) - 1), 0);
	assert_false(status_of(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(t->fe->grabbed);
	assert_int_equal(t->fe->grabs, 1);
	/* Reset releases the grab; the next DRIVER_OK takes it again. */
	assert_int_equal(testdrv_reset(t->d), 0);
	assert_false(t->fe->grabbed);
	assert_int_equal(t->fe->ungrabs, 1);
	init_all(t);
	assert_true(t->fe->grabbed);
	/* Removing the device releases it too. */
	vmsg_bus_destroy_device(&t->tb->bus, (uint16_t)t->dev_num);
	assert_false(t->fe->grabbed);
	assert_int_equal(t->fe->ungrabs, 2);
	assert_int_equal(t->fe->bad_requests, 0);
}

static void spec_fails(struct in_test *t, const char *spec, const char *why)
{
	char err[VMSG_ERR_LEN] = "";

	assert_true(vmsg_bus_add_device(&t->tb->bus, spec, 0, err,
					sizeof(err)) < 0);
	if (!strstr(err, why))
		fail_msg("%s: error '%s' does not say '%s'", spec, err, why);
}

static void test_spec_errors(void **state)
{
	struct in_test *t = *state;
	char dir[] = "/tmp/vmsg-input-XXXXXX", file[64], spec[128];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/not-evdev", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	spec_fails(t, "input", "input: missing evdev=");
	spec_fails(t, "input,evdev=", "evdev");
	spec_fails(t, "input,evdev=/nonexistent/event9",
		   "input: evdev=/nonexistent/event9: No such file");
	snprintf(spec, sizeof(spec), "input,evdev=%s", file);
	spec_fails(t, spec, "not an evdev device");
	snprintf(spec, sizeof(spec), "input,evdev=%s,bogus=1", t->fe->path);
	spec_fails(t, spec, "bogus");
	unlink(file);
	rmdir(dir);
}

/* --- config --------------------------------------------------------------- */

/* Select, as Linux does (one byte each), and read size and the answer. */
static uint8_t cfg_select(struct in_test *t, uint8_t sel, uint8_t subsel,
			  uint8_t *u)
{
	uint8_t size;

	assert_int_equal(testdrv_config_write(t->d, 0, &sel, 1), 0);
	assert_int_equal(testdrv_config_write(t->d, 1, &subsel, 1), 0);
	assert_int_equal(testdrv_config_read(t->d, 2, &size, 1), 0);
	assert_int_equal(testdrv_config_read(t->d, 8, u, 128), 0);
	return size;
}

/* The virtio bitmap (bit n in byte n / 8) of codes; its size. */
static unsigned int bitmap_of(const uint16_t *codes, unsigned int n,
			      uint8_t *out)
{
	unsigned int i, size = 0;

	memset(out, 0, 128);
	for (i = 0; i < n; i++) {
		out[codes[i] / 8] |= 1U << (codes[i] % 8);
		if (codes[i] / 8u + 1 > size)
			size = codes[i] / 8 + 1;
	}
	return size;
}

static void expect_bits(struct in_test *t, uint8_t sel, uint8_t subsel,
			const uint16_t *codes, unsigned int n)
{
	uint8_t u[128], want[128];
	unsigned int size = bitmap_of(codes, n, want);

	assert_int_equal(cfg_select(t, sel, subsel, u), size);
	assert_memory_equal(u, want, 128);
}

static void expect_none(struct in_test *t, uint8_t sel, uint8_t subsel)
{
	uint8_t u[128], zero[128] = { 0 };

	assert_int_equal(cfg_select(t, sel, subsel, u), 0);
	assert_memory_equal(u, zero, 128);
}

static void test_config_ids(void **state)
{
	struct in_test *t = *state;
	struct virtio_input_devids ids;
	uint8_t u[128];

	init_all(t);
	assert_int_equal(cfg_select(t, VIRTIO_INPUT_CFG_ID_NAME, 0, u),
			 strlen(NAME));
	assert_memory_equal(u, NAME, strlen(NAME));
	expect_none(t, VIRTIO_INPUT_CFG_ID_NAME, 1);
	/* No uniq: an empty serial. */
	expect_none(t, VIRTIO_INPUT_CFG_ID_SERIAL, 0);
	strcpy(t->fe->uniq, "SN-42");
	assert_int_equal(cfg_select(t, VIRTIO_INPUT_CFG_ID_SERIAL, 0, u), 5);
	assert_memory_equal(u, "SN-42", 5);
	assert_int_equal(cfg_select(t, VIRTIO_INPUT_CFG_ID_DEVIDS, 0, u),
			 sizeof(ids));
	memcpy(&ids, u, sizeof(ids));
	assert_int_equal(le16toh(ids.bustype), BUS_USB);
	assert_int_equal(le16toh(ids.vendor), 0x1234);
	assert_int_equal(le16toh(ids.product), 0x5678);
	assert_int_equal(le16toh(ids.version), 0x0111);
	/* A name longer than the config's 128 bytes is cut, unterminated. */
	memset(t->fe->name, 'n', 200);
	t->fe->name[200] = 0;
	assert_int_equal(cfg_select(t, VIRTIO_INPUT_CFG_ID_NAME, 0, u), 128);
	assert_memory_equal(u, t->fe->name, 128);
	expect_none(t, VIRTIO_INPUT_CFG_UNSET, 0);
	expect_none(t, 0x7f, 0);
	expect_none(t, 0xff, 0xff);
	assert_int_equal(t->fe->bad_requests, 0);
}

static void test_config_bits(void **state)
{
	struct in_test *t = *state;
	static const uint16_t rel[] = { REL_X, REL_Y };
	static const uint16_t leds[] = { LED_NUML, LED_CAPSL };
	static const uint16_t abs[] = { ABS_X };
	static const uint16_t props[] = { INPUT_PROP_POINTER };
	unsigned int sub;

	init_all(t);
	expect_bits(t, VIRTIO_INPUT_CFG_PROP_BITS, 0, props, 1);
	expect_none(t, VIRTIO_INPUT_CFG_PROP_BITS, 1);
	expect_bits(t, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY, keys,
		    sizeof(keys) / sizeof(keys[0]));
	expect_bits(t, VIRTIO_INPUT_CFG_EV_BITS, EV_REL, rel, 2);
	expect_bits(t, VIRTIO_INPUT_CFG_EV_BITS, EV_LED, leds, 2);
	expect_bits(t, VIRTIO_INPUT_CFG_EV_BITS, EV_ABS, abs, 1);
	/* Types the device lacks, EV_SYN, and EV_REP (evdev has no bitmap). */
	expect_none(t, VIRTIO_INPUT_CFG_EV_BITS, EV_SW);
	expect_none(t, VIRTIO_INPUT_CFG_EV_BITS, EV_SYN);
	expect_none(t, VIRTIO_INPUT_CFG_EV_BITS, EV_REP);
	/*
	 * Past EV_MAX, EVIOCGBIT would encode other ioctls (0x70: the nr of
	 * EVIOCGRAB): the model must not issue them at all.
	 */
	t->fe->bad_requests = 0;
	for (sub = EV_MAX + 1; sub <= 0xff; sub++)
		expect_none(t, VIRTIO_INPUT_CFG_EV_BITS, (uint8_t)sub);
	assert_int_equal(t->fe->bad_requests, 0);
	assert_int_equal(t->fe->grabs, 1);
	assert_true(t->fe->grabbed);
}

static void test_config_abs(void **state)
{
	struct in_test *t = *state;
	struct virtio_input_absinfo ai;
	unsigned int sub;
	uint8_t u[128];

	init_all(t);
	assert_int_equal(cfg_select(t, VIRTIO_INPUT_CFG_ABS_INFO, ABS_X, u),
			 sizeof(ai));
	memcpy(&ai, u, sizeof(ai));
	assert_int_equal((int32_t)le32toh(ai.min), -5);
	assert_int_equal(le32toh(ai.max), 1023);
	assert_int_equal(le32toh(ai.fuzz), 4);
	assert_int_equal(le32toh(ai.flat), 8);
	assert_int_equal(le32toh(ai.res), 12);
	/* An axis the device does not have. */
	expect_none(t, VIRTIO_INPUT_CFG_ABS_INFO, ABS_Y);
	/* Past ABS_MAX, EVIOCGABS would encode EVIOCSABS and others. */
	t->fe->bad_requests = 0;
	for (sub = ABS_MAX + 1; sub <= 0xff; sub++)
		expect_none(t, VIRTIO_INPUT_CFG_ABS_INFO, (uint8_t)sub);
	assert_int_equal(t->fe->bad_requests, 0);
}

static void test_config_writes(void **state)
{
	struct in_test *t = *state;
	const uint8_t both[2] = { VIRTIO_INPUT_CFG_EV_BITS, EV_REL };
	uint8_t b = 1, size, sel, sel2[3];
	uint32_t gen;

	init_all(t);
	assert_int_equal(testdrv_config_read(t->d, 0, &sel, 1), 0);
	gen = t->d->config_gen;
	t->d->config_events = 0;
	/* select and subsel in one write */
	assert_int_equal(testdrv_config_write(t->d, 0, both, 2), 0);
	assert_int_equal(testdrv_config_read(t->d, 2, &size, 1), 0);
	assert_int_equal(size, 1);
	assert_int_equal(testdrv_config_read(t->d, 8, &b, 1), 0);
	assert_int_equal(b, 1 << REL_X | 1 << REL_Y);
	/* The driver's own select moves no generation and sends no event. */
	assert_int_equal(t->d->config_gen, gen);
	while (testdrv_poll_event(t->d, 20))
		;
	assert_int_equal(t->d->config_events, 0);
	/* size, reserved and u are the device's */
	assert_int_equal(testdrv_config_write(t->d, 2, &b, 1), -EINVAL);
	assert_int_equal(testdrv_config_write(t->d, 1, both, 2), -EINVAL);
	assert_int_equal(testdrv_config_write(t->d, 5, &b, 1), -EINVAL);
	assert_int_equal(testdrv_config_write(t->d, 8, &b, 1), -EINVAL);
	assert_int_equal(testdrv_config_read(t->d, 2, &size, 1), 0);
	assert_int_equal(size, 1);
	/* A reset forgets the selection. */
	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_get_info(t->d), 0);
	assert_int_equal(testdrv_config_read(t->d, 0, sel2, 3), 0);
	assert_memory_equal(sel2, "\0\0\0", 3);
	assert_false(status_of(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* --- events --------------------------------------------------------------- */

static void test_events_in_order(void **state)
{
	struct in_test *t = *state;
	const struct input_event seq[] = {
		{ .type = EV_KEY, .code = KEY_A, .value = 1 },
		{ .type = EV_SYN, .code = SYN_REPORT },
		{ .type = EV_REL, .code = REL_X, .value = -7 },
		{ .type = EV_REL, .code = REL_Y, .value = 300000 },
		{ .type = EV_SYN, .code = SYN_REPORT },
		{ .type = EV_KEY, .code = KEY_A, .value = 0 },
		{ .type = EV_SYN, .code = SYN_REPORT },
	};
	unsigned int i, round;

	init_all(t);
	post_bufs(t, 16);
	for (round = 0; round < 3; round++) {
		assert_int_equal(fakeevdev_emit(t->fe, seq, 7), 0);
		for (i = 0; i < 7; i++)
			expect_event(t, seq[i].type, seq[i].code,
				     seq[i].value);
	}
	expect_quiet(t, 30);
	assert_false(status_of(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* An event may straddle descriptors; only 8 bytes of a bigger one are used. */
static void test_buffer_shapes(void **state)
{
	struct in_test *t = *state;
	uint64_t a = poisoned_buf(t, 3), b = poisoned_buf(t, 5);
	uint64_t big = poisoned_buf(t, 16);
	struct testdrv_sg sg[2] = { { a, 3 }, { b, 5 } };
	struct virtio_input_event ev;
	uint8_t *p = testdrv_buf(t->d, big, 16);
	uint32_t id, len;
	int h1, h2;

	init_all(t);
	h1 = testdrv_add(t->d, EVQ, sg, 0, 2, false);
	h2 = testdrv_add(t->d, EVQ, &(struct testdrv_sg){ big, 16 }, 0, 1,
			 false);
	assert_true(h1 >= 0 && h2 >= 0);
	assert_int_equal(testdrv_kick(t->d, EVQ), 0);
	emit(t, EV_REL, REL_X, 0x11223344);
	emit(t, EV_KEY, KEY_B, 1);
	assert_int_equal(testdrv_wait_used(t->d, EVQ, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(t->d, EVQ, &id, &len), 1);
	assert_int_equal(id, h1);
	assert_int_equal(len, EV_LEN);
	memcpy(&ev, testdrv_buf(t->d, a, 3), 3);
	memcpy((uint8_t *)&ev + 3, testdrv_buf(t->d, b, 5), 5);
	assert_int_equal(le16toh(ev.type), EV_REL);
	assert_int_equal(le16toh(ev.code), REL_X);
	assert_int_equal(le32toh(ev.value), 0x11223344);
	while (!testdrv_ring_has_used(&t->d->vqs[EVQ]))
		assert_int_equal(testdrv_wait_used(t->d, EVQ, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(t->d, EVQ, &id, &len), 1);
	assert_int_equal(id, h2);
	assert_int_equal(len, EV_LEN);
	assert_int_equal(le16toh(*(uint16_t *)(p + 2)), KEY_B);
	assert_int_equal(p[8], POISON);
	assert_int_equal(p[15], POISON);
}

/*
 * Without buffers the model reads one batch at most and stops: the rest
 * waits in the evdev (here the tty) until the driver adds buffers, and
 * then everything arrives, in order.
 */
static void test_backpressure(void **state)
{
	struct in_test *t = *state;
	struct input_event ev[100];
	int unread, later;
	unsigned int i;

	init_all(t);
	for (i = 0; i < 100; i++)
		ev[i] = (struct input_event){ .type = EV_REL, .code = REL_Y,
					      .value = (int)i };
	assert_int_equal(fakeevdev_emit(t->fe, ev, 50), 0);
	assert_int_equal(fakeevdev_emit(t->fe, ev + 50, 50), 0);
	run_loop(t, 100);
	unread = fakeevdev_unread(t->fe);
	run_loop(t, 50);
	later = fakeevdev_unread(t->fe);
	assert_int_equal(unread, later);
	assert_true(unread >= (100 - 64) * (int)sizeof(ev[0]));
	assert_true(unread % sizeof(ev[0]) == 0);
	post_bufs(t, 10);
	for (i = 0; i < 100; i++)
		expect_event(t, EV_REL, REL_Y, (int)i);
	expect_quiet(t, 30);
}

/* Many events through few buffers: none lost, none reordered. */
static void test_flood(void **state)
{
	struct in_test *t = *state;
	const unsigned int total = 3000, burst = 32;
	struct input_event ev[32];
	unsigned int sent = 0, i, n;

	init_all(t);
	post_bufs(t, 8);
	while (t->received < total) {
		if (sent < total && sent - t->received < 3 * burst) {
			n = total - sent < burst ? total - sent : burst;
			for (i = 0; i < n; i++)
				ev[i] = (struct input_event){
					.type = EV_REL, .code = REL_X,
					.value = (int)(sent + i) };
			assert_int_equal(fakeevdev_emit(t->fe, ev, n), 0);
			sent += n;
		}
		expect_event(t, EV_REL, REL_X, (int)t->received);
	}
	expect_quiet(t, 30);
	assert_false(status_of(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* What happened before the driver attached never reaches it. */
static void test_stale_events_dropped(void **state)
{
	struct in_test *t = *state;

	emit(t, EV_KEY, KEY_B, 1);
	emit(t, EV_KEY, KEY_B, 0);
	run_loop(t, 30);
	init_all(t);
	post_bufs(t, 8);
	emit(t, EV_KEY, KEY_A, 1);
	expect_event(t, EV_KEY, KEY_A, 1);
	expect_quiet(t, 30);
	/* And what happened between a reset and the next DRIVER_OK. */
	assert_int_equal(testdrv_reset(t->d), 0);
	emit(t, EV_KEY, KEY_B, 2);
	run_loop(t, 30);
	init_all(t);
	post_bufs(t, 8);
	emit(t, EV_KEY, KEY_A, 2);
	expect_event(t, EV_KEY, KEY_A, 2);
	expect_quiet(t, 30);
}

/* Kicks are wanted only while the device holds no buffer. */
static void test_kick_suppression(void **state)
{
	struct in_test *t = *state;
	uint64_t features = ~(1ULL << VIRTIO_RING_F_EVENT_IDX);

	assert_int_equal(testdrv_init(t->d, features, 0), 0);
	post_bufs(t, 4);
	/* It took the four: the fifth needs no kick. */
	post_buf(t, poisoned_buf(t, EV_LEN));
	assert_false(testdrv_ring_kick_prepare(&t->d->vqs[EVQ]));
	/* Five events use them all, and the sixth finds the ring empty. */
	emit(t, EV_REL, REL_X, 1);
	emit(t, EV_REL, REL_X, 2);
	emit(t, EV_REL, REL_X, 3);
	emit(t, EV_REL, REL_X, 4);
	emit(t, EV_REL, REL_X, 5);
	emit(t, EV_REL, REL_X, 6);
	run_loop(t, 100);
	assert_true(le16toh(t->d->vqs[EVQ].used->idx) == 5);
	/* Starved: now a new buffer must be kicked, and gets the sixth. */
	post_buf(t, poisoned_buf(t, EV_LEN));
	assert_true(testdrv_ring_kick_prepare(&t->d->vqs[EVQ]));
	assert_int_equal(testdrv_kick(t->d, EVQ), 0);
	run_loop(t, 50);
	assert_true(le16toh(t->d->vqs[EVQ].used->idx) == 6);
}

/* --- status --------------------------------------------------------------- */

static void post_status(struct in_test *t, uint16_t type, uint16_t code,
			int32_t value)
{
	uint64_t addr = testdrv_alloc_buf(t->d, EV_LEN);
	struct virtio_input_event ev = {
		htole16(type), htole16(code), htole32((uint32_t)value)
	};
	struct testdrv_sg sg = { addr, EV_LEN };
	uint32_t id, len;
	int head;

	assert_int_not_equal(addr, 0);
	memcpy(testdrv_buf(t->d, addr, EV_LEN), &ev, EV_LEN);
	head = testdrv_add(t->d, STQ, &sg, 1, 0, false);
	assert_true(head >= 0);
	assert_int_equal(testdrv_kick(t->d, STQ), 0);
	while (!testdrv_ring_has_used(&t->d->vqs[STQ]))
		assert_int_equal(testdrv_wait_used(t->d, STQ, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(t->d, STQ, &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
}

static void test_status_leds(void **state)
{
	struct in_test *t = *state;
	struct input_event ev;

	init_all(t);
	post_status(t, EV_LED, LED_CAPSL, 1);
	assert_int_equal(fakeevdev_read_written(t->fe, &ev, TIMEOUT_MS), 1);
	assert_int_equal(ev.type, EV_LED);
	assert_int_equal(ev.code, LED_CAPSL);
	assert_int_equal(ev.value, 1);
	/* An LED the host lacks, a key, a code out of range: dropped. */
	post_status(t, EV_LED, LED_SCROLLL, 1);
	post_status(t, EV_KEY, KEY_A, 1);
	post_status(t, EV_LED, 0xffff, 1);
	post_status(t, EV_SND, SND_BELL, 1);
	post_status(t, EV_LED, LED_NUML, 0);
	assert_int_equal(fakeevdev_read_written(t->fe, &ev, TIMEOUT_MS), 1);
	assert_int_equal(ev.type, EV_LED);
	assert_int_equal(ev.code, LED_NUML);
	assert_int_equal(ev.value, 0);
	assert_int_equal(fakeevdev_read_written(t->fe, &ev, 50), 0);
	assert_false(status_of(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* --- malformed chains ----------------------------------------------------- */

static void expect_needs_reset(struct in_test *t)
{
	assert_int_equal(testdrv_wait_needs_reset(t->d, TIMEOUT_MS), 0);
	assert_true(status_of(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(the_dev(t)->broken);
}

/* After a failure, a reset brings the device back. */
static void expect_revives(struct in_test *t)
{
	assert_int_equal(testdrv_reset(t->d), 0);
	init_all(t);
	post_bufs(t, 4);
	emit(t, EV_KEY, KEY_ENTER, 1);
	expect_event(t, EV_KEY, KEY_ENTER, 1);
}

static void test_short_event_buffer(void **state)
{
	struct in_test *t = *state;
	struct testdrv_sg sg = { poisoned_buf(t, 4), 4 };

	init_all(t);
	assert_true(testdrv_add(t->d, EVQ, &sg, 0, 1, false) >= 0);
	assert_int_equal(testdrv_kick(t->d, EVQ), 0);
	expect_needs_reset(t);
	assert_false(t->fe->grabbed);
	expect_revives(t);
}

static void test_short_status_buffer(void **state)
{
	struct in_test *t = *state;
	struct testdrv_sg sg = { poisoned_buf(t, 7), 7 };

	init_all(t);
	assert_true(testdrv_add(t->d, STQ, &sg, 1, 0, false) >= 0);
	assert_int_equal(testdrv_kick(t->d, STQ), 0);
	expect_needs_reset(t);
	expect_revives(t);
}

/* --- the evdev going away ------------------------------------------------- */

static void rng_works(struct in_test *t, struct testdrv *rd)
{
	struct testdrv_sg sg = { testdrv_alloc_buf(rd, 64), 64 };
	uint32_t id, len;
	int head;

	head = testdrv_add(rd, 0, &sg, 0, 1, false);
	assert_true(head >= 0);
	assert_int_equal(testdrv_kick(rd, 0), 0);
	while (!testdrv_ring_has_used(&rd->vqs[0]))
		assert_int_equal(testdrv_wait_used(rd, 0, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(rd, 0, &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(len, 64);
}

static void test_unplug(void **state)
{
	struct in_test *t = *state;
	char err[VMSG_ERR_LEN] = "";
	struct testdrv *rd;
	int rng;
	uint8_t u[128];

	rng = vmsg_bus_add_device(&t->tb->bus, "rng", 0, err, sizeof(err));
	assert_true(rng > 0);
	rd = testdrv_new(t->tb, (uint16_t)rng);
	assert_non_null(rd);
	assert_int_equal(testdrv_init(rd, TESTDRV_FEATURES_ALL, 0), 0);
	init_all(t);
	post_bufs(t, 8);
	emit(t, EV_KEY, KEY_A, 1);
	expect_event(t, EV_KEY, KEY_A, 1);
	fakeevdev_unplug(t->fe);
	expect_needs_reset(t);
	rng_works(t, rd);
	/* Gone for good: the next DRIVER_OK fails again; config is empty. */
	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0),
			 -EPROTO);
	assert_true(status_of(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_get_info(t->d), 0);
	assert_int_equal(cfg_select(t, VIRTIO_INPUT_CFG_ID_NAME, 0, u), 0);
	rng_works(t, rd);
	testdrv_free(rd);
}

/* Unplugged while no driver runs it: the next DRIVER_OK fails. */
static void test_unplug_idle(void **state)
{
	struct in_test *t = *state;

	fakeevdev_unplug(t->fe);
	run_loop(t, 50);
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0),
			 -EPROTO);
	assert_true(status_of(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(the_dev(t)->broken);
}

/* Another program holds the grab: the device fails at DRIVER_OK. */
static void test_grab_busy(void **state)
{
	struct in_test *t = *state;

	t->fe->grab_busy = true;
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0),
			 -EPROTO);
	assert_true(status_of(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(t->fe->grabs, 0);
	assert_int_equal(testdrv_wait_needs_reset(t->d, TIMEOUT_MS), 0);
	t->fe->grab_busy = false;
	expect_revives(t);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_handshake),
		T(test_spec_errors),
		T(test_config_ids),
		T(test_config_bits),
		T(test_config_abs),
		T(test_config_writes),
		T(test_events_in_order),
		T(test_buffer_shapes),
		T(test_backpressure),
		T(test_flood),
		T(test_stale_events_dropped),
		T(test_kick_suppression),
		T(test_status_leds),
		T(test_short_event_buffer),
		T(test_short_status_buffer),
		T(test_unplug),
		T(test_unplug_idle),
		T(test_grab_busy),
	};

	return cmocka_run_group_tests_name("input", tests, NULL, NULL);
}
