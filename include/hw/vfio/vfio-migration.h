/*
 * Migration of assigned devices: VFIO migration v2 (hw/vfio/migration.c).
 *
 * A bus device (vfio-pci) calls vfio_migration_realize() once its device
 * is attached and its config space is set up, and vfio_migration_exit()
 * when it goes.  realize probes VFIO_DEVICE_FEATURE_MIGRATION: a device
 * with STOP_COPY gets a migration handler "vfio-pci@BB:SS.F/vfio" (its
 * guest address, so source and destination hosts may differ) and VM
 * change state handlers; a device without, or with enable-migration=off,
 * adds a migration blocker (enable-migration=on then fails realize
 * instead, as QEMU does).  More than one migratable device needs P2P
 * support in all of them (else a blocker); they then go through the P2P
 * states so that no device stops while another can still reach it.
 *
 * Source: RUNNING -> PRE_COPY at setup (when the device has it; pre-copy
 * data is read from the data_fd while the VM runs, VFIO_MIG_GET_PRECOPY_INFO
 * says how much is left, the end of the initial data is flagged for
 * switchover-ack) -> [PRE_COPY_P2P] -> STOP_COPY when the VM stops for the
 * switchover -> the data_fd read to its end -> STOP after completion.  On
 * failure or cancel the device returns to RUNNING (or STOP while the VM is
 * stopped, RUNNING when it restarts); a transition the kernel refuses is
 * retried towards a recovery state and, failing that, the device is reset.
 *
 * Destination: RESUMING at load setup, the data written to the data_fd,
 * RESUMING -> STOP once the stream is complete (the device checks the data
 * there, and a refusal fails the load before the source lets go), the
 * config state (VFIODeviceOps.vfio_load_config) applied in the FULL
 * section, then RUNNING when the VM starts.
 *
 * Threading: BQL (realize, exit, the handlers that the migration core
 * calls with it); the iterate callback reads the data_fd without it.
 */
#ifndef HW_VFIO_VFIO_MIGRATION_H
#define HW_VFIO_VFIO_MIGRATION_H

#include "hw/qdev-properties.h"
#include "hw/vfio/vfio-device.h"

/*
 * Set up migration for @vbasedev (attached; for PCI, vbasedev->opaque is
 * the VFIOPCIDevice).  false with @errp only when realize must fail:
 * enable-migration=on and the device cannot migrate, or a blocker cannot
 * be added because a migration is running.
 */
bool vfio_migration_realize(VFIODevice *vbasedev, OnOffAuto enable_migration, Error **errp);
/* Undo realize: handler, VM change handlers and blocker go. */
void vfio_migration_exit(VFIODevice *vbasedev);
/* Whether @vbasedev migrates (realize registered its handler). */
bool vfio_migration_enabled(const VFIODevice *vbasedev);

#endif /* HW_VFIO_VFIO_MIGRATION_H */
