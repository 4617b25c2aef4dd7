// SPDX-License-Identifier: GPL-2.0
/*
 * Device side of the split virtqueue (virtio 1.2 section 2.7).
 *
 * This is the only code of the daemon that parses rings. It turns available
 * descriptor chains into iovecs that point into the bus's shared region and
 * publishes used elements, with indirect descriptors (2.7.5.3) and
 * VIRTIO_RING_F_EVENT_IDX (2.7.7, 2.7.10). The driver is untrusted: every
 * value read from shared memory is read once into a local, checked and only
 * then used, and any rule it breaks makes the call return -EIO. It is not a
 * packed-ring implementation, does no I/O and no system calls, knows nothing
 * about messages or devices, and never marks anything broken itself: that is
 * the caller's decision.
 *
 * Ring memory is shared with a concurrently running driver, so single fields
 * are accessed with __atomic builtins (the user-space READ_ONCE/WRITE_ONCE)
 * and every barrier names the driver-side barrier it pairs with; the driver
 * side referred to is Linux drivers/virtio/virtio_ring.c.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "virtqueue.h"

/* A descriptor copied out of shared memory, in host byte order. */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Ring sizes as the spec lays them out (2.7), event fields included. */
static uint64_t vq_desc_bytes(uint32_t size)
{
	return sizeof(struct vring_desc) * (uint64_t)size;
}

/* flags, idx, ring[size], used_event */
static uint64_t vq_avail_bytes(uint32_t size)
{
	return sizeof(struct vring_avail) + sizeof(__virtio16) * (size + 1ULL);
}

/* flags, idx, ring[size], avail_event */
static uint64_t vq_used_bytes(uint32_t size)
{
	return sizeof(struct vring_used) +
	       sizeof(struct vring_used_elem) * (uint64_t)size +
	       sizeof(__virtio16);
}

