// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the virtqueue engine (backend/virtqueue.c).
 *
 * The engine runs against rings that the driver half of testdrv builds in a
 * bare region: no bus, no device. The region sits between two PROT_NONE
 * guard pages and its first page (below min_addr) is filled with a canary
 * checked after every test, so any access the engine makes outside the
 * region faults or shows up. What is covered: geometry checks, direct and
 * indirect chains, 16-bit index wraparound, used-buffer notification with
 * and without EVENT_IDX, kick suppression, and every malformed ring of
 * testdrv's hostile list plus a few hand-made ones.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_ring.h>

#include "../lib/testdrv.h"
#include "virtqueue.h"

#define FIRST_PAGE	4096
#define SMALL_REGION	(1UL << 20)
#define BIG_REGION	(32UL << 20)	/* room for a > 4 GiB chain total */
#define CANARY		0xa5

struct fix {
	uint8_t *map;
	size_t map_len;
	size_t page;
	struct vmsg_region region;
	struct testdrv_alloc alloc;
	struct testdrv_ring ring;
	struct vmsg_vq vq;
	struct vmsg_chain chain;
	uint64_t scratch;	/* 16 bytes for cycle() */
};

/*
 * Fixture: a region of size bytes with a guard page either side.
 */

static int fix_setup(void **state, size_t size)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->page = sysconf(_SC_PAGESIZE);
	f->map_len = size + 2 * f->page;
	f->map = mmap(NULL, f->map_len, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->map == MAP_FAILED)
		goto err_free;
	if (mprotect(f->map + f->page, size, PROT_READ | PROT_WRITE))
		goto err_unmap;
	f->region.base = f->map + f->page;
	f->region.size = size;
	f->region.min_addr = FIRST_PAGE;
	f->region.fd = -1;
	memset(f->region.base, CANARY, FIRST_PAGE);
	testdrv_alloc_init(&f->alloc, &f->region, FIRST_PAGE, 0);
	*state = f;
	return 0;

err_unmap:
	munmap(f->map, f->map_len);
err_free:
	free(f);
	return -1;
}

static int setup_small(void **state)
{
	return fix_setup(state, SMALL_REGION);
}

static int setup_big(void **state)
{
	return fix_setup(state, BIG_REGION);
}

static bool canary_intact(const struct fix *f)
{
	size_t i;

	for (i = 0; i < FIRST_PAGE; i++)
		if (f->region.base[i] != CANARY)
			return false;
	return true;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	bool ok = canary_intact(f);

	if (!ok)
		fprintf(stderr, "canary below min_addr overwritten\n");
	testdrv_ring_free(&f->ring);
	munmap(f->map, f->map_len);
	free(f);
	return ok ? 0 : -1;
}

static uint64_t buf(struct fix *f, uint32_t len, int c);

/*
 * A fresh ring of the given geometry, driver and device side. Region
 * memory allocated before this is reused: allocate buffers after it.
 */
static void vq_up(struct fix *f, uint16_t size, bool event_idx, bool indirect)
{
	testdrv_ring_free(&f->ring);
	testdrv_alloc_reset(&f->alloc);
	vmsg_vq_reset(&f->vq);
	assert_int_equal(testdrv_ring_init(&f->ring, &f->region, &f->alloc,
					   size, event_idx, indirect), 0);
	f->vq.event_idx = event_idx;
	f->vq.indirect = indirect;
	assert_int_equal(vmsg_vq_setup(&f->vq, &f->region, size,
				       VMSG_VQ_MAX_SIZE, f->ring.desc_addr,
				       f->ring.avail_addr, f->ring.used_addr),
			 0);
	f->scratch = buf(f, 16, 0);
}

/* len bytes of region memory filled with c. */
static uint64_t buf(struct fix *f, uint32_t len, int c)
{
	uint64_t addr = testdrv_alloc(&f->alloc, len, 16);

	assert_true(addr);
	memset(f->region.base + addr, c, len);
	return addr;
}

