/*
 * vfio-sim: internal interfaces shared by the files of the simulator.
 *
 * The simulator is a model of Linux 6.12's VFIO (legacy container, type1
 * IOMMU, vfio-pci) living inside the calling process.  interpose.c catches
 * the libc calls that touch /dev/vfio and the VFIO sysfs paths and hands
 * them to the objects declared here.  Everything below the interposer runs
 * with the one big lock, sim_lock, held: the kernel has finer locks, but the
 * only concurrency the sim must get right is "two threads never see a torn
 * object", and one lock gives that without lock-ordering puzzles.  Device
 * models run their deferred work (DMA completion, a DMA engine) on one sim
 * thread (worker.c) that takes the same lock.
 *
 * Functions returning int follow the kernel's convention: 0 or a positive
 * result on success, -errno on failure.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef VFIO_SIM_H
#define VFIO_SIM_H

#include "qemu/osdep.h"

#include <pthread.h>
#include <linux/vfio.h>

#define SIM_PAGE_SIZE       4096ULL
#define SIM_PAGE_SHIFT      12
#define SIM_NUM_BARS        6
#define SIM_MAX_GROUPS      64
#define SIM_MAX_DEVICES     64
#define SIM_MAX_IOVA_RANGES 16
#define SIM_CFG_SIZE        256
#define SIM_MAX_MSIX        64

/* vfio-pci encodes the region index in the top bits of the file offset. */
#define SIM_REGION_SHIFT    40
#define SIM_REGION_OFFSET(index) ((uint64_t)(index) << SIM_REGION_SHIFT)
#define SIM_OFFSET_INDEX(off)    ((off) >> SIM_REGION_SHIFT)
#define SIM_OFFSET_MASK          ((1ULL << SIM_REGION_SHIFT) - 1)

/* ---- configuration (config.c) ---- */

typedef enum SimModel {
    SIM_MODEL_EDU,          /* QEMU's educational device */
    SIM_MODEL_MIG,          /* migratable device with a DMA engine */
    SIM_MODEL_PIN,          /* page-pinning device behind an emulated IOMMU */
} SimModel;

/* One device of the topology, as configured. */
typedef struct SimDeviceConfig {
    char bdf[16];           /* "0000:00:01.0" */
    SimModel model;
    int group;              /* IOMMU group number */
    char driver[32];        /* bound driver: "vfio-pci", "" (none) or another name */
    uint16_t vendor_id;
    uint16_t device_id;
    bool reset;             /* offers VFIO_DEVICE_RESET (FLR) */
    bool bar0_mmap;         /* BAR0 advertises MMAP */
    uint32_t dma_delay_us;  /* edu: DMA completion delay */
    uint32_t dma_mask_bits; /* edu: DMA address width (28) */
    uint32_t mig_state_size;    /* mig: bytes of internal state */
    uint32_t mig_rate_pages;    /* mig: guest pages written per engine tick */
    uint32_t mig_period_us;     /* mig: engine tick period */
    uint32_t mig_pattern;       /* mig: 32-bit seed of the written pattern */
    uint32_t msix_vectors;      /* mig: MSI-X table size */
} SimDeviceConfig;

/* The IOMMU and type1 driver, as configured (one for the whole host). */
typedef struct SimIommuConfig {
    bool type1;                 /* VFIO_TYPE1_IOMMU offered */
    bool type1v2;               /* VFIO_TYPE1v2_IOMMU offered */
    bool type1_nesting;         /* VFIO_TYPE1_NESTING_IOMMU reported */
    bool unmap_all;             /* VFIO_UNMAP_ALL reported */
    bool update_vaddr;          /* VFIO_UPDATE_VADDR reported once set */
    bool dma_cc;                /* VFIO_DMA_CC_IOMMU reported once set */
    int nr_iova_ranges;
    struct vfio_iova_range iova_ranges[SIM_MAX_IOVA_RANGES]; /* inclusive */
    uint64_t pgsizes;           /* iova_pgsizes of an IOMMU-backed container */
    uint32_t dma_entry_limit;   /* vfio_iommu_type1.dma_entry_limit */
    uint64_t mig_pgsize_bitmap; /* 0 = the smallest of pgsizes, as the kernel does */
    uint64_t max_dirty_bitmap_size; /* DIRTY_BITMAP_SIZE_MAX */
    bool quirk_unmap_overflow;  /* 4.15-5.0: EINVAL when iova + size wraps to 0 */
    bool interrupt_remapping;   /* MSI isolation (intremap=on) */
    bool allow_unsafe_interrupts;   /* vfio_iommu_type1.allow_unsafe_interrupts */
} SimIommuConfig;

