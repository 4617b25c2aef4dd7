// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk model (backend/dev-blk.c) driven through the unit-test bus by
 * the test driver, on raw images in a temporary directory: options and
 * their errors, config, every request type and its validation, discard and
 * write-zeroes effects on the file, I/O errors from the backing file, reset
 * with requests in flight, and a seeded data-integrity run with many
 * requests in flight checked against an in-memory copy of the disk.
 *
 * I/O errors are injected two ways that fail reliably on any file system:
 * truncating the image under the device (reads past the new end of file
 * come back short, then empty), and replacing the device's file descriptor
 * with an O_PATH one for the same file (every read, write, fsync and
 * fallocate then fails with EBADF).
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include "bus.h"
#include "loop.h"
#include "../lib/testbus.h"
#include "../lib/testdrv.h"

#define REGION_SIZE	(8 * 1024 * 1024)
#define IMG_SECTORS	2048		/* 1 MiB */
#define IMG_SIZE	(IMG_SECTORS * 512)
#define TIMEOUT_MS	5000
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define ST_NONE		0xee		/* status before the device wrote one */

/* What the model advertises (dev-blk.c). */
#define BLK_QUEUE_SIZE	128
#define BLK_DWZ_MAX_SEG	32

struct blk_test {
	struct vmsg_testbus *tb;
	struct testdrv *d;
	int dev_num;
	char dir[64];
	char path[96];
	uint8_t ref[IMG_SIZE];		/* what the disk must hold */
};

/* One request's buffers; data may be split into several descriptors. */
struct req {
	uint32_t type;
	uint64_t sector;
	uint32_t len;			/* data bytes */
	uint32_t cap;			/* data buffer allocated */
	uint64_t hdr, data, st;		/* bus addresses */
	unsigned int nsplit;		/* data descriptors, 1..4 */
	uint32_t split[4];		/* their lengths */
	bool indirect;
	int head;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* --- image files ---------------------------------------------------------- */

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void read_file(const struct blk_test *t, off_t off, void *buf,
		      size_t len)
{
	int fd = open(t->path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void fill_pattern(uint8_t *p, size_t len, uint64_t seed)
{
	size_t i;

	rng_state = seed | 1;
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)rnd();
}

static int setup(void **state)
{
	struct blk_test *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/vmsg-blk-XXXXXX");
	if (!mkdtemp(t->dir))
		goto err_free;
	snprintf(t->path, sizeof(t->path), "%s/disk.img", t->dir);
	fill_pattern(t->ref, IMG_SIZE, 0x5eed);
	write_file(t->path, t->ref, IMG_SIZE);
	t->tb = vmsg_testbus_new(REGION_SIZE, VIRTIO_MSG_DEFAULT_SIZE);
	if (!t->tb)
		goto err_dir;
	*state = t;
	return 0;

err_dir:
	unlink(t->path);
	rmdir(t->dir);
err_free:
	free(t);
	return -1;
}

/* Remove every file of the temporary directory, then the directory. */
static void remove_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path))
			rmdir(path);
	}
	closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct blk_test *t = *state;

	testdrv_free(t->d);
	vmsg_testbus_free(t->tb);
	remove_dir(t->dir);
	free(t);
	return 0;
}

/* Create the device from "blk,path=<image><opts>" and a driver for it. */
static void add_dev(struct blk_test *t, const char *opts)
{
	char spec[256], err[VMSG_ERR_LEN] = "";

	snprintf(spec, sizeof(spec), "blk,path=%s%s", t->path, opts);
	t->dev_num = vmsg_bus_add_device(&t->tb->bus, spec, 0, err,
					 sizeof(err));
	if (t->dev_num <= 0)
		fail_msg("%s: %s", spec, err);
	t->d = testdrv_new(t->tb, (uint16_t)t->dev_num);
	assert_non_null(t->d);
}

static void start(struct blk_test *t, const char *opts, uint64_t features)
{
	add_dev(t, opts);
	assert_int_equal(testdrv_init(t->d, features, 0), 0);
}

/* --- requests ------------------------------------------------------------- */

static void *bus_ptr(struct blk_test *t, uint64_t addr, uint64_t len)
{
	void *p = testdrv_buf(t->d, addr, len ? len : 1);

	assert_non_null(p);
	return p;
}

