/*
 * What VFIO asks of the accelerator.
 *
 * With KVM, every VFIO group (or device cdev) file the VM uses is handed to
 * the KVM VFIO pseudo-device (KVM_DEV_VFIO_FILE_ADD/DEL): KVM then knows
 * whether DMA may be non-coherent (it must honour guest cache attributes)
 * and, on sPAPR, how to reach the TCE tables.  Without KVM there is nothing
 * to tell: the built-in implementation only traces.  An accelerator that
 * needs the hook installs its own ops at start-up.
 *
 * Threading: main loop thread only.
 */
#ifndef SYSEMU_ACCEL_VFIO_H
#define SYSEMU_ACCEL_VFIO_H

#include "qemu/osdep.h"

typedef struct AccelVFIOOps {
    const char *name;               /* the accelerator, for traces */
    /* Tell the accelerator the VM uses VFIO file @fd (a group fd). */
    bool (*file_add)(int fd, Error **errp);
    /* @fd is no longer used; called before it is closed. */
    bool (*file_del)(int fd, Error **errp);
} AccelVFIOOps;

/* Install @ops (NULL: back to the no-KVM implementation). */
void accel_vfio_set_ops(const AccelVFIOOps *ops);
/* The ops in force: the no-KVM ones unless an accelerator installed others. */
const AccelVFIOOps *accel_vfio_get_ops(void);

bool accel_vfio_file_add(int fd, Error **errp);
bool accel_vfio_file_del(int fd, Error **errp);

#endif /* SYSEMU_ACCEL_VFIO_H */
