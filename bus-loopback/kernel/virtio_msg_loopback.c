// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-msg loopback bus: the driver side and the device side of virtio-msg
 * in one kernel, with the device side played by a user-space daemon.
 *
 * The module registers one struct virtio_msg_bus with the virtio-msg
 * transport and gives the daemon two kinds of character device (UAPI in
 * include/uapi/linux/virtio_msg_lb.h, documented in docs/loopback.md):
 * /dev/virtio-msg-lb to add and remove devices and to map the shared region,
 * and /dev/virtio-msg-<dev_id> to move that device's messages, one whole
 * message per read() or write(). It only moves bytes: it never parses a
 * transport message beyond the header's dev_num and msg_size, and it places
 * no ring or buffer itself (the transport does, inside the region). The
 * daemon is untrusted: every size and index it passes is checked, and a
 * daemon that goes away makes its devices fail rather than hang.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/of_reserved_mem.h>
#include <linux/platform_device.h>
#include <linux/poll.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <asm/unaligned.h>

#include <linux/virtio_msg.h>
#include <linux/virtio_msg_lb.h>

#include "virtio_msg_bus.h"

#define LB_DRV_NAME		"virtio-msg-loopback"
/*
 * Class of the per-device nodes: /sys/class/virtio-msg-lb/virtio-msg-<n>.
 * Under our device its directory sits beside the transport's
 * "virtio-msg-<bus name>" device, so it must not be LB_DRV_NAME.
 */
#define LB_CLASS_NAME		"virtio-msg-lb"
/* dev_id is the minor number; 0 is never a device (bus messages use it). */
#define LB_MAX_DEVS		256
/* Messages queued towards the daemon per device before send() fails. */
#define LB_QUEUE_LEN		256
#define LB_MSG_SIZE		VIRTIO_MSG_DEFAULT_SIZE
#define LB_REGION_MIN		SZ_64K
#define LB_REGION_MAX		SZ_256M

static unsigned long region_size = SZ_4M;
module_param(region_size, ulong, 0444);
MODULE_PARM_DESC(region_size,
		 "Shared region bytes when no device tree node gives one (page multiple, 64 KiB..256 MiB; default 4 MiB)");

struct vmsg_lb;

/**
 * struct lb_dev - one device of the bus and its /dev/virtio-msg-<dev_id>
 * @lb: the bus
 * @dev_id: device number on the bus, also the node's minor number
 * @remove_work: runs virtio_msg_bus_remove_device(), which may sleep long
 * @gone_work: tells the transport, during a normal removal, that the device
 *	side has gone after all (the node was closed), so the removal stops
 *	waiting for answers
 * @wq: readers and pollers of the node
 * @read_lock: serialises readers, so a message is only dequeued once it
 *	reached user space
 * @opened: the node is open (only one opener at a time)
 * @closed: the node was open and is closed again: the device side is gone
 * @removing: @remove_work was queued
 * @peer_gone: the removal is (or was made) peer gone
 * @removed: removal finished; read() returns 0, poll() EPOLLHUP
 * @head: oldest queued message
 * @count: queued messages
 * @overflows: messages refused because the queue was full
 * @len: length of each queued message
 * @msg: the queue: whole messages from the transport, waiting for read()
 *
 * The flags, the queue and the counters are protected by vmsg_lb.lock. The
 * structure lives from IOCTL_VMSG_LB_ADD until its removal has finished and
 * its node is closed, whichever comes last.
 */
struct lb_dev {
	struct vmsg_lb *lb;
	u16 dev_id;
	struct work_struct remove_work;
	struct work_struct gone_work;
	wait_queue_head_t wq;
	struct mutex read_lock;		/* one reader at a time */
	bool opened;
	bool closed;
	bool removing;
	bool peer_gone;
	bool removed;
	unsigned int head;
	unsigned int count;
	u64 overflows;
	u8 len[LB_QUEUE_LEN];
	u8 msg[LB_QUEUE_LEN][LB_MSG_SIZE];
};

