/*
 * demo-vfio: the `make demo` scenario (scripts/demo.sh).
 *
 * Starts an Aperture VM with guest RAM from a memfd backend and an edu
 * assigned with vfio-pci, then, as a guest driver would through qtest:
 * shows what VFIO attached (query-vfio), talks to the device through its
 * BAR, makes it DMA into guest RAM through the IOMMU and checks the bytes,
 * takes its MSI as a write into guest RAM, and unplugs it.  Each step
 * prints one aligned line; the first failing step ends the demo with
 * status 1.
 *
 *   demo-vfio [--host BDF] [--ram-mb N]
 *
 * The aperture binary is QTEST_APERTURE_BINARY (or the build tree's); the
 * host side is whatever the environment provides: vfio-sim when
 * scripts/demo.sh preloads it, a real device bound to vfio-pci otherwise.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <linux/pci_regs.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "test-vfio-pci-edu.h"

#define DEMO_SLOT       4
#define GPA_SRC         0x1000000ULL    /* 16 MiB: below the edu's 256 MiB DMA reach */
#define GPA_DST         0x2000000ULL
#define GPA_MSI         0x3000000ULL
#define MSI_DATA        0x4321

static int steps;

static void section(const char *title)
{
    printf("\n== %s\n", title);
}

static void G_GNUC_PRINTF(2, 3) row(const char *key, const char *fmt, ...)
{
    g_autofree char *value = NULL;
    va_list ap;

    va_start(ap, fmt);
    value = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    printf("  %-18s %s\n", key, value);
    fflush(stdout);
}

/* One checked step: "ok", or the failure and exit 1. */
static void G_GNUC_PRINTF(3, 4) step(bool ok, const char *key, const char *fmt, ...)
{
    g_autofree char *value = NULL;
    va_list ap;

    va_start(ap, fmt);
    value = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    printf("  %-18s %-44s %s\n", key, value, ok ? "ok" : "FAILED");
    fflush(stdout);
    if (!ok) {
        printf("\nDemo failed at: %s\n", key);
        exit(1);
    }
    steps++;
}

static char *human_size(uint64_t bytes)
{
    static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;

    while (bytes >= 1024 && !(bytes % 1024) && u < 4) {
        bytes /= 1024;
        u++;
    }
    return g_strdup_printf("%" PRIu64 " %s", bytes, units[u]);
}

static char *page_sizes(uint64_t bitmap)
{
    GString *s = g_string_new(NULL);

    for (int bit = 0; bit < 64; bit++) {
        if (bitmap & (1ULL << bit)) {
            g_autofree char *size = human_size(1ULL << bit);

            g_string_append_printf(s, "%s%s", s->len ? ", " : "", size);
        }
    }
    return g_string_free(s, false);
}

/* libqtest's progress notes (g_test_message) are for test logs, not for the demo. */
static void quiet_print(const gchar *text)
{
}

static double ms_since(gint64 t0)
{
    return (g_get_monotonic_time() - t0) / 1000.0;
}

static bool msi_arrived(Edu *e, void *opaque)
{
    return qtest_readl(e->qts, GPA_MSI) == MSI_DATA;
}

