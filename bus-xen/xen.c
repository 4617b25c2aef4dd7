// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's side of the vmsg Xen bus (docs/xen-bus.md): the xenstore
 * control plane and the data plane of one struct vmsg_bus per guest.
 *
 * Modelled on xen-9pfsd: one handle each for xenstore, event channels and
 * grants, all polled from the daemon's loop; a watch on our own
 * backend/vmsg tree (dom0-owned, written by the toolstack) whose events
 * make us rescan guests or one guest's device list; and one watch per
 * guest on the frontend's state node only (XSA-349). Every value the guest
 * writes is parsed strictly (xenstore/xsutil.c), the ring is handled by
 * ring.c, which sanitises every index, and messages go to the bus core
 * (vmsg_bus_receive()) which copies them before parsing. A guest that
 * breaks the protocol gets its bus closed (Closing, unmap, unbind, Closed)
 * and nothing else: other guests and the daemon carry on. Teardown that
 * a device model could be in the middle of (a send from its completion
 * callback) is deferred to an eventfd callback, so nothing is freed under
 * a model's feet.
 *
 * xentoolcore_restrict_all() is not used: one daemon serves many domains,
 * so its handles cannot be restricted to one of them. Deprivileging is
 * left to running the daemon in a driver domain. This file is not the
 * toolstack (vmsgctl writes the xenstore directories) and knows nothing of
 * message semantics.
 */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xentoollog.h>

#include <linux/virtio_msg.h>
#include <linux/virtio_msg_xen.h>

#include "bus.h"
#include "device.h"
#include "log.h"
#include "loop.h"
#include "ring.h"
#include "xen.h"
#include "../xenstore/xsutil.h"

/* How long a removed device may stay un-reset before we destroy it. */
#define XEN_DETACH_TIMEOUT_MS	10000
/* How long a reset, removed device is still served (status read-back). */
#define XEN_RESET_GRACE_MS	2000
/* Messages taken from one guest per wakeup, so no guest starves others. */
#define XEN_DRAIN_BURST		(4 * VMSG_XEN_RING_SLOTS)
/*
 * A guest that signals with nothing to do more often than this per second
 * gets its port left masked for XEN_THROTTLE_MS (XSA-332: event floods).
 */
#define XEN_SPURIOUS_PER_S	1000
#define XEN_THROTTLE_MS		20
/* Guests one daemon serves; the toolstack, not a guest, adds them. */
#define XEN_MAX_GUESTS		256
#define XEN_GUEST_GRANTS	(1 + VMSG_XEN_MAX_DIR_PAGES + \
				 VMSG_XEN_MAX_REGION_PAGES)
/* The first page of the region is never handed out (docs/xen-bus.md). */
#define XEN_MIN_ADDR		VMSG_XEN_PAGE_SIZE

#define TOKEN_ROOT		"root"
#define TOKEN_RELEASE		"release"
#define TOKEN_FE		'f'	/* "f<domid>": that guest's F/state */

struct vmsg_xen;

/* One guest: its bus, its xenstore directories and its mappings. */
struct xen_guest {
	struct vmsg_bus bus;
	struct vmsg_xen *x;
	struct xen_guest *next;
	uint16_t domid;
	char name[16];				/* "xen-d5", for logs */
	char be[VMSG_XS_PATH_MAX];		/* B */
	char fe[VMSG_XS_PATH_MAX];		/* F */
	char fe_state[VMSG_XS_PATH_MAX];	/* F/state, watched */
	char be_error[VMSG_XS_PATH_MAX];	/* B/error */
	char token[8];
	bool watching;
	unsigned int scan_gen;
	enum xenbus_state state;		/* B/state as we wrote it */

	/* The connection: valid while live. */
	struct vmsg_xen_ring_page *ring_page;
	struct vmsg_xen_ring ring;
	uint32_t region_pages;
	int port;				/* local port, or -1 */
	bool live;		/* mapped and bound: messages flow */
	bool announce;		/* Connected: hot-plug goes in-band */
	bool failed;		/* violation: close from xen_kick_cb() */
	bool violated;		/* closed for a violation: B/error says why */
	bool more;		/* drain budget ran out: go on from the kick */
	bool in_drain;		/* sends only note that a notify is due */
	bool notify;		/* a notify is due at the end of the drain */
	uint64_t spurious_since_ms;	/* start of the counting window */
	unsigned int spurious;		/* events with nothing to do in it */
	uint64_t unmask_at_ms;		/* throttled: unmask then, else 0 */

	/* Devices created from B/devices, and removals in progress. */
	bool owned[VMSG_BUS_MAX_DEVS];
	bool bad[VMSG_BUS_MAX_DEVS];		/* spec failed: not retried */
	bool quiesced[VMSG_BUS_MAX_DEVS];	/* removed and reset */
	uint64_t deadline_ms[VMSG_BUS_MAX_DEVS];
	unsigned int nr_detaching;
	struct vmsg_ratelimit rl;		/* guest-triggered logs */
	char why[160];				/* the last violation */
};

struct vmsg_xen {
	struct vmsg_loop *loop;
	uint16_t be_domid;
	struct xs_handle *xs;
	xenevtchn_handle *xce;
	xengnttab_handle *xgt;
	/*
	 * The libraries' own logger, quiet below XTL_CRITICAL: a guest that
	 * offers bogus grants makes libxengnttab log every failed mmap, and
	 * logs a guest can trigger must be rate-limited, which ours are.
	 */
	xentoollog_logger_stdiostream *xtl;
	int xs_fd, evt_fd, timer_fd, kick_fd;	/* in the loop, or -1 */
	bool watching;
	bool closing;				/* no new devices */
	char root[VMSG_XS_PATH_MAX];		/* .../backend/vmsg */
	struct xen_guest *guests;
	unsigned int nr_guests;
	unsigned int scan_gen;
};

static void xen_scan_devices(struct xen_guest *g);

