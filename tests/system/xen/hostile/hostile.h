/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmsg_hostile: a deliberately broken frontend of the vmsg Xen bus, for the
 * Xen system tests only. What its three files share: one connection to the
 * backend (conn.c), the attacks run on a connected bus (attacks.c) and the
 * xenbus driver that runs one scenario at a time (xenbus.c). Not an
 * interface for anything else, and never to be loaded outside a test domU.
 */
#ifndef VMSG_HOSTILE_H
#define VMSG_HOSTILE_H

#include <linux/types.h>
#include <linux/wait.h>
#include <xen/grant_table.h>
#include <xen/xenbus.h>

#include <linux/virtio_msg.h>
#include <linux/virtio_msg_xen.h>

/* A small region: enough for one queue of every device we abuse. */
#define VH_REGION_PAGES		16
/* How long we wait for the backend to react, in milliseconds */
#define VH_WAIT_MS		20000
/* Room for the backend's B/error in a result line */
#define VH_RESULT_LEN		256

/**
 * struct vh_conn - one connection to the backend, as a real frontend has
 * @xbdev: our xenbus device
 * @ring: the ring page (granted read-write)
 * @region: the region pages (granted read-write), @dir lists their refs
 * @dir: the directory page (granted read-only)
 * @ring_ref: grant of @ring; @region_refs, @dir_ref likewise
 * @port: the event channel, bound to @irq once allocated
 * @irq: our handler only wakes @wq; we poll the ring ourselves
 * @wq: woken by every event from the backend
 * @dev_prod: our producer index of to_dev
 * @drv_cons: our consumer index of to_drv
 * @token: the next bus request token
 * @answers: PING answers seen since the last vh_ping()
 * @ping_data: the PING answer we wait for
 */
struct vh_conn {
	struct xenbus_device *xbdev;
	struct vmsg_xen_ring_page *ring;
	struct page *region[VH_REGION_PAGES];
	struct page *dir;
	grant_ref_t ring_ref;
	grant_ref_t region_refs[VH_REGION_PAGES];
	grant_ref_t dir_ref;
	evtchn_port_t port;
	int irq;
	wait_queue_head_t wq;
	u32 dev_prod;
	u32 drv_cons;
	u16 token;
	bool answered;
	u32 ping_data;
};

/* The keys a frontend writes (docs/xen-bus.md), in the order written */
enum vh_key {
	VH_KEY_VERSION,
	VH_KEY_RING_REF,
	VH_KEY_EVENT_CHANNEL,
	VH_KEY_REGION_PAGES,
	VH_KEY_DIR_REF0,
	VH_NR_KEYS
};

/**
 * struct vh_keys - what a scenario writes instead of the real keys
 * @val: a value per key, or NULL for the real one
 * @omit: BIT(key) for every key left out
 * @state: our state value, or NULL for Initialised
 */
struct vh_keys {
	const char *val[VH_NR_KEYS];
	u32 omit;
	const char *state;
};

/* conn.c */
int vh_conn_alloc(struct xenbus_device *xbdev, struct vh_conn *c);
void vh_conn_free(struct vh_conn *c);
int vh_publish(struct vh_conn *c, const struct vh_keys *keys);
int vh_set_state(struct xenbus_device *xbdev, enum xenbus_state st);
int vh_wait_backend(struct xenbus_device *xbdev, u32 mask,
		    unsigned int ms);
int vh_send(struct vh_conn *c, const void *msg, size_t len);
int vh_send_raw(struct vh_conn *c, const void *slot);
void vh_rx(struct vh_conn *c);
int vh_ping(struct vh_conn *c, unsigned int ms);
void vh_fill_hdr(struct virtio_msg_hdr *h, u8 type, u8 id, u16 dev,
		 size_t size);

#define VH_STATE(s)	(1U << (s))

/* attacks.c: each returns 0 once the attack is made, or a negative errno */
int vh_attack_prod_overrun(struct vh_conn *c);
int vh_attack_size_small(struct vh_conn *c);
int vh_attack_size_large(struct vh_conn *c);
int vh_attack_cons_tamper(struct vh_conn *c);
int vh_attack_drv_prod_tamper(struct vh_conn *c);
int vh_attack_drv_cons_ahead(struct vh_conn *c);
int vh_attack_no_consume(struct vh_conn *c);
int vh_attack_garbage_msgs(struct vh_conn *c);
int vh_attack_garbage_vq(struct vh_conn *c);
int vh_attack_event_flood(struct vh_conn *c);

#endif /* VMSG_HOSTILE_H */
