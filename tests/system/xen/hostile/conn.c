// SPDX-License-Identifier: GPL-2.0
/*
 * vmsg_hostile: one connection to the vmsg Xen bus backend, made the way a
 * real frontend makes it (docs/xen-bus.md): a ring page, a small region
 * and its directory, all granted to the backend domain, one event channel,
 * the keys in xenstore. Unlike the real frontend (bus-xen/kernel/), every
 * key can be replaced by garbage and the ring is driven by hand, so that
 * attacks.c can break the protocol on purpose. It polls the ring instead
 * of delivering messages anywhere: the only answer it looks for is PING's.
 * Test code: it trusts the backend, which the real frontend must not do.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <xen/events.h>
#include <xen/page.h>

#include "hostile.h"

static const char *const vh_key_names[VH_NR_KEYS] = {
	[VH_KEY_VERSION] = "version",
	[VH_KEY_RING_REF] = "ring-ref",
	[VH_KEY_EVENT_CHANNEL] = "event-channel",
	[VH_KEY_REGION_PAGES] = "region-pages",
	[VH_KEY_DIR_REF0] = "region-dir-ref0",
};

/* The event handler only wakes whoever polls the ring. */
static irqreturn_t vh_interrupt(int irq, void *dev_id)
{
	struct vh_conn *c = dev_id;

	wake_up(&c->wq);
	xen_irq_lateeoi(irq, 0);
	return IRQ_HANDLED;
}

static int vh_grant(struct vh_conn *c, struct page *page, bool ro,
		    grant_ref_t *ref)
{
	int r = gnttab_grant_foreign_access(c->xbdev->otherend_id,
					    xen_page_to_gfn(page), ro);

	if (r < 0)
		return r;
	*ref = r;
	return 0;
}

/* A zeroed page granted to the backend; *ref stays invalid on failure. */
static struct page *vh_page(struct vh_conn *c, bool ro, grant_ref_t *ref,
			    int *err)
{
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);

	*ref = INVALID_GRANT_REF;
	if (!page) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = vh_grant(c, page, ro, ref);
	return page;
}

static int vh_alloc_pages(struct vh_conn *c)
{
	struct page *ring_page;
	__le32 *dir;
	int err, i;

	ring_page = vh_page(c, false, &c->ring_ref, &err);
	if (ring_page)
		c->ring = page_address(ring_page);
	for (i = 0; !err && i < VH_REGION_PAGES; i++)
		c->region[i] = vh_page(c, false, &c->region_refs[i], &err);
	if (err)
		return err;
	c->dir = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!c->dir)
		return -ENOMEM;
	dir = page_address(c->dir);
	for (i = 0; i < VH_REGION_PAGES; i++)
		dir[i] = cpu_to_le32(c->region_refs[i]);
	return vh_grant(c, c->dir, true, &c->dir_ref);
}

/**
 * vh_conn_alloc() - grant fresh memory and allocate the event channel
 * @xbdev: our xenbus device; everything is granted to its backend domain
 * @c: filled in; must be passed to vh_conn_free() even on failure
 *
 * Return: 0 or a negative errno.
 */
int vh_conn_alloc(struct xenbus_device *xbdev, struct vh_conn *c)
{
	int err, i;

	memset(c, 0, sizeof(*c));
	c->xbdev = xbdev;
	c->dir_ref = INVALID_GRANT_REF;
	for (i = 0; i < VH_REGION_PAGES; i++)
		c->region_refs[i] = INVALID_GRANT_REF;
	init_waitqueue_head(&c->wq);
	err = vh_alloc_pages(c);
	if (!err)
		err = xenbus_alloc_evtchn(xbdev, &c->port);
	if (err)
		return err;
	err = bind_evtchn_to_irqhandler_lateeoi(c->port, vh_interrupt, 0,
						"vmsg-hostile", c);
	if (err < 0) {
		xenbus_free_evtchn(xbdev, c->port);
		c->port = 0;
		return err;
	}
	c->irq = err;
	return 0;
}

/* A page the backend still maps is freed by Xen's deferred list, later. */
static void vh_end(grant_ref_t ref, struct page *page)
{
	if (!page)
		return;
	if (ref == INVALID_GRANT_REF || gnttab_try_end_foreign_access(ref))
		__free_page(page);
	else
		gnttab_end_foreign_access(ref, page);
}

