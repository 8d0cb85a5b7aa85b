/*
 * vfio-helpers: drive a PCI device from userspace through VFIO.
 * See include/qemu/vfio-helpers.h for the model.
 *
 * Why an IOVA tree rather than QEMU's sorted array.  QEMU keeps fixed
 * mappings in an array sorted by host address (insert and remove memmove
 * the tail: O(n)), allocates IOVAs with two water marks (a hole left by an
 * unmapped fixed mapping is never reused), and does not record temporary
 * mappings at all (so they cannot be looked up).  Here every mapping is a
 * node of an IOVATree: hole allocation, lookup by IOVA and lookup by host
 * address are O(log n) whatever the number of mappings, holes are reused,
 * and the water marks become derived facts (fixed_limit and temp_start)
 * that keep the two areas apart.
 *
 * Fixed and temporary mappings live in two trees.  The areas never
 * overlap, so each tree allocates inside its own area without seeing the
 * other, and the temporaries -- mapped and reset at I/O rate -- churn a
 * small tree instead of rebalancing the big one of long-lived mappings.
 *
 * Every kernel mapping is one tree node; a RAM block's node reserves its
 * max_size of IOVA space while the kernel mapping covers its used size (see
 * QEMUVFIORamBlock), so the number of nodes is the number of kernel
 * mappings, which is what the kernel's budget counts.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/vfio-helpers.h"
#include "qemu/vfio-info.h"
#include "qemu/iova-tree.h"
#include "qemu/range.h"
#include "exec/memory.h"
#include "exec/ramlist.h"
#include "trace/trace-util.h"

#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/pci_regs.h>

#define QEMU_VFIO_NUM_BARS  6

/* A BAR as the kernel described it at open. */
typedef struct QEMUVFIOBar {
    uint64_t size_bytes;        /* 0: not implemented */
    uint64_t fd_offset;         /* offset of the region in the device fd */
    uint32_t flags;             /* VFIO_REGION_INFO_FLAG_* */
    /* Sparse-mmap areas (g_new), NULL when the capability is absent. */
    struct vfio_region_sparse_mmap_area *areas;
    uint32_t nr_areas;
    bool sparse;                /* the sparse-mmap capability was present */
} QEMUVFIOBar;

/*
 * A RAM block followed through the notifier.  Its tree node covers
 * [iova, iova + max_bytes); the kernel maps [iova, iova + used_bytes), so a
 * resize only remaps, never moves the block in IOVA space.
 */
typedef struct QEMUVFIORamBlock {
    uintptr_t host;             /* the block's first byte (hash key) */
    uint64_t iova;              /* IOVA of @host */
    uint64_t used_bytes;        /* mapped in the kernel; 0 after a failed remap */
    uint64_t max_bytes;         /* reserved in the tree */
} QEMUVFIORamBlock;

struct QEMUVFIOState {
    /* Set at open, read-only afterwards. */
    char *name;                 /* PCI address, for messages */
    int group_id;               /* IOMMU group number */
    int container;              /* /dev/vfio/vfio fd */
    int group;                  /* /dev/vfio/GROUP fd */
    int device;                 /* device fd */
    uint32_t iommu_type;        /* VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU */
    uint64_t config_offset;     /* config region: offset in the device fd */
    uint64_t config_size;       /* and size in bytes */
    uint32_t num_irqs;          /* IRQ indexes of the device */
    bool can_reset;             /* VFIO_DEVICE_FLAGS_RESET */
    QEMUVFIOBar bars[QEMU_VFIO_NUM_BARS];
    /* Usable IOVA ranges, sorted, page-aligned, never empty. */
    Range *iova_ranges;
    uint32_t nr_iova_ranges;
    uint64_t iova_first;        /* iova_ranges[0].lob */
    uint64_t iova_last;         /* iova_ranges[nr - 1].upb, < UINT64_MAX */
    uint64_t min_pgsize;        /* host page and smallest IOMMU page, max of */
    uint32_t max_mappings;      /* the kernel's DMA mapping budget */

    /* Interrupts: owned by the thread driving the device, no lock. */
    int irq_index;              /* index with a trigger set, -1 none */

    /* RAM block notifier; registered between open and close. */
    RAMBlockNotifier ram_notifier;
    bool opening;               /* notifier replay during open */
    Error *ram_open_err;        /* first RAM block failure during open */

    /* Everything below is protected by @lock. */
    pthread_mutex_t lock;
    /* Mappings, host VA as translated_addr: fixed ones, temporary ones. */
    IOVATree *fixed;
    IOVATree *temps;
    /* Fixed mappings end at or below this IOVA (exclusive). */
    uint64_t fixed_limit;
    /* Temporary mappings start at or above this IOVA; iova_last + 1: none. */
    uint64_t temp_start;
    GHashTable *ram_blocks;     /* host -> QEMUVFIORamBlock */
    uint64_t dma_ioctls;        /* MAP_DMA + UNMAP_DMA issued */
    uint64_t ram_block_errors;  /* notifier failures after open */
};

static inline uint64_t qemu_vfio_size(const DMAMap *map)
{
    return map->size + 1;
}

/* ------------------------------------------------------------------------ */
/* Opening: sysfs, group, container, IOMMU, device */

static bool qemu_vfio_valid_bdf(const char *device)
{
    unsigned dom, bus, dev, fn;
    char tail;

    return strlen(device) == 12 &&
           sscanf(device, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) == 4 &&
           dev < 32 && fn < 8;
}

/* The IOMMU group number of @device from its sysfs iommu_group link. */
static bool qemu_vfio_find_group(const char *device, int *group_id, Error **errp)
{
    ERRP_GUARD();
    g_autofree char *dev_path = g_strdup_printf("/sys/bus/pci/devices/%s", device);
    g_autofree char *link = g_strdup_printf("%s/iommu_group", dev_path);
    char target[PATH_MAX];
    const char *base;
    char *end;
    unsigned long id;
    struct stat st;
    ssize_t len;

    len = readlink(link, target, sizeof(target) - 1);
    if (len < 0) {
        int err = errno;

        if (stat(dev_path, &st) < 0) {
            error_setg_errno(errp, errno, "vfio %s: no such PCI device (%s)", device,
                             dev_path);
            return false;
        }
        error_setg_errno(errp, err, "vfio %s: cannot read %s", device, link);
        if (err == ENOENT) {
            error_append_hint(errp, "The device has no IOMMU group: is the IOMMU on "
                              "(intel_iommu=on or amd_iommu=on on the kernel command "
                              "line)?\n");
        }
        return false;
    }
    target[len] = 0;
    base = strrchr(target, '/');
    base = base ? base + 1 : target;
    errno = 0;
    id = strtoul(base, &end, 10);
    if (!*base || *end || errno || id > INT_MAX) {
        error_setg(errp, "vfio %s: %s points to '%s', which names no IOMMU group",
                   device, link, target);
        return false;
    }
    *group_id = (int)id;
    return true;
}

