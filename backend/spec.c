// SPDX-License-Identifier: GPL-2.0
/*
 * Device specification parser: "TYPE[,KEY[=VALUE]]...".
 *
 * The text is copied into spec->buf and split in place, so keys and values
 * point into the spec and live as long as it does (models must copy what
 * they keep). TYPE and KEY are [A-Za-z0-9_-]+; a VALUE is any non-empty run
 * of printable characters without a comma (there is no quoting, so a path
 * cannot contain a comma). A key may appear once. The parser only checks
 * syntax: which keys exist is up to the model, which fetches them with
 * vmsg_spec_get*() and lets vmsg_spec_check_unused() catch the rest.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec.h"

static bool vmsg_spec_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

static bool vmsg_spec_text_ok(const char *s)
{
	for (; *s; s++)
		if (!isprint((unsigned char)*s))
			return false;
	return true;
}

static struct vmsg_spec_opt *vmsg_spec_find(struct vmsg_spec *spec,
					    const char *key)
{
	unsigned int i;

	for (i = 0; i < spec->nr_opts; i++)
		if (!strcmp(spec->opts[i].key, key))
			return &spec->opts[i];
	return NULL;
}

/* Split "key[=val]" in place and record it. */
static int vmsg_spec_add_opt(struct vmsg_spec *spec, char *item, char *err,
			     size_t errlen)
{
	struct vmsg_spec_opt *opt;
	char *eq = strchr(item, '=');

	if (eq)
		*eq = '\0';
	if (!vmsg_spec_name_ok(item)) {
		snprintf(err, errlen, "bad option name '%s'", item);
		return -EINVAL;
	}
	if (eq && !eq[1]) {
		snprintf(err, errlen, "empty value for option '%s'", item);
		return -EINVAL;
	}
	if (vmsg_spec_find(spec, item)) {
		snprintf(err, errlen, "option '%s' given twice", item);
		return -EINVAL;
	}
	if (spec->nr_opts == VMSG_SPEC_MAX_OPTS) {
		snprintf(err, errlen, "more than %d options",
			 VMSG_SPEC_MAX_OPTS);
		return -EINVAL;
	}
	opt = &spec->opts[spec->nr_opts++];
	opt->key = item;
	opt->val = eq ? eq + 1 : NULL;
	opt->used = false;
	return 0;
}

static int vmsg_spec_split(struct vmsg_spec *spec, char *err, size_t errlen)
{
	char *item = spec->buf, *comma;
	int ret;

	comma = strchr(item, ',');
	if (comma)
		*comma = '\0';
	if (!vmsg_spec_name_ok(item)) {
		snprintf(err, errlen, "bad device type '%s'", item);
		return -EINVAL;
	}
	spec->type = item;
	while (comma) {
		item = comma + 1;
		comma = strchr(item, ',');
		if (comma)
			*comma = '\0';
		ret = vmsg_spec_add_opt(spec, item, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int vmsg_spec_parse(struct vmsg_spec *spec, const char *text, char *err,
		    size_t errlen)
{
	size_t len = strnlen(text, VMSG_SPEC_MAX_LEN);

	memset(spec, 0, sizeof(*spec));
	if (len == VMSG_SPEC_MAX_LEN) {
		snprintf(err, errlen, "device spec longer than %d bytes",
			 VMSG_SPEC_MAX_LEN - 1);
		return -EINVAL;
	}
	if (!vmsg_spec_text_ok(text)) {
		snprintf(err, errlen, "device spec has unprintable characters");
		return -EINVAL;
	}
	memcpy(spec->buf, text, len + 1);
	return vmsg_spec_split(spec, err, errlen);
}

const char *vmsg_spec_get(struct vmsg_spec *spec, const char *key)
{
	struct vmsg_spec_opt *opt = vmsg_spec_find(spec, key);

	if (!opt)
		return NULL;
	opt->used = true;
	return opt->val ? opt->val : "";
}

static bool vmsg_spec_word(const char *val, const char *const *words)
{
	for (; *words; words++)
		if (!strcasecmp(val, *words))
			return true;
	return false;
}

bool vmsg_spec_get_bool(struct vmsg_spec *spec, const char *key, int *err_ret)
{
	static const char *const yes[] = { "", "1", "on", "yes", "true", NULL };
	static const char *const no[] = { "0", "off", "no", "false", NULL };
	const char *val = vmsg_spec_get(spec, key);

	if (!val || vmsg_spec_word(val, no))
		return false;
	if (vmsg_spec_word(val, yes))
		return true;
	if (err_ret)
		*err_ret = -EINVAL;
	return false;
}

/* Decimal, or hexadecimal with 0x; no sign, no spaces, no suffix. */
static int vmsg_spec_strtou64(const char *s, uint64_t *out)
{
	unsigned long long v;
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!isxdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int vmsg_spec_get_u64(struct vmsg_spec *spec, const char *key, uint64_t min,
		      uint64_t max, uint64_t *val)
{
	const char *s = vmsg_spec_get(spec, key);
	uint64_t v;

	if (!s)
		return 0;
	if (vmsg_spec_strtou64(s, &v) || v < min || v > max)
		return -EINVAL;
	*val = v;
	return 0;
}

int vmsg_spec_check_unused(const struct vmsg_spec *spec, char *err,
			   size_t errlen)
{
	unsigned int i;

	for (i = 0; i < spec->nr_opts; i++) {
		if (spec->opts[i].used)
			continue;
		snprintf(err, errlen,
			 "unknown option '%s' for device type '%s'",
			 spec->opts[i].key, spec->type);
		return -EINVAL;
	}
	return 0;
}