/**
 * struct vmsg_lb - the loopback bus instance
 * @bus: what the transport sees
 * @dev: the platform device; parent of the transport's devices and our nodes
 * @region: kernel mapping of the shared region
 * @region_size: its size, a page multiple
 * @region_phys: its physical base when it comes from reserved memory
 * @region_vmalloc: true if the module allocated it with vmalloc_user()
 * @ctrl: /dev/virtio-msg-lb
 * @devt: first of the LB_MAX_DEVS device numbers of the per-device nodes
 * @class: class of the per-device nodes
 * @cdev: one cdev covering every per-device node; minor = dev_id
 * @wq: where removals run
 * @mutex: serialises ADD, REMOVE, releases and the end of removals, i.e.
 *	everything that creates or destroys an lb_dev
 * @lock: protects @ctrl_open, @devs and every lb_dev's flags and queue; it
 *	is taken in the transport's send path, which may be atomic
 * @ctrl_open: the control node is open (only one opener at a time)
 * @devs: devices by dev_id
 */
struct vmsg_lb {
	struct virtio_msg_bus bus;
	struct device *dev;
	void *region;
	size_t region_size;
	phys_addr_t region_phys;
	bool region_vmalloc;
	struct miscdevice ctrl;
	dev_t devt;
	struct class *class;
	struct cdev cdev;
	struct workqueue_struct *wq;
	struct mutex mutex;		/* creation and destruction of lb_dev */
	spinlock_t lock;		/* devs[], flags, queues; send path */
	bool ctrl_open;
	struct lb_dev *devs[LB_MAX_DEVS];
};

/* The control node has one fixed name, so there is one bus per system. */
static atomic_t lb_bound = ATOMIC_INIT(0);

static bool lb_region_size_ok(u64 size)
{
	return size >= LB_REGION_MIN && size <= LB_REGION_MAX &&
	       PAGE_ALIGNED(size);
}

/*
 * Device lifetime. A device is created by ADD and removed by a work item
 * (removal needs the daemon to keep answering, so the ioctl cannot wait for
 * it). The removal is "peer gone" when nobody has the node open, since then
 * nobody will ever answer the transport's requests.
 */

static void lb_dev_destroy(struct vmsg_lb *lb, struct lb_dev *d)
{
	lockdep_assert_held(&lb->mutex);

	cancel_work_sync(&d->gone_work);	/* it does not take lb->mutex */
	spin_lock_irq(&lb->lock);
	lb->devs[d->dev_id] = NULL;
	spin_unlock_irq(&lb->lock);
	device_destroy(lb->class, MKDEV(MAJOR(lb->devt), d->dev_id));
	kvfree(d);
}

/* Removal is over: readers see EOF; free now unless the node is open. */
static void lb_dev_finish(struct vmsg_lb *lb, struct lb_dev *d)
{
	bool open;

	lockdep_assert_held(&lb->mutex);

	spin_lock_irq(&lb->lock);
	d->removed = true;
	open = d->opened;
	wake_up_interruptible(&d->wq);
	spin_unlock_irq(&lb->lock);
	if (!open)
		lb_dev_destroy(lb, d);
}

static void lb_remove_work(struct work_struct *work)
{
	struct lb_dev *d = container_of(work, struct lb_dev, remove_work);
	struct vmsg_lb *lb = d->lb;
	bool peer_gone;
	int ret;

	spin_lock_irq(&lb->lock);
	peer_gone = d->peer_gone;
	spin_unlock_irq(&lb->lock);
	ret = virtio_msg_bus_remove_device(&lb->bus, d->dev_id, peer_gone);
	if (ret && ret != -ENODEV)
		dev_warn(lb->dev, "removing device %u failed: %d\n", d->dev_id,
			 ret);

	mutex_lock(&lb->mutex);
	lb_dev_finish(lb, d);	/* may free d, and so this work item */
	mutex_unlock(&lb->mutex);
}

