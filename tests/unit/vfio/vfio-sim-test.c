/*
 * Helpers for the VFIO unit tests of hw/vfio, on vfio-sim or a real
 * kernel (see vfio-sim-test.h).
 */
#include "vfio-sim-test.h"
#include "sysemu/ram-discard.h"

#include <glib/gstdio.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

#define SIM_CONTROL "/dev/vfio-sim"
/* The second device when APERTURE_VFIO_DEVICE2 is unset: the rig's two-edu boot. */
#define DEVICE2_DEFAULT "0000:00:03.0"

bool vfio_sim_present(void)
{
    static int present = -1;

    if (present < 0) {
        int fd = open(SIM_CONTROL, O_RDONLY | O_CLOEXEC);

        present = fd >= 0;
        if (fd >= 0) {
            close(fd);
        }
    }
    return present;
}

const char *test_edu(void)
{
    const char *bdf = g_getenv("APERTURE_VFIO_DEVICE");

    return vfio_sim_present() || !bdf || !*bdf ? EDU1 : bdf;
}

int test_device_group(const char *bdf)
{
    g_autofree char *link = g_strdup_printf("/sys/bus/pci/devices/%s/iommu_group", bdf);
    g_autofree char *target = g_file_read_link(link, NULL);
    const char *base;
    guint64 n;

    if (!target) {
        return -1;
    }
    base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    if (!g_ascii_string_to_unsigned(base, 10, 0, INT_MAX, &n, NULL)) {
        return -1;
    }
    return n;
}

int test_edu_group(void)
{
    return test_device_group(test_edu());
}

/* NULL if @bdf is bound to vfio-pci and its group file exists; else why not. */
static char *device_unusable(const char *bdf)
{
    g_autofree char *drv_link = g_strdup_printf("/sys/bus/pci/devices/%s/driver", bdf);
    g_autofree char *drv = g_file_read_link(drv_link, NULL);
    g_autofree char *node = NULL;
    int group = test_device_group(bdf);

    if (group < 0) {
        return g_strdup_printf("no device %s with an IOMMU group", bdf);
    }
    if (!drv || !g_str_has_suffix(drv, "/vfio-pci")) {
        return g_strdup_printf("%s is not bound to vfio-pci", bdf);
    }
    node = g_strdup_printf("/dev/vfio/%d", group);
    if (access(node, F_OK)) {
        return g_strdup_printf("%s: %s", node, strerror(errno));
    }
    return NULL;
}

const char *test_edu2(void)
{
    const char *bdf = g_getenv("APERTURE_VFIO_DEVICE2");
    g_autofree char *why = NULL;

    if (vfio_sim_present()) {
        return EDU3;
    }
    if (!bdf || !*bdf) {
        bdf = DEVICE2_DEFAULT;
    }
    if (!strcmp(bdf, "none")) {
        return NULL;
    }
    why = device_unusable(bdf);
    return why ? NULL : bdf;
}

bool test_start(void)
{
    g_autofree char *why = NULL;
    g_autofree char *msg = NULL;

    if (vfio_sim_present()) {
        sim_load(NULL);
        return true;
    }
    why = device_unusable(test_edu());
    if (!why) {
        return true;
    }
    msg = g_strdup_printf("no device under test (APERTURE_VFIO_DEVICE): %s", why);
    g_test_skip(msg);
    return false;
}

bool test_start_sim(const char *topology, const char *why)
{
    g_autofree char *msg = NULL;

    if (vfio_sim_present()) {
        sim_load(topology);
        return true;
    }
    msg = g_strdup_printf("sim-only: %s", why);
    g_test_skip(msg);
    return false;
}

bool test_start_two(void)
{
    if (!test_start()) {
        return false;
    }
    if (!test_edu2()) {
        g_test_skip("needs a second vfio-pci device in another IOMMU group "
                    "(APERTURE_VFIO_DEVICE2)");
        return false;
    }
    return true;
}

void test_guest_init(TestGuest *g, const char *name)
{
    g_autofree char *ram_name = g_strdup_printf("%s-ram", name);

    memory_region_init(&g->root, NULL, name, UINT64_MAX);
    g_assert_true(memory_region_init_ram(&g->ram, NULL, ram_name, TEST_RAM_SIZE,
                                         &error_abort));
    memory_region_add_subregion(&g->root, 0, &g->ram);
    address_space_init(&g->as, &g->root, name);
}

void test_guest_destroy(TestGuest *g)
{
    address_space_destroy(&g->as);
    memory_region_unparent(&g->ram);
    memory_region_unparent(&g->root);
}

static void sim_control(const char *cmd)
{
    int fd = open(SIM_CONTROL, O_RDWR | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        g_error("cannot open %s (is vfio-sim preloaded?): %s", SIM_CONTROL, strerror(errno));
    }
    n = write(fd, cmd, strlen(cmd));
    if (n != (ssize_t)strlen(cmd)) {
        g_error("vfio-sim refused '%s': %s", cmd, n < 0 ? strerror(errno) : "short write");
    }
    close(fd);
}

