#!/usr/bin/env bash
# bulwark-console benchmark (docs/performance.md, "Console"): start-up to first paint, and the
# largest UI event-loop gap while live counters updates run with the 10k-flow policy loaded.
#
#   cmake --preset release && cmake --build --preset release -j2 --target console_bench
#   bench/console/run-console-bench.sh [BUILD_DIR] [-- console_bench flags]
#
# Runs under its own Xvfb display (a real xcb window, as on a desktop). Exit 1 when the UI
# stalled more than 50 ms.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$root/build/release"
if [[ $# -gt 0 && "$1" != "--" ]]; then build="$1"; shift; fi
[[ $# -gt 0 && "$1" == "--" ]] && shift
exe="$build/bench/console/console_bench"
[[ -x "$exe" ]] || { echo "$0: missing $exe; build it first" >&2; exit 2; }
echo "# bulwark-console benchmark: $(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for shape in tiered flat; do
  echo "## shape $shape"
  xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb "$exe" --shape "$shape" "$@"
done
