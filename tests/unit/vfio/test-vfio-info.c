/*
 * The VFIO info capability walker and the type1 IOMMU info parser, on
 * buffers laid out as the kernel lays them out, and on broken ones.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/range.h"
#include "qemu/vfio-info.h"

/* A type1 info buffer with room for caps, built the way the kernel builds it. */
typedef struct InfoBuilder {
    uint8_t buf[512];
    size_t used;
    struct vfio_info_cap_header *last;
} InfoBuilder;

static struct vfio_iommu_type1_info *builder_init(InfoBuilder *b, uint32_t flags)
{
    struct vfio_iommu_type1_info *info = (void *)b->buf;

    memset(b, 0, sizeof(*b));
    b->used = sizeof(*info);
    info->argsz = sizeof(*info);
    info->flags = flags;
    info->iova_pgsizes = 0x40201000;
    return info;
}

/* Append a capability of @size bytes, 8-byte aligned as the kernel does. */
static void *builder_add_cap(InfoBuilder *b, uint16_t id, uint16_t version, size_t size)
{
    struct vfio_iommu_type1_info *info = (void *)b->buf;
    size_t off = ROUND_UP(b->used, 8);
    struct vfio_info_cap_header *hdr = (void *)(b->buf + off);

    g_assert_cmpuint(off + size, <=, sizeof(b->buf));
    hdr->id = id;
    hdr->version = version;
    if (b->last) {
        b->last->next = off;
    } else {
        info->cap_offset = off;
    }
    b->last = hdr;
    b->used = off + size;
    info->argsz = b->used;
    return hdr;
}

static void builder_add_rig_caps(InfoBuilder *b)
{
    struct vfio_iommu_type1_info_cap_iova_range *iova;
    struct vfio_iommu_type1_info_cap_migration *mig;
    struct vfio_iommu_type1_info_dma_avail *avail;

    /* What Linux 6.12 reported in the rig (RIG-FACTS.md). */
    iova = builder_add_cap(b, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1,
                           sizeof(*iova) + 2 * sizeof(struct vfio_iova_range));
    iova->nr_iovas = 2;
    iova->iova_ranges[0].start = 0;
    iova->iova_ranges[0].end = 0xfedfffff;
    iova->iova_ranges[1].start = 0xfef00000;
    iova->iova_ranges[1].end = (1ULL << 48) - 1;
    mig = builder_add_cap(b, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1, sizeof(*mig));
    mig->pgsize_bitmap = 0x1000;
    mig->max_dirty_bitmap_size = 256 * MiB;
    avail = builder_add_cap(b, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, sizeof(*avail));
    avail->avail = 65535;
}

