/*
 * Bit searches over arrays of unsigned long (see include/qemu/bitops.h).
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"

/*
 * Shared by find_next_bit and find_next_zero_bit: @invert is 0 to look for
 * ones and ~0UL to look for zeroes, so one loop serves both.
 */
static inline unsigned long find_next_common(const unsigned long *addr,
                                             unsigned long size,
                                             unsigned long offset,
                                             unsigned long invert)
{
    unsigned long idx, last, word;

    if (offset >= size) {
        return size;
    }
    idx = BIT_WORD(offset);
    last = BIT_WORD(size - 1);
    word = (addr[idx] ^ invert) & BITMAP_FIRST_WORD_MASK(offset);
    while (idx < last) {
        if (word) {
            return idx * BITS_PER_LONG + __builtin_ctzl(word);
        }
        word = addr[++idx] ^ invert;
    }
    /* The last word: bits at or beyond @size are not ours to report. */
    word &= BITMAP_LAST_WORD_MASK(size);
    return word ? idx * BITS_PER_LONG + __builtin_ctzl(word) : size;
}

unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
                            unsigned long offset)
{
    return find_next_common(addr, size, offset, 0);
}

unsigned long find_next_zero_bit(const unsigned long *addr, unsigned long size,
                                 unsigned long offset)
{
    return find_next_common(addr, size, offset, ~0UL);
}

unsigned long find_last_bit(const unsigned long *addr, unsigned long size)
{
    unsigned long idx;
    unsigned long word;

    if (!size) {
        return size;
    }
    idx = BIT_WORD(size - 1);
    word = addr[idx] & BITMAP_LAST_WORD_MASK(size);
    for (;;) {
        if (word) {
            return idx * BITS_PER_LONG + BITS_PER_LONG - 1 - __builtin_clzl(word);
        }
        if (!idx) {
            return size;
        }
        word = addr[--idx];
    }
}
