#!/usr/bin/env bash
# Runs the (already built) control API dispatch fuzzer for a bounded time. Builds nothing.
#
#   tests/fuzz/run-fuzz-dispatch.sh SECONDS [FUZZER]
#
# FUZZER defaults to build/fuzz/tests/fuzz/fuzz_dispatch (cmake --preset fuzz && cmake --build
# --preset fuzz). Seeds: tests/fuzz/corpus/dispatch (the first byte of each picks the role
# context, see fuzz_dispatch.cpp), copied into a fresh directory. Exits non-zero on a crash, a
# broken promise (the target traps), a sanitizer report, a leak, a timeout or OOM; the
# reproducer is kept in $BULWARK_FUZZ_ARTIFACTS (default build/fuzz/fuzz-artifacts/).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ || "$1" -lt 1 ]]; then
  echo "usage: $0 SECONDS [FUZZER]" >&2
  exit 2
fi
seconds="$1"
fuzzer="${2:-$root/build/fuzz/tests/fuzz/fuzz_dispatch}"
if [[ ! -x "$fuzzer" ]]; then
  echo "$0: no fuzzer at $fuzzer; build it first: cmake --preset fuzz && cmake --build --preset fuzz -j2" >&2
  exit 2
fi
artifacts="${BULWARK_FUZZ_ARTIFACTS:-$root/build/fuzz/fuzz-artifacts}"
mkdir -p "$artifacts"
work="$(mktemp -d "${TMPDIR:-/tmp}/bulwark-fuzz-dispatch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp "$here"/corpus/dispatch/* "$work/corpus/"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
log="$work/fuzz.log"
echo "fuzzing $(basename "$fuzzer") for ${seconds}s ($(ls "$work/corpus" | wc -l) seeds)"
status=0
"$fuzzer" "$work/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=200000 \
  -artifact_prefix="$artifacts/dispatch-" -print_final_stats=1 >"$log" 2>&1 || status=$?
if grep -qE '^==[0-9]+==ERROR|^SUMMARY: (Address|Undefined|Leak)Sanitizer|runtime error:|ERROR: libFuzzer' "$log"; then
  [[ $status -eq 0 ]] && status=1
fi
tail -n 15 "$log"; echo
if [[ $status -ne 0 ]]; then
  cp "$log" "$artifacts/fuzz-dispatch.log"
  echo "FAIL: the dispatch fuzzer found a problem (exit $status); log: $artifacts/fuzz-dispatch.log" >&2
  exit "$status"
fi
echo "OK: no crash, broken promise, sanitizer report or leak in ${seconds}s"
