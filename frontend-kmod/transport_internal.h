/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-msg transport: definitions shared by the files of the transport
 * module (transport.c, msg.c, config.c, vq.c, dead.c, region_dma.c).
 *
 * This is not an interface for bus modules (see virtio_msg_bus.h) nor for
 * virtio drivers (they only see struct virtio_device and its config ops).
 * Locking, the dead-device scheme and the DMA scheme are described in
 * docs/transport-kmod.md.
 */
#ifndef _VIRTIO_MSG_TRANSPORT_INTERNAL_H
#define _VIRTIO_MSG_TRANSPORT_INTERNAL_H

#include <linux/completion.h>
#include <linux/device.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/virtio_msg.h>

#include "virtio_msg_bus.h"

/*
 * The largest message this transport ever sends or accepts is
 * VIRTIO_MSG_MAX_SIZE; the smallest bus maximum it accepts is the size of
 * its largest fixed message (SET_VQUEUE and the GET_VQUEUE response).
 */
#define VMSG_MIN_BUS_MSG_SIZE	(VIRTIO_MSG_HDR_SIZE + \
				 sizeof(struct virtio_msg_set_vqueue_req))

/* Cap on the virtqueue pointer array, whatever the device advertises. */
#define VMSG_MAX_VQS		64

/* The class of bus devices: /sys/class/virtio-msg/<bus name> (transport.c) */
extern struct class *vmsg_class;

/* Module parameters (transport.c) */
extern unsigned int vmsg_timeout_ms;
extern unsigned int vmsg_max_vq_size;

static inline unsigned long vmsg_timeout_jiffies(void)
{
	return msecs_to_jiffies(max(READ_ONCE(vmsg_timeout_ms), 1U));
}

/* ops->send() says the device side is gone for good. */
static inline bool vmsg_link_gone(int err)
{
	return err == -ENODEV || err == -EPIPE;
}

struct vmsg_region;
struct vmsg_vq;

/**
 * struct virtio_msg_transport - the transport's state for one bus
 * @bus: the bus module's descriptor
 * @region: region allocator and DMA ops; owns @dev
 * @dev: parent of every virtio device of this bus, carries the DMA ops
 * @lock: serialises add, remove and unregister (never held across a
 *	round trip)
 * @devs: dev_num -> struct vmsg_dev; RCU lookups from the receive path
 * @wq: probe, dead-mode and notify-retry work
 * @event_wq: ordered, EVENT_DEVICE work (READY/REMOVED keep their order)
 * @closing: set by unregister; new devices and events are refused
 * @events_pending: EVENT_DEVICE work items queued
 * @dropped: malformed or unexpected messages dropped
 * @stale: responses that matched no outstanding request
 */
struct virtio_msg_transport {
	struct virtio_msg_bus *bus;
	struct vmsg_region *region;
	struct device *dev;
	struct mutex lock;		/* see above */
	struct xarray devs;
	struct workqueue_struct *wq;
	struct workqueue_struct *event_wq;
	bool closing;
	atomic_t events_pending;
	atomic_t dropped;
	atomic_t stale;
};

/* struct vmsg_dev.flags bits */
enum {
	VMSG_DEV_DEAD,		/* gone or failed: we act as the device */
	VMSG_DEV_REGISTERED,	/* register_virtio_device() succeeded */
	VMSG_DEV_CFG_PENDING,	/* EVENT_CONFIG before registration */
};

/*
 * Response payload validator: @ask is the request payload, @pl (8-byte
 * aligned) and @len the response payload. False drops the response.
 */
typedef bool (*vmsg_check_t)(const void *ask, const u8 *pl, size_t len);

/**
 * struct vmsg_req - one request/response round trip, on the caller's stack
 * @msg_id: request (and expected response) message id
 * @token: token sent; the response must echo it
 * @ask: request payload, also for the echo checks of @check
 * @check: validates the response payload
 * @resp: response payload buffer (VIRTIO_MSG_MAX_SIZE bytes)
 * @resp_len: response payload length
 * @err: 0, or why the request ended without a response
 * @done: completed under vmsg_dev.req_lock when @resp is filled or on abort
 */
struct vmsg_req {
	u8 msg_id;
	u16 token;
	const void *ask;
	vmsg_check_t check;
	u8 *resp;
	size_t resp_len;
	int err;
	struct completion done;
};

/**
 * struct vmsg_dev - one virtio device on a virtio-msg bus
 * @vdev: the virtio device registered with the virtio core
 * @t: its bus
 * @ref: one reference for the bus entry, one for @vdev once registering
 * @dev_num: device number on the bus
 * @flags: VMSG_DEV_* bits
 * @removing: removal started (under virtio_msg_transport.lock)
 * @gone: completed when the removal is over
 * @probe_work: GET_DEVICE_INFO and registration
 * @dead_work: fails buffers in flight once the device is dead
 * @stall_work: during removal, makes the device dead if it shows no sign
 *	of life (a valid response, an EVENT_USED) for timeout_ms
 * @last_seen: jiffies of the last sign of life (READ_ONCE/WRITE_ONCE)
 * @config_size: from GET_DEVICE_INFO
 * @nvqs: size of @vqs (GET_DEVICE_INFO max_virtqueues, capped); set once
 *	before registration with smp_store_release()
 * @vqs: virtqueues by index; RCU readers; written by find_vqs/del_vqs,
 *	which the virtio core serialises
 * @req_mutex: one request at a time on this device
 * @token: last token used (under @req_mutex)
 * @req_lock: protects @req against the receive path
 * @req: the outstanding request, or NULL
 * @status: last status the driver set (under @req_mutex)
 * @generation: last config generation seen (READ_ONCE/WRITE_ONCE)
 * @stale: responses dropped for this device
 * @rs: rate limit of this device's peer-triggered warnings
 */
