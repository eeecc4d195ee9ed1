#!/usr/bin/env bash
# Whole bulwarkctl commands on large generated policies, each figure a ratio against a
# baseline measured in the same run (docs/performance.md, "Compile, render and plan").
# Builds nothing:
#
#   cmake --preset release && cmake --build --preset release -j2 --target bulwarkctl policy_gen yaml_load
#   sudo bench/run-compile-bench.sh [BUILD_DIR]        # default build/release
#   knobs: CB_HOSTS=20000 CB_FLAT=10000 CB_REPS=5 CB_APPLY=1 (0: skip the namespace part, no root)
#          CB_CTL=PATH times another bulwarkctl (a build of an older commit) with this build's
#          generator and baseline
#
# 1. `validate` of the flat policy (CB_FLAT one-host-to-one-host rules) / `yaml_load` of the
#    same file (YAML::Load and nothing else: the floor).
# 2. The wide policy (one rule naming CB_HOSTS hosts, ~1.4 MB at 20,000): `render`, `test`,
#    and `plan --direct --only firewall` with table inet bulwark absent and with it in sync /
#    `validate` of the same file.
# 3. `apply --direct --only firewall` of the wide policy plus one host, over the table of the
#    wide policy (one element added to the rule's address set) / `nft add element` of that
#    address into that same set (CB_HOSTS elements).
# Parts 2 (plan) and 3 run in a network namespace made for the run (bwcb<pid>), deleted by
# trap; the host's ruleset is never touched. Every figure is the median of CB_REPS runs of the
# whole command, wall time and CPU time (user + sys) each with its ratio: on a shared machine
# the wall time swings with the others' load, the CPU time much less. The commands of one
# comparison alternate.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
hosts="${CB_HOSTS:-20000}"
flat="${CB_FLAT:-10000}"
reps="${CB_REPS:-5}"
apply="${CB_APPLY:-1}"

# ---- the measuring helpers (also used inside the namespace) -------------------------------
declare -A times cpu
# timeit NAME CMD...: runs CMD (output discarded), appends its wall and CPU ms to times[NAME]
# and cpu[NAME]; a failing command stops the run.
timeit() {
  local name="$1"; shift
  local TIMEFORMAT='%3R %3U %3S' real user sys
  if ! { time "$@" >/dev/null 2>"$tmp/err"; } 2>"$tmp/time"; then
    echo "$0: failed: $*" >&2; cat "$tmp/err" >&2; exit 1
  fi
  read -r real user sys <"$tmp/time"
  times[$name]+="$(awk -v r="$real" 'BEGIN { printf "%.1f", r * 1000 }') "
  cpu[$name]+="$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", (u + s) * 1000 }') "
}
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
  printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
header() {
  printf '%-50s %9s %8s  %-30s %9s %8s  %7s %7s\n' "command" "wall ms" "cpu ms" "baseline" "wall ms" "cpu ms" \
    "wall" "cpu"
}
row() {  # row LABEL NAME BASELINE-LABEL BASELINE-NAME
  local aw ac bw bc
  aw="$(median "${times[$2]}")"; ac="$(median "${cpu[$2]}")"
  bw="$(median "${times[$4]}")"; bc="$(median "${cpu[$4]}")"
  printf '%-50s %9s %8s  %-30s %9s %8s  %7s %7s\n' "$1" "$aw" "$ac" "$3" "$bw" "$bc" "$(ratio "$aw" "$bw")" \
    "$(ratio "$ac" "$bc")"
}

# ---- part 3, inside the namespace: re-executed by the part below --------------------------
if [[ "${1:-}" == "--in-netns" ]]; then
  ctl="$2" tmp="$3" wide="$4" wide1="$5" addr="$6" setname="$7"
  # One path for both versions: the rules' kernel comments hold the file's name.
  policy="$tmp/policy.yaml"
  cp "$wide" "$policy"
  timeit setup "$ctl" apply --direct --only firewall "$policy"
  for ((i = 0; i < reps; i++)); do
    cp "$wide1" "$policy"
    timeit apply-one "$ctl" apply --direct --only firewall "$policy"
    cp "$wide" "$policy"
    timeit apply-remove "$ctl" apply --direct --only firewall "$policy"
    timeit nft-add nft add element inet bulwark "$setname" "{ $addr }"
    timeit nft-delete nft delete element inet bulwark "$setname" "{ $addr }"
    timeit plan-sync "$ctl" plan --direct --only firewall "$policy"
  done
  cp "$wide1" "$policy"
  "$ctl" apply --direct --only firewall "$policy" >"$tmp/apply.out"
  nft list set inet bulwark "$setname" >"$tmp/set.out"
  for name in apply-one apply-remove nft-add nft-delete plan-sync; do echo "$name|${times[$name]}|${cpu[$name]}"; done
  exit 0
