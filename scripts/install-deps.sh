#!/bin/sh
# Install what Aperture needs on Debian 12 (bookworm).
#
#   scripts/install-deps.sh build    meson, ninja, glib, json-glib, the 6.12 uAPI headers
#   scripts/install-deps.sh fuzz     clang + libFuzzer runtime
#   scripts/install-deps.sh vm       qemu-system-x86 (backports), busybox-static, kmod
#
# Run as root it installs what is missing; otherwise it only says what to install.
# The bookworm-backports suite is added by copying the first stanza of the system's
# own debian.sources, so no archive host name is written anywhere by this project.
set -eu

what=${1:-build}
case "$what" in
build)
    pkgs="meson ninja-build pkg-config libglib2.0-dev libjson-glib-dev python3 gcc"
    backports="linux-libc-dev"
    ;;
fuzz)
    pkgs="clang libclang-rt-14-dev"
    backports=""
    ;;
vm)
    pkgs="busybox-static kmod cpio xz-utils"
    backports="qemu-system-x86"
    ;;
*)
    echo "usage: $0 build|fuzz|vm" >&2
    exit 2
    ;;
esac

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done

# The VFIO migration v2 pre-copy uAPI and iommufd.h arrive with the 6.12 headers.
need_bp=""
for p in $backports; do
    case "$p" in
    linux-libc-dev)
        grep -q VFIO_MIG_GET_PRECOPY_INFO /usr/include/linux/vfio.h 2>/dev/null || need_bp="$need_bp $p"
        ;;
    qemu-system-x86)
        v=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
        case "$v" in
        1:1[0-9].*) ;;
        *) need_bp="$need_bp $p" ;;
        esac
        ;;
    *)
        need_bp="$need_bp $p"
        ;;
    esac
done

[ -z "$missing$need_bp" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "aperture: missing packages:$missing${need_bp:+ (from bookworm-backports:$need_bp)}" >&2
    echo "aperture: install them as root (apt-get install ...), or run this script as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
updated=""
if [ -n "$need_bp" ]; then
    src=/etc/apt/sources.list.d/debian.sources
    bp=/etc/apt/sources.list.d/aperture-backports.sources
    if [ ! -f "$bp" ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
        if [ ! -f "$src" ]; then
            echo "aperture: $src not found; add bookworm-backports to apt's sources by hand" >&2
            exit 1
        fi
        # First stanza only, with its Suites line replaced.
        awk 'BEGIN { RS=""; ORS="\n" } NR == 1 { print; exit }' "$src" |
            sed 's/^Suites:.*/Suites: bookworm-backports/' >"$bp"
    fi
fi
echo "aperture: installing:$missing$need_bp" >&2
apt-get update -qq >/dev/null || { echo "aperture: apt-get update failed" >&2; exit 1; }
if [ -n "$missing" ]; then
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ -n "$need_bp" ]; then
    apt-get install -y -qq --no-install-recommends -t bookworm-backports $need_bp >/dev/null
fi
