// SPDX-License-Identifier: GPL-2.0
/*
 * The backend's end of the vmsg Xen ring (bus-xen/ring.c) and the strict
 * xenstore value parsers the Xen bus relies on (xenstore/xsutil.c).
 *
 * The test plays the frontend on an ordinary page: it produces to_dev and
 * consumes to_drv the way docs/xen-bus.md says, and also misbehaves
 * (indices out of range or moved backwards, our own indices overwritten,
 * bad msg_size, a guest that never consumes). Wrap-around of the 32-bit
 * free-running indices is covered by starting just below 2^32. Grants,
 * event channels and xenstore itself need Xen: the QEMU system tests cover
 * them.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/virtio_msg.h>
#include <linux/virtio_msg_xen.h>

#include "../../bus-xen/ring.h"
#include "../../xenstore/xsutil.h"

#define SLOTS	VMSG_XEN_RING_SLOTS

struct fixture {
	struct vmsg_xen_ring_page *page;
	struct vmsg_xen_ring ring;
};

/* --- the test's frontend -------------------------------------------------- */

static uint32_t get(const __le32 *p)
{
	return le32toh(*p);
}

static void set(__le32 *p, uint32_t v)
{
	*p = htole32(v);
}

/* A message of len bytes whose token is seq and whose payload is seq. */
static void make_msg(uint8_t *buf, size_t len, uint16_t seq)
{
	struct virtio_msg_hdr hdr = {
		.msg_id = VIRTIO_MSG_GET_DEVICE_STATUS,
		.dev_num = htole16(1),
		.token = htole16(seq),
		.msg_size = htole16((uint16_t)len),
	};

	memset(buf, 0, VMSG_XEN_SLOT_SIZE);
	memcpy(buf, &hdr, sizeof(hdr));
	memset(buf + sizeof(hdr), (int)(seq & 0xff), len - sizeof(hdr));
}

static uint16_t msg_seq(const uint8_t *buf)
{
	struct virtio_msg_hdr hdr;

	memcpy(&hdr, buf, sizeof(hdr));
	return le16toh(hdr.token);
}

/* Frontend produces one message of len bytes into to_dev. */
static void fe_produce(struct vmsg_xen_ring_page *pg, size_t len, uint16_t seq)
{
	uint32_t prod = get(&pg->to_dev.prod);

	make_msg(pg->to_dev_slots[prod % SLOTS], len, seq);
	set(&pg->to_dev.prod, prod + 1);
}

/* Frontend consumes one message from to_drv; returns its seq. */
static uint16_t fe_consume(struct vmsg_xen_ring_page *pg)
{
	uint32_t cons = get(&pg->to_drv.cons);
	uint16_t seq;

	assert_true(get(&pg->to_drv.prod) != cons);
	seq = msg_seq(pg->to_drv_slots[cons % SLOTS]);
	set(&pg->to_drv.cons, cons + 1);
	return seq;
}

static int setup_at(void **state, uint32_t start)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->page = calloc(1, sizeof(*f->page));
	if (!f->page)
		return -1;
	set(&f->page->to_dev.prod, start);
	set(&f->page->to_dev.cons, start);
	set(&f->page->to_drv.prod, start);
	set(&f->page->to_drv.cons, start);
	if (vmsg_xen_ring_init(&f->ring, f->page))
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_at(state, 0);
}

/* 32-bit indices wrap after 8 slots' worth of traffic. */
static int setup_wrap(void **state)
{
	return setup_at(state, UINT32_MAX - 7);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmsg_xen_ring_cleanup(&f->ring);
	free(f->page);
	free(f);
	return 0;
}

static int pop(struct fixture *f, uint8_t *buf, size_t *len, bool *notify)
{
	*notify = false;
	*len = 0;
	return vmsg_xen_ring_pop(&f->ring, buf, len, notify);
}

static void push_seq(struct fixture *f, uint16_t seq, int expect)
{
	uint8_t buf[VMSG_XEN_SLOT_SIZE];

	make_msg(buf, 16, seq);
	assert_int_equal(vmsg_xen_ring_push(&f->ring, buf, 16), expect);
}

