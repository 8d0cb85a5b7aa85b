/*
 * VFIO conformance suite: helpers shared by the test programs.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "vfio-test.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/pci_regs.h>

const char *vt_device(void)
{
    const char *s = g_getenv("APERTURE_VFIO_DEVICE");

    return s && *s ? s : VT_DEFAULT_DEVICE;
}

const char *vt_device2(void)
{
    const char *s = g_getenv("APERTURE_VFIO_DEVICE2");

    if (s && !strcmp(s, "none")) {
        return NULL;
    }
    return s && *s ? s : VT_DEFAULT_DEVICE2;
}

int vt_group_of(const char *bdf)
{
    g_autofree char *link = g_strdup_printf("/sys/bus/pci/devices/%s/iommu_group", bdf);
    char buf[256];
    ssize_t n = readlink(link, buf, sizeof(buf) - 1);
    const char *base;
    char *end;
    long id;

    if (n <= 0) {
        return -1;
    }
    buf[n] = 0;
    base = strrchr(buf, '/');
    base = base ? base + 1 : buf;
    id = strtol(base, &end, 10);
    if (end == base || *end || id < 0) {
        return -1;
    }
    return id;
}

bool vt_require_device(const char *bdf)
{
    g_autofree char *path = NULL;
    int id;

    if (access("/dev/vfio/vfio", F_OK) != 0) {
        g_test_skip("no VFIO here: /dev/vfio/vfio is missing");
        return false;
    }
    if (!bdf) {
        g_test_skip("no such device in this topology");
        return false;
    }
    id = vt_group_of(bdf);
    if (id < 0) {
        g_autofree char *msg = g_strdup_printf("device %s has no IOMMU group here", bdf);
        g_test_skip(msg);
        return false;
    }
    path = g_strdup_printf("/dev/vfio/%d", id);
    if (access(path, F_OK) != 0) {
        g_autofree char *msg = g_strdup_printf("%s is missing (is %s bound to vfio-pci?)",
                                               path, bdf);
        g_test_skip(msg);
        return false;
    }
    return true;
}

int vt_open_container(void)
{
    int fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);

    return fd < 0 ? -errno : fd;
}

int vt_open_group(int group_id)
{
    g_autofree char *path = g_strdup_printf("/dev/vfio/%d", group_id);
    int fd = open(path, O_RDWR | O_CLOEXEC);

    return fd < 0 ? -errno : fd;
}

int vt_ioctl(int fd, unsigned long req, void *arg)
{
    int r = ioctl(fd, req, arg);

    return r < 0 ? -errno : r;
}

const char *vt_errname(int err)
{
    switch (err) {
    case 0: return "success";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ENOTTY: return "ENOTTY";
    case ERANGE: return "ERANGE";
    case EOVERFLOW: return "EOVERFLOW";
    case EBADFD: return "EBADFD";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "E?";
    }
}

void vt_check_fails(long ret, int err, int expected, const char *what, const char *file,
                    int line, const char *func)
{
    g_autofree char *msg = NULL;

    if (ret < -1) {           /* -errno convention */
        err = (int)-ret;
        ret = -1;
    }
    if (ret == -1 && err == expected) {
        return;
    }
    if (ret >= 0) {
        msg = g_strdup_printf("%s: expected %s (%d), got success (%ld)", what,
                              vt_errname(expected), expected, ret);
    } else {
        msg = g_strdup_printf("%s: expected %s (%d), got %s (%d: %s)", what,
                              vt_errname(expected), expected, vt_errname(err), err,
                              g_strerror(err));
    }
    g_assertion_message(G_LOG_DOMAIN, file, line, func, msg);
}

long vt_check_ok(long ret, int err, const char *what, const char *file, int line,
                 const char *func)
{
    g_autofree char *msg = NULL;

    if (ret >= 0) {
        return ret;
    }
    if (ret < -1) {
        err = (int)-ret;
    }
    msg = g_strdup_printf("%s: expected success, got %s (%d: %s)", what, vt_errname(err),
                          err, g_strerror(err));
    g_assertion_message(G_LOG_DOMAIN, file, line, func, msg);
    return ret;
}

