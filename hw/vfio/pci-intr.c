/*
 * vfio-pci interrupts: INTx, MSI and MSI-X over eventfds
 * (include/hw/vfio/vfio-pci.h).
 *
 * The device is in one mode at a time (vdev->interrupt), as the kernel
 * requires: enabling MSI or MSI-X first disables what is enabled, and
 * disabling them brings INTx back (the guest's driver expects the pin to
 * work again).
 *
 * INTx.  VFIO masks INTx when it fires (the line is level triggered and
 * the host cannot know when the guest has serviced it) and waits for
 * VFIO_IRQ_SET_ACTION_UNMASK.  With KVM the interrupt controller's EOI
 * does that; Aperture has no guest interrupt controller, so it follows
 * QEMU's userspace path: a guest servicing an interrupt touches the
 * device's registers, and that access is taken as the EOI.  QEMU disables
 * the BAR mmaps when INTx fires, so every access traps into the slow
 * path, and re-enables them on a timer once the line is quiet.  Aperture
 * gets the same effect without the timer: each BAR carries a trap region
 * above everything else (VFIOPCIBar.eoi_trap) that is enabled only while
 * an INTx is pending.  The first guest access to any BAR is forwarded to
 * the device and then ends the interrupt (line lowered, INTx unmasked),
 * and the trap goes away with it, so the mmaps serve the fast path again
 * at once.  If the device still asserts its line after the unmask, VFIO
 * signals again and the cycle repeats, which is exactly level semantics.
 * The command register's INTx disable bit is the guest's other way of
 * silencing the line; pci-config.c ends a pending interrupt when it is set
 * and re-arms when it is cleared.
 *
 * MSI.  All the vectors the guest enabled are registered in one SET_IRQS
 * (the kernel cannot grow MSI once enabled); each eventfd becomes
 * msi_notify(), which writes the guest's message through the bus-master
 * address space (and honours per-vector masking, emulated by msi.c).
 *
 * MSI-X.  The table is Aperture's (msix.c).  Enabling MSI-X puts the
 * device in MSI-X mode with no eventfd; a vector is registered when the
 * guest first unmasks it (the use notifier), growing the kernel's
 * allocation as needed.  Masking is virtual: a masked vector's eventfd
 * still fires, msix_notify() sets its pending bit, and unmasking delivers
 * it -- no ioctl per mask change.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/vfio/vfio-pci.h"
#include "trace/trace-hw_vfio.h"

const char *vfio_pci_interrupt_mode_name(VFIOPCIInterruptMode mode)
{
    switch (mode) {
    case VFIO_PCI_INT_INTX:
        return "intx";
    case VFIO_PCI_INT_MSI:
        return "msi";
    case VFIO_PCI_INT_MSIX:
        return "msix";
    default:
        return "none";
    }
}

/*
 * SET_IRQS with one eventfd per vector for [start, start + count) of
 * @index (-1: none for that vector); 0 or -errno.
 */
