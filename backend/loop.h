/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's single event loop: a thin wrapper around epoll.
 *
 * Buses and device models register the file descriptors they own with a
 * callback; nothing else in the daemon blocks. Callbacks may add and remove
 * watches (including their own) while the loop runs.
 */
#ifndef VMSG_LOOP_H
#define VMSG_LOOP_H

#include <stdint.h>

struct vmsg_loop;

/* events: EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits as delivered by epoll */
typedef void (*vmsg_loop_cb)(void *opaque, uint32_t events);

/* NULL with errno set on failure */
struct vmsg_loop *vmsg_loop_new(void);
void vmsg_loop_free(struct vmsg_loop *loop);

/* 0 or -errno. A fd may be registered once. */
int vmsg_loop_add(struct vmsg_loop *loop, int fd, uint32_t events,
		  vmsg_loop_cb cb, void *opaque);
int vmsg_loop_mod(struct vmsg_loop *loop, int fd, uint32_t events);
/* Safe from inside any callback; no callback for fd runs after it returns. */
int vmsg_loop_del(struct vmsg_loop *loop, int fd);

/*
 * Wait up to timeout_ms (-1: forever, 0: poll) and dispatch what is ready.
 * Returns the number of callbacks run, or -errno (-EINTR is returned too).
 */
int vmsg_loop_run_once(struct vmsg_loop *loop, int timeout_ms);

/* Run until vmsg_loop_stop() is called (e.g. from a signalfd callback). */
int vmsg_loop_run(struct vmsg_loop *loop);
void vmsg_loop_stop(struct vmsg_loop *loop);

#endif /* VMSG_LOOP_H */
