/*
 * The qtest accelerator: no vCPUs run guest code.  Guest time
 * (QEMU_CLOCK_VIRTUAL) stands still except when the qtest client moves it
 * with clock_step/clock_set, so timers fire exactly when a test says.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "sysemu/qtest.h"
#include "trace/trace-accel_qtest.h"

static bool qtest_accel_active;

bool qtest_accel_init(Error **errp)
{
    if (!qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, true)) {
        error_setg(errp, "qtest: cannot put the virtual clock under manual control");
        return false;
    }
    qtest_accel_active = true;
    trace_qtest_accel_init(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    return true;
}

bool qtest_enabled(void)
{
    /* A manual virtual clock is the qtest accelerator, whoever switched it. */
    return qtest_accel_active || qemu_clock_is_manual(QEMU_CLOCK_VIRTUAL);
}
