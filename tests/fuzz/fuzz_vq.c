// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the virtqueue engine (backend/virtqueue.c).
 *
 * The input is a hostile driver: an 8-byte header picks the queue geometry
 * and negotiated features, the rest becomes the region's memory, rings
 * included. The target pops, copies, pushes and notifies until the ring is
 * empty or broken, and aborts if a chain the engine accepts breaks any
 * promise of virtqueue.h (every iovec inside the region, totals that add
 * up, push accounting). ASan watches the region's heap block; a canary
 * watches the page below min_addr. It does not exercise the transport.
 *
 * Header: [0] log2 queue size (low 3 bits), [1] flags (FL_*), [2] how many
 * entries are pending when we start, [3] chains popped per batch, [4..7]
 * unused. The region image starts at bus address MIN_ADDR.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtqueue.h"

#define MIN_ADDR	4096
#define REGION_SIZE	(MIN_ADDR + 3 * 4096)
#define HDR_LEN		8
#define CANARY		0x5a
#define MAX_BATCH	4

#define FL_EVENT_IDX	0x01
#define FL_INDIRECT	0x02
#define FL_NOTIFY	0x04	/* toggle kick suppression around batches */
#define FL_DOUBLE_PUSH	0x08	/* push every head twice, expect -EIO */
#define FL_DESC_AT_END	0x10	/* descriptor table at the region's end */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz {
	struct vmsg_region region;
	struct vmsg_vq vq;
	struct vmsg_chain chain;
	uint8_t flags;
	uint8_t batch;
	uint8_t bounce[512];
};

static void check_iov(const struct vmsg_region *r, const struct iovec *iov)
{
	const uint8_t *p = iov->iov_base;

	if (p < r->base + r->min_addr || p >= r->base + r->size ||
	    iov->iov_len > (size_t)(r->base + r->size - p))
		abort();
}

/* Everything virtqueue.h promises about an accepted chain. */
static void check_chain(const struct fuzz *f)
{
	const struct vmsg_chain *c = &f->chain;
	uint64_t out = 0, in = 0;
	unsigned int i;

	if (c->head >= f->vq.size || !(c->n_out + c->n_in) ||
	    c->n_out + c->n_in > VMSG_CHAIN_MAX_SEGS)
		abort();
	for (i = 0; i < c->n_out + c->n_in; i++) {
		check_iov(&f->region, &c->iov[i]);
		if (i < c->n_out)
			out += c->iov[i].iov_len;
		else
			in += c->iov[i].iov_len;
	}
	if (out != c->out_len || in != c->in_len || out > UINT32_MAX ||
	    in > UINT32_MAX)
		abort();
}

/* What a device model does with a chain: read it all, fill it, return it. */
static uint32_t use_chain(struct fuzz *f)
{
	const struct vmsg_chain *c = &f->chain;
	size_t want = c->out_len < sizeof(f->bounce) ? c->out_len :
						       sizeof(f->bounce);

	if (vmsg_chain_from_iov(c, 0, f->bounce, sizeof(f->bounce)) != want)
		abort();
	want = c->in_len < sizeof(f->bounce) ? c->in_len : sizeof(f->bounce);
	if (vmsg_chain_to_iov(c, 0, f->bounce, sizeof(f->bounce)) != want)
		abort();
	return want;
}

static void push(struct fuzz *f, uint16_t head, uint32_t len)
{
	if (vmsg_vq_push(&f->vq, head, len))
		abort();
	if ((f->flags & FL_DOUBLE_PUSH) && !f->vq.inflight &&
	    vmsg_vq_push(&f->vq, head, len) != -EIO)
		abort();
}

/* Pop up to f->batch chains, then push them back. 0 when done. */
static int run_batch(struct fuzz *f)
{
	uint16_t heads[MAX_BATCH];
	uint32_t lens[MAX_BATCH];
	unsigned int n = 0, i;
	int ret = 1;

	if (f->flags & FL_NOTIFY)
		vmsg_vq_set_notify(&f->vq, false);
	while (n < f->batch) {
		ret = vmsg_vq_pop(&f->vq, &f->chain);
		if (ret <= 0)
			break;
		check_chain(f);
		heads[n] = f->chain.head;
		lens[n++] = use_chain(f);
	}
	for (i = 0; i < n; i++)
		push(f, heads[i], lens[i]);
	if (n)
		vmsg_vq_should_notify(&f->vq);
	if (f->flags & FL_NOTIFY)
		vmsg_vq_set_notify(&f->vq, true);
	return ret > 0;
}

/* Ring placement for the header's geometry: 0 or -1 if setup refused. */
static int setup(struct fuzz *f, const uint8_t *hdr)
{
	uint32_t qsize = 1U << (hdr[0] & 7);
	uint64_t desc = MIN_ADDR, avail, used;
	uint16_t avail_idx;

	avail = desc + 16 * qsize;
	if (f->flags & FL_DESC_AT_END) {
		desc = REGION_SIZE - 16 * qsize;
		avail = MIN_ADDR;
	}
	used = (avail + 6 + 2 * qsize + 3) & ~3ULL;
	f->vq.event_idx = f->flags & FL_EVENT_IDX;
	f->vq.indirect = f->flags & FL_INDIRECT;
	if (vmsg_vq_setup(&f->vq, &f->region, qsize, VMSG_VQ_MAX_SIZE, desc,
			  avail, used))
		return -1;
	/* Start as if hdr[2] entries (maybe more than fit) were pending. */
	memcpy(&avail_idx, f->region.base + avail + 2, sizeof(avail_idx));
	f->vq.last_avail_idx = le16toh(avail_idx) - hdr[2] % (qsize + 2);
	f->vq.used_idx = f->vq.last_avail_idx;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz f;
	unsigned int i, rounds;
	uint8_t *mem;

	if (size < HDR_LEN)
		return 0;
	mem = calloc(1, REGION_SIZE);
	if (!mem)
		return 0;
	memset(mem, CANARY, MIN_ADDR);
	size -= HDR_LEN;
	memcpy(mem + MIN_ADDR, data + HDR_LEN,
	       size < REGION_SIZE - MIN_ADDR ? size : REGION_SIZE - MIN_ADDR);

	vmsg_vq_reset(&f.vq);
	memset(f.bounce, 0, sizeof(f.bounce));
	f.region = (struct vmsg_region){ mem, REGION_SIZE, MIN_ADDR, -1 };
	f.flags = data[1];
	f.batch = 1 + data[3] % MAX_BATCH;
	if (!setup(&f, data)) {
		rounds = 2 * f.vq.size + 8;
		for (i = 0; i < rounds && run_batch(&f); i++)
			;
	}
	for (i = 0; i < MIN_ADDR; i++)
		if (mem[i] != CANARY)
			abort();
	free(mem);
	return 0;
}
