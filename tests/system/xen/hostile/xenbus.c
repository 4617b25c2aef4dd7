// SPDX-License-Identifier: GPL-2.0
/*
 * vmsg_hostile: a hostile frontend of the vmsg Xen bus, for the Xen system
 * tests (tests/system/xen/t-hostile.*). It binds to the guest's
 * device/vmsg/0 in place of virtio_msg_xen.ko and, one scenario at a time,
 * connects to vmsgd with bogus xenstore values (docs/xen-bus.md lists the
 * keys) or connects properly and then breaks the ring protocol or feeds
 * it garbage (attacks.c). After each scenario it reports what the backend
 * did: closed the bus (with its B/error), kept answering PING, or neither;
 * then it starts over from Initialising, as the backend allows.
 *
 *   cat  /sys/bus/xen/devices/vmsg-0/scenarios   the names, one a line
 *   echo NAME >/sys/bus/xen/devices/vmsg-0/run   runs one (blocks, <1 min)
 *   cat  /sys/bus/xen/devices/vmsg-0/result      e.g. "closed: <B/error>"
 *
 * It judges nothing: the test script compares the result with what the
 * scenario must provoke. Never load it outside a test domU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <xen/xen.h>

#include "hostile.h"

/**
 * struct vh_scenario - one way of being hostile
 * @name: what the test script writes to "run"
 * @keys: the xenstore values written instead of the real ones
 * @attack: run once Connected, or NULL for a handshake-only scenario
 * @closes: the attack must make the backend close the bus; otherwise the
 *	    bus must still answer PING afterwards
 */
struct vh_scenario {
	const char *name;
	struct vh_keys keys;
	int (*attack)(struct vh_conn *c);
	bool closes;
};

static const struct vh_scenario vh_scenarios[] = {
	/* a proper connection: shows the others fail for their own reason */
	{ .name = "baseline" },
	{ .name = "version-2", .keys.val[VH_KEY_VERSION] = "2" },
	{ .name = "region-pages-hex", .keys.val[VH_KEY_REGION_PAGES] = "0x10" },
	{ .name = "region-pages-zero", .keys.val[VH_KEY_REGION_PAGES] = "0" },
	{ .name = "region-pages-huge",
	  .keys.val[VH_KEY_REGION_PAGES] = "4294967295" },
	{ .name = "region-pages-space",
	  .keys.val[VH_KEY_REGION_PAGES] = "16 " },
	{ .name = "event-channel-text",
	  .keys.val[VH_KEY_EVENT_CHANNEL] = "port" },
	{ .name = "event-channel-bogus",
	  .keys.val[VH_KEY_EVENT_CHANNEL] = "4000" },
	{ .name = "ring-ref-bogus", .keys.val[VH_KEY_RING_REF] = "77777" },
	{ .name = "ring-ref-missing", .keys.omit = BIT(VH_KEY_RING_REF) },
	{ .name = "dir-ref-bogus", .keys.val[VH_KEY_DIR_REF0] = "88888" },
	{ .name = "dir-ref-missing", .keys.omit = BIT(VH_KEY_DIR_REF0) },
	{ .name = "state-garbage", .keys.state = "zebra" },
	{ .name = "state-reconfiguring", .keys.state = "7" },
	{ .name = "prod-overrun", .attack = vh_attack_prod_overrun,
	  .closes = true },
	{ .name = "size-small", .attack = vh_attack_size_small,
	  .closes = true },
	{ .name = "size-large", .attack = vh_attack_size_large,
	  .closes = true },
	{ .name = "cons-tamper", .attack = vh_attack_cons_tamper,
	  .closes = true },
	{ .name = "drv-prod-tamper", .attack = vh_attack_drv_prod_tamper,
	  .closes = true },
	{ .name = "drv-cons-ahead", .attack = vh_attack_drv_cons_ahead,
	  .closes = true },
	{ .name = "no-consume", .attack = vh_attack_no_consume,
	  .closes = true },
	{ .name = "garbage-msgs", .attack = vh_attack_garbage_msgs },
	{ .name = "garbage-vq", .attack = vh_attack_garbage_vq },
	{ .name = "event-flood", .attack = vh_attack_event_flood },
};