static bool qemu_vfio_open_group(QEMUVFIOState *s, Error **errp)
{
    ERRP_GUARD();
    g_autofree char *path = g_strdup_printf("/dev/vfio/%d", s->group_id);
    struct vfio_group_status status = { .argsz = sizeof(status) };

    s->group = open(path, O_RDWR | O_CLOEXEC);
    if (s->group < 0) {
        int err = errno;

        error_setg_errno(errp, err, "vfio %s: cannot open %s", s->name, path);
        if (err == ENOENT) {
            error_append_hint(errp, "Is the device bound to vfio-pci?\n");
        } else if (err == EBUSY) {
            error_append_hint(errp, "The group is already open, in this process or "
                              "another one.\n");
        } else if (err == EACCES || err == EPERM) {
            error_append_hint(errp, "The user needs read and write access to %s.\n",
                              path);
        }
        return false;
    }
    if (ioctl(s->group, VFIO_GROUP_GET_STATUS, &status) < 0) {
        error_setg_errno(errp, errno, "vfio %s: cannot get the status of group %d",
                         s->name, s->group_id);
        return false;
    }
    if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
        error_setg(errp, "vfio %s: group %d is not viable", s->name, s->group_id);
        error_append_hint(errp, "Every device in /sys/kernel/iommu_groups/%d/devices "
                          "must be bound to vfio-pci or to no driver.\n", s->group_id);
        return false;
    }
    return true;
}

/*
 * The usable IOVA ranges: the kernel's, or the default window, each trimmed
 * to whole pages of @align and kept below the last page of the 64-bit
 * space.
 */
static bool qemu_vfio_init_iova_ranges(QEMUVFIOState *s, GList *kernel_ranges,
                                       Error **errp)
{
    uint64_t align = s->min_pgsize;
    uint64_t top = UINT64_MAX - align;     /* last usable IOVA at most */
    GArray *out = g_array_new(false, false, sizeof(Range));
    Range dflt = range_make(QEMU_VFIO_IOVA_MIN, QEMU_VFIO_IOVA_LIMIT - 1);
    GList *l;

    if (!kernel_ranges) {
        kernel_ranges = g_list_append(NULL, &dflt);
    } else {
        kernel_ranges = g_list_copy(kernel_ranges);
    }
    for (l = kernel_ranges; l; l = l->next) {
        const Range *r = l->data;
        uint64_t lob = ROUND_UP(r->lob, align);
        uint64_t end = ROUND_DOWN(MIN(r->upb, top) + 1, align);   /* exclusive */
        Range usable;

        if (lob < r->lob || r->lob > top || end <= lob) {
            continue;   /* rounding wrapped, or nothing of a whole page left */
        }
        usable = range_make(lob, end - 1);
        g_array_append_val(out, usable);
        trace_qemu_vfio_iova_range(s->name, lob, end - 1);
    }
    g_list_free(kernel_ranges);
    if (!out->len) {
        g_array_free(out, true);
        error_setg(errp, "vfio %s: the IOMMU leaves no usable IOVA range of "
                   "0x%" PRIx64 "-byte pages", s->name, align);
        return false;
    }
    s->nr_iova_ranges = out->len;
    s->iova_ranges = (Range *)g_array_free(out, false);
    s->iova_first = s->iova_ranges[0].lob;
    s->iova_last = s->iova_ranges[s->nr_iova_ranges - 1].upb;
    return true;
}

static bool qemu_vfio_init_container(QEMUVFIOState *s, Error **errp)
{
    ERRP_GUARD();
    struct vfio_iommu_type1_info arg = { 0 };
    void *buf = NULL;
    size_t size;
    VFIOIOMMUInfo info;
    int ret;

    s->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    if (s->container < 0) {
        error_setg_errno(errp, errno, "vfio %s: cannot open /dev/vfio/vfio", s->name);
        return false;
    }
    ret = ioctl(s->container, VFIO_GET_API_VERSION);
    if (ret != VFIO_API_VERSION) {
        error_setg(errp, "vfio %s: the kernel's VFIO API version is %d, not %d",
                   s->name, ret, VFIO_API_VERSION);
        return false;
    }
    if (ioctl(s->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0) {
        s->iommu_type = VFIO_TYPE1v2_IOMMU;
    } else if (ioctl(s->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0) {
        s->iommu_type = VFIO_TYPE1_IOMMU;
    } else {
        error_setg(errp, "vfio %s: the kernel offers no type1 IOMMU", s->name);
        return false;
    }
    if (ioctl(s->group, VFIO_GROUP_SET_CONTAINER, &s->container) < 0) {
        error_setg_errno(errp, errno, "vfio %s: cannot attach group %d to a container",
                         s->name, s->group_id);
        return false;
    }
    if (ioctl(s->container, VFIO_SET_IOMMU, s->iommu_type) < 0) {
        error_setg_errno(errp, errno, "vfio %s: cannot set the %s IOMMU", s->name,
                         s->iommu_type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1");
        if (errno == EPERM) {
            error_append_hint(errp, "Without interrupt remapping the kernel needs "
                              "vfio_iommu_type1.allow_unsafe_interrupts=1.\n");
        }
        return false;
    }

    ret = vfio_info_ioctl(s->container, VFIO_IOMMU_GET_INFO, &arg, sizeof(arg), &buf,
                          &size);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "vfio %s: cannot get the IOMMU info", s->name);
        return false;
    }
    if (!vfio_iommu_info_parse(buf, size, &info, errp)) {
        g_free(buf);
        error_prepend(errp, "vfio %s: ", s->name);
        return false;
    }
    g_free(buf);
    /* Sizes and IOVAs must be whole host pages and whole IOMMU pages. */
    s->min_pgsize = MAX((uint64_t)qemu_real_host_page_size(),
                        info.iova_pgsizes & -info.iova_pgsizes);
    s->max_mappings = info.dma_max_mappings;
    ret = qemu_vfio_init_iova_ranges(s, info.iova_ranges, errp);
    trace_qemu_vfio_init_container(s->name, s->iommu_type, info.iova_pgsizes,
                                   s->max_mappings, s->nr_iova_ranges);
    vfio_iommu_info_clear(&info);
    return ret;
}

/* Region info of @index with its capability chain: g_malloc'd, NULL on error. */
static struct vfio_region_info *qemu_vfio_region_info(QEMUVFIOState *s, uint32_t index,
                                                      size_t *size, Error **errp)
{
    struct vfio_region_info arg = { .index = index };
    void *buf;
    int ret;

    ret = vfio_info_ioctl(s->device, VFIO_DEVICE_GET_REGION_INFO, &arg, sizeof(arg),
                          &buf, size);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "vfio %s: cannot get the info of region %u",
                         s->name, index);
        return NULL;
    }
    return buf;
}

