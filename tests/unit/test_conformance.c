// SPDX-License-Identifier: GPL-2.0
/*
 * One conformance suite, run against every entry of the device-type table
 * (vmsg_dev_types[]): what any device must do whatever its type. Create and
 * destroy, reset from every state (also with requests in flight, after
 * which nothing may touch the region), config reads at every offset and
 * length edge, features masked to what was offered, kicks before DRIVER_OK
 * ignored, bad queue indices and sizes refused, destroy with requests in
 * flight (ASan reports any leak), and every kind of hostile ring giving
 * NEEDS_RESET plus EVENT_CONFIG, after which a reset revives the device.
 *
 * Each type needs an entry in conf_types[] below: a spec that works in a
 * temporary directory and a "smoke" request the device must answer. A type
 * without an entry fails test_every_type_covered. What a type does with its
 * requests beyond that is tested in its own test_<type>.c.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_input.h>
#include <linux/virtio_i2c.h>
#include <linux/virtio_msg.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "bus.h"
#include "dev-console.h"
#include "device.h"
#include "loop.h"
#include "../lib/fakeevdev.h"
#include "../lib/testbus.h"
#include "../lib/testdrv.h"

/* Big enough for chains whose lengths add up past 4 GiB (256 x 17 MiB). */
#define REGION_SIZE	(32 * 1024 * 1024)
#define IMG_SIZE	(1024 * 1024)
#define TIMEOUT_MS	5000
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define POISON		0x3c
#define SMOKE_LEN	512

struct conf;

/* A request the device must answer: its buffers, kept to look at later. */
struct smoke {
	uint64_t hdr, data, st;
	int head;
};

struct conf_type {
	const char *type;
	const char *spec;
	const char *image_key;	/* if set, spec gets ",KEY=<tmpdir>/conf.img" */
	/* Put one request on queue 0 (not kicked); 0 or -errno. */
	int (*add)(struct conf *c, struct smoke *s);
	/* The device answered s with len bytes: is that right? */
	void (*check)(struct conf *c, const struct smoke *s, uint32_t len);
};

/*
 * A type whose host side is not a disk image makes it at <tmpdir>/conf.img
 * before the device is created (0 or -errno), and undoes it once the
 * device is gone.
 */
struct conf_host {
	const char *type;
	int (*prepare)(struct conf *c, const char *path);
	void (*cleanup)(struct conf *c);
};

struct conf {
	const struct conf_type *ct;
	const struct vmsg_dev_ops *ops;
	char dir[64];
	char spec[160];
	struct vmsg_testbus *tb;
	struct testdrv *d;
	int dev_num;
	uint8_t image[SMOKE_LEN];	/* first bytes of any disk image */
	const struct conf_host *host;	/* NULL: a disk image */
	void *priv;			/* the host's prepare() state */
};

/* --- per-type smoke requests ---------------------------------------------- */

static uint64_t alloc_poisoned(struct conf *c, uint32_t len)
{
	uint64_t addr = testdrv_alloc_buf(c->d, len);

	assert_int_not_equal(addr, 0);
	memset(testdrv_buf(c->d, addr, len), POISON, len);
	return addr;
}

static int rng_add(struct conf *c, struct smoke *s)
{
	struct testdrv_sg sg;

	s->data = alloc_poisoned(c, SMOKE_LEN);
	sg = (struct testdrv_sg){ s->data, SMOKE_LEN };
	s->head = testdrv_add(c->d, 0, &sg, 0, 1, false);
	return s->head < 0 ? s->head : 0;
}

static void rng_check(struct conf *c, const struct smoke *s, uint32_t len)
{
	assert_int_equal(len, SMOKE_LEN);
}

/* IN of the first sector. */
static int blk_add(struct conf *c, struct smoke *s)
{
	struct virtio_blk_outhdr *h;
	struct testdrv_sg sg[3];

	s->hdr = alloc_poisoned(c, sizeof(*h));
	s->data = alloc_poisoned(c, SMOKE_LEN);
	s->st = alloc_poisoned(c, 1);
	h = testdrv_buf(c->d, s->hdr, sizeof(*h));
	memset(h, 0, sizeof(*h));
	h->type = htole32(VIRTIO_BLK_T_IN);
	sg[0] = (struct testdrv_sg){ s->hdr, sizeof(*h) };
	sg[1] = (struct testdrv_sg){ s->data, SMOKE_LEN };
	sg[2] = (struct testdrv_sg){ s->st, 1 };
	s->head = testdrv_add(c->d, 0, sg, 1, 2, false);
	return s->head < 0 ? s->head : 0;
}

