#!/bin/sh
# make check-vm: run the VFIO conformance suite from BUILD_DIR against the real
# Linux VFIO in nested guests, one boot per topology (edu, two-edu, bridge,
# intremap-off).  Prints one summary line "vm: N passed, N failed, N skipped".
#
#   tests/vm/check-vm.sh BUILD_DIR [rig.py check options, e.g. -t edu -q]
#
# APERTURE_SKIP_VM=1 turns "the rig cannot be set up" (no package archive,
# no qemu) into a reported skip with exit status 0.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [-t TOPOLOGY]... [-q]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$1
shift
rig_args="$*"
if ! command -v python3 >/dev/null 2>&1; then
    if [ "${APERTURE_SKIP_VM:-0}" = 1 ]; then
        echo "vm: 0 passed, 0 failed, 0 skipped (rig unavailable: no python3; APERTURE_SKIP_VM=1)"
        exit 0
    fi
    echo "vm: cannot set up the real-kernel rig: no python3 (APERTURE_SKIP_VM=1 skips it)"
    exit 1
fi
# Programs beyond the conformance suite that need a real device; they join
# the default (edu) boot.  Paths are relative to BUILD_DIR.
extra="
tests/unit/vfio-helpers/test-vfio-helpers-edu
tests/unit/vfio-helpers/test-vfio-helpers
tests/qtest/test-vfio-pci
tests/unit/vfio/test-hw-vfio-attach
tests/unit/vfio/test-hw-vfio-container
tests/unit/vfio/test-hw-vfio-device
tests/unit/vfio/test-hw-vfio-rollback
tests/unit/vfio/test-vfio-listener
tests/unit/vfio/test-vfio-discard
tests/unit/vfio/test-vfio-dirty-tracking
"
set --
for p in $extra; do
    set -- "$@" -x "$p"
done
exec python3 "$here/rig.py" check "$build" $rig_args "$@"
