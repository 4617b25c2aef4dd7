// SPDX-License-Identifier: GPL-2.0
/*
 * vmsgctl: command-line client of vmsgd's control socket.
 *
 * Sends one request line (protocol in control.h), prints the reply's data
 * lines and the final line's value on stdout, or the error on stderr.
 * Exit status: 0 on "ok", 1 on "error" or any failure to talk to the
 * daemon, 2 for a bad command line. It does no checking of its own beyond
 * the line's length: the daemon is the one authority on what is valid.
 * Xen requests (create, or a verb naming a DOMAIN) do not go to the
 * socket: they write xenstore (xenstore/vmsgctl-xen.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "control.h"
#include "../xenstore/vmsgctl-xen.h"

/* A daemon that takes longer than this to answer is considered stuck. */
#define VMSGCTL_TIMEOUT_S	30
#define VMSGCTL_REPLY_MAX	65536

static void vmsgctl_usage(FILE *f)
{
	fprintf(f,
		"usage: vmsgctl [--control PATH] attach SPEC\n"
		"       vmsgctl [--control PATH] detach DEVNUM\n"
		"       vmsgctl [--control PATH] list\n"
		"       vmsgctl [--control PATH] console [-p] [-w SEC] {DEVNUM | DOMAIN [DEVNUM]}\n"
		"\n"
		"  -c, --control PATH   vmsgd's control socket (default %s)\n"
		"  -h, --help           show this help\n"
		"\n"
		"attach prints the new device number; list prints one line per\n"
		"device: DEVNUM TYPE STATUS STATE.\n"
		"\n"
		"console joins the terminal to a console device's socket or\n"
		"pty (raw mode; ^] quits); -p only prints that path. With input\n"
		"that is not a terminal, it ends SEC seconds (-w, default 1; 0:\n"
		"never) after the input ends and the console falls silent.\n"
		"With vmsgd --bus xen, DOMAIN (a name, or an id followed by\n"
		"DEVNUM) names the guest; without DEVNUM, its first console.\n"
		"\n",
		VMSG_CTL_DEFAULT_PATH);
	vmsgctl_xen_usage(f);
}

static int vmsgctl_bad_usage(const char *what)
{
	fprintf(stderr, "vmsgctl: %s\nTry 'vmsgctl --help' for more information.\n",
		what);
	return 2;
}

/* Join argv[0..argc) with spaces into line. 0, or -E2BIG / -EINVAL. */
static int vmsgctl_build(char *line, size_t len, int argc, char **argv)
{
	size_t off = 0, n;
	int i;

	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]) + (i ? 1 : 0);
		if (strchr(argv[i], '\n'))
			return -EINVAL;
		/* room for the word, '\n' and '\0' */
		if (off + n + 2 > len)
			return -E2BIG;
		if (i)
			line[off++] = ' ';
		memcpy(line + off, argv[i], strlen(argv[i]));
		off += strlen(argv[i]);
	}
	line[off++] = '\n';
	line[off] = '\0';
	return 0;
}

static int vmsgctl_connect(const char *path)
{
	struct timeval tv = { .tv_sec = VMSGCTL_TIMEOUT_S };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "vmsgctl: %s: path too long\n", path);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "vmsgctl: socket: %s\n", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "vmsgctl: connect %s: %s (is vmsgd running?)\n",
			path, strerror(errno));
		close(fd);
		return -ENOTCONN;
	}
	return fd;
}