static void blk_check(struct conf *c, const struct smoke *s, uint32_t len)
{
	assert_int_equal(len, SMOKE_LEN + 1);
	assert_int_equal(*(uint8_t *)testdrv_buf(c->d, s->st, 1),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(testdrv_buf(c->d, s->data, SMOKE_LEN), c->image,
			    SMOKE_LEN);
}

/* A SMOKE_LEN-byte read from the emulated RTC at 0x68. */
static int i2c_add(struct conf *c, struct smoke *s)
{
	struct virtio_i2c_out_hdr *h;
	struct testdrv_sg sg[3];

	s->hdr = alloc_poisoned(c, sizeof(*h));
	s->data = alloc_poisoned(c, SMOKE_LEN);
	s->st = alloc_poisoned(c, 1);
	h = testdrv_buf(c->d, s->hdr, sizeof(*h));
	memset(h, 0, sizeof(*h));
	h->addr = htole16(0x68 << 1);
	h->flags = htole32(VIRTIO_I2C_FLAGS_M_RD);
	sg[0] = (struct testdrv_sg){ s->hdr, sizeof(*h) };
	sg[1] = (struct testdrv_sg){ s->data, SMOKE_LEN };
	sg[2] = (struct testdrv_sg){ s->st, 1 };
	s->head = testdrv_add(c->d, 0, sg, 1, 2, false);
	return s->head < 0 ? s->head : 0;
}

static void i2c_check(struct conf *c, const struct smoke *s, uint32_t len)
{
	assert_int_equal(len, SMOKE_LEN + 1);
	assert_int_equal(*(uint8_t *)testdrv_buf(c->d, s->st, 1),
			 VIRTIO_I2C_MSG_OK);
	/* The NVRAM reads as zeroes: the read overwrote the poison. */
	assert_non_null(memchr(testdrv_buf(c->d, s->data, SMOKE_LEN), 0,
			       SMOKE_LEN));
}

/*
 * net: a frame sent into the device's tap (kernel-named, in this process's
 * network namespace) must land in the receive buffer on queue 0. The tap
 * is the one /dev/net/tun fd this process holds; it is brought up with
 * IPv6 off, so nothing but the test frame crosses it.
 */
#define NET_FRAME_LEN	60
#define NET_BUF_LEN	2048

static int net_tap_name(char name[IFNAMSIZ])
{
	struct ifreq ifr = { 0 };
	char path[300], link[64];
	struct dirent *e;
	DIR *dir = opendir("/proc/self/fd");
	int found = -ENOENT;
	ssize_t n;

	if (!dir)
		return -errno;
	while (found && (e = readdir(dir))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0 || (link[n] = 0, strcmp(link, "/dev/net/tun")) ||
		    ioctl(atoi(e->d_name), TUNGETIFF, &ifr))
			continue;
		snprintf(name, IFNAMSIZ, "%s", ifr.ifr_name);
		found = 0;
	}
	closedir(dir);
	return found;
}

/* Bring the tap up without IPv6 and send it one frame: 0 or -errno. */
static int net_send_frame(const char *name, const uint8_t *frame)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct ifreq ifr = { 0 };
	char path[96];
	int s, fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && write(fd, "1", 1) != 1)
		ret = -EIO;
	if (fd >= 0)
		close(fd);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (!ret && !ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(s, SIOCSIFFLAGS, &ifr) ? -errno : 0;
	}
	sll.sll_ifindex = (int)if_nametoindex(name);
	if (!ret && sendto(s, frame, NET_FRAME_LEN, 0, (struct sockaddr *)&sll,
			   sizeof(sll)) != NET_FRAME_LEN)
		ret = -errno;
	close(s);
	return ret;
}

static void net_frame(uint8_t *f)
{
	unsigned int i;

	for (i = 0; i < NET_FRAME_LEN; i++)
		f[i] = (uint8_t)(i * 13 + 5);
	memset(f, 0xff, 6);		/* broadcast */
	f[12] = 0x88;			/* IEEE local experimental */
	f[13] = 0xb5;
}

static int net_add(struct conf *c, struct smoke *s)
{
	uint8_t frame[NET_FRAME_LEN];
	char name[IFNAMSIZ];
	struct testdrv_sg sg;
	int ret;

	s->data = alloc_poisoned(c, NET_BUF_LEN);
	sg = (struct testdrv_sg){ s->data, NET_BUF_LEN };
	s->head = testdrv_add(c->d, 0, &sg, 0, 1, false);
	if (s->head < 0)
		return s->head;
	net_frame(frame);
	ret = net_tap_name(name);
	return ret ? ret : net_send_frame(name, frame);
}

static void net_check(struct conf *c, const struct smoke *s, uint32_t len)
{
	const size_t hdr = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	const struct virtio_net_hdr_mrg_rxbuf *h;
	uint8_t frame[NET_FRAME_LEN];

	assert_int_equal(len, hdr + NET_FRAME_LEN);
	h = testdrv_buf(c->d, s->data, hdr);
	assert_int_equal(le16toh(h->num_buffers), 1);
	net_frame(frame);
	assert_memory_equal(testdrv_buf(c->d, s->data + hdr, NET_FRAME_LEN),
			    frame, NET_FRAME_LEN);
}

/*
 * input: a fake evdev (tests/lib/fakeevdev.h) stands for the host device,
 * conf.img a symlink to it. The smoke request is one event buffer (of
 * SMOKE_LEN bytes, of which an event fills 8), answered by a key press the
 * fake emits once the model holds its grab.
 */
