// SPDX-License-Identifier: GPL-2.0
/*
 * vmsgd: the virtio-msg device daemon.
 *
 * Parses the command line, opens one bus, creates the devices named with
 * --device, opens the control socket and runs the event loop until SIGINT
 * or SIGTERM, then removes its devices cleanly. This file is only the glue:
 * message handling lives in the bus core, the devices in their models, the
 * bus specifics in the bus implementation (the loopback bus, or the Xen
 * bus, which serves one bus per guest and takes its devices from xenstore).
 *
 * Exit status: 0 after a clean shutdown, 1 if setting up failed (a device
 * that cannot be created, a bus that cannot be opened), 2 for a bad
 * command line.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bus.h"
#include "control.h"
#include "device.h"
#include "log.h"
#include "loop.h"

#include "../bus-loopback/lb.h"
#include "../bus-xen/xen.h"
#include "../xenstore/xsutil.h"

/* How long a clean shutdown may wait for the driver side to let go. */
#define VMSGD_CLOSE_TIMEOUT_MS	10000
#define VMSGD_MAX_DEVICES	(VMSG_BUS_MAX_DEVS - 1)
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

struct vmsgd_opts {
	const char *bus;
	const struct vmsgd_bus_type *bus_type;	/* found for bus */
	const char *lb_dev;
	const char *backend_domid;
	const char *control;
	enum vmsg_log_level level;
	unsigned int nr_devices;
	const char *devices[VMSGD_MAX_DEVICES];
};

struct vmsgd;

/* One kind of bus the daemon can serve: open sets d->bus or d->xen. */
struct vmsgd_bus_type {
	const char *name;
	int (*open)(struct vmsgd *d, const struct vmsgd_opts *o, char *err,
		    size_t errlen);
	void (*close)(struct vmsgd *d);
};

struct vmsgd {
	struct vmsg_loop *loop;
	const struct vmsgd_bus_type *bus_type;
	struct vmsg_bus *bus;
	struct vmsg_xen *xen;		/* --bus xen: one bus per guest */
	struct vmsg_control *ctl;
	int sig_fd;
};

/* --- buses ------------------------------------------------------------- */

static int vmsgd_lb_open(struct vmsgd *d, const struct vmsgd_opts *o,
			 char *err, size_t errlen)
{
	d->bus = vmsg_lb_open(d->loop, o->lb_dev ? o->lb_dev :
						   VMSG_LB_DEFAULT_CTRL,
			      err, errlen);
	return d->bus ? 0 : -ENODEV;
}

static void vmsgd_lb_close(struct vmsgd *d)
{
	vmsg_lb_close(d->bus, VMSGD_CLOSE_TIMEOUT_MS);
}

/* --backend-domid was checked by vmsgd_check_opts() */
static int vmsgd_xen_open(struct vmsgd *d, const struct vmsgd_opts *o,
			  char *err, size_t errlen)
{
	uint16_t be = 0;

	if (o->backend_domid)
		vmsg_xs_parse_domid(o->backend_domid, &be);
	d->xen = vmsg_xen_open(d->loop, be, err, errlen);
	return d->xen ? 0 : -ENODEV;
}

static void vmsgd_xen_close(struct vmsgd *d)
{
	vmsg_xen_close(d->xen, VMSGD_CLOSE_TIMEOUT_MS);
}

static const struct vmsgd_bus_type vmsgd_buses[] = {
	{ "loopback", vmsgd_lb_open, vmsgd_lb_close },
	{ "xen", vmsgd_xen_open, vmsgd_xen_close },
};

static const struct vmsgd_bus_type *vmsgd_bus_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vmsgd_buses); i++)
		if (!strcmp(vmsgd_buses[i].name, name))
			return &vmsgd_buses[i];
	return NULL;
}

/* --- command line ------------------------------------------------------ */

static void vmsgd_usage(FILE *f)
{
	unsigned int i;

	fprintf(f,
		"usage: vmsgd --bus loopback [--lb-dev PATH] [--device SPEC]...\n"
		"             [--control PATH] [--verbose|--quiet]\n"
		"       vmsgd --bus xen [--backend-domid N] [--control PATH]\n"
		"             [--verbose|--quiet]\n"
		"\n"
		"  -b, --bus BUS        bus to serve: loopback or xen\n"
		"  -l, --lb-dev PATH    loopback control node (default %s)\n"
		"  -B, --backend-domid N  Xen: the domain vmsgd runs in (default 0);\n"
		"                       the guests' devices come from xenstore\n"
		"                       (vmsgctl create/attach), not --device\n"
		"  -d, --device SPEC    create a device, e.g. rng or blk,path=disk.img,ro\n"
		"  -c, --control PATH   control socket (default %s)\n"
		"  -v, --verbose        log debug messages\n"
		"  -q, --quiet          log only warnings and errors\n"
		"  -h, --help           show this help\n"
		"\n"
		"SPEC is TYPE[,KEY[=VALUE]]...; device types:",
		VMSG_LB_DEFAULT_CTRL, VMSG_CTL_DEFAULT_PATH);
	for (i = 0; vmsg_dev_types[i]; i++)
		fprintf(f, " %s", vmsg_dev_types[i]->type);
	fprintf(f, "\nSee docs/user-guide.md for each type's options.\n");
}