static int vfio_pci_set_irq_fds(VFIOPCIDevice *vdev, int index, unsigned start,
                                unsigned count, const int32_t *fds)
{
    VFIODevice *vbasedev = &vdev->vbasedev;
    size_t argsz = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
    g_autofree struct vfio_irq_set *set = g_malloc0(argsz);
    int ret;

    set->argsz = argsz;
    set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    set->index = index;
    set->start = start;
    set->count = count;
    memcpy(set->data, fds, count * sizeof(int32_t));
    ret = vbasedev->io_ops->set_irqs(vbasedev, set);
    trace_vfio_pci_set_irq_fds(vbasedev->name, index, start, count, ret);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* INTx */

void vfio_pci_intx_probe(VFIOPCIDevice *vdev)
{
    struct vfio_irq_info info;
    uint8_t pin = vdev->pdev.config[PCI_INTERRUPT_PIN];

    vdev->intx.has_pin = false;
    if (!pin) {
        return;
    }
    if (vfio_device_get_irq_info(&vdev->vbasedev, VFIO_PCI_INTX_IRQ_INDEX, &info) ||
        info.count == 0) {
        /* The kernel offers no INTx (the device cannot mask it, say): hide the pin. */
        warn_report("vfio %s: the device has interrupt pin %c but VFIO offers no INTx; "
                    "the guest sees no pin", vdev->vbasedev.name, 'A' + pin - 1);
        vfio_pci_emulate_bytes(vdev, PCI_INTERRUPT_PIN, 1);
        vdev->pdev.config[PCI_INTERRUPT_PIN] = 0;
        return;
    }
    vdev->intx.has_pin = true;
    vdev->intx.pin = pin - 1;
    trace_vfio_pci_intx_probe(vdev->vbasedev.name, 'A' + vdev->intx.pin, info.flags);
}

static void vfio_pci_intx_interrupt(void *opaque)
{
    VFIOPCIDevice *vdev = opaque;

    if (!event_notifier_test_and_clear(&vdev->intx.interrupt)) {
        return;
    }
    trace_vfio_pci_intx_interrupt(vdev->vbasedev.name, 'A' + vdev->intx.pin,
                                  vdev->intx.pending);
    vdev->intx.count++;
    if (vdev->intx.pending) {
        return;
    }
    vdev->intx.pending = true;
    pci_irq_assert(&vdev->pdev);
    vfio_pci_eoi_trap_set_enabled(vdev, true);
}

void vfio_pci_intx_eoi(VFIOPCIDevice *vdev)
{
    if (!vdev->intx.pending) {
        return;
    }
    trace_vfio_pci_intx_eoi(vdev->vbasedev.name);
    vdev->intx.pending = false;
    vfio_pci_eoi_trap_set_enabled(vdev, false);
    pci_irq_deassert(&vdev->pdev);
    vfio_device_irq_unmask(&vdev->vbasedev, VFIO_PCI_INTX_IRQ_INDEX);
}

/* The bus re-routed the pin: an EOI might have been lost on the way. */
static void vfio_pci_intx_routing_changed(PCIDevice *pdev)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);
    PCIINTxRoute route;

    if (vdev->interrupt != VFIO_PCI_INT_INTX) {
        return;
    }
    route = pci_device_route_intx_to_irq(pdev, vdev->intx.pin);
    if (!pci_intx_route_changed(&vdev->intx.route, &route)) {
        return;
    }
    trace_vfio_pci_intx_route(vdev->vbasedev.name, vdev->intx.route.irq, route.irq);
    vdev->intx.route = route;
    vfio_pci_intx_eoi(vdev);
}

bool vfio_pci_intx_enable(VFIOPCIDevice *vdev, Error **errp)
{
    VFIODevice *vbasedev = &vdev->vbasedev;
    int fd, ret;

    if (!vdev->intx.has_pin) {
        return true;
    }
    vfio_pci_disable_interrupts(vdev);
    ret = event_notifier_init(&vdev->intx.interrupt, false);
    if (ret) {
        error_setg_errno(errp, -ret, "vfio %s: cannot create the INTx eventfd",
                         vbasedev->name);
        return false;
    }
    fd = event_notifier_get_fd(&vdev->intx.interrupt);
    qemu_set_fd_handler(fd, vfio_pci_intx_interrupt, NULL, vdev);
    if (!vfio_device_irq_set_signaling(vbasedev, VFIO_PCI_INTX_IRQ_INDEX, 0,
                                       VFIO_IRQ_SET_ACTION_TRIGGER, fd, errp)) {
        qemu_set_fd_handler(fd, NULL, NULL, NULL);
        event_notifier_cleanup(&vdev->intx.interrupt);
        return false;
    }
    vdev->intx.enabled = true;
    vdev->intx.pending = false;
    vdev->intx.route = pci_device_route_intx_to_irq(&vdev->pdev, vdev->intx.pin);
    pci_device_set_intx_routing_notifier(&vdev->pdev, vfio_pci_intx_routing_changed);
    vdev->interrupt = VFIO_PCI_INT_INTX;
    trace_vfio_pci_intx_enable(vbasedev->name, 'A' + vdev->intx.pin, vdev->intx.route.irq);
    return true;
}