static int input_prepare(struct conf *c, const char *path)
{
	struct fakeevdev *fe = fakeevdev_new("conformance");

	if (!fe)
		return -errno;
	fakeevdev_set_bit(fe, EV_KEY, KEY_A);
	c->priv = fe;
	if (unlink(path) || symlink(fe->path, path))
		return -errno;
	return 0;
}

static void input_cleanup(struct conf *c)
{
	fakeevdev_free(c->priv);
}

static int input_add(struct conf *c, struct smoke *s)
{
	struct testdrv_sg sg;

	s->data = alloc_poisoned(c, SMOKE_LEN);
	sg = (struct testdrv_sg){ s->data, SMOKE_LEN };
	s->head = testdrv_add(c->d, 0, &sg, 0, 1, false);
	if (s->head < 0)
		return s->head;
	return fakeevdev_emit_grabbed(c->priv, EV_KEY, KEY_A, 1);
}

static void input_check(struct conf *c, const struct smoke *s, uint32_t len)
{
	const struct virtio_input_event want = {
		htole16(EV_KEY), htole16(KEY_A), htole32(1)
	};
	const uint8_t *p = testdrv_buf(c->d, s->data, SMOKE_LEN);
	unsigned int i;

	assert_int_equal(len, sizeof(want));
	assert_memory_equal(p, &want, sizeof(want));
	for (i = sizeof(want); i < SMOKE_LEN; i++)
		assert_int_equal(p[i], POISON);
}

/*
 * console,pty: bytes typed into the pty's slave for one receive buffer.
 * Every smoke types the same byte, so input left over from an earlier one
 * (e.g. before a reset) reads the same.
 */
#define CONSOLE_BYTE	'c'

static int console_add(struct conf *c, struct smoke *s)
{
	struct vmsg_dev *dev = vmsg_bus_dev(&c->tb->bus, c->dev_num);
	const char *slave = dev ? vmsg_console_path(dev) : NULL;
	uint8_t in[SMOKE_LEN];
	struct testdrv_sg sg;
	ssize_t n;
	int fd;

	s->data = alloc_poisoned(c, SMOKE_LEN);
	sg = (struct testdrv_sg){ s->data, SMOKE_LEN };
	s->head = testdrv_add(c->d, 0, &sg, 0, 1, false);
	if (s->head < 0 || !slave)
		return s->head < 0 ? s->head : -ENODEV;
	fd = open(slave, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(in, CONSOLE_BYTE, sizeof(in));
	n = write(fd, in, sizeof(in));
	close(fd);
	return n == sizeof(in) ? 0 : -EIO;
}

/* Input may come in pieces: any non-empty part of it will do. */
static void console_check(struct conf *c, const struct smoke *s,
			  uint32_t len)
{
	const uint8_t *p = testdrv_buf(c->d, s->data, SMOKE_LEN);
	uint32_t i;

	assert_true(len >= 1 && len <= SMOKE_LEN);
	for (i = 0; i < SMOKE_LEN; i++)
		assert_int_equal(p[i], i < len ? CONSOLE_BYTE : POISON);
}

static const struct conf_type conf_types[] = {
	{ "rng", "rng", NULL, rng_add, rng_check },
	{ "blk", "blk", "path", blk_add, blk_check },
	{ "net", "net", NULL, net_add, net_check },
	{ "i2c", "i2c,rtc=0x68", NULL, i2c_add, i2c_check },
	{ "input", "input", "evdev", input_add, input_check },
	{ "console", "console,pty", NULL, console_add, console_check },
};

#define NR_CONF_TYPES	ARRAY_SIZE(conf_types)

static const struct conf_host conf_hosts[] = {
	{ "input", input_prepare, input_cleanup },
};

static const struct conf_host *conf_host_find(const char *type)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(conf_hosts); i++)
		if (!strcmp(conf_hosts[i].type, type))
			return &conf_hosts[i];
	return NULL;
}

static const struct conf_type *conf_type_find(const char *type)
{
	unsigned int i;

	for (i = 0; i < NR_CONF_TYPES; i++)
		if (!strcmp(conf_types[i].type, type))
			return &conf_types[i];
	return NULL;
}

/* --- fixture -------------------------------------------------------------- */