struct vmsg_dev {
	struct virtio_device vdev;
	struct virtio_msg_transport *t;
	struct kref ref;
	u16 dev_num;
	unsigned long flags;
	bool removing;
	struct completion gone;
	struct work_struct probe_work;
	struct delayed_work dead_work;
	struct delayed_work stall_work;
	unsigned long last_seen;
	u32 config_size;
	unsigned int nvqs;
	struct vmsg_vq __rcu **vqs;
	struct mutex req_mutex;		/* one round trip at a time */
	u16 token;
	spinlock_t req_lock;		/* @req vs. the receive path */
	struct vmsg_req *req;
	u8 status;
	u32 generation;
	atomic_t stale;
	struct ratelimit_state rs;
};

/**
 * struct vmsg_vq - transport state of one virtqueue
 * @vq: the virtio_ring virtqueue
 * @dev: its device
 * @index: queue index on the device
 * @num: ring size (a power of two)
 * @cb_lock: serialises callback delivery (vring_interrupt) on this queue
 * @track_lock: protects everything below; may be taken under @cb_lock
 * @avail_seen: avail ring entries accounted so far (our shadow)
 * @used_seen: used ring entries accounted (the device's), then, once dead,
 *	the next used entry we write ourselves
 * @taken_over: dead mode has taken the used ring over from the device
 * @inflight: per head: times made available minus times returned
 * @kick_work: resends an EVENT_AVAIL the bus had no room for
 */
struct vmsg_vq {
	struct virtqueue *vq;
	struct vmsg_dev *dev;
	unsigned int index;
	unsigned int num;
	spinlock_t cb_lock;		/* one callback delivery at a time */
	spinlock_t track_lock;		/* the accounting fields below */
	u16 avail_seen;
	u16 used_seen;
	bool taken_over;
	s8 *inflight;
	struct delayed_work kick_work;
};

static inline struct vmsg_dev *to_vmsg_dev(struct virtio_device *vdev)
{
	return container_of(vdev, struct vmsg_dev, vdev);
}

static inline bool vmsg_dev_dead(const struct vmsg_dev *dev)
{
	return test_bit(VMSG_DEV_DEAD, &dev->flags);
}

/*
 * Logs name the bus device and the device number, so they work before the
 * virtio device exists. vmsg_warn_rl() is rate-limited per device: use it
 * for anything the peer can trigger.
 */
__printf(2, 3) void vmsg_err(struct vmsg_dev *dev, const char *fmt, ...);
__printf(2, 3) void vmsg_warn(struct vmsg_dev *dev, const char *fmt, ...);
__printf(2, 3) void vmsg_warn_rl(struct vmsg_dev *dev, const char *fmt, ...);

/* transport.c */
void vmsg_dev_put(struct vmsg_dev *dev);
void vmsg_bus_event(struct virtio_msg_transport *t, u16 dev_num, u16 state);

/* msg.c: round trips and the receive path */
int vmsg_call(struct vmsg_dev *dev, u8 msg_id, const void *ask, size_t len,
	      vmsg_check_t check, u8 *resp);
void vmsg_abort_request(struct vmsg_dev *dev, int err);
void vmsg_fill_hdr(struct virtio_msg_hdr *hdr, u8 type, u8 msg_id,
		   u16 dev_num, u16 token, size_t size);
void vmsg_drop(struct virtio_msg_transport *t, const char *why);

/* config.c */
extern const struct virtio_config_ops vmsg_config_ops;
int vmsg_get_device_info(struct vmsg_dev *dev, u32 *device_id,
			 u32 *vendor_id, u32 *max_vqs);
void vmsg_event_config(struct vmsg_dev *dev, const u8 *pl, size_t len);
void vmsg_dev_registered(struct vmsg_dev *dev);

/* vq.c */
int vmsg_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
		  struct virtqueue *vqs[], vq_callback_t *callbacks[],
		  const char * const names[], const bool *ctx,
		  struct irq_affinity *desc);
void vmsg_del_vqs(struct virtio_device *vdev);
void vmsg_synchronize_cbs(struct virtio_device *vdev);
void vmsg_event_used(struct vmsg_dev *dev, u32 index);
void vmsg_track_avail(struct vmsg_vq *v);
void vmsg_track_used(struct vmsg_vq *v);

/* dead.c */
void vmsg_set_dead(struct vmsg_dev *dev, const char *why, bool quiesce);
void vmsg_dead_work(struct work_struct *work);
void vmsg_dead_kick(struct vmsg_dev *dev);

/* region_dma.c */
int vmsg_region_create(struct virtio_msg_transport *t,
		       const struct attribute_group **groups);
void vmsg_region_destroy(struct virtio_msg_transport *t);
void *vmsg_region_ptr(struct virtio_msg_transport *t, u64 addr, u64 len);

#endif /* _VIRTIO_MSG_TRANSPORT_INTERNAL_H */