/* Allocate a request's buffers (data: cap bytes) once; reused after. */
static void req_alloc(struct blk_test *t, struct req *r, uint32_t cap)
{
	memset(r, 0, sizeof(*r));
	r->hdr = testdrv_alloc_buf(t->d, sizeof(struct virtio_blk_outhdr));
	r->st = testdrv_alloc_buf(t->d, 1);
	r->cap = cap;
	if (cap)
		r->data = testdrv_alloc_buf(t->d, cap);
	assert_true(r->hdr && r->st && (!cap || r->data));
	r->nsplit = 1;
}

static void req_set(struct blk_test *t, struct req *r, uint32_t type,
		    uint64_t sector, uint32_t len)
{
	struct virtio_blk_outhdr *h = bus_ptr(t, r->hdr, sizeof(*h));

	assert_true(len <= r->cap);
	r->type = type;
	r->sector = sector;
	r->len = len;
	r->nsplit = 1;
	r->split[0] = len;
	r->indirect = false;
	h->type = htole32(type);
	h->ioprio = 0;
	h->sector = htole64(sector);
	*(uint8_t *)bus_ptr(t, r->st, 1) = ST_NONE;
}

/* Split the data into n descriptors at random byte offsets. */
static void req_split(struct req *r, unsigned int n)
{
	uint32_t left = r->len, i;

	r->nsplit = n;
	for (i = 0; i + 1 < n; i++) {
		r->split[i] = left ? rnd_below(left + 1) : 0;
		left -= r->split[i];
	}
	r->split[n - 1] = left;
}

static bool req_data_in(const struct req *r)
{
	return r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID;
}

/* Publish the request: header, data (readable or writable), status. */
static void req_add(struct blk_test *t, struct req *r)
{
	struct testdrv_sg sg[6];
	unsigned int n = 0, i, n_out;
	uint64_t off = 0;

	sg[n++] = (struct testdrv_sg){ r->hdr, 16 };
	for (i = 0; i < r->nsplit && r->len; i++) {
		sg[n++] = (struct testdrv_sg){ r->data + off, r->split[i] };
		off += r->split[i];
	}
	sg[n++] = (struct testdrv_sg){ r->st, 1 };
	n_out = req_data_in(r) || !r->len ? 1 : n - 1;
	r->head = testdrv_add(t->d, 0, sg, n_out, n - n_out, r->indirect);
	assert_true(r->head >= 0);
}

static uint8_t req_status(struct blk_test *t, const struct req *r)
{
	return *(uint8_t *)bus_ptr(t, r->st, 1);
}

/* Wait for the next used buffer: its head and len. */
static void next_used(struct blk_test *t, uint32_t *id, uint32_t *len)
{
	/* An EVENT_USED may be left over from a buffer taken earlier. */
	while (!testdrv_ring_has_used(&t->d->vqs[0]))
		assert_int_equal(testdrv_wait_used(t->d, 0, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(t->d, 0, id, len), 1);
}

/* Submit one request, wait for it; its status (used len checked). */
static uint8_t req_run(struct blk_test *t, struct req *r)
{
	uint32_t id, len;

	req_add(t, r);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	next_used(t, &id, &len);
	assert_int_equal(id, (uint32_t)r->head);
	assert_int_equal(len, req_data_in(r) ? r->len + 1 : 1);
	return req_status(t, r);
}

/* One request on fresh buffers: data copied in (OUT) or out (IN). */
static uint8_t do_io(struct blk_test *t, uint32_t type, uint64_t sector,
		     void *buf, uint32_t len)
{
	struct req r;
	uint8_t st;

	req_alloc(t, &r, len);
	req_set(t, &r, type, sector, len);
	if (len && !req_data_in(&r))
		memcpy(bus_ptr(t, r.data, len), buf, len);
	else if (len)
		memset(bus_ptr(t, r.data, len), 0xa5, len);
	st = req_run(t, &r);
	if (len && req_data_in(&r))
		memcpy(buf, bus_ptr(t, r.data, len), len);
	return st;
}

/* DISCARD or WRITE_ZEROES with n ranges. */
static uint8_t do_dwz(struct blk_test *t, uint32_t type,
		      struct virtio_blk_discard_write_zeroes *segs,
		      unsigned int n)
{
	return do_io(t, type, 0, segs, n * sizeof(*segs));
}

static struct virtio_blk_discard_write_zeroes seg(uint64_t sector,
						  uint32_t num, uint32_t flags)
{
	return (struct virtio_blk_discard_write_zeroes){
		.sector = htole64(sector),
		.num_sectors = htole32(num),
		.flags = htole32(flags),
	};
}

static void assert_file_matches(struct blk_test *t)
{
	static uint8_t buf[IMG_SIZE];
	struct stat st;

	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_size, IMG_SIZE);
	read_file(t, 0, buf, IMG_SIZE);
	assert_memory_equal(buf, t->ref, IMG_SIZE);
}

