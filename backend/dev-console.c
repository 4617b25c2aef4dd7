// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console device model (virtio 1.2 section 5.3), port 0 only:
 * "console,socket=PATH" or "console,pty", either with ",cols=N,rows=N".
 *
 * Queue 0 (receiveq) carries host input to the driver, queue 1 (transmitq)
 * the driver's output to the host. The host side is one byte stream: a unix
 * socket vmsgd listens on, serving one client at a time, or a pty master
 * whose slave any terminal program may open. Bytes pass unchanged and in
 * order, straight between the chains' buffers in the shared region and the
 * host fd (readv/writev): the model keeps no data of its own.
 *
 * Flow control is end to end. Host input is read only while the receiveq
 * has a buffer for it (the fd is watched for EPOLLIN only then), so input
 * the guest does not take stays in the kernel's socket or pty buffer and
 * then blocks the client. A transmit chain the client cannot take (EAGAIN)
 * is kept, not returned, and no other is taken until the fd polls
 * writable: a client that does not read stalls the guest's output, never
 * the daemon. With no client, output is discarded, as on a serial port
 * with nothing attached.
 *
 * Clients coming and going is normal. The device fails (NEEDS_RESET) only
 * when its host side is gone: the listening socket or the pty master
 * failing. Not here: multiport, emergency write, window-size tracking.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "dev-console.h"
#include "device.h"
#include "loop.h"

#define CON_RXQ			0	/* receiveq: host to driver */
#define CON_TXQ			1	/* transmitq: driver to host */
#define CON_NR_QUEUES		2
#define CON_QUEUE_SIZE		64
#define CON_BACKLOG		4
/* How often a pty nobody has open is looked at for a new opener. */
#define CON_PTY_POLL_NS		(200 * 1000 * 1000L)
#define CON_PATH_MAX		sizeof(((struct sockaddr_un *)NULL)->sun_path)

struct con_dev {
	struct vmsg_dev *dev;
	bool pty;			/* host side: a pty, else a socket */
	char path[CON_PATH_MAX];	/* socket path or pty slave path */
	int listen_fd;			/* socket: listening, or -1 */
	dev_t sock_dev;			/* socket: the file bind() made */
	ino_t sock_ino;
	int conn_fd;			/* the client or the pty master; -1 */
	int timer_fd;			/* pty: polls for a slave, or -1 */
	int kick_fd;			/* eventfd: deferred transmit work */
	uint32_t watched;		/* events conn_fd is watched for */
	bool registered;		/* conn_fd is in the loop */
	bool timer_on;
	bool started;			/* between start() and reset() */
	bool host_dead;			/* host side gone, for good */
	bool hup;			/* peer gone (pty: no slave open) */
	bool rd_eof;			/* nothing to read until told */
	bool rx_wanted;			/* the receiveq may have buffers */
	bool rx_held;			/* rx is a chain popped, not used */
	bool tx_held;			/* tx is a chain being sent */
	bool kick_pending;
	bool has_size;			/* cols= and rows= given */
	unsigned int pushed[CON_NR_QUEUES];	/* not yet notified */
	struct iovec *tx_iov;		/* what is left of tx to send */
	unsigned int tx_cnt;
	uint64_t discarded;		/* output bytes nobody took */
	struct virtio_console_config config;
	struct vmsg_ratelimit rl;	/* host-side events */
	struct vmsg_chain rx;
	struct vmsg_chain tx;
};

static void con_conn_cb(void *opaque, uint32_t events);

/* --- state ---------------------------------------------------------------- */

/* Someone takes output: a client, or an open pty slave. */
static bool con_connected(const struct con_dev *con)
{
	return con->conn_fd >= 0 && !con->hup && !con->host_dead;
}

/* Input may be read now: there is a source and somewhere to put it. */
static bool con_can_read(const struct con_dev *con)
{
	return con->started && con->rx_wanted && !con->rd_eof &&
	       con->conn_fd >= 0 && !con->host_dead;
}

static uint32_t con_events(const struct con_dev *con)
{
	uint32_t ev = 0;

	if (con_can_read(con))
		ev |= EPOLLIN;
	if (con->started && con->tx_held && con_connected(con))
		ev |= EPOLLOUT;
	return ev;
}

static void con_unwatch(struct con_dev *con)
{
	if (con->registered)
		vmsg_loop_del(con->dev->loop, con->conn_fd);
	con->registered = false;
	con->watched = 0;
}

