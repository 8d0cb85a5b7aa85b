/*
 * Bitmap operations (qemu/bitmap.h) checked against a bool-per-bit model.
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"

#ifdef CONFIG_SANITIZERS
/* Let the huge-allocation test see NULL instead of an ASan report. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
#endif

/* A bitmap of test-chosen size with its model. */
typedef struct Model {
    unsigned long nbits;
    unsigned long *map;
    bool *bits;
} Model;

static void model_init(Model *m, unsigned long nbits)
{
    m->nbits = nbits;
    /* Exactly the words the bitmap needs, so ASan/valgrind see overruns. */
    m->map = g_new0(unsigned long, MAX(BITS_TO_LONGS(nbits), 1));
    m->bits = g_new0(bool, nbits + 1);
}

static void model_destroy(Model *m)
{
    g_free(m->map);
    g_free(m->bits);
}

static void model_randomize(Model *m, GRand *r, int density_pct)
{
    for (unsigned long i = 0; i < m->nbits; i++) {
        m->bits[i] = g_rand_int_range(r, 0, 100) < density_pct;
        if (m->bits[i]) {
            set_bit(i, m->map);
        } else {
            clear_bit(i, m->map);
        }
    }
}

static void model_check(const Model *m)
{
    for (unsigned long i = 0; i < m->nbits; i++) {
        if (test_bit(i, m->map) != m->bits[i]) {
            g_test_message("bit %lu of %lu: expected %d, got %d", i, m->nbits,
                           m->bits[i], test_bit(i, m->map));
            g_assert_not_reached();
        }
    }
}

static void test_new_is_zeroed(void)
{
    for (unsigned long n = 0; n < 300; n += 37) {
        g_autofree unsigned long *map = bitmap_new(n);

        g_assert_nonnull(map);
        g_assert_true(bitmap_empty(map, n));
        g_assert_cmpuint(find_first_bit(map, n), ==, n);
    }
}

static void test_try_new_huge_returns_null(void)
{
    /* 2^61 bytes: no host has that, and bitmap_try_new must not abort. */
    unsigned long *map = bitmap_try_new(ULONG_MAX);

    g_assert_null(map);
}

static void test_zero_extend_clears_new_bits(void)
{
    unsigned long *map = bitmap_new(70);

    bitmap_fill(map, 70);
    /* Garbage beyond the old end must not leak into the new bits. */
    map[1] |= ~0UL;
    map = bitmap_zero_extend(map, 70, 300);
    g_assert_cmpuint(bitmap_count_one(map, 300), ==, 70);
    g_assert_cmpuint(find_next_bit(map, 300, 70), ==, 300);
    g_free(map);
}

static void test_fill_zero_full_empty(void)
{
    for (unsigned long n = 1; n < 200; n++) {
        g_autofree unsigned long *map = bitmap_new(n);

        bitmap_fill(map, n);
        g_assert_true(bitmap_full(map, n));
        g_assert_false(bitmap_empty(map, n));
        g_assert_cmpuint(bitmap_count_one(map, n), ==, n);
        /* bitmap_fill leaves the bits past the end clear. */
        if (n % BITS_PER_LONG) {
            g_assert_cmphex(map[n / BITS_PER_LONG] & ~BITMAP_LAST_WORD_MASK(n), ==, 0);
        }
        clear_bit(n - 1, map);
        g_assert_false(bitmap_full(map, n));
        bitmap_zero(map, n);
        g_assert_true(bitmap_empty(map, n));
    }
}

static void test_tail_bits_are_ignored(void)
{
    unsigned long a[2] = { 0, ~0UL << 3 };
    unsigned long b[2] = { ~0UL, (1UL << 3) - 1 };
    unsigned long n = BITS_PER_LONG + 3;

    g_assert_true(bitmap_empty(a, n));
    g_assert_true(bitmap_full(b, n));
    b[0] = 0;
    b[1] = 0;
    g_assert_true(bitmap_equal(a, b, n));
    g_assert_cmpuint(bitmap_count_one(a, n), ==, 0);
    g_assert_cmpuint(find_first_bit(a, n), ==, n);
    g_assert_cmpuint(find_last_bit(a, n), ==, n);
}

