/*
 * Machines: the board a VM is built on (-machine TYPE).
 *
 * A machine type derives from TYPE_MACHINE; its class_init fills
 * MachineClass (name, init, RAM defaults).  vl.c creates the machine
 * object, applies -machine and -m, creates -object backends, finds or
 * creates the RAM backend, then calls MachineClass.init, which builds the
 * memory map (get_system_memory()/get_system_io()) and the built-in
 * devices.  -device devices come after init.
 *
 * Machine type names as the user spells them are the class's `name`
 * ("q35"); the QOM type is NAME "-machine" ("q35-machine").
 *
 * Threading: main loop thread only.
 */
#ifndef HW_BOARDS_H
#define HW_BOARDS_H

#include "qom/object.h"
#include "exec/memory.h"

#define TYPE_MACHINE "machine"
#define TYPE_MACHINE_SUFFIX "-machine"
#define MACHINE_TYPE_NAME(machinename) (machinename TYPE_MACHINE_SUFFIX)

OBJECT_DECLARE_TYPE(MachineState, MachineClass, MACHINE)

struct MachineClass {
    ObjectClass parent_class;

    /* -machine NAME ("q35"); set by class_init. */
    const char *name;
    /* Other accepted names ("pc-q35-10.0"); NULL allowed. */
    const char *alias;
    /* One line for -machine help. */
    const char *desc;
    /* Used when -machine is not given. */
    bool is_default;
    /* Guest RAM when -m is not given (bytes). */
    uint64_t default_ram_size;
    /* Name of the RAM region/block the machine creates when no memory-backend= is given. */
    const char *default_ram_id;
    /* Build the board: memory map, built-in devices.  Fails with one clear line. */
    bool (*init)(MachineState *ms, Error **errp);
    /* Undo init at orderly exit (optional). */
    void (*teardown)(MachineState *ms);
    /* After a system reset of every device (optional). */
    void (*reset)(MachineState *ms, int cause);
};

struct MachineState {
    Object parent_obj;

    /* Guest RAM size in bytes (-m, or the backend's size). */
    uint64_t ram_size;
    /* -m maxmem= (bytes); ram_size when not given. */
    uint64_t maxram_size;
    /* -machine memory-backend=ID, or NULL; owned. */
    char *ram_memdev_id;
    /*
     * Guest RAM: the backend's region (memory-backend=) or the one vl.c
     * created as "default_ram_id"; the machine maps it (with aliases) into
     * system memory.  Not owned by the machine.
     */
    MemoryRegion *ram;
    /* -accel / -machine accel= (only "qtest" today); owned. */
    char *accel;
    /* -name, or NULL; owned. */
    char *guest_name;
};

/* The machine being run, or NULL before vl.c creates it. */
extern MachineState *current_machine;
static inline MachineState *qdev_get_machine(void)
{
    return current_machine;
}

/* The class for -machine @name (name or alias), or NULL. */
MachineClass *machine_find_class(const char *name);
/* The default machine class (is_default), or NULL. */
MachineClass *machine_find_default(void);
/* -machine help: "Supported machines are:" then "NAME  DESC" lines. */
void machine_print_list(FILE *fp);

#endif /* HW_BOARDS_H */
