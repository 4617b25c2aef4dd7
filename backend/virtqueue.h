/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device side of a split virtqueue (virtio 1.2 section 2.7).
 *
 * The engine reads driver memory only through the bus's shared region and
 * treats the driver as hostile: every index, descriptor, length and address
 * is checked, and a ring that breaks the rules makes the calls below return
 * -EIO, after which the caller marks the device broken (NEEDS_RESET). It does
 * no system calls and never touches memory outside the region.
 *
 * Each descriptor is copied out of shared memory before it is checked; the
 * avail index is read once per pop (XSA-155).
 */
#ifndef VMSG_VIRTQUEUE_H
#define VMSG_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "region.h"

/* Largest queue we offer, and longest chain (all descriptors, incl. indirect) */
#define VMSG_VQ_MAX_SIZE	1024
#define VMSG_CHAIN_MAX_SEGS	256

struct vring_desc;
struct vring_avail;
struct vring_used;

struct vmsg_vq {
	/* Set by vmsg_vq_setup(); size 0 means "not set up". */
	uint32_t size;
	uint64_t desc_addr;
	uint64_t driver_addr;
	uint64_t device_addr;
	const struct vmsg_region *region;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;

	/* Negotiated ring features, set by the transport at DRIVER_OK. */
	bool event_idx;
	bool indirect;

	/* Device-private state, never read back from shared memory. */
	uint16_t last_avail_idx;	/* next avail entry to consume */
	uint16_t used_idx;		/* next used entry to fill */
	uint16_t signalled_used;	/* used_idx at the last notification */
	bool signalled_used_valid;
	unsigned int inflight;		/* chains popped, not yet pushed */
};

/*
 * One descriptor chain as handed to a device model: iov[0..n_out) are
 * device-readable, iov[n_out..n_out+n_in) device-writable, all inside the
 * region. Models write only through vmsg_chain_to_iov() and friends.
 */
struct vmsg_chain {
	uint16_t head;
	unsigned int n_out;
	unsigned int n_in;
	uint64_t out_len;	/* total readable bytes */
	uint64_t in_len;	/* total writable bytes */
	struct iovec iov[VMSG_CHAIN_MAX_SEGS];
};

/*
 * Check and record a queue's geometry: size a power of two in
 * [1, max_size], each ring aligned as the spec requires (desc 16, avail 2,
 * used 4) and wholly inside the region. 0 or -EINVAL (nothing recorded).
 */
int vmsg_vq_setup(struct vmsg_vq *vq, const struct vmsg_region *region,
		  uint32_t size, uint32_t max_size, uint64_t desc_addr,
		  uint64_t driver_addr, uint64_t device_addr);

/* Forget everything: the queue is "not set up" again. */
void vmsg_vq_reset(struct vmsg_vq *vq);

static inline bool vmsg_vq_ready(const struct vmsg_vq *vq)
{
	return vq->size != 0;
}

/*
 * Take the next available chain. 1: *chain filled; 0: nothing available;
 * -EIO: the driver broke the ring (bad avail index, head out of range, loop,
 * bad indirect table, readable after writable, address outside the region,
 * length overflow, too many segments).
 */
int vmsg_vq_pop(struct vmsg_vq *vq, struct vmsg_chain *chain);

/* Return a chain to the driver with len bytes written. 0 or -EIO. */
int vmsg_vq_push(struct vmsg_vq *vq, uint16_t head, uint32_t len);

/*
 * After one or more pushes: must the driver be notified (EVENT_USED)?
 * Honours VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX.
 */
bool vmsg_vq_should_notify(struct vmsg_vq *vq);

/*
 * Ask the driver for (true) or not for (false) EVENT_AVAIL, through
 * VIRTQ_USED_F_NO_NOTIFY or avail_event. After enabling, re-check with
 * vmsg_vq_pop() to close the race with a driver that just added buffers.
 */
void vmsg_vq_set_notify(struct vmsg_vq *vq, bool enable);

/* Copy out of / into any iovec array, starting at byte off. Bytes copied. */
size_t vmsg_iov_to_buf(const struct iovec *iov, unsigned int cnt,
		       uint64_t off, void *buf, size_t len);
size_t vmsg_iov_from_buf(const struct iovec *iov, unsigned int cnt,
			 uint64_t off, const void *buf, size_t len);

/* Copy from the readable part of a chain, starting at byte off. Bytes copied. */
size_t vmsg_chain_from_iov(const struct vmsg_chain *chain, uint64_t off,
			   void *buf, size_t len);
/* Copy into the writable part of a chain, starting at byte off. Bytes copied. */
size_t vmsg_chain_to_iov(const struct vmsg_chain *chain, uint64_t off,
			 const void *buf, size_t len);

static inline const struct iovec *vmsg_chain_out(const struct vmsg_chain *c)
{
	return c->iov;
}

static inline const struct iovec *vmsg_chain_in(const struct vmsg_chain *c)
{
	return c->iov + c->n_out;
}

#endif /* VMSG_VIRTQUEUE_H */