/**
 * vh_conn_free() - close the event channel and revoke every grant
 * @c: as left by vh_conn_alloc()
 */
void vh_conn_free(struct vh_conn *c)
{
	int i;

	if (c->irq > 0)
		unbind_from_irqhandler(c->irq, c);	/* closes the port */
	c->irq = 0;
	vh_end(c->dir_ref, c->dir);
	for (i = 0; i < VH_REGION_PAGES; i++)
		vh_end(c->region_refs[i], c->region[i]);
	if (c->ring)
		vh_end(c->ring_ref, virt_to_page(c->ring));
	memset(c, 0, sizeof(*c));
}

/* Our F/state, written as is (xenbus_switch_state() skips "no change"). */
int vh_set_state(struct xenbus_device *xbdev, enum xenbus_state st)
{
	int err = xenbus_printf(XBT_NIL, xbdev->nodename, "state", "%d", st);

	if (!err)
		xbdev->state = st;
	return err;
}

/**
 * vh_publish() - write our keys, some replaced, then our state
 * @c: an allocated connection
 * @keys: what to write instead of the real values
 *
 * Keys of an earlier scenario are removed first, so an omitted key is
 * really absent. The state goes last, as the backend reads the keys when
 * it sees Initialised.
 *
 * Return: 0 or a negative errno from xenstore.
 */
int vh_publish(struct vh_conn *c, const struct vh_keys *keys)
{
	char real[VH_NR_KEYS][16];
	const char *v;
	int err = 0;
	int i;

	snprintf(real[VH_KEY_VERSION], 16, "%d", VMSG_XEN_VERSION);
	snprintf(real[VH_KEY_RING_REF], 16, "%u", c->ring_ref);
	snprintf(real[VH_KEY_EVENT_CHANNEL], 16, "%u", c->port);
	snprintf(real[VH_KEY_REGION_PAGES], 16, "%d", VH_REGION_PAGES);
	snprintf(real[VH_KEY_DIR_REF0], 16, "%u", c->dir_ref);
	for (i = 0; i < VH_NR_KEYS; i++)
		xenbus_rm(XBT_NIL, c->xbdev->nodename, vh_key_names[i]);
	for (i = 0; !err && i < VH_NR_KEYS; i++) {
		if (keys->omit & BIT(i))
			continue;
		v = keys->val[i] ? keys->val[i] : real[i];
		err = xenbus_write(XBT_NIL, c->xbdev->nodename,
				   vh_key_names[i], v);
	}
	if (err)
		return err;
	if (!keys->state)
		return vh_set_state(c->xbdev, XenbusStateInitialised);
	c->xbdev->state = XenbusStateUnknown;
	return xenbus_write(XBT_NIL, c->xbdev->nodename, "state", keys->state);
}

/**
 * vh_wait_backend() - wait for the backend to reach one of some states
 * @xbdev: our xenbus device
 * @mask: VH_STATE() of every state that ends the wait
 * @ms: how long to wait
 *
 * Return: the state reached, or -ETIMEDOUT.
 */
int vh_wait_backend(struct xenbus_device *xbdev, u32 mask, unsigned int ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(ms);
	enum xenbus_state st;

	for (;;) {
		st = xenbus_read_driver_state(xbdev->otherend);
		if (st < 32 && (mask & VH_STATE(st)))
			return st;
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		msleep(20);
	}
}

void vh_fill_hdr(struct virtio_msg_hdr *h, u8 type, u8 id, u16 dev,
		 size_t size)
{
	h->type = type;
	h->msg_id = id;
	h->dev_num = cpu_to_le16(dev);
	h->token = 0;
	h->msg_size = cpu_to_le16(size);
}

static u32 vh_dev_used(struct vh_conn *c)
{
	/* pairs with the backend's release store after copying a slot out */
	__le32 cons = smp_load_acquire(&c->ring->to_dev.cons);

	return c->dev_prod - le32_to_cpu(cons);
}

/**
 * vh_send_raw() - put 64 bytes into the next to_dev slot as they are
 * @c: a connected connection
 * @slot: VMSG_XEN_SLOT_SIZE bytes; the header is whatever they say
 *
 * Waits up to 2 s for a free slot (the backend notifies when it consumed
 * from a full queue).
 *
 * Return: 0, or -ETIMEDOUT if the backend stopped consuming.
 */
