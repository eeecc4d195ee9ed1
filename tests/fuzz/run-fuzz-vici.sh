#!/usr/bin/env bash
# Runs the (already built) VICI decoder fuzzer for a bounded time. Builds nothing.
#
#   tests/fuzz/run-fuzz-vici.sh SECONDS [FUZZER]
#
# FUZZER defaults to build/fuzz/tests/fuzz/fuzz_vici_decoder (cmake --preset fuzz &&
# cmake --build --preset fuzz). Seeds: the strongSwan VICI README's encoding example and a
# few packets. Exits non-zero on a crash, sanitizer report, leak, timeout or OOM; the
# reproducer is kept in $BULWARK_FUZZ_ARTIFACTS (default build/fuzz/fuzz-artifacts/).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ || "$1" -lt 1 ]]; then
  echo "usage: $0 SECONDS [FUZZER]" >&2
  exit 2
fi
seconds="$1"
fuzzer="${2:-$root/build/fuzz/tests/fuzz/fuzz_vici_decoder}"
if [[ ! -x "$fuzzer" ]]; then
  echo "$0: no fuzzer at $fuzzer; build it first: cmake --preset fuzz && cmake --build --preset fuzz -j2" >&2
  exit 2
fi
artifacts="${BULWARK_FUZZ_ARTIFACTS:-$root/build/fuzz/fuzz-artifacts}"
mkdir -p "$artifacts"
work="$(mktemp -d "${TMPDIR:-/tmp}/bulwark-fuzz-vici.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
# README example: key1 = value1, section1 { sub-section { key2 = value2 }, list1 = [item1, item2] }
printf '\x03\x04key1\x00\x06value1\x01\x08section1\x01\x0bsub-section\x03\x04key2\x00\x06value2\x02\x04\x05list1\x05\x00\x05item1\x05\x00\x05item2\x06\x02' >"$work/corpus/readme"
printf '\x00\x07version' >"$work/corpus/cmd-request"
printf '\x01\x03\x07success\x00\x03yes' >"$work/corpus/response"
printf '\x07\x0aike-updown\x03\x02up\x00\x03yes\x01\x04conn\x03\x08remote-id\x00\x05CN=a\x02' >"$work/corpus/event"
printf '\x05' >"$work/corpus/confirm"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
log="$work/fuzz.log"
echo "fuzzing $(basename "$fuzzer") for ${seconds}s"
status=0
"$fuzzer" "$work/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=70000 \
  -artifact_prefix="$artifacts/vici-" -print_final_stats=1 >"$log" 2>&1 || status=$?
if grep -qE '^==[0-9]+==ERROR|^SUMMARY: (Address|Undefined|Leak)Sanitizer|runtime error:|ERROR: libFuzzer' "$log"; then
  [[ $status -eq 0 ]] && status=1
fi
tail -n 15 "$log"; echo
if [[ $status -ne 0 ]]; then
  cp "$log" "$artifacts/fuzz-vici.log"
  echo "FAIL: the VICI fuzzer found a problem (exit $status); log: $artifacts/fuzz-vici.log" >&2
  exit "$status"
fi
echo "OK: no crash, sanitizer report or leak in ${seconds}s"