/*
 * A removal of the same device is running and waits for answers: a second
 * call with peer_gone makes the transport fail them at once and returns
 * when that removal is over. d outlives this: lb_dev_destroy() waits for it.
 */
static void lb_gone_work(struct work_struct *work)
{
	struct lb_dev *d = container_of(work, struct lb_dev, gone_work);

	virtio_msg_bus_remove_device(&d->lb->bus, d->dev_id, true);
}

/**
 * lb_dev_start_removal() - remove a device, or make its removal peer gone
 * @lb: the bus
 * @d: the device
 * @if_unopened: only if nobody has its node open
 *
 * The removal is "peer gone" exactly when the node is not open: then no
 * answer can come, and the transport must fail what is in flight at once.
 * If the node was closed while a normal removal runs, the transport is
 * told that the peer has gone after all.
 */
static void lb_dev_start_removal(struct vmsg_lb *lb, struct lb_dev *d,
				 bool if_unopened)
{
	struct work_struct *work = NULL;

	lockdep_assert_held(&lb->mutex);

	spin_lock_irq(&lb->lock);
	if (!d->removing && !(if_unopened && d->opened)) {
		d->removing = true;
		d->peer_gone = !d->opened;
		work = &d->remove_work;
	} else if (d->removing && !d->opened && !d->peer_gone && !d->removed) {
		d->peer_gone = true;
		work = &d->gone_work;
	}
	spin_unlock_irq(&lb->lock);
	if (work)
		queue_work(lb->wq, work);
}

static struct lb_dev *lb_dev_alloc(struct vmsg_lb *lb, unsigned int dev_id)
{
	struct lb_dev *d = kvzalloc(sizeof(*d), GFP_KERNEL);

	if (!d)
		return NULL;
	d->lb = lb;
	d->dev_id = dev_id;
	INIT_WORK(&d->remove_work, lb_remove_work);
	INIT_WORK(&d->gone_work, lb_gone_work);
	init_waitqueue_head(&d->wq);
	mutex_init(&d->read_lock);
	return d;
}

/*
 * IOCTL_VMSG_LB_ADD: create the node first, so that the daemon can open it
 * as soon as the ioctl returns, then let the transport probe (which starts
 * sending at once; messages wait in the queue until the daemon reads).
 */
static int lb_add(struct vmsg_lb *lb, unsigned int dev_id)
{
	struct device *node;
	struct lb_dev *d;
	int ret;

	if (!dev_id || dev_id >= LB_MAX_DEVS)
		return -EINVAL;
	d = lb_dev_alloc(lb, dev_id);
	if (!d)
		return -ENOMEM;

	mutex_lock(&lb->mutex);
	if (lb->devs[dev_id]) {
		ret = -EEXIST;
		goto err_free;
	}
	node = device_create(lb->class, lb->dev,
			     MKDEV(MAJOR(lb->devt), dev_id), d,
			     VMSG_LB_DEV_PREFIX "%u", dev_id);
	if (IS_ERR(node)) {
		ret = PTR_ERR(node);
		goto err_free;
	}
	spin_lock_irq(&lb->lock);
	lb->devs[dev_id] = d;
	spin_unlock_irq(&lb->lock);

	ret = virtio_msg_bus_add_device(&lb->bus, dev_id);
	if (ret) {
		/* someone may have opened the node already: end it normally */
		spin_lock_irq(&lb->lock);
		d->removing = true;
		spin_unlock_irq(&lb->lock);
		lb_dev_finish(lb, d);
	}
	mutex_unlock(&lb->mutex);
	return ret;

err_free:
	mutex_unlock(&lb->mutex);
	kvfree(d);
	return ret;
}

/* IOCTL_VMSG_LB_REMOVE: returns at once; a second REMOVE is a no-op. */
static int lb_remove(struct vmsg_lb *lb, unsigned int dev_id)
{
	struct lb_dev *d;
	int ret = -ENODEV;

	if (!dev_id || dev_id >= LB_MAX_DEVS)
		return -ENODEV;

	mutex_lock(&lb->mutex);
	d = lb->devs[dev_id];
	if (d) {
		lb_dev_start_removal(lb, d, false);
		ret = 0;
	}
	mutex_unlock(&lb->mutex);
	return ret;
}