static bool device_failed(struct blk_test *t)
{
	uint32_t status;

	assert_int_equal(testdrv_get_status(t->d, &status), 0);
	return status & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* --- creation and config -------------------------------------------------- */

static void assert_create_fails(struct blk_test *t, const char *spec,
				int err_no, const char *why)
{
	char err[VMSG_ERR_LEN] = "";

	assert_int_equal(vmsg_bus_add_device(&t->tb->bus, spec, 0, err,
					     sizeof(err)), -err_no);
	if (!strstr(err, why))
		fail_msg("'%s': reason '%s' lacks '%s'", spec, err, why);
}

static void test_create_errors(void **state)
{
	struct blk_test *t = *state;
	char spec[256], odd[128];
	static uint8_t buf[1000];

	assert_create_fails(t, "blk", EINVAL, "blk: missing path=");
	assert_create_fails(t, "blk,path=/nonexistent/x.img", ENOENT,
			    "blk: path=/nonexistent/x.img: No such file");
	snprintf(odd, sizeof(odd), "%s/odd.img", t->dir);
	write_file(odd, buf, sizeof(buf));
	snprintf(spec, sizeof(spec), "blk,path=%s", odd);
	assert_create_fails(t, spec, EINVAL, "not a multiple of 512");
	snprintf(spec, sizeof(spec), "blk,path=%s,ro", t->dir);
	assert_create_fails(t, spec, EINVAL, "not a regular file");
	snprintf(spec, sizeof(spec), "blk,path=%s,serial=%s", t->path,
		 "123456789012345678901");
	assert_create_fails(t, spec, EINVAL, "serial=");
	snprintf(spec, sizeof(spec), "blk,path=%s,ro=maybe", t->path);
	assert_create_fails(t, spec, EINVAL, "ro");
	snprintf(spec, sizeof(spec), "blk,path=%s,cache=none", t->path);
	assert_create_fails(t, spec, EINVAL, "cache");
	/* The failed attempts left no lock behind; a second user is refused. */
	add_dev(t, "");
	snprintf(spec, sizeof(spec), "blk,path=%s", t->path);
	assert_create_fails(t, spec, EBUSY, "in use");
}

static void test_config(void **state)
{
	struct blk_test *t = *state;
	struct virtio_blk_config cfg;
	uint64_t f;

	start(t, "", TESTDRV_FEATURES_ALL);
	assert_int_equal(t->d->device_id, VIRTIO_ID_BLOCK);
	assert_int_equal(t->d->max_vqs, 1);
	assert_int_equal(t->d->config_size, sizeof(cfg));
	f = t->d->device_features;
	assert_true(f & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	assert_true(f & (1ULL << VIRTIO_BLK_F_SIZE_MAX));
	assert_true(f & (1ULL << VIRTIO_BLK_F_BLK_SIZE));
	assert_true(f & (1ULL << VIRTIO_BLK_F_FLUSH));
	assert_true(f & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_true(f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(f & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(f & (1ULL << VIRTIO_BLK_F_CONFIG_WCE));
	assert_false(f & (1ULL << VIRTIO_BLK_F_MQ));
	assert_int_equal(testdrv_config_read(t->d, 0, &cfg, sizeof(cfg)), 0);
	assert_int_equal(le64toh(cfg.capacity), IMG_SECTORS);
	assert_int_equal(le32toh(cfg.blk_size), 512);
	assert_int_equal(le32toh(cfg.seg_max), VMSG_CHAIN_MAX_SEGS - 2);
	assert_true(le32toh(cfg.size_max) >= 4096);
	assert_int_equal(le16toh(cfg.num_queues), 1);
	assert_true(le32toh(cfg.max_discard_sectors) > 0);
	assert_int_equal(le32toh(cfg.max_discard_seg), BLK_DWZ_MAX_SEG);
	assert_true(le32toh(cfg.max_write_zeroes_sectors) > 0);
	assert_int_equal(le32toh(cfg.max_write_zeroes_seg), BLK_DWZ_MAX_SEG);
	assert_int_equal(cfg.write_zeroes_may_unmap, 1);
	assert_int_equal(cfg.wce, 0);
	/* Read-only config: writes are refused. */
	assert_int_equal(testdrv_config_write(t->d, 0, &cfg, 8), -EINVAL);
}

/* --- request types -------------------------------------------------------- */

static void test_read_write(void **state)
{
	struct blk_test *t = *state;
	uint8_t wbuf[3 * 512], rbuf[3 * 512];
	struct req r;

	start(t, "", TESTDRV_FEATURES_ALL);
	fill_pattern(wbuf, sizeof(wbuf), 42);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_OUT, 5, wbuf, sizeof(wbuf)),
			 VIRTIO_BLK_S_OK);
	memcpy(t->ref + 5 * 512, wbuf, sizeof(wbuf));
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, 5, rbuf, sizeof(rbuf)),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(rbuf, wbuf, sizeof(wbuf));

	/* Split at odd byte offsets, direct and indirect. */
	req_alloc(t, &r, sizeof(wbuf));
	req_set(t, &r, VIRTIO_BLK_T_OUT, 100, sizeof(wbuf));
	fill_pattern(bus_ptr(t, r.data, r.len), r.len, 43);
	memcpy(t->ref + 100 * 512, bus_ptr(t, r.data, r.len), r.len);
	req_split(&r, 4);
	r.indirect = true;
	assert_int_equal(req_run(t, &r), VIRTIO_BLK_S_OK);
	req_set(t, &r, VIRTIO_BLK_T_IN, 100, sizeof(wbuf));
	memset(bus_ptr(t, r.data, r.len), 0, r.len);
	req_split(&r, 3);
	assert_int_equal(req_run(t, &r), VIRTIO_BLK_S_OK);
	assert_memory_equal(bus_ptr(t, r.data, r.len), t->ref + 100 * 512,
			    r.len);
	/* Zero-length transfers do nothing and succeed. */
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, 0, NULL, 0),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_OUT, 0, NULL, 0),
			 VIRTIO_BLK_S_OK);
	assert_file_matches(t);
}

