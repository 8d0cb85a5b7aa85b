/*
 * Shared by the libFuzzer targets in tests/fuzz (see README.md): the entry
 * points libFuzzer calls and a decoder that turns the input bytes into
 * operations and values.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include "qemu/osdep.h"

/* Called by libFuzzer for every input; must return 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: called once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * Abort (which libFuzzer reports as a crash, saving the input) unless @cond.
 * Always evaluated, unlike assert().
 */
#define fuzz_check(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

/*
 * The input, read front to back.  Reads past the end return zeros, so every
 * input decodes to something; a target stops when fuzz_input_done().
 */
typedef struct FuzzInput {
    const uint8_t *data;
    size_t size;
    size_t pos;         /* bytes consumed */
} FuzzInput;

static inline FuzzInput fuzz_input(const uint8_t *data, size_t size)
{
    return (FuzzInput){ .data = data, .size = size, .pos = 0 };
}

static inline bool fuzz_input_done(const FuzzInput *in)
{
    return in->pos >= in->size;
}

static inline uint8_t fuzz_u8(FuzzInput *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* @n bytes (at most 8), little-endian. */
static inline uint64_t fuzz_bytes(FuzzInput *in, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)fuzz_u8(in) << (8 * i);
    }
    return v;
}

/*
 * A 64-bit address biased towards values that collide: one selector byte,
 * then mostly a small value (0..63, in 4 KiB pages or bytes), sometimes one
 * near UINT64_MAX, sometimes any 64-bit value.
 */
static inline uint64_t fuzz_addr(FuzzInput *in)
{
    uint8_t sel = fuzz_u8(in);

    if (sel < 128) {
        return sel & 63;
    }
    if (sel < 192) {
        return (uint64_t)(sel & 63) << 12;
    }
    if (sel < 240) {
        return UINT64_MAX - (fuzz_u8(in) & 63);
    }
    return fuzz_bytes(in, 8);
}

#endif /* TESTS_FUZZ_FUZZ_H */
