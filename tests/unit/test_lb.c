// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's side of the loopback bus (bus-loopback/lb.c), as far as it
 * can be tested without the kernel module: opening the control node and
 * mapping the region (a regular file stands in for /dev/virtio-msg-lb: it
 * supports open, lseek and a shared mmap, but no ioctl), the error messages
 * for a missing node or an unusable region, attach failing cleanly when
 * IOCTL_VMSG_LB_ADD fails, send refusing devices without a node, and no
 * file descriptor or memory leaked on any of these paths. Message flow and
 * removal need the module: the QEMU system tests cover them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_msg.h>

#include "bus.h"
#include "loop.h"
#include "../../bus-loopback/lb.h"

#define REGION_SIZE	(64 * 1024)

struct fixture {
	struct vmsg_loop *loop;
	char dir[64];
	char ctrl[96];
	char err[256];
	int fds_before;
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A fake control node of `size` bytes; offset 8192 holds a marker. */
static void make_ctrl(struct fixture *f, off_t size)
{
	static const char marker[] = "region";
	int fd = open(f->ctrl, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	if (size >= 8192 + (off_t)sizeof(marker))
		assert_int_equal(pwrite(fd, marker, sizeof(marker), 8192),
				 sizeof(marker));
	close(fd);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vmsg-test-lb.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->ctrl, sizeof(f->ctrl), "%s/virtio-msg-lb", f->dir);
	f->loop = vmsg_loop_new();
	f->fds_before = count_fds();
	*state = f;
	return f->loop ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmsg_loop_free(f->loop);
	unlink(f->ctrl);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct vmsg_bus *open_ok(struct fixture *f)
{
	struct vmsg_bus *bus;

	f->err[0] = '\0';
	bus = vmsg_lb_open(f->loop, f->ctrl, f->err, sizeof(f->err));
	assert_non_null(bus);
	assert_string_equal(f->err, "");
	return bus;
}

static void open_fails(struct fixture *f, const char *why)
{
	f->err[0] = '\0';
	assert_null(vmsg_lb_open(f->loop, f->ctrl, f->err, sizeof(f->err)));
	assert_non_null(strstr(f->err, f->ctrl));
	assert_non_null(strstr(f->err, why));
	assert_int_equal(count_fds(), f->fds_before);
}

static void test_missing_node(void **state)
{
	open_fails(*state, "(is virtio_msg_loopback.ko loaded?)");
}

/* Empty, only the never-used first page, or not a page multiple. */
static void test_unusable_region(void **state)
{
	struct fixture *f = *state;

	make_ctrl(f, 0);
	open_fails(f, "unusable");
	make_ctrl(f, 4096);
	open_fails(f, "unusable");
	make_ctrl(f, REGION_SIZE + 100);
	open_fails(f, "unusable");
}

static void test_region_mapped(void **state)
{
	struct fixture *f = *state;
	struct vmsg_bus *bus;
	char back[8];
	int fd;

	make_ctrl(f, REGION_SIZE);
	bus = open_ok(f);
	assert_int_equal(bus->region.size, REGION_SIZE);
	assert_int_equal(bus->region.min_addr, 4096);
	assert_int_equal(bus->max_msg_size, VIRTIO_MSG_DEFAULT_SIZE);
	assert_string_equal(bus->name, "loopback");
	assert_ptr_equal(bus->loop, f->loop);
	assert_true(fcntl(bus->region.fd, F_GETFD) & FD_CLOEXEC);
	assert_null(vmsg_region_ptr(&bus->region, 0, 1));
	assert_null(vmsg_region_ptr(&bus->region, REGION_SIZE - 1, 2));
	assert_string_equal((char *)vmsg_region_ptr(&bus->region, 8192, 7),
			    "region");

	/* shared: what the daemon writes is what the other side reads */
	memcpy(vmsg_region_ptr(&bus->region, REGION_SIZE - 8, 8), "written",
	       8);
	fd = open(f->ctrl, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, 8, REGION_SIZE - 8), 8);
	assert_string_equal(back, "written");
	close(fd);

	vmsg_lb_close(bus, 0);
	assert_int_equal(count_fds(), f->fds_before);
}

/* IOCTL_VMSG_LB_ADD fails (ENOTTY here): no device is left on the bus. */
static void test_attach_failure(void **state)
{
	struct fixture *f = *state;
	struct vmsg_bus *bus;
	int ret;

	make_ctrl(f, REGION_SIZE);
	bus = open_ok(f);
	ret = vmsg_bus_add_device(bus, "rng", 3, f->err, sizeof(f->err));
	assert_int_equal(ret, -ENOTTY);
	assert_non_null(strstr(f->err, "attaching"));
	assert_null(vmsg_bus_dev(bus, 3));
	assert_int_equal(vmsg_bus_remove_device(bus, 3), -ENODEV);
	vmsg_lb_close(bus, 0);
	assert_int_equal(count_fds(), f->fds_before);
}

/* Without an attached device there is no node to write to. */
static void test_send_without_node(void **state)
{
	struct fixture *f = *state;
	struct virtio_msg_hdr hdr = {
		.type = VIRTIO_MSG_TYPE_RESPONSE,
		.msg_id = VIRTIO_MSG_GET_DEVICE_STATUS,
		.msg_size = htole16(sizeof(hdr)),
	};
	struct vmsg_bus *bus;

	make_ctrl(f, REGION_SIZE);
	bus = open_ok(f);
	hdr.dev_num = htole16(5);
	assert_int_equal(bus->ops->send(bus, &hdr, sizeof(hdr)), -ENODEV);
	hdr.dev_num = htole16(VMSG_BUS_MAX_DEVS);
	assert_int_equal(bus->ops->send(bus, &hdr, sizeof(hdr)), -ENODEV);
	hdr.dev_num = 0;
	assert_int_equal(bus->ops->send(bus, &hdr, sizeof(hdr)), -ENODEV);
	assert_int_equal(bus->ops->send(bus, &hdr, 4), -EINVAL);
	vmsg_lb_close(bus, 0);
}

/* The control node is exclusive in the kernel; here: open, close, again. */
static void test_reopen(void **state)
{
	struct fixture *f = *state;
	int i;

	make_ctrl(f, REGION_SIZE);
	for (i = 0; i < 3; i++)
		vmsg_lb_close(open_ok(f), 100);
	assert_int_equal(count_fds(), f->fds_before);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_missing_node),
		T(test_unusable_region),
		T(test_region_mapped),
		T(test_attach_failure),
		T(test_send_without_node),
		T(test_reopen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
