// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net model (backend/dev-net.c) against real taps, driven through
 * the unit-test bus by the test driver. The test process moves into a
 * network namespace of its own first (it needs CAP_NET_ADMIN, as vmsgd
 * does), so its taps never meet the host's; IPv6 is off there, so nothing
 * but the test's own frames crosses a tap. The far side of each tap is an
 * AF_PACKET socket: frames it sends reach the guest's receive queue, and
 * frames the guest transmits arrive on it.
 *
 * Covered: config and features, spec errors, creating and attaching taps,
 * receive into one buffer, across mergeable buffers, a frame waiting for
 * more buffers, drops without mergeable buffers, no polling (and no
 * spinning) without buffers, the per-callback budget, frames dropped at
 * reset, transmit (split chains, a TSO frame, frames the tap refuses),
 * offloads reaching the tap, malformed chains and a deleted tap failing
 * the device. The suite every device passes is in test_conformance.c.
 *
 * Not covered: a tap write returning EAGAIN. A tap's socket accepts a
 * frame whenever nothing of ours is still queued in the kernel, and the
 * kernel hands frames on before write() returns, so no test here can make
 * it happen on demand.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
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

#include <arpa/inet.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "bus.h"
#include "device.h"
#include "loop.h"
#include "../lib/testbus.h"
#include "../lib/testdrv.h"
#include "../lib/testnet.h"

#define REGION_SIZE	(8 * 1024 * 1024)
#define TIMEOUT_MS	3000
#define TAP		"vmsgt0"
#define HDR_LEN		sizeof(struct virtio_net_hdr_mrg_rxbuf)
#define ETH_TYPE_TEST	0x88b5		/* IEEE local experimental */
#define BUDGET		64	/* the model's frames per callback */
#define FRAME_MAX	(64 * 1024 + 64)
#define RXQ		0
#define TXQ		1
#define MAX_BUFS	256
#define BIT(n)		(1ULL << (n))
#define ALL_BUT(n)	(TESTDRV_FEATURES_ALL & ~BIT(n))

struct rxbuf {
	uint64_t addr;
	uint32_t len;
	int head;
};

struct net_test {
	struct vmsg_testbus *tb;
	struct testdrv *d;
	int dev_num;
	char ifname[IFNAMSIZ];
	int ps;				/* AF_PACKET socket on the tap */
	struct rxbuf rx[MAX_BUFS];	/* receive buffers, by head */
};

/* --- the host side of the tap --------------------------------------------- */

static void set_mtu(const char *name, int mtu)
{
	struct ifreq ifr = { .ifr_mtu = mtu };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(s, SIOCSIFMTU, &ifr), 0);
	close(s);
}

/* An ethtool "get" of one legacy feature flag (ETHTOOL_GTSO...). */
static uint32_t tap_feature(const char *name, uint32_t cmd)
{
	struct ethtool_value ev = { .cmd = cmd };
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ev;
	assert_int_equal(ioctl(s, SIOCETHTOOL, &ifr), 0);
	close(s);
	return ev.data;
}

/* Bring the tap up and open a packet socket on it. */
static void tap_attach(struct net_test *t, const char *name)
{
	snprintf(t->ifname, sizeof(t->ifname), "%s", name);
	t->ps = testnet_tap_socket(name);
	assert_true(t->ps >= 0);
}

/* A test frame: broadcast, our ethertype, then bytes from seq. */
static void make_frame(uint8_t *f, size_t len, unsigned int seq)
{
	size_t i;

	memset(f, 0xff, 6);
	memset(f + 6, 0x02, 6);
	f[12] = ETH_TYPE_TEST >> 8;
	f[13] = ETH_TYPE_TEST & 0xff;
	for (i = 14; i < len; i++)
		f[i] = (uint8_t)(seq * 31 + i);
}

/* Send a frame into the tap: the device reads it. */
static void inject(struct net_test *t, size_t len, unsigned int seq)
{
	uint8_t *f = malloc(len);

	assert_non_null(f);
	make_frame(f, len, seq);
	assert_int_equal(send(t->ps, f, len, 0), (ssize_t)len);
	free(f);
}

