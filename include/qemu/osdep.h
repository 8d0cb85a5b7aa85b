/*
 * The first header every Aperture source includes: C library, GLib, the
 * build configuration and a few helpers used everywhere.
 */
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

#include "config-host.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib.h>

typedef struct Error Error;

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

/* @a must be a power of two for the *_POW2 forms. */
#define QEMU_ALIGN_DOWN(n, m)   ((n) / (m) * (m))
#define QEMU_ALIGN_UP(n, m)     QEMU_ALIGN_DOWN((n) + (m) - 1, (m))
#define QEMU_IS_ALIGNED(n, m)   (((n) % (m)) == 0)
#define ROUND_UP(n, d)          (((n) + (d) - 1) & -(0 ? (n) : (d)))
#define ROUND_DOWN(n, d)        ((n) & -(0 ? (n) : (d)))
#define DIV_ROUND_UP(n, d)      (((n) + (d) - 1) / (d))

#define QEMU_NORETURN __attribute__((noreturn))
#define QEMU_WARN_UNUSED_RESULT __attribute__((warn_unused_result))

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

/* The host's page size, read once. */
static inline uintptr_t qemu_real_host_page_size(void)
{
    static uintptr_t size;

    if (!size) {
        size = (uintptr_t)sysconf(_SC_PAGESIZE);
    }
    return size;
}

#endif /* QEMU_OSDEP_H */
