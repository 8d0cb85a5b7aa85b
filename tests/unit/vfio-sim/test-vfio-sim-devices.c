/*
 * vfio-sim: the simulated devices — DMA through the IOMMU into the right
 * page, IOMMU faults refused and counted, the mig device's engine seen by
 * both kinds of dirty tracking, a live migration whose destination ends up
 * equal to the source, interrupts, and register access through a mapping.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim-test.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <linux/pci_regs.h>

#define MIG_CTRL        0x04
#define MIG_STATUS      0x08
#define MIG_DMA_BASE    0x10
#define MIG_DMA_PAGES   0x18
#define MIG_RATE        0x1c
#define MIG_PATTERN     0x20
#define MIG_SEQ         0x24
#define MIG_FAULTS      0x2c
#define MIG_STATE_INDEX 0x30
#define MIG_STATE_DATA  0x34
#define MIG_STATE_SIZE  0x38

static uint64_t dma_faults(const char *bdf)
{
    g_autofree char *key = g_strdup_printf("dma-faults %s", bdf);
    g_autofree char *v = st_status(key);

    return v ? g_ascii_strtoull(v, NULL, 10) : 0;
}

static void edu_dma(StDev *d, uint64_t src, uint64_t dst, uint32_t cnt, uint32_t cmd)
{
    st_wr32(d, 0, 0x80, src);
    st_wr32(d, 0, 0x88, dst);
    st_wr32(d, 0, 0x90, cnt);
    st_wr32(d, 0, 0x98, cmd | 1);
    st_wait_for(!(st_rd32(d, 0, 0x98) & 1));
}

static void test_edu_dma_lands_in_the_right_page(void)
{
    uint8_t *ram = st_alloc(4 * ST_PAGE);
    StDev d;

    st_topology(NULL);
    memset(ram, 0, 4 * ST_PAGE);
    memset(ram + ST_PAGE, 0x5a, 64);
    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    st_command(&d, PCI_COMMAND_MASTER);
    st_assert_ok(st_map(d.container, 0x200000, ram, 4 * ST_PAGE, ST_MAP_RW));
    edu_dma(&d, 0x201000, 0x40000, 64, 0);          /* page 1 -> buffer */
    edu_dma(&d, 0x40000, 0x203000 + 8, 64, 2);      /* buffer -> page 3 + 8 */
    g_assert_cmpmem(ram + 3 * ST_PAGE + 8, 64, ram + ST_PAGE, 64);
    for (int i = 0; i < 8; i++) {
        g_assert_cmpint(ram[3 * ST_PAGE + i], ==, 0);
    }
    g_assert_cmpint(ram[2 * ST_PAGE], ==, 0);
    st_close(&d);
    munmap(ram, 4 * ST_PAGE);
}

static void test_edu_dma_faults_refused(void)
{
    uint8_t *ram = st_alloc(2 * ST_PAGE);
    uint64_t before;
    StDev d;

    memset(ram, 0x11, 2 * ST_PAGE);
    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    st_command(&d, PCI_COMMAND_MASTER);
    st_assert_ok(st_map(d.container, 0x300000, ram, ST_PAGE, VFIO_DMA_MAP_FLAG_READ));
    st_assert_ok(st_map(d.container, 0x301000, ram + ST_PAGE, ST_PAGE, ST_MAP_RW));
    before = dma_faults(ST_EDU);
    /* Write into a read-only mapping: refused, memory untouched. */
    edu_dma(&d, 0x40000, 0x300000, 16, 2);
    g_assert_cmpint(ram[0], ==, 0x11);
    /* A transfer that runs off the end of a mapping moves nothing. */
    edu_dma(&d, 0x40000, 0x301ff8, 16, 2);
    g_assert_cmpint(ram[2 * ST_PAGE - 8], ==, 0x11);
    /* Unmapped IOVA. */
    edu_dma(&d, 0x500000, 0x40000, 16, 0);
    g_assert_cmpint(dma_faults(ST_EDU), ==, before + 3);
    st_close(&d);
    munmap(ram, 2 * ST_PAGE);
}

static void test_edu_no_bus_master_no_dma(void)
{
    uint8_t *ram = st_alloc(ST_PAGE);
    StDev d;

    memset(ram, 0x22, ST_PAGE);
    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_map(d.container, 0x300000, ram, ST_PAGE, ST_MAP_RW));
    edu_dma(&d, 0x40000, 0x300000, 16, 2);
    g_assert_cmpint(ram[0], ==, 0x22);
    st_close(&d);
    munmap(ram, ST_PAGE);
}

static void test_edu_intx_automask_and_unmask_eventfd(void)
{
    int trig = eventfd(0, EFD_CLOEXEC), unmask = eventfd(0, EFD_CLOEXEC);
    uint8_t buf[sizeof(struct vfio_irq_set) + 4];
    struct vfio_irq_set *s = (void *)buf;
    struct pollfd p = { .fd = trig, .events = POLLIN };
    uint64_t v;
    StDev d;

    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    *s = (struct vfio_irq_set){ .argsz = sizeof(buf), .index = VFIO_PCI_INTX_IRQ_INDEX,
                                .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                                .count = 1 };
    memcpy(s->data, &trig, 4);
    st_assert_ok(ioctl(d.device, VFIO_DEVICE_SET_IRQS, s));
    s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK;
    memcpy(s->data, &unmask, 4);
    st_assert_ok(ioctl(d.device, VFIO_DEVICE_SET_IRQS, s));

    st_wr32(&d, 0, 0x60, 0x1);                  /* raise */
    g_assert_cmpint(poll(&p, 1, 2000), ==, 1);
    g_assert_cmpint(read(trig, &v, 8), ==, 8);
    /* Automasked: raising again while masked does not signal. */
    st_wr32(&d, 0, 0x60, 0x2);
    g_assert_cmpint(poll(&p, 1, 50), ==, 0);
    /* Unmask with the line still asserted: delivered again at once. */
    v = 1;
    g_assert_cmpint(write(unmask, &v, 8), ==, 8);
    g_assert_cmpint(poll(&p, 1, 2000), ==, 1);
    g_assert_cmpint(read(trig, &v, 8), ==, 8);
    /* Acknowledge everything, unmask: nothing pending. */
    st_wr32(&d, 0, 0x64, 0x3);
    v = 1;
    g_assert_cmpint(write(unmask, &v, 8), ==, 8);
    g_assert_cmpint(poll(&p, 1, 100), ==, 0);
    st_close(&d);
    close(trig);
    close(unmask);
}

