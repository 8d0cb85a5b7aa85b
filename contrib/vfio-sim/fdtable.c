/*
 * vfio-sim: which fds are the sim's, and what they refer to.
 *
 * Every object the sim hands out is named by a real fd (an eventfd nobody
 * signals), so that poll(), dup(), fork() and the fd numbering behave as
 * with the kernel's files.  The table maps fd numbers to SimFiles.  Lookups
 * from the interposed read()/write()/ioctl() of every fd in the process
 * must be cheap, so the slots are read without the lock first (a hint), and
 * re-read under sim_lock before anything is dereferenced.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"

#include <sys/eventfd.h>

/* fd -> SimFile; written under sim_lock, read anywhere. */
static SimFile *sim_fd_slots[SIM_FD_MAX];
int sim_fd_count;

SimFile *sim_fd_peek(int fd)
{
    if (fd < 0 || fd >= SIM_FD_MAX || !__atomic_load_n(&sim_fd_count, __ATOMIC_RELAXED)) {
        return NULL;
    }
    return __atomic_load_n(&sim_fd_slots[fd], __ATOMIC_ACQUIRE);
}

SimFile *sim_fd_get(int fd)
{
    if (fd < 0 || fd >= SIM_FD_MAX) {
        return NULL;
    }
    return sim_fd_slots[fd];
}

int sim_fd_install(int fd, SimFile *file)
{
    if (fd < 0 || fd >= SIM_FD_MAX) {
        return -EMFILE;
    }
    if (sim_fd_slots[fd]) {
        /* The fd was closed behind our back (close_range, a raw syscall). */
        sim_fd_remove(fd);
    }
    sim_file_ref(file);
    __atomic_store_n(&sim_fd_slots[fd], file, __ATOMIC_RELEASE);
    __atomic_add_fetch(&sim_fd_count, 1, __ATOMIC_RELAXED);
    return 0;
}

void sim_fd_remove(int fd)
{
    SimFile *f = sim_fd_get(fd);

    if (!f) {
        return;
    }
    __atomic_store_n(&sim_fd_slots[fd], NULL, __ATOMIC_RELEASE);
    __atomic_sub_fetch(&sim_fd_count, 1, __ATOMIC_RELAXED);
    sim_file_unref(f);
}

int sim_fd_new_backing(bool cloexec)
{
    int fd = eventfd(0, EFD_NONBLOCK | (cloexec ? EFD_CLOEXEC : 0));

    if (fd < 0) {
        return -errno;
    }
    if (fd >= SIM_FD_MAX) {
        sim_real.close(fd);
        return -EMFILE;
    }
    return fd;
}

SimFile *sim_file_new(SimFileKind kind)
{
    SimFile *f = g_new0(SimFile, 1);

    f->kind = kind;
    f->refs = 1;
    f->backing_fd = -1;
    /* The control file does not hold the topology in place. */
    if (sim_world && kind != SIM_FILE_CONTROL) {
        sim_world->open_files++;
    }
    return f;
}

void sim_file_ref(SimFile *file)
{
    file->refs++;
}

/* The kernel's ->release(): runs when the last reference goes. */
void sim_file_unref(SimFile *file)
{
    g_assert(file->refs > 0);
    if (--file->refs) {
        return;
    }
    switch (file->kind) {
    case SIM_FILE_CONTAINER:
        sim_container_release(file->container);
        break;
    case SIM_FILE_GROUP:
        sim_group_release(file->group);
        break;
    case SIM_FILE_DEVICE:
        sim_device_release(file->device);
        break;
    case SIM_FILE_MIG_DATA:
        sim_mig_file_release(file->mig);
        break;
    case SIM_FILE_CONTROL:
        break;
    }
    if (sim_world && file->kind != SIM_FILE_CONTROL) {
        sim_world->open_files--;
    }
    g_free(file);
}
