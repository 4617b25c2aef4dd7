// SPDX-License-Identifier: GPL-2.0
/*
 * fakeevdev: a pseudo-terminal that answers the evdev ioctls, for unit
 * tests on hosts without uinput. See fakeevdev.h for what it is and is not.
 *
 * The answers follow drivers/input/evdev.c of Linux 6.1: bitmaps and
 * strings are clamped to the caller's size and the copied length is
 * returned, unknown requests give EINVAL, an absent uniq ENOENT, a second
 * grab EBUSY, releasing a grab not held EINVAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fakeevdev.h"

#define FE_MASK_SIZE(req)	((req) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

/* The fakes the ioctl() below answers for. */
static struct fakeevdev *fe_all[FAKEEVDEV_MAX];
static unsigned int fe_count;

static struct fakeevdev *fe_of_fd(int fd)
{
	struct stat st;
	unsigned int i;

	if (!fe_count || fstat(fd, &st) || !S_ISCHR(st.st_mode))
		return NULL;
	for (i = 0; i < FAKEEVDEV_MAX; i++)
		if (fe_all[i] && fe_all[i]->rdev == st.st_rdev)
			return fe_all[i];
	return NULL;
}

static int fe_err(int err)
{
	errno = err;
	return -1;
}

static int fe_str(const char *str, void *arg, unsigned int size)
{
	unsigned int len = strlen(str) + 1;

	if (len > size)
		len = size;
	memcpy(arg, str, len);
	return len;
}

static int fe_bits(const unsigned long *bits, unsigned int maxbit, void *arg,
		   unsigned int size)
{
	unsigned int len = FAKEEVDEV_LONGS(maxbit) * sizeof(long);

	if (len > size)
		len = size;
	memcpy(arg, bits, len);
	return len;
}

/* The types evdev has a bitmap for, and their largest code. */
static int fe_evbits(struct fakeevdev *fe, unsigned int type, void *arg,
		     unsigned int size)
{
	static const unsigned int max[EV_CNT] = {
		[0] = EV_MAX, [EV_KEY] = KEY_MAX, [EV_REL] = REL_MAX,
		[EV_ABS] = ABS_MAX, [EV_MSC] = MSC_MAX, [EV_LED] = LED_MAX,
		[EV_SND] = SND_MAX, [EV_FF] = FF_MAX, [EV_SW] = SW_MAX,
	};

	if (type && !max[type])
		return fe_err(EINVAL);
	return fe_bits(fe->bits[type], max[type], arg, size);
}

static int fe_grab(struct fakeevdev *fe, bool grab)
{
	unsigned int i, n = fe->nlater;

	if (grab && (fe->grabbed || fe->grab_busy))
		return fe_err(EBUSY);
	if (!grab && !fe->grabbed)
		return fe_err(EINVAL);
	fe->grabbed = grab;
	if (!grab) {
		fe->ungrabs++;
		return 0;
	}
	fe->grabs++;
	fe->nlater = 0;
	for (i = 0; i < n; i++)
		fakeevdev_emit(fe, &fe->later[i], 1);
	return 0;
}

/* Not an evdev request at all: counted, for tests of what may be asked. */
static int fe_unknown(struct fakeevdev *fe)
{
	fe->bad_requests++;
	return fe_err(EINVAL);
}

/* The requests with a size of their own (strings, bitmaps, axes). */
static int fe_ioctl_sized(struct fakeevdev *fe, unsigned long req, void *arg)
{
	unsigned int size = _IOC_SIZE(req), nr = _IOC_NR(req);

	switch (FE_MASK_SIZE(req)) {
	case EVIOCGNAME(0):
		return fe_str(fe->name, arg, size);
	case EVIOCGUNIQ(0):
		return fe->uniq[0] ? fe_str(fe->uniq, arg, size) :
				     fe_err(ENOENT);
	case EVIOCGPROP(0):
		return fe_bits(fe->props, INPUT_PROP_MAX, arg, size);
	}
	if (_IOC_DIR(req) != _IOC_READ)
		return fe_unknown(fe);
	if ((nr & ~EV_MAX) == _IOC_NR(EVIOCGBIT(0, 0)))
		return fe_evbits(fe, nr & EV_MAX, arg, size);
	if ((nr & ~ABS_MAX) == _IOC_NR(EVIOCGABS(0)) &&
	    size == sizeof(struct input_absinfo)) {
		memcpy(arg, &fe->abs[nr & ABS_MAX], size);
		return 0;
	}
	return fe_unknown(fe);
}

static int fe_ioctl(struct fakeevdev *fe, unsigned long req, void *arg)
{
	if (fe->master < 0)
		return fe_err(ENODEV);
	switch (req) {
	case EVIOCGVERSION:
		*(int *)arg = EV_VERSION;
		return 0;
	case EVIOCGID:
		memcpy(arg, &fe->id, sizeof(fe->id));
		return 0;
	case EVIOCGRAB:
		return fe_grab(fe, arg != NULL);
	case EVIOCSCLOCKID:
		fe->clockid = *(const int *)arg;
		return 0;
	}
	return fe_ioctl_sized(fe, req, arg);
}

/*
 * Overrides the C library's ioctl() in the test binary: 'E' requests on a
 * fake's slave are answered here, everything else goes to the kernel.
 */
int ioctl(int fd, unsigned long request, ...)
{
	struct fakeevdev *fe;
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (_IOC_TYPE(request) == 'E') {
		fe = fe_of_fd(fd);
		if (fe)
			return fe_ioctl(fe, request, arg);
	}
	return (int)syscall(SYS_ioctl, fd, request, arg);
}

/* --- the fake's life ------------------------------------------------------ */