/*
 * The transport's side: messages towards the daemon.
 */

static int lb_dev_enqueue(struct lb_dev *d, const void *msg, size_t len)
{
	unsigned int slot;

	if (d->count == LB_QUEUE_LEN) {
		d->overflows++;
		dev_warn_ratelimited(d->lb->dev,
				     "device %u: queue full, message refused (%llu so far)\n",
				     d->dev_id, d->overflows);
		return -ENOSPC;
	}
	slot = (d->head + d->count) % LB_QUEUE_LEN;
	memcpy(d->msg[slot], msg, len);
	d->len[slot] = len;
	d->count++;
	wake_up_interruptible(&d->wq);
	return 0;
}

/*
 * virtio_msg_bus_ops.send: any context, never sleeps. The device is the one
 * the header names; the loopback bus carries no bus messages (dev_num 0)
 * towards the device side: the ioctls replace them.
 */
static int lb_send(struct virtio_msg_bus *bus, const void *msg, size_t len)
{
	struct vmsg_lb *lb = container_of(bus, struct vmsg_lb, bus);
	const struct virtio_msg_hdr *hdr = msg;
	unsigned int dev_id;
	unsigned long flags;
	struct lb_dev *d;
	int ret;

	if (len < VIRTIO_MSG_HDR_SIZE || len > LB_MSG_SIZE)
		return -EINVAL;
	dev_id = get_unaligned_le16(&hdr->dev_num);	/* msg may be a u8[] */
	if (dev_id >= LB_MAX_DEVS)
		return -ENODEV;

	spin_lock_irqsave(&lb->lock, flags);
	d = lb->devs[dev_id];
	if (!d || d->removed)
		ret = -ENODEV;
	else if (d->closed)
		ret = -EPIPE;
	else
		ret = lb_dev_enqueue(d, msg, len);
	spin_unlock_irqrestore(&lb->lock, flags);
	return ret;
}

static const struct virtio_msg_bus_ops lb_bus_ops = {
	.send = lb_send,
};

/*
 * /dev/virtio-msg-<dev_id>: the daemon's end of one device.
 */

static int lb_dev_open(struct inode *inode, struct file *file)
{
	struct vmsg_lb *lb = container_of(inode->i_cdev, struct vmsg_lb, cdev);
	unsigned int dev_id = iminor(inode);
	struct lb_dev *d = NULL;
	int ret = 0;

	spin_lock_irq(&lb->lock);
	if (dev_id < LB_MAX_DEVS)
		d = lb->devs[dev_id];
	if (!d || d->removing)
		ret = -ENODEV;
	else if (d->opened)
		ret = -EBUSY;
	else
		d->opened = true;
	spin_unlock_irq(&lb->lock);
	if (ret)
		return ret;

	file->private_data = d;
	return stream_open(inode, file);
}

/* Closing the node means the device side is gone: remove the device. */
static int lb_dev_release(struct inode *inode, struct file *file)
{
	struct lb_dev *d = file->private_data;
	struct vmsg_lb *lb = d->lb;
	bool removed;

	mutex_lock(&lb->mutex);
	spin_lock_irq(&lb->lock);
	d->opened = false;
	d->closed = true;
	d->count = 0;
	removed = d->removed;
	spin_unlock_irq(&lb->lock);
	if (removed)
		lb_dev_destroy(lb, d);
	else
		lb_dev_start_removal(lb, d, false);
	mutex_unlock(&lb->mutex);
	return 0;
}

/*
 * Copy the oldest message into msg without dequeuing it. Returns its length,
 * 0 at EOF, -EAGAIN if none is queued, -EINVAL if it does not fit in count.
 */