/* Every later call fails too once the ring is broken. */
static void assert_broken(struct fixture *f)
{
	uint8_t buf[VMSG_XEN_SLOT_SIZE];
	size_t len;
	bool notify;

	make_msg(buf, 8, 0);
	assert_true(f->ring.broken);
	assert_int_equal(pop(f, buf, &len, &notify), -EPROTO);
	assert_int_equal(vmsg_xen_ring_push(&f->ring, buf, 8), -EPROTO);
	assert_int_equal(vmsg_xen_ring_send(&f->ring, buf, 8), -EPROTO);
	assert_int_equal(vmsg_xen_ring_flush(&f->ring), -EPROTO);
}

/* --- to_dev: popping ------------------------------------------------------ */

static void test_empty(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[VMSG_XEN_SLOT_SIZE];
	size_t len;
	bool notify;

	assert_int_equal(pop(f, buf, &len, &notify), 0);
	assert_false(notify);
	assert_false(f->ring.broken);
}

static void test_pop_one(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[VMSG_XEN_SLOT_SIZE], want[VMSG_XEN_SLOT_SIZE];
	uint32_t start = get(&f->page->to_dev.cons);
	size_t len;
	bool notify;

	fe_produce(f->page, 20, 7);
	assert_int_equal(pop(f, buf, &len, &notify), 1);
	assert_int_equal(len, 20);
	make_msg(want, 20, 7);
	assert_memory_equal(buf, want, 20);
	assert_false(notify);
	assert_int_equal(get(&f->page->to_dev.cons), start + 1);
	assert_int_equal(pop(f, buf, &len, &notify), 0);
}

/* Fill, drain: only the pop that found the queue full asks to notify. */
static void fill_and_drain(struct fixture *f, uint16_t first)
{
	uint8_t buf[VMSG_XEN_SLOT_SIZE];
	size_t len;
	bool notify;
	unsigned int i;

	for (i = 0; i < SLOTS; i++)
		fe_produce(f->page, 8 + i, (uint16_t)(first + i));
	for (i = 0; i < SLOTS; i++) {
		assert_int_equal(pop(f, buf, &len, &notify), 1);
		assert_int_equal(len, 8 + i);
		assert_int_equal(msg_seq(buf), first + i);
		assert_int_equal(notify, i == 0);
	}
	assert_int_equal(pop(f, buf, &len, &notify), 0);
}

static void test_full_notifies(void **state)
{
	fill_and_drain(*state, 100);
}

/* Across the 2^32 wrap, twice round the slots. */
static void test_pop_wraps(void **state)
{
	struct fixture *f = *state;

	fill_and_drain(f, 1);
	fill_and_drain(f, 200);
	assert_true(get(&f->page->to_dev.cons) < 100);
	assert_false(f->ring.broken);
}

static void test_prod_too_far(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[VMSG_XEN_SLOT_SIZE];
	size_t len;
	bool notify;

	set(&f->page->to_dev.prod, get(&f->page->to_dev.cons) + SLOTS + 1);
	assert_int_equal(pop(f, buf, &len, &notify), -EPROTO);
	assert_int_equal(len, 0);
	assert_broken(f);
}

/* prod behind cons is "4 billion messages pending": a violation. */
static void test_prod_backwards(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[VMSG_XEN_SLOT_SIZE];
	size_t len;
	bool notify;

	fe_produce(f->page, 8, 1);
	assert_int_equal(pop(f, buf, &len, &notify), 1);
	set(&f->page->to_dev.prod, get(&f->page->to_dev.prod) - 1);
	assert_int_equal(pop(f, buf, &len, &notify), -EPROTO);
	assert_broken(f);
}

/* The guest must not move the consumer index of the queue it produces. */
static void test_guest_moves_dev_cons(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[VMSG_XEN_SLOT_SIZE];
	size_t len;
	bool notify;

	fe_produce(f->page, 8, 1);
	fe_produce(f->page, 8, 2);
	set(&f->page->to_dev.cons, get(&f->page->to_dev.cons) + 1);
	assert_int_equal(pop(f, buf, &len, &notify), -EPROTO);
	assert_broken(f);
}

