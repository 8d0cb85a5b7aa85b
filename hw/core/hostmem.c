/*
 * Memory backends: -object memory-backend-{ram,memfd,file} (include/sysemu/hostmem.h).
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "qapi/error.h"
#include "exec/ramblock.h"
#include "hw/qdev-properties.h"
#include "sysemu/hostmem.h"
#include "trace/trace-hw_core.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

MemoryRegion *host_memory_backend_get_memory(HostMemoryBackend *backend)
{
    return backend->completed ? &backend->mr : NULL;
}

bool host_memory_backend_is_mapped(HostMemoryBackend *backend)
{
    return backend->mapped;
}

void host_memory_backend_set_mapped(HostMemoryBackend *backend, bool mapped)
{
    backend->mapped = mapped;
}

static uint32_t backend_ram_flags(HostMemoryBackend *backend)
{
    return (backend->share ? RAM_SHARED : 0) | (backend->reserve ? 0 : RAM_NORESERVE);
}

/* Touch every page now so that the guest never waits for (or fails on) a fault. */
static bool backend_prealloc(HostMemoryBackend *backend, Error **errp)
{
    uint8_t *host = memory_region_get_ram_ptr(&backend->mr);
    size_t page = qemu_real_host_page_size();

    if (!madvise(host, backend->size, MADV_POPULATE_WRITE)) {
        return true;
    }
    if (errno != EINVAL) {
        error_setg_errno(errp, errno, "memory backend '%s': preallocation failed",
                         OBJECT(backend)->id);
        return false;
    }
    /* Kernels before 5.14: write each page (keeping its content). */
    for (size_t off = 0; off < backend->size; off += page) {
        volatile uint8_t *p = host + off;

        *p = *p;
    }
    return true;
}

static bool host_memory_backend_complete(Object *obj, Error **errp)
{
    HostMemoryBackend *backend = MEMORY_BACKEND(obj);
    HostMemoryBackendClass *bc = MEMORY_BACKEND_GET_CLASS(obj);

    if (!backend->size) {
        error_setg(errp, "memory backend '%s': can't create backend with size 0", obj->id);
        return false;
    }
    if (!bc->alloc(backend, errp)) {
        return false;
    }
    backend->completed = true;
    if (backend->prealloc && !backend_prealloc(backend, errp)) {
        return false;   /* finalize frees the region */
    }
    trace_host_memory_backend_complete(object_get_typename(obj), obj->id, backend->size,
                                       backend->share, backend->prealloc);
    return true;
}

static void host_memory_backend_finalize(Object *obj)
{
    HostMemoryBackend *backend = MEMORY_BACKEND(obj);

    if (backend->completed) {
        memory_region_unparent(&backend->mr);
    }
}

static const Property host_memory_backend_props[] = {
    DEFINE_PROP_SIZE("size", HostMemoryBackend, size, 0),
    DEFINE_PROP_BOOL("share", HostMemoryBackend, share, false),
    DEFINE_PROP_BOOL("prealloc", HostMemoryBackend, prealloc, false),
    DEFINE_PROP_BOOL("reserve", HostMemoryBackend, reserve, true),
};

static void host_memory_backend_class_init(ObjectClass *klass, void *data)
{
    klass->complete = host_memory_backend_complete;
    object_class_set_props(klass, host_memory_backend_props,
                           ARRAY_SIZE(host_memory_backend_props));
}

static bool ram_backend_alloc(HostMemoryBackend *backend, Error **errp)
{
    return memory_region_init_ram_flags(&backend->mr, backend, OBJECT(backend)->id,
                                        backend->size, backend_ram_flags(backend), errp);
}

static void ram_backend_class_init(ObjectClass *klass, void *data)
{
    MEMORY_BACKEND_CLASS(klass)->alloc = ram_backend_alloc;
}

static bool memfd_backend_alloc(HostMemoryBackend *backend, Error **errp)
{
    int fd = qemu_memfd_create(OBJECT(backend)->id, backend->size, false, errp);

    if (fd < 0) {
        return false;
    }
    if (!memory_region_init_ram_from_fd(&backend->mr, backend, OBJECT(backend)->id,
                                        backend->size, backend_ram_flags(backend), fd, 0,
                                        errp)) {
        close(fd);
        return false;
    }
    return true;
}

static void memfd_backend_instance_init(Object *obj)
{
    /* QEMU's memfd backend is shared unless share=off. */
    MEMORY_BACKEND(obj)->share = true;
}

static void memfd_backend_class_init(ObjectClass *klass, void *data)
{
    MEMORY_BACKEND_CLASS(klass)->alloc = memfd_backend_alloc;
}

typedef struct HostMemoryBackendFile {
    HostMemoryBackend parent_obj;
} HostMemoryBackendFile;

static bool file_backend_alloc(HostMemoryBackend *backend, Error **errp)
{
    if (!backend->mem_path) {
        error_setg(errp, "memory backend '%s': mem-path property not set",
                   OBJECT(backend)->id);
        return false;
    }
    return memory_region_init_ram_from_file(&backend->mr, backend, OBJECT(backend)->id,
                                            backend->size, backend_ram_flags(backend),
                                            backend->mem_path, false, errp);
}

static const Property file_backend_props[] = {
    DEFINE_PROP_STRING("mem-path", HostMemoryBackend, mem_path),
};

static void file_backend_class_init(ObjectClass *klass, void *data)
{
    MEMORY_BACKEND_CLASS(klass)->alloc = file_backend_alloc;
    object_class_set_props(klass, file_backend_props, ARRAY_SIZE(file_backend_props));
}

static const TypeInfo host_memory_backend_types[] = {
    {
        .name = TYPE_MEMORY_BACKEND,
        .parent = TYPE_OBJECT,
        .instance_size = sizeof(HostMemoryBackend),
        .instance_finalize = host_memory_backend_finalize,
        .abstract = true,
        .class_size = sizeof(HostMemoryBackendClass),
        .class_init = host_memory_backend_class_init,
    },
    {
        .name = TYPE_MEMORY_BACKEND_RAM,
        .parent = TYPE_MEMORY_BACKEND,
        .class_init = ram_backend_class_init,
    },
    {
        .name = TYPE_MEMORY_BACKEND_MEMFD,
        .parent = TYPE_MEMORY_BACKEND,
        .instance_init = memfd_backend_instance_init,
        .class_init = memfd_backend_class_init,
    },
    {
        .name = TYPE_MEMORY_BACKEND_FILE,
        .parent = TYPE_MEMORY_BACKEND,
        .instance_size = sizeof(HostMemoryBackendFile),
        .class_init = file_backend_class_init,
    },
};

static void host_memory_backend_register_types(void)
{
    type_register_static_array(host_memory_backend_types,
                               ARRAY_SIZE(host_memory_backend_types));
}

type_init(host_memory_backend_register_types)