/*
 * Fault injection.  Counters are 1-based ("the Nth call fails"); 0 disables.
 * They count from the load of the topology.
 */
typedef struct SimFaults {
    uint64_t map_ebusy_at;      /* Nth MAP_DMA fails with EBUSY */
    uint64_t map_enospc_at;     /* Nth MAP_DMA fails with ENOSPC */
    /*
     * A MAP_DMA over a live mapping fails EBUSY instead of EEXIST, as early
     * type1 did (and QEMU still sees at times with ROMs): what makes it
     * unmap the range and retry.  Not counted in map_calls.
     */
    bool map_overlap_ebusy;
    uint64_t map_calls;         /* MAP_DMA calls seen so far */
    int mig_fail_state;         /* an arc into this state fails, 0 = none */
    int mig_fail_errno;         /* with this errno (EIO) */
    bool mig_fail_to_error;     /* and leaves the device in ERROR */
    uint64_t data_short_read_at;    /* Nth read() of a data_fd returns half */
    uint64_t data_reads;        /* data_fd reads so far */
    bool resume_corrupt;        /* RESUMING -> STOP rejects any stream */
} SimFaults;

typedef struct SimConfig {
    SimIommuConfig iommu;
    int nr_devices;
    SimDeviceConfig devices[SIM_MAX_DEVICES];
    SimFaults faults;
    char source[256];           /* "built-in" or the file path, for messages */
} SimConfig;

/* Fill @cfg with the built-in topology (the rig's). */
void sim_config_default(SimConfig *cfg);
/* Parse the key file at @path over the defaults; false with *errmsg set. */
bool sim_config_load(SimConfig *cfg, const char *path, char **errmsg);
/* Apply "key=value,key=value" fault settings; false with *errmsg set. */
bool sim_config_parse_faults(SimFaults *faults, const char *spec, char **errmsg);
const char *sim_model_name(SimModel model);

/* ---- objects ---- */

typedef struct SimContainer SimContainer;
typedef struct SimGroup SimGroup;
typedef struct SimDevice SimDevice;
typedef struct SimFile SimFile;
typedef struct SimMigFile SimMigFile;
typedef struct SimTimer SimTimer;

typedef void SimTimerFn(void *opaque);

/* Deferred device work, run on the sim thread with sim_lock held. */
struct SimTimer {
    SimTimerFn *fn;
    void *opaque;
    int64_t deadline_ns;        /* CLOCK_MONOTONIC, -1 when not armed */
};

/* One type1 mapping (a struct vfio_dma in the kernel). */
typedef struct SimDma {
    uint64_t iova;
    uint64_t size;
    uint64_t vaddr;
    bool readable;              /* IOMMU_READ: the device may read */
    bool writable;              /* IOMMU_WRITE: the device may write */
    bool vaddr_invalid;         /* UNMAP_FLAG_VADDR in force */
    bool iommu_mapped;          /* mapped through an IOMMU domain (pinned at map) */
    uint64_t locked_pages;      /* pages charged to the locked memory of... */
    pid_t locked_by;            /* ...this process (a fork child's copy is not its) */
    unsigned long *bitmap;      /* dirty bits per smallest page while tracking */
    GHashTable *pinned;         /* iova page -> pin count (emulated IOMMU) */
} SimDma;

typedef enum SimFileKind {
    SIM_FILE_CONTAINER,
    SIM_FILE_GROUP,
    SIM_FILE_DEVICE,
    SIM_FILE_MIG_DATA,
    SIM_FILE_CONTROL,
} SimFileKind;

