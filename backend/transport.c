// SPDX-License-Identifier: GPL-2.0
/*
 * Device side of the virtio-msg transport (virtio-msg.md section 3): turns
 * each transport message for one device into the matching virtio operation
 * and enforces the virtio rules a driver could break: features are masked
 * to what was offered and frozen at FEATURES_OK, status bits only ever get
 * added (0 resets), queues are set up only between FEATURES_OK and
 * DRIVER_OK, config accesses are bounds-checked, nothing reaches the model
 * before DRIVER_OK or after a failure. It also provides the services models
 * call (used buffers, failure, config change).
 *
 * It never sees a raw message: bus.c has validated the header, copied the
 * message out of any shared memory and picked the device. It does not send
 * responses either (bus.c does); it only sends the device's own events.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_msg.h>
#include <linux/virtio_ring.h>

#include "bus.h"
#include "device.h"

/*
 * GET_DEVICE_INFO vendor_id: "VMSG" in ASCII, read as a little-endian u32.
 * Like virtio-mmio's VendorID it only identifies the implementation;
 * drivers must not depend on it.
 */
#define VMSG_VENDOR_ID		0x47534d56

/* We implement feature bits 0..63 only: two 32-bit blocks. */
#define VMSG_FEATURE_BLOCKS	2
#define VMSG_FEATURE_BITS	(32 * VMSG_FEATURE_BLOCKS)

#define BIT_ULL(n)		(1ULL << (n))

/* Feature bits the transport owns and offers itself (virtio 1.2 6). */
#define VMSG_TRANSPORT_FEATURES						\
	(BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) | \
	 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |				\
	 BIT_ULL(VIRTIO_RING_F_EVENT_IDX))
/*
 * Bits 24..49 are reserved for the transport and for future extensions
 * (virtio 1.2 2.2): a model cannot offer them, so e.g. RING_PACKED or
 * NOTIFICATION_DATA never reach a driver we would not honour.
 */
#define VMSG_RESERVED_FEATURES	(((1ULL << 50) - 1) & ~((1ULL << 24) - 1))

/* Status bits a driver may set; NEEDS_RESET is the device's alone. */
#define VMSG_DRIVER_STATUS						\
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |		\
	 VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FEATURES_OK |	\
	 VIRTIO_CONFIG_S_FAILED)

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Features with the device's and the transport's bits (create() done). */
void vmsg_transport_init_dev(struct vmsg_dev *dev)
{
	dev->offered_features = (dev->device_features &
				 ~VMSG_RESERVED_FEATURES) |
				VMSG_TRANSPORT_FEATURES;
}

/* 32-bit block k of a 64-bit feature set; blocks past bit 63 read 0. */
static uint32_t vmsg_feature_block(uint64_t features, uint64_t k)
{
	return k < VMSG_FEATURE_BLOCKS ? (uint32_t)(features >> (32 * k)) : 0;
}

static void vmsg_set_feature_block(uint64_t *features, uint64_t k,
				   uint32_t val)
{
	uint64_t mask = 0xffffffffULL << (32 * k);

	*features = (*features & ~mask) | ((uint64_t)val << (32 * k));
}

static int vmsg_send_event(struct vmsg_dev *dev, uint8_t msg_id,
			   const void *payload, size_t plen)
{
	return vmsg_bus_send_msg(dev->bus, 0, msg_id, dev->dev_num, 0, payload,
				 plen);
}

/* EVENT_CONFIG with length 0: "status or config changed, re-read". */
static void vmsg_send_config_event(struct vmsg_dev *dev)
{
	struct virtio_msg_event_config ev = {
		.device_status = htole32(dev->status),
		.generation = htole32(dev->generation),
	};

	vmsg_send_event(dev, VIRTIO_MSG_EVENT_CONFIG, &ev, sizeof(ev));
}

static void vmsg_model_reset(struct vmsg_dev *dev)
{
	if (dev->ops->reset)
		dev->ops->reset(dev);
}

/* Status 0: back to the state after create(); generation is kept. */
static void vmsg_dev_reset(struct vmsg_dev *dev)
{
	unsigned int i;

	vmsg_model_reset(dev);
	for (i = 0; i < dev->num_queues; i++)
		vmsg_vq_reset(&dev->vqs[i]);
	dev->driver_features = 0;
	dev->status = 0;
	dev->broken = false;
}