static void test_ro(void **state)
{
	struct blk_test *t = *state;
	struct virtio_blk_discard_write_zeroes s = seg(0, 8, 0);
	uint8_t buf[512];

	start(t, ",ro", TESTDRV_FEATURES_ALL);
	assert_true(t->d->device_features & (1ULL << VIRTIO_BLK_F_RO));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(do_io(t, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf)),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_DISCARD, &s, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf)),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, t->ref, sizeof(buf));
	assert_int_equal(do_io(t, VIRTIO_BLK_T_FLUSH, 0, NULL, 0),
			 VIRTIO_BLK_S_OK);
	assert_false(device_failed(t));
	assert_file_matches(t);
}

static void test_get_id(void **state)
{
	struct blk_test *t = *state;
	char id[VIRTIO_BLK_ID_BYTES], want[VIRTIO_BLK_ID_BYTES] = "disk.img";

	start(t, "", TESTDRV_FEATURES_ALL);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id)),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(id, want, sizeof(id));
	testdrv_free(t->d);
	vmsg_bus_destroy_device(&t->tb->bus, (uint16_t)t->dev_num);

	start(t, ",serial=ABCDEFGHIJKLMNOPQRST", TESTDRV_FEATURES_ALL);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id)),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(id, "ABCDEFGHIJKLMNOPQRST", sizeof(id));
	/* A shorter buffer gets a prefix. */
	assert_int_equal(do_io(t, VIRTIO_BLK_T_GET_ID, 0, id, 4),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(id, "ABCD", 4);
}

static void test_unsupported(void **state)
{
	struct blk_test *t = *state;
	static const uint32_t types[] = { 2, 3, 99, VIRTIO_BLK_T_SECURE_ERASE,
					  0x80000000 };
	struct virtio_blk_discard_write_zeroes s = seg(0, 8, 0);
	uint64_t no_dwz = ~((1ULL << VIRTIO_BLK_F_DISCARD) |
			    (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	unsigned int i;

	start(t, "", no_dwz);
	for (i = 0; i < ARRAY_SIZE(types); i++)
		assert_int_equal(do_io(t, types[i], 0, NULL, 0),
				 VIRTIO_BLK_S_UNSUPP);
	/* Not negotiated: refused, nothing changed. */
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_DISCARD, &s, 1),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1),
			 VIRTIO_BLK_S_UNSUPP);
	assert_false(device_failed(t));
	assert_file_matches(t);
}