static void bad_size(struct fixture *f, uint16_t size)
{
	uint32_t prod = get(&f->page->to_dev.prod);
	uint8_t *slot = f->page->to_dev_slots[prod % SLOTS];
	struct virtio_msg_hdr hdr;
	uint8_t buf[VMSG_XEN_SLOT_SIZE];
	size_t len;
	bool notify;

	make_msg(slot, 8, 3);
	memcpy(&hdr, slot, sizeof(hdr));
	hdr.msg_size = htole16(size);
	memcpy(slot, &hdr, sizeof(hdr));
	set(&f->page->to_dev.prod, prod + 1);
	assert_int_equal(pop(f, buf, &len, &notify), -EPROTO);
	/* not consumed: the bus is closed, nothing may look consumed */
	assert_int_equal(get(&f->page->to_dev.cons), prod);
	assert_broken(f);
}

static void test_size_zero(void **state)
{
	bad_size(*state, 0);
}

static void test_size_short(void **state)
{
	bad_size(*state, VIRTIO_MSG_HDR_SIZE - 1);
}

static void test_size_long(void **state)
{
	bad_size(*state, VMSG_XEN_SLOT_SIZE + 1);
}

static void test_size_huge(void **state)
{
	bad_size(*state, 0xffff);
}

static void test_size_limits(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[VMSG_XEN_SLOT_SIZE];
	size_t len;
	bool notify;

	fe_produce(f->page, VIRTIO_MSG_HDR_SIZE, 1);
	fe_produce(f->page, VMSG_XEN_SLOT_SIZE, 2);
	assert_int_equal(pop(f, buf, &len, &notify), 1);
	assert_int_equal(len, VIRTIO_MSG_HDR_SIZE);
	assert_int_equal(pop(f, buf, &len, &notify), 1);
	assert_int_equal(len, VMSG_XEN_SLOT_SIZE);
}

/* --- to_drv: pushing ------------------------------------------------------ */

static void test_push_fills(void **state)
{
	struct fixture *f = *state;
	unsigned int i;

	for (i = 0; i < SLOTS; i++)
		push_seq(f, (uint16_t)i, 0);
	push_seq(f, 99, -ENOSPC);
	assert_int_equal(fe_consume(f->page), 0);
	push_seq(f, 16, 0);
	push_seq(f, 99, -ENOSPC);
	for (i = 1; i <= SLOTS; i++)
		assert_int_equal(fe_consume(f->page), i);
	assert_false(f->ring.broken);
}

/* The unused tail of a slot is zeroed, whatever was there before. */
static void test_push_zeroes_slot(void **state)
{
	struct fixture *f = *state;
	uint8_t *slot = f->page->to_drv_slots[get(&f->page->to_drv.prod) %
					       SLOTS];
	uint8_t zero[VMSG_XEN_SLOT_SIZE] = { 0 };

	memset(slot, 0xaa, VMSG_XEN_SLOT_SIZE);
	push_seq(f, 5, 0);
	assert_memory_equal(slot + 16, zero, VMSG_XEN_SLOT_SIZE - 16);
}

static void test_push_bad_len(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[VMSG_XEN_SLOT_SIZE + 1] = { 0 };

	assert_int_equal(vmsg_xen_ring_push(&f->ring, buf, 7), -EINVAL);
	assert_int_equal(vmsg_xen_ring_push(&f->ring, buf, 65), -EINVAL);
	assert_int_equal(vmsg_xen_ring_send(&f->ring, buf, 0), -EINVAL);
	assert_false(f->ring.broken);
}

static void test_push_wraps(void **state)
{
	struct fixture *f = *state;
	unsigned int round, i;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < SLOTS; i++)
			push_seq(f, (uint16_t)(round * 100 + i), 0);
		for (i = 0; i < SLOTS; i++)
			assert_int_equal(fe_consume(f->page), round * 100 + i);
	}
	assert_true(get(&f->page->to_drv.prod) < 100);
	assert_false(f->ring.broken);
}

