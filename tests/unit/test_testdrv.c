// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the test driver library itself (tests/lib/testdrv.c).
 *
 * The other suites trust testdrv to play a correct driver and a precisely
 * malformed one, so it gets its own checks here: the bump allocator, the
 * init handshake step by step, config access split over several
 * messages, waits that time out, kick suppression, and a
 * device that returns nonsense. The device is a tiny fake model defined
 * below, behind the real transport core and the test bus; what it does with
 * a chain is chosen per test.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_msg.h>
#include <linux/virtio_ring.h>

#include "bus.h"
#include "device.h"
#include "log.h"
#include "../lib/testbus.h"
#include "../lib/testdrv.h"

#define REGION_SIZE	(1 << 20)
#define FAKE_ID		0x7ffd
#define FAKE_QUEUES	2
#define FAKE_QMAX	16
#define FAKE_CONFIG	100	/* 3 chunks of a 64-byte message */
#define FAKE_FEATURE	(1ULL << 5)
#define WAIT_MS		1000

#define F_INDIRECT	(1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX	(1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_AP		(1ULL << VIRTIO_F_ACCESS_PLATFORM)

/* What the fake model does with each chain it pops. */
enum fake_mode {
	FAKE_ECHO,	/* copy the readable bytes into the writable ones */
	FAKE_HOLD,	/* keep it and ask for no more kicks */
	FAKE_BOGUS,	/* return the wrong head */
};

static struct {
	enum fake_mode mode;
	unsigned int held;
	struct vmsg_chain chain;
	uint8_t config[FAKE_CONFIG];
} fk;

static struct vmsg_testbus *tb;
static struct testdrv *d;

/*
 * The fake device model.
 */

static int fake_create(struct vmsg_dev *dev, struct vmsg_spec *spec,
		       char *err, size_t errlen)
{
	unsigned int i;

	dev->num_queues = FAKE_QUEUES;
	dev->queue_max_size = FAKE_QMAX;
	dev->device_features = FAKE_FEATURE;
	for (i = 0; i < FAKE_CONFIG; i++)
		fk.config[i] = (uint8_t)(i * 7);
	dev->config = fk.config;
	dev->config_size = FAKE_CONFIG;
	return 0;
}

static void fake_destroy(struct vmsg_dev *dev)
{
}

static void fake_reset(struct vmsg_dev *dev)
{
	fk.held = 0;
}

static void fake_echo(struct vmsg_dev *dev, unsigned int vq)
{
	uint8_t tmp[256];
	size_t n;

	n = vmsg_chain_from_iov(&fk.chain, 0, tmp, sizeof(tmp));
	n = vmsg_chain_to_iov(&fk.chain, 0, tmp, n);
	vmsg_dev_used(dev, vq, fk.chain.head, n);
}

static void fake_serve(struct vmsg_dev *dev, unsigned int vq)
{
	struct vmsg_vq *q = &dev->vqs[vq];

	switch (fk.mode) {
	case FAKE_ECHO:
		fake_echo(dev, vq);
		break;
	case FAKE_HOLD:
		fk.held++;
		vmsg_vq_set_notify(q, false);
		break;
	case FAKE_BOGUS:
		vmsg_dev_used(dev, vq, (fk.chain.head + 1) % q->size, 0);
		break;
	}
}

static void fake_notify(struct vmsg_dev *dev, unsigned int vq)
{
	int ret;

	while ((ret = vmsg_vq_pop(&dev->vqs[vq], &fk.chain)) == 1)
		fake_serve(dev, vq);
	if (ret < 0)
		vmsg_dev_fail(dev, "queue %u: broken ring", vq);
}

static int fake_config_write(struct vmsg_dev *dev, uint32_t off,
			     const uint8_t *data, uint32_t len)
{
	memcpy(dev->config + off, data, len);
	return 0;
}

static const struct vmsg_dev_ops fake_ops = {
	.type = "tdfake",
	.device_id = FAKE_ID,
	.create = fake_create,
	.destroy = fake_destroy,
	.reset = fake_reset,
	.notify = fake_notify,
	.config_write = fake_config_write,
};

/*
 * Fixture: a test bus with our default message size and one fake device.
 */