static void vfio_pci_intx_disable(VFIOPCIDevice *vdev)
{
    if (!vdev->intx.enabled) {
        return;
    }
    vfio_device_irq_disable(&vdev->vbasedev, VFIO_PCI_INTX_IRQ_INDEX);
    vdev->intx.pending = false;
    vfio_pci_eoi_trap_set_enabled(vdev, false);
    pci_irq_deassert(&vdev->pdev);
    qemu_set_fd_handler(event_notifier_get_fd(&vdev->intx.interrupt), NULL, NULL, NULL);
    event_notifier_cleanup(&vdev->intx.interrupt);
    vdev->intx.enabled = false;
    vdev->interrupt = VFIO_PCI_INT_NONE;
    trace_vfio_pci_intx_disable(vdev->vbasedev.name);
}

/* Back to INTx after MSI or MSI-X (reporting a failure: no guest to tell). */
static void vfio_pci_intx_restore(VFIOPCIDevice *vdev)
{
    Error *err = NULL;

    if (!vfio_pci_intx_enable(vdev, &err)) {
        error_report_err(err);
    }
}

/* ------------------------------------------------------------------------ */
/* MSI and MSI-X vectors */

static void vfio_pci_msi_interrupt(void *opaque)
{
    VFIOPCIMSIVector *vector = opaque;
    VFIOPCIDevice *vdev = vector->vdev;
    unsigned int nr = vector - vdev->msi_vectors;

    if (!event_notifier_test_and_clear(&vector->interrupt)) {
        return;
    }
    vdev->msi_count++;
    if (vdev->interrupt == VFIO_PCI_INT_MSIX) {
        trace_vfio_pci_msi_interrupt(vdev->vbasedev.name, "msix", nr,
                                     msix_is_masked(&vdev->pdev, nr));
        /* Masked (vector or function): msix_notify() sets the pending bit. */
        msix_notify(&vdev->pdev, nr);
    } else if (vdev->interrupt == VFIO_PCI_INT_MSI) {
        trace_vfio_pci_msi_interrupt(vdev->vbasedev.name, "msi", nr,
                                     msi_is_masked(&vdev->pdev, nr));
        msi_notify(&vdev->pdev, nr);
    }
}

static void vfio_pci_vector_init(VFIOPCIDevice *vdev, VFIOPCIMSIVector *vector)
{
    vector->vdev = vdev;
    if (event_notifier_init(&vector->interrupt, false)) {
        /* Without an eventfd the vector stays unregistered (fd -1). */
        error_report("vfio %s: cannot create an MSI eventfd", vdev->vbasedev.name);
        return;
    }
    qemu_set_fd_handler(event_notifier_get_fd(&vector->interrupt), vfio_pci_msi_interrupt,
                        NULL, vector);
    vector->use = true;
}

static void vfio_pci_vector_cleanup(VFIOPCIMSIVector *vector)
{
    if (!vector->use) {
        return;
    }
    qemu_set_fd_handler(event_notifier_get_fd(&vector->interrupt), NULL, NULL, NULL);
    event_notifier_cleanup(&vector->interrupt);
    vector->use = false;
}

static int vfio_pci_vector_fd(const VFIOPCIMSIVector *vector)
{
    return vector->use ? event_notifier_get_fd(&vector->interrupt) : -1;
}

static void vfio_pci_vectors_free(VFIOPCIDevice *vdev, unsigned int n)
{
    for (unsigned int i = 0; vdev->msi_vectors && i < n; i++) {
        vfio_pci_vector_cleanup(&vdev->msi_vectors[i]);
    }
    g_clear_pointer(&vdev->msi_vectors, g_free);
    vdev->nr_vectors = 0;
}

