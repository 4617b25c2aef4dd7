/* SPDX-License-Identifier: GPL-2.0 */
/*
 * testdrv: the driver side of virtio-msg, for tests.
 *
 * Two layers. The ring layer (testdrv_alloc, testdrv_ring) builds and drives
 * a split virtqueue from the driver's side in any struct vmsg_region; it
 * knows nothing about messages, so the virtqueue engine's own tests use it
 * on a bare buffer. The bus layer (struct testdrv) plays a virtio-msg
 * driver for one device over the unit-test bus (testbus.h): the init
 * handshake step by step or in one call, config access, kicks and waiting
 * for used buffers. Both layers can also be hostile: testdrv_ring_hostile()
 * writes one malformed chain of a chosen kind straight into ring memory.
 *
 * This is test code: it trusts nothing the device returns (every reply is
 * checked, bad replies give -EPROTO or -EIO), but it is single-threaded,
 * split rings only, and makes no attempt to be fast.
 *
 * Failure convention: functions returning int give 0 (or a documented
 * positive value) on success and -errno on failure.
 */
#ifndef VMSG_TESTDRV_H
#define VMSG_TESTDRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "region.h"

struct vmsg_testbus;

#define TESTDRV_ALLOC_START	4096	/* bus address 0 is never handed out */
#define TESTDRV_MAX_VQS		16
#define TESTDRV_TIMEOUT_MS	2000	/* default for requests and waits */
#define TESTDRV_FEATURES_ALL	UINT64_MAX
#define TESTDRV_CONFIG_RETRIES	16	/* generation changes tolerated */

/*
 * Bump allocator over [start, end) of a region. Allocations are zeroed;
 * nothing is freed except by testdrv_alloc_reset().
 */
struct testdrv_alloc {
	const struct vmsg_region *region;
	uint64_t start;
	uint64_t next;
	uint64_t end;
};

/* end 0 means the end of the region. */
void testdrv_alloc_init(struct testdrv_alloc *a,
			const struct vmsg_region *region, uint64_t start,
			uint64_t end);
/* Bus address of len zeroed bytes aligned to align (a power of 2), or 0. */
uint64_t testdrv_alloc(struct testdrv_alloc *a, uint64_t len, uint64_t align);
void testdrv_alloc_reset(struct testdrv_alloc *a);

/* The driver's pointer to [addr, addr + len) of the region, or NULL. */
void *testdrv_ptr(const struct vmsg_region *region, uint64_t addr,
		  uint64_t len);

/* One buffer of a chain. */
struct testdrv_sg {
	uint64_t addr;
	uint32_t len;
};

/*
 * The driver side of one split ring. Descriptors are managed with a
 * driver-private free list (shared memory is never read back for that), and
 * each head keeps its own indirect table, reused by later chains.
 */
struct testdrv_ring {
	const struct vmsg_region *region;
	struct testdrv_alloc *alloc;
	uint16_t size;			/* 0: not set up */
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;			/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint64_t desc_addr;
	uint64_t avail_addr;
	uint64_t used_addr;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;

	/* driver-private */
	uint16_t avail_idx;		/* shadow of avail->idx */
	uint16_t kicked_idx;		/* avail_idx at the last kick check */
	uint16_t last_used_idx;
	uint16_t free_head;
	uint16_t num_free;
	bool no_interrupt;		/* interrupts disabled by the driver */
	uint16_t *links;		/* next descriptor: free list and chains */
	uint16_t *chain_len;		/* per head: descriptors, 0 = not in use */
	uint64_t *ind_addr;		/* per head: indirect table, 0 = none */
	uint32_t *ind_cap;		/* per head: its capacity in entries */
};

/*
 * Allocate and zero the three rings (size a power of two, at most 32768)
 * from alloc and set up the private state. 0, -EINVAL or -ENOMEM (then
 * nothing was taken from alloc).
 */
int testdrv_ring_init(struct testdrv_ring *r, const struct vmsg_region *region,
		      struct testdrv_alloc *alloc, uint16_t size,
		      bool event_idx, bool indirect);
/* Free the private state (ring memory belongs to the allocator). */
void testdrv_ring_free(struct testdrv_ring *r);

/*
 * Add a chain of n_out device-readable then n_in device-writable buffers
 * and publish it in the avail ring. With indirect, the chain goes into an
 * indirect table (needs r->indirect). Returns the head, or -EINVAL,
 * -ENOSPC (not enough free descriptors) or -ENOMEM (no region memory).
 */
int testdrv_ring_add(struct testdrv_ring *r, const struct testdrv_sg *sg,
		     unsigned int n_out, unsigned int n_in, bool indirect);

