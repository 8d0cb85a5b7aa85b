/*
 * Attributes of a memory transaction and the result of one.
 */
#ifndef EXEC_MEMATTRS_H
#define EXEC_MEMATTRS_H

#include "qemu/osdep.h"

/*
 * Side information carried by every access, passed by value.  A bus master
 * that knows nothing special about its access uses MEMTXATTRS_UNSPECIFIED.
 */
typedef struct MemTxAttrs {
    /*
     * Set when the initiator did not fill any attribute in: IOMMU models
     * then fall back to their defaults instead of trusting zeroed fields.
     */
    unsigned int unspecified:1;
    /* Secure-world access (TrustZone-like models); 0 elsewhere. */
    unsigned int secure:1;
    /* Access made with user (unprivileged) rights. */
    unsigned int user:1;
    /* Debugger access (qtest, gdbstub): may write ROM, never faults. */
    unsigned int debug:1;
    /*
     * PCI requester ID (bus << 8 | devfn) of a DMA master, so an IOMMU can
     * pick the right translation context; 0 for CPU accesses.
     */
    unsigned int requester_id:16;
    /* Process address space ID for PASID-tagged DMA; 0 when absent. */
    unsigned int pid:20;
} MemTxAttrs;

#define MEMTXATTRS_UNSPECIFIED ((MemTxAttrs) { .unspecified = 1 })

/*
 * The outcome of a transaction, a bit mask so the results of the pieces of a
 * split access can be OR-ed together: MEMTX_OK (0) only if every piece
 * succeeded.
 */
typedef uint32_t MemTxResult;

#define MEMTX_OK 0
/* The device (or IOMMU) reported an error for this access. */
#define MEMTX_ERROR (1U << 0)
/* Nothing decodes this address, or the region refused the access shape. */
#define MEMTX_DECODE_ERROR (1U << 1)
/* The access was blocked by permissions (an IOMMU or a re-entrancy guard). */
#define MEMTX_ACCESS_ERROR (1U << 2)

#endif /* EXEC_MEMATTRS_H */