static bool qemu_vfio_init_bar(QEMUVFIOState *s, int index, Error **errp)
{
    QEMUVFIOBar *bar = &s->bars[index];
    const struct vfio_info_cap_header *hdr;
    struct vfio_region_info *info;
    size_t size;
    int ret;

    info = qemu_vfio_region_info(s, VFIO_PCI_BAR0_REGION_INDEX + index, &size, errp);
    if (!info) {
        return false;
    }
    bar->size_bytes = info->size;
    bar->fd_offset = info->offset;
    bar->flags = info->flags;
    if ((info->flags & VFIO_REGION_INFO_FLAG_CAPS) && info->cap_offset) {
        ret = vfio_info_cap_find(info, size, info->cap_offset,
                                 VFIO_REGION_INFO_CAP_SPARSE_MMAP,
                                 sizeof(struct vfio_region_info_cap_sparse_mmap), &hdr);
        if (ret == 0) {
            const struct vfio_region_info_cap_sparse_mmap *sp = (const void *)hdr;
            size_t room = vfio_info_cap_room(info, size, hdr) - sizeof(*sp);

            if (sp->nr_areas > room / sizeof(sp->areas[0])) {
                error_setg(errp, "vfio %s: BAR%d: sparse-mmap capability holds %u areas "
                           "in %zu bytes", s->name, index, sp->nr_areas, room);
                g_free(info);
                return false;
            }
            bar->sparse = true;
            bar->nr_areas = sp->nr_areas;
            bar->areas = g_memdup2(sp->areas, sp->nr_areas * sizeof(sp->areas[0]));
        } else if (ret != -ENOENT) {
            error_setg(errp, "vfio %s: BAR%d: malformed region capability chain",
                       s->name, index);
            g_free(info);
            return false;
        }
    }
    trace_qemu_vfio_init_bar(s->name, index, bar->size_bytes, bar->flags, bar->nr_areas);
    g_free(info);
    return true;
}