static ssize_t lb_dev_peek(struct lb_dev *d, u8 *msg, size_t count)
{
	ssize_t ret;

	spin_lock_irq(&d->lb->lock);
	if (d->removed) {
		ret = 0;
	} else if (!d->count) {
		ret = -EAGAIN;
	} else if (d->len[d->head] > count) {
		ret = -EINVAL;
	} else {
		ret = d->len[d->head];
		memcpy(msg, d->msg[d->head], ret);
	}
	spin_unlock_irq(&d->lb->lock);
	return ret;
}

static void lb_dev_pop(struct lb_dev *d)
{
	spin_lock_irq(&d->lb->lock);
	if (d->count) {
		d->head = (d->head + 1) % LB_QUEUE_LEN;
		d->count--;
	}
	spin_unlock_irq(&d->lb->lock);
}

static bool lb_dev_readable(struct lb_dev *d)
{
	bool ret;

	spin_lock_irq(&d->lb->lock);
	ret = d->count || d->removed;
	spin_unlock_irq(&d->lb->lock);
	return ret;
}

/* One whole message per read(); 0 once the removal has finished. */
static ssize_t lb_dev_read(struct file *file, char __user *buf, size_t count,
			   loff_t *ppos)
{
	struct lb_dev *d = file->private_data;
	u8 msg[LB_MSG_SIZE];
	ssize_t ret;

	if (mutex_lock_interruptible(&d->read_lock))
		return -ERESTARTSYS;
	for (;;) {
		ret = lb_dev_peek(d, msg, count);
		if (ret != -EAGAIN || (file->f_flags & O_NONBLOCK))
			break;
		if (wait_event_interruptible(d->wq, lb_dev_readable(d))) {
			ret = -ERESTARTSYS;
			break;
		}
	}
	if (ret > 0) {
		if (copy_to_user(buf, msg, ret))
			ret = -EFAULT;
		else
			lb_dev_pop(d);
	}
	mutex_unlock(&d->read_lock);
	return ret;
}

static bool lb_dev_is_removed(struct lb_dev *d)
{
	bool ret;

	spin_lock_irq(&d->lb->lock);
	ret = d->removed;
	spin_unlock_irq(&d->lb->lock);
	return ret;
}

/*
 * One whole message per write(): a response or an event of this device. The
 * transport validates the rest; writes never block.
 */
static ssize_t lb_dev_write(struct file *file, const char __user *buf,
			    size_t count, loff_t *ppos)
{
	struct lb_dev *d = file->private_data;
	union {
		struct virtio_msg_hdr hdr;
		u8 bytes[LB_MSG_SIZE];
	} msg;

	if (count < VIRTIO_MSG_HDR_SIZE || count > sizeof(msg))
		return -EINVAL;
	if (copy_from_user(msg.bytes, buf, count))
		return -EFAULT;
	if (le16_to_cpu(msg.hdr.dev_num) != d->dev_id ||
	    le16_to_cpu(msg.hdr.msg_size) != count)
		return -EINVAL;
	if (lb_dev_is_removed(d))
		return -EPIPE;

	virtio_msg_bus_receive(&d->lb->bus, msg.bytes, count);
	return count;
}

static __poll_t lb_dev_poll(struct file *file, poll_table *wait)
{
	struct lb_dev *d = file->private_data;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &d->wq, wait);

	spin_lock_irq(&d->lb->lock);
	if (d->removed)
		mask |= EPOLLHUP;
	else if (d->count)
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_unlock_irq(&d->lb->lock);
	return mask;
}

static const struct file_operations lb_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= lb_dev_open,
	.release	= lb_dev_release,
	.read		= lb_dev_read,
	.write		= lb_dev_write,
	.poll		= lb_dev_poll,
	.llseek		= no_llseek,
};

/*
 * /dev/virtio-msg-lb: device control and the region.
 */

static struct vmsg_lb *lb_from_ctrl(struct file *file)
{
	/* misc_open() stores the miscdevice there */
	return container_of(file->private_data, struct vmsg_lb, ctrl);
}

