// SPDX-License-Identifier: GPL-2.0
/*
 * The device-side transport core (backend/bus.c, backend/transport.c) driven
 * through the test bus, with small fake device models defined here, so the
 * core's rules are tested without any real model: header validation and
 * drops, every transport and bus message, the misuses a hostile driver can
 * try, the services models call, and the device life cycle on a bus.
 *
 * The real virtqueue engine (backend/virtqueue.c) is linked in; the rings
 * used here are laid out by hand in the test bus's region.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_msg.h>
#include <linux/virtio_ring.h>

#include "bus.h"
#include "device.h"
#include "log.h"
#include "../lib/testbus.h"

#define TIMEOUT_MS	100
#define REGION_SIZE	(1 << 20)
#define DEV		1		/* the fixture's fake device */

#define FAKE_ID		0x7ffe
#define FAKE_CONFIG	64		/* config bytes */
#define FAKE_RW_LIMIT	32		/* writes accepted below this */
#define FAKE_QUEUES	2
#define FAKE_QMAX	256
/* bit 40 (RING_RESET) is in the transport's range: never offered */
#define FAKE_FEATURES	((1ULL << 0) | (1ULL << 5) | (1ULL << 40) | \
			 (1ULL << 55))

#define F_V1		(1ULL << VIRTIO_F_VERSION_1)
#define F_AP		(1ULL << VIRTIO_F_ACCESS_PLATFORM)
#define F_INDIRECT	(1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX	(1ULL << VIRTIO_RING_F_EVENT_IDX)
#define OFFERED		((1ULL << 0) | (1ULL << 5) | (1ULL << 55) | \
			 F_V1 | F_AP | F_INDIRECT | F_EVENT_IDX)

#define S_ACK		VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER	VIRTIO_CONFIG_S_DRIVER
#define S_FEAT_OK	VIRTIO_CONFIG_S_FEATURES_OK
#define S_DRIVER_OK	VIRTIO_CONFIG_S_DRIVER_OK
#define S_NEEDS_RESET	VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAILED	VIRTIO_CONFIG_S_FAILED

/* Queue q's rings: desc, avail and used 16 KiB apart; buffers above. */
#define QBASE(q)	(0x10000ULL * ((q) + 1))
#define QDESC(q)	(QBASE(q))
#define QAVAIL(q)	(QBASE(q) + 0x4000)
#define QUSED(q)	(QBASE(q) + 0x8000)
#define BUF_ADDR	0x80000ULL

/* What the fake models saw. */
static struct fake_calls {
	int create, destroy, reset, start, notify;
	unsigned int notify_vq;
	int config_write;
	bool serve;		/* notify(): pop chains and return them */
	struct vmsg_dev *dev;	/* last created */
} fk;

static struct vmsg_testbus *tb;
static char err[VMSG_ERR_LEN];

/*
 * Fake device models.
 */

static int fake_create(struct vmsg_dev *dev, struct vmsg_spec *spec,
		       char *errbuf, size_t errlen)
{
	uint64_t queues = FAKE_QUEUES;
	unsigned int i;

	if (vmsg_spec_get_bool(spec, "fail", NULL)) {
		snprintf(errbuf, errlen, "fake: told to fail");
		return -EIO;
	}
	if (vmsg_spec_get_u64(spec, "queues", 0, 1000, &queues)) {
		snprintf(errbuf, errlen, "fake: bad queues");
		return -EINVAL;
	}
	fk.create++;
	fk.dev = dev;
	dev->num_queues = (unsigned int)queues;
	dev->queue_max_size = FAKE_QMAX;
	dev->device_features = FAKE_FEATURES;
	if (vmsg_spec_get_bool(spec, "noconfig", NULL))
		return 0;	/* config NULL, config_size 0 */
	dev->config_size = FAKE_CONFIG;
	dev->config = malloc(FAKE_CONFIG);
	if (!dev->config)
		return -ENOMEM;
	for (i = 0; i < FAKE_CONFIG; i++)
		dev->config[i] = (uint8_t)(0xa0 + i);
	return 0;
}

static void fake_destroy(struct vmsg_dev *dev)
{
	fk.destroy++;
	free(dev->config);
}

static void fake_reset(struct vmsg_dev *dev)
{
	fk.reset++;
}

static void fake_start(struct vmsg_dev *dev)
{
	fk.start++;
}

/* Fill each writable chain with its head number and return it. */
static void fake_serve(struct vmsg_dev *dev, unsigned int vq)
{
	struct vmsg_chain chain;
	uint8_t byte;
	int ret;

	while ((ret = vmsg_vq_pop(&dev->vqs[vq], &chain)) == 1) {
		byte = (uint8_t)chain.head;
		vmsg_chain_to_iov(&chain, 0, &byte, 1);
		vmsg_dev_used(dev, vq, chain.head, 1);
	}
	if (ret < 0)
		vmsg_dev_fail(dev, "queue %u broken", vq);
}

static void fake_notify(struct vmsg_dev *dev, unsigned int vq)
{
	fk.notify++;
	fk.notify_vq = vq;
	if (fk.serve)
		fake_serve(dev, vq);
}

static int fake_config_write(struct vmsg_dev *dev, uint32_t off,
			     const uint8_t *data, uint32_t len)
{
	fk.config_write++;
	if (off + len > FAKE_RW_LIMIT)
		return -EPERM;
	memcpy(dev->config + off, data, len);
	return 0;
}

static const struct vmsg_dev_ops fake_ops = {
	.type = "fake",
	.device_id = FAKE_ID,
	.create = fake_create,
	.destroy = fake_destroy,
	.reset = fake_reset,
	.start = fake_start,
	.notify = fake_notify,
	.config_write = fake_config_write,
};

/* Same, with read-only config. */
static const struct vmsg_dev_ops fake_ro_ops = {
	.type = "fakero",
	.device_id = FAKE_ID + 1,
	.create = fake_create,
	.destroy = fake_destroy,
	.reset = fake_reset,
	.notify = fake_notify,
};

static int add_fake(struct vmsg_bus *bus, const struct vmsg_dev_ops *ops,
		    const char *text, int dev_num)
{
	struct vmsg_spec spec;

	assert_int_equal(vmsg_spec_parse(&spec, text, err, sizeof(err)), 0);
	return vmsg_bus_add_device_ops(bus, ops, &spec, dev_num, err,
				       sizeof(err));
}

static int setup_bus(size_t max_msg_size)
{
	memset(&fk, 0, sizeof(fk));
	vmsg_log_set_level(VMSG_LOG_ERR);
	tb = vmsg_testbus_new(REGION_SIZE, max_msg_size);
	if (!tb)
		return -1;
	return add_fake(&tb->bus, &fake_ops, "fake", 0) == DEV ? 0 : -1;
}

static int setup(void **state)
{
	return setup_bus(VIRTIO_MSG_DEFAULT_SIZE);
}

static int setup_small(void **state)
{
	return setup_bus(VIRTIO_MSG_MIN_SIZE);
}

static int setup_large(void **state)
{
	return setup_bus(VIRTIO_MSG_MAX_SIZE);
}

static int teardown(void **state)
{
	vmsg_testbus_free(tb);
	tb = NULL;
	return 0;
}

/*
 * Driver-side helpers.
 */

static struct vmsg_dev *dev1(void)
{
	return vmsg_bus_dev(&tb->bus, DEV);
}

/* A request that must be answered; returns the response payload length. */
static size_t call_type(uint8_t type, uint8_t id, uint16_t dev_num,
			const void *req, size_t plen, void *resp, size_t rmax)
{
	size_t rlen = rmax;

	assert_int_equal(vmsg_testbus_call(tb, type, id, dev_num, req, plen,
					   resp, &rlen, TIMEOUT_MS), 0);
	assert_true(rlen <= rmax);
	return rlen;
}

static size_t call(uint8_t id, const void *req, size_t plen, void *resp,
		   size_t rmax)
{
	return call_type(0, id, DEV, req, plen, resp, rmax);
}

static size_t bus_call(uint8_t id, const void *req, size_t plen, void *resp,
		       size_t rmax)
{
	return call_type(VIRTIO_MSG_TYPE_BUS, id, 0, req, plen, resp, rmax);
}

/* A request with an empty response. */
static void call_void(uint8_t id, const void *req, size_t plen)
{
	assert_int_equal(call(id, req, plen, NULL, 0), 0);
}

