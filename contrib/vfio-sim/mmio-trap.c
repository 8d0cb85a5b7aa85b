/*
 * vfio-sim: exact MMIO through mmap()ed registers.
 *
 * On the real machine a store to a mapped BAR is a bus transaction the
 * device sees at once, and the next load returns what the device answers.
 * Plain shared memory cannot give that: a register like edu's liveness
 * check (reads return the inverse of the last write) needs the device to
 * run between the store and the load.  So register BARs are mapped with no
 * access at all, and each load or store faults into the handler here, which
 * decodes the x86-64 instruction, performs the access on the device model
 * (exactly like pread/pwrite on the region would) and resumes after the
 * instruction.
 *
 * The decoder knows the forms compilers emit for volatile accesses and that
 * QEMU's ram_device accessors use: MOV to and from a register (8/16/32/64
 * bit), MOV of an immediate, and MOVZX.  Anything else (a memcpy with vector
 * instructions, say) is not emulated: the fault is passed on to the
 * previous handler, which is what would happen with an unexpected fault.
 *
 * A fault that is not on a trapped mapping is passed on as well: the
 * program's (or the sanitizer's) own SIGSEGV handling is unchanged.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "trace/trace-vfio_sim.h"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#ifdef CONFIG_VALGRIND_H
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)(addr), (void)(len))
#endif

#if defined(__x86_64__)

typedef struct SimTrap {
    uintptr_t start;
    size_t len;
    SimDevice *dev;
    int bar;
    uint64_t bar_offset;        /* BAR offset of @start */
} SimTrap;

static GList *sim_traps;        /* SimTrap *, under sim_lock */
static int sim_trap_count;      /* read by the handler before locking */
static struct sigaction sim_old_segv;
static bool sim_segv_installed;

/* One decoded MOV-like instruction. */
typedef struct SimInsn {
    unsigned len;               /* bytes to skip */
    unsigned size;              /* access size in bytes */
    bool store;
    bool has_imm;
    uint64_t imm;
    int reg;                    /* register number, -1 with an immediate */
    bool high8;                 /* AH/CH/DH/BH */
    bool zero_extend;           /* MOVZX: the destination is wider */
    unsigned dest_size;         /* destination width of a load (4 or 8; 2 or 1 merge) */
} SimInsn;

static const int sim_greg_index[16] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static bool sim_decode(const uint8_t *ip, SimInsn *in)
{
    unsigned i = 0;
    bool opsize16 = false;
    uint8_t rex = 0, op, modrm, mod, rm;
    bool wide;

    memset(in, 0, sizeof(*in));
    in->reg = -1;
    for (;; i++) {
        uint8_t b = ip[i];

        if (b == 0x66) {
            opsize16 = true;
        } else if (b != 0x2e && b != 0x3e && b != 0x26 && b != 0x36 && b != 0x64 &&
                   b != 0x65 && b != 0x67) {
            break;
        }
        if (i > 4) {
            return false;
        }
    }
    if ((ip[i] & 0xf0) == 0x40) {
        rex = ip[i++];
    }
    wide = rex & 0x8;
    op = ip[i++];
    switch (op) {
    case 0x88: case 0x89: case 0x8a: case 0x8b:
        in->store = op == 0x88 || op == 0x89;
        in->size = (op & 1) ? (wide ? 8 : opsize16 ? 2 : 4) : 1;
        in->dest_size = in->size;
        break;
    case 0xc6: case 0xc7:
        in->store = true;
        in->has_imm = true;
        in->size = op == 0xc6 ? 1 : (wide ? 8 : opsize16 ? 2 : 4);
        break;
    case 0x0f:
        op = ip[i++];
        if (op != 0xb6 && op != 0xb7) {
            return false;
        }
        in->size = op == 0xb6 ? 1 : 2;
        in->zero_extend = true;
        in->dest_size = wide ? 8 : 4;
        break;
    default:
        return false;
    }
    modrm = ip[i++];
    mod = modrm >> 6;
    rm = modrm & 7;
    if (mod == 3) {
        return false;           /* register operand: not a memory access */
    }
    if (!in->has_imm) {
        in->reg = ((modrm >> 3) & 7) | ((rex & 0x4) ? 8 : 0);
        in->high8 = in->size == 1 && !in->zero_extend && !rex && in->reg >= 4;
    } else if ((modrm >> 3) & 7) {
        return false;           /* C6/C7 with a reg field other than /0 */
    }
    if (rm == 4) {
        uint8_t sib = ip[i++];

        if (mod == 0 && (sib & 7) == 5) {
            i += 4;
        }
    } else if (mod == 0 && rm == 5) {
        i += 4;                 /* RIP-relative */
    }
    i += mod == 1 ? 1 : mod == 2 ? 4 : 0;
    if (in->has_imm) {
        unsigned isz = in->size == 8 ? 4 : in->size;
        int64_t v = 0;

        memcpy(&v, ip + i, isz);
        if (isz == 4) {
            v = (int32_t)v;     /* imm32 is sign-extended to 64 bits */
        }
        in->imm = (uint64_t)v;
        i += isz;
    }
    in->len = i;
    return true;
}

