/*
 * Accesses through an address space: RAM, I/O (splitting and widening per
 * the ops' sizes, byte order), ROM, RAM-device memory, unassigned holes,
 * the ld/st helpers, dirty marking and translation through an IOMMU.
 *
 * Register files start with regs[i] = i, so reads show which bytes came
 * from where; their callbacks log "r OFF/SIZE" and "w OFF/SIZE=VALUE".
 */
#include "memory-test-util.h"
#include "exec/ram_addr.h"

#include <sys/mman.h>

#define ATTRS MEMTXATTRS_UNSPECIFIED

/* Bus accepts 1..4 bytes, aligned; callbacks 1..4 (the defaults). */
static const MemoryRegionOps regs_ops = {
    .read = regfile_read,
    .write = regfile_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
};

/* Bus accepts 1..8 bytes; callbacks only take 4. */
static const MemoryRegionOps regs32_ops = {
    .read = regfile_read,
    .write = regfile_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

/* A big-endian device whose callbacks take at most 2 bytes. */
static const MemoryRegionOps regs_be16_ops = {
    .read = regfile_read,
    .write = regfile_write,
    .endianness = DEVICE_BIG_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 1, .max_access_size = 2 },
};

static bool refuse_offset_0x10(void *opaque, hwaddr addr, unsigned size, bool is_write,
                               MemTxAttrs attrs)
{
    return addr != 0x10;
}

/* Only 4-byte aligned accesses, and nothing at offset 0x10. */
static const MemoryRegionOps strict_ops = {
    .read = regfile_read,
    .write = regfile_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 4, .max_access_size = 4, .accepts = refuse_offset_0x10 },
};

/*
 * The test machine:
 *   0x0000 RAM  "acc-ram"  0x1000
 *   0x1000 I/O  "regs"     0x100   (regs_ops)
 *   0x1100 hole
 *   0x2000 ROM  "acc-rom"  0x1000
 *   0x3000 I/O  "regs32"   0x100   (regs32_ops)
 *   0x4000 I/O  "regs-be"  0x100   (regs_be16_ops)
 *   0x5000 I/O  "strict"   0x100   (strict_ops)
 */
typedef struct Fixture {
    MemoryRegion root, ram, regs, rom, regs32, regs_be, strict;
    RegFile rf, rf32, rf_be, rf_strict;
    AddressSpace as;
} Fixture;

static void fixture_init(Fixture *f)
{
    memory_region_init(&f->root, NULL, "root", 0x10000);
    g_assert_true(memory_region_init_ram(&f->ram, NULL, "acc-ram", 0x1000, &error_abort));
    g_assert_true(memory_region_init_rom(&f->rom, NULL, "acc-rom", 0x1000, &error_abort));
    regfile_init(&f->rf);
    regfile_init(&f->rf32);
    regfile_init(&f->rf_be);
    f->rf_be.big_endian = true;
    regfile_init(&f->rf_strict);
    memory_region_init_io(&f->regs, NULL, &regs_ops, &f->rf, "regs", 0x100);
    memory_region_init_io(&f->regs32, NULL, &regs32_ops, &f->rf32, "regs32", 0x100);
    memory_region_init_io(&f->regs_be, NULL, &regs_be16_ops, &f->rf_be, "regs-be", 0x100);
    memory_region_init_io(&f->strict, NULL, &strict_ops, &f->rf_strict, "strict", 0x100);
    memory_region_transaction_begin();
    memory_region_add_subregion(&f->root, 0x0000, &f->ram);
    memory_region_add_subregion(&f->root, 0x1000, &f->regs);
    memory_region_add_subregion(&f->root, 0x2000, &f->rom);
    memory_region_add_subregion(&f->root, 0x3000, &f->regs32);
    memory_region_add_subregion(&f->root, 0x4000, &f->regs_be);
    memory_region_add_subregion(&f->root, 0x5000, &f->strict);
    memory_region_transaction_commit();
    address_space_init(&f->as, &f->root, "access");
}

static void fixture_fini(Fixture *f)
{
    address_space_destroy(&f->as);
    memory_region_unparent(&f->ram);
    memory_region_unparent(&f->regs);
    memory_region_unparent(&f->rom);
    memory_region_unparent(&f->regs32);
    memory_region_unparent(&f->regs_be);
    memory_region_unparent(&f->strict);
    memory_region_unparent(&f->root);
    regfile_destroy(&f->rf);
    regfile_destroy(&f->rf32);
    regfile_destroy(&f->rf_be);
    regfile_destroy(&f->rf_strict);
}

