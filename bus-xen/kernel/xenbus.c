// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-msg Xen bus, guest side: the xenbus frontend "vmsg".
 *
 * The control plane of the bus defined in docs/xen-bus.md: one xenbus
 * device per guest, served by vmsgd in dom0 or a driver domain. On the
 * backend's InitWait this file checks the backend's parameters, grants
 * fresh memory (shared.c), allocates the event channel and publishes it
 * all in one xenstore transaction; on the backend's Connected it registers
 * the bus with the virtio-msg transport, binds the event channel (ring.c),
 * goes Connected and discovers the devices. When the backend closes, dies
 * (backend_alive) or breaks the protocol, the devices are removed as "peer
 * gone", the grants revoked and the memory freed or, while still mapped,
 * left to the grant table code; then the frontend waits for the backend to
 * come back to InitWait. This file does not move or parse messages.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <xen/xen.h>

#include "vmsg_xen.h"

static unsigned int vmsg_xen_region_pages = VMSG_XEN_DEFAULT_REGION_PAGES;
module_param_named(region_pages, vmsg_xen_region_pages, uint, 0444);
MODULE_PARM_DESC(region_pages,
		 "Region size in 4 KiB pages, 2..16384 (default 1024)");

unsigned int vmsg_xen_timeout_ms = 10000;
module_param_named(timeout_ms, vmsg_xen_timeout_ms, uint, 0644);
MODULE_PARM_DESC(timeout_ms,
		 "Bus request timeout in ms (default 10000)");

/* The transport needs a page it never hands out plus one to use. */
#define VMSG_XEN_MIN_REGION_PAGES	2
/* On removal, how long a live backend gets to unmap our pages */
#define VMSG_XEN_CLOSE_POLL_MS		100
#define VMSG_XEN_CLOSE_POLLS		50
/* xenstore transactions retried on -EAGAIN */
#define VMSG_XEN_TXN_TRIES		16

/**
 * struct vmsg_xen_info - driver data of one xenbus device
 * @xbdev: the device
 * @lock: serialises the state machine, the gone work and removal
 * @conn: the current connection, or NULL
 * @gone_work: tears @conn down once its ring stopped because of the backend
 * @keys_ndir: region-dir-ref<i> keys written last (stale ones are removed)
 * @stats: counters, in sysfs
 */
struct vmsg_xen_info {
	struct xenbus_device *xbdev;
	struct mutex lock;		/* see above */
	struct vmsg_xen_conn *conn;
	struct work_struct gone_work;
	unsigned int keys_ndir;
	struct vmsg_xen_stats stats;
};

/*
 * Backend parameters.
 */

/* Strictly decimal (docs/xen-bus.md): digits only, nothing else. */
static int vmsg_xen_parse_uint(const char *s, unsigned int len,
			       unsigned int *val)
{
	unsigned int i;

	if (!len || len > 10 || strnlen(s, len + 1) != len)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isdigit(s[i]))
			return -EINVAL;
	return kstrtouint(s, 10, val);	/* -ERANGE past UINT_MAX */
}

static int vmsg_xen_read_uint(struct xenbus_device *xbdev, const char *node,
			      unsigned int *val)
{
	unsigned int len;
	char *s;
	int err;

	s = xenbus_read(XBT_NIL, xbdev->otherend, node, &len);
	if (IS_ERR(s))
		return PTR_ERR(s);
	err = vmsg_xen_parse_uint(s, len, val);
	kfree(s);
	return err;
}

/* Check the backend's version and size the region within its maximum. */
static int vmsg_xen_backend_params(struct xenbus_device *xbdev,
				   unsigned int *npages)
{
	unsigned int version, max;
	int err;

	err = vmsg_xen_read_uint(xbdev, "version", &version);
	if (!err && version != VMSG_XEN_VERSION)
		err = -EPROTONOSUPPORT;
	if (!err)
		err = vmsg_xen_read_uint(xbdev, "max-region-pages", &max);
	if (!err && max < VMSG_XEN_MIN_REGION_PAGES)
		err = -ERANGE;
	if (err)
		return err;
	*npages = min(vmsg_xen_region_pages, max);
	return 0;
}

/*
 * Connections.
 */

static void vmsg_xen_conn_free(struct vmsg_xen_conn *conn)
{
	if (conn->evtchn)
		xenbus_free_evtchn(conn->xbdev, conn->evtchn);
	vmsg_xen_shared_free(conn->xbdev, &conn->sh);
	vmsg_xen_ring_free(conn);
	kfree(conn);
}

