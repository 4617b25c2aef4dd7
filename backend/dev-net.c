// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net device model (virtio 1.2 section 5.1) on a Linux tap:
 * "net[,tap=NAME][,mac=xx:xx:xx:xx:xx:xx]". One receive queue (0) and one
 * transmit queue (1); the tap is opened with IFF_VNET_HDR, so the 12-byte
 * virtio-net header travels between the guest's buffers and the tap as is
 * and the host kernel does the checksum and segmentation offloads.
 *
 * Receive: the model takes the driver's receive chains before it reads,
 * and reads each frame with one readv() straight into them (with
 * VIRTIO_NET_F_MRG_RXBUF a frame spans as many chains as it needs). A
 * frame that does not fit spills into a private buffer of one maximum
 * frame: without mergeable buffers it is dropped; with them it waits there
 * for the driver's next buffers. Without receive buffers the tap is not
 * polled at all, so frames queue (boundedly) in the host kernel and the
 * loop never spins. Each callback handles at most NET_BUDGET frames.
 *
 * Transmit: each chain is written to the tap with one writev(); a tap that
 * would block keeps the chain and the model waits for EPOLLOUT.
 *
 * The driver is untrusted: malformed chains fail the device, frames the
 * tap refuses are dropped and counted. A tap deleted under the device
 * (read or write gives EBADFD, or poll EPOLLERR) takes the link down and
 * fails the device for good. The receive offloads the driver took are
 * given to the tap from the loop, never while answering the driver: the
 * ioctl takes RTNL, which a Linux driver on the loopback bus may hold
 * while it waits for that answer. Not here: the control queue, multiqueue,
 * following the tap's host-side carrier or admin state (the link reads up
 * while the tap exists), MTU and speed advice.
 */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "device.h"
#include "loop.h"

#define NET_RXQ			0
#define NET_TXQ			1
#define NET_QUEUE_SIZE		256
/* The header with VERSION_1, mergeable buffers or not (5.1.6). */
#define NET_HDR_LEN		sizeof(struct virtio_net_hdr_mrg_rxbuf)
/*
 * The largest frame a tap hands over: a 64 KiB GSO packet (the tap's
 * gso_max_size) or a frame of the largest MTU, plus link headers.
 */
#define NET_FRAME_MAX		(64 * 1024 + 64)
/* Spill buffer; a read that fills it to the last byte was truncated. */
#define NET_RX_SPILL		(NET_HDR_LEN + NET_FRAME_MAX + 1)
/* readv() takes at most UIO_MAXIOV iovecs; the last one is the spill. */
#define NET_RX_MAX_IOV		1024
#define NET_RX_MAX_BUFS		NET_QUEUE_SIZE
/* Frames or chains per callback, so one device cannot hold the loop. */
#define NET_BUDGET		64
/* Frames left in the tap by a driver that went away, dropped at reset. */
#define NET_DRAIN_MAX		4096
#define NET_CONFIG_SIZE		offsetof(struct virtio_net_config, mtu)

#define BIT_ULL(n)		(1ULL << (n))

/* One receive chain held by the model, in the order it was taken. */
struct net_rxbuf {
	uint16_t head;
	uint32_t len;			/* writable bytes */
	unsigned int niov;		/* its iovecs in net_rx.iov */
	unsigned int ndesc;		/* ring descriptors it uses (min) */
};

struct net_rx {
	struct net_rxbuf bufs[NET_RX_MAX_BUFS];
	unsigned int nbufs;
	unsigned int ndesc;
	uint64_t cap;			/* writable bytes of all bufs */
	/* The bufs' writable iovecs in order: one stream, header first. */
	struct iovec iov[NET_RX_MAX_IOV];
	unsigned int niov;
	uint8_t *spill;			/* NET_RX_SPILL bytes */
	/* A frame waiting for chains: its length, 0 if none. */
	size_t pend;
	size_t pend_base;		/* stream offset of spill[0] */
	size_t placed;			/* bytes of it in chains so far */
	unsigned int pushed;		/* not yet notified */
};

