/*
 * VFIO conformance: groups (/dev/vfio/GROUP) and their container attachment.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "vfio-test.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/eventfd.h>

static uint32_t group_flags(int group)
{
    struct vfio_group_status st = { .argsz = sizeof(st) };

    vt_assert_ok(vt_ioctl(group, VFIO_GROUP_GET_STATUS, &st));
    return st.flags;
}

static void test_second_open_ebusy(void)
{
    int g1, id;

    if (!vt_require_device(vt_device())) {
        return;
    }
    id = vt_group_of(vt_device());
    g1 = vt_assert_ok(vt_open_group(id));
    vt_assert_fails(vt_open_group(id), EBUSY);
    close(g1);
    /* Once closed, it opens again. */
    g1 = vt_assert_ok(vt_open_group(id));
    close(g1);
}

static void test_open_missing_group(void)
{
    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_assert_fails(vt_open_group(999999), ENOENT);
}

static void test_status_short_argsz(void)
{
    struct vfio_group_status st = { .argsz = sizeof(st) - 1 };
    int g;

    if (!vt_require_device(vt_device())) {
        return;
    }
    g = vt_assert_ok(vt_open_group(vt_group_of(vt_device())));
    vt_assert_fails(vt_ioctl(g, VFIO_GROUP_GET_STATUS, &st), EINVAL);
    close(g);
}

static void test_status_flags(void)
{
    VtDevice d;
    int g, c;

    if (!vt_require_device(vt_device())) {
        return;
    }
    g = vt_assert_ok(vt_open_group(vt_group_of(vt_device())));
    g_assert_cmphex(group_flags(g), ==, VFIO_GROUP_FLAGS_VIABLE);
    c = vt_assert_ok(vt_open_container());
    vt_assert_ok(vt_ioctl(g, VFIO_GROUP_SET_CONTAINER, &c));
    g_assert_cmphex(group_flags(g), ==, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
    vt_assert_ok(vt_ioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL));
    g_assert_cmphex(group_flags(g), ==, VFIO_GROUP_FLAGS_VIABLE);
    close(c);
    close(g);

    /* With an IOMMU set and a device open too. */
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    g_assert_cmphex(group_flags(d.group), ==,
                    VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
    vt_device_close(&d);
}

static void test_set_container_ebadf(void)
{
    int g, bad = -1, closed;

    if (!vt_require_device(vt_device())) {
        return;
    }
    g = vt_assert_ok(vt_open_group(vt_group_of(vt_device())));
    vt_assert_fails(vt_ioctl(g, VFIO_GROUP_SET_CONTAINER, &bad), EBADF);
    closed = vt_assert_ok(vt_open_container());
    close(closed);
    vt_assert_fails(vt_ioctl(g, VFIO_GROUP_SET_CONTAINER, &closed), EBADF);
    close(g);
}

static void test_set_container_not_a_container(void)
{
    int g, efd, devnull;

    if (!vt_require_device(vt_device())) {
        return;
    }
    g = vt_assert_ok(vt_open_group(vt_group_of(vt_device())));
    efd = vt_eventfd();
    devnull = open("/dev/null", O_RDWR);
    vt_assert_fails(vt_ioctl(g, VFIO_GROUP_SET_CONTAINER, &efd), EBADFD);
    vt_assert_fails(vt_ioctl(g, VFIO_GROUP_SET_CONTAINER, &devnull), EBADFD);
    /* Not even the group itself. */
    vt_assert_fails(vt_ioctl(g, VFIO_GROUP_SET_CONTAINER, &g), EBADFD);
    g_assert_cmphex(group_flags(g), ==, VFIO_GROUP_FLAGS_VIABLE);
    close(devnull);
    close(efd);
    close(g);
}

static void test_set_container_twice(void)
{
    VtDevice d;
    int c2;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open_group(&d, vt_device());
    vt_assert_fails(vt_ioctl(d.group, VFIO_GROUP_SET_CONTAINER, &d.container), EINVAL);
    c2 = vt_assert_ok(vt_open_container());
    vt_assert_fails(vt_ioctl(d.group, VFIO_GROUP_SET_CONTAINER, &c2), EINVAL);
    close(c2);
    vt_device_close(&d);
}

static void test_unset_container_none(void)
{
    int g;

    if (!vt_require_device(vt_device())) {
        return;
    }
    g = vt_assert_ok(vt_open_group(vt_group_of(vt_device())));
    vt_assert_fails(vt_ioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), EINVAL);
    close(g);
}

static void test_unset_container_device_open(void)
{
    VtDevice d;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    vt_assert_fails(vt_ioctl(d.group, VFIO_GROUP_UNSET_CONTAINER, NULL), EBUSY);
    close(d.device);
    d.device = -1;
    vt_assert_ok(vt_ioctl(d.group, VFIO_GROUP_UNSET_CONTAINER, NULL));
    vt_device_close(&d);
}

