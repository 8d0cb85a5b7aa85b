/*
 * vfio-sim: capability chains (see caps.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "caps.h"
#include "uaccess.h"

void sim_caps_init(SimCaps *caps)
{
    caps->buf = g_byte_array_new();
    caps->last = UINT32_MAX;
}

void sim_caps_add(SimCaps *caps, const void *cap, size_t size)
{
    uint32_t off = caps->buf->len;
    size_t padded = ROUND_UP(size, 8);
    struct vfio_info_cap_header *h;

    g_byte_array_set_size(caps->buf, off + padded);
    memset(caps->buf->data + off, 0, padded);
    memcpy(caps->buf->data + off, cap, size);
    h = (struct vfio_info_cap_header *)(caps->buf->data + off);
    h->next = 0;
    if (caps->last != UINT32_MAX) {
        ((struct vfio_info_cap_header *)(caps->buf->data + caps->last))->next = off;
    }
    caps->last = off;
}

void sim_caps_shift(SimCaps *caps, uint32_t offset)
{
    uint32_t off = 0;

    if (!caps->buf->len) {
        return;
    }
    for (;;) {
        struct vfio_info_cap_header *h = (void *)(caps->buf->data + off);
        uint32_t next = h->next;

        if (next) {
            h->next = next + offset;
        }
        if (off == caps->last) {
            break;
        }
        off = next;
    }
}

void sim_caps_free(SimCaps *caps)
{
    g_byte_array_free(caps->buf, true);
    caps->buf = NULL;
}

long sim_caps_copy_out(SimCaps *caps, void *user, uint32_t argsz, size_t fixed,
                       uint32_t *argsz_out)
{
    if (argsz < fixed + caps->buf->len) {
        *argsz_out = fixed + caps->buf->len;
        return 0;
    }
    sim_caps_shift(caps, fixed);
    if (sim_copy_to_user((char *)user + fixed, caps->buf->data, caps->buf->len) < 0) {
        return -EFAULT;
    }
    return fixed;
}