/*
 * What an fd of the sim refers to: the kernel's struct file.  @refs counts
 * the fds that name it (dup() adds one) plus internal references (a group
 * attached to a container holds the container's file; a device file holds
 * its group's file, as the kernel does).  The last unref releases it.
 */
struct SimFile {
    SimFileKind kind;
    int refs;
    int backing_fd;             /* the real fd first made for it (diagnostics) */
    uint64_t pos;               /* file position for read()/write() (device files) */
    union {
        SimContainer *container;
        SimGroup *group;
        SimDevice *device;
        SimMigFile *mig;
    };
};

/* A /dev/vfio/vfio open. */
struct SimContainer {
    SimFile *file;
    GList *groups;              /* SimGroup *, attached */
    bool iommu_set;             /* SET_IOMMU done */
    bool v2;                    /* TYPE1v2 semantics */
    uint32_t type;              /* the type passed to SET_IOMMU */
    GTree *dmas;                /* iova -> SimDma *, non-overlapping */
    uint32_t dma_avail;         /* mappings left before ENOSPC */
    bool dirty_tracking;        /* DIRTY_PAGES START in force */
    int num_non_pinned_groups;  /* groups whose dirty scope is "everything" */
    bool has_iommu_group;       /* a non-emulated group is attached */
};

/* An IOMMU group: exists for the life of the world. */
struct SimGroup {
    int id;
    bool has_vfio_node;         /* /dev/vfio/ID exists (a device is bound to vfio) */
    bool emulated;              /* emulated IOMMU (page pinning): no IOMMU domain */
    GList *devices;             /* SimDevice * */
    SimFile *file;              /* the open group file, or NULL */
    SimContainer *container;    /* attached container, or NULL */
    int container_users;        /* 1 + open device files, while attached */
    bool pinned_scope;          /* dirty scope limited to pinned pages */
};

/* A PCI region of a device (BAR, ROM, config, device-specific). */
typedef struct SimRegion {
    uint64_t size;
    uint32_t flags;             /* VFIO_REGION_INFO_FLAG_* */
    bool is_io;                 /* I/O port BAR */
    bool is_64;                 /* 64-bit memory BAR */
    int nr_sparse;              /* sparse mmap areas (0 = none or whole) */
    struct vfio_region_sparse_mmap_area sparse[4];
    bool msix_mappable;         /* report VFIO_REGION_INFO_CAP_MSIX_MAPPABLE */
    bool trap_mmap;             /* registers: mappings trap every access (mmio-trap.c) */
    uint32_t type, subtype;     /* VFIO_REGION_INFO_CAP_TYPE (device-specific) */
    uint8_t *mem;               /* backing for mmap (shared), or NULL */
    int mem_fd;                 /* memfd of @mem, for mmap */
} SimRegion;

/* Interrupt state of one device (irq.c), as vfio-pci keeps it. */
typedef struct SimIrqState {
    int type;                   /* VFIO_PCI_*_IRQ_INDEX in use, or -1 */
    int intx_trigger;           /* dup'd eventfd, -1 */
    int intx_unmask_fd;         /* eventfd that unmasks (virqfd), -1 */
    bool intx_masked;           /* automasked or masked by the user */
    bool intx_level;            /* the device asserts its pin */
    int nvec;                   /* MSI/MSI-X vectors enabled */
    int vec_trigger[SIM_MAX_MSIX];  /* dup'd eventfds, -1 */
    int err_trigger;
    int req_trigger;
} SimIrqState;

typedef struct SimDeviceOps SimDeviceOps;