/*
 * Does the device want a kick for what was added since the last call?
 * Honours VRING_USED_F_NO_NOTIFY, or avail_event with EVENT_IDX.
 */
bool testdrv_ring_kick_prepare(struct testdrv_ring *r);

/* true if the device has used buffers the driver has not taken yet. */
bool testdrv_ring_has_used(const struct testdrv_ring *r);

/*
 * Take one used buffer: 1 with *id and *len set, 0 if none, -EIO if the
 * device broke the ring (used index jumped, id not a head in flight).
 */
int testdrv_ring_get_used(struct testdrv_ring *r, uint32_t *id,
			  uint32_t *len);

/*
 * Ask the device for EVENT_USED (enable) or not: VRING_AVAIL_F_NO_INTERRUPT,
 * and used_event with EVENT_IDX. Returns true if used buffers are already
 * pending when enabling (the caller should poll again).
 */
bool testdrv_ring_set_interrupts(struct testdrv_ring *r, bool enable);
/* Write used_event directly (EVENT_IDX tests). */
void testdrv_ring_set_used_event(struct testdrv_ring *r, uint16_t idx);

/* Descriptor chains a hostile driver publishes; each must give -EIO. */
enum testdrv_hostile {
	TESTDRV_BAD_AVAIL_JUMP,		/* avail->idx moves size + 1 ahead */
	TESTDRV_BAD_HEAD,		/* avail ring entry == size */
	TESTDRV_BAD_LOOP,		/* direct chain that loops */
	TESTDRV_BAD_NEXT,		/* next index == size */
	TESTDRV_BAD_INDIRECT_LOOP,	/* loop inside an indirect table */
	TESTDRV_BAD_INDIRECT_NEXT,	/* next index past the table */
	TESTDRV_BAD_NESTED_INDIRECT,	/* INDIRECT inside an indirect table */
	TESTDRV_BAD_INDIRECT_WITH_NEXT,	/* INDIRECT | NEXT in one descriptor */
	TESTDRV_BAD_INDIRECT_LEN,	/* table length not a multiple of 16 */
	TESTDRV_BAD_INDIRECT_EMPTY,	/* table length 0 */
	TESTDRV_BAD_INDIRECT_OUTSIDE,	/* table runs past the region end */
	TESTDRV_BAD_INDIRECT_UNNEGOTIATED, /* INDIRECT without the feature */
	TESTDRV_BAD_ADDR_OUTSIDE,	/* buffer starts at the region end */
	TESTDRV_BAD_ADDR_LOW,		/* buffer at bus address 0 */
	TESTDRV_BAD_LEN_PAST_END,	/* buffer starts inside, ends outside */
	TESTDRV_BAD_ADDR_WRAP,		/* addr + len wraps around 2^64 */
	TESTDRV_BAD_READ_AFTER_WRITE,	/* readable after writable */
	TESTDRV_BAD_TOTAL_OVERFLOW,	/* lengths add up past 4 GiB */
	TESTDRV_BAD_HUGE_CHAIN,		/* VMSG_CHAIN_MAX_SEGS + 1 buffers */
	TESTDRV_BAD_NR
};

const char *testdrv_hostile_name(enum testdrv_hostile kind);

/*
 * Write one malformed chain of the given kind into the ring and publish it
 * (nothing is kicked). 0, or -EINVAL if the kind cannot be built on this
 * ring (e.g. INDIRECT_UNNEGOTIATED when indirect was negotiated, HUGE_CHAIN
 * on a small ring without indirect, TOTAL_OVERFLOW in a small region), or
 * -ENOSPC/-ENOMEM. Descriptors it uses are never returned; reset the device
 * and the ring afterwards.
 */
int testdrv_ring_hostile(struct testdrv_ring *r, enum testdrv_hostile kind);

/*
 * The bus layer: one virtio-msg driver for device dev_num on a test bus.
 */
struct testdrv {
	struct vmsg_testbus *tb;
	const struct vmsg_region *region;
	uint16_t dev_num;
	int timeout_ms;			/* per request and per wait */
	struct testdrv_alloc alloc;	/* whole region, from 4096 */

	/* GET_DEVICE_INFO, host order */
	uint32_t device_id;
	uint32_t vendor_id;
	uint32_t num_feature_bits;
	uint32_t config_size;
	uint32_t max_vqs;

	uint64_t device_features;	/* blocks 0 and 1 */
	uint64_t driver_features;	/* as last sent */
	uint32_t status;		/* as last returned by the device */
	uint32_t config_gen;		/* generation of the last config access */

	unsigned int num_vqs;		/* queues set up: 0..num_vqs-1 */
	struct testdrv_ring vqs[TESTDRV_MAX_VQS];

