// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-msg transport: the virtio_config_ops of a virtio-msg device.
 *
 * Device information, features, status and configuration space, each as
 * one or more round trips (spec "transport-msg" §3): configuration reads and
 * writes are split to the bus's message size and restart when the
 * generation moves between chunks. Every response is validated (echoed
 * fields, lengths) before use; a dead device answers locally and at once.
 * The virtqueue operations are in vq.c, the dead-device scheme in dead.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <asm/unaligned.h>

#include "transport_internal.h"

/* Bounded retries when the generation moves under a config access. */
#define VMSG_CONFIG_TRIES	8

/* Response validators: @ask is the request payload, @pl the response's. */

static bool vmsg_check_none(const void *ask, const u8 *pl, size_t len)
{
	return true;
}

static bool vmsg_check_u32(const void *ask, const u8 *pl, size_t len)
{
	return len >= sizeof(__le32);
}

static bool vmsg_check_info(const void *ask, const u8 *pl, size_t len)
{
	return len >= sizeof(struct virtio_msg_get_device_info_resp);
}

static bool vmsg_check_features(const void *ask, const u8 *pl, size_t len)
{
	const struct virtio_msg_get_device_features_req *q = ask;
	u32 blocks = le32_to_cpu(q->num_blocks);

	return len >= sizeof(struct virtio_msg_get_device_features_resp) +
		      blocks * sizeof(__le32) &&
	       get_unaligned_le32(pl) == le32_to_cpu(q->block_index) &&
	       get_unaligned_le32(pl + 4) == blocks;
}

static bool vmsg_check_get_config(const void *ask, const u8 *pl, size_t len)
{
	const struct virtio_msg_get_config_req *q = ask;
	u32 length = le32_to_cpu(q->length);

	return len >= sizeof(struct virtio_msg_get_config_resp) + length &&
	       get_unaligned_le32(pl + 4) == le32_to_cpu(q->offset) &&
	       get_unaligned_le32(pl + 8) == length;
}

static bool vmsg_check_set_config(const void *ask, const u8 *pl, size_t len)
{
	const struct virtio_msg_set_config_req *q = ask;
	u32 length;

	if (len < sizeof(struct virtio_msg_set_config_resp))
		return false;
	length = get_unaligned_le32(pl + 8);
	return get_unaligned_le32(pl + 4) == le32_to_cpu(q->offset) &&
	       (length == le32_to_cpu(q->length) || !length);
}

static bool vmsg_check_shm(const void *ask, const u8 *pl, size_t len)
{
	const struct virtio_msg_get_shm_req *q = ask;

	return len >= sizeof(struct virtio_msg_get_shm_resp) &&
	       get_unaligned_le32(pl) == le32_to_cpu(q->index);
}

/**
 * vmsg_get_device_info() - GET_DEVICE_INFO, before registration
 * @dev: the device; its config space size is recorded
 * @device_id: virtio device type, 0 = no device
 * @vendor_id: vendor id
 * @max_vqs: number of virtqueues the device has
 *
 * Return: 0 or a negative errno.
 */
