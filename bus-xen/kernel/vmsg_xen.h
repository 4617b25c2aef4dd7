/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-msg Xen bus, guest side: definitions shared by the files of the
 * virtio_msg_xen module. xenbus.c runs the xenbus state machine and writes
 * xenstore, shared.c grants the ring, directory and region pages, ring.c
 * moves messages through the ring page and the event channel.
 *
 * This is not an interface for other modules: the transport is reached only
 * through virtio_msg_bus.h. The bus is defined in docs/xen-bus.md, this
 * module's design is described in docs/xen-frontend.md.
 */
#ifndef _VMSG_XEN_H
#define _VMSG_XEN_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <xen/grant_table.h>
#include <xen/xenbus.h>
#include <linux/virtio_msg.h>
#include <linux/virtio_msg_xen.h>

#include "virtio_msg_bus.h"

/* Device numbers on this bus are 1..255 (docs/xen-bus.md). */
#define VMSG_XEN_MAX_DEV_NUM	255
#define VMSG_XEN_DEV_SPAN	(VMSG_XEN_MAX_DEV_NUM + 1)

/* Messages held back while to_dev is full; kernel memory, per bus. */
#define VMSG_XEN_OVERFLOW	256

/* Module parameters (xenbus.c) */
extern unsigned int vmsg_xen_timeout_ms;

/* struct vmsg_xen_conn.flags bits */
enum {
	VMSG_XEN_STOPPED,	/* ring unused from now on: send fails */
	VMSG_XEN_GONE,		/* backend_alive dropped: the backend died */
	VMSG_XEN_BROKEN,	/* the backend violated the protocol */
	VMSG_XEN_CLOSING,	/* teardown started: discovery adds nothing */
};

/**
 * struct vmsg_xen_stats - counters of one bus, kept across reconnections
 * @dropped: malformed or unexpected messages from the backend
 * @spurious: events that found no work (passed on as spurious EOIs)
 * @overflowed: messages that waited in the overflow list
 * @violations: connections closed for a protocol violation
 */
struct vmsg_xen_stats {
	atomic_t dropped;
	atomic_t spurious;
	atomic_t overflowed;
	atomic_t violations;
};

/**
 * struct vmsg_xen_shared - memory granted to the backend, per connection
 * @ring: the ring page (kernel mapping)
 * @ring_ref: its grant reference
 * @npages: region size in pages
 * @pages: the region's pages
 * @refs: their grant references, INVALID_GRANT_REF if not granted
 * @region: contiguous kernel mapping of @pages (vmap)
 * @ndir: number of directory pages
 * @dir: directory pages: the grant references of the region, le32 each
 * @dir_refs: their (read-only) grant references
 */
struct vmsg_xen_shared {
	struct vmsg_xen_ring_page *ring;
	grant_ref_t ring_ref;
	unsigned int npages;
	struct page **pages;
	grant_ref_t *refs;
	void *region;
	unsigned int ndir;
	struct page *dir[VMSG_XEN_MAX_DIR_PAGES];
	grant_ref_t dir_refs[VMSG_XEN_MAX_DIR_PAGES];
};

/**
 * struct vmsg_xen_slot - one message waiting in the overflow list
 * @len: message length
 * @data: the message
 */
struct vmsg_xen_slot {
	u8 len;
	u8 data[VMSG_XEN_SLOT_SIZE];
};

/**
 * struct vmsg_xen_breq - the bus request in flight (GET_DEVICES)
 * @mutex: one bus request at a time
 * @lock: protects the fields below against the event handler
 * @waiting: a request is outstanding
 * @msg_id: its message id
 * @token: its token
 * @done: completed when the response arrived or the request was aborted
 * @err: 0, or why it ended without a response
 * @len: response payload length
 * @resp: response payload
 */
struct vmsg_xen_breq {
	struct mutex mutex;		/* see above */
	spinlock_t lock;		/* see above */
	bool waiting;
	u8 msg_id;
	u16 token;
	struct completion done;
	int err;
	size_t len;
	u8 resp[VMSG_XEN_SLOT_SIZE];
};

/**
 * struct vmsg_xen_conn - one connection to the backend
 * @xbdev: the xenbus device
 * @stats: the bus's counters (in struct vmsg_xen_info)
 * @gone_work: queued when the ring stops because of the backend
 * @sh: granted memory
 * @evtchn: event channel port, allocated for the backend domain
 * @irq: its irq once bound (only while the bus is registered), else 0
 * @flags: VMSG_XEN_* bits
 * @name: bus name, e.g. "xen-vmsg-0"
 * @bus: our bus, registered with the transport while connected
 * @registered: @bus is registered
 * @discover_work: GET_DEVICES and adding what it finds
 * @tx_lock: protects the to_dev producer state below
 * @tx_prod: to_dev.prod as we published it
 * @tx_cons: to_dev.cons as last read (sanitised)
 * @ovf: overflow list, VMSG_XEN_OVERFLOW entries
 * @ovf_head: oldest entry
 * @ovf_count: entries used
 * @rx_cons: to_drv.cons; only the event handler uses it
 * @breq: the bus request in flight
 */
struct vmsg_xen_conn {
	struct xenbus_device *xbdev;
	struct vmsg_xen_stats *stats;
	struct work_struct *gone_work;
	struct vmsg_xen_shared sh;
	evtchn_port_t evtchn;
	int irq;
	unsigned long flags;
	char name[32];
	struct virtio_msg_bus bus;
	bool registered;
	struct work_struct discover_work;

	spinlock_t tx_lock;		/* see above */
	u32 tx_prod;
	u32 tx_cons;
	struct vmsg_xen_slot *ovf;
	unsigned int ovf_head;
	unsigned int ovf_count;

	u32 rx_cons;
	struct vmsg_xen_breq breq;
};

/* shared.c */
int vmsg_xen_shared_alloc(struct xenbus_device *xbdev,
			  struct vmsg_xen_shared *sh, unsigned int npages);
void vmsg_xen_shared_free(struct xenbus_device *xbdev,
			  struct vmsg_xen_shared *sh);

/* ring.c */
int vmsg_xen_ring_init(struct vmsg_xen_conn *conn);
void vmsg_xen_ring_free(struct vmsg_xen_conn *conn);
int vmsg_xen_ring_start(struct vmsg_xen_conn *conn);
void vmsg_xen_ring_stop(struct vmsg_xen_conn *conn);
void vmsg_xen_ring_closing(struct vmsg_xen_conn *conn);
void vmsg_xen_ring_fail(struct vmsg_xen_conn *conn, int why_bit,
			const char *why);
void vmsg_xen_discover_work(struct work_struct *work);
extern const struct virtio_msg_bus_ops vmsg_xen_bus_ops;

#endif /* _VMSG_XEN_H */
