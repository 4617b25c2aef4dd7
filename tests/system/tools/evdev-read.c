// SPDX-License-Identifier: GPL-2.0
/*
 * evdev-read: read (or write) an evdev device, for the QEMU system test of
 * virtio-input (tests/system/guest/t-input.sh).
 *
 *   evdev-read [-n COUNT] [-t IDLE_MS] [-s] DEV
 *   evdev-read -w TYPE:CODE:VALUE DEV
 *
 * Reading, it prints "ready" once DEV is open, then one line "TYPE CODE
 * VALUE" (decimal) per event, and exits 0 after COUNT events or when none
 * came for IDLE_MS (default 5000). With -s it prints no events but one
 * summary line at the end, for floods of "REL_X n, SYN" events:
 *
 *   events E rel_x R increasing Y|N last L syn_dropped D
 *
 * (increasing: every REL_X value larger than the one before). With -w it
 * writes one event to DEV (e.g. an LED state) and exits. Errors go to
 * stderr with exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/input.h>

#define BATCH	64

struct summary {
	unsigned long events;
	unsigned long rel_x;
	unsigned long syn_dropped;
	bool increasing;
	long last;
};

static void die(const char *what)
{
	fprintf(stderr, "evdev-read: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: evdev-read [-n COUNT] [-t IDLE_MS] [-s] DEV\n"
			"       evdev-read -w TYPE:CODE:VALUE DEV\n");
	exit(2);
}

static int write_one(const char *dev, const char *spec)
{
	struct input_event ev = { 0 };
	unsigned int type, code;
	int value, fd;

	if (sscanf(spec, "%u:%u:%d", &type, &code, &value) != 3)
		usage();
	ev.type = type;
	ev.code = code;
	ev.value = value;
	fd = open(dev, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die(dev);
	if (write(fd, &ev, sizeof(ev)) != sizeof(ev))
		die("write");
	close(fd);
	return 0;
}

static void note(struct summary *s, const struct input_event *ev)
{
	s->events++;
	if (ev->type == EV_SYN && ev->code == SYN_DROPPED)
		s->syn_dropped++;
	if (ev->type != EV_REL || ev->code != REL_X)
		return;
	if (s->rel_x && ev->value <= s->last)
		s->increasing = false;
	s->rel_x++;
	s->last = ev->value;
}

/* Read until count events (0: no limit) or idle_ms without any. */
static void read_events(int fd, unsigned long count, int idle_ms,
			struct summary *s, bool quiet)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct input_event ev[BATCH];
	ssize_t n, i;
	int ret;

	while (!count || s->events < count) {
		ret = poll(&pfd, 1, idle_ms);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			die("poll");
		if (!ret)
			return;
		n = read(fd, ev, sizeof(ev));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			die("read");
		for (i = 0; i < n / (ssize_t)sizeof(ev[0]); i++) {
			note(s, &ev[i]);
			if (!quiet)
				printf("%u %u %d\n", ev[i].type, ev[i].code,
				       ev[i].value);
			if (count && s->events == count)
				return;
		}
	}
}

int main(int argc, char **argv)
{
	struct summary s = { .increasing = true };
	const char *wr = NULL;
	unsigned long count = 0;
	int idle_ms = 5000, opt, fd;
	bool quiet = false;

	while ((opt = getopt(argc, argv, "n:t:sw:")) != -1) {
		switch (opt) {
		case 'n':
			count = strtoul(optarg, NULL, 0);
			break;
		case 't':
			idle_ms = atoi(optarg);
			break;
		case 's':
			quiet = true;
			break;
		case 'w':
			wr = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	if (wr)
		return write_one(argv[optind], wr);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(argv[optind], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		die(argv[optind]);
	printf("ready\n");
	read_events(fd, count, idle_ms, &s, quiet);
	if (quiet)
		printf("events %lu rel_x %lu increasing %s last %ld "
		       "syn_dropped %lu\n", s.events, s.rel_x,
		       s.increasing ? "Y" : "N", s.last, s.syn_dropped);
	close(fd);
	return 0;
}
