// SPDX-License-Identifier: GPL-2.0
/*
 * The core's bus half: header validation and dispatch of every message a
 * bus receives (virtio-msg.md section 2), the bus messages (section 4),
 * responses, and the life cycle of the devices on a bus.
 *
 * A received message is copied into a local buffer before anything in it is
 * read, so a bus whose messages sit in memory the peer can still write
 * (XSA-155) needs no copy of its own. Malformed, unexpected or unknown
 * messages are dropped, counted in stats.dropped and logged rate-limited;
 * a request that is not dropped gets exactly one response, built in a
 * zeroed buffer (XSA-216); events are never answered. What the transport
 * messages mean is transport.c's business; how bytes travel is the bus's.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_msg.h>

#include "bus.h"
#include "log.h"

/* Room for the largest message, aligned for any wire struct. */
union vmsg_msgbuf {
	struct virtio_msg_hdr hdr;
	uint8_t bytes[VIRTIO_MSG_MAX_SIZE];
	uint64_t align;
};

static size_t vmsg_bus_max(const struct vmsg_bus *bus)
{
	if (bus->max_msg_size > VIRTIO_MSG_MAX_SIZE)
		return VIRTIO_MSG_MAX_SIZE;
	return bus->max_msg_size;
}

static size_t min_count(size_t a, size_t b)
{
	return a < b ? a : b;
}

static const char *vmsg_bus_name(const struct vmsg_bus *bus)
{
	return bus->name ? bus->name : "bus";
}

/*
 * A bus advertising less than the minimum would be out of spec, more than
 * the maximum would not fit our buffers: clamp either way.
 */
void vmsg_bus_init(struct vmsg_bus *bus, const struct vmsg_bus_ops *ops,
		   const char *name, struct vmsg_loop *loop,
		   size_t max_msg_size)
{
	bus->ops = ops;
	bus->name = name;
	bus->loop = loop;
	if (max_msg_size < VIRTIO_MSG_MIN_SIZE)
		max_msg_size = VIRTIO_MSG_MIN_SIZE;
	if (max_msg_size > VIRTIO_MSG_MAX_SIZE)
		max_msg_size = VIRTIO_MSG_MAX_SIZE;
	bus->max_msg_size = max_msg_size;
	memset(bus->devs, 0, sizeof(bus->devs));
	memset(&bus->stats, 0, sizeof(bus->stats));
	memset(&bus->rl, 0, sizeof(bus->rl));
}

int vmsg_bus_send(struct vmsg_bus *bus, const void *msg, size_t len)
{
	int ret;

	if (len < VIRTIO_MSG_HDR_SIZE || len > vmsg_bus_max(bus))
		ret = -EMSGSIZE;
	else
		ret = bus->ops->send(bus, msg, len);
	if (ret) {
		bus->stats.send_errors++;
		vmsg_log_rl(&bus->rl, VMSG_LOG_WARN,
			    "%s: sending a %zu byte message failed: %s",
			    vmsg_bus_name(bus), len, strerror(-ret));
		return ret;
	}
	bus->stats.tx++;
	return 0;
}

int vmsg_bus_send_msg(struct vmsg_bus *bus, uint8_t type, uint8_t msg_id,
		      uint16_t dev_num, uint16_t token, const void *payload,
		      size_t plen)
{
	union vmsg_msgbuf m;
	size_t len = VIRTIO_MSG_HDR_SIZE + plen;

	if (plen > VIRTIO_MSG_PAYLOAD_MAX(vmsg_bus_max(bus))) {
		bus->stats.send_errors++;
		vmsg_log_rl(&bus->rl, VMSG_LOG_ERR,
			    "%s: msg_id 0x%02x: %zu bytes exceed the bus maximum",
			    vmsg_bus_name(bus), msg_id, len);
		return -EMSGSIZE;
	}
	memset(&m, 0, sizeof(m));
	m.hdr.type = type;
	m.hdr.msg_id = msg_id;
	m.hdr.dev_num = htole16(dev_num);
	m.hdr.token = htole16(token);
	m.hdr.msg_size = htole16((uint16_t)len);
	memcpy(m.bytes + VIRTIO_MSG_HDR_SIZE, payload, plen);
	return vmsg_bus_send(bus, m.bytes, len);
}