static uint8_t *at(struct fix *f, uint64_t addr)
{
	return f->region.base + addr;
}

/* Descriptor i of the direct table, written raw. */
static void raw_desc(struct vring_desc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

/* Publish head in the avail ring, bypassing the driver's free list. */
static void raw_publish(struct fix *f, uint16_t head)
{
	struct testdrv_ring *r = &f->ring;

	r->avail->ring[r->avail_idx & (r->size - 1)] = htole16(head);
	r->avail->idx = htole16(++r->avail_idx);
}

/* Add a one-buffer chain, pop it and push it back: the head. */
static uint16_t cycle(struct fix *f)
{
	struct testdrv_sg sg = { f->scratch, 16 };
	int head = testdrv_ring_add(&f->ring, &sg, 1, 0, false);

	assert_true(head >= 0);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
	assert_int_equal(f->chain.head, head);
	assert_int_equal(vmsg_vq_push(&f->vq, head, 0), 0);
	return head;
}

/* The driver takes every used buffer. */
static void drain(struct fix *f)
{
	uint32_t id, len;
	int ret;

	while ((ret = testdrv_ring_get_used(&f->ring, &id, &len)) == 1)
		;
	assert_int_equal(ret, 0);
}

/*
 * Geometry
 */

static void expect_setup_fails(struct fix *f, uint32_t size, uint32_t max,
			       uint64_t desc, uint64_t avail, uint64_t used)
{
	struct vmsg_vq before;

	memcpy(&before, &f->vq, sizeof(before));
	assert_int_equal(vmsg_vq_setup(&f->vq, &f->region, size, max, desc,
				       avail, used), -EINVAL);
	assert_memory_equal(&f->vq, &before, sizeof(before));
}

static void test_setup_checks(void **state)
{
	struct fix *f = *state;
	uint64_t end = f->region.size;
	uint64_t d, a, u;

	vq_up(f, 8, false, false);
	d = f->ring.desc_addr;
	a = f->ring.avail_addr;
	u = f->ring.used_addr;
	vmsg_vq_reset(&f->vq);
	f->vq.event_idx = true;
	f->vq.last_avail_idx = 77;

	expect_setup_fails(f, 0, 8, d, a, u);
	expect_setup_fails(f, 6, 8, d, a, u);
	expect_setup_fails(f, 16, 8, d, a, u);
	expect_setup_fails(f, 2 * VMSG_VQ_MAX_SIZE, 4 * VMSG_VQ_MAX_SIZE, d,
			   a, u);
	expect_setup_fails(f, 8, 8, d + 8, a, u);
	expect_setup_fails(f, 8, 8, d, a + 1, u);
	expect_setup_fails(f, 8, 8, d, a, u + 2);
	expect_setup_fails(f, 8, 8, end - 16, a, u);
	expect_setup_fails(f, 8, 8, d, end - 6, u);
	expect_setup_fails(f, 8, 8, d, a, end - 8);
	expect_setup_fails(f, 8, 8, 0, a, u);
	expect_setup_fails(f, 8, 8, UINT64_MAX - 15, a, u);
	expect_setup_fails(f, 8, 8, d, a, UINT64_MAX - 3);

	/* Rings at the very end of the region are fine. */
	assert_int_equal(vmsg_vq_setup(&f->vq, &f->region, 8, 8, end - 128,
				       end - 22, end - 72), 0);
	assert_int_equal(vmsg_vq_setup(&f->vq, &f->region, 8, 8, d, a, u), 0);
	assert_true(vmsg_vq_ready(&f->vq));
	assert_int_equal(f->vq.size, 8);
	assert_int_equal(f->vq.desc_addr, d);
	assert_int_equal(f->vq.driver_addr, a);
	assert_int_equal(f->vq.device_addr, u);
	assert_int_equal(f->vq.last_avail_idx, 0);
	assert_true(f->vq.event_idx);	/* set by the transport, kept */
}

static void test_not_ready(void **state)
{
	struct fix *f = *state;

	vq_up(f, 4, false, false);
	cycle(f);
	vmsg_vq_reset(&f->vq);
	assert_false(vmsg_vq_ready(&f->vq));
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 0);
	assert_int_equal(vmsg_vq_push(&f->vq, 0, 0), -EIO);
	assert_false(vmsg_vq_should_notify(&f->vq));
	vmsg_vq_set_notify(&f->vq, false);
	assert_int_equal(f->ring.used->flags, 0);
}

