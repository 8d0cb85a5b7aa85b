/*
 * Start-up of an aperture VM with an assigned device, over vfio-sim:
 * time and VFIO ioctls from exec to "device realized with all RAM mapped",
 * and peak RSS beyond guest RAM, for 1, 16 and 64 GiB guests
 * (`-machine q35,memory-backend=mem -object memory-backend-memfd,id=mem,size=NG`).
 *
 * Each size runs twice per repetition, interleaved: with
 * `-device vfio-pci,host=0000:00:01.0` (the built-in topology's edu) and the
 * same command line without it (the baseline: what VFIO adds is the
 * difference).  Both run with the same environment, vfio-sim preloaded.
 *
 * The moments, all measured from just before fork+exec (libqtest's spawn):
 *   machine   the trace event vl_machine_init (the memory backend exists);
 *   realized  the trace event vfio_pci_realized, emitted as vfio-pci's
 *             realize returns.  Realize attaches the device to a container,
 *             whose listener replays every RAM section as MAP_DMA before
 *             the container is returned, so all RAM is mapped by then;
 *   ready     the reply to `query-vfio`, the first QMP command after
 *             `qmp_capabilities`.  The main loop serves QMP only after every
 *             -device realized, the machine was reset and started, so this
 *             is the first moment a management tool can see the device (and
 *             the reply confirms it: one device, N mappings).
 * "ready" is the headline: it exists for the baseline too and contains no
 * assumption about where the time goes.  The trace events (-trace file=,
 * gettimeofday stamps, against a CLOCK_REALTIME t0) split it.
 *
 * Counted at "ready":
 *   VFIO ioctls  every ioctl of type VFIO_TYPE the program issued, counted and
 *                timed by bench-realize-ioctl-count.so, preloaded in front of
 *                the sim (the sim itself counts only MAP_DMA); config space and
 *                BAR accesses are pread/pwrite, not counted;
 *   MAP_DMA      the same library's count, cross-checked against the sim's
 *                own trace (VFIO_SIM_TRACE=vfio_sim_map_dma,file=...);
 *   mappings     query-vfio's "mappings" of the container.
 * Memory, from /proc/PID/status and smaps at "ready": VmHWM (peak RSS) minus
 * the resident pages of the guest's memfd mapping ("/memfd:mem"), i.e. peak
 * RSS beyond the guest RAM that was touched.  memfd pages cost nothing until
 * touched; vfio-sim's MAP_DMA checks the range with one msync(MS_ASYNC) over its VMAs, which touches
 * nothing, so "guest RSS" stays 0 (the real kernel pins, and so faults in,
 * every page at MAP_DMA: there the guest would be wholly resident).
 *
 * Realize is split into the time inside VFIO ioctls (the sim standing for the
 * kernel; timed in the run itself, which is steadier on a busy machine than
 * subtracting separate runs), the sim's one-off start-up (vfio_sim_world) and
 * the rest, Aperture's own work.
 *
 * Floor: the sim's raw MAP_DMA for the same mappings (sizes from the sim's
 * trace of the vfio-pci run) over an untouched memfd of the guest's size,
 * issued by this program re-executed under the sim (--map-dma-floor).
 *
 * vfio-sim builds its sysfs model as files under TMPDIR on first use; the
 * bench points TMPDIR at /dev/shm when it exists, as the kernel's sysfs is
 * in memory (on a disk-backed /tmp that build alone takes ~100 ms).
 * MALLOC_PERTURB_ is removed from the children's environment.
 *
 * Environment (set by tests/bench/meson.build; the defaults find this build
 * tree): QTEST_APERTURE_BINARY, BENCH_REALIZE_SIM_PRELOAD (LD_PRELOAD value
 * that loads vfio-sim), BENCH_REALIZE_COUNTER_LIB (the ioctl counter),
 * BENCH_REALIZE_REPS (default 5).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>
#include <glib.h>

#include "../qtest/libqtest.h"
#include "bench-realize-ioctl-count.h"

#define GiB         ((uint64_t)1 << 30)
#define EDU_BDF     "0000:00:01.0"
#define EDU_GROUP   "/dev/vfio/1"
#define BACKEND_ID  "mem"
#define MAX_REPS    21

static const unsigned guest_gib[] = { 1, 16, 64 };
#define NR_SIZES G_N_ELEMENTS(guest_gib)

typedef struct Mapping {
    uint64_t iova;
    uint64_t size;
} Mapping;

/* A time that was not seen (no trace event, no device). */
#define MISSING INT64_MIN

