// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng device model (virtio 1.2 section 5.4): one request queue whose
 * device-writable buffers are filled from the host kernel's getrandom().
 *
 * This is only the model: it sees its one virtqueue and nothing of messages
 * or buses. It takes no options and has no config space. It does not
 * rate-limit entropy beyond a per-buffer bound, and it never blocks: after
 * boot getrandom() does not block, and the daemon starts long after that.
 *
 * Fairness: one notify serves at most one queue's worth of buffers. If the
 * driver keeps refilling, the rest is deferred through an eventfd watched by
 * the daemon's loop, so a guest cannot pin the (single-threaded) daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "device.h"
#include "loop.h"

#define RNG_QUEUE_SIZE		256
/* Bytes given to one buffer: bounds the time one request can take. */
#define RNG_MAX_PER_CHAIN	(64 * 1024)

struct rng_dev {
	struct vmsg_dev *dev;
	struct vmsg_chain chain;	/* scratch, one chain at a time */
	int kick_fd;			/* eventfd: deferred work pending */
	bool started;			/* between start() and reset() */
	bool kick_pending;
	struct vmsg_ratelimit rl;	/* host-side errors */
};

/* Fill [base, base + len) from getrandom(). Bytes written. */
static size_t rng_fill(struct rng_dev *rng, uint8_t *base, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = getrandom(base + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			vmsg_log_rl(&rng->rl, VMSG_LOG_ERR,
				    "%s: getrandom: %s", rng->dev->name,
				    n < 0 ? strerror(errno) : "no bytes");
			break;
		}
		done += (size_t)n;
	}
	return done;
}

/* Fill one chain's writable part, bounded; returns the bytes written. */
static uint32_t rng_serve(struct rng_dev *rng, const struct vmsg_chain *c)
{
	const struct iovec *iov = vmsg_chain_in(c);
	size_t left = RNG_MAX_PER_CHAIN, want, got;
	uint32_t done = 0;
	unsigned int i;

	for (i = 0; i < c->n_in && left; i++) {
		want = iov[i].iov_len < left ? iov[i].iov_len : left;
		got = rng_fill(rng, iov[i].iov_base, want);
		done += (uint32_t)got;
		left -= got;
		if (got < want)
			break;
	}
	return done;
}

/* Ask the loop to call us again soon, instead of looping on here. */
static void rng_defer(struct rng_dev *rng)
{
	uint64_t one = 1;

	if (rng->kick_pending)
		return;
	if (write(rng->kick_fd, &one, sizeof(one)) == sizeof(one))
		rng->kick_pending = true;
}

/* Take the next chain into rng->chain: 1, 0 (none) or -EIO (failed). */
static int rng_pop(struct rng_dev *rng)
{
	struct vmsg_dev *dev = rng->dev;
	int ret;

	ret = vmsg_vq_pop(&dev->vqs[0], &rng->chain);
	if (ret < 0)
		vmsg_dev_fail(dev, "broken ring");
	return ret;
}

/* Fill and return rng->chain (without notifying). 0, or <0: device failed. */
static int rng_complete(struct rng_dev *rng, unsigned int *pushed)
{
	struct vmsg_dev *dev = rng->dev;
	int ret;

	/* A refused push has failed (and reset) the device already. */
	ret = vmsg_dev_push(dev, 0, rng->chain.head,
			    rng_serve(rng, &rng->chain));
	if (ret < 0)
		return ret;
	(*pushed)++;
	return 0;
}

/*
 * Serve chains while *budget lasts. 1: the queue is empty, 0: budget used
 * up, -EIO: the device failed (and was reset).
 */