static bool qemu_vfio_init_device(QEMUVFIOState *s, Error **errp)
{
    struct vfio_device_info arg = { .argsz = sizeof(arg) };
    g_autofree struct vfio_device_info *dev_info = NULL;
    struct vfio_region_info *cfg;
    size_t size;
    uint16_t cmd;
    int ret;

    s->device = ioctl(s->group, VFIO_GROUP_GET_DEVICE_FD, s->name);
    if (s->device < 0) {
        error_setg_errno(errp, errno, "vfio %s: cannot get the device from group %d",
                         s->name, s->group_id);
        return false;
    }
    /* The argsz protocol: newer kernels append capabilities to the device info. */
    ret = vfio_info_ioctl(s->device, VFIO_DEVICE_GET_INFO, &arg, sizeof(arg),
                          (void **)&dev_info, &size);
    if (ret) {
        error_setg_errno(errp, -ret, "vfio %s: cannot get the device info", s->name);
        return false;
    }
    if (!(dev_info->flags & VFIO_DEVICE_FLAGS_PCI) ||
        dev_info->num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
        error_setg(errp, "vfio %s: not a PCI device (flags 0x%x, %u regions)", s->name,
                   dev_info->flags, dev_info->num_regions);
        return false;
    }
    s->num_irqs = dev_info->num_irqs;
    s->can_reset = dev_info->flags & VFIO_DEVICE_FLAGS_RESET;

    cfg = qemu_vfio_region_info(s, VFIO_PCI_CONFIG_REGION_INDEX, &size, errp);
    if (!cfg) {
        return false;
    }
    s->config_offset = cfg->offset;
    s->config_size = cfg->size;
    g_free(cfg);
    for (int i = 0; i < QEMU_VFIO_NUM_BARS; i++) {
        if (!qemu_vfio_init_bar(s, i, errp)) {
            return false;
        }
    }

    /* A userspace driver wants DMA (and MSI, which is a DMA write). */
    ret = qemu_vfio_pci_read_config(s, &cmd, sizeof(cmd), PCI_COMMAND);
    if (ret == 0) {
        cmd |= PCI_COMMAND_MASTER;
        ret = qemu_vfio_pci_write_config(s, &cmd, sizeof(cmd), PCI_COMMAND);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "vfio %s: cannot enable bus mastering", s->name);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Config space and BAR access */

static int qemu_vfio_region_rw(QEMUVFIOState *s, uint64_t fd_offset, uint64_t region_size,
                               uint64_t offset, void *buf, size_t size, bool write)
{
    ssize_t ret;

    if (offset > region_size || size > region_size - offset) {
        return -EINVAL;
    }
    do {
        if (write) {
            ret = pwrite(s->device, buf, size, fd_offset + offset);
        } else {
            ret = pread(s->device, buf, size, fd_offset + offset);
        }
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        return -errno;
    }
    return (size_t)ret == size ? 0 : -EIO;
}

int qemu_vfio_pci_read_config(QEMUVFIOState *s, void *buf, size_t size, uint64_t offset)
{
    return qemu_vfio_region_rw(s, s->config_offset, s->config_size, offset, buf, size,
                               false);
}

int qemu_vfio_pci_write_config(QEMUVFIOState *s, const void *buf, size_t size,
                               uint64_t offset)
{
    return qemu_vfio_region_rw(s, s->config_offset, s->config_size, offset, (void *)buf,
                               size, true);
}

static const QEMUVFIOBar *qemu_vfio_bar(QEMUVFIOState *s, int index)
{
    if (index < 0 || index >= QEMU_VFIO_NUM_BARS || !s->bars[index].size_bytes) {
        return NULL;
    }
    return &s->bars[index];
}

int qemu_vfio_pci_read_bar(QEMUVFIOState *s, int index, uint64_t offset, void *buf,
                           size_t size)
{
    const QEMUVFIOBar *bar = qemu_vfio_bar(s, index);

    if (!bar || !(bar->flags & VFIO_REGION_INFO_FLAG_READ)) {
        return -EINVAL;
    }
    return qemu_vfio_region_rw(s, bar->fd_offset, bar->size_bytes, offset, buf, size,
                               false);
}

int qemu_vfio_pci_write_bar(QEMUVFIOState *s, int index, uint64_t offset,
                            const void *buf, size_t size)
{
    const QEMUVFIOBar *bar = qemu_vfio_bar(s, index);

    if (!bar || !(bar->flags & VFIO_REGION_INFO_FLAG_WRITE)) {
        return -EINVAL;
    }
    return qemu_vfio_region_rw(s, bar->fd_offset, bar->size_bytes, offset, (void *)buf,
                               size, true);
}

bool qemu_vfio_pci_get_bar_info(QEMUVFIOState *s, int index, QEMUVFIOBarInfo *info,
                                Error **errp)
{
    const QEMUVFIOBar *bar;

    if (index < 0 || index >= QEMU_VFIO_NUM_BARS) {
        error_setg(errp, "vfio %s: there is no BAR%d", s->name, index);
        return false;
    }
    bar = &s->bars[index];
    info->size_bytes = bar->size_bytes;
    info->flags = bar->flags;
    if (!(bar->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
        info->nr_mmap_areas = 0;
    } else {
        info->nr_mmap_areas = bar->sparse ? bar->nr_areas : 1;
    }
    return true;
}

/* Whether [offset, offset + size) of @bar may be mmap'd. */
static bool qemu_vfio_bar_mappable(const QEMUVFIOBar *bar, uint64_t offset, uint64_t size)
{
    if (!(bar->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
        return false;
    }
    if (!bar->sparse) {
        return true;
    }
    for (uint32_t i = 0; i < bar->nr_areas; i++) {
        const struct vfio_region_sparse_mmap_area *a = &bar->areas[i];

        if (offset >= a->offset && offset - a->offset <= a->size &&
            size <= a->size - (offset - a->offset)) {
            return true;
        }
    }
    return false;
}

void *qemu_vfio_pci_map_bar(QEMUVFIOState *s, int index, uint64_t offset, uint64_t size,
                            int prot, Error **errp)
{
    ERRP_GUARD();
    const QEMUVFIOBar *bar = qemu_vfio_bar(s, index);
    void *p;

    if (!bar) {
        error_setg(errp, "vfio %s: BAR%d is not implemented", s->name, index);
        return NULL;
    }
    if (!size || offset > bar->size_bytes || size > bar->size_bytes - offset) {
        error_setg(errp, "vfio %s: cannot map 0x%" PRIx64 " bytes at 0x%" PRIx64
                   " of BAR%d: the BAR has 0x%" PRIx64 " bytes", s->name, size, offset,
                   index, bar->size_bytes);
        return NULL;
    }
    if (offset % qemu_real_host_page_size()) {
        error_setg(errp, "vfio %s: BAR%d offset 0x%" PRIx64 " is not page-aligned",
                   s->name, index, offset);
        return NULL;
    }
    if (prot & ~(PROT_READ | PROT_WRITE) ||
        ((prot & PROT_READ) && !(bar->flags & VFIO_REGION_INFO_FLAG_READ)) ||
        ((prot & PROT_WRITE) && !(bar->flags & VFIO_REGION_INFO_FLAG_WRITE))) {
        error_setg(errp, "vfio %s: BAR%d does not allow protection 0x%x (region "
                   "flags 0x%x)", s->name, index, prot, bar->flags);
        return NULL;
    }
    if (!qemu_vfio_bar_mappable(bar, offset, size)) {
        error_setg(errp, "vfio %s: [0x%" PRIx64 ", 0x%" PRIx64 ") of BAR%d cannot be "
                   "mmap'd", s->name, offset, offset + size, index);
        error_append_hint(errp, "Use qemu_vfio_pci_read_bar/write_bar for parts the "
                          "kernel does not let you map.\n");
        return NULL;
    }
    p = mmap(NULL, size, prot, MAP_SHARED, s->device, bar->fd_offset + offset);
    trace_qemu_vfio_pci_map_bar(s->name, index, offset, size, prot,
                                p == MAP_FAILED ? NULL : p);
    if (p == MAP_FAILED) {
        error_setg_errno(errp, errno, "vfio %s: cannot mmap BAR%d", s->name, index);
        return NULL;
    }
    return p;
}

void qemu_vfio_pci_unmap_bar(QEMUVFIOState *s, int index, void *bar, uint64_t offset,
                             uint64_t size)
{
    if (bar) {
        trace_qemu_vfio_pci_unmap_bar(s->name, index, offset, size);
        munmap(bar, size);
    }
}

/* ------------------------------------------------------------------------ */
/* Interrupts */

static int qemu_vfio_set_irqs(QEMUVFIOState *s, uint32_t index, uint32_t flags,
                              uint32_t count, int fd)
{
    struct {
        struct vfio_irq_set set;
        int32_t fd;
    } arg = {
        .set = {
            .argsz = sizeof(struct vfio_irq_set) + ((flags & VFIO_IRQ_SET_DATA_EVENTFD) ?
                                                   sizeof(int32_t) : 0),
            .flags = flags,
            .index = index,
            .start = 0,
            .count = count,
        },
        .fd = fd,
    };

    return ioctl(s->device, VFIO_DEVICE_SET_IRQS, &arg) < 0 ? -errno : 0;
}

static const char *qemu_vfio_irq_name(int index)
{
    switch (index) {
    case VFIO_PCI_INTX_IRQ_INDEX:
        return "INTx";
    case VFIO_PCI_MSI_IRQ_INDEX:
        return "MSI";
    case VFIO_PCI_MSIX_IRQ_INDEX:
        return "MSI-X";
    default:
        return "?";
    }
}

void qemu_vfio_pci_disable_irq(QEMUVFIOState *s)
{
    int ret;

    if (s->irq_index < 0) {
        return;
    }
    ret = qemu_vfio_set_irqs(s, s->irq_index,
                             VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, -1);
    trace_qemu_vfio_pci_disable_irq(s->name, s->irq_index, ret);
    s->irq_index = -1;
}

bool qemu_vfio_pci_init_irq(QEMUVFIOState *s, EventNotifier *e, int irq_type,
                            Error **errp)
{
    struct vfio_irq_info arg = { .argsz = sizeof(arg) };
    g_autofree struct vfio_irq_info *info = NULL;
    size_t size;
    int ret;

    if (irq_type != VFIO_PCI_INTX_IRQ_INDEX && irq_type != VFIO_PCI_MSI_IRQ_INDEX &&
        irq_type != VFIO_PCI_MSIX_IRQ_INDEX) {
        error_setg(errp, "vfio %s: IRQ index %d is not INTx, MSI or MSI-X", s->name,
                   irq_type);
        return false;
    }
    /* No capabilities today, but the same argsz protocol and the same code path. */
    arg.index = irq_type;
    ret = vfio_info_ioctl(s->device, VFIO_DEVICE_GET_IRQ_INFO, &arg, sizeof(arg),
                          (void **)&info, &size);
    if (ret) {
        error_setg_errno(errp, -ret, "vfio %s: cannot get the %s IRQ info", s->name,
                         qemu_vfio_irq_name(irq_type));
        return false;
    }
    if (!(info->flags & VFIO_IRQ_INFO_EVENTFD) || info->count < 1) {
        error_setg(errp, "vfio %s: the device has no %s interrupt that signals an "
                   "eventfd (count %u, flags 0x%x)", s->name,
                   qemu_vfio_irq_name(irq_type), info->count, info->flags);
        return false;
    }
    if (s->irq_index >= 0 && s->irq_index != irq_type) {
        qemu_vfio_pci_disable_irq(s);
    }
    if (irq_type == VFIO_PCI_INTX_IRQ_INDEX) {
        uint16_t cmd;

        /* The pin must not be held off by the command register. */
        ret = qemu_vfio_pci_read_config(s, &cmd, sizeof(cmd), PCI_COMMAND);
        if (ret == 0 && (cmd & PCI_COMMAND_INTX_DISABLE)) {
            cmd &= ~PCI_COMMAND_INTX_DISABLE;
            ret = qemu_vfio_pci_write_config(s, &cmd, sizeof(cmd), PCI_COMMAND);
        }
        if (ret < 0) {
            error_setg_errno(errp, -ret, "vfio %s: cannot enable INTx in the command "
                             "register", s->name);
            return false;
        }
    }
    ret = qemu_vfio_set_irqs(s, irq_type,
                             VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 1,
                             event_notifier_get_fd(e));
    trace_qemu_vfio_pci_init_irq(s->name, irq_type, event_notifier_get_fd(e), ret);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "vfio %s: cannot deliver %s to an eventfd",
                         s->name, qemu_vfio_irq_name(irq_type));
        return false;
    }
    s->irq_index = irq_type;
    return true;
}

bool qemu_vfio_pci_unmask_irq(QEMUVFIOState *s, Error **errp)
{
    int ret;

    if (s->irq_index != VFIO_PCI_INTX_IRQ_INDEX) {
        error_setg(errp, "vfio %s: INTx is not in use", s->name);
        return false;
    }
    ret = qemu_vfio_set_irqs(s, VFIO_PCI_INTX_IRQ_INDEX,
                             VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, 1, -1);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "vfio %s: cannot unmask INTx", s->name);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* DMA mappings (all called with s->lock held) */

static int qemu_vfio_do_unmap(QEMUVFIOState *s, uint64_t iova, uint64_t size,
                              uint64_t *unmapped)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap),
        .iova = iova,
        .size = size,
    };
    int ret;

    s->dma_ioctls++;
    ret = ioctl(s->container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0 ? -errno : 0;
    trace_qemu_vfio_do_unmap(s->name, iova, size, ret ? 0 : unmap.size, ret);
    if (unmapped) {
        *unmapped = ret ? 0 : unmap.size;
    }
    return ret;
}