static uint64_t sim_reg_get(ucontext_t *uc, const SimInsn *in)
{
    if (in->high8) {
        return (uc->uc_mcontext.gregs[sim_greg_index[in->reg - 4]] >> 8) & 0xff;
    }
    return uc->uc_mcontext.gregs[sim_greg_index[in->reg]];
}

static void sim_reg_set(ucontext_t *uc, const SimInsn *in, uint64_t v)
{
    greg_t *g;
    uint64_t old;

    if (in->high8) {
        g = &uc->uc_mcontext.gregs[sim_greg_index[in->reg - 4]];
        *g = (*g & ~0xff00ULL) | ((v & 0xff) << 8);
        return;
    }
    g = &uc->uc_mcontext.gregs[sim_greg_index[in->reg]];
    old = *g;
    switch (in->dest_size) {
    case 1:
        *g = (old & ~0xffULL) | (v & 0xff);
        break;
    case 2:
        *g = (old & ~0xffffULL) | (v & 0xffff);
        break;
    case 4:
        *g = v & 0xffffffffULL;     /* 32-bit writes clear the upper half */
        break;
    default:
        *g = v;
        break;
    }
}

static uint64_t sim_size_mask(unsigned size)
{
    return size == 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

/* Emulate the access at @addr; false if it is not ours or not decodable. */
static bool sim_mmio_emulate(uintptr_t addr, ucontext_t *uc)
{
    const uint8_t *ip = (const uint8_t *)uc->uc_mcontext.gregs[REG_RIP];
    SimTrap *t = NULL;
    SimInsn in;
    uint64_t off;

    pthread_mutex_lock(&sim_lock);
    for (GList *l = sim_traps; l; l = l->next) {
        SimTrap *x = l->data;

        if (addr >= x->start && addr < x->start + x->len) {
            t = x;
            break;
        }
    }
    if (!t || !sim_decode(ip, &in) || addr + in.size > t->start + t->len) {
        pthread_mutex_unlock(&sim_lock);
        return false;
    }
    off = t->bar_offset + (addr - t->start);
    if (in.store) {
        uint64_t v = (in.has_imm ? in.imm : sim_reg_get(uc, &in)) & sim_size_mask(in.size);

        sim_device_mmio(t->dev, t->bar, off, &v, in.size, true);
    } else {
        uint64_t v = 0;

        sim_device_mmio(t->dev, t->bar, off, &v, in.size, false);
        sim_reg_set(uc, &in, v & sim_size_mask(in.size));
    }
    pthread_mutex_unlock(&sim_lock);
    uc->uc_mcontext.gregs[REG_RIP] += in.len;
    return true;
}

static void sim_segv_handler(int sig, siginfo_t *si, void *ctx)
{
    int saved_errno = errno;

    if (__atomic_load_n(&sim_trap_count, __ATOMIC_RELAXED)) {
        bool done;

        sim_thread_enter();
        done = sim_mmio_emulate((uintptr_t)si->si_addr, ctx);
        sim_thread_leave();
        if (done) {
            errno = saved_errno;
            return;
        }
    }
    /* Not ours: hand it to whoever had it, or let it kill us as it would have. */
    if (sim_old_segv.sa_flags & SA_SIGINFO) {
        if (sim_old_segv.sa_sigaction) {
            sim_old_segv.sa_sigaction(sig, si, ctx);
            return;
        }
    } else if (sim_old_segv.sa_handler != SIG_DFL && sim_old_segv.sa_handler != SIG_IGN) {
        sim_old_segv.sa_handler(sig);
        return;
    }
    /* Default action: the instruction faults again, fatally. */
    sim_thread_enter();
    sim_segv_installed = false;
    signal(SIGSEGV, SIG_DFL);
    sim_thread_leave();
}

bool sim_trap_owns_segv(void)
{
    return sim_segv_installed;
}

/*
 * The program installs its own SIGSEGV handler after ours: it becomes the
 * one faults that are not ours go to, and ours stays in front.  The program
 * sees what it would have seen without the sim.
 */
int sim_trap_sigaction(const struct sigaction *act, struct sigaction *old)
{
    struct sigaction prev = sim_old_segv;

    if (act) {
        sim_old_segv = *act;
    }
    if (old) {
        *old = prev;
    }
    return 0;
}

void *sim_trap_map(SimDevice *dev, int bar, void *addr, size_t len, int flags,
                   uint64_t bar_offset, int *err)
{
    SimTrap *t;
    void *p;

    if (!sim_segv_installed) {
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = sim_segv_handler;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGSEGV, &sa, &sim_old_segv) < 0) {
            *err = errno;
            return MAP_FAILED;
        }
        sim_segv_installed = true;
    }
    p = sim_real.mmap(addr, len, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (flags & MAP_FIXED), -1, 0);
    if (p == MAP_FAILED) {
        *err = errno;
        return MAP_FAILED;
    }
    /*
     * Memcheck would flag each access to the inaccessible page before the
     * fault reaches us; to it, the page is ordinary device memory.
     */
    VALGRIND_MAKE_MEM_DEFINED(p, len);
    t = g_new0(SimTrap, 1);
    t->start = (uintptr_t)p;
    t->len = len;
    t->dev = dev;
    t->bar = bar;
    t->bar_offset = bar_offset;
    sim_traps = g_list_prepend(sim_traps, t);
    __atomic_add_fetch(&sim_trap_count, 1, __ATOMIC_RELAXED);
    return p;
}