static int vmsgctl_send(int fd, const char *line)
{
	size_t off = 0, len = strlen(line);
	ssize_t n;

	while (off < len) {
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "vmsgctl: sending request: %s\n",
				strerror(errno));
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * Handle one reply line. Returns 1 if more lines follow, else the exit
 * status (0 for "ok", 1 for "error").
 */
static int vmsgctl_line(const char *l, char *value, size_t vlen)
{
	if (!strcmp(l, "ok"))
		return 0;
	if (!strncmp(l, "ok ", 3) && value) {
		if (strlen(l + 3) >= vlen) {
			fprintf(stderr, "vmsgctl: reply value too long\n");
			return 1;
		}
		memcpy(value, l + 3, strlen(l + 3) + 1);
		return 0;
	}
	if (!strncmp(l, "ok ", 3)) {
		printf("%s\n", l + 3);
		return 0;
	}
	if (!strncmp(l, "error ", 6)) {
		fprintf(stderr, "vmsgctl: %s\n", l + 6);
		return 1;
	}
	printf("%s\n", l);
	return -1;
}

/*
 * Print complete lines of buf (the final line's value goes into value, if
 * given); returns the exit status or -1 (need more).
 */
static int vmsgctl_lines(char *buf, size_t *len, char *value, size_t vlen)
{
	char *nl;
	size_t used;
	int ret;

	while ((nl = memchr(buf, '\n', *len))) {
		*nl = '\0';
		ret = vmsgctl_line(buf, value, vlen);
		used = (size_t)(nl - buf) + 1;
		memmove(buf, nl + 1, *len - used);
		*len -= used;
		if (ret >= 0)
			return ret;
	}
	return -1;
}

static int vmsgctl_receive(int fd, char *value, size_t vlen)
{
	static char buf[VMSGCTL_REPLY_MAX];
	size_t len = 0;
	ssize_t n;
	int ret;

	for (;;) {
		if (len == sizeof(buf)) {
			fprintf(stderr, "vmsgctl: reply line too long\n");
			return 1;
		}
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fprintf(stderr, "vmsgctl: no reply from vmsgd within %d s\n",
				VMSGCTL_TIMEOUT_S);
			return 1;
		}
		if (n <= 0) {
			fprintf(stderr, "vmsgctl: reply incomplete: %s\n",
				n ? strerror(errno) : "connection closed");
			return 1;
		}
		len += (size_t)n;
		ret = vmsgctl_lines(buf, &len, value, vlen);
		if (ret >= 0)
			return ret;
	}
}

/* --- console: the terminal joined to a console device -------------------- */

#define VMSGCTL_ESCAPE		0x1d	/* ^], as in telnet */
#define VMSGCTL_WAIT_MS		1000
#define VMSGCTL_WAIT_MAX_S	3600
#define VMSGCTL_CON_USAGE	"usage: console [-p] [-w SEC] {DEVNUM | DOMAIN [DEVNUM]}"

struct vmsgctl_con {
	int fd;			/* the console's socket or pty slave */
	bool sock;
	bool tty;		/* stdin is a terminal, now in raw mode */
	bool in_eof;
	int wait_ms;		/* after end of input; 0: until closed */
	struct termios saved;
};

static volatile sig_atomic_t vmsgctl_signalled;

static void vmsgctl_on_signal(int sig)
{
	vmsgctl_signalled = sig;
}

/* A signal ends the session (the terminal is restored); no SIGPIPE. */
static void vmsgctl_con_signals(void)
{
	struct sigaction sa = { .sa_handler = vmsgctl_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int vmsgctl_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR && !vmsgctl_signalled)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A connected unix stream socket, or -errno. */
static int vmsgctl_con_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		return fd;
	ret = -errno;
	close(fd);
	return ret;
}

/* Open the console's host side: a unix socket or a pty slave. 0 or -1. */
static int vmsgctl_con_open(struct vmsgctl_con *c, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		c->fd = -errno;
	} else {
		c->sock = S_ISSOCK(st.st_mode);
		if (c->sock)
			c->fd = vmsgctl_con_connect(path);
		else
			c->fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (!c->sock && c->fd < 0)
			c->fd = -errno;
	}
	if (c->fd >= 0)
		return 0;
	fprintf(stderr, "vmsgctl: console %s: %s\n", path, strerror(-c->fd));
	return -1;
}

static int vmsgctl_con_raw(struct vmsgctl_con *c)
{
	struct termios raw;

	c->tty = isatty(STDIN_FILENO);
	if (!c->tty)
		return 0;
	if (tcgetattr(STDIN_FILENO, &c->saved))
		return -errno;
	raw = c->saved;
	cfmakeraw(&raw);
	return tcsetattr(STDIN_FILENO, TCSANOW, &raw) ? -errno : 0;
}

