/*
 * vfio-sim: the libc entry points the simulator takes over.
 *
 * Every function here has the C library's name and signature.  In the
 * LD_PRELOAD build they are the only exported symbols of libvfio-sim.so; in
 * the link-time build they are the only global symbols of the relocatable
 * object linked into a test.  Each decides in a few instructions whether the
 * call is the sim's business (a path under /dev/vfio or the VFIO sysfs
 * paths, or an fd the sim made) and otherwise forwards it to the next
 * definition (dlsym(RTLD_NEXT): libc, or the sanitizer runtime's interceptor
 * when that comes first).
 *
 * Re-entrancy: the sim itself calls libc and GLib, which call open(), read()
 * and friends.  A thread-local flag marks "inside the sim" and sends such
 * nested calls straight to libc, so the sim never sees its own I/O and never
 * takes sim_lock twice.
 *
 * User memory handed to ioctl() is accessed through copy-in/copy-out helpers
 * (see uaccess.c) so that a bad pointer gives EFAULT, as in the kernel,
 * rather than crashing the sim.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
/*
 * The build defines _FILE_OFFSET_BITS=64, which makes glibc's headers rename
 * open() to open64() and so on.  Here both names must be defined, each as
 * itself.  (On 64-bit hosts off_t is 64 bits either way.)
 */
#undef _FILE_OFFSET_BITS

#include "sim.h"
#include "uaccess.h"

#include <dirent.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define SIM_EXPORT __attribute__((visibility("default")))

/* Set while this thread runs sim code: nested libc calls pass through. */
static __thread int sim_in_sim __attribute__((tls_model("initial-exec")));

SimRealCalls sim_real;

static void *sim_next(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);

    if (!p) {
        /* A symbol some libc lacks (e.g. __xstat on new ABIs): call fails. */
        sim_debug("no next definition of %s", name);
    }
    return p;
}

/* Resolve the next definition of NAME once; the pointer is typed. */
#define REAL(name)                                                            \
    ({                                                                        \
        static __typeof__(&name) real_##name##_p;                             \
        if (!real_##name##_p) {                                               \
            real_##name##_p = (__typeof__(&name))sim_next(#name);             \
        }                                                                     \
        real_##name##_p;                                                      \
    })

/* Fill sim_real, which the rest of the sim uses for its own fds. */
static void sim_real_init(void)
{
    if (sim_real.open) {
        return;
    }
    sim_real.read = REAL(read);
    sim_real.write = REAL(write);
    sim_real.mmap = REAL(mmap);
    sim_real.munmap = REAL(munmap);
    sim_real.ioctl = REAL(ioctl);
    sim_real.dup = REAL(dup);
    sim_real.close = REAL(close);
    sim_real.open = REAL(open);
}

static inline void sim_enter(void)
{
    sim_real_init();
    sim_in_sim++;
}

static inline void sim_leave(void)
{
    sim_in_sim--;
}

void sim_thread_enter(void)
{
    sim_enter();
}

void sim_thread_leave(void)
{
    sim_leave();
}

/* errno convention: sim functions return -errno; libc returns -1/errno. */
static inline long sim_ret(long ret)
{
    if (ret < 0) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}

/*
 * Classify a path for the sim, building the world on first use.  Only
 * absolute paths under /dev or /sys can be ours, which keeps the common
 * case to two byte compares.
 */