/*
 * Well-formed chains
 */

static void check_iov(struct fix *f, unsigned int i, uint64_t addr,
		      size_t len)
{
	assert_ptr_equal(f->chain.iov[i].iov_base, at(f, addr));
	assert_int_equal(f->chain.iov[i].iov_len, len);
}

/* Chain of 10 'a' + 20 'b' readable, 30 writable; check and complete it. */
static void run_chain(struct fix *f, bool indirect)
{
	uint64_t o1 = buf(f, 10, 'a'), o2 = buf(f, 20, 'b'), in = buf(f, 30, 0);
	struct testdrv_sg sg[] = { { o1, 10 }, { o2, 20 }, { in, 30 } };
	uint8_t got[40];
	uint32_t id, len;
	int head;

	head = testdrv_ring_add(&f->ring, sg, 2, 1, indirect);
	assert_true(head >= 0);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
	assert_int_equal(f->chain.head, head);
	assert_int_equal(f->chain.n_out, 2);
	assert_int_equal(f->chain.n_in, 1);
	assert_int_equal(f->chain.out_len, 30);
	assert_int_equal(f->chain.in_len, 30);
	check_iov(f, 0, o1, 10);
	check_iov(f, 1, o2, 20);
	check_iov(f, 2, in, 30);
	assert_ptr_equal(vmsg_chain_in(&f->chain), &f->chain.iov[2]);

	assert_int_equal(vmsg_chain_from_iov(&f->chain, 0, got, sizeof(got)),
			 30);
	assert_memory_equal(got, "aaaaaaaaaabbbbbbbbbbbbbbbbbbbb", 30);
	assert_int_equal(vmsg_chain_from_iov(&f->chain, 5, got, 10), 10);
	assert_memory_equal(got, "aaaaabbbbb", 10);
	assert_int_equal(vmsg_chain_from_iov(&f->chain, 30, got, 1), 0);
	assert_int_equal(vmsg_chain_to_iov(&f->chain, 0, "hello", 5), 5);
	assert_int_equal(vmsg_chain_to_iov(&f->chain, 28, "xyz", 3), 2);
	assert_memory_equal(at(f, in), "hello", 5);
	assert_memory_equal(at(f, in + 28), "xy", 2);
	assert_int_equal(vmsg_chain_to_iov(&f->chain, 30, "z", 1), 0);

	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 0);
	assert_int_equal(vmsg_vq_push(&f->vq, head, 7), 0);
	assert_int_equal(testdrv_ring_get_used(&f->ring, &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(len, 7);
	assert_int_equal(testdrv_ring_get_used(&f->ring, &id, &len), 0);
}

static void test_direct_chain(void **state)
{
	struct fix *f = *state;

	vq_up(f, 8, false, false);
	run_chain(f, false);
	run_chain(f, false);
	assert_int_equal(le16toh(f->ring.used->idx), 2);
}

static void test_indirect_chain(void **state)
{
	struct fix *f = *state;

	vq_up(f, 4, false, true);
	run_chain(f, true);
	run_chain(f, true);	/* reuses the head's table */
	run_chain(f, false);
}

/* Direct descriptors may precede the indirect one that ends the chain. */
static void test_direct_then_indirect(void **state)
{
	struct fix *f = *state;
	uint64_t table;
	struct vring_desc *t;

	vq_up(f, 4, false, true);
	table = testdrv_alloc(&f->alloc, 32, 16);
	t = (struct vring_desc *)at(f, table);
	raw_desc(&f->ring.desc[0], buf(f, 8, 'x'), 8, VRING_DESC_F_NEXT, 1);
	raw_desc(&f->ring.desc[1], table, 32, VRING_DESC_F_INDIRECT, 0);
	raw_desc(&t[0], buf(f, 8, 'y'), 8, VRING_DESC_F_NEXT, 1);
	raw_desc(&t[1], buf(f, 8, 0), 8, VRING_DESC_F_WRITE, 0);
	raw_publish(f, 0);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
	assert_int_equal(f->chain.n_out, 2);
	assert_int_equal(f->chain.n_in, 1);
}

/*
 * The spec sets no alignment for an indirect table: one that starts 8 bytes
 * (or an odd number of bytes) off a descriptor boundary still works.
 */
static void test_indirect_unaligned(void **state)
{
	struct fix *f = *state;
	static const unsigned int offs[] = { 8, 3 };
	struct vring_desc t[2];
	unsigned int i;
	uint64_t table;

	vq_up(f, 4, false, true);
	for (i = 0; i < 2; i++) {
		table = testdrv_alloc(&f->alloc, 48, 16) + offs[i];
		raw_desc(&t[0], buf(f, 8, 'y'), 8, VRING_DESC_F_NEXT, 1);
		raw_desc(&t[1], buf(f, 8, 0), 8, VRING_DESC_F_WRITE, 0);
		memcpy(at(f, table), t, sizeof(t));
		raw_desc(&f->ring.desc[i], table, sizeof(t),
			 VRING_DESC_F_INDIRECT, 0);
		raw_publish(f, i);
		assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
		assert_int_equal(f->chain.head, i);
		assert_int_equal(f->chain.n_out, 1);
		assert_int_equal(f->chain.n_in, 1);
		assert_memory_equal(f->chain.iov[0].iov_base, "yyyyyyyy", 8);
	}
}

static void test_limits_accepted(void **state)
{
	struct fix *f = *state;
	uint64_t end = f->region.size;
	struct testdrv_sg sg[VMSG_CHAIN_MAX_SEGS];
	unsigned int i;

	/* Buffers touching the region's edges. */
	vq_up(f, 8, false, true);
	sg[0] = (struct testdrv_sg){ FIRST_PAGE, 1 };
	sg[1] = (struct testdrv_sg){ end - 16, 16 };
	sg[2] = (struct testdrv_sg){ end - 1, 0 };
	assert_true(testdrv_ring_add(&f->ring, sg, 3, 0, false) >= 0);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
	assert_int_equal(f->chain.n_out, 3);

	/* A direct chain using every descriptor. */
	vq_up(f, 8, false, true);
	for (i = 0; i < 8; i++)
		sg[i] = (struct testdrv_sg){ buf(f, 4, 0), 4 };
	assert_true(testdrv_ring_add(&f->ring, sg, 4, 4, false) >= 0);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
	assert_int_equal(f->chain.n_in, 4);

	/* The longest chain we take, through an indirect table. */
	vq_up(f, 8, false, true);
	for (i = 0; i < VMSG_CHAIN_MAX_SEGS; i++)
		sg[i] = (struct testdrv_sg){ FIRST_PAGE, 8 };
	assert_true(testdrv_ring_add(&f->ring, sg, VMSG_CHAIN_MAX_SEGS, 0,
				     true) >= 0);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
	assert_int_equal(f->chain.n_out, VMSG_CHAIN_MAX_SEGS);
	assert_int_equal(f->chain.out_len, 8 * VMSG_CHAIN_MAX_SEGS);
}

/* Readable segments adding up to total; n of len, then the remainder. */
static int pop_total(struct fix *f, uint64_t total)
{
	uint64_t len = f->region.size - FIRST_PAGE, rem = total % len;
	struct testdrv_sg sg[VMSG_CHAIN_MAX_SEGS];
	unsigned int i, n = total / len;

	for (i = 0; i < n; i++)
		sg[i] = (struct testdrv_sg){ FIRST_PAGE, len };
	if (rem)
		sg[n++] = (struct testdrv_sg){ FIRST_PAGE, rem };
	assert_true(n <= VMSG_CHAIN_MAX_SEGS);
	assert_true(testdrv_ring_add(&f->ring, sg, n, 0, true) >= 0);
	return vmsg_vq_pop(&f->vq, &f->chain);
}

static void test_total_len_limit(void **state)
{
	struct fix *f = *state;

	vq_up(f, 4, false, true);
	assert_int_equal(pop_total(f, UINT32_MAX), 1);
	assert_int_equal(f->chain.out_len, UINT32_MAX);
	assert_int_equal(pop_total(f, UINT32_MAX + 1ULL), -EIO);
}

/*
 * Indices
 */

/* Start both sides at idx, as if the ring had been running for a while. */
static void set_indices(struct fix *f, uint16_t idx)
{
	f->ring.avail_idx = idx;
	f->ring.kicked_idx = idx;
	f->ring.last_used_idx = idx;
	f->ring.avail->idx = htole16(idx);
	f->ring.used->idx = htole16(idx);
	f->vq.last_avail_idx = idx;
	f->vq.used_idx = idx;
}

/* Fill the whole ring, take it all, complete it all, in order. */
static void full_round(struct fix *f)
{
	struct testdrv_sg sg = { buf(f, 8, 0), 8 };
	int heads[8];
	uint32_t id, len;
	unsigned int i;

	for (i = 0; i < 8; i++) {
		heads[i] = testdrv_ring_add(&f->ring, &sg, 0, 1, false);
		assert_true(heads[i] >= 0);
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
		assert_int_equal(f->chain.head, heads[i]);
	}
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(vmsg_vq_push(&f->vq, heads[i], i), 0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(testdrv_ring_get_used(&f->ring, &id, &len), 1);
		assert_int_equal(id, heads[i]);
		assert_int_equal(len, i);
	}
}

static void test_wraparound(void **state)
{
	struct fix *f = *state;
	uint16_t start = 65530;
	unsigned int round;

	vq_up(f, 8, true, false);
	set_indices(f, start);
	for (round = 0; round < 4; round++)
		full_round(f);
	assert_int_equal(f->vq.last_avail_idx, (uint16_t)(start + 32));
	assert_int_equal(f->vq.used_idx, (uint16_t)(start + 32));
	assert_int_equal(le16toh(f->ring.used->idx), (uint16_t)(start + 32));
	assert_int_equal(f->vq.inflight, 0);
}

/* A driver re-publishing heads cannot have more chains out than size. */
static void test_inflight_limit(void **state)
{
	struct fix *f = *state;
	unsigned int i;

	vq_up(f, 4, false, false);
	raw_desc(&f->ring.desc[0], buf(f, 8, 0), 8, 0, 0);
	for (i = 0; i < 4; i++) {
		raw_publish(f, 0);
		assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
	}
	raw_publish(f, 0);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), -EIO);
	assert_int_equal(f->vq.inflight, 4);
}

