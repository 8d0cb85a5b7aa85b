/*
 * Bit operations on single words and on arrays of unsigned long.
 *
 * Bit @nr of an array lives in word BIT_WORD(nr) at position nr % BITS_PER_LONG
 * (host order), which is the layout of every bitmap in Aperture (see
 * qemu/bitmap.h for whole-bitmap operations).
 *
 * The plain forms (set_bit, clear_bit, ...) are not atomic: the caller must
 * own the word.  The *_atomic forms may race with other atomic updates of the
 * same word.
 */
#ifndef QEMU_BITOPS_H
#define QEMU_BITOPS_H

#include "qemu/atomic.h"

#define BITS_PER_BYTE           CHAR_BIT
#define BITS_PER_LONG           (sizeof(unsigned long) * BITS_PER_BYTE)

#define BIT(nr)                 (1UL << (nr))
#define BIT_ULL(nr)             (1ULL << (nr))
/* Mask of bit @nr inside its word, and the index of that word. */
#define BIT_MASK(nr)            (1UL << ((nr) % BITS_PER_LONG))
#define BIT_WORD(nr)            ((nr) / BITS_PER_LONG)
/* Words needed for @nr bits; written so that nr near ULONG_MAX cannot wrap. */
#define BITS_TO_LONGS(nr)       ((nr) / BITS_PER_LONG + !!((nr) % BITS_PER_LONG))

/* @length ones starting at bit @shift; 0 < length, shift + length <= 64. */
#define MAKE_64BIT_MASK(shift, length) \
    (((~0ULL) >> (64 - (length))) << (shift))

/*
 * Counting helpers.  Unlike the compiler builtins they are defined for 0:
 * ctz and clz of 0 return the width of the type, ctpop counts ones.
 */
static inline int ctz32(uint32_t val)
{
    return val ? __builtin_ctz(val) : 32;
}

static inline int cto32(uint32_t val)
{
    return ctz32(~val);
}

static inline int ctz64(uint64_t val)
{
    return val ? __builtin_ctzll(val) : 64;
}

static inline int cto64(uint64_t val)
{
    return ctz64(~val);
}

static inline int clz32(uint32_t val)
{
    return val ? __builtin_clz(val) : 32;
}

static inline int clo32(uint32_t val)
{
    return clz32(~val);
}

static inline int clz64(uint64_t val)
{
    return val ? __builtin_clzll(val) : 64;
}

static inline int clo64(uint64_t val)
{
    return clz64(~val);
}

static inline int ctpop32(uint32_t val)
{
    return __builtin_popcount(val);
}

static inline int ctpop64(uint64_t val)
{
    return __builtin_popcountll(val);
}

static inline int ctzl(unsigned long val)
{
    return val ? __builtin_ctzl(val) : (int)BITS_PER_LONG;
}

static inline int clzl(unsigned long val)
{
    return val ? __builtin_clzl(val) : (int)BITS_PER_LONG;
}

static inline int ctpopl(unsigned long val)
{
    return __builtin_popcountl(val);
}

/* Index of the least significant set bit; undefined for 0 (check first). */
static inline unsigned long find_first_bit_in_word(unsigned long word)
{
    return __builtin_ctzl(word);
}

static inline bool is_power_of_2(uint64_t value)
{
    return value && !(value & (value - 1));
}

/* Largest power of two <= @value (0 for 0). */
static inline uint64_t pow2floor(uint64_t value)
{
    return value ? 1ULL << (63 - clz64(value)) : 0;
}

/* Smallest power of two >= @value (1 for 0; 0 if it does not fit). */
static inline uint64_t pow2ceil(uint64_t value)
{
    int n = clz64(value - 1);

    if (!n) {
        /* value - 1 >= 2^63, or value == 0 (value - 1 == ~0) */
        return !value;
    }
    return 1ULL << (64 - n);
}

/* Bit field [start, start + length) of @value, right-aligned. */
static inline uint64_t extract64(uint64_t value, int start, int length)
{
    assert(start >= 0 && length > 0 && length <= 64 - start);
    return (value >> start) & (~0ULL >> (64 - length));
}

static inline uint32_t extract32(uint32_t value, int start, int length)
{
    assert(start >= 0 && length > 0 && length <= 32 - start);
    return (value >> start) & (~0U >> (32 - length));
}