static int qemu_vfio_do_map(QEMUVFIOState *s, uint64_t iova, uintptr_t host, uint64_t size)
{
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = host,
        .iova = iova,
        .size = size,
    };
    int ret;

    s->dma_ioctls++;
    ret = ioctl(s->container, VFIO_IOMMU_MAP_DMA, &map) < 0 ? -errno : 0;
    if (ret == -EBUSY) {
        /*
         * Our tree says the range is free, so the kernel holds something we
         * forgot (a failed unmap): drop it and try once more.
         */
        qemu_vfio_do_unmap(s, iova, size, NULL);
        s->dma_ioctls++;
        ret = ioctl(s->container, VFIO_IOMMU_MAP_DMA, &map) < 0 ? -errno : 0;
    }
    trace_qemu_vfio_do_map(s->name, (void *)host, size, iova, ret);
    return ret;
}

/*
 * How many bytes from map->translated_addr are mapped in the kernel: the
 * whole node, except for a RAM block, whose node also reserves its max size.
 */
static uint64_t qemu_vfio_mapped_bytes(QEMUVFIOState *s, const DMAMap *map)
{
    if (g_hash_table_size(s->ram_blocks)) {
        QEMUVFIORamBlock *rb = g_hash_table_lookup(s->ram_blocks,
                                                   (void *)(uintptr_t)map->translated_addr);

        if (rb && rb->iova == map->iova) {
            return rb->used_bytes;
        }
    }
    return qemu_vfio_size(map);
}

static inline uint32_t qemu_vfio_nr_mappings(QEMUVFIOState *s)
{
    return iova_tree_nr_maps(s->fixed) + iova_tree_nr_maps(s->temps);
}

/* The mapping of @tree that contains @host, or NULL. */
static const DMAMap *qemu_vfio_find_host_in(IOVATree *tree, uintptr_t host)
{
    DMAMap key = { .translated_addr = host, .size = 0 };

    return iova_tree_find_iova(tree, &key);
}

/* The IOVA of [host, host + size) when one mapping covers it all. */
static bool qemu_vfio_find_host(QEMUVFIOState *s, uintptr_t host, uint64_t size,
                                uint64_t *iova)
{
    IOVATree *trees[] = { s->fixed, s->temps };

    for (int i = 0; i < ARRAY_SIZE(trees); i++) {
        const DMAMap *map = qemu_vfio_find_host_in(trees[i], host);
        uint64_t off, len;

        if (!map) {
            continue;
        }
        off = host - map->translated_addr;
        len = qemu_vfio_mapped_bytes(s, map);
        if (off < len && size <= len - off) {
            *iova = map->iova + off;
            return true;
        }
    }
    return false;
}

/*
 * Allocate the IOVA of @map: the lowest free range below the temporary
 * area for a fixed mapping, the highest free one above the fixed area for
 * a temporary one, inside one usable IOVA range.
 */
static bool qemu_vfio_alloc_iova(QEMUVFIOState *s, DMAMap *map, bool temporary)
{
    uint64_t need = qemu_vfio_size(map);

    if (!temporary) {
        for (uint32_t i = 0; i < s->nr_iova_ranges; i++) {
            const Range *r = &s->iova_ranges[i];
            uint64_t last;

            if (r->lob >= s->temp_start) {
                break;
            }
            last = MIN(r->upb, s->temp_start - 1);
            if (last - r->lob + 1 >= need &&
                iova_tree_alloc_map(s->fixed, map, r->lob, last) == IOVA_OK) {
                return true;
            }
        }
    } else {
        for (uint32_t i = s->nr_iova_ranges; i-- > 0;) {
            const Range *r = &s->iova_ranges[i];
            uint64_t first;

            if (r->upb < s->fixed_limit) {
                break;
            }
            first = MAX(r->lob, s->fixed_limit);
            if (r->upb - first + 1 >= need &&
                iova_tree_alloc_map_top_down(s->temps, map, first, r->upb) == IOVA_OK) {
                return true;
            }
        }
    }
    return false;
}

