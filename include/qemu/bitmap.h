/*
 * Bitmaps: arrays of unsigned long, bit i in word i / BITS_PER_LONG at
 * position i % BITS_PER_LONG (see qemu/bitops.h).
 *
 * A bitmap of @nbits bits occupies BITS_TO_LONGS(nbits) words.  Functions
 * that read a bitmap ignore the bits of the last word at or beyond @nbits;
 * functions that write whole words (copy, and, or, ...) may write them.
 * bitmap_new, bitmap_zero and bitmap_fill leave them clear.
 *
 * Nothing here is atomic except the *_atomic functions, which may run
 * concurrently with each other and with set_bit_atomic() and friends on the
 * same bitmap.  Each is atomic per word, not over its whole range.
 */
#ifndef QEMU_BITMAP_H
#define QEMU_BITMAP_H

#include "qemu/bitops.h"

/* Mask of the bits at or above @start inside the word holding @start. */
#define BITMAP_FIRST_WORD_MASK(start) (~0UL << ((start) & (BITS_PER_LONG - 1)))
/*
 * Mask of the valid bits in the last word of an @nbits-bit bitmap
 * (all ones when nbits is a multiple of BITS_PER_LONG).
 */
#define BITMAP_LAST_WORD_MASK(nbits) (~0UL >> (-(nbits) & (BITS_PER_LONG - 1)))

/* A bitmap of @bits bits as an array (stack or struct member). */
#define DECLARE_BITMAP(name, bits) unsigned long name[BITS_TO_LONGS(bits)]

/*
 * A zeroed bitmap of @nbits bits; free with g_free().  bitmap_new aborts when
 * memory runs out, like g_new; use bitmap_try_new for bitmaps whose size comes
 * from outside (guest RAM size, a device's report), which returns NULL instead.
 * Both return a valid allocation for nbits == 0.
 */
unsigned long *bitmap_new(unsigned long nbits);
unsigned long *bitmap_try_new(unsigned long nbits);

/*
 * Resize @map (from bitmap_new or NULL) from @old_nbits to @new_nbits bits;
 * bits [old_nbits, new_nbits) come out clear.  Aborts on OOM like g_renew.
 */
unsigned long *bitmap_zero_extend(unsigned long *map, unsigned long old_nbits,
                                  unsigned long new_nbits);

/* Bytes occupied by an @nbits-bit bitmap. */
static inline size_t bitmap_size_bytes(unsigned long nbits)
{
    return BITS_TO_LONGS(nbits) * sizeof(unsigned long);
}

/* Whole-bitmap operations on [0, nbits). */
static inline void bitmap_zero(unsigned long *dst, unsigned long nbits)
{
    memset(dst, 0, bitmap_size_bytes(nbits));
}

void bitmap_fill(unsigned long *dst, unsigned long nbits);

static inline void bitmap_copy(unsigned long *dst, const unsigned long *src,
                               unsigned long nbits)
{
    memcpy(dst, src, bitmap_size_bytes(nbits));
}

bool bitmap_empty(const unsigned long *src, unsigned long nbits);
bool bitmap_full(const unsigned long *src, unsigned long nbits);
bool bitmap_equal(const unsigned long *src1, const unsigned long *src2,
                  unsigned long nbits);
/* Whether the two bitmaps have a set bit in common. */
bool bitmap_intersects(const unsigned long *src1, const unsigned long *src2,
                       unsigned long nbits);

/*
 * dst = src1 OP src2, word by word (dst may alias a source).  bitmap_and and
 * bitmap_andnot return whether the result has any bit set in [0, nbits).
 */
bool bitmap_and(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, unsigned long nbits);
void bitmap_or(unsigned long *dst, const unsigned long *src1,
               const unsigned long *src2, unsigned long nbits);
void bitmap_xor(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, unsigned long nbits);
/* dst = src1 & ~src2 */
bool bitmap_andnot(unsigned long *dst, const unsigned long *src1,
                   const unsigned long *src2, unsigned long nbits);
void bitmap_complement(unsigned long *dst, const unsigned long *src,
                       unsigned long nbits);

/* Number of set bits in [0, nbits). */
unsigned long bitmap_count_one(const unsigned long *map, unsigned long nbits);
/* Number of set bits in [offset, offset + nbits). */
unsigned long bitmap_count_one_with_offset(const unsigned long *map,
                                           unsigned long offset,
                                           unsigned long nbits);

/*
 * Range operations on [start, start + nr): the partial words at the ends
 * are masked, the words in between are written whole.
 */
void bitmap_set(unsigned long *map, unsigned long start, unsigned long nr);
void bitmap_clear(unsigned long *map, unsigned long start, unsigned long nr);
/* Clear the range; return whether any of its bits was set. */
bool bitmap_test_and_clear(unsigned long *map, unsigned long start,
                           unsigned long nr);

/*
 * Atomic range operations.  Each word is updated with one atomic operation,
 * so concurrent setters and clearers never lose each other's bits, and a
 * full barrier follows the last update (a reader that then sees a flag the
 * caller publishes also sees the bits).
 */
void bitmap_set_atomic(unsigned long *map, unsigned long start,
                       unsigned long nr);
/*
 * Clear the range and return whether any of its bits was set; every bit
 * reported is cleared exactly once even with concurrent callers.
 */
bool bitmap_test_and_clear_atomic(unsigned long *map, unsigned long start,
                                  unsigned long nr);

/*
 * dst[0, nbits) = src[offset, offset + nbits).  Bits of @dst at or beyond
 * @nbits in its last word are cleared.  Reads no word of @src past the one
 * holding bit offset + nbits - 1.
 */
void bitmap_copy_with_src_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long offset, unsigned long nbits);
/*
 * dst[shift, shift + nbits) = src[0, nbits).  Every other bit of @dst keeps
 * its value.  @dst and @src must not overlap.
 */
void bitmap_copy_with_dst_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long shift, unsigned long nbits);

/*
 * bitmap_or_le64_atomic:
 * @dst: host bitmap to update
 * @dst_start_bit: bit of @dst that receives bit 0 of @src_le
 * @src_le: bitmap as an array of little-endian 64-bit words: bit i is bit
 *          i % 64 of le64_to_cpu(src_le[i / 64]).  This is the layout of the
 *          dirty bitmaps the Linux VFIO and KVM interfaces return.
 * @nbits: number of bits of @src_le to use
 *
 * For each i < @nbits set in @src_le, set bit @dst_start_bit + i of @dst.
 * Bits of @src_le at or beyond @nbits are ignored (they may be garbage), and
 * no word of @src_le past DIV_ROUND_UP(nbits, 64) is read; no word of @dst
 * outside the target range is written.
 *
 * Each destination word is updated with one atomic OR, so this may run
 * concurrently with other atomic bitmap operations (a migration thread
 * clearing bits with bitmap_test_and_clear_atomic, say) without losing bits.
 * A word whose new bits are all already set is left unwritten, which saves
 * the locked operation when dst is mostly set, and zero source words cost a
 * load and a test, which keeps sparse bitmaps cheap.  When @dst_start_bit is
 * a multiple of BITS_PER_LONG, source words map to destination words whole;
 * otherwise each source word is split across two destination words.
 *
 * Returns: the number of bits set in the first @nbits bits of @src_le (dirty
 * pages reported), whether or not they were already set in @dst.
 */
unsigned long bitmap_or_le64_atomic(unsigned long *dst,
                                    unsigned long dst_start_bit,
                                    const uint64_t *src_le,
                                    unsigned long nbits);

#endif /* QEMU_BITMAP_H */