/* One aperture run. Times in microseconds; MISSING if not seen. */
typedef struct Run {
    /* From just before fork: */
    int64_t machine_us;         /* vl_machine_init */
    int64_t attach_us;          /* vfio_device_attach: realize reaches VFIO */
    int64_t world_us;           /* vfio_sim_world: the sim built its topology */
    int64_t realized_us;        /* vfio_pci_realized */
    int64_t ready_us;           /* query-vfio reply received */
    /* Durations: */
    int64_t realize_us;         /* attach -> realized */
    int64_t boot_us;            /* attach -> world: the sim's start-up, inside realize */
    int64_t ioctl_us;           /* inside VFIO ioctls up to "ready" (the counter's clock) */
    int64_t map_us;             /* ... inside MAP_DMA */
    int64_t own_us;             /* realize - boot - ioctl: Aperture's own work */
    BenchIoctlCounts counts;    /* copy at "ready" */
    uint64_t sim_map_calls;     /* vfio_sim_map_dma events before "ready" */
    GArray *maps;               /* Mapping: successful MAP_DMA before "ready" */
    int64_t devices;            /* query-vfio: devices */
    int64_t mappings;           /* query-vfio: containers[0].mappings, -1 without one */
    uint64_t hwm_kib;           /* VmHWM */
    uint64_t guest_kib;         /* Rss of the /memfd:mem mapping */
} Run;

/* Per size and configuration: the repetitions. */
typedef struct Series {
    Run runs[MAX_REPS];
    int n;
} Series;

static const char *sim_preload;     /* LD_PRELOAD that loads vfio-sim */
static const char *counter_lib;     /* bench-realize-ioctl-count.so */
static char *counts_path;           /* the file the counter maps */
static BenchIoctlCounts *counts;    /* ... mapped here too */
static char *work_dir;              /* trace logs */

static int64_t mono_us(void)
{
    return g_get_monotonic_time();
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static int64_t median_i64(int64_t *v, int n)
{
    qsort(v, n, sizeof(*v), cmp_i64);
    return v[n / 2];
}

/* Median of one field over a series; MISSING if any run lacks it. */
static int64_t series_median(const Series *s, size_t offset)
{
    int64_t v[MAX_REPS];

    for (int i = 0; i < s->n; i++) {
        v[i] = *(const int64_t *)((const char *)&s->runs[i] + offset);
        if (v[i] == MISSING) {
            return MISSING;
        }
    }
    return median_i64(v, s->n);
}
#define MEDIAN(s, field) series_median((s), G_STRUCT_OFFSET(Run, field))

/* ------------------------------------------------------------------------ */
/* Environment */

static const char *default_path(const char *env, const char *rel)
{
    const char *v = g_getenv(env);
    g_autofree char *exe = NULL;
    g_autofree char *dir = NULL;

    if (v && *v) {
        return v;
    }
    exe = g_file_read_link("/proc/self/exe", NULL);
    if (!exe) {
        return NULL;
    }
    dir = g_path_get_dirname(exe);
    return g_canonicalize_filename(rel, dir);
}

/* LD_PRELOAD with the counter in front of the element that loads the sim. */
static char *preload_with_counter(void)
{
    g_auto(GStrv) parts = g_strsplit(sim_preload, ":", -1);
    GString *s = g_string_new(NULL);

    for (int i = 0; parts[i]; i++) {
        if (strstr(parts[i], "vfio-sim") && counter_lib) {
            g_string_append_printf(s, "%s%s", s->len ? ":" : "", counter_lib);
        }
        g_string_append_printf(s, "%s%s", s->len ? ":" : "", parts[i]);
    }
    return g_string_free(s, false);
}

static void setup_child_env(void)
{
    g_unsetenv("MALLOC_PERTURB_");
    g_unsetenv("QTEST_TRACE");
    g_unsetenv("QTEST_LOG");
    g_setenv("VFIO_SIM_CONFIG", "", true);
    if (g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) && access("/dev/shm", W_OK) == 0) {
        g_setenv("TMPDIR", "/dev/shm", true);
    }
}

