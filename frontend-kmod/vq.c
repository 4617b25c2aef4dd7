// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-msg transport: virtqueues.
 *
 * find_vqs/del_vqs (GET_VQUEUE, vring creation in the bus region through
 * the bus device's DMA ops, SET_VQUEUE with the rings' bus addresses), the
 * notify hook (EVENT_AVAIL: never sleeps, never waits for an answer) and
 * delivery of EVENT_USED to vring_interrupt(). It also keeps, per queue,
 * the count of buffers the driver has made available and the device has not
 * returned, so that dead.c can fail them if the device side disappears.
 * Only split rings exist here (config.c refuses VIRTIO_F_RING_PACKED).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/log2.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <asm/unaligned.h>

#include "transport_internal.h"

/* Split rings are at most 32768 entries (virtio 1.x §2.7). */
#define VMSG_VQ_SIZE_MAX	32768U
/* Saturation of the per-head counts; a sane pair never leaves -1..1. */
#define VMSG_INFLIGHT_MAX	64

static void vmsg_count(s8 *count, int delta)
{
	*count = clamp(*count + delta, -VMSG_INFLIGHT_MAX, VMSG_INFLIGHT_MAX);
}

/**
 * vmsg_track_avail() - account the heads the driver made available
 * @v: the queue; caller holds v->track_lock
 *
 * Reads the driver-written avail ring from our own shadow index, at most
 * one ring's worth of entries per call. Indices are masked, heads out of
 * range ignored.
 */
void vmsg_track_avail(struct vmsg_vq *v)
{
	const struct vring *vr = virtqueue_get_vring(v->vq);
	struct virtio_device *vdev = v->vq->vdev;
	unsigned int n, slot;
	u16 idx, head;

	lockdep_assert_held(&v->track_lock);
	idx = virtio16_to_cpu(vdev, READ_ONCE(vr->avail->idx));
	/* Pairs with virtio_wmb() before avail->idx in virtqueue_add_split */
	virt_rmb();
	for (n = 0; v->avail_seen != idx && n < v->num; n++) {
		slot = v->avail_seen & (v->num - 1);
		head = virtio16_to_cpu(vdev, READ_ONCE(vr->avail->ring[slot]));
		if (head < v->num)
			vmsg_count(&v->inflight[head], 1);
		v->avail_seen++;
	}
}

/**
 * vmsg_track_used() - account the heads the device returned
 * @v: the queue; caller holds v->track_lock
 *
 * Counts are signed, so seeing a return before the matching avail entry
 * (the two scans are not atomic) balances out. Once dead mode has taken
 * the used ring over, the entries are ours and are not counted here.
 */
void vmsg_track_used(struct vmsg_vq *v)
{
	const struct vring *vr = virtqueue_get_vring(v->vq);
	struct virtio_device *vdev = v->vq->vdev;
	unsigned int n, slot;
	u16 idx;
	u32 id;

	lockdep_assert_held(&v->track_lock);
	if (v->taken_over)
		return;
	idx = virtio16_to_cpu(vdev, READ_ONCE(vr->used->idx));
	/* Pairs with the device's write barrier before used->idx */
	virt_rmb();
	for (n = 0; v->used_seen != idx && n < v->num; n++) {
		slot = v->used_seen & (v->num - 1);
		id = virtio32_to_cpu(vdev, READ_ONCE(vr->used->ring[slot].id));
		if (id < v->num)
			vmsg_count(&v->inflight[id], -1);
		v->used_seen++;
	}
}

static void vmsg_track(struct vmsg_vq *v)
{
	unsigned long flags;

	spin_lock_irqsave(&v->track_lock, flags);
	vmsg_track_avail(v);
	vmsg_track_used(v);
	spin_unlock_irqrestore(&v->track_lock, flags);
}

/* Run the queue's callback, accounting the rings before and after it. */
static void vmsg_deliver(struct vmsg_vq *v)
{
	unsigned long flags;

	spin_lock_irqsave(&v->cb_lock, flags);
	vmsg_track(v);
	vring_interrupt(0, v->vq);
	vmsg_track(v);
	spin_unlock_irqrestore(&v->cb_lock, flags);
}

/**
 * vmsg_event_used() - EVENT_USED from the device
 * @dev: the device (RCU-protected by the caller)
 * @index: queue index as received
 *
 * Any context; the caller holds rcu_read_lock(), which del_vqs waits for.
 * Ignored once the device is dead: the transport returns the buffers then.
 */