static void test_ram_rw(void)
{
    Fixture f;
    uint8_t out[16], in[16];
    MemTxResult r;
    unsigned i;

    fixture_init(&f);
    for (i = 0; i < sizeof(out); i++) {
        out[i] = 0xa0 + i;
    }
    g_assert_cmpuint(address_space_write(&f.as, 0x100, ATTRS, out, sizeof(out)), ==, MEMTX_OK);
    g_assert_cmpuint(address_space_read(&f.as, 0x100, ATTRS, in, sizeof(in)), ==, MEMTX_OK);
    g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
    g_assert_cmpmem((uint8_t *)memory_region_get_ram_ptr(&f.ram) + 0x100, 16, out, 16);

    g_assert_cmphex(address_space_ldl_le(&f.as, 0x100, ATTRS, &r), ==, 0xa3a2a1a0);
    g_assert_cmpuint(r, ==, MEMTX_OK);
    g_assert_cmphex(address_space_ldl_be(&f.as, 0x100, ATTRS, NULL), ==, 0xa0a1a2a3);
    g_assert_cmphex(address_space_lduw_le(&f.as, 0x101, ATTRS, NULL), ==, 0xa2a1);
    g_assert_cmphex(address_space_ldub(&f.as, 0x10f, ATTRS, NULL), ==, 0xaf);
    address_space_stq_le(&f.as, 0x200, 0x1122334455667788ULL, ATTRS, &r);
    g_assert_cmpuint(r, ==, MEMTX_OK);
    g_assert_cmphex(address_space_ldq_le(&f.as, 0x200, ATTRS, NULL), ==, 0x1122334455667788ULL);
    g_assert_cmphex(address_space_ldq_be(&f.as, 0x200, ATTRS, NULL), ==, 0x8877665544332211ULL);
    address_space_stw_be(&f.as, 0x300, 0xbeef, ATTRS, NULL);
    g_assert_cmphex(address_space_ldub(&f.as, 0x300, ATTRS, NULL), ==, 0xbe);
    address_space_stl_be(&f.as, 0x304, 0xcafef00d, ATTRS, NULL);
    g_assert_cmphex(address_space_ldl_le(&f.as, 0x304, ATTRS, NULL), ==, 0x0df0feca);
    address_space_stb(&f.as, 0x308, 0x1ff, ATTRS, NULL);
    g_assert_cmphex(address_space_ldub(&f.as, 0x308, ATTRS, NULL), ==, 0xff);
    g_assert_cmphex(address_space_ldub(&f.as, 0x309, ATTRS, NULL), ==, 0);
    fixture_fini(&f);
}

static void test_cross_boundaries(void)
{
    Fixture f;
    uint8_t buf[32], expect[32];
    unsigned i;

    fixture_init(&f);
    /* RAM's last 16 bytes, then the registers' first 16, as 4-byte callbacks. */
    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = 0x40 + i;
    }
    g_assert_cmpuint(address_space_write(&f.as, 0xff0, ATTRS, buf, 32), ==, MEMTX_OK);
    assert_lines(regfile_log_take(&f.rf),
                 LINES("w 0x0/4=0x53525150", "w 0x4/4=0x57565554", "w 0x8/4=0x5b5a5958",
                       "w 0xc/4=0x5f5e5d5c"));
    g_assert_cmpmem((uint8_t *)memory_region_get_ram_ptr(&f.ram) + 0xff0, 16, buf, 16);
    g_assert_cmpmem(f.rf.regs, 16, buf + 16, 16);

    /* The registers' last 8 bytes, then 8 bytes of hole (all-ones, decode error). */
    memset(buf, 0, sizeof(buf));
    g_assert_cmpuint(address_space_read(&f.as, 0x10f8, ATTRS, buf, 16), ==, MEMTX_DECODE_ERROR);
    assert_lines(regfile_log_take(&f.rf), LINES("r 0xf8/4", "r 0xfc/4"));
    for (i = 0; i < 8; i++) {
        expect[i] = 0xf8 + i;
    }
    memset(expect + 8, 0xff, 8);
    g_assert_cmpmem(buf, 16, expect, 16);

    /* Hole, then ROM: the ROM part still reads. */
    g_assert_cmpuint(address_space_read(&f.as, 0x1ffe, ATTRS, buf, 4), ==, MEMTX_DECODE_ERROR);
    g_assert_cmphex(buf[0], ==, 0xff);
    g_assert_cmphex(buf[1], ==, 0xff);
    g_assert_cmphex(buf[2], ==, 0);
    g_assert_cmphex(buf[3], ==, 0);
    fixture_fini(&f);
}

