// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's control socket (protocol in control.h).
 *
 * Everything runs in the daemon's one event loop and nothing here may block
 * it: the listening socket and every client are non-blocking, and each
 * client has a fixed input buffer (one request line) and a fixed output
 * buffer (one reply). A client is served one request at a time: while its
 * reply has not been sent completely, its socket is watched for EPOLLOUT
 * only and nothing more is read from it, so a client that sends requests
 * without reading replies just stalls itself. A line longer than
 * VMSG_CTL_LINE_MAX gets an error and the connection is closed; a client
 * that goes away mid-reply is dropped (send() uses MSG_NOSIGNAL). The
 * number of clients is bounded too.
 *
 * This file does not decide anything about devices: it parses requests and
 * calls the bus core (and, for `console`, vmsg_console_path()). There are
 * no idle timeouts; the bound on clients and the socket's mode (root only)
 * are what keep a local user from tying it up.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "bus.h"
#include "control.h"
#include "dev-console.h"
#include "log.h"
#include "loop.h"

#define VMSG_CTL_MAX_CLIENTS	16
#define VMSG_CTL_BACKLOG	16
/* A full "list" of VMSG_BUS_MAX_DEVS devices needs about 8 KiB. */
#define VMSG_CTL_OUT_MAX	16384

struct vmsg_ctl_client {
	struct vmsg_control *ctl;
	int fd;
	bool eof;		/* peer shut down its sending side */
	bool closing;		/* close once the reply is sent */
	size_t in_len;
	size_t out_len;
	size_t out_off;
	struct vmsg_ctl_client *next;
	char in[VMSG_CTL_LINE_MAX + 1];	/* a full line plus its '\n' */
	char out[VMSG_CTL_OUT_MAX];
};

struct vmsg_control {
	struct vmsg_loop *loop;
	int fd;
	char *path;
	vmsg_ctl_lookup_fn lookup;
	void *opaque;
	unsigned int nr_clients;
	struct vmsg_ctl_client *clients;
};

/* --- building replies -------------------------------------------------- */

struct vmsg_ctl_reply {
	char *buf;
	size_t len;
	size_t cap;
	bool overflow;
};

static void reply_add(struct vmsg_ctl_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply_add(struct vmsg_ctl_reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= r->cap - r->len) {
		r->overflow = true;
		r->buf[r->len] = '\0';
		return;
	}
	r->len += (size_t)n;
}

/*
 * Replace whatever was built with one error line, its reason cut short if
 * need be: a reply always ends with its final line.
 */
