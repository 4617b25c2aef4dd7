// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket (backend/control.c): request parsing and replies on a
 * test bus through vmsg_control_exec(), then the socket itself driven by
 * hostile clients (overlong lines, pipelining, half-close, floods, too many
 * clients) with the daemon's loop run in between. Device behaviour is not
 * tested here; the rng model is only something to attach.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"
#include "loop.h"
#include "testbus.h"

struct fixture {
	struct vmsg_testbus *tb;
	struct vmsg_control *ctl;
	char path[108];
	char out[16384];
};

static struct vmsg_bus *lookup(void *opaque, const char *domain, char *err,
			       size_t errlen)
{
	struct fixture *f = opaque;

	if (domain) {
		snprintf(err, errlen, "no domain %s", domain);
		return NULL;
	}
	return &f->tb->bus;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[VMSG_ERR_LEN];

	assert_non_null(f);
	f->tb = vmsg_testbus_new(1 << 20, 64);
	assert_non_null(f->tb);
	snprintf(f->path, sizeof(f->path), "/tmp/vmsg-test-ctl-%d.sock",
		 (int)getpid());
	f->ctl = vmsg_control_open(f->tb->loop, f->path, lookup, f, err,
				   sizeof(err));
	assert_non_null(f->ctl);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmsg_control_close(f->ctl);
	assert_int_equal(access(f->path, F_OK), -1);
	vmsg_testbus_free(f->tb);
	free(f);
	return 0;
}

static const char *exec(struct fixture *f, const char *line)
{
	vmsg_control_exec(lookup, f, line, f->out, sizeof(f->out));
	return f->out;
}

static void test_exec_verbs(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(exec(f, "list"), "ok\n");
	assert_string_equal(exec(f, "attach rng"), "ok 1\n");
	assert_string_equal(exec(f, "attach rng"), "ok 2\n");
	assert_string_equal(exec(f, "list"),
			    "1 rng 0x00 idle\n2 rng 0x00 idle\nok\n");
	assert_string_equal(exec(f, "detach 1"), "ok\n");
	assert_string_equal(exec(f, "list"), "2 rng 0x00 idle\nok\n");
}

static void test_exec_errors(void **state)
{
	struct fixture *f = *state;

	assert_non_null(strstr(exec(f, "attach nosuch"), "error "));
	assert_non_null(strstr(exec(f, "attach"), "error usage"));
	assert_non_null(strstr(exec(f, "detach 9"), "error no device 9"));
	assert_non_null(strstr(exec(f, "detach 0"), "error bad device"));
	assert_non_null(strstr(exec(f, "detach 256"), "error bad device"));
	assert_non_null(strstr(exec(f, "detach 1x"), "error bad device"));
	assert_non_null(strstr(exec(f, "detach"), "error bad device"));
	assert_non_null(strstr(exec(f, "frob"), "error unknown request"));
	assert_non_null(strstr(exec(f, ""), "error unknown request"));
	assert_string_equal(exec(f, "list 3"), "error no domain 3\n");
	assert_string_equal(exec(f, "attach 3 rng"), "error no domain 3\n");
	assert_string_equal(exec(f, "detach 3 1"), "error no domain 3\n");
	assert_non_null(strstr(exec(f, "list 3 4"), "error usage"));
}

/* A reply that does not fit is an error line, never a cut list. */
static void test_exec_small_buffer(void **state)
{
	struct fixture *f = *state;
	char small[24];

	assert_string_equal(exec(f, "attach rng"), "ok 1\n");
	assert_string_equal(exec(f, "attach rng"), "ok 2\n");
	assert_int_equal(vmsg_control_exec(lookup, f, "list", small,
					   sizeof(small)), sizeof(small) - 1);
	assert_memory_equal(small, "error ", 6);
	assert_int_equal(small[sizeof(small) - 2], '\n');
}

/* --- the socket ----------------------------------------------------------- */

