/*
 * RAM blocks: allocation of every kind and its errors, ram_addr_t offsets,
 * lookups, notifiers, resizing, discarding memory and the discard counters.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/ram_addr.h"
#include "exec/ramlist.h"
#include "sysemu/ram-discard.h"

#include <glib/gstdio.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif
#include <sys/mman.h>
#include <sys/stat.h>

#define PAGE    ((size_t)TARGET_PAGE_SIZE)

/* Fails the test with the message of @err if it is set. */
static void assert_no_error(Error *err)
{
    if (err) {
        g_test_message("unexpected error: %s", error_get_pretty(err));
        error_free(err);
        g_assert_not_reached();
    }
}

/* Checks that @err is set and its message contains @needle; frees it. */
static void assert_error_contains(Error **errp, const char *needle)
{
    g_assert_nonnull(*errp);
    if (!strstr(error_get_pretty(*errp), needle)) {
        g_test_message("error \"%s\" does not mention \"%s\"",
                       error_get_pretty(*errp), needle);
        g_assert_not_reached();
    }
    error_free_or_abort(errp);
}

/*
 * The permissions column of /proc/self/maps ("rw-s", "r--p" ...) for the
 * mapping holding @addr, or "" when none does.
 */
static char *mapping_perms(void *addr)
{
    g_autofree char *maps = NULL;
    g_auto(GStrv) lines = NULL;
    char *perms = g_strdup("");
    int i;

    g_assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
    lines = g_strsplit(maps, "\n", -1);
    for (i = 0; lines[i]; i++) {
        unsigned long lo, hi;
        char p[5];

        if (sscanf(lines[i], "%lx-%lx %4s", &lo, &hi, p) == 3 &&
            (uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
            g_free(perms);
            perms = g_strdup(p);
            break;
        }
    }
    return perms;
}

static bool fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

static char *make_temp_dir(void)
{
    char *dir = g_dir_make_tmp("test-ramblock-XXXXXX", NULL);

    g_assert_nonnull(dir);
    return dir;
}

static int dir_entries(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    int n = 0;

    g_assert_nonnull(dir);
    while (g_dir_read_name(dir)) {
        n++;
    }
    g_dir_close(dir);
    return n;
}

/* Allocation */

static void test_alloc_anonymous(void)
{
    Error *err = NULL;
    RAMBlock *rb = qemu_ram_alloc(1 * MiB + 1, 0, NULL, &err);
    g_autofree char *perms = NULL;
    uint8_t *host;

    assert_no_error(err);
    host = qemu_ram_get_host_addr(rb);
    g_assert_nonnull(host);
    /* Sizes round up to the page size. */
    g_assert_cmphex(qemu_ram_get_used_length(rb), ==, 1 * MiB + PAGE);
    g_assert_cmphex(qemu_ram_get_max_length(rb), ==, 1 * MiB + PAGE);
    g_assert_cmpint(qemu_ram_get_fd(rb), ==, -1);
    g_assert_cmpuint(qemu_ram_pagesize(rb), ==, PAGE);
    g_assert_false(qemu_ram_is_shared(rb));
    g_assert_false(qemu_ram_is_resizeable(rb));
    g_assert_cmpstr(qemu_ram_get_idstr(rb), ==, "");
    perms = mapping_perms(host);
    g_assert_cmpstr(perms, ==, "rw-p");

    /* Fresh anonymous memory is zeroed and writable to the last byte. */
    g_assert_cmpint(host[0], ==, 0);
    host[0] = 1;
    host[qemu_ram_get_used_length(rb) - 1] = 2;
    qemu_ram_free(rb);
}

static void test_alloc_shared(void)
{
    RAMBlock *rb = qemu_ram_alloc(64 * KiB, RAM_SHARED, NULL, &error_abort);
    g_autofree char *perms = mapping_perms(qemu_ram_get_host_addr(rb));

    g_assert_true(qemu_ram_is_shared(rb));
    g_assert_cmpstr(perms, ==, "rw-s");
    qemu_ram_free(rb);
}

static void test_alloc_noreserve_huge(void)
{
    /* Valgrind refuses single mappings of 64 GiB and more. */
    uint64_t size = RUNNING_ON_VALGRIND ? 32 * GiB : 64 * GiB;
    /* Never touched: no memory is committed for it. */
    RAMBlock *rb = qemu_ram_alloc(size, RAM_NORESERVE, NULL, &error_abort);

    g_assert_true(qemu_ram_is_noreserve(rb));
    g_assert_cmphex(qemu_ram_get_used_length(rb), ==, size);
    g_assert_cmphex(last_ram_offset(), >=, qemu_ram_get_offset(rb) + size);
    qemu_ram_free(rb);
}

static void test_alloc_errors(void)
{
    Error *err = NULL;

    g_assert_null(qemu_ram_alloc(0, 0, NULL, &err));
    assert_error_contains(&err, "size must not be zero");
    g_assert_null(qemu_ram_alloc(32 * TiB, RAM_NORESERVE, NULL, &err));
    assert_error_contains(&err, "larger than the maximum");
    g_assert_null(qemu_ram_alloc(PAGE, RAM_READONLY, NULL, &err));
    assert_error_contains(&err, "unsupported RAM flags 0x400");
    g_assert_null(qemu_ram_alloc(PAGE, RAM_RESIZEABLE, NULL, &err));
    assert_error_contains(&err, "unsupported RAM flags 0x4");
    g_assert_null(qemu_ram_alloc_resizeable(2 * PAGE, PAGE, NULL, NULL, &err));
    assert_error_contains(&err, "larger than its maximum size");
    /* Nothing leaked into the RAM space. */
    g_assert_cmphex(last_ram_offset(), ==, 0);
}

static void test_alloc_from_ptr(void)
{
    Error *err = NULL;
    uint8_t *buf = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    RAMBlock *rb;

    g_assert_true(buf != MAP_FAILED);
    rb = qemu_ram_alloc_from_ptr(4 * PAGE, buf, NULL, &err);
    assert_no_error(err);
    g_assert_true(qemu_ram_get_host_addr(rb) == buf);
    g_assert_cmphex(qemu_ram_get_used_length(rb), ==, 4 * PAGE);
    qemu_ram_free(rb);
    /* The memory was the caller's: still mapped after the free. */
    buf[4 * PAGE - 1] = 7;
    g_assert_cmpint(buf[4 * PAGE - 1], ==, 7);

    g_assert_null(qemu_ram_alloc_from_ptr(4 * PAGE, NULL, NULL, &err));
    assert_error_contains(&err, "no host memory");
    g_assert_null(qemu_ram_alloc_from_ptr(4 * PAGE, buf + 8, NULL, &err));
    assert_error_contains(&err, "not page aligned");
    g_assert_null(qemu_ram_alloc_from_ptr(PAGE + 1, buf, NULL, &err));
    assert_error_contains(&err, "not page aligned");
    munmap(buf, 4 * PAGE);
}

static void test_alloc_memfd(void)
{
    Error *err = NULL;
    int fd = qemu_memfd_create("test-ram", 2 * MiB, false, &err);
    g_autofree char *perms = NULL;
    RAMBlock *rb;
    uint8_t *host;
    uint8_t byte = 0;

    assert_no_error(err);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);

    rb = qemu_ram_alloc_from_fd(2 * MiB, NULL, RAM_SHARED, fd, 0, &err);
    assert_no_error(err);
    g_assert_cmpint(qemu_ram_get_fd(rb), ==, fd);
    g_assert_cmpint(qemu_ram_get_fd_offset(rb), ==, 0);
    g_assert_cmpuint(qemu_ram_pagesize(rb), ==, PAGE);
    host = qemu_ram_get_host_addr(rb);
    perms = mapping_perms(host);
    g_assert_cmpstr(perms, ==, "rw-s");

    /* Shared: a write through the block is in the memfd. */
    host[PAGE + 3] = 0x5a;
    g_assert_cmpint(pread(fd, &byte, 1, PAGE + 3), ==, 1);
    g_assert_cmphex(byte, ==, 0x5a);

    /* The block owns the fd: freeing closes it. */
    qemu_ram_free(rb);
    g_assert_false(fd_is_open(fd));
}