static void test_logic_ops_match_model(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(1);

    for (int iter = 0; iter < 200; iter++) {
        unsigned long n = g_rand_int_range(r, 1, 400);
        Model a, b, d;
        bool any_and = false, any_andnot = false, inter = false, eq = true;

        model_init(&a, n);
        model_init(&b, n);
        model_init(&d, n);
        model_randomize(&a, r, g_rand_int_range(r, 0, 101));
        model_randomize(&b, r, g_rand_int_range(r, 0, 101));
        for (unsigned long i = 0; i < n; i++) {
            any_and |= a.bits[i] && b.bits[i];
            any_andnot |= a.bits[i] && !b.bits[i];
            inter |= a.bits[i] && b.bits[i];
            eq &= a.bits[i] == b.bits[i];
        }
        g_assert_cmpint(bitmap_intersects(a.map, b.map, n), ==, inter);
        g_assert_cmpint(bitmap_equal(a.map, b.map, n), ==, eq);

        g_assert_cmpint(bitmap_and(d.map, a.map, b.map, n), ==, any_and);
        for (unsigned long i = 0; i < n; i++) {
            d.bits[i] = a.bits[i] && b.bits[i];
        }
        model_check(&d);

        bitmap_or(d.map, a.map, b.map, n);
        for (unsigned long i = 0; i < n; i++) {
            d.bits[i] = a.bits[i] || b.bits[i];
        }
        model_check(&d);

        bitmap_xor(d.map, a.map, b.map, n);
        for (unsigned long i = 0; i < n; i++) {
            d.bits[i] = a.bits[i] != b.bits[i];
        }
        model_check(&d);

        g_assert_cmpint(bitmap_andnot(d.map, a.map, b.map, n), ==, any_andnot);
        for (unsigned long i = 0; i < n; i++) {
            d.bits[i] = a.bits[i] && !b.bits[i];
        }
        model_check(&d);

        bitmap_complement(d.map, a.map, n);
        for (unsigned long i = 0; i < n; i++) {
            d.bits[i] = !a.bits[i];
        }
        model_check(&d);

        bitmap_copy(d.map, a.map, n);
        g_assert_true(bitmap_equal(d.map, a.map, n));

        model_destroy(&a);
        model_destroy(&b);
        model_destroy(&d);
    }
}

static void test_count_one_with_offset_matches_model(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(2);
    Model m;

    model_init(&m, 1000);
    model_randomize(&m, r, 50);
    for (int iter = 0; iter < 2000; iter++) {
        unsigned long off = g_rand_int_range(r, 0, 1000);
        unsigned long len = g_rand_int_range(r, 0, 1000 - off + 1);
        unsigned long expect = 0;

        for (unsigned long i = off; i < off + len; i++) {
            expect += m.bits[i];
        }
        g_assert_cmpuint(bitmap_count_one_with_offset(m.map, off, len), ==, expect);
    }
    model_destroy(&m);
}

typedef enum RangeOp {
    OP_SET,
    OP_CLEAR,
    OP_TEST_AND_CLEAR,
    OP_SET_ATOMIC,
    OP_TEST_AND_CLEAR_ATOMIC,
    OP_COUNT,
} RangeOp;

static void test_range_ops_match_model(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(3);
    Model m;

    model_init(&m, 777);
    for (int iter = 0; iter < 5000; iter++) {
        RangeOp op = g_rand_int_range(r, 0, OP_COUNT);
        unsigned long start = g_rand_int_range(r, 0, 777);
        unsigned long nr = g_rand_int_range(r, 0, 777 - start + 1);
        bool any = false;

        for (unsigned long i = start; i < start + nr; i++) {
            any |= m.bits[i];
            m.bits[i] = op == OP_SET || op == OP_SET_ATOMIC;
        }
        switch (op) {
        case OP_SET:
            bitmap_set(m.map, start, nr);
            break;
        case OP_CLEAR:
            bitmap_clear(m.map, start, nr);
            break;
        case OP_TEST_AND_CLEAR:
            g_assert_cmpint(bitmap_test_and_clear(m.map, start, nr), ==, any);
            break;
        case OP_SET_ATOMIC:
            bitmap_set_atomic(m.map, start, nr);
            break;
        case OP_TEST_AND_CLEAR_ATOMIC:
            g_assert_cmpint(bitmap_test_and_clear_atomic(m.map, start, nr), ==, any);
            break;
        default:
            g_assert_not_reached();
        }
        model_check(&m);
    }
    model_destroy(&m);
}