/*
 * Let frames sent into the tap reach its queue: the sender's qdisc may
 * hand the last of a burst on from a softirq a little later.
 */
static void settle(void)
{
	usleep(50 * 1000);
}

/* The next frame the guest transmitted (not one we sent). Its length. */
static ssize_t recv_tx(struct net_test *t, uint8_t *buf, size_t len,
		       int timeout_ms)
{
	struct pollfd p = { .fd = t->ps, .events = POLLIN };
	struct sockaddr_ll from;
	socklen_t fl;
	ssize_t n;

	for (;;) {
		if (poll(&p, 1, timeout_ms) != 1)
			return -ETIMEDOUT;
		fl = sizeof(from);
		n = recvfrom(t->ps, buf, len, MSG_TRUNC,
			     (struct sockaddr *)&from, &fl);
		assert_true(n >= 0);
		if (from.sll_pkttype != PACKET_OUTGOING)
			return n;
	}
}

/* Delete a link through rtnetlink, as `ip link del` does. */
static void link_delete(const char *name)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_DELLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	assert_true(s >= 0);
	req.ifi.ifi_index = (int)if_nametoindex(name);
	assert_true(req.ifi.ifi_index > 0);
	assert_int_equal(send(s, &req, sizeof(req), 0), sizeof(req));
	assert_true(recv(s, &ack, sizeof(ack), 0) >= (ssize_t)sizeof(ack));
	assert_int_equal(ack.nh.nlmsg_type, NLMSG_ERROR);
	assert_int_equal(ack.err.error, 0);
	close(s);
}

/* Create or drop a persistent tap, as `ip tuntap add/del` do. */
static void persistent_tap(const char *name, int persist)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, persist), 0);
	close(fd);
}

/* --- fixture -------------------------------------------------------------- */

static int setup(void **state)
{
	struct net_test *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->ps = -1;
	t->tb = vmsg_testbus_new(REGION_SIZE, VIRTIO_MSG_DEFAULT_SIZE);
	if (!t->tb) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct net_test *t = *state;

	if (t->ps >= 0)
		close(t->ps);
	testdrv_free(t->d);
	vmsg_testbus_free(t->tb);
	free(t);
	return 0;
}

static int add_dev(struct net_test *t, const char *spec, char *err)
{
	err[0] = 0;
	return vmsg_bus_add_device(&t->tb->bus, spec, 0, err, VMSG_ERR_LEN);
}

/* Create the device on tap name and a driver; don't start it yet. */
static void create(struct net_test *t, const char *opts)
{
	char spec[128], err[VMSG_ERR_LEN];

	snprintf(spec, sizeof(spec), "net,tap=%s%s", TAP, opts);
	t->dev_num = add_dev(t, spec, err);
	if (t->dev_num <= 0)
		fail_msg("%s: %s", spec, err);
	t->d = testdrv_new(t->tb, (uint16_t)t->dev_num);
	assert_non_null(t->d);
	tap_attach(t, TAP);
}

static void run_loop(struct net_test *t, int ms)
{
	int i;

	for (i = 0; i < ms; i++)
		vmsg_loop_run_once(t->tb->loop, 1);
}

/*
 * Create, initialise, and let the loop apply the tap's offloads (deferred
 * by the model after DRIVER_OK).
 */
static void start(struct net_test *t, uint64_t features)
{
	create(t, "");
	assert_int_equal(testdrv_init(t->d, features, 0), 0);
	run_loop(t, 10);
}

static struct vmsg_dev *net_dev(struct net_test *t)
{
	struct vmsg_dev *dev = vmsg_bus_dev(&t->tb->bus, t->dev_num);

	assert_non_null(dev);
	return dev;
}

