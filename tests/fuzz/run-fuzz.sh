#!/bin/sh
# Build Aperture's libFuzzer targets and run each for a bounded time.
#
#   tests/fuzz/run-fuzz.sh [--merge] [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 20; TARGETs (fuzz-NAME) default to all.
# The build directory is build-fuzz (FUZZ_BUILD_DIR overrides it), configured
# here with CC=clang -Dfuzzing=true if it does not exist yet.
#
# Each target starts from its corpus tests/fuzz/corpus/TARGET/, which is only
# read: new interesting inputs go to BUILD/fuzz-scratch/TARGET/new (kept, so
# the next run resumes from them), and a crashing input to
# BUILD/fuzz-scratch/TARGET/crash-*.  With --merge, the new inputs that add
# coverage are merged into the tree's corpus (libFuzzer -merge=1) to commit.
#
# Prints one line per target.  Exit status: 0 all ran clean, 1 a target
# crashed (or leaked, or timed out on an input), 2 setup or build failed.
set -u

cd "$(dirname "$0")/../.." || exit 2
build=${FUZZ_BUILD_DIR:-build-fuzz}
secs=20
merge=false
targets=""

usage() {
    sed -n '2,18s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

for arg in "$@"; do
    case "$arg" in
    --merge) merge=true ;;
    -h|--help) usage ;;
    -*) echo "run-fuzz: unknown option $arg" >&2; usage ;;
    *[!0-9]*) targets="$targets $arg" ;;
    *) secs=$arg ;;
    esac
done
[ "$secs" -gt 0 ] || { echo "run-fuzz: SECONDS_PER_TARGET must be > 0" >&2; exit 2; }

# clang and its libFuzzer runtime (Debian: clang, libclang-rt-14-dev).
have_fuzzer() {
    command -v clang >/dev/null 2>&1 || return 1
    rt=$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)
    [ -f "$rt" ]
}
if ! have_fuzzer; then
    scripts/install-deps.sh fuzz || exit 2
    have_fuzzer || { echo "run-fuzz: clang's libFuzzer runtime not found" >&2; exit 2; }
fi

# Configure, or check that an existing build directory is a clang fuzz build.
if [ ! -f "$build/build.ninja" ]; then
    echo "run-fuzz: configuring $build (CC=clang, -Dfuzzing=true)" >&2
    CC=clang meson setup "$build" -Dfuzzing=true >"$build.setup.log" 2>&1 || {
        cat "$build.setup.log" >&2
        echo "run-fuzz: meson setup failed" >&2
        exit 2
    }
    rm -f "$build.setup.log"
else
    cc_cmd=$(awk '/^rule c_COMPILER$/ { f = 1 } f && /command =/ { print $3; exit }' \
             "$build/build.ninja")
    fuzzing=$(meson introspect "$build" --buildoptions | python3 -c '
import json, sys
print("".join(str(o["value"]).lower() for o in json.load(sys.stdin) if o["name"] == "fuzzing"))')
    case "$cc_cmd" in
    *clang*) state="clang $fuzzing" ;;
    *) state="$cc_cmd $fuzzing" ;;
    esac
    case "$state" in
    "clang true") ;;
    "clang false") meson configure "$build" -Dfuzzing=true >/dev/null || exit 2 ;;
    *)
        echo "run-fuzz: $build is not a clang build ($state); remove it or set FUZZ_BUILD_DIR" >&2
        exit 2
        ;;
    esac
fi

# Regenerate if a meson.build changed, so the target list below is current.
ninja -C "$build" build.ninja >"$build/fuzz-build.log" 2>&1 || {
    tail -n 40 "$build/fuzz-build.log" >&2
    echo "run-fuzz: meson regeneration failed (log: $build/fuzz-build.log)" >&2
    exit 2
}

# The fuzz targets meson knows about: "NAME FILE" per line.
list=$(meson introspect "$build" --targets | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    # Only libFuzzer targets: tests/fuzz defines them all; "fuzz-*-smoke"
    # programs elsewhere are plain test programs.
    if (t["type"] == "executable" and t["name"].startswith("fuzz-") and
            t.get("defined_in", "").endswith(os.path.join("tests", "fuzz", "meson.build"))):
        print(t["name"], os.path.relpath(t["filename"][0], sys.argv[1]))' "$build") || exit 2
if [ -n "$targets" ]; then
    sel=""
    for t in $targets; do
        line=$(printf '%s\n' "$list" | awk -v t="$t" '$1 == t')
        [ -n "$line" ] || { echo "run-fuzz: no fuzz target $t" >&2; exit 2; }
        sel="$sel$line
"
    done
    list=$sel
fi
[ -n "$list" ] || { echo "run-fuzz: no fuzz targets in $build" >&2; exit 2; }

# Build only the fuzz targets (and what they link).
# shellcheck disable=SC2046
ninja -C "$build" $(printf '%s\n' "$list" | awk 'NF { print $2 }') >"$build/fuzz-build.log" 2>&1 || {
    tail -n 40 "$build/fuzz-build.log" >&2
    echo "run-fuzz: build failed (log: $build/fuzz-build.log)" >&2
    exit 2
}

unset APERTURE_TRACE
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
while read -r name file; do
    [ -n "$name" ] || continue
    corpus=tests/fuzz/corpus/$name
    scratch=$build/fuzz-scratch/$name
    mkdir -p "$scratch/new"
    rm -f "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* "$scratch"/oom-*
    if [ ! -d "$corpus" ]; then
        echo "run-fuzz: warning: $corpus missing; starting from nothing" >&2
        corpus=""
    fi
    before=$(find "$scratch/new" -type f | wc -l)
    # libFuzzer stops itself after max_total_time; timeout(1) is the backstop.
    timeout $((secs * 2 + 60)) "$build/$file" -max_total_time="$secs" -timeout=25 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$scratch/" \
        "$scratch/new" $corpus </dev/null >"$scratch/log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/log" | tail -n 1)
    cov=$(sed -n 's/^#[0-9].* cov: \([0-9]*\).*/\1/p' "$scratch/log" | tail -n 1)
    after=$(find "$scratch/new" -type f | wc -l)
    if [ "$rc" -ne 0 ]; then
        artifact=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$scratch/log" | tail -n 1)
        echo "$name: FAILED (exit $rc) input ${artifact:-none saved}; log $scratch/log;" \
             "reproduce: $build/$file ${artifact:-}"
        failed=1
        continue
    fi
    line="$name: ok ${secs}s, ${runs:-?} runs, cov ${cov:-?}, $((after - before)) new inputs"
    if $merge && [ -n "$corpus" ]; then
        n0=$(find "$corpus" -type f | wc -l)
        "$build/$file" -merge=1 "$corpus" "$scratch/new" </dev/null >"$scratch/merge.log" 2>&1 || {
            echo "$name: merge FAILED (log $scratch/merge.log)"
            failed=1
            continue
        }
        n1=$(find "$corpus" -type f | wc -l)
        line="$line, merged $((n1 - n0)) into $corpus"
    fi
    echo "$line"
done <<EOF
$list
EOF
exit $failed