static void con_timer_set(struct con_dev *con, bool on)
{
	struct itimerspec its = { 0 };

	if (con->timer_fd < 0 || con->timer_on == on)
		return;
	if (on) {
		its.it_value.tv_nsec = CON_PTY_POLL_NS;
		its.it_interval.tv_nsec = CON_PTY_POLL_NS;
	}
	if (!timerfd_settime(con->timer_fd, 0, &its, NULL))
		con->timer_on = on;
}

static void con_close_client(struct con_dev *con)
{
	con_unwatch(con);
	close(con->conn_fd);
	con->conn_fd = -1;
	con->hup = false;
	con->rd_eof = false;
	vmsg_info("%s: client of %s disconnected", con->dev->name, con->path);
}

/*
 * The host side is gone for good: stop watching it and fail the device.
 * After the driver's reset the console works as one with nothing attached.
 */
static void con_host_fail(struct con_dev *con, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void con_host_fail(struct con_dev *con, const char *fmt, ...)
{
	char why[VMSG_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (con->host_dead)
		return;
	con->host_dead = true;
	con_unwatch(con);
	con_timer_set(con, false);
	if (con->listen_fd >= 0)
		vmsg_loop_del(con->dev->loop, con->listen_fd);
	if (!con->pty && con->conn_fd >= 0)
		con_close_client(con);
	vmsg_dev_fail(con->dev, "host side gone: %s", why);
}

/* The loop refused to watch conn_fd: drop a client, fail a pty. */
static void con_watch_failed(struct con_dev *con, int err)
{
	if (con->pty) {
		con_host_fail(con, "pty master: event loop: %s", strerror(err));
		return;
	}
	vmsg_log_rl(&con->rl, VMSG_LOG_WARN, "%s: watching the client: %s",
		    con->dev->name, strerror(err));
	con_close_client(con);
}

/*
 * Bring everything in line with the state: conn_fd watched for exactly
 * what can make progress (a hung-up fd not at all, since epoll would
 * report the hangup for ever), the pty timer running while nobody has the
 * slave open, and a socket client with nothing left either way closed.
 */
static void con_update_watch(struct con_dev *con)
{
	uint32_t ev = con_events(con);
	int ret = 0;

	if (!con->pty && con->conn_fd >= 0 && con->hup && con->rd_eof) {
		con_close_client(con);
		return;
	}
	if (con->pty)
		con_timer_set(con, con->hup && !con->host_dead);
	if (con->conn_fd < 0 || con->host_dead || (!ev && con->hup)) {
		con_unwatch(con);
		return;
	}
	if (!con->registered)
		ret = vmsg_loop_add(con->dev->loop, con->conn_fd, ev,
				    con_conn_cb, con);
	else if (ev != con->watched)
		ret = vmsg_loop_mod(con->dev->loop, con->conn_fd, ev);
	if (ret) {
		con_watch_failed(con, -ret);
		return;
	}
	con->registered = true;
	con->watched = ev;
}

/* The peer went away: output is discarded from now on. */
static void con_hangup(struct con_dev *con)
{
	if (con->hup)
		return;
	con->hup = true;
	if (con->pty)
		vmsg_info("%s: pty %s closed, output discarded until reopened",
			  con->dev->name, con->path);
}

/* --- host I/O ------------------------------------------------------------- */

static ssize_t con_host_read(struct con_dev *con, const struct iovec *iov,
			     unsigned int cnt)
{
	ssize_t n;

	do {
		n = readv(con->conn_fd, iov, (int)cnt);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Bytes written, or -errno. MSG_NOSIGNAL: a gone client is no SIGPIPE. */
static ssize_t con_host_write(struct con_dev *con, struct iovec *iov,
			      unsigned int cnt)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = cnt };
	ssize_t n;

	do {
		if (con->pty)
			n = writev(con->conn_fd, iov, (int)cnt);
		else
			n = sendmsg(con->conn_fd, &msg,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (!n)
		return -EPIPE;	/* nothing taken of a non-empty write */
	return n < 0 ? -errno : n;
}

/*
 * A read or write on conn_fd failed with err. On a socket that is the
 * client going away, and so is EIO on the pty master (the last slave was
 * closed); anything else on the master is the host side failing.
 */
static void con_io_error(struct con_dev *con, const char *op, int err)
{
	if (!con->pty || err == EIO) {
		con_hangup(con);
		return;
	}
	con_host_fail(con, "pty master: %s: %s", op, strerror(err));
}

/* Skip n bytes of an iovec array, and any empty entries after them. */
static void con_iov_advance(struct iovec **iov, unsigned int *cnt, size_t n)
{
	while (*cnt && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	if (*cnt) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

/* --- queues --------------------------------------------------------------- */

static int con_pop(struct con_dev *con, unsigned int q, struct vmsg_chain *c)
{
	int ret = vmsg_vq_pop(&con->dev->vqs[q], c);

	if (ret < 0)
		vmsg_dev_fail(con->dev, "queue %u: broken ring", q);
	return ret;
}

/*
 * The next chain of queue q. Notifications are off while there is work;
 * when the queue looks empty they are turned on and the queue is looked at
 * once more, or a driver adding a buffer in between would never kick
 * (virtio 1.2 section 2.7.10). 1, 0 (empty, notifications on) or -EIO (the
 * device failed).
 */
static int con_next(struct con_dev *con, unsigned int q, struct vmsg_chain *c)
{
	struct vmsg_vq *vq = &con->dev->vqs[q];
	int ret;

	if (!vmsg_vq_ready(vq))
		return 0;
	vmsg_vq_set_notify(vq, false);
	ret = con_pop(con, q, c);
	if (ret)
		return ret;
	vmsg_vq_set_notify(vq, true);
	return con_pop(con, q, c);
}

/* Return a chain; the notification is sent later for the whole batch. */
static int con_push(struct con_dev *con, unsigned int q, uint16_t head,
		    uint32_t len)
{
	/* A refused push has failed (and reset) the device already. */
	if (vmsg_dev_push(con->dev, q, head, len))
		return -EIO;
	con->pushed[q]++;
	return 0;
}

static void con_notify_used(struct con_dev *con)
{
	unsigned int q;

	for (q = 0; q < CON_NR_QUEUES; q++) {
		if (!con->pushed[q])
			continue;
		con->pushed[q] = 0;
		vmsg_dev_notify_used(con->dev, q);
	}
}

/* --- receiveq: host input to the driver ----------------------------------- */

/*
 * A chain to read input into: the one held from before, or the next one.
 * 1, 0 (none: stop reading until the driver kicks) or -EIO.
 */
static int con_rx_take(struct con_dev *con)
{
	int ret;

	if (con->rx_held)
		return 1;
	ret = con_next(con, CON_RXQ, &con->rx);
	if (ret > 0)
		con->rx_held = true;
	if (!ret)
		con->rx_wanted = false;
	return ret;
}

/*
 * Read input into the held chain and return it to the driver. 1: the chain
 * was filled up, so more input may be waiting; 0: stop for now (nothing to
 * read, end of input, the peer gone or the device failed).
 */
static int con_rx_fill(struct con_dev *con)
{
	const struct vmsg_chain *c = &con->rx;
	ssize_t n = 0;

	if (c->in_len) {
		n = con_host_read(con, vmsg_chain_in(c), c->n_in);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			con_io_error(con, "read", (int)-n);
		else if (!n && con->pty)
			con_hangup(con);	/* never seen; poll again */
		if (n <= 0) {
			/* Keep the chain for input after a reconnect. */
			con->rd_eof = true;
			return 0;
		}
	}
	/* A chain with nothing writable comes back empty. */
	con->rx_held = false;
	if (con_push(con, CON_RXQ, c->head, (uint32_t)n))
		return 0;
	return (uint64_t)n == c->in_len;
}

/*
 * Receive buffers may be there (a kick, or DRIVER_OK): take one now, so
 * a broken ring fails the device at once rather than when input comes,
 * and watch for input if there was one.
 */
static void con_rx_arm(struct con_dev *con)
{
	con->rx_wanted = true;
	con_rx_take(con);
	con_update_watch(con);
}

/* At most a queue's worth per call: epoll calls again if input is left. */
static void con_rx_run(struct con_dev *con)
{
	unsigned int budget = CON_QUEUE_SIZE;

	while (budget-- && con_can_read(con) && con_rx_take(con) > 0 &&
	       con_rx_fill(con) > 0)
		;
	con_notify_used(con);
	con_update_watch(con);
}

/* --- transmitq: driver output to the host --------------------------------- */

static int con_tx_take(struct con_dev *con)
{
	int ret;

	if (con->tx_held)
		return 1;
	ret = con_next(con, CON_TXQ, &con->tx);
	if (ret <= 0)
		return ret;
	con->tx_held = true;
	con->tx_iov = con->tx.iov;
	con->tx_cnt = con->tx.n_out;
	con_iov_advance(&con->tx_iov, &con->tx_cnt, 0);
	return 1;
}

static void con_discard(struct con_dev *con)
{
	uint64_t len = 0;
	unsigned int i;

	for (i = 0; i < con->tx_cnt; i++)
		len += con->tx_iov[i].iov_len;
	if (!len)
		return;
	con->discarded += len;
	vmsg_log_rl(&con->rl, VMSG_LOG_DEBUG,
		    "%s: no client: %llu bytes of output discarded so far",
		    con->dev->name, (unsigned long long)con->discarded);
}

/*
 * Send what is left of the held chain, or drop it if nobody takes output,
 * then return it (used length 0: the device wrote nothing into it).
 * 1: returned, 0: the client is full (wait for EPOLLOUT), -EIO: the device
 * failed.
 */
static int con_tx_send(struct con_dev *con)
{
	while (con->tx_cnt && con_connected(con)) {
		ssize_t n = con_host_write(con, con->tx_iov, con->tx_cnt);

		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			con_io_error(con, "write", (int)-n);
		else
			con_iov_advance(&con->tx_iov, &con->tx_cnt, (size_t)n);
	}
	if (!con->started)
		return -EIO;
	con_discard(con);
	con->tx_held = false;
	return con_push(con, CON_TXQ, con->tx.head, 0) ? -EIO : 1;
}

/* Ask the loop to call us again soon, instead of looping on here. */
static void con_defer(struct con_dev *con)
{
	uint64_t one = 1;

	if (con->kick_pending)
		return;
	if (write(con->kick_fd, &one, sizeof(one)) == sizeof(one))
		con->kick_pending = true;
}

/* At most a queue's worth of chains per call, the rest deferred. */
static void con_tx_run(struct con_dev *con)
{
	unsigned int budget = CON_QUEUE_SIZE;

	while (con->started) {
		int ret = con_tx_take(con);

		if (ret > 0)
			ret = con_tx_send(con);
		if (ret <= 0)
			break;
		if (!--budget) {
			con_defer(con);
			break;
		}
	}
	con_notify_used(con);
	con_update_watch(con);
}

static void con_kick_cb(void *opaque, uint32_t events)
{
	struct con_dev *con = opaque;
	uint64_t val;

	/* Reset the counter; EAGAIN only means it was already 0. */
	if (read(con->kick_fd, &val, sizeof(val)) < 0 && errno != EAGAIN)
		vmsg_log_rl(&con->rl, VMSG_LOG_ERR, "%s: eventfd: %s",
			    con->dev->name, strerror(errno));
	con->kick_pending = false;
	con_tx_run(con);
}

/* --- the host fd ---------------------------------------------------------- */

static void con_conn_cb(void *opaque, uint32_t events)
{
	struct con_dev *con = opaque;

	if (events & (EPOLLHUP | EPOLLERR))
		con_hangup(con);
	/* After a hangup: read what is left, drop held output. */
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		con_rx_run(con);
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		con_tx_run(con);
	con_update_watch(con);
}

/*
 * pty, while no slave is open: a new opener clears the hangup. Input a
 * slave wrote before closing is still readable, so it is picked up too.
 */
static void con_timer_cb(void *opaque, uint32_t events)
{
	struct con_dev *con = opaque;
	struct pollfd p = { .fd = con->conn_fd, .events = POLLIN };
	uint64_t ticks;

	if (read(con->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		vmsg_log_rl(&con->rl, VMSG_LOG_ERR, "%s: timerfd: %s",
			    con->dev->name, strerror(errno));
	if (!con->hup || con->host_dead || poll(&p, 1, 0) < 0)
		return;
	if (p.revents & POLLNVAL) {
		con_host_fail(con, "pty master: not a valid descriptor");
		return;
	}
	if (p.revents & POLLIN)
		con->rd_eof = false;
	if (!(p.revents & (POLLHUP | POLLERR))) {
		con->hup = false;
		con->rd_eof = false;
		vmsg_info("%s: pty %s opened", con->dev->name, con->path);
	}
	con_update_watch(con);
}

/* --- socket clients ------------------------------------------------------- */

static void con_refuse(struct con_dev *con, int fd)
{
	char msg[CON_PATH_MAX + 96];
	int n;

	/* \r: the client's terminal may well be in raw mode. */
	n = snprintf(msg, sizeof(msg),
		     "vmsgd: %s: another client is connected to %s\r\n",
		     con->dev->name, con->path);
	/* Best effort: the socket is fresh, so this does not block. */
	if (n > 0 && send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		vmsg_dbg("%s: refusing a client: %s", con->dev->name,
			 strerror(errno));
	close(fd);
	vmsg_log_rl(&con->rl, VMSG_LOG_INFO,
		    "%s: refused a second client of %s", con->dev->name,
		    con->path);
}

/* accept() failed: passing trouble, or the listening socket is broken. */
static void con_accept_error(struct con_dev *con, int err)
{
	if (err == EAGAIN || err == EINTR || err == ECONNABORTED)
		return;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		vmsg_log_rl(&con->rl, VMSG_LOG_WARN, "%s: accept: %s",
			    con->dev->name, strerror(err));
		return;
	}
	con_host_fail(con, "socket %s: accept: %s", con->path, strerror(err));
}

/*
 * Is the client still there? Its hangup may be queued behind the new
 * connection, and a client that is gone must not keep the next one out.
 */
static void con_check_client(struct con_dev *con)
{
	struct pollfd p = { .fd = con->conn_fd };

	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
		con_hangup(con);
}

static void con_accept_cb(void *opaque, uint32_t events)
{
	struct con_dev *con = opaque;
	int fd;

	if (events & (EPOLLHUP | EPOLLERR)) {
		con_host_fail(con, "socket %s: listening socket hung up",
			      con->path);
		return;
	}
	fd = accept4(con->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		con_accept_error(con, errno);
		return;
	}
	if (con_connected(con))
		con_check_client(con);
	if (con_connected(con)) {
		con_refuse(con, fd);
		return;
	}
	/* A client that hung up with input left unread makes way. */
	if (con->conn_fd >= 0)
		con_close_client(con);
	con->conn_fd = fd;
	vmsg_info("%s: client connected to %s", con->dev->name, con->path);
	con_update_watch(con);
}

/* --- the listening socket ------------------------------------------------- */

/*
 * Make the path free for our socket: a stale socket (nobody listening) is
 * replaced; a live one, or anything that is not a socket, is refused.
 */
static int con_clear_path(const struct sockaddr_un *sun, const char **why)
{
	struct stat st;
	int fd, ret;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		*why = "exists and is not a socket";
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	ret = ret < 0 ? -errno : 0;
	close(fd);
	if (!ret) {
		*why = "in use: something listens on it";
		return -EADDRINUSE;
	}
	if (ret != -ECONNREFUSED)
		return ret;
	return unlink(sun->sun_path) < 0 ? -errno : 0;
}

/* Bind, listen and remember which file bind() made. fd or -errno. */
static int con_bind(struct con_dev *con, const struct sockaddr_un *sun)
{
	struct stat st;
	mode_t mask;
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Born 0600, no window: a console may well be a root shell. */
	mask = umask(0177);
	ret = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(mask);
	if (ret < 0)
		goto err_close;
	if (listen(fd, CON_BACKLOG) < 0 || lstat(sun->sun_path, &st) < 0)
		goto err_unlink;
	con->sock_dev = st.st_dev;
	con->sock_ino = st.st_ino;
	return fd;

err_unlink:
	ret = -errno;
	unlink(sun->sun_path);
	close(fd);
	return ret;
err_close:
	ret = -errno;
	close(fd);
	return ret;
}

static int con_open_socket(struct con_dev *con, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *why = NULL;
	int ret;

	memcpy(sun.sun_path, con->path, strlen(con->path) + 1);
	ret = con_clear_path(&sun, &why);
	if (!ret)
		ret = con_bind(con, &sun);
	if (ret < 0)
		goto err;
	con->listen_fd = ret;
	ret = vmsg_loop_add(con->dev->loop, con->listen_fd, EPOLLIN,
			    con_accept_cb, con);
	if (ret)
		goto err;
	return 0;

err:
	snprintf(err, errlen, "console: socket=%s: %s", con->path,
		 why ? why : strerror(-ret));
	return ret;
}

/* Remove the socket file, if it still is the one we made. */
static void con_unlink_socket(const struct con_dev *con)
{
	struct stat st;

	if (!lstat(con->path, &st) && st.st_dev == con->sock_dev &&
	    st.st_ino == con->sock_ino)
		unlink(con->path);
}

/* --- the pty -------------------------------------------------------------- */

/* Master fd (with its slave's path in con->path) or -errno. */
static int con_openpt(struct con_dev *con)
{
	struct termios t;
	int fd, ret;

	fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (grantpt(fd) || unlockpt(fd) || tcgetattr(fd, &t))
		goto err_close;
	ret = ptsname_r(fd, con->path, sizeof(con->path));
	if (ret) {
		errno = ret;
		goto err_close;
	}
	/* Raw: bytes pass unchanged and nothing is echoed to the driver. */
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t))
		goto err_close;
	return fd;

err_close:
	ret = -errno;
	close(fd);
	return ret;
}

static int con_open_pty(struct con_dev *con, char *err, size_t errlen)
{
	int fd, ret;

	fd = con_openpt(con);
	ret = fd < 0 ? fd : 0;
	/*
	 * Open and close the slave once: until a slave has been opened, the
	 * master never reports a hangup, and output for nobody would pile up
	 * in the pty instead of being discarded.
	 */
	if (!ret) {
		con->conn_fd = fd;
		con->hup = true;
		fd = open(con->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		ret = fd < 0 ? -errno : close(fd);
	}
	if (!ret) {
		con->timer_fd = timerfd_create(CLOCK_MONOTONIC,
					       TFD_NONBLOCK | TFD_CLOEXEC);
		ret = con->timer_fd < 0 ? -errno : 0;
	}
	if (!ret)
		ret = vmsg_loop_add(con->dev->loop, con->timer_fd, EPOLLIN,
				    con_timer_cb, con);
	if (ret) {
		snprintf(err, errlen, "console: pty: %s", strerror(-ret));
		return ret;
	}
	vmsg_info("%s: console on pty %s", con->dev->name, con->path);
	con_update_watch(con);
	return 0;
}

/* --- creation ------------------------------------------------------------- */

static int con_parse_size(struct con_dev *con, struct vmsg_spec *spec,
			  char *err, size_t errlen)
{
	uint64_t cols = 0, rows = 0;

	if (vmsg_spec_get_u64(spec, "cols", 1, UINT16_MAX, &cols) ||
	    vmsg_spec_get_u64(spec, "rows", 1, UINT16_MAX, &rows)) {
		snprintf(err, errlen, "console: cols=, rows=: expected 1..%u",
			 UINT16_MAX);
		return -EINVAL;
	}
	if (!cols != !rows) {
		snprintf(err, errlen, "console: %s= without %s=",
			 cols ? "cols" : "rows", cols ? "rows" : "cols");
		return -EINVAL;
	}
	con->has_size = cols != 0;
	con->config.cols = htole16((uint16_t)cols);
	con->config.rows = htole16((uint16_t)rows);
	return 0;
}

static int con_parse_socket(struct con_dev *con, const char *path, char *err,
			    size_t errlen)
{
	const char *why = NULL;

	if (strlen(path) >= sizeof(con->path)) {
		snprintf(err, errlen,
			 "console: socket=: path of %zu bytes, at most %zu fit",
			 strlen(path), sizeof(con->path) - 1);
		return -EINVAL;
	}
	if (!*path)
		why = "empty path";
	else if (strchr(path, '\n'))
		why = "newline in the path";
	if (why) {
		snprintf(err, errlen, "console: socket=%s: %s", path, why);
		return -EINVAL;
	}
	memcpy(con->path, path, strlen(path) + 1);
	return 0;
}

static int con_parse(struct con_dev *con, struct vmsg_spec *spec, char *err,
		     size_t errlen)
{
	const char *sock = vmsg_spec_get(spec, "socket");
	int ret = 0;

	con->pty = vmsg_spec_get_bool(spec, "pty", &ret);
	if (ret) {
		snprintf(err, errlen, "console: pty: expected on/off");
		return ret;
	}
	if (!sock == !con->pty) {
		snprintf(err, errlen, "console: %s", sock ?
			 "socket= and pty exclude each other" :
			 "missing socket=PATH or pty");
		return -EINVAL;
	}
	if (sock)
		ret = con_parse_socket(con, sock, err, errlen);
	if (!ret)
		ret = con_parse_size(con, spec, err, errlen);
	/* Options nobody fetched are the core's to reject, after create(). */
	return ret;
}

static int con_open_kick(struct con_dev *con, char *err, size_t errlen)
{
	int ret;

	con->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (con->kick_fd < 0) {
		snprintf(err, errlen, "console: eventfd: %s", strerror(errno));
		return -errno;
	}
	ret = vmsg_loop_add(con->dev->loop, con->kick_fd, EPOLLIN,
			    con_kick_cb, con);
	if (ret)
		snprintf(err, errlen, "console: event loop: %s",
			 strerror(-ret));
	return ret;
}

/* Close whatever create() opened, also halfway. */
static void con_close_all(struct con_dev *con)
{
	struct vmsg_loop *loop = con->dev->loop;

	con_unwatch(con);
	if (con->conn_fd >= 0)
		close(con->conn_fd);
	if (con->listen_fd >= 0) {
		vmsg_loop_del(loop, con->listen_fd);
		close(con->listen_fd);
		con_unlink_socket(con);
	}
	if (con->timer_fd >= 0) {
		vmsg_loop_del(loop, con->timer_fd);
		close(con->timer_fd);
	}
	if (con->kick_fd >= 0) {
		vmsg_loop_del(loop, con->kick_fd);
		close(con->kick_fd);
	}
}

static int con_create(struct vmsg_dev *dev, struct vmsg_spec *spec, char *err,
		      size_t errlen)
{
	struct con_dev *con = calloc(1, sizeof(*con));
	int ret;

	if (!con)
		return -ENOMEM;
	con->dev = dev;
	con->listen_fd = -1;
	con->conn_fd = -1;
	con->timer_fd = -1;
	con->kick_fd = -1;
	ret = con_parse(con, spec, err, errlen);
	if (ret)
		goto err_free;
	ret = con->pty ? con_open_pty(con, err, errlen) :
			 con_open_socket(con, err, errlen);
	if (!ret)
		ret = con_open_kick(con, err, errlen);
	if (ret)
		goto err_close;
	/* Port 0 only: no MULTIPORT, so max_nr_ports is informative. */
	con->config.max_nr_ports = htole32(1);
	dev->num_queues = CON_NR_QUEUES;
	dev->queue_max_size = CON_QUEUE_SIZE;
	dev->device_features = con->has_size ? 1ULL << VIRTIO_CONSOLE_F_SIZE :
					       0;
	dev->config = (uint8_t *)&con->config;
	dev->config_size = sizeof(con->config);
	dev->priv = con;
	return 0;

err_close:
	con_close_all(con);
err_free:
	free(con);
	return ret;
}

/* --- ops ------------------------------------------------------------------ */

static void con_destroy(struct vmsg_dev *dev)
{
	struct con_dev *con = dev->priv;

	con_close_all(con);
	free(con);
	dev->priv = NULL;
	dev->config = NULL;
}

/* Chains held are simply forgotten; the client stays connected. */
static void con_reset(struct vmsg_dev *dev)
{
	struct con_dev *con = dev->priv;

	con->started = false;
	con->rx_wanted = false;
	con->rx_held = false;
	con->tx_held = false;
	memset(con->pushed, 0, sizeof(con->pushed));
	con_update_watch(con);
}

static void con_start(struct vmsg_dev *dev)
{
	struct con_dev *con = dev->priv;

	con->started = true;
	/* Buffers made available before DRIVER_OK had their kick ignored. */
	con_rx_arm(con);
	con_tx_run(con);
}

static void con_notify(struct vmsg_dev *dev, unsigned int vq)
{
	struct con_dev *con = dev->priv;

	if (!con->started)
		return;
	if (vq == CON_TXQ) {
		con_tx_run(con);
		return;
	}
	if (vq == CON_RXQ && !con->rx_held)
		con_rx_arm(con);
}

const struct vmsg_dev_ops vmsg_console_ops = {
	.type = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.create = con_create,
	.destroy = con_destroy,
	.reset = con_reset,
	.start = con_start,
	.notify = con_notify,
};

const char *vmsg_console_path(const struct vmsg_dev *dev)
{
	const struct con_dev *con;

	if (!dev || dev->ops != &vmsg_console_ops || !dev->priv)
		return NULL;
	con = dev->priv;
	return con->path;
}
