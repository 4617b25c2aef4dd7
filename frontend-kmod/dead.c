// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-msg transport: dead devices.
 *
 * A device is dead when its side is gone (removal with peer_gone, the bus
 * reporting the link down), when a request timed out, when it could not be
 * reset or when it reported DEVICE_NEEDS_RESET. Drivers of Linux 6.1 have no
 * timeout of their own (virtio_blk's removal waits for every request in
 * flight), and virtio_break_device() would stop vring_interrupt() from ever
 * completing them. So, once dead, the transport itself plays the device:
 * every buffer in flight is returned in the used ring with length 0 (for
 * virtio-blk its status byte is set to VIRTIO_BLK_S_IOERR first), every
 * later buffer likewise, and requests fail at once. This file does not
 * break queues and does not talk to the device side, except for one
 * best-effort reset so that a live but late device stops using the rings.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rcupdate.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "transport_internal.h"

/* Largest indirect table walked: Linux never builds bigger ones. */
#define VMSG_INDIRECT_MAX	4096U
/*
 * Passes after the first are spaced out: a driver that re-posts what we
 * return (virtio-net refills its receive queue) must not make us spin.
 */
#define VMSG_DEAD_PASS_DELAY	(HZ / 100 ?: 1)

/* One descriptor, copied out of shared memory and converted once. */
struct vmsg_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

static void vmsg_read_desc(struct virtio_device *vdev,
			   const struct vring_desc *d, struct vmsg_desc *out)
{
	out->addr = virtio64_to_cpu(vdev, READ_ONCE(d->addr));
	out->len = virtio32_to_cpu(vdev, READ_ONCE(d->len));
	out->flags = virtio16_to_cpu(vdev, READ_ONCE(d->flags));
	out->next = virtio16_to_cpu(vdev, READ_ONCE(d->next));
}

/*
 * Walk a chain of @n descriptors at @table from index @i, at most @n steps,
 * and remember the last device-writable one. Returns false on an indirect
 * descriptor (it is only valid as the head of the main chain).
 */
static bool vmsg_walk(struct vmsg_vq *v, const struct vring_desc *table,
		      unsigned int n, unsigned int i, struct vmsg_desc *last,
		      struct vmsg_desc *indirect)
{
	struct virtio_device *vdev = v->vq->vdev;
	struct vmsg_desc d;
	unsigned int steps;

	for (steps = 0; steps < n && i < n; steps++) {
		vmsg_read_desc(vdev, &table[i], &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			*indirect = d;
			return false;
		}
		if ((d.flags & VRING_DESC_F_WRITE) && d.len)
			*last = d;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
	}
	return true;
}

/*
 * virtio-blk puts its status byte last in the chain and reads it, not the
 * used length: set it to IOERR or a failed request would look successful.
 * This is the only device-specific code in the transport. Everything read
 * here lives in the shared region and is checked: indices bounded by the
 * table sizes, addresses inside the region.
 */
static void vmsg_blk_ioerr(struct vmsg_vq *v, unsigned int head)
{
	const struct vring *vr = virtqueue_get_vring(v->vq);
	struct virtio_msg_transport *t = v->dev->t;
	struct vmsg_desc last = { 0 }, ind;
	const struct vring_desc *table;
	unsigned int n;
	u8 *buf;

	if (!vmsg_walk(v, vr->desc, v->num, head, &last, &ind)) {
		n = ind.len / sizeof(*table);
		if (ind.len % sizeof(*table) || n > VMSG_INDIRECT_MAX)
			return;
		table = vmsg_region_ptr(t, ind.addr, ind.len);
		if (!table)
			return;
		vmsg_walk(v, table, n, 0, &last, &ind);
	}
	if (!last.len)
		return;
	buf = vmsg_region_ptr(t, last.addr, last.len);
	if (buf)
		WRITE_ONCE(buf[last.len - 1], VIRTIO_BLK_S_IOERR);
}

static void vmsg_push_used(struct vmsg_vq *v, unsigned int head)
{
	const struct vring *vr = virtqueue_get_vring(v->vq);
	struct virtio_device *vdev = v->vq->vdev;
	struct vring_used_elem *e;

	if (vdev->id.device == VIRTIO_ID_BLOCK)
		vmsg_blk_ioerr(v, head);
	e = &vr->used->ring[v->used_seen & (v->num - 1)];
	WRITE_ONCE(e->id, cpu_to_virtio32(vdev, head));
	WRITE_ONCE(e->len, cpu_to_virtio32(vdev, 0));
	v->used_seen++;
}

/*
 * Return every head in flight, publish them, and ask the driver to notify
 * on every later buffer. Returns true if buffers arrived meanwhile that
 * need another pass.
 */