/* DRIVER_OK: the ring features are final, the model may run. */
static void vmsg_dev_start(struct vmsg_dev *dev)
{
	bool event_idx = vmsg_dev_has_feature(dev, VIRTIO_RING_F_EVENT_IDX);
	bool indirect = vmsg_dev_has_feature(dev, VIRTIO_RING_F_INDIRECT_DESC);
	unsigned int i;

	for (i = 0; i < dev->num_queues; i++) {
		if (!vmsg_vq_ready(&dev->vqs[i]))
			continue;
		dev->vqs[i].event_idx = event_idx;
		dev->vqs[i].indirect = indirect;
	}
	if (!dev->broken && dev->ops->start)
		dev->ops->start(dev);
}

/*
 * Without VERSION_1 the driver would use the legacy layout, and without
 * ACCESS_PLATFORM Linux puts rings and buffers at guest-physical addresses
 * outside the shared region (virtio-msg.md 5b): refuse both.
 */
static bool vmsg_features_acceptable(const struct vmsg_dev *dev)
{
	return vmsg_dev_has_feature(dev, VIRTIO_F_VERSION_1) &&
	       vmsg_dev_has_feature(dev, VIRTIO_F_ACCESS_PLATFORM);
}

/* GET_DEVICE_INFO: one fixed answer per device. */
static int vmsg_get_device_info(struct vmsg_dev *dev, const void *req,
				size_t plen, void *resp, size_t resp_max)
{
	struct virtio_msg_get_device_info_resp *p = resp;

	p->device_id = htole32(dev->ops->device_id);
	p->vendor_id = htole32(VMSG_VENDOR_ID);
	p->num_feature_bits = htole32(VMSG_FEATURE_BITS);
	p->config_size = htole32(dev->config_size);
	p->max_virtqueues = htole32(dev->num_queues);
	/* No admin virtqueues: admin_vq_start and admin_vq_count stay 0. */
	return sizeof(*p);
}

/*
 * GET_DEVICE_FEATURES: a request for more blocks than one response can
 * carry is clamped, and the clamped count is what num_blocks echoes, so
 * the driver sees how many blocks it got and can ask for the rest.
 */
static int vmsg_get_device_features(struct vmsg_dev *dev, const void *req,
				    size_t plen, void *resp, size_t resp_max)
{
	const struct virtio_msg_get_device_features_req *r = req;
	struct virtio_msg_get_device_features_resp *p = resp;
	uint64_t first = le32toh(r->block_index);
	size_t n, i;

	n = min_size(le32toh(r->num_blocks),
		     (resp_max - sizeof(*p)) / sizeof(p->features[0]));
	p->block_index = r->block_index;
	p->num_blocks = htole32((uint32_t)n);
	for (i = 0; i < n; i++)
		p->features[i] = htole32(vmsg_feature_block(
			dev->offered_features, first + i));
	return (int)(sizeof(*p) + n * sizeof(p->features[0]));
}

/*
 * SET_DRIVER_FEATURES: each block replaces the driver's block, masked to
 * what was offered. Frozen once FEATURES_OK is set (virtio 1.2 3.1.1).
 */
static int vmsg_set_driver_features(struct vmsg_dev *dev, const void *req,
				    size_t plen, void *resp, size_t resp_max)
{
	const struct virtio_msg_set_driver_features_req *r = req;
	uint64_t first = le32toh(r->block_index);
	uint32_t n = le32toh(r->num_blocks), i;

	if (n > (plen - sizeof(*r)) / sizeof(r->features[0]))
		return -EBADMSG;
	if (dev->status & VIRTIO_CONFIG_S_FEATURES_OK) {
		vmsg_log_rl(&dev->rl, VMSG_LOG_WARN,
			    "%s: features set after FEATURES_OK, ignored",
			    dev->name);
		return 0;
	}
	for (i = 0; i < n && first + i < VMSG_FEATURE_BLOCKS; i++)
		vmsg_set_feature_block(&dev->driver_features, first + i,
				       le32toh(r->features[i]) &
				       vmsg_feature_block(dev->offered_features,
							  first + i));
	return 0;
}

/* [off, off + len) inside the config space and len <= room. */
static bool vmsg_config_range_ok(const struct vmsg_dev *dev, uint32_t off,
				 uint32_t len, size_t room)
{
	return len <= room && off <= dev->config_size &&
	       len <= dev->config_size - off;
}

