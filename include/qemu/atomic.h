/*
 * Atomic operations and memory barriers on the GCC/Clang __atomic builtins.
 *
 * Naming follows QEMU:
 *   qatomic_read/qatomic_set           relaxed load/store (no ordering, but
 *                                      never torn and never cached in a
 *                                      register across the access)
 *   qatomic_load_acquire/store_release one-way ordering for publish/consume
 *   qatomic_xchg, qatomic_cmpxchg,     read-modify-write, sequentially
 *   qatomic_fetch_OP, qatomic_OP_fetch consistent (a full barrier)
 *   qatomic_OP                         read-modify-write, result discarded
 *   smp_mb/smp_rmb/smp_wmb             fences between plain or relaxed accesses
 *
 * Every operand must be a naturally aligned scalar no wider than a pointer, so
 * the access is lock-free on every host Aperture supports; that is checked at
 * compile time.
 */
#ifndef QEMU_ATOMIC_H
#define QEMU_ATOMIC_H

/* Stops the compiler from moving memory accesses across it; no CPU fence. */
#define barrier()   __asm__ __volatile__("" ::: "memory")

/*
 * Wider operands would need a lock inside libatomic on some hosts, which
 * defeats the purpose (and breaks in signal handlers).
 */
#define QATOMIC_CHECK_SIZE(ptr)                                         \
    _Static_assert(sizeof(*(ptr)) <= sizeof(void *),                    \
                   "operand of an atomic operation is wider than a pointer")

#define qatomic_read(ptr)                                               \
    ({                                                                  \
        QATOMIC_CHECK_SIZE(ptr);                                        \
        __atomic_load_n((ptr), __ATOMIC_RELAXED);                       \
    })

#define qatomic_set(ptr, val)                                           \
    do {                                                                \
        QATOMIC_CHECK_SIZE(ptr);                                        \
        __atomic_store_n((ptr), (val), __ATOMIC_RELAXED);               \
    } while (0)

#define qatomic_load_acquire(ptr)                                       \
    ({                                                                  \
        QATOMIC_CHECK_SIZE(ptr);                                        \
        __atomic_load_n((ptr), __ATOMIC_ACQUIRE);                       \
    })

#define qatomic_store_release(ptr, val)                                 \
    do {                                                                \
        QATOMIC_CHECK_SIZE(ptr);                                        \
        __atomic_store_n((ptr), (val), __ATOMIC_RELEASE);               \
    } while (0)

/* Store @val and return the previous value. */
#define qatomic_xchg(ptr, val)                                          \
    ({                                                                  \
        QATOMIC_CHECK_SIZE(ptr);                                        \
        __atomic_exchange_n((ptr), (val), __ATOMIC_SEQ_CST);            \
    })

/*
 * If *ptr equals @old, store @new.  Either way return the value *ptr held
 * before the operation, so success is "qatomic_cmpxchg(p, o, n) == o".
 */
#define qatomic_cmpxchg(ptr, old, new)                                  \
    ({                                                                  \
        QATOMIC_CHECK_SIZE(ptr);                                        \
        __typeof__(*(ptr)) qatomic_old_ = (old);                        \
        __atomic_compare_exchange_n((ptr), &qatomic_old_, (new), false, \
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
        qatomic_old_;                                                   \
    })

/* Return the value before the operation. */
#define qatomic_fetch_add(ptr, n) ({ QATOMIC_CHECK_SIZE(ptr);           \
            __atomic_fetch_add((ptr), (n), __ATOMIC_SEQ_CST); })
#define qatomic_fetch_sub(ptr, n) ({ QATOMIC_CHECK_SIZE(ptr);           \
            __atomic_fetch_sub((ptr), (n), __ATOMIC_SEQ_CST); })
#define qatomic_fetch_and(ptr, n) ({ QATOMIC_CHECK_SIZE(ptr);           \
            __atomic_fetch_and((ptr), (n), __ATOMIC_SEQ_CST); })
#define qatomic_fetch_or(ptr, n) ({ QATOMIC_CHECK_SIZE(ptr);            \
            __atomic_fetch_or((ptr), (n), __ATOMIC_SEQ_CST); })
#define qatomic_fetch_xor(ptr, n) ({ QATOMIC_CHECK_SIZE(ptr);           \
            __atomic_fetch_xor((ptr), (n), __ATOMIC_SEQ_CST); })
#define qatomic_fetch_inc(ptr)  qatomic_fetch_add((ptr), 1)
#define qatomic_fetch_dec(ptr)  qatomic_fetch_sub((ptr), 1)

/* Return the value after the operation. */
#define qatomic_add_fetch(ptr, n) ({ QATOMIC_CHECK_SIZE(ptr);           \
            __atomic_add_fetch((ptr), (n), __ATOMIC_SEQ_CST); })
#define qatomic_sub_fetch(ptr, n) ({ QATOMIC_CHECK_SIZE(ptr);           \
            __atomic_sub_fetch((ptr), (n), __ATOMIC_SEQ_CST); })
#define qatomic_and_fetch(ptr, n) ({ QATOMIC_CHECK_SIZE(ptr);           \
            __atomic_and_fetch((ptr), (n), __ATOMIC_SEQ_CST); })
#define qatomic_or_fetch(ptr, n) ({ QATOMIC_CHECK_SIZE(ptr);            \
            __atomic_or_fetch((ptr), (n), __ATOMIC_SEQ_CST); })
#define qatomic_xor_fetch(ptr, n) ({ QATOMIC_CHECK_SIZE(ptr);           \
            __atomic_xor_fetch((ptr), (n), __ATOMIC_SEQ_CST); })
#define qatomic_inc_fetch(ptr)  qatomic_add_fetch((ptr), 1)
#define qatomic_dec_fetch(ptr)  qatomic_sub_fetch((ptr), 1)

/* Result discarded: lets the compiler pick the cheapest instruction. */
#define qatomic_add(ptr, n)     ((void)qatomic_fetch_add((ptr), (n)))
#define qatomic_sub(ptr, n)     ((void)qatomic_fetch_sub((ptr), (n)))
#define qatomic_and(ptr, n)     ((void)qatomic_fetch_and((ptr), (n)))
#define qatomic_or(ptr, n)      ((void)qatomic_fetch_or((ptr), (n)))
#define qatomic_xor(ptr, n)     ((void)qatomic_fetch_xor((ptr), (n)))
#define qatomic_inc(ptr)        ((void)qatomic_fetch_add((ptr), 1))
#define qatomic_dec(ptr)        ((void)qatomic_fetch_sub((ptr), 1))

/*
 * Fences.  smp_mb orders everything; smp_rmb orders loads before later loads;
 * smp_wmb orders stores before later stores.  smp_mb_acquire/smp_mb_release
 * are the one-way fences that pair with relaxed accesses.
 */
#define smp_mb()            __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_mb_acquire()    __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_mb_release()    __atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_rmb()           smp_mb_acquire()
#define smp_wmb()           smp_mb_release()

/* A relaxed store followed by a full fence ("set, then everything after"). */
#define qatomic_set_mb(ptr, val)                                        \
    do {                                                                \
        qatomic_set((ptr), (val));                                      \
        smp_mb();                                                       \
    } while (0)

#endif /* QEMU_ATOMIC_H */