/* Write the command register: set @set, clear @clear. */
static void command_write(StDev *d, uint16_t set, uint16_t clear)
{
    uint64_t cfg = st_bar_offset(VFIO_PCI_CONFIG_REGION_INDEX) + PCI_COMMAND;
    uint16_t cmd;

    g_assert_cmpint(pread(d->device, &cmd, 2, cfg), ==, 2);
    cmd = (cmd | set) & ~clear;
    g_assert_cmpint(pwrite(d->device, &cmd, 2, cfg), ==, 2);
}

static void intx_set_irqs(StDev *d, uint32_t flags, int32_t fd)
{
    uint8_t buf[sizeof(struct vfio_irq_set) + 4];
    struct vfio_irq_set *s = (void *)buf;

    *s = (struct vfio_irq_set){ .argsz = sizeof(buf), .index = VFIO_PCI_INTX_IRQ_INDEX,
                                .flags = flags, .count = 1 };
    memcpy(s->data, &fd, 4);
    if (!(flags & VFIO_IRQ_SET_DATA_EVENTFD)) {
        s->argsz = sizeof(*s);
    }
    st_assert_ok(ioctl(d->device, VFIO_DEVICE_SET_IRQS, s));
}

/* The trigger was signalled within @ms (and is drained), or not. */
static bool intx_signalled(int trig, int ms)
{
    struct pollfd p = { .fd = trig, .events = POLLIN };
    uint64_t v;

    if (poll(&p, 1, ms) != 1) {
        return false;
    }
    g_assert_cmpint(read(trig, &v, 8), ==, 8);
    return true;
}

/*
 * INTx disable in the command register, as vfio_basic_config_write() and
 * vfio_pci_intx_mask()/vfio_pci_intx_unmask() handle it: setting the bit
 * masks the line and never signals; clearing it unmasks, so a line the device
 * still asserts is signalled again at once (and stays masked) whether it was
 * masked by SET_IRQS MASK, automasked by an earlier signal, or raised while
 * the bit was set; a line no longer asserted is left unmasked.  A write that
 * leaves the bit as it was is not an unmask.
 */
static void test_edu_intx_disable_unmasks(void)
{
    int trig = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    StDev d;

    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    intx_set_irqs(&d, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, trig);

    /* Masked by the user, then asserted: pending and masked. */
    intx_set_irqs(&d, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, -1);
    st_wr32(&d, 0, 0x60, 0x1);
    g_assert_false(intx_signalled(trig, 50));
    command_write(&d, PCI_COMMAND_INTX_DISABLE, 0);
    g_assert_false(intx_signalled(trig, 50));
    command_write(&d, 0, PCI_COMMAND_INTX_DISABLE);
    g_assert_true(intx_signalled(trig, 2000));
    /* Still asserted, so still masked: another raise is not signalled. */
    st_wr32(&d, 0, 0x60, 0x2);
    g_assert_false(intx_signalled(trig, 50));

    /* Automasked by that signal: set and clear the bit, signalled again. */
    command_write(&d, PCI_COMMAND_INTX_DISABLE, 0);
    g_assert_false(intx_signalled(trig, 50));
    command_write(&d, 0, PCI_COMMAND_INTX_DISABLE);
    g_assert_true(intx_signalled(trig, 2000));
    /* Rewriting the command register with the bit clear is no unmask. */
    command_write(&d, 0, PCI_COMMAND_INTX_DISABLE);
    g_assert_false(intx_signalled(trig, 50));

    /* SET_IRQS UNMASK does nothing while the bit is set; clearing it does. */
    command_write(&d, PCI_COMMAND_INTX_DISABLE, 0);
    intx_set_irqs(&d, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, -1);
    g_assert_false(intx_signalled(trig, 50));
    command_write(&d, 0, PCI_COMMAND_INTX_DISABLE);
    g_assert_true(intx_signalled(trig, 2000));

    /* Deasserted while masked: clearing the bit unmasks without a signal... */
    st_wr32(&d, 0, 0x64, 0x3);
    command_write(&d, PCI_COMMAND_INTX_DISABLE, 0);
    command_write(&d, 0, PCI_COMMAND_INTX_DISABLE);
    g_assert_false(intx_signalled(trig, 50));
    /* ...so the next assertion is delivered with no SET_IRQS UNMASK. */
    st_wr32(&d, 0, 0x60, 0x1);
    g_assert_true(intx_signalled(trig, 2000));
    st_wr32(&d, 0, 0x64, 0x1);
    intx_set_irqs(&d, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, -1);

    /* Unmasked, then the bit set: asserted meanwhile, signalled on clear. */
    command_write(&d, PCI_COMMAND_INTX_DISABLE, 0);
    st_wr32(&d, 0, 0x60, 0x1);
    g_assert_false(intx_signalled(trig, 50));
    command_write(&d, 0, PCI_COMMAND_INTX_DISABLE);
    g_assert_true(intx_signalled(trig, 2000));
    st_close(&d);
    close(trig);
}

