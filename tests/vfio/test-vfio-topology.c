/*
 * VFIO conformance: behaviours that need a particular topology.  Each test
 * reads its environment and skips when its devices are not there.
 *
 *   APERTURE_VFIO_DEVICE2            an edu in another group than
 *                                    APERTURE_VFIO_DEVICE (two groups sharing
 *                                    or not sharing a container)
 *   APERTURE_VFIO_GROUP_PEER         another device in APERTURE_VFIO_DEVICE's
 *                                    group (devices behind a conventional bridge)
 *   APERTURE_VFIO_GROUP_PEER_DRIVER  what the peer is bound to: "vfio"
 *                                    (vfio-pci), "none" (no driver) or "foreign"
 *                                    (a kernel driver that owns DMA); the tests
 *                                    for each are /vfio/topology/shared-group/peer-DRIVER
 *   (hot reset: a device on bus 0, APERTURE_VFIO_DEVICE by default, cannot
 *   be bus-reset; one behind a bridge can, when every device on its bus is
 *   a vfio-pci device of the groups the caller passes)
 *   APERTURE_VFIO_EXPECT_NO_INTREMAP "1": the IOMMU has no interrupt remapping
 *                                    and unsafe interrupts are not allowed;
 *                                    "unsafe-allowed": the same, but the
 *                                    administrator allowed unsafe interrupts
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "vfio-test.h"

#include <stdio.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#define MAP_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA_BASE 0x1000000ULL
#define DMA_TIMEOUT_MS 10000

static uint32_t group_flags(int group)
{
    struct vfio_group_status st = { .argsz = sizeof(st) };

    vt_assert_ok(vt_ioctl(group, VFIO_GROUP_GET_STATUS, &st));
    return st.flags;
}

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed ^ (i * 13));
    }
}

/* Get BDF's device fd from an attached group and find its regions. */
static void open_in_group(VtDevice *d, const char *bdf, int container, int group)
{
    struct vfio_region_info info;

    memset(d, 0, sizeof(*d));
    d->bdf = bdf;
    d->group_id = vt_group_of(bdf);
    d->container = -1;
    d->group = -1;
    d->device = vt_assert_ok(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf));
    vt_assert_ok(vt_region_info(d->device, VFIO_PCI_CONFIG_REGION_INDEX, &info));
    d->cfg_offset = info.offset;
    vt_assert_ok(vt_region_info(d->device, VFIO_PCI_BAR0_REGION_INDEX, &info));
    d->bar0_offset = info.offset;
    d->bar0_size = info.size;
    (void)container;
}

/* Copy SRC_IOVA -> edu buffer -> DST_IOVA with device D. */
static void edu_copy(VtDevice *d, uint64_t src_iova, uint64_t dst_iova, uint32_t len)
{
    vt_cfg_command(d, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY, 0);
    g_assert_true(vt_edu_dma(d, src_iova, len, false, DMA_TIMEOUT_MS));
    g_assert_true(vt_edu_dma(d, dst_iova, len, true, DMA_TIMEOUT_MS));
}

/* ---- two groups ---- */

static bool require_two_groups(void)
{
    if (!vt_require_device(vt_device()) || !vt_require_device(vt_device2())) {
        return false;
    }
    if (vt_group_of(vt_device()) == vt_group_of(vt_device2())) {
        g_test_skip("APERTURE_VFIO_DEVICE2 is in the same group");
        return false;
    }
    return true;
}

