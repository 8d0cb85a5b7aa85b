/*
 * vfio-sim: device DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*), the
 * device-side dirty tracking a variant driver such as mlx5-vfio offers.
 *
 * The core checks (vfio_main.c) are reproduced exactly: at most 256 ranges,
 * aligned to the requested page size, not overlapping, not wrapping
 * (EOVERFLOW); the report's page size a power of two of at least 4 KiB.  The
 * driver part is the sim's: the tracking granularity is the requested page
 * size rounded up to a power of two (at least 4 KiB) and written back, and
 * a report sets the bits of every page written since the last report, then
 * forgets them (read-and-clear).  DMA outside the logged ranges is not
 * recorded, as on hardware with a fixed set of trackers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "uaccess.h"
#include "trace/trace-vfio_sim.h"

#include <stddef.h>

#define SIM_LOG_MAX_RANGES 256

static bool sim_log_supported(SimDevice *dev)
{
    return dev->cfg.model == SIM_MODEL_MIG;
}

void sim_log_free(SimDevice *dev)
{
    for (int i = 0; i < dev->log_nr_ranges; i++) {
        g_free(dev->log_bitmaps[i]);
    }
    g_clear_pointer(&dev->log_bitmaps, g_free);
    g_clear_pointer(&dev->log_ranges, g_free);
    dev->log_nr_ranges = 0;
    dev->logging = false;
}

long sim_log_start(SimDevice *dev, uint32_t flags, void *data, size_t size)
{
    struct vfio_device_feature_dma_logging_control control;
    size_t minsz = offsetof(struct vfio_device_feature_dma_logging_control, ranges) +
                   sizeof(control.ranges);
    g_autofree struct vfio_device_feature_dma_logging_range *ranges = NULL;
    uint64_t page_size;
    int ret;

    if (!sim_log_supported(dev)) {
        return -ENOTTY;
    }
    ret = sim_check_feature(flags, size, VFIO_DEVICE_FEATURE_SET, sizeof(control));
    if (ret != 1) {
        return ret;
    }
    if (sim_copy_from_user(&control, data, minsz) < 0) {
        return -EFAULT;
    }
    if (!control.num_ranges) {
        return -EINVAL;
    }
    if (control.num_ranges > SIM_LOG_MAX_RANGES) {
        return -E2BIG;
    }
    ranges = g_new0(struct vfio_device_feature_dma_logging_range, control.num_ranges);
    for (uint32_t i = 0; i < control.num_ranges; i++) {
        struct vfio_device_feature_dma_logging_range *r = &ranges[i];
        uint64_t end;

        if (sim_copy_from_user(r, (char *)(uintptr_t)control.ranges + i * sizeof(*r),
                               sizeof(*r)) < 0) {
            return -EFAULT;
        }
        /* IS_ALIGNED() with the caller's page size, as the core does. */
        if ((r->iova & (control.page_size - 1)) || (r->length & (control.page_size - 1))) {
            return -EINVAL;
        }
        if (__builtin_add_overflow(r->iova, r->length, &end)) {
            return -EOVERFLOW;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (r->length && ranges[j].length && r->iova <= ranges[j].iova + ranges[j].length - 1 &&
                ranges[j].iova <= r->iova + r->length - 1) {
                return -EINVAL;
            }
        }
    }
    /* The driver's part. */
    if (dev->logging) {
        return -EINVAL;
    }
    if (!control.page_size || (control.page_size & (control.page_size - 1))) {
        return -EINVAL;
    }
    page_size = MAX(control.page_size, SIM_PAGE_SIZE);
    dev->log_page_size = page_size;
    dev->log_nr_ranges = control.num_ranges;
    dev->log_ranges = g_steal_pointer(&ranges);
    dev->log_bitmaps = g_new0(unsigned long *, control.num_ranges);
    for (uint32_t i = 0; i < control.num_ranges; i++) {
        uint64_t pages = DIV_ROUND_UP(dev->log_ranges[i].length, page_size);

        dev->log_bitmaps[i] = g_try_malloc0(sim_bitmap_bytes(pages) + 8);
        if (!dev->log_bitmaps[i]) {
            sim_log_free(dev);
            return -ENOMEM;
        }
    }
    dev->logging = true;
    control.page_size = page_size;
    if (sim_copy_to_user(data, &control, sizeof(control)) < 0) {
        sim_log_free(dev);
        return -EFAULT;
    }
    trace_vfio_sim_log(dev->cfg.bdf, "start", control.num_ranges, page_size);
    return 0;
}