static void show_attachment(JsonObject *info)
{
    JsonArray *devices = json_object_get_array_member(info, "devices");
    JsonArray *containers = json_object_get_array_member(info, "containers");
    JsonObject *dev, *c, *dirty;
    JsonArray *ranges;
    g_autofree char *pgsizes = NULL;

    step(json_array_get_length(devices) == 1 && json_array_get_length(containers) == 1,
         "attached", "%u device, %u container", json_array_get_length(devices),
         json_array_get_length(containers));
    dev = json_array_get_object_element(devices, 0);
    c = json_array_get_object_element(containers, 0);
    row("host device", "%s (guest slot %s)", json_object_get_string_member(dev, "host"),
        json_object_get_string_member(dev, "pci-address"));
    row("IOMMU group", "%" G_GINT64_FORMAT "  (/dev/vfio/%" G_GINT64_FORMAT ")",
        json_object_get_int_member(dev, "group"), json_object_get_int_member(dev, "group"));
    row("container", "#%" G_GINT64_FORMAT ", %s backend (/dev/vfio/vfio)",
        json_object_get_int_member(c, "index"), json_object_get_string_member(c, "backend"));
    row("IOMMU type", "%s", json_object_get_string_member(c, "iommu-type"));
    row("address space", "%s", json_object_get_string_member(c, "address-space"));
    ranges = json_object_get_array_member(c, "iova-ranges");
    for (guint i = 0; i < json_array_get_length(ranges); i++) {
        JsonObject *r = json_array_get_object_element(ranges, i);

        row(i ? "" : "IOVA ranges", "[%s, %s]", json_object_get_string_member(r, "start"),
            json_object_get_string_member(r, "end"));
    }
    if (!json_array_get_length(ranges)) {
        row("IOVA ranges", "no limit reported");
    }
    pgsizes = page_sizes(g_ascii_strtoull(json_object_get_string_member(c, "iova-pgsizes"),
                                          NULL, 16));
    row("IOMMU page sizes", "%s", pgsizes);
    row("DMA mappings", "%" G_GINT64_FORMAT " (guest RAM) of %" G_GINT64_FORMAT " allowed",
        json_object_get_int_member(c, "mappings"), json_object_get_int_member(c, "max-mappings"));
    dirty = json_object_get_object_member(c, "dirty-tracking");
    row("dirty tracking", "%s (IOMMU tracking %s, device DMA logging %s)",
        json_object_get_string_member(dirty, "mode"),
        json_object_get_boolean_member(dirty, "iommu-supported") ? "available" : "absent",
        json_object_get_boolean_member(dirty, "devices-supported") ? "available" : "absent");
    row("interrupts", "%s", json_object_get_string_member(dev, "interrupt-mode"));
    row("BAR mmaps", "%" G_GINT64_FORMAT " area(s) mapped, the rest trapped",
        json_object_get_int_member(dev, "mmap-areas"));
}