struct net_dev {
	struct vmsg_dev *dev;
	int fd;				/* the tap; -1 once it is gone */
	char ifname[IFNAMSIZ];
	bool started;			/* between start() and reset() */
	bool mrg;			/* VIRTIO_NET_F_MRG_RXBUF negotiated */
	uint32_t events;		/* what the loop watches on fd */
	struct virtio_net_config config;
	struct net_rx rx;
	struct vmsg_chain scratch;	/* a receive chain being taken */
	struct vmsg_chain tx;		/* the chain being sent */
	/*
	 * Offloads the tap may use on receive: what the driver took
	 * (want) and what the tap was last set to. Setting them is deferred
	 * to the loop (EPOLLOUT), see net_tap_settle().
	 */
	unsigned int offloads_want;
	unsigned int offloads_set;
	bool settle_pending;		/* offloads_want to apply */
	bool tx_held;			/* tx waits for EPOLLOUT */
	bool tx_more;			/* out of budget: wait EPOLLOUT */
	unsigned int tx_pushed;
	uint64_t rx_frames, rx_dropped, tx_frames, tx_dropped;
	struct vmsg_ratelimit rl;	/* host-side and drop messages */
};

static const uint64_t net_features =
	BIT_ULL(VIRTIO_NET_F_CSUM) | BIT_ULL(VIRTIO_NET_F_GUEST_CSUM) |
	BIT_ULL(VIRTIO_NET_F_MAC) | BIT_ULL(VIRTIO_NET_F_GUEST_TSO4) |
	BIT_ULL(VIRTIO_NET_F_GUEST_TSO6) | BIT_ULL(VIRTIO_NET_F_GUEST_ECN) |
	BIT_ULL(VIRTIO_NET_F_HOST_TSO4) | BIT_ULL(VIRTIO_NET_F_HOST_TSO6) |
	BIT_ULL(VIRTIO_NET_F_HOST_ECN) | BIT_ULL(VIRTIO_NET_F_MRG_RXBUF) |
	BIT_ULL(VIRTIO_NET_F_STATUS);

/* --- small helpers -------------------------------------------------------- */

/* The loop watches what the model waits for, and nothing else. */
static void net_watch(struct net_dev *n)
{
	uint32_t ev = 0;
	int ret;

	if (n->fd < 0)
		return;
	if (n->started && n->rx.nbufs && !n->rx.pend && !n->settle_pending)
		ev |= EPOLLIN;
	if ((n->started && (n->tx_held || n->tx_more)) || n->settle_pending)
		ev |= EPOLLOUT;
	if (ev == n->events)
		return;
	ret = vmsg_loop_mod(n->dev->loop, n->fd, ev);
	if (ret)
		vmsg_log_rl(&n->rl, VMSG_LOG_ERR, "%s: event loop: %s",
			    n->dev->name, strerror(-ret));
	else
		n->events = ev;
}

static void net_set_link(struct net_dev *n, bool up)
{
	uint16_t status = up ? VIRTIO_NET_S_LINK_UP : 0;

	if (le16toh(n->config.status) == status)
		return;
	vmsg_dev_config_begin(n->dev);
	n->config.status = htole16(status);
	vmsg_dev_config_end(n->dev);
}

/*
 * The tap is gone (deleted, or its fd broken): the link goes down and the
 * device fails. It stays failed: there is no tap left to serve, so every
 * later DRIVER_OK fails it again.
 */
static void net_host_gone(struct net_dev *n, int err)
{
	struct vmsg_dev *dev = n->dev;

	if (n->fd < 0)
		return;
	vmsg_err("%s: tap %s is gone (%s): link down", dev->name, n->ifname,
		 strerror(err));
	vmsg_loop_del(dev->loop, n->fd);
	close(n->fd);
	n->fd = -1;
	n->events = 0;
	net_set_link(n, false);
	vmsg_dev_fail(dev, "tap %s is gone", n->ifname);
}

static void net_drop(struct net_dev *n, uint64_t *count, const char *dir,
		     const char *why)
{
	(*count)++;
	vmsg_log_rl(&n->rl, VMSG_LOG_WARN, "%s: %s frame dropped: %s (%llu)",
		    n->dev->name, dir, why, (unsigned long long)*count);
}

