/*
 * Helpers for the VFIO unit tests of hw/vfio: topology reloads and faults
 * through vfio-sim's control file, a small guest, leak checks, and error
 * text checks.
 *
 * The same binaries run on two kernels.  `meson test` preloads vfio-sim
 * (vfio_sim_test_env); the rig (tests/vm) runs them unchanged against
 * Linux's VFIO, where /dev/vfio-sim does not exist.  There the device under
 * test is APERTURE_VFIO_DEVICE (default 0000:00:01.0, the rig's edu), a
 * second one in another group APERTURE_VFIO_DEVICE2 ("none": there is
 * none), and the IOMMU has the kernel's defaults; a test that needs a sim
 * topology, an injected fault or a sim counter skips with "sim-only: WHY".
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

/* Whether VFIO is simulated here: vfio-sim's control file answers. */
bool vfio_sim_present(void);

/*
 * The device under test: EDU1 on vfio-sim, APERTURE_VFIO_DEVICE (default
 * EDU1) on a real kernel.  Its IOMMU group number, from sysfs (-1: none).
 */
const char *test_edu(void);
int test_edu_group(void);
/*
 * A second device, in another IOMMU group: EDU3 on vfio-sim,
 * APERTURE_VFIO_DEVICE2 (default EDU3) on a real kernel; NULL if it is
 * "none" or not bound to vfio-pci.
 */
const char *test_edu2(void);
/* The IOMMU group of host device @bdf, from sysfs; -1 if it has none. */
int test_device_group(const char *bdf);

/*
 * Start a test that runs on any VFIO: on vfio-sim, reload the built-in
 * topology (which checks that no sim file was left open); on a real
 * kernel, check that the device under test is bound to vfio-pci.  False
 * (the test is skipped) when it is not: return at once.
 */
bool test_start(void);
/*
 * Start a test that needs vfio-sim (@why: a topology, injected faults, a
 * sim counter or a sim-only device model): on vfio-sim load @topology (NULL:
 * the built-in one) and return true; on a real kernel skip with
 * "sim-only: @why" and return false.
 */
bool test_start_sim(const char *topology, const char *why);
/* test_start(), and a second device (test_edu2()) is needed: skipped without one. */
bool test_start_two(void);

/*
 * vfio-sim only.  Replace the sim's topology by the key file @text (NULL:
 * the built-in one).  Fails the test if the sim refuses: a reload is
 * refused while any sim fd is open, so it doubles as a check that nothing
 * was left open.
 */
void sim_load(const char *text);
/* Arm faults ("map-ebusy-at=3,..."); the MAP_DMA counter is reset first.  vfio-sim only. */
void sim_fault(const char *spec);
/* A number from the sim's status report ("open-files", "map-calls").  vfio-sim only. */
uint64_t sim_status(const char *key);

/*
 * What the kernel pinned for this process, in KiB (VmLck: type1 accounts
 * every page it pins for DMA there; vfio-sim pins nothing).
 */
uint64_t locked_kib(void);
/*
 * The kernel holds nothing of ours: on vfio-sim no sim file is open; on a
 * real kernel nothing is pinned and the groups of the test devices are
 * free (they open again and are in no container).
 */
void assert_kernel_released(void);

/* Open file descriptors of this process. */
int count_fds(void);

/*
 * What a test must leave behind: the fds it started with, nothing held by
 * the kernel (assert_kernel_released()), no VFIO group or address space,
 * RAM discard unrestricted.
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