static void test_edu_mmap_exact(void)
{
    volatile uint32_t *bar;
    volatile uint64_t *bar64;
    volatile uint8_t *bar8;
    StDev d;

    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    bar = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, d.device, st_bar_offset(0));
    g_assert_true(bar != MAP_FAILED);
    bar64 = (volatile uint64_t *)bar;
    bar8 = (volatile uint8_t *)bar;
    bar[0x08 / 4] = 5;                          /* factorial */
    while (bar[0x20 / 4] & 1) {
        g_usleep(100);
    }
    g_assert_cmpuint(bar[0x08 / 4], ==, 120);
    bar64[0x80 / 8] = 0x123456789ULL;           /* 64-bit registers take 8-byte access */
    g_assert_cmphex(bar64[0x80 / 8], ==, 0x123456789ULL);
    g_assert_cmphex(bar8[0], ==, 0xff);         /* edu answers ~0 to narrow reads */
    g_assert_cmphex(bar[0x100 / 4], ==, 0xffffffff);
    munmap((void *)bar, 1 << 20);
    st_close(&d);
}

/* edu multiplies in 32 bits: 12! fits, 34! and beyond wrap to 0. */
static void test_edu_factorial_wraps(void)
{
    StDev d;

    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    st_wr32(&d, 0, 0x08, 12);
    st_wait_for(!(st_rd32(&d, 0, 0x20) & 1));
    g_assert_cmpuint(st_rd32(&d, 0, 0x08), ==, 479001600);
    st_wr32(&d, 0, 0x08, 33);
    st_wait_for(!(st_rd32(&d, 0, 0x20) & 1));
    g_assert_cmphex(st_rd32(&d, 0, 0x08), ==, 0x80000000);
    st_wr32(&d, 0, 0x08, 0xffffffff);
    st_wait_for(!(st_rd32(&d, 0, 0x20) & 1));
    g_assert_cmpuint(st_rd32(&d, 0, 0x08), ==, 0);
    st_close(&d);
}

static void exit_42(int sig)
{
    _exit(42);
}

/* A program's own SIGSEGV handler neither breaks the mapping nor loses real faults. */
static void test_edu_mmap_with_program_segv_handler(void)
{
    struct sigaction sa = { .sa_handler = exit_42 }, old;
    volatile uint32_t *bar;
    pid_t pid;
    int status;
    StDev d;

    st_open(&d, ST_EDU, VFIO_TYPE1v2_IOMMU);
    bar = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, d.device, st_bar_offset(0));
    g_assert_true(bar != MAP_FAILED);
    sigemptyset(&sa.sa_mask);
    st_assert_ok(sigaction(SIGSEGV, &sa, &old));
    bar[0x04 / 4] = 0x0f0f0f0f;
    g_assert_cmphex(bar[0x04 / 4], ==, 0xf0f0f0f0);
    pid = fork();
    if (pid == 0) {
        /* Not a fault on a register page: the program's handler gets it. */
        raise(SIGSEGV);
        _exit(0);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 42);
    st_assert_ok(sigaction(SIGSEGV, &old, NULL));
    munmap((void *)bar, 4096);
    st_close(&d);
}

/* ---- the mig device ---- */

static void mig_start_engine(StDev *d, uint64_t iova, uint32_t pages, uint32_t rate)
{
    st_command(d, PCI_COMMAND_MASTER);
    st_wr32(d, 0, MIG_DMA_BASE, (uint32_t)iova);
    st_wr32(d, 0, MIG_DMA_BASE + 4, iova >> 32);
    st_wr32(d, 0, MIG_DMA_PAGES, pages);
    st_wr32(d, 0, MIG_RATE, rate);
    st_wr32(d, 0, MIG_PATTERN, 0xc0ffee00);
    st_wr32(d, 0, MIG_CTRL, 1);
}

static void test_mig_engine_dirty_container_tracking(void)
{
    const uint32_t pages = 16;
    uint8_t *ram = st_alloc(pages * ST_PAGE);
    uint64_t bitmap = 0;
    uint8_t buf[sizeof(struct vfio_iommu_type1_dirty_bitmap) +
                sizeof(struct vfio_iommu_type1_dirty_bitmap_get)];
    struct vfio_iommu_type1_dirty_bitmap *db = (void *)buf;
    struct vfio_iommu_type1_dirty_bitmap_get *range = (void *)db->data;
    StDev d;

    memset(ram, 0, pages * ST_PAGE);
    st_open(&d, ST_MIG, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_map(d.container, 0x400000, ram, pages * ST_PAGE, ST_MAP_RW));
    *db = (struct vfio_iommu_type1_dirty_bitmap){ .argsz = sizeof(*db),
                                                   .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START };
    st_assert_ok(ioctl(d.container, VFIO_IOMMU_DIRTY_PAGES, db));
    mig_start_engine(&d, 0x400000, 4, 4);
    st_wait_for(st_rd32(&d, 0, MIG_SEQ) >= 8);
    st_wr32(&d, 0, MIG_CTRL, 0);
    /* The engine's pattern is in guest memory, page by page. */
    g_assert_cmphex(*(uint64_t *)(ram + 2 * ST_PAGE) >> 32, ==, 0xc0ffee00);
    g_assert_cmpint(ram[5 * ST_PAGE], ==, 0);
    /* vfio-pci pins nothing: every mapped page is reported. */
    *db = (struct vfio_iommu_type1_dirty_bitmap){ .argsz = sizeof(buf),
                                                   .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP };
    *range = (struct vfio_iommu_type1_dirty_bitmap_get){
        .iova = 0x400000, .size = pages * ST_PAGE,
        .bitmap = { .pgsize = ST_PAGE, .size = 8, .data = (__u64 *)&bitmap } };
    st_assert_ok(ioctl(d.container, VFIO_IOMMU_DIRTY_PAGES, db));
    g_assert_cmphex(bitmap, ==, (1ULL << pages) - 1);
    st_close(&d);
    munmap(ram, pages * ST_PAGE);
}

