// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's side of the loopback bus (virtio_msg_loopback.ko).
 *
 * /dev/virtio-msg-lb gives the shared region (mmap) and announces devices
 * (IOCTL_VMSG_LB_ADD / IOCTL_VMSG_LB_REMOVE); each device's messages then
 * travel through /dev/virtio-msg-<dev_num>, one whole message per read() or
 * write(), inside the daemon's event loop. This file only moves messages and
 * follows the kernel's device lifetime (docs/loopback.md): it never parses a
 * message beyond the header's dev_num, and it leaves every message semantic
 * to the bus core (bus.h). Device nodes live next to the control node, so a
 * test can point ctrl_path at another directory.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_msg.h>
#include <linux/virtio_msg_lb.h>

#include "bus.h"
#include "log.h"
#include "loop.h"
#include "lb.h"

/* How long a removal may take before the daemon stops waiting for it. */
#define LB_DETACH_TIMEOUT_MS	30000
/* Messages read per wakeup of one device, so that no device starves others. */
#define LB_READ_BURST		32
/* How long a new node may take to appear (udev, unlike devtmpfs, is late). */
#define LB_NODE_WAIT_MS		1000
#define LB_NODE_POLL_MS		10
/* The first page is never handed out (virtio_msg_lb.h). */
#define LB_MIN_ADDR		4096

struct vmsg_lb;

/* The daemon's end of one device: /dev/virtio-msg-<dev_num>. */
struct lb_node {
	struct vmsg_lb *lb;
	uint16_t dev_num;
	int fd;				/* -1 when the slot is free */
	uint64_t deadline_ms;		/* removal timeout; 0 unless detaching */
};

struct vmsg_lb {
	struct vmsg_bus bus;
	int ctrl;			/* also bus.region.fd */
	int timer;			/* fires at the earliest deadline_ms */
	char dir[PATH_MAX];		/* where the device nodes are */
	struct lb_node nodes[VMSG_BUS_MAX_DEVS];
};

static uint64_t lb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct vmsg_lb *lb_of(struct vmsg_bus *bus)
{
	return bus->priv;
}

static int lb_ioctl(struct vmsg_lb *lb, unsigned long cmd, uint16_t dev_num)
{
	struct vmsg_lb_dev_info info = { .dev_id = dev_num };

	return ioctl(lb->ctrl, cmd, &info) ? -errno : 0;
}

/*
 * Removal timeouts: one timerfd per bus, armed for the earliest deadline of
 * any device being removed, disarmed when none is.
 */
static void lb_timer_arm(struct vmsg_lb *lb)
{
	struct itimerspec its = { 0 };
	uint64_t first = 0;
	unsigned int n;

	for (n = 1; n < VMSG_BUS_MAX_DEVS; n++) {
		uint64_t d = lb->nodes[n].deadline_ms;

		if (d && (!first || d < first))
			first = d;
	}
	its.it_value.tv_sec = (time_t)(first / 1000);
	its.it_value.tv_nsec = (long)(first % 1000) * 1000000;
	if (timerfd_settime(lb->timer, TFD_TIMER_ABSTIME, &its, NULL))
		vmsg_err("loopback: timerfd_settime: %s", strerror(errno));
}

/*
 * The device is over for the daemon: stop watching its node, close it (if
 * the kernel still has the device, that makes it remove it as peer gone)
 * and let the core free the device.
 */
static void lb_node_finish(struct lb_node *node)
{
	struct vmsg_lb *lb = node->lb;
	bool was_detaching = node->deadline_ms != 0;

	vmsg_loop_del(lb->bus.loop, node->fd);
	close(node->fd);
	node->fd = -1;
	node->deadline_ms = 0;
	if (was_detaching)
		lb_timer_arm(lb);
	vmsg_bus_destroy_device(&lb->bus, node->dev_num);
}

