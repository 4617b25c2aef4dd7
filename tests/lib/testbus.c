// SPDX-License-Identifier: GPL-2.0
/*
 * The unit tests' bus: the test itself plays the driver side.
 *
 * The region is a memfd mapped shared, so tests (and device models) see
 * ordinary memory; its first page is kept out of bounds like on the real
 * buses. Everything the core sends is captured in a FIFO; the helpers below
 * pick responses by token and events in order. This is test code: it runs
 * in one thread and favours clarity over speed (removing a message from the
 * middle of the FIFO shifts the rest).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "testbus.h"

#define TESTBUS_MIN_ADDR	4096

static struct vmsg_testbus *to_testbus(struct vmsg_bus *bus)
{
	return bus->priv;
}

static uint8_t *testbus_slot(struct vmsg_testbus *tb, unsigned int i)
{
	return tb->msgs[i % VMSG_TESTBUS_QUEUE];
}

static int testbus_send(struct vmsg_bus *bus, const void *msg, size_t len)
{
	struct vmsg_testbus *tb = to_testbus(bus);

	if (tb->send_error)
		return tb->send_error;
	if (len > VIRTIO_MSG_MAX_SIZE)
		return -EMSGSIZE;
	if (tb->tail - tb->head == VMSG_TESTBUS_QUEUE) {
		tb->overflowed++;
		return -ENOBUFS;
	}
	memcpy(testbus_slot(tb, tb->tail), msg, len);
	tb->lens[tb->tail % VMSG_TESTBUS_QUEUE] = len;
	tb->tail++;
	return 0;
}

static const struct vmsg_bus_ops testbus_ops = {
	.send = testbus_send,
};

static int testbus_map_region(struct vmsg_region *r, size_t size)
{
	void *base;
	int fd;

	fd = memfd_create("vmsg-testbus", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto err_close;
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		goto err_close;
	r->base = base;
	r->size = size;
	r->min_addr = TESTBUS_MIN_ADDR;
	r->fd = fd;
	return 0;

err_close:
	close(fd);
	return -EIO;
}

struct vmsg_testbus *vmsg_testbus_new(size_t region_size, size_t max_msg_size)
{
	struct vmsg_testbus *tb;

	if (region_size <= TESTBUS_MIN_ADDR ||
	    region_size % (size_t)sysconf(_SC_PAGESIZE))
		return NULL;
	tb = calloc(1, sizeof(*tb));
	if (!tb)
		return NULL;
	tb->loop = vmsg_loop_new();
	if (!tb->loop)
		goto err_free;
	if (testbus_map_region(&tb->bus.region, region_size))
		goto err_loop;
	vmsg_bus_init(&tb->bus, &testbus_ops, "testbus", tb->loop,
		      max_msg_size);
	tb->bus.priv = tb;
	tb->next_token = 1;
	return tb;

err_loop:
	vmsg_loop_free(tb->loop);
err_free:
	free(tb);
	return NULL;
}

void vmsg_testbus_free(struct vmsg_testbus *tb)
{
	if (!tb)
		return;
	vmsg_bus_cleanup(&tb->bus);
	munmap(tb->bus.region.base, tb->bus.region.size);
	close(tb->bus.region.fd);
	vmsg_loop_free(tb->loop);
	free(tb);
}

static uint64_t testbus_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Run the loop once for what is left of the wait (at least one poll, so a
 * zero timeout still collects work that is ready). false: time is up.
 */
static bool testbus_wait(struct vmsg_testbus *tb, uint64_t deadline)
{
	uint64_t now = testbus_now_ms();
	int left = now < deadline ? (int)(deadline - now) : 0;

	vmsg_loop_run_once(tb->loop, left);
	return left > 0;
}

/* Remove queued message i (head <= i < tail), keeping the order. */
static void testbus_take(struct vmsg_testbus *tb, unsigned int i, void *buf,
			 size_t *len)
{
	*len = tb->lens[i % VMSG_TESTBUS_QUEUE];
	memcpy(buf, testbus_slot(tb, i), *len);
	for (; i + 1 != tb->tail; i++) {
		memcpy(testbus_slot(tb, i), testbus_slot(tb, i + 1),
		       VIRTIO_MSG_MAX_SIZE);
		tb->lens[i % VMSG_TESTBUS_QUEUE] =
			tb->lens[(i + 1) % VMSG_TESTBUS_QUEUE];
	}
	tb->tail--;
}

/* Index of the first queued message matching, or tail. */
static unsigned int testbus_find(struct vmsg_testbus *tb, bool response,
				 uint16_t token)
{
	unsigned int i;

	for (i = tb->head; i != tb->tail; i++) {
		const struct virtio_msg_hdr *h = (void *)testbus_slot(tb, i);
		bool is_resp = h->type & VIRTIO_MSG_TYPE_RESPONSE;

		if (is_resp == response &&
		    (!response || le16toh(h->token) == token))
			return i;
	}
	return tb->tail;
}