int vmsg_bus_announce(struct vmsg_bus *bus, uint16_t dev_num, uint16_t state)
{
	struct virtio_msg_bus_event_device ev = {
		.dev_num = htole16(dev_num),
		.state = htole16(state),
	};

	return vmsg_bus_send_msg(bus, VIRTIO_MSG_TYPE_BUS,
				 VIRTIO_MSG_BUS_EVENT_DEVICE, 0, 0, &ev,
				 sizeof(ev));
}

static int vmsg_drop(struct vmsg_bus *bus, const struct virtio_msg_hdr *hdr,
		     const char *why)
{
	bus->stats.dropped++;
	if (hdr)
		vmsg_log_rl(&bus->rl, VMSG_LOG_WARN,
			    "%s: dropped message type 0x%02x id 0x%02x dev %u: %s",
			    vmsg_bus_name(bus), hdr->type, hdr->msg_id,
			    le16toh(hdr->dev_num), why);
	else
		vmsg_log_rl(&bus->rl, VMSG_LOG_WARN, "%s: dropped message: %s",
			    vmsg_bus_name(bus), why);
	return -EBADMSG;
}

/* 0x40-0x7f and 0xc0-0xff are events: bit 6 set. */
static bool vmsg_msg_is_event(uint8_t msg_id)
{
	return msg_id & VIRTIO_MSG_ID_EVENT_MIN;
}

/*
 * Bus messages.
 */

/* The first 8-aligned window after dev_num `from` holding a device, or 0. */
static uint16_t vmsg_next_window(const struct vmsg_bus *bus, unsigned int from)
{
	unsigned int n;

	for (n = from; n < VMSG_BUS_MAX_DEVS; n++)
		if (bus->devs[n])
			return n & ~7U;
	return 0;
}

/*
 * GET_DEVICES: count is clamped to the bitmap one response can carry and
 * to the dev_nums that can exist; the response's count says how many bits
 * are valid. A window starting at 0 cannot be reported as next_offset (0
 * means "no more"), which is harmless: dev_num 0 is never a device, so a
 * driver always starts its scan at offset 0 anyway.
 */
static int vmsg_bus_get_devices(struct vmsg_bus *bus, const void *req,
				size_t plen, void *resp, size_t resp_max)
{
	const struct virtio_msg_bus_get_devices_req *r = req;
	struct virtio_msg_bus_get_devices_resp *p = resp;
	unsigned int off = le16toh(r->offset), count = le16toh(r->count), n;

	if (off % 8 || count % 8)
		return -EBADMSG;
	count = (unsigned int)min_count(count, (resp_max - sizeof(*p)) * 8);
	count = off < VMSG_BUS_MAX_DEVS ?
		(unsigned int)min_count(count, VMSG_BUS_MAX_DEVS - off) : 0;
	p->offset = r->offset;
	p->count = htole16((uint16_t)count);
	for (n = 0; n < count; n++)
		if (bus->devs[off + n])
			p->bitmap[n / 8] |= 1U << (n % 8);
	p->next_offset = htole16(vmsg_next_window(bus, off + count));
	return (int)(sizeof(*p) + count / 8);
}

static int vmsg_bus_ping(struct vmsg_bus *bus, const void *req, size_t plen,
			 void *resp, size_t resp_max)
{
	memcpy(resp, req, sizeof(struct virtio_msg_bus_ping));
	return sizeof(struct virtio_msg_bus_ping);
}

struct vmsg_bus_msg {
	size_t req_len;		/* fixed part of the request payload */
	int (*fn)(struct vmsg_bus *bus, const void *req, size_t plen,
		  void *resp, size_t resp_max);
};

/* EVENT_DEVICE only travels towards the driver side: not listed. */
static const struct vmsg_bus_msg vmsg_bus_msgs[256] = {
	[VIRTIO_MSG_BUS_GET_DEVICES] = {
		sizeof(struct virtio_msg_bus_get_devices_req),
		vmsg_bus_get_devices },
	[VIRTIO_MSG_BUS_PING] = { sizeof(struct virtio_msg_bus_ping),
				  vmsg_bus_ping },
};

static int vmsg_bus_handle(struct vmsg_bus *bus, uint8_t msg_id,
			   const void *req, size_t plen, void *resp,
			   size_t resp_max)
{
	const struct vmsg_bus_msg *m = &vmsg_bus_msgs[msg_id];

	if (!m->fn || plen < m->req_len)
		return -EBADMSG;
	return m->fn(bus, req, plen, resp, resp_max);
}

/*
 * Receive path.
 */