static void test_mig_engine_dirty_dma_logging(void)
{
    const uint32_t pages = 16;
    uint8_t *ram = st_alloc(pages * ST_PAGE);
    struct vfio_device_feature_dma_logging_range r = { .iova = 0x400000,
                                                       .length = pages * ST_PAGE };
    struct vfio_device_feature_dma_logging_control ctl = {
        .page_size = ST_PAGE, .num_ranges = 1, .ranges = (uintptr_t)&r };
    uint64_t bitmap = 0;
    struct vfio_device_feature_dma_logging_report rep = {
        .iova = 0x400000, .length = pages * ST_PAGE, .page_size = ST_PAGE,
        .bitmap = (uintptr_t)&bitmap };
    StDev d;

    st_open(&d, ST_MIG, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_map(d.container, 0x400000, ram, pages * ST_PAGE, ST_MAP_RW));
    st_assert_ok(st_feature(d.device, VFIO_DEVICE_FEATURE_SET |
                            VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ctl, sizeof(ctl)));
    mig_start_engine(&d, 0x402000, 3, 1);       /* pages 2, 3, 4 of the range */
    st_wait_for(st_rd32(&d, 0, MIG_SEQ) >= 3);
    st_wr32(&d, 0, MIG_CTRL, 0);
    st_assert_ok(st_feature(d.device, VFIO_DEVICE_FEATURE_GET |
                            VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep, sizeof(rep)));
    /* Exactly the pages written, unlike the container's all-dirty answer. */
    g_assert_cmphex(bitmap, ==, 0x1c);
    /* Read and clear: nothing new since. */
    bitmap = 0;
    st_assert_ok(st_feature(d.device, VFIO_DEVICE_FEATURE_GET |
                            VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep, sizeof(rep)));
    g_assert_cmphex(bitmap, ==, 0);
    st_assert_ok(st_feature(d.device, VFIO_DEVICE_FEATURE_SET |
                            VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0));
    st_assert_errno(st_feature(d.device, VFIO_DEVICE_FEATURE_GET |
                               VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep, sizeof(rep)),
                    EINVAL);
    st_close(&d);
    munmap(ram, pages * ST_PAGE);
}

static const char topo_two_mig[] =
    "[device 0000:00:02.0]\nmodel = mig\ngroup = 2\nstate-size = 4096\n"
    "[device 0000:00:06.0]\nmodel = mig\ngroup = 6\nstate-size = 4096\n";

/* Drain a saving data_fd into @out until it reports its end (0 or ENOMSG). */
static void drain(int fd, GByteArray *out, bool precopy)
{
    uint8_t buf[1000];     /* not a multiple of anything */
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        g_byte_array_append(out, buf, n);
    }
    if (precopy) {
        g_assert_cmpint(n, ==, -1);
        g_assert_cmpint(errno, ==, ENOMSG);
    } else {
        g_assert_cmpint(n, ==, 0);
    }
}

static void test_mig_live_migration_state_equal(void)
{
    uint8_t *ram = st_alloc(8 * ST_PAGE);
    g_autoptr(GByteArray) stream = g_byte_array_new();
    struct vfio_precopy_info info = { .argsz = sizeof(info) };
    uint32_t src_seq, words;
    StDev s, t;
    int sfd, tfd;

    st_topology(topo_two_mig);
    st_open(&s, ST_MIG, VFIO_TYPE1v2_IOMMU);
    st_open(&t, "0000:00:06.0", VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_map(s.container, 0x400000, ram, 8 * ST_PAGE, ST_MAP_RW));
    mig_start_engine(&s, 0x400000, 8, 2);
    st_wait_for(st_rd32(&s, 0, MIG_SEQ) >= 4);

    st_assert_ok(st_mig_state(s.device, VFIO_DEVICE_STATE_PRE_COPY, &sfd));
    g_assert_cmpint(sfd, >=, 0);
    st_assert_ok(ioctl(sfd, VFIO_MIG_GET_PRECOPY_INFO, &info));
    g_assert_cmpuint(info.initial_bytes, >, 0);
    drain(sfd, stream, true);
    st_assert_ok(ioctl(sfd, VFIO_MIG_GET_PRECOPY_INFO, &info));
    g_assert_cmpuint(info.initial_bytes, ==, 0);
    /* The engine keeps running and dirtying its state during pre-copy. */
    st_wait_for((ioctl(sfd, VFIO_MIG_GET_PRECOPY_INFO, &info), info.dirty_bytes > 0));
    drain(sfd, stream, true);
    /* PRE_COPY -> STOP_COPY walks PRE_COPY_P2P; the same fd carries on. */
    st_assert_ok(st_mig_state(s.device, VFIO_DEVICE_STATE_STOP_COPY, &tfd));
    g_assert_cmpint(tfd, ==, -1);
    st_assert_errno(ioctl(sfd, VFIO_MIG_GET_PRECOPY_INFO, &info), EINVAL);
    drain(sfd, stream, false);
    src_seq = st_rd32(&s, 0, MIG_SEQ);

    st_assert_ok(st_mig_state(t.device, VFIO_DEVICE_STATE_RESUMING, &tfd));
    g_assert_cmpint(write(tfd, stream->data, stream->len), ==, stream->len);
    st_assert_ok(st_mig_state(t.device, VFIO_DEVICE_STATE_STOP, NULL));
    close(tfd);

    /* Registers and every word of internal state are the source's. */
    g_assert_cmpuint(st_rd32(&t, 0, MIG_SEQ), ==, src_seq);
    g_assert_cmpuint(st_rd32(&t, 0, MIG_DMA_PAGES), ==, 8);
    words = st_rd32(&s, 0, MIG_STATE_SIZE) / 4;
    st_wr32(&s, 0, MIG_STATE_INDEX, 0);
    st_wr32(&t, 0, MIG_STATE_INDEX, 0);
    for (uint32_t i = 0; i < words; i++) {
        g_assert_cmphex(st_rd32(&t, 0, MIG_STATE_DATA), ==, st_rd32(&s, 0, MIG_STATE_DATA));
    }
    /* The finished session's fd is dead once the source leaves STOP_COPY. */
    st_assert_ok(st_mig_state(s.device, VFIO_DEVICE_STATE_STOP, NULL));
    st_assert_errno(read(sfd, ram, 16), ENODEV);
    close(sfd);
    st_close(&t);
    st_close(&s);
    munmap(ram, 8 * ST_PAGE);
    st_topology(NULL);
}