void sim_load(const char *text)
{
    g_autofree char *cmd = NULL;
    g_autofree char *path = NULL;
    g_autoptr(GError) err = NULL;
    int fd;

    if (!text) {
        sim_control("reload");
        return;
    }
    fd = g_file_open_tmp("vfio-test-XXXXXX.conf", &path, &err);
    g_assert_no_error(err);
    close(fd);
    g_assert_true(g_file_set_contents(path, text, -1, &err));
    cmd = g_strdup_printf("reload %s", path);
    sim_control(cmd);
    g_unlink(path);
}

void sim_fault(const char *spec)
{
    g_autofree char *cmd = g_strdup_printf("fault reset-counters=1,%s", spec);

    sim_control(cmd);
}

uint64_t sim_status(const char *key)
{
    char buf[4096];
    int fd = open(SIM_CONTROL, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    size_t klen = strlen(key);

    g_assert_cmpint(fd, >=, 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    g_assert_cmpint(n, >, 0);
    buf[n] = 0;
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1
                                                                     : NULL) {
        if (!strncmp(line, key, klen) && line[klen] == ' ') {
            return g_ascii_strtoull(line + klen + 1, NULL, 0);
        }
    }
    g_error("vfio-sim status has no '%s':\n%s", key, buf);
}

uint64_t locked_kib(void)
{
    g_autofree char *status = NULL;
    const char *line;

    g_assert_true(g_file_get_contents("/proc/self/status", &status, NULL, NULL));
    line = strstr(status, "\nVmLck:");
    g_assert_nonnull(line);
    return g_ascii_strtoull(line + strlen("\nVmLck:"), NULL, 10);
}

/* Group @id opens (nobody holds it) and is in no container. */
static void assert_group_free(int id)
{
    g_autofree char *path = g_strdup_printf("/dev/vfio/%d", id);
    struct vfio_group_status status = { .argsz = sizeof(status) };
    int fd = open(path, O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        g_error("%s is still held: opening it again fails: %s", path, strerror(errno));
    }
    g_assert_cmpint(ioctl(fd, VFIO_GROUP_GET_STATUS, &status), ==, 0);
    g_assert_cmphex(status.flags, ==, VFIO_GROUP_FLAGS_VIABLE);
    close(fd);
}

void assert_kernel_released(void)
{
    g_assert_cmpuint(locked_kib(), ==, 0);
    if (vfio_sim_present()) {
        g_assert_cmpint(sim_status("open-files"), ==, 0);
        return;
    }
    assert_group_free(test_edu_group());
    if (test_edu2()) {
        assert_group_free(test_device_group(test_edu2()));
    }
}

int count_fds(void)
{
    GDir *d = g_dir_open("/proc/self/fd", 0, NULL);
    int n = 0;

    g_assert_nonnull(d);
    while (g_dir_read_name(d)) {
        n++;
    }
    g_dir_close(d);
    return n;
}

void leak_check_begin(LeakCheck *lc)
{
    lc->fds = count_fds();
}

void leak_check_end(LeakCheck *lc, TestGuest *g)
{
    g_assert_cmpint(count_fds(), ==, lc->fds);
    assert_kernel_released();
    if (g) {
        g_assert_null(vfio_address_space_find(&g->as));
    }
    for (int id = 0; id < 16; id++) {
        g_assert_null(vfio_group_find(id));
    }
    /* A held restriction would make requiring discard fail. */
    g_assert_false(ram_block_discard_is_disabled());
    g_assert_cmpint(ram_block_discard_require(true), ==, 0);
    ram_block_discard_require(false);
}

void attach_ok(VFIODevice *vdev, const char *name, TestGuest *g)
{
    Error *err = NULL;

    vfio_device_init(vdev, name, NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    if (!vfio_device_attach(name, vdev, &g->as, &err)) {
        g_autofree char *text = error_text(&err);

        g_error("attaching %s failed: %s", name, text);
    }
}

void detach(VFIODevice *vdev)
{
    vfio_device_detach(vdev);
    vfio_device_finalize(vdev);
}

char *error_text(Error **errp)
{
    g_autofree char *path = NULL;
    g_autoptr(GError) gerr = NULL;
    char *text = NULL;
    int saved, fd;

    g_assert_nonnull(*errp);
    fd = g_file_open_tmp("vfio-test-err-XXXXXX", &path, &gerr);
    g_assert_no_error(gerr);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    error_report_err(*errp);
    *errp = NULL;
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    g_assert_true(g_file_get_contents(path, &text, NULL, &gerr));
    g_unlink(path);
    return text;
}

void assert_contains_impl(const char *text, const char *needle, const char *file, int line)
{
    if (!strstr(text, needle)) {
        g_error("%s:%d: expected the text to contain\n  \"%s\"\nbut it is\n  \"%s\"", file,
                line, needle, text);
    }
}