int vh_send_raw(struct vh_conn *c, const void *slot)
{
	u8 *dst;

	if (!wait_event_timeout(c->wq,
				vh_dev_used(c) < VMSG_XEN_RING_SLOTS,
				msecs_to_jiffies(2000)))
		return -ETIMEDOUT;
	dst = c->ring->to_dev_slots[c->dev_prod % VMSG_XEN_RING_SLOTS];
	memcpy(dst, slot, VMSG_XEN_SLOT_SIZE);
	c->dev_prod++;
	/* pairs with the backend's acquire load of to_dev.prod */
	smp_store_release(&c->ring->to_dev.prod, cpu_to_le32(c->dev_prod));
	notify_remote_via_irq(c->irq);
	return 0;
}

/* A well-formed message of @len bytes, zero-padded to a slot. */
int vh_send(struct vh_conn *c, const void *msg, size_t len)
{
	u8 slot[VMSG_XEN_SLOT_SIZE] = { 0 };

	memcpy(slot, msg, min_t(size_t, len, sizeof(slot)));
	return vh_send_raw(c, slot);
}

static void vh_look_at(struct vh_conn *c, const u8 *slot)
{
	const struct virtio_msg_hdr *h = (const void *)slot;
	__le32 data;

	if (h->type != (VIRTIO_MSG_TYPE_BUS | VIRTIO_MSG_TYPE_RESPONSE) ||
	    h->msg_id != VIRTIO_MSG_BUS_PING ||
	    le16_to_cpu(h->msg_size) < VIRTIO_MSG_HDR_SIZE + sizeof(data))
		return;
	memcpy(&data, slot + VIRTIO_MSG_HDR_SIZE, sizeof(data));
	if (le32_to_cpu(data) == c->ping_data)
		c->answered = true;
}

static bool vh_drv_pending(struct vh_conn *c)
{
	/* pairs with the backend's release store after filling a slot */
	return le32_to_cpu(smp_load_acquire(&c->ring->to_drv.prod)) !=
	       c->drv_cons;
}

/* Consume whatever to_drv holds; only a PING answer means anything. */
void vh_rx(struct vh_conn *c)
{
	u8 slot[VMSG_XEN_SLOT_SIZE];
	u32 prod, n;

	/* pairs with the backend's release store of to_drv.prod */
	prod = le32_to_cpu(smp_load_acquire(&c->ring->to_drv.prod));
	n = prod - c->drv_cons;
	if (n > VMSG_XEN_RING_SLOTS)
		return;		/* a broken backend: not our test */
	for (; c->drv_cons != prod; c->drv_cons++) {
		memcpy(slot,
		       c->ring->to_drv_slots[c->drv_cons % VMSG_XEN_RING_SLOTS],
		       sizeof(slot));
		vh_look_at(c, slot);
	}
	/* pairs with the backend's acquire load of to_drv.cons */
	smp_store_release(&c->ring->to_drv.cons, cpu_to_le32(c->drv_cons));
	if (n == VMSG_XEN_RING_SLOTS)
		notify_remote_via_irq(c->irq);
}

/**
 * vh_ping() - does the backend still serve this bus?
 * @c: a connected connection
 * @ms: how long to wait for the answer
 *
 * Return: 0 once PING came back with our data, -ETIMEDOUT otherwise.
 */
int vh_ping(struct vh_conn *c, unsigned int ms)
{
	u8 msg[VIRTIO_MSG_HDR_SIZE + 4];
	unsigned long end = jiffies + msecs_to_jiffies(ms);
	struct virtio_msg_hdr *h = (void *)msg;
	__le32 data;

	c->ping_data = get_random_u32();
	c->answered = false;
	vh_fill_hdr(h, VIRTIO_MSG_TYPE_BUS, VIRTIO_MSG_BUS_PING, 0,
		    sizeof(msg));
	h->token = cpu_to_le16(++c->token ? c->token : ++c->token);
	data = cpu_to_le32(c->ping_data);
	memcpy(msg + VIRTIO_MSG_HDR_SIZE, &data, sizeof(data));
	vh_rx(c);
	if (vh_send(c, msg, sizeof(msg)))
		return -ETIMEDOUT;
	while (!time_after(jiffies, end)) {
		vh_rx(c);
		if (c->answered)
			return 0;
		wait_event_timeout(c->wq, vh_drv_pending(c),
				   msecs_to_jiffies(20));
	}
	return -ETIMEDOUT;
}