static SimPathKind sim_classify(const char *path, char **redirect, int *group_id)
{
    SimPathKind kind;

    *redirect = NULL;
    if (sim_in_sim || !path || path[0] != '/' ||
        (path[1] != 'd' && path[1] != 's')) {
        return SIM_PATH_NONE;
    }
    /*
     * Only these can be ours.  Other programs started with the sim
     * preloaded (a shell, a compiler) then never build a sim world.
     */
    if (strncmp(path, "/dev/vfio", 9) != 0 && strncmp(path, "/dev/iommu", 10) != 0 &&
        strncmp(path, "/sys/bus/pci", 12) != 0 && strncmp(path, "/sys/devices/pci", 16) != 0 &&
        strncmp(path, "/sys/kernel/iommu_groups", 24) != 0 &&
        strncmp(path, "/sys//", 6) != 0 && strncmp(path, "/dev//", 6) != 0) {
        return SIM_PATH_NONE;
    }
    sim_enter();
    pthread_mutex_lock(&sim_lock);
    if (!sim_world_get()) {
        kind = SIM_PATH_NONE;
    } else {
        kind = sim_path_classify(path, redirect, group_id);
    }
    pthread_mutex_unlock(&sim_lock);
    sim_leave();
    return kind;
}

/* open() of one of the sim's character devices. */
static int sim_open_node(SimPathKind kind, int group_id, int flags)
{
    bool cloexec = flags & O_CLOEXEC;
    int ret = -ENOENT;

    sim_enter();
    pthread_mutex_lock(&sim_lock);
    switch (kind) {
    case SIM_PATH_VFIO_CONTAINER: {
        SimContainer *c = sim_container_new();
        int fd = sim_fd_new_backing(cloexec);

        if (fd < 0) {
            sim_file_unref(c->file);    /* releases the container too */
            ret = fd;
            break;
        }
        sim_fd_install(fd, c->file);
        sim_file_unref(c->file);        /* the fd now holds the only reference */
        ret = fd;
        break;
    }
    case SIM_PATH_VFIO_GROUP:
        ret = sim_group_open(sim_world_group(group_id), cloexec);
        break;
    case SIM_PATH_CONTROL: {
        SimFile *f = sim_file_new(SIM_FILE_CONTROL);
        int fd = sim_fd_new_backing(cloexec);

        if (fd >= 0) {
            sim_fd_install(fd, f);
        }
        sim_file_unref(f);
        ret = fd;
        break;
    }
    case SIM_PATH_VFIO_DIR:
        ret = -EISDIR;
        break;
    default:
        ret = -ENOENT;
        break;
    }
    pthread_mutex_unlock(&sim_lock);
    sim_leave();
    return (int)sim_ret(ret);
}

static int sim_openat_common(int dirfd, const char *path, int flags, mode_t mode,
                             int (*next)(int, const char *, int, ...))
{
    g_autofree char *redirect = NULL;
    int group_id = -1;
    SimPathKind kind = sim_classify(path, &redirect, &group_id);

    switch (kind) {
    case SIM_PATH_NONE:
        return next(dirfd, path, flags, mode);
    case SIM_PATH_REDIRECT:
        return next(dirfd, redirect, flags, mode);
    case SIM_PATH_VFIO_DIR:
        if (flags & (O_DIRECTORY | O_PATH)) {
            return next(dirfd, redirect, flags, mode);
        }
        /* fall through */
    default:
        return sim_open_node(kind, group_id, flags);
    }
}

static int sim_open_common(const char *path, int flags, mode_t mode,
                           int (*next)(const char *, int, ...))
{
    g_autofree char *redirect = NULL;
    int group_id = -1;
    SimPathKind kind = sim_classify(path, &redirect, &group_id);

    switch (kind) {
    case SIM_PATH_NONE:
        return next(path, flags, mode);
    case SIM_PATH_REDIRECT:
        return next(redirect, flags, mode);
    case SIM_PATH_VFIO_DIR:
        if (flags & (O_DIRECTORY | O_PATH)) {
            return next(redirect, flags, mode);
        }
        /* fall through */
    default:
        return sim_open_node(kind, group_id, flags);
    }
}

static mode_t sim_open_mode(int flags, va_list ap)
{
    if (flags & (O_CREAT | __O_TMPFILE)) {
        return va_arg(ap, mode_t);
    }
    return 0;
}

SIM_EXPORT int open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = sim_open_mode(flags, ap);
    va_end(ap);
    return sim_open_common(path, flags, mode, REAL(open));
}