static void test_mig_stopped_engine_is_quiet(void)
{
    uint8_t *ram = st_alloc(4 * ST_PAGE);
    uint32_t seq;
    StDev d;

    st_open(&d, ST_MIG, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_map(d.container, 0x400000, ram, 4 * ST_PAGE, ST_MAP_RW));
    mig_start_engine(&d, 0x400000, 4, 1);
    st_wait_for(st_rd32(&d, 0, MIG_SEQ) >= 2);
    st_assert_ok(st_mig_state(d.device, VFIO_DEVICE_STATE_STOP, NULL));
    seq = st_rd32(&d, 0, MIG_SEQ);
    g_usleep(20 * 1000);
    g_assert_cmpuint(st_rd32(&d, 0, MIG_SEQ), ==, seq);
    st_assert_ok(st_mig_state(d.device, VFIO_DEVICE_STATE_RUNNING, NULL));
    st_wait_for(st_rd32(&d, 0, MIG_SEQ) > seq);
    st_close(&d);
    munmap(ram, 4 * ST_PAGE);
}

static void test_mig_engine_fault_status(void)
{
    StDev d;

    st_open(&d, ST_MIG, VFIO_TYPE1v2_IOMMU);
    mig_start_engine(&d, 0x400000, 2, 1);       /* nothing mapped there */
    st_wait_for(st_rd32(&d, 0, MIG_FAULTS) >= 2);
    g_assert_true(st_rd32(&d, 0, MIG_STATUS) & 2);
    st_wr32(&d, 0, MIG_CTRL, 0);
    st_wr32(&d, 0, MIG_STATUS, 2);
    g_assert_false(st_rd32(&d, 0, MIG_STATUS) & 2);
    st_close(&d);
}

static void test_mig_region_caps(void)
{
    g_autofree struct vfio_region_info *ri = g_malloc0(256);
    struct vfio_info_cap_header *h;
    StDev d;

    st_open(&d, ST_MIG, VFIO_TYPE1v2_IOMMU);
    ri->argsz = 256;
    ri->index = 0;
    st_assert_ok(ioctl(d.device, VFIO_DEVICE_GET_REGION_INFO, ri));
    g_assert_true(ri->flags & VFIO_REGION_INFO_FLAG_CAPS);
    h = (void *)((char *)ri + ri->cap_offset);
    g_assert_cmpint(h->id, ==, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
    /* mmap outside the sparse area (the register page) is refused. */
    st_assert_errno(mmap(NULL, ST_PAGE, PROT_READ, MAP_SHARED, d.device, 0), EINVAL);
    g_assert_true(mmap(NULL, ST_PAGE, PROT_READ, MAP_SHARED, d.device, ST_PAGE) != MAP_FAILED);
    ri->argsz = 256;
    ri->index = VFIO_PCI_NUM_REGIONS;
    st_assert_ok(ioctl(d.device, VFIO_DEVICE_GET_REGION_INFO, ri));
    h = (void *)((char *)ri + ri->cap_offset);
    g_assert_cmpint(h->id, ==, VFIO_REGION_INFO_CAP_TYPE);
    g_assert_cmphex(((struct vfio_region_info_cap_type *)h)->type, ==, 0x80001b36);
    st_close(&d);
}

/* ---- the pinning device ---- */

#define PIN_IOVA_LO 0x08
#define PIN_IOVA_HI 0x0c
#define PIN_CMD     0x10
#define PIN_RESULT  0x14
#define PIN_PATTERN 0x18
#define PIN_PINNED  0x1c

static int pin_cmd(StDev *d, uint64_t iova, uint32_t cmd)
{
    st_wr32(d, 0, PIN_IOVA_LO, (uint32_t)iova);
    st_wr32(d, 0, PIN_IOVA_HI, iova >> 32);
    st_wr32(d, 0, PIN_CMD, cmd);
    return (int32_t)st_rd32(d, 0, PIN_RESULT);
}

static uint64_t get_bitmap(int container, uint64_t iova, uint64_t size)
{
    uint64_t bitmap = 0;
    uint8_t buf[sizeof(struct vfio_iommu_type1_dirty_bitmap) +
                sizeof(struct vfio_iommu_type1_dirty_bitmap_get)];
    struct vfio_iommu_type1_dirty_bitmap *db = (void *)buf;
    struct vfio_iommu_type1_dirty_bitmap_get *range = (void *)db->data;

    *db = (struct vfio_iommu_type1_dirty_bitmap){
        .argsz = sizeof(buf), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP };
    *range = (struct vfio_iommu_type1_dirty_bitmap_get){
        .iova = iova, .size = size,
        .bitmap = { .pgsize = ST_PAGE, .size = 8, .data = (__u64 *)&bitmap } };
    st_assert_ok(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, db));
    return bitmap;
}

static void dirty_start(int container)
{
    struct vfio_iommu_type1_dirty_bitmap db = {
        .argsz = sizeof(db), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START };

    st_assert_ok(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &db));
}