/* A device of the topology. */
struct SimDevice {
    SimDeviceConfig cfg;
    int index;                  /* position in the topology (BAR addresses, IRQ line) */
    const SimDeviceOps *ops;
    SimGroup *group;
    int open_count;             /* open device files */
    SimRegion regions[VFIO_PCI_NUM_REGIONS + 1];
    int nr_regions;             /* VFIO_PCI_NUM_REGIONS + device-specific */
    uint8_t config[SIM_CFG_SIZE];   /* the device's own ("hardware") config */
    uint8_t vconfig[SIM_CFG_SIZE];  /* vfio-pci's virtualized view */
    uint8_t cfg_wmask[SIM_CFG_SIZE];    /* bits the user may write */
    uint8_t cfg_virt[SIM_CFG_SIZE];     /* bits served from vconfig */
    uint8_t msi_cap;            /* config offset of MSI, 0 = none */
    uint8_t msix_cap;           /* config offset of MSI-X, 0 = none */
    int msix_bar;               /* BAR of the MSI-X table, -1 */
    uint32_t msix_table_offset;
    int msix_count;
    int msi_count;
    SimIrqState irq;
    /* migration (migration.c) */
    uint32_t mig_flags;         /* VFIO_MIGRATION_*, 0 = not migratable */
    int mig_state;              /* enum vfio_device_mig_state */
    SimMigFile *saving;         /* data session while in a saving state */
    SimMigFile *resuming;       /* data session while RESUMING */
    /* DMA logging (dma-logging.c) */
    bool logging;
    uint64_t log_page_size;
    int log_nr_ranges;
    struct vfio_device_feature_dma_logging_range *log_ranges;
    unsigned long **log_bitmaps;    /* one per range */
    /* counters visible to tests through the control file */
    uint64_t dma_faults;        /* DMA refused by the IOMMU */
    uint64_t hot_resets;        /* bus resets that reached it */
    void *model;                /* the device model's state */
};

/* A device model (dev-*.c). */
struct SimDeviceOps {
    const char *name;
    /* Build config space, regions and state; called once per world. */
    void (*realize)(SimDevice *dev);
    void (*finalize)(SimDevice *dev);
    /* Power-on state: first open, reset, last close. */
    void (*reset)(SimDevice *dev);
    /*
     * BAR access of 1, 2 or 4 bytes (8 through a trapped mapping) at @off
     * within BAR @bar.
     */
    uint64_t (*bar_read)(SimDevice *dev, int bar, uint64_t off, unsigned size);
    void (*bar_write)(SimDevice *dev, int bar, uint64_t off, uint64_t val, unsigned size);
    /* Migration: the device is quiesced (false) or runs (true). */
    void (*set_running)(SimDevice *dev, bool running);
    /* Serialize the device state; @precopy: the part sendable while running. */
    void (*save)(SimDevice *dev, GByteArray *out);
    /* Replace the state from a stream; -errno when it is not acceptable. */
    int (*load)(SimDevice *dev, const uint8_t *data, size_t len);
    /* Bytes of state dirtied since the last save() (PRE_COPY estimate). */
    uint64_t (*dirty_bytes)(SimDevice *dev);
    /* The IOVA range is being unmapped: drop pins inside it (unmap notifier). */
    void (*dma_unmap)(SimDevice *dev, uint64_t iova, uint64_t size);
};

extern const SimDeviceOps sim_edu_ops;
extern const SimDeviceOps sim_mig_ops;
extern const SimDeviceOps sim_pin_ops;

/* ---- the world (world.c) ---- */

typedef struct SimWorld {
    SimConfig cfg;
    SimGroup groups[SIM_MAX_GROUPS];
    int nr_groups;
    SimDevice devices[SIM_MAX_DEVICES];
    int nr_devices;
    int open_files;             /* live SimFiles: reload refuses while > 0 */
} SimWorld;

extern pthread_mutex_t sim_lock;
extern SimWorld *sim_world;

/* Build the world once (from VFIO_SIM_CONFIG or the default); NULL on error. */
SimWorld *sim_world_get(void);
/* Replace the world by the topology in @path (NULL: default); -EBUSY if fds live. */
int sim_world_reload(const char *path, char **errmsg);
SimGroup *sim_world_group(int id);
SimDevice *sim_world_device(const char *bdf);

/* ---- fd table (fdtable.c) ---- */

#define SIM_FD_MAX 65536

/* The file behind @fd, without taking the lock: a hint to re-check locked. */
SimFile *sim_fd_peek(int fd);
/* Locked: the file behind @fd or NULL. */
SimFile *sim_fd_get(int fd);
/* Locked: make @fd (a new real fd) name @file; takes a reference. */
int sim_fd_install(int fd, SimFile *file);
/* Locked: @fd was closed; drop its reference. */
void sim_fd_remove(int fd);
/* Locked: a real fd for a new object, O_CLOEXEC if @cloexec; -errno. */
int sim_fd_new_backing(bool cloexec);
SimFile *sim_file_new(SimFileKind kind);
void sim_file_ref(SimFile *file);
void sim_file_unref(SimFile *file);
/* Number of installed fds (for the lock-free "nothing to do" test). */
extern int sim_fd_count;

