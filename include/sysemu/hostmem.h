/*
 * Memory backends: guest RAM created with -object memory-backend-*.
 *
 *   -object memory-backend-ram,id=ID,size=SIZE[,share=on|off][,prealloc=on|off]
 *   -object memory-backend-memfd,id=ID,size=SIZE[,share=on|off][,prealloc=on|off]
 *        (a memfd; share defaults to on, as in QEMU)
 *   -object memory-backend-file,id=ID,size=SIZE,mem-path=PATH[,share=on|off]
 *        [,prealloc=on|off]
 *
 * The backend's RAM region is created when the object is completed; the
 * machine maps it (memory-backend=ID), a device may too.  The region's name
 * (and RAM block id) is the backend's id.
 *
 * Threading: main loop thread only.
 */
#ifndef SYSEMU_HOSTMEM_H
#define SYSEMU_HOSTMEM_H

#include "qom/object.h"
#include "exec/memory.h"

#define TYPE_MEMORY_BACKEND "memory-backend"
#define TYPE_MEMORY_BACKEND_RAM "memory-backend-ram"
#define TYPE_MEMORY_BACKEND_MEMFD "memory-backend-memfd"
#define TYPE_MEMORY_BACKEND_FILE "memory-backend-file"

OBJECT_DECLARE_TYPE(HostMemoryBackend, HostMemoryBackendClass, MEMORY_BACKEND)

struct HostMemoryBackendClass {
    ObjectClass parent_class;
    /* Create backend->mr (size, share, prealloc are set). */
    bool (*alloc)(HostMemoryBackend *backend, Error **errp);
};

struct HostMemoryBackend {
    Object parent_obj;

    /* size= in bytes (required, > 0). */
    uint64_t size;
    /* share=: MAP_SHARED (RAM_SHARED). */
    bool share;
    /* prealloc=: touch every page at creation. */
    bool prealloc;
    /* reserve=off: RAM_NORESERVE. */
    bool reserve;
    /* memory-backend-file's mem-path=; owned. */
    char *mem_path;
    /* The RAM region, valid once completed. */
    MemoryRegion mr;
    /* alloc succeeded. */
    bool completed;
    /* A machine or device maps the region (memory-backend=): it cannot be used twice. */
    bool mapped;
};

/* The backend's region, or NULL before it is completed. */
MemoryRegion *host_memory_backend_get_memory(HostMemoryBackend *backend);
bool host_memory_backend_is_mapped(HostMemoryBackend *backend);
void host_memory_backend_set_mapped(HostMemoryBackend *backend, bool mapped);

#endif /* SYSEMU_HOSTMEM_H */
