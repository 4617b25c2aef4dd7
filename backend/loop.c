// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's event loop: epoll with one registration struct per watched fd.
 *
 * epoll hands back the registration, not the fd, so a watch that a callback
 * removes while the events of the same round are being dispatched is only
 * marked dead; it is skipped if its event comes later in the round and freed
 * once the round is over. That is what makes vmsg_loop_del() safe from any
 * callback, including the watch's own. This is not a timer wheel and not
 * thread-safe: everything runs on the daemon's one thread.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

#define VMSG_LOOP_EVENTS	64

struct vmsg_watch {
	int fd;
	bool dead;
	vmsg_loop_cb cb;
	void *opaque;
	struct vmsg_watch *next;
};

struct vmsg_loop {
	int epfd;
	bool stop;
	bool dispatching;
	struct vmsg_watch *live;	/* registered watches */
	struct vmsg_watch *dead;	/* removed during a dispatch round */
};

struct vmsg_loop *vmsg_loop_new(void)
{
	struct vmsg_loop *loop = calloc(1, sizeof(*loop));
	int err;

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		err = errno;
		free(loop);
		errno = err;
		return NULL;
	}
	return loop;
}

static void vmsg_watch_free_list(struct vmsg_watch *w)
{
	struct vmsg_watch *next;

	for (; w; w = next) {
		next = w->next;
		free(w);
	}
}

void vmsg_loop_free(struct vmsg_loop *loop)
{
	if (!loop)
		return;
	vmsg_watch_free_list(loop->live);
	vmsg_watch_free_list(loop->dead);
	close(loop->epfd);
	free(loop);
}

/* The link pointing at fd's live watch, or NULL. */
static struct vmsg_watch **vmsg_loop_find(struct vmsg_loop *loop, int fd)
{
	struct vmsg_watch **link;

	for (link = &loop->live; *link; link = &(*link)->next)
		if ((*link)->fd == fd)
			return link;
	return NULL;
}

int vmsg_loop_add(struct vmsg_loop *loop, int fd, uint32_t events,
		  vmsg_loop_cb cb, void *opaque)
{
	struct epoll_event ev = { .events = events };
	struct vmsg_watch *w;

	if (fd < 0 || !cb)
		return -EINVAL;
	if (vmsg_loop_find(loop, fd))
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->cb = cb;
	w->opaque = opaque;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(w);
		return err;
	}
	w->next = loop->live;
	loop->live = w;
	return 0;
}

int vmsg_loop_mod(struct vmsg_loop *loop, int fd, uint32_t events)
{
	struct vmsg_watch **link = vmsg_loop_find(loop, fd);
	struct epoll_event ev = { .events = events };

	if (!link)
		return -ENOENT;
	ev.data.ptr = *link;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int vmsg_loop_del(struct vmsg_loop *loop, int fd)
{
	struct vmsg_watch **link = vmsg_loop_find(loop, fd);
	struct vmsg_watch *w;

	if (!link)
		return -ENOENT;
	w = *link;
	*link = w->next;
	/*
	 * Fails only if the owner already closed fd, which removed it from
	 * the epoll set anyway: the watch is gone either way.
	 */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (!loop->dispatching) {
		free(w);
		return 0;
	}
	w->dead = true;
	w->next = loop->dead;
	loop->dead = w;
	return 0;
}

static int vmsg_loop_dispatch(struct vmsg_loop *loop,
			      const struct epoll_event *evs, int n)
{
	int i, ran = 0;

	loop->dispatching = true;
	for (i = 0; i < n; i++) {
		struct vmsg_watch *w = evs[i].data.ptr;

		if (w->dead)
			continue;
		w->cb(w->opaque, evs[i].events);
		ran++;
	}
	loop->dispatching = false;
	vmsg_watch_free_list(loop->dead);
	loop->dead = NULL;
	return ran;
}

int vmsg_loop_run_once(struct vmsg_loop *loop, int timeout_ms)
{
	struct epoll_event evs[VMSG_LOOP_EVENTS];
	int n;

	n = epoll_wait(loop->epfd, evs, VMSG_LOOP_EVENTS, timeout_ms);
	if (n < 0)
		return -errno;
	return vmsg_loop_dispatch(loop, evs, n);
}

int vmsg_loop_run(struct vmsg_loop *loop)
{
	int ret = 0;

	while (!loop->stop) {
		ret = vmsg_loop_run_once(loop, -1);
		if (ret < 0 && ret != -EINTR)
			break;
		ret = 0;
	}
	loop->stop = false;
	return ret;
}

void vmsg_loop_stop(struct vmsg_loop *loop)
{
	loop->stop = true;
}
