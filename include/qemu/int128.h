/*
 * 128-bit integer arithmetic for address ranges.
 *
 * The memory core has to describe the whole 64-bit physical address space,
 * whose size (2^64) does not fit in a uint64_t, and alias arithmetic may go
 * transiently negative.  A signed 128-bit integer covers both without
 * special cases, so every range size and range end is an Int128.
 *
 * GCC and Clang provide __int128 on every 64-bit host Aperture supports; the
 * helpers exist so call sites read as range arithmetic and so that a value
 * leaving the 128-bit world (int128_get64) is checked in one place.
 */
#ifndef QEMU_INT128_H
#define QEMU_INT128_H

#include "qemu/osdep.h"

typedef __int128 Int128;

static inline Int128 int128_make64(uint64_t a)
{
    return (Int128)a;
}

static inline Int128 int128_makes64(int64_t a)
{
    return (Int128)a;
}

/* Build a value from its low and high 64-bit halves. */
static inline Int128 int128_make128(uint64_t lo, uint64_t hi)
{
    return (Int128)(((unsigned __int128)hi << 64) | lo);
}

/*
 * The value as a uint64_t.  Callers only use this on values they know to be
 * in [0, 2^64): a value outside is a bug in the memory core, not bad input.
 */
static inline uint64_t int128_get64(Int128 a)
{
    uint64_t r = (uint64_t)a;

    assert(r == a);
    return r;
}

/* Low 64 bits, without a range check. */
static inline uint64_t int128_getlo(Int128 a)
{
    return (uint64_t)a;
}

/* High 64 bits, as a signed value. */
static inline int64_t int128_gethi(Int128 a)
{
    return (int64_t)(a >> 64);
}

static inline Int128 int128_zero(void)
{
    return 0;
}

static inline Int128 int128_one(void)
{
    return 1;
}

/* 2^64: the size of the whole physical address space. */
static inline Int128 int128_2_64(void)
{
    return (Int128)1 << 64;
}

/* Sign-extend a 64-bit value. */
static inline Int128 int128_exts64(int64_t a)
{
    return a;
}

static inline Int128 int128_not(Int128 a)
{
    return ~a;
}

static inline Int128 int128_and(Int128 a, Int128 b)
{
    return a & b;
}

static inline Int128 int128_or(Int128 a, Int128 b)
{
    return a | b;
}

static inline Int128 int128_xor(Int128 a, Int128 b)
{
    return a ^ b;
}

/* Arithmetic shift right by @n (0 <= n < 128). */
static inline Int128 int128_rshift(Int128 a, int n)
{
    return a >> n;
}

/* Logical shift right by @n (0 <= n < 128). */
static inline Int128 int128_urshift(Int128 a, int n)
{
    return (Int128)((unsigned __int128)a >> n);
}

/* Shift left by @n (0 <= n < 128). */
static inline Int128 int128_lshift(Int128 a, int n)
{
    return (Int128)((unsigned __int128)a << n);
}

static inline Int128 int128_add(Int128 a, Int128 b)
{
    return a + b;
}

static inline Int128 int128_neg(Int128 a)
{
    return -a;
}

static inline Int128 int128_sub(Int128 a, Int128 b)
{
    return a - b;
}

static inline bool int128_nonneg(Int128 a)
{
    return a >= 0;
}

static inline bool int128_eq(Int128 a, Int128 b)
{
    return a == b;
}

static inline bool int128_ne(Int128 a, Int128 b)
{
    return a != b;
}

static inline bool int128_ge(Int128 a, Int128 b)
{
    return a >= b;
}

static inline bool int128_uge(Int128 a, Int128 b)
{
    return (unsigned __int128)a >= (unsigned __int128)b;
}

static inline bool int128_lt(Int128 a, Int128 b)
{
    return a < b;
}

static inline bool int128_ult(Int128 a, Int128 b)
{
    return (unsigned __int128)a < (unsigned __int128)b;
}

static inline bool int128_le(Int128 a, Int128 b)
{
    return a <= b;
}

static inline bool int128_gt(Int128 a, Int128 b)
{
    return a > b;
}

/* True when @a is not zero. */
static inline bool int128_nz(Int128 a)
{
    return a != 0;
}

static inline Int128 int128_min(Int128 a, Int128 b)
{
    return a < b ? a : b;
}

static inline Int128 int128_max(Int128 a, Int128 b)
{
    return a > b ? a : b;
}

static inline void int128_addto(Int128 *a, Int128 b)
{
    *a += b;
}

static inline void int128_subfrom(Int128 *a, Int128 b)
{
    *a -= b;
}

/* Byte-swap all 16 bytes. */
static inline Int128 int128_bswap(Int128 a)
{
    uint64_t lo = __builtin_bswap64(int128_getlo(a));
    uint64_t hi = __builtin_bswap64((uint64_t)int128_gethi(a));

    return int128_make128(hi, lo);
}

#endif /* QEMU_INT128_H */