static void test_past_end(void **state)
{
	struct blk_test *t = *state;
	uint8_t buf[1024];

	start(t, "", TESTDRV_FEATURES_ALL);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, buf, 512),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, t->ref + IMG_SIZE - 512, 512);
	/* One sector too far: nothing read, the buffer is untouched. */
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, buf, 1024),
			 VIRTIO_BLK_S_IOERR);
	assert_true(buf[0] == 0xa5 && buf[1023] == 0xa5);
	memset(buf, 0x11, sizeof(buf));
	assert_int_equal(do_io(t, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, buf, 1024),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_OUT, IMG_SECTORS, buf, 512),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, UINT64_MAX, buf, 512),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_OUT, UINT64_MAX / 512, buf, 512),
			 VIRTIO_BLK_S_IOERR);
	assert_false(device_failed(t));
	assert_file_matches(t);
}

static void test_bad_lengths(void **state)
{
	struct blk_test *t = *state;
	struct testdrv_sg sg[2];
	uint8_t buf[1000];
	struct req r;

	start(t, "", TESTDRV_FEATURES_ALL);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, 0, buf, 511),
			 VIRTIO_BLK_S_IOERR);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(do_io(t, VIRTIO_BLK_T_OUT, 0, buf, 1000),
			 VIRTIO_BLK_S_IOERR);
	assert_false(device_failed(t));
	assert_file_matches(t);

	/* A header split over two descriptors is fine. */
	req_alloc(t, &r, 0);
	req_set(t, &r, VIRTIO_BLK_T_FLUSH, 0, 0);
	sg[0] = (struct testdrv_sg){ r.hdr, 8 };
	sg[1] = (struct testdrv_sg){ r.hdr + 8, 8 };
	assert_true(testdrv_add(t->d, 0, sg, 2, 0, false) >= 0);
	/* ...but without a status byte the chain is malformed. */
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(testdrv_wait_needs_reset(t->d, TIMEOUT_MS), 0);

	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
	req_alloc(t, &r, 0);
	req_set(t, &r, VIRTIO_BLK_T_FLUSH, 0, 0);
	sg[0] = (struct testdrv_sg){ r.hdr, 8 };
	sg[1] = (struct testdrv_sg){ r.st, 1 };
	assert_true(testdrv_add(t->d, 0, sg, 1, 1, false) >= 0);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(testdrv_wait_needs_reset(t->d, TIMEOUT_MS), 0);
	assert_int_equal(req_status(t, &r), ST_NONE);

	/* And after a reset the device works again. */
	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, 0, buf, 512),
			 VIRTIO_BLK_S_OK);
}

/* FLUSH, and write-through when the driver does not take FLUSH. */
static void test_flush(void **state)
{
	struct blk_test *t = *state;
	uint8_t buf[4096];

	start(t, "", TESTDRV_FEATURES_ALL);
	fill_pattern(buf, sizeof(buf), 7);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_OUT, 16, buf, sizeof(buf)),
			 VIRTIO_BLK_S_OK);
	memcpy(t->ref + 16 * 512, buf, sizeof(buf));
	assert_int_equal(do_io(t, VIRTIO_BLK_T_FLUSH, 0, NULL, 0),
			 VIRTIO_BLK_S_OK);
	/* The sector field of a flush is ignored. */
	assert_int_equal(do_io(t, VIRTIO_BLK_T_FLUSH, UINT64_MAX, NULL, 0),
			 VIRTIO_BLK_S_OK);
	assert_file_matches(t);

	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_init(t->d, ~(1ULL << VIRTIO_BLK_F_FLUSH), 0),
			 0);
	fill_pattern(buf, sizeof(buf), 8);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_OUT, 40, buf, sizeof(buf)),
			 VIRTIO_BLK_S_OK);
	memcpy(t->ref + 40 * 512, buf, sizeof(buf));
	assert_file_matches(t);
}

/* --- discard and write zeroes --------------------------------------------- */

static void ref_zero(struct blk_test *t, uint64_t sector, uint32_t num)
{
	memset(t->ref + sector * 512, 0, (size_t)num * 512);
}

static uint64_t file_blocks(const struct blk_test *t)
{
	struct stat st;

	assert_int_equal(stat(t->path, &st), 0);
	return (uint64_t)st.st_blocks;
}