static void test_push_errors(void **state)
{
	struct fix *f = *state;
	struct testdrv_sg sg = { buf(f, 8, 0), 8 };
	int head;

	vq_up(f, 4, false, false);
	assert_int_equal(vmsg_vq_push(&f->vq, 0, 0), -EIO);
	head = testdrv_ring_add(&f->ring, &sg, 1, 0, false);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
	assert_int_equal(vmsg_vq_push(&f->vq, 4, 0), -EIO);
	assert_int_equal(vmsg_vq_push(&f->vq, head, 0), 0);
	assert_int_equal(vmsg_vq_push(&f->vq, head, 0), -EIO);
	assert_int_equal(le16toh(f->ring.used->idx), 1);
}

/*
 * Notifications
 */

static void test_notify_flags(void **state)
{
	struct fix *f = *state;

	vq_up(f, 4, false, false);
	cycle(f);
	assert_true(vmsg_vq_should_notify(&f->vq));
	drain(f);
	testdrv_ring_set_interrupts(&f->ring, false);
	cycle(f);
	assert_false(vmsg_vq_should_notify(&f->vq));
	drain(f);
	assert_false(testdrv_ring_set_interrupts(&f->ring, true));
	cycle(f);
	assert_true(vmsg_vq_should_notify(&f->vq));
}