static int setup(void **state)
{
	char err[VMSG_ERR_LEN];
	struct vmsg_spec spec;
	int dev_num;

	memset(&fk, 0, sizeof(fk));
	vmsg_log_set_level(VMSG_LOG_ERR);
	tb = vmsg_testbus_new(REGION_SIZE, VIRTIO_MSG_DEFAULT_SIZE);
	if (!tb)
		return -1;
	if (vmsg_spec_parse(&spec, "tdfake", err, sizeof(err)))
		return -1;
	dev_num = vmsg_bus_add_device_ops(&tb->bus, &fake_ops, &spec, 0, err,
					  sizeof(err));
	if (dev_num <= 0)
		return -1;
	d = testdrv_new(tb, dev_num);
	return d ? 0 : -1;
}

static int teardown(void **state)
{
	testdrv_free(d);
	vmsg_testbus_free(tb);
	return 0;
}

static struct vmsg_dev *fake_dev(void)
{
	return vmsg_bus_dev(&tb->bus, d->dev_num);
}

/*
 * Ring memory without a bus
 */

static void test_alloc(void **state)
{
	static uint8_t mem[3 * 4096] __attribute__((aligned(4096)));
	struct vmsg_region r = { mem, sizeof(mem), 4096, -1 };
	struct testdrv_alloc a;
	uint64_t x, y;

	memset(mem, 0xff, sizeof(mem));
	testdrv_alloc_init(&a, &r, 4096, 0);
	x = testdrv_alloc(&a, 3, 1);
	y = testdrv_alloc(&a, 8, 64);
	assert_int_equal(x, 4096);
	assert_int_equal(y, 4096 + 64);
	assert_int_equal(mem[x], 0);	/* zeroed */
	assert_int_equal(mem[y + 7], 0);
	assert_int_equal(mem[y + 8], 0xff);
	assert_int_equal(testdrv_alloc(&a, 8, 3), 0);	/* not a power of 2 */
	assert_int_equal(testdrv_alloc(&a, 2 * 4096, 16), 0);	/* too big */
	assert_int_equal(testdrv_alloc(&a, 2 * 4096 - 80, 16), 4096 + 80);
	assert_int_equal(testdrv_alloc(&a, 1, 1), 0);	/* full */
	testdrv_alloc_reset(&a);
	assert_int_equal(testdrv_alloc(&a, 1, 1), 4096);
	assert_null(testdrv_ptr(&r, sizeof(mem), 0));
	assert_null(testdrv_ptr(&r, sizeof(mem) - 4, 8));
	assert_ptr_equal(testdrv_ptr(&r, 8, 8), mem + 8);
}

static void test_ring_init_rejects(void **state)
{
	static uint8_t mem[2 * 4096] __attribute__((aligned(4096)));
	struct vmsg_region r = { mem, sizeof(mem), 4096, -1 };
	struct testdrv_alloc a;
	struct testdrv_ring ring;

	testdrv_alloc_init(&a, &r, 4096, 0);
	assert_int_equal(testdrv_ring_init(&ring, &r, &a, 0, false, false),
			 -EINVAL);
	assert_int_equal(testdrv_ring_init(&ring, &r, &a, 12, false, false),
			 -EINVAL);
	assert_int_equal(testdrv_ring_init(&ring, &r, &a, 512, false, false),
			 -ENOMEM);
	assert_int_equal(a.next, 4096);
	assert_int_equal(testdrv_ring_init(&ring, &r, &a, 64, false, false), 0);
	assert_int_equal(testdrv_ring_add(&ring, NULL, 0, 0, false), -EINVAL);
	testdrv_ring_free(&ring);
}

/*
 * The handshake
 */

static void test_init_all(void **state)
{
	uint32_t status;

	assert_int_equal(testdrv_init(d, TESTDRV_FEATURES_ALL, 0), 0);
	assert_int_equal(d->device_id, FAKE_ID);
	assert_int_equal(d->config_size, FAKE_CONFIG);
	assert_int_equal(d->max_vqs, FAKE_QUEUES);
	assert_int_equal(d->num_vqs, FAKE_QUEUES);
	assert_int_equal(d->driver_features, d->device_features);
	assert_true(d->driver_features & FAKE_FEATURE);
	assert_true(d->vqs[1].event_idx);
	assert_true(d->vqs[1].indirect);
	assert_int_equal(d->vqs[1].size, FAKE_QMAX);
	assert_int_equal(testdrv_get_status(d, &status), 0);
	assert_int_equal(status, d->status);
	assert_true(status & VIRTIO_CONFIG_S_DRIVER_OK);
}