static void test_drv_cons_past_prod(void **state)
{
	struct fixture *f = *state;

	push_seq(f, 1, 0);
	set(&f->page->to_drv.cons, get(&f->page->to_drv.prod) + 1);
	push_seq(f, 2, -EPROTO);
	assert_broken(f);
}

static void test_drv_cons_backwards(void **state)
{
	struct fixture *f = *state;

	push_seq(f, 1, 0);
	push_seq(f, 2, 0);
	fe_consume(f->page);
	push_seq(f, 3, 0);	/* the ring has seen cons move forward */
	set(&f->page->to_drv.cons, get(&f->page->to_drv.cons) - 1);
	push_seq(f, 4, -EPROTO);
	assert_broken(f);
}

/* The guest must not move the producer index of the queue we produce. */
static void test_guest_moves_drv_prod(void **state)
{
	struct fixture *f = *state;

	push_seq(f, 1, 0);
	set(&f->page->to_drv.prod, get(&f->page->to_drv.prod) + 3);
	push_seq(f, 2, -EPROTO);
	assert_broken(f);
}

/* --- overflow queue ------------------------------------------------------- */

static void send_seq(struct fixture *f, uint16_t seq, int expect)
{
	uint8_t buf[VMSG_XEN_SLOT_SIZE];

	make_msg(buf, 24, seq);
	assert_int_equal(vmsg_xen_ring_send(&f->ring, buf, 24), expect);
}

/* Order holds across ring and overflow queue; flush refills the ring. */
static void test_overflow_order(void **state)
{
	struct fixture *f = *state;
	unsigned int i;

	for (i = 0; i < SLOTS; i++)
		send_seq(f, (uint16_t)i, 1);
	for (i = SLOTS; i < SLOTS + 40; i++)
		send_seq(f, (uint16_t)i, 0);
	assert_int_equal(vmsg_xen_ring_queued(&f->ring), 40);
	for (i = 0; i < 4; i++)
		assert_int_equal(fe_consume(f->page), i);
	assert_int_equal(vmsg_xen_ring_flush(&f->ring), 4);
	assert_int_equal(vmsg_xen_ring_flush(&f->ring), 0);
	for (i = 4; i < SLOTS + 40; i++) {
		if (get(&f->page->to_drv.prod) == get(&f->page->to_drv.cons))
			assert_true(vmsg_xen_ring_flush(&f->ring) > 0);
		assert_int_equal(fe_consume(f->page), i);
	}
	assert_int_equal(vmsg_xen_ring_queued(&f->ring), 0);
	send_seq(f, 500, 1);
	assert_int_equal(fe_consume(f->page), 500);
}

/* A send after the guest made room moves older messages first. */
static void test_send_flushes_first(void **state)
{
	struct fixture *f = *state;
	unsigned int i;

	for (i = 0; i < SLOTS + 2; i++)
		send_seq(f, (uint16_t)i, i < SLOTS);
	fe_consume(f->page);
	fe_consume(f->page);
	fe_consume(f->page);
	send_seq(f, 100, 1);	/* 16, 17 and then 100 fit */
	assert_int_equal(vmsg_xen_ring_queued(&f->ring), 0);
	for (i = 3; i < SLOTS + 2; i++)
		assert_int_equal(fe_consume(f->page), i);
	assert_int_equal(fe_consume(f->page), 100);
}

/* A guest that never consumes: the overflow queue is bounded. */
static void test_overflow_full(void **state)
{
	struct fixture *f = *state;
	unsigned int i;

	for (i = 0; i < SLOTS + VMSG_XEN_RING_OVERFLOW; i++)
		send_seq(f, (uint16_t)i, i < SLOTS);
	assert_int_equal(vmsg_xen_ring_queued(&f->ring),
			 VMSG_XEN_RING_OVERFLOW);
	send_seq(f, 0, -EPROTO);
	assert_broken(f);
}

/* --- init ----------------------------------------------------------------- */

