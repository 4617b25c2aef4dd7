// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk device model (virtio 1.2 section 5.2) backed by a raw image:
 * a regular file or a block device, "blk,path=IMG[,ro][,serial=STR]".
 *
 * Requests go to the host through one io_uring per device: reads and writes
 * land straight in the chain's buffers in the shared region, several
 * requests are in flight at once, and completions come back through the
 * daemon's loop (the ring fd polls readable). The model is single-threaded
 * and takes no locks. Every request is checked before anything reaches the
 * file; a chain without a request header or status byte fails the device,
 * a bad request only fails itself (IOERR or UNSUPP). A failing backing file
 * gives IOERR per request and never fails the device.
 *
 * Not here: image formats (raw only), multiqueue, CONFIG_WCE (the host page
 * cache is a writeback cache that FLUSH makes durable), secure erase,
 * zoned devices.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liburing.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "device.h"
#include "loop.h"

#define BLK_SECTOR		512
#define BLK_QUEUE_SIZE		128	/* also the request pool size */
/* Segments of data: the chain also needs a header and a status. */
#define BLK_SEG_MAX		(VMSG_CHAIN_MAX_SEGS - 2)
#define BLK_SIZE_MAX		(1024 * 1024)
#define BLK_DWZ_MAX_SEG		32
#define BLK_DWZ_MAX_SECTORS	(1U << 22)	/* 2 GiB per range */

/* A request's completion is not known yet: an SQE was queued for it. */
#define BLK_QUEUED		(-1)

struct blk_req {
	struct vmsg_chain chain;	/* private copy: iovecs are trimmed */
	uint8_t *status;		/* last writable byte, in the region */
	uint32_t type;			/* VIRTIO_BLK_T_* */
	/* IN/OUT: what is left to transfer */
	struct iovec *iov;
	unsigned int iovcnt;
	uint64_t off;
	uint64_t left;
	/* DISCARD/WRITE_ZEROES: ranges, checked, done one at a time */
	unsigned int seg;
	unsigned int nseg;
	int mode;			/* fallocate mode of segs[seg], or 0:
					 * writing zeroes (off/left above) */
	struct virtio_blk_discard_write_zeroes segs[BLK_DWZ_MAX_SEG];
};

struct blk_dev {
	struct vmsg_dev *dev;
	int fd;
	bool ro;
	bool started;			/* between start() and reset() */
	bool writethrough;		/* FLUSH not negotiated */
	bool no_zero_range;		/* file system lacks ZERO_RANGE */
	bool no_punch_hole;		/* ... and PUNCH_HOLE (9p, NFS) */
	bool kick_pending;		/* a NOP is queued to resume serving */
	uint64_t capacity;		/* sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config config;
	struct io_uring ring;
	struct blk_req *reqs;		/* BLK_QUEUE_SIZE */
	struct blk_req *free[BLK_QUEUE_SIZE];
	unsigned int nfree;
	unsigned int inflight;		/* SQEs queued, CQEs not yet reaped */
	unsigned int epoch;		/* bumped by every reset */
	unsigned int pushed;		/* pushes not yet notified */
	uint64_t io_errors;		/* host-side failures seen */
	struct vmsg_ratelimit rl;	/* host-side errors */
};

/* --- request pool --------------------------------------------------------- */

static void blk_pool_init(struct blk_dev *b)
{
	unsigned int i;

	for (i = 0; i < BLK_QUEUE_SIZE; i++)
		b->free[i] = &b->reqs[i];
	b->nfree = BLK_QUEUE_SIZE;
}

static struct blk_req *blk_req_get(struct blk_dev *b)
{
	return b->nfree ? b->free[--b->nfree] : NULL;
}

static void blk_req_put(struct blk_dev *b, struct blk_req *req)
{
	b->free[b->nfree++] = req;
}

/* Room to take one more chain: a free request and a free SQE. */
static bool blk_has_room(struct blk_dev *b)
{
	return b->nfree && io_uring_sq_space_left(&b->ring);
}

/* --- io_uring plumbing ---------------------------------------------------- */

/*
 * An SQE to fill, counted in inflight. The ring has twice as many entries
 * as there are requests and each request has at most one SQE queued, so
 * this cannot fail unless submission itself is failing.
 */
