#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs the packages, builds the
# dev, asan and fuzz presets once each, checks that every file the build and the binaries use
# comes from tools/packages.txt, runs every test in each preset, and a bounded fuzz run.
#   FUZZ_SECONDS=60 (default)  JOBS=$(nproc) (default)
#   BULWARK_DEBS=1: also build the Debian packages (tools/build-debs.sh: a release build of the
#     whole product plus lintian, ~10 min of two idle cores, far more under load) and install
#     them in a fresh Debian 12 root (ctest -L package). Off by default: beyond CI's budget.
# Any failure ends with one line naming the step and what to do.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
. tools/lib/steps.sh
steps_init run-all
JOBS="${JOBS:-$(nproc)}"
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "JOBS=$JOBS is not a positive number: fix or unset it"
[[ "$FUZZ_SECONDS" =~ ^[0-9]+$ ]] && [ "$FUZZ_SECONDS" -ge 2 ] ||
  die "FUZZ_SECONDS=$FUZZ_SECONDS is not a number of seconds >= 2: fix or unset it"

show() { printf '\n=== %s (%s)\n' "$1" "$(date +%T)"; }

step "install the Debian packages (tools/install-deps.sh)" \
  "apt could not install what tools/packages.txt lists (see the lines above): fix the apt sources or the network, or run as root, then run tests/run-all.sh again"
tools/install-deps.sh

# ccache (tools/packages.txt): a machine that built this tree before (a developer's, CI's
# own) rebuilds only what changed; paths are taken relative to the checkout, so a fresh clone
# elsewhere still hits. A fresh machine starts cold and builds everything, as without it.
# CCACHE_NOHASHDIR: every preset compiles with -g, and ccache then hashes the working directory
# by default, so a clone at another path missed on every file (measured: 0 of 2 hits for one
# file in two directories, 1 of 2 with it). The cost: an object taken from the cache names the
# first checkout's directory in its debug info.
if command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR="$PWD" \
    CCACHE_NOHASHDIR=true
fi

for preset in dev asan; do
  # always configured (the -D flags): a dir that an earlier configure left half-made is made whole
  step "configure $preset (cmake --preset $preset)" \
    "see cmake's error above (a missing package: add it to tools/packages.txt); a build dir of another checkout: rm -rf build/$preset"
  show "build $preset"
  [ ! -f "build/$preset/CMakeCache.txt" ] || build_dir_configured "build/$preset" ||
    echo "run-all: build/$preset has a CMakeCache.txt but no Makefile (an earlier configure stopped half-way): configuring it again"
  cmake --preset "$preset" -DBULWARK_WERROR=ON >/dev/null
  step "build $preset" "see the compiler's error above"
  cmake --build --preset "$preset" -j"$JOBS"
  if [ "$preset" = dev ]; then
    step "check the package list (tools/check-packages.py build/dev)" \
      "add the named package to tools/packages.txt (a fresh machine would lack it), then run again"
    show "check that tools/packages.txt provides every file the build read and every library and command used"
    tools/check-packages.py build/dev
  fi
  step "test $preset" "see the failed tests above (ctest --preset $preset -R NAME --output-on-failure reruns one)"
  show "test $preset"
  # The kernel group (802.1Q, kernel ESP) needs a real kernel: it runs once, below, in one QEMU
  # boot; the package group (a release build of the .debs) below, with BULWARK_DEBS=1 only.
  ctest --preset "$preset" -j"$JOBS" -LE "kernel|package"
done

step "kernel tests under QEMU" "see the failed test above; tests/kernel/README.md says how to run one alone"
show "kernel tests under QEMU, ONE VM boot: 802.1Q VLANs, the campus matrix over VLANs, kernel ESP, bulwarkd links"
# Each kernel test's command is run-in-kernel.sh again, which inside the VM just runs it.
tests/kernel/run-in-kernel.sh --verbose --timeout 1500 -- ctest --preset dev -L kernel --output-on-failure

if [ "${BULWARK_DEBS:-0}" = 1 ]; then
  step "packages" "see build-debs.sh's or install_test.sh's failure above (tools/build-debs.sh; tests/packaging/install_test.sh build/dev/tests/packaging/debs reruns the install)"
  show "packages: build the .debs (release build, lintian) and install them in a fresh Debian 12 root"
  BULWARK_DEBS=1 ctest --preset dev -L package --output-on-failure
else
  show "packages: not built (BULWARK_DEBS=1 tests/run-all.sh builds the .debs and installs them in a fresh root)"
fi

step "build fuzz" "see the compiler's error above (clang-14 from tools/packages.txt)"
show "build fuzz"
cmake --preset fuzz -DBULWARK_WERROR=ON >/dev/null
fuzz_targets=(policy_loader policy_formatter vici_decoder dispatch proc_stats ct_flow)
cmake --build --preset fuzz -j"$JOBS" --target "${fuzz_targets[@]/#/fuzz_}"
step "fuzz" "a crash or sanitizer error: the reproducer and the log are in build/fuzz/fuzz-artifacts/ (rerun: the fuzz binary with that file)"
# the loader the longest (the policy is what every user writes), the others half as long each
for t in "${fuzz_targets[@]}"; do
  secs=$((FUZZ_SECONDS / 2))
  [ "$t" = policy_loader ] && secs=$FUZZ_SECONDS
  show "fuzz $t for ${secs}s"
  tests/fuzz/run-fuzzer.sh "$t" "$secs"
done

show "all tests passed"