/* Run the handler for a validated message and answer it if it is a request. */
static int vmsg_bus_dispatch(struct vmsg_bus *bus,
			     const struct virtio_msg_hdr *hdr,
			     struct vmsg_dev *dev, size_t len)
{
	union vmsg_msgbuf resp;
	size_t plen = len - VIRTIO_MSG_HDR_SIZE;
	size_t resp_max = VIRTIO_MSG_PAYLOAD_MAX(vmsg_bus_max(bus));
	const uint8_t *req = (const uint8_t *)hdr + VIRTIO_MSG_HDR_SIZE;
	int ret;

	memset(&resp, 0, sizeof(resp));
	if (dev)
		ret = vmsg_transport_handle(dev, hdr->msg_id, req, plen,
					    resp.bytes, resp_max);
	else
		ret = vmsg_bus_handle(bus, hdr->msg_id, req, plen, resp.bytes,
				      resp_max);
	if (ret < 0)
		return vmsg_drop(bus, hdr, "unknown, malformed or too short");
	if (vmsg_msg_is_event(hdr->msg_id))
		return 0;
	/* Reserved type bits are 0 on send (section 2): keep only BUS. */
	vmsg_bus_send_msg(bus,
			  (hdr->type & VIRTIO_MSG_TYPE_BUS) |
				  VIRTIO_MSG_TYPE_RESPONSE,
			  hdr->msg_id, le16toh(hdr->dev_num),
			  le16toh(hdr->token), resp.bytes, (size_t)ret);
	return 0;
}

static int vmsg_bus_route(struct vmsg_bus *bus,
			  const struct virtio_msg_hdr *hdr, size_t len)
{
	uint16_t dev_num = le16toh(hdr->dev_num);
	struct vmsg_dev *dev;

	if (hdr->type & VIRTIO_MSG_TYPE_RESPONSE)
		return vmsg_drop(bus, hdr, "response from the driver side");
	if (hdr->type & VIRTIO_MSG_TYPE_BUS) {
		if (dev_num)
			return vmsg_drop(bus, hdr, "bus message with dev_num");
		return vmsg_bus_dispatch(bus, hdr, NULL, len);
	}
	dev = vmsg_bus_dev(bus, dev_num);
	if (!dev)
		return vmsg_drop(bus, hdr, "no such device");
	return vmsg_bus_dispatch(bus, hdr, dev, len);
}

int vmsg_bus_receive(struct vmsg_bus *bus, const void *msg, size_t len)
{
	union vmsg_msgbuf m;

	bus->stats.rx++;
	if (len < VIRTIO_MSG_HDR_SIZE || len > vmsg_bus_max(bus))
		return vmsg_drop(bus, NULL, "bad length");
	memcpy(m.bytes, msg, len);
	if (le16toh(m.hdr.msg_size) != len)
		return vmsg_drop(bus, &m.hdr, "msg_size is not the length");
	return vmsg_bus_route(bus, &m.hdr, len);
}

/*
 * Device life cycle.
 */

static int vmsg_bus_pick_num(struct vmsg_bus *bus, int dev_num, char *err,
			     size_t errlen)
{
	if (dev_num < 0 || dev_num >= VMSG_BUS_MAX_DEVS) {
		snprintf(err, errlen, "dev_num %d out of range 1..%d", dev_num,
			 VMSG_BUS_MAX_DEVS - 1);
		return -EINVAL;
	}
	if (dev_num) {
		if (bus->devs[dev_num]) {
			snprintf(err, errlen, "dev_num %d is in use", dev_num);
			return -EEXIST;
		}
		return dev_num;
	}
	for (dev_num = 1; dev_num < VMSG_BUS_MAX_DEVS; dev_num++)
		if (!bus->devs[dev_num])
			return dev_num;
	snprintf(err, errlen, "bus %s is full", vmsg_bus_name(bus));
	return -ENOSPC;
}

/* What create() set must fit the core's fixed-size state. */
static int vmsg_dev_check_model(const struct vmsg_dev *dev, char *err,
				size_t errlen)
{
	if (dev->num_queues > VMSG_DEV_MAX_QUEUES ||
	    (dev->num_queues && (!dev->queue_max_size ||
				 dev->queue_max_size > VMSG_VQ_MAX_SIZE)) ||
	    dev->config_size > VMSG_DEV_MAX_CONFIG ||
	    (dev->config_size && !dev->config)) {
		snprintf(err, errlen, "model %s: bad queue or config geometry",
			 dev->ops->type);
		return -EINVAL;
	}
	return 0;
}