/* ------------------------------------------------------------------------ */
/* MSI */

static void vfio_pci_msi_enable(VFIOPCIDevice *vdev)
{
    unsigned int n = msi_nr_vectors_allocated(&vdev->pdev);
    g_autofree int32_t *fds = g_new(int32_t, n);
    int ret;

    vfio_pci_disable_interrupts(vdev);
    vdev->msi_vectors = g_new0(VFIOPCIMSIVector, n);
    for (unsigned int i = 0; i < n; i++) {
        vfio_pci_vector_init(vdev, &vdev->msi_vectors[i]);
        fds[i] = vfio_pci_vector_fd(&vdev->msi_vectors[i]);
    }
    /* Set before the ioctl: an interrupt may be waiting as soon as it returns. */
    vdev->interrupt = VFIO_PCI_INT_MSI;
    ret = vfio_pci_set_irq_fds(vdev, VFIO_PCI_MSI_IRQ_INDEX, 0, n, fds);
    if (ret) {
        /*
         * No specification covers MSI failing to enable: leave interrupts
         * off and let the guest find out, as QEMU does.
         */
        error_report("vfio %s: cannot enable %u MSI vector(s): %s", vdev->vbasedev.name, n,
                     strerror(-ret));
        vfio_pci_vectors_free(vdev, n);
        vdev->interrupt = VFIO_PCI_INT_NONE;
        return;
    }
    vdev->nr_vectors = n;
    trace_vfio_pci_msi_enable(vdev->vbasedev.name, n);
}

static void vfio_pci_msi_disable(VFIOPCIDevice *vdev)
{
    vfio_device_irq_disable(&vdev->vbasedev, VFIO_PCI_MSI_IRQ_INDEX);
    vfio_pci_vectors_free(vdev, vdev->nr_vectors);
    vdev->interrupt = VFIO_PCI_INT_NONE;
    trace_vfio_pci_msi_disable(vdev->vbasedev.name);
}

void vfio_pci_msi_update(VFIOPCIDevice *vdev, bool was_enabled, bool is_enabled)
{
    if (!was_enabled && is_enabled) {
        vfio_pci_msi_enable(vdev);
    } else if (was_enabled && !is_enabled && vdev->interrupt == VFIO_PCI_INT_MSI) {
        vfio_pci_msi_disable(vdev);
        vfio_pci_intx_restore(vdev);
    } else if (is_enabled && vdev->interrupt == VFIO_PCI_INT_MSI &&
               msi_nr_vectors_allocated(&vdev->pdev) != vdev->nr_vectors) {
        /* The guest changed the vector count while enabled: start over. */
        trace_vfio_pci_msi_resize(vdev->vbasedev.name, vdev->nr_vectors,
                                  msi_nr_vectors_allocated(&vdev->pdev));
        vfio_pci_msi_disable(vdev);
        vfio_pci_msi_enable(vdev);
    }
    /* Address and data changes need nothing: msi_notify reads them each time. */
}

/* ------------------------------------------------------------------------ */
/* MSI-X */

/*
 * Register vector @nr's eventfd with the kernel, growing the set of
 * vectors it has allocated to @nr + 1 if needed (re-registering every
 * vector when the kernel cannot grow MSI-X while enabled).
 */
static int vfio_pci_msix_register(VFIOPCIDevice *vdev, unsigned int nr)
{
    int32_t fd;

    if (nr >= vdev->nr_vectors && vdev->msix->noresize) {
        unsigned int n = nr + 1;
        g_autofree int32_t *fds = g_new(int32_t, n);
        int ret;

        for (unsigned int i = 0; i < n; i++) {
            fds[i] = vfio_pci_vector_fd(&vdev->msi_vectors[i]);
        }
        vfio_device_irq_disable(&vdev->vbasedev, VFIO_PCI_MSIX_IRQ_INDEX);
        ret = vfio_pci_set_irq_fds(vdev, VFIO_PCI_MSIX_IRQ_INDEX, 0, n, fds);
        if (!ret) {
            vdev->nr_vectors = n;
        }
        return ret;
    }
    fd = vfio_pci_vector_fd(&vdev->msi_vectors[nr]);
    if (nr >= vdev->nr_vectors) {
        vdev->nr_vectors = nr + 1;
    }
    return vfio_pci_set_irq_fds(vdev, VFIO_PCI_MSIX_IRQ_INDEX, nr, 1, &fd);
}