SIM_EXPORT int open64(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = sim_open_mode(flags, ap);
    va_end(ap);
    return sim_open_common(path, flags, mode, REAL(open64));
}

SIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = sim_open_mode(flags, ap);
    va_end(ap);
    return sim_openat_common(dirfd, path, flags, mode, REAL(openat));
}

SIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = sim_open_mode(flags, ap);
    va_end(ap);
    return sim_openat_common(dirfd, path, flags, mode, REAL(openat64));
}

/*
 * The _FORTIFY_SOURCE variants: they only check that O_CREAT comes with a
 * mode, which plain open() callers cannot get wrong here.
 */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

SIM_EXPORT int __open_2(const char *path, int flags)
{
    return open(path, flags);
}

SIM_EXPORT int __open64_2(const char *path, int flags)
{
    return open64(path, flags);
}

SIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    return openat(dirfd, path, flags);
}

SIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    return openat64(dirfd, path, flags);
}

SIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
    g_autofree char *redirect = NULL;
    int group_id;
    SimPathKind kind = sim_classify(path, &redirect, &group_id);

    if (kind == SIM_PATH_REDIRECT) {
        return REAL(fopen)(redirect, mode);
    }
    if (kind != SIM_PATH_NONE) {
        /* Character devices through stdio: unusual, but make it work. */
        int fd = sim_open_node(kind, group_id, O_RDWR | O_CLOEXEC);

        return fd < 0 ? NULL : fdopen(fd, mode);
    }
    return REAL(fopen)(path, mode);
}

SIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    g_autofree char *redirect = NULL;
    int group_id;
    SimPathKind kind = sim_classify(path, &redirect, &group_id);

    if (kind == SIM_PATH_REDIRECT) {
        return REAL(fopen64)(redirect, mode);
    }
    if (kind != SIM_PATH_NONE) {
        int fd = sim_open_node(kind, group_id, O_RDWR | O_CLOEXEC);

        return fd < 0 ? NULL : fdopen(fd, mode);
    }
    return REAL(fopen64)(path, mode);
}

SIM_EXPORT DIR *opendir(const char *path)
{
    g_autofree char *redirect = NULL;
    int group_id;
    SimPathKind kind = sim_classify(path, &redirect, &group_id);

    switch (kind) {
    case SIM_PATH_NONE:
        return REAL(opendir)(path);
    case SIM_PATH_REDIRECT:
    case SIM_PATH_VFIO_DIR:
        return REAL(opendir)(redirect);
    case SIM_PATH_DEV_MISSING:
        errno = ENOENT;
        return NULL;
    default:
        errno = ENOTDIR;
        return NULL;
    }
}

/* ---- fd operations ---- */

/* The sim file behind @fd with sim_lock held, or NULL (lock not held). */
static SimFile *sim_lock_fd(int fd)
{
    SimFile *f;

    if (sim_in_sim || !sim_fd_peek(fd)) {
        return NULL;
    }
    sim_enter();
    pthread_mutex_lock(&sim_lock);
    f = sim_fd_get(fd);
    if (!f) {
        pthread_mutex_unlock(&sim_lock);
        sim_leave();
    }
    return f;
}

static void sim_unlock_fd(void)
{
    pthread_mutex_unlock(&sim_lock);
    sim_leave();
}

SIM_EXPORT int close(int fd)
{
    if (!sim_in_sim && sim_fd_peek(fd)) {
        sim_enter();
        pthread_mutex_lock(&sim_lock);
        sim_fd_remove(fd);
        pthread_mutex_unlock(&sim_lock);
        sim_leave();
    }
    return REAL(close)(fd);
}

/* A new fd that names the same file as @oldfd (dup family). */
static int sim_dup_done(int oldfd, int newfd)
{
    SimFile *f;

    if (newfd < 0) {
        return newfd;
    }
    f = sim_lock_fd(oldfd);
    if (f) {
        int err = sim_fd_install(newfd, f);

        sim_unlock_fd();
        if (err < 0) {
            REAL(close)(newfd);
            errno = -err;
            return -1;
        }
    }
    return newfd;
}