int main(int argc, char **argv)
{
    const char *env_host = g_getenv("APERTURE_VFIO_DEVICE");
    g_autofree char *host = g_strdup(env_host && *env_host ? env_host : "0000:00:01.0");
    gint ram_mb = 512;
    GOptionEntry entries[] = {
        { "host", 0, 0, G_OPTION_ARG_STRING, &host, "host device to assign", "BDF" },
        { "ram-mb", 0, 0, G_OPTION_ARG_INT, &ram_mb, "guest RAM in MiB (default 512)", "N" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- the Aperture vfio-pci demo");
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonObject) info = NULL;
    g_autoptr(JsonObject) event = NULL;
    g_autofree char *ram = NULL;
    uint8_t pattern[EDU_DMA_BUFFER_SIZE], got[EDU_DMA_BUFFER_SIZE];
    QTestState *qts;
    uint32_t result = 0;
    gint64 t0;
    bool ok;
    Edu e;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "demo-vfio: %s\n", err->message);
        return 2;
    }
    ram = human_size((uint64_t)ram_mb * 1024 * 1024);
    g_set_print_handler(quiet_print);

    printf("Aperture: an edu device assigned to a VM with vfio-pci, on %s\n",
           edu_on_sim() ? "vfio-sim (the built-in host topology)" : "this host's VFIO");

    section("The VM");
    t0 = g_get_monotonic_time();
    qts = qtest_initf("-machine q35,memory-backend=ram -m %dM "
                      "-object memory-backend-memfd,id=ram,size=%dM "
                      "-device vfio-pci,host=%s,id=edu0,addr=%02x.0",
                      ram_mb, ram_mb, host, DEMO_SLOT);
    row("binary", "%s", qtest_binary());
    row("guest RAM", "%s, memory-backend-memfd", ram);
    row("device", "vfio-pci,host=%s at 00:%02x.0", host, DEMO_SLOT);
    row("accelerator", "qtest (this program is the guest)");
    step(qtest_probe_child(qts), "started", "in %.0f ms", ms_since(t0));

    section("What VFIO attached (QMP query-vfio)");
    info = edu_query_vfio(qts);
    show_attachment(info);
    json_object_unref(g_steal_pointer(&info));

    section("The device, from the guest");
    edu_attach(&e, qts, DEMO_SLOT);
    step(qpci_config_readw(e.dev, PCI_VENDOR_ID) == EDU_VENDOR_ID &&
         qpci_config_readw(e.dev, PCI_DEVICE_ID) == EDU_DEVICE_ID,
         "PCI ids", "%04x:%04x (QEMU edu)", qpci_config_readw(e.dev, PCI_VENDOR_ID),
         qpci_config_readw(e.dev, PCI_DEVICE_ID));
    {
        g_autofree char *size = human_size(e.bar0_size);

        row("BAR0", "%s at GPA 0x%" PRIx64, size, e.bar0.addr);
    }
    step(edu_readl(&e, EDU_REG_ID) == EDU_ID_VALUE, "ID register", "0x%08x",
         edu_readl(&e, EDU_REG_ID));
    ok = edu_factorial(&e, 10, &result);
    step(ok && result == 3628800, "factorial(10)", "%u (computed by the device)", result);

    section("DMA through the IOMMU into guest RAM");
    for (size_t i = 0; i < sizeof(pattern); i++) {
        pattern[i] = (uint8_t)(i * 7 + 0x5a);
    }
    qtest_memwrite(qts, GPA_SRC, pattern, sizeof(pattern));
    qtest_memset(qts, GPA_DST, 0, sizeof(pattern));
    t0 = g_get_monotonic_time();
    ok = edu_dma(&e, GPA_SRC, 0, sizeof(pattern), false, 0);
    step(ok, "RAM -> device", "%zu bytes from GPA 0x%llx (%.1f ms)", sizeof(pattern),
         GPA_SRC, ms_since(t0));
    t0 = g_get_monotonic_time();
    ok = edu_dma(&e, GPA_DST, 0, sizeof(pattern), true, 0);
    step(ok, "device -> RAM", "%zu bytes to GPA 0x%llx (%.1f ms)", sizeof(pattern),
         GPA_DST, ms_since(t0));
    qtest_memread(qts, GPA_DST, got, sizeof(got));
    step(!memcmp(got, pattern, sizeof(got)), "guest RAM check", "%02x %02x %02x %02x ... %02x: "
         "all %zu bytes match", got[0], got[1], got[2], got[3], got[sizeof(got) - 1],
         sizeof(got));

    section("MSI into guest RAM");
    qtest_writel(qts, GPA_MSI, 0);
    qpci_msi_enable(e.dev, GPA_MSI, MSI_DATA, 1);
    row("programmed", "address 0x%llx, data 0x%x", GPA_MSI, MSI_DATA);
    t0 = g_get_monotonic_time();
    edu_dma_start(&e, GPA_DST, 0, 64, true, EDU_DMA_IRQ);
    ok = edu_wait(&e, msi_arrived, NULL);
    step(ok, "DMA-done MSI", "0x%x at GPA 0x%llx after %.1f ms", qtest_readl(qts, GPA_MSI),
         GPA_MSI, ms_since(t0));
    edu_writel(&e, EDU_REG_IRQ_ACK, EDU_DMA_IRQ_VALUE);
    info = edu_query_vfio(qts);
    {
        JsonObject *dev = json_array_get_object_element(
            json_object_get_array_member(info, "devices"), 0);

        step(!strcmp(json_object_get_string_member(dev, "interrupt-mode"), "msi"),
             "vectors", "%s, %" G_GINT64_FORMAT " message(s) delivered",
             json_object_get_string_member(dev, "interrupt-mode"),
             json_object_get_int_member(dev, "msi-count"));
    }
    json_object_unref(g_steal_pointer(&info));

    section("Hot-unplug (QMP device_del)");
    edu_detach(&e);
    t0 = g_get_monotonic_time();
    qtest_qmp_assert_success(qts, "{'execute': 'device_del', 'arguments': {'id': 'edu0'}}");
    event = qtest_qmp_eventwait_ref(qts, "DEVICE_DELETED");
    step(event != NULL, "DEVICE_DELETED", "after %.1f ms", ms_since(t0));
    info = edu_query_vfio(qts);
    step(!json_array_get_length(json_object_get_array_member(info, "devices")) &&
         !json_array_get_length(json_object_get_array_member(info, "groups")) &&
         !json_array_get_length(json_object_get_array_member(info, "containers")),
         "left behind", "%u devices, %u groups, %u containers",
         json_array_get_length(json_object_get_array_member(info, "devices")),
         json_array_get_length(json_object_get_array_member(info, "groups")),
         json_array_get_length(json_object_get_array_member(info, "containers")));
    qtest_quit(qts);

    printf("\nDemo passed: %d checks.\n", steps);
    return 0;
}