static int vfio_pci_msix_vector_use(PCIDevice *pdev, unsigned int nr, MSIMessage msg)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);
    VFIOPCIMSIVector *vector;
    int ret;

    if (vdev->interrupt != VFIO_PCI_INT_MSIX || !vdev->msix || nr >= vdev->msix->entries) {
        return -EINVAL;
    }
    vector = &vdev->msi_vectors[nr];
    trace_vfio_pci_msix_vector_use(vdev->vbasedev.name, nr, msg.address, msg.data,
                                   vector->use);
    if (vector->use) {
        return 0;       /* registered already; masking is virtual */
    }
    vfio_pci_vector_init(vdev, vector);
    if (!vector->use) {
        return -ENOMEM;
    }
    msix_vector_use(pdev, nr);
    ret = vfio_pci_msix_register(vdev, nr);
    if (ret) {
        error_report("vfio %s: cannot register MSI-X vector %u: %s", vdev->vbasedev.name,
                     nr, strerror(-ret));
        msix_vector_unuse(pdev, nr);
        vfio_pci_vector_cleanup(vector);
        return ret;
    }
    return 0;
}

static void vfio_pci_msix_vector_release(PCIDevice *pdev, unsigned int nr)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);

    /*
     * Nothing to tell the kernel: the eventfd stays registered and a
     * message arriving now becomes a pending bit in Aperture's PBA.
     */
    trace_vfio_pci_msix_vector_release(vdev->vbasedev.name, nr);
}

static void vfio_pci_msix_enable(VFIOPCIDevice *vdev)
{
    int32_t none = -1;
    int ret;

    vfio_pci_disable_interrupts(vdev);
    vdev->msi_vectors = g_new0(VFIOPCIMSIVector, vdev->msix->entries);
    vdev->interrupt = VFIO_PCI_INT_MSIX;
    /*
     * Put the device in MSI-X mode now, with vector 0 allocated and no
     * eventfd, as the guest's view says: a driver enables MSI-X long
     * before it unmasks a vector, and firmware may rely on the device's
     * mode.
     */
    ret = vfio_pci_set_irq_fds(vdev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &none);
    if (ret) {
        error_report("vfio %s: cannot enable MSI-X: %s", vdev->vbasedev.name,
                     strerror(-ret));
        vfio_pci_vectors_free(vdev, vdev->msix->entries);
        vdev->interrupt = VFIO_PCI_INT_NONE;
        return;
    }
    vdev->nr_vectors = 1;
    ret = msix_set_vector_notifiers(&vdev->pdev, vfio_pci_msix_vector_use,
                                    vfio_pci_msix_vector_release, NULL);
    if (ret) {
        error_report("vfio %s: cannot register the unmasked MSI-X vectors: %s",
                     vdev->vbasedev.name, strerror(-ret));
    }
    trace_vfio_pci_msix_enable(vdev->vbasedev.name, vdev->msix->entries);
}

static void vfio_pci_msix_disable(VFIOPCIDevice *vdev)
{
    unsigned int entries = vdev->msix ? vdev->msix->entries : 0;

    msix_unset_vector_notifiers(&vdev->pdev);
    for (unsigned int i = 0; vdev->msi_vectors && i < entries; i++) {
        if (vdev->msi_vectors[i].use) {
            msix_vector_unuse(&vdev->pdev, i);
        }
    }
    vfio_device_irq_disable(&vdev->vbasedev, VFIO_PCI_MSIX_IRQ_INDEX);
    vfio_pci_vectors_free(vdev, entries);
    vdev->interrupt = VFIO_PCI_INT_NONE;
    trace_vfio_pci_msix_disable(vdev->vbasedev.name);
}

