/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One bus instance as the device side sees it, and the transport core's
 * entry points.
 *
 * A bus (loopback, Xen, the unit tests' test bus) provides the shared region,
 * sends whole messages towards the driver side and feeds every message it
 * receives to vmsg_bus_receive(). It owns its file descriptors and registers
 * them with the daemon's loop. The core owns the devices on the bus and all
 * message semantics (virtio-msg.md sections 3 and 4).
 */
#ifndef VMSG_BUS_H
#define VMSG_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "region.h"

struct vmsg_loop;

/* dev_num 0 is never used for a device; devices are 1..MAX_DEVS-1. */
#define VMSG_BUS_MAX_DEVS	256

struct vmsg_bus_ops {
	/*
	 * Send one whole message (len bytes, header included) to the driver
	 * side. Must not block. 0 or -errno.
	 */
	int (*send)(struct vmsg_bus *bus, const void *msg, size_t len);
	/*
	 * A device was created: make it known to the driver side (loopback:
	 * IOCTL_VMSG_LB_ADD; Xen: EVENT_DEVICE READY). Optional. 0 or -errno
	 * (the device is destroyed again).
	 */
	int (*attach)(struct vmsg_bus *bus, struct vmsg_dev *dev);
	/*
	 * Removal of a device was requested: tell the driver side. The bus
	 * keeps serving it and calls vmsg_bus_destroy_device() once the
	 * driver side has let go (or its own timeout ran out). Optional: NULL
	 * destroys the device at once.
	 */
	void (*detach)(struct vmsg_bus *bus, struct vmsg_dev *dev);
};

struct vmsg_bus_stats {
	uint64_t rx;		/* messages received */
	uint64_t tx;		/* messages sent */
	uint64_t dropped;	/* malformed, unknown or unexpected, dropped */
	uint64_t send_errors;
};

struct vmsg_bus {
	const struct vmsg_bus_ops *ops;
	const char *name;		/* for logs: "loopback", "xen-d3" */
	struct vmsg_region region;
	size_t max_msg_size;		/* VIRTIO_MSG_MIN_SIZE..MAX_SIZE */
	struct vmsg_loop *loop;
	struct vmsg_dev *devs[VMSG_BUS_MAX_DEVS];
	struct vmsg_bus_stats stats;
	struct vmsg_ratelimit rl;
	void *priv;			/* the bus implementation's own */
};

/* Set up the core's part of a bus; the caller has set ops, region, etc. */
void vmsg_bus_init(struct vmsg_bus *bus, const struct vmsg_bus_ops *ops,
		   const char *name, struct vmsg_loop *loop, size_t max_msg_size);
/* Destroy every device (reset first), immediately. */
void vmsg_bus_cleanup(struct vmsg_bus *bus);

/*
 * Handle one message from the driver side: validate the header, dispatch to
 * the bus handler or the device, send the response. 0, or -EBADMSG when the
 * message was dropped (and counted). Never fails the bus by itself.
 */
int vmsg_bus_receive(struct vmsg_bus *bus, const void *msg, size_t len);

/*
 * Create a device from a spec ("blk,path=x.img,ro") with dev_num, or the
 * lowest free one if dev_num is 0, and attach it. Returns the dev_num, or
 * -errno with a one-line reason in err.
 */
int vmsg_bus_add_device(struct vmsg_bus *bus, const char *spec, int dev_num,
			char *err, size_t errlen);
/* Start removing a device (ops->detach). 0 or -ENODEV. */
int vmsg_bus_remove_device(struct vmsg_bus *bus, uint16_t dev_num);
/* Reset and free a device now, and forget it. */
void vmsg_bus_destroy_device(struct vmsg_bus *bus, uint16_t dev_num);

static inline struct vmsg_dev *vmsg_bus_dev(struct vmsg_bus *bus,
					    unsigned int dev_num)
{
	return dev_num && dev_num < VMSG_BUS_MAX_DEVS ? bus->devs[dev_num] :
							NULL;
}

/* Send an event or response that the core built; counts errors. */
int vmsg_bus_send(struct vmsg_bus *bus, const void *msg, size_t len);

/*
 * Like vmsg_bus_add_device(), with the device model given directly instead
 * of looked up by spec->type (the unit tests' fake models use this). spec
 * has been parsed; the model fetches its options from it.
 */
int vmsg_bus_add_device_ops(struct vmsg_bus *bus,
			    const struct vmsg_dev_ops *ops,
			    struct vmsg_spec *spec, int dev_num, char *err,
			    size_t errlen);

/*
 * Send bus EVENT_DEVICE (dev_num, VIRTIO_MSG_DEVICE_READY or _REMOVED) to
 * the driver side, for buses that announce devices in-band. 0 or -errno.
 */
int vmsg_bus_announce(struct vmsg_bus *bus, uint16_t dev_num, uint16_t state);

/*
 * Build one message (header + plen payload bytes, every other byte zero)
 * and send it. type is VIRTIO_MSG_TYPE_* bits. 0 or -errno.
 */
int vmsg_bus_send_msg(struct vmsg_bus *bus, uint8_t type, uint8_t msg_id,
		      uint16_t dev_num, uint16_t token, const void *payload,
		      size_t plen);

/*
 * Internal to the core (transport.c, called by bus.c).
 *
 * vmsg_transport_handle(): carry out transport message msg_id for dev. req
 * holds plen payload bytes, not yet checked against what msg_id needs; resp
 * is resp_max zeroed bytes for the response payload. Returns the response
 * payload length (0 for events and for requests whose response is empty),
 * or -EBADMSG to drop the message.
 */
int vmsg_transport_handle(struct vmsg_dev *dev, uint8_t msg_id,
			  const void *req, size_t plen, void *resp,
			  size_t resp_max);
/* A model's create() succeeded: compute what the device offers. */
void vmsg_transport_init_dev(struct vmsg_dev *dev);

#endif /* VMSG_BUS_H */
