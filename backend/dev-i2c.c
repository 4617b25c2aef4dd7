// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-i2c device model (virtio 1.2 section 5.19): an I2C adapter whose
 * targets are an emulated DS1307 RTC (i2c-rtc.c) and/or the devices of a
 * host i2c-dev adapter at allow-listed addresses:
 *
 *   i2c,rtc=0x68
 *   i2c,adapter=/dev/i2c-1,allow=0x50:0x51[,rtc=0x68]
 *
 * One request queue. Each request is one I2C message: a virtio_i2c_out_hdr,
 * the data (device-readable for a write, device-writable for a read, absent
 * for a zero-length request) and a status byte. Requests with FAIL_NEXT
 * belong to one transfer with the request after them; a transfer's messages
 * to the host adapter go out as one I2C_RDWR (repeated START, one STOP),
 * and once one message of a transfer fails the rest fail unexecuted
 * (5.19.6.2). A chain without header or status, or with data in the wrong
 * direction, fails the device; a bad header, an address nobody answers or
 * a host error fails only its request (VIRTIO_I2C_MSG_ERR).
 *
 * Host transfers are synchronous: the daemon waits in ioctl() for as long
 * as the host adapter takes (bounded by its own timeout), which keeps the
 * model single-threaded; I2C messages here are at most 8 KiB. An adapter
 * that disappears fails the device with NEEDS_RESET and is closed, so the
 * host kernel can finish removing it; afterwards its addresses NAK.
 *
 * Not here: 10-bit addresses (not in virtio 1.2), SMBus-only host
 * adapters, any config space (virtio-i2c has none).
 */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <linux/virtio_i2c.h>
#include <linux/virtio_ids.h>

#include "device.h"
#include "i2c-rtc.h"
#include "loop.h"

#define I2C_QUEUE_SIZE		64
#define I2C_MAX_LEN		8192	/* per message, as i2c-dev's I2C_RDWR */
#define I2C_BATCH		I2C_RDWR_IOCTL_MAX_MSGS
/* 7-bit addresses outside the I2C spec's reserved ones (UM10204 3.1.12) */
#define I2C_ADDR_MIN		0x08
#define I2C_ADDR_MAX		0x77
#define I2C_NR_ADDRS		128
#define I2C_NO_ADDR		0xff
#define I2C_KNOWN_FLAGS		(VIRTIO_I2C_FLAGS_FAIL_NEXT | \
				 VIRTIO_I2C_FLAGS_M_RD)

/* One request of the transfer being gathered. */
struct i2c_req {
	struct vmsg_chain chain;
	uint8_t *data;			/* bounce buffer, I2C_MAX_LEN bytes */
	uint32_t len;			/* data bytes */
	uint32_t flags;			/* virtio_i2c_out_hdr.flags */
	uint8_t addr;			/* 7-bit target address */
	bool valid;			/* header checked; else answered ERR */
	uint8_t st;			/* VIRTIO_I2C_MSG_* once executed */
};

struct i2c_dev {
	struct vmsg_dev *dev;
	struct i2c_req *batch;		/* I2C_BATCH requests */
	uint8_t *arena;			/* their data: I2C_MAX_LEN each */
	unsigned int nbatch;		/* requests gathered, not executed */
	bool xfer_failed;		/* a FAIL_NEXT request of it failed */
	unsigned int pushed;		/* pushes not yet notified */

	uint8_t rtc_addr;		/* I2C_NO_ADDR: no emulated RTC */
	struct i2c_rtc rtc;
	char *adapter;			/* host adapter path, or NULL */
	int adapter_fd;			/* -1: none, or it vanished */
	dev_t adapter_rdev;
	bool allowed[I2C_NR_ADDRS];	/* host addresses the guest may use */

	int kick_fd;			/* eventfd: deferred work pending */
	bool kick_pending;
	bool started;			/* between start() and reset() */
	struct vmsg_ratelimit rl;	/* peer-triggered logs */
	struct vmsg_ratelimit host_rl;	/* host adapter errors */
};

static int64_t i2c_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Record a request's result. A failed request with FAIL_NEXT fails the
 * rest of its transfer; the transfer ends with a request without it.
 */