static void reply_error(struct vmsg_ctl_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply_error(struct vmsg_ctl_reply *r, const char *fmt, ...)
{
	/* room for "error ", '\n' and '\0' */
	const size_t frame = 8;
	char msg[VMSG_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->len = 0;
	r->overflow = false;
	r->buf[0] = '\0';
	if (r->cap >= frame)
		reply_add(r, "error %.*s\n", (int)(r->cap - frame), msg);
}

/* --- requests ---------------------------------------------------------- */

static bool ctl_all_digits(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * Split an optional leading DOMAIN word off args: a word of digits with
 * more words after it. That is unambiguous because a device type is never
 * all digits and a DEVNUM is always the last word (see control.h).
 * *domain is NULL or points into dbuf.
 */
static const char *ctl_split_domain(const char *args, char *dbuf,
				    size_t dlen, const char **domain)
{
	const char *sp = strchr(args, ' ');
	size_t n;

	*domain = NULL;
	if (!sp)
		return args;
	n = (size_t)(sp - args);
	if (!ctl_all_digits(args, n) || n >= dlen)
		return args;
	memcpy(dbuf, args, n);
	dbuf[n] = '\0';
	*domain = dbuf;
	return sp + 1;
}

static struct vmsg_bus *ctl_bus(vmsg_ctl_lookup_fn lookup, void *opaque,
				const char *domain, struct vmsg_ctl_reply *r)
{
	char err[VMSG_ERR_LEN] = "no such bus";
	struct vmsg_bus *bus = lookup(opaque, domain, err, sizeof(err));

	if (!bus)
		reply_error(r, "%s", err);
	return bus;
}

static void ctl_attach(struct vmsg_bus *bus, const char *spec,
		       struct vmsg_ctl_reply *r)
{
	char err[VMSG_ERR_LEN] = "";
	int ret;

	if (!*spec) {
		reply_error(r, "usage: attach [DOMAIN] SPEC");
		return;
	}
	ret = vmsg_bus_add_device(bus, spec, 0, err, sizeof(err));
	if (ret < 0) {
		reply_error(r, "%s", *err ? err : strerror(-ret));
		return;
	}
	vmsg_info("control: attached %s as device %d on %s", spec, ret,
		  bus->name);
	reply_add(r, "ok %d\n", ret);
}

/* A device number as the protocol spells it: 1..VMSG_BUS_MAX_DEVS-1. */
static int ctl_parse_devnum(const char *s)
{
	size_t len = strlen(s);
	long v;

	if (!ctl_all_digits(s, len) || len > 5)
		return -EINVAL;
	v = strtol(s, NULL, 10);
	if (v < 1 || v >= VMSG_BUS_MAX_DEVS)
		return -EINVAL;
	return (int)v;
}

static void ctl_detach(struct vmsg_bus *bus, const char *arg,
		       struct vmsg_ctl_reply *r)
{
	int dev_num = ctl_parse_devnum(arg);
	int ret;

	if (dev_num < 0) {
		reply_error(r, "bad device number '%s' (1..%d)", arg,
			    VMSG_BUS_MAX_DEVS - 1);
		return;
	}
	ret = vmsg_bus_remove_device(bus, (uint16_t)dev_num);
	if (ret == -ENODEV) {
		reply_error(r, "no device %d on %s", dev_num, bus->name);
		return;
	}
	if (ret < 0) {
		reply_error(r, "detach %d: %s", dev_num, strerror(-ret));
		return;
	}
	vmsg_info("control: detaching device %d on %s", dev_num, bus->name);
	reply_add(r, "ok\n");
}

static const char *ctl_dev_state(const struct vmsg_dev *dev)
{
	if (dev->detaching)
		return "detaching";
	if (dev->broken)
		return "broken";
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		return "running";
	return "idle";
}

static void ctl_list(struct vmsg_bus *bus, struct vmsg_ctl_reply *r)
{
	const struct vmsg_dev *dev;
	unsigned int i;

	for (i = 1; i < VMSG_BUS_MAX_DEVS; i++) {
		dev = vmsg_bus_dev(bus, i);
		if (!dev)
			continue;
		reply_add(r, "%u %s 0x%02x %s\n", i, dev->ops->type,
			  dev->status, ctl_dev_state(dev));
	}
	reply_add(r, "ok\n");
	if (r->overflow)
		reply_error(r, "list does not fit in a reply");
}

/* Where `vmsgctl console` connects to: the device's socket or pty. */
static void ctl_console(struct vmsg_bus *bus, const char *arg,
			struct vmsg_ctl_reply *r)
{
	int dev_num = ctl_parse_devnum(arg);
	const struct vmsg_dev *dev;
	const char *path;

	if (dev_num < 0) {
		reply_error(r, "bad device number '%s' (1..%d)", arg,
			    VMSG_BUS_MAX_DEVS - 1);
		return;
	}
	dev = vmsg_bus_dev(bus, (unsigned int)dev_num);
	if (!dev) {
		reply_error(r, "no device %d on %s", dev_num, bus->name);
		return;
	}
	path = vmsg_console_path(dev);
	if (!path) {
		reply_error(r, "device %d is %s, not a console", dev_num,
			    dev->ops->type);
		return;
	}
	reply_add(r, "ok %s\n", path);
	if (r->overflow)
		reply_error(r, "console path does not fit in a reply");
}

/* Dispatch "VERB [DOMAIN] ARGS" once the verb is known to need a bus. */
static void ctl_dispatch(vmsg_ctl_lookup_fn lookup, void *opaque,
			 const char *verb, const char *args,
			 struct vmsg_ctl_reply *r)
{
	const char *domain, *rest;
	struct vmsg_bus *bus;
	char dbuf[16];

	rest = ctl_split_domain(args, dbuf, sizeof(dbuf), &domain);
	if (!strcmp(verb, "list")) {
		/* "list 3": a lone word is the domain */
		if (domain && *rest) {
			reply_error(r, "usage: list [DOMAIN]");
			return;
		}
		if (*rest) {
			domain = rest;
			rest = "";
		}
	}
	bus = ctl_bus(lookup, opaque, domain, r);
	if (!bus)
		return;
	if (!strcmp(verb, "attach"))
		ctl_attach(bus, rest, r);
	else if (!strcmp(verb, "detach"))
		ctl_detach(bus, rest, r);
	else if (!strcmp(verb, "console"))
		ctl_console(bus, rest, r);
	else
		ctl_list(bus, r);
}

size_t vmsg_control_exec(vmsg_ctl_lookup_fn lookup, void *opaque,
			 const char *line, char *out, size_t outlen)
{
	struct vmsg_ctl_reply r = { .buf = out, .cap = outlen };
	const char *sp = strchr(line, ' ');
	char verb[16];
	size_t n = sp ? (size_t)(sp - line) : strlen(line);

	if (!outlen)
		return 0;
	out[0] = '\0';
	if (n >= sizeof(verb))
		n = sizeof(verb) - 1;
	memcpy(verb, line, n);
	verb[n] = '\0';
	if (strcmp(verb, "attach") && strcmp(verb, "detach") &&
	    strcmp(verb, "list") && strcmp(verb, "console")) {
		reply_error(&r,
			    "unknown request '%s' (attach, detach, list, console)",
			    verb);
		return r.len;
	}
	ctl_dispatch(lookup, opaque, verb, sp ? sp + 1 : "", &r);
	return r.len;
}

/* --- clients ----------------------------------------------------------- */

static void ctl_client_free(struct vmsg_ctl_client *c)
{
	struct vmsg_control *ctl = c->ctl;
	struct vmsg_ctl_client **link;

	for (link = &ctl->clients; *link; link = &(*link)->next) {
		if (*link == c) {
			*link = c->next;
			break;
		}
	}
	vmsg_loop_del(ctl->loop, c->fd);
	close(c->fd);
	ctl->nr_clients--;
	free(c);
}

/* Send what is pending. 1: all sent; 0: would block; -errno: drop client. */
static int ctl_client_flush(struct vmsg_ctl_client *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -errno;
		c->out_off += (size_t)n;
	}
	c->out_len = 0;
	c->out_off = 0;
	return 1;
}

/* Reply to input that can never become a valid line, then hang up. */
static void ctl_client_bad_line(struct vmsg_ctl_client *c)
{
	int n;

	if (c->in_len == sizeof(c->in))
		n = snprintf(c->out, sizeof(c->out),
			     "error request longer than %d bytes\n",
			     VMSG_CTL_LINE_MAX);
	else
		n = snprintf(c->out, sizeof(c->out),
			     "error request not ended by a newline\n");
	c->out_len = n > 0 ? (size_t)n : 0;
	c->closing = true;
}

/* Execute the first complete line, if any. true if a reply was queued. */
static bool ctl_client_take_line(struct vmsg_ctl_client *c)
{
	char *nl = memchr(c->in, '\n', c->in_len);
	size_t used;

	if (!nl) {
		if (c->in_len < sizeof(c->in) && !c->eof)
			return false;
		if (!c->in_len)
			return false;
		ctl_client_bad_line(c);
		return true;
	}
	*nl = '\0';
	if (nl > c->in && nl[-1] == '\r')
		nl[-1] = '\0';
	c->out_len = vmsg_control_exec(c->ctl->lookup, c->ctl->opaque, c->in,
				       c->out, sizeof(c->out));
	used = (size_t)(nl - c->in) + 1;
	memmove(c->in, nl + 1, c->in_len - used);
	c->in_len -= used;
	return true;
}

/*
 * Move the client on as far as it can go without blocking: send the
 * pending reply, then execute buffered lines one by one. Frees c when it
 * is done with; the caller must not touch c afterwards.
 */
static void ctl_client_pump(struct vmsg_ctl_client *c)
{
	int ret;

	for (;;) {
		ret = ctl_client_flush(c);
		if (ret < 0 || (ret > 0 && c->closing)) {
			ctl_client_free(c);
			return;
		}
		if (!ret) {
			vmsg_loop_mod(c->ctl->loop, c->fd, EPOLLOUT);
			return;
		}
		if (!ctl_client_take_line(c))
			break;
	}
	if (c->eof) {
		ctl_client_free(c);
		return;
	}
	vmsg_loop_mod(c->ctl->loop, c->fd, EPOLLIN);
}

static void ctl_client_read(struct vmsg_ctl_client *c)
{
	ssize_t n;

	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		return;
	if (n < 0) {
		ctl_client_free(c);
		return;
	}
	if (!n)
		c->eof = true;
	c->in_len += (size_t)n;
	ctl_client_pump(c);
}

static void ctl_client_event(void *opaque, uint32_t events)
{
	struct vmsg_ctl_client *c = opaque;

	if (events & EPOLLOUT) {
		ctl_client_pump(c);
		return;
	}
	if (events & EPOLLIN) {
		ctl_client_read(c);
		return;
	}
	/* EPOLLERR/EPOLLHUP with nothing left to read */
	ctl_client_free(c);
}

static void ctl_reject(int fd)
{
	static const char msg[] = "error too many control clients\n";

	/* Best effort: the socket is fresh, so this does not block. */
	if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		vmsg_dbg("control: rejecting client: %s", strerror(errno));
	close(fd);
}

static void ctl_add_client(struct vmsg_control *ctl, int fd)
{
	struct vmsg_ctl_client *c;
	int ret;

	if (ctl->nr_clients >= VMSG_CTL_MAX_CLIENTS) {
		vmsg_warn_rl("control: too many clients, rejecting one");
		ctl_reject(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	ret = vmsg_loop_add(ctl->loop, fd, EPOLLIN, ctl_client_event, c);
	if (ret) {
		vmsg_warn("control: watching client: %s", strerror(-ret));
		close(fd);
		free(c);
		return;
	}
	c->next = ctl->clients;
	ctl->clients = c;
	ctl->nr_clients++;
}

static void ctl_accept(void *opaque, uint32_t events)
{
	struct vmsg_control *ctl = opaque;
	int fd;

	fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			vmsg_warn_rl("control: accept: %s", strerror(errno));
		return;
	}
	ctl_add_client(ctl, fd);
}

/* --- the listening socket ---------------------------------------------- */

static int ctl_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/*
 * Make path free for our socket: refuse if a daemon answers on it, remove a
 * stale socket, refuse to remove anything that is not a socket.
 */
static int ctl_clear_path(const struct sockaddr_un *sun, char *err,
			  size_t errlen)
{
	struct stat st;
	int fd, ret;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket",
			 sun->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (!ret) {
		snprintf(err, errlen, "%s is in use by a running daemon",
			 sun->sun_path);
		return -EADDRINUSE;
	}
	return unlink(sun->sun_path) < 0 ? -errno : 0;
}

static int ctl_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	mode_t old_mask;
	int fd, ret;

	ret = ctl_addr(&sun, path);
	if (!ret)
		ret = ctl_clear_path(&sun, err, errlen);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The socket file is created by bind(): born 0600, no window. */
	old_mask = umask(0177);
	ret = bind(fd, (const struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (ret < 0 || listen(fd, VMSG_CTL_BACKLOG) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

struct vmsg_control *vmsg_control_open(struct vmsg_loop *loop,
				       const char *path,
				       vmsg_ctl_lookup_fn lookup, void *opaque,
				       char *err, size_t errlen)
{
	struct vmsg_control *ctl;
	int ret;

	*err = '\0';
	ret = -ENOMEM;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		goto err_free;
	ctl->path = strdup(path);
	if (!ctl->path)
		goto err_free;
	ctl->loop = loop;
	ctl->lookup = lookup;
	ctl->opaque = opaque;
	ctl->fd = ctl_listen(path, err, errlen);
	if (ctl->fd < 0) {
		ret = ctl->fd;
		goto err_free;
	}
	ret = vmsg_loop_add(loop, ctl->fd, EPOLLIN, ctl_accept, ctl);
	if (ret)
		goto err_close;
	return ctl;

err_close:
	close(ctl->fd);
	unlink(path);
err_free:
	if (!*err)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	if (ctl)
		free(ctl->path);
	free(ctl);
	return NULL;
}

void vmsg_control_close(struct vmsg_control *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		ctl_client_free(ctl->clients);
	vmsg_loop_del(ctl->loop, ctl->fd);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}
