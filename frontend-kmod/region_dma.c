// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-msg transport: the shared region and the bus device's DMA ops.
 *
 * Each bus gives the transport one shared region. The transport creates a
 * struct device per bus, the parent of that bus's virtio devices, whose
 * dma_map_ops keep every ring and buffer inside the region: coherent memory
 * is allocated from it, streaming mappings are bounced through it (copied
 * in at map time, out at unmap/sync for the CPU). A DMA handle, the
 * address the device side sees, is the byte offset into the region; the
 * first page is never handed out, so 0 is never a valid address. The
 * allocator is a gen_pool (lockless, usable in atomic context); what was
 * mapped where is recorded in an xarray in kernel memory, never in the
 * shared region, and every handle the driver gives back is checked against
 * it. This file does not map anything else: map_resource is unsupported.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-map-ops.h>
#include <linux/genalloc.h>
#include <linux/highmem.h>
#include <linux/log2.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "transport_internal.h"

/* Allocation granule of the pool: 64 bytes. */
#define VMSG_POOL_ORDER		6
/* Largest streaming mapping: bounds virtio_blk's segments. */
#define VMSG_MAX_MAP		SZ_256K

/**
 * struct vmsg_region - the region of one bus
 * @dev: the bus device: parent of its virtio devices, DMA ops
 * @pool: allocator over the region minus its first page
 * @base: kernel mapping of the region
 * @size: its size
 * @max_map: largest streaming mapping
 * @dma_mask: storage for dev.dma_mask
 * @maps: handle >> VMSG_POOL_ORDER -> struct vmsg_map
 */
struct vmsg_region {
	struct device dev;
	struct gen_pool *pool;
	void *base;
	size_t size;
	size_t max_map;
	u64 dma_mask;
	struct xarray maps;
};

/**
 * struct vmsg_map - one allocation in the region
 * @orig: physical address of the driver's buffer (streaming only)
 * @size: size asked for (coherent: page aligned)
 * @dir: DMA direction (streaming only)
 * @coherent: from dma_alloc_coherent()
 * @rcu: freed after a grace period, for lockless sync lookups
 */
struct vmsg_map {
	phys_addr_t orig;
	size_t size;
	enum dma_data_direction dir;
	bool coherent;
	struct rcu_head rcu;
};

static struct vmsg_region *to_region(struct device *dev)
{
	return container_of(dev, struct vmsg_region, dev);
}

/**
 * vmsg_region_ptr() - kernel address of a range of the region
 * @t: the bus
 * @addr: bus address (offset into the region), e.g. from a descriptor
 * @len: length of the range
 *
 * Return: the kernel address, or NULL if the range is not inside the
 * region (overflow-safe, for addresses read from shared memory).
 */
void *vmsg_region_ptr(struct virtio_msg_transport *t, u64 addr, u64 len)
{
	struct vmsg_region *r = t->region;

	if (addr >= r->size || len > r->size - addr)
		return NULL;
	return r->base + addr;
}

/* Allocate from the pool; returns the handle or DMA_MAPPING_ERROR. */
static dma_addr_t vmsg_pool_get(struct vmsg_region *r, size_t size,
				size_t align)
{
	struct genpool_data_align data = { .align = align };
	unsigned long va;

	va = gen_pool_alloc_algo(r->pool, size, gen_pool_first_fit_align,
				 &data);
	if (!va)
		return DMA_MAPPING_ERROR;
	return va - (unsigned long)r->base;
}

static void vmsg_pool_put(struct vmsg_region *r, dma_addr_t handle,
			  size_t size)
{
	gen_pool_free(r->pool, (unsigned long)r->base + handle, size);
}

static int vmsg_map_insert(struct vmsg_region *r, dma_addr_t handle,
			   struct vmsg_map *m)
{
	unsigned long flags;
	int err;

	xa_lock_irqsave(&r->maps, flags);
	err = __xa_insert(&r->maps, handle >> VMSG_POOL_ORDER, m, GFP_ATOMIC);
	xa_unlock_irqrestore(&r->maps, flags);
	return err;
}