static void test_dwz_effects(void **state)
{
	struct blk_test *t = *state;
	struct virtio_blk_discard_write_zeroes s[2];
	uint64_t before;

	start(t, "", TESTDRV_FEATURES_ALL);
	before = file_blocks(t);
	s[0] = seg(1024, 512, 0);	/* 256 KiB, 4 KiB aligned */
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_DISCARD, s, 1),
			 VIRTIO_BLK_S_OK);
	ref_zero(t, 1024, 512);
	assert_file_matches(t);
	assert_true(file_blocks(t) < before);	/* really deallocated */

	s[0] = seg(3, 5, 0);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, s, 1),
			 VIRTIO_BLK_S_OK);
	ref_zero(t, 3, 5);
	s[0] = seg(20, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	s[1] = seg(30, 7, 0);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, s, 2),
			 VIRTIO_BLK_S_OK);
	ref_zero(t, 20, 1);
	ref_zero(t, 30, 7);
	s[0] = seg(50, 2, 0);
	s[1] = seg(60, 0, 0);		/* an empty range is fine */
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_DISCARD, s, 2),
			 VIRTIO_BLK_S_OK);
	ref_zero(t, 50, 2);
	assert_file_matches(t);
}

/* Every bad DISCARD/WRITE_ZEROES changes nothing, not even good ranges. */
static void test_dwz_invalid(void **state)
{
	struct blk_test *t = *state;
	struct virtio_blk_discard_write_zeroes s[BLK_DWZ_MAX_SEG + 1];
	unsigned int i;

	start(t, "", TESTDRV_FEATURES_ALL);
	s[0] = seg(0, 8, 0);
	s[1] = seg(8, 8, 0x2);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, s, 2),
			 VIRTIO_BLK_S_UNSUPP);
	s[1] = seg(8, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_DISCARD, s, 2),
			 VIRTIO_BLK_S_UNSUPP);
	s[1] = seg(IMG_SECTORS - 4, 5, 0);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_DISCARD, s, 2),
			 VIRTIO_BLK_S_IOERR);
	s[1] = seg(UINT64_MAX - 2, 8, 0);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, s, 2),
			 VIRTIO_BLK_S_IOERR);
	s[1] = seg(0, UINT32_MAX, 0);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, s, 2),
			 VIRTIO_BLK_S_IOERR);
	for (i = 0; i <= BLK_DWZ_MAX_SEG; i++)
		s[i] = seg(i, 1, 0);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_DISCARD, s,
				BLK_DWZ_MAX_SEG + 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_DISCARD, s, 0),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_DISCARD, 0, s, 20),
			 VIRTIO_BLK_S_IOERR);
	assert_false(device_failed(t));
	assert_file_matches(t);
	/* The maximum number of ranges is accepted. */
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_DISCARD, s, BLK_DWZ_MAX_SEG),
			 VIRTIO_BLK_S_OK);
	ref_zero(t, 0, BLK_DWZ_MAX_SEG);
	assert_file_matches(t);
}

/* --- host-side I/O errors ------------------------------------------------- */

/* The image truncated under the device: reads past its end fail. */
static void test_io_error_eof(void **state)
{
	struct blk_test *t = *state;
	uint8_t buf[4096];

	start(t, "", TESTDRV_FEATURES_ALL);
	assert_int_equal(truncate(t->path, IMG_SIZE / 2), 0);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, IMG_SECTORS / 2, buf, 512),
			 VIRTIO_BLK_S_IOERR);
	/* Straddling the end: a short read, then nothing: still an error. */
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, IMG_SECTORS / 2 - 4, buf,
			       sizeof(buf)),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf)),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, t->ref, sizeof(buf));
	assert_false(device_failed(t));
}

/* The device's descriptor for the image, found through /proc. */
static int find_image_fd(const struct blk_test *t)
{
	char link[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int fd = -1;
	ssize_t n;

	assert_non_null(d);
	while ((e = readdir(d))) {
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strcmp(target, t->path)) {
			fd = atoi(e->d_name);
			break;
		}
	}
	closedir(d);
	assert_true(fd >= 0);
	return fd;
}

/* Point fd at the image opened with flags. */
static void replace_fd(const struct blk_test *t, int fd, int flags)
{
	int nfd = open(t->path, flags | O_CLOEXEC);

	assert_true(nfd >= 0);
	assert_int_equal(dup2(nfd, fd), fd);
	close(nfd);
}

