/*
 * IOMMU groups of the legacy backend, and attaching a device through its
 * group (include/hw/vfio/vfio-container.h).
 *
 * The kernel isolates devices per IOMMU group and lets a process open a
 * group once, so one VFIOGroup serves every device of its group; it is
 * looked up by number and lives while it has devices.  Attaching a device
 * is: sysfs -> group number -> group (opened, viable, in a container of the
 * device's address space, known to the accelerator) -> device fd -> device
 * info.  Every step is undone, in reverse order, when a later one fails.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "sysemu/accel-vfio.h"
#include "hw/vfio/vfio-container.h"
#include "hw/vfio/vfio-device.h"
#include "trace/trace-hw_vfio.h"

#include <sys/ioctl.h>

/* Open groups (VFIOGroup *), most recent first. */
static GList *vfio_group_list;

VFIOGroup *vfio_group_find(int groupid)
{
    for (GList *l = vfio_group_list; l; l = l->next) {
        VFIOGroup *group = l->data;

        if (group->groupid == groupid) {
            return group;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* sysfs */

int vfio_device_get_groupid(VFIODevice *vbasedev, Error **errp)
{
    ERRP_GUARD();
    g_autofree char *link = g_strdup_printf("%s/iommu_group", vbasedev->sysfsdev);
    char target[PATH_MAX];
    const char *base;
    gint64 groupid;
    ssize_t len;

    len = readlink(link, target, sizeof(target));
    if (len < 0) {
        int err = errno;

        if (err == ENOENT && access(vbasedev->sysfsdev, F_OK) != 0) {
            error_setg(errp, "no host device at %s", vbasedev->sysfsdev);
            error_append_hint(errp, "Check the device address (lspci -D lists them).\n");
        } else if (err == ENOENT) {
            error_setg(errp, "the device has no IOMMU group (%s is missing)", link);
            error_append_hint(errp, "Is an IOMMU enabled on the host (e.g. intel_iommu=on "
                              "or amd_iommu=on on the kernel command line)?\n");
        } else if (err == EINVAL) {
            error_setg(errp, "%s is not a symbolic link to an IOMMU group", link);
        } else {
            error_setg_errno(errp, err, "cannot read %s", link);
        }
        return -1;
    }
    if (len == 0 || (size_t)len >= sizeof(target)) {
        error_setg(errp, "%s: link target is %s", link, len ? "too long" : "empty");
        return -1;
    }
    target[len] = 0;
    base = strrchr(target, '/');
    base = base ? base + 1 : target;
    if (!g_ascii_string_to_signed(base, 10, 0, INT_MAX, &groupid, NULL)) {
        error_setg(errp, "%s points to '%s', which does not end in an IOMMU group number",
                   link, target);
        return -1;
    }
    trace_vfio_device_get_groupid(vbasedev->name, (int)groupid);
    return (int)groupid;
}

/* Drivers whose devices leave a group viable (vfio-pci and its variants). */
static bool vfio_driver_is_vfio(const char *driver)
{
    return strstr(driver, "vfio") != NULL || !strcmp(driver, "pci-stub");
}

/*
 * Say which devices keep group @groupid from being viable: those bound to
 * a driver other than vfio's, from /sys/kernel/iommu_groups/N/devices.
 */
static void vfio_group_hint_not_viable(Error **errp, int groupid)
{
    ERRP_GUARD();
    g_autofree char *dir = g_strdup_printf("/sys/kernel/iommu_groups/%d/devices", groupid);
    g_autoptr(GString) culprits = g_string_new(NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *drvlink = g_strdup_printf("%s/%s/driver", dir, name);
        g_autofree char *driver = g_file_read_link(drvlink, NULL);
        g_autofree char *drvname = driver ? g_path_get_basename(driver) : NULL;

        if (drvname && !vfio_driver_is_vfio(drvname)) {
            g_string_append_printf(culprits, "%s%s (bound to %s)",
                                   culprits->len ? ", " : "", name, drvname);
        }
    }
    if (d) {
        g_dir_close(d);
    }
    if (culprits->len) {
        error_append_hint(errp, "IOMMU group %d also holds %s: bind every device of the "
                          "group to vfio-pci, or unbind it from its driver.\n", groupid,
                          culprits->str);
    } else {
        error_append_hint(errp, "Bind every device of IOMMU group %d (%s) to vfio-pci, "
                          "or unbind it from its driver.\n", groupid, dir);
    }
}

/* ------------------------------------------------------------------------ */
/* Groups */

static int vfio_group_open(int groupid, Error **errp)
{
    ERRP_GUARD();
    g_autofree char *path = g_strdup_printf("/dev/vfio/%d", groupid);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    int err = errno;

    if (fd >= 0) {
        trace_vfio_group_open(groupid, fd);
        return fd;
    }
    error_setg_errno(errp, err, "cannot open group %d (%s)", groupid, path);
    switch (err) {
    case ENOENT:
        error_append_hint(errp, "The group has a %s only while one of its devices is "
                          "bound to vfio-pci.\n", path);
        break;
    case EBUSY:
        error_append_hint(errp, "A group can be opened once: another process (or another "
                          "user of VFIO in this one) has it.\n");
        break;
    case EACCES:
    case EPERM:
        error_append_hint(errp, "Give this user access to %s.\n", path);
        break;
    }
    return -1;
}

static bool vfio_group_check_viable(VFIOGroup *group, Error **errp)
{
    ERRP_GUARD();
    struct vfio_group_status status = { .argsz = sizeof(status) };

    if (ioctl(group->fd, VFIO_GROUP_GET_STATUS, &status)) {
        error_setg_errno(errp, errno, "cannot read the status of group %d", group->groupid);
        return false;
    }
    trace_vfio_group_get_status(group->groupid, status.flags);
    if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
        error_setg(errp, "group %d is not viable", group->groupid);
        vfio_group_hint_not_viable(errp, group->groupid);
        return false;
    }
    return true;
}

VFIOGroup *vfio_group_get(int groupid, AddressSpace *as, Error **errp)
{
    ERRP_GUARD();
    VFIOGroup *group = vfio_group_find(groupid);

    if (group) {
        if (group->container->bcontainer.space->as != as) {
            error_setg(errp, "group %d used in multiple address spaces (%s and %s)",
                       groupid, group->container->bcontainer.space->as->name, as->name);
            error_append_hint(errp, "Devices of one IOMMU group share one IOMMU context: "
                              "put them all behind the same (v)IOMMU.\n");
            return NULL;
        }
        trace_vfio_group_get_existing(groupid);
        return group;
    }

    group = g_new0(VFIOGroup, 1);
    group->groupid = groupid;
    group->fd = vfio_group_open(groupid, errp);
    if (group->fd < 0) {
        goto free_group;
    }
    if (!vfio_group_check_viable(group, errp)) {
        goto close_fd;
    }
    if (!vfio_container_connect(group, as, errp)) {
        goto close_fd;
    }
    if (!accel_vfio_file_add(group->fd, errp)) {
        error_prepend(errp, "group %d: ", groupid);
        goto disconnect;
    }
    vfio_group_list = g_list_prepend(vfio_group_list, group);
    trace_vfio_group_get(groupid, group->fd, group->container->fd);
    return group;

disconnect:
    vfio_container_disconnect(group);
close_fd:
    close(group->fd);
free_group:
    g_free(group);
    return NULL;
}

void vfio_group_put(VFIOGroup *group)
{
    Error *err = NULL;

    if (!group || group->device_list) {
        return;
    }
    trace_vfio_group_put(group->groupid, group->fd);
    vfio_group_list = g_list_remove(vfio_group_list, group);
    if (!accel_vfio_file_del(group->fd, &err)) {
        error_prepend(&err, "vfio: group %d: ", group->groupid);
        warn_report_err(err);
    }
    vfio_container_disconnect(group);
    close(group->fd);
    g_free(group);
}

/* ------------------------------------------------------------------------ */
/* Devices through their group */

/*
 * A device whose driver tolerates discarded RAM lets its group drop the
 * container's discard restriction; every device of a group must say the
 * same, since the restriction is per group.
 */
static bool vfio_group_apply_discard_setting(VFIOGroup *group, VFIODevice *vbasedev,
                                             Error **errp)
{
    int ret;

    if (vbasedev->ram_block_discard_allowed == group->ram_block_discard_allowed) {
        return true;
    }
    if (group->device_list) {
        error_setg(errp, "group %d: the device %s RAM discard and the group's other "
                   "devices %s: the setting must agree within a group", group->groupid,
                   vbasedev->ram_block_discard_allowed ? "allows" : "forbids",
                   group->ram_block_discard_allowed ? "allow it" : "forbid it");
        return false;
    }
    ret = vfio_container_ram_discard_disable(group->container,
                                             !vbasedev->ram_block_discard_allowed);
    if (ret) {
        error_setg_errno(errp, -ret, "group %d: cannot forbid RAM discard", group->groupid);
        return false;
    }
    group->ram_block_discard_allowed = vbasedev->ram_block_discard_allowed;
    trace_vfio_group_discard_allowed(group->groupid, group->ram_block_discard_allowed);
    return true;
}

static bool vfio_group_get_device(VFIOGroup *group, const char *name,
                                  VFIODevice *vbasedev, Error **errp)
{
    ERRP_GUARD();
    int fd = ioctl(group->fd, VFIO_GROUP_GET_DEVICE_FD, name);

    if (fd < 0) {
        int err = errno;

        trace_vfio_group_get_device_fd_failed(group->groupid, name, err);
        error_setg_errno(errp, err, "cannot get device %s from group %d", name,
                         group->groupid);
        error_append_hint(errp, "Is every device of group %d bound to vfio-pci, and "
                          "%s not in use by another program?\n", group->groupid, name);
        return false;
    }
    trace_vfio_group_get_device_fd(group->groupid, name, fd);
    vbasedev->fd = fd;
    if (!vfio_group_apply_discard_setting(group, vbasedev, errp) ||
        !vfio_device_get_info(vbasedev, errp)) {
        goto close_fd;
    }
    vbasedev->group = group;
    group->device_list = g_list_prepend(group->device_list, vbasedev);
    vfio_device_prepare(vbasedev, &group->container->bcontainer);
    return true;

close_fd:
    close(fd);
    vbasedev->fd = -1;
    return false;
}

static void vfio_group_put_device(VFIODevice *vbasedev)
{
    VFIOGroup *group = vbasedev->group;

    vfio_device_unprepare(vbasedev);
    group->device_list = g_list_remove(group->device_list, vbasedev);
    vbasedev->group = NULL;
    trace_vfio_group_put_device(group->groupid, vbasedev->name, vbasedev->fd);
    close(vbasedev->fd);
    vbasedev->fd = -1;
}

bool vfio_legacy_attach_device(const char *name, VFIODevice *vbasedev, AddressSpace *as,
                               Error **errp)
{
    int groupid = vfio_device_get_groupid(vbasedev, errp);
    VFIOGroup *group;

    if (groupid < 0) {
        return false;
    }
    trace_vfio_legacy_attach_device(vbasedev->name, groupid);
    group = vfio_group_get(groupid, as, errp);
    if (!group) {
        return false;
    }
    for (GList *l = group->device_list; l; l = l->next) {
        VFIODevice *other = l->data;

        if (other == vbasedev || !strcmp(other->name, vbasedev->name)) {
            error_setg_errno(errp, EBUSY, "device is already attached");
            goto put_group;
        }
    }
    if (!vfio_group_get_device(group, name, vbasedev, errp)) {
        goto put_group;
    }
    return true;

put_group:
    vfio_group_put(group);
    return false;
}

void vfio_legacy_detach_device(VFIODevice *vbasedev)
{
    VFIOGroup *group = vbasedev->group;

    trace_vfio_legacy_detach_device(vbasedev->name, group->groupid);
    vfio_group_put_device(vbasedev);
    vfio_group_put(group);
}
