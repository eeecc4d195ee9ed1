#!/usr/bin/env bash
# Policy loading benchmarks (docs/performance.md, "Policy loading"). Builds nothing:
#
#   cmake --preset release && cmake --build --preset release -j2 && bench/run-policy-bench.sh
#
#   bench/run-policy-bench.sh [BUILD_DIR] [-- extra Google Benchmark flags]
#
# BUILD_DIR defaults to build/release. Prints the machine, the Google Benchmark table
# (load, load+validate, validate, format, and YAML::Load / yaml-cpp's event parser on the
# same text), a summary with the ratios to YAML::Load, and the peak RSS (ru_maxrss) of one
# load+validate of each generated policy next to one YAML::Load of it. A few minutes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build/release"
if [[ $# -gt 0 && "$1" != "--" ]]; then build="$1"; shift; fi
[[ $# -gt 0 && "$1" == "--" ]] && shift
bench="$build/bench/policy_load_bench"
rss="$build/bench/policy_load_rss"
for exe in "$bench" "$rss"; do
  if [[ ! -x "$exe" ]]; then
    echo "$0: missing $exe; build it first:" >&2
    echo "  cmake --preset release && cmake --build --preset release -j2" >&2
    exit 2
  fi
done

echo "# Bulwark policy loading benchmarks: $(date -u +%FT%TZ)"
echo "# machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), " \
     "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, " \
     "$(. /etc/os-release && echo "$PRETTY_NAME") ($(cat /etc/debian_version 2>/dev/null || echo '?')), kernel $(uname -r)"
echo "# yaml-cpp $(dpkg-query -W -f='${Version}' libyaml-cpp-dev 2>/dev/null || echo '?'), " \
     "Google Benchmark $(dpkg-query -W -f='${Version}' libbenchmark-dev 2>/dev/null || echo '?'), " \
     "build: $(grep -m1 '^CMAKE_BUILD_TYPE' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || echo '?')," \
     "$(grep -m1 '^CMAKE_CXX_COMPILER:' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || echo '?')"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

"$bench" --benchmark_min_time=0.5 --benchmark_repetitions=5 --benchmark_display_aggregates_only=true \
  --benchmark_color=false "$@"

echo
echo "# Peak RSS (ru_maxrss), one run per process: generating the text, then one operation on it"
for shape in tiered flat; do
  for mode in none yaml-cpp bulwark; do
    "$rss" "$mode" "$shape"
  done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
