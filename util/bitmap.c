/*
 * Bitmap operations (see include/qemu/bitmap.h).
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"

unsigned long *bitmap_new(unsigned long nbits)
{
    /* At least one word, so that NULL always means failure for try_new. */
    return g_new0(unsigned long, MAX(BITS_TO_LONGS(nbits), 1));
}

unsigned long *bitmap_try_new(unsigned long nbits)
{
    return g_try_new0(unsigned long, MAX(BITS_TO_LONGS(nbits), 1));
}

unsigned long *bitmap_zero_extend(unsigned long *map, unsigned long old_nbits,
                                  unsigned long new_nbits)
{
    unsigned long words = MAX(BITS_TO_LONGS(new_nbits), 1);

    map = g_renew(unsigned long, map, words);
    if (new_nbits > old_nbits) {
        /* Through the end of the last word, like bitmap_new. */
        bitmap_clear(map, old_nbits, words * BITS_PER_LONG - old_nbits);
    }
    return map;
}

void bitmap_fill(unsigned long *dst, unsigned long nbits)
{
    unsigned long full = nbits / BITS_PER_LONG;

    memset(dst, 0xff, full * sizeof(unsigned long));
    if (nbits % BITS_PER_LONG) {
        dst[full] = BITMAP_LAST_WORD_MASK(nbits);
    }
}

bool bitmap_empty(const unsigned long *src, unsigned long nbits)
{
    unsigned long full = nbits / BITS_PER_LONG;

    for (unsigned long i = 0; i < full; i++) {
        if (src[i]) {
            return false;
        }
    }
    return !(nbits % BITS_PER_LONG) ||
           !(src[full] & BITMAP_LAST_WORD_MASK(nbits));
}

bool bitmap_full(const unsigned long *src, unsigned long nbits)
{
    unsigned long full = nbits / BITS_PER_LONG;
    unsigned long mask = BITMAP_LAST_WORD_MASK(nbits);

    for (unsigned long i = 0; i < full; i++) {
        if (~src[i]) {
            return false;
        }
    }
    return !(nbits % BITS_PER_LONG) || (src[full] & mask) == mask;
}

bool bitmap_equal(const unsigned long *src1, const unsigned long *src2,
                  unsigned long nbits)
{
    unsigned long full = nbits / BITS_PER_LONG;

    if (memcmp(src1, src2, full * sizeof(unsigned long))) {
        return false;
    }
    return !(nbits % BITS_PER_LONG) ||
           !((src1[full] ^ src2[full]) & BITMAP_LAST_WORD_MASK(nbits));
}

bool bitmap_intersects(const unsigned long *src1, const unsigned long *src2,
                       unsigned long nbits)
{
    unsigned long full = nbits / BITS_PER_LONG;

    for (unsigned long i = 0; i < full; i++) {
        if (src1[i] & src2[i]) {
            return true;
        }
    }
    return (nbits % BITS_PER_LONG) &&
           (src1[full] & src2[full] & BITMAP_LAST_WORD_MASK(nbits));
}

bool bitmap_and(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, unsigned long nbits)
{
    unsigned long n = BITS_TO_LONGS(nbits);
    unsigned long any = 0;

    for (unsigned long i = 0; i < n; i++) {
        dst[i] = src1[i] & src2[i];
        any |= i + 1 < n ? dst[i] : dst[i] & BITMAP_LAST_WORD_MASK(nbits);
    }
    return any != 0;
}

void bitmap_or(unsigned long *dst, const unsigned long *src1,
               const unsigned long *src2, unsigned long nbits)
{
    unsigned long n = BITS_TO_LONGS(nbits);

    for (unsigned long i = 0; i < n; i++) {
        dst[i] = src1[i] | src2[i];
    }
}

void bitmap_xor(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, unsigned long nbits)
{
    unsigned long n = BITS_TO_LONGS(nbits);

    for (unsigned long i = 0; i < n; i++) {
        dst[i] = src1[i] ^ src2[i];
    }
}