/*
 * stdin to the console. 1: go on, 0: ^] typed on a terminal, -errno. At
 * end of input a socket is half-closed: the console's output still comes.
 */
static int vmsgctl_con_input(struct vmsgctl_con *c)
{
	char buf[4096], *esc = NULL;
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	size_t len;

	if (n < 0)
		return errno == EINTR ? 1 : -errno;
	if (!n) {
		c->in_eof = true;
		if (c->sock)
			shutdown(c->fd, SHUT_WR);
		return 1;
	}
	len = (size_t)n;
	if (c->tty)
		esc = memchr(buf, VMSGCTL_ESCAPE, len);
	if (esc)
		len = (size_t)(esc - buf);
	n = vmsgctl_write_all(c->fd, buf, len);
	if (n < 0)
		return (int)n;
	return esc ? 0 : 1;
}

/* The console to stdout. 1: go on, 0: the console side closed, -errno. */
static int vmsgctl_con_output(struct vmsgctl_con *c)
{
	char buf[4096];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return 1;
	/* A pty slave reads EIO once the daemon closed the master. */
	if (!n || (n < 0 && errno == EIO && !c->sock))
		return 0;
	if (n < 0)
		return -errno;
	n = vmsgctl_write_all(STDOUT_FILENO, buf, (size_t)n);
	return n < 0 ? (int)n : 1;
}

/* Copy both ways until one side ends. 0 or -errno. */
static int vmsgctl_con_relay(struct vmsgctl_con *c)
{
	struct pollfd p[2];
	int ret = 1, n;

	while (ret > 0 && !vmsgctl_signalled) {
		p[0] = (struct pollfd){ .fd = c->in_eof ? -1 : STDIN_FILENO,
					.events = POLLIN };
		p[1] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		n = poll(p, 2, c->in_eof && c->wait_ms ? c->wait_ms : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return 0;	/* quiet for wait_ms after the input */
		if (p[1].revents)
			ret = vmsgctl_con_output(c);
		if (ret > 0 && p[0].revents)
			ret = vmsgctl_con_input(c);
	}
	return ret < 0 ? ret : 0;
}

static int vmsgctl_con_run(const char *path, int wait_ms)
{
	struct vmsgctl_con c = { .wait_ms = wait_ms };
	int ret;

	if (vmsgctl_con_open(&c, path))
		return 1;
	vmsgctl_con_signals();
	ret = vmsgctl_con_raw(&c);
	if (!ret && c.tty)
		fprintf(stderr, "vmsgctl: connected to %s, ^] quits\r\n", path);
	if (!ret)
		ret = vmsgctl_con_relay(&c);
	if (c.tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &c.saved);
	close(c.fd);
	if (ret < 0)
		fprintf(stderr, "vmsgctl: console %s: %s\n", path,
			strerror(-ret));
	return ret < 0 || vmsgctl_signalled ? 1 : 0;
}

/* -w SEC: 0..VMSGCTL_WAIT_MAX_S, in ms; -1 if not a number in range. */
static int vmsgctl_wait_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > VMSGCTL_WAIT_MAX_S)
		return -1;
	return (int)v * 1000;
}

static bool vmsgctl_is_number(const char *s)
{
	return *s && s[strspn(s, "0123456789")] == '\0';
}

/*
 * The console request's words as the daemon takes them, from the words
 * after the options: DEVNUM, DOMAIN DEVNUM, or DOMAIN alone (its first
 * console device, as `xl console DOMAIN`). The daemon knows guests by id:
 * a name, and a lone DOMAIN's console, are looked up in xenstore first.
 * req[1..] point into argv or dom/num. Returns the number of words (1 or
 * 2), or -(exit status) after an error.
 */
