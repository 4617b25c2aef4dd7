// SPDX-License-Identifier: GPL-2.0
/*
 * vmsg_hostile: what a broken or malicious guest can do to the vmsg Xen
 * bus once it is connected. Each attack breaks one rule of
 * docs/xen-bus.md (ring indices, message sizes, consuming its queue) or
 * feeds the backend garbage that is allowed on the wire but meaningless
 * (random messages, random virtqueues, a flood of events). Whether the
 * backend closed the bus or kept serving it is judged by the caller
 * (xenbus.c) and the test script, not here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/virtio_config.h>
#include <xen/events.h>

#include "hostile.h"

/* Devices the test's hostile guest is given: 1 rng, 2 blk */
#define VH_FIRST_DEV		1
#define VH_LAST_DEV		2
#define VH_VQ_SIZE		16
#define VH_GARBAGE_MSGS		400
#define VH_GARBAGE_ROUNDS	30
#define VH_FLOOD_EVENTS		100000
/* More than the backend queues for a guest (1024) plus both rings */
#define VH_NO_CONSUME_MSGS	1200

/*
 * The split ring as our devices read it (virtio 1.x, little endian); the
 * kernel's struct vring_* use __virtio types, which need a virtio_device.
 */
struct vh_desc {
	__le64 addr;
	__le32 len;
	__le16 flags;
	__le16 next;
};

struct vh_avail {
	__le16 flags;
	__le16 idx;
	__le16 ring[VH_VQ_SIZE];
};

#define VH_DESC_F_NEXT		1
#define VH_DESC_F_WRITE		2
#define VH_DESC_F_INDIRECT	4

static int vh_ping_msg(struct vh_conn *c)
{
	u8 msg[VIRTIO_MSG_HDR_SIZE + 4] = { 0 };

	vh_fill_hdr((void *)msg, VIRTIO_MSG_TYPE_BUS, VIRTIO_MSG_BUS_PING, 0,
		    sizeof(msg));
	return vh_send(c, msg, sizeof(msg));
}

static void vh_publish_dev_prod(struct vh_conn *c, u32 prod)
{
	/* pairs with the backend's acquire load of to_dev.prod */
	smp_store_release(&c->ring->to_dev.prod, cpu_to_le32(prod));
	notify_remote_via_irq(c->irq);
}

/* to_dev.prod far past anything the queue can hold */
int vh_attack_prod_overrun(struct vh_conn *c)
{
	vh_publish_dev_prod(c, c->dev_prod + 1000);
	return 0;
}

static int vh_bad_size(struct vh_conn *c, u16 size)
{
	u8 slot[VMSG_XEN_SLOT_SIZE] = { 0 };

	vh_fill_hdr((void *)slot, VIRTIO_MSG_TYPE_BUS, VIRTIO_MSG_BUS_PING, 0,
		    size);
	return vh_send_raw(c, slot);
}

/* A message shorter than its own header */
int vh_attack_size_small(struct vh_conn *c)
{
	return vh_bad_size(c, VIRTIO_MSG_HDR_SIZE - 4);
}

/* A message larger than a slot */
int vh_attack_size_large(struct vh_conn *c)
{
	return vh_bad_size(c, VMSG_XEN_SLOT_SIZE + 136);
}

/* Move to_dev.cons, which only the backend writes, then send a message */
int vh_attack_cons_tamper(struct vh_conn *c)
{
	u32 cons = le32_to_cpu(READ_ONCE(c->ring->to_dev.cons));

	WRITE_ONCE(c->ring->to_dev.cons, cpu_to_le32(cons - 3));
	return vh_ping_msg(c);
}

/* Move to_drv.prod, which only the backend writes, and ask for a reply */
int vh_attack_drv_prod_tamper(struct vh_conn *c)
{
	u32 prod = le32_to_cpu(READ_ONCE(c->ring->to_drv.prod));

	WRITE_ONCE(c->ring->to_drv.prod, cpu_to_le32(prod + 3));
	return vh_ping_msg(c);
}

/* Consume messages the backend never produced */
int vh_attack_drv_cons_ahead(struct vh_conn *c)
{
	WRITE_ONCE(c->ring->to_drv.cons, cpu_to_le32(c->drv_cons + 5));
	return vh_ping_msg(c);
}

