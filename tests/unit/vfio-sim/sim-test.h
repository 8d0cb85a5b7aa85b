/*
 * vfio-sim's own tests: small helpers.  The tests are linked with the
 * link-time variant of the sim (vfio_sim_link_dep), so they drive it through
 * the same libc calls a program makes; the sim's control file
 * (/dev/vfio-sim) swaps topologies and arms faults between test cases.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef SIM_TEST_H
#define SIM_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <glib.h>
#include <linux/vfio.h>

#define ST_PAGE 4096ULL
#define ST_EDU "0000:00:01.0"
#define ST_MIG "0000:00:02.0"
#define ST_EDU2 "0000:00:03.0"
#define ST_PIN "0000:00:04.0"
#define ST_MAP_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

typedef struct StDev {
    int container;
    int group;
    int device;
} StDev;

/* The call failed with -1 and @err, or report what happened instead. */
#define st_assert_errno(call, err)                                            \
    do {                                                                      \
        errno = 0;                                                            \
        long st_r_ = (long)(call);                                            \
        int st_e_ = errno;                                                    \
        if (st_r_ != -1 || st_e_ != (err)) {                                  \
            g_error("%s: expected -1/%s, got %ld/%s", #call, g_strerror(err), \
                    st_r_, st_e_ ? g_strerror(st_e_) : "0");                  \
        }                                                                     \
    } while (0)

#define st_assert_ok(call)                                                    \
    ({                                                                        \
        errno = 0;                                                            \
        long st_r_ = (long)(call);                                            \
        if (st_r_ < 0) {                                                      \
            g_error("%s: expected success, got %s", #call, g_strerror(errno)); \
        }                                                                     \
        st_r_;                                                                \
    })

/* Send a command to the sim's control file; 0 or -errno. */
static inline int st_control(const char *cmd)
{
    int fd = open("/dev/vfio-sim", O_RDWR | O_CLOEXEC);
    ssize_t n;
    int err;

    g_assert_cmpint(fd, >=, 0);
    n = write(fd, cmd, strlen(cmd));
    err = errno;
    close(fd);
    return n < 0 ? -err : 0;
}

/* The control file's status line for @key (g_free). */
static inline char *st_status(const char *key)
{
    char buf[4096];
    int fd = open("/dev/vfio-sim", O_RDWR | O_CLOEXEC);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    g_auto(GStrv) lines = NULL;

    close(fd);
    g_assert_cmpint(n, >, 0);
    buf[n] = 0;
    lines = g_strsplit(buf, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        if (g_str_has_prefix(lines[i], key) && lines[i][strlen(key)] == ' ') {
            return g_strdup(lines[i] + strlen(key) + 1);
        }
    }
    return NULL;
}

/* Load the topology in @text (NULL: built-in) and start with no faults. */
static inline void st_topology(const char *text)
{
    g_autofree char *path = NULL;
    g_autofree char *cmd = NULL;

    if (text) {
        int fd = g_file_open_tmp("vfio-sim-test-XXXXXX.conf", &path, NULL);

        g_assert_cmpint(fd, >=, 0);
        g_assert_true(g_file_set_contents(path, text, -1, NULL));
        close(fd);
        cmd = g_strdup_printf("reload %s", path);
    } else {
        cmd = g_strdup("reload");
    }
    g_assert_cmpint(st_control(cmd), ==, 0);
    if (path) {
        unlink(path);
    }
}

static inline int st_group_of(const char *bdf)
{
    g_autofree char *link = g_strdup_printf("/sys/bus/pci/devices/%s/iommu_group", bdf);
    g_autofree char *target = g_file_read_link(link, NULL);

    return target ? atoi(strrchr(target, '/') + 1) : -1;
}

/* Container + group + SET_CONTAINER (+ SET_IOMMU when @type) + device fd. */
static inline void st_open(StDev *d, const char *bdf, int type)
{
    g_autofree char *path = g_strdup_printf("/dev/vfio/%d", st_group_of(bdf));

    d->container = st_assert_ok(open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC));
    d->group = st_assert_ok(open(path, O_RDWR | O_CLOEXEC));
    st_assert_ok(ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container));
    d->device = -1;
    if (type) {
        st_assert_ok(ioctl(d->container, VFIO_SET_IOMMU, type));
        d->device = st_assert_ok(ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, bdf));
    }
}

static inline void st_close(StDev *d)
{
    if (d->device >= 0) {
        close(d->device);
    }
    close(d->group);
    close(d->container);
}

static inline int st_map(int container, uint64_t iova, void *vaddr, uint64_t size,
                         uint32_t flags)
{
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map), .flags = flags, .vaddr = (uintptr_t)vaddr,
        .iova = iova, .size = size,
    };

    return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

static inline int st_unmap(int container, uint64_t iova, uint64_t size)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap), .iova = iova, .size = size,
    };

    return ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

static inline void *st_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    g_assert_true(p != MAP_FAILED);
    return p;
}

static inline uint64_t st_bar_offset(int index)
{
    return (uint64_t)index << 40;
}

static inline uint32_t st_rd32(StDev *d, int bar, uint64_t off)
{
    uint32_t v;

    g_assert_cmpint(pread(d->device, &v, 4, st_bar_offset(bar) + off), ==, 4);
    return v;
}

static inline void st_wr32(StDev *d, int bar, uint64_t off, uint32_t v)
{
    g_assert_cmpint(pwrite(d->device, &v, 4, st_bar_offset(bar) + off), ==, 4);
}

/* Set bits of the PCI command register through the config region. */
static inline void st_command(StDev *d, uint16_t set)
{
    uint16_t cmd;
    uint64_t cfg = st_bar_offset(VFIO_PCI_CONFIG_REGION_INDEX) + 4;

    g_assert_cmpint(pread(d->device, &cmd, 2, cfg), ==, 2);
    cmd |= set;
    g_assert_cmpint(pwrite(d->device, &cmd, 2, cfg), ==, 2);
}

static inline int st_feature(int fd, uint32_t flags, void *payload, size_t len)
{
    g_autofree uint8_t *buf = g_malloc0(sizeof(struct vfio_device_feature) + len);
    struct vfio_device_feature *f = (void *)buf;
    int r;

    f->argsz = sizeof(*f) + len;
    f->flags = flags;
    if (len) {
        memcpy(f->data, payload, len);
    }
    r = ioctl(fd, VFIO_DEVICE_FEATURE, f);
    if (len) {
        memcpy(payload, f->data, len);
    }
    return r;
}

static inline int st_mig_state(int fd, uint32_t state, int *data_fd)
{
    struct vfio_device_feature_mig_state st = { .device_state = state, .data_fd = -1 };
    int r = st_feature(fd, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
                       &st, sizeof(st));

    if (data_fd) {
        *data_fd = r == 0 ? st.data_fd : -1;
    }
    return r;
}

static inline uint32_t st_mig_get_state(int fd)
{
    struct vfio_device_feature_mig_state st = { 0 };

    st_assert_ok(st_feature(fd, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
                            &st, sizeof(st)));
    return st.device_state;
}

/* Wait until @cond (re-evaluated) holds, up to 5 s. */
#define st_wait_for(cond)                                                     \
    do {                                                                      \
        gint64 st_deadline_ = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;    \
        while (!(cond)) {                                                     \
            if (g_get_monotonic_time() > st_deadline_) {                      \
                g_error("timed out waiting for %s", #cond);                   \
            }                                                                 \
            g_usleep(1000);                                                   \
        }                                                                     \
    } while (0)

#endif