/* Open the pair, the slave raw: records pass unchanged both ways. */
static int fe_open_pty(struct fakeevdev *fe)
{
	struct termios t;
	struct stat st;

	fe->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fe->master < 0)
		return -errno;
	if (grantpt(fe->master) || unlockpt(fe->master) ||
	    ptsname_r(fe->master, fe->path, sizeof(fe->path)))
		return -errno;
	fe->slave = open(fe->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fe->slave < 0)
		return -errno;
	if (tcgetattr(fe->slave, &t))
		return -errno;
	cfmakeraw(&t);
	if (tcsetattr(fe->slave, TCSANOW, &t) || fstat(fe->slave, &st))
		return -errno;
	fe->rdev = st.st_rdev;
	return 0;
}

static void fe_close(struct fakeevdev *fe)
{
	if (fe->master >= 0)
		close(fe->master);
	if (fe->slave >= 0)
		close(fe->slave);
	fe->master = -1;
	fe->slave = -1;
}

static int fe_register(struct fakeevdev *fe)
{
	unsigned int i;

	for (i = 0; i < FAKEEVDEV_MAX; i++) {
		if (!fe_all[i]) {
			fe_all[i] = fe;
			fe_count++;
			return 0;
		}
	}
	return -EMFILE;
}

struct fakeevdev *fakeevdev_new(const char *name)
{
	struct fakeevdev *fe = calloc(1, sizeof(*fe));
	int ret;

	if (!fe)
		return NULL;
	fe->master = -1;
	fe->slave = -1;
	fe->clockid = -1;
	snprintf(fe->name, sizeof(fe->name), "%s", name);
	fakeevdev_set_bit(fe, EV_SYN, SYN_REPORT);
	ret = fe_open_pty(fe);
	if (!ret)
		ret = fe_register(fe);
	if (ret) {
		fe_close(fe);
		free(fe);
		errno = -ret;
		return NULL;
	}
	return fe;
}

void fakeevdev_free(struct fakeevdev *fe)
{
	unsigned int i;

	if (!fe)
		return;
	for (i = 0; i < FAKEEVDEV_MAX; i++) {
		if (fe_all[i] == fe) {
			fe_all[i] = NULL;
			fe_count--;
		}
	}
	fe_close(fe);
	free(fe);
}

void fakeevdev_unplug(struct fakeevdev *fe)
{
	fe_close(fe);
	fe->grabbed = false;
}

static void fe_set(unsigned long *bits, unsigned int bit)
{
	bits[bit / (sizeof(long) * CHAR_BIT)] |=
		1UL << (bit % (sizeof(long) * CHAR_BIT));
}

void fakeevdev_set_bit(struct fakeevdev *fe, unsigned int type,
		       unsigned int code)
{
	fe_set(fe->bits[0], type);
	fe_set(fe->bits[type], code);
}

void fakeevdev_set_abs(struct fakeevdev *fe, unsigned int axis, int min,
		       int max, int fuzz, int flat, int res)
{
	fakeevdev_set_bit(fe, EV_ABS, axis);
	fe->abs[axis] = (struct input_absinfo){
		.minimum = min, .maximum = max, .fuzz = fuzz, .flat = flat,
		.resolution = res,
	};
}

/* --- events --------------------------------------------------------------- */

int fakeevdev_emit(struct fakeevdev *fe, const struct input_event *ev,
		   unsigned int n)
{
	struct input_event buf[FAKEEVDEV_MAX_BURST];
	struct timespec now;
	size_t len = n * sizeof(buf[0]);
	unsigned int i;
	ssize_t done;

	if (fe->master < 0)
		return -ENODEV;
	if (n > FAKEEVDEV_MAX_BURST)
		return -E2BIG;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (i = 0; i < n; i++) {
		buf[i] = ev[i];
		buf[i].input_event_sec = now.tv_sec;
		buf[i].input_event_usec = now.tv_nsec / 1000;
	}
	done = write(fe->master, buf, len);
	if (done < 0)
		return -errno;
	/* A part of the burst would leave a partial record behind. */
	return (size_t)done == len ? 0 : -EAGAIN;
}

int fakeevdev_emit1(struct fakeevdev *fe, unsigned int type,
		    unsigned int code, int value)
{
	struct input_event ev = { .type = type, .code = code, .value = value };

	return fakeevdev_emit(fe, &ev, 1);
}

int fakeevdev_emit_grabbed(struct fakeevdev *fe, unsigned int type,
			   unsigned int code, int value)
{
	struct input_event ev = { .type = type, .code = code, .value = value };

	if (fe->grabbed)
		return fakeevdev_emit(fe, &ev, 1);
	if (fe->nlater == FAKEEVDEV_LATER_MAX)
		return -ENOSPC;
	fe->later[fe->nlater++] = ev;
	return 0;
}

int fakeevdev_read_written(struct fakeevdev *fe, struct input_event *ev,
			   int timeout_ms)
{
	struct pollfd pfd = { .fd = fe->master, .events = POLLIN };
	uint8_t *p = (uint8_t *)ev;
	size_t got = 0;
	ssize_t n;
	int ret;

	if (fe->master < 0)
		return -ENODEV;
	while (got < sizeof(*ev)) {
		ret = poll(&pfd, 1, timeout_ms);
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (!ret)
			return got ? -EPROTO : 0;
		n = read(fe->master, p + got, sizeof(*ev) - got);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0)
			got += n;
	}
	return 1;
}

int fakeevdev_unread(struct fakeevdev *fe)
{
	int n;

	if (fe->slave < 0)
		return -ENODEV;
	if (ioctl(fe->slave, FIONREAD, &n) < 0)
		return -errno;
	return n;
}