static bool device_failed(struct net_test *t)
{
	uint32_t status;

	assert_int_equal(testdrv_get_status(t->d, &status), 0);
	return status & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* --- driver-side buffers -------------------------------------------------- */

/* Post n receive buffers of len bytes each (not kicked). */
static void post_rx(struct net_test *t, unsigned int n, uint32_t len)
{
	struct testdrv_sg sg;
	unsigned int i;
	int head;

	for (i = 0; i < n; i++) {
		sg.addr = testdrv_alloc_buf(t->d, len);
		sg.len = len;
		assert_int_not_equal(sg.addr, 0);
		memset(testdrv_buf(t->d, sg.addr, len), 0x5a, len);
		head = testdrv_add(t->d, RXQ, &sg, 0, 1, false);
		assert_true(head >= 0 && head < MAX_BUFS);
		t->rx[head] = (struct rxbuf){ sg.addr, len, head };
	}
}

/* Take one used buffer of queue vq, waiting for it. */
static void get_used(struct net_test *t, unsigned int vq, uint32_t *id,
		     uint32_t *len)
{
	while (!testdrv_ring_has_used(&t->d->vqs[vq]))
		assert_int_equal(testdrv_wait_used(t->d, vq, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(t->d, vq, id, len), 1);
}

/*
 * Receive one frame: gather the used buffers it spans into out (header
 * first). Returns its length; *nbuf gets the number of buffers.
 */
static size_t recv_frame(struct net_test *t, uint8_t *out, size_t room,
			 unsigned int *nbuf)
{
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint32_t id, len;
	size_t got = 0;
	unsigned int i = 0, n = 1;

	do {
		get_used(t, RXQ, &id, &len);
		assert_true(id < MAX_BUFS && len <= t->rx[id].len);
		assert_true(got + len <= room);
		memcpy(out + got, testdrv_buf(t->d, t->rx[id].addr, len), len);
		got += len;
		if (!i) {
			assert_true(len >= HDR_LEN);
			memcpy(&hdr, out, sizeof(hdr));
			n = le16toh(hdr.num_buffers);
			assert_true(n >= 1);
		}
	} while (++i < n);
	*nbuf = n;
	return got;
}

/* Expect the next received frame to be frame seq of len bytes. */
static void expect_frame(struct net_test *t, size_t len, unsigned int seq,
			 unsigned int nbuf)
{
	uint8_t *got = malloc(HDR_LEN + FRAME_MAX), *want = malloc(len);
	unsigned int n;

	assert_non_null(got);
	assert_non_null(want);
	make_frame(want, len, seq);
	assert_int_equal(recv_frame(t, got, HDR_LEN + FRAME_MAX, &n),
			 HDR_LEN + len);
	if (nbuf)
		assert_int_equal(n, nbuf);
	assert_memory_equal(got + HDR_LEN, want, len);
	free(got);
	free(want);
}

static uint16_t used_idx(struct net_test *t, unsigned int vq)
{
	return le16toh(__atomic_load_n(&t->d->vqs[vq].used->idx,
				       __ATOMIC_ACQUIRE));
}

/* Transmit one frame: header + frame, split into nsplit descriptors. */
static int tx_add(struct net_test *t, const struct virtio_net_hdr_v1 *hdr,
		  const uint8_t *frame, size_t len, unsigned int nsplit)
{
	struct testdrv_sg sg[4];
	uint64_t addr = testdrv_alloc_buf(t->d, HDR_LEN + len);
	uint8_t *p = testdrv_buf(t->d, addr, HDR_LEN + len);
	uint64_t total = HDR_LEN + len, off = 0;
	unsigned int i;

	assert_non_null(p);
	memcpy(p, hdr, HDR_LEN);
	memcpy(p + HDR_LEN, frame, len);
	for (i = 0; i < nsplit; i++) {
		sg[i].addr = addr + off;
		sg[i].len = (uint32_t)(i + 1 < nsplit ? total / nsplit :
						      total - off);
		off += sg[i].len;
	}
	return testdrv_add(t->d, TXQ, sg, nsplit, 0, false);
}

/* --- config, spec --------------------------------------------------------- */

static void test_config(void **state)
{
	struct net_test *t = *state;
	struct virtio_net_config cfg;
	const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	uint64_t want = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
			BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CSUM) |
			BIT(VIRTIO_NET_F_GUEST_CSUM) |
			BIT(VIRTIO_NET_F_HOST_TSO4) |
			BIT(VIRTIO_NET_F_GUEST_TSO4);

	create(t, ",mac=52:54:00:12:34:56");
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
	assert_int_equal(t->d->device_id, VIRTIO_ID_NET);
	assert_int_equal(t->d->max_vqs, 2);
	assert_int_equal(t->d->config_size,
			 offsetof(struct virtio_net_config, mtu));
	assert_int_equal(t->d->device_features & want, want);
	/* Nothing the model does not implement. */
	assert_false(t->d->device_features &
		     (BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_MQ) |
		      BIT(VIRTIO_NET_F_GUEST_UFO) |
		      BIT(VIRTIO_NET_F_HOST_UFO)));
	assert_int_equal(testdrv_config_read(t->d, 0, &cfg,
					     t->d->config_size), 0);
	assert_memory_equal(cfg.mac, mac, 6);
	assert_int_equal(le16toh(cfg.status), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(le16toh(cfg.max_virtqueue_pairs), 1);
	/* Read-only: virtio 1.x drivers do not write net config. */
	assert_int_equal(testdrv_config_write(t->d, 0, mac, 6), -EINVAL);
}

static void expect_spec_error(struct net_test *t, const char *spec,
			      const char *needle)
{
	char err[VMSG_ERR_LEN];

	assert_true(add_dev(t, spec, err) < 0);
	if (!strstr(err, needle))
		fail_msg("%s: error '%s' does not name '%s'", spec, err,
			 needle);
}

static void test_spec_errors(void **state)
{
	struct net_test *t = *state;

	expect_spec_error(t, "net,mac=52:54:00:12:34", "mac=");
	expect_spec_error(t, "net,mac=52:54:00:12:34:5g", "mac=");
	expect_spec_error(t, "net,mac=52-54-00-12-34-56", "mac=");
	expect_spec_error(t, "net,mac=01:00:5e:00:00:01", "mac=");
	expect_spec_error(t, "net,mac=00:00:00:00:00:00", "mac=");
	expect_spec_error(t, "net,mac", "mac=");
	expect_spec_error(t, "net,tap=", "tap");
	expect_spec_error(t, "net,tap=sixteen-bytes-ab", "tap=");
	expect_spec_error(t, "net,tap=lo", "tap=lo");
	expect_spec_error(t, "net,tap=a/b", "tap=a/b");
	expect_spec_error(t, "net,bogus=1", "bogus");
	/* None of them left a tap behind. */
	assert_int_equal(if_nametoindex("sixteen-bytes-a"), 0);
}

/* Without tap= the kernel names a new tap, which goes with the device. */
static void test_default_tap(void **state)
{
	struct net_test *t = *state;
	struct virtio_net_config cfg;
	char err[VMSG_ERR_LEN];
	int a, b;

	a = add_dev(t, "net", err);
	b = add_dev(t, "net", err);
	assert_true(a > 0 && b > 0);
	assert_true(if_nametoindex("vmsg0") > 0);
	assert_true(if_nametoindex("vmsg1") > 0);
	t->d = testdrv_new(t->tb, (uint16_t)a);
	assert_non_null(t->d);
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
	assert_int_equal(testdrv_config_read(t->d, 0, &cfg, 6), 0);
	/* A random, locally administered unicast address. */
	assert_int_equal(cfg.mac[0] & 3, 2);
	vmsg_bus_destroy_device(&t->tb->bus, (uint16_t)a);
	vmsg_bus_destroy_device(&t->tb->bus, (uint16_t)b);
	assert_int_equal(if_nametoindex("vmsg0"), 0);
	assert_int_equal(if_nametoindex("vmsg1"), 0);
}

/* tap= names an existing persistent tap: attach to it, leave it there. */
static void test_attach_existing(void **state)
{
	struct net_test *t = *state;
	uint8_t buf[256], frame[100];

	persistent_tap(TAP, 1);
	start(t, TESTDRV_FEATURES_ALL);
	post_rx(t, 4, 2048);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	inject(t, 100, 1);
	expect_frame(t, 100, 1, 1);
	make_frame(frame, sizeof(frame), 2);
	assert_true(tx_add(t, &(struct virtio_net_hdr_v1){ 0 }, frame,
			   sizeof(frame), 1) >= 0);
	assert_int_equal(testdrv_kick(t->d, TXQ), 0);
	assert_int_equal(recv_tx(t, buf, sizeof(buf), TIMEOUT_MS),
			 sizeof(frame));
	assert_memory_equal(buf, frame, sizeof(frame));
	vmsg_bus_destroy_device(&t->tb->bus, (uint16_t)t->dev_num);
	assert_true(if_nametoindex(TAP) > 0);
	persistent_tap(TAP, 0);
	assert_int_equal(if_nametoindex(TAP), 0);
}

/* --- receive -------------------------------------------------------------- */

static void test_rx_frames(void **state)
{
	struct net_test *t = *state;
	unsigned int i;

	start(t, TESTDRV_FEATURES_ALL);
	post_rx(t, 16, 2048);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	for (i = 0; i < 8; i++)
		inject(t, 60 + i * 200, i);
	for (i = 0; i < 8; i++)
		expect_frame(t, 60 + i * 200, i, 1);
	assert_false(device_failed(t));
}

/* A frame larger than one buffer spans several, num_buffers says how many. */
static void test_rx_mergeable(void **state)
{
	struct net_test *t = *state;

	start(t, TESTDRV_FEATURES_ALL);
	post_rx(t, 3, 256);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	inject(t, 600, 7);		/* 12 + 600 = 256 + 256 + 100 */
	expect_frame(t, 600, 7, 3);
	/* A jumbo frame (the tap's MTU raised) across 30 buffers of 2 KiB. */
	set_mtu(TAP, 65521);	/* a tap's largest */
	post_rx(t, 40, 2048);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	inject(t, 60000, 8);
	expect_frame(t, 60000, 8, 30);
	inject(t, 1500, 9);
	expect_frame(t, 1500, 9, 1);
}

/*
 * A frame larger than the buffers the driver has posted waits for more
 * (the tap is not read meanwhile), then arrives whole.
 */
static void test_rx_waits_for_buffers(void **state)
{
	struct net_test *t = *state;
	int i;

	start(t, TESTDRV_FEATURES_ALL);
	post_rx(t, 1, 256);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	inject(t, 600, 3);
	inject(t, 100, 4);
	run_loop(t, 50);
	assert_int_equal(used_idx(t, RXQ), 0);
	/* Waiting is not spinning: the loop has nothing to do. */
	for (i = 0; i < 20; i++)
		assert_int_equal(vmsg_loop_run_once(t->tb->loop, 1), 0);
	post_rx(t, 3, 256);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	expect_frame(t, 600, 3, 3);
	expect_frame(t, 100, 4, 1);
	assert_false(device_failed(t));
}

/* Without mergeable buffers a frame that does not fit is dropped. */
static void test_rx_no_mrg(void **state)
{
	struct net_test *t = *state;

	start(t, ALL_BUT(VIRTIO_NET_F_MRG_RXBUF));
	post_rx(t, 1, 128);
	post_rx(t, 1, 2048);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	inject(t, 600, 1);		/* dropped: the first buffer is 128 */
	inject(t, 100, 2);		/* into the 128-byte buffer */
	inject(t, 600, 3);		/* into the 2 KiB one */
	expect_frame(t, 100, 2, 1);
	expect_frame(t, 600, 3, 1);
	assert_false(device_failed(t));
}

/*
 * No receive buffers: the tap is not polled, so the loop stays idle while
 * frames queue; buffers and a kick bring them in, in order.
 */
static void test_rx_no_buffers(void **state)
{
	struct net_test *t = *state;
	unsigned int i;

	start(t, TESTDRV_FEATURES_ALL);
	for (i = 0; i < 10; i++)
		inject(t, 64 + i, i);
	for (i = 0; i < 20; i++)
		assert_int_equal(vmsg_loop_run_once(t->tb->loop, 1), 0);
	post_rx(t, 10, 1024);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	for (i = 0; i < 10; i++)
		expect_frame(t, 64 + i, i, 1);
}

/* One kick or callback takes at most BUDGET frames; the loop does the rest. */
static void test_rx_budget(void **state)
{
	struct net_test *t = *state;
	unsigned int i;

	start(t, TESTDRV_FEATURES_ALL);
	for (i = 0; i < 100; i++)
		inject(t, 80, i);
	settle();
	post_rx(t, 128, 2048);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	assert_int_equal(used_idx(t, RXQ), BUDGET);
	assert_int_equal(vmsg_loop_run_once(t->tb->loop, 100), 1);
	assert_int_equal(used_idx(t, RXQ), 100);
	for (i = 0; i < 100; i++)
		expect_frame(t, 80, i, 1);
}

/*
 * Frames queued for a driver that reset are not handed to the next one
 * (without offloads, so the reset itself must drop them).
 */
static void test_rx_dropped_at_reset(void **state)
{
	struct net_test *t = *state;

	start(t, ALL_BUT(VIRTIO_NET_F_GUEST_CSUM));
	inject(t, 70, 1);
	inject(t, 70, 2);
	settle();
	assert_int_equal(testdrv_reset(t->d), 0);
	run_loop(t, 10);	/* the model drops them on the loop's turn */
	inject(t, 90, 3);
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
	post_rx(t, 4, 2048);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	expect_frame(t, 90, 3, 1);
	run_loop(t, 30);
	assert_false(testdrv_ring_has_used(&t->d->vqs[RXQ]));
}

/* --- transmit ------------------------------------------------------------- */

static void test_tx_frames(void **state)
{
	struct net_test *t = *state;
	struct virtio_net_hdr_v1 hdr = { 0 };
	uint8_t frame[1514], buf[2048];
	unsigned int i;
	uint32_t id, len;

	start(t, TESTDRV_FEATURES_ALL);
	for (i = 0; i < 4; i++) {
		make_frame(frame, 60 + i * 400, i);
		assert_true(tx_add(t, &hdr, frame, 60 + i * 400, i + 1) >= 0);
	}
	assert_int_equal(testdrv_kick(t->d, TXQ), 0);
	for (i = 0; i < 4; i++) {
		make_frame(frame, 60 + i * 400, i);
		assert_int_equal(recv_tx(t, buf, sizeof(buf), TIMEOUT_MS),
				 60 + i * 400);
		assert_memory_equal(buf, frame, 60 + i * 400);
		get_used(t, TXQ, &id, &len);
		assert_int_equal(len, 0);
	}
	assert_false(device_failed(t));
}

/* An IPv4/TCP frame of total bytes with a TSO header: gso_size mss. */
static size_t tso_frame(uint8_t *f, size_t total, struct virtio_net_hdr_v1 *h,
			uint16_t mss)
{
	uint16_t iplen = (uint16_t)(total - 14);

	make_frame(f, total, 9);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(f + 14, 0, 40);
	f[14] = 0x45;			/* IPv4, 20-byte header */
	f[16] = (uint8_t)(iplen >> 8);
	f[17] = (uint8_t)iplen;
	f[22] = 64;			/* ttl */
	f[23] = 6;			/* TCP */
	memcpy(f + 26, "\x0a\x63\x00\x01\x0a\x63\x00\x02", 8);
	f[46] = 0x50;			/* TCP data offset: 20 bytes */
	f[47] = 0x10;			/* ACK */
	memset(h, 0, sizeof(*h));
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h->hdr_len = htole16(54);
	h->gso_size = htole16(mss);
	h->csum_start = htole16(34);
	h->csum_offset = htole16(16);
	return total;
}

/*
 * Frames the tap refuses (a bad GSO type, an oversized chain) are dropped
 * and the device goes on; a TSO frame (HOST_TSO4) is accepted whole.
 */
static void test_tx_refused(void **state)
{
	struct net_test *t = *state;
	struct virtio_net_hdr_v1 hdr = { .gso_type = 0x77 };
	uint8_t *frame = malloc(FRAME_MAX + 2), *buf = malloc(FRAME_MAX);
	uint32_t id, len;
	unsigned int i;

	assert_non_null(frame);
	assert_non_null(buf);
	memset(frame, 0, FRAME_MAX + 2);
	start(t, TESTDRV_FEATURES_ALL);
	make_frame(frame, 200, 1);
	assert_true(tx_add(t, &hdr, frame, 200, 1) >= 0);
	assert_true(tx_add(t, &(struct virtio_net_hdr_v1){ 0 }, frame,
			   FRAME_MAX + 1, 2) >= 0);
	tso_frame(frame, 4054, &hdr, 1000);
	assert_true(tx_add(t, &hdr, frame, 4054, 2) >= 0);
	assert_int_equal(testdrv_kick(t->d, TXQ), 0);
	for (i = 0; i < 3; i++) {
		get_used(t, TXQ, &id, &len);
		assert_int_equal(len, 0);
	}
	/* Only the TSO frame went out, still as one large frame. */
	assert_int_equal(recv_tx(t, buf, FRAME_MAX, TIMEOUT_MS), 4054);
	assert_memory_equal(buf + 54, frame + 54, 4000);
	assert_int_equal(recv_tx(t, buf, FRAME_MAX, 100), -ETIMEDOUT);
	assert_false(device_failed(t));
	free(frame);
	free(buf);
}

/* --- offloads ------------------------------------------------------------- */

/* What the driver takes on receive is what the tap may hand over. */
static void test_offloads(void **state)
{
	struct net_test *t = *state;

	create(t, "");
	assert_int_equal(tap_feature(TAP, ETHTOOL_GTSO), 0);
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
	/* Not while answering DRIVER_OK (RTNL), on the loop's next turn. */
	assert_int_equal(tap_feature(TAP, ETHTOOL_GTSO), 0);
	run_loop(t, 10);
	assert_int_equal(tap_feature(TAP, ETHTOOL_GTXCSUM), 1);
	assert_int_equal(tap_feature(TAP, ETHTOOL_GTSO), 1);
	assert_int_equal(testdrv_reset(t->d), 0);
	run_loop(t, 10);
	assert_int_equal(tap_feature(TAP, ETHTOOL_GTXCSUM), 0);
	assert_int_equal(tap_feature(TAP, ETHTOOL_GTSO), 0);
	assert_int_equal(testdrv_init(t->d, ALL_BUT(VIRTIO_NET_F_GUEST_TSO4) &
				      ~BIT(VIRTIO_NET_F_GUEST_TSO6), 0), 0);
	run_loop(t, 10);
	assert_int_equal(tap_feature(TAP, ETHTOOL_GTXCSUM), 1);
	assert_int_equal(tap_feature(TAP, ETHTOOL_GTSO), 0);
	assert_int_equal(testdrv_reset(t->d), 0);
	/* GUEST_TSO4 without GUEST_CSUM (a driver breaking 5.1.3.1): none. */
	assert_int_equal(testdrv_init(t->d, ALL_BUT(VIRTIO_NET_F_GUEST_CSUM),
				      0), 0);
	run_loop(t, 10);
	assert_int_equal(tap_feature(TAP, ETHTOOL_GTXCSUM), 0);
	assert_int_equal(tap_feature(TAP, ETHTOOL_GTSO), 0);
}

/* --- a hostile driver, a vanishing tap ------------------------------------ */

static void expect_failed_then_revived(struct net_test *t)
{
	assert_int_equal(testdrv_wait_needs_reset(t->d, TIMEOUT_MS), 0);
	assert_true(device_failed(t));
	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
	post_rx(t, 2, 2048);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	inject(t, 100, 5);
	expect_frame(t, 100, 5, 1);
	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
}

static void test_malformed_chains(void **state)
{
	struct net_test *t = *state;
	uint64_t a;
	struct testdrv_sg sg[2];

	start(t, TESTDRV_FEATURES_ALL);
	a = testdrv_alloc_buf(t->d, 4096);
	/* rx: a readable descriptor. */
	sg[0] = (struct testdrv_sg){ a, 64 };
	sg[1] = (struct testdrv_sg){ a + 64, 2048 };
	assert_true(testdrv_add(t->d, RXQ, sg, 1, 1, false) >= 0);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	expect_failed_then_revived(t);
	/* rx: shorter than the header. */
	a = testdrv_alloc_buf(t->d, 4096);
	sg[0] = (struct testdrv_sg){ a, HDR_LEN - 1 };
	assert_true(testdrv_add(t->d, RXQ, sg, 0, 1, false) >= 0);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	expect_failed_then_revived(t);
	/* tx: shorter than the header. */
	a = testdrv_alloc_buf(t->d, 4096);
	sg[0] = (struct testdrv_sg){ a, HDR_LEN - 1 };
	assert_true(testdrv_add(t->d, TXQ, sg, 1, 0, false) >= 0);
	assert_int_equal(testdrv_kick(t->d, TXQ), 0);
	expect_failed_then_revived(t);
	/* tx: a writable descriptor. */
	a = testdrv_alloc_buf(t->d, 4096);
	sg[0] = (struct testdrv_sg){ a, 100 };
	sg[1] = (struct testdrv_sg){ a + 100, 100 };
	assert_true(testdrv_add(t->d, TXQ, sg, 1, 1, false) >= 0);
	assert_int_equal(testdrv_kick(t->d, TXQ), 0);
	expect_failed_then_revived(t);
	/* tx: a hostile ring. */
	assert_int_equal(testdrv_hostile(t->d, TXQ, TESTDRV_BAD_LOOP), 0);
	expect_failed_then_revived(t);
}

/*
 * The tap is deleted on the host: the device fails (NEEDS_RESET), its link
 * goes down, it stays failed after a reset, and another device on the bus
 * goes on working.
 */
static void test_tap_deleted(void **state)
{
	struct net_test *t = *state;
	struct virtio_net_config cfg;
	struct testdrv *rng;
	struct vmsg_dev *dev;
	struct testdrv_sg sg;
	char err[VMSG_ERR_LEN];
	uint32_t id, len;
	int rng_num;

	rng_num = add_dev(t, "rng", err);
	assert_true(rng_num > 0);
	start(t, TESTDRV_FEATURES_ALL);
	post_rx(t, 4, 2048);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	link_delete(TAP);
	assert_int_equal(testdrv_wait_needs_reset(t->d, TIMEOUT_MS), 0);
	assert_true(t->d->config_events >= 2);
	assert_int_equal(testdrv_config_read(t->d, 0, &cfg, 8), 0);
	assert_int_equal(le16toh(cfg.status), 0);
	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0),
			 -EPROTO);
	assert_true(device_failed(t));
	dev = net_dev(t);
	assert_true(dev && dev->broken);
	/* The rng next to it still answers. */
	rng = testdrv_new(t->tb, (uint16_t)rng_num);
	assert_non_null(rng);
	assert_int_equal(testdrv_init(rng, TESTDRV_FEATURES_ALL, 0), 0);
	sg.addr = testdrv_alloc_buf(rng, 64);
	sg.len = 64;
	assert_true(testdrv_add(rng, 0, &sg, 0, 1, false) >= 0);
	assert_int_equal(testdrv_kick(rng, 0), 0);
	assert_int_equal(testdrv_wait_used(rng, 0, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(rng, 0, &id, &len), 1);
	assert_int_equal(len, 64);
	testdrv_free(rng);
}

/* --- main ----------------------------------------------------------------- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config),
		T(test_spec_errors),
		T(test_default_tap),
		T(test_attach_existing),
		T(test_rx_frames),
		T(test_rx_mergeable),
		T(test_rx_waits_for_buffers),
		T(test_rx_no_mrg),
		T(test_rx_no_buffers),
		T(test_rx_budget),
		T(test_rx_dropped_at_reset),
		T(test_tx_frames),
		T(test_tx_refused),
		T(test_offloads),
		T(test_malformed_chains),
		T(test_tap_deleted),
	};

	int ret = testnet_private_netns();

	/* a network namespace of our own (tests/lib/testnet.h) */
	if (ret) {
		fprintf(stderr, "test_net: unshare(CLONE_NEWNET): %s (needs "
			"CAP_NET_ADMIN, as vmsgd does)\n", strerror(-ret));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