/*
 * GET_CONFIG: a read that is out of range or larger than one response can
 * carry gets length 0 and no data; drivers split larger reads into chunks
 * and restart when the generation changes between them.
 */
static int vmsg_get_config(struct vmsg_dev *dev, const void *req,
			   size_t plen, void *resp, size_t resp_max)
{
	const struct virtio_msg_get_config_req *r = req;
	struct virtio_msg_get_config_resp *p = resp;
	uint32_t off = le32toh(r->offset), len = le32toh(r->length);

	p->generation = htole32(dev->generation);
	p->offset = r->offset;
	if (!vmsg_config_range_ok(dev, off, len, resp_max - sizeof(*p)))
		return sizeof(*p);
	p->length = htole32(len);
	if (len)	/* a model without config space has config NULL */
		memcpy(p->data, dev->config + off, len);
	return (int)(sizeof(*p) + len);
}

/*
 * SET_CONFIG: accepted only at the current generation, in range, and if the
 * model takes it; otherwise length 0. A driver's own write does not bump the
 * generation: the generation tells the driver about changes it did not
 * make, and the writer learns the outcome from this response. The data is
 * not echoed.
 */
static int vmsg_set_config(struct vmsg_dev *dev, const void *req,
			   size_t plen, void *resp, size_t resp_max)
{
	const struct virtio_msg_set_config_req *r = req;
	struct virtio_msg_set_config_resp *p = resp;
	uint32_t off = le32toh(r->offset), len = le32toh(r->length);

	if (len > plen - sizeof(*r))
		return -EBADMSG;
	p->generation = htole32(dev->generation);
	p->offset = r->offset;
	if (le32toh(r->generation) != dev->generation || !len ||
	    !vmsg_config_range_ok(dev, off, len, dev->config_size) ||
	    !dev->ops->config_write ||
	    dev->ops->config_write(dev, off, r->data, len)) {
		vmsg_log_rl(&dev->rl, VMSG_LOG_DEBUG,
			    "%s: config write [%u, +%u) rejected", dev->name,
			    off, len);
		return sizeof(*p);
	}
	p->length = htole32(len);
	return sizeof(*p);
}

static int vmsg_get_device_status(struct vmsg_dev *dev, const void *req,
				  size_t plen, void *resp, size_t resp_max)
{
	struct virtio_msg_get_device_status_resp *p = resp;

	p->status = htole32(dev->status);
	return sizeof(*p);
}

/*
 * Apply a driver's status write other than 0. Bits can only be added; a
 * write that would clear one is ignored. FEATURES_OK is refused (left
 * clear) unless the features are acceptable, DRIVER_OK without FEATURES_OK.
 */
static void vmsg_status_add(struct vmsg_dev *dev, uint32_t req)
{
	uint32_t old = dev->status, new, added;

	new = (req & VMSG_DRIVER_STATUS) | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	if ((new & old) != old) {
		vmsg_log_rl(&dev->rl, VMSG_LOG_WARN,
			    "%s: status 0x%x would clear bits of 0x%x, ignored",
			    dev->name, req, old);
		return;
	}
	added = new & ~old;
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !vmsg_features_acceptable(dev))
		new &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	if (!(new & VIRTIO_CONFIG_S_FEATURES_OK))
		new &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	dev->status = new;
	if (new & added & VIRTIO_CONFIG_S_DRIVER_OK)
		vmsg_dev_start(dev);
}

static int vmsg_set_device_status(struct vmsg_dev *dev, const void *req,
				  size_t plen, void *resp, size_t resp_max)
{
	const struct virtio_msg_set_device_status_req *r = req;
	struct virtio_msg_set_device_status_resp *p = resp;
	uint32_t status = le32toh(r->status);

	if (status)
		vmsg_status_add(dev, status);
	else
		vmsg_dev_reset(dev);
	p->status = htole32(dev->status);
	return sizeof(*p);
}

/*
 * GET_VQUEUE: max_size 0 (and all else 0) for a queue that does not exist.
 * Its response, like a SET_VQUEUE request, is 48 bytes: a bus advertising
 * less (the spec's minimum is 44) cannot carry either, and the core counts
 * the response as a send error rather than truncating it.
 */