static bool setup_counts_file(void)
{
    int fd;

    counts_path = g_build_filename(work_dir, "ioctl-counts", NULL);
    fd = open(counts_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, sizeof(BenchIoctlCounts)) < 0) {
        return false;
    }
    counts = mmap(NULL, sizeof(BenchIoctlCounts), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (counts == MAP_FAILED) {
        counts = NULL;
        return false;
    }
    counts->magic = BENCH_IOCTL_COUNTS_MAGIC;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Reading what the child left */

/* "PID@SEC.USEC:name args": the stamp in microseconds, the rest after ':'. */
static bool parse_trace_line(const char *line, int64_t *stamp_us, const char **rest)
{
    const char *at = strchr(line, '@');
    const char *colon = at ? strchr(at, ':') : NULL;
    long long sec, usec;

    if (!colon || sscanf(at + 1, "%lld.%lld", &sec, &usec) != 2) {
        return false;
    }
    *stamp_us = sec * G_USEC_PER_SEC + usec;
    *rest = colon + 1;
    return true;
}

static int64_t since(int64_t stamp_us, int64_t t0_real_us)
{
    return stamp_us - t0_real_us;
}

static void read_aperture_trace(const char *path, int64_t t0_real, Run *r)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    static const struct {
        const char *name;
        size_t offset;
    } events[] = {
        { "vl_machine_init ", G_STRUCT_OFFSET(Run, machine_us) },
        { "vfio_device_attach ", G_STRUCT_OFFSET(Run, attach_us) },
        { "vfio_pci_realized ", G_STRUCT_OFFSET(Run, realized_us) },
    };

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return;
    }
    lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        int64_t stamp;
        const char *rest;

        if (!parse_trace_line(lines[i], &stamp, &rest)) {
            continue;
        }
        for (size_t e = 0; e < G_N_ELEMENTS(events); e++) {
            int64_t *field = (int64_t *)((char *)r + events[e].offset);

            if (g_str_has_prefix(rest, events[e].name) && *field == MISSING) {
                *field = since(stamp, t0_real);
            }
        }
    }
}

static void read_sim_trace(const char *path, int64_t t0_real, Run *r)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return;
    }
    lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        int64_t stamp;
        const char *rest;
        Mapping m;
        int ret;

        if (!parse_trace_line(lines[i], &stamp, &rest)) {
            continue;
        }
        if (g_str_has_prefix(rest, "vfio_sim_world ") && r->world_us == MISSING) {
            r->world_us = since(stamp, t0_real);
        } else if (g_str_has_prefix(rest, "vfio_sim_map_dma ") &&
                   since(stamp, t0_real) <= r->ready_us) {
            r->sim_map_calls++;
            if (sscanf(rest, "vfio_sim_map_dma container %*s iova 0x%" SCNx64 " size 0x%" SCNx64
                       " vaddr %*s flags %*s -> %d", &m.iova, &m.size, &ret) == 3 && ret == 0) {
                g_array_append_val(r->maps, m);
            }
        }
    }
}

static uint64_t status_kib(const char *status, const char *key)
{
    const char *p = strstr(status, key);

    return p ? g_ascii_strtoull(p + strlen(key), NULL, 10) : 0;
}

static void read_memory(int pid, Run *r)
{
    g_autofree char *status_path = g_strdup_printf("/proc/%d/status", pid);
    g_autofree char *smaps_path = g_strdup_printf("/proc/%d/smaps", pid);
    g_autofree char *status = NULL;
    g_autofree char *smaps = NULL;
    g_auto(GStrv) lines = NULL;
    bool in_guest = false;

    if (g_file_get_contents(status_path, &status, NULL, NULL)) {
        r->hwm_kib = status_kib(status, "\nVmHWM:");
    }
    if (!g_file_get_contents(smaps_path, &smaps, NULL, NULL)) {
        return;
    }
    lines = g_strsplit(smaps, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        const char *l = lines[i];

        if (g_ascii_isxdigit(l[0]) && strchr(l, '-') && strchr(l, ' ')) {
            /* A mapping's header: the path is the 6th field. */
            const char *path = strstr(l, "/memfd:" BACKEND_ID);
            char next = path ? path[strlen("/memfd:" BACKEND_ID)] : 'x';

            in_guest = path && (next == ' ' || next == '\0');
        } else if (in_guest && g_str_has_prefix(l, "Rss:")) {
            r->guest_kib += g_ascii_strtoull(l + 4, NULL, 10);
        }
    }
}

