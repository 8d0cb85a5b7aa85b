/*
 * vfio-sim: building the capability chains of the *_GET_INFO ioctls.
 *
 * The kernel (vfio_info_cap_add) appends each capability 8-byte aligned to
 * a buffer whose offsets start at 0, then shifts every "next" by the size of
 * the fixed struct when it copies the chain out after it.  The same here.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef VFIO_SIM_CAPS_H
#define VFIO_SIM_CAPS_H

#include "qemu/osdep.h"

typedef struct SimCaps {
    GByteArray *buf;            /* the chain, offsets relative to its start */
    uint32_t last;              /* offset of the last header, for linking */
} SimCaps;

void sim_caps_init(SimCaps *caps);
/* Append @cap (@size bytes, starting with a vfio_info_cap_header). */
void sim_caps_add(SimCaps *caps, const void *cap, size_t size);
/* Rebase every "next" by @offset (where the chain lands in the user buffer). */
void sim_caps_shift(SimCaps *caps, uint32_t offset);
void sim_caps_free(SimCaps *caps);

/*
 * The argsz protocol of GET_INFO style ioctls: if the caller's @argsz can
 * hold the fixed struct (@fixed bytes) plus the chain, copy the chain to
 * @user + @fixed and return its offset (@fixed); else raise *@argsz_out to
 * what is needed and return 0.  -EFAULT if the copy fails.
 */
long sim_caps_copy_out(SimCaps *caps, void *user, uint32_t argsz, size_t fixed,
                       uint32_t *argsz_out);

#endif
