// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng model (backend/dev-rng.c) driven through the unit-test bus by
 * the test driver: handshake, random bytes arriving, batches of chains, the
 * per-chain bound, chains with nothing to write, notification re-enabling,
 * and a hostile ring failing the device until it is reset. What every device
 * type must do (resets, config edges...) is in test_conformance.c instead.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include "bus.h"
#include "loop.h"
#include "../lib/testbus.h"
#include "../lib/testdrv.h"

#define REGION_SIZE	(1024 * 1024)
#define RNG_CHAIN_MAX	(64 * 1024)	/* the model's per-chain bound */
#define TIMEOUT_MS	2000

struct rng_test {
	struct vmsg_testbus *tb;
	struct testdrv *d;
	int dev_num;
};

static int setup(void **state)
{
	struct rng_test *t = calloc(1, sizeof(*t));
	char err[VMSG_ERR_LEN] = "";

	if (!t)
		return -1;
	t->tb = vmsg_testbus_new(REGION_SIZE, VIRTIO_MSG_DEFAULT_SIZE);
	if (!t->tb)
		goto err_free;
	t->dev_num = vmsg_bus_add_device(&t->tb->bus, "rng", 0, err,
					 sizeof(err));
	if (t->dev_num <= 0) {
		fprintf(stderr, "rng: %s\n", err);
		goto err_bus;
	}
	t->d = testdrv_new(t->tb, (uint16_t)t->dev_num);
	if (!t->d)
		goto err_bus;
	*state = t;
	return 0;

err_bus:
	vmsg_testbus_free(t->tb);
err_free:
	free(t);
	return -1;
}

static int teardown(void **state)
{
	struct rng_test *t = *state;

	testdrv_free(t->d);
	vmsg_testbus_free(t->tb);
	free(t);
	return 0;
}

static void init_all(struct rng_test *t)
{
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
}

/* A zeroed writable buffer of len bytes, filled with byte. */
static uint64_t buf_new(struct rng_test *t, uint32_t len, uint8_t byte)
{
	uint64_t addr = testdrv_alloc_buf(t->d, len ? len : 1);

	assert_int_not_equal(addr, 0);
	memset(testdrv_buf(t->d, addr, len ? len : 1), byte, len ? len : 1);
	return addr;
}

static int add_in(struct rng_test *t, const struct testdrv_sg *sg,
		  unsigned int n)
{
	int head = testdrv_add(t->d, 0, sg, 0, n, false);

	assert_true(head >= 0);
	return head;
}

/* Wait for the next used buffer; check it is head and return its len. */
static uint32_t wait_one(struct rng_test *t, int head)
{
	uint32_t id, len;

	/* An EVENT_USED may be left over from a buffer taken earlier. */
	while (!testdrv_ring_has_used(&t->d->vqs[0]))
		assert_int_equal(testdrv_wait_used(t->d, 0, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(t->d, 0, &id, &len), 1);
	assert_int_equal(id, (uint32_t)head);
	return len;
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t byte)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != byte)
			return false;
	return true;
}

