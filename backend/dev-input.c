// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-input device model (virtio 1.2 section 5.8): passthrough of one
 * host evdev device, "input,evdev=/dev/input/eventN".
 *
 * While a driver runs the device (DRIVER_OK until reset) the evdev is
 * grabbed (EVIOCGRAB), so its events go to the guest alone, and each
 * struct input_event read from it goes, in order, into one eventq buffer
 * as a struct virtio_input_event. Events stamped before the grab went to
 * the host's own users and are dropped, so a guest never sees what was
 * typed before it attached. The driver's status events (statusq: LEDs,
 * sounds) are written back to the evdev if the host device has that LED or
 * sound, and dropped otherwise. The config space answers the driver's
 * select/subsel from the evdev's own ioctls.
 *
 * Memory is bounded: the model holds at most one read's worth of events.
 * Out of eventq buffers, it stops reading until the driver adds some, and
 * the kernel's evdev buffer absorbs the rest or drops it (evdev then
 * queues SYN_DROPPED itself). Nothing is read while no driver runs it.
 *
 * Not here: timestamps (virtio-input has none), force feedback, EV_REP
 * (the host's own autorepeat events pass through instead), re-syncing key
 * state after SYN_DROPPED, and following a device that is unplugged and
 * plugged back: an evdev that goes away fails the device (NEEDS_RESET).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/input.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_input.h>

#include "device.h"
#include "loop.h"

#define INPUT_EVENTQ		0
#define INPUT_STATUSQ		1
#define INPUT_QUEUE_SIZE	64	/* Linux posts 64 event buffers */
#define INPUT_EVENT_LEN		sizeof(struct virtio_input_event)
/* Events taken per read(), and reads per turn of the loop. */
#define INPUT_BATCH		64
#define INPUT_BATCHES		4

/* The config's answer: 128 bytes, a string, a bitmap or a struct. */
#define INPUT_BITMAP_BYTES	128
#define INPUT_STRING_BYTES	128
_Static_assert(sizeof(((struct virtio_input_config *)0)->u.bitmap) ==
	       INPUT_BITMAP_BYTES, "virtio 1.2 5.8.5: u is 128 bytes");
_Static_assert(sizeof(((struct virtio_input_config *)0)->u.string) ==
	       INPUT_STRING_BYTES, "virtio 1.2 5.8.5: u is 128 bytes");
#define INPUT_LONG_BITS		(sizeof(unsigned long) * CHAR_BIT)
#define INPUT_LONGS(bits)	(((bits) + INPUT_LONG_BITS - 1) / \
				 INPUT_LONG_BITS)

/*
 * An eventq buffer taken off the ring and not filled yet: the chain's
 * first 8 writable bytes, as segments of the iovecs the ring engine
 * checked (trimmed, as blk trims off its status byte).
 */
struct input_buf {
	uint16_t head;
	unsigned int nseg;
	struct iovec seg[INPUT_EVENT_LEN];
};

struct input_dev {
	struct vmsg_dev *dev;
	char *path;
	int fd;				/* -1 once the evdev is gone */
	bool started;			/* between start() and reset() */
	bool grabbed;
	bool reading;			/* fd watched for EPOLLIN */
	uint64_t grab_us;		/* events stamped before: dropped */
	struct virtio_input_config config;
	/* What the statusq may set on the host, read at create(). */
	unsigned long led_bits[INPUT_LONGS(LED_CNT)];
	unsigned long snd_bits[INPUT_LONGS(SND_CNT)];
	/* Events read, not delivered: pend[pend_head, pend_head + npend) */
	struct input_event pend[INPUT_BATCH];
	unsigned int pend_head;
	unsigned int npend;
	/* Buffers taken from the eventq, oldest first, in a ring. */
	struct input_buf bufs[INPUT_QUEUE_SIZE];
	unsigned int buf_head;
	unsigned int nbufs;
	struct vmsg_chain chain;	/* scratch, one chain at a time */
	uint64_t status_dropped;
	struct vmsg_ratelimit rl;	/* host-side and status logs */
};

static bool input_test_bit(const unsigned long *bits, unsigned int bit)
{
	return (bits[bit / INPUT_LONG_BITS] >> (bit % INPUT_LONG_BITS)) & 1;
}

/* --- the evdev ------------------------------------------------------------ */

