// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the backend's end of the vmsg Xen ring
 * (bus-xen/ring.c), played against a hostile frontend, and for the strict
 * xenstore value parser (xenstore/xsutil.c).
 *
 * The input builds the ring page and then scripts both sides:
 *
 *   bytes 0..15        to_dev.prod, to_dev.cons, to_drv.prod, to_drv.cons
 *                      (le32, as the frontend left them)
 *   bytes 16..1039     the 16 to_dev slots
 *   then records       OP [ARGS]:
 *     0                backend pops one message
 *     1 L              backend sends a message of 8 + L % 57 bytes
 *     2                backend flushes its overflow queue
 *     3 L              backend pushes straight into the ring
 *     4 N              frontend consumes N % 18 messages honestly
 *     5 N, 8 bytes     frontend produces N % 18 messages with this header
 *     6 F, 4 bytes     frontend writes any value into index F % 4
 *
 * Oracle: the calls return only what ring.h promises; a popped message's
 * msg_size equals its length and lies in 8..64; the indices we own stay
 * ours; to_drv never holds more than 16 messages; the overflow queue is
 * bounded; messages reach the honest frontend in the order they were sent,
 * each exactly once; after the first -EPROTO every call fails. ASan
 * watches the page (a heap block of exactly one page). The first bytes are
 * also fed to the xenstore number parser, whose accepted inputs must be
 * exactly the canonical decimal form of the value. Not covered: grants,
 * event channels, xenstore itself (they need Xen).
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_msg.h>
#include <linux/virtio_msg_xen.h>

#include "../../bus-xen/ring.h"
#include "../../xenstore/xsutil.h"

#define SLOTS		VMSG_XEN_RING_SLOTS
#define IDX_BYTES	16
#define SLOT_BYTES	(SLOTS * VMSG_XEN_SLOT_SIZE)
#define MAX_RECORDS	4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz {
	struct vmsg_xen_ring_page *pg;
	struct vmsg_xen_ring r;
	const uint8_t *in;
	size_t left;
	bool broken;		/* a call returned -EPROTO */
	bool hostile;		/* the frontend wrote an index by hand */
	bool unordered;		/* a direct push overtook queued messages */
	uint32_t stale;		/* to_drv messages that were there before us */
	uint16_t sent;		/* seq of the next message we send */
	uint16_t seen;		/* seq the honest frontend expects next */
};

static uint8_t next_byte(struct fuzz *f)
{
	if (!f->left)
		return 0;
	f->left--;
	return *f->in++;
}

static uint32_t le32_at(const __le32 *p)
{
	return le32toh(*p);
}

static void check_ret(struct fuzz *f, int ret, int lo, int hi)
{
	if (ret == -EPROTO) {
		f->broken = true;
		return;
	}
	if (f->broken || ret < lo || ret > hi)
		abort();
}

/* What we own is ours; what we hold is bounded. */
static void check_invariants(struct fuzz *f)
{
	if (f->r.broken != f->broken)
		abort();
	if (f->r.ovf_count > VMSG_XEN_RING_OVERFLOW ||
	    f->r.drv_prod - f->r.drv_cons > SLOTS)
		abort();
	if (f->broken || f->hostile)
		return;
	if (le32_at(&f->pg->to_dev.cons) != f->r.dev_cons ||
	    le32_at(&f->pg->to_drv.prod) != f->r.drv_prod)
		abort();
}

/* What pop must return, worked out from the page before the call. */
static int expect_pop(struct fuzz *f, bool *full)
{
	uint32_t prod = le32_at(&f->pg->to_dev.prod);
	uint32_t cons = le32_at(&f->pg->to_dev.cons);
	struct virtio_msg_hdr hdr;
	uint16_t size;

	if (f->broken || cons != f->r.dev_cons || prod - cons > SLOTS)
		return -EPROTO;
	if (prod == cons)
		return 0;
	*full = prod - cons == SLOTS;
	memcpy(&hdr, f->pg->to_dev_slots[cons % SLOTS], sizeof(hdr));
	size = le16toh(hdr.msg_size);
	if (size < VIRTIO_MSG_HDR_SIZE || size > VMSG_XEN_SLOT_SIZE)
		return -EPROTO;
	return 1;
}

