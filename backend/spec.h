/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device specifications: "TYPE[,KEY[=VALUE]]...", e.g. "blk,path=/srv/a.img,ro".
 *
 * The same syntax is used on the vmsgd command line, by vmsgctl and in the
 * `vmsg = [ ... ]` list of an xl config. Device models fetch their options
 * with vmsg_spec_get*(); an option nobody fetched is an error that names it.
 */
#ifndef VMSG_SPEC_H
#define VMSG_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMSG_SPEC_MAX_LEN	1024
#define VMSG_SPEC_MAX_OPTS	16
#define VMSG_ERR_LEN		256

struct vmsg_spec_opt {
	const char *key;
	const char *val;	/* NULL for a bare flag such as "ro" */
	bool used;
};

struct vmsg_spec {
	char buf[VMSG_SPEC_MAX_LEN];	/* the split-up copy of the text */
	const char *type;
	unsigned int nr_opts;
	struct vmsg_spec_opt opts[VMSG_SPEC_MAX_OPTS];
};

/* 0, or -EINVAL with a one-line reason in err. */
int vmsg_spec_parse(struct vmsg_spec *spec, const char *text, char *err,
		    size_t errlen);

/* Value of key (marking it used); NULL if absent. A bare flag yields "". */
const char *vmsg_spec_get(struct vmsg_spec *spec, const char *key);
/* true if key is present as a bare flag or as key=1/on/yes/true; false for absent or 0/off/no/false; -EINVAL into *err_ret for other values */
bool vmsg_spec_get_bool(struct vmsg_spec *spec, const char *key, int *err_ret);
/* 0 (absent: *val untouched), or -EINVAL if not a number in [min, max] */
int vmsg_spec_get_u64(struct vmsg_spec *spec, const char *key, uint64_t min,
		      uint64_t max, uint64_t *val);

/* -EINVAL naming the first option nobody fetched, else 0. */
int vmsg_spec_check_unused(const struct vmsg_spec *spec, char *err,
			   size_t errlen);

#endif /* VMSG_SPEC_H */