static void test_notify_event_idx(void **state)
{
	struct fix *f = *state;
	unsigned int i;

	vq_up(f, 8, true, false);
	/* Nothing signalled yet: always notify. */
	cycle(f);
	assert_true(vmsg_vq_should_notify(&f->vq));
	/* The driver has not caught up (used_event 0): stay quiet. */
	cycle(f);
	assert_false(vmsg_vq_should_notify(&f->vq));
	/* It has (used_event 2): the next one crosses it. */
	drain(f);
	cycle(f);
	assert_true(vmsg_vq_should_notify(&f->vq));
	drain(f);

	/* used_event 8: quiet until used->idx passes it. */
	testdrv_ring_set_interrupts(&f->ring, false);
	testdrv_ring_set_used_event(&f->ring, 8);
	for (i = 4; i <= 8; i++) {
		cycle(f);
		drain(f);
		assert_false(vmsg_vq_should_notify(&f->vq));
	}
	cycle(f);
	assert_true(vmsg_vq_should_notify(&f->vq));
	assert_false(vmsg_vq_should_notify(&f->vq));	/* nothing new */

	/* With EVENT_IDX the NO_INTERRUPT flag means nothing. */
	drain(f);
	f->ring.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	testdrv_ring_set_used_event(&f->ring, f->vq.used_idx);
	cycle(f);
	assert_true(vmsg_vq_should_notify(&f->vq));
}

