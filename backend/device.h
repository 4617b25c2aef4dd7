/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device models and the device-side transport state of one device.
 *
 * A device model is one file with one const struct vmsg_dev_ops, listed in
 * the device-type table (devices.c). A model sees its virtqueues, its config
 * bytes and its host backend; it never sees messages, buses, grants or
 * xenstore. The transport core (transport.c) turns messages into calls of
 * these ops and enforces the virtio rules (features, status, queue setup,
 * nothing processed before DRIVER_OK, nothing after a failure).
 */
#ifndef VMSG_DEVICE_H
#define VMSG_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "spec.h"
#include "virtqueue.h"

struct vmsg_bus;
struct vmsg_dev;
struct vmsg_loop;

#define VMSG_DEV_MAX_QUEUES	64
#define VMSG_DEV_MAX_CONFIG	4096

struct vmsg_dev_ops {
	const char *type;		/* name in device specs: "rng", "blk" */
	uint32_t device_id;		/* virtio device type (VIRTIO_ID_*) */

	/*
	 * Parse the spec's options and open the host backend. Must set
	 * num_queues, queue_max_size, device_features, config and
	 * config_size, and may set priv. On failure return -errno with a one
	 * line reason (naming the option) in err; destroy is not called.
	 */
	int (*create)(struct vmsg_dev *dev, struct vmsg_spec *spec, char *err,
		      size_t errlen);
	/* Free everything create() made. Called after reset(). */
	void (*destroy)(struct vmsg_dev *dev);

	/*
	 * Drop all work in flight, synchronously: once this returns, the model
	 * holds no chain and will touch no queue memory until start().
	 * Called on device reset, on failure and before destroy.
	 */
	void (*reset)(struct vmsg_dev *dev);
	/* DRIVER_OK was set; queues and features are final. Optional. */
	void (*start)(struct vmsg_dev *dev);
	/* The driver made buffers available on queue vq (ready, started). */
	void (*notify)(struct vmsg_dev *dev, unsigned int vq);
	/*
	 * The driver wrote config bytes [off, off + len), already range
	 * checked. Optional: NULL means config is read-only and writes are
	 * rejected. 0 to accept (the model updates dev->config), -errno to
	 * reject.
	 */
	int (*config_write)(struct vmsg_dev *dev, uint32_t off,
			    const uint8_t *data, uint32_t len);
};

struct vmsg_dev {
	const struct vmsg_dev_ops *ops;
	struct vmsg_bus *bus;
	struct vmsg_loop *loop;		/* the daemon's loop, for host fds */
	uint16_t dev_num;
	char name[32];			/* "blk1", for logs */

	/* Set by the model's create(). */
	unsigned int num_queues;
	uint32_t queue_max_size;
	uint64_t device_features;	/* model bits; core adds transport bits */
	uint8_t *config;		/* model-owned, config_size bytes */
	uint32_t config_size;
	void *priv;

	/* Transport state, owned by transport.c. */
	uint64_t offered_features;	/* device_features | transport bits */
	uint64_t driver_features;
	uint32_t status;
	uint32_t generation;
	bool broken;			/* NEEDS_RESET until status 0 */
	bool detaching;			/* removal requested, peer not done */
	struct vmsg_vq vqs[VMSG_DEV_MAX_QUEUES];
	struct vmsg_ratelimit rl;	/* for peer-triggered logs */
};

/* The device-type table (devices.c). NULL if type is unknown. */
const struct vmsg_dev_ops *vmsg_dev_type_find(const char *type);
/* NULL-terminated list, for usage text and the conformance suite. */
extern const struct vmsg_dev_ops *const vmsg_dev_types[];

/*
 * Services the transport core offers to models.
 */

/* true if feature bit was negotiated */
static inline bool vmsg_dev_has_feature(const struct vmsg_dev *dev,
					unsigned int bit)
{
	return bit < 64 && (dev->driver_features >> bit) & 1;
}

/*
 * Return a chain on queue vq with len bytes written, and send EVENT_USED if
 * the ring asks for it. A push the ring refuses fails the device.
 */
void vmsg_dev_used(struct vmsg_dev *dev, unsigned int vq, uint16_t head,
		   uint32_t len);
/*
 * Like vmsg_dev_used() but without the notification; call
 * vmsg_dev_notify_used() once after a batch.
 */
int vmsg_dev_push(struct vmsg_dev *dev, unsigned int vq, uint16_t head,
		  uint32_t len);
void vmsg_dev_notify_used(struct vmsg_dev *dev, unsigned int vq);

/*
 * Fail the device: log why (rate-limited), reset the model, set
 * DEVICE_NEEDS_RESET and send EVENT_CONFIG carrying the status. Further
 * EVENT_AVAIL are ignored until the driver resets the device.
 */
void vmsg_dev_fail(struct vmsg_dev *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The model changed config bytes the driver can see: bump the generation
 * (call before changing the bytes) and, after, send EVENT_CONFIG.
 */
void vmsg_dev_config_begin(struct vmsg_dev *dev);
void vmsg_dev_config_end(struct vmsg_dev *dev);

#endif /* VMSG_DEVICE_H */
