/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * virtio-msg Xen bus: the shared message ring page.
 *
 * One bus per guest (xenstore device type "vmsg", devid 0). The frontend
 * (the guest, driver side) grants one ring page, a directory of the grant
 * references of its shared region, and the region itself, and binds one
 * interdomain event channel; see docs/xen-bus.md for the xenstore keys and
 * the handshake. The ring page holds two single-producer / single-consumer
 * queues of fixed 64-byte slots, one per direction. Indices are free-running
 * 32-bit counters; a slot is ring[idx % VMSG_XEN_RING_SLOTS]. Each side
 * sanitises the other's index before use (prod - cons <= SLOTS) and copies a
 * slot out before parsing it.
 */
#ifndef _UAPI_LINUX_VIRTIO_MSG_XEN_H
#define _UAPI_LINUX_VIRTIO_MSG_XEN_H

#include <linux/types.h>

#define VMSG_XEN_VERSION		1
#define VMSG_XEN_DEVTYPE		"vmsg"

#define VMSG_XEN_SLOT_SIZE		64	/* = the bus's max message size */
#define VMSG_XEN_RING_SLOTS		16	/* per direction, power of two */

/* Region: 4 KiB pages, listed in directory pages of 4 KiB, 1024 refs each. */
#define VMSG_XEN_PAGE_SIZE		4096
#define VMSG_XEN_REFS_PER_DIR_PAGE	(VMSG_XEN_PAGE_SIZE / 4)
#define VMSG_XEN_DEFAULT_REGION_PAGES	1024	/* 4 MiB */
#define VMSG_XEN_MAX_REGION_PAGES	16384	/* 64 MiB */
#define VMSG_XEN_MAX_DIR_PAGES \
	(VMSG_XEN_MAX_REGION_PAGES / VMSG_XEN_REFS_PER_DIR_PAGE)

/*
 * Indices of one queue. prod is written only by the producer, cons only by
 * the consumer. The producer writes a slot, then (release) prod; the consumer
 * reads prod (acquire), copies the slot, then (release) cons. After
 * consuming from a queue that was full, the consumer notifies the event
 * channel so that a waiting producer resumes.
 */
struct vmsg_xen_queue_idx {
	__le32 prod;
	__le32 cons;
	__u8 pad[56];
};

/*
 * backend_alive: set to 1 by the backend once it has mapped the ring; the
 * backend maps the page with a grant-unmap notification on this byte, so the
 * backend's kernel clears it (and signals the event channel) if the backend
 * process dies. The frontend then treats the device side as gone.
 */
struct vmsg_xen_ring_page {
	struct vmsg_xen_queue_idx to_dev;	/* frontend -> backend */
	struct vmsg_xen_queue_idx to_drv;	/* backend -> frontend */
	__u8 backend_alive;
	__u8 pad[VMSG_XEN_PAGE_SIZE - 2 * 64 - 1 -
		 2 * VMSG_XEN_RING_SLOTS * VMSG_XEN_SLOT_SIZE];
	__u8 to_dev_slots[VMSG_XEN_RING_SLOTS][VMSG_XEN_SLOT_SIZE];
	__u8 to_drv_slots[VMSG_XEN_RING_SLOTS][VMSG_XEN_SLOT_SIZE];
};

#define VMSG_XEN_ALIVE_OFFSET	128	/* offsetof(..., backend_alive) */

#endif /* _UAPI_LINUX_VIRTIO_MSG_XEN_H */