/* A used index that wrapped all the way round cannot be trusted. */
static void test_signalled_wrap(void **state)
{
	struct fix *f = *state;
	unsigned int i;

	vq_up(f, 4, true, false);
	cycle(f);
	assert_true(vmsg_vq_should_notify(&f->vq));
	drain(f);
	testdrv_ring_set_interrupts(&f->ring, false);
	for (i = 0; i < 65536; i++) {
		cycle(f);
		drain(f);
	}
	assert_int_equal(f->vq.used_idx, f->vq.signalled_used);
	assert_true(vmsg_vq_should_notify(&f->vq));
}

static void test_kick_flags(void **state)
{
	struct fix *f = *state;
	struct testdrv_sg sg = { buf(f, 8, 0), 8 };

	vq_up(f, 8, false, false);
	vmsg_vq_set_notify(&f->vq, false);
	assert_int_equal(le16toh(f->ring.used->flags), VRING_USED_F_NO_NOTIFY);
	assert_true(testdrv_ring_add(&f->ring, &sg, 1, 0, false) >= 0);
	assert_false(testdrv_ring_kick_prepare(&f->ring));
	vmsg_vq_set_notify(&f->vq, true);
	assert_int_equal(f->ring.used->flags, 0);
	assert_true(testdrv_ring_add(&f->ring, &sg, 1, 0, false) >= 0);
	assert_true(testdrv_ring_kick_prepare(&f->ring));
}

