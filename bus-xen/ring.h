/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The backend's end of the vmsg Xen message ring (docs/xen-bus.md, "The
 * ring page"): pop messages from the to_dev queue, push messages onto the
 * to_drv queue, with a bounded overflow queue for pushes the ring has no
 * room for yet.
 *
 * Pure memory logic over a struct vmsg_xen_ring_page: no grants, no event
 * channels, no syscalls, so it can be unit tested and fuzzed on ordinary
 * memory. The caller maps the page, notifies the event channel when told to,
 * and closes the bus on -EPROTO. Every index the guest can write is read
 * once, sanitised, and never trusted afterwards; every slot is copied out
 * before its header is looked at (XSA-155). A violation is sticky: once a
 * call returned -EPROTO, every later call does too.
 */
#ifndef VMSG_XEN_RING_H
#define VMSG_XEN_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_msg_xen.h>

/*
 * Pushes the ring could not take yet; a guest that lets more pile up is
 * not consuming and is treated as hostile (XSA-392: bounded memory).
 */
#define VMSG_XEN_RING_OVERFLOW	1024

struct vmsg_xen_ring_msg {
	uint16_t len;
	uint8_t bytes[VMSG_XEN_SLOT_SIZE];
};

struct vmsg_xen_ring {
	struct vmsg_xen_ring_page *page;
	/*
	 * Our own copies of the indices we write; the page's are the peer's
	 * view and only checked against these.
	 */
	uint32_t dev_cons;		/* to_dev: next slot to consume */
	uint32_t drv_prod;		/* to_drv: next slot to produce */
	uint32_t drv_cons;		/* to_drv: last cons the peer showed */
	bool broken;
	/* overflow queue, oldest at ovf_head */
	struct vmsg_xen_ring_msg *ovf;
	unsigned int ovf_head;
	unsigned int ovf_count;
};

/*
 * Take over a ring page the frontend has initialised. Indices are
 * free-running, so any starting values are accepted as long as both queues
 * are consistent (prod - cons <= VMSG_XEN_RING_SLOTS). 0, -ENOMEM, or
 * -EPROTO (the ring is unusable; nothing to clean up but the ring).
 */
int vmsg_xen_ring_init(struct vmsg_xen_ring *r,
		       struct vmsg_xen_ring_page *page);
/* Free the overflow queue; the page is the caller's. Safe twice. */
void vmsg_xen_ring_cleanup(struct vmsg_xen_ring *r);

/*
 * Pop one message from to_dev into msg (VMSG_XEN_SLOT_SIZE bytes); *len is
 * its msg_size. *notify is set to true if the queue was full before, so
 * the caller signals the event channel (a waiting producer resumes), and
 * left alone otherwise. Returns 1 for a message, 0 if the queue is empty,
 * -EPROTO for a hostile index or a msg_size outside 8..VMSG_XEN_SLOT_SIZE.
 */
int vmsg_xen_ring_pop(struct vmsg_xen_ring *r, void *msg, size_t *len,
		      bool *notify);

/*
 * Put one message (len bytes, 8..VMSG_XEN_SLOT_SIZE) straight into a
 * to_drv slot; the rest of the slot is zeroed. 0 (notify the peer),
 * -ENOSPC if the queue is full, -EINVAL for a bad len, -EPROTO for a
 * hostile index.
 */
int vmsg_xen_ring_push(struct vmsg_xen_ring *r, const void *msg, size_t len);

/*
 * Send one message in order: into the ring if nothing is waiting in the
 * overflow queue and a slot is free, else at the end of the overflow
 * queue. 1 if it went into the ring (notify the peer), 0 if it was queued,
 * -EINVAL for a bad len, -EPROTO if the overflow queue is full (the guest
 * does not consume) or an index is hostile.
 */
int vmsg_xen_ring_send(struct vmsg_xen_ring *r, const void *msg, size_t len);

/*
 * Move queued messages into the ring while there is room (call when the
 * peer signalled). Returns how many moved (notify the peer if > 0), or
 * -EPROTO.
 */
int vmsg_xen_ring_flush(struct vmsg_xen_ring *r);

/* Messages waiting in the overflow queue. */
static inline unsigned int vmsg_xen_ring_queued(const struct vmsg_xen_ring *r)
{
	return r->ovf_count;
}

#endif /* VMSG_XEN_RING_H */