static void test_two_groups_share_container(void)
{
    VtDevice d1, d2;
    int g2;

    if (!require_two_groups()) {
        return;
    }
    vt_device_open(&d1, vt_device(), VFIO_TYPE1v2_IOMMU);
    g2 = vt_assert_ok(vt_open_group(vt_group_of(vt_device2())));
    g_assert_cmphex(group_flags(g2), ==, VFIO_GROUP_FLAGS_VIABLE);
    /* A group joins a container whose IOMMU is already set. */
    vt_assert_ok(vt_ioctl(g2, VFIO_GROUP_SET_CONTAINER, &d1.container));
    g_assert_cmphex(group_flags(g2), ==, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
    /* Its devices are available at once: no SET_IOMMU for the second group. */
    open_in_group(&d2, vt_device2(), d1.container, g2);
    g_assert_cmphex(vt_bar0_read32(&d2, EDU_REG_ID), ==, EDU_ID_VALUE);
    vt_device_close(&d2);
    close(g2);
    vt_device_close(&d1);
}

/* A mapping made before the second group joined serves both devices. */
static void test_two_groups_dma_through_shared_container(void)
{
    VtDevice d1, d2;
    int g2;
    uint8_t *src, *dst1, *dst2;

    if (!require_two_groups()) {
        return;
    }
    src = vt_alloc(VT_PAGE, 0);
    dst1 = vt_alloc(VT_PAGE, 0);
    dst2 = vt_alloc(VT_PAGE, 0);
    fill_pattern(src, VT_PAGE, 0x3c);
    vt_device_open(&d1, vt_device(), VFIO_TYPE1v2_IOMMU);
    vt_assert_ok(vt_map(d1.container, IOVA_BASE, src, VT_PAGE, VFIO_DMA_MAP_FLAG_READ));
    vt_assert_ok(vt_map(d1.container, IOVA_BASE + VT_PAGE, dst1, VT_PAGE, MAP_RW));
    g2 = vt_assert_ok(vt_open_group(vt_group_of(vt_device2())));
    vt_assert_ok(vt_ioctl(g2, VFIO_GROUP_SET_CONTAINER, &d1.container));
    open_in_group(&d2, vt_device2(), d1.container, g2);
    /* And one made after. */
    vt_assert_ok(vt_map(d1.container, IOVA_BASE + 2 * VT_PAGE, dst2, VT_PAGE, MAP_RW));
    edu_copy(&d1, IOVA_BASE, IOVA_BASE + VT_PAGE, VT_PAGE);
    edu_copy(&d2, IOVA_BASE, IOVA_BASE + 2 * VT_PAGE, VT_PAGE);
    g_assert_cmpmem(dst1, VT_PAGE, src, VT_PAGE);
    g_assert_cmpmem(dst2, VT_PAGE, src, VT_PAGE);
    vt_device_close(&d2);
    close(g2);
    vt_device_close(&d1);
    vt_free(src, VT_PAGE);
    vt_free(dst1, VT_PAGE);
    vt_free(dst2, VT_PAGE);
}

/* Groups leave one by one; the last one out takes the IOMMU with it. */
static void test_two_groups_unset(void)
{
    VtDevice d1;
    int g2;
    uint8_t *buf;

    if (!require_two_groups()) {
        return;
    }
    buf = vt_alloc(VT_PAGE, 0);
    vt_device_open_group(&d1, vt_device());
    vt_assert_ok(ioctl(d1.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    g2 = vt_assert_ok(vt_open_group(vt_group_of(vt_device2())));
    vt_assert_ok(vt_ioctl(g2, VFIO_GROUP_SET_CONTAINER, &d1.container));
    vt_assert_ok(vt_ioctl(d1.group, VFIO_GROUP_UNSET_CONTAINER, NULL));
    g_assert_cmphex(group_flags(d1.group), ==, VFIO_GROUP_FLAGS_VIABLE);
    /* The remaining group keeps the container's IOMMU alive. */
    vt_assert_ok(vt_map(d1.container, IOVA_BASE, buf, VT_PAGE, MAP_RW));
    vt_assert_ok(vt_unmap(d1.container, IOVA_BASE, VT_PAGE, 0, NULL));
    vt_assert_ok(vt_ioctl(g2, VFIO_GROUP_UNSET_CONTAINER, NULL));
    vt_assert_fails(vt_map(d1.container, IOVA_BASE, buf, VT_PAGE, MAP_RW), EINVAL);
    close(g2);
    vt_device_close(&d1);
    vt_free(buf, VT_PAGE);
}

/* Separate containers are separate address spaces. */
static void test_two_groups_separate_containers_isolated(void)
{
    VtDevice d1, d2;
    uint8_t *src, *dst;

    if (!require_two_groups()) {
        return;
    }
    src = vt_alloc(VT_PAGE, 0);
    dst = vt_alloc(VT_PAGE, 0x6b);
    fill_pattern(src, VT_PAGE, 0x2a);
    vt_device_open(&d1, vt_device(), VFIO_TYPE1v2_IOMMU);
    vt_device_open(&d2, vt_device2(), VFIO_TYPE1v2_IOMMU);
    vt_assert_ok(vt_map(d1.container, IOVA_BASE, src, VT_PAGE, MAP_RW));
    vt_assert_ok(vt_map(d1.container, IOVA_BASE + VT_PAGE, dst, VT_PAGE, MAP_RW));
    /* The same IOVA maps in both containers (no EEXIST across containers). */
    vt_assert_ok(vt_map(d2.container, IOVA_BASE, src, VT_PAGE, VFIO_DMA_MAP_FLAG_READ));
    vt_cfg_command(&d2, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY, 0);
    g_assert_true(vt_edu_dma(&d2, IOVA_BASE, VT_PAGE, false, DMA_TIMEOUT_MS));
    /* d2 cannot reach what only d1's container maps. */
    g_assert_true(vt_edu_dma(&d2, IOVA_BASE + VT_PAGE, VT_PAGE, true, DMA_TIMEOUT_MS));
    for (size_t i = 0; i < VT_PAGE; i++) {
        g_assert_cmphex(dst[i], ==, 0x6b);
    }
    vt_device_close(&d2);
    vt_device_close(&d1);
    vt_free(src, VT_PAGE);
    vt_free(dst, VT_PAGE);
}

/* ---- a group with two devices (behind a conventional PCI bridge) ---- */

static const char *peer_driver(void)
{
    const char *s = g_getenv("APERTURE_VFIO_GROUP_PEER_DRIVER");

    return s ? s : "";
}

static bool require_peer(const char *driver)
{
    const char *peer = g_getenv("APERTURE_VFIO_GROUP_PEER");

    if (!peer || !*peer) {
        g_test_skip("no APERTURE_VFIO_GROUP_PEER in this topology");
        return false;
    }
    if (strcmp(peer_driver(), driver)) {
        g_autofree char *msg = g_strdup_printf("the group peer is bound to '%s', not '%s'",
                                               peer_driver(), driver);
        g_test_skip(msg);
        return false;
    }
    if (access("/dev/vfio/vfio", F_OK) != 0) {
        g_test_skip("no VFIO here: /dev/vfio/vfio is missing");
        return false;
    }
    g_assert_cmpint(vt_group_of(vt_device()), >=, 0);
    g_assert_cmpint(vt_group_of(peer), ==, vt_group_of(vt_device()));
    return true;
}

/* A device of the group owned by a DMA-capable kernel driver: not viable. */
static void test_shared_group_foreign_driver_not_viable(void)
{
    int g, c;

    if (!require_peer("foreign")) {
        return;
    }
    g = vt_assert_ok(vt_open_group(vt_group_of(vt_device())));
    g_assert_cmphex(group_flags(g), ==, 0);
    c = vt_assert_ok(vt_open_container());
    vt_assert_fails(vt_ioctl(g, VFIO_GROUP_SET_CONTAINER, &c), EPERM);
    g_assert_cmphex(group_flags(g), ==, 0);
    vt_assert_fails(ioctl(g, VFIO_GROUP_GET_DEVICE_FD, vt_device()), EINVAL);
    close(c);
    close(g);
}

/* A device of the group with no driver at all does not spoil viability. */
static void test_shared_group_unbound_peer_viable(void)
{
    VtDevice d;
    const char *peer = g_getenv("APERTURE_VFIO_GROUP_PEER");

    if (!require_peer("none")) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    g_assert_cmphex(group_flags(d.group), ==,
                    VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_ID), ==, EDU_ID_VALUE);
    /* The unbound peer is no VFIO device. */
    vt_assert_fails(ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, peer), ENODEV);
    vt_device_close(&d);
}

static void test_shared_group_both_devices(void)
{
    VtDevice d1, d2;
    const char *peer = g_getenv("APERTURE_VFIO_GROUP_PEER");
    uint8_t *src, *dst;

    if (!require_peer("vfio")) {
        return;
    }
    src = vt_alloc(VT_PAGE, 0);
    dst = vt_alloc(VT_PAGE, 0);
    fill_pattern(src, VT_PAGE, 0x4d);
    vt_device_open(&d1, vt_device(), VFIO_TYPE1v2_IOMMU);
    g_assert_cmphex(group_flags(d1.group), ==,
                    VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
    /* One group fd hands out both devices. */
    open_in_group(&d2, peer, d1.container, d1.group);
    g_assert_cmphex(vt_bar0_read32(&d2, EDU_REG_ID), ==, EDU_ID_VALUE);
    /* Both DMA through the group's one IOMMU domain. */
    vt_assert_ok(vt_map(d1.container, IOVA_BASE, src, VT_PAGE, VFIO_DMA_MAP_FLAG_READ));
    vt_assert_ok(vt_map(d1.container, IOVA_BASE + VT_PAGE, dst, VT_PAGE, MAP_RW));
    vt_cfg_command(&d1, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY, 0);
    g_assert_true(vt_edu_dma(&d1, IOVA_BASE, VT_PAGE, false, DMA_TIMEOUT_MS));
    edu_copy(&d2, IOVA_BASE, IOVA_BASE + VT_PAGE, VT_PAGE);
    g_assert_cmpmem(dst, VT_PAGE, src, VT_PAGE);
    /* The container stays while any device of the group is open. */
    close(d1.device);
    d1.device = -1;
    vt_assert_fails(vt_ioctl(d1.group, VFIO_GROUP_UNSET_CONTAINER, NULL), EBUSY);
    vt_device_close(&d2);
    vt_assert_ok(vt_ioctl(d1.group, VFIO_GROUP_UNSET_CONTAINER, NULL));
    vt_device_close(&d1);
    vt_free(src, VT_PAGE);
    vt_free(dst, VT_PAGE);
}

/* ---- PCI hot reset ---- */

#define HOT_RESET_INFO_MINSZ offsetof(struct vfio_pci_hot_reset_info, devices)

/* VFIO_DEVICE_PCI_HOT_RESET with @n group fds: 0 or -errno. */
static int hot_reset(int device, const int32_t *fds, uint32_t n)
{
    g_autofree struct vfio_pci_hot_reset *r = g_malloc0(sizeof(*r) + n * sizeof(int32_t));

    r->argsz = sizeof(*r) + n * sizeof(int32_t);
    r->count = n;
    if (n) {
        memcpy(r->group_fds, fds, n * sizeof(int32_t));
    }
    return vt_ioctl(device, VFIO_DEVICE_PCI_HOT_RESET, r);
}

/* The devices a bus reset of @device reaches (g_free it), *count of them; NULL + errno. */
static struct vfio_pci_hot_reset_info *hot_reset_info(int device, uint32_t *count)
{
    struct vfio_pci_hot_reset_info hdr = { .argsz = HOT_RESET_INFO_MINSZ };
    struct vfio_pci_hot_reset_info *info;
    int ret = vt_ioctl(device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hdr);

    if (ret != -ENOSPC) {
        /* Nothing fits in a header alone: success would be a kernel bug. */
        g_assert_cmpint(ret, <, 0);
        errno = -ret;
        return NULL;
    }
    /* Too small: the header came back with the count. */
    g_assert_cmpuint(hdr.count, >, 0);
    info = g_malloc0(HOT_RESET_INFO_MINSZ + hdr.count * sizeof(info->devices[0]));
    info->argsz = HOT_RESET_INFO_MINSZ + hdr.count * sizeof(info->devices[0]);
    vt_assert_ok(vt_ioctl(device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info));
    g_assert_cmpuint(info->count, ==, hdr.count);
    *count = info->count;
    return info;
}

static unsigned bdf_bus(const char *bdf)
{
    unsigned seg, bus;

    g_assert_cmpint(sscanf(bdf, "%x:%x", &seg, &bus), ==, 2);
    return bus;
}

/* A root bus has no bridge to reset it: neither a slot nor a bus reset. */
static void test_hot_reset_root_bus(void)
{
    VtDevice d;
    uint32_t n;

    if (!vt_require_device(vt_device())) {
        return;
    }
    if (bdf_bus(vt_device()) != 0) {
        g_test_skip("APERTURE_VFIO_DEVICE is not on bus 0");
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    g_assert_null(hot_reset_info(d.device, &n));
    g_assert_cmpint(errno, ==, ENODEV);
    vt_assert_fails(hot_reset(d.device, &d.group, 1), ENODEV);
    vt_device_close(&d);
}

/* The unbound peer is on the bus but in no vfio dev_set: no reset. */
static void test_shared_group_hot_reset_unbound_peer(void)
{
    g_autofree struct vfio_pci_hot_reset_info *info = NULL;
    VtDevice d;
    uint32_t n;

    if (!require_peer("none")) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    info = hot_reset_info(d.device, &n);
    g_assert_nonnull(info);
    /* Every device on the bus counts, bound or not. */
    g_assert_cmpuint(n, ==, 2);
    vt_assert_fails(hot_reset(d.device, &d.group, 1), EINVAL);
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_ID), ==, EDU_ID_VALUE);
    vt_device_close(&d);
}

static void test_shared_group_hot_reset(void)
{
    g_autofree struct vfio_pci_hot_reset_info *info = NULL;
    const char *peer = g_getenv("APERTURE_VFIO_GROUP_PEER");
    unsigned seg, bus, slot, fn;
    int32_t bad[3];
    VtDevice d;
    uint32_t n;

    if (!require_peer("vfio")) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    info = hot_reset_info(d.device, &n);
    g_assert_nonnull(info);
    g_assert_cmpuint(n, ==, 2);
    for (uint32_t i = 0; i < n; i++) {
        g_assert_cmpint(info->devices[i].group_id, ==, d.group_id);
        g_assert_cmpuint(info->devices[i].bus, ==, bdf_bus(vt_device()));
    }
    g_assert_cmpint(sscanf(peer, "%x:%x:%x.%x", &seg, &bus, &slot, &fn), ==, 4);
    g_assert_true(info->devices[0].devfn == (slot << 3 | fn) ||
                  info->devices[1].devfn == (slot << 3 | fn));
    /* Proof of ownership is group fds: none, or fds that are no group, will not do. */
    vt_assert_fails(hot_reset(d.device, NULL, 0), EINVAL);
    bad[0] = d.container;
    vt_assert_fails(hot_reset(d.device, bad, 1), EINVAL);
    bad[0] = bad[1] = bad[2] = d.group;
    vt_assert_fails(hot_reset(d.device, bad, 3), EINVAL);       /* more than it reaches */
    /* The group holds both devices (the peer need not be open): the bus resets. */
    vt_assert_ok(hot_reset(d.device, &d.group, 1));
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_ID), ==, EDU_ID_VALUE);
    vt_bar0_write32(&d, EDU_REG_LIVENESS, 0x12345678);
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_LIVENESS), ==, ~0x12345678u);
    vt_device_close(&d);
}