/* Every host operation fails: IOERR each time, the device lives on. */
static void test_io_error_ebadf(void **state)
{
	struct blk_test *t = *state;
	struct virtio_blk_discard_write_zeroes s = seg(0, 8, 0);
	uint8_t buf[1024], id[VIRTIO_BLK_ID_BYTES];
	int fd;

	start(t, "", TESTDRV_FEATURES_ALL);
	fd = find_image_fd(t);
	replace_fd(t, fd, O_PATH);
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, 0, buf, 512),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_OUT, 0, buf, 1024),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_FLUSH, 0, NULL, 0),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_dwz(t, VIRTIO_BLK_T_DISCARD, &s, 1),
			 VIRTIO_BLK_S_IOERR);
	/* Requests that need no file still work. */
	assert_int_equal(do_io(t, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id)),
			 VIRTIO_BLK_S_OK);
	assert_false(device_failed(t));
	assert_file_matches(t);

	/* The file is back: so is the device, without a reset. */
	replace_fd(t, fd, O_RDWR);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_OUT, 0, buf, 1024),
			 VIRTIO_BLK_S_OK);
	memcpy(t->ref, buf, 1024);
	assert_file_matches(t);
}

/* --- many requests at once ------------------------------------------------ */

/* More reads than the pool holds, then a reset while they are in flight. */
static void test_reset_in_flight(void **state)
{
	struct blk_test *t = *state;
	static struct req r[BLK_QUEUE_SIZE];
	uint8_t buf[512];
	uint16_t used_idx;
	unsigned int i;

	start(t, "", TESTDRV_FEATURES_ALL);
	for (i = 0; i < BLK_QUEUE_SIZE; i++) {
		req_alloc(t, &r[i], 4096);
		req_set(t, &r[i], VIRTIO_BLK_T_IN, i * 8, 4096);
		r[i].indirect = true;
		req_add(t, &r[i]);
	}
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	/* No loop run: completions are still in io_uring. */
	assert_int_equal(testdrv_set_status(t->d, 0), 0);
	used_idx = le16toh(t->d->vqs[0].used->idx);
	for (i = 0; i < BLK_QUEUE_SIZE; i++)
		memset(bus_ptr(t, r[i].data, 4096), 0x3c, 4096);
	/* Nothing may write into the region any more. */
	for (i = 0; i < 10; i++)
		vmsg_loop_run_once(t->tb->loop, 5);
	assert_int_equal(le16toh(t->d->vqs[0].used->idx), used_idx);
	for (i = 0; i < BLK_QUEUE_SIZE; i++) {
		uint8_t *p = bus_ptr(t, r[i].data, 4096);

		assert_true(p[0] == 0x3c && p[4095] == 0x3c);
	}
	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
	assert_int_equal(do_io(t, VIRTIO_BLK_T_IN, 8, buf, sizeof(buf)),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, t->ref + 8 * 512, sizeof(buf));
}

/*
 * Data integrity: a seeded random mix of reads, writes (split at random
 * byte offsets, direct or indirect), flushes, discards and write-zeroes,
 * up to DEPTH at once on non-overlapping ranges, each read checked against
 * the reference when it completes, the image compared at the end.
 */
#define INTEG_OPS	3000
#define INTEG_DEPTH	24
#define INTEG_MAX_SECT	32

struct slot {
	struct req r;
	bool busy;
	uint64_t sector;
	uint32_t nsect;		/* 0: no range (flush) */
};

struct integ {
	struct blk_test *t;
	struct slot slots[INTEG_DEPTH];
	unsigned int busy;
	unsigned int submitted;
	unsigned int done;
};

static bool range_free(const struct integ *s, uint64_t sector, uint32_t n)
{
	unsigned int i;

	for (i = 0; i < INTEG_DEPTH; i++) {
		const struct slot *o = &s->slots[i];

		if (o->busy && o->nsect && sector < o->sector + o->nsect &&
		    o->sector < sector + n)
			return false;
	}
	return true;
}

static void integ_rw(struct integ *s, struct slot *sl, uint32_t type)
{
	struct blk_test *t = s->t;
	uint32_t len = sl->nsect * 512;

	req_set(t, &sl->r, type, sl->sector, len);
	if (type == VIRTIO_BLK_T_OUT) {
		fill_pattern(bus_ptr(t, sl->r.data, len), len, rnd());
		memcpy(t->ref + sl->sector * 512, bus_ptr(t, sl->r.data, len),
		       len);
	} else {
		memset(bus_ptr(t, sl->r.data, len), 0xa5, len);
	}
	req_split(&sl->r, 1 + rnd_below(4));
	sl->r.indirect = rnd_below(2);
}