/* query-vfio: number of devices and the first container's mappings. */
static void read_query_vfio(JsonObject *reply, Run *r)
{
    JsonObject *ret = json_object_get_object_member(reply, "return");
    JsonArray *devs, *conts;

    if (!ret) {
        g_autofree char *txt = qtest_json_to_string(reply);

        g_printerr("bench-realize: query-vfio failed: %s\n", txt);
        exit(1);
    }
    devs = json_object_get_array_member(ret, "devices");
    conts = json_object_get_array_member(ret, "containers");
    r->devices = devs ? json_array_get_length(devs) : 0;
    if (conts && json_array_get_length(conts) > 0) {
        r->mappings = json_object_get_int_member(json_array_get_object_element(conts, 0),
                                                 "mappings");
    }
}

/* ------------------------------------------------------------------------ */
/* One run */

static void run_once(unsigned gib, bool with_vfio, int rep, Run *r)
{
    g_autofree char *trace_log = g_strdup_printf("%s/aperture-%u-%d-%d.log", work_dir, gib,
                                                 with_vfio, rep);
    g_autofree char *sim_log = g_strdup_printf("%s/sim-%u-%d-%d.log", work_dir, gib,
                                               with_vfio, rep);
    g_autofree char *sim_trace = g_strdup_printf("vfio_sim_map_dma,vfio_sim_world,file=%s",
                                                 sim_log);
    g_autofree char *preload = preload_with_counter();
    g_autofree char *args = NULL;
    int64_t t0_real, t0_mono;
    JsonObject *reply;
    QTestState *qts;
    int saved_stdout, null_fd;

    memset(r, 0, sizeof(*r));
    r->machine_us = r->attach_us = r->world_us = r->realized_us = r->ready_us = MISSING;
    r->realize_us = r->boot_us = r->own_us = MISSING;
    r->mappings = -1;
    r->maps = g_array_new(false, false, sizeof(Mapping));
    memset((char *)counts + sizeof(counts->magic), 0, sizeof(*counts) - sizeof(counts->magic));

    args = g_strdup_printf("-machine q35,memory-backend=" BACKEND_ID " "
                           "-object memory-backend-memfd,id=" BACKEND_ID ",size=%uG "
                           "%s -trace enable=vl_machine_init,enable=vfio_device_attach,"
                           "enable=vfio_pci_realized,file=%s",
                           gib, with_vfio ? "-device vfio-pci,host=" EDU_BDF : "", trace_log);
    g_setenv("LD_PRELOAD", preload, true);
    g_setenv("BENCH_REALIZE_COUNTS", counts_path, true);
    g_setenv("VFIO_SIM_TRACE", sim_trace, true);

    /* libqtest logs each start on stdout: keep it (and the child's stdout) out of the table. */
    fflush(stdout);
    saved_stdout = dup(STDOUT_FILENO);
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    dup2(null_fd, STDOUT_FILENO);

    t0_real = g_get_real_time();
    t0_mono = mono_us();
    qts = qtest_init(args);
    reply = qtest_qmp(qts, "{'execute': 'query-vfio'}");
    r->ready_us = mono_us() - t0_mono;
    r->counts = *counts;

    g_unsetenv("LD_PRELOAD");
    read_query_vfio(reply, r);
    json_object_unref(reply);
    read_memory(qtest_pid(qts), r);
    qtest_quit(qts);
    fflush(stdout);
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
    close(null_fd);

    read_aperture_trace(trace_log, t0_real, r);
    read_sim_trace(sim_log, t0_real, r);
    r->ioctl_us = r->counts.total_ns / 1000;
    r->map_us = r->counts.other_ns[_IOC_NR(VFIO_IOMMU_MAP_DMA)] / 1000;
    if (r->attach_us != MISSING && r->realized_us != MISSING && r->world_us != MISSING) {
        r->realize_us = r->realized_us - r->attach_us;
        r->boot_us = r->world_us - r->attach_us;
        r->own_us = r->realize_us - r->boot_us - r->ioctl_us;
    }
    unlink(trace_log);
    unlink(sim_log);
}

/* ------------------------------------------------------------------------ */
/* The sim's MAP_DMA floor */

