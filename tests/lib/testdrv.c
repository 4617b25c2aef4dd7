// SPDX-License-Identifier: GPL-2.0
/*
 * testdrv: the driver side of virtio-msg for tests (see testdrv.h).
 *
 * The ring layer mirrors what Linux drivers/virtio/virtio_ring.c does for a
 * split ring, in the simplest form that is still correct: a private free
 * list, release/acquire on the two indices, and the suppression checks of
 * virtqueue_kick_prepare_split() and virtqueue_get_buf_ctx_split(). The
 * hostile part writes malformed chains a well-behaved driver never would.
 * The bus layer sends transport messages through the test bus and checks
 * every reply. Not a model of performance, packed rings or concurrency.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_msg.h>
#include <linux/virtio_ring.h>

#include "testbus.h"
#include "testdrv.h"
#include "virtqueue.h"

/* virtio 1.2 6.1; newer than Debian's 6.1 uapi headers */
#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA	38
#endif

#define RING_MAX_SIZE	32768	/* split ring limit (virtio 1.2 2.7) */
#define SCRATCH_LEN	64	/* buffer behind hostile chains */

/*
 * Bump allocator
 */

void testdrv_alloc_init(struct testdrv_alloc *a,
			const struct vmsg_region *region, uint64_t start,
			uint64_t end)
{
	a->region = region;
	a->start = start;
	a->next = start;
	a->end = end ? end : region->size;
}

void *testdrv_ptr(const struct vmsg_region *region, uint64_t addr,
		  uint64_t len)
{
	if (addr >= region->size || len > region->size - addr)
		return NULL;
	return region->base + addr;
}

uint64_t testdrv_alloc(struct testdrv_alloc *a, uint64_t len, uint64_t align)
{
	uint64_t addr;
	void *p;

	if (!align || (align & (align - 1)))
		return 0;
	addr = (a->next + align - 1) & ~(align - 1);
	if (addr < a->next || addr > a->end || len > a->end - addr)
		return 0;
	p = testdrv_ptr(a->region, addr, len);
	if (!p)
		return 0;
	memset(p, 0, len);
	a->next = addr + len;
	return addr;
}

void testdrv_alloc_reset(struct testdrv_alloc *a)
{
	a->next = a->start;
}

/*
 * Ring layer: setup and private descriptor management
 */

