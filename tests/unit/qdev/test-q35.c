/*
 * Memory backends and the q35 machine: RAM split, address map, GSIs.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "exec/ramblock.h"
#include "hw/i386/q35.h"
#include "sysemu/hostmem.h"

static char *tmpdir;

static HostMemoryBackend *backend_new(const char *spec)
{
    return MEMORY_BACKEND(user_creatable_add_opts(spec, &error_abort));
}

static void test_backend_ram(void)
{
    HostMemoryBackend *be = backend_new("memory-backend-ram,id=r0,size=2M,prealloc=on");
    MemoryRegion *mr = host_memory_backend_get_memory(be);
    uint8_t *host;

    g_assert_nonnull(mr);
    g_assert_cmpstr(memory_region_name(mr), ==, "r0");
    g_assert_cmpuint(memory_region_size(mr), ==, 2 * MiB);
    g_assert_true(memory_region_is_ram(mr));
    g_assert_false(be->share);
    host = memory_region_get_ram_ptr(mr);
    host[2 * MiB - 1] = 0x5a;
    g_assert_true(object_find_by_id("r0") == OBJECT(be));
    user_creatable_cleanup();
    g_assert_null(object_find_by_id("r0"));
}

static void test_backend_memfd_shared_by_default(void)
{
    HostMemoryBackend *be = backend_new("memory-backend-memfd,id=m0,size=1M");
    HostMemoryBackend *be2 = backend_new("memory-backend-memfd,id=m1,size=1M,share=off");

    g_assert_true(be->share);
    g_assert_false(be2->share);
    g_assert_cmpint(memory_region_get_fd(host_memory_backend_get_memory(be)), >=, 0);
    g_assert_true(memory_region_get_ram_block(host_memory_backend_get_memory(be))->flags &
                  RAM_SHARED);
    user_creatable_cleanup();
}

static void test_backend_file(void)
{
    g_autofree char *path = g_build_filename(tmpdir, "guest-ram", NULL);
    g_autofree char *spec = g_strdup_printf("memory-backend-file,id=f0,size=1M,share=on,"
                                            "mem-path=%s", path);
    HostMemoryBackend *be = backend_new(spec);
    uint8_t *host = memory_region_get_ram_ptr(host_memory_backend_get_memory(be));
    g_autofree char *content = NULL;
    gsize len;

    memcpy(host, "guest", 5);
    g_assert_true(g_file_get_contents(path, &content, &len, NULL));
    g_assert_cmpuint(len, ==, MiB);
    g_assert_cmpmem(content, 5, "guest", 5);
    user_creatable_cleanup();
    unlink(path);
}

static void test_backend_errors(void)
{
    static const struct {
        const char *spec;
        const char *msg;
    } cases[] = {
        { "memory-backend-ram,id=z", "memory backend 'z': can't create backend with size 0" },
        { "memory-backend-ram,size=1M", "Parameter 'id' is missing" },
        { "memory-backend-file,id=f,size=1M", "memory backend 'f': mem-path property not set" },
        { "memory-backend,id=a,size=1M", "Invalid parameter type for 'qom-type', expected: "
                                         "a user-creatable object type ('memory-backend')" },
        { "memory-backend-ram,id=s,size=1Q", "Property 'memory-backend-ram.size': invalid "
                                             "size '1Q' (a number with an optional k, M, G, "
                                             "T, P or E suffix)" },
        { "memory-backend-ram,id=s,size=1M,color=red",
          "Property 'memory-backend-ram.color' not found" },
        { "no-such-type,id=n", "Invalid parameter type for 'qom-type', expected: "
                               "a user-creatable object type ('no-such-type')" },
    };
    Error *err = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        g_assert_null(user_creatable_add_opts(cases[i].spec, &err));
        g_assert_cmpstr(error_get_pretty(err), ==, cases[i].msg);
        g_clear_pointer(&err, error_free);
    }
    backend_new("memory-backend-ram,id=dup,size=1M");
    g_assert_null(user_creatable_add_opts("memory-backend-ram,id=dup,size=1M", &err));
    g_assert_nonnull(err);
    error_free(err);
    user_creatable_cleanup();
}

/* ------------------------------------------------------------------ */

typedef struct MachineFixture {
    Q35MachineState *q35;
    HostMemoryBackend *ram;
} MachineFixture;

/* A q35 machine over a NORESERVE RAM backend of @size bytes. */
static void machine_up(MachineFixture *f, uint64_t size)
{
    g_autofree char *spec = g_strdup_printf("memory-backend-ram,id=ram0,size=%" PRIu64
                                            ",reserve=off", size);
    MachineState *ms;

    f->ram = backend_new(spec);
    ms = MACHINE(object_new(TYPE_Q35_MACHINE));
    current_machine = ms;
    ms->ram = host_memory_backend_get_memory(f->ram);
    ms->ram_size = size;
    g_assert_true(MACHINE_GET_CLASS(ms)->init(ms, &error_abort));
    f->q35 = Q35_MACHINE(ms);
}

static void machine_down(MachineFixture *f)
{
    MachineState *ms = MACHINE(f->q35);

    qdev_machine_teardown();
    MACHINE_GET_CLASS(ms)->teardown(ms);
    object_unref(ms);
    current_machine = NULL;
    user_creatable_cleanup();
    memory_map_cleanup();
}

