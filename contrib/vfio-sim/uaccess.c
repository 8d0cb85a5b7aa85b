/*
 * vfio-sim: copy_from_user()/copy_to_user() for an in-process kernel model.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "uaccess.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#ifdef CONFIG_VALGRIND_H
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)(addr), (void)(len))
#endif

/*
 * Transfers are split so that one bad page fails the call rather than
 * giving a short transfer we would have to account for.
 */
static int sim_vm_copy(void *local, void *remote, size_t len, bool to_user)
{
    pid_t self = getpid();

    while (len) {
        struct iovec l = { .iov_base = local, .iov_len = len };
        struct iovec r = { .iov_base = remote, .iov_len = len };
        ssize_t n;

        if (to_user) {
            n = process_vm_writev(self, &l, 1, &r, 1, 0);
        } else {
            n = process_vm_readv(self, &l, 1, &r, 1, 0);
        }
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return -EFAULT;
        }
        if (to_user) {
            /* Memcheck cannot see a write made by the kernel on our behalf. */
            VALGRIND_MAKE_MEM_DEFINED(remote, n);
        }
        local = (char *)local + n;
        remote = (char *)remote + n;
        len -= n;
    }
    return 0;
}

int sim_copy_from_user(void *dst, const void *user_src, size_t len)
{
    if (!len) {
        return 0;
    }
    if (!user_src) {
        return -EFAULT;
    }
    return sim_vm_copy(dst, (void *)user_src, len, false);
}

int sim_copy_to_user(void *user_dst, const void *src, size_t len)
{
    if (!len) {
        return 0;
    }
    if (!user_dst) {
        return -EFAULT;
    }
    return sim_vm_copy((void *)src, user_dst, len, true);
}

char *sim_strndup_user(const char *user_src, size_t max, int *err)
{
    g_autofree char *buf = g_malloc0(max + 1);
    size_t got = 0;

    /* Read page by page: the string may end just before an unmapped page. */
    while (got < max) {
        uintptr_t a = (uintptr_t)user_src + got;
        size_t chunk = MIN(max - got, SIM_PAGE_SIZE - (a & (SIM_PAGE_SIZE - 1)));

        if (sim_copy_from_user(buf + got, (const void *)a, chunk) < 0) {
            *err = -EFAULT;
            return NULL;
        }
        if (memchr(buf + got, 0, chunk)) {
            return g_steal_pointer(&buf);
        }
        got += chunk;
    }
    *err = -EINVAL;     /* no terminator within @max, as strndup_user() */
    return NULL;
}

int sim_check_mapped(uint64_t addr, uint64_t len)
{
    uint64_t start = addr & ~(SIM_PAGE_SIZE - 1);
    uint64_t end = ROUND_UP(addr + len, SIM_PAGE_SIZE);

    if (!len) {
        return 0;
    }
    if (end <= start) {
        return -EFAULT;         /* wraps */
    }
    /*
     * msync(MS_ASYNC) walks the VMAs of the range and fails with ENOMEM at
     * the first hole; it touches no page (MS_ASYNC writes nothing back), so
     * the cost is in VMAs, not pages.  It accepts PROT_NONE and read-only
     * VMAs, as the mincore() walk it replaces did.  The raw syscall: glibc's
     * msync() is a cancellation point, and we hold sim_lock.
     */
    if (syscall(SYS_msync, (uintptr_t)start, end - start, MS_ASYNC) < 0) {
        return -EFAULT;
    }
    return 0;
}