static void vmsg_xen_bus_init(struct vmsg_xen_conn *conn)
{
	struct virtio_msg_bus *bus = &conn->bus;

	bus->parent = &conn->xbdev->dev;
	bus->name = conn->name;
	bus->ops = &vmsg_xen_bus_ops;
	bus->max_msg_size = VMSG_XEN_SLOT_SIZE;
	bus->region = conn->sh.region;
	bus->region_size = (size_t)conn->sh.npages * PAGE_SIZE;
	bus->priv = conn;
}

/* Fresh memory, grants and event channel for one connection. */
static struct vmsg_xen_conn *vmsg_xen_conn_create(struct vmsg_xen_info *info,
						  unsigned int npages)
{
	struct xenbus_device *xbdev = info->xbdev;
	struct vmsg_xen_conn *conn;
	int err;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return ERR_PTR(-ENOMEM);
	conn->xbdev = xbdev;
	conn->stats = &info->stats;
	conn->gone_work = &info->gone_work;
	snprintf(conn->name, sizeof(conn->name), "xen-%s",
		 dev_name(&xbdev->dev));

	err = vmsg_xen_ring_init(conn);
	if (!err)
		err = vmsg_xen_shared_alloc(xbdev, &conn->sh, npages);
	if (!err)
		err = xenbus_alloc_evtchn(xbdev, &conn->evtchn);
	if (err) {
		vmsg_xen_conn_free(conn);
		return ERR_PTR(err);
	}
	vmsg_xen_bus_init(conn);
	return conn;
}

static void vmsg_xen_remove_devices(struct vmsg_xen_conn *conn,
				    bool peer_gone)
{
	unsigned int n;

	/* Every device that can exist: ring.c lets no other dev_num in. */
	for (n = 1; n <= VMSG_XEN_MAX_DEV_NUM; n++)
		virtio_msg_bus_remove_device(&conn->bus, n, peer_gone);
}

/*
 * Remove the devices and unregister the bus. With a live backend, the
 * devices go while the ring still works, so that their drivers can reset
 * them; then (or at once when the backend is gone) the ring stops, every
 * request fails fast, and a device an EVENT_DEVICE added meanwhile goes
 * as peer gone. The transport's receive path is never entered after
 * virtio_msg_bus_unregister() since the irq is unbound by then.
 */
static void vmsg_xen_bus_down(struct vmsg_xen_conn *conn, bool peer_gone)
{
	vmsg_xen_ring_closing(conn);
	if (peer_gone)
		vmsg_xen_ring_stop(conn);
	cancel_work_sync(&conn->discover_work);
	vmsg_xen_remove_devices(conn, peer_gone);
	vmsg_xen_ring_stop(conn);
	vmsg_xen_remove_devices(conn, true);
	virtio_msg_bus_unregister(&conn->bus);
	conn->registered = false;
}

/* Stop everything that uses the connection; its memory stays granted. */
static void vmsg_xen_conn_stop(struct vmsg_xen_conn *conn, bool peer_gone)
{
	if (test_bit(VMSG_XEN_GONE, &conn->flags) ||
	    test_bit(VMSG_XEN_BROKEN, &conn->flags))
		peer_gone = true;
	if (conn->registered)
		vmsg_xen_bus_down(conn, peer_gone);
	else
		vmsg_xen_ring_stop(conn);
}

/* End the current connection, if any. Caller holds info->lock. */
static void vmsg_xen_teardown(struct vmsg_xen_info *info, bool peer_gone)
{
	struct vmsg_xen_conn *conn = info->conn;

	if (!conn)
		return;
	info->conn = NULL;
	vmsg_xen_conn_stop(conn, peer_gone);
	vmsg_xen_conn_free(conn);
}

/*
 * xenstore.
 */

static int vmsg_xen_put_dir_refs(struct xenbus_transaction xbt,
				 struct vmsg_xen_info *info,
				 const struct vmsg_xen_shared *sh)
{
	const char *dir = info->xbdev->nodename;
	char key[32];
	unsigned int i;
	int err = 0;

	for (i = 0; i < sh->ndir && !err; i++) {
		snprintf(key, sizeof(key), "region-dir-ref%u", i);
		err = xenbus_printf(xbt, dir, key, "%u", sh->dir_refs[i]);
	}
	/* Keys of an earlier connection with a larger region */
	for (; i < info->keys_ndir && !err; i++) {
		snprintf(key, sizeof(key), "region-dir-ref%u", i);
		err = xenbus_rm(xbt, dir, key);
		if (err == -ENOENT)
			err = 0;
	}
	return err;
}