/*
 * Ask and never read the answers: the backend must give up on us once
 * its bounded queue for this guest is full, not grow it forever.
 */
int vh_attack_no_consume(struct vh_conn *c)
{
	int i;

	for (i = 0; i < VH_NO_CONSUME_MSGS; i++) {
		if (vh_ping_msg(c))
			break;	/* the backend stopped reading: expected */
		cond_resched();
	}
	pr_info("no-consume: %d requests sent without reading a reply\n", i);
	return 0;
}

/* Mostly ids the backend knows, on devices that exist, to get far in. */
static void vh_random_msg(u8 *slot)
{
	struct virtio_msg_hdr *h = (void *)slot;
	u32 r = get_random_u32();

	get_random_bytes(slot, VMSG_XEN_SLOT_SIZE);
	h->type = r & 3;
	if (r & 0x100)
		h->msg_id = (r >> 9) % (VIRTIO_MSG_GET_SHM + 1);
	else if (r & 0x200)
		h->msg_id = VIRTIO_MSG_EVENT_CONFIG + (r >> 10) % 3;
	h->dev_num = cpu_to_le16((r >> 16) % (VH_LAST_DEV + 2));
	r = (r >> 24) % (VMSG_XEN_SLOT_SIZE - VIRTIO_MSG_HDR_SIZE + 1);
	h->msg_size = cpu_to_le16(VIRTIO_MSG_HDR_SIZE + r);
}

/* Well-sized messages with random content: dropped or answered, no more */
int vh_attack_garbage_msgs(struct vh_conn *c)
{
	u8 slot[VMSG_XEN_SLOT_SIZE];
	int i, err;

	for (i = 0; i < VH_GARBAGE_MSGS; i++) {
		vh_random_msg(slot);
		err = vh_send_raw(c, slot);
		if (err)
			return err;
		vh_rx(c);
		cond_resched();
	}
	return 0;
}

static int vh_dev_msg(struct vh_conn *c, u16 dev, u8 id, const void *payload,
		      size_t len)
{
	u8 msg[VMSG_XEN_SLOT_SIZE] = { 0 };

	vh_fill_hdr((void *)msg, 0, id, dev, VIRTIO_MSG_HDR_SIZE + len);
	memcpy(msg + VIRTIO_MSG_HDR_SIZE, payload, len);
	vh_rx(c);
	return vh_send(c, msg, VIRTIO_MSG_HDR_SIZE + len);
}

static int vh_status(struct vh_conn *c, u16 dev, u32 status)
{
	__le32 s = cpu_to_le32(status);

	return vh_dev_msg(c, dev, VIRTIO_MSG_SET_DEVICE_STATUS, &s, sizeof(s));
}

/* Region pages of device @dev's queue 0: descriptors, avail, used */
static unsigned int vh_vq_page(u16 dev, unsigned int which)
{
	return 1 + (dev - VH_FIRST_DEV) * 4 + which;
}

/* The driver's side of the init sequence, as virtio_msg_transport does */
static int vh_dev_init(struct vh_conn *c, u16 dev)
{
	u32 st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	struct virtio_msg_set_vqueue_req vq = {
		.size = cpu_to_le32(VH_VQ_SIZE),
		.desc_addr = cpu_to_le64(vh_vq_page(dev, 0) * PAGE_SIZE),
		.driver_addr = cpu_to_le64(vh_vq_page(dev, 1) * PAGE_SIZE),
		.device_addr = cpu_to_le64(vh_vq_page(dev, 2) * PAGE_SIZE),
	};
	/* block 1: VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM */
	__le32 feat[3] = { cpu_to_le32(1), cpu_to_le32(1), cpu_to_le32(3) };
	unsigned int i;
	int err;

	err = vh_status(c, dev, 0);
	/* the reset device dropped its queue: start from clean pages */
	for (i = 0; i < 4; i++)
		clear_page(page_address(c->region[vh_vq_page(dev, i)]));
	if (!err)
		err = vh_status(c, dev, st);
	if (!err)
		err = vh_dev_msg(c, dev, VIRTIO_MSG_SET_DRIVER_FEATURES, feat,
				 sizeof(feat));
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	if (!err)
		err = vh_status(c, dev, st);
	if (!err)
		err = vh_dev_msg(c, dev, VIRTIO_MSG_SET_VQUEUE, &vq,
				 sizeof(vq));
	if (!err)
		err = vh_status(c, dev, st | VIRTIO_CONFIG_S_DRIVER_OK);
	return err;
}