static void test_pin_dirty_scope(void)
{
    uint8_t *ram = st_alloc(8 * ST_PAGE);
    struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
    StDev d;

    memset(ram, 0, 8 * ST_PAGE);
    st_open(&d, ST_PIN, VFIO_TYPE1v2_IOMMU);
    /* Emulated IOMMU only: no aperture, every page size, no IOVA cap. */
    st_assert_ok(ioctl(d.container, VFIO_IOMMU_GET_INFO, &info));
    g_assert_cmphex(info.iova_pgsizes, ==, ~(ST_PAGE - 1));
    g_assert_cmpint(ioctl(d.container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), ==, 0);
    st_assert_ok(st_map(d.container, 0x10000, ram, 8 * ST_PAGE, ST_MAP_RW));
    dirty_start(d.container);
    g_assert_cmphex(get_bitmap(d.container, 0x10000, 8 * ST_PAGE), ==, 0);
    g_assert_cmpint(pin_cmd(&d, 0x12000, 1), ==, 0);
    g_assert_cmpuint(st_rd32(&d, 0, PIN_PINNED), ==, 1);
    /* Pinned pages stay dirty for as long as they are pinned. */
    g_assert_cmphex(get_bitmap(d.container, 0x10000, 8 * ST_PAGE), ==, 0x4);
    g_assert_cmphex(get_bitmap(d.container, 0x10000, 8 * ST_PAGE), ==, 0x4);
    /* A write through the pinning API dirties the page once. */
    st_wr32(&d, 0, PIN_PATTERN, 0xabcd1234);
    g_assert_cmpint(pin_cmd(&d, 0x15000, 3), ==, 0);
    g_assert_cmphex(*(uint32_t *)(ram + 5 * ST_PAGE + 16), ==, 0xabcd1234);
    g_assert_cmphex(get_bitmap(d.container, 0x10000, 8 * ST_PAGE), ==, 0x24);
    g_assert_cmphex(get_bitmap(d.container, 0x10000, 8 * ST_PAGE), ==, 0x4);
    /* Unpinned: reported once more (it was dirty since the last report), then clean. */
    g_assert_cmpint(pin_cmd(&d, 0x12000, 2), ==, 0);
    g_assert_cmphex(get_bitmap(d.container, 0x10000, 8 * ST_PAGE), ==, 0x4);
    g_assert_cmphex(get_bitmap(d.container, 0x10000, 8 * ST_PAGE), ==, 0);
    /* Pinning outside any mapping fails; unmapping unpins (the notifier). */
    g_assert_cmpint(pin_cmd(&d, 0x900000, 1), ==, -EINVAL);
    g_assert_cmpint(pin_cmd(&d, 0x13000, 1), ==, 0);
    st_assert_ok(st_unmap(d.container, 0x10000, 8 * ST_PAGE));
    g_assert_cmpuint(st_rd32(&d, 0, PIN_PINNED), ==, 0);
    st_close(&d);
    munmap(ram, 8 * ST_PAGE);
}

/* Several mappings in one report: each lands at its own bit offset. */
static void test_pin_bitmap_offsets(void)
{
    uint8_t *ram = st_alloc(73 * ST_PAGE);
    uint64_t bitmap[2] = { 0, 0 };
    uint8_t buf[sizeof(struct vfio_iommu_type1_dirty_bitmap) +
                sizeof(struct vfio_iommu_type1_dirty_bitmap_get)];
    struct vfio_iommu_type1_dirty_bitmap *db = (void *)buf;
    struct vfio_iommu_type1_dirty_bitmap_get *range = (void *)db->data;
    const uint64_t a = 0x10000, b = a + 3 * ST_PAGE;
    StDev d;

    st_open(&d, ST_PIN, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_map(d.container, a, ram, 3 * ST_PAGE, ST_MAP_RW));
    st_assert_ok(st_map(d.container, b, ram + 3 * ST_PAGE, 70 * ST_PAGE, ST_MAP_RW));
    dirty_start(d.container);
    g_assert_cmpint(pin_cmd(&d, a + ST_PAGE, 1), ==, 0);          /* bit 1 */
    g_assert_cmpint(pin_cmd(&d, b, 1), ==, 0);                    /* bit 3 */
    g_assert_cmpint(pin_cmd(&d, b + 61 * ST_PAGE, 1), ==, 0);     /* bit 64 */
    g_assert_cmpint(pin_cmd(&d, b + 69 * ST_PAGE, 1), ==, 0);     /* bit 72 */
    *db = (struct vfio_iommu_type1_dirty_bitmap){
        .argsz = sizeof(buf), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP };
    *range = (struct vfio_iommu_type1_dirty_bitmap_get){
        .iova = a, .size = 73 * ST_PAGE,
        .bitmap = { .pgsize = ST_PAGE, .size = sizeof(bitmap), .data = (__u64 *)bitmap } };
    st_assert_ok(ioctl(d.container, VFIO_IOMMU_DIRTY_PAGES, db));
    g_assert_cmphex(bitmap[0], ==, 0xa);
    g_assert_cmphex(bitmap[1], ==, 0x101);
    /* A range that starts inside the second mapping splits it. */
    range->iova = b + ST_PAGE;
    range->size = 69 * ST_PAGE;
    st_assert_errno(ioctl(d.container, VFIO_IOMMU_DIRTY_PAGES, db), EINVAL);
    st_close(&d);
    munmap(ram, 73 * ST_PAGE);
}

static const char topo_pin_shared[] =
    "[device 0000:00:01.0]\nmodel = edu\ngroup = 1\n"
    "[device 0000:00:04.0]\nmodel = pin\ngroup = 4\n";