/*
 * Add a mapping: reserve @reserve_bytes of IOVA for @host and map the first
 * @map_bytes of it in the kernel.
 */
static bool qemu_vfio_add_mapping(QEMUVFIOState *s, uintptr_t host, uint64_t reserve_bytes,
                                  uint64_t map_bytes, bool temporary, uint64_t *iova,
                                  Error **errp)
{
    ERRP_GUARD();
    DMAMap map = {
        .translated_addr = host,
        .size = reserve_bytes - 1,
        .perm = IOMMU_RW,
    };
    int ret;

    if (qemu_vfio_nr_mappings(s) >= s->max_mappings) {
        error_setg(errp, "vfio %s: cannot map 0x%" PRIx64 " bytes at %p: the kernel "
                   "allows %u DMA mappings and all are in use", s->name, reserve_bytes,
                   (void *)host, s->max_mappings);
        return false;
    }
    if (!qemu_vfio_alloc_iova(s, &map, temporary)) {
        trace_qemu_vfio_dma_exhausted(s->name, reserve_bytes, temporary, s->fixed_limit,
                                      s->temp_start);
        error_setg(errp, "vfio %s: IOVA space exhausted: no free range of 0x%" PRIx64
                   " bytes for a %s mapping (fixed area below 0x%" PRIx64
                   ", temporary area from 0x%" PRIx64 ")", s->name, reserve_bytes,
                   temporary ? "temporary" : "fixed", s->fixed_limit, s->temp_start);
        if (temporary) {
            error_append_hint(errp, "qemu_vfio_dma_reset_temporary() recycles the "
                              "temporary area.\n");
        }
        return false;
    }
    ret = map_bytes ? qemu_vfio_do_map(s, map.iova, host, map_bytes) : 0;
    if (ret < 0) {
        iova_tree_remove(temporary ? s->temps : s->fixed, map);
        error_setg_errno(errp, -ret, "vfio %s: cannot map 0x%" PRIx64 " bytes at %p to "
                         "IOVA 0x%" PRIx64, s->name, map_bytes, (void *)host, map.iova);
        if (ret == -ENOSPC) {
            error_append_hint(errp, "The kernel's limit of DMA mappings "
                              "(vfio_iommu_type1.dma_entry_limit) is reached.\n");
        }
        return false;
    }
    if (temporary) {
        s->temp_start = MIN(s->temp_start, map.iova);
    } else {
        s->fixed_limit = MAX(s->fixed_limit, map.iova + reserve_bytes);
    }
    *iova = map.iova;
    return true;
}

/*
 * The end (exclusive) of the highest mapping lying wholly below @below, or
 * iova_first when there is none: a binary search over the IOVA for the
 * largest start whose range up to @below still holds a mapping, each probe
 * O(log n).
 */
static uint64_t qemu_vfio_highest_end_below(QEMUVFIOState *s, uint64_t below)
{
    uint64_t lo = s->iova_first, hi;
    DMAMap key;
    const DMAMap *map;

    if (below <= lo) {
        return s->iova_first;
    }
    hi = below - 1;
    key = (DMAMap){ .iova = lo, .size = hi - lo };
    if (!iova_tree_find(s->fixed, &key)) {
        return s->iova_first;
    }
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;

        key = (DMAMap){ .iova = mid, .size = below - 1 - mid };
        if (iova_tree_find(s->fixed, &key)) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    key = (DMAMap){ .iova = lo, .size = below - 1 - lo };
    map = iova_tree_find(s->fixed, &key);
    return map->iova + qemu_vfio_size(map);
}

/* Forget @map (already unmapped from the kernel) and fix the water marks. */
static void qemu_vfio_forget_mapping(QEMUVFIOState *s, DMAMap map)
{
    uint64_t end = map.iova + qemu_vfio_size(&map);
    bool temporary = map.iova >= s->temp_start;

    iova_tree_remove(temporary ? s->temps : s->fixed, map);
    if (temporary) {
        if (map.iova == s->temp_start) {
            DMAMap key = { .iova = end, .size = s->iova_last - end };
            const DMAMap *next = end <= s->iova_last ? iova_tree_find(s->temps, &key) : NULL;

            s->temp_start = next ? next->iova : s->iova_last + 1;
        }
    } else if (end == s->fixed_limit) {
        s->fixed_limit = qemu_vfio_highest_end_below(s, map.iova);
    }
}

/* ------------------------------------------------------------------------ */
/* DMA API */

bool qemu_vfio_dma_map(QEMUVFIOState *s, void *host, size_t size, bool temporary,
                       uint64_t *iova, Error **errp)
{
    uintptr_t h = (uintptr_t)host;
    uint64_t result = 0;
    bool ok = true;

    if (!size || h % s->min_pgsize || size % s->min_pgsize || h + size - 1 < h) {
        error_setg(errp, "vfio %s: cannot map 0x%zx bytes at %p: address and size must "
                   "be non-zero multiples of 0x%" PRIx64, s->name, size, host,
                   s->min_pgsize);
        return false;
    }
    pthread_mutex_lock(&s->lock);
    if (qemu_vfio_find_host(s, h, size, &result)) {
        trace_qemu_vfio_dma_map(s->name, host, size, temporary, result, true);
    } else {
        ok = qemu_vfio_add_mapping(s, h, size, size, temporary, &result, errp);
        if (ok) {
            trace_qemu_vfio_dma_map(s->name, host, size, temporary, result, false);
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (ok && iova) {
        *iova = result;
    }
    return ok;
}

bool qemu_vfio_dma_reset_temporary(QEMUVFIOState *s, Error **errp)
{
    DMAMap all;
    uint64_t unmapped;
    int ret;

    pthread_mutex_lock(&s->lock);
    trace_qemu_vfio_dma_reset_temporary(s->name, iova_tree_nr_maps(s->temps),
                                        s->temp_start);
    if (!iova_tree_nr_maps(s->temps)) {
        pthread_mutex_unlock(&s->lock);
        return true;
    }
    /*
     * Everything from temp_start up is temporary and whole: one UNMAP_DMA
     * covers it (type1v2 refuses only an unmap that splits a mapping).
     */
    all = (DMAMap){ .iova = s->temp_start, .size = s->iova_last - s->temp_start };
    ret = qemu_vfio_do_unmap(s, all.iova, qemu_vfio_size(&all), &unmapped);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "vfio %s: cannot unmap the temporary IOVA area "
                         "[0x%" PRIx64 ", 0x%" PRIx64 "]", s->name, all.iova,
                         s->iova_last);
        pthread_mutex_unlock(&s->lock);
        return false;
    }
    iova_tree_remove(s->temps, all);
    s->temp_start = s->iova_last + 1;
    pthread_mutex_unlock(&s->lock);
    return true;
}