static void test_split_by_alignment(void)
{
    Fixture f;
    uint8_t buf[7];

    fixture_init(&f);
    /* 7 bytes at offset 1: 1 + 2 + 4, each naturally aligned. */
    g_assert_cmpuint(address_space_read(&f.as, 0x1001, ATTRS, buf, 7), ==, MEMTX_OK);
    assert_lines(regfile_log_take(&f.rf), LINES("r 0x1/1", "r 0x2/2", "r 0x4/4"));
    g_assert_cmpmem(buf, 7, ((uint8_t[]) { 1, 2, 3, 4, 5, 6, 7 }), 7);

    /* An 8-byte load is one access, wider than the bus of "regs" takes: refused. */
    g_assert_cmphex(address_space_ldq_le(&f.as, 0x1008, ATTRS, NULL), ==, UINT64_MAX);
    assert_lines(regfile_log_take(&f.rf), NO_LINES);
    fixture_fini(&f);
}

static void test_impl_sizes(void)
{
    Fixture f;
    MemTxResult r;

    fixture_init(&f);
    /* Narrower than impl.min: the aligned 4-byte unit is read, the byte taken. */
    g_assert_cmphex(address_space_ldub(&f.as, 0x3001, ATTRS, &r), ==, 0x01);
    g_assert_cmpuint(r, ==, MEMTX_OK);
    assert_lines(regfile_log_take(&f.rf32), LINES("r 0x0/4"));
    g_assert_cmphex(address_space_lduw_le(&f.as, 0x3006, ATTRS, NULL), ==, 0x0706);
    assert_lines(regfile_log_take(&f.rf32), LINES("r 0x4/4"));
    /* ... and written with the other bytes of the unit zero. */
    address_space_stb(&f.as, 0x3002, 0xaa, ATTRS, &r);
    g_assert_cmpuint(r, ==, MEMTX_OK);
    assert_lines(regfile_log_take(&f.rf32), LINES("w 0x0/4=0xaa0000"));

    /* Wider than impl.max: split into units, combined in order. */
    g_assert_cmphex(address_space_ldq_le(&f.as, 0x3008, ATTRS, NULL), ==, 0x0f0e0d0c0b0a0908ULL);
    assert_lines(regfile_log_take(&f.rf32), LINES("r 0x8/4", "r 0xc/4"));
    address_space_stq_le(&f.as, 0x3010, 0x1122334455667788ULL, ATTRS, NULL);
    assert_lines(regfile_log_take(&f.rf32), LINES("w 0x10/4=0x55667788", "w 0x14/4=0x11223344"));
    fixture_fini(&f);
}

static void test_big_endian_device(void)
{
    Fixture f;
    uint8_t buf[4];

    fixture_init(&f);
    /* Register bytes appear in memory order; values read as big endian. */
    g_assert_cmphex(address_space_ldl_be(&f.as, 0x4000, ATTRS, NULL), ==, 0x00010203);
    assert_lines(regfile_log_take(&f.rf_be), LINES("r 0x0/2", "r 0x2/2"));
    g_assert_cmphex(address_space_ldl_le(&f.as, 0x4000, ATTRS, NULL), ==, 0x03020100);
    g_strfreev(regfile_log_take(&f.rf_be));
    g_assert_cmpuint(address_space_read(&f.as, 0x4004, ATTRS, buf, 4), ==, MEMTX_OK);
    g_assert_cmpmem(buf, 4, ((uint8_t[]) { 4, 5, 6, 7 }), 4);
    g_strfreev(regfile_log_take(&f.rf_be));

    address_space_stl_be(&f.as, 0x4008, 0xa1b2c3d4, ATTRS, NULL);
    assert_lines(regfile_log_take(&f.rf_be), LINES("w 0x8/2=0xa1b2", "w 0xa/2=0xc3d4"));
    g_assert_cmpmem(f.rf_be.regs + 8, 4, ((uint8_t[]) { 0xa1, 0xb2, 0xc3, 0xd4 }), 4);
    fixture_fini(&f);
}