/* dup2/dup3 close @newfd first if it was one of ours. */
static void sim_dup_target(int oldfd, int newfd)
{
    if (oldfd != newfd && !sim_in_sim && sim_fd_peek(newfd)) {
        sim_enter();
        pthread_mutex_lock(&sim_lock);
        sim_fd_remove(newfd);
        pthread_mutex_unlock(&sim_lock);
        sim_leave();
    }
}

SIM_EXPORT int dup(int oldfd)
{
    return sim_dup_done(oldfd, REAL(dup)(oldfd));
}

SIM_EXPORT int dup2(int oldfd, int newfd)
{
    int ret;

    if (sim_fd_peek(oldfd) && fcntl(oldfd, F_GETFD) < 0) {
        return -1;      /* EBADF from fcntl, before newfd is touched */
    }
    sim_dup_target(oldfd, newfd);
    ret = REAL(dup2)(oldfd, newfd);
    if (ret < 0 || oldfd == newfd) {
        return ret;
    }
    return sim_dup_done(oldfd, ret);
}

SIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    int ret;

    if (oldfd != newfd) {
        sim_dup_target(oldfd, newfd);
    }
    ret = REAL(dup3)(oldfd, newfd, flags);
    return ret < 0 ? ret : sim_dup_done(oldfd, ret);
}

static int sim_fcntl_common(int fd, int cmd, va_list ap, int (*next)(int, int, ...))
{
    long arg = va_arg(ap, long);
    int ret = next(fd, cmd, arg);

    if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && ret >= 0) {
        return sim_dup_done(fd, ret);
    }
    return ret;
}

SIM_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    int ret;

    va_start(ap, cmd);
    ret = sim_fcntl_common(fd, cmd, ap, REAL(fcntl));
    va_end(ap);
    return ret;
}

int fcntl64(int fd, int cmd, ...);
SIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    int ret;

    va_start(ap, cmd);
    ret = sim_fcntl_common(fd, cmd, ap, REAL(fcntl64));
    va_end(ap);
    return ret;
}

SIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    void *arg;
    SimFile *f;
    long ret;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);

    f = sim_lock_fd(fd);
    if (!f) {
        return REAL(ioctl)(fd, req, arg);
    }
    switch (f->kind) {
    case SIM_FILE_CONTAINER:
        ret = sim_container_ioctl(f->container, req, arg);
        break;
    case SIM_FILE_GROUP:
        ret = sim_group_ioctl(f->group, req, arg);
        break;
    case SIM_FILE_DEVICE:
        ret = sim_device_ioctl(f->device, req, arg);
        break;
    case SIM_FILE_MIG_DATA:
        ret = sim_mig_file_ioctl(f->mig, req, arg);
        break;
    default:
        ret = -ENOTTY;
        break;
    }
    sim_unlock_fd();
    return (int)sim_ret(ret);
}

/*
 * read()/write() at the file position.  A device file's position starts at
 * 0 and advances; it cannot be moved (no llseek: lseek() fails with ESPIPE,
 * see lseek() below).
 */
static ssize_t sim_rw(SimFile *f, void *buf, size_t count, bool write)
{
    ssize_t ret;

    switch (f->kind) {
    case SIM_FILE_DEVICE:
        ret = sim_device_rw(f->device, buf, count, f->pos, write);
        if (ret > 0) {
            f->pos += ret;
        }
        return ret;
    case SIM_FILE_MIG_DATA:
        return write ? sim_mig_file_write(f->mig, buf, count)
                     : sim_mig_file_read(f->mig, buf, count);
    case SIM_FILE_CONTROL:
        return write ? sim_control_write(buf, count) : sim_control_read(buf, count);
    default:
        return -EINVAL;
    }
}

SIM_EXPORT ssize_t read(int fd, void *buf, size_t count)
{
    SimFile *f = sim_lock_fd(fd);
    ssize_t ret;

    if (!f) {
        return REAL(read)(fd, buf, count);
    }
    ret = sim_rw(f, buf, count, false);
    sim_unlock_fd();
    return sim_ret(ret);
}