/* --- receive: taking chains ----------------------------------------------- */

/* Could one more chain be held? Without mergeable buffers, one is enough. */
static bool net_rx_room(const struct net_dev *n)
{
	const struct net_rx *rx = &n->rx;

	return rx->nbufs < (n->mrg ? NET_RX_MAX_BUFS : 1) &&
	       rx->niov + VMSG_CHAIN_MAX_SEGS < NET_RX_MAX_IOV;
}

/* All the ring's descriptors are ours: the driver cannot add any more. */
static bool net_rx_exhausted(const struct net_dev *n)
{
	return n->rx.ndesc >= n->dev->vqs[NET_RXQ].size;
}

/* Receive chains are device-writable only and hold at least the header. */
static bool net_rx_chain_ok(const struct vmsg_chain *c)
{
	return !c->n_out && c->in_len >= NET_HDR_LEN;
}

static void net_rx_hold(struct net_dev *n, const struct vmsg_chain *c)
{
	struct net_rx *rx = &n->rx;
	struct net_rxbuf *b = &rx->bufs[rx->nbufs++];

	b->head = c->head;
	/* The ring engine keeps in_len below 4 GiB. */
	b->len = (uint32_t)c->in_len;
	b->niov = c->n_in;
	b->ndesc = n->dev->vqs[NET_RXQ].indirect ? 1 : c->n_in;
	memcpy(&rx->iov[rx->niov], vmsg_chain_in(c),
	       c->n_in * sizeof(rx->iov[0]));
	rx->niov += c->n_in;
	rx->ndesc += b->ndesc;
	rx->cap += b->len;
}

static int net_rx_pop(struct net_dev *n)
{
	int ret = vmsg_vq_pop(&n->dev->vqs[NET_RXQ], &n->scratch);

	if (ret < 0)
		vmsg_dev_fail(n->dev, "rx: broken ring");
	return ret;
}

/*
 * Take one more receive chain. 1: taken, 0: none available, -EIO: the ring
 * or the chain was bad and the device failed (and was reset). Before
 * saying "none", kicks are asked for and the ring looked at once more, to
 * close the race with a driver adding buffers right now (2.7.10).
 */
static int net_rx_take(struct net_dev *n)
{
	int ret = net_rx_pop(n);

	if (!ret) {
		vmsg_vq_set_notify(&n->dev->vqs[NET_RXQ], true);
		ret = net_rx_pop(n);
	}
	if (ret <= 0)
		return ret;
	if (!net_rx_chain_ok(&n->scratch)) {
		vmsg_dev_fail(n->dev, "rx: chain %u is not %zu+ writable bytes",
			      n->scratch.head, NET_HDR_LEN);
		return -EIO;
	}
	net_rx_hold(n, &n->scratch);
	return 1;
}

/* Hold chains for the largest frame, or as many as there are. 0 or -EIO. */
static int net_rx_fill(struct net_dev *n)
{
	int ret;

	while (n->rx.cap < NET_HDR_LEN + NET_FRAME_MAX && net_rx_room(n)) {
		ret = net_rx_take(n);
		if (ret <= 0)
			return ret;
	}
	return 0;
}

/* --- receive: handing frames over ----------------------------------------- */

/* Forget the first k held chains (iovs iovecs, cap bytes, ndesc descs). */
static void net_rx_forget(struct net_rx *rx, unsigned int k,
			  unsigned int iovs, uint64_t cap, unsigned int ndesc)
{
	memmove(rx->bufs, rx->bufs + k, (rx->nbufs - k) * sizeof(rx->bufs[0]));
	memmove(rx->iov, rx->iov + iovs,
		(rx->niov - iovs) * sizeof(rx->iov[0]));
	rx->nbufs -= k;
	rx->niov -= iovs;
	rx->cap -= cap;
	rx->ndesc -= ndesc;
}

