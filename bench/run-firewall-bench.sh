#!/bin/bash
# Firewall benchmarks, side by side with nft in one run (docs/performance.md, "Firewall").
#
#   cmake --preset release && cmake --build --preset release -j2 --target firewall_bench
#   sudo bench/run-firewall-bench.sh [BUILD_DIR]        # default build/release; ~3 minutes
#   FWB_BASELINE=OTHER_BUILD_DIR ... also loads the ruleset of another build's firewall_bench
#   (e.g. main's) as a fifth configuration, "baseline", interleaved with the others
#   FWB_SKIP_APPLY=1 ... forwarding only (skip 1+2)
#
# 1+2. firewall_bench apply: full apply() vs nft -f, one host added vs nft add element
#      (inside the benchmark's own private network namespace).
# 3.   iperf3 forwarding client -> router -> server through three namespaces made here:
#      no ruleset / conntrack only / Bulwark's 10k-flow ruleset / the same 10k flows as a linear nft rule list.
#      The iperf3 traffic is the LAST flow of the list (last host of the last rule), so its
#      first packet walks the whole zone pair chain (Bulwark) or all 10k rules (linear); the
#      rest of the connection takes the ct established fast path in both.
# Only namespaces created here are touched (never the host's ruleset); everything is bounded
# (iperf3 -t, timeouts) and removed on exit.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$REPO/build/release}
BENCH=$BUILD/bench/firewall_bench
FLOWS=${FWB_FLOWS:-10000}
SECS=${FWB_SECS:-4}       # iperf3 -t per run
REPS=${FWB_REPS:-3}       # runs per configuration, interleaved; medians reported
P=fwb$$
BASELINE_BENCH=${FWB_BASELINE:+$FWB_BASELINE/bench/firewall_bench}
CONFIGS="none ctonly bulwark linear${BASELINE_BENCH:+ baseline}"

[[ $(id -u) == 0 ]] || { echo "run as root (namespaces, nftables)" >&2; exit 1; }
[[ -x $BENCH ]] || { echo "missing $BENCH: cmake --build --preset release --target firewall_bench" >&2; exit 1; }
[[ -z $BASELINE_BENCH || -x $BASELINE_BENCH ]] || { echo "missing $BASELINE_BENCH" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "iperf3 missing (apt-get install iperf3; tools/packages.txt)" >&2; exit 1; }

echo "# Bulwark firewall benchmarks: $(date -u +%FT%TZ), kernel $(uname -r), $(nproc) CPUs, $(nft --version), $(iperf3 --version | head -1)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# ---- 1 + 2: apply / element updates vs nft ------------------------------------------------
[[ -n ${FWB_SKIP_APPLY:-} ]] || timeout 400 "$BENCH" apply --sizes "${FWB_SIZES:-1000,10000,50000}" --reps "${FWB_APPLY_REPS:-5}" --incr-reps 7

# ---- 3: forwarding -------------------------------------------------------------------------
SERVER_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
  for ns in "$P-c" "$P-r" "$P-s"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -f "/tmp/$P-linear.nft"
}
trap cleanup EXIT

read -r SRC DST PORT RULE < <("$BENCH" last-flow "$FLOWS")
"$BENCH" linear-script "$FLOWS" > "/tmp/$P-linear.nft"

ip netns add "$P-c"; ip netns add "$P-r"; ip netns add "$P-s"
for ns in "$P-c" "$P-r" "$P-s"; do ip -n "$ns" link set lo up; done
# veth peers created straight in their namespaces; router side named as the policy's segments
ip -n "$P-r" link add cli0 type veth peer name eth0 netns "$P-c"
ip -n "$P-r" link add srv0 type veth peer name eth0 netns "$P-s"
ip -n "$P-r" addr add 10.64.0.1/16 dev cli0
ip -n "$P-r" addr add 10.200.0.1/16 dev srv0
ip -n "$P-c" addr add "$SRC/16" dev eth0
ip -n "$P-s" addr add "$DST/16" dev eth0
for l in "$P-r cli0" "$P-r srv0" "$P-c eth0" "$P-s eth0"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n "$P-c" route add default via 10.64.0.1
ip -n "$P-s" route add default via 10.200.0.1
ip netns exec "$P-r" sysctl -qw net.ipv4.ip_forward=1

ip netns exec "$P-s" timeout 600 iperf3 -s -p "$PORT" >/dev/null 2>&1 &
SERVER_PID=$!
sleep 0.5

ruleset() {  # none | bulwark | linear, in the router namespace only
  ip netns exec "$P-r" nft flush ruleset
  ip netns exec "$P-r" conntrack -F >/dev/null 2>&1 || true
  case $1 in
    bulwark) ip netns exec "$P-r" "$BENCH" load-bulwark "$FLOWS" 2>/dev/null ;;
    baseline) ip netns exec "$P-r" "$BASELINE_BENCH" load-bulwark "$FLOWS" 2>/dev/null ;;
    linear) ip netns exec "$P-r" nft -f "/tmp/$P-linear.nft" ;;
    ctonly) printf 'table inet ctonly {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n  ct state established,related accept\n }\n}\n' |
              ip netns exec "$P-r" nft -f - ;;
  esac
}

