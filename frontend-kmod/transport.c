// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-msg transport: the module, its buses and the lifetime of devices.
 *
 * Bus modules register a struct virtio_msg_bus (virtio_msg_bus.h); for each
 * device they announce, the transport probes it from a work item
 * (GET_DEVICE_INFO, then register_virtio_device()) so the device side can
 * answer while the bus module's caller returns, and removes it on request,
 * waiting until the virtio device is gone. Device entries are looked up
 * under RCU from the receive path. This file knows nothing of the message
 * contents beyond EVENT_DEVICE; see msg.c, config.c, vq.c, dead.c and
 * region_dma.c, and docs/transport-kmod.md for the design.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "transport_internal.h"

unsigned int vmsg_timeout_ms = 10000;
module_param_named(timeout_ms, vmsg_timeout_ms, uint, 0644);
MODULE_PARM_DESC(timeout_ms,
		 "Time a device has to answer a request before it is treated as dead, in ms (default 10000)");

unsigned int vmsg_max_vq_size = 256;
module_param_named(max_vq_size, vmsg_max_vq_size, uint, 0644);
MODULE_PARM_DESC(max_vq_size,
		 "Largest virtqueue created, rounded down to a power of two (2..32768, default 256)");

/* EVENT_DEVICE work items a bus may have queued at once. */
#define VMSG_MAX_PENDING_EVENTS	64

struct vmsg_event {
	struct work_struct work;
	struct virtio_msg_transport *t;
	u16 dev_num;
	u16 state;
};

static void vmsg_dev_free(struct kref *ref)
{
	struct vmsg_dev *dev = container_of(ref, struct vmsg_dev, ref);

	kfree(dev->vqs);
	kfree(dev);
}

/**
 * vmsg_dev_put() - drop a reference to a device
 * @dev: the device
 */
void vmsg_dev_put(struct vmsg_dev *dev)
{
	kref_put(&dev->ref, vmsg_dev_free);
}

static void vmsg_vdev_release(struct device *d)
{
	vmsg_dev_put(to_vmsg_dev(dev_to_virtio(d)));
}

static int vmsg_register(struct vmsg_dev *dev, u32 device_id, u32 vendor_id,
			 u32 max_vqs)
{
	unsigned int nvqs = min_t(u32, max_vqs, VMSG_MAX_VQS);
	int err;

	if (nvqs) {
		dev->vqs = kcalloc(nvqs, sizeof(*dev->vqs), GFP_KERNEL);
		if (!dev->vqs)
			return -ENOMEM;
	}
	/* Pairs with smp_load_acquire() in vq.c and dead.c */
	smp_store_release(&dev->nvqs, nvqs);

	dev->vdev.id.device = device_id;
	dev->vdev.id.vendor = vendor_id;
	dev->vdev.dev.parent = dev->t->dev;
	dev->vdev.dev.release = vmsg_vdev_release;
	dev->vdev.config = &vmsg_config_ops;

	kref_get(&dev->ref);	/* dropped by vmsg_vdev_release() */
	err = register_virtio_device(&dev->vdev);
	if (err) {
		put_device(&dev->vdev.dev);
		return err;
	}
	vmsg_dev_registered(dev);
	return 0;
}

/**
 * vmsg_probe_work() - probe one device and register it
 * @work: vmsg_dev.probe_work
 *
 * A device that fails here stays known to the bus (so that its removal
 * still succeeds) but has no virtio device.
 */
static void vmsg_probe_work(struct work_struct *work)
{
	struct vmsg_dev *dev = container_of(work, struct vmsg_dev, probe_work);
	u32 device_id, vendor_id, max_vqs;
	int err;

	err = vmsg_get_device_info(dev, &device_id, &vendor_id, &max_vqs);
	if (!err && !device_id) {
		vmsg_err(dev, "device id 0: no device, skipped\n");
		return;
	}
	if (!err)
		err = vmsg_register(dev, device_id, vendor_id, max_vqs);
	if (err)
		vmsg_err(dev, "probe failed: %d\n", err);
}

/*
 * A driver's removal waits for its requests in flight (virtio_blk has no
 * timeout of its own) and sends no request meanwhile, so a device that
 * stops working but still answers, or is stuck, would make the removal
 * wait forever. While removing, a device silent for timeout_ms is dead.
 */
