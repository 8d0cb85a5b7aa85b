/*
 * vfio-sim: the simulated host — its IOMMU groups and devices — and the lock
 * that serializes every entry into the sim.
 *
 * The world is built on first use from VFIO_SIM_CONFIG (or the built-in
 * topology) and lives until the process exits or a test reloads it through
 * the control file.  fork() gives the child a copy: the sim is per process,
 * unlike the kernel, which a forked child shares with its parent.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "trace/trace-vfio_sim.h"
#include "qapi/error.h"

pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;
SimWorld *sim_world;
static bool sim_world_failed;   /* the configuration was bad: stay out of the way */

static const SimDeviceOps *sim_model_ops(SimModel model)
{
    switch (model) {
    case SIM_MODEL_EDU:
        return &sim_edu_ops;
    case SIM_MODEL_MIG:
        return &sim_mig_ops;
    case SIM_MODEL_PIN:
        return &sim_pin_ops;
    }
    g_assert_not_reached();
}

SimGroup *sim_world_group(int id)
{
    for (int i = 0; sim_world && i < sim_world->nr_groups; i++) {
        if (sim_world->groups[i].id == id) {
            return &sim_world->groups[i];
        }
    }
    return NULL;
}

SimDevice *sim_world_device(const char *bdf)
{
    for (int i = 0; sim_world && i < sim_world->nr_devices; i++) {
        if (!strcmp(sim_world->devices[i].cfg.bdf, bdf)) {
            return &sim_world->devices[i];
        }
    }
    return NULL;
}

static SimWorld *sim_world_build(const SimConfig *cfg, char **errmsg)
{
    SimWorld *w = g_new0(SimWorld, 1);

    w->cfg = *cfg;
    for (int i = 0; i < cfg->nr_devices; i++) {
        const SimDeviceConfig *dc = &cfg->devices[i];
        SimDevice *dev = &w->devices[w->nr_devices++];
        SimGroup *g = NULL;

        for (int j = 0; j < w->nr_groups; j++) {
            if (w->groups[j].id == dc->group) {
                g = &w->groups[j];
            }
        }
        if (!g) {
            if (w->nr_groups == SIM_MAX_GROUPS) {
                *errmsg = g_strdup("too many IOMMU groups");
                goto fail;
            }
            g = &w->groups[w->nr_groups++];
            g->id = dc->group;
            g->emulated = dc->model == SIM_MODEL_PIN;
        } else if (g->emulated != (dc->model == SIM_MODEL_PIN)) {
            /* An emulated IOMMU group holds one mdev-like device and nothing else. */
            *errmsg = g_strdup_printf("group %d mixes a pin device with others", g->id);
            goto fail;
        }
        dev->cfg = *dc;
        dev->index = i;
        dev->ops = sim_model_ops(dc->model);
        dev->group = g;
        g->devices = g_list_append(g->devices, dev);
        if (!strcmp(dc->driver, "vfio-pci")) {
            g->has_vfio_node = true;
        }
    }
    for (int i = 0; i < w->nr_devices; i++) {
        sim_device_realize(&w->devices[i]);
    }
    return w;

fail:
    for (int j = 0; j < w->nr_groups; j++) {
        g_list_free(w->groups[j].devices);
    }
    g_free(w);
    return NULL;
}

static void sim_world_free(SimWorld *w)
{
    for (int i = 0; i < w->nr_devices; i++) {
        sim_device_finalize(&w->devices[i]);
    }
    for (int i = 0; i < w->nr_groups; i++) {
        g_list_free(w->groups[i].devices);
    }
    g_free(w);
}

/* Switch trace events on from VFIO_SIM_TRACE (same syntax as -trace). */
static void sim_trace_init(void)
{
    const char *spec = getenv("VFIO_SIM_TRACE");
    Error *err = NULL;

    if (spec && *spec && !trace_opt_parse(spec, &err)) {
        fprintf(stderr, "vfio-sim: VFIO_SIM_TRACE: %s\n", error_get_pretty(err));
        error_free(err);
    }
}

static SimWorld *sim_world_create(const char *path, char **errmsg)
{
    SimConfig *cfg = g_new0(SimConfig, 1);
    const char *faults = getenv("VFIO_SIM_FAULTS");
    SimWorld *w = NULL;

    if (path && *path) {
        if (!sim_config_load(cfg, path, errmsg)) {
            goto out;
        }
    } else {
        sim_config_default(cfg);
    }
    if (faults && *faults && !sim_config_parse_faults(&cfg->faults, faults, errmsg)) {
        char *m = g_strdup_printf("VFIO_SIM_FAULTS: %s", *errmsg);

        g_free(*errmsg);
        *errmsg = m;
        goto out;
    }
    w = sim_world_build(cfg, errmsg);
out:
    g_free(cfg);
    return w;
}

SimWorld *sim_world_get(void)
{
    g_autofree char *errmsg = NULL;
    static bool traced;

    if (sim_world || sim_world_failed) {
        return sim_world;
    }
    if (!traced) {
        traced = true;
        sim_trace_init();
    }
    sim_world = sim_world_create(getenv("VFIO_SIM_CONFIG"), &errmsg);
    if (!sim_world) {
        fprintf(stderr, "vfio-sim: %s; VFIO is not simulated in this process\n", errmsg);
        sim_world_failed = true;
        return NULL;
    }
    if (sim_sysfs_build(sim_world) < 0) {
        fprintf(stderr, "vfio-sim: cannot build the sysfs tree: %s\n", strerror(errno));
        sim_world_free(sim_world);
        sim_world = NULL;
        sim_world_failed = true;
        return NULL;
    }
    trace_vfio_sim_world(sim_world->cfg.source, sim_world->nr_devices, sim_world->nr_groups);
    return sim_world;
}

int sim_world_reload(const char *path, char **errmsg)
{
    SimWorld *w;

    if (sim_world && sim_world->open_files) {
        *errmsg = g_strdup_printf("%d sim files are still open", sim_world->open_files);
        return -EBUSY;
    }
    w = sim_world_create(path, errmsg);
    if (!w) {
        return -EINVAL;
    }
    sim_worker_reset();
    sim_device_forget_mappings();
    if (sim_world) {
        sim_world_free(sim_world);
    }
    sim_world = w;
    sim_world_failed = false;
    if (sim_sysfs_build(w) < 0) {
        *errmsg = g_strdup_printf("cannot build the sysfs tree: %s", strerror(errno));
        return -errno;
    }
    trace_vfio_sim_world(w->cfg.source, w->nr_devices, w->nr_groups);
    return 0;
}

/*
 * fork(): the child must not inherit sim_lock held by another thread, nor
 * believe the sim thread runs.
 */
static void sim_atfork_prepare(void)
{
    pthread_mutex_lock(&sim_lock);
}

static void sim_atfork_parent(void)
{
    pthread_mutex_unlock(&sim_lock);
}

static void sim_atfork_child(void)
{
    pthread_mutex_unlock(&sim_lock);
    /* A new mm: nothing locked yet; the parent's mappings stay charged to the parent. */
    sim_locked_vm = 0;
    sim_worker_after_fork();
}

static void __attribute__((constructor)) sim_world_init(void)
{
    pthread_atfork(sim_atfork_prepare, sim_atfork_parent, sim_atfork_child);
}

static void __attribute__((destructor)) sim_world_fini(void)
{
    sim_worker_stop();
    sim_sysfs_destroy();
}