static int vmsgctl_con_words(int argc, char **argv, char **req,
			     char dom[12], char num[12])
{
	unsigned int domid, devnum;
	int ret;

	req[1] = argv[0];
	if (argc == 1 && vmsgctl_is_number(argv[0]))
		return 1;
	if (argc == 1) {
		ret = vmsgctl_xen_console(argv[0], &domid, &devnum);
		if (ret)
			return -ret;
		snprintf(dom, 12, "%u", domid);
		snprintf(num, 12, "%u", devnum);
		req[1] = dom;
		req[2] = num;
		return 2;
	}
	req[2] = argv[1];
	if (vmsgctl_is_number(argv[0]))
		return 2;
	ret = vmsgctl_xen_domid(argv[0], &domid);
	if (ret)
		return -ret;
	snprintf(dom, 12, "%u", domid);
	req[1] = dom;
	return 2;
}

/*
 * vmsgctl console [-p] [-w SEC] {DEVNUM | DOMAIN [DEVNUM]}: ask the daemon
 * where the console's host side is, then join the terminal to it (-p: just
 * print that path). argv[0] is "console".
 */
static int vmsgctl_console(const char *ctl, int argc, char **argv)
{
	char line[VMSG_CTL_LINE_MAX + 2], path[VMSG_CTL_LINE_MAX];
	int wait_ms = VMSGCTL_WAIT_MS, c, fd, ret, words;
	char *req[3] = { argv[0] }, dom[12], num[12];
	bool print = false;

	optind = 0;
	while ((c = getopt(argc, argv, "+:pw:")) != -1) {
		if (c == 'p') {
			print = true;
			continue;
		}
		if (c == 'w')
			wait_ms = vmsgctl_wait_arg(optarg);
		if (c != 'w' || wait_ms < 0)
			return vmsgctl_bad_usage(VMSGCTL_CON_USAGE);
	}
	if (argc - optind < 1 || argc - optind > 2)
		return vmsgctl_bad_usage(VMSGCTL_CON_USAGE);
	words = vmsgctl_con_words(argc - optind, argv + optind, req, dom, num);
	if (words < 0)
		return -words;
	if (vmsgctl_build(line, sizeof(line), 1 + words, req))
		return vmsgctl_bad_usage("request too long");
	fd = vmsgctl_connect(ctl);
	if (fd < 0)
		return 1;
	ret = vmsgctl_send(fd, line);
	if (!ret)
		ret = vmsgctl_receive(fd, path, sizeof(path));
	close(fd);
	if (ret)
		return 1;
	if (print) {
		printf("%s\n", path);
		return 0;
	}
	return vmsgctl_con_run(path, wait_ms);
}

static const struct option vmsgctl_longopts[] = {
	{ "control", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	const char *path = VMSG_CTL_DEFAULT_PATH;
	char line[VMSG_CTL_LINE_MAX + 2];
	int c, fd, ret;

	/* "+": stop at the verb, so a SPEC is never taken for an option */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:h", vmsgctl_longopts,
				NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			vmsgctl_usage(stdout);
			return 0;
		default:
			snprintf(line, sizeof(line), "%s '%s'",
				 c == ':' ? "missing argument for" :
					    "bad option",
				 argv[optind - 1]);
			return vmsgctl_bad_usage(line);
		}
	}
	if (optind == argc)
		return vmsgctl_bad_usage("no request (attach, detach or list)");
	if (!strcmp(argv[optind], "console"))
		return vmsgctl_console(path, argc - optind, argv + optind);
	if (vmsgctl_xen_wants(argc - optind, argv + optind))
		return vmsgctl_xen(argc - optind, argv + optind);
	ret = vmsgctl_build(line, sizeof(line), argc - optind, argv + optind);
	if (ret)
		return vmsgctl_bad_usage(ret == -E2BIG ? "request too long" :
					 "newline in an argument");
	fd = vmsgctl_connect(path);
	if (fd < 0)
		return 1;
	ret = vmsgctl_send(fd, line);
	if (!ret)
		ret = vmsgctl_receive(fd, NULL, 0);
	close(fd);
	return ret ? 1 : 0;
}
