/*
 * Every step of attaching a device made to fail in turn: the error says
 * what failed, and nothing is left behind (no fd, nothing the kernel holds
 * - no sim file, so no mapping in the sim's tables; on a real kernel
 * nothing pinned and the group free -, no group, no container, no address
 * space, no RAM discard restriction).  On vfio-sim and on a real kernel;
 * the failures only a sim topology or fault can cause skip there.
 */
#include "vfio-sim-test.h"
#include "sysemu/accel-vfio.h"
#include "sysemu/ram-discard.h"

#include <sys/resource.h>

typedef struct Fixture {
    TestGuest g;
    LeakCheck lc;
    VFIODevice dev;
} Fixture;

/*
 * With @sim_only_why the test needs vfio-sim (its @topology or faults) and
 * skips elsewhere; false: skipped.
 */
static bool fixture_setup(Fixture *f, const char *topology, const char *sim_only_why)
{
    if (sim_only_why ? !test_start_sim(topology, sim_only_why) : !test_start()) {
        return false;
    }
    test_guest_init(&f->g, "guest");
    leak_check_begin(&f->lc);
    return true;
}

static void fixture_teardown(Fixture *f)
{
    leak_check_end(&f->lc, &f->g);
    test_guest_destroy(&f->g);
}

/*
 * Attach @devname (the kernel is asked for @kname) and expect failure with
 * a message containing @expected; the device must come out detached.
 */
static void attach_fails(Fixture *f, const char *devname, const char *kname,
                         const char *expected)
{
    Error *err = NULL;
    g_autofree char *text = NULL;

    vfio_device_init(&f->dev, devname, NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    g_assert_false(vfio_device_attach(kname, &f->dev, &f->g.as, &err));
    text = error_text(&err);
    assert_contains(text, expected);
    g_assert_cmpint(f->dev.fd, ==, -1);
    g_assert_null(f->dev.bcontainer);
    g_assert_null(f->dev.group);
    g_assert_null(f->dev.reginfo);
    vfio_device_finalize(&f->dev);
}

static void test_group_open_fails(void)
{
    Fixture f;

    /* Bound to no driver: the group has no /dev/vfio node. */
    if (!fixture_setup(&f, "[device 0000:00:01.0]\ngroup=8\ndriver=none\n",
                       "a device bound to no driver")) {
        return;
    }
    attach_fails(&f, EDU1, EDU1, "cannot open group 8 (/dev/vfio/8)");
    fixture_teardown(&f);
}

static void test_group_not_viable(void)
{
    Fixture f;

    if (!fixture_setup(&f, "[device 0000:00:01.0]\ngroup=5\n"
                           "[device 0000:00:06.0]\ngroup=5\ndriver=e1000e\n",
                       "a group with a device bound to a host driver")) {
        return;
    }
    attach_fails(&f, EDU1, EDU1, "group 5 is not viable");
    fixture_teardown(&f);
}

/*
 * Lower RLIMIT_NOFILE so that exactly @n more fds can be opened; returns
 * the old limit.
 */
static struct rlimit limit_fds(int n)
{
    struct rlimit old, lim;
    int free_slots = 0, fd;

    g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &old), ==, 0);
    /* The limit is the (n+1)th free descriptor number: n below it are free. */
    for (fd = 0;; fd++) {
        if (fcntl(fd, F_GETFD) < 0) {
            if (free_slots == n) {
                break;
            }
            free_slots++;
        }
    }
    lim = old;
    lim.rlim_cur = fd;
    g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &lim), ==, 0);
    return old;
}

static void attach_with_fd_limit(int n, const char *expected)
{
    Fixture f;
    struct rlimit old;
    Error *err = NULL;
    g_autofree char *text = NULL;
    bool ok;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    vfio_device_init(&f.dev, test_edu(), NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    old = limit_fds(n);
    ok = vfio_device_attach(test_edu(), &f.dev, &f.g.as, &err);
    g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &old), ==, 0);
    g_assert_false(ok);
    text = error_text(&err);
    assert_contains(text, expected);
    assert_contains(text, "Too many open files");
    vfio_device_finalize(&f.dev);
    fixture_teardown(&f);
}

/*
 * Each in a child process, so that a lowered fd limit cannot outlive the
 * test.
 */