static int vmsgd_bad_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* One line saying what is wrong, a hint, and exit status 2. */
static int vmsgd_bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmsgd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'vmsgd --help' for more information.\n");
	return 2;
}

static const struct option vmsgd_longopts[] = {
	{ "bus", required_argument, NULL, 'b' },
	{ "lb-dev", required_argument, NULL, 'l' },
	{ "backend-domid", required_argument, NULL, 'B' },
	{ "device", required_argument, NULL, 'd' },
	{ "control", required_argument, NULL, 'c' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One option; 0 to go on, else the exit status (-1: exit 0). */
static int vmsgd_opt(struct vmsgd_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'b':
		o->bus = arg;
		return 0;
	case 'l':
		o->lb_dev = arg;
		return 0;
	case 'B':
		o->backend_domid = arg;
		return 0;
	case 'c':
		o->control = arg;
		return 0;
	case 'v':
		o->level = VMSG_LOG_DEBUG;
		return 0;
	case 'q':
		o->level = VMSG_LOG_WARN;
		return 0;
	case 'd':
		if (o->nr_devices == VMSGD_MAX_DEVICES)
			return vmsgd_bad_usage("more than %d --device options",
					       VMSGD_MAX_DEVICES);
		o->devices[o->nr_devices++] = arg;
		return 0;
	case 'h':
		vmsgd_usage(stdout);
		return -1;
	default:
		return vmsgd_bad_usage("bad option");
	}
}

/* "loopback, xen": the names in vmsgd_buses[], for error messages */
static const char *vmsgd_bus_names(char *buf, size_t len)
{
	size_t i, off = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(vmsgd_buses); i++) {
		n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
			     vmsgd_buses[i].name);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

static int vmsgd_check_xen_opts(const struct vmsgd_opts *o)
{
	uint16_t be;
	bool xen = !strcmp(o->bus, "xen");

	if (o->backend_domid && !xen)
		return vmsgd_bad_usage("--backend-domid needs --bus xen");
	if (o->backend_domid && vmsg_xs_parse_domid(o->backend_domid, &be))
		return vmsgd_bad_usage("--backend-domid '%s' is not a domain id",
				       o->backend_domid);
	if (xen && o->nr_devices)
		return vmsgd_bad_usage("--device is not for --bus xen: use 'vmsgctl attach DOMAIN SPEC' or a vmsg list in the guest's config");
	return 0;
}

static int vmsgd_check_opts(struct vmsgd_opts *o)
{
	char names[64];

	if (!o->bus)
		return vmsgd_bad_usage("--bus is required (known: %s)",
				       vmsgd_bus_names(names, sizeof(names)));
	o->bus_type = vmsgd_bus_find(o->bus);
	if (!o->bus_type)
		return vmsgd_bad_usage("unknown bus '%s' (known: %s)", o->bus,
				       vmsgd_bus_names(names, sizeof(names)));
	if (o->lb_dev && strcmp(o->bus, "loopback"))
		return vmsgd_bad_usage("--lb-dev needs --bus loopback");
	return vmsgd_check_xen_opts(o);
}

/* getopt_long found an unknown option (c '?') or one missing its argument */
static int vmsgd_bad_option(int c, const char *word)
{
	char opt[3] = { '-', (char)optopt, '\0' };
	int len = (int)strcspn(word, "=");

	/* a long option is named by its word, a short one by optopt */
	if (strncmp(word, "--", 2)) {
		word = opt;
		len = 2;
	}
	if (c == ':')
		return vmsgd_bad_usage("option '%.*s' needs an argument", len,
				       word);
	return vmsgd_bad_usage("bad option '%.*s'", len, word);
}

static int vmsgd_parse(struct vmsgd_opts *o, int argc, char **argv)
{
	int c, ret;

	o->control = VMSG_CTL_DEFAULT_PATH;
	o->level = VMSG_LOG_INFO;
	opterr = 0;	/* one message of our own, below */
	while ((c = getopt_long(argc, argv, ":b:l:B:d:c:vqh", vmsgd_longopts,
				NULL)) != -1) {
		if (c == ':' || c == '?')
			return vmsgd_bad_option(c, argv[optind - 1]);
		ret = vmsgd_opt(o, c, optarg);
		if (ret)
			return ret;
	}
	if (optind < argc)
		return vmsgd_bad_usage("unexpected argument '%s'",
				       argv[optind]);
	return vmsgd_check_opts(o);
}

/* --- signals ----------------------------------------------------------- */

static void vmsgd_signal(void *opaque, uint32_t events)
{
	struct vmsgd *d = opaque;
	struct signalfd_siginfo si;

	if (read(d->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	vmsg_info("%s, shutting down", strsignal((int)si.ssi_signo));
	vmsg_loop_stop(d->loop);
}

/*
 * SIGINT and SIGTERM arrive through a signalfd in the loop, so shutdown
 * runs from the loop like everything else; SIGPIPE is ignored because a
 * control client that goes away must not kill the daemon.
 */
static int vmsgd_signals(struct vmsgd *d)
{
	sigset_t set;
	int ret;

	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sig_fd < 0)
		return -errno;
	ret = vmsg_loop_add(d->loop, d->sig_fd, EPOLLIN, vmsgd_signal, d);
	if (ret) {
		close(d->sig_fd);
		d->sig_fd = -1;
	}
	return ret;
}

/* --- setting up and tearing down --------------------------------------- */

/* Xen: DOMAIN is a domain id the daemon serves a bus for. */
static struct vmsg_bus *vmsgd_xen_lookup(struct vmsgd *d, const char *domain,
					 char *err, size_t errlen)
{
	struct vmsg_bus *bus;
	uint16_t domid;

	if (!domain || vmsg_xs_parse_domid(domain, &domid)) {
		snprintf(err, errlen, "the Xen bus needs a DOMAIN (a domain id)");
		return NULL;
	}
	bus = vmsg_xen_bus(d->xen, domid);
	if (!bus)
		snprintf(err, errlen, "no vmsg bus for domain %u", domid);
	return bus;
}

static struct vmsg_bus *vmsgd_lookup(void *opaque, const char *domain,
				     char *err, size_t errlen)
{
	struct vmsgd *d = opaque;

	if (d->xen)
		return vmsgd_xen_lookup(d, domain, err, errlen);
	if (domain) {
		snprintf(err, errlen,
			 "bus %s has no domains (DOMAIN is for the Xen bus)",
			 d->bus_type->name);
		return NULL;
	}
	return d->bus;
}

static int vmsgd_add_devices(struct vmsgd *d, const struct vmsgd_opts *o)
{
	char err[VMSG_ERR_LEN];
	unsigned int i;
	int ret;

	for (i = 0; i < o->nr_devices; i++) {
		err[0] = '\0';
		ret = vmsg_bus_add_device(d->bus, o->devices[i], 0, err,
					  sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "vmsgd: --device %s: %s\n",
				o->devices[i], *err ? err : strerror(-ret));
			return ret;
		}
		vmsg_info("device %d: %s", ret, o->devices[i]);
	}
	return 0;
}

static int vmsgd_open_bus(struct vmsgd *d, const struct vmsgd_opts *o)
{
	char err[VMSG_ERR_LEN] = "";

	d->bus_type = o->bus_type;
	if (d->bus_type->open(d, o, err, sizeof(err))) {
		fprintf(stderr, "vmsgd: bus %s: %s\n", o->bus,
			*err ? err : "cannot open");
		return -ENODEV;
	}
	return 0;
}

static int vmsgd_open_control(struct vmsgd *d, const struct vmsgd_opts *o)
{
	char err[VMSG_ERR_LEN] = "";

	d->ctl = vmsg_control_open(d->loop, o->control, vmsgd_lookup, d, err,
				   sizeof(err));
	if (!d->ctl) {
		fprintf(stderr, "vmsgd: control socket: %s\n", err);
		return -EIO;
	}
	return 0;
}

static int vmsgd_setup(struct vmsgd *d, const struct vmsgd_opts *o)
{
	int ret;

	d->sig_fd = -1;
	d->loop = vmsg_loop_new();
	if (!d->loop) {
		ret = -errno;
		fprintf(stderr, "vmsgd: event loop: %s\n", strerror(-ret));
		return ret;
	}
	ret = vmsgd_signals(d);
	if (ret) {
		fprintf(stderr, "vmsgd: signals: %s\n", strerror(-ret));
		return ret;
	}
	ret = vmsgd_open_bus(d, o);
	if (!ret)
		ret = vmsgd_add_devices(d, o);
	if (!ret)
		ret = vmsgd_open_control(d, o);
	return ret;
}

/* Undo whatever vmsgd_setup() managed to do. */
static void vmsgd_teardown(struct vmsgd *d)
{
	vmsg_control_close(d->ctl);
	if (d->bus || d->xen)
		d->bus_type->close(d);
	if (d->sig_fd >= 0) {
		vmsg_loop_del(d->loop, d->sig_fd);
		close(d->sig_fd);
	}
	vmsg_loop_free(d->loop);
}

int main(int argc, char **argv)
{
	struct vmsgd_opts o = { 0 };
	struct vmsgd d = { 0 };
	int ret;

	ret = vmsgd_parse(&o, argc, argv);
	if (ret)
		return ret < 0 ? 0 : ret;
	vmsg_log_set_level(o.level);
	setvbuf(stdout, NULL, _IOLBF, 0);

	ret = vmsgd_setup(&d, &o);
	if (!ret) {
		printf("vmsgd: ready: bus %s, %u device(s), control %s\n",
		       o.bus, o.nr_devices, o.control);
		ret = vmsg_loop_run(d.loop);
		if (ret)
			vmsg_err("event loop: %s", strerror(-ret));
	}
	vmsgd_teardown(&d);
	return ret ? 1 : 0;
}
