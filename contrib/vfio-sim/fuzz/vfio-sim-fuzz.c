/*
 * vfio-sim: a libFuzzer target over the VFIO ioctl surface.
 *
 * The input is a little program: each step picks an operation (open the
 * container or a group, SET_CONTAINER, SET_IOMMU, GET_DEVICE_FD, an ioctl on
 * one of the open files with an argument built from the input, a region
 * read or write, a data_fd read or write, close) and its operands.  The
 * argument buffers are filled from the input as they come, including argsz,
 * flags, counts and offsets; only pointers inside arguments are steered into
 * a scratch arena the target owns, because the "kernel" would write through
 * them and the fuzzer's own memory is not fair game.  Bad pointers are still
 * exercised: the first bytes of the input can leave a pointer unpatched,
 * aimed at an unmapped page.
 *
 * The property checked is the kernel's: every input gets an answer (a
 * result or an errno), never a crash, a hang, a leak or a sanitizer report,
 * and every file is released when the program closes it.
 *
 * Build: link with vfio_sim_link_dep and -fsanitize=fuzzer (tests/fuzz).
 * With -DVFIO_SIM_FUZZ_MAIN it has a main() that runs random programs, for
 * compilers without libFuzzer (tests/unit/vfio-sim uses it as a smoke test).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARENA_SIZE  (64 * 4096)
#define MAX_FILES   16
#define MAX_STEPS   64
#define ARG_SIZE    512

static uint8_t *arena;          /* DMA target and pointer target, page aligned */

typedef struct Input {
    const uint8_t *data;
    size_t size;
    size_t pos;
} Input;

static uint64_t take(Input *in, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++) {
        v |= (uint64_t)(in->pos < in->size ? in->data[in->pos++] : 0) << (8 * i);
    }
    return v;
}

static const unsigned long container_ioctls[] = {
    VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU, VFIO_IOMMU_GET_INFO,
    VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA, VFIO_IOMMU_DIRTY_PAGES, VFIO_DEVICE_RESET,
};
static const unsigned long group_ioctls[] = {
    VFIO_GROUP_GET_STATUS, VFIO_GROUP_SET_CONTAINER, VFIO_GROUP_UNSET_CONTAINER,
    VFIO_GROUP_GET_DEVICE_FD, VFIO_GET_API_VERSION,
};
static const unsigned long device_ioctls[] = {
    VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_GET_IRQ_INFO,
    VFIO_DEVICE_SET_IRQS, VFIO_DEVICE_RESET, VFIO_DEVICE_FEATURE,
    VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, VFIO_IOMMU_MAP_DMA,
};
static const char *const bdfs[] = {
    "0000:00:01.0", "0000:00:02.0", "0000:00:03.0", "0000:00:04.0", "bogus",
    "0000:00:01.0 vf_token=00000000-0000-0000-0000-000000000000",
};