static bool vmsg_fail_inflight(struct vmsg_vq *v)
{
	const struct vring *vr = virtqueue_get_vring(v->vq);
	struct virtio_device *vdev = v->vq->vdev;
	unsigned int head, n = 0;
	u16 idx;

	lockdep_assert_held(&v->track_lock);
	vmsg_track_avail(v);
	for (head = 0; head < v->num && n < v->num; head++) {
		if (v->inflight[head] <= 0)
			continue;
		v->inflight[head] = 0;
		vmsg_push_used(v, head);
		n++;
	}
	/* Entries before the index; pairs with virtio_rmb() in get_buf */
	virt_wmb();
	WRITE_ONCE(vr->used->idx, cpu_to_virtio16(vdev, v->used_seen));

	/* Every later add must notify: vmsg_notify() queues the next pass */
	WRITE_ONCE(vr->used->flags, 0);
	WRITE_ONCE(vring_avail_event(vr), cpu_to_virtio16(vdev, v->avail_seen));
	/* Pairs with virtio_mb() in virtqueue_kick_prepare_split() */
	virt_mb();
	idx = virtio16_to_cpu(vdev, READ_ONCE(vr->avail->idx));
	return idx != v->avail_seen;
}

/* One dead-mode pass over a queue, delivering like a device interrupt. */
static bool vmsg_fail_vq(struct vmsg_vq *v)
{
	unsigned long flags;
	bool again;

	spin_lock_irqsave(&v->cb_lock, flags);
	spin_lock(&v->track_lock);
	if (!v->taken_over) {
		/* Last look at what the device returned before it died. */
		vmsg_track_avail(v);
		vmsg_track_used(v);
		v->taken_over = true;
	}
	again = vmsg_fail_inflight(v);
	spin_unlock(&v->track_lock);
	vring_interrupt(0, v->vq);
	spin_unlock_irqrestore(&v->cb_lock, flags);
	return again;
}

/**
 * vmsg_dead_kick() - buffers were added to a dead device: fail them soon
 * @dev: the device
 *
 * Any context (the notify path).
 */
void vmsg_dead_kick(struct vmsg_dev *dev)
{
	queue_delayed_work(dev->t->wq, &dev->dead_work, VMSG_DEAD_PASS_DELAY);
}

/**
 * vmsg_dead_work() - fail the buffers in flight on every queue of a device
 * @work: vmsg_dev.dead_work
 *
 * Queued when the device goes dead and by every notify afterwards.
 */
void vmsg_dead_work(struct work_struct *work)
{
	struct vmsg_dev *dev = container_of(to_delayed_work(work),
					    struct vmsg_dev, dead_work);
	struct vmsg_vq *v;
	bool again = false;
	unsigned int i, nvqs;

	/* Pairs with smp_store_release() in vmsg_register() */
	nvqs = smp_load_acquire(&dev->nvqs);
	for (i = 0; i < nvqs; i++) {
		rcu_read_lock();
		v = rcu_dereference(dev->vqs[i]);
		if (v && vmsg_fail_vq(v))
			again = true;
		rcu_read_unlock();
	}
	if (again)
		vmsg_dead_kick(dev);
}

/* Best effort: a late but live device must stop using the rings. */
static void vmsg_quiesce(struct vmsg_dev *dev)
{
	struct virtio_msg_bus *bus = dev->t->bus;
	struct {
		struct virtio_msg_hdr hdr;
		struct virtio_msg_set_device_status_req req;
	} __packed msg;

	/* Token 0 matches no request: the answer is dropped as stale. */
	vmsg_fill_hdr(&msg.hdr, 0, VIRTIO_MSG_SET_DEVICE_STATUS,
		      dev->dev_num, 0, sizeof(msg));
	msg.req.status = cpu_to_le32(0);
	bus->ops->send(bus, &msg, sizeof(msg));
}

/**
 * vmsg_set_dead() - the device side is gone or can no longer be trusted
 * @dev: the device
 * @why: reason, logged once
 * @quiesce: the device side may still be there: ask it to reset
 *
 * Any context. Sticky: a dead device stays dead until it is removed. The
 * outstanding request ends at once with -ENODEV, buffers in flight are
 * returned with errors from a work item.
 */
void vmsg_set_dead(struct vmsg_dev *dev, const char *why, bool quiesce)
{
	/* A value-returning atomic: full barrier, see vmsg_start_request() */
	if (test_and_set_bit(VMSG_DEV_DEAD, &dev->flags))
		return;
	vmsg_err(dev, "%s: failing its requests and buffers from now on\n",
		 why);
	vmsg_abort_request(dev, -ENODEV);
	if (quiesce)
		vmsg_quiesce(dev);
	/* The first pass at once: in-flight I/O must fail promptly. */
	mod_delayed_work(dev->t->wq, &dev->dead_work, 0);
}