/* Child side: MAP_DMA @maps over an untouched memfd of @guest bytes, @reps times. */
static int map_dma_floor_main(int argc, char **argv)
{
    uint64_t guest = g_ascii_strtoull(argv[2], NULL, 0);
    int reps = atoi(argv[3]);
    int64_t times[MAX_REPS];
    int container, group, memfd;
    uint8_t *base;

    memfd = memfd_create("floor", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, guest) < 0) {
        perror("floor: memfd");
        return 1;
    }
    base = mmap(NULL, guest, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    group = open(EDU_GROUP, O_RDWR | O_CLOEXEC);
    if (base == MAP_FAILED || container < 0 || group < 0 ||
        ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0 ||
        ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
        perror("floor: VFIO set-up");
        return 1;
    }
    reps = CLAMP(reps, 1, MAX_REPS);
    for (int r = 0; r < reps; r++) {
        struct vfio_iommu_type1_dma_unmap unmap = {
            .argsz = sizeof(unmap), .flags = VFIO_DMA_UNMAP_FLAG_ALL,
        };
        uint64_t offset = 0;
        int64_t t0 = mono_us();

        for (int i = 4; i < argc; i++) {
            struct vfio_iommu_type1_dma_map map = {
                .argsz = sizeof(map),
                .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
            };
            uint64_t iova, size;

            if (sscanf(argv[i], "%" SCNx64 ":%" SCNx64, &iova, &size) != 2 ||
                offset + size > guest) {
                fprintf(stderr, "floor: bad mapping '%s'\n", argv[i]);
                return 1;
            }
            map.iova = iova;
            map.size = size;
            map.vaddr = (uintptr_t)(base + offset);
            offset += map.size;
            if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0) {
                perror("floor: MAP_DMA");
                return 1;
            }
        }
        times[r] = mono_us() - t0;
        if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0) {
            perror("floor: UNMAP_DMA");
            return 1;
        }
    }
    printf("floor-us %" PRId64 "\n", median_i64(times, reps));
    return 0;
}

/* Parent side: median microseconds of the MAP_DMA calls in @maps, MISSING on failure. */
static int64_t map_dma_floor(unsigned gib, GArray *maps, int reps)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) envp = g_get_environ();
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    const char *line;
    int status;

    if (!exe || !maps->len) {
        return MISSING;
    }
    g_ptr_array_add(argv, g_strdup(exe));
    g_ptr_array_add(argv, g_strdup("--map-dma-floor"));
    g_ptr_array_add(argv, g_strdup_printf("%" PRIu64, (uint64_t)gib * GiB));
    g_ptr_array_add(argv, g_strdup_printf("%d", reps));
    for (guint i = 0; i < maps->len; i++) {
        Mapping *m = &g_array_index(maps, Mapping, i);

        g_ptr_array_add(argv, g_strdup_printf("%" PRIx64 ":%" PRIx64, m->iova, m->size));
    }
    g_ptr_array_add(argv, NULL);
    envp = g_environ_setenv(envp, "LD_PRELOAD", sim_preload, true);
    envp = g_environ_unsetenv(envp, "VFIO_SIM_TRACE");
    if (!g_spawn_sync(NULL, (char **)argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, &out,
                      &err, &status, &error) || !g_spawn_check_wait_status(status, NULL)) {
        g_printerr("bench-realize: MAP_DMA floor failed: %s%s\n",
                   error ? error->message : "", err ? err : "");
        return MISSING;
    }
    line = strstr(out, "floor-us ");
    return line ? g_ascii_strtoll(line + strlen("floor-us "), NULL, 10) : MISSING;
}

/* ------------------------------------------------------------------------ */
/* Report */

static const struct {
    unsigned long req;
    bool device;
    const char *name;
} ioctl_names[] = {
    { VFIO_GET_API_VERSION, false, "GET_API_VERSION" },
    { VFIO_CHECK_EXTENSION, false, "CHECK_EXTENSION" },
    { VFIO_SET_IOMMU, false, "SET_IOMMU" },
    { VFIO_GROUP_GET_STATUS, false, "GROUP_GET_STATUS" },
    { VFIO_GROUP_SET_CONTAINER, false, "GROUP_SET_CONTAINER" },
    { VFIO_GROUP_UNSET_CONTAINER, false, "GROUP_UNSET_CONTAINER" },
    { VFIO_GROUP_GET_DEVICE_FD, false, "GROUP_GET_DEVICE_FD" },
    { VFIO_IOMMU_GET_INFO, false, "IOMMU_GET_INFO" },
    { VFIO_IOMMU_MAP_DMA, false, "IOMMU_MAP_DMA" },
    { VFIO_IOMMU_UNMAP_DMA, false, "IOMMU_UNMAP_DMA" },
    { VFIO_IOMMU_DIRTY_PAGES, false, "IOMMU_DIRTY_PAGES" },
    { VFIO_DEVICE_GET_INFO, true, "DEVICE_GET_INFO" },
    { VFIO_DEVICE_GET_REGION_INFO, true, "DEVICE_GET_REGION_INFO" },
    { VFIO_DEVICE_GET_IRQ_INFO, true, "DEVICE_GET_IRQ_INFO" },
    { VFIO_DEVICE_SET_IRQS, true, "DEVICE_SET_IRQS" },
    { VFIO_DEVICE_RESET, true, "DEVICE_RESET" },
    { VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, true, "DEVICE_GET_PCI_HOT_RESET_INFO" },
    { VFIO_DEVICE_PCI_HOT_RESET, true, "DEVICE_PCI_HOT_RESET" },
    { VFIO_DEVICE_FEATURE, true, "DEVICE_FEATURE" },
};

