/*
 * vfio-sim: the topology file (docs/vfio-sim.md) and what the simulated host
 * looks like with it — sysfs, /dev/vfio, the IOMMU's answers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim-test.h"

#include <sys/stat.h>

static char *read_sysfs(const char *bdf, const char *attr)
{
    g_autofree char *path = g_strdup_printf("/sys/bus/pci/devices/%s/%s", bdf, attr);
    char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return g_strstrip(text);
}

static void test_default_topology(void)
{
    g_autofree char *vendor = NULL, *device = NULL, *drv = NULL, *grp = NULL;

    st_topology(NULL);
    g_assert_cmpint(st_group_of(ST_EDU), ==, 1);
    g_assert_cmpint(st_group_of(ST_MIG), ==, 2);
    g_assert_cmpint(st_group_of(ST_EDU2), ==, 3);
    g_assert_cmpint(st_group_of(ST_PIN), ==, 4);
    vendor = read_sysfs(ST_EDU, "vendor");
    device = read_sysfs(ST_EDU, "device");
    g_assert_cmpstr(vendor, ==, "0x1234");
    g_assert_cmpstr(device, ==, "0x11e8");
    drv = g_file_read_link("/sys/bus/pci/devices/" ST_EDU "/driver", NULL);
    g_assert_cmpstr(drv, ==, "../../../bus/pci/drivers/vfio-pci");
    grp = g_file_read_link("/sys/bus/pci/devices/" ST_EDU "/iommu_group", NULL);
    g_assert_cmpstr(grp, ==, "../../../kernel/iommu_groups/1");
    g_assert_true(g_file_test("/sys/kernel/iommu_groups/1/devices/" ST_EDU, G_FILE_TEST_EXISTS));
    g_assert_cmpint(access("/dev/vfio/vfio", F_OK), ==, 0);
    g_assert_cmpint(access("/dev/vfio/4", F_OK), ==, 0);
    st_assert_errno(access("/dev/vfio/5", F_OK), ENOENT);
    st_assert_errno(access("/dev/iommu", F_OK), ENOENT);
}

static const char topo_custom[] =
    "[iommu]\n"
    "extensions = TYPE1v2\n"
    "iova-ranges = 0x100000-0x1fffff\n"
    "pgsizes = 0x1000\n"
    "dma-entry-limit = 2\n"
    "[device 0000:01:00.0]\n"
    "model = edu\n"
    "group = 7\n"
    "vendor-id = 0x8086\n"
    "device-id = 0x1234\n"
    "[device 0000:01:00.1]\n"
    "model = edu\n"
    "group = 8\n"
    "driver = none\n";

static void test_custom_topology(void)
{
    g_autofree char *vendor = NULL;
    g_autofree char *real = NULL;
    void *buf;
    StDev d;

    st_topology(topo_custom);
    g_assert_cmpint(st_group_of("0000:01:00.0"), ==, 7);
    vendor = read_sysfs("0000:01:00.0", "vendor");
    g_assert_cmpstr(vendor, ==, "0x8086");
    /* The built-in devices are gone; an unbound device has no /dev/vfio node. */
    g_assert_cmpint(st_group_of(ST_EDU), ==, -1);
    g_assert_false(g_file_test("/sys/bus/pci/devices/0000:01:00.1/driver",
                               G_FILE_TEST_EXISTS));
    st_assert_errno(open("/dev/vfio/8", O_RDWR), ENOENT);
    real = realpath("/sys/bus/pci/devices/0000:01:00.0", NULL);
    g_assert_cmpstr(real, ==, "/sys/devices/pci0000:01/0000:01:00.0");

    st_open(&d, "0000:01:00.0", 0);
    g_assert_cmpint(ioctl(d.container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), ==, 0);
    st_assert_errno(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), ENODEV);
    st_assert_ok(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    buf = st_alloc(3 * ST_PAGE);
    st_assert_errno(st_map(d.container, 0x200000, buf, ST_PAGE, ST_MAP_RW), EINVAL);
    st_assert_ok(st_map(d.container, 0x100000, buf, ST_PAGE, ST_MAP_RW));
    st_assert_ok(st_map(d.container, 0x101000, buf, ST_PAGE, ST_MAP_RW));
    /* dma-entry-limit = 2 */
    st_assert_errno(st_map(d.container, 0x102000, buf, ST_PAGE, ST_MAP_RW), ENOSPC);
    st_close(&d);
    munmap(buf, 3 * ST_PAGE);
    st_topology(NULL);
}