static struct io_uring_sqe *blk_sqe(struct blk_dev *b, void *data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (!sqe) {
		io_uring_submit(&b->ring);
		sqe = io_uring_get_sqe(&b->ring);
		if (!sqe)
			return NULL;
	}
	io_uring_sqe_set_data(sqe, data);
	b->inflight++;
	return sqe;
}

static void blk_submit(struct blk_dev *b)
{
	int ret;

	if (!io_uring_sq_ready(&b->ring))
		return;
	ret = io_uring_submit(&b->ring);
	if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
		vmsg_log_rl(&b->rl, VMSG_LOG_ERR, "%s: io_uring_submit: %s",
			    b->dev->name, strerror(-ret));
}

/*
 * Wait until the kernel holds no SQE of ours: after this nothing writes into
 * the region on our behalf. Regular-file and block-device I/O always
 * completes, so waiting is bounded; cancelling would not stop a read that an
 * io-wq worker already runs. If io_uring itself fails here, we can no longer
 * prove the region is safe to hand back, which is a broken invariant.
 */
static void blk_drain(struct blk_dev *b)
{
	struct io_uring_cqe *cqe;
	int ret;

	while (b->inflight) {
		ret = io_uring_submit_and_wait(&b->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY) {
			vmsg_err("%s: cannot drain io_uring: %s",
				 b->dev->name, strerror(-ret));
			abort();
		}
		while (!io_uring_peek_cqe(&b->ring, &cqe)) {
			io_uring_cqe_seen(&b->ring, cqe);
			b->inflight--;
		}
	}
}

/* Come back through the loop instead of serving the queue on and on. */
static void blk_defer(struct blk_dev *b)
{
	struct io_uring_sqe *sqe;

	if (b->kick_pending)
		return;
	sqe = blk_sqe(b, NULL);
	if (!sqe)
		return;
	io_uring_prep_nop(sqe);
	b->kick_pending = true;
}

static void blk_io_error(struct blk_dev *b, const char *what, uint64_t off,
			 int res)
{
	b->io_errors++;
	vmsg_log_rl(&b->rl, VMSG_LOG_ERR, "%s: %s at %llu: %s (%llu errors)",
		    b->dev->name, what, (unsigned long long)off,
		    res ? strerror(-res) : "unexpected end of file",
		    (unsigned long long)b->io_errors);
}

/* --- completing requests -------------------------------------------------- */

/*
 * Write the status and return the chain. len is every writable byte, since
 * the status is the last one (the ring engine keeps in_len below 4 GiB). The
 * request is free before the push, which may fail and reset the device.
 */
static void blk_finish(struct blk_dev *b, struct blk_req *req, uint8_t st)
{
	uint16_t head = req->chain.head;
	uint32_t len = (uint32_t)req->chain.in_len;

	*req->status = st;
	blk_req_put(b, req);
	/* A refused push has failed (and reset) the device already. */
	if (!vmsg_dev_push(b->dev, 0, head, len))
		b->pushed++;
}

static void blk_notify_used(struct blk_dev *b)
{
	if (!b->pushed)
		return;
	b->pushed = 0;
	vmsg_dev_notify_used(b->dev, 0);
}

/* --- submitting requests -------------------------------------------------- */

/* Queue the next (or first) part of a read or write. */
static int blk_queue_rw(struct blk_dev *b, struct blk_req *req)
{
	struct io_uring_sqe *sqe = blk_sqe(b, req);

	if (!sqe)
		return VIRTIO_BLK_S_IOERR;
	if (req->type == VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe, b->fd, req->iov, req->iovcnt,
				    req->off);
	else
		io_uring_prep_writev2(sqe, b->fd, req->iov, req->iovcnt,
				      req->off,
				      b->writethrough ? RWF_DSYNC : 0);
	return BLK_QUEUED;
}

/*
 * Zeroes for WRITE_ZEROES on a file that can neither zero nor punch a
 * range: written from this buffer, which is never written to (its pages
 * stay the shared zero page).
 */
static const uint8_t blk_zeroes[1024 * 1024];

/* Queue the next write of zeroes for [off, off + left). */
static int blk_queue_zeroes(struct blk_dev *b, struct blk_req *req)
{
	struct io_uring_sqe *sqe = blk_sqe(b, req);
	size_t len = req->left < sizeof(blk_zeroes) ? req->left :
						       sizeof(blk_zeroes);

	if (!sqe)
		return VIRTIO_BLK_S_IOERR;
	req->mode = 0;
	io_uring_prep_write(sqe, b->fd, blk_zeroes, len, req->off);
	return BLK_QUEUED;
}