int vt_map(int container, uint64_t iova, void *vaddr, uint64_t size, uint32_t flags)
{
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = flags,
        .vaddr = (uintptr_t)vaddr,
        .iova = iova,
        .size = size,
    };

    return vt_ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

int vt_unmap(int container, uint64_t iova, uint64_t size, uint32_t flags,
             uint64_t *unmapped_size)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap),
        .flags = flags,
        .iova = iova,
        .size = size,
    };
    int r = vt_ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);

    if (unmapped_size) {
        *unmapped_size = unmap.size;
    }
    return r;
}

int vt_region_info(int device, uint32_t index, struct vfio_region_info *info)
{
    memset(info, 0, sizeof(*info));
    info->argsz = sizeof(*info);
    info->index = index;
    return vt_ioctl(device, VFIO_DEVICE_GET_REGION_INFO, info);
}

int vt_irq_info(int device, uint32_t index, struct vfio_irq_info *info)
{
    memset(info, 0, sizeof(*info));
    info->argsz = sizeof(*info);
    info->index = index;
    return vt_ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, info);
}

int vt_set_irq_eventfds(int device, uint32_t index, uint32_t start, uint32_t count,
                        const int *fds)
{
    size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
    g_autofree struct vfio_irq_set *set = g_malloc0(sz);

    set->argsz = sz;
    set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    set->index = index;
    set->start = start;
    set->count = count;
    memcpy(set->data, fds, count * sizeof(int32_t));
    return vt_ioctl(device, VFIO_DEVICE_SET_IRQS, set);
}

int vt_set_irq_none(int device, uint32_t index, uint32_t action, uint32_t start,
                    uint32_t count)
{
    struct vfio_irq_set set = {
        .argsz = sizeof(set),
        .flags = VFIO_IRQ_SET_DATA_NONE | action,
        .index = index,
        .start = start,
        .count = count,
    };

    return vt_ioctl(device, VFIO_DEVICE_SET_IRQS, &set);
}

struct vfio_iommu_type1_info *vt_iommu_info(int container, uint32_t *argsz_first)
{
    struct vfio_iommu_type1_info *info = g_malloc0(sizeof(*info));
    uint32_t want;

    info->argsz = sizeof(*info);
    vt_assert_ok(vt_ioctl(container, VFIO_IOMMU_GET_INFO, info));
    if (argsz_first) {
        *argsz_first = info->argsz;
    }
    /* The kernel reports the size it needs; grow and ask again until it fits. */
    for (int i = 0; i < 4 && info->argsz > sizeof(*info); i++) {
        want = info->argsz;
        info = g_realloc(info, want);
        memset(info, 0, want);
        info->argsz = want;
        vt_assert_ok(vt_ioctl(container, VFIO_IOMMU_GET_INFO, info));
        if (info->argsz <= want) {
            break;
        }
    }
    return info;
}

const struct vfio_info_cap_header *vt_find_cap(const void *buf, uint32_t argsz,
                                               uint32_t first_offset, uint16_t id)
{
    uint32_t off = first_offset;

    /* A chain can only visit each 4-byte-aligned offset once: bound the walk. */
    for (uint32_t hops = 0; off && hops < argsz / 4; hops++) {
        const struct vfio_info_cap_header *hdr;

        if (off % 4 || off < sizeof(struct vfio_info_cap_header) ||
            off + sizeof(*hdr) > argsz) {
            return NULL;
        }
        hdr = (const void *)((const char *)buf + off);
        if (hdr->id == id) {
            return hdr;
        }
        if (hdr->next && hdr->next <= off) {
            return NULL;
        }
        off = hdr->next;
    }
    return NULL;
}

static void vt_find_regions(VtDevice *d)
{
    struct vfio_region_info info;

    vt_assert_ok(vt_region_info(d->device, VFIO_PCI_CONFIG_REGION_INDEX, &info));
    d->cfg_offset = info.offset;
    vt_assert_ok(vt_region_info(d->device, VFIO_PCI_BAR0_REGION_INDEX, &info));
    d->bar0_offset = info.offset;
    d->bar0_size = info.size;
}