/*
 * The stream's first len bytes (len <= cap) hold one frame, header first:
 * return the chains it spans, with num_buffers set (5.1.6.4). The chains
 * leave the model's hands before they are pushed, since a refused push
 * fails and resets the device. 0, or -EIO if that happened.
 */
static int net_rx_deliver(struct net_dev *n, size_t len)
{
	struct net_rxbuf used[NET_RX_MAX_BUFS];
	unsigned int k, iovs = 0, ndesc = 0;
	struct net_rx *rx = &n->rx;
	uint64_t cap = 0, left = len;
	uint16_t nb;
	uint32_t l;

	for (k = 0; cap < len; k++) {
		cap += rx->bufs[k].len;
		iovs += rx->bufs[k].niov;
		ndesc += rx->bufs[k].ndesc;
	}
	nb = htole16((uint16_t)k);
	vmsg_iov_from_buf(rx->iov, rx->niov,
			  offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers),
			  &nb, sizeof(nb));
	memcpy(used, rx->bufs, k * sizeof(used[0]));
	net_rx_forget(rx, k, iovs, cap, ndesc);
	n->rx_frames++;
	for (k = 0; left; k++) {
		l = left < used[k].len ? (uint32_t)left : used[k].len;
		left -= l;
		if (vmsg_dev_push(n->dev, NET_RXQ, used[k].head, l))
			return -EIO;
		n->rx.pushed++;
	}
	return 0;
}

/* Copy what the chains taken since can hold of the waiting frame. */
static void net_rx_place(struct net_rx *rx)
{
	size_t end = rx->cap < rx->pend ? rx->cap : rx->pend;

	if (end <= rx->placed)
		return;
	vmsg_iov_from_buf(rx->iov, rx->niov, rx->placed,
			  rx->spill + (rx->placed - rx->pend_base),
			  end - rx->placed);
	rx->placed = end;
}

/*
 * A frame waits in the spill buffer for more chains. 1: it was delivered
 * or dropped, 0: still waiting (for a kick), -EIO: the device failed.
 */
static int net_rx_pending(struct net_dev *n)
{
	struct net_rx *rx = &n->rx;
	size_t len = rx->pend;
	int ret = 1;

	while (rx->cap < len && net_rx_room(n) && !net_rx_exhausted(n)) {
		ret = net_rx_take(n);
		if (ret <= 0)
			break;
	}
	if (ret < 0)
		return ret;
	net_rx_place(rx);
	if (rx->cap >= len) {
		rx->pend = 0;
		return net_rx_deliver(n, len) ? -EIO : 1;
	}
	if (net_rx_room(n) && !net_rx_exhausted(n))
		return 0;
	/* The driver cannot give us more: it will never fit. */
	rx->pend = 0;
	net_drop(n, &n->rx_dropped, "rx", "larger than all receive buffers");
	return 1;
}

/*
 * One frame into the held chains, then the spill buffer. Its length, 0 if
 * the tap had none, or -errno: the tap is unusable.
 */
static ssize_t net_rx_read(struct net_dev *n)
{
	struct net_rx *rx = &n->rx;
	ssize_t len;

	rx->iov[rx->niov] = (struct iovec){ rx->spill, NET_RX_SPILL };
	do {
		len = readv(n->fd, rx->iov, (int)rx->niov + 1);
	} while (len < 0 && errno == EINTR);
	if (len < 0)
		return errno == EAGAIN ? 0 : -errno;
	/* A tap never returns an empty frame; its file is dead. */
	return len ? len : -EBADFD;
}

/* A frame of len bytes was read. 0 or -EIO. */
static int net_rx_frame(struct net_dev *n, size_t len)
{
	struct net_rx *rx = &n->rx;

	if (len < NET_HDR_LEN + ETH_HLEN || len > NET_HDR_LEN + NET_FRAME_MAX) {
		net_drop(n, &n->rx_dropped, "rx", "bad length from the tap");
		return 0;
	}
	if (len <= rx->cap)
		return net_rx_deliver(n, len);
	if (!n->mrg) {
		net_drop(n, &n->rx_dropped, "rx", "larger than the buffer");
		return 0;
	}
	rx->pend = len;
	rx->pend_base = rx->placed = rx->cap;
	return net_rx_pending(n) < 0 ? -EIO : 0;
}