static void test_refused_accesses(void)
{
    Fixture f;
    MemTxResult r;
    uint64_t v;

    fixture_init(&f);
    /* Below valid.min: refused without a callback, reads all-ones. */
    g_assert_cmphex(address_space_ldub(&f.as, 0x5000, ATTRS, &r), ==, 0xff);
    g_assert_cmpuint(r, ==, MEMTX_DECODE_ERROR);
    /* Unaligned. */
    g_assert_cmphex(address_space_ldl_le(&f.as, 0x5002, ATTRS, &r), ==, 0xffffffff);
    g_assert_cmpuint(r, ==, MEMTX_DECODE_ERROR);
    /* Vetoed by accepts. */
    address_space_stl_le(&f.as, 0x5010, 1, ATTRS, &r);
    g_assert_cmpuint(r, ==, MEMTX_DECODE_ERROR);
    assert_lines(regfile_log_take(&f.rf_strict), NO_LINES);
    /* Allowed. */
    g_assert_cmphex(address_space_ldl_le(&f.as, 0x5004, ATTRS, &r), ==, 0x07060504);
    g_assert_cmpuint(r, ==, MEMTX_OK);
    assert_lines(regfile_log_take(&f.rf_strict), LINES("r 0x4/4"));

    /* Direct dispatch checks the region's bounds and the access size. */
    g_assert_cmpuint(memory_region_dispatch_read(&f.regs, 0xfe, &v, 4, ATTRS), ==,
                     MEMTX_DECODE_ERROR);
    g_assert_cmpuint(memory_region_dispatch_read(&f.regs, 0, &v, 3, ATTRS), ==,
                     MEMTX_DECODE_ERROR);
    g_assert_false(address_space_access_valid(&f.as, 0x1100, 4, false, ATTRS));
    g_assert_true(address_space_access_valid(&f.as, 0xffc, 8, true, ATTRS));
    g_assert_false(address_space_access_valid(&f.as, 0x2000, 4, true, ATTRS));
    g_assert_true(address_space_access_valid(&f.as, 0x2000, 4, false, ATTRS));
    assert_lines(regfile_log_take(&f.rf), NO_LINES);
    fixture_fini(&f);
}

/* What counting_accepts saw. */
static unsigned accepts_calls;
static hwaddr accepts_last_addr;
static unsigned accepts_last_size;

static bool counting_accepts(void *opaque, hwaddr addr, unsigned size, bool is_write,
                             MemTxAttrs attrs)
{
    accepts_calls++;
    accepts_last_addr = addr;
    accepts_last_size = size;
    return true;
}

/* 2..4 bytes, aligned, and a veto that only counts. */
static const MemoryRegionOps counted_ops = {
    .read = regfile_read,
    .write = regfile_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 2, .max_access_size = 4, .accepts = counting_accepts },
};

/*
 * valid.accepts is asked last (as in QEMU): an access the ops declare
 * invalid (size, alignment, past the end) is refused before the device's
 * veto could see it.
 */
static void test_accepts_sees_only_valid_accesses(void)
{
    static const struct {
        hwaddr addr;
        unsigned size;
    } invalid[] = {
        { 0x0, 1 },     /* below valid.min_access_size */
        { 0x0, 8 },     /* above valid.max_access_size */
        { 0x2, 4 },     /* unaligned */
        { 0x1, 2 },     /* unaligned */
        { 0xfe, 4 },    /* past the end */
        { 0x0, 3 },     /* not a power of two */
    };
    MemoryRegion mr;
    RegFile rf;
    uint64_t v;

    regfile_init(&rf);
    memory_region_init_io(&mr, NULL, &counted_ops, &rf, "counted", 0x100);
    accepts_calls = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(invalid); i++) {
        g_assert_false(memory_region_access_valid(&mr, invalid[i].addr, invalid[i].size,
                                                  false, ATTRS));
        g_assert_cmpuint(memory_region_dispatch_read(&mr, invalid[i].addr, &v,
                                                     invalid[i].size, ATTRS), ==,
                         MEMTX_DECODE_ERROR);
        g_assert_cmpuint(accepts_calls, ==, 0);
    }
    g_assert_true(memory_region_access_valid(&mr, 0x4, 4, true, ATTRS));
    g_assert_cmpuint(accepts_calls, ==, 1);
    g_assert_cmphex(accepts_last_addr, ==, 0x4);
    g_assert_cmpuint(accepts_last_size, ==, 4);
    assert_lines(regfile_log_take(&rf), NO_LINES);
    memory_region_unparent(&mr);
    regfile_destroy(&rf);
}

