/*
 * Helpers for the VFIO unit tests that run over vfio-sim (linked in with
 * vfio_sim_link_dep): topology reloads and faults through the sim's
 * control file, a small guest, leak checks, and error text checks.
 */
#ifndef TESTS_UNIT_VFIO_SIM_TEST_H
#define TESTS_UNIT_VFIO_SIM_TEST_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "hw/vfio/vfio-container.h"
#include "hw/vfio/vfio-device.h"

#define EDU1 "0000:00:01.0"     /* built-in topology: edu, group 1 */
#define MIG2 "0000:00:02.0"     /* migratable device, group 2 */
#define EDU3 "0000:00:03.0"     /* edu, group 3 */
#define PIN4 "0000:00:04.0"     /* page-pinning device, group 4 */

/* The RAM of every test guest: this many bytes at guest address 0. */
#define TEST_RAM_SIZE   (2 * MiB)

/* A guest address space with RAM at 0. */
typedef struct TestGuest {
    MemoryRegion root;
    MemoryRegion ram;
    AddressSpace as;
} TestGuest;

void test_guest_init(TestGuest *g, const char *name);
void test_guest_destroy(TestGuest *g);

/*
 * Replace the sim's topology by the key file @text (NULL: the built-in
 * one).  Fails the test if the sim refuses: a reload is refused while any
 * sim fd is open, so it doubles as a check that nothing was left open.
 */
void sim_load(const char *text);
/* Arm faults ("map-ebusy-at=3,..."); the MAP_DMA counter is reset first. */
void sim_fault(const char *spec);
/* A number from the sim's status report ("open-files", "map-calls"). */
uint64_t sim_status(const char *key);

/* Open file descriptors of this process. */
int count_fds(void);

/*
 * What a test must leave behind: the fds it started with, no sim file
 * open, no VFIO group or address space, RAM discard unrestricted.
 */
typedef struct LeakCheck {
    int fds;
} LeakCheck;

void leak_check_begin(LeakCheck *lc);
void leak_check_end(LeakCheck *lc, TestGuest *g);

/* Attach @name to @g's address space, asserting success. */
void attach_ok(VFIODevice *vdev, const char *name, TestGuest *g);
/* Detach and finalize. */
void detach(VFIODevice *vdev);

/*
 * The message and hints of *@errp as error_report_err prints them (the
 * error is freed).  The test fails if no error is set.
 */
char *error_text(Error **errp);
/* Assert that @text contains @needle, printing both if not. */
#define assert_contains(text, needle) \
    assert_contains_impl((text), (needle), __FILE__, __LINE__)
void assert_contains_impl(const char *text, const char *needle, const char *file, int line);

#endif /* TESTS_UNIT_VFIO_SIM_TEST_H */
