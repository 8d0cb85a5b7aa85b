/*
 * RAM discard arbitration (see include/sysemu/ram-discard.h for the rules).
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "sysemu/ram-discard.h"
#include "trace/trace-system.h"

/*
 * Serialises the check-and-take of the counters; the *_is_* queries read
 * them without it (a snapshot is all a query can promise anyway).
 */
static GMutex ram_discard_mutex;
/* Holders of ram_block_discard_disable(true). */
static unsigned int discard_disabled_cnt;
/* Holders of ram_block_uncoordinated_discard_disable(true). */
static unsigned int uncoordinated_discard_disabled_cnt;
/* Holders of ram_block_discard_require(true). */
static unsigned int discard_required_cnt;
/* Holders of ram_block_coordinated_discard_require(true). */
static unsigned int coordinated_discard_required_cnt;

/*
 * Take (state) or drop (!state) one count of @cnt, unless taking conflicts
 * with the counts in @conflicts.
 */
static int ram_discard_update(const char *which, unsigned int *cnt,
                              bool state, bool conflict)
{
    int ret = 0;

    if (!state) {
        assert(qatomic_read(cnt) > 0);
        qatomic_dec(cnt);
    } else if (conflict) {
        ret = -EBUSY;
    } else {
        qatomic_inc(cnt);
    }
    trace_ram_block_discard_counter(which, state, ret);
    return ret;
}

int ram_block_discard_disable(bool state)
{
    int ret;

    g_mutex_lock(&ram_discard_mutex);
    ret = ram_discard_update("disable", &discard_disabled_cnt, state,
                             discard_required_cnt ||
                             coordinated_discard_required_cnt);
    g_mutex_unlock(&ram_discard_mutex);
    return ret;
}

int ram_block_uncoordinated_discard_disable(bool state)
{
    int ret;

    g_mutex_lock(&ram_discard_mutex);
    /* Coordinated discard keeps working: no conflict with its users. */
    ret = ram_discard_update("uncoordinated-disable",
                             &uncoordinated_discard_disabled_cnt, state,
                             discard_required_cnt);
    g_mutex_unlock(&ram_discard_mutex);
    return ret;
}

int ram_block_discard_require(bool state)
{
    int ret;

    g_mutex_lock(&ram_discard_mutex);
    ret = ram_discard_update("require", &discard_required_cnt, state,
                             discard_disabled_cnt ||
                             uncoordinated_discard_disabled_cnt);
    g_mutex_unlock(&ram_discard_mutex);
    return ret;
}

int ram_block_coordinated_discard_require(bool state)
{
    int ret;

    g_mutex_lock(&ram_discard_mutex);
    ret = ram_discard_update("coordinated-require",
                             &coordinated_discard_required_cnt, state,
                             discard_disabled_cnt);
    g_mutex_unlock(&ram_discard_mutex);
    return ret;
}

bool ram_block_discard_is_disabled(void)
{
    return qatomic_read(&discard_disabled_cnt) ||
           qatomic_read(&uncoordinated_discard_disabled_cnt);
}

bool ram_block_discard_is_required(void)
{
    return qatomic_read(&discard_required_cnt) ||
           qatomic_read(&coordinated_discard_required_cnt);
}