static uint64_t xen_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A guest-written value, made safe and short for a log line. */
static const char *xen_shown(const char *v, char *buf, size_t len)
{
	size_t i;

	if (!v)
		return "(missing)";
	for (i = 0; v[i] && i + 1 < len; i++)
		buf[i] = isprint((unsigned char)v[i]) ? v[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void xen_peer_err(struct xen_guest *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Something only the guest can cause: rate-limited. */
static void xen_peer_err(struct xen_guest *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->why, sizeof(g->why), fmt, ap);
	va_end(ap);
	vmsg_log_rl(&g->rl, VMSG_LOG_WARN, "%s: buggy or malicious guest: %s",
		    g->name, g->why);
}

static void xen_kick(struct vmsg_xen *x)
{
	uint64_t one = 1;

	if (write(x->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vmsg_err("xen: eventfd write: %s", strerror(errno));
}

/*
 * A protocol violation seen while the bus is in use: stop using it now,
 * close it from the kick callback, where no device model is on the stack.
 */
static void xen_violation(struct xen_guest *g, const char *why)
{
	xen_peer_err(g, "%s", why);
	g->failed = true;
	xen_kick(g->x);
}

/* --- xenstore helpers ----------------------------------------------------- */

/*
 * dir/key, or NULL: errno ENOENT if absent, EINVAL if it holds a NUL byte
 * (which would hide trailing garbage from the parsers). The caller frees.
 */
static char *xen_read(struct vmsg_xen *x, const char *dir, const char *key)
{
	char path[VMSG_XS_PATH_MAX];
	unsigned int len;
	char *v;

	if (vmsg_xs_join(path, sizeof(path), dir, key)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	v = xs_read(x->xs, XBT_NULL, path, &len);
	if (v && strlen(v) != len) {
		free(v);
		errno = EINVAL;
		return NULL;
	}
	return v;
}

static int xen_write(struct vmsg_xen *x, xs_transaction_t t, const char *dir,
		     const char *key, const char *val)
{
	char path[VMSG_XS_PATH_MAX];

	if (vmsg_xs_join(path, sizeof(path), dir, key))
		return -ENAMETOOLONG;
	return xs_write(x->xs, t, path, val, strlen(val)) ? 0 : -EIO;
}

static void xen_set_state(struct xen_guest *g, enum xenbus_state st)
{
	char v[4];

	snprintf(v, sizeof(v), "%d", st);
	if (xen_write(g->x, XBT_NULL, g->be, "state", v))
		vmsg_err("%s: writing %s/state: %s", g->name, g->be,
			 strerror(errno));
	else if (g->state != st)
		vmsg_info("%s: backend %s", g->name, vmsg_xs_state_name(st));
	g->state = st;
}

/* A frontend number, strictly parsed; a bad one is the guest's fault. */
static int xen_fe_u32(struct xen_guest *g, const char *key, uint32_t min,
		      uint32_t max, uint32_t *val)
{
	char *v = xen_read(g->x, g->fe, key);
	char shown[24];
	int ret;

	ret = vmsg_xs_parse_uint(v, max, val);
	if (!ret && *val < min)
		ret = -ERANGE;
	if (ret)
		xen_peer_err(g, "%s/%s = '%s' is not a number in %u..%u",
			     g->fe, key, xen_shown(v, shown, sizeof(shown)),
			     min, max);
	free(v);
	return ret ? -EPROTO : 0;
}

/* --- device removal timeouts ---------------------------------------------- */

/* One timerfd for the daemon, armed for the earliest removal deadline. */
static void xen_timer_arm(struct vmsg_xen *x)
{
	struct itimerspec its = { 0 };
	struct xen_guest *g;
	uint64_t first = 0;
	unsigned int n;

	for (g = x->guests; g; g = g->next) {
		if (g->unmask_at_ms && (!first || g->unmask_at_ms < first))
			first = g->unmask_at_ms;
		for (n = 1; g->nr_detaching && n < VMSG_BUS_MAX_DEVS; n++)
			if (g->deadline_ms[n] &&
			    (!first || g->deadline_ms[n] < first))
				first = g->deadline_ms[n];
	}
	its.it_value.tv_sec = (time_t)(first / 1000);
	its.it_value.tv_nsec = (long)(first % 1000) * 1000000;
	if (timerfd_settime(x->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		vmsg_err("xen: timerfd_settime: %s", strerror(errno));
}

/* The device is over: free it and forget its removal. */
static void xen_destroy_dev(struct xen_guest *g, uint16_t n)
{
	if (g->deadline_ms[n]) {
		g->deadline_ms[n] = 0;
		g->nr_detaching--;
	}
	g->quiesced[n] = false;
	g->owned[n] = false;
	vmsg_bus_destroy_device(&g->bus, n);
}

/*
 * A removed device the guest has reset (status 0) is done with, but the
 * guest's transport still reads the status back and tears its queues
 * down: keep answering for XEN_RESET_GRACE_MS more, then destroy it.
 */
static bool xen_quiesce(struct xen_guest *g, uint16_t n, uint64_t now)
{
	struct vmsg_dev *dev = vmsg_bus_dev(&g->bus, n);

	if (!g->deadline_ms[n] || g->quiesced[n] || !dev || dev->status)
		return false;
	g->quiesced[n] = true;
	if (g->deadline_ms[n] > now + XEN_RESET_GRACE_MS)
		g->deadline_ms[n] = now + XEN_RESET_GRACE_MS;
	return true;
}

static void xen_reap(struct xen_guest *g)
{
	uint64_t now = xen_now_ms();
	bool any = false;
	uint16_t n;

	for (n = 1; g->nr_detaching && n < VMSG_BUS_MAX_DEVS; n++)
		any |= xen_quiesce(g, n, now);
	if (any)
		xen_timer_arm(g->x);
}

static void xen_expire(struct xen_guest *g, uint64_t now)
{
	bool any = false;
	uint16_t n;

	for (n = 1; g->nr_detaching && n < VMSG_BUS_MAX_DEVS; n++) {
		if (!g->deadline_ms[n] || g->deadline_ms[n] > now)
			continue;
		if (g->quiesced[n])
			vmsg_dbg("%s: device %u reset by the guest, destroying it",
				 g->name, n);
		else
			vmsg_warn("%s: device %u not reset by the guest %d s after EVENT_DEVICE REMOVED; destroying it anyway",
				  g->name, n, XEN_DETACH_TIMEOUT_MS / 1000);
		xen_destroy_dev(g, n);
		any = true;
	}
	if (any)
		xen_scan_devices(g);	/* the same number may be back */
}

static void xen_unmask(struct vmsg_xen *x, int port)
{
	if (port >= 0 && xenevtchn_unmask(x->xce, (evtchn_port_t)port))
		vmsg_err("xen: unmasking port %d: %s", port, strerror(errno));
}

static void xen_timer_cb(void *opaque, uint32_t events)
{
	struct vmsg_xen *x = opaque;
	uint64_t expirations, now = xen_now_ms();
	struct xen_guest *g;

	if (read(x->timer_fd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		vmsg_err("xen: reading timerfd: %s", strerror(errno));
	for (g = x->guests; g; g = g->next) {
		if (g->unmask_at_ms && g->unmask_at_ms <= now) {
			g->unmask_at_ms = 0;
			xen_unmask(x, g->port);
		}
		xen_expire(g, now);
	}
	xen_timer_arm(x);
}

/* --- the bus ops ---------------------------------------------------------- */

static void xen_notify(struct xen_guest *g)
{
	if (g->in_drain) {
		g->notify = true;
		return;
	}
	if (xenevtchn_notify(g->x->xce, (evtchn_port_t)g->port))
		vmsg_log_rl(&g->rl, VMSG_LOG_ERR, "%s: notifying port %d: %s",
			    g->name, g->port, strerror(errno));
}

/* vmsg_bus_ops.send: into the ring, or behind it in the overflow queue. */
static int xen_send(struct vmsg_bus *bus, const void *msg, size_t len)
{
	struct xen_guest *g = bus->priv;
	int ret;

	if (!g->live || g->failed)
		return -ENOTCONN;
	ret = vmsg_xen_ring_send(&g->ring, msg, len);
	if (ret == -EPROTO) {
		xen_violation(g, vmsg_xen_ring_queued(&g->ring) ==
					 VMSG_XEN_RING_OVERFLOW ?
				 "it does not consume its to_drv queue" :
				 "to_drv queue indices out of range");
		return ret;
	}
	if (ret == 1)
		xen_notify(g);
	return ret < 0 ? ret : 0;
}

/* vmsg_bus_ops.attach: once Connected, new devices are announced. */
static int xen_attach(struct vmsg_bus *bus, struct vmsg_dev *dev)
{
	struct xen_guest *g = bus->priv;

	/* a failed announce fails the bus, not the device */
	if (g->announce)
		vmsg_bus_announce(bus, dev->dev_num, VIRTIO_MSG_DEVICE_READY);
	return 0;
}

/*
 * vmsg_bus_ops.detach: tell the guest, then serve the device until the
 * guest has reset it (and a grace period passed) or the timeout ran out.
 * Before Connected the guest cannot know the device: destroy it at once.
 */
static void xen_detach(struct vmsg_bus *bus, struct vmsg_dev *dev)
{
	struct xen_guest *g = bus->priv;
	uint16_t n = dev->dev_num;
	uint64_t now = xen_now_ms();

	if (!g->announce) {
		xen_destroy_dev(g, n);
		return;
	}
	vmsg_bus_announce(bus, n, VIRTIO_MSG_DEVICE_REMOVED);
	g->deadline_ms[n] = now + XEN_DETACH_TIMEOUT_MS;
	g->nr_detaching++;
	xen_quiesce(g, n, now);
	xen_timer_arm(g->x);
}

static const struct vmsg_bus_ops xen_bus_ops = {
	.send = xen_send,
	.attach = xen_attach,
	.detach = xen_detach,
};

/* --- data plane ----------------------------------------------------------- */

/*
 * Serve up to XEN_DRAIN_BURST messages. The overflow queue goes first:
 * the guest's event may mean it made room. Sends made meanwhile only
 * note that the guest needs a notify, so a burst costs one hypercall.
 * Returns whether there was anything to do.
 */
static bool xen_drain(struct xen_guest *g)
{
	uint8_t msg[VMSG_XEN_SLOT_SIZE];
	unsigned int i = 0;
	bool busy;
	size_t len;
	int ret;

	if (!g->live || g->failed)
		return false;
	g->in_drain = true;
	g->notify = false;
	ret = vmsg_xen_ring_flush(&g->ring);
	if (ret > 0)
		g->notify = true;
	busy = ret != 0;
	for (; ret >= 0 && i < XEN_DRAIN_BURST && !g->failed; i++) {
		ret = vmsg_xen_ring_pop(&g->ring, msg, &len, &g->notify);
		if (ret <= 0)
			break;
		busy = true;
		vmsg_bus_receive(&g->bus, msg, len);
		xen_reap(g);
	}
	g->in_drain = false;
	busy |= ret < 0;
	if (ret == -EPROTO && !g->failed)
		xen_violation(g,
			      "to_dev queue index or message size out of range");
	if (i == XEN_DRAIN_BURST) {
		g->more = true;
		xen_kick(g->x);
	}
	if (g->notify && !g->failed)
		xen_notify(g);
	return busy;
}

static struct xen_guest *xen_guest_by_port(struct vmsg_xen *x, int port)
{
	struct xen_guest *g;

	for (g = x->guests; g; g = g->next)
		if (g->live && g->port == port)
			return g;
	return NULL;
}

/* One more event with nothing to do; true once there were too many. */
static bool xen_flooding(struct xen_guest *g)
{
	uint64_t now = xen_now_ms();

	if (now - g->spurious_since_ms >= 1000) {
		g->spurious_since_ms = now;
		g->spurious = 0;
	}
	if (++g->spurious <= XEN_SPURIOUS_PER_S)
		return false;
	vmsg_log_rl(&g->rl, VMSG_LOG_WARN,
		    "%s: more than %d events a second with nothing to do; throttling its event channel",
		    g->name, XEN_SPURIOUS_PER_S);
	g->unmask_at_ms = now + XEN_THROTTLE_MS;
	xen_timer_arm(g->x);
	return true;
}

/*
 * The port stays masked while we drain: an event the guest sends
 * meanwhile stays pending and comes back once we unmask (the evtchn
 * driver binds with lateeoi), so nothing is lost. A flooding guest's
 * port is unmasked later, by the timer.
 */
static void xen_evt_cb(void *opaque, uint32_t events)
{
	struct vmsg_xen *x = opaque;
	xenevtchn_port_or_error_t port;
	struct xen_guest *g;

	port = xenevtchn_pending(x->xce);
	if (port < 0)
		return;
	g = xen_guest_by_port(x, port);
	if (g && !xen_drain(g) && xen_flooding(g))
		return;
	xen_unmask(x, port);
}

/* --- connection ----------------------------------------------------------- */

/* Unmap and unbind everything; idempotent. The devices go first. */
static void xen_disconnect(struct xen_guest *g)
{
	struct vmsg_xen *x = g->x;

	g->live = false;
	g->announce = false;
	g->failed = false;
	g->more = false;
	g->unmask_at_ms = 0;
	vmsg_bus_cleanup(&g->bus);
	memset(g->owned, 0, sizeof(g->owned));
	memset(g->bad, 0, sizeof(g->bad));
	memset(g->deadline_ms, 0, sizeof(g->deadline_ms));
	memset(g->quiesced, 0, sizeof(g->quiesced));
	g->nr_detaching = 0;
	if (g->bus.region.base)
		xengnttab_unmap(x->xgt, g->bus.region.base, g->region_pages);
	g->bus.region.base = NULL;
	g->bus.region.size = 0;
	vmsg_xen_ring_cleanup(&g->ring);
	/* the kernel clears backend_alive and signals the guest */
	if (g->ring_page)
		xengnttab_unmap(x->xgt, g->ring_page, 1);
	g->ring_page = NULL;
	if (g->port >= 0)
		xenevtchn_unbind(x->xce, (evtchn_port_t)g->port);
	g->port = -1;
	xen_timer_arm(x);
}

/*
 * A protocol violation (docs/xen-bus.md): Closing, unmap and unbind,
 * Closed, with the reason in B/error (the xenbus convention). The bus
 * stays Closed until the frontend starts over from Initialising.
 */
static void xen_close_bus(struct xen_guest *g)
{
	vmsg_warn("%s: closing the bus: %s", g->name,
		  *g->why ? g->why : "handshake failed");
	xen_set_state(g, XenbusStateClosing);
	xen_disconnect(g);
	if (xen_write(g->x, XBT_NULL, g->be, "error",
		      *g->why ? g->why : "handshake failed"))
		vmsg_err("%s: writing %s/error: %s", g->name, g->be,
			 strerror(errno));
	g->violated = true;
	xen_set_state(g, XenbusStateClosed);
}

/* The frontend closed: let go of everything it granted. */
static void xen_closed(struct xen_guest *g)
{
	if (g->state == XenbusStateClosed)
		return;
	xen_disconnect(g);
	xen_set_state(g, XenbusStateClosed);
}

/* What the frontend wrote for step 3 of the handshake, all checked. */
struct xen_fe_keys {
	uint32_t ring_ref;
	uint32_t port;
	uint32_t pages;
	uint32_t ndir;
	uint32_t dir_refs[VMSG_XEN_MAX_DIR_PAGES];
};

static int xen_read_keys(struct xen_guest *g, struct xen_fe_keys *k)
{
	uint32_t i, version;
	char key[32];

	if (xen_fe_u32(g, "version", 0, UINT32_MAX, &version) ||
	    xen_fe_u32(g, "ring-ref", 0, UINT32_MAX, &k->ring_ref) ||
	    xen_fe_u32(g, "event-channel", 0, UINT32_MAX, &k->port) ||
	    xen_fe_u32(g, "region-pages", 1, VMSG_XEN_MAX_REGION_PAGES,
		       &k->pages))
		return -EPROTO;
	if (version != VMSG_XEN_VERSION) {
		xen_peer_err(g, "frontend speaks version %u, we speak %d",
			     version, VMSG_XEN_VERSION);
		return -EPROTO;
	}
	k->ndir = (k->pages + VMSG_XEN_REFS_PER_DIR_PAGE - 1) /
		  VMSG_XEN_REFS_PER_DIR_PAGE;
	for (i = 0; i < k->ndir; i++) {
		snprintf(key, sizeof(key), "region-dir-ref%u", i);
		if (xen_fe_u32(g, key, 0, UINT32_MAX, &k->dir_refs[i]))
			return -EPROTO;
	}
	return 0;
}

static int xen_bind(struct xen_guest *g, uint32_t remote)
{
	xenevtchn_port_or_error_t port;

	port = xenevtchn_bind_interdomain(g->x->xce, g->domid, remote);
	if (port < 0) {
		xen_peer_err(g, "binding its event channel %u: %s", remote,
			     strerror(errno));
		return -EPROTO;
	}
	g->port = port;
	return 0;
}

/*
 * The ring page, with an unmap notification: if this process dies, its
 * kernel clears backend_alive and signals the port (docs/xen-bus.md).
 */
static int xen_map_ring(struct xen_guest *g, uint32_t ref)
{
	void *p;
	int ret;

	p = xengnttab_map_grant_ref_notify(g->x->xgt, g->domid, ref,
					   PROT_READ | PROT_WRITE,
					   VMSG_XEN_ALIVE_OFFSET,
					   (evtchn_port_t)g->port);
	if (!p) {
		xen_peer_err(g, "mapping ring grant %u: %s", ref,
			     strerror(errno));
		return -EPROTO;
	}
	g->ring_page = p;
	ret = vmsg_xen_ring_init(&g->ring, g->ring_page);
	if (ret == -EPROTO)
		xen_peer_err(g, "ring indices inconsistent at connect");
	else if (ret)
		vmsg_err("%s: ring: %s", g->name, strerror(-ret));
	return ret;
}

/*
 * The region's grant references: the directory is mapped read-only just
 * long enough to copy them out, so what we map is what we checked
 * (XSA-155). NULL on failure.
 */
static uint32_t *xen_read_dir(struct xen_guest *g, struct xen_fe_keys *k)
{
	uint32_t *refs = calloc(k->pages, sizeof(*refs));
	__le32 *dir;
	uint32_t i;

	if (!refs) {
		vmsg_err("%s: out of memory for %u grant refs", g->name,
			 k->pages);
		return NULL;
	}
	dir = xengnttab_map_domain_grant_refs(g->x->xgt, k->ndir, g->domid,
					      k->dir_refs, PROT_READ);
	if (!dir) {
		xen_peer_err(g, "mapping %u region directory page(s): %s",
			     k->ndir, strerror(errno));
		free(refs);
		return NULL;
	}
	for (i = 0; i < k->pages; i++)
		refs[i] = le32toh(dir[i]);
	xengnttab_unmap(g->x->xgt, dir, k->ndir);
	return refs;
}

/* The whole region in one contiguous mapping. */
static int xen_map_region(struct xen_guest *g, struct xen_fe_keys *k)
{
	uint32_t *refs = xen_read_dir(g, k);
	void *base;

	if (!refs)
		return -EPROTO;
	base = xengnttab_map_domain_grant_refs(g->x->xgt, k->pages, g->domid,
					       refs, PROT_READ | PROT_WRITE);
	free(refs);
	if (!base) {
		xen_peer_err(g, "mapping its %u-page region: %s", k->pages,
			     strerror(errno));
		return -EPROTO;
	}
	g->bus.region.base = base;
	g->bus.region.size = (uint64_t)k->pages * VMSG_XEN_PAGE_SIZE;
	g->region_pages = k->pages;
	return 0;
}

/* Step 4 of the handshake; on failure the caller closes the bus. */
static int xen_connect(struct xen_guest *g)
{
	struct xen_fe_keys k;
	int ret;

	ret = xen_read_keys(g, &k);
	if (!ret)
		ret = xen_bind(g, k.port);
	if (!ret)
		ret = xen_map_ring(g, k.ring_ref);
	if (!ret)
		ret = xen_map_region(g, &k);
	if (ret)
		return ret;
	/* pairs with the frontend's acquire read of backend_alive */
	__atomic_store_n(&g->ring_page->backend_alive, 1, __ATOMIC_RELEASE);
	g->live = true;
	xen_scan_devices(g);	/* found by GET_DEVICES, not announced */
	xen_set_state(g, XenbusStateConnected);
	g->announce = true;
	vmsg_info("%s: connected: port %d, region %u pages", g->name, g->port,
		  k.pages);
	return 0;
}

/* Back to InitWait (docs/xen-bus.md, backend restart and reconnect). */
static int xen_publish(struct xen_guest *g)
{
	struct vmsg_xen *x = g->x;
	char ver[12], max[12], st[4];
	xs_transaction_t t;

	snprintf(ver, sizeof(ver), "%d", VMSG_XEN_VERSION);
	snprintf(max, sizeof(max), "%d", VMSG_XEN_MAX_REGION_PAGES);
	snprintf(st, sizeof(st), "%d", XenbusStateInitWait);
	for (;;) {
		t = xs_transaction_start(x->xs);
		if (t == XBT_NULL)
			return -errno;
		xs_rm(x->xs, t, g->be_error);	/* absent is fine */
		if (xen_write(x, t, g->be, "version", ver) ||
		    xen_write(x, t, g->be, "max-region-pages", max) ||
		    xen_write(x, t, g->be, "state", st)) {
			xs_transaction_end(x->xs, t, true);
			return -EIO;
		}
		if (xs_transaction_end(x->xs, t, false))
			break;
		if (errno != EAGAIN)
			return -errno;
	}
	g->state = XenbusStateInitWait;
	g->violated = false;
	g->why[0] = '\0';
	vmsg_info("%s: backend InitWait", g->name);
	return 0;
}

static void xen_restart(struct xen_guest *g)
{
	int ret;

	if (g->state == XenbusStateInitWait)
		return;
	xen_disconnect(g);
	ret = xen_publish(g);
	if (ret)
		vmsg_err("%s: publishing %s: %s", g->name, g->be,
			 strerror(-ret));
}

/* F/state: 0, -ENOENT if the frontend is gone, -EPROTO if garbage. */
static int xen_fe_state(struct xen_guest *g, enum xenbus_state *st)
{
	char *v = xen_read(g->x, g->fe, "state");
	char shown[24];
	int ret = 0;

	if (!v && errno == ENOENT)
		return -ENOENT;
	if (vmsg_xs_parse_state(v, st)) {
		xen_peer_err(g, "%s = '%s' is not a XenbusState",
			     g->fe_state, xen_shown(v, shown, sizeof(shown)));
		ret = -EPROTO;
	}
	free(v);
	return ret;
}

/* The frontend's state node changed: the xenbus state machine. */
static void xen_fe_changed(struct xen_guest *g)
{
	enum xenbus_state fe;
	int ret = xen_fe_state(g, &fe);

	if (ret == -ENOENT)
		fe = XenbusStateClosed;
	else if (ret)
		fe = XenbusStateUnknown;
	vmsg_dbg("%s: frontend %s, backend %s", g->name,
		 vmsg_xs_state_name(fe), vmsg_xs_state_name(g->state));
	switch (fe) {
	case XenbusStateInitialising:
	case XenbusStateInitWait:
		xen_restart(g);
		break;
	case XenbusStateInitialised:
		/* only a fresh handshake: a stale Connected is not enough */
		if (g->state == XenbusStateInitWait && xen_connect(g))
			xen_close_bus(g);
		break;
	case XenbusStateConnected:
		break;
	case XenbusStateClosing:
		xen_closed(g);
		break;
	case XenbusStateClosed:
		/*
		 * Ready for the frontend to come back, unless it broke the
		 * protocol: then it must start over from Initialising.
		 */
		if (g->state == XenbusStateInitWait)
			break;
		xen_closed(g);
		if (!g->violated)
			xen_restart(g);
		break;
	default:
		if (ret != -EPROTO)
			xen_peer_err(g,
				     "frontend state %s is not used by this bus",
				     vmsg_xs_state_name(fe));
		if (g->state != XenbusStateClosed)
			xen_close_bus(g);
		break;
	}
}

/* --- devices -------------------------------------------------------------- */

static void xen_add_dev(struct xen_guest *g, const char *dir, uint16_t n)
{
	char key[16], err[VMSG_ERR_LEN] = "";
	char *spec;
	int ret;

	snprintf(key, sizeof(key), "%u/spec", n);
	spec = xen_read(g->x, dir, key);
	if (!spec) {
		vmsg_warn("%s: %s/%s: %s", g->name, dir, key, strerror(errno));
		g->bad[n] = true;
		return;
	}
	ret = vmsg_bus_add_device(&g->bus, spec, n, err, sizeof(err));
	if (ret < 0) {
		vmsg_err("%s: device %u (%s): %s", g->name, n, spec,
			 *err ? err : strerror(-ret));
		g->bad[n] = true;
	} else {
		g->owned[n] = true;
		vmsg_info("%s: device %u: %s", g->name, n, spec);
	}
	free(spec);
}

/*
 * B/devices (toolstack-written, never visible to the guest) against the
 * bus: create what is new, start removing what is gone. A spec that failed
 * is not retried until it has been removed from xenstore.
 */
static void xen_scan_devices(struct xen_guest *g)
{
	bool listed[VMSG_BUS_MAX_DEVS] = { false };
	char dir[VMSG_XS_PATH_MAX];
	unsigned int nr = 0, i;
	struct vmsg_dev *dev;
	char **names;
	uint16_t n;

	if (!g->live || g->x->closing ||
	    vmsg_xs_join(dir, sizeof(dir), g->be, "devices"))
		return;
	names = xs_directory(g->x->xs, XBT_NULL, dir, &nr);
	for (i = 0; names && i < nr; i++) {
		if (vmsg_xs_parse_devnum(names[i], &n)) {
			vmsg_warn("%s: ignoring %s/%s: not a device number 1..%d",
				  g->name, dir, names[i], VMSG_XS_MAX_DEVNUM);
			continue;
		}
		listed[n] = true;
		if (!vmsg_bus_dev(&g->bus, n) && !g->bad[n])
			xen_add_dev(g, dir, n);
	}
	free(names);
	for (n = 1; n < VMSG_BUS_MAX_DEVS; n++) {
		g->bad[n] = g->bad[n] && listed[n];
		dev = vmsg_bus_dev(&g->bus, n);
		if (listed[n] || !g->owned[n] || !dev || dev->detaching)
			continue;
		vmsg_info("%s: device %u removed from xenstore", g->name, n);
		vmsg_bus_remove_device(&g->bus, n);
	}
}

/* --- guests --------------------------------------------------------------- */

static struct xen_guest *xen_guest_find(struct vmsg_xen *x, uint16_t domid)
{
	struct xen_guest *g;

	for (g = x->guests; g; g = g->next)
		if (g->domid == domid)
			return g;
	return NULL;
}

static struct xen_guest *xen_guest_alloc(struct vmsg_xen *x, uint16_t domid)
{
	struct xen_guest *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->x = x;
	g->domid = domid;
	g->port = -1;
	g->state = XenbusStateUnknown;
	snprintf(g->name, sizeof(g->name), "xen-d%u", domid);
	snprintf(g->token, sizeof(g->token), "%c%u", TOKEN_FE, domid);
	if (vmsg_xs_be_path(g->be, sizeof(g->be), x->be_domid, domid) ||
	    vmsg_xs_fe_path(g->fe, sizeof(g->fe), domid) ||
	    vmsg_xs_join(g->fe_state, sizeof(g->fe_state), g->fe, "state") ||
	    vmsg_xs_join(g->be_error, sizeof(g->be_error), g->be, "error")) {
		free(g);
		return NULL;
	}
	vmsg_bus_init(&g->bus, &xen_bus_ops, g->name, x->loop,
		      VMSG_XEN_SLOT_SIZE);
	g->bus.priv = g;
	g->bus.region.min_addr = XEN_MIN_ADDR;
	g->bus.region.fd = -1;
	return g;
}

/* libxl does not know our device type: we remove B and F ourselves. */
static void xen_rm_nodes(struct xen_guest *g)
{
	char dir[VMSG_XS_PATH_MAX];

	/* B's parent, .../backend/vmsg/<domid> */
	memcpy(dir, g->be, sizeof(dir));
	*strrchr(dir, '/') = '\0';
	if (!xs_rm(g->x->xs, XBT_NULL, dir) && errno != ENOENT)
		vmsg_err("%s: removing %s: %s", g->name, dir, strerror(errno));
	if (!xs_rm(g->x->xs, XBT_NULL, g->fe) && errno != ENOENT)
		vmsg_err("%s: removing %s: %s", g->name, g->fe,
			 strerror(errno));
}

static void xen_guest_free(struct xen_guest *g, bool rm_nodes)
{
	struct vmsg_xen *x = g->x;
	struct xen_guest **pp;

	for (pp = &x->guests; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			x->nr_guests--;
			break;
		}
	}
	if (g->watching)
		xs_unwatch(x->xs, g->fe_state, g->token);
	xen_disconnect(g);
	if (rm_nodes)
		xen_rm_nodes(g);
	free(g);
}

/*
 * B as the toolstack wrote it: 0 with its state, -ENOENT if it is not
 * (or no longer) complete, -EINVAL if it is not ours to serve.
 */
static int xen_guest_check(struct xen_guest *g, enum xenbus_state *st)
{
	char *state = xen_read(g->x, g->be, "state");
	char *front = xen_read(g->x, g->be, "frontend");
	int ret = 0;

	if (!state || !front) {
		ret = -ENOENT;
	} else if (vmsg_xs_parse_state(state, st) || strcmp(front, g->fe)) {
		vmsg_err("%s: %s: state '%s', frontend '%s' (expected %s): not serving it",
			 g->name, g->be, state, front, g->fe);
		ret = -EINVAL;
	}
	free(state);
	free(front);
	return ret;
}

static void xen_guest_link(struct xen_guest *g)
{
	g->next = g->x->guests;
	g->x->guests = g;
	g->x->nr_guests++;
}

/* B/error: the bus was closed for a violation (by us or a predecessor). */
static bool xen_guest_has_error(struct xen_guest *g)
{
	char *v = xen_read(g->x, g->be, "error");
	bool has = v;

	free(v);
	return has;
}

/*
 * A new B directory, or one found at startup. A live one left by a
 * previous daemon goes back to InitWait; a Closed one waits for its
 * frontend to restart. B of a dead domain (it died while no daemon ran)
 * is removed.
 */
static int xen_guest_add(struct vmsg_xen *x, uint16_t domid)
{
	struct xen_guest *g = xen_guest_alloc(x, domid);
	enum xenbus_state st;
	int ret;

	if (!g)
		return -ENOMEM;
	if (!xs_is_domain_introduced(x->xs, domid)) {
		vmsg_info("%s: domain is gone, removing its directories",
			  g->name);
		xen_rm_nodes(g);
		free(g);
		return -ESRCH;
	}
	ret = xen_guest_check(g, &st);
	if (ret) {
		free(g);
		return ret;
	}
	if (!xs_watch(x->xs, g->fe_state, g->token)) {
		vmsg_err("%s: watching %s: %s", g->name, g->fe_state,
			 strerror(errno));
		free(g);
		return -EIO;
	}
	g->watching = true;
	xen_guest_link(g);
	if (st == XenbusStateClosed) {
		g->state = st;
		g->violated = xen_guest_has_error(g);
	} else {
		xen_restart(g);
	}
	return 0;
}

/* A guest whose B lost its state node is being removed by the toolstack. */
static bool xen_guest_present(struct xen_guest *g)
{
	char *v = xen_read(g->x, g->be, "state");
	bool present = v || errno != ENOENT;

	free(v);
	return present;
}

/* The list under root against the guests we serve. */
static void xen_scan_guests(struct vmsg_xen *x)
{
	struct xen_guest *g, *next;
	unsigned int nr = 0, i;
	uint16_t domid;
	char **names;

	x->scan_gen++;
	names = xs_directory(x->xs, XBT_NULL, x->root, &nr);
	for (i = 0; names && i < nr; i++) {
		if (vmsg_xs_parse_domid(names[i], &domid))
			continue;
		g = xen_guest_find(x, domid);
		if (!g && x->nr_guests < XEN_MAX_GUESTS &&
		    !xen_guest_add(x, domid))
			g = xen_guest_find(x, domid);
		if (g && xen_guest_present(g))
			g->scan_gen = x->scan_gen;
	}
	free(names);
	for (g = x->guests; g; g = next) {
		next = g->next;
		if (g->scan_gen == x->scan_gen)
			continue;
		vmsg_info("%s: backend directory removed, dropping the bus",
			  g->name);
		xen_guest_free(g, false);
	}
}

/* @releaseDomain fires for any domain: find out which of ours died. */
static void xen_release(struct vmsg_xen *x)
{
	struct xen_guest *g, *next;

	for (g = x->guests; g; g = next) {
		next = g->next;
		if (xs_is_domain_introduced(x->xs, g->domid))
			continue;
		vmsg_info("%s: domain died, removing its bus", g->name);
		xen_guest_free(g, true);
	}
}

/* --- watches -------------------------------------------------------------- */

/* "/<domid>/0/devices[/...]" below root: that guest's device list. */
static bool xen_devices_path(const char *rel, uint16_t *domid)
{
	char num[8];
	size_t n;

	if (*rel++ != '/')
		return false;
	n = strcspn(rel, "/");
	if (!n || n >= sizeof(num))
		return false;
	memcpy(num, rel, n);
	num[n] = '\0';
	if (vmsg_xs_parse_domid(num, domid))
		return false;
	rel += n;
	return !strncmp(rel, "/0/devices", 10) &&
	       (rel[10] == '\0' || rel[10] == '/');
}

static unsigned int xen_depth(const char *rel)
{
	unsigned int d = 0;

	for (; *rel; rel++)
		d += *rel == '/';
	return d;
}

/*
 * Our own tree changed. Our writes (state, version) land three levels
 * down and are ignored; guests come and go at the first two levels.
 */
static void xen_root_event(struct vmsg_xen *x, const char *path)
{
	size_t len = strlen(x->root);
	struct xen_guest *g;
	uint16_t domid;

	if (strncmp(path, x->root, len) || (path[len] && path[len] != '/'))
		return;
	if (xen_devices_path(path + len, &domid)) {
		g = xen_guest_find(x, domid);
		if (g)
			xen_scan_devices(g);
	} else if (xen_depth(path + len) <= 2) {
		xen_scan_guests(x);
	}
}

static void xen_watch_event(struct vmsg_xen *x, const char *path,
			    const char *token)
{
	struct xen_guest *g;
	uint16_t domid;

	if (!strcmp(token, TOKEN_ROOT)) {
		xen_root_event(x, path);
	} else if (!strcmp(token, TOKEN_RELEASE)) {
		xen_release(x);
	} else if (token[0] == TOKEN_FE &&
		   !vmsg_xs_parse_domid(token + 1, &domid)) {
		g = xen_guest_find(x, domid);
		if (g)
			xen_fe_changed(g);
	}
}

static void xen_xs_cb(void *opaque, uint32_t events)
{
	struct vmsg_xen *x = opaque;
	char **w;

	while ((w = xs_check_watch(x->xs))) {
		xen_watch_event(x, w[XS_WATCH_PATH], w[XS_WATCH_TOKEN]);
		free(w);
	}
	if (errno == EAGAIN || errno == EINTR)
		return;
	/* Existing buses keep working; no new ones can be served. */
	vmsg_err("xen: lost the xenstore connection (%s); no further guest changes will be seen",
		 strerror(errno));
	vmsg_loop_del(x->loop, x->xs_fd);
	x->xs_fd = -1;
}

static void xen_kick_cb(void *opaque, uint32_t events)
{
	struct vmsg_xen *x = opaque;
	struct xen_guest *g;
	uint64_t v;

	if (read(x->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		vmsg_err("xen: eventfd read: %s", strerror(errno));
	for (g = x->guests; g; g = g->next) {
		if (g->failed) {
			xen_close_bus(g);
		} else if (g->more) {
			g->more = false;
			xen_drain(g);
		}
	}
}

/* --- opening and closing -------------------------------------------------- */

static int xen_open_handles(struct vmsg_xen *x, char *err, size_t errlen)
{
	x->xs = xs_open(XS_UNWATCH_FILTER);
	if (!x->xs) {
		snprintf(err, errlen, "xen: xs_open: %s (is xenstored running, and is this dom0 or a driver domain?)",
			 strerror(errno));
		return -errno;
	}
	x->xtl = xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	x->xce = xenevtchn_open((xentoollog_logger *)x->xtl, 0);
	if (!x->xce) {
		snprintf(err, errlen, "xen: xenevtchn_open: %s (is the xen-evtchn module loaded?)",
			 strerror(errno));
		return -errno;
	}
	x->xgt = xengnttab_open((xentoollog_logger *)x->xtl, 0);
	if (!x->xgt) {
		snprintf(err, errlen, "xen: xengnttab_open: %s (is the xen-gntdev module loaded?)",
			 strerror(errno));
		return -errno;
	}
	if (xengnttab_set_max_grants(x->xgt, XEN_MAX_GUESTS * XEN_GUEST_GRANTS))
		vmsg_warn("xen: xengnttab_set_max_grants: %s", strerror(errno));
	return 0;
}

/*
 * Put fd (just opened, or -1 with errno set) into the loop at *slot. fds
 * we own are closed again on failure; the libraries' are theirs.
 */
static int xen_add_fd(struct vmsg_xen *x, int *slot, int fd, vmsg_loop_cb cb,
		      bool ours, const char *what, char *err, size_t errlen)
{
	int ret;

	if (fd < 0) {
		snprintf(err, errlen, "xen: %s: %s", what, strerror(errno));
		return -errno;
	}
	ret = vmsg_loop_add(x->loop, fd, EPOLLIN, cb, x);
	if (ret) {
		snprintf(err, errlen, "xen: adding the %s to the loop: %s",
			 what, strerror(-ret));
		if (ours)
			close(fd);
		return ret;
	}
	*slot = fd;
	return 0;
}

static int xen_open_fds(struct vmsg_xen *x, char *err, size_t errlen)
{
	if (xen_add_fd(x, &x->timer_fd,
		       timerfd_create(CLOCK_MONOTONIC,
				      TFD_NONBLOCK | TFD_CLOEXEC),
		       xen_timer_cb, true, "timerfd", err, errlen) ||
	    xen_add_fd(x, &x->kick_fd, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC),
		       xen_kick_cb, true, "eventfd", err, errlen) ||
	    xen_add_fd(x, &x->xs_fd, xs_fileno(x->xs), xen_xs_cb, false,
		       "xenstore fd", err, errlen) ||
	    xen_add_fd(x, &x->evt_fd, xenevtchn_fd(x->xce), xen_evt_cb, false,
		       "event channel fd", err, errlen))
		return -EIO;
	return 0;
}

/* Both watches fire once at once: that is the startup scan. */
static int xen_watch_root(struct vmsg_xen *x, char *err, size_t errlen)
{
	if (vmsg_xs_be_root(x->root, sizeof(x->root), x->be_domid)) {
		snprintf(err, errlen, "xen: backend path too long");
		return -ENAMETOOLONG;
	}
	if (!xs_watch(x->xs, x->root, TOKEN_ROOT) ||
	    !xs_watch(x->xs, "@releaseDomain", TOKEN_RELEASE)) {
		snprintf(err, errlen, "xen: watching %s: %s", x->root,
			 strerror(errno));
		return -EIO;
	}
	x->watching = true;
	return 0;
}

static void xen_del_fd(struct vmsg_xen *x, int *fd, bool ours)
{
	if (*fd < 0)
		return;
	vmsg_loop_del(x->loop, *fd);
	if (ours)
		close(*fd);
	*fd = -1;
}

static void xen_free(struct vmsg_xen *x)
{
	while (x->guests)
		xen_guest_free(x->guests, false);
	if (x->watching) {
		xs_unwatch(x->xs, x->root, TOKEN_ROOT);
		xs_unwatch(x->xs, "@releaseDomain", TOKEN_RELEASE);
	}
	xen_del_fd(x, &x->xs_fd, false);
	xen_del_fd(x, &x->evt_fd, false);
	xen_del_fd(x, &x->timer_fd, true);
	xen_del_fd(x, &x->kick_fd, true);
	if (x->xgt)
		xengnttab_close(x->xgt);
	if (x->xce)
		xenevtchn_close(x->xce);
	if (x->xs)
		xs_close(x->xs);
	if (x->xtl)
		xtl_logger_destroy((xentoollog_logger *)x->xtl);
	free(x);
}

struct vmsg_xen *vmsg_xen_open(struct vmsg_loop *loop, uint16_t backend_domid,
			       char *err, size_t errlen)
{
	struct vmsg_xen *x = calloc(1, sizeof(*x));

	if (!x) {
		snprintf(err, errlen, "xen: out of memory");
		return NULL;
	}
	x->loop = loop;
	x->be_domid = backend_domid;
	x->xs_fd = -1;
	x->evt_fd = -1;
	x->timer_fd = -1;
	x->kick_fd = -1;
	if (xen_open_handles(x, err, errlen) ||
	    xen_open_fds(x, err, errlen) || xen_watch_root(x, err, errlen)) {
		xen_free(x);
		return NULL;
	}
	vmsg_info("xen: serving %s", x->root);
	return x;
}

struct vmsg_bus *vmsg_xen_bus(struct vmsg_xen *x, uint16_t domid)
{
	struct xen_guest *g = x ? xen_guest_find(x, domid) : NULL;

	return g ? &g->bus : NULL;
}

static bool xen_busy(const struct vmsg_xen *x)
{
	const struct xen_guest *g;
	unsigned int n;

	for (g = x->guests; g; g = g->next)
		for (n = 1; g->live && n < VMSG_BUS_MAX_DEVS; n++)
			if (g->bus.devs[n])
				return true;
	return false;
}

/* Announce every removal, then serve until the guests let go. */
static void xen_drain_removals(struct vmsg_xen *x, int timeout_ms)
{
	uint64_t now, end = xen_now_ms() + (uint64_t)(timeout_ms > 0 ?
						      timeout_ms : 0);
	struct xen_guest *g;
	uint16_t n;
	int ret;

	x->closing = true;
	for (g = x->guests; g; g = g->next)
		for (n = 1; g->live && n < VMSG_BUS_MAX_DEVS; n++)
			vmsg_bus_remove_device(&g->bus, n);
	while (xen_busy(x) && (now = xen_now_ms()) < end) {
		ret = vmsg_loop_run_once(x->loop, (int)(end - now));
		if (ret < 0 && ret != -EINTR)
			break;
	}
}

void vmsg_xen_close(struct vmsg_xen *x, int timeout_ms)
{
	if (!x)
		return;
	xen_drain_removals(x, timeout_ms);
	xen_free(x);
}