static size_t build(uint8_t *buf, uint8_t type, uint8_t id, uint16_t dev_num,
		    uint16_t token, size_t plen)
{
	struct virtio_msg_hdr *h = (struct virtio_msg_hdr *)buf;

	memset(buf, 0, VIRTIO_MSG_MAX_SIZE);
	h->type = type;
	h->msg_id = id;
	h->dev_num = htole16(dev_num);
	h->token = htole16(token);
	h->msg_size = htole16((uint16_t)(VIRTIO_MSG_HDR_SIZE + plen));
	return VIRTIO_MSG_HDR_SIZE + plen;
}

/* Dropped: counted, nothing sent back. */
static void expect_drop(const void *msg, size_t len)
{
	uint64_t dropped = tb->bus.stats.dropped;

	assert_int_equal(vmsg_testbus_inject(tb, msg, len), -EBADMSG);
	assert_int_equal(tb->bus.stats.dropped, dropped + 1);
	assert_int_equal(vmsg_testbus_pending(tb), 0);
}

static void expect_drop_msg(uint8_t type, uint8_t id, uint16_t dev_num,
			    size_t plen)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));

	expect_drop(buf, build(buf, type, id, dev_num, 7, plen));
}

/* Take the oldest captured message, whatever it is. */
static size_t take_raw(uint8_t *buf)
{
	unsigned int slot = tb->head % VMSG_TESTBUS_QUEUE;
	size_t len = tb->lens[slot];

	assert_true(vmsg_testbus_pending(tb) > 0);
	memcpy(buf, tb->msgs[slot], len);
	tb->head++;
	return len;
}

static uint32_t get_status(void)
{
	struct virtio_msg_get_device_status_resp r;

	assert_int_equal(call(VIRTIO_MSG_GET_DEVICE_STATUS, NULL, 0, &r,
			      sizeof(r)), sizeof(r));
	return le32toh(r.status);
}

static uint32_t set_status(uint32_t status)
{
	struct virtio_msg_set_device_status_req q = { htole32(status) };
	struct virtio_msg_set_device_status_resp r;

	assert_int_equal(call(VIRTIO_MSG_SET_DEVICE_STATUS, &q, sizeof(q), &r,
			      sizeof(r)), sizeof(r));
	assert_int_equal(le32toh(r.status), get_status());
	return le32toh(r.status);
}

static void set_features(uint64_t features)
{
	/* block_index, num_blocks, features[2] */
	uint32_t q[4] = { htole32(0), htole32(2), htole32((uint32_t)features),
			  htole32(features >> 32) };

	call_void(VIRTIO_MSG_SET_DRIVER_FEATURES, &q, sizeof(q));
}

/* ACK, DRIVER, features, FEATURES_OK: the status that resulted. */
static uint32_t negotiate(uint64_t features)
{
	set_status(S_ACK);
	set_status(S_ACK | S_DRIVER);
	set_features(features);
	return set_status(S_ACK | S_DRIVER | S_FEAT_OK);
}

static void set_vqueue(uint32_t index, uint32_t size, uint64_t desc,
		       uint64_t avail, uint64_t used)
{
	struct virtio_msg_set_vqueue_req q = {
		.index = htole32(index),
		.size = htole32(size),
		.desc_addr = htole64(desc),
		.driver_addr = htole64(avail),
		.device_addr = htole64(used),
	};

	call_void(VIRTIO_MSG_SET_VQUEUE, &q, sizeof(q));
}

static void set_queue(uint32_t q, uint32_t size)
{
	set_vqueue(q, size, QDESC(q), QAVAIL(q), QUSED(q));
}

static void get_vqueue(uint32_t index, struct virtio_msg_get_vqueue_resp *r)
{
	struct virtio_msg_get_vqueue_req q = { htole32(index) };

	assert_int_equal(call(VIRTIO_MSG_GET_VQUEUE, &q, sizeof(q), r,
			      sizeof(*r)), sizeof(*r));
	assert_int_equal(le32toh(r->index), index);
	assert_int_equal(r->reserved, 0);
}

/* Negotiated, queue 0 of size 8 set up, DRIVER_OK. */
static void bring_up(uint64_t features)
{
	assert_int_equal(negotiate(features) & S_FEAT_OK, S_FEAT_OK);
	set_queue(0, 8);
	assert_int_equal(set_status(S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK),
			 S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
}

static int kick(uint16_t dev_num, uint32_t vq)
{
	struct virtio_msg_event_avail ev = { .vq_index = htole32(vq) };

	return vmsg_testbus_event(tb, VIRTIO_MSG_EVENT_AVAIL, dev_num, &ev,
				  sizeof(ev));
}

static void *region(uint64_t addr)
{
	return tb->bus.region.base + addr;
}

/* Driver side: offer one 16-byte writable buffer as chain `head` on q. */
static void offer_buffer(uint32_t q, uint16_t head)
{
	struct vring_desc *desc = region(QDESC(q));
	struct vring_avail *avail = region(QAVAIL(q));
	uint16_t idx = le16toh(avail->idx);

	desc[head].addr = htole64(BUF_ADDR + 16 * head);
	desc[head].len = htole32(16);
	desc[head].flags = htole16(VRING_DESC_F_WRITE);
	desc[head].next = 0;
	avail->ring[idx % 8] = htole16(head);
	avail->idx = htole16(idx + 1);
}

static uint32_t get_generation(void)
{
	struct virtio_msg_get_config_req q = { 0, 0 };
	struct virtio_msg_get_config_resp r;

	call(VIRTIO_MSG_GET_CONFIG, &q, sizeof(q), &r, sizeof(r));
	return le32toh(r.generation);
}

/* Next event, which must be EVENT_CONFIG for DEV: its payload. */
static void expect_config_event(struct virtio_msg_event_config *ev)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	const struct virtio_msg_hdr *h = (void *)buf;
	size_t len = vmsg_testbus_next_event(tb, buf, 0);

	assert_int_equal(len, VIRTIO_MSG_HDR_SIZE + sizeof(*ev));
	assert_int_equal(h->type, 0);
	assert_int_equal(h->msg_id, VIRTIO_MSG_EVENT_CONFIG);
	assert_int_equal(le16toh(h->dev_num), DEV);
	assert_int_equal(h->token, 0);
	assert_int_equal(le16toh(h->msg_size), len);
	memcpy(ev, buf + VIRTIO_MSG_HDR_SIZE, sizeof(*ev));
}

/*
 * Header validation and drops (section 2).
 */

static void test_drop_short(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	size_t len;

	build(buf, 0, VIRTIO_MSG_GET_DEVICE_STATUS, DEV, 1, 0);
	for (len = 0; len < VIRTIO_MSG_HDR_SIZE; len++) {
		buf[6] = (uint8_t)len;	/* msg_size agrees, still short */
		expect_drop(buf, len);
	}
}

static void test_drop_too_long(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	size_t len = build(buf, 0, VIRTIO_MSG_GET_DEVICE_STATUS, DEV, 1,
			   VIRTIO_MSG_DEFAULT_SIZE + 1 - VIRTIO_MSG_HDR_SIZE);

	expect_drop(buf, len);
	/* One byte less is fine: exactly the bus maximum. */
	len = build(buf, 0, VIRTIO_MSG_GET_DEVICE_STATUS, DEV, 1,
		    VIRTIO_MSG_DEFAULT_SIZE - VIRTIO_MSG_HDR_SIZE);
	assert_int_equal(vmsg_testbus_inject(tb, buf, len), 0);
	assert_int_equal(vmsg_testbus_pending(tb), 1);
}

static void test_drop_msg_size_mismatch(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	struct virtio_msg_hdr *h = (void *)buf;
	size_t len = build(buf, 0, VIRTIO_MSG_GET_DEVICE_STATUS, DEV, 1, 4);

	h->msg_size = htole16((uint16_t)(len + 1));
	expect_drop(buf, len);
	h->msg_size = htole16((uint16_t)(len - 1));
	expect_drop(buf, len);
	h->msg_size = htole16(4);	/* below the header size */
	expect_drop(buf, len);
	h->msg_size = 0;
	expect_drop(buf, len);
}

static void test_drop_response_typed(void **state)
{
	expect_drop_msg(VIRTIO_MSG_TYPE_RESPONSE, VIRTIO_MSG_GET_DEVICE_STATUS,
			DEV, 0);
	expect_drop_msg(VIRTIO_MSG_TYPE_RESPONSE | VIRTIO_MSG_TYPE_BUS,
			VIRTIO_MSG_BUS_PING, 0, 4);
}