static void net_rx_notify(struct net_dev *n)
{
	if (!n->rx.pushed)
		return;
	n->rx.pushed = 0;
	vmsg_dev_notify_used(n->dev, NET_RXQ);
}

/* One step of net_rx_run(): 1 go on, 0 stop, -EIO the device failed. */
static int net_rx_step(struct net_dev *n)
{
	ssize_t len;
	int ret;

	if (n->rx.pend)
		return net_rx_pending(n);
	ret = net_rx_fill(n);
	/*
	 * Until the offloads are settled the tap may hold frames we cannot
	 * hand over: read nothing.
	 */
	if (ret || !n->rx.nbufs || n->settle_pending)
		return ret;
	len = net_rx_read(n);
	if (len < 0) {
		net_host_gone(n, (int)-len);
		return -EIO;
	}
	if (!len)
		return 0;
	ret = net_rx_frame(n, (size_t)len);
	return ret ? ret : 1;
}

/*
 * Frames from the tap into the receive queue, at most NET_BUDGET: the tap
 * stays readable if more wait, and the loop calls back. 0 or -EIO.
 */
static int net_rx_run(struct net_dev *n)
{
	unsigned int budget = NET_BUDGET;
	int ret;

	do {
		ret = net_rx_step(n);
	} while (ret > 0 && --budget);
	if (ret < 0)
		return ret;
	net_rx_notify(n);
	return 0;
}

/* --- transmit ------------------------------------------------------------- */

/* Transmit chains are device-readable only and start with the header. */
static bool net_tx_chain_ok(const struct vmsg_chain *c)
{
	return !c->n_in && c->out_len >= NET_HDR_LEN;
}

/*
 * Write the held chain to the tap. 1: sent or dropped, 0: the tap is full
 * (EAGAIN), -EIO: the tap is gone and the device failed.
 */
static int net_tx_send(struct net_dev *n)
{
	const struct vmsg_chain *c = &n->tx;
	ssize_t len;

	if (c->out_len > NET_HDR_LEN + NET_FRAME_MAX) {
		net_drop(n, &n->tx_dropped, "tx", "too long");
		return 1;
	}
	do {
		len = writev(n->fd, c->iov, (int)c->n_out);
	} while (len < 0 && errno == EINTR);
	if (len < 0 && errno == EAGAIN)
		return 0;
	if (len < 0 && errno == EBADFD) {
		net_host_gone(n, errno);
		return -EIO;
	}
	/* EINVAL (a bad header), EIO (the tap is down)...: this frame only. */
	if (len < 0)
		net_drop(n, &n->tx_dropped, "tx", strerror(errno));
	else if ((uint64_t)len != c->out_len)
		net_drop(n, &n->tx_dropped, "tx", "short write");
	else
		n->tx_frames++;
	return 1;
}

/*
 * Send the held chain, or the next one. 1: one sent, 0: queue empty or tap
 * full (then tx_held stays set), -EIO: the device failed.
 */
static int net_tx_one(struct net_dev *n)
{
	int ret;

	if (!n->tx_held) {
		ret = vmsg_vq_pop(&n->dev->vqs[NET_TXQ], &n->tx);
		if (ret < 0)
			vmsg_dev_fail(n->dev, "tx: broken ring");
		if (ret <= 0)
			return ret;
		if (!net_tx_chain_ok(&n->tx)) {
			vmsg_dev_fail(n->dev, "tx: chain %u is not a readable "
				      "frame of %zu+ bytes", n->tx.head,
				      NET_HDR_LEN);
			return -EIO;
		}
		n->tx_held = true;
	}
	ret = net_tx_send(n);
	if (ret <= 0)
		return ret;
	n->tx_held = false;
	if (vmsg_dev_push(n->dev, NET_TXQ, n->tx.head, 0))
		return -EIO;
	n->tx_pushed++;
	return 1;
}