/* Locked.  Forget the trapped mappings inside [start, start + len). */
void sim_trap_unmap(uintptr_t start, size_t len)
{
    GList *l, *next;

    for (l = sim_traps; l; l = next) {
        SimTrap *t = l->data;

        next = l->next;
        if (t->start >= start && t->start + t->len <= start + len) {
            sim_traps = g_list_delete_link(sim_traps, l);
            __atomic_sub_fetch(&sim_trap_count, 1, __ATOMIC_RELAXED);
            g_free(t);
        }
    }
}

bool sim_trap_supported(void)
{
    return true;
}

#else /* !__x86_64__ */

/*
 * No instruction decoder for this host: sim_trap_supported() says so, and
 * device set-up then clears the MMAP flag of register BARs (device.c), so
 * users reach them through pread/pwrite like a kernel BAR without mmap
 * support.  The functions below are never reached with trapping in use.
 */

void *sim_trap_map(SimDevice *dev, int bar, void *addr, size_t len, int flags,
                   uint64_t bar_offset, int *err)
{
    *err = ENOSYS;
    return MAP_FAILED;
}

void sim_trap_unmap(uintptr_t start, size_t len)
{
}

bool sim_trap_supported(void)
{
    return false;
}

bool sim_trap_owns_segv(void)
{
    return false;
}

int sim_trap_sigaction(const struct sigaction *act, struct sigaction *old)
{
    return -ENOSYS;
}

#endif