/* Queue the fallocate (or the zero writes) of the current range. */
static int blk_queue_dwz(struct blk_dev *b, struct blk_req *req)
{
	const struct virtio_blk_discard_write_zeroes *s = &req->segs[req->seg];
	struct io_uring_sqe *sqe;
	bool unmap;

	if (req->type == VIRTIO_BLK_T_WRITE_ZEROES && b->no_punch_hole) {
		req->off = le64toh(s->sector) * BLK_SECTOR;
		req->left = (uint64_t)le32toh(s->num_sectors) * BLK_SECTOR;
		return blk_queue_zeroes(b, req);
	}
	unmap = req->type == VIRTIO_BLK_T_DISCARD ||
		(le32toh(s->flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
		b->no_zero_range;
	req->mode = FALLOC_FL_KEEP_SIZE |
		    (unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
	sqe = blk_sqe(b, req);
	if (!sqe)
		return VIRTIO_BLK_S_IOERR;
	io_uring_prep_fallocate(sqe, b->fd, req->mode,
				le64toh(s->sector) * BLK_SECTOR,
				(uint64_t)le32toh(s->num_sectors) * BLK_SECTOR);
	return BLK_QUEUED;
}

/* Skip n bytes of an iovec array, in place. */
static void blk_iov_advance(struct iovec **iov, unsigned int *cnt, uint64_t n)
{
	while (n && *cnt) {
		if ((*iov)->iov_len > n) {
			(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
			(*iov)->iov_len -= n;
			return;
		}
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
}

/* Is [sector, sector + bytes / 512) inside the disk? */
static bool blk_in_range(const struct blk_dev *b, uint64_t sector,
			 uint64_t bytes)
{
	return sector <= b->capacity &&
	       bytes / BLK_SECTOR <= b->capacity - sector;
}

/*
 * IN and OUT. The data is every writable byte but the status (IN) or every
 * readable byte after the header (OUT), a whole number of sectors inside
 * the disk, else IOERR with nothing read or written.
 */
static int blk_start_rw(struct blk_dev *b, struct blk_req *req,
			uint64_t sector)
{
	struct vmsg_chain *c = &req->chain;
	uint64_t len;

	if (req->type == VIRTIO_BLK_T_OUT && b->ro)
		return VIRTIO_BLK_S_IOERR;
	if (req->type == VIRTIO_BLK_T_IN) {
		len = c->in_len - 1;
		req->iov = c->iov + c->n_out;
		req->iovcnt = c->n_in;
	} else {
		len = c->out_len - sizeof(struct virtio_blk_outhdr);
		req->iov = c->iov;
		req->iovcnt = c->n_out;
		blk_iov_advance(&req->iov, &req->iovcnt,
				sizeof(struct virtio_blk_outhdr));
	}
	if (len % BLK_SECTOR || !blk_in_range(b, sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (!len)
		return VIRTIO_BLK_S_OK;
	req->off = sector * BLK_SECTOR;
	req->left = len;
	return blk_queue_rw(b, req);
}

static int blk_start_flush(struct blk_dev *b, struct blk_req *req)
{
	struct io_uring_sqe *sqe = blk_sqe(b, req);

	if (!sqe)
		return VIRTIO_BLK_S_IOERR;
	/*
	 * Only writes already completed (acknowledged) must be durable, and
	 * those are in the page cache before this SQE is even built, so the
	 * fsync needs no ordering against writes still in flight.
	 */
	io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
	return BLK_QUEUED;
}

static int blk_get_id(struct blk_dev *b, struct blk_req *req)
{
	const struct vmsg_chain *c = &req->chain;
	uint64_t len = c->in_len - 1;

	vmsg_chain_to_iov(c, 0, b->serial,
			  len < sizeof(b->serial) ? len : sizeof(b->serial));
	return VIRTIO_BLK_S_OK;
}

/* UNSUPP for a flag the request type does not know (virtio 1.2 5.2.6.2). */
static int blk_check_flags(const struct blk_req *req)
{
	uint32_t ok = req->type == VIRTIO_BLK_T_WRITE_ZEROES ?
		      VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
	unsigned int i;

	for (i = 0; i < req->nseg; i++) {
		if (le32toh(req->segs[i].flags) & ~ok)
			return VIRTIO_BLK_S_UNSUPP;
	}
	return VIRTIO_BLK_S_OK;
}

static int blk_check_ranges(const struct blk_dev *b, const struct blk_req *req)
{
	const struct virtio_blk_discard_write_zeroes *s;
	unsigned int i;

	for (i = 0; i < req->nseg; i++) {
		s = &req->segs[i];
		if (le32toh(s->num_sectors) > BLK_DWZ_MAX_SECTORS ||
		    !blk_in_range(b, le64toh(s->sector),
				  (uint64_t)le32toh(s->num_sectors) *
					  BLK_SECTOR))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Queue the next non-empty range, or say the request is done. */
static int blk_next_dwz(struct blk_dev *b, struct blk_req *req)
{
	while (req->seg < req->nseg && !req->segs[req->seg].num_sectors)
		req->seg++;
	if (req->seg == req->nseg)
		return VIRTIO_BLK_S_OK;
	return blk_queue_dwz(b, req);
}

/*
 * DISCARD and WRITE_ZEROES: 1..max_seg ranges after the header. All of them
 * are checked before the first is done.
 */
static int blk_start_dwz(struct blk_dev *b, struct blk_req *req)
{
	unsigned int feature = req->type == VIRTIO_BLK_T_DISCARD ?
			       VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES;
	uint64_t len = req->chain.out_len - sizeof(struct virtio_blk_outhdr);
	int st;

	if (b->ro)
		return VIRTIO_BLK_S_IOERR;
	if (!vmsg_dev_has_feature(b->dev, feature))
		return VIRTIO_BLK_S_UNSUPP;
	if (!len || len % sizeof(req->segs[0]) || len > sizeof(req->segs))
		return VIRTIO_BLK_S_IOERR;
	req->nseg = len / sizeof(req->segs[0]);
	req->seg = 0;
	vmsg_chain_from_iov(&req->chain, sizeof(struct virtio_blk_outhdr),
			    req->segs, len);
	st = blk_check_flags(req);
	if (st == VIRTIO_BLK_S_OK)
		st = blk_check_ranges(b, req);
	if (st != VIRTIO_BLK_S_OK)
		return st;
	return blk_next_dwz(b, req);
}

/*
 * Claim the status byte: the last writable byte of the chain, which the
 * data iovecs then no longer include. NULL if there is none.
 */
static uint8_t *blk_claim_status(struct vmsg_chain *c)
{
	struct iovec *iov = c->iov + c->n_out;
	unsigned int i = c->n_in;

	while (i--) {
		if (iov[i].iov_len) {
			iov[i].iov_len--;
			return (uint8_t *)iov[i].iov_base + iov[i].iov_len;
		}
	}
	return NULL;
}

/* A status to complete with now, or BLK_QUEUED. */
static int blk_start(struct blk_dev *b, struct blk_req *req,
		     const struct virtio_blk_outhdr *hdr)
{
	req->type = le32toh(hdr->type);
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return blk_start_rw(b, req, le64toh(hdr->sector));
	case VIRTIO_BLK_T_FLUSH:
		return blk_start_flush(b, req);
	case VIRTIO_BLK_T_GET_ID:
		return blk_get_id(b, req);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk_start_dwz(b, req);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/*
 * Take one chain off the queue and start it. 1: taken, 0: queue empty,
 * -EIO: the ring or the chain was bad and the device failed (and was reset).
 */
static int blk_take(struct blk_dev *b)
{
	struct vmsg_dev *dev = b->dev;
	struct virtio_blk_outhdr hdr;
	struct blk_req *req = blk_req_get(b);
	uint16_t head;
	int ret;

	if (!req)
		return 0;
	ret = vmsg_vq_pop(&dev->vqs[0], &req->chain);
	if (ret <= 0) {
		blk_req_put(b, req);
		if (ret < 0)
			vmsg_dev_fail(dev, "broken ring");
		return ret;
	}
	req->status = blk_claim_status(&req->chain);
	if (req->chain.out_len < sizeof(hdr) || !req->status) {
		head = req->chain.head;
		/* Back in the pool first: failing resets the pool. */
		blk_req_put(b, req);
		vmsg_dev_fail(dev, "chain %u has no request header or status",
			      head);
		return -EIO;
	}
	vmsg_chain_from_iov(&req->chain, 0, &hdr, sizeof(hdr));
	ret = blk_start(b, req, &hdr);
	if (ret != BLK_QUEUED)
		blk_finish(b, req, (uint8_t)ret);
	/* A refused push failed the device: take nothing more. */
	return dev->broken ? -EIO : 1;
}

/*
 * Serve the queue until it is empty, the pool or the SQ is full (the next
 * completion brings us back) or a queue's worth of chains was taken (a NOP
 * brings us back, so one busy guest cannot starve the loop). Notifications
 * are off while we work and re-checked after turning them on again.
 */
static void blk_kick(struct blk_dev *b)
{
	struct vmsg_vq *vq = &b->dev->vqs[0];
	unsigned int budget = BLK_QUEUE_SIZE;
	int ret;

	vmsg_vq_set_notify(vq, false);
	while (blk_has_room(b)) {
		if (!budget--) {
			blk_defer(b);
			break;
		}
		ret = blk_take(b);
		if (ret < 0)
			return;
		if (ret)
			continue;
		vmsg_vq_set_notify(vq, true);
		ret = blk_take(b);
		if (ret < 0)
			return;
		if (!ret)
			break;
		vmsg_vq_set_notify(vq, false);
	}
	blk_submit(b);
	blk_notify_used(b);
}

/* --- completions ---------------------------------------------------------- */

/* A readv/writev finished with res: done, resubmit the rest, or failed. */
static int blk_rw_done(struct blk_dev *b, struct blk_req *req, int res)
{
	bool in = req->type == VIRTIO_BLK_T_IN;

	if (res <= 0 || (uint64_t)res > req->left) {
		blk_io_error(b, in ? "read" : "write", req->off, res);
		return VIRTIO_BLK_S_IOERR;
	}
	req->left -= res;
	if (!req->left)
		return VIRTIO_BLK_S_OK;
	/* A short transfer: no silent partial success, do the rest. */
	req->off += res;
	blk_iov_advance(&req->iov, &req->iovcnt, res);
	return blk_queue_rw(b, req);
}

/* One write of zeroes finished: the next one, or the next range. */
static int blk_zeroes_done(struct blk_dev *b, struct blk_req *req, int res)
{
	if (res <= 0) {
		blk_io_error(b, "write zeroes", req->off, res ? res : -EIO);
		return VIRTIO_BLK_S_IOERR;
	}
	req->off += res;
	req->left -= res;
	if (req->left)
		return blk_queue_zeroes(b, req);
	req->seg++;
	return blk_next_dwz(b, req);
}

static int blk_dwz_done(struct blk_dev *b, struct blk_req *req, int res)
{
	if (!req->mode)
		return blk_zeroes_done(b, req, res);
	if (res == -EOPNOTSUPP && (req->mode & FALLOC_FL_ZERO_RANGE)) {
		/* tmpfs and some others: punching a hole zeroes too. */
		b->no_zero_range = true;
		return blk_queue_dwz(b, req);
	}
	/* Discard is a hint: a file that cannot punch holes ignores it. */
	if (res == -EOPNOTSUPP && req->type == VIRTIO_BLK_T_DISCARD)
		res = 0;
	/* Neither zeroing nor punching (9p, NFS): write the zeroes. */
	if (res == -EOPNOTSUPP) {
		b->no_punch_hole = true;
		return blk_queue_dwz(b, req);
	}
	if (res < 0) {
		blk_io_error(b, "fallocate",
			     le64toh(req->segs[req->seg].sector) * BLK_SECTOR,
			     res);
		return VIRTIO_BLK_S_IOERR;
	}
	req->seg++;
	return blk_next_dwz(b, req);
}

static void blk_complete(struct blk_dev *b, struct blk_req *req, int res)
{
	int st;

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		st = blk_rw_done(b, req, res);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (res < 0)
			blk_io_error(b, "flush", 0, res);
		st = res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	default:
		st = blk_dwz_done(b, req, res);
		break;
	}
	if (st != BLK_QUEUED)
		blk_finish(b, req, (uint8_t)st);
}

/*
 * Reap every CQE. A failed push resets the device, which reaps the rest
 * itself: stop as soon as the epoch moves.
 */
static void blk_reap(struct blk_dev *b)
{
	unsigned int epoch = b->epoch;
	struct io_uring_cqe *cqe;
	void *data;
	int res;

	while (b->epoch == epoch && !io_uring_peek_cqe(&b->ring, &cqe)) {
		data = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&b->ring, cqe);
		b->inflight--;
		if (data)
			blk_complete(b, data, res);
		else
			b->kick_pending = false;
	}
}

static void blk_ring_cb(void *opaque, uint32_t events)
{
	struct blk_dev *b = opaque;
	unsigned int epoch = b->epoch;

	blk_reap(b);
	if (b->epoch != epoch)
		return;
	if (b->started && !b->dev->broken && vmsg_vq_ready(&b->dev->vqs[0]))
		blk_kick(b);
	blk_submit(b);
	blk_notify_used(b);
}

/* --- creation ------------------------------------------------------------- */

/* Size of a regular file or block device, in bytes. 0 or -errno. */
static int blk_image_size(int fd, uint64_t *size, char *why, size_t len)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size))
			return -errno;
	} else {
		snprintf(why, len, "not a regular file or block device");
		return -EINVAL;
	}
	if (*size % BLK_SECTOR) {
		snprintf(why, len, "size %llu is not a multiple of %d",
			 (unsigned long long)*size, BLK_SECTOR);
		return -EINVAL;
	}
	return 0;
}

/* Open the image, lock it against a second user and size it. */
static int blk_open(struct blk_dev *b, const char *path, char *err,
		    size_t errlen)
{
	char why[96] = "";
	uint64_t size;
	int ret;

	b->fd = open(path, (b->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		ret = -errno;
		goto err;
	}
	if (flock(b->fd, (b->ro ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		ret = -errno;
		if (ret == -EWOULDBLOCK) {
			snprintf(why, sizeof(why), "image in use");
			ret = -EBUSY;
		}
		goto err_close;
	}
	ret = blk_image_size(b->fd, &size, why, sizeof(why));
	if (ret)
		goto err_close;
	b->capacity = size / BLK_SECTOR;
	return 0;

err_close:
	close(b->fd);
err:
	snprintf(err, errlen, "blk: path=%s: %s", path,
		 why[0] ? why : strerror(-ret));
	return ret;
}

/* The default serial: the image's file name, cut to 20 bytes. */
static void blk_default_serial(struct blk_dev *b, const char *path)
{
	const char *name = strrchr(path, '/');
	size_t len;

	name = name ? name + 1 : path;
	len = strlen(name);
	if (len > sizeof(b->serial))
		len = sizeof(b->serial);
	memcpy(b->serial, name, len);
}

static int blk_parse(struct blk_dev *b, struct vmsg_spec *spec,
		     const char **path, char *err, size_t errlen)
{
	const char *serial;
	int ret = 0;

	*path = vmsg_spec_get(spec, "path");
	if (!*path || !**path) {
		snprintf(err, errlen, "blk: missing path=");
		return -EINVAL;
	}
	b->ro = vmsg_spec_get_bool(spec, "ro", &ret);
	if (ret) {
		snprintf(err, errlen, "blk: ro: expected on/off");
		return ret;
	}
	serial = vmsg_spec_get(spec, "serial");
	if (serial && strlen(serial) > sizeof(b->serial)) {
		snprintf(err, errlen, "blk: serial=%s: longer than %zu bytes",
			 serial, sizeof(b->serial));
		return -EINVAL;
	}
	if (serial)
		memcpy(b->serial, serial, strlen(serial));
	else
		blk_default_serial(b, *path);
	/* Options nobody fetched are the core's to reject, after create(). */
	return 0;
}

static void blk_init_config(struct blk_dev *b)
{
	struct virtio_blk_config *cfg = &b->config;

	cfg->capacity = htole64(b->capacity);
	cfg->size_max = htole32(BLK_SIZE_MAX);
	cfg->seg_max = htole32(BLK_SEG_MAX);
	cfg->blk_size = htole32(BLK_SECTOR);
	cfg->num_queues = htole16(1);
	cfg->max_discard_sectors = htole32(BLK_DWZ_MAX_SECTORS);
	cfg->max_discard_seg = htole32(BLK_DWZ_MAX_SEG);
	cfg->discard_sector_alignment = htole32(1);
	cfg->max_write_zeroes_sectors = htole32(BLK_DWZ_MAX_SECTORS);
	cfg->max_write_zeroes_seg = htole32(BLK_DWZ_MAX_SEG);
	cfg->write_zeroes_may_unmap = 1;
}

static uint64_t blk_features(const struct blk_dev *b)
{
	uint64_t f = 1ULL << VIRTIO_BLK_F_SEG_MAX |
		     1ULL << VIRTIO_BLK_F_SIZE_MAX |
		     1ULL << VIRTIO_BLK_F_BLK_SIZE |
		     1ULL << VIRTIO_BLK_F_FLUSH |
		     1ULL << VIRTIO_BLK_F_DISCARD |
		     1ULL << VIRTIO_BLK_F_WRITE_ZEROES;

	return b->ro ? f | 1ULL << VIRTIO_BLK_F_RO : f;
}

/* The request pool, the io_uring and its watch in the loop. */
static int blk_setup_io(struct blk_dev *b, char *err, size_t errlen)
{
	int ret;

	b->reqs = calloc(BLK_QUEUE_SIZE, sizeof(*b->reqs));
	if (!b->reqs)
		return -ENOMEM;
	blk_pool_init(b);
	ret = io_uring_queue_init(2 * BLK_QUEUE_SIZE, &b->ring, 0);
	if (ret) {
		snprintf(err, errlen, "blk: io_uring: %s", strerror(-ret));
		goto err_free;
	}
	ret = vmsg_loop_add(b->dev->loop, b->ring.ring_fd, EPOLLIN,
			    blk_ring_cb, b);
	if (ret) {
		snprintf(err, errlen, "blk: event loop: %s", strerror(-ret));
		goto err_exit;
	}
	return 0;

err_exit:
	io_uring_queue_exit(&b->ring);
err_free:
	free(b->reqs);
	return ret;
}

static int blk_create(struct vmsg_dev *dev, struct vmsg_spec *spec, char *err,
		      size_t errlen)
{
	struct blk_dev *b;
	const char *path;
	int ret;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->dev = dev;
	ret = blk_parse(b, spec, &path, err, errlen);
	if (ret)
		goto err_free;
	ret = blk_open(b, path, err, errlen);
	if (ret)
		goto err_free;
	ret = blk_setup_io(b, err, errlen);
	if (ret)
		goto err_close;
	blk_init_config(b);
	dev->num_queues = 1;
	dev->queue_max_size = BLK_QUEUE_SIZE;
	dev->device_features = blk_features(b);
	dev->config = (uint8_t *)&b->config;
	dev->config_size = sizeof(b->config);
	dev->priv = b;
	return 0;

err_close:
	close(b->fd);
err_free:
	free(b);
	return ret;
}

/* --- ops ------------------------------------------------------------------ */

static void blk_reset(struct vmsg_dev *dev)
{
	struct blk_dev *b = dev->priv;

	b->started = false;
	b->epoch++;
	blk_drain(b);
	blk_pool_init(b);
	b->kick_pending = false;
	b->pushed = 0;
}

static void blk_destroy(struct vmsg_dev *dev)
{
	struct blk_dev *b = dev->priv;

	blk_drain(b);
	vmsg_loop_del(dev->loop, b->ring.ring_fd);
	io_uring_queue_exit(&b->ring);
	close(b->fd);
	free(b->reqs);
	free(b);
	dev->priv = NULL;
	dev->config = NULL;
}

static void blk_start_dev(struct vmsg_dev *dev)
{
	struct blk_dev *b = dev->priv;

	/* Without FLUSH the driver expects a write-through device. */
	b->writethrough = !vmsg_dev_has_feature(dev, VIRTIO_BLK_F_FLUSH);
	b->started = true;
	/* Buffers made available before DRIVER_OK had their kick ignored. */
	if (vmsg_vq_ready(&dev->vqs[0]))
		blk_kick(b);
}

static void blk_notify(struct vmsg_dev *dev, unsigned int vq)
{
	struct blk_dev *b = dev->priv;

	if (vq == 0 && b->started)
		blk_kick(b);
}

const struct vmsg_dev_ops vmsg_blk_ops = {
	.type = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.create = blk_create,
	.destroy = blk_destroy,
	.reset = blk_reset,
	.start = blk_start_dev,
	.notify = blk_notify,
};