SIM_EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
    SimFile *f = sim_lock_fd(fd);
    ssize_t ret;

    if (!f) {
        return REAL(write)(fd, buf, count);
    }
    ret = sim_rw(f, (void *)buf, count, true);
    sim_unlock_fd();
    return sim_ret(ret);
}

/* No vfio file can seek (no llseek; data fds are streams). */
SIM_EXPORT off_t lseek(int fd, off_t off, int whence)
{
    if (!sim_in_sim && sim_fd_peek(fd)) {
        errno = ESPIPE;
        return -1;
    }
    return REAL(lseek)(fd, off, whence);
}

SIM_EXPORT off64_t lseek64(int fd, off64_t off, int whence)
{
    if (!sim_in_sim && sim_fd_peek(fd)) {
        errno = ESPIPE;
        return -1;
    }
    return REAL(lseek64)(fd, off, whence);
}

static ssize_t sim_prw(SimFile *f, void *buf, size_t count, off_t off, bool write)
{
    if (f->kind == SIM_FILE_DEVICE) {
        if (off < 0) {
            return -EINVAL;
        }
        return sim_device_rw(f->device, buf, count, off, write);
    }
    if (f->kind == SIM_FILE_MIG_DATA || f->kind == SIM_FILE_CONTROL) {
        return -ESPIPE;
    }
    return -EINVAL;
}

SIM_EXPORT ssize_t pread(int fd, void *buf, size_t count, off_t off)
{
    SimFile *f = sim_lock_fd(fd);
    ssize_t ret;

    if (!f) {
        return REAL(pread)(fd, buf, count, off);
    }
    ret = sim_prw(f, buf, count, off, false);
    sim_unlock_fd();
    return sim_ret(ret);
}

SIM_EXPORT ssize_t pread64(int fd, void *buf, size_t count, off64_t off)
{
    SimFile *f = sim_lock_fd(fd);
    ssize_t ret;

    if (!f) {
        return REAL(pread64)(fd, buf, count, off);
    }
    ret = sim_prw(f, buf, count, off, false);
    sim_unlock_fd();
    return sim_ret(ret);
}

SIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
    SimFile *f = sim_lock_fd(fd);
    ssize_t ret;

    if (!f) {
        return REAL(pwrite)(fd, buf, count, off);
    }
    ret = sim_prw(f, (void *)buf, count, off, true);
    sim_unlock_fd();
    return sim_ret(ret);
}

SIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t off)
{
    SimFile *f = sim_lock_fd(fd);
    ssize_t ret;

    if (!f) {
        return REAL(pwrite64)(fd, buf, count, off);
    }
    ret = sim_prw(f, (void *)buf, count, off, true);
    sim_unlock_fd();
    return sim_ret(ret);
}

static void *sim_mmap_common(void *addr, size_t len, int prot, int flags, int fd,
                             off64_t off, bool *handled)
{
    SimFile *f;
    void *ret;
    int err = 0;

    *handled = false;
    if ((flags & MAP_ANONYMOUS) || fd < 0) {
        return NULL;
    }
    f = sim_lock_fd(fd);
    if (!f) {
        return NULL;
    }
    *handled = true;
    if (f->kind == SIM_FILE_DEVICE) {
        ret = sim_device_mmap(f->device, addr, len, prot, flags, off, &err);
    } else {
        ret = MAP_FAILED;
        err = ENODEV;
    }
    sim_unlock_fd();
    if (ret == MAP_FAILED) {
        errno = err;
    }
    return ret;
}

SIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    bool handled;
    void *ret = sim_mmap_common(addr, len, prot, flags, fd, off, &handled);

    return handled ? ret : REAL(mmap)(addr, len, prot, flags, fd, off);
}

SIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    bool handled;
    void *ret = sim_mmap_common(addr, len, prot, flags, fd, off, &handled);

    return handled ? ret : REAL(mmap64)(addr, len, prot, flags, fd, off);
}

