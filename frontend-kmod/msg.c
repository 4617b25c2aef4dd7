// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-msg transport: request/response round trips and the receive path.
 *
 * One request is outstanding per device (vmsg_dev.req_mutex), matched to its
 * response by message id and token and checked by a per-request validator
 * before the waiter sees it. Devices of one bus run their round trips
 * concurrently: nothing bus-wide is held while waiting. Every incoming
 * message is copied out of the bus module's buffer (which may be shared
 * memory) before its header is read, and malformed or unexpected messages
 * are dropped and counted (spec "transport-msg", no error message exists).
 * This file does not interpret response payloads; config.c and vq.c do.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "transport_internal.h"

/**
 * vmsg_fill_hdr() - fill a message header, little endian on the wire
 * @hdr: header to fill
 * @type: VIRTIO_MSG_TYPE_* bits
 * @msg_id: message id
 * @dev_num: device number (0 for bus messages)
 * @token: request token (0 for events)
 * @size: total message size, header included
 */
void vmsg_fill_hdr(struct virtio_msg_hdr *hdr, u8 type, u8 msg_id,
		   u16 dev_num, u16 token, size_t size)
{
	hdr->type = type;
	hdr->msg_id = msg_id;
	hdr->dev_num = cpu_to_le16(dev_num);
	hdr->token = cpu_to_le16(token);
	hdr->msg_size = cpu_to_le16(size);
}

/*
 * Publish @req as the device's outstanding request, unless the device is
 * dead. vmsg_set_dead() sets the flag before it takes req_lock to abort, so
 * either it finds @req here or we see the flag: no request can slip past it
 * and wait for the whole timeout.
 */
static int vmsg_start_request(struct vmsg_dev *dev, struct vmsg_req *req)
{
	unsigned long flags;
	int err = 0;

	spin_lock_irqsave(&dev->req_lock, flags);
	if (vmsg_dev_dead(dev))
		err = -ENODEV;
	else
		dev->req = req;
	spin_unlock_irqrestore(&dev->req_lock, flags);
	return err;
}

/*
 * Withdraw @req. Returns -ETIMEDOUT if it was still outstanding, else the
 * result set by whoever completed it. complete() runs under req_lock, so
 * once we hold it here the completer no longer touches @req.
 */
static int vmsg_end_request(struct vmsg_dev *dev, struct vmsg_req *req)
{
	unsigned long flags;
	int err;

	spin_lock_irqsave(&dev->req_lock, flags);
	if (dev->req == req) {
		dev->req = NULL;
		err = -ETIMEDOUT;
	} else {
		err = req->err;
	}
	spin_unlock_irqrestore(&dev->req_lock, flags);
	return err;
}

/**
 * vmsg_abort_request() - end the outstanding request of @dev with @err
 * @dev: the device
 * @err: negative errno the waiter returns
 *
 * Any context. Used when the device goes dead, so the waiter does not sit
 * out the timeout.
 */
void vmsg_abort_request(struct vmsg_dev *dev, int err)
{
	struct vmsg_req *req;
	unsigned long flags;

	spin_lock_irqsave(&dev->req_lock, flags);
	req = dev->req;
	if (req) {
		dev->req = NULL;
		req->err = err;
		complete(&req->done);
	}
	spin_unlock_irqrestore(&dev->req_lock, flags);
}

static void vmsg_log(struct vmsg_dev *dev, const char *level,
		     const char *fmt, va_list *args)
{
	struct va_format vaf = { .fmt = fmt, .va = args };

	dev_printk(level, dev->t->dev, "dev %u: %pV", dev->dev_num, &vaf);
}

/**
 * vmsg_err() - log an error about a device
 * @dev: the device
 * @fmt: printf format
 */
void vmsg_err(struct vmsg_dev *dev, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vmsg_log(dev, KERN_ERR, fmt, &args);
	va_end(args);
}

/**
 * vmsg_warn() - log a warning about a device
 * @dev: the device
 * @fmt: printf format
 */
void vmsg_warn(struct vmsg_dev *dev, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vmsg_log(dev, KERN_WARNING, fmt, &args);
	va_end(args);
}

/**
 * vmsg_warn_rl() - log a warning about a device, rate-limited per device
 * @dev: the device
 * @fmt: printf format
 */