static void test_rom(void)
{
    Fixture f;
    uint8_t image[8] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4 }, buf[8];

    fixture_init(&f);
    g_assert_true(memory_region_is_rom(&f.rom));
    g_assert_true(memory_region_is_ram(&f.rom));
    g_assert_cmpuint(address_space_write_rom(&f.as, 0x2000, ATTRS, image, 8), ==, MEMTX_OK);
    /* Guest writes are ignored, successfully. */
    g_assert_cmpuint(address_space_write(&f.as, 0x2000, ATTRS, "xxxxxxxx", 8), ==, MEMTX_OK);
    address_space_stl_le(&f.as, 0x2004, 0, ATTRS, NULL);
    g_assert_cmpuint(address_space_read(&f.as, 0x2000, ATTRS, buf, 8), ==, MEMTX_OK);
    g_assert_cmpmem(buf, 8, image, 8);
    /* write_rom skips I/O. */
    g_assert_cmpuint(address_space_write_rom(&f.as, 0x1000, ATTRS, image, 4), ==, MEMTX_OK);
    assert_lines(regfile_log_take(&f.rf), NO_LINES);
    fixture_fini(&f);
}

static void test_unassigned(void)
{
    Fixture f;
    uint8_t buf[4] = { 0 };
    MemTxResult r;
    hwaddr xlat, len = 0x100;
    MemoryRegion *mr;

    fixture_init(&f);
    g_assert_cmpuint(address_space_read(&f.as, 0x8000, ATTRS, buf, 4), ==, MEMTX_DECODE_ERROR);
    g_assert_cmpmem(buf, 4, ((uint8_t[]) { 0xff, 0xff, 0xff, 0xff }), 4);
    g_assert_cmpuint(address_space_write(&f.as, 0x8000, ATTRS, buf, 4), ==, MEMTX_DECODE_ERROR);
    g_assert_cmphex(address_space_ldq_le(&f.as, 0x8000, ATTRS, &r), ==, UINT64_MAX);
    g_assert_cmpuint(r, ==, MEMTX_DECODE_ERROR);
    /* Beyond the root container: the rest of the 2^64 space is a hole too. */
    g_assert_cmphex(address_space_ldl_le(&f.as, 0xfffffffffffffff0ULL, ATTRS, &r), ==,
                    0xffffffff);
    g_assert_cmpuint(r, ==, MEMTX_DECODE_ERROR);

    mr = address_space_translate(&f.as, 0x1180, &xlat, &len, false, ATTRS);
    g_assert_nonnull(mr);
    g_assert_false(memory_region_is_ram(mr));
    g_assert_cmphex(len, ==, 0x100);
    len = 0x2000;
    mr = address_space_translate(&f.as, 0x1180, &xlat, &len, false, ATTRS);
    g_assert_cmphex(len, ==, 0xe80);     /* up to the ROM at 0x2000 */
    fixture_fini(&f);
}

static void test_ram_device(void)
{
    Fixture f;
    MemoryRegion bar;
    size_t page = qemu_real_host_page_size();
    uint8_t *map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    hwaddr xlat, len = 4;

    g_assert_true(map != MAP_FAILED);
    fixture_init(&f);
    g_assert_true(memory_region_init_ram_device_ptr(&bar, NULL, "bar0-mmap", page, map,
                                                    &error_abort));
    g_assert_true(memory_region_is_ram_device(&bar));
    g_assert_true(memory_region_is_ram(&bar));
    memory_region_add_subregion(&f.root, 0x8000, &bar);

    address_space_stl_le(&f.as, 0x8010, 0x12345678, ATTRS, NULL);
    g_assert_cmphex(*(uint32_t *)(map + 0x10), ==, 0x12345678);
    map[0x20] = 0x5a;
    g_assert_cmphex(address_space_ldub(&f.as, 0x8020, ATTRS, NULL), ==, 0x5a);
    /* Unaligned bus accesses are accepted and done as aligned pieces. */
    g_assert_cmpuint(address_space_write(&f.as, 0x8031, ATTRS, "\x01\x02\x03\x04", 4), ==,
                     MEMTX_OK);
    g_assert_cmpmem(map + 0x31, 4, "\x01\x02\x03\x04", 4);
    g_assert_true(address_space_translate(&f.as, 0x8000, &xlat, &len, true, ATTRS) == &bar);
    g_assert_true(memory_region_get_ram_ptr(&bar) == map);

    memory_region_unparent(&bar);
    fixture_fini(&f);
    munmap(map, page);
}

