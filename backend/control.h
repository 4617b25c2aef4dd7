/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's control socket: a unix stream socket on which vmsgctl (or a
 * script with socat) attaches, detaches and lists devices at run time.
 *
 * The protocol is line based. A request is one line of at most
 * VMSG_CTL_LINE_MAX bytes; a reply is zero or more data lines followed by
 * exactly one final line, "ok[ VALUE]" or "error REASON". Requests:
 *
 *   attach [DOMAIN] SPEC     -> "ok DEVNUM"
 *   detach [DOMAIN] DEVNUM   -> "ok" (removal started; list shows it)
 *   list [DOMAIN]            -> "DEVNUM TYPE 0xSTATUS STATE" lines, "ok"
 *   console [DOMAIN] DEVNUM  -> "ok PATH", the host side of a console
 *                               device: its unix socket or its pty slave
 *
 * STATE is running, broken, detaching or idle. DOMAIN is a decimal domain
 * id; it is planned for the Xen bus, where one daemon serves one bus per
 * guest. The loopback daemon has a single bus and rejects any DOMAIN. A
 * device type is never all digits, so "attach 3 blk,path=x" is unambiguous.
 *
 * This module owns the socket and its clients, and nothing else: it finds
 * the bus a request is for through the caller's lookup callback and acts
 * on it only through the bus core (bus.h); `console` also asks the console
 * model where its host side is (dev-console.h). It is not an authentication
 * layer: access is controlled by the socket's mode (0600, root only).
 */
#ifndef VMSG_CONTROL_H
#define VMSG_CONTROL_H

#include <stddef.h>

struct vmsg_bus;
struct vmsg_loop;
struct vmsg_control;

#define VMSG_CTL_DEFAULT_PATH	"/run/vmsgd.sock"
/* "attach " + a domain id + a maximal spec, with room to spare */
#define VMSG_CTL_LINE_MAX	1100

/*
 * Find the bus a request is for. domain is NULL when the request named
 * none, else the DOMAIN word as given. Returns NULL with a one-line reason
 * in err if there is no such bus.
 */
typedef struct vmsg_bus *(*vmsg_ctl_lookup_fn)(void *opaque,
					       const char *domain, char *err,
					       size_t errlen);

/*
 * Create the socket at path (a stale socket file is replaced; a live daemon
 * on it is an error), and serve it from loop. NULL on failure, with a
 * one-line reason in err.
 */
struct vmsg_control *vmsg_control_open(struct vmsg_loop *loop,
				       const char *path,
				       vmsg_ctl_lookup_fn lookup, void *opaque,
				       char *err, size_t errlen);

/* Disconnect every client, close and unlink the socket. NULL is a no-op. */
void vmsg_control_close(struct vmsg_control *ctl);

/*
 * Carry out one request line (without its newline) and write the whole
 * reply, final line included, each line ending in '\n', into out (at most
 * outlen bytes, NUL-terminated; an error reason is cut short to fit, and
 * below 8 bytes nothing fits). Returns the reply's length. The socket
 * code calls it for every line it receives; it needs no socket, so unit
 * tests can call it directly with a test bus.
 */
size_t vmsg_control_exec(vmsg_ctl_lookup_fn lookup, void *opaque,
			 const char *line, char *out, size_t outlen);

#endif /* VMSG_CONTROL_H */