static void test_range_ops_stay_inside_range(void)
{
    /* Guard words on both sides must survive every range operation. */
    unsigned long buf[6];

    for (unsigned long start = 0; start < 2 * BITS_PER_LONG; start++) {
        for (unsigned long nr = 0; start + nr <= 4 * BITS_PER_LONG; nr += 7) {
            memset(buf, 0, sizeof(buf));
            bitmap_set(buf + 1, start, nr);
            bitmap_set_atomic(buf + 1, start, nr);
            g_assert_cmphex(buf[0], ==, 0);
            g_assert_cmphex(buf[5], ==, 0);
            g_assert_cmpuint(bitmap_count_one(buf + 1, 4 * BITS_PER_LONG), ==, nr);
            g_assert_cmpuint(find_next_bit(buf + 1, 4 * BITS_PER_LONG, 0), ==,
                             nr ? start : 4 * BITS_PER_LONG);
            memset(buf, 0xff, sizeof(buf));
            bitmap_clear(buf + 1, start, nr);
            g_assert_cmphex(buf[0], ==, ~0UL);
            g_assert_cmphex(buf[5], ==, ~0UL);
            g_assert_cmpuint(bitmap_count_one(buf + 1, 4 * BITS_PER_LONG), ==,
                             4 * BITS_PER_LONG - nr);
            memset(buf, 0xff, sizeof(buf));
            g_assert_cmpint(bitmap_test_and_clear_atomic(buf + 1, start, nr), ==, nr != 0);
            g_assert_cmphex(buf[0], ==, ~0UL);
            g_assert_cmphex(buf[5], ==, ~0UL);
        }
    }
}

static void test_find_matches_model(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(4);

    for (int iter = 0; iter < 300; iter++) {
        unsigned long n = g_rand_int_range(r, 0, 300);
        int density = g_rand_int_range(r, 0, 3) == 0 ? 1 : g_rand_int_range(r, 0, 101);
        unsigned long last = n;
        Model m;

        model_init(&m, n);
        model_randomize(&m, r, density);
        /* Garbage past the end must never be reported. */
        if (n % BITS_PER_LONG) {
            m.map[n / BITS_PER_LONG] |= ~BITMAP_LAST_WORD_MASK(n);
        }
        for (unsigned long i = 0; i < n; i++) {
            if (m.bits[i]) {
                last = i;
            }
        }
        g_assert_cmpuint(find_last_bit(m.map, n), ==, last);
        for (unsigned long off = 0; off <= n + 2; off++) {
            unsigned long next = n, next_zero = n;

            for (unsigned long i = off; i < n; i++) {
                if (m.bits[i]) {
                    next = i;
                    break;
                }
            }
            for (unsigned long i = off; i < n; i++) {
                if (!m.bits[i]) {
                    next_zero = i;
                    break;
                }
            }
            g_assert_cmpuint(find_next_bit(m.map, n, off), ==, next);
            g_assert_cmpuint(find_next_zero_bit(m.map, n, off), ==, next_zero);
            if (off == 0) {
                g_assert_cmpuint(find_first_bit(m.map, n), ==, next);
                g_assert_cmpuint(find_first_zero_bit(m.map, n), ==, next_zero);
            }
        }
        model_destroy(&m);
    }
}

static void test_copy_with_src_offset_matches_model(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(5);

    for (int iter = 0; iter < 3000; iter++) {
        unsigned long nsrc = g_rand_int_range(r, 1, 500);
        unsigned long off = g_rand_int_range(r, 0, nsrc);
        unsigned long nbits = g_rand_int_range(r, 0, nsrc - off + 1);
        Model src, dst;

        /* The source is exactly as long as offset + nbits: no overread. */
        model_init(&src, off + nbits);
        model_init(&dst, nbits);
        model_randomize(&src, r, 50);
        model_randomize(&dst, r, 50);
        bitmap_copy_with_src_offset(dst.map, src.map, off, nbits);
        for (unsigned long i = 0; i < nbits; i++) {
            dst.bits[i] = src.bits[off + i];
        }
        model_check(&dst);
        if (nbits % BITS_PER_LONG) {
            g_assert_cmphex(dst.map[nbits / BITS_PER_LONG] &
                            ~BITMAP_LAST_WORD_MASK(nbits), ==, 0);
        }
        model_destroy(&src);
        model_destroy(&dst);
    }
}

static void test_copy_with_dst_offset_keeps_other_bits(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(6);

    for (int iter = 0; iter < 3000; iter++) {
        unsigned long ndst = g_rand_int_range(r, 1, 500);
        unsigned long shift = g_rand_int_range(r, 0, ndst);
        unsigned long nbits = g_rand_int_range(r, 0, ndst - shift + 1);
        Model src, dst;

        model_init(&src, nbits);
        model_init(&dst, shift + nbits);
        model_randomize(&src, r, 50);
        model_randomize(&dst, r, 50);
        bitmap_copy_with_dst_offset(dst.map, src.map, shift, nbits);
        for (unsigned long i = 0; i < nbits; i++) {
            dst.bits[shift + i] = src.bits[i];
        }
        model_check(&dst);
        model_destroy(&src);
        model_destroy(&dst);
    }
}