static int vmsg_xen_put_keys(struct xenbus_transaction xbt,
			     struct vmsg_xen_info *info,
			     const struct vmsg_xen_conn *conn)
{
	const char *dir = info->xbdev->nodename;
	int err;

	err = xenbus_printf(xbt, dir, "version", "%u", VMSG_XEN_VERSION);
	if (!err)
		err = xenbus_printf(xbt, dir, "ring-ref", "%u",
				    conn->sh.ring_ref);
	if (!err)
		err = xenbus_printf(xbt, dir, "event-channel", "%u",
				    conn->evtchn);
	if (!err)
		err = xenbus_printf(xbt, dir, "region-pages", "%u",
				    conn->sh.npages);
	if (!err)
		err = vmsg_xen_put_dir_refs(xbt, info, &conn->sh);
	return err;
}

/* All of our keys in one transaction, so the backend sees all or none. */
static int vmsg_xen_write_keys(struct vmsg_xen_info *info,
			       const struct vmsg_xen_conn *conn)
{
	struct xenbus_transaction xbt;
	unsigned int tries;
	int err = -EAGAIN;

	for (tries = 0; tries < VMSG_XEN_TXN_TRIES && err == -EAGAIN; tries++) {
		err = xenbus_transaction_start(&xbt);
		if (err)
			return err;
		err = vmsg_xen_put_keys(xbt, info, conn);
		if (err) {
			xenbus_transaction_end(xbt, 1);
			return err;
		}
		err = xenbus_transaction_end(xbt, 0);
	}
	if (!err)
		info->keys_ndir = conn->sh.ndir;
	return err;
}

/*
 * The state machine. Everything below runs under info->lock, from the
 * xenwatch thread (backend state changes), the gone work or removal.
 */

/* Backend InitWait: offer a fresh connection. */
static void vmsg_xen_connect(struct vmsg_xen_info *info)
{
	struct xenbus_device *xbdev = info->xbdev;
	struct vmsg_xen_conn *conn;
	unsigned int npages;
	int err;

	err = vmsg_xen_backend_params(xbdev, &npages);
	if (err) {
		xenbus_dev_fatal(xbdev, err, "reading backend parameters");
		return;
	}
	conn = vmsg_xen_conn_create(info, npages);
	if (IS_ERR(conn)) {
		xenbus_dev_fatal(xbdev, PTR_ERR(conn),
				 "granting a ring and %u region pages", npages);
		return;
	}
	err = vmsg_xen_write_keys(info, conn);
	if (err) {
		vmsg_xen_conn_free(conn);
		xenbus_dev_fatal(xbdev, err, "writing %s", xbdev->nodename);
		return;
	}
	info->conn = conn;
	xenbus_switch_state(xbdev, XenbusStateInitialised);
}

/* The backend died: drop the connection, wait for a new backend. */
static void vmsg_xen_backend_lost(struct vmsg_xen_info *info)
{
	vmsg_xen_teardown(info, true);
	xenbus_switch_state(info->xbdev, XenbusStateInitialising);
}

static void vmsg_xen_backend_initwait(struct vmsg_xen_info *info)
{
	switch (info->xbdev->state) {
	case XenbusStateInitialised:
		/* Our keys are up, the backend reads them. */
		if (info->conn)
			return;
		break;
	case XenbusStateInitialising:
	case XenbusStateConnected:
	case XenbusStateClosed:
		break;
	default:
		return;
	}
	/*
	 * A connection left means a new backend (or, after a restore, a new
	 * host) replaced the one it was made for: that one is gone.
	 */
	vmsg_xen_teardown(info, true);
	vmsg_xen_connect(info);
}

static int vmsg_xen_go_live(struct vmsg_xen_conn *conn)
{
	int err;

	err = virtio_msg_bus_register(&conn->bus);
	if (err)
		return err;
	conn->registered = true;
	return vmsg_xen_ring_start(conn);
}