static int client(struct fixture *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	strcpy(sun.sun_path, f->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void pump(struct fixture *f)
{
	int i;

	for (i = 0; i < 20; i++)
		vmsg_loop_run_once(f->tb->loop, 10);
}

/* Everything the daemon sent until it closed or went quiet. */
static size_t drain(struct fixture *f, int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	pump(f);
	for (;;) {
		n = recv(fd, buf + got, len - 1 - got, MSG_DONTWAIT);
		if (n <= 0)
			break;
		got += (size_t)n;
		pump(f);
	}
	buf[got] = '\0';
	return got;
}

static void sendstr(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL),
			 (ssize_t)strlen(s));
}

static void test_sock_pipelined_halfclose(void **state)
{
	struct fixture *f = *state;
	char buf[512];
	int fd = client(f);

	sendstr(fd, "attach rng\nlist\r\nlist");
	shutdown(fd, SHUT_WR);
	drain(f, fd, buf, sizeof(buf));
	assert_string_equal(buf, "ok 1\n1 rng 0x00 idle\nok\n"
			    "error request not ended by a newline\n");
	close(fd);
}

static void test_sock_long_line(void **state)
{
	struct fixture *f = *state;
	char line[VMSG_CTL_LINE_MAX + 2], buf[256];
	int fd = client(f);

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	sendstr(fd, line);
	drain(f, fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "error request longer than"));
	/* and the daemon hung up */
	assert_int_equal(recv(fd, buf, 1, MSG_DONTWAIT), 0);
	close(fd);
}

/* The longest line accepted reaches the parser. */
static void test_sock_max_line(void **state)
{
	struct fixture *f = *state;
	char line[VMSG_CTL_LINE_MAX + 2], buf[256];
	int fd = client(f);

	memset(line, 'a', VMSG_CTL_LINE_MAX);
	memcpy(line, "attach ", 7);
	line[VMSG_CTL_LINE_MAX] = '\n';
	line[VMSG_CTL_LINE_MAX + 1] = '\0';
	sendstr(fd, line);
	drain(f, fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "spec longer than"));
	close(fd);
}

/* A client that never reads stalls itself, not the daemon. */
static void test_sock_flood(void **state)
{
	struct fixture *f = *state;
	char reqs[5 * 1000], buf[512];
	int flood = client(f), other;
	ssize_t n;
	int i;

	for (i = 0; i < 1000; i++)
		memcpy(reqs + 5 * i, "list\n", 5);
	for (i = 0; i < 200; i++) {
		n = send(flood, reqs, sizeof(reqs), MSG_DONTWAIT);
		pump(f);
		if (n < 0)
			break;
	}
	other = client(f);
	sendstr(other, "list\n");
	drain(f, other, buf, sizeof(buf));
	assert_string_equal(buf, "ok\n");
	close(flood);
	pump(f);
	close(other);
}

static void test_sock_too_many(void **state)
{
	struct fixture *f = *state;
	int fds[20], i;
	char buf[128];

	for (i = 0; i < 20; i++) {
		fds[i] = client(f);
		pump(f);
	}
	drain(f, fds[19], buf, sizeof(buf));
	assert_string_equal(buf, "error too many control clients\n");
	for (i = 0; i < 20; i++)
		close(fds[i]);
	pump(f);
	i = client(f);
	sendstr(i, "list\n");
	drain(f, i, buf, sizeof(buf));
	assert_string_equal(buf, "ok\n");
	close(i);
}

/* A second daemon must not steal a live socket. */
static void test_sock_in_use(void **state)
{
	struct fixture *f = *state;
	char err[VMSG_ERR_LEN] = "";

	assert_null(vmsg_control_open(f->tb->loop, f->path, lookup, f, err,
				      sizeof(err)));
	assert_non_null(strstr(err, "in use"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exec_verbs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_small_buffer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sock_pipelined_halfclose,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sock_long_line, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sock_max_line, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sock_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sock_too_many, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sock_in_use, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
