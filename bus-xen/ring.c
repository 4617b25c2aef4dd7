// SPDX-License-Identifier: GPL-2.0
/*
 * The backend's end of the vmsg Xen message ring: the single-producer /
 * single-consumer queues of docs/xen-bus.md seen from dom0.
 *
 * The backend consumes to_dev and produces to_drv. It keeps its own copy of
 * every index it writes and only compares the page's copy with it, so a
 * guest scribbling on our indices is detected rather than obeyed. The
 * guest's indices (to_dev.prod, to_drv.cons) are loaded once per call with
 * acquire semantics and sanitised before use. This file does no I/O and
 * does not know about event channels: callers are told when to notify.
 * What a message means is the bus core's business (vmsg_bus_receive()).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_msg.h>

#include "ring.h"

static int ring_violation(struct vmsg_xen_ring *r)
{
	r->broken = true;
	return -EPROTO;
}

/*
 * Index accessors. The acquire load of the peer's producer index pairs with
 * the frontend's release store after it filled a slot; the acquire load of
 * the peer's consumer index pairs with its release store after it copied a
 * slot out, so the slot may be reused. Our release stores pair with the
 * frontend's acquire loads of the same fields.
 */
static uint32_t idx_load_acquire(const __le32 *p)
{
	return le32toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

/* Our own index, read back only to see whether the peer moved it. */
static uint32_t idx_load_relaxed(const __le32 *p)
{
	return le32toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void idx_store_release(__le32 *p, uint32_t v)
{
	__atomic_store_n(p, htole32(v), __ATOMIC_RELEASE);
}

static unsigned int slot_of(uint32_t idx)
{
	return idx % VMSG_XEN_RING_SLOTS;
}

static bool msg_len_ok(size_t len)
{
	return len >= VIRTIO_MSG_HDR_SIZE && len <= VMSG_XEN_SLOT_SIZE;
}

int vmsg_xen_ring_init(struct vmsg_xen_ring *r,
		       struct vmsg_xen_ring_page *page)
{
	uint32_t dev_prod = idx_load_acquire(&page->to_dev.prod);
	uint32_t dev_cons = idx_load_relaxed(&page->to_dev.cons);
	uint32_t drv_prod = idx_load_relaxed(&page->to_drv.prod);
	uint32_t drv_cons = idx_load_acquire(&page->to_drv.cons);

	memset(r, 0, sizeof(*r));
	r->page = page;
	if (dev_prod - dev_cons > VMSG_XEN_RING_SLOTS ||
	    drv_prod - drv_cons > VMSG_XEN_RING_SLOTS)
		return ring_violation(r);
	r->dev_cons = dev_cons;
	r->drv_prod = drv_prod;
	r->drv_cons = drv_cons;
	r->ovf = calloc(VMSG_XEN_RING_OVERFLOW, sizeof(*r->ovf));
	if (!r->ovf)
		return -ENOMEM;
	return 0;
}

void vmsg_xen_ring_cleanup(struct vmsg_xen_ring *r)
{
	free(r->ovf);
	r->ovf = NULL;
	r->ovf_count = 0;
	r->ovf_head = 0;
}

/*
 * How many messages to_dev holds for us, or -EPROTO: more than the queue
 * can hold, or the guest moved the consumer index that only we write.
 */
static int dev_pending(struct vmsg_xen_ring *r, uint32_t *was)
{
	uint32_t prod = idx_load_acquire(&r->page->to_dev.prod);

	if (idx_load_relaxed(&r->page->to_dev.cons) != r->dev_cons)
		return ring_violation(r);
	*was = prod - r->dev_cons;
	if (*was > VMSG_XEN_RING_SLOTS)
		return ring_violation(r);
	return 0;
}

int vmsg_xen_ring_pop(struct vmsg_xen_ring *r, void *msg, size_t *len,
		      bool *notify)
{
	struct virtio_msg_hdr hdr;
	uint32_t pending;
	size_t size;

	if (r->broken || dev_pending(r, &pending))
		return -EPROTO;
	if (!pending)
		return 0;
	/* Copy first, then look only at the copy (XSA-155). */
	memcpy(msg, r->page->to_dev_slots[slot_of(r->dev_cons)],
	       VMSG_XEN_SLOT_SIZE);
	memcpy(&hdr, msg, sizeof(hdr));
	size = le16toh(hdr.msg_size);
	if (!msg_len_ok(size))
		return ring_violation(r);
	r->dev_cons++;
	idx_store_release(&r->page->to_dev.cons, r->dev_cons);
	*len = size;
	if (pending == VMSG_XEN_RING_SLOTS)
		*notify = true;
	return 1;
}

/*
 * Free slots in to_drv, or -EPROTO. The guest's consumer index may only
 * move forward, up to our producer index; and it must not have touched
 * the producer index that only we write.
 */
static int drv_space(struct vmsg_xen_ring *r)
{
	uint32_t cons = idx_load_acquire(&r->page->to_drv.cons);

	if (idx_load_relaxed(&r->page->to_drv.prod) != r->drv_prod)
		return ring_violation(r);
	if (cons - r->drv_cons > r->drv_prod - r->drv_cons)
		return ring_violation(r);
	r->drv_cons = cons;
	return (int)(VMSG_XEN_RING_SLOTS - (r->drv_prod - cons));
}

int vmsg_xen_ring_push(struct vmsg_xen_ring *r, const void *msg, size_t len)
{
	uint8_t *slot;
	int space;

	if (r->broken)
		return -EPROTO;
	if (!msg_len_ok(len))
		return -EINVAL;
	space = drv_space(r);
	if (space < 0)
		return space;
	if (!space)
		return -ENOSPC;
	/* All 64 bytes are written: no stale bytes reach the guest (XSA-216) */
	slot = r->page->to_drv_slots[slot_of(r->drv_prod)];
	memcpy(slot, msg, len);
	memset(slot + len, 0, VMSG_XEN_SLOT_SIZE - len);
	r->drv_prod++;
	idx_store_release(&r->page->to_drv.prod, r->drv_prod);
	return 0;
}

static int ovf_enqueue(struct vmsg_xen_ring *r, const void *msg, size_t len)
{
	struct vmsg_xen_ring_msg *m;

	if (!r->ovf || r->ovf_count == VMSG_XEN_RING_OVERFLOW)
		return ring_violation(r);
	m = &r->ovf[(r->ovf_head + r->ovf_count) % VMSG_XEN_RING_OVERFLOW];
	m->len = (uint16_t)len;
	memcpy(m->bytes, msg, len);
	r->ovf_count++;
	return 0;
}

int vmsg_xen_ring_flush(struct vmsg_xen_ring *r)
{
	struct vmsg_xen_ring_msg *m;
	int moved = 0, ret;

	if (r->broken)
		return -EPROTO;
	while (r->ovf_count) {
		m = &r->ovf[r->ovf_head];
		ret = vmsg_xen_ring_push(r, m->bytes, m->len);
		if (ret == -ENOSPC)
			break;
		if (ret)
			return ret;
		r->ovf_head = (r->ovf_head + 1) % VMSG_XEN_RING_OVERFLOW;
		r->ovf_count--;
		moved++;
	}
	return moved;
}

int vmsg_xen_ring_send(struct vmsg_xen_ring *r, const void *msg, size_t len)
{
	int moved, ret;

	if (!msg_len_ok(len))
		return -EINVAL;
	/* Older messages first: the guest may have made room meanwhile. */
	moved = vmsg_xen_ring_flush(r);
	if (moved < 0)
		return moved;
	if (!r->ovf_count) {
		ret = vmsg_xen_ring_push(r, msg, len);
		if (ret != -ENOSPC)
			return ret ? ret : 1;
	}
	ret = ovf_enqueue(r, msg, len);
	return ret ? ret : moved > 0;
}
