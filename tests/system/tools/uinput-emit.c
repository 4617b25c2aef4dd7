// SPDX-License-Identifier: GPL-2.0
/*
 * uinput-emit: a scripted input device for the QEMU system test of
 * virtio-input (tests/system/guest/t-input.sh).
 *
 *   uinput-emit NAME
 *
 * Creates a uinput device NAME (keys A and B, left button, relative X/Y,
 * caps- and num-lock LEDs), prints "ready <sysfs name>" (e.g. "ready
 * input5"), then runs one command per line of standard input:
 *
 *   seq        emit the known sequence below, print "done seq"
 *   flood N    emit N events (REL_X 1, SYN, REL_X 2, SYN, ...), as fast as
 *              uinput takes them, print "done flood N"
 *   quit       (or end of input) destroy the device and exit 0
 *
 * LED events the device receives (someone wrote them to its evdev) are
 * printed as "led CODE VALUE" when they arrive. Output is line-buffered.
 * Errors go to stderr and exit 1. This is a test tool: no option parsing,
 * nothing configurable beyond the name.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/input.h>
#include <linux/uinput.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define FLOOD_CHUNK	64	/* events per write() */

/* The sequence "seq" emits; t-input.sh expects exactly these, in order. */
static const struct input_event seq_events[] = {
	{ .type = EV_KEY, .code = KEY_A, .value = 1 },
	{ .type = EV_SYN, .code = SYN_REPORT },
	{ .type = EV_REL, .code = REL_X, .value = 5 },
	{ .type = EV_REL, .code = REL_Y, .value = -3 },
	{ .type = EV_SYN, .code = SYN_REPORT },
	{ .type = EV_KEY, .code = KEY_A, .value = 0 },
	{ .type = EV_SYN, .code = SYN_REPORT },
	{ .type = EV_KEY, .code = BTN_LEFT, .value = 1 },
	{ .type = EV_SYN, .code = SYN_REPORT },
	{ .type = EV_REL, .code = REL_X, .value = -120 },
	{ .type = EV_SYN, .code = SYN_REPORT },
	{ .type = EV_KEY, .code = BTN_LEFT, .value = 0 },
	{ .type = EV_SYN, .code = SYN_REPORT },
	{ .type = EV_KEY, .code = KEY_B, .value = 1 },
	{ .type = EV_SYN, .code = SYN_REPORT },
	{ .type = EV_KEY, .code = KEY_B, .value = 0 },
	{ .type = EV_SYN, .code = SYN_REPORT },
};

static void die(const char *what)
{
	fprintf(stderr, "uinput-emit: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void set_bit(int fd, unsigned long req, int bit, const char *what)
{
	if (ioctl(fd, req, bit) < 0)
		die(what);
}

static int create(const char *name)
{
	struct uinput_setup setup = {
		.id = { .bustype = BUS_VIRTUAL, .vendor = 0x1234,
			.product = 0x5678, .version = 1 },
	};
	int fd = open("/dev/uinput", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("/dev/uinput");
	set_bit(fd, UI_SET_EVBIT, EV_KEY, "UI_SET_EVBIT");
	set_bit(fd, UI_SET_EVBIT, EV_REL, "UI_SET_EVBIT");
	set_bit(fd, UI_SET_EVBIT, EV_LED, "UI_SET_EVBIT");
	set_bit(fd, UI_SET_KEYBIT, KEY_A, "UI_SET_KEYBIT");
	set_bit(fd, UI_SET_KEYBIT, KEY_B, "UI_SET_KEYBIT");
	set_bit(fd, UI_SET_KEYBIT, BTN_LEFT, "UI_SET_KEYBIT");
	set_bit(fd, UI_SET_RELBIT, REL_X, "UI_SET_RELBIT");
	set_bit(fd, UI_SET_RELBIT, REL_Y, "UI_SET_RELBIT");
	set_bit(fd, UI_SET_LEDBIT, LED_NUML, "UI_SET_LEDBIT");
	set_bit(fd, UI_SET_LEDBIT, LED_CAPSL, "UI_SET_LEDBIT");
	snprintf(setup.name, sizeof(setup.name), "%s", name);
	if (ioctl(fd, UI_DEV_SETUP, &setup) < 0)
		die("UI_DEV_SETUP");
	if (ioctl(fd, UI_DEV_CREATE) < 0)
		die("UI_DEV_CREATE");
	return fd;
}

static void emit(int fd, const struct input_event *ev, size_t n)
{
	size_t len = n * sizeof(*ev);

	if (write(fd, ev, len) != (ssize_t)len)
		die("write");
}

static void flood(int fd, unsigned long n)
{
	struct input_event ev[FLOOD_CHUNK];
	unsigned long done = 0, i;

	while (done < n) {
		for (i = 0; i < FLOOD_CHUNK && done < n; i++, done++) {
			memset(&ev[i], 0, sizeof(ev[i]));
			if (done % 2 == 0) {
				ev[i].type = EV_REL;
				ev[i].code = REL_X;
				ev[i].value = (int)(done / 2 + 1);
			}	/* else EV_SYN SYN_REPORT: all zero */
		}
		emit(fd, ev, i);
	}
}

/* Print the LED events the device got; others (EV_UINPUT) are ignored. */
static void drain_leds(int fd)
{
	struct input_event ev;

	while (read(fd, &ev, sizeof(ev)) == sizeof(ev)) {
		if (ev.type == EV_LED)
			printf("led %u %d\n", ev.code, ev.value);
	}
}

/* One command; 0 to go on, 1 to quit. */
static int command(int fd, const char *line)
{
	unsigned long n;

	if (!strcmp(line, "seq")) {
		emit(fd, seq_events, ARRAY_SIZE(seq_events));
		printf("done seq\n");
	} else if (sscanf(line, "flood %lu", &n) == 1) {
		flood(fd, n);
		printf("done flood %lu\n", n);
	} else if (!strcmp(line, "quit")) {
		return 1;
	} else {
		fprintf(stderr, "uinput-emit: unknown command '%s'\n", line);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pollfd pfd[2] = { { .fd = 0, .events = POLLIN } };
	char sysname[64], line[128];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: uinput-emit NAME\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Unbuffered: poll() must see every line that stdio has not read. */
	setvbuf(stdin, NULL, _IONBF, 0);
	fd = create(argv[1]);
	if (ioctl(fd, UI_GET_SYSNAME(sizeof(sysname)), sysname) < 0)
		die("UI_GET_SYSNAME");
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		die("O_NONBLOCK");
	printf("ready %s\n", sysname);
	pfd[1] = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			die("poll");
		if (pfd[1].revents & POLLIN)
			drain_leds(fd);
		if (!(pfd[0].revents & (POLLIN | POLLHUP)))
			continue;
		if (!fgets(line, sizeof(line), stdin))
			break;
		line[strcspn(line, "\n")] = 0;
		if (command(fd, line))
			break;
	}
	if (ioctl(fd, UI_DEV_DESTROY) < 0)
		die("UI_DEV_DESTROY");
	close(fd);
	return 0;
}