/* Read the evdev (EPOLLIN) or not; a hang-up is reported either way. */
static void input_watch(struct input_dev *in, bool on)
{
	int ret;

	if (in->fd < 0 || in->reading == on)
		return;
	ret = vmsg_loop_mod(in->dev->loop, in->fd, on ? EPOLLIN : 0);
	if (ret) {
		vmsg_log_rl(&in->rl, VMSG_LOG_ERR, "%s: event loop: %s",
			    in->dev->name, strerror(-ret));
		return;
	}
	in->reading = on;
}

/*
 * The evdev went away (unplugged, revoked) or broke: close it for good and
 * fail the device if a driver runs it; start() fails it otherwise.
 */
static void input_gone(struct input_dev *in, const char *why)
{
	struct vmsg_dev *dev = in->dev;

	vmsg_loop_del(dev->loop, in->fd);
	close(in->fd);
	in->fd = -1;
	in->grabbed = false;
	in->reading = false;
	if (in->started)
		vmsg_dev_fail(dev, "evdev %s: %s", in->path, why);
	else
		vmsg_warn("%s: evdev %s: %s", dev->name, in->path, why);
}

static uint64_t input_event_us(const struct input_event *ev)
{
	return (uint64_t)ev->input_event_sec * 1000000 + ev->input_event_usec;
}

/* Drop the leading events stamped before the grab; after one, none is. */
static void input_drop_stale(struct input_dev *in)
{
	while (in->grab_us && in->npend) {
		if (input_event_us(&in->pend[in->pend_head]) >= in->grab_us) {
			in->grab_us = 0;
			break;
		}
		in->pend_head++;
		in->npend--;
	}
}

/*
 * One read() of up to a batch into the (empty) pending list. 1: read, but
 * possibly only stale events; 0: nothing to read; -ENODEV: the evdev is
 * gone (and the device failed). evdev returns whole events only.
 */
static int input_read(struct input_dev *in)
{
	ssize_t n = read(in->fd, in->pend, sizeof(in->pend));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0 || n % sizeof(in->pend[0])) {
		input_gone(in, n < 0 ? strerror(errno) :
			       n ? "read returned a partial event" :
				   "end of file");
		return -ENODEV;
	}
	in->pend_head = 0;
	in->npend = n / sizeof(in->pend[0]);
	input_drop_stale(in);
	return 1;
}

/* EPOLLHUP/EPOLLERR: one read tells why (evdev: ENODEV once unplugged). */
static void input_hangup(struct input_dev *in)
{
	struct input_event ev;
	ssize_t n = read(in->fd, &ev, sizeof(ev));

	input_gone(in, n < 0 && errno != EAGAIN ? strerror(errno) : "hang-up");
}

/* --- eventq --------------------------------------------------------------- */

/* Map the first 8 writable bytes of c into b; false if it has fewer. */
static bool input_buf_map(const struct vmsg_chain *c, struct input_buf *b)
{
	const struct iovec *iov = vmsg_chain_in(c);
	size_t left = INPUT_EVENT_LEN, n;
	unsigned int i;

	b->head = c->head;
	b->nseg = 0;
	for (i = 0; i < c->n_in && left; i++) {
		n = iov[i].iov_len < left ? iov[i].iov_len : left;
		if (!n)
			continue;
		b->seg[b->nseg].iov_base = iov[i].iov_base;
		b->seg[b->nseg].iov_len = n;
		b->nseg++;
		left -= n;
	}
	return !left;
}

/* Take one eventq chain into bufs: 1, 0 (none or no room), -EIO (failed). */
static int input_take(struct input_dev *in)
{
	struct vmsg_dev *dev = in->dev;
	struct input_buf *b;
	int ret;

	if (in->nbufs == INPUT_QUEUE_SIZE)
		return 0;
	ret = vmsg_vq_pop(&dev->vqs[INPUT_EVENTQ], &in->chain);
	if (ret < 0)
		vmsg_dev_fail(dev, "eventq: broken ring");
	if (ret <= 0)
		return ret;
	b = &in->bufs[(in->buf_head + in->nbufs) % INPUT_QUEUE_SIZE];
	if (!input_buf_map(&in->chain, b)) {
		vmsg_dev_fail(dev,
			      "eventq chain %u: %llu writable bytes, an event needs %zu",
			      in->chain.head,
			      (unsigned long long)in->chain.in_len,
			      INPUT_EVENT_LEN);
		return -EIO;
	}
	in->nbufs++;
	return 1;
}

