/*
 * The accelerator's VFIO hook (include/sysemu/accel-vfio.h) and its no-KVM
 * implementation.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "sysemu/accel-vfio.h"
#include "trace/trace-accel.h"

static bool accel_vfio_none_file_add(int fd, Error **errp)
{
    trace_accel_vfio_none_file_add(fd);
    return true;
}

static bool accel_vfio_none_file_del(int fd, Error **errp)
{
    trace_accel_vfio_none_file_del(fd);
    return true;
}

static const AccelVFIOOps accel_vfio_none_ops = {
    .name = "none",
    .file_add = accel_vfio_none_file_add,
    .file_del = accel_vfio_none_file_del,
};

static const AccelVFIOOps *accel_vfio_ops = &accel_vfio_none_ops;

void accel_vfio_set_ops(const AccelVFIOOps *ops)
{
    accel_vfio_ops = ops ? ops : &accel_vfio_none_ops;
    trace_accel_vfio_set_ops(accel_vfio_ops->name);
}

const AccelVFIOOps *accel_vfio_get_ops(void)
{
    return accel_vfio_ops;
}

bool accel_vfio_file_add(int fd, Error **errp)
{
    return accel_vfio_ops->file_add(fd, errp);
}

bool accel_vfio_file_del(int fd, Error **errp)
{
    return accel_vfio_ops->file_del(fd, errp);
}
