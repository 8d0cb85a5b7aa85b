/*
 * Interrupt lines (include/hw/irq.h).
 */
#include "qemu/osdep.h"
#include "hw/irq.h"

void qemu_set_irq(qemu_irq irq, int level)
{
    if (irq && irq->handler) {
        irq->handler(irq->opaque, irq->n, level);
    }
}

qemu_irq qemu_allocate_irq(qemu_irq_handler handler, void *opaque, int n)
{
    qemu_irq irq = g_new0(struct IRQState, 1);

    irq->handler = handler;
    irq->opaque = opaque;
    irq->n = n;
    return irq;
}

void qemu_free_irq(qemu_irq irq)
{
    g_free(irq);
}

qemu_irq *qemu_allocate_irqs(qemu_irq_handler handler, void *opaque, int n)
{
    qemu_irq *s = g_new0(qemu_irq, n);

    for (int i = 0; i < n; i++) {
        s[i] = qemu_allocate_irq(handler, opaque, i);
    }
    return s;
}

void qemu_free_irqs(qemu_irq *s, int n)
{
    if (!s) {
        return;
    }
    for (int i = 0; i < n; i++) {
        qemu_free_irq(s[i]);
    }
    g_free(s);
}

void qemu_irq_intercept_in(qemu_irq *gpio_in, qemu_irq_handler handler, void *opaque, int n)
{
    for (int i = 0; i < n; i++) {
        gpio_in[i]->handler = handler;
        gpio_in[i]->opaque = opaque;
        gpio_in[i]->n = i;
    }
}

typedef struct IRQSplit {
    qemu_irq a, b;
} IRQSplit;

static void irq_split_handler(void *opaque, int n, int level)
{
    IRQSplit *s = opaque;

    qemu_set_irq(s->a, level);
    qemu_set_irq(s->b, level);
}

qemu_irq qemu_irq_split(qemu_irq irq1, qemu_irq irq2)
{
    /*
     * The pair lives as long as the line: it is allocated together with
     * the IRQState so that qemu_free_irq frees both.
     */
    struct {
        struct IRQState irq;
        IRQSplit split;
    } *both = g_new0(__typeof__(*both), 1);

    both->split.a = irq1;
    both->split.b = irq2;
    both->irq.handler = irq_split_handler;
    both->irq.opaque = &both->split;
    return &both->irq;
}