/* ---- containers and type1 (container.c, iommu.c) ---- */

SimContainer *sim_container_new(void);
void sim_container_release(SimContainer *c);
long sim_container_ioctl(SimContainer *c, unsigned long req, void *arg);
int sim_container_attach_group(SimContainer *c, SimGroup *g);
void sim_container_detach_group(SimContainer *c, SimGroup *g);

long sim_iommu_get_info(SimContainer *c, void *arg);
long sim_iommu_map_dma(SimContainer *c, void *arg);
long sim_iommu_unmap_dma(SimContainer *c, void *arg);
long sim_iommu_dirty_pages(SimContainer *c, void *arg);
void sim_iommu_release_all(SimContainer *c);
uint64_t sim_iommu_pgsize_bitmap(SimContainer *c);
/* Recompute the dirty scope after a group came or went. */
void sim_iommu_update_scope(SimContainer *c);

/* How a device reaches guest memory. */
typedef enum SimDmaPath {
    SIM_DMA_IOMMU,          /* hardware DMA through the IOMMU domain */
    SIM_DMA_RW,             /* emulated IOMMU: vfio_dma_rw, marks pages dirty while tracking */
    /*
     * Emulated IOMMU: hardware DMA into pages the device holds pinned.  No
     * dirty bit: the pinned scope reports pinned pages at every sync
     * instead.  A page not pinned faults (-EFAULT).
     */
    SIM_DMA_PINNED,
} SimDmaPath;

/*
 * Device DMA: copy @len bytes between the device and IOVA @iova through
 * the container's mappings.  Returns 0, -EFAULT (not mapped / not
 * accessible / not pinned) or -EPERM (permission).  Nothing is transferred
 * when any page of the range faults.
 */
int sim_dma_rw(SimDevice *dev, uint64_t iova, void *buf, size_t len, bool write,
               SimDmaPath path);
/* Pages this process's pinning mappings charge to locked memory (mm->locked_vm). */
extern uint64_t sim_locked_vm;

/* Emulated IOMMU: pin / unpin one page (vfio_pin_pages). */
int sim_dma_pin_page(SimDevice *dev, uint64_t iova, bool write);
int sim_dma_unpin_page(SimDevice *dev, uint64_t iova);
/* Page @page of a DMA window on its @k-th write, @pattern seeded (mig and pin engines). */
void sim_dma_pattern_page(uint32_t pattern, uint64_t page, uint64_t k, uint64_t *buf);

/* VFIO_DEVICE_GET_PCI_HOT_RESET_INFO / VFIO_DEVICE_PCI_HOT_RESET (hot-reset.c). */
long sim_device_hot_reset_ioctl(SimDevice *dev, unsigned long req, void *arg);

/* ---- groups (group.c) ---- */

int sim_group_open(SimGroup *g, bool cloexec);
void sim_group_release(SimGroup *g);
long sim_group_ioctl(SimGroup *g, unsigned long req, void *arg);
bool sim_group_viable(SimGroup *g);

/* ---- devices (device.c, pci-config.c, irq.c) ---- */

void sim_device_realize(SimDevice *dev);
void sim_device_finalize(SimDevice *dev);
void sim_device_release(SimDevice *dev);
long sim_device_ioctl(SimDevice *dev, unsigned long req, void *arg);
ssize_t sim_device_rw(SimDevice *dev, void *buf, size_t count, uint64_t off, bool write);
void *sim_device_mmap(SimDevice *dev, void *addr, size_t len, int prot, int flags,
                      uint64_t off, int *err);
void sim_device_munmap(void *addr, size_t len);
void sim_device_forget_mappings(void);
/* One access of a trapped mapping: like pread/pwrite on the region. */
void sim_device_mmio(SimDevice *dev, int bar, uint64_t off, uint64_t *val, unsigned size,
                     bool write);