static void test_kick_event_idx(void **state)
{
	struct fix *f = *state;
	struct testdrv_sg sg = { buf(f, 8, 0), 8 };
	__virtio16 *avail_event;

	vq_up(f, 8, true, false);
	avail_event = (__virtio16 *)&f->ring.used->ring[8];
	/* Enabling asks for a kick at the next entry we will consume. */
	set_indices(f, 5);
	vmsg_vq_set_notify(&f->vq, true);
	assert_int_equal(le16toh(*avail_event), 5);
	set_indices(f, 0);
	*avail_event = 0;
	assert_true(testdrv_ring_add(&f->ring, &sg, 1, 0, false) >= 0);
	assert_true(testdrv_ring_kick_prepare(&f->ring));
	/* Each pop moves avail_event just behind what it consumed. */
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
	assert_int_equal(le16toh(*avail_event), 1);
	assert_true(testdrv_ring_add(&f->ring, &sg, 1, 0, false) >= 0);
	assert_true(testdrv_ring_kick_prepare(&f->ring));
	/* The device has not consumed entry 1 yet: no second kick. */
	assert_true(testdrv_ring_add(&f->ring, &sg, 1, 0, false) >= 0);
	assert_false(testdrv_ring_kick_prepare(&f->ring));

	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
	vmsg_vq_set_notify(&f->vq, false);
	assert_int_equal(le16toh(*avail_event), 2);
	vmsg_vq_set_notify(&f->vq, true);
	assert_int_equal(le16toh(*avail_event), 2);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 1);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), 0);
	vmsg_vq_set_notify(&f->vq, true);
	assert_int_equal(le16toh(*avail_event), 3);
	assert_true(testdrv_ring_add(&f->ring, &sg, 1, 0, false) >= 0);
	assert_true(testdrv_ring_kick_prepare(&f->ring));
}

/*
 * Hostile drivers
 */

/*
 * Move the descriptor table against the guard page after the region, so
 * that reading one descriptor past its end faults.
 */
static void desc_to_end(struct fix *f)
{
	uint64_t len = sizeof(struct vring_desc) * f->ring.size;
	uint64_t addr = f->region.size - len;

	memset(at(f, addr), 0, len);
	f->ring.desc_addr = addr;
	f->ring.desc = (struct vring_desc *)at(f, addr);
	assert_int_equal(vmsg_vq_setup(&f->vq, &f->region, f->ring.size,
				       VMSG_VQ_MAX_SIZE, addr,
				       f->ring.avail_addr, f->ring.used_addr),
			 0);
}

/*
 * Build kind on a fresh ring after one good chain, and check pop fails
 * without changing the device state or the used ring. 0 if checked,
 * -EINVAL if testdrv cannot build kind on this ring.
 */
static int expect_hostile(struct fix *f, enum testdrv_hostile kind,
			  uint16_t size, bool indirect, bool at_end)
{
	const char *name = testdrv_hostile_name(kind);
	size_t used_len = 6 + 8 * size;
	uint8_t used[6 + 8 * VMSG_VQ_MAX_SIZE];
	struct vmsg_vq before;
	int ret;

	vq_up(f, size, true, indirect);
	if (at_end)
		desc_to_end(f);
	cycle(f);
	ret = testdrv_ring_hostile(&f->ring, kind);
	if (ret == -EINVAL)
		return ret;
	if (ret)
		fail_msg("%s: building it failed: %d", name, ret);
	memcpy(&before, &f->vq, sizeof(before));
	memcpy(used, f->ring.used, used_len);
	ret = vmsg_vq_pop(&f->vq, &f->chain);
	if (ret != -EIO)
		fail_msg("%s (size %u, indirect %d): pop gave %d", name, size,
			 indirect, ret);
	assert_memory_equal(&f->vq, &before, sizeof(before));
	assert_memory_equal(f->ring.used, used, used_len);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), -EIO);
	return 0;
}

static bool builds_everywhere(enum testdrv_hostile kind)
{
	return kind != TESTDRV_BAD_INDIRECT_UNNEGOTIATED &&
	       kind != TESTDRV_BAD_TOTAL_OVERFLOW &&
	       kind != TESTDRV_BAD_HUGE_CHAIN;
}

