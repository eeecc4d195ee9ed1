#!/usr/bin/env bash
# Runs the (already built) policy fuzzer for a bounded time. Builds nothing.
#
#   tests/fuzz/run-fuzz.sh SECONDS [FUZZER]
#
# FUZZER defaults to build/fuzz/tests/fuzz/fuzz_policy_loader (cmake --preset fuzz &&
# cmake --build --preset fuzz). The corpus is a fresh temporary directory seeded with
# policies/examples/*.yaml; the dictionary is tests/fuzz/policy.dict. Exits non-zero when
# the fuzzer reports a crash, a sanitizer error, a leak, a timeout (-timeout=10) or
# running out of memory (-rss_limit_mb=2048); the reproducer is kept in
# $BULWARK_FUZZ_ARTIFACTS (default: build/fuzz/fuzz-artifacts/) and the log beside it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ || "$1" -lt 1 ]]; then
  echo "usage: $0 SECONDS [FUZZER]" >&2
  exit 2
fi
seconds="$1"
fuzzer="${2:-$root/build/fuzz/tests/fuzz/fuzz_policy_loader}"
if [[ ! -x "$fuzzer" ]]; then
  echo "$0: no fuzzer at $fuzzer; build it first:" >&2
  echo "  cmake --preset fuzz && cmake --build --preset fuzz -j2" >&2
  exit 2
fi
artifacts="${BULWARK_FUZZ_ARTIFACTS:-$root/build/fuzz/fuzz-artifacts}"
mkdir -p "$artifacts"

work="$(mktemp -d "${TMPDIR:-/tmp}/bulwark-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
seeds=("$root"/policies/examples/*.yaml "$root"/policies/examples/campus-ha/ha.yaml)
# Inputs that once failed (regressions): tests/fuzz/corpus/policy_loader/.
regressions=("$root"/tests/fuzz/corpus/policy_loader/*.yaml)
if [[ ! -e "${seeds[0]}" ]]; then
  echo "$0: no seed policies in $root/policies/examples" >&2
  exit 2
fi
for s in "${seeds[@]}" "${regressions[@]}"; do
  [[ -e "$s" ]] && cp "$s" "$work/corpus/$(basename "$(dirname "$s")")-$(basename "$s")"
done

# Sanitizers: stop at the first report, with a stack; look for leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

log="$work/fuzz.log"
echo "fuzzing $(basename "$fuzzer") for ${seconds}s (seeds: ${#seeds[@]} example policies)"
status=0
"$fuzzer" "$work/corpus" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -dict="$here/policy.dict" -artifact_prefix="$artifacts/" \
  -print_final_stats=1 >"$log" 2>&1 || status=$?

# libFuzzer's own exit status covers crashes, leaks, timeouts and OOM; the sanitizer
# reports are checked as well in case one was printed without stopping the run.
if grep -qE '^==[0-9]+==ERROR|^SUMMARY: (Address|Undefined|Leak)Sanitizer|runtime error:|ERROR: libFuzzer|=== fuzz_policy_loader:' "$log"; then
  [[ $status -eq 0 ]] && status=1
fi
tail -n 25 "$log"; echo
if [[ $status -ne 0 ]]; then
  cp "$log" "$artifacts/fuzz.log"
  echo "FAIL: the fuzzer found a problem (exit $status); log: $artifacts/fuzz.log" >&2
  ls -1 "$artifacts" >&2
  exit "$status"
fi
echo "OK: no crash, sanitizer report or leak in ${seconds}s"