void vt_device_open_group(VtDevice *d, const char *bdf)
{
    memset(d, 0, sizeof(*d));
    d->bdf = bdf;
    d->device = -1;
    d->group_id = vt_group_of(bdf);
    g_assert_cmpint(d->group_id, >=, 0);
    d->container = vt_assert_ok(vt_open_container());
    d->group = vt_assert_ok(vt_open_group(d->group_id));
    vt_assert_ok(vt_ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container));
}

void vt_device_open(VtDevice *d, const char *bdf, int iommu_type)
{
    vt_device_open_group(d, bdf);
    vt_assert_ok(ioctl(d->container, VFIO_SET_IOMMU, iommu_type));
    d->device = vt_assert_ok(ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, bdf));
    vt_find_regions(d);
}

void vt_device_close(VtDevice *d)
{
    if (d->device >= 0) {
        close(d->device);
    }
    if (d->group >= 0) {
        close(d->group);
    }
    if (d->container >= 0) {
        close(d->container);
    }
    d->device = d->group = d->container = -1;
}

void *vt_alloc(size_t size, int byte)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    g_assert_true(p != MAP_FAILED);
    memset(p, byte, size);
    return p;
}

void vt_free(void *p, size_t size)
{
    munmap(p, size);
}

static void vt_pio(bool write, int fd, void *buf, unsigned size, uint64_t off)
{
    ssize_t n = write ? pwrite(fd, buf, size, off) : pread(fd, buf, size, off);

    if (n != (ssize_t)size) {
        g_autofree char *msg = g_strdup_printf("%s of %u bytes at 0x%" G_GINT64_MODIFIER
                                               "x returned %zd (%s)",
                                               write ? "pwrite" : "pread", size, off, n,
                                               n < 0 ? g_strerror(errno) : "short");
        g_assertion_message(G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
}

uint32_t vt_cfg_read(VtDevice *d, uint32_t off, unsigned size)
{
    uint32_t v = 0;

    vt_pio(false, d->device, &v, size, d->cfg_offset + off);
    return GUINT32_FROM_LE(v);
}

void vt_cfg_write(VtDevice *d, uint32_t off, unsigned size, uint32_t val)
{
    uint32_t v = GUINT32_TO_LE(val);

    vt_pio(true, d->device, &v, size, d->cfg_offset + off);
}

uint32_t vt_bar0_read32(VtDevice *d, uint32_t off)
{
    uint32_t v = 0;

    vt_pio(false, d->device, &v, 4, d->bar0_offset + off);
    return GUINT32_FROM_LE(v);
}

void vt_bar0_write32(VtDevice *d, uint32_t off, uint32_t val)
{
    uint32_t v = GUINT32_TO_LE(val);

    vt_pio(true, d->device, &v, 4, d->bar0_offset + off);
}

void vt_cfg_command(VtDevice *d, uint16_t set, uint16_t clear)
{
    uint16_t cmd = vt_cfg_read(d, PCI_COMMAND, 2);

    vt_cfg_write(d, PCI_COMMAND, 2, (cmd | set) & ~clear);
}

bool vt_edu_dma(VtDevice *d, uint64_t iova, uint32_t count, bool to_ram, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000LL;

    if (to_ram) {
        vt_bar0_write32(d, EDU_REG_DMA_SRC, EDU_DMA_BUFFER);
        vt_bar0_write32(d, EDU_REG_DMA_DST, (uint32_t)iova);
    } else {
        vt_bar0_write32(d, EDU_REG_DMA_SRC, (uint32_t)iova);
        vt_bar0_write32(d, EDU_REG_DMA_DST, EDU_DMA_BUFFER);
    }
    vt_bar0_write32(d, EDU_REG_DMA_COUNT, count);
    vt_bar0_write32(d, EDU_REG_DMA_CMD, EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0));
    while (vt_bar0_read32(d, EDU_REG_DMA_CMD) & EDU_DMA_START) {
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        g_usleep(1000);
    }
    return true;
}

int vt_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    g_assert_cmpint(fd, >=, 0);
    return fd;
}

uint64_t vt_eventfd_wait(int fd, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    uint64_t count = 0;

    if (poll(&pfd, 1, timeout_ms) != 1) {
        return 0;
    }
    if (read(fd, &count, sizeof(count)) != sizeof(count)) {
        return 0;
    }
    return count;
}