static int lb_ctrl_open(struct inode *inode, struct file *file)
{
	struct vmsg_lb *lb = lb_from_ctrl(file);
	bool busy;

	spin_lock_irq(&lb->lock);
	busy = lb->ctrl_open;
	lb->ctrl_open = true;
	spin_unlock_irq(&lb->lock);
	return busy ? -EBUSY : 0;
}

/*
 * The owner is gone. Devices nobody serves are removed now, as peer gone.
 * Devices whose node is still open are removed when it is closed: a daemon
 * that dies has its files closed in fd order, usually this one first, and a
 * normal removal started here would wait for answers that never come.
 */
static int lb_ctrl_release(struct inode *inode, struct file *file)
{
	struct vmsg_lb *lb = lb_from_ctrl(file);
	unsigned int i;

	mutex_lock(&lb->mutex);
	for (i = 1; i < LB_MAX_DEVS; i++)
		if (lb->devs[i])
			lb_dev_start_removal(lb, lb->devs[i], true);
	spin_lock_irq(&lb->lock);
	lb->ctrl_open = false;
	spin_unlock_irq(&lb->lock);
	mutex_unlock(&lb->mutex);
	return 0;
}

static long lb_ctrl_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct vmsg_lb *lb = lb_from_ctrl(file);
	struct vmsg_lb_dev_info info;

	if (cmd != IOCTL_VMSG_LB_ADD && cmd != IOCTL_VMSG_LB_REMOVE)
		return -ENOTTY;
	if (copy_from_user(&info, (void __user *)arg, sizeof(info)))
		return -EFAULT;
	if (cmd == IOCTL_VMSG_LB_ADD)
		return lb_add(lb, info.dev_id);
	return lb_remove(lb, info.dev_id);
}

/* Shared mappings of whole pages of the region, never past its end. */
static int lb_ctrl_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vmsg_lb *lb = lb_from_ctrl(file);
	unsigned long pages = lb->region_size >> PAGE_SHIFT;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff >= pages || vma_pages(vma) > pages - vma->vm_pgoff)
		return -EINVAL;

	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	if (lb->region_vmalloc)
		return remap_vmalloc_range(vma, lb->region, vma->vm_pgoff);
	return remap_pfn_range(vma, vma->vm_start,
			       PHYS_PFN(lb->region_phys) + vma->vm_pgoff,
			       vma->vm_end - vma->vm_start, vma->vm_page_prot);
}

/* SEEK_END gives the region size; the offset means nothing else. */
static loff_t lb_ctrl_llseek(struct file *file, loff_t offset, int whence)
{
	struct vmsg_lb *lb = lb_from_ctrl(file);

	return fixed_size_llseek(file, offset, whence, lb->region_size);
}

static const struct file_operations lb_ctrl_fops = {
	.owner		= THIS_MODULE,
	.open		= lb_ctrl_open,
	.release	= lb_ctrl_release,
	.unlocked_ioctl	= lb_ctrl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= lb_ctrl_mmap,
	.llseek		= lb_ctrl_llseek,
};

/*
 * The region: reserved memory named by the device tree node, or vmalloc.
 */

static int lb_region_of(struct vmsg_lb *lb, struct device_node *np)
{
	struct device_node *mem_np;
	struct reserved_mem *rmem;

	mem_np = of_parse_phandle(np, "memory-region", 0);
	if (!mem_np) {
		dev_err(lb->dev, "no memory-region in %pOF\n", np);
		return -EINVAL;
	}
	rmem = of_reserved_mem_lookup(mem_np);
	of_node_put(mem_np);
	if (!rmem) {
		dev_err(lb->dev, "memory-region of %pOF is not reserved memory\n",
			np);
		return -EINVAL;
	}
	if (!PAGE_ALIGNED(rmem->base) || !lb_region_size_ok(rmem->size)) {
		dev_err(lb->dev, "region %pa+%pa: want page aligned, 64 KiB..256 MiB\n",
			&rmem->base, &rmem->size);
		return -EINVAL;
	}
	lb->region = devm_memremap(lb->dev, rmem->base, rmem->size,
				   MEMREMAP_WB);
	if (IS_ERR(lb->region))
		return PTR_ERR(lb->region);
	lb->region_phys = rmem->base;
	lb->region_size = rmem->size;
	/* whatever the firmware or a previous user left must not leak */
	memset(lb->region, 0, lb->region_size);
	return 0;
}

