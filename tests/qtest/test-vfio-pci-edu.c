/*
 * Guest-side edu driver over qtest (test-vfio-pci-edu.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <linux/pci_regs.h>
#include <stdlib.h>

#include "test-vfio-pci-edu.h"

const char *edu_host(void)
{
    const char *dev = g_getenv("APERTURE_VFIO_DEVICE");

    return dev && *dev ? dev : "0000:00:01.0";
}

bool edu_on_sim(void)
{
    return g_getenv("VFIO_SIM_CONFIG") != NULL;
}

int edu_timeout_ms(void)
{
    const char *env = g_getenv("APERTURE_EDU_TIMEOUT_MS");
    int ms = env ? atoi(env) : 0;

    return ms > 0 ? ms : 30000;
}

void edu_attach(Edu *e, QTestState *qts, int slot)
{
    memset(e, 0, sizeof(*e));
    e->qts = qts;
    e->slot = slot;
    e->bus = qpci_new_conf1(qts);
    e->dev = qpci_device_find(e->bus, PCI_DEVFN(slot, 0));
    g_assert_nonnull(e->dev);
    e->bar0 = qpci_iomap(e->dev, 0, &e->bar0_size);
    qpci_device_enable(e->dev);
}

void edu_detach(Edu *e)
{
    g_free(e->dev);
    qpci_free(e->bus);
    memset(e, 0, sizeof(*e));
}

uint32_t edu_readl(Edu *e, uint64_t reg)
{
    return qpci_io_readl(e->dev, e->bar0, reg);
}

void edu_writel(Edu *e, uint64_t reg, uint32_t value)
{
    qpci_io_writel(e->dev, e->bar0, reg, value);
}

bool edu_wait(Edu *e, bool (*cond)(Edu *e, void *opaque), void *opaque)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)edu_timeout_ms() * 1000;

    for (;;) {
        if (cond(e, opaque)) {
            return true;
        }
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        g_usleep(500);
    }
}

static bool edu_not_computing(Edu *e, void *opaque)
{
    return !(edu_readl(e, EDU_REG_STATUS) & EDU_STATUS_COMPUTING);
}

bool edu_factorial(Edu *e, uint32_t n, uint32_t *result)
{
    edu_writel(e, EDU_REG_FACTORIAL, n);
    if (!edu_wait(e, edu_not_computing, NULL)) {
        return false;
    }
    *result = edu_readl(e, EDU_REG_FACTORIAL);
    return true;
}

void edu_dma_start(Edu *e, uint64_t gpa, uint32_t buf_off, uint32_t len, bool to_ram,
                   uint32_t extra)
{
    uint64_t buf = EDU_DMA_BUFFER + buf_off;

    g_assert_cmpuint(gpa + len, <=, 1u << 28);
    g_assert_cmpuint(buf_off + len, <=, EDU_DMA_BUFFER_SIZE);
    edu_writel(e, EDU_REG_DMA_SRC, to_ram ? buf : gpa);
    edu_writel(e, EDU_REG_DMA_DST, to_ram ? gpa : buf);
    edu_writel(e, EDU_REG_DMA_COUNT, len);
    edu_writel(e, EDU_REG_DMA_CMD, EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0) | extra);
}

static bool edu_dma_idle(Edu *e, void *opaque)
{
    return !(edu_readl(e, EDU_REG_DMA_CMD) & EDU_DMA_RUN);
}

bool edu_dma_wait(Edu *e)
{
    return edu_wait(e, edu_dma_idle, NULL);
}

bool edu_dma(Edu *e, uint64_t gpa, uint32_t buf_off, uint32_t len, bool to_ram,
             uint32_t extra)
{
    edu_dma_start(e, gpa, buf_off, len, to_ram, extra);
    return edu_dma_wait(e);
}

int edu_intx_gsi(Edu *e)
{
    int pin = qpci_config_readb(e->dev, PCI_INTERRUPT_PIN);

    if (pin < 1 || pin > 4) {
        return -1;
    }
    /* ICH9's default routing for slots below 25: PIRQ (slot + pin) % 4 + 4 = E..H. */
    return 16 + (e->slot + pin - 1) % 4 + 4;
}

JsonObject *edu_query_vfio(QTestState *qts)
{
    JsonObject *reply = qtest_qmp(qts, "{'execute': 'query-vfio'}");
    JsonObject *ret;

    if (!json_object_has_member(reply, "return")) {
        g_autofree char *text = qtest_json_to_string(reply);

        g_error("query-vfio failed: %s", text);
    }
    ret = json_object_ref(json_object_get_object_member(reply, "return"));
    json_object_unref(reply);
    return ret;
}