static void test_bad_files_refused(void)
{
    static const char *const bad[] = {
        "[device 0000:00:01.0]\nmodel = nic\ngroup = 1\n",          /* unknown model */
        "[device 0000:00:01.0]\nmodel = edu\n",                     /* no group */
        "[device 00:01.0]\nmodel = edu\ngroup = 1\n",               /* not a BDF */
        "[device 0000:00:0a.0]\ngroup = 1\n[device 0000:00:0A.0]\ngroup = 2\n",
        "[iommu]\niova-ranges = 0x2000-0x1000\n",                   /* backwards */
        "[iommu]\niova-ranges = 0x0-0xffff;0x8000-0x1ffff\n",       /* overlapping */
        "[iommu]\npgsizes = 0x200\n",                               /* below 4 KiB */
        "[iommu]\nextensions = TYPE1;SPAPR\n",                      /* unknown extension */
        "[iommu]\ndma-entry-limit = lots\n",
        "[faults]\nmap-ebusy-at = -\n",
        "[faults]\nexplode = 1\n",
        "[gpu]\nmodel = edu\n",                                      /* unknown group */
        "[device 0000:00:01.0]\nmodel = pin\ngroup = 1\n"
        "[device 0000:00:02.0]\nmodel = edu\ngroup = 1\n",          /* pin shares a group */
        "[device 0000:00:02.0]\nmodel = mig\ngroup = 2\nmsix-vectors = 0\n",
        "[device 0000:00:02.0]\nmodel = mig\ngroup = 2\nmsix-vectors = 65\n",
        "not a key file",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *path = NULL;
        g_autofree char *cmd = NULL;
        int fd = g_file_open_tmp("vfio-sim-bad-XXXXXX.conf", &path, NULL);

        g_assert_true(g_file_set_contents(path, bad[i], -1, NULL));
        close(fd);
        cmd = g_strdup_printf("reload %s", path);
        if (st_control(cmd) != -EINVAL) {
            g_error("config %zu was accepted:\n%s", i, bad[i]);
        }
        unlink(path);
    }
    /* A refused file leaves the previous topology in place. */
    g_assert_cmpint(st_group_of(ST_EDU), ==, 1);
}

static void test_reload_refused_while_open(void)
{
    int c = st_assert_ok(open("/dev/vfio/vfio", O_RDWR));

    g_assert_cmpint(st_control("reload"), ==, -EBUSY);
    close(c);
    g_assert_cmpint(st_control("reload"), ==, 0);
}

static void test_fault_syntax(void)
{
    g_assert_cmpint(st_control("fault map-ebusy-at=3,data-short-read-at=2"), ==, 0);
    g_assert_cmpint(st_control("fault mig-fail-state=STOP_COPY,mig-fail-errno=EIO"), ==, 0);
    g_assert_cmpint(st_control("fault map-ebusy-at"), ==, -EINVAL);
    g_assert_cmpint(st_control("fault mig-fail-state=SIDEWAYS"), ==, -EINVAL);
    g_assert_cmpint(st_control("frobnicate"), ==, -EINVAL);
    st_topology(NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio-sim/config/default-topology", test_default_topology);
    g_test_add_func("/vfio-sim/config/custom-topology", test_custom_topology);
    g_test_add_func("/vfio-sim/config/bad-files-refused", test_bad_files_refused);
    g_test_add_func("/vfio-sim/config/reload-refused-while-open", test_reload_refused_while_open);
    g_test_add_func("/vfio-sim/config/fault-syntax", test_fault_syntax);
    return g_test_run();
}