# Counter of the rule that must have accepted the first packet of each connection.
checked_rule_packets() {
  case $1 in
    bulwark | baseline)
      ip netns exec "$P-r" nft list chain inet bulwark "rule_$RULE" | awk '/counter packets/ {printf "%s", $3; exit}'
      # Established traffic counted per zone pair (issue 22): originals and replies.
      for c in flow.clients.servers flow-reply.clients.servers; do
        ip netns exec "$P-r" nft list chain inet bulwark "$c" 2>/dev/null | awk -v c="$c" '/counter packets/ {printf ", %s %s packets", c, $3}'
      done
      echo ;;
    # (nft lists the linear rules as "... tcp dport N ..." / "... udp dport N ...": tcp first, then udp)
    linear) ip netns exec "$P-r" nft list chain inet linear forward |
              grep -F "ip saddr $SRC ip daddr $DST " | awk '{for (i=1;i<=NF;i++) if ($i=="packets") printf "%s ", $(i+1)}' ;;
    *) echo - ;;
  esac
}

iperf() {  # tcp | udp64 -> received Mbit/s, received packets/s
  local args=(-c "$DST" -p "$PORT" -t "$SECS" -J)
  [[ $1 == udp64 ]] && args+=(-u -l 64 -b 0)
  ip netns exec "$P-c" timeout $((SECS + 20)) iperf3 "${args[@]}" | python3 -c '
import json, sys
j = json.load(sys.stdin)
e = j["end"]
if "sum_received" in e and "packets" not in e.get("sum", {}):
    s = e["sum_received"]; print("%.1f -" % (s["bits_per_second"] / 1e6))
else:
    s = e["sum"]; got = s["packets"] - s["lost_packets"]
    print("%.1f %.0f" % (got * 64 * 8 / s["seconds"] / 1e6, got / s["seconds"]))'
}

declare -A RES
CHECKS=""
LOADS=""
for rep in $(seq 1 "$REPS"); do
  for cfg in $CONFIGS; do
    ruleset "$cfg"
    for mode in tcp udp64; do
      RES[$cfg,$mode]+="$(iperf "$mode") "$'\n'
    done
    [[ $rep == 1 ]] && CHECKS+="$cfg: first-packet rule counter after TCP+UDP runs = $(checked_rule_packets "$cfg" || true)"$'\n'
  done
  LOADS+="$(cut -d' ' -f1 /proc/loadavg) "
done
ip netns exec "$P-r" nft flush ruleset

med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
echo "## Forwarding, iperf3 $FLOWS flows, client $SRC -> router -> $DST port $PORT (rule $RULE = last flow), -t $SECS, median of $REPS"
echo
echo "| ruleset in the router | TCP Gbit/s | ratio | UDP 64 B Mbit/s received | kpps | ratio |"
echo "|---|---:|---:|---:|---:|---:|"
base_tcp=; base_udp=
for cfg in $CONFIGS; do
  tcp=$(printf '%s' "${RES[$cfg,tcp]}" | awk 'NF {print $1}' | med)
  udp=$(printf '%s' "${RES[$cfg,udp64]}" | awk 'NF {print $1}' | med)
  pps=$(printf '%s' "${RES[$cfg,udp64]}" | awk 'NF {print $2}' | med)
  [[ -z $base_tcp ]] && { base_tcp=$tcp; base_udp=$udp; }
  label=$cfg; [[ $cfg == none ]] && label="none (no ruleset, no conntrack)"
  [[ $cfg == ctonly ]] && label="conntrack only (one rule: ct state established accept)"
  [[ $cfg == bulwark ]] && label="Bulwark, $FLOWS flows (sets, zone pair chain)"
  [[ $cfg == linear ]] && label="linear list, $FLOWS rules (+ ct fast path)"
  [[ $cfg == baseline ]] && label="Bulwark as built in $FWB_BASELINE, $FLOWS flows"
  awk -v l="$label" -v t="$tcp" -v bt="$base_tcp" -v u="$udp" -v bu="$base_udp" -v p="$pps" 'BEGIN {
    printf "| %s | %.2f | %.3fx | %.1f | %.0f | %.3fx |\n", l, t/1000, t/bt, u, p/1000, u/bu }'
done
echo
echo "Raw runs (Mbit/s [pps]):"
for k in "${!RES[@]}"; do echo "  $k: $(printf '%s' "${RES[$k]}" | tr '\n' ' ')"; done | sort
echo
printf '%s' "$CHECKS"
echo "load average (1 min) after each round: $LOADS"
if [[ -n $BASELINE_BENCH ]]; then
  # This build's ruleset against the baseline's, per round (adjacent runs) and of the medians.
  for mode in tcp udp64; do
    paste <(printf '%s' "${RES[bulwark,$mode]}" | awk 'NF {print $1}') \
          <(printf '%s' "${RES[baseline,$mode]}" | awk 'NF {print $1}') |
      awk -v m="$mode" '{r = r sprintf(" %.3f", $1 / $2); a[NR] = $1; b[NR] = $2}
        END {printf "bulwark / baseline, %s, per round:%s\n", m, r}'
  done
fi