/* Point the pointer fields of known arguments into the arena. */
static void steer_pointers(unsigned long req, uint8_t *arg, uint64_t sel)
{
    uint64_t a = (uint64_t)(uintptr_t)arena + (sel % (ARENA_SIZE / 4096)) * 4096;

    if (req == VFIO_IOMMU_MAP_DMA) {
        memcpy(arg + offsetof(struct vfio_iommu_type1_dma_map, vaddr), &a, 8);
    } else if (req == VFIO_IOMMU_UNMAP_DMA) {
        memcpy(arg + sizeof(struct vfio_iommu_type1_dma_unmap) +
               offsetof(struct vfio_bitmap, data), &a, 8);
    } else if (req == VFIO_IOMMU_DIRTY_PAGES) {
        memcpy(arg + sizeof(struct vfio_iommu_type1_dirty_bitmap) +
               offsetof(struct vfio_iommu_type1_dirty_bitmap_get, bitmap) +
               offsetof(struct vfio_bitmap, data), &a, 8);
    } else if (req == VFIO_DEVICE_FEATURE) {
        /* DMA logging: ranges (START) or bitmap (REPORT) at the same offset. */
        memcpy(arg + sizeof(struct vfio_device_feature) + 8, &a, 8);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Input in = { data, size, 0 };
    int fds[MAX_FILES];
    int nfds = 0;
    bool steer = !(take(&in, 1) & 0x80);

    if (!arena) {
        arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
        if (arena == MAP_FAILED) {
            abort();
        }
    }
    for (int step = 0; step < MAX_STEPS && in.pos < in.size; step++) {
        unsigned op = take(&in, 1) % 12;
        int fd = nfds ? fds[take(&in, 1) % nfds] : -1;
        uint8_t arg[ARG_SIZE] __attribute__((aligned(8)));
        int r = -1;

        switch (op) {
        case 0:
            r = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
            break;
        case 1: {
            char path[32];

            snprintf(path, sizeof(path), "/dev/vfio/%u", (unsigned)take(&in, 1) % 6);
            r = open(path, O_RDWR | O_CLOEXEC);
            break;
        }
        case 2: {
            int32_t cfd = nfds ? fds[take(&in, 1) % nfds] : -1;

            ioctl(fd, VFIO_GROUP_SET_CONTAINER, &cfd);
            break;
        }
        case 3:
            ioctl(fd, VFIO_SET_IOMMU, (unsigned long)take(&in, 1) % 12);
            break;
        case 4:
            r = ioctl(fd, VFIO_GROUP_GET_DEVICE_FD, bdfs[take(&in, 1) % 6]);
            break;
        case 5: case 6: case 7: {
            const unsigned long *tab = op == 5 ? container_ioctls :
                                       op == 6 ? group_ioctls : device_ioctls;
            size_t n = op == 5 ? sizeof(container_ioctls) / sizeof(long) :
                       op == 6 ? sizeof(group_ioctls) / sizeof(long) :
                       sizeof(device_ioctls) / sizeof(long);
            unsigned long req = tab[take(&in, 1) % n];
            unsigned len = take(&in, 1) * 2;

            memset(arg, 0, sizeof(arg));
            for (unsigned i = 0; i < len && i < sizeof(arg); i++) {
                arg[i] = take(&in, 1);
            }
            if (steer) {
                steer_pointers(req, arg, take(&in, 1));
            }
            if (req == VFIO_CHECK_EXTENSION || req == VFIO_SET_IOMMU) {
                r = ioctl(fd, req, (unsigned long)arg[0]);
            } else if (req == VFIO_GROUP_GET_DEVICE_FD) {
                arg[sizeof(arg) - 1] = 0;
                r = ioctl(fd, req, arg);
            } else {
                r = ioctl(fd, req, arg);
            }
            if (req == VFIO_DEVICE_FEATURE && r == 0 && nfds < MAX_FILES) {
                uint32_t flags;
                int32_t dfd;

                /* Only a SET of MIG_DEVICE_STATE hands out a data_fd. */
                memcpy(&flags, arg + 4, 4);
                memcpy(&dfd, arg + sizeof(struct vfio_device_feature) + 4, 4);
                if ((flags & VFIO_DEVICE_FEATURE_MASK) == VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE &&
                    (flags & VFIO_DEVICE_FEATURE_SET) && !(flags & VFIO_DEVICE_FEATURE_PROBE) &&
                    dfd >= 0) {
                    fds[nfds++] = dfd;
                }
            }
            if (req != VFIO_GROUP_GET_DEVICE_FD) {
                r = -1;     /* only GET_DEVICE_FD returns a new fd */
            }
            break;
        }
        case 8: case 9: {
            uint64_t off = (take(&in, 1) % 12) << 40 | take(&in, 3);
            unsigned len = take(&in, 1) % 64;

            if (op == 8) {
                (void)!pread(fd, arena, len, off);
            } else {
                memset(arg, 0, sizeof(arg));
                for (unsigned i = 0; i < len; i++) {
                    arg[i] = take(&in, 1);
                }
                (void)!pwrite(fd, arg, len, off);
            }
            break;
        }
        case 10:
            if (take(&in, 1) & 1) {
                (void)!read(fd, arena, take(&in, 2));
            } else {
                (void)!write(fd, arena, take(&in, 2));
            }
            break;
        case 11:
            if (nfds) {
                unsigned i = take(&in, 1) % nfds;

                close(fds[i]);
                fds[i] = fds[--nfds];
            }
            break;
        }
        if (r >= 0) {
            if (nfds < MAX_FILES) {
                fds[nfds++] = r;
            } else {
                close(r);
            }
        }
    }
    while (nfds) {
        close(fds[--nfds]);
    }
    return 0;
}

#ifdef VFIO_SIM_FUZZ_MAIN
/*
 * Random programs from a fixed seed: argv[1] = iterations (default 2000),
 * argv[2] = seed.  Exits 0 if every input was answered.
 */
int main(int argc, char **argv)
{
    unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 2000;
    unsigned seed = argc > 2 ? strtoul(argv[2], NULL, 0) : 1;
    uint8_t buf[1024];

    srandom(seed);
    for (unsigned long i = 0; i < iters; i++) {
        size_t n = 0;

        /*
         * Most programs start the way a driver does (container, group,
         * SET_CONTAINER, SET_IOMMU, device, a mapping), so the random tail
         * reaches past the first error.
         */
        if (random() % 4) {
            unsigned g = 1 + random() % 4;
            struct vfio_iommu_type1_dma_map map = {
                .argsz = sizeof(map), .flags = 3, .iova = 0x100000,
                .size = 4096 * (1 + random() % 8),
            };
            const uint8_t prefix[] = {
                0x00,                   /* steer pointers into the arena */
                0,                      /* open container -> fds[0] */
                1, 0, g,                /* open group g -> fds[1] */
                2, 1, 0,                /* SET_CONTAINER(fds[1], fds[0]) */
                3, 0, random() % 2 ? 3 : 1,     /* SET_IOMMU(TYPE1v2 or TYPE1) */
                4, 1, g - 1,            /* GET_DEVICE_FD -> fds[2] */
                5, 0, 4, sizeof(map) / 2,       /* container ioctl MAP_DMA */
            };

            memcpy(buf, prefix, sizeof(prefix));
            n = sizeof(prefix);
            memcpy(buf + n, &map, sizeof(map));
            n += sizeof(map);
            buf[n++] = random();        /* arena page */
        }
        for (size_t end = n + 1 + random() % (sizeof(buf) - n - 1); n < end; n++) {
            buf[n] = random();
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    {
        /* How deep the programs got, for whoever tunes this. */
        char status[4096];
        int fd = open("/dev/vfio-sim", O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, status, sizeof(status) - 1) : -1;

        if (n > 0) {
            status[n] = 0;
            for (char *line = strtok(status, "\n"); line; line = strtok(NULL, "\n")) {
                printf("# %s\n", line);
            }
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    printf("1..1\nok 1 /vfio-sim/fuzz/%lu-random-programs\n", iters);
    return 0;
}
#endif