SIM_EXPORT int munmap(void *addr, size_t len)
{
    if (!sim_in_sim) {
        sim_device_munmap(addr, len);
    }
    return REAL(munmap)(addr, len);
}

/* ---- SIGSEGV stays ours while register BARs are mapped (mmio-trap.c) ---- */

SIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig == SIGSEGV && !sim_in_sim && sim_trap_owns_segv()) {
        return sim_trap_sigaction(act, old);
    }
    return REAL(sigaction)(sig, act, old);
}

SIM_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
    struct sigaction act, old;

    if (sig != SIGSEGV || sim_in_sim || !sim_trap_owns_segv()) {
        return REAL(signal)(sig, handler);
    }
    /* glibc's signal() has BSD semantics. */
    memset(&act, 0, sizeof(act));
    act.sa_handler = handler;
    act.sa_flags = SA_RESTART;
    sigemptyset(&act.sa_mask);
    sim_trap_sigaction(&act, &old);
    return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)(void *)old.sa_sigaction
                                       : old.sa_handler;
}

/* ---- path queries: stat family, access, readlink, realpath ---- */

/*
 * stat() of a sim character device: stat the placeholder in the sim's tree,
 * then make it look like the kernel's node.
 */
#define SIM_VFIO_MAJOR   10     /* misc */
#define SIM_VFIO_MINOR   196
#define SIM_GROUP_MAJOR  245    /* dynamic in the kernel; any value will do */

static void sim_fake_chr(SimPathKind kind, int group_id, mode_t *mode, dev_t *rdev)
{
    if (kind == SIM_PATH_VFIO_CONTAINER || kind == SIM_PATH_CONTROL) {
        *mode = S_IFCHR | 0666;
        *rdev = makedev(SIM_VFIO_MAJOR, SIM_VFIO_MINOR);
    } else {
        *mode = S_IFCHR | 0600;
        *rdev = makedev(SIM_GROUP_MAJOR, group_id);
    }
}

/*
 * Common shape of the path-taking calls: NONE passes @path through,
 * REDIRECT and the devices use the tree path, missing nodes are ENOENT.
 * Returns the path to hand to libc, or NULL with errno set.
 */
static const char *sim_path_for(const char *path, char **redirect, SimPathKind *kind,
                                int *group_id)
{
    *kind = sim_classify(path, redirect, group_id);
    switch (*kind) {
    case SIM_PATH_NONE:
        return path;
    case SIM_PATH_DEV_MISSING:
        errno = ENOENT;
        return NULL;
    default:
        return *redirect;
    }
}

#define SIM_STAT_WRAP(stype, call, patch)                                     \
    do {                                                                      \
        g_autofree char *redirect = NULL;                                     \
        SimPathKind kind;                                                     \
        int group_id = -1;                                                    \
        const char *p = sim_path_for(path, &redirect, &kind, &group_id);      \
        int ret;                                                              \
                                                                              \
        if (!p) {                                                             \
            return -1;                                                        \
        }                                                                     \
        ret = call;                                                           \
        if (ret == 0 && (kind == SIM_PATH_VFIO_CONTAINER ||                   \
                         kind == SIM_PATH_VFIO_GROUP ||                       \
                         kind == SIM_PATH_CONTROL)) {                         \
            mode_t m;                                                         \
            dev_t rd;                                                         \
            sim_fake_chr(kind, group_id, &m, &rd);                            \
            patch;                                                            \
        }                                                                     \
        return ret;                                                           \
    } while (0)

#define SIM_PATCH_STAT(st) do { (st)->st_mode = m; (st)->st_rdev = rd; (st)->st_size = 0; } while (0)

SIM_EXPORT int stat(const char *path, struct stat *st)
{
    SIM_STAT_WRAP(struct stat, REAL(stat)(p, st), SIM_PATCH_STAT(st));
}

