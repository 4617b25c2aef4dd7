/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmsgctl's Xen verbs: the toolstack side of the vmsg Xen bus.
 *
 *   vmsgctl create [-b DOMID] CFG [XL-ARGS]...   xl create with a vmsg bus
 *   vmsgctl attach [-b DOMID] DOMAIN SPEC        hot-plug a device
 *   vmsgctl detach DOMAIN DEVNUM                 hot-unplug it
 *   vmsgctl list DOMAIN                          the guest's device specs
 *
 * They write the xenstore directories of docs/xen-bus.md (the daemon,
 * vmsgd --bus xen, reacts to them); they never talk to vmsgd's control
 * socket. DOMAIN is a domain name or id; -b names the backend domain
 * (default 0) when a bus is created.
 */
#ifndef VMSG_VMSGCTL_XEN_H
#define VMSG_VMSGCTL_XEN_H

#include <stdbool.h>
#include <stdio.h>

/*
 * true if argv (argv[0] is the verb, no global options) is a Xen request:
 * "create", or attach/detach/list naming a DOMAIN. Without a DOMAIN the
 * request is for vmsgd's control socket.
 */
bool vmsgctl_xen_wants(int argc, char **argv);

/*
 * Carry out a Xen request (argv[0] is the verb). Returns the exit status:
 * 0 done, 1 failed (reason on stderr), 2 bad command line.
 */
int vmsgctl_xen(int argc, char **argv);

/*
 * DOMAIN (a domain name or id) to the id xenstore knows it by. Returns 0,
 * or the exit status 1 after saying on stderr why not.
 */
int vmsgctl_xen_domid(const char *word, unsigned int *domid);

/*
 * The domain id of DOMAIN and the number of its first console device (the
 * lowest DEVNUM whose spec is "console..."), as `xl console DOMAIN` picks
 * the first console. 0, or the exit status 1 after saying why not.
 */
int vmsgctl_xen_console(const char *domain, unsigned int *domid,
			unsigned int *devnum);

/* The Xen verbs' part of `vmsgctl --help`. */
void vmsgctl_xen_usage(FILE *f);

#endif /* VMSG_VMSGCTL_XEN_H */