bool bitmap_andnot(unsigned long *dst, const unsigned long *src1,
                   const unsigned long *src2, unsigned long nbits)
{
    unsigned long n = BITS_TO_LONGS(nbits);
    unsigned long any = 0;

    for (unsigned long i = 0; i < n; i++) {
        dst[i] = src1[i] & ~src2[i];
        any |= i + 1 < n ? dst[i] : dst[i] & BITMAP_LAST_WORD_MASK(nbits);
    }
    return any != 0;
}

void bitmap_complement(unsigned long *dst, const unsigned long *src,
                       unsigned long nbits)
{
    unsigned long n = BITS_TO_LONGS(nbits);

    for (unsigned long i = 0; i < n; i++) {
        dst[i] = ~src[i];
    }
}

unsigned long bitmap_count_one(const unsigned long *map, unsigned long nbits)
{
    return bitmap_count_one_with_offset(map, 0, nbits);
}

/*
 * The words touched by the bit range [start, start + nr), nr > 0: indexes of
 * the first and last word and the masks of the range's bits inside them.
 * When the range fits in one word, first == last and first_mask already
 * includes the end of the range.
 */
typedef struct BitRangeWords {
    unsigned long first;
    unsigned long last;
    unsigned long first_mask;
    unsigned long last_mask;
} BitRangeWords;

static inline BitRangeWords bit_range_words(unsigned long start,
                                            unsigned long nr)
{
    unsigned long end_bit = start + nr - 1;
    BitRangeWords w = {
        .first = BIT_WORD(start),
        .last = BIT_WORD(end_bit),
        .first_mask = BITMAP_FIRST_WORD_MASK(start),
        .last_mask = ~0UL >> (BITS_PER_LONG - 1 - end_bit % BITS_PER_LONG),
    };

    if (w.first == w.last) {
        w.first_mask &= w.last_mask;
    }
    return w;
}

unsigned long bitmap_count_one_with_offset(const unsigned long *map,
                                           unsigned long offset,
                                           unsigned long nbits)
{
    BitRangeWords w;
    unsigned long count;

    if (!nbits) {
        return 0;
    }
    w = bit_range_words(offset, nbits);
    count = ctpopl(map[w.first] & w.first_mask);
    if (w.first == w.last) {
        return count;
    }
    for (unsigned long i = w.first + 1; i < w.last; i++) {
        count += ctpopl(map[i]);
    }
    return count + ctpopl(map[w.last] & w.last_mask);
}

void bitmap_set(unsigned long *map, unsigned long start, unsigned long nr)
{
    BitRangeWords w;

    if (!nr) {
        return;
    }
    w = bit_range_words(start, nr);
    map[w.first] |= w.first_mask;
    if (w.first != w.last) {
        memset(&map[w.first + 1], 0xff,
               (w.last - w.first - 1) * sizeof(unsigned long));
        map[w.last] |= w.last_mask;
    }
}

void bitmap_clear(unsigned long *map, unsigned long start, unsigned long nr)
{
    BitRangeWords w;

    if (!nr) {
        return;
    }
    w = bit_range_words(start, nr);
    map[w.first] &= ~w.first_mask;
    if (w.first != w.last) {
        memset(&map[w.first + 1], 0,
               (w.last - w.first - 1) * sizeof(unsigned long));
        map[w.last] &= ~w.last_mask;
    }
}

bool bitmap_test_and_clear(unsigned long *map, unsigned long start,
                           unsigned long nr)
{
    BitRangeWords w;
    unsigned long seen;

    if (!nr) {
        return false;
    }
    w = bit_range_words(start, nr);
    seen = map[w.first] & w.first_mask;
    map[w.first] &= ~w.first_mask;
    if (w.first != w.last) {
        for (unsigned long i = w.first + 1; i < w.last; i++) {
            seen |= map[i];
            map[i] = 0;
        }
        seen |= map[w.last] & w.last_mask;
        map[w.last] &= ~w.last_mask;
    }
    return seen != 0;
}