SIM_EXPORT int stat64(const char *path, struct stat64 *st)
{
    SIM_STAT_WRAP(struct stat64, REAL(stat64)(p, st), SIM_PATCH_STAT(st));
}

SIM_EXPORT int lstat(const char *path, struct stat *st)
{
    SIM_STAT_WRAP(struct stat, REAL(lstat)(p, st), SIM_PATCH_STAT(st));
}

SIM_EXPORT int lstat64(const char *path, struct stat64 *st)
{
    SIM_STAT_WRAP(struct stat64, REAL(lstat64)(p, st), SIM_PATCH_STAT(st));
}

SIM_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    SIM_STAT_WRAP(struct stat, REAL(fstatat)(dirfd, p, st, flags), SIM_PATCH_STAT(st));
}

SIM_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
    SIM_STAT_WRAP(struct stat64, REAL(fstatat64)(dirfd, p, st, flags), SIM_PATCH_STAT(st));
}

/* The pre-2.33 glibc ABI, still used by binaries built against old glibc. */
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);

#define SIM_XSTAT_CALL(name, ...)                                             \
    ({                                                                        \
        __typeof__(&name) fn_ = REAL(name);                                   \
        fn_ ? fn_(__VA_ARGS__) : (errno = ENOSYS, -1);                        \
    })

SIM_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
    SIM_STAT_WRAP(struct stat, SIM_XSTAT_CALL(__xstat, ver, p, st), SIM_PATCH_STAT(st));
}

SIM_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
    SIM_STAT_WRAP(struct stat64, SIM_XSTAT_CALL(__xstat64, ver, p, st), SIM_PATCH_STAT(st));
}

SIM_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
    SIM_STAT_WRAP(struct stat, SIM_XSTAT_CALL(__lxstat, ver, p, st), SIM_PATCH_STAT(st));
}

SIM_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
    SIM_STAT_WRAP(struct stat64, SIM_XSTAT_CALL(__lxstat64, ver, p, st), SIM_PATCH_STAT(st));
}

SIM_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
    SIM_STAT_WRAP(struct stat, SIM_XSTAT_CALL(__fxstatat, ver, dirfd, p, st, flags),
                  SIM_PATCH_STAT(st));
}

SIM_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
                            int flags)
{
    SIM_STAT_WRAP(struct stat64, SIM_XSTAT_CALL(__fxstatat64, ver, dirfd, p, st, flags),
                  SIM_PATCH_STAT(st));
}

SIM_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask,
                     struct statx *stx)
{
    SIM_STAT_WRAP(struct statx, REAL(statx)(dirfd, p, flags, mask, stx),
                  do {
                      stx->stx_mode = m;
                      stx->stx_rdev_major = major(rd);
                      stx->stx_rdev_minor = minor(rd);
                      stx->stx_size = 0;
                  } while (0));
}

/* fstat() of a sim fd: the backing fd is an eventfd; report a char device. */
static void sim_fstat_patch(int fd, mode_t *mode, dev_t *rdev, bool *patched)
{
    SimFile *f = sim_lock_fd(fd);

    *patched = false;
    if (!f) {
        return;
    }
    if (f->kind == SIM_FILE_CONTAINER || f->kind == SIM_FILE_CONTROL) {
        sim_fake_chr(SIM_PATH_VFIO_CONTAINER, 0, mode, rdev);
        *patched = true;
    } else if (f->kind == SIM_FILE_GROUP) {
        sim_fake_chr(SIM_PATH_VFIO_GROUP, f->group->id, mode, rdev);
        *patched = true;
    }
    sim_unlock_fd();
}

SIM_EXPORT int fstat(int fd, struct stat *st)
{
    int ret = REAL(fstat)(fd, st);
    bool patched;
    mode_t m;
    dev_t rd;

    if (ret == 0 && sim_fd_peek(fd)) {
        sim_fstat_patch(fd, &m, &rd, &patched);
        if (patched) {
            SIM_PATCH_STAT(st);
        }
    }
    return ret;
}