static int input_take_all(struct input_dev *in)
{
	int ret;

	do {
		ret = input_take(in);
	} while (ret > 0);
	return ret;
}

/*
 * Take every buffer the driver made available. Kicks are only wanted while
 * we hold none; after asking for them, look once more for buffers added
 * in between (virtio 1.2 section 2.7.10). 0, or -EIO: the device failed.
 */
static int input_refill(struct input_dev *in)
{
	struct vmsg_vq *vq = &in->dev->vqs[INPUT_EVENTQ];
	int ret;

	ret = input_take_all(in);
	if (!ret && !in->nbufs) {
		vmsg_vq_set_notify(vq, true);
		ret = input_take_all(in);
	}
	if (!ret && in->nbufs)
		vmsg_vq_set_notify(vq, false);
	return ret;
}

/* Write ev into the oldest buffer and push it. 0, or <0: device failed. */
static int input_deliver(struct input_dev *in, const struct input_event *ev)
{
	struct virtio_input_event vev = {
		.type = htole16(ev->type),
		.code = htole16(ev->code),
		.value = htole32((uint32_t)ev->value),
	};
	struct input_buf *b = &in->bufs[in->buf_head];
	const uint8_t *src = (const uint8_t *)&vev;
	unsigned int i;

	for (i = 0; i < b->nseg; i++) {
		memcpy(b->seg[i].iov_base, src, b->seg[i].iov_len);
		src += b->seg[i].iov_len;
	}
	in->buf_head = (in->buf_head + 1) % INPUT_QUEUE_SIZE;
	in->nbufs--;
	/* A refused push has failed (and reset) the device already. */
	return vmsg_dev_push(in->dev, INPUT_EVENTQ, b->head, INPUT_EVENT_LEN);
}

/* Is there an event to deliver? Reads the evdev while *reads lasts. */
static bool input_have_event(struct input_dev *in, unsigned int *reads)
{
	while (!in->npend && in->started) {
		if (!*reads || input_read(in) <= 0)
			return false;
		(*reads)--;
	}
	return in->npend;
}

/*
 * Deliver events, oldest first, while there are events and buffers. At
 * most INPUT_BATCHES reads per call, so a chatty device cannot pin the
 * loop: the fd stays readable and the loop comes back. Out of buffers,
 * stop reading until the driver adds some. The driver gets one EVENT_USED
 * for the lot; its input core applies them at each SYN_REPORT anyway.
 */
static void input_pump(struct input_dev *in)
{
	unsigned int reads = INPUT_BATCHES, pushed = 0;

	while (input_have_event(in, &reads)) {
		if (!in->nbufs && input_refill(in))
			return;
		if (!in->nbufs) {
			input_watch(in, false);
			break;
		}
		if (input_deliver(in, &in->pend[in->pend_head]))
			return;
		in->pend_head++;
		in->npend--;
		pushed++;
	}
	if (pushed)
		vmsg_dev_notify_used(in->dev, INPUT_EVENTQ);
}

static void input_fd_cb(void *opaque, uint32_t events)
{
	struct input_dev *in = opaque;

	if (events & (EPOLLERR | EPOLLHUP))
		input_hangup(in);
	else if (in->started && in->reading)
		input_pump(in);
}

/* --- statusq -------------------------------------------------------------- */

/* May the driver set this on the host device? Only its own LEDs, sounds. */
static bool input_status_allowed(const struct input_dev *in,
				 const struct input_event *ev)
{
	if (ev->type == EV_LED)
		return ev->code < LED_CNT &&
		       input_test_bit(in->led_bits, ev->code);
	if (ev->type == EV_SND)
		return ev->code < SND_CNT &&
		       input_test_bit(in->snd_bits, ev->code);
	return false;
}

/* One status event: written to the evdev, which passes it on, or dropped. */
static void input_status_event(struct input_dev *in,
			       const struct virtio_input_event *vev)
{
	struct input_event ev = {
		.type = le16toh(vev->type),
		.code = le16toh(vev->code),
		.value = (int32_t)le32toh(vev->value),
	};

	if (!input_status_allowed(in, &ev)) {
		in->status_dropped++;
		vmsg_log_rl(&in->rl, VMSG_LOG_DEBUG,
			    "%s: status event type %u code %u dropped (%llu)",
			    in->dev->name, ev.type, ev.code,
			    (unsigned long long)in->status_dropped);
		return;
	}
	if (write(in->fd, &ev, sizeof(ev)) != (ssize_t)sizeof(ev))
		vmsg_log_rl(&in->rl, VMSG_LOG_WARN, "%s: evdev %s: write: %s",
			    in->dev->name, in->path, strerror(errno));
}

