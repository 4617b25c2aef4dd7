// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-msg Xen bus, guest side: the memory granted to the backend.
 *
 * For each connection the frontend grants, to the backend domain only, one
 * ring page (read-write), the region (read-write, one grant per 4 KiB page,
 * mapped here contiguously with vmap() so that the transport sees a single
 * buffer) and the directory pages that list the region's grant references
 * (read-only), as docs/xen-bus.md defines. Memory is fresh for every
 * connection. When a connection ends, access is revoked page by page; a
 * page the backend still maps is never freed or reused by us: it goes to
 * gnttab_end_foreign_access(), which frees it once the backend has unmapped
 * it, or leaks it with a warning (XSA-396). This file does not talk to
 * xenstore and knows nothing of the ring's contents.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <xen/page.h>

#include "vmsg_xen.h"

/* The bus is defined in 4 KiB pages; one kernel page must be one grant. */
static_assert(PAGE_SIZE == VMSG_XEN_PAGE_SIZE);
static_assert(XEN_PAGE_SIZE == VMSG_XEN_PAGE_SIZE);
static_assert(sizeof(struct vmsg_xen_ring_page) == VMSG_XEN_PAGE_SIZE);
static_assert(offsetof(struct vmsg_xen_ring_page, backend_alive) ==
	      VMSG_XEN_ALIVE_OFFSET);

/* Pages and vmap() of the region; the grants come later. */
static int vmsg_xen_region_alloc(struct vmsg_xen_shared *sh)
{
	unsigned int i;

	sh->pages = kvcalloc(sh->npages, sizeof(*sh->pages), GFP_KERNEL);
	sh->refs = kvmalloc_array(sh->npages, sizeof(*sh->refs), GFP_KERNEL);
	if (!sh->pages || !sh->refs)
		return -ENOMEM;
	for (i = 0; i < sh->npages; i++)
		sh->refs[i] = INVALID_GRANT_REF;
	for (i = 0; i < sh->npages; i++) {
		sh->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!sh->pages[i])
			return -ENOMEM;
	}
	sh->region = vmap(sh->pages, sh->npages, VM_MAP, PAGE_KERNEL);
	return sh->region ? 0 : -ENOMEM;
}

static int vmsg_xen_dir_alloc(struct vmsg_xen_shared *sh)
{
	unsigned int i;

	for (i = 0; i < sh->ndir; i++) {
		sh->dir_refs[i] = INVALID_GRANT_REF;
		sh->dir[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!sh->dir[i])
			return -ENOMEM;
	}
	return 0;
}

/* Claim one reference of a batch and grant @page with it. */
static int vmsg_xen_grant(grant_ref_t *head, domid_t domid,
			  struct page *page, bool readonly, grant_ref_t *ref)
{
	int r = gnttab_claim_grant_reference(head);

	if (r < 0)
		return r;
	gnttab_page_grant_foreign_access_ref_one(r, domid, page, readonly);
	*ref = r;
	return 0;
}

/* The directory lists the region's references in order, little endian. */
static void vmsg_xen_dir_fill(struct vmsg_xen_shared *sh)
{
	unsigned int i;
	__le32 *d;

	for (i = 0; i < sh->npages; i++) {
		d = page_address(sh->dir[i / VMSG_XEN_REFS_PER_DIR_PAGE]);
		d[i % VMSG_XEN_REFS_PER_DIR_PAGE] = cpu_to_le32(sh->refs[i]);
	}
}

/*
 * Grant every region page read-write, then the directory read-only. One
 * batch of references for everything, so running out of grant references
 * fails here at once instead of half way.
 */
static int vmsg_xen_grant_all(struct vmsg_xen_shared *sh, domid_t domid)
{
	grant_ref_t head;
	unsigned int i;
	int err;

	err = gnttab_alloc_grant_references(sh->npages + sh->ndir, &head);
	if (err)
		return err;
	for (i = 0; i < sh->npages && !err; i++)
		err = vmsg_xen_grant(&head, domid, sh->pages[i], false,
				     &sh->refs[i]);
	if (!err)
		vmsg_xen_dir_fill(sh);
	for (i = 0; i < sh->ndir && !err; i++)
		err = vmsg_xen_grant(&head, domid, sh->dir[i], true,
				     &sh->dir_refs[i]);
	/* Unclaimed references (none unless a claim failed) */
	gnttab_free_grant_references(head);
	return err;
}

/**
 * vmsg_xen_shared_alloc() - allocate and grant the memory of a connection
 * @xbdev: the xenbus device; the grants go to its backend domain
 * @sh: zeroed; filled in
 * @npages: region size in pages (2..VMSG_XEN_MAX_REGION_PAGES)
 *
 * On failure @sh must still be passed to vmsg_xen_shared_free().
 *
 * Return: 0 or a negative errno.
 */
int vmsg_xen_shared_alloc(struct xenbus_device *xbdev,
			  struct vmsg_xen_shared *sh, unsigned int npages)
{
	int err;

	sh->ring_ref = INVALID_GRANT_REF;
	sh->npages = npages;
	sh->ndir = DIV_ROUND_UP(npages, VMSG_XEN_REFS_PER_DIR_PAGE);
	if (!npages || sh->ndir > VMSG_XEN_MAX_DIR_PAGES)
		return -EINVAL;

	err = xenbus_setup_ring(xbdev, GFP_KERNEL, (void **)&sh->ring, 1,
				&sh->ring_ref);
	if (err)
		return err;
	err = vmsg_xen_region_alloc(sh);
	if (!err)
		err = vmsg_xen_dir_alloc(sh);
	if (!err)
		err = vmsg_xen_grant_all(sh, xbdev->otherend_id);
	return err;
}

/*
 * Revoke access to @page and free it. Returns false if the backend still
 * maps it: then Xen's deferred list owns the page (XSA-396).
 */
static bool vmsg_xen_end_access(grant_ref_t ref, struct page *page)
{
	if (!page)
		return true;
	if (ref == INVALID_GRANT_REF || gnttab_try_end_foreign_access(ref)) {
		__free_page(page);
		return true;
	}
	gnttab_end_foreign_access(ref, page);
	return false;
}

/**
 * vmsg_xen_shared_free() - revoke and free the memory of a connection
 * @xbdev: the xenbus device, for logs
 * @sh: as left by vmsg_xen_shared_alloc(), complete or not
 *
 * The transport must no longer use the region. Pages the backend still
 * maps are freed by the grant table code once it unmaps them, never before.
 */
void vmsg_xen_shared_free(struct xenbus_device *xbdev,
			  struct vmsg_xen_shared *sh)
{
	unsigned int i, busy = 0;

	for (i = 0; i < sh->ndir; i++)
		busy += !vmsg_xen_end_access(sh->dir_refs[i], sh->dir[i]);
	if (sh->region)
		vunmap(sh->region);
	for (i = 0; sh->pages && i < sh->npages; i++)
		busy += !vmsg_xen_end_access(sh->refs[i], sh->pages[i]);
	if (busy)
		dev_info(&xbdev->dev,
			 "%u pages still mapped: freed once unmapped\n", busy);
	kvfree(sh->pages);
	kvfree(sh->refs);
	/* Ends access with the same deferral if the ring is still mapped. */
	xenbus_teardown_ring((void **)&sh->ring, 1, &sh->ring_ref);
	memset(sh, 0, sizeof(*sh));
}
