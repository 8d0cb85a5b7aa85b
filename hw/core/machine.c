/*
 * The machine base type and machine lookup (include/hw/boards.h).
 */
#include "qemu/osdep.h"
#include "hw/boards.h"

MachineState *current_machine;

static void machine_finalize(Object *obj)
{
    MachineState *ms = MACHINE(obj);

    g_free(ms->ram_memdev_id);
    g_free(ms->accel);
    g_free(ms->guest_name);
}

static const TypeInfo machine_info = {
    .name = TYPE_MACHINE,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(MachineState),
    .instance_finalize = machine_finalize,
    .abstract = true,
    .class_size = sizeof(MachineClass),
};

static void machine_register_types(void)
{
    type_register_static(&machine_info);
}

type_init(machine_register_types)

MachineClass *machine_find_class(const char *name)
{
    GSList *list = object_class_get_list_sorted(TYPE_MACHINE, false);
    MachineClass *found = NULL;

    for (GSList *l = list; l; l = l->next) {
        MachineClass *mc = l->data;

        if ((mc->name && !strcmp(mc->name, name)) || (mc->alias && !strcmp(mc->alias, name))) {
            found = mc;
            break;
        }
    }
    g_slist_free(list);
    return found;
}

MachineClass *machine_find_default(void)
{
    GSList *list = object_class_get_list_sorted(TYPE_MACHINE, false);
    MachineClass *found = NULL;

    for (GSList *l = list; l; l = l->next) {
        MachineClass *mc = l->data;

        if (mc->is_default) {
            found = mc;
            break;
        }
    }
    g_slist_free(list);
    return found;
}

void machine_print_list(FILE *fp)
{
    GSList *list = object_class_get_list_sorted(TYPE_MACHINE, false);

    fprintf(fp, "Supported machines are:\n");
    for (GSList *l = list; l; l = l->next) {
        MachineClass *mc = l->data;

        if (mc->alias) {
            fprintf(fp, "%-20s %s (alias of %s)\n", mc->alias, mc->desc ? mc->desc : "",
                    mc->name);
        }
        fprintf(fp, "%-20s %s%s\n", mc->name, mc->desc ? mc->desc : "",
                mc->is_default ? " (default)" : "");
    }
    g_slist_free(list);
}