/* ---- trapped register mappings (mmio-trap.c) ---- */

void *sim_trap_map(SimDevice *dev, int bar, void *addr, size_t len, int flags,
                   uint64_t bar_offset, int *err);
void sim_trap_unmap(uintptr_t start, size_t len);
bool sim_trap_supported(void);
/* Our SIGSEGV handler is installed: the program's sigaction() goes through us. */
bool sim_trap_owns_segv(void);
struct sigaction;
int sim_trap_sigaction(const struct sigaction *act, struct sigaction *old);
/* Reset the device (model + config + IRQs) as a function reset does. */
void sim_device_reset(SimDevice *dev);
/* The container this device's DMA goes through, or NULL. */
SimContainer *sim_device_container(SimDevice *dev);

/* Config space helpers for models. */
void sim_pci_config_init(SimDevice *dev, uint16_t vendor, uint16_t device, uint8_t rev,
                         uint32_t class_code, uint8_t irq_pin);
void sim_pci_add_bar(SimDevice *dev, int bar, uint64_t size, bool io, bool is64,
                     bool mmap);
void sim_pci_add_msi(SimDevice *dev, uint8_t offset, int vectors, bool is64);
void sim_pci_add_msix(SimDevice *dev, uint8_t offset, int vectors, int bar,
                      uint32_t table_offset, uint32_t pba_offset);
void sim_pci_config_reset(SimDevice *dev);
int sim_pci_config_rw(SimDevice *dev, void *buf, size_t count, uint64_t pos, bool write);
uint16_t sim_pci_command(SimDevice *dev);
bool sim_pci_bus_master(SimDevice *dev);

void sim_irq_init(SimDevice *dev);
void sim_irq_reset(SimDevice *dev);
int sim_irq_count(SimDevice *dev, uint32_t index);
long sim_irq_get_info(SimDevice *dev, void *arg);
long sim_irq_set(SimDevice *dev, void *arg);
/* Device side: drive the INTx pin; send an MSI / MSI-X vector. */
void sim_irq_set_intx(SimDevice *dev, bool level);
void sim_irq_msi(SimDevice *dev, int vector);
/* Device side: is MSI (or MSI-X) enabled by SET_IRQS? */
bool sim_irq_msi_enabled(SimDevice *dev);
/* A config write set or cleared INTx disable: mask, or unmask (and resend). */
void sim_irq_intx_disable_changed(SimDevice *dev);
/* Poll the INTx unmask eventfd (virqfd); called by the sim thread. */
void sim_irq_poll(SimDevice *dev);

/* ---- VFIO_DEVICE_FEATURE (migration.c, dma-logging.c) ---- */

long sim_device_feature(SimDevice *dev, void *arg);
long sim_mig_feature_migration(SimDevice *dev, uint32_t flags, void *data, size_t size);
long sim_mig_feature_state(SimDevice *dev, uint32_t flags, void *data, size_t size);
long sim_mig_feature_data_size(SimDevice *dev, uint32_t flags, void *data, size_t size);
long sim_mig_file_ioctl(SimMigFile *mf, unsigned long req, void *arg);
ssize_t sim_mig_file_read(SimMigFile *mf, void *buf, size_t count);
ssize_t sim_mig_file_write(SimMigFile *mf, const void *buf, size_t count);
void sim_mig_file_release(SimMigFile *mf);
/* The device file closed for the last time / the device was reset. */
void sim_mig_device_reset(SimDevice *dev);

long sim_log_start(SimDevice *dev, uint32_t flags, void *data, size_t size);
long sim_log_stop(SimDevice *dev, uint32_t flags, void *data, size_t size);
long sim_log_report(SimDevice *dev, uint32_t flags, void *data, size_t size);
/* The device wrote guest memory at @iova: record it in the DMA log. */
void sim_log_mark(SimDevice *dev, uint64_t iova, uint64_t len);
void sim_log_free(SimDevice *dev);

/* vfio_check_feature(): 1 = proceed, 0 = probe answered, -errno. */
int sim_check_feature(uint32_t flags, size_t argsz, uint32_t supported, size_t minsz);