/* Backend Connected: it mapped everything; bring the bus up. */
static void vmsg_xen_backend_connected(struct vmsg_xen_info *info)
{
	struct xenbus_device *xbdev = info->xbdev;
	struct vmsg_xen_conn *conn = info->conn;
	int err;

	if (!conn || xbdev->state != XenbusStateInitialised)
		return;
	/* Set before Connected (docs/xen-bus.md), cleared if it died since */
	if (!READ_ONCE(conn->sh.ring->backend_alive)) {
		dev_warn_ratelimited(&xbdev->dev,
				     "backend connected but not alive\n");
		vmsg_xen_backend_lost(info);
		return;
	}
	err = vmsg_xen_go_live(conn);
	if (err) {
		vmsg_xen_teardown(info, false);
		xenbus_dev_fatal(xbdev, err, "registering the bus");
		return;
	}
	xenbus_switch_state(xbdev, XenbusStateConnected);
	queue_work(system_long_wq, &conn->discover_work);
}

/*
 * The toolstack unplugs the bus by setting the backend's online to 0;
 * anything else (missing, not strictly 0 or 1) counts as unplugged too.
 */
static bool vmsg_xen_online(struct xenbus_device *xbdev)
{
	unsigned int online;

	return !vmsg_xen_read_uint(xbdev, "online", &online) && online == 1;
}

/*
 * Backend Closing or Closed: it unmaps, our devices are gone. Closing is
 * acknowledged with Closed. Once the backend is Closed, a bus that stays
 * plugged goes back to Initialising, which tells the backend we are ready
 * to reconnect (it waits for that after closing us for a violation); an
 * unplugged one stays Closed until it is removed.
 */
static void vmsg_xen_backend_closing(struct vmsg_xen_info *info,
				     enum xenbus_state state)
{
	struct xenbus_device *xbdev = info->xbdev;
	bool reconnect;

	vmsg_xen_teardown(info, true);
	reconnect = state == XenbusStateClosed && vmsg_xen_online(xbdev);
	/* Already waiting for a backend to come (back) to InitWait */
	if (reconnect && xbdev->state == XenbusStateInitialising)
		return;
	if (xbdev->state != XenbusStateClosed)
		xenbus_frontend_closed(xbdev);
	if (reconnect)
		xenbus_switch_state(xbdev, XenbusStateInitialising);
}

static void vmsg_xen_backend_changed(struct xenbus_device *xbdev,
				     enum xenbus_state state)
{
	struct vmsg_xen_info *info = dev_get_drvdata(&xbdev->dev);

	mutex_lock(&info->lock);
	switch (state) {
	case XenbusStateInitWait:
		vmsg_xen_backend_initwait(info);
		break;
	case XenbusStateConnected:
		vmsg_xen_backend_connected(info);
		break;
	case XenbusStateClosing:
	case XenbusStateClosed:
		vmsg_xen_backend_closing(info, state);
		break;
	default:
		break;
	}
	mutex_unlock(&info->lock);
}

/* The ring stopped because of the backend (ring.c, any context). */
static void vmsg_xen_gone_work(struct work_struct *work)
{
	struct vmsg_xen_info *info = container_of(work, struct vmsg_xen_info,
						  gone_work);
	struct vmsg_xen_conn *conn;

	mutex_lock(&info->lock);
	/* The connection may have ended, or been replaced, meanwhile. */
	conn = info->conn;
	if (conn && test_bit(VMSG_XEN_BROKEN, &conn->flags)) {
		vmsg_xen_teardown(info, true);
		xenbus_dev_fatal(info->xbdev, -EPROTO,
				 "backend protocol violation");
	} else if (conn && test_bit(VMSG_XEN_GONE, &conn->flags)) {
		vmsg_xen_backend_lost(info);
	}
	mutex_unlock(&info->lock);
}

/*
 * Removal with a live backend: tell it we close and give it a moment to
 * unmap, so that our pages can be freed at once rather than later by the
 * grant table code.
 */
static void vmsg_xen_wait_unmapped(struct xenbus_device *xbdev)
{
	enum xenbus_state s;
	unsigned int i;

	xenbus_switch_state(xbdev, XenbusStateClosing);
	for (i = 0; i < VMSG_XEN_CLOSE_POLLS; i++) {
		s = xenbus_read_driver_state(xbdev->otherend);
		if (s != XenbusStateConnected && s != XenbusStateClosing)
			return;
		msleep(VMSG_XEN_CLOSE_POLL_MS);
	}
}

static void vmsg_xen_close(struct vmsg_xen_info *info)
{
	struct vmsg_xen_conn *conn = info->conn;

	if (!conn)
		return;
	info->conn = NULL;
	vmsg_xen_conn_stop(conn, false);
	if (!test_bit(VMSG_XEN_GONE, &conn->flags))
		vmsg_xen_wait_unmapped(info->xbdev);
	vmsg_xen_conn_free(conn);
}