/* Remove and return the record of @handle if it is of the expected kind. */
static struct vmsg_map *vmsg_map_take(struct vmsg_region *r,
				      dma_addr_t handle, bool coherent)
{
	unsigned long idx = handle >> VMSG_POOL_ORDER;
	struct vmsg_map *m = NULL;
	unsigned long flags;

	if (handle >= r->size || handle & ((1 << VMSG_POOL_ORDER) - 1))
		return NULL;
	xa_lock_irqsave(&r->maps, flags);
	m = xa_load(&r->maps, idx);
	if (m && m->coherent == coherent)
		__xa_erase(&r->maps, idx);
	else
		m = NULL;
	xa_unlock_irqrestore(&r->maps, flags);
	return m;
}

/*
 * Find the streaming mapping containing @handle (syncs may name an offset
 * inside it). Mappings are at most max_map bytes, so the walk back is
 * bounded. Caller holds rcu_read_lock().
 */
static struct vmsg_map *vmsg_map_find(struct vmsg_region *r,
				      dma_addr_t handle, dma_addr_t *start)
{
	unsigned long idx = handle >> VMSG_POOL_ORDER;
	unsigned long steps = r->max_map >> VMSG_POOL_ORDER;
	struct vmsg_map *m;

	if (handle >= r->size)
		return NULL;
	for (; steps && idx; steps--, idx--) {
		m = xa_load(&r->maps, idx);
		if (!m)
			continue;
		*start = (dma_addr_t)idx << VMSG_POOL_ORDER;
		if (m->coherent || handle - *start >= m->size)
			return NULL;
		return m;
	}
	return NULL;
}

/* Copy between the driver's buffer and the bounce buffer, page by page. */
static void vmsg_bounce(phys_addr_t orig, void *buf, size_t size,
			bool to_device)
{
	struct page *page;
	size_t off, n;

	while (size) {
		page = pfn_to_page(PHYS_PFN(orig));
		off = offset_in_page(orig);
		n = min_t(size_t, size, PAGE_SIZE - off);
		if (to_device)
			memcpy_from_page(buf, page, off, n);
		else
			memcpy_to_page(page, off, buf, n);
		orig += n;
		buf += n;
		size -= n;
	}
}

static bool vmsg_to_device(enum dma_data_direction dir)
{
	return dir == DMA_TO_DEVICE || dir == DMA_BIDIRECTIONAL;
}

static bool vmsg_from_device(enum dma_data_direction dir)
{
	return dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL;
}

/* Bounce buffers: page aligned from a page up, so block I/O stays aligned */
static size_t vmsg_bounce_align(size_t size)
{
	return clamp_t(size_t, roundup_pow_of_two(size),
		       1 << VMSG_POOL_ORDER, PAGE_SIZE);
}

static dma_addr_t vmsg_map_page(struct device *dev, struct page *page,
				unsigned long offset, size_t size,
				enum dma_data_direction dir,
				unsigned long attrs)
{
	struct vmsg_region *r = to_region(dev);
	struct vmsg_map *m;
	dma_addr_t handle;

	if (!valid_dma_direction(dir) || !size || size > r->max_map)
		return DMA_MAPPING_ERROR;
	m = kmalloc(sizeof(*m), GFP_ATOMIC);
	if (!m)
		return DMA_MAPPING_ERROR;
	m->orig = page_to_phys(page) + offset;
	m->size = size;
	m->dir = dir;
	m->coherent = false;

	handle = vmsg_pool_get(r, size, vmsg_bounce_align(size));
	if (handle == DMA_MAPPING_ERROR)
		goto err_free;
	if (vmsg_map_insert(r, handle, m))
		goto err_put;
	/*
	 * Copy in whatever the direction (as swiotlb does): a device that
	 * writes less than the whole buffer must not hand the driver stale
	 * pool contents.
	 */
	vmsg_bounce(m->orig, r->base + handle, size, true);
	return handle;

err_put:
	vmsg_pool_put(r, handle, size);
err_free:
	kfree(m);
	return DMA_MAPPING_ERROR;
}

