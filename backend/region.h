/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shared region of one bus instance, as the device side sees it.
 *
 * Every virtqueue and every buffer of every device on a bus lives in this one
 * region; a bus address is a byte offset into it. The driver side is
 * untrusted, so an address is only ever turned into a pointer by
 * vmsg_region_ptr(), after a bounds check; nothing here dereferences memory.
 */
#ifndef VMSG_REGION_H
#define VMSG_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmsg_region {
	uint8_t *base;		/* device-side mapping */
	uint64_t size;		/* bytes */
	uint64_t min_addr;	/* lowest valid bus address (the first page) */
	int fd;			/* backing file descriptor, or -1 */
};

/*
 * Pointer to [addr, addr + len) in the region, or NULL if any byte of it lies
 * outside [min_addr, size) or the range wraps. len 0 is treated as 1 byte, so
 * an empty buffer still has to point inside the region.
 */
static inline void *vmsg_region_ptr(const struct vmsg_region *r, uint64_t addr,
				    uint64_t len)
{
	if (!len)
		len = 1;
	if (addr < r->min_addr || addr >= r->size || len > r->size - addr)
		return NULL;
	return r->base + addr;
}

static inline bool vmsg_region_valid(const struct vmsg_region *r,
				     uint64_t addr, uint64_t len)
{
	return vmsg_region_ptr(r, addr, len) != NULL;
}

#endif /* VMSG_REGION_H */