int vmsg_get_device_info(struct vmsg_dev *dev, u32 *device_id,
			 u32 *vendor_id, u32 *max_vqs)
{
	u8 resp[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	const struct virtio_msg_get_device_info_resp *info = (void *)resp;
	int ret;

	mutex_lock(&dev->req_mutex);
	ret = vmsg_call(dev, VIRTIO_MSG_GET_DEVICE_INFO, NULL, 0,
			vmsg_check_info, resp);
	mutex_unlock(&dev->req_mutex);
	if (ret < 0)
		return ret;

	*device_id = le32_to_cpu(info->device_id);
	*vendor_id = le32_to_cpu(info->vendor_id);
	*max_vqs = le32_to_cpu(info->max_virtqueues);
	dev->config_size = le32_to_cpu(info->config_size);
	return 0;
}

/* Payload bytes of config data one GET_CONFIG/SET_CONFIG can carry. */
static u32 vmsg_config_chunk(struct vmsg_dev *dev)
{
	return dev->t->bus->max_msg_size - VIRTIO_MSG_HDR_SIZE -
	       sizeof(struct virtio_msg_get_config_resp);
}

static bool vmsg_config_range_ok(struct vmsg_dev *dev, unsigned int offset,
				 unsigned int len)
{
	return offset <= dev->config_size && len <= dev->config_size - offset;
}

static int vmsg_get_chunk(struct vmsg_dev *dev, u32 offset, u8 *buf,
			  u32 len, u32 *gen)
{
	struct virtio_msg_get_config_req q = {
		.offset = cpu_to_le32(offset),
		.length = cpu_to_le32(len),
	};
	u8 resp[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	const struct virtio_msg_get_config_resp *r = (void *)resp;
	int ret;

	ret = vmsg_call(dev, VIRTIO_MSG_GET_CONFIG, &q, sizeof(q),
			vmsg_check_get_config, resp);
	if (ret < 0)
		return ret;
	*gen = le32_to_cpu(r->generation);
	WRITE_ONCE(dev->generation, *gen);
	memcpy(buf, r->data, len);
	return 0;
}

/* One pass over the range; -EAGAIN if the generation moved during it. */
static int vmsg_get_pass(struct vmsg_dev *dev, unsigned int offset, u8 *buf,
			 unsigned int len)
{
	u32 chunk = vmsg_config_chunk(dev);
	u32 gen, first = 0;
	unsigned int pos, n;
	int err;

	for (pos = 0; pos < len; pos += n) {
		n = min(chunk, len - pos);
		err = vmsg_get_chunk(dev, offset + pos, buf + pos, n, &gen);
		if (err)
			return err;
		if (!pos)
			first = gen;
		else if (gen != first)
			return -EAGAIN;
	}
	return 0;
}

static void vmsg_get(struct virtio_device *vdev, unsigned int offset,
		     void *buf, unsigned int len)
{
	struct vmsg_dev *dev = to_vmsg_dev(vdev);
	int err = -ERANGE;
	int tries;

	if (vmsg_config_range_ok(dev, offset, len)) {
		mutex_lock(&dev->req_mutex);
		for (tries = 0; tries < VMSG_CONFIG_TRIES; tries++) {
			err = vmsg_get_pass(dev, offset, buf, len);
			if (err != -EAGAIN)
				break;
		}
		mutex_unlock(&dev->req_mutex);
	}
	if (!err)
		return;
	/* The op cannot fail: the driver reads zeros. */
	memset(buf, 0, len);
	if (!vmsg_dev_dead(dev))
		vmsg_warn_rl(dev, "config read %u+%u failed: %d\n",
			     offset, len, err);
}

/* Write one chunk, retrying with the current generation if stale. */
static int vmsg_set_chunk(struct vmsg_dev *dev, u32 offset, const u8 *data,
			  u32 len)
{
	u8 msg[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	u8 resp[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	struct virtio_msg_set_config_req *q = (void *)msg;
	const struct virtio_msg_set_config_resp *r = (void *)resp;
	u32 gen;
	int tries, ret;

	q->offset = cpu_to_le32(offset);
	q->length = cpu_to_le32(len);
	memcpy(q->data, data, len);
	for (tries = 0; tries < VMSG_CONFIG_TRIES; tries++) {
		gen = READ_ONCE(dev->generation);
		q->generation = cpu_to_le32(gen);
		ret = vmsg_call(dev, VIRTIO_MSG_SET_CONFIG, q,
				sizeof(*q) + len, vmsg_check_set_config, resp);
		if (ret < 0)
			return ret;
		WRITE_ONCE(dev->generation, le32_to_cpu(r->generation));
		if (le32_to_cpu(r->length))
			return 0;
		/* Rejected with our generation current: a bad range. */
		if (le32_to_cpu(r->generation) == gen)
			return -EINVAL;
	}
	return -EAGAIN;
}

static void vmsg_set(struct virtio_device *vdev, unsigned int offset,
		     const void *buf, unsigned int len)
{
	struct vmsg_dev *dev = to_vmsg_dev(vdev);
	u32 chunk = vmsg_config_chunk(dev);
	unsigned int pos, n;
	int err = -ERANGE;

	if (vmsg_config_range_ok(dev, offset, len)) {
		err = 0;
		mutex_lock(&dev->req_mutex);
		for (pos = 0; pos < len && !err; pos += n) {
			n = min(chunk, len - pos);
			err = vmsg_set_chunk(dev, offset + pos, buf + pos, n);
		}
		mutex_unlock(&dev->req_mutex);
	}
	if (err && !vmsg_dev_dead(dev))
		vmsg_warn_rl(dev, "config write %u+%u failed: %d\n",
			     offset, len, err);
}

/*
 * Config reads cache the generation of their (consistent) answer, and
 * EVENT_CONFIG updates it, so a driver that compares generation() before
 * and after a series of reads sees any change that happened during it.
 */
static u32 vmsg_generation(struct virtio_device *vdev)
{
	return READ_ONCE(to_vmsg_dev(vdev)->generation);
}

/*
 * After a reset a device has no status until the driver sets one; after
 * that it may only report what the driver set (FEATURES_OK possibly
 * cleared) plus NEEDS_RESET. Anything else would reach checks of the
 * virtio core (one is a WARN) straight from the peer.
 */
static u8 vmsg_sane_status(struct vmsg_dev *dev, u32 status)
{
	if (!dev->status)
		return 0;
	return status & (dev->status | VIRTIO_CONFIG_S_NEEDS_RESET);
}

static u8 vmsg_get_status(struct virtio_device *vdev)
{
	struct vmsg_dev *dev = to_vmsg_dev(vdev);
	u8 resp[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	int ret;
	u8 st;

	mutex_lock(&dev->req_mutex);
	ret = vmsg_call(dev, VIRTIO_MSG_GET_DEVICE_STATUS, NULL, 0,
			vmsg_check_u32, resp);
	if (ret >= 0)
		st = vmsg_sane_status(dev, get_unaligned_le32(resp));
	else if (vmsg_dev_dead(dev) && dev->status)
		st = dev->status | VIRTIO_CONFIG_S_NEEDS_RESET;
	else
		st = dev->status;
	mutex_unlock(&dev->req_mutex);
	return st;
}

static int vmsg_send_status(struct vmsg_dev *dev, u8 status)
{
	struct virtio_msg_set_device_status_req q = {
		.status = cpu_to_le32(status),
	};
	u8 resp[VIRTIO_MSG_MAX_SIZE] __aligned(8);

	dev->status = status;
	return vmsg_call(dev, VIRTIO_MSG_SET_DEVICE_STATUS, &q, sizeof(q),
			 vmsg_check_u32, resp);
}

static void vmsg_set_status(struct virtio_device *vdev, u8 status)
{
	struct vmsg_dev *dev = to_vmsg_dev(vdev);
	int ret;

	mutex_lock(&dev->req_mutex);
	ret = vmsg_send_status(dev, status);
	mutex_unlock(&dev->req_mutex);
	if (ret < 0 && !vmsg_dev_dead(dev))
		vmsg_warn_rl(dev, "status 0x%02x not sent: %d\n", status, ret);
}

/* Poll GET_DEVICE_STATUS until the device reports the reset done. */
static int vmsg_wait_reset(struct vmsg_dev *dev)
{
	unsigned long end = jiffies + vmsg_timeout_jiffies();
	u8 resp[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	int ret;

	for (;;) {
		ret = vmsg_call(dev, VIRTIO_MSG_GET_DEVICE_STATUS, NULL, 0,
				vmsg_check_u32, resp);
		if (ret < 0)
			return ret;
		if (!get_unaligned_le32(resp))
			return 0;
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		usleep_range(1000, 2000);
	}
}

/*
 * A device we could not reset may still write the rings the driver is
 * about to free: from then on treat it as dead, whatever the reason.
 */
static void vmsg_reset(struct virtio_device *vdev)
{
	struct vmsg_dev *dev = to_vmsg_dev(vdev);
	int ret;

	mutex_lock(&dev->req_mutex);
	ret = vmsg_send_status(dev, 0);
	if (ret >= 0)
		ret = vmsg_wait_reset(dev);
	if (ret < 0 && !vmsg_dev_dead(dev))
		vmsg_set_dead(dev, "device did not reset", true);
	mutex_unlock(&dev->req_mutex);
}

static u64 vmsg_get_features(struct virtio_device *vdev)
{
	struct vmsg_dev *dev = to_vmsg_dev(vdev);
	struct virtio_msg_get_device_features_req q = {
		.block_index = cpu_to_le32(0),
		.num_blocks = cpu_to_le32(2),
	};
	u8 resp[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	const struct virtio_msg_get_device_features_resp *r = (void *)resp;
	int ret;

	mutex_lock(&dev->req_mutex);
	ret = vmsg_call(dev, VIRTIO_MSG_GET_DEVICE_FEATURES, &q, sizeof(q),
			vmsg_check_features, resp);
	mutex_unlock(&dev->req_mutex);
	if (ret < 0)
		return 0;
	return le32_to_cpu(r->features[0]) |
	       (u64)le32_to_cpu(r->features[1]) << 32;
}

static int vmsg_send_features(struct vmsg_dev *dev, u64 features)
{
	u8 msg[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	u8 resp[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	struct virtio_msg_set_driver_features_req *q = (void *)msg;
	int ret;

	q->block_index = cpu_to_le32(0);
	q->num_blocks = cpu_to_le32(2);
	q->features[0] = cpu_to_le32(lower_32_bits(features));
	q->features[1] = cpu_to_le32(upper_32_bits(features));
	mutex_lock(&dev->req_mutex);
	ret = vmsg_call(dev, VIRTIO_MSG_SET_DRIVER_FEATURES, q,
			sizeof(*q) + 2 * sizeof(__le32), vmsg_check_none,
			resp);
	mutex_unlock(&dev->req_mutex);
	return ret < 0 ? ret : 0;
}

/*
 * Without VIRTIO_F_ACCESS_PLATFORM virtio_ring bypasses the DMA API and
 * hands the device raw guest-physical addresses, outside the region: such
 * a device cannot work on this transport, so refuse it. Packed rings are
 * refused because the dead-device emulation (dead.c) only knows split ones.
 */
static int vmsg_finalize_features(struct virtio_device *vdev)
{
	vring_transport_features(vdev);
	__virtio_clear_bit(vdev, VIRTIO_F_RING_PACKED);

	if (!__virtio_test_bit(vdev, VIRTIO_F_VERSION_1) ||
	    !__virtio_test_bit(vdev, VIRTIO_F_ACCESS_PLATFORM)) {
		dev_err(&vdev->dev,
			"device must offer VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM\n");
		return -ENODEV;
	}
	return vmsg_send_features(to_vmsg_dev(vdev), vdev->features);
}

static const char *vmsg_bus_name(struct virtio_device *vdev)
{
	return to_vmsg_dev(vdev)->t->bus->name;
}

static bool vmsg_get_shm_region(struct virtio_device *vdev,
				struct virtio_shm_region *region, u8 id)
{
	struct vmsg_dev *dev = to_vmsg_dev(vdev);
	struct virtio_msg_get_shm_req q = { .index = cpu_to_le32(id) };
	u8 resp[VIRTIO_MSG_MAX_SIZE] __aligned(8);
	const struct virtio_msg_get_shm_resp *r = (void *)resp;
	int ret;

	mutex_lock(&dev->req_mutex);
	ret = vmsg_call(dev, VIRTIO_MSG_GET_SHM, &q, sizeof(q),
			vmsg_check_shm, resp);
	mutex_unlock(&dev->req_mutex);
	if (ret < 0 || !le32_to_cpu(r->length))
		return false;
	region->len = le32_to_cpu(r->length);
	region->addr = le32_to_cpu(r->address);
	return true;
}

/**
 * vmsg_event_config() - EVENT_CONFIG from the device
 * @dev: the device (RCU-protected by the caller)
 * @pl: payload, at least sizeof(struct virtio_msg_event_config) bytes
 * @len: payload length
 *
 * Any context. A device reporting DEVICE_NEEDS_RESET is treated as failed:
 * it goes dead (its buffers complete with errors, the driver sees
 * NEEDS_RESET in its status). Events before registration are held until
 * registration completes (vmsg_dev_registered()).
 */
void vmsg_event_config(struct vmsg_dev *dev, const u8 *pl, size_t len)
{
	const struct virtio_msg_event_config *ev = (const void *)pl;

	if (vmsg_dev_dead(dev))
		return;
	WRITE_ONCE(dev->generation, le32_to_cpu(ev->generation));
	if (le32_to_cpu(ev->device_status) & VIRTIO_CONFIG_S_NEEDS_RESET) {
		vmsg_warn(dev, "device reports DEVICE_NEEDS_RESET\n");
		vmsg_set_dead(dev, "device needs reset", true);
		return;
	}

	set_bit(VMSG_DEV_CFG_PENDING, &dev->flags);
	/* Pairs with the barrier in vmsg_dev_registered() */
	smp_mb__after_atomic();
	if (test_bit(VMSG_DEV_REGISTERED, &dev->flags) &&
	    test_and_clear_bit(VMSG_DEV_CFG_PENDING, &dev->flags))
		virtio_config_changed(&dev->vdev);
}

/**
 * vmsg_dev_registered() - registration done: let config events through
 * @dev: the device
 *
 * Delivers an EVENT_CONFIG that arrived while registering.
 */
void vmsg_dev_registered(struct vmsg_dev *dev)
{
	set_bit(VMSG_DEV_REGISTERED, &dev->flags);
	/* Pairs with the barrier in vmsg_event_config() */
	smp_mb__after_atomic();
	if (test_and_clear_bit(VMSG_DEV_CFG_PENDING, &dev->flags))
		virtio_config_changed(&dev->vdev);
}

const struct virtio_config_ops vmsg_config_ops = {
	.get			= vmsg_get,
	.set			= vmsg_set,
	.generation		= vmsg_generation,
	.get_status		= vmsg_get_status,
	.set_status		= vmsg_set_status,
	.reset			= vmsg_reset,
	.find_vqs		= vmsg_find_vqs,
	.del_vqs		= vmsg_del_vqs,
	.synchronize_cbs	= vmsg_synchronize_cbs,
	.get_features		= vmsg_get_features,
	.finalize_features	= vmsg_finalize_features,
	.bus_name		= vmsg_bus_name,
	.get_shm_region		= vmsg_get_shm_region,
};