static void test_init_masked(void **state)
{
	assert_int_equal(testdrv_init(d, ~(F_INDIRECT | F_EVENT_IDX), 1), 0);
	assert_int_equal(d->num_vqs, 1);
	assert_false(d->driver_features & (F_INDIRECT | F_EVENT_IDX));
	assert_false(d->vqs[0].event_idx);
	assert_false(d->vqs[0].indirect);
	assert_int_equal(testdrv_add(d, 1, NULL, 0, 0, false), -EINVAL);

	/* The device refuses to run without ACCESS_PLATFORM. */
	assert_int_equal(testdrv_reset(d), 0);
	assert_int_equal(testdrv_init(d, ~F_AP, 0), -EPROTO);
	assert_int_equal(testdrv_reset(d), 0);
	assert_int_equal(testdrv_init(d, TESTDRV_FEATURES_ALL, 3), -EINVAL);
}

static void test_steps(void **state)
{
	struct vmsg_dev *dev;

	assert_int_equal(testdrv_get_info(d), 0);
	assert_int_equal(testdrv_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
						VIRTIO_CONFIG_S_DRIVER), 0);
	assert_int_equal(testdrv_get_features(d), 0);
	assert_int_equal(testdrv_set_features(d, d->device_features), 0);
	assert_int_equal(testdrv_features_ok(d), 0);
	assert_int_equal(testdrv_setup_vq(d, FAKE_QUEUES, 0), -ENOENT);
	assert_int_equal(testdrv_setup_vq(d, 0, 2 * FAKE_QMAX), -EINVAL);
	assert_int_equal(testdrv_setup_vq(d, 1, 4), 0);
	assert_int_equal(d->num_vqs, 2);
	dev = fake_dev();
	if (!dev)
		fail_msg("no device");
	if (!dev)
		return;
	assert_int_equal(dev->vqs[1].size, 4);
	assert_false(vmsg_vq_ready(&dev->vqs[0]));
	assert_int_equal(testdrv_driver_ok(d), 0);
}

/*
 * Config space
 */

static void test_config_chunks(void **state)
{
	uint8_t buf[FAKE_CONFIG], data[60];
	unsigned int i;

	assert_int_equal(testdrv_init(d, TESTDRV_FEATURES_ALL, 0), 0);
	assert_int_equal(testdrv_config_read(d, 0, buf, FAKE_CONFIG), 0);
	assert_memory_equal(buf, fk.config, FAKE_CONFIG);
	assert_int_equal(testdrv_config_read(d, 90, buf, 10), 0);
	assert_memory_equal(buf, fk.config + 90, 10);

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xc0 ^ i);
	assert_int_equal(testdrv_config_write(d, 30, data, sizeof(data)), 0);
	assert_memory_equal(fk.config + 30, data, sizeof(data));

	/* Ranges past the end are refused by the device, not by us. */
	assert_int_equal(testdrv_config_read(d, 90, buf, 20), -EINVAL);
	assert_int_equal(testdrv_config_write(d, 90, data, 20), -EINVAL);
}

static void test_config_generation(void **state)
{
	uint8_t byte = 0x42, buf[4];

	assert_int_equal(testdrv_init(d, TESTDRV_FEATURES_ALL, 0), 0);
	assert_int_equal(testdrv_config_read(d, 0, buf, sizeof(buf)), 0);
	vmsg_dev_config_begin(fake_dev());
	vmsg_dev_config_end(fake_dev());
	assert_int_equal(testdrv_config_write(d, 0, &byte, 1), -EINVAL);
	assert_int_not_equal(fk.config[0], 0x42);
	assert_int_equal(testdrv_poll_event(d, 0), 1);
	assert_int_equal(d->config_events, 1);

	assert_int_equal(testdrv_config_read(d, 0, buf, sizeof(buf)), 0);
	assert_int_equal(testdrv_config_write(d, 0, &byte, 1), 0);
	assert_int_equal(fk.config[0], 0x42);
}

/*
 * Queues
 */