/* @value with bit field [start, start + length) replaced by @fieldval. */
static inline uint64_t deposit64(uint64_t value, int start, int length,
                                 uint64_t fieldval)
{
    uint64_t mask;

    assert(start >= 0 && length > 0 && length <= 64 - start);
    mask = (~0ULL >> (64 - length)) << start;
    return (value & ~mask) | ((fieldval << start) & mask);
}

static inline uint32_t deposit32(uint32_t value, int start, int length,
                                 uint32_t fieldval)
{
    uint32_t mask;

    assert(start >= 0 && length > 0 && length <= 32 - start);
    mask = (~0U >> (32 - length)) << start;
    return (value & ~mask) | ((fieldval << start) & mask);
}

static inline uint64_t rol64(uint64_t word, unsigned int shift)
{
    return (word << (shift & 63)) | (word >> ((64 - shift) & 63));
}

static inline uint64_t ror64(uint64_t word, unsigned int shift)
{
    return (word >> (shift & 63)) | (word << ((64 - shift) & 63));
}

/* Single bits of an array, not atomic. */
static inline void set_bit(unsigned long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void clear_bit(unsigned long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

static inline void change_bit(unsigned long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] ^= BIT_MASK(nr);
}

static inline bool test_bit(unsigned long nr, const unsigned long *addr)
{
    return (addr[BIT_WORD(nr)] >> (nr % BITS_PER_LONG)) & 1;
}

/* Return the old value of the bit. */
static inline bool test_and_set_bit(unsigned long nr, unsigned long *addr)
{
    unsigned long *p = addr + BIT_WORD(nr);
    unsigned long old = *p;

    *p = old | BIT_MASK(nr);
    return old & BIT_MASK(nr);
}

static inline bool test_and_clear_bit(unsigned long nr, unsigned long *addr)
{
    unsigned long *p = addr + BIT_WORD(nr);
    unsigned long old = *p;

    *p = old & ~BIT_MASK(nr);
    return old & BIT_MASK(nr);
}

static inline bool test_and_change_bit(unsigned long nr, unsigned long *addr)
{
    unsigned long *p = addr + BIT_WORD(nr);
    unsigned long old = *p;

    *p = old ^ BIT_MASK(nr);
    return old & BIT_MASK(nr);
}

/* Single bits, atomic against other atomic updates of the same word. */
static inline void set_bit_atomic(unsigned long nr, unsigned long *addr)
{
    qatomic_or(&addr[BIT_WORD(nr)], BIT_MASK(nr));
}

static inline void clear_bit_atomic(unsigned long nr, unsigned long *addr)
{
    qatomic_and(&addr[BIT_WORD(nr)], ~BIT_MASK(nr));
}

static inline bool test_and_set_bit_atomic(unsigned long nr, unsigned long *addr)
{
    return qatomic_fetch_or(&addr[BIT_WORD(nr)], BIT_MASK(nr)) & BIT_MASK(nr);
}

static inline bool test_and_clear_bit_atomic(unsigned long nr,
                                             unsigned long *addr)
{
    return qatomic_fetch_and(&addr[BIT_WORD(nr)], ~BIT_MASK(nr)) & BIT_MASK(nr);
}

/*
 * Searches over the first @size bits of @addr.  Each returns the index of the
 * bit found, or @size when there is none.  Bits at or beyond @size are never
 * looked at, so the last word may hold garbage there.
 */

/* First set bit at index >= @offset. */
unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
                            unsigned long offset);
/* First clear bit at index >= @offset. */
unsigned long find_next_zero_bit(const unsigned long *addr, unsigned long size,
                                 unsigned long offset);
/* Highest set bit. */
unsigned long find_last_bit(const unsigned long *addr, unsigned long size);

static inline unsigned long find_first_bit(const unsigned long *addr,
                                           unsigned long size)
{
    unsigned long i;

    /* Scan whole words inline: the common caller has a small bitmap. */
    for (i = 0; i + BITS_PER_LONG <= size; i += BITS_PER_LONG) {
        unsigned long w = addr[i / BITS_PER_LONG];

        if (w) {
            return i + __builtin_ctzl(w);
        }
    }
    return i < size ? find_next_bit(addr, size, i) : size;
}

static inline unsigned long find_first_zero_bit(const unsigned long *addr,
                                                unsigned long size)
{
    return find_next_zero_bit(addr, size, 0);
}

#endif /* QEMU_BITOPS_H */