static void test_hostile_all(void **state)
{
	struct fix *f = *state;
	unsigned int k, v;

	/* v: bit 0 indirect negotiated, bit 1 descriptor table at the end */
	for (k = 0; k < TESTDRV_BAD_NR; k++)
		for (v = 0; v < 4; v++)
			if (expect_hostile(f, k, 8, v & 1, v & 2) &&
			    builds_everywhere(k))
				fail_msg("%s not built",
					 testdrv_hostile_name(k));
	/* Those that need room or the feature off. */
	assert_int_equal(expect_hostile(f, TESTDRV_BAD_INDIRECT_UNNEGOTIATED,
					8, false, false), 0);
	assert_int_equal(expect_hostile(f, TESTDRV_BAD_HUGE_CHAIN, 8, true,
					false), 0);
	assert_int_equal(expect_hostile(f, TESTDRV_BAD_HUGE_CHAIN, 512, false,
					true), 0);
	assert_int_equal(expect_hostile(f, TESTDRV_BAD_TOTAL_OVERFLOW, 8, true,
					false), -EINVAL);
}

static void test_hostile_big(void **state)
{
	struct fix *f = *state;

	assert_int_equal(expect_hostile(f, TESTDRV_BAD_TOTAL_OVERFLOW, 8, true,
					false), 0);
	assert_int_equal(expect_hostile(f, TESTDRV_BAD_TOTAL_OVERFLOW, 256,
					false, false), 0);
}

/* Cases testdrv does not build: readable after writable across tables. */
static void test_hostile_manual(void **state)
{
	struct fix *f = *state;
	uint64_t table, b;
	struct vring_desc *t;

	/* All tables and buffers sit past the rings of any 4-entry queue. */
	vq_up(f, 4, false, true);
	table = testdrv_alloc(&f->alloc, 32, 16);
	t = (struct vring_desc *)at(f, table);
	b = buf(f, 16, 0);
	raw_desc(&t[0], b, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	raw_desc(&t[1], b, 8, 0, 0);
	raw_desc(&f->ring.desc[0], table, 32, VRING_DESC_F_INDIRECT, 0);
	raw_publish(f, 0);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), -EIO);

	vq_up(f, 4, false, true);
	raw_desc(&t[0], b, 8, 0, 0);
	raw_desc(&f->ring.desc[0], b, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		 1);
	raw_desc(&f->ring.desc[1], table, 16, VRING_DESC_F_INDIRECT, 0);
	raw_publish(f, 0);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), -EIO);

	/* An indirect table as long as a u32 allows. */
	vq_up(f, 4, false, true);
	raw_desc(&f->ring.desc[0], table, 0xfffffff0, VRING_DESC_F_INDIRECT,
		 0);
	raw_publish(f, 0);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), -EIO);

	/* A zero-length buffer still has to be inside. */
	vq_up(f, 4, false, true);
	raw_desc(&f->ring.desc[0], f->region.size, 0, 0, 0);
	raw_publish(f, 0);
	assert_int_equal(vmsg_vq_pop(&f->vq, &f->chain), -EIO);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_small, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_setup_checks),
		T(test_not_ready),
		T(test_direct_chain),
		T(test_indirect_chain),
		T(test_direct_then_indirect),
		T(test_indirect_unaligned),
		T(test_limits_accepted),
		cmocka_unit_test_setup_teardown(test_total_len_limit,
						setup_big, teardown),
		T(test_wraparound),
		T(test_inflight_limit),
		T(test_push_errors),
		T(test_notify_flags),
		T(test_notify_event_idx),
		T(test_signalled_wrap),
		T(test_kick_flags),
		T(test_kick_event_idx),
		T(test_hostile_all),
		cmocka_unit_test_setup_teardown(test_hostile_big, setup_big,
						teardown),
		T(test_hostile_manual),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
