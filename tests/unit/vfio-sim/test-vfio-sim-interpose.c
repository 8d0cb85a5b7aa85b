/*
 * vfio-sim: the interposition itself — fds behave as the kernel's files do
 * (dup, close, fork, close-on-exec, stat), the sysfs paths behave as sysfs
 * does for every libc and GLib way of asking, and concurrent callers are
 * serialized.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim-test.h"

#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static void test_dup_shares_the_file(void)
{
    int c = st_assert_ok(open("/dev/vfio/vfio", O_RDWR));
    int c2 = st_assert_ok(dup(c));
    int c3 = st_assert_ok(fcntl(c, F_DUPFD_CLOEXEC, 100));

    g_assert_cmpint(c3, >=, 100);
    g_assert_cmpint(ioctl(c2, VFIO_GET_API_VERSION), ==, VFIO_API_VERSION);
    close(c);
    g_assert_cmpint(ioctl(c2, VFIO_GET_API_VERSION), ==, VFIO_API_VERSION);
    g_assert_cmpint(ioctl(c3, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), ==, 1);
    close(c2);
    close(c3);
    /* Closed fds are no longer the sim's: the real kernel answers EBADF. */
    st_assert_errno(ioctl(c3, VFIO_GET_API_VERSION), EBADF);
}

static void test_group_released_with_last_fd(void)
{
    int g = st_assert_ok(open("/dev/vfio/1", O_RDWR));
    int g2 = st_assert_ok(dup(g));

    st_assert_errno(open("/dev/vfio/1", O_RDWR), EBUSY);
    close(g);
    st_assert_errno(open("/dev/vfio/1", O_RDWR), EBUSY);
    close(g2);
    g = st_assert_ok(open("/dev/vfio/1", O_RDWR));
    close(g);
}

static void test_dup2_over_sim_fd_releases_it(void)
{
    int g = st_assert_ok(open("/dev/vfio/1", O_RDWR));
    int other = st_assert_ok(open("/dev/null", O_RDWR));

    st_assert_ok(dup2(other, g));       /* closes the group file */
    g = st_assert_ok(open("/dev/vfio/1", O_RDWR));
    close(g);
    close(other);
}

static void test_device_fd_is_cloexec(void)
{
    StDev d;

    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    g_assert_true(fcntl(d.device, F_GETFD) & FD_CLOEXEC);
    st_close(&d);
    d.container = st_assert_ok(open("/dev/vfio/vfio", O_RDWR));
    g_assert_false(fcntl(d.container, F_GETFD) & FD_CLOEXEC);
    close(d.container);
}