/* Make descriptor 0 the next chain the device finds */
static void vh_offer(struct vh_conn *c, u16 dev, u64 addr, u32 len,
		     u16 flags)
{
	struct vh_desc *d = page_address(c->region[vh_vq_page(dev, 0)]);
	struct vh_avail *a = page_address(c->region[vh_vq_page(dev, 1)]);
	u16 idx = le16_to_cpu(READ_ONCE(a->idx));

	d[0].addr = cpu_to_le64(addr);
	d[0].len = cpu_to_le32(len);
	d[0].flags = cpu_to_le16(flags);
	d[0].next = 0;
	a->ring[idx % VH_VQ_SIZE] = 0;
	/* pairs with the device's acquire load of avail->idx */
	smp_store_release(&a->idx, cpu_to_le16(idx + 1));
}

/* One kind of garbage in @dev's descriptor table and avail ring */
static void vh_garbage(struct vh_conn *c, u16 dev, unsigned int kind)
{
	u64 data = vh_vq_page(dev, 3) * PAGE_SIZE;
	struct vh_avail *a;

	switch (kind) {
	case 0:		/* everything random */
		get_random_bytes(page_address(c->region[vh_vq_page(dev, 0)]),
				 PAGE_SIZE);
		get_random_bytes(page_address(c->region[vh_vq_page(dev, 1)]),
				 PAGE_SIZE);
		break;
	case 1:		/* a descriptor chained to itself */
		vh_offer(c, dev, data, 16, VH_DESC_F_NEXT);
		break;
	case 2:		/* a buffer far outside the region */
		vh_offer(c, dev, 1ULL << 40, 4096, VH_DESC_F_WRITE);
		break;
	case 3:		/* an indirect table of random descriptors */
		get_random_bytes(page_address(c->region[vh_vq_page(dev, 3)]),
				 PAGE_SIZE);
		vh_offer(c, dev, data, 16 * sizeof(struct vh_desc),
			 VH_DESC_F_INDIRECT);
		break;
	default:	/* the avail index a whole ring and more ahead */
		a = page_address(c->region[vh_vq_page(dev, 1)]);
		WRITE_ONCE(a->idx, cpu_to_le16(le16_to_cpu(a->idx) + 1000));
		break;
	}
}

#define VH_GARBAGE_KINDS	5

static int vh_vq_round(struct vh_conn *c, u16 dev, unsigned int round)
{
	struct virtio_msg_event_avail ev = { .vq_index = 0 };

	vh_garbage(c, dev, round % VH_GARBAGE_KINDS);
	return vh_dev_msg(c, dev, VIRTIO_MSG_EVENT_AVAIL, &ev, sizeof(ev));
}

/*
 * Round after round, bring the test guest's devices up as a driver would,
 * put one kind of garbage in their queue and kick: the devices may fail
 * (NEEDS_RESET), the bus and the daemon must not. Every round starts from
 * a reset, so that each kind reaches a working device; the devices are
 * reset at the end.
 */
int vh_attack_garbage_vq(struct vh_conn *c)
{
	unsigned int round;
	u16 dev;
	int err = 0;

	for (round = 0; !err && round < VH_GARBAGE_ROUNDS; round++) {
		for (dev = VH_FIRST_DEV; !err && dev <= VH_LAST_DEV; dev++)
			err = vh_dev_init(c, dev);
		for (dev = VH_FIRST_DEV; !err && dev <= VH_LAST_DEV; dev++)
			err = vh_vq_round(c, dev, round);
		msleep(20);
	}
	for (dev = VH_FIRST_DEV; !err && dev <= VH_LAST_DEV; dev++)
		err = vh_status(c, dev, 0);
	return err;
}

/* Events with nothing behind them, as fast as the hypercall goes */
int vh_attack_event_flood(struct vh_conn *c)
{
	int i;

	for (i = 0; i < VH_FLOOD_EVENTS; i++) {
		notify_remote_via_irq(c->irq);
		if (!(i % 1024))
			cond_resched();
	}
	return 0;
}