static uint16_t vq_load16(const __virtio16 *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void vq_store16(__virtio16 *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

/* used_event lives after the avail ring, avail_event after the used ring. */
static __virtio16 *vq_used_event(const struct vmsg_vq *vq)
{
	return &vq->avail->ring[vq->size];
}

static __virtio16 *vq_avail_event(const struct vmsg_vq *vq)
{
	return (__virtio16 *)&vq->used->ring[vq->size];
}

static void *vq_map(const struct vmsg_region *r, uint64_t addr, uint64_t len,
		    uint64_t align)
{
	if (addr & (align - 1))
		return NULL;
	return vmsg_region_ptr(r, addr, len);
}

int vmsg_vq_setup(struct vmsg_vq *vq, const struct vmsg_region *region,
		  uint32_t size, uint32_t max_size, uint64_t desc_addr,
		  uint64_t driver_addr, uint64_t device_addr)
{
	void *desc, *avail, *used;
	bool event_idx, indirect;

	if (!size || size > max_size || size > VMSG_VQ_MAX_SIZE ||
	    (size & (size - 1)))
		return -EINVAL;
	desc = vq_map(region, desc_addr, vq_desc_bytes(size),
		      VRING_DESC_ALIGN_SIZE);
	avail = vq_map(region, driver_addr, vq_avail_bytes(size),
		       VRING_AVAIL_ALIGN_SIZE);
	used = vq_map(region, device_addr, vq_used_bytes(size),
		      VRING_USED_ALIGN_SIZE);
	if (!desc || !avail || !used)
		return -EINVAL;

	/* The transport may have set the ring features already; keep them. */
	event_idx = vq->event_idx;
	indirect = vq->indirect;
	memset(vq, 0, sizeof(*vq));
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->size = size;
	vq->desc_addr = desc_addr;
	vq->driver_addr = driver_addr;
	vq->device_addr = device_addr;
	vq->region = region;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	return 0;
}

void vmsg_vq_reset(struct vmsg_vq *vq)
{
	memset(vq, 0, sizeof(*vq));
}

/*
 * Copy descriptor i of a table out of shared memory (XSA-155). memcpy, not
 * field loads: an indirect table need not be aligned (the spec sets no
 * alignment for it), and every check below works on this private copy.
 */
static void vq_read_desc(const struct vring_desc *table, uint32_t i,
			 struct vq_desc *d)
{
	struct vring_desc s;

	memcpy(&s, (const uint8_t *)table + (size_t)i * sizeof(s), sizeof(s));
	d->addr = le64toh(s.addr);
	d->len = le32toh(s.len);
	d->flags = le16toh(s.flags);
	d->next = le16toh(s.next);
}

static void vq_chain_init(struct vmsg_chain *c, uint16_t head)
{
	c->head = head;
	c->n_out = 0;
	c->n_in = 0;
	c->out_len = 0;
	c->in_len = 0;
}

/* Append one checked buffer descriptor to the chain. */
static int vq_chain_add(struct vmsg_chain *c, const struct vmsg_region *r,
			const struct vq_desc *d)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;
	uint64_t *total = writable ? &c->in_len : &c->out_len;
	struct iovec *iov;
	void *p;

	if (c->n_out + c->n_in >= VMSG_CHAIN_MAX_SEGS)
		return -EIO;
	/* 2.7.4.2: all device-readable descriptors come first. */
	if (!writable && c->n_in)
		return -EIO;
	/* Totals are reported to the driver as a u32 used length. */
	if (*total + d->len > UINT32_MAX)
		return -EIO;
	p = vmsg_region_ptr(r, d->addr, d->len);
	if (!p)
		return -EIO;

	iov = &c->iov[c->n_out + c->n_in];
	iov->iov_base = p;
	iov->iov_len = d->len;
	*total += d->len;
	if (writable)
		c->n_in++;
	else
		c->n_out++;
	return 0;
}

/*
 * Walk the indirect table d refers to (2.7.5.3.2): the driver must have
 * negotiated it, d must not also chain on, the table must be a whole number
 * of descriptors inside the region, and its entries must not be indirect
 * again. The walk is bounded by the entry count, so a loop is caught.
 */
static int vq_walk_indirect(const struct vmsg_vq *vq, struct vmsg_chain *c,
			    const struct vq_desc *d)
{
	const struct vring_desc *table;
	struct vq_desc e;
	uint32_t n, i = 0, ttl;
	int ret;

	if (!vq->indirect || (d->flags & VRING_DESC_F_NEXT))
		return -EIO;
	if (!d->len || d->len % sizeof(struct vring_desc))
		return -EIO;
	table = vq_map(vq->region, d->addr, d->len, 1);
	if (!table)
		return -EIO;

	n = d->len / sizeof(struct vring_desc);
	for (ttl = n; ttl; ttl--) {
		vq_read_desc(table, i, &e);
		if (e.flags & VRING_DESC_F_INDIRECT)
			return -EIO;
		ret = vq_chain_add(c, vq->region, &e);
		if (ret)
			return ret;
		if (!(e.flags & VRING_DESC_F_NEXT))
			return 0;
		if (e.next >= n)
			return -EIO;
		i = e.next;
	}
	return -EIO;
}

/* Walk the chain starting at head; at most size direct descriptors. */
static int vq_walk_chain(const struct vmsg_vq *vq, struct vmsg_chain *c,
			 uint16_t head)
{
	struct vq_desc d;
	uint32_t i = head, ttl;
	int ret;

	vq_chain_init(c, head);
	for (ttl = vq->size; ttl; ttl--) {
		vq_read_desc(vq->desc, i, &d);
		/* INDIRECT without NEXT ends the chain: checked in there. */
		if (d.flags & VRING_DESC_F_INDIRECT)
			return vq_walk_indirect(vq, c, &d);
		ret = vq_chain_add(c, vq->region, &d);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->size)
			return -EIO;
		i = d.next;
	}
	return -EIO;
}

int vmsg_vq_pop(struct vmsg_vq *vq, struct vmsg_chain *chain)
{
	uint16_t avail_idx, pending, head;
	int ret;

	if (!vmsg_vq_ready(vq))
		return 0;
	/*
	 * Read avail->idx once, then the ring entries it covers. Acquire
	 * pairs with the driver's write barrier (virtio_wmb() in
	 * virtqueue_add_split()) between writing the ring entry and
	 * publishing the new avail->idx.
	 */
	avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	pending = avail_idx - vq->last_avail_idx;
	if (!pending)
		return 0;
	if (pending > vq->size)
		return -EIO;
	/* A driver cannot have more chains out than it has descriptors. */
	if (vq->inflight >= vq->size)
		return -EIO;

	head = vq_load16(&vq->avail->ring[vq->last_avail_idx & (vq->size - 1)]);
	if (head >= vq->size)
		return -EIO;
	ret = vq_walk_chain(vq, chain, head);
	if (ret)
		return ret;

	vq->last_avail_idx++;
	vq->inflight++;
	/*
	 * As QEMU does, keep avail_event just behind what we consumed so a
	 * model that never calls vmsg_vq_set_notify() still gets kicks. It
	 * does not close the race with a driver adding buffers right now:
	 * that still takes vmsg_vq_set_notify(vq, true) and another pop.
	 */
	if (vq->event_idx)
		vq_store16(vq_avail_event(vq), vq->last_avail_idx);
	return 1;
}

