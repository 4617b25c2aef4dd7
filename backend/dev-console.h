/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the virtio-console model (dev-console.c) tells the rest of the
 * daemon: where its host side is, so the control socket can hand that to
 * `vmsgctl console`. Models otherwise only meet the daemon through
 * struct vmsg_dev_ops; this is not a general device-introspection API.
 */
#ifndef VMSG_DEV_CONSOLE_H
#define VMSG_DEV_CONSOLE_H

struct vmsg_dev;

/*
 * The unix socket path ("console,socket=PATH") or the pty slave path
 * ("console,pty") of a console device; NULL if dev is not a console. The
 * string lives as long as the device.
 */
const char *vmsg_console_path(const struct vmsg_dev *dev);

#endif /* VMSG_DEV_CONSOLE_H */
