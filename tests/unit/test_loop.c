// SPDX-License-Identifier: GPL-2.0
/*
 * The epoll event loop (backend/loop.c): registration errors, dispatch, and
 * above all removal of watches from inside callbacks, including the watch
 * whose event is being dispatched and watches whose events are still
 * pending in the same round. eventfds stand in for the buses' fds.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"

struct watcher {
	struct vmsg_loop *loop;
	int fd;
	int calls;
	uint32_t events;
	struct watcher *victim;		/* deleted by this callback */
	struct watcher *replacement;	/* added on the victim's fd */
	bool del_self;
	bool stop;
};

static int ready_fd(void)
{
	int fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(fd >= 0);
	return fd;
}

static void watcher_cb(void *opaque, uint32_t events)
{
	struct watcher *w = opaque;

	w->calls++;
	w->events = events;
	if (w->del_self)
		assert_int_equal(vmsg_loop_del(w->loop, w->fd), 0);
	if (w->victim)
		assert_int_equal(vmsg_loop_del(w->loop, w->victim->fd), 0);
	if (w->replacement)
		assert_int_equal(vmsg_loop_add(w->loop, w->replacement->fd,
					       EPOLLIN, watcher_cb,
					       w->replacement), 0);
	if (w->stop)
		vmsg_loop_stop(w->loop);
}

static int setup(void **state)
{
	struct vmsg_loop *loop = vmsg_loop_new();

	*state = loop;
	return loop ? 0 : -1;
}

static int teardown(void **state)
{
	vmsg_loop_free(*state);
	return 0;
}

static void watch(struct vmsg_loop *loop, struct watcher *w, int fd)
{
	w->loop = loop;
	w->fd = fd;
	assert_int_equal(vmsg_loop_add(loop, fd, EPOLLIN, watcher_cb, w), 0);
}

static void test_dispatch(void **state)
{
	struct vmsg_loop *loop = *state;
	struct watcher w = { 0 };
	int fd = ready_fd();

	watch(loop, &w, fd);
	assert_int_equal(vmsg_loop_run_once(loop, 0), 1);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.events, EPOLLIN);
	assert_int_equal(vmsg_loop_del(loop, fd), 0);
	assert_int_equal(vmsg_loop_run_once(loop, 0), 0);
	assert_int_equal(w.calls, 1);
	close(fd);
}

static void test_nothing_ready(void **state)
{
	assert_int_equal(vmsg_loop_run_once(*state, 0), 0);
	assert_int_equal(vmsg_loop_run_once(*state, 10), 0);
}

static void test_registration_errors(void **state)
{
	struct vmsg_loop *loop = *state;
	struct watcher w = { 0 };
	int fd = ready_fd();

	watch(loop, &w, fd);
	assert_int_equal(vmsg_loop_add(loop, fd, EPOLLIN, watcher_cb, &w),
			 -EEXIST);
	assert_int_equal(vmsg_loop_add(loop, -1, EPOLLIN, watcher_cb, &w),
			 -EINVAL);
	assert_int_equal(vmsg_loop_add(loop, fd + 1000, EPOLLIN, watcher_cb,
				       &w), -EBADF);
	assert_int_equal(vmsg_loop_mod(loop, fd + 1, EPOLLIN), -ENOENT);
	assert_int_equal(vmsg_loop_del(loop, fd + 1), -ENOENT);
	assert_int_equal(vmsg_loop_del(loop, fd), 0);
	assert_int_equal(vmsg_loop_del(loop, fd), -ENOENT);
	close(fd);
}

static void test_mod(void **state)
{
	struct vmsg_loop *loop = *state;
	struct watcher w = { 0 };
	int fd = ready_fd();

	watch(loop, &w, fd);
	assert_int_equal(vmsg_loop_mod(loop, fd, EPOLLOUT), 0);
	assert_int_equal(vmsg_loop_run_once(loop, 0), 1);
	assert_int_equal(w.events, EPOLLOUT);
	assert_int_equal(vmsg_loop_mod(loop, fd, 0), 0);
	assert_int_equal(vmsg_loop_run_once(loop, 0), 0);
	assert_int_equal(w.calls, 1);
	close(fd);
}

