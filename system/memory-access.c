/*
 * Accesses through an address space: translation (including IOMMUs), RAM
 * copies, I/O dispatch with access-size splitting, and the ld/st helpers.
 *
 * Data in buffers is guest memory: bytes in guest (little-endian) order.
 * Values passed to and from memory_region_dispatch_* are in guest order
 * too; the dispatcher swaps for big-endian devices.
 */
#include "qemu/osdep.h"
#include "exec/memory.h"
#include "exec/ram_addr.h"
#include "memory-internal.h"
#include "trace/trace-system.h"

/* Where one contiguous piece of an access lands. */
typedef struct MemoryAccessTarget {
    /* The leaf region, or &io_mem_unassigned. */
    MemoryRegion *mr;
    /* Offset of the piece in @mr. */
    hwaddr xlat;
    /* Bytes from @xlat that stay in @mr (and in one IOMMU page). */
    hwaddr len;
    /* Writes are ignored (ROM, read-only region on the path). */
    bool readonly;
} MemoryAccessTarget;

uint64_t memory_ldn_le(const void *p, unsigned n)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < n; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    return v;
}

void memory_stn_le(void *p, unsigned n, uint64_t v)
{
    uint8_t *b = p;
    unsigned i;

    for (i = 0; i < n; i++) {
        b[i] = v >> (8 * i);
    }
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

static uint64_t bswap_n(uint64_t v, unsigned size)
{
    switch (size) {
    case 2:
        return __builtin_bswap16(v);
    case 4:
        return __builtin_bswap32(v);
    case 8:
        return __builtin_bswap64(v);
    default:
        return v;
    }
}

static bool device_is_big_endian(enum device_endian e)
{
    /* Aperture's guests are little endian: NATIVE is little. */
    return e == DEVICE_BIG_ENDIAN;
}

/* RAM that accesses may copy directly (not RAM-device memory). */
static bool memory_region_is_direct(const MemoryRegion *mr)
{
    return mr->ram && !mr->ram_device;
}

static hwaddr min_len(hwaddr len, Int128 limit)
{
    return int128_lt(limit, int128_make64(len)) ? int128_get64(limit) : len;
}

/*
 * Resolve @addr in @as for an access of at most @len bytes, following IOMMU
 * regions.  Always fills @t; t->mr is &io_mem_unassigned for a hole or a
 * refused translation.
 */
static void address_space_translate_internal(AddressSpace *as, hwaddr addr, hwaddr len,
                                             bool is_write, MemTxAttrs attrs,
                                             MemoryAccessTarget *t)
{
    unsigned depth;

    t->readonly = false;
    for (depth = 0; depth <= MEMORY_IOMMU_MAX_DEPTH; depth++) {
        const FlatRange *fr, *next;
        IOMMUMemoryRegion *iommu;
        IOMMUAccessFlags flag = is_write ? IOMMU_WO : IOMMU_RO;
        IOMMUTLBEntry entry;
        hwaddr off;
        int idx;

        fr = flatview_lookup(as->current_map, addr, &next);
        if (!fr) {
            t->mr = &io_mem_unassigned;
            t->xlat = addr;
            t->len = next ? min_len(len, int128_sub(next->start, int128_make64(addr))) : len;
            return;
        }
        off = fr->offset_in_region + (addr - int128_get64(fr->start));
        len = min_len(len, int128_sub(int128_add(fr->start, fr->size), int128_make64(addr)));
        t->readonly |= fr->readonly;
        if (!fr->mr->is_iommu) {
            t->mr = fr->mr;
            t->xlat = off;
            t->len = len;
            return;
        }

        iommu = container_of(fr->mr, IOMMUMemoryRegion, parent_obj);
        idx = memory_region_iommu_attrs_to_index(iommu, attrs);
        if (idx < 0 || idx >= memory_region_iommu_num_indexes(iommu)) {
            break;
        }
        entry = iommu->ops->translate(iommu, off, flag, idx);
        trace_memory_iommu_translate(memory_region_name(fr->mr), off, entry.translated_addr,
                                     entry.addr_mask, entry.perm);
        /* The rest of the IOMMU page, which may be the whole 2^64 space. */
        len = min_len(len, int128_sub(int128_add(int128_make64(entry.addr_mask), int128_one()),
                                      int128_make64(off & entry.addr_mask)));
        if (!(entry.perm & flag) || !entry.target_as) {
            break;
        }
        addr = (entry.translated_addr & ~entry.addr_mask) | (off & entry.addr_mask);
        as = entry.target_as;
    }
    t->mr = &io_mem_unassigned;
    t->xlat = addr;
    t->len = len;
}

MemoryRegion *address_space_translate(AddressSpace *as, hwaddr addr, hwaddr *xlat,
                                      hwaddr *plen, bool is_write, MemTxAttrs attrs)
{
    MemoryAccessTarget t;

    address_space_translate_internal(as, addr, *plen, is_write, attrs, &t);
    *xlat = t.xlat;
    *plen = t.len;
    return t.mr;
}

/* ------------------------------------------------------------------------ */
/* I/O dispatch */

bool memory_region_access_valid(MemoryRegion *mr, hwaddr addr, unsigned size, bool is_write,
                                MemTxAttrs attrs)
{
    const MemoryRegionOps *ops = mr->ops;
    unsigned vmin = ops->valid.min_access_size ? ops->valid.min_access_size : 1;
    unsigned vmax = ops->valid.max_access_size ? ops->valid.max_access_size : 4;
    const char *reason = NULL;

    /*
     * accepts comes last, as in QEMU: a device's veto may assume (and
     * index registers by) an access the ops declare valid, so it never
     * sees one of the wrong size, unaligned or past the region's end.
     */
    if (size != 1 && size != 2 && size != 4 && size != 8) {
        reason = "size";
    } else if (int128_gt(int128_add(int128_make64(addr), int128_make64(size)), mr->size)) {
        reason = "beyond the region";
    } else if (size < vmin || size > vmax) {
        reason = "size";
    } else if (!ops->valid.unaligned && (addr & (size - 1))) {
        reason = "unaligned";
    } else if (ops->valid.accepts &&
               !ops->valid.accepts(mr->opaque, addr, size, is_write, attrs)) {
        reason = "rejected";
    }
    if (reason) {
        trace_memory_region_invalid_access(memory_region_name(mr), addr, size, is_write,
                                           reason);
        return false;
    }
    return true;
}

static MemTxResult memory_region_call_read(MemoryRegion *mr, hwaddr addr, uint64_t *v,
                                           unsigned size, MemTxAttrs attrs)
{
    if (mr->ops->read) {
        *v = mr->ops->read(mr->opaque, addr, size);
        return MEMTX_OK;
    }
    return mr->ops->read_with_attrs(mr->opaque, addr, v, size, attrs);
}

static MemTxResult memory_region_call_write(MemoryRegion *mr, hwaddr addr, uint64_t v,
                                            unsigned size, MemTxAttrs attrs)
{
    if (mr->ops->write) {
        mr->ops->write(mr->opaque, addr, v, size);
        return MEMTX_OK;
    }
    return mr->ops->write_with_attrs(mr->opaque, addr, v, size, attrs);
}

/*
 * Carry out an access of @size bytes at @addr with callbacks of the unit
 * size impl allows: wider accesses become several units, narrower ones one
 * wider unit (aligned, unless impl.unaligned) from which the bytes are
 * taken.  @value is in the device's byte order; each unit's bytes are
 * placed according to that order.
 */
static MemTxResult memory_region_access_units(MemoryRegion *mr, hwaddr addr, uint64_t *value,
                                              unsigned size, bool is_write, MemTxAttrs attrs)
{
    const MemoryRegionOps *ops = mr->ops;
    unsigned imin = ops->impl.min_access_size ? ops->impl.min_access_size : 1;
    unsigned imax = ops->impl.max_access_size ? ops->impl.max_access_size : 4;
    unsigned unit = MAX(MIN(size, imax), imin);
    bool big = device_is_big_endian(ops->endianness);
    hwaddr first = ops->impl.unaligned ? addr : QEMU_ALIGN_DOWN(addr, unit);
    unsigned lead = addr - first;
    unsigned units = DIV_ROUND_UP(lead + size, unit);
    MemTxResult r = MEMTX_OK;
    unsigned k;

    for (k = 0; k < units; k++) {
        unsigned span_lo = k * unit;
        unsigned ov_lo = MAX(span_lo, lead);
        unsigned ov_hi = MIN(span_lo + unit, lead + size);
        unsigned n = ov_hi - ov_lo;
        unsigned in_unit = ov_lo - span_lo, in_access = ov_lo - lead;
        unsigned shift_u = 8 * (big ? unit - in_unit - n : in_unit);
        unsigned shift_a = 8 * (big ? size - in_access - n : in_access);
        uint64_t mask = size_mask(n);
        uint64_t tmp = 0;

        if (is_write) {
            tmp = ((*value >> shift_a) & mask) << shift_u;
            r |= memory_region_call_write(mr, first + span_lo, tmp, unit, attrs);
        } else {
            r |= memory_region_call_read(mr, first + span_lo, &tmp, unit, attrs);
            *value |= ((tmp >> shift_u) & mask) << shift_a;
        }
    }
    return r;
}

MemTxResult memory_region_dispatch_read(MemoryRegion *mr, hwaddr addr, uint64_t *pval,
                                        unsigned size, MemTxAttrs attrs)
{
    MemTxResult r;

    if (!memory_region_access_valid(mr, addr, size, false, attrs)) {
        *pval = size_mask(size);
        return MEMTX_DECODE_ERROR;
    }
    *pval = 0;
    r = memory_region_access_units(mr, addr, pval, size, false, attrs);
    if (device_is_big_endian(mr->ops->endianness)) {
        *pval = bswap_n(*pval, size);
    }
    *pval &= size_mask(size);
    if (trace_event_get_state_backends(TRACE_MEMORY_REGION_OPS_READ)) {
        trace_memory_region_ops_read(memory_region_name(mr), addr, *pval, size);
    }
    return r;
}

MemTxResult memory_region_dispatch_write(MemoryRegion *mr, hwaddr addr, uint64_t val,
                                         unsigned size, MemTxAttrs attrs)
{
    if (!memory_region_access_valid(mr, addr, size, true, attrs)) {
        return MEMTX_DECODE_ERROR;
    }
    val &= size_mask(size);
    if (trace_event_get_state_backends(TRACE_MEMORY_REGION_OPS_WRITE)) {
        trace_memory_region_ops_write(memory_region_name(mr), addr, val, size);
    }
    if (device_is_big_endian(mr->ops->endianness)) {
        val = bswap_n(val, size);
    }
    return memory_region_access_units(mr, addr, &val, size, true, attrs);
}

/*
 * The largest piece (a power of two) of an @l byte access at @addr that
 * @mr's bus interface takes in one go: at most valid.max_access_size and,
 * unless the callbacks handle misalignment, no larger than the alignment of
 * @addr.
 */
static unsigned memory_access_size(MemoryRegion *mr, hwaddr l, hwaddr addr)
{
    unsigned max = mr->ops->valid.max_access_size ? mr->ops->valid.max_access_size : 4;
    unsigned piece;

    if (!mr->ops->impl.unaligned) {
        hwaddr align = addr & -addr;

        if (align && align < max) {
            max = align;
        }
    }
    piece = l < max ? l : max;
    while (piece & (piece - 1)) {
        piece &= piece - 1;
    }
    return piece;
}

/* ------------------------------------------------------------------------ */
/* Address space accesses */

static uint8_t *memory_region_ram_host(MemoryRegion *mr, hwaddr xlat)
{
    return (uint8_t *)memory_region_get_ram_ptr(mr) + xlat;
}

/* Record a guest write to RAM for every client that logs @mr. */
static void memory_region_ram_written(MemoryRegion *mr, hwaddr xlat, hwaddr len)
{
    uint8_t mask = memory_region_get_dirty_log_mask(mr);

    if (mask) {
        cpu_physical_memory_set_dirty_range(memory_region_get_ram_addr(mr) + xlat, len, mask);
    }
}

/* One piece (within one target) of an I/O access; returns the bytes done in *@done. */
static MemTxResult address_space_io_piece(MemoryAccessTarget *t, MemTxAttrs attrs,
                                          uint8_t *buf, bool is_write, hwaddr *done)
{
    unsigned l = memory_access_size(t->mr, t->len, t->xlat);
    uint64_t val;
    MemTxResult r;

    *done = l;
    if (is_write) {
        r = memory_region_dispatch_write(t->mr, t->xlat, memory_ldn_le(buf, l), l, attrs);
    } else {
        r = memory_region_dispatch_read(t->mr, t->xlat, &val, l, attrs);
        memory_stn_le(buf, l, val);
    }
    return r;
}

MemTxResult address_space_rw(AddressSpace *as, hwaddr addr, MemTxAttrs attrs, void *buf,
                             hwaddr len, bool is_write)
{
    uint8_t *p = buf;
    MemTxResult result = MEMTX_OK;

    while (len > 0) {
        MemoryAccessTarget t;
        hwaddr done;

        address_space_translate_internal(as, addr, len, is_write, attrs, &t);
        done = t.len;
        if (t.mr == &io_mem_unassigned) {
            trace_memory_unassigned_access(as->name, addr, t.len, is_write);
            if (!is_write) {
                memset(p, 0xff, t.len);
            }
            result |= MEMTX_DECODE_ERROR;
        } else if (is_write && t.readonly) {
            trace_memory_readonly_write_ignored(memory_region_name(t.mr), t.xlat, t.len);
        } else if (memory_region_is_direct(t.mr)) {
            uint8_t *host = memory_region_ram_host(t.mr, t.xlat);

            if (is_write) {
                memcpy(host, p, t.len);
                memory_region_ram_written(t.mr, t.xlat, t.len);
            } else {
                memcpy(p, host, t.len);
            }
        } else {
            result |= address_space_io_piece(&t, attrs, p, is_write, &done);
        }
        p += done;
        addr += done;
        len -= done;
    }
    return result;
}

MemTxResult address_space_read(AddressSpace *as, hwaddr addr, MemTxAttrs attrs, void *buf,
                               hwaddr len)
{
    return address_space_rw(as, addr, attrs, buf, len, false);
}

MemTxResult address_space_write(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                                const void *buf, hwaddr len)
{
    return address_space_rw(as, addr, attrs, (void *)buf, len, true);
}

MemTxResult address_space_set(AddressSpace *as, hwaddr addr, uint8_t c, hwaddr len,
                              MemTxAttrs attrs)
{
    uint8_t fill[512];
    MemTxResult result = MEMTX_OK;

    memset(fill, c, sizeof(fill));
    while (len > 0) {
        hwaddr l = MIN(len, sizeof(fill));

        result |= address_space_write(as, addr, attrs, fill, l);
        addr += l;
        len -= l;
    }
    return result;
}

MemTxResult address_space_write_rom(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                                    const void *buf, hwaddr len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        MemoryAccessTarget t;

        address_space_translate_internal(as, addr, len, true, attrs, &t);
        if (memory_region_is_direct(t.mr)) {
            memcpy(memory_region_ram_host(t.mr, t.xlat), p, t.len);
            memory_region_ram_written(t.mr, t.xlat, t.len);
        }
        p += t.len;
        addr += t.len;
        len -= t.len;
    }
    return MEMTX_OK;
}

