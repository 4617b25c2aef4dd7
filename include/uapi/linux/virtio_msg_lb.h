/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * virtio-msg loopback bus: user-space interface.
 *
 * /dev/virtio-msg-lb is the control node: IOCTL_VMSG_LB_ADD creates device
 * dev_id on the bus (the kernel starts probing it at once, so the daemon must
 * already be serving /dev/virtio-msg-<dev_id>), IOCTL_VMSG_LB_REMOVE removes
 * it. mmap() of the control node maps the shared region (offset = byte offset
 * into the region); lseek(fd, 0, SEEK_END) returns its size.
 *
 * /dev/virtio-msg-<dev_id> carries that device's messages: each read()
 * returns exactly one whole message from the driver side (a request or
 * EVENT_AVAIL); each write() sends exactly one whole message to it (a
 * response, EVENT_USED or EVENT_CONFIG); poll() reports readiness.
 *
 * Bus addresses in messages and descriptors are byte offsets into the region;
 * the first page is never handed out, so no valid bus address is 0.
 */
#ifndef _UAPI_LINUX_VIRTIO_MSG_LB_H
#define _UAPI_LINUX_VIRTIO_MSG_LB_H

#include <linux/ioctl.h>
#include <linux/types.h>

struct vmsg_lb_dev_info {
	unsigned int dev_id;
};

/* -EEXIST for a known dev_id; -ENOTTY for an unknown ioctl */
#define IOCTL_VMSG_LB_ADD \
	_IOC(_IOC_NONE, 'P', 0, sizeof(struct vmsg_lb_dev_info))
/* -ENODEV for an unknown dev_id */
#define IOCTL_VMSG_LB_REMOVE \
	_IOC(_IOC_NONE, 'P', 1, sizeof(struct vmsg_lb_dev_info))

#define VMSG_LB_CTRL_NAME	"virtio-msg-lb"
#define VMSG_LB_DEV_PREFIX	"virtio-msg-"

#endif /* _UAPI_LINUX_VIRTIO_MSG_LB_H */
