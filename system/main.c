/*
 * The aperture executable.
 */
#include "qemu/osdep.h"
#include "sysemu/runstate.h"

int main(int argc, char **argv)
{
    return qemu_main(argc, argv);
}
