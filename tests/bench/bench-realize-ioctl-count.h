/*
 * The counters bench-realize-ioctl-count.so keeps for bench-realize, in a
 * file both map (MAP_SHARED).  Indexed by _IOC_NR of VFIO_TYPE ioctls; device
 * fds apart, because device and container ioctl numbers overlap (112-117);
 * and the wall time spent inside them (CLOCK_MONOTONIC around the call).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef BENCH_REALIZE_IOCTL_COUNT_H
#define BENCH_REALIZE_IOCTL_COUNT_H

#include <stdint.h>

#define BENCH_IOCTL_COUNTS_MAGIC 0x62656e63686e7231ULL   /* "benchnr1" */

typedef struct BenchIoctlCounts {
    uint64_t magic;         /* BENCH_IOCTL_COUNTS_MAGIC, written by the bench */
    uint64_t total;         /* every VFIO_TYPE ioctl */
    uint64_t other[256];    /* on container and group fds, by _IOC_NR */
    uint64_t device[256];   /* on device fds (from VFIO_GROUP_GET_DEVICE_FD), by _IOC_NR */
    uint64_t total_ns;      /* time inside every VFIO_TYPE ioctl */
    uint64_t other_ns[256]; /* ... by fd kind and _IOC_NR, as the counts */
    uint64_t device_ns[256];
} BenchIoctlCounts;

#endif
