/*
 * Attaching devices: groups, containers and their sharing, and the errors
 * a user can run into.  On vfio-sim and on a real kernel (the device from
 * APERTURE_VFIO_DEVICE); the topologies only a sim can lay out skip there.
 */
#include "vfio-sim-test.h"

#include <glib/gstdio.h>
#include <linux/vfio.h>

/* Two edus in one IOMMU group (as behind a PCIe-to-PCI bridge). */
static const char topo_shared_group[] =
    "[device 0000:00:01.0]\nmodel=edu\ngroup=7\n"
    "[device 0000:00:03.0]\nmodel=edu\ngroup=7\n";

/* An edu whose group also holds a device bound to a host driver. */
static const char topo_not_viable[] =
    "[device 0000:00:01.0]\nmodel=edu\ngroup=5\n"
    "[device 0000:00:06.0]\nmodel=edu\ngroup=5\ndriver=e1000e\n";

static void test_edu_attach_detach(void)
{
    TestGuest g;
    LeakCheck lc;
    VFIODevice dev;
    VFIOContainer *container;
    int group;

    if (!test_start()) {
        return;
    }
    group = test_edu_group();
    test_guest_init(&g, "guest");
    leak_check_begin(&lc);

    attach_ok(&dev, test_edu(), &g);
    g_assert_cmpint(dev.fd, >=, 0);
    g_assert_nonnull(dev.group);
    g_assert_cmpint(dev.group->groupid, ==, group);
    g_assert_true(vfio_group_find(group) == dev.group);
    g_assert_nonnull(dev.bcontainer);
    g_assert_true(dev.bcontainer->space == vfio_address_space_find(&g.as));
    g_assert_true(dev.bcontainer->initialized);
    container = vfio_container_from_base(dev.bcontainer);
    g_assert_true(container == dev.group->container);
    g_assert_cmpint(container->fd, >=, 0);
    /* What the rig's edu reports (RIG-FACTS.md). */
    g_assert_true(dev.flags & VFIO_DEVICE_FLAGS_PCI);
    g_assert_cmpuint(dev.num_regions, ==, 9);
    g_assert_cmpuint(dev.num_irqs, ==, 5);
    g_assert_false(dev.reset_works);
    /* The guest's RAM is mapped for DMA. */
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 1);
    g_assert_nonnull(iova_tree_find_address(dev.bcontainer->mappings, 0));
    /* The kernel pinned it: VmLck counts the 2 MiB. */
    if (!vfio_sim_present()) {
        g_assert_cmpuint(locked_kib(), ==, TEST_RAM_SIZE / KiB);
    } else {
        g_assert_cmpint(sim_status("open-files"), >, 0);
    }

    detach(&dev);
    g_assert_cmpint(dev.fd, ==, -1);
    g_assert_null(dev.bcontainer);
    leak_check_end(&lc, &g);
    test_guest_destroy(&g);
}

static void test_group_shared_by_two_devices(void)
{
    TestGuest g;
    LeakCheck lc;
    VFIODevice a, b;
    VFIOGroup *group;

    if (!test_start_sim(topo_shared_group, "two vfio-pci devices in one IOMMU group")) {
        return;
    }
    test_guest_init(&g, "guest");
    leak_check_begin(&lc);

    attach_ok(&a, EDU1, &g);
    attach_ok(&b, EDU3, &g);
    group = a.group;
    g_assert_cmpint(group->groupid, ==, 7);
    g_assert_true(b.group == group);
    g_assert_true(b.bcontainer == a.bcontainer);
    g_assert_cmpuint(g_list_length(group->device_list), ==, 2);
    g_assert_cmpuint(g_list_length(group->container->group_list), ==, 1);
    g_assert_cmpint(a.fd, !=, b.fd);

    /* The group stays while a device uses it. */
    detach(&a);
    g_assert_true(vfio_group_find(7) == group);
    g_assert_cmpuint(g_list_length(group->device_list), ==, 1);
    detach(&b);
    g_assert_null(vfio_group_find(7));

    leak_check_end(&lc, &g);
    test_guest_destroy(&g);
}

