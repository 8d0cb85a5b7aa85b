/*
 * Guest physical (and I/O virtual) addresses.
 */
#ifndef EXEC_HWADDR_H
#define EXEC_HWADDR_H

#include "qemu/osdep.h"

/*
 * An address in an AddressSpace or an offset inside a MemoryRegion.  Always
 * 64 bits wide, whatever the guest architecture, so one build serves every
 * machine.
 */
typedef uint64_t hwaddr;

#define HWADDR_BITS 64
/* The highest address: a range ending here (inclusive) covers 2^64 bytes. */
#define HWADDR_MAX UINT64_MAX

#define HWADDR_PRId PRId64
#define HWADDR_PRIi PRIi64
#define HWADDR_PRIo PRIo64
#define HWADDR_PRIu PRIu64
#define HWADDR_PRIx PRIx64
#define HWADDR_PRIX PRIX64
/* "0x" and 16 hex digits, for aligned columns in traces and dumps. */
#define HWADDR_FMT_plx "%016" PRIx64

#endif /* EXEC_HWADDR_H */
