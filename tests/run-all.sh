#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs the packages, builds the
# dev, asan and fuzz presets once each, runs every test in each, and a bounded fuzz run.
#   FUZZ_SECONDS=60 (default)  JOBS=2 (default)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-$(nproc)}"
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"

tools/install-deps.sh

step() { printf '\n=== %s (%s)\n' "$1" "$(date +%T)"; }

for preset in dev asan; do
  step "build $preset"
  cmake --preset "$preset" -DBULWARK_WERROR=ON >/dev/null
  cmake --build --preset "$preset" -j"$JOBS"
  step "test $preset"
  # The kernel group (802.1Q, kernel ESP) needs a real kernel: it runs once, below, in one QEMU boot.
  ctest --preset "$preset" -j"$JOBS" -LE kernel
done

step "kernel tests under QEMU, ONE VM boot: 802.1Q VLANs, the campus matrix over VLANs, kernel ESP, bulwarkd links"
# Each kernel test's command is run-in-kernel.sh again, which inside the VM just runs it.
tests/kernel/run-in-kernel.sh --verbose --timeout 900 -- ctest --preset dev -L kernel --output-on-failure

step "build fuzz"
cmake --preset fuzz -DBULWARK_WERROR=ON >/dev/null
cmake --build --preset fuzz -j"$JOBS" --target fuzz_policy_loader fuzz_vici_decoder
step "fuzz the policy loader for ${FUZZ_SECONDS}s"
tests/fuzz/run-fuzz.sh "$FUZZ_SECONDS"
step "fuzz the VICI decoder for $((FUZZ_SECONDS / 2))s"
tests/fuzz/run-fuzz-vici.sh "$((FUZZ_SECONDS / 2))"

step "all tests passed"