static int rng_drain(struct rng_dev *rng, unsigned int *budget,
		     unsigned int *pushed)
{
	int ret;

	while (*budget) {
		ret = rng_pop(rng);
		if (ret <= 0)
			return ret < 0 ? ret : 1;
		(*budget)--;
		ret = rng_complete(rng, pushed);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Drain with notifications off, then turn them on and look once more: a
 * driver that added buffers between our last pop and the re-enable would
 * otherwise never kick us (virtio 1.2 section 2.7.10).
 */
static void rng_run(struct rng_dev *rng)
{
	struct vmsg_vq *vq = &rng->dev->vqs[0];
	unsigned int budget = vq->size, pushed = 0;
	int ret;

	for (;;) {
		vmsg_vq_set_notify(vq, false);
		ret = rng_drain(rng, &budget, &pushed);
		if (ret < 0)
			return;
		if (!ret) {
			rng_defer(rng);
			break;
		}
		vmsg_vq_set_notify(vq, true);
		ret = rng_pop(rng);
		if (ret < 0)
			return;
		if (!ret)
			break;
		budget--;
		if (rng_complete(rng, &pushed))
			return;
	}
	if (pushed)
		vmsg_dev_notify_used(rng->dev, 0);
}

static void rng_kick_cb(void *opaque, uint32_t events)
{
	struct rng_dev *rng = opaque;
	uint64_t val;

	/* Reset the counter; EAGAIN only means it was already 0. */
	if (read(rng->kick_fd, &val, sizeof(val)) < 0 && errno != EAGAIN)
		vmsg_log_rl(&rng->rl, VMSG_LOG_ERR, "%s: eventfd: %s",
			    rng->dev->name, strerror(errno));
	rng->kick_pending = false;
	if (rng->started && !rng->dev->broken &&
	    vmsg_vq_ready(&rng->dev->vqs[0]))
		rng_run(rng);
}

static int rng_create(struct vmsg_dev *dev, struct vmsg_spec *spec, char *err,
		      size_t errlen)
{
	struct rng_dev *rng;
	int ret;

	/* No options: the core rejects any the spec carries. */
	rng = calloc(1, sizeof(*rng));
	if (!rng)
		return -ENOMEM;
	rng->dev = dev;
	rng->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rng->kick_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "rng: eventfd: %s", strerror(errno));
		goto err_free;
	}
	ret = vmsg_loop_add(dev->loop, rng->kick_fd, EPOLLIN, rng_kick_cb, rng);
	if (ret) {
		snprintf(err, errlen, "rng: event loop: %s", strerror(-ret));
		goto err_close;
	}
	dev->num_queues = 1;
	dev->queue_max_size = RNG_QUEUE_SIZE;
	dev->device_features = 0;
	dev->config = NULL;
	dev->config_size = 0;
	dev->priv = rng;
	return 0;

err_close:
	close(rng->kick_fd);
err_free:
	free(rng);
	return ret;
}

static void rng_destroy(struct vmsg_dev *dev)
{
	struct rng_dev *rng = dev->priv;

	vmsg_loop_del(dev->loop, rng->kick_fd);
	close(rng->kick_fd);
	free(rng);
	dev->priv = NULL;
}

/* Nothing is ever held across calls; just stop the deferred work. */
static void rng_reset(struct vmsg_dev *dev)
{
	struct rng_dev *rng = dev->priv;

	rng->started = false;
}

static void rng_start(struct vmsg_dev *dev)
{
	struct rng_dev *rng = dev->priv;

	rng->started = true;
	/* Buffers made available before DRIVER_OK had their kick ignored. */
	if (vmsg_vq_ready(&dev->vqs[0]))
		rng_run(rng);
}

static void rng_notify(struct vmsg_dev *dev, unsigned int vq)
{
	struct rng_dev *rng = dev->priv;

	if (vq == 0 && rng->started)
		rng_run(rng);
}

const struct vmsg_dev_ops vmsg_rng_ops = {
	.type = "rng",
	.device_id = VIRTIO_ID_RNG,
	.create = rng_create,
	.destroy = rng_destroy,
	.reset = rng_reset,
	.start = rng_start,
	.notify = rng_notify,
};