/*
 * The xenbus driver.
 */

static int vmsg_xen_probe(struct xenbus_device *xbdev,
			  const struct xenbus_device_id *id)
{
	struct vmsg_xen_info *info;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info) {
		xenbus_dev_fatal(xbdev, -ENOMEM, "allocating driver data");
		return -ENOMEM;
	}
	info->xbdev = xbdev;
	mutex_init(&info->lock);
	INIT_WORK(&info->gone_work, vmsg_xen_gone_work);
	dev_set_drvdata(&xbdev->dev, info);
	/* Rebound after an unload we still say Closed: start over. */
	xenbus_switch_state(xbdev, XenbusStateInitialising);
	return 0;
}

/*
 * After a save/restore or a migration the backend we were connected to is
 * gone, and with it our grants' mappings and the event channel: stop the
 * ring now, so that the devices' own resume fails fast instead of timing
 * out, and let the gone work tear down. xenbus has reset our state to
 * Initialising; a backend that offers InitWait gets a fresh connection,
 * and the devices come back as new ones, as after a backend restart.
 */
static int vmsg_xen_resume(struct xenbus_device *xbdev)
{
	struct vmsg_xen_info *info = dev_get_drvdata(&xbdev->dev);

	mutex_lock(&info->lock);
	if (info->conn)
		vmsg_xen_ring_fail(info->conn, VMSG_XEN_GONE,
				   "restored: the backend is gone");
	mutex_unlock(&info->lock);
	return 0;
}

static void vmsg_xen_remove(struct xenbus_device *xbdev)
{
	struct vmsg_xen_info *info = dev_get_drvdata(&xbdev->dev);

	mutex_lock(&info->lock);
	vmsg_xen_close(info);
	mutex_unlock(&info->lock);
	/* Finds no connection if it still runs */
	cancel_work_sync(&info->gone_work);
	mutex_destroy(&info->lock);
	kfree(info);
}

#define VMSG_XEN_STAT_ATTR(_name, _field)				\
static ssize_t _name##_show(struct device *d,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct vmsg_xen_info *info = dev_get_drvdata(d);		\
									\
	return sysfs_emit(buf, "%d\n", atomic_read(&info->stats._field)); \
}									\
static DEVICE_ATTR_RO(_name)

VMSG_XEN_STAT_ATTR(dropped_messages, dropped);
VMSG_XEN_STAT_ATTR(spurious_events, spurious);
VMSG_XEN_STAT_ATTR(overflowed_messages, overflowed);
VMSG_XEN_STAT_ATTR(protocol_violations, violations);

static struct attribute *vmsg_xen_attrs[] = {
	&dev_attr_dropped_messages.attr,
	&dev_attr_spurious_events.attr,
	&dev_attr_overflowed_messages.attr,
	&dev_attr_protocol_violations.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vmsg_xen);

static const struct xenbus_device_id vmsg_xen_ids[] = {
	{ VMSG_XEN_DEVTYPE },
	{ "" }
};

static struct xenbus_driver vmsg_xen_driver = {
	.ids = vmsg_xen_ids,
	.probe = vmsg_xen_probe,
	.remove = vmsg_xen_remove,
	.resume = vmsg_xen_resume,
	.otherend_changed = vmsg_xen_backend_changed,
	/* Boot (or insmod) need not wait for the backend */
	.not_essential = true,
	.driver.dev_groups = vmsg_xen_groups,
};

static int __init vmsg_xen_init(void)
{
	/* Outside Xen there is no xenbus to register with. */
	if (!xen_domain())
		return -ENODEV;
	if (vmsg_xen_region_pages < VMSG_XEN_MIN_REGION_PAGES ||
	    vmsg_xen_region_pages > VMSG_XEN_MAX_REGION_PAGES) {
		pr_err("region_pages %u not in %u..%u\n", vmsg_xen_region_pages,
		       VMSG_XEN_MIN_REGION_PAGES, VMSG_XEN_MAX_REGION_PAGES);
		return -EINVAL;
	}
	return xenbus_register_frontend(&vmsg_xen_driver);
}

static void __exit vmsg_xen_exit(void)
{
	xenbus_unregister_driver(&vmsg_xen_driver);
}

module_init(vmsg_xen_init);
module_exit(vmsg_xen_exit);

MODULE_DESCRIPTION("virtio-msg Xen bus: guest side (xenbus frontend \"vmsg\")");
MODULE_LICENSE("GPL");
MODULE_ALIAS("xen:vmsg");