static uint16_t load16(const __virtio16 *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void store16(__virtio16 *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static __virtio16 *ring_used_event(const struct testdrv_ring *r)
{
	return &r->avail->ring[r->size];
}

static __virtio16 *ring_avail_event(const struct testdrv_ring *r)
{
	return (__virtio16 *)&r->used->ring[r->size];
}

static int ring_alloc_rings(struct testdrv_ring *r, uint16_t size)
{
	uint64_t desc_len = sizeof(struct vring_desc) * (uint64_t)size;
	uint64_t avail_len = sizeof(struct vring_avail) +
			     sizeof(__virtio16) * (size + 1ULL);
	uint64_t used_len = sizeof(struct vring_used) +
			    sizeof(struct vring_used_elem) * (uint64_t)size +
			    sizeof(__virtio16);

	r->desc_addr = testdrv_alloc(r->alloc, desc_len, VRING_DESC_ALIGN_SIZE);
	r->avail_addr = testdrv_alloc(r->alloc, avail_len,
				      VRING_AVAIL_ALIGN_SIZE);
	r->used_addr = testdrv_alloc(r->alloc, used_len, VRING_USED_ALIGN_SIZE);
	if (!r->desc_addr || !r->avail_addr || !r->used_addr)
		return -ENOMEM;
	r->desc = testdrv_ptr(r->region, r->desc_addr, desc_len);
	r->avail = testdrv_ptr(r->region, r->avail_addr, avail_len);
	r->used = testdrv_ptr(r->region, r->used_addr, used_len);
	return 0;
}

static int ring_alloc_private(struct testdrv_ring *r, uint16_t size)
{
	unsigned int i;

	r->links = calloc(size, sizeof(*r->links));
	r->chain_len = calloc(size, sizeof(*r->chain_len));
	r->ind_addr = calloc(size, sizeof(*r->ind_addr));
	r->ind_cap = calloc(size, sizeof(*r->ind_cap));
	if (!r->links || !r->chain_len || !r->ind_addr || !r->ind_cap)
		return -ENOMEM;
	for (i = 0; i < size; i++)
		r->links[i] = i + 1;
	r->free_head = 0;
	r->num_free = size;
	return 0;
}

int testdrv_ring_init(struct testdrv_ring *r, const struct vmsg_region *region,
		      struct testdrv_alloc *alloc, uint16_t size,
		      bool event_idx, bool indirect)
{
	uint64_t mark = alloc->next;
	int ret;

	memset(r, 0, sizeof(*r));
	if (!size || size > RING_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	r->region = region;
	r->alloc = alloc;
	r->event_idx = event_idx;
	r->indirect = indirect;
	ret = ring_alloc_rings(r, size);
	if (ret)
		goto err;
	ret = ring_alloc_private(r, size);
	if (ret)
		goto err;
	r->size = size;
	return 0;

err:
	testdrv_ring_free(r);
	alloc->next = mark;
	return ret;
}

void testdrv_ring_free(struct testdrv_ring *r)
{
	free(r->links);
	free(r->chain_len);
	free(r->ind_addr);
	free(r->ind_cap);
	memset(r, 0, sizeof(*r));
}

/* Take n descriptors off the free list, linked through r->links. */
static int ring_take(struct testdrv_ring *r, unsigned int n, uint16_t *head)
{
	uint16_t last;
	unsigned int k;

	if (!n || n > r->num_free)
		return -ENOSPC;
	*head = r->free_head;
	last = *head;
	for (k = 1; k < n; k++)
		last = r->links[last];
	r->free_head = r->links[last];
	r->num_free -= n;
	r->chain_len[*head] = n;
	return 0;
}

static void ring_put(struct testdrv_ring *r, uint16_t head)
{
	uint16_t last = head;
	unsigned int k, n = r->chain_len[head];

	for (k = 1; k < n; k++)
		last = r->links[last];
	r->links[last] = r->free_head;
	r->free_head = head;
	r->num_free += n;
	r->chain_len[head] = 0;
}

static void set_desc(struct vring_desc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

/*
 * Write sg[0..n) as one chain into table starting at first. Entries follow
 * links (the direct table), or are consecutive when links is NULL.
 */
static void write_chain(struct vring_desc *table, uint16_t first,
			const uint16_t *links, const struct testdrv_sg *sg,
			unsigned int n_out, unsigned int n)
{
	uint16_t i = first, next;
	unsigned int k;
	uint16_t flags;

	for (k = 0; k < n; k++) {
		next = links ? links[i] : i + 1;
		flags = k >= n_out ? VRING_DESC_F_WRITE : 0;
		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		set_desc(&table[i], sg[k].addr, sg[k].len, flags,
			 k + 1 < n ? next : 0);
		i = next;
	}
}

/* Make head available to the device. */
static void ring_publish(struct testdrv_ring *r, uint16_t head)
{
	store16(&r->avail->ring[r->avail_idx & (r->size - 1)], head);
	r->avail_idx++;
	/* Release pairs with the acquire load of avail->idx in vmsg_vq_pop(). */
	__atomic_store_n(&r->avail->idx, htole16(r->avail_idx),
			 __ATOMIC_RELEASE);
}

/* The indirect table kept for head, grown to n entries if needed. */
static struct vring_desc *ring_indirect_table(struct testdrv_ring *r,
					      uint16_t head, unsigned int n)
{
	uint64_t len = sizeof(struct vring_desc) * (uint64_t)n;
	uint64_t addr;

	if (r->ind_cap[head] < n) {
		addr = testdrv_alloc(r->alloc, len, VRING_DESC_ALIGN_SIZE);
		if (!addr)
			return NULL;
		r->ind_addr[head] = addr;
		r->ind_cap[head] = n;
	}
	return testdrv_ptr(r->region, r->ind_addr[head], len);
}

static int ring_add_indirect(struct testdrv_ring *r, uint16_t head,
			     const struct testdrv_sg *sg, unsigned int n_out,
			     unsigned int n)
{
	struct vring_desc *table = ring_indirect_table(r, head, n);

	if (!table)
		return -ENOMEM;
	write_chain(table, 0, NULL, sg, n_out, n);
	set_desc(&r->desc[head], r->ind_addr[head],
		 n * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
	return 0;
}

int testdrv_ring_add(struct testdrv_ring *r, const struct testdrv_sg *sg,
		     unsigned int n_out, unsigned int n_in, bool indirect)
{
	unsigned int n = n_out + n_in;
	uint16_t head;
	int ret;

	if (!r->size || !n || n > UINT16_MAX || (indirect && !r->indirect))
		return -EINVAL;
	ret = ring_take(r, indirect ? 1 : n, &head);
	if (ret)
		return ret;
	if (indirect) {
		ret = ring_add_indirect(r, head, sg, n_out, n);
		if (ret) {
			ring_put(r, head);
			return ret;
		}
	} else {
		write_chain(r->desc, head, r->links, sg, n_out, n);
	}
	ring_publish(r, head);
	return head;
}

/*
 * Ring layer: notifications and used buffers
 */

bool testdrv_ring_kick_prepare(struct testdrv_ring *r)
{
	uint16_t old = r->kicked_idx, new = r->avail_idx;

	r->kicked_idx = new;
	/*
	 * avail->idx must be visible before we read the device's suppression
	 * state. Pairs with the full barrier in vmsg_vq_set_notify().
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (r->event_idx)
		return vring_need_event(load16(ring_avail_event(r)), new, old);
	return !(load16(&r->used->flags) & VRING_USED_F_NO_NOTIFY);
}

bool testdrv_ring_has_used(const struct testdrv_ring *r)
{
	if (!r->size)
		return false;
	return le16toh(__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE)) !=
	       r->last_used_idx;
}

void testdrv_ring_set_used_event(struct testdrv_ring *r, uint16_t idx)
{
	store16(ring_used_event(r), idx);
	/*
	 * used_event must be visible before we look at used->idx again.
	 * Pairs with the full barrier in vmsg_vq_should_notify().
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int testdrv_ring_get_used(struct testdrv_ring *r, uint32_t *id,
			  uint32_t *len)
{
	const struct vring_used_elem *e;
	uint16_t used_idx;

	if (!r->size)
		return 0;
	/* Acquire pairs with the release store of used->idx in vmsg_vq_push(). */
	used_idx = le16toh(__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE));
	if (used_idx == r->last_used_idx)
		return 0;
	if ((uint16_t)(used_idx - r->last_used_idx) > r->size)
		return -EIO;
	e = &r->used->ring[r->last_used_idx & (r->size - 1)];
	*id = le32toh(__atomic_load_n(&e->id, __ATOMIC_RELAXED));
	*len = le32toh(__atomic_load_n(&e->len, __ATOMIC_RELAXED));
	if (*id >= r->size || !r->chain_len[*id])
		return -EIO;
	ring_put(r, *id);
	r->last_used_idx++;
	/* As virtqueue_get_buf_ctx_split(): ask for the next one. */
	if (r->event_idx && !r->no_interrupt)
		testdrv_ring_set_used_event(r, r->last_used_idx);
	return 1;
}

bool testdrv_ring_set_interrupts(struct testdrv_ring *r, bool enable)
{
	r->no_interrupt = !enable;
	if (r->event_idx) {
		/*
		 * With EVENT_IDX flags must stay 0 (2.7.7.1); "off" is
		 * used_event as far ahead as 16-bit arithmetic allows.
		 */
		testdrv_ring_set_used_event(r, r->last_used_idx +
					       (enable ? 0 : 0x8000));
	} else {
		store16(&r->avail->flags,
			enable ? 0 : VRING_AVAIL_F_NO_INTERRUPT);
		/* Pairs with the full barrier in vmsg_vq_should_notify(). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return enable && testdrv_ring_has_used(r);
}

/*
 * Ring layer: hostile chains. Each builder publishes exactly one bad entry.
 */

static uint64_t scratch(struct testdrv_ring *r)
{
	return testdrv_alloc(r->alloc, SCRATCH_LEN, 16);
}

/* One direct descriptor as the whole chain. */
static int publish_one(struct testdrv_ring *r, uint64_t addr, uint32_t len,
		       uint16_t flags, uint16_t next)
{
	uint16_t head;
	int ret = ring_take(r, 1, &head);

	if (ret)
		return ret;
	set_desc(&r->desc[head], addr, len, flags, next);
	ring_publish(r, head);
	return 0;
}

/* A table of n zeroed entries; *addr its bus address. */
static struct vring_desc *new_table(struct testdrv_ring *r, unsigned int n,
				    uint64_t *addr)
{
	uint64_t len = sizeof(struct vring_desc) * (uint64_t)n;

	*addr = testdrv_alloc(r->alloc, len, VRING_DESC_ALIGN_SIZE);
	return *addr ? testdrv_ptr(r->region, *addr, len) : NULL;
}

/*
 * A two-entry indirect table whose first entry chains to next0. A valid
 * descriptor follows the table in memory, so that only the check under
 * test can reject what a walk past the table's end would find.
 */
static int publish_table2(struct testdrv_ring *r, uint16_t next0,
			  uint16_t next1, uint16_t flags1)
{
	uint64_t buf = scratch(r), addr;
	struct vring_desc *t = new_table(r, 3, &addr);

	if (!buf || !t)
		return -ENOMEM;
	set_desc(&t[0], buf, 16, VRING_DESC_F_NEXT, next0);
	set_desc(&t[1], buf, 16, flags1, next1);
	set_desc(&t[2], buf, 16, 0, 0);
	return publish_one(r, addr, 2 * sizeof(*t), VRING_DESC_F_INDIRECT, 0);
}

static int publish_many_direct(struct testdrv_ring *r, unsigned int n,
			       uint64_t addr, uint32_t len)
{
	uint16_t head, i;
	unsigned int k;
	int ret = ring_take(r, n, &head);

	if (ret)
		return ret;
	for (i = head, k = 0; k < n; k++, i = r->links[i])
		set_desc(&r->desc[i], addr, len,
			 k + 1 < n ? VRING_DESC_F_NEXT : 0, r->links[i]);
	ring_publish(r, head);
	return 0;
}

static int publish_many_indirect(struct testdrv_ring *r, unsigned int n,
				 uint64_t addr, uint32_t len)
{
	struct vring_desc *t;
	uint64_t table;
	unsigned int k;

	t = new_table(r, n, &table);
	if (!t)
		return -ENOMEM;
	for (k = 0; k < n; k++)
		set_desc(&t[k], addr, len, k + 1 < n ? VRING_DESC_F_NEXT : 0,
			 k + 1 < n ? k + 1 : 0);
	return publish_one(r, table, n * sizeof(*t), VRING_DESC_F_INDIRECT, 0);
}

/* n readable buffers, all [addr, addr + len): indirect if negotiated. */
static int publish_many(struct testdrv_ring *r, unsigned int n, uint64_t addr,
			uint32_t len)
{
	if (r->indirect)
		return publish_many_indirect(r, n, addr, len);
	if (n > r->num_free)
		return -EINVAL;
	return publish_many_direct(r, n, addr, len);
}

/* A valid one-entry indirect table; its bus address, or 0. */
static uint64_t valid_table(struct testdrv_ring *r)
{
	uint64_t buf = scratch(r), addr;
	struct vring_desc *t = new_table(r, 1, &addr);

	if (!buf || !t)
		return 0;
	set_desc(t, buf, 16, 0, 0);
	return addr;
}

static int bad_avail_jump(struct testdrv_ring *r)
{
	r->avail_idx += r->size + 1;
	__atomic_store_n(&r->avail->idx, htole16(r->avail_idx),
			 __ATOMIC_RELEASE);
	return 0;
}

static int bad_head(struct testdrv_ring *r)
{
	ring_publish(r, r->size);
	return 0;
}

/* Two descriptors pointing at each other (one at itself if size is 1). */
static int bad_loop(struct testdrv_ring *r)
{
	unsigned int k, n = r->size < 2 ? 1 : 2;
	uint64_t buf = scratch(r);
	uint16_t head, i;
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = ring_take(r, n, &head);
	if (ret)
		return ret;
	for (i = head, k = 0; k < n; k++, i = r->links[i])
		set_desc(&r->desc[i], buf, 16, VRING_DESC_F_NEXT,
			 k + 1 < n ? r->links[i] : head);
	ring_publish(r, head);
	return 0;
}

static int bad_next(struct testdrv_ring *r)
{
	uint64_t buf = scratch(r);

	return buf ? publish_one(r, buf, 16, VRING_DESC_F_NEXT, r->size) :
		     -ENOMEM;
}

static int bad_indirect_loop(struct testdrv_ring *r)
{
	return publish_table2(r, 1, 0, VRING_DESC_F_NEXT);
}

static int bad_indirect_next(struct testdrv_ring *r)
{
	return publish_table2(r, 2, 0, 0);
}

static int bad_nested_indirect(struct testdrv_ring *r)
{
	uint64_t inner = valid_table(r), outer;
	struct vring_desc *t = new_table(r, 1, &outer);

	if (!inner || !t)
		return -ENOMEM;
	set_desc(t, inner, sizeof(*t), VRING_DESC_F_INDIRECT, 0);
	return publish_one(r, outer, sizeof(*t), VRING_DESC_F_INDIRECT, 0);
}

static int bad_indirect_with_next(struct testdrv_ring *r)
{
	uint64_t table = valid_table(r), buf = scratch(r);
	uint16_t head, second;
	int ret;

	if (!table || !buf)
		return -ENOMEM;
	ret = ring_take(r, 2, &head);
	if (ret)
		return ret;
	second = r->links[head];
	set_desc(&r->desc[head], table, sizeof(struct vring_desc),
		 VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, second);
	set_desc(&r->desc[second], buf, 16, 0, 0);
	ring_publish(r, head);
	return 0;
}

/* One valid entry, but a length of one and a half. */
static int bad_indirect_len(struct testdrv_ring *r)
{
	uint64_t table = valid_table(r);

	return table ? publish_one(r, table, 24, VRING_DESC_F_INDIRECT, 0) :
		       -ENOMEM;
}

static int bad_indirect_empty(struct testdrv_ring *r)
{
	uint64_t table = valid_table(r);

	return table ? publish_one(r, table, 0, VRING_DESC_F_INDIRECT, 0) :
		       -ENOMEM;
}

/* 16-byte aligned, starts inside the region, ends past it. */
static int bad_indirect_outside(struct testdrv_ring *r)
{
	uint64_t addr = (r->region->size - 16) & ~15ULL;

	return publish_one(r, addr, 48, VRING_DESC_F_INDIRECT, 0);
}

static int bad_indirect_unnegotiated(struct testdrv_ring *r)
{
	uint64_t table;

	if (r->indirect)
		return -EINVAL;
	table = valid_table(r);
	return table ? publish_one(r, table, sizeof(struct vring_desc),
				   VRING_DESC_F_INDIRECT, 0) :
		       -ENOMEM;
}

static int bad_addr_outside(struct testdrv_ring *r)
{
	return publish_one(r, r->region->size, 16, 0, 0);
}

static int bad_addr_low(struct testdrv_ring *r)
{
	if (!r->region->min_addr)
		return -EINVAL;
	return publish_one(r, 0, 16, 0, 0);
}

static int bad_len_past_end(struct testdrv_ring *r)
{
	return publish_one(r, r->region->size - 8, 16, 0, 0);
}

static int bad_addr_wrap(struct testdrv_ring *r)
{
	return publish_one(r, UINT64_MAX - 7, 16, 0, 0);
}

static int bad_read_after_write(struct testdrv_ring *r)
{
	uint64_t buf = scratch(r);
	uint16_t head, second;
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = ring_take(r, 2, &head);
	if (ret)
		return ret;
	second = r->links[head];
	set_desc(&r->desc[head], buf, 16,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, second);
	set_desc(&r->desc[second], buf + 16, 16, 0, 0);
	ring_publish(r, head);
	return 0;
}

/*
 * Buffers that are each inside the region (all the same bytes) but whose
 * lengths add up past UINT32_MAX within VMSG_CHAIN_MAX_SEGS segments: needs
 * a region of more than 16 MiB.
 */
static int bad_total_overflow(struct testdrv_ring *r)
{
	uint64_t start = r->alloc->start, room;
	unsigned int n;
	uint32_t len;

	if (start < r->region->min_addr)
		start = r->region->min_addr;
	if (start >= r->region->size)
		return -EINVAL;
	room = r->region->size - start;
	len = room > UINT32_MAX ? UINT32_MAX : room;
	n = UINT32_MAX / len + 1;
	if (n > VMSG_CHAIN_MAX_SEGS)
		return -EINVAL;
	return publish_many(r, n, start, len);
}

static int bad_huge_chain(struct testdrv_ring *r)
{
	uint64_t buf = scratch(r);

	if (!buf)
		return -ENOMEM;
	return publish_many(r, VMSG_CHAIN_MAX_SEGS + 1, buf, 16);
}

static const struct {
	const char *name;
	int (*build)(struct testdrv_ring *r);
} hostile_cases[TESTDRV_BAD_NR] = {
	[TESTDRV_BAD_AVAIL_JUMP] = { "avail-jump", bad_avail_jump },
	[TESTDRV_BAD_HEAD] = { "head-out-of-range", bad_head },
	[TESTDRV_BAD_LOOP] = { "loop", bad_loop },
	[TESTDRV_BAD_NEXT] = { "next-out-of-range", bad_next },
	[TESTDRV_BAD_INDIRECT_LOOP] = { "indirect-loop", bad_indirect_loop },
	[TESTDRV_BAD_INDIRECT_NEXT] = { "indirect-next-out-of-range",
					bad_indirect_next },
	[TESTDRV_BAD_NESTED_INDIRECT] = { "nested-indirect",
					  bad_nested_indirect },
	[TESTDRV_BAD_INDIRECT_WITH_NEXT] = { "indirect-with-next",
					     bad_indirect_with_next },
	[TESTDRV_BAD_INDIRECT_LEN] = { "indirect-len", bad_indirect_len },
	[TESTDRV_BAD_INDIRECT_EMPTY] = { "indirect-empty",
					 bad_indirect_empty },
	[TESTDRV_BAD_INDIRECT_OUTSIDE] = { "indirect-outside",
					   bad_indirect_outside },
	[TESTDRV_BAD_INDIRECT_UNNEGOTIATED] = { "indirect-unnegotiated",
						bad_indirect_unnegotiated },
	[TESTDRV_BAD_ADDR_OUTSIDE] = { "addr-outside", bad_addr_outside },
	[TESTDRV_BAD_ADDR_LOW] = { "addr-low", bad_addr_low },
	[TESTDRV_BAD_LEN_PAST_END] = { "len-past-end", bad_len_past_end },
	[TESTDRV_BAD_ADDR_WRAP] = { "addr-wrap", bad_addr_wrap },
	[TESTDRV_BAD_READ_AFTER_WRITE] = { "read-after-write",
					   bad_read_after_write },
	[TESTDRV_BAD_TOTAL_OVERFLOW] = { "total-overflow",
					 bad_total_overflow },
	[TESTDRV_BAD_HUGE_CHAIN] = { "huge-chain", bad_huge_chain },
};

const char *testdrv_hostile_name(enum testdrv_hostile kind)
{
	return (unsigned int)kind < TESTDRV_BAD_NR ? hostile_cases[kind].name :
						     "unknown";
}

int testdrv_ring_hostile(struct testdrv_ring *r, enum testdrv_hostile kind)
{
	if (!r->size || (unsigned int)kind >= TESTDRV_BAD_NR)
		return -EINVAL;
	return hostile_cases[kind].build(r);
}

/*
 * Bus layer: requests
 */

struct testdrv *testdrv_new(struct vmsg_testbus *tb, uint16_t dev_num)
{
	struct testdrv *d = calloc(1, sizeof(*d));
	uint64_t start = TESTDRV_ALLOC_START;

	if (!d)
		return NULL;
	d->tb = tb;
	d->region = &tb->bus.region;
	d->dev_num = dev_num;
	d->timeout_ms = TESTDRV_TIMEOUT_MS;
	if (start < d->region->min_addr)
		start = d->region->min_addr;
	testdrv_alloc_init(&d->alloc, d->region, start, 0);
	return d;
}

static void testdrv_forget_vqs(struct testdrv *d)
{
	unsigned int i;

	for (i = 0; i < TESTDRV_MAX_VQS; i++)
		testdrv_ring_free(&d->vqs[i]);
	d->num_vqs = 0;
}

void testdrv_free(struct testdrv *d)
{
	if (!d)
		return;
	testdrv_forget_vqs(d);
	free(d);
}

int testdrv_call(struct testdrv *d, uint8_t msg_id, const void *req,
		 size_t req_len, void *resp, size_t *resp_len)
{
	return vmsg_testbus_call(d->tb, 0, msg_id, d->dev_num, req, req_len,
				 resp, resp_len, d->timeout_ms);
}

/* A request whose response has no payload we need. */
static int call_noresp(struct testdrv *d, uint8_t msg_id, const void *req,
		       size_t req_len)
{
	uint8_t resp[VIRTIO_MSG_MAX_SIZE];
	size_t len = sizeof(resp);

	return testdrv_call(d, msg_id, req, req_len, resp, &len);
}

int testdrv_get_info(struct testdrv *d)
{
	struct virtio_msg_get_device_info_resp r;
	size_t len = sizeof(r);
	uint8_t none = 0;
	int ret;

	ret = testdrv_call(d, VIRTIO_MSG_GET_DEVICE_INFO, &none, 0, &r, &len);
	if (ret)
		return ret;
	if (len < sizeof(r))
		return -EPROTO;
	d->device_id = le32toh(r.device_id);
	d->vendor_id = le32toh(r.vendor_id);
	d->num_feature_bits = le32toh(r.num_feature_bits);
	d->config_size = le32toh(r.config_size);
	d->max_vqs = le32toh(r.max_virtqueues);
	return d->device_id ? 0 : -ENODEV;
}

int testdrv_get_features(struct testdrv *d)
{
	struct virtio_msg_get_device_features_req req = {
		.block_index = htole32(0),
		.num_blocks = htole32(2),
	};
	union {
		struct virtio_msg_get_device_features_resp h;
		uint8_t raw[VIRTIO_MSG_MAX_SIZE];
	} r;
	size_t len = sizeof(r);
	int ret;

	ret = testdrv_call(d, VIRTIO_MSG_GET_DEVICE_FEATURES, &req,
			   sizeof(req), &r, &len);
	if (ret)
		return ret;
	if (len < sizeof(r.h) + 2 * sizeof(__le32) || r.h.block_index ||
	    le32toh(r.h.num_blocks) != 2)
		return -EPROTO;
	d->device_features = le32toh(r.h.features[0]) |
			     (uint64_t)le32toh(r.h.features[1]) << 32;
	return 0;
}

int testdrv_set_features(struct testdrv *d, uint64_t features)
{
	union {
		struct virtio_msg_set_driver_features_req h;
		uint8_t raw[sizeof(struct virtio_msg_set_driver_features_req) +
			    2 * sizeof(__le32)];
	} req;
	int ret;

	req.h.block_index = htole32(0);
	req.h.num_blocks = htole32(2);
	req.h.features[0] = htole32(features);
	req.h.features[1] = htole32(features >> 32);
	ret = call_noresp(d, VIRTIO_MSG_SET_DRIVER_FEATURES, &req, sizeof(req));
	if (!ret)
		d->driver_features = features;
	return ret;
}

int testdrv_set_status(struct testdrv *d, uint32_t status)
{
	struct virtio_msg_set_device_status_req req = { htole32(status) };
	struct virtio_msg_set_device_status_resp r;
	size_t len = sizeof(r);
	int ret;

	ret = testdrv_call(d, VIRTIO_MSG_SET_DEVICE_STATUS, &req, sizeof(req),
			   &r, &len);
	if (ret)
		return ret;
	if (len < sizeof(r))
		return -EPROTO;
	d->status = le32toh(r.status);
	return 0;
}

int testdrv_get_status(struct testdrv *d, uint32_t *status)
{
	struct virtio_msg_get_device_status_resp r;
	size_t len = sizeof(r);
	uint8_t none = 0;
	int ret;

	ret = testdrv_call(d, VIRTIO_MSG_GET_DEVICE_STATUS, &none, 0, &r,
			   &len);
	if (ret)
		return ret;
	if (len < sizeof(r))
		return -EPROTO;
	*status = le32toh(r.status);
	return 0;
}

int testdrv_features_ok(struct testdrv *d)
{
	int ret;

	ret = testdrv_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				    VIRTIO_CONFIG_S_DRIVER |
				    VIRTIO_CONFIG_S_FEATURES_OK);
	if (ret)
		return ret;
	return d->status & VIRTIO_CONFIG_S_FEATURES_OK ? 0 : -EPROTO;
}

static bool testdrv_has(const struct testdrv *d, unsigned int bit)
{
	return (d->driver_features >> bit) & 1;
}

/* GET_VQUEUE: the queue's max_size, or -errno (-ENOENT: no such queue). */
static int testdrv_vq_max(struct testdrv *d, unsigned int index)
{
	struct virtio_msg_get_vqueue_req req = { htole32(index) };
	struct virtio_msg_get_vqueue_resp r;
	size_t len = sizeof(r);
	uint32_t max;
	int ret;

	ret = testdrv_call(d, VIRTIO_MSG_GET_VQUEUE, &req, sizeof(req), &r,
			   &len);
	if (ret)
		return ret;
	if (len < sizeof(r) || le32toh(r.index) != index)
		return -EPROTO;
	max = le32toh(r.max_size);
	if (!max)
		return -ENOENT;
	return max > RING_MAX_SIZE ? RING_MAX_SIZE : (int)max;
}

int testdrv_setup_vq(struct testdrv *d, unsigned int index, uint16_t size)
{
	struct testdrv_ring *r = &d->vqs[index];
	struct virtio_msg_set_vqueue_req req;
	int max, ret;

	if (index >= TESTDRV_MAX_VQS)
		return -EINVAL;
	max = testdrv_vq_max(d, index);
	if (max < 0)
		return max;
	if (!size)
		size = max;
	if (size > max)
		return -EINVAL;

	testdrv_ring_free(r);
	ret = testdrv_ring_init(r, d->region, &d->alloc, size,
				testdrv_has(d, VIRTIO_RING_F_EVENT_IDX),
				testdrv_has(d, VIRTIO_RING_F_INDIRECT_DESC));
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.index = htole32(index);
	req.size = htole32(size);
	req.desc_addr = htole64(r->desc_addr);
	req.driver_addr = htole64(r->avail_addr);
	req.device_addr = htole64(r->used_addr);
	ret = call_noresp(d, VIRTIO_MSG_SET_VQUEUE, &req, sizeof(req));
	if (ret) {
		testdrv_ring_free(r);
		return ret;
	}
	if (index >= d->num_vqs)
		d->num_vqs = index + 1;
	return 0;
}

int testdrv_driver_ok(struct testdrv *d)
{
	int ret;

	ret = testdrv_set_status(d, d->status | VIRTIO_CONFIG_S_DRIVER_OK);
	if (ret)
		return ret;
	if (!(d->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    (d->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		return -EPROTO;
	return 0;
}

static int testdrv_negotiate(struct testdrv *d, uint64_t features)
{
	int ret;

	ret = testdrv_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	if (ret)
		return ret;
	ret = testdrv_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				    VIRTIO_CONFIG_S_DRIVER);
	if (ret)
		return ret;
	ret = testdrv_get_features(d);
	if (ret)
		return ret;
	/* The ring layer only knows split rings. */
	features &= d->device_features & ~(1ULL << VIRTIO_F_RING_PACKED);
	ret = testdrv_set_features(d, features);
	if (ret)
		return ret;
	return testdrv_features_ok(d);
}

int testdrv_init(struct testdrv *d, uint64_t features, unsigned int num_vqs)
{
	unsigned int i;
	int ret;

	ret = testdrv_get_info(d);
	if (ret)
		return ret;
	ret = testdrv_negotiate(d, features);
	if (ret)
		return ret;
	if (!num_vqs)
		num_vqs = d->max_vqs < TESTDRV_MAX_VQS ? d->max_vqs :
							 TESTDRV_MAX_VQS;
	if (num_vqs > TESTDRV_MAX_VQS || num_vqs > d->max_vqs)
		return -EINVAL;
	for (i = 0; i < num_vqs; i++) {
		ret = testdrv_setup_vq(d, i, 0);
		if (ret)
			return ret;
	}
	return testdrv_driver_ok(d);
}

int testdrv_reset(struct testdrv *d)
{
	uint32_t status;
	int ret;

	ret = testdrv_set_status(d, 0);
	if (ret)
		return ret;
	ret = testdrv_get_status(d, &status);
	if (ret)
		return ret;
	if (d->status || status)
		return -EPROTO;
	testdrv_forget_vqs(d);
	testdrv_alloc_reset(&d->alloc);
	d->driver_features = 0;
	d->event_status = 0;
	return 0;
}

/*
 * Bus layer: config space
 */

static uint32_t config_chunk(const struct testdrv *d)
{
	return VIRTIO_MSG_PAYLOAD_MAX(d->tb->bus.max_msg_size) -
	       sizeof(struct virtio_msg_get_config_resp);
}

static int config_get(struct testdrv *d, uint32_t off, void *buf,
		      uint32_t len, uint32_t *gen)
{
	struct virtio_msg_get_config_req req = { htole32(off), htole32(len) };
	union {
		struct virtio_msg_get_config_resp h;
		uint8_t raw[VIRTIO_MSG_MAX_SIZE];
	} r;
	size_t rlen = sizeof(r);
	int ret;

	ret = testdrv_call(d, VIRTIO_MSG_GET_CONFIG, &req, sizeof(req), &r,
			   &rlen);
	if (ret)
		return ret;
	if (rlen < sizeof(r.h) || le32toh(r.h.offset) != off)
		return -EPROTO;
	/* Length 0 is how a device refuses a range (virtio-msg.md 3). */
	if (len && !r.h.length)
		return -EINVAL;
	if (le32toh(r.h.length) != len || rlen < sizeof(r.h) + len)
		return -EPROTO;
	if (len)
		memcpy(buf, r.h.data, len);
	*gen = le32toh(r.h.generation);
	return 0;
}

/* One pass over [off, off + len); -EAGAIN if the generation moved. */
static int config_read_once(struct testdrv *d, uint32_t off, uint8_t *buf,
			    uint32_t len)
{
	uint32_t done = 0, n, gen, first = 0;
	int ret;

	do {
		n = len - done < config_chunk(d) ? len - done : config_chunk(d);
		ret = config_get(d, off + done, buf ? buf + done : NULL, n,
				 &gen);
		if (ret)
			return ret;
		if (done && gen != first)
			return -EAGAIN;
		first = gen;
		done += n;
	} while (done < len);
	d->config_gen = first;
	return 0;
}

int testdrv_config_read(struct testdrv *d, uint32_t off, void *buf,
			uint32_t len)
{
	unsigned int tries;
	int ret = -EAGAIN;

	for (tries = 0; tries < TESTDRV_CONFIG_RETRIES && ret == -EAGAIN;
	     tries++)
		ret = config_read_once(d, off, buf, len);
	return ret;
}

static int config_set(struct testdrv *d, uint32_t off, const uint8_t *buf,
		      uint32_t len)
{
	union {
		struct virtio_msg_set_config_req h;
		uint8_t raw[VIRTIO_MSG_MAX_SIZE];
	} q;
	union {
		struct virtio_msg_set_config_resp h;
		uint8_t raw[VIRTIO_MSG_MAX_SIZE];
	} r;
	size_t rlen = sizeof(r);
	int ret;

	q.h.generation = htole32(d->config_gen);
	q.h.offset = htole32(off);
	q.h.length = htole32(len);
	memcpy(q.h.data, buf, len);
	ret = testdrv_call(d, VIRTIO_MSG_SET_CONFIG, &q, sizeof(q.h) + len,
			   &r, &rlen);
	if (ret)
		return ret;
	if (rlen < sizeof(r.h))
		return -EPROTO;
	if (!r.h.length)
		return -EINVAL;
	if (le32toh(r.h.offset) != off || le32toh(r.h.length) != len)
		return -EPROTO;
	d->config_gen = le32toh(r.h.generation);
	return 0;
}

int testdrv_config_write(struct testdrv *d, uint32_t off, const void *buf,
			 uint32_t len)
{
	const uint8_t *p = buf;
	uint32_t done = 0, n;
	int ret;

	while (done < len) {
		n = len - done < config_chunk(d) ? len - done : config_chunk(d);
		ret = config_set(d, off + done, p + done, n);
		if (ret)
			return ret;
		done += n;
	}
	return 0;
}

/*
 * Bus layer: queues and events
 */

uint64_t testdrv_alloc_buf(struct testdrv *d, uint64_t len)
{
	return testdrv_alloc(&d->alloc, len, 16);
}

void *testdrv_buf(struct testdrv *d, uint64_t addr, uint64_t len)
{
	return testdrv_ptr(d->region, addr, len);
}

static struct testdrv_ring *testdrv_vq(struct testdrv *d, unsigned int vq)
{
	if (vq >= d->num_vqs || !d->vqs[vq].size)
		return NULL;
	return &d->vqs[vq];
}

int testdrv_add(struct testdrv *d, unsigned int vq,
		const struct testdrv_sg *sg, unsigned int n_out,
		unsigned int n_in, bool indirect)
{
	struct testdrv_ring *r = testdrv_vq(d, vq);

	return r ? testdrv_ring_add(r, sg, n_out, n_in, indirect) : -EINVAL;
}

int testdrv_kick(struct testdrv *d, unsigned int vq)
{
	struct virtio_msg_event_avail ev = { htole32(vq), 0 };
	struct testdrv_ring *r = testdrv_vq(d, vq);

	if (!r)
		return -EINVAL;
	/* Split rings: the next avail index, wrap bit 0 (virtio 1.2 2.9). */
	if (testdrv_has(d, VIRTIO_F_NOTIFICATION_DATA))
		ev.next_offset_wrap = htole32(r->avail_idx);
	return vmsg_testbus_event(d->tb, VIRTIO_MSG_EVENT_AVAIL, d->dev_num,
				  &ev, sizeof(ev));
}

int testdrv_kick_if_needed(struct testdrv *d, unsigned int vq)
{
	struct testdrv_ring *r = testdrv_vq(d, vq);
	int ret;

	if (!r)
		return -EINVAL;
	if (!testdrv_ring_kick_prepare(r))
		return 0;
	ret = testdrv_kick(d, vq);
	return ret ? ret : 1;
}

int testdrv_get_used(struct testdrv *d, unsigned int vq, uint32_t *id,
		     uint32_t *len)
{
	struct testdrv_ring *r = testdrv_vq(d, vq);

	return r ? testdrv_ring_get_used(r, id, len) : -EINVAL;
}

/*
 * Count one device-to-driver message: true if it is an event of ours that
 * we know, false for anything else (also counted, in other_events).
 */
static bool testdrv_note_event(struct testdrv *d, const uint8_t *msg,
			       size_t len)
{
	struct virtio_msg_hdr h;
	__le32 w[2] = { 0, 0 };
	uint32_t vq;

	/* Every event we know carries at least one u32. */
	if (len < sizeof(h) + sizeof(w[0]))
		return false;
	memcpy(&h, msg, sizeof(h));
	len -= sizeof(h);
	memcpy(w, msg + sizeof(h), len < sizeof(w) ? len : sizeof(w));
	if ((h.type & VIRTIO_MSG_TYPE_BUS) || le16toh(h.dev_num) != d->dev_num)
		return false;
	if (h.msg_id == VIRTIO_MSG_EVENT_USED) {
		vq = le32toh(w[0]);
		if (vq >= TESTDRV_MAX_VQS)
			return false;
		d->used_events[vq]++;
		return true;
	}
	if (h.msg_id == VIRTIO_MSG_EVENT_CONFIG &&
	    len >= sizeof(struct virtio_msg_event_config)) {
		d->config_events++;
		d->event_status = le32toh(w[0]);
		return true;
	}
	return false;
}

int testdrv_poll_event(struct testdrv *d, int timeout_ms)
{
	uint8_t msg[VIRTIO_MSG_MAX_SIZE];
	size_t len;

	len = vmsg_testbus_next_event(d->tb, msg, timeout_ms);
	if (!len)
		return 0;
	if (!testdrv_note_event(d, msg, len > sizeof(msg) ? sizeof(msg) : len))
		d->other_events++;
	return 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll slices short enough to notice a used ring that advanced silently. */
#define POLL_SLICE_MS	10

/* What testdrv_wait() waits for: one used buffer or event on vq. */
struct wait_used {
	unsigned int vq;
	unsigned int events;	/* used_events[vq] when the wait began */
};

/* Run the bus until done(d, arg) is 1 or -errno, or timeout_ms pass. */
static int testdrv_wait(struct testdrv *d,
			int (*done)(struct testdrv *d, const void *arg),
			const void *arg, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms, left;
	int ret;

	for (;;) {
		ret = done(d, arg);
		if (ret)
			return ret < 0 ? ret : 0;
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		testdrv_poll_event(d, left < POLL_SLICE_MS ? left :
							    POLL_SLICE_MS);
	}
}

static int used_done(struct testdrv *d, const void *arg)
{
	const struct wait_used *w = arg;

	if (testdrv_ring_has_used(&d->vqs[w->vq]) ||
	    d->used_events[w->vq] != w->events)
		return 1;
	return d->event_status & VIRTIO_CONFIG_S_NEEDS_RESET ? -EIO : 0;
}

int testdrv_wait_used(struct testdrv *d, unsigned int vq, int timeout_ms)
{
	struct wait_used w = { vq, 0 };

	if (!testdrv_vq(d, vq))
		return -EINVAL;
	w.events = d->used_events[vq];
	return testdrv_wait(d, used_done, &w, timeout_ms);
}

static int needs_reset_done(struct testdrv *d, const void *arg)
{
	return !!(d->event_status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

int testdrv_wait_needs_reset(struct testdrv *d, int timeout_ms)
{
	return testdrv_wait(d, needs_reset_done, NULL, timeout_ms);
}

int testdrv_hostile(struct testdrv *d, unsigned int vq,
		    enum testdrv_hostile kind)
{
	struct testdrv_ring *r = testdrv_vq(d, vq);
	int ret;

	if (!r)
		return -EINVAL;
	ret = testdrv_ring_hostile(r, kind);
	return ret ? ret : testdrv_kick(d, vq);
}