void qemu_vfio_dma_unmap(QEMUVFIOState *s, void *host)
{
    DMAMap key = { .translated_addr = (uintptr_t)host, .size = 0 };
    const DMAMap *found;
    DMAMap map;
    int ret;

    pthread_mutex_lock(&s->lock);
    found = iova_tree_find_iova(s->fixed, &key);
    if (!found) {
        found = iova_tree_find_iova(s->temps, &key);
    }
    if (!found) {
        goto out;
    }
    map = *found;
    if (g_hash_table_size(s->ram_blocks)) {
        QEMUVFIORamBlock *rb = g_hash_table_lookup(s->ram_blocks,
                                                   (void *)(uintptr_t)map.translated_addr);

        if (rb && rb->iova == map.iova) {
            warn_report("vfio %s: %p belongs to a RAM block; it stays mapped", s->name,
                        host);
            goto out;
        }
    }
    trace_qemu_vfio_dma_unmap(s->name, host, map.iova, qemu_vfio_size(&map));
    ret = qemu_vfio_do_unmap(s, map.iova, qemu_vfio_size(&map), NULL);
    if (ret < 0) {
        error_report("vfio %s: cannot unmap IOVA 0x%" PRIx64 " (%p): %s", s->name,
                     map.iova, host, strerror(-ret));
        goto out;
    }
    qemu_vfio_forget_mapping(s, map);
out:
    pthread_mutex_unlock(&s->lock);
}

bool qemu_vfio_dma_lookup(QEMUVFIOState *s, const void *host, size_t size, uint64_t *iova)
{
    uint64_t result;
    bool found;

    pthread_mutex_lock(&s->lock);
    found = qemu_vfio_find_host(s, (uintptr_t)host, MAX(size, 1), &result);
    pthread_mutex_unlock(&s->lock);
    if (found && iova) {
        *iova = result;
    }
    return found;
}

void qemu_vfio_dma_get_stats(QEMUVFIOState *s, QEMUVFIODMAStats *st)
{
    pthread_mutex_lock(&s->lock);
    *st = (QEMUVFIODMAStats){
        .iova_first = s->iova_first,
        .iova_last = s->iova_last,
        .fixed_limit = s->fixed_limit,
        .temp_start = s->temp_start,
        .min_pgsize = s->min_pgsize,
        .nr_iova_ranges = s->nr_iova_ranges,
        .nr_fixed = iova_tree_nr_maps(s->fixed),
        .nr_temporary = iova_tree_nr_maps(s->temps),
        .nr_ram_blocks = g_hash_table_size(s->ram_blocks),
        .max_mappings = s->max_mappings,
        .dma_ioctls = s->dma_ioctls,
        .ram_block_errors = s->ram_block_errors,
    };
    pthread_mutex_unlock(&s->lock);
}

GList *qemu_vfio_get_iova_ranges(QEMUVFIOState *s)
{
    GList *list = NULL;

    for (uint32_t i = s->nr_iova_ranges; i-- > 0;) {
        list = g_list_prepend(list, g_memdup2(&s->iova_ranges[i], sizeof(Range)));
    }
    return list;
}

const char *qemu_vfio_device_name(const QEMUVFIOState *s)
{
    return s->name;
}

/* ------------------------------------------------------------------------ */
/* RAM blocks */

/* A failure in a notifier: fails the open during the replay, else reported. */
static void qemu_vfio_ram_block_error(QEMUVFIOState *s, Error *err)
{
    if (s->opening) {
        if (!s->ram_open_err) {
            s->ram_open_err = err;
            return;
        }
        error_free(err);
        return;
    }
    s->ram_block_errors++;
    error_report_err(err);
}