static void i2c_done(struct i2c_dev *d, struct i2c_req *req, bool ok)
{
	req->st = ok ? VIRTIO_I2C_MSG_OK : VIRTIO_I2C_MSG_ERR;
	if (!(req->flags & VIRTIO_I2C_FLAGS_FAIL_NEXT))
		d->xfer_failed = false;
	else if (!ok)
		d->xfer_failed = true;
}

/* --- the targets ---------------------------------------------------------- */

/* The emulated RTC acknowledges every message. */
static bool i2c_rtc_xfer(struct i2c_dev *d, struct i2c_req *req)
{
	int64_t now = i2c_now_ns();

	if (req->flags & VIRTIO_I2C_FLAGS_M_RD) {
		i2c_rtc_read(&d->rtc, now, req->data, req->len);
		return true;
	}
	if (!i2c_rtc_write(&d->rtc, now, req->data, req->len))
		vmsg_log_rl(&d->rl, VMSG_LOG_WARN,
			    "%s: rtc: illegal time or date written, ignored (%llu times)",
			    d->dev->name,
			    (unsigned long long)d->rtc.illegal_writes);
	return true;
}

/*
 * Did the host adapter go away? ENODEV and ESHUTDOWN are what adapters
 * whose hardware is gone return (USB ones); other errors, ENXIO above all
 * (an address nobody acknowledged: Documentation/i2c/fault-codes.rst),
 * mean the adapter is gone only if its character device left sysfs.
 */
static bool i2c_host_vanished(const struct i2c_dev *d, int err)
{
	char path[64];

	if (err == ENODEV || err == ESHUTDOWN)
		return true;
	if (access("/sys/dev/char", F_OK))
		return false;	/* no sysfs here: cannot tell */
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u",
		 major(d->adapter_rdev), minor(d->adapter_rdev));
	return access(path, F_OK) && errno == ENOENT;
}

static bool i2c_host_eligible(const struct i2c_dev *d,
			      const struct i2c_req *req)
{
	return req->valid && d->adapter_fd >= 0 && d->allowed[req->addr];
}

/* How many requests from first on go to the host in one I2C_RDWR. */
static unsigned int i2c_host_run(const struct i2c_dev *d, unsigned int first)
{
	unsigned int i = first + 1;

	while (i < d->nbatch && i2c_host_eligible(d, &d->batch[i]) &&
	       (d->batch[i - 1].flags & VIRTIO_I2C_FLAGS_FAIL_NEXT))
		i++;
	return i - first;
}

/*
 * Requests first.. of one transfer to the host adapter, as one I2C_RDWR.
 * Returns how many were done, or -EIO if the adapter vanished and the
 * device failed.
 */
static int i2c_host_xfer(struct i2c_dev *d, unsigned int first)
{
	struct i2c_msg msgs[I2C_BATCH];
	struct i2c_rdwr_ioctl_data rdwr = { .msgs = msgs };
	unsigned int n = i2c_host_run(d, first), k, done = 0;
	struct i2c_req *req;
	int ret, err;

	for (k = 0; k < n; k++) {
		req = &d->batch[first + k];
		msgs[k] = (struct i2c_msg){
			.addr = req->addr,
			.flags = req->flags & VIRTIO_I2C_FLAGS_M_RD ?
				 I2C_M_RD : 0,
			.len = (uint16_t)req->len,
			.buf = req->data,
		};
	}
	rdwr.nmsgs = n;
	ret = ioctl(d->adapter_fd, I2C_RDWR, &rdwr);
	err = errno;
	if (ret < 0 && i2c_host_vanished(d, err)) {
		close(d->adapter_fd);
		d->adapter_fd = -1;
		vmsg_dev_fail(d->dev, "host adapter %s vanished: %s",
			      d->adapter, strerror(err));
		return -EIO;
	}
	if (ret < 0)
		vmsg_log_rl(&d->host_rl, VMSG_LOG_DEBUG,
			    "%s: %s: I2C_RDWR to 0x%02x: %s",
			    d->dev->name, d->adapter, msgs[0].addr,
			    strerror(err));
	else
		done = (unsigned int)ret < n ? (unsigned int)ret : n;
	for (k = 0; k < n; k++)
		i2c_done(d, &d->batch[first + k], k < done);
	return (int)n;
}

/* --- transfers ------------------------------------------------------------ */