static void run_in_child(const char *path)
{
    g_autofree char *child = g_strdup_printf("%s/subprocess", path);

    g_test_trap_subprocess(child, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed();
}

static void test_group_open_emfile(void)
{
    run_in_child("/vfio/rollback/group-open-emfile");
}

static void test_group_open_emfile_child(void)
{
    g_autofree char *expected = g_strdup_printf("cannot open group %d", test_edu_group());

    attach_with_fd_limit(0, expected);
}

static void test_container_open_emfile(void)
{
    run_in_child("/vfio/rollback/container-open-emfile");
}

static void test_container_open_emfile_child(void)
{
    attach_with_fd_limit(1, "cannot open /dev/vfio/vfio");
}

static void test_device_fd_emfile(void)
{
    run_in_child("/vfio/rollback/device-fd-emfile");
}

static void test_device_fd_emfile_child(void)
{
    g_autofree char *expected = g_strdup_printf("cannot get device %s from group %d",
                                                test_edu(), test_edu_group());

    attach_with_fd_limit(2, expected);
}

static void test_no_iommu_type(void)
{
    Fixture f;

    if (!fixture_setup(&f, "[iommu]\nextensions=UNMAP_ALL\n", "a kernel with no IOMMU type")) {
        return;
    }
    attach_fails(&f, EDU1, EDU1, "the kernel offers no IOMMU type we can use");
    fixture_teardown(&f);
}

static void test_set_iommu_fails(void)
{
    Fixture f;

    /* No interrupt remapping: type1 refuses the group (EPERM). */
    if (!fixture_setup(&f, "[iommu]\ninterrupt-remapping=false\n",
                       "an IOMMU without interrupt remapping (the rig's intremap-off boot "
                       "shows it to the conformance suite)")) {
        return;
    }
    attach_fails(&f, EDU1, EDU1, "cannot set the TYPE1v2 IOMMU on the container");
    fixture_teardown(&f);
    /* The hint says how to go on. */
    fixture_setup(&f, "[iommu]\ninterrupt-remapping=false\n", "no interrupt remapping");
    attach_fails(&f, EDU1, EDU1, "allow_unsafe_interrupts=1");
    fixture_teardown(&f);
}

static void test_discard_restriction_refused(void)
{
    Fixture f;
    g_autofree char *expected = NULL;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    expected = g_strdup_printf("group %d: cannot forbid RAM discard, which the TYPE1v2 "
                               "IOMMU requires", test_edu_group());
    /* Something requires discard to work: type1 cannot forbid it. */
    g_assert_cmpint(ram_block_discard_require(true), ==, 0);
    attach_fails(&f, test_edu(), test_edu(), expected);
    ram_block_discard_require(false);
    fixture_teardown(&f);
}

static void test_listener_replay_fails(void)
{
    Fixture f;

    if (!fixture_setup(&f, NULL, "an injected ENOSPC on MAP_DMA")) {
        return;
    }
    /* The first MAP_DMA (the guest's RAM, during the replay) fails. */
    sim_fault("map-enospc-at=1");
    attach_fails(&f, EDU1, EDU1, "guest-ram");
    sim_fault("map-enospc-at=0");
    fixture_teardown(&f);
}

/*
 * RAM in the MSI window, where the IOMMU offers no IOVA: the replay maps
 * the RAM at 0 first, then fails, and must unmap it again (on a real
 * kernel the leak check sees nothing pinned).
 */
static void test_listener_ram_outside_iova_ranges(void)
{
    Fixture f;
    MemoryRegion msi_ram;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    g_assert_true(memory_region_init_ram(&msi_ram, NULL, "guest-msi-ram", 1 * MiB,
                                         &error_abort));
    memory_region_add_subregion(&f.g.root, 0xfee00000, &msi_ram);
    attach_fails(&f, test_edu(), test_edu(), "guest-msi-ram");
    memory_region_del_subregion(&f.g.root, &msi_ram);
    memory_region_unparent(&msi_ram);
    fixture_teardown(&f);
}

static bool refuse_file_add(int fd, Error **errp)
{
    error_setg(errp, "the accelerator refuses fd %d", fd);
    return false;
}

static bool accept_file_del(int fd, Error **errp)
{
    return true;
}

static void test_accel_refuses_group(void)
{
    static const AccelVFIOOps refusing = {
        .name = "refusing",
        .file_add = refuse_file_add,
        .file_del = accept_file_del,
    };
    Fixture f;
    g_autofree char *expected = NULL;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    expected = g_strdup_printf("group %d: the accelerator refuses fd", test_edu_group());
    accel_vfio_set_ops(&refusing);
    attach_fails(&f, test_edu(), test_edu(), expected);
    accel_vfio_set_ops(NULL);
    fixture_teardown(&f);
}

static void test_device_fd_refused(void)
{
    Fixture f;
    g_autofree char *expected = NULL;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    expected = g_strdup_printf("cannot get device 0000:00:09.0 from group %d",
                               test_edu_group());
    /* The kernel knows no such device in the group: ENODEV. */
    attach_fails(&f, test_edu(), "0000:00:09.0", expected);
    fixture_teardown(&f);
}

static void test_device_info_wrong_type(void)
{
    Fixture f;
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    /* The last step: the kernel's device info does not match the bus. */
    vfio_device_init(&f.dev, test_edu(), NULL, VFIO_DEVICE_FLAGS_PLATFORM, NULL, NULL);
    g_assert_false(vfio_device_attach(test_edu(), &f.dev, &f.g.as, &err));
    text = error_text(&err);
    assert_contains(text, "does not present the device as the expected type");
    g_assert_cmpint(f.dev.fd, ==, -1);
    g_assert_null(f.dev.reginfo);
    vfio_device_finalize(&f.dev);
    fixture_teardown(&f);
}

static void test_second_group_fails_container_stays(void)
{
    Fixture f;
    VFIODevice a;
    VFIOContainerBase *bc;
    uint32_t mappings;
    int group2;
    g_autofree char *expected = NULL;

    if (!test_start_two() || !fixture_setup(&f, NULL, NULL)) {
        return;
    }
    group2 = test_device_group(test_edu2());
    expected = g_strdup_printf("cannot get device 0000:00:09.0 from group %d", group2);
    attach_ok(&a, test_edu(), &f.g);
    bc = a.bcontainer;
    mappings = vfio_container_dma_mappings(bc);
    /* The second group joins the container, then its device cannot be opened. */
    attach_fails(&f, test_edu2(), "0000:00:09.0", expected);
    g_assert_null(vfio_group_find(group2));
    g_assert_true(a.bcontainer == bc);
    g_assert_cmpuint(g_list_length(vfio_container_from_base(bc)->group_list), ==, 1);
    g_assert_cmpuint(vfio_container_dma_mappings(bc), ==, mappings);
    g_assert_true(bc->listener_registered);
    /* And the group can be attached properly afterwards. */
    attach_ok(&f.dev, test_edu2(), &f.g);
    g_assert_true(f.dev.bcontainer == bc);
    detach(&f.dev);
    detach(&a);
    fixture_teardown(&f);
}

/* The accelerator hears of each group once, and of its going before it is closed. */
static GString *accel_log;

static bool log_file_add(int fd, Error **errp)
{
    g_assert_cmpint(fcntl(fd, F_GETFD), >=, 0);
    g_string_append_printf(accel_log, "add %d;", fd);
    return true;
}

static bool log_file_del(int fd, Error **errp)
{
    g_assert_cmpint(fcntl(fd, F_GETFD), >=, 0);
    g_string_append_printf(accel_log, "del %d;", fd);
    return true;
}

static void test_accel_hook_add_del(void)
{
    static const AccelVFIOOps logging = {
        .name = "logging",
        .file_add = log_file_add,
        .file_del = log_file_del,
    };
    Fixture f;
    VFIODevice a, b;
    g_autofree char *expected = NULL;
    int fd;

    /* On vfio-sim two devices share the group; on a real kernel the device under test alone. */
    if (vfio_sim_present()) {
        fixture_setup(&f, "[device 0000:00:01.0]\ngroup=7\n[device 0000:00:03.0]\ngroup=7\n",
                      "two devices in one group");
    } else if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    accel_log = g_string_new(NULL);
    accel_vfio_set_ops(&logging);
    g_assert_true(accel_vfio_get_ops() == &logging);
    attach_ok(&a, test_edu(), &f.g);
    if (vfio_sim_present()) {
        attach_ok(&b, EDU3, &f.g);
    }
    fd = a.group->fd;
    detach(&a);
    if (vfio_sim_present()) {
        detach(&b);
    }
    accel_vfio_set_ops(NULL);
    expected = g_strdup_printf("add %d;del %d;", fd, fd);
    g_assert_cmpstr(accel_log->str, ==, expected);
    g_string_free(accel_log, true);
    fixture_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/rollback/group-open-enoent", test_group_open_fails);
    g_test_add_func("/vfio/rollback/group-open-emfile", test_group_open_emfile);
    g_test_add_func("/vfio/rollback/group-open-emfile/subprocess",
                    test_group_open_emfile_child);
    g_test_add_func("/vfio/rollback/group-not-viable", test_group_not_viable);
    g_test_add_func("/vfio/rollback/container-open-emfile", test_container_open_emfile);
    g_test_add_func("/vfio/rollback/container-open-emfile/subprocess",
                    test_container_open_emfile_child);
    g_test_add_func("/vfio/rollback/no-iommu-type", test_no_iommu_type);
    g_test_add_func("/vfio/rollback/set-iommu-eperm", test_set_iommu_fails);
    g_test_add_func("/vfio/rollback/discard-restriction-refused",
                    test_discard_restriction_refused);
    g_test_add_func("/vfio/rollback/listener-replay-map-fails", test_listener_replay_fails);
    g_test_add_func("/vfio/rollback/listener-ram-outside-iova-ranges",
                    test_listener_ram_outside_iova_ranges);
    g_test_add_func("/vfio/rollback/accel-refuses-group", test_accel_refuses_group);
    g_test_add_func("/vfio/rollback/device-fd-enodev", test_device_fd_refused);
    g_test_add_func("/vfio/rollback/device-fd-emfile", test_device_fd_emfile);
    g_test_add_func("/vfio/rollback/device-fd-emfile/subprocess", test_device_fd_emfile_child);
    g_test_add_func("/vfio/rollback/device-info-wrong-type", test_device_info_wrong_type);
    g_test_add_func("/vfio/rollback/second-group-fails-container-stays",
                    test_second_group_fails_container_stays);
    g_test_add_func("/vfio/group/accel-hook-add-then-del", test_accel_hook_add_del);
    return g_test_run();
}
