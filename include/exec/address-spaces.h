/*
 * The machine's two root address spaces: memory and (x86-style) I/O ports.
 */
#ifndef EXEC_ADDRESS_SPACES_H
#define EXEC_ADDRESS_SPACES_H

#include "exec/memory.h"

/*
 * Create the "system" container (2^64 bytes), the "io" container (64 KiB)
 * and the address spaces showing them.  Idempotent; the getters below call
 * it, so the globals are valid once either getter has run.
 */
void memory_map_init(void);
/*
 * Undo memory_map_init() (tests and orderly exit): destroys both address
 * spaces, unparents both containers.  Their subregions are detached, not
 * finalised: their creators still hold them.
 */
void memory_map_cleanup(void);

/* The root container of guest physical memory. */
MemoryRegion *get_system_memory(void);
/* The root container of the I/O port space. */
MemoryRegion *get_system_io(void);

/* Guest physical memory as CPUs and DMA without an IOMMU see it. */
extern AddressSpace address_space_memory;
/* The I/O port space. */
extern AddressSpace address_space_io;

#endif /* EXEC_ADDRESS_SPACES_H */