static void vmsg_stall_work(struct work_struct *work)
{
	struct vmsg_dev *dev = container_of(to_delayed_work(work),
					    struct vmsg_dev, stall_work);
	unsigned long deadline;

	deadline = READ_ONCE(dev->last_seen) + vmsg_timeout_jiffies();
	if (time_before(jiffies, deadline)) {
		queue_delayed_work(dev->t->wq, &dev->stall_work,
				   deadline - jiffies);
		return;
	}
	vmsg_set_dead(dev, "no progress during removal", true);
}

static struct vmsg_dev *vmsg_dev_alloc(struct virtio_msg_transport *t,
				       u16 dev_num)
{
	struct vmsg_dev *dev = kzalloc(sizeof(*dev), GFP_KERNEL);

	if (!dev)
		return NULL;
	dev->t = t;
	dev->dev_num = dev_num;
	kref_init(&dev->ref);
	mutex_init(&dev->req_mutex);
	spin_lock_init(&dev->req_lock);
	init_completion(&dev->gone);
	ratelimit_state_init(&dev->rs, DEFAULT_RATELIMIT_INTERVAL,
			     DEFAULT_RATELIMIT_BURST);
	INIT_WORK(&dev->probe_work, vmsg_probe_work);
	INIT_DELAYED_WORK(&dev->dead_work, vmsg_dead_work);
	INIT_DELAYED_WORK(&dev->stall_work, vmsg_stall_work);
	return dev;
}

/**
 * virtio_msg_bus_add_device() - start probing a device
 * @bus: the bus
 * @dev_num: its device number
 *
 * Process context; returns at once, probing runs from a work item.
 *
 * Return: 0, -EEXIST if @dev_num is known, -ESHUTDOWN if the bus is being
 * unregistered, -ENOMEM.
 */