/* Up to *budget chains. 1: queue empty, 0: stopped (budget, tap), -EIO. */
static int net_tx_drain(struct net_dev *n, unsigned int *budget)
{
	int ret;

	while (*budget) {
		ret = net_tx_one(n);
		if (ret <= 0)
			return ret < 0 ? ret : !n->tx_held;
		(*budget)--;
	}
	return 0;
}

/*
 * Send what the driver queued, with kicks off meanwhile; when the queue
 * looks empty, turn them on and look once more (2.7.10). If the budget
 * runs out, EPOLLOUT (a tap is nearly always writable) brings us back on
 * the loop's next turn. 0 or -EIO.
 */
static int net_tx_run(struct net_dev *n)
{
	struct vmsg_vq *vq = &n->dev->vqs[NET_TXQ];
	unsigned int budget = NET_BUDGET;
	int ret;

	n->tx_more = false;
	for (;;) {
		vmsg_vq_set_notify(vq, false);
		ret = net_tx_drain(n, &budget);
		if (ret < 0)
			return ret;
		if (!ret) {
			n->tx_more = !n->tx_held;
			break;
		}
		vmsg_vq_set_notify(vq, true);
		ret = net_tx_one(n);
		if (ret < 0)
			return ret;
		if (!ret)
			break;
		if (budget)
			budget--;
	}
	if (n->tx_pushed) {
		n->tx_pushed = 0;
		vmsg_dev_notify_used(n->dev, NET_TXQ);
	}
	return 0;
}

/* --- the tap -------------------------------------------------------------- */

/* Offloads the driver takes on receive, as the tap names them. */
static unsigned int net_tap_offloads(const struct vmsg_dev *dev)
{
	unsigned int f;

	if (!vmsg_dev_has_feature(dev, VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	f = TUN_F_CSUM;
	if (vmsg_dev_has_feature(dev, VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (vmsg_dev_has_feature(dev, VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if ((f & (TUN_F_TSO4 | TUN_F_TSO6)) &&
	    vmsg_dev_has_feature(dev, VIRTIO_NET_F_GUEST_ECN))
		f |= TUN_F_TSO_ECN;
	return f;
}

/* 0 or -errno. */
static int net_tap_offload(int fd, unsigned int offloads)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads) ? -errno : 0;
}

/*
 * Drop what the tap queued for a driver that is gone: it may carry
 * offloads the next driver does not take. Bounded, since a busy host side
 * can refill the tap as fast as it is read.
 */
static void net_tap_drain(struct net_dev *n)
{
	unsigned int i;

	for (i = 0; i < NET_DRAIN_MAX; i++)
		if (read(n->fd, n->rx.spill, NET_RX_SPILL) < 0 &&
		    errno != EINTR)
			break;
}

/*
 * Apply the offloads the driver took. This is never done while answering
 * the driver: TUNSETOFFLOAD takes the host's RTNL, and on the loopback bus
 * the driver is Linux in the same kernel, which sets DRIVER_OK from
 * virtnet_probe() holding RTNL and waiting for our answer. From the loop
 * it waits at most until the driver's call returns. Frames the tap queued
 * while it had offloads it no longer has are dropped. 0, or -EIO if the
 * device failed.
 */
static int net_tap_settle(struct net_dev *n)
{
	unsigned int dropped = n->offloads_set & ~n->offloads_want;
	int ret = net_tap_offload(n->fd, n->offloads_want);

	if (ret == -EBADFD) {
		net_host_gone(n, -ret);
		return -EIO;
	}
	n->settle_pending = false;
	if (ret) {
		vmsg_dev_fail(n->dev, "tap %s: TUNSETOFFLOAD: %s", n->ifname,
			      strerror(-ret));
		return -EIO;
	}
	n->offloads_set = n->offloads_want;
	if (dropped)
		net_tap_drain(n);
	return 0;
}

/* New offloads for the tap; the loop applies them on its next turn. */
static void net_tap_want(struct net_dev *n, unsigned int offloads)
{
	n->offloads_want = offloads;
	n->settle_pending = offloads != n->offloads_set;
}

static void net_tap_cb(void *opaque, uint32_t events)
{
	struct net_dev *n = opaque;
	bool rx = events & EPOLLIN;

	if (events & (EPOLLERR | EPOLLHUP)) {
		net_host_gone(n, EBADFD);
		return;
	}
	if (n->settle_pending) {
		if (net_tap_settle(n))
			return;
		rx = true;	/* reading was held back */
	}
	if (n->started && (events & EPOLLOUT) &&
	    (n->tx_held || n->tx_more) && net_tx_run(n))
		return;
	if (n->started && rx && vmsg_vq_ready(&n->dev->vqs[NET_RXQ]) &&
	    net_rx_run(n))
		return;
	net_watch(n);
}

/* Open the tap (attach to an existing one, or create one). 0 or -errno. */
static int net_tap_open(struct net_dev *n, const char *name, char *err,
			size_t errlen)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = NET_HDR_LEN, le = 1, ret;

	n->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "net: /dev/net/tun: %s", strerror(errno));
		return ret;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(n->fd, TUNSETIFF, &ifr)) {
		ret = -errno;
		snprintf(err, errlen, "net: tap=%s: %s%s", name,
			 strerror(errno), errno == EINVAL ?
			 " (not a tap, or a multi-queue one)" : "");
		goto err_close;
	}
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifr.ifr_name);
	if (ioctl(n->fd, TUNSETVNETHDRSZ, &hdr) ||
	    ioctl(n->fd, TUNSETVNETLE, &le) || net_tap_offload(n->fd, 0)) {
		ret = -errno;
		snprintf(err, errlen, "net: tap=%s: setting up the virtio-net "
			 "header: %s", n->ifname, strerror(errno));
		goto err_close;
	}
	return 0;

err_close:
	close(n->fd);
	n->fd = -1;
	return ret;
}

