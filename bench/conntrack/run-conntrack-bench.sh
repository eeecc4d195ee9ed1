#!/bin/sh
# The ctnetlink top-talker dump at 1k/10k/100k conntrack entries (release build), next to the
# former libnetfilter_conntrack path and conntrack-tools' `conntrack -L` of the same table, in
# the same run. Needs root; runs in a private namespace.
#   bench/conntrack/run-conntrack-bench.sh [BUILD_DIR] [REPS]
set -eu
build=${1:-build/release}
cmake --build "$build" --target conntrack_dump_bench -j2 >/dev/null
exec "$build/bench/conntrack/conntrack_dump_bench" "${2:-7}"
