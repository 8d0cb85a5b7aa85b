#!/bin/sh
# make demo: run the vfio-pci scenario of tests/qtest/demo-vfio.c on vfio-sim's
# built-in host topology (edu at 0000:00:01.0, group 1): an Aperture VM with
# memfd-backed RAM and the edu assigned, what VFIO attached, a DMA into guest
# RAM checked byte for byte, the device's MSI, and a hot-unplug.
#
#   scripts/demo.sh BUILD_DIR [demo-vfio options: --host BDF --ram-mb N]
#
# Exits with the demo's status (0: every step passed).
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [--host BDF] [--ram-mb N]" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
shift
demo=$build/tests/qtest/demo-vfio
aperture=$build/aperture
sim=$build/contrib/vfio-sim/libvfio-sim.so

missing=
for f in "$demo" "$aperture" "$sim"; do
    [ -e "$f" ] || missing="$missing ${f#"$build"/}"
done
if [ -n "$missing" ]; then
    echo "demo: building$missing" >&2
    ninja -C "$build" tests/qtest/demo-vfio aperture contrib/vfio-sim/libvfio-sim.so >&2
fi

# An ASan build needs its runtime ahead of the preloaded sim.
preload=$sim
if ldd "$aperture" 2>/dev/null | grep -q libasan; then
    preload="$(${CC:-cc} -print-file-name=libasan.so):$sim"
fi

# VFIO_SIM_CONFIG empty: the built-in topology.  The sim reaches the aperture
# the demo starts through the inherited environment.
LD_PRELOAD=$preload VFIO_SIM_CONFIG= QTEST_APERTURE_BINARY=$aperture \
    exec "$demo" "$@"