/* Serve one statusq chain: 1 served, 0 none, <0 the device failed. */
static int input_status_one(struct input_dev *in)
{
	struct vmsg_dev *dev = in->dev;
	struct virtio_input_event vev;
	int ret;

	ret = vmsg_vq_pop(&dev->vqs[INPUT_STATUSQ], &in->chain);
	if (ret < 0)
		vmsg_dev_fail(dev, "statusq: broken ring");
	if (ret <= 0)
		return ret;
	if (in->chain.out_len < sizeof(vev)) {
		vmsg_dev_fail(dev,
			      "statusq chain %u: %llu readable bytes, an event needs %zu",
			      in->chain.head,
			      (unsigned long long)in->chain.out_len,
			      sizeof(vev));
		return -EIO;
	}
	vmsg_chain_from_iov(&in->chain, 0, &vev, sizeof(vev));
	input_status_event(in, &vev);
	ret = vmsg_dev_push(dev, INPUT_STATUSQ, in->chain.head, 0);
	return ret < 0 ? ret : 1;
}

/*
 * Serve the statusq, at most a queue's worth of chains per call: a driver
 * that refills faster than that waits for its next kick. Kicks stay
 * wanted; after re-arming them (EVENT_IDX) look once more (2.7.10).
 */
static void input_status_run(struct input_dev *in)
{
	struct vmsg_vq *vq = &in->dev->vqs[INPUT_STATUSQ];
	unsigned int budget = vq->size, served = 0;
	bool armed = false;
	int ret;

	while (budget) {
		ret = input_status_one(in);
		if (ret < 0)
			return;
		if (ret) {
			budget--;
			served++;
			continue;
		}
		if (armed)
			break;
		vmsg_vq_set_notify(vq, true);
		armed = true;
	}
	if (!armed)
		vmsg_vq_set_notify(vq, true);
	if (served)
		vmsg_dev_notify_used(in->dev, INPUT_STATUSQ);
}

/* --- config space --------------------------------------------------------- */

/* A string ioctl (name, uniq) into out, unterminated; its length. */
static unsigned int input_string(int fd, unsigned long req, char *out)
{
	char buf[INPUT_STRING_BYTES] = "";
	size_t len;

	if (ioctl(fd, req, buf) < 0)
		return 0;
	len = strnlen(buf, sizeof(buf));
	memcpy(out, buf, len);
	return len;
}

/*
 * A bitmap ioctl (req's size must be INPUT_BITMAP_BYTES) into out as
 * virtio lays it out: bit n in byte n / 8, whatever the host's long.
 * Returns its size without trailing zero bytes (0: none set).
 */
static unsigned int input_bitmap(int fd, unsigned long req, uint8_t *out)
{
	unsigned long bits[INPUT_BITMAP_BYTES / sizeof(unsigned long)] = { 0 };
	unsigned int bit, size = 0;
	size_t nbits;
	int got = ioctl(fd, req, bits);

	if (got <= 0)
		return 0;
	nbits = CHAR_BIT * ((size_t)got < sizeof(bits) ? (size_t)got :
							  sizeof(bits));
	for (bit = 0; bit < nbits; bit++) {
		if (!input_test_bit(bits, bit))
			continue;
		out[bit / CHAR_BIT] |= 1U << (bit % CHAR_BIT);
		size = bit / CHAR_BIT + 1;
	}
	return size;
}

static unsigned int input_devids(int fd, struct virtio_input_devids *out)
{
	struct input_id id;

	if (ioctl(fd, EVIOCGID, &id) < 0)
		return 0;
	out->bustype = htole16(id.bustype);
	out->vendor = htole16(id.vendor);
	out->product = htole16(id.product);
	out->version = htole16(id.version);
	return sizeof(*out);
}

/*
 * The codes of event type subsel. EV_SYN's "codes" would be the type
 * bitmap, and EVIOCGBIT past EV_MAX would be another ioctl altogether.
 * Types evdev has no bitmap for (EV_REP) answer nothing.
 */