/* Which region answers @addr in system memory (NULL: nothing). */
static const char *region_at(hwaddr addr)
{
    MemoryRegionSection s = memory_region_find(get_system_memory(), addr, 1);
    const char *name = s.mr ? memory_region_name(s.mr) : NULL;

    memory_region_unref(s.mr);
    return name;
}

static void test_q35_small_ram_all_below_4g(void)
{
    MachineFixture f;

    machine_up(&f, 512 * MiB);
    g_assert_cmpuint(f.q35->below_4g_mem_size, ==, 512 * MiB);
    g_assert_cmpuint(f.q35->above_4g_mem_size, ==, 0);
    g_assert_cmpstr(region_at(0), ==, "ram0");
    g_assert_cmpstr(region_at(512 * MiB - 1), ==, "ram0");
    g_assert_true(region_at(512 * MiB) == NULL || strcmp(region_at(512 * MiB), "ram0"));
    g_assert_true(region_at(4 * GiB) == NULL || strcmp(region_at(4 * GiB), "ram0"));
    g_assert_cmpuint(f.q35->pci_hole32_start, ==, 0xc0000000);
    g_assert_cmpuint(f.q35->pci_hole64_start, ==, 4 * GiB);
    g_assert_cmpuint(f.q35->pci_hole64_size, ==, 32 * GiB);
    machine_down(&f);
}

static void test_q35_ram_split_at_2g(void)
{
    MachineFixture f;
    uint8_t byte = 0xab, back = 0;

    /* At 0xb0000000 (2.75 GiB) and above, q35 keeps 2 GiB below 4 GiB. */
    machine_up(&f, 0xb0000000);
    g_assert_cmpuint(f.q35->below_4g_mem_size, ==, 2 * GiB);
    g_assert_cmpuint(f.q35->above_4g_mem_size, ==, 0x30000000);
    g_assert_cmpstr(region_at(2 * GiB - 1), ==, "ram0");
    g_assert_true(region_at(2 * GiB) == NULL || strcmp(region_at(2 * GiB), "ram0"));
    g_assert_cmpstr(region_at(4 * GiB), ==, "ram0");
    g_assert_cmpstr(region_at(4 * GiB + 0x30000000 - 1), ==, "ram0");
    /* Guest address 4 GiB is RAM offset 2 GiB. */
    address_space_write(&address_space_memory, 4 * GiB, MEMTXATTRS_UNSPECIFIED, &byte, 1);
    back = ((uint8_t *)memory_region_get_ram_ptr(host_memory_backend_get_memory(f.ram)))[2 * GiB];
    g_assert_cmpuint(back, ==, 0xab);
    g_assert_cmpuint(f.q35->pci_hole64_start, ==, 5 * GiB);
    machine_down(&f);
}

static void test_q35_just_below_split(void)
{
    MachineFixture f;

    machine_up(&f, 0xb0000000 - 2 * MiB);
    g_assert_cmpuint(f.q35->below_4g_mem_size, ==, 0xb0000000 - 2 * MiB);
    g_assert_cmpuint(f.q35->above_4g_mem_size, ==, 0);
    machine_down(&f);
}

static void test_q35_ioapic_gsis(void)
{
    MachineFixture f;
    DeviceState *ioapic;

    machine_up(&f, 128 * MiB);
    ioapic = qdev_resolve_path("ioapic", NULL);
    g_assert_true(ioapic == f.q35->ioapic);
    g_assert_cmpstr(qdev_get_path(ioapic), ==, "/machine/ioapic");
    g_assert_cmpint(qdev_get_named_gpio_list(ioapic, NULL)->num_in, ==, IOAPIC_NUM_PINS);
    qemu_irq_raise(f.q35->gsi[16]);
    qemu_irq_raise(f.q35->gsi[23]);
    g_assert_cmphex(ioapic_get_levels(ioapic), ==, (1u << 16) | (1u << 23));
    qemu_irq_lower(f.q35->gsi[16]);
    g_assert_cmphex(ioapic_get_levels(ioapic), ==, 1u << 23);
    if (object_class_by_name(Q35_HOST_TYPE)) {
        g_assert_nonnull(f.q35->host);
        g_assert_cmpstr(qdev_get_path(f.q35->host), ==, "/machine/q35");
    } else {
        g_assert_null(f.q35->host);
    }
    machine_down(&f);
}

static void test_machine_lookup(void)
{
    g_assert_nonnull(machine_find_class("q35"));
    g_assert_true(machine_find_class("pc-q35") == machine_find_class("q35"));
    g_assert_true(machine_find_default() == machine_find_class("q35"));
    g_assert_null(machine_find_class("pc"));
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-q35-XXXXXX", NULL);
    g_test_add_func("/hostmem/ram", test_backend_ram);
    g_test_add_func("/hostmem/memfd-shared-by-default", test_backend_memfd_shared_by_default);
    g_test_add_func("/hostmem/file", test_backend_file);
    g_test_add_func("/hostmem/errors", test_backend_errors);
    g_test_add_func("/q35/ram/small-all-below-4g", test_q35_small_ram_all_below_4g);
    g_test_add_func("/q35/ram/split-at-2g", test_q35_ram_split_at_2g);
    g_test_add_func("/q35/ram/just-below-split", test_q35_just_below_split);
    g_test_add_func("/q35/ioapic-gsis", test_q35_ioapic_gsis);
    g_test_add_func("/q35/machine-lookup", test_machine_lookup);
    ret = g_test_run();
    rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