static void vmsg_dev_free(struct vmsg_dev *dev)
{
	if (dev->ops->reset)
		dev->ops->reset(dev);
	dev->ops->destroy(dev);
	free(dev);
}

static struct vmsg_dev *vmsg_dev_alloc(struct vmsg_bus *bus,
				       const struct vmsg_dev_ops *ops,
				       int dev_num)
{
	struct vmsg_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->ops = ops;
	dev->bus = bus;
	dev->loop = bus->loop;
	dev->dev_num = (uint16_t)dev_num;
	snprintf(dev->name, sizeof(dev->name), "%.24s%d", ops->type, dev_num);
	return dev;
}

/* create() succeeded: check, publish on the bus, attach. */
static int vmsg_dev_publish(struct vmsg_bus *bus, struct vmsg_dev *dev,
			    struct vmsg_spec *spec, char *err, size_t errlen)
{
	int ret;

	ret = vmsg_spec_check_unused(spec, err, errlen);
	if (!ret)
		ret = vmsg_dev_check_model(dev, err, errlen);
	if (ret)
		return ret;
	vmsg_transport_init_dev(dev);
	/* Visible first: attaching may make the driver side probe at once. */
	bus->devs[dev->dev_num] = dev;
	if (!bus->ops->attach)
		return 0;
	ret = bus->ops->attach(bus, dev);
	if (ret) {
		bus->devs[dev->dev_num] = NULL;
		snprintf(err, errlen, "%s: attaching %s failed: %s",
			 vmsg_bus_name(bus), dev->name, strerror(-ret));
	}
	return ret;
}

int vmsg_bus_add_device_ops(struct vmsg_bus *bus,
			    const struct vmsg_dev_ops *ops,
			    struct vmsg_spec *spec, int dev_num, char *err,
			    size_t errlen)
{
	struct vmsg_dev *dev;
	int ret;

	if (!ops->create || !ops->destroy) {
		snprintf(err, errlen, "model %s lacks create/destroy",
			 ops->type);
		return -EINVAL;
	}
	dev_num = vmsg_bus_pick_num(bus, dev_num, err, errlen);
	if (dev_num < 0)
		return dev_num;
	dev = vmsg_dev_alloc(bus, ops, dev_num);
	if (!dev) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = ops->create(dev, spec, err, errlen);
	if (ret)
		goto err_free;
	ret = vmsg_dev_publish(bus, dev, spec, err, errlen);
	if (ret)
		goto err_destroy;
	return dev_num;

err_destroy:
	vmsg_dev_free(dev);
	return ret;
err_free:
	free(dev);
	return ret;
}

int vmsg_bus_add_device(struct vmsg_bus *bus, const char *text, int dev_num,
			char *err, size_t errlen)
{
	const struct vmsg_dev_ops *ops;
	struct vmsg_spec *spec;
	int ret;

	spec = malloc(sizeof(*spec));
	if (!spec) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = vmsg_spec_parse(spec, text, err, errlen);
	if (ret)
		goto out;
	ops = vmsg_dev_type_find(spec->type);
	if (!ops) {
		snprintf(err, errlen, "unknown device type '%s'", spec->type);
		ret = -ENOENT;
		goto out;
	}
	ret = vmsg_bus_add_device_ops(bus, ops, spec, dev_num, err, errlen);
out:
	free(spec);
	return ret;
}

int vmsg_bus_remove_device(struct vmsg_bus *bus, uint16_t dev_num)
{
	struct vmsg_dev *dev = vmsg_bus_dev(bus, dev_num);

	if (!dev)
		return -ENODEV;
	if (dev->detaching)
		return 0;
	dev->detaching = true;
	if (bus->ops->detach)
		bus->ops->detach(bus, dev);
	else
		vmsg_bus_destroy_device(bus, dev_num);
	return 0;
}

void vmsg_bus_destroy_device(struct vmsg_bus *bus, uint16_t dev_num)
{
	struct vmsg_dev *dev = vmsg_bus_dev(bus, dev_num);

	if (!dev)
		return;
	bus->devs[dev_num] = NULL;
	vmsg_dev_free(dev);
}

void vmsg_bus_cleanup(struct vmsg_bus *bus)
{
	unsigned int n;

	for (n = 1; n < VMSG_BUS_MAX_DEVS; n++)
		vmsg_bus_destroy_device(bus, (uint16_t)n);
}
