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
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
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
		"\n"
		"  -c, --control PATH   vmsgd's control socket (default %s)\n"
		"  -h, --help           show this help\n"
		"\n"
		"attach prints the new device number; list prints one line per\n"
		"device: DEVNUM TYPE STATUS STATE.\n"
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
static int vmsgctl_line(const char *l)
{
	if (!strcmp(l, "ok"))
		return 0;
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

/* Print complete lines of buf; returns the exit status or -1 (need more). */
static int vmsgctl_lines(char *buf, size_t *len)
{
	char *nl;
	size_t used;
	int ret;

	while ((nl = memchr(buf, '\n', *len))) {
		*nl = '\0';
		ret = vmsgctl_line(buf);
		used = (size_t)(nl - buf) + 1;
		memmove(buf, nl + 1, *len - used);
		*len -= used;
		if (ret >= 0)
			return ret;
	}
	return -1;
}

static int vmsgctl_receive(int fd)
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
		ret = vmsgctl_lines(buf, &len);
		if (ret >= 0)
			return ret;
	}
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
		ret = vmsgctl_receive(fd);
	close(fd);
	return ret ? 1 : 0;
}
