// SPDX-License-Identifier: GPL-2.0
/*
 * Device specification parser (backend/spec.c): accepted syntax, typed
 * getters, rejected specs with their reasons, and detection of options no
 * model fetched. Pure parsing: no device is created here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "spec.h"

static char err[VMSG_ERR_LEN];

static void parse_ok(struct vmsg_spec *spec, const char *text)
{
	err[0] = '\0';
	assert_int_equal(vmsg_spec_parse(spec, text, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

/* Rejected, and the reason mentions `why`. */
static void parse_bad(const char *text, const char *why)
{
	struct vmsg_spec spec;

	err[0] = '\0';
	assert_int_equal(vmsg_spec_parse(&spec, text, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, why));
}

static void test_type_only(void **state)
{
	struct vmsg_spec spec;

	parse_ok(&spec, "rng");
	assert_string_equal(spec.type, "rng");
	assert_int_equal(spec.nr_opts, 0);
	assert_int_equal(vmsg_spec_check_unused(&spec, err, sizeof(err)), 0);
}

static void test_options(void **state)
{
	struct vmsg_spec spec;

	parse_ok(&spec, "blk,path=/srv/a.img,ro,queue_size=0x100");
	assert_string_equal(spec.type, "blk");
	assert_int_equal(spec.nr_opts, 3);
	assert_string_equal(vmsg_spec_get(&spec, "path"), "/srv/a.img");
	assert_string_equal(vmsg_spec_get(&spec, "ro"), "");
	assert_null(vmsg_spec_get(&spec, "missing"));
	assert_null(spec.opts[1].val);
}

static void test_value_with_equals(void **state)
{
	struct vmsg_spec spec;

	parse_ok(&spec, "blk,serial=a=b");
	assert_string_equal(vmsg_spec_get(&spec, "serial"), "a=b");
}

static void test_bool(void **state)
{
	struct vmsg_spec spec;
	int ret = 0;

	parse_ok(&spec, "t,a,b=1,c=on,d=YES,e=true,f=0,g=off,h=no,i=false,j=x");
	assert_true(vmsg_spec_get_bool(&spec, "a", &ret));
	assert_true(vmsg_spec_get_bool(&spec, "b", &ret));
	assert_true(vmsg_spec_get_bool(&spec, "c", &ret));
	assert_true(vmsg_spec_get_bool(&spec, "d", &ret));
	assert_true(vmsg_spec_get_bool(&spec, "e", &ret));
	assert_false(vmsg_spec_get_bool(&spec, "f", &ret));
	assert_false(vmsg_spec_get_bool(&spec, "g", &ret));
	assert_false(vmsg_spec_get_bool(&spec, "h", &ret));
	assert_false(vmsg_spec_get_bool(&spec, "i", &ret));
	assert_false(vmsg_spec_get_bool(&spec, "absent", &ret));
	assert_int_equal(ret, 0);
	assert_false(vmsg_spec_get_bool(&spec, "j", &ret));
	assert_int_equal(ret, -EINVAL);
	/* Every option was fetched, even the bad one. */
	assert_int_equal(vmsg_spec_check_unused(&spec, err, sizeof(err)), 0);
}

