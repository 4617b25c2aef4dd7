// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-msg Xen bus, guest side: messages through the ring page.
 *
 * The data plane of the bus (docs/xen-bus.md, "The ring page"). send()
 * copies a message into the next to_dev slot, or, while that queue is full,
 * into a bounded overflow list in kernel memory that the event handler
 * drains once the backend has consumed. The event handler (hard IRQ,
 * lateeoi) copies every to_drv slot out before looking at it and delivers
 * it to the transport, which accepts any context; GET_DEVICES responses
 * are ours and are matched here, since the transport only handles device
 * messages and EVENT_DEVICE. Every index the backend writes is sanitised
 * on every read; a violation, or backend_alive dropping to 0, stops the
 * ring for good and hands the rest to xenbus.c. This file neither grants
 * memory (shared.c) nor touches xenstore (xenbus.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interrupt.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <xen/events.h>

#include "vmsg_xen.h"

static struct device *vmsg_xen_dev(struct vmsg_xen_conn *conn)
{
	return &conn->xbdev->dev;
}

static void vmsg_xen_drop(struct vmsg_xen_conn *conn, const char *why)
{
	atomic_inc(&conn->stats->dropped);
	dev_warn_ratelimited(vmsg_xen_dev(conn), "dropped message: %s\n", why);
}

/* End the bus request in flight, if any, with @err. Any context. */
static void vmsg_xen_breq_abort(struct vmsg_xen_conn *conn, int err)
{
	struct vmsg_xen_breq *b = &conn->breq;
	unsigned long flags;

	spin_lock_irqsave(&b->lock, flags);
	if (b->waiting) {
		b->waiting = false;
		b->err = err;
		complete(&b->done);
	}
	spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * vmsg_xen_ring_fail() - the backend is gone or broken: stop the ring
 * @conn: the connection
 * @why_bit: VMSG_XEN_GONE (the backend died) or VMSG_XEN_BROKEN (it
 *	violated the protocol)
 * @why: reason, logged once per connection
 *
 * Stops using the ring, fails the bus request in flight and queues the
 * gone work, which tears the connection down from process context. Any
 * context; takes no lock but the bus request's.
 */
void vmsg_xen_ring_fail(struct vmsg_xen_conn *conn, int why_bit,
			const char *why)
{
	set_bit(why_bit, &conn->flags);
	if (test_and_set_bit(VMSG_XEN_STOPPED, &conn->flags))
		return;
	if (why_bit == VMSG_XEN_BROKEN) {
		atomic_inc(&conn->stats->violations);
		dev_err(vmsg_xen_dev(conn),
			"backend protocol violation: %s; ring stopped\n", why);
	} else {
		dev_warn(vmsg_xen_dev(conn), "%s; ring stopped\n", why);
	}
	vmsg_xen_breq_abort(conn, -ENODEV);
	queue_work(system_long_wq, conn->gone_work);
}

/*
 * Producer side: to_dev.
 */

/*
 * Free to_dev slots, or -EPROTO if the backend's index is impossible.
 * Caller holds tx_lock.
 */
static int vmsg_xen_tx_room(struct vmsg_xen_conn *conn)
{
	struct vmsg_xen_ring_page *ring = conn->sh.ring;
	u32 cons, used;

	/*
	 * Acquire: the backend has copied a slot out before it moves cons
	 * past it; pairs with its release store of to_dev.cons.
	 */
	cons = le32_to_cpu(smp_load_acquire(&ring->to_dev.cons));
	used = conn->tx_prod - cons;
	if (used > VMSG_XEN_RING_SLOTS)
		return -EPROTO;
	/* Only we write to_dev.prod */
	if (le32_to_cpu(READ_ONCE(ring->to_dev.prod)) != conn->tx_prod)
		return -EPROTO;
	conn->tx_cons = cons;
	return VMSG_XEN_RING_SLOTS - used;
}

/* Fill the next slot, zero-padded so no stale byte is exposed. */
static void vmsg_xen_tx_put(struct vmsg_xen_conn *conn, const void *msg,
			    size_t len)
{
	u8 *slot = conn->sh.ring->to_dev_slots[conn->tx_prod %
					       VMSG_XEN_RING_SLOTS];

	memcpy(slot, msg, len);
	memset(slot + len, 0, VMSG_XEN_SLOT_SIZE - len);
	conn->tx_prod++;
}

/*
 * Make every filled slot visible to the backend and signal it. Under
 * tx_lock, so that once vmsg_xen_ring_stop() has passed the lock nobody
 * signals an irq that may be unbound.
 */
static void vmsg_xen_tx_kick(struct vmsg_xen_conn *conn)
{
	/* Slots before the index; pairs with the backend's acquire of prod */
	smp_store_release(&conn->sh.ring->to_dev.prod,
			  cpu_to_le32(conn->tx_prod));
	notify_remote_via_irq(conn->irq);
}

/*
 * Move what the overflow list holds into free slots, oldest first.
 * Returns the free slots left, or -EPROTO. Caller holds tx_lock.
 */
static int vmsg_xen_ovf_flush(struct vmsg_xen_conn *conn, bool *kick)
{
	struct vmsg_xen_slot *s;
	int room = vmsg_xen_tx_room(conn);

	while (room > 0 && conn->ovf_count) {
		s = &conn->ovf[conn->ovf_head];
		vmsg_xen_tx_put(conn, s->data, s->len);
		conn->ovf_head = (conn->ovf_head + 1) % VMSG_XEN_OVERFLOW;
		conn->ovf_count--;
		room--;
		*kick = true;
	}
	return room;
}

static int vmsg_xen_ovf_push(struct vmsg_xen_conn *conn, const void *msg,
			     size_t len)
{
	struct vmsg_xen_slot *s;

	if (conn->ovf_count == VMSG_XEN_OVERFLOW)
		return -ENOSPC;
	s = &conn->ovf[(conn->ovf_head + conn->ovf_count) % VMSG_XEN_OVERFLOW];
	memcpy(s->data, msg, len);
	s->len = len;
	conn->ovf_count++;
	atomic_inc(&conn->stats->overflowed);
	return 0;
}

/* Queue one message, keeping order with the overflow list. */
static int vmsg_xen_send_locked(struct vmsg_xen_conn *conn, const void *msg,
				size_t len, bool *kick)
{
	int room;

	if (test_bit(VMSG_XEN_STOPPED, &conn->flags))
		return -EPIPE;
	room = vmsg_xen_ovf_flush(conn, kick);
	if (room < 0)
		return room;
	/* Room left means the overflow list is empty: order is kept. */
	if (room) {
		vmsg_xen_tx_put(conn, msg, len);
		*kick = true;
		return 0;
	}
	return vmsg_xen_ovf_push(conn, msg, len);
}

/*
 * ops->send: any context, never sleeps. Returns 0, -EMSGSIZE, -ENOSPC when
 * the ring and the overflow list are full, -EPIPE once the ring stopped.
 */
static int vmsg_xen_send(struct virtio_msg_bus *bus, const void *msg,
			 size_t len)
{
	struct vmsg_xen_conn *conn = bus->priv;
	unsigned long flags;
	bool kick = false;
	int err;

	if (len < VIRTIO_MSG_HDR_SIZE || len > VMSG_XEN_SLOT_SIZE)
		return -EMSGSIZE;
	spin_lock_irqsave(&conn->tx_lock, flags);
	err = vmsg_xen_send_locked(conn, msg, len, &kick);
	if (kick)
		vmsg_xen_tx_kick(conn);
	spin_unlock_irqrestore(&conn->tx_lock, flags);

	if (err == -EPROTO) {
		vmsg_xen_ring_fail(conn, VMSG_XEN_BROKEN,
				   "to_dev indices out of range");
		return -EPIPE;
	}
	return err;
}

const struct virtio_msg_bus_ops vmsg_xen_bus_ops = {
	.send = vmsg_xen_send,
};

/*
 * On an event: drain the overflow list into the slots the backend freed.
 * Returns the work done (slots moved, or the backend having consumed since
 * the last look), or -EPROTO.
 */
static int vmsg_xen_tx_resume(struct vmsg_xen_conn *conn)
{
	u32 old_cons, old_prod;
	bool kick = false;
	int room, work;

	spin_lock(&conn->tx_lock);
	old_cons = conn->tx_cons;
	old_prod = conn->tx_prod;
	room = vmsg_xen_ovf_flush(conn, &kick);
	if (kick)
		vmsg_xen_tx_kick(conn);
	work = (conn->tx_prod - old_prod) + (conn->tx_cons != old_cons);
	spin_unlock(&conn->tx_lock);

	return room < 0 ? room : work;
}

/*
 * Consumer side: to_drv.
 */

static void vmsg_xen_rx_response(struct vmsg_xen_conn *conn, const u8 *buf,
				 size_t len)
{
	const struct virtio_msg_hdr *hdr = (const void *)buf;
	struct vmsg_xen_breq *b = &conn->breq;
	unsigned long flags;
	bool ok;

	spin_lock_irqsave(&b->lock, flags);
	ok = b->waiting && hdr->msg_id == b->msg_id && !hdr->dev_num &&
	     le16_to_cpu(hdr->token) == b->token;
	if (ok) {
		b->len = len - VIRTIO_MSG_HDR_SIZE;
		memcpy(b->resp, buf + VIRTIO_MSG_HDR_SIZE, b->len);
		b->err = 0;
		b->waiting = false;
		complete(&b->done);
	}
	spin_unlock_irqrestore(&b->lock, flags);
	if (!ok)
		vmsg_xen_drop(conn, "unexpected bus response");
}

/*
 * Bus messages: responses are ours; EVENT_DEVICE goes to the transport,
 * but only for device numbers this bus can have, so that xenbus.c knows
 * every device that may exist.
 */
static void vmsg_xen_rx_bus(struct vmsg_xen_conn *conn, const u8 *buf,
			    size_t len)
{
	const struct virtio_msg_hdr *hdr = (const void *)buf;
	struct virtio_msg_bus_event_device ev;
	u16 dev_num;

	if (hdr->type & VIRTIO_MSG_TYPE_RESPONSE) {
		vmsg_xen_rx_response(conn, buf, len);
		return;
	}
	if (hdr->msg_id == VIRTIO_MSG_BUS_EVENT_DEVICE &&
	    len >= VIRTIO_MSG_HDR_SIZE + sizeof(ev)) {
		memcpy(&ev, buf + VIRTIO_MSG_HDR_SIZE, sizeof(ev));
		dev_num = le16_to_cpu(ev.dev_num);
		if (!dev_num || dev_num > VMSG_XEN_MAX_DEV_NUM) {
			vmsg_xen_drop(conn, "EVENT_DEVICE: bad dev_num");
			return;
		}
	}
	virtio_msg_bus_receive(&conn->bus, buf, len);
}

/* One slot: copied out once, then only the copy is looked at (XSA-155). */
static void vmsg_xen_rx_one(struct vmsg_xen_conn *conn, const u8 *slot)
{
	u8 buf[VMSG_XEN_SLOT_SIZE] __aligned(8);
	const struct virtio_msg_hdr *hdr = (const void *)buf;
	size_t len;

	memcpy(buf, slot, sizeof(buf));
	len = le16_to_cpu(hdr->msg_size);
	if (len < VIRTIO_MSG_HDR_SIZE || len > VMSG_XEN_SLOT_SIZE) {
		vmsg_xen_drop(conn, "bad msg_size");
		return;
	}
	if (hdr->type & VIRTIO_MSG_TYPE_BUS)
		vmsg_xen_rx_bus(conn, buf, len);
	else
		virtio_msg_bus_receive(&conn->bus, buf, len);
}

/*
 * Take what to_drv holds when we look; the backend signals again for
 * anything it adds later, and the event stays pending until our EOI, so
 * nothing is missed and a flooding backend cannot keep us here. Returns
 * the messages consumed, or -EPROTO.
 */
static int vmsg_xen_rx(struct vmsg_xen_conn *conn)
{
	struct vmsg_xen_ring_page *ring = conn->sh.ring;
	u32 cons = conn->rx_cons, prod, n;

	/* Pairs with the backend's release store of to_drv.prod */
	prod = le32_to_cpu(smp_load_acquire(&ring->to_drv.prod));
	n = prod - cons;
	if (n > VMSG_XEN_RING_SLOTS ||
	    le32_to_cpu(READ_ONCE(ring->to_drv.cons)) != cons)
		return -EPROTO;

	for (; cons != prod; cons++) {
		if (test_bit(VMSG_XEN_STOPPED, &conn->flags))
			break;
		vmsg_xen_rx_one(conn,
				ring->to_drv_slots[cons % VMSG_XEN_RING_SLOTS]);
	}
	/* Slots copied out before the index; pairs with backend's acquire */
	smp_store_release(&ring->to_drv.cons, cpu_to_le32(cons));
	conn->rx_cons = cons;
	/* The backend may be waiting for room: the queue was full. */
	if (n == VMSG_XEN_RING_SLOTS)
		notify_remote_via_irq(conn->irq);
	return n;
}

/* One event's work; > 0 if there was any. */
static int vmsg_xen_handle_event(struct vmsg_xen_conn *conn)
{
	int rx, tx;

	if (test_bit(VMSG_XEN_STOPPED, &conn->flags))
		return 0;
	if (!READ_ONCE(conn->sh.ring->backend_alive)) {
		vmsg_xen_ring_fail(conn, VMSG_XEN_GONE,
				   "backend gone (backend_alive cleared)");
		return 1;
	}
	rx = vmsg_xen_rx(conn);
	if (rx < 0) {
		vmsg_xen_ring_fail(conn, VMSG_XEN_BROKEN,
				   "to_drv indices out of range");
		return 1;
	}
	tx = vmsg_xen_tx_resume(conn);
	if (tx < 0) {
		vmsg_xen_ring_fail(conn, VMSG_XEN_BROKEN,
				   "to_dev indices out of range");
		return 1;
	}
	return rx + tx;
}

/*
 * Hard IRQ handler: the transport's receive path accepts any context and
 * only completes requests, runs vring callbacks or queues work, as a
 * virtio-pci interrupt would. An event that found nothing to do is
 * reported spurious, so that Xen's lateeoi code throttles a flooding
 * backend (XSA-391).
 */
static irqreturn_t vmsg_xen_interrupt(int irq, void *dev_id)
{
	struct vmsg_xen_conn *conn = dev_id;
	unsigned int eoi_flags = 0;

	if (vmsg_xen_handle_event(conn) <= 0) {
		atomic_inc(&conn->stats->spurious);
		eoi_flags = XEN_EOI_FLAG_SPURIOUS;
	}
	xen_irq_lateeoi(irq, eoi_flags);
	return IRQ_HANDLED;
}

/**
 * vmsg_xen_ring_init() - set up the message state of a new connection
 * @conn: zeroed connection with its shared memory allocated
 *
 * Return: 0 or -ENOMEM.
 */
int vmsg_xen_ring_init(struct vmsg_xen_conn *conn)
{
	spin_lock_init(&conn->tx_lock);
	mutex_init(&conn->breq.mutex);
	spin_lock_init(&conn->breq.lock);
	init_completion(&conn->breq.done);
	INIT_WORK(&conn->discover_work, vmsg_xen_discover_work);
	conn->ovf = kvcalloc(VMSG_XEN_OVERFLOW, sizeof(*conn->ovf),
			     GFP_KERNEL);
	return conn->ovf ? 0 : -ENOMEM;
}

/**
 * vmsg_xen_ring_free() - free what vmsg_xen_ring_init() allocated
 * @conn: the connection, its irq unbound
 */
void vmsg_xen_ring_free(struct vmsg_xen_conn *conn)
{
	kvfree(conn->ovf);
	conn->ovf = NULL;
	mutex_destroy(&conn->breq.mutex);
}

/**
 * vmsg_xen_ring_start() - bind the event channel to our handler
 * @conn: the connection, its bus registered with the transport
 *
 * Bound only now, while the bus is registered: the handler never sees a
 * bus the transport does not know. An event signalled earlier stays
 * pending and is delivered as soon as the channel is bound.
 *
 * Return: 0 or a negative errno.
 */
int vmsg_xen_ring_start(struct vmsg_xen_conn *conn)
{
	int irq;

	irq = bind_evtchn_to_irqhandler_lateeoi(conn->evtchn,
						vmsg_xen_interrupt, 0,
						conn->name, conn);
	if (irq < 0)
		return irq;
	conn->irq = irq;
	return 0;
}

/**
 * vmsg_xen_ring_stop() - stop using the ring, for good
 * @conn: the connection
 *
 * After this, send() fails with -EPIPE, no handler runs (the irq is
 * unbound, which also closes the event channel) and the bus request in
 * flight has ended. Process context.
 */
void vmsg_xen_ring_stop(struct vmsg_xen_conn *conn)
{
	unsigned long flags;

	set_bit(VMSG_XEN_STOPPED, &conn->flags);
	/* A sender that did not see the bit is done with the ring after this */
	spin_lock_irqsave(&conn->tx_lock, flags);
	spin_unlock_irqrestore(&conn->tx_lock, flags);
	if (conn->irq > 0) {
		unbind_from_irqhandler(conn->irq, conn);
		conn->irq = 0;
		conn->evtchn = 0;
	}
	vmsg_xen_breq_abort(conn, -ENODEV);
}

/**
 * vmsg_xen_ring_closing() - the bus is going away: discovery stops
 * @conn: the connection
 *
 * The ring keeps working (devices are still being removed), but discovery
 * adds no more devices and its request in flight ends now. Any context.
 */
void vmsg_xen_ring_closing(struct vmsg_xen_conn *conn)
{
	set_bit(VMSG_XEN_CLOSING, &conn->flags);
	vmsg_xen_breq_abort(conn, -ESHUTDOWN);
}

/*
 * Bus requests.
 */

/* Publish the request in flight, unless the bus is stopping or closing. */
static int vmsg_xen_breq_start(struct vmsg_xen_conn *conn, u8 msg_id)
{
	struct vmsg_xen_breq *b = &conn->breq;
	unsigned long flags;
	int err = 0;

	spin_lock_irqsave(&b->lock, flags);
	/* Token 0 is for events */
	if (!++b->token)
		b->token = 1;
	b->msg_id = msg_id;
	b->err = 0;
	b->waiting = true;
	reinit_completion(&b->done);
	/*
	 * Whoever sets STOPPED or CLOSING takes the lock afterwards to abort:
	 * either it finds us waiting or we see the bit.
	 */
	if (test_bit(VMSG_XEN_STOPPED, &conn->flags) ||
	    test_bit(VMSG_XEN_CLOSING, &conn->flags)) {
		b->waiting = false;
		err = -ESHUTDOWN;
	}
	spin_unlock_irqrestore(&b->lock, flags);
	return err;
}

/* End the request: its response payload length, or why it failed. */
static int vmsg_xen_breq_end(struct vmsg_xen_conn *conn, int err, u8 *resp)
{
	struct vmsg_xen_breq *b = &conn->breq;
	unsigned long flags;

	spin_lock_irqsave(&b->lock, flags);
	if (b->waiting) {
		b->waiting = false;
		b->err = err;
	}
	err = b->err;
	if (!err) {
		memcpy(resp, b->resp, b->len);
		err = b->len;
	}
	spin_unlock_irqrestore(&b->lock, flags);
	return err;
}

/*
 * One bus request/response round trip; sleeps up to timeout_ms. @resp
 * holds VMSG_XEN_SLOT_SIZE bytes. Returns the response payload length.
 */
static int vmsg_xen_bus_call(struct vmsg_xen_conn *conn, u8 msg_id,
			     const void *req, size_t len, u8 *resp)
{
	u8 msg[VMSG_XEN_SLOT_SIZE] = { 0 };
	struct virtio_msg_hdr *hdr = (void *)msg;
	size_t size = VIRTIO_MSG_HDR_SIZE + len;
	unsigned long timeout;
	int err;

	if (size > VMSG_XEN_SLOT_SIZE)
		return -EMSGSIZE;
	timeout = msecs_to_jiffies(max(READ_ONCE(vmsg_xen_timeout_ms), 1U));

	mutex_lock(&conn->breq.mutex);
	err = vmsg_xen_breq_start(conn, msg_id);
	if (err)
		goto out;
	hdr->type = VIRTIO_MSG_TYPE_BUS;
	hdr->msg_id = msg_id;
	hdr->token = cpu_to_le16(conn->breq.token);
	hdr->msg_size = cpu_to_le16(size);
	memcpy(msg + VIRTIO_MSG_HDR_SIZE, req, len);

	err = vmsg_xen_send(&conn->bus, msg, size);
	if (!err && !wait_for_completion_timeout(&conn->breq.done, timeout))
		err = -ETIMEDOUT;
	err = vmsg_xen_breq_end(conn, err, resp);
out:
	mutex_unlock(&conn->breq.mutex);
	return err;
}

/*
 * Discovery.
 */

/*
 * A GET_DEVICES response must answer the window asked for, carry the
 * bitmap it announces and, if it names a next window, move forward.
 */
static int vmsg_xen_devices_check(unsigned int offset, const u8 *pl,
				  size_t len, unsigned int *count,
				  unsigned int *next)
{
	struct virtio_msg_bus_get_devices_resp r;

	if (len < sizeof(r))
		return -EPROTO;
	memcpy(&r, pl, sizeof(r));
	*count = le16_to_cpu(r.count);
	*next = le16_to_cpu(r.next_offset);
	if (le16_to_cpu(r.offset) != offset || *count % 8 ||
	    *count > VMSG_XEN_DEV_SPAN - offset ||
	    len < sizeof(r) + *count / 8)
		return -EPROTO;
	if (*next && (*next % 8 || *next < offset + *count || *next <= offset))
		return -EPROTO;
	return 0;
}

/* Add every device of a window; -ESHUTDOWN once the bus is going away. */
static int vmsg_xen_add_window(struct vmsg_xen_conn *conn,
			       unsigned int offset, const u8 *bitmap,
			       unsigned int count)
{
	unsigned int i, n;
	int err;

	for (i = 0; i < count; i++) {
		n = offset + i;
		if (!n || !(bitmap[i / 8] & BIT(i % 8)))
			continue;
		if (test_bit(VMSG_XEN_CLOSING, &conn->flags))
			return -ESHUTDOWN;
		err = virtio_msg_bus_add_device(&conn->bus, n);
		if (err == -ESHUTDOWN)
			return err;
		/* -EEXIST: an EVENT_DEVICE announced it first */
		if (err && err != -EEXIST)
			dev_warn(vmsg_xen_dev(conn), "dev %u not added: %d\n",
				 n, err);
	}
	return 0;
}

/* One GET_DEVICES round trip for the window at @offset, then its adds. */
static int vmsg_xen_discover_window(struct vmsg_xen_conn *conn,
				    unsigned int offset, unsigned int *next)
{
	struct virtio_msg_bus_get_devices_req q = {
		.offset = cpu_to_le16(offset),
		.count = cpu_to_le16(VMSG_XEN_DEV_SPAN - offset),
	};
	u8 resp[VMSG_XEN_SLOT_SIZE];
	unsigned int count;
	const u8 *bitmap;
	int n, err;

	n = vmsg_xen_bus_call(conn, VIRTIO_MSG_BUS_GET_DEVICES, &q, sizeof(q),
			      resp);
	if (n < 0)
		return n;
	err = vmsg_xen_devices_check(offset, resp, n, &count, next);
	if (err) {
		vmsg_xen_drop(conn, "malformed GET_DEVICES response");
		return err;
	}
	bitmap = resp + sizeof(struct virtio_msg_bus_get_devices_resp);
	return vmsg_xen_add_window(conn, offset, bitmap, count);
}

/**
 * vmsg_xen_discover_work() - find the backend's devices and add them
 * @work: vmsg_xen_conn.discover_work
 *
 * Windows strictly move forward inside 0..255, so this ends after at most
 * 32 round trips whatever the backend answers. Devices that appear later
 * are announced by EVENT_DEVICE.
 */
void vmsg_xen_discover_work(struct work_struct *work)
{
	struct vmsg_xen_conn *conn = container_of(work, struct vmsg_xen_conn,
						  discover_work);
	unsigned int offset = 0, next = 0;
	int err;

	do {
		err = vmsg_xen_discover_window(conn, offset, &next);
		offset = next;
	} while (!err && offset && offset < VMSG_XEN_DEV_SPAN);

	if (err && err != -ENODEV && err != -ESHUTDOWN)
		dev_err(vmsg_xen_dev(conn), "device discovery failed: %d\n",
			err);
}