fi

build="$root/build/release"
[[ $# -gt 0 ]] && build="$1"
ctl="${CB_CTL:-$build/gateway/bulwarkctl}"
gen="$build/bench/policy_gen"
yload="$build/bench/yaml_load"
for exe in "$ctl" "$gen" "$yload"; do
  if [[ ! -x "$exe" ]]; then
    echo "$0: missing $exe; build it first:" >&2
    echo "  cmake --preset release && cmake --build --preset release -j2 --target bulwarkctl policy_gen yaml_load" >&2
    exit 2
  fi
done
if [[ "$apply" == 1 && $EUID -ne 0 ]]; then
  echo "$0: the namespace part needs root (CB_APPLY=0 skips it)" >&2
  exit 2
fi

ns="bwcb$$"
tmp="$(mktemp -d)"
cleanup() {
  [[ "$apply" == 1 ]] && ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# Bulwark compile/render/plan benchmark: $(date -u +%FT%TZ), build $build ($(grep -m1 '^CMAKE_BUILD_TYPE' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || echo '?')), bulwarkctl $ctl"
echo "# machine: $(nproc) CPUs, kernel $(uname -r), nftables $(nft --version | awk '{print $2}'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

"$gen" flat "$flat" >"$tmp/flat.yaml"
"$gen" wide "$hosts" >"$tmp/wide.yaml"
"$gen" wide "$((hosts + 1))" >"$tmp/wide1.yaml"
echo "# policies: flat $flat rules ($(stat -c %s "$tmp/flat.yaml") bytes), wide 1 rule naming $hosts hosts ($(stat -c %s "$tmp/wide.yaml") bytes); $reps runs each, medians"
echo

header
# 1. validation against the YAML parse
for ((i = 0; i < reps; i++)); do
  timeit yaml-flat "$yload" "$tmp/flat.yaml"
  timeit validate-flat "$ctl" validate "$tmp/flat.yaml"
done
row "validate, flat $flat rules" validate-flat "yaml_load of it (YAML::Load)" yaml-flat

# 2. the wide rule against its own validation
[[ "$apply" == 1 ]] && ip netns add "$ns"
for ((i = 0; i < reps; i++)); do
  timeit validate-wide "$ctl" validate "$tmp/wide.yaml"
  timeit render-wide "$ctl" render "$tmp/wide.yaml"
  timeit test-wide "$ctl" test "$tmp/wide.yaml"
  [[ "$apply" == 1 ]] && timeit plan-wide ip netns exec "$ns" "$ctl" plan --direct --only firewall "$tmp/wide.yaml"
done
row "render, 1 rule naming $hosts hosts" render-wide "validate of it" validate-wide
row "test (expectations), same" test-wide "validate of it" validate-wide
if [[ "$apply" != 1 ]]; then exit 0; fi
row "plan --direct (table absent), same" plan-wide "validate of it" validate-wide

# 3. one host more, in the namespace (no `ip netns exec` inside the timings)
addr="$(grep "name: cli$(printf %05d "$hosts")," "$tmp/wide1.yaml" | grep -o '10\.64\.[0-9]*\.[0-9]*')"
setname="r00000_saddr4"
ip netns exec "$ns" env CB_REPS="$reps" "$0" --in-netns "$ctl" "$tmp" "$tmp/wide.yaml" "$tmp/wide1.yaml" \
  "$addr" "$setname" >"$tmp/netns.out"
while IFS='|' read -r name wall cpus; do times[$name]="$wall"; cpu[$name]="$cpus"; done <"$tmp/netns.out"
row "plan --direct (in sync), same" plan-sync "validate of it" validate-wide
row "apply --direct: + host $addr" apply-one "nft add element, same set" nft-add
row "apply --direct: - that host again" apply-remove "nft delete element, same set" nft-delete
echo
echo "# the apply of one more host printed: $(head -1 "$tmp/apply.out")"
echo "# elements of $setname after it: $(grep -o '10\.64\.[0-9.]*' "$tmp/set.out" | wc -l)"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