static void vmsg_unmap_page(struct device *dev, dma_addr_t handle,
			    size_t size, enum dma_data_direction dir,
			    unsigned long attrs)
{
	struct vmsg_region *r = to_region(dev);
	struct vmsg_map *m;

	m = vmsg_map_take(r, handle, false);
	if (!m) {
		dev_err_ratelimited(dev, "unmap of unknown handle %pad\n",
				    &handle);
		return;
	}
	if (size != m->size)
		dev_err_ratelimited(dev, "unmap %pad: size %zu, mapped %zu\n",
				    &handle, size, m->size);
	if (!(attrs & DMA_ATTR_SKIP_CPU_SYNC) && vmsg_from_device(m->dir))
		vmsg_bounce(m->orig, r->base + handle, m->size, false);
	vmsg_pool_put(r, handle, m->size);
	kfree_rcu(m, rcu);
}

static void vmsg_sync(struct device *dev, dma_addr_t handle, size_t size,
		      bool to_device)
{
	struct vmsg_region *r = to_region(dev);
	struct vmsg_map *m;
	dma_addr_t start;

	rcu_read_lock();
	m = vmsg_map_find(r, handle, &start);
	if (m && size <= m->size - (handle - start)) {
		if (to_device ? vmsg_to_device(m->dir) :
				vmsg_from_device(m->dir))
			vmsg_bounce(m->orig + (handle - start),
				    r->base + handle, size, to_device);
	} else {
		dev_err_ratelimited(dev, "sync of unknown range %pad+%zu\n",
				    &handle, size);
	}
	rcu_read_unlock();
}

static void vmsg_sync_single_for_cpu(struct device *dev, dma_addr_t handle,
				     size_t size, enum dma_data_direction dir)
{
	vmsg_sync(dev, handle, size, false);
}

static void vmsg_sync_single_for_device(struct device *dev,
					dma_addr_t handle, size_t size,
					enum dma_data_direction dir)
{
	vmsg_sync(dev, handle, size, true);
}

static void vmsg_sync_sg_for_cpu(struct device *dev, struct scatterlist *sgl,
				 int nents, enum dma_data_direction dir)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		vmsg_sync(dev, sg_dma_address(sg), sg_dma_len(sg), false);
}

static void vmsg_sync_sg_for_device(struct device *dev,
				    struct scatterlist *sgl, int nents,
				    enum dma_data_direction dir)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		vmsg_sync(dev, sg_dma_address(sg), sg_dma_len(sg), true);
}

static void vmsg_unmap_sg(struct device *dev, struct scatterlist *sgl,
			  int nents, enum dma_data_direction dir,
			  unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		vmsg_unmap_page(dev, sg_dma_address(sg), sg_dma_len(sg), dir,
				attrs);
}

static int vmsg_map_sg(struct device *dev, struct scatterlist *sgl,
		       int nents, enum dma_data_direction dir,
		       unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		sg->dma_address = vmsg_map_page(dev, sg_page(sg), sg->offset,
						sg->length, dir, attrs);
		if (sg->dma_address == DMA_MAPPING_ERROR)
			goto err_unmap;
		sg_dma_len(sg) = sg->length;
	}
	return nents;

err_unmap:
	vmsg_unmap_sg(dev, sgl, i, dir, attrs | DMA_ATTR_SKIP_CPU_SYNC);
	return -ENOMEM;
}

static void *vmsg_alloc(struct device *dev, size_t size,
			dma_addr_t *dma_handle, gfp_t gfp, unsigned long attrs)
{
	struct vmsg_region *r = to_region(dev);
	struct vmsg_map *m;
	dma_addr_t handle;

	size = PAGE_ALIGN(size);
	if (!size)
		return NULL;
	m = kzalloc(sizeof(*m), gfpflags_allow_blocking(gfp) ?
				GFP_KERNEL : GFP_ATOMIC);
	if (!m)
		return NULL;
	m->size = size;
	m->coherent = true;

	handle = vmsg_pool_get(r, size, PAGE_SIZE);
	if (handle == DMA_MAPPING_ERROR)
		goto err_free;
	if (vmsg_map_insert(r, handle, m))
		goto err_put;
	memset(r->base + handle, 0, size);
	*dma_handle = handle;
	return r->base + handle;

err_put:
	vmsg_pool_put(r, handle, size);
err_free:
	kfree(m);
	return NULL;
}

