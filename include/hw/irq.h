/*
 * Interrupt lines (QEMU's qemu_irq).
 *
 * A qemu_irq is the input end of a wire: whoever drives the line calls
 * qemu_set_irq(irq, level) and the handler of the receiving device runs
 * at once, with the line number @n it was allocated with.  A NULL
 * qemu_irq is an unconnected wire: setting it does nothing.
 *
 * Devices usually get their lines through qdev's GPIOs
 * (qdev_init_gpio_in/qdev_get_gpio_in, hw/qdev-core.h); the q35 machine's
 * interrupt controller ("ioapic", hw/i386/q35.h) has 24 input lines, the
 * GSIs.
 *
 * Threading: main loop thread only.
 */
#ifndef HW_IRQ_H
#define HW_IRQ_H

#include "qemu/osdep.h"

typedef struct IRQState *qemu_irq;

/* Called with the @opaque and @n the line was allocated with. */
typedef void (*qemu_irq_handler)(void *opaque, int n, int level);

/* One line.  Private to hw/core/irq.c except for the debugger's eye. */
struct IRQState {
    qemu_irq_handler handler;   /* the receiver; NULL: the line goes nowhere */
    void *opaque;               /* handler's first argument */
    int n;                      /* handler's second argument */
};

/* Drive @irq to @level (0 low, non-zero high).  NULL @irq is ignored. */
void qemu_set_irq(qemu_irq irq, int level);

static inline void qemu_irq_raise(qemu_irq irq)
{
    qemu_set_irq(irq, 1);
}

static inline void qemu_irq_lower(qemu_irq irq)
{
    qemu_set_irq(irq, 0);
}

/* Raise then lower: an edge for edge-triggered receivers. */
static inline void qemu_irq_pulse(qemu_irq irq)
{
    qemu_set_irq(irq, 1);
    qemu_set_irq(irq, 0);
}

/* One new line calling @handler(@opaque, @n, level).  Free with qemu_free_irq. */
qemu_irq qemu_allocate_irq(qemu_irq_handler handler, void *opaque, int n);
void qemu_free_irq(qemu_irq irq);

/*
 * An array of @n new lines numbered 0..n-1 (g_new array of qemu_irq; free
 * with qemu_free_irqs).
 */
qemu_irq *qemu_allocate_irqs(qemu_irq_handler handler, void *opaque, int n);
void qemu_free_irqs(qemu_irq *s, int n);

/*
 * Intercept lines (qtest's irq_intercept_in/out): from now on a level set
 * on gpio_in[i] calls @handler(@opaque, i, level) instead of the original
 * receiver.  The original handler is not called any more (QEMU behaves the
 * same): a test that intercepts a controller's inputs observes them
 * instead of the controller.
 */
void qemu_irq_intercept_in(qemu_irq *gpio_in, qemu_irq_handler handler, void *opaque, int n);

/*
 * A line that forwards to two others (fan-out): setting it sets both.
 * Free with qemu_free_irq (the targets are not freed).
 */
qemu_irq qemu_irq_split(qemu_irq irq1, qemu_irq irq2);

#endif /* HW_IRQ_H */
