/*
 * TEMPORARY: weak stand-ins for the memory core symbols physmem uses, so
 * the tree links while system/memory.c is being written.  The memory
 * core's definitions override them; this file goes away when it lands.
 */
#include "qemu/osdep.h"
#include "exec/memory.h"

__attribute__((weak)) unsigned int global_dirty_tracking;

__attribute__((weak)) const char *memory_region_name(const MemoryRegion *mr)
{
    return "";
}