static void test_drop_unknown_msg_id(void **state)
{
	static const uint8_t ids[] = {
		0x00, 0x01, 0x0d, 0x3f, 0x80, 0xbf, 0xc0, 0xff,
		VIRTIO_MSG_EVENT_CONFIG, VIRTIO_MSG_EVENT_USED, 0x43, 0x7f,
	};
	size_t i;

	for (i = 0; i < sizeof(ids); i++)
		expect_drop_msg(0, ids[i], DEV, 16);
	expect_drop_msg(VIRTIO_MSG_TYPE_BUS, 0x00, 0, 16);
	expect_drop_msg(VIRTIO_MSG_TYPE_BUS, 0x04, 0, 16);
	/* EVENT_DEVICE only travels towards the driver side. */
	expect_drop_msg(VIRTIO_MSG_TYPE_BUS, VIRTIO_MSG_BUS_EVENT_DEVICE, 0, 4);
}

static void test_drop_unknown_dev_num(void **state)
{
	static const uint16_t nums[] = { 0, 2, 255, 256, 0xffff };
	size_t i;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		expect_drop_msg(0, VIRTIO_MSG_GET_DEVICE_STATUS, nums[i], 0);
		expect_drop_msg(0, VIRTIO_MSG_EVENT_AVAIL, nums[i], 8);
	}
	/* Bus messages use dev_num 0 and nothing else. */
	expect_drop_msg(VIRTIO_MSG_TYPE_BUS, VIRTIO_MSG_BUS_PING, DEV, 4);
}

/* Every message with a fixed payload, one byte short of it. */
static void test_drop_short_payload(void **state)
{
	static const struct { uint8_t id; size_t len; } reqs[] = {
		{ VIRTIO_MSG_GET_DEVICE_FEATURES, 8 },
		{ VIRTIO_MSG_SET_DRIVER_FEATURES, 8 },
		{ VIRTIO_MSG_GET_CONFIG, 8 },
		{ VIRTIO_MSG_SET_CONFIG, 12 },
		{ VIRTIO_MSG_SET_DEVICE_STATUS, 4 },
		{ VIRTIO_MSG_GET_VQUEUE, 4 },
		{ VIRTIO_MSG_SET_VQUEUE, 40 },
		{ VIRTIO_MSG_RESET_VQUEUE, 4 },
		{ VIRTIO_MSG_GET_SHM, 4 },
		{ VIRTIO_MSG_EVENT_AVAIL, 8 },
	};
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		expect_drop_msg(0, reqs[i].id, DEV, reqs[i].len - 1);
	expect_drop_msg(VIRTIO_MSG_TYPE_BUS, VIRTIO_MSG_BUS_GET_DEVICES, 0, 3);
	expect_drop_msg(VIRTIO_MSG_TYPE_BUS, VIRTIO_MSG_BUS_PING, 0, 3);
}

/* Extra payload bytes are ignored. */
static void test_long_payload_ok(void **state)
{
	uint8_t q[16] = { 0 };
	struct virtio_msg_get_device_status_resp r;
	struct virtio_msg_bus_ping ping = { htole32(0x1234) };

	assert_int_equal(call(VIRTIO_MSG_GET_DEVICE_STATUS, q, sizeof(q), &r,
			      sizeof(r)), sizeof(r));
	memcpy(q, &ping, sizeof(ping));
	assert_int_equal(bus_call(VIRTIO_MSG_BUS_PING, q, sizeof(q), &ping,
				  sizeof(ping)), sizeof(ping));
	assert_int_equal(le32toh(ping.data), 0x1234);
}

/* Events are never answered, whether acted on or ignored. */
static void test_events_never_answered(void **state)
{
	assert_int_equal(kick(DEV, 0), 0);
	assert_int_equal(kick(DEV, 99), 0);
	bring_up(F_V1 | F_AP);
	assert_int_equal(kick(DEV, 0), 0);
	assert_int_equal(fk.notify, 1);
	assert_int_equal(vmsg_testbus_pending(tb), 0);
}

/*
 * The response to GET_VQUEUE, byte for byte: echoed dev_num and token, exact
 * msg_size, reserved fields zero, nothing else in the message.
 */
