#!/usr/bin/env bash
# bulwark-flood (lab/tools/flood.cpp): its bounds and its packets.
#   flood_tool.sh BULWARK_FLOOD
# 1. Refusals (no root needed): a run without --duration/--count, a duration over 600 s, a
#    destination outside every --allow prefix, a run without --allow, sources outside
#    198.18.0.0/15, exclusions that leave no source; each exits 2 naming why. --check of a
#    good run exits 0.
# 2. With root: two namespaces of its own on a veth pair. SYNs and UDP datagrams go from one
#    to the other; the receiver's nft counters (prerouting, before any checksum check) count
#    them, and its TCP/UDP MIBs say the kernel took every one with a good checksum (InSegs,
#    NoPorts; InCsumErrors 0). With --exclude 198.18.0.0/20 no packet comes from there.
#    Nothing outside the two namespaces is touched; they go at exit.
set -euo pipefail
flood="$1"
fail() { echo "FAIL: $*"; exit 1; }

refused() {  # refused "what it must say" ARGS...
  local want="$1" out rc
  shift
  set +e
  out=$("$flood" "$@" 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "exit $rc (want 2) for: $*"
  grep -qF -- "$want" <<<"$out" || fail "'$want' not in '$out' for: $*"
  echo "refused: $out"
}
ok=(--dst 10.99.0.2 --allow 10.99.0.0/24)
refused "refusing an unbounded run" --mode syn --port 80 "${ok[@]}"
refused "--duration: 1..600 s" --mode syn --port 80 "${ok[@]}" --duration 601
refused "--count: 1..100000000" --mode udp "${ok[@]}" --count 100000001
refused "refusing destination 10.98.0.1: not in an --allow prefix" --mode syn --port 80 --dst 10.98.0.1 \
  --allow 10.99.0.0/24 --count 10
refused "refusing a run without --allow" --mode udp --dst 10.99.0.2 --count 10
refused "sources are spoofed only from 198.18.0.0/15" --mode udp "${ok[@]}" --count 10 --src-net 10.0.0.0/8
refused "no source address left" --mode udp "${ok[@]}" --count 10 --exclude 198.18.0.0/15
refused "--mode syn needs --port" --mode syn "${ok[@]}" --count 10
refused "--mode syn or udp" --mode icmp "${ok[@]}" --count 10
out=$("$flood" --mode syn --port 80 "${ok[@]}" --duration 60 --check)
grep -qF '"check":{"mode":"syn","dst":"10.99.0.2","port":80' <<<"$out" || fail "--check: $out"

if [ "$(id -u)" -ne 0 ]; then
  echo "bounds ok; packets skipped (not root)"
  exit 0
fi
a="bwflood-a-$$" b="bwflood-b-$$"
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip -n "$a" link add fl0 type veth peer name fl1 netns "$b"
ip -n "$a" addr add 10.99.0.1/24 dev fl0
ip -n "$b" addr add 10.99.0.2/24 dev fl1
ip -n "$a" link set fl0 up
ip -n "$b" link set fl1 up
ip -n "$b" route add 198.18.0.0/15 dev fl1  # the answers (RSTs, ICMP) go back, not to rp_filter
ip netns exec "$b" nft -f - <<'EOF'
table inet floodtest {
  chain pre {
    type filter hook prerouting priority -300;
    ip saddr 198.18.0.0/15 tcp flags == syn tcp dport 80 counter
    ip saddr 198.18.0.0/15 meta l4proto udp counter
    ip saddr 198.18.0.0/20 counter
  }
}
EOF
ip netns exec "$a" "$flood" --mode syn --port 80 "${ok[@]}" --count 1000 --exclude 198.18.0.0/20
ip netns exec "$a" "$flood" --mode udp "${ok[@]}" --count 500 --rate 5000 --exclude 198.18.0.0/20 --payload 30
sleep 0.3
counters=$(ip netns exec "$b" nft list table inet floodtest | grep -o 'packets [0-9]*' | awk '{print $2}' | xargs)
[ "$counters" = "1000 500 0" ] || fail "nft counters (syn, udp, excluded sources): $counters, want 1000 500 0"
mib() {  # mib Tcp|Udp FIELD: the receiver's /proc/net/snmp value
  ip netns exec "$b" awk -v p="$1:" -v f="$2" '$1 == p { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 }
    else print $c[f] }' /proc/net/snmp
}
[ "$(mib Tcp InSegs)" = 1000 ] || fail "TCP InSegs $(mib Tcp InSegs), want 1000"
[ "$(mib Tcp InCsumErrors)" = 0 ] || fail "TCP InCsumErrors $(mib Tcp InCsumErrors)"
[ "$(mib Udp NoPorts)" = 500 ] || fail "UDP NoPorts $(mib Udp NoPorts), want 500 (closed ports, good checksums)"
[ "$(mib Udp InCsumErrors)" = 0 ] || fail "UDP InCsumErrors $(mib Udp InCsumErrors)"
echo "packets ok: 1000 SYNs and 500 UDP datagrams counted, checksums good, no excluded source"