static void vmsg_free(struct device *dev, size_t size, void *vaddr,
		      dma_addr_t handle, unsigned long attrs)
{
	struct vmsg_region *r = to_region(dev);
	struct vmsg_map *m;

	m = vmsg_map_take(r, handle, true);
	if (!m || vaddr != r->base + handle ||
	    PAGE_ALIGN(size) != m->size) {
		/* Leak rather than free what may be someone else's. */
		dev_err_ratelimited(dev, "bad coherent free of %pad\n",
				    &handle);
		if (m)
			vmsg_map_insert(r, handle, m);
		return;
	}
	vmsg_pool_put(r, handle, m->size);
	kfree_rcu(m, rcu);
}

static size_t vmsg_max_mapping_size(struct device *dev)
{
	return to_region(dev)->max_map;
}

static int vmsg_dma_supported(struct device *dev, u64 mask)
{
	return mask >= to_region(dev)->size - 1;
}

static const struct dma_map_ops vmsg_dma_ops = {
	.alloc			= vmsg_alloc,
	.free			= vmsg_free,
	.map_page		= vmsg_map_page,
	.unmap_page		= vmsg_unmap_page,
	.map_sg			= vmsg_map_sg,
	.unmap_sg		= vmsg_unmap_sg,
	.sync_single_for_cpu	= vmsg_sync_single_for_cpu,
	.sync_single_for_device	= vmsg_sync_single_for_device,
	.sync_sg_for_cpu	= vmsg_sync_sg_for_cpu,
	.sync_sg_for_device	= vmsg_sync_sg_for_device,
	.dma_supported		= vmsg_dma_supported,
	.max_mapping_size	= vmsg_max_mapping_size,
};

static void vmsg_region_release(struct device *dev)
{
	struct vmsg_region *r = to_region(dev);

	if (r->pool)
		gen_pool_destroy(r->pool);
	xa_destroy(&r->maps);
	kfree(r);
}

static int vmsg_region_pool(struct vmsg_region *r)
{
	r->pool = gen_pool_create(VMSG_POOL_ORDER, NUMA_NO_NODE);
	if (!r->pool)
		return -ENOMEM;
	return gen_pool_add(r->pool, (unsigned long)r->base + PAGE_SIZE,
			    r->size - PAGE_SIZE, NUMA_NO_NODE);
}

/**
 * vmsg_region_create() - set up the region and the bus device
 * @t: the bus; t->region and t->dev are set on success
 * @groups: sysfs attribute groups of the bus device (drvdata is @t)
 *
 * Return: 0 or a negative errno.
 */
int vmsg_region_create(struct virtio_msg_transport *t,
		       const struct attribute_group **groups)
{
	struct virtio_msg_bus *bus = t->bus;
	struct vmsg_region *r;
	int err;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->base = bus->region;
	r->size = bus->region_size;
	r->max_map = clamp_t(size_t, r->size / 16, PAGE_SIZE, VMSG_MAX_MAP);
	xa_init_flags(&r->maps, XA_FLAGS_LOCK_IRQ);

	device_initialize(&r->dev);
	r->dev.release = vmsg_region_release;
	r->dev.parent = bus->parent;
	r->dev.class = vmsg_class;
	r->dev.groups = groups;
	r->dev.dma_mask = &r->dma_mask;
	dev_set_drvdata(&r->dev, t);
	set_dma_ops(&r->dev, &vmsg_dma_ops);

	err = vmsg_region_pool(r);
	if (!err)
		err = dma_set_mask_and_coherent(&r->dev, DMA_BIT_MASK(64));
	if (!err)
		err = dev_set_name(&r->dev, "%s", bus->name);
	if (!err)
		err = device_add(&r->dev);
	if (err) {
		put_device(&r->dev);
		return err;
	}
	t->region = r;
	t->dev = &r->dev;
	return 0;
}

/**
 * vmsg_region_destroy() - remove the bus device and free the allocator
 * @t: the bus, with no virtio device left
 *
 * If anything is still allocated (a driver leaked a mapping), the pool is
 * leaked rather than destroyed: gen_pool_destroy() would BUG.
 */
void vmsg_region_destroy(struct virtio_msg_transport *t)
{
	struct vmsg_region *r = t->region;

	if (gen_pool_avail(r->pool) != gen_pool_size(r->pool)) {
		dev_err(&r->dev, "%zu bytes still mapped: pool leaked\n",
			gen_pool_size(r->pool) - gen_pool_avail(r->pool));
		r->pool = NULL;
	}
	device_unregister(&r->dev);
	t->region = NULL;
	t->dev = NULL;
}