static void echo_once(bool indirect)
{
	uint64_t out = testdrv_alloc_buf(d, 16), in = testdrv_alloc_buf(d, 32);
	struct testdrv_sg sg[] = { { out, 16 }, { in, 32 } };
	uint32_t id, len;
	int head;

	memcpy(testdrv_buf(d, out, 16), "sixteen bytes...", 16);
	head = testdrv_add(d, 0, sg, 1, 1, indirect);
	assert_true(head >= 0);
	assert_int_equal(testdrv_kick(d, 0), 0);
	assert_int_equal(testdrv_wait_used(d, 0, WAIT_MS), 0);
	assert_int_equal(testdrv_get_used(d, 0, &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(len, 16);
	assert_memory_equal(testdrv_buf(d, in, 16), "sixteen bytes...", 16);
	assert_int_equal(testdrv_get_used(d, 0, &id, &len), 0);
}

static void test_echo(void **state)
{
	assert_int_equal(testdrv_init(d, TESTDRV_FEATURES_ALL, 0), 0);
	echo_once(false);
	echo_once(true);
	assert_int_equal(testdrv_poll_event(d, 0), 1);
	assert_int_equal(testdrv_poll_event(d, 0), 1);
	assert_int_equal(testdrv_poll_event(d, 0), 0);
	assert_int_equal(d->used_events[0], 2);
	assert_int_equal(d->other_events, 0);
}

static void test_wait_timeout(void **state)
{
	struct testdrv_sg sg = { 0, 8 };
	struct timespec t0, t1;
	long ms;

	fk.mode = FAKE_HOLD;
	assert_int_equal(testdrv_init(d, TESTDRV_FEATURES_ALL, 0), 0);
	sg.addr = testdrv_alloc_buf(d, 8);
	assert_true(testdrv_add(d, 0, &sg, 0, 1, false) >= 0);
	assert_int_equal(testdrv_kick(d, 0), 0);
	assert_int_equal(fk.held, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(testdrv_wait_used(d, 0, 50), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 49 && ms < 1000);
	assert_int_equal(testdrv_wait_used(d, 5, 50), -EINVAL);
}

static void test_kick_suppressed(void **state)
{
	struct testdrv_sg sg = { 0, 8 };

	fk.mode = FAKE_HOLD;
	assert_int_equal(testdrv_init(d, ~F_EVENT_IDX, 0), 0);
	sg.addr = testdrv_alloc_buf(d, 8);
	assert_true(testdrv_add(d, 0, &sg, 0, 1, false) >= 0);
	assert_int_equal(testdrv_kick_if_needed(d, 0), 1);
	assert_int_equal(fk.held, 1);
	assert_true(testdrv_add(d, 0, &sg, 0, 1, false) >= 0);
	assert_int_equal(testdrv_kick_if_needed(d, 0), 0);
	assert_int_equal(fk.held, 1);
}

static void test_bogus_used(void **state)
{
	struct testdrv_sg sg = { 0, 8 };
	uint32_t id, len;

	fk.mode = FAKE_BOGUS;
	assert_int_equal(testdrv_init(d, TESTDRV_FEATURES_ALL, 0), 0);
	sg.addr = testdrv_alloc_buf(d, 8);
	assert_true(testdrv_add(d, 0, &sg, 0, 1, false) >= 0);
	assert_int_equal(testdrv_kick(d, 0), 0);
	assert_int_equal(testdrv_wait_used(d, 0, WAIT_MS), 0);
	assert_int_equal(testdrv_get_used(d, 0, &id, &len), -EIO);
}

static void test_hostile_then_reset(void **state)
{
	assert_int_equal(testdrv_init(d, TESTDRV_FEATURES_ALL, 0), 0);
	assert_int_equal(testdrv_hostile(d, 0, TESTDRV_BAD_LOOP), 0);
	assert_int_equal(testdrv_wait_needs_reset(d, WAIT_MS), 0);
	assert_true(d->event_status & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(testdrv_wait_used(d, 0, WAIT_MS), -EIO);
	assert_int_equal(testdrv_hostile(d, 0, TESTDRV_BAD_NR), -EINVAL);
	assert_string_equal(testdrv_hostile_name(TESTDRV_BAD_NR), "unknown");

	assert_int_equal(testdrv_reset(d), 0);
	assert_int_equal(d->event_status, 0);
	assert_int_equal(d->num_vqs, 0);
	assert_int_equal(testdrv_wait_needs_reset(d, 20), -ETIMEDOUT);
	assert_int_equal(testdrv_init(d, TESTDRV_FEATURES_ALL, 0), 0);
	echo_once(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc),
		cmocka_unit_test(test_ring_init_rejects),
		cmocka_unit_test_setup_teardown(test_init_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_masked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_chunks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_config_generation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_kick_suppressed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bogus_used, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hostile_then_reset, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
