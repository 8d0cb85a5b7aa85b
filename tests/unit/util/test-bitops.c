/*
 * Single-word bit helpers (qemu/bitops.h) and atomics (qemu/atomic.h).
 */
#include "qemu/osdep.h"
#include "qemu/bitops.h"

static void test_count_helpers_defined_for_zero(void)
{
    g_assert_cmpint(ctz32(0), ==, 32);
    g_assert_cmpint(ctz64(0), ==, 64);
    g_assert_cmpint(clz32(0), ==, 32);
    g_assert_cmpint(clz64(0), ==, 64);
    g_assert_cmpint(ctzl(0), ==, (int)BITS_PER_LONG);
    g_assert_cmpint(clzl(0), ==, (int)BITS_PER_LONG);
    g_assert_cmpint(cto32(~0U), ==, 32);
    g_assert_cmpint(cto64(~0ULL), ==, 64);
    g_assert_cmpint(clo64(~0ULL), ==, 64);
    g_assert_cmpint(ctpop64(0), ==, 0);
}

static void test_count_helpers(void)
{
    g_assert_cmpint(ctz32(0x80000000u), ==, 31);
    g_assert_cmpint(ctz64(1ULL << 40), ==, 40);
    g_assert_cmpint(cto64(0x7), ==, 3);
    g_assert_cmpint(clz32(1), ==, 31);
    g_assert_cmpint(clz64(1ULL << 40), ==, 23);
    g_assert_cmpint(clo32(0xf0000000u), ==, 4);
    g_assert_cmpint(ctpop32(0xf0f0f0f0u), ==, 16);
    g_assert_cmpint(ctpop64(~0ULL), ==, 64);
    g_assert_cmpint(ctpopl(~0UL), ==, (int)BITS_PER_LONG);
}

static void test_pow2_helpers(void)
{
    g_assert_true(is_power_of_2(1));
    g_assert_true(is_power_of_2(1ULL << 63));
    g_assert_false(is_power_of_2(0));
    g_assert_false(is_power_of_2(6));
    g_assert_cmphex(pow2floor(0), ==, 0);
    g_assert_cmphex(pow2floor(1), ==, 1);
    g_assert_cmphex(pow2floor(0x1fff), ==, 0x1000);
    g_assert_cmphex(pow2floor(~0ULL), ==, 1ULL << 63);
    g_assert_cmphex(pow2ceil(0), ==, 1);
    g_assert_cmphex(pow2ceil(1), ==, 1);
    g_assert_cmphex(pow2ceil(0x1001), ==, 0x2000);
    g_assert_cmphex(pow2ceil(1ULL << 63), ==, 1ULL << 63);
    g_assert_cmphex(pow2ceil((1ULL << 63) + 1), ==, 0);
}

static void test_extract_deposit(void)
{
    g_assert_cmphex(extract64(0x123456789abcdef0ULL, 8, 16), ==, 0xbcde);
    g_assert_cmphex(extract64(~0ULL, 0, 64), ==, ~0ULL);
    g_assert_cmphex(extract32(0xdeadbeef, 28, 4), ==, 0xd);
    g_assert_cmphex(deposit64(0, 60, 4, 0xff), ==, 0xf000000000000000ULL);
    g_assert_cmphex(deposit32(0xffffffff, 4, 8, 0), ==, 0xfffff00f);
    g_assert_cmphex(MAKE_64BIT_MASK(4, 8), ==, 0xff0);
    g_assert_cmphex(rol64(0x8000000000000001ULL, 1), ==, 3);
    g_assert_cmphex(ror64(3, 1), ==, 0x8000000000000001ULL);
}

static void test_single_bits(void)
{
    unsigned long map[3] = { 0 };
    unsigned long nr = BITS_PER_LONG + 5;

    g_assert_cmpuint(BITS_TO_LONGS(0), ==, 0);
    g_assert_cmpuint(BITS_TO_LONGS(1), ==, 1);
    g_assert_cmpuint(BITS_TO_LONGS(BITS_PER_LONG + 1), ==, 2);
    g_assert_cmpuint(BITS_TO_LONGS(ULONG_MAX), ==, ULONG_MAX / BITS_PER_LONG + 1);
    set_bit(nr, map);
    g_assert_cmphex(map[1], ==, 1UL << 5);
    g_assert_true(test_bit(nr, map));
    g_assert_true(test_and_clear_bit(nr, map));
    g_assert_false(test_and_clear_bit(nr, map));
    g_assert_false(test_and_set_bit(nr, map));
    g_assert_true(test_and_set_bit(nr, map));
    change_bit(nr, map);
    g_assert_false(test_bit(nr, map));
    g_assert_false(test_and_change_bit(nr, map));
    g_assert_true(test_bit(nr, map));
    clear_bit(nr, map);
    set_bit_atomic(2 * BITS_PER_LONG + 1, map);
    g_assert_cmphex(map[2], ==, 2);
    g_assert_true(test_and_clear_bit_atomic(2 * BITS_PER_LONG + 1, map));
    g_assert_false(test_and_set_bit_atomic(0, map));
    clear_bit_atomic(0, map);
    g_assert_cmphex(map[0] | map[1] | map[2], ==, 0);
}