static void test_parse_kernel_layout(void)
{
    InfoBuilder b;
    struct vfio_iommu_type1_info *info =
        builder_init(&b, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
    VFIOIOMMUInfo out;
    Range *r;

    builder_add_rig_caps(&b);
    g_assert_true(vfio_iommu_info_parse(info, b.used, &out, &error_abort));
    g_assert_cmphex(out.iova_pgsizes, ==, 0x40201000);
    g_assert_cmpuint(out.dma_max_mappings, ==, 65535);
    g_assert_true(out.dma_avail_reported);
    g_assert_true(out.dirty_pages_supported);
    g_assert_cmpuint(out.max_dirty_bitmap_size, ==, 256 * MiB);
    g_assert_cmpuint(g_list_length(out.iova_ranges), ==, 2);
    r = out.iova_ranges->data;
    g_assert_cmphex(range_lob(r), ==, 0);
    g_assert_cmphex(range_upb(r), ==, 0xfedfffff);
    r = out.iova_ranges->next->data;
    g_assert_cmphex(range_lob(r), ==, 0xfef00000);
    g_assert_cmphex(range_upb(r), ==, (1ULL << 48) - 1);
    vfio_iommu_info_clear(&out);
}

static void test_parse_defaults_without_caps(void)
{
    InfoBuilder b;
    struct vfio_iommu_type1_info *info = builder_init(&b, 0);
    VFIOIOMMUInfo out;

    /* Caps present in the buffer but the CAPS flag clear: they are not read. */
    builder_add_rig_caps(&b);
    g_assert_true(vfio_iommu_info_parse(info, b.used, &out, &error_abort));
    g_assert_cmphex(out.iova_pgsizes, ==, qemu_real_host_page_size());
    g_assert_cmpuint(out.dma_max_mappings, ==, VFIO_DEFAULT_DMA_MAX_MAPPINGS);
    g_assert_false(out.dma_avail_reported);
    g_assert_false(out.dirty_pages_supported);
    g_assert_null(out.iova_ranges);
}

static void test_parse_migration_cap_without_host_page(void)
{
    InfoBuilder b;
    struct vfio_iommu_type1_info *info =
        builder_init(&b, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
    struct vfio_iommu_type1_info_cap_migration *mig;
    VFIOIOMMUInfo out;

    mig = builder_add_cap(&b, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1, sizeof(*mig));
    mig->pgsize_bitmap = 0x200000;
    mig->max_dirty_bitmap_size = 256 * MiB;
    g_assert_true(vfio_iommu_info_parse(info, b.used, &out, &error_abort));
    g_assert_false(out.dirty_pages_supported);
    g_assert_cmphex(out.dirty_pgsizes, ==, 0x200000);
}

/* *@errp is set and its message is @expected (g_free'd); the error is freed. */
static void assert_error_is(Error **errp, char *expected)
{
    g_assert_nonnull(*errp);
    g_assert_cmpstr(error_get_pretty(*errp), ==, expected);
    g_free(expected);
    error_free(*errp);
    *errp = NULL;
}

static void test_cap_find_loop_refused(void)
{
    InfoBuilder b;
    struct vfio_iommu_type1_info *info =
        builder_init(&b, VFIO_IOMMU_INFO_CAPS);
    const struct vfio_info_cap_header *cap;
    struct vfio_info_cap_header *first, *second;

    first = builder_add_cap(&b, 100, 1, 16);
    second = builder_add_cap(&b, 101, 1, 16);
    second->next = info->cap_offset;    /* back to the first: a cycle */
    (void)first;
    g_assert_cmpint(vfio_info_cap_find(info, b.used, info->cap_offset, 999, 0, &cap),
                    ==, -EINVAL);
    g_assert_null(cap);
    /* A self-loop too. */
    first->next = info->cap_offset;
    g_assert_cmpint(vfio_info_cap_find(info, b.used, info->cap_offset, 999, 0, &cap),
                    ==, -EINVAL);
}

static void test_cap_overlapping_next_refused(void)
{
    InfoBuilder b;
    struct vfio_iommu_type1_info *info = builder_init(&b, VFIO_IOMMU_INFO_CAPS);
    struct vfio_iommu_type1_info_cap_iova_range *iova;
    const struct vfio_info_cap_header *cap;
    VFIOIOMMUInfo out;
    Error *err = NULL;

    iova = builder_add_cap(&b, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1,
                           sizeof(*iova) + 2 * sizeof(struct vfio_iova_range));
    iova->nr_iovas = 1;
    /* The next capability would start inside this one's fixed part. */
    iova->header.next = info->cap_offset + 12;
    g_assert_cmpint(vfio_info_cap_find(info, b.used, info->cap_offset,
                                       VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
                                       sizeof(*iova), &cap), ==, -EINVAL);
    g_assert_false(vfio_iommu_info_parse(info, b.used, &out, &err));
    assert_error_is(&err, g_strdup_printf("IOMMU info: the IOVA range capability at offset "
                                          "0x%x overlaps the next capability (%zu bytes of "
                                          "info, the capability needs %zu)",
                                          info->cap_offset, b.used, sizeof(*iova)));
}

/*
 * A broken chain names the capability being looked for and the offset at
 * fault; a capability found but truncated names itself.
 */
static void test_parse_malformed_names_cap_and_offset(void)
{
    InfoBuilder b;
    struct vfio_iommu_type1_info *info;
    struct vfio_iommu_type1_info_cap_iova_range *iova;
    struct vfio_iommu_type1_info_dma_avail *avail;
    struct vfio_iommu_type1_info_cap_migration *mig;
    struct vfio_info_cap_header *other;
    VFIOIOMMUInfo out;
    Error *err = NULL;

    /*
     * IOVA range (parsed fine), then a capability we do not know whose next
     * goes back to the first: found while looking for DMA avail.
     */
    info = builder_init(&b, VFIO_IOMMU_INFO_CAPS);
    iova = builder_add_cap(&b, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1,
                           sizeof(*iova) + sizeof(struct vfio_iova_range));
    iova->nr_iovas = 1;
    iova->iova_ranges[0].end = 0xfff;
    other = builder_add_cap(&b, 99, 1, 16);
    other->next = info->cap_offset;
    g_assert_false(vfio_iommu_info_parse(info, b.used, &out, &err));
    assert_error_is(&err, g_strdup_printf("IOMMU info: malformed capability chain while "
                                          "looking for the DMA avail capability: offset "
                                          "0x%x goes back into the chain (%zu bytes of info)",
                                          info->cap_offset, b.used));
    g_assert_null(out.iova_ranges);

    /* A misaligned next. */
    other->next = (uint8_t *)other - b.buf + 20;
    g_assert_false(vfio_iommu_info_parse(info, b.used, &out, &err));
    assert_error_is(&err, g_strdup_printf("IOMMU info: malformed capability chain while "
                                          "looking for the DMA avail capability: offset "
                                          "0x%x is not 8-byte aligned (%zu bytes of info)",
                                          other->next, b.used));

    /* DMA avail, cut short by the buffer: it names itself. */
    info = builder_init(&b, VFIO_IOMMU_INFO_CAPS);
    avail = builder_add_cap(&b, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, sizeof(*avail));
    g_assert_false(vfio_iommu_info_parse(info, b.used - 2, &out, &err));
    assert_error_is(&err, g_strdup_printf("IOMMU info: the DMA avail capability at offset "
                                          "0x%x runs past the end of the buffer (%zu bytes "
                                          "of info, the capability needs %zu)",
                                          info->cap_offset, b.used - 2, sizeof(*avail)));

    /* Migration, likewise. */
    info = builder_init(&b, VFIO_IOMMU_INFO_CAPS);
    mig = builder_add_cap(&b, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1, sizeof(*mig));
    g_assert_false(vfio_iommu_info_parse(info, b.used - 8, &out, &err));
    assert_error_is(&err, g_strdup_printf("IOMMU info: the migration capability at offset "
                                          "0x%x runs past the end of the buffer (%zu bytes "
                                          "of info, the capability needs %zu)",
                                          info->cap_offset, b.used - 8, sizeof(*mig)));
    (void)mig;
}

static void test_cap_find_bounds(void)
{
    InfoBuilder b;
    struct vfio_iommu_type1_info *info = builder_init(&b, VFIO_IOMMU_INFO_CAPS);
    const struct vfio_info_cap_header *cap;
    struct vfio_info_cap_header *hdr;

    hdr = builder_add_cap(&b, 7, 1, 16);
    g_assert_cmpint(vfio_info_cap_find(info, b.used, info->cap_offset, 7, 16, &cap), ==, 0);
    g_assert_true(cap == hdr);
    /* Wants more than the buffer holds. */
    g_assert_cmpint(vfio_info_cap_find(info, b.used, info->cap_offset, 7, 32, &cap),
                    ==, -EINVAL);
    /* Not there. */
    g_assert_cmpint(vfio_info_cap_find(info, b.used, info->cap_offset, 8, 0, &cap),
                    ==, -ENOENT);
    /* First offset beyond the buffer, inside the fixed header, misaligned. */
    g_assert_cmpint(vfio_info_cap_find(info, b.used, b.used, 7, 0, &cap), ==, -EINVAL);
    g_assert_cmpint(vfio_info_cap_find(info, b.used, 4, 7, 0, &cap), ==, -EINVAL);
    g_assert_cmpint(vfio_info_cap_find(info, b.used, info->cap_offset + 2, 7, 0, &cap),
                    ==, -EINVAL);
    /* A next pointer past the end. */
    hdr->next = 0xfffffff0;
    g_assert_cmpint(vfio_info_cap_find(info, b.used, info->cap_offset, 8, 0, &cap),
                    ==, -EINVAL);
}

static void test_parse_iova_ranges_malformed(void)
{
    static const struct {
        const char *what;
        uint32_t nr;
        uint64_t r[4];
    } cases[] = {
        { "no ranges", 0, { 0 } },
        { "more ranges than bytes", 1000, { 0, 0xfff } },
        { "start after end", 1, { 0x2000, 0x1000 } },
        { "overlapping", 2, { 0, 0x2000, 0x1000, 0x3000 } },
        { "out of order", 2, { 0x10000, 0x1ffff, 0, 0xfff } },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        InfoBuilder b;
        struct vfio_iommu_type1_info *info = builder_init(&b, VFIO_IOMMU_INFO_CAPS);
        struct vfio_iommu_type1_info_cap_iova_range *iova;
        VFIOIOMMUInfo out;
        Error *err = NULL;

        iova = builder_add_cap(&b, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1,
                               sizeof(*iova) + 2 * sizeof(struct vfio_iova_range));
        iova->nr_iovas = cases[i].nr;
        memcpy(iova->iova_ranges, cases[i].r, sizeof(cases[i].r));
        if (g_test_verbose()) {
            g_test_message("case: %s", cases[i].what);
        }
        g_assert_false(vfio_iommu_info_parse(info, b.used, &out, &err));
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(error_get_pretty(err), "IOVA range"));
        g_assert_null(out.iova_ranges);
        error_free(err);
    }
}

static void test_parse_short_buffer(void)
{
    InfoBuilder b;
    struct vfio_iommu_type1_info *info = builder_init(&b, VFIO_IOMMU_INFO_CAPS);
    VFIOIOMMUInfo out;
    Error *err = NULL;

    g_assert_false(vfio_iommu_info_parse(info, 4, &out, &err));
    error_free_or_abort(&err);
    /* Only argsz/flags/pgsizes: caps cannot be there, defaults apply. */
    g_assert_true(vfio_iommu_info_parse(info, offsetof(struct vfio_iommu_type1_info,
                                                       cap_offset), &out, &error_abort));
    g_assert_cmpuint(out.dma_max_mappings, ==, VFIO_DEFAULT_DMA_MAX_MAPPINGS);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/info/parse-kernel-layout", test_parse_kernel_layout);
    g_test_add_func("/vfio/info/defaults-without-caps-flag", test_parse_defaults_without_caps);
    g_test_add_func("/vfio/info/migration-cap-needs-host-page",
                    test_parse_migration_cap_without_host_page);
    g_test_add_func("/vfio/info/cap-chain-loop-refused", test_cap_find_loop_refused);
    g_test_add_func("/vfio/info/cap-chain-bounds", test_cap_find_bounds);
    g_test_add_func("/vfio/info/cap-overlapping-next-refused",
                    test_cap_overlapping_next_refused);
    g_test_add_func("/vfio/info/malformed-names-cap-and-offset",
                    test_parse_malformed_names_cap_and_offset);
    g_test_add_func("/vfio/info/iova-ranges-malformed-refused",
                    test_parse_iova_ranges_malformed);
    g_test_add_func("/vfio/info/short-buffer", test_parse_short_buffer);
    return g_test_run();
}