void vmsg_event_used(struct vmsg_dev *dev, u32 index)
{
	struct vmsg_vq *v = NULL;
	unsigned int nvqs;

	if (vmsg_dev_dead(dev))
		return;
	/* Pairs with smp_store_release() in vmsg_register() */
	nvqs = smp_load_acquire(&dev->nvqs);
	if (index < nvqs)
		v = rcu_dereference(dev->vqs[index]);
	if (!v) {
		atomic_inc(&dev->t->dropped);
		vmsg_warn_rl(dev, "EVENT_USED for unknown queue %u\n", index);
		return;
	}
	WRITE_ONCE(dev->last_seen, jiffies);
	vmsg_deliver(v);
}

static void vmsg_send_avail(struct vmsg_vq *v)
{
	struct vmsg_dev *dev = v->dev;
	struct virtio_msg_bus *bus = dev->t->bus;
	struct {
		struct virtio_msg_hdr hdr;
		struct virtio_msg_event_avail ev;
	} __packed msg;
	int err;

	vmsg_fill_hdr(&msg.hdr, 0, VIRTIO_MSG_EVENT_AVAIL, dev->dev_num, 0,
		      sizeof(msg));
	msg.ev.vq_index = cpu_to_le32(v->index);
	/* VIRTIO_F_NOTIFICATION_DATA is never negotiated. */
	msg.ev.next_offset_wrap = 0;

	err = bus->ops->send(bus, &msg, sizeof(msg));
	if (!err)
		return;
	if (vmsg_link_gone(err)) {
		vmsg_set_dead(dev, "bus reports device side gone", false);
		return;
	}
	/* Link full: the device may wait for this kick, so send it later. */
	if (err != -ENOSPC)
		vmsg_warn_rl(dev, "EVENT_AVAIL on queue %u: %d\n", v->index,
			     err);
	queue_delayed_work(dev->t->wq, &v->kick_work, 1);
}

static void vmsg_kick_work(struct work_struct *work)
{
	struct vmsg_vq *v = container_of(to_delayed_work(work),
					 struct vmsg_vq, kick_work);

	if (!vmsg_dev_dead(v->dev))
		vmsg_send_avail(v);
}

/*
 * virtqueue notify hook. Any context, including atomic: no sleeping, no
 * waiting for an answer. Never returns false: that would break the queue,
 * and a broken queue cannot complete the buffers dead mode must fail.
 */
static bool vmsg_notify(struct virtqueue *vq)
{
	struct vmsg_vq *v = vq->priv;
	struct vmsg_dev *dev = v->dev;

	vmsg_track(v);
	if (vmsg_dev_dead(dev))
		vmsg_dead_kick(dev);
	else
		vmsg_send_avail(v);
	return true;
}

static bool vmsg_check_vqueue(const void *ask, const u8 *pl, size_t len)
{
	const struct virtio_msg_get_vqueue_req *q = ask;

	return len >= sizeof(struct virtio_msg_get_vqueue_resp) &&
	       get_unaligned_le32(pl) == le32_to_cpu(q->index);
}

static bool vmsg_check_none(const void *ask, const u8 *pl, size_t len)
{
	return true;
}

