// SPDX-License-Identifier: GPL-2.0
/*
 * Strict parsers and path builders for the vmsg Xen bus's xenstore nodes
 * (see xsutil.h). strtoul() is deliberately not used: it accepts leading
 * spaces, signs and "0x", and wraps negative numbers, all of which a
 * hostile guest could use to make the daemon and the toolstack disagree
 * about what a value means.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "xsutil.h"

int vmsg_xs_parse_uint(const char *s, uint32_t max, uint32_t *val)
{
	uint64_t v = 0;
	unsigned int n;

	if (!s || !*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (n = 0; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n == VMSG_XS_NUM_MAX_DIGITS)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[n] - '0');
	}
	if (v > max)
		return -ERANGE;
	*val = (uint32_t)v;
	return 0;
}

int vmsg_xs_parse_domid(const char *s, uint16_t *domid)
{
	uint32_t v;
	int ret = vmsg_xs_parse_uint(s, DOMID_FIRST_RESERVED - 1, &v);

	if (!ret)
		*domid = (uint16_t)v;
	return ret;
}

int vmsg_xs_parse_state(const char *s, enum xenbus_state *state)
{
	uint32_t v;
	int ret = vmsg_xs_parse_uint(s, XenbusStateReconfigured, &v);

	if (!ret && v == XenbusStateUnknown)
		ret = -ERANGE;
	if (!ret)
		*state = (enum xenbus_state)v;
	return ret;
}

int vmsg_xs_parse_devnum(const char *s, uint16_t *dev_num)
{
	uint32_t v;
	int ret = vmsg_xs_parse_uint(s, VMSG_XS_MAX_DEVNUM, &v);

	if (!ret && !v)
		ret = -ERANGE;
	if (!ret)
		*dev_num = (uint16_t)v;
	return ret;
}

const char *vmsg_xs_state_name(enum xenbus_state state)
{
	static const char *const names[] = {
		[XenbusStateUnknown] = "Unknown",
		[XenbusStateInitialising] = "Initialising",
		[XenbusStateInitWait] = "InitWait",
		[XenbusStateInitialised] = "Initialised",
		[XenbusStateConnected] = "Connected",
		[XenbusStateClosing] = "Closing",
		[XenbusStateClosed] = "Closed",
		[XenbusStateReconfiguring] = "Reconfiguring",
		[XenbusStateReconfigured] = "Reconfigured",
	};

	if ((unsigned int)state >= sizeof(names) / sizeof(names[0]))
		return "invalid";
	return names[state];
}

static int xs_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int xs_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int vmsg_xs_be_root(char *buf, size_t len, unsigned int be)
{
	return xs_fmt(buf, len, "/local/domain/%u/backend/vmsg", be);
}

int vmsg_xs_be_path(char *buf, size_t len, unsigned int be,
		    unsigned int domid)
{
	return xs_fmt(buf, len, "/local/domain/%u/backend/vmsg/%u/0", be,
		      domid);
}

int vmsg_xs_fe_path(char *buf, size_t len, unsigned int domid)
{
	return xs_fmt(buf, len, "/local/domain/%u/device/vmsg/0", domid);
}

int vmsg_xs_join(char *buf, size_t len, const char *dir, const char *key)
{
	return xs_fmt(buf, len, "%s/%s", dir, key);
}