static void integ_dwz(struct integ *s, struct slot *sl, uint32_t type)
{
	struct virtio_blk_discard_write_zeroes d;
	uint32_t flags = 0;

	if (type == VIRTIO_BLK_T_WRITE_ZEROES && rnd_below(2))
		flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	d = seg(sl->sector, sl->nsect, flags);
	req_set(s->t, &sl->r, type, 0, sizeof(d));
	memcpy(bus_ptr(s->t, sl->r.data, sizeof(d)), &d, sizeof(d));
	ref_zero(s->t, sl->sector, sl->nsect);
}

/* Pick an operation and a free range for slot sl. false: none found. */
static bool integ_prepare(struct integ *s, struct slot *sl)
{
	uint32_t op = rnd_below(100), tries;

	sl->nsect = 0;
	if (op < 6) {
		req_set(s->t, &sl->r, VIRTIO_BLK_T_FLUSH, 0, 0);
		return true;
	}
	for (tries = 0; tries < 8; tries++) {
		sl->nsect = 1 + rnd_below(INTEG_MAX_SECT);
		sl->sector = rnd_below(IMG_SECTORS - sl->nsect + 1);
		if (range_free(s, sl->sector, sl->nsect))
			break;
	}
	if (tries == 8)
		return false;
	if (op < 50)
		integ_rw(s, sl, VIRTIO_BLK_T_OUT);
	else if (op < 92)
		integ_rw(s, sl, VIRTIO_BLK_T_IN);
	else
		integ_dwz(s, sl, op < 96 ? VIRTIO_BLK_T_DISCARD :
					   VIRTIO_BLK_T_WRITE_ZEROES);
	return true;
}

static void integ_fill(struct integ *s, unsigned int depth)
{
	unsigned int i;

	for (i = 0; i < depth && s->submitted < INTEG_OPS; i++) {
		struct slot *sl = &s->slots[i];

		if (sl->busy)
			continue;
		if (!integ_prepare(s, sl))
			break;
		req_add(s->t, &sl->r);
		sl->busy = true;
		s->busy++;
		s->submitted++;
	}
}

static void integ_complete(struct integ *s, uint32_t id, uint32_t len)
{
	struct blk_test *t = s->t;
	struct slot *sl = NULL;
	unsigned int i;

	for (i = 0; i < INTEG_DEPTH && !sl; i++)
		if (s->slots[i].busy && s->slots[i].r.head == (int)id)
			sl = &s->slots[i];
	if (!sl) {
		fail_msg("used id %u is not in flight", id);
		return;
	}
	assert_int_equal(req_status(t, &sl->r), VIRTIO_BLK_S_OK);
	assert_int_equal(len, req_data_in(&sl->r) ? sl->r.len + 1 : 1);
	if (sl->r.type == VIRTIO_BLK_T_IN)
		assert_memory_equal(bus_ptr(t, sl->r.data, sl->r.len),
				    t->ref + sl->sector * 512, sl->r.len);
	sl->busy = false;
	s->busy--;
	s->done++;
}

static void integ_reap(struct integ *s)
{
	uint32_t id, len;

	next_used(s->t, &id, &len);
	integ_complete(s, id, len);
	while (testdrv_get_used(s->t->d, 0, &id, &len) == 1)
		integ_complete(s, id, len);
}

static void test_integrity(void **state)
{
	static struct integ s;
	struct blk_test *t = *state;
	unsigned int i;
	int kick;

	start(t, "", TESTDRV_FEATURES_ALL);
	memset(&s, 0, sizeof(s));
	s.t = t;
	for (i = 0; i < INTEG_DEPTH; i++)
		req_alloc(t, &s.slots[i].r, INTEG_MAX_SECT * 512);
	rng_state = 0x1e57da7a;
	while (s.done < INTEG_OPS) {
		integ_fill(&s, 1 + rnd_below(INTEG_DEPTH));
		kick = testdrv_kick_if_needed(t->d, 0);
		assert_true(kick >= 0);
		if (s.busy)
			integ_reap(&s);
	}
	assert_int_equal(do_io(t, VIRTIO_BLK_T_FLUSH, 0, NULL, 0),
			 VIRTIO_BLK_S_OK);
	assert_false(device_failed(t));
	assert_file_matches(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_create_errors),
		T(test_config),
		T(test_read_write),
		T(test_ro),
		T(test_get_id),
		T(test_unsupported),
		T(test_past_end),
		T(test_bad_lengths),
		T(test_flush),
		T(test_dwz_effects),
		T(test_dwz_invalid),
		T(test_io_error_eof),
		T(test_io_error_ebadf),
		T(test_reset_in_flight),
		T(test_integrity),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