/* The last group leaving a container takes the IOMMU with it: SET_IOMMU works again. */
static void test_unset_container_resets_iommu(void)
{
    VtDevice d;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open_group(&d, vt_device());
    vt_assert_ok(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    vt_assert_ok(vt_ioctl(d.group, VFIO_GROUP_UNSET_CONTAINER, NULL));
    vt_assert_fails(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), EINVAL);
    vt_assert_ok(vt_ioctl(d.group, VFIO_GROUP_SET_CONTAINER, &d.container));
    vt_assert_ok(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
    vt_device_close(&d);
}

static void test_get_device_fd_without_container(void)
{
    int g;

    if (!vt_require_device(vt_device())) {
        return;
    }
    g = vt_assert_ok(vt_open_group(vt_group_of(vt_device())));
    vt_assert_fails(ioctl(g, VFIO_GROUP_GET_DEVICE_FD, vt_device()), EINVAL);
    close(g);
}

static void test_get_device_fd_before_set_iommu(void)
{
    VtDevice d;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open_group(&d, vt_device());
    vt_assert_fails(ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, vt_device()), EINVAL);
    vt_device_close(&d);
}

static void test_get_device_fd_bogus_name(void)
{
    VtDevice d;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open_group(&d, vt_device());
    vt_assert_ok(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    vt_assert_fails(ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, "0000:ff:1f.7"), ENODEV);
    vt_assert_fails(ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, "not-a-device"), ENODEV);
    vt_assert_fails(ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, ""), ENODEV);
    vt_device_close(&d);
}

static void test_device_fd_cloexec(void)
{
    VtDevice d;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    g_assert_cmpint(fcntl(d.device, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
    vt_device_close(&d);
}

/* Through a group, a device may be opened more than once. */
static void test_device_fd_twice(void)
{
    VtDevice d;
    int fd2;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    fd2 = vt_assert_ok(ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, vt_device()));
    g_assert_cmpint(fd2, !=, d.device);
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_ID), ==, EDU_ID_VALUE);
    close(fd2);
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_ID), ==, EDU_ID_VALUE);
    vt_device_close(&d);
}

/* The device fd keeps working after the group and container fds are closed. */
static void test_device_outlives_group_fd(void)
{
    VtDevice d;
    int g;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    close(d.group);
    close(d.container);
    d.group = d.container = -1;
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_ID), ==, EDU_ID_VALUE);
    /* The group is still in use through the device: opening it again is refused. */
    vt_assert_fails(vt_open_group(d.group_id), EBUSY);
    vt_device_close(&d);
    g = vt_assert_ok(vt_open_group(d.group_id));
    close(g);
}

static void test_group_unknown_ioctl(void)
{
    int g;

    if (!vt_require_device(vt_device())) {
        return;
    }
    g = vt_assert_ok(vt_open_group(vt_group_of(vt_device())));
    vt_assert_fails(ioctl(g, VFIO_DEVICE_GET_INFO, NULL), ENOTTY);
    close(g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/group/second-open-ebusy", test_second_open_ebusy);
    g_test_add_func("/vfio/group/open-missing-enoent", test_open_missing_group);
    g_test_add_func("/vfio/group/status-short-argsz-einval", test_status_short_argsz);
    g_test_add_func("/vfio/group/status-viable-container-set", test_status_flags);
    g_test_add_func("/vfio/group/set-container-bad-fd-ebadf", test_set_container_ebadf);
    g_test_add_func("/vfio/group/set-container-not-a-container-ebadfd",
                    test_set_container_not_a_container);
    g_test_add_func("/vfio/group/set-container-already-set-einval", test_set_container_twice);
    g_test_add_func("/vfio/group/unset-container-none-einval", test_unset_container_none);
    g_test_add_func("/vfio/group/unset-container-device-open-ebusy",
                    test_unset_container_device_open);
    g_test_add_func("/vfio/group/unset-container-drops-iommu", test_unset_container_resets_iommu);
    g_test_add_func("/vfio/group/get-device-fd-without-container-einval",
                    test_get_device_fd_without_container);
    g_test_add_func("/vfio/group/get-device-fd-before-set-iommu-einval",
                    test_get_device_fd_before_set_iommu);
    g_test_add_func("/vfio/group/get-device-fd-bogus-name-enodev", test_get_device_fd_bogus_name);
    g_test_add_func("/vfio/group/device-fd-cloexec", test_device_fd_cloexec);
    g_test_add_func("/vfio/group/device-fd-twice", test_device_fd_twice);
    g_test_add_func("/vfio/group/device-outlives-group-fd", test_device_outlives_group_fd);
    g_test_add_func("/vfio/group/unknown-ioctl-enotty", test_group_unknown_ioctl);
    return g_test_run();
}