static uint64_t map_dma_count(const BenchIoctlCounts *c)
{
    return c->other[_IOC_NR(VFIO_IOMMU_MAP_DMA)];
}

static void print_ioctl_breakdown(const BenchIoctlCounts *c)
{
    uint64_t named = 0;
    int col = 0;

    printf("\nVFIO ioctls up to 'ready', vfio-pci at 1 GiB (count, time inside; the same at "
           "every size but MAP_DMA):\n");
    for (size_t i = 0; i < G_N_ELEMENTS(ioctl_names); i++) {
        unsigned nr = _IOC_NR(ioctl_names[i].req);
        uint64_t n = (ioctl_names[i].device ? c->device : c->other)[nr];
        uint64_t ns = (ioctl_names[i].device ? c->device_ns : c->other_ns)[nr];

        if (n) {
            printf("%s%-24s %3" PRIu64 " %9.1f us", col % 2 ? "    " : "  ",
                   ioctl_names[i].name, n, ns / 1000.0);
            if (++col % 2 == 0) {
                printf("\n");
            }
            named += n;
        }
    }
    if (col % 2) {
        printf("\n");
    }
    if (named != c->total) {
        printf("  other VFIO ioctls        %3" PRIu64 "\n", c->total - named);
    }
}

static double ms(int64_t us)
{
    return us / 1000.0;
}

/* "%*.Nf" of @us in ms, or "-" when MISSING. */
static char *fmt_ms(int64_t us, int decimals)
{
    if (us == MISSING) {
        return g_strdup("-");
    }
    return g_strdup_printf("%.*f", decimals, ms(us));
}

static double beyond_mib(const Run *r)
{
    return ((double)r->hwm_kib - (double)r->guest_kib) / 1024.0;
}

static const Run *last_run(const Series *s)
{
    return &s->runs[s->n - 1];
}

static void print_row(unsigned gib, const char *config, const Series *s)
{
    const Run *last = last_run(s);
    g_autofree char *machine = fmt_ms(MEDIAN(s, machine_us), 1);
    g_autofree char *realized = fmt_ms(MEDIAN(s, realized_us), 1);
    g_autofree char *ready = fmt_ms(MEDIAN(s, ready_us), 1);
    g_autofree char *maps = last->mappings < 0 ? g_strdup("-") :
                            g_strdup_printf("%" PRId64, last->mappings);

    printf("%3u GiB  %-9s %8s %9s %8s %7" PRIu64 " %8" PRIu64 " %8s %8.1f %9.1f %9.1f\n",
           gib, config, machine, realized, ready, last->counts.total,
           map_dma_count(&last->counts), maps, last->hwm_kib / 1024.0,
           last->guest_kib / 1024.0, beyond_mib(last));
}

/* Every run of a series must have seen the same counts, and the checks hold. */
static bool check_series(unsigned gib, bool with_vfio, const Series *s)
{
    const char *what = with_vfio ? "vfio-pci" : "no device";
    bool ok = true;

    for (int i = 0; i < s->n; i++) {
        const Run *r = &s->runs[i];

        if (r->counts.total != s->runs[0].counts.total) {
            printf("note: %u GiB %s: run %d made %" PRIu64 " VFIO ioctls, run 0 %" PRIu64 "\n",
                   gib, what, i, r->counts.total, s->runs[0].counts.total);
        }
        if (r->sim_map_calls != map_dma_count(&r->counts)) {
            printf("FAIL: %u GiB %s: the counter saw %" PRIu64 " MAP_DMA, the sim traced %"
                   PRIu64 "\n", gib, what, map_dma_count(&r->counts), r->sim_map_calls);
            ok = false;
        }
        if (r->devices != (with_vfio ? 1 : 0)) {
            printf("FAIL: %u GiB %s: query-vfio lists %" PRId64 " devices\n", gib, what,
                   r->devices);
            ok = false;
        }
        if (with_vfio && (r->own_us == MISSING || r->mappings <= 0)) {
            printf("FAIL: %u GiB vfio-pci: trace events %s, %" PRId64 " mappings\n", gib,
                   r->own_us == MISSING ? "missing" : "seen", r->mappings);
            ok = false;
        }
        if (with_vfio && r->counts.total == 0) {
            printf("FAIL: %u GiB vfio-pci: no VFIO ioctl counted (is %s preloaded?)\n", gib,
                   counter_lib);
            ok = false;
        }
    }
    return ok;
}