static void test_dirty_marking(void)
{
    Fixture f;
    ram_addr_t base;

    fixture_init(&f);
    base = memory_region_get_ram_addr(&f.ram);
    g_assert_cmphex(base, !=, RAM_ADDR_INVALID);
    /* New blocks start dirty; clear them first. */
    cpu_physical_memory_test_and_clear_dirty(base, 0x1000, DIRTY_MEMORY_VGA);
    cpu_physical_memory_test_and_clear_dirty(base, 0x1000, DIRTY_MEMORY_MIGRATION);

    /* Without logging, writes mark nothing. */
    address_space_stl_le(&f.as, 0x0, 1, ATTRS, NULL);
    g_assert_false(cpu_physical_memory_get_dirty(base, 0x1000, DIRTY_MEMORY_VGA));

    memory_region_set_log(&f.ram, true, DIRTY_MEMORY_VGA);
    address_space_stl_le(&f.as, 0x10, 1, ATTRS, NULL);
    g_assert_true(memory_region_get_dirty(&f.ram, 0, 0x1000, DIRTY_MEMORY_VGA));
    g_assert_false(memory_region_get_dirty(&f.ram, 0, 0x1000, DIRTY_MEMORY_MIGRATION));
    g_assert_true(memory_region_test_and_clear_dirty(&f.ram, 0, 0x1000, DIRTY_MEMORY_VGA));
    g_assert_false(memory_region_get_dirty(&f.ram, 0, 0x1000, DIRTY_MEMORY_VGA));
    memory_region_set_log(&f.ram, false, DIRTY_MEMORY_VGA);

    /* Global tracking marks for migration. */
    g_assert_true(memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION, &error_abort));
    address_space_write(&f.as, 0x800, ATTRS, "abcd", 4);
    g_assert_true(cpu_physical_memory_get_dirty(base + 0x800, 4, DIRTY_MEMORY_MIGRATION));
    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION);
    fixture_fini(&f);
}

/* ------------------------------------------------------------------------ */
/* Translation through an IOMMU */

/*
 * A toy IOMMU over 4 KiB pages: page 0 -> 0x3000 RW, page 1 -> 0x1000 RW,
 * page 2 -> 0x0 read-only, page 3 unmapped.  It counts translations.
 */
typedef struct ToyIOMMU {
    IOMMUMemoryRegion iommu;
    AddressSpace *target;
    unsigned translations;
} ToyIOMMU;

static IOMMUTLBEntry toy_translate(IOMMUMemoryRegion *iommu, hwaddr addr,
                                   IOMMUAccessFlags flag, int idx)
{
    ToyIOMMU *t = container_of(iommu, ToyIOMMU, iommu);
    static const hwaddr out[] = { 0x3000, 0x1000, 0x0 };
    static const IOMMUAccessFlags perm[] = { IOMMU_RW, IOMMU_RW, IOMMU_RO };
    unsigned page = addr >> 12;
    IOMMUTLBEntry e = {
        .target_as = t->target,
        .iova = addr & ~0xfffULL,
        .addr_mask = 0xfff,
        .perm = IOMMU_NONE,
    };

    t->translations++;
    if (page < 3) {
        e.translated_addr = out[page];
        e.perm = perm[page];
    }
    return e;
}

static const IOMMUMemoryRegionOps toy_ops = {
    .translate = toy_translate,
};