static void test_response_echo_and_init(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	uint8_t want[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	struct virtio_msg_get_vqueue_resp *p;
	size_t len = build(buf, 0, VIRTIO_MSG_GET_VQUEUE, DEV, 0xbeef, 4);

	buf[VIRTIO_MSG_HDR_SIZE] = 1;	/* index 1 */
	assert_int_equal(vmsg_testbus_inject(tb, buf, len), 0);
	memset(buf, 0x5a, sizeof(buf));
	len = take_raw(buf);
	assert_int_equal(len, VIRTIO_MSG_HDR_SIZE + sizeof(*p));

	build(want, VIRTIO_MSG_TYPE_RESPONSE, VIRTIO_MSG_GET_VQUEUE, DEV,
	      0xbeef, sizeof(*p));
	p = (void *)(want + VIRTIO_MSG_HDR_SIZE);
	p->index = htole32(1);
	p->max_size = htole32(FAKE_QMAX);
	assert_memory_equal(buf, want, len);
}

/* Reserved type bits are ignored on receive and sent as zero. */
static void test_reserved_type_bits(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	const struct virtio_msg_hdr *h = (void *)buf;
	size_t len = build(buf, 0xfc, VIRTIO_MSG_GET_DEVICE_STATUS, DEV, 3, 0);

	assert_int_equal(vmsg_testbus_inject(tb, buf, len), 0);
	take_raw(buf);
	assert_int_equal(h->type, VIRTIO_MSG_TYPE_RESPONSE);
	len = build(buf, 0xfc | VIRTIO_MSG_TYPE_BUS, VIRTIO_MSG_BUS_PING, 0, 4,
		    4);
	assert_int_equal(vmsg_testbus_inject(tb, buf, len), 0);
	take_raw(buf);
	assert_int_equal(h->type,
			 VIRTIO_MSG_TYPE_RESPONSE | VIRTIO_MSG_TYPE_BUS);
}

static void test_stats(void **state)
{
	uint64_t rx = tb->bus.stats.rx, tx = tb->bus.stats.tx;

	get_status();
	expect_drop_msg(0, 0x3f, DEV, 0);
	assert_int_equal(tb->bus.stats.rx, rx + 2);
	assert_int_equal(tb->bus.stats.tx, tx + 1);
}

static void test_send_error_counted(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	size_t len = build(buf, 0, VIRTIO_MSG_GET_DEVICE_STATUS, DEV, 1, 0);

	tb->send_error = -EPIPE;
	assert_int_equal(vmsg_testbus_inject(tb, buf, len), 0);
	assert_int_equal(tb->bus.stats.send_errors, 1);
	assert_int_equal(tb->bus.stats.dropped, 0);
	tb->send_error = 0;
}

/* A response larger than the bus carries is a send error, not truncated. */
static void test_response_too_big_for_bus(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	size_t len = build(buf, 0, VIRTIO_MSG_GET_VQUEUE, DEV, 1, 4);

	assert_int_equal(vmsg_testbus_inject(tb, buf, len), 0);
	assert_int_equal(tb->bus.stats.send_errors, 1);
	assert_int_equal(vmsg_testbus_pending(tb), 0);
}

/*
 * Device info and features.
 */

static void test_device_info(void **state)
{
	struct virtio_msg_get_device_info_resp r;

	assert_int_equal(call(VIRTIO_MSG_GET_DEVICE_INFO, NULL, 0, &r,
			      sizeof(r)), sizeof(r));
	assert_int_equal(le32toh(r.device_id), FAKE_ID);
	assert_int_equal(le32toh(r.vendor_id), 0x47534d56);
	assert_int_equal(le32toh(r.num_feature_bits), 64);
	assert_int_equal(le32toh(r.config_size), FAKE_CONFIG);
	assert_int_equal(le32toh(r.max_virtqueues), FAKE_QUEUES);
	assert_int_equal(r.admin_vq_start, 0);
	assert_int_equal(r.admin_vq_count, 0);
}

static size_t get_features(uint32_t index, uint32_t n, uint32_t *out,
			   size_t max)
{
	struct virtio_msg_get_device_features_req q = { htole32(index),
							htole32(n) };
	uint32_t r[2 + 64];	/* block_index, num_blocks, features[] */
	size_t len, i;

	len = call(VIRTIO_MSG_GET_DEVICE_FEATURES, &q, sizeof(q), r,
		   sizeof(r));
	assert_true(len >= 8);
	assert_int_equal(le32toh(r[0]), index);
	n = le32toh(r[1]);
	assert_int_equal(len, 8 + 4 * n);
	for (i = 0; i < n && i < max; i++)
		out[i] = le32toh(r[2 + i]);
	return n;
}

static void test_features_offered(void **state)
{
	uint32_t f[2];

	assert_int_equal(get_features(0, 2, f, 2), 2);
	assert_int_equal(f[0], (uint32_t)OFFERED);
	assert_int_equal(f[1], (uint32_t)(OFFERED >> 32));
	assert_int_equal(get_features(1, 1, f, 1), 1);
	assert_int_equal(f[0], (uint32_t)(OFFERED >> 32));
	assert_int_equal(get_features(0, 0, f, 0), 0);
}

static void test_features_past_64(void **state)
{
	uint32_t f[3] = { 1, 1, 1 };

	assert_int_equal(get_features(1, 3, f, 3), 3);
	assert_int_equal(f[0], (uint32_t)(OFFERED >> 32));
	assert_int_equal(f[1], 0);
	assert_int_equal(f[2], 0);
	f[0] = f[1] = 1;
	assert_int_equal(get_features(0xffffffff, 2, f, 2), 2);
	assert_int_equal(f[0], 0);
	assert_int_equal(f[1], 0);
}

/* 64-byte bus: 56 payload bytes, 8 of them fixed: 12 blocks. */
static void test_features_clamped(void **state)
{
	uint32_t f[12];

	assert_int_equal(get_features(0, 1000, f, 12), 12);
	assert_int_equal(get_features(0, 0xffffffff, f, 12), 12);
	assert_int_equal(f[0], (uint32_t)OFFERED);
	assert_int_equal(f[11], 0);
}

static void test_features_clamped_large(void **state)
{
	uint32_t f[64];

	/* 264-byte bus: (256 - 8) / 4 = 62 blocks */
	assert_int_equal(get_features(0, 100, f, 64), 62);
	assert_int_equal(f[1], (uint32_t)(OFFERED >> 32));
}

static void test_set_features_masked(void **state)
{
	set_features(~0ULL);
	assert_true(dev1()->driver_features == OFFERED);
	set_features(F_V1 | (1ULL << 40) | (1ULL << 6));
	assert_true(dev1()->driver_features == F_V1);
}

static void test_set_features_one_block(void **state)
{
	/* block_index, num_blocks, features[1] */
	uint32_t q[3] = { htole32(1), htole32(1), htole32(0xffffffff) };

	set_features(1ULL << 5);
	call_void(VIRTIO_MSG_SET_DRIVER_FEATURES, &q, sizeof(q));
	assert_true(dev1()->driver_features ==
		    ((1ULL << 5) | (OFFERED & 0xffffffff00000000ULL)));
	/* Blocks past 64 bits are accepted and change nothing. */
	q[0] = htole32(0xfffffffe);
	call_void(VIRTIO_MSG_SET_DRIVER_FEATURES, &q, sizeof(q));
	assert_true(dev1()->driver_features ==
		    ((1ULL << 5) | (OFFERED & 0xffffffff00000000ULL)));
}

/* features[] must fit in the message: otherwise dropped. */
static void test_set_features_short_array(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	struct virtio_msg_set_driver_features_req *q =
		(void *)(buf + VIRTIO_MSG_HDR_SIZE);
	size_t len = build(buf, 0, VIRTIO_MSG_SET_DRIVER_FEATURES, DEV, 1,
			   sizeof(*q) + 4);

	q->num_blocks = htole32(2);
	q->features[0] = htole32(0xffffffff);
	expect_drop(buf, len);
	q->num_blocks = htole32(0x40000001);	/* 4 * n wraps in 32 bits */
	expect_drop(buf, len);
	assert_true(dev1()->driver_features == 0);
}

static void test_set_features_after_features_ok(void **state)
{
	assert_int_equal(negotiate(F_V1 | F_AP), S_ACK | S_DRIVER | S_FEAT_OK);
	set_features(OFFERED);
	assert_true(dev1()->driver_features == (F_V1 | F_AP));
}

static void test_features_ok_needs_version_1(void **state)
{
	assert_int_equal(negotiate(F_AP | F_EVENT_IDX), S_ACK | S_DRIVER);
}

static void test_features_ok_needs_access_platform(void **state)
{
	assert_int_equal(negotiate(F_V1 | F_EVENT_IDX), S_ACK | S_DRIVER);
	/* The driver may fix its features and try again. */
	set_features(F_V1 | F_AP);
	assert_int_equal(set_status(S_ACK | S_DRIVER | S_FEAT_OK),
			 S_ACK | S_DRIVER | S_FEAT_OK);
}

/*
 * Device status.
 */

static void test_status_only_adds(void **state)
{
	assert_int_equal(set_status(S_ACK | S_DRIVER), S_ACK | S_DRIVER);
	assert_int_equal(set_status(S_ACK), S_ACK | S_DRIVER);
	assert_int_equal(set_status(S_DRIVER | S_FAILED), S_ACK | S_DRIVER);
	assert_int_equal(set_status(S_ACK | S_DRIVER | S_FAILED),
			 S_ACK | S_DRIVER | S_FAILED);
	assert_int_equal(fk.reset, 0);
}

static void test_status_needs_reset_is_device_only(void **state)
{
	assert_int_equal(set_status(S_ACK | S_NEEDS_RESET), S_ACK);
	assert_int_equal(set_status(S_ACK | 0x30 | 0x100), S_ACK);
}

static void test_driver_ok_needs_features_ok(void **state)
{
	set_status(S_ACK | S_DRIVER);
	assert_int_equal(set_status(S_ACK | S_DRIVER | S_DRIVER_OK),
			 S_ACK | S_DRIVER);
	assert_int_equal(fk.start, 0);
	/* Refused FEATURES_OK takes DRIVER_OK down with it. */
	assert_int_equal(set_status(S_ACK | S_DRIVER | S_FEAT_OK |
				    S_DRIVER_OK), S_ACK | S_DRIVER);
	assert_int_equal(fk.start, 0);
}

static void test_driver_ok_starts(void **state)
{
	struct vmsg_dev *dev = dev1();

	assert_int_equal(negotiate(F_V1 | F_AP | F_EVENT_IDX) & S_FEAT_OK,
			 S_FEAT_OK);
	set_queue(1, 16);
	assert_false(dev->vqs[1].event_idx);
	set_status(S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(fk.start, 1);
	assert_true(dev->vqs[1].event_idx);
	assert_false(dev->vqs[1].indirect);
	assert_false(vmsg_vq_ready(&dev->vqs[0]));
	/* Setting DRIVER_OK again does not start again. */
	set_status(S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(fk.start, 1);
}

static void test_driver_ok_indirect(void **state)
{
	bring_up(F_V1 | F_AP | F_INDIRECT);
	assert_true(dev1()->vqs[0].indirect);
	assert_false(dev1()->vqs[0].event_idx);
}

static void test_reset(void **state)
{
	struct vmsg_dev *dev = dev1();
	struct virtio_msg_get_vqueue_resp r;

	vmsg_dev_config_begin(dev);
	vmsg_dev_config_end(dev);
	vmsg_testbus_flush(tb);
	bring_up(F_V1 | F_AP | F_EVENT_IDX);
	assert_int_equal(set_status(0), 0);
	assert_int_equal(fk.reset, 1);
	assert_int_equal(get_status(), 0);
	assert_false(vmsg_vq_ready(&dev->vqs[0]));
	assert_true(dev->driver_features == 0);
	assert_int_equal(get_generation(), 1);	/* not reset */
	get_vqueue(0, &r);
	assert_int_equal(le32toh(r.cur_size), 0);
	assert_true(r.desc_addr == 0);
	/* And the device can be brought up again. */
	bring_up(F_V1 | F_AP);
	assert_int_equal(fk.start, 2);
}

/*
 * Config space.
 */

static size_t get_config(uint32_t off, uint32_t len, uint8_t *data,
			 uint32_t *gen)
{
	struct virtio_msg_get_config_req q = { htole32(off), htole32(len) };
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	struct virtio_msg_get_config_resp *r = (void *)buf;
	size_t rlen;

	rlen = call(VIRTIO_MSG_GET_CONFIG, &q, sizeof(q), buf, sizeof(buf));
	assert_int_equal(le32toh(r->offset), off);
	assert_int_equal(rlen, sizeof(*r) + le32toh(r->length));
	memcpy(data, r->data, le32toh(r->length));
	if (gen)
		*gen = le32toh(r->generation);
	return le32toh(r->length);
}

/* 64-byte bus: at most 56 - 12 = 44 config bytes per message. */
static void test_config_read_chunks(void **state)
{
	uint8_t data[FAKE_CONFIG];
	uint32_t gen1, gen2;
	unsigned int i;

	assert_int_equal(get_config(0, 44, data, &gen1), 44);
	assert_int_equal(get_config(44, 20, data + 44, &gen2), 20);
	assert_int_equal(gen1, gen2);
	for (i = 0; i < FAKE_CONFIG; i++)
		assert_int_equal(data[i], 0xa0 + i);
}

static void test_config_read_too_big(void **state)
{
	uint8_t data[FAKE_CONFIG];

	assert_int_equal(get_config(0, 45, data, NULL), 0);
	assert_int_equal(get_config(0, FAKE_CONFIG, data, NULL), 0);
}

static void test_config_read_large_bus(void **state)
{
	uint8_t data[FAKE_CONFIG];

	assert_int_equal(get_config(0, FAKE_CONFIG, data, NULL), FAKE_CONFIG);
	assert_int_equal(data[FAKE_CONFIG - 1], 0xa0 + FAKE_CONFIG - 1);
}

static void test_config_read_out_of_range(void **state)
{
	uint8_t data[FAKE_CONFIG];

	assert_int_equal(get_config(FAKE_CONFIG + 1, 0, data, NULL), 0);
	assert_int_equal(get_config(FAKE_CONFIG, 1, data, NULL), 0);
	assert_int_equal(get_config(FAKE_CONFIG - 4, 8, data, NULL), 0);
	assert_int_equal(get_config(0xffffffff, 2, data, NULL), 0);
	assert_int_equal(get_config(2, 0xffffffff, data, NULL), 0);
	assert_int_equal(get_config(FAKE_CONFIG - 4, 4, data, NULL), 4);
}

/* The response's length: the bytes written, 0 if rejected. */
static uint32_t set_config(uint16_t dev_num, uint32_t gen, uint32_t off,
			   const void *data, uint32_t len)
{
	uint8_t buf[sizeof(struct virtio_msg_set_config_req) + 32]
		__attribute__((aligned(8)));
	struct virtio_msg_set_config_req *q = (void *)buf;
	struct virtio_msg_set_config_resp r;

	assert_true(sizeof(*q) + len <= sizeof(buf));
	q->generation = htole32(gen);
	q->offset = htole32(off);
	q->length = htole32(len);
	memcpy(q->data, data, len);
	assert_int_equal(call_type(0, VIRTIO_MSG_SET_CONFIG, dev_num, q,
				   sizeof(*q) + len, &r, sizeof(r)),
			 sizeof(r));
	assert_int_equal(le32toh(r.offset), off);
	assert_int_equal(le32toh(r.generation), dev1()->generation);
	return le32toh(r.length);
}

/* A model without config space: every access is out of range. */
static void test_config_none(void **state)
{
	struct virtio_msg_get_config_req q = { 0, htole32(1) };
	uint8_t buf[32] __attribute__((aligned(8)));
	struct virtio_msg_get_config_resp *r = (void *)buf;
	int n = add_fake(&tb->bus, &fake_ops, "fake,noconfig", 0);

	assert_int_equal(n, 2);
	assert_int_equal(call_type(0, VIRTIO_MSG_GET_CONFIG, (uint16_t)n, &q,
				   sizeof(q), buf, sizeof(buf)), sizeof(*r));
	assert_int_equal(r->length, 0);
	q.length = 0;
	assert_int_equal(call_type(0, VIRTIO_MSG_GET_CONFIG, (uint16_t)n, &q,
				   sizeof(q), buf, sizeof(buf)), sizeof(*r));
	assert_int_equal(set_config((uint16_t)n, 0, 0, buf, 1), 0);
	assert_int_equal(fk.config_write, 0);
}

static void test_config_write(void **state)
{
	uint8_t in[4] = { 1, 2, 3, 4 }, out[4];

	assert_int_equal(set_config(DEV, 0, 8, in, 4), 4);
	assert_int_equal(get_config(8, 4, out, NULL), 4);
	assert_memory_equal(in, out, 4);
	/* The driver's own write does not bump the generation. */
	assert_int_equal(get_generation(), 0);
	assert_int_equal(vmsg_testbus_pending(tb), 0);
}

static void test_config_write_stale_generation(void **state)
{
	uint8_t in[4] = { 1, 2, 3, 4 }, out[4];

	assert_int_equal(set_config(DEV, 1, 8, in, 4), 0);
	vmsg_dev_config_begin(dev1());
	vmsg_dev_config_end(dev1());
	assert_int_equal(set_config(DEV, 0, 8, in, 4), 0);
	assert_int_equal(fk.config_write, 0);
	get_config(8, 4, out, NULL);
	assert_int_equal(out[0], 0xa8);
	assert_int_equal(set_config(DEV, 1, 8, in, 4), 4);
}

static void test_config_write_bad_range(void **state)
{
	uint8_t in[8] = { 0 };

	assert_int_equal(set_config(DEV, 0, FAKE_CONFIG - 4, in, 8), 0);
	assert_int_equal(set_config(DEV, 0, 0xfffffffc, in, 8), 0);
	assert_int_equal(set_config(DEV, 0, 0, in, 0), 0);
	assert_int_equal(fk.config_write, 0);
	/* In range, but the model refuses. */
	assert_int_equal(set_config(DEV, 0, FAKE_RW_LIMIT, in, 4), 0);
	assert_int_equal(fk.config_write, 1);
}

static void test_config_write_read_only(void **state)
{
	uint8_t in[4] = { 0 };
	int n = add_fake(&tb->bus, &fake_ro_ops, "fakero", 0);

	assert_int_equal(n, 2);
	assert_int_equal(set_config((uint16_t)n, 0, 0, in, 4), 0);
}

static void test_config_write_data_short(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	struct virtio_msg_set_config_req *q =
		(void *)(buf + VIRTIO_MSG_HDR_SIZE);
	size_t len = build(buf, 0, VIRTIO_MSG_SET_CONFIG, DEV, 1,
			   sizeof(*q) + 4);

	q->length = htole32(8);
	expect_drop(buf, len);
	q->length = htole32(0xffffffff);
	expect_drop(buf, len);
	assert_int_equal(fk.config_write, 0);
}

static void test_config_change_event(void **state)
{
	struct virtio_msg_event_config ev;

	set_status(S_ACK);
	vmsg_dev_config_begin(dev1());
	assert_int_equal(get_generation(), 1);
	vmsg_dev_config_end(dev1());
	expect_config_event(&ev);
	assert_int_equal(le32toh(ev.device_status), S_ACK);
	assert_int_equal(le32toh(ev.generation), 1);
	assert_int_equal(ev.offset, 0);
	assert_int_equal(ev.length, 0);
}

/*
 * Virtqueues.
 */

static void test_get_vqueue_no_such_queue(void **state)
{
	struct virtio_msg_get_vqueue_resp r, zero;

	memset(&zero, 0, sizeof(zero));
	get_vqueue(FAKE_QUEUES, &r);
	zero.index = htole32(FAKE_QUEUES);
	assert_memory_equal(&r, &zero, sizeof(r));
	get_vqueue(0xffffffff, &r);
	zero.index = htole32(0xffffffff);
	assert_memory_equal(&r, &zero, sizeof(r));
}

static void test_get_vqueue(void **state)
{
	struct virtio_msg_get_vqueue_resp r;

	get_vqueue(1, &r);
	assert_int_equal(le32toh(r.max_size), FAKE_QMAX);
	assert_int_equal(r.cur_size, 0);
	assert_true(r.desc_addr == 0 && r.driver_addr == 0 &&
		    r.device_addr == 0);
	negotiate(F_V1 | F_AP);
	set_queue(1, 64);
	get_vqueue(1, &r);
	assert_int_equal(le32toh(r.max_size), FAKE_QMAX);
	assert_int_equal(le32toh(r.cur_size), 64);
	assert_true(le64toh(r.desc_addr) == QDESC(1));
	assert_true(le64toh(r.driver_addr) == QAVAIL(1));
	assert_true(le64toh(r.device_addr) == QUSED(1));
}

static void test_set_vqueue_needs_features_ok(void **state)
{
	set_status(S_ACK | S_DRIVER);
	set_queue(0, 8);
	assert_false(vmsg_vq_ready(&dev1()->vqs[0]));
	/* Refused features leave FEATURES_OK clear: still no queues. */
	assert_int_equal(negotiate(F_V1), S_ACK | S_DRIVER);
	set_queue(0, 8);
	assert_false(vmsg_vq_ready(&dev1()->vqs[0]));
}

static void test_set_vqueue_after_driver_ok(void **state)
{
	struct virtio_msg_get_vqueue_resp r;

	bring_up(F_V1 | F_AP);
	set_queue(1, 8);
	assert_false(vmsg_vq_ready(&dev1()->vqs[1]));
	set_vqueue(0, 16, QDESC(1), QAVAIL(1), QUSED(1));
	get_vqueue(0, &r);
	assert_int_equal(le32toh(r.cur_size), 8);
	assert_true(le64toh(r.desc_addr) == QDESC(0));
}

static void test_set_vqueue_bad_index(void **state)
{
	unsigned int i;

	negotiate(F_V1 | F_AP);
	set_queue(FAKE_QUEUES, 8);
	set_vqueue(0xffffffff, 8, QDESC(0), QAVAIL(0), QUSED(0));
	for (i = 0; i < VMSG_DEV_MAX_QUEUES; i++)
		assert_false(vmsg_vq_ready(&dev1()->vqs[i]));
}

static void test_set_vqueue_bad_geometry(void **state)
{
	const uint64_t end = REGION_SIZE;
	struct virtio_msg_get_vqueue_resp r;

	negotiate(F_V1 | F_AP);
	set_vqueue(0, 0, QDESC(0), QAVAIL(0), QUSED(0));
	set_vqueue(0, 3, QDESC(0), QAVAIL(0), QUSED(0));
	set_vqueue(0, FAKE_QMAX * 2, QDESC(0), QAVAIL(0), QUSED(0));
	set_vqueue(0, 8, QDESC(0) + 8, QAVAIL(0), QUSED(0));
	set_vqueue(0, 8, QDESC(0), QAVAIL(0) + 1, QUSED(0));
	set_vqueue(0, 8, QDESC(0), QAVAIL(0), QUSED(0) + 2);
	set_vqueue(0, 8, end - 16, QAVAIL(0), QUSED(0));
	set_vqueue(0, 8, QDESC(0), end, QUSED(0));
	set_vqueue(0, 8, QDESC(0), QAVAIL(0), 0);
	set_vqueue(0, 8, 0, QAVAIL(0), QUSED(0));
	set_vqueue(0, 8, QDESC(0), QAVAIL(0), ~0ULL - 3);
	assert_false(vmsg_vq_ready(&dev1()->vqs[0]));
	/* A bad request leaves an earlier good setup alone. */
	set_queue(0, 8);
	set_vqueue(0, 3, QDESC(1), QAVAIL(1), QUSED(1));
	get_vqueue(0, &r);
	assert_int_equal(le32toh(r.cur_size), 8);
	assert_true(le64toh(r.desc_addr) == QDESC(0));
}

static void test_reset_vqueue_does_nothing(void **state)
{
	struct virtio_msg_reset_vqueue_req q = { htole32(0) };

	negotiate(F_V1 | F_AP);
	set_queue(0, 8);
	call_void(VIRTIO_MSG_RESET_VQUEUE, &q, sizeof(q));
	assert_true(vmsg_vq_ready(&dev1()->vqs[0]));
	assert_int_equal(fk.reset, 0);
}

static void test_get_shm(void **state)
{
	struct virtio_msg_get_shm_req q = { htole32(0) };
	struct virtio_msg_get_shm_resp r;

	memset(&r, 0xff, sizeof(r));
	assert_int_equal(call(VIRTIO_MSG_GET_SHM, &q, sizeof(q), &r,
			      sizeof(r)), sizeof(r));
	assert_int_equal(r.index, 0);
	assert_int_equal(r.length, 0);
	assert_int_equal(r.address, 0);
	q.index = htole32(5);
	call(VIRTIO_MSG_GET_SHM, &q, sizeof(q), &r, sizeof(r));
	assert_int_equal(le32toh(r.index), 5);
	assert_int_equal(r.length, 0);
}

/*
 * Notifications.
 */

static void test_avail_before_driver_ok(void **state)
{
	negotiate(F_V1 | F_AP);
	set_queue(0, 8);
	assert_int_equal(kick(DEV, 0), 0);
	assert_int_equal(fk.notify, 0);
}

static void test_avail_after_driver_ok(void **state)
{
	bring_up(F_V1 | F_AP);
	assert_int_equal(kick(DEV, 0), 0);
	assert_int_equal(fk.notify, 1);
	assert_int_equal(fk.notify_vq, 0);
}

static void test_avail_bad_queue(void **state)
{
	bring_up(F_V1 | F_AP);
	kick(DEV, 1);			/* exists, never set up */
	kick(DEV, FAKE_QUEUES);
	kick(DEV, VMSG_DEV_MAX_QUEUES);	/* past dev->vqs[] */
	kick(DEV, 0xffffffff);
	assert_int_equal(fk.notify, 0);
}

static void test_avail_next_offset_ignored(void **state)
{
	struct virtio_msg_event_avail ev = { 0, htole32(0xffffffff) };

	bring_up(F_V1 | F_AP);
	vmsg_testbus_event(tb, VIRTIO_MSG_EVENT_AVAIL, DEV, &ev, sizeof(ev));
	assert_int_equal(fk.notify, 1);
}

/* Full path: kick, the model serves the chain, EVENT_USED comes back. */
static void test_used_notifies(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	const struct virtio_msg_hdr *h = (void *)buf;
	struct vring_used *used = region(QUSED(0));
	uint8_t *data = region(BUF_ADDR);

	fk.serve = true;
	bring_up(F_V1 | F_AP);
	offer_buffer(0, 3);
	kick(DEV, 0);
	assert_int_equal(le16toh(used->idx), 1);
	assert_int_equal(le32toh(used->ring[0].id), 3);
	assert_int_equal(le32toh(used->ring[0].len), 1);
	assert_int_equal(data[16 * 3], 3);
	assert_int_equal(vmsg_testbus_next_event(tb, buf, 0),
			 VIRTIO_MSG_HDR_SIZE + 4);
	assert_int_equal(h->msg_id, VIRTIO_MSG_EVENT_USED);
	assert_int_equal(le16toh(h->dev_num), DEV);
	assert_int_equal(h->token, 0);
	assert_int_equal(le32toh(*(uint32_t *)(buf + VIRTIO_MSG_HDR_SIZE)), 0);
}

static void test_used_no_interrupt(void **state)
{
	struct vring_avail *avail = region(QAVAIL(0));
	struct vring_used *used = region(QUSED(0));

	fk.serve = true;
	bring_up(F_V1 | F_AP);
	avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	offer_buffer(0, 1);
	kick(DEV, 0);
	assert_int_equal(le16toh(used->idx), 1);
	assert_int_equal(vmsg_testbus_pending(tb), 0);
}

static void test_push_batch(void **state)
{
	struct vmsg_dev *dev = dev1();
	struct vmsg_chain chain;

	bring_up(F_V1 | F_AP);
	offer_buffer(0, 0);
	offer_buffer(0, 1);
	assert_int_equal(vmsg_vq_pop(&dev->vqs[0], &chain), 1);
	assert_int_equal(vmsg_dev_push(dev, 0, chain.head, 0), 0);
	assert_int_equal(vmsg_vq_pop(&dev->vqs[0], &chain), 1);
	assert_int_equal(vmsg_dev_push(dev, 0, chain.head, 0), 0);
	assert_int_equal(vmsg_testbus_pending(tb), 0);
	vmsg_dev_notify_used(dev, 0);
	assert_int_equal(vmsg_testbus_pending(tb), 1);
}

/*
 * Failure.
 */

static void test_fail_device(void **state)
{
	struct virtio_msg_event_config ev;
	struct vmsg_dev *dev = dev1();
	uint32_t up = S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK;

	bring_up(F_V1 | F_AP);
	vmsg_dev_fail(dev, "test says %d", 42);
	assert_true(dev->broken);
	assert_int_equal(fk.reset, 1);
	assert_int_equal(get_status(), up | S_NEEDS_RESET);
	expect_config_event(&ev);
	assert_int_equal(le32toh(ev.device_status), up | S_NEEDS_RESET);
	assert_int_equal(ev.length, 0);
	/* Failing again: logged only. */
	vmsg_dev_fail(dev, "again");
	assert_int_equal(fk.reset, 1);
	assert_int_equal(vmsg_testbus_pending(tb), 0);
	/* Kicks are ignored; the driver cannot clear NEEDS_RESET itself. */
	kick(DEV, 0);
	assert_int_equal(fk.notify, 0);
	assert_int_equal(set_status(up | S_FAILED),
			 up | S_FAILED | S_NEEDS_RESET);
	/* Only a reset does. */
	assert_int_equal(set_status(0), 0);
	assert_false(dev->broken);
	bring_up(F_V1 | F_AP);
	kick(DEV, 0);
	assert_int_equal(fk.notify, 1);
}

/* A push the ring refuses fails the device. */
static void test_push_failure_fails_device(void **state)
{
	struct virtio_msg_event_config ev;
	struct vmsg_dev *dev = dev1();

	bring_up(F_V1 | F_AP);
	assert_int_equal(vmsg_dev_push(dev, 0, 0, 0), -EIO);
	assert_true(dev->broken);
	assert_int_equal(get_status() & S_NEEDS_RESET, S_NEEDS_RESET);
	expect_config_event(&ev);
}

/* A driver-broken ring, found by the model's pop, fails the device. */
static void test_bad_ring_fails_device(void **state)
{
	struct vring_avail *avail = region(QAVAIL(0));
	struct virtio_msg_event_config ev;

	fk.serve = true;
	bring_up(F_V1 | F_AP);
	avail->ring[0] = htole16(200);	/* head past the queue size */
	avail->idx = htole16(1);
	kick(DEV, 0);
	assert_true(dev1()->broken);
	expect_config_event(&ev);
	assert_int_equal(le32toh(ev.device_status) & S_NEEDS_RESET,
			 S_NEEDS_RESET);
}

/* A queue that is not live: the chain is forgotten, nothing fails. */
static void test_push_not_live(void **state)
{
	struct vmsg_dev *dev = dev1();

	bring_up(F_V1 | F_AP);
	assert_int_equal(vmsg_dev_push(dev, 1, 0, 0), -ENODEV);
	assert_int_equal(vmsg_dev_push(dev, 99, 0, 0), -ENODEV);
	vmsg_dev_used(dev, 1, 0, 0);
	vmsg_dev_notify_used(dev, 99);
	assert_false(dev->broken);
	assert_int_equal(vmsg_testbus_pending(tb), 0);
}

/*
 * Bus messages.
 */

static void test_ping(void **state)
{
	struct virtio_msg_bus_ping q = { htole32(0xdeadbeef) }, r;

	assert_int_equal(bus_call(VIRTIO_MSG_BUS_PING, &q, sizeof(q), &r,
				  sizeof(r)), sizeof(r));
	assert_int_equal(le32toh(r.data), 0xdeadbeef);
}

struct devices {
	unsigned int count, next;
	uint8_t bitmap[VIRTIO_MSG_MAX_SIZE];
};

static void get_devices(uint16_t off, uint16_t count, struct devices *d)
{
	struct virtio_msg_bus_get_devices_req q = { htole16(off),
						    htole16(count) };
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	struct virtio_msg_bus_get_devices_resp *r = (void *)buf;
	size_t len;

	len = bus_call(VIRTIO_MSG_BUS_GET_DEVICES, &q, sizeof(q), buf,
		       sizeof(buf));
	assert_int_equal(le16toh(r->offset), off);
	d->count = le16toh(r->count);
	d->next = le16toh(r->next_offset);
	assert_int_equal(d->count % 8, 0);
	assert_int_equal(len, sizeof(*r) + d->count / 8);
	memcpy(d->bitmap, r->bitmap, d->count / 8);
}

static void add_devices_at(const int *nums, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake", nums[i]),
				 nums[i]);
}

static void test_get_devices(void **state)
{
	static const int nums[] = { 9, 15, 17, 200 };
	struct devices d;

	add_devices_at(nums, 4);
	get_devices(0, 16, &d);
	assert_int_equal(d.count, 16);
	assert_int_equal(d.bitmap[0], 0x02);	/* dev 1 */
	assert_int_equal(d.bitmap[1], 0x82);	/* dev 9 and 15 */
	assert_int_equal(d.next, 16);
	get_devices(16, 8, &d);
	assert_int_equal(d.bitmap[0], 0x02);
	assert_int_equal(d.next, 200);
	get_devices(24, 8, &d);
	assert_int_equal(d.bitmap[0], 0);
	assert_int_equal(d.next, 200);
	get_devices(200, 8, &d);
	assert_int_equal(d.bitmap[0], 0x01);
	assert_int_equal(d.next, 0);
}

static void test_get_devices_clamped(void **state)
{
	static const int nums[] = { 255 };
	struct devices d;

	add_devices_at(nums, 1);
	/* 64-byte bus: 50 bitmap bytes = 400 bits, but only 256 dev_nums */
	get_devices(0, 0xfff8, &d);
	assert_int_equal(d.count, 256);
	assert_int_equal(d.bitmap[0], 0x02);
	assert_int_equal(d.bitmap[31], 0x80);
	assert_int_equal(d.next, 0);
	get_devices(248, 64, &d);
	assert_int_equal(d.count, 8);
	assert_int_equal(d.bitmap[0], 0x80);
	get_devices(256, 8, &d);
	assert_int_equal(d.count, 0);
	assert_int_equal(d.next, 0);
	get_devices(0xfff8, 8, &d);
	assert_int_equal(d.count, 0);
	assert_int_equal(d.next, 0);
	get_devices(0, 0, &d);
	assert_int_equal(d.count, 0);
}

/* 44-byte bus: 36 - 6 = 30 bitmap bytes, so 240 devices per message. */
static void test_get_devices_small_bus(void **state)
{
	static const int nums[] = { 250 };
	struct devices d;

	add_devices_at(nums, 1);
	get_devices(0, 256, &d);
	assert_int_equal(d.count, 240);
	assert_int_equal(d.next, 248);
	get_devices(240, 256, &d);
	assert_int_equal(d.count, 16);
	assert_int_equal(d.bitmap[1], 0x04);
}

static void test_get_devices_unaligned(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	struct virtio_msg_bus_get_devices_req *q =
		(void *)(buf + VIRTIO_MSG_HDR_SIZE);
	size_t len = build(buf, VIRTIO_MSG_TYPE_BUS, VIRTIO_MSG_BUS_GET_DEVICES,
			   0, 1, sizeof(*q));

	q->offset = htole16(4);
	q->count = htole16(8);
	expect_drop(buf, len);
	q->offset = htole16(8);
	q->count = htole16(12);
	expect_drop(buf, len);
}

static void test_announce(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	const struct virtio_msg_hdr *h = (void *)buf;
	struct virtio_msg_bus_event_device ev;

	assert_int_equal(vmsg_bus_announce(&tb->bus, 7,
					   VIRTIO_MSG_DEVICE_REMOVED), 0);
	assert_int_equal(vmsg_testbus_next_event(tb, buf, 0),
			 VIRTIO_MSG_HDR_SIZE + sizeof(ev));
	assert_int_equal(h->type, VIRTIO_MSG_TYPE_BUS);
	assert_int_equal(h->msg_id, VIRTIO_MSG_BUS_EVENT_DEVICE);
	assert_int_equal(h->dev_num, 0);
	assert_int_equal(h->token, 0);
	memcpy(&ev, buf + VIRTIO_MSG_HDR_SIZE, sizeof(ev));
	assert_int_equal(le16toh(ev.dev_num), 7);
	assert_int_equal(le16toh(ev.state), VIRTIO_MSG_DEVICE_REMOVED);
}

/*
 * Device life cycle.
 */

static void test_add_numbers(void **state)
{
	assert_string_equal(dev1()->name, "fake1");
	assert_ptr_equal(dev1()->bus, &tb->bus);
	assert_ptr_equal(dev1()->loop, tb->loop);
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake", 0), 2);
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake", 5), 5);
	assert_string_equal(vmsg_bus_dev(&tb->bus, 5)->name, "fake5");
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake", 0), 3);
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake", 5), -EEXIST);
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake", 256), -EINVAL);
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake", -1), -EINVAL);
	assert_int_equal(fk.create, 4);
}

static void test_add_bus_full(void **state)
{
	int i;

	for (i = 2; i < VMSG_BUS_MAX_DEVS; i++)
		assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake", 0), i);
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake", 0), -ENOSPC);
}

static void test_add_unknown_type(void **state)
{
	assert_int_equal(vmsg_bus_add_device(&tb->bus, "no-such-type", 0, err,
					     sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no-such-type"));
	assert_int_equal(vmsg_bus_add_device(&tb->bus, "bad type", 0, err,
					     sizeof(err)), -EINVAL);
	assert_null(vmsg_bus_dev(&tb->bus, 2));
}

static void test_add_unused_option(void **state)
{
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake,bogus=1", 0),
			 -EINVAL);
	assert_non_null(strstr(err, "bogus"));
	assert_int_equal(fk.create, 2);
	assert_int_equal(fk.destroy, 1);
	assert_null(vmsg_bus_dev(&tb->bus, 2));
}

static void test_add_create_fails(void **state)
{
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake,fail", 0), -EIO);
	assert_string_equal(err, "fake: told to fail");
	assert_int_equal(fk.destroy, 0);
	assert_null(vmsg_bus_dev(&tb->bus, 2));
}

static void test_add_bad_geometry(void **state)
{
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake,queues=65", 0),
			 -EINVAL);
	assert_int_equal(fk.destroy, 1);
	assert_null(vmsg_bus_dev(&tb->bus, 2));
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake,queues=64", 0), 2);
}

static void test_remove_without_detach(void **state)
{
	assert_int_equal(vmsg_bus_remove_device(&tb->bus, DEV), 0);
	assert_null(dev1());
	assert_int_equal(fk.reset, 1);
	assert_int_equal(fk.destroy, 1);
	assert_int_equal(vmsg_bus_remove_device(&tb->bus, DEV), -ENODEV);
	assert_int_equal(vmsg_bus_remove_device(&tb->bus, 0), -ENODEV);
	expect_drop_msg(0, VIRTIO_MSG_GET_DEVICE_STATUS, DEV, 0);
}

static void test_cleanup(void **state)
{
	assert_int_equal(add_fake(&tb->bus, &fake_ops, "fake", 0), 2);
	vmsg_bus_cleanup(&tb->bus);
	assert_int_equal(fk.destroy, 2);
	assert_int_equal(fk.reset, 2);
	assert_null(dev1());
}

/* A bus with attach and detach, like the real ones. */
static struct {
	int attach, detach, sent;
	int attach_ret;
	bool visible;		/* attach saw the device on the bus */
} lc;

static int lc_send(struct vmsg_bus *bus, const void *msg, size_t len)
{
	lc.sent++;
	return 0;
}

static int lc_attach(struct vmsg_bus *bus, struct vmsg_dev *dev)
{
	lc.attach++;
	lc.visible = vmsg_bus_dev(bus, dev->dev_num) == dev;
	return lc.attach_ret;
}

static void lc_detach(struct vmsg_bus *bus, struct vmsg_dev *dev)
{
	lc.detach++;
}

static const struct vmsg_bus_ops lc_ops = {
	.send = lc_send,
	.attach = lc_attach,
	.detach = lc_detach,
};

static struct vmsg_bus *lc_bus(void)
{
	struct vmsg_bus *bus = calloc(1, sizeof(*bus));

	assert_non_null(bus);
	memset(&lc, 0, sizeof(lc));
	memset(&fk, 0, sizeof(fk));
	vmsg_bus_init(bus, &lc_ops, "lc", NULL, VIRTIO_MSG_DEFAULT_SIZE);
	return bus;
}

static void test_attach_fails(void **state)
{
	struct vmsg_bus *bus = lc_bus();

	lc.attach_ret = -EPIPE;
	assert_int_equal(add_fake(bus, &fake_ops, "fake", 0), -EPIPE);
	assert_true(lc.visible);
	assert_non_null(strstr(err, "attach"));
	assert_null(vmsg_bus_dev(bus, 1));
	assert_int_equal(fk.destroy, 1);
	vmsg_bus_cleanup(bus);
	free(bus);
}

static void test_detach(void **state)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	struct vmsg_bus *bus = lc_bus();
	size_t len = build(buf, 0, VIRTIO_MSG_GET_DEVICE_STATUS, 1, 1, 0);

	assert_int_equal(add_fake(bus, &fake_ops, "fake", 0), 1);
	assert_int_equal(lc.attach, 1);
	assert_int_equal(vmsg_bus_remove_device(bus, 1), 0);
	assert_int_equal(lc.detach, 1);
	assert_true(vmsg_bus_dev(bus, 1)->detaching);
	/* Still served until the bus says the driver side let go. */
	assert_int_equal(vmsg_bus_receive(bus, buf, len), 0);
	assert_int_equal(lc.sent, 1);
	assert_int_equal(vmsg_bus_remove_device(bus, 1), 0);
	assert_int_equal(lc.detach, 1);
	assert_int_equal(fk.destroy, 0);
	vmsg_bus_destroy_device(bus, 1);
	assert_null(vmsg_bus_dev(bus, 1));
	assert_int_equal(fk.destroy, 1);
	vmsg_bus_destroy_device(bus, 1);
	free(bus);
}

static void test_bus_init_clamps(void **state)
{
	struct vmsg_bus bus;

	vmsg_bus_init(&bus, &lc_ops, "lc", NULL, 8);
	assert_int_equal(bus.max_msg_size, VIRTIO_MSG_MIN_SIZE);
	vmsg_bus_init(&bus, &lc_ops, "lc", NULL, 4096);
	assert_int_equal(bus.max_msg_size, VIRTIO_MSG_MAX_SIZE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define T_SMALL(f) cmocka_unit_test_setup_teardown(f, setup_small, teardown)
#define T_LARGE(f) cmocka_unit_test_setup_teardown(f, setup_large, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_drop_short),
		T(test_drop_too_long),
		T(test_drop_msg_size_mismatch),
		T(test_drop_response_typed),
		T(test_drop_unknown_msg_id),
		T(test_drop_unknown_dev_num),
		T(test_drop_short_payload),
		T(test_long_payload_ok),
		T(test_events_never_answered),
		T(test_response_echo_and_init),
		T(test_reserved_type_bits),
		T(test_stats),
		T(test_send_error_counted),
		T_SMALL(test_response_too_big_for_bus),
		T(test_device_info),
		T(test_features_offered),
		T(test_features_past_64),
		T(test_features_clamped),
		T_LARGE(test_features_clamped_large),
		T(test_set_features_masked),
		T(test_set_features_one_block),
		T(test_set_features_short_array),
		T(test_set_features_after_features_ok),
		T(test_features_ok_needs_version_1),
		T(test_features_ok_needs_access_platform),
		T(test_status_only_adds),
		T(test_status_needs_reset_is_device_only),
		T(test_driver_ok_needs_features_ok),
		T(test_driver_ok_starts),
		T(test_driver_ok_indirect),
		T(test_reset),
		T(test_config_read_chunks),
		T(test_config_read_too_big),
		T_LARGE(test_config_read_large_bus),
		T(test_config_read_out_of_range),
		T(test_config_none),
		T(test_config_write),
		T(test_config_write_stale_generation),
		T(test_config_write_bad_range),
		T(test_config_write_read_only),
		T(test_config_write_data_short),
		T(test_config_change_event),
		T(test_get_vqueue_no_such_queue),
		T(test_get_vqueue),
		T(test_set_vqueue_needs_features_ok),
		T(test_set_vqueue_after_driver_ok),
		T(test_set_vqueue_bad_index),
		T(test_set_vqueue_bad_geometry),
		T(test_reset_vqueue_does_nothing),
		T(test_get_shm),
		T(test_avail_before_driver_ok),
		T(test_avail_after_driver_ok),
		T(test_avail_bad_queue),
		T(test_avail_next_offset_ignored),
		T(test_used_notifies),
		T(test_used_no_interrupt),
		T(test_push_batch),
		T(test_fail_device),
		T(test_push_failure_fails_device),
		T(test_bad_ring_fails_device),
		T(test_push_not_live),
		T(test_ping),
		T(test_get_devices),
		T(test_get_devices_clamped),
		T_SMALL(test_get_devices_small_bus),
		T(test_get_devices_unaligned),
		T(test_announce),
		T(test_add_numbers),
		T(test_add_bus_full),
		T(test_add_unknown_type),
		T(test_add_unused_option),
		T(test_add_create_fails),
		T(test_add_bad_geometry),
		T(test_remove_without_detach),
		T(test_cleanup),
		cmocka_unit_test(test_attach_fails),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_bus_init_clamps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
