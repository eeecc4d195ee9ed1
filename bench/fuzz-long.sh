#!/usr/bin/env bash
# The long fuzzing campaign (hours; not in CI, which runs each target for seconds): every
# libFuzzer target to RUNS executions (default 10,000,000), one after the other, each growing
# a kept corpus so a campaign can be resumed, then a table of executions, executions/s (per
# target, CPU-bound: the machine's load divides it), coverage, corpus size and findings.
#
#   bench/fuzz-long.sh [RUNS] [TARGET...]        (after: cmake --preset fuzz && cmake --build --preset fuzz -j2)
#
# Environment: BULWARK_FUZZ_LONG_DIR (default build/fuzz/long/): corpora, artifacts, logs and
# summary.txt. A finding stops that target (libFuzzer stops at the first) and the campaign goes
# on with the next; the exit status is non-zero when any target found something. New inputs
# worth keeping as regressions go to tests/fuzz/corpus/TARGET/ by hand, after the fix.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-10000000}"
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 ]] || {
  echo "usage: $0 [RUNS] [TARGET...]" >&2
  exit 2
}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(policy_loader policy_formatter vici_decoder dispatch proc_stats ct_flow)
out="${BULWARK_FUZZ_LONG_DIR:-$root/build/fuzz/long}"
mkdir -p "$out"
summary="$out/summary.txt"
{
  echo "# bench/fuzz-long.sh $runs ${targets[*]}"
  echo "# $(date -u +%FT%TZ), $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$summary"

failed=0
for t in "${targets[@]}"; do
  mkdir -p "$out/$t/corpus" "$out/$t/artifacts"
  status=0
  BULWARK_FUZZ_CORPUS="$out/$t/corpus" BULWARK_FUZZ_ARTIFACTS="$out/$t/artifacts" \
    "$root/tests/fuzz/run-fuzzer.sh" "$t" --runs "$runs" >"$out/$t/run.log" 2>&1 || status=$?
  line="$(grep '^RESULT ' "$out/$t/run.log" | tail -n 1 || true)"
  [[ -n "$line" ]] || line="RESULT $t (no summary: see $out/$t/run.log) status=fail"
  echo "${line#RESULT } load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$summary"
  [[ $status -eq 0 ]] || failed=1
done
echo "summary: $summary"
exit "$failed"