static void lb_timer_cb(void *opaque, uint32_t events)
{
	struct vmsg_lb *lb = opaque;
	uint64_t now = lb_now_ms();
	uint64_t expirations;
	unsigned int n;

	if (read(lb->timer, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		vmsg_err("loopback: reading timerfd: %s", strerror(errno));
	for (n = 1; n < VMSG_BUS_MAX_DEVS; n++) {
		struct lb_node *node = &lb->nodes[n];

		if (!node->deadline_ms || node->deadline_ms > now)
			continue;
		vmsg_warn("loopback: device %u: kernel still holds it %d s after IOCTL_VMSG_LB_REMOVE; destroying it anyway (see dmesg)",
			  n, LB_DETACH_TIMEOUT_MS / 1000);
		lb_node_finish(node);
	}
	lb_timer_arm(lb);
}

/*
 * Messages from the driver side. read() == 0 means the kernel finished
 * removing the device: the normal end of a detach.
 */
static bool lb_node_read_one(struct lb_node *node, uint8_t *buf)
{
	struct vmsg_lb *lb = node->lb;
	ssize_t n;

	n = read(node->fd, buf, VIRTIO_MSG_MAX_SIZE);
	if (n > 0) {
		vmsg_bus_receive(&lb->bus, buf, (size_t)n);
		return true;
	}
	if (n < 0 && errno == EINTR)
		return true;
	if (n < 0 && errno == EAGAIN)
		return false;
	if (n < 0)
		vmsg_err("loopback: reading %s/%s%u: %s; dropping the device",
			 lb->dir, VMSG_LB_DEV_PREFIX, node->dev_num,
			 strerror(errno));
	else if (!node->deadline_ms)
		vmsg_warn("loopback: device %u removed by the kernel unasked",
			  node->dev_num);
	lb_node_finish(node);
	return false;
}

static void lb_node_cb(void *opaque, uint32_t events)
{
	struct lb_node *node = opaque;
	uint8_t buf[VIRTIO_MSG_MAX_SIZE];
	unsigned int i;

	/* EPOLLHUP only comes with EOF, which read() reports too */
	for (i = 0; i < LB_READ_BURST && node->fd >= 0; i++)
		if (!lb_node_read_one(node, buf))
			break;
}

/* vmsg_bus_ops.send: one whole message to the device's node. */
static int lb_send(struct vmsg_bus *bus, const void *msg, size_t len)
{
	struct vmsg_lb *lb = lb_of(bus);
	struct virtio_msg_hdr hdr;
	struct lb_node *node;
	unsigned int dev_num;
	ssize_t n;

	if (len < sizeof(hdr))
		return -EINVAL;
	memcpy(&hdr, msg, sizeof(hdr));
	dev_num = le16toh(hdr.dev_num);
	node = dev_num < VMSG_BUS_MAX_DEVS ? &lb->nodes[dev_num] : NULL;
	if (!node || node->fd < 0)
		return -ENODEV;
	do {
		n = write(node->fd, msg, len);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		return 0;
	vmsg_log_rl(&bus->rl, VMSG_LOG_WARN,
		    "loopback: writing %zu bytes to device %u: %s", len,
		    dev_num, n < 0 ? strerror(errno) : "short write");
	return n < 0 ? -errno : -EIO;
}

/* udev, unlike devtmpfs, may create the node a little after the ioctl. */
static int lb_node_open(struct vmsg_lb *lb, uint16_t dev_num)
{
	struct timespec pause = { 0, LB_NODE_POLL_MS * 1000000L };
	char path[PATH_MAX + 32];
	int i, fd;

	snprintf(path, sizeof(path), "%s/%s%u", lb->dir, VMSG_LB_DEV_PREFIX,
		 dev_num);
	for (i = 0; i < LB_NODE_WAIT_MS / LB_NODE_POLL_MS; i++) {
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		nanosleep(&pause, NULL);
	}
	if (fd < 0) {
		fd = -errno;
		vmsg_err("loopback: open %s: %s (is devtmpfs or udev running?)",
			 path, strerror(errno));
	}
	return fd;
}

/*
 * vmsg_bus_ops.attach: the kernel starts probing as soon as ADD returns;
 * its first requests wait in the node's queue until the loop reads them.
 */
static int lb_attach(struct vmsg_bus *bus, struct vmsg_dev *dev)
{
	struct vmsg_lb *lb = lb_of(bus);
	struct lb_node *node = &lb->nodes[dev->dev_num];
	int ret, fd;

	if (node->fd >= 0)
		return -EBUSY;
	ret = lb_ioctl(lb, IOCTL_VMSG_LB_ADD, dev->dev_num);
	if (ret)
		return ret;
	fd = lb_node_open(lb, dev->dev_num);
	if (fd < 0) {
		ret = fd;
		goto err_remove;
	}
	node->fd = fd;
	ret = vmsg_loop_add(bus->loop, fd, EPOLLIN, lb_node_cb, node);
	if (ret)
		goto err_close;
	return 0;

err_close:
	node->fd = -1;
	close(fd);	/* the kernel removes the device: peer gone */
	return ret;
err_remove:
	lb_ioctl(lb, IOCTL_VMSG_LB_REMOVE, dev->dev_num);
	return ret;
}

/*
 * vmsg_bus_ops.detach: the kernel removes the device asynchronously and
 * needs answers meanwhile (reset, queue teardown), so keep serving until
 * read() reports EOF, or the timeout runs out.
 */
static void lb_detach(struct vmsg_bus *bus, struct vmsg_dev *dev)
{
	struct vmsg_lb *lb = lb_of(bus);
	struct lb_node *node = &lb->nodes[dev->dev_num];
	int ret;

	if (node->fd < 0) {
		vmsg_bus_destroy_device(bus, dev->dev_num);
		return;
	}
	ret = lb_ioctl(lb, IOCTL_VMSG_LB_REMOVE, dev->dev_num);
	if (ret) {
		vmsg_err("loopback: IOCTL_VMSG_LB_REMOVE %u: %s; closing its node instead",
			 dev->dev_num, strerror(-ret));
		lb_node_finish(node);
		return;
	}
	node->deadline_ms = lb_now_ms() + LB_DETACH_TIMEOUT_MS;
	lb_timer_arm(lb);
}

static const struct vmsg_bus_ops lb_ops = {
	.send = lb_send,
	.attach = lb_attach,
	.detach = lb_detach,
};

static const char *lb_open_hint(int err)
{
	switch (err) {
	case ENOENT:
		return " (is virtio_msg_loopback.ko loaded?)";
	case EBUSY:
		return " (another daemon owns the loopback bus)";
	case EACCES:
	case EPERM:
		return " (the node is root only)";
	default:
		return "";
	}
}

/* Control node and region; fills lb->ctrl and lb->bus.region. */
static int lb_map(struct vmsg_lb *lb, const char *path, char *err,
		  size_t errlen)
{
	long page = sysconf(_SC_PAGESIZE);
	off_t size;
	void *base;

	lb->ctrl = open(path, O_RDWR | O_CLOEXEC);
	if (lb->ctrl < 0) {
		snprintf(err, errlen, "open %s: %s%s", path, strerror(errno),
			 lb_open_hint(errno));
		return -errno;
	}
	size = lseek(lb->ctrl, 0, SEEK_END);
	if (size < 0) {
		snprintf(err, errlen, "lseek %s: %s", path, strerror(errno));
		return -errno;
	}
	if (size <= LB_MIN_ADDR || size % page) {
		snprintf(err, errlen, "%s: region of %lld bytes is unusable",
			 path, (long long)size);
		return -EINVAL;
	}
	base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    lb->ctrl, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "mmap %s (%lld bytes): %s", path,
			 (long long)size, strerror(errno));
		return -errno;
	}
	lb->bus.region.base = base;
	lb->bus.region.size = (uint64_t)size;
	lb->bus.region.min_addr = LB_MIN_ADDR;
	lb->bus.region.fd = lb->ctrl;
	return 0;
}

static int lb_timer_init(struct vmsg_lb *lb, struct vmsg_loop *loop,
			 char *err, size_t errlen)
{
	int ret;

	lb->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (lb->timer < 0) {
		snprintf(err, errlen, "loopback: timerfd_create: %s",
			 strerror(errno));
		return -errno;
	}
	ret = vmsg_loop_add(loop, lb->timer, EPOLLIN, lb_timer_cb, lb);
	if (ret)
		snprintf(err, errlen, "loopback: adding the timer to the loop: %s",
			 strerror(-ret));
	return ret;
}

static struct vmsg_lb *lb_alloc(const char *ctrl_path)
{
	struct vmsg_lb *lb = calloc(1, sizeof(*lb));
	char *copy = strdup(ctrl_path);
	unsigned int n;

	if (!lb || !copy) {
		free(lb);
		free(copy);
		return NULL;
	}
	snprintf(lb->dir, sizeof(lb->dir), "%s", dirname(copy));
	free(copy);
	lb->ctrl = -1;
	lb->timer = -1;
	for (n = 0; n < VMSG_BUS_MAX_DEVS; n++) {
		lb->nodes[n].lb = lb;
		lb->nodes[n].dev_num = (uint16_t)n;
		lb->nodes[n].fd = -1;
	}
	return lb;
}

static void lb_free(struct vmsg_lb *lb)
{
	if (lb->timer >= 0) {
		vmsg_loop_del(lb->bus.loop, lb->timer);
		close(lb->timer);
	}
	if (lb->bus.region.base)
		munmap(lb->bus.region.base, lb->bus.region.size);
	if (lb->ctrl >= 0)
		close(lb->ctrl);
	free(lb);
}

struct vmsg_bus *vmsg_lb_open(struct vmsg_loop *loop, const char *ctrl_path,
			      char *err, size_t errlen)
{
	struct vmsg_lb *lb;

	if (!ctrl_path)
		ctrl_path = VMSG_LB_DEFAULT_CTRL;
	lb = lb_alloc(ctrl_path);
	if (!lb) {
		snprintf(err, errlen, "loopback: out of memory");
		return NULL;
	}
	vmsg_bus_init(&lb->bus, &lb_ops, "loopback", loop,
		      VIRTIO_MSG_DEFAULT_SIZE);
	lb->bus.priv = lb;
	if (lb_map(lb, ctrl_path, err, errlen) ||
	    lb_timer_init(lb, loop, err, errlen)) {
		lb_free(lb);
		return NULL;
	}
	return &lb->bus;
}

static bool lb_busy(const struct vmsg_lb *lb)
{
	unsigned int n;

	for (n = 1; n < VMSG_BUS_MAX_DEVS; n++)
		if (lb->nodes[n].fd >= 0)
			return true;
	return false;
}

/* Serve the removals until every node reported EOF, or time runs out. */
static void lb_drain(struct vmsg_lb *lb, int timeout_ms)
{
	uint64_t end = lb_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	uint64_t now;
	int ret;

	while (lb_busy(lb) && (now = lb_now_ms()) < end) {
		ret = vmsg_loop_run_once(lb->bus.loop, (int)(end - now));
		if (ret < 0 && ret != -EINTR) {
			vmsg_err("loopback: event loop: %s", strerror(-ret));
			return;
		}
	}
}

void vmsg_lb_close(struct vmsg_bus *bus, int timeout_ms)
{
	struct vmsg_lb *lb = lb_of(bus);
	unsigned int n, left = 0;

	for (n = 1; n < VMSG_BUS_MAX_DEVS; n++)
		if (vmsg_bus_dev(bus, n))
			vmsg_bus_remove_device(bus, (uint16_t)n);
	lb_drain(lb, timeout_ms);
	for (n = 1; n < VMSG_BUS_MAX_DEVS; n++) {
		if (lb->nodes[n].fd < 0)
			continue;
		left++;
		lb_node_finish(&lb->nodes[n]);
	}
	if (left)
		vmsg_warn("loopback: %u device(s) not removed within %d ms; closed them (the kernel fails their I/O)",
			  left, timeout_ms);
	vmsg_bus_cleanup(bus);
	lb_free(lb);
}
