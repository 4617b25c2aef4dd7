// SPDX-License-Identifier: GPL-2.0
/*
 * The device-type table: the one explicit list of device models the daemon
 * can create, looked up by the type name at the start of a device spec.
 *
 * Adding a model means adding its file, one line here and its tests; there
 * is no registration by constructor. This file knows nothing about what the
 * models do.
 */
#include <string.h>

#include "device.h"

/* Each defined in its own dev-*.c; only this table refers to them. */
extern const struct vmsg_dev_ops vmsg_rng_ops;
extern const struct vmsg_dev_ops vmsg_blk_ops;
extern const struct vmsg_dev_ops vmsg_net_ops;
extern const struct vmsg_dev_ops vmsg_console_ops;
extern const struct vmsg_dev_ops vmsg_i2c_ops;
extern const struct vmsg_dev_ops vmsg_input_ops;

const struct vmsg_dev_ops *const vmsg_dev_types[] = {
	&vmsg_rng_ops,
	&vmsg_blk_ops,
	&vmsg_net_ops,
	&vmsg_console_ops,
	&vmsg_i2c_ops,
	&vmsg_input_ops,
	NULL,
};

const struct vmsg_dev_ops *vmsg_dev_type_find(const char *type)
{
	unsigned int i;

	if (!type)
		return NULL;
	for (i = 0; vmsg_dev_types[i]; i++) {
		if (!strcmp(vmsg_dev_types[i]->type, type))
			return vmsg_dev_types[i];
	}
	return NULL;
}