/*
 * bitmap_or_le64_atomic against the model, with the source and destination
 * allocated to their exact sizes so any access outside them is caught by
 * ASan or valgrind, and garbage in the source past nbits.
 */
static void check_or_le64(GRand *r, unsigned long dst_start, unsigned long nbits,
                          int density_pct)
{
    unsigned long nsrc = DIV_ROUND_UP(nbits, 64);
    uint64_t *src = g_new0(uint64_t, MAX(nsrc, 1));
    Model dst;
    unsigned long expect_count = 0;
    unsigned long got;

    model_init(&dst, dst_start + nbits);
    model_randomize(&dst, r, g_rand_int_range(r, 0, 3) == 0 ? 100 : 20);
    for (unsigned long i = 0; i < nsrc * 64; i++) {
        bool bit = g_rand_int_range(r, 0, 100) < density_pct;

        if (i >= nbits) {
            bit = g_rand_boolean(r);    /* garbage: must be ignored */
        } else if (bit) {
            expect_count++;
            dst.bits[dst_start + i] = true;
        }
        if (bit) {
            /* Build the little-endian layout byte by byte. */
            ((uint8_t *)src)[i / 8] |= 1u << (i % 8);
        }
    }
    got = bitmap_or_le64_atomic(dst.map, dst_start, src, nbits);
    g_assert_cmpuint(got, ==, expect_count);
    model_check(&dst);
    model_destroy(&dst);
    g_free(src);
}

static void test_or_le64_aligned_matches_model(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(7);
    static const int densities[] = { 0, 1, 10, 50, 100 };

    for (int iter = 0; iter < 2000; iter++) {
        unsigned long start = BITS_PER_LONG * g_rand_int_range(r, 0, 4);
        unsigned long nbits = g_rand_int_range(r, 0, 1200);

        check_or_le64(r, start, nbits,
                      densities[g_rand_int_range(r, 0, ARRAY_SIZE(densities))]);
    }
}

static void test_or_le64_unaligned_matches_model(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(8);
    static const int densities[] = { 0, 1, 10, 50, 100 };

    for (int iter = 0; iter < 3000; iter++) {
        unsigned long start = g_rand_int_range(r, 0, 300);
        unsigned long nbits = g_rand_int_range(r, 0, 1200);

        check_or_le64(r, start, nbits,
                      densities[g_rand_int_range(r, 0, ARRAY_SIZE(densities))]);
    }
    /* Every start offset inside a word, with short and word-sized lengths. */
    for (unsigned long start = 0; start < 2 * BITS_PER_LONG; start++) {
        for (unsigned long nbits = 0; nbits <= 3 * 64 + 1; nbits++) {
            check_or_le64(r, start, nbits, 100);
        }
    }
}

static void test_or_le64_reads_little_endian(void)
{
    /* Bit 0 is the LSB of byte 0; bit 9 is bit 1 of byte 1, and so on. */
    uint8_t bytes[16] = { 0x01, 0x02, 0, 0, 0, 0, 0, 0x80, 0x01 };
    uint64_t src[2];
    unsigned long dst[4] = { 0 };

    memcpy(src, bytes, sizeof(src));
    g_assert_cmpuint(bitmap_or_le64_atomic(dst, 0, src, 128), ==, 4);
    g_assert_true(test_bit(0, dst));
    g_assert_true(test_bit(9, dst));
    g_assert_true(test_bit(63, dst));
    g_assert_true(test_bit(64, dst));
    g_assert_cmpuint(bitmap_count_one(dst, 256), ==, 4);

    memset(dst, 0, sizeof(dst));
    g_assert_cmpuint(bitmap_or_le64_atomic(dst, 3, src, 65), ==, 4);
    g_assert_true(test_bit(3, dst));
    g_assert_true(test_bit(12, dst));
    g_assert_true(test_bit(66, dst));
    g_assert_true(test_bit(67, dst));
}

