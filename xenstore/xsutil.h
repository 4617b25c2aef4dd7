/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vmsg Xen bus's xenstore vocabulary, shared by the daemon (bus-xen/)
 * and the toolstack side (vmsgctl): the paths of docs/xen-bus.md and strict
 * parsers for the values found there.
 *
 * Pure string handling, no xenstore calls, so it is unit tested and fuzzed
 * on its own. Every value a guest can write goes through these parsers:
 * plain decimal only (no sign, no spaces, no leading zeros, no trailing
 * characters), range checked. This is not a xenstore client library.
 */
#ifndef VMSG_XSUTIL_H
#define VMSG_XSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/io/xenbus.h>

/*
 * Longest path we build:
 * "/local/domain/32751/backend/vmsg/32751/0/devices/255/spec"
 */
#define VMSG_XS_PATH_MAX	128
/* Longest decimal value we accept (UINT32_MAX has 10 digits). */
#define VMSG_XS_NUM_MAX_DIGITS	10
/* Device numbers in B/devices: 1..255 (dev_num 0 is the bus). */
#define VMSG_XS_MAX_DEVNUM	255

/*
 * s as a decimal number in [0, max]: "0" or [1-9][0-9]*, at most
 * VMSG_XS_NUM_MAX_DIGITS digits. 0, -EINVAL for anything that is not such a
 * number (NULL included), -ERANGE above max. *val is untouched on error.
 */
int vmsg_xs_parse_uint(const char *s, uint32_t max, uint32_t *val);

/* A domain id of an ordinary domain: below DOMID_FIRST_RESERVED. */
int vmsg_xs_parse_domid(const char *s, uint16_t *domid);

/* A XenbusState other than Unknown (1..8). */
int vmsg_xs_parse_state(const char *s, enum xenbus_state *state);

/* A device number in B/devices: 1..VMSG_XS_MAX_DEVNUM. */
int vmsg_xs_parse_devnum(const char *s, uint16_t *dev_num);

/* Human-readable name of a state, for logs ("InitWait"). */
const char *vmsg_xs_state_name(enum xenbus_state state);

/*
 * The paths (docs/xen-bus.md, "xenstore"). Each returns 0, or -ENAMETOOLONG
 * if buf (at least VMSG_XS_PATH_MAX is always enough) is too small.
 *
 * root: /local/domain/<be>/backend/vmsg       (the daemon's watch)
 * B:    /local/domain/<be>/backend/vmsg/<domid>/0
 * F:    /local/domain/<domid>/device/vmsg/0
 */
int vmsg_xs_be_root(char *buf, size_t len, unsigned int be);
int vmsg_xs_be_path(char *buf, size_t len, unsigned int be,
		    unsigned int domid);
int vmsg_xs_fe_path(char *buf, size_t len, unsigned int domid);

/* buf = dir + "/" + key; 0 or -ENAMETOOLONG. */
int vmsg_xs_join(char *buf, size_t len, const char *dir, const char *key);

#endif /* VMSG_XSUTIL_H */