void bitmap_set_atomic(unsigned long *map, unsigned long start,
                       unsigned long nr)
{
    BitRangeWords w;

    if (!nr) {
        return;
    }
    w = bit_range_words(start, nr);
    qatomic_or(&map[w.first], w.first_mask);
    if (w.first != w.last) {
        /*
         * Storing all-ones has the same effect as ORing them in, whatever
         * else happens to the word concurrently, and needs no locked
         * instruction.
         */
        for (unsigned long i = w.first + 1; i < w.last; i++) {
            qatomic_set(&map[i], ~0UL);
        }
        qatomic_or(&map[w.last], w.last_mask);
    }
    smp_mb();
}

/* Atomically clear @mask in *p; return which of those bits were set. */
static inline unsigned long clear_word_atomic(unsigned long *p,
                                              unsigned long mask)
{
    /* Skip the locked operation for words with nothing to clear. */
    if (!(qatomic_read(p) & mask)) {
        return 0;
    }
    if (mask == ~0UL) {
        return qatomic_xchg(p, 0);
    }
    return qatomic_fetch_and(p, ~mask) & mask;
}

bool bitmap_test_and_clear_atomic(unsigned long *map, unsigned long start,
                                  unsigned long nr)
{
    BitRangeWords w;
    unsigned long seen;

    if (!nr) {
        return false;
    }
    w = bit_range_words(start, nr);
    seen = clear_word_atomic(&map[w.first], w.first_mask);
    if (w.first != w.last) {
        for (unsigned long i = w.first + 1; i < w.last; i++) {
            seen |= clear_word_atomic(&map[i], ~0UL);
        }
        seen |= clear_word_atomic(&map[w.last], w.last_mask);
    }
    smp_mb();
    return seen != 0;
}

void bitmap_copy_with_src_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long offset, unsigned long nbits)
{
    unsigned long shift = offset % BITS_PER_LONG;
    unsigned long n = BITS_TO_LONGS(nbits);

    if (!nbits) {
        return;
    }
    src += BIT_WORD(offset);
    if (!shift) {
        memcpy(dst, src, n * sizeof(unsigned long));
    } else {
        /* Index (relative to src) of the word holding the last bit to copy. */
        unsigned long src_last = (shift + nbits - 1) / BITS_PER_LONG;

        for (unsigned long i = 0; i < n; i++) {
            unsigned long v = src[i] >> shift;

            if (i + 1 <= src_last) {
                v |= src[i + 1] << (BITS_PER_LONG - shift);
            }
            dst[i] = v;
        }
    }
    dst[n - 1] &= BITMAP_LAST_WORD_MASK(nbits);
}

void bitmap_copy_with_dst_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long shift, unsigned long nbits)
{
    unsigned long n = BITS_TO_LONGS(nbits);

    dst += BIT_WORD(shift);
    shift %= BITS_PER_LONG;
    for (unsigned long i = 0; i < n; i++) {
        /* The bits of this source word that are part of the copy. */
        unsigned long m = i + 1 < n ? ~0UL : BITMAP_LAST_WORD_MASK(nbits);
        unsigned long v = src[i] & m;

        dst[i] = (dst[i] & ~(m << shift)) | (v << shift);
        if (shift && (m >> (BITS_PER_LONG - shift))) {
            unsigned long hi_mask = m >> (BITS_PER_LONG - shift);

            dst[i + 1] = (dst[i + 1] & ~hi_mask) | (v >> (BITS_PER_LONG - shift));
        }
    }
}

/*
 * bitmap_or_le64_atomic.
 *
 * The source is read in host-word-sized chunks.  On a 64-bit host a chunk is
 * one source word after byte-swapping (a no-op on little-endian hosts); on a
 * 32-bit host a source word holds two chunks, low half first.
 */
#if ULONG_MAX == UINT64_MAX
static inline unsigned long le64_chunk(const uint64_t *src, unsigned long i)
{
    return GUINT64_FROM_LE(src[i]);
}
#define LE64_CHUNKS_PER_WORD 1
#else
static inline unsigned long le64_chunk(const uint64_t *src, unsigned long i)
{
    return (unsigned long)(GUINT64_FROM_LE(src[i / 2]) >> (32 * (i & 1)));
}
#define LE64_CHUNKS_PER_WORD 2
#endif