SIM_EXPORT int fstat64(int fd, struct stat64 *st)
{
    int ret = REAL(fstat64)(fd, st);
    bool patched;
    mode_t m;
    dev_t rd;

    if (ret == 0 && sim_fd_peek(fd)) {
        sim_fstat_patch(fd, &m, &rd, &patched);
        if (patched) {
            SIM_PATCH_STAT(st);
        }
    }
    return ret;
}

SIM_EXPORT int access(const char *path, int amode)
{
    g_autofree char *redirect = NULL;
    SimPathKind kind;
    int group_id;
    const char *p = sim_path_for(path, &redirect, &kind, &group_id);

    return p ? REAL(access)(p, amode) : -1;
}

SIM_EXPORT int faccessat(int dirfd, const char *path, int amode, int flags)
{
    g_autofree char *redirect = NULL;
    SimPathKind kind;
    int group_id;
    const char *p = sim_path_for(path, &redirect, &kind, &group_id);

    return p ? REAL(faccessat)(dirfd, p, amode, flags) : -1;
}

int eaccess(const char *path, int amode);
SIM_EXPORT int eaccess(const char *path, int amode)
{
    g_autofree char *redirect = NULL;
    SimPathKind kind;
    int group_id;
    const char *p = sim_path_for(path, &redirect, &kind, &group_id);

    return p ? REAL(eaccess)(p, amode) : -1;
}

SIM_EXPORT ssize_t readlink(const char *path, char *buf, size_t size)
{
    g_autofree char *redirect = NULL;
    SimPathKind kind;
    int group_id;
    const char *p = sim_path_for(path, &redirect, &kind, &group_id);

    return p ? REAL(readlink)(p, buf, size) : -1;
}

SIM_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
    g_autofree char *redirect = NULL;
    SimPathKind kind;
    int group_id;
    const char *p = sim_path_for(path, &redirect, &kind, &group_id);

    return p ? REAL(readlinkat)(dirfd, p, buf, size) : -1;
}

/*
 * realpath() resolves inside the tree; the answer is mapped back so the
 * program sees /sys/devices/... as on a real host.
 */
static char *sim_realpath_common(const char *path, char *resolved,
                                 char *(*next)(const char *, char *))
{
    g_autofree char *redirect = NULL;
    g_autofree char *inner = NULL;
    g_autofree char *outer = NULL;
    SimPathKind kind;
    int group_id;
    const char *p = sim_path_for(path, &redirect, &kind, &group_id);

    if (!p) {
        return NULL;
    }
    if (kind == SIM_PATH_NONE) {
        return next(path, resolved);
    }
    if (kind != SIM_PATH_REDIRECT && kind != SIM_PATH_VFIO_DIR) {
        /* A device node resolves to itself. */
        outer = g_strdup(path);
    } else {
        inner = next(p, NULL);
        if (!inner) {
            return NULL;
        }
        sim_enter();
        outer = sim_sysfs_unredirect(inner);
        sim_leave();
    }
    if (resolved) {
        g_strlcpy(resolved, outer, PATH_MAX);
        return resolved;
    }
    /* The caller frees with free(): hand out malloc'd memory. */
    return strdup(outer);
}

SIM_EXPORT char *realpath(const char *path, char *resolved)
{
    return sim_realpath_common(path, resolved, REAL(realpath));
}

char *canonicalize_file_name(const char *path);
SIM_EXPORT char *canonicalize_file_name(const char *path)
{
    return sim_realpath_common(path, NULL, REAL(realpath));
}

/* ---- diagnostics ---- */

void sim_debug(const char *fmt, ...)
{
    static int enabled = -1;
    va_list ap;

    if (enabled < 0) {
        const char *e = getenv("VFIO_SIM_DEBUG");

        enabled = e && *e && strcmp(e, "0") != 0;
    }
    if (!enabled) {
        return;
    }
    va_start(ap, fmt);
    fprintf(stderr, "vfio-sim[%d]: ", getpid());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