static void test_pin_with_iommu_group_all_dirty(void)
{
    uint8_t *ram = st_alloc(4 * ST_PAGE);
    StDev e, p;

    st_topology(topo_pin_shared);
    st_open(&p, ST_PIN, 0);
    st_assert_ok(ioctl(p.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    p.device = st_assert_ok(ioctl(p.group, VFIO_GROUP_GET_DEVICE_FD, ST_PIN));
    /* A vfio-pci group joins the same container: it may DMA anywhere. */
    e.container = p.container;
    e.group = st_assert_ok(open("/dev/vfio/1", O_RDWR));
    st_assert_ok(ioctl(e.group, VFIO_GROUP_SET_CONTAINER, &e.container));
    st_assert_ok(st_map(p.container, 0x10000, ram, 4 * ST_PAGE, ST_MAP_RW));
    dirty_start(p.container);
    g_assert_cmphex(get_bitmap(p.container, 0x10000, 4 * ST_PAGE), ==, 0xf);
    /* Once it leaves, the scope narrows to pinned pages again. */
    st_assert_ok(ioctl(e.group, VFIO_GROUP_UNSET_CONTAINER));
    close(e.group);
    g_assert_cmphex(get_bitmap(p.container, 0x10000, 4 * ST_PAGE), ==, 0xf);
    g_assert_cmphex(get_bitmap(p.container, 0x10000, 4 * ST_PAGE), ==, 0);
    st_close(&p);
    munmap(ram, 4 * ST_PAGE);
    st_topology(NULL);
}

/* The pin device's engine (contrib/vfio-sim/dev-pin.c) */
#define PIN_ENGINE  0x24
#define PIN_WINDOW  0x28
#define PIN_PAGES   0x30
#define PIN_RATE    0x34
#define PIN_KEEP    0x38
#define PIN_SEQ     0x3c
#define PIN_FAULTS  0x44
#define PIN_HELD    0x48

static void pin_start_engine(StDev *d, uint64_t iova, uint32_t pages, uint32_t keep,
                             uint32_t rate)
{
    st_command(d, PCI_COMMAND_MASTER);
    st_wr32(d, 0, PIN_WINDOW, (uint32_t)iova);
    st_wr32(d, 0, PIN_WINDOW + 4, iova >> 32);
    st_wr32(d, 0, PIN_PAGES, pages);
    st_wr32(d, 0, PIN_KEEP, keep);
    st_wr32(d, 0, PIN_RATE, rate);
    st_wr32(d, 0, PIN_PATTERN, 0xfeed0000);
    st_wr32(d, 0, PIN_ENGINE, 1);
}

/*
 * Pages the engine writes through its pins carry no dirty bit: they are
 * reported because they stay pinned; pages written through vfio_dma_rw are
 * reported once.
 */
static void test_pin_engine_dirty_scope(void)
{
    uint8_t *ram = st_alloc(8 * ST_PAGE);
    StDev d;

    memset(ram, 0, 8 * ST_PAGE);
    st_open(&d, ST_PIN, VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_map(d.container, 0x10000, ram, 8 * ST_PAGE, ST_MAP_RW));
    dirty_start(d.container);
    pin_start_engine(&d, 0x10000, 8, 4, 8);
    st_wait_for(st_rd32(&d, 0, PIN_SEQ) >= 16);
    st_wr32(&d, 0, PIN_ENGINE, 0);
    g_assert_cmpuint(st_rd32(&d, 0, PIN_HELD), ==, 4);
    g_assert_cmpuint(st_rd32(&d, 0, PIN_FAULTS), ==, 0);
    for (int p = 0; p < 8; p++) {
        g_assert_cmphex(*(uint64_t *)(ram + p * ST_PAGE) >> 32, ==, 0xfeed0000);
    }
    g_assert_cmphex(get_bitmap(d.container, 0x10000, 8 * ST_PAGE), ==, 0xff);
    g_assert_cmphex(get_bitmap(d.container, 0x10000, 8 * ST_PAGE), ==, 0x0f);
    /* A new window lets the old pins go; unmapping drops the pins inside. */
    st_wr32(&d, 0, PIN_KEEP, 2);
    g_assert_cmpuint(st_rd32(&d, 0, PIN_HELD), ==, 0);
    st_wr32(&d, 0, PIN_ENGINE, 1);
    st_wait_for(st_rd32(&d, 0, PIN_HELD) == 2);
    st_wr32(&d, 0, PIN_ENGINE, 0);
    st_assert_ok(st_unmap(d.container, 0x10000, 8 * ST_PAGE));
    g_assert_cmpuint(st_rd32(&d, 0, PIN_HELD), ==, 0);
    /* Nothing mapped: every write is refused and counted. */
    st_wr32(&d, 0, PIN_ENGINE, 1);
    st_wait_for(st_rd32(&d, 0, PIN_FAULTS) >= 4);
    st_close(&d);
    munmap(ram, 8 * ST_PAGE);
}

static const char topo_two_pin[] =
    "[device 0000:00:04.0]\nmodel = pin\ngroup = 4\n"
    "[device 0000:00:08.0]\nmodel = pin\ngroup = 8\n";

static void pin_resume(StDev *t, GByteArray *stream, int expect_errno)
{
    int tfd;

    st_assert_ok(st_mig_state(t->device, VFIO_DEVICE_STATE_RESUMING, &tfd));
    g_assert_cmpint(write(tfd, stream->data, stream->len), ==, stream->len);
    if (expect_errno) {
        st_assert_errno(st_mig_state(t->device, VFIO_DEVICE_STATE_STOP, NULL), expect_errno);
    } else {
        st_assert_ok(st_mig_state(t->device, VFIO_DEVICE_STATE_STOP, NULL));
    }
    close(tfd);
}

/*
 * The state travels, and the pages the source pinned by command are pinned
 * again through the destination's mappings -- or, when one is not mapped
 * there, the state is refused and the device keeps its own.
 */
static void test_pin_migration_state_equal(void)
{
    uint8_t *ram = st_alloc(8 * ST_PAGE), *ram2 = st_alloc(8 * ST_PAGE);
    g_autoptr(GByteArray) stream = g_byte_array_new();
    static const uint32_t regs[] = { PIN_PATTERN, PIN_PINNED, PIN_WINDOW, PIN_PAGES,
                                     PIN_RATE, PIN_KEEP, PIN_SEQ, PIN_FAULTS };
    StDev s, t;
    int sfd, none;

    st_topology(topo_two_pin);
    st_open(&s, ST_PIN, VFIO_TYPE1v2_IOMMU);
    st_open(&t, "0000:00:08.0", VFIO_TYPE1v2_IOMMU);
    st_assert_ok(st_map(s.container, 0x10000, ram, 8 * ST_PAGE, ST_MAP_RW));
    g_assert_cmpint(pin_cmd(&s, 0x17000, 1), ==, 0);
    pin_start_engine(&s, 0x10000, 4, 2, 2);
    st_wait_for(st_rd32(&s, 0, PIN_SEQ) >= 8);

    st_assert_ok(st_mig_state(s.device, VFIO_DEVICE_STATE_PRE_COPY, &sfd));
    drain(sfd, stream, true);
    st_assert_ok(st_mig_state(s.device, VFIO_DEVICE_STATE_STOP_COPY, &none));
    drain(sfd, stream, false);
    /* Stopped, it keeps its pins: the pinned scope goes on reporting them. */
    g_assert_cmpuint(st_rd32(&s, 0, PIN_HELD), ==, 2);

    /* The destination has nothing mapped at 0x17000: refused, nothing pinned. */
    pin_resume(&t, stream, EINVAL);
    g_assert_cmpuint(st_rd32(&t, 0, PIN_PINNED), ==, 0);
    g_assert_cmpuint(st_rd32(&t, 0, PIN_SEQ), ==, 0);
    st_assert_ok(ioctl(t.device, VFIO_DEVICE_RESET));

    st_assert_ok(st_map(t.container, 0x10000, ram2, 8 * ST_PAGE, ST_MAP_RW));
    pin_resume(&t, stream, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(regs); i++) {
        g_assert_cmphex(st_rd32(&t, 0, regs[i]), ==, st_rd32(&s, 0, regs[i]));
    }
    g_assert_cmpuint(st_rd32(&t, 0, PIN_PINNED), ==, 1);
    /* Running, it carries on from the source's sequence, pinning its own pages. */
    st_command(&t, PCI_COMMAND_MASTER);
    st_assert_ok(st_mig_state(t.device, VFIO_DEVICE_STATE_RUNNING, NULL));
    st_wait_for(st_rd32(&t, 0, PIN_HELD) == 2);
    g_assert_cmpuint(st_rd32(&t, 0, PIN_SEQ), >, st_rd32(&s, 0, PIN_SEQ));
    g_assert_cmpuint(st_rd32(&t, 0, PIN_FAULTS), ==, 0);
    close(sfd);
    st_close(&t);
    st_close(&s);
    munmap(ram, 8 * ST_PAGE);
    munmap(ram2, 8 * ST_PAGE);
    st_topology(NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio-sim/devices/edu/dma-lands-in-the-right-page",
                    test_edu_dma_lands_in_the_right_page);
    g_test_add_func("/vfio-sim/devices/edu/dma-faults-refused", test_edu_dma_faults_refused);
    g_test_add_func("/vfio-sim/devices/edu/no-bus-master-no-dma", test_edu_no_bus_master_no_dma);
    g_test_add_func("/vfio-sim/devices/edu/intx-automask-and-unmask-eventfd",
                    test_edu_intx_automask_and_unmask_eventfd);
    g_test_add_func("/vfio-sim/devices/edu/intx-disable-unmasks",
                    test_edu_intx_disable_unmasks);
    g_test_add_func("/vfio-sim/devices/edu/factorial-wraps", test_edu_factorial_wraps);
    g_test_add_func("/vfio-sim/devices/edu/mmap-exact", test_edu_mmap_exact);
    g_test_add_func("/vfio-sim/devices/edu/mmap-with-program-segv-handler",
                    test_edu_mmap_with_program_segv_handler);
    g_test_add_func("/vfio-sim/devices/mig/engine-dirty-container-tracking",
                    test_mig_engine_dirty_container_tracking);
    g_test_add_func("/vfio-sim/devices/mig/engine-dirty-dma-logging",
                    test_mig_engine_dirty_dma_logging);
    g_test_add_func("/vfio-sim/devices/mig/live-migration-state-equal",
                    test_mig_live_migration_state_equal);
    g_test_add_func("/vfio-sim/devices/mig/stopped-engine-is-quiet",
                    test_mig_stopped_engine_is_quiet);
    g_test_add_func("/vfio-sim/devices/mig/engine-fault-status", test_mig_engine_fault_status);
    g_test_add_func("/vfio-sim/devices/mig/region-caps", test_mig_region_caps);
    g_test_add_func("/vfio-sim/devices/pin/dirty-scope", test_pin_dirty_scope);
    g_test_add_func("/vfio-sim/devices/pin/bitmap-offsets", test_pin_bitmap_offsets);
    g_test_add_func("/vfio-sim/devices/pin/engine-dirty-scope", test_pin_engine_dirty_scope);
    g_test_add_func("/vfio-sim/devices/pin/migration-state-equal",
                    test_pin_migration_state_equal);
    g_test_add_func("/vfio-sim/devices/pin/with-iommu-group-all-dirty",
                    test_pin_with_iommu_group_all_dirty);
    return g_test_run();
}