static int vmsg_get_vqueue(struct vmsg_dev *dev, const void *req,
			   size_t plen, void *resp, size_t resp_max)
{
	const struct virtio_msg_get_vqueue_req *r = req;
	struct virtio_msg_get_vqueue_resp *p = resp;
	uint32_t index = le32toh(r->index);
	const struct vmsg_vq *vq;

	p->index = r->index;
	if (index >= dev->num_queues)
		return sizeof(*p);
	vq = &dev->vqs[index];
	p->max_size = htole32(dev->queue_max_size);
	p->cur_size = htole32(vq->size);
	p->desc_addr = htole64(vq->desc_addr);
	p->driver_addr = htole64(vq->driver_addr);
	p->device_addr = htole64(vq->device_addr);
	return sizeof(*p);
}

/*
 * SET_VQUEUE has no response payload, so an invalid request can only be
 * ignored (and logged); the driver's DRIVER_OK then starts a device
 * without that queue. The queue is only replaced once the new geometry
 * passed vmsg_vq_setup(), so a bad request leaves a good queue alone.
 */
static int vmsg_set_vqueue(struct vmsg_dev *dev, const void *req,
			   size_t plen, void *resp, size_t resp_max)
{
	const struct virtio_msg_set_vqueue_req *r = req;
	uint32_t index = le32toh(r->index);
	struct vmsg_vq vq;

	if (!(dev->status & VIRTIO_CONFIG_S_FEATURES_OK) ||
	    (dev->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    index >= dev->num_queues) {
		vmsg_log_rl(&dev->rl, VMSG_LOG_WARN,
			    "%s: SET_VQUEUE %u in status 0x%x ignored",
			    dev->name, index, dev->status);
		return 0;
	}
	memset(&vq, 0, sizeof(vq));
	if (vmsg_vq_setup(&vq, &dev->bus->region, le32toh(r->size),
			  dev->queue_max_size, le64toh(r->desc_addr),
			  le64toh(r->driver_addr), le64toh(r->device_addr))) {
		vmsg_log_rl(&dev->rl, VMSG_LOG_WARN,
			    "%s: SET_VQUEUE %u: bad size or address, ignored",
			    dev->name, index);
		return 0;
	}
	dev->vqs[index] = vq;
	return 0;
}

/* RESET_VQUEUE needs VIRTIO_F_RING_RESET, which is never offered. */
static int vmsg_reset_vqueue(struct vmsg_dev *dev, const void *req,
			     size_t plen, void *resp, size_t resp_max)
{
	return 0;
}

/* GET_SHM: no device has shared memory regions; length 0 = none. */
static int vmsg_get_shm(struct vmsg_dev *dev, const void *req, size_t plen,
			void *resp, size_t resp_max)
{
	const struct virtio_msg_get_shm_req *r = req;
	struct virtio_msg_get_shm_resp *p = resp;

	p->index = r->index;
	return sizeof(*p);
}

/*
 * EVENT_AVAIL: a kick for a queue the model may not touch yet (or any more)
 * is ignored. A model's start() looks at its queues anyway, so a kick that
 * came before DRIVER_OK is not lost. next_offset_wrap is ignored: we do not
 * offer VIRTIO_F_NOTIFICATION_DATA.
 */
static int vmsg_event_avail(struct vmsg_dev *dev, const void *req,
			    size_t plen, void *resp, size_t resp_max)
{
	const struct virtio_msg_event_avail *r = req;
	uint32_t index = le32toh(r->vq_index);

	if (!(dev->status & VIRTIO_CONFIG_S_DRIVER_OK) || dev->broken ||
	    index >= dev->num_queues || !vmsg_vq_ready(&dev->vqs[index])) {
		vmsg_log_rl(&dev->rl, VMSG_LOG_DEBUG,
			    "%s: EVENT_AVAIL for queue %u ignored", dev->name,
			    index);
		return 0;
	}
	if (dev->ops->notify)
		dev->ops->notify(dev, index);
	return 0;
}

struct vmsg_transport_msg {
	size_t req_len;		/* fixed part of the request payload */
	int (*fn)(struct vmsg_dev *dev, const void *req, size_t plen,
		  void *resp, size_t resp_max);
};

/* msg_ids a driver may send; everything else is dropped. */
static const struct vmsg_transport_msg vmsg_transport_msgs[256] = {
	[VIRTIO_MSG_GET_DEVICE_INFO] = { 0, vmsg_get_device_info },
	[VIRTIO_MSG_GET_DEVICE_FEATURES] = {
		sizeof(struct virtio_msg_get_device_features_req),
		vmsg_get_device_features },
	[VIRTIO_MSG_SET_DRIVER_FEATURES] = {
		sizeof(struct virtio_msg_set_driver_features_req),
		vmsg_set_driver_features },
	[VIRTIO_MSG_GET_CONFIG] = { sizeof(struct virtio_msg_get_config_req),
				    vmsg_get_config },
	[VIRTIO_MSG_SET_CONFIG] = { sizeof(struct virtio_msg_set_config_req),
				    vmsg_set_config },
	[VIRTIO_MSG_GET_DEVICE_STATUS] = { 0, vmsg_get_device_status },
	[VIRTIO_MSG_SET_DEVICE_STATUS] = {
		sizeof(struct virtio_msg_set_device_status_req),
		vmsg_set_device_status },
	[VIRTIO_MSG_GET_VQUEUE] = { sizeof(struct virtio_msg_get_vqueue_req),
				    vmsg_get_vqueue },
	[VIRTIO_MSG_SET_VQUEUE] = { sizeof(struct virtio_msg_set_vqueue_req),
				    vmsg_set_vqueue },
	[VIRTIO_MSG_RESET_VQUEUE] = {
		sizeof(struct virtio_msg_reset_vqueue_req),
		vmsg_reset_vqueue },
	[VIRTIO_MSG_GET_SHM] = { sizeof(struct virtio_msg_get_shm_req),
				 vmsg_get_shm },
	[VIRTIO_MSG_EVENT_AVAIL] = { sizeof(struct virtio_msg_event_avail),
				     vmsg_event_avail },
};

int vmsg_transport_handle(struct vmsg_dev *dev, uint8_t msg_id,
			  const void *req, size_t plen, void *resp,
			  size_t resp_max)
{
	const struct vmsg_transport_msg *m = &vmsg_transport_msgs[msg_id];

	if (!m->fn || plen < m->req_len)
		return -EBADMSG;
	return m->fn(dev, req, plen, resp, resp_max);
}

/*
 * Services for device models (device.h).
 */

static struct vmsg_vq *vmsg_dev_live_vq(struct vmsg_dev *dev, unsigned int vq)
{
	if (dev->broken || vq >= dev->num_queues ||
	    !vmsg_vq_ready(&dev->vqs[vq]))
		return NULL;
	return &dev->vqs[vq];
}

/*
 * -ENODEV when the queue is not live (reset, failed or never set up): the
 * model raced with a reset and its chain is simply forgotten. -EIO when the
 * ring refused the push: the driver broke it, so the device fails.
 */
int vmsg_dev_push(struct vmsg_dev *dev, unsigned int vq, uint16_t head,
		  uint32_t len)
{
	struct vmsg_vq *q = vmsg_dev_live_vq(dev, vq);
	int ret;

	if (!q)
		return -ENODEV;
	ret = vmsg_vq_push(q, head, len);
	if (ret)
		vmsg_dev_fail(dev, "queue %u: used ring push of head %u failed",
			      vq, head);
	return ret;
}

void vmsg_dev_notify_used(struct vmsg_dev *dev, unsigned int vq)
{
	struct vmsg_vq *q = vmsg_dev_live_vq(dev, vq);
	struct virtio_msg_event_used ev = { .vq_index = htole32(vq) };

	if (q && vmsg_vq_should_notify(q))
		vmsg_send_event(dev, VIRTIO_MSG_EVENT_USED, &ev, sizeof(ev));
}

void vmsg_dev_used(struct vmsg_dev *dev, unsigned int vq, uint16_t head,
		   uint32_t len)
{
	if (!vmsg_dev_push(dev, vq, head, len))
		vmsg_dev_notify_used(dev, vq);
}

/*
 * Idempotent: a second failure before the driver's reset is only logged,
 * the driver was already told.
 */
void vmsg_dev_fail(struct vmsg_dev *dev, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	vmsg_log_rl(&dev->rl, VMSG_LOG_WARN, "%s: device failed: %s",
		    dev->name, why);
	if (dev->broken)
		return;
	dev->broken = true;
	vmsg_model_reset(dev);
	dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	vmsg_send_config_event(dev);
}

void vmsg_dev_config_begin(struct vmsg_dev *dev)
{
	dev->generation++;
}

void vmsg_dev_config_end(struct vmsg_dev *dev)
{
	vmsg_send_config_event(dev);
}