/* ---- the sim thread (worker.c) ---- */

void sim_timer_init(SimTimer *t, SimTimerFn *fn, void *opaque);
/* Locked: run @t->fn @delay_ns from now (re-arming replaces the deadline). */
void sim_timer_mod_ns(SimTimer *t, int64_t delay_ns);
void sim_timer_del(SimTimer *t);
/* A device engine: armed for @period_ns while @active (unless already), stopped otherwise. */
void sim_timer_keep_ticking(SimTimer *t, bool active, int64_t period_ns);
int64_t sim_clock_ns(void);
/* Devices whose INTx unmask eventfd the sim thread watches; counted. */
void sim_worker_watch(SimDevice *dev, bool watch);
void sim_worker_stop(void);
void sim_worker_reset(void);
void sim_worker_after_fork(void);

/* ---- sysfs and paths (sysfs.c) ---- */

typedef enum SimPathKind {
    SIM_PATH_NONE,              /* not ours: pass through */
    SIM_PATH_REDIRECT,          /* sysfs: served from the sim's tree */
    SIM_PATH_VFIO_CONTAINER,    /* /dev/vfio/vfio */
    SIM_PATH_VFIO_GROUP,        /* /dev/vfio/N (N in *group_id) */
    SIM_PATH_DEV_MISSING,       /* under /dev/vfio or /dev/iommu, absent */
    SIM_PATH_VFIO_DIR,          /* /dev/vfio itself */
    SIM_PATH_CONTROL,           /* /dev/vfio-sim: the sim's control file */
} SimPathKind;

/*
 * Classify an absolute path.  For SIM_PATH_REDIRECT, *redirect receives a
 * g_malloc'd path inside the sim's sysfs tree.
 */
SimPathKind sim_path_classify(const char *path, char **redirect, int *group_id);
/* Build (or rebuild after a reload) the sysfs tree; -errno. */
int sim_sysfs_build(SimWorld *w);
void sim_sysfs_destroy(void);
/* Map a path inside the tree back to the path the program asked for. */
char *sim_sysfs_unredirect(const char *path);

/* ---- control file and faults (control.c) ---- */

ssize_t sim_control_write(const char *buf, size_t count);
ssize_t sim_control_read(void *buf, size_t count);

/* ---- helpers ---- */

/* Real libc entry points (dlsym RTLD_NEXT), filled by interpose.c. */
typedef struct SimRealCalls {
    int (*open)(const char *, int, ...);
    int (*close)(int);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    int (*ioctl)(int, unsigned long, ...);
    int (*dup)(int);
} SimRealCalls;

extern SimRealCalls sim_real;

/* Mark this thread as running sim code (nested libc calls pass through). */
void sim_thread_enter(void);
void sim_thread_leave(void);

/* Log a one-line diagnostic when VFIO_SIM_DEBUG is set. */
void sim_debug(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Bytes a dirty bitmap of @npages needs, rounded to u64 like the kernel. */
static inline uint64_t sim_bitmap_bytes(uint64_t npages)
{
    return DIV_ROUND_UP(npages, 64) * 8;
}

/* Set bits [start, start + n): whole words at a time where it can. */
static inline void sim_bitmap_set(unsigned long *map, uint64_t start, uint64_t n)
{
    const unsigned bpl = 8 * sizeof(long);
    uint64_t i = start, end = start + n;

    for (; i < end && i % bpl; i++) {
        map[i / bpl] |= 1UL << (i % bpl);
    }
    if (end - i >= bpl) {
        memset(&map[i / bpl], 0xff, (end - i) / bpl * sizeof(long));
        i += (end - i) / bpl * bpl;
    }
    for (; i < end; i++) {
        map[i / bpl] |= 1UL << (i % bpl);
    }
}

static inline bool sim_bitmap_test(const unsigned long *map, uint64_t i)
{
    return map[i / (8 * sizeof(long))] & (1UL << (i % (8 * sizeof(long))));
}

static inline void sim_bitmap_clear1(unsigned long *map, uint64_t i)
{
    map[i / (8 * sizeof(long))] &= ~(1UL << (i % (8 * sizeof(long))));
}

#endif /* VFIO_SIM_H */
