/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fakeevdev: a stand-in for a Linux evdev device (/dev/input/eventN), for
 * unit tests on hosts without uinput (containers, CI machines).
 *
 * A fake is a pseudo-terminal in raw mode. The code under test opens the
 * slave (fe->path) as it would open an evdev, reads struct input_event
 * records from it and may write some back; the test holds the master,
 * writes events with fakeevdev_emit() and reads what was written with
 * fakeevdev_read_written(). The evdev ioctls (type 'E') on the slave are
 * answered from the fake's description by the ioctl() defined in
 * fakeevdev.c, which takes precedence over the C library's in every test
 * binary that links it (the idea of umockdev's preload library). Every
 * other request, and every fd that is not a fake's slave, goes straight to
 * the kernel, so code that uses no fake sees no difference.
 *
 * Limits, from the tty underneath: bytes reach the slave asynchronously (a
 * kernel worker moves them), and a reader sees whole records only if each
 * write fits one tty buffer (FAKEEVDEV_MAX_BURST events per emit) and the
 * slave's 4 KiB input buffer never fills up (FAKEEVDEV_MAX_UNREAD events
 * emitted and not read, at most). Unplugging closes the master: the
 * slave then polls EPOLLHUP and reads end of file, and the 'E' ioctls fail
 * with ENODEV, as near as a tty gets to an unplugged evdev (which reads
 * ENODEV).
 *
 * Failure convention: int functions return 0 (or a count) or -errno.
 */
#ifndef VMSG_FAKEEVDEV_H
#define VMSG_FAKEEVDEV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <linux/input.h>

#define FAKEEVDEV_MAX		4	/* fakes alive at once */
#define FAKEEVDEV_MAX_BURST	64	/* events per emit: 1536 bytes */
#define FAKEEVDEV_MAX_UNREAD	160	/* 3840 bytes of the tty's 4096 */
#define FAKEEVDEV_LATER_MAX	16	/* events held for the next grab */
#define FAKEEVDEV_LONGS(bits)	(((bits) + sizeof(long) * CHAR_BIT - 1) / \
				 (sizeof(long) * CHAR_BIT))

struct fakeevdev {
	char path[64];			/* the slave, for an evdev= option */
	int master;			/* the test's end; -1 once unplugged */
	int slave;			/* kept open: termios, FIONREAD */
	dev_t rdev;			/* how ioctl() knows the slave */

	/* The device. Tests may change any of it at any time. */
	char name[256];
	char uniq[64];			/* "": none (EVIOCGUNIQ says ENOENT) */
	struct input_id id;
	unsigned long props[FAKEEVDEV_LONGS(INPUT_PROP_CNT)];
	unsigned long bits[EV_CNT][FAKEEVDEV_LONGS(KEY_CNT)]; /* [0]: types */
	struct input_absinfo abs[ABS_CNT];
	bool grab_busy;			/* another program holds the grab */

	/* What the code under test did. */
	bool grabbed;
	unsigned int grabs;
	unsigned int ungrabs;
	int clockid;			/* last EVIOCSCLOCKID, -1: never */
	unsigned int bad_requests;	/* 'E' requests evdev does not know */

	struct input_event later[FAKEEVDEV_LATER_MAX];
	unsigned int nlater;
};

/* A fake named name, with no capabilities; NULL with errno set. */
struct fakeevdev *fakeevdev_new(const char *name);
void fakeevdev_free(struct fakeevdev *fe);

/* Give the device event type `type` and its code `code`. */
void fakeevdev_set_bit(struct fakeevdev *fe, unsigned int type,
		       unsigned int code);
/* Give the device absolute axis `axis` with these limits. */
void fakeevdev_set_abs(struct fakeevdev *fe, unsigned int axis, int min,
		       int max, int fuzz, int flat, int res);

/*
 * Emit events as the device: stamped now (CLOCK_MONOTONIC) and written in
 * one go. 0, or -errno (-EAGAIN: the tty is full, -ENODEV: unplugged).
 */
int fakeevdev_emit(struct fakeevdev *fe, const struct input_event *ev,
		   unsigned int n);
/* One event, from its type, code and value. */
int fakeevdev_emit1(struct fakeevdev *fe, unsigned int type,
		    unsigned int code, int value);
/*
 * As a user acting on a device someone grabbed: emitted now if it is
 * grabbed, else held and emitted, stamped then, when it is next grabbed.
 */
int fakeevdev_emit_grabbed(struct fakeevdev *fe, unsigned int type,
			   unsigned int code, int value);

/*
 * Take one event the code under test wrote to the slave, waiting up to
 * timeout_ms: 1, 0 if none came, or -errno.
 */
int fakeevdev_read_written(struct fakeevdev *fe, struct input_event *ev,
			   int timeout_ms);

/* Bytes emitted that the code under test has not read yet, or -errno. */
int fakeevdev_unread(struct fakeevdev *fe);

/* The device goes away; the fake stays until fakeevdev_free(). */
void fakeevdev_unplug(struct fakeevdev *fe);

#endif /* VMSG_FAKEEVDEV_H */
