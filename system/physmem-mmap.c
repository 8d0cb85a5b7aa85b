/*
 * Host memory for RAM blocks: anonymous mappings, files (hugetlbfs
 * included) and memfds.  physmem.c decides what to map; this file knows how.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "physmem-internal.h"
#include "trace/trace-system.h"

#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

void *ram_mmap(int fd, size_t size, size_t align, uint32_t ram_flags,
               off_t fd_offset)
{
    size_t total = size + align;
    int prot = PROT_READ | ((ram_flags & RAM_READONLY) ? 0 : PROT_WRITE);
    int flags = MAP_FIXED | ((ram_flags & RAM_SHARED) ? MAP_SHARED : MAP_PRIVATE);
    uint8_t *reserved, *ptr;
    size_t head, tail;
    int err;

    assert(is_power_of_2(align) && align >= qemu_real_host_page_size());

    /*
     * mmap only promises page alignment, but huge pages (hugetlbfs, THP)
     * need the mapping aligned to their size.  Reserve address space for
     * the size plus the alignment, costing no memory (PROT_NONE,
     * NORESERVE), put the real mapping at the first aligned address inside
     * and give back the slack on both sides.
     */
    reserved = mmap(NULL, total, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED) {
        return MAP_FAILED;
    }
    ptr = (uint8_t *)ROUND_UP((uintptr_t)reserved, (uintptr_t)align);

    if (fd < 0) {
        flags |= MAP_ANONYMOUS;
        fd_offset = 0;
    }
    if (ram_flags & RAM_NORESERVE) {
        flags |= MAP_NORESERVE;
    }
    if (mmap(ptr, size, prot, flags, fd, fd_offset) == MAP_FAILED) {
        err = errno;
        munmap(reserved, total);
        errno = err;
        return MAP_FAILED;
    }

    head = ptr - reserved;
    tail = total - head - size;
    if (head) {
        munmap(reserved, head);
    }
    if (tail) {
        munmap(ptr + size, tail);
    }
    return ptr;
}

size_t ram_fd_page_size(int fd)
{
    struct statfs fs;
    int ret;

    do {
        ret = fstatfs(fd, &fs);
    } while (ret != 0 && errno == EINTR);

    if (ret == 0 && fs.f_type == HUGETLBFS_MAGIC) {
        return fs.f_bsize;
    }
    return qemu_real_host_page_size();
}

/* A temporary file in directory @dir, already unlinked. */
static int ram_file_open_temp(const char *dir, const char *name, Error **errp)
{
    g_autofree char *sanitized = g_strdup(name && *name ? name : "ram");
    g_autofree char *path = NULL;
    char *c;
    int fd;

    /* The region name may contain '/' (device paths): not in a file name. */
    for (c = sanitized; *c; c++) {
        if (*c == '/') {
            *c = '_';
        }
    }
    path = g_strdup_printf("%s/aperture_back_mem.%s.XXXXXX", dir, sanitized);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        error_setg_errno(errp, errno,
                         "cannot create a backing file for RAM '%s' in %s",
                         name, dir);
        return -1;
    }
    /* Nobody else needs the name; the memory goes when the fd is closed. */
    unlink(path);
    return fd;
}

int ram_file_open(const char *path, const char *name, bool readonly,
                  bool *created, Error **errp)
{
    struct stat st;
    int fd;

    *created = false;
    for (;;) {
        fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (fd >= 0) {
            /* O_RDONLY opens directories too. */
            if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                close(fd);
                errno = EISDIR;
                fd = -1;
            } else {
                return fd;
            }
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EISDIR) {
            if (readonly) {
                error_setg(errp, "read-only RAM '%s' needs a file, but %s is "
                           "a directory", name, path);
                return -1;
            }
            return ram_file_open_temp(path, name, errp);
        }
        if (errno == ENOENT && !readonly) {
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd >= 0) {
                *created = true;
                return fd;
            }
            if (errno == EEXIST || errno == EINTR) {
                /* Someone created it since our first open: open theirs. */
                continue;
            }
        }
        error_setg_errno(errp, errno,
                         "cannot open backing store %s for RAM '%s'",
                         path, name);
        return -1;
    }
}

bool ram_prealloc(void *host, size_t size, int fd, off_t fd_offset,
                  bool readonly, const char *name, Error **errp)
{
    size_t pagesize = qemu_real_host_page_size();
    size_t i;

    /*
     * For a file, reserve its blocks first: on hugetlbfs this is what
     * fails cleanly when huge pages run out, where touching the memory
     * would raise SIGBUS.
     */
    if (fd >= 0 && !readonly &&
        fallocate(fd, 0, fd_offset, size) != 0 &&
        errno != EOPNOTSUPP && errno != ENOSYS) {
        error_setg_errno(errp, errno,
                         "cannot preallocate 0x%zx bytes for RAM '%s'",
                         size, name);
        return false;
    }

    if (madvise(host, size,
                readonly ? MADV_POPULATE_READ : MADV_POPULATE_WRITE) == 0) {
        return true;
    }
    if (errno != EINVAL) {
        error_setg_errno(errp, errno,
                         "cannot preallocate 0x%zx bytes for RAM '%s'",
                         size, name);
        return false;
    }

    /* Kernels before 5.14 lack MADV_POPULATE_*: fault each page in. */
    for (i = 0; i < size; i += pagesize) {
        volatile uint8_t *p = (uint8_t *)host + i;

        if (readonly) {
            (void)*p;
        } else {
            /* Rewrite what is there: the file may hold data already. */
            *p = *p;
        }
    }
    return true;
}

int qemu_memfd_create(const char *name, size_t size, bool hugetlb,
                      Error **errp)
{
    unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    int fd;

    if (hugetlb) {
        flags |= MFD_HUGETLB;
    }
    fd = memfd_create(name, flags);
    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot create memfd '%s'%s", name,
                         hugetlb ? " with huge pages" : "");
        return -1;
    }
    if (size && ftruncate(fd, size) != 0) {
        error_setg_errno(errp, errno,
                         "cannot size memfd '%s' to 0x%zx bytes%s", name, size,
                         hugetlb ? " (a multiple of the huge page size?)" : "");
        close(fd);
        return -1;
    }
    trace_qemu_memfd_create(name, size, hugetlb, fd);
    return fd;
}