static void test_container_shared_by_two_groups(void)
{
    TestGuest g;
    LeakCheck lc;
    VFIODevice a, b;
    VFIOAddressSpace *space;

    if (!test_start_two()) {
        return;
    }
    test_guest_init(&g, "guest");
    leak_check_begin(&lc);

    attach_ok(&a, test_edu(), &g);
    attach_ok(&b, test_edu2(), &g);
    g_assert_true(a.group != b.group);
    g_assert_true(a.bcontainer == b.bcontainer);
    space = vfio_address_space_find(&g.as);
    g_assert_nonnull(space);
    g_assert_cmpuint(g_list_length(space->containers), ==, 1);
    g_assert_cmpuint(g_list_length(a.group->container->group_list), ==, 2);
    g_assert_cmpuint(g_list_length(a.bcontainer->device_list), ==, 2);
    /* One container, so RAM is mapped once. */
    g_assert_cmpuint(vfio_container_dma_mappings(a.bcontainer), ==, 1);

    /* The container outlives the first group to leave. */
    detach(&a);
    g_assert_cmpuint(g_list_length(space->containers), ==, 1);
    g_assert_cmpuint(vfio_container_dma_mappings(b.bcontainer), ==, 1);
    detach(&b);

    leak_check_end(&lc, &g);
    test_guest_destroy(&g);
}

static void test_container_per_address_space(void)
{
    TestGuest g1, g2;
    LeakCheck lc;
    VFIODevice a, b;

    if (!test_start_two()) {
        return;
    }
    test_guest_init(&g1, "guest1");
    test_guest_init(&g2, "guest2");
    leak_check_begin(&lc);

    attach_ok(&a, test_edu(), &g1);
    attach_ok(&b, test_edu2(), &g2);
    g_assert_true(a.bcontainer != b.bcontainer);
    g_assert_true(a.bcontainer->space != b.bcontainer->space);
    g_assert_true(a.bcontainer->space->as == &g1.as);
    g_assert_true(b.bcontainer->space->as == &g2.as);
    g_assert_cmpint(vfio_container_from_base(a.bcontainer)->fd, !=,
                    vfio_container_from_base(b.bcontainer)->fd);
    g_assert_cmpuint(vfio_container_dma_mappings(a.bcontainer), ==, 1);
    g_assert_cmpuint(vfio_container_dma_mappings(b.bcontainer), ==, 1);

    detach(&b);
    g_assert_null(vfio_address_space_find(&g2.as));
    g_assert_nonnull(vfio_address_space_find(&g1.as));
    detach(&a);

    leak_check_end(&lc, &g1);
    g_assert_null(vfio_address_space_find(&g2.as));
    test_guest_destroy(&g2);
    test_guest_destroy(&g1);
}

static void test_group_in_two_address_spaces_refused(void)
{
    TestGuest g1, g2;
    LeakCheck lc;
    VFIODevice a, b;
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!test_start_sim(topo_shared_group, "two vfio-pci devices in one IOMMU group")) {
        return;
    }
    test_guest_init(&g1, "guest1");
    test_guest_init(&g2, "guest2");
    leak_check_begin(&lc);

    attach_ok(&a, EDU1, &g1);
    vfio_device_init(&b, EDU3, NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    g_assert_false(vfio_device_attach(EDU3, &b, &g2.as, &err));
    text = error_text(&err);
    assert_contains(text, "vfio 0000:00:03.0: group 7 used in multiple address spaces");
    g_assert_cmpint(b.fd, ==, -1);
    g_assert_null(b.bcontainer);
    g_assert_null(vfio_address_space_find(&g2.as));
    /* The first device is untouched. */
    g_assert_cmpuint(g_list_length(a.group->device_list), ==, 1);
    g_assert_cmpuint(vfio_container_dma_mappings(a.bcontainer), ==, 1);
    vfio_device_finalize(&b);

    detach(&a);
    leak_check_end(&lc, &g1);
    test_guest_destroy(&g2);
    test_guest_destroy(&g1);
}