/* --- creation ------------------------------------------------------------- */

static int net_hex(char c)
{
	unsigned char u = (unsigned char)c;

	return isdigit(u) ? u - '0' : tolower(u) - 'a' + 10;
}

/* "xx:xx:xx:xx:xx:xx", a unicast address. 0 or -EINVAL. */
static int net_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int i;

	if (strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++, s += 3) {
		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]) ||
		    (i < 5 && s[2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(net_hex(s[0]) << 4 | net_hex(s[1]));
	}
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] |
			      mac[5]))
		return -EINVAL;
	return 0;
}

/* A random locally administered unicast address, as eth_random_addr(). */
static int net_random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6)
		return -errno;
	mac[0] = (mac[0] & 0xfe) | 0x02;
	return 0;
}

static int net_parse(struct net_dev *n, struct vmsg_spec *spec,
		     const char **tap, char *err, size_t errlen)
{
	const char *mac = vmsg_spec_get(spec, "mac");
	int ret;

	*tap = vmsg_spec_get(spec, "tap");
	if (*tap && (!**tap || strlen(*tap) >= IFNAMSIZ)) {
		snprintf(err, errlen, "net: tap=%s: expected 1 to %d bytes",
			 *tap, IFNAMSIZ - 1);
		return -EINVAL;
	}
	if (!*tap)
		*tap = "vmsg%d";	/* the kernel picks the number */
	if (mac && net_parse_mac(mac, n->config.mac)) {
		snprintf(err, errlen, "net: mac=%s: expected a unicast "
			 "address xx:xx:xx:xx:xx:xx", mac);
		return -EINVAL;
	}
	if (!mac) {
		ret = net_random_mac(n->config.mac);
		if (ret) {
			snprintf(err, errlen, "net: random mac: %s",
				 strerror(-ret));
			return ret;
		}
	}
	/* Options nobody fetched are the core's to reject, after create(). */
	return 0;
}

static void net_set_geometry(struct vmsg_dev *dev, struct net_dev *n)
{
	n->config.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->config.max_virtqueue_pairs = htole16(1);
	dev->num_queues = 2;
	dev->queue_max_size = NET_QUEUE_SIZE;
	dev->device_features = net_features;
	dev->config = (uint8_t *)&n->config;
	dev->config_size = NET_CONFIG_SIZE;
	dev->priv = n;
}

