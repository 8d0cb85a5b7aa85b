/*
 * vfio-sim: access to the caller's memory the way the kernel does it.
 *
 * The kernel reads ioctl arguments with copy_from_user(), which fails with
 * EFAULT on a bad pointer instead of crashing.  The sim gets the same
 * behaviour from process_vm_readv()/process_vm_writev() on its own process:
 * the kernel walks the page tables and honours the page protections, so a
 * wild or read-only pointer gives EFAULT here too.  Device DMA uses the same
 * path, which also means a DMA into memory the program has since unmapped
 * cannot take the program down.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef VFIO_SIM_UACCESS_H
#define VFIO_SIM_UACCESS_H

#include "qemu/osdep.h"

/* 0 or -EFAULT; nothing is guaranteed about @dst on failure. */
int sim_copy_from_user(void *dst, const void *user_src, size_t len);
/* 0 or -EFAULT; on failure a prefix may have been written. */
int sim_copy_to_user(void *user_dst, const void *src, size_t len);
/* Duplicate a NUL-terminated user string of at most @max bytes (strndup_user). */
char *sim_strndup_user(const char *user_src, size_t max, int *err);
/*
 * -EFAULT unless every page of [addr, addr + len) is mapped (any protection);
 * costs one step per VMA of the range, touches no page.
 */
int sim_check_mapped(uint64_t addr, uint64_t len);

#endif
