/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The unit tests' bus: a struct vmsg_bus whose shared region is ordinary
 * memory (a memfd, mapped once) and whose "driver side" is the test itself.
 *
 * Messages the device side sends are queued here in order; the test reads
 * them with vmsg_testbus_call() (which returns the response to its request)
 * or vmsg_testbus_next_event(). The test can also write any bytes into the
 * region and inject any bytes as a message, which is how hostile peers are
 * played.
 */
#ifndef VMSG_TESTBUS_H
#define VMSG_TESTBUS_H

#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_msg.h>

#include "bus.h"

#define VMSG_TESTBUS_QUEUE	1024	/* captured messages kept */

struct vmsg_testbus {
	struct vmsg_bus bus;		/* bus.region.base is the test's view too */
	struct vmsg_loop *loop;		/* owned: run for async device work */
	uint16_t next_token;
	/* ring of captured device->driver messages */
	unsigned int head, tail;
	size_t lens[VMSG_TESTBUS_QUEUE];
	uint8_t msgs[VMSG_TESTBUS_QUEUE][VIRTIO_MSG_MAX_SIZE];
	uint64_t overflowed;		/* messages lost to a full queue */
	int send_error;			/* if nonzero, send() fails with it */
};

/* region_size a multiple of the page size; NULL on failure. */
struct vmsg_testbus *vmsg_testbus_new(size_t region_size, size_t max_msg_size);
void vmsg_testbus_free(struct vmsg_testbus *tb);

/*
 * Send a request (type VIRTIO_MSG_TYPE_BUS or 0, msg_id, dev_num, payload)
 * through vmsg_bus_receive() and wait, running the loop for up to
 * timeout_ms, for the response with the same token. Events that arrive
 * first stay queued. Copies at most *resp_len payload bytes into resp and
 * sets *resp_len to the payload size received. 0, -ETIMEDOUT if no response,
 * -EPROTO if the response's header does not echo the request.
 */
int vmsg_testbus_call(struct vmsg_testbus *tb, uint8_t type, uint8_t msg_id,
		      uint16_t dev_num, const void *payload, size_t plen,
		      void *resp, size_t *resp_len, int timeout_ms);

/* Send an event (no response expected): EVENT_AVAIL etc. Returns vmsg_bus_receive()'s result. */
int vmsg_testbus_event(struct vmsg_testbus *tb, uint8_t msg_id, uint16_t dev_num,
		       const void *payload, size_t plen);

/* Hand raw bytes to vmsg_bus_receive(), exactly as given. */
int vmsg_testbus_inject(struct vmsg_testbus *tb, const void *msg, size_t len);

/*
 * Take the oldest queued message that is not a response (an event), running
 * the loop up to timeout_ms while none is queued. Copies the whole message
 * (header included) into buf (VIRTIO_MSG_MAX_SIZE bytes). Returns its length,
 * or 0 if none arrived.
 */
size_t vmsg_testbus_next_event(struct vmsg_testbus *tb, void *buf,
			       int timeout_ms);

/* Number of queued messages not yet taken. */
unsigned int vmsg_testbus_pending(const struct vmsg_testbus *tb);
/* Drop every queued message. */
void vmsg_testbus_flush(struct vmsg_testbus *tb);

#endif /* VMSG_TESTBUS_H */
