# Thin wrapper over meson/ninja.  `make demo` runs the main job, `make check`
# runs every test suite (unit, conformance on vfio-sim, the same under
# ASan+UBSan, and the real-kernel rig) and ends with one summary line.

BUILD      ?= build
ASAN_BUILD ?= build-asan
NINJA      ?= ninja

.PHONY: all check check-unit check-asan check-vm demo bench fuzz clean distclean

all: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

$(BUILD)/build.ninja:
	./configure --builddir=$(BUILD)

$(ASAN_BUILD)/build.ninja:
	./configure --builddir=$(ASAN_BUILD) --enable-sanitizers

check:
	scripts/check.sh all

check-unit:
	scripts/check.sh unit

check-asan:
	scripts/check.sh asan

check-vm:
	scripts/check.sh vm

# The assigned-device scenario, then a live migration with its progress.
demo: all
	scripts/demo.sh $(BUILD)
	scripts/aperture-migrate --demo $(BUILD)

bench: all
	tests/bench/run-bench.sh $(BUILD)

fuzz:
	tests/fuzz/run-fuzz.sh $(FUZZ_ARGS)

clean:
	-$(NINJA) -C $(BUILD) clean

distclean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