int vmsg_vq_push(struct vmsg_vq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;
	uint16_t old = vq->used_idx;

	/* The driver cannot cause these: a model bug or a double push. */
	if (!vmsg_vq_ready(vq) || head >= vq->size || !vq->inflight)
		return -EIO;

	e = &vq->used->ring[old & (vq->size - 1)];
	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(len), __ATOMIC_RELAXED);
	vq->used_idx = old + 1;
	/*
	 * Publish the element before the index. Release pairs with the
	 * driver's read barrier (virtio_rmb() in virtqueue_get_buf_ctx_split())
	 * between reading used->idx and reading the element.
	 */
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx),
			 __ATOMIC_RELEASE);
	vq->inflight--;

	/*
	 * As vhost_add_used_n(): if used_idx wrapped all the way round to the
	 * last signalled value, that value no longer means anything.
	 */
	if ((uint16_t)(vq->used_idx - vq->signalled_used) <
	    (uint16_t)(vq->used_idx - old))
		vq->signalled_used_valid = false;
	return 0;
}

bool vmsg_vq_should_notify(struct vmsg_vq *vq)
{
	uint16_t old, event;
	bool valid;

	if (!vmsg_vq_ready(vq))
		return false;
	/*
	 * Order our used->idx store before reading the driver's suppression
	 * state (vhost_notify()'s smp_mb()). Pairs with the driver's full
	 * barrier between writing used_event or clearing NO_INTERRUPT and
	 * re-reading used->idx (virtio_store_mb() / virtio_mb() in
	 * virtqueue_enable_cb_delayed_split() and virtqueue_poll()).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	if (!vq->event_idx)
		return !(vq_load16(&vq->avail->flags) &
			 VRING_AVAIL_F_NO_INTERRUPT);

	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	event = vq_load16(vq_used_event(vq));
	return vring_need_event(event, vq->used_idx, old);
}

void vmsg_vq_set_notify(struct vmsg_vq *vq, bool enable)
{
	if (!vmsg_vq_ready(vq))
		return;
	if (vq->event_idx) {
		/*
		 * As in vhost, EVENT_IDX offers no way to switch kicks off;
		 * leaving avail_event alone lets the driver run ahead of it.
		 */
		if (!enable)
			return;
		vq_store16(vq_avail_event(vq), vq->last_avail_idx);
	} else {
		vq_store16(&vq->used->flags,
			   enable ? 0 : VRING_USED_F_NO_NOTIFY);
	}
	if (!enable)
		return;
	/*
	 * The store above must be visible before the caller re-reads
	 * avail->idx in vmsg_vq_pop() (vhost_enable_notify()'s smp_mb()).
	 * Pairs with the driver's full barrier between publishing avail->idx
	 * and reading used->flags or avail_event (virtio_mb() in
	 * virtqueue_kick_prepare_split()).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Copy between buf and the bytes of an iovec array from byte off on. */
static size_t vmsg_iov_copy(const struct iovec *iov, unsigned int cnt,
			    uint64_t off, uint8_t *buf, size_t len, bool to_iov)
{
	size_t done = 0, n;
	unsigned int i;
	uint8_t *p;

	for (i = 0; i < cnt && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off;
		if (n > len - done)
			n = len - done;
		p = (uint8_t *)iov[i].iov_base + off;
		if (to_iov)
			memcpy(p, buf + done, n);
		else
			memcpy(buf + done, p, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t vmsg_iov_to_buf(const struct iovec *iov, unsigned int cnt,
		       uint64_t off, void *buf, size_t len)
{
	return vmsg_iov_copy(iov, cnt, off, buf, len, false);
}

size_t vmsg_iov_from_buf(const struct iovec *iov, unsigned int cnt,
			 uint64_t off, const void *buf, size_t len)
{
	/* to_iov: buf is only read */
	return vmsg_iov_copy(iov, cnt, off, (uint8_t *)(uintptr_t)buf, len,
			     true);
}

size_t vmsg_chain_from_iov(const struct vmsg_chain *chain, uint64_t off,
			   void *buf, size_t len)
{
	return vmsg_iov_to_buf(vmsg_chain_out(chain), chain->n_out, off, buf,
			       len);
}

size_t vmsg_chain_to_iov(const struct vmsg_chain *chain, uint64_t off,
			 const void *buf, size_t len)
{
	return vmsg_iov_from_buf(vmsg_chain_in(chain), chain->n_in, off, buf,
				 len);
}