static void print_cost_table(const Series *base, const Series *vfio, const int64_t *floor_us)
{
    printf("\nWhat vfio-pci adds to 'ready' (vs no device), and where realize spends it:\n");
    printf("%-7s  %8s %7s  %8s %10s %8s %8s %9s   %8s  %10s\n", "guest", "adds", "x base",
           "realize", "in VFIO", "of which", "sim", "Aperture", "MAP_DMA", "beyond RAM");
    printf("%-7s  %8s %7s  %8s %10s %8s %8s %9s   %8s  %10s\n", "", "ms", "", "ms",
           "ioctls ms", "MAP_DMA", "boot ms", "own ms", "floor ms", "adds MiB");
    for (size_t i = 0; i < NR_SIZES; i++) {
        int64_t rb = MEDIAN(&base[i], ready_us), rv = MEDIAN(&vfio[i], ready_us);
        g_autofree char *realize = fmt_ms(MEDIAN(&vfio[i], realize_us), 1);
        g_autofree char *ioctl = fmt_ms(MEDIAN(&vfio[i], ioctl_us), 1);
        g_autofree char *map = fmt_ms(MEDIAN(&vfio[i], map_us), 1);
        g_autofree char *boot = fmt_ms(MEDIAN(&vfio[i], boot_us), 1);
        g_autofree char *own = fmt_ms(MEDIAN(&vfio[i], own_us), 1);
        g_autofree char *floor = fmt_ms(floor_us[i], 1);

        printf("%3u GiB  %8.1f %6.2fx  %8s %10s %8s %8s %9s   %8s  %10.2f\n", guest_gib[i],
               ms(rv - rb), rb > 0 ? (double)rv / rb : 0.0, realize, ioctl, map, boot, own,
               floor, beyond_mib(last_run(&vfio[i])) - beyond_mib(last_run(&base[i])));
    }
    printf("  realize: vfio_device_attach -> vfio_pci_realized.  in VFIO ioctls: time inside "
           "them (vfio-sim standing for\n"
           "  the kernel), timed in the run by the counter.  sim boot: vfio-sim building its "
           "topology and sysfs on first use\n"
           "  (sim-only).  Aperture own: realize minus both.  MAP_DMA floor: the sim's raw "
           "MAP_DMA of the same mappings over\n"
           "  an untouched memfd, in a separate process (one VMA walk of the range).\n");
}

static void print_per_gib(const Series *base, const Series *vfio, const int64_t *floor_us)
{
    size_t lo = NR_SIZES - 2, hi = NR_SIZES - 1;
    double dg = guest_gib[hi] - guest_gib[lo];

#define SLOPE(s, field) (ms(MEDIAN(&(s)[hi], field) - MEDIAN(&(s)[lo], field)) / dg)
    printf("\nPer GiB of guest (%u -> %u GiB): ready %.2f ms/GiB with vfio-pci, %.2f without "
           "(MAP_DMA in the run %.2f, raw floor %.2f,\n  Aperture's own realize %.3f); "
           "beyond-RAM RSS %.0f KiB/GiB with vfio-pci, %.0f without\n",
           guest_gib[lo], guest_gib[hi], SLOPE(vfio, ready_us), SLOPE(base, ready_us),
           SLOPE(vfio, map_us), ms(floor_us[hi] - floor_us[lo]) / dg, SLOPE(vfio, own_us),
           (beyond_mib(last_run(&vfio[hi])) - beyond_mib(last_run(&vfio[lo]))) * 1024 / dg,
           (beyond_mib(last_run(&base[hi])) - beyond_mib(last_run(&base[lo]))) * 1024 / dg);
#undef SLOPE
}