static void test_or_le64_counts_source_bits_already_set(void)
{
    /* The count is of source bits, even when dst has them already. */
    uint64_t src[2] = { GUINT64_TO_LE(0xffULL), GUINT64_TO_LE(1ULL) };
    unsigned long dst[3];

    memset(dst, 0xff, sizeof(dst));
    g_assert_cmpuint(bitmap_or_le64_atomic(dst, 5, src, 128), ==, 9);
    g_assert_true(bitmap_full(dst, 3 * BITS_PER_LONG));
}

/*
 * Concurrency: one thread ORs disjoint bits in with bitmap_or_le64_atomic
 * at an unaligned offset while another clears bits atomically.  Every bit
 * must end up either cleared by the clearer exactly once or still set.
 */
#define RACE_BITS (64 * 1024)
#define RACE_OFFSET 13

typedef struct RaceState {
    unsigned long *map;
    uint8_t *seen;
    int done;
} RaceState;

static gpointer race_clearer(gpointer opaque)
{
    RaceState *s = opaque;

    while (!qatomic_load_acquire(&s->done)) {
        for (unsigned long i = 0; i < RACE_BITS + RACE_OFFSET; i++) {
            if (test_and_clear_bit_atomic(i, s->map)) {
                s->seen[i]++;
            }
        }
    }
    return NULL;
}

static void test_or_le64_concurrent_with_clear_loses_nothing(void)
{
    RaceState s = {
        .map = bitmap_new(RACE_BITS + RACE_OFFSET),
        .seen = g_new0(uint8_t, RACE_BITS + RACE_OFFSET),
    };
    g_autofree uint64_t *src = g_new0(uint64_t, RACE_BITS / 64);
    GThread *t = g_thread_new("clearer", race_clearer, &s);

    /* Round k sets the bits i with i % 8 == k: every bit is set once. */
    for (int k = 0; k < 8; k++) {
        for (unsigned long i = 0; i < RACE_BITS / 64; i++) {
            src[i] = GUINT64_TO_LE(0x0101010101010101ULL << k);
        }
        g_assert_cmpuint(bitmap_or_le64_atomic(s.map, RACE_OFFSET, src, RACE_BITS),
                         ==, RACE_BITS / 8);
    }
    qatomic_store_release(&s.done, 1);
    g_thread_join(t);
    for (unsigned long i = 0; i < RACE_BITS + RACE_OFFSET; i++) {
        unsigned expect = i >= RACE_OFFSET;

        g_assert_cmpuint(s.seen[i] + test_bit(i, s.map), ==, expect);
    }
    g_free(s.map);
    g_free(s.seen);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/bitmap/new-is-zeroed", test_new_is_zeroed);
    g_test_add_func("/util/bitmap/try-new-huge-returns-null",
                    test_try_new_huge_returns_null);
    g_test_add_func("/util/bitmap/zero-extend-clears-new-bits",
                    test_zero_extend_clears_new_bits);
    g_test_add_func("/util/bitmap/fill-zero-full-empty", test_fill_zero_full_empty);
    g_test_add_func("/util/bitmap/tail-bits-are-ignored", test_tail_bits_are_ignored);
    g_test_add_func("/util/bitmap/logic-ops-match-model", test_logic_ops_match_model);
    g_test_add_func("/util/bitmap/count-one-with-offset-matches-model",
                    test_count_one_with_offset_matches_model);
    g_test_add_func("/util/bitmap/range-ops-match-model", test_range_ops_match_model);
    g_test_add_func("/util/bitmap/range-ops-stay-inside-range",
                    test_range_ops_stay_inside_range);
    g_test_add_func("/util/bitmap/find-matches-model", test_find_matches_model);
    g_test_add_func("/util/bitmap/copy-with-src-offset-matches-model",
                    test_copy_with_src_offset_matches_model);
    g_test_add_func("/util/bitmap/copy-with-dst-offset-keeps-other-bits",
                    test_copy_with_dst_offset_keeps_other_bits);
    g_test_add_func("/util/bitmap/or-le64/aligned-matches-model",
                    test_or_le64_aligned_matches_model);
    g_test_add_func("/util/bitmap/or-le64/unaligned-matches-model",
                    test_or_le64_unaligned_matches_model);
    g_test_add_func("/util/bitmap/or-le64/reads-little-endian",
                    test_or_le64_reads_little_endian);
    g_test_add_func("/util/bitmap/or-le64/counts-source-bits-already-set-in-dst",
                    test_or_le64_counts_source_bits_already_set);
    g_test_add_func("/util/bitmap/or-le64/concurrent-with-clear-loses-nothing",
                    test_or_le64_concurrent_with_clear_loses_nothing);
    return g_test_run();
}