static void qemu_vfio_ram_block_added(RAMBlockNotifier *n, void *host, size_t size,
                                      size_t max_size)
{
    QEMUVFIOState *s = container_of(n, QEMUVFIOState, ram_notifier);
    uintptr_t h = (uintptr_t)host;
    QEMUVFIORamBlock *rb;
    Error *err = NULL;
    uint64_t iova;
    bool ok;

    trace_qemu_vfio_ram_block_added(s->name, host, size, max_size);
    max_size = MAX(max_size, size);
    if (h % s->min_pgsize || size % s->min_pgsize || max_size % s->min_pgsize ||
        !max_size) {
        error_setg(&err, "vfio %s: cannot map RAM block %p (0x%zx of 0x%zx bytes): not "
                   "aligned to 0x%" PRIx64, s->name, host, size, max_size, s->min_pgsize);
        qemu_vfio_ram_block_error(s, err);
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (g_hash_table_contains(s->ram_blocks, host)) {
        ok = true;      /* announced twice: already followed */
    } else {
        ok = qemu_vfio_add_mapping(s, h, max_size, size, false, &iova, &err);
        if (ok) {
            rb = g_new(QEMUVFIORamBlock, 1);
            *rb = (QEMUVFIORamBlock){ .host = h, .iova = iova, .used_bytes = size,
                                      .max_bytes = max_size };
            g_hash_table_insert(s->ram_blocks, host, rb);
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (!ok) {
        error_prepend(&err, "RAM block: ");
        qemu_vfio_ram_block_error(s, err);
    }
}

static void qemu_vfio_ram_block_removed(RAMBlockNotifier *n, void *host, size_t size,
                                        size_t max_size)
{
    QEMUVFIOState *s = container_of(n, QEMUVFIOState, ram_notifier);
    QEMUVFIORamBlock *rb;
    int ret = 0;

    trace_qemu_vfio_ram_block_removed(s->name, host, size, max_size);
    pthread_mutex_lock(&s->lock);
    rb = g_hash_table_lookup(s->ram_blocks, host);
    if (rb) {
        DMAMap map = { .iova = rb->iova, .translated_addr = rb->host,
                       .size = rb->max_bytes - 1, .perm = IOMMU_RW };

        if (rb->used_bytes) {
            ret = qemu_vfio_do_unmap(s, rb->iova, rb->used_bytes, NULL);
        }
        /* The memory goes away whatever the kernel said: forget it anyway. */
        qemu_vfio_forget_mapping(s, map);
        g_hash_table_remove(s->ram_blocks, host);
    }
    pthread_mutex_unlock(&s->lock);
    if (ret < 0) {
        Error *err = NULL;

        error_setg_errno(&err, -ret, "vfio %s: cannot unmap RAM block %p", s->name, host);
        qemu_vfio_ram_block_error(s, err);
    }
}

/*
 * A resize remaps the block at the same IOVA.  Blocks are resized while
 * the machine is quiescent (incoming migration, reset), so the moment the
 * block is unmapped is not a DMA hazard; type1v2 would refuse to shrink a
 * mapping by unmapping its tail anyway.
 */
static void qemu_vfio_ram_block_resized(RAMBlockNotifier *n, void *host, size_t old_size,
                                        size_t new_size)
{
    QEMUVFIOState *s = container_of(n, QEMUVFIOState, ram_notifier);
    QEMUVFIORamBlock *rb;
    Error *err = NULL;
    int ret = 0;

    trace_qemu_vfio_ram_block_resized(s->name, host, old_size, new_size);
    pthread_mutex_lock(&s->lock);
    rb = g_hash_table_lookup(s->ram_blocks, host);
    if (!rb || rb->used_bytes == new_size) {
        goto out;
    }
    if (new_size % s->min_pgsize || new_size > rb->max_bytes) {
        error_setg(&err, "vfio %s: cannot resize RAM block %p to 0x%zx bytes (max 0x%"
                   PRIx64 ", alignment 0x%" PRIx64 ")", s->name, host, new_size,
                   rb->max_bytes, s->min_pgsize);
        goto out;
    }
    if (rb->used_bytes) {
        ret = qemu_vfio_do_unmap(s, rb->iova, rb->used_bytes, NULL);
        if (ret < 0) {
            error_setg_errno(&err, -ret, "vfio %s: cannot unmap RAM block %p to resize "
                             "it", s->name, host);
            goto out;
        }
        rb->used_bytes = 0;
    }
    if (new_size) {
        ret = qemu_vfio_do_map(s, rb->iova, rb->host, new_size);
        if (ret < 0) {
            error_setg_errno(&err, -ret, "vfio %s: cannot remap RAM block %p with 0x%zx "
                             "bytes", s->name, host, new_size);
            goto out;
        }
        rb->used_bytes = new_size;
    }
out:
    pthread_mutex_unlock(&s->lock);
    if (err) {
        qemu_vfio_ram_block_error(s, err);
    }
}

/* ------------------------------------------------------------------------ */
/* Open and close */

static void qemu_vfio_unmap_all(QEMUVFIOState *s)
{
    uint32_t nr;
    uint64_t unmapped;
    int ret;

    pthread_mutex_lock(&s->lock);
    nr = qemu_vfio_nr_mappings(s);
    if (nr) {
        /*
         * Nothing of ours is split by the whole usable space, so one
         * UNMAP_DMA releases every mapping.
         */
        ret = qemu_vfio_do_unmap(s, s->iova_first, s->iova_last - s->iova_first + 1,
                                 &unmapped);
        if (ret < 0) {
            error_report("vfio %s: cannot unmap %u DMA mappings: %s", s->name, nr,
                         strerror(-ret));
        }
    }
    iova_tree_destroy(s->fixed);
    iova_tree_destroy(s->temps);
    s->fixed = iova_tree_new();
    s->temps = iova_tree_new();
    g_hash_table_remove_all(s->ram_blocks);
    s->fixed_limit = s->iova_first;
    s->temp_start = s->iova_last + 1;
    pthread_mutex_unlock(&s->lock);
}

static void qemu_vfio_free(QEMUVFIOState *s)
{
    if (s->device >= 0) {
        close(s->device);
    }
    if (s->group >= 0) {
        close(s->group);
    }
    if (s->container >= 0) {
        close(s->container);
    }
    for (int i = 0; i < QEMU_VFIO_NUM_BARS; i++) {
        g_free(s->bars[i].areas);
    }
    iova_tree_destroy(s->fixed);
    iova_tree_destroy(s->temps);
    g_hash_table_destroy(s->ram_blocks);
    pthread_mutex_destroy(&s->lock);
    error_free(s->ram_open_err);
    g_free(s->iova_ranges);
    g_free(s->name);
    g_free(s);
}

QEMUVFIOState *qemu_vfio_open_pci(const char *device, Error **errp)
{
    QEMUVFIOState *s;

    if (!device || !qemu_vfio_valid_bdf(device)) {
        error_setg(errp, "vfio: '%s' is not a PCI address like 0000:00:01.0",
                   device ? device : "(null)");
        return NULL;
    }
    s = g_new0(QEMUVFIOState, 1);
    s->name = g_strdup(device);
    s->container = s->group = s->device = -1;
    s->irq_index = -1;
    s->fixed = iova_tree_new();
    s->temps = iova_tree_new();
    s->ram_blocks = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    pthread_mutex_init(&s->lock, NULL);

    if (!qemu_vfio_find_group(device, &s->group_id, errp) ||
        !qemu_vfio_open_group(s, errp) ||
        !qemu_vfio_init_container(s, errp) ||
        !qemu_vfio_init_device(s, errp)) {
        qemu_vfio_free(s);
        return NULL;
    }
    s->fixed_limit = s->iova_first;
    s->temp_start = s->iova_last + 1;

    s->ram_notifier.ram_block_added = qemu_vfio_ram_block_added;
    s->ram_notifier.ram_block_removed = qemu_vfio_ram_block_removed;
    s->ram_notifier.ram_block_resized = qemu_vfio_ram_block_resized;
    s->opening = true;
    ram_block_notifier_add(&s->ram_notifier);
    s->opening = false;
    if (s->ram_open_err) {
        error_propagate(errp, s->ram_open_err);
        s->ram_open_err = NULL;
        qemu_vfio_close(s);
        return NULL;
    }
    trace_qemu_vfio_open_pci(s->name, s->group_id, iova_tree_nr_maps(s->fixed));
    return s;
}

void qemu_vfio_close(QEMUVFIOState *s)
{
    uint16_t cmd;

    if (!s) {
        return;
    }
    trace_qemu_vfio_close(s->name, qemu_vfio_nr_mappings(s));
    if (s->ram_notifier.registered) {
        ram_block_notifier_remove(&s->ram_notifier);
    }
    qemu_vfio_pci_disable_irq(s);
    /* Stop the device's DMA before its memory goes away. */
    if (qemu_vfio_pci_read_config(s, &cmd, sizeof(cmd), PCI_COMMAND) == 0) {
        cmd &= ~PCI_COMMAND_MASTER;
        qemu_vfio_pci_write_config(s, &cmd, sizeof(cmd), PCI_COMMAND);
    }
    if (s->can_reset) {
        ioctl(s->device, VFIO_DEVICE_RESET);
    }
    qemu_vfio_unmap_all(s);
    qemu_vfio_free(s);
}
