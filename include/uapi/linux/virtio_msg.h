/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * virtio-msg revision 1 wire format.
 *
 * One definition of every message of the virtio-msg transport (spec
 * "transport-msg" chapter, revision 1) and of its bus messages, shared by the
 * Linux modules and the user-space daemon. Only fixed-width little-endian
 * types are used: no enums, bitfields or pointers in wire structures, so the
 * layout is the same for every compiler and both sides. This header does not
 * describe any particular bus (see virtio_msg_lb.h and docs/xen-bus.md).
 */
#ifndef _UAPI_LINUX_VIRTIO_MSG_H
#define _UAPI_LINUX_VIRTIO_MSG_H

#include <linux/types.h>

#define VIRTIO_MSG_REVISION		1

/* Header flags (struct virtio_msg_hdr.type). Other bits: 0 on send, ignored. */
#define VIRTIO_MSG_TYPE_RESPONSE	0x01	/* bit 0: 0 request, 1 response */
#define VIRTIO_MSG_TYPE_BUS		0x02	/* bit 1: 0 transport, 1 bus */

/* msg_id ranges */
#define VIRTIO_MSG_ID_EVENT_MIN		0x40	/* 0x40-0x7f: events, never answered */
#define VIRTIO_MSG_ID_IMPL_REQ_MIN	0x80	/* 0x80-0xbf: implementation requests */
#define VIRTIO_MSG_ID_IMPL_EVENT_MIN	0xc0	/* 0xc0-0xff: implementation events */

/* Transport messages (type bit 1 clear) */
#define VIRTIO_MSG_GET_DEVICE_INFO	0x02
#define VIRTIO_MSG_GET_DEVICE_FEATURES	0x03
#define VIRTIO_MSG_SET_DRIVER_FEATURES	0x04
#define VIRTIO_MSG_GET_CONFIG		0x05
#define VIRTIO_MSG_SET_CONFIG		0x06
#define VIRTIO_MSG_GET_DEVICE_STATUS	0x07
#define VIRTIO_MSG_SET_DEVICE_STATUS	0x08
#define VIRTIO_MSG_GET_VQUEUE		0x09
#define VIRTIO_MSG_SET_VQUEUE		0x0a
#define VIRTIO_MSG_RESET_VQUEUE		0x0b
#define VIRTIO_MSG_GET_SHM		0x0c
#define VIRTIO_MSG_EVENT_CONFIG		0x40
#define VIRTIO_MSG_EVENT_AVAIL		0x41
#define VIRTIO_MSG_EVENT_USED		0x42

/* Bus messages (type bit 1 set, dev_num 0) */
#define VIRTIO_MSG_BUS_GET_DEVICES	0x02
#define VIRTIO_MSG_BUS_PING		0x03
#define VIRTIO_MSG_BUS_EVENT_DEVICE	0x40

/* EVENT_DEVICE states */
#define VIRTIO_MSG_DEVICE_READY		1
#define VIRTIO_MSG_DEVICE_REMOVED	2

/* Sizes: a bus advertises a maximum of at least MIN, should not exceed MAX. */
#define VIRTIO_MSG_HDR_SIZE		8
#define VIRTIO_MSG_MIN_SIZE		44
#define VIRTIO_MSG_MAX_SIZE		264
#define VIRTIO_MSG_DEFAULT_SIZE		64

/* EVENT_AVAIL next_offset_wrap */
#define VIRTIO_MSG_AVAIL_OFFSET_MASK	0x7fffffffU
#define VIRTIO_MSG_AVAIL_WRAP		0x80000000U

struct virtio_msg_hdr {
	__u8 type;
	__u8 msg_id;
	__le16 dev_num;
	__le16 token;
	__le16 msg_size;		/* total, header included */
};

/* GET_DEVICE_INFO: empty request */
struct virtio_msg_get_device_info_resp {
	__le32 device_id;
	__le32 vendor_id;
	__le32 num_feature_bits;
	__le32 config_size;
	__le32 max_virtqueues;
	__le16 admin_vq_start;
	__le16 admin_vq_count;
};

struct virtio_msg_get_device_features_req {
	__le32 block_index;
	__le32 num_blocks;
};

struct virtio_msg_get_device_features_resp {
	__le32 block_index;
	__le32 num_blocks;
	__le32 features[];
};

struct virtio_msg_set_driver_features_req {
	__le32 block_index;
	__le32 num_blocks;
	__le32 features[];
};

struct virtio_msg_get_config_req {
	__le32 offset;
	__le32 length;
};

struct virtio_msg_get_config_resp {
	__le32 generation;
	__le32 offset;
	__le32 length;
	__u8 data[];
};

struct virtio_msg_set_config_req {
	__le32 generation;
	__le32 offset;
	__le32 length;
	__u8 data[];
};

/* length 0 in the response: rejected (stale generation or bad range) */
struct virtio_msg_set_config_resp {
	__le32 generation;
	__le32 offset;
	__le32 length;
	__u8 data[];
};

/* GET_DEVICE_STATUS: empty request */
struct virtio_msg_get_device_status_resp {
	__le32 status;
};

struct virtio_msg_set_device_status_req {
	__le32 status;
};

struct virtio_msg_set_device_status_resp {
	__le32 status;
};

struct virtio_msg_get_vqueue_req {
	__le32 index;
};

/* max_size 0: no such queue */
struct virtio_msg_get_vqueue_resp {
	__le32 index;
	__le32 max_size;
	__le32 cur_size;
	__le32 reserved;
	__le64 desc_addr;
	__le64 driver_addr;
	__le64 device_addr;
};

struct virtio_msg_set_vqueue_req {
	__le32 index;
	__le32 reserved0;
	__le32 size;
	__le32 reserved1;
	__le64 desc_addr;
	__le64 driver_addr;
	__le64 device_addr;
};

struct virtio_msg_reset_vqueue_req {
	__le32 index;
};

struct virtio_msg_get_shm_req {
	__le32 index;
};

struct virtio_msg_get_shm_resp {
	__le32 index;
	__le32 length;
	__le32 address;
};

/* device to driver; length 0: re-read with GET_CONFIG */
struct virtio_msg_event_config {
	__le32 device_status;
	__le32 generation;
	__le32 offset;
	__le32 length;
	__u8 data[];
};

/* driver to device */
struct virtio_msg_event_avail {
	__le32 vq_index;
	__le32 next_offset_wrap;
};

/* device to driver */
struct virtio_msg_event_used {
	__le32 vq_index;
};

/* Bus GET_DEVICES: offset and count are multiples of 8 */
struct virtio_msg_bus_get_devices_req {
	__le16 offset;
	__le16 count;
};

struct virtio_msg_bus_get_devices_resp {
	__le16 offset;
	__le16 count;
	__le16 next_offset;		/* 0: no more */
	__u8 bitmap[];			/* bit n: device offset + n exists */
};

struct virtio_msg_bus_ping {
	__le32 data;
};

struct virtio_msg_bus_event_device {
	__le16 dev_num;
	__le16 state;
};

/* Payload bytes available in a message of max_size bytes. */
#define VIRTIO_MSG_PAYLOAD_MAX(max_size) ((max_size) - VIRTIO_MSG_HDR_SIZE)

#endif /* _UAPI_LINUX_VIRTIO_MSG_H */