static void lb_vfree(void *region)
{
	vfree(region);
}

static int lb_region_alloc(struct vmsg_lb *lb)
{
	lb->region = vmalloc_user(region_size);	/* zeroed, mappable */
	if (!lb->region)
		return -ENOMEM;
	lb->region_size = region_size;
	lb->region_vmalloc = true;
	return devm_add_action_or_reset(lb->dev, lb_vfree, lb->region);
}

/*
 * The per-device nodes: one device number range and one cdev for all of
 * them, so a node is a device_create() away and lives in struct vmsg_lb.
 * (Misc devices would run out: 6.1 has 128 dynamic misc minors in all.)
 */
static int lb_nodes_init(struct vmsg_lb *lb)
{
	int ret;

	ret = alloc_chrdev_region(&lb->devt, 0, LB_MAX_DEVS, LB_DRV_NAME);
	if (ret)
		return ret;
	lb->class = class_create(THIS_MODULE, LB_CLASS_NAME);
	if (IS_ERR(lb->class)) {
		ret = PTR_ERR(lb->class);
		goto err_region;
	}
	cdev_init(&lb->cdev, &lb_dev_fops);
	lb->cdev.owner = THIS_MODULE;
	ret = cdev_add(&lb->cdev, lb->devt, LB_MAX_DEVS);
	if (ret)
		goto err_class;
	return 0;

err_class:
	class_destroy(lb->class);
err_region:
	unregister_chrdev_region(lb->devt, LB_MAX_DEVS);
	return ret;
}

static void lb_nodes_exit(struct vmsg_lb *lb)
{
	cdev_del(&lb->cdev);
	class_destroy(lb->class);
	unregister_chrdev_region(lb->devt, LB_MAX_DEVS);
}

static int lb_ctrl_init(struct vmsg_lb *lb)
{
	lb->ctrl.minor = MISC_DYNAMIC_MINOR;
	lb->ctrl.name = VMSG_LB_CTRL_NAME;
	lb->ctrl.fops = &lb_ctrl_fops;
	lb->ctrl.parent = lb->dev;
	lb->ctrl.mode = 0600;
	return misc_register(&lb->ctrl);
}

static int lb_bus_init(struct vmsg_lb *lb)
{
	lb->bus.parent = lb->dev;
	lb->bus.name = "loopback";
	lb->bus.ops = &lb_bus_ops;
	lb->bus.max_msg_size = LB_MSG_SIZE;
	lb->bus.region = lb->region;
	lb->bus.region_size = lb->region_size;
	lb->bus.priv = lb;
	return virtio_msg_bus_register(&lb->bus);
}

static int lb_setup(struct vmsg_lb *lb, struct device_node *np)
{
	int ret;

	ret = np ? lb_region_of(lb, np) : lb_region_alloc(lb);
	if (ret)
		return ret;
	lb->wq = alloc_workqueue("vmsg-lb", WQ_UNBOUND, 0);
	if (!lb->wq)
		return -ENOMEM;
	ret = lb_nodes_init(lb);
	if (ret)
		goto err_wq;
	ret = lb_bus_init(lb);
	if (ret)
		goto err_nodes;
	ret = lb_ctrl_init(lb);	/* last: from here on the daemon may come */
	if (ret)
		goto err_bus;
	return 0;

err_bus:
	virtio_msg_bus_unregister(&lb->bus);
err_nodes:
	lb_nodes_exit(lb);
err_wq:
	destroy_workqueue(lb->wq);
	return ret;
}