/* Execute batch[i] (and what goes with it): requests done, or -EIO. */
static int i2c_exec(struct i2c_dev *d, unsigned int i)
{
	struct i2c_req *req = &d->batch[i];
	bool ok = false;

	if (!d->xfer_failed && req->valid && req->addr == d->rtc_addr)
		ok = i2c_rtc_xfer(d, req);
	else if (!d->xfer_failed && i2c_host_eligible(d, req))
		return i2c_host_xfer(d, i);
	/* Otherwise nobody acknowledges the address: a NAK. */
	i2c_done(d, req, ok);
	return 1;
}

/* Status (and read data) into the chain, then return it. 0 or -EIO. */
static int i2c_complete(struct i2c_dev *d, struct i2c_req *req)
{
	const struct vmsg_chain *c = &req->chain;
	uint32_t in_len = (uint32_t)c->in_len;
	int ret;

	if (req->st == VIRTIO_I2C_MSG_OK &&
	    (req->flags & VIRTIO_I2C_FLAGS_M_RD))
		vmsg_chain_to_iov(c, 0, req->data, req->len);
	vmsg_chain_to_iov(c, in_len - 1, &req->st, 1);
	/* A refused push has failed (and reset) the device already. */
	ret = vmsg_dev_push(d->dev, 0, c->head, in_len);
	if (!ret)
		d->pushed++;
	return ret;
}