static void do_pop(struct fuzz *f)
{
	uint8_t buf[VMSG_XEN_SLOT_SIZE];
	struct virtio_msg_hdr hdr;
	bool notify = false, full = false;
	int want = expect_pop(f, &full);
	size_t len = 0;
	int ret;

	ret = vmsg_xen_ring_pop(&f->r, buf, &len, &notify);
	if (ret != want)
		abort();
	check_ret(f, ret, 0, 1);
	if (ret != 1) {
		if (notify || len)
			abort();
		return;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (len < VIRTIO_MSG_HDR_SIZE || len > VMSG_XEN_SLOT_SIZE ||
	    le16toh(hdr.msg_size) != len || notify != full)
		abort();
}

/* What a direct push must return, from the page before the call. */
static int expect_push(struct fuzz *f)
{
	uint32_t prod = le32_at(&f->pg->to_drv.prod);
	uint32_t cons = le32_at(&f->pg->to_drv.cons);

	if (f->broken || prod != f->r.drv_prod ||
	    cons - f->r.drv_cons > f->r.drv_prod - f->r.drv_cons)
		return -EPROTO;
	return prod - cons == SLOTS ? -ENOSPC : 0;
}

/* A message of 8 + l % 57 bytes carrying the next sequence number. */
static size_t make_msg(struct fuzz *f, uint8_t *buf, uint8_t l)
{
	size_t len = VIRTIO_MSG_HDR_SIZE + l % (VMSG_XEN_SLOT_SIZE - 7);
	struct virtio_msg_hdr hdr = {
		.token = htole16(f->sent),
		.msg_size = htole16((uint16_t)len),
	};

	memset(buf, 0x5a, VMSG_XEN_SLOT_SIZE);
	memcpy(buf, &hdr, sizeof(hdr));
	return len;
}

static void do_send(struct fuzz *f, bool direct)
{
	uint8_t buf[VMSG_XEN_SLOT_SIZE];
	size_t len = make_msg(f, buf, next_byte(f));
	int ret;

	if (direct) {
		int want = expect_push(f);

		ret = vmsg_xen_ring_push(&f->r, buf, len);
		if (ret != want)
			abort();
		/* legal, but it overtakes what the overflow queue holds */
		if (!ret && f->r.ovf_count)
			f->unordered = true;
		if (ret == -ENOSPC && f->broken)
			abort();
		if (ret != -ENOSPC)
			check_ret(f, ret, 0, 0);
	} else {
		ret = vmsg_xen_ring_send(&f->r, buf, len);
		check_ret(f, ret, 0, 1);
	}
	if (ret >= 0)
		f->sent++;
}

static void do_flush(struct fuzz *f)
{
	check_ret(f, vmsg_xen_ring_flush(&f->r), 0, VMSG_XEN_RING_OVERFLOW);
}

/* The honest frontend: take messages in order, check their sequence. */
static void fe_consume(struct fuzz *f, unsigned int n)
{
	uint32_t cons = le32_at(&f->pg->to_drv.cons);
	struct virtio_msg_hdr hdr;

	while (n-- && cons != le32_at(&f->pg->to_drv.prod)) {
		memcpy(&hdr, f->pg->to_drv_slots[cons % SLOTS], sizeof(hdr));
		if (f->stale) {
			f->stale--;
		} else {
			if (!f->hostile && !f->unordered &&
			    le16toh(hdr.token) != f->seen)
				abort();
			f->seen++;
		}
		cons++;
		f->pg->to_drv.cons = htole32(cons);
	}
}

/* The frontend produces n messages with the given header, room or not. */
static void fe_produce(struct fuzz *f, unsigned int n)
{
	uint32_t prod = le32_at(&f->pg->to_dev.prod);
	uint8_t hdr[VIRTIO_MSG_HDR_SIZE];
	unsigned int i;

	for (i = 0; i < sizeof(hdr); i++)
		hdr[i] = next_byte(f);
	while (n--) {
		memcpy(f->pg->to_dev_slots[prod % SLOTS], hdr, sizeof(hdr));
		prod++;
	}
	f->pg->to_dev.prod = htole32(prod);
}

static void fe_scribble(struct fuzz *f)
{
	__le32 *idx[] = { &f->pg->to_dev.prod, &f->pg->to_dev.cons,
			  &f->pg->to_drv.prod, &f->pg->to_drv.cons };
	uint8_t which = next_byte(f) % 4;
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < 4; i++)
		v |= (uint32_t)next_byte(f) << (8 * i);
	*idx[which] = htole32(v);
	f->hostile = true;
}

static void run_record(struct fuzz *f)
{
	switch (next_byte(f) % 7) {
	case 0:
		do_pop(f);
		break;
	case 1:
		do_send(f, false);
		break;
	case 2:
		do_flush(f);
		break;
	case 3:
		do_send(f, true);
		break;
	case 4:
		fe_consume(f, next_byte(f) % (SLOTS + 2));
		break;
	case 5:
		fe_produce(f, next_byte(f) % (SLOTS + 2));
		break;
	default:
		fe_scribble(f);
		break;
	}
	check_invariants(f);
}

/* Accepted exactly when the text is the canonical decimal of the value. */
static void fuzz_parser(const uint8_t *data, size_t size)
{
	char s[16], canon[16];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	uint32_t v = 0;
	int ret;

	memcpy(s, data, n);
	s[n] = '\0';
	ret = vmsg_xs_parse_uint(s, UINT32_MAX - 1, &v);
	if (!ret) {
		snprintf(canon, sizeof(canon), "%u", v);
		if (strcmp(canon, s) || v > UINT32_MAX - 1)
			abort();
	} else if (ret != -EINVAL && ret != -ERANGE) {
		abort();
	}
}

static void setup_page(struct fuzz *f, const uint8_t *data, size_t size)
{
	size_t n;

	n = size < IDX_BYTES ? size : IDX_BYTES;
	memcpy(&f->pg->to_dev, data, n < 8 ? n : 8);
	if (n > 8)
		memcpy(&f->pg->to_drv, data + 8, n - 8);
	n = size > IDX_BYTES ? size - IDX_BYTES : 0;
	n = n < SLOT_BYTES ? n : SLOT_BYTES;
	memcpy(f->pg->to_dev_slots, data + IDX_BYTES, n);
	f->in = data + IDX_BYTES + n;
	f->left = size - IDX_BYTES - n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz f = { 0 };
	unsigned int i;

	fuzz_parser(data, size);
	if (size < IDX_BYTES)
		return 0;
	f.pg = calloc(1, sizeof(*f.pg));
	if (!f.pg)
		return 0;
	setup_page(&f, data, size);
	if (vmsg_xen_ring_init(&f.r, f.pg) == 0) {
		f.stale = f.r.drv_prod - f.r.drv_cons;
		for (i = 0; i < MAX_RECORDS && f.left; i++)
			run_record(&f);
	}
	vmsg_xen_ring_cleanup(&f.r);
	free(f.pg);
	return 0;
}