static unsigned int input_ev_bits(int fd, uint8_t type, uint8_t *out)
{
	if (!type || type > EV_MAX)
		return 0;
	return input_bitmap(fd, EVIOCGBIT(type, INPUT_BITMAP_BYTES), out);
}

/* One axis the device has; EVIOCGABS past ABS_MAX is another ioctl. */
static unsigned int input_abs_info(int fd, uint8_t axis,
				   struct virtio_input_absinfo *out)
{
	unsigned long bits[INPUT_LONGS(ABS_CNT)] = { 0 };
	struct input_absinfo ai;

	if (axis > ABS_MAX ||
	    ioctl(fd, EVIOCGBIT(EV_ABS, sizeof(bits)), bits) < 0 ||
	    !input_test_bit(bits, axis) || ioctl(fd, EVIOCGABS(axis), &ai) < 0)
		return 0;
	out->min = htole32((uint32_t)ai.minimum);
	out->max = htole32((uint32_t)ai.maximum);
	out->fuzz = htole32((uint32_t)ai.fuzz);
	out->flat = htole32((uint32_t)ai.flat);
	out->res = htole32((uint32_t)ai.resolution);
	return sizeof(*out);
}

/* The size of the answer to select/subsel, written into cfg->u. */
static unsigned int input_answer_select(int fd, struct virtio_input_config *cfg)
{
	switch (cfg->select) {
	case VIRTIO_INPUT_CFG_ID_NAME:
		return cfg->subsel ? 0 :
		       input_string(fd, EVIOCGNAME(INPUT_STRING_BYTES),
				    cfg->u.string);
	case VIRTIO_INPUT_CFG_ID_SERIAL:
		return cfg->subsel ? 0 :
		       input_string(fd, EVIOCGUNIQ(INPUT_STRING_BYTES),
				    cfg->u.string);
	case VIRTIO_INPUT_CFG_ID_DEVIDS:
		return cfg->subsel ? 0 : input_devids(fd, &cfg->u.ids);
	case VIRTIO_INPUT_CFG_PROP_BITS:
		return cfg->subsel ? 0 :
		       input_bitmap(fd, EVIOCGPROP(INPUT_BITMAP_BYTES),
				    cfg->u.bitmap);
	case VIRTIO_INPUT_CFG_EV_BITS:
		return input_ev_bits(fd, cfg->subsel, cfg->u.bitmap);
	case VIRTIO_INPUT_CFG_ABS_INFO:
		return input_abs_info(fd, cfg->subsel, &cfg->u.abs);
	default:
		return 0;
	}
}

/*
 * The driver wrote select and/or subsel (virtio 1.2 5.8.5): answer in size
 * and u before its SET_CONFIG is answered, so the GET_CONFIG that follows
 * reads it. No generation bump: the change is the driver's own doing (see
 * docs/devices.md). Nothing else of the config space is writable.
 */
static int input_config_write(struct vmsg_dev *dev, uint32_t off,
			      const uint8_t *data, uint32_t len)
{
	struct input_dev *in = dev->priv;
	struct virtio_input_config *cfg = &in->config;

	if (off + len > offsetof(struct virtio_input_config, size))
		return -EINVAL;
	memcpy((uint8_t *)cfg + off, data, len);
	memset(&cfg->u, 0, sizeof(cfg->u));
	cfg->size = in->fd < 0 ? 0 : input_answer_select(in->fd, cfg);
	return 0;
}

/* --- creation and ops ----------------------------------------------------- */