static void test_stat_of_nodes(void)
{
    struct stat st;
    int c;

    st_assert_ok(stat("/dev/vfio/vfio", &st));
    g_assert_true(S_ISCHR(st.st_mode));
    g_assert_cmpint(major(st.st_rdev), ==, 10);
    g_assert_cmpint(minor(st.st_rdev), ==, 196);
    st_assert_ok(stat("/dev/vfio/1", &st));
    g_assert_true(S_ISCHR(st.st_mode));
    st_assert_ok(stat("/dev/vfio", &st));
    g_assert_true(S_ISDIR(st.st_mode));
    st_assert_errno(stat("/dev/vfio/99", &st), ENOENT);
    c = st_assert_ok(open("/dev/vfio/vfio", O_RDWR));
    st_assert_ok(fstat(c, &st));
    g_assert_true(S_ISCHR(st.st_mode));
    close(c);
    g_assert_true(g_file_test("/dev/vfio/vfio", G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test("/dev/vfio/vfio", G_FILE_TEST_IS_REGULAR));
}

static void test_sysfs_every_way(void)
{
    g_autofree char *contents = NULL;
    char buf[64];
    struct stat st;
    FILE *f;
    DIR *dir;
    struct dirent *de;
    GDir *gd;
    int fd, n = 0;

    /* stdio */
    f = fopen("/sys/bus/pci/devices/" ST_EDU "/device", "r");
    g_assert_nonnull(f);
    g_assert_nonnull(fgets(buf, sizeof(buf), f));
    fclose(f);
    g_assert_cmpstr(buf, ==, "0x11e8\n");
    /* plain open/read, with a doubled slash */
    fd = st_assert_ok(open("/sys/bus/pci/devices//" ST_EDU "/vendor", O_RDONLY));
    g_assert_cmpint(read(fd, buf, sizeof(buf)), ==, 7);
    close(fd);
    /* lstat sees the link, stat the directory */
    st_assert_ok(lstat("/sys/bus/pci/devices/" ST_EDU, &st));
    g_assert_true(S_ISLNK(st.st_mode));
    st_assert_ok(stat("/sys/bus/pci/devices/" ST_EDU, &st));
    g_assert_true(S_ISDIR(st.st_mode));
    /* openat relative to a directory fd inside the tree */
    fd = st_assert_ok(open("/sys/bus/pci/devices/" ST_EDU, O_RDONLY | O_DIRECTORY));
    g_assert_cmpint(readlinkat(fd, "iommu_group", buf, sizeof(buf)), >, 0);
    close(fd);
    /* following the relative link by hand, as VFIO users do */
    g_assert_true(g_file_get_contents("/sys/bus/pci/devices/" ST_EDU
                                      "/../../../kernel/iommu_groups/1/type",
                                      &contents, NULL, NULL));
    /* directory listings */
    dir = opendir("/sys/kernel/iommu_groups");
    g_assert_nonnull(dir);
    while ((de = readdir(dir))) {
        n += de->d_name[0] != '.';
    }
    closedir(dir);
    g_assert_cmpint(n, ==, 4);
    gd = g_dir_open("/sys/kernel/iommu_groups/2/devices", 0, NULL);
    g_assert_nonnull(gd);
    g_assert_cmpstr(g_dir_read_name(gd), ==, ST_MIG);
    g_dir_close(gd);
    /* paths outside the sim's are untouched */
    g_assert_cmpint(access("/proc/self/status", R_OK), ==, 0);
}

static void test_fork_child_has_its_copy(void)
{
    StDev d;
    pid_t pid;
    int status;

    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    pid = fork();
    if (pid == 0) {
        uint32_t id = 0;

        if (pread(d.device, &id, 4, st_bar_offset(0)) != 4 || id != 0x010000ed) {
            _exit(1);
        }
        _exit(ioctl(d.container, VFIO_GET_API_VERSION) == VFIO_API_VERSION ? 0 : 2);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    g_assert_cmpint(st_rd32(&d, 0, 0), ==, 0x010000ed);
    st_close(&d);
}

/* read() on a device file walks from offset 0 (BAR0); there is no lseek. */
static void test_device_read_position(void)
{
    uint32_t v[2];
    StDev d;

    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    st_wr32(&d, 0, 0x04, 0x11111111);
    g_assert_cmpint(read(d.device, &v[0], 4), ==, 4);
    g_assert_cmpint(read(d.device, &v[1], 4), ==, 4);
    g_assert_cmphex(v[0], ==, 0x010000ed);
    g_assert_cmphex(v[1], ==, 0xeeeeeeee);
    st_assert_errno(lseek(d.device, 0, SEEK_SET), ESPIPE);
    st_close(&d);
}

static void test_poll_on_sim_fd(void)
{
    int c = st_assert_ok(open("/dev/vfio/vfio", O_RDWR));
    struct pollfd p = { .fd = c, .events = POLLIN };

    /* A real fd: poll() returns at once instead of failing with EBADF. */
    g_assert_cmpint(poll(&p, 1, 0), >=, 0);
    g_assert_false(p.revents & POLLNVAL);
    close(c);
}

typedef struct MapThread {
    int container;
    uint64_t iova;
    void *buf;
    int errors;
} MapThread;

static void *map_thread(void *opaque)
{
    MapThread *t = opaque;

    for (int i = 0; i < 500; i++) {
        if (st_map(t->container, t->iova, t->buf, ST_PAGE, ST_MAP_RW) < 0 ||
            st_unmap(t->container, t->iova, ST_PAGE) < 0) {
            t->errors++;
        }
    }
    return NULL;
}

static void test_threads_map_concurrently(void)
{
    MapThread t[4];
    pthread_t th[4];
    void *buf = st_alloc(ST_PAGE);
    StDev d;

    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    for (int i = 0; i < 4; i++) {
        t[i] = (MapThread){ .container = d.container, .iova = 0x100000 * (i + 1), .buf = buf };
        pthread_create(&th[i], NULL, map_thread, &t[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        g_assert_cmpint(t[i].errors, ==, 0);
    }
    st_close(&d);
    munmap(buf, ST_PAGE);
}

static void test_bad_pointers_efault(void)
{
    /* Hidden from the compiler, which would rightly complain. */
    void *volatile bad = (void *)16;
    StDev d;

    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    st_assert_errno(ioctl(d.container, VFIO_IOMMU_MAP_DMA, (void *)16), EFAULT);
    st_assert_errno(ioctl(d.container, VFIO_IOMMU_GET_INFO, NULL), EFAULT);
    st_assert_errno(ioctl(d.group, VFIO_GROUP_GET_STATUS, (void *)-4096L), EFAULT);
    st_assert_errno(ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, (void *)8), EFAULT);
    st_assert_errno(pread(d.device, bad, 4, 0), EFAULT);
    st_close(&d);
}

/*
 * MAP_DMA with an IOMMU domain pins the whole range at once, so any part of
 * [vaddr, vaddr + size) the process has not mapped fails it with EFAULT
 * (vaddr_get_pfns(): no VMA) and nothing is mapped.  The sim's check walks
 * VMAs, not pages: 64 GiB of untouched memfd maps in about the time of one
 * page, where a page walk (mincore) takes half a second or more.  Memory that is
 * mapped but PROT_NONE or read-only passes (the sim does not model the pin's
 * permission checks: docs/vfio-sim.md).
 */
static void test_map_dma_user_range(void)
{
    const uint64_t big = 64ULL << 30, big_iova = 1ULL << 40;
    uint8_t *buf = st_alloc(8 * ST_PAGE);
    uint8_t *prot = st_alloc(2 * ST_PAGE);
    uint8_t *huge;
    int memfd;
    gint64 t;
    StDev d;

    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(munmap(buf + 3 * ST_PAGE, ST_PAGE));
    /* A hole at the start, in the middle, at the end. */
    st_assert_errno(st_map(d.container, 0x100000, buf + 3 * ST_PAGE, 2 * ST_PAGE, ST_MAP_RW),
                    EFAULT);
    st_assert_errno(st_map(d.container, 0x100000, buf, 8 * ST_PAGE, ST_MAP_RW), EFAULT);
    st_assert_errno(st_map(d.container, 0x100000, buf, 4 * ST_PAGE, ST_MAP_RW), EFAULT);
    /* Nothing was left mapped by the failures; each side of the hole maps. */
    st_assert_ok(st_map(d.container, 0x100000, buf, 3 * ST_PAGE, ST_MAP_RW));
    st_assert_ok(st_map(d.container, 0x104000, buf + 4 * ST_PAGE, 4 * ST_PAGE, ST_MAP_RW));

    st_assert_ok(mprotect(prot, ST_PAGE, PROT_NONE));
    st_assert_ok(mprotect(prot + ST_PAGE, ST_PAGE, PROT_READ));
    st_assert_ok(st_map(d.container, 0x200000, prot, 2 * ST_PAGE, ST_MAP_RW));

    /* Guest RAM as Aperture backs it: an untouched memfd, mapped shared. */
    memfd = memfd_create("vfio-sim-test-ram", MFD_CLOEXEC);
    g_assert_cmpint(memfd, >=, 0);
    huge = ftruncate(memfd, big) < 0 ? MAP_FAILED
         : mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, memfd, 0);
    close(memfd);
    if (huge == MAP_FAILED) {
        g_test_skip("cannot map a 64 GiB memfd");
    } else {
        t = g_get_monotonic_time();
        st_assert_ok(st_map(d.container, big_iova, huge, big, ST_MAP_RW));
        t = g_get_monotonic_time() - t;
        g_test_message("MAP_DMA of 64 GiB: %" G_GINT64_FORMAT " us", t);
        g_assert_cmpint(t, <, 100 * 1000);
        st_assert_ok(st_unmap(d.container, big_iova, big));
        /* The last page missing is found as fast. */
        st_assert_ok(munmap(huge + big - ST_PAGE, ST_PAGE));
        t = g_get_monotonic_time();
        st_assert_errno(st_map(d.container, big_iova, huge, big, ST_MAP_RW), EFAULT);
        t = g_get_monotonic_time() - t;
        g_assert_cmpint(t, <, 100 * 1000);
        munmap(huge, big - ST_PAGE);
    }
    st_close(&d);
    munmap(buf, 3 * ST_PAGE);
    munmap(buf + 4 * ST_PAGE, 4 * ST_PAGE);
    munmap(prot, 2 * ST_PAGE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio-sim/interpose/dup-shares-the-file", test_dup_shares_the_file);
    g_test_add_func("/vfio-sim/interpose/group-released-with-last-fd",
                    test_group_released_with_last_fd);
    g_test_add_func("/vfio-sim/interpose/dup2-over-sim-fd-releases-it",
                    test_dup2_over_sim_fd_releases_it);
    g_test_add_func("/vfio-sim/interpose/device-fd-cloexec", test_device_fd_is_cloexec);
    g_test_add_func("/vfio-sim/interpose/stat-of-nodes", test_stat_of_nodes);
    g_test_add_func("/vfio-sim/interpose/sysfs-every-way", test_sysfs_every_way);
    g_test_add_func("/vfio-sim/interpose/fork-child-has-its-copy", test_fork_child_has_its_copy);
    g_test_add_func("/vfio-sim/interpose/poll-on-sim-fd", test_poll_on_sim_fd);
    g_test_add_func("/vfio-sim/interpose/device-read-position", test_device_read_position);
    g_test_add_func("/vfio-sim/interpose/threads-map-concurrently",
                    test_threads_map_concurrently);
    g_test_add_func("/vfio-sim/interpose/bad-pointers-efault", test_bad_pointers_efault);
    g_test_add_func("/vfio-sim/interpose/map-dma-user-range", test_map_dma_user_range);
    return g_test_run();
}
