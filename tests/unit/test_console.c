// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console model (backend/dev-console.c) driven through the unit-test
 * bus by the test driver, with the test itself as the host-side client:
 * bytes both ways and in order, flow control both ways (the daemon stops
 * reading when the receiveq is empty, and keeps a transmit chain while the
 * client does not read, without spinning), output discarded with nobody
 * attached, one client at a time, reconnects, half-closed and vanished
 * clients, the pty flavour, the host side disappearing (the device fails,
 * the others keep working), hostile transmit rings, bad specs and the
 * control socket's "console" request. What every device type must do is
 * in test_conformance.c instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "bus.h"
#include "control.h"
#include "dev-console.h"
#include "loop.h"
#include "../lib/testbus.h"
#include "../lib/testdrv.h"

#define REGION_SIZE	(4 * 1024 * 1024)
#define TIMEOUT_MS	5000
#define QSIZE		64	/* the model's queue size */
#define RXQ		0
#define TXQ		1

struct con_test {
	struct vmsg_testbus *tb;
	struct testdrv *d;
	int dev_num;
	char dir[64];
	char sock[100];			/* socket path, or the pty slave */
	struct testdrv_sg rxb[QSIZE];	/* the buffer behind each rx head */
	unsigned int tx_used;		/* transmit chains returned */
};

/* --- fixture -------------------------------------------------------------- */