int virtio_msg_bus_add_device(struct virtio_msg_bus *bus, u16 dev_num)
{
	struct virtio_msg_transport *t = bus->transport;
	struct vmsg_dev *dev;
	int err;

	dev = vmsg_dev_alloc(t, dev_num);
	if (!dev)
		return -ENOMEM;

	mutex_lock(&t->lock);
	if (t->closing)
		err = -ESHUTDOWN;
	else
		err = xa_insert(&t->devs, dev_num, dev, GFP_KERNEL);
	/* Queued under the lock: a removal cannot slip in between. */
	if (!err)
		queue_work(t->wq, &dev->probe_work);
	mutex_unlock(&t->lock);

	if (err) {
		kfree(dev);
		return err == -EBUSY ? -EEXIST : err;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(virtio_msg_bus_add_device);

/*
 * Tear one device down. With the device dead first (peer gone), the probe
 * and the driver's removal finish quickly: requests fail at once and
 * buffers in flight are returned with errors.
 */
static void vmsg_remove(struct vmsg_dev *dev, bool peer_gone)
{
	struct virtio_msg_transport *t = dev->t;

	if (peer_gone)
		vmsg_set_dead(dev, "device side gone", false);
	WRITE_ONCE(dev->last_seen, jiffies);
	queue_delayed_work(t->wq, &dev->stall_work, vmsg_timeout_jiffies());
	cancel_work_sync(&dev->probe_work);
	if (test_and_clear_bit(VMSG_DEV_REGISTERED, &dev->flags))
		unregister_virtio_device(&dev->vdev);
	cancel_delayed_work_sync(&dev->stall_work);

	xa_erase(&t->devs, dev->dev_num);
	/* No receive path can still see the device after this. */
	synchronize_rcu();
	cancel_delayed_work_sync(&dev->dead_work);
	complete_all(&dev->gone);
	vmsg_dev_put(dev);
}

/**
 * virtio_msg_bus_remove_device() - remove a device and wait until it is gone
 * @bus: the bus
 * @dev_num: the device number
 * @peer_gone: the device side will never answer again
 *
 * Process context, sleeps. If a removal of the same device is already in
 * progress, waits for it to finish (making it fast if @peer_gone).
 *
 * Return: 0, or -ENODEV if @dev_num is unknown.
 */
int virtio_msg_bus_remove_device(struct virtio_msg_bus *bus, u16 dev_num,
				 bool peer_gone)
{
	struct virtio_msg_transport *t = bus->transport;
	struct vmsg_dev *dev;
	bool in_progress = false;

	mutex_lock(&t->lock);
	dev = xa_load(&t->devs, dev_num);
	if (dev) {
		in_progress = dev->removing;
		dev->removing = true;
		kref_get(&dev->ref);
	}
	mutex_unlock(&t->lock);
	if (!dev)
		return -ENODEV;

	if (!in_progress) {
		vmsg_remove(dev, peer_gone);
	} else {
		if (peer_gone)
			vmsg_set_dead(dev, "device side gone", false);
		wait_for_completion(&dev->gone);
		/* Our vmsg_set_dead() may have queued it after vmsg_remove() */
		cancel_delayed_work_sync(&dev->dead_work);
	}
	vmsg_dev_put(dev);
	return 0;
}
EXPORT_SYMBOL_GPL(virtio_msg_bus_remove_device);

static void vmsg_event_work(struct work_struct *work)
{
	struct vmsg_event *ev = container_of(work, struct vmsg_event, work);
	struct virtio_msg_transport *t = ev->t;
	int err;

	if (ev->state == VIRTIO_MSG_DEVICE_READY) {
		err = virtio_msg_bus_add_device(t->bus, ev->dev_num);
		if (err && err != -EEXIST && err != -ESHUTDOWN)
			dev_warn(t->dev, "dev %u: not added: %d\n",
				 ev->dev_num, err);
	} else {
		virtio_msg_bus_remove_device(t->bus, ev->dev_num, false);
	}
	atomic_dec(&t->events_pending);
	kfree(ev);
}

/**
 * vmsg_bus_event() - EVENT_DEVICE from the device side
 * @t: the bus
 * @dev_num: device concerned
 * @state: VIRTIO_MSG_DEVICE_READY or VIRTIO_MSG_DEVICE_REMOVED
 *
 * Any context, under rcu_read_lock(). The add or remove runs from an
 * ordered work item; at most VMSG_MAX_PENDING_EVENTS wait at once.
 */
void vmsg_bus_event(struct virtio_msg_transport *t, u16 dev_num, u16 state)
{
	struct vmsg_event *ev;

	if (state != VIRTIO_MSG_DEVICE_READY &&
	    state != VIRTIO_MSG_DEVICE_REMOVED) {
		vmsg_drop(t, "unknown device state");
		return;
	}
	if (READ_ONCE(t->closing))
		return;
	if (atomic_inc_return(&t->events_pending) > VMSG_MAX_PENDING_EVENTS) {
		atomic_dec(&t->events_pending);
		vmsg_drop(t, "too many device events pending");
		return;
	}
	ev = kmalloc(sizeof(*ev), GFP_ATOMIC);
	if (!ev) {
		atomic_dec(&t->events_pending);
		return;
	}
	INIT_WORK(&ev->work, vmsg_event_work);
	ev->t = t;
	ev->dev_num = dev_num;
	ev->state = state;
	queue_work(t->event_wq, &ev->work);
}

static ssize_t dropped_messages_show(struct device *d,
				     struct device_attribute *attr, char *buf)
{
	struct virtio_msg_transport *t = dev_get_drvdata(d);

	return sysfs_emit(buf, "%d\n", atomic_read(&t->dropped));
}
static DEVICE_ATTR_RO(dropped_messages);

static ssize_t stale_responses_show(struct device *d,
				    struct device_attribute *attr, char *buf)
{
	struct virtio_msg_transport *t = dev_get_drvdata(d);

	return sysfs_emit(buf, "%d\n", atomic_read(&t->stale));
}
static DEVICE_ATTR_RO(stale_responses);

static struct attribute *vmsg_bus_attrs[] = {
	&dev_attr_dropped_messages.attr,
	&dev_attr_stale_responses.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vmsg_bus);

static int vmsg_check_bus(const struct virtio_msg_bus *bus)
{
	if (!bus->parent || !bus->name || !bus->ops || !bus->ops->send ||
	    !bus->region) {
		pr_err("bus descriptor incomplete\n");
		return -EINVAL;
	}
	if (bus->max_msg_size < VMSG_MIN_BUS_MSG_SIZE ||
	    bus->max_msg_size > VIRTIO_MSG_MAX_SIZE) {
		dev_err(bus->parent,
			"max message size %zu not in %zu..%u (SET_VQUEUE needs %zu)\n",
			bus->max_msg_size, VMSG_MIN_BUS_MSG_SIZE,
			VIRTIO_MSG_MAX_SIZE, VMSG_MIN_BUS_MSG_SIZE);
		return -EINVAL;
	}
	if (bus->region_size < 2 * PAGE_SIZE ||
	    !PAGE_ALIGNED(bus->region_size)) {
		dev_err(bus->parent, "region size %zu unusable\n",
			bus->region_size);
		return -EINVAL;
	}
	return 0;
}

static void vmsg_transport_free(struct virtio_msg_transport *t)
{
	if (t->event_wq)
		destroy_workqueue(t->event_wq);
	if (t->wq)
		destroy_workqueue(t->wq);
	mutex_destroy(&t->lock);
	kfree(t);
}

/**
 * virtio_msg_bus_register() - register a bus with the transport
 * @bus: filled in by the bus module; bus->transport is set here
 *
 * Sets up the region allocator and the bus device that carries the DMA
 * ops; no device exists yet. Process context.
 *
 * Return: 0 or a negative errno (-EINVAL for an unusable descriptor,
 * including a max_msg_size below the size of SET_VQUEUE).
 */
int virtio_msg_bus_register(struct virtio_msg_bus *bus)
{
	struct virtio_msg_transport *t;
	int err;

	err = vmsg_check_bus(bus);
	if (err)
		return err;
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->bus = bus;
	mutex_init(&t->lock);
	xa_init(&t->devs);

	/* Reclaim-safe: kick retries and dead mode complete block I/O. */
	t->wq = alloc_workqueue("vmsg-%s", WQ_UNBOUND | WQ_MEM_RECLAIM, 0,
				bus->name);
	t->event_wq = alloc_ordered_workqueue("vmsg-%s-ev", 0, bus->name);
	if (!t->wq || !t->event_wq) {
		err = -ENOMEM;
		goto err_free;
	}
	err = vmsg_region_create(t, vmsg_bus_groups);
	if (err)
		goto err_free;
	bus->transport = t;
	return 0;

err_free:
	vmsg_transport_free(t);
	return err;
}
EXPORT_SYMBOL_GPL(virtio_msg_bus_register);

/**
 * virtio_msg_bus_unregister() - remove every device of a bus and the bus
 * @bus: a registered bus
 *
 * Devices are removed as by virtio_msg_bus_remove_device() without
 * peer_gone: the bus module keeps delivering messages until this returns
 * (a bus whose device side is gone removes its devices with peer_gone
 * first). EVENT_DEVICE messages are ignored from the start. Sleeps.
 */
void virtio_msg_bus_unregister(struct virtio_msg_bus *bus)
{
	struct virtio_msg_transport *t = bus->transport;
	struct vmsg_dev *dev;
	unsigned long idx;

	mutex_lock(&t->lock);
	WRITE_ONCE(t->closing, true);
	mutex_unlock(&t->lock);
	/* Receive paths that could still queue an event are done. */
	synchronize_rcu();
	flush_workqueue(t->event_wq);

	xa_for_each(&t->devs, idx, dev)
		virtio_msg_bus_remove_device(bus, idx, false);

	vmsg_region_destroy(t);
	bus->transport = NULL;
	xa_destroy(&t->devs);
	vmsg_transport_free(t);
}
EXPORT_SYMBOL_GPL(virtio_msg_bus_unregister);

struct class *vmsg_class;

static int __init vmsg_init(void)
{
	vmsg_class = class_create(THIS_MODULE, "virtio-msg");
	return PTR_ERR_OR_ZERO(vmsg_class);
}

static void __exit vmsg_exit(void)
{
	/* Bus modules depend on this one: every bus is gone already. */
	class_destroy(vmsg_class);
}

module_init(vmsg_init);
module_exit(vmsg_exit);

MODULE_DESCRIPTION("virtio-msg transport: virtio devices over message buses");
MODULE_LICENSE("GPL");
