/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's side of the loopback bus (/dev/virtio-msg-lb).
 *
 * Opens the control node, maps the shared region, and creates a struct
 * vmsg_bus whose devices are announced with IOCTL_VMSG_LB_ADD and served
 * through /dev/virtio-msg-<dev_num>, all inside the daemon's event loop.
 */
#ifndef VMSG_LB_H
#define VMSG_LB_H

#include <stddef.h>

struct vmsg_bus;
struct vmsg_loop;

#define VMSG_LB_DEFAULT_CTRL	"/dev/virtio-msg-lb"

/* NULL on failure, with a one-line reason in err. */
struct vmsg_bus *vmsg_lb_open(struct vmsg_loop *loop, const char *ctrl_path,
			      char *err, size_t errlen);

/*
 * Remove every device cleanly (IOCTL_VMSG_LB_REMOVE, serving messages until
 * the kernel has let go, bounded by timeout_ms), then unmap and close.
 */
void vmsg_lb_close(struct vmsg_bus *bus, int timeout_ms);

#endif /* VMSG_LB_H */