	/* Events taken off the bus while waiting, counted. */
	unsigned int used_events[TESTDRV_MAX_VQS];
	unsigned int config_events;
	uint32_t event_status;		/* device_status of the last EVENT_CONFIG */
	unsigned int other_events;	/* anything else, or for other devices */
};

/* NULL on allocation failure. */
struct testdrv *testdrv_new(struct vmsg_testbus *tb, uint16_t dev_num);
void testdrv_free(struct testdrv *d);

/*
 * One transport request to this device. *resp_len in: room in resp; out:
 * payload bytes received. 0, -ETIMEDOUT or -EPROTO.
 */
int testdrv_call(struct testdrv *d, uint8_t msg_id, const void *req,
		 size_t req_len, void *resp, size_t *resp_len);

/* The init steps, in spec order (virtio-msg.md section 3). */
int testdrv_get_info(struct testdrv *d);
int testdrv_get_features(struct testdrv *d);
int testdrv_set_features(struct testdrv *d, uint64_t features);
/* Sets d->status to the status the device returns. */
int testdrv_set_status(struct testdrv *d, uint32_t status);
int testdrv_get_status(struct testdrv *d, uint32_t *status);
/* ACK|DRIVER|FEATURES_OK; -EPROTO if the device clears FEATURES_OK. */
int testdrv_features_ok(struct testdrv *d);
/*
 * GET_VQUEUE, ring allocation, SET_VQUEUE. size 0: the device's max_size.
 * -ENOENT if the queue does not exist, -EINVAL for a bad size.
 */
int testdrv_setup_vq(struct testdrv *d, unsigned int index, uint16_t size);
/* DRIVER_OK; -EPROTO unless the device reports it without NEEDS_RESET. */
int testdrv_driver_ok(struct testdrv *d);

/*
 * All of it: info, features (offered & features, packed ring masked out),
 * FEATURES_OK, num_vqs queues (0: all, up to TESTDRV_MAX_VQS), DRIVER_OK.
 */
int testdrv_init(struct testdrv *d, uint64_t features, unsigned int num_vqs);

/*
 * Write status 0 and check it reads back 0 (-EPROTO otherwise); then forget
 * the queues, the negotiated features and all region memory handed out
 * (testdrv_alloc_buf() addresses too). Event counters are kept, except
 * event_status, which is cleared.
 */
int testdrv_reset(struct testdrv *d);

/*
 * Config space, split into as many messages as the bus needs. Reads restart
 * when the generation changes between chunks (-EAGAIN after
 * TESTDRV_CONFIG_RETRIES). Writes use d->config_gen (set by the last read).
 * Both give -EINVAL when the device refuses (response length 0).
 */
int testdrv_config_read(struct testdrv *d, uint32_t off, void *buf,
			uint32_t len);
int testdrv_config_write(struct testdrv *d, uint32_t off, const void *buf,
			 uint32_t len);

/* Region memory for buffers: bus address (16-byte aligned) or 0. */
uint64_t testdrv_alloc_buf(struct testdrv *d, uint64_t len);
void *testdrv_buf(struct testdrv *d, uint64_t addr, uint64_t len);

/* testdrv_ring_add() on queue vq. */
int testdrv_add(struct testdrv *d, unsigned int vq,
		const struct testdrv_sg *sg, unsigned int n_out,
		unsigned int n_in, bool indirect);
/* EVENT_AVAIL for vq, unconditionally. */
int testdrv_kick(struct testdrv *d, unsigned int vq);
/* EVENT_AVAIL only if the ring asks for it: 1 sent, 0 suppressed, -errno. */
int testdrv_kick_if_needed(struct testdrv *d, unsigned int vq);

/*
 * Run the bus until queue vq has a used buffer or an EVENT_USED for it
 * arrives (0), the device reports NEEDS_RESET (-EIO), or timeout_ms passes
 * (-ETIMEDOUT).
 */
int testdrv_wait_used(struct testdrv *d, unsigned int vq, int timeout_ms);
/* testdrv_ring_get_used() on queue vq. */
int testdrv_get_used(struct testdrv *d, unsigned int vq, uint32_t *id,
		     uint32_t *len);

/*
 * Take one event off the bus (waiting up to timeout_ms) and count it.
 * 1 if one was taken, 0 if none arrived.
 */
int testdrv_poll_event(struct testdrv *d, int timeout_ms);
/* Wait for EVENT_CONFIG carrying NEEDS_RESET: 0 or -ETIMEDOUT. */
int testdrv_wait_needs_reset(struct testdrv *d, int timeout_ms);

/* testdrv_ring_hostile() on queue vq, then an unconditional kick. */
int testdrv_hostile(struct testdrv *d, unsigned int vq,
		    enum testdrv_hostile kind);

#endif /* VMSG_TESTDRV_H */
