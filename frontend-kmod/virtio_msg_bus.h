/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-msg transport: the interface between the transport module and the
 * bus modules (loopback, Xen).
 *
 * A bus module owns the link to the device side and one shared memory region.
 * It fills a struct virtio_msg_bus and registers it; the transport then owns
 * the virtio devices on that bus, all their virtqueues and buffers (placed in
 * the region through DMA ops the transport installs), and every request /
 * response round trip. The bus module only moves whole messages: send() one
 * towards the device side, virtio_msg_bus_receive() for each one that comes
 * back. It never parses transport messages.
 */
#ifndef _VIRTIO_MSG_BUS_H
#define _VIRTIO_MSG_BUS_H

#include <linux/device.h>
#include <linux/types.h>

struct virtio_msg_bus;
struct virtio_msg_transport;	/* private to the transport */

/**
 * struct virtio_msg_bus_ops - what a bus module provides
 * @send: queue one whole message (@len bytes, header included) towards the
 *	device side. Called from any context, including atomic context (the
 *	EVENT_AVAIL notify path): must not sleep and must not wait for an
 *	answer. Returns 0, or -ENOSPC when the link is full (the transport
 *	fails that request), or -ENODEV/-EPIPE when the device side is gone.
 */
struct virtio_msg_bus_ops {
	int (*send)(struct virtio_msg_bus *bus, const void *msg, size_t len);
};

/**
 * struct virtio_msg_bus - one bus instance
 * @parent: the bus module's device; the transport hangs its devices below it
 * @name: short name for logs and sysfs ("lb", "xen-vmsg-0", ...)
 * @ops: the bus module's operations
 * @max_msg_size: largest message the bus carries, header included
 *	(VIRTIO_MSG_MIN_SIZE..VIRTIO_MSG_MAX_SIZE)
 * @region: kernel mapping of the shared region; every ring and buffer of
 *	every device on this bus is placed inside it
 * @region_size: size of the region in bytes (a multiple of PAGE_SIZE)
 * @priv: the bus module's own data
 * @transport: set by virtio_msg_bus_register(), private to the transport
 *
 * Bus addresses (in SET_VQUEUE and in descriptors) are byte offsets into the
 * region. The transport never hands out the first page, so 0 is never valid.
 */
struct virtio_msg_bus {
	struct device *parent;
	const char *name;
	const struct virtio_msg_bus_ops *ops;
	size_t max_msg_size;
	void *region;
	size_t region_size;
	void *priv;
	struct virtio_msg_transport *transport;
};

/* Set up the region allocator and DMA ops; no device exists yet. */
int virtio_msg_bus_register(struct virtio_msg_bus *bus);
/*
 * Remove every device (as virtio_msg_bus_remove_device()), free the rest.
 * Graceful removal needs the device side's answers, so a bus module either
 * removes its devices first (while it still delivers messages) and then
 * stops calling virtio_msg_bus_receive() before unregistering, or, when the
 * device side is gone, removes them with peer_gone. No receive call may be
 * running or start once unregister has begun freeing: stop the receive
 * path (e.g. free_irq(), which waits for a running handler) first.
 */
void virtio_msg_bus_unregister(struct virtio_msg_bus *bus);

/*
 * Start probing device @dev_num. Returns at once (probing runs from a work
 * item, since it needs the device side to answer); -EEXIST if known.
 */
int virtio_msg_bus_add_device(struct virtio_msg_bus *bus, u16 dev_num);
/*
 * Remove device @dev_num and wait until it is gone. With @peer_gone, the
 * device side will never answer again: pending requests fail at once and
 * buffers in flight are returned to their drivers with errors. -ENODEV if
 * unknown. May sleep.
 */
int virtio_msg_bus_remove_device(struct virtio_msg_bus *bus, u16 dev_num,
				 bool peer_gone);

/*
 * Deliver one message from the device side: a response, EVENT_USED,
 * EVENT_CONFIG or the bus message EVENT_DEVICE. Any context. The transport
 * copies what it keeps; malformed messages are dropped and counted.
 */
void virtio_msg_bus_receive(struct virtio_msg_bus *bus, const void *msg,
			    size_t len);

#endif /* _VIRTIO_MSG_BUS_H */