/* Execute and return every gathered request, in order. 0 or -EIO. */
static int i2c_flush(struct i2c_dev *d)
{
	unsigned int i = 0, n = d->nbatch;
	int ret;

	while (i < n) {
		ret = i2c_exec(d, i);
		if (ret < 0)
			return ret;
		i += (unsigned int)ret;
	}
	d->nbatch = 0;
	for (i = 0; i < n; i++) {
		ret = i2c_complete(d, &d->batch[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* --- taking requests ------------------------------------------------------ */

static int i2c_malformed(struct i2c_dev *d, uint16_t head, const char *why)
{
	vmsg_dev_fail(d->dev, "chain %u: %s", head, why);
	return -EIO;
}

/* NULL if the header asks for something we can do, else why not. */
static const char *i2c_check_hdr(const struct i2c_dev *d,
				 const struct i2c_req *req,
				 const struct virtio_i2c_out_hdr *hdr)
{
	if (req->flags & ~I2C_KNOWN_FLAGS || hdr->padding)
		return "reserved bits set";
	/* 7-bit address << 1; the low bit and the high byte must be 0. */
	if (le16toh(hdr->addr) & ~0xfe)
		return "not a 7-bit address";
	if (!req->len &&
	    !vmsg_dev_has_feature(d->dev, VIRTIO_I2C_F_ZERO_LENGTH_REQUEST))
		return "zero-length request not negotiated";
	if (req->len > I2C_MAX_LEN)
		return "longer than 8192 bytes";
	return NULL;
}

/*
 * Check the chain's shape and the header, and copy out a write's data.
 * 0, or -EIO if the chain is malformed (the device failed).
 */
static int i2c_parse(struct i2c_dev *d, struct i2c_req *req)
{
	const struct vmsg_chain *c = &req->chain;
	struct virtio_i2c_out_hdr hdr;
	const char *why;
	bool rd;

	if (c->out_len < sizeof(hdr) || !c->in_len)
		return i2c_malformed(d, c->head, "no request header or status");
	vmsg_chain_from_iov(c, 0, &hdr, sizeof(hdr));
	req->flags = le32toh(hdr.flags);
	rd = req->flags & VIRTIO_I2C_FLAGS_M_RD;
	if (rd && c->out_len != sizeof(hdr))
		return i2c_malformed(d, c->head, "read with readable data");
	if (!rd && c->in_len != 1)
		return i2c_malformed(d, c->head, "write with writable data");
	req->len = (uint32_t)(rd ? c->in_len - 1 : c->out_len - sizeof(hdr));
	req->addr = (le16toh(hdr.addr) >> 1) & (I2C_NR_ADDRS - 1);
	why = i2c_check_hdr(d, req, &hdr);
	req->valid = !why;
	if (why)
		vmsg_log_rl(&d->rl, VMSG_LOG_WARN, "%s: request %u: %s",
			    d->dev->name, c->head, why);
	else if (!rd)
		vmsg_chain_from_iov(c, sizeof(hdr), req->data, req->len);
	return 0;
}

/* Pop the next chain into the batch: 1, 0 (queue empty) or -EIO. */
static int i2c_take(struct i2c_dev *d)
{
	struct i2c_req *req = &d->batch[d->nbatch];
	int ret;

	ret = vmsg_vq_pop(&d->dev->vqs[0], &req->chain);
	if (ret < 0)
		vmsg_dev_fail(d->dev, "broken ring");
	if (ret <= 0)
		return ret;
	ret = i2c_parse(d, req);
	if (ret)
		return ret;
	d->nbatch++;
	return 1;
}

/* A transfer is complete, or as long as one I2C_RDWR can be. */
static bool i2c_batch_ready(const struct i2c_dev *d)
{
	return d->nbatch == I2C_BATCH ||
	       !(d->batch[d->nbatch - 1].flags & VIRTIO_I2C_FLAGS_FAIL_NEXT);
}

/* Take one chain, and run its transfer if complete: 1, 0 (empty), -EIO. */
static int i2c_step(struct i2c_dev *d, unsigned int *budget)
{
	int ret = i2c_take(d);

	if (ret <= 0)
		return ret;
	(*budget)--;
	if (!i2c_batch_ready(d))
		return 1;
	ret = i2c_flush(d);
	return ret < 0 ? ret : 1;
}

/* Steps while budget lasts: 1 (queue empty), 0 (budget used up), -EIO. */
static int i2c_drain(struct i2c_dev *d, unsigned int *budget)
{
	int ret;

	while (*budget) {
		ret = i2c_step(d, budget);
		if (ret <= 0)
			return ret < 0 ? ret : 1;
	}
	return 0;
}

/* Ask the loop to call us again soon, instead of looping on here. */
static void i2c_defer(struct i2c_dev *d)
{
	uint64_t one = 1;

	if (d->kick_pending)
		return;
	if (write(d->kick_fd, &one, sizeof(one)) == sizeof(one))
		d->kick_pending = true;
}

/*
 * Serve the queue with notifications off; when it looks empty, turn them
 * on and look once more, closing the race with a driver adding buffers
 * meanwhile (virtio 1.2 2.7.10). A transfer still incomplete when the
 * queue is empty runs as it is (its FAIL_NEXT state carries over); one cut
 * by the budget waits for the deferred turn to gather the rest.
 */
static void i2c_run(struct i2c_dev *d)
{
	struct vmsg_vq *vq = &d->dev->vqs[0];
	unsigned int budget = vq->size;
	int ret;

	for (;;) {
		vmsg_vq_set_notify(vq, false);
		ret = i2c_drain(d, &budget);
		if (ret < 0)
			return;
		if (!ret) {
			i2c_defer(d);
			break;
		}
		vmsg_vq_set_notify(vq, true);
		ret = i2c_step(d, &budget);
		if (ret < 0)
			return;
		if (!ret) {
			/* Empty: run a transfer the driver left incomplete. */
			if (i2c_flush(d))
				return;
			break;
		}
	}
	if (d->pushed) {
		d->pushed = 0;
		vmsg_dev_notify_used(d->dev, 0);
	}
}

static void i2c_kick_cb(void *opaque, uint32_t events)
{
	struct i2c_dev *d = opaque;
	uint64_t val;

	/* Reset the counter; EAGAIN only means it was already 0. */
	if (read(d->kick_fd, &val, sizeof(val)) < 0 && errno != EAGAIN)
		vmsg_log_rl(&d->rl, VMSG_LOG_ERR, "%s: eventfd: %s",
			    d->dev->name, strerror(errno));
	d->kick_pending = false;
	if (d->started && !d->dev->broken && vmsg_vq_ready(&d->dev->vqs[0]))
		i2c_run(d);
}

/* --- creation ------------------------------------------------------------- */

/* One 7-bit address, decimal or 0x-hex, in [I2C_ADDR_MIN, I2C_ADDR_MAX]. */
static int i2c_parse_addr(const char *s, size_t n, uint8_t *addr)
{
	char buf[8], *end;
	unsigned long v;
	int base = 10;

	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))
		base = 16;
	if (!isxdigit((unsigned char)buf[base == 16 ? 2 : 0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(buf, &end, base);
	if (errno || *end || v < I2C_ADDR_MIN || v > I2C_ADDR_MAX)
		return -EINVAL;
	*addr = (uint8_t)v;
	return 0;
}

/* "0x50:0x51:..." into d->allowed. */
static int i2c_parse_allow(struct i2c_dev *d, const char *list, char *err,
			   size_t errlen)
{
	const char *s = list, *colon;
	uint8_t addr;
	size_t n;

	for (;;) {
		colon = strchr(s, ':');
		n = colon ? (size_t)(colon - s) : strlen(s);
		if (i2c_parse_addr(s, n, &addr)) {
			snprintf(err, errlen,
				 "i2c: allow=%s: '%.*s' is not an address in 0x%02x-0x%02x",
				 list, (int)n, s, I2C_ADDR_MIN, I2C_ADDR_MAX);
			return -EINVAL;
		}
		d->allowed[addr] = true;
		if (!colon)
			return 0;
		s = colon + 1;
	}
}

static int i2c_parse_rtc(struct i2c_dev *d, struct vmsg_spec *spec,
			 char *err, size_t errlen)
{
	const char *val = vmsg_spec_get(spec, "rtc");

	d->rtc_addr = I2C_NO_ADDR;
	if (val && i2c_parse_addr(val, strlen(val), &d->rtc_addr)) {
		snprintf(err, errlen,
			 "i2c: rtc=%s: not an address in 0x%02x-0x%02x", val,
			 I2C_ADDR_MIN, I2C_ADDR_MAX);
		return -EINVAL;
	}
	return 0;
}

static int i2c_parse_spec(struct i2c_dev *d, struct vmsg_spec *spec,
			  const char **path, char *err, size_t errlen)
{
	const char *allow;
	int ret;

	ret = i2c_parse_rtc(d, spec, err, errlen);
	if (ret)
		return ret;
	*path = vmsg_spec_get(spec, "adapter");
	allow = vmsg_spec_get(spec, "allow");
	if (*path && !**path) {
		snprintf(err, errlen,
			 "i2c: adapter needs a value: adapter=PATH");
		return -EINVAL;
	}
	if (allow && !*path) {
		snprintf(err, errlen, "i2c: allow= needs adapter=PATH");
		return -EINVAL;
	}
	if (*path && (!allow || !*allow)) {
		snprintf(err, errlen,
			 "i2c: adapter=%s: missing allow=ADDR[:ADDR...]",
			 *path);
		return -EINVAL;
	}
	if (allow && i2c_parse_allow(d, allow, err, errlen))
		return -EINVAL;
	if (d->rtc_addr != I2C_NO_ADDR && d->allowed[d->rtc_addr]) {
		snprintf(err, errlen, "i2c: rtc=0x%02x: also in allow=",
			 d->rtc_addr);
		return -EINVAL;
	}
	if (d->rtc_addr == I2C_NO_ADDR && !*path) {
		snprintf(err, errlen, "i2c: needs rtc=ADDR or adapter=PATH");
		return -EINVAL;
	}
	return 0;
}

/* Why path is not an adapter we can use, or NULL. */
static const char *i2c_check_adapter(struct i2c_dev *d, char *why,
				     size_t len)
{
	unsigned long funcs;
	struct stat st;

	if (fstat(d->adapter_fd, &st))
		return strerror(errno);
	if (!S_ISCHR(st.st_mode))
		return "not a character device";
	if (ioctl(d->adapter_fd, I2C_FUNCS, &funcs)) {
		snprintf(why, len, "not an i2c-dev adapter (I2C_FUNCS: %s)",
			 strerror(errno));
		return why;
	}
	if (!(funcs & I2C_FUNC_I2C))
		return "adapter cannot do plain I2C transfers (SMBus only)";
	d->adapter_rdev = st.st_rdev;
	return NULL;
}

static int i2c_open_adapter(struct i2c_dev *d, const char *path, char *err,
			    size_t errlen)
{
	const char *why;
	char buf[96];
	int ret;

	d->adapter = strdup(path);
	if (!d->adapter)
		return -ENOMEM;
	d->adapter_fd = open(path, O_RDWR | O_CLOEXEC);
	if (d->adapter_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "i2c: adapter=%s: %s", path,
			 strerror(-ret));
		return ret;
	}
	why = i2c_check_adapter(d, buf, sizeof(buf));
	if (!why)
		return 0;
	snprintf(err, errlen, "i2c: adapter=%s: %s", path, why);
	close(d->adapter_fd);
	d->adapter_fd = -1;
	return -EINVAL;
}

/* The batch, its bounce buffers and the deferred-work eventfd. */
static int i2c_setup(struct i2c_dev *d, char *err, size_t errlen)
{
	unsigned int i;
	int ret;

	d->batch = calloc(I2C_BATCH, sizeof(*d->batch));
	d->arena = calloc(I2C_BATCH, I2C_MAX_LEN);
	if (!d->batch || !d->arena)
		return -ENOMEM;
	for (i = 0; i < I2C_BATCH; i++)
		d->batch[i].data = d->arena + (size_t)i * I2C_MAX_LEN;
	d->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->kick_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "i2c: eventfd: %s", strerror(-ret));
		return ret;
	}
	ret = vmsg_loop_add(d->dev->loop, d->kick_fd, EPOLLIN, i2c_kick_cb, d);
	if (ret)
		snprintf(err, errlen, "i2c: event loop: %s", strerror(-ret));
	return ret;
}

/* Everything create() may have made; kick_fd is not in the loop. */
static void i2c_free(struct i2c_dev *d)
{
	if (d->kick_fd >= 0)
		close(d->kick_fd);
	if (d->adapter_fd >= 0)
		close(d->adapter_fd);
	free(d->adapter);
	free(d->arena);
	free(d->batch);
	free(d);
}

static int i2c_create(struct vmsg_dev *dev, struct vmsg_spec *spec,
		      char *err, size_t errlen)
{
	struct i2c_dev *d;
	const char *path;
	int ret;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->dev = dev;
	d->adapter_fd = -1;
	d->kick_fd = -1;
	ret = i2c_parse_spec(d, spec, &path, err, errlen);
	if (ret)
		goto err_free;
	if (path) {
		ret = i2c_open_adapter(d, path, err, errlen);
		if (ret)
			goto err_free;
	}
	ret = i2c_setup(d, err, errlen);
	if (ret)
		goto err_free;
	i2c_rtc_init(&d->rtc);
	dev->num_queues = 1;
	dev->queue_max_size = I2C_QUEUE_SIZE;
	dev->device_features = 1ULL << VIRTIO_I2C_F_ZERO_LENGTH_REQUEST;
	dev->config = NULL;
	dev->config_size = 0;
	dev->priv = d;
	return 0;

err_free:
	i2c_free(d);
	return ret;
}

/* --- ops ------------------------------------------------------------------ */

static void i2c_destroy(struct vmsg_dev *dev)
{
	struct i2c_dev *d = dev->priv;

	vmsg_loop_del(dev->loop, d->kick_fd);
	i2c_free(d);
	dev->priv = NULL;
}

/*
 * Nothing is in flight outside this thread: dropping the gathered requests
 * is the whole reset. The RTC and the host adapter are targets on the bus,
 * not part of the adapter being reset: their state stays.
 */
static void i2c_reset(struct vmsg_dev *dev)
{
	struct i2c_dev *d = dev->priv;

	d->started = false;
	d->nbatch = 0;
	d->xfer_failed = false;
	d->pushed = 0;
}

static void i2c_start(struct vmsg_dev *dev)
{
	struct i2c_dev *d = dev->priv;

	d->started = true;
	/* Buffers made available before DRIVER_OK had their kick ignored. */
	if (vmsg_vq_ready(&dev->vqs[0]))
		i2c_run(d);
}

static void i2c_notify(struct vmsg_dev *dev, unsigned int vq)
{
	struct i2c_dev *d = dev->priv;

	if (vq == 0 && d->started)
		i2c_run(d);
}

const struct vmsg_dev_ops vmsg_i2c_ops = {
	.type = "i2c",
	.device_id = VIRTIO_ID_I2C_ADAPTER,
	.create = i2c_create,
	.destroy = i2c_destroy,
	.reset = i2c_reset,
	.start = i2c_start,
	.notify = i2c_notify,
};
