#!/usr/bin/env bash
# Runs one (already built) libFuzzer target, bounded in time or in executions. Builds nothing.
#
#   tests/fuzz/run-fuzzer.sh TARGET SECONDS [FUZZER]
#   tests/fuzz/run-fuzzer.sh TARGET --runs N [FUZZER]      (bench/fuzz-long.sh: 10 M runs)
#
# TARGET: policy_loader, policy_formatter, vici_decoder, dispatch, proc_stats or ct_flow; FUZZER defaults
# to build/fuzz/tests/fuzz/fuzz_TARGET (cmake --preset fuzz && cmake --build --preset fuzz).
# The corpus is a fresh temporary directory seeded with tests/fuzz/corpus/TARGET/ (checked in:
# seeds and every input that once failed; the two policy targets share corpus/policy/) and, for
# the policy targets, the example policies.
# With BULWARK_FUZZ_CORPUS=DIR the run uses (and grows) DIR instead, seeded the same way.
# Exits non-zero when the fuzzer reports a crash, a broken promise (the target aborts or
# traps), a sanitizer error, a leak, a timeout (-timeout=10 per input) or running out of memory
# (-rss_limit_mb=2048); the reproducer and the log are kept in $BULWARK_FUZZ_ARTIFACTS
# (default: build/fuzz/fuzz-artifacts/). The last line is a summary for scripts:
#   RESULT TARGET runs=N exec_per_s=N cov=N ft=N corpus=N seconds=N status=ok|fail
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

usage() {
  echo "usage: $0 TARGET SECONDS|--runs N [FUZZER]" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
target="$1"
shift
bound=()
if [[ "$1" == --runs ]]; then
  [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || usage
  bound=(-runs="$2")
  shift 2
else
  [[ "$1" =~ ^[0-9]+$ && "$1" -ge 1 ]] || usage
  bound=(-max_total_time="$1")
  shift
fi
fuzzer="${1:-$root/build/fuzz/tests/fuzz/fuzz_$target}"

# Per target: the input size bound and the dictionary. A run's cost grows with the input
# (yaml-cpp's parse, under ASan), so the loader's inputs stay under 6 KiB: every section of
# campus.yaml fits in a 4.7 KiB seed (corpus/policy/campus-small.yaml), and longer inputs
# reach no code a shorter one does not. The formatter keeps 12 KiB (the size of a real
# policy, for its comment and layout paths). The loader's own size bound is covered by the
# policy tests.
dict=()
case "$target" in
  policy_loader)
    max_len=4096
    dict=(-dict="$here/policy.dict")
    ;;
  policy_formatter)
    max_len=12288
    dict=(-dict="$here/policy.dict")
    ;;
  vici_decoder) max_len=70000 ;;  # a VICI message's own bound is 65,535 + header
  dispatch) max_len=200000 ;;     # above the control protocol's line bound
  proc_stats) max_len=16384 ;;
  ct_flow) max_len=4096 ;;        # a ctnetlink entry is ~200-400 bytes
  *)
    echo "$0: unknown target '$target'" >&2
    usage
    ;;
esac
if [[ ! -x "$fuzzer" ]]; then
  echo "$0: no fuzzer at $fuzzer; build it first:" >&2
  echo "  cmake --preset fuzz && cmake --build --preset fuzz -j2" >&2
  exit 2
fi
artifacts="${BULWARK_FUZZ_ARTIFACTS:-$root/build/fuzz/fuzz-artifacts}"
mkdir -p "$artifacts"

work="$(mktemp -d "${TMPDIR:-/tmp}/bulwark-fuzz-$target.XXXXXX")"
trap 'rm -rf "$work"' EXIT
corpus="${BULWARK_FUZZ_CORPUS:-$work/corpus}"
mkdir -p "$corpus"
seeds=()
if [[ "$target" == policy_* ]]; then
  # the loader and the formatter share their seeds and regressions: tests/fuzz/corpus/policy/
  seeds+=("$here"/corpus/policy/* "$root"/policies/examples/*.yaml "$root"/policies/examples/campus-ha/*.yaml)
elif [[ -d "$here/corpus/$target" ]]; then
  seeds+=("$here/corpus/$target"/*)
fi
# Seeds longer than the bound are left out: libFuzzer would cut them at an arbitrary byte.
seeded=0
for s in "${seeds[@]}"; do
  [[ -f "$s" && $(stat -c %s "$s") -le $max_len ]] || continue
  cp "$s" "$corpus/$(basename "$(dirname "$s")")-$(basename "$s")"
  seeded=$((seeded + 1))
done

# Sanitizers: stop at the first report, with a stack; look for leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

log="$work/fuzz.log"
echo "fuzzing $(basename "$fuzzer") (${bound[*]}, $seeded seeds)"
start=$SECONDS
status=0
"$fuzzer" "$corpus" "${bound[@]}" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  "${dict[@]}" -artifact_prefix="$artifacts/$target-" -print_final_stats=1 >"$log" 2>&1 ||
  status=$?

# libFuzzer's own exit status covers crashes, leaks, timeouts and OOM; the sanitizer reports
# and the targets' own "=== fuzz_…: <broken promise> ===" are checked as well in case one was
# printed without stopping the run.
if grep -qE '^==[0-9]+==ERROR|^SUMMARY: (Address|Undefined|Leak)Sanitizer|runtime error:|ERROR: libFuzzer|^=== fuzz_' "$log"; then
  [[ $status -eq 0 ]] && status=1
fi
tail -n 12 "$log"
echo
stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
final="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)"
cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$final")"
ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$final")"
units="$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$final")"
result="runs=$(stat number_of_executed_units) exec_per_s=$(stat average_exec_per_sec) cov=${cov:-?} ft=${ft:-?} corpus=${units:-?} seconds=$((SECONDS - start))"
if [[ $status -ne 0 ]]; then
  cp "$log" "$artifacts/$target.log"
  echo "FAIL: the fuzzer found a problem (exit $status); log: $artifacts/$target.log" >&2
  ls -1 "$artifacts" >&2
  echo "RESULT $target $result status=fail"
  exit "$status"
fi
echo "OK: no crash, sanitizer report or leak"
echo "RESULT $target $result status=ok"