void vfio_pci_msix_update(VFIOPCIDevice *vdev, bool was_enabled, bool is_enabled)
{
    if (!vdev->msix) {
        return;
    }
    if (!was_enabled && is_enabled) {
        vfio_pci_msix_enable(vdev);
    } else if (was_enabled && !is_enabled && vdev->interrupt == VFIO_PCI_INT_MSIX) {
        vfio_pci_msix_disable(vdev);
        vfio_pci_intx_restore(vdev);
    }
}

/* ------------------------------------------------------------------------ */
/* All modes */

void vfio_pci_disable_interrupts(VFIOPCIDevice *vdev)
{
    trace_vfio_pci_disable_interrupts(vdev->vbasedev.name,
                                      vfio_pci_interrupt_mode_name(vdev->interrupt));
    switch (vdev->interrupt) {
    case VFIO_PCI_INT_MSIX:
        vfio_pci_msix_disable(vdev);
        break;
    case VFIO_PCI_INT_MSI:
        vfio_pci_msi_disable(vdev);
        break;
    case VFIO_PCI_INT_INTX:
        vfio_pci_intx_disable(vdev);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* Device request */

static void vfio_pci_req_interrupt(void *opaque)
{
    VFIOPCIDevice *vdev = opaque;
    Error *err = NULL;

    if (!event_notifier_test_and_clear(&vdev->req_notifier)) {
        return;
    }
    /* The host wants the device back (driver unbind): let it go. */
    trace_vfio_pci_req(vdev->vbasedev.name);
    if (!qdev_unplug(DEVICE(vdev), &err)) {
        warn_report("vfio %s: the host asks for the device but it cannot be unplugged: %s",
                    vdev->vbasedev.name, error_get_pretty(err));
        error_free(err);
    }
}

void vfio_pci_register_req_notifier(VFIOPCIDevice *vdev)
{
    struct vfio_irq_info info;
    Error *err = NULL;
    int fd;

    if (!vdev->req_enabled_prop ||
        vfio_device_get_irq_info(&vdev->vbasedev, VFIO_PCI_REQ_IRQ_INDEX, &info) ||
        info.count < 1) {
        return;
    }
    if (event_notifier_init(&vdev->req_notifier, false)) {
        warn_report("vfio %s: no eventfd for device requests", vdev->vbasedev.name);
        return;
    }
    fd = event_notifier_get_fd(&vdev->req_notifier);
    qemu_set_fd_handler(fd, vfio_pci_req_interrupt, NULL, vdev);
    if (!vfio_device_irq_set_signaling(&vdev->vbasedev, VFIO_PCI_REQ_IRQ_INDEX, 0,
                                       VFIO_IRQ_SET_ACTION_TRIGGER, fd, &err)) {
        warn_report_err(err);
        qemu_set_fd_handler(fd, NULL, NULL, NULL);
        event_notifier_cleanup(&vdev->req_notifier);
        return;
    }
    vdev->req_enabled = true;
}

void vfio_pci_unregister_req_notifier(VFIOPCIDevice *vdev)
{
    Error *err = NULL;

    if (!vdev->req_enabled) {
        return;
    }
    if (!vfio_device_irq_set_signaling(&vdev->vbasedev, VFIO_PCI_REQ_IRQ_INDEX, 0,
                                       VFIO_IRQ_SET_ACTION_TRIGGER, -1, &err)) {
        warn_report_err(err);
    }
    qemu_set_fd_handler(event_notifier_get_fd(&vdev->req_notifier), NULL, NULL, NULL);
    event_notifier_cleanup(&vdev->req_notifier);
    vdev->req_enabled = false;
}