static void test_handshake(void **state)
{
	struct rng_test *t = *state;
	uint32_t status;

	init_all(t);
	assert_int_equal(t->d->device_id, VIRTIO_ID_RNG);
	assert_int_equal(t->d->config_size, 0);
	assert_int_equal(t->d->max_vqs, 1);
	assert_int_equal(testdrv_get_status(t->d, &status), 0);
	assert_true(status & VIRTIO_CONFIG_S_DRIVER_OK);
	assert_false(status & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* The model offers no bits of its own: only the transport's. */
	assert_int_equal(t->d->device_features & ((1ULL << 24) - 1), 0);
}

static void test_options_rejected(void **state)
{
	struct rng_test *t = *state;
	char err[VMSG_ERR_LEN] = "";

	assert_true(vmsg_bus_add_device(&t->tb->bus, "rng,bogus=1", 0, err,
					sizeof(err)) < 0);
	assert_non_null(strstr(err, "bogus"));
}

static void test_random_bytes(void **state)
{
	struct rng_test *t = *state;
	struct testdrv_sg a = { buf_new(t, 256, 0), 256 };
	struct testdrv_sg b = { buf_new(t, 256, 0), 256 };
	uint8_t *pa = testdrv_buf(t->d, a.addr, 256);
	uint8_t *pb = testdrv_buf(t->d, b.addr, 256);
	int head;

	init_all(t);
	head = add_in(t, &a, 1);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(wait_one(t, head), 256);
	head = add_in(t, &b, 1);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(wait_one(t, head), 256);
	/* 2^-2048 chance of a false failure each. */
	assert_false(all_bytes(pa, 256, 0));
	assert_memory_not_equal(pa, pb, 256);
}

/* Several chains of several buffers served by one kick. */
static void test_multiple_chains(void **state)
{
	struct rng_test *t = *state;
	static const uint32_t sizes[] = { 1, 7, 512, 4096, 3, 100 };
	struct testdrv_sg sg[3];
	int heads[6];
	unsigned int i, j;

	init_all(t);
	for (i = 0; i < 6; i++) {
		for (j = 0; j < 3; j++) {
			sg[j].len = sizes[(i + j) % 6];
			sg[j].addr = buf_new(t, sg[j].len, 0);
		}
		heads[i] = add_in(t, sg, 1 + i % 3);
	}
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	for (i = 0; i < 6; i++) {
		uint32_t want = 0;

		for (j = 0; j < 1 + i % 3; j++)
			want += sizes[(i + j) % 6];
		assert_int_equal(wait_one(t, heads[i]), want);
	}
}

/* A huge buffer gets 64 KiB; the rest is left alone. */
static void test_chain_bound(void **state)
{
	struct rng_test *t = *state;
	struct testdrv_sg sg[2];
	uint8_t *p;
	int head;

	init_all(t);
	sg[0].len = RNG_CHAIN_MAX - 16;
	sg[0].addr = buf_new(t, sg[0].len, 0xaa);
	sg[1].len = 4096;
	sg[1].addr = buf_new(t, sg[1].len, 0xaa);
	head = add_in(t, sg, 2);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(wait_one(t, head), RNG_CHAIN_MAX);
	p = testdrv_buf(t->d, sg[1].addr, sg[1].len);
	assert_false(all_bytes(p, 16, 0xaa));
	assert_true(all_bytes(p + 16, sg[1].len - 16, 0xaa));
}

/* Nothing writable: returned with len 0, the device keeps going. */
static void test_zero_length(void **state)
{
	struct rng_test *t = *state;
	struct testdrv_sg ro = { buf_new(t, 16, 0x55), 16 };
	struct testdrv_sg empty = { buf_new(t, 16, 0x55), 0 };
	struct testdrv_sg ok = { buf_new(t, 32, 0), 32 };
	int h1, h2, h3;

	init_all(t);
	h1 = testdrv_add(t->d, 0, &ro, 1, 0, false);
	assert_true(h1 >= 0);
	h2 = add_in(t, &empty, 1);
	h3 = add_in(t, &ok, 1);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(wait_one(t, h1), 0);
	assert_int_equal(wait_one(t, h2), 0);
	assert_int_equal(wait_one(t, h3), 32);
	assert_true(all_bytes(testdrv_buf(t->d, ro.addr, 16), 16, 0x55));
	assert_true(all_bytes(testdrv_buf(t->d, empty.addr, 16), 16, 0x55));
}

/*
 * Rounds of n chains on a queue of 8. Below a full ring the device must
 * have re-enabled notifications after serving (it wants a kick for the
 * next round); a full ring uses up the model's per-kick budget and the rest
 * is deferred to the loop, so there it must serve the next round kick or
 * no kick.
 */
static void run_rounds(struct rng_test *t, unsigned int n)
{
	struct testdrv_sg sg;
	int heads[8], kick;
	unsigned int round, i;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < n; i++) {
			sg.len = 64;
			sg.addr = buf_new(t, 64, 0);
			heads[i] = add_in(t, &sg, 1);
		}
		kick = testdrv_kick_if_needed(t->d, 0);
		if (n < 8)
			assert_int_equal(kick, 1);
		else
			assert_true(kick >= 0);
		for (i = 0; i < n; i++)
			assert_int_equal(wait_one(t, heads[i]), 64);
	}
	/* Let the deferred pass run: it turns notifications back on. */
	while (vmsg_loop_run_once(t->tb->loop, 0) > 0)
		;
}

static void test_notify_reenabled(void **state)
{
	struct rng_test *t = *state;
	uint64_t no_event_idx = ~(1ULL << VIRTIO_RING_F_EVENT_IDX);

	assert_int_equal(testdrv_get_info(t->d), 0);
	assert_int_equal(testdrv_get_features(t->d), 0);
	assert_int_equal(testdrv_set_features(t->d, t->d->device_features &
						     no_event_idx), 0);
	assert_int_equal(testdrv_features_ok(t->d), 0);
	assert_int_equal(testdrv_setup_vq(t->d, 0, 8), 0);
	assert_int_equal(testdrv_driver_ok(t->d), 0);
	run_rounds(t, 5);
	run_rounds(t, 8);
	run_rounds(t, 1);

	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_get_features(t->d), 0);
	assert_true(t->d->device_features & (1ULL << VIRTIO_RING_F_EVENT_IDX));
	assert_int_equal(testdrv_set_features(t->d, t->d->device_features), 0);
	assert_int_equal(testdrv_features_ok(t->d), 0);
	assert_int_equal(testdrv_setup_vq(t->d, 0, 8), 0);
	assert_int_equal(testdrv_driver_ok(t->d), 0);
	assert_true(t->d->vqs[0].event_idx);
	run_rounds(t, 5);
	run_rounds(t, 8);
	run_rounds(t, 1);
}

/* Any broken ring: NEEDS_RESET and EVENT_CONFIG, then a reset revives it. */
static void test_hostile_ring(void **state)
{
	struct rng_test *t = *state;
	struct testdrv_sg sg;
	uint32_t status;
	int head;

	init_all(t);
	assert_int_equal(testdrv_hostile(t->d, 0, TESTDRV_BAD_HEAD), 0);
	assert_int_equal(testdrv_wait_needs_reset(t->d, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_status(t->d, &status), 0);
	assert_true(status & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* Kicks are ignored while broken. */
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_false(testdrv_ring_has_used(&t->d->vqs[0]));

	assert_int_equal(testdrv_reset(t->d), 0);
	init_all(t);
	sg.len = 128;
	sg.addr = buf_new(t, 128, 0);
	head = add_in(t, &sg, 1);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(wait_one(t, head), 128);
	assert_int_equal(testdrv_get_status(t->d, &status), 0);
	assert_false(status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_handshake),
		T(test_options_rejected),
		T(test_random_bytes),
		T(test_multiple_chains),
		T(test_chain_bound),
		T(test_zero_length),
		T(test_notify_reenabled),
		T(test_hostile_ring),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
