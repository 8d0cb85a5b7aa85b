/*
 * vfio-sim: fault injection — each injected failure shows up exactly where
 * and how the documentation says, and the sim recovers the way the kernel
 * would.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim-test.h"

static void test_map_ebusy_at_nth(void)
{
    void *buf = st_alloc(4 * ST_PAGE);
    StDev d;

    st_topology(NULL);
    g_assert_cmpint(st_control("fault map-ebusy-at=2"), ==, 0);
    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_map(d.container, 0x100000, buf, ST_PAGE, ST_MAP_RW));
    st_assert_errno(st_map(d.container, 0x101000, buf, ST_PAGE, ST_MAP_RW), EBUSY);
    /* Only the second: a retry goes through (QEMU unmaps and retries once). */
    st_assert_ok(st_map(d.container, 0x101000, buf, ST_PAGE, ST_MAP_RW));
    st_close(&d);
    munmap(buf, 4 * ST_PAGE);
    st_topology(NULL);
}

static void test_map_enospc_at_nth(void)
{
    void *buf = st_alloc(ST_PAGE);
    StDev d;

    g_assert_cmpint(st_control("fault map-enospc-at=1"), ==, 0);
    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    st_assert_errno(st_map(d.container, 0x100000, buf, ST_PAGE, ST_MAP_RW), ENOSPC);
    st_assert_ok(st_map(d.container, 0x100000, buf, ST_PAGE, ST_MAP_RW));
    st_close(&d);
    munmap(buf, ST_PAGE);
    st_topology(NULL);
}

/* Early type1: a MAP_DMA over a live mapping is EBUSY; unmapping first lets it through. */
static void test_map_overlap_ebusy(void)
{
    void *buf = st_alloc(2 * ST_PAGE);
    StDev d;

    st_topology(NULL);
    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_map(d.container, 0x100000, buf, 2 * ST_PAGE, ST_MAP_RW));
    st_assert_errno(st_map(d.container, 0x101000, buf, ST_PAGE, ST_MAP_RW), EEXIST);
    g_assert_cmpint(st_control("fault map-overlap-ebusy=1"), ==, 0);
    st_assert_errno(st_map(d.container, 0x101000, buf, ST_PAGE, ST_MAP_RW), EBUSY);
    /* Only overlaps: a free range maps as usual. */
    st_assert_ok(st_map(d.container, 0x200000, buf, ST_PAGE, ST_MAP_RW));
    st_assert_ok(st_unmap(d.container, 0x100000, 2 * ST_PAGE));
    st_assert_ok(st_map(d.container, 0x101000, buf, ST_PAGE, ST_MAP_RW));
    st_close(&d);
    munmap(buf, 2 * ST_PAGE);
    st_topology(NULL);
}

static void test_unmap_overflow_quirk(void)
{
    void *buf = st_alloc(ST_PAGE);
    uint64_t top = (1ULL << 48) - ST_PAGE;
    StDev d;

    st_topology("[iommu]\nquirk-unmap-overflow = true\n"
                "iova-ranges = 0x0-0xffffffffffffffff\n");
    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_map(d.container, top, buf, ST_PAGE, ST_MAP_RW));
    /* A range ending at 2^64 fails on 4.15-5.0 kernels... */
    st_assert_errno(st_unmap(d.container, top, 0ULL - top), EINVAL);
    /* ...and the workaround, without the last page, succeeds. */
    st_assert_ok(st_unmap(d.container, top, 0ULL - top - ST_PAGE));
    st_close(&d);
    munmap(buf, ST_PAGE);

    /* Without the quirk, 6.12 accepts the range. */
    st_topology("[iommu]\niova-ranges = 0x0-0xffffffffffffffff\n");
    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    buf = st_alloc(ST_PAGE);
    st_assert_ok(st_map(d.container, top, buf, ST_PAGE, ST_MAP_RW));
    st_assert_ok(st_unmap(d.container, top, 0ULL - top));
    st_close(&d);
    munmap(buf, ST_PAGE);
    st_topology(NULL);
}

static void test_mig_fail_state_goes_error(void)
{
    StDev d;
    int data_fd;

    g_assert_cmpint(st_control("fault mig-fail-state=STOP_COPY,mig-fail-errno=EIO"), ==, 0);
    st_open(&d, ST_MIG, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_mig_state(d.device, VFIO_DEVICE_STATE_STOP, NULL));
    st_assert_errno(st_mig_state(d.device, VFIO_DEVICE_STATE_STOP_COPY, &data_fd), EIO);
    g_assert_cmpint(st_mig_get_state(d.device), ==, VFIO_DEVICE_STATE_ERROR);
    /* ERROR accepts no arc; a reset brings the device back to RUNNING. */
    st_assert_errno(st_mig_state(d.device, VFIO_DEVICE_STATE_RUNNING, NULL), EINVAL);
    st_assert_ok(ioctl(d.device, VFIO_DEVICE_RESET));
    g_assert_cmpint(st_mig_get_state(d.device), ==, VFIO_DEVICE_STATE_RUNNING);
    st_close(&d);
    st_topology(NULL);
}