static int net_create(struct vmsg_dev *dev, struct vmsg_spec *spec, char *err,
		      size_t errlen)
{
	const uint8_t *m;
	struct net_dev *n;
	const char *tap;
	int ret;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->dev = dev;
	ret = net_parse(n, spec, &tap, err, errlen);
	if (ret)
		goto err_free;
	n->rx.spill = malloc(NET_RX_SPILL);
	if (!n->rx.spill) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = net_tap_open(n, tap, err, errlen);
	if (ret)
		goto err_spill;
	ret = vmsg_loop_add(dev->loop, n->fd, 0, net_tap_cb, n);
	if (ret) {
		snprintf(err, errlen, "net: event loop: %s", strerror(-ret));
		goto err_close;
	}
	net_set_geometry(dev, n);
	m = n->config.mac;
	vmsg_info("%s: tap %s, mac %02x:%02x:%02x:%02x:%02x:%02x", dev->name,
		  n->ifname, m[0], m[1], m[2], m[3], m[4], m[5]);
	return 0;

err_close:
	close(n->fd);
err_spill:
	free(n->rx.spill);
err_free:
	free(n);
	return ret;
}

/* --- ops ------------------------------------------------------------------ */

/*
 * Forget every chain (none is in the kernel's hands: reads and writes are
 * synchronous) and drop what the tap queued for the old driver. The tap
 * goes back to no offloads on the loop's next turn (net_tap_settle()).
 */
static void net_reset(struct vmsg_dev *dev)
{
	struct net_dev *n = dev->priv;
	uint8_t *spill = n->rx.spill;

	n->started = false;
	memset(&n->rx, 0, sizeof(n->rx));
	n->rx.spill = spill;
	n->tx_held = false;
	n->tx_more = false;
	n->tx_pushed = 0;
	if (n->fd < 0)
		return;
	net_tap_drain(n);
	net_tap_want(n, 0);
	net_watch(n);
}

static void net_destroy(struct vmsg_dev *dev)
{
	struct net_dev *n = dev->priv;

	if (n->fd >= 0) {
		vmsg_loop_del(dev->loop, n->fd);
		close(n->fd);
	}
	vmsg_info("%s: rx %llu frames (%llu dropped), tx %llu (%llu dropped)",
		  dev->name, (unsigned long long)n->rx_frames,
		  (unsigned long long)n->rx_dropped,
		  (unsigned long long)n->tx_frames,
		  (unsigned long long)n->tx_dropped);
	free(n->rx.spill);
	free(n);
	dev->priv = NULL;
	dev->config = NULL;
}

static void net_start(struct vmsg_dev *dev)
{
	struct net_dev *n = dev->priv;

	if (n->fd < 0) {
		vmsg_dev_fail(dev, "tap %s is gone", n->ifname);
		return;
	}
	net_tap_want(n, net_tap_offloads(dev));
	n->mrg = vmsg_dev_has_feature(dev, VIRTIO_NET_F_MRG_RXBUF);
	n->started = true;
	/* Buffers made available before DRIVER_OK had their kick ignored. */
	if (vmsg_vq_ready(&dev->vqs[NET_TXQ]) && net_tx_run(n))
		return;
	if (vmsg_vq_ready(&dev->vqs[NET_RXQ]) && net_rx_run(n))
		return;
	net_watch(n);
}

static void net_notify(struct vmsg_dev *dev, unsigned int vq)
{
	struct net_dev *n = dev->priv;

	if (!n->started)
		return;
	/* A transmit chain waiting for the tap: EPOLLOUT resumes it. */
	if (vq == NET_TXQ && !n->tx_held && net_tx_run(n))
		return;
	if (vq == NET_RXQ && net_rx_run(n))
		return;
	net_watch(n);
}

const struct vmsg_dev_ops vmsg_net_ops = {
	.type = "net",
	.device_id = VIRTIO_ID_NET,
	.create = net_create,
	.destroy = net_destroy,
	.reset = net_reset,
	.start = net_start,
	.notify = net_notify,
};