static void test_u64(void **state)
{
	struct vmsg_spec spec;
	uint64_t v = 7;

	parse_ok(&spec, "t,dec=4096,hex=0x10,max=18446744073709551615");
	assert_int_equal(vmsg_spec_get_u64(&spec, "dec", 0, 10000, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(vmsg_spec_get_u64(&spec, "hex", 0, 100, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(vmsg_spec_get_u64(&spec, "max", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_int_equal(vmsg_spec_get_u64(&spec, "absent", 0, 10, &v), 0);
	assert_int_equal(v, 7);
}

static void test_u64_bad(void **state)
{
	static const char *const bad[] = {
		"a=-1", "a=+1", "a= 1", "a=1k", "a=0x", "a=x1", "a=1.5",
		"a=18446744073709551616", "a=0x1g", "a",
	};
	struct vmsg_spec spec;
	uint64_t v = 7;
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "t,%s", bad[i]);
		parse_ok(&spec, text);
		assert_int_equal(vmsg_spec_get_u64(&spec, "a", 0, UINT64_MAX,
						   &v), -EINVAL);
		assert_int_equal(v, 7);
	}
}

static void test_u64_range(void **state)
{
	struct vmsg_spec spec;
	uint64_t v = 7;

	parse_ok(&spec, "t,lo=1,hi=11,in=5");
	assert_int_equal(vmsg_spec_get_u64(&spec, "lo", 2, 10, &v), -EINVAL);
	assert_int_equal(vmsg_spec_get_u64(&spec, "hi", 2, 10, &v), -EINVAL);
	assert_int_equal(v, 7);
	assert_int_equal(vmsg_spec_get_u64(&spec, "in", 5, 5, &v), 0);
	assert_int_equal(v, 5);
}

static void test_bad_specs(void **state)
{
	parse_bad("", "bad device type");
	parse_bad(",ro", "bad device type");
	parse_bad("b lk", "bad device type");
	parse_bad("blk,", "bad option name");
	parse_bad("blk,,ro", "bad option name");
	parse_bad("blk,=x", "bad option name");
	parse_bad("blk,p@th=x", "bad option name");
	parse_bad("blk,path=", "empty value");
	parse_bad("blk,ro,ro", "given twice");
	parse_bad("blk,path=a,path=b", "given twice");
	parse_bad("blk,path=a\tb", "unprintable");
	parse_bad("blk,path=a\nb", "unprintable");
}

static void test_too_many_options(void **state)
{
	char text[256] = "t";
	struct vmsg_spec spec;
	int i;

	for (i = 0; i < VMSG_SPEC_MAX_OPTS; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 ",o%d", i);
	parse_ok(&spec, text);
	assert_int_equal(spec.nr_opts, VMSG_SPEC_MAX_OPTS);
	strcat(text, ",one_more");
	parse_bad(text, "more than");
}

static void test_too_long(void **state)
{
	char text[VMSG_SPEC_MAX_LEN + 1];
	struct vmsg_spec spec;

	memset(text, 'a', sizeof(text));
	text[VMSG_SPEC_MAX_LEN - 1] = '\0';
	parse_ok(&spec, text);	/* 1023 characters: the longest allowed */
	text[VMSG_SPEC_MAX_LEN - 1] = 'a';
	text[VMSG_SPEC_MAX_LEN] = '\0';
	parse_bad(text, "longer than");
}

static void test_unused(void **state)
{
	struct vmsg_spec spec;

	parse_ok(&spec, "blk,path=x,ro,bogus=1");
	vmsg_spec_get(&spec, "path");
	vmsg_spec_get_bool(&spec, "ro", NULL);
	assert_int_equal(vmsg_spec_check_unused(&spec, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "'bogus'"));
	assert_non_null(strstr(err, "'blk'"));
	vmsg_spec_get(&spec, "bogus");
	assert_int_equal(vmsg_spec_check_unused(&spec, err, sizeof(err)), 0);
}

/* The spec keeps its own copy: the caller's text may go away. */
static void test_copy(void **state)
{
	struct vmsg_spec spec;
	char text[] = "rng,max_bytes=5";

	parse_ok(&spec, text);
	memset(text, 'x', sizeof(text) - 1);
	assert_string_equal(spec.type, "rng");
	assert_string_equal(vmsg_spec_get(&spec, "max_bytes"), "5");
}

/* A failed parse leaves no half-filled state behind for a reuse. */
static void test_reparse(void **state)
{
	struct vmsg_spec spec;

	assert_int_equal(vmsg_spec_parse(&spec, "a,x,x", err, sizeof(err)),
			 -EINVAL);
	parse_ok(&spec, "b,y");
	assert_int_equal(spec.nr_opts, 1);
	assert_string_equal(spec.type, "b");
	assert_null(vmsg_spec_get(&spec, "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_only),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_value_with_equals),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_u64_bad),
		cmocka_unit_test(test_u64_range),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_too_many_options),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_unused),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_reparse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