static struct con_test *con_new(void)
{
	struct con_test *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	strcpy(t->dir, "/tmp/vmsg-con-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->sock, sizeof(t->sock), "%s/con.sock", t->dir);
	t->tb = vmsg_testbus_new(REGION_SIZE, VIRTIO_MSG_DEFAULT_SIZE);
	assert_non_null(t->tb);
	return t;
}

static int add_dev(struct con_test *t, const char *spec)
{
	char err[VMSG_ERR_LEN] = "";
	int n = vmsg_bus_add_device(&t->tb->bus, spec, 0, err, sizeof(err));

	if (n <= 0)
		fail_msg("%s: %s", spec, err);
	return n;
}

static void use_dev(struct con_test *t, int dev_num)
{
	t->dev_num = dev_num;
	t->d = testdrv_new(t->tb, (uint16_t)dev_num);
	assert_non_null(t->d);
}

static int setup_socket(void **state)
{
	struct con_test *t = con_new();
	char spec[160];

	snprintf(spec, sizeof(spec), "console,socket=%s", t->sock);
	use_dev(t, add_dev(t, spec));
	*state = t;
	return 0;
}

static int setup_pty(void **state)
{
	struct con_test *t = con_new();
	const char *path;

	use_dev(t, add_dev(t, "console,pty"));
	path = vmsg_console_path(vmsg_bus_dev(&t->tb->bus, t->dev_num));
	assert_non_null(path);
	snprintf(t->sock, sizeof(t->sock), "%s", path);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct con_test *t = *state;

	testdrv_free(t->d);
	vmsg_testbus_free(t->tb);
	/* Fails if a socket file was left behind. */
	assert_int_equal(rmdir(t->dir), 0);
	free(t);
	return 0;
}

/* --- helpers -------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the daemon's loop for about ms, taking the events it sends. */
static void pump(struct con_test *t, int ms)
{
	int64_t end = now_ms() + ms;

	do {
		vmsg_loop_run_once(t->tb->loop, 1);
		while (testdrv_poll_event(t->d, 0))
			;
	} while (now_ms() < end);
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void init_features(struct con_test *t, uint64_t features)
{
	assert_int_equal(testdrv_init(t->d, features, 0), 0);
	t->tx_used = 0;
}

static void init_all(struct con_test *t)
{
	init_features(t, TESTDRV_FEATURES_ALL);
}

static int client_connect(struct con_test *t)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", t->sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	pump(t, 20);
	return fd;
}

/* Open the pty slave and wait until the daemon has seen it opened. */
static int slave_open(struct con_test *t)
{
	int fd = open(t->sock, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	assert_true(fd >= 0);
	pump(t, 500);
	return fd;
}

/* --- receiveq: input for the driver --------------------------------------- */

static void rx_add(struct con_test *t, struct testdrv_sg sg)
{
	int head = testdrv_add(t->d, RXQ, &sg, 0, 1, false);

	assert_true(head >= 0 && head < QSIZE);
	t->rxb[head] = sg;
}

/* n receive buffers of len bytes each (up to 4 sizes, cycling). */
static void rx_post(struct con_test *t, unsigned int n, const uint32_t *lens,
		    unsigned int nlens)
{
	struct testdrv_sg sg;
	unsigned int i;

	for (i = 0; i < n; i++) {
		sg.len = lens[i % nlens];
		sg.addr = testdrv_alloc_buf(t->d, sg.len);
		assert_int_not_equal(sg.addr, 0);
		rx_add(t, sg);
	}
	/* Only if asked: a model that forgot to ask again stalls here. */
	assert_true(testdrv_kick_if_needed(t->d, RXQ) >= 0);
}

/* Take used receive buffers, append their bytes, post them again. */
static size_t rx_collect(struct con_test *t, uint8_t *dst, size_t got,
			 size_t max, bool repost)
{
	struct testdrv_sg sg;
	uint32_t id, len;
	bool any = false;

	while (testdrv_get_used(t->d, RXQ, &id, &len) == 1) {
		assert_true(id < QSIZE);
		sg = t->rxb[id];
		assert_true(len <= sg.len && got + len <= max);
		memcpy(dst + got, testdrv_buf(t->d, sg.addr, sg.len), len);
		got += len;
		if (repost)
			rx_add(t, sg);
		any = true;
	}
	if (any && repost)
		assert_true(testdrv_kick_if_needed(t->d, RXQ) >= 0);
	return got;
}

/* Run until the guest has taken exactly want bytes into dst. */
static void rx_wait(struct con_test *t, uint8_t *dst, size_t want, size_t max)
{
	int64_t end = now_ms() + TIMEOUT_MS;
	size_t got = 0;

	while (got < want && now_ms() < end) {
		pump(t, 1);
		got = rx_collect(t, dst, got, max, true);
	}
	assert_int_equal(got, want);
}

/* Send len bytes from the client; the guest takes them into dst. */
static void host_to_guest(struct con_test *t, int fd, const uint8_t *src,
			  size_t len, uint8_t *dst)
{
	int64_t end = now_ms() + TIMEOUT_MS;
	size_t sent = 0, got = 0, chunk;
	ssize_t n;

	while (got < len) {
		if (now_ms() > end)
			fail_msg("host to guest: %zu of %zu bytes sent, %zu got",
				 sent, len, got);
		/* Odd chunks, so reads and buffers never line up. */
		chunk = len - sent < 777 ? len - sent : 777;
		n = chunk ? write(fd, src + sent, chunk) : 0;
		if (n > 0)
			sent += (size_t)n;
		pump(t, 1);
		got = rx_collect(t, dst, got, len, true);
	}
	assert_memory_equal(src, dst, len);
}

/* --- transmitq: output from the driver ------------------------------------ */

/* One chain of len bytes (copied from data) in nseg pieces; its head. */
static int tx_add(struct con_test *t, const uint8_t *data, uint32_t len,
		  unsigned int nseg, bool indirect)
{
	struct testdrv_sg sg[4];
	uint64_t addr = testdrv_alloc_buf(t->d, len ? len : 1);
	uint32_t off = 0, piece;
	unsigned int i;
	int head;

	assert_int_not_equal(addr, 0);
	memcpy(testdrv_buf(t->d, addr, len ? len : 1), data, len);
	for (i = 0; i < nseg; i++) {
		piece = i + 1 == nseg ? len - off : len / nseg;
		sg[i] = (struct testdrv_sg){ addr + off, piece };
		off += piece;
	}
	head = testdrv_add(t->d, TXQ, sg, nseg, 0, indirect);
	assert_true(head >= 0);
	return head;
}

/* Only if the device asked for it, as Linux does. */
static void tx_kick(struct con_test *t)
{
	assert_true(testdrv_kick_if_needed(t->d, TXQ) >= 0);
}

/* Count transmit chains returned; each must come back with length 0. */
static void tx_reap(struct con_test *t)
{
	uint32_t id, len;

	while (testdrv_get_used(t->d, TXQ, &id, &len) == 1) {
		assert_int_equal(len, 0);
		t->tx_used++;
	}
}

/* Read exactly len bytes on the client, running the daemon meanwhile. */
static void client_read(struct con_test *t, int fd, uint8_t *dst, size_t len)
{
	int64_t end = now_ms() + TIMEOUT_MS;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (now_ms() > end)
			fail_msg("client got %zu of %zu bytes", got, len);
		n = read(fd, dst + got, len - got);
		if (n > 0)
			got += (size_t)n;
		else if (!n || (errno != EAGAIN && errno != EINTR))
			fail_msg("client read: %s", n ? strerror(errno) : "EOF");
		pump(t, 1);
		tx_reap(t);
	}
}

/* Nothing more arrives on the client for ms. */
static void client_silent(struct con_test *t, int fd, int ms)
{
	uint8_t c;

	pump(t, ms);
	assert_int_equal(read(fd, &c, 1), -1);
	assert_int_equal(errno, EAGAIN);
}

static void wait_tx_used(struct con_test *t, unsigned int n)
{
	int64_t end = now_ms() + TIMEOUT_MS;

	while (t->tx_used < n && now_ms() < end) {
		pump(t, 1);
		tx_reap(t);
	}
	assert_int_equal(t->tx_used, n);
}

static uint32_t status(struct con_test *t)
{
	uint32_t st;

	assert_int_equal(testdrv_get_status(t->d, &st), 0);
	return st;
}

/* --- tests ---------------------------------------------------------------- */

static void test_handshake(void **state)
{
	struct con_test *t = *state;
	struct virtio_console_config cfg;
	struct stat st;

	init_all(t);
	assert_int_equal(t->d->device_id, VIRTIO_ID_CONSOLE);
	assert_int_equal(t->d->max_vqs, 2);
	assert_int_equal(t->d->config_size, sizeof(cfg));
	assert_false(t->d->device_features & (1ULL << VIRTIO_CONSOLE_F_SIZE));
	assert_false(t->d->device_features &
		     (1ULL << VIRTIO_CONSOLE_F_MULTIPORT));
	assert_int_equal(testdrv_config_read(t->d, 0, &cfg, sizeof(cfg)), 0);
	assert_int_equal(le32toh(cfg.max_nr_ports), 1);
	assert_int_equal(cfg.cols, 0);
	assert_int_equal(cfg.rows, 0);
	/* Config is read-only. */
	assert_int_equal(testdrv_config_write(t->d, 0, &cfg, 4), -EINVAL);
	assert_true(status(t) & VIRTIO_CONFIG_S_DRIVER_OK);
	/* The socket is born 0600. */
	assert_int_equal(lstat(t->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_size(void **state)
{
	struct con_test *t = *state;
	struct virtio_console_config cfg;

	testdrv_free(t->d);
	use_dev(t, add_dev(t, "console,pty,cols=132,rows=43"));
	init_all(t);
	assert_true(t->d->device_features & (1ULL << VIRTIO_CONSOLE_F_SIZE));
	assert_int_equal(testdrv_config_read(t->d, 0, &cfg, sizeof(cfg)), 0);
	assert_int_equal(le16toh(cfg.cols), 132);
	assert_int_equal(le16toh(cfg.rows), 43);
}

static void bad_spec(struct con_test *t, const char *spec, const char *why)
{
	char err[VMSG_ERR_LEN] = "";

	if (vmsg_bus_add_device(&t->tb->bus, spec, 0, err, sizeof(err)) >= 0)
		fail_msg("'%s' accepted", spec);
	if (!strstr(err, why))
		fail_msg("'%s': error '%s' lacks '%s'", spec, err, why);
}

static void test_bad_specs(void **state)
{
	struct con_test *t = *state;
	char spec[512], path[128], along[300];
	uint8_t in[100], out[100];
	const uint32_t len = 64;
	int fd, cl;

	bad_spec(t, "console", "missing socket=PATH or pty");
	bad_spec(t, "console,pty,socket=/tmp/x", "exclude");
	bad_spec(t, "console,socket", "empty path");
	memset(along, 'a', sizeof(along) - 1);
	along[sizeof(along) - 1] = '\0';
	snprintf(spec, sizeof(spec), "console,socket=/tmp/%s", along);
	bad_spec(t, spec, "at most 107 fit");
	bad_spec(t, "console,pty,cols=80", "cols= without rows=");
	bad_spec(t, "console,pty,rows=25", "rows= without cols=");
	bad_spec(t, "console,pty,cols=0,rows=25", "cols=, rows=");
	bad_spec(t, "console,pty,cols=80,rows=65536", "cols=, rows=");
	bad_spec(t, "console,pty=maybe", "pty");
	bad_spec(t, "console,pty,bogus=1", "bogus");
	bad_spec(t, "console,socket=/nonexistent-dir/x.sock",
		 "No such file or directory");
	/* A live socket (ours) and a file that is not a socket are kept. */
	snprintf(spec, sizeof(spec), "console,socket=%s", t->sock);
	bad_spec(t, spec, "in use");
	snprintf(path, sizeof(path), "%s/file", t->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "console,socket=%s", path);
	bad_spec(t, spec, "exists and is not a socket");
	assert_int_equal(unlink(path), 0);
	/* The first device's socket still works. */
	init_all(t);
	cl = client_connect(t);
	fill(in, sizeof(in), 1);
	rx_post(t, 4, &len, 1);
	host_to_guest(t, cl, in, sizeof(in), out);
	close(cl);
}

/* A stale socket file (nobody listening) is replaced; destroy removes it. */
static void test_stale_socket(void **state)
{
	struct con_test *t = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char spec[160], path[100];
	struct stat st;
	int fd, n;

	snprintf(path, sizeof(path), "%s/stale.sock", t->dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	snprintf(spec, sizeof(spec), "console,socket=%s", path);
	n = add_dev(t, spec);
	assert_int_equal(lstat(path, &st), 0);
	vmsg_bus_destroy_device(&t->tb->bus, (uint16_t)n);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_host_to_guest(void **state)
{
	struct con_test *t = *state;
	static const uint32_t lens[] = { 1, 7, 100, 4096 };
	static uint8_t in[20000], out[20000];
	int cl;

	init_all(t);
	cl = client_connect(t);
	fill(in, sizeof(in), 2);
	rx_post(t, 16, lens, 4);
	host_to_guest(t, cl, in, sizeof(in), out);
	close(cl);
}

/* A chain with nothing writable comes back empty; the stream goes on. */
static void test_rx_no_writable(void **state)
{
	struct con_test *t = *state;
	struct testdrv_sg ro = { 0, 16 };
	const uint32_t len = 32;
	uint8_t in[8] = "abcdefg", out[8];
	uint32_t id, ulen;
	int cl, head;

	init_all(t);
	ro.addr = testdrv_alloc_buf(t->d, 16);
	head = testdrv_add(t->d, RXQ, &ro, 1, 0, false);
	assert_true(head >= 0);
	assert_int_equal(testdrv_kick(t->d, RXQ), 0);
	cl = client_connect(t);
	assert_int_equal(send(cl, in, 1, 0), 1);
	while (!testdrv_ring_has_used(&t->d->vqs[RXQ]))
		assert_int_equal(testdrv_wait_used(t->d, RXQ, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(t->d, RXQ, &id, &ulen), 1);
	assert_int_equal(id, (uint32_t)head);
	assert_int_equal(ulen, 0);
	/* The byte sent is still there for the next buffer. */
	rx_post(t, 2, &len, 1);
	rx_wait(t, out, 1, sizeof(out));
	assert_int_equal(out[0], 'a');
	host_to_guest(t, cl, in + 1, 7, out);
	close(cl);
}

/*
 * Rounds of 10 chains of odd sizes, in 1 to 3 pieces, some indirect, and
 * an empty one: the client reads one stream, in order.
 */
static void guest_to_host(struct con_test *t, uint64_t features)
{
	static uint8_t data[40 * 2000], got[40 * 2000];
	uint32_t off = 0, start = 0, len;
	unsigned int i;
	int cl;

	init_features(t, features);
	cl = client_connect(t);
	fill(data, sizeof(data), 3);
	for (i = 0; i < 40; i++) {
		if (i % 10 == 0)
			start = off;
		len = 1 + (i * 397) % 1999;
		tx_add(t, data + off, len, 1 + i % 3, i % 4 == 3);
		off += len;
		if (i == 15)
			tx_add(t, data, 0, 1, false);
		if (i % 10 != 9)
			continue;
		/* The queue was drained: the device must want a kick. */
		assert_int_equal(testdrv_kick_if_needed(t->d, TXQ), 1);
		client_read(t, cl, got + start, off - start);
	}
	assert_memory_equal(data, got, off);
	wait_tx_used(t, 41);
	client_silent(t, cl, 20);
	close(cl);
}

static void test_guest_to_host(void **state)
{
	guest_to_host(*state, TESTDRV_FEATURES_ALL);
}

/* Without EVENT_IDX, asking for kicks again is up to VRING_USED_F_NO_NOTIFY. */
static void test_guest_to_host_no_event_idx(void **state)
{
	guest_to_host(*state,
		      TESTDRV_FEATURES_ALL & ~(1ULL << VIRTIO_RING_F_EVENT_IDX));
}

/*
 * No receive buffers: the daemon stops reading and does not spin; the
 * client's writes block once the socket is full; buffers restart it.
 */
static void test_rx_flow_control(void **state)
{
	struct con_test *t = *state;
	static uint8_t in[4 << 20], out[4 << 20];
	static const uint32_t lens[] = { 4096 };
	size_t sent = 0;
	ssize_t n;
	int cl;

	init_all(t);
	cl = client_connect(t);
	fill(in, sizeof(in), 4);
	for (;;) {
		n = send(cl, in + sent, 65536, MSG_NOSIGNAL);
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			pump(t, 20);
			n = send(cl, in + sent, 65536, MSG_NOSIGNAL);
			if (n < 0)
				break;
		}
		sent += (size_t)n;
		assert_true(sent + 65536 <= sizeof(in));
	}
	/* Input waiting, no buffer for it: no callback runs at all. */
	assert_int_equal(vmsg_loop_run_once(t->tb->loop, 0), 0);
	assert_int_equal(vmsg_loop_run_once(t->tb->loop, 10), 0);
	rx_post(t, 32, lens, 1);
	rx_wait(t, out, sent, sizeof(out));
	assert_memory_equal(in, out, sent);
	close(cl);
}

/*
 * A client that does not read: the daemon keeps the chain it could not
 * send, takes no more, and does not spin; reading releases everything.
 */
static void test_slow_reader(void **state)
{
	struct con_test *t = *state;
	const uint32_t chunk = 32 * 1024, nr = 40;
	static uint8_t data[40 * 32 * 1024], got[40 * 32 * 1024];
	struct vmsg_dev *dev = vmsg_bus_dev(&t->tb->bus, t->dev_num);
	unsigned int i, stuck;
	int cl;

	init_all(t);
	cl = client_connect(t);
	fill(data, sizeof(data), 5);
	for (i = 0; i < nr; i++)
		tx_add(t, data + i * chunk, chunk, 1 + i % 2, false);
	tx_kick(t);
	pump(t, 50);
	tx_reap(t);
	stuck = t->tx_used;
	assert_true(stuck < nr);
	/* One chain held, no other taken: the rest wait in the ring. */
	assert_int_equal(dev->vqs[TXQ].inflight, 1);
	/* Waiting for EPOLLOUT, nothing else: no callback runs. */
	assert_int_equal(vmsg_loop_run_once(t->tb->loop, 10), 0);
	pump(t, 50);
	tx_reap(t);
	assert_int_equal(t->tx_used, stuck);
	assert_int_equal(dev->vqs[TXQ].inflight, 1);
	client_read(t, cl, got, sizeof(data));
	assert_memory_equal(data, got, sizeof(data));
	wait_tx_used(t, nr);
	close(cl);
}

/* Nobody attached: output is dropped at once, and not replayed later. */
static void test_no_client(void **state)
{
	struct con_test *t = *state;
	uint8_t data[300], got[5];
	unsigned int i;
	int cl;

	init_all(t);
	fill(data, sizeof(data), 6);
	for (i = 0; i < 3; i++)
		tx_add(t, data + i * 100, 100, 1, false);
	tx_kick(t);
	wait_tx_used(t, 3);
	cl = client_connect(t);
	tx_add(t, (const uint8_t *)"after", 5, 1, false);
	tx_kick(t);
	client_read(t, cl, got, 5);
	assert_memory_equal(got, "after", 5);
	client_silent(t, cl, 20);
	close(cl);
}

/* Exchange a few bytes each way with client cl, tagged with seed. */
static void exchange(struct con_test *t, int cl, uint32_t seed)
{
	static const uint32_t lens[] = { 64 };
	uint8_t in[200], out[200];

	fill(in, sizeof(in), seed);
	rx_post(t, 4, lens, 1);
	host_to_guest(t, cl, in, sizeof(in), out);
	fill(in, sizeof(in), seed + 1);
	tx_add(t, in, sizeof(in), 2, false);
	tx_kick(t);
	client_read(t, cl, out, sizeof(out));
	assert_memory_equal(in, out, sizeof(in));
}

static void test_one_client_and_reconnect(void **state)
{
	struct con_test *t = *state;
	char msg[256] = "";
	int a, b, c;
	ssize_t n;

	init_all(t);
	a = client_connect(t);
	exchange(t, a, 10);
	/* A second client gets a message and is hung up on. */
	b = client_connect(t);
	pump(t, 20);
	n = read(b, msg, sizeof(msg) - 1);
	assert_true(n > 0);
	assert_non_null(strstr(msg, "another client is connected"));
	assert_int_equal(read(b, msg, sizeof(msg)), 0);
	close(b);
	exchange(t, a, 20);
	close(a);
	pump(t, 20);
	c = client_connect(t);
	exchange(t, c, 30);
	close(c);
}

/* Input sent just before the client went away still reaches the guest. */
static void test_input_after_close(void **state)
{
	struct con_test *t = *state;
	static const uint32_t lens[] = { 16 };
	uint8_t out[16];
	int cl;

	init_all(t);
	cl = client_connect(t);
	assert_int_equal(send(cl, "bye", 3, 0), 3);
	close(cl);
	pump(t, 20);
	rx_post(t, 2, lens, 1);
	rx_wait(t, out, 3, sizeof(out));
	assert_memory_equal(out, "bye", 3);
	/* And the next client is welcome. */
	cl = client_connect(t);
	exchange(t, cl, 40);
	close(cl);
}

/* A client that shut down its sending side still gets output. */
static void test_half_close(void **state)
{
	struct con_test *t = *state;
	uint8_t out[5];
	int cl;

	init_all(t);
	cl = client_connect(t);
	assert_int_equal(shutdown(cl, SHUT_WR), 0);
	pump(t, 20);
	tx_add(t, (const uint8_t *)"still", 5, 1, false);
	tx_kick(t);
	client_read(t, cl, out, 5);
	assert_memory_equal(out, "still", 5);
	close(cl);
}

/*
 * A driver reset while a chain is held: the chain is forgotten and the
 * region left alone; the client stays connected and works after re-init.
 */
static void test_reset_keeps_client(void **state)
{
	struct con_test *t = *state;
	static uint8_t data[16 * 64 * 1024], sink[64 * 1024];
	uint16_t used_idx;
	unsigned int i;
	int cl;

	init_all(t);
	cl = client_connect(t);
	for (i = 0; i < 16; i++)
		tx_add(t, data, 64 * 1024, 1, false);
	tx_kick(t);
	pump(t, 50);
	tx_reap(t);
	assert_true(t->tx_used < 16);
	used_idx = le16toh(t->d->vqs[TXQ].used->idx);
	assert_int_equal(testdrv_set_status(t->d, 0), 0);
	/* Drain the client: the daemon must not touch the old ring. */
	while (read(cl, sink, sizeof(sink)) > 0 || errno == EINTR)
		pump(t, 5);
	pump(t, 50);
	assert_int_equal(le16toh(t->d->vqs[TXQ].used->idx), used_idx);
	assert_int_equal(testdrv_reset(t->d), 0);
	init_all(t);
	exchange(t, cl, 50);
	close(cl);
}

static void test_pty(void **state)
{
	struct con_test *t = *state;
	static const uint32_t lens[] = { 64 };
	/* Raw: no \n to \r\n, no echo, every byte value. */
	const uint8_t out_b[] = "line\nnext\r\n\x03\x04\x1d\x7f\xff";
	uint8_t in[300], got[300];
	int s;

	init_all(t);
	/* No slave open: output is dropped. */
	tx_add(t, (const uint8_t *)"lost", 4, 1, false);
	tx_kick(t);
	wait_tx_used(t, 1);
	s = slave_open(t);
	tx_add(t, out_b, sizeof(out_b), 1, false);
	tx_kick(t);
	client_read(t, s, got, sizeof(out_b));
	assert_memory_equal(got, out_b, sizeof(out_b));
	client_silent(t, s, 20);
	fill(in, sizeof(in), 7);
	rx_post(t, 4, lens, 1);
	host_to_guest(t, s, in, sizeof(in), got);
	/* Closed: dropped again; reopened: flowing again. */
	close(s);
	pump(t, 20);
	tx_add(t, (const uint8_t *)"lost", 4, 1, false);
	tx_kick(t);
	wait_tx_used(t, 3);
	s = slave_open(t);
	exchange(t, s, 60);
	close(s);
}

/* A slave that writes and closes at once: its input is picked up later. */
static void test_pty_write_and_close(void **state)
{
	struct con_test *t = *state;
	static const uint32_t lens[] = { 64 };
	uint8_t got[8];
	int s;

	init_all(t);
	rx_post(t, 2, lens, 1);
	pump(t, 300);
	s = open(t->sock, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	assert_true(s >= 0);
	assert_int_equal(write(s, "quick", 5), 5);
	close(s);
	rx_wait(t, got, 5, sizeof(got));
	assert_memory_equal(got, "quick", 5);
}

/* An rng device next to the console serves a request. */
static void rng_works(struct con_test *t, int rng)
{
	struct testdrv *d = testdrv_new(t->tb, (uint16_t)rng);
	struct testdrv_sg sg;
	uint32_t id, len;

	assert_non_null(d);
	assert_int_equal(testdrv_init(d, TESTDRV_FEATURES_ALL, 0), 0);
	sg.len = 64;
	sg.addr = testdrv_alloc_buf(d, 64);
	assert_true(testdrv_add(d, 0, &sg, 0, 1, false) >= 0);
	assert_int_equal(testdrv_kick(d, 0), 0);
	while (!testdrv_ring_has_used(&d->vqs[0]))
		assert_int_equal(testdrv_wait_used(d, 0, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(d, 0, &id, &len), 1);
	assert_int_equal(len, 64);
	testdrv_free(d);
}

/* The failed console, reset, works as one with nothing attached. */
static void dead_console_discards(struct con_test *t)
{
	assert_int_equal(testdrv_reset(t->d), 0);
	init_all(t);
	tx_add(t, (const uint8_t *)"nobody", 6, 1, false);
	tx_kick(t);
	wait_tx_used(t, 1);
	pump(t, 300);
	assert_false(status(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* The fd of ours for which match(fd, arg) holds, or -1. */
static int find_fd(bool (*match)(int fd, const char *arg), const char *arg)
{
	char link[64];
	int fd;

	for (fd = 3; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if (access(link, F_OK) == 0 && match(fd, arg))
			return fd;
	}
	return -1;
}

static bool is_master_of(int fd, const char *slave)
{
	char name[128], link[64], target[64] = "";

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (readlink(link, target, sizeof(target) - 1) < 0 ||
	    strcmp(target, "/dev/ptmx"))
		return false;
	return !ptsname_r(fd, name, sizeof(name)) && !strcmp(name, slave);
}

static bool is_listener_of(int fd, const char *path)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	int on = 0;
	socklen_t olen = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) || !on)
		return false;
	memset(&sun, 0, sizeof(sun));
	return !getsockname(fd, (struct sockaddr *)&sun, &len) &&
	       !strcmp(sun.sun_path, path);
}

/* The pty master fails under the daemon: this device fails, not others. */
static void test_host_gone_pty(void **state)
{
	struct con_test *t = *state;
	int rng = add_dev(t, "rng");
	int s, master, bad;

	init_all(t);
	s = slave_open(t);
	master = find_fd(is_master_of, t->sock);
	assert_true(master >= 0);
	/* Every operation on it now fails with EBADF. */
	bad = open("/", O_PATH | O_CLOEXEC);
	assert_true(bad >= 0);
	assert_int_equal(dup2(bad, master), master);
	close(bad);
	tx_add(t, (const uint8_t *)"x", 1, 1, false);
	tx_kick(t);
	assert_int_equal(testdrv_wait_needs_reset(t->d, TIMEOUT_MS), 0);
	assert_true(status(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
	rng_works(t, rng);
	dead_console_discards(t);
	close(s);
}

static void test_host_gone_socket(void **state)
{
	struct con_test *t = *state;
	int rng = add_dev(t, "rng");
	int lfd;

	init_all(t);
	lfd = find_fd(is_listener_of, t->sock);
	assert_true(lfd >= 0);
	assert_int_equal(shutdown(lfd, SHUT_RDWR), 0);
	assert_int_equal(testdrv_wait_needs_reset(t->d, TIMEOUT_MS), 0);
	assert_true(status(t) & VIRTIO_CONFIG_S_NEEDS_RESET);
	rng_works(t, rng);
	dead_console_discards(t);
}

static const enum testdrv_hostile hostile_kinds[] = {
	TESTDRV_BAD_HEAD, TESTDRV_BAD_LOOP, TESTDRV_BAD_ADDR_OUTSIDE,
	TESTDRV_BAD_READ_AFTER_WRITE, TESTDRV_BAD_INDIRECT_LOOP,
};

/* Publish a broken chain on queue q: NEEDS_RESET, then a reset revives. */
static void hostile_once(struct con_test *t, unsigned int q,
			 enum testdrv_hostile kind)
{
	init_all(t);
	assert_int_equal(testdrv_hostile(t->d, q, kind), 0);
	if (testdrv_wait_needs_reset(t->d, TIMEOUT_MS))
		fail_msg("queue %u, %s: no NEEDS_RESET", q,
			 testdrv_hostile_name(kind));
	assert_int_equal(testdrv_reset(t->d), 0);
}

/*
 * Either queue. A broken receiveq is found at the kick, before any input
 * comes (here no client is even connected).
 */
static void test_hostile_rings(void **state)
{
	struct con_test *t = *state;
	unsigned int i;
	int cl;

	for (i = 0; i < sizeof(hostile_kinds) / sizeof(hostile_kinds[0]); i++)
		hostile_once(t, RXQ, hostile_kinds[i]);
	cl = client_connect(t);
	for (i = 0; i < sizeof(hostile_kinds) / sizeof(hostile_kinds[0]); i++) {
		hostile_once(t, TXQ, hostile_kinds[i]);
		init_all(t);
		exchange(t, cl, 70 + i);
		assert_int_equal(testdrv_reset(t->d), 0);
	}
	close(cl);
}

/* --- the control socket's "console" request ------------------------------- */

static struct vmsg_bus *lookup(void *opaque, const char *domain, char *err,
			       size_t errlen)
{
	struct con_test *t = opaque;

	if (domain) {
		snprintf(err, errlen, "no domain %s here", domain);
		return NULL;
	}
	return &t->tb->bus;
}

static void ctl_expect(struct con_test *t, const char *line, const char *want)
{
	char out[512];

	vmsg_control_exec(lookup, t, line, out, sizeof(out));
	if (strcmp(out, want))
		fail_msg("'%s' gave '%s', not '%s'", line, out, want);
}

static void test_control(void **state)
{
	struct con_test *t = *state;
	char line[32], want[256];
	int rng = add_dev(t, "rng");

	snprintf(line, sizeof(line), "console %d", t->dev_num);
	snprintf(want, sizeof(want), "ok %s\n", t->sock);
	ctl_expect(t, line, want);
	snprintf(line, sizeof(line), "console %d", rng);
	snprintf(want, sizeof(want), "error device %d is rng, not a console\n",
		 rng);
	ctl_expect(t, line, want);
	ctl_expect(t, "console 99", "error no device 99 on testbus\n");
	ctl_expect(t, "console x", "error bad device number 'x' (1..255)\n");
	ctl_expect(t, "console", "error bad device number '' (1..255)\n");
	ctl_expect(t, "console 7 1", "error no domain 7 here\n");
	assert_null(vmsg_console_path(vmsg_bus_dev(&t->tb->bus, rng)));
	assert_null(vmsg_console_path(NULL));
}

static void test_control_pty(void **state)
{
	test_control(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define S(fn) cmocka_unit_test_setup_teardown(fn, setup_socket, teardown)
#define P(fn) cmocka_unit_test_setup_teardown(fn, setup_pty, teardown)
		S(test_handshake),
		S(test_size),
		S(test_bad_specs),
		S(test_stale_socket),
		S(test_host_to_guest),
		S(test_rx_no_writable),
		S(test_guest_to_host),
		S(test_guest_to_host_no_event_idx),
		S(test_rx_flow_control),
		S(test_slow_reader),
		S(test_no_client),
		S(test_one_client_and_reconnect),
		S(test_input_after_close),
		S(test_half_close),
		S(test_reset_keeps_client),
		P(test_pty),
		P(test_pty_write_and_close),
		P(test_host_gone_pty),
		S(test_host_gone_socket),
		S(test_hostile_rings),
		S(test_control),
		P(test_control_pty),
#undef S
#undef P
	};

	/* A write to a client the daemon refused must fail, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