static void test_alloc_fd_offset_and_growth(void)
{
    int fd = qemu_memfd_create("test-grow", 0, false, &error_abort);
    struct stat st;
    RAMBlock *rb;
    uint8_t byte = 0;

    /* An empty file is grown to offset + size. */
    rb = qemu_ram_alloc_from_fd(3 * PAGE, NULL, RAM_SHARED, fd, 2 * PAGE,
                                &error_abort);
    g_assert_cmpint(fstat(fd, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 5 * PAGE);
    g_assert_cmpint(qemu_ram_get_fd_offset(rb), ==, 2 * PAGE);
    ((uint8_t *)qemu_ram_get_host_addr(rb))[0] = 0x33;
    g_assert_cmpint(pread(fd, &byte, 1, 2 * PAGE), ==, 1);
    g_assert_cmphex(byte, ==, 0x33);
    qemu_ram_free(rb);
}

static void test_alloc_fd_errors(void)
{
    Error *err = NULL;
    int fd = qemu_memfd_create("test-errors", 4 * PAGE, false, &error_abort);
    int pipefd[2];

    /* Data past the offset that is too short: the sizes disagree. */
    g_assert_null(qemu_ram_alloc_from_fd(8 * PAGE, NULL, RAM_SHARED, fd, 0,
                                         &err));
    assert_error_contains(&err, "has 0x4000 bytes after offset 0x0, but the "
                          "block needs 0x8000");
    g_assert_null(qemu_ram_alloc_from_fd(4 * PAGE, NULL, RAM_SHARED, fd, 100,
                                         &err));
    assert_error_contains(&err, "not a multiple of its page size");
    g_assert_null(qemu_ram_alloc_from_fd(4 * PAGE, NULL, RAM_SHARED, fd, -4096,
                                         &err));
    assert_error_contains(&err, "not a multiple of its page size");
    g_assert_null(qemu_ram_alloc_from_fd(0, NULL, RAM_SHARED, fd, 0, &err));
    assert_error_contains(&err, "size must not be zero");
    g_assert_null(qemu_ram_alloc_from_fd(PAGE, NULL, RAM_RESIZEABLE, fd, 0,
                                         &err));
    assert_error_contains(&err, "unsupported RAM flags");
    /* A read-only file is never grown. */
    g_assert_null(qemu_ram_alloc_from_fd(2 * PAGE, NULL, RAM_READONLY, fd,
                                         4 * PAGE, &err));
    assert_error_contains(&err, "read-only backing file has 0x4000 bytes, "
                          "0x6000 needed");
    /* The caller keeps the fd after a failure. */
    g_assert_true(fd_is_open(fd));
    close(fd);

    g_assert_null(qemu_ram_alloc_from_fd(PAGE, NULL, 0, fd, 0, &err));
    assert_error_contains(&err, "cannot use fd");
    g_assert_null(qemu_ram_alloc_from_fd(PAGE, NULL, 0, -1, 0, &err));
    assert_error_contains(&err, "cannot use fd -1");
    g_assert_cmpint(pipe(pipefd), ==, 0);
    g_assert_null(qemu_ram_alloc_from_fd(PAGE, NULL, 0, pipefd[0], 0, &err));
    assert_error_contains(&err, "neither a file nor a device");
    close(pipefd[0]);
    close(pipefd[1]);
}

static void test_alloc_file_in_dir(void)
{
    g_autofree char *dir = make_temp_dir();
    RAMBlock *rb;
    uint8_t *host;

    rb = qemu_ram_alloc_from_file(1 * MiB, NULL, RAM_SHARED, dir, false,
                                  &error_abort);
    /* A temporary file, unlinked at once: the directory stays empty. */
    g_assert_cmpint(dir_entries(dir), ==, 0);
    g_assert_cmpint(qemu_ram_get_fd(rb), >=, 0);
    host = qemu_ram_get_host_addr(rb);
    host[1 * MiB - 1] = 1;
    qemu_ram_free(rb);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_alloc_file_path(void)
{
    g_autofree char *dir = make_temp_dir();
    g_autofree char *path = g_build_filename(dir, "guest-ram", NULL);
    g_autofree char *perms = NULL;
    g_autofree char *contents = NULL;
    gsize len;
    RAMBlock *rb;
    uint8_t *host;

    /* A missing file is created with the block's size. */
    rb = qemu_ram_alloc_from_file(3 * PAGE, NULL, RAM_SHARED, path, true,
                                  &error_abort);
    host = qemu_ram_get_host_addr(rb);
    memcpy(host + PAGE, "hello", 5);
    qemu_ram_free(rb);
    g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
    g_assert_cmpuint(len, ==, 3 * PAGE);
    g_assert_cmpmem(contents + PAGE, 5, "hello", 5);

    /* An existing file is mapped with its contents. */
    rb = qemu_ram_alloc_from_file(3 * PAGE, NULL, RAM_READONLY, path, false,
                                  &error_abort);
    host = qemu_ram_get_host_addr(rb);
    g_assert_cmpmem(host + PAGE, 5, "hello", 5);
    g_assert_true(qemu_ram_is_readonly(rb));
    perms = mapping_perms(host);
    g_assert_cmpstr(perms, ==, "r--p");
    qemu_ram_free(rb);

    /* Private mapping: writes stay in the process. */
    rb = qemu_ram_alloc_from_file(3 * PAGE, NULL, 0, path, false,
                                  &error_abort);
    host = qemu_ram_get_host_addr(rb);
    memcpy(host + PAGE, "HELLO", 5);
    qemu_ram_free(rb);
    g_free(contents);
    g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
    g_assert_cmpmem(contents + PAGE, 5, "hello", 5);

    g_assert_cmpint(unlink(path), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_alloc_file_errors(void)
{
    g_autofree char *dir = make_temp_dir();
    g_autofree char *missing = g_build_filename(dir, "no", "such", NULL);
    g_autofree char *path = g_build_filename(dir, "ram", NULL);
    Error *err = NULL;

    g_assert_null(qemu_ram_alloc_from_file(PAGE, NULL, 0, missing, false,
                                           &err));
    assert_error_contains(&err, "cannot open backing store");
    g_assert_null(qemu_ram_alloc_from_file(PAGE, NULL, 0, "", false, &err));
    assert_error_contains(&err, "no backing file path");
    g_assert_null(qemu_ram_alloc_from_file(PAGE, NULL, RAM_READONLY, dir,
                                           false, &err));
    assert_error_contains(&err, "is a directory");
    g_assert_null(qemu_ram_alloc_from_file(PAGE, NULL, RAM_READONLY, path,
                                           false, &err));
    assert_error_contains(&err, "cannot open backing store");
    /* A file created for a block that then fails is removed again. */
    g_assert_null(qemu_ram_alloc_from_file(0, NULL, RAM_SHARED, path, false,
                                           &err));
    assert_error_contains(&err, "size must not be zero");
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_assert_cmpint(dir_entries(dir), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* Offsets and lookups */

static void test_offsets_best_fit(void)
{
    RAMBlock *a = qemu_ram_alloc(1 * MiB, 0, NULL, &error_abort);
    RAMBlock *b = qemu_ram_alloc(3 * MiB, 0, NULL, &error_abort);
    RAMBlock *c = qemu_ram_alloc(PAGE, 0, NULL, &error_abort);
    RAMBlock *d, *e;
    ram_addr_t b_offset = qemu_ram_get_offset(b);

    /* Packed from 0, each start aligned to a bitmap word (64 pages). */
    g_assert_cmphex(qemu_ram_get_offset(a), ==, 0);
    g_assert_cmphex(b_offset, ==, 1 * MiB);
    g_assert_cmphex(qemu_ram_get_offset(c), ==, 4 * MiB);
    g_assert_cmphex(last_ram_offset(), ==, 4 * MiB + PAGE);

    /* A hole is reused by the smallest block that fits... */
    qemu_ram_free(b);
    d = qemu_ram_alloc(2 * MiB, 0, NULL, &error_abort);
    g_assert_cmphex(qemu_ram_get_offset(d), ==, b_offset);
    /* ...and the next start after d is aligned to 256 KiB. */
    e = qemu_ram_alloc(PAGE, 0, NULL, &error_abort);
    g_assert_cmphex(qemu_ram_get_offset(e), ==, 3 * MiB);
    g_assert_cmphex(qemu_ram_get_offset(e) % (64 * PAGE), ==, 0);

    qemu_ram_free(a);
    qemu_ram_free(c);
    qemu_ram_free(d);
    qemu_ram_free(e);
    g_assert_cmphex(last_ram_offset(), ==, 0);
}

static int count_blocks(RAMBlock *rb, void *opaque)
{
    GPtrArray *seen = opaque;

    g_ptr_array_add(seen, rb);
    return seen->len == 2 ? 42 : 0;
}

static void test_lookup(void)
{
    RAMBlock *a = qemu_ram_alloc(4 * PAGE, 0, NULL, &error_abort);
    RAMBlock *b = qemu_ram_alloc(8 * PAGE, 0, NULL, &error_abort);
    RAMBlock *c = qemu_ram_alloc(PAGE, 0, NULL, &error_abort);
    uint8_t *bh = qemu_ram_get_host_addr(b);
    g_autoptr(GPtrArray) seen = g_ptr_array_new();
    ram_addr_t off = 0;

    /* By host address: anywhere in the block, with and without rounding. */
    g_assert_true(qemu_ram_block_from_host(bh, false, &off) == b);
    g_assert_cmphex(off, ==, 0);
    g_assert_true(qemu_ram_block_from_host(bh + 3 * PAGE + 5, false, &off) == b);
    g_assert_cmphex(off, ==, 3 * PAGE + 5);
    g_assert_true(qemu_ram_block_from_host(bh + 3 * PAGE + 5, true, &off) == b);
    g_assert_cmphex(off, ==, 3 * PAGE);
    g_assert_true(qemu_ram_block_from_host(bh + 8 * PAGE - 1, true, NULL) == b);
    g_assert_null(qemu_ram_block_from_host(&off, false, &off));
    g_assert_cmphex(qemu_ram_addr_from_host(bh + 5),
                    ==, qemu_ram_get_offset(b) + 5);
    g_assert_cmphex(qemu_ram_addr_from_host(&off), ==, RAM_ADDR_INVALID);

    /* By ram_addr_t. */
    g_assert_true(qemu_ram_block_from_addr(qemu_ram_get_offset(a)) == a);
    g_assert_true(qemu_ram_block_from_addr(qemu_ram_get_offset(b) +
                                           8 * PAGE - 1) == b);
    g_assert_null(qemu_ram_block_from_addr(qemu_ram_get_offset(b) + 8 * PAGE));
    g_assert_null(qemu_ram_block_from_addr(last_ram_offset()));
    g_assert_true(qemu_map_ram_ptr(NULL, qemu_ram_get_offset(b) + 9) == bh + 9);
    g_assert_true(qemu_map_ram_ptr(b, 9) == bh + 9);

    /* By name. */
    g_assert_null(qemu_ram_block_by_name("b"));
    qemu_ram_set_idstr(b, "b");
    g_assert_cmpstr(qemu_ram_get_idstr(b), ==, "b");
    g_assert_true(qemu_ram_block_by_name("b") == b);
    qemu_ram_unset_idstr(b);
    g_assert_null(qemu_ram_block_by_name("b"));

    /* In ram_addr_t order, stopping at the first non-zero result. */
    g_assert_cmpint(qemu_ram_foreach_block(count_blocks, seen), ==, 42);
    g_assert_cmpuint(seen->len, ==, 2);
    g_assert_true(seen->pdata[0] == a);
    g_assert_true(seen->pdata[1] == b);

    qemu_ram_free(a);
    qemu_ram_free(b);
    qemu_ram_free(c);
}

static void test_idstr_duplicate_aborts(void)
{
    if (g_test_subprocess()) {
        RAMBlock *a = qemu_ram_alloc(PAGE, 0, NULL, &error_abort);
        RAMBlock *b = qemu_ram_alloc(PAGE, 0, NULL, &error_abort);

        qemu_ram_set_idstr(a, "pc.ram");
        qemu_ram_set_idstr(b, "pc.ram");
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*RAM block 'pc.ram' is already registered*");
}

/* Resizing */

typedef struct ResizeRecord {
    char idstr[32];
    uint64_t size;
    void *host;
    int calls;
} ResizeRecord;

static ResizeRecord resize_record;

static void record_resized(const char *idstr, uint64_t size, void *host)
{
    g_strlcpy(resize_record.idstr, idstr, sizeof(resize_record.idstr));
    resize_record.size = size;
    resize_record.host = host;
    resize_record.calls++;
}

static void test_resize(void)
{
    Error *err = NULL;
    RAMBlock *rb = qemu_ram_alloc_resizeable(4 * PAGE, 16 * PAGE,
                                             record_resized, NULL, &err);
    RAMBlock *fixed = qemu_ram_alloc(4 * PAGE, 0, NULL, &error_abort);
    ram_addr_t base;

    assert_no_error(err);
    base = qemu_ram_get_offset(rb);
    qemu_ram_set_idstr(rb, "resizeable");
    g_assert_true(qemu_ram_is_resizeable(rb));
    g_assert_cmphex(qemu_ram_get_used_length(rb), ==, 4 * PAGE);
    g_assert_cmphex(qemu_ram_get_max_length(rb), ==, 16 * PAGE);
    /* The whole maximum is reserved in ram_addr_t space. */
    g_assert_cmphex(qemu_ram_get_offset(fixed), >=, base + 16 * PAGE);

    memset(&resize_record, 0, sizeof(resize_record));
    g_assert_cmpint(qemu_ram_resize(rb, 10 * PAGE - 7, &err), ==, 0);
    assert_no_error(err);
    g_assert_cmphex(qemu_ram_get_used_length(rb), ==, 10 * PAGE);
    g_assert_cmpint(resize_record.calls, ==, 1);
    g_assert_cmpstr(resize_record.idstr, ==, "resizeable");
    g_assert_cmphex(resize_record.size, ==, 10 * PAGE - 7);
    g_assert_true(resize_record.host == qemu_ram_get_host_addr(rb));
    /* The new used range is dirty for everyone, the rest is clean. */
    g_assert_true(cpu_physical_memory_all_dirty(base, 10 * PAGE,
                                                DIRTY_MEMORY_MIGRATION));
    g_assert_false(cpu_physical_memory_get_dirty(base + 10 * PAGE, 6 * PAGE,
                                                 DIRTY_MEMORY_MIGRATION));

    /* Same aligned size: nothing happens. */
    g_assert_cmpint(qemu_ram_resize(rb, 10 * PAGE, &err), ==, 0);
    g_assert_cmpint(resize_record.calls, ==, 1);

    g_assert_cmpint(qemu_ram_resize(rb, 2 * PAGE, &err), ==, 0);
    g_assert_cmphex(qemu_ram_get_used_length(rb), ==, 2 * PAGE);
    g_assert_false(cpu_physical_memory_get_dirty(base + 2 * PAGE, 14 * PAGE,
                                                 DIRTY_MEMORY_VGA));

    g_assert_cmpint(qemu_ram_resize(rb, 16 * PAGE + 1, &err), ==, -EINVAL);
    assert_error_contains(&err, "cannot resize RAM 'resizeable' to 0x10001");
    g_assert_cmpint(qemu_ram_resize(rb, 0, &err), ==, -EINVAL);
    error_free_or_abort(&err);
    g_assert_cmpint(qemu_ram_resize(fixed, 2 * PAGE, &err), ==, -EINVAL);
    assert_error_contains(&err, "it is not resizeable");
    g_assert_cmphex(qemu_ram_get_used_length(rb), ==, 2 * PAGE);
    g_assert_cmpint(resize_record.calls, ==, 2);

    qemu_ram_free(rb);
    qemu_ram_free(fixed);
}

/* Notifiers */

typedef struct TestNotifier {
    RAMBlockNotifier n;
    GString *log;
} TestNotifier;

static void tn_added(RAMBlockNotifier *n, void *host, size_t size,
                     size_t max_size)
{
    TestNotifier *tn = container_of(n, TestNotifier, n);

    g_string_append_printf(tn->log, "add %p 0x%zx 0x%zx;", host, size,
                           max_size);
    /* Read-only lookups are allowed from a callback. */
    g_assert_nonnull(qemu_ram_block_from_host(host, false, NULL));
}

static void tn_removed(RAMBlockNotifier *n, void *host, size_t size,
                       size_t max_size)
{
    TestNotifier *tn = container_of(n, TestNotifier, n);

    g_string_append_printf(tn->log, "remove %p 0x%zx 0x%zx;", host, size,
                           max_size);
}

static void tn_resized(RAMBlockNotifier *n, void *host, size_t old_size,
                       size_t new_size)
{
    TestNotifier *tn = container_of(n, TestNotifier, n);

    g_string_append_printf(tn->log, "resize %p 0x%zx 0x%zx;", host, old_size,
                           new_size);
    /* Called before the change. */
    g_assert_cmphex(qemu_ram_get_used_length(
                        qemu_ram_block_from_host(host, false, NULL)),
                    ==, old_size);
}

static void test_notifiers(void)
{
    TestNotifier tn = {
        .n = {
            .ram_block_added = tn_added,
            .ram_block_removed = tn_removed,
            .ram_block_resized = tn_resized,
        },
        .log = g_string_new(NULL),
    };
    RAMBlockNotifier silent = { 0 };
    RAMBlock *a = qemu_ram_alloc(2 * PAGE, 0, NULL, &error_abort);
    RAMBlock *b = qemu_ram_alloc(3 * PAGE, 0, NULL, &error_abort);
    void *ah = qemu_ram_get_host_addr(a);
    RAMBlock *r;
    g_autofree char *expect = NULL;
    void *rh;

    /* Registration replays the existing blocks, in ram_addr_t order. */
    ram_block_notifier_add(&tn.n);
    expect = g_strdup_printf("add %p 0x2000 0x2000;add %p 0x3000 0x3000;",
                             ah, qemu_ram_get_host_addr(b));
    g_assert_cmpstr(tn.log->str, ==, expect);
    g_string_truncate(tn.log, 0);
    /* A notifier without callbacks is fine. */
    ram_block_notifier_add(&silent);

    r = qemu_ram_alloc_resizeable(PAGE, 8 * PAGE, NULL, NULL, &error_abort);
    rh = qemu_ram_get_host_addr(r);
    g_assert_cmpint(qemu_ram_resize(r, 5 * PAGE, &error_abort), ==, 0);
    qemu_ram_free(r);
    qemu_ram_free(a);
    g_free(expect);
    expect = g_strdup_printf("add %p 0x1000 0x8000;resize %p 0x1000 0x5000;"
                             "remove %p 0x5000 0x8000;remove %p 0x2000 0x2000;",
                             rh, rh, rh, ah);
    g_assert_cmpstr(tn.log->str, ==, expect);
    g_string_truncate(tn.log, 0);

    /* After removal: silence. */
    ram_block_notifier_remove(&tn.n);
    ram_block_notifier_remove(&silent);
    qemu_ram_free(b);
    g_assert_cmpstr(tn.log->str, ==, "");
    g_string_free(tn.log, true);
}

static int free_from_foreach(RAMBlock *rb, void *opaque)
{
    qemu_ram_free(rb);
    return 0;
}

static void test_foreach_cannot_free(void)
{
    if (g_test_subprocess()) {
        qemu_ram_alloc(PAGE, 0, NULL, &error_abort);
        qemu_ram_foreach_block(free_from_foreach, NULL);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*RAM block free from a RAM block notifier or "
                              "foreach callback*");
}

/* Discarding memory */

static void test_discard_anonymous(void)
{
    RAMBlock *rb = qemu_ram_alloc(8 * PAGE, 0, NULL, &error_abort);
    uint8_t *host = qemu_ram_get_host_addr(rb);

    memset(host, 0xaa, 8 * PAGE);
    g_assert_cmpint(ram_block_discard_range(rb, 2 * PAGE, 3 * PAGE), ==, 0);
    g_assert_cmphex(host[2 * PAGE - 1], ==, 0xaa);
    g_assert_cmphex(host[2 * PAGE], ==, 0);
    g_assert_cmphex(host[5 * PAGE - 1], ==, 0);
    g_assert_cmphex(host[5 * PAGE], ==, 0xaa);
    g_assert_cmpint(ram_block_discard_range(rb, 0, 0), ==, 0);
    qemu_ram_free(rb);

    rb = qemu_ram_alloc(4 * PAGE, RAM_SHARED, NULL, &error_abort);
    host = qemu_ram_get_host_addr(rb);
    memset(host, 0xbb, 4 * PAGE);
    g_assert_cmpint(ram_block_discard_range(rb, PAGE, PAGE), ==, 0);
    g_assert_cmphex(host[PAGE], ==, 0);
    g_assert_cmphex(host[2 * PAGE], ==, 0xbb);
    qemu_ram_free(rb);
}

static void test_discard_memfd(void)
{
    int fd = qemu_memfd_create("test-discard", 4 * PAGE, false, &error_abort);
    RAMBlock *rb = qemu_ram_alloc_from_fd(4 * PAGE, NULL, RAM_SHARED, fd, 0,
                                          &error_abort);
    uint8_t *host = qemu_ram_get_host_addr(rb);
    uint8_t byte = 0xff;

    memset(host, 0xcc, 4 * PAGE);
    g_assert_cmpint(ram_block_discard_range(rb, PAGE, 2 * PAGE), ==, 0);
    /* Punched out of the file itself, so every mapping reads zeroes. */
    g_assert_cmpint(pread(fd, &byte, 1, PAGE), ==, 1);
    g_assert_cmphex(byte, ==, 0);
    g_assert_cmphex(host[2 * PAGE], ==, 0);
    g_assert_cmphex(host[3 * PAGE], ==, 0xcc);
    qemu_ram_free(rb);
}

static void test_discard_private_file(void)
{
    g_autofree char *dir = make_temp_dir();
    g_autofree char *path = g_build_filename(dir, "ram", NULL);
    g_autofree char *contents = g_malloc(2 * PAGE);
    RAMBlock *rb;
    uint8_t *host;

    memset(contents, 0x11, 2 * PAGE);
    g_assert_true(g_file_set_contents(path, contents, 2 * PAGE, NULL));
    rb = qemu_ram_alloc_from_file(2 * PAGE, NULL, 0, path, false,
                                  &error_abort);
    host = qemu_ram_get_host_addr(rb);
    memset(host, 0x22, 2 * PAGE);
    g_assert_cmpint(ram_block_discard_range(rb, 0, PAGE), ==, 0);
    /* Our private copy is gone; the file was not touched. */
    g_assert_cmphex(host[0], ==, 0x11);
    g_assert_cmphex(host[PAGE], ==, 0x22);
    qemu_ram_free(rb);
    g_free(contents);
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_cmphex(contents[0], ==, 0x11);
    unlink(path);
    g_rmdir(dir);
}

static void test_discard_errors(void)
{
    RAMBlock *rb = qemu_ram_alloc_resizeable(4 * PAGE, 8 * PAGE, NULL, NULL,
                                             &error_abort);
    int fd = qemu_memfd_create("test-ro", PAGE, false, &error_abort);
    RAMBlock *ro = qemu_ram_alloc_from_fd(PAGE, NULL, RAM_READONLY, fd, 0,
                                          &error_abort);

    /* Each failure is reported on stderr; callers see the return value. */
    g_assert_cmpint(ram_block_discard_range(rb, 1, PAGE), ==, -EINVAL);
    g_assert_cmpint(ram_block_discard_range(rb, 0, PAGE + 1), ==, -EINVAL);
    /* Beyond used_length, even if below max_length. */
    g_assert_cmpint(ram_block_discard_range(rb, 4 * PAGE, PAGE), ==, -EINVAL);
    g_assert_cmpint(ram_block_discard_range(rb, 2 * PAGE, 3 * PAGE), ==,
                    -EINVAL);
    g_assert_cmpint(ram_block_discard_range(rb, UINT64_MAX & TARGET_PAGE_MASK,
                                            2 * PAGE), ==, -EINVAL);
    g_assert_cmpint(ram_block_discard_range(ro, 0, PAGE), ==, -EROFS);
    qemu_ram_free(rb);
    qemu_ram_free(ro);
}

/* Discard counters: QEMU's conflict rules */

typedef int (*DiscardFn)(bool state);

static const struct {
    const char *name;
    DiscardFn fn;
} discard_fns[] = {
    { "disable", ram_block_discard_disable },
    { "uncoordinated-disable", ram_block_uncoordinated_discard_disable },
    { "require", ram_block_discard_require },
    { "coordinated-require", ram_block_coordinated_discard_require },
};

/*
 * conflict[held][taken]: taking the second while the first is held fails
 * with -EBUSY.  Disabling conflicts with requiring, except that disabling
 * only uncoordinated discard leaves coordinated discard available.
 */
static const bool discard_conflict[4][4] = {
    /* held: disable */           { false, false, true,  true  },
    /* uncoordinated-disable */   { false, false, true,  false },
    /* require */                 { true,  true,  false, false },
    /* coordinated-require */     { true,  false, false, false },
};

static void test_discard_counters(void)
{
    int held, taken;

    g_assert_false(ram_block_discard_is_disabled());
    g_assert_false(ram_block_discard_is_required());

    for (held = 0; held < 4; held++) {
        for (taken = 0; taken < 4; taken++) {
            int expect = discard_conflict[held][taken] ? -EBUSY : 0;
            int ret;

            g_assert_cmpint(discard_fns[held].fn(true), ==, 0);
            ret = discard_fns[taken].fn(true);
            if (ret != expect) {
                g_test_message("holding %s, taking %s", discard_fns[held].name,
                               discard_fns[taken].name);
            }
            g_assert_cmpint(ret, ==, expect);
            g_assert_cmpint(ram_block_discard_is_disabled(), ==,
                            held <= 1 || (!ret && taken <= 1));
            g_assert_cmpint(ram_block_discard_is_required(), ==,
                            held >= 2 || (!ret && taken >= 2));
            if (!ret) {
                g_assert_cmpint(discard_fns[taken].fn(false), ==, 0);
            }
            g_assert_cmpint(discard_fns[held].fn(false), ==, 0);
            g_assert_false(ram_block_discard_is_disabled());
            g_assert_false(ram_block_discard_is_required());
        }
    }
}

static void test_discard_counters_nest(void)
{
    /* Counts, not flags: two holders need two releases. */
    g_assert_cmpint(ram_block_uncoordinated_discard_disable(true), ==, 0);
    g_assert_cmpint(ram_block_uncoordinated_discard_disable(true), ==, 0);
    g_assert_cmpint(ram_block_uncoordinated_discard_disable(false), ==, 0);
    g_assert_true(ram_block_discard_is_disabled());
    g_assert_cmpint(ram_block_discard_require(true), ==, -EBUSY);
    g_assert_cmpint(ram_block_uncoordinated_discard_disable(false), ==, 0);
    g_assert_false(ram_block_discard_is_disabled());
    g_assert_cmpint(ram_block_discard_require(true), ==, 0);
    g_assert_cmpint(ram_block_discard_require(false), ==, 0);
}

#define DISCARD_THREADS 4
#define DISCARD_ROUNDS  20000

static gpointer discard_hammer(gpointer opaque)
{
    DiscardFn fn = opaque;
    int i;

    for (i = 0; i < DISCARD_ROUNDS; i++) {
        if (fn(true) == 0) {
            fn(false);
        }
    }
    return NULL;
}

static void test_discard_counters_threads(void)
{
    GThread *threads[DISCARD_THREADS];
    int i;

    /* Two conflicting pairs fighting: counts must come back to zero. */
    for (i = 0; i < DISCARD_THREADS; i++) {
        threads[i] = g_thread_new("discard", discard_hammer,
                                  discard_fns[i].fn);
    }
    for (i = 0; i < DISCARD_THREADS; i++) {
        g_thread_join(threads[i]);
    }
    g_assert_false(ram_block_discard_is_disabled());
    g_assert_false(ram_block_discard_is_required());
    for (i = 0; i < 4; i++) {
        g_assert_cmpint(discard_fns[i].fn(true), ==, 0);
        g_assert_cmpint(discard_fns[i].fn(false), ==, 0);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/physmem/alloc/errors-leave-no-trace", test_alloc_errors);
    g_test_add_func("/physmem/alloc/anonymous", test_alloc_anonymous);
    g_test_add_func("/physmem/alloc/shared", test_alloc_shared);
    g_test_add_func("/physmem/alloc/noreserve-64g", test_alloc_noreserve_huge);
    g_test_add_func("/physmem/alloc/from-ptr", test_alloc_from_ptr);
    g_test_add_func("/physmem/alloc/memfd-owned-and-shared", test_alloc_memfd);
    g_test_add_func("/physmem/alloc/fd-offset-grows-empty-file",
                    test_alloc_fd_offset_and_growth);
    g_test_add_func("/physmem/alloc/fd-errors", test_alloc_fd_errors);
    g_test_add_func("/physmem/alloc/file-in-dir-is-unlinked",
                    test_alloc_file_in_dir);
    g_test_add_func("/physmem/alloc/file-path", test_alloc_file_path);
    g_test_add_func("/physmem/alloc/file-errors", test_alloc_file_errors);
    g_test_add_func("/physmem/offsets/best-fit-aligned", test_offsets_best_fit);
    g_test_add_func("/physmem/lookup/host-addr-name-order", test_lookup);
    g_test_add_func("/physmem/lookup/idstr-duplicate-aborts",
                    test_idstr_duplicate_aborts);
    g_test_add_func("/physmem/resize/notify-dirty-errors", test_resize);
    g_test_add_func("/physmem/notifier/replay-add-resize-remove",
                    test_notifiers);
    g_test_add_func("/physmem/notifier/foreach-cannot-free",
                    test_foreach_cannot_free);
    g_test_add_func("/physmem/discard-range/anonymous", test_discard_anonymous);
    g_test_add_func("/physmem/discard-range/memfd-punches-hole",
                    test_discard_memfd);
    g_test_add_func("/physmem/discard-range/private-file-untouched",
                    test_discard_private_file);
    g_test_add_func("/physmem/discard-range/errors", test_discard_errors);
    g_test_add_func("/physmem/discard-counters/conflict-matrix",
                    test_discard_counters);
    g_test_add_func("/physmem/discard-counters/nest", test_discard_counters_nest);
    g_test_add_func("/physmem/discard-counters/threads",
                    test_discard_counters_threads);
    return g_test_run();
}
