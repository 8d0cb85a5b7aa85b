#!/bin/sh
# make bench: every meson benchmark of BUILD_DIR (vfio-sim's VFIO ioctl figures
# among them), then the same ioctl micro-benchmark against the real kernel in
# the rig (tests/vm/rig.py bench), then a report putting the two side by side.
#
#   tests/bench/run-bench.sh [BUILD_DIR]        (default: build)
#
# Files written in BUILD_DIR:
#   meson-logs/bench-output.txt   everything the meson benchmarks printed
#   sim-bench.txt                 vfio-sim's figures (bench-vfio-ioctl's BENCH lines)
#   vm-bench.txt                  the kernel's, from the last good rig run (rig.py writes it)
#
# The rig part is skipped with one line when APERTURE_SKIP_VM=1 or when the rig
# cannot be set up; the report then uses the figures of the last rig run, if any,
# and says so.  The exit status is that of the meson benchmarks: the rig part is
# a report and never fails the run.
set -u

build=${1:-build}
if [ ! -f "$build/build.ninja" ]; then
    echo "run-bench: $build is not a configured build directory (./configure --builddir=$build)" >&2
    exit 2
fi
build=$(cd "$build" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
sim_file=$build/sim-bench.txt
vm_file=$build/vm-bench.txt
log=$build/meson-logs/bench-output.txt
mkdir -p "$build/meson-logs"

# 1. The meson benchmarks, one at a time; their output is shown and kept.
rcfile=$(mktemp)
trap 'rm -f "$rcfile" "$sim_file.tmp"' EXIT
{ meson test -C "$build" --benchmark --num-processes 1; echo $? > "$rcfile"; } 2>&1 | tee "$log"
meson_rc=$(cat "$rcfile")

# 2. vfio-sim's figures: from the meson run, or (if that benchmark was not
# registered or did not run) from a run of our own under the preloaded sim.
grep -E '^BENCH(-META backend=vfio-sim| vfio-ioctl/)' "$log" > "$sim_file.tmp"
if ! grep -q '^BENCH vfio-ioctl/' "$sim_file.tmp"; then
    prog=$build/tests/vfio/bench-vfio-ioctl
    lib=$build/contrib/vfio-sim/libvfio-sim.so
    if [ -x "$prog" ] && [ -f "$lib" ]; then
        echo
        echo "run-bench: bench-vfio-ioctl did not run under meson; running it under vfio-sim"
        LD_PRELOAD=$lib VFIO_SIM_CONFIG='' "$prog" | tee -a "$log" |
            grep -E '^BENCH(-META| vfio-ioctl/)' > "$sim_file.tmp"
    fi
fi
if grep -q '^BENCH vfio-ioctl/' "$sim_file.tmp"; then
    mv "$sim_file.tmp" "$sim_file"
else
    rm -f "$sim_file"
fi

# 3. The real kernel, in the rig's default (edu) guest.
echo
echo "== VFIO ioctl micro-benchmark on Linux 6.12 (tests/vm/rig.py bench) =="
vm_note=
if [ "${APERTURE_SKIP_VM:-0}" = 1 ]; then
    echo "vm-bench: rig part skipped (APERTURE_SKIP_VM=1)"
    vm_note="the rig was skipped (APERTURE_SKIP_VM=1)"
elif ! command -v python3 >/dev/null 2>&1; then
    echo "vm-bench: rig part skipped: no python3"
    vm_note="the rig was skipped (no python3)"
else
    python3 "$src/tests/vm/rig.py" bench "$build"
    case $? in
    0) ;;
    77) vm_note="the rig could not be set up" ;;
    *) vm_note="the rig run failed" ;;
    esac
fi

# 4. The report.
echo
echo "== VFIO ioctl floor: vfio-sim vs Linux 6.12 (rig) =="
if [ ! -f "$sim_file" ] && [ ! -f "$vm_file" ]; then
    echo "no figures: bench-vfio-ioctl ran neither under vfio-sim nor in the rig"
    exit "$meson_rc"
fi
[ -f "$sim_file" ] || echo "vfio-sim: no figures (is contrib/vfio-sim built? -Dvfio_sim=true)"
[ -f "$vm_file" ] ||
    echo "Linux 6.12: no figures (${vm_note:-no rig run}; tests/vm/rig.py bench $build)"
set --
[ -f "$sim_file" ] && set -- "$sim_file"
[ -f "$vm_file" ] && set -- "$@" "$vm_file"
awk -v have_sim="$([ -f "$sim_file" ] && echo 1 || echo 0)" -v vm_note="$vm_note" '
function fmt(ns) {
    if (ns == "") return "-"
    if (ns < 1000) return sprintf("%.0f ns", ns)
    if (ns < 1000000) return sprintf("%.2f us", ns / 1000)
    return sprintf("%.2f ms", ns / 1000000)
}
function label(line,    i) {
    for (i = 0; i < 6; i++) sub(/^[^ ]+ +/, "", line)
    return line
}
FNR == 1 { side = (have_sim && FILENAME == ARGV[1]) ? "sim" : "vm" }
side == "vm" && /^# vm-bench: / {
    split(substr($0, 13), h, ", ")
    vm_when = h[1]
    for (i in h) if (h[i] ~ /^accel /) vm_accel = substr(h[i], 7)
}
/^BENCH-META / {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); meta[side, kv[1]] = kv[2] }
}
/^BENCH vfio-ioctl\// {
    name = substr($2, 12)
    if (!((name) in seen)) { seen[name] = 1; order[++n] = name; lab[name] = label($0) }
    med[side, name] = $3
}
END {
    sfloor = med["sim", "floor-getppid"]; kfloor = med["vm", "floor-getppid"]
    if (("sim", "kernel") in meta)
        printf "vfio-sim:   preloaded on the host (Linux %s, load %s)\n",
               meta["sim", "kernel"], meta["sim", "load"]
    if (("vm", "kernel") in meta)
        printf "Linux 6.12: %s in the rig (%s guest, 1 GiB), %s %s\n", meta["vm", "kernel"],
               toupper(vm_accel),
               vm_note == "" ? "this run," : "CACHED: " vm_note "; last good run", vm_when
    print "x floor: a median over the syscall floor (getppid) of the same side; k/s: the"
    print "x floor of the kernel over that of the sim. The rig is an emulated guest:"
    print "compare ratios, not times."
    print ""
    row = "%-42s %10s %9s  %10s %9s %9s\n"
    printf row, "figure (median)", "vfio-sim", "x floor", "Linux 6.12", "x floor", "k/s"
    for (i = 1; i <= n; i++) {
        nm = order[i]; s = med["sim", nm]; k = med["vm", nm]
        sr = (s != "" && sfloor > 0) ? s / sfloor : ""
        kr = (k != "" && kfloor > 0) ? k / kfloor : ""
        printf row, lab[nm], fmt(s),
               sr == "" ? "-" : sprintf("%.1f", sr), fmt(k),
               kr == "" ? "-" : sprintf("%.1f", kr),
               (sr > 0 && kr != "") ? sprintf("%.2f", kr / sr) : "-"
    }
}' "$@"
exit "$meson_rc"
