/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's side of the vmsg Xen bus (docs/xen-bus.md): one struct
 * vmsg_bus per guest, found, connected and torn down through xenstore.
 *
 * vmsg_xen_open() opens one handle each for xenstore, event channels and
 * grants, puts their fds into the daemon's loop and watches the backend's
 * own `backend/vmsg` tree. From then on everything happens in the loop:
 * guests appear when the toolstack (vmsgctl) writes their directories, the
 * handshake maps the guest's ring and region, and the devices listed under
 * `B/devices` are created, hot-plugged and removed. A misbehaving guest
 * only ever loses its own bus. This is not a xenstore toolstack: the
 * directories are written by vmsgctl (xenstore/vmsgctl-xen.c).
 */
#ifndef VMSG_XEN_H
#define VMSG_XEN_H

#include <stddef.h>
#include <stdint.h>

struct vmsg_bus;
struct vmsg_loop;
struct vmsg_xen;

/*
 * Start serving every guest whose bus lives under
 * /local/domain/<backend_domid>/backend/vmsg. Returns NULL with a one-line
 * reason in err if a handle cannot be opened (not running in a Xen domain
 * with xenfs, gntdev and evtchn, or not root).
 */
struct vmsg_xen *vmsg_xen_open(struct vmsg_loop *loop, uint16_t backend_domid,
			       char *err, size_t errlen);

/*
 * Stop: announce the removal of every device and serve the guests until
 * they let go or timeout_ms passed, then unmap and unbind everything. The
 * backend directories are left in place (not Closed), so that a restarted
 * daemon reconnects the guests. NULL is a no-op.
 */
void vmsg_xen_close(struct vmsg_xen *x, int timeout_ms);

/* The bus of guest domid, or NULL if the daemon serves none for it. */
struct vmsg_bus *vmsg_xen_bus(struct vmsg_xen *x, uint16_t domid);

#endif /* VMSG_XEN_H */