/* ---- no interrupt remapping ---- */

static void test_no_intremap_set_iommu(void)
{
    const char *mode = g_getenv("APERTURE_VFIO_EXPECT_NO_INTREMAP");
    VtDevice d;

    if (!mode || (strcmp(mode, "1") && strcmp(mode, "unsafe-allowed"))) {
        g_test_skip("the IOMMU here remaps interrupts (APERTURE_VFIO_EXPECT_NO_INTREMAP unset)");
        return;
    }
    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open_group(&d, vt_device());
    if (!strcmp(mode, "1")) {
        /* No MSI isolation: type1 refuses to attach the group. */
        vt_assert_fails(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), EPERM);
        vt_assert_fails(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), EPERM);
        g_assert_cmphex(group_flags(d.group), ==,
                        VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
        vt_assert_fails(ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, vt_device()), EINVAL);
    } else {
        vt_assert_ok(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
        d.device = vt_assert_ok(ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, vt_device()));
    }
    vt_device_close(&d);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/topology/two-groups/share-container", test_two_groups_share_container);
    g_test_add_func("/vfio/topology/two-groups/dma-through-shared-container",
                    test_two_groups_dma_through_shared_container);
    g_test_add_func("/vfio/topology/two-groups/unset-last-drops-iommu", test_two_groups_unset);
    g_test_add_func("/vfio/topology/two-groups/separate-containers-isolated",
                    test_two_groups_separate_containers_isolated);
    g_test_add_func("/vfio/topology/shared-group/peer-foreign/not-viable-eperm",
                    test_shared_group_foreign_driver_not_viable);
    g_test_add_func("/vfio/topology/shared-group/peer-none/viable",
                    test_shared_group_unbound_peer_viable);
    g_test_add_func("/vfio/topology/shared-group/peer-vfio/both-devices-one-group",
                    test_shared_group_both_devices);
    g_test_add_func("/vfio/topology/shared-group/peer-none/hot-reset-refused",
                    test_shared_group_hot_reset_unbound_peer);
    g_test_add_func("/vfio/topology/shared-group/peer-vfio/hot-reset",
                    test_shared_group_hot_reset);
    g_test_add_func("/vfio/topology/hot-reset/root-bus-enodev", test_hot_reset_root_bus);
    g_test_add_func("/vfio/topology/no-intremap/set-iommu", test_no_intremap_set_iommu);
    return g_test_run();
}