/**
 * struct vh_info - driver data
 * @xbdev: our xenbus device
 * @lock: one scenario at a time; removal waits for it
 * @result: what the last scenario provoked
 */
struct vh_info {
	struct xenbus_device *xbdev;
	struct mutex lock;	/* see above */
	char result[VH_RESULT_LEN];
};

static const struct vh_scenario *vh_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vh_scenarios); i++)
		if (sysfs_streq(name, vh_scenarios[i].name))
			return &vh_scenarios[i];
	return NULL;
}

/* "closed: <B/error>", the backend's reason for closing */
static void vh_closed(struct vh_info *info)
{
	char *err = xenbus_read(XBT_NIL, info->xbdev->otherend, "error", NULL);

	snprintf(info->result, sizeof(info->result), "closed: %s",
		 IS_ERR(err) ? "(no error node)" : err);
	if (!IS_ERR(err))
		kfree(err);
}

/* What the backend did instead of what we waited for (@st < 0: nothing) */
static void vh_state_result(struct vh_info *info, const char *what, int st)
{
	enum xenbus_state now;

	if (st == XenbusStateClosed) {
		vh_closed(info);
	} else if (st < 0) {
		now = xenbus_read_driver_state(info->xbdev->otherend);
		snprintf(info->result, sizeof(info->result),
			 "%s: backend still %s", what, xenbus_strstate(now));
	} else {
		snprintf(info->result, sizeof(info->result), "%s: backend %s",
			 what, xenbus_strstate(st));
	}
}

/* After the attack: Closed, or still serving PING */
static void vh_judge_attack(struct vh_info *info, struct vh_conn *c,
			    const struct vh_scenario *s)
{
	int st;

	if (s->closes) {
		st = vh_wait_backend(info->xbdev, VH_STATE(XenbusStateClosed),
				     VH_WAIT_MS);
		vh_state_result(info, "not closed", st);
	} else if (!vh_ping(c, VH_WAIT_MS)) {
		strscpy(info->result, "alive", sizeof(info->result));
	} else {
		st = xenbus_read_driver_state(info->xbdev->otherend);
		vh_state_result(info, "no PING answer", st);
	}
}

/* Handshake, then the attack if there is one */
static void vh_play(struct vh_info *info, struct vh_conn *c,
		    const struct vh_scenario *s)
{
	u32 done = VH_STATE(XenbusStateConnected) |
		   VH_STATE(XenbusStateClosing) | VH_STATE(XenbusStateClosed);
	int st, err;

	err = vh_publish(c, &s->keys);
	if (err) {
		snprintf(info->result, sizeof(info->result),
			 "failed: writing our keys: %d", err);
		return;
	}
	st = vh_wait_backend(info->xbdev, done, VH_WAIT_MS);
	if (st == XenbusStateClosing)
		st = vh_wait_backend(info->xbdev, VH_STATE(XenbusStateClosed),
				     VH_WAIT_MS);
	if (st != XenbusStateConnected) {
		vh_state_result(info, "handshake", st);
	} else if (!s->attack) {
		if (vh_ping(c, VH_WAIT_MS))
			vh_state_result(info, "connected, no PING answer", st);
		else
			strscpy(info->result, "alive", sizeof(info->result));
	} else {
		err = s->attack(c);
		if (err)
			snprintf(info->result, sizeof(info->result),
				 "failed: the attack itself: %d", err);
		else
			vh_judge_attack(info, c, s);
	}
}

/*
 * From Initialising the backend goes back to InitWait, unmapping what it
 * had mapped first (docs/xen-bus.md): then our pages are ours again.
 */
static int vh_restart(struct xenbus_device *xbdev)
{
	int err = vh_set_state(xbdev, XenbusStateInitialising);

	if (err)
		return err;
	err = vh_wait_backend(xbdev, VH_STATE(XenbusStateInitWait),
			      VH_WAIT_MS);
	return err < 0 ? err : 0;
}