static void make_image(struct conf *c)
{
	char path[128];
	unsigned int i;
	int fd;

	for (i = 0; i < SMOKE_LEN; i++)
		c->image[i] = (uint8_t)(i * 7 + 1);
	snprintf(path, sizeof(path), "%s/conf.img", c->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
	assert_int_equal(pwrite(fd, c->image, SMOKE_LEN, 0), SMOKE_LEN);
	close(fd);
}

static void add_device(struct conf *c)
{
	char err[VMSG_ERR_LEN] = "";

	c->dev_num = vmsg_bus_add_device(&c->tb->bus, c->spec, 0, err,
					 sizeof(err));
	if (c->dev_num <= 0)
		fail_msg("%s: %s", c->spec, err);
	c->d = testdrv_new(c->tb, (uint16_t)c->dev_num);
	assert_non_null(c->d);
}

static void remove_device(struct conf *c)
{
	testdrv_free(c->d);
	c->d = NULL;
	vmsg_bus_destroy_device(&c->tb->bus, (uint16_t)c->dev_num);
}

/* initial_state: the conf_type; *state becomes a struct conf. */
static int setup(void **state)
{
	const struct conf_type *ct = *state;
	struct conf *c = calloc(1, sizeof(*c));
	char path[128];

	if (!c)
		return -1;
	c->ct = ct;
	c->ops = vmsg_dev_type_find(ct->type);
	strcpy(c->dir, "/tmp/vmsg-conf-XXXXXX");
	if (!c->ops || !mkdtemp(c->dir)) {
		free(c);
		return -1;
	}
	if (ct->image_key)
		snprintf(c->spec, sizeof(c->spec), "%s,%s=%s/conf.img",
			 ct->spec, ct->image_key, c->dir);
	else
		snprintf(c->spec, sizeof(c->spec), "%s", ct->spec);
	make_image(c);
	c->host = conf_host_find(ct->type);
	if (c->host) {
		snprintf(path, sizeof(path), "%s/conf.img", c->dir);
		assert_int_equal(c->host->prepare(c, path), 0);
	}
	c->tb = vmsg_testbus_new(REGION_SIZE, VIRTIO_MSG_DEFAULT_SIZE);
	assert_non_null(c->tb);
	add_device(c);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct conf *c = *state;
	char path[128];

	testdrv_free(c->d);
	vmsg_testbus_free(c->tb);
	if (c->host)
		c->host->cleanup(c);
	snprintf(path, sizeof(path), "%s/conf.img", c->dir);
	unlink(path);
	rmdir(c->dir);
	free(c);
	return 0;
}

/* --- helpers -------------------------------------------------------------- */

static struct vmsg_dev *conf_dev(struct conf *c)
{
	struct vmsg_dev *dev = vmsg_bus_dev(&c->tb->bus, c->dev_num);

	if (!dev) {
		fail_msg("device %d is gone", c->dev_num);
		abort();	/* not reached: fail_msg() does not return */
	}
	return dev;
}

static uint32_t get_status(struct conf *c)
{
	uint32_t status;

	assert_int_equal(testdrv_get_status(c->d, &status), 0);
	return status;
}

static void smoke_add(struct conf *c, struct smoke *s)
{
	assert_int_equal(c->ct->add(c, s), 0);
}

/* Wait for s to come back and check it. */
static void smoke_wait(struct conf *c, const struct smoke *s)
{
	uint32_t id, len;

	/* An EVENT_USED may be left over from a buffer taken earlier. */
	while (!testdrv_ring_has_used(&c->d->vqs[0]))
		assert_int_equal(testdrv_wait_used(c->d, 0, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(c->d, 0, &id, &len), 1);
	assert_int_equal(id, (uint32_t)s->head);
	c->ct->check(c, s, len);
}

/* A full init and one request answered. */
static void smoke(struct conf *c)
{
	struct smoke s;

	assert_int_equal(testdrv_init(c->d, TESTDRV_FEATURES_ALL, 0), 0);
	smoke_add(c, &s);
	assert_int_equal(testdrv_kick(c->d, 0), 0);
	smoke_wait(c, &s);
	assert_false(get_status(c) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void run_loop(struct conf *c, int ms)
{
	int i;

	for (i = 0; i < ms; i++)
		vmsg_loop_run_once(c->tb->loop, 1);
}

static bool poisoned(struct conf *c, uint64_t addr, uint32_t len)
{
	const uint8_t *p = testdrv_buf(c->d, addr, len);
	uint32_t i;

	for (i = 0; i < len; i++)
		if (p[i] != POISON)
			return false;
	return true;
}

/* --- the suite ------------------------------------------------------------ */

static void test_every_type_covered(void **state)
{
	unsigned int i;

	assert_non_null(vmsg_dev_types[0]);
	for (i = 0; vmsg_dev_types[i]; i++) {
		if (!conf_type_find(vmsg_dev_types[i]->type))
			fail_msg("device type '%s' has no conformance entry",
				 vmsg_dev_types[i]->type);
		assert_ptr_equal(vmsg_dev_type_find(vmsg_dev_types[i]->type),
				 vmsg_dev_types[i]);
	}
	assert_null(vmsg_dev_type_find("no-such-type"));
	assert_null(vmsg_dev_type_find(""));
}

static void test_create_destroy(void **state)
{
	struct conf *c = *state;
	struct vmsg_dev *dev;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		dev = conf_dev(c);
		assert_ptr_equal(dev->ops, c->ops);
		assert_int_equal(testdrv_get_info(c->d), 0);
		assert_int_equal(c->d->device_id, c->ops->device_id);
		assert_int_equal(c->d->max_vqs, dev->num_queues);
		assert_true(dev->num_queues >= 1);
		assert_int_equal(c->d->config_size, dev->config_size);
		assert_int_equal(get_status(c), 0);
		remove_device(c);
		assert_null(vmsg_bus_dev(&c->tb->bus, c->dev_num));
		add_device(c);
	}
	smoke(c);
}

enum conf_state {
	ST_ACK,
	ST_DRIVER,
	ST_FEATURES_OK,
	ST_QUEUES,
	ST_DRIVER_OK,
	ST_IN_FLIGHT,
	ST_NR
};

/* Walk the init sequence up to state st. */
static void go_to(struct conf *c, enum conf_state st, struct smoke *s)
{
	uint32_t status = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	unsigned int i;

	assert_int_equal(testdrv_get_info(c->d), 0);
	assert_int_equal(testdrv_set_status(c->d, status), 0);
	if (st == ST_ACK)
		return;
	status |= VIRTIO_CONFIG_S_DRIVER;
	assert_int_equal(testdrv_set_status(c->d, status), 0);
	if (st == ST_DRIVER)
		return;
	assert_int_equal(testdrv_get_features(c->d), 0);
	assert_int_equal(testdrv_set_features(c->d, c->d->device_features), 0);
	assert_int_equal(testdrv_features_ok(c->d), 0);
	if (st == ST_FEATURES_OK)
		return;
	for (i = 0; i < c->d->max_vqs && i < TESTDRV_MAX_VQS; i++)
		assert_int_equal(testdrv_setup_vq(c->d, i, 0), 0);
	if (st == ST_QUEUES)
		return;
	assert_int_equal(testdrv_driver_ok(c->d), 0);
	if (st == ST_DRIVER_OK)
		return;
	for (i = 0; i < 4; i++)
		smoke_add(c, &s[i]);
	/* Kicked but the loop never ran: completions may be pending. */
	assert_int_equal(testdrv_kick(c->d, 0), 0);
}

static void test_reset_every_state(void **state)
{
	struct conf *c = *state;
	struct smoke s[4];
	uint16_t used_idx;
	unsigned int st, i;

	for (st = 0; st < ST_NR; st++) {
		go_to(c, st, s);
		assert_int_equal(testdrv_set_status(c->d, 0), 0);
		assert_int_equal(get_status(c), 0);
		if (st == ST_IN_FLIGHT) {
			/* After reset nothing may write into the region. */
			used_idx = le16toh(c->d->vqs[0].used->idx);
			for (i = 0; i < 4; i++)
				memset(testdrv_buf(c->d, s[i].data, SMOKE_LEN),
				       POISON, SMOKE_LEN);
			run_loop(c, 30);
			assert_int_equal(le16toh(c->d->vqs[0].used->idx),
					 used_idx);
			for (i = 0; i < 4; i++)
				assert_true(poisoned(c, s[i].data, SMOKE_LEN));
		}
		assert_int_equal(testdrv_reset(c->d), 0);
		smoke(c);
		assert_int_equal(testdrv_reset(c->d), 0);
	}
}

/* One raw GET_CONFIG; returns the response's length field. */
static uint32_t get_config_raw(struct conf *c, uint32_t off, uint32_t len,
			       uint8_t *data, uint32_t *gen)
{
	struct virtio_msg_get_config_req req = { htole32(off), htole32(len) };
	uint8_t buf[VIRTIO_MSG_MAX_SIZE];
	struct virtio_msg_get_config_resp *r = (void *)buf;
	size_t rlen = sizeof(buf);
	uint32_t got;

	assert_int_equal(testdrv_call(c->d, VIRTIO_MSG_GET_CONFIG, &req,
				      sizeof(req), buf, &rlen), 0);
	assert_true(rlen >= sizeof(*r));
	assert_int_equal(le32toh(r->offset), off);
	got = le32toh(r->length);
	assert_int_equal(rlen, sizeof(*r) + got);
	memcpy(data, r->data, got);
	*gen = le32toh(r->generation);
	return got;
}

/* Is [off, off + len) a read the device must serve in one message? */
static bool config_read_ok(uint32_t size, uint32_t chunk, uint64_t off,
			   uint64_t len)
{
	return off + len <= size && len <= chunk;
}

static void check_config_read(struct conf *c, const uint8_t *ref,
			      uint32_t size, uint32_t off, uint32_t len)
{
	uint32_t chunk = VIRTIO_MSG_PAYLOAD_MAX(c->tb->bus.max_msg_size) -
			 sizeof(struct virtio_msg_get_config_resp);
	uint8_t data[VIRTIO_MSG_MAX_SIZE];
	uint32_t got, gen;

	got = get_config_raw(c, off, len, data, &gen);
	if (!config_read_ok(size, chunk, off, len)) {
		assert_int_equal(got, 0);
		return;
	}
	assert_int_equal(got, len);
	assert_memory_equal(data, ref + off, len);
}

static void test_config_edges(void **state)
{
	struct conf *c = *state;
	uint32_t chunk = VIRTIO_MSG_PAYLOAD_MAX(c->tb->bus.max_msg_size) -
			 sizeof(struct virtio_msg_get_config_resp);
	const uint32_t lens[] = { 0, 1, 2, 3, 4, 8, chunk, chunk + 1 };
	uint32_t size, off, i;
	uint8_t *ref;

	assert_int_equal(testdrv_init(c->d, TESTDRV_FEATURES_ALL, 0), 0);
	size = c->d->config_size;
	ref = calloc(1, size + 1);
	assert_non_null(ref);
	assert_int_equal(testdrv_config_read(c->d, 0, ref, size), 0);
	for (off = 0; off <= size + 1; off++) {
		for (i = 0; i < ARRAY_SIZE(lens); i++)
			check_config_read(c, ref, size, off, lens[i]);
		check_config_read(c, ref, size, off, size - off);
		check_config_read(c, ref, size, off, size - off + 1);
	}
	check_config_read(c, ref, size, UINT32_MAX, 1);
	check_config_read(c, ref, size, 1, UINT32_MAX);
	check_config_read(c, ref, size, UINT32_MAX, UINT32_MAX);
	free(ref);
	assert_false(get_status(c) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* SET_CONFIG out of range or at a stale generation: length 0. */
static void set_config_rejected(struct conf *c, uint32_t gen, uint32_t off,
				uint32_t len)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE];
	struct virtio_msg_set_config_req *req = (void *)buf;
	struct virtio_msg_set_config_resp resp;
	size_t rlen = sizeof(resp);

	memset(buf, 0, sizeof(buf));
	req->generation = htole32(gen);
	req->offset = htole32(off);
	req->length = htole32(len);
	assert_int_equal(testdrv_call(c->d, VIRTIO_MSG_SET_CONFIG, buf,
				      sizeof(*req) + len, &resp, &rlen), 0);
	assert_int_equal(le32toh(resp.length), 0);
}

static void test_config_write_rejected(void **state)
{
	struct conf *c = *state;
	uint8_t buf[VIRTIO_MSG_MAX_SIZE];
	uint32_t size, gen;

	assert_int_equal(testdrv_init(c->d, TESTDRV_FEATURES_ALL, 0), 0);
	size = c->d->config_size;
	get_config_raw(c, 0, 0, buf, &gen);
	set_config_rejected(c, gen, size, 1);		/* past the end */
	set_config_rejected(c, gen, UINT32_MAX, 4);	/* wraps */
	set_config_rejected(c, gen + 1, 0, 1);		/* stale generation */
	assert_false(get_status(c) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(testdrv_reset(c->d), 0);
	smoke(c);
}

static void set_features_raw(struct conf *c, uint32_t first, uint32_t n,
			     uint32_t val)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE];
	struct virtio_msg_set_driver_features_req *req = (void *)buf;
	size_t rlen = 0;
	uint32_t i;

	req->block_index = htole32(first);
	req->num_blocks = htole32(n);
	for (i = 0; i < n; i++)
		req->features[i] = htole32(val);
	assert_int_equal(testdrv_call(c->d, VIRTIO_MSG_SET_DRIVER_FEATURES,
				      buf, sizeof(*req) + 4 * n, NULL, &rlen),
			 0);
}

/* Block `block` of the device's features. */
static uint32_t get_features_raw(struct conf *c, uint32_t block)
{
	struct virtio_msg_get_device_features_req req = { htole32(block),
							  htole32(1) };
	uint8_t buf[VIRTIO_MSG_MAX_SIZE];
	struct virtio_msg_get_device_features_resp *r = (void *)buf;
	size_t rlen = sizeof(buf);

	assert_int_equal(testdrv_call(c->d, VIRTIO_MSG_GET_DEVICE_FEATURES,
				      &req, sizeof(req), buf, &rlen), 0);
	assert_int_equal(rlen, sizeof(*r) + 4);
	assert_int_equal(le32toh(r->block_index), block);
	return le32toh(r->features[0]);
}

static void test_features_masked(void **state)
{
	struct conf *c = *state;
	struct vmsg_dev *dev = conf_dev(c);
	unsigned int bit;

	assert_int_equal(testdrv_get_info(c->d), 0);
	assert_int_equal(testdrv_get_features(c->d), 0);
	/* Every bit the model offers reaches the driver; none past 63. */
	assert_int_equal(c->d->device_features & dev->device_features,
			 dev->device_features);
	assert_int_equal(get_features_raw(c, 2), 0);
	assert_int_equal(get_features_raw(c, 3), 0);
	assert_int_equal(get_features_raw(c, UINT32_MAX), 0);
	assert_int_equal(testdrv_set_status(c->d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
						  VIRTIO_CONFIG_S_DRIVER),
			 0);
	set_features_raw(c, 0, 4, UINT32_MAX);
	assert_int_equal(dev->driver_features, c->d->device_features);
	for (bit = 0; bit < 64; bit++)
		if (!(c->d->device_features & (1ULL << bit)))
			assert_false(vmsg_dev_has_feature(dev, bit));
	assert_int_equal(testdrv_set_status(c->d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
						  VIRTIO_CONFIG_S_DRIVER |
						  VIRTIO_CONFIG_S_FEATURES_OK),
			 0);
	assert_true(get_status(c) & VIRTIO_CONFIG_S_FEATURES_OK);
	/* Frozen after FEATURES_OK. */
	set_features_raw(c, 0, 2, 0);
	assert_int_equal(dev->driver_features, c->d->device_features);
	assert_int_equal(testdrv_reset(c->d), 0);
	smoke(c);
}

static void test_kick_before_driver_ok(void **state)
{
	struct conf *c = *state;
	struct virtio_msg_event_avail ev = { 0 };
	struct smoke s;

	go_to(c, ST_QUEUES, NULL);
	smoke_add(c, &s);
	assert_int_equal(testdrv_kick(c->d, 0), 0);
	run_loop(c, 30);
	assert_false(testdrv_ring_has_used(&c->d->vqs[0]));
	assert_int_equal(vmsg_testbus_pending(c->tb), 0);
	assert_true(poisoned(c, s.data, SMOKE_LEN));
	/* DRIVER_OK: the device looks at what is already there. */
	assert_int_equal(testdrv_driver_ok(c->d), 0);
	smoke_wait(c, &s);
	/* Kicks for queues that do not exist are ignored. */
	ev.vq_index = htole32(conf_dev(c)->num_queues);
	assert_int_equal(vmsg_testbus_event(c->tb, VIRTIO_MSG_EVENT_AVAIL,
					    (uint16_t)c->dev_num, &ev,
					    sizeof(ev)), 0);
	ev.vq_index = htole32(UINT32_MAX);
	assert_int_equal(vmsg_testbus_event(c->tb, VIRTIO_MSG_EVENT_AVAIL,
					    (uint16_t)c->dev_num, &ev,
					    sizeof(ev)), 0);
	assert_false(get_status(c) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void set_vqueue_raw(struct conf *c, uint32_t index, uint32_t size,
			   uint64_t desc, uint64_t drv, uint64_t devaddr)
{
	struct virtio_msg_set_vqueue_req req = {
		.index = htole32(index),
		.size = htole32(size),
		.desc_addr = htole64(desc),
		.driver_addr = htole64(drv),
		.device_addr = htole64(devaddr),
	};
	size_t rlen = 0;

	assert_int_equal(testdrv_call(c->d, VIRTIO_MSG_SET_VQUEUE, &req,
				      sizeof(req), NULL, &rlen), 0);
}

static uint32_t vq_max(struct conf *c, uint32_t index, uint32_t *cur)
{
	struct virtio_msg_get_vqueue_req req = { htole32(index) };
	struct virtio_msg_get_vqueue_resp resp;
	size_t rlen = sizeof(resp);

	assert_int_equal(testdrv_call(c->d, VIRTIO_MSG_GET_VQUEUE, &req,
				      sizeof(req), &resp, &rlen), 0);
	assert_int_equal(rlen, sizeof(resp));
	assert_int_equal(le32toh(resp.index), index);
	*cur = le32toh(resp.cur_size);
	return le32toh(resp.max_size);
}

static void test_bad_queue(void **state)
{
	struct conf *c = *state;
	uint32_t nq = conf_dev(c)->num_queues, max, cur;
	uint64_t base = 1024 * 1024, end = REGION_SIZE;
	const uint64_t bad[][4] = {
		/* size, desc, avail, used */
		{ 0, base, base + 0x8000, base + 0x10000 },
		{ 3, base, base + 0x8000, base + 0x10000 },
		{ 2 * VMSG_VQ_MAX_SIZE, base, base + 0x8000, base + 0x10000 },
		{ 4, base + 8, base + 0x8000, base + 0x10000 },
		{ 4, base, base + 1, base + 0x10000 },
		{ 4, base, base + 0x8000, base + 0x10002 },
		{ 4, 0, base + 0x8000, base + 0x10000 },
		{ 4, end - 16, base + 0x8000, base + 0x10000 },
		{ 4, base, end, base + 0x10000 },
		{ 4, base, base + 0x8000, UINT64_MAX - 3 },
	};
	unsigned int i;

	assert_int_equal(vq_max(c, nq, &cur), 0);
	assert_int_equal(vq_max(c, UINT32_MAX, &cur), 0);
	max = vq_max(c, 0, &cur);
	assert_true(max >= 1 && max <= VMSG_VQ_MAX_SIZE);
	assert_int_equal(cur, 0);
	/* Before FEATURES_OK: ignored. */
	set_vqueue_raw(c, 0, 4, base, base + 0x8000, base + 0x10000);
	vq_max(c, 0, &cur);
	assert_int_equal(cur, 0);
	go_to(c, ST_FEATURES_OK, NULL);
	set_vqueue_raw(c, nq, 4, base, base + 0x8000, base + 0x10000);
	set_vqueue_raw(c, UINT32_MAX, 4, base, base + 0x8000, base + 0x10000);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		set_vqueue_raw(c, 0, (uint32_t)bad[i][0], bad[i][1],
			       bad[i][2], bad[i][3]);
		vq_max(c, 0, &cur);
		if (cur)
			fail_msg("bad SET_VQUEUE #%u accepted", i);
	}
	if (max < 2 * VMSG_VQ_MAX_SIZE) {
		set_vqueue_raw(c, 0, max * 2, base, base + 0x8000,
			       base + 0x10000);
		vq_max(c, 0, &cur);
		assert_int_equal(cur, 0);
	}
	assert_false(get_status(c) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(testdrv_reset(c->d), 0);
	smoke(c);
}

/* Destroyed with requests in flight: no crash, no leak (ASan). */
static void test_destroy_in_flight(void **state)
{
	struct conf *c = *state;
	struct smoke s[8];
	unsigned int round, i;

	for (round = 0; round < 2; round++) {
		assert_int_equal(testdrv_init(c->d, TESTDRV_FEATURES_ALL, 0),
				 0);
		for (i = 0; i < 8; i++)
			smoke_add(c, &s[i]);
		assert_int_equal(testdrv_kick(c->d, 0), 0);
		remove_device(c);
		add_device(c);
	}
	smoke(c);
	/* And once more left for the bus to destroy at teardown. */
	for (i = 0; i < 8; i++)
		smoke_add(c, &s[i]);
	assert_int_equal(testdrv_kick(c->d, 0), 0);
}

/* One hostile kind: 1 exercised, 0 not buildable on this ring. */
static int hostile_once(struct conf *c, uint64_t features,
			enum testdrv_hostile kind)
{
	int ret;

	assert_int_equal(testdrv_init(c->d, features, 0), 0);
	c->d->config_events = 0;
	ret = testdrv_hostile(c->d, 0, kind);
	if (ret == -EINVAL) {
		assert_int_equal(testdrv_reset(c->d), 0);
		return 0;
	}
	if (ret)
		fail_msg("%s: %d", testdrv_hostile_name(kind), ret);
	if (testdrv_wait_needs_reset(c->d, TIMEOUT_MS))
		fail_msg("%s: no NEEDS_RESET", testdrv_hostile_name(kind));
	assert_true(c->d->config_events >= 1);
	assert_true(get_status(c) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(testdrv_reset(c->d), 0);
	smoke(c);
	assert_int_equal(testdrv_reset(c->d), 0);
	return 1;
}

static void test_hostile_ring(void **state)
{
	struct conf *c = *state;
	uint64_t no_ind = ~(1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	unsigned int kind, done;

	for (kind = 0; kind < TESTDRV_BAD_NR; kind++) {
		done = hostile_once(c, TESTDRV_FEATURES_ALL, kind);
		done += hostile_once(c, no_ind, kind);
		if (!done)
			fail_msg("%s could not be built",
				 testdrv_hostile_name(kind));
	}
}

/* --- one cmocka test per (check, device type) ----------------------------- */

struct conf_check {
	const char *name;
	CMUnitTestFunction fn;
};

static const struct conf_check checks[] = {
	{ "create_destroy", test_create_destroy },
	{ "reset_every_state", test_reset_every_state },
	{ "config_edges", test_config_edges },
	{ "config_write_rejected", test_config_write_rejected },
	{ "features_masked", test_features_masked },
	{ "kick_before_driver_ok", test_kick_before_driver_ok },
	{ "bad_queue", test_bad_queue },
	{ "destroy_in_flight", test_destroy_in_flight },
	{ "hostile_ring", test_hostile_ring },
};

#define NR_CHECKS	ARRAY_SIZE(checks)

int main(void)
{
	struct CMUnitTest *tests;
	unsigned int n = 0, i, j;
	char (*names)[64];
	int ret;

	tests = calloc(1 + NR_CHECKS * NR_CONF_TYPES, sizeof(*tests));
	names = calloc(NR_CHECKS * NR_CONF_TYPES, sizeof(*names));
	if (!tests || !names)
		return 1;
	tests[n++] = (struct CMUnitTest){
		.name = "every_type_covered",
		.test_func = test_every_type_covered,
	};
	for (i = 0; vmsg_dev_types[i]; i++) {
		const struct conf_type *ct =
			conf_type_find(vmsg_dev_types[i]->type);

		if (!ct)
			continue;	/* test_every_type_covered fails */
		for (j = 0; j < NR_CHECKS; j++) {
			snprintf(names[n - 1], sizeof(names[0]), "%s: %s",
				 ct->type, checks[j].name);
			tests[n] = (struct CMUnitTest){
				.name = names[n - 1],
				.test_func = checks[j].fn,
				.setup_func = setup,
				.teardown_func = teardown,
				.initial_state = (void *)(uintptr_t)ct,
			};
			n++;
		}
	}
	ret = _cmocka_run_group_tests("conformance", tests, n, NULL, NULL);
	free(names);
	free(tests);
	return ret;
}