static void test_iommu_translation(void)
{
    MemoryRegion target_root, target_ram, dma_root;
    AddressSpace target_as, dma_as;
    ToyIOMMU toy = { 0 };
    uint8_t *host, buf[8];
    hwaddr xlat, len = 0x100;
    MemTxResult r;

    /* The memory the IOMMU translates into. */
    memory_region_init(&target_root, NULL, "target-root", 0x10000);
    g_assert_true(memory_region_init_ram(&target_ram, NULL, "iommu-target-ram", 0x4000,
                                         &error_abort));
    memory_region_add_subregion(&target_root, 0, &target_ram);
    address_space_init(&target_as, &target_root, "target");
    host = memory_region_get_ram_ptr(&target_ram);

    /* A device's DMA space: the IOMMU region at 0x10000. */
    memory_region_init(&dma_root, NULL, "dma-root", 0x100000);
    toy.target = &target_as;
    g_assert_true(memory_region_init_iommu(&toy.iommu, NULL, &toy_ops, "toy-iommu", 0x4000,
                                           &error_abort));
    g_assert_true(memory_region_is_iommu(&toy.iommu.parent_obj));
    memory_region_add_subregion(&dma_root, 0x10000, &toy.iommu.parent_obj);
    address_space_init(&dma_as, &dma_root, "dma");

    /* Page 0 -> 0x3000. */
    address_space_stl_le(&dma_as, 0x10010, 0xfeedface, ATTRS, &r);
    g_assert_cmpuint(r, ==, MEMTX_OK);
    g_assert_cmphex(*(uint32_t *)(host + 0x3010), ==, 0xfeedface);
    g_assert_true(address_space_translate(&dma_as, 0x10010, &xlat, &len, false, ATTRS) ==
                  &target_ram);
    g_assert_cmphex(xlat, ==, 0x3010);
    g_assert_cmphex(len, ==, 0x100);
    len = 0x2000;
    address_space_translate(&dma_as, 0x10010, &xlat, &len, false, ATTRS);
    g_assert_cmphex(len, ==, 0xff0);    /* the rest of the IOMMU page */

    /* An access across pages 0 and 1 is translated page by page. */
    memcpy(host + 0x3ffc, "ABCD", 4);
    memcpy(host + 0x1000, "EFGH", 4);
    g_assert_cmpuint(address_space_read(&dma_as, 0x10ffc, ATTRS, buf, 8), ==, MEMTX_OK);
    g_assert_cmpmem(buf, 8, "ABCDEFGH", 8);

    /* Page 2 is read-only: reads pass, writes are refused and change nothing. */
    host[0x8] = 0x77;
    g_assert_cmphex(address_space_ldub(&dma_as, 0x12008, ATTRS, &r), ==, 0x77);
    g_assert_cmpuint(r, ==, MEMTX_OK);
    address_space_stb(&dma_as, 0x12008, 0x11, ATTRS, &r);
    g_assert_cmpuint(r, ==, MEMTX_DECODE_ERROR);
    g_assert_cmphex(host[0x8], ==, 0x77);

    /* Page 3 is unmapped. */
    g_assert_cmphex(address_space_ldl_le(&dma_as, 0x13000, ATTRS, &r), ==, 0xffffffff);
    g_assert_cmpuint(r, ==, MEMTX_DECODE_ERROR);
    g_assert_cmpuint(toy.translations, >, 0);

    address_space_destroy(&dma_as);
    memory_region_unparent(&toy.iommu.parent_obj);
    memory_region_unparent(&dma_root);
    address_space_destroy(&target_as);
    memory_region_unparent(&target_ram);
    memory_region_unparent(&target_root);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/access/ram-rw-and-ld-st", test_ram_rw);
    g_test_add_func("/memory/access/cross-boundaries", test_cross_boundaries);
    g_test_add_func("/memory/access/split-by-alignment", test_split_by_alignment);
    g_test_add_func("/memory/access/impl-sizes", test_impl_sizes);
    g_test_add_func("/memory/access/big-endian-device", test_big_endian_device);
    g_test_add_func("/memory/access/refused-accesses", test_refused_accesses);
    g_test_add_func("/memory/access/accepts-sees-only-valid-accesses",
                    test_accepts_sees_only_valid_accesses);
    g_test_add_func("/memory/access/rom", test_rom);
    g_test_add_func("/memory/access/unassigned", test_unassigned);
    g_test_add_func("/memory/access/ram-device", test_ram_device);
    g_test_add_func("/memory/access/dirty-marking", test_dirty_marking);
    g_test_add_func("/memory/access/iommu-translation", test_iommu_translation);
    return g_test_run();
}
