/*
 * bench-realize's ioctl counter: a tiny LD_PRELOAD library, loaded in front
 * of libvfio-sim.so, that counts the program's VFIO ioctls.
 *
 * vfio-sim counts only MAP_DMA and traces only some ioctls; this counts every
 * ioctl of type VFIO_TYPE (';') the program issues, by number, and the time
 * spent inside them (in the sim, standing for the kernel), into a file
 * that bench-realize maps too, so the bench reads the counts at the moment it
 * chooses (the device is realized) while the program runs on.  Device fds
 * are told from container fds (their ioctl numbers 112-117 overlap) by
 * remembering what VFIO_GROUP_GET_DEVICE_FD returned.
 *
 * Environment: BENCH_REALIZE_COUNTS=PATH, a file of at least
 * sizeof(BenchIoctlCounts) bytes; unset, the library counts nothing.
 * The layout is shared with bench-realize.c (BENCH_IOCTL_COUNTS_MAGIC).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "bench-realize-ioctl-count.h"

static BenchIoctlCounts *counts;
static int (*real_ioctl)(int fd, unsigned long req, ...);
static int (*real_close)(int fd);

/* Device fds (bit set) among the first BENCH_MAX_FDS. */
#define BENCH_MAX_FDS 4096
static uint64_t device_fds[BENCH_MAX_FDS / 64];

static void __attribute__((constructor)) bench_counts_init(void)
{
    const char *path = getenv("BENCH_REALIZE_COUNTS");
    void *p;
    int fd;

    real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
    real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
    if (!path || !*path) {
        return;
    }
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    p = mmap(NULL, sizeof(BenchIoctlCounts), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    real_close(fd);
    if (p != MAP_FAILED && ((BenchIoctlCounts *)p)->magic == BENCH_IOCTL_COUNTS_MAGIC) {
        counts = p;
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void mark_device_fd(int fd, bool device)
{
    uint64_t bit;

    if (fd < 0 || fd >= BENCH_MAX_FDS) {
        return;
    }
    bit = 1ULL << (fd % 64);
    if (device) {
        __atomic_fetch_or(&device_fds[fd / 64], bit, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_and(&device_fds[fd / 64], ~bit, __ATOMIC_RELAXED);
    }
}

static bool is_device_fd(int fd)
{
    return fd >= 0 && fd < BENCH_MAX_FDS &&
           (__atomic_load_n(&device_fds[fd / 64], __ATOMIC_RELAXED) >> (fd % 64)) & 1;
}

__attribute__((visibility("default"))) int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    void *arg;
    int ret;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (!real_ioctl) {
        real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
    }
    if (counts && _IOC_TYPE(req) == VFIO_TYPE) {
        bool device = is_device_fd(fd);
        unsigned nr = _IOC_NR(req) & 0xff;
        uint64_t t0 = now_ns(), ns;

        ret = real_ioctl(fd, req, arg);
        ns = now_ns() - t0;
        __atomic_fetch_add(&(device ? counts->device : counts->other)[nr], 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&(device ? counts->device_ns : counts->other_ns)[nr], ns,
                           __ATOMIC_RELAXED);
        __atomic_fetch_add(&counts->total, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&counts->total_ns, ns, __ATOMIC_RELAXED);
    } else {
        ret = real_ioctl(fd, req, arg);
    }
    if (counts && req == VFIO_GROUP_GET_DEVICE_FD && ret >= 0) {
        mark_device_fd(ret, true);
    }
    return ret;
}

__attribute__((visibility("default"))) int close(int fd)
{
    mark_device_fd(fd, false);
    if (!real_close) {
        real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
    }
    return real_close(fd);
}