static void init_with(uint32_t dp, uint32_t dc, uint32_t rp, uint32_t rc,
		      int expect)
{
	struct vmsg_xen_ring_page *pg = calloc(1, sizeof(*pg));
	struct vmsg_xen_ring r;

	assert_non_null(pg);
	set(&pg->to_dev.prod, dp);
	set(&pg->to_dev.cons, dc);
	set(&pg->to_drv.prod, rp);
	set(&pg->to_drv.cons, rc);
	assert_int_equal(vmsg_xen_ring_init(&r, pg), expect);
	assert_int_equal(r.broken, expect != 0);
	vmsg_xen_ring_cleanup(&r);
	vmsg_xen_ring_cleanup(&r);
	free(pg);
}

static void test_init_indices(void **state)
{
	init_with(0, 0, 0, 0, 0);
	init_with(SLOTS, 0, 5, 5, 0);
	init_with(3, UINT32_MAX - 12, UINT32_MAX, UINT32_MAX - 15, 0);
	init_with(SLOTS + 1, 0, 0, 0, -EPROTO);
	init_with(0, 1, 0, 0, -EPROTO);
	init_with(0, 0, 0, 1, -EPROTO);
	init_with(0, 0, UINT32_MAX - 20, 0, -EPROTO);
}

/* Messages already in to_dev when the backend takes over are served. */
static void test_init_pending(void **state)
{
	struct vmsg_xen_ring_page *pg = calloc(1, sizeof(*pg));
	uint8_t buf[VMSG_XEN_SLOT_SIZE];
	struct vmsg_xen_ring r;
	size_t len;
	bool notify = false;

	assert_non_null(pg);
	fe_produce(pg, 12, 42);
	assert_int_equal(vmsg_xen_ring_init(&r, pg), 0);
	assert_int_equal(vmsg_xen_ring_pop(&r, buf, &len, &notify), 1);
	assert_int_equal(msg_seq(buf), 42);
	vmsg_xen_ring_cleanup(&r);
	free(pg);
}

/* --- xenstore values ------------------------------------------------------ */

static void uint_ok(const char *s, uint32_t max, uint32_t want)
{
	uint32_t v = 12345;

	assert_int_equal(vmsg_xs_parse_uint(s, max, &v), 0);
	assert_int_equal(v, want);
}

static void uint_bad(const char *s, uint32_t max, int expect)
{
	uint32_t v = 12345;

	assert_int_equal(vmsg_xs_parse_uint(s, max, &v), expect);
	assert_int_equal(v, 12345);
}

static void test_xs_uint(void **state)
{
	uint_ok("0", 10, 0);
	uint_ok("7", 10, 7);
	uint_ok("10", 10, 10);
	uint_ok("4294967295", UINT32_MAX, UINT32_MAX);
	uint_bad("11", 10, -ERANGE);
	uint_bad("4294967296", UINT32_MAX, -ERANGE);
	uint_bad("9999999999", UINT32_MAX, -ERANGE);
	uint_bad("12345678901", UINT32_MAX, -EINVAL);
	uint_bad(NULL, 10, -EINVAL);
	uint_bad("", 10, -EINVAL);
	uint_bad("01", 10, -EINVAL);
	uint_bad("00", 10, -EINVAL);
	uint_bad("-1", 10, -EINVAL);
	uint_bad("+1", 10, -EINVAL);
	uint_bad(" 1", 10, -EINVAL);
	uint_bad("1 ", 10, -EINVAL);
	uint_bad("1\n", 10, -EINVAL);
	uint_bad("0x1", 10, -EINVAL);
	uint_bad("1a", 10, -EINVAL);
}

