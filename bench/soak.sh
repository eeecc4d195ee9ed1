#!/usr/bin/env bash
# The soak (issue 21; docs/performance.md, "Soak (issue 21)"): the lab with the admin VPN, then
# one load of STREAMS streams through the VIP whose hold of DURATION_S seconds carries the soak's
# schedule (lab/lab load --soak, lab/netns/soak.py): a policy change and back every 60 s, a
# foreign nft edit every 300 s (repaired?), a charon restart every 900 s (tunnels again?), one
# kill -9 of bulwarkd at half time (restarted as systemd would; adopts its table?); /metrics every
# second, an events subscriber, bulwarkd's RSS and fds every 10 s, its log's error lines. Then
# the lab goes, always (a trap; also on failure or Ctrl-C).
#
#   sudo bench/soak.sh [DURATION_S] [STREAMS]     # defaults 3600 and 5000: the issue's hour
#   SOAK_BUILD_DIR=build/dev ...                  # bulwarkctl/bulwarkd/stream tools from there
#                                                   (default: the lab's own search, release first)
#   SOAK_JSON=FILE ...                            # also the load's --json-out (the "soak" object)
#
# Bounded: the load by the lab (ramp + hold + 60 s) and by `timeout` (hold + 10 minutes), up and
# down by the lab's own timeouts. Namespaces "bws<pid>-*" (the tests use bwt, the demo bwd/bwh).
# Exit: the load's (0 every criterion held, 1 one did not), 2 the lab broke, 77 cannot run here.
set -uo pipefail
cd "$(dirname "$0")/.."
duration="${1:-3600}"
streams="${2:-5000}"
case "$duration$streams" in *[!0-9]*|"") echo "usage: bench/soak.sh [DURATION_S] [STREAMS]" >&2; exit 2;; esac
[ "$duration" -ge 60 ] || { echo "bench/soak.sh: DURATION_S must be at least 60" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the soak needs root (network namespaces)"; exit 77; }
py=/usr/bin/python3
prefix="bws$$"
ctl=()
if [ -n "${SOAK_BUILD_DIR:-}" ]; then
  ctl=(--ctl "$SOAK_BUILD_DIR/gateway/bulwarkctl" --tools "$SOAK_BUILD_DIR/lab")
fi
json="${SOAK_JSON:-$(mktemp /tmp/soak-XXXXXX.json)}"
cleanup() { "$py" lab/lab down --prefix "$prefix" || echo "soak: lab/lab down --prefix $prefix failed" >&2; }
trap cleanup EXIT
trap 'exit 2' INT TERM

t0=$(date +%s)
echo "=== soak: $streams streams, hold ${duration}s, lab $prefix ($(date -u +%FT%TZ); load average $(cut -d' ' -f1-3 /proc/loadavg))"
"$py" lab/lab up --prefix "$prefix" "${ctl[@]}" --vpn || { echo "soak: lab/lab up --vpn failed"; exit 2; }
t1=$(date +%s)
timeout -k 30 $((duration + 600)) "$py" lab/lab load --prefix "$prefix" --soak --streams "$streams" \
  --duration "$duration" --report-every 60 --json-out "$json"
rc=$?
t2=$(date +%s)
[ $rc -eq 124 ] && { echo "soak: the load did not end within $((duration + 600))s"; rc=2; }
echo "=== soak: exit $rc; lab up $((t1 - t0))s, load $((t2 - t1))s (load average $(cut -d' ' -f1-3 /proc/loadavg)); --json-out $json"
exit $rc