/* Open the evdev, check that it is one, read what the statusq needs. */
static int input_open(struct input_dev *in, char *err, size_t errlen)
{
	int version, clock = CLOCK_MONOTONIC, ret;
	const char *why = "not an evdev device";

	in->fd = open(in->path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (in->fd < 0) {
		ret = -errno;
		why = strerror(errno);
		goto err;
	}
	ret = -EINVAL;
	if (ioctl(in->fd, EVIOCGVERSION, &version) < 0)
		goto err_close;
	/* Stamps on the clock start() reads, which no one can set. */
	if (ioctl(in->fd, EVIOCSCLOCKID, &clock) < 0) {
		why = "cannot use CLOCK_MONOTONIC stamps (EVIOCSCLOCKID)";
		goto err_close;
	}
	if (ioctl(in->fd, EVIOCGBIT(EV_LED, sizeof(in->led_bits)),
		  in->led_bits) < 0 ||
	    ioctl(in->fd, EVIOCGBIT(EV_SND, sizeof(in->snd_bits)),
		  in->snd_bits) < 0)
		goto err_close;
	return 0;

err_close:
	close(in->fd);
err:
	snprintf(err, errlen, "input: evdev=%s: %s", in->path, why);
	return ret;
}

static int input_create(struct vmsg_dev *dev, struct vmsg_spec *spec,
			char *err, size_t errlen)
{
	const char *path = vmsg_spec_get(spec, "evdev");
	struct input_dev *in;
	int ret;

	if (!path || !*path) {
		snprintf(err, errlen, "input: missing evdev=");
		return -EINVAL;
	}
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->dev = dev;
	in->path = strdup(path);
	ret = -ENOMEM;
	if (!in->path)
		goto err_free;
	ret = input_open(in, err, errlen);
	if (ret)
		goto err_free;
	/* Not read until start(); hang-ups are reported all the same. */
	ret = vmsg_loop_add(dev->loop, in->fd, 0, input_fd_cb, in);
	if (ret) {
		snprintf(err, errlen, "input: event loop: %s", strerror(-ret));
		goto err_close;
	}
	dev->num_queues = 2;
	dev->queue_max_size = INPUT_QUEUE_SIZE;
	dev->device_features = 0;
	dev->config = (uint8_t *)&in->config;
	dev->config_size = sizeof(in->config);
	dev->priv = in;
	return 0;

err_close:
	close(in->fd);
err_free:
	free(in->path);
	free(in);
	return ret;
}

static void input_destroy(struct vmsg_dev *dev)
{
	struct input_dev *in = dev->priv;

	if (in->fd >= 0) {
		vmsg_loop_del(dev->loop, in->fd);
		close(in->fd);
	}
	free(in->path);
	free(in);
	dev->priv = NULL;
	dev->config = NULL;
}

/* Back to the state after create(): released, unread, nothing held. */
static void input_reset(struct vmsg_dev *dev)
{
	struct input_dev *in = dev->priv;

	in->started = false;
	in->npend = 0;
	in->nbufs = 0;
	input_watch(in, false);
	/* Fails only for an evdev that is gone, whose grab went with it. */
	if (in->grabbed && ioctl(in->fd, EVIOCGRAB, (void *)0) < 0)
		vmsg_log_rl(&in->rl, VMSG_LOG_DEBUG, "%s: evdev %s: ungrab: %s",
			    dev->name, in->path, strerror(errno));
	in->grabbed = false;
	memset(&in->config, 0, sizeof(in->config));
}

static uint64_t input_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * DRIVER_OK: grab the evdev and start reading; what the driver queued
 * before DRIVER_OK is served now. Events stamped before the grab are
 * dropped as they are read (input_drop_stale()). Without the evdev, or
 * with another program holding its grab, the device fails.
 */
static void input_start(struct vmsg_dev *dev)
{
	struct input_dev *in = dev->priv;

	if (in->fd < 0) {
		vmsg_dev_fail(dev, "evdev %s is gone", in->path);
		return;
	}
	in->grab_us = input_now_us();
	if (ioctl(in->fd, EVIOCGRAB, (void *)1) < 0) {
		vmsg_dev_fail(dev, "evdev %s: grab: %s", in->path,
			      strerror(errno));
		return;
	}
	in->grabbed = true;
	in->started = true;
	input_status_run(in);
	if (!in->started || input_refill(in))
		return;
	input_watch(in, true);
	input_pump(in);
}

static void input_notify(struct vmsg_dev *dev, unsigned int vq)
{
	struct input_dev *in = dev->priv;

	if (!in->started)
		return;
	if (vq == INPUT_STATUSQ) {
		input_status_run(in);
		return;
	}
	if (vq != INPUT_EVENTQ || input_refill(in))
		return;
	/* Starved until now: deliver what is pending, read again. */
	if (in->nbufs && !in->reading) {
		input_watch(in, true);
		input_pump(in);
	}
}

const struct vmsg_dev_ops vmsg_input_ops = {
	.type = "input",
	.device_id = VIRTIO_ID_INPUT,
	.create = input_create,
	.destroy = input_destroy,
	.reset = input_reset,
	.start = input_start,
	.notify = input_notify,
	.config_write = input_config_write,
};