int main(int argc, char **argv)
{
    static Series base[NR_SIZES], vfio[NR_SIZES];
    int64_t floor_us[NR_SIZES];
    const char *reps_env = g_getenv("BENCH_REALIZE_REPS");
    int reps = reps_env ? CLAMP(atoi(reps_env), 1, MAX_REPS) : 5;
    int64_t t_start = mono_us();
    const char *sim_file;
    bool ok = true;

    if (argc >= 4 && !strcmp(argv[1], "--map-dma-floor")) {
        return map_dma_floor_main(argc, argv);
    }
    sim_preload = default_path("BENCH_REALIZE_SIM_PRELOAD",
                               "../../contrib/vfio-sim/libvfio-sim.so");
    counter_lib = default_path("BENCH_REALIZE_COUNTER_LIB", "libbench-realize-ioctl-count.so");
    if (!g_getenv("QTEST_APERTURE_BINARY")) {
        g_setenv("QTEST_APERTURE_BINARY",
                 default_path("QTEST_APERTURE_BINARY", "../../aperture"), true);
    }
    sim_file = sim_preload && strrchr(sim_preload, ':') ? strrchr(sim_preload, ':') + 1 :
               sim_preload;
    if (!sim_file || access(sim_file, R_OK)) {
        printf("bench-realize: skipped: libvfio-sim.so not found (BENCH_REALIZE_SIM_PRELOAD)\n");
        return 0;
    }
    if (!counter_lib || access(counter_lib, R_OK)) {
        printf("bench-realize: skipped: %s not found (BENCH_REALIZE_COUNTER_LIB)\n",
               counter_lib ? counter_lib : "the ioctl counter");
        return 0;
    }
    setup_child_env();
    work_dir = g_dir_make_tmp("bench-realize-XXXXXX", NULL);
    if (!work_dir || !setup_counts_file()) {
        perror("bench-realize: work files");
        return 1;
    }

    printf("bench-realize: exec -> vfio-pci realized with all RAM mapped; q35, "
           "memory-backend-memfd guest, %s (edu) over vfio-sim;\n"
           "  median of %d, interleaved with the same machine without the device "
           "(vfio-sim preloaded in both; its sysfs under %s)\n"
           "  machine/realized: trace events vl_machine_init/vfio_pci_realized; ready: the "
           "query-vfio reply (first QMP command served);\n"
           "  counts at 'ready'; beyond RAM = VmHWM - resident pages of the guest memfd\n\n",
           EDU_BDF, reps, g_get_tmp_dir());

    for (size_t i = 0; i < NR_SIZES; i++) {
        for (int r = 0; r < reps; r++) {
            run_once(guest_gib[i], false, r, &base[i].runs[base[i].n++]);
            run_once(guest_gib[i], true, r, &vfio[i].runs[vfio[i].n++]);
        }
        floor_us[i] = map_dma_floor(guest_gib[i], last_run(&vfio[i])->maps, reps);
    }

    printf("%-7s  %-9s %8s %9s %8s %7s %8s %8s %8s %9s %9s\n", "guest", "config", "machine",
           "realized", "ready", "VFIO", "MAP_DMA", "mappings", "VmHWM", "guest RSS",
           "beyond");
    printf("%-7s  %-9s %8s %9s %8s %7s %8s %8s %8s %9s %9s\n", "", "", "ms", "ms", "ms",
           "ioctls", "calls", "", "MiB", "MiB", "RAM MiB");
    for (size_t i = 0; i < NR_SIZES; i++) {
        print_row(guest_gib[i], "no device", &base[i]);
        print_row(guest_gib[i], "vfio-pci", &vfio[i]);
        ok &= check_series(guest_gib[i], false, &base[i]);
        ok &= check_series(guest_gib[i], true, &vfio[i]);
    }
    print_cost_table(base, vfio, floor_us);
    print_per_gib(base, vfio, floor_us);
    print_ioctl_breakdown(&last_run(&vfio[0])->counts);
    printf("\nbench-realize: %.1f s%s\n", ms(mono_us() - t_start) / 1000.0,
           ok ? "" : "; CHECKS FAILED (above)");

    for (size_t i = 0; i < NR_SIZES; i++) {
        for (int r = 0; r < reps; r++) {
            g_array_free(base[i].runs[r].maps, true);
            g_array_free(vfio[i].runs[r].maps, true);
        }
    }
    unlink(counts_path);
    rmdir(work_dir);
    return ok ? 0 : 1;
}