/*
 * OR @bits into *p unless they are all set already.  Skipping the write is
 * safe: the result is the same as if our OR had happened just before the
 * value we read, and it spares a locked instruction (and a cache line
 * write-back) when the destination is mostly dirty already.
 */
static inline void or_word_atomic(unsigned long *p, unsigned long bits)
{
    if ((qatomic_read(p) & bits) != bits) {
        qatomic_or(p, bits);
    }
}

/*
 * The body, inlined into variants compiled for different instruction sets
 * (see below); @dst already points at the word holding dst_start_bit and
 * @shift is dst_start_bit % BITS_PER_LONG.
 */
static inline __attribute__((always_inline)) unsigned long
or_le64_body(unsigned long *dst, unsigned long shift, const uint64_t *src,
             unsigned long nbits)
{
    unsigned long nchunks = BITS_TO_LONGS(nbits);
    unsigned long tail_mask = BITMAP_LAST_WORD_MASK(nbits);
    unsigned long count = 0;
    unsigned long i = 0;

    while (i < nchunks) {
        unsigned long w;

        /*
         * Sparse bitmaps: skip four zero source words with one test (zero
         * reads the same in either byte order).  A zero block may include
         * the last, partial chunk: masking zero gives zero, so only the
         * bound matters, the block must lie inside the array.
         */
        if ((i % LE64_CHUNKS_PER_WORD) == 0 &&
            i + 4 * LE64_CHUNKS_PER_WORD <= nchunks) {
            const uint64_t *s = &src[i / LE64_CHUNKS_PER_WORD];

            if (!(s[0] | s[1] | s[2] | s[3])) {
                i += 4 * LE64_CHUNKS_PER_WORD;
                continue;
            }
        }
        w = le64_chunk(src, i);
        if (i == nchunks - 1) {
            w &= tail_mask;
        }
        if (w) {
            count += ctpopl(w);
            if (!shift) {
                or_word_atomic(&dst[i], w);
            } else {
                unsigned long hi = w >> (BITS_PER_LONG - shift);

                or_word_atomic(&dst[i], w << shift);
                /* Only touch the next word when bits land there. */
                if (hi) {
                    or_word_atomic(&dst[i + 1], hi);
                }
            }
        }
        i++;
    }
    return count;
}

typedef unsigned long OrLe64Fn(unsigned long *, unsigned long,
                               const uint64_t *, unsigned long);

static unsigned long or_le64_generic(unsigned long *dst, unsigned long shift,
                                     const uint64_t *src, unsigned long nbits)
{
    return or_le64_body(dst, shift, src, nbits);
}

#if defined(__x86_64__) && !defined(__POPCNT__)
/*
 * The baseline x86-64 ISA has no POPCNT, so the generic build counts bits
 * in a libgcc loop; every x86-64 CPU from the last fifteen years has the
 * instruction, and counting is a large part of the cost on dense bitmaps.
 */
static unsigned long __attribute__((target("popcnt")))
or_le64_popcnt(unsigned long *dst, unsigned long shift, const uint64_t *src,
               unsigned long nbits)
{
    return or_le64_body(dst, shift, src, nbits);
}

static OrLe64Fn *or_le64_select(void)
{
    static OrLe64Fn *fn;
    OrLe64Fn *f = qatomic_read(&fn);

    if (!f) {
        __builtin_cpu_init();
        f = __builtin_cpu_supports("popcnt") ? or_le64_popcnt : or_le64_generic;
        qatomic_set(&fn, f);
    }
    return f;
}
#else
static inline OrLe64Fn *or_le64_select(void)
{
    return or_le64_generic;
}
#endif

unsigned long bitmap_or_le64_atomic(unsigned long *dst,
                                    unsigned long dst_start_bit,
                                    const uint64_t *src_le,
                                    unsigned long nbits)
{
    if (!nbits) {
        return 0;
    }
    return or_le64_select()(dst + BIT_WORD(dst_start_bit),
                            dst_start_bit % BITS_PER_LONG, src_le, nbits);
}
