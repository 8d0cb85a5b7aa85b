/*
 * vfio-sim: the control file, /dev/vfio-sim.
 *
 * Sim-specific tests need to swap topologies and arm faults inside one
 * process, without linking against the sim.  Opening /dev/vfio-sim gives an
 * fd that takes one command per write():
 *
 *   reload [PATH]           replace the topology (default: built-in); refused
 *                           with EBUSY while sim fds are open
 *   fault KEY=VALUE[,...]   set fault injection keys (docs/vfio-sim.md)
 *
 * and answers read() with a status report, one "key value" line each:
 * the topology source, the MAP_DMA and data_fd read counters, the pages
 * pinned mappings charge to locked memory ("locked-pages N"), and each
 * device's DMA fault count ("dma-faults BDF N") and the bus resets that
 * reached it ("hot-resets BDF N").  A bad command fails the write with
 * EINVAL.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "uaccess.h"

ssize_t sim_control_write(const char *ubuf, size_t count)
{
    g_autofree char *cmd = NULL;
    g_autofree char *errmsg = NULL;
    int ret = 0;

    if (count > 4096) {
        return -EINVAL;
    }
    cmd = g_malloc0(count + 1);
    if (sim_copy_from_user(cmd, ubuf, count) < 0) {
        return -EFAULT;
    }
    g_strstrip(cmd);
    if (!strcmp(cmd, "reload") || g_str_has_prefix(cmd, "reload ")) {
        const char *path = cmd[6] ? g_strstrip(cmd + 6) : NULL;

        ret = sim_world_reload(path && *path ? path : NULL, &errmsg);
    } else if (g_str_has_prefix(cmd, "fault ")) {
        if (!sim_config_parse_faults(&sim_world->cfg.faults, cmd + 6, &errmsg)) {
            ret = -EINVAL;
        }
    } else {
        errmsg = g_strdup_printf("unknown command '%s'", cmd);
        ret = -EINVAL;
    }
    if (ret < 0) {
        sim_debug("control: %s", errmsg ? errmsg : "failed");
        return ret;
    }
    return count;
}

ssize_t sim_control_read(void *ubuf, size_t count)
{
    GString *s = g_string_new(NULL);
    ssize_t n;

    g_string_append_printf(s, "config %s\n", sim_world->cfg.source);
    g_string_append_printf(s, "map-calls %" PRIu64 "\n", sim_world->cfg.faults.map_calls);
    g_string_append_printf(s, "data-reads %" PRIu64 "\n", sim_world->cfg.faults.data_reads);
    g_string_append_printf(s, "open-files %d\n", sim_world->open_files);
    g_string_append_printf(s, "locked-pages %" PRIu64 "\n", sim_locked_vm);
    for (int i = 0; i < sim_world->nr_devices; i++) {
        SimDevice *d = &sim_world->devices[i];

        g_string_append_printf(s, "dma-faults %s %" PRIu64 "\n", d->cfg.bdf, d->dma_faults);
        g_string_append_printf(s, "hot-resets %s %" PRIu64 "\n", d->cfg.bdf, d->hot_resets);
    }
    n = MIN(count, s->len);
    if (sim_copy_to_user(ubuf, s->str, n) < 0) {
        n = -EFAULT;
    }
    g_string_free(s, true);
    return n;
}