static void test_mig_fail_state_stays(void)
{
    StDev d;

    g_assert_cmpint(st_control("fault mig-fail-state=STOP,mig-fail-to-error=false"), ==, 0);
    st_open(&d, ST_MIG, VFIO_TYPE1v2_IOMMU);
    /* RUNNING -> STOP walks RUNNING_P2P first: the device stops there. */
    st_assert_errno(st_mig_state(d.device, VFIO_DEVICE_STATE_STOP, NULL), EIO);
    g_assert_cmpint(st_mig_get_state(d.device), ==, VFIO_DEVICE_STATE_RUNNING_P2P);
    st_assert_ok(st_mig_state(d.device, VFIO_DEVICE_STATE_RUNNING, NULL));
    st_close(&d);
    st_topology(NULL);
}

static void test_short_data_read(void)
{
    g_autofree uint8_t *buf = g_malloc(1 * 1024 * 1024);
    StDev d;
    int data_fd;
    ssize_t n1, n2;

    g_assert_cmpint(st_control("fault data-short-read-at=1"), ==, 0);
    st_open(&d, ST_MIG, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_mig_state(d.device, VFIO_DEVICE_STATE_STOP_COPY, &data_fd));
    g_assert_cmpint(data_fd, >=, 0);
    n1 = read(data_fd, buf, 4096);
    n2 = read(data_fd, buf, 4096);
    g_assert_cmpint(n1, ==, 2048);
    g_assert_cmpint(n2, ==, 4096);
    close(data_fd);
    st_assert_ok(st_mig_state(d.device, VFIO_DEVICE_STATE_RUNNING, NULL));
    st_close(&d);
    st_topology(NULL);
}

static void test_resume_corrupt(void)
{
    StDev d;
    int data_fd;
    uint8_t junk[64] = { 0 };

    g_assert_cmpint(st_control("fault resume-corrupt=true"), ==, 0);
    st_open(&d, ST_MIG, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_mig_state(d.device, VFIO_DEVICE_STATE_STOP, NULL));
    st_assert_ok(st_mig_state(d.device, VFIO_DEVICE_STATE_RESUMING, &data_fd));
    g_assert_cmpint(write(data_fd, junk, sizeof(junk)), ==, sizeof(junk));
    st_assert_errno(st_mig_state(d.device, VFIO_DEVICE_STATE_STOP, NULL), EINVAL);
    g_assert_cmpint(st_mig_get_state(d.device), ==, VFIO_DEVICE_STATE_RESUMING);
    close(data_fd);
    st_close(&d);
    st_topology(NULL);
}

static void test_garbage_stream_refused(void)
{
    StDev d;
    int data_fd;
    uint8_t junk[64];

    memset(junk, 0xa5, sizeof(junk));
    st_open(&d, ST_MIG, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_mig_state(d.device, VFIO_DEVICE_STATE_STOP, NULL));
    st_assert_ok(st_mig_state(d.device, VFIO_DEVICE_STATE_RESUMING, &data_fd));
    g_assert_cmpint(write(data_fd, junk, sizeof(junk)), ==, sizeof(junk));
    st_assert_errno(st_mig_state(d.device, VFIO_DEVICE_STATE_STOP, NULL), EINVAL);
    /* To abort a RESUMING session the device must be reset. */
    st_assert_ok(ioctl(d.device, VFIO_DEVICE_RESET));
    g_assert_cmpint(st_mig_get_state(d.device), ==, VFIO_DEVICE_STATE_RUNNING);
    st_assert_errno(write(data_fd, junk, sizeof(junk)), ENODEV);
    close(data_fd);
    st_close(&d);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio-sim/faults/map-ebusy-at-nth", test_map_ebusy_at_nth);
    g_test_add_func("/vfio-sim/faults/map-enospc-at-nth", test_map_enospc_at_nth);
    g_test_add_func("/vfio-sim/faults/map-overlap-ebusy", test_map_overlap_ebusy);
    g_test_add_func("/vfio-sim/faults/unmap-overflow-quirk", test_unmap_overflow_quirk);
    g_test_add_func("/vfio-sim/faults/mig-fail-state-goes-error", test_mig_fail_state_goes_error);
    g_test_add_func("/vfio-sim/faults/mig-fail-state-stays", test_mig_fail_state_stays);
    g_test_add_func("/vfio-sim/faults/short-data-read", test_short_data_read);
    g_test_add_func("/vfio-sim/faults/resume-corrupt", test_resume_corrupt);
    g_test_add_func("/vfio-sim/faults/garbage-stream-refused", test_garbage_stream_refused);
    return g_test_run();
}