long sim_log_stop(SimDevice *dev, uint32_t flags, void *data, size_t size)
{
    int ret;

    if (!sim_log_supported(dev)) {
        return -ENOTTY;
    }
    ret = sim_check_feature(flags, size, VFIO_DEVICE_FEATURE_SET, 0);
    if (ret != 1) {
        return ret;
    }
    sim_log_free(dev);
    trace_vfio_sim_log(dev->cfg.bdf, "stop", 0, 0);
    return 0;
}

void sim_log_mark(SimDevice *dev, uint64_t iova, uint64_t len)
{
    if (!dev->logging || !len) {
        return;
    }
    for (int i = 0; i < dev->log_nr_ranges; i++) {
        const struct vfio_device_feature_dma_logging_range *r = &dev->log_ranges[i];
        uint64_t s = MAX(iova, r->iova);
        uint64_t e = MIN(iova + len, r->iova + r->length);

        if (s < e) {
            uint64_t first = (s - r->iova) / dev->log_page_size;
            uint64_t last = (e - 1 - r->iova) / dev->log_page_size;

            sim_bitmap_set(dev->log_bitmaps[i], first, last - first + 1);
        }
    }
}

long sim_log_report(SimDevice *dev, uint32_t flags, void *data, size_t size)
{
    struct vfio_device_feature_dma_logging_report report;
    size_t minsz = offsetof(struct vfio_device_feature_dma_logging_report, bitmap) +
                   sizeof(report.bitmap);
    uint64_t end, nbits;
    g_autofree uint64_t *words = NULL;
    int ret;

    if (!sim_log_supported(dev)) {
        return -ENOTTY;
    }
    ret = sim_check_feature(flags, size, VFIO_DEVICE_FEATURE_GET, sizeof(report));
    if (ret != 1) {
        return ret;
    }
    if (sim_copy_from_user(&report, data, minsz) < 0) {
        return -EFAULT;
    }
    if (report.page_size < SIM_PAGE_SIZE || (report.page_size & (report.page_size - 1))) {
        return -EINVAL;
    }
    if (__builtin_add_overflow(report.iova, report.length, &end)) {
        return -EOVERFLOW;
    }
    if (!report.length) {
        return -EINVAL;
    }
    if (!dev->logging) {
        return -EINVAL;
    }
    nbits = DIV_ROUND_UP(report.length, report.page_size);
    if (nbits > (1ULL << 31)) {
        return -ENOMEM;
    }
    /* The caller's bitmap keeps its bits: reported pages are OR'ed in. */
    words = g_try_malloc0(sim_bitmap_bytes(nbits));
    if (!words) {
        return -ENOMEM;
    }
    if (sim_copy_from_user(words, (void *)(uintptr_t)report.bitmap,
                           sim_bitmap_bytes(nbits)) < 0) {
        return -EFAULT;
    }
    for (int i = 0; i < dev->log_nr_ranges; i++) {
        const struct vfio_device_feature_dma_logging_range *r = &dev->log_ranges[i];
        uint64_t pages = DIV_ROUND_UP(r->length, dev->log_page_size);

        for (uint64_t p = 0; p < pages; p++) {
            uint64_t a = r->iova + p * dev->log_page_size;
            uint64_t a_end = a + dev->log_page_size;

            if (!sim_bitmap_test(dev->log_bitmaps[i], p) || a_end <= report.iova || a >= end) {
                continue;
            }
            for (uint64_t x = MAX(a, report.iova); x < MIN(a_end, end);
                 x = (x / report.page_size + 1) * report.page_size) {
                uint64_t bit = (x - report.iova) / report.page_size;

                words[bit / 64] |= 1ULL << (bit % 64);
            }
            /* Read and clear: only what the report covered. */
            if (a >= report.iova && a_end <= end) {
                dev->log_bitmaps[i][p / (8 * sizeof(long))] &= ~(1UL << (p % (8 * sizeof(long))));
            }
        }
    }
    if (sim_copy_to_user((void *)(uintptr_t)report.bitmap, words, sim_bitmap_bytes(nbits)) < 0) {
        return -EFAULT;
    }
    trace_vfio_sim_log(dev->cfg.bdf, "report", report.iova, report.length);
    return 0;
}