static void test_xs_domid(void **state)
{
	uint16_t d = 9;

	assert_int_equal(vmsg_xs_parse_domid("0", &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(vmsg_xs_parse_domid("32751", &d), 0);
	assert_int_equal(d, 0x7fef);
	assert_int_equal(vmsg_xs_parse_domid("32752", &d), -ERANGE);
	assert_int_equal(vmsg_xs_parse_domid("65535", &d), -ERANGE);
	assert_int_equal(vmsg_xs_parse_domid("65536", &d), -ERANGE);
	assert_int_equal(vmsg_xs_parse_domid("3x", &d), -EINVAL);
	assert_int_equal(d, 0x7fef);
}

static void test_xs_state_devnum(void **state)
{
	enum xenbus_state st = XenbusStateClosed;
	uint16_t n = 3;

	assert_int_equal(vmsg_xs_parse_state("1", &st), 0);
	assert_int_equal(st, XenbusStateInitialising);
	assert_int_equal(vmsg_xs_parse_state("8", &st), 0);
	assert_int_equal(st, XenbusStateReconfigured);
	assert_int_equal(vmsg_xs_parse_state("0", &st), -ERANGE);
	assert_int_equal(vmsg_xs_parse_state("9", &st), -ERANGE);
	assert_int_equal(vmsg_xs_parse_state("4 ", &st), -EINVAL);
	assert_string_equal(vmsg_xs_state_name(XenbusStateInitWait),
			    "InitWait");
	assert_string_equal(vmsg_xs_state_name((enum xenbus_state)42),
			    "invalid");
	assert_int_equal(vmsg_xs_parse_devnum("255", &n), 0);
	assert_int_equal(n, 255);
	assert_int_equal(vmsg_xs_parse_devnum("0", &n), -ERANGE);
	assert_int_equal(vmsg_xs_parse_devnum("256", &n), -ERANGE);
	assert_int_equal(n, 255);
}

static void test_xs_paths(void **state)
{
	char buf[VMSG_XS_PATH_MAX], longest[VMSG_XS_PATH_MAX], small[20];

	assert_int_equal(vmsg_xs_be_root(buf, sizeof(buf), 0), 0);
	assert_string_equal(buf, "/local/domain/0/backend/vmsg");
	assert_int_equal(vmsg_xs_be_path(buf, sizeof(buf), 2, 7), 0);
	assert_string_equal(buf, "/local/domain/2/backend/vmsg/7/0");
	assert_int_equal(vmsg_xs_fe_path(buf, sizeof(buf), 7), 0);
	assert_string_equal(buf, "/local/domain/7/device/vmsg/0");
	assert_int_equal(vmsg_xs_join(buf, sizeof(buf), "/a", "state"), 0);
	assert_string_equal(buf, "/a/state");
	assert_int_equal(vmsg_xs_fe_path(small, sizeof(small), 7),
			 -ENAMETOOLONG);
	/* the longest path the bus uses fits */
	assert_int_equal(vmsg_xs_be_path(buf, sizeof(buf), 32751, 32751), 0);
	assert_int_equal(vmsg_xs_join(longest, sizeof(longest), buf,
				      "devices/255/spec"), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TW(fn) cmocka_unit_test_setup_teardown(fn, setup_wrap, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_empty),
		T(test_pop_one),
		TW(test_pop_one),
		T(test_full_notifies),
		TW(test_pop_wraps),
		T(test_prod_too_far),
		TW(test_prod_too_far),
		T(test_prod_backwards),
		TW(test_prod_backwards),
		T(test_guest_moves_dev_cons),
		T(test_size_zero),
		T(test_size_short),
		T(test_size_long),
		TW(test_size_huge),
		T(test_size_limits),
		T(test_push_fills),
		TW(test_push_fills),
		T(test_push_zeroes_slot),
		T(test_push_bad_len),
		TW(test_push_wraps),
		T(test_drv_cons_past_prod),
		TW(test_drv_cons_past_prod),
		TW(test_drv_cons_backwards),
		T(test_guest_moves_drv_prod),
		T(test_overflow_order),
		TW(test_overflow_order),
		T(test_send_flushes_first),
		T(test_overflow_full),
		cmocka_unit_test(test_init_indices),
		cmocka_unit_test(test_init_pending),
		cmocka_unit_test(test_xs_uint),
		cmocka_unit_test(test_xs_domid),
		cmocka_unit_test(test_xs_state_devnum),
		cmocka_unit_test(test_xs_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