void vmsg_warn_rl(struct vmsg_dev *dev, const char *fmt, ...)
{
	va_list args;

	if (!__ratelimit(&dev->rs))
		return;
	va_start(args, fmt);
	vmsg_log(dev, KERN_WARNING, fmt, &args);
	va_end(args);
}

static u16 vmsg_next_token(struct vmsg_dev *dev)
{
	/* Events carry token 0; keep it out of requests. */
	dev->token++;
	if (!dev->token)
		dev->token++;
	return dev->token;
}

/*
 * Send one request and wait for its validated response. Sleeps up to the
 * timeout_ms module parameter. A timeout, or a bus that reports the device
 * side gone, makes the device dead.
 */
static int vmsg_xfer(struct vmsg_dev *dev, struct vmsg_req *req, size_t len)
{
	struct virtio_msg_bus *bus = dev->t->bus;
	u8 msg[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	size_t size = VIRTIO_MSG_HDR_SIZE + len;
	int err;

	if (size > bus->max_msg_size)
		return -EMSGSIZE;

	req->token = vmsg_next_token(dev);
	init_completion(&req->done);
	vmsg_fill_hdr((struct virtio_msg_hdr *)msg, 0, req->msg_id,
		      dev->dev_num, req->token, size);
	if (len)
		memcpy(msg + VIRTIO_MSG_HDR_SIZE, req->ask, len);

	err = vmsg_start_request(dev, req);
	if (err)
		return err;
	err = bus->ops->send(bus, msg, size);
	if (err) {
		vmsg_end_request(dev, req);
		if (vmsg_link_gone(err))
			vmsg_set_dead(dev, "bus reports device side gone",
				      false);
		return err;
	}

	wait_for_completion_timeout(&req->done, vmsg_timeout_jiffies());
	err = vmsg_end_request(dev, req);
	if (err == -ETIMEDOUT) {
		vmsg_err(dev, "no response to message 0x%02x within %u ms\n",
			 req->msg_id, READ_ONCE(vmsg_timeout_ms));
		vmsg_set_dead(dev, "request timed out", true);
	}
	return err;
}

/**
 * vmsg_call() - one request/response round trip
 * @dev: the device; the caller holds dev->req_mutex
 * @msg_id: request message id (the response carries the same id)
 * @ask: request payload; @check compares the response's echoes with it
 * @len: request payload length
 * @check: validates the response payload; an invalid response is dropped
 *	as if it had never come
 * @resp: VIRTIO_MSG_MAX_SIZE bytes for the response payload
 *
 * Fails at once with -ENODEV when the device is dead.
 *
 * Return: the response payload length, or a negative errno.
 */
int vmsg_call(struct vmsg_dev *dev, u8 msg_id, const void *ask, size_t len,
	      vmsg_check_t check, u8 *resp)
{
	struct vmsg_req req = {
		.msg_id = msg_id,
		.ask = ask,
		.check = check,
		.resp = resp,
	};
	int err;

	lockdep_assert_held(&dev->req_mutex);
	err = vmsg_xfer(dev, &req, len);
	return err ? err : req.resp_len;
}

/**
 * vmsg_drop() - count and log (rate-limited) a dropped message
 * @t: the bus
 * @why: reason
 */
void vmsg_drop(struct virtio_msg_transport *t, const char *why)
{
	atomic_inc(&t->dropped);
	dev_warn_ratelimited(t->dev, "dropped message: %s\n", why);
}

/* A response: hand it to the waiter if it is the one it waits for. */
static void vmsg_rx_response(struct vmsg_dev *dev,
			     const struct virtio_msg_hdr *hdr,
			     const u8 *pl, size_t len)
{
	struct vmsg_req *req;
	unsigned long flags;
	bool ok;

	spin_lock_irqsave(&dev->req_lock, flags);
	req = dev->req;
	ok = req && hdr->msg_id == req->msg_id &&
	     le16_to_cpu(hdr->token) == req->token &&
	     req->check(req->ask, pl, len);
	if (ok) {
		WRITE_ONCE(dev->last_seen, jiffies);
		memcpy(req->resp, pl, len);
		req->resp_len = len;
		dev->req = NULL;
		complete(&req->done);
	}
	spin_unlock_irqrestore(&dev->req_lock, flags);

	if (ok)
		return;
	atomic_inc(&dev->stale);
	atomic_inc(&dev->t->stale);
	/* Once dead, late answers (e.g. to the quiescing reset) are normal */
	if (!vmsg_dev_dead(dev))
		vmsg_warn_rl(dev, "dropped bad response 0x%02x token %u\n",
			     hdr->msg_id, le16_to_cpu(hdr->token));
}

/* A transport message (bus bit clear) for device dev_num. */
static void vmsg_rx_transport(struct virtio_msg_transport *t,
			      const struct virtio_msg_hdr *hdr,
			      const u8 *pl, size_t len)
{
	struct vmsg_dev *dev;

	dev = xa_load(&t->devs, le16_to_cpu(hdr->dev_num));
	if (!dev) {
		vmsg_drop(t, "unknown device");
		return;
	}
	if (hdr->type & VIRTIO_MSG_TYPE_RESPONSE) {
		vmsg_rx_response(dev, hdr, pl, len);
		return;
	}

	switch (hdr->msg_id) {
	case VIRTIO_MSG_EVENT_USED:
		if (len < sizeof(struct virtio_msg_event_used))
			break;
		vmsg_event_used(dev, get_unaligned_le32(pl));
		return;
	case VIRTIO_MSG_EVENT_CONFIG:
		if (len < sizeof(struct virtio_msg_event_config) ||
		    get_unaligned_le32(pl + 12) >
		    len - sizeof(struct virtio_msg_event_config))
			break;
		vmsg_event_config(dev, pl, len);
		return;
	}
	vmsg_drop(t, "unexpected or short transport message");
}

/* A bus message: only EVENT_DEVICE travels from the device side to us. */
static void vmsg_rx_bus(struct virtio_msg_transport *t,
			const struct virtio_msg_hdr *hdr,
			const u8 *pl, size_t len)
{
	if ((hdr->type & VIRTIO_MSG_TYPE_RESPONSE) || hdr->dev_num ||
	    hdr->msg_id != VIRTIO_MSG_BUS_EVENT_DEVICE ||
	    len < sizeof(struct virtio_msg_bus_event_device)) {
		vmsg_drop(t, "unexpected bus message");
		return;
	}
	vmsg_bus_event(t, get_unaligned_le16(pl), get_unaligned_le16(pl + 2));
}

/**
 * virtio_msg_bus_receive() - deliver one message from the device side
 * @bus: the bus it arrived on
 * @msg: the whole message, header included; may be shared memory
 * @len: its length as received
 *
 * Any context (process, softirq, hard or threaded IRQ). The message is
 * copied before it is parsed; a response wakes its waiter, EVENT_USED runs
 * the virtqueue callback, EVENT_CONFIG the config-change handler, and bus
 * EVENT_DEVICE queues an add or remove. Anything else is dropped and
 * counted. The bus module may call this until virtio_msg_bus_unregister()
 * returns, not after.
 */
void virtio_msg_bus_receive(struct virtio_msg_bus *bus, const void *msg,
			    size_t len)
{
	struct virtio_msg_transport *t = bus->transport;
	u8 buf[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	const struct virtio_msg_hdr *hdr = (const void *)buf;
	const u8 *pl = buf + VIRTIO_MSG_HDR_SIZE;

	if (len < VIRTIO_MSG_HDR_SIZE || len > bus->max_msg_size) {
		vmsg_drop(t, "bad length");
		return;
	}
	memcpy(buf, msg, len);
	if (le16_to_cpu(hdr->msg_size) != len) {
		vmsg_drop(t, "msg_size does not match length");
		return;
	}

	/* Device lookups and everything they reach are RCU-protected. */
	rcu_read_lock();
	if (hdr->type & VIRTIO_MSG_TYPE_BUS)
		vmsg_rx_bus(t, hdr, pl, len - VIRTIO_MSG_HDR_SIZE);
	else
		vmsg_rx_transport(t, hdr, pl, len - VIRTIO_MSG_HDR_SIZE);
	rcu_read_unlock();
}
EXPORT_SYMBOL_GPL(virtio_msg_bus_receive);