static void test_del_self(void **state)
{
	struct vmsg_loop *loop = *state;
	struct watcher w = { .del_self = true };
	int fd = ready_fd();

	watch(loop, &w, fd);
	assert_int_equal(vmsg_loop_run_once(loop, 0), 1);
	assert_int_equal(vmsg_loop_run_once(loop, 0), 0);
	assert_int_equal(w.calls, 1);
	/* The fd can be registered again afterwards. */
	w.del_self = false;
	watch(loop, &w, fd);
	assert_int_equal(vmsg_loop_run_once(loop, 0), 1);
	close(fd);
}

/*
 * Both fds are ready in one round; whichever runs first removes the other,
 * whose event is then still in the round's array and must be skipped.
 */
static void test_del_other_in_same_round(void **state)
{
	struct vmsg_loop *loop = *state;
	struct watcher a = { 0 }, b = { 0 };
	int fa = ready_fd(), fb = ready_fd();

	a.victim = &b;
	b.victim = &a;
	watch(loop, &a, fa);
	watch(loop, &b, fb);
	assert_int_equal(vmsg_loop_run_once(loop, 0), 1);
	assert_int_equal(a.calls + b.calls, 1);
	/* Level-triggered: only the survivor runs again. */
	a.victim = b.victim = NULL;
	assert_int_equal(vmsg_loop_run_once(loop, 0), 1);
	assert_true(a.calls == 2 || b.calls == 2);
	close(fa);
	close(fb);
}

/*
 * As above, but the first callback also registers a new watch on the
 * removed fd: the stale event must not reach the new watch either.
 */
static void test_del_and_readd_in_same_round(void **state)
{
	struct vmsg_loop *loop = *state;
	struct watcher a = { 0 }, b = { 0 }, ra = { 0 }, rb = { 0 };
	int fa = ready_fd(), fb = ready_fd();

	watch(loop, &a, fa);
	watch(loop, &b, fb);
	a.victim = &b;
	a.replacement = &rb;
	rb.loop = loop;
	rb.fd = fb;
	b.victim = &a;
	b.replacement = &ra;
	ra.loop = loop;
	ra.fd = fa;
	assert_int_equal(vmsg_loop_run_once(loop, 0), 1);
	assert_int_equal(a.calls + b.calls, 1);
	assert_int_equal(ra.calls + rb.calls, 0);
	/* Next round the replacement sees the (still ready) fd. */
	a.victim = b.victim = a.replacement = b.replacement = NULL;
	assert_int_equal(vmsg_loop_run_once(loop, 0), 2);
	assert_int_equal(ra.calls + rb.calls, 1);
	close(fa);
	close(fb);
}

/* The owner closed the fd first: del still forgets the watch. */
static void test_del_after_close(void **state)
{
	struct vmsg_loop *loop = *state;
	struct watcher w = { 0 };
	int fd = ready_fd();

	watch(loop, &w, fd);
	close(fd);
	assert_int_equal(vmsg_loop_del(loop, fd), 0);
	assert_int_equal(vmsg_loop_del(loop, fd), -ENOENT);
}

static void test_run_stop(void **state)
{
	struct vmsg_loop *loop = *state;
	struct watcher w = { .stop = true };
	int fd = ready_fd();

	watch(loop, &w, fd);
	assert_int_equal(vmsg_loop_run(loop), 0);
	assert_int_equal(w.calls, 1);
	/* stop is one-shot: a second run runs again. */
	assert_int_equal(vmsg_loop_run(loop), 0);
	assert_int_equal(w.calls, 2);
	close(fd);
}

/* Freeing a loop with watches still registered releases them (LSan). */
static void test_free_with_watches(void **state)
{
	struct vmsg_loop *loop = vmsg_loop_new();
	struct watcher w = { 0 };
	int fd = ready_fd();

	assert_non_null(loop);
	watch(loop, &w, fd);
	vmsg_loop_free(loop);
	vmsg_loop_free(NULL);
	close(fd);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dispatch),
		T(test_nothing_ready),
		T(test_registration_errors),
		T(test_mod),
		T(test_del_self),
		T(test_del_other_in_same_round),
		T(test_del_and_readd_in_same_round),
		T(test_del_after_close),
		T(test_run_stop),
		cmocka_unit_test(test_free_with_watches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