static int vmsg_get_vqueue(struct vmsg_dev *dev, unsigned int index,
			   u32 *max_size)
{
	struct virtio_msg_get_vqueue_req q = { .index = cpu_to_le32(index) };
	u8 resp[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	int ret;

	mutex_lock(&dev->req_mutex);
	ret = vmsg_call(dev, VIRTIO_MSG_GET_VQUEUE, &q, sizeof(q),
			vmsg_check_vqueue, resp);
	mutex_unlock(&dev->req_mutex);
	if (ret < 0)
		return ret;
	*max_size = get_unaligned_le32(resp + 4);
	return 0;
}

/* Ring addresses are DMA handles of the bus device: bus addresses. */
static int vmsg_set_vqueue(struct vmsg_dev *dev, struct vmsg_vq *v)
{
	struct virtio_msg_set_vqueue_req q = {
		.index = cpu_to_le32(v->index),
		.size = cpu_to_le32(v->num),
		.desc_addr = cpu_to_le64(virtqueue_get_desc_addr(v->vq)),
		.driver_addr = cpu_to_le64(virtqueue_get_avail_addr(v->vq)),
		.device_addr = cpu_to_le64(virtqueue_get_used_addr(v->vq)),
	};
	u8 resp[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	int ret;

	mutex_lock(&dev->req_mutex);
	ret = vmsg_call(dev, VIRTIO_MSG_SET_VQUEUE, &q, sizeof(q),
			vmsg_check_none, resp);
	mutex_unlock(&dev->req_mutex);
	return ret < 0 ? ret : 0;
}

/* Ring size for a device maximum: 0 if there is no such queue. */
static int vmsg_vq_size(struct vmsg_dev *dev, unsigned int index, u32 max)
{
	u32 cap = clamp(vmsg_max_vq_size, 2U, VMSG_VQ_SIZE_MAX);

	if (!max)
		return -ENOENT;
	if (!is_power_of_2(max) || max > VMSG_VQ_SIZE_MAX) {
		vmsg_err(dev, "queue %u: invalid size %u\n", index, max);
		return -EINVAL;
	}
	return min_t(u32, max, rounddown_pow_of_two(cap));
}

static struct vmsg_vq *vmsg_alloc_vq(struct vmsg_dev *dev,
				     unsigned int index)
{
	struct vmsg_vq *v = kzalloc(sizeof(*v), GFP_KERNEL);

	if (!v)
		return NULL;
	v->dev = dev;
	v->index = index;
	spin_lock_init(&v->cb_lock);
	spin_lock_init(&v->track_lock);
	INIT_DELAYED_WORK(&v->kick_work, vmsg_kick_work);
	return v;
}

static void vmsg_free_vq(struct vmsg_vq *v)
{
	cancel_delayed_work_sync(&v->kick_work);
	vring_del_virtqueue(v->vq);
	kfree(v->inflight);
	kfree(v);
}

/*
 * Create queue @index. Once the virtqueue exists it is on vdev->vqs with
 * its vmsg_vq in ->priv, so vmsg_del_vqs() frees it on any later error.
 */
static int vmsg_setup_vq(struct vmsg_dev *dev, unsigned int index,
			 vq_callback_t *cb, const char *name, bool ctx,
			 struct virtqueue **out)
{
	struct virtqueue *vq;
	struct vmsg_vq *v;
	u32 max;
	int num, err;

	if (index >= dev->nvqs)
		return -ENOENT;
	err = vmsg_get_vqueue(dev, index, &max);
	if (err)
		return err;
	num = vmsg_vq_size(dev, index, max);
	if (num < 0)
		return num;
	v = vmsg_alloc_vq(dev, index);
	if (!v)
		return -ENOMEM;
	vq = vring_create_virtqueue(index, num, SMP_CACHE_BYTES, &dev->vdev,
				    true, true, ctx, vmsg_notify, cb, name);
	if (!vq) {
		kfree(v);
		return -ENOMEM;
	}
	vq->priv = v;
	vq->num_max = max;
	v->vq = vq;
	v->num = virtqueue_get_vring_size(vq);
	v->inflight = kcalloc(v->num, sizeof(*v->inflight), GFP_KERNEL);
	if (!v->inflight)
		return -ENOMEM;
	err = vmsg_set_vqueue(dev, v);
	if (err)
		return err;
	rcu_assign_pointer(dev->vqs[index], v);
	*out = vq;
	return 0;
}

/**
 * vmsg_find_vqs() - config op: create the driver's virtqueues
 * @vdev: the device
 * @nvqs: number of entries in the arrays
 * @vqs: filled with the queues (NULL where @names is NULL)
 * @callbacks: per-queue callbacks
 * @names: per-queue names; NULL skips the entry without using an index
 * @ctx: per-queue "context" flags, or NULL
 * @desc: affinity hints, unused (no interrupts here)
 *
 * Return: 0 or a negative errno; on error no queue is left.
 */
int vmsg_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
		  struct virtqueue *vqs[], vq_callback_t *callbacks[],
		  const char * const names[], const bool *ctx,
		  struct irq_affinity *desc)
{
	struct vmsg_dev *dev = to_vmsg_dev(vdev);
	unsigned int i, index = 0;
	int err;

	for (i = 0; i < nvqs; i++) {
		vqs[i] = NULL;
		if (!names[i])
			continue;
		err = vmsg_setup_vq(dev, index++, callbacks[i], names[i],
				    ctx ? ctx[i] : false, &vqs[i]);
		if (err) {
			vmsg_del_vqs(vdev);
			return err;
		}
	}
	return 0;
}

/**
 * vmsg_del_vqs() - config op: delete every virtqueue of @vdev
 * @vdev: the device
 *
 * Unpublishes the queues, waits for deliveries and dead-mode passes in
 * progress (they run under rcu_read_lock()), then frees them.
 */
void vmsg_del_vqs(struct virtio_device *vdev)
{
	struct vmsg_dev *dev = to_vmsg_dev(vdev);
	struct virtqueue *vq, *n;
	unsigned int i;

	for (i = 0; i < dev->nvqs; i++)
		RCU_INIT_POINTER(dev->vqs[i], NULL);
	synchronize_rcu();
	list_for_each_entry_safe(vq, n, &vdev->vqs, list)
		vmsg_free_vq(vq->priv);
}

/**
 * vmsg_synchronize_cbs() - config op: wait for callbacks in progress
 * @vdev: the device
 *
 * Every callback runs inside an RCU read-side section (receive path or
 * dead-mode work), so one grace period covers them all.
 */
void vmsg_synchronize_cbs(struct virtio_device *vdev)
{
	synchronize_rcu();
}
