/*
 * Machine reset handlers (QEMU's include/sysemu/reset.h, the legacy part):
 * functions qemu_system_reset() calls after every device's cold reset, in
 * the order they were registered.  For work that needs the whole machine
 * reset first, such as a bus reset reaching several assigned devices.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef SYSEMU_RESET_H
#define SYSEMU_RESET_H

typedef void QEMUResetHandler(void *opaque);

void qemu_register_reset(QEMUResetHandler *func, void *opaque);
/* Remove the first registration of @func with @opaque; nothing if there is none. */
void qemu_unregister_reset(QEMUResetHandler *func, void *opaque);

#endif /* SYSEMU_RESET_H */