bool address_space_access_valid(AddressSpace *as, hwaddr addr, hwaddr len, bool is_write,
                                MemTxAttrs attrs)
{
    while (len > 0) {
        MemoryAccessTarget t;
        hwaddr done;

        address_space_translate_internal(as, addr, len, is_write, attrs, &t);
        done = t.len;
        if (t.mr == &io_mem_unassigned || (is_write && t.readonly)) {
            return false;
        }
        if (!memory_region_is_direct(t.mr)) {
            done = memory_access_size(t.mr, t.len, t.xlat);
            if (!memory_region_access_valid(t.mr, t.xlat, done, is_write, attrs)) {
                return false;
            }
        }
        addr += done;
        len -= done;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* ld/st helpers */

/*
 * A load of @size bytes as one access: one callback access when it lies in
 * an I/O region, a copy for RAM, the general path when it straddles.
 */
static uint64_t address_space_load(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                                   MemTxResult *result, unsigned size, bool big_endian)
{
    MemoryAccessTarget t;
    uint64_t val;
    MemTxResult r;

    address_space_translate_internal(as, addr, size, false, attrs, &t);
    if (t.mr != &io_mem_unassigned && t.len == size && !memory_region_is_direct(t.mr)) {
        r = memory_region_dispatch_read(t.mr, t.xlat, &val, size, attrs);
    } else {
        uint8_t buf[8];

        r = address_space_read(as, addr, attrs, buf, size);
        val = memory_ldn_le(buf, size);
    }
    if (result) {
        *result = r;
    }
    return big_endian ? bswap_n(val, size) : val;
}

static void address_space_store(AddressSpace *as, hwaddr addr, uint64_t val, MemTxAttrs attrs,
                                MemTxResult *result, unsigned size, bool big_endian)
{
    MemoryAccessTarget t;
    MemTxResult r;

    val &= size_mask(size);
    if (big_endian) {
        val = bswap_n(val, size);
    }
    address_space_translate_internal(as, addr, size, true, attrs, &t);
    if (t.mr != &io_mem_unassigned && t.len == size && !t.readonly &&
        !memory_region_is_direct(t.mr)) {
        r = memory_region_dispatch_write(t.mr, t.xlat, val, size, attrs);
    } else {
        uint8_t buf[8];

        memory_stn_le(buf, size, val);
        r = address_space_write(as, addr, attrs, buf, size);
    }
    if (result) {
        *result = r;
    }
}

uint32_t address_space_ldub(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                            MemTxResult *result)
{
    return address_space_load(as, addr, attrs, result, 1, false);
}

uint32_t address_space_lduw_le(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                               MemTxResult *result)
{
    return address_space_load(as, addr, attrs, result, 2, false);
}

uint32_t address_space_lduw_be(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                               MemTxResult *result)
{
    return address_space_load(as, addr, attrs, result, 2, true);
}

uint32_t address_space_ldl_le(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                              MemTxResult *result)
{
    return address_space_load(as, addr, attrs, result, 4, false);
}

uint32_t address_space_ldl_be(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                              MemTxResult *result)
{
    return address_space_load(as, addr, attrs, result, 4, true);
}

uint64_t address_space_ldq_le(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                              MemTxResult *result)
{
    return address_space_load(as, addr, attrs, result, 8, false);
}

uint64_t address_space_ldq_be(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                              MemTxResult *result)
{
    return address_space_load(as, addr, attrs, result, 8, true);
}

void address_space_stb(AddressSpace *as, hwaddr addr, uint32_t val, MemTxAttrs attrs,
                       MemTxResult *result)
{
    address_space_store(as, addr, val, attrs, result, 1, false);
}

void address_space_stw_le(AddressSpace *as, hwaddr addr, uint32_t val, MemTxAttrs attrs,
                          MemTxResult *result)
{
    address_space_store(as, addr, val, attrs, result, 2, false);
}

void address_space_stw_be(AddressSpace *as, hwaddr addr, uint32_t val, MemTxAttrs attrs,
                          MemTxResult *result)
{
    address_space_store(as, addr, val, attrs, result, 2, true);
}

void address_space_stl_le(AddressSpace *as, hwaddr addr, uint32_t val, MemTxAttrs attrs,
                          MemTxResult *result)
{
    address_space_store(as, addr, val, attrs, result, 4, false);
}

void address_space_stl_be(AddressSpace *as, hwaddr addr, uint32_t val, MemTxAttrs attrs,
                          MemTxResult *result)
{
    address_space_store(as, addr, val, attrs, result, 4, true);
}

void address_space_stq_le(AddressSpace *as, hwaddr addr, uint64_t val, MemTxAttrs attrs,
                          MemTxResult *result)
{
    address_space_store(as, addr, val, attrs, result, 8, false);
}

void address_space_stq_be(AddressSpace *as, hwaddr addr, uint64_t val, MemTxAttrs attrs,
                          MemTxResult *result)
{
    address_space_store(as, addr, val, attrs, result, 8, true);
}