static size_t testbus_build(uint8_t *buf, uint8_t type, uint8_t msg_id,
			    uint16_t dev_num, uint16_t token,
			    const void *payload, size_t plen)
{
	struct virtio_msg_hdr *h = (struct virtio_msg_hdr *)buf;

	memset(buf, 0, VIRTIO_MSG_MAX_SIZE);
	h->type = type;
	h->msg_id = msg_id;
	h->dev_num = htole16(dev_num);
	h->token = htole16(token);
	h->msg_size = htole16((uint16_t)(VIRTIO_MSG_HDR_SIZE + plen));
	if (plen)
		memcpy(buf + VIRTIO_MSG_HDR_SIZE, payload, plen);
	return VIRTIO_MSG_HDR_SIZE + plen;
}

/* Does the response echo the request (section 2)? */
static bool testbus_echoes(const struct virtio_msg_hdr *req,
			   const struct virtio_msg_hdr *resp, size_t len)
{
	return resp->type == (req->type | VIRTIO_MSG_TYPE_RESPONSE) &&
	       resp->msg_id == req->msg_id && resp->dev_num == req->dev_num &&
	       le16toh(resp->msg_size) == len;
}

static int testbus_await(struct vmsg_testbus *tb,
			 const struct virtio_msg_hdr *req, void *resp,
			 size_t *resp_len, int timeout_ms)
{
	uint64_t deadline = testbus_now_ms() + (uint64_t)timeout_ms;
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	unsigned int i;
	size_t len, plen;
	bool more = true;

	for (;;) {
		i = testbus_find(tb, true, le16toh(req->token));
		if (i != tb->tail)
			break;
		if (!more)
			return -ETIMEDOUT;
		more = testbus_wait(tb, deadline);
	}
	testbus_take(tb, i, buf, &len);
	if (!testbus_echoes(req, (void *)buf, len))
		return -EPROTO;
	plen = len - VIRTIO_MSG_HDR_SIZE;
	if (plen && *resp_len)
		memcpy(resp, buf + VIRTIO_MSG_HDR_SIZE,
		       plen < *resp_len ? plen : *resp_len);
	*resp_len = plen;
	return 0;
}

int vmsg_testbus_call(struct vmsg_testbus *tb, uint8_t type, uint8_t msg_id,
		      uint16_t dev_num, const void *payload, size_t plen,
		      void *resp, size_t *resp_len, int timeout_ms)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	uint16_t token = tb->next_token++;
	size_t len;

	if (plen > VIRTIO_MSG_PAYLOAD_MAX(VIRTIO_MSG_MAX_SIZE))
		return -EMSGSIZE;
	if (!tb->next_token)	/* token 0 is what events carry: skip it */
		tb->next_token = 1;
	len = testbus_build(buf, type, msg_id, dev_num, token, payload, plen);
	vmsg_bus_receive(&tb->bus, buf, len);
	return testbus_await(tb, (void *)buf, resp, resp_len, timeout_ms);
}

int vmsg_testbus_event(struct vmsg_testbus *tb, uint8_t msg_id,
		       uint16_t dev_num, const void *payload, size_t plen)
{
	uint8_t buf[VIRTIO_MSG_MAX_SIZE] __attribute__((aligned(8)));
	size_t len;

	if (plen > VIRTIO_MSG_PAYLOAD_MAX(VIRTIO_MSG_MAX_SIZE))
		return -EMSGSIZE;
	len = testbus_build(buf, 0, msg_id, dev_num, 0, payload, plen);
	return vmsg_bus_receive(&tb->bus, buf, len);
}

int vmsg_testbus_inject(struct vmsg_testbus *tb, const void *msg, size_t len)
{
	return vmsg_bus_receive(&tb->bus, msg, len);
}

size_t vmsg_testbus_next_event(struct vmsg_testbus *tb, void *buf,
			       int timeout_ms)
{
	uint64_t deadline = testbus_now_ms() + (uint64_t)timeout_ms;
	unsigned int i;
	size_t len;
	bool more = true;

	for (;;) {
		i = testbus_find(tb, false, 0);
		if (i != tb->tail)
			break;
		if (!more)
			return 0;
		more = testbus_wait(tb, deadline);
	}
	testbus_take(tb, i, buf, &len);
	return len;
}

unsigned int vmsg_testbus_pending(const struct vmsg_testbus *tb)
{
	return tb->tail - tb->head;
}

void vmsg_testbus_flush(struct vmsg_testbus *tb)
{
	tb->head = tb->tail;
}
