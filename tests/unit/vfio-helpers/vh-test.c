/*
 * Helpers shared by the vfio-helpers tests (see vh-test.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "vh-test.h"
#include "qemu/event_notifier.h"

#include <dirent.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

void vh_message(const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (g_test_subprocess()) {
        g_printerr("%s\n", msg);
    } else {
        g_test_message("%s", msg);
    }
}

const char *vh_device(void)
{
    const char *bdf = g_getenv("APERTURE_VFIO_DEVICE");

    return bdf && *bdf ? bdf : VH_DEFAULT_DEVICE;
}

bool vh_require_device(const char *bdf)
{
    g_autofree char *link = g_strdup_printf("/sys/bus/pci/devices/%s/iommu_group", bdf);
    char target[PATH_MAX];

    if (access("/dev/vfio/vfio", F_OK) != 0) {
        g_test_skip("no VFIO here: /dev/vfio/vfio is missing");
        return false;
    }
    if (readlink(link, target, sizeof(target)) < 0) {
        g_autofree char *msg = g_strdup_printf("device %s has no IOMMU group here", bdf);

        g_test_skip(msg);
        return false;
    }
    return true;
}

void vh_assert_no_error(Error *err)
{
    if (err) {
        vh_message("unexpected error: %s", error_get_pretty(err));
        error_free(err);
        g_test_fail();
        g_assert_not_reached();
    }
}

void vh_assert_error(Error **err, const char *needle)
{
    if (!*err) {
        vh_message("expected an error mentioning \"%s\", got none", needle);
        g_assert_not_reached();
    }
    if (!strstr(error_get_pretty(*err), needle)) {
        vh_message("expected an error mentioning \"%s\", got \"%s\"", needle,
                       error_get_pretty(*err));
        g_assert_not_reached();
    }
    error_free(*err);
    *err = NULL;
}

QEMUVFIOState *vh_open(const char *bdf)
{
    Error *err = NULL;
    QEMUVFIOState *s = qemu_vfio_open_pci(bdf, &err);

    vh_assert_no_error(err);
    g_assert_nonnull(s);
    return s;
}

void *vh_alloc(size_t size, int byte)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    g_assert_true(p != MAP_FAILED);
    memset(p, byte, size);
    return p;
}

void vh_free(void *p, size_t size)
{
    munmap(p, size);
}

GHashTable *vh_fds_snapshot(void)
{
    GHashTable *fds = g_hash_table_new(g_direct_hash, g_direct_equal);
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *de;

    g_assert_nonnull(dir);
    while ((de = readdir(dir))) {
        /* Not the directory's own fd: its number is free again afterwards. */
        if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(dir)) {
            g_hash_table_add(fds, GINT_TO_POINTER(atoi(de->d_name)));
        }
    }
    closedir(dir);
    return fds;
}

void vh_dup_vfio_fds(GHashTable *before, int *container, int *group)
{
    g_autoptr(GHashTable) now = vh_fds_snapshot();
    GHashTableIter it;
    gpointer key;

    *container = *group = -1;
    g_hash_table_iter_init(&it, now);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        int fd = GPOINTER_TO_INT(key);
        struct vfio_group_status status = { .argsz = sizeof(status) };

        if (g_hash_table_contains(before, key)) {
            continue;
        }
        if (ioctl(fd, VFIO_GET_API_VERSION) == VFIO_API_VERSION) {
            *container = dup(fd);
        } else if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) == 0) {
            *group = dup(fd);
        }
    }
    g_assert_cmpint(*container, >=, 0);
    g_assert_cmpint(*group, >=, 0);
}

uint64_t vh_container_unmap_everything(int container)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap),
        .flags = VFIO_DMA_UNMAP_FLAG_ALL,
    };

    if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL) <= 0) {
        unmap.flags = 0;
        unmap.iova = 0;
        unmap.size = 1ULL << 63;
    }
    if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0) {
        vh_message("UNMAP_DMA of everything: %s", strerror(errno));
        g_assert_not_reached();
    }
    return unmap.size;
}

bool vh_notifier_wait(EventNotifier *e, int timeout_ms)
{
    struct pollfd pfd = { .fd = event_notifier_get_fd(e), .events = POLLIN };
    int ret;

    do {
        ret = poll(&pfd, 1, timeout_ms);
    } while (ret < 0 && errno == EINTR);
    if (ret != 1) {
        return false;
    }
    return event_notifier_test_and_clear(e);
}

uint32_t vh_bar0_read32(QEMUVFIOState *s, uint32_t offset)
{
    uint32_t val = 0;

    g_assert_cmpint(qemu_vfio_pci_read_bar(s, 0, offset, &val, sizeof(val)), ==, 0);
    return val;
}

void vh_bar0_write32(QEMUVFIOState *s, uint32_t offset, uint32_t val)
{
    g_assert_cmpint(qemu_vfio_pci_write_bar(s, 0, offset, &val, sizeof(val)), ==, 0);
}