static int lb_probe(struct platform_device *pdev)
{
	struct vmsg_lb *lb;
	int ret;

	if (atomic_cmpxchg(&lb_bound, 0, 1)) {
		dev_err(&pdev->dev, "only one loopback bus per system\n");
		return -EBUSY;
	}
	lb = devm_kzalloc(&pdev->dev, sizeof(*lb), GFP_KERNEL);
	if (!lb) {
		ret = -ENOMEM;
		goto err;
	}
	lb->dev = &pdev->dev;
	mutex_init(&lb->mutex);
	spin_lock_init(&lb->lock);
	ret = lb_setup(lb, pdev->dev.of_node);
	if (ret)
		goto err;
	platform_set_drvdata(pdev, lb);
	dev_info(lb->dev, "%zu KiB region, /dev/%s ready\n",
		 lb->region_size / SZ_1K, VMSG_LB_CTRL_NAME);
	return 0;

err:
	dev_err(&pdev->dev, "setup failed: %d\n", ret);
	atomic_set(&lb_bound, 0);
	return ret;
}

/*
 * Only reached at module unload (bind attributes are suppressed), so no node
 * is open: every device was handed to a removal when its node was closed or
 * when the control node was. Wait for those, then let go of the rest.
 */
static int lb_remove_all(struct platform_device *pdev)
{
	struct vmsg_lb *lb = platform_get_drvdata(pdev);
	unsigned int i;

	misc_deregister(&lb->ctrl);
	destroy_workqueue(lb->wq);
	virtio_msg_bus_unregister(&lb->bus);

	mutex_lock(&lb->mutex);
	for (i = 1; i < LB_MAX_DEVS; i++)
		if (lb->devs[i])
			lb_dev_destroy(lb, lb->devs[i]);
	mutex_unlock(&lb->mutex);
	lb_nodes_exit(lb);
	atomic_set(&lb_bound, 0);
	return 0;
}

static const struct of_device_id lb_of_match[] = {
	{ .compatible = "virtio-msg,loopback" },
	{ }
};
MODULE_DEVICE_TABLE(of, lb_of_match);

static struct platform_driver lb_driver = {
	.probe	= lb_probe,
	.remove	= lb_remove_all,
	.driver	= {
		.name			= LB_DRV_NAME,
		.of_match_table		= lb_of_match,
		.suppress_bind_attrs	= true,
		/* lb_init() checks the fallback device's probe result */
		.probe_type		= PROBE_FORCE_SYNCHRONOUS,
	},
};

/* Without a device tree node, a platform device of our own stands in. */
static struct platform_device *lb_fallback;

static bool lb_have_of_node(void)
{
	struct device_node *np = of_find_matching_node(NULL, lb_of_match);

	of_node_put(np);
	return np;
}

static int __init lb_init(void)
{
	bool have_of = lb_have_of_node();
	int ret;

	if (!have_of && !lb_region_size_ok(region_size)) {
		pr_err("region_size=%lu: want a page multiple in 64 KiB..256 MiB\n",
		       region_size);
		return -EINVAL;
	}
	ret = platform_driver_register(&lb_driver);
	if (ret || have_of)
		return ret;

	lb_fallback = platform_device_register_simple(LB_DRV_NAME,
						      PLATFORM_DEVID_NONE,
						      NULL, 0);
	if (IS_ERR(lb_fallback)) {
		ret = PTR_ERR(lb_fallback);
		goto err_driver;
	}
	/* probing is synchronous: no driver data means it failed (logged) */
	if (!platform_get_drvdata(lb_fallback)) {
		ret = -ENODEV;
		goto err_device;
	}
	return 0;

err_device:
	platform_device_unregister(lb_fallback);
err_driver:
	platform_driver_unregister(&lb_driver);
	return ret;
}
module_init(lb_init);

static void __exit lb_exit(void)
{
	if (lb_fallback)
		platform_device_unregister(lb_fallback);
	platform_driver_unregister(&lb_driver);
}
module_exit(lb_exit);

MODULE_DESCRIPTION("virtio-msg loopback bus: devices served by user space");
MODULE_LICENSE("GPL");