static void test_atomic_rmw_return_values(void)
{
    unsigned long v = 5;
    uint32_t u = 0xf0;
    int i = 0;

    g_assert_cmpuint(qatomic_xchg(&v, 7), ==, 5);
    g_assert_cmpuint(qatomic_cmpxchg(&v, 6, 9), ==, 7);    /* fails */
    g_assert_cmpuint(qatomic_read(&v), ==, 7);
    g_assert_cmpuint(qatomic_cmpxchg(&v, 7, 9), ==, 7);    /* succeeds */
    g_assert_cmpuint(qatomic_read(&v), ==, 9);
    g_assert_cmphex(qatomic_fetch_or(&u, 0x0f), ==, 0xf0);
    g_assert_cmphex(qatomic_fetch_and(&u, 0x3c), ==, 0xff);
    g_assert_cmphex(qatomic_fetch_xor(&u, 0xff), ==, 0x3c);
    g_assert_cmphex(qatomic_or_fetch(&u, 1), ==, 0xc3);
    g_assert_cmphex(qatomic_and_fetch(&u, 0xf), ==, 0x3);
    qatomic_or(&u, 0x100);
    qatomic_and(&u, 0x101);
    g_assert_cmphex(u, ==, 0x101);
    g_assert_cmpint(qatomic_fetch_inc(&i), ==, 0);
    g_assert_cmpint(qatomic_inc_fetch(&i), ==, 2);
    g_assert_cmpint(qatomic_fetch_dec(&i), ==, 2);
    g_assert_cmpint(qatomic_dec_fetch(&i), ==, 0);
    qatomic_inc(&i);
    qatomic_add(&i, 10);
    qatomic_sub(&i, 3);
    qatomic_dec(&i);
    g_assert_cmpint(qatomic_read(&i), ==, 7);
    qatomic_set(&i, -1);
    qatomic_store_release(&v, 1);
    smp_mb();
    g_assert_cmpint(qatomic_load_acquire(&i), ==, -1);
}

#define INC_THREADS 4
#define INC_ROUNDS 100000

static gpointer incrementer(gpointer opaque)
{
    long *counter = opaque;

    for (int n = 0; n < INC_ROUNDS; n++) {
        qatomic_inc(counter);
        /* A cmpxchg loop adding one more, to exercise contention. */
        for (;;) {
            long old = qatomic_read(counter);

            if (qatomic_cmpxchg(counter, old, old + 1) == old) {
                break;
            }
        }
    }
    return NULL;
}

static void test_atomic_increments_are_not_lost(void)
{
    GThread *t[INC_THREADS];
    long counter = 0;

    for (int n = 0; n < INC_THREADS; n++) {
        t[n] = g_thread_new("inc", incrementer, &counter);
    }
    for (int n = 0; n < INC_THREADS; n++) {
        g_thread_join(t[n]);
    }
    g_assert_cmpint(counter, ==, 2L * INC_THREADS * INC_ROUNDS);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/bitops/count-helpers-defined-for-zero",
                    test_count_helpers_defined_for_zero);
    g_test_add_func("/util/bitops/count-helpers", test_count_helpers);
    g_test_add_func("/util/bitops/pow2-helpers", test_pow2_helpers);
    g_test_add_func("/util/bitops/extract-deposit", test_extract_deposit);
    g_test_add_func("/util/bitops/single-bits", test_single_bits);
    g_test_add_func("/util/atomic/rmw-return-old-or-new-value",
                    test_atomic_rmw_return_values);
    g_test_add_func("/util/atomic/increments-are-not-lost",
                    test_atomic_increments_are_not_lost);
    return g_test_run();
}