/*
 * Between scenarios we sit in Closed, which the backend leaves alone in
 * InitWait: a frontend below Connected would hold up insmod (xenbus waits
 * 30 s for a "connecting" device, even a not essential one).
 */
static void vh_idle(struct xenbus_device *xbdev)
{
	if (vh_set_state(xbdev, XenbusStateClosed))
		dev_info(&xbdev->dev, "cannot write our state\n");
}

static void vh_run(struct vh_info *info, const struct vh_scenario *s)
{
	struct vh_conn *c;
	int err;

	err = vh_restart(info->xbdev);
	if (err) {
		vh_state_result(info, "setup: no InitWait", err);
		return;
	}
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c) {
		strscpy(info->result, "failed: out of memory",
			sizeof(info->result));
		return;
	}
	err = vh_conn_alloc(info->xbdev, c);
	if (err)
		snprintf(info->result, sizeof(info->result),
			 "failed: granting or event channel: %d", err);
	else
		vh_play(info, c, s);
	if (vh_restart(info->xbdev))
		pr_info("%s: the backend did not return to InitWait\n",
			s->name);
	vh_conn_free(c);
	kfree(c);
	vh_idle(info->xbdev);
	pr_info("%s: %s\n", s->name, info->result);
}

static ssize_t run_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	struct vh_info *info = dev_get_drvdata(dev);
	const struct vh_scenario *s = vh_find(buf);

	if (!s)
		return -EINVAL;
	mutex_lock(&info->lock);
	vh_run(info, s);
	mutex_unlock(&info->lock);
	return count;
}
static DEVICE_ATTR_WO(run);

static ssize_t result_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vh_info *info = dev_get_drvdata(dev);
	ssize_t n;

	mutex_lock(&info->lock);
	n = sysfs_emit(buf, "%s\n", info->result);
	mutex_unlock(&info->lock);
	return n;
}
static DEVICE_ATTR_RO(result);

static ssize_t scenarios_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	ssize_t n = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vh_scenarios); i++)
		n += sysfs_emit_at(buf, n, "%s\n", vh_scenarios[i].name);
	return n;
}
static DEVICE_ATTR_RO(scenarios);

static struct attribute *vh_attrs[] = {
	&dev_attr_run.attr,
	&dev_attr_result.attr,
	&dev_attr_scenarios.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vh);

static int vh_probe(struct xenbus_device *xbdev,
		    const struct xenbus_device_id *id)
{
	struct vh_info *info = devm_kzalloc(&xbdev->dev, sizeof(*info),
					    GFP_KERNEL);

	if (!info)
		return -ENOMEM;
	info->xbdev = xbdev;
	mutex_init(&info->lock);
	strscpy(info->result, "none yet", sizeof(info->result));
	dev_set_drvdata(&xbdev->dev, info);
	vh_idle(xbdev);
	dev_info(&xbdev->dev, "hostile frontend bound: test use only\n");
	return 0;
}

/* Each scenario waits for the backend itself: nothing to do here. */
static void vh_backend_changed(struct xenbus_device *xbdev,
			       enum xenbus_state st)
{
}

/* sysfs removal has waited for a running scenario; none holds memory */
static void vh_remove(struct xenbus_device *xbdev)
{
	dev_set_drvdata(&xbdev->dev, NULL);
}

static const struct xenbus_device_id vh_ids[] = {
	{ VMSG_XEN_DEVTYPE },
	{ "" }
};

static struct xenbus_driver vh_driver = {
	.name = "vmsg_hostile",
	.ids = vh_ids,
	.probe = vh_probe,
	.remove = vh_remove,
	.otherend_changed = vh_backend_changed,
	/* never hold up insmod waiting for this device to connect */
	.not_essential = true,
	.driver.dev_groups = vh_groups,
};

static int __init vh_init(void)
{
	if (!xen_domain())
		return -ENODEV;
	return xenbus_register_frontend(&vh_driver);
}
module_init(vh_init);

static void __exit vh_exit(void)
{
	xenbus_unregister_driver(&vh_driver);
}
module_exit(vh_exit);

MODULE_DESCRIPTION("Hostile vmsg Xen bus frontend, for system tests only");
MODULE_LICENSE("GPL");