static void test_device_attached_twice_refused(void)
{
    TestGuest g;
    LeakCheck lc;
    VFIODevice a, again;
    Error *err = NULL;
    g_autofree char *expected = NULL;

    if (!test_start()) {
        return;
    }
    expected = g_strdup_printf("vfio %s: device is already attached: Device or resource busy",
                               test_edu());
    test_guest_init(&g, "guest");
    leak_check_begin(&lc);

    attach_ok(&a, test_edu(), &g);
    /* The same host device through a second VFIODevice. */
    vfio_device_init(&again, test_edu(), NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    g_assert_false(vfio_device_attach(test_edu(), &again, &g.as, &err));
    g_assert_cmpint(error_get_errno(err), ==, EBUSY);
    g_assert_cmpstr(error_get_pretty(err), ==, expected);
    error_free(err);
    err = NULL;
    g_assert_cmpint(again.fd, ==, -1);
    vfio_device_finalize(&again);
    /* The same VFIODevice again. */
    g_assert_false(vfio_device_attach(test_edu(), &a, &g.as, &err));
    g_assert_cmpint(error_get_errno(err), ==, EBUSY);
    error_free(err);
    g_assert_cmpuint(g_list_length(a.group->device_list), ==, 1);
    g_assert_cmpint(a.fd, >=, 0);

    detach(&a);
    leak_check_end(&lc, &g);
    test_guest_destroy(&g);
}

static void test_group_not_viable_hint(void)
{
    TestGuest g;
    LeakCheck lc;
    VFIODevice dev;
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!test_start_sim(topo_not_viable, "a group with a device bound to a host driver")) {
        return;
    }
    test_guest_init(&g, "guest");
    leak_check_begin(&lc);

    vfio_device_init(&dev, EDU1, NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    g_assert_false(vfio_device_attach(EDU1, &dev, &g.as, &err));
    text = error_text(&err);
    assert_contains(text, "vfio 0000:00:01.0: group 5 is not viable\n");
    /* The hint names the device to rebind and its driver. */
    assert_contains(text, "0000:00:06.0 (bound to e1000e)");
    assert_contains(text, "vfio-pci");
    vfio_device_finalize(&dev);

    leak_check_end(&lc, &g);
    test_guest_destroy(&g);
}

/* A PCI address no host has (q35 puts its LPC bridge at 00:1f.0). */
#define ABSENT_BDF "0000:00:1f.7"

static void test_device_not_in_host(void)
{
    TestGuest g;
    LeakCheck lc;
    VFIODevice dev;
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!test_start()) {
        return;
    }
    test_guest_init(&g, "guest");
    leak_check_begin(&lc);

    vfio_device_init(&dev, ABSENT_BDF, NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    g_assert_false(vfio_device_attach(ABSENT_BDF, &dev, &g.as, &err));
    text = error_text(&err);
    assert_contains(text, "vfio " ABSENT_BDF ": no host device at "
                    "/sys/bus/pci/devices/" ABSENT_BDF);
    vfio_device_finalize(&dev);

    leak_check_end(&lc, &g);
    test_guest_destroy(&g);
}

/* A fake sysfs device directory whose iommu_group link is @target (NULL: none). */
static char *fake_sysfs_device(const char *target)
{
    g_autoptr(GError) gerr = NULL;
    char *dir = g_dir_make_tmp("vfio-test-sysfs-XXXXXX", &gerr);

    g_assert_no_error(gerr);
    if (target) {
        g_autofree char *link = g_build_filename(dir, "iommu_group", NULL);

        g_assert_cmpint(symlink(target, link), ==, 0);
    }
    return dir;
}

static void fake_sysfs_remove(char *dir)
{
    g_autofree char *link = g_build_filename(dir, "iommu_group", NULL);

    g_unlink(link);
    g_rmdir(dir);
    g_free(dir);
}

static void check_groupid_error(const char *target, const char *expected)
{
    char *dir = fake_sysfs_device(target);
    VFIODevice dev;
    Error *err = NULL;
    g_autofree char *text = NULL;

    vfio_device_init(&dev, "0000:00:05.0", dir, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    g_assert_cmpint(vfio_device_get_groupid(&dev, &err), ==, -1);
    text = error_text(&err);
    assert_contains(text, expected);
    vfio_device_finalize(&dev);
    fake_sysfs_remove(dir);
}

static void test_iommu_group_link_missing(void)
{
    TestGuest g;
    LeakCheck lc;
    char *dir = fake_sysfs_device(NULL);
    g_autofree char *expected = g_strdup_printf("the device has no IOMMU group "
                                                "(%s/iommu_group is missing)", dir);
    VFIODevice dev;
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!test_start()) {
        fake_sysfs_remove(dir);
        return;
    }
    test_guest_init(&g, "guest");
    leak_check_begin(&lc);
    /* Through attach, to check the whole error and that nothing is left. */
    vfio_device_init(&dev, "0000:00:05.0", dir, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    g_assert_false(vfio_device_attach("0000:00:05.0", &dev, &g.as, &err));
    text = error_text(&err);
    assert_contains(text, expected);
    assert_contains(text, "intel_iommu=on");
    vfio_device_finalize(&dev);
    leak_check_end(&lc, &g);
    test_guest_destroy(&g);
    fake_sysfs_remove(dir);
}

static void test_iommu_group_link_malformed(void)
{
    check_groupid_error("../../../kernel/iommu_groups/twelve",
                        "points to '../../../kernel/iommu_groups/twelve', which does not "
                        "end in an IOMMU group number");
    check_groupid_error("../../../kernel/iommu_groups/12abc", "does not end in an IOMMU group");
    check_groupid_error("../../../kernel/iommu_groups/-3", "does not end in an IOMMU group");
    check_groupid_error("../../../kernel/iommu_groups/99999999999",
                        "does not end in an IOMMU group");
    check_groupid_error("../../../kernel/iommu_groups/", "does not end in an IOMMU group");
}

static void test_iommu_group_link_read(void)
{
    char *dir = fake_sysfs_device("../../../kernel/iommu_groups/42");
    VFIODevice dev;

    vfio_device_init(&dev, "0000:00:05.0", dir, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    g_assert_cmpint(vfio_device_get_groupid(&dev, &error_abort), ==, 42);
    vfio_device_finalize(&dev);
    fake_sysfs_remove(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/attach/edu-attach-detach", test_edu_attach_detach);
    g_test_add_func("/vfio/group/shared-by-two-devices", test_group_shared_by_two_devices);
    g_test_add_func("/vfio/container/shared-by-two-groups",
                    test_container_shared_by_two_groups);
    g_test_add_func("/vfio/container/one-per-address-space",
                    test_container_per_address_space);
    g_test_add_func("/vfio/group/two-address-spaces-refused",
                    test_group_in_two_address_spaces_refused);
    g_test_add_func("/vfio/device/attached-twice-refused", test_device_attached_twice_refused);
    g_test_add_func("/vfio/group/not-viable-hint-names-devices", test_group_not_viable_hint);
    g_test_add_func("/vfio/group/no-such-host-device", test_device_not_in_host);
    g_test_add_func("/vfio/group/iommu-group-link-missing", test_iommu_group_link_missing);
    g_test_add_func("/vfio/group/iommu-group-link-malformed", test_iommu_group_link_malformed);
    g_test_add_func("/vfio/group/iommu-group-link-read", test_iommu_group_link_read);
    return g_test_run();
}
